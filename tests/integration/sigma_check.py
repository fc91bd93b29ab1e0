"""A checker for Sigma rules: the rules of the Sigma specification and the
checks that pySigma's validators run, with the standard library and
PyYAML only (pySigma itself is not packaged for Debian).

    python3 sigma_check.py RULE.yml...     # prints findings, exit 1 if any

Sources; every check below names the one it follows:

[spec]   Sigma Rules Specification 2.1.0 (2025-08-02),
         https://github.com/SigmaHQ/sigma-specification/blob/ba9251aa834b11a70dbf80836b453dba99c5159e/specification/sigma-rules-specification.md
[schema] its JSON schema, json-schema/sigma-detection-rule-schema.json
         (same commit)
[tags]   specification/sigma-appendix-tags.md 2.1.0 (same commit)
[mods]   specification/sigma-appendix-modifiers.md (same commit) and
         pySigma's sigma/modifiers.py modifier_mapping
[core]   pySigma's validators, sigma/validators/core/*.py, and its rule
         parser, sigma/rule/base.py,
         https://github.com/SigmaHQ/pySigma/tree/0c15d53a905b4a20ccca126f8aa23785b59d95a9
[hq]     pySigma-validators-sigmaHQ, sigma/validators/sigmahq/*.py,
         https://github.com/SigmaHQ/pySigma-validators-sigmaHQ/tree/02718ec2cc2b8fc8149be3cfb9cec84678acd02e
[attack] MITRE ATT&CK Enterprise (v18), the tactics' short names and each
         technique's kill-chain phases,
         https://github.com/mitre/cti/tree/421deacb77191b38bdd1bf63268954e93da91365/enterprise-attack

The [hq] checks that only make sense inside SigmaHQ's own rule
repository are not applied, by design: sigmahq_logsource_unknown (its
list of log sources cannot know a product's own), sigmahq_fields_existence
(SigmaHQ dropped `fields` from its repository; the specification keeps
it), the file-name prefixes per log source and the folder tags of
SigmaHQ's repository.
"""

import datetime
import re
import sys
import uuid

import yaml

# --------------------------------------------------------------------------
# Reference data

# [attack] x-mitre-tactic short names.
ATTACK_TACTICS = {
    "reconnaissance", "resource-development", "initial-access", "execution",
    "persistence", "privilege-escalation", "defense-evasion",
    "credential-access", "discovery", "lateral-movement", "collection",
    "command-and-control", "exfiltration", "impact",
}

