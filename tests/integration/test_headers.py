"""Requests are rebuilt, not relayed: what real clients send reaches the
upstream as the contract says (only the allowed fields, under their
canonical names, in ocspgate's order, each value rebuilt to what a
responder needs), and everything else is dropped,
named in the event and, past the budget, refused in enforce mode.

Each client's request is the byte sequence its source writes (see the
table of known fingerprints in docs/event-log.md for the sources), sent
raw through ocspgate to a recording upstream on loopback; OpenSSL and curl
are run for real.
"""

import unittest
from pathlib import Path

from ocspgate_harness import (
    Client, ProxyTestCase, assert_refusal, get, get_cryptoapi, ocsp_post,
    ocsp_request_der, openssl_ocsp_client)

FORWARDED = {"host", "user-agent", "accept", "cache-control", "pragma",
             "content-type", "content-length", "via", "connection"}

# The order ocspgate writes the fields in, whatever the client's.
ORDER = ["User-Agent", "Accept", "Cache-Control", "Pragma", "Content-Type",
         "Content-Length"]


def raw_request(method, target, fields, body=b"", version="HTTP/1.1"):
    """Request bytes with exactly <fields> (name, value) in this order."""
    head = "%s %s %s\r\n" % (method, target, version)
    head += "".join("%s: %s\r\n" % (k, v) for k, v in fields)
    return head.encode("latin-1") + b"\r\n" + body


