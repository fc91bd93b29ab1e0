"""A bounded soak: mixed traffic from several threads for
OCSPGATE_SOAK_SECONDS seconds (default 60) -- valid OCSP POST and GET
through a real `openssl ocsp` responder, invalid OCSP, unknown
responders, smuggling shapes, oversized bodies, pipelined and keep-alive
requests, slow clients, clients that abort mid-request or before the
answer.

While it runs, ocspgate's RSS and descriptor count are sampled; after a
warm-up they must stay flat. At the end every complete request has
exactly one event (requests sent per expected reason against events per
reason), none for connections closed before a complete request line, and
every event line is valid.

Prints a line starting with FIGURE with the measured figures.
"""

import collections
import os
import random
import selectors
import socket
import threading
import time
import unittest

from ocspgate_harness import (
    Client, get, get_cryptoapi, http_request, ocsp_post, ocsp_request_der,
    parse_event_lines, scaled)
from test_faults import (
    GateTestCase, check_event, fd_count, rss_kib, rst_close, sanitized,
    settled_fd_count)

SOAK_SECONDS = float(os.environ.get("OCSPGATE_SOAK_SECONDS", "60") or "60")
WORKERS = 6
SLOW_AT_ONCE = 20
CLIENT_TIMEOUT = 2
SAMPLE_EVERY = 2.0
RSS_MARGIN_KIB = 8 * 1024


def count_lines(path):
    n = 0
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            n += block.count(b"\n")
    return n


