"""The other fetches of Windows chain building on port 80: CRLs
(crl_hosts), issuer certificates (ca_issuer_hosts) and trust lists
(ctl_hosts). A plain GET to such a host passes and its answer is held
until judged. Real artefacts made with the openssl CLI and served by nginx
reach the client byte for byte and leave their facts in the event; bodies
that are not what the class promises become 502 in enforce mode, with not
a byte of them sent, and are relayed but logged in monitor mode. Any other
request to these hosts is refused."""

import dataclasses
import datetime
import email.utils
import hashlib
import json
import re
import tempfile
import unittest
from pathlib import Path

import ocspgate_harness as harness
from ocspgate_harness import (
    OCSP_RESPONSE_TRY_LATER, REASONS_BLOCK, Client, ProxyTestCase, get,
    http_request, ocsp_post, ocsp_request_der, parse_responses, raw_request,
    run, scaled, write_hosts_file)
from ocsp_forge import (
    Answer, CannedUpstream, assert_judged, assert_rebuilt, http_answer,
    judged_type)
from pki_fetch import (
    BIG_CRL_ENTRIES, ROOT_DN, SUB_DN, FetchPKI, Nginx, cabinet,
    cert_serial_hex, crl_facts, ctl_list, ctl_signed)

FETCH_REASONS = ("crl_request", "ca_issuer_request", "ctl_request")
FETCH_HOSTS = ["crl.ca.test", "aia.ca.test", "ctldl.ca.test", "pki.ca.test",
               "east.cdp.test", "cdp.test", "other.ca.test"]
CTL_DIR = "/msdownload/update/v3/static/trustedr/en/"
TIME_RE = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$")
# Where a fetch's facts go: a CRL's under ocspgate (ECS has no CRL field
# set), a certificate's in ECS's file.x509.
FACT_KEYS = ("ocspgate.crl", "file.x509")
OCSPGATE_FACT_KEYS = ("ca_issuer", "ctl")

HTML = (b"<!DOCTYPE html>\n<html><head><title>Captive portal</title></head>"
        b"<body><p>upstream-html-marker: sign in to continue</p></body>"
        b"</html>\n")


def refusal_body(reason):
    return b"ocspgate: bad gateway (%s)\n" % reason.encode()


class Fixtures:
    """The PKI, the files nginx serves and the hosts file, made once."""

    _made = None

    @classmethod
    def get(cls, env):
        if cls._made is None:
            cls._made = cls(env)
        return cls._made

    def __init__(self, env):
        self.dir = env.dir / "fetch"
        k = self.pki = FetchPKI(self.dir / "pki")
        self.hosts = self.dir / "hosts"
        write_hosts_file(self.hosts, FETCH_HOSTS)
        self.www = self.dir / "www"
        # path -> bytes, as nginx serves them.
        self.files = {
            "/crl/ca.crl": k.crl_der,
            "/crl/ca-pem.crl": k.crl_pem,
            "/aia/sub.crt": k.sub_der,
            "/aia/sub-pem.crt": k.sub_pem,
            "/aia/root.cer": k.root_der,
            "/aia/chain.p7c": k.p7c_der,
            "/aia/chain-pem.p7c": k.p7c_pem,
            CTL_DIR + "authrootstl.cab": k.authroot_cab,
            CTL_DIR + "AuthRootSTL.cab": k.authroot_cab,
            CTL_DIR + "disallowedcertstl.cab": k.disallowed_cab,
            CTL_DIR + "authroot.stl": k.stl,
            CTL_DIR + "roots.sst": k.roots_sst,
            CTL_DIR + "authrootseq.txt": k.seq_txt,
            CTL_DIR + "evil.exe": b"MZ\x90\x00 not for clients",
            "/CertEnroll/ca.crl": k.crl_der,
            "/CertEnrollX/ca.crl": k.crl_der,
            "/Other/ca.crl": k.crl_der,
            "/AIA/sub.crt": k.sub_der,
        }
        for path, body in self.files.items():
            p = self.www / path.lstrip("/")
            p.parent.mkdir(parents=True, exist_ok=True)
            p.write_bytes(body)
        crl = crl_facts(k.crl_der)
        self.crl_facts = {"issuer": ROOT_DN, "number": "1000",
                          "this_update": crl["this_update"],
                          "next_update": crl["next_update"], "entries": 1}
        assert crl["number"] == "1000" and crl["entries"] == 1, crl
        big = crl_facts(k.big_crl_der)
        assert big["entries"] == BIG_CRL_ENTRIES, big
        self.big_crl_facts = {"issuer": ROOT_DN, "number": "0A11CE",
                              "this_update": big["this_update"],
                              "next_update": big["next_update"],
                              "entries": BIG_CRL_ENTRIES, "format": "der"}
        self.sub_x509 = {"subject": {"distinguished_name": SUB_DN},
                         "issuer": {"distinguished_name": ROOT_DN},
                         "serial_number": "C0FFEE42"}
        self.root_x509 = {"subject": {"distinguished_name": ROOT_DN},
                          "issuer": {"distinguished_name": ROOT_DN},
                          "serial_number": "5EED"}
        assert cert_serial_hex(k.sub_der) == "C0FFEE42"
        assert cert_serial_hex(k.root_der) == "5EED"
        self._check_names()

    def _check_names(self):
        """OpenSSL prints the names as the tests expect them."""
        for name, dn in (("root.pem", ROOT_DN), ("sub.pem", SUB_DN)):
            p = run(["openssl", "x509", "-in", name, "-noout", "-subject",
                     "-nameopt", "RFC2253"], cwd=self.pki.dir, timeout=10)
            assert p.stdout.decode().strip() == "subject=" + dn, p.stdout


