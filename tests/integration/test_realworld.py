"""Real clients' shapes replayed through the shipped configuration.

Every shape of tests/data/realworld/index.json (the exact bytes a real
client sent: Windows CryptoAPI, Firefox, macOS trustd, Java, OpenSSL,
GnuTLS, Go, curl, certutil; and covert-channel carriers dressed as them)
goes through the real binary running on conf/ocspgate.conf as shipped.
Only the listening addresses, the event log, the hosts file and the
resolvers are changed, so that every name resolves to one loopback
address where a local origin plays the responder, CDP, AIA or Windows
Update host. Nothing leaves loopback: the resolvers point at a fake DNS
that answers NXDOMAIN.

Each shape states what the product must do (allowed and forwarded with
its reason, or refused with nothing forwarded) and, for allowed ones,
that the answer reaches the client. Origin-form captures (sent straight
to the server) are replayed as an explicit-proxy request: the request
line gets the absolute-form target, every other byte is as captured.
"""

import base64
import json
import os
import random
import re
import socket
import subprocess
import sys
import threading
import time
import unittest
import urllib.parse
from pathlib import Path

import ocspgate_harness as h
from ocsp_forge import offline_response
from pki_fetch import FetchPKI, cabinet, pem_der

CORPUS = h.REPO / "tests" / "data" / "realworld"
SHIPPED = h.REPO / "conf" / "ocspgate.conf"
SHAPE_TIMEOUT = 10  # seconds for one shape's answer


def load_index():
    return json.loads((CORPUS / "index.json").read_text())["shapes"]


def shipped_config(listen, event_log, hosts_file, dns):
    """conf/ocspgate.conf with only the settings that bind addresses,
    write the log or resolve names changed; everything else as shipped.
    The admin endpoint is left out: its fixed port would be one more
    address to race other tests for, and nothing here reads it."""
    text = SHIPPED.read_text()
    subs = [
        (r"^listen\s*=.*$", 'listen = [ "%s" ];' % listen),
        (r"^event_log\s*=.*$", 'event_log = "%s";' % event_log),
        (r"^hosts_file\s*=.*$", 'hosts_file = "%s";' % hosts_file),
        (r"^#?\s*resolvers\s*=.*$", 'resolvers = [ "%s" ];' % dns),
        (r"^admin_listen\s*=.*$", "# admin_listen: not in this test"),
    ]
    for pattern, repl in subs:
        text, n = re.subn(pattern, repl, text, count=1, flags=re.M)
        if n != 1:
            raise AssertionError("shipped config has no line for %s"
                                 % pattern)
    return text


def config_hosts(text):
    """Every host name the shipped config lists (wildcards left out)."""
    names = set()
    text = re.sub(r"#[^\n]*", "", text)
    for s in re.findall(r'"([^"\n]+)"', text):
        host = s.split("/", 1)[0].split(":", 1)[0]
        if re.search(r"[a-z]", host, re.I) and "." in host and \
                not host.startswith("*") and \
                re.fullmatch(r"[A-Za-z0-9.-]+", host):
            names.add(host.lower())
    return names


def split_request(raw):
    """(request line, rest of head and body) of one request's bytes."""
    line, sep, rest = raw.partition(b"\r\n")
    if not sep:
        raise ValueError("no request line")
    return line, rest


def as_absolute(shape, raw):
    """The bytes an explicit-proxy client sends for this shape."""
    if shape["form"] == "absolute":
        return raw
    line, rest = split_request(raw)
    method, target, version = line.split(b" ")
    line = b"%s http://%s%s %s" % (method, shape["target"].encode(),
                                   target, version)
    return line + b"\r\n" + rest


def request_der(raw):
    """The DER OCSP request a shape's bytes carry (POST body, or the
    base64 after the last segments of a GET path)."""
    req, _ = h.parse_request(raw)
    if req.method == "POST":
        return req.body
    path = urllib.parse.urlsplit(req.target).path if \
        req.target.startswith("http") else req.target
    segs = path.split("/")
    # The base64 may itself contain '/': take the longest tail that
    # decodes to a DER SEQUENCE spanning all of it.
    for i in range(1, len(segs)):
        tail = urllib.parse.unquote("/".join(segs[i:]))
        try:
            der = base64.b64decode(tail + "=" * (-len(tail) % 4))
        except ValueError:
            continue
        if der[:1] == b"\x30":
            try:
                _, _, end = h.der_read(der)
            except (ValueError, IndexError):
                continue
            if end == len(der):
                return der
    raise AssertionError("no OCSP request in %r" % path[:200])


