"""The SOC documentation against the event contract.

docs/soc/README.md must explain every event.reason of docs/interface.md,
and every Sigma rule in docs/soc/sigma/ must be well formed and use only
field names the contract defines.
"""

import json
import pathlib
import re
import unittest
import uuid

REPO = pathlib.Path(__file__).resolve().parents[2]
CONTRACT = REPO / "docs" / "interface.md"
SOC_README = REPO / "docs" / "soc" / "README.md"
SIGMA_DIR = REPO / "docs" / "soc" / "sigma"

try:
    import yaml
except ImportError:  # PyYAML is optional: fall back to a line check
    yaml = None

REQUIRED_KEYS = ("title", "id", "status", "description", "logsource",
                 "detection", "level")
LEVELS = {"informational", "low", "medium", "high", "critical"}


def contract_text():
    return CONTRACT.read_text(encoding="utf-8")


def contract_reasons(text):
    """The codes listed in the contract's `event.reason` bullet."""
    m = re.search(r"^- `event\.reason`:(.*?)(?=^- |\Z)", text,
                  re.MULTILINE | re.DOTALL)
    if m is None:
        raise AssertionError("no `event.reason` bullet in interface.md")
    bullet = m.group(1)
    # every backticked lowercase identifier; the bullet names config
    # directives too (`proxy_protocol`, `upstream_mark`), so a token that
    # is a directive counts only where the replies table also gives it
    # as a reason, "(`upstream_timeout`)"
    words = re.findall(r"`([a-z][a-z0-9_]*)`", bullet)
    directives = set(re.findall(r"^\s*([a-z_]+)\s*=", text, re.MULTILINE))
    return sorted({w for w in words
                   if w not in directives or "(`%s`)" % w in text})


def example_event_paths(text):
    """Dotted paths of the contract's example event."""
    m = re.search(r"^    \{\"@timestamp\".*?^(?=\S)", text,
                  re.MULTILINE | re.DOTALL)
    if m is None:
        raise AssertionError("no example event in interface.md")
    raw = m.group(0).replace("…", "x")
    event = json.loads(raw)
    paths = set()

    def walk(prefix, value):
        if isinstance(value, dict):
            for k, v in value.items():
                walk(prefix + (k,), v)
        elif isinstance(value, list):
            for v in value:
                walk(prefix, v)
        if prefix:
            paths.add(".".join(prefix))

    walk((), event)
    return paths


def field_known(field, text, backticked, example_paths):
    """True when the contract defines the dotted field name.

    Accepted: the name itself in the contract's text, a path of the
    example event, or a documented object (`ocspgate.ocsp.response`,
    `ocspgate.asset`, ...) followed by members the contract names in
    backticks (`certs`, `status`, `role`).
    """
    if field in example_paths:
        return True
    if re.search(r"(?<![\w.])" + re.escape(field) + r"(?![\w])", text):
        return True
    parts = field.split(".")
    for i in range(len(parts) - 1, 0, -1):
        prefix = ".".join(parts[:i])
        if prefix in backticked or prefix in example_paths:
            if all(p in backticked for p in parts[i:]):
                return True
    return False


def sigma_files():
    return sorted(SIGMA_DIR.glob("*.yml"))


def detection_block(lines):
    """The lines of the top-level `detection:` block."""
    out, inside = [], False
    for line in lines:
        if re.match(r"^detection:\s*$", line):
            inside = True
            continue
        if inside:
            if line and not line[0].isspace() and not line.startswith("#"):
                break
            out.append(line)
    return out


def detection_fields_from_lines(lines):
    """Field names in a detection block, without a YAML parser.

    Search identifiers sit at the block's first indentation; their fields
    one level deeper, as `field:` or `- field:` (a list of maps).
    """
    fields = set()
    block = [l for l in detection_block(lines) if l.strip()]
    if not block:
        return fields
    top = min(len(l) - len(l.lstrip(" ")) for l in block)
    for line in block:
        m = re.match(r"^(\s+)(?:-\s+)?([A-Za-z_@][\w.@]*)(\|[\w|]+)?:", line)
        if m and len(m.group(1)) > top:
            fields.add(m.group(2))
    return fields


def detection_fields_from_yaml(detection):
    fields = set()

    def add_map(selection):
        for key in selection:
            fields.add(str(key).split("|")[0])

    for name, value in detection.items():
        if name == "condition":
            continue
        if isinstance(value, dict):
            add_map(value)
        elif isinstance(value, list):
            for item in value:
                if isinstance(item, dict):
                    add_map(item)
    return fields


