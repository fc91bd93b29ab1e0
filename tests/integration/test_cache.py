"""The RFC 5019 cache and upstream connection reuse.

The cache: a hit is answered without the upstream seeing a request (the
upstream counts them), carries RFC 5019 caching headers and the same
bytes, and is logged with ocspgate.cache = "hit"; an answer stops being
served at its max-age; nonce-bearing, failed, unverified and
non-successful exchanges are never cached; the byte bound evicts.

Reuse: requests to the same upstream share one keep-alive connection; a
pooled connection the server closes just as it is reused is retried once
for a GET and not for a POST.
"""

import time

from ocspgate_harness import (
    OCSP_RESPONSE_TRY_LATER, CertID, Client, ProxyTestCase, free_port, get,
    get_cryptoapi, http_request, metric_sample, ocsp_post, ocsp_request_der,
    scaled, scrape_metrics)
from ocsp_forge import CannedUpstream, flip_signature_byte, http_answer
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
        self.assertEqual(second.header("content-type"),
                         "application/ocsp-response")
        cc = second.header("cache-control")
        self.assertRegex(cc, r"^max-age=\d+, public, no-transform, "
                             r"must-revalidate$")
        # nextUpdate is 5 minutes on: max-age is at most that
        self.assertLessEqual(int(cc.split("=")[1].split(",")[0]), 300)
        for h in ("expires", "last-modified", "etag", "date"):
            self.assertIsNotNone(second.header(h), h)
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
        cache_max_age: three days by default (what the cache tells
        downstream caches, too), and with cache_max_age = 2 it is asked
        for again after two seconds."""
        self.body = self.fx.make(self.fx.req_good, options=["-ndays", "30"])
        proxy = self.proxy()
        self.ask(proxy)
        hit = self.ask(proxy)
        self.assertEqual(self.up.request_count(), 1)
        max_age = int(hit.header("cache-control").split("=")[1].split(",")[0])
        self.assertLessEqual(max_age, 3 * 86400)
        self.assertGreater(max_age, 3 * 86400 - 60)
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
