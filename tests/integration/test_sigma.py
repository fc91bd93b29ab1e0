"""The Sigma rules of docs/soc/sigma/ as a current Sigma toolchain sees
them, and as a SOC's backends match them.

- sigma_check.py (the Sigma specification and pySigma's validators,
  sources cited there) finds nothing wrong in any rule, and finds each defect
  it is meant to find in a rule made bad on purpose.
- Real events from the binary (real `openssl ocsp` client and responder,
  raw requests) are matched by the rules with ES|QL's semantics, where a
  multi-valued field in a comparison is null: each rule that should fire
  does, a clean request fires none, and no rule tests a field that is an
  array in the events or in the contract's example event.
"""

import datetime
import json
import pathlib
import re
import unittest

import yaml

import sigma_check
from ocspgate_harness import (
    Client, ProxyTestCase, der, get, http_request, ocsp_post,
    ocsp_request_der, openssl_ocsp_client)
from test_soc_docs import contract_text

REPO = pathlib.Path(__file__).resolve().parents[2]
SIGMA_DIR = REPO / "docs" / "soc" / "sigma"
ESQL_MV = ("https://www.elastic.co/docs/reference/query-languages/esql/"
           "esql-multivalued-fields")


def rule_files():
    return sorted(SIGMA_DIR.glob("*.yml"))


def load_rule(path):
    return yaml.safe_load(path.read_text(encoding="utf-8"))


# A rule with every attribute right, which the defect table below breaks
# one way at a time.
GOOD = """\
title: Example Rule for the Checker
id: 0e8b7d5e-3c1a-4f7b-9a52-6c4d2e1f0a9b
status: experimental
description: >-
    A rule that the checker must accept as it is.
references:
    - https://www.rfc-editor.org/rfc/rfc6960
author: ocspgate
date: 2026-11-26
modified: 2026-12-01
tags:
    - attack.command-and-control
    - attack.t1071.001
logsource:
    product: ocspgate
detection:
    selection:
        event.reason:
            - 'not_ocsp'
            - 'ocsp_malformed'
    filter:
        ocspgate.enforced: false
    condition: selection and not filter
fields:
    - source.ip
falsepositives:
    - 'Probes'
level: high
"""