def http_answer(status_line, headers, body):
    head = [status_line] + ["%s: %s" % kv for kv in headers]
    head.append("Content-Length: %d" % len(body))
    return ("\r\n".join(head) + "\r\n\r\n").encode("latin-1") + body


def answer_body(raw):
    head, _, body = raw.partition(b"\r\n\r\n")
    return body


class Origin(h.ThreadedServer):
    """The responder/CDP/AIA/Windows Update host on <address>:80: answers
    every request with the bytes of self.answer and records what it got.
    self.answer may be a pair (whole, not modified): a server keeping a
    304 for requests with a validator, as real ones do."""

    def __init__(self, address):
        self.address = address
        self.lock = threading.Lock()
        self.connections = 0
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind((address, 80))
        self.sock.listen(64)
        self.sock.settimeout(0.05)
        self.port = 80
        self._stop = threading.Event()
        self._threads = []
        self.answer = None
        self.requests = []
        self._accept = threading.Thread(target=self._accept_loop,
                                        daemon=True)
        self._accept.start()

    def handle(self, conn):
        conn.settimeout(0.05)
        pending = bytearray()
        try:
            while not self._stop.is_set():
                try:
                    chunk = conn.recv(65536)
                except socket.timeout:
                    continue
                if not chunk:
                    return
                pending += chunk
                for _ in range(16):
                    try:
                        got = h.parse_request(pending)
                    except ValueError:
                        return
                    if got is None:
                        break
                    req, n = got
                    del pending[:n]
                    with self.lock:
                        self.requests.append(req)
                        answer = self.answer
                    if answer is None:
                        return
                    if isinstance(answer, tuple):
                        conditional = req.header("if-modified-since") or \
                            req.header("if-none-match")
                        answer = answer[1] if conditional else answer[0]
                    conn.settimeout(h.scaled(5))
                    conn.sendall(answer)
                    conn.settimeout(0.05)
                    if b"\r\nconnection: close" in \
                            answer.split(b"\r\n\r\n")[0].lower():
                        conn.shutdown(socket.SHUT_WR)
                        self._stop.wait(0.05)
                        return
        except OSError:
            pass
        finally:
            conn.close()

    def count(self):
        with self.lock:
            return len(self.requests)

    def last(self):
        with self.lock:
            return self.requests[-1] if self.requests else None


class CorpusTests(unittest.TestCase):
    """The corpus itself: every shape is complete and cited."""

    def test_every_shape_is_complete_and_cited(self):
        shapes = load_index()
        sources = (CORPUS / "SOURCES.md").read_text()
        ids = [s["id"] for s in shapes]
        self.assertEqual(len(ids), len(set(ids)), "duplicate ids")
        self.assertGreaterEqual(len(shapes), 30)
        for s in shapes:
            with self.subTest(shape=s["id"]):
                for k in ("client", "version", "class", "target", "form",
                          "request", "source", "expect", "body_origin"):
                    self.assertIn(k, s)
                self.assertIn(s["form"], ("origin", "absolute"))
                self.assertIn(s["id"], sources, "not in SOURCES.md")
                raw = (CORPUS / s["request"]).read_bytes()
                got = h.parse_request(raw)
                self.assertIsNotNone(got, "request incomplete")
                req, n = got
                self.assertEqual(n, len(raw), "bytes after the request")
                e = s["expect"]
                self.assertIn(e["action"], ("allow", "block"))
                self.assertEqual(e["forwarded"], e["action"] == "allow")
                if e["action"] == "allow":
                    self.assertIsNotNone(s["answer"])
                if s["answer"] and s["answer"].get("file"):
                    self.assertTrue((CORPUS / s["answer"]["file"]).exists())
                if s["class"] in ("ocsp_get", "ocsp_post") or \
                        (s.get("answer") or {}).get("kind") == \
                        "ocsp_for_request":
                    der = request_der(raw)
                    self.assertEqual(der[:1], b"\x30")

    def test_shipped_config_loads(self):
        r = subprocess.run([h.binary(), "-t", "-c", str(SHIPPED)],
                           capture_output=True, text=True, timeout=30,
                           env=h.clean_env())
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)

    def test_shipped_config_names_the_hosts_real_clients_use(self):
        """The hosts Windows itself and the corpus's allowed shapes ask."""
        text = SHIPPED.read_text()
        names = config_hosts(text)
        for host in ("crl.microsoft.com", "mscrl.microsoft.com",
                     "www.microsoft.com", "ctldl.windowsupdate.com",
                     "www.download.windowsupdate.com",
                     "oneocsp.microsoft.com", "ocsp.pki.goog",
                     "ocsp.digicert.com", "ocsp.sectigo.com"):
            self.assertIn(host, names)
        self.assertIn('"www.microsoft.com/pki/', text)
        self.assertIn('"www.microsoft.com/pkiops/', text)
        for s in load_index():
            if s["expect"]["action"] == "allow":
                t = s["target"]
                listed = t in names or any(
                    w.startswith("*.") and t.endswith(w[1:])
                    and t.count(".") == w.count(".")
                    for w in re.findall(r'"(\*\.[^"/]+)',
                                        re.sub(r"#[^\n]*", "", text)))
                self.assertTrue(listed, "%s: %s not listed" % (s["id"], t))


