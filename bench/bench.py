#!/usr/bin/env python3
"""ocspgate benchmark (run it through bench/run).

Method
------
Everything runs on 127.0.0.1, from a fresh temporary directory, with
processes this script starts and stops itself (a trap on exit, Ctrl-C and
SIGTERM included, and PR_SET_PDEATHSIG so nothing outlives it).

1. A request set (ocspset.py, kept between runs in a cache directory):
   four CAs, each with thousands of certificates, the DER request a
   Windows client sends for each (SHA-1 CertID, no nonce) and its own
   answer signed by `openssl ocsp -index ... -reqin ... -respout`, as a
   real responder answers.
2. An nginx origin (one worker, access_log off) serves each answer as a
   static file at its request's decoded GET path, as
   application/ocsp-response, keep-alive on.
3. Each proxy runs as a forward proxy with one worker/thread and its
   access log written to a file: ocspgate without and with its answer
   cache, HAProxy 2.6, nginx (upstream keep-alive pool) and Squid 5.7
   (no cache). Each must answer the repeated request and a few of the
   distinct ones, sent as the load sends them, with the origin's bytes
   (and for ocspgate, clean "allow" events) before it is measured.
4. wrk (one thread, 50 and 500 connections) sends CryptoAPI GETs in
   absolute form: `GET http://127.0.0.1:<origin>/ocsp/<base64 with + / =
   percent-encoded>` with the headers Windows sends. Two workloads: the
   same request over and over (repeated), and the whole set in turn
   (distinct), so that nothing remembered from an earlier request can
   answer the next. Rounds interleave the proxies (each proxy once per
   round, workload and concurrency, the order rotated) and every figure
   reported is the median over rounds. CPU per request is the growth of
   utime+stime (/proc/PID/stat) of all the proxy's processes over the
   run, divided by the requests wrk completed; the origin's is measured
   the same way. Peak RSS is VmHWM summed over the processes, reset
   before each run through /proc/PID/clear_refs.
5. Memory: a freshly started proxy gets 5,000 client connections that
   send nothing (silent), then a burst: the repeated request on all of
   them at once, every answer read, the connections left open (idle
   keep-alive). The figures are the growth of VmRSS summed over the
   proxy's processes, divided by the number of connections; the RSS of
   the idle process, after the burst and one second after the client
   closed every connection are reported as they are.
"""

import argparse
import asyncio
import ctypes
import http.client
import os
import random
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

sys.dont_write_bytecode = True      # no __pycache__ in the source tree
import ocspset  # noqa: E402 (after the line above)

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
T0 = time.monotonic()
WORKLOADS = ("repeated", "distinct")


def say(msg):
    print("bench: [%4.0f s] %s" % (time.monotonic() - T0, msg), flush=True)


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


def machine_busy():
    """CPU ticks the whole machine has spent busy (/proc/stat: user, nice,
    system, irq, softirq, steal over all CPUs)."""
    with open("/proc/stat") as f:
        v = [int(x) for x in f.readline().split()[1:9]]
    return v[0] + v[1] + v[2] + v[5] + v[6] + v[7]


def children_ticks():
    """CPU ticks of this script's waited-for children (wrk, curl)."""
    ru = resource.getrusage(resource.RUSAGE_CHILDREN)
    return (ru.ru_utime + ru.ru_stime) * CLK_TCK


def reset_peak(root):
    for pid in tree(root):
        try:
            with open("/proc/%d/clear_refs" % pid, "w") as f:
                f.write("5")
        except OSError:
            pass


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
             "idle": UPSTREAM_IDLE, "www": getattr(self, "www", d)}
        v["http"] = self.HTTP % v
        (d / "nginx.conf").write_text(NGINX_MAIN % v)
        return ["nginx", "-p", d, "-c", d / "nginx.conf"]


class Origin(Nginx):
    """Serves every answer of the set as a static file: `root` plus the
    decoded GET path (base64's `/` are directories there)."""
    HTTP = """\
    access_log off;
    etag off;
    server {
        listen 127.0.0.1:%(port)d backlog=4096;
        location /ocsp/ {
            root %(www)s;
            types { }
            default_type application/ocsp-response;
        }
        location / { return 404; }
    }
"""

    def __init__(self, work, www):
        super().__init__("origin", work)
        self.www = www


