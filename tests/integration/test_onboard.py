"""Onboarding with monitor mode and `ocspgate -S`, end to end.

A gate in monitor mode sees real traffic to hosts its config does not
list: `openssl ocsp` clients and curl GETs to an `openssl ocsp`
responder under an unlisted name, CRL and issuer-certificate fetches
from nginx serving files made with the openssl CLI, a web page, and a
".crl" that is an HTML page. Each well-formed status request is logged
as unknown_responder with ocspgate.candidate, forwarded, and its answer
judged and its signature checked against ca_file. `ocspgate -S` turns
the log (plain and gzip-rotated) into a snippet; pasted into the config
it passes `ocspgate -t`, and after a reload in enforce mode the same
traffic is allowed while everything else is still refused.
"""

import gzip
import json
import re
import signal
import subprocess
import tempfile
import unittest
import urllib.parse
from pathlib import Path

from ocspgate_harness import (
    REPO, Client, ProxyTestCase, b64, binary, clean_env, config_text,
    curl_get,
    free_port, get, get_cryptoapi, openssl_ocsp_client, openssl_reqout,
    scaled, write_hosts_file)
from pki_fetch import FetchPKI, Nginx

HOSTS = ["ocsp.listed.test", "ocsp.new.test", "crl.new.test",
         "aia.new.test", "web.new.test", "crl.bad.test"]
# The log of OnboardTest's monitor-mode traffic (step 1) as ocspgate wrote
# it before its lines followed ECS 8.17.0: no ecs.version, the OCSP, CRL
# and certificate facts at the top level (ocsp, crl, x509), hex in
# lowercase. Nothing else in it differs.
BEFORE_ECS = REPO / "tests" / "data" / "events" / "monitor-before-ecs.jsonl"


def before_ecs(ev):
    """The line <ev> as ocspgate wrote it before its lines followed ECS:
    what moved moved back, what was added gone, hex in lowercase."""
    ev = json.loads(json.dumps(ev))
    for k in ("ecs", "observer", "network", "related"):
        ev.pop(k, None)
    for k in ("type", "outcome", "module", "dataset"):
        ev["event"].pop(k, None)
    og = ev["ocspgate"]
    # Added since: the signature's state of OCSP answers and issuer
    # certificates (a CRL's was there).
    if "crl" not in og:
        og.pop("signature", None)
    moved = {"crl": og.pop("crl", None),
             "x509": ev.pop("file", {}).get("x509"),
             "ocsp": og.pop("ocsp", None)}
    ev.update({k: v for k, v in moved.items() if v is not None})

    def lower(v, key=""):
        if isinstance(v, dict):
            return {k: lower(x, k) for k, x in v.items()}
        if isinstance(v, list):
            return [lower(x, key) for x in v]
        if key in ("serial", "serial_number", "number", "issuer_name_hash",
                   "issuer_key_hash", "responder_key_hash", "thumbprint"):
            return v.lower()
        return v
    for k in ("ocsp", "crl", "x509"):
        if k in ev:
            ev[k] = lower(ev[k])
    if "ctl" in og:
        og["ctl"] = lower(og["ctl"])
    return ev


def paths(ev, prefix=""):
    """The dotted names of every scalar of <ev>."""
    out = set()
    for k, v in ev.items():
        for x in (v if isinstance(v, list) else [v]):
            if isinstance(x, dict):
                out |= paths(x, prefix + k + ".")
            else:
                out.add(prefix + k)
    return out
HTML = b"<!DOCTYPE html>\n<html><body>captive portal</body></html>\n"


def run_ocspgate(args, stdin=None, timeout=30):
    """ocspgate with <args>: (exit status, stdout, stderr)."""
    p = subprocess.run([binary(), *args], input=stdin, capture_output=True,
                       env=clean_env(), timeout=scaled(timeout))
    return p.returncode, p.stdout.decode(), p.stderr.decode()


def snippet_lists(text):
    """{list name: [entries]} of the settings a snippet holds (comments
    and commented-out entries left out)."""
    out = {}
    for m in re.finditer(r"^([a-z_]+) = \(\n(.*?)^\);$", text, re.M | re.S):
        out[m.group(1)] = re.findall(r'^\t"([^"]+)",?$', m.group(2), re.M)
    return out


