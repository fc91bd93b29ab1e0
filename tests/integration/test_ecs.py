"""ocspgate's events as the Elastic Common Schema defines them, checked
against the field definition shipped in docs/ecs/ (see its README).

- DefinitionTests: the custom field set (fields/ocspgate.yml), the
  subset, the composable index template and the generator's flat
  definitions agree with each other, with the ECS version the binary
  declares, with the flags the binary knows, with the contract's example
  lines and with the fields the Sigma rules read.
- CheckerTests: ecs_check.py, which the harness runs on every line any
  test reads, finds each defect it is meant to find in an event made bad
  on purpose (an unmapped field, a value of the wrong type, a scalar where
  ECS wants an array, a categorization ECS does not allow).
- EveryKindTests: the real binary writes every kind of line (an allowed
  OCSP request, a refusal, a failure, a CRL, an issuer certificate and a
  trust list, a cache hit, a monitor-mode candidate, a request behind a
  PROXY header and a connection refused for lacking one, a truncated
  line, each of the eight alerts, a metric line), and each fits.
- TransparentKindTests: an intercepted request's event fits too (in the
  network namespaces of test_transparent, skipped where they cannot be
  made).
"""

import copy
import fnmatch
import json
import os
import random
import re
import tempfile
import time
import unittest
from pathlib import Path

import yaml

import ecs_check
import sigma_check
import test_transparent
from ocspgate_harness import (
    ECS_VERSION, HOSTS_NAMES, KNOWN_FLAGS, REPO, CertID, Client,
    ProxyTestCase, free_port, get, http_request, ocsp_post,
    ocsp_request_der, scaled, write_hosts_file)
from pki_fetch import Nginx
from test_fetch import CTL_DIR, FETCH_HOSTS, Fixtures
from test_soc_docs import contract_text

ECS_DIR = REPO / "docs" / "ecs"
FIELD_SET = ECS_DIR / "fields" / "ocspgate.yml"
SUBSET = ECS_DIR / "subset.yml"
SIGMA_DIR = REPO / "docs" / "soc" / "sigma"
EVENT_H = REPO / "include" / "ocspgate" / "event.h"
OCSP_REQUEST_C = REPO / "src" / "inspect" / "ocsp_request.c"
# An OCSPResponse whose status is unauthorized (RFC 6960 4.2.1).
UNAUTHORIZED = bytes.fromhex("30030a0106")


def leaves(properties, prefix=""):
    """{dotted name: mapping} of every field a template's properties
    map, objects included, multi-fields left out."""
    out = {}
    for name, m in properties.items():
        path = prefix + name
        out[path] = m
        if "properties" in m:
            out.update(leaves(m["properties"], path + "."))
    return out


def mapped_type(m):
    return m.get("type", "object" if "properties" in m else None)


def template():
    return json.loads((ECS_DIR / "ocspgate-template.json").read_text())


def template_fields():
    return leaves(template()["template"]["mappings"]["properties"])


def contract_examples():
    """The example lines of the contract (request event, alert, metric
    line), parsed, the placeholder hex made real."""
    text = contract_text()
    out = []
    for m in re.finditer(r"^    \{\"@timestamp\".*?^(?=\S)", text,
                         re.MULTILINE | re.DOTALL):
        out.append(json.loads(m.group(0).replace("…hex…", "0A1B")))
    return out


def subset_fields(spec, prefix=""):
    """The dotted names an ECS subset file selects."""
    out = set()
    for name, v in spec.items():
        path = prefix + name
        fields = v.get("fields") if isinstance(v, dict) else None
        if isinstance(fields, dict):
            out |= subset_fields(fields, path + ".")
        elif fields == "*":
            out.add(path + ".*")
        else:
            out.add(path)
    return out


