"""Requests ocspgate refuses by policy (403, 413): each with its reason,
its event, and proof that the upstream it would have reached got nothing."""

import unittest

from ocspgate_harness import (
    HASH_OIDS, CertID, Client, ProxyTestCase, assert_refusal, der,
    der_extension,
    der_int, der_octets, der_oid, der_read, der_seq, get,
    get_cryptoapi, http_request, nonce_extension, ocsp_post,
    ocsp_request_der, openssl_ocsp_client)

OCSP_CT = "application/ocsp-request"


class BlockTestCase(ProxyTestCase):
    RESPONDERS = 1
    SETTINGS = {}

    def setUp(self):
        super().setUp()
        # Every configured responder, and other.test (which resolves to
        # 127.0.0.1 too), points at recording upstreams: a refused request
        # must reach none of them.
        self.rec = self.upstream()
        self.rec2 = self.upstream()
        self.proxy = self.start_proxy(**dict(self.SETTINGS, responders=[
            "ocsp.ca.test:%d" % self.rec.port,
            {"host": "ocsp2.ca.test:%d" % self.rec2.port,
             "issuers": [str(self.pki.ca)]},
            {"host": "ocsp2.ca.test:%d" % self.resp.port,
             "issuers": [str(self.pki.ca)]},
        ]))
        self.der = ocsp_request_der([self.pki.cert_id("good")])

    def rec_url(self, host="ocsp.ca.test", path="/", port=None):
        return "http://%s:%d%s" % (host, port or self.rec.port, path)

    def assert_nothing_forwarded(self):
        for u in (self.rec, self.rec2):
            self.assertEqual(u.connection_count(), 0,
                             "an upstream was connected to")
            self.assertEqual(u.received(), b"")

    def refused(self, data, status, reason, n=1, head_only=False):
        """Sends data on a new connection; checks the refusal, its event
        and that nothing was forwarded. Returns (response, event)."""
        with Client(self.proxy.port) as c:
            c.send(data)
            r = c.read_response(head_only=head_only)
            if head_only:
                self.assertEqual(r.status, status)
            else:
                assert_refusal(self, r, status, reason)
            if status in (400, 413, 431):
                self.assertTrue(c.wait_closed(3),
                                "connection left open after %d" % status)
        ev = self.expect_event(self.proxy, n, event__action="block",
                               event__reason=reason,
                               ocspgate__enforced=True,
                               ocspgate__mode="enforce",
                               http__response__status_code=status)
        self.assert_nothing_forwarded()
        return r, ev


class UnknownResponderTests(BlockTestCase):

    def test_unknown_host(self):
        _, ev = self.refused(ocsp_post(self.rec_url("other.test"), self.der),
                             403, "unknown_responder")
        self.assertEqual(get(ev, "destination.domain"), "other.test")
        self.assertEqual(get(ev, "destination.port"), self.rec.port)
        self.assertEqual(get(ev, "http.request.method"), "POST")
        self.assertEqual(get(ev, "url.original"), self.rec_url("other.test"))
        self.assertNotIn("responder", ev.get("ocspgate", {}))
        self.assertIsInstance(get(ev, "ocspgate.detail"), str)

    def test_wrong_port(self):
        # rec2 listens there, but ocsp.ca.test is allowed only on rec's port
        self.refused(ocsp_post(self.rec_url(port=self.rec2.port), self.der),
                     403, "unknown_responder")

    def test_default_port(self):
        self.refused(ocsp_post("http://ocsp.ca.test/", self.der), 403,
                     "unknown_responder")

    def test_subdomain_of_exact_host(self):
        self.refused(ocsp_post(self.rec_url("x.ocsp.ca.test"), self.der),
                     403, "unknown_responder")

    def test_ip_of_allowed_host(self):
        self.refused(ocsp_post(self.rec_url("127.0.0.1"), self.der), 403,
                     "unknown_responder")

    def test_keep_alive_after_403(self):
        with Client(self.proxy.port) as c:
            for _ in range(2):
                c.send(ocsp_post(self.rec_url("other.test"), self.der))
                assert_refusal(self, c.read_response(), 403,
                               "unknown_responder")
            c.send(ocsp_post(self.rec_url(), self.der))
            r = c.read_response()
            self.assertEqual(r.status, 200)
        self.proxy.wait_events(3)
        self.assertEqual(len(self.rec.requests), 1)


