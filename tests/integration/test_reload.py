"""Reload (SIGHUP) is all or nothing: a reload that fails at its last
step, after the listening sockets were bound and the event outputs made,
leaves every part of the running configuration in force (event outputs,
sockets, policy), and the same reload succeeds once the cause is gone.
"""

import os
import resource
import signal
import socket
import time

from ocspgate_harness import (
    Client, ProxyTestCase, config_text, free_port, get, http_request,
    scaled)


def open_fds(pid):
    return sorted(int(n) for n in os.listdir("/proc/%d/fd" % pid))


def limit_with_room(pid, room):
    """The RLIMIT_NOFILE value that leaves process <pid> exactly <room>
    free descriptor numbers (the kernel hands out the lowest free number
    below the limit, so holes count as room)."""
    fds = set(open_fds(pid))
    limit, free = 0, 0
    while free < room or limit in fds:
        if limit not in fds:
            free += 1
        limit += 1
    return limit


class ReloadTests(ProxyTestCase):

    RESPONDERS = 0

    def collector(self):
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.bind(("127.0.0.1", 0))
        s.settimeout(0.2)
        self.addCleanup(s.close)
        return s

    def messages(self, rx, n, wait=2.0):
        """Up to <n> syslog messages from <rx> within <wait> s."""
        got = []
        deadline = time.monotonic() + scaled(wait)
        while len(got) < n and time.monotonic() < deadline:
            try:
                got.append(rx.recv(65536))
            except socket.timeout:
                pass
        return got

    def blocked(self, port, tag, host="127.0.0.1"):
        with Client(port, host=host) as c:
            c.send(http_request("GET", "http://other.test/",
                                headers=[("User-Agent", tag)]))
            self.assertEqual(c.read_response().status, 403)

    def test_reload_out_of_descriptors_switches_nothing(self):
        """The new config adds a listen address and a new syslog target;
        the gate then has descriptors for the new socket and its own
        syslog output but not for every worker's copy of the sockets. The
        reload fails as a whole: the new address is not left bound with
        no worker to serve it, events still go to the old collector, and
        the same reload works once descriptors are there."""
        old_rx, new_rx = self.collector(), self.collector()
        port2 = free_port(host="127.0.0.2")
        cfg = self.base_config(
            workers=2,
            event_syslog="udp://127.0.0.1:%d" % old_rx.getsockname()[1])
        proxy = self.start_proxy(cfg)
        pid = proxy.proc.pid
        self.blocked(proxy.port, "before")
        self.assertEqual(len(self.messages(old_rx, 1)), 1)

        new = dict(cfg, listen=["127.0.0.1:0", "127.0.0.2:%d" % port2],
                   event_syslog="udp://127.0.0.1:%d"
                   % new_rx.getsockname()[1])
        proxy.conf_path.write_text(config_text(new))
        soft, hard = resource.prlimit(pid, resource.RLIMIT_NOFILE)
        self.addCleanup(lambda: proxy.alive() and resource.prlimit(
            pid, resource.RLIMIT_NOFILE, (soft, hard)))
        # One for the new socket, one for the gate's syslog output and
        # two of the four worker copies.
        resource.prlimit(pid, resource.RLIMIT_NOFILE,
                         (limit_with_room(pid, 4), hard))
        nerr = len(proxy.err.lines)
        proxy.signal(signal.SIGHUP)
        self.assertTrue(proxy.err.wait_for(
            lambda l: any("not loaded" in x for x in l[nerr:]), 5),
            proxy.err.text())
        resource.prlimit(pid, resource.RLIMIT_NOFILE, (soft, hard))
        self.assertIn("out of descriptors", proxy.err.text())
        self.assertNotIn("reloaded", proxy.err.text())
        # Nothing switched: no socket on the new address, events to the
        # old collector only.
        with socket.socket() as s:
            s.settimeout(scaled(2))
            self.assertRaises(ConnectionRefusedError, s.connect,
                              ("127.0.0.2", port2))
        self.blocked(proxy.port, "after-failure")
        got = self.messages(old_rx, 1)
        self.assertEqual(len(got), 1)
        self.assertIn(b"after-failure", got[0])
        self.assertEqual(self.messages(new_rx, 1, wait=0.3), [])

        # With descriptors to spare the same file loads.
        nerr = len(proxy.err.lines)
        proxy.signal(signal.SIGHUP)
        self.assertTrue(proxy.err.wait_for(
            lambda l: any("reloaded" in x for x in l[nerr:]), 5),
            proxy.err.text())
        deadline = time.monotonic() + scaled(5)
        got = []
        while not got and time.monotonic() < deadline:
            self.blocked(port2, "after-reload", host="127.0.0.2")
            got = [m for m in self.messages(new_rx, 4, wait=0.3)
                   if b"after-reload" in m]
        self.assertTrue(got, "events do not reach the new collector")
        self.assertEqual([m for m in self.messages(old_rx, 4, wait=0.3)
                          if b"after-reload" in m], [])
        evs = proxy.wait_events(3)
        self.assertEqual([get(e, "user_agent.original") for e in evs][:2],
                         ["before", "after-failure"])