class DefinitionTests(unittest.TestCase):

    @classmethod
    def setUpClass(cls):
        cls.template = template()
        cls.fields = template_fields()
        cls.schema = ecs_check.schema()
        cls.field_set = yaml.safe_load(FIELD_SET.read_text())

    def test_one_ecs_version(self):
        """The binary, the template, the flat definitions and the tests
        name one ECS version."""
        m = re.search(r'#define EVENT_ECS_VERSION\s+"([^"]+)"',
                      EVENT_H.read_text())
        self.assertEqual(m.group(1), ECS_VERSION)
        self.assertEqual(self.template["_meta"]["ecs_version"], ECS_VERSION)
        self.assertIn("ECS %s's generator" % ECS_VERSION,
                      (ECS_DIR / "ecs_flat.yml").read_text()[:200])

    def test_template_installs_alone(self):
        """A composable template composed of nothing, for the data stream
        of the dataset every line names, above the built-in logs-*-*
        template, loadable on every Elasticsearch 8 (no
        synthetic_source_keep)."""
        t = self.template
        self.assertNotIn("composed_of", t)
        self.assertEqual(t["data_stream"], {})
        self.assertGreater(t["priority"], 100)
        self.assertTrue(any(fnmatch.fnmatchcase(
            "logs-ocspgate.events-default", p) for p in t["index_patterns"]))
        m = t["template"]["mappings"]
        self.assertIs(m["date_detection"], False)
        self.assertEqual(mapped_type(self.fields["@timestamp"]), "date")
        self.assertEqual(mapped_type(self.fields["data_stream.dataset"]),
                         "constant_keyword")
        self.assertNotIn("synthetic_source_keep", json.dumps(t))

    def test_field_set_is_what_the_template_maps(self):
        """Every field of the custom field set is mapped under ocspgate.
        with its type, and the template maps nothing under ocspgate. the
        field set lacks; each field has what ECS's generator requires
        (--strict: a short description of one line, at most 120
        characters)."""
        (fs,) = self.field_set
        for k in ("name", "title", "description", "fields"):
            self.assertIn(k, fs)
        self.assertEqual(fs["name"], "ocspgate")
        declared = {}
        for f in fs["fields"]:
            with self.subTest(field=f.get("name")):
                for k in ("name", "level", "type", "description"):
                    self.assertIn(k, f)
                self.assertEqual(f["level"], "custom")
                short = f.get("short", f["description"])
                self.assertNotIn("\n", short.strip())
                self.assertLessEqual(len(short), 120)
                declared["ocspgate." + f["name"]] = f["type"]
        # Objects the generator makes for a dotted name hold no type.
        mapped = {k: mapped_type(m) for k, m in self.fields.items()
                  if k.startswith("ocspgate.") and "type" in m}
        self.assertEqual(mapped, declared)

    def test_flat_definitions_are_what_the_template_maps(self):
        for name, f in self.schema.flat.items():
            with self.subTest(field=name):
                self.assertIn(name, set(self.fields))
                self.assertEqual(mapped_type(self.fields[name]), f["type"])
        self.assertEqual(set(self.fields) - set(self.schema.flat),
                         {k for k in self.fields if "properties" in
                          self.fields[k] and k not in self.schema.flat})

    def test_subset_is_the_ecs_fields_mapped(self):
        sub = yaml.safe_load(SUBSET.read_text())
        names = subset_fields(sub["fields"])
        leaf = {k for k, m in self.fields.items() if "properties" not in m}
        for name in names:
            if name.endswith(".*"):
                self.assertTrue(any(k.startswith(name[:-1]) for k in leaf),
                                name)
            else:
                self.assertIn(name.replace("base.", ""), leaf)
        ecs = {k for k in leaf if not k.startswith(("ocspgate.",
                                                     "data_stream."))}
        self.assertEqual(ecs, {n.replace("base.", "") for n in names
                               if not n.endswith(".*")})

    def test_every_request_flag_is_a_mapped_boolean(self):
        """The flags the binary knows (its own table, and the harness's
        list) each have a boolean under ocspgate.flags."""
        src = OCSP_REQUEST_C.read_text()
        m = re.search(r"ocsp_flag_names\[[^]]*\]\s*=\s*\{(.*?)\};", src,
                      re.S)
        self.assertIsNotNone(m, "the flag name table of ocsp_request.c")
        names = set(re.findall(r'"([a-z0-9_]+)"', m.group(1)))
        self.assertEqual(names, KNOWN_FLAGS)
        for flag in names:
            self.assertEqual(
                mapped_type(self.fields.get("ocspgate.flags." + flag, {})),
                "boolean", flag)

    def test_contract_examples_fit(self):
        examples = contract_examples()
        self.assertEqual([get(e, "event.kind") for e in examples],
                         ["event", "alert", "metric"])
        for ev in examples:
            with self.subTest(kind=get(ev, "event.kind")):
                self.assertEqual(ecs_check.check(self.schema, ev), [])

    def test_sigma_fields_are_mapped(self):
        """Every field a Sigma rule selects on or lists is one the
        template maps: a SIEM has it indexed."""
        for path in sorted(SIGMA_DIR.glob("*.yml")):
            rule = yaml.safe_load(path.read_text())
            fields = set(sigma_check.detection_fields(rule["detection"]))
            fields |= set(rule.get("fields") or [])
            for field in sorted(fields):
                with self.subTest(rule=path.name, field=field):
                    # ocspgate.asset's columns: its dynamic template
                    self.assertIsNotNone(self.schema.mapping(field, "x"),
                                         field)