class NotOcspTests(BlockTestCase):

    def test_get_root(self):
        _, ev = self.refused(http_request("GET", self.rec_url()), 403,
                             "not_ocsp")
        self.assertEqual(get(ev, "http.request.method"), "GET")
        self.assertEqual(get(ev, "ocspgate.responder"),
                         "ocsp.ca.test:%d" % self.rec.port)

    def test_get_garbage_paths(self):
        paths = ["/index.html", "/favicon.ico", "/?q=1", "/%zz%",
                 "/not%20base64!", "/.well-known/x", "/a..b"]
        for n, path in enumerate(paths, 1):
            with self.subTest(path=path):
                self.refused(http_request("GET", self.rec_url(path=path)),
                             403, "not_ocsp", n)

    def test_post_wrong_content_type(self):
        for n, ct in enumerate(["text/plain", "application/ocsp-response",
                                "application/octet-stream",
                                "application/x-www-form-urlencoded"], 1):
            with self.subTest(ct=ct):
                self.refused(http_request("POST", self.rec_url(), body=self.der,
                                          content_type=ct),
                             403, "not_ocsp", n)

    def test_post_without_content_type(self):
        self.refused(http_request("POST", self.rec_url(), body=self.der),
                     403, "not_ocsp")


def _malformed_cases(pki):
    ca = pki.ca_info
    good = pki.cert_id("good")
    cases = {
        "garbage": b"hello, world",
        "empty_body": b"",
        "trailing_byte": ocsp_request_der([good]) + b"\x00",
        "truncated": ocsp_request_der([good])[:-3],
        "nonce_33_bytes": ocsp_request_der([good], nonce=b"\x33" * 33),
        "nonce_empty": ocsp_request_der([good], nonce=b""),
        "no_certs": ocsp_request_der([]),
        "nine_certs": ocsp_request_der(
            [CertID.of(ca, 0x1000 + i) for i in range(9)]),
        "serial_21_octets": ocsp_request_der(
            [CertID.of(ca, int.from_bytes(b"\x01" * 21, "big"))]),
        "serial_zero": ocsp_request_der([CertID.of(ca, 0)]),
        "serial_negative": ocsp_request_der([CertID.of(ca, -5)]),
        "serial_non_minimal": ocsp_request_der(
            [CertID("sha1", good.issuer_name_hash, good.issuer_key_hash, 0,
                    serial_raw=b"\x00\x1a\x2b\x3c")]),
        "unknown_hash_md5": ocsp_request_der([good.der(
            alg_oid="1.2.840.113549.2.5")]),
        "sha1_hash_too_long": ocsp_request_der(
            [CertID("sha1", b"\x01" * 32, b"\x02" * 32, 5)]),
        "sha256_hash_too_short": ocsp_request_der(
            [CertID("sha256", b"\x01" * 20, b"\x02" * 20, 5)]),
        "unknown_request_extension": ocsp_request_der(
            [good], extensions=[der_extension("1.2.3.4.5", b"\x05\x00")]),
        "unknown_single_extension": ocsp_request_der(
            [good], single_ext=der_extension("1.2.3.4.5", b"\x05\x00")),
        "non_canonical_length": b"\x30\x81" + ocsp_request_der([good])[1:],
        "version_v2": ocsp_request_der([good], version=1),
        # Fields few clients send: refused unless the config allows them.
        "requestor_name_not_allowed": ocsp_request_der(
            [good], requestor_name=der(0x82, b"client.test")),
        "signed_not_allowed": ocsp_request_der([good], signature=der_seq(
            der_seq(der_oid("1.2.840.10045.4.3.2")),
            der(0x03, b"\x00" + b"\x5a" * 3000))),
        "service_locator_not_allowed": ocsp_request_der(
            [good], single_ext=der_extension(
                "1.3.6.1.5.5.7.48.1.7", der_seq(pki.ca_info.subject_der))),
        # Known extensions whose value is chosen bytes: parsed by content.
        "acceptable_responses_chosen_bytes": ocsp_request_der(
            [good], extensions=[der_extension(
                "1.3.6.1.5.5.7.48.1.4", der_octets(bytes(range(256)) * 8))]),
        "acceptable_responses_unknown_oid": ocsp_request_der(
            [good], extensions=[der_extension(
                "1.3.6.1.5.5.7.48.1.4", der_seq(der_oid("1.2.3.4")))]),
        "preferred_signature_chosen_bytes": ocsp_request_der(
            [good], extensions=[der_extension(
                "1.3.6.1.5.5.7.48.1.8", der_seq(der_seq(der_seq(
                    der_oid("1.2.3.4"), der_octets(b"\x5a" * 2000)))))]),
        "nonce_twice": ocsp_request_der(
            [good], nonce=b"\x01" * 16,
            extensions=[nonce_extension(b"\x02" * 16)]),
        "hash_params_not_null": ocsp_request_der([der_seq(
            der_seq(der_oid(HASH_OIDS["sha1"]), der_int(0)),
            der_octets(good.issuer_name_hash),
            der_octets(good.issuer_key_hash), der_int(good.serial))]),
        "not_a_sequence": der_octets(ocsp_request_der([good])),
        "two_requests_concatenated": ocsp_request_der([good]) * 2,
    }
    # Long-form length on an inner element (the CertID), all else intact.
    _, content, _ = der_read(good.der())
    noncanon = b"\x30\x81" + bytes([len(content)]) + content
    cases["non_canonical_inner_length"] = der_seq(der_seq(der_seq(
        der_seq(noncanon))))
    return cases


