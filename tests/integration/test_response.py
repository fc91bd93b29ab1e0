"""Response inspection: the answer to an allowed OCSP request is held
until judged. Good answers reach the client unchanged and leave an
ocspgate.ocsp.response in the event; bad ones (not OCSP, cut short,
about another certificate, another nonce, too large, signed by someone
not trusted) become 502 in enforce mode, with not a byte of them sent,
and are relayed but logged with the failure in monitor mode."""

import dataclasses
import hashlib
import json
import re
import shutil
import time

from ocspgate_harness import (
    EXPIRY, OCSP_RESPONSE_TRY_LATER, REVOKED_AT, CertID, Client,
    ProxyTestCase, curl_get, get, get_cryptoapi, load_cert, ocsp_post,
    ocsp_request_der, openssl_ocsp_client, parse_ocsp_request,
    parse_responses, raw_request)
from ocsp_forge import (
    Answer, CannedUpstream, assert_rebuilt, cut_short, flip_signature_byte,
    http_answer, long_form_length, offline_response, openssl_request,
    parse_ocsp_response, start_responder, with_trailing_byte)

TIME_RE = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$")

HTML = (b"<!DOCTYPE html>\n<html><head><title>Captive portal</title></head>"
        b"<body><p>upstream-html-marker: sign in to continue</p></body>"
        b"</html>\n")


def refusal_body(reason):
    return b"ocspgate: bad gateway (%s)\n" % reason.encode()


def rfc3339_of(asn1_time):
    """'250101000000Z' (UTCTime, as in index.txt) -> RFC 3339."""
    t = asn1_time
    return "20%s-%s-%sT%s:%s:%sZ" % (t[0:2], t[2:4], t[4:6], t[6:8],
                                      t[8:10], t[10:12])


