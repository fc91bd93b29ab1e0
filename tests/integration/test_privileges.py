"""Running as an unprivileged user, the systemd unit and log rotation."""

import os
import pwd
import re
import shutil
import signal
import subprocess
import time
import unittest

from ocspgate_harness import (
    REPO, ProxyTestCase, binary, config_text, openssl_ocsp_client,
    parse_event_lines, run, scaled)

CAP_NET_BIND_SERVICE = 1 << 10
CAP_NET_ADMIN = 1 << 12


def proc_status(pid):
    fields = {}
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            k, _, v = line.partition(":")
            fields[k] = v.split()
    return fields


@unittest.skipUnless(os.geteuid() == 0, "needs root to drop privileges")
class PrivilegeTests(ProxyTestCase):

    def start(self, **kw):
        """ocspgate dropping to nobody. After the drop it reads its config
        and hosts file (on reload) and reopens its log as that user, so
        they live in a directory nobody may use."""
        import tempfile
        self.open_dir = tempfile.mkdtemp(prefix="ocspgate-priv-")
        self.addCleanup(shutil.rmtree, self.open_dir, True)
        os.chmod(self.open_dir, 0o777)
        hosts = os.path.join(self.open_dir, "hosts")
        shutil.copy(self.env.hosts, hosts)
        os.chmod(hosts, 0o644)
        self.log = os.path.join(self.open_dir, "events.jsonl")
        cfg = self.base_config(responders=["ocsp.ca.test:%d" % self.resp.port],
                               user="nobody", hosts_file=hosts,
                               event_log=self.log, **kw)
        from ocspgate_harness import Proxy
        p = Proxy(self.open_dir, cfg)
        os.chmod(p.conf_path, 0o644)
        self.addCleanup(self._finish_proxy, p)
        return p

    def test_drops_to_user_keeping_only_bind(self):
        p = self.start()
        st = proc_status(p.proc.pid)
        nobody = pwd.getpwnam("nobody")
        self.assertEqual(st["Uid"], [str(nobody.pw_uid)] * 4)
        self.assertEqual(st["Gid"], [str(nobody.pw_gid)] * 4)
        self.assertEqual(st["Groups"], [str(nobody.pw_gid)])
        self.assertEqual(int(st["CapEff"][0], 16), CAP_NET_BIND_SERVICE)
        self.assertEqual(int(st["CapPrm"][0], 16), CAP_NET_BIND_SERVICE)
        r = openssl_ocsp_client(self.pki, p.port,
                                "http://ocsp.ca.test:%d/" % self.resp.port,
                                tmpdir=self.tmp)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertEqual(p.wait_events(1)[0]["event"]["action"], "allow")

    def test_keeps_net_admin_for_upstream_mark(self):
        p = self.start(upstream_mark=7)
        st = proc_status(p.proc.pid)
        self.assertEqual(int(st["CapEff"][0], 16),
                         CAP_NET_BIND_SERVICE | CAP_NET_ADMIN)
        # SO_MARK still works on every upstream socket after the drop.
        r = openssl_ocsp_client(self.pki, p.port,
                                "http://ocsp.ca.test:%d/" % self.resp.port,
                                tmpdir=self.tmp)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)

    def test_reload_and_reopen_after_the_drop(self):
        from pathlib import Path
        p = self.start()
        log = Path(self.log)
        r = openssl_ocsp_client(self.pki, p.port,
                                "http://ocsp.ca.test:%d/" % self.resp.port,
                                tmpdir=self.tmp)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        p.wait_events(1)
        os.rename(log, str(log) + ".1")
        p.signal(signal.SIGUSR1)
        deadline = time.monotonic() + scaled(5)
        while not log.exists() and time.monotonic() < deadline:
            time.sleep(0.05)
        self.assertTrue(log.exists(), "log not reopened")
        p.signal(signal.SIGHUP)
        self.assertTrue(p.err.wait_for(
            lambda lines: any("reloaded" in l for l in lines), scaled(5)),
            p.err.text())
        r = openssl_ocsp_client(self.pki, p.port,
                                "http://ocsp.ca.test:%d/" % self.resp.port,
                                tmpdir=self.tmp)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertEqual(len(p.wait_events(1)), 1)

    def test_unknown_user_is_an_error(self):
        path = self.tmp / "bad.conf"
        path.write_text(config_text(self.base_config(
            responders=["ocsp.ca.test"], user="no-such-user-here")))
        p = run([binary(), "-c", str(path)], timeout=10, check=False)
        self.assertEqual(p.returncode, 1)
        self.assertIn(b"no-such-user-here", p.stderr)


