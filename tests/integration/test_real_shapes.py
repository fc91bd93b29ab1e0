"""Request shapes real clients send, through the binary, each beside the
carrier an attacker would make of the same field.

- OCSP GETs under the path of the certificate's AIA URL (Google Trust
  Services "http://o.pki.goog/s/we1/coM", "http://ocsp.pki.goog/gts1c3";
  RFC 6960 A.1 builds {url}/{base64}) and POSTs to that path (browsers
  POST to "http://ocsp.globalsign.com/gsrsaovsslca2018", public recorded
  browser sessions), against prefixes too deep and POST paths of 12 KB.
- Trust lists as CryptoAPI fetches them: "authrootstl.cab?<16 hex>" (the
  cache-buster seen in public captures, e.g.
  ".../authrootstl.cab?bd0fc98c3f88ee1d"), and roots by thumbprint
  (".../trustedr/en/<SHA-1>.crt"), against other queries and a root whose
  SHA-1 is not the one asked for.
- The BER real clients write (node "ocsp": version v1 explicit, hash
  parameters absent), passed on as the client sent it, against fields
  that are refused unless the config allows them.
"""

import hashlib
import unittest

import test_fetch
from ocspgate_harness import (
    Client, ProxyTestCase, assert_refusal, der, der_extension, der_octets,
    der_seq, get, get_cryptoapi, http_request, ocsp_post, ocsp_request_der,
    parse_responses, raw_request)

GTS = "/s/we1/coM"


class OcspShapeTests(ProxyTestCase):

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        # A real answer of the responder, for the upstream to hand back.
        cls.real_response = cls.env.good_answer()

    def setUp(self):
        super().setUp()
        self.rec = self.upstream(body=self.real_response)
        self.spec = "ocsp.ca.test:%d" % self.rec.port
        self.base = "http://%s" % self.spec
        self.proxy = self.start_proxy(responders=[self.spec])
        self.der = ocsp_request_der([self.pki.cert_id("good")])

    def send(self, data, proxy=None):
        with Client((proxy or self.proxy).port) as c:
            c.send(data)
            return c.read_response()

    def test_get_under_aia_prefix(self):
        for n, prefix in enumerate((GTS, "/gts1c3", "/OCSP/VCA5/"), 1):
            with self.subTest(prefix=prefix):
                path = prefix + "/" + get_cryptoapi(self.der)
                r = self.send(http_request("GET", self.base + path))
                self.assertEqual(r.status, 200)
                self.assertEqual(r.body, self.real_response)
                ev = self.expect_event(self.proxy, n,
                                       event__reason="ocsp_request",
                                       ocspgate__get_prefix=prefix.rstrip(
                                           "/"))
                self.assertEqual(get(ev, "ocspgate.ocsp.request.certs"),
                                 [self.pki.cert_id("good").event()])
                # The responder gets the path as the client sent it.
                self.assertEqual(self.rec.wait_requests(n)[-1].target, path)

    def test_get_prefix_carrier_refused(self):
        path = "/a/b/c/d/e/" + get_cryptoapi(self.der)
        r = self.send(http_request("GET", self.base + path))
        assert_refusal(self, r, 403, "path_shape")
        ev = self.expect_event(self.proxy, event__reason="path_shape",
                               ocspgate__responder=self.spec)
        self.assertEqual(get(ev, "ocspgate.detail"),
                         "GET prefix not of AIA shape")
        self.assertNotIn("get_prefix", ev["ocspgate"])
        self.assertEqual(self.rec.received(), b"")

    def test_post_to_aia_path(self):
        r = self.send(ocsp_post(self.base + "/gsrsaovsslca2018", self.der))
        self.assertEqual(r.status, 200)
        self.expect_event(self.proxy, event__reason="ocsp_request",
                          url__path="/gsrsaovsslca2018")
        self.assertEqual(self.rec.wait_requests(1)[0].body, self.der)

    def test_post_to_12k_path_refused(self):
        path = "/" + "a" * 12 * 1024
        r = self.send(ocsp_post(self.base + path, self.der))
        assert_refusal(self, r, 403, "path_shape")
        self.expect_event(self.proxy, event__reason="path_shape",
                          ocspgate__detail="POST path not of AIA shape")
        self.assertEqual(self.rec.received(), b"")

    def test_client_ber_passed_on_as_sent(self):
        """version [0] v1 and absent hash parameters: allowed, flagged,
        and the responder gets the client's own bytes."""
        body = ocsp_request_der([self.pki.cert_id("good").der(
            alg_null_params=False)], version=0)
        r = self.send(ocsp_post(self.base + "/", body))
        self.assertEqual(r.status, 200)
        ev = self.expect_event(self.proxy, event__reason="ocsp_request")
        self.assertEqual(set(get(ev, "ocspgate.ocsp.request.flags")),
                         {"explicit_default_version", "hash_params_absent"})
        self.assertEqual(self.rec.wait_requests(1)[0].body, body)

    def test_fields_refused_unless_allowed(self):
        name = der(0x82, b"client.test")
        body = ocsp_request_der([self.pki.cert_id("good")],
                                requestor_name=name)
        r = self.send(ocsp_post(self.base + "/", body))
        assert_refusal(self, r, 403, "ocsp_malformed")
        self.expect_event(
            self.proxy, event__reason="ocsp_malformed",
            ocspgate__detail="requestorName not allowed "
                             "(allow_requestor_name)")
        # Kilobytes of chosen bytes in a known extension: refused too.
        junk = ocsp_request_der([self.pki.cert_id("good")], extensions=[
            der_extension("1.3.6.1.5.5.7.48.1.4",
                          der_octets(b"\x5a" * 4000))])
        assert_refusal(self, self.send(ocsp_post(self.base + "/", junk)),
                       403, "ocsp_malformed")
        self.expect_event(self.proxy, 2, event__reason="ocsp_malformed",
                          ocspgate__detail="acceptable responses not "
                                           "known OIDs")
        self.assertEqual(self.rec.received(), b"")
        proxy = self.start_proxy(responders=[self.spec],
                                 allow_requestor_name=True,
                                 event_log=str(self.tmp / "allow.jsonl"))
        r = self.send(ocsp_post(self.base + "/", body), proxy=proxy)
        self.assertEqual(r.status, 200)
        self.expect_event(proxy, event__reason="ocsp_request")


