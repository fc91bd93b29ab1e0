"""unverified_answers: what an allowed answer gets when its signature
was not verified against the configured trust (ca_file, pki_certs, a
responder's issuers). With "flag" (the default) it passes and the event
says `ocspgate.signature: unverified`; with "block" enforce mode refuses
it (502 response_unverified, not a byte of it sent) and monitor mode
relays it with the reason enforce mode would have given. Each class is
pushed through: a CRL, an issuer certificate (DER, PEM, .p7c), a trust
list (cabinet, .stl, serialized store) and an OCSP answer; a verified one
of each passes with "block". Issuer certificates are verified like CRLs:
one in a known CA's name that its key does not verify is refused."""

import hashlib
import json
import unittest

from ocspgate_harness import OCSP_RESPONSE_TRY_LATER, get
from test_fetch import CannedTestCase, Case as FetchCase
from test_response import Case, ResponseTestCase

NO_KNOWN_CA = "no known CA issued it"
VERIFY_OFF = "verify_responses is off"
BAD_CERT_SIGNATURE = ("certificate signature does not verify with its "
                      "issuer's key")


def no_facts_check(proxy, spec, url, body, mode):
    """The facts are checked by test_fetch; here only the signature."""


class FetchUnverifiedTests(CannedTestCase):
    """CRLs, issuer certificates and trust lists."""

    FAIL_REASON = "response_unverified"
    FAIL_KEEPS_FACTS = True

    def root_file(self):
        root = self.tmp / "root.pem"
        root.write_bytes(self.k.root_pem)
        return str(root)

    def signed_cases(self, detail=None):
        """One answer of each signed class, all issued (or signed) under
        the fetch PKI's root."""
        k = self.k
        return [
            FetchCase("crl", "crl", "ca.crl", k.crl_der, detail,
                      content_type="application/pkix-crl"),
            FetchCase("crl_pem", "crl", "ca.crl", k.crl_pem, detail),
            FetchCase("cert", "aia", "sub.crt", k.sub_der, detail,
                      content_type="application/pkix-cert"),
            FetchCase("cert_pem", "aia", "sub.crt", k.sub_pem, detail),
            FetchCase("p7c", "aia", "chain.p7c", k.p7c_der, detail,
                      content_type="application/pkcs7-mime"),
            FetchCase("p7c_pem", "aia", "chain.p7c", k.p7c_pem, detail),
            FetchCase("cab", "ctl", "authrootstl.cab", k.authroot_cab,
                      detail,
                      content_type="application/vnd.ms-cab-compressed"),
            FetchCase("stl", "ctl", "authroot.stl", k.stl, detail),
        ]

    def unsigned_cases(self):
        """A serialized store: certificates and no signer."""
        return [FetchCase("sst_store", "ctl", "roots.sst", self.k.roots_sst,
                          NO_KNOWN_CA)]

    def signature_of(self, proxy, case, reason):
        self.check_passing(proxy, case, no_facts_check)
        ev = self.next_event(proxy, event__action="allow",
                             event__reason=reason)
        self.assertNotIn("detail", ev["ocspgate"], json.dumps(ev)[:1500])
        return get(ev, "ocspgate.signature")

    def reason_of(self, case):
        return {"crl": "crl_request", "aia": "ca_issuer_request",
                "ctl": "ctl_request"}[case.kind]

    def test_flag_passes_flagged(self):
        """No CA known: each signed answer passes, unverified, by default
        and with "flag" said; so does the store."""
        for cfg in ({}, {"unverified_answers": "flag"}):
            proxy = self.proxy(**dict(self.cfg, **cfg))
            for case in self.signed_cases() + self.unsigned_cases():
                with self.subTest(cfg=sorted(cfg), case=case.name):
                    case.detail = None
                    self.assertEqual(self.signature_of(
                        proxy, case, self.reason_of(case)), "unverified")

    def test_block_refuses_unverified(self):
        """No CA known and "block": 502 response_unverified in enforce
        mode, relayed and named in monitor mode."""
        self.run_failing(self.signed_cases(NO_KNOWN_CA) +
                         self.unsigned_cases(),
                         unverified_answers="block")

    def test_block_passes_verified(self):
        """The root known (pki_certs or ca_file) and "block": each signed
        answer passes, verified; the store (no signer) is still
        refused."""
        root = self.root_file()
        for cfg in ({"pki_certs": [root]}, {"ca_file": root}):
            proxy = self.proxy(unverified_answers="block",
                               **dict(self.cfg, **cfg))
            for case in self.signed_cases():
                with self.subTest(cfg=sorted(cfg), case=case.name):
                    self.assertEqual(self.signature_of(
                        proxy, case, self.reason_of(case)), "verified")
            for case in self.unsigned_cases():
                with self.subTest(cfg=sorted(cfg), case=case.name):
                    self.check_failing(proxy, case, "enforce")

    def test_block_passes_sequence_text(self):
        """A trust list's sequence number is text: nothing to verify, it
        passes with "block" and carries no signature."""
        proxy = self.proxy(unverified_answers="block", **self.cfg)
        case = FetchCase("seq", "ctl", "authrootseq.txt", self.k.seq_txt,
                         content_type="text/plain")
        self.assertIsNone(self.signature_of(proxy, case, "ctl_request"))

    def test_root_by_thumbprint_is_verified(self):
        """A root fetched by its SHA-1 is fixed by the request: verified,
        and it passes with "block" while no CA is known."""
        root = self.k.root_der
        thumb = hashlib.sha1(root).hexdigest().upper()
        proxy = self.proxy(unverified_answers="block", **self.cfg)
        case = FetchCase("root", "ctl", thumb + ".crt", root)
        self.check_passing(proxy, case, no_facts_check)
        ev = self.next_event(proxy, event__action="allow",
                             event__reason="ctl_request",
                             ocspgate__ctl__thumbprint=thumb)
        self.assertEqual(get(ev, "ocspgate.signature"), "verified",
                         json.dumps(ev)[:1500])