def curl(proxy_port, url, tmpdir, args=(), timeout=10):
    """curl -x through the proxy. Returns (status, headers, body); header
    names in lower case."""
    tmp = Path(tempfile.mkdtemp(dir=tmpdir))
    cmd = ["curl", "-sS", "--path-as-is", "-x",
           "http://127.0.0.1:%d" % proxy_port, "-o", str(tmp / "body"),
           "-D", str(tmp / "head"), "-w", "%{http_code}",
           "--max-time", str(int(scaled(timeout)))]
    cmd += list(args) + [url]
    p = run(cmd, timeout=timeout + 5, check=False)
    code = p.stdout.decode().strip()
    headers = {}
    head = tmp / "head"
    for line in (head.read_text("latin-1").splitlines()[1:]
                 if head.exists() else []):
        k, sep, v = line.partition(":")
        if sep:
            headers[k.strip().lower()] = v.strip()
    body = (tmp / "body").read_bytes() if (tmp / "body").exists() else b""
    return (int(code) if code.isdigit() else 0), headers, body


class FetchTestCase(ProxyTestCase):
    RESPONDERS = 0
    NGINX = False

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.fx = Fixtures.get(cls.env)
        cls.k = cls.fx.pki
        if cls.NGINX:
            cls.nginx = Nginx(cls.fx.www, Path(tempfile.mkdtemp(
                prefix="nginx-", dir=cls.fx.dir)))
            cls.addClassCleanup(cls.nginx.stop)

    def setUp(self):
        super().setUp()
        self.counts = {}

    def proxy(self, mode="enforce", **kw):
        kw.setdefault("event_log", str(
            self.tmp / ("events-%d.jsonl" % len(self.counts))))
        kw.setdefault("hosts_file", str(self.fx.hosts))
        p = self.start_proxy(mode=mode, **kw)
        self.counts[p] = 0
        return p

    def next_event(self, proxy, **fields):
        self.counts[proxy] += 1
        return self.expect_event(proxy, self.counts[proxy], **fields)

    # -- what an event of each class must say ----------------------------

    def fetch_event(self, proxy, reason, spec, url, body, mode="enforce",
                    status=200):
        """An allowed fetch that passed: its facts, nothing of another
        class, no detail."""
        host, port = re.match(r"http://([^/:]+):(\d+)", url).groups()
        ev = self.next_event(
            proxy, event__action="allow", event__reason=reason,
            ocspgate__mode=mode, ocspgate__enforced=True,
            ocspgate__responder=spec, http__request__method="GET",
            http__response__status_code=status,
            http__response__body__bytes=len(body), url__original=url,
            url__path=url[len("http://%s:%s" % (host, port)):],
            destination__domain=host, destination__port=int(port),
            destination__ip="127.0.0.1")
        dump = json.dumps(ev)[:2000]
        self.assertNotIn("detail", ev["ocspgate"], dump)
        self.assertNotIn("ocsp", ev["ocspgate"], dump)
        self.assertNotIn("body", get(ev, "http.request"), dump)
        want = {"crl_request": ("ocspgate.crl",),
                "ca_issuer_request": ("file.x509",),
                "ctl_request": ()}[reason]
        want_og = {"crl_request": (), "ca_issuer_request": ("ca_issuer",),
                   "ctl_request": ("ctl",)}[reason]
        for key in FACT_KEYS:
            self.assertEqual(get(ev, key) is not None, key in want,
                             "%s: %s" % (key, dump))
        for key in OCSPGATE_FACT_KEYS:
            self.assertEqual(key in ev["ocspgate"], key in want_og,
                             "ocspgate.%s: %s" % (key, dump))
        return ev

    def crl_event(self, proxy, spec, url, body, facts, fmt, **kw):
        ev = self.fetch_event(proxy, "crl_request", spec, url, body, **kw)
        want = dict(facts, format=fmt)
        crl = get(ev, "ocspgate.crl")
        self.assertEqual(crl, want, json.dumps(ev)[:2000])
        self.assertRegex(crl["this_update"], TIME_RE)
        self.assertRegex(crl["next_update"], TIME_RE)
        return ev

    def cert_event(self, proxy, spec, url, body, x509, count, fmt, **kw):
        ev = self.fetch_event(proxy, "ca_issuer_request", spec, url, body,
                              **kw)
        dump = json.dumps(ev)[:2000]
        self.assertEqual(get(ev, "file.x509"), x509, dump)
        self.assertEqual(get(ev, "ocspgate.ca_issuer"),
                         {"certificates": count, "format": fmt}, dump)
        return ev

    def ctl_event(self, proxy, spec, url, body, fmt, entries=2,
                  signature="unverified", **kw):
        """A trust list's event: its format, its entries (trusted
        subjects, or a store's certificates), and for a list (not a
        sequence text) whether its signer chains to a known CA: a
        store has no signer, so it is unverified."""
        ev = self.fetch_event(proxy, "ctl_request", spec, url, body, **kw)
        want = {"format": fmt}
        if fmt != "text":
            want["entries"] = entries
        self.assertEqual(get(ev, "ocspgate.ctl"), want,
                         json.dumps(ev)[:2000])
        self.assertEqual(get(ev, "ocspgate.signature"),
                         signature if fmt in ("cab", "pkcs7")
                         else "unverified" if fmt == "store" else None,
                         json.dumps(ev)[:2000])
        return ev

    def blocked_event(self, proxy, reason, **fields):
        ev = self.next_event(proxy, event__action="block",
                             event__reason=reason, ocspgate__enforced=True,
                             http__response__status_code=403, **fields)
        self.assertIn(reason, REASONS_BLOCK)
        for key in FACT_KEYS:
            self.assertIsNone(get(ev, key))
        return ev