# [attack] techniques a rule here may use, with the tactics (kill-chain
# phases) ATT&CK files each under. A technique missing here is reported:
# add it with its tactics as ATT&CK lists them.
ATTACK_TECHNIQUES = {
    "t1001": {"command-and-control"},        # Data Obfuscation
    "t1001.001": {"command-and-control"},    # Junk Data
    "t1001.002": {"command-and-control"},    # Steganography
    "t1001.003": {"command-and-control"},    # Protocol or Service Impersonation
    "t1008": {"command-and-control"},        # Fallback Channels
    "t1020": {"exfiltration"},               # Automated Exfiltration
    "t1029": {"exfiltration"},               # Scheduled Transfer
    "t1030": {"exfiltration"},               # Data Transfer Size Limits
    "t1036": {"defense-evasion"},            # Masquerading
    "t1041": {"exfiltration"},               # Exfiltration Over C2 Channel
    "t1046": {"discovery"},                  # Network Service Discovery
    "t1048": {"exfiltration"},               # Exfiltration Over Alternative Protocol
    "t1048.003": {"exfiltration"},           # ... Unencrypted Non-C2 Protocol
    "t1071": {"command-and-control"},        # Application Layer Protocol
    "t1071.001": {"command-and-control"},    # Web Protocols
    "t1071.004": {"command-and-control"},    # DNS
    "t1090": {"command-and-control"},        # Proxy
    "t1090.001": {"command-and-control"},    # Internal Proxy
    "t1090.002": {"command-and-control"},    # External Proxy
    "t1090.003": {"command-and-control"},    # Multi-hop Proxy
    "t1090.004": {"command-and-control"},    # Domain Fronting
    "t1095": {"command-and-control"},        # Non-Application Layer Protocol
    "t1102": {"command-and-control"},        # Web Service
    "t1105": {"command-and-control"},        # Ingress Tool Transfer
    "t1132": {"command-and-control"},        # Data Encoding
    "t1132.001": {"command-and-control"},    # Standard Encoding
    "t1132.002": {"command-and-control"},    # Non-Standard Encoding
    "t1190": {"initial-access"},             # Exploit Public-Facing Application
    "t1205": {"defense-evasion", "persistence",
              "command-and-control"},        # Traffic Signaling
    "t1498": {"impact"},                     # Network Denial of Service
    "t1499": {"impact"},                     # Endpoint Denial of Service
    "t1553": {"defense-evasion"},            # Subvert Trust Controls
    "t1553.002": {"defense-evasion"},        # Code Signing
    "t1553.004": {"defense-evasion"},        # Install Root Certificate
    "t1557": {"credential-access", "collection"},  # Adversary-in-the-Middle
    "t1568": {"command-and-control"},        # Dynamic Resolution
    "t1568.002": {"command-and-control"},    # Domain Generation Algorithms
    "t1571": {"command-and-control"},        # Non-Standard Port
    "t1572": {"command-and-control"},        # Protocol Tunneling
    "t1573": {"command-and-control"},        # Encrypted Channel
    "t1587.003": {"resource-development"},   # Digital Certificates (develop)
    "t1588.004": {"resource-development"},   # Digital Certificates (obtain)
    "t1595": {"reconnaissance"},             # Active Scanning
    "t1599": {"defense-evasion"},            # Network Boundary Bridging
    "t1608.003": {"resource-development"},   # Install Digital Certificate
    "t1649": {"credential-access"},          # Steal or Forge Auth. Certificates
}

# [spec] File Structure: the attributes a rule may have.
KNOWN_KEYS = {
    "title", "id", "name", "related", "taxonomy", "status", "description",
    "license", "references", "author", "date", "modified", "logsource",
    "detection", "fields", "falsepositives", "level", "tags", "scope",
}
STATUSES = {"stable", "test", "experimental", "deprecated", "unsupported"}
LEVELS = {"informational", "low", "medium", "high", "critical"}
RELATED_TYPES = {"derived", "obsolete", "merged", "renamed", "similar"}
LOGSOURCE_KEYS = {"category", "product", "service", "definition"}
# [core] NamespaceTagValidator
TAG_NAMESPACES = {"attack", "car", "cve", "d3fend", "detection", "stp", "tlp"}
# [mods] modifier_mapping
MODIFIERS = {
    "all", "neq", "base64", "base64offset", "cased", "cidr", "contains",
    "day", "dotall", "endswith", "exists", "expand", "fieldref", "gt",
    "gte", "hour", "i", "ignorecase", "lt", "lte", "m", "minute", "month",
    "multiline", "re", "utf16", "utf16be", "s", "startswith", "week",
    "wide", "windash", "year",
}
# [hq] SigmahqTitleCaseValidator: words that may stay lowercase.
TITLE_SMALL_WORDS = {
    "a", "an", "and", "as", "at", "by", "for", "from", "in", "new", "of",
    "on", "or", "over", "the", "through", "to", "via", "with", "without",
}

DATE_RE = re.compile(r"^\d{4}-(0[1-9]|1[012])-(0[1-9]|[12][0-9]|3[01])$")
TAG_RE = re.compile(r"^[a-z0-9_-]+\.[a-z0-9._-]+$")
LOGSOURCE_VALUE_RE = re.compile(r"^[a-z0-9_.-]+$")
FILENAME_RE = re.compile(r"^[a-z0-9_]+\.yml$")
IDENT_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
URL_RE = re.compile(r"^https?://[A-Za-z0-9.-]+\.[A-Za-z]{2,}(:\d+)?(/\S*)?$")


