"""Malformed HTTP and request smuggling: each attempt gets 400 (431 for an
oversized head), the connection is closed, the event says
http_malformed, nothing reaches the upstream, and the proxy still serves
a good request afterwards."""

import unittest

from ocspgate_harness import (
    Client, ProxyTestCase, assert_refusal, get, ocsp_post, ocsp_request_der)

CT = b"Content-Type: application/ocsp-request\r\n"


def chunked(body, size=16):
    return b"".join(b"%x\r\n%s\r\n" % (len(body[i:i + size]),
                                       body[i:i + size])
                    for i in range(0, len(body), size)) + b"0\r\n\r\n"


def cases(url, host, port, der):
    """name -> raw request bytes, all refused with 400."""
    u = url.encode()
    h = b"Host: " + host.encode() + b"\r\n"
    post = b"POST " + u + b" HTTP/1.1\r\n" + h + CT
    n = len(der)
    smuggled = ocsp_post(url, der)
    c = {}
    # -- message length ------------------------------------------------
    body = b"0\r\n\r\n" + smuggled
    c["cl_and_te"] = (post + b"Content-Length: %d\r\n" % len(body)
                      + b"Transfer-Encoding: chunked\r\n\r\n" + body)
    c["te_and_cl"] = (post + b"Transfer-Encoding: chunked\r\n"
                      + b"Content-Length: %d\r\n\r\n" % len(body) + body)
    c["two_different_cl"] = (post + b"Content-Length: %d\r\n" % n
                             + b"Content-Length: %d\r\n\r\n" % (n + 1)
                             + der + b"X")
    c["repeated_identical_cl"] = (post + b"Content-Length: %d\r\n" % n
                                  + b"Content-Length: %d\r\n\r\n" % n + der)
    c["cl_list"] = post + b"Content-Length: %d, %d\r\n\r\n" % (n, n) + der
    c["cl_negative"] = post + b"Content-Length: -1\r\n\r\n" + der
    c["cl_plus_sign"] = post + b"Content-Length: +%d\r\n\r\n" % n + der
    c["cl_not_a_number"] = post + b"Content-Length: abc\r\n\r\n" + der
    c["cl_overflow"] = (post + b"Content-Length: 184467440737095516170\r\n"
                        b"\r\n" + der)
    te = post + b"Transfer-Encoding: chunked\r\n\r\n"
    c["chunk_size_zz"] = te + b"zz\r\n" + der + b"\r\n0\r\n\r\n"
    c["chunk_size_negative"] = te + b"-1\r\n" + der + b"\r\n0\r\n\r\n"
    c["chunk_size_overlong"] = (te + b"1" + b"0" * 20 + b"\r\n" + der
                                + b"\r\n0\r\n\r\n")
    c["chunk_size_0x"] = te + b"0x10\r\n" + der[:16] + b"\r\n0\r\n\r\n"
    c["chunk_data_overrun"] = (te + b"%x\r\n" % (n - 2) + der
                               + b"\r\n0\r\n\r\n")
    c["te_xchunked"] = (post + b"Transfer-Encoding: xchunked\r\n\r\n"
                        + chunked(der))
    c["te_chunked_identity"] = (post + b"Transfer-Encoding: chunked, "
                                b"identity\r\n\r\n" + chunked(der))
    c["te_twice"] = (post + b"Transfer-Encoding: chunked\r\n"
                     b"Transfer-Encoding: chunked\r\n\r\n" + chunked(der))
    c["te_vertical_tab"] = (post + b"Transfer-Encoding:\x0bchunked\r\n\r\n"
                            + chunked(der))
    c["te_in_http10"] = (b"POST " + u + b" HTTP/1.0\r\n" + h + CT
                         + b"Transfer-Encoding: chunked\r\n\r\n"
                         + chunked(der))
    # -- header syntax -------------------------------------------------
    cl = b"Content-Length: %d\r\n" % n
    c["obs_fold_space"] = (post + b"User-Agent: a\r\n b\r\n" + cl + b"\r\n"
                           + der)
    c["obs_fold_tab"] = (post + b"User-Agent: a\r\n\tb\r\n" + cl + b"\r\n"
                         + der)
    c["obs_fold_first_line"] = (b"POST " + u + b" HTTP/1.1\r\n x: y\r\n" + h
                                + CT + cl + b"\r\n" + der)
    c["nul_in_header_value"] = (post + b"User-Agent: a\x00b\r\n" + cl
                                + b"\r\n" + der)
    c["nul_in_request_line"] = (b"POST " + u + b"\x00 HTTP/1.1\r\n" + h + CT
                                + cl + b"\r\n" + der)
    c["bare_cr_in_value"] = (post + b"User-Agent: a\rb\r\n" + cl + b"\r\n"
                             + der)
    c["bare_cr_line_end"] = (post + b"User-Agent: a\rX-Other: b\r\n" + cl
                             + b"\r\n" + der)
    c["bare_lf_everywhere"] = (b"POST " + u + b" HTTP/1.1\n" + h[:-2] + b"\n"
                               + CT[:-2] + b"\n" + cl[:-2] + b"\n\n" + der)
    c["bare_lf_one_line"] = (post + b"User-Agent: a\n" + cl + b"\r\n" + der)
    c["space_before_colon"] = (post + b"User-Agent : a\r\n" + cl + b"\r\n"
                               + der)
    c["space_before_colon_cl"] = (post + b"Content-Length : %d\r\n\r\n" % n
                                  + der)
    c["header_name_at_sign"] = (post + b"X-B@d: 1\r\n" + cl + b"\r\n" + der)
    c["header_name_space"] = (post + b"X Bad: 1\r\n" + cl + b"\r\n" + der)
    c["header_name_8bit"] = (post + b"X-\xe9t\xe9: 1\r\n" + cl + b"\r\n"
                             + der)
    c["header_empty_name"] = (post + b": 1\r\n" + cl + b"\r\n" + der)
    c["header_no_colon"] = (post + b"NoColonHere\r\n" + cl + b"\r\n" + der)
    c["header_value_ctl"] = (post + b"User-Agent: a\x01b\r\n" + cl + b"\r\n"
                             + der)
    # -- Host against the absolute-form target -------------------------
    t = b"POST " + u + b" HTTP/1.1\r\n"
    c["host_other"] = t + b"Host: other.test\r\n" + CT + cl + b"\r\n" + der
    c["host_other_port"] = (t + b"Host: %s:%d\r\n" % (host.encode(),
                                                     port + 1)
                            + CT + cl + b"\r\n" + der)
    c["host_twice"] = (t + h + h + CT + cl + b"\r\n" + der)
    c["host_missing"] = t + CT + cl + b"\r\n" + der
    c["host_with_userinfo"] = (t + b"Host: other.test@" + host.encode()
                               + b"\r\n" + CT + cl + b"\r\n" + der)
    c["target_with_userinfo"] = (b"POST http://other.test@" + host.encode()
                                 + b":%d/ HTTP/1.1\r\n" % port + h + CT + cl
                                 + b"\r\n" + der)
    # -- request line --------------------------------------------------
    c["garbage_line"] = b"GARBAGE\r\n\r\n"
    c["method_only"] = b"GET\r\n\r\n"
    c["extra_field"] = b"GET " + u + b" HTTP/1.1 extra\r\n" + h + b"\r\n"
    c["double_space"] = b"GET  " + u + b" HTTP/1.1\r\n" + h + b"\r\n"
    c["bad_version"] = b"GET " + u + b" HTTX/1.1\r\n" + h + b"\r\n"
    c["http2_preface"] = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"
    c["lowercase_method"] = b"post " + u + b" HTTP/1.1\r\n" + h + CT + cl \
        + b"\r\n" + der
    # A dot segment could walk out of a responder's path prefix once the
    # upstream normalises the path.
    c["dot_segment"] = (b"POST " + u + b"ocsp/../admin HTTP/1.1\r\n" + h + CT
                        + cl + b"\r\n" + der)
    c["dot_segment_encoded"] = (b"POST " + u + b"ocsp/%2E%2e/admin HTTP/1.1"
                                b"\r\n" + h + CT + cl + b"\r\n" + der)
    c["origin_form"] = (b"POST / HTTP/1.1\r\n" + h + CT + cl + b"\r\n"
                        + der)
    c["https_absolute_form"] = (b"POST https://" + host.encode()
                                + b":%d/ HTTP/1.1\r\n" % port + h + CT + cl
                                + b"\r\n" + der)
    return c


