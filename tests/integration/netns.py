"""Network namespaces for the transparent-interception tests.

A Topology is four network namespaces joined by veth pairs: a small
routed network that exists only while the tests run.

    cli ---lan--- gw ---wan--- srv
                   \\
                    `--dcy--- dcy

    cli  client                    eth0 192.0.2.10     2001:db8:1::10
    gw   router: ocspgate, rules   lan0 192.0.2.1      2001:db8:1::1
                                   wan0 198.51.100.1   2001:db8:2::1
                                   dcy0 203.0.113.1    2001:db8:3::1
    srv  the OCSP responder        eth0 198.51.100.80  2001:db8:2::80
    dcy  a decoy web server        eth0 203.0.113.66   2001:db8:3::66

cli, srv and dcy route everything through gw, which forwards. The
addresses are the documentation ranges (RFC 5737, RFC 3849) and exist
only inside these namespaces.

Code runs inside a namespace with `with topo.inside("gw"): ...`: the
calling thread enters the namespace (setns(2)), so sockets it opens and
processes it starts there live in that namespace, and it returns to its
own namespace at the end of the block. Only the main thread does this,
so that /proc/self/net (read by port_listening()) shows the same
namespace.
"""

import contextlib
import ctypes
import json
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time
from pathlib import Path

from ocspgate_harness import (
    _LineReader, _die_with_parent, clean_env, parse_request, port_listening,
    run, scaled, stop_process, OCSP_RESPONSE_TRY_LATER)

CLONE_NEWNET = 0x40000000
NETNS_DIR = Path("/run/netns")

# Namespaces made here are named PREFIX<pid>x<random>-<role>; the pid
# lets a later run remove those a killed run left behind.
PREFIX = "ogt"
_NAME_RE = re.compile(r"^%s(\d+)x[0-9a-f]+-[a-z]+$" % PREFIX)

try:
    _libc = ctypes.CDLL(None, use_errno=True)
    _libc_setns = _libc.setns
except (OSError, AttributeError):
    _libc_setns = None

ROLES = ("cli", "gw", "srv", "dcy")

# role -> (interface, IPv4, IPv6) of its link to gw, seen from that role
ADDR = {
    "cli": ("eth0", "192.0.2.10", "2001:db8:1::10"),
    "srv": ("eth0", "198.51.100.80", "2001:db8:2::80"),
    "dcy": ("eth0", "203.0.113.66", "2001:db8:3::66"),
}
# gw's side of each link: role -> (interface, IPv4, IPv6)
GW_ADDR = {
    "cli": ("lan0", "192.0.2.1", "2001:db8:1::1"),
    "srv": ("wan0", "198.51.100.1", "2001:db8:2::1"),
    "dcy": ("dcy0", "203.0.113.1", "2001:db8:3::1"),
}
PREFIXLEN = {4: 24, 6: 64}


def _setns(fd):
    if _libc_setns(fd, CLONE_NEWNET) != 0:
        e = ctypes.get_errno()
        raise OSError(e, "setns: " + os.strerror(e))


def ip(*args, timeout=10, check=True):
    """Runs `ip ARGS` (iproute2)."""
    return run(["ip", *[str(a) for a in args]], timeout=timeout, check=check)


def unavailable():
    """Why these tests cannot run here, or None when they can: they need
    root, iproute2's `ip netns`, nftables' `nft` and setns(2)."""
    if os.geteuid() != 0:
        return ("needs root: creates network namespaces and loads "
                "nftables rules")
    for tool, package in (("ip", "iproute2"), ("nft", "nftables")):
        if shutil.which(tool) is None:
            return "%s not found (Debian package %s)" % (tool, package)
    if _libc_setns is None:
        return "setns(2) is not reachable through libc"
    name = "%s%dx%s-probe" % (PREFIX, os.getpid(), secrets.token_hex(3))
    p = ip("netns", "add", name, check=False)
    if p.returncode != 0:
        return "`ip netns add` failed: %s" % p.stderr.decode(
            errors="replace").strip()
    ip("netns", "del", name, check=False)
    return None


def _process_alive(pid):
    """True when <pid> is a running process (not a zombie, and not a
    thread of another process that got the number later)."""
    try:
        status = Path("/proc", str(pid), "status").read_text()
    except OSError:
        return False
    fields = dict(line.split(":", 1) for line in status.splitlines()
                  if ":" in line)
    return (fields.get("Tgid", "").strip() == str(pid) and
            not fields.get("State", "").strip().startswith("Z"))


def remove_stale():
    """Deletes namespaces of this module whose test process is gone (a
    run that was killed before its cleanup)."""
    p = ip("netns", "list", check=False)
    for line in p.stdout.decode(errors="replace").splitlines():
        name = line.split()[0] if line.split() else ""
        m = _NAME_RE.match(name)
        if m and not _process_alive(int(m.group(1))):
            _kill_inside(name)
            ip("netns", "del", name, check=False)


