"""The event log under load and hostile input, on stdout, and reopened on
SIGUSR1."""

import json
import random
import signal
import threading
import time
import unittest

from ocspgate_harness import (
    Client, ProxyTestCase, get, ocsp_post, ocsp_request_der,
    parse_event_lines, scaled)

MAX_HEADER_BYTES = 8192


def hostile_value(rng, size):
    """Header-value bytes (no CR, LF or NUL; no leading/trailing white
    space) mixing JSON metacharacters, tabs, valid UTF-8 and isolated
    invalid bytes. Each invalid byte is followed by an ASCII byte, so the
    expected text is bytes.decode('utf-8', 'replace')."""
    pieces = [b'"', b"\\", b"\\u0000", b"\\\"", b"{", b"}", b"[", b"]",
              b"</script>", b"\t", b"'", b"%00", b"\xc3\xa9", b"\xe2\x82\xac",
              b"\xf0\x9f\x98\x80", b"\xef\xbf\xbd"]
    out = bytearray(b"v")
    while len(out) < size - 8:
        k = rng.random()
        if k < 0.35:
            out += rng.choice(pieces)
        elif k < 0.55:
            out += bytes([rng.randint(0x80, 0xff)]) + b"a"
        else:
            out += bytes(rng.randint(0x21, 0x7e) for _ in range(4))
    out += b"z"
    return bytes(out)


class EventLogTests(ProxyTestCase):
    RESPONDERS = 0

    def test_load_with_hostile_headers(self):
        rec = self.upstream()
        spec = "ocsp.ca.test:%d" % rec.port
        proxy = self.start_proxy(responders=[spec],
                                 max_header_bytes=MAX_HEADER_BYTES)
        der = ocsp_request_der([self.pki.cert_id("good")])
        allowed = "http://%s/" % spec
        blocked = "http://other.test:%d/" % rec.port
        threads, per_thread = 8, 25
        rng = random.Random(20261126)
        plan = {}  # id -> (request bytes, expected UA, expected status)
        for t in range(threads):
            for i in range(per_thread):
                rid = "id-%d-%02d" % (t, i)
                url = allowed if i % 2 == 0 else blocked
                skeleton = ocsp_post(url, der, headers=[("User-Agent", b"")])
                room = MAX_HEADER_BYTES - len(skeleton) + len(der) - 64
                # Every fourth allowed one small enough to pass: a
                # User-Agent out of shape is dropped, and over the
                # 1024-byte budget of dropped fields the request is
                # refused (excess_headers).
                size = rng.randint(200, 1000) if i % 4 == 0 else \
                    rng.randint(room // 4, room)
                ua = rid.encode() + b" " + hostile_value(rng, size)
                data = ocsp_post(url, der, headers=[("User-Agent", ua)])
                self.assertLessEqual(len(data) - len(der), MAX_HEADER_BYTES)
                passes = (url == allowed and
                          len("User-Agent") + len(ua) <= 1024)
                plan[rid] = (data, ua.decode("utf-8", "replace"),
                             200 if passes else 403)
        errors = []

        def worker(t):
            try:
                keep_alive = t % 2 == 0
                c = Client(proxy.port, timeout=15) if keep_alive else None
                for i in range(per_thread):
                    rid = "id-%d-%02d" % (t, i)
                    data, _, status = plan[rid]
                    if not keep_alive:
                        c = Client(proxy.port, timeout=15)
                    c.send(data)
                    r = c.read_response(timeout=15)
                    if r.status != status:
                        errors.append("%s: status %d" % (rid, r.status))
                    if not keep_alive:
                        c.close()
                if keep_alive:
                    c.close()
            except Exception as e:  # reported below, in the main thread
                errors.append("thread %d: %r" % (t, e))

        ts = [threading.Thread(target=worker, args=(t,)) for t in
              range(threads)]
        t0 = time.monotonic()
        for t in ts:
            t.start()
        for t in ts:
            t.join(scaled(60))
        self.assertFalse(any(t.is_alive() for t in ts), "clients hung")
        self.assertEqual(errors, [])
        total = threads * per_thread
        evs = proxy.wait_events(total, timeout=10)
        time.sleep(0.2)
        data = proxy.event_bytes()
        self.assertTrue(data.endswith(b"\n"), "log ends mid-line")
        evs = parse_event_lines(data, strict_tail=True)
        self.assertEqual(len(evs), total)
        seen = {}
        for ev in evs:
            ua = get(ev, "user_agent.original")
            self.assertIsInstance(ua, str)
            rid = ua.split(" ", 1)[0]
            self.assertIn(rid, plan)
            self.assertNotIn(rid, seen, "two events for " + rid)
            seen[rid] = ev
            _, want_ua, status = plan[rid]
            self.assertEqual(ua, want_ua, "user agent of " + rid)
            self.assertEqual(get(ev, "http.response.status_code"), status)
        self.assertEqual(len(seen), total)
        self.assertEqual(len(rec.requests),
                         sum(1 for _, _, st in plan.values() if st == 200))
        self.assertLess(time.monotonic() - t0, scaled(60))

    def test_stdout_event_log(self):
        rec = self.upstream()
        spec = "ocsp.ca.test:%d" % rec.port
        proxy = self.start_proxy(responders=[spec], event_log="-")
        der = ocsp_request_der([self.pki.cert_id("good")])
        with Client(proxy.port) as c:
            c.send(ocsp_post("http://%s/" % spec, der,
                             headers=[("User-Agent", "to-stdout")]))
            self.assertEqual(c.read_response().status, 200)
            c.send(ocsp_post("http://other.test:1/", der))
            self.assertEqual(c.read_response().status, 403)
        evs = proxy.wait_events(2)
        self.assertEqual(get(evs[0], "user_agent.original"), "to-stdout")
        self.assertEqual(get(evs[1], "event.reason"), "unknown_responder")
        self.assertFalse((self.tmp / "events.jsonl").exists())
        # stdout carries event lines only
        proxy.stop()
        for line in proxy.out.lines:
            self.assertIsInstance(json.loads(line), dict)

    def test_sigusr1_reopens(self):
        rec = self.upstream()
        spec = "ocsp.ca.test:%d" % rec.port
        proxy = self.start_proxy(responders=[spec])
        der = ocsp_request_der([self.pki.cert_id("good")])
        log = self.tmp / "events.jsonl"

        def request(ua):
            with Client(proxy.port) as c:
                c.send(ocsp_post("http://%s/" % spec, der,
                                 headers=[("User-Agent", ua)]))
                self.assertEqual(c.read_response().status, 200)

        request("before")
        proxy.wait_events(1)
        rotated = self.tmp / "events.jsonl.1"
        log.rename(rotated)
        proxy.signal(signal.SIGUSR1)
        time.sleep(scaled(0.3))
        request("after")
        deadline = time.monotonic() + scaled(5)
        while time.monotonic() < deadline and not (
                log.exists() and log.read_bytes().endswith(b"\n")):
            time.sleep(0.05)
        new = parse_event_lines(log.read_bytes(), strict_tail=True)
        old = parse_event_lines(rotated.read_bytes(), strict_tail=True)
        self.assertEqual([get(e, "user_agent.original") for e in old],
                         ["before"])
        self.assertEqual([get(e, "user_agent.original") for e in new],
                         ["after"])
        self.assertTrue(proxy.alive())


if __name__ == "__main__":
    unittest.main()
