"""The admin endpoint as the contract says: its own 404 and 405 answers
(text/plain, Allow on 405, Cache-Control: no-store), every counter and
labelled series there from the start at zero, so that a rate sees the
first increment, and the shipped Grafana dashboard read against a real
scrape: each of its selectors finds a series before any traffic, and
its time panels say "never" rather than 1970 before the first reload.
"""

import json
import pathlib
import re
import signal
import socket

from ocspgate_harness import (
    Client, ProxyTestCase, free_port, http_request, metric_sample,
    ocsp_post, ocsp_request_der, scrape_metrics)
from test_soc_docs import contract_reasons, contract_text

REPO = pathlib.Path(__file__).resolve().parents[2]
DASHBOARD = REPO / "docs" / "grafana" / "ocspgate-dashboard.json"

# The failures: after the decision, with either action (docs/interface.md).
FAILURES = ("upstream_unreachable", "upstream_timeout",
            "response_malformed", "response_unverified")
ALLOW_REASONS = ("ocsp_request", "crl_request", "ca_issuer_request",
                 "ctl_request")


def ask(port, method, path, body=b""):
    """One request to the admin endpoint; the parsed answer."""
    head = b"%s %s HTTP/1.1\r\nHost: admin\r\nConnection: close\r\n" % (
        method, path)
    if body or method in (b"POST", b"PUT", b"PATCH"):
        head += b"Content-Length: %d\r\n" % len(body)
    with Client(port, timeout=5) as c:
        c.send(head + b"\r\n" + body)
        return c.read_response(timeout=5, head_only=(method == b"HEAD"))


def series(metrics, name):
    """{labels dict as a tuple: value} of one metric of a scrape."""
    return {labels: v for (n, labels), v in metrics.items() if n == name}


class AdminTestCase(ProxyTestCase):

    def start(self, **kw):
        self.admin = free_port()
        return self.start_proxy(admin_listen="127.0.0.1:%d" % self.admin,
                                **kw)


class OwnAnswerTests(AdminTestCase):

    def assert_own(self, r, status, text):
        self.assertEqual(r.status, status, r.raw[:300])
        self.assertEqual(r.header("content-type"), "text/plain", r.raw[:300])
        self.assertEqual(r.header("cache-control"), "no-store", r.raw[:300])
        if text is not None:
            self.assertEqual(r.body, text)

    def test_404_is_text_plain_and_not_stored(self):
        """Any path but /metrics and /healthz: 404 text/plain with
        Cache-Control: no-store (libevent's own error page is text/html
        and drops the headers set before it)."""
        self.start()
        for method, path in ((b"GET", b"/nothing"), (b"GET", b"/"),
                             (b"GET", b"/metrics/x"), (b"POST", b"/x"),
                             (b"DELETE", b"/healthz/")):
            with self.subTest(method=method, path=path):
                self.assert_own(ask(self.admin, method, path), 404,
                                b"not found\n")
        r = ask(self.admin, b"HEAD", b"/nothing")
        self.assert_own(r, 404, None)
        self.assertEqual(r.body, b"")

    def test_405_names_the_allowed_methods(self):
        """Any method but GET and HEAD on /metrics or /healthz: 405,
        text/plain, Allow: GET, HEAD, Cache-Control: no-store."""
        self.start()
        for path in (b"/metrics", b"/healthz"):
            for method in (b"POST", b"PUT", b"DELETE", b"PATCH",
                           b"OPTIONS"):
                with self.subTest(method=method, path=path):
                    r = ask(self.admin, method, path)
                    self.assert_own(r, 405, b"method not allowed\n")
                    self.assertEqual(r.header("allow"), "GET, HEAD")

    def test_get_and_head_answers_keep_their_headers(self):
        """200 answers keep their type and no-store; HEAD has no body."""
        self.start()
        r = ask(self.admin, b"GET", b"/healthz")
        self.assert_own(r, 200, b"ok\n")
        self.assertIsNone(r.header("allow"))
        r = ask(self.admin, b"GET", b"/metrics")
        self.assertEqual(r.status, 200)
        self.assertTrue(r.header("content-type").startswith(
            "text/plain; version=0.0.4"), r.header("content-type"))
        self.assertEqual(r.header("cache-control"), "no-store")
        r = ask(self.admin, b"HEAD", b"/metrics")
        self.assertEqual((r.status, r.body), (200, b""))
        self.assertEqual(r.header("cache-control"), "no-store")


