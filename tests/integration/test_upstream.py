"""The upstream side: failures (502/504), what is forwarded, how replies
are relayed, and monitor mode forwarding blocked requests."""

import time
import unittest

from ocspgate_harness import (
    Client, FakeDNS, ProxyTestCase, assert_refusal,
    free_port, get, get_cryptoapi, http_request, ocsp_post, ocsp_request_der,
    scaled, seq_bodies, upstream_seq)

HOP_BY_HOP = ("keep-alive", "proxy-connection", "proxy-authorization", "te",
              "trailer", "upgrade", "transfer-encoding")


class UpstreamTestCase(ProxyTestCase):
    RESPONDERS = 0

    def setUp(self):
        super().setUp()
        self.der = ocsp_request_der([self.pki.cert_id("good")])

    def post(self, proxy, url, der=None, headers=(), timeout=10):
        with Client(proxy.port, timeout=timeout) as c:
            t0 = time.monotonic()
            c.send(ocsp_post(url, der or self.der, headers=headers))
            r = c.read_response(timeout=timeout)
            return r, time.monotonic() - t0

    def failed_event(self, proxy, reason, status, n=1, **fields):
        return self.expect_event(proxy, n, event__action="allow",
                                 event__reason=reason,
                                 ocspgate__enforced=True,
                                 http__response__status_code=status,
                                 **fields)