class Fixtures:
    """Real responses made once for the module: `openssl ocsp` acting as
    a responder on a request file, over CA 1's index in which the
    revoked leaf carries a revocation reason; and a running responder
    over the same index for the end-to-end tests."""

    _made = None

    # Reason names as `openssl ca` writes them in index.txt, and what
    # RFC 5280 calls them.
    INDEX_REASONS = ["unspecified", "keyCompromise", "CACompromise",
                     "affiliationChanged", "superseded",
                     "cessationOfOperation", "certificateHold",
                     "removeFromCRL"]
    RFC5280_REASONS = ["unspecified", "keyCompromise", "cACompromise",
                       "affiliationChanged", "superseded",
                       "cessationOfOperation", "certificateHold",
                       "removeFromCRL"]

    @classmethod
    def get(cls, env):
        if cls._made is None:
            cls._made = cls(env)
        return cls._made

    def __init__(self, env):
        pki = self.pki = env.pki
        d = self.dir = env.dir / "response-fixtures"
        d.mkdir(exist_ok=True)
        self.index = d / "index.txt"
        self.index.write_text(
            "V\t%s\t\t1A2B3C\tunknown\t/CN=good.leaf.test\n"
            "V\t%s\t\tC0FFEE01\tunknown\t/CN=good_hi.leaf.test\n"
            "R\t%s\t%s,keyCompromise\t2B3C4D\tunknown\t/CN=revoked.leaf.test\n"
            % (EXPIRY, EXPIRY, EXPIRY, REVOKED_AT))
        (d / "index.txt.attr").write_text("unique_subject = no\n")
        self.revoked_at = rfc3339_of(REVOKED_AT)
        keys = pki.dir
        self.signers = {
            "ocsp": (pki.ocsp, pki.ocsp_key),
            "ca": (pki.ca, pki.ca_key),
            "ca2": (pki.ocsp2, pki.ocsp2_key),
            "leaf": (pki.leaves["good"], keys / "leaf_good.key"),
        }
        # RFC 2253 names of every signer's subject, by subject DER.
        self.names = {
            load_cert(pki.ocsp).subject_der: "CN=ocspgate test OCSP signer",
            load_cert(pki.ca).subject_der:
                "CN=ocspgate test root CA 1,O=ocspgate tests",
            load_cert(pki.ocsp2).subject_der:
                "CN=ocspgate test OCSP signer 2",
            load_cert(pki.leaves["good"]).subject_der: "CN=good.leaf.test",
        }
        self.ocsp_key_hash = hashlib.sha1(
            load_cert(pki.ocsp).spki_bits).hexdigest().upper()

        good = pki.cert_id("good")
        self.req_good = ocsp_request_der([good])
        self.resp_good = self.make(self.req_good)
        self.resp_revoked = self.make(ocsp_request_der(
            [pki.cert_id("revoked")]))
        self.resp_good_and_revoked = self.make(ocsp_request_der(
            [good, pki.cert_id("revoked")]))
        self.resp_revoked_no_reason = self.make(ocsp_request_der(
            [pki.cert_id("revoked")]), index=pki.index)
        # One revoked serial per reason `openssl ca` writes in an index.
        reasons = d / "reasons.txt"
        reasons.write_text("".join(
            "R\t%s\t%s,%s\t%02X\tunknown\t/CN=reason%d\n"
            % (EXPIRY, REVOKED_AT, name, 0x51 + i, i)
            for i, name in enumerate(self.INDEX_REASONS)))
        (d / "reasons.txt.attr").write_text("unique_subject = no\n")
        self.req_reasons = ocsp_request_der(
            [CertID.of(pki.ca_info, 0x51 + i)
             for i in range(len(self.INDEX_REASONS))])
        self.resp_reasons = self.make(self.req_reasons, index=reasons)
        self.resp_good_sha256 = self.make(ocsp_request_der(
            [pki.cert_id("good", "sha256")]))
        ca2 = pki.ca2_info
        self.resp_other_key_hash = self.make(ocsp_request_der([CertID(
            "sha1", good.issuer_name_hash,
            hashlib.sha1(ca2.spki_bits).digest(), good.serial)]))
        self.resp_other_name_hash = self.make(ocsp_request_der([CertID(
            "sha1", hashlib.sha1(ca2.subject_der).digest(),
            good.issuer_key_hash, good.serial)]))
        # Two requests made by the openssl client, each with its own
        # random nonce, and a response to the first.
        self.req_n1 = openssl_request(pki.ca, [pki.leaves["good"]], d)
        self.req_n2 = openssl_request(pki.ca, [pki.leaves["good"]], d)
        self.resp_n1 = self.make(self.req_n1)
        # Signed by others than CA 1's OCSP signer.
        self.resp_ca2 = self.make(self.req_good, "ca2", pki.index2,
                                  pki.ca2)
        self.resp_ca2_leaf = self.make(ocsp_request_der(
            [pki.cert_id("ca2_leaf")]), "ca2", pki.index2, pki.ca2)
        self.resp_leaf_signed = self.make(self.req_good, "leaf")
        self.resp_ca_signed = self.make(self.req_good, "ca")
        self.resp_ca_signed_no_certs = self.make(
            self.req_good, "ca", options=["-resp_no_certs"])
        self.resp_by_key = self.make(self.req_good,
                                     options=["-resp_key_id"])
        self.resp_flipped = flip_signature_byte(self.resp_good)
        # RFC 6960 4.2.2.2's bypass: a CertID naming the TLS leaf "good"
        # (issued by CA 1, so it chains to ca_file) as the issuer, and an
        # answer the leaf signed itself, as `openssl ocsp` makes it with
        # the leaf as its -CA and -rsigner.
        leaf = pki.leaves["good"]
        leaf_index = d / "leaf-index.txt"
        leaf_index.write_text("V\t%s\t\t77\tunknown\t/CN=x.leaf.test\n"
                              % EXPIRY)
        (d / "leaf-index.txt.attr").write_text("unique_subject = no\n")
        self.req_leaf_as_issuer = ocsp_request_der(
            [CertID.of(load_cert(leaf), 0x77)])
        self.resp_leaf_as_issuer = self.make(
            self.req_leaf_as_issuer, "leaf", leaf_index, leaf)
        self._check()

    def make(self, request, signer="ocsp", index=None, ca=None,
             options=()):
        cert, key = self.signers[signer]
        return offline_response(request, index or self.index,
                                ca or self.pki.ca, cert, key, self.dir,
                                options)

    def _check(self):
        """The fixtures are what the tests take them to be."""
        p = parse_ocsp_response
        assert p(self.resp_good).certs[0]["status"] == "good"
        rev = p(self.resp_revoked).certs[0]
        assert rev["revocation_reason"] == "keyCompromise", rev
        assert "revocation_reason" not in p(
            self.resp_revoked_no_reason).certs[0]
        assert [c.get("revocation_reason") for c in p(
            self.resp_reasons).certs] == self.RFC5280_REASONS
        assert p(self.resp_ca2).certs[0]["status"] == "unknown"
        assert p(self.resp_other_key_hash).certs[0]["status"] == "unknown"
        n1 = parse_ocsp_request(self.req_n1)[1]
        n2 = parse_ocsp_request(self.req_n2)[1]
        assert n1 and n2 and n1 != n2
        assert p(self.resp_n1).nonce == n1
        assert p(self.resp_good).nonce is None
        assert p(self.resp_by_key).responder_key_hash is not None
        assert p(self.resp_ca_signed_no_certs).signature is not None
        assert self.resp_flipped != self.resp_good

    def expected(self, der):
        """The ocspgate.ocsp.response an event should carry for this DER."""
        r = parse_ocsp_response(der)
        out = {"status": r.status}
        if r.status != "successful":
            return out
        out["produced_at"] = r.produced_at
        if r.responder_key_hash is not None:
            out["responder_key_hash"] = r.responder_key_hash.hex().upper()
        else:
            out["responder_name"] = self.names[r.responder_name_der]
        out["nonce"] = r.nonce is not None
        out["certs"] = [{k: v for k, v in c.items()
                         if k not in ("cert_id", "hash_algorithm",
                                      "issuer_name_hash",
                                      "issuer_key_hash")}
                        for c in r.certs]
        return out