def paste(config, text):
    """<config> with the snippet <text> pasted as an operator would: the
    entries of a list the config already has go into that list, other
    lists are added whole."""
    for name, entries in snippet_lists(text).items():
        quoted = ", ".join('"%s"' % e for e in entries)
        m = re.search(r"^%s = \((.*?)\);" % name, config, re.M | re.S)
        if m is None:
            config += "%s = ( %s );\n" % (name, quoted)
        else:
            config = (config[:m.end(1)] + ",\n  " + quoted +
                      config[m.end(1):])
    return config


class OnboardTest(ProxyTestCase):
    """The whole walk, on one gate."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        d = Path(tempfile.mkdtemp(prefix="onboard-", dir=cls.env.dir))
        cls.dir = d
        cls.fetch = FetchPKI(d / "fetch-pki")
        www = d / "www"
        for path, body in (("crl/ca.crl", cls.fetch.crl_der),
                           ("aia/sub.crt", cls.fetch.sub_der),
                           ("crl/portal.crl", HTML),
                           ("index.html", HTML)):
            (www / path).parent.mkdir(parents=True, exist_ok=True)
            (www / path).write_bytes(body)
        cls.nginx = Nginx(www, d / "nginx")
        cls.addClassCleanup(cls.nginx.stop)
        cls.hosts = d / "hosts"
        write_hosts_file(cls.hosts, HOSTS)
        # The trust store: the OCSP test CA and the fetch root.
        cls.bundle = d / "bundle.pem"
        cls.bundle.write_bytes(Path(cls.pki.ca).read_bytes() +
                               cls.fetch.root_pem)

    def url(self, host, path, port=None):
        return "http://%s:%d%s" % (host, port or self.nginx.port, path)

    def curl(self, proxy, url, interface=None):
        """GET through the proxy: (status, body)."""
        out = self.tmp / "curl.body"
        cmd = ["curl", "-sS", "--path-as-is", "-x",
               "http://127.0.0.1:%d" % proxy.port, "-o", str(out), "-w",
               "%{http_code}", "--max-time", str(int(scaled(10)))]
        if interface:
            cmd += ["--interface", interface]
        p = subprocess.run(cmd + [url], capture_output=True,
                           env=clean_env(), timeout=scaled(20))
        code = p.stdout.decode().strip()
        return (int(code) if code.isdigit() else 0,
                out.read_bytes() if out.exists() else b"")

    def traffic(self, proxy):
        """The fleet's requests, in a fixed order; returns what each got:
        (label, status or openssl exit code, detail)."""
        rport = self.resp.port
        got = []
        for host in ("ocsp.new.test", "ocsp.new.test", "ocsp.listed.test"):
            r = openssl_ocsp_client(
                self.pki, proxy.port, "http://%s:%d/" % (host, rport),
                tmpdir=self.tmp, cafile=self.pki.ca)
            got.append((host + " POST", r.returncode, r.statuses))
        # An RFC 5019 GET from another source address.
        path = "/" + urllib.parse.quote(b64(self.get_der), safe="")
        status, body = self.curl(proxy, "http://ocsp.new.test:%d%s"
                                 % (rport, path), interface="127.0.0.2")
        got.append(("ocsp.new.test GET", status, len(body)))
        for label, url in (
                ("crl", self.url("crl.new.test", "/crl/ca.crl")),
                ("crl again", self.url("crl.new.test", "/crl/ca.crl")),
                ("aia", self.url("aia.new.test", "/aia/sub.crt")),
                ("portal crl", self.url("crl.bad.test", "/crl/portal.crl")),
                ("web", self.url("web.new.test", "/index.html"))):
            status, body = self.curl(proxy, url)
            got.append((label, status, body))
        return got

    def config(self, mode):
        return config_text({
            "listen": ["127.0.0.1:0"],
            "mode": mode,
            "event_log": str(self.tmp / "events.jsonl"),
            "hosts_file": str(self.hosts),
            "resolvers": [self.env.dns.address],
            "ca_file": str(self.bundle),
            "responders": ["ocsp.listed.test:%d" % self.resp.port],
        })

    def test_monitor_suggest_paste_enforce(self):
        self.get_der = openssl_reqout(self.pki, tmpdir=self.tmp)
        rport, nport = self.resp.port, self.nginx.port
        proxy = self.start_proxy(self.config("monitor"))
        code, out, err = run_ocspgate(["-t", "-c", str(proxy.conf_path)])
        self.assertEqual(code, 0, err)
        self.assertIn("ocspgate: candidates: answers checked against 2 "
                      "certificates of %s\n" % self.bundle, out)

        # 1. Monitor mode: everything is forwarded, the answers come back.
        got = self.traffic(proxy)
        self.assertEqual(got[0][1:], (0, {"good": "good"}), got)
        self.assertEqual(got[1][1:], (0, {"good": "good"}), got)
        self.assertEqual(got[2][1:], (0, {"good": "good"}), got)
        self.assertEqual(got[3][1], 200, got)
        self.assertEqual(got[4][1:], (200, self.fetch.crl_der))
        self.assertEqual(got[6][1:], (200, self.fetch.sub_der))
        self.assertEqual(got[7][1:], (200, HTML))  # monitor mode relays
        self.assertEqual(got[8][1:], (200, HTML))
        evs = proxy.wait_events(9)
        by = {}
        for ev in evs:
            by.setdefault((get(ev, "destination.domain"),
                           get(ev, "http.request.method")), []).append(ev)
        dump = json.dumps(evs, indent=1)[:6000]

        # The candidates: class, a valid answer, a verified signature.
        for host, method, cls, n in (
                ("ocsp.new.test", "POST", "ocsp", 2),
                ("ocsp.new.test", "GET", "ocsp", 1),
                ("crl.new.test", "GET", "crl", 2),
                ("aia.new.test", "GET", "ca_issuer", 1)):
            self.assertEqual(len(by[(host, method)]), n, dump)
            for ev in by[(host, method)]:
                og = ev["ocspgate"]
                self.assertEqual(get(ev, "event.action"), "block", dump)
                self.assertEqual(get(ev, "event.reason"),
                                 "unknown_responder", dump)
                self.assertFalse(og["enforced"], dump)
                self.assertEqual(og.get("candidate"), cls, dump)
                self.assertEqual(og.get("candidate_answer"), "valid", dump)
                self.assertIs(og.get("candidate_verified"), True, dump)
                self.assertNotIn("candidate_detail", og, dump)
        post = by[("ocsp.new.test", "POST")][0]
        self.assertEqual(get(post, "ocspgate.ocsp.response.status"),
                         "successful")
        self.assertEqual(
            get(post, "ocspgate.ocsp.response.certs")[0]["status"], "good")
        self.assertEqual(get(post, "ocspgate.ocsp.request.certs")[0]["serial"],
                         "1A2B3C")
        self.assertEqual(get(by[("ocsp.new.test", "GET")][0], "source.ip"),
                         "127.0.0.2")
        crl = by[("crl.new.test", "GET")][0]
        self.assertEqual(get(crl, "ocspgate.crl.number"), "1000", dump)
        aia = by[("aia.new.test", "GET")][0]
        self.assertEqual(get(aia, "file.x509.serial_number"), "C0FFEE42", dump)
        # The portal page named .crl: a candidate whose answer failed.
        bad = by[("crl.bad.test", "GET")][0]["ocspgate"]
        self.assertEqual(bad.get("candidate"), "crl", dump)
        self.assertEqual(bad.get("candidate_answer"), "response_malformed",
                         dump)
        self.assertNotIn("candidate_verified", bad, dump)
        # Neither the listed responder nor a web page is a candidate.
        listed = by[("ocsp.listed.test", "POST")][0]
        self.assertEqual(get(listed, "event.reason"), "ocsp_request")
        self.assertNotIn("candidate", listed["ocspgate"])
        web = by[("web.new.test", "GET")][0]
        self.assertEqual(get(web, "event.reason"), "unknown_responder")
        self.assertNotIn("candidate", web["ocspgate"])

        # 2. -S on the log, its older half rotated and gzipped.
        log = (self.tmp / "events.jsonl").read_bytes()
        lines = log.splitlines(keepends=True)
        rotated = self.tmp / "events.jsonl.1.gz"
        rotated.write_bytes(gzip.compress(b"".join(lines[:4])))
        current = self.tmp / "events.current.jsonl"
        current.write_bytes(b"".join(lines[4:]))
        code, out, err = run_ocspgate(
            ["-S", "-c", str(proxy.conf_path), str(rotated), str(current)])
        self.assertEqual((code, err), (0, ""), out)
        code, whole, _ = run_ocspgate(
            ["-S", "-c", str(proxy.conf_path), "-"], stdin=log)
        self.assertEqual((code, whole), (0, out))
        # A log that spans the upgrade: its older half in the layout of
        # before ECS 8.17.0 (the layout of the recorded log of this very
        # traffic, field for field), the rest as written now. -S reads
        # only fields that did not move, so it suggests the same.
        evs_all = [json.loads(l) for l in lines]
        old = [json.loads(l) for l in
               BEFORE_ECS.read_text().splitlines()]
        self.assertEqual([paths(before_ecs(e)) for e in evs_all],
                         [paths(e) for e in old])
        upgraded = self.tmp / "events.upgraded.jsonl"
        upgraded.write_text("".join(json.dumps(before_ecs(e)) + "\n"
                                    for e in evs_all[:4]) +
                            "".join(l.decode() for l in lines[4:]))
        code, across, err = run_ocspgate(
            ["-S", "-c", str(proxy.conf_path), str(upgraded)])
        self.assertEqual((code, err, across), (0, "", out))
        lists = snippet_lists(out)
        self.assertEqual(lists, {
            "responders": ["ocsp.new.test:%d" % rport],
            "crl_hosts": ["crl.new.test:%d" % nport],
            "ca_issuer_hosts": ["aia.new.test:%d" % nport],
        }, out)
        self.assertIn("# ocspgate -S: 9 event lines read (0 unreadable)", out)
        self.assertIn("\t# 3 requests from 2 sources, ", out)
        self.assertIn("\t#   answers: 3 valid; signature verified in 3 of 3\n"
                      '\t"ocsp.new.test:%d"' % rport, out)
        self.assertIn("\t#   answers: 2 valid; signature verified in 2 of 2;"
                      ' paths under /crl\n\t"crl.new.test:%d"' % nport, out)
        self.assertIn('# crl_hosts: "crl.bad.test:%d"\n' % nport, out)
        self.assertRegex(out, r"#   not suggested: 1 of 1 answers failed "
                              r"inspection, the last: response_malformed: ")
        for host in ("ocsp.listed.test", "web.new.test"):
            self.assertNotIn(host, out)

        # 3. Pasted into the config, switched to enforce: -t accepts it.
        text = paste(proxy.conf_path.read_text(), out).replace(
            'mode = "monitor";', 'mode = "enforce";')
        self.assertIn('mode = "enforce";', text)
        pasted = self.tmp / "pasted.conf"
        pasted.write_text(text)
        code, tout, terr = run_ocspgate(["-t", "-c", str(pasted)])
        self.assertEqual(code, 0, terr)
        self.assertTrue(tout.endswith("configuration %s is ok\n" % pasted),
                        tout)

        # 4. Reload: the same traffic passes, the rest is refused.
        proxy.conf_path.write_text(text)
        proxy.signal(signal.SIGHUP)
        self.assertTrue(proxy.err.wait_for(
            lambda ls: any("reloaded" in l for l in ls), 5), proxy.err.text())
        got = self.traffic(proxy)
        self.assertEqual(got[0][1:], (0, {"good": "good"}), got)
        self.assertEqual(got[1][1:], (0, {"good": "good"}), got)
        self.assertEqual(got[2][1:], (0, {"good": "good"}), got)
        self.assertEqual(got[3][1], 200, got)
        self.assertEqual(got[4][1:], (200, self.fetch.crl_der))
        self.assertEqual(got[5][1:], (200, self.fetch.crl_der))
        self.assertEqual(got[6][1:], (200, self.fetch.sub_der))
        self.assertEqual(got[7][1:], (403, b"ocspgate: blocked "
                                           b"(unknown_responder)\n"))
        self.assertEqual(got[8][1:], (403, b"ocspgate: blocked "
                                           b"(unknown_responder)\n"))
        evs = proxy.wait_events(18)[9:]
        dump = json.dumps(evs, indent=1)[:6000]
        want = [("ocsp_request", "ocsp.new.test:%d" % rport),
                ("ocsp_request", "ocsp.new.test:%d" % rport),
                ("ocsp_request", "ocsp.listed.test:%d" % rport),
                ("ocsp_request", "ocsp.new.test:%d" % rport),
                ("crl_request", "crl.new.test:%d" % nport),
                ("crl_request", "crl.new.test:%d" % nport),
                ("ca_issuer_request", "aia.new.test:%d" % nport),
                ("unknown_responder", None), ("unknown_responder", None)]
        self.assertEqual([(get(e, "event.reason"),
                           get(e, "ocspgate.responder")) for e in evs], want,
                         dump)
        for ev in evs[:7]:
            self.assertNotIn("candidate", ev["ocspgate"], dump)
        # Enforce mode still names the candidate, without an answer.
        self.assertEqual(evs[7]["ocspgate"].get("candidate"), "crl", dump)
        self.assertTrue(evs[7]["ocspgate"]["enforced"], dump)
        self.assertNotIn("candidate_answer", evs[7]["ocspgate"], dump)
        self.assertNotIn("candidate", evs[8]["ocspgate"], dump)

        # 5. -S now: the listed hosts are left out; the refused one is
        # listed apart as refused.
        code, out, err = run_ocspgate(
            ["-S", "-c", str(proxy.conf_path), str(proxy.event_log)])
        self.assertEqual(code, 0, err)
        self.assertEqual(snippet_lists(out), {}, out)
        self.assertIn("0 suggested, 3 already listed (left out)", out)
        self.assertIn("#   answers: 0 valid, 1 failed, 1 refused (enforce)",
                      out)


class TrustStoreTest(ProxyTestCase):
    """Without ca_file, candidates are checked against the system bundle:
    a private CA's answer is valid but not verified, and -S says so."""

    def test_default_bundle(self):
        write_hosts_file(self.tmp / "hosts", ["ocsp.new.test"])
        conf = {"listen": ["127.0.0.1:0"], "mode": "monitor",
                "event_log": str(self.tmp / "events.jsonl"),
                "hosts_file": str(self.tmp / "hosts"),
                "resolvers": [self.env.dns.address],
                "responders": ["ocsp.ca.test"]}
        path = self.tmp / "check.conf"
        path.write_text(config_text(conf))
        code, out, err = run_ocspgate(["-t", "-c", str(path)])
        self.assertEqual(code, 0, err)
        self.assertRegex(out, r"ocspgate: candidates: answers checked "
                              r"against \d+ certificates of "
                              r"/etc/ssl/certs/ca-certificates.crt\n")
        proxy = self.start_proxy(conf)
        r = openssl_ocsp_client(
            self.pki, proxy.port, "http://ocsp.new.test:%d/" % self.resp.port,
            tmpdir=self.tmp)
        self.assertEqual((r.returncode, r.statuses), (0, {"good": "good"}),
                         r.stderr)
        ev = proxy.wait_events(1)[0]
        og = ev["ocspgate"]
        self.assertEqual((og.get("candidate"), og.get("candidate_answer"),
                          og.get("candidate_verified")),
                         ("ocsp", "valid", False), json.dumps(ev))
        self.assertEqual(og.get("candidate_detail"), "signer not trusted")
        code, out, err = run_ocspgate(
            ["-S", "-c", str(proxy.conf_path), str(proxy.event_log)])
        self.assertEqual(code, 0, err)
        self.assertEqual(snippet_lists(out), {}, out)
        self.assertIn('# responders: "ocsp.new.test:%d"\n' % self.resp.port,
                      out)
        self.assertIn("#   not suggested: signature not verified in 1 of 1 "
                      "answers: signer not trusted\n", out)


