"""The manual pages: they render cleanly and cover the whole interface."""

import os
import re
import shutil
import subprocess
import unittest
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
DOCS = ROOT / "docs"
PAGE8 = DOCS / "ocspgate.8"
PAGE5 = DOCS / "ocspgate.conf.5"

MAN = shutil.which("man")
GROFF = shutil.which("groff")

SECTIONS8 = ("NAME", "SYNOPSIS", "DESCRIPTION", "OPTIONS", "SIGNALS",
             "FILES", "EXIT STATUS", "EXAMPLES", "SEE ALSO", "STANDARDS")
SECTIONS5 = ("NAME", "DESCRIPTION", "DIRECTIVES", "MATCHING",
             "REASONS AND REPLIES", "EVENT LOG", "EXAMPLES", "SEE ALSO")


def render(page):
    """(exit status, text, stderr) of the page formatted for a terminal."""
    env = dict(os.environ, MANWIDTH="80", LC_ALL="C.UTF-8")
    env.pop("MANPAGER", None)
    env.pop("PAGER", None)
    if MAN is not None:
        cmd = [MAN, "-l", "-P", "cat", str(page)]
    else:
        cmd = [GROFF, "-mandoc", "-Tutf8", "-P", "-cbou", "-rLL=80n",
               str(page)]
    p = subprocess.run(cmd, env=env, stdin=subprocess.DEVNULL,
                       capture_output=True, timeout=60, check=False)
    text = p.stdout.decode("utf-8", errors="replace")
    text = re.sub(".\b", "", text)  # overstrike, if any survived
    return p.returncode, text, p.stderr.decode("utf-8", errors="replace")


def words(path):
    """The set of identifier-like words of a page's source."""
    return set(re.findall(r"[A-Za-z0-9_]+", path.read_text()))


def directive_names():
    """Every directive of the loader's tables: config_directives[] (a
    parser each) and the integer rows (CONFIG_UINT and the like) of
    src/config/*.c."""
    src = (ROOT / "src" / "config" / "config.c").read_text()
    table = re.search(r"config_directives\[\]\s*=\s*\{(.*?)\n\};", src, re.S)
    assert table is not None, "config_directives[] not found in config.c"
    names = re.findall(r'\{\s*"([a-z0-9_]+)"\s*,\s*config_parse_',
                       table.group(1))
    for path in sorted((ROOT / "src" / "config").glob("*.c")):
        names += re.findall(r'\bCONFIG_(?:UINT|SIZE|U32)\(\s*"([a-z0-9_]+)"',
                            path.read_text())
    return names


def reason_codes():
    text = (DOCS / "interface.md").read_text()
    item = re.search(r"^- `event\.reason`:(.*?)(?=^- `|^#|\Z)", text,
                     re.S | re.M)
    assert item is not None, "event.reason list not found in interface.md"
    return [c for c in re.findall(r"`([^`]+)`", item.group(1))
            if re.fullmatch(r"[a-z]+(?:_[a-z]+)+|[a-z]+", c)]


@unittest.skipIf(MAN is None and GROFF is None,
                 "neither man (man-db) nor groff (groff-base) is installed: "
                 "cannot render the manual pages")
class ManPageTests(unittest.TestCase):

    def check_page(self, page, sections):
        rc, text, err = render(page)
        self.assertEqual(rc, 0, f"{page.name}: renderer failed: {err}")
        self.assertEqual(err.strip(), "", f"{page.name}: renderer warnings")
        headings = {line.strip() for line in text.splitlines()
                    if line and not line[0].isspace()}
        for s in sections:
            self.assertIn(s, headings, f"{page.name}: no {s} section")
        return text

    def test_ocspgate_8_renders(self):
        text = " ".join(self.check_page(PAGE8, SECTIONS8).split())
        self.assertIn("ocspgate [-t] [-c file]", text)
        self.assertIn("ocspgate.conf(5)", text)
        for rfc in ("RFC 6960", "RFC 5019", "RFC 9112", "RFC 9654",
                    "RFC 5280"):
            self.assertIn(rfc, text)
        for sig in ("SIGHUP", "SIGUSR1", "SIGTERM", "SIGINT"):
            self.assertIn(sig, text)

    def test_ocspgate_conf_5_renders(self):
        text = self.check_page(PAGE5, SECTIONS5)
        self.assertIn("ocspgate(8)", text)

    @unittest.skipIf(GROFF is None, "groff (groff-base) is not installed")
    def test_no_groff_warnings(self):
        for page in (PAGE8, PAGE5):
            p = subprocess.run([GROFF, "-mandoc", "-ww", "-z", str(page)],
                               capture_output=True, timeout=60, check=False)
            self.assertEqual(p.returncode, 0, page.name)
            self.assertEqual(p.stderr.decode(errors="replace").strip(), "",
                             f"{page.name}: groff warnings")

    def test_every_option_documented(self):
        src = (ROOT / "src" / "app" / "main.c").read_text()
        m = re.search(r'getopt\(\s*argc\s*,\s*argv\s*,\s*"([^"]+)"', src)
        self.assertIsNotNone(m, "getopt string not found in main.c")
        page = PAGE8.read_text()
        for opt in m.group(1).replace(":", ""):
            self.assertRegex(page, rf"(?m)^\.It Fl {opt}\b",
                             f"option -{opt} not in OPTIONS")

    def test_every_directive_documented(self):
        names = directive_names()
        self.assertGreater(len(names), 20, "directive table parse failed")
        page = PAGE5.read_text()
        present = words(PAGE5)
        for name in names:
            self.assertIn(name, present, f"directive {name} not documented")
            self.assertRegex(page, rf"(?m)^\.It Ic {name} ",
                             f"directive {name} has no entry of its own")
        for key in ("address", "transparent", "proxy_protocol",
                    "proxy_protocol_from", "host", "issuers"):
            self.assertRegex(page, rf"(?m)^\.It Ic {key} ",
                             f"group key {key} has no entry")

    def test_every_reason_documented(self):
        codes = reason_codes()
        self.assertIn("ocsp_request", codes)
        self.assertIn("unknown_responder", codes)
        present = words(PAGE5)
        for code in codes:
            self.assertIn(code, present, f"reason {code} not documented")


if __name__ == "__main__":
    unittest.main()