@dataclasses.dataclass
class Case:
    """One answer to one request. reason None: it must pass."""
    name: str
    request: bytes
    body: bytes
    reason: str = None
    status: int = 200
    status_text: str = "OK"
    content_type: str = "application/ocsp-response"
    framing: str = "length"
    chunk: int = None
    pieces: int = 1
    gap: float = 0.0

    @property
    def marker(self):
        return "m-" + self.name

    def answer(self):
        raw = http_answer(self.body, self.status, self.status_text,
                          self.content_type, self.framing,
                          headers=[("X-Canned-Marker", self.marker)],
                          chunk=self.chunk)
        return Answer(raw, close=self.framing == "close",
                      pieces=self.pieces, gap=self.gap)


class ResponseTestCase(ProxyTestCase):
    RESPONDERS = 0

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.fx = Fixtures.get(cls.env)

    def setUp(self):
        super().setUp()
        self.counts = {}
        self.canned = CannedUpstream(lambda req: self.current.answer())
        self.addCleanup(self.canned.stop)
        self.current = None
        self.spec = "ocsp.ca.test:%d" % self.canned.port
        self.url = "http://%s/" % self.spec

    def proxy(self, mode="enforce", responders=None, **kw):
        kw.setdefault("event_log", str(
            self.tmp / ("events-%d.jsonl" % len(self.counts))))
        p = self.start_proxy(mode=mode,
                             responders=responders or [self.spec], **kw)
        self.counts[p] = 0
        return p

    def next_event(self, proxy, **fields):
        self.counts[proxy] += 1
        return self.expect_event(proxy, self.counts[proxy], **fields)

    def exchange(self, proxy, case, timeout=5):
        """Sends the case's request with Connection: close and reads
        until the proxy closes. Returns (raw bytes, responses, rest)."""
        self.current = case
        before = self.canned.request_count()
        raw = raw_request(proxy.port, ocsp_post(self.url, case.request,
                                                connection="close"),
                          timeout=timeout)
        responses, rest = parse_responses(raw, at_eof=True)
        got = self.canned.wait_requests(before + 1, 2)
        self.assertEqual(len(got), before + 1, "request not forwarded")
        self.assertEqual(got[-1].body, case.request)
        return raw, responses, rest

    # -- what the client must see ----------------------------------------

    def assert_relayed(self, case, raw, responses, rest):
        """The upstream's answer: its status and body, under a head of
        ocspgate's own (the upstream's marker field left out)."""
        dump = "%s: %r" % (case.name, raw[:400])
        self.assertEqual(len(responses), 1, dump)
        self.assertEqual(rest, b"", dump)
        r = responses[0]
        self.assertEqual(r.status, case.status, dump)
        assert_rebuilt(self, r, raw, dump, case.content_type, case.body)
        self.assertNotIn(b"X-Canned-Marker", raw, dump)
        return r

    def assert_refused(self, case, raw, responses, rest, reason):
        """ocspgate's own 502 and nothing of the upstream's answer."""
        dump = "%s: %r" % (case.name, raw[:600])
        self.assertEqual(len(responses), 1, dump)
        self.assertEqual(rest, b"", dump)
        r = responses[0]
        self.assertEqual(r.status, 502, dump)
        self.assertEqual(r.reason, "Bad Gateway", dump)
        self.assertEqual(r.header("content-type"), "text/plain", dump)
        self.assertEqual(r.header("cache-control"), "no-store", dump)
        self.assertEqual(r.body, refusal_body(reason), dump)
        self.assertNotIn(case.marker.encode(), raw, dump)
        self.assertNotIn(b"X-Canned-Marker", raw, dump)
        self.assert_none_of(case.body, raw, dump)
        return r

    def assert_none_of(self, body, raw, dump):
        """No run of the upstream's body bytes in what the client got."""
        w = min(12, len(body))
        if w < 3:
            return
        for i in range(0, len(body) - w + 1):
            self.assertNotIn(body[i:i + w], raw,
                             "upstream bytes at %d leaked; %s" % (i, dump))

    # -- what the event must say -----------------------------------------

    def passed_event(self, proxy, case, mode="enforce"):
        ev = self.next_event(proxy, event__action="allow",
                             event__reason="ocsp_request",
                             ocspgate__mode=mode, ocspgate__enforced=True,
                             http__response__status_code=case.status,
                             http__response__body__bytes=len(case.body))
        self.assertNotIn("detail", ev["ocspgate"], case.name)
        self.assertEqual(get(ev, "ocspgate.ocsp.response"),
                         self.fx.expected(case.body),
                         "%s: %s" % (case.name, json.dumps(ev)[:2000]))
        return ev

    def failed_event(self, proxy, case, mode, status, body_bytes):
        ev = self.next_event(proxy, event__action="allow",
                             event__reason=case.reason,
                             ocspgate__mode=mode, ocspgate__enforced=True,
                             ocspgate__responder=self.spec,
                             http__response__status_code=status,
                             http__response__body__bytes=body_bytes)
        detail = get(ev, "ocspgate.detail")
        self.assertIsInstance(detail, str, case.name)
        self.assertTrue(detail.strip(), case.name)
        self.assertEqual(get(ev, "ocspgate.ocsp.request.certs"),
                         [c.event() for c in
                          parse_ocsp_request(case.request)[0]], case.name)
        return ev

    # -- running cases ---------------------------------------------------

    def run_passing(self, proxy, cases, mode="enforce"):
        for case in cases:
            n = self.counts[proxy] + 1
            with self.subTest(case=case.name, mode=mode):
                try:
                    self.assertIsNone(case.reason)
                    raw, responses, rest = self.exchange(proxy, case)
                    self.assert_relayed(case, raw, responses, rest)
                    self.passed_event(proxy, case, mode)
                finally:
                    # the next case reads the next event, whatever failed
                    self.counts[proxy] = n

    def run_failing(self, cases, modes=("enforce", "monitor"), **cfg):
        """Each case against a proxy in each mode."""
        for mode in modes:
            proxy = self.proxy(mode, **cfg)
            for case in cases:
                n = self.counts[proxy] + 1
                with self.subTest(case=case.name, mode=mode):
                    try:
                        self.check_failing(proxy, case, mode)
                    finally:
                        self.counts[proxy] = n

    def check_failing(self, proxy, case, mode):
        self.assertIsNotNone(case.reason)
        raw, responses, rest = self.exchange(proxy, case)
        if mode == "enforce":
            r = self.assert_refused(case, raw, responses, rest, case.reason)
            self.failed_event(proxy, case, mode, 502, len(r.body))
        else:
            self.assert_relayed(case, raw, responses, rest)
            self.failed_event(proxy, case, mode, case.status, len(case.body))


