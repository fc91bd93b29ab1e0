"""The command line, config checking, signals and client timeouts."""

import re
import signal
import socket
import time
import unittest

from ocspgate_harness import (
    REPO, Client, ProxyTestCase, assert_refusal, binary, config_text,
    ocsp_post, ocsp_request_der, run, scaled)


class CliTestCase(ProxyTestCase):
    RESPONDERS = 0

    def ocspgate(self, *args, timeout=10, cwd=None):
        p = run([binary(), *map(str, args)], timeout=timeout, check=False,
                cwd=str(cwd or self.tmp))
        return (p.returncode, p.stdout.decode(errors="replace"),
                p.stderr.decode(errors="replace"))

    def write(self, name, text):
        path = self.tmp / name
        path.write_text(text)
        return path


class CommandLineTests(CliTestCase):

    def test_version(self):
        code, out, err = self.ocspgate("-V")
        self.assertEqual(code, 0, err)
        self.assertRegex(out, r"^ocspgate \d+\.\d+\.\d+\n$")
        m = re.search(r"project\(ocspgate\s+VERSION\s+(\d+\.\d+\.\d+)",
                      (REPO / "CMakeLists.txt").read_text())
        if m:
            self.assertEqual(out.split()[1], m.group(1))

    def test_help(self):
        code, out, err = self.ocspgate("-h")
        self.assertEqual(code, 0, err)
        self.assertRegex(out + err, r"(?i)usage")
        self.assertIn("-c", out + err)
        self.assertIn("-t", out + err)

    def test_unknown_option(self):
        code, _, err = self.ocspgate("-Z")
        self.assertNotEqual(code, 0)
        self.assertTrue(err.strip(), "no message on stderr")

    def test_check_good_config(self):
        path = self.write("good.conf", config_text(self.base_config(
            responders=["ocsp.ca.test:8080/ocsp", "*.wild.test",
                        {"host": "ocsp2.ca.test",
                         "issuers": [str(self.pki.ca)]}],
            max_request_body=4096, max_header_bytes=8192, client_timeout=5,
            upstream_timeout=3, max_nonce_bytes=64)))
        code, out, err = self.ocspgate("-t", "-c", path)
        self.assertEqual(code, 0, err)
        self.assertEqual(out, "ocspgate: configuration %s is ok\n" % path)
        # PATH is printed as given
        code, out, err = self.ocspgate("-t", "-c", "good.conf", cwd=self.tmp)
        self.assertEqual(code, 0, err)
        self.assertEqual(out, "ocspgate: configuration good.conf is ok\n")

    def test_check_listen_list_and_ipv6(self):
        path = self.write("l.conf", 'listen = ( "127.0.0.1:3128", '
                          '"[::1]:3128" );\nresponders = ( "a.test" );\n')
        code, out, err = self.ocspgate("-t", "-c", path)
        self.assertEqual(code, 0, err)

    def test_shipped_config(self):
        shipped = REPO / "conf" / "ocspgate.conf"
        self.assertTrue(shipped.exists(), "conf/ocspgate.conf is missing")
        code, out, err = self.ocspgate("-t", "-c", shipped)
        self.assertEqual(code, 0, err)
        self.assertEqual(out, "ocspgate: configuration %s is ok\n" % shipped)

    def config(self, **replace):
        """A valid config, one setting a line, with settings replaced by
        the given text (several lines allowed). Lines ending in '#!' are
        where an error is expected. Returns (text, expected lines)."""
        lines = {
            "listen": 'listen = [ "127.0.0.1:0" ];',
            "mode": 'mode = "enforce";',
            "event_log": 'event_log = "%s";' % (self.tmp / "ev.jsonl"),
            "hosts_file": 'hosts_file = "%s";' % self.env.hosts,
            "responders": 'responders = ( "ocsp.ca.test:8080" );',
        }
        lines.update(replace)
        text = "# test config\n" + "\n".join(
            v for v in lines.values() if v is not None) + "\n"
        marked = [i for i, l in enumerate(text.splitlines(), 1)
                  if l.endswith("#!")]
        return text, marked

    def assert_config_error(self, text, lines, must_mention=None):
        path = self.write("bad.conf", text)
        code, out, err = self.ocspgate("-t", "-c", path)
        self.assertEqual(code, 1, "stdout %r stderr %r" % (out, err))
        self.assertNotIn("is ok", out)
        for line in lines:
            self.assertRegex(err, r"(?m)^%s:%d: \S" % (re.escape(str(path)),
                                                       line),
                             "want %s:%d: in stderr" % (path, line))
        if must_mention:
            self.assertIn(must_mention, err)
        return err

    def test_config_errors(self):
        missing = self.tmp / "no-such-ca.pem"
        notpem = self.write("not-a-cert.pem", "just text\n")
        cases = [
            ("unknown directive", {"extra": 'bogus = 1; #!'}, None),
            ("unknown key in a responder object", {"responders":
             'responders = (\n  "a.test",\n  { host = "b.test";\n'
             '    colour = "red"; } #!\n);'}, None),
            ("bad mode", {"mode": 'mode = "block"; #!'}, None),
            ("bad listen", {"listen": 'listen = [ "nonsense" ]; #!'}, None),
            ("listen port out of range",
             {"listen": 'listen = [ "127.0.0.1:70000" ]; #!'}, None),
            ("max_nonce_bytes 0", {"extra": 'max_nonce_bytes = 0; #!'},
             None),
            ("max_nonce_bytes 129", {"extra": 'max_nonce_bytes = 129; #!'},
             None),
            ("negative max_request_body",
             {"extra": 'max_request_body = -1; #!'}, None),
            ("timeout of the wrong type",
             {"extra": 'client_timeout = "ten"; #!'}, None),
            ("bad resolver",
             {"extra": 'resolvers = [ "not an address" ]; #!'}, None),
            ("syntax error", {"extra": 'max_header_bytes = ; #!'}, None),
            ("unreadable issuers file", {"responders":
             'responders = (\n  "a.test",\n  { host = "b.test";\n'
             '    issuers = [ "%s" ]; } #!\n);' % missing}, str(missing)),
            ("issuers file without a certificate", {"responders":
             'responders = (\n  { host = "b.test";\n'
             '    issuers = [ "%s" ]; } #!\n);' % notpem}, str(notpem)),
            ("bad responder port",
             {"responders": 'responders = ( "a.test:99999" ); #!'}, None),
            ("empty responder", {"responders": 'responders = ( "" ); #!'},
             None),
            ("responder with a scheme",
             {"responders": 'responders = ( "http://a.test" ); #!'}, None),
        ]
        for name, replace, mention in cases:
            with self.subTest(name):
                text, marked = self.config(**replace)
                self.assertEqual(len(marked), 1)
                self.assert_config_error(text, marked, mention)

    def test_every_error_reported(self):
        text, marked = self.config(extra='bogus = 1; #!\n'
                                   'max_nonce_bytes = 0; #!\n'
                                   'also_bogus = "x"; #!')
        self.assertEqual(len(marked), 3)
        self.assert_config_error(text, marked)

    def test_missing_config_file(self):
        path = self.tmp / "absent.conf"
        code, out, err = self.ocspgate("-t", "-c", path)
        self.assertEqual(code, 1)
        self.assertIn(str(path), err)

    def test_run_with_bad_config_exits_1(self):
        text, marked = self.config(extra='bogus = 1; #!')
        path = self.write("bad.conf", text)
        code, out, err = self.ocspgate("-c", path, timeout=10)
        self.assertEqual(code, 1)
        self.assertRegex(err, r"(?m)^%s:%d: " % (re.escape(str(path)),
                                                 marked[0]))


