"""The container image: built by Podman (Debian's package) from a clean
context (the files git tracks, nothing built) on a Debian 12 base made
locally with debootstrap and `podman import` (no image registry), then
run with host networking: /healthz and the image's health check, one
allowed request (a real `openssl ocsp` client through it to a real
responder on loopback) and one blocked request (curl), both events on
the container's standard output, and a stop that drains and exits 0.

Podman keeps its images in a storage of the test's own (vfs, runc,
cgroupfs, as on these machines) and every image it made is removed.
"""

import json
import os
import pathlib
import secrets
import shutil
import subprocess
import tempfile
import time

import debian_base
from debian_base import run
from ocspgate_harness import (
    ProxyTestCase, config_text, curl_get, free_port, get, http_get,
    openssl_ocsp_client, parse_event_lines, scaled)

REPO = pathlib.Path(__file__).resolve().parents[2]
# On these machines the default limits exceed the hard ones.
ULIMITS = ["--ulimit", "nofile=1024:1024", "--ulimit", "nproc=4096:4096"]


def clean_context(dest):
    """The build context as a fresh checkout has it: the files git
    tracks, as they are in the work tree; no build directory."""
    p = subprocess.run(["git", "-C", str(REPO), "ls-files", "-z"],
                       capture_output=True, check=True, timeout=60)
    for name in p.stdout.decode().split("\0"):
        if not name:
            continue
        src = REPO / name
        if not src.exists():  # deleted in the work tree
            continue
        out = dest / name
        out.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(src, out)
    return dest


