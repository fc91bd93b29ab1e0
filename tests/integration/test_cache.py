"""The RFC 5019 cache and upstream connection reuse.

The cache: a hit is answered without the upstream seeing a request (the
upstream counts them), carries RFC 5019 caching headers and the same
bytes, and is logged with ocspgate.cache = "hit"; an answer stops being
served at its max-age; nonce-bearing, failed, unverified and
non-successful exchanges are never cached; the byte bound evicts.
The cache is the process's: with four workers, connections served by
every one of them find the answer one of them fetched, and a real
`openssl ocsp` responder is asked once; a reload empties it and takes
the new cache_size.

Reuse: requests to the same upstream share one keep-alive connection; a
pooled connection the server closes just as it is reused is retried once
for a GET and not for a POST.
"""

import os
import signal
import socket
import threading
import time

from ocspgate_harness import (
    OCSP_RESPONSE_TRY_LATER, CertID, Client, ProxyTestCase, ThreadedServer,
    config_text, free_port, get, get_cryptoapi, http_request, metric_sample,
    ocsp_post, ocsp_request_der, parse_request, scaled, scrape_metrics)
from ocsp_forge import (
    CannedUpstream, assert_judged, flip_signature_byte, http_answer)
from test_response import Fixtures


def metric(port, name):
    return metric_sample(scrape_metrics(port), name)