class RealResponderTests(ResponseTestCase):
    """openssl ocsp client -> ocspgate -> openssl ocsp responder."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        pki = cls.env.pki
        cls.responder = start_responder(cls.fx.dir, cls.fx.index, pki.ca,
                                        pki.ocsp, pki.ocsp_key)
        cls.addClassCleanup(cls.responder.stop)

    def setUp(self):
        super().setUp()
        self.rspec = "ocsp.ca.test:%d" % self.responder.port
        self.rurl = "http://%s/" % self.rspec

    def client(self, proxy, certs, **kw):
        r = openssl_ocsp_client(self.pki, proxy.port, self.rurl, certs,
                                tmpdir=self.tmp, **kw)
        self.assertEqual(r.returncode, 0, "openssl ocsp failed:\n%s\n%s"
                         % (r.stdout, r.stderr))
        self.assertIn("Response verify OK", r.stderr)
        return r

    def allowed(self, proxy, r, mode="enforce"):
        ev = self.next_event(proxy, event__action="allow",
                             event__reason="ocsp_request",
                             ocspgate__mode=mode,
                             ocspgate__responder=self.rspec,
                             http__response__status_code=200,
                             http__response__body__bytes=len(r.response))
        self.assertNotIn("detail", ev["ocspgate"])
        resp = get(ev, "ocspgate.ocsp.response")
        dump = json.dumps(ev)[:2000]
        self.assertEqual(resp, self.fx.expected(r.response), dump)
        # The response's cert IDs are the request's, one for one.
        asked = get(ev, "ocspgate.ocsp.request.certs")
        self.assertEqual([c["serial"] for c in resp["certs"]],
                         [c["serial"] for c in asked], dump)
        self.assertRegex(resp["produced_at"], TIME_RE)
        for c in resp["certs"]:
            self.assertRegex(c["this_update"], TIME_RE)
            self.assertRegex(c["next_update"], TIME_RE)
            # -nmin 5
            t0 = time.strptime(c["this_update"], "%Y-%m-%dT%H:%M:%SZ")
            t1 = time.strptime(c["next_update"], "%Y-%m-%dT%H:%M:%SZ")
            self.assertEqual(time.mktime(t1) - time.mktime(t0), 300, dump)
        return ev, resp

    def test_good_with_nonce(self):
        proxy = self.proxy(responders=[self.rspec])
        r = self.client(proxy, ("good",))
        self.assertEqual(r.statuses, {"good": "good"})
        _, resp = self.allowed(proxy, r)
        self.assertEqual(resp["status"], "successful")
        self.assertEqual(resp["responder_name"],
                         "CN=ocspgate test OCSP signer")
        self.assertIs(resp["nonce"], True)
        self.assertEqual(len(resp["certs"]), 1)
        c = resp["certs"][0]
        self.assertEqual(c["serial"], "1A2B3C")
        self.assertEqual(c["status"], "good")
        self.assertNotIn("revocation_time", c)
        self.assertNotIn("revocation_reason", c)

    def test_revoked_with_reason(self):
        proxy = self.proxy(responders=[self.rspec])
        r = self.client(proxy, ("revoked",), no_nonce=True)
        self.assertEqual(r.statuses, {"revoked": "revoked"})
        self.assertIn("keyCompromise", r.stdout)
        _, resp = self.allowed(proxy, r)
        self.assertIs(resp["nonce"], False)
        c = resp["certs"][0]
        self.assertEqual(c["serial"], "2B3C4D")
        self.assertEqual(c["status"], "revoked")
        self.assertEqual(c["revocation_time"], self.fx.revoked_at)
        self.assertEqual(c["revocation_reason"], "keyCompromise")

    def test_several_certs(self):
        """good, good_hi (its DER serial has a sign octet), revoked and
        one the index does not know, in the request's order."""
        proxy = self.proxy(responders=[self.rspec])
        r = self.client(proxy, ("good", "good_hi", "revoked", "unknown"))
        self.assertEqual(r.statuses, {"good": "good", "good_hi": "good",
                                      "revoked": "revoked",
                                      "unknown": "unknown"})
        _, resp = self.allowed(proxy, r)
        self.assertEqual([(c["serial"], c["status"]) for c in resp["certs"]],
                         [("1A2B3C", "good"), ("C0FFEE01", "good"),
                          ("2B3C4D", "revoked"), ("0BAD", "unknown")])

    def test_get_request(self):
        proxy = self.proxy(responders=[self.rspec])
        req = ocsp_request_der([self.pki.cert_id("revoked")])
        status, body = curl_get(proxy.port, self.rurl + get_cryptoapi(req),
                                self.tmp)
        self.assertEqual(status, 200)
        ev = self.next_event(proxy, event__reason="ocsp_request",
                             http__request__method="GET",
                             http__response__body__bytes=len(body))
        self.assertEqual(get(ev, "ocspgate.ocsp.response"),
                         self.fx.expected(body))
        self.assertEqual(get(ev, "ocspgate.ocsp.response.certs")[0]["status"],
                         "revoked")

    def test_monitor_mode_logs_response(self):
        proxy = self.proxy("monitor", responders=[self.rspec])
        r = self.client(proxy, ("revoked",))
        _, resp = self.allowed(proxy, r, mode="monitor")
        self.assertEqual(resp["certs"][0]["revocation_reason"],
                         "keyCompromise")

    def test_verified_end_to_end(self):
        shutil.copy(self.pki.ca, self.tmp / "bundle.pem")
        proxy = self.proxy(responders=[self.rspec], verify_responses=True,
                           ca_file="bundle.pem")
        r = self.client(proxy, ("good", "revoked"))
        self.allowed(proxy, r)


