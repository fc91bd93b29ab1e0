#!/usr/bin/env python3
"""ocspgate benchmark (run it through bench/run).

Method
------
Everything runs on 127.0.0.1, from a fresh temporary directory, with
processes this script starts and stops itself (a trap on exit, Ctrl-C and
SIGTERM included, and PR_SET_PDEATHSIG so nothing outlives it).

1. A small PKI made with the openssl CLI: a root CA, an OCSP signing
   certificate and a leaf. `openssl ocsp -reqout` writes the DER request
   for the leaf (SHA-1 CertID, no nonce: what Windows sends), and
   `openssl ocsp -index ... -reqin ... -respout` answers it as a real
   responder would, with the signer's certificate inside the response.
2. An nginx origin (one worker, access_log off) answers every GET under
   /ocsp/ with that DER file as application/ocsp-response, keep-alive on.
3. Each proxy runs as a forward proxy with one worker/thread and its
   access log written to a file: ocspgate without and with its answer
   cache, HAProxy 2.6, nginx (upstream keep-alive pool) and Squid 5.7
   (no cache). Each must answer one request from curl with the origin's
   bytes (and for ocspgate, an "allow" event) before it is measured.
4. wrk (one thread, 50 and 500 connections) sends the CryptoAPI GET in
   absolute form: `GET http://127.0.0.1:<origin>/ocsp/<base64 with + / =
   percent-encoded>` with the headers Windows sends. Rounds interleave
   the proxies (each proxy once per round, the order rotated) and every
   figure reported is the median over rounds. CPU per request is the
   growth of utime+stime (/proc/PID/stat) of all the proxy's processes
   over the run, divided by the requests wrk completed; the origin's is
   measured the same way. Peak RSS is VmHWM summed over the processes,
   reset before each run through /proc/PID/clear_refs.
5. Memory per connection: a freshly started proxy gets 5,000 client
   connections that send nothing (silent), then, after another fresh
   start, 5,000 connections that each complete one keep-alive request and
   stay open (idle). The figure is the growth of VmRSS summed over the
   proxy's processes, divided by the number of connections.
"""

import argparse
import asyncio
import ctypes
import os
import re
import resource
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
CLK_TCK = os.sysconf("SC_CLK_TCK")
PACKAGES = {"wrk": "wrk", "nginx": "nginx-light", "haproxy": "haproxy",
            "squid": "squid", "openssl": "openssl", "curl": "curl"}
USER_AGENT = "Microsoft-CryptoAPI/10.0"
CACHE_BYTES = 64 * 1024 * 1024
# Idle upstream connections kept by nginx (keepalive) and ocspgate
# (upstream_idle_max): as many as the larger concurrency, so that both
# reuse connections at 500 as at 50. HAProxy's pool has no such bound.
UPSTREAM_IDLE = 512
OPTIONAL_KEYS = ("workers", "cache_size", "upstream_idle_max")
NOTES = []          # printed under the tables
NOFILE = 20000      # the open-file limit every process inherits (main())


def say(msg):
    print("bench: " + msg, flush=True)


def loud(msg):
    print("\n" + "!" * 72 + "\n!!! " + msg + "\n" + "!" * 72 + "\n",
          flush=True)


def run(cmd, timeout=60, check=True, **kw):
    p = subprocess.run([str(c) for c in cmd], capture_output=True,
                       text=True, timeout=timeout, **kw)
    if check and p.returncode != 0:
        raise RuntimeError("%s failed (%d): %s" % (
            " ".join(map(str, cmd)), p.returncode, (p.stderr or p.stdout)[-2000:]))
    return p


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def listen_queue(port):
    """Accept-queue length of the socket listening on 127.0.0.1:port, or
    None when nothing listens there (read from /proc/net/tcp)."""
    with open("/proc/net/tcp") as f:
        next(f)
        for line in f:
            parts = line.split()
            local, state = parts[1], parts[3]
            if state == "0A" and int(local.split(":")[1], 16) == port:
                return int(parts[4].split(":")[1], 16)
    return None


# ---------------------------------------------------------------- install