# --------------------------------------------------------------------------
# Loading

class _Loader(yaml.SafeLoader):
    """[core] SigmaYAMLLoader: a key given twice is an error."""

    def construct_mapping(self, node, deep=False):
        seen = set()
        for k, _ in node.value:
            key = self.construct_object(k, deep=deep)
            if key in seen:
                raise yaml.constructor.ConstructorError(
                    None, None, "duplicate key %r" % (key,), k.start_mark)
            seen.add(key)
        return super().construct_mapping(node, deep)


# Dates stay strings, checked against YYYY-MM-DD below, rather than be
# turned into dates by YAML (which rejects 2026-13-01 with no context).
_Loader.yaml_implicit_resolvers = {
    k: [r for r in v if r[0] != "tag:yaml.org,2002:timestamp"]
    for k, v in yaml.SafeLoader.yaml_implicit_resolvers.items()}


def load(text):
    """The rule's data."""
    return yaml.load(text, Loader=_Loader)


# --------------------------------------------------------------------------
# Conditions

class ConditionError(Exception):
    pass


def _tokens(cond):
    out = []
    for tok in re.findall(r"\(|\)|[^\s()]+", cond):
        out.append(tok)
    return out


def parse_condition(cond):
    """[spec] Condition: the expression as a tree of tuples:
    ("id", name), ("of", "1"|"all", pattern|"them"), ("not", x),
    ("and", x, y), ("or", x, y). Raises ConditionError."""
    toks = _tokens(cond)
    pos = 0

    def peek():
        return toks[pos].lower() if pos < len(toks) else None

    def take():
        nonlocal pos
        if pos >= len(toks):
            raise ConditionError("condition ends too early: %r" % cond)
        pos += 1
        return toks[pos - 1]

    def parse_or():
        left = parse_and()
        while peek() == "or":
            take()
            left = ("or", left, parse_and())
        return left

    def parse_and():
        left = parse_not()
        while peek() == "and":
            take()
            left = ("and", left, parse_not())
        return left

    def parse_not():
        if peek() == "not":
            take()
            return ("not", parse_not())
        return parse_atom()

    def parse_atom():
        tok = take()
        low = tok.lower()
        if tok == "(":
            inner = parse_or()
            if peek() != ")":
                raise ConditionError("unbalanced parentheses: %r" % cond)
            take()
            return inner
        if low in ("1", "all") and peek() == "of":
            take()
            target = take()
            if not re.fullmatch(r"[A-Za-z0-9_*]+", target):
                raise ConditionError("bad 'of' target %r" % target)
            return ("of", low, target)
        if low in ("and", "or", "not", "of", ")"):
            raise ConditionError("unexpected %r in %r" % (tok, cond))
        if not IDENT_RE.match(tok):
            raise ConditionError("bad identifier %r" % tok)
        return ("id", tok)

    tree = parse_or()
    if pos != len(toks):
        raise ConditionError("trailing %r in %r" % (toks[pos], cond))
    return tree


def resolve(target, names):
    """Detection names a condition target stands for ('them': all but
    those starting with '_'; '*' matches any run of characters)."""
    if target == "them":
        return [n for n in names if not n.startswith("_")]
    rx = re.compile("^" + ".*".join(map(re.escape, target.split("*"))) +
                    "$")
    return [n for n in names if rx.match(n)]


def referenced(tree, names, unknown):
    """Names a condition tree uses; unresolvable targets go to unknown."""
    kind = tree[0]
    if kind == "id":
        if tree[1] not in names:
            unknown.add(tree[1])
            return set()
        return {tree[1]}
    if kind == "of":
        got = resolve(tree[2], names)
        if not got:
            unknown.add(tree[2])
        return set(got)
    out = set()
    for sub in tree[1:]:
        out |= referenced(sub, names, unknown)
    return out


# --------------------------------------------------------------------------
# Detection items

def split_key(key):
    """'field|mod1|mod2' -> (field or None for a keyword, [mods])."""
    parts = str(key).split("|")
    return (parts[0] or None), parts[1:]


