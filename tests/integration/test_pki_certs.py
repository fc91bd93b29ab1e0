"""pki_certs: endpoints learned from the enterprise PKI's certificates."""

import subprocess

from ocspgate_harness import (
    ProxyTestCase, binary, config_text, get, openssl_ocsp_client, run)


class PkiCertsTests(ProxyTestCase):
    """A sub-CA certificate issued by test CA 1 names the test responder
    in its AIA and a CRL in its CDP. Loading it (with CA 1) must give a
    responder bound to CA 1, a CRL host and an issuer-certificate host,
    with no responder typed in the config."""

    def make_subca(self):
        ext = self.tmp / "ext.cnf"
        ext.write_text(
            "[sub]\n"
            "basicConstraints = critical,CA:TRUE\n"
            "keyUsage = critical,keyCertSign,cRLSign\n"
            "authorityInfoAccess = OCSP;URI:http://ocsp.ca.test:%d/,"
            "caIssuers;URI:http://aia.ca.test/certs/root.crt,"
            "caIssuers;URI:ldap:///CN=Root\n"
            "crlDistributionPoints = URI:http://crl.ca.test/CertEnroll/"
            "root.crl,URI:https://crl.ca.test/x.crl\n" % self.resp.port)
        key, csr, pem = (self.tmp / n for n in ("sub.key", "sub.csr",
                                                "sub.pem"))
        run(["openssl", "req", "-newkey", "ec", "-pkeyopt",
             "ec_paramgen_curve:P-256", "-nodes", "-keyout", str(key),
             "-out", str(csr), "-subj", "/CN=Corp Issuing CA"])
        run(["openssl", "x509", "-req", "-in", str(csr), "-CA",
             str(self.pki.ca), "-CAkey", str(self.pki.ca_key),
             "-set_serial", "77", "-days", "30", "-out", str(pem),
             "-extfile", str(ext), "-extensions", "sub"])
        pkidir = self.tmp / "pki"
        pkidir.mkdir()
        (pkidir / "sub.pem").write_bytes(pem.read_bytes())
        (pkidir / "root.pem").write_bytes(self.pki.ca.read_bytes())
        return pkidir

    def config(self, pkidir):
        cfg = self.base_config(pki_certs=[str(pkidir / "*.pem")])
        cfg.pop("responders")
        return cfg

    def test_check_prints_what_it_learned(self):
        pkidir = self.make_subca()
        path = self.tmp / "t.conf"
        path.write_text(config_text(self.config(pkidir)))
        p = run([binary(), "-t", "-c", str(path)], check=False)
        out = p.stdout.decode()
        self.assertEqual(p.returncode, 0, p.stderr)
        spec = "ocsp.ca.test:%d" % self.resp.port
        self.assertIn("learned responder %s from %s"
                      % (spec, pkidir / "sub.pem"), out)
        self.assertIn("bound responder %s to issuer" % spec, out)
        self.assertIn("learned crl_host crl.ca.test/CertEnroll", out)
        self.assertIn("learned ca_issuer_host aia.ca.test/certs", out)
        # Only http:// URLs: ldap and https ones are not endpoints here.
        self.assertNotIn("ldap", out)
        self.assertNotIn("x.crl", out)
        self.assertTrue(out.rstrip().endswith("is ok"), out)

    def test_learned_responder_serves_and_is_bound(self):
        proxy = self.start_proxy(self.config(self.make_subca()))
        url = "http://ocsp.ca.test:%d/" % self.resp.port
        r = openssl_ocsp_client(self.pki, proxy.port, url, ("good",),
                                tmpdir=self.tmp)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertEqual(r.statuses, {"good": "good"})
        # The same responder asked about a CA 2 certificate: not one of
        # the issuers the PKI certificates bind it to.
        r = openssl_ocsp_client(self.pki, proxy.port, url, ("ca2_leaf",),
                                issuer=self.pki.ca2, tmpdir=self.tmp)
        self.assertNotEqual(r.returncode, 0)
        evs = proxy.wait_events(2)
        self.assertEqual([get(e, "event.reason") for e in evs],
                         ["ocsp_request", "unknown_issuer"])
        self.assertEqual(get(evs[0], "ocspgate.responder"),
                         "ocsp.ca.test:%d" % self.resp.port)

    def test_no_match_and_no_certificate_are_errors(self):
        empty = self.tmp / "empty"
        empty.mkdir()
        (empty / "junk.pem").write_text("not a certificate\n")
        for pattern, want in ((str(self.tmp / "none" / "*.pem"),
                               "no file matches"),
                              (str(empty / "*.pem"), "no certificate in")):
            cfg = self.config(empty)
            cfg["pki_certs"] = [pattern]
            path = self.tmp / "bad.conf"
            path.write_text(config_text(cfg))
            p = subprocess.run([binary(), "-t", "-c", str(path)],
                               capture_output=True, timeout=10)
            self.assertEqual(p.returncode, 1)
            self.assertRegex(p.stderr.decode(),
                             r"%s:\d+: pki_certs: %s" % (path, want))
