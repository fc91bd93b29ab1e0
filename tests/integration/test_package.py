"""The package-shaped install: the .deb that `cpack -G DEB` makes from a
build configured for /usr, installed with `dpkg -i` into a fresh Debian
12 root (debootstrap, chroot). Checked there: the files where Debian
and systemd look for them (the config in /etc, not /usr/etc), the
ocspgate user and the log directory made by the postinst, the installed
config logging to the shipped log directory, and `ocspgate -t` on it,
as root and as the service user. The sysusers.d and tmpfiles.d files
are applied by the real systemd-sysusers and systemd-tmpfiles to a root
of their own.
"""

import os
import pathlib
import pwd
import re
import shutil
import stat
import subprocess
import tempfile
import time
import unittest

import debian_base
from debian_base import run

# What the Debian installer writes; debootstrap leaves it out.
ETC_HOSTS = "127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost\n"


def chroot(root, *cmd, timeout=300, user=None, check=True):
    env = {"PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "LC_ALL": "C",
           "DEBIAN_FRONTEND": "noninteractive", "HOME": "/root"}
    pre = ["chroot"]
    if user:
        pre.append("--userspec=%s:%s" % (user, user))
    p = subprocess.run(pre + [str(root)] + list(cmd), capture_output=True,
                       timeout=timeout, env=env)
    if check and p.returncode != 0:
        raise AssertionError("in the chroot, %s: exit %d\n%s\n%s" % (
            " ".join(cmd), p.returncode, p.stdout.decode(errors="replace"),
            p.stderr.decode(errors="replace")))
    return p


def passwd_entry(root, name):
    for line in (root / "etc/passwd").read_text().splitlines():
        f = line.split(":")
        if f[0] == name:
            return f
    return None


