"""Limits under load: slow clients, thousands of idle keep-alive
connections, max_connections and max_connections_per_source, bodies and
heads at their limits, and a client too slow to read a large answer.

The 10,000-connection test needs a descriptor hard limit of at least
16,000 (the test process holds one descriptor per client connection and
the recording upstream one per request in flight, about half of them);
it is skipped, saying so, below that.
OCSPGATE_TEST_CONNECTIONS changes its connection count (the hard limit it
needs scales with it).

Lines starting with FIGURE give measured figures worth recording.
"""

import collections
import hashlib
import json
import os
import resource
import selectors
import signal
import socket
import threading
import time
import unittest

from ocspgate_harness import (
    Client, assert_refusal, config_text, get, get_cryptoapi, http_request,
    ocsp_post, ocsp_request_der, parse_response, scaled)
from test_faults import (
    GateTestCase, check_event, data_kib, fd_count, head, pattern_digest,
    rss_kib, sanitized, settled_fd_count, source_socket, wait_fd_count)

MANY = int(os.environ.get("OCSPGATE_TEST_CONNECTIONS", "10000") or "10000")


def wait_rss(pid, pred, timeout):
    """Polls the RSS of <pid> until pred(rss_kib) or <timeout> (scaled)
    seconds; returns the last reading."""
    deadline = time.monotonic() + scaled(timeout)
    while True:
        rss = rss_kib(pid)
        if pred(rss) or time.monotonic() > deadline:
            return rss
        time.sleep(0.05)


