"""PROXY protocol: ocspgate behind a real HAProxy, and what a
proxy_protocol listener does with connections that are not from a
balancer or do not begin with a valid header.

HAProxy runs in the foreground on conf/haproxy-ocspgate.cfg as shipped,
with its addresses given through the environment variables that file
reads; it listens on sockets this process binds (port 0) and hands over
("fd@N"), so no port is guessed and nobody probes a port to see whether
it is up. Two ocspgate instances sit behind it, in front of an
`openssl ocsp` responder; clients bind their source address (127.0.0.5,
::1) so that the events can be checked to name them, not HAProxy.
"""

import base64
import csv
import io
import json
import os
import shutil
import socket
import struct
import subprocess
import time
import unittest

from ocspgate_harness import (
    REPO, Client, Proxy, ProxyTestCase, _LineReader, _die_with_parent,
    assert_event_shape, clean_env, get, ocsp_post,
    ocsp_request_der, ocsp_response_text, openssl_ocsp_client,
    run, scaled, stop_process)

HAPROXY_CFG = REPO / "conf" / "haproxy-ocspgate.cfg"
BACKEND = "ocspgate"

# Reasons of connections closed before any request, without an answer.
CONNECTION_REFUSALS = {"proxy_protocol_invalid", "connection_limit"}

V2_SIG = b"\r\n\r\n\x00\r\nQUIT\n"
V2_PROXY = 0x21
V2_LOCAL = 0x20
V2_TCP4 = 0x11
V2_TCP6 = 0x21


def v2_header(src, sport, dst=None, dport=3128, cmd=V2_PROXY,
              tlvs=b"", length=None, family=None):
    """A PROXY v2 header; length and family may be forced to lie."""
    six = ":" in src
    if dst is None:
        dst = "::1" if six else "127.0.0.1"
    fam = family if family is not None else (V2_TCP6 if six else V2_TCP4)
    af = socket.AF_INET6 if six else socket.AF_INET
    body = (socket.inet_pton(af, src) + socket.inet_pton(af, dst)
            + struct.pack(">HH", sport, dport) + tlvs)
    n = len(body) if length is None else length
    return V2_SIG + bytes([cmd, fam]) + struct.pack(">H", n) + body


def v2_local():
    """What HAProxy's health checks send with send-proxy-v2."""
    return V2_SIG + bytes([V2_LOCAL, 0x00]) + b"\x00\x00"


def ipv6_loopback():
    """True when ::1 can be bound here."""
    if not socket.has_ipv6:
        return False
    try:
        with socket.socket(socket.AF_INET6, socket.SOCK_STREAM) as s:
            s.bind(("::1", 0))
        return True
    except OSError:
        return False


class SourceClient(Client):
    """A harness Client whose socket is bound to source address <src>
    before it connects."""

    def __init__(self, port, src, host="127.0.0.1", timeout=5):
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        self.sock = socket.socket(family, socket.SOCK_STREAM)
        self.sock.settimeout(scaled(timeout))
        self.buf = bytearray()
        self.eof = False
        self.reset = False
        try:
            self.sock.bind((src, 0))
            self.sock.connect((host, port))
        except OSError:
            self.sock.close()
            raise


def assert_pp_event_shape(tc, ev):
    """The contract's event shape (any source address: the PROXY header's
    client); a connection refused before any request has no HTTP answer
    and says why."""
    assert_event_shape(tc, ev)
    if get(ev, "event.reason") not in CONNECTION_REFUSALS:
        return
    dump = json.dumps(ev)[:2000]
    tc.assertEqual(get(ev, "event.action"), "block", dump)
    tc.assertIs(get(ev, "ocspgate.enforced"), True, dump)
    tc.assertEqual(get(ev, "ocspgate.interception"), "explicit", dump)
    tc.assertIsInstance(get(ev, "ocspgate.detail"), str, dump)
    tc.assertNotIn("http", ev, "no HTTP answer on a refused connection: "
                   + dump)