# (what is wrong, text to replace in GOOD, replacement, finding expected)
DEFECTS = [
    ("tactic with underscores", "attack.command-and-control",
     "attack.command_and_control", "(attack_tag)"),
    ("technique without its tactic", "    - attack.t1071.001\n",
     "    - attack.t1071.001\n    - attack.t1557\n",
     "attack.t1557 belongs to attack.collection"),
    ("technique of another tactic only", "attack.command-and-control",
     "attack.exfiltration", "belongs to attack.command-and-control"),
    ("unknown technique", "attack.t1071.001", "attack.t9999",
     "(attack_tag)"),
    ("upper-case tag", "attack.t1071.001", "attack.T1071.001",
     "(tag_format)"),
    ("unknown tag namespace", "attack.t1071.001", "mitre.t1071.001",
     "(namespace_tag)"),
    ("relative reference", "https://www.rfc-editor.org/rfc/rfc6960",
     "../README.md", "not an absolute http(s) URL"),
    ("ATT&CK link as reference", "https://www.rfc-editor.org/rfc/rfc6960",
     "https://attack.mitre.org/techniques/T1071/001/",
     "(sigmahq_mitre_link)"),
    ("GitHub branch link", "https://www.rfc-editor.org/rfc/rfc6960",
     "https://github.com/SigmaHQ/sigma/blob/master/README.md",
     "(sigmahq_github_link)"),
    ("no date", "date: 2026-11-26\nmodified: 2026-12-01\n", "",
     "(sigmahq_date_existence)"),
    ("bad date", "date: 2026-11-26", "date: 2026-13-01", "not YYYY-MM-DD"),
    ("slashed date", "date: 2026-11-26", "date: 2026/11/26",
     "not YYYY-MM-DD"),
    ("modified before date", "modified: 2026-12-01",
     "modified: 2026-11-01", "(sigmahq_modified_date_order)"),
    ("modified equal to date", "modified: 2026-12-01",
     "modified: 2026-11-26", "(sigmahq_redundant_modified)"),
    ("no status", "status: experimental\n", "",
     "(sigmahq_status_existence)"),
    ("unknown status", "status: experimental", "status: beta",
     "not one of"),
    ("deprecated status", "status: experimental", "status: deprecated",
     "(sigmahq_status)"),
    ("no level", "level: high\n", "", "(sigmahq_level_existence)"),
    ("unknown level", "level: high", "level: severe", "not one of"),
    ("no id", "id: 0e8b7d5e-3c1a-4f7b-9a52-6c4d2e1f0a9b\n", "",
     "(identifier_existence)"),
    ("id not a UUID", "id: 0e8b7d5e-3c1a-4f7b-9a52-6c4d2e1f0a9b",
     "id: rule-1", "not a UUID"),
    ("id not version 4", "id: 0e8b7d5e-3c1a-4f7b-9a52-6c4d2e1f0a9b",
     "id: 0e8b7d5e-3c1a-1f7b-9a52-6c4d2e1f0a9b", "version 4"),
    ("lowercase title", "title: Example Rule for the Checker",
     "title: example rule for the checker", "(sigmahq_title_case)"),
    ("title with a dot", "title: Example Rule for the Checker",
     "title: Example Rule for the Checker.", "(sigmahq_title_end)"),
    ("title starting with Detects", "title: Example Rule for the Checker",
     "title: Detects Example Rule", "(sigmahq_title_start)"),
    ("no description", "description: >-\n    A rule that the checker "
     "must accept as it is.\n", "", "(sigmahq_description_existence)"),
    ("custom attribute", "author: ocspgate\n",
     "author: ocspgate\nreference: x\n", "(sigmahq_unknown_field)"),
    ("upper-case key", "author: ocspgate", "Author: ocspgate",
     "not lowercase"),
    ("duplicate key", "author: ocspgate\n",
     "author: ocspgate\nauthor: other\n", "duplicate key"),
    ("no logsource", "logsource:\n    product: ocspgate\n", "",
     "logsource: missing"),
    ("logsource custom key", "    product: ocspgate\n",
     "    product: ocspgate\n    index: logs\n", "(fieldname_logsource)"),
    ("logsource in capitals", "product: ocspgate", "product: OCSPGate",
     "not lowercase"),
    ("logsource category without product", "    product: ocspgate\n",
     "    definition: 'x'\n", "no category, product or service"),
    ("unused search identifier", "condition: selection and not filter",
     "condition: selection", "(dangling_detection)"),
    ("condition names nothing", "condition: selection and not filter",
     "condition: selection and not filter and extra",
     "(dangling_condition)"),
    ("pattern matching nothing", "condition: selection and not filter",
     "condition: 1 of sel_* and not filter", "(dangling_condition)"),
    ("all of them", "condition: selection and not filter",
     "condition: all of them", "(all_of_them_condition)"),
    ("unbalanced condition", "condition: selection and not filter",
     "condition: (selection and not filter", "parentheses"),
    ("operator at the end", "condition: selection and not filter",
     "condition: selection and", "ends too early"),
    ("no condition", "    condition: selection and not filter\n", "",
     "detection.condition: missing"),
    ("unknown modifier", "        event.reason:\n",
     "        event.reason|contians:\n", "unknown modifier"),
    ("all without contains", "        event.reason:\n",
     "        event.reason|all:\n", "(all_without_contains_modifier)"),
    ("modifier twice", "        event.reason:\n",
     "        event.reason|contains|contains:\n",
     "(modifier_applied_multiple)"),
    ("space in a field name", "        event.reason:\n",
     "        event reason:\n", "(sigmahq_space_field_name)"),
    ("wildcards instead of contains",
     "'not_ocsp'\n            - 'ocsp_malformed'", "'*not_ocsp*'",
     "instead of |contains"),
    ("wildcard instead of endswith",
     "'not_ocsp'\n            - 'ocsp_malformed'", "'*ocsp'",
     "instead of |endswith"),
    ("number as a string", "'not_ocsp'", "'80'", "(number_as_string)"),
    ("double wildcard", "'not_ocsp'", "'not**ocsp'", "(double_wildcard)"),
    ("null in a list", "'not_ocsp'", "null", "null inside a list"),
    ("lowercase false positive", "'Probes'", "'probes'",
     "(sigmahq_falsepositives_capital)"),
    ("banned false positive", "'Probes'", "'None'",
     "(sigmahq_falsepositives_banned_word)"),
    ("duplicate tag", "    - attack.t1071.001\n",
     "    - attack.t1071.001\n    - attack.t1071.001\n", "duplicate"),
    ("tab", "    product: ocspgate", "\tproduct: ocspgate", "tab"),
    ("CRLF", "level: high\n", "level: high\r\n", "CR in the file"),
]


