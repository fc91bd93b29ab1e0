"""Answers are rebuilt, not relayed: whatever an upstream puts around a
valid answer (kilobytes of extra header fields, a long reason phrase,
values of its own choosing in the allowlisted fields, chunk extensions
and trailers, a 304 nobody asked for) does not reach the client: the
head of an answer that passed inspection is written from the answer and
ocspgate's clock alone. Each test pushes the largest payload the carrier admits through a
canned upstream and shows it stripped, refused or flagged; the event
counts the bytes the client got."""

import email.utils
import json
import os
import time

from ocspgate_harness import (
    get, get_cryptoapi, http_request, ocsp_post, ocsp_request_der,
    parse_responses, raw_request)
from ocsp_forge import (
    ANSWER_FIELDS, Answer, assert_judged, assert_rebuilt, chunk_lines,
    http_answer)
from test_response import ResponseTestCase, refusal_body

# The largest upstream head ocspgate reads is 64 KiB of at most 64 fields.
EXTRA_FIELDS = 30
EXTRA_FIELD_BYTES = 2000


class Canned:
    """What the canned upstream sends next."""

    def __init__(self, raw, close=True):
        self.raw = raw
        self.close = close

    def answer(self):
        return Answer(self.raw, close=self.close)


def payload(n, seed):
    """<n> bytes of base64-ish text, distinct per seed: what an attacker
    would smuggle, easy to look for in what the client got."""
    return (("%s-" % seed) + os.urandom(n).hex())[:n]


class AnswerTestCase(ResponseTestCase):

    def setUp(self):
        super().setUp()
        # a name the hosts file knows; a crl_hosts entry all the same
        self.crl_spec = "ocsp2.ca.test:%d" % self.canned.port

    def send(self, proxy, raw_answer, request, close=True):
        """<request> bytes to the proxy with the canned upstream ready to
        send <raw_answer>. Returns (raw, responses)."""
        self.current = Canned(raw_answer, close)
        before = self.canned.request_count()
        raw = raw_request(proxy.port, request, timeout=5)
        self.assertEqual(len(self.canned.wait_requests(before + 1, 2)),
                         before + 1, "request not forwarded")
        responses, rest = parse_responses(raw, at_eof=True)
        self.assertEqual(rest, b"", repr(raw[:300]))
        return raw, responses

    def post(self, der=None):
        return ocsp_post(self.url, der or self.fx.req_good,
                         connection="close")

    def get_good(self, headers=()):
        """The good request as CryptoAPI's GET, with <headers>."""
        return http_request("GET", self.url + get_cryptoapi(
            self.fx.req_good), headers=list(headers), connection="close")

    def assert_dates_are_the_answer_s(self, r, ev, dump):
        """Last-Modified is the answer's thisUpdate, Expires its
        nextUpdate (RFC 5019 6.2), Date ocspgate's clock."""
        single = get(ev, "ocspgate.ocsp.response.certs")[0]
        for field, key in (("last-modified", "this_update"),
                           ("expires", "next_update")):
            t = email.utils.parsedate_to_datetime(r.header(field))
            self.assertEqual(t.strftime("%Y-%m-%dT%H:%M:%SZ"), single[key],
                             dump)
        date = email.utils.parsedate_to_datetime(r.header("date"))
        self.assertLess(abs(date.timestamp() - time.time()), 60, dump)

    def assert_absent(self, secret, raw, dump):
        self.assertNotIn(secret.encode(), raw, dump)
        self.assertNotIn(secret[:24].encode(), raw, dump)