class PackagingTests(unittest.TestCase):

    def test_unit_file(self):
        unit = (REPO / "conf/systemd/ocspgate.service").read_text()
        for line in ("User=ocspgate", "NoNewPrivileges=yes",
                     "ProtectSystem=strict",
                     "CapabilityBoundingSet=CAP_NET_BIND_SERVICE "
                     "CAP_NET_ADMIN",
                     "ExecReload=/bin/kill -HUP $MAINPID"):
            self.assertIn(line + "\n", unit)
        verify = shutil.which("systemd-analyze")
        if verify:
            p = run([verify, "verify", str(REPO /
                     "conf/systemd/ocspgate.service")], check=False)
            self.assertNotIn(b"Unknown", p.stderr, p.stderr)

    @unittest.skipUnless(shutil.which("logrotate") and os.geteuid() == 0,
                         "logrotate and root needed")
    def test_logrotate_snippet_rotates_without_losing_events(self):
        """The shipped logrotate snippet, pointed at a test log and at
        the test's ocspgate, rotates while requests flow: every event is
        in one of the two files, whole."""
        import tempfile
        from ocspgate_harness import Client, Proxy
        tmp = tempfile.mkdtemp(prefix="logrotate-")
        self.addCleanup(shutil.rmtree, tmp, True)
        log = os.path.join(tmp, "events.jsonl")
        cfg = {"listen": ["127.0.0.1:0"], "event_log": log,
               "hosts_file": "", "responders": []}
        p = Proxy(tmp, cfg)
        self.addCleanup(p.kill)
        self.addCleanup(p.stop)
        snippet = (REPO / "conf/logrotate.d/ocspgate").read_text()
        snippet = snippet.replace("/var/log/ocspgate/events.jsonl", log)
        snippet = snippet.replace("create 0640 ocspgate ocspgate",
                                  "create 0640 root root")
        snippet = re.sub(r"(?s)postrotate.*endscript",
                         "postrotate\n\t\tkill -USR1 %d\n\tendscript"
                         % p.proc.pid, snippet)
        conf = os.path.join(tmp, "logrotate.conf")
        with open(conf, "w") as f:
            f.write(snippet)
        sent = 0
        for round_ in range(3):
            for _ in range(20):
                with Client(p.port) as c:
                    c.send(b"GET http://blocked.test/ HTTP/1.1\r\n"
                           b"Host: blocked.test\r\nConnection: close\r\n\r\n")
                    self.assertEqual(c.read_response().status, 403)
                sent += 1
            subprocess.run(["logrotate", "--force", "--state",
                            os.path.join(tmp, "state"), conf],
                           check=True, timeout=30)
        time.sleep(scaled(0.5))
        lines = []
        for name in sorted(os.listdir(tmp)):
            if name.startswith("events.jsonl"):
                path = os.path.join(tmp, name)
                if name.endswith(".gz"):
                    data = subprocess.run(["gzip", "-dc", path],
                                          capture_output=True).stdout
                else:
                    data = open(path, "rb").read()
                if data:
                    self.assertTrue(data.endswith(b"\n"), name)
                lines += data.splitlines()
        events = parse_event_lines(b"".join(l + b"\n" for l in lines),
                                   kind=None)
        self.assertEqual(len(events), sent)
