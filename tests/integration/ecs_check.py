"""Event lines checked against the shipped field definition, as
Elasticsearch would index them and as ECS defines them, without
Elasticsearch.

    python3 ecs_check.py EVENTS.jsonl...   # prints problems, exit 1 if any

What it reads (docs/ecs/, made by docs/ecs/generate.py with ECS 8.17.0's
own generator, https://github.com/elastic/ecs/tree/v8.17.0/scripts):

- ocspgate-template.json, the composable index template: every field a
  line holds must be mapped there (or be matched by a dynamic template
  with a path_match, as ocspgate.asset's tag columns are; the catch-all
  strings_as_keyword does not count), and its value must be one that
  field type takes (Elasticsearch's mapping types: keyword, wildcard,
  constant_keyword and match_only_text take strings; long a JSON integer
  within 64 signed bits; float a number; boolean true or false; date a
  string of the template's date format, strict_date_optional_time; ip an
  IPv4 or IPv6 address; object a JSON object). Any field may hold an
  array of such values, as Elasticsearch allows; arrays of arrays and
  nulls are refused (Elasticsearch flattens or drops them: ocspgate
  never means them).
- ecs_flat.yml, the generator's definition of the same fields: a field
  ECS normalizes as an array (`normalize: [array]`: event.category,
  event.type, related.*, and ocspgate's own lists) must be one, a field
  that is not must not be one; event.kind, event.category, event.type
  and event.outcome hold their allowed values, and each event.type is
  one ECS expects of every event.category of the line
  (`expected_event_types`); no event.outcome with event.type info or on
  a metric (ECS: "generally not populated for metric events, events
  with event.type:info").
- The other ECS rules these fields carry in their descriptions:
  ecs.version on every line; network.protocol with event.type
  protocol ("the identified protocol is populated in network.protocol");
  x509.serial_number uppercase hex without colons.
"""

import fnmatch
import ipaddress
import json
import pathlib
import re
import sys

import yaml

REPO = pathlib.Path(__file__).resolve().parents[2]
ECS_DIR = REPO / "docs" / "ecs"
TEMPLATE = ECS_DIR / "ocspgate-template.json"
FLAT = ECS_DIR / "ecs_flat.yml"

STRING_TYPES = {"keyword", "wildcard", "constant_keyword", "match_only_text",
                "text"}
# Elasticsearch's strict_date_optional_time (the default date format):
# a date, optionally a time, optionally fractions and a zone.
DATE_RE = re.compile(
    r"^\d{4}-\d\d-\d\d(T\d\d:\d\d(:\d\d([.,]\d{1,9})?)?"
    r"(Z|[+-]\d\d(:?\d\d)?)?)?$")
HEX_UPPER_RE = re.compile(r"^[0-9A-F]+$")
LONG_MIN, LONG_MAX = -2 ** 63, 2 ** 63 - 1


class Schema:
    """The template's mappings and the flat definitions, indexed by the
    dotted field name."""

    def __init__(self, template=TEMPLATE, flat=FLAT):
        t = json.loads(pathlib.Path(template).read_text(encoding="utf-8"))
        self.template = t
        mappings = t["template"]["mappings"]
        self.mappings = {}
        self._flatten("", mappings["properties"])
        self.dynamic = []
        for entry in mappings.get("dynamic_templates", []):
            (name, d), = entry.items()
            if "path_match" in d:
                self.dynamic.append((name, d["path_match"],
                                     d.get("match_mapping_type"),
                                     d["mapping"]))
        self.flat = yaml.safe_load(
            pathlib.Path(flat).read_text(encoding="utf-8"))
        self.arrays = {name for name, f in self.flat.items()
                       if "array" in (f.get("normalize") or [])}
        ev = {k: self.flat[k] for k in ("event.kind", "event.category",
                                        "event.type", "event.outcome")}
        self.allowed = {k: {v["name"] for v in f["allowed_values"]}
                        for k, f in ev.items()}
        self.expected_types = {
            v["name"]: set(v.get("expected_event_types") or [])
            for v in ev["event.category"]["allowed_values"]}

    def _flatten(self, prefix, properties):
        for name, m in properties.items():
            path = prefix + name
            self.mappings[path] = m
            if "properties" in m:
                self._flatten(path + ".", m["properties"])

    def mapping(self, path, value):
        """The mapping of <path> for <value>: its own, or the dynamic
        template with a path_match that takes it; None if neither."""
        m = self.mappings.get(path)
        if m is not None:
            return m
        kind = ("string" if isinstance(value, str) else
                "boolean" if isinstance(value, bool) else
                "long" if isinstance(value, int) else
                "double" if isinstance(value, float) else
                "object" if isinstance(value, dict) else None)
        for _, match, mtype, mapping in self.dynamic:
            if fnmatch.fnmatchcase(path, match) and mtype in (None, "*",
                                                               kind):
                return mapping
        return None