class PPTestCase(ProxyTestCase):
    """Proxies whose events name clients other than 127.0.0.1: the
    cleanup checks them with assert_pp_event_shape."""

    def check_event(self, ev):
        assert_pp_event_shape(self, ev)

    def pp_listener(self, address="127.0.0.1:0",
                    sources=("127.0.0.1/32", "::1")):
        return {"address": address, "proxy_protocol": True,
                "proxy_protocol_from": list(sources)}

    def start_pp_proxy(self, listeners=None, name="ocspgate", **kw):
        """ocspgate with proxy_protocol listener objects, in front of the
        class's responder."""
        listeners = tuple(listeners or (self.pp_listener(),))
        cfg = self.base_config(listen=listeners,
                               responders=[self.resp_spec()], **kw)
        cfg["event_log"] = str(self.tmp / (name + ".events.jsonl"))
        p = Proxy(self.tmp, cfg, name=name)
        self.addCleanup(self._finish_proxy, p)
        return p

    def ocsp_der(self):
        return ocsp_request_der([self.pki.cert_id("good")],
                                nonce=os.urandom(16))

    def assert_good_answer(self, resp, what=""):
        """A 200 carrying a signed OCSP response: the certificate good."""
        self.assertEqual(resp.status, 200, "%s: %r" % (what, resp.raw[:300]))
        self.assertEqual(resp.header("content-type"),
                         "application/ocsp-response", what)
        rc, text = ocsp_response_text(resp.body, self.tmp, self.pki)
        self.assertEqual(rc, 0, text)
        self.assertIn("Response verify OK", text)
        self.assertRegex(text, r"Cert Status: good")

    def event_of(self, proxies, ip, port, timeout=5):
        """Waits until exactly one of <proxies> logged an event for client
        ip:port; returns (index of that proxy, the event)."""
        deadline = time.monotonic() + scaled(timeout)
        while True:
            hits = [(i, ev) for i, p in enumerate(proxies)
                    for ev in p.events()
                    if get(ev, "source.ip") == ip
                    and get(ev, "source.port") == port]
            if hits or time.monotonic() > deadline:
                break
            time.sleep(0.02)
        self.assertEqual(len(hits), 1, "events for %s port %d: %s" % (
            ip, port, json.dumps([ev for _, ev in hits])[:3000]))
        return hits[0]


