"""Faults on either side of ocspgate: upstreams that refuse, reset, stall
or answer garbage, resolvers that fail, clients that give up mid-request
or mid-response, an event log that cannot be written, and clients that
vanish while a large answer is being written.

For each fault: the client's answer, exactly one event with the right
reason (none where the contract says so), the process still alive, no
descriptor left behind once the connections are closed, and no
connection held open past its timeout.

The helpers at the top (process figures, a scripted upstream, a base
class whose cleanup accepts events from any loopback source and the
connection_limit reason) are shared with test_limits and test_soak.
"""

import base64
import hashlib
import json
import os
import re
import socket
import struct
import threading
import time
import unittest

from ocspgate_harness import (
    Client, FakeDNS, ProxyTestCase, assert_event_shape, assert_refusal,
    binary, free_port, get, http_request, ocsp_post, ocsp_request_der,
    parse_request, parse_response, scaled, upstream_seq)


# --------------------------------------------------------------------------
# Process figures

def fd_count(pid):
    """Open descriptors of process <pid>."""
    return len(os.listdir("/proc/%d/fd" % pid))


def proc_status_kib(pid, field):
    """A size field of /proc/PID/status (VmRSS, VmData...), in KiB."""
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    raise AssertionError("no %s for pid %d" % (field, pid))


def rss_kib(pid):
    """Resident set size of process <pid>, in KiB."""
    return proc_status_kib(pid, "VmRSS")


def data_kib(pid):
    """Size of the data segment and anonymous mappings (the heap as the
    allocator holds it, touched or not), in KiB: memory freed and reused
    keeps it flat, memory lost makes it grow."""
    return proc_status_kib(pid, "VmData")


def wait_fd_count(pid, pred, timeout):
    """Polls the descriptor count until pred(count); returns the last
    count seen (check pred on it: the wait may have timed out)."""
    deadline = time.monotonic() + scaled(timeout)
    n = fd_count(pid)
    while not pred(n) and time.monotonic() < deadline:
        time.sleep(0.02)
        n = fd_count(pid)
    return n


def settled_fd_count(pid, timeout=5, quiet=0.3):
    """The descriptor count once it has not changed for <quiet> s."""
    deadline = time.monotonic() + scaled(timeout)
    last = fd_count(pid)
    since = time.monotonic()
    while time.monotonic() < deadline:
        time.sleep(0.05)
        n = fd_count(pid)
        if n != last:
            last, since = n, time.monotonic()
        elif time.monotonic() - since >= quiet:
            break
    return last


_SANITIZED = None


def sanitized():
    """True when the binary under test is built with AddressSanitizer:
    its allocator keeps freed memory in quarantine, so memory figures
    say nothing about ocspgate's own use (they are printed, not
    checked)."""
    global _SANITIZED
    if _SANITIZED is None:
        with open(binary(), "rb") as f:
            _SANITIZED = b"__asan_init" in f.read()
    return _SANITIZED


