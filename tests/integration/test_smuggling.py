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


# --------------------------------------------------------------------------
# Shapes from public request smuggling research (CL.TE, TE.CL, TE.TE
# obfuscations, chunk-size and chunk-extension tricks, request-line and
# Content-Length quirks). Each one is refused: 400 (431 for an oversized
# head), connection closed, nothing forwarded.

def research_cases(url, host, der):
    """name -> (raw request bytes, status)."""
    u = url.encode()
    h = b"Host: " + host.encode() + b"\r\n"
    line = b"POST " + u + b" HTTP/1.1\r\n"
    post = line + h + CT
    n = len(der)
    cl = b"Content-Length: %d\r\n" % n
    body = chunked(der)
    c = {}
    # -- CL.TE and TE.CL, as in the classic write-ups --------------------
    c["cl_te_classic"] = (post + b"Content-Length: 13\r\n"
                          b"Transfer-Encoding: chunked\r\n\r\n"
                          b"0\r\n\r\nSMUGGLED")
    c["te_cl_classic"] = (post + b"Content-Length: 3\r\n"
                          b"Transfer-Encoding: chunked\r\n\r\n"
                          b"8\r\nSMUGGLED\r\n0\r\n\r\n")
    c["cl_te_smuggled_get"] = (
        post + b"Content-Length: 54\r\nTransfer-Encoding: chunked\r\n\r\n"
        b"0\r\n\r\nGET http://" + host.encode() + b"/x HTTP/1.1\r\nX: X")
    # -- TE.TE: obfuscated Transfer-Encoding, alone and next to a CL ------
    te_forms = {
        "te_space_before_colon": b"Transfer-Encoding : chunked",
        "te_tab_before_colon": b"Transfer-Encoding\t: chunked",
        "te_xchunked_alone": b"Transfer-Encoding: xchunked",
        "te_chunked_twice_in_list": b"Transfer-Encoding: chunked, chunked",
        "te_identity_then_chunked": b"Transfer-encoding: identity, chunked",
        "te_gzip_then_chunked": b"Transfer-Encoding: gzip, chunked",
        "te_unknown_then_chunked": b"Transfer-Encoding: foo, chunked",
        "te_xchunked_then_chunked": b"Transfer-Encoding: xchunked, chunked",
        "te_vertical_tab_value": b"Transfer-Encoding:\x0bchunked",
        "te_form_feed_value": b"Transfer-Encoding:\x0cchunked",
        "te_quoted": b'Transfer-Encoding: "chunked"',
        "te_chunked_then_identity_lines": b"Transfer-Encoding: chunked\r\n"
                                          b"Transfer-Encoding: identity",
        "te_identity_then_chunked_lines": b"Transfer-Encoding: identity\r\n"
                                          b"Transfer-Encoding: chunked",
        "te_duplicate_lines": b"Transfer-Encoding: chunked\r\n"
                              b"Transfer-Encoding: chunked",
        "te_bare_cr_in_value": b"Transfer-Encoding: chun\rked",
        "te_folded": b"Transfer-Encoding:\r\n chunked",
        "te_folded_tab": b"Transfer-Encoding: x\r\n\tchunked",
        "te_nul_in_value": b"Transfer-Encoding: chunked\x00",
        "te_name_8bit": b"Transfer-Encoding\xff: chunked",
        "te_trailing_comma_garbage": b"Transfer-Encoding: chunked, x",
    }
    for name, te in te_forms.items():
        c[name] = post + te + b"\r\n\r\n" + body
        c[name + "_with_cl"] = (post + b"Content-Length: %d\r\n" % len(body)
                                + te + b"\r\n\r\n" + body)
    for name, te in lenient_te_forms().items():
        c[name + "_with_cl"] = (post + b"Content-Length: %d\r\n" % len(body)
                                + te + b"\r\n\r\n" + body)
    # -- chunk sizes and extensions ---------------------------------------
    te = post + b"Transfer-Encoding: chunked\r\n\r\n"
    c["chunk_ext_bare_lf"] = te + b"%x;ext\n" % n + der + b"\r\n0\r\n\r\n"
    c["chunk_ext_bare_cr"] = (te + b"%x;ext\rX\r\n" % n + der
                              + b"\r\n0\r\n\r\n")
    c["chunk_ext_bare_cr_value"] = (te + b"%x;a=b\rc\r\n" % n + der
                                    + b"\r\n0\r\n\r\n")
    c["chunk_ext_nul"] = te + b"%x;a\x00\r\n" % n + der + b"\r\n0\r\n\r\n"
    c["chunk_size_bare_lf"] = te + b"%x\n" % n + der + b"\r\n0\r\n\r\n"
    c["chunk_data_bare_lf"] = te + b"%x\r\n" % n + der + b"\n0\r\n\r\n"
    c["chunk_data_no_crlf"] = te + b"%x\r\n" % n + der + b"0\r\n\r\n"
    c["last_chunk_bare_lf"] = te + b"%x\r\n" % n + der + b"\r\n0\n\n"
    c["chunk_size_0x5"] = te + b"0x5\r\n" + der[:5] + b"\r\n0\r\n\r\n"
    c["chunk_size_trailing_space"] = (te + b"%x \r\n" % n + der
                                      + b"\r\n0\r\n\r\n")
    c["chunk_size_trailing_tab"] = (te + b"%x\t\r\n" % n + der
                                    + b"\r\n0\r\n\r\n")
    c["chunk_size_leading_space"] = (te + b" %x\r\n" % n + der
                                     + b"\r\n0\r\n\r\n")
    c["chunk_size_plus"] = te + b"+%x\r\n" % n + der + b"\r\n0\r\n\r\n"
    c["chunk_size_very_long_hex"] = (te + b"f" * 17 + b"\r\n" + der
                                     + b"\r\n0\r\n\r\n")
    c["chunk_size_2_pow_64"] = (te + b"10000000000000000\r\n" + der
                                + b"\r\n0\r\n\r\n")
    c["chunk_size_empty"] = te + b"\r\n" + der + b"\r\n0\r\n\r\n"
    c["chunk_size_underscore"] = (te + b"4_6\r\n" + der + b"\r\n0\r\n\r\n")
    c["chunk_trailer_field"] = (te + b"%x\r\n" % n + der
                                + b"\r\n0\r\nX-Trailer: 1\r\n\r\n")
    # -- request line ------------------------------------------------------
    rest = h + CT + cl + b"\r\n" + der
    c["request_line_bare_cr_in_target"] = (b"POST " + u + b"\rX HTTP/1.1"
                                           b"\r\n" + rest)
    c["request_line_bare_cr_end"] = b"POST " + u + b" HTTP/1.1\r" + rest
    c["request_line_bare_lf_in_target"] = (b"POST " + u + b"\nX HTTP/1.1"
                                           b"\r\n" + rest)
    c["request_line_bare_lf_end"] = b"POST " + u + b" HTTP/1.1\n" + rest
    c["request_line_nul_in_method"] = (b"PO\x00ST " + u + b" HTTP/1.1\r\n"
                                       + rest)
    c["request_line_nul_in_target"] = (b"POST " + u + b"\x00a HTTP/1.1\r\n"
                                       + rest)
    c["request_line_nul_in_version"] = (b"POST " + u + b" HTTP/1.1\x00\r\n"
                                        + rest)
    c["request_line_tab_separator"] = b"POST\t" + u + b" HTTP/1.1\r\n" + rest
    c["request_line_leading_space"] = b" POST " + u + b" HTTP/1.1\r\n" + rest
    c["request_line_trailing_space"] = (b"POST " + u + b" HTTP/1.1 \r\n"
                                        + rest)
    c["request_line_http09"] = b"GET " + u + b"\r\n\r\n"
    # -- Content-Length quirks -----------------------------------------------
    cl_values = {
        "cl_1_comma_1": b"1,1",
        "cl_plus_1": b"+1",
        "cl_hex_0x1": b"0x1",
        "cl_minus_zero": b"-0",
        "cl_negative_length": b"-%d" % n,
        "cl_space_inside": b"%d %d" % (n // 10, n % 10),
        "cl_vertical_tab_before": b"\x0b%d" % n,
        "cl_form_feed_before": b"\x0c%d" % n,
        "cl_trailing_tab": b"%d\t" % n,
        "cl_decimal_point": b"%d.0" % n,
        "cl_exponent": b"%de0" % n,
        "cl_empty": b"",
        "cl_trailing_comma": b"%d," % n,
        "cl_leading_comma": b",%d" % n,
        "cl_quoted": b'"%d"' % n,
        "cl_arabic_indic_digit": "\u0667\u0660".encode(),
        "cl_fullwidth_digit": "\uff17\uff10".encode(),
        "cl_30_digits": b"9" * 30,
        "cl_2_pow_64_plus_n": b"%d" % ((1 << 64) + n),
        "cl_nul_after": b"%d\x00" % n,
    }
    for name, v in cl_values.items():
        c[name] = post + b"Content-Length: " + v + b"\r\n\r\n" + der
    c["cl_leading_space_on_name_line"] = (post + b" Content-Length: %d\r\n"
                                          b"\r\n" % n + der)
    c["cl_tab_before_colon"] = post + b"Content-Length\t: %d\r\n\r\n" % n + der
    c["cl_same_value_twice"] = post + cl + cl + b"\r\n" + der
    c["cl_zero_and_n"] = (post + b"Content-Length: 0\r\n" + cl + b"\r\n"
                          + der)
    out = {k: (v, 400) for k, v in c.items()}
    # -- oversized (default max_header_bytes, 16384) -------------------------
    out["request_line_overlong"] = (b"POST " + u + b"a" * 20000
                                    + b" HTTP/1.1\r\n" + rest, 431)
    out["header_line_overlong"] = (post + b"X-Long: " + b"a" * 20000
                                   + b"\r\n" + cl + b"\r\n" + der, 431)
    out["header_name_overlong"] = (post + b"X-" + b"n" * 20000 + b": 1\r\n"
                                   + cl + b"\r\n" + der, 431)
    return out


def lenient_te_forms():
    """Transfer-Encoding forms that RFC 9110/9112 permit (optional
    whitespace, case, empty list elements)."""
    return {
        "te_tab_before_value": b"Transfer-Encoding:\tchunked",
        "te_uppercase_value": b"Transfer-Encoding: CHUNKED",
        "te_lowercase_name": b"transfer-encoding: chunked",
        "te_trailing_space": b"Transfer-Encoding: chunked ",
        "te_trailing_tab": b"Transfer-Encoding: chunked\t",
        "te_spaces_before_value": b"Transfer-Encoding:   chunked",
        "te_empty_list_element_before": b"Transfer-Encoding: , chunked",
        "te_empty_list_element_after": b"Transfer-Encoding: chunked,",
    }


def lenient_cases(url, host, der):
    """name -> raw request bytes that the RFCs allow. ocspgate may refuse
    them (400, as a gate may be stricter than the RFC) or accept them;
    what it forwards is then the body de-chunked, with Content-Length."""
    u = url.encode()
    post = (b"POST " + u + b" HTTP/1.1\r\nHost: " + host.encode() + b"\r\n"
            + CT)
    n = len(der)
    c = {}
    for name, te in lenient_te_forms().items():
        c[name] = post + te + b"\r\n\r\n" + chunked(der)
    te = post + b"Transfer-Encoding: chunked\r\n\r\n"

    def ext_chunks(ext):
        return b"".join(b"%x%s\r\n%s\r\n" % (len(der[i:i + 16]), ext,
                                             der[i:i + 16])
                        for i in range(0, n, 16)) + b"0\r\n\r\n"
    c["chunk_ext_name_value"] = te + ext_chunks(b";name=value")
    c["chunk_ext_quoted_value"] = te + ext_chunks(b';name="v a;l\\"ue"')
    c["chunk_ext_name_only"] = te + ext_chunks(b";name")
    c["chunk_ext_several"] = te + ext_chunks(b";a=1;b;c=\"x\"")
    c["chunk_ext_space_before_semicolon"] = te + ext_chunks(b" ;name=v")
    c["chunk_ext_on_last_chunk"] = (te + b"%x\r\n" % n + der
                                    + b"\r\n0;name=value\r\n\r\n")
    c["chunk_size_leading_zeros"] = (te + b"0" * 40 + b"%x\r\n" % n + der
                                     + b"\r\n0\r\n\r\n")
    c["chunk_size_uppercase_hex"] = (te + b"%X\r\n" % n + der
                                     + b"\r\n0\r\n\r\n")
    c["last_chunk_00"] = te + b"%x\r\n" % n + der + b"\r\n000\r\n\r\n"
    c["chunk_one_byte_each"] = te + chunked(der, 1)
    c["chunk_empty_trailer_section"] = (te + b"%x\r\n" % n + der
                                        + b"\r\n0\r\n\r\n")
    # RFC 9112 2.2: a server SHOULD ignore an empty line before the
    # request line.
    c["empty_line_before_request_line"] = (b"\r\n" + post
                                           + b"Content-Length: %d\r\n\r\n"
                                           % n + der)
    for name, v in {"cl_spaces_before_value": b"   %d" % n,
                    "cl_tab_before_value": b"\t%d" % n,
                    "cl_trailing_space": b"%d " % n,
                    "cl_leading_zeros": b"000%d" % n}.items():
        c[name] = post + b"Content-Length: " + v + b"\r\n\r\n" + der
    return c


def _make_research(name):
    def test(self):
        data, status = research_cases(self.url, "ocsp.ca.test",
                                      self.der)[name]
        self.refused(data, status)
    test.__name__ = "test_research_" + name
    return test


for _name in research_cases("http://h:1/", "h", b"\x30\x00"):
    assert not hasattr(SmugglingTests, "test_research_" + _name), _name
    setattr(SmugglingTests, "test_research_" + _name, _make_research(_name))


class LenientFramingTests(ProxyTestCase):
    """Framing the RFCs allow: refused with 400, or accepted and then
    forwarded de-chunked with a Content-Length, never in the client's
    framing, and nothing more than the one request reaches the
    upstream."""
    RESPONDERS = 0

    def setUp(self):
        super().setUp()
        self.rec = self.upstream()
        self.spec = "ocsp.ca.test:%d" % self.rec.port
        self.proxy = self.start_proxy(responders=[self.spec])
        self.der = ocsp_request_der([self.pki.cert_id("good")])
        self.url = "http://%s/" % self.spec

    def check(self, data):
        with Client(self.proxy.port) as c:
            c.send(data)
            r = c.read_response()
            if r.status == 400:
                assert_refusal(self, r, 400, "http_malformed")
                self.assertTrue(c.wait_closed(3), "left open after 400")
                self.expect_event(self.proxy, 1,
                                  event__reason="http_malformed")
                self.assertEqual(self.rec.connection_count(), 0)
                return
            self.assertEqual(r.status, 200, r.body)
        reqs = self.rec.wait_requests(1)
        self.assertEqual(len(reqs), 1)
        req = reqs[0]
        self.assertEqual(req.header_all("content-length"),
                         [str(len(self.der))])
        self.assertEqual(req.header_all("transfer-encoding"), [])
        self.assertEqual(req.body, self.der)
        self.assertEqual(self.rec.received(), req.raw,
                         "more than the one request reached the upstream")
        self.assertNotIn(b"chunked", req.raw.lower())
        self.expect_event(self.proxy, 1, event__reason="ocsp_request",
                          http__request__body__bytes=len(self.der))


def _make_lenient(name):
    def test(self):
        self.check(lenient_cases(self.url, "ocsp.ca.test", self.der)[name])
    test.__name__ = "test_" + name
    return test


for _name in lenient_cases("http://h:1/", "h", b"\x30\x00"):
    setattr(LenientFramingTests, "test_" + _name, _make_lenient(_name))


if __name__ == "__main__":
    unittest.main()