class SocReadmeTests(unittest.TestCase):

    def test_every_reason_is_explained(self):
        text = contract_text()
        reasons = contract_reasons(text)
        self.assertGreaterEqual(len(reasons), 19, reasons)
        readme = SOC_README.read_text(encoding="utf-8")
        missing = [r for r in reasons if "`%s`" % r not in readme]
        self.assertEqual(missing, [], "reasons not in docs/soc/README.md")

    def test_every_reason_has_its_own_section(self):
        readme = SOC_README.read_text(encoding="utf-8")
        headings = " ".join(re.findall(r"^#{3,4} (.*)$", readme,
                                       re.MULTILINE))
        missing = [r for r in contract_reasons(contract_text())
                   if "`%s`" % r not in headings]
        self.assertEqual(missing, [], "reasons without a section")

    def test_no_machine_paths(self):
        for path in [SOC_README, *sigma_files()]:
            text = path.read_text(encoding="utf-8")
            self.assertNotRegex(text, r"/(work|home|root|tmp)/",
                                path.name)


class SigmaRuleTests(unittest.TestCase):

    def setUp(self):
        self.files = sigma_files()

    def test_at_least_eight_rules(self):
        self.assertGreaterEqual(len(self.files), 8)

    def test_rules_are_well_formed(self):
        ids = []
        for path in self.files:
            with self.subTest(rule=path.name):
                text = path.read_text(encoding="utf-8")
                lines = text.splitlines()
                if yaml is not None:
                    rule = yaml.safe_load(text)
                    self.assertIsInstance(rule, dict)
                    for key in REQUIRED_KEYS:
                        self.assertIn(key, rule)
                    self.assertEqual(rule["status"], "experimental")
                    self.assertEqual(rule["logsource"].get("product"),
                                     "ocspgate")
                    self.assertIsInstance(rule["detection"], dict)
                    self.assertIn("condition", rule["detection"])
                    self.assertIn(rule["level"], LEVELS)
                    rule_id = str(rule["id"])
                else:
                    for key in REQUIRED_KEYS:
                        self.assertTrue(
                            any(re.match(r"^%s:" % key, l) for l in lines),
                            "no %s line" % key)
                    self.assertTrue(
                        any(re.match(r"^\s+condition:\s*\S", l)
                            for l in detection_block(lines)),
                        "no condition in detection")
                    self.assertTrue(any(re.match(r"^\s+product: ocspgate$",
                                                 l) for l in lines))
                    level = [l.split(":", 1)[1].strip() for l in lines
                             if l.startswith("level:")][0]
                    self.assertIn(level, LEVELS)
                    rule_id = [l.split(":", 1)[1].strip() for l in lines
                               if l.startswith("id:")][0]
                self.assertEqual(str(uuid.UUID(rule_id)), rule_id.lower())
                ids.append(rule_id.lower())
        self.assertEqual(len(ids), len(set(ids)), "duplicate rule ids")

    def test_detection_fields_are_in_the_contract(self):
        text = contract_text()
        backticked = set()
        for token in re.findall(r"`([^`\s]+)`", text):
            backticked.add(token)
            backticked.update(token.split("."))
        example_paths = example_event_paths(text)
        for path in self.files:
            with self.subTest(rule=path.name):
                source = path.read_text(encoding="utf-8")
                fields = detection_fields_from_lines(source.splitlines())
                if yaml is not None:
                    rule = yaml.safe_load(source)
                    self.assertEqual(
                        fields,
                        detection_fields_from_yaml(rule["detection"]))
                    fields |= {str(f) for f in rule.get("fields") or []}
                self.assertTrue(fields, "no fields in detection")
                unknown = sorted(
                    f for f in fields
                    if not field_known(f, text, backticked, example_paths))
                self.assertEqual(unknown, [], "fields not in the contract")

    def test_fields_are_not_invented_without_yaml(self):
        # the line-based reading alone must also find the fields, so the
        # check holds on machines without PyYAML
        for path in self.files:
            with self.subTest(rule=path.name):
                lines = path.read_text(encoding="utf-8").splitlines()
                self.assertTrue(detection_fields_from_lines(lines))


if __name__ == "__main__":
    unittest.main()