def raise_nofile(tc, need):
    """Raises this process's descriptor soft limit to the hard limit (and
    restores it after the test); skips when the hard limit < need."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard != resource.RLIM_INFINITY and hard < need:
        raise unittest.SkipTest(
            "descriptor hard limit (RLIMIT_NOFILE) is %d, this test needs "
            "%d; raise it (ulimit -Hn) to run it" % (hard, need))
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    tc.addCleanup(resource.setrlimit, resource.RLIMIT_NOFILE, (soft, hard))


class Conn:
    """One non-blocking client connection and what came back on it."""

    __slots__ = ("sock", "buf", "closed_at", "first_at", "kind", "todo",
                 "port", "answers", "want")

    def __init__(self, sock, kind=None):
        self.sock = sock
        self.buf = bytearray()
        self.closed_at = None
        self.first_at = None
        self.kind = kind
        self.todo = b""
        self.port = sock.getsockname()[1]
        self.answers = []
        self.want = 0


def connect_nb(port, timeout=10, ip="127.0.0.1"):
    """A connected socket, then set non-blocking."""
    s = source_socket(ip, port, timeout=timeout)
    s.setblocking(False)
    return s


def pump(sel, conns, until, deadline):
    """Reads from every registered connection until until() or the
    deadline; parses answers into conn.answers and notes closes."""
    while not until() and time.monotonic() < deadline:
        for key, _ in sel.select(timeout=0.05):
            c = key.data
            try:
                data = c.sock.recv(65536)
            except BlockingIOError:
                continue
            except OSError:
                data = b""
            if not data:
                c.closed_at = time.monotonic()
                sel.unregister(c.sock)
                continue
            c.buf += data
            while True:
                got = parse_response(c.buf)
                if got is None:
                    break
                r, n = got
                del c.buf[:n]
                c.answers.append(r)


def close_all(conns):
    for c in conns:
        try:
            c.sock.close()
        except OSError:
            pass


class LimitTestCase(GateTestCase):
    RESPONDERS = 0

    def setUp(self):
        super().setUp()
        self.der = ocsp_request_der([self.pki.cert_id("good")])

    def selector(self):
        sel = selectors.DefaultSelector()
        self.addCleanup(sel.close)
        return sel


# --------------------------------------------------------------------------

class SlowlorisTests(LimitTestCase):
    RESPONDERS = 1
    N = 1000
    TIMEOUT = 3  # client_timeout

    def test_slow_clients_do_not_stop_service(self):
        """1,000 connections trickle a byte every 0.5 s: half after a
        complete request line, half still within it. A normal request is
        answered promptly meanwhile; every slow one is closed by its
        client_timeout; only those with a request line leave an event."""
        raise_nofile(self, 4 * self.N)
        # One test client stands for many hosts: no per-source limit.
        proxy = self.start_proxy(responders=[self.resp_spec()],
                                 client_timeout=self.TIMEOUT,
                                 max_connections_per_source=0)
        url = self.url()
        # A first request, so that the figures below do not include the
        # first upstream exchange's set-up.
        with Client(proxy.port) as c:
            c.send(ocsp_post(url, self.der))
            self.assertEqual(c.read_response().status, 200)
        proxy.wait_events(1)
        base_fds = settled_fd_count(proxy.proc.pid)

        line = b"GET %s HTTP/1.1\r\n" % url.encode()
        sel = self.selector()
        conns = []
        self.addCleanup(close_all, conns)
        for i in range(self.N):
            c = Conn(connect_nb(proxy.port))
            conns.append(c)
            sel.register(c.sock, selectors.EVENT_READ, c)
            if i % 2:
                c.kind = "line"
                first = line + b"Host: ocsp.ca.test\r\nX-Slow: "
                c.todo = b"a" * 1000
            else:
                c.kind = "partial"
                first, c.todo = line[:1], line[1:]
            c.sock.send(first)
            c.first_at = time.monotonic()
        opened = time.monotonic()
        self.assertLess(opened - conns[0].first_at, self.TIMEOUT - 1,
                        "opening the slow connections took too long for "
                        "this test to be meaningful")

        served = {}

        def normal_requests():
            for name, data in (
                    ("post", ocsp_post(url, self.der)),
                    ("get", http_request(
                        "GET", url + get_cryptoapi(self.der)))):
                with Client(proxy.port, timeout=5) as c:
                    t0 = time.monotonic()
                    c.send(data)
                    try:
                        r = c.read_response(timeout=5)
                    except AssertionError as e:
                        served[name] = (None, str(e))
                        continue
                    served[name] = (r.status, time.monotonic() - t0)

        helper = threading.Thread(target=normal_requests, daemon=True)
        helper_started = False
        deadline = conns[-1].first_at + scaled(self.TIMEOUT + 4)
        next_tick = time.monotonic() + 0.5
        open_left = lambda: any(c.closed_at is None for c in conns)
        while open_left() and time.monotonic() < deadline:
            now = time.monotonic()
            if not helper_started and now >= opened + 0.5:
                helper.start()
                helper_started = True
            if now >= next_tick:
                next_tick += 0.5
                for c in conns:
                    if c.closed_at is None and c.todo:
                        try:
                            c.sock.send(c.todo[:1])
                            c.todo = c.todo[1:]
                        except (BlockingIOError, InterruptedError):
                            pass
                        except OSError:
                            pass  # closed: the read side notes when
            pump(sel, conns, lambda: time.monotonic() >= next_tick,
                 min(next_tick, deadline))
        helper.join(scaled(10))

        # the normal requests were answered promptly
        self.assertTrue(helper_started)
        for name in ("post", "get"):
            status, took = served.get(name, (None, "not run"))
            self.assertEqual(status, 200, "%s: %s" % (name, took))
            self.assertLess(took, scaled(1.0),
                            "%s took %.2fs among slow clients" % (name, took))

        # every slow connection closed by its timeout, not before
        still_open = [c.port for c in conns if c.closed_at is None]
        self.assertEqual(still_open, [], "%d slow connection(s) left open "
                         "past client_timeout" % len(still_open))
        lives = [c.closed_at - c.first_at for c in conns]
        self.assertGreaterEqual(min(lives), self.TIMEOUT - 0.3,
                                "a slow connection was closed early")
        self.assertLess(max(lives), scaled(self.TIMEOUT + 2),
                        "a slow connection outlived client_timeout")
        print("FIGURE slowloris: connections=%d client_timeout=%d "
              "closed_after_s min=%.2f max=%.2f post_s=%.3f get_s=%.3f"
              % (self.N, self.TIMEOUT, min(lives), max(lives),
                 served["post"][1], served["get"][1]))

        # events: one per slow connection with a request line, and the
        # normal requests; none for those without
        line_ports = {c.port for c in conns if c.kind == "line"}
        n_line = len(line_ports)
        evs = proxy.wait_events(1 + 2 + n_line, timeout=10)
        self.assert_no_more_events(proxy, 1 + 2 + n_line)
        for ev in evs:
            check_event(self, ev)
        slow = [e for e in evs if get(e, "event.reason") == "http_malformed"]
        self.assertEqual(len(slow), n_line)
        self.assertEqual({get(e, "source.port") for e in slow}, line_ports)
        for e in slow:
            self.assertIsNone(get(e, "http.response.status_code"),
                              json.dumps(e))
        self.assertEqual(collections.Counter(
            get(e, "event.reason") for e in evs if e not in slow),
            {"ocsp_request": 3})
        close_all(conns)
        self.assertLessEqual(wait_fd_count(
            proxy.proc.pid, lambda n: n <= base_fds, 5), base_fds)


# --------------------------------------------------------------------------

class ManyConnectionsTests(LimitTestCase):
    N = MANY
    BATCH = 500
    CYCLES = 2

    def exchange_batch(self, sel, batch, deadline):
        pump(sel, batch, lambda: all(len(c.answers) >= c.want or
                                     c.closed_at is not None
                                     for c in batch), deadline)

    def cycle(self, proxy, rec, allowed, blocked, n_before):
        """Opens N connections, one request on each, holds them idle,
        a second request on a sample, closes them all. Returns the
        figures and the number of events it caused."""
        pid = proxy.proc.pid
        fds0 = settled_fd_count(pid)
        rss0 = rss_kib(pid)
        data0 = data_kib(pid)
        upstream_before = len(rec.requests)
        sel = self.selector()
        conns = []
        self.addCleanup(close_all, conns)
        t0 = time.monotonic()
        for start in range(0, self.N, self.BATCH):
            batch = []
            for i in range(start, min(self.N, start + self.BATCH)):
                c = Conn(connect_nb(proxy.port), "allowed" if i % 50 == 0
                         else "blocked")
                c.want = 1
                conns.append(c)
                batch.append(c)
                sel.register(c.sock, selectors.EVENT_READ, c)
                c.sock.send(allowed if c.kind == "allowed" else blocked)
            self.exchange_batch(sel, batch, time.monotonic() + scaled(30))
            missing = [c for c in batch if len(c.answers) < 1]
            self.assertEqual(len(missing), 0, "%d of a batch of %d got no "
                             "answer (at %d connections)"
                             % (len(missing), len(batch), len(conns)))
        opened_s = time.monotonic() - t0
        closed = [c for c in conns if c.closed_at is not None]
        self.assertEqual(closed, [], "keep-alive connections closed")
        for c in conns:
            want = 200 if c.kind == "allowed" else 403
            self.assertEqual(c.answers[0].status, want)

        # all held open, idle
        time.sleep(0.5)
        fds_peak = fd_count(pid)
        rss_peak = rss_kib(pid)
        data_peak = data_kib(pid)
        self.assertGreaterEqual(fds_peak, fds0 + self.N,
                                "ocspgate does not hold every connection")
        # still usable: a second request on a sample of them
        sample = conns[::max(1, self.N // 200)]
        for c in sample:
            c.want = 2
            c.sock.send(blocked)
        self.exchange_batch(sel, sample, time.monotonic() + scaled(30))
        for c in sample:
            self.assertEqual(len(c.answers), 2)
            self.assertEqual(c.answers[1].status, 403)

        n_events = self.N + len(sample)
        evs = proxy.wait_events(n_before + n_events, timeout=30)
        self.assert_no_more_events(proxy, n_before + n_events)
        n_allowed = len([c for c in conns if c.kind == "allowed"])
        self.assertEqual(collections.Counter(
            get(e, "event.reason") for e in evs[n_before:]),
            {"ocsp_request": n_allowed,
             "unknown_responder": n_events - n_allowed})
        self.assertEqual(len(rec.wait_requests(upstream_before + n_allowed)),
                         upstream_before + n_allowed)

        t1 = time.monotonic()
        close_all(conns)
        wait_fd_count(pid, lambda n: n <= fds0 + 2 + 2, 30)
        closed_s = time.monotonic() - t1
        # Memory is given back a quarter second after the closes stop
        # (server.c, housekeeping): wait for it, bounded.
        rss_end = wait_rss(pid, lambda r: r < rss0 + 4 * 1024, 5)
        fds_end = fd_count(pid)
        fig = dict(fds0=fds0, fds_peak=fds_peak, fds_end=fds_end, rss0=rss0,
                   rss_peak=rss_peak, rss_end=rss_end, opened_s=opened_s,
                   closed_s=closed_s, data0=data0, data_peak=data_peak,
                   data_end=data_kib(pid))
        return fig, n_events

    def test_many_idle_keep_alive_connections(self):
        """N (10,000) keep-alive connections, each served and then held
        idle: all answered, and once they are closed the descriptors and
        the memory come back. Done twice, so that memory kept for reuse
        and memory lost per connection tell apart."""
        raise_nofile(self, int(self.N * 1.6))
        rec = self.upstream()
        spec = "ocsp.ca.test:%d" % rec.port
        # At most two idle upstream connections stay open for reuse.
        # One test client stands for many hosts: no per-source limit.
        proxy = self.start_proxy(responders=[spec], client_timeout=300,
                                 upstream_idle_max=2,
                                 max_connections_per_source=0)
        allowed = ocsp_post("http://%s/" % spec, self.der)
        blocked = http_request("GET", "http://other.test/")
        # warm up: both kinds once
        for data in (allowed, blocked):
            with Client(proxy.port) as c:
                c.send(data)
                c.read_response()
        n_events = len(proxy.wait_events(2))
        figs = []
        for i in range(self.CYCLES):
            fig, n = self.cycle(proxy, rec, allowed, blocked, n_events)
            n_events += n
            figs.append(fig)
            print("FIGURE %dk%s: fds start=%d peak=%d end=%d, "
                  "rss_kib start=%d peak=%d end=%d; open+serve %.1fs, "
                  "close %.1fs; data_kib start=%d peak=%d end=%d" % (
                      self.N // 1000, " cycle %d" % (i + 1) if i else "",
                      fig["fds0"], fig["fds_peak"],
                      fig["fds_end"], fig["rss0"], fig["rss_peak"],
                      fig["rss_end"], fig["opened_s"], fig["closed_s"],
                      fig["data0"], fig["data_peak"], fig["data_end"]))
        self.assert_alive(proxy)
        first, last = figs[0], figs[-1]
        for fig in figs:
            self.assertLessEqual(fig["fds_end"], first["fds0"] + 2 + 2,
                                 "descriptors not returned after closing")
        if sanitized():
            return  # memory figures of the sanitizer's allocator
        # A leak shows as resident memory growing from one round to the
        # next at the same point (the first round also sets up what later
        # ones reuse). VmData is address space: a thread's malloc arena
        # reserves it without using it, so it is reported, not judged.
        self.assertLess(last["rss_end"], first["rss_end"] + 4 * 1024,
                        "memory grows with every round of connections "
                        "(a leak): %r" % figs)
        self.assertLess(last["rss_peak"], first["rss_peak"] + 4 * 1024,
                        "memory grows with every round of connections "
                        "(a leak): %r" % figs)
        self.assertLess(last["rss_end"], first["rss0"] + 16 * 1024,
                        "RSS did not come back near its start once the "
                        "connections closed: %r" % figs)


# --------------------------------------------------------------------------

class ConnectionLimitTests(LimitTestCase):

    def blocked(self):
        return http_request("GET", "http://other.test/")

    def test_max_connections(self):
        """With max_connections = 50, of 60 connections 50 are answered at
        once; the other 10 once earlier ones close."""
        proxy = self.start_proxy(responders=["ocsp.ca.test"],
                                 max_connections=50, client_timeout=60)
        pid = proxy.proc.pid
        fds0 = settled_fd_count(pid)
        sel = self.selector()
        conns = []
        self.addCleanup(close_all, conns)
        for _ in range(60):
            c = Conn(connect_nb(proxy.port))
            c.want = 1
            conns.append(c)
            sel.register(c.sock, selectors.EVENT_READ, c)
            c.sock.send(self.blocked())
        pump(sel, conns, lambda: False, time.monotonic() + scaled(1.5))
        answered = [c for c in conns if c.answers]
        waiting = [c for c in conns if not c.answers]
        self.assertEqual(len(answered), 50)
        self.assertEqual([c.closed_at for c in conns], [None] * 60)
        for c in waiting:
            self.assertEqual(bytes(c.buf), b"")
        self.assertLessEqual(fd_count(pid), fds0 + 50,
                             "more than max_connections accepted")
        self.expect_count(proxy, 50)

        # closing 10 lets the 10 waiting ones in
        for c in answered[:10]:
            sel.unregister(c.sock)
            c.sock.close()
        t0 = time.monotonic()
        pump(sel, waiting, lambda: all(c.answers for c in waiting),
             time.monotonic() + scaled(3))
        took = time.monotonic() - t0
        self.assertEqual(len([c for c in waiting if c.answers]), 10,
                         "connections in the backlog were not served after "
                         "others closed")
        self.assertLess(took, scaled(1.5))
        for c in waiting:
            assert_refusal(self, c.answers[0], 403, "unknown_responder")
        self.expect_count(proxy, 60)
        close_all(conns)
        self.assertLessEqual(wait_fd_count(pid, lambda n: n <= fds0, 5),
                             fds0)
        # and accepting is not stuck after the limit was reached
        with Client(proxy.port) as c:
            c.send(self.blocked())
            self.assertEqual(c.read_response().status, 403)

    def expect_count(self, proxy, n):
        evs = proxy.wait_events(n)
        self.assert_no_more_events(proxy, n, wait=0.2)
        for ev in evs:
            check_event(self, ev)
        return evs

    def served(self, ip, port):
        s = source_socket(ip, port)
        self.addCleanup(s.close)
        s.sendall(self.blocked())
        c = Conn(s)
        buf = bytearray()
        deadline = time.monotonic() + scaled(5)
        while time.monotonic() < deadline:
            got = parse_response(buf)
            if got is not None:
                self.assertEqual(got[0].status, 403)
                return s
            chunk = s.recv(65536)
            if not chunk:
                break
            buf += chunk
        self.fail("no answer on a connection from %s (port %d): %r"
                  % (ip, c.port, bytes(buf)))

    def refused(self, proxy, ip, port, send=True):
        """A connection from ip closed at once, without an answer, and
        its connection_limit event."""
        s = source_socket(ip, port)
        self.addCleanup(s.close)
        local = s.getsockname()[1]
        t0 = time.monotonic()
        if send:
            try:
                s.sendall(self.blocked())
            except OSError:
                pass
        data = b""
        try:
            while True:
                chunk = s.recv(65536)
                if not chunk:
                    break
                data += chunk
        except socket.timeout:
            self.fail("connection %d from %s beyond the limit was left open"
                      % (local, ip))
        except ConnectionResetError:
            pass
        self.assertEqual(data, b"", "an answer on a refused connection")
        self.assertLess(time.monotonic() - t0, scaled(1))
        ev = proxy.wait_event(lambda e: get(e, "source.port") == local and
                              get(e, "source.ip") == ip)
        check_event(self, ev)
        self.assertEqual(get(ev, "event.reason"), "connection_limit")
        self.assertEqual(get(ev, "event.action"), "block")
        return ev

    def test_reload_raising_max_connections_resumes_accepting(self):
        """At max_connections accepting pauses; a reload that raises the
        limit resumes it at once. (The listener kept over the reload
        stayed paused: a new connection waited until an old one
        closed.)"""
        proxy = self.start_proxy(responders=["ocsp.ca.test"],
                                 max_connections=2)
        for _ in range(2):
            c = Client(proxy.port)
            self.addCleanup(c.close)
            c.send(self.blocked())
            assert_refusal(self, c.read_response(), 403, "unknown_responder")
        proxy.conf_path.write_text(proxy.conf_path.read_text().replace(
            "max_connections = 2;", "max_connections = 100;"))
        proxy.signal(signal.SIGHUP)
        self.assertTrue(proxy.err.wait_for(lambda lines: any(
            "reloaded" in l for l in lines), 5), proxy.err.text())
        with Client(proxy.port) as c:
            c.send(self.blocked())
            assert_refusal(self, c.read_response(timeout=5), 403,
                           "unknown_responder")

    def test_max_connections_per_source(self):
        proxy = self.start_proxy(responders=["ocsp.ca.test"],
                                 max_connections_per_source=3,
                                 client_timeout=60)
        pid = proxy.proc.pid
        fds0 = settled_fd_count(pid)
        seven = [self.served("127.0.0.7", proxy.port) for _ in range(3)]
        self.refused(proxy, "127.0.0.7", proxy.port)
        self.refused(proxy, "127.0.0.7", proxy.port, send=False)
        eight = self.served("127.0.0.8", proxy.port)
        self.expect_count(proxy, 6)
        # one from .7 closes: a new one from .7 is served, the next not
        before = fd_count(pid)
        seven.pop().close()
        self.assertLess(wait_fd_count(pid, lambda n: n < before, 5), before)
        seven.append(self.served("127.0.0.7", proxy.port))
        self.refused(proxy, "127.0.0.7", proxy.port)
        self.expect_count(proxy, 8)
        # all closed: the count starts again from zero
        for s in seven + [eight]:
            s.close()
        self.assertLessEqual(wait_fd_count(pid, lambda n: n <= fds0, 5),
                             fds0)
        seven = [self.served("127.0.0.7", proxy.port) for _ in range(3)]
        self.refused(proxy, "127.0.0.7", proxy.port)
        evs = self.expect_count(proxy, 12)
        self.assertEqual(collections.Counter(
            get(e, "event.reason") for e in evs),
            {"unknown_responder": 8, "connection_limit": 4})
        for e in evs:
            if get(e, "event.reason") == "connection_limit":
                self.assertEqual(get(e, "source.ip"), "127.0.0.7")

    def test_max_connections_per_source_behind_proxy_protocol(self):
        """On a proxy_protocol listener the limit counts the PROXY
        header's client, not the balancer."""
        listen = ({"address": "127.0.0.1:0", "proxy_protocol": True,
                   "proxy_protocol_from": ["127.0.0.1/32"]},)
        proxy = self.start_proxy(listen=listen, responders=["ocsp.ca.test"],
                                 max_connections_per_source=2,
                                 client_timeout=60)

        def pp(src, sport):
            return b"PROXY TCP4 %s 127.0.0.1 %d %d\r\n" % (
                src.encode(), sport, proxy.port)

        held = []
        for i in range(2):
            c = Client(proxy.port)
            self.addCleanup(c.close)
            c.send(pp("192.0.2.7", 40000 + i) + self.blocked())
            self.assertEqual(c.read_response().status, 403)
            held.append(c)
        c = Client(proxy.port)
        self.addCleanup(c.close)
        try:
            c.send(pp("192.0.2.7", 40002) + self.blocked())
        except OSError:
            pass
        self.assertTrue(c.wait_closed(2), "third connection of 192.0.2.7 "
                        "left open")
        self.assertEqual(bytes(c.buf), b"")
        ev = proxy.wait_event(lambda e: get(e, "source.port") == 40002)
        self.assertEqual(get(ev, "event.reason"), "connection_limit")
        self.assertEqual(get(ev, "source.ip"), "192.0.2.7")
        with Client(proxy.port) as c:
            c.send(pp("192.0.2.8", 40003) + self.blocked())
            self.assertEqual(c.read_response().status, 403)
        self.expect_count(proxy, 4)


    def reload(self, proxy, cfg, **changes):
        """Writes cfg with <changes> and reloads; waits for the result."""
        cfg.update(changes)
        proxy.conf_path.write_text(config_text(cfg))
        n = len(proxy.err.lines)
        proxy.signal(signal.SIGHUP)
        self.assertTrue(proxy.err.wait_for(
            lambda l: any("reloaded" in x for x in l[n:]), 5),
            proxy.err.text())

    def close_and_settle(self, proxy, socks):
        pid = proxy.proc.pid
        before = fd_count(pid)
        for s in socks:
            s.close()
        self.assertLessEqual(
            wait_fd_count(pid, lambda n: n <= before - len(socks), 5),
            before - len(socks))

    def test_default_limit(self):
        """Without the setting a source may hold 256 connections: one
        host cannot take every slot of max_connections."""
        proxy = self.start_proxy(responders=["ocsp.ca.test"],
                                 client_timeout=60)
        held = [connect_nb(proxy.port, ip="127.0.0.9") for _ in range(256)]
        self.addCleanup(lambda: [s.close() for s in held])
        self.refused(proxy, "127.0.0.9", proxy.port, send=False)
        self.served("127.0.0.10", proxy.port)
        refused = [e for e in proxy.wait_events(2)
                   if get(e, "event.reason") == "connection_limit"]
        self.assertEqual([get(e, "source.ip") for e in refused],
                         ["127.0.0.9"])

    def test_counts_stay_true_across_reloads(self):
        """Connections are counted whatever the limit, under the key they
        were accepted with: a reload that sets, lifts or lowers the limit
        sees the connections that are open, and closing them gives back
        exactly what they took."""
        cfg = self.base_config(responders=["ocsp.ca.test"],
                               max_connections_per_source=0,
                               client_timeout=60)
        proxy = self.start_proxy(cfg)
        seven = [self.served("127.0.0.7", proxy.port) for _ in range(3)]
        # Set to 2 with 3 open: a fourth is refused.
        self.reload(proxy, cfg, max_connections_per_source=2)
        self.refused(proxy, "127.0.0.7", proxy.port)
        # Two close: one more fits, then the limit again.
        self.close_and_settle(proxy, seven[:2])
        seven = seven[2:] + [self.served("127.0.0.7", proxy.port)]
        self.refused(proxy, "127.0.0.7", proxy.port)
        # Lifted: two more (four open), then lowered to 3: refused.
        self.reload(proxy, cfg, max_connections_per_source=0)
        seven += [self.served("127.0.0.7", proxy.port) for _ in range(2)]
        self.reload(proxy, cfg, max_connections_per_source=3)
        self.refused(proxy, "127.0.0.7", proxy.port)
        # All closed: the count is back at zero, three fit again.
        self.close_and_settle(proxy, seven)
        seven = [self.served("127.0.0.7", proxy.port) for _ in range(3)]
        self.refused(proxy, "127.0.0.7", proxy.port)
        evs = self.expect_count(proxy, 13)
        self.assertEqual(collections.Counter(
            get(e, "event.reason") for e in evs),
            {"unknown_responder": 9, "connection_limit": 4})

    def test_ipv6_sources_grouped_per_64(self):
        """Addresses of one IPv6 /64 are one source for the limit (a host
        can take any address of its /64); another /64 is another source;
        source_ipv6_prefix = 128 counts each address."""
        listen = ({"address": "127.0.0.1:0", "proxy_protocol": True,
                   "proxy_protocol_from": ["127.0.0.1/32"]},)
        cfg = self.base_config(listen=listen, responders=["ocsp.ca.test"],
                               max_connections_per_source=2,
                               client_timeout=60)
        proxy = self.start_proxy(cfg)
        sport = iter(range(41000, 42000))

        def connect(src):
            c = Client(proxy.port)
            self.addCleanup(c.close)
            port = next(sport)
            try:
                c.send(b"PROXY TCP6 %s ::1 %d %d\r\n" % (
                    src.encode(), port, proxy.port) + self.blocked())
            except OSError:
                pass
            return c, port

        def served(src):
            c, _ = connect(src)
            self.assertEqual(c.read_response().status, 403)
            return c

        def refused(src):
            c, port = connect(src)
            self.assertTrue(c.wait_closed(2), "%s left open" % src)
            self.assertEqual(bytes(c.buf), b"")
            ev = proxy.wait_event(lambda e: get(e, "source.port") == port)
            self.assertEqual(get(ev, "event.reason"), "connection_limit")
            self.assertEqual(get(ev, "source.ip"), src)

        held = [served("2001:db8:1:2::7"), served("2001:db8:1:2:aaaa::8")]
        refused("2001:db8:1:2:ffff:ffff:ffff:ffff")
        held.append(served("2001:db8:1:3::7"))
        self.reload(proxy, cfg, source_ipv6_prefix=128)
        held.append(served("2001:db8:1:2::9"))
        self.expect_count(proxy, 5)