class CacheTests(ProxyTestCase):
    RESPONDERS = 0

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.fx = Fixtures.get(cls.env)

    def setUp(self):
        super().setUp()
        self.body = self.fx.resp_good
        self.headers = []
        self.up = CannedUpstream(lambda req: http_answer(
            self.body, headers=self.headers))
        self.addCleanup(self.up.stop)
        self.spec = "ocsp.ca.test:%d" % self.up.port
        self.url = "http://%s/" % self.spec

    def proxy(self, **kw):
        kw.setdefault("cache_size", 1 << 20)
        return self.start_proxy(responders=[self.spec], **kw)

    def ask(self, proxy, der=None, get_form=True):
        der = der or self.fx.req_good
        if get_form:
            data = http_request("GET", self.url + get_cryptoapi(der))
        else:
            data = ocsp_post(self.url, der)
        with Client(proxy.port) as c:
            c.send(data)
            return c.read_response()

    def test_hit_skips_the_upstream(self):
        """The second identical request is answered from the cache: the
        upstream sees one request, the bytes are the same, and the
        answer carries RFC 5019 caching headers."""
        proxy = self.proxy()
        first = self.ask(proxy)
        self.assertEqual(first.status, 200)
        self.assertEqual(self.up.request_count(), 1)
        second = self.ask(proxy)
        self.assertEqual(second.status, 200)
        self.assertEqual(second.body, first.body)
        self.assertEqual(self.up.request_count(), 1, "a hit reached the upstream")
        # A hit's head is a miss's: both are written from the answer.
        for r in (first, second):
            assert_judged(self, r, repr(r.headers),
                          "application/ocsp-response", first.body)
        for h in ("last-modified", "expires"):
            self.assertIsNotNone(second.header(h), h)
            self.assertEqual(second.header(h), first.header(h), h)
        # nextUpdate is 5 minutes on: max-age is at most that
        cc = second.header("cache-control")
        self.assertLessEqual(int(cc.split("=")[1].split(",")[0]), 300)
        # POST with the same DER is the same request: a hit too
        third = self.ask(proxy, get_form=False)
        self.assertEqual(third.body, first.body)
        self.assertEqual(self.up.request_count(), 1)
        evs = proxy.wait_events(3)
        self.assertEqual([get(e, "ocspgate.cache") for e in evs],
                         ["miss", "hit", "hit"])
        hit = evs[1]
        self.assertEqual(get(hit, "event.reason"), "ocsp_request")
        self.assertEqual(get(hit, "http.response.status_code"), 200)
        self.assertEqual(get(hit, "ocspgate.ocsp.response.status"),
                         "successful")
        self.assertEqual(get(hit, "ocspgate.ocsp.response.certs")[0]["status"],
                         "good")

    def test_conditional_hit(self):
        """A conditional GET is answered from the cache too: 304 when the
        answer's thisUpdate (its Last-Modified) is not after
        If-Modified-Since, else the answer; If-None-Match: * is 304."""
        proxy = self.proxy()
        first = self.ask(proxy)
        lm = first.header("last-modified")
        url = self.url + get_cryptoapi(ocsp_request_der(
            [self.env.pki.cert_id("good")]))
        cases = ((("If-Modified-Since", lm),), 304),
        cases += ((("If-Modified-Since", "Mon, 01 Jan 2001 00:00:00 GMT"),),
                  200),
        cases += ((("If-None-Match", "*"),), 304),
        cases += ((("If-None-Match", '"' + "0" * 16 + '"'),), 200),
        for headers, want in cases:
            with self.subTest(headers=headers), Client(proxy.port) as c:
                c.send(http_request("GET", url, headers=list(headers)))
                r = c.read_response()
                self.assertEqual(r.status, want)
                assert_judged(self, r, repr(r.headers),
                              "application/ocsp-response", first.body)
                self.assertEqual(r.header("last-modified"), lm)
        self.assertEqual(self.up.request_count(), 1)
        evs = proxy.wait_events(1 + len(cases))
        self.assertEqual([(get(e, "ocspgate.cache"),
                           get(e, "http.response.status_code"))
                          for e in evs[1:]],
                         [("hit", want) for _, want in cases])

    def test_max_age_expires(self):
        """An answer with Cache-Control: max-age=1 is served for a
        second, then asked for again. (The second request must come
        within max-age: a slow run, under Valgrind say, gets a max-age
        scaled by OCSPGATE_TIME_SCALE.)"""
        max_age = max(1, round(scaled(1)))
        self.headers = [("Cache-Control", "max-age=%d" % max_age)]
        proxy = self.proxy()
        self.ask(proxy)
        self.ask(proxy)
        self.assertEqual(self.up.request_count(), 1)
        time.sleep(max_age + 0.2)
        self.ask(proxy)
        self.assertEqual(self.up.request_count(), 2)
        self.assertEqual([get(e, "ocspgate.cache")
                          for e in proxy.wait_events(3)],
                         ["miss", "hit", "miss"])

    def test_cache_max_age_bounds_a_far_next_update(self):
        """An answer whose nextUpdate is a month away is kept at most
        cache_max_age: three days by default (what downstream caches are
        told, too, on a hit as on a miss), and with cache_max_age = 2 it
        is asked for again after two seconds."""
        self.body = self.fx.make(self.fx.req_good, options=["-ndays", "30"])
        proxy = self.proxy()
        self.ask(proxy)
        hit = self.ask(proxy)
        self.assertEqual(self.up.request_count(), 1)
        # Downstream caches are told no longer than ocspgate keeps it.
        max_age = int(hit.header("cache-control").split("=")[1].split(",")[0])
        self.assertEqual(max_age, 3 * 86400)
        proxy.stop()

        proxy = self.proxy(cache_max_age=2)
        self.ask(proxy)
        hit = self.ask(proxy)
        self.assertEqual(self.up.request_count(), 2)
        max_age = int(hit.header("cache-control").split("=")[1].split(",")[0])
        self.assertLessEqual(max_age, 2)
        time.sleep(2.2)
        self.ask(proxy)
        self.assertEqual(self.up.request_count(), 3)
        # Both gates wrote to the same event log.
        self.assertEqual([get(e, "ocspgate.cache")
                          for e in proxy.wait_events(5)],
                         ["miss", "hit", "miss", "hit", "miss"])

    def test_not_cached(self):
        """No-store answers, non-successful answers and answers to
        requests with a nonce all go upstream every time."""
        cases = [
            ("no-store", self.fx.resp_good, [("Cache-Control", "no-store")],
             self.fx.req_good, "miss"),
            ("tryLater", OCSP_RESPONSE_TRY_LATER, [], self.fx.req_good,
             "miss"),
            ("nonce", self.fx.resp_n1, [], self.fx.req_n1, "bypass"),
        ]
        for name, body, headers, der, result in cases:
            with self.subTest(name):
                self.body, self.headers = body, headers
                proxy = self.proxy(event_log=str(self.tmp / (name + ".log")))
                before = self.up.request_count()
                for _ in range(2):
                    self.ask(proxy, der, get_form=False)
                self.assertEqual(self.up.request_count(), before + 2)
                self.assertEqual([get(e, "ocspgate.cache")
                                  for e in proxy.wait_events(2)],
                                 [result, result])

    def test_unverified_not_cached(self):
        """With verify_responses, an answer whose signature fails is a
        502 and is not kept: the next request goes upstream again."""
        self.body = flip_signature_byte(self.fx.resp_good)
        proxy = self.proxy(verify_responses=True, ca_file=str(self.pki.ca))
        for _ in range(2):
            self.assertEqual(self.ask(proxy).status, 502)
        self.assertEqual(self.up.request_count(), 2)

    def test_eviction_under_the_bound(self):
        """A cache that holds nine answers (each about 2.2 KB with its facts) evicts the least
        recently used: the first of twelve requests is asked again."""
        ders = [ocsp_request_der([CertID.of(self.pki.ca_info, 0x1000 + i)])
                for i in range(12)]
        # Every request gets the same signed answer for "good": the
        # inspection checks the serial, so answer each with its own.
        answers = {d: None for d in ders}

        def answer(req):
            return http_answer(answers[req.body])
        self.up.answer = answer
        # Fixtures makes real answers for these serials (unknown status)
        for d in ders:
            answers[d] = self.fx.make(d)
        admin = free_port()
        proxy = self.proxy(cache_size=20000,
                           admin_listen="127.0.0.1:%d" % admin)
        for d in ders:
            self.assertEqual(self.ask(proxy, d, get_form=False).status, 200)
        self.assertEqual(self.up.request_count(), 12)
        entries = metric(admin, "ocspgate_cache_entries")
        self.assertLess(entries, 12)
        self.assertGreater(entries, 0)
        self.assertGreater(metric(admin, "ocspgate_cache_evictions_total"), 0)
        self.assertLessEqual(metric(admin, "ocspgate_cache_bytes"), 20000)
        # the most recent one is still there; the first one is gone
        self.ask(proxy, ders[-1], get_form=False)
        self.assertEqual(self.up.request_count(), 12)
        self.ask(proxy, ders[0], get_form=False)
        self.assertEqual(self.up.request_count(), 13)