class ZeroSeriesTests(AdminTestCase):

    def test_every_series_is_there_before_the_first_request(self):
        """Before any traffic: each (action, reason) a request can end
        with, each alert reason, cache result, reload result, output and
        configured responder or fetch host has its series, at 0."""
        crl = "crl.ca.test:8081/crl"
        rx = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        rx.bind(("127.0.0.1", 0))
        self.addCleanup(rx.close)
        self.start(responders=["ocsp.ca.test:8080", "*.ocsp.test"],
                   crl_hosts=[crl],
                   event_syslog="udp://127.0.0.1:%d" % rx.getsockname()[1])
        m = scrape_metrics(self.admin)
        requests = series(m, "ocspgate_requests_total")
        self.assertTrue(requests)
        self.assertEqual(set(requests.values()), {0})
        pairs = {(dict(k)["action"], dict(k)["reason"]) for k in requests}
        alerts = {dict(k)["reason"] for k in series(m, "ocspgate_alerts_total")}
        # every reason of the contract is a label value from the start
        for reason in contract_reasons(contract_text()):
            with self.subTest(reason=reason):
                self.assertTrue(
                    any(r == reason for _, r in pairs) or reason in alerts,
                    "no series for %s" % reason)
        for reason in ALLOW_REASONS:
            self.assertIn(("allow", reason), pairs)
            self.assertNotIn(("block", reason), pairs)
        for reason in FAILURES:
            self.assertIn(("allow", reason), pairs)
            self.assertIn(("block", reason), pairs)
        for action, reason in pairs:
            self.assertNotIn(reason, ("none",))
            if reason not in FAILURES:
                self.assertEqual(action == "allow", reason in ALLOW_REASONS,
                                 (action, reason))
        self.assertEqual(set(series(m, "ocspgate_alerts_total").values()), {0})
        self.assertGreaterEqual(len(alerts), 5)
        for name, label, values in (
                ("ocspgate_cache_requests_total", "result",
                 {"hit", "miss", "bypass"}),
                ("ocspgate_reloads_total", "result", {"success", "failure"}),
                ("ocspgate_events_dropped_total", "output",
                 {"file", "syslog"}),
                ("ocspgate_events_total", "output", {"file", "syslog"})):
            with self.subTest(metric=name):
                got = series(m, name)
                self.assertEqual({dict(k)[label] for k in got}, values)
                if name != "ocspgate_events_total":
                    self.assertEqual(set(got.values()), {0})
        responders = series(m, "ocspgate_responder_requests_total")
        self.assertEqual(
            {(dict(k)["responder"], dict(k)["action"]) for k in responders},
            {(r, a) for r in ("ocsp.ca.test:8080", "*.ocsp.test", crl)
             for a in ("allow", "block")})
        self.assertEqual(set(responders.values()), {0})

    def test_the_first_increment_is_a_step_from_zero(self):
        """A series seen at 0 counts 1 after the first request, so a
        rate over the two scrapes sees it; a reload keeps the series of
        newly configured responders at zero from the reload on."""
        rec = self.upstream()
        spec = "ocsp.ca.test:%d" % rec.port
        proxy = self.start(responders=[spec])
        m0 = scrape_metrics(self.admin)
        block = dict(action="block", reason="unknown_responder")
        self.assertEqual(metric_sample(m0, "ocspgate_requests_total",
                                       **block), 0)
        self.assertEqual(metric_sample(m0, "ocspgate_requests_total",
                                       action="allow",
                                       reason="ocsp_request"), 0)
        self.assertEqual(metric_sample(
            m0, "ocspgate_responder_requests_total", responder=spec,
            action="allow"), 0)
        with Client(proxy.port) as c:
            c.send(http_request("GET", "http://other.test/"))
            self.assertEqual(c.read_response().status, 403)
        with Client(proxy.port) as c:
            c.send(ocsp_post("http://%s/" % spec, ocsp_request_der(
                [self.pki.cert_id("good")])))
            self.assertEqual(c.read_response().status, 200)
        proxy.wait_events(2)
        m1 = scrape_metrics(self.admin)
        self.assertEqual(metric_sample(m1, "ocspgate_requests_total",
                                       **block), 1)
        self.assertEqual(metric_sample(m1, "ocspgate_requests_total",
                                       action="allow",
                                       reason="ocsp_request"), 1)
        self.assertEqual(metric_sample(
            m1, "ocspgate_responder_requests_total", responder=spec,
            action="allow"), 1)
        # a responder added by a reload is there at once
        text = proxy.conf_path.read_text()
        proxy.conf_path.write_text(text.replace(
            '"%s"' % spec, '"%s", "new.ca.test"' % spec))
        proxy.signal(signal.SIGHUP)
        proxy.err.wait_for(lambda ls: any("reloaded" in l for l in ls), 5)
        m2 = scrape_metrics(self.admin)
        self.assertEqual(metric_sample(
            m2, "ocspgate_responder_requests_total", responder="new.ca.test",
            action="block"), 0)
        self.assertEqual(metric_sample(
            m2, "ocspgate_responder_requests_total", responder=spec,
            action="allow"), 1)