# --------------------------------------------------------------------------

class BodyAndHeadLimitTests(LimitTestCase):

    def test_body_at_max_request_body(self):
        """A body of exactly max_request_body is read and judged; one byte
        more is 413, whatever the framing."""
        rec = self.upstream()
        spec = "ocsp.ca.test:%d" % rec.port
        url = "http://%s/" % spec
        n = len(self.der)
        proxy = self.start_proxy(responders=[spec], max_request_body=n)

        def chunked(body):
            return b"".join(b"%x\r\n%s\r\n" % (len(body[i:i + 7]),
                                               body[i:i + 7])
                            for i in range(0, len(body), 7)) + b"0\r\n\r\n"
        te = [("Content-Type", "application/ocsp-request"),
              ("Transfer-Encoding", "chunked")]
        events = 0
        for name, data in (
                ("length", ocsp_post(url, self.der)),
                ("chunked", http_request("POST", url, te) + chunked(
                    self.der))):
            with self.subTest(framing=name, size="exact"):
                with Client(proxy.port) as c:
                    c.send(data)
                    self.assertEqual(c.read_response().status, 200)
                events += 1
                reqs = rec.wait_requests(events)
                self.assertEqual(reqs[-1].body, self.der)
                self.assertEqual(reqs[-1].header("content-length"), str(n))
                self.expect_event(proxy, events,
                                  event__reason="ocsp_request",
                                  http__request__body__bytes=n)
        for name, data in (
                ("length", ocsp_post(url, self.der + b"\x00")),
                ("chunked", http_request("POST", url, te) + chunked(
                    self.der + b"\x00"))):
            with self.subTest(framing=name, size="one over"):
                with Client(proxy.port) as c:
                    c.send(data)
                    assert_refusal(self, c.read_response(), 413,
                                   "body_too_large")
                    self.assertTrue(c.wait_closed(3))
                events += 1
                self.expect_event(proxy, events,
                                  event__reason="body_too_large",
                                  http__response__status_code=413)
        self.assertEqual(len(rec.requests), 2)

    def test_body_at_default_limit(self):
        """The default max_request_body (16384): 16384 bytes of junk reach
        the policy (ocsp_malformed), 16385 do not (413)."""
        proxy = self.start_proxy(responders=["ocsp.ca.test"])
        url = "http://ocsp.ca.test/"
        with Client(proxy.port) as c:
            c.send(ocsp_post(url, b"\x30" * 16384))
            assert_refusal(self, c.read_response(), 403, "ocsp_malformed")
        self.expect_event(proxy, 1, event__reason="ocsp_malformed",
                          http__request__body__bytes=16384)
        with Client(proxy.port) as c:
            c.send(ocsp_post(url, b"\x30" * 16385))
            assert_refusal(self, c.read_response(), 413, "body_too_large")
            self.assertTrue(c.wait_closed(3))
        self.expect_event(proxy, 2, event__reason="body_too_large")

    def head_of(self, data):
        return data.index(b"\r\n\r\n") + 4

    def padded(self, build, size):
        """build(pad) -> request bytes whose head is exactly <size>."""
        base = self.head_of(build(""))
        data = build("p" * (size - base))
        self.assertEqual(self.head_of(data), size)
        return data

    def test_head_at_max_header_bytes(self):
        """A head (request line, headers and the empty line) of exactly
        max_header_bytes is served; one byte more is 431. The padding (a
        User-Agent over its 256 bytes, so dropped) stays within the
        1024 bytes of dropped fields a request may carry."""
        rec = self.upstream()
        spec = "ocsp.ca.test:%d" % rec.port
        url = "http://%s/" % spec
        limit = 1024
        proxy = self.start_proxy(responders=[spec], max_header_bytes=limit)
        forms = {
            "post": lambda pad: ocsp_post(url, self.der, headers=[
                ("User-Agent", "x" + pad)]),
            "get": lambda pad: http_request("GET", url + get_cryptoapi(
                self.der), headers=[("User-Agent", "x" + pad)]),
        }
        events = 0
        for name, build in forms.items():
            with self.subTest(form=name, size=limit):
                with Client(proxy.port) as c:
                    c.send(self.padded(build, limit))
                    self.assertEqual(c.read_response().status, 200)
                events += 1
                self.expect_event(proxy, events,
                                  event__reason="ocsp_request")
            with self.subTest(form=name, size=limit + 1):
                with Client(proxy.port) as c:
                    c.send(self.padded(build, limit + 1))
                    assert_refusal(self, c.read_response(), 431,
                                   "http_malformed")
                    self.assertTrue(c.wait_closed(3))
                events += 1
                self.expect_event(proxy, events,
                                  event__reason="http_malformed",
                                  http__response__status_code=431)
        self.assertEqual(len(rec.wait_requests(2)), 2)

    def test_upstream_head_limit(self):
        """An upstream reply head of 64 KiB is relayed; over it, 502
        response_malformed and nothing of it reaches the client."""
        limit = 65536

        def reply_head(size):
            h = head(length=5, extra=[b"X-Pad: "])
            return h.replace(b"X-Pad: ", b"X-Pad: " + b"p" * (
                size - len(h))) + b"\x30\x03\x0a\x01\x03"

        proxies = {}
        for size, ok in ((limit - 1024, True), (limit, True),
                         (limit + 1, False), (limit + 4096, False),
                         (1 << 20, False)):
            data = reply_head(size)
            self.assertEqual(data.index(b"\r\n\r\n") + 4, size)
            up = self.scripted([("send", data), ("stall",)])
            spec = "ocsp.ca.test:%d" % up.port
            proxy = self.start_proxy(
                responders=[spec],
                event_log=str(self.tmp / ("events-%d.jsonl" % size)))
            proxies[size] = proxy
            with self.subTest(head_bytes=size):
                with Client(proxy.port) as c:
                    c.send(ocsp_post("http://%s/" % spec, self.der))
                    r = c.read_response()
                    if ok:
                        self.assertEqual(r.status, 200)
                        self.assertEqual(r.body, b"\x30\x03\x0a\x01\x03")
                    else:
                        assert_refusal(self, r, 502, "response_malformed")
                self.expect_event(
                    proxy, 1, event__reason="ocsp_request" if ok
                    else "response_malformed")
        self.assertEqual(len(proxies), 5)