def detection_items(detection):
    """(search identifier, field or None, modifiers, list of values) of
    every item; a list of plain values is one keyword item."""
    for name, value in detection.items():
        if name == "condition":
            continue
        maps = []
        if isinstance(value, dict):
            maps = [value]
        elif isinstance(value, list):
            if all(isinstance(v, dict) for v in value):
                maps = value
            else:
                yield name, None, [], value
                continue
        for m in maps:
            for key, v in m.items():
                field, mods = split_key(key)
                yield name, field, mods, (v if isinstance(v, list) else [v])


def detection_fields(detection):
    """Every field name the detection tests."""
    return {f for _, f, _, _ in detection_items(detection) if f}


def _string_findings(where, s):
    """[core] values.py checks of one string value."""
    out = []
    if any(ord(c) < 32 for c in s):
        out.append("%s: control character in %r (control_character)"
                   % (where, s))
    if "**" in s.replace("\\*", ""):
        out.append("%s: consecutive * wildcards in %r (double_wildcard)"
                   % (where, s))
    if re.fullmatch(r"\d+", s):
        out.append("%s: number %r written as a string (number_as_string)"
                   % (where, s))
    return out


def _wildcard_finding(where, mods, values):
    """[core] WildcardsInsteadOfModifiersValidator."""
    strs = [v for v in values if isinstance(v, str) and len(v) > 1]
    if not strs or len(strs) != len(values):
        return []
    inner = lambda v: re.search(r"(?<!\\)[*?]", v) is not None
    if all(v.startswith("*") and v.endswith("*") and not inner(v[1:-1])
           for v in strs) and "contains" not in mods:
        return ["%s: *value* instead of |contains "
                "(wildcards_instead_of_contains_modifier)" % where]
    if all(v.startswith("*") and not inner(v[1:]) for v in strs) and \
            "endswith" not in mods:
        return ["%s: *value instead of |endswith "
                "(wildcard_instead_of_endswith)" % where]
    if all(v.endswith("*") and not inner(v[:-1]) for v in strs) and \
            "startswith" not in mods:
        return ["%s: value* instead of |startswith "
                "(wildcard_instead_of_startswith)" % where]
    return []


def _detection_findings(rule):
    det = rule.get("detection")
    if not isinstance(det, dict):
        return ["detection: missing or not a map (schema)"]
    out = []
    names = [n for n in det if n != "condition"]
    if not names:
        out.append("detection: no search identifier")
    for n in names:
        if not IDENT_RE.match(str(n)):
            out.append("detection: bad search identifier %r" % n)
        v = det[n]
        if not isinstance(v, (dict, list)) or not v:
            out.append("detection.%s: not a non-empty map or list (schema)"
                       % n)
        elif isinstance(v, list) and any(isinstance(x, dict) for x in v) \
                and not all(isinstance(x, dict) for x in v):
            out.append("detection.%s: maps mixed with plain values" % n)
    for name, field, mods, values in detection_items(det):
        where = "detection.%s.%s" % (name, field or "|".join([""] + mods))
        if field is not None and " " in field:
            out.append("%s: space in field name (sigmahq_space_field_name)"
                       % where)
        for m in mods:
            if m not in MODIFIERS:
                out.append("%s: unknown modifier %r (mods)" % (where, m))
        if field is not None and "all" in mods and "contains" not in mods:
            out.append("%s: 'all' without 'contains' "
                       "(all_without_contains_modifier)" % where)
        if "base64offset" in mods and "contains" not in mods:
            out.append("%s: base64offset without contains" % where)
        if "windash" in mods and "all" in mods:
            out.append("%s: windash with all" % where)
        dup = {m for m in mods if mods.count(m) > 1 and m != "base64"}
        if dup:
            out.append("%s: modifier applied twice %s "
                       "(modifier_applied_multiple)" % (where, sorted(dup)))
        if None in values and len(values) > 1:
            out.append("%s: null inside a list of values (spec Special "
                       "Field Values)" % where)
        for v in values:
            if isinstance(v, (dict, list)):
                out.append("%s: nested value %r" % (where, v))
            elif isinstance(v, str):
                out.extend(_string_findings(where, v))
        if "re" not in mods:
            out.extend(_wildcard_finding(where, mods, values))
    conds = det.get("condition")
    if isinstance(conds, str):
        conds = [conds]
    if not isinstance(conds, list) or not conds or \
            not all(isinstance(c, str) and c.strip() for c in conds):
        out.append("detection.condition: missing or not a string (schema)")
        return out
    used, unknown = set(), set()
    for c in conds:
        try:
            tree = parse_condition(c)
        except ConditionError as e:
            out.append("detection.condition: %s" % e)
            continue
        used |= referenced(tree, names, unknown)
        if re.search(r"\ball\s+of\s+them\b", c, re.I):
            out.append("detection.condition: 'all of them' "
                       "(all_of_them_condition)")
        if re.search(r"\bthem\b", c, re.I) and len(names) == 1:
            out.append("detection.condition: 'them' with one search "
                       "identifier (them_condition_with_single_detection)")
    for u in sorted(unknown):
        out.append("detection.condition: %r names no search identifier "
                   "(dangling_condition)" % u)
    for n in sorted(set(names) - used):
        out.append("detection.%s: not used by the condition "
                   "(dangling_detection)" % n)
    return out