# --------------------------------------------------------------------------
# Real artefacts from nginx

class ServedArtefactTests(FetchTestCase):
    """curl -> ocspgate -> nginx serving files made with the openssl CLI."""

    NGINX = True

    def setUp(self):
        super().setUp()
        port = self.nginx.port
        self.crl_spec = "crl.ca.test:%d" % port
        self.aia_spec = "aia.ca.test:%d" % port
        self.ctl_spec = "ctldl.ca.test:%d" % port
        self.cfg = dict(crl_hosts=[self.crl_spec],
                        ca_issuer_hosts=[self.aia_spec],
                        ctl_hosts=[self.ctl_spec])

    def fetch(self, proxy, url, content_type):
        """GET through the proxy: the file as nginx has it, unchanged,
        with the Content-Type of what it is (nginx says
        application/octet-stream for most)."""
        path = re.sub(r"^http://[^/]+", "", url)
        status, headers, body = curl(proxy.port, url, self.tmp)
        self.assertEqual(status, 200, "%s: %r" % (url, body[:200]))
        self.assertEqual(body, self.fx.files[path], url)
        self.assertEqual(headers.get("content-type"), content_type, url)
        self.assertEqual(headers.get("content-length"), str(len(body)), url)
        return body

    def test_crl_der_and_pem(self):
        for mode in ("enforce", "monitor"):
            proxy = self.proxy(mode, **self.cfg)
            for path, fmt in (("/crl/ca.crl", "der"),
                              ("/crl/ca-pem.crl", "pem")):
                with self.subTest(mode=mode, fmt=fmt):
                    url = "http://%s%s" % (self.crl_spec, path)
                    body = self.fetch(proxy, url, "application/pkix-crl")
                    self.crl_event(proxy, self.crl_spec, url, body,
                                   self.fx.crl_facts, fmt, mode=mode)

    def test_not_modified_is_ocspgate_s(self):
        """A client revalidating its cached CRL: ocspgate sends nginx no
        validator, judges the CRL nginx sends whole, and answers 304
        itself when the CRL's thisUpdate (its Last-Modified) is not
        after If-Modified-Since; 200 with the CRL when it is."""
        proxy = self.proxy(**self.cfg)
        url = "http://%s/crl/ca.crl" % self.crl_spec
        status, headers, _ = curl(proxy.port, url, self.tmp)
        self.assertEqual(status, 200)
        lm = headers["last-modified"]
        this_update = email.utils.parsedate_to_datetime(lm)
        self.assertEqual(this_update.strftime("%Y-%m-%dT%H:%M:%SZ"),
                         self.fx.crl_facts["this_update"])
        earlier = email.utils.format_datetime(
            this_update - datetime.timedelta(seconds=1), usegmt=True)
        for n, (ims, want) in enumerate(((lm, 304), (earlier, 200)), 2):
            with self.subTest(ims=ims):
                status, headers, body = curl(proxy.port, url, self.tmp,
                                             args=("-H",
                                                   "If-Modified-Since: "
                                                   + ims))
                self.assertEqual(status, want)
                self.assertEqual(
                    body, b"" if want == 304 else self.fx.files[
                        "/crl/ca.crl"])
                self.assertEqual(headers["last-modified"], lm)
                self.assertNotIn("etag", headers)
                ev = proxy.wait_events(n)[n - 1]
                self.assertEqual(ev["event"]["reason"], "crl_request")
                self.assertEqual(ev["http"]["response"]["status_code"],
                                 want)
                self.assertEqual(get(ev, "ocspgate.crl.this_update"),
                                 self.fx.crl_facts["this_update"])

    def test_issuer_certificates(self):
        """One certificate (DER, PEM) and certs-only PKCS#7 (DER, PEM):
        the facts of the first certificate and how many there are."""
        fx = self.fx
        proxy = self.proxy(**self.cfg)
        cases = [
            ("/aia/sub.crt", "application/pkix-cert", fx.sub_x509, 1,
             "x509"),
            ("/aia/sub-pem.crt", "application/pkix-cert", fx.sub_x509, 1,
             "x509"),
            ("/aia/root.cer", "application/pkix-cert", fx.root_x509, 1,
             "x509"),
            ("/aia/chain.p7c", "application/pkcs7-mime", None, 2, "pkcs7"),
            ("/aia/chain-pem.p7c", "application/pkcs7-mime", None, 2,
             "pkcs7"),
        ]
        # The first certificate of the PKCS#7, as the file holds them.
        first = fx.sub_x509 if self.k.p7c_certs[0] == self.k.sub_der \
            else fx.root_x509
        for path, ctype, x509, count, fmt in cases:
            with self.subTest(path=path):
                url = "http://%s%s" % (self.aia_spec, path)
                body = self.fetch(proxy, url, ctype)
                self.cert_event(proxy, self.aia_spec, url, body,
                                x509 or first, count, fmt)

    def test_trust_lists(self):
        proxy = self.proxy(**self.cfg)
        cases = [
            ("authrootstl.cab", "application/vnd.ms-cab-compressed", "cab"),
            ("AuthRootSTL.cab", "application/vnd.ms-cab-compressed", "cab"),
            ("disallowedcertstl.cab", "application/vnd.ms-cab-compressed",
             "cab"),
            ("authroot.stl", "application/vnd.ms-pki.stl", "pkcs7"),
            ("roots.sst", "application/vnd.ms-pki.certstore", "store"),
            ("authrootseq.txt", "text/plain", "text"),
        ]
        for name, ctype, fmt in cases:
            with self.subTest(name=name):
                url = "http://%s%s%s" % (self.ctl_spec, CTL_DIR, name)
                body = self.fetch(proxy, url, ctype)
                self.ctl_event(proxy, self.ctl_spec, url, body, fmt)

    def test_one_connection_many_classes(self):
        """Fetches of every class and a refusal on one keep-alive
        connection: each answer whole, each event with its own facts."""
        fx = self.fx
        proxy = self.proxy(**self.cfg)
        crl = "http://%s/crl/ca.crl" % self.crl_spec
        crt = "http://%s/aia/sub.crt" % self.aia_spec
        cab = "http://%s%sauthrootstl.cab" % (self.ctl_spec, CTL_DIR)
        exe = "http://%s%sevil.exe" % (self.ctl_spec, CTL_DIR)
        steps = [(crl, 200), (crt, 200), (exe, 403), (cab, 200),
                 (crl, 200)]
        with Client(proxy.port) as c:
            for url, status in steps:
                c.send(http_request("GET", url,
                                    headers=[("User-Agent",
                                              "Microsoft-CryptoAPI/10.0")]))
                r = c.read_response()
                self.assertEqual(r.status, status, url)
                if status == 200:
                    path = re.sub(r"^http://[^/]+", "", url)
                    self.assertEqual(r.body, fx.files[path], url)
                self.assertNotIn("close",
                                 (r.header("connection") or "").lower())
        self.crl_event(proxy, self.crl_spec, crl, fx.files["/crl/ca.crl"],
                       fx.crl_facts, "der")
        self.cert_event(proxy, self.aia_spec, crt, self.k.sub_der,
                        fx.sub_x509, 1, "x509")
        self.blocked_event(proxy, "path_shape", url__original=exe)
        self.ctl_event(proxy, self.ctl_spec, cab, self.k.authroot_cab, "cab")
        ev = self.crl_event(proxy, self.crl_spec, crl, self.k.crl_der,
                            fx.crl_facts, "der")
        self.assertEqual(get(ev, "user_agent.original"),
                         "Microsoft-CryptoAPI/10.0")

    def test_responder_host_also_serves_crls(self):
        """An OCSP responder's host with a CRL directory: a GET there that
        is no OCSP request is a CRL (or issuer) fetch; elsewhere on the
        host it is not OCSP."""
        port = self.nginx.port
        resp_spec = "pki.ca.test:%d" % port
        crl_spec = "pki.ca.test:%d/CertEnroll" % port
        aia_spec = "pki.ca.test:%d/AIA" % port
        proxy = self.proxy(responders=[resp_spec], crl_hosts=[crl_spec],
                           ca_issuer_hosts=[aia_spec])
        url = "http://%s/CertEnroll/ca.crl" % resp_spec
        body = self.fetch(proxy, url, "application/pkix-crl")
        self.crl_event(proxy, crl_spec, url, body, self.fx.crl_facts, "der")
        url = "http://%s/AIA/sub.crt" % resp_spec
        body = self.fetch(proxy, url, "application/pkix-cert")
        self.cert_event(proxy, aia_spec, url, body, self.fx.sub_x509, 1,
                        "x509")
        for path in ("/Other/ca.crl", "/CertEnrollX/ca.crl"):
            with self.subTest(path=path):
                url = "http://%s%s" % (resp_spec, path)
                status, _, body = curl(proxy.port, url, self.tmp)
                self.assertEqual(status, 403, url)
                self.assertEqual(body, b"ocspgate: blocked (not_ocsp)\n")
                self.blocked_event(proxy, "not_ocsp",
                                   ocspgate__responder=resp_spec,
                                   url__original=url)

    def test_wildcard_crl_host(self):
        spec = "*.cdp.test:%d" % self.nginx.port
        proxy = self.proxy(crl_hosts=[spec])
        url = "http://east.cdp.test:%d/crl/ca.crl" % self.nginx.port
        body = self.fetch(proxy, url, "application/pkix-crl")
        self.crl_event(proxy, spec, url, body, self.fx.crl_facts, "der")
        url = "http://cdp.test:%d/crl/ca.crl" % self.nginx.port
        status, _, _ = curl(proxy.port, url, self.tmp)
        self.assertEqual(status, 403)
        self.blocked_event(proxy, "unknown_responder", url__original=url)