class CountingRelay(ThreadedServer):
    """Stands between ocspgate and a real `openssl ocsp` responder:
    records each request (its Via, which names the worker that sent it,
    and its body) and passes it on, one connection to the responder per
    request, then passes the answer back and closes."""

    def __init__(self, responder_port):
        self.responder_port = responder_port
        self.seen = []  # (via, body) per request, in arrival order
        super().__init__()

    def handle(self, conn):
        conn.settimeout(scaled(10))
        pending = bytearray()
        try:
            while True:
                got = parse_request(pending)
                if got is not None:
                    break
                chunk = conn.recv(65536)
                if not chunk:
                    return
                pending += chunk
            req, n = got
            with self.lock:
                self.seen.append((req.header("via"), req.body))
            with socket.create_connection(
                    ("127.0.0.1", self.responder_port),
                    timeout=scaled(10)) as up:
                up.sendall(bytes(pending[:n]))
                answer = bytearray()
                while True:
                    chunk = up.recv(65536)
                    if not chunk:
                        break
                    answer += chunk
            conn.sendall(bytes(answer))
        except OSError:
            pass
        finally:
            conn.close()

    def requests(self):
        with self.lock:
            return list(self.seen)


class SharedCacheTests(ProxyTestCase):
    """One cache for the process, in front of a real responder."""

    RESPONDERS = 1

    def setUp(self):
        super().setUp()
        self.relay = CountingRelay(self.resp.port)
        self.addCleanup(self.relay.stop)
        self.spec = "ocsp.ca.test:%d" % self.relay.port
        self.url = "http://%s/" % self.spec
        self.der = ocsp_request_der([self.pki.cert_id("good")])

    def fetches(self, der):
        """How often the responder was asked <der>."""
        return sum(1 for _, body in self.relay.requests() if body == der)

    def ask(self, c, der):
        c.send(ocsp_post(self.url, der))
        r = c.read_response(timeout=10)
        self.assertEqual(r.status, 200)
        return r

    def test_every_worker_finds_one_fetch(self):
        """Four workers. The question is asked once and its answer
        stored; then connections come eight at a time, each first with a
        question of its own (a nonce: never cached, so the responder sees
        it with the Via of the worker that took the connection), then
        the common one on the same connection. Once connections have
        reached all four workers, the responder has still been asked the
        common question once: every worker found the answer one of them
        fetched (with a cache per worker, each would ask once)."""
        proxy = self.start_proxy(responders=[self.spec], workers=4,
                                 cache_size=1 << 20)
        with Client(proxy.port) as c:
            first = self.ask(c, self.der)
        self.assertEqual(self.fetches(self.der), 1)
        # A worker writes its event lines at the end of its loop pass,
        # after the answer went out: the miss's line must be in the log
        # before other workers' lines can come, for the order below.
        proxy.wait_events(1)
        vias = {}  # worker's Via -> connections it served
        lock = threading.Lock()
        failures = []

        def connection():
            own = ocsp_request_der([self.pki.cert_id("good")],
                                   nonce=os.urandom(16))
            try:
                with Client(proxy.port, timeout=10) as c:
                    self.ask(c, own)
                    r = self.ask(c, self.der)
            except (AssertionError, OSError) as e:
                with lock:
                    failures.append(repr(e))
                return
            via = [v for v, body in self.relay.requests() if body == own]
            with lock:
                if r.body != first.body or len(via) != 1:
                    failures.append("another answer (fetched again?) or Via %r" % via)
                else:
                    vias[via[0]] = vias.get(via[0], 0) + 1

        rounds = 0
        while len(vias) < 4 and rounds < 40 and not failures:
            ts = [threading.Thread(target=connection) for _ in range(8)]
            for t in ts:
                t.start()
            for t in ts:
                t.join(scaled(30))
            rounds += 1
        self.assertEqual(failures, [])
        self.assertEqual(len(vias), 4,
                         "connections reached %d workers in %d rounds"
                         % (len(vias), rounds))
        self.assertEqual(self.fetches(self.der), 1,
                         "the common question was fetched again")
        n = 1 + 2 * sum(vias.values())
        evs = proxy.wait_events(n)
        self.assertEqual(len(evs), n)
        common = [get(e, "ocspgate.cache") for e in evs
                  if not get(e, "ocspgate.ocsp.request.nonce")]
        self.assertEqual(common[0], "miss")
        self.assertEqual(set(common[1:]), {"hit"})
        self.assertEqual(len(common), 1 + sum(vias.values()))

    def admin_metric(self, admin, name):
        return metric_sample(scrape_metrics(admin), name)

    def wait_metric(self, admin, name, want, timeout=5):
        deadline = time.monotonic() + scaled(timeout)
        while time.monotonic() < deadline:
            if self.admin_metric(admin, name) == want:
                return True
            time.sleep(0.02)
        return False

    def reload(self, proxy, cfg):
        proxy.conf_path.write_text(config_text(cfg))
        nerr = len(proxy.err.lines)
        proxy.signal(signal.SIGHUP)
        self.assertTrue(proxy.err.wait_for(
            lambda l: any("reloaded" in x for x in l[nerr:]), 5),
            proxy.err.text())

    def settle(self, proxy, want):
        """Asks on fresh connections until <want> ("hit", "bypass") comes
        eight times in a row: a worker that has not switched to the new
        config yet meanwhile gets a miss. Returns how many asks it took;
        fails past 200."""
        row = asks = 0
        while row < 8:
            self.assertLess(asks, 200, "the cache never settled on %s"
                            % want)
            with Client(proxy.port) as c:
                self.ask(c, self.der)
            asks += 1
            ev = proxy.wait_events(self.nevents + asks)[-1]
            row = row + 1 if get(ev, "ocspgate.cache") == want else 0
        self.nevents += asks
        return asks

    def test_reload_empties_and_resizes(self):
        """A reload that changes cache_size (1 MiB to 2 MiB, then 0):
        the cache is emptied (its entries were stored under the old
        config), the next answer is fetched again and stored under the
        new size; cache_size = 0 turns it off (every request bypass)."""
        admin = free_port()
        cfg = self.base_config(responders=[self.spec], workers=4,
                               cache_size=1 << 20,
                               admin_listen="127.0.0.1:%d" % admin)
        proxy = self.start_proxy(cfg)
        self.nevents = 0
        self.settle(proxy, "hit")
        self.assertEqual(self.fetches(self.der), 1)
        self.assertEqual(self.admin_metric(admin, "ocspgate_cache_entries"),
                         1)

        self.reload(proxy, dict(cfg, cache_size=2 << 20))
        # Emptied once the first worker takes the new config.
        self.assertTrue(self.wait_metric(admin, "ocspgate_cache_entries", 0))
        self.assertEqual(
            self.admin_metric(admin, "ocspgate_cache_max_bytes"), 2 << 20)
        # Whichever worker answers, the answer is fetched again: the old
        # entry is gone, and a worker still on the old config neither
        # finds nor stores.
        with Client(proxy.port) as c:
            self.ask(c, self.der)
        self.nevents += 1
        self.assertEqual(get(proxy.wait_events(self.nevents)[-1],
                             "ocspgate.cache"), "miss")
        self.assertEqual(self.fetches(self.der), 2)
        self.settle(proxy, "hit")
        fetched = self.fetches(self.der)
        self.assertEqual(self.admin_metric(admin, "ocspgate_cache_entries"),
                         1)
        self.settle(proxy, "hit")
        self.assertEqual(self.fetches(self.der), fetched)

        self.reload(proxy, dict(cfg, cache_size=0))
        self.assertTrue(self.wait_metric(admin, "ocspgate_cache_entries", 0))
        self.settle(proxy, "bypass")
        self.assertEqual(
            self.admin_metric(admin, "ocspgate_cache_max_bytes"), 0)