class OcspMalformedTests(BlockTestCase):

    def test_malformed_der(self):
        cases = _malformed_cases(self.pki)
        for n, (name, body) in enumerate(cases.items(), 1):
            with self.subTest(name):
                _, ev = self.refused(http_request(
                    "POST", self.rec_url(path="/" + name), body=body,
                    content_type=OCSP_CT), 403, "ocsp_malformed", n)
                self.assertIsInstance(get(ev, "ocspgate.detail"), str)

    def test_get_path_decodes_to_bad_der(self):
        # One DER SEQUENCE that is no OCSPRequest: found, then refused.
        der_bytes = der_seq(der_int(5), der_octets(b"\x01" * 40))
        _, ev = self.refused(http_request(
            "GET", self.rec_url(path="/" + get_cryptoapi(der_bytes))), 403,
            "ocsp_malformed")
        self.assertEqual(get(ev, "http.request.method"), "GET")
        # A request with bytes after it is no single DER value at all.
        der_bytes = ocsp_request_der([self.pki.cert_id("good")]) + b"\0" * 3
        self.refused(http_request(
            "GET", self.rec_url(path="/" + get_cryptoapi(der_bytes))), 403,
            "not_ocsp", 2)

    def test_nonce_is_counted_as_value_octets(self):
        # 32 value octets pass although the extension value is 34 octets.
        r = Client(self.proxy.port)
        self.addCleanup(r.close)
        r.send(ocsp_post(self.rec_url(), ocsp_request_der(
            [self.pki.cert_id("good")], nonce=b"\x01" * 32)))
        self.assertEqual(r.read_response().status, 200)
        self.expect_event(self.proxy, event__reason="ocsp_request")