# --------------------------------------------------------------------------
# Canned answers

@dataclasses.dataclass
class Case:
    """One answer a fetch gets. detail: what the event's ocspgate.detail
    must hold when it is refused."""
    name: str
    kind: str  # crl, aia, ctl: the host asked
    file: str
    body: bytes
    detail: str = None
    status: int = 200
    status_text: str = "OK"
    content_type: str = "application/octet-stream"
    framing: str = "length"
    chunk: int = None

    @property
    def path(self):
        # Trust lists have one directory, as Windows Update's: cases
        # there share paths, and run one after the other.
        return (CTL_DIR + self.file
                if self.kind == "ctl" else "/%s/%s" % (self.name, self.file))

    @property
    def marker(self):
        return "m-" + self.name

    def answer(self):
        return Answer(http_answer(self.body, self.status, self.status_text,
                                  self.content_type, self.framing,
                                  headers=[("X-Canned-Marker", self.marker)],
                                  chunk=self.chunk),
                      close=self.framing == "close")


class CannedTestCase(FetchTestCase):
    """curl or a raw client -> ocspgate -> a server answering each path
    with the bytes a test chose. FAIL_REASON: the reason a failing case
    is refused with."""

    FAIL_REASON = "response_malformed"
    # An unverified answer is well formed: its facts are logged, with the
    # signature's state; a malformed one's are not.
    FAIL_KEEPS_FACTS = False

    def setUp(self):
        super().setUp()
        self.cases = {}
        self.canned = CannedUpstream(self._answer)
        self.addCleanup(self.canned.stop)
        port = self.canned.port
        self.specs = {"crl": "crl.ca.test:%d" % port,
                      "aia": "aia.ca.test:%d" % port,
                      "ctl": "ctldl.ca.test:%d" % port}
        self.cfg = dict(crl_hosts=[self.specs["crl"]],
                        ca_issuer_hosts=[self.specs["aia"]],
                        ctl_hosts=[self.specs["ctl"]])

    def _answer(self, req):
        case = self.cases.get(req.target)
        if case is None:
            return Answer(http_answer(b"no such case\n", 404, "Not Found",
                                      "text/plain"))
        return case.answer()

    def url(self, case):
        return "http://%s%s" % (self.specs[case.kind], case.path)

    def exchange(self, proxy, case, timeout=10):
        """The case's GET with Connection: close; reads until the proxy
        closes. Returns (raw, responses, rest)."""
        self.cases[case.path] = case
        before = self.canned.request_count()
        raw = raw_request(proxy.port, http_request(
            "GET", self.url(case), connection="close"), timeout=timeout)
        responses, rest = parse_responses(raw, at_eof=True)
        got = self.canned.wait_requests(before + 1, 2)
        self.assertEqual(len(got), before + 1, "request not forwarded")
        self.assertEqual(got[-1].target, case.path)
        return raw, responses, rest

    def assert_relayed(self, case, raw, responses, rest):
        dump = "%s: %r" % (case.name, raw[:400])
        self.assertEqual(len(responses), 1, dump)
        self.assertEqual(rest, b"", dump)
        r = responses[0]
        self.assertEqual(r.status, case.status, dump)
        assert_rebuilt(self, r, raw, dump, case.content_type, case.body)
        self.assertNotIn(b"X-Canned-Marker", raw, dump)
        return r

    def assert_refused(self, case, raw, responses, rest):
        """ocspgate's own 502 and nothing of the upstream's answer."""
        dump = "%s: %r" % (case.name, raw[:600])
        self.assertEqual(len(responses), 1, dump)
        self.assertEqual(rest, b"", dump)
        r = responses[0]
        self.assertEqual(r.status, 502, dump)
        self.assertEqual(r.header("content-type"), "text/plain", dump)
        self.assertEqual(r.body, refusal_body(self.FAIL_REASON), dump)
        self.assertNotIn(case.marker.encode(), raw, dump)
        self.assertNotIn(b"X-Canned-Marker", raw, dump)
        w = min(12, len(case.body))
        if w >= 3:
            for i in range(0, len(case.body) - w + 1, max(1, w // 2)):
                self.assertNotIn(case.body[i:i + w], raw,
                                 "upstream bytes at %d leaked; %s"
                                 % (i, dump))
        return r

    def failed_event(self, proxy, case, mode, status, body_bytes):
        ev = self.next_event(proxy, event__action="allow",
                             event__reason=self.FAIL_REASON,
                             ocspgate__mode=mode, ocspgate__enforced=True,
                             ocspgate__responder=self.specs[case.kind],
                             http__response__status_code=status,
                             http__response__body__bytes=body_bytes,
                             url__original=self.url(case))
        dump = "%s: %s" % (case.name, json.dumps(ev)[:2000])
        detail = get(ev, "ocspgate.detail")
        if self.FAIL_KEEPS_FACTS:
            self.assertEqual(detail, case.detail, dump)
            self.assertEqual(get(ev, "ocspgate.signature"), "unverified",
                             dump)
            return ev
        self.assertIsInstance(detail, str, dump)
        if case.detail is not None:
            self.assertIn(case.detail, detail, dump)
        # Nothing read from a refused body is logged.
        for key in FACT_KEYS:
            self.assertIsNone(get(ev, key), dump)
        for key in OCSPGATE_FACT_KEYS:
            self.assertNotIn(key, ev["ocspgate"], dump)
        return ev

    def check_failing(self, proxy, case, mode):
        raw, responses, rest = self.exchange(proxy, case)
        if mode == "enforce":
            r = self.assert_refused(case, raw, responses, rest)
            self.failed_event(proxy, case, mode, 502, len(r.body))
        else:
            self.assert_relayed(case, raw, responses, rest)
            self.failed_event(proxy, case, mode, case.status,
                              len(case.body))

    def run_failing(self, cases, modes=("enforce", "monitor"), **cfg):
        for mode in modes:
            proxy = self.proxy(mode, **dict(self.cfg, **cfg))
            for case in cases:
                n = self.counts[proxy] + 1
                with self.subTest(case=case.name, mode=mode):
                    try:
                        self.check_failing(proxy, case, mode)
                    finally:
                        self.counts[proxy] = n

    def check_passing(self, proxy, case, facts_check, mode="enforce"):
        raw, responses, rest = self.exchange(proxy, case)
        dump = "%s: %r" % (case.name, raw[:400])
        self.assertEqual(len(responses), 1, dump)
        self.assertEqual(rest, b"", dump)
        r = responses[0]
        assert_judged(self, r, dump, judged_type(case.path, case.body),
                      case.body)
        self.assertNotIn(b"X-Canned-Marker", raw, dump)
        facts_check(proxy, self.specs[case.kind], self.url(case), r.body,
                    mode=mode)
        return r


class BadBodyTests(CannedTestCase):

    def crl_cases(self):
        k = self.k
        return [
            Case("crl_html", "crl", "ca.crl", HTML, "not a DER or PEM CRL",
                 content_type="text/html"),
            Case("crl_truncated_der", "crl", "ca.crl", k.crl_der[:-1],
                 "not a DER or PEM CRL",
                 content_type="application/pkix-crl"),
            Case("crl_truncated_chunked", "crl", "ca.crl", k.crl_der[:-30],
                 "not a DER or PEM CRL", framing="chunked", chunk=100),
            Case("crl_trailing_byte", "crl", "ca.crl", k.crl_der + b"\x00",
                 "trailing bytes"),
            Case("crl_two_crls", "crl", "ca.crl", k.crl_der + k.crl_der,
                 "trailing bytes"),
            Case("crl_pem_then_junk", "crl", "ca.crl",
                 k.crl_pem + b"<html>junk</html>\n", "trailing bytes"),
            Case("crl_certificate", "crl", "ca.crl", k.sub_der,
                 "not a DER or PEM CRL"),
            Case("crl_pem_certificate", "crl", "ca.crl", k.sub_pem,
                 "not a DER or PEM CRL"),
            Case("crl_empty", "crl", "ca.crl", b"", "not a DER or PEM CRL"),
            Case("crl_status_404", "crl", "ca.crl", HTML, "status",
                 status=404, status_text="Not Found",
                 content_type="text/html"),
            Case("crl_status_203_good_body", "crl", "ca.crl", k.crl_der,
                 "status", status=203,
                 status_text="Non-Authoritative Information",
                 content_type="application/pkix-crl"),
        ]

    def aia_cases(self):
        k = self.k
        return [
            Case("aia_html", "aia", "sub.crt", HTML,
                 "not a DER or PEM certificate", content_type="text/html"),
            Case("aia_truncated_der", "aia", "sub.crt", k.sub_der[:-20],
                 "not a DER or PEM certificate"),
            Case("aia_trailing_byte", "aia", "sub.crt", k.sub_der + b"\n",
                 "trailing bytes"),
            Case("aia_signed_pkcs7", "aia", "chain.p7c", k.signed_p7_der,
                 "PKCS#7 with signers or content",
                 content_type="application/pkcs7-mime"),
            Case("aia_crl", "aia", "sub.crt", k.crl_der,
                 "not a DER or PEM certificate"),
            Case("aia_pem_crl", "aia", "sub.crt", k.crl_pem,
                 "not a DER or PEM certificate"),
            Case("aia_status_404", "aia", "sub.crt", HTML, "status",
                 status=404, status_text="Not Found",
                 content_type="text/html"),
        ]

    def ctl_cases(self):
        k = self.k
        return [
            Case("ctl_cab_one_byte_more", "ctl", "authrootstl.cab",
                 k.authroot_cab + b"\x00", "cabinet size"),
            Case("ctl_cab_cut_short", "ctl", "authrootstl.cab",
                 k.authroot_cab[:-1], "cabinet size"),
            Case("ctl_cab_html", "ctl", "authrootstl.cab", HTML,
                 "not a cabinet", content_type="text/html"),
            Case("ctl_stl_html", "ctl", "authroot.stl", HTML,
                 "not a DER PKCS#7", content_type="text/html"),
            Case("ctl_stl_certificate", "ctl", "authroot.stl", k.sub_der,
                 "PKCS#7"),
            Case("ctl_stl_cabinet", "ctl", "authroot.stl", k.authroot_cab,
                 "PKCS#7"),
            Case("ctl_txt_binary", "ctl", "authrootseq.txt",
                 b"01DB1B2B1A2E0C57\x00\xff\r\n", "binary"),
            Case("ctl_txt_cabinet", "ctl", "authrootseq.txt",
                 k.authroot_cab, "binary"),
            Case("ctl_txt_over_64", "ctl", "authrootseq.txt",
                 b"0123456789ABCDEF\r\n" * 3 + b"0" * 11, "64 bytes",
                 content_type="text/plain"),
            Case("ctl_status_404", "ctl", "disallowedcertstl.cab", HTML,
                 "status", status=404, status_text="Not Found",
                 content_type="text/html"),
        ]

    def test_crl_bodies(self):
        self.run_failing(self.crl_cases())

    def test_issuer_certificate_bodies(self):
        self.run_failing(self.aia_cases())

    def test_trust_list_bodies(self):
        self.assertEqual(len(self.ctl_cases()[8].body), 65)
        self.run_failing(self.ctl_cases())

    def test_class_is_the_host_s(self):
        """What an answer must be comes from the host's class, not from
        its Content-Type: a good CRL from the issuer host, a good
        certificate from the CRL host, a good trust list from either, all
        refused, under file names of the host's class."""
        k = self.k
        self.run_failing([
            Case("crl_on_aia", "aia", "ca.crt", k.crl_der,
                 "not a DER or PEM certificate",
                 content_type="application/pkix-crl"),
            Case("crt_on_crl", "crl", "sub.crl", k.sub_der,
                 "not a DER or PEM CRL",
                 content_type="application/pkix-cert"),
            Case("p7c_on_crl", "crl", "chain.crl", k.p7c_der,
                 "not a DER or PEM CRL"),
            Case("cab_on_crl", "crl", "authrootstl.crl", k.authroot_cab,
                 "not a DER or PEM CRL"),
            Case("cab_on_aia", "aia", "authrootstl.cer", k.authroot_cab,
                 "not a DER or PEM certificate"),
        ])

    def test_file_name_of_another_class(self):
        """A path ending as another class's files do is not of this
        host's shape: refused before anything is sent (path_shape)."""
        proxy = self.proxy("enforce", **self.cfg)
        for n, (kind, path) in enumerate((("aia", "/x/ca.crl"),
                                          ("crl", "/x/sub.crt"),
                                          ("crl", "/x/chain.p7c"),
                                          ("aia", "/x/authrootstl.cab")), 1):
            url = "http://%s%s" % (self.specs[kind], path)
            raw = raw_request(proxy.port, http_request(
                "GET", url, connection="close"))
            responses, _ = parse_responses(raw, at_eof=True)
            self.assertEqual(responses[0].status, 403, path)
            self.assertEqual(responses[0].body,
                             b"ocspgate: blocked (path_shape)\n")
            ev = self.next_event(proxy, event__action="block",
                                 event__reason="path_shape",
                                 ocspgate__responder=self.specs[kind],
                                 url__original=url)
            self.assertIn("does not end", get(ev, "ocspgate.detail"))
            self.counts[proxy] = n
        self.assertEqual(self.canned.request_count(), 0)


class SizeTests(CannedTestCase):
    """max_crl_bytes bounds the answers of all three classes."""

    def test_large_crl_chunked(self):
        """A CRL of thousands of entries in chunks passes whole, with the
        default limit and with a limit of exactly its size."""
        k = self.k
        body = k.big_crl_der
        self.assertGreater(len(body), 150000)
        for limit in (None, len(body)):
            with self.subTest(max_crl_bytes=limit):
                proxy = self.proxy(max_crl_bytes=limit, **self.cfg)
                case = Case("big_%s" % limit, "crl", "big.crl", body,
                            framing="chunked", chunk=8192,
                            content_type="application/pkix-crl")
                self.check_passing(
                    proxy, case,
                    lambda p, spec, url, b, mode: self.crl_event(
                        p, spec, url, b, self.fx.big_crl_facts, "der"))

    def test_over_limit_while_reading(self):
        """No length in the head: the body is counted as it comes."""
        body = self.k.big_crl_der
        self.run_failing([
            Case("big_chunked", "crl", "big.crl", body, "max_crl_bytes",
                 framing="chunked", chunk=8192),
            Case("big_close_delimited", "crl", "big.crl", body,
                 "max_crl_bytes", framing="close"),
        ], max_crl_bytes=len(body) - 1)

    def test_over_limit_by_content_length(self):
        k = self.k
        for kind, file, body in (("crl", "ca.crl", k.crl_der),
                                 ("aia", "chain.p7c", k.p7c_der),
                                 ("ctl", "authrootstl.cab", k.authroot_cab)):
            with self.subTest(kind=kind):
                self.run_failing([Case("len_" + kind, kind, file, body,
                                       "max_crl_bytes")],
                                 max_crl_bytes=len(body) - 1)

    def test_at_limit_by_content_length(self):
        k = self.k
        checks = {
            "crl": lambda p, spec, url, b, mode: self.crl_event(
                p, spec, url, b, self.fx.crl_facts, "der", mode=mode),
            "aia": lambda p, spec, url, b, mode: self.cert_event(
                p, spec, url, b, self.fx.sub_x509, 1, "x509", mode=mode),
            "ctl": lambda p, spec, url, b, mode: self.ctl_event(
                p, spec, url, b, "cab", mode=mode),
        }
        for kind, file, body in (("crl", "ca.crl", k.crl_der),
                                 ("aia", "sub.crt", k.sub_der),
                                 ("ctl", "authrootstl.cab", k.authroot_cab)):
            with self.subTest(kind=kind):
                proxy = self.proxy(max_crl_bytes=len(body), **self.cfg)
                self.check_passing(proxy, Case("at_" + kind, kind, file,
                                               body), checks[kind])

    def test_over_small_limit_in_small_chunks(self):
        """A limit under a few KiB holds for a chunked body too, when no
        chunk alone is over it."""
        body = self.k.crl_der
        self.run_failing([
            Case("small_chunks", "crl", "ca.crl", body, "max_crl_bytes",
                 framing="chunked", chunk=64),
        ], max_crl_bytes=len(body) - 1)

    def test_over_limit_behind_ocsp_request(self):
        """The limit holds for a CRL asked for right behind an OCSP
        request on the same connection (whose answer max_response_body
        bounds instead), as it does for the CRL alone."""
        body = self.k.mid_crl_der
        self.assertTrue(4096 < len(body) < 65536, len(body))
        limit = len(body) - 1
        alone = Case("alone", "crl", "ca.crl", body, "max_crl_bytes",
                     framing="chunked", chunk=1000)
        self.run_failing([alone], modes=("enforce",), max_crl_bytes=limit)
        ocsp_spec = "pki.ca.test:%d" % self.canned.port
        # The answer to the OCSP POST (to "/").
        self.cases["/"] = Case("ocsp", "crl", "", OCSP_RESPONSE_TRY_LATER,
                               content_type="application/ocsp-response")
        crl = Case("behind_ocsp", "crl", "ca.crl", body, "max_crl_bytes",
                   framing="chunked", chunk=1000)
        self.cases[crl.path] = crl
        proxy = self.proxy(max_crl_bytes=limit, responders=[ocsp_spec],
                           **self.cfg)
        der = ocsp_request_der([self.env.pki.cert_id("good")])
        raw = raw_request(proxy.port, ocsp_post("http://%s/" % ocsp_spec,
                                                der) +
                          http_request("GET", self.url(crl),
                                       connection="close"), timeout=10)
        responses, rest = parse_responses(raw, at_eof=True)
        self.assertEqual([r.status for r in responses], [200, 502],
                         repr(raw[:600]))
        self.assertEqual(rest, b"")
        self.assertEqual(responses[0].body, OCSP_RESPONSE_TRY_LATER)
        self.next_event(proxy, event__action="allow",
                        event__reason="ocsp_request")
        self.assertEqual(responses[1].body,
                         refusal_body("response_malformed"))
        self.failed_event(proxy, crl, "enforce", 502, len(responses[1].body))


class GoodCannedTests(CannedTestCase):
    """Forms nginx has no reason to send."""

    def test_pem_with_crlf_and_chunks(self):
        k = self.k
        crl_crlf = k.crl_pem.replace(b"\n", b"\r\n")
        proxy = self.proxy(**self.cfg)
        self.check_passing(
            proxy, Case("crlf", "crl", "ca.crl", b"\r\n" + crl_crlf,
                        framing="chunked", chunk=50),
            lambda p, spec, url, b, mode: self.crl_event(
                p, spec, url, b, self.fx.crl_facts, "pem"))
        self.check_passing(
            proxy, Case("p7c_close", "aia", "chain.p7c", k.p7c_der,
                        framing="close"),
            lambda p, spec, url, b, mode: self.cert_event(
                p, spec, url, b, self.fx.sub_x509 if k.p7c_certs[0] ==
                k.sub_der else self.fx.root_x509, 2, "pkcs7"))
        thumbs = [hashlib.sha1(b"%d" % i).digest() for i in range(1500)]
        big_stl = ctl_signed(ctl_list(thumbs), k.sub_der, [k.root_der],
                             k.dir / "sub.key", self.tmp)
        big_cab = cabinet([("pinrules.stl", big_stl)], mszip=True)
        self.assertGreater(len(big_stl), 3 * 32768)
        self.check_passing(
            proxy, Case("cab_chunks", "ctl", "pinrulesstl.cab", big_cab,
                        framing="chunked", chunk=4000),
            lambda p, spec, url, b, mode: self.ctl_event(
                p, spec, url, b, "cab", entries=1500))


# --------------------------------------------------------------------------
# Requests that are not fetches

class RefusedRequestTests(CannedTestCase):
    """Requests to the fetch hosts that are not a plain GET of the right
    thing: refused with 403, and nothing reaches the host."""

    def refused(self, proxy, url, args=(), reason="unknown_responder"):
        if args is None:
            # Sent as it is: curl drops an empty query's '?'.
            raw = raw_request(proxy.port, http_request(
                "GET", url, connection="close"))
            responses, _ = parse_responses(raw, at_eof=True)
            self.assertEqual(len(responses), 1, repr(raw[:300]))
            status, body = responses[0].status, responses[0].body
        else:
            status, _, body = curl(proxy.port, url, self.tmp, args)
        self.assertEqual(status, 403, "%s %r" % (url, body[:200]))
        self.assertEqual(body, b"ocspgate: blocked (%s)\n" % reason.encode())
        return self.blocked_event(proxy, reason, url__original=url)

    def test_refused(self):
        proxy = self.proxy(**self.cfg)
        crl = "http://%s/crl/ca.crl" % self.specs["crl"]
        aia = "http://%s/aia/sub.crt" % self.specs["aia"]
        ctl = "http://%s%s" % (self.specs["ctl"], CTL_DIR)
        body = self.tmp / "post.bin"
        body.write_bytes(self.k.crl_der)
        cases = [
            ("post_crl", crl, ["--data-binary", "@%s" % body]),
            ("post_crl_ocsp_type", crl,
             ["--data-binary", "@%s" % body, "-H",
              "Content-Type: application/ocsp-request"]),
            ("post_aia", aia, ["--data-binary", "@%s" % body]),
            ("get_with_body", crl, ["-X", "GET", "--data-binary",
                                    "@%s" % body]),
            ("query_crl", crl + "?v=2", []),
            ("empty_query_crl", crl + "?", None),
            ("query_aia", aia + "?download=1", []),
            ("query_ctl", ctl + "authrootstl.cab?x=1", []),
            ("ctl_exe", ctl + "evil.exe", []),
            ("ctl_double_extension", ctl + "authrootstl.cab.exe", []),
            ("ctl_directory", ctl + "authrootstl.cab/", []),
            ("ctl_escaped_name", ctl + "%61uthrootstl.cab", []),
            ("ctl_crl_name", ctl + "ca.crl", []),
            ("crl_other_port", "http://crl.ca.test:%d/crl/ca.crl"
             % harness.free_port(), []),
            ("unlisted_host", "http://other.ca.test:%d/crl/ca.crl"
             % self.canned.port, []),
        ]
        # A listed host's path (or query) of no shape of its class.
        shape = {"query_crl", "empty_query_crl", "query_aia", "query_ctl",
                 "ctl_exe", "ctl_double_extension", "ctl_directory",
                 "ctl_escaped_name", "ctl_crl_name"}
        for name, url, args in cases:
            with self.subTest(case=name):
                n = self.counts[proxy] + 1
                try:
                    ev = self.refused(
                        proxy, url, args,
                        "path_shape" if name in shape
                        else "unknown_responder")
                    if name not in shape:
                        self.assertNotIn("responder", ev["ocspgate"])
                finally:
                    self.counts[proxy] = n
        with self.subTest(case="head"):
            status, _, _ = curl(proxy.port, crl, self.tmp, ["-I"])
            self.assertEqual(status, 403)
            self.blocked_event(proxy, "method_not_allowed")
        self.assertEqual(self.canned.request_count(), 0,
                         [r.target for r in self.canned.requests])

    def test_monitor_forwards_what_it_would_refuse(self):
        """In monitor mode a refused request goes through, logged as a
        block that was not enforced; its answer is not judged."""
        proxy = self.proxy("monitor", **self.cfg)
        case = Case("exe", "ctl", "evil.exe", b"MZ\x90\x00 binary")
        self.cases[case.path] = case
        url = self.url(case)
        status, _, body = curl(proxy.port, url, self.tmp)
        self.assertEqual((status, body), (200, case.body))
        ev = self.next_event(proxy, event__action="block",
                             event__reason="path_shape",
                             ocspgate__mode="monitor",
                             ocspgate__enforced=False,
                             http__response__status_code=200,
                             url__original=url)
        self.assertNotIn("ctl", ev["ocspgate"])


if __name__ == "__main__":
    unittest.main()