def _type_problem(ftype, v):
    """Why <v> (a scalar) does not fit the mapping type, or None."""
    if ftype in STRING_TYPES:
        return None if isinstance(v, str) else "not a string"
    if ftype in ("long", "integer", "short", "byte", "unsigned_long"):
        if isinstance(v, bool) or not isinstance(v, int):
            return "not an integer"
        if ftype == "long" and not LONG_MIN <= v <= LONG_MAX:
            return "out of a long's range"
        return None
    if ftype in ("float", "double", "half_float", "scaled_float"):
        if isinstance(v, bool) or not isinstance(v, (int, float)):
            return "not a number"
        return None
    if ftype == "boolean":
        return None if isinstance(v, bool) else "not a boolean"
    if ftype == "date":
        if isinstance(v, str) and DATE_RE.match(v):
            return None
        return "not a date in strict_date_optional_time"
    if ftype == "ip":
        try:
            ipaddress.ip_address(v if isinstance(v, str) else None)
            return None
        except ValueError:
            return "not an IP address"
    return "type %s is not handled by this check" % ftype


def _walk(schema, path, value, out, in_array=False):
    if value is None:
        out.append("%s: null" % path)
        return
    if isinstance(value, list):
        if in_array:
            out.append("%s: an array inside an array" % path)
            return
        if not value:
            out.append("%s: an empty array" % path)
        if path not in schema.arrays:
            out.append("%s: an array, which ECS does not normalize it to"
                       % path)
        for v in value:
            _walk(schema, path, v, out, in_array=True)
        return
    m = schema.mapping(path, value)
    if m is None:
        out.append("%s: not mapped by the template" % path)
        return
    ftype = m.get("type", "object" if "properties" in m else None)
    if not in_array and path in schema.arrays:
        out.append("%s: ECS normalizes it to an array" % path)
    if isinstance(value, dict):
        if ftype not in ("object", "nested", "flattened"):
            out.append("%s: an object where the template maps %s"
                       % (path, ftype))
            return
        if ftype == "flattened":
            return
        for k, v in value.items():
            _walk(schema, "%s.%s" % (path, k), v, out)
        return
    if ftype in ("object", "nested"):
        out.append("%s: a %s where the template maps an object"
                   % (path, type(value).__name__))
        return
    why = _type_problem(ftype, value)
    if why is not None:
        out.append("%s: %r is %s (%s)" % (path, value, why, ftype))


def _values(ev, dotted):
    cur = ev
    for part in dotted.split("."):
        if not isinstance(cur, dict) or part not in cur:
            return []
        cur = cur[part]
    return cur if isinstance(cur, list) else [cur]


def check(schema, ev):
    """Every problem of the event <ev> (a parsed line), as text."""
    out = []
    if not isinstance(ev, dict):
        return ["not a JSON object"]
    for k, v in ev.items():
        _walk(schema, k, v, out)
    # ECS's categorization rules.
    if _values(ev, "ecs.version") == []:
        out.append("ecs.version: missing (ECS requires it)")
    if _values(ev, "@timestamp") == []:
        out.append("@timestamp: missing (ECS requires it)")
    for field in ("event.kind", "event.category", "event.type",
                  "event.outcome"):
        for v in _values(ev, field):
            if v not in schema.allowed[field]:
                out.append("%s: %r is not an ECS allowed value" % (field, v))
    kinds = _values(ev, "event.kind")
    categories = _values(ev, "event.category")
    types = _values(ev, "event.type")
    if not kinds or not categories or not types:
        out.append("event.kind, event.category and event.type: each set")
    for c in categories:
        for t in types:
            if t not in schema.expected_types.get(c, set()):
                out.append("event.type %r is not one ECS expects of "
                           "event.category %r" % (t, c))
    if _values(ev, "event.outcome") and ("info" in types
                                         or "metric" in kinds):
        out.append("event.outcome with event.type info or on a metric")
    if "protocol" in types and not _values(ev, "network.protocol"):
        out.append("event.type protocol without network.protocol")
    for field in ("file.x509.serial_number",):
        for v in _values(ev, field):
            if not isinstance(v, str) or not HEX_UPPER_RE.match(v):
                out.append("%s: %r is not uppercase hex" % (field, v))
    return out


_SCHEMA = None


def schema():
    """The shipped definition, loaded once."""
    global _SCHEMA
    if _SCHEMA is None:
        _SCHEMA = Schema()
    return _SCHEMA


def main(argv):
    s = schema()
    bad = 0
    for name in argv[1:]:
        with open(name, "rb") as f:
            for n, line in enumerate(f, 1):
                if not line.strip():
                    continue
                for p in check(s, json.loads(line)):
                    print("%s:%d: %s" % (name, n, p))
                    bad += 1
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