class HeadTests(AnswerTestCase):
    """The head: fields, reason phrase, status line."""

    def test_sixty_kilobytes_of_fields_are_stripped(self):
        secrets = [payload(EXTRA_FIELD_BYTES, "f%d" % i)
                   for i in range(EXTRA_FIELDS)]
        good = self.fx.resp_good
        raw_answer = http_answer(good, headers=[
            ("X-Data-%d" % i, v) for i, v in enumerate(secrets)] + [
            ("Date", "Sun, 06 Nov 1994 08:49:37 GMT"),
            ("Cache-Control", "max-age=300, public, no-transform, "
                              "must-revalidate, x-exfil=" + secrets[0][:60])])
        self.assertGreater(len(raw_answer) - len(good), 60000)
        for mode in ("enforce", "monitor"):
            with self.subTest(mode=mode):
                proxy = self.proxy(mode)
                raw, (r,) = self.send(proxy, raw_answer, self.post())
                dump = repr(raw[:400])
                self.assertEqual(r.status, 200, dump)
                assert_judged(self, r, dump, "application/ocsp-response",
                              good)
                for s in secrets:
                    self.assert_absent(s, raw, dump)
                self.assertLess(len(raw) - len(good), 300, dump)
                ev = self.next_event(proxy, event__reason="ocsp_request",
                                     http__response__status_code=200)
                # the upstream's Date of 1994 is not the client's
                self.assert_dates_are_the_answer_s(r, ev, dump)
                self.assertEqual(get(ev, "http.response.bytes"), len(raw))
                self.assertEqual(get(ev, "http.response.body.bytes"),
                                 len(good))
                # the 30 fields and the rewritten Cache-Control
                self.assertEqual(get(ev, "ocspgate.answer.dropped_fields"),
                                 EXTRA_FIELDS + 1, json.dumps(ev)[:1500])
                self.assertGreater(
                    get(ev, "ocspgate.answer.dropped_bytes"),
                    EXTRA_FIELDS * EXTRA_FIELD_BYTES)

    def test_long_reason_phrase_is_replaced(self):
        secret = payload(16000, "phrase")
        good = self.fx.resp_good
        raw_answer = http_answer(good, reason=secret)
        proxy = self.proxy()
        raw, (r,) = self.send(proxy, raw_answer, self.post())
        self.assertTrue(raw.startswith(b"HTTP/1.1 200 OK\r\n"), raw[:100])
        assert_judged(self, r, repr(raw[:200]), "application/ocsp-response",
                      good)
        self.assert_absent(secret, raw, repr(raw[:200]))
        ev = self.next_event(proxy, event__reason="ocsp_request")
        self.assertEqual(get(ev, "ocspgate.answer.dropped_fields"), 1)
        self.assertEqual(get(ev, "ocspgate.answer.dropped_bytes"), 16000)
        self.assertEqual(get(ev, "http.response.bytes"), len(raw))

    def test_field_values_of_data_are_dropped(self):
        """Allowlisted names with values of the upstream's choosing (a
        media type with data in its parameters, a date of data, dates
        in other forms, an entity-tag): none reaches the client, whose
        head is written from the answer; the event counts them."""
        good = self.fx.resp_good
        long_tag = payload(65, "etag")
        raw_answer = http_answer(good, content_type=None, headers=[
            ("Content-Type", "application/ocsp-response; x=" +
             payload(500, "ct")),
            ("Date", "Sun, 06 Nov 1994 08:49:37 GMT" + payload(40, "d")),
            ("Last-Modified", "Sunday, 06-Nov-94 08:49:37 GMT"),
            ("Expires", payload(29, "exp")),
            ("ETag", '"%s"' % long_tag)])
        proxy = self.proxy()
        raw, (r,) = self.send(proxy, raw_answer, self.post())
        dump = repr(raw[:400])
        assert_judged(self, r, dump, "application/ocsp-response", good)
        self.assertNotIn(b"1994", raw, dump)
        self.assertNotIn(b"1970", raw, dump)
        self.assert_absent(long_tag, raw, dump)
        ev = self.next_event(proxy, event__reason="ocsp_request")
        self.assert_dates_are_the_answer_s(r, ev, dump)
        self.assertEqual(get(ev, "ocspgate.answer.dropped_fields"), 5)

    def test_unknown_status_code_gets_its_class(self):
        """In monitor mode a blocked request's answer is relayed: an
        unknown status code is written as its class's x00."""
        proxy = self.proxy("monitor", responders=[
            {"host": self.spec, "issuers": [str(self.pki.ca)]}])
        body = b"not ocsp\n"
        raw, (r,) = self.send(proxy, http_answer(
            body, 299, payload(3000, "p"), "text/plain"), self.post(
            ocsp_request_der([self.pki.cert_id("ca2_leaf")])))
        self.assertTrue(raw.startswith(b"HTTP/1.1 200 OK\r\n"), raw[:80])
        assert_rebuilt(self, r, raw, repr(raw[:300]), "text/plain", body)
        ev = self.next_event(proxy, event__action="block",
                             event__reason="unknown_issuer",
                             http__response__status_code=200)
        self.assertEqual(get(ev, "http.response.bytes"), len(raw))