class Traffic:
    """What one soak sends, and what it expects back. Every request
    method returns the event reasons it expects (a list; empty when no
    event is due) or raises AssertionError."""

    def __init__(self, tc, proxy_port, resp_url, der_for):
        self.tc = tc
        self.port = proxy_port
        self.resp_url = resp_url
        self.der_for = der_for

    def exchange(self, data, status, reason, timeout=10, closed=False):
        with Client(self.port, timeout=timeout) as c:
            c.send(data)
            r = c.read_response(timeout=timeout)
            if r.status != status:
                raise AssertionError("%s: status %d, body %r" % (
                    reason, r.status, r.body[:200]))
            if closed and not c.wait_closed(3):
                raise AssertionError("%s: connection left open" % reason)
            return r

    # -- allowed -----------------------------------------------------------

    def post_valid(self, rng):
        r = self.exchange(ocsp_post(self.resp_url, self.der_for(rng)), 200,
                          "ocsp_request")
        if not r.body.startswith(b"\x30"):
            raise AssertionError("not an OCSP response: %r" % r.body[:50])
        return ["ocsp_request"]

    def get_valid(self, rng):
        der = self.der_for(rng)
        r = self.exchange(http_request("GET", self.resp_url
                                       + get_cryptoapi(der)), 200,
                          "ocsp_request")
        if not r.body.startswith(b"\x30"):
            raise AssertionError("not an OCSP response: %r" % r.body[:50])
        return ["ocsp_request"]

    def keep_alive(self, rng):
        reqs = [(ocsp_post(self.resp_url, self.der_for(rng)), 200,
                 "ocsp_request"),
                (http_request("GET", "http://other.test/x"), 403,
                 "unknown_responder"),
                (ocsp_post(self.resp_url, b"\x30\x03\x02\x01\x01"), 403,
                 "ocsp_malformed"),
                (http_request("GET", self.resp_url + get_cryptoapi(
                    self.der_for(rng))), 200, "ocsp_request")]
        with Client(self.port, timeout=10) as c:
            for data, status, reason in reqs:
                c.send(data)
                r = c.read_response(timeout=10)
                if r.status != status:
                    raise AssertionError("keep-alive %s: %d" % (reason,
                                                                r.status))
        return [x[2] for x in reqs]

    def pipelined(self, rng):
        n = rng.randint(2, 6)
        with Client(self.port, timeout=10) as c:
            c.send(http_request("GET", "http://other.test/p") * n)
            for r in c.read_responses(n, timeout=10):
                if r.status != 403:
                    raise AssertionError("pipelined: %d" % r.status)
        return ["unknown_responder"] * n

    # -- blocked -----------------------------------------------------------

    def invalid_ocsp(self, rng):
        junk = bytes(rng.randrange(256) for _ in range(rng.randint(1, 300)))
        self.exchange(ocsp_post(self.resp_url, b"\x30" + junk), 403,
                      "ocsp_malformed")
        return ["ocsp_malformed"]

    def unknown_responder(self, rng):
        self.exchange(ocsp_post("http://ocsp.unknown.test/",
                                self.der_for(rng)), 403,
                      "unknown_responder")
        return ["unknown_responder"]

    def not_ocsp(self, rng):
        self.exchange(http_request("GET", self.resp_url + "index.html"), 403,
                      "not_ocsp")
        return ["not_ocsp"]

    def method(self, rng):
        self.exchange(http_request("PUT", self.resp_url, body=b"x"), 403,
                      "method_not_allowed")
        return ["method_not_allowed"]

    def smuggle(self, rng):
        der = self.der_for(rng)
        u = self.resp_url.encode()
        smuggled = ocsp_post(self.resp_url, der)
        body = b"0\r\n\r\n" + smuggled
        shapes = [
            b"POST " + u + b" HTTP/1.1\r\nHost: ocsp.ca.test\r\n"
            b"Content-Length: %d\r\nTransfer-Encoding: chunked\r\n\r\n"
            % len(body) + body,
            b"POST " + u + b" HTTP/1.1\r\nHost: ocsp.ca.test\r\n"
            b"Transfer-Encoding: chunked\r\nTransfer-Encoding: x\r\n\r\n"
            + body,
            b"POST " + u + b" HTTP/1.1\r\nHost: ocsp.ca.test\r\n"
            b"Content-Length: 3\r\nContent-Length: 4\r\n\r\nabcd",
            b"GET " + u + b" HTTP/1.1\r\nHost: ocsp.ca.test\r\n"
            b"X-A: b\r\n c\r\n\r\n",
            b"GET " + u + b" HTTP/1.1\r\nHost: other.test\r\n\r\n",
        ]
        self.exchange(rng.choice(shapes), 400, "http_malformed",
                      closed=True)
        return ["http_malformed"]

    def too_large(self, rng):
        self.exchange(ocsp_post(self.resp_url, b"\x30" * 20000), 413,
                      "body_too_large", closed=True)
        return ["body_too_large"]

    # -- slow and aborting clients -------------------------------------------

    def slow_complete(self, rng):
        data = http_request("GET", "http://other.test/slow")
        with Client(self.port, timeout=10) as c:
            cuts = sorted(rng.sample(range(1, len(data)), 3))
            last = 0
            for cut in cuts + [len(data)]:
                c.send(data[last:cut])
                last = cut
                time.sleep(0.05)
            r = c.read_response(timeout=10)
            if r.status != 403:
                raise AssertionError("slow: %d" % r.status)
        return ["unknown_responder"]

    def abort_in_line(self, rng):
        c = Client(self.port)
        c.send(b"POST http://ocsp.ca.test/"[:rng.randint(1, 20)])
        rst_close(c.sock) if rng.random() < 0.5 else c.close()
        return []

    def abort_in_head(self, rng):
        c = Client(self.port)
        c.send(b"POST %s HTTP/1.1\r\nHost: ocsp.ca.test\r\nX-Part"
               % self.resp_url.encode())
        time.sleep(0.01)
        c.close()
        return ["http_malformed"]

    def abort_in_body(self, rng):
        c = Client(self.port)
        c.send(b"POST %s HTTP/1.1\r\nHost: ocsp.ca.test\r\nContent-Type: "
               b"application/ocsp-request\r\nContent-Length: 80\r\n\r\n\x30"
               % self.resp_url.encode())
        time.sleep(0.01)
        c.close()
        return ["http_malformed"]

    def abort_before_answer(self, rng):
        """An allowed request, and the client resets at once without
        reading: the request still leaves its event."""
        c = Client(self.port)
        c.send(ocsp_post(self.resp_url, self.der_for(rng)))
        rst_close(c.sock)
        return ["ocsp_request"]


