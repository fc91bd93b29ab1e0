"""Allowed OCSP requests: real `openssl ocsp` and curl clients through
ocspgate to a real `openssl ocsp` responder, and the event each leaves."""

import base64
import hashlib
import random
import unittest
import urllib.parse

from ocspgate_harness import (
    HASH_OIDS, OID_ACCEPTABLE_RESPONSES, OID_SERVICE_LOCATOR, CertID, Client,
    ProxyTestCase, assert_refusal, b64, curl_get, der, der_extension,
    der_oid, der_seq, get, get_cryptoapi, get_plain, get_space_as_plus,
    get_unpadded, get_url_safe_unpadded, ocsp_post, ocsp_request_der,
    ocsp_response_text, openssl_ocsp_client, parse_ocsp_request,
    seq_bodies, upstream_seq)


def decode_get_target(target, prefix=""):
    """The DER a GET target carries, decoded tolerantly."""
    p = target[len(prefix):].lstrip("/")
    p = urllib.parse.unquote(p).replace(" ", "+")
    p = p.replace("-", "+").replace("_", "/")
    p += "=" * (-len(p) % 4)
    return base64.b64decode(p)


class AllowTests(ProxyTestCase):

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        # A real, successful OCSP response for the recording upstream to
        # hand back, fetched straight from the responder.
        cls.real_response = cls.env.good_answer()

    def setUp(self):
        super().setUp()
        self.rec = self.upstream(body_for=seq_bodies(self.real_response))
        self.proxy = self.start_proxy(responders=[
            self.resp_spec(), "ocsp.ca.test:%d" % self.rec.port])

    # -- helpers -----------------------------------------------------------

    def response_for(self, der):
        """The real responder's answer to the DER request <der>."""
        with Client(self.resp.port) as c:
            c.send(ocsp_post("/", der, host="ocsp.ca.test",
                             connection="close"))
            r = c.read_response()
        self.assertEqual(r.status, 200)
        return r.body

    def client(self, certs=("good",), url=None, proxy=None, **kw):
        return openssl_ocsp_client(self.pki, (proxy or self.proxy).port,
                                   url or self.url(), certs,
                                   tmpdir=self.tmp, **kw)

    def assert_ok(self, r, expected):
        self.assertEqual(r.returncode, 0,
                         "openssl ocsp failed:\n%s\n%s" % (r.stdout,
                                                           r.stderr))
        self.assertIn("Response verify OK", r.stderr)
        self.assertEqual(r.statuses, expected, r.stdout)

    def allowed_event(self, n=1, proxy=None, **fields):
        fields.setdefault("event__action", "allow")
        fields.setdefault("event__reason", "ocsp_request")
        fields.setdefault("ocspgate__enforced", True)
        fields.setdefault("ocspgate__mode", "enforce")
        return self.expect_event(proxy or self.proxy, n, **fields)

    def flags(self, ev):
        return set(get(ev, "ocspgate.ocsp.request.flags", []))

    def find_request(self, cond, nonce=None):
        """A one-cert DER request whose base64 satisfies cond: the real
        leaves first (so the responder knows them), then other serials
        of CA 1. Returns (der, CertID)."""
        for name in ("good", "revoked", "good_hi"):
            for alg in HASH_OIDS:
                cid = self.pki.cert_id(name, alg)
                der = ocsp_request_der([cid], nonce=nonce)
                if cond(b64(der)):
                    return der, cid
        # Then made-up issuers (the responder answers "unknown" for
        # them): the fixed parts of CA 1's IDs may hold '+' or '/'.
        rng = random.Random(5019)
        for i in range(20000):
            # serials of 1..9 octets change the length, hence the padding
            n = 1 + i % 9
            serial = rng.getrandbits(8 * n) | (1 << (8 * n - 2))
            alg = list(HASH_OIDS)[i // 9 % len(HASH_OIDS)]
            hlen = hashlib.new(alg).digest_size
            cid = CertID(alg, rng.randbytes(hlen), rng.randbytes(hlen),
                         serial)
            der = ocsp_request_der([cid], nonce=nonce)
            if cond(b64(der)):
                return der, cid
        raise AssertionError("no request found for the condition")

    # -- POST with the openssl client ---------------------------------------

    def test_post_with_nonce(self):
        r = self.client()
        self.assert_ok(r, {"good": "good"})
        certs, nonce = parse_ocsp_request(r.request)
        self.assertIsNotNone(nonce)
        ev = self.allowed_event(
            http__request__method="POST",
            http__response__status_code=200,
            destination__domain="ocsp.ca.test",
            destination__ip="127.0.0.1",
            destination__port=self.resp.port,
            url__original=self.url(),
            url__path="/",
            ocspgate__responder=self.resp_spec(),
            ocspgate__ocsp__request__nonce=True,
            ocspgate__ocsp__request__flags=["nonce"])
        self.assertEqual(get(ev, "ocspgate.ocsp.request.certs"),
                         [self.pki.cert_id("good").event()])
        self.assertEqual(get(ev, "ocspgate.ocsp.request.certs"),
                         [c.event() for c in certs])
        self.assertEqual(get(ev, "http.request.body.bytes"), len(r.request))
        self.assertEqual(get(ev, "http.response.body.bytes"),
                         len(r.response))
        self.assertEqual(get(ev, "source.ip"), "127.0.0.1")
        self.assertNotIn("detail", ev.get("ocspgate", {}))

    def test_post_no_nonce(self):
        r = self.client(no_nonce=True)
        self.assert_ok(r, {"good": "good"})
        ev = self.allowed_event(ocspgate__ocsp__request__nonce=False)
        self.assertNotIn("flags", get(ev, "ocspgate.ocsp.request"),
                         "flags only when non-empty")
        self.assertEqual(get(ev, "ocspgate.ocsp.request.certs"),
                         [self.pki.cert_id("good").event()])

    def test_hash_algorithms(self):
        for n, alg in enumerate(HASH_OIDS, 1):
            with self.subTest(alg=alg):
                r = self.client(digest=alg, no_nonce=True)
                self.assert_ok(r, {"good": "good"})
                ev = self.allowed_event(n)
                cid = self.pki.cert_id("good", alg)
                self.assertEqual(get(ev, "ocspgate.ocsp.request.certs"),
                                 [cid.event()])
                self.assertEqual([c.event() for c in
                                  parse_ocsp_request(r.request)[0]],
                                 [cid.event()])

    def test_revoked(self):
        r = self.client(certs=("revoked",), no_nonce=True)
        self.assert_ok(r, {"revoked": "revoked"})
        ev = self.allowed_event()
        self.assertEqual(get(ev, "ocspgate.ocsp.request.certs"),
                         [self.pki.cert_id("revoked").event()])

    def test_multiple_certs_and_sign_octet_serial(self):
        names = ("good", "revoked", "good_hi", "unknown")
        r = self.client(certs=names, digest="sha256")
        self.assert_ok(r, {"good": "good", "revoked": "revoked",
                           "good_hi": "good", "unknown": "unknown"})
        ev = self.allowed_event(ocspgate__ocsp__request__nonce=True)
        self.assertEqual(get(ev, "ocspgate.ocsp.request.certs"),
                         [self.pki.cert_id(n, "sha256").event()
                          for n in names])
        # 0xc0ffee01 is encoded with a sign octet; the log has the magnitude
        self.assertEqual(get(ev, "ocspgate.ocsp.request.certs")[2]["serial"],
                         "C0FFEE01")
        self.assertEqual(self.flags(ev), {"multiple_certs", "nonce"})

    def test_user_agent(self):
        ua = "Microsoft-CryptoAPI/10.0"
        r = self.client(no_nonce=True, headers=[("User-Agent", ua)])
        self.assert_ok(r, {"good": "good"})
        self.allowed_event(user_agent__original=ua)

    def test_no_user_agent_field_when_none_sent(self):
        with Client(self.proxy.port) as c:
            c.send(ocsp_post(self.url(), ocsp_request_der(
                [self.pki.cert_id("good")])))
            self.assertEqual(c.read_response().status, 200)
        ev = self.allowed_event()
        self.assertNotIn("user_agent", ev)

    # -- GET forms with curl -------------------------------------------------

    def get_and_check(self, path, der, cid, port, flags_min, flags_max,
                      ua=None, resp_ok=True, upstream=None, prefix=""):
        """One GET through curl (the test's first request)."""
        if upstream is not None:
            # ocspgate inspects the answer: it must be about <der>'s cert.
            upstream.body = self.response_for(der)
            upstream.body_for = None
        url = "http://ocsp.ca.test:%d%s" % (port, path)
        headers = [("User-Agent", ua)] if ua else []
        status, body = curl_get(self.proxy.port, url, self.tmp, headers)
        self.assertEqual(status, 200, "GET %s: %r" % (url, body[:200]))
        rc, text = ocsp_response_text(body, self.tmp)
        self.assertIn("OCSP Response Status: successful", text)
        if resp_ok:
            self.assertIn("Cert Status:", text)
        ev = self.allowed_event(1, http__request__method="GET",
                                http__response__status_code=200,
                                url__original=url)
        self.assertEqual(get(ev, "ocspgate.ocsp.request.certs"), [cid.event()])
        flags = self.flags(ev)
        self.assertTrue(flags_min <= flags <= flags_max,
                        "flags %s not within %s..%s for %s"
                        % (sorted(flags), sorted(flags_min),
                           sorted(flags_max), path))
        if not flags_max:
            self.assertNotIn("flags", get(ev, "ocspgate.ocsp.request"))
        if ua:
            self.assertEqual(get(ev, "user_agent.original"), ua)
        if upstream is not None:
            reqs = upstream.wait_requests(1)
            self.assertEqual(reqs[-1].method, "GET")
            self.assertTrue(reqs[-1].target.startswith(prefix + "/"),
                            reqs[-1].target)
            self.assertEqual(decode_get_target(reqs[-1].target, prefix), der,
                             "forwarded GET does not carry the request")
        return ev

    def test_get_cryptoapi(self):
        der, cid = self.find_request(
            lambda s: "+" in s and "/" in s and s.endswith("="))
        self.get_and_check("/" + get_cryptoapi(der), der, cid,
                           self.resp.port, {"get_percent_encoded"},
                           {"get_percent_encoded"},
                           ua="Microsoft-CryptoAPI/10.0")

    def test_get_plain_with_unescaped_slash(self):
        der, cid = self.find_request(lambda s: "/" in s and "+" in s)
        self.get_and_check("/" + get_plain(der), der, cid, self.resp.port,
                           {"get_unescaped_slash"}, {"get_unescaped_slash"})

    def test_get_plain_needing_no_repair(self):
        der, cid = self.find_request(
            lambda s: "/" not in s and "+" not in s and s.endswith("="))
        ev = self.get_and_check("/" + get_plain(der), der, cid,
                                self.resp.port, set(), set())
        self.assertTrue(get(ev, "user_agent.original", "").startswith(
            "curl/"))

    # The forms below are ones `openssl ocsp` as a responder cannot decode
    # itself, so they go to the recording upstream (which answers with a
    # real response); what is checked is the proxy's decoding and flags
    # and that the forwarded GET still carries the same request.

    def test_get_space_as_plus(self):
        der, cid = self.find_request(
            lambda s: "+" in s and "/" not in s and "=" not in s)
        self.get_and_check("/" + get_space_as_plus(der), der, cid,
                           self.rec.port, {"get_space_as_plus"},
                           {"get_space_as_plus", "get_percent_encoded"},
                           resp_ok=False, upstream=self.rec)

    def test_get_url_safe_unpadded(self):
        der, cid = self.find_request(
            lambda s: "+" in s and "/" in s and s.endswith("="))
        self.get_and_check("/" + get_url_safe_unpadded(der), der, cid,
                           self.rec.port,
                           {"get_url_safe_alphabet", "get_unpadded"},
                           {"get_url_safe_alphabet", "get_unpadded"},
                           resp_ok=False, upstream=self.rec)

    def test_get_unpadded(self):
        der, cid = self.find_request(
            lambda s: "+" not in s and "/" not in s and s.endswith("="))
        self.get_and_check("/" + get_unpadded(der), der, cid, self.rec.port,
                           {"get_unpadded"}, {"get_unpadded"},
                           resp_ok=False, upstream=self.rec)

    def test_get_double_slash(self):
        der, cid = self.find_request(
            lambda s: "+" not in s and "/" not in s and "=" not in s)
        self.get_and_check("//" + get_plain(der), der, cid, self.rec.port,
                           {"get_double_slash"}, {"get_double_slash"},
                           resp_ok=False, upstream=self.rec)

    def test_get_over_255_bytes(self):
        names = ("good", "revoked", "good_hi")
        cids = [self.pki.cert_id(n, "sha512") for n in names]
        der = ocsp_request_der(cids)
        path = "/" + get_cryptoapi(der)
        self.assertGreater(len(path), 256)
        url = "http://ocsp.ca.test:%d%s" % (self.resp.port, path)
        status, body = curl_get(self.proxy.port, url, self.tmp)
        self.assertEqual(status, 200)
        rc, text = ocsp_response_text(body, self.tmp)
        self.assertIn("OCSP Response Status: successful", text)
        self.assertEqual(text.count("Cert Status:"), 3, text)
        ev = self.allowed_event(http__request__method="GET")
        self.assertEqual(get(ev, "ocspgate.ocsp.request.certs"),
                         [c.event() for c in cids])
        self.assertLessEqual({"get_over_255_bytes", "multiple_certs"},
                             self.flags(ev))

    def test_get_under_255_bytes_not_flagged(self):
        der = ocsp_request_der([self.pki.cert_id("good")])
        path = "/" + get_cryptoapi(der)
        self.assertLess(len(path), 255)
        status, _ = curl_get(self.proxy.port, "http://ocsp.ca.test:%d%s"
                             % (self.resp.port, path), self.tmp)
        self.assertEqual(status, 200)
        ev = self.allowed_event()
        self.assertNotIn("get_over_255_bytes", self.flags(ev))

    # -- responder matching --------------------------------------------------

    def test_path_prefix(self):
        proxy = self.start_proxy(responders=[
            self.resp_spec(path="/ocsp"),
            "ocsp.ca.test:%d/ocsp" % self.rec.port])
        r = self.client(url=self.url(path="/ocsp"), proxy=proxy,
                        no_nonce=True)
        self.assert_ok(r, {"good": "good"})
        self.allowed_event(1, proxy=proxy, url__path="/ocsp",
                           ocspgate__responder=self.resp_spec(path="/ocsp"))
        der = ocsp_request_der([self.pki.cert_id("good")])
        with Client(proxy.port) as c:
            # "/ocsp/..." matches; the responder ignores a POST's path
            c.send(ocsp_post(self.url(path="/ocsp/sub"), der))
            self.assertEqual(c.read_response().status, 200)
            for path in ("/ocspx", "/", "/oc", "/OCSP"):
                c.send(ocsp_post(self.url(path=path), der))
                assert_refusal(self, c.read_response(), 403,
                               "unknown_responder")
        evs = proxy.wait_events(6)
        self.assertEqual([get(e, "event.reason") for e in evs[1:]],
                         ["ocsp_request"] + ["unknown_responder"] * 4)
        # GET <prefix>/<base64>
        cid = self.pki.cert_id("good")
        path = "/ocsp/" + get_cryptoapi(der)
        status, _ = curl_get(proxy.port, "http://ocsp.ca.test:%d%s"
                             % (self.rec.port, path), self.tmp)
        self.assertEqual(status, 200)
        ev = self.allowed_event(7, proxy=proxy, http__request__method="GET")
        self.assertEqual(get(ev, "ocspgate.ocsp.request.certs"), [cid.event()])
        reqs = self.rec.wait_requests(1)
        self.assertEqual(reqs[0].target, path)

    def test_wildcard(self):
        proxy = self.start_proxy(responders=[
            "*.wild.test:%d" % self.resp.port])
        self.assertEqual(self.client(url=self.url(host="a.wild.test"),
                                     proxy=proxy, no_nonce=True).returncode,
                         0)
        self.allowed_event(1, proxy=proxy, destination__domain="a.wild.test",
                           ocspgate__responder="*.wild.test:%d"
                           % self.resp.port)
        # One label only: a deeper name could carry data in DNS queries.
        with Client(proxy.port) as c:
            c.send(ocsp_post(self.url(host="a.b.wild.test"),
                             ocsp_request_der([self.pki.cert_id("good")])))
            assert_refusal(self, c.read_response(), 403,
                           "unknown_responder")
        self.expect_event(proxy, 2, event__reason="unknown_responder",
                          destination__domain="a.b.wild.test")
        with Client(proxy.port) as c:
            c.send(ocsp_post(self.url(host="wild.test"), ocsp_request_der(
                [self.pki.cert_id("good")])))
            assert_refusal(self, c.read_response(), 403,
                           "unknown_responder")

    def test_host_case_and_trailing_dot(self):
        for n, host in enumerate(("OCSP.CA.TEST", "Ocsp.Ca.Test",
                                  "ocsp.ca.test."), 1):
            with self.subTest(host=host):
                r = self.client(url=self.url(host=host), no_nonce=True)
                self.assert_ok(r, {"good": "good"})
                self.allowed_event(n, ocspgate__responder=self.resp_spec())

    def test_ip_literal_responder(self):
        proxy = self.start_proxy(responders=[
            "127.0.0.1:%d" % self.resp.port])
        r = self.client(url=self.url(host="127.0.0.1"), proxy=proxy,
                        no_nonce=True)
        self.assert_ok(r, {"good": "good"})
        self.allowed_event(proxy=proxy, destination__ip="127.0.0.1")

    def test_ipv6_literal_responder(self):
        spec = "[::1]:%d" % self.resp.port
        proxy = self.start_proxy(responders=[spec])
        r = self.client(url="http://[::1]:%d/" % self.resp.port,
                        proxy=proxy, no_nonce=True)
        self.assert_ok(r, {"good": "good"})
        self.allowed_event(proxy=proxy, destination__ip="::1",
                           ocspgate__responder=spec)

    # -- connections -------------------------------------------------------

    def test_keep_alive_two_requests(self):
        der1 = ocsp_request_der([self.pki.cert_id("good")])
        der2 = ocsp_request_der([self.pki.cert_id("revoked")])
        with Client(self.proxy.port) as c:
            c.send(ocsp_post(self.url(), der1,
                             headers=[("User-Agent", "ka-1")]))
            r1 = c.read_response()
            c.send(ocsp_post(self.url(), der2,
                             headers=[("User-Agent", "ka-2")]))
            r2 = c.read_response()
            port = c.local_port
        for r, status in ((r1, "good"), (r2, "revoked")):
            self.assertEqual(r.status, 200)
            self.assertEqual(r.header("content-type"),
                             "application/ocsp-response")
            _, text = ocsp_response_text(r.body, self.tmp)
            self.assertIn("Cert Status: " + status, text)
        evs = self.proxy.wait_events(2)
        self.assertEqual([get(e, "user_agent.original") for e in evs],
                         ["ka-1", "ka-2"])
        for e in evs:
            self.assertEqual(get(e, "source.port"), port)
            self.assertEqual(get(e, "event.reason"), "ocsp_request")

    def test_pipelined(self):
        good = ocsp_request_der([self.pki.cert_id("good")])
        revoked = ocsp_request_der([self.pki.cert_id("revoked")])
        data = (ocsp_post(self.url(), good)
                + ocsp_post(self.url(host="other.test"), good)
                + ocsp_post(self.url(), revoked)
                + ocsp_post("http://ocsp.ca.test:%d/" % self.rec.port, good))
        with Client(self.proxy.port) as c:
            c.send(data)
            rs = c.read_responses(4, timeout=10)
        self.assertEqual([r.status for r in rs], [200, 403, 200, 200])
        assert_refusal(self, rs[1], 403, "unknown_responder")
        _, t0 = ocsp_response_text(rs[0].body, self.tmp)
        _, t2 = ocsp_response_text(rs[2].body, self.tmp)
        self.assertIn("Cert Status: good", t0)
        self.assertIn("Cert Status: revoked", t2)
        self.assertEqual(upstream_seq(rs[3], self.rec), "1")
        evs = self.proxy.wait_events(4)
        self.assertEqual([get(e, "event.reason") for e in evs],
                         ["ocsp_request", "unknown_responder",
                          "ocsp_request", "ocsp_request"])

    # -- limits that still pass ---------------------------------------------

    def post_raw(self, der, port=None, proxy=None):
        with Client((proxy or self.proxy).port) as c:
            c.send(ocsp_post(self.url(port=port), der))
            return c.read_response()

    def test_accepted_edges(self):
        """Requests at the edge of the rules still pass."""
        cid = self.pki.cert_id("good")
        ca = self.pki.ca_info
        cases = [
            ("nonce_1_byte", ocsp_request_der([cid], nonce=b"\x01")),
            ("nonce_32_bytes", ocsp_request_der([cid], nonce=b"\xab" * 32)),
            ("serial_20_octets", ocsp_request_der(
                [CertID.of(ca, int.from_bytes(b"\x7f" + b"\x11" * 19,
                                              "big"))])),
            ("serial_20_octets_sign_octet", ocsp_request_der(
                [CertID.of(ca, int.from_bytes(b"\xff" * 20, "big"))])),
            ("eight_certs", ocsp_request_der(
                [CertID.of(ca, 0x1000 + i) for i in range(8)])),
        ]
        for n, (name, req) in enumerate(cases, 1):
            with self.subTest(name):
                r = self.post_raw(req)
                self.assertEqual(r.status, 200)
                self.allowed_event(n)

    def test_notable_request_flags(self):
        """Requests that pass but carry what the log flags; requestorName,
        signatures and service locators only where the config allows them
        (each is refused by default: see test_block)."""
        proxy = self.start_proxy(
            responders=[self.resp_spec(), "ocsp.ca.test:%d" % self.rec.port],
            allow_requestor_name=True, allow_signed_requests=True,
            allow_service_locator=True)
        cid = self.pki.cert_id("good")
        signature = der_seq(der_seq(der_oid("1.2.840.10045.4.3.2")),
                            der(0x03, b"\x00\x30\x06\x02\x01\x01\x02\x01\x01"))
        locator = der_extension(OID_SERVICE_LOCATOR, der_seq(
            self.pki.ca_info.subject_der, der_seq(der_seq(
                der_oid("1.3.6.1.5.5.7.48.1"),
                der(0x86, b"http://ocsp.ca.test/")))))
        accept = der_extension(OID_ACCEPTABLE_RESPONSES, der_seq(
            der_oid("1.3.6.1.5.5.7.48.1.1")))
        cases = [
            ("requestor_name", ocsp_request_der(
                [cid], requestor_name=der(0x82, b"client.test")),
             {"requestor_name"}),
            ("signed_request", ocsp_request_der([cid], signature=signature),
             {"signed_request"}),
            ("single_request_extensions", ocsp_request_der(
                [cid], single_ext=locator), {"single_request_extensions"}),
            ("acceptable_responses", ocsp_request_der(
                [cid], extensions=[accept]), set()),
            # The node "ocsp" package sends hash parameters absent.
            ("hash_parameters_absent", ocsp_request_der(
                [cid.der(alg_null_params=False)]), {"hash_params_absent"}),
        ]
        url = "http://ocsp.ca.test:%d/" % self.rec.port
        for n, (name, der_bytes, flags) in enumerate(cases, 1):
            with self.subTest(name):
                with Client(proxy.port) as c:
                    c.send(ocsp_post(url, der_bytes))
                    self.assertEqual(c.read_response().status, 200)
                ev = self.allowed_event(n, proxy=proxy)
                self.assertEqual(self.flags(ev), flags)
                if not flags:
                    self.assertNotIn("flags", get(ev, "ocspgate.ocsp.request"))
                self.assertEqual(get(ev, "ocspgate.ocsp.request.certs"),
                                 [cid.event()])
                self.assertEqual(self.rec.wait_requests(n)[-1].body,
                                 der_bytes)

    def test_max_nonce_bytes_raised(self):
        proxy = self.start_proxy(responders=[self.resp_spec()],
                                 max_nonce_bytes=64)
        der = ocsp_request_der([self.pki.cert_id("good")],
                               nonce=b"\x5a" * 64)
        r = self.post_raw(der, proxy=proxy)
        self.assertEqual(r.status, 200)
        self.allowed_event(proxy=proxy, ocspgate__ocsp__request__nonce=True)


if __name__ == "__main__":
    unittest.main()
