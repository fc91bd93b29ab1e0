#!/usr/bin/env python3
"""No file reaches up into a layer above its own.

src/ is cut into layers, lowest first (LAYERS). A file belongs to the
layer of its folder; a header include/ocspgate/NAME.h to the layer of
src/*/NAME.c, and a types-only header (NAME-t.h, no .c of its own) to
the layer TYPES gives it. Two checks:

  includes: every #include "ocspgate/..." (and every quoted include of a
      folder's private header) names a header of the same layer or one
      below;
  symbols (with --lib LAYER=ARCHIVE, one per layer): every symbol a
      layer's library leaves undefined that another layer's library
      defines is defined in a layer below, so no call goes up even
      without an include (a hand-written declaration, say).

Prints each violation as "FILE:LINE: ..." and exits 1 if any, else 0.
"""

import argparse
import pathlib
import re
import subprocess
import sys

LAYERS = ["base", "proto", "inspect", "output", "config", "runtime", "app"]

# Types-only headers: the layer whose files may include them.
TYPES = {
    "config-t.h": "inspect",
    "inventory-t.h": "inspect",
}

INCLUDE = re.compile(r'^\s*#\s*include\s+"([^"]+)"')


def rank(layer):
    return LAYERS.index(layer)


def header_layers(root):
    """Layer of each include/ocspgate header; errors for unplaced ones."""
    layers, errors = {}, []
    sources = {}
    for layer in LAYERS:
        for c in (root / "src" / layer).glob("*.c"):
            sources[c.stem] = layer
    for h in sorted((root / "include" / "ocspgate").glob("*.h")):
        if h.name in TYPES:
            layers[h.name] = TYPES[h.name]
        elif h.stem in sources:
            layers[h.name] = sources[h.stem]
        else:
            errors.append(f"{h}: no src/<layer>/{h.stem}.c and no entry "
                          "in TYPES: which layer is it?")
    return layers, errors


def own_layer(root, path, headers):
    rel = path.relative_to(root)
    if rel.parts[0] == "src":
        return rel.parts[1]
    return headers.get(path.name)


def check_includes(root):
    headers, errors = header_layers(root)
    files = [p for layer in LAYERS
             for p in sorted((root / "src" / layer).glob("*.[ch]"))]
    stray = sorted(p for p in (root / "src").glob("*.[ch]"))
    for p in stray:
        errors.append(f"{p}: outside the layer folders of src/")
    files += sorted((root / "include" / "ocspgate").glob("*.h"))
    for path in files:
        mine = own_layer(root, path, headers)
        if mine is None:
            continue
        for n, line in enumerate(path.read_text().splitlines(), 1):
            m = INCLUDE.match(line)
            if m is None:
                continue
            name = m.group(1)
            if name.startswith("ocspgate/"):
                target = headers.get(name[len("ocspgate/"):])
                if target is None:
                    continue
                where = f"include/{name}"
            else:
                private = path.parent / name
                if not private.exists() or path.parent.parent.name != "src":
                    continue
                target = path.parent.name
                where = str(private.relative_to(root))
            if rank(target) > rank(mine):
                errors.append(f"{path.relative_to(root)}:{n}: {mine} file "
                              f"includes {where} of layer {target}")
    return errors


def symbols(archive, undefined):
    flag = "--undefined-only" if undefined else "--defined-only"
    out = subprocess.run(["nm", "-g", flag, "--format=posix", archive],
                         capture_output=True, text=True, check=True).stdout
    names = set()
    for line in out.splitlines():
        parts = line.split()
        # "NAME TYPE [VALUE SIZE]"; archive member headers end in ':'.
        if len(parts) >= 2 and not parts[0].endswith(":"):
            names.add(parts[0])
    return names


def check_symbols(libs):
    errors = []
    defined = {}
    for layer, archive in libs.items():
        for name in symbols(archive, False):
            defined.setdefault(name, layer)
    for layer, archive in libs.items():
        for name in sorted(symbols(archive, True)):
            owner = defined.get(name)
            if owner is not None and rank(owner) > rank(layer):
                errors.append(f"{archive}: {layer} layer calls {name}() of "
                              f"layer {owner}")
    return errors


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--root", type=pathlib.Path,
                    default=pathlib.Path(__file__).resolve().parent.parent)
    ap.add_argument("--lib", action="append", default=[],
                    metavar="LAYER=ARCHIVE")
    args = ap.parse_args()
    root = args.root.resolve()
    errors = check_includes(root)
    libs = {}
    for spec in args.lib:
        layer, _, archive = spec.partition("=")
        if layer not in LAYERS or not archive:
            ap.error(f"--lib {spec}: want LAYER=ARCHIVE, LAYER one of "
                     f"{', '.join(LAYERS)}")
        libs[layer] = archive
    errors += check_symbols(libs)
    for e in errors:
        print(e)
    if errors:
        print(f"{len(errors)} upward dependencies", file=sys.stderr)
        return 1
    print(f"layers ({' < '.join(LAYERS)}): no upward dependency")
    return 0


if __name__ == "__main__":
    sys.exit(main())
