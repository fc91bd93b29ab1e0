#!/usr/bin/env python3
"""Makes ocspgate-template.json with the Elastic Common Schema's own
generator, from this directory's custom field set (fields/), subset and
settings, and ecs_flat.yml, the generator's definition of every field
that template maps (type, description, allowed values, normalization).

    python3 generate.py ECS_CHECKOUT

ECS_CHECKOUT is a clone of https://github.com/elastic/ecs at the tag of
the ECS version the events declare (ecs.version, EVENT_ECS_VERSION in
include/ocspgate/event.h: v8.17.0), with its scripts' requirements
(Debian: python3-yaml, python3-jinja2, python3-git). The generator writes
one component template per field set; this script inlines them into one
composable index template that needs nothing else installed, and drops
the `synthetic_source_keep` parameters (Elasticsearch 8.15 and later
know them; without them the template also loads on earlier 8.x).
"""

import json
import pathlib
import re
import subprocess
import sys
import tempfile

HERE = pathlib.Path(__file__).resolve().parent
REPO = HERE.parents[1]
TEMPLATE = HERE / "ocspgate-template.json"
FLAT = HERE / "ecs_flat.yml"


def ecs_version():
    text = (REPO / "include" / "ocspgate" / "event.h").read_text()
    return re.search(r'#define EVENT_ECS_VERSION\s+"([^"]+)"', text).group(1)


def merge(dst, src):
    """Adds the mapping properties of <src> into <dst>."""
    for name, value in src.items():
        if name in dst and "properties" in value:
            dst[name].setdefault("properties", {})
            merge(dst[name]["properties"], value["properties"])
        else:
            dst[name] = value


def strip(mapping):
    """Drops synthetic_source_keep everywhere in <mapping>."""
    if isinstance(mapping, dict):
        mapping.pop("synthetic_source_keep", None)
        for v in mapping.values():
            strip(v)


def main(argv):
    if len(argv) != 2:
        sys.exit(__doc__)
    ecs = pathlib.Path(argv[1]).resolve()
    version = ecs_version()
    have = (ecs / "version").read_text().strip()
    if have != version:
        sys.exit("%s is ECS %s; the events declare %s" % (ecs, have, version))
    with tempfile.TemporaryDirectory() as out:
        subprocess.run(
            [sys.executable, "scripts/generator.py", "--strict",
             "--subset", str(HERE / "subset.yml"),
             "--include", str(HERE / "fields"),
             "--template-settings", str(HERE / "template-settings.json"),
             "--mapping-settings", str(HERE / "mapping-settings.json"),
             "--out", out], cwd=ecs, check=True)
        flat = (pathlib.Path(out) / "generated" / "ecs" / "subset" /
                "ocspgate" / "ecs_flat.yml").read_text()
        FLAT.write_text("# Every field ocspgate writes, as ECS %s's generator "
                        "defines it (made by\n# generate.py: do not edit)."
                        "\n" % version + flat)
        gen = pathlib.Path(out) / "generated" / "elasticsearch" / "composable"
        template = json.loads((gen / "template.json").read_text())
        properties = {}
        for name in template.pop("composed_of"):
            fieldset = name.split("_", 2)[2]
            comp = json.loads(
                (gen / "component" / (fieldset + ".json")).read_text())
            merge(properties, comp["template"]["mappings"]["properties"])
    strip(properties)
    template["template"]["mappings"]["properties"] = properties
    template["_meta"] = {
        "ecs_version": version,
        "description": "ocspgate event log: ECS %s fields and the "
                       "ocspgate custom field set (docs/ecs/fields/)"
                       % version,
    }
    TEMPLATE.write_text(json.dumps(template, indent=2, sort_keys=True)
                        + "\n")
    print("wrote %s and %s" % (TEMPLATE, FLAT))


if __name__ == "__main__":
    main(sys.argv)