# --------------------------------------------------------------------------
# The whole rule

def _as_date(v):
    if isinstance(v, datetime.date) and not isinstance(v, datetime.datetime):
        return v
    if isinstance(v, str) and DATE_RE.match(v):
        try:
            return datetime.date.fromisoformat(v)
        except ValueError:
            return None
    return None


def _list_of_str(rule, key, out, min_len=1):
    v = rule.get(key)
    if v is None:
        return []
    if not isinstance(v, list) or not all(isinstance(x, str) for x in v):
        out.append("%s: not a list of strings (schema)" % key)
        return []
    if len(v) != len(set(v)):
        out.append("%s: duplicate entries (schema uniqueItems)" % key)
    for x in v:
        if len(x) < min_len:
            out.append("%s: %r too short (schema)" % (key, x))
    return v


def _tag_findings(tags):
    out = []
    tactics, techniques = set(), []
    for t in tags:
        if not TAG_RE.match(t):
            out.append("tags: %r has characters outside [a-z0-9_-] or no "
                       "namespace (tag_format)" % t)
            continue
        ns, name = t.split(".", 1)
        if ns not in TAG_NAMESPACES:
            out.append("tags: namespace of %r unknown (namespace_tag)" % t)
        elif ns == "attack":
            if re.fullmatch(r"t\d{4}(\.\d{3})?", name):
                if name not in ATTACK_TECHNIQUES:
                    out.append("tags: technique %r not in the ATT&CK "
                               "table of this checker (attack_tag)" % t)
                else:
                    techniques.append(name)
            elif re.fullmatch(r"[gs]\d{4}|ds\d{4}|m\d{4}|a\d{4}", name):
                pass
            elif name not in ATTACK_TACTICS:
                out.append("tags: %r is not an ATT&CK tactic; tactics "
                           "use hyphens, e.g. attack.command-and-control "
                           "(attack_tag)" % t)
            else:
                tactics.add(name)
        elif ns == "tlp" and name not in {"clear", "green", "amber",
                                          "amber-strict", "red", "white"}:
            out.append("tags: %r (tlp_tag)" % t)
        elif ns == "cve" and not re.fullmatch(r"\d+-\d+", name):
            out.append("tags: %r (cve_tag)" % t)
        elif ns == "car" and not re.fullmatch(r"\d{4}-\d{2}-\d{3}", name):
            out.append("tags: %r (car_tag)" % t)
        elif ns == "stp" and not re.fullmatch(r"[1-5][auk]?", name):
            out.append("tags: %r (stp_tag)" % t)
        elif ns == "detection" and name not in {
                "dfir", "emerging-threats", "threat-hunting"}:
            out.append("tags: %r (detection_tag)" % t)
    # [hq] SigmahqTagsTechniquesWithoutTacticsValidator: every tactic a
    # technique belongs to is tagged too.
    for tech in techniques:
        missing = ATTACK_TECHNIQUES[tech] - tactics
        for m in sorted(missing):
            out.append("tags: attack.%s belongs to attack.%s, which is not "
                       "tagged (sigmahq_tags_techniques_without_tactics)"
                       % (tech, m))
    return out