class FailureTests(UpstreamTestCase):

    def test_refused(self):
        port = free_port()
        spec = "ocsp.ca.test:%d" % port
        proxy = self.start_proxy(responders=[spec])
        url = "http://%s/" % spec
        with Client(proxy.port) as c:
            c.send(ocsp_post(url, self.der))
            assert_refusal(self, c.read_response(), 502,
                           "upstream_unreachable")
            # the client connection stays usable after a 502
            c.send(ocsp_post(url, self.der))
            assert_refusal(self, c.read_response(), 502,
                           "upstream_unreachable")
        self.failed_event(proxy, "upstream_unreachable", 502, 2,
                          destination__domain="ocsp.ca.test",
                          destination__port=port,
                          ocspgate__responder=spec)

    def test_name_does_not_resolve(self):
        rec = self.upstream()
        spec = "nx.ca.test:%d" % rec.port
        proxy = self.start_proxy(responders=[spec])
        r, elapsed = self.post(proxy, "http://%s/" % spec)
        assert_refusal(self, r, 502, "upstream_unreachable")
        self.assertLess(elapsed, scaled(5))
        self.failed_event(proxy, "upstream_unreachable", 502,
                          destination__domain="nx.ca.test")
        self.assertIn("nx.ca.test", self.env.dns.names(),
                      "the configured resolver was not asked")
        self.assertEqual(rec.connection_count(), 0)

    def test_resolver_servfail(self):
        dns = FakeDNS("servfail")
        self.addCleanup(dns.stop)
        spec = "sf.ca.test:%d" % free_port()
        proxy = self.start_proxy(responders=[spec], resolvers=[dns.address])
        r, elapsed = self.post(proxy, "http://%s/" % spec)
        assert_refusal(self, r, 502, "upstream_unreachable")
        self.assertLess(elapsed, scaled(8))
        self.failed_event(proxy, "upstream_unreachable", 502)
        self.assertIn("sf.ca.test", dns.names())

    def test_resolver_never_answers(self):
        """A resolver that drops every query: upstream_timeout covers the
        name lookup, so the request ends after it with 504."""
        dns = FakeDNS("drop")
        self.addCleanup(dns.stop)
        spec = "drop.ca.test:%d" % free_port()
        proxy = self.start_proxy(responders=[spec], resolvers=[dns.address],
                                 upstream_timeout=1)
        r, elapsed = self.post(proxy, "http://%s/" % spec, timeout=30)
        assert_refusal(self, r, 504, "upstream_timeout")
        self.failed_event(proxy, "upstream_timeout", 504,
                          destination__domain="drop.ca.test")
        self.assertIn("drop.ca.test", dns.names())
        self.assertGreaterEqual(elapsed, 0.9)
        self.assertLess(elapsed, scaled(3.5),
                        "a silent resolver held the request %.1fs" % elapsed)

    def test_stalled_upstream_times_out(self):
        rec = self.upstream(mode="stall")
        spec = "ocsp.ca.test:%d" % rec.port
        proxy = self.start_proxy(responders=[spec], upstream_timeout=1)
        url = "http://%s/" % spec
        with Client(proxy.port) as c:
            t0 = time.monotonic()
            c.send(ocsp_post(url, self.der))
            r = c.read_response(timeout=10)
            elapsed = time.monotonic() - t0
            assert_refusal(self, r, 504, "upstream_timeout")
            self.assertGreaterEqual(elapsed, 0.9)
            self.assertLess(elapsed, scaled(3.5))
            # the client connection stays usable after a 504
            c.send(ocsp_post("http://other.test:%d/" % rec.port, self.der))
            assert_refusal(self, c.read_response(), 403,
                           "unknown_responder")
        ev = self.failed_event(proxy, "upstream_timeout", 504, 1,
                               destination__ip="127.0.0.1")
        self.assertGreaterEqual(get(ev, "event.duration"), 900_000_000,
                                "event.duration is in nanoseconds")
        self.assertEqual(len(rec.wait_requests(1)), 1,
                         "the request reached the upstream")

    def test_upstream_resets(self):
        rec = self.upstream(mode="reset")
        spec = "ocsp.ca.test:%d" % rec.port
        proxy = self.start_proxy(responders=[spec])
        r, _ = self.post(proxy, "http://%s/" % spec)
        self.assertEqual(r.status, 502)
        ev = self.expect_event(proxy, http__response__status_code=502)
        self.assertIn(get(ev, "event.reason"),
                      ("upstream_unreachable", "response_malformed"))
        assert_refusal(self, r, 502, get(ev, "event.reason"))

    def test_upstream_closes_without_reply(self):
        rec = self.upstream(mode="close")
        spec = "ocsp.ca.test:%d" % rec.port
        proxy = self.start_proxy(responders=[spec])
        r, _ = self.post(proxy, "http://%s/" % spec)
        self.assertEqual(r.status, 502)
        ev = self.expect_event(proxy, http__response__status_code=502)
        self.assertIn(get(ev, "event.reason"),
                      ("upstream_unreachable", "response_malformed"))
        assert_refusal(self, r, 502, get(ev, "event.reason"))

    def test_upstream_garbage(self):
        rec = self.upstream(mode="garbage")
        spec = "ocsp.ca.test:%d" % rec.port
        proxy = self.start_proxy(responders=[spec])
        r, _ = self.post(proxy, "http://%s/" % spec)
        assert_refusal(self, r, 502, "response_malformed")
        self.failed_event(proxy, "response_malformed", 502)