class CheckerTests(unittest.TestCase):
    """ecs_check.py against the contract's example request event, made
    bad one way at a time."""

    @classmethod
    def setUpClass(cls):
        cls.schema = ecs_check.schema()
        cls.good = contract_examples()[0]

    def mutate(self, path, value):
        ev = copy.deepcopy(self.good)
        *parents, last = path.split(".")
        cur = ev
        for p in parents:
            cur = cur.setdefault(p, {})
        if value is DELETE:
            del cur[last]
        else:
            cur[last] = value
        return ev

    def test_the_example_fits(self):
        self.assertEqual(ecs_check.check(self.schema, self.good), [])

    def test_defects_are_found(self):
        rows = [
            ("a custom field at the top level", "ocsp",
             {"request": {"nonce": True}}, "ocsp: not mapped"),
            ("an unmapped field under ocspgate", "ocspgate.serial", "0A",
             "ocspgate.serial: not mapped"),
            ("a port as a string", "destination.port", "80",
             "not an integer"),
            ("a duration over a long", "event.duration", 2 ** 64 - 1,
             "out of a long's range"),
            ("a boolean as a string", "ocspgate.enforced", "true",
             "not a boolean"),
            ("a method as a number", "http.request.method", 1,
             "not a string"),
            ("a date people write", "ocspgate.ocsp.response.produced_at",
             "26/11/2026", "not a date"),
            ("a name as an address", "source.ip", "dc01.corp.example",
             "not an IP address"),
            ("an object for a keyword", "url.original", {"full": "x"},
             "an object where the template maps wildcard"),
            ("a keyword for an object", "ocspgate.ocsp", "x",
             "where the template maps an object"),
            ("a null", "user_agent.original", None, "null"),
            ("no ecs.version", "ecs", DELETE, "ecs.version: missing"),
            ("a category not in an array", "event.category", "network",
             "ECS normalizes it to an array"),
            ("two source addresses", "source.ip", ["10.0.0.5", "10.0.0.6"],
             "an array, which ECS does not normalize it to"),
            ("an array in an array", "related.ip", [["10.0.0.5"]],
             "an array inside an array"),
            ("a kind ECS does not know", "event.kind", "request",
             "event.kind: 'request' is not an ECS allowed value"),
            ("a type of another category", "event.type",
             ["indicator"], "not one ECS expects of event.category"),
            ("an outcome ECS does not know", "event.outcome", "blocked",
             "event.outcome: 'blocked' is not an ECS allowed value"),
            ("protocol without network.protocol", "network.protocol",
             DELETE, "event.type protocol without network.protocol"),
            ("a lowercase serial", "file.x509.serial_number", "c0ffee42",
             "not uppercase hex"),
            ("an inventory tag as a number", "ocspgate.asset.rack", 12,
             "ocspgate.asset.rack: not mapped"),
        ]
        for name, path, value, want in rows:
            with self.subTest(defect=name):
                problems = ecs_check.check(self.schema,
                                           self.mutate(path, value))
                self.assertTrue(any(want in p for p in problems),
                                "%r not in %r" % (want, problems))

    def test_metric_without_outcome(self):
        ev = contract_examples()[2]
        self.assertEqual(ecs_check.check(self.schema, ev), [])
        ev["event"]["outcome"] = "success"
        self.assertIn("event.outcome with event.type info or on a metric",
                      ecs_check.check(self.schema, ev))

    def test_inventory_tags_are_keywords(self):
        """ocspgate.asset's columns are the operator's: any name, as a
        keyword (the template's dynamic template for them)."""
        ev = self.mutate("ocspgate.asset", {"host": "dc01",
                                            "role": "domain-controller",
                                            "site-code": "par"})
        self.assertEqual(ecs_check.check(self.schema, ev), [])


