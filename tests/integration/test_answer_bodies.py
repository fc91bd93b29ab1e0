"""Answer bodies with nothing to spare: each carrier an answer body
could hide bytes in beside what it is (private extensions in OCSP
answers, CRLs and certificates, a certs field that holds no certificate,
a junk signature, a cabinet that is a valid header and then anything, a
.sst of arbitrary content) is pushed to the largest payload it admits
and refused (502 in enforce mode; relayed and named in monitor mode);
small unknown extensions are counted in the event, and signatures of
CRLs and trust lists are verified when their issuer is known."""

import hashlib
import json
import os

from ocspgate_harness import der, get
from ocsp_forge import extension, forge_basic
from pki_fetch import (
    cabinet, ctl_list, ctl_signed, serialized_store, store_element)
from test_fetch import CannedTestCase, Case as FetchCase
from test_response import Case, ResponseTestCase

# The sizes each carrier is pushed to: a private extension of 160 KiB
# in a CRL or certificate (max_crl_bytes allows it), 4 KiB in an OCSP
# answer (within max_response_body).
BIG = 160 * 1024
OCSP_PAYLOAD = 4096


def filler(n, seed=b"payload"):
    """<n> bytes that look like exfiltrated data and are easy to find."""
    out = b""
    while len(out) < n:
        seed = hashlib.sha256(seed).digest()
        out += seed.hex().encode()
    return out[:n]


class OcspBodyTests(ResponseTestCase):
    """OCSP answers with something beside the status."""

    def carriers(self):
        good = self.fx.resp_good
        req = self.fx.req_good
        payload = filler(OCSP_PAYLOAD)
        return [
            Case("private_response_extension", req, forge_basic(
                good, response_ext=extension(
                    "1.3.6.1.4.1.99999.1", der(0x04, payload))),
                "response_malformed"),
            Case("private_single_extension", req, forge_basic(
                good, single_ext=extension(
                    "1.3.6.1.4.1.99999.2", der(0x04, payload))),
                "response_malformed"),
            # a known single extension with a payload for a value
            Case("invalidity_date_of_data", req, forge_basic(
                good, single_ext=extension(
                    "2.5.29.24", der(0x18, payload[:400]))),
                "response_malformed"),
            Case("certs_without_a_certificate", req, forge_basic(
                good, certs=der(0x04, payload)), "response_malformed"),
            Case("certs_of_a_made_up_sequence", req, forge_basic(
                good, certs=der(0x30, der(0x02, payload))),
                "response_malformed"),
            Case("junk_signature", req, forge_basic(
                good, signature=payload[:1000]), "response_malformed"),
            Case("junk_signature_of_ecdsa_length", req, forge_basic(
                good, signature=payload[:72]), "response_malformed"),
        ]

    def test_refused(self):
        self.run_failing(self.carriers())

    def test_details(self):
        """Each refusal names its rule."""
        want = {
            "private_response_extension": "unknown response extension",
            "private_single_extension": "unknown single extension",
            "invalidity_date_of_data": "single extension too long",
            "certs_without_a_certificate": "not a certificate",
            "certs_of_a_made_up_sequence": "not a DER certificate",
            "junk_signature": "signature",
            "junk_signature_of_ecdsa_length": "signature",
        }
        proxy = self.proxy()
        for case in self.carriers():
            with self.subTest(case=case.name):
                self.exchange(proxy, case)
                ev = self.next_event(proxy,
                                     event__reason="response_malformed")
                self.assertIn(want[case.name], get(ev, "ocspgate.detail"),
                              json.dumps(ev)[:1500])