class SmugglingTests(ProxyTestCase):
    RESPONDERS = 0
    SETTINGS = {}

    def setUp(self):
        super().setUp()
        self.rec = self.upstream()
        self.spec = "ocsp.ca.test:%d" % self.rec.port
        self.proxy = self.start_proxy(**dict(self.SETTINGS,
                                             responders=[self.spec]))
        self.der = ocsp_request_der([self.pki.cert_id("good")])
        self.url = "http://%s/" % self.spec

    def good_request_works(self, n_before):
        """A valid request on a new connection is forwarded, alone."""
        with Client(self.proxy.port) as c:
            c.send(ocsp_post(self.url, self.der))
            r = c.read_response()
        self.assertEqual(r.status, 200)
        reqs = self.rec.wait_requests(1)
        self.assertEqual(len(reqs), 1)
        self.assertEqual(reqs[0].body, self.der)
        self.assertEqual(self.rec.received(), reqs[0].raw,
                         "the upstream got more than the good request")
        evs = self.proxy.wait_events(n_before + 1)
        self.assertEqual(get(evs[-1], "event.reason"), "ocsp_request")
        self.assertEqual(len(evs), n_before + 1,
                         "one event per request expected")

    def refused(self, data, status=400):
        with Client(self.proxy.port) as c:
            c.send(data)
            r = c.read_response()
            assert_refusal(self, r, status, "http_malformed")
            self.assertTrue(c.wait_closed(3),
                            "connection not closed after %d" % status)
            self.assertEqual(bytes(c.buf), b"",
                             "bytes after the refusal")
        self.expect_event(self.proxy, 1, event__action="block",
                          event__reason="http_malformed",
                          ocspgate__enforced=True,
                          http__response__status_code=status)
        self.assertEqual(self.rec.connection_count(), 0,
                         "the upstream was connected to")
        self.good_request_works(1)