MIX = [("post_valid", 6), ("get_valid", 4), ("keep_alive", 2),
       ("pipelined", 2), ("invalid_ocsp", 3), ("unknown_responder", 3),
       ("not_ocsp", 1), ("method", 1), ("smuggle", 3), ("too_large", 1),
       ("slow_complete", 1), ("abort_in_line", 2), ("abort_in_head", 2),
       ("abort_in_body", 1), ("abort_before_answer", 1)]


class SoakTests(GateTestCase):
    RESPONDERS = 1

    def _finish_proxy(self, p):
        # The log of a long soak is large: checked line by line in the
        # test itself; here only how the process ends.
        p.event_log, log = None, p.event_log
        try:
            super()._finish_proxy(p)
        finally:
            p.event_log = log

    def stream_events(self, path):
        """Counter of reasons over the whole log, each line checked."""
        reasons = collections.Counter()
        by_kind = collections.Counter()
        batch = []
        total = 0

        def flush():
            nonlocal batch
            for ev in parse_event_lines(b"".join(batch), strict_tail=True):
                check_event(self, ev)
                reasons[get(ev, "event.reason")] += 1
                by_kind[get(ev, "event.action")] += 1
            batch = []
        with open(path, "rb") as f:
            for line in f:
                if not line.endswith(b"\n"):
                    self.fail("event log ends with a partial line: %r"
                              % line[:300])
                batch.append(line)
                total += 1
                if len(batch) >= 5000:
                    flush()
        flush()
        return reasons, total

    def test_soak(self):
        proxy = self.start_proxy(
            responders=[self.resp_spec()], client_timeout=CLIENT_TIMEOUT,
            upstream_timeout=5, max_request_body=16384)
        pid = proxy.proc.pid
        cids = [self.pki.cert_id(n) for n in ("good", "revoked", "unknown")]

        def der_for(rng):
            nonce = bytes(rng.randrange(256) for _ in range(16)) \
                if rng.random() < 0.5 else None
            return ocsp_request_der([rng.choice(cids)], nonce=nonce)

        traffic = Traffic(self, proxy.port, self.url(), der_for)
        # warm up once per kind, so lazily made things exist
        expected = collections.Counter()
        rng0 = random.Random(0)
        for name, _ in MIX:
            expected.update(getattr(traffic, name)(rng0))
        settled_fd_count(pid)
        fds_base = settled_fd_count(pid)

        lock = threading.Lock()
        errors = []
        sent = collections.Counter()
        end = time.monotonic() + SOAK_SECONDS
        kinds = [name for name, weight in MIX for _ in range(weight)]

        def worker(seed):
            rng = random.Random(seed)
            while time.monotonic() < end:
                name = rng.choice(kinds)
                try:
                    reasons = getattr(traffic, name)(rng)
                except (AssertionError, OSError) as e:
                    with lock:
                        errors.append("%s: %s" % (name, e))
                    # the outcome is unknown: no count can be exact now
                    return
                with lock:
                    expected.update(reasons)
                    sent[name] += 1

        slow_stats = collections.Counter()

        def slow_clients():
            """Keeps SLOW_AT_ONCE connections trickling a byte every 0.5 s,
            some within the request line, some after it, each until
            ocspgate closes it at client_timeout."""
            sel = selectors.DefaultSelector()
            line = b"GET %s HTTP/1.1\r\n" % self.url().encode()
            rng = random.Random(99)
            live = {}
            try:
                while True:
                    now = time.monotonic()
                    while now < end and len(live) < SLOW_AT_ONCE:
                        s = socket.create_connection(("127.0.0.1",
                                                      proxy.port), 5)
                        s.setblocking(False)
                        with_line = rng.random() < 0.5
                        if with_line:
                            s.send(line + b"X-Slow: ")
                            todo = b"s" * 100
                        else:
                            s.send(line[:1])
                            todo = line[1:]
                        live[s] = [todo, with_line, now, now]
                        sel.register(s, selectors.EVENT_READ)
                    if not live:
                        break
                    for key, _ in sel.select(0.1):
                        s = key.fileobj
                        try:
                            data = s.recv(4096)
                        except BlockingIOError:
                            continue
                        except OSError:
                            data = b""
                        todo, with_line, t0, _ = live[s]
                        if data:
                            with lock:
                                errors.append("slow client got %r" % data)
                        took = time.monotonic() - t0
                        if took > scaled(CLIENT_TIMEOUT + 2):
                            with lock:
                                errors.append("slow client closed after "
                                              "%.1fs" % took)
                        sel.unregister(s)
                        s.close()
                        del live[s]
                        with lock:
                            slow_stats["with_line" if with_line
                                       else "partial"] += 1
                            if with_line:
                                expected["http_malformed"] += 1
                    now = time.monotonic()
                    for s, st in list(live.items()):
                        if now - st[2] > scaled(CLIENT_TIMEOUT + 3):
                            with lock:
                                errors.append("slow client left open")
                            sel.unregister(s)
                            s.close()
                            del live[s]
                        elif now - st[3] >= 0.5 and st[0]:
                            st[3] = now
                            try:
                                s.send(st[0][:1])
                                st[0] = st[0][1:]
                            except OSError:
                                pass
            except OSError as e:
                with lock:
                    errors.append("slow clients: %s" % e)
            finally:
                for s in live:
                    s.close()
                sel.close()

        threads = [threading.Thread(target=worker, args=(i,), daemon=True)
                   for i in range(WORKERS)]
        threads.append(threading.Thread(target=slow_clients, daemon=True))
        t_start = time.monotonic()
        for t in threads:
            t.start()
        samples = []
        while time.monotonic() < end:
            time.sleep(min(SAMPLE_EVERY, max(0.0, end - time.monotonic())))
            if proxy.proc.poll() is not None:
                break
            samples.append((time.monotonic() - t_start, rss_kib(pid),
                            fd_count(pid)))
        for t in threads:
            t.join(scaled(CLIENT_TIMEOUT + 20))
        self.assertFalse([t for t in threads if t.is_alive()],
                         "soak threads did not finish")
        elapsed = time.monotonic() - t_start
        self.assertIsNone(proxy.proc.poll(), "ocspgate died; stderr:\n"
                          + proxy.err.text()[-4000:])
        self.assertEqual(errors, [], "%d error(s), first: %s"
                         % (len(errors), errors[:5]))

        # flat after warm-up
        warm = max(5.0, SOAK_SECONDS * 0.2)
        steady = [s for s in samples if s[0] >= warm] or samples[-1:]
        rss = [s[1] for s in steady]
        fds = [s[2] for s in steady]
        n_requests = sum(expected.values())
        print("FIGURE soak: requests=%d seconds=%.0f rss_kib min=%d max=%d "
              "fds min=%d max=%d (base %d; %d samples after %.0fs warm-up)"
              % (n_requests, elapsed, min(rss), max(rss), min(fds),
                 max(fds), fds_base, len(steady), warm))
        print("FIGURE soak mix: %s; slow %s" % (
            dict(sorted(sent.items())), dict(slow_stats)))
        if not sanitized():
            self.assertLessEqual(max(rss) - min(rss), RSS_MARGIN_KIB,
                                 "RSS not flat: %r" % samples)
        in_flight = 2 * WORKERS + SLOW_AT_ONCE + 8
        self.assertLessEqual(max(fds), fds_base + in_flight,
                             "descriptors: %r" % samples)
        self.assertLessEqual(max(fds) - min(fds), in_flight,
                             "descriptors not flat: %r" % samples)
        # once everything is closed, the count comes back
        n = settled_fd_count(pid, timeout=scaled(CLIENT_TIMEOUT + 5))
        self.assertLessEqual(n, fds_base, "descriptors after the soak")

        # every complete request left exactly one event
        total = sum(expected.values())
        deadline = time.monotonic() + scaled(10)
        while count_lines(proxy.event_log) < total and \
                time.monotonic() < deadline:
            time.sleep(0.2)
        time.sleep(0.3)
        reasons, lines = self.stream_events(proxy.event_log)
        self.assertEqual(dict(reasons), dict(expected),
                         "events per reason against requests sent")


if __name__ == "__main__":
    unittest.main()
