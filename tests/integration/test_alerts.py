"""Behaviour alerts through the binary, keyed on what an attacker varies:
certificate IDs that keep their serial and vary the issuer hashes, IPv6
sources rotating addresses inside one /64 (behind a PROXY header), a
real `openssl ocsp` responder answering `unknown` for certificates it
never issued, and a jittered beacon.
"""

import random
import time

from ocspgate_harness import (
    CertID, Client, ProxyTestCase, free_port, get, http_request,
    metric_sample, ocsp_post, ocsp_request_der, scaled, scrape_metrics)

QUIET = dict(alert_rate_per_source=0, alert_rate_per_pair=0,
             novelty_window=0, alert_early_requery=0, alert_serial_fanout=0,
             alert_periodic_min=0, alert_unknown_certificates=0,
             alert_unauthorized_answers=0, alert_ua_mismatch=0)


class AlertTests(ProxyTestCase):

    def alerts(self, proxy, reason=None):
        return [a for a in proxy.events(kind="alert")
                if reason is None or get(a, "event.reason") == reason]

    def wait_alerts(self, proxy, reason, n=1, timeout=3):
        deadline = time.monotonic() + scaled(timeout)
        while time.monotonic() < deadline:
            got = self.alerts(proxy, reason)
            if len(got) >= n:
                return got
            time.sleep(0.05)
        return self.alerts(proxy, reason)

    def post(self, proxy, spec, cert_ids, status=None, prefix=b""):
        with Client(proxy.port) as c:
            c.send(prefix + ocsp_post("http://%s/" % spec,
                                      ocsp_request_der(cert_ids)))
            r = c.read_response()
            if status is not None:
                self.assertEqual(r.status, status)
            return r

    def test_fanout_over_whole_certificate_ids(self):
        """One serial, five issuer name hashes: five certificate IDs,
        and alert_serial_fanout = 5 fires on the fifth."""
        rec = self.upstream()
        spec = "ocsp.ca.test:%d" % rec.port
        proxy = self.start_proxy(
            responders=[spec], **dict(QUIET, alert_serial_fanout=5))
        good = self.pki.cert_id("good")
        for i in range(5):
            name_hash = bytes([i]) + good.issuer_name_hash[1:]
            self.post(proxy, spec, [CertID("sha1", name_hash,
                                           good.issuer_key_hash,
                                           good.serial)])
            if i == 3:
                proxy.wait_events(4)
                self.assertEqual(self.alerts(proxy), [])
        got = self.wait_alerts(proxy, "serial_fanout")
        self.assertEqual(len(got), 1, got)
        self.assertEqual(get(got[0], "ocspgate.alert.observed"), 5)
        self.assertEqual(get(got[0], "ocspgate.alert.scope"), "source")

    def test_ua_mismatch_per_source(self):
        """Requests claiming to be CryptoAPI in another client's field
        order (ocspgate.request.flags ua_mismatch) raise ua_mismatch
        once alert_ua_mismatch of them came from one source; the same
        number from the real CryptoAPI order raise nothing."""
        rec = self.upstream()
        spec = "ocsp.ca.test:%d" % rec.port
        proxy = self.start_proxy(
            responders=[spec], **dict(QUIET, alert_ua_mismatch=3))
        der = ocsp_request_der([self.pki.cert_id("good")])
        # CryptoAPI's order (Host last), then the same fields in curl's.
        genuine = [("Cache-Control", "no-cache"),
                   ("Connection", "Keep-Alive"), ("Accept", "*/*"),
                   ("Content-Type", "application/ocsp-request"),
                   ("User-Agent", "Microsoft-CryptoAPI/10.0"),
                   ("Content-Length", str(len(der))), ("Host", spec)]
        forged = [genuine[6], genuine[4], genuine[2], genuine[3],
                  genuine[5]]
        for headers in (genuine, forged):
            for _ in range(3):
                with Client(proxy.port) as c:
                    c.send(http_request("POST", "http://%s/" % spec,
                                        headers=headers, body=der,
                                        host=False))
                    c.read_response()
            if headers is genuine:
                evs = proxy.wait_events(3)
                for ev in evs:
                    self.assertNotIn("ua_mismatch", get(
                        ev, "ocspgate.request.flags") or [], ev)
                self.assertEqual(self.alerts(proxy), [])
        evs = proxy.wait_events(6)
        for ev in evs[3:]:
            self.assertIn("ua_mismatch",
                          get(ev, "ocspgate.request.flags") or [], ev)
        got = self.wait_alerts(proxy, "ua_mismatch")
        self.assertEqual(len(got), 1, got)
        self.assertEqual(get(got[0], "ocspgate.alert.observed"), 3)

    def test_ipv6_sources_are_one_per_64(self):
        """Requests from four addresses of one /64 (PROXY TCP6 headers)
        are one source: alert_rate_per_source = 4 fires on the fourth,
        naming the /64; another /64 is another source."""
        listen = ({"address": "127.0.0.1:0", "proxy_protocol": True,
                   "proxy_protocol_from": ["127.0.0.1/32"]},)
        proxy = self.start_proxy(listen=listen, responders=["ocsp.ca.test"],
                                 **dict(QUIET, alert_rate_per_source=4))
        blocked = http_request("GET", "http://other.test/")
        sources = ["2001:db8:7:1::1", "2001:db8:7:1::2", "2001:db8:7:2::1",
                   "2001:db8:7:1:ffff::3", "2001:db8:7:1:abcd:ef01:2345:6789"]
        for i, src in enumerate(sources):
            with Client(proxy.port) as c:
                c.send(b"PROXY TCP6 %s ::1 %d %d\r\n" % (
                    src.encode(), 40000 + i, proxy.port) + blocked)
                self.assertEqual(c.read_response().status, 403)
            if i == 3:
                proxy.wait_events(4)
                self.assertEqual(self.alerts(proxy), [])
        got = self.wait_alerts(proxy, "rate_anomaly")
        self.assertEqual(len(got), 1, got)
        self.assertEqual(get(got[0], "source.ip"),
                         "2001:db8:7:1:abcd:ef01:2345:6789")
        self.assertEqual(get(got[0], "ocspgate.alert.source_prefix"),
                         "2001:db8:7:1::/64")
        self.assertEqual(get(got[0], "ocspgate.alert.observed"), 4)

    def test_unknown_certificates_from_a_real_responder(self):
        """An openssl responder answers `unknown` for serials its CA never
        issued: ten distinct ones raise unknown_certificates, with the
        metric counted; the same ones again raise nothing more."""
        admin = free_port()
        proxy = self.start_proxy(
            responders=[self.resp_spec()],
            admin_listen="127.0.0.1:%d" % admin,
            **dict(QUIET, alert_unknown_certificates=10))
        rng = random.Random(1)
        ids = [CertID.of(self.pki.ca_info, rng.getrandbits(150) | 1 << 150)
               for _ in range(10)]
        for i, cid in enumerate(ids):
            self.post(proxy, self.resp_spec(), [cid], 200)
            if i == 8:
                evs = proxy.wait_events(9)
                self.assertEqual(
                    {c["status"] for e in evs
                     for c in get(e, "ocspgate.ocsp.response.certs")},
                    {"unknown"})
                self.assertEqual(self.alerts(proxy), [])
        got = self.wait_alerts(proxy, "unknown_certificates")
        self.assertEqual(len(got), 1, got)
        self.assertEqual(get(got[0], "ocspgate.alert.observed"), 10)
        self.assertEqual(get(got[0], "ocspgate.alert.threshold"), 10)
        self.assertEqual(get(got[0], "ocspgate.alert.window"), 600)
        # A certificate it knows is not counted.
        self.post(proxy, self.resp_spec(), [self.pki.cert_id("good")], 200)
        proxy.wait_events(11)
        m = scrape_metrics(admin)
        self.assertEqual(metric_sample(m, "ocspgate_alerts_total",
                                       reason="unknown_certificates"), 1)

    def test_jittered_beacon_is_periodic(self):
        """A client that asks every 1 s +- 20 % (a beacon's sleep, scaled
        down) raises periodic once alert_periodic_min intervals are in."""
        rec = self.upstream()
        spec = "ocsp.ca.test:%d" % rec.port
        proxy = self.start_proxy(
            responders=[spec], **dict(QUIET, alert_periodic_min=5))
        rng = random.Random(5)
        good = self.pki.cert_id("good")
        got = []
        for i in range(12):
            self.post(proxy, spec, [good])
            got = self.alerts(proxy, "periodic")
            if got:
                break
            time.sleep(rng.uniform(0.8, 1.2))
        got = got or self.wait_alerts(proxy, "periodic")
        self.assertTrue(got, "no periodic alert after %d requests" % (i + 1))
        self.assertGreaterEqual(i + 1, 6)
        a = got[0]
        self.assertEqual(get(a, "ocspgate.alert.scope"), "pair")
        self.assertEqual(get(a, "destination.domain"), "ocsp.ca.test")
        self.assertLessEqual(get(a, "ocspgate.alert.jitter"), 0.3)
        self.assertGreaterEqual(get(a, "ocspgate.alert.median_interval"), 0.8)