def check_text(filename, text, today=None):
    """Every finding on one rule file, as strings ([] when clean)."""
    today = today or datetime.date.today()
    out = []
    # [spec] Yaml File: file name, UTF-8, LF. (Its style advice, four
    # spaces of indentation and quoted strings, is followed by the rules
    # here but not enforced: no validator of the toolchain checks it.)
    if not FILENAME_RE.match(filename) or not 10 <= len(filename) <= 70:
        out.append("file name %r: 10 to 70 characters of [a-z0-9_] and "
                   ".yml (spec)" % filename)
    if "\r" in text:
        out.append("CR in the file: use LF line breaks (spec)")
    for i, line in enumerate(text.split("\n"), 1):
        if "\t" in line:
            out.append("line %d: tab (spec)" % i)
    try:
        rule = load(text)
    except yaml.YAMLError as e:
        return out + ["YAML: %s" % str(e).replace("\n", " ")]
    if not isinstance(rule, dict):
        return out + ["not a YAML map"]
    for k in rule:
        if not isinstance(k, str) or k != k.lower():
            out.append("key %r: not lowercase (spec)" % (k,))
        elif k not in KNOWN_KEYS:
            out.append("key %r: not a Sigma attribute "
                       "(sigmahq_unknown_field)" % k)

    title = rule.get("title")
    if not isinstance(title, str) or not title.strip():
        out.append("title: missing (schema)")
    else:
        if len(title) > 120:
            out.append("title: longer than 120 (sigmahq_title_length)")
        if title.startswith(("Detect ", "Detects ")):
            out.append("title: starts with Detect (sigmahq_title_start)")
        if title.endswith("."):
            out.append("title: ends with a dot (sigmahq_title_end)")
        for w in title.split(" "):
            if w.islower() and w not in TITLE_SMALL_WORDS and \
                    not any(c in w for c in "./_") and not w[0].isdigit():
                out.append("title: %r not capitalised "
                           "(sigmahq_title_case)" % w)

    rid = rule.get("id")
    if rid is None:
        out.append("id: missing (identifier_existence)")
    else:
        try:
            u = uuid.UUID(str(rid))
            if u.version != 4 or str(u) != str(rid).lower():
                out.append("id: not a version 4 UUID (spec Identification)")
        except ValueError:
            out.append("id: not a UUID (core)")
    for rel in rule.get("related") or []:
        if not isinstance(rel, dict) or rel.get("type") not in RELATED_TYPES:
            out.append("related: %r (schema)" % (rel,))

    status = rule.get("status")
    if status is None:
        out.append("status: missing (sigmahq_status_existence)")
    elif status not in STATUSES:
        out.append("status: %r not one of %s (schema)"
                   % (status, sorted(STATUSES)))
    elif status in ("deprecated", "unsupported"):
        out.append("status: %s (sigmahq_status)" % status)

    desc = rule.get("description")
    if not isinstance(desc, str):
        out.append("description: missing (sigmahq_description_existence)")
    else:
        if len(desc) < 16:
            out.append("description: too short (sigmahq_description_length)")
        if len(desc) > 65535:
            out.append("description: too long (schema)")
        if not rule.get("references") and re.search(
                r"https?://|internal research", desc, re.I):
            out.append("description: link without references "
                       "(sigmahq_link_in_description)")

    for ref in _list_of_str(rule, "references", out):
        if not URL_RE.match(ref):
            out.append("references: %r is not an absolute http(s) URL"
                       % ref)
        elif ref.startswith("https://attack.mitre.org/"):
            out.append("references: %r: use an attack tag "
                       "(sigmahq_mitre_link)" % ref)
        elif re.match(r"https://github.com/.*\.\w{1,3}$", ref) and \
                not re.match(r".*/[0-9a-z]{40}/.*", ref):
            out.append("references: %r: not a permalink "
                       "(sigmahq_github_link)" % ref)

    if rule.get("author") is not None and not isinstance(rule["author"],
                                                         str):
        out.append("author: not a string (core)")

    date = rule.get("date")
    d = _as_date(date)
    if date is None:
        out.append("date: missing (sigmahq_date_existence)")
    elif d is None:
        out.append("date: %r is not YYYY-MM-DD (spec Date)" % (date,))
    elif d > today:
        out.append("date: %s is in the future" % d)
    if "modified" in rule:
        m = _as_date(rule["modified"])
        if m is None:
            out.append("modified: %r is not YYYY-MM-DD (spec Modified)"
                       % (rule["modified"],))
        elif d is not None and m < d:
            out.append("modified: before date "
                       "(sigmahq_modified_date_order)")
        elif d is not None and m == d:
            out.append("modified: equals date (sigmahq_redundant_modified)")
        elif m > today:
            out.append("modified: %s is in the future" % m)

    ls = rule.get("logsource")
    if not isinstance(ls, dict):
        out.append("logsource: missing or not a map (spec LogSource)")
    else:
        if not any(k in ls for k in ("category", "product", "service")):
            out.append("logsource: no category, product or service (spec)")
        for k, v in ls.items():
            if k not in LOGSOURCE_KEYS:
                out.append("logsource: %r is not category, product, "
                           "service or definition (fieldname_logsource)"
                           % k)
            elif not isinstance(v, str):
                out.append("logsource.%s: not a string (schema)" % k)
            elif k != "definition" and not LOGSOURCE_VALUE_RE.match(v):
                out.append("logsource.%s: %r not lowercase [a-z0-9_.-] "
                           "(spec LogSource)" % (k, v))

    out.extend(_detection_findings(rule))

    _list_of_str(rule, "fields", out)
    for fp in _list_of_str(rule, "falsepositives", out, min_len=2):
        if fp[0].upper() != fp[0]:
            out.append("falsepositives: %r starts in lowercase "
                       "(sigmahq_falsepositives_capital)" % fp)
        for w in fp.split(" "):
            if w.lower().strip() in ("none", "pentest", "penetration"):
                out.append("falsepositives: banned word %r "
                           "(sigmahq_falsepositives_banned_word)" % w)
            if w.lower().strip() in ("unkown", "ligitimate", "legitimeate"):
                out.append("falsepositives: typo %r" % w)

    level = rule.get("level")
    if level is None:
        out.append("level: missing (sigmahq_level_existence)")
    elif level not in LEVELS:
        out.append("level: %r not one of %s (schema)"
                   % (level, sorted(LEVELS)))

    tags = _list_of_str(rule, "tags", out)
    out.extend(_tag_findings(tags))
    _list_of_str(rule, "scope", out, min_len=2)
    return out


def check_collection(rules):
    """[core] identifier_uniqueness and duplicate_title over several rules:
    rules is a list of (filename, parsed rule)."""
    out = []
    for key, code in (("id", "identifier_collision"),
                      ("title", "duplicate_title")):
        seen = {}
        for name, rule in rules:
            v = str(rule.get(key)).lower()
            if v in seen:
                out.append("%s: %s %r also in %s (%s)"
                           % (name, key, rule.get(key), seen[v], code))
            seen[v] = name
    return out


def main(paths):
    findings, parsed = [], []
    for p in paths:
        with open(p, encoding="utf-8") as f:
            text = f.read()
        name = p.rsplit("/", 1)[-1]
        findings += ["%s: %s" % (p, i) for i in check_text(name, text)]
        try:
            parsed.append((name, load(text) or {}))
        except yaml.YAMLError:
            pass
    findings += check_collection(parsed)
    for i in findings:
        print(i)
    return 1 if findings else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