class SignalTests(CliTestCase):

    def test_sigterm_and_sigint_exit_0(self):
        for sig in (signal.SIGTERM, signal.SIGINT):
            with self.subTest(sig=sig.name):
                proxy = self.start_proxy()
                proxy.signal(sig)
                code, killed = proxy.stop(grace=5)
                self.assertFalse(killed, "did not exit on %s" % sig.name)
                self.assertEqual(code, 0)

    def test_sigterm_finishes_request_in_flight(self):
        rec = self.upstream(mode="delay", delay=1.5)
        spec = "ocsp.ca.test:%d" % rec.port
        proxy = self.start_proxy(responders=[spec])
        der = ocsp_request_der([self.pki.cert_id("good")])
        with Client(proxy.port, timeout=10) as c:
            c.send(ocsp_post("http://%s/" % spec, der))
            self.assertEqual(len(rec.wait_requests(1)), 1)
            proxy.signal(signal.SIGTERM)
            r = c.read_response(timeout=5)
            self.assertEqual(r.status, 200)
        code, killed = proxy.stop(grace=5)
        self.assertFalse(killed)
        self.assertEqual(code, 0)
        self.assertEqual(len(proxy.events(strict_tail=True)), 1)

    def test_sighup_reload(self):
        rec1 = self.upstream()
        rec2 = self.upstream()
        der = ocsp_request_der([self.pki.cert_id("good")])
        cfg = self.base_config(responders=["ocsp.ca.test:%d" % rec1.port])
        proxy = self.start_proxy(cfg)
        url2 = "http://ocsp.ca.test:%d/" % rec2.port
        with Client(proxy.port) as c:
            c.send(ocsp_post(url2, der))
            assert_refusal(self, c.read_response(), 403, "unknown_responder")
        cfg["responders"] = ["ocsp.ca.test:%d" % rec2.port]
        proxy.conf_path.write_text(config_text(cfg))
        proxy.signal(signal.SIGHUP)
        status = None
        deadline = time.monotonic() + scaled(5)
        while time.monotonic() < deadline and status != 200:
            with Client(proxy.port) as c:
                c.send(ocsp_post(url2, der))
                status = c.read_response().status
            time.sleep(0.05)
        self.assertEqual(status, 200, "new config not in effect")
        self.assertTrue(proxy.alive())

    def test_sighup_bad_config_keeps_old(self):
        rec = self.upstream(mode="delay", delay=1.0)
        spec = "ocsp.ca.test:%d" % rec.port
        cfg = self.base_config(responders=[spec])
        proxy = self.start_proxy(cfg)
        der = ocsp_request_der([self.pki.cert_id("good")])
        with Client(proxy.port, timeout=10) as inflight:
            inflight.send(ocsp_post("http://%s/" % spec, der))
            self.assertEqual(len(rec.wait_requests(1)), 1)
            proxy.conf_path.write_text(config_text(cfg) + "bogus = 1;\n")
            proxy.signal(signal.SIGHUP)
            line = len(config_text(cfg).splitlines()) + 1
            got = proxy.err.wait_for(lambda lines: any(
                "%s:%d:" % (proxy.conf_path, line) in l
                for l in lines), 5)
            self.assertTrue(got, "reload error not reported as PATH:LINE: "
                            "stderr:\n" + proxy.err.text())
            # the request in flight is not dropped
            self.assertEqual(inflight.read_response(timeout=5).status, 200)
        self.assertTrue(proxy.alive(), "exited on a bad reload")
        with Client(proxy.port, timeout=10) as c:
            c.send(ocsp_post("http://%s/" % spec, der))
            self.assertEqual(c.read_response(timeout=5).status, 200)
        code, killed = proxy.stop()
        self.assertEqual((code, killed), (0, False))