def _kill_inside(name):
    """SIGKILL to the processes in namespace <name> (one of ours: what
    the tests started there)."""
    p = ip("netns", "pids", name, check=False)
    for pid in p.stdout.decode(errors="replace").split():
        try:
            os.kill(int(pid), signal.SIGKILL)
        except (ProcessLookupError, ValueError):
            pass


class Topology:
    """The namespaces above. create() builds them; delete() removes them
    (and is safe to call more than once, or after a partial create)."""

    def __init__(self):
        tag = "%s%dx%s" % (PREFIX, os.getpid(), secrets.token_hex(3))
        self.names = {role: "%s-%s" % (tag, role) for role in ROLES}
        self.created = []

    @staticmethod
    def addr(role, family=4):
        """The address of cli, srv or dcy."""
        return ADDR[role][1 if family == 4 else 2]

    @staticmethod
    def gw_addr(toward, family=4):
        """gw's address on the link toward <toward>."""
        return GW_ADDR[toward][1 if family == 4 else 2]

    @staticmethod
    def gw_interface(toward):
        """gw's interface on the link toward <toward>."""
        return GW_ADDR[toward][0]

    def create(self):
        remove_stale()
        for role in ROLES:
            ip("netns", "add", self.names[role])
            self.created.append(self.names[role])
            with self.inside(role):
                # No duplicate address detection on this private network:
                # addresses are usable at once.
                for key in ("all", "default"):
                    Path("/proc/sys/net/ipv6/conf", key,
                         "accept_dad").write_text("0\n")
            ip("-n", self.names[role], "link", "set", "lo", "up")
        gw = self.names["gw"]
        for role in ("cli", "srv", "dcy"):
            ns = self.names[role]
            gif, g4, g6 = GW_ADDR[role]
            rif, r4, r6 = ADDR[role]
            # Made inside gw with its peer moved at once: names never
            # meet those of the host or of another run.
            ip("-n", gw, "link", "add", gif, "type", "veth", "peer", "name",
               rif, "netns", ns)
            for n, ifname, a4, a6 in ((gw, gif, g4, g6), (ns, rif, r4, r6)):
                ip("-n", n, "addr", "add", "%s/%d" % (a4, PREFIXLEN[4]),
                   "dev", ifname)
                ip("-n", n, "-6", "addr", "add", "%s/%d" % (a6, PREFIXLEN[6]),
                   "dev", ifname, "nodad")
                ip("-n", n, "link", "set", ifname, "up")
            ip("-n", ns, "route", "add", "default", "via", g4)
            ip("-n", ns, "-6", "route", "add", "default", "via", g6)
        with self.inside("gw"):
            for key in ("net/ipv4/ip_forward",
                        "net/ipv6/conf/all/forwarding"):
                Path("/proc/sys", key).write_text("1\n")
        self._wait_ipv6_ready()
        return self

    def _wait_ipv6_ready(self, timeout=5):
        """Waits until no IPv6 address is tentative (nodad makes that
        quick; the link-local ones still go through DAD)."""
        deadline = time.monotonic() + scaled(timeout)
        for role in ROLES:
            while True:
                p = ip("-n", self.names[role], "-6", "addr", "show",
                       "tentative", check=False)
                if not p.stdout.strip() or time.monotonic() > deadline:
                    break
                time.sleep(0.05)

    def delete(self):
        """Removes the namespaces. Processes still inside one (a test's
        own, whose cleanup did not run) are killed by pid first."""
        for name in self.created:
            _kill_inside(name)
            ip("netns", "del", name, check=False)
        self.created = []

    @contextlib.contextmanager
    def inside(self, role):
        """Runs the block with the calling (main) thread in <role>'s
        network namespace."""
        if threading.current_thread() is not threading.main_thread():
            raise AssertionError("inside() is for the main thread only")
        fd = os.open(NETNS_DIR / self.names[role], os.O_RDONLY | os.O_CLOEXEC)
        back = os.open("/proc/thread-self/ns/net", os.O_RDONLY | os.O_CLOEXEC)
        try:
            _setns(fd)
            try:
                yield
            finally:
                _setns(back)
        finally:
            os.close(fd)
            os.close(back)

    def run(self, role, cmd, **kw):
        """harness.run() of <cmd> inside <role>."""
        with self.inside(role):
            return run(cmd, **kw)

    def nft(self, role, text, check=True):
        """Loads nftables <text> (`nft -f`) inside <role>."""
        fd, path = tempfile.mkstemp(suffix=".nft")
        with os.fdopen(fd, "w") as f:
            f.write(text)
        try:
            return self.run(role, ["nft", "-f", path], timeout=10,
                            check=check)
        finally:
            os.unlink(path)

    def counter(self, role, table, name, family="inet"):
        """Packets counted by the named nftables counter."""
        p = self.run(role, ["nft", "-j", "list", "counter", family, table,
                            name], timeout=10)
        for item in json.loads(p.stdout)["nftables"]:
            if "counter" in item:
                return item["counter"]["packets"]
        raise AssertionError("no counter %s in %s" % (name, p.stdout[:500]))