class RealWorldReplay(unittest.TestCase):
    """Every shape through the binary on the shipped config."""

    @classmethod
    def setUpClass(cls):
        h.binary()
        cls.env = h.Env.get()
        cls.tmp = Path(cls.env.dir) / "realworld"
        cls.tmp.mkdir(exist_ok=True)
        cls.shapes = load_index()
        rng = random.Random(os.getpid())
        cls.origin = None
        for _ in range(20):
            addr = "127.%d.%d.%d" % (rng.randint(64, 250),
                                     rng.randint(1, 250),
                                     rng.randint(1, 250))
            try:
                cls.origin = Origin(addr)
                break
            except PermissionError:
                raise unittest.SkipTest("binding port 80 needs root")
            except OSError:
                continue
        if cls.origin is None:
            raise unittest.SkipTest("no free loopback address for port 80")
        names = config_hosts(SHIPPED.read_text())
        names |= {s["target"] for s in cls.shapes}
        cls.hosts = cls.tmp / "hosts"
        cls.hosts.write_text("# every name of the corpus, on loopback\n" +
                             "".join("%s\t%s\n" % (cls.origin.address, n)
                                     for n in sorted(names)))
        cls.fx = FetchPKI(cls.tmp / "fetchpki")
        cls.results = {}

    @classmethod
    def tearDownClass(cls):
        if cls.origin is not None:
            cls.origin.stop()
        if cls.results:
            width = max(len(k) for k in cls.results)
            lines = ["%-*s %s" % (width, k, v)
                     for k, v in sorted(cls.results.items())]
            sys.stderr.write("\nreal-world shapes:\n  " +
                             "\n  ".join(lines) + "\n")

    # -- answers -----------------------------------------------------------

    def answer_for(self, shape, raw):
        """What the origin sends: the shape's answer, or with
        "unconditional" the pair (that one, the recorded 304)."""
        answer = self.answer_of(shape["answer"], raw)
        if shape.get("unconditional"):
            return (self.answer_of(shape["unconditional"], raw), answer)
        return answer

    def answer_of(self, a, raw):
        if a is None:
            return None
        kind = a["kind"]
        if kind in ("raw", "raw_text"):
            return (CORPUS / a["file"]).read_bytes()
        if kind == "ocsp_for_request":
            pki = self.env.pki
            body = offline_response(request_der(raw), pki.index, pki.ca,
                                    pki.ocsp, pki.ocsp_key, self.tmp)
            return http_answer("HTTP/1.1 200 OK", [
                ("Content-Type", "application/ocsp-response"),
                ("Cache-Control",
                 "max-age=300, public, no-transform, must-revalidate"),
                ("Date", time.strftime("%a, %d %b %Y %H:%M:%S GMT",
                                       time.gmtime()))], body)
        if kind == "crl":
            return http_answer("HTTP/1.1 200 OK", [
                ("Content-Type", "application/pkix-crl"),
                ("Cache-Control", "max-age=3600")], self.fx.crl_der)
        if kind == "cab":
            return http_answer("HTTP/1.1 200 OK", [
                ("Content-Type", "application/vnd.ms-cab-compressed"),
                ("ETag", '"0ebbae1d7ead61:0"')],
                cabinet([(a["member"], self.fx.stl)]))
        if kind == "file":
            data = (CORPUS / a["file"]).read_bytes()
            if a.get("der"):
                data = pem_der(data)
            return http_answer("HTTP/1.1 200 OK", [
                ("Content-Type", a["content_type"])], data)
        raise AssertionError("unknown answer kind %r" % kind)

    # -- the replay --------------------------------------------------------

    def start_proxy(self):
        dns = h.FakeDNS()
        self.addCleanup(dns.stop)  # stop() twice is harmless
        events = self.tmp / ("events-%d.jsonl" % time.monotonic_ns())
        text = shipped_config("127.0.0.1:0", events, self.hosts,
                              dns.address)
        d = self.tmp / ("proxy-%d" % time.monotonic_ns())
        d.mkdir()
        p = h.Proxy(d, text)
        self.addCleanup(h.finish_proxy, self, p,
                        lambda ev: h.assert_event_shape(self, ev))
        return p, dns

    def replay(self, proxy, shape, n):
        """Sends one shape; returns (response or None, event, origin
        requests added, answer bytes)."""
        raw = (CORPUS / shape["request"]).read_bytes()
        answer = self.answer_for(shape, raw)
        with self.origin.lock:
            self.origin.answer = answer
        before = self.origin.count()
        resp = None
        with h.Client(proxy.port, timeout=SHAPE_TIMEOUT) as c:
            c.send(as_absolute(shape, raw))
            try:
                resp = c.read_response(timeout=SHAPE_TIMEOUT)
            except AssertionError as e:
                resp = e
        evs = proxy.wait_events(n, timeout=SHAPE_TIMEOUT)
        if isinstance(answer, tuple):
            answer = answer[0]
        return resp, evs[n - 1], self.origin.count() - before, answer

    def check(self, shape, resp, ev, forwarded, answer):
        e = shape["expect"]
        problems = []
        got = (h.get(ev, "event.action"), h.get(ev, "event.reason"))
        want_reason = e.get("reason")
        if got[0] != e["action"] or (want_reason and
                                     got[1] != want_reason):
            problems.append("event %s/%s, want %s/%s (%s)" % (
                got[0], got[1], e["action"], want_reason or "any",
                h.get(ev, "ocspgate.detail", "")))
        if e["action"] == "block" and got[1] not in h.REASONS_BLOCK and \
                got[0] == "block":
            problems.append("block reason %s is not a block reason" % got[1])
        if bool(forwarded) != e["forwarded"]:
            problems.append("origin got %d request(s), want %s" % (
                forwarded, "one" if e["forwarded"] else "none"))
        if isinstance(resp, AssertionError):
            problems.append("client got no answer: %s" % str(resp)[:200])
        else:
            if resp.status != e["status"]:
                problems.append("client got %d %r, want %d" % (
                    resp.status, resp.body[:80], e["status"]))
            elif e.get("body") == "answer" and \
                    resp.body != answer_body(answer):
                problems.append("client's body (%d bytes) is not the "
                                "origin's (%d bytes)"
                                % (len(resp.body), len(answer_body(answer))))
            for name in e.get("client_must_not_see", ()):
                if resp.header(name) is not None:
                    problems.append("client saw header %s" % name)
        for flag in e.get("flags", ()):
            flags = h.get(ev, "ocspgate.ocsp.request.flags") or []
            if flag not in flags:
                problems.append("flag %s missing from %s" % (flag, flags))
        return problems

    def test_replay_every_shape(self):
        """Each shape on a proxy of its own, so that one shape's answer
        in the response cache does not stand in for the next one's."""
        for shape in self.shapes:
            with self.subTest(shape=shape["id"]):
                proxy, dns = self.start_proxy()
                try:
                    resp, ev, forwarded, answer = self.replay(proxy, shape,
                                                              1)
                    problems = self.check(shape, resp, ev, forwarded,
                                          answer)
                    if dns.names():
                        problems.append("names went to DNS: %s"
                                        % dns.names())
                finally:
                    # One proxy at a time: stopped (clean exit, complete
                    # events) before the next shape starts its own.
                    h.finish_proxy(self, proxy,
                                   lambda e: h.assert_event_shape(self, e))
                    dns.stop()
                self.results[shape["id"]] = "ok" if not problems else \
                    "FAIL: " + "; ".join(problems)
                self.assertEqual(problems, [], shape.get("note", ""))

    def test_origin_gets_no_client_only_header(self):
        """What the covert-channel rules promise for the headers of an
        allowed request: no Cookie, no X-* reaches the origin."""
        proxy, _ = self.start_proxy()
        shape = next(s for s in self.shapes
                     if s["id"] == "apple-trustd30-get-digicert-sha1-no-null")
        raw = (CORPUS / shape["request"]).read_bytes()
        raw = raw.replace(b"\r\n\r\n", b"\r\nCookie: a=b\r\n\r\n", 1)
        with self.origin.lock:
            self.origin.answer = self.answer_for(shape, raw)
        before = self.origin.count()
        with h.Client(proxy.port, timeout=SHAPE_TIMEOUT) as c:
            c.send(as_absolute(shape, raw))
            try:
                c.read_response(timeout=SHAPE_TIMEOUT)
            except AssertionError:
                pass
        proxy.wait_events(1, timeout=SHAPE_TIMEOUT)
        self.assertEqual(self.origin.count(), before + 1,
                         "a real request with one small cookie is forwarded")
        req = self.origin.last()
        self.assertIsNone(req.header("Cookie"))
        self.assertIsNone(req.header("X-Apple-Request-UUID"))


if __name__ == "__main__":
    unittest.main()