class UnansweredTest(ProxyTestCase):
    """A candidate nobody answers for: in monitor mode its event says
    so, in enforce mode it is refused with its class named, and -S lists
    it apart with the reason."""

    RESPONDERS = 0

    def test_unreachable_then_refused(self):
        write_hosts_file(self.tmp / "hosts", ["crl.down.test"])
        url = "http://crl.down.test:%d/pki/down.crl" % free_port()
        logs = []
        for mode, status in (("monitor", 502), ("enforce", 403)):
            log = self.tmp / ("events-%s.jsonl" % mode)
            logs.append(str(log))
            proxy = self.start_proxy(
                mode=mode, event_log=str(log),
                hosts_file=str(self.tmp / "hosts"),
                responders=["ocsp.ca.test"])
            got, _ = curl_get(proxy.port, url, self.tmp)
            self.assertEqual(got, status)
            ev = proxy.wait_events(1)[0]
            og = ev["ocspgate"]
            self.assertEqual(get(ev, "event.reason"), "unknown_responder")
            self.assertEqual(og.get("candidate"), "crl", json.dumps(ev))
            self.assertNotIn("candidate_verified", og)
            if mode == "monitor":
                self.assertEqual(og.get("candidate_answer"),
                                 "upstream_unreachable", json.dumps(ev))
                self.assertEqual(og.get("detail"), "Connection refused")
            else:
                self.assertNotIn("candidate_answer", og)
                self.assertTrue(og["enforced"])
            proxy.stop()
        code, out, err = run_ocspgate(
            ["-S", "-c", str(proxy.conf_path), *logs])
        self.assertEqual(code, 0, err)
        self.assertEqual(snippet_lists(out), {}, out)
        self.assertIn('# crl_hosts: "crl.down.test:%s"\n'
                      % url.split(":")[2].split("/")[0], out)
        self.assertIn("#   answers: 0 valid, 1 unreachable, 1 refused "
                      "(enforce); paths under /pki\n"
                      "#   not suggested: no answer to judge, the last try: "
                      "upstream_unreachable: Connection refused\n", out)