# --------------------------------------------------------------------------
# nftables recipes with `define NAME = VALUE` lines

_DEFINE_RE = r"^(define\s+%s\s*=\s*)([^#\n]*?)(\s*(?:#.*)?)$"


def nft_defines(text):
    """The define statements of a recipe: {name: value text}."""
    return {m.group(1): m.group(2).strip() for m in re.finditer(
        r"^define\s+(\w+)\s*=\s*([^#\n]*)", text, re.M)}


def substitute_defines(text, values):
    """<text> with the value of each define named in <values> replaced.
    A name the recipe does not define is an error, so a renamed variable
    fails the test instead of being ignored."""
    for name, value in values.items():
        text, n = re.subn(_DEFINE_RE % re.escape(name),
                          lambda m: m.group(1) + str(value) + m.group(3),
                          text, count=1, flags=re.M)
        if n != 1:
            raise AssertionError("the recipe has no `define %s`" % name)
    return text


# --------------------------------------------------------------------------
# Servers on a fixed port inside a namespace

class PortResponder:
    """An `openssl ocsp` responder of <pki>'s CA 1 on <port> (all
    addresses, IPv4 and IPv6). Start it inside the namespace it should
    serve: readiness is read from that namespace's /proc/net."""

    def __init__(self, pki, port=80, multi=4, start_timeout=10):
        self.port = port
        cmd = ["openssl", "ocsp", "-index", str(pki.index), "-port",
               str(port), "-rsigner", str(pki.ocsp), "-rkey",
               str(pki.ocsp_key), "-CA", str(pki.ca), "-nmin", "5",
               "-ignore_err", "-multi", str(multi)]
        # With -multi it makes its own process group (setpgid), and
        # prints "ACCEPT [::]:PORT PID=N" on stdout before listen().
        self.proc = subprocess.Popen(
            cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
            stderr=subprocess.PIPE, env=clean_env(), cwd=str(pki.dir),
            preexec_fn=_die_with_parent)
        self.out = _LineReader(self.proc.stdout)
        self.err = _LineReader(self.proc.stderr)
        ok = self.out.wait_for(
            lambda lines: any(l.startswith("ACCEPT ") for l in lines),
            start_timeout)
        deadline = time.monotonic() + scaled(start_timeout)
        # Never probe it with a connection: an empty one stalls a child.
        while ok and not port_listening(port):
            if time.monotonic() > deadline or self.proc.poll() is not None:
                ok = False
                break
            time.sleep(0.01)
        if not ok:
            self.stop()
            raise AssertionError("openssl ocsp responder on port %d did not "
                                 "start: %s" % (port, self.err.text()))

    def alive(self):
        return self.proc.poll() is None

    def stop(self):
        stop_process(self.proc, grace=0.5)
        for p in (self.proc.stdout, self.proc.stderr):
            p.close()


class Decoy:
    """A web server on [::]:<port> (IPv4 too) that records every
    connection and answers each request with a valid OCSP response
    (tryLater), so that a request wrongly sent here is visible both in
    what it recorded and in what the client got."""

    def __init__(self, port=80):
        self.lock = threading.Lock()
        self.conns = []  # (peer address, bytearray)
        self.sock = socket.socket(socket.AF_INET6, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
        self.sock.bind(("::", port))
        self.sock.listen(16)
        self.sock.settimeout(0.05)
        self._stop = threading.Event()
        self._threads = []
        self._accept = threading.Thread(target=self._accept_loop,
                                        daemon=True)
        self._accept.start()

    def _accept_loop(self):
        while not self._stop.is_set():
            try:
                conn, peer = self.sock.accept()
            except socket.timeout:
                continue
            except OSError:
                return
            rec = bytearray()
            with self.lock:
                self.conns.append((peer[0], rec))
            t = threading.Thread(target=self._serve, args=(conn, rec),
                                 daemon=True)
            self._threads.append(t)
            t.start()

    def _serve(self, conn, rec):
        conn.settimeout(0.05)
        body = OCSP_RESPONSE_TRY_LATER
        try:
            while not self._stop.is_set():
                try:
                    chunk = conn.recv(65536)
                except socket.timeout:
                    continue
                if not chunk:
                    return
                with self.lock:
                    rec += chunk
                try:
                    got = parse_request(rec)
                except ValueError:
                    got = None
                if got is not None:
                    conn.sendall(
                        b"HTTP/1.1 200 OK\r\nContent-Type: "
                        b"application/ocsp-response\r\nContent-Length: %d"
                        b"\r\nConnection: close\r\n\r\n" % len(body) + body)
                    return
        except OSError:
            pass
        finally:
            conn.close()

    def connections(self):
        """[(peer ip, bytes received)] for every connection so far."""
        with self.lock:
            return [(peer, bytes(rec)) for peer, rec in self.conns]

    def stop(self):
        self._stop.set()
        try:
            self.sock.close()
        except OSError:
            pass
        self._accept.join(2)
        for t in self._threads:
            t.join(2)