# --------------------------------------------------------------------------

def cpu_seconds(pid):
    """User and system CPU time process <pid> has used, in seconds."""
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


class PipelineLimitTests(LimitTestCase):

    def test_pipelined_bytes_past_the_input_bound_wait_idle(self):
        """A request the upstream is slow to answer, followed by more
        bytes than a connection's input holds (a request's worth plus
        4 KiB): they wait, and ocspgate waits with them without using
        the CPU. (It used to spin at 100% in libevent's loop until the
        upstream answered or timed out: the read callback was called
        again after every pass since the input stayed full.) This is a
        bound on CPU time used while idle, not on elapsed time."""
        rec = self.upstream(mode="stall")
        spec = "ocsp.ca.test:%d" % rec.port
        proxy = self.start_proxy(responders=[spec], upstream_timeout=6,
                                 max_header_bytes=1024,
                                 max_request_body=1024)
        junk = b"x" * (1024 + 1024 + 4096 + 4096)
        with Client(proxy.port, timeout=30) as c:
            c.send(ocsp_post("http://%s/" % spec, self.der) + junk)
            self.assertEqual(len(rec.wait_requests(1)), 1)
            before = cpu_seconds(proxy.proc.pid)
            time.sleep(2)
            used = cpu_seconds(proxy.proc.pid) - before
            print("FIGURE cpu while waiting for the upstream: %.2f s in "
                  "2 s" % used)
            self.assertLess(used, 0.25, "ocspgate used %.2f s of CPU in "
                            "2 s while waiting" % used)
            # Then the upstream times out, and the bytes behind are read
            # as the next request.
            assert_refusal(self, c.read_response(timeout=20), 504,
                           "upstream_timeout")
            assert_refusal(self, c.read_response(), 400, "http_malformed")
            self.assertTrue(c.wait_closed(3))
        self.expect_event(proxy, 1, event__reason="upstream_timeout")
        self.expect_event(proxy, 2, event__reason="http_malformed")


    def test_refusal_reaches_a_client_still_sending(self):
        """A client refused in the middle of what it sends gets the
        refusal, not a reset: after a 403 kept alive, bytes that are not
        a request get 400, and the client reads it although it is still
        sending (the gate shuts its side and drops what comes, a
        lingering close, rather than closing on unread bytes)."""
        proxy = self.start_proxy(responders=["ocsp.ca.test"])
        junk = b"Q" * (1 << 20)
        with Client(proxy.port, timeout=10) as c:
            c.sock.setblocking(False)
            data = http_request("GET", "http://other.test/") + junk
            sent = 0
            deadline = time.monotonic() + scaled(2)
            while sent < len(data) and time.monotonic() < deadline:
                try:
                    sent += c.sock.send(data[sent:sent + 65536])
                except BlockingIOError:
                    time.sleep(0.01)
                except (BrokenPipeError, ConnectionResetError):
                    break  # the gate stopped listening: it answered
            c.sock.settimeout(scaled(10))
            assert_refusal(self, c.read_response(), 403, "unknown_responder")
            assert_refusal(self, c.read_response(), 400, "http_malformed")
        self.expect_event(proxy, 2, event__reason="http_malformed",
                          http__response__status_code=400)