class OcspGate(Server):
    """ocspgate; the optional keys are written only when the binary
    accepts them (probed once with `ocspgate -t`)."""
    probed = None       # the optional keys this binary accepts

    def __init__(self, name, work, binary, origin_port, cas, cache):
        super().__init__(name, work)
        self.binary, self.origin_port, self.cas = binary, origin_port, cas
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
                 'issuers = [ %s ]; } );' % (self.origin_port, ", ".join(
                     '"%s"' % ca for ca in self.cas)),
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

def verify(server, samples, host):
    """Each (url, answer) of samples requested in turn as the load sends
    it, on one keep-alive connection: 200 and the origin's exact bytes,
    each in the access log and, for ocspgate, an "allow" event each
    without a flag that says the request is not CryptoAPI's. Returns an
    error string or None."""
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
    try:
        for url, der in samples:
            conn.putrequest("GET", url, skip_host=True,
                            skip_accept_encoding=True)
            for name, value in CRYPTOAPI_FIELDS + (("Host", host),):
                conn.putheader(name, value)
            conn.endheaders()
            resp = conn.getresponse()
            body = resp.read()
            if resp.status != 200:
                return "status %d for %s" % (resp.status, url)
            if body != der:
                return "the body is not the origin's OCSP response for " + url
    except (OSError, http.client.HTTPException) as e:
        return "%s: %s" % (type(e).__name__, e)
    finally:
        conn.close()
    time.sleep(0.3)
    text = server.log.read_text(errors="replace") if server.log.exists() else ""
    lines = [l for l in text.splitlines() if "/ocsp/" in l]
    if len(lines) < len(samples):
        return "%d of %d requests in its access log %s" % (
            len(lines), len(samples), server.log.name)
    if isinstance(server, OcspGate):
        for line in lines[-len(samples):]:
            if '"action":"allow"' not in line or "ua_mismatch" in line:
                return "an event is not a clean allow: " + line[:700]
    return None


# ---------------------------------------------------------------- wrk

# A Windows CryptoAPI OCSP GET: its fields, in its order, Host last
# (docs/event-log.md, "Known fingerprints"). wrk's own request builder
# writes fields in Lua's table order, so the script writes the bytes.
CRYPTOAPI_FIELDS = (("Cache-Control", "max-age = 86400"),
                    ("Connection", "Keep-Alive"), ("Accept", "*/*"),
                    ("User-Agent", USER_AGENT))


def cryptoapi_head(url, host):
    return "GET %s HTTP/1.1\r\n%sHost: %s\r\n\r\n" % (
        url, "".join("%s: %s\r\n" % f for f in CRYPTOAPI_FIELDS), host)


# The requests are the URLs of a file, one a line (one URL for the
# repeated workload). wrk's Lua API does not say which connection asks
# for the next request, so one cursor per wrk thread walks the table:
# consecutive requests, on whichever connections, take consecutive
# entries, so that the requests in flight at a time are all different and
# an entry comes back only after the whole table. The run's start offset
# comes after `--`; each further thread starts elsewhere.
WRK_LUA = """\
local fields = "%(fields)s"
local urls = {}
for line in io.lines("%(urls)s") do urls[#urls + 1] = line end
local reqs, cursor, threads = {}, 0, 0
function setup(thread)
   thread:set("shard", threads)
   threads = threads + 1
end
function init(args)
   for i, u in ipairs(urls) do
      reqs[i] = "GET " .. u .. " HTTP/1.1\\r\\n" .. fields ..
         "Host: %(host)s\\r\\n\\r\\n"
   end
   cursor = ((tonumber(args[1]) or 0) + (shard or 0) * 7919) %% #reqs
end
function request()
   cursor = cursor %% #reqs + 1
   return reqs[cursor]
end
"""


def write_lua(path, urls_file, host):
    fields = "".join("%s: %s\\r\\n" % f for f in CRYPTOAPI_FIELDS)
    path.write_text(WRK_LUA % {"fields": fields, "urls": urls_file,
                               "host": host})


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