class UnknownIssuerTests(BlockTestCase):

    def issuer_url(self):
        return "http://ocsp2.ca.test:%d/" % self.rec2.port

    def test_other_ca(self):
        _, ev = self.refused(ocsp_post(self.issuer_url(), ocsp_request_der(
            [self.pki.cert_id("ca2_leaf")])), 403, "unknown_issuer")
        self.assertEqual(get(ev, "ocspgate.ocsp.request.certs"),
                         [self.pki.cert_id("ca2_leaf").event()])
        self.assertEqual(get(ev, "ocspgate.responder"),
                         "ocsp2.ca.test:%d" % self.rec2.port)

    def test_one_cert_of_other_ca_among_good_ones(self):
        self.refused(ocsp_post(self.issuer_url(), ocsp_request_der(
            [self.pki.cert_id("good"), self.pki.cert_id("ca2_leaf"),
             self.pki.cert_id("revoked")])), 403, "unknown_issuer")

    def test_name_hash_of_one_ca_key_hash_of_other(self):
        a = self.pki.cert_id("good")
        b = self.pki.cert_id("ca2_leaf")
        mixed = CertID("sha1", a.issuer_name_hash, b.issuer_key_hash, 7)
        self.refused(ocsp_post(self.issuer_url(), ocsp_request_der([mixed])),
                     403, "unknown_issuer")

    def test_other_ca_with_sha256(self):
        self.refused(ocsp_post(self.issuer_url(), ocsp_request_der(
            [self.pki.cert_id("ca2_leaf", "sha256")])), 403,
            "unknown_issuer")

    def test_listed_issuer_allowed(self):
        for n, alg in enumerate(("sha1", "sha256", "sha512"), 1):
            with self.subTest(alg=alg):
                r = openssl_ocsp_client(
                    self.pki, self.proxy.port,
                    "http://ocsp2.ca.test:%d/" % self.resp.port,
                    ("good", "revoked"), digest=alg, tmpdir=self.tmp)
                self.assertEqual(r.returncode, 0, r.stderr)
                self.assertEqual(r.statuses, {"good": "good",
                                              "revoked": "revoked"})
                self.expect_event(self.proxy, n, event__action="allow",
                                  ocspgate__responder="ocsp2.ca.test:%d"
                                  % self.resp.port)

    def test_string_form_has_no_issuer_restriction(self):
        with Client(self.proxy.port) as c:
            c.send(ocsp_post(self.rec_url(), ocsp_request_der(
                [self.pki.cert_id("ca2_leaf")])))
            self.assertEqual(c.read_response().status, 200)
        self.expect_event(self.proxy, event__action="allow")


class MethodTests(BlockTestCase):

    def test_methods(self):
        n = 0
        for method in ("PUT", "DELETE", "OPTIONS", "PATCH", "TRACE",
                       "PROPFIND"):
            with self.subTest(method=method):
                n += 1
                _, ev = self.refused(http_request(
                    method, self.rec_url(), body=self.der,
                    content_type=OCSP_CT), 403, "method_not_allowed", n)
                self.assertEqual(get(ev, "http.request.method"), method)

    def test_head(self):
        _, ev = self.refused(http_request("HEAD", self.rec_url()), 403,
                             "method_not_allowed", head_only=True)
        self.assertEqual(get(ev, "http.request.method"), "HEAD")

    def test_head_refusal_has_no_body(self):
        """The refusal of a HEAD ends with its head: on a kept
        connection, the answer to the next request comes right after it
        (a body would be read as the start of that answer)."""
        with Client(self.proxy.port) as c:
            c.send(http_request("HEAD", self.rec_url()) +
                   http_request("GET", self.rec_url("other.test")))
            first = c.read_response(head_only=True)
            self.assertEqual(first.status, 403)
            self.assertEqual(first.header("connection"), "keep-alive")
            assert_refusal(self, c.read_response(), 403,
                           "unknown_responder")
        self.expect_event(self.proxy, 2, event__reason="unknown_responder")

    def test_connect(self):
        for n, target in enumerate(("ocsp.ca.test:%d" % self.rec.port,
                                    "ocsp.ca.test:443",
                                    "other.test:%d" % self.rec.port), 1):
            with self.subTest(target=target):
                _, ev = self.refused(http_request(
                    "CONNECT", target, host=target), 403,
                    "method_not_allowed", n)
                self.assertEqual(get(ev, "http.request.method"), "CONNECT")


