"""Running it on a perimeter: syslog output to a receiver the test runs
(UDP and TCP), the admin endpoint (/metrics parsed and matched against
the requests sent, /healthz through a drain), periodic metric lines,
behaviour alerts from real traffic, reloads and log rotation under load,
and several workers sharing the load with one intact line per request.
"""

import json
import os
import re
import selectors
import signal
import socket
import threading
import time

from ocspgate_harness import (
    Client, ProxyTestCase, assert_ecs_line, config_text, free_port, get,
    http_get, http_request, metric_sample, ocsp_post, ocsp_request_der,
    parse_event_lines, scaled, scrape_metrics)

SYSLOG_RE = re.compile(
    rb"^<(\d+)>1 (\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z) (\S+) ocspgate "
    rb"(\d+) (event|alert|metric) - (\{.*\})$", re.S)


class OperationsTestCase(ProxyTestCase):

    def ocsp_setup(self):
        self.rec = self.upstream()
        self.spec = "ocsp.ca.test:%d" % self.rec.port
        self.der = ocsp_request_der([self.pki.cert_id("good")])
        self.allowed = ocsp_post("http://%s/" % self.spec, self.der)
        self.blocked = http_request("GET", "http://other.test/")

    def send(self, proxy, data, n=1, status=None):
        for _ in range(n):
            with Client(proxy.port) as c:
                c.send(data)
                r = c.read_response()
                if status is not None:
                    self.assertEqual(r.status, status)