class ImpostorCertificateTests(CannedTestCase):
    """An issuer certificate naming a known CA's key (by its issuer name
    and authorityKeyIdentifier) that the key does not verify is refused
    whatever unverified_answers says, as such a CRL is. One of a known
    CA's name by another key (a root of that name made for it, with its
    own key identifier, as after a CA renewed its key) is unverified:
    passed with "flag", refused with "block"."""

    root_file = FetchUnverifiedTests.root_file

    def test_forged(self):
        k = self.k
        root_der = k.root_der
        forged = root_der[:-1] + bytes([root_der[-1] ^ 0x01])
        case = FetchCase("forged_root", "aia", "root.crt", forged)
        proxy = self.proxy(**self.cfg)
        self.check_passing(proxy, case, no_facts_check)
        ev = self.next_event(proxy, event__reason="ca_issuer_request")
        self.assertEqual(get(ev, "ocspgate.signature"), "unverified")
        case.detail = BAD_CERT_SIGNATURE
        for mode_cfg in ({}, {"unverified_answers": "block"}):
            with self.subTest(cfg=sorted(mode_cfg)):
                self.FAIL_REASON = "response_malformed"
                self.run_failing([case], pki_certs=[self.root_file()],
                                 **mode_cfg)

    def test_other_key_of_a_known_name(self):
        k = self.k
        k.impostor_crl()  # makes the root of the same name, another key
        other = (k.dir / "impostor" / "root.pem").read_bytes()
        case = FetchCase("other_key_root", "aia", "root.crt", other)
        proxy = self.proxy(pki_certs=[self.root_file()], **self.cfg)
        self.check_passing(proxy, case, no_facts_check)
        ev = self.next_event(proxy, event__reason="ca_issuer_request")
        self.assertEqual(get(ev, "ocspgate.signature"), "unverified")
        case.detail = NO_KNOWN_CA
        self.FAIL_REASON = "response_unverified"
        self.FAIL_KEEPS_FACTS = True
        self.run_failing([case], pki_certs=[self.root_file()],
                         unverified_answers="block")


class OcspUnverifiedTests(ResponseTestCase):
    """OCSP answers: "verified" only when verify_responses ran and
    passed."""

    def verify_cfg(self):
        bundle = self.tmp / "bundle.pem"
        bundle.write_bytes(self.pki.ca.read_bytes())
        return {"verify_responses": True, "ca_file": str(bundle)}

    def signature_of(self, proxy, case):
        self.run_passing(proxy, [case])
        ev = self.expect_event(proxy, self.counts[proxy])
        return get(ev, "ocspgate.signature")

    def test_flag_passes_flagged(self):
        fx = self.fx
        for cfg in ({}, {"unverified_answers": "flag"}):
            with self.subTest(cfg=sorted(cfg)):
                proxy = self.proxy(**cfg)
                self.assertEqual(self.signature_of(proxy, Case(
                    "good", fx.req_good, fx.resp_good)), "unverified")

    def test_block_refuses_when_verify_responses_is_off(self):
        fx = self.fx
        cases = [Case("good", fx.req_good, fx.resp_good,
                      "response_unverified"),
                 Case("good_chunked", fx.req_good, fx.resp_good,
                      "response_unverified", framing="chunked", chunk=50),
                 Case("with_nonce", fx.req_n1, fx.resp_n1,
                      "response_unverified")]
        self.run_failing(cases, unverified_answers="block")
        for mode in ("enforce", "monitor"):
            with self.subTest(mode=mode):
                proxy = self.proxy(mode, unverified_answers="block")
                self.exchange(proxy, cases[0])
                ev = self.next_event(proxy, event__reason=cases[0].reason)
                self.assertEqual(get(ev, "ocspgate.detail"), VERIFY_OFF)
                self.assertEqual(get(ev, "ocspgate.signature"),
                                 "unverified")

    def test_block_passes_verified(self):
        """verify_responses on and the CA in ca_file: answers pass with
        "block", verified; a tryLater carries nothing signed and passes
        with no signature."""
        fx = self.fx
        proxy = self.proxy(unverified_answers="block", **self.verify_cfg())
        for case in (Case("good", fx.req_good, fx.resp_good),
                     Case("ca_signed", fx.req_good, fx.resp_ca_signed),
                     Case("with_nonce", fx.req_n1, fx.resp_n1)):
            with self.subTest(case=case.name):
                self.assertEqual(self.signature_of(proxy, case), "verified")
        self.assertIsNone(self.signature_of(proxy, Case(
            "try_later", fx.req_good, OCSP_RESPONSE_TRY_LATER)))

    def test_block_passes_unsuccessful_without_verify(self):
        """A non-successful status is unsigned: it passes with "block"
        even with verify_responses off."""
        proxy = self.proxy(unverified_answers="block")
        self.assertIsNone(self.signature_of(proxy, Case(
            "try_later", self.fx.req_good, OCSP_RESPONSE_TRY_LATER)))


if __name__ == "__main__":
    unittest.main()