DELETE = object()


class EveryKindTests(ProxyTestCase):
    """One real binary per setting, every kind of line it writes."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.fx = Fixtures.get(cls.env)
        d = Path(tempfile.mkdtemp(prefix="ecs-", dir=cls.env.dir))
        cls.nginx = Nginx(cls.fx.www, d / "nginx")
        cls.addClassCleanup(cls.nginx.stop)
        cls.hosts = d / "hosts"
        write_hosts_file(cls.hosts, HOSTS_NAMES + FETCH_HOSTS + [
            "down.ca.test", "new.ca.test", "unauth.ca.test", "beat.ca.test"])

    def base_config(self, **kw):
        kw.setdefault("hosts_file", str(self.hosts))
        return super().base_config(**kw)

    def send(self, port, data, host="127.0.0.1"):
        with Client(port, host) as c:
            c.send(data)
            return c.read_response(timeout=10)

    def wait_lines(self, proxy, predicate, what, timeout=10):
        deadline = time.monotonic() + scaled(timeout)
        while time.monotonic() < deadline:
            got = [e for e in proxy.events(kind=None) if predicate(e)]
            if got:
                return got
            time.sleep(0.05)
        self.fail("no %s line within %ss" % (what, timeout))

    def requests_gate(self, seen):
        """Enforce mode: allowed, refused and failed requests, each fetch
        class, a cache hit, a PROXY header, a truncated line, metrics."""
        n, down = self.nginx.port, free_port()
        pp = {"address": "127.0.0.1:0", "proxy_protocol": True,
              "proxy_protocol_from": ["127.0.0.1/32"]}
        proxy = self.start_proxy(
            listen=("127.0.0.1:0", pp),
            responders=[self.resp_spec(), "down.ca.test:%d" % down],
            crl_hosts=["crl.ca.test:%d" % n],
            ca_issuer_hosts=["aia.ca.test:%d" % n],
            ctl_hosts=["ctldl.ca.test:%d" % n],
            cache_size=1 << 20, event_log_max_line=2048, metric_interval=1)
        port, pp_port = proxy.address_port(0), proxy.address_port(1)
        der = ocsp_request_der([self.pki.cert_id("good")])
        ocsp = ocsp_post("http://%s/" % self.resp_spec(), der)
        for _ in range(2):  # the second from the cache
            self.assertEqual(self.send(port, ocsp).status, 200)
        self.assertEqual(self.send(port, http_request(
            "GET", "http://other.test/c2/checkin")).status, 403)
        self.assertEqual(self.send(port, ocsp_post(
            "http://down.ca.test:%d/" % down, der)).status, 502)
        for url in ("http://crl.ca.test:%d/crl/ca.crl" % n,
                    "http://aia.ca.test:%d/aia/sub.crt" % n,
                    "http://ctldl.ca.test:%d%sauthrootstl.cab" % (n, CTL_DIR)):
            self.assertEqual(self.send(port, http_request("GET", url)).status,
                             200, url)
        self.assertEqual(self.send(port, http_request(
            "GET", "http://other.test/" + "x" * 3000)).status, 403)
        # A balancer's PROXY header names the client; no header: closed.
        self.assertEqual(self.send(
            pp_port, b"PROXY TCP4 192.0.2.7 127.0.0.1 40000 3128\r\n"
            + ocsp).status, 200)
        with Client(pp_port) as c:
            c.send(ocsp)
            self.assertTrue(c.wait_closed(scaled(5)))
        self.wait_lines(proxy, lambda e: get(e, "event.kind") == "metric",
                        "metric")
        evs = proxy.wait_events(10)
        for ev in proxy.events(kind=None):
            seen.append(("requests", ev))
        return evs

    def monitor_gate(self, seen):
        """Monitor mode: an unlisted responder's request, a candidate
        whose answer is judged."""
        proxy = self.start_proxy(mode="monitor", responders=[])
        url = "http://new.ca.test:%d/" % self.resp.port
        der = ocsp_request_der([self.pki.cert_id("good")])
        self.assertEqual(self.send(proxy.port, ocsp_post(url, der)).status,
                         200)
        proxy.wait_events(1)
        for ev in proxy.events(kind=None):
            seen.append(("monitor", ev))

    def alerts_gate(self, seen):
        """Each alert, at thresholds low enough to reach in a few
        requests."""
        unauth = self.upstream(body=UNAUTHORIZED)
        beat = self.upstream()
        spec = self.resp_spec()
        proxy = self.start_proxy(
            responders=[spec, "unauth.ca.test:%d" % unauth.port,
                        "beat.ca.test:%d" % beat.port],
            alert_rate_per_source=6, alert_rate_per_pair=0,
            novelty_window=3600, novelty_learning=0, alert_early_requery=2,
            alert_serial_fanout=3, alert_unknown_certificates=2,
            alert_unauthorized_answers=2, alert_ua_mismatch=2,
            alert_periodic_min=3)
        port = proxy.port
        good = self.pki.cert_id("good")
        rng = random.Random(7)
        # early_requery: an answer, then two requests long before its
        # nextUpdate's midpoint.
        for _ in range(3):
            self.send(port, ocsp_post("http://%s/" % spec,
                                      ocsp_request_der([good])))
        # unknown_certificates and serial_fanout: serials never issued.
        for _ in range(2):
            cid = CertID.of(self.pki.ca_info, rng.getrandbits(64) | 1 << 64)
            self.send(port, ocsp_post("http://%s/" % spec,
                                      ocsp_request_der([cid])))
        # unauthorized_answers: two certificate IDs the upstream refuses.
        for i in range(2):
            cid = CertID.of(self.pki.ca_info, 1000 + i)
            self.send(port, ocsp_post("http://unauth.ca.test:%d/"
                                      % unauth.port, ocsp_request_der([cid])))
        # ua_mismatch: CryptoAPI's User-Agent on curl's field order.
        for _ in range(2):
            self.send(port, http_request(
                "GET", "http://other.test/", headers=[
                    ("User-Agent", "Microsoft-CryptoAPI/10.0"),
                    ("Accept", "*/*")]))
        # periodic: one request a second to one host.
        for i in range(5):
            if i:
                time.sleep(1.1)
            self.send(port, ocsp_post("http://beat.ca.test:%d/" % beat.port,
                                      ocsp_request_der([good])))
        reasons = {"rate_anomaly", "new_destination", "early_requery",
                   "serial_fanout", "periodic", "unknown_certificates",
                   "unauthorized_answers", "ua_mismatch"}
        deadline = time.monotonic() + scaled(5)
        got = set()
        while time.monotonic() < deadline and got != reasons:
            got = {get(e, "event.reason") for e in proxy.events(kind="alert")}
            time.sleep(0.05)
        self.assertEqual(got, reasons)
        for ev in proxy.events(kind=None):
            seen.append(("alerts", ev))

    def test_every_kind(self):
        seen = []
        self.requests_gate(seen)
        self.monitor_gate(seen)
        self.alerts_gate(seen)
        kinds = {
            "allowed": lambda e: get(e, "event.reason") == "ocsp_request",
            "refused": lambda e: get(e, "event.type") == [
                "denied", "connection", "protocol"],
            "failed": lambda e: get(e, "event.outcome") == "failure",
            "crl": lambda e: get(e, "ocspgate.crl") is not None,
            "ca_issuer": lambda e: get(e, "file.x509") is not None,
            "ctl": lambda e: get(e, "ocspgate.ctl.format") == "cab",
            "cache hit": lambda e: get(e, "ocspgate.cache") == "hit",
            "candidate": lambda e: get(
                e, "ocspgate.candidate_answer") == "valid",
            "PROXY header": lambda e: get(e, "source.ip") == "192.0.2.7",
            "PROXY refused": lambda e: get(
                e, "event.reason") == "proxy_protocol_invalid",
            "truncated": lambda e: get(e, "ocspgate.truncated") is True,
            "metric": lambda e: get(e, "event.kind") == "metric",
        }
        for reason in ("rate_anomaly", "new_destination", "early_requery",
                       "serial_fanout", "periodic", "unknown_certificates",
                       "unauthorized_answers", "ua_mismatch"):
            kinds["alert " + reason] = (
                lambda e, r=reason: get(e, "event.kind") == "alert"
                and get(e, "event.reason") == r)
        schema = ecs_check.schema()
        for name, match in kinds.items():
            with self.subTest(kind=name):
                lines = [ev for _, ev in seen if match(ev)]
                self.assertTrue(lines, "no %s line" % name)
                for ev in lines:
                    self.assertEqual(ecs_check.check(schema, ev), [],
                                     json.dumps(ev)[:1500])
        # Every line of every gate, whatever its kind.
        for gate, ev in seen:
            self.assertEqual(ecs_check.check(schema, ev), [],
                             "%s: %s" % (gate, json.dumps(ev)[:1500]))
        # What a few of them say, as ECS categorizes it.
        by = {name: [ev for _, ev in seen if match(ev)]
              for name, match in kinds.items()}
        self.assertEqual(get(by["PROXY refused"][0], "event.type"),
                         ["denied", "connection"])
        self.assertIsNone(get(by["PROXY refused"][0], "network.protocol"))
        cand = by["candidate"][0]
        self.assertEqual((get(cand, "event.action"), get(cand, "event.type"),
                          get(cand, "event.outcome")),
                         ("block", ["allowed", "connection", "protocol"],
                          "success"))
        self.assertRegex(get(by["ca_issuer"][0], "file.x509.serial_number"),
                         r"^[0-9A-F]+$")
        for name in kinds:
            if name.startswith("alert "):
                self.assertEqual(get(by[name][0], "event.type"), ["info"])


class TransparentKindTests(test_transparent.TransparentTestCase):
    """An intercepted request (the redirect recipe, on a router made of
    network namespaces): its event fits, with the original destination
    among the related addresses."""

    def test_intercepted_event_fits(self):
        self.load_redirect()
        gate = self.start_gate(test_transparent.LISTEN_REDIRECT)
        self.assert_good("cli", "http://%s/" % test_transparent.SRV4)
        ev = self.one_event(gate, ocspgate__interception="transparent")
        self.assertEqual(ecs_check.check(ecs_check.schema(), ev), [],
                         json.dumps(ev)[:1500])
        self.assertIn(test_transparent.SRV4, get(ev, "related.ip"))
        self.assertIn(test_transparent.CLI4, get(ev, "related.ip"))


if __name__ == "__main__":
    unittest.main()