class HeaderTests(ProxyTestCase):

    def setUp(self):
        super().setUp()
        self.rec = self.upstream()
        self.spec = "ocsp.ca.test:%d" % self.rec.port
        self.der = ocsp_request_der([self.pki.cert_id("good")])

    def send(self, proxy, data):
        with Client(proxy.port) as c:
            c.send(data)
            return c.read_response()

    def forwarded(self, n=1):
        """The n-th request the upstream received: (names, headers)."""
        self.assertGreaterEqual(len(self.rec.requests), n)
        req = self.rec.requests[n - 1]
        return [k for k, _ in req.headers], req

    def assert_only_allowed(self, names):
        for k in names:
            self.assertIn(k.lower(), FORWARDED, names)

    # -- real clients ------------------------------------------------------

    def check_client(self, data, want_fields, fingerprint=None,
                     reason="ocsp_request"):
        """Sends <data>; the upstream must get exactly <want_fields>
        ((name, value) after Host, Via and Connection are set aside)."""
        proxy = self.start_proxy(responders=[self.spec])
        r = self.send(proxy, data)
        self.assertEqual(r.status, 200, r.raw[:300])
        names, req = self.forwarded()
        self.assert_only_allowed(names)
        got = [(k, v) for k, v in req.headers
               if k not in ("Host", "Via", "Connection")]
        self.assertEqual(got, want_fields)
        self.assertEqual(req.header("host"), self.spec.split(":")[0] +
                         ":%d" % self.rec.port)
        ev = self.expect_event(proxy, event__reason=reason)
        self.assertIsNone(get(ev, "ocspgate.request.dropped_headers"))
        self.assertNotIn("ua_mismatch",
                         get(ev, "ocspgate.request.flags") or [])
        if fingerprint:
            self.assertEqual(get(ev, "ocspgate.request.fingerprint"),
                             fingerprint)
        return ev

    def test_cryptoapi_get(self):
        url = "http://%s/%s" % (self.spec, get_cryptoapi(self.der))
        data = raw_request("GET", url, [
            ("Cache-Control", "max-age = 86400"),
            ("Connection", "Keep-Alive"),
            ("Accept", "*/*"),
            ("If-Modified-Since", "Sat, 01 Jul 2023 00:00:00 GMT"),
            ("User-Agent", "Microsoft-CryptoAPI/10.0"),
            ("Host", "ocsp.ca.test")])
        self.check_client(data, [
            ("User-Agent", "Microsoft-CryptoAPI/10.0"), ("Accept", "*/*"),
            ("Cache-Control", "max-age=86400")],
            "ge1106_1307977dc9e5")

    def test_cryptoapi_post(self):
        data = raw_request("POST", "http://%s/" % self.spec, [
            ("Cache-Control", "no-cache"), ("Connection", "Keep-Alive"),
            ("Pragma", "no-cache"),
            ("Content-Type", "application/ocsp-request"),
            ("User-Agent", "Microsoft-CryptoAPI/10.0"),
            ("Content-Length", str(len(self.der))),
            ("Host", "ocsp.ca.test")], self.der)
        self.check_client(data, [
            ("User-Agent", "Microsoft-CryptoAPI/10.0"),
            ("Cache-Control", "no-cache"), ("Pragma", "no-cache"),
            ("Content-Type", "application/ocsp-request"),
            ("Content-Length", str(len(self.der)))],
            "po1107_517823f2c371")

    def test_firefox_post(self):
        ua = ("Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:128.0) "
              "Gecko/20100101 Firefox/128.0")
        data = raw_request("POST", "http://%s/" % self.spec, [
            ("Host", "ocsp.ca.test"), ("User-Agent", ua), ("Accept", "*/*"),
            ("Accept-Language", "en-US,en;q=0.5"),
            ("Accept-Encoding", "gzip, deflate"),
            ("Content-Type", "application/ocsp-request"),
            ("Content-Length", str(len(self.der))),
            ("Connection", "keep-alive"), ("Pragma", "no-cache"),
            ("Cache-Control", "no-cache")], self.der)
        self.check_client(data, [
            ("User-Agent", "Mozilla/5.0"), ("Accept", "*/*"),
            ("Cache-Control", "no-cache"), ("Pragma", "no-cache"),
            ("Content-Type", "application/ocsp-request"),
            ("Content-Length", str(len(self.der)))],
            "po1110_286c8a40b4b6")

    def test_java_post(self):
        accept = "text/html, image/gif, image/jpeg, *; q=.2, */*; q=.2"
        data = raw_request("POST", "http://%s/" % self.spec, [
            ("Content-type", "application/ocsp-request"),
            ("User-Agent", "Java/17.0.9"), ("Host", "ocsp.ca.test"),
            ("Accept", accept), ("Connection", "keep-alive"),
            ("Content-Length", str(len(self.der)))], self.der)
        self.check_client(data, [
            ("User-Agent", "Java/17.0"), ("Accept", accept),
            ("Content-Type", "application/ocsp-request"),
            ("Content-Length", str(len(self.der)))],
            "po1106_36ae3789aad2")

    def test_http10_without_host(self):
        """OpenSSL 1.0's client: HTTP/1.0, no Host, explicit proxy."""
        data = raw_request("POST", "http://%s/" % self.spec, [
            ("Content-Type", "application/ocsp-request"),
            ("Content-Length", str(len(self.der)))], self.der,
            version="HTTP/1.0")
        ev = self.check_client(data, [
            ("Content-Type", "application/ocsp-request"),
            ("Content-Length", str(len(self.der)))],
            "po1002_df6d530e90c3")
        self.assertEqual(get(ev, "ocspgate.request.flags"), ["no_host"])
        self.assertEqual(self.rec.requests[0].version, "HTTP/1.0")

    def test_openssl_client(self):
        """The real `openssl ocsp` (3.x here) through the proxy."""
        proxy = self.start_proxy(responders=[self.spec])
        openssl_ocsp_client(self.pki, proxy.port, "http://%s/" % self.spec,
                            ["good"], tmpdir=self.tmp)
        names, req = self.forwarded()
        self.assertEqual(names, ["Host", "Content-Type", "Content-Length",
                                 "Via", "Connection"])
        ev = self.expect_event(proxy)
        self.assertEqual(get(ev, "ocspgate.request.fingerprint"),
                         "po1003_51b2f3543123")

    def test_conditional_crl_get(self):
        """A CRL fetch with both validators, as Java's URICertStore and a
        cache revalidating send it: neither reaches the upstream (ocspgate
        answers conditionals itself, from the CRL it judged), and the
        client, whose entity-tag cannot match, gets the CRL."""
        crl = (Path(__file__).parent.parent / "data" / "fetch" /
               "crl.der").read_bytes()
        rec = self.upstream(body=crl, content_type="application/pkix-crl")
        spec = "ocsp2.ca.test:%d" % rec.port
        proxy = self.start_proxy(crl_hosts=[spec])
        data = raw_request("GET", "http://%s/ca.crl" % spec, [
            ("User-Agent", "Java/17.0.9"), ("Host", "ocsp2.ca.test"),
            ("Accept", "*/*"), ("Connection", "keep-alive"),
            ("If-Modified-Since", "Monday, 02-Jan-23 10:00:00 GMT"),
            ("If-None-Match", '"5f7a3c-1a2b"')])
        r = self.send(proxy, data)
        self.assertEqual(r.status, 200, r.raw[:300])
        self.assertEqual(r.body, crl)
        req = rec.requests[0]
        self.assertIsNone(req.header("if-modified-since"))
        self.assertIsNone(req.header("if-none-match"))
        ev = self.expect_event(proxy, event__reason="crl_request")
        # Checked, not forwarded, not dropped: no budget is spent on them.
        self.assertIsNone(get(ev, "ocspgate.request.dropped_headers"))

    # -- what the forwarded fields can still carry -------------------------

    def test_largest_payload_each_forwarded_field_admits(self):
        """Each forwarded field filled to its bound with an attacker's
        bytes: what reaches the upstream is the rebuilt value, a few
        bytes per field (docs/security.md), none of the filler, and
        nothing is refused or dropped for it."""
        filler = "q7Zx" * 60
        fields = [
            ("User-Agent", "Java/" + "1" * 40 + " " + filler[:200]),
            ("Accept", "application/" + filler[:240]),
            ("Accept-Language", "en-" + filler[:120]),
            ("Accept-Encoding", "gzip, " + filler[:50]),
            ("Cache-Control", "max-age=99999999999, x-" + filler[:36]),
            ("Pragma", "no-cache, " + filler[:20]),
            ("If-None-Match", '"' + "f" * 48 + '", "' + filler[:70] + '"'),
            ("If-Modified-Since", "Sat, 01 Jul 2023 00:00:00 GMT"),
            ("Via", "1.1 " + filler[:120]),
            ("Content-Type", "application/ocsp-request; x=" + filler[:30]),
        ]
        for k, v in fields:
            self.assertNotIn("q7Zx", v[:5])
        url = "http://%s/%s" % (self.spec, get_cryptoapi(self.der))
        data = raw_request("GET", url, [("Host", "ocsp.ca.test")] + fields)
        proxy = self.start_proxy(responders=[self.spec])
        r = self.send(proxy, data)
        self.assertEqual(r.status, 200, r.raw[:300])
        names, req = self.forwarded()
        raw = bytes(self.rec.conns[0])
        self.assertNotIn(b"q7Zx", raw)
        got = [(k, v) for k, v in req.headers
               if k not in ("Host", "Via", "Connection")]
        self.assertEqual(got, [
            ("User-Agent", "Java/1111"), ("Accept", "*/*"),
            ("Cache-Control", "max-age=2147483648"),
            ("Pragma", "no-cache")])
        self.assertEqual(req.header("via").count(","), 0)
        ev = self.expect_event(proxy, event__reason="ocsp_request")
        self.assertIsNone(get(ev, "ocspgate.request.dropped_headers"))

    def test_fields_go_in_ocspgates_order(self):
        """The client's order of fields carries nothing upstream."""
        url = "http://%s/%s" % (self.spec, get_cryptoapi(self.der))
        fields = [("Pragma", "no-cache"), ("Accept", "*/*"),
                  ("Cache-Control", "no-cache"), ("User-Agent", "curl/8.5.0")]
        proxy = self.start_proxy(responders=[self.spec])
        for n, order in enumerate((fields, fields[::-1]), 1):
            r = self.send(proxy, raw_request(
                "GET", url, [("Host", "ocsp.ca.test")] + order))
            self.assertEqual(r.status, 200, r.raw[:300])
            names, _ = self.forwarded(n)
            names = [k for k in names if k in ORDER]
            self.assertEqual(names, sorted(names, key=ORDER.index))


    # -- what is dropped ---------------------------------------------------

    def big_fields(self):
        """~15 KB of X- and Cookie fields."""
        fields = []
        for i in range(30):
            name = "Cookie" if i % 3 == 0 else "X-Exfil-%d" % i
            fields.append((name, chr(ord("A") + i % 26) * 500))
        return fields

    def test_15k_of_fields_refused_in_enforce_mode(self):
        proxy = self.start_proxy(responders=[self.spec],
                                 max_header_bytes=32768)
        data = ocsp_post("http://%s/" % self.spec, self.der,
                         headers=self.big_fields())
        r = self.send(proxy, data)
        assert_refusal(self, r, 403, "excess_headers")
        self.assertEqual(self.rec.requests, [])
        ev = self.expect_event(proxy, event__action="block",
                               event__reason="excess_headers",
                               ocspgate__enforced=True)
        dropped = get(ev, "ocspgate.request.dropped_headers")
        self.assertEqual(dropped["count"], 30)
        self.assertEqual(dropped["bytes"],
                         sum(len(k) + len(v) for k, v in self.big_fields()))
        self.assertEqual(dropped["names"][:3],
                         ["cookie", "x-exfil-1", "x-exfil-2"])
        self.assertEqual(len(dropped["names"]), 16)
        self.assertIn("excess_headers", get(ev, "ocspgate.request.flags"))

    def test_15k_of_fields_stripped_in_monitor_mode(self):
        proxy = self.start_proxy(responders=[self.spec], mode="monitor",
                                 max_header_bytes=32768)
        data = ocsp_post("http://%s/" % self.spec, self.der,
                         headers=self.big_fields())
        r = self.send(proxy, data)
        self.assertEqual(r.status, 200)
        names, req = self.forwarded()
        self.assert_only_allowed(names)
        self.assertNotIn(b"AAAAAAAAAA", bytes(self.rec.conns[0]))
        self.assertEqual(req.body, self.der)
        self.expect_event(proxy, event__action="block",
                          event__reason="excess_headers",
                          ocspgate__enforced=False)

    def test_small_drops_pass_and_are_named(self):
        proxy = self.start_proxy(responders=[self.spec])
        data = ocsp_post("http://%s/" % self.spec, self.der, headers=[
            ("X-Forwarded-For", "10.1.2.3"), ("Sec-GPC", "1"),
            ("Cookie", "lb=abc"), ("User-Agent", "x" * 300)])
        r = self.send(proxy, data)
        self.assertEqual(r.status, 200)
        names, req = self.forwarded()
        self.assert_only_allowed(names)
        self.assertIsNone(req.header("user-agent"))
        ev = self.expect_event(proxy, event__reason="ocsp_request")
        self.assertEqual(get(ev, "ocspgate.request.dropped_headers.names"),
                         ["x-forwarded-for", "sec-gpc", "cookie",
                          "user-agent"])
        self.assertEqual(get(ev, "ocspgate.request.flags"),
                         ["header_out_of_bounds"])

    def test_ua_mismatch_flagged_not_refused(self):
        proxy = self.start_proxy(responders=[self.spec])
        data = ocsp_post("http://%s/" % self.spec, self.der, headers=[
            ("User-Agent", "Microsoft-CryptoAPI/10.0"), ("Accept", "*/*")])
        r = self.send(proxy, data)
        self.assertEqual(r.status, 200)
        ev = self.expect_event(proxy, event__reason="ocsp_request")
        self.assertEqual(get(ev, "ocspgate.request.flags"), ["ua_mismatch"])

    def test_fingerprint_on_blocks_too(self):
        proxy = self.start_proxy(responders=[self.spec])
        r = self.send(proxy, raw_request(
            "GET", "http://elsewhere.test/x", [("Host", "elsewhere.test"),
                                              ("User-Agent", "t")]))
        assert_refusal(self, r, 403, "unknown_responder")
        ev = self.expect_event(proxy, event__reason="unknown_responder")
        self.assertRegex(get(ev, "ocspgate.request.fingerprint"),
                         r"^ge1102_[0-9a-f]{12}$")


if __name__ == "__main__":
    unittest.main()