class InspectionTests(ResponseTestCase):
    """A canned upstream answering allowed requests."""

    def test_answers_that_pass(self):
        fx = self.fx
        good, req = fx.resp_good, fx.req_good
        cases = [
            Case("content_length", req, good),
            Case("chunked", req, good, framing="chunked"),
            Case("chunked_1_byte", req, good, framing="chunked", chunk=1),
            Case("close_delimited", req, good, framing="close"),
            Case("trickled", req, good, pieces=7, gap=0.03),
            Case("trickled_chunked", req, good, framing="chunked", chunk=50,
                 pieces=9, gap=0.02),
            Case("content_type_parameter", req, good,
                 content_type="application/ocsp-response; charset=binary"),
            Case("content_type_case", req, good,
                 content_type="Application/OCSP-Response"),
            Case("revoked", ocsp_request_der([self.pki.cert_id("revoked")]),
                 fx.resp_revoked),
            Case("two_certs", ocsp_request_der(
                [self.pki.cert_id("good"), self.pki.cert_id("revoked")]),
                 fx.resp_good_and_revoked),
            Case("revoked_without_reason", ocsp_request_der(
                [self.pki.cert_id("revoked")]), fx.resp_revoked_no_reason),
            Case("every_reason", fx.req_reasons, fx.resp_reasons),
            Case("same_nonce", fx.req_n1, fx.resp_n1),
            # A request's nonce need not come back (RFC 5019 responders
            # send none).
            Case("no_nonce_in_answer", fx.req_n2, good),
            Case("by_key", req, fx.resp_by_key),
            Case("ca_signed", req, fx.resp_ca_signed),
            # CA 2's responder on a certificate of an issuer it does not
            # serve: "unknown", as RFC 6960 2.2 has it, signed by itself
            Case("unknown_from_other_responder", req, fx.resp_ca2),
            Case("try_later", req, OCSP_RESPONSE_TRY_LATER),
            Case("try_later_chunked", req, OCSP_RESPONSE_TRY_LATER,
                 framing="chunked", chunk=2),
            Case("malformed_request", req, bytes.fromhex("30030a0101")),
            Case("internal_error", req, bytes.fromhex("30030a0102")),
            Case("sig_required", req, bytes.fromhex("30030a0105")),
            Case("unauthorized", req, bytes.fromhex("30030a0106")),
        ]
        proxy = self.proxy()
        self.run_passing(proxy, cases)
        ev = proxy.events()
        byname = {c.name: e for c, e in zip(cases, ev)}
        self.assertEqual(get(byname["by_key"], "ocspgate.ocsp.response"
                             ".responder_key_hash"), fx.ocsp_key_hash)
        self.assertEqual(get(byname["try_later"], "ocspgate.ocsp.response"),
                         {"status": "tryLater"})
        self.assertEqual(get(byname["unauthorized"],
                             "ocspgate.ocsp.response.status"), "unauthorized")
        self.assertIs(get(byname["same_nonce"],
                          "ocspgate.ocsp.response.nonce"), True)
        self.assertEqual([c.get("revocation_reason") for c in get(
            byname["every_reason"], "ocspgate.ocsp.response.certs")],
            fx.RFC5280_REASONS)
        c = get(byname["revoked_without_reason"],
                "ocspgate.ocsp.response.certs")[0]
        self.assertEqual(c["revocation_time"], fx.revoked_at)
        self.assertNotIn("revocation_reason", c)
        self.assertIs(get(byname["no_nonce_in_answer"],
                          "ocspgate.ocsp.response.nonce"), False)

    def test_not_ocsp(self):
        req = self.fx.req_good
        self.run_failing([
            Case("html", req, HTML, "response_malformed",
                 content_type="text/html; charset=utf-8"),
            Case("html_ocsp_type", req, HTML, "response_malformed"),
            Case("html_ocsp_type_chunked", req, HTML, "response_malformed",
                 framing="chunked", chunk=16),
            Case("html_ocsp_type_close", req, HTML, "response_malformed",
                 framing="close"),
            Case("html_ocsp_type_trickled", req, HTML, "response_malformed",
                 pieces=5, gap=0.05),
            Case("no_content_type", req, self.fx.resp_good,
                 "response_malformed", content_type=None),
            Case("request_type", req, self.fx.resp_good,
                 "response_malformed",
                 content_type="application/ocsp-request"),
            Case("type_prefix_only", req, self.fx.resp_good,
                 "response_malformed",
                 content_type="application/ocsp-responsex"),
            Case("empty_body", req, b"", "response_malformed"),
        ])

    def test_bad_status(self):
        req = self.fx.req_good
        self.run_failing([
            Case("status_404", req, self.fx.resp_good, "response_malformed",
                 status=404, status_text="Not Found"),
            Case("status_500_try_later", req, OCSP_RESPONSE_TRY_LATER,
                 "response_malformed", status=500,
                 status_text="Internal Server Error"),
            Case("status_203", req, self.fx.resp_good, "response_malformed",
                 status=203, status_text="Non-Authoritative Information"),
        ])

    def test_broken_der(self):
        req, good = self.fx.req_good, self.fx.resp_good
        self.run_failing([
            Case("truncated", req, cut_short(good, 7), "response_malformed"),
            Case("truncated_1", req, cut_short(good, 1),
                 "response_malformed"),
            Case("truncated_chunked", req, cut_short(good, 7),
                 "response_malformed", framing="chunked"),
            Case("trailing_byte", req, with_trailing_byte(good),
                 "response_malformed"),
            Case("trailing_byte_close", req, with_trailing_byte(good),
                 "response_malformed", framing="close"),
            Case("two_responses", req, good + good, "response_malformed"),
            Case("not_canonical", req,
                 long_form_length(OCSP_RESPONSE_TRY_LATER),
                 "response_malformed"),
            Case("unknown_status_4", req, bytes.fromhex("30030a0104"),
                 "response_malformed"),
            Case("unknown_status_7", req, bytes.fromhex("30030a0107"),
                 "response_malformed"),
            Case("successful_without_bytes", req,
                 bytes.fromhex("30030a0100"), "response_malformed"),
        ])

    def test_about_another_certificate(self):
        """Responses about cert IDs the request did not ask for: another
        serial, an extra one, another hash algorithm, another issuer
        hash. The requests carry no nonce, so only the IDs differ."""
        fx = self.fx
        req = fx.req_good
        self.assertIsNone(parse_ocsp_request(req)[1])
        self.run_failing([
            Case("other_serial", req, fx.resp_revoked, "response_malformed"),
            Case("extra_single_response", req, fx.resp_good_and_revoked,
                 "response_malformed"),
            Case("other_hash_algorithm", req, fx.resp_good_sha256,
                 "response_malformed"),
            Case("other_issuer_key_hash", req, fx.resp_other_key_hash,
                 "response_malformed"),
            Case("other_issuer_name_hash", req, fx.resp_other_name_hash,
                 "response_malformed"),
            Case("other_issuer_and_serial", req, fx.resp_ca2_leaf,
                 "response_malformed"),
        ])

    def test_wrong_nonce(self):
        fx = self.fx
        self.run_failing([
            Case("wrong_nonce", fx.req_n2, fx.resp_n1, "response_malformed"),
            Case("wrong_nonce_chunked", fx.req_n2, fx.resp_n1,
                 "response_malformed", framing="chunked"),
            # unasked, a nonce is up to 128 bytes of the responder's
            Case("nonce_not_asked", fx.req_good, fx.resp_n1,
                 "response_malformed"),
        ])

    def test_signer_judged_without_verification(self):
        """verify_responses off: the signer is still who RFC 6960
        4.2.2.2 allows, as far as the response itself shows."""
        fx = self.fx
        self.run_failing([
            # issued by CA 1 but without id-kp-OCSPSigning
            Case("leaf_signer", fx.req_good, fx.resp_leaf_signed,
                 "response_malformed"),
            # a TLS leaf named as the issuer, signing for itself
            Case("leaf_named_as_issuer", fx.req_leaf_as_issuer,
                 fx.resp_leaf_as_issuer, "response_malformed"),
        ])

    def test_interim_answer_then_response(self):
        """A 100 Continue before the answer is skipped; the answer that
        follows is judged (and passes or fails) on its own."""
        good = self.fx.resp_good
        ok = Case("after_interim", self.fx.req_good, good)
        bad = Case("html_after_interim", self.fx.req_good, HTML,
                   "response_malformed")
        for c in (ok, bad):
            raw = b"HTTP/1.1 100 Continue\r\n\r\n" + Case.answer(c).raw
            c.answer = (lambda raw=raw: Answer(raw))
        proxy = self.proxy()
        self.run_passing(proxy, [ok])
        raw, responses, rest = self.exchange(proxy, bad)
        r = self.assert_refused(bad, raw, responses, rest, bad.reason)
        self.failed_event(proxy, bad, "enforce", 502, len(r.body))

    def test_keep_alive_after_refusal(self):
        """After a 502 for a bad answer the client's connection goes on,
        and each later answer is judged on its own bytes."""
        fx = self.fx
        cases = [
            Case("html_keep_alive", fx.req_good, HTML, "response_malformed"),
            Case("good_after_bad", fx.req_good, fx.resp_good),
            Case("revoked_after_good", ocsp_request_der(
                [self.pki.cert_id("revoked")]), fx.resp_revoked),
            Case("trailing_after_good", fx.req_good,
                 with_trailing_byte(fx.resp_good), "response_malformed"),
            Case("try_later_last", fx.req_good, OCSP_RESPONSE_TRY_LATER),
        ]
        proxy = self.proxy()
        with Client(proxy.port) as c:
            for case in cases:
                self.current = case
                c.send(ocsp_post(self.url, case.request))
                r = c.read_response()
                if case.reason:
                    self.assertEqual(r.status, 502, case.name)
                    self.assertEqual(r.body, refusal_body(case.reason))
                else:
                    self.assertEqual(r.status, 200, case.name)
                    self.assertEqual(r.body, case.body, case.name)
            self.assertFalse(c.wait_closed(0.2), "connection closed")
            self.assertEqual(bytes(c.buf), b"", "bytes after the answers")
        for case in cases:
            if case.reason:
                self.failed_event(proxy, case, "enforce", 502,
                                  len(refusal_body(case.reason)))
            else:
                self.passed_event(proxy, case)

    def test_cut_short_by_upstream(self):
        """The upstream promises more than it sends and closes: a held
        answer never reaches the client as if it were whole."""
        good = self.fx.resp_good
        raw = http_answer(good, headers=[("X-Canned-Marker", "m-cut")])
        case = Case("cut", self.fx.req_good, good, "response_malformed")
        case.answer = lambda: Answer(raw[:-200], close=True)
        for mode in ("enforce", "monitor"):
            with self.subTest(mode=mode):
                proxy = self.proxy(mode)
                raw_out, responses, rest = self.exchange(proxy, case)
                ev = self.next_event(proxy, event__action="allow",
                                     event__reason="response_malformed",
                                     ocspgate__mode=mode)
                self.assertTrue(get(ev, "ocspgate.detail"))
                if mode == "enforce":
                    # nothing went out yet: ocspgate's own 502
                    self.assert_refused(case, raw_out, responses, rest,
                                        case.reason)
                else:
                    # relayed as far as it came, or refused; never a
                    # complete answer
                    for r in responses:
                        self.assertEqual(r.status, 502, raw_out[:300])

    def test_blocked_request_forwarded_by_monitor_is_not_inspected(self):
        """Monitor mode forwards a block as it is: its answer is not
        judged (it was never an OCSP exchange ocspgate allowed)."""
        proxy = self.proxy("monitor", responders=[
            {"host": self.spec, "issuers": [str(self.pki.ca)]}])
        case = Case("blocked_html", ocsp_request_der(
            [self.pki.cert_id("ca2_leaf")]), HTML, content_type="text/html")
        raw, responses, rest = self.exchange(proxy, case)
        self.assert_relayed(case, raw, responses, rest)
        ev = self.next_event(proxy, event__action="block",
                             event__reason="unknown_issuer",
                             ocspgate__enforced=False,
                             http__response__status_code=200)
        self.assertIsNone(get(ev, "ocspgate.ocsp.response"))