class CheckerTests(unittest.TestCase):

    TODAY = datetime.date(2026, 12, 7)

    def test_the_good_rule_has_no_finding(self):
        self.assertEqual(sigma_check.check_text(
            "ocspgate_example_rule.yml", GOOD, self.TODAY), [])

    def test_each_defect_is_found(self):
        """The checker is not a rubber stamp: each defect of the table,
        made in an otherwise good rule, is reported."""
        for what, old, new, expected in DEFECTS:
            with self.subTest(what):
                self.assertIn(old, GOOD)
                findings = sigma_check.check_text(
                    "ocspgate_example_rule.yml", GOOD.replace(old, new, 1),
                    self.TODAY)
                self.assertTrue(any(expected in i for i in findings),
                                "%r not in %s" % (expected, findings))

    def test_file_names(self):
        for name in ("Example.yml", "a.yml", "rule-1.yml",
                     "ocspgate_example.yaml", "x" * 68 + ".yml"):
            with self.subTest(name):
                self.assertTrue(any("file name" in i for i in
                                    sigma_check.check_text(name, GOOD,
                                                           self.TODAY)))

    def test_future_date(self):
        findings = sigma_check.check_text(
            "ocspgate_example_rule.yml", GOOD, datetime.date(2026, 11, 1))
        self.assertTrue(any("in the future" in i for i in findings), findings)

    def test_collection_ids_and_titles(self):
        rule = yaml.safe_load(GOOD)
        findings = sigma_check.check_collection(
            [("a.yml", rule), ("b.yml", dict(rule))])
        self.assertTrue(any("identifier_collision" in i for i in findings))
        self.assertTrue(any("duplicate_title" in i for i in findings))

    def test_condition_grammar(self):
        """[spec] Condition: operators, brackets, 1/all of, precedence."""
        p = sigma_check.parse_condition
        self.assertEqual(p("a or b and not c"),
                         ("or", ("id", "a"),
                          ("and", ("id", "b"), ("not", ("id", "c")))))
        self.assertEqual(p("(a or b) and 1 of sel_*"),
                         ("and", ("or", ("id", "a"), ("id", "b")),
                          ("of", "1", "sel_*")))
        self.assertEqual(p("all of them"), ("of", "all", "them"))
        for bad in ("", "a b", "and a", "1 of", "a or (b", "a )"):
            with self.subTest(bad=bad):
                with self.assertRaises(sigma_check.ConditionError):
                    p(bad)


class RuleTests(unittest.TestCase):

    def test_every_rule_passes_the_checker(self):
        """Nothing wrong in any rule, alone or together (ids, titles)."""
        files = rule_files()
        self.assertGreaterEqual(len(files), 14)
        parsed = []
        for path in files:
            with self.subTest(rule=path.name):
                text = path.read_text(encoding="utf-8")
                self.assertEqual(sigma_check.check_text(path.name, text), [])
                parsed.append((path.name, load_rule(path)))
        self.assertEqual(sigma_check.check_collection(parsed), [])

    def test_every_rule_has_an_attack_technique(self):
        """Each rule says what ATT&CK technique it detects, under its
        tactic (the checker verifies the pairing)."""
        for path in rule_files():
            with self.subTest(rule=path.name):
                tags = load_rule(path).get("tags") or []
                self.assertTrue(any(re.fullmatch(r"attack\.t\d{4}(\.\d{3})?",
                                                 t) for t in tags), tags)


# --------------------------------------------------------------------------
# Matching with ES|QL's semantics

def field_values(event, dotted):
    """The leaf values at a dotted path, arrays flattened, as an index
    stores them: [] when absent."""
    out = []

    def walk(node, parts):
        if isinstance(node, list):
            for n in node:
                walk(n, parts)
            return
        if not parts:
            out.append(node)
            return
        if isinstance(node, dict) and parts[0] in node:
            walk(node[parts[0]], parts[1:])

    walk(event, dotted.split("."))
    return out


def array_paths(value, prefix=""):
    """Dotted paths at or below which the value holds an array."""
    out = set()
    if isinstance(value, dict):
        for k, v in value.items():
            out |= array_paths(v, prefix + k + ".")
    elif isinstance(value, list):
        out.add(prefix[:-1])
        for v in value:
            out |= array_paths(v, prefix)
    return out


def _value_matches(rule_value, v, mods):
    if isinstance(rule_value, bool) or isinstance(v, bool):
        return rule_value is v
    if isinstance(rule_value, (int, float)):
        return not isinstance(v, str) and v == rule_value
    s = str(v)
    pattern = str(rule_value)
    if "contains" in mods:
        pattern = "*" + pattern + "*"
    elif "startswith" in mods:
        pattern = pattern + "*"
    elif "endswith" in mods:
        pattern = "*" + pattern
    rx = "".join(".*" if c == "*" else "." if c == "?" else re.escape(c)
                 for c in pattern)
    return re.fullmatch(rx, s, re.I | re.S) is not None