class CandidateShapeTest(ProxyTestCase):
    """Candidates are the requests a listed host of their class would
    get allowed, by the listed hosts' rules: shapes where an older, looser
    copy of the rules disagreed, sent to a gate in enforce mode that
    refuses them all (nothing is forwarded)."""

    RESPONDERS = 0
    WU = "/msdownload/update/v3/static/trustedr/en/"

    def test_shapes(self):
        der = openssl_reqout(self.pki, tmpdir=self.tmp)
        ocsp_ct = "Content-Type: application/ocsp-request\r\n"
        cases = [
            # (method, path, extra head, body, candidate, get_prefix)
            ("GET", "/a/b/c/d/" + get_cryptoapi(der), "", b"", "ocsp",
             "/a/b/c/d"),
            ("GET", "/a/b/c/d/e/" + get_cryptoapi(der), "", b"", None,
             None),
            ("POST", "/a/b/c/d/e", ocsp_ct, der, None, None),
            ("POST", "/gsrsaovsslca2018", ocsp_ct, der, "ocsp", None),
            ("GET", "/", "", b"", None, None),  # a front page, no CRL
            ("GET", "/Repository/AUTHCL-G3/getLastCRL", "", b"", "crl",
             None),
            ("GET", "/a!b.crl", "", b"", None, None),
            ("GET", "/chain.p7b", "", b"", None, None),
            ("GET", self.WU + "authrootstl.cab?bd0fc98c3f88ee1d", "", b"",
             "ctl", None),
            ("GET", "/x/disallowedcertseq.txt", "", b"", None, None),
        ]
        proxy = self.start_proxy(responders=["ocsp.ca.test"])
        for method, path, extra, body, _, _ in cases:
            head = ("%s http://rule.test%s HTTP/1.1\r\nHost: rule.test\r\n"
                    "%sContent-Length: %d\r\nConnection: close\r\n\r\n"
                    % (method, path, extra, len(body)))
            with Client(proxy.port) as c:
                c.send(head.encode() + body)
                self.assertEqual(c.read_response().status, 403, path)
        evs = proxy.wait_events(len(cases))
        self.assertEqual(len(evs), len(cases))
        for ev, (method, path, _, _, cand, prefix) in zip(evs, cases):
            dump = json.dumps(ev)
            self.assertEqual(get(ev, "event.reason"), "unknown_responder",
                             dump)
            self.assertEqual(get(ev, "http.request.method"), method, dump)
            self.assertEqual(ev["ocspgate"].get("candidate"), cand,
                             "%s %s: %s" % (method, path, dump))
            self.assertEqual(ev["ocspgate"].get("get_prefix"), prefix, dump)
            self.assertEqual(get(ev, "ocspgate.ocsp.request") is not None,
                             cand == "ocsp", dump)