class TrustListShapeTests(test_fetch.CannedTestCase):

    def test_cab_with_cache_buster(self):
        proxy = self.proxy(**self.cfg)
        case = test_fetch.Case("cab", "ctl", "authrootstl.cab",
                               self.k.authroot_cab)
        self.cases[case.path + "?bd0fc98c3f88ee1d"] = case
        url = self.url(case) + "?bd0fc98c3f88ee1d"
        raw = raw_request(proxy.port, http_request("GET", url,
                                                   connection="close"))
        responses, _ = parse_responses(raw, at_eof=True)
        self.assertEqual(responses[0].status, 200)
        self.assertEqual(responses[0].body, self.k.authroot_cab)
        self.next_event(proxy, event__reason="ctl_request",
                        url__original=url, ocspgate__ctl__format="cab")
        self.assertEqual(self.canned.requests[-1].target,
                         case.path + "?bd0fc98c3f88ee1d")
        # Any other query carries data: refused, nothing sent.
        url = self.url(case) + "?id=4f70656e"
        raw = raw_request(proxy.port, http_request("GET", url,
                                                   connection="close"))
        responses, _ = parse_responses(raw, at_eof=True)
        assert_refusal(self, responses[0], 403, "path_shape")
        self.next_event(proxy, event__reason="path_shape",
                        ocspgate__detail="query is not 16 hex digits")
        self.assertEqual(self.canned.request_count(), 1)

    def test_real_cdp_and_aia_paths(self):
        """Real CDP and caIssuers paths pass (Microsoft's escaped spaces
        and "(1)", AD CS's "CA(1)+.crl" delta, Actalis' getLastCRL,
        Let's Encrypt's "/", SwissSign's key id); a path of 3 needless
        escapes does not."""
        proxy = self.proxy(**self.cfg)
        ok = [("crl", "/pkiops/crl/Microsoft%20Time-Stamp%20PCA"
                      "%202010(1).crl", self.k.crl_der, "crl_request"),
              ("crl", "/CertEnroll/cicada-DC-JPQ225-CA(1)+.crl",
               self.k.crl_der, "crl_request"),
              ("crl", "/Repository/AUTHCL-G3/getLastCRL", self.k.crl_der,
               "crl_request"),
              ("crl", "/", self.k.crl_der, "crl_request"),
              ("aia", "/cgi-bin/authority/download/"
                      "425419CD83663AE8815437BBEEF09B15E3723E39",
               self.k.sub_der, "ca_issuer_request")]
        for n, (kind, path, body, reason) in enumerate(ok, 1):
            case = test_fetch.Case("real%d" % n, kind, "x", body)
            self.cases[path] = case
            url = "http://%s%s" % (self.specs[kind], path)
            raw = raw_request(proxy.port, http_request(
                "GET", url, connection="close"))
            responses, _ = parse_responses(raw, at_eof=True)
            self.assertEqual(responses[0].status, 200, path)
            self.assertEqual(responses[0].body, body)
            self.next_event(proxy, event__reason=reason, url__original=url)
            self.assertEqual(self.canned.requests[-1].target, path)
        url = "http://%s/a%%41%%42%%43.crl" % self.specs["crl"]
        raw = raw_request(proxy.port, http_request("GET", url,
                                                   connection="close"))
        responses, _ = parse_responses(raw, at_eof=True)
        assert_refusal(self, responses[0], 403, "path_shape")
        self.next_event(proxy, event__reason="path_shape",
                        ocspgate__detail="too many escapes a client would "
                                         "not need")
        self.assertEqual(self.canned.request_count(), len(ok))

    def test_root_by_thumbprint(self):
        """The root named by its SHA-1 passes; another certificate at
        that name is refused with not a byte of it sent."""
        root = self.k.root_der
        thumb = hashlib.sha1(root).hexdigest().upper()
        for n, (body, ok) in enumerate(((root, True),
                                        (self.k.sub_der, False)), 1):
            proxy = self.proxy(**self.cfg)
            case = test_fetch.Case("root%d" % n, "ctl", thumb + ".crt", body)
            self.cases[case.path] = case
            raw = raw_request(proxy.port, http_request(
                "GET", self.url(case), connection="close"))
            responses, _ = parse_responses(raw, at_eof=True)
            if ok:
                self.assertEqual(responses[0].status, 200)
                self.assertEqual(responses[0].body, root)
                self.next_event(proxy, event__reason="ctl_request",
                                ocspgate__ctl__thumbprint=thumb.upper())
            else:
                self.assert_refused(case, raw, responses, b"")
                ev = self.next_event(proxy, event__action="allow",
                                     event__reason="response_malformed",
                                     ocspgate__ctl__thumbprint=thumb.upper())
                self.assertIn("thumbprint", get(ev, "ocspgate.detail"))


if __name__ == "__main__":
    unittest.main()