def _or3(xs):
    xs = list(xs)
    if any(x is True for x in xs):
        return True
    return None if any(x is None for x in xs) else False


def _and3(xs):
    xs = list(xs)
    if any(x is False for x in xs):
        return False
    return None if any(x is None for x in xs) else True


def esql_item(event, field, mods, values):
    """One detection item as ES|QL evaluates its translation: a missing
    field is null, and so is a multi-valued one in a comparison."""
    if set(mods) - {"contains", "startswith", "endswith"} or \
            any(v is None for v in values):
        raise NotImplementedError("%s|%s" % (field, "|".join(mods)))
    got = field_values(event, field)
    if len(got) != 1:
        return None
    return _or3(_value_matches(v, got[0], mods) for v in values)


def esql_search(event, value):
    if isinstance(value, dict):
        maps = [value]
    elif all(isinstance(v, dict) for v in value):
        maps = value
    else:
        raise NotImplementedError("keyword search")
    results = []
    for m in maps:
        items = []
        for key, v in m.items():
            field, mods = sigma_check.split_key(key)
            items.append(esql_item(event, field, mods,
                                   v if isinstance(v, list) else [v]))
        results.append(_and3(items))
    return _or3(results)


def esql_matches(rule, event):
    """True when ES|QL's WHERE would keep the event (null drops it)."""
    det = rule["detection"]
    names = [n for n in det if n != "condition"]
    conds = det["condition"]
    conds = [conds] if isinstance(conds, str) else conds

    def ev(tree):
        kind = tree[0]
        if kind == "id":
            return esql_search(event, det[tree[1]])
        if kind == "of":
            got = [esql_search(event, det[n])
                   for n in sigma_check.resolve(tree[2], names)]
            return _or3(got) if tree[1] == "1" else _and3(got)
        if kind == "not":
            x = ev(tree[1])
            return None if x is None else not x
        sub = [ev(t) for t in tree[1:]]
        return _and3(sub) if kind == "and" else _or3(sub)

    return any(ev(sigma_check.parse_condition(c)) is True for c in conds)


def contract_array_paths():
    """Array fields of the contract's example event."""
    text = contract_text()
    m = re.search(r"^    \{\"@timestamp\".*?^(?=\S)", text,
                  re.MULTILINE | re.DOTALL)
    return array_paths(json.loads(m.group(0).replace("…", "x")))


class EsqlSemanticsTests(unittest.TestCase):
    """The evaluator itself, on hand-made events."""

    def test_multi_valued_is_null(self):
        rule = {"detection": {"s": {"f": "x"}, "condition": "s"}}
        self.assertTrue(esql_matches(rule, {"f": "x"}))
        self.assertTrue(esql_matches(rule, {"f": ["x"]}))
        self.assertFalse(esql_matches(rule, {"f": ["x", "y"]}))
        self.assertFalse(esql_matches(rule, {"g": "x"}))
        self.assertFalse(esql_matches(
            {"detection": {"s": {"f": "x"}, "condition": "not s"}},
            {"f": ["y", "z"]}), "not null is null")
        self.assertFalse(esql_matches(
            {"detection": {"s": {"a.b": "x"}, "condition": "s"}},
            {"a": [{"b": "x"}, {"b": "y"}]}))
        self.assertTrue(esql_matches(
            {"detection": {"s": [{"a": True}, {"b": True}],
                           "condition": "s"}}, {"b": True}))