def install():
    missing = sorted({pkg for tool, pkg in PACKAGES.items()
                      if not shutil.which(tool)})
    if not missing:
        return
    if os.geteuid() != 0:
        sys.exit("bench: missing %s; run as root to install them"
                 % " ".join(missing))
    say("installing " + " ".join(missing))
    # policy-rc.d exit 101 keeps the packages' scripts from starting the
    # distro daemons; ours is removed again if we put it there.
    policy = Path("/usr/sbin/policy-rc.d")
    made_policy = not policy.exists()
    if made_policy:
        policy.write_text("#!/bin/sh\nexit 101\n")
        policy.chmod(0o755)
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    try:
        run(["apt-get", "update", "-qq"], timeout=600, env=env)
        p = run(["apt-get", "install", "-y", "-qq", "--no-install-recommends"]
                + missing, timeout=1200, env=env, check=False)
        if p.returncode != 0 and "nginx-light" in missing:
            missing[missing.index("nginx-light")] = "nginx"
            p = run(["apt-get", "install", "-y", "-qq",
                     "--no-install-recommends"] + missing,
                    timeout=1200, env=env, check=False)
        if p.returncode != 0:
            sys.exit("bench: apt-get install failed:\n" + p.stderr[-3000:])
    finally:
        if made_policy:
            policy.unlink()
    # Should a package have started its daemon anyway, stop it.
    for service, port in (("squid", 3128), ("nginx", 80)):
        if listen_queue(port) is not None and shutil.which("service"):
            say("stopping the distro %s on port %d" % (service, port))
            run(["service", service, "stop"], check=False, timeout=60)


def raise_nofile():
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    for want in (65536, hard):
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (want, max(want, hard)))
            return want
        except (ValueError, OSError):
            continue
    return soft


# ---------------------------------------------------------------- processes

try:
    _prctl = ctypes.CDLL(None, use_errno=True).prctl
except (OSError, AttributeError):
    _prctl = None


def _child_setup():
    if _prctl is not None:
        _prctl(1, int(signal.SIGKILL))      # PR_SET_PDEATHSIG


STARTED = []        # every Popen, stopped by cleanup()


def spawn(argv, log, cwd):
    out = open(log, "ab")
    p = subprocess.Popen([str(a) for a in argv], stdin=subprocess.DEVNULL,
                         stdout=out, stderr=subprocess.STDOUT, cwd=str(cwd),
                         start_new_session=True, preexec_fn=_child_setup)
    out.close()
    STARTED.append(p)
    return p