def load(server, origin, lua, conns, seconds, offset=0):
    """One wrk run against server; offset is where the distinct
    workload's cursor starts. Empties the proxy's log first (it is
    opened for appending), so that the disk holds one run's lines."""
    if server.log is not None and server.log.exists():
        os.truncate(server.log, 0)
    reset_peak(server.proc.pid)
    cpu0, ocpu0 = cpu_ticks(server.proc.pid), cpu_ticks(origin.proc.pid)
    busy0, wrk0, t0 = machine_busy(), children_ticks(), time.monotonic()
    p = run(["wrk", "-t1", "-c%d" % conns, "-d%ds" % seconds, "--latency",
             "--timeout", "10s", "-s", lua,
             "http://127.0.0.1:%d/" % server.port, "--", offset],
            timeout=seconds + 60, check=False)
    cpu1, ocpu1 = cpu_ticks(server.proc.pid), cpu_ticks(origin.proc.pid)
    busy1, wrk1, t1 = machine_busy(), children_ticks(), time.monotonic()
    r = parse_wrk(p.stdout)
    if p.returncode != 0 or not r["requests"]:
        r["errors"] = max(r["errors"], 1)
        r["wrk_failed"] = (p.stdout + p.stderr)[-1500:]
    n = max(r["requests"], 1)
    r["cpu_us"] = (cpu1 - cpu0) * 1e6 / CLK_TCK / n
    r["origin_us"] = (ocpu1 - ocpu0) * 1e6 / CLK_TCK / n
    r["peak_mb"] = mem_kb(server.proc.pid, "VmHWM") / 1024.0
    r["alive"] = server.alive()
    # The machine's busy time that neither the proxy, the origin nor wrk
    # spent, as a share of all its CPUs over the run: other people's work
    # (and interrupt work no process is charged with). A quiet machine
    # shows a few per cent.
    other = (busy1 - busy0) - (cpu1 - cpu0) - (ocpu1 - ocpu0) - (wrk1 - wrk0)
    r["other_pct"] = max(0.0, 100.0 * other / (
        (t1 - t0) * CLK_TCK * (os.cpu_count() or 1)))
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