class ListenTests(CliTestCase):

    def test_two_listeners_ipv4_and_ipv6(self):
        try:
            with socket.socket(socket.AF_INET6) as s:
                s.bind(("::1", 0))
        except OSError:
            self.skipTest("no IPv6 loopback")
        rec = self.upstream()
        spec = "ocsp.ca.test:%d" % rec.port
        proxy = self.start_proxy(listen=["127.0.0.1:0", "[::1]:0"],
                                 responders=[spec])
        self.assertEqual(len(proxy.addrs), 2)
        self.assertTrue(proxy.addrs[0].startswith("127.0.0.1:"))
        self.assertTrue(proxy.addrs[1].startswith("[::1]:"))
        der = ocsp_request_der([self.pki.cert_id("good")])
        with Client(proxy.address_port(1), host="::1") as c:
            c.send(ocsp_post("http://%s/" % spec, der))
            self.assertEqual(c.read_response().status, 200)
        self.expect_event(proxy, source__ip="::1")


class ClientTimeoutTests(CliTestCase):

    def setUp(self):
        super().setUp()
        self.rec = self.upstream()
        self.spec = "ocsp.ca.test:%d" % self.rec.port
        self.proxy = self.start_proxy(responders=[self.spec],
                                      client_timeout=1)

    def closed_within(self, c, low, high):
        t0 = time.monotonic()
        self.assertTrue(c.wait_closed(high + 2), "never closed")
        elapsed = time.monotonic() - t0
        self.assertGreaterEqual(elapsed, low, "closed too early")
        self.assertLess(elapsed, scaled(high), "closed too late")

    def test_idle_keep_alive_closed(self):
        der = ocsp_request_der([self.pki.cert_id("good")])
        with Client(self.proxy.port, timeout=10) as c:
            c.send(ocsp_post("http://%s/" % self.spec, der))
            self.assertEqual(c.read_response().status, 200)
            self.closed_within(c, 0.5, 3.5)
        self.assert_no_more_events(self.proxy, 1)

    def test_slow_request_closed(self):
        with Client(self.proxy.port, timeout=10) as c:
            c.send(b"POST http://%s/ HTTP/1.1\r\nHost: ocsp.ca.test\r\n"
                   % self.spec.encode())
            self.closed_within(c, 0.5, 3.5)
        self.assertEqual(self.rec.connection_count(), 0)

    def test_slow_body_closed(self):
        with Client(self.proxy.port, timeout=10) as c:
            c.send(b"POST http://%s/ HTTP/1.1\r\nHost: ocsp.ca.test\r\n"
                   b"Content-Type: application/ocsp-request\r\n"
                   b"Content-Length: 50\r\n\r\n0123" % self.spec.encode())
            self.closed_within(c, 0.5, 3.5)
        self.assertEqual(self.rec.connection_count(), 0)

    def test_trickling_request_is_bounded(self):
        """A byte every 0.3 s does not keep a request alive forever."""
        with Client(self.proxy.port, timeout=10) as c:
            data = (b"POST http://%s/ HTTP/1.1\r\nHost: ocsp.ca.test\r\n"
                    b"X-Slow: " % self.spec.encode()) + b"s" * 100
            t0 = time.monotonic()
            closed = False
            for b in data:
                try:
                    c.send(bytes([b]))
                except OSError:
                    closed = True
                    break
                if c.wait_closed(0.3):
                    closed = True
                    break
                if time.monotonic() - t0 > scaled(8):
                    break
            self.assertTrue(closed, "a trickled request was kept open "
                            "%.1fs" % (time.monotonic() - t0))

    def test_silent_connection_closed_without_event(self):
        with Client(self.proxy.port, timeout=10) as c:
            self.closed_within(c, 0.5, 3.5)
        self.assert_no_more_events(self.proxy, 0)

    def test_partial_request_line_leaves_no_event(self):
        with Client(self.proxy.port) as c:
            c.send(b"GET http://ocsp.ca")
        self.assert_no_more_events(self.proxy, 0, wait=0.5)


if __name__ == "__main__":
    unittest.main()