class ReuseTests(ProxyTestCase):
    RESPONDERS = 0

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.fx = Fixtures.get(cls.env)

    def start(self, close_on_reuse=False, **kw):
        up = CannedUpstream(lambda req: http_answer(self.fx.resp_good),
                            close_on_reuse)
        self.addCleanup(up.stop)
        spec = "ocsp.ca.test:%d" % up.port
        proxy = self.start_proxy(responders=[spec], **kw)
        return up, proxy, "http://%s/" % spec

    def test_one_connection_for_many_requests(self):
        """Requests from separate clients share one upstream connection,
        which carries no Connection: close."""
        up, proxy, url = self.start()
        for _ in range(5):
            with Client(proxy.port) as c:
                c.send(ocsp_post(url, self.fx.req_good))
                self.assertEqual(c.read_response().status, 200)
        self.assertEqual(up.request_count(), 5)
        self.assertEqual(up.connections, 1)
        self.assertIsNone(up.requests[0].header("connection"))

    def test_no_reuse_when_off(self):
        up, proxy, url = self.start(upstream_idle_max=0)
        for _ in range(3):
            with Client(proxy.port) as c:
                c.send(ocsp_post(url, self.fx.req_good))
                self.assertEqual(c.read_response().status, 200)
        self.assertEqual(up.connections, 3)
        self.assertEqual(up.requests[0].header("connection"), "close")

    def test_closed_on_reuse_get_is_retried(self):
        """The server drops the pooled connection when the second request
        arrives: a GET is sent again on a new connection and succeeds."""
        up, proxy, url = self.start(close_on_reuse=True)
        get_req = http_request("GET", url + get_cryptoapi(self.fx.req_good))
        for _ in range(2):
            with Client(proxy.port) as c:
                c.send(get_req)
                resp = c.read_response()
                self.assertEqual(resp.status, 200)
                self.assertEqual(resp.body, self.fx.resp_good)
        self.assertEqual(up.request_count(), 3)  # 1, then 1 lost + 1 retried
        self.assertEqual(up.connections, 2)
        evs = proxy.wait_events(2)
        self.assertEqual([get(e, "event.reason") for e in evs],
                         ["ocsp_request", "ocsp_request"])

    def test_closed_on_reuse_post_is_not_replayed(self):
        """The same race for a POST: not sent twice; the client gets a
        502 and the event says why."""
        up, proxy, url = self.start(close_on_reuse=True)
        post = ocsp_post(url, self.fx.req_good)
        with Client(proxy.port) as c:
            c.send(post)
            self.assertEqual(c.read_response().status, 200)
        with Client(proxy.port) as c:
            c.send(post)
            self.assertEqual(c.read_response().status, 502)
        time.sleep(scaled(0.2))
        self.assertEqual(up.request_count(), 2)
        self.assertEqual(up.connections, 1)
        ev = proxy.wait_events(2)[1]
        self.assertEqual(get(ev, "event.reason"), "upstream_unreachable")
        self.assertIn("not replayed", get(ev, "ocspgate.detail"))