def pattern_block(i, size=4096):
    """Block i of a body whose every 4 KiB block names its index, so a
    lost, repeated or reordered block changes the digest."""
    return struct.pack(">Q", i) * (size // 8)


def pattern_digest(n):
    h = hashlib.sha256()
    for i in range(n // 4096):
        h.update(pattern_block(i))
    return h.hexdigest()


IP_BIND_ADDRESS_NO_PORT = getattr(socket, "IP_BIND_ADDRESS_NO_PORT", 24)


def source_socket(ip, port, timeout=5, rcvbuf=None):
    """A blocking TCP socket to 127.0.0.1:<port> from address <ip>."""
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        if rcvbuf:
            s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
        # The port is chosen at connect(), as for an unbound socket:
        # bind() would pick it alone, slowly once many are in TIME_WAIT.
        s.setsockopt(socket.IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, 1)
        s.bind((ip, 0))
        s.settimeout(scaled(timeout))
        s.connect(("127.0.0.1", port))
    except OSError:
        s.close()
        raise
    return s


def rst_close(sock):
    """Closes with an RST (SO_LINGER 0) rather than a FIN."""
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                        struct.pack("ii", 1, 0))
    except OSError:
        pass
    sock.close()


# --------------------------------------------------------------------------
# A scripted upstream

class UpstreamConn:
    """What the scripted upstream saw on one connection."""

    def __init__(self, sock):
        self.sock = sock
        self.request = None
        self.request_at = None
        self.sent = 0
        self.peer_closed_at = None  # when ocspgate closed its side
        self.done = threading.Event()


class ScriptedUpstream:
    """A TCP server on 127.0.0.1:0. On each connection it reads one
    complete request, then plays <script>: a list of steps,

      ("send", bytes)          write these bytes
      ("sleep", seconds)       pause
      ("stall",)               stop; wait for ocspgate to close
      ("reset",)               close with an RST
      ("close",)               close with a FIN
      ("body", nbytes)         stream a pattern body of nbytes (blocking
                               sends, so TCP flow control holds it)

    and after the last step waits (bounded) until ocspgate closes its
    side, recording when. sndbuf, when set, is the server socket's send
    buffer (set before listen, inherited by accepted sockets)."""

    def __init__(self, script, sndbuf=None, max_wait=60):
        self.script = list(script)
        self.max_wait = max_wait
        self.lock = threading.Lock()
        self.conns = []
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        if sndbuf:
            self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, sndbuf)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(64)
        self.sock.settimeout(0.05)
        self.port = self.sock.getsockname()[1]
        self._stop = threading.Event()
        self._threads = []
        self._accept = threading.Thread(target=self._accept_loop,
                                        daemon=True)
        self._accept.start()

    def _accept_loop(self):
        while not self._stop.is_set():
            try:
                conn, _ = self.sock.accept()
            except socket.timeout:
                continue
            except OSError:
                return
            rec = UpstreamConn(conn)
            with self.lock:
                self.conns.append(rec)
            t = threading.Thread(target=self._serve, args=(rec,),
                                 daemon=True)
            self._threads.append(t)
            t.start()

    def _read_request(self, rec):
        conn = rec.sock
        buf = bytearray()
        deadline = time.monotonic() + scaled(10)
        while not self._stop.is_set() and time.monotonic() < deadline:
            try:
                got = parse_request(buf)
            except ValueError:
                return False
            if got is not None:
                rec.request = got[0]
                rec.request_at = time.monotonic()
                return True
            try:
                chunk = conn.recv(65536)
            except socket.timeout:
                continue
            if not chunk:
                rec.peer_closed_at = time.monotonic()
                return False
            buf += chunk
        return False

    def _send(self, rec, data):
        view = memoryview(data)
        while view and not self._stop.is_set():
            try:
                n = rec.sock.send(view)
            except socket.timeout:
                continue
            view = view[n:]
            rec.sent += n
        return not view

    def _wait_peer_close(self, rec):
        deadline = time.monotonic() + scaled(self.max_wait)
        while not self._stop.is_set() and time.monotonic() < deadline:
            try:
                chunk = rec.sock.recv(65536)
            except socket.timeout:
                continue
            if not chunk:
                break
        else:
            return
        rec.peer_closed_at = time.monotonic()

    def _serve(self, rec):
        conn = rec.sock
        conn.settimeout(0.05)
        try:
            if not self._read_request(rec):
                return
            for step in self.script:
                op = step[0]
                if op == "send":
                    if not self._send(rec, step[1]):
                        return
                elif op == "sleep":
                    self._stop.wait(step[1])
                elif op == "stall":
                    break
                elif op == "reset":
                    rst_close(conn)
                    return
                elif op == "close":
                    conn.close()
                    return
                elif op == "body":
                    for i in range(step[1] // 4096):
                        if not self._send(rec, pattern_block(i)):
                            return
            self._wait_peer_close(rec)
        except OSError:
            rec.peer_closed_at = time.monotonic()
        finally:
            rec.done.set()
            try:
                conn.close()
            except OSError:
                pass

    def connections(self):
        with self.lock:
            return list(self.conns)

    def wait_connections(self, n, timeout=5):
        deadline = time.monotonic() + scaled(timeout)
        while time.monotonic() < deadline:
            if len(self.connections()) >= n:
                break
            time.sleep(0.02)
        return self.connections()

    def stop(self):
        self._stop.set()
        try:
            self.sock.close()
        except OSError:
            pass
        self._accept.join(2)
        for rec in self.connections():
            try:
                rec.sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
        for t in self._threads:
            t.join(2)


def head(status=200, length=None, extra=(), chunked=False):
    """An upstream response head."""
    lines = [b"HTTP/1.1 %d OK" % status,
             b"Content-Type: application/ocsp-response"]
    if chunked:
        lines.append(b"Transfer-Encoding: chunked")
    elif length is not None:
        lines.append(b"Content-Length: %d" % length)
    lines += list(extra)
    return b"\r\n".join(lines) + b"\r\n\r\n"


# --------------------------------------------------------------------------
# Event checks for events from any loopback source, or connection_limit

def check_event(tc, ev):
    """The contract's event shape; a connection closed for
    connection_limit has no HTTP answer and says which limit."""
    assert_event_shape(tc, ev)
    if get(ev, "event.reason") != "connection_limit":
        return
    dump = json.dumps(ev)[:2000]
    tc.assertEqual(get(ev, "event.action"), "block", dump)
    tc.assertIs(get(ev, "ocspgate.enforced"), True, dump)
    tc.assertIn("max_connections_per_source", get(ev, "ocspgate.detail"),
                dump)
    tc.assertNotIn("http", ev, "no HTTP answer on a refused connection: "
                   + dump)


class GateTestCase(ProxyTestCase):
    """ProxyTestCase whose cleanup checks events with check_event, and
    with helpers for descriptor counts."""

    RESPONDERS = 0

    def check_event(self, ev):
        check_event(self, ev)

    def scripted(self, script, **kw):
        u = ScriptedUpstream(script, **kw)
        self.addCleanup(u.stop)
        return u

    def assert_alive(self, proxy):
        self.assertIsNone(proxy.proc.poll(), "ocspgate died; stderr:\n"
                          + proxy.err.text()[-4000:])

    def assert_fds_back(self, proxy, base, timeout=5):
        """The descriptor count returns to <base> within <timeout>."""
        n = wait_fd_count(proxy.proc.pid, lambda n: n <= base, timeout)
        self.assertLessEqual(n, base, "descriptors: %d before, %d after "
                             "the connections closed" % (base, n))

    def check_events(self, proxy, n, **fields):
        """Exactly n events so far; the last one has <fields>."""
        evs = proxy.wait_events(n)
        for ev in evs:
            check_event(self, ev)
        self.assert_no_more_events(proxy, n)
        ev = evs[n - 1]
        for k, v in fields.items():
            self.assertEqual(get(ev, k.replace("__", ".")), v,
                             "%s in %s" % (k, json.dumps(ev)[:2000]))
        return ev


# --------------------------------------------------------------------------

class FaultTests(GateTestCase):
    """Each fault runs twice: the first round warms up what ocspgate
    opens lazily (the resolver's socket, say); the descriptor count
    after the second must equal the one before it.

    Faults in the middle of a relayed answer need an answer that is
    relayed as it comes: in enforce mode the answer to an allowed request
    is held until it has been inspected, so those run in monitor mode,
    with answers larger than max_response_body (relayed as they are, the
    failure logged) or to requests monitor mode forwards despite a
    block."""

    ROUNDS = 2

    def setUp(self):
        super().setUp()
        self.der = ocsp_request_der([self.pki.cert_id("good")])

    def rounds(self, proxy, exchange, n_events=1, **fields):
        """Runs exchange(i) ROUNDS times; after each, n_events more
        events (the last with <fields>). Returns the events."""
        base = None
        total = 0
        for i in range(self.ROUNDS):
            if i == 1:
                base = settled_fd_count(proxy.proc.pid)
            exchange(i)
            total += n_events
            if n_events:
                self.check_events(proxy, total, **fields)
            else:
                self.assert_no_more_events(proxy, total)
            self.assert_alive(proxy)
        self.assert_fds_back(proxy, base)
        return proxy.events()

    def assert_body_bytes(self, evs, received, at_least=False):
        """http.response.body.bytes is the body sent to the client, also
        when the answer was cut short: at least what the client read."""
        self.assertEqual(len(evs), len(received))
        for ev, n in zip(evs, received):
            sent = get(ev, "http.response.body.bytes")
            msg = ("http.response.body.bytes is %r, the client received %d "
                   "body bytes: %s" % (sent, n, json.dumps(ev)[:1500]))
            if at_least:
                self.assertGreaterEqual(sent or 0, n, msg)
            else:
                self.assertEqual(sent, n, msg)

    def post(self, proxy, url, timeout=10):
        c = Client(proxy.port, timeout=timeout)
        self.addCleanup(c.close)
        c.send(ocsp_post(url, self.der))
        return c

    def proxy_for(self, port, host="ocsp.ca.test", **kw):
        spec = "%s:%d" % (host, port)
        return self.start_proxy(responders=[spec], **kw), \
            "http://%s/" % spec

    def get_forwarded(self, proxy, url, rcvbuf=None):
        """A GET that monitor mode forwards although it is blocked
        (not_ocsp), on a socket with a small receive buffer if asked."""
        s = source_socket("127.0.0.1", proxy.port, timeout=10,
                          rcvbuf=rcvbuf)
        self.addCleanup(s.close)
        s.sendall(http_request("GET", url + "big"))
        return s

    # An answer over max_response_body (65536 by default), so that it is
    # relayed as it comes even where answers are inspected.
    BIG = 100000

    # -- upstream ----------------------------------------------------------

    def test_upstream_refuses(self):
        proxy, url = self.proxy_for(free_port())

        def exchange(i):
            with self.post(proxy, url) as c:
                assert_refusal(self, c.read_response(), 502,
                               "upstream_unreachable")
        self.rounds(proxy, exchange, event__action="allow",
                    event__reason="upstream_unreachable",
                    http__response__status_code=502)

    def test_upstream_resets_mid_response(self):
        up = self.scripted([("send", head(length=self.BIG) + b"x" * 5000),
                            ("sleep", 0.2), ("reset",)])
        proxy, url = self.proxy_for(up.port, mode="monitor")

        got = []

        def exchange(i):
            with self.post(proxy, url) as c:
                r = c.read_response(head_only=True)
                self.assertEqual(r.status, 200)
                self.assertTrue(c.wait_closed(5), "client left open after "
                                "the upstream reset")
                self.assertLessEqual(len(c.buf), 5000,
                                     "more than the upstream sent")
                got.append(len(c.buf))
        evs = self.rounds(proxy, exchange, event__action="allow",
                          event__reason="response_malformed",
                          http__response__status_code=200)
        self.assert_body_bytes(evs, got)

    def test_upstream_stalls_before_answering(self):
        up = self.scripted([("stall",)])
        proxy, url = self.proxy_for(up.port, upstream_timeout=1)

        def exchange(i):
            with self.post(proxy, url) as c:
                t0 = time.monotonic()
                assert_refusal(self, c.read_response(timeout=10), 504,
                               "upstream_timeout")
                elapsed = time.monotonic() - t0
                self.assertGreaterEqual(elapsed, 0.9)
                self.assertLess(elapsed, scaled(3))
            rec = up.wait_connections(i + 1)[i]
            self.assertTrue(rec.done.wait(scaled(3)),
                            "ocspgate kept the stalled upstream open")
            self.assertIsNotNone(rec.peer_closed_at)
            self.assertLess(rec.peer_closed_at - rec.request_at, scaled(3))
        self.rounds(proxy, exchange, event__action="allow",
                    event__reason="upstream_timeout",
                    http__response__status_code=504)

    def test_upstream_stalls_mid_body(self):
        up = self.scripted([("send", head(length=self.BIG) + b"y" * 3000),
                            ("stall",)])
        proxy, url = self.proxy_for(up.port, upstream_timeout=1,
                                    mode="monitor")

        got = []

        def exchange(i):
            with self.post(proxy, url) as c:
                r = c.read_response(head_only=True)
                self.assertEqual(r.status, 200)
                t0 = time.monotonic()
                self.assertTrue(c.wait_closed(5), "client left open after "
                                "the upstream stalled")
                elapsed = time.monotonic() - t0
                self.assertLess(elapsed, scaled(3.5))
                self.assertEqual(bytes(c.buf), b"y" * len(c.buf))
                self.assertLess(len(c.buf), self.BIG)
                got.append(len(c.buf))
            rec = up.wait_connections(i + 1)[i]
            self.assertTrue(rec.done.wait(scaled(3)),
                            "ocspgate kept the stalled upstream open")
        evs = self.rounds(proxy, exchange, event__action="allow",
                          event__reason="upstream_timeout",
                          http__response__status_code=200)
        self.assert_body_bytes(evs, got)

    def test_upstream_answers_garbage(self):
        up = self.scripted([("send", b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc"
                             b"\x03\x03not http\r\n\r\n"), ("close",)])
        proxy, url = self.proxy_for(up.port)

        def exchange(i):
            with self.post(proxy, url) as c:
                assert_refusal(self, c.read_response(), 502,
                               "response_malformed")
        self.rounds(proxy, exchange, event__action="allow",
                    event__reason="response_malformed",
                    http__response__status_code=502)

    def test_upstream_closes_mid_response(self):
        up = self.scripted([("send", head(length=self.BIG) + b"z" * 4000),
                            ("sleep", 0.2), ("close",)])
        proxy, url = self.proxy_for(up.port, mode="monitor")
        got = []

        def exchange(i):
            with self.post(proxy, url) as c:
                r = c.read_response(head_only=True)
                self.assertEqual(r.status, 200)
                self.assertTrue(c.wait_closed(5), "client left open after "
                                "the upstream closed")
                self.assertEqual(bytes(c.buf), b"z" * 4000)
                got.append(len(c.buf))
        evs = self.rounds(proxy, exchange, event__action="allow",
                          event__reason="response_malformed",
                          http__response__status_code=200)
        self.assert_body_bytes(evs, got)

    def test_upstream_bad_chunk_after_relaying(self):
        """Part of a chunked answer was relayed, then a chunk size is not
        hex: the client can only see a close."""
        first = b"c" * self.BIG
        up = self.scripted([("send", head(chunked=True) + b"%x\r\n%s\r\n"
                             % (len(first), first) + b"zz\r\n"), ("stall",)])
        proxy, url = self.proxy_for(up.port, mode="monitor")
        got = []

        def exchange(i):
            with self.post(proxy, url) as c:
                r = c.read_response(head_only=True)
                self.assertEqual(r.status, 200)
                self.assertTrue(c.wait_closed(5), "client left open")
                self.assertNotIn(b"zz", bytes(c.buf))
                got.append(len(c.buf))
        evs = self.rounds(proxy, exchange, event__action="allow",
                          event__reason="response_malformed",
                          http__response__status_code=200)
        for ev, n in zip(evs, got):
            sent = get(ev, "http.response.body.bytes")
            self.assertIsInstance(sent, int, json.dumps(ev))
            self.assertLessEqual(sent, len(first), json.dumps(ev))
            self.assertGreater(sent, 0, "http.response.body.bytes is 0, "
                               "the client received %d bytes: %s"
                               % (n, json.dumps(ev)[:1500]))

    # -- the same faults where the answer is held for inspection ---------

    def held_fault(self, script, status, reason, **kw):
        """Enforce mode, an allowed request: its answer is held until
        inspected, so a fault mid-answer still gets ocspgate's own reply
        and not a byte of the upstream's."""
        up = self.scripted(script)
        proxy, url = self.proxy_for(up.port, **kw)

        def exchange(i):
            with self.post(proxy, url) as c:
                r = c.read_response(timeout=10)
                assert_refusal(self, r, status, reason)
                self.assertIsNone(r.header("x-from-upstream"))
            rec = up.wait_connections(i + 1)[i]
            self.assertTrue(rec.done.wait(scaled(3)),
                            "upstream connection left open")
        self.rounds(proxy, exchange, event__action="allow",
                    event__reason=reason, http__response__status_code=status)

    def test_held_answer_upstream_resets(self):
        self.held_fault([("send", head(length=1000, extra=[
            b"X-From-Upstream: 1"]) + b"\x30" * 500), ("sleep", 0.2),
            ("reset",)], 502, "response_malformed")

    def test_held_answer_upstream_closes(self):
        self.held_fault([("send", head(length=1000, extra=[
            b"X-From-Upstream: 1"]) + b"\x30" * 500), ("sleep", 0.2),
            ("close",)], 502, "response_malformed")

    def test_held_answer_upstream_stalls(self):
        self.held_fault([("send", head(length=1000, extra=[
            b"X-From-Upstream: 1"]) + b"\x30" * 500), ("stall",)],
            504, "upstream_timeout", upstream_timeout=1)

    def test_held_answer_too_large(self):
        self.held_fault([("send", head(length=self.BIG, extra=[
            b"X-From-Upstream: 1"])), ("body", self.BIG)], 502,
            "response_malformed")

    # -- name resolution ---------------------------------------------------

    def dns_fault(self, mode, status, reason, **kw):
        dns = FakeDNS(mode)
        self.addCleanup(dns.stop)
        name = "%s.fault.test" % mode
        proxy, url = self.proxy_for(free_port(), host=name,
                                    resolvers=[dns.address], **kw)

        def exchange(i):
            with self.post(proxy, url, timeout=15) as c:
                t0 = time.monotonic()
                assert_refusal(self, c.read_response(timeout=15), status,
                               reason)
                self.assertLess(time.monotonic() - t0, scaled(8))
        self.rounds(proxy, exchange, event__action="allow",
                    event__reason=reason, http__response__status_code=status,
                    destination__domain=name)
        self.assertIn(name, dns.names())

    def test_dns_nxdomain(self):
        self.dns_fault("nxdomain", 502, "upstream_unreachable")

    def test_dns_servfail(self):
        self.dns_fault("servfail", 502, "upstream_unreachable")

    def test_dns_no_answer(self):
        self.dns_fault("drop", 504, "upstream_timeout", upstream_timeout=1)

    # -- the client goes away ----------------------------------------------

    def client_gives_up(self, data, n_events, rst=False):
        proxy = self.start_proxy(responders=["ocsp.ca.test"],
                                 client_timeout=5)

        def exchange(i):
            c = Client(proxy.port)
            c.send(data)
            time.sleep(0.1)
            if rst:
                rst_close(c.sock)
            else:
                c.close()
        kw = {}
        if n_events:
            kw = dict(event__action="block", event__reason="http_malformed")
        evs = self.rounds(proxy, exchange, n_events, **kw)
        for ev in evs:
            self.assertIsNone(get(ev, "http.response.status_code"),
                              "no answer was sent: " + json.dumps(ev))
        # still serving
        with Client(proxy.port) as c:
            c.send(http_request("GET", "http://other.test/"))
            assert_refusal(self, c.read_response(), 403,
                           "unknown_responder")

    def test_client_closes_within_request_line(self):
        self.client_gives_up(b"POST http://ocsp.ca.test/ HT", 0)

    def test_client_connects_and_closes(self):
        self.client_gives_up(b"", 0)

    def test_client_closes_within_headers(self):
        self.client_gives_up(b"POST http://ocsp.ca.test/ HTTP/1.1\r\n"
                             b"Host: ocsp.ca.test\r\nContent-Ty", 1)

    def test_client_resets_within_headers(self):
        self.client_gives_up(b"POST http://ocsp.ca.test/ HTTP/1.1\r\n"
                             b"Host: ocsp.ca.test\r\n", 1, rst=True)

    def test_client_closes_within_body(self):
        self.client_gives_up(b"POST http://ocsp.ca.test/ HTTP/1.1\r\n"
                             b"Host: ocsp.ca.test\r\nContent-Type: "
                             b"application/ocsp-request\r\nContent-Length:"
                             b" 100\r\n\r\n0123456789", 1)

    def abandoned_requests_after_long_paths(self, workers):
        """Refused requests with long paths, then connections that send
        one byte and close: a request block taken from the pool must not
        carry an earlier request's answer state into the close (once a
        remote crash)."""
        proxy = self.start_proxy(workers=workers)
        path = base64.b64encode(os.urandom(8300)).decode()[:11000]
        for _ in range(2 * workers):
            with Client(proxy.port) as c:
                c.send(http_request("GET", "http://other.test/" + path))
                assert_refusal(self, c.read_response(), 403,
                               "unknown_responder")
        for _ in range(10):
            socks = [source_socket("127.0.0.1", proxy.port, timeout=5)
                     for _ in range(4)]
            for s in socks:
                s.sendall(b"G")
            for s in socks:
                s.close()
        with Client(proxy.port) as c:
            c.send(http_request("GET", "http://other.test/"))
            assert_refusal(self, c.read_response(), 403,
                           "unknown_responder")
        self.assert_alive(proxy)
        # Each refusal has its event; a connection that never sent a
        # request line has none (as for a client that closes within it).
        self.check_events(proxy, 2 * workers + 1,
                          event__reason="unknown_responder")

    def test_abandoned_requests_after_long_paths_one_worker(self):
        self.abandoned_requests_after_long_paths(1)

    def test_abandoned_requests_after_long_paths_two_workers(self):
        self.abandoned_requests_after_long_paths(2)

    def test_client_closes_mid_response(self):
        """8 MiB on the way; the client reads 64 KiB and resets. One event
        (what was known: the relayed status), the upstream connection
        closed, nothing left behind."""
        size = 8 << 20
        up = self.scripted([("send", head(length=size)), ("body", size)])
        proxy, url = self.proxy_for(up.port, mode="monitor")
        got = []

        def exchange(i):
            s = self.get_forwarded(proxy, url)
            buf = bytearray()
            deadline = time.monotonic() + scaled(5)
            while len(buf) < 65536 and time.monotonic() < deadline:
                chunk = s.recv(65536)
                if not chunk:
                    break
                buf += chunk
            self.assertTrue(buf.startswith(b"HTTP/1.1 200 "), bytes(buf[:80]))
            got.append(len(buf) - buf.index(b"\r\n\r\n") - 4)
            rst_close(s)
            rec = up.wait_connections(i + 1)[i]
            self.assertTrue(rec.done.wait(scaled(5)),
                            "upstream connection left open")
            self.assertLess(rec.sent, size)
        evs = self.rounds(proxy, exchange, event__action="block",
                          event__reason="not_ocsp", ocspgate__enforced=False,
                          http__response__status_code=200)
        self.assert_body_bytes(evs, got, at_least=True)

    def test_client_half_closes_mid_response(self):
        """A client that shuts its sending side once the answer has
        started still gets all of it (ocspgate dropped the rest of a
        relayed answer, queued bytes included, and logged 'client closed
        before the answer was sent')."""
        up = self.scripted([
            ("send", b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n"
                     b"\r\nfirst part, "),
            ("sleep", 1.0), ("send", b"second part"), ("close",)])
        proxy, url = self.proxy_for(up.port, mode="monitor")

        def exchange(i):
            s = self.get_forwarded(proxy, url)
            buf = bytearray()
            deadline = time.monotonic() + scaled(5)
            while b"first part, " not in buf and \
                    time.monotonic() < deadline:
                chunk = s.recv(65536)
                if not chunk:
                    break
                buf += chunk
            self.assertIn(b"first part, ", bytes(buf))
            s.shutdown(socket.SHUT_WR)
            while time.monotonic() < deadline + scaled(5):
                chunk = s.recv(65536)
                if not chunk:
                    break
                buf += chunk
            # The relayed body in ocspgate's own framing: all of it.
            got = parse_response(bytes(buf), at_eof=True)
            self.assertIsNotNone(got, bytes(buf))
            self.assertEqual(got[0].body, b"first part, second part",
                             bytes(buf))
        evs = self.rounds(proxy, exchange, event__action="block",
                          event__reason="not_ocsp", ocspgate__enforced=False,
                          http__response__status_code=200)
        for ev in evs:
            self.assertNotEqual(get(ev, "ocspgate.detail"),
                                "client closed before the answer was sent")
            self.assertEqual(get(ev, "http.response.body.bytes"), 23)

    def test_client_closes_while_upstream_thinks(self):
        up = self.scripted([("stall",)])
        proxy, url = self.proxy_for(up.port, upstream_timeout=1)

        def exchange(i):
            c = self.post(proxy, url)
            up.wait_connections(i + 1)
            time.sleep(0.1)
            c.close()
            rec = up.wait_connections(i + 1)[i]
            self.assertTrue(rec.done.wait(scaled(4)),
                            "upstream connection left open")
        evs = self.rounds(proxy, exchange, event__action="allow")
        for ev in evs:
            self.assertIn(get(ev, "event.reason"),
                          ("ocsp_request", "upstream_timeout"),
                          json.dumps(ev))

    # -- nowhere to write events ---------------------------------------------

    def test_event_log_on_dev_full(self):
        rec = self.upstream()
        spec = "ocsp.ca.test:%d" % rec.port
        proxy = self.start_proxy(responders=[spec], event_log="/dev/full")
        proxy.event_log = None  # never read /dev/full back
        base = None
        for i in range(40):
            if i == 5:
                base = settled_fd_count(proxy.proc.pid)
            with Client(proxy.port) as c:
                if i % 2:
                    c.send(ocsp_post("http://%s/" % spec, self.der))
                    self.assertEqual(c.read_response().status, 200)
                else:
                    c.send(http_request("GET", "http://other.test/"))
                    assert_refusal(self, c.read_response(), 403,
                                   "unknown_responder")
            self.assert_alive(proxy)
        warned = proxy.err.wait_for(
            lambda lines: any(re.search(r"event log.*drop", l, re.I)
                              for l in lines), 5)
        self.assertTrue(warned, "no warning about dropped events; stderr:\n"
                        + proxy.err.text()[-2000:])
        n_warn = len([l for l in proxy.err.lines if "event log" in l])
        self.assertLess(n_warn, 10, "one warning per event is a flood:\n"
                        + proxy.err.text()[-2000:])
        self.assert_fds_back(proxy, base)
        self.assertEqual(len(rec.wait_requests(20)), 20)

    # -- SIGPIPE -----------------------------------------------------------

    def test_client_vanishes_while_large_answer_is_written(self):
        size = 16 << 20
        up = self.scripted([("send", head(length=size)), ("body", size)])
        proxy, url = self.proxy_for(up.port, mode="monitor")
        base = None
        for i in range(6):
            if i == 1:
                base = settled_fd_count(proxy.proc.pid)
            s = self.get_forwarded(proxy, url, rcvbuf=16384)
            got = 0
            while got < 200000:
                chunk = s.recv(65536)
                if not chunk:
                    break
                got += len(chunk)
            if i % 2:
                rst_close(s)
            else:
                s.close()
            self.assertTrue(up.wait_connections(i + 1)[i].done.wait(
                scaled(5)), "upstream connection left open")
            self.assert_alive(proxy)
        # ocspgate's own answers (502: monitor mode forwards the request
        # to a port nobody listens on), pipelined, to a client that is
        # gone
        nobody = http_request("GET", "http://other.test:%d/" % free_port())
        for i in range(5):
            s = source_socket("127.0.0.1", proxy.port, rcvbuf=4096)
            s.sendall(nobody * 300)
            rst_close(s)
        time.sleep(0.5)
        self.assert_alive(proxy)
        with Client(proxy.port) as c:
            c.send(nobody)
            assert_refusal(self, c.read_response(), 502,
                           "upstream_unreachable")
        self.assert_fds_back(proxy, base)
        for ev in proxy.events():
            check_event(self, ev)



class HalfCloseTests(GateTestCase):
    """A client that sends its requests pipelined and then shuts its
    sending side (SHUT_WR) still gets every complete request answered, in
    order, and each logged: the close says no more requests come, not
    that the ones sent are void. Once dropped unanswered and unlogged
    when the EOF was read while an answer was queued (3 to 38 answers of
    60, depending on timing)."""

    N = 60

    def pipelined(self, tail=b""):
        """N pipelined POSTs (every third to an unlisted host, answered
        403; the others to a recording upstream) and <tail>, then SHUT_WR.
        Returns the answers, the proxy, the upstream, and how many events
        the proxy's log held before (a test's proxies share one)."""
        rec = self.seq_upstream()
        proxy = self.start_proxy(responders=["ocsp.ca.test:%d" % rec.port])
        base = len(proxy.events())
        url = "http://ocsp.ca.test:%d/" % rec.port
        data = b""
        for i in range(self.N):
            der = ocsp_request_der([self.pki.cert_id("good")],
                                   nonce=bytes([i + 1]) * 8)
            data += ocsp_post("http://evil.test/" if i % 3 == 0 else url,
                              der)
        with Client(proxy.port) as c:
            c.send(data + tail)
            c.sock.shutdown(socket.SHUT_WR)
            rs = [c.read_response(timeout=10) for _ in range(self.N)]
            # then the FIN, and nothing else
            c.sock.settimeout(scaled(10))
            rest = b""
            while True:
                chunk = c.sock.recv(65536)
                if not chunk:
                    break
                rest += chunk
            self.assertEqual(rest, b"")
        return rs, proxy, rec, base

    def check_served(self, rs, evs, rec):
        want = [403 if i % 3 == 0 else 200 for i in range(self.N)]
        self.assertEqual([r.status for r in rs], want)
        # the forwarded ones went upstream one after the other, in order
        self.assertEqual([upstream_seq(r, rec) for r in rs
                          if r.status == 200],
                         [str(i + 1) for i in range(want.count(200))])
        self.assertEqual(len(rec.requests), want.count(200))
        self.assertEqual(
            [get(e, "event.reason") for e in evs[:self.N]],
            ["unknown_responder" if i % 3 == 0 else "ocsp_request"
             for i in range(self.N)])
        self.assertEqual([get(e, "http.response.status_code")
                          for e in evs[:self.N]], want)

    def test_pipelined_requests_then_half_close(self):
        # Where the EOF is read among the answers depends on timing: a
        # few rounds, each on a fresh proxy.
        for _ in range(3):
            rs, proxy, rec, base = self.pipelined()
            evs = proxy.wait_events(base + self.N)[base:]
            self.check_served(rs, evs, rec)
            self.assert_no_more_events(proxy, base + self.N)

    def test_pipelined_requests_then_partial_then_half_close(self):
        """A request cut short behind them is logged as such, unanswered,
        after the others were served."""
        partial = (b"POST http://evil.test/ HTTP/1.1\r\nHost: evil.test\r\n"
                   b"Content-Length: 100\r\n\r\n0123")
        rs, proxy, rec, _ = self.pipelined(partial)
        evs = proxy.wait_events(self.N + 1)
        self.check_served(rs, evs, rec)
        last = evs[self.N]
        self.assertEqual(get(last, "event.reason"), "http_malformed")
        self.assertEqual(get(last, "ocspgate.detail"),
                         "client closed mid-request")
        self.assertIsNone(get(last, "http.response.status_code"))
        self.assert_no_more_events(proxy, self.N + 1)


if __name__ == "__main__":
    unittest.main()


class IdleUpstreamTests(GateTestCase):
    """After a burst, once its clients are gone, the idle upstream
    connections it left (up to upstream_idle_max) are closed down to a
    few: each pinned a page of the heap among the burst's freed memory,
    and the RSS did not come back (12.5 MB 1 s after the close of 5,000
    connections, against 9.1 MB idle)."""

    N = 48  # concurrent requests, each with its own upstream connection
    SPARE = 16  # idle upstream connections kept beyond the clients

    def test_idle_upstreams_trimmed_after_the_clients_left(self):
        rec = self.seq_upstream(mode="delay", delay=scaled(0.3))
        proxy = self.start_proxy(
            responders=["ocsp.ca.test:%d" % rec.port],
            upstream_idle_max=256, upstream_idle_timeout=300,
            max_connections_per_source=0)
        base = settled_fd_count(proxy.proc.pid)
        url = "http://ocsp.ca.test:%d/" % rec.port
        der = ocsp_request_der([self.pki.cert_id("good")])
        clients = [Client(proxy.port) for _ in range(self.N)]
        try:
            for c in clients:
                c.send(ocsp_post(url, der))
            for c in clients:
                self.assertEqual(c.read_response(timeout=10).status, 200)
            # N clients and N upstream connections, all open
            self.assertGreaterEqual(fd_count(proxy.proc.pid),
                                    base + 2 * self.N - 2)
        finally:
            for c in clients:
                c.close()
        # Within a second or two of the last close, not after the
        # idle timeout (300 s): at most SPARE idle upstreams are left.
        n = wait_fd_count(proxy.proc.pid,
                          lambda n: n <= base + self.SPARE, 5)
        self.assertLessEqual(n, base + self.SPARE)
        self.assertGreaterEqual(len(rec.requests), self.N)
        # and what is kept is still used: the next request reuses one
        conns = rec.connection_count()
        with Client(proxy.port) as c:
            c.send(ocsp_post(url, der))
            self.assertEqual(c.read_response(timeout=10).status, 200)
        self.assertEqual(rec.connection_count(), conns)
        proxy.wait_events(self.N + 1)