class SizeLimitTests(ResponseTestCase):
    """max_response_body: by Content-Length at once, or while reading a
    chunked or close-delimited body."""

    FRAMINGS = ("length", "chunked", "close")

    def cases(self, reason, tag):
        return [Case("%s_%s" % (tag, f), self.fx.req_good, self.fx.resp_good,
                     reason, framing=f) for f in self.FRAMINGS]

    def test_small_limit(self):
        self.run_failing(self.cases("response_malformed", "over_100"),
                         max_response_body=100)

    def test_one_byte_over(self):
        self.run_failing(self.cases("response_malformed", "over_by_1"),
                         modes=("enforce",),
                         max_response_body=len(self.fx.resp_good) - 1)

    def test_exactly_at_limit(self):
        proxy = self.proxy(max_response_body=len(self.fx.resp_good))
        self.run_passing(proxy, self.cases(None, "at_limit"))

    def test_large_response_under_default(self):
        """A response with many SingleResponses, well under 65536 bytes,
        chunked in small pieces."""
        ids = [self.pki.cert_id(n, alg) for n in ("good", "revoked")
               for alg in ("sha1", "sha256", "sha512", "sha384")]
        req = ocsp_request_der(ids)
        body = self.fx.make(req)
        self.assertEqual(len(parse_ocsp_response(body).certs), 8)
        proxy = self.proxy()
        self.run_passing(proxy, [Case("eight_certs", req, body,
                                      framing="chunked", chunk=3)])