async def steady_rss(server, limit=15.0):
    """VmRSS (kB) summed over the proxy's processes once it has accepted
    every connection (its listen queue is empty) and its RSS has stopped
    moving: two readings 0.5 s apart within max(64 kB, 0.2 %), or the
    last reading after `limit` seconds."""
    pid, last = server.proc.pid, None
    deadline = time.monotonic() + limit
    while True:
        await asyncio.sleep(0.5)
        rss = mem_kb(pid, "VmRSS")
        if listen_queue(server.port) == 0 and last is not None and \
                abs(rss - last) <= max(64, last // 500):
            return rss
        if time.monotonic() > deadline:
            return rss
        last = rss


async def burst(server, n, request, timeout=120):
    """The memory figures of one freshly started proxy: n connections
    that send nothing, then `request` on all of them at once, every
    answer read, the connections kept open; then all closed. Returns
    (figures in kB, problems)."""
    out, problems, conns = {}, [], []
    out["idle"] = await steady_rss(server)
    sem = asyncio.Semaphore(100)

    async def connect():
        async with sem:
            r, w = await asyncio.wait_for(
                asyncio.open_connection("127.0.0.1", server.port), 15)
            conns.append((r, w))

    async def answer(r):
        status = await asyncio.wait_for(read_response(r), 60)
        if status != 200:
            raise RuntimeError("status %d" % status)

    def failures(results, what):
        failed = [e for e in results if isinstance(e, BaseException)]
        if failed:
            problems.append("%d of %d %s failed (%s)" % (
                len(failed), n, what, repr(failed[0])[:120]))

    try:
        failures(await asyncio.wait_for(asyncio.gather(
            *(connect() for _ in range(n)), return_exceptions=True),
            timeout), "connections")
        out["silent"] = await steady_rss(server)
        for _, w in conns:          # the burst: every request at once
            w.write(request)
        failures(await asyncio.wait_for(asyncio.gather(
            *(answer(r) for r, _ in conns), return_exceptions=True),
            timeout), "requests")
        out["burst"] = await steady_rss(server)
    finally:
        for _, w in conns:
            w.close()
        if conns:
            await asyncio.wait(
                [asyncio.ensure_future(w.wait_closed()) for _, w in conns],
                timeout=10)
    closed = time.monotonic()
    await asyncio.sleep(max(0.0, closed + 1.0 - time.monotonic()))
    out["after"] = mem_kb(server.proc.pid, "VmRSS")
    if not server.alive():
        problems.append("the proxy died")
    return out, problems


def memory(server, n, request):
    """Per-connection figures (KB) and the RSS (MB) of the idle process,
    after the burst and 1 s after the connections closed."""
    server.restart()
    time.sleep(0.5)
    rss, problems = asyncio.run(burst(server, n, request))
    if problems:
        loud("%s, %d connections: %s" % (server.name, n,
                                          "; ".join(problems)))
    return {"silent": (rss["silent"] - rss["idle"]) / float(n),
            "idle": (rss["burst"] - rss["idle"]) / float(n),
            "rss_idle": rss["idle"] / 1024.0,
            "rss_burst": rss["burst"] / 1024.0,
            "rss_after": rss["after"] / 1024.0,
            "problems": problems}


# ---------------------------------------------------------------- report

def version(argv, pattern=r"(\S.*)"):
    try:
        p = subprocess.run(argv, capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.TimeoutExpired):
        return "?"
    m = re.search(pattern, p.stdout + p.stderr)
    return m.group(1).strip() if m else "?"


def loadavg():
    return "%.2f %.2f %.2f" % os.getloadavg()


def machine(binary, load_start):
    model = "?"
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    return [("CPUs (nproc)", str(os.cpu_count())), ("CPU", model),
            ("kernel", os.uname().release),
            ("load average (1, 5, 15 min) at the start", load_start),
            ("load average (1, 5, 15 min) at the end", loadavg()),
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


def report(args, names, results, mem, info, setup):
    """(plain text, Markdown) of the tables; results are keyed by
    (workload, proxy, connections)."""
    rows, ratio_rows = [], []
    for wl in args.workloads:
        for conns in args.conns:
            ref = results.get((wl, "haproxy", conns))
            for name in names:
                runs = results.get((wl, name, conns), [])
                if not runs:
                    continue
                rows.append([wl, name, conns, "%.0f" % median(runs, "rps"),
                             "%.2f" % median(runs, "p50"),
                             "%.2f" % median(runs, "p99"),
                             "%.1f" % median(runs, "cpu_us"),
                             "%.1f" % median(runs, "origin_us"),
                             "%.1f" % median(runs, "peak_mb"),
                             sum(r["errors"] for r in runs),
                             "%.0f" % median(runs, "other_pct")])
                if not ref or name == "haproxy":
                    continue
                q = lambda k: median(runs, k) / median(ref, k) \
                    if median(ref, k) else float("nan")
                ratio_rows.append([wl, name, conns, "%.2f" % q("cpu_us"),
                                   "%.2f" % q("rps"), "%.2f" % q("p99")])
    t_load = table(["workload", "proxy", "conns", "req/s", "p50 ms",
                    "p99 ms", "CPU µs/req", "origin µs/req", "peak RSS MB",
                    "errors", "other CPU %"], rows, left=2)
    t_mem = table(["proxy", "KB / silent conn", "KB / idle keep-alive conn",
                   "idle RSS MB", "RSS after the burst MB",
                   "RSS 1 s after close MB"],
                  [[n, "%.1f" % mem[n]["silent"], "%.1f" % mem[n]["idle"],
                    "%.1f" % mem[n]["rss_idle"], "%.1f" % mem[n]["rss_burst"],
                    "%.1f" % mem[n]["rss_after"]]
                   for n in names if n in mem])
    if not ratio_rows:
        NOTES.append("HAProxy was not measured: no ratios")
    t_ratio = table(["workload", "proxy", "conns", "CPU µs/req ÷ HAProxy",
                     "req/s ÷ HAProxy", "p99 ÷ HAProxy"], ratio_rows, left=2)
    t_mach = table(["machine", ""], info, left=2)
    notes = NOTES + setup
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
    a.add_argument("--workloads", default=env.get(
        "BENCH_WORKLOADS", ",".join(WORKLOADS)),
        help="repeated (one request over and over), distinct (the whole "
        "request set in turn), or both (default)")
    a.add_argument("--distinct", type=int, metavar="N",
                   default=int(env.get("BENCH_DISTINCT", 10240)),
                   help="requests in the distinct set (default 10240)")
    cache = env.get("BENCH_CACHE_DIR") or os.path.join(
        env.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache"),
        "ocspgate-bench")
    a.add_argument("--cache-dir", default=cache,
                   help="where the request set is kept between runs "
                   "(default %s)" % cache)
    a.add_argument("--regenerate", action="store_true",
                   help="make the request set again even if it is cached")
    a.add_argument("--markdown", metavar="FILE",
                   help="also write the tables as Markdown to FILE")
    a.add_argument("--keep", action="store_true",
                   help="keep the temporary directory (logs, configs)")
    args = a.parse_args()
    if args.quick:
        args.rounds, args.duration = 1, 3
    args.conns = [int(c) for c in args.conns.split(",") if c.strip()]
    args.proxies = [p.strip() for p in args.proxies.split(",") if p.strip()]
    args.workloads = [w.strip() for w in args.workloads.split(",")
                      if w.strip()]
    if args.rounds < 1 or args.duration < 1 or not 1 <= args.mem_conns <= 6000:
        a.error("--rounds and --duration must be >= 1, --mem-conns 1..6000")
    if not args.workloads or set(args.workloads) - set(WORKLOADS):
        a.error("--workloads: a list of " + ", ".join(WORKLOADS))
    if args.distinct < 100:
        a.error("--distinct must be >= 100")
    return args


def check_origin(origin, samples):
    """The origin itself serves each sample's exact answer."""
    for url, der in samples:
        p = subprocess.run(["curl", "-sS", "--path-as-is", "--noproxy", "*",
                            "--max-time", "10", url],
                           capture_output=True, timeout=20)
        if p.returncode != 0 or p.stdout != der:
            raise RuntimeError("the origin does not serve the answer for "
                               + url)


def warm_up(s, origin, workload, lua, conns, count):
    """Not recorded: 1 s of the repeated request, or the distinct set
    once through (1-s runs, each going on where the last stopped; at most
    10), so that the origin's files are in the page cache and a cache
    holds every answer."""
    if workload == "repeated":
        load(s, origin, lua, conns, 1)
        return
    covered = 0
    for _ in range(10):
        covered += load(s, origin, lua, conns, 1, offset=covered)["requests"]
        if covered >= count:
            return
    NOTES.append("%s saw %d of the %d distinct requests in its warm-up"
                 % (s.name, covered, count))


def main():
    args = options()
    binary = os.environ.get("OCSPGATE_BIN") or str(REPO / "build" / "ocspgate")
    if not os.access(binary, os.X_OK):
        sys.exit("bench: no ocspgate binary at %s (build it with `make "
                 "build`, or set OCSPGATE_BIN)" % binary)
    load_start = loadavg()
    say("load average " + load_start)
    if os.getloadavg()[0] > 1.0:
        loud("the load average is %.2f: other work is running, the "
             "figures will be noisy" % os.getloadavg()[0])
    install()
    global NOFILE
    NOFILE = raise_nofile()
    if NOFILE < 2 * args.mem_conns + 1000:
        NOTES.append("open-file limit %d is low for %d connections"
                     % (NOFILE, args.mem_conns))
    try:
        oset = ocspset.prepare(args.cache_dir, args.distinct, say,
                               args.regenerate)
    except (ocspset.SetError, OSError, subprocess.SubprocessError) as e:
        sys.exit("bench: cannot make the request set: %s" % e)
    work = Path(tempfile.mkdtemp(prefix="ocspgate-bench-"))
    work.chmod(0o755)       # nginx and squid workers read from here
    say("working in " + str(work))
    failed = []
    try:
        origin = Origin(work, oset.www)
        origin.start()
        host = "127.0.0.1:%d" % origin.port
        url = lambda i: "http://%s%s" % (host, oset.entries[i]["path"])
        req, der = oset.request(0), oset.answer(0)
        say("repeated: OCSP request %d B, answer %d B" % (len(req), len(der)))
        picked = oset.samples() if "distinct" in args.workloads else [0]
        samples = [(url(i), oset.answer(i)) for i in picked]
        check_origin(origin, samples)
        makers = {
            "haproxy": lambda: HAProxy(work, origin.port),
            "nginx": lambda: NginxProxy(work, origin.port),
            "squid": lambda: Squid(work),
            "ocspgate": lambda: OcspGate("ocspgate", work, binary,
                                         origin.port, oset.cas, False),
            "ocspgate-cache": lambda: OcspGate("ocspgate-cache", work, binary,
                                               origin.port, oset.cas, True)}
        servers = []
        for name in args.proxies:
            if name not in makers:
                sys.exit("bench: unknown proxy %s" % name)
            s = makers[name]()
            try:
                s.start()
                problem = verify(s, samples, host)
            except (RuntimeError, OSError, subprocess.SubprocessError) as e:
                problem = str(e)
            if problem:
                loud("%s FAILED the verification requests: %s"
                     % (name, problem))
                failed.append(name)
                s.stop()
                continue
            say("%s on 127.0.0.1:%d answers %d requests with the origin's "
                "exact answers" % (name, s.port, len(samples)))
            servers.append(s)
        lua = {}
        for wl, n in (("repeated", 1), ("distinct", len(oset.entries))):
            (work / (wl + ".urls")).write_text("".join(
                url(i) + "\n" for i in range(n)))
            lua[wl] = work / (wl + ".lua")
            write_lua(lua[wl], work / (wl + ".urls"), host)
        for s in servers:
            for wl in args.workloads:
                say("warm-up: %s, %s" % (s.name, wl))
                warm_up(s, origin, wl, lua[wl], args.conns[0],
                        len(oset.entries))
        results = {}
        offsets = random.Random(len(oset.entries))
        for rnd in range(args.rounds):
            order = servers[rnd % len(servers):] + servers[:rnd % len(servers)] \
                if servers else []
            for wl in args.workloads:
                for conns in args.conns:
                    for s in order:
                        if not s.alive():
                            continue
                        time.sleep(1)
                        r = load(s, origin, lua[wl], conns, args.duration,
                                 offset=offsets.randrange(len(oset.entries)))
                        results.setdefault((wl, s.name, conns), []).append(r)
                        say("round %d/%d %-8s %-15s c=%-4d %8.0f req/s p99 "
                            "%7.2f ms %6.1f µs/req errors %d other CPU %.0f%%"
                            % (rnd + 1, args.rounds, wl, s.name, conns,
                               r["rps"], r["p99"], r["cpu_us"], r["errors"],
                               r["other_pct"]))
                        if r["errors"]:
                            loud("%s, %s, %d connections: %d errors/non-2xx%s"
                                 % (s.name, wl, conns, r["errors"],
                                    "\n" + r.get("wrk_failed", "")))
                        if not r["alive"]:
                            loud("%s DIED during the run" % s.name)
                            failed.append(s.name)
        request = cryptoapi_head(url(0), host).encode()
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
        problems = [n for n in mem if mem[n]["problems"]]
        if problems:
            NOTES.insert(0, "MEMORY TEST PROBLEMS: " + "; ".join(
                "%s: %s" % (n, ", ".join(mem[n]["problems"]))
                for n in problems))
        if failed:
            NOTES.insert(0, "FAILED: " + ", ".join(sorted(set(failed))))
        setup = [
            "%d round(s) × %d s per proxy, workload and concurrency, median "
            "of rounds; wrk -t1; every proxy with one worker and its access "
            "log on; origin nginx (access_log off) serving each answer as a "
            "static file" % (args.rounds, args.duration),
            "repeated: one OCSP request over and over, %d B DER as a "
            "CryptoAPI GET, answer %d B" % (len(req), len(der))]
        if "distinct" in args.workloads:
            setup.append("distinct: " + oset.describe() + "; sent in turn "
                         "from a random offset per run, after a warm-up "
                         "that went through the whole set once")
        setup.append(
            "memory: %d connections opened without a request (silent), "
            "then the repeated request sent on all of them at once (the "
            "burst) and every answer read; the connections stay open until "
            "the RSS is steady, then all close" % args.mem_conns)
        plain, md = report(args, args.proxies, results, mem,
                           machine(binary, load_start), setup)
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