class SuggestCliTest(unittest.TestCase):
    """-S's command line: what it needs and how it fails."""

    def setUp(self):
        self.tmp = Path(tempfile.mkdtemp(prefix="suggest-cli-"))
        self.conf = self.tmp / "ocspgate.conf"
        self.conf.write_text('listen = [ "127.0.0.1:0" ];\n')

    def tearDown(self):
        for p in sorted(self.tmp.rglob("*"), reverse=True):
            p.unlink()
        self.tmp.rmdir()

    def test_usage_and_errors(self):
        code, out, err = run_ocspgate(["-S", "-c", str(self.conf)])
        self.assertEqual((code, out), (1, ""))
        self.assertIn("ocspgate -S [-c config] EVENTS...", err)
        code, out, err = run_ocspgate(["-h"])
        self.assertIn("-S ", out)
        missing = self.tmp / "missing.jsonl"
        code, out, err = run_ocspgate(["-S", "-c", str(self.conf),
                                       str(missing)])
        self.assertEqual((code, out), (1, ""))
        self.assertEqual(err, "ocspgate: %s: cannot read: No such file or "
                              "directory\n" % missing)
        bad = self.tmp / "bad.conf"
        bad.write_text("listen = ;\n")
        code, out, err = run_ocspgate(["-S", "-c", str(bad), "-"], stdin=b"")
        self.assertEqual((code, out), (1, ""))
        self.assertRegex(err, r"^%s:1: " % re.escape(str(bad)))
        # A broken gzip file is an error, not a silent half.
        broken = self.tmp / "broken.gz"
        whole = gzip.compress(b"".join(b'{"a":%d}\n' % i
                                       for i in range(5000)))
        broken.write_bytes(whole[:len(whole) // 2])
        code, out, err = run_ocspgate(["-S", "-c", str(self.conf),
                                       str(broken)])
        self.assertEqual((code, out), (1, ""))
        self.assertEqual(err, "ocspgate: %s: gzip stream cut short\n"
                         % broken)

    def test_log_written_before_ecs(self):
        """A log as ocspgate wrote it before its lines followed ECS
        8.17.0 (recorded, see BEFORE_ECS) gives its snippet: the hosts
        of its candidates with their counts and answers."""
        code, out, err = run_ocspgate(["-S", "-c", str(self.conf),
                                       str(BEFORE_ECS)])
        self.assertEqual((code, err), (0, ""), out)
        self.assertIn("# ocspgate -S: 9 event lines read (0 unreadable)", out)
        self.assertEqual(snippet_lists(out), {
            "responders": ["ocsp.new.test:46295"],
            "crl_hosts": ["crl.new.test:48413"],
            "ca_issuer_hosts": ["aia.new.test:48413"],
        }, out)
        self.assertIn("\t#   answers: 3 valid; signature verified in 3 of 3"
                      '\n\t"ocsp.new.test:46295"', out)
        self.assertIn('# crl_hosts: "crl.bad.test:48413"\n', out)

    def test_lines_that_are_not_events(self):
        data = (b'not json\n{"event":{"kind":"metric"}}\n'
                + b"x" * (1024 * 1024 + 10) + b"\n"
                + b'{"event":{"kind":"event"},"ocspgate":{"candidate":"crl",'
                  b'"candidate_answer":"valid","candidate_verified":true},'
                  b'"source":{"ip":"10.0.0.1"},'
                  b'"destination":{"domain":"crl.x.test","port":80},'
                  b'"url":{"path":"/a.crl"}}')
        code, out, err = run_ocspgate(["-S", "-c", str(self.conf), "-"],
                                      stdin=data)
        self.assertEqual(code, 0, err)
        self.assertIn("# ocspgate -S: 4 event lines read (2 unreadable)", out)
        self.assertEqual(snippet_lists(out), {"crl_hosts": ["crl.x.test"]},
                         out)


if __name__ == "__main__":
    unittest.main()
