"""A Debian 12 root made with debootstrap, cached for the tests that
install into one (test_package) or build an image on one
(test_container), and the build of the package they share.

The cache is OCSPGATE_TEST_CACHE (the build-cache directory of the
source tree when unset): one `make test` builds the base once for its
plain and sanitizer runs. A base older than a day is made again, so
that it follows Debian's updates. Concurrent tests take a file lock.
"""

import contextlib
import fcntl
import os
import pathlib
import shutil
import subprocess
import tempfile
import time
import unittest

REPO = pathlib.Path(__file__).resolve().parents[2]
BASE_MAX_AGE_SEC = 86400
SUITE = "bookworm"


def cache_dir():
    d = pathlib.Path(os.environ.get("OCSPGATE_TEST_CACHE") or
                     REPO / "build-cache")
    d.mkdir(parents=True, exist_ok=True)
    return d


@contextlib.contextmanager
def locked(name):
    """An exclusive lock on cache_dir()/name.lock, for the whole block."""
    with open(cache_dir() / (name + ".lock"), "w") as f:
        fcntl.flock(f, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(f, fcntl.LOCK_UN)


def require_root_tools(tc, *tools):
    """Skips without root (debootstrap, chroot and podman need it); fails
    when a tool `make deps-test` installs is missing."""
    if os.geteuid() != 0:
        raise unittest.SkipTest("needs root")
    missing = [t for t in tools if shutil.which(t) is None]
    if missing:
        tc.fail("missing %s: make deps-test installs them" % " ".join(missing))


def run(cmd, timeout, **kw):
    """Runs a command niced, output captured; raises with it on failure."""
    p = subprocess.run(["nice"] + [str(c) for c in cmd], capture_output=True,
                       timeout=timeout, **kw)
    if p.returncode != 0:
        raise AssertionError("%s: exit %d\n%s\n%s" % (
            " ".join(map(str, cmd)), p.returncode,
            p.stdout.decode(errors="replace")[-3000:],
            p.stderr.decode(errors="replace")[-3000:]))
    return p


def base_tarball():
    """A tar of `debootstrap --variant=minbase bookworm`, made at most
    once a day. Returns its path."""
    cache = cache_dir()
    tar = cache / ("debian-12-minbase.tar")
    with locked("debian-12-minbase"):
        if tar.exists() and time.time() - tar.stat().st_mtime < \
                BASE_MAX_AGE_SEC:
            return tar
        work = pathlib.Path(tempfile.mkdtemp(prefix="debootstrap-",
                                             dir=cache))
        try:
            cmd = ["debootstrap", "--variant=minbase", SUITE, work / "root"]
            mirror = os.environ.get("OCSPGATE_DEBIAN_MIRROR")
            if mirror:
                cmd.append(mirror)
            run(cmd, timeout=900)
            # What apt would clean: the packages debootstrap downloaded.
            for deb in (work / "root/var/cache/apt/archives").glob("*.deb"):
                deb.unlink()
            run(["tar", "-C", work / "root", "-cf", work / "base.tar", "."],
                timeout=300)
            os.replace(work / "base.tar", tar)
        finally:
            shutil.rmtree(work, ignore_errors=True)
    return tar


def extract(tar, root):
    """Unpacks the base into a new directory root (owners kept)."""
    root.mkdir(parents=True)
    run(["tar", "-C", root, "-xf", tar, "--numeric-owner"], timeout=300)


def package():
    """The .deb of the source tree: a build configured for /usr without
    the tests (as a packager builds it), kept in the cache and rebuilt
    incrementally, then `cpack -G DEB`. Returns the .deb's path."""
    cache = cache_dir()
    build = cache / "package-build"
    with locked("package-build"):
        if not (build / "CMakeCache.txt").exists():
            run(["cmake", "-S", REPO, "-B", build,
                 "-DCMAKE_BUILD_TYPE=Release", "-DCMAKE_INSTALL_PREFIX=/usr",
                 "-DBUILD_TESTING=OFF"], timeout=300)
        else:
            run(["cmake", build], timeout=300)
        run(["cmake", "--build", build, "-j2", "--target", "ocspgate"],
            timeout=900)
        for old in build.glob("ocspgate_*.deb"):
            old.unlink()
        run(["cpack", "-G", "DEB", "-B", build], timeout=300, cwd=build)
        debs = sorted(build.glob("ocspgate_*.deb"))
        assert len(debs) == 1, debs
        return debs[0]