def stop(p, grace=5.0):
    if p is None:
        return
    for sig in (signal.SIGTERM, signal.SIGKILL):
        if p.poll() is None:
            try:
                os.killpg(p.pid, sig)
            except ProcessLookupError:
                pass
            try:
                p.wait(timeout=grace)
            except subprocess.TimeoutExpired:
                continue
        # workers left behind in the group (its id is the leader's pid)
        try:
            os.killpg(p.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
        break
    if p in STARTED:
        STARTED.remove(p)


def cleanup():
    for p in list(STARTED):
        stop(p, grace=3.0)


def tree(root):
    """The pids of root and all its descendants."""
    children = {}
    for d in os.listdir("/proc"):
        if d.isdigit():
            try:
                with open("/proc/%s/stat" % d) as f:
                    ppid = int(f.read().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            children.setdefault(ppid, []).append(int(d))
    out, todo = [], [root]
    while todo:
        pid = todo.pop()
        out.append(pid)
        todo.extend(children.get(pid, []))
    return out


def cpu_ticks(root):
    total = 0
    for pid in tree(root):
        try:
            with open("/proc/%d/stat" % pid) as f:
                fields = f.read().rsplit(")", 1)[1].split()
            total += int(fields[11]) + int(fields[12])   # utime, stime
        except (OSError, IndexError, ValueError):
            pass
    return total


def mem_kb(root, key):
    """Sum of VmRSS or VmHWM (kB) over the process tree."""
    total = 0
    for pid in tree(root):
        try:
            with open("/proc/%d/status" % pid) as f:
                for line in f:
                    if line.startswith(key + ":"):
                        total += int(line.split()[1])
        except OSError:
            pass
    return total


def reset_peak(root):
    for pid in tree(root):
        try:
            with open("/proc/%d/clear_refs" % pid, "w") as f:
                f.write("5")
        except OSError:
            pass


# ---------------------------------------------------------------- PKI

OPENSSL_CNF = """\
[req]
distinguished_name = dn
prompt = no
[dn]
CN = unused
[v3_ca]
basicConstraints = critical,CA:TRUE
keyUsage = critical,keyCertSign,cRLSign
subjectKeyIdentifier = hash
[v3_ocsp]
basicConstraints = critical,CA:FALSE
keyUsage = critical,digitalSignature
extendedKeyUsage = OCSPSigning
noCheck = ignored
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
[v3_leaf]
basicConstraints = critical,CA:FALSE
keyUsage = critical,digitalSignature,keyEncipherment
extendedKeyUsage = serverAuth,clientAuth
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
authorityInfoAccess = OCSP;URI:http://127.0.0.1/ocsp
"""
LEAF_SERIAL = 0x0c5f3e2a91b7d4480f16a3e97b2d5c81


def make_pki(d):
    """CA (RSA 4096), OCSP signer and leaf (RSA 2048); returns
    (ca.pem path, DER request, DER response)."""
    d.mkdir()
    (d / "openssl.cnf").write_text(OPENSSL_CNF)
    o = lambda *a: run(["openssl"] + list(a), cwd=d)
    o("req", "-x509", "-new", "-config", "openssl.cnf", "-extensions",
      "v3_ca", "-newkey", "rsa:4096", "-nodes", "-keyout", "ca.key",
      "-out", "ca.pem", "-days", "3650", "-subj",
      "/C=US/O=ocspgate bench PKI/OU=Certification Authority/"
      "CN=ocspgate bench Root CA R1")
    for name, ext, serial, subj in (
            ("ocsp", "v3_ocsp", 0x7a01,
             "/C=US/O=ocspgate bench PKI/CN=ocspgate bench OCSP Responder"),
            ("leaf", "v3_leaf", LEAF_SERIAL,
             "/C=US/O=ocspgate bench/CN=www.bench.test")):
        o("req", "-new", "-config", "openssl.cnf", "-newkey", "rsa:2048",
          "-nodes", "-keyout", name + ".key", "-out", name + ".csr",
          "-subj", subj)
        o("x509", "-req", "-in", name + ".csr", "-CA", "ca.pem", "-CAkey",
          "ca.key", "-set_serial", hex(serial), "-days", "3650",
          "-extfile", "openssl.cnf", "-extensions", ext, "-out",
          name + ".pem")
    (d / "index.txt").write_text("V\t491231235959Z\t\t%X\tunknown\t"
                                 "/CN=www.bench.test\n" % LEAF_SERIAL)
    (d / "index.txt.attr").write_text("unique_subject = no\n")
    o("ocsp", "-issuer", "ca.pem", "-cert", "leaf.pem", "-no_nonce",
      "-reqout", "req.der")
    o("ocsp", "-index", "index.txt", "-rsigner", "ocsp.pem", "-rkey",
      "ocsp.key", "-CA", "ca.pem", "-reqin", "req.der", "-respout",
      "resp.der", "-ndays", "7")
    check = o("ocsp", "-respin", "resp.der", "-issuer", "ca.pem", "-cert",
              "leaf.pem", "-CAfile", "ca.pem")
    if "leaf.pem: good" not in check.stdout:
        raise RuntimeError("the OCSP response does not say good:\n"
                           + check.stdout + check.stderr)
    for p in d.iterdir():
        p.chmod(0o644)
    return d / "ca.pem", (d / "req.der").read_bytes(), \
        (d / "resp.der").read_bytes()


def cryptoapi_path(req):
    """The GET path Windows CryptoAPI sends: base64, + / = percent-encoded."""
    import base64
    b = base64.b64encode(req).decode()
    return "/ocsp/" + (b.replace("+", "%2B").replace("/", "%2F")
                       .replace("=", "%3D"))


# ---------------------------------------------------------------- servers

class Server:
    """A process this script configures, starts on a fresh port, and stops."""

    def __init__(self, name, work):
        self.name = name
        self.dir = work / name
        self.dir.mkdir()
        self.proc = None
        self.port = None
        self.log = None         # the access log written per request

    def argv(self):
        raise NotImplementedError

    def start(self, timeout=20):
        self.port = free_port()
        argv = self.argv()
        self.proc = spawn(argv, self.dir / "stdout.log", self.dir)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                break
            if listen_queue(self.port) is not None:
                time.sleep(0.2)     # let worker processes settle
                return
            time.sleep(0.05)
        out = (self.dir / "stdout.log").read_text(errors="replace")[-2000:]
        self.stop()
        raise RuntimeError("%s did not start listening on %d:\n%s"
                           % (self.name, self.port, out))

    def stop(self):
        stop(self.proc)
        self.proc = None

    def restart(self):
        self.stop()
        self.start()

    def alive(self):
        return self.proc is not None and self.proc.poll() is None


NGINX_MAIN = """\
daemon off;
master_process on;
user root;
worker_processes 1;
worker_rlimit_nofile %(nofile)d;
pid %(d)s/nginx.pid;
error_log %(d)s/error.log warn;
events { worker_connections %(conns)d; }
http {
    client_body_temp_path %(d)s/tmp;
    proxy_temp_path %(d)s/tmp;
    fastcgi_temp_path %(d)s/tmp;
    uwsgi_temp_path %(d)s/tmp;
    scgi_temp_path %(d)s/tmp;
    keepalive_requests 100000000;
    keepalive_timeout 300s;
    client_header_timeout 300s;
%(http)s}
"""


class Nginx(Server):
    """An nginx with one worker in the foreground; `HTTP` is the rest of
    its http { } block."""
    HTTP = ""

    def __init__(self, name, work):
        super().__init__(name, work)
        (self.dir / "tmp").mkdir()

    def argv(self):
        d = self.dir
        v = {"d": d, "port": self.port, "nofile": NOFILE,
             "conns": NOFILE - 100, "origin": getattr(self, "origin_port", 0),
             "idle": UPSTREAM_IDLE}
        v["http"] = self.HTTP % v
        (d / "nginx.conf").write_text(NGINX_MAIN % v)
        return ["nginx", "-p", d, "-c", d / "nginx.conf"]


class Origin(Nginx):
    HTTP = """\
    access_log off;
    etag off;
    server {
        listen 127.0.0.1:%(port)d backlog=4096;
        root %(d)s;
        location /ocsp/ {
            types { }
            default_type application/ocsp-response;
            try_files /resp.der =404;
        }
        location / { return 404; }
    }
"""

    def __init__(self, work, der):
        super().__init__("origin", work)
        (self.dir / "resp.der").write_bytes(der)


class OcspGate(Server):
    """ocspgate; the optional keys are written only when the binary
    accepts them (probed once with `ocspgate -t`)."""
    probed = None       # the optional keys this binary accepts

    def __init__(self, name, work, binary, origin_port, ca, cache):
        super().__init__(name, work)
        self.binary, self.origin_port, self.ca = binary, origin_port, ca
        self.cache = cache
        self.log = self.dir / "events.jsonl"

    def config(self, optional):
        values = {"workers": "1",
                  "cache_size": str(CACHE_BYTES if self.cache else 0),
                  "upstream_idle_max": str(UPSTREAM_IDLE)}
        lines = ['listen = [ "127.0.0.1:%d" ];' % self.port,
                 'mode = "enforce";',
                 'event_log = "%s";' % self.log,
                 'hosts_file = "";',
                 'resolvers = [ "127.0.0.1" ];',
                 'responders = ( { host = "127.0.0.1:%d/ocsp"; '
                 'issuers = [ "%s" ]; } );' % (self.origin_port, self.ca),
                 "client_timeout = 300;",
                 # wrk's connections all come from one address
                 "max_connections_per_source = 0;",
                 "max_connections = %d;" % (NOFILE // 2 - 100)]
        lines += ["%s = %s;" % (k, values[k]) for k in optional]
        return "\n".join(lines) + "\n"

    def probe(self, path):
        keys = list(OPTIONAL_KEYS)
        path.write_text(self.config(keys))
        p = run([self.binary, "-t", "-c", path], check=False)
        rejected = set(re.findall(r"unknown directive '(\w+)'", p.stderr))
        for k in keys:
            if k in rejected or re.search(r":\d+: .*\b%s\b" % k, p.stderr):
                NOTES.append("this ocspgate binary does not accept `%s`: "
                             "left out of its config" % k)
                say(NOTES[-1])
        OcspGate.probed = [k for k in keys if k not in rejected and
                           not re.search(r"\b%s\b" % k, p.stderr)]
        if OcspGate.probed:
            NOTES.append("ocspgate config keys in use: " + ", ".join(
                "`%s`" % k for k in OcspGate.probed))
        if "cache_size" not in OcspGate.probed:
            NOTES.append("without `cache_size`, ocspgate-cache runs the "
                         "same config as ocspgate")

    def argv(self):
        conf = self.dir / "ocspgate.conf"
        if OcspGate.probed is None:
            self.probe(conf)
        conf.write_text(self.config(OcspGate.probed))
        p = run([self.binary, "-t", "-c", conf], check=False)
        if p.returncode != 0:
            raise RuntimeError("ocspgate rejects its config:\n" + p.stderr)
        return [self.binary, "-c", conf]


class HAProxy(Server):
    def __init__(self, work, origin_port):
        super().__init__("haproxy", work)
        self.origin_port = origin_port
        self.log = self.dir / "stdout.log"      # `log stdout`, see spawn()

    def argv(self):
        (self.dir / "haproxy.cfg").write_text("""\
global
    nbthread 1
    maxconn %(maxconn)d
    log stdout format raw local0 info

defaults
    mode http
    log global
    option httplog
    option http-keep-alive
    maxconn %(maxconn)d
    timeout connect 5s
    timeout client 300s
    timeout server 30s
    timeout http-request 300s
    timeout http-keep-alive 300s

frontend proxy
    bind 127.0.0.1:%(port)d
    default_backend origin

backend origin
    http-reuse always
    server origin 127.0.0.1:%(origin)d
""" % {"port": self.port, "origin": self.origin_port,
       # HAProxy needs two descriptors per connection and some spare
       "maxconn": NOFILE // 2 - 100})
        return ["haproxy", "-db", "-f", self.dir / "haproxy.cfg"]


class NginxProxy(Nginx):
    HTTP = """\
    access_log %(d)s/access.log combined;
    upstream origin {
        server 127.0.0.1:%(origin)d;
        keepalive %(idle)d;
        keepalive_requests 100000000;
    }
    server {
        listen 127.0.0.1:%(port)d backlog=4096;
        location / {
            proxy_pass http://origin;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
        }
    }
"""

    def __init__(self, work, origin_port):
        super().__init__("nginx", work)
        self.origin_port = origin_port
        self.log = self.dir / "access.log"


class Squid(Server):
    def __init__(self, work):
        super().__init__("squid", work)
        self.log = self.dir / "access.log"
        # Squid drops root for the `proxy` user: its directory is theirs.
        shutil.chown(self.dir, "proxy", "proxy")

    def argv(self):
        d = self.dir
        conf = d / "squid.conf"
        conf.write_text("""\
http_port 127.0.0.1:%(port)d
workers 1
cache_effective_user proxy
http_access allow localhost
http_access deny all
cache deny all
cache_mem 0 MB
access_log stdio:%(d)s/access.log squid
cache_log %(d)s/cache.log
cache_store_log none
pid_filename %(d)s/squid.pid
coredump_dir %(d)s
netdb_filename none
pinger_enable off
max_filedescriptors %(nofile)d
client_persistent_connections on
server_persistent_connections on
client_idle_pconn_timeout 5 minutes
request_start_timeout 5 minutes
dns_nameservers 127.0.0.1
visible_hostname bench.localhost
shutdown_lifetime 1 seconds
logfile_rotate 0
""" % {"d": d, "port": self.port, "nofile": NOFILE})
        shutil.chown(conf, "proxy", "proxy")
        return ["squid", "-N", "-f", conf]


# ---------------------------------------------------------------- checks

def verify(server, url, der, tmp):
    """One request with curl -x: 200, the origin's bytes, a log line and,
    for ocspgate, an "allow" event. Returns an error string or None."""
    out = tmp / ("verify-%s.der" % server.name)
    p = run(["curl", "-sS", "--path-as-is", "--noproxy", "", "-x",
             "http://127.0.0.1:%d" % server.port, "-o", out, "-w",
             "%{http_code}", "-H", "User-Agent: " + USER_AGENT,
             "-H", "Accept: */*", "--max-time", "10", url],
            check=False, timeout=20)
    if p.stdout.strip() != "200":
        return "status %s %s" % (p.stdout.strip() or "none", p.stderr.strip())
    if out.read_bytes() != der:
        return "the body is not the origin's OCSP response"
    time.sleep(0.3)
    text = server.log.read_text(errors="replace") if server.log.exists() else ""
    if "/ocsp/" not in text:
        return "the request is not in its access log %s" % server.log.name
    if isinstance(server, OcspGate):
        last = text.strip().splitlines()[-1]
        if '"action":"allow"' not in last:
            return "the event is not an allow: " + last[:500]
    return None


# ---------------------------------------------------------------- wrk

WRK_LUA = """\
wrk.method = "GET"
wrk.path = "%(url)s"
wrk.headers["Host"] = "%(host)s"
wrk.headers["Connection"] = "Keep-Alive"
wrk.headers["Accept"] = "*/*"
wrk.headers["User-Agent"] = "%(ua)s"
"""

UNITS = {"us": 1e-3, "ms": 1.0, "s": 1e3, "m": 6e4, "h": 3.6e6}


def to_ms(text):
    m = re.match(r"([\d.]+)(us|ms|s|m|h)$", text)
    return float(m.group(1)) * UNITS[m.group(2)]


def parse_wrk(out):
    r = {}
    m = re.search(r"(\d+) requests in ([\d.]+)(\w+)", out)
    r["requests"] = int(m.group(1)) if m else 0
    m = re.search(r"Requests/sec:\s+([\d.]+)", out)
    r["rps"] = float(m.group(1)) if m else 0.0
    for q in ("50", "99"):
        m = re.search(r"^\s+%s%%\s+(\S+)" % q, out, re.M)
        r["p" + q] = to_ms(m.group(1)) if m else float("nan")
    m = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    errors = int(m.group(1)) if m else 0
    m = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), "
                  r"timeout (\d+)", out)
    if m:
        errors += sum(int(x) for x in m.groups())
    r["errors"] = errors
    return r


def load(server, origin, lua, conns, seconds):
    reset_peak(server.proc.pid)
    cpu0, ocpu0 = cpu_ticks(server.proc.pid), cpu_ticks(origin.proc.pid)
    p = run(["wrk", "-t1", "-c%d" % conns, "-d%ds" % seconds, "--latency",
             "--timeout", "10s", "-s", lua,
             "http://127.0.0.1:%d/" % server.port],
            timeout=seconds + 60, check=False)
    cpu1, ocpu1 = cpu_ticks(server.proc.pid), cpu_ticks(origin.proc.pid)
    r = parse_wrk(p.stdout)
    if p.returncode != 0 or not r["requests"]:
        r["errors"] = max(r["errors"], 1)
        r["wrk_failed"] = (p.stdout + p.stderr)[-1500:]
    n = max(r["requests"], 1)
    r["cpu_us"] = (cpu1 - cpu0) * 1e6 / CLK_TCK / n
    r["origin_us"] = (ocpu1 - ocpu0) * 1e6 / CLK_TCK / n
    r["peak_mb"] = mem_kb(server.proc.pid, "VmHWM") / 1024.0
    r["alive"] = server.alive()
    return r


# ---------------------------------------------------------------- memory

async def read_response(reader):
    head = await reader.readuntil(b"\r\n\r\n")
    status = int(head.split(b" ", 2)[1])
    fields = head.decode("latin-1").lower()
    m = re.search(r"\r\ncontent-length:\s*(\d+)", fields)
    if m:
        await reader.readexactly(int(m.group(1)))
    elif re.search(r"\r\ntransfer-encoding:\s*chunked", fields):
        while True:
            size = int((await reader.readuntil(b"\r\n")).split(b";")[0], 16)
            await reader.readexactly(size + 2)
            if size == 0:
                break
    return status


async def hold_connections(server, n, request, timeout=120):
    """Opens n connections (sending `request` on each and reading its
    answer, when given), waits until the proxy has accepted them all and
    its RSS is steady, and returns (RSS growth in kB, problems)."""
    pid = server.proc.pid
    base = mem_kb(pid, "VmRSS")
    conns, problems = [], []
    sem = asyncio.Semaphore(100)

    async def one():
        async with sem:
            r, w = await asyncio.wait_for(
                asyncio.open_connection("127.0.0.1", server.port), 15)
            conns.append(w)
            if request:
                w.write(request)
                status = await asyncio.wait_for(read_response(r), 15)
                if status != 200:
                    raise RuntimeError("status %d" % status)

    try:
        results = await asyncio.wait_for(asyncio.gather(
            *(one() for _ in range(n)), return_exceptions=True), timeout)
        failed = [e for e in results if isinstance(e, BaseException)]
        if failed:
            problems.append("%d of %d connections failed (%s)"
                            % (len(failed), n, repr(failed[0])[:120]))
        deadline = time.monotonic() + 15
        last = None
        while time.monotonic() < deadline:      # accepted and steady
            await asyncio.sleep(0.5)
            rss = mem_kb(pid, "VmRSS")
            if listen_queue(server.port) == 0 and last is not None and \
                    abs(rss - last) <= max(64, last // 500):
                break
            last = rss
        grown = mem_kb(pid, "VmRSS") - base
        if not server.alive():
            problems.append("the proxy died")
        return grown, problems
    finally:
        for w in conns:
            w.close()
        await asyncio.sleep(0.2)


def memory(server, n, request):
    out = {}
    for kind, req in (("silent", None), ("idle", request)):
        server.restart()
        time.sleep(0.5)
        grown, problems = asyncio.run(hold_connections(server, n, req))
        out[kind] = grown / float(n)
        if problems:
            loud("%s, %s connections: %s" % (server.name, kind,
                                              "; ".join(problems)))
            out[kind + "_problems"] = problems
    return out


# ---------------------------------------------------------------- report

def version(argv, pattern=r"(\S.*)"):
    try:
        p = subprocess.run(argv, capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.TimeoutExpired):
        return "?"
    m = re.search(pattern, p.stdout + p.stderr)
    return m.group(1).strip() if m else "?"


def machine(binary):
    model = "?"
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    return [("CPUs (nproc)", str(os.cpu_count())), ("CPU", model),
            ("kernel", os.uname().release),
            ("ocspgate", version([binary, "-V"], r"ocspgate (\S+)")),
            ("HAProxy", version(["haproxy", "-v"], r"version (\S+)")),
            ("nginx", version(["nginx", "-v"], r"nginx/(\S+)")),
            ("Squid", version(["squid", "-v"], r"Version (\S+)")),
            ("wrk", version(["wrk", "-v"], r"wrk (\S+)")),
            ("OpenSSL", version(["openssl", "version"], r"OpenSSL (\S+)"))]


def table(header, rows, left=1):
    """(plain text, Markdown) renderings of one table; the first `left`
    columns are aligned left, the others right."""
    cells = [header] + [[str(c) for c in r] for r in rows]
    widths = [max(len(r[i]) for r in cells) for i in range(len(header))]
    fmt = lambda r: "  ".join(c.rjust(w) if i >= left else c.ljust(w)
                              for i, (c, w) in enumerate(zip(r, widths)))
    text = [fmt(cells[0]), "  ".join("-" * w for w in widths)]
    text += [fmt(r) for r in cells[1:]]
    md = ["| " + " | ".join(cells[0]) + " |",
          "|" + "|".join("---" if i < left else "--:"
                         for i in range(len(header))) + "|"]
    md += ["| " + " | ".join(r) + " |" for r in cells[1:]]
    return "\n".join(text), "\n".join(md)


def median(runs, key):
    vals = [r[key] for r in runs if r.get(key) == r.get(key)]
    return statistics.median(vals) if vals else float("nan")


def report(args, names, results, mem, info, der_len, req_len):
    rows = []
    for conns in args.conns:
        for name in names:
            runs = results.get((name, conns), [])
            if not runs:
                continue
            rows.append([name, conns, "%.0f" % median(runs, "rps"),
                         "%.2f" % median(runs, "p50"),
                         "%.2f" % median(runs, "p99"),
                         "%.1f" % median(runs, "cpu_us"),
                         "%.1f" % median(runs, "origin_us"),
                         "%.1f" % median(runs, "peak_mb"),
                         sum(r["errors"] for r in runs)])
    t_load = table(["proxy", "conns", "req/s", "p50 ms", "p99 ms",
                    "CPU µs/req", "origin µs/req", "peak RSS MB", "errors"],
                   rows)
    t_mem = table(["proxy", "KB / silent conn", "KB / idle keep-alive conn"],
                  [[n, "%.1f" % mem[n]["silent"], "%.1f" % mem[n]["idle"]]
                   for n in names if n in mem])
    ratio_rows = []
    for conns in args.conns:
        ref = results.get(("haproxy", conns))
        if not ref:
            continue
        for name in names:
            runs = results.get((name, conns))
            if not runs or name == "haproxy":
                continue
            q = lambda k: median(runs, k) / median(ref, k) \
                if median(ref, k) else float("nan")
            ratio_rows.append([name, conns, "%.2f" % q("cpu_us"),
                               "%.2f" % q("rps"), "%.2f" % q("p99")])
    if not ratio_rows:
        NOTES.append("HAProxy was not measured: no ratios")
    t_ratio = table(["proxy", "conns", "CPU µs/req ÷ HAProxy",
                     "req/s ÷ HAProxy", "p99 ÷ HAProxy"], ratio_rows)
    t_mach = table(["machine", ""], info, left=2)
    setup = ("%d round(s) × %d s per proxy and concurrency, median of "
             "rounds; wrk -t1; OCSP request %d B DER (CryptoAPI GET), "
             "response %d B; %d connections for the memory figures; every "
             "proxy with one worker and its access log on; origin nginx "
             "with access_log off."
             % (args.rounds, args.duration, req_len, der_len, args.mem_conns))
    notes = NOTES + [setup]
    plain = "\n\n".join([t_load[0], t_mem[0], t_ratio[0], t_mach[0]]) + \
        "\n\n" + "\n".join("note: " + n for n in notes)
    md = "\n\n".join([
        "### Throughput, latency and CPU (median of rounds)", t_load[1],
        "### Memory per connection", t_mem[1],
        "### Relative to HAProxy", t_ratio[1],
        "### Machine", t_mach[1],
        "\n".join("- " + n for n in notes)]) + "\n"
    return plain, md


# ---------------------------------------------------------------- main

def options():
    env = os.environ
    a = argparse.ArgumentParser(
        description="Benchmark ocspgate against HAProxy, nginx and Squid "
        "as forward proxies for Windows-style OCSP GETs (loopback only).")
    a.add_argument("--rounds", type=int,
                   default=int(env.get("BENCH_ROUNDS", 3)))
    a.add_argument("--duration", type=int,
                   default=int(env.get("BENCH_DURATION", 10)),
                   help="seconds per wrk run (default 10)")
    a.add_argument("--quick", action="store_true",
                   help="1 round of 3 s (overrides --rounds/--duration)")
    a.add_argument("--conns", default=env.get("BENCH_CONNS", "50,500"),
                   help="wrk connection counts (default 50,500)")
    a.add_argument("--mem-conns", type=int,
                   default=int(env.get("BENCH_MEM_CONNS", 5000)))
    a.add_argument("--proxies", default=env.get(
        "BENCH_PROXIES", "haproxy,nginx,squid,ocspgate,ocspgate-cache"))
    a.add_argument("--markdown", metavar="FILE",
                   help="also write the tables as Markdown to FILE")
    a.add_argument("--keep", action="store_true",
                   help="keep the temporary directory (logs, configs)")
    args = a.parse_args()
    if args.quick:
        args.rounds, args.duration = 1, 3
    args.conns = [int(c) for c in args.conns.split(",") if c.strip()]
    args.proxies = [p.strip() for p in args.proxies.split(",") if p.strip()]
    if args.rounds < 1 or args.duration < 1 or not 1 <= args.mem_conns <= 6000:
        a.error("--rounds and --duration must be >= 1, --mem-conns 1..6000")
    return args


def main():
    args = options()
    binary = os.environ.get("OCSPGATE_BIN") or str(REPO / "build" / "ocspgate")
    if not os.access(binary, os.X_OK):
        sys.exit("bench: no ocspgate binary at %s (build it with `make "
                 "build`, or set OCSPGATE_BIN)" % binary)
    install()
    global NOFILE
    NOFILE = raise_nofile()
    if NOFILE < 2 * args.mem_conns + 1000:
        NOTES.append("open-file limit %d is low for %d connections"
                     % (NOFILE, args.mem_conns))
    work = Path(tempfile.mkdtemp(prefix="ocspgate-bench-"))
    work.chmod(0o755)       # nginx and squid workers read from here
    say("working in " + str(work))
    failed = []
    try:
        ca, req, der = make_pki(work / "pki")
        path = cryptoapi_path(req)
        say("OCSP request %d B, response %d B" % (len(req), len(der)))
        origin = Origin(work, der)
        origin.start()
        url = "http://127.0.0.1:%d%s" % (origin.port, path)
        makers = {
            "haproxy": lambda: HAProxy(work, origin.port),
            "nginx": lambda: NginxProxy(work, origin.port),
            "squid": lambda: Squid(work),
            "ocspgate": lambda: OcspGate("ocspgate", work, binary,
                                         origin.port, ca, False),
            "ocspgate-cache": lambda: OcspGate("ocspgate-cache", work, binary,
                                               origin.port, ca, True)}
        servers = []
        for name in args.proxies:
            if name not in makers:
                sys.exit("bench: unknown proxy %s" % name)
            s = makers[name]()
            try:
                s.start()
                problem = verify(s, url, der, work)
            except (RuntimeError, OSError, subprocess.SubprocessError) as e:
                problem = str(e)
            if problem:
                loud("%s FAILED the verification request: %s"
                     % (name, problem))
                failed.append(name)
                s.stop()
                continue
            say("%s on 127.0.0.1:%d answers 200 with the OCSP response"
                % (name, s.port))
            servers.append(s)
        lua = work / "cryptoapi.lua"
        lua.write_text(WRK_LUA % {"url": url, "host": "127.0.0.1:%d"
                                  % origin.port, "ua": USER_AGENT})
        for s in servers:                       # warm-up, not recorded
            load(s, origin, lua, args.conns[0], 1)
        results = {}
        for rnd in range(args.rounds):
            order = servers[rnd % len(servers):] + servers[:rnd % len(servers)] \
                if servers else []
            for conns in args.conns:
                for s in order:
                    if not s.alive():
                        continue
                    time.sleep(1)
                    r = load(s, origin, lua, conns, args.duration)
                    results.setdefault((s.name, conns), []).append(r)
                    say("round %d/%d %-15s c=%-4d %8.0f req/s p99 %7.2f ms "
                        "%6.1f µs/req errors %d"
                        % (rnd + 1, args.rounds, s.name, conns, r["rps"],
                           r["p99"], r["cpu_us"], r["errors"]))
                    if r["errors"]:
                        loud("%s at %d connections: %d errors/non-2xx%s"
                             % (s.name, conns, r["errors"],
                                "\n" + r.get("wrk_failed", "")))
                    if not r["alive"]:
                        loud("%s DIED during the run" % s.name)
                        failed.append(s.name)
        request = ("GET %s HTTP/1.1\r\nHost: 127.0.0.1:%d\r\nConnection: "
                   "Keep-Alive\r\nAccept: */*\r\nUser-Agent: %s\r\n\r\n"
                   % (url, origin.port, USER_AGENT)).encode()
        mem = {}
        for s in servers:
            say("memory: %s, %d connections" % (s.name, args.mem_conns))
            try:
                mem[s.name] = memory(s, args.mem_conns, request)
            except (RuntimeError, OSError) as e:
                loud("%s memory test failed: %s" % (s.name, e))
            s.stop()
        origin.stop()
        errors = sum(r["errors"] for runs in results.values() for r in runs)
        if errors:
            NOTES.insert(0, "ERRORS: %d failed or non-2xx requests in the "
                         "runs (see the errors column)" % errors)
        if failed:
            NOTES.insert(0, "FAILED: " + ", ".join(sorted(set(failed))))
        plain, md = report(args, args.proxies, results, mem,
                           machine(binary), len(der), len(req))
        print("\n" + plain)
        if args.markdown:
            Path(args.markdown).write_text(md)
            say("Markdown written to " + args.markdown)
        if errors:
            loud("%d requests failed or were not 2xx: see above" % errors)
    finally:
        cleanup()
        if args.keep:
            say("kept " + str(work))
        else:
            shutil.rmtree(work, ignore_errors=True)
    return 1 if failed else 0


def _on_signal(signum, frame):
    raise KeyboardInterrupt


if __name__ == "__main__":
    for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, _on_signal)
    try:
        sys.exit(main())
    except KeyboardInterrupt:
        cleanup()
        sys.exit("bench: interrupted")