class HAProxy:
    """haproxy -db on conf/haproxy-ocspgate.cfg, on sockets bound here.

    gates: the "host:port" of each ocspgate instance (OCSPGATE1, ...).
    version: 2 (the file as shipped) or 1 (send-proxy-v2 replaced by
    send-proxy, as the file's header says). ipv6: also listen on ::1.
    """

    def __init__(self, tmpdir, gates, version=2, ipv6=False,
                 start_timeout=10):
        exe = shutil.which("haproxy") or next(
            (p for p in ("/usr/sbin/haproxy", "/usr/local/sbin/haproxy")
             if os.access(p, os.X_OK)), None)
        if exe is None:
            raise AssertionError("haproxy not found (Debian package "
                                 "haproxy)")
        text = HAPROXY_CFG.read_text()
        if version == 1:
            text = text.replace("send-proxy-v2", "send-proxy")
        self.cfg = tmpdir / ("haproxy-v%d.cfg" % version)
        self.cfg.write_text(text)
        self.stats_path = str(tmpdir / "haproxy.sock")
        self.socks = []
        self.proc = None
        self.port = self._listen(socket.AF_INET, "127.0.0.1")
        self.port6 = self._listen(socket.AF_INET6, "::1") if ipv6 else None
        fds = [s.fileno() for s in self.socks]
        self.env = clean_env()
        self.env["OCSPGATE_BIND"] = ",".join("fd@%d" % fd for fd in fds)
        self.env["OCSPGATE_STATS"] = self.stats_path
        for i, gate in enumerate(gates, 1):
            self.env["OCSPGATE%d" % i] = gate
        check = run([exe, "-c", "-f", str(self.cfg)], env=self.env,
                    pass_fds=fds, check=False)
        if check.returncode != 0:
            self.close_sockets()
            raise AssertionError("haproxy -c refuses the config:\n%s"
                                 % (check.stdout + check.stderr).decode())
        self.proc = subprocess.Popen(
            [exe, "-db", "-f", str(self.cfg)], stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=self.env,
            pass_fds=fds, start_new_session=True, cwd=str(tmpdir),
            preexec_fn=_die_with_parent)
        self.out = _LineReader(self.proc.stdout)
        self.err = _LineReader(self.proc.stderr)
        # The listening sockets exist already; HAProxy is ready once its
        # runtime API answers.
        deadline = time.monotonic() + scaled(start_timeout)
        while True:
            try:
                self.servers()
                break
            except OSError:
                if self.proc.poll() is not None or \
                        time.monotonic() > deadline:
                    log = self.log()
                    self.stop()
                    raise AssertionError("haproxy did not start:\n" + log)
                time.sleep(0.05)

    def _listen(self, family, host):
        s = socket.socket(family, socket.SOCK_STREAM)
        s.bind((host, 0))
        s.listen(64)
        self.socks.append(s)
        return s.getsockname()[1]

    def command(self, line, timeout=3):
        """One runtime API command; returns its output."""
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
            s.settimeout(scaled(timeout))
            s.connect(self.stats_path)
            s.sendall(line.encode() + b"\n")
            out = bytearray()
            while True:
                chunk = s.recv(65536)
                if not chunk:
                    return out.decode("utf-8", "replace")
                out += chunk

    def servers(self):
        """{server name: its `show stat` row} of the ocspgate backend."""
        text = self.command("show stat").lstrip("# ")
        rows = csv.DictReader(io.StringIO(text))
        return {r["svname"]: r for r in rows
                if r.get("pxname") == BACKEND
                and r.get("svname") not in ("FRONTEND", "BACKEND")}

    def wait_servers(self, predicate, timeout=10):
        """Waits until predicate(servers()) holds; returns the rows."""
        deadline = time.monotonic() + scaled(timeout)
        while True:
            rows = self.servers()
            if predicate(rows):
                return rows
            if time.monotonic() > deadline or self.proc.poll() is not None:
                raise AssertionError("haproxy servers: %s\n%s" % (
                    json.dumps({k: {f: v.get(f) for f in (
                        "status", "check_status", "last_chk", "lbtot")}
                        for k, v in rows.items()}), self.log()))
            time.sleep(0.1)

    def log(self):
        return "stdout:\n%s\nstderr:\n%s" % (self.out.text()[-3000:],
                                              self.err.text()[-3000:])

    def close_sockets(self):
        for s in self.socks:
            s.close()
        self.socks = []

    def stop(self):
        if self.proc is not None:
            stop_process(self.proc, grace=3)
            for p in (self.proc.stdout, self.proc.stderr):
                try:
                    p.close()
                except OSError:
                    pass
        self.close_sockets()


def checks_ok(rows):
    return len(rows) == 2 and all(
        r["status"] == "UP" and r["check_status"] == "L4OK"
        for r in rows.values())