class ContainerTests(ProxyTestCase):

    def setUp(self):
        debian_base.require_root_tools(self, "podman", "runc", "debootstrap",
                                       "git")
        super().setUp()
        self.work = pathlib.Path(tempfile.mkdtemp(prefix="ocspgate-podman-"))
        self.addCleanup(shutil.rmtree, self.work, True)
        self.podman = [
            "podman", "--root", str(self.work / "storage"),
            "--runroot", str(self.work / "run"), "--storage-driver", "vfs",
            "--runtime", "runc", "--cgroup-manager", "cgroupfs",
            "--events-backend", "file"]
        name = "ocspgate-test-" + secrets.token_hex(4)
        self.base_image = "localhost/%s-debian:12" % name
        self.image = "localhost/%s:latest" % name
        self.container = name
        # Last registered, first run: nothing made here outlives the test.
        self.addCleanup(self.remove_all)

    def pod(self, *args, timeout=120, check=True):
        p = subprocess.run(self.podman + [str(a) for a in args],
                           capture_output=True, timeout=timeout)
        if check and p.returncode != 0:
            raise AssertionError("podman %s: exit %d\n%s\n%s" % (
                " ".join(map(str, args)), p.returncode,
                p.stdout.decode(errors="replace")[-4000:],
                p.stderr.decode(errors="replace")[-4000:]))
        return p

    def remove_all(self):
        self.pod("rm", "-f", "-t", "0", self.container, check=False)
        self.pod("rmi", "-f", self.image, self.base_image, check=False)
        left = self.pod("images", "-a", "-q", check=False)
        self.assertEqual(left.stdout.strip(), b"", "images left behind")

    def build(self):
        base = debian_base.base_tarball()
        with open(base, "rb") as f:
            p = subprocess.run(self.podman + ["import", "-",
                                              self.base_image],
                               stdin=f, capture_output=True, timeout=300)
        self.assertEqual(p.returncode, 0, p.stderr)
        context = clean_context(self.work / "context")
        self.assertFalse((context / "build").exists())
        # Downloaded packages are kept between builds (not in the image).
        apt = debian_base.cache_dir() / "apt-archives"
        (apt / "partial").mkdir(parents=True, exist_ok=True)
        started = time.monotonic()
        with debian_base.locked("apt-archives"):
            run(self.podman + [
                "build", "--format", "docker", "--layers=false",
                "--pull=never", "--network", "host", *ULIMITS,
                "--build-arg", "BASE=" + self.base_image,
                "--build-arg", "RUNTIME_BASE=" + self.base_image,
                "-v", "%s:/var/cache/apt/archives" % apt,
                "-t", self.image, context], timeout=1200)
        self.build_seconds = time.monotonic() - started

    def test_build_run_request_and_stop(self):
        self.build()

        # The image as built: user, ports, health check, configuration.
        info = json.loads(self.pod("image", "inspect", self.image).stdout)[0]
        cfg = info["Config"]
        self.assertEqual(cfg["User"], "ocspgate")
        self.assertEqual(set(cfg["ExposedPorts"]), {"3128/tcp", "9180/tcp"})
        health = info.get("Healthcheck") or cfg.get("Healthcheck") or {}
        self.assertIn("$OCSPGATE_HEALTHZ", " ".join(health.get("Test", [])),
                      info)
        shipped = self.pod("run", "--rm", "--network", "none", *ULIMITS,
                           "--entrypoint", "cat", self.image,
                           "/etc/ocspgate/ocspgate.conf").stdout.decode()
        self.assertIn('\nlisten = [ "0.0.0.0:3128" ];', shipped)
        self.assertIn('\nadmin_listen = "0.0.0.0:9180";', shipped)
        self.assertIn('\nevent_log = "-";', shipped)
        p = self.pod("run", "--rm", "--network", "none", *ULIMITS,
                     self.image, "-t", "-c", "/etc/ocspgate/ocspgate.conf")
        self.assertIn(b"is ok", p.stdout)

        # Run it on loopback ports of the host, with a configuration of
        # the test mounted over /etc/ocspgate.
        port, admin = free_port(), free_port()
        spec = self.resp_spec()
        conf = self.work / "conf"
        conf.mkdir()
        (conf / "hosts").write_text("127.0.0.1 ocsp.ca.test\n")
        (conf / "ocspgate.conf").write_text(config_text({
            "listen": ["127.0.0.1:%d" % port],
            "admin_listen": "127.0.0.1:%d" % admin,
            "mode": "enforce",
            "event_log": "-",
            "hosts_file": "/etc/ocspgate/hosts",
            "resolvers": [self.env.dns.address],
            "responders": [spec],
            "drain_timeout": 5,
        }))
        for path in (conf, conf / "hosts", conf / "ocspgate.conf"):
            os.chmod(path, 0o755 if path.is_dir() else 0o644)
        self.pod("run", "-d", "--name", self.container, "--network", "host",
                 *ULIMITS, "-v", "%s:/etc/ocspgate:ro" % conf,
                 "-e", "OCSPGATE_HEALTHZ=http://127.0.0.1:%d/healthz" % admin,
                 self.image)

        deadline = time.monotonic() + scaled(30)
        status = None
        while time.monotonic() < deadline:
            try:
                status = http_get(admin, "/healthz", timeout=2)
                break
            except OSError:
                state = self.pod("inspect", "-f", "{{.State.Running}}",
                                 self.container).stdout.strip()
                if state != b"true":
                    break
                time.sleep(0.2)
        self.assertEqual(status, (200, b"ok\n"), self.logs())
        hc = self.pod("healthcheck", "run", self.container, check=False)
        self.assertEqual(hc.returncode, 0, hc.stdout + hc.stderr)

        # One allowed request, a real client to a real responder.
        r = openssl_ocsp_client(self.pki, port, self.url(), ("good",),
                                tmpdir=self.tmp)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertEqual(r.statuses, {"good": "good"})
        # One blocked.
        code, _ = curl_get(port, "http://other.test/c2/checkin", self.tmp)
        self.assertEqual(code, 403)

        events = []
        deadline = time.monotonic() + scaled(10)
        while len(events) < 2 and time.monotonic() < deadline:
            events = parse_event_lines("".join(
                l + "\n" for l in self.logs(stderr=False).splitlines()
                if l.startswith("{")).encode())
            time.sleep(0.1)
        self.assertEqual(len(events), 2, self.logs())
        self.assertEqual((get(events[0], "event.action"),
                          get(events[0], "event.reason"),
                          get(events[0], "ocspgate.responder")),
                         ("allow", "ocsp_request", spec))
        self.assertEqual((get(events[1], "event.action"),
                          get(events[1], "event.reason"),
                          get(events[1], "destination.domain")),
                         ("block", "unknown_responder", "other.test"))

        # SIGTERM (podman stop): drain, then exit 0.
        self.pod("stop", "-t", "20", self.container, timeout=60)
        code = self.pod("inspect", "-f", "{{.State.ExitCode}}",
                        self.container).stdout.strip()
        self.assertEqual(code, b"0", self.logs())
        print("image build: %.0f s" % self.build_seconds)

    def logs(self, stderr=True):
        p = self.pod("logs", self.container, check=False)
        out = p.stdout.decode(errors="replace")
        return out + (p.stderr.decode(errors="replace") if stderr else "")