# PromQL selectors of the dashboard: name{matchers}, and bare names.
SELECTOR_RE = re.compile(r"\b(ocspgate_[a-z0-9_]+)\s*(\{([^}]*)\})?")
MATCHER_RE = re.compile(r'(\w+)\s*(=~|!~|!=|=)\s*"([^"]*)"')


def dashboard_targets():
    """(panel, target) of every query in the dashboard."""
    d = json.loads(DASHBOARD.read_text(encoding="utf-8"))
    for p in d["panels"]:
        for t in p.get("targets", []):
            yield p, t


def selector_matches(metrics, name, matchers):
    """True when the scrape has a series of <name> that <matchers> (the
    dashboard's $instance variable aside) select."""
    for (n, labels), _ in metrics.items():
        if n != name:
            continue
        have = dict(labels)
        ok = True
        for label, op, value in matchers:
            if label == "instance":
                continue  # added by Prometheus, selected by the variable
            v = have.get(label, "")
            full = re.fullmatch(value, v) is not None
            if ((op == "=" and v != value) or (op == "!=" and v == value) or
                    (op == "=~" and not full) or (op == "!~" and full)):
                ok = False
                break
        if ok:
            return True
    return False


class DashboardTests(AdminTestCase):

    def test_every_query_finds_its_series_before_any_traffic(self):
        """Each selector of each panel matches a series of a fresh
        process: no panel starts empty for want of a zero series."""
        self.start(responders=["ocsp.ca.test:8080"])
        m = scrape_metrics(self.admin)
        n = 0
        for panel, target in dashboard_targets():
            for name, _, body in SELECTOR_RE.findall(target["expr"]):
                n += 1
                with self.subTest(panel=panel["title"], selector=name):
                    self.assertTrue(selector_matches(
                        m, name, MATCHER_RE.findall(body or "")),
                        "%s{%s} selects nothing" % (name, body))
        self.assertGreater(n, 20)

    def test_time_panels_say_never_before_the_first_reload(self):
        """A panel showing a Unix time hides a zero (never) with '> 0'
        and says so through noValue; the metric is 0 before the first
        reload and a time after it."""
        time_panels = [
            (p, t) for p, t in dashboard_targets()
            if p.get("fieldConfig", {}).get("defaults", {}).get(
                "unit", "").startswith("dateTime")]
        self.assertTrue(time_panels)
        names = set()
        for panel, target in time_panels:
            with self.subTest(panel=panel["title"]):
                expr = target["expr"]
                self.assertRegex(expr, r"\}\s*>\s*0\b",
                                 "a 0 (never) would show as 1970")
                self.assertTrue(panel["fieldConfig"]["defaults"].get(
                    "noValue"), "no text for an empty result")
                names.update(n for n, _, _ in SELECTOR_RE.findall(expr))
        self.assertIn("ocspgate_last_reload_timestamp_seconds", names)
        proxy = self.start()
        m = scrape_metrics(self.admin)
        for name in names:
            self.assertEqual(metric_sample(m, name), 0, name)
        proxy.signal(signal.SIGHUP)
        proxy.err.wait_for(lambda ls: any("reloaded" in l for l in ls), 5)
        m = scrape_metrics(self.admin)
        for name in names:
            self.assertGreater(metric_sample(m, name), 1e9, name)

    def test_ratio_panels_do_not_divide_by_zero(self):
        """A ratio's denominator is filtered with '> 0', so a gate with
        no traffic shows its noValue text instead of NaN."""
        ratios = [(p, t) for p, t in dashboard_targets()
                  if p.get("fieldConfig", {}).get("defaults", {}).get(
                      "unit") == "percentunit" and " / " in t["expr"]]
        self.assertTrue(ratios)
        for panel, target in ratios:
            with self.subTest(panel=panel["title"]):
                denominator = target["expr"].split(" / ", 1)[1]
                self.assertRegex(denominator, r"\)\s*>\s*0\)?\s*$")
                self.assertTrue(panel["fieldConfig"]["defaults"].get(
                    "noValue"))