def _make(name):
    def test(self):
        data = cases(self.url, "ocsp.ca.test", self.rec.port, self.der)[name]
        self.refused(data)
    test.__name__ = "test_" + name
    return test


for _name in cases("http://h:1/", "h", 1, b"\x30\x00"):
    setattr(SmugglingTests, "test_" + _name, _make(_name))


class HostHeaderAcceptedTests(ProxyTestCase):
    """Host forms that agree with the target pass; upstream always gets a
    Host built from the target."""
    RESPONDERS = 0

    def test_accepted_host_forms(self):
        rec = self.upstream()
        spec = "ocsp.ca.test:%d" % rec.port
        proxy = self.start_proxy(responders=[spec])
        der = ocsp_request_der([self.pki.cert_id("good")])
        url = "http://%s/" % spec
        forms = ["OCSP.CA.TEST", "ocsp.ca.test", spec, "Ocsp.Ca.Test:%d"
                 % rec.port]
        for i, host in enumerate(forms, 1):
            with self.subTest(host=host):
                with Client(proxy.port) as c:
                    c.send(ocsp_post(url, der, host=host))
                    self.assertEqual(c.read_response().status, 200)
                reqs = rec.wait_requests(i)
                self.assertEqual(len(reqs), i)
                self.assertEqual(reqs[-1].header_all("host"), [spec])
                self.expect_event(proxy, i, event__reason="ocsp_request")


class HeaderLimitTests(ProxyTestCase):
    RESPONDERS = 0

    def setUp(self):
        super().setUp()
        self.rec = self.upstream()
        self.spec = "ocsp.ca.test:%d" % self.rec.port
        self.proxy = self.start_proxy(responders=[self.spec],
                                      max_header_bytes=1024)
        self.der = ocsp_request_der([self.pki.cert_id("good")])
        self.url = "http://%s/" % self.spec

    def too_big(self, data):
        with Client(self.proxy.port) as c:
            c.send(data)
            r = c.read_response()
            assert_refusal(self, r, 431, "http_malformed")
            self.assertTrue(c.wait_closed(3), "connection not closed")
        self.expect_event(self.proxy, 1, event__action="block",
                          event__reason="http_malformed",
                          http__response__status_code=431)
        self.assertEqual(self.rec.connection_count(), 0)
        with Client(self.proxy.port) as c:
            c.send(ocsp_post(self.url, self.der))
            self.assertEqual(c.read_response().status, 200)

    def test_long_header(self):
        self.too_big(ocsp_post(self.url, self.der,
                               headers=[("User-Agent", "u" * 2000)]))

    def test_many_headers(self):
        self.too_big(ocsp_post(self.url, self.der, headers=[
            ("X-H%d" % i, "v" * 10) for i in range(100)]))

    def test_long_request_line(self):
        self.too_big(ocsp_post(self.url + "a" * 2000, self.der))

    def test_head_never_ending(self):
        # No end of head at all: refused once the limit is passed, without
        # waiting for the rest.
        self.too_big(b"POST " + self.url.encode() + b" HTTP/1.1\r\n"
                     + b"X-Fill: " + b"f" * 4000)

    def test_head_within_limit(self):
        data = ocsp_post(self.url, self.der,
                         headers=[("User-Agent", "u" * 700)])
        self.assertLess(data.index(b"\r\n\r\n") + 4, 900)
        with Client(self.proxy.port) as c:
            c.send(data)
            self.assertEqual(c.read_response().status, 200)
        self.expect_event(self.proxy, 1, event__reason="ocsp_request")


if __name__ == "__main__":
    unittest.main()