class BehindHAProxy(PPTestCase):
    """Two ocspgate instances behind the shipped HAProxy config."""

    def start_pair(self):
        gates = [self.start_pp_proxy(name="gate%d" % i) for i in (1, 2)]
        return gates

    def start_haproxy(self, gates, **kw):
        h = HAProxy(self.tmp, ["127.0.0.1:%d" % g.port for g in gates],
                    **kw)
        self.addCleanup(h.stop)
        return h

    def post_from(self, port, src, dst="127.0.0.1", ua="pp-test"):
        """One OCSP POST on its own connection from source <src>; returns
        (response, the client's source port)."""
        url = "http://ocsp.ca.test:%d/" % self.resp.port
        with SourceClient(port, src, dst, timeout=10) as c:
            c.send(ocsp_post(url, self.ocsp_der(),
                             headers=[("User-Agent", ua)]))
            resp = c.read_response(timeout=10)
            return resp, c.local_port

    def assert_allowed_from(self, gates, src, sport, ua=None):
        i, ev = self.event_of(gates, src, sport)
        self.assertEqual(get(ev, "event.action"), "allow", json.dumps(ev))
        self.assertEqual(get(ev, "event.reason"), "ocsp_request")
        self.assertEqual(get(ev, "http.response.status_code"), 200)
        self.assertEqual(get(ev, "destination.domain"), "ocsp.ca.test")
        if ua:
            self.assertEqual(get(ev, "user_agent.original"), ua)
        return i, ev

    def assert_event_total(self, gates, n, wait=0.3):
        time.sleep(scaled(wait))
        evs = [ev for g in gates for ev in g.events()]
        self.assertEqual(len(evs), n, json.dumps(evs, indent=1)[:4000])

    def test_v2_client_address_and_spread(self):
        """send-proxy-v2: a client bound to 127.0.0.5 gets a real OCSP
        answer through HAProxy; the event names 127.0.0.5 and its port,
        not HAProxy's address; leastconn spreads four concurrent
        connections two by two; one event per request in all."""
        gates = self.start_pair()
        h = self.start_haproxy(gates)
        clients = []
        try:
            url = "http://ocsp.ca.test:%d/" % self.resp.port
            for k in range(4):
                c = SourceClient(h.port, "127.0.0.5", timeout=10)
                clients.append(c)
                # Each connection stays open while the next one is made,
                # so that leastconn must pick the other instance.
                c.send(ocsp_post(url, self.ocsp_der(),
                                 headers=[("User-Agent", "pp-v2-%d" % k)]))
                self.assert_good_answer(c.read_response(timeout=10),
                                        "request %d" % k)
            ports = [c.local_port for c in clients]
        finally:
            for c in clients:
                c.close()
        where = []
        for k, sport in enumerate(ports):
            i, _ = self.assert_allowed_from(gates, "127.0.0.5", sport,
                                             "pp-v2-%d" % k)
            where.append(i)
        self.assertEqual(sorted(where), [0, 0, 1, 1],
                         "leastconn should put two connections on each "
                         "instance: %r" % where)
        self.assert_event_total(gates, 4)

    def test_health_checks_leave_no_event(self):
        """HAProxy's checks (a v2 LOCAL header, then close) pass on both
        instances and leave nothing in their event logs."""
        gates = self.start_pair()
        h = self.start_haproxy(gates)
        h.wait_servers(checks_ok)
        for g in gates:
            self.assertTrue(g.alive())
            self.assertEqual(g.events(), [], "a health check was logged")

    def test_v1_send_proxy(self):
        """send-proxy (v1 text header): same result, and the v1 health
        checks (a TCP4 line for the check's own connection) pass without
        events."""
        gates = self.start_pair()
        h = self.start_haproxy(gates, version=1)
        self.assertNotIn("send-proxy-v2", h.cfg.read_text())
        h.wait_servers(checks_ok)
        self.assert_event_total(gates, 0, wait=0)
        resp, sport = self.post_from(h.port, "127.0.0.5", ua="pp-v1")
        self.assert_good_answer(resp)
        self.assert_allowed_from(gates, "127.0.0.5", sport, "pp-v1")
        self.assert_event_total(gates, 1)

    def test_openssl_client_through_haproxy(self):
        """A real OCSP client (`openssl ocsp -proxy`) through HAProxy:
        verified answer; the event names the loopback client."""
        gates = self.start_pair()
        h = self.start_haproxy(gates)
        r = openssl_ocsp_client(self.pki, h.port, self.url(),
                                certs=("good", "revoked"),
                                headers=[("User-Agent", "pp-openssl")],
                                tmpdir=self.tmp)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertEqual(r.statuses, {"good": "good", "revoked": "revoked"})
        self.assertIn("Response verify OK", r.stderr + r.stdout)
        deadline = time.monotonic() + scaled(5)
        while time.monotonic() < deadline:
            evs = [ev for g in gates for ev in g.events()]
            if evs:
                break
            time.sleep(0.02)
        self.assertEqual(len(evs), 1, json.dumps(evs)[:3000])
        ev = evs[0]
        self.assertEqual(get(ev, "source.ip"), "127.0.0.1")
        self.assertEqual(get(ev, "user_agent.original"), "pp-openssl")
        self.assertEqual(get(ev, "event.reason"), "ocsp_request")

    def test_curl_from_bound_source(self):
        """curl --interface 127.0.0.5 -x HAProxy: the OCSP GET form, and
        a blocked request, both attributed to 127.0.0.5."""
        gates = self.start_pair()
        h = self.start_haproxy(gates)
        path = base64.b64encode(self.ocsp_der()).decode()
        path = path.replace("+", "%2B").replace("/", "%2F").replace(
            "=", "%3D")
        out = self.tmp / "curl.body"
        for url, status in (("%s%s" % (self.url(), path), 200),
                            ("http://other.test:%d/" % self.resp.port, 403)):
            p = run(["curl", "-sS", "--path-as-is", "--interface",
                     "127.0.0.5", "-x", "http://127.0.0.1:%d" % h.port,
                     "-A", "pp-curl", "-o", str(out), "-w", "%{http_code}",
                     "--max-time", str(int(scaled(15))), url],
                    timeout=20, check=False)
            self.assertEqual(p.stdout.decode().strip(), str(status),
                             p.stderr.decode())
        deadline = time.monotonic() + scaled(5)
        while time.monotonic() < deadline:
            evs = [ev for g in gates for ev in g.events()]
            if len(evs) >= 2:
                break
            time.sleep(0.02)
        self.assertEqual(len(evs), 2, json.dumps(evs)[:3000])
        self.assertEqual({get(ev, "source.ip") for ev in evs},
                         {"127.0.0.5"})
        self.assertEqual(sorted(get(ev, "event.reason") for ev in evs),
                         ["ocsp_request", "unknown_responder"])

    def test_failover(self):
        """One instance stops: the checks take it out, and every new
        connection is served by the other, one event each."""
        gates = self.start_pair()
        h = self.start_haproxy(gates)
        h.wait_servers(checks_ok)
        gates[1].stop()
        h.wait_servers(lambda rows: rows["gate2"]["status"].startswith(
            "DOWN") and rows["gate1"]["status"] == "UP", timeout=15)
        ports = []
        for k in range(3):
            resp, sport = self.post_from(h.port, "127.0.0.5",
                                         ua="pp-failover-%d" % k)
            self.assert_good_answer(resp)
            ports.append(sport)
        for sport in ports:
            i, _ = self.assert_allowed_from(gates, "127.0.0.5", sport)
            self.assertEqual(i, 0)
        self.assert_event_total(gates, 3)

    @unittest.skipUnless(ipv6_loopback(), "no IPv6 loopback here")
    def test_ipv6_client(self):
        """A client on ::1 through HAProxy's IPv6 listener: HAProxy talks
        to ocspgate over IPv4, the v2 header carries the IPv6 client."""
        gates = self.start_pair()
        h = self.start_haproxy(gates, ipv6=True)
        resp, sport = self.post_from(h.port6, "::1", dst="::1",
                                     ua="pp-ipv6")
        self.assert_good_answer(resp)
        self.assert_allowed_from(gates, "::1", sport, "pp-ipv6")
        self.assert_event_total(gates, 1)