class VerifyTests(ResponseTestCase):
    """verify_responses = true: trust is ca_file plus the responder's
    issuers."""

    def setUp(self):
        super().setUp()
        shutil.copy(self.pki.ca, self.tmp / "bundle.pem")

    def verify_cfg(self):
        return {"verify_responses": True, "ca_file": "bundle.pem"}

    def test_trusted_signers_pass(self):
        fx = self.fx
        req = fx.req_good
        proxy = self.proxy(**self.verify_cfg())
        self.run_passing(proxy, [
            Case("delegated_signer", req, fx.resp_good),
            Case("delegated_signer_by_key", req, fx.resp_by_key),
            Case("delegated_signer_chunked", req, fx.resp_good,
                 framing="chunked", chunk=64),
            Case("with_nonce", fx.req_n1, fx.resp_n1),
            Case("ca_signed", req, fx.resp_ca_signed),
            # not successful: there is no signature to verify
            Case("try_later", req, OCSP_RESPONSE_TRY_LATER),
        ])

    def test_ca_signed_without_certs_passes(self):
        """Signed by the trusted CA itself, with no certificate in the
        response (RFC 6960 4.2.1: certs is optional; the signer is the
        trusted issuer)."""
        proxy = self.proxy(**self.verify_cfg())
        self.run_passing(proxy, [Case("ca_signed_no_certs", self.fx.req_good,
                                      self.fx.resp_ca_signed_no_certs)])

    def unverified_cases(self):
        fx = self.fx
        req = fx.req_good
        return [
            # well formed, signed by CA 2's responder: not trusted here
            Case("untrusted_ca_signer", ocsp_request_der(
                [self.pki.cert_id("ca2_leaf")]), fx.resp_ca2_leaf,
                "response_unverified"),
            Case("flipped_signature", req, fx.resp_flipped,
                 "response_unverified"),
            Case("flipped_signature_chunked", req, fx.resp_flipped,
                 "response_unverified", framing="chunked"),
        ]

    def test_untrusted_signers(self):
        self.run_failing(self.unverified_cases(), **self.verify_cfg())

    def test_leaf_named_as_issuer(self):
        """RFC 6960 4.2.2.2: the issuer a CertID names must be a CA. A
        TLS leaf that chains to ca_file, named as the issuer of a
        made-up certificate and signing the answer itself, is refused
        (OpenSSL's OCSP_basic_verify() accepts it: the signer is the
        CertID's issuer)."""
        fx = self.fx
        self.assertEqual(parse_ocsp_response(
            fx.resp_leaf_as_issuer).certs[0]["status"], "good")
        self.run_failing([Case("leaf_named_as_issuer",
                               fx.req_leaf_as_issuer,
                               fx.resp_leaf_as_issuer,
                               "response_malformed")],
                         **self.verify_cfg())

    def test_malformed_wins_over_unverified(self):
        """Inspection comes before the signature: an answer about another
        certificate, signed by an untrusted responder, is malformed."""
        self.run_failing([Case("other_cert_other_signer", self.fx.req_good,
                               self.fx.resp_ca2_leaf, "response_malformed")],
                         **self.verify_cfg())

    def test_trust_from_issuers_only(self):
        """No ca_file: the responder's issuers are the trust."""
        fx = self.fx
        responders = [{"host": self.spec, "issuers": [str(self.pki.ca)]}]
        proxy = self.proxy(responders=responders, verify_responses=True)
        self.run_passing(proxy, [Case("issuers_trust", fx.req_good,
                                      fx.resp_good)])
        for c in self.unverified_cases()[1:]:
            c.name += "_issuers_trust"
            with self.subTest(case=c.name):
                raw, responses, rest = self.exchange(proxy, c)
                r = self.assert_refused(c, raw, responses, rest, c.reason)
                ev = self.next_event(proxy, event__reason=c.reason,
                                     http__response__status_code=502,
                                     http__response__body__bytes=len(r.body))
                self.assertTrue(get(ev, "ocspgate.detail"))

    def test_trust_is_per_responder(self):
        """A responder whose issuers are CA 2 does not make CA 2's signer
        trusted for another responder."""
        other = CannedUpstream(lambda req: self.current.answer())
        self.addCleanup(other.stop)
        other_spec = "ocsp2.ca.test:%d" % other.port
        proxy = self.proxy(responders=[
            self.spec, {"host": other_spec, "issuers": [str(self.pki.ca2)]}],
            **self.verify_cfg())
        case = Case("ca2_signer_elsewhere", ocsp_request_der(
            [self.pki.cert_id("ca2_leaf")]), self.fx.resp_ca2_leaf,
            "response_unverified")
        raw, responses, rest = self.exchange(proxy, case)
        self.assert_refused(case, raw, responses, rest, case.reason)
        self.failed_event(proxy, case, "enforce", 502,
                          len(refusal_body(case.reason)))
