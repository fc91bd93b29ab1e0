"""The harness itself: what the other tests stand on must not fail them."""

import os
import shutil
import sys
import unittest
from pathlib import Path

from ocspgate_harness import ProxyTestCase, clean_env, run

HERE = Path(__file__).resolve().parent

# Runs in a network namespace of its own with a 10-port ephemeral range:
# every odd port (the ones bind(port 0) tries first) is held by a socket
# on 127.0.0.2 only, as a client's TIME_WAIT after `curl --interface
# 127.0.0.2` holds one; 40004 is free on every address. `openssl ocsp
# -port N` binds all addresses, so only 40004 can work for it.
CHILD = r"""
import socket, sys, types
sys.path.insert(0, sys.argv[1])
import ocspgate_harness as h
held = []
for port in range(40000, 40010):
    if port != 40004:
        s = socket.socket()
        s.bind(("127.0.0.2", port))
        s.listen()
        held.append(s)
d = sys.argv[2]
pki = types.SimpleNamespace(index=d + "/index.txt", ca=d + "/ca.pem",
                            ocsp=d + "/ocsp.pem", ocsp_key=d + "/ocsp.key",
                            dir=d)
r = h.Responder(pki, multi=2)
print("started on", r.port, "listening", h.port_listening(r.port))
r.stop()
"""


class ResponderPortTests(ProxyTestCase):
    RESPONDERS = 0

    def test_port_held_on_another_loopback_address(self):
        """A port free on 127.0.0.1 but held on 127.0.0.2 is not free for
        the responder (it binds [::], every address): it must not be
        handed one, or under load all five start attempts fail."""
        if os.geteuid() != 0 or shutil.which("unshare") is None:
            self.skipTest("needs root and unshare(1) for a network "
                          "namespace of its own")
        for name in ("index.txt", "ca.pem", "ocsp.pem", "ocsp.key"):
            self.assertTrue((self.pki.dir / name).exists(), name)
        script = ("ip link set lo up && echo '40000 40009' > "
                  "/proc/sys/net/ipv4/ip_local_port_range && "
                  'exec "$0" -c "$1" "$2" "$3"')
        p = run(["unshare", "-n", "sh", "-c", script, sys.executable,
                 CHILD, str(HERE), str(self.pki.dir)], timeout=60,
                check=False, env=clean_env())
        out = p.stdout.decode(errors="replace")
        err = p.stderr.decode(errors="replace")
        self.assertEqual(p.returncode, 0, "stdout: %s\nstderr: %s"
                         % (out, err))
        self.assertEqual(out.strip(), "started on 40004 listening True")


if __name__ == "__main__":
    unittest.main()