class FramingTests(AnswerTestCase):
    """Chunk extensions and trailers: never relayed."""

    def chunked(self, body, secret, chunk=64):
        return http_answer(body, framing="chunked", chunk=chunk,
                           chunk_ext=b';x="' + secret.encode() + b'"',
                           trailers=[("X-Trailer", secret),
                                     ("ETag", '"trailer-tag"')])

    def test_held_answer_gets_a_length(self):
        secret = payload(4000, "ext")
        good = self.fx.resp_good
        for mode in ("enforce", "monitor"):
            with self.subTest(mode=mode):
                proxy = self.proxy(mode)
                raw_answer = self.chunked(good, secret)
                raw, (r,) = self.send(proxy, raw_answer, self.post())
                dump = repr(raw[:300])
                self.assertFalse(r.chunked, dump)
                assert_judged(self, r, dump, "application/ocsp-response",
                              good)
                self.assert_absent(secret, raw, dump)
                self.assertNotIn(b"trailer-tag", raw, dump)
                ev = self.next_event(proxy, event__reason="ocsp_request")
                self.assertEqual(get(ev, "http.response.bytes"), len(raw))
                self.assertEqual(get(ev, "http.response.body.bytes"),
                                 len(good))

    def test_relayed_answer_gets_chunks_of_ocspgates_own(self):
        """Monitor mode relays a forwarded block's answer as it comes:
        de-chunked and chunked again, without extensions or trailers;
        an HTTP/1.0 client gets it close-delimited."""
        secret = payload(4000, "relay")
        body = payload(3000, "body").encode()
        proxy = self.proxy("monitor", responders=[
            {"host": self.spec, "issuers": [str(self.pki.ca)]}])
        blocked = ocsp_request_der([self.pki.cert_id("ca2_leaf")])
        raw_answer = self.chunked(body, secret, chunk=100)
        raw, (r,) = self.send(proxy, raw_answer, self.post(blocked))
        dump = repr(raw[:300])
        self.assertTrue(r.chunked, dump)
        assert_rebuilt(self, r, raw, dump, "application/ocsp-response", body)
        self.assertEqual(len(chunk_lines(raw)), 31, dump)
        self.assert_absent(secret, raw, dump)
        self.assertNotIn(b"trailer-tag", raw, dump)
        ev = self.next_event(proxy, event__action="block",
                             event__reason="unknown_issuer",
                             ocspgate__enforced=False)
        self.assertEqual(get(ev, "http.response.bytes"), len(raw))
        self.assertEqual(get(ev, "http.response.body.bytes"), len(body))

        req = http_request("POST", self.url, body=blocked,
                           content_type="application/ocsp-request",
                           version="HTTP/1.0")
        raw, (r,) = self.send(proxy, raw_answer, req)
        dump = repr(raw[:300])
        self.assertTrue(raw.startswith(b"HTTP/1.0 200 OK\r\n"), dump)
        self.assertIsNone(r.header("content-length"), dump)
        self.assertEqual(r.header("connection"), "close", dump)
        self.assertEqual(r.body, body, dump)
        self.assert_absent(secret, raw, dump)
        ev = self.next_event(proxy, event__action="block")
        self.assertEqual(get(ev, "http.response.bytes"), len(raw))