class BackPressureTests(LimitTestCase):
    SIZE = 64 << 20

    def test_slow_reader_of_large_answer(self):
        """64 MiB from the upstream to a client that does not read: the
        upstream is held by TCP flow control and ocspgate's RSS stays
        bounded; then the client reads everything, intact. (Monitor mode,
        which relays what it forwards as it comes: a request it blocks but
        forwards gets an answer of any size.)"""
        size = self.SIZE
        warm = self.scripted([("send", head(length=1 << 20)),
                              ("body", 1 << 20)])
        up = self.scripted([("send", head(length=size)), ("body", size)],
                           sndbuf=65536)
        specs = ["ocsp.ca.test:%d" % warm.port, "ocsp.ca.test:%d" % up.port]
        proxy = self.start_proxy(responders=specs, client_timeout=60,
                                 mode="monitor")
        pid = proxy.proc.pid
        with Client(proxy.port) as c:
            c.send(http_request("GET", "http://%s/big" % specs[0]))
            self.assertEqual(len(c.read_response(timeout=10).body), 1 << 20)
        proxy.wait_events(1)
        rss0 = rss_kib(pid)

        s = source_socket("127.0.0.1", proxy.port, timeout=30,
                          rcvbuf=65536)
        self.addCleanup(s.close)
        s.sendall(http_request("GET", "http://%s/big" % specs[1]))
        # the client reads nothing; wait until the upstream is held
        rec = up.wait_connections(1)[0]
        rss_max = rss0
        last, since = -1, time.monotonic()
        deadline = time.monotonic() + scaled(15)
        while time.monotonic() < deadline:
            time.sleep(0.1)
            rss_max = max(rss_max, rss_kib(pid))
            if rec.sent != last:
                last, since = rec.sent, time.monotonic()
            elif time.monotonic() - since > 1.0:
                break
        held = rec.sent
        print("FIGURE backpressure: body_mib=%d upstream_sent_mib=%.1f "
              "rss_kib base=%d max=%d" % (size >> 20, held / 1048576.0,
                                          rss0, rss_max))
        self.assertLess(held, size - (8 << 20),
                        "the upstream was not held back")
        if not sanitized():
            self.assertLess(rss_max - rss0, 24 * 1024,
                            "ocspgate buffered the answer in memory")

        # now read it all
        buf = bytearray()
        h = hashlib.sha256()
        got = None
        total = 0
        deadline = time.monotonic() + scaled(60)
        while time.monotonic() < deadline:
            chunk = s.recv(1 << 20)
            if not chunk:
                break
            if got is None:
                buf += chunk
                end = buf.find(b"\r\n\r\n")
                if end < 0:
                    continue
                got = parse_response(bytes(buf[:end + 4]), head_only=True)
                rest = bytes(buf[end + 4:])
                h.update(rest)
                total = len(rest)
            else:
                h.update(chunk)
                total += len(chunk)
            if total >= size:
                break
        self.assertIsNotNone(got, "no head")
        r = got[0]
        self.assertEqual(r.status, 200)
        self.assertEqual(r.header("content-length"), str(size))
        self.assertEqual(total, size)
        self.assertEqual(h.hexdigest(), pattern_digest(size))
        self.expect_event(proxy, 2, event__reason="not_ocsp",
                          ocspgate__enforced=False,
                          http__response__status_code=200,
                          http__response__body__bytes=size)
        if not sanitized():
            self.assertLess(rss_kib(pid) - rss0, 24 * 1024)


if __name__ == "__main__":
    unittest.main()