class PackageTests(unittest.TestCase):

    @classmethod
    def setUpClass(cls):
        cls.started = time.monotonic()

    def setUp(self):
        debian_base.require_root_tools(self, "debootstrap", "chroot", "cpack",
                                       "dpkg-deb", "dpkg-shlibdeps")
        self.tmp = pathlib.Path(tempfile.mkdtemp(prefix="ocspgate-pkg-"))
        self.addCleanup(shutil.rmtree, self.tmp, True)

    def test_dpkg_i_into_a_fresh_debian_12_root(self):
        base = debian_base.base_tarball()
        deb = debian_base.package()
        root = self.tmp / "root"
        debian_base.extract(base, root)
        self.assertFalse((root / "usr/sbin/ocspgate").exists())
        (root / "etc/hosts").write_text(ETC_HOSTS)
        shutil.copy("/etc/resolv.conf", root / "etc/resolv.conf")

        # The libraries the package depends on, by the names it gives
        # (a Depends that missed one would leave -t below unable to run).
        depends = run(["dpkg-deb", "-f", deb, "Depends"],
                      timeout=30).stdout.decode()
        names = [d.split()[0] for d in depends.split(",") if d.strip()]
        self.assertIn("libevent-core-2.1-7", names)
        self.assertIn("libconfig9", names)
        chroot(root, "apt-get", "update", "-qq", timeout=600)
        chroot(root, "apt-get", "install", "-y", "-qq",
               "--no-install-recommends", *names, timeout=600)
        self.assertIsNone(passwd_entry(root, "ocspgate"))

        shutil.copy(deb, root / "tmp/ocspgate.deb")
        chroot(root, "dpkg", "-i", "/tmp/ocspgate.deb")
        chroot(root, "dpkg", "-s", "ocspgate")

        # Files where they belong.
        for path in ("usr/sbin/ocspgate", "etc/ocspgate/ocspgate.conf",
                     "etc/logrotate.d/ocspgate",
                     "usr/lib/systemd/system/ocspgate.service",
                     "usr/lib/sysusers.d/ocspgate.conf",
                     "usr/lib/tmpfiles.d/ocspgate.conf",
                     "usr/share/man/man8/ocspgate.8"):
            self.assertTrue((root / path).is_file(), path)
        self.assertFalse((root / "usr/etc").exists())
        self.assertFalse((root / "usr/local/etc/ocspgate").exists())
        conffiles = chroot(root, "dpkg-query", "-W", "-f=${Conffiles}",
                           "ocspgate").stdout.decode()
        self.assertIn("/etc/ocspgate/ocspgate.conf", conffiles)
        self.assertIn("/etc/logrotate.d/ocspgate", conffiles)

        # The user, made by the postinst (no systemd in this root).
        user = passwd_entry(root, "ocspgate")
        self.assertIsNotNone(user, "postinst made no ocspgate user")
        self.assertLess(int(user[2]), 1000)  # a system user
        self.assertEqual(user[5:7], ["/nonexistent", "/usr/sbin/nologin"])
        self.assertIn("ocspgate:", (root / "etc/group").read_text())

        # The log directory, the service's and no one else's.
        log_dir = root / "var/log/ocspgate"
        st = log_dir.stat()
        self.assertTrue(stat.S_ISDIR(st.st_mode))
        self.assertEqual(st.st_uid, int(user[2]))
        self.assertEqual(stat.S_IMODE(st.st_mode), 0o750)

        # The installed config logs there, which logrotate rotates.
        conf = (root / "etc/ocspgate/ocspgate.conf").read_text()
        self.assertRegex(conf, r'\nevent_log = "/var/log/ocspgate/'
                               r'events\.jsonl";')
        rotate = (root / "etc/logrotate.d/ocspgate").read_text()
        self.assertIn("/var/log/ocspgate/events.jsonl {", rotate)

        # ocspgate -t, as root and as the user the unit runs it as.
        for who in (None, "ocspgate"):
            with self.subTest(user=who or "root"):
                p = chroot(root, "/usr/sbin/ocspgate", "-t", "-c",
                           "/etc/ocspgate/ocspgate.conf", user=who)
                self.assertIn(b"configuration /etc/ocspgate/ocspgate.conf "
                              b"is ok", p.stdout)
        p = chroot(root, "/usr/sbin/ocspgate", "-V")
        self.assertRegex(p.stdout.decode(), r"^ocspgate \d+\.\d+\.\d+\n$")

        # The unit names what the package installed, from a directory
        # systemd reads units from.
        unit = (root / "usr/lib/systemd/system/ocspgate.service").read_text()
        for line in ("ExecStart=/usr/sbin/ocspgate -c "
                     "/etc/ocspgate/ocspgate.conf", "User=ocspgate",
                     "ReadWritePaths=/var/log/ocspgate"):
            self.assertIn(line + "\n", unit)
        if shutil.which("systemd-analyze"):
            paths = subprocess.run(["systemd-analyze", "unit-paths"],
                                   capture_output=True, timeout=30)
            if paths.returncode == 0:
                self.assertIn("/usr/lib/systemd/system",
                              paths.stdout.decode().split())

        # Removing keeps the config (a conffile) and the user.
        chroot(root, "dpkg", "-r", "ocspgate")
        self.assertFalse((root / "usr/sbin/ocspgate").exists())
        self.assertTrue((root / "etc/ocspgate/ocspgate.conf").exists())
        self.assertIsNotNone(passwd_entry(root, "ocspgate"))

    def test_sysusers_and_tmpfiles_files_with_systemd_tools(self):
        """systemd-sysusers and systemd-tmpfiles, pointed at a root that
        holds only the package's files, make the same user and
        directory as the postinst does without them."""
        for tool in ("systemd-sysusers", "systemd-tmpfiles"):
            if shutil.which(tool) is None:
                self.fail("missing %s (package systemd)" % tool)
        deb = debian_base.package()
        root = self.tmp / "sys"
        run(["dpkg-deb", "-x", deb, root], timeout=60)
        (root / "etc").mkdir(exist_ok=True)
        run(["systemd-sysusers", "--root", root, "ocspgate.conf"],
            timeout=60)
        user = passwd_entry(root, "ocspgate")
        self.assertIsNotNone(user, (root / "etc/passwd").read_text())
        self.assertLess(int(user[2]), 1000)
        self.assertEqual(user[5], "/nonexistent")
        self.assertIn(user[6], ("/usr/sbin/nologin", "/sbin/nologin"))
        run(["systemd-tmpfiles", "--root", root, "--create",
             "ocspgate.conf"], timeout=60)
        st = (root / "var/log/ocspgate").stat()
        self.assertEqual(stat.S_IMODE(st.st_mode), 0o750)
        self.assertEqual(st.st_uid, int(user[2]))

    def test_cmake_install_with_the_usr_prefix(self):
        """`cmake --install` of the /usr build: /etc, /var and /usr/lib
        paths, never /usr/etc; the edited files name the same paths."""
        debian_base.package()
        dest = self.tmp / "dest"
        env = dict(os.environ, DESTDIR=str(dest))
        run(["cmake", "--install", debian_base.cache_dir() / "package-build"],
            timeout=120, env=env)
        self.assertTrue((dest / "etc/ocspgate/ocspgate.conf").is_file())
        self.assertTrue((dest / "etc/logrotate.d/ocspgate").is_file())
        self.assertFalse((dest / "usr/etc").exists())
        text = "".join(p.read_text(errors="replace")
                       for p in (dest / "usr/lib").rglob("*") if p.is_file())
        text += (dest / "etc/logrotate.d/ocspgate").read_text()
        self.assertNotIn("/usr/etc", text)
        self.assertNotIn("/usr/var", text)
        self.assertIn("d /var/log/ocspgate 0750 ocspgate ocspgate", text)


if __name__ == "__main__":
    unittest.main()