class NotModifiedTests(AnswerTestCase):
    """No validator goes upstream: ocspgate answers a conditional GET
    itself from the answer it judged, and a 304 from upstream answers
    nothing ocspgate asked."""

    def not_modified(self, etag='"crl-7"', extra=()):
        head = [b"HTTP/1.1 304 Not Modified",
                b"Date: Sun, 06 Nov 1994 08:49:37 GMT",
                b"ETag: " + etag.encode(),
                b"Last-Modified: Sat, 05 Nov 1994 08:49:37 GMT",
                b"Content-Type: application/pkix-crl"]
        head += [k.encode() + b": " + v.encode() for k, v in extra]
        return b"\r\n".join(head) + b"\r\n\r\n"

    def test_conditional_get_is_answered_by_ocspgate(self):
        """The upstream sees no validator and sends the whole answer;
        the client gets 304 when If-Modified-Since is the Last-Modified
        ocspgate wrote (the answer's thisUpdate), or for If-None-Match: *,
        and the answer otherwise (no entity-tag of ocspgate's can match:
        it writes none; two dates are no condition)."""
        good = self.fx.resp_good
        proxy = self.proxy()
        raw, (r,) = self.send(proxy, http_answer(good), self.get_good())
        lm = r.header("last-modified")
        self.next_event(proxy, http__response__status_code=200)
        later = email.utils.formatdate(
            email.utils.parsedate_to_datetime(lm).timestamp() + 1,
            usegmt=True)
        cases = [([("If-Modified-Since", lm)], 304),
                 # Only the date ocspgate wrote: a later one may be an
                 # origin's, after a back-dated thisUpdate.
                 ([("If-Modified-Since", later)], 200),
                 ([("If-Modified-Since", "Sat, 05 Nov 1994 08:49:37 GMT")],
                  200),
                 ([("If-None-Match", "*")], 304),
                 ([("If-None-Match", '"crl-7"'),
                   ("If-Modified-Since", lm)], 200),
                 ([("If-Modified-Since", lm), ("If-Modified-Since", lm)],
                  200)]
        for headers, want in cases:
            with self.subTest(headers=headers):
                raw, (r,) = self.send(proxy, http_answer(good, headers=[
                    ("ETag", '"crl-7"')]), self.get_good(headers))
                dump = repr(raw[:300])
                self.assertEqual(r.status, want, dump)
                assert_judged(self, r, dump, "application/ocsp-response",
                              good)
                got = self.canned.requests[-1]
                for k, _ in headers:
                    self.assertIsNone(got.header(k), k)
                ev = self.next_event(proxy, event__action="allow",
                                     event__reason="ocsp_request",
                                     http__response__status_code=want)
                self.assertEqual(get(ev, "http.response.bytes"), len(raw))
                self.assertEqual(get(ev, "http.response.body.bytes"),
                                 len(good) if want == 200 else 0)
                self.assert_dates_are_the_answer_s(r, ev, dump)

    def test_304_nobody_asked_for(self):
        """A 304 from upstream, to a POST, to a plain GET or to a GET the
        client made conditional (whose validators did not go upstream):
        a failure of the answer, whatever it carries."""
        secret = payload(3000, "nm")
        cases = [
            ("post", self.post()),
            ("unconditional_get", self.get_good()),
            ("conditional_get",
             self.get_good([("If-None-Match", '"crl-7"')])),
        ]
        for mode in ("enforce", "monitor"):
            for name, req in cases:
                with self.subTest(mode=mode, case=name):
                    proxy = self.proxy(mode)
                    raw, (r,) = self.send(proxy, self.not_modified(
                        extra=[("X-Data", secret)]), req)
                    dump = repr(raw[:300])
                    self.assert_absent(secret, raw, dump)
                    ev = self.next_event(proxy, event__action="allow",
                                         event__reason="response_malformed")
                    self.assertIn("without validators",
                                  get(ev, "ocspgate.detail"))
                    self.assertEqual(get(ev, "http.response.bytes"),
                                     len(raw))
                    if mode == "enforce":
                        self.assertEqual(r.status, 502, dump)
                        self.assertEqual(
                            r.body, refusal_body("response_malformed"))
                    else:
                        self.assertEqual(r.status, 304, dump)
                        assert_rebuilt(self, r, raw, dump)
                    for k, _ in r.headers:
                        self.assertIn(k.lower(), ANSWER_FIELDS | {
                            "cache-control", "content-type"}, dump)

    def test_blocked_304_relayed_in_monitor_mode(self):
        """A 304 to a forwarded block: relayed rebuilt, the block's
        reason kept and the failure named."""
        proxy = self.proxy("monitor", responders=[
            {"host": self.spec, "issuers": [str(self.pki.ca)]}])
        raw, (r,) = self.send(proxy, self.not_modified(), self.post(
            ocsp_request_der([self.pki.cert_id("ca2_leaf")])))
        self.assertEqual(r.status, 304)
        ev = self.next_event(proxy, event__action="block",
                             event__reason="unknown_issuer",
                             ocspgate__enforced=False)
        self.assertIn("without validators", get(ev, "ocspgate.detail"))