class BodyTooLargeTests(BlockTestCase):
    SETTINGS = {"max_request_body": 64}

    def big(self):
        return ocsp_request_der([self.pki.cert_id(n) for n in
                                 ("good", "revoked")])

    def test_content_length_over_limit(self):
        body = self.big()
        self.assertGreater(len(body), 64)
        self.refused(ocsp_post(self.rec_url(), body), 413, "body_too_large")

    def test_declared_length_refused_before_body(self):
        head = (b"POST %s HTTP/1.1\r\nHost: ocsp.ca.test\r\n"
                b"Content-Type: application/ocsp-request\r\n"
                b"Content-Length: 1000000\r\n\r\n"
                % self.rec_url().encode())
        self.refused(head, 413, "body_too_large")

    def test_chunked_over_limit(self):
        body = self.big()
        chunks = b"".join(b"%x\r\n%s\r\n" % (len(body[i:i + 16]),
                                             body[i:i + 16])
                          for i in range(0, len(body), 16)) + b"0\r\n\r\n"
        self.refused(http_request(
            "POST", self.rec_url(), content_type=OCSP_CT,
            headers=[("Transfer-Encoding", "chunked")]) + chunks, 413,
            "body_too_large")

    def test_limit_is_inclusive(self):
        der = ocsp_request_der([self.pki.cert_id("good")])
        proxy = self.start_proxy(responders=["ocsp.ca.test:%d"
                                             % self.rec.port],
                                 max_request_body=len(der))
        with Client(proxy.port) as c:
            c.send(ocsp_post(self.rec_url(), der))
            self.assertEqual(c.read_response().status, 200)
        proxy2 = self.start_proxy(responders=["ocsp.ca.test:%d"
                                              % self.rec.port],
                                  max_request_body=len(der) - 1)
        with Client(proxy2.port) as c:
            c.send(ocsp_post(self.rec_url(), der))
            assert_refusal(self, c.read_response(), 413, "body_too_large")


class PrecedenceTests(BlockTestCase):
    """The first failing check names the reason."""
    SETTINGS = {"max_request_body": 160}

    def test_order(self):
        big = ocsp_request_der([self.pki.cert_id(n) for n in
                                ("good", "revoked", "good_hi")])
        self.assertGreater(len(big), 160)
        other = self.rec_url("other.test")
        cases = [
            ("method before body size", http_request(
                "PUT", other, body=big, content_type=OCSP_CT), 403,
             "method_not_allowed"),
            ("body size before responder", ocsp_post(other, big), 413,
             "body_too_large"),
            ("responder before content type", http_request(
                "POST", other, body=self.der, content_type="text/plain"),
             403, "unknown_responder"),
            ("responder before DER", http_request(
                "POST", other, body=b"junk", content_type=OCSP_CT), 403,
             "unknown_responder"),
            ("content type before DER", http_request(
                "POST", self.rec_url(), body=b"junk",
                content_type="text/plain"), 403, "not_ocsp"),
            ("DER before issuer", http_request(
                "POST", "http://ocsp2.ca.test:%d/" % self.rec2.port,
                body=ocsp_request_der([self.pki.cert_id("ca2_leaf")],
                                      nonce=b"\x01" * 40),
                content_type=OCSP_CT), 403, "ocsp_malformed"),
        ]
        for n, (name, data, status, reason) in enumerate(cases, 1):
            with self.subTest(name):
                self.refused(data, status, reason, n)


class HostileHeaderTests(BlockTestCase):

    def test_user_agent_round_trips(self):
        raw = (b'say "hi"\\ then\ttab {"x":1} \xff end \x80 mid \xc3 a'
               b' \xc3\xa9t\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80 </script>'
               b' \\u0000 \\" done')
        data = ocsp_post(self.rec_url("other.test"), self.der,
                         headers=[("User-Agent", raw)])
        _, ev = self.refused(data, 403, "unknown_responder")
        self.assertEqual(get(ev, "user_agent.original"),
                         raw.decode("utf-8", "replace"))

    def test_hostile_url(self):
        target = (b'http://other.test:%d/a%%22b%%5C"\'<x>{}|^`'
                  % self.rec.port)
        data = ocsp_post(target, self.der)
        with Client(self.proxy.port) as c:
            c.send(data)
            r = c.read_response()
        self.assertIn(r.status, (400, 403))
        ev = self.proxy.wait_events(1)[0]
        if r.status == 403:
            self.assertEqual(get(ev, "url.original"), target.decode())
        self.assert_nothing_forwarded()


if __name__ == "__main__":
    unittest.main()