class SyslogTests(OperationsTestCase):

    def udp_receiver(self):
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.bind(("127.0.0.1", 0))
        s.settimeout(scaled(5))
        self.addCleanup(s.close)
        return s

    def check_message(self, msg, severity):
        m = SYSLOG_RE.match(msg)
        self.assertIsNotNone(m, msg[:300])
        pri = int(m.group(1))
        self.assertEqual(pri // 8, 16)  # local0
        self.assertEqual(pri % 8, severity)
        self.assertEqual(int(m.group(4)), self.proxy_pid)
        ev = json.loads(m.group(6))
        assert_ecs_line(m.group(6), ev, "syslog message")
        return m.group(5).decode(), ev

    def test_udp_every_event_arrives(self):
        """Every event reaches the receiver as one RFC 5424 datagram whose
        message is the event line; with the receiver gone the gate keeps
        serving and counts what it could not send."""
        self.ocsp_setup()
        rx = self.udp_receiver()
        admin = free_port()
        proxy = self.start_proxy(
            responders=[self.spec],
            event_syslog="udp://127.0.0.1:%d" % rx.getsockname()[1],
            event_syslog_facility="local0",
            admin_listen="127.0.0.1:%d" % admin)
        self.proxy_pid = proxy.proc.pid
        self.send(proxy, self.allowed, 4, 200)
        self.send(proxy, self.blocked, 3, 403)
        got = []
        for _ in range(7):
            msg, _ = rx.recvfrom(65536)
            kind, ev = self.check_message(
                msg, 6 if b'"action":"allow"' in msg else 4)
            self.assertEqual(kind, "event")
            got.append(ev)
        file_events = proxy.wait_events(7)
        key = lambda e: (get(e, "source.port"), get(e, "event.reason"))
        self.assertEqual(sorted(map(key, got)),
                         sorted(map(key, file_events)))
        self.assertEqual(got, [e for e in file_events
                               if key(e) in set(map(key, got))])
        m = scrape_metrics(admin)
        self.assertEqual(metric_sample(m, "ocspgate_events_total",
                                output="syslog"), 7)
        self.assertEqual(metric_sample(m, "ocspgate_events_dropped_total",
                                output="syslog"), 0)
        # the receiver goes away: requests are still served
        rx.close()
        for i in range(6):
            self.send(proxy, self.blocked, 1, 403)
            time.sleep(0.05)
        m = scrape_metrics(admin)
        self.assertEqual(metric_sample(m, "ocspgate_events_total",
                                output="syslog"), 13)
        self.assertGreaterEqual(metric_sample(m, "ocspgate_events_dropped_total",
                                       output="syslog"), 1)
        self.assertEqual(len(proxy.wait_events(13)), 13)

    def test_unix_datagram_socket(self):
        """A Unix datagram socket (as /dev/log is) gets one message per
        line."""
        self.ocsp_setup()
        path = str(self.tmp / "log.sock")
        rx = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        rx.bind(path)
        rx.settimeout(scaled(5))
        self.addCleanup(rx.close)
        proxy = self.start_proxy(responders=[self.spec],
                                 event_syslog="unix://" + path,
                                 event_syslog_facility="local0")
        self.proxy_pid = proxy.proc.pid
        self.send(proxy, self.allowed, 2, 200)
        self.send(proxy, self.blocked, 1, 403)
        reasons = []
        for _ in range(3):
            msg = rx.recv(65536)
            kind, ev = self.check_message(
                msg, 6 if b'"action":"allow"' in msg else 4)
            self.assertEqual(kind, "event")
            reasons.append(get(ev, "event.reason"))
        self.assertEqual(sorted(reasons), ["ocsp_request", "ocsp_request",
                                           "unknown_responder"])

    def test_tcp_octet_counting_and_a_lost_collector(self):
        """Over TCP, messages are framed by octet counting (RFC 6587) and
        all arrive; when the collector dies, lines wait in the bounded
        queue, the overflow is dropped and counted, and service goes
        on."""
        self.ocsp_setup()
        srv = socket.socket()
        srv.bind(("127.0.0.1", 0))
        srv.listen(4)
        srv.settimeout(scaled(5))
        admin = free_port()
        proxy = self.start_proxy(
            responders=[self.spec], event_queue_size=65536,
            event_syslog="tcp://127.0.0.1:%d" % srv.getsockname()[1],
            event_syslog_facility="local0",
            admin_listen="127.0.0.1:%d" % admin)
        self.proxy_pid = proxy.proc.pid
        self.send(proxy, self.allowed, 3, 200)
        self.send(proxy, self.blocked, 2, 403)
        # One connection per worker, and one for the main thread's
        # metric lines: read them all.
        sel = selectors.DefaultSelector()
        sel.register(srv, selectors.EVENT_READ)
        bufs, msgs, conns = {}, [], []
        deadline = time.monotonic() + scaled(10)
        while len(msgs) < 5 and time.monotonic() < deadline:
            for key, _ in sel.select(0.2):
                if key.fileobj is srv:
                    conn, _ = srv.accept()
                    conns.append(conn)
                    bufs[conn] = b""
                    sel.register(conn, selectors.EVENT_READ)
                    continue
                chunk = key.fileobj.recv(65536)
                self.assertTrue(chunk, "collector connection closed")
                buf = bufs[key.fileobj] + chunk
                while True:
                    m = re.match(rb"^(\d+) ", buf)
                    if not m or len(buf) < m.end() + int(m.group(1)):
                        break
                    n = int(m.group(1))
                    msgs.append(buf[m.end():m.end() + n])
                    buf = buf[m.end() + n:]
                bufs[key.fileobj] = buf
        self.assertEqual(len(msgs), 5)
        self.assertEqual(set(bufs.values()), {b""})
        kinds = [self.check_message(
            msg, 6 if b'"action":"allow"' in msg else 4)[0] for msg in msgs]
        self.assertEqual(kinds, ["event"] * 5)
        sel.close()
        for conn in conns:
            conn.close()
        srv.close()
        # 150 events of ~700 bytes overflow a 64 KiB queue
        for _ in range(150):
            self.send(proxy, self.blocked, 1, 403)
        # An event is counted once written, after its answer was sent:
        # the last one may still be on its way when the client has read.
        deadline = time.monotonic() + scaled(5)
        while True:
            m = scrape_metrics(admin)
            n = metric_sample(m, "ocspgate_events_total", output="syslog")
            if n >= 155 or time.monotonic() > deadline:
                break
            time.sleep(0.05)
        self.assertEqual(n, 155)
        self.assertGreater(metric_sample(m, "ocspgate_events_dropped_total",
                                  output="syslog"), 0)
        self.assertLessEqual(metric_sample(m, "ocspgate_event_queue_bytes",
                                    output="syslog"), 65536)
        self.assertEqual(len(proxy.wait_events(155)), 155)


class AdminTests(OperationsTestCase):

    def test_metrics_match_the_requests(self):
        """Counters by action, reason and responder, the latency
        histogram, connections, bytes and events match what was sent."""
        self.ocsp_setup()
        admin = free_port()
        proxy = self.start_proxy(responders=[self.spec],
                                 admin_listen="127.0.0.1:%d" % admin)
        m0 = scrape_metrics(admin)
        self.assertEqual(metric_sample(m0, "ocspgate_workers"), 1)
        self.assertEqual(metric_sample(m0, "ocspgate_last_reload_success"), 1)
        self.send(proxy, self.allowed, 3, 200)
        self.send(proxy, self.blocked, 2, 403)
        proxy.wait_events(5)
        # A connection's close is counted when the worker reads the
        # client's end, which may come after its event was written.
        deadline = time.monotonic() + scaled(5)
        while True:
            m = scrape_metrics(admin)
            if (metric_sample(m, "ocspgate_connections_open") == 0 or
                    time.monotonic() > deadline):
                break
            time.sleep(0.05)
        self.assertEqual(metric_sample(m, "ocspgate_requests_total",
                                action="allow", reason="ocsp_request"), 3)
        self.assertEqual(metric_sample(m, "ocspgate_requests_total",
                                action="block",
                                reason="unknown_responder"), 2)
        self.assertEqual(metric_sample(m, "ocspgate_responder_requests_total",
                                responder=self.spec, action="allow"), 3)
        self.assertEqual(metric_sample(m, "ocspgate_upstream_latency_seconds_count"),
                         3)
        self.assertEqual(metric_sample(m, "ocspgate_upstream_latency_seconds_bucket",
                                le="+Inf"), 3)
        self.assertEqual(metric_sample(m, "ocspgate_connections_total"), 5)
        self.assertEqual(metric_sample(m, "ocspgate_connections_open"), 0)
        self.assertEqual(metric_sample(m, "ocspgate_request_body_bytes_total"),
                         3 * len(self.der))
        self.assertEqual(metric_sample(m, "ocspgate_events_total", output="file"),
                         5)
        self.assertEqual(metric_sample(m, "ocspgate_cache_requests_total",
                                result="bypass"), 3)  # cache_size = 0
        # a failed and a good reload are counted
        proxy.conf_path.write_text(proxy.conf_path.read_text() + "bad;\n")
        proxy.signal(signal.SIGHUP)
        proxy.err.wait_for(lambda ls: any("not loaded" in l for l in ls), 5)
        m = scrape_metrics(admin)
        self.assertEqual(metric_sample(m, "ocspgate_reloads_total",
                                result="failure"), 1)
        self.assertEqual(metric_sample(m, "ocspgate_last_reload_success"), 0)
        self.assertGreater(
            metric_sample(m, "ocspgate_last_reload_timestamp_seconds"), 0)
        # a good reload moves the endpoint and changes the metric lines
        admin2 = free_port()
        text = proxy.conf_path.read_text().replace("bad;\n", "")
        proxy.conf_path.write_text(text.replace(
            "127.0.0.1:%d" % admin, "127.0.0.1:%d" % admin2))
        proxy.signal(signal.SIGHUP)
        proxy.err.wait_for(lambda ls: any("reloaded" in l for l in ls), 5)
        m = scrape_metrics(admin2)
        self.assertEqual(metric_sample(m, "ocspgate_reloads_total",
                                result="success"), 1)
        self.assertEqual(metric_sample(m, "ocspgate_last_reload_success"), 1)
        self.assertEqual(metric_sample(m, "ocspgate_requests_total",
                                action="allow", reason="ocsp_request"), 3)
        with self.assertRaises(OSError):
            http_get(admin, "/healthz", timeout=1)

    def test_healthz_and_drain(self):
        """/healthz says ok while serving and 503 while draining after
        SIGTERM; the request in flight completes and the exit is 0."""
        rec = self.upstream(mode="delay", delay=1.5)
        spec = "ocsp.ca.test:%d" % rec.port
        admin = free_port()
        proxy = self.start_proxy(responders=[spec],
                                 admin_listen="127.0.0.1:%d" % admin)
        self.assertEqual(http_get(admin, "/healthz"), (200, b"ok\n"))
        self.assertEqual(http_get(admin, "/nothing")[0], 404)
        for method in (b"POST", b"PATCH", b"OPTIONS"):
            with socket.create_connection(("127.0.0.1", admin), 5) as s:
                s.sendall(method + b" /metrics HTTP/1.1\r\nHost: a\r\n"
                          b"Content-Length: 0\r\nConnection: close\r\n\r\n")
                self.assertIn(b" 405 ", s.recv(4096).split(b"\r\n")[0])
        der = ocsp_request_der([self.pki.cert_id("good")])
        with Client(proxy.port, timeout=10) as c:
            c.send(ocsp_post("http://%s/" % spec, der))
            rec.wait_requests(1)
            proxy.signal(signal.SIGTERM)
            time.sleep(scaled(0.2))
            self.assertEqual(http_get(admin, "/healthz")[0], 503)
            self.assertEqual(c.read_response(timeout=5).status, 200)
        code, killed = proxy.stop(grace=5)
        self.assertEqual((code, killed), (0, False))

    def test_metric_lines(self):
        """With metric_interval = 1, a metric line appears every second
        with totals so far."""
        self.ocsp_setup()
        proxy = self.start_proxy(responders=[self.spec], metric_interval=1)
        self.send(proxy, self.blocked, 2, 403)
        deadline = time.monotonic() + scaled(5)
        lines = []
        while time.monotonic() < deadline and not lines:
            lines = [e for e in proxy.events(kind="metric")
                     if get(e, "ocspgate.metrics.requests.block") == 2]
            time.sleep(0.1)
        self.assertTrue(lines, "no metric line with the two blocks")
        ev = lines[0]
        self.assertEqual(get(ev, "event.kind"), "metric")
        self.assertEqual(get(ev, "ocspgate.metrics.events.file.dropped"), 0)


class AlertTests(OperationsTestCase):

    QUIET = dict(alert_rate_per_source=0, alert_rate_per_pair=0,
                 novelty_window=0, alert_early_requery=0,
                 alert_serial_fanout=0, alert_periodic_min=0)

    def alerts(self, proxy):
        return proxy.events(kind="alert")

    def test_rate_alert_at_the_threshold(self):
        """alert_rate_per_source = 5: four requests raise nothing, the
        fifth raises one rate_anomaly with its figures."""
        self.ocsp_setup()
        admin = free_port()
        cfg = dict(self.QUIET, alert_rate_per_source=5)
        proxy = self.start_proxy(responders=[self.spec],
                                 admin_listen="127.0.0.1:%d" % admin, **cfg)
        self.send(proxy, self.blocked, 4, 403)
        proxy.wait_events(4)
        time.sleep(scaled(0.2))
        self.assertEqual(self.alerts(proxy), [])
        self.send(proxy, self.allowed, 1, 200)
        proxy.wait_events(5)
        deadline = time.monotonic() + scaled(3)
        while time.monotonic() < deadline and not self.alerts(proxy):
            time.sleep(0.05)
        alerts = self.alerts(proxy)
        self.assertEqual(len(alerts), 1, alerts)
        a = alerts[0]
        self.assertEqual(get(a, "event.reason"), "rate_anomaly")
        self.assertEqual(get(a, "source.ip"), "127.0.0.1")
        self.assertEqual(get(a, "ocspgate.alert.scope"), "source")
        self.assertEqual(get(a, "ocspgate.alert.observed"), 5)
        self.assertEqual(get(a, "ocspgate.alert.threshold"), 5)
        self.assertEqual(get(a, "ocspgate.alert.window"), 60)
        m = scrape_metrics(admin)
        self.assertEqual(metric_sample(m, "ocspgate_alerts_total",
                                reason="rate_anomaly"), 1)
        self.assertEqual(metric_sample(m, "ocspgate_alert_sources_tracked"), 1)

    def test_new_destination(self):
        """novelty_learning = 0: the first request to a destination is an
        alert, a second to it is not, another destination is."""
        self.ocsp_setup()
        cfg = dict(self.QUIET, novelty_window=3600, novelty_learning=0)
        proxy = self.start_proxy(responders=[self.spec], **cfg)
        for target in ("a.test", "a.test", "b.test"):
            self.send(proxy, http_request("GET", "http://%s/" % target),
                      1, 403)
        proxy.wait_events(3)
        deadline = time.monotonic() + scaled(3)
        while time.monotonic() < deadline and len(self.alerts(proxy)) < 2:
            time.sleep(0.05)
        time.sleep(scaled(0.2))
        alerts = self.alerts(proxy)
        self.assertEqual([(get(a, "event.reason"),
                           get(a, "destination.domain")) for a in alerts],
                         [("new_destination", "a.test"),
                          ("new_destination", "b.test")])


class UnderLoadTests(OperationsTestCase):

    def load(self, proxy, n, results, keep_alive_every=3, stop=None):
        """Sends n allowed requests (fewer once <stop> is set), some on
        kept-alive connections; appends each status (or the exception)
        to results."""
        c = None
        for i in range(n):
            if stop is not None and stop.is_set():
                break
            try:
                if c is None:
                    c = Client(proxy.port, timeout=10)
                c.send(self.allowed)
                results.append(c.read_response(timeout=10).status)
                if i % keep_alive_every == 0:
                    c.close()
                    c = None
            except Exception as e:  # noqa: any failure is the finding
                results.append(repr(e))
                if c is not None:
                    c.close()
                c = None
        if c is not None:
            c.close()

    def test_reload_under_load(self):
        """Reloading many times, good and bad configs alternating, while
        a client sends requests to two workers: none fails or is reset,
        and the last good config's responder list is in force at the
        end."""
        self.ocsp_setup()
        rec_b = self.upstream()
        spec_b = "ocsp.ca.test:%d" % rec_b.port
        cfg = self.base_config(responders=[self.spec], workers=2)
        proxy = self.start_proxy(cfg)
        results = []
        stop = threading.Event()
        t = threading.Thread(target=self.load,
                             args=(proxy, 5000, results, 3, stop))
        t.start()
        good_a = config_text(cfg)
        good_ab = config_text(dict(cfg, responders=[self.spec, spec_b]))
        for i in range(24):
            text = [good_ab, good_a + "broken = ;\n", good_a,
                    good_ab.replace("responders", "responder")][i % 4]
            proxy.conf_path.write_text(text)
            proxy.signal(signal.SIGHUP)
            time.sleep(0.05)
        stop.set()
        t.join(scaled(60))
        self.assertFalse(t.is_alive())
        n = len(results)
        self.assertGreater(n, 24)
        self.assertEqual(results, [200] * n)
        # the last good config had only responder A: B is refused ...
        with Client(proxy.port) as c:
            c.send(ocsp_post("http://%s/" % spec_b, self.der))
            self.assertEqual(c.read_response().status, 403)
        # ... until a config with B is loaded
        proxy.conf_path.write_text(good_ab)
        proxy.signal(signal.SIGHUP)
        status, tries = None, 0
        deadline = time.monotonic() + scaled(5)
        while time.monotonic() < deadline and status != 200:
            with Client(proxy.port) as c:
                c.send(ocsp_post("http://%s/" % spec_b, self.der))
                status = c.read_response().status
                tries += 1
            time.sleep(0.05)
        self.assertEqual(status, 200)
        # one line per request, none lost across the reloads
        time.sleep(scaled(0.2))
        self.assertEqual(len(proxy.wait_events(n + 1 + tries)),
                         n + 1 + tries)

    def test_rotation_under_load(self):
        """The log renamed away and SIGUSR1 sent five times while
        requests flow through two workers: every request has exactly one
        whole line in one of the files."""
        self.ocsp_setup()
        proxy = self.start_proxy(responders=[self.spec], workers=2)
        log = self.tmp / "events.jsonl"
        results = []
        t = threading.Thread(target=self.load, args=(proxy, 200, results))
        t.start()
        rotated = []
        for i in range(5):
            time.sleep(0.05)
            dst = self.tmp / ("events.jsonl.%d" % i)
            if log.exists():
                log.rename(dst)
                rotated.append(dst)
            proxy.signal(signal.SIGUSR1)
        t.join(scaled(60))
        self.assertEqual(results, [200] * 200)
        deadline = time.monotonic() + scaled(5)
        total = 0
        while time.monotonic() < deadline:
            files = rotated + ([log] if log.exists() else [])
            total = sum(len(parse_event_lines(f.read_bytes()))
                        for f in files)
            if total >= 200:
                break
            time.sleep(0.05)
        for f in rotated + [log]:
            parse_event_lines(f.read_bytes(), strict_tail=True)
        self.assertEqual(total, 200)
        self.assertGreaterEqual(len(rotated), 2)


class WorkerTests(OperationsTestCase):

    def test_workers_share_the_load(self):
        """Four workers (threads), eight concurrent clients: every request
        is answered and has exactly one intact line in the shared log."""
        self.ocsp_setup()
        proxy = self.start_proxy(responders=[self.spec], workers=4)
        threads = len(os.listdir("/proc/%d/task" % proxy.proc.pid))
        self.assertGreaterEqual(threads, 5)  # main + 4 workers
        results = []
        lock = threading.Lock()

        def client(k):
            for i in range(40):
                ua = "client-%d-%d" % (k, i)
                data = (ocsp_post("http://%s/" % self.spec, self.der,
                                  headers=[("User-Agent", ua)])
                        if i % 2 else http_request(
                            "GET", "http://other.test/",
                            headers=[("User-Agent", ua)]))
                with Client(proxy.port, timeout=10) as c:
                    c.send(data)
                    status = c.read_response(timeout=10).status
                with lock:
                    results.append((ua, status))

        ts = [threading.Thread(target=client, args=(k,)) for k in range(8)]
        for t in ts:
            t.start()
        for t in ts:
            t.join(scaled(60))
        self.assertEqual(len(results), 320)
        self.assertEqual(sorted(set(s for _, s in results)), [200, 403])
        evs = proxy.wait_events(320)
        proxy.stop()
        evs = proxy.events(strict_tail=True)
        self.assertEqual(len(evs), 320)
        uas = sorted(get(e, "user_agent.original") for e in evs)
        self.assertEqual(uas, sorted(ua for ua, _ in results))