class RealEventTests(ProxyTestCase):
    """The binary's own events against the rules."""

    def rules(self):
        return {p.name: load_rule(p) for p in rule_files()}

    def one_event(self, proxy, n, data, status):
        with Client(proxy.port, timeout=10) as c:
            c.send(data)
            r = c.read_response(timeout=10)
            self.assertEqual(r.status, status, r.raw[:300])
        return proxy.wait_events(n)[-1]

    def collect(self):
        """(name, event, rules that must fire) from real traffic."""
        spec = self.resp_spec()
        url = self.url()
        # A requestor name passes only where the config allows it.
        proxy = self.start_proxy(responders=[spec],
                                 allow_requestor_name=True)
        out = []
        # a clean request: no rule fires
        r = openssl_ocsp_client(self.pki, proxy.port, url, ("good",),
                                tmpdir=self.tmp, no_nonce=True)
        self.assertEqual(r.returncode, 0, r.stderr)
        out.append(("clean", proxy.wait_events(1)[-1], set()))
        # a revoked certificate asked together with a good one
        r = openssl_ocsp_client(self.pki, proxy.port, url,
                                ("good", "revoked"), tmpdir=self.tmp)
        self.assertEqual(r.statuses, {"good": "good", "revoked": "revoked"},
                         r.stdout)
        out.append(("revoked", proxy.wait_events(2)[-1],
                    {"ocspgate_revoked_certificate_seen.yml"}))
        # two certificates and a requestor name: two flags
        der_bytes = ocsp_request_der(
            [self.pki.cert_id("good"), self.pki.cert_id("good_hi")],
            requestor_name=der(0x82, b"client.test"))
        ev = self.one_event(proxy, 3, ocsp_post(url, der_bytes), 200)
        out.append(("flags", ev,
                    {"ocspgate_unusual_ocsp_request_shape.yml"}))
        # CONNECT
        ev = self.one_event(proxy, 4, b"CONNECT ocsp.ca.test:443 HTTP/1.1"
                            b"\r\nHost: ocsp.ca.test:443\r\n\r\n", 403)
        out.append(("connect", ev,
                    {"ocspgate_connect_tunnel_attempt.yml"}))
        # Content-Length with Transfer-Encoding
        body = b"0\r\n\r\n"
        ev = self.one_event(
            proxy, 5, b"POST " + url.encode() + b" HTTP/1.1\r\n"
            b"Host: ocsp.ca.test\r\n"
            b"Content-Type: application/ocsp-request\r\n"
            b"Content-Length: %d\r\nTransfer-Encoding: chunked\r\n\r\n"
            % len(body) + body, 400)
        out.append(("smuggling", ev,
                    {"ocspgate_http_smuggling_attempt.yml"}))
        # not OCSP, to the responder
        ev = self.one_event(proxy, 6, http_request("GET", url + "index.html"),
                            403)
        out.append(("not_ocsp", ev, {"ocspgate_not_ocsp_to_responder.yml"}))
        # monitor mode lets a block through (to a recording upstream:
        # the openssl responder is not for non-OCSP requests)
        rec = self.upstream()
        other = "ocsp.ca.test:%d" % rec.port
        mon = self.start_proxy(responders=[other], mode="monitor",
                               event_log=str(self.tmp / "monitor.jsonl"))
        ev = self.one_event(mon, 1, http_request(
            "GET", "http://%s/index.html" % other), 200)
        out.append(("monitor", ev, {"ocspgate_not_ocsp_to_responder.yml",
                                    "ocspgate_monitor_would_block.yml"}))
        return out

    def test_rules_match_the_real_events_in_esql(self):
        """Each rule that should fire on a real event does under ES|QL's
        semantics, and no other; the array fields of these events (two
        flags, two certificates) are where the old rules went blind."""
        rules = self.rules()
        events = self.collect()
        by_name = {name: ev for name, ev, _ in events}
        self.assertEqual(len(get(by_name["revoked"],
                                 "ocspgate.ocsp.response.certs")), 2)
        self.assertGreaterEqual(len(get(by_name["flags"],
                                        "ocspgate.ocsp.request.flags")), 2)
        for name, ev, expected in events:
            with self.subTest(event=name):
                fired = {r for r, rule in rules.items()
                         if esql_matches(rule, ev)}
                self.assertEqual(fired, expected, json.dumps(ev)[:1500])
        # what the array fields gave: null, so the old selections missed
        for field, value, name in (
                ("ocspgate.ocsp.response.certs.status", "revoked", "revoked"),
                ("ocspgate.ocsp.request.flags", "requestor_name", "flags")):
            self.assertIn(value, field_values(by_name[name], field))
            self.assertIsNone(esql_item(by_name[name], field, [], [value]))

    def test_no_rule_tests_an_array_field(self):
        """A detection field is never at or below a field that is an
        array in a real event or in the contract's example event."""
        arrays = contract_array_paths()
        self.assertIn("ocspgate.ocsp.response.certs", arrays)
        for _, ev, _ in self.collect():
            arrays |= array_paths(ev)
        self.assertIn("ocspgate.ocsp.request.flags", arrays)
        for name, rule in self.rules().items():
            for field in sigma_check.detection_fields(rule["detection"]):
                with self.subTest(rule=name, field=field):
                    self.assertFalse(
                        any(field == a or field.startswith(a + ".")
                            for a in arrays),
                        "%s is an array: ES|QL reads it as null (%s)"
                        % (field, ESQL_MV))


if __name__ == "__main__":
    unittest.main()