class RelayTests(UpstreamTestCase):
    """Framings of an answer to an allowed request, relayed intact (after
    inspection, so the body is a real OCSP response to that request)."""

    RESPONDERS = 1

    def relay(self, mode):
        with Client(self.resp.port) as c:
            c.send(ocsp_post("/", self.der, host="ocsp.ca.test",
                             connection="close"))
            self.BODY = c.read_response().body
        rec = self.upstream(mode=mode, body_for=seq_bodies(self.BODY))
        spec = "ocsp.ca.test:%d" % rec.port
        proxy = self.start_proxy(responders=[spec])
        r, _ = self.post(proxy, "http://%s/" % spec)
        self.assertEqual(r.status, 200)
        self.assertEqual(r.body, rec.body_for(1))
        self.assertEqual(r.header("content-type"),
                         "application/ocsp-response")
        self.assertEqual(upstream_seq(r, rec), "1")
        self.expect_event(proxy, event__reason="ocsp_request",
                          http__response__status_code=200)
        return r

    def test_content_length_response(self):
        self.relay("ok")

    def test_chunked_response(self):
        self.relay("chunked")

    def test_close_delimited_response(self):
        self.relay("close_delimited")

    def test_keep_alive_after_relayed_response(self):
        rec = self.seq_upstream()
        spec = "ocsp.ca.test:%d" % rec.port
        proxy = self.start_proxy(responders=[spec])
        with Client(proxy.port) as c:
            for i in (1, 2, 3):
                c.send(ocsp_post("http://%s/" % spec, self.der))
                r = c.read_response()
                self.assertEqual(r.status, 200)
                self.assertEqual(upstream_seq(r, rec), str(i))
        self.assertEqual(len(proxy.wait_events(3)), 3)

    def test_connection_close_honoured(self):
        """HTTP/1.0 without keep-alive, or Connection: close, ends the
        client connection after the reply (relayed or ocspgate's own)."""
        rec = self.upstream()
        spec = "ocsp.ca.test:%d" % rec.port
        proxy = self.start_proxy(responders=[spec])
        cases = [
            ("http10 relayed", http_request(
                "POST", "http://%s/" % spec, body=self.der,
                content_type="application/ocsp-request",
                version="HTTP/1.0"), 200),
            ("close relayed", ocsp_post("http://%s/" % spec, self.der,
                                        connection="close"), 200),
            ("http10 refused", http_request(
                "POST", "http://other.test:%d/" % rec.port, body=self.der,
                content_type="application/ocsp-request",
                version="HTTP/1.0"), 403),
            ("close refused", ocsp_post("http://other.test:%d/" % rec.port,
                                        self.der, connection="close"), 403),
        ]
        for name, data, status in cases:
            with self.subTest(name):
                with Client(proxy.port) as c:
                    c.send(data)
                    self.assertEqual(c.read_response().status, status)
                    self.assertTrue(c.wait_closed(3), "left open")

    def test_keep_alive_after_close_delimited_upstream(self):
        rec = self.upstream(mode="close_delimited", body=b"\x30\x03\x0a\x01"
                            b"\x03")
        spec = "ocsp.ca.test:%d" % rec.port
        proxy = self.start_proxy(responders=[spec])
        with Client(proxy.port) as c:
            c.send(ocsp_post("http://%s/" % spec, self.der))
            r = c.read_response()
            self.assertEqual(r.body, b"\x30\x03\x0a\x01\x03")
            if not r.close_delimited:
                # framed for the client: the connection may go on
                c.send(ocsp_post("http://%s/" % spec, self.der))
                self.assertEqual(c.read_response().status, 200)