class DirectConnections(PPTestCase):
    """Raw connections to a proxy_protocol listener, without HAProxy."""

    def setUp(self):
        super().setUp()
        self.url_ = "http://ocsp.ca.test:%d/" % self.resp.port

    def request(self):
        return ocsp_post(self.url_, self.ocsp_der())

    def assert_closed_silently(self, c, timeout=5):
        """The peer closed (FIN or RST) without sending a byte."""
        self.assertTrue(c.wait_closed(timeout), "connection left open")
        self.assertEqual(bytes(c.buf), b"", "an answer was sent")

    def refused_event(self, proxy, ip, port, timeout=5):
        ev = proxy.wait_event(lambda e: get(e, "source.port") == port
                              and get(e, "source.ip") == ip, timeout)
        self.assertEqual(get(ev, "event.reason"), "proxy_protocol_invalid",
                         json.dumps(ev))
        self.assertEqual(get(ev, "event.action"), "block")
        self.assertTrue(get(ev, "ocspgate.detail"))
        return ev

    def test_plain_http_without_header(self):
        p = self.start_pp_proxy()
        with Client(p.port) as c:
            c.send(self.request())
            self.assert_closed_silently(c)
            port = c.local_port
        self.refused_event(p, "127.0.0.1", port)
        self.assert_no_more_events(p, 1)

    def test_source_not_in_proxy_protocol_from(self):
        """From 127.0.0.9 while only 127.0.0.1/32 may send headers: closed
        at once, even with a valid header; the event names 127.0.0.9."""
        p = self.start_pp_proxy(
            listeners=[self.pp_listener(sources=["127.0.0.1/32"])])
        with SourceClient(p.port, "127.0.0.9") as c:
            port = c.local_port
            try:
                c.send(v2_header("192.0.2.7", 4242) + self.request())
            except OSError:
                pass  # already closed
            self.assert_closed_silently(c)
        ev = self.refused_event(p, "127.0.0.9", port)
        self.assertNotEqual(get(ev, "source.ip"), "192.0.2.7")
        self.assert_no_more_events(p, 1)

    def test_invalid_headers(self):
        """Headers that lie or break the spec: closed without an answer,
        one event each naming the connecting peer."""
        valid = v2_header("192.0.2.7", 4242)
        cases = {
            "v2 bad version": V2_SIG + b"\x11\x11\x00\x0c" + valid[16:],
            "v2 bad command": V2_SIG + b"\x2f\x11\x00\x0c" + valid[16:],
            "v2 bad family": V2_SIG + b"\x21\x31\x00\x0c" + valid[16:],
            "v2 length too short for TCP4":
                v2_header("192.0.2.7", 4242, length=4)[:20],
            "v2 length over 4096": v2_header("192.0.2.7", 4242,
                                             length=0xffff),
            # the length claims 40 bytes: the request's first bytes are
            # read as a TLV, whose length overruns the header
            "v2 length covering the request": v2_header(
                "192.0.2.7", 4242, length=40),
            "v2 TLV overrun": v2_header("192.0.2.7", 4242,
                                        tlvs=b"\x04\x00\x20xx"),
            "v1 bad address": b"PROXY TCP4 192.0.2.300 127.0.0.1 1 2\r\n",
            "v1 IPv6 in TCP4": b"PROXY TCP4 ::1 127.0.0.1 1 2\r\n",
            "v1 port out of range": b"PROXY TCP4 192.0.2.7 127.0.0.1 "
                                    b"70000 3128\r\n",
            "v1 bare LF": b"PROXY TCP4 192.0.2.7 127.0.0.1 1 2\n",
            "v1 lowercase": b"proxy TCP4 192.0.2.7 127.0.0.1 1 2\r\n",
            "v1 no CRLF in 107 bytes": b"PROXY TCP6 " + b"1" * 120,
        }
        p = self.start_pp_proxy()
        ports = {}
        for name, header in cases.items():
            with self.subTest(name):
                with Client(p.port) as c:
                    ports[name] = c.local_port
                    try:
                        c.send(header + self.request())
                    except OSError:
                        pass
                    self.assert_closed_silently(c)
        for name, port in ports.items():
            with self.subTest(name):
                ev = self.refused_event(p, "127.0.0.1", port)
                self.assertNotIn("http", ev)
        self.assert_no_more_events(p, len(cases))

    def test_truncated_header_times_out(self):
        """Part of a v2 header, then nothing: closed after client_timeout,
        logged."""
        p = self.start_pp_proxy(client_timeout=1)
        with Client(p.port, timeout=10) as c:
            c.send(v2_header("192.0.2.7", 4242)[:20])
            t0 = time.monotonic()
            self.assert_closed_silently(c, timeout=5)
            elapsed = time.monotonic() - t0
            port = c.local_port
        self.assertGreaterEqual(elapsed, 0.8)
        ev = self.refused_event(p, "127.0.0.1", port)
        self.assertGreaterEqual(get(ev, "event.duration"), 800_000_000)

    def test_truncated_header_then_close(self):
        """Part of a v2 header, then the client closes: an invalid header,
        logged as proxy_protocol_invalid."""
        p = self.start_pp_proxy()
        for cut in (5, 20):
            with Client(p.port) as c:
                c.send(v2_header("192.0.2.7", 4242)[:cut])
                c.sock.shutdown(socket.SHUT_WR)
                self.assert_closed_silently(c)
                port = c.local_port
            self.refused_event(p, "127.0.0.1", port, timeout=2)

    def test_empty_connection_and_bare_header_leave_no_event(self):
        """A connection that sends nothing, and one that sends only a
        valid header (a health check), close without events."""
        p = self.start_pp_proxy()
        with Client(p.port) as c:
            pass
        for header in (v2_local(), b"PROXY UNKNOWN\r\n",
                       v2_header("192.0.2.7", 4242)):
            with Client(p.port) as c:
                c.send(header)
                c.sock.shutdown(socket.SHUT_WR)
                self.assert_closed_silently(c)
        self.assert_no_more_events(p, 0)

    def test_header_gives_source(self):
        """Valid headers sent by hand: v2 TCP4, v2 TCP6, v1 TCP4 and TCP6,
        each followed by an OCSP request answered 200; the event's source
        is the header's client, also for a second request on the same
        connection."""
        p = self.start_pp_proxy()
        cases = [
            (v2_header("192.0.2.7", 4242), "192.0.2.7", 4242),
            (v2_header("2001:db8::7", 4243), "2001:db8::7", 4243),
            (b"PROXY TCP4 198.51.100.9 127.0.0.1 4244 3128\r\n",
             "198.51.100.9", 4244),
            (b"PROXY TCP6 2001:db8::9 ::1 4245 3128\r\n", "2001:db8::9",
             4245),
        ]
        n = 0
        for header, ip, port in cases:
            with self.subTest(ip):
                with Client(p.port, timeout=10) as c:
                    c.send(header + self.request())
                    self.assert_good_answer(c.read_response(timeout=10))
                    c.send(self.request())
                    self.assert_good_answer(c.read_response(timeout=10))
                n += 2
                evs = [ev for ev in p.wait_events(n)[n - 2:n]]
                for ev in evs:
                    self.assertEqual(get(ev, "source.ip"), ip)
                    self.assertEqual(get(ev, "source.port"), port)
                    self.assertEqual(get(ev, "event.reason"), "ocsp_request")

    def test_header_in_pieces(self):
        """A v2 header arriving a few bytes at a time is still read."""
        p = self.start_pp_proxy()
        data = v2_header("192.0.2.77", 5000) + self.request()
        with Client(p.port, timeout=10) as c:
            for i in range(0, 42, 3):
                c.send(data[i:i + 3])
                time.sleep(0.01)
            c.send(data[42:])
            self.assert_good_answer(c.read_response(timeout=10))
        ev = p.wait_events(1)[0]
        self.assertEqual(get(ev, "source.ip"), "192.0.2.77")
        self.assertEqual(get(ev, "source.port"), 5000)

    def test_local_keeps_peer_address(self):
        """v2 LOCAL (and v1 UNKNOWN) before a request: the source is the
        connecting peer itself."""
        p = self.start_pp_proxy()
        for header in (v2_local(), b"PROXY UNKNOWN\r\n"):
            with self.subTest(header[:6]):
                with Client(p.port, timeout=10) as c:
                    c.send(header + self.request())
                    self.assert_good_answer(c.read_response(timeout=10))
                    port = c.local_port
                ev = p.wait_event(lambda e: get(e, "source.port") == port)
                self.assertEqual(get(ev, "source.ip"), "127.0.0.1")

    @unittest.skipUnless(ipv6_loopback(), "no IPv6 loopback here")
    def test_ipv6_balancer(self):
        """A balancer on ::1 (listed in proxy_protocol_from) may send a
        header; without one it is refused like any other."""
        p = self.start_pp_proxy(listeners=[self.pp_listener(
            address="[::1]:0")])
        with Client(p.port, host="::1", timeout=10) as c:
            c.send(v2_header("192.0.2.8", 4300) + self.request())
            self.assert_good_answer(c.read_response(timeout=10))
        ev = p.wait_events(1)[0]
        self.assertEqual(get(ev, "source.ip"), "192.0.2.8")
        with Client(p.port, host="::1") as c:
            c.send(self.request())
            self.assert_closed_silently(c)
            port = c.local_port
        self.refused_event(p, "::1", port)

    def test_plain_listener_beside(self):
        """A plain listener in the same config takes requests without a
        header, and a PROXY line there is not honoured."""
        p = self.start_pp_proxy(listeners=["127.0.0.2:0",
                                           self.pp_listener()])
        plain = p.address_port(0)
        with Client(plain, host="127.0.0.2", timeout=10) as c:
            c.send(self.request())
            self.assert_good_answer(c.read_response(timeout=10))
            port = c.local_port
        ev = p.wait_event(lambda e: get(e, "source.port") == port)
        self.assertTrue(get(ev, "source.ip").startswith("127."))
        with Client(plain, host="127.0.0.2", timeout=10) as c:
            c.send(b"PROXY TCP4 192.0.2.7 127.0.0.1 1 2\r\n" +
                   self.request())
            r = c.read_response(timeout=10)
            self.assertEqual(r.status, 400)
        self.assertNotIn("192.0.2.7", json.dumps(p.events()))


if __name__ == "__main__":
    unittest.main()