class FetchBodyTests(CannedTestCase):
    """CRLs, certificates and trust lists with something beside what
    they are."""

    def carriers(self):
        k = self.k
        rnd = os.urandom(BIG)
        header = k.authroot_cab[:k.authroot_cab.index(b"authroot.stl") + 13]
        junk_cab = bytearray(header + rnd)
        junk_cab[8:12] = len(junk_cab).to_bytes(4, "little")
        data_p7 = k.signed_p7_der
        return [
            FetchCase("crl_private_extension", "crl", "ca.crl",
                      k.crl_with_extension(BIG, "big-ext"),
                      "unknown extension over 256 bytes",
                      content_type="application/pkix-crl"),
            FetchCase("cert_private_extension", "aia", "sub.crt",
                      k.cert_with_extension(BIG, "big-ext"),
                      "unknown extension over 256 bytes",
                      content_type="application/pkix-cert"),
            FetchCase("cab_header_then_random", "ctl", "authrootstl.cab",
                      bytes(junk_cab), "cabinet",
                      content_type="application/vnd.ms-cab-compressed"),
            FetchCase("cab_of_another_file", "ctl", "authrootstl.cab",
                      cabinet([("payload.bin", rnd[:4096])], mszip=True),
                      "cabinet file not the trust list"),
            FetchCase("cab_of_a_signed_payload", "ctl", "authrootstl.cab",
                      cabinet([("authroot.stl", data_p7)], mszip=True),
                      "not a certificate trust list"),
            FetchCase("sst_of_arbitrary_elements", "ctl", "roots.sst",
                      serialized_store([k.root_der], store_element(
                          4242, rnd[:8192])),
                      "certificate store element"),
            FetchCase("sst_pkcs7_of_data", "ctl", "roots.sst", data_p7,
                      "not a certificate trust list"),
            FetchCase("stl_with_a_large_attribute", "ctl", "authroot.stl",
                      ctl_signed(ctl_list(k.ctl_thumbprints,
                                          name_len=8192),
                                 k.sub_der, [k.root_der],
                                 k.dir / "sub.key", self.tmp),
                      "attribute value"),
            FetchCase("stl_with_bytes_after_its_fields", "ctl",
                      "authroot.stl",
                      ctl_signed(ctl_list(k.ctl_thumbprints,
                                          extra=der(0x04, rnd[:8192])),
                                 k.sub_der, [k.root_der],
                                 k.dir / "sub.key", self.tmp),
                      "more than its fields"),
        ]

    def test_refused(self):
        self.run_failing(self.carriers())

    def test_small_unknown_extension_counted(self):
        """A private extension of 100 bytes passes, counted."""
        k = self.k
        proxy = self.proxy(**self.cfg)
        crl = k.crl_with_extension(100, "small-ext")
        case = FetchCase("crl_small_extension", "crl", "ca.crl", crl,
                         content_type="application/pkix-crl")
        self.check_passing(proxy, case, lambda p, spec, url, b, mode: None)
        ev = self.next_event(proxy, event__reason="crl_request")
        self.assertEqual(get(ev, "ocspgate.unknown_extensions"), 1)
        self.assertEqual(get(ev, "ocspgate.signature"), "unverified")

    def test_signatures_verified_when_the_issuer_is_known(self):
        """pki_certs (or ca_file) naming the root: its CRL's and its
        trust list's signatures are verified and say so."""
        k = self.k
        root = self.tmp / "root.pem"
        root.write_bytes(k.root_pem)
        for cfg in ({"pki_certs": [str(root)]}, {"ca_file": str(root)}):
            proxy = self.proxy(**dict(self.cfg, **cfg))
            for case, reason in (
                    (FetchCase("crl_known_issuer", "crl", "ca.crl",
                               k.crl_der), "crl_request"),
                    (FetchCase("cab_known_signer", "ctl", "authrootstl.cab",
                               k.authroot_cab), "ctl_request")):
                with self.subTest(cfg=sorted(cfg), case=case.name):
                    self.check_passing(proxy, case,
                                       lambda p, s, u, b, mode: None)
                    ev = self.next_event(proxy, event__reason=reason)
                    self.assertEqual(get(ev, "ocspgate.signature"),
                                     "verified", json.dumps(ev)[:1500])

    def test_impostor_refused_when_the_issuer_is_known(self):
        """The root's own CRL with its signature spoilt names the root's
        key: unverified while the root is not known, refused once it
        is. A CRL of the root's name by another key (its
        authorityKeyIdentifier another key's, as after a CA renewed its
        key) is the known root's to verify no more than a stranger's:
        unverified, not refused."""
        k = self.k
        crl = k.crl_der
        forged = crl[:-1] + bytes([crl[-1] ^ 0x01])  # the ECDSA s
        proxy = self.proxy(**self.cfg)
        self.check_passing(proxy, FetchCase("crl_forged_unknown", "crl",
                                            "ca.crl", forged),
                           lambda p, s, u, b, mode: None)
        ev = self.next_event(proxy, event__reason="crl_request")
        self.assertEqual(get(ev, "ocspgate.signature"), "unverified")
        root = self.tmp / "root.pem"
        root.write_bytes(k.root_pem)
        self.run_failing([FetchCase("crl_forged", "crl", "ca.crl", forged,
                                    "does not verify")],
                         pki_certs=[str(root)])
        renewed = k.impostor_crl()
        proxy = self.proxy(pki_certs=[str(root)], **self.cfg)
        self.check_passing(proxy, FetchCase("crl_other_key", "crl",
                                            "ca.crl", renewed),
                           lambda p, s, u, b, mode: None)
        ev = self.next_event(proxy, event__reason="crl_request")
        self.assertEqual(get(ev, "ocspgate.signature"), "unverified")