class ForwardingTests(UpstreamTestCase):

    def setUp(self):
        super().setUp()
        self.rec = self.upstream()
        self.spec = "ocsp.ca.test:%d" % self.rec.port
        self.proxy = self.start_proxy(responders=[
            self.spec, self.spec + "/ocsp"])
        self.url = "http://%s/" % self.spec

    def forwarded(self, data, n=1):
        with Client(self.proxy.port) as c:
            c.send(data)
            r = c.read_response()
        self.assertEqual(r.status, 200)
        reqs = self.rec.wait_requests(n)
        self.assertEqual(len(reqs), n)
        return reqs[-1]

    def assert_clean(self, req):
        self.assertEqual(req.version, "HTTP/1.1")
        self.assertEqual(req.header_all("host"), [self.spec])
        for name in HOP_BY_HOP:
            self.assertIsNone(req.header(name), "%s forwarded" % name)
        conn = req.header("connection")
        if conn is not None:
            tokens = {t.strip().lower() for t in conn.split(",")}
            self.assertLessEqual(tokens, {"close", "keep-alive"},
                                 "Connection: %s" % conn)

    def test_post_forwarded(self):
        data = ocsp_post(self.url, self.der, headers=[
            ("User-Agent", "curl/8.5.0 fwd-test"),
            ("X-Keep", "yes"),
            ("Connection", "keep-alive, X-Hop"),
            ("X-Hop", "must go"),
            ("Keep-Alive", "timeout=5"),
            ("Proxy-Connection", "keep-alive"),
            ("Proxy-Authorization", "Basic dXNlcjpwYXNz"),
            ("TE", "trailers"),
            ("Trailer", "X-T"),
        ])
        req = self.forwarded(data)
        self.assertEqual((req.method, req.target), ("POST", "/"))
        self.assert_clean(req)
        self.assertIsNone(req.header("x-hop"), "header named in Connection")
        # Not one a certificate-status client needs: dropped (test_headers).
        self.assertIsNone(req.header("x-keep"))
        # The first product of a known client (test_headers).
        self.assertEqual(req.header("user-agent"), "curl/8.5")
        self.assertEqual(req.header("content-type"),
                         "application/ocsp-request")
        self.assertEqual(req.header_all("content-length"),
                         [str(len(self.der))])
        self.assertEqual(req.body, self.der)

    def test_upgrade_header_removed(self):
        req = self.forwarded(ocsp_post(self.url, self.der, headers=[
            ("Upgrade", "h2c")]))
        self.assert_clean(req)
        self.assertEqual(req.body, self.der)

    def test_chunked_body_forwarded_with_length(self):
        body = b"".join(b"%x\r\n%s\r\n" % (len(self.der[i:i + 10]),
                                           self.der[i:i + 10])
                        for i in range(0, len(self.der), 10))
        data = http_request("POST", self.url, headers=[
            ("Content-Type", "application/ocsp-request"),
            ("Transfer-Encoding", "chunked")]) + body + b"0\r\n\r\n"
        req = self.forwarded(data)
        self.assert_clean(req)
        self.assertEqual(req.header_all("content-length"),
                         [str(len(self.der))])
        self.assertEqual(req.body, self.der)
        self.expect_event(self.proxy, event__reason="ocsp_request",
                          http__request__body__bytes=len(self.der))

    def test_path_and_get_forwarded(self):
        req = self.forwarded(ocsp_post(self.url + "ocsp/x", self.der))
        self.assertEqual(req.target, "/ocsp/x")
        path = "/" + get_cryptoapi(self.der)
        req = self.forwarded(http_request("GET", self.url[:-1] + path), 2)
        self.assertEqual((req.method, req.target), ("GET", path))
        self.assert_clean(req)
        self.assertEqual(req.body, b"")

    def test_nothing_extra_reaches_upstream(self):
        data = ocsp_post(self.url, self.der)
        req = self.forwarded(data)
        self.assertEqual(self.rec.received(), req.raw)


class MonitorTests(UpstreamTestCase):

    def setUp(self):
        super().setUp()
        self.rec = self.seq_upstream()
        self.other = self.seq_upstream()
        self.spec = "ocsp.ca.test:%d" % self.rec.port
        self.proxy = self.start_proxy(mode="monitor", responders=[
            self.spec], max_request_body=256)
        self.url = "http://%s/" % self.spec

    def exchange(self, data):
        with Client(self.proxy.port) as c:
            c.send(data)
            return c.read_response()

    def monitored(self, data, reason, upstream, status=200):
        """Forwarded despite the block: the upstream's reply comes back."""
        r = self.exchange(data)
        self.assertEqual(r.status, status)
        self.assertEqual(upstream_seq(r, upstream), "1",
                         "reply not relayed from the upstream")
        self.assertEqual(len(upstream.wait_requests(1)), 1)
        return r, self.expect_event(self.proxy, event__action="block",
                                    event__reason=reason,
                                    ocspgate__enforced=False,
                                    ocspgate__mode="monitor",
                                    http__response__status_code=status)

    def test_unknown_responder_forwarded(self):
        url = "http://other.test:%d/" % self.other.port
        r, ev = self.monitored(ocsp_post(url, self.der),
                               "unknown_responder", self.other)
        self.assertEqual(r.body, self.other.body_for(1))
        self.assertEqual(get(ev, "destination.domain"), "other.test")
        self.assertEqual(get(ev, "destination.ip"), "127.0.0.1")
        req = self.other.requests[0]
        self.assertEqual(req.header_all("host"),
                         ["other.test:%d" % self.other.port])
        self.assertEqual(req.body, self.der)
        self.assertEqual(self.rec.connection_count(), 0)

    def test_put_forwarded(self):
        _, ev = self.monitored(http_request(
            "PUT", self.url, body=b"payload",
            content_type="application/octet-stream"),
            "method_not_allowed", self.rec)
        req = self.rec.requests[0]
        self.assertEqual((req.method, req.target, req.body),
                         ("PUT", "/", b"payload"))
        self.assertEqual(get(ev, "http.request.method"), "PUT")

    def test_delete_forwarded(self):
        self.monitored(http_request("DELETE", self.url), "method_not_allowed",
                       self.rec)

    def test_not_ocsp_forwarded(self):
        _, ev = self.monitored(http_request("GET", self.url + "index.html"),
                               "not_ocsp", self.rec)
        self.assertEqual(self.rec.requests[0].target, "/index.html")
        self.assertEqual(get(ev, "ocspgate.responder"), self.spec)

    def test_ocsp_malformed_forwarded(self):
        self.monitored(http_request("POST", self.url, body=b"junk",
                                    content_type="application/ocsp-request"),
                       "ocsp_malformed", self.rec)
        self.assertEqual(self.rec.requests[0].body, b"junk")

    def test_allowed_in_monitor(self):
        r = self.exchange(ocsp_post(self.url, self.der))
        self.assertEqual(r.status, 200)
        self.expect_event(self.proxy, event__action="allow",
                          event__reason="ocsp_request",
                          ocspgate__enforced=True, ocspgate__mode="monitor")

    def test_connect_refused_in_monitor(self):
        target = "ocsp.ca.test:%d" % self.rec.port
        r = self.exchange(http_request("CONNECT", target, host=target))
        assert_refusal(self, r, 403, "method_not_allowed")
        self.expect_event(self.proxy, event__action="block",
                          event__reason="method_not_allowed",
                          ocspgate__enforced=True, ocspgate__mode="monitor")
        self.assertEqual(self.rec.connection_count(), 0)

    def test_malformed_http_refused_in_monitor(self):
        data = (b"POST %s HTTP/1.1\r\nHost: ocsp.ca.test\r\n"
                b"Content-Length: 3\r\nContent-Length: 4\r\n\r\nabcd"
                % self.url.encode())
        with Client(self.proxy.port) as c:
            c.send(data)
            assert_refusal(self, c.read_response(), 400, "http_malformed")
            self.assertTrue(c.wait_closed(3))
        self.expect_event(self.proxy, event__action="block",
                          event__reason="http_malformed",
                          ocspgate__enforced=True, ocspgate__mode="monitor")
        self.assertEqual(self.rec.connection_count(), 0)

    def test_body_too_large_refused_in_monitor(self):
        with Client(self.proxy.port) as c:
            c.send(ocsp_post(self.url, b"\x30" * 300))
            assert_refusal(self, c.read_response(), 413, "body_too_large")
            self.assertTrue(c.wait_closed(3))
        self.expect_event(self.proxy, event__action="block",
                          event__reason="body_too_large",
                          ocspgate__enforced=True, ocspgate__mode="monitor")
        self.assertEqual(self.rec.connection_count(), 0)

    def test_keep_alive_across_monitored_requests(self):
        url = "http://other.test:%d/" % self.other.port
        with Client(self.proxy.port) as c:
            c.send(ocsp_post(url, self.der))
            self.assertEqual(upstream_seq(c.read_response(), self.other),
                             "1")
            c.send(ocsp_post(self.url, self.der))
            self.assertEqual(upstream_seq(c.read_response(), self.rec), "1")
        evs = self.proxy.wait_events(2)
        self.assertEqual([get(e, "event.action") for e in evs],
                         ["block", "allow"])


if __name__ == "__main__":
    unittest.main()
