"""Transparent interception: clients with no proxy settings whose port-80
connections the kernel hands to ocspgate, with the nftables recipes
shipped in conf/ loaded as they are (only their define lines changed).

Each class builds its own network namespaces (netns.Topology): a client
namespace, a router namespace running ocspgate and the rules, one with
an `openssl ocsp` responder on port 80 and one with a decoy web server
on port 80. Nothing touches the host's own network. The tests need root,
iproute2 and nftables, and skip with the reason otherwise.
"""

import json
import re
import shutil
import tempfile
import time
import unittest
from pathlib import Path

import netns
from dnsfake import TYPE_A, TYPE_AAAA, AddressDNS
from netns import Decoy, PortResponder, Topology
from ocspgate_harness import (
    REPO, Client, Env, FakeDNS, Proxy, assert_event_shape, assert_refusal,
    binary, finish_proxy, get, get_cryptoapi, http_request, ocsp_post,
    ocsp_request_der, ocsp_response_text, openssl_reqout, scaled)

CONF = REPO / "conf"
REDIRECT_RECIPE = CONF / "nftables-redirect.nft"
TPROXY_RECIPE = CONF / "nftables-tproxy.nft"
DOC = REPO / "docs" / "transparent.md"

NAME = "ocsp.ca.test"
# The namespaces are private to the test, so fixed ports cannot collide;
# they must be fixed because one redirect rule names one port for all
# of ocspgate's listeners.
GATE_PORT = 3128
TPROXY_PORT = 3129
# Not the recipes' default, so that a recipe and a config that disagree
# on the mark cannot pass by accident.
MARK = 42
TPROXY_MARK = "0x1"  # the recipe's default, which its ip rule lines use

SRV4, SRV6 = Topology.addr("srv", 4), Topology.addr("srv", 6)
DCY4, DCY6 = Topology.addr("dcy", 4), Topology.addr("dcy", 6)
CLI4, CLI6 = Topology.addr("cli", 4), Topology.addr("cli", 6)
LAN4, LAN6 = Topology.gw_addr("cli", 4), Topology.gw_addr("cli", 6)
WAN4, WAN6 = Topology.gw_addr("srv", 4), Topology.gw_addr("srv", 6)
LAN_IF = Topology.gw_interface("cli")

# Counters that show where port-80 connections went: in srv, those the
# responder received; in gw, those leaving the router for port 80 after
# NAT (ocspgate's upstream connections), with and without ocspgate's mark.
PROBE_SRV = """
table inet probe
delete table inet probe
table inet probe {
	counter conns {}
	chain input {
		type filter hook input priority 0; policy accept;
		tcp dport 80 ct state new counter name conns
	}
}
"""
PROBE_GW = """
table inet probe
delete table inet probe
table inet probe {
	counter marked {}
	counter unmarked {}
	chain output {
		type filter hook output priority 100; policy accept;
		tcp dport 80 ct state new meta mark %d counter name marked
		tcp dport 80 ct state new meta mark != %d counter name unmarked
	}
}
""" % (MARK, MARK)


def recipe(path, **values):
    """The shipped recipe at <path> with its defines set to <values>."""
    return netns.substitute_defines(path.read_text(), values)


def doc_block(name, **values):
    """The shell block of docs/transparent.md marked
    `<!-- tested: NAME -->`, with its variable lines set to <values>."""
    m = re.search(r"^<!-- tested: %s -->\n```sh\n(.*?)^```$" % re.escape(name),
                  DOC.read_text(), re.M | re.S)
    if m is None:
        raise AssertionError("no block `%s` in %s" % (name, DOC.name))
    text = m.group(1)
    for var, value in values.items():
        text, n = re.subn(r"^(%s=)\S+" % var,
                          lambda mm: mm.group(1) + str(value), text,
                          count=1, flags=re.M)
        if n != 1:
            raise AssertionError("block %s sets no %s" % (name, var))
    return text


def policy_routing(path):
    """The `ip rule` / `ip route` commands a recipe's comments give."""
    return [line.split()[1:] for line in
            re.findall(r"^#\s+(ip -[46] (?:rule|route) add .*)$",
                       path.read_text(), re.M)]


def assert_shape(tc, ev):
    """The contract's shape of every event (the harness's check, which
    covers transparent events), and host_mismatch only where it applies."""
    assert_event_shape(tc, ev)
    dump = json.dumps(ev)[:2000]
    if get(ev, "ocspgate.interception") == "explicit":
        tc.assertIsNone(get(ev, "ocspgate.host_mismatch"), dump)
    # present only when true
    tc.assertIn(get(ev, "ocspgate.host_mismatch"), (None, True), dump)


class TransparentTestCase(unittest.TestCase):
    """Builds the namespaces, the responder, the decoy and the resolver
    once per class; each test gets a clean ruleset in gw and starts its
    own ocspgate there."""

    topo = None

    @classmethod
    def setUpClass(cls):
        reason = netns.unavailable()
        if reason:
            raise unittest.SkipTest(reason)
        binary()
        cls.env = Env.get()
        cls.pki = cls.env.pki
        cls.topo = Topology()
        cls.addClassCleanup(cls.topo.delete)
        cls.topo.create()
        with cls.topo.inside("srv"):
            cls.responder = PortResponder(cls.pki, 80)
        cls.addClassCleanup(cls.responder.stop)
        with cls.topo.inside("dcy"):
            cls.decoy = Decoy(80)
        cls.addClassCleanup(cls.decoy.stop)
        with cls.topo.inside("gw"):
            cls.dns = FakeDNS()
        cls.addClassCleanup(cls.dns.stop)
        cls.dir = Path(tempfile.mkdtemp(prefix="transparent-",
                                        dir=cls.env.dir))
        # ocspgate's view of the responder's name: both of srv's
        # addresses; never the decoy's.
        cls.hosts = cls.dir / "hosts"
        cls.hosts.write_text("%s\t%s\n%s\t%s\n" % (SRV4, NAME, SRV6, NAME))

    def setUp(self):
        self.tmp = Path(tempfile.mkdtemp(prefix=self.id().rsplit(".", 1)[-1]
                                         + "-", dir=self.dir))
        self.topo.run("gw", ["nft", "flush", "ruleset"])
        self.topo.nft("gw", PROBE_GW)
        self.topo.nft("srv", PROBE_SRV)
        self.decoy_before = len(self.decoy.connections())
        self.assertTrue(self.responder.alive(), "the responder died")

    # -- set-up helpers ----------------------------------------------------

    def load_redirect(self, **values):
        v = dict(LAN_IF='"%s"' % LAN_IF, OCSPGATE_PORT=GATE_PORT,
                 OCSPGATE_MARK=MARK)
        v.update(values)
        self.topo.nft("gw", recipe(REDIRECT_RECIPE, **v))

    def load_tproxy(self):
        self.topo.nft("gw", recipe(TPROXY_RECIPE, LAN_IF='"%s"' % LAN_IF,
                                   OCSPGATE_TPROXY_PORT=TPROXY_PORT))
        cmds = policy_routing(TPROXY_RECIPE)
        self.assertEqual(len(cmds), 4, "the recipe's ip rule/route lines")
        for cmd in cmds:
            self.addCleanup(self.topo.run, "gw",
                            ["ip"] + [("del" if a == "add" else a)
                                      for a in cmd], check=False)
            self.topo.run("gw", ["ip"] + cmd)

    def start_gate(self, listen, **kw):
        """ocspgate inside gw on <listen> (list of addresses or listener
        groups); stopped in cleanup, where it must exit 0 on SIGTERM and
        have logged only well-formed events."""
        cfg = {
            "listen": tuple(listen),
            "mode": "enforce",
            "event_log": str(self.tmp / "events.jsonl"),
            "hosts_file": str(self.hosts),
            "resolvers": [self.dns.address],
            "responders": [NAME],
            "upstream_mark": MARK,
            "upstream_timeout": 5,
        }
        cfg.update(kw)
        with self.topo.inside("gw"):
            p = Proxy(self.tmp, cfg)
        self.addCleanup(self._finish_gate, p)
        return p

    def _finish_gate(self, p):
        finish_proxy(self, p, lambda ev: assert_shape(self, ev))

    # -- clients -----------------------------------------------------------

    def ocsp_client(self, role, url, host=NAME, cert="good"):
        """`openssl ocsp` without a proxy, run in <role>, asking <url>
        with Host: <host>. Returns (returncode, the certificate's status
        or None, its stderr and stdout)."""
        leaf = str(self.pki.leaves[cert])
        cmd = ["openssl", "ocsp", "-issuer", str(self.pki.ca), "-cert", leaf,
               "-url", url, "-header", "Host=" + host, "-CAfile",
               str(self.pki.ca)]
        p = self.topo.run(role, cmd, timeout=20, check=False)
        out = p.stdout.decode(errors="replace")
        m = re.search(r"^%s: (good|revoked|unknown)$" % re.escape(leaf), out,
                      re.M)
        return (p.returncode, m.group(1) if m else None,
                p.stderr.decode(errors="replace") + out)

    def assert_good(self, role, url, host=NAME):
        rc, status, text = self.ocsp_client(role, url, host)
        self.assertEqual((rc, status), (0, "good"), text)
        self.assertIn("Response verify OK", text)

    def raw(self, role, ip, port, data, timeout=10):
        """Sends <data> from <role> to ip:port; returns the response."""
        with self.topo.inside(role):
            with Client(port, ip, timeout=timeout) as c:
                c.send(data)
                return c.read_response(timeout=timeout)

    # -- checks ------------------------------------------------------------

    def events(self, gate, n):
        evs = gate.wait_events(n, timeout=5)
        for ev in evs:
            assert_shape(self, ev)
        return evs

    def one_event(self, gate, **fields):
        """The only event of this test (waiting briefly for any extra
        one), with <fields> (dotted names as keys via '__')."""
        evs = self.events(gate, 1)
        time.sleep(scaled(0.2))
        evs = gate.events()
        self.assertEqual(len(evs), 1, json.dumps(evs, indent=1)[:3000])
        ev = evs[0]
        for k, v in fields.items():
            self.assertEqual(get(ev, k.replace("__", ".")), v,
                             "%s in %s" % (k, json.dumps(ev)[:2000]))
        return ev

    def assert_intercepted(self, ev, orig_ip, source_ip, orig_port=80):
        self.assertEqual(get(ev, "ocspgate.interception"), "transparent")
        self.assertEqual(get(ev, "ocspgate.original_destination"),
                         {"ip": orig_ip, "port": orig_port})
        self.assertEqual(get(ev, "source.ip"), source_ip)
        self.assertEqual(get(ev, "destination.domain"), NAME)
        self.assertEqual(get(ev, "destination.port"), 80)

    def assert_served_by_responder(self, ev, connections=1):
        """The request reached the real responder, over a connection
        ocspgate made to an address it resolved itself."""
        self.assertIn(get(ev, "destination.ip"), (SRV4, SRV6),
                      json.dumps(ev))
        self.assertEqual(self.topo.counter("srv", "probe", "conns"),
                         connections, "connections the responder received")

    def assert_decoy_untouched(self):
        self.assertEqual(self.decoy.connections()[self.decoy_before:], [],
                         "ocspgate connected to the client's chosen "
                         "address instead of resolving Host")

    def assert_upstream_marked(self, n=1):
        """ocspgate's upstream connections left gw with its mark, and no
        unmarked connection to port 80 left gw."""
        self.assertEqual(self.topo.counter("gw", "probe", "marked"), n)
        self.assertEqual(self.topo.counter("gw", "probe", "unmarked"), 0)


LISTEN_REDIRECT = [
    # output chain: this host's own programs
    "127.0.0.1:%d" % GATE_PORT, "[::1]:%d" % GATE_PORT,
    # prerouting chain: clients behind the router (redirect rewrites the
    # destination to the router's address on the client's interface)
    {"address": "%s:%d" % (LAN4, GATE_PORT), "transparent": "redirect"},
    {"address": "[%s]:%d" % (LAN6, GATE_PORT), "transparent": "redirect"},
]


class RedirectTests(TransparentTestCase):
    """conf/nftables-redirect.nft: the router (prerouting) and
    single-host (output) cases."""

    def setUp(self):
        super().setUp()
        self.load_redirect()

    def test_router_post(self):
        gate = self.start_gate(LISTEN_REDIRECT)
        self.assert_good("cli", "http://%s/" % SRV4)
        ev = self.one_event(gate, event__action="allow",
                            event__reason="ocsp_request",
                            ocspgate__enforced=True,
                            http__request__method="POST",
                            http__response__status_code=200,
                            url__original="/", url__path="/",
                            ocspgate__responder=NAME)
        self.assert_intercepted(ev, SRV4, CLI4)
        self.assertIsNone(get(ev, "ocspgate.host_mismatch"))
        self.assert_served_by_responder(ev)
        self.assert_upstream_marked()
        self.assert_decoy_untouched()

    def test_router_get(self):
        gate = self.start_gate(LISTEN_REDIRECT)
        der = openssl_reqout(self.pki, tmpdir=self.tmp)
        path = "/" + get_cryptoapi(der)
        body = self.tmp / "resp.der"
        cmd = ["curl", "-sS", "--noproxy", "*", "--path-as-is", "-o",
               str(body), "-w", "%{http_code}", "--max-time", "10", "-H",
               "Host: " + NAME, "http://%s%s" % (SRV4, path)]
        p = self.topo.run("cli", cmd, timeout=15, check=False)
        self.assertEqual(p.stdout.decode(), "200", p.stderr.decode())
        rc, text = ocsp_response_text(body.read_bytes(), self.tmp, self.pki)
        self.assertEqual(rc, 0, text)
        self.assertIn("Response verify OK", text)
        self.assertIn("Cert Status: good", text)
        ev = self.one_event(gate, event__action="allow",
                            event__reason="ocsp_request",
                            http__request__method="GET",
                            http__response__status_code=200,
                            url__original=path)
        self.assertIn("get_percent_encoded",
                      get(ev, "ocspgate.ocsp.request.flags"))
        self.assert_intercepted(ev, SRV4, CLI4)
        self.assert_served_by_responder(ev)

    def hostless_post(self, ip):
        """An HTTP/1.0 POST without Host, as OpenSSL 1.0's `openssl ocsp`
        sends it, from cli to <ip>:80."""
        der = openssl_reqout(self.pki, tmpdir=self.tmp)
        return self.raw("cli", ip, 80,
                        b"POST / HTTP/1.0\r\n"
                        b"Content-Type: application/ocsp-request\r\n"
                        b"Content-Length: %d\r\n\r\n" % len(der) + der)

    def test_http10_without_host_found_by_address(self):
        """The original destination is an address of the listed
        responder (by ocspgate's own resolver, here its hosts file): the
        request goes to that responder."""
        gate = self.start_gate(LISTEN_REDIRECT)
        r = self.hostless_post(SRV4)
        self.assertEqual(r.status, 200, r.text())
        rc, text = ocsp_response_text(r.body, self.tmp, self.pki)
        self.assertEqual(rc, 0, text)
        self.assertIn("Cert Status: good", text)
        ev = self.one_event(gate, event__action="allow",
                            event__reason="ocsp_request",
                            ocspgate__responder=NAME)
        self.assert_intercepted(ev, SRV4, CLI4)
        self.assertEqual(get(ev, "ocspgate.request.flags"),
                         ["no_host", "host_by_address"])
        self.assertEqual(get(ev, "ocspgate.request.fingerprint"),
                         "po1002_df6d530e90c3")
        self.assert_served_by_responder(ev)
        self.assert_decoy_untouched()

    def test_http10_without_host_elsewhere_is_refused(self):
        """An address no listed host resolves to stays the target: the
        policy refuses it, and nothing connects to it."""
        gate = self.start_gate(LISTEN_REDIRECT)
        r = self.hostless_post(DCY4)
        self.assertEqual(r.status, 403, r.text())
        ev = self.one_event(gate, event__action="block",
                            event__reason="unknown_responder",
                            destination__ip=DCY4)
        self.assertEqual(get(ev, "ocspgate.request.flags"), ["no_host"])
        self.assert_decoy_untouched()

    def test_http10_without_host_found_by_dns(self):
        """The same, with the responder's name only in DNS: ocspgate asks
        A and AAAA itself and matches the original destination against
        the answers."""
        with self.topo.inside("gw"):
            dns = AddressDNS({NAME: [SRV4, SRV6]}, ttl=300)
        self.addCleanup(dns.stop)
        gate = self.start_gate(LISTEN_REDIRECT, hosts_file="",
                               resolvers=[dns.address])
        for _ in range(2):
            r = self.hostless_post(SRV4)
            self.assertEqual(r.status, 200, r.text())
        evs = self.events(gate, 2)
        for ev in evs:
            self.assertEqual(get(ev, "event.reason"), "ocsp_request")
            self.assertEqual(get(ev, "ocspgate.request.flags"),
                             ["no_host", "host_by_address"])
            self.assertEqual(get(ev, "destination.domain"), NAME)
        self.assertGreaterEqual(dns.asked(NAME, TYPE_A), 1)
        self.assertGreaterEqual(dns.asked(NAME, TYPE_AAAA), 1)

    def test_single_host_output_no_loop(self):
        """A program on the router itself: the output chain sends it to
        127.0.0.1. ocspgate's own connection to port 80 carries
        upstream_mark, which the chain lets through: had it been
        redirected back to ocspgate there would be a second event (and
        a loop), and no connection would reach the responder."""
        gate = self.start_gate(LISTEN_REDIRECT)
        self.assert_good("gw", "http://%s/" % SRV4)
        ev = self.one_event(gate, event__action="allow",
                            event__reason="ocsp_request")
        # The client's source address is gw's own on the route to srv.
        self.assert_intercepted(ev, SRV4, WAN4)
        self.assert_served_by_responder(ev)
        self.assert_upstream_marked()

    def test_loop_without_mark_is_cut(self):
        """A recipe whose exemption does not match upstream_mark sends
        ocspgate's own upstream connection back to itself. The request
        then carries the Via that ocspgate added, and the second pass
        refuses it with 508 forwarding_loop instead of looping on until
        max_connections: two events, not thousands. The first pass sees
        a 508 where an OCSP response should be: the client gets 502."""
        gate = self.start_gate(LISTEN_REDIRECT, upstream_mark=MARK + 1)
        der = ocsp_request_der([self.pki.cert_id("good")])
        r = self.raw("gw", SRV4, 80, ocsp_post("/", der, host=NAME))
        self.assertEqual(r.status, 502)
        self.assertIn(b"response_malformed", r.body)
        self.events(gate, 2)
        time.sleep(scaled(0.3))
        evs = gate.events()
        self.assertEqual(len(evs), 2, json.dumps(evs, indent=1)[:3000])
        self.assertEqual(sorted(get(e, "event.reason") for e in evs),
                         ["forwarding_loop", "response_malformed"])

    def test_forged_host_logged_and_served_from_resolved_address(self):
        """on_host_mismatch = "log": a request sent to the decoy's address
        but naming the responder in Host is flagged, and ocspgate fetches
        the answer from the address it resolves for Host: the decoy gets
        nothing, the responder answers."""
        gate = self.start_gate(LISTEN_REDIRECT)
        self.assert_good("cli", "http://%s/" % DCY4)
        ev = self.one_event(gate, event__action="allow",
                            event__reason="ocsp_request",
                            ocspgate__host_mismatch=True)
        self.assert_intercepted(ev, DCY4, CLI4)
        self.assert_served_by_responder(ev)
        self.assert_decoy_untouched()

    def test_forged_host_blocked(self):
        gate = self.start_gate(LISTEN_REDIRECT, on_host_mismatch="block")
        der = ocsp_request_der([self.pki.cert_id("good")])
        r = self.raw("cli", DCY4, 80, ocsp_post("/", der, host=NAME))
        assert_refusal(self, r, 403, "host_mismatch")
        ev = self.one_event(gate, event__action="block",
                            event__reason="host_mismatch",
                            ocspgate__enforced=True,
                            ocspgate__host_mismatch=True,
                            http__response__status_code=403)
        self.assert_intercepted(ev, DCY4, CLI4)
        self.assertIsNone(get(ev, "destination.ip"))
        self.assertEqual(self.topo.counter("srv", "probe", "conns"), 0)
        self.assert_decoy_untouched()

    def test_forged_host_blocked_in_monitor_mode_is_forwarded(self):
        gate = self.start_gate(LISTEN_REDIRECT, on_host_mismatch="block",
                               mode="monitor")
        self.assert_good("cli", "http://%s/" % DCY4)
        ev = self.one_event(gate, event__action="block",
                            event__reason="host_mismatch",
                            ocspgate__enforced=False,
                            ocspgate__mode="monitor",
                            ocspgate__host_mismatch=True,
                            http__response__status_code=200)
        self.assert_served_by_responder(ev)
        self.assert_decoy_untouched()

    def test_matching_host_passes_with_block(self):
        """"block" refuses only mismatches: the real address passes."""
        gate = self.start_gate(LISTEN_REDIRECT, on_host_mismatch="block")
        self.assert_good("cli", "http://%s/" % SRV4)
        ev = self.one_event(gate, event__action="allow")
        self.assertIsNone(get(ev, "ocspgate.host_mismatch"))

    def test_intercepted_request_still_meets_the_policy(self):
        """Interception changes where the target comes from, not the
        policy: a Host that is no responder is refused, unforwarded."""
        gate = self.start_gate(LISTEN_REDIRECT)
        der = ocsp_request_der([self.pki.cert_id("good")])
        r = self.raw("cli", SRV4, 80, ocsp_post("/", der, host="other.test"))
        assert_refusal(self, r, 403, "unknown_responder")
        ev = self.one_event(gate, event__action="block",
                            event__reason="unknown_responder",
                            destination__domain="other.test")
        self.assertEqual(get(ev, "ocspgate.original_destination"),
                         {"ip": SRV4, "port": 80})
        self.assertEqual(self.topo.counter("srv", "probe", "conns"), 0)

    def test_origin_form_not_redirected_is_malformed(self):
        """An origin-form request straight to ocspgate's port (nothing
        redirected it) has no original destination: 400."""
        gate = self.start_gate(LISTEN_REDIRECT)
        der = ocsp_request_der([self.pki.cert_id("good")])
        for n, (role, ip) in enumerate((("cli", LAN4), ("gw", "127.0.0.1"),
                                        ("cli", LAN6)), 1):
            r = self.raw(role, ip, GATE_PORT, ocsp_post("/", der, host=NAME))
            assert_refusal(self, r, 400, "http_malformed")
            ev = self.events(gate, n)[-1]
            self.assertEqual(get(ev, "event.reason"), "http_malformed")
            self.assertEqual(get(ev, "ocspgate.interception"), "explicit")
            self.assertIsNone(get(ev, "ocspgate.original_destination"))
        self.assertEqual(self.topo.counter("srv", "probe", "conns"), 0)

    def test_explicit_proxy_on_the_same_listener(self):
        """The redirect listener still serves explicit-proxy clients."""
        gate = self.start_gate(LISTEN_REDIRECT)
        der = ocsp_request_der([self.pki.cert_id("good")])
        r = self.raw("cli", LAN4, GATE_PORT,
                     ocsp_post("http://%s/" % NAME, der))
        self.assertEqual(r.status, 200, r.body[:200])
        ev = self.one_event(gate, event__action="allow",
                            ocspgate__interception="explicit",
                            url__original="http://%s/" % NAME)
        self.assertIsNone(get(ev, "ocspgate.original_destination"))
        self.assert_served_by_responder(ev)

    def test_listener_with_transparent_off(self):
        """transparent = "off": a redirected connection is not trusted
        for its original destination, so origin-form is malformed."""
        gate = self.start_gate([{"address": "%s:%d" % (LAN4, GATE_PORT),
                                 "transparent": "off"}])
        der = ocsp_request_der([self.pki.cert_id("good")])
        r = self.raw("cli", SRV4, 80, ocsp_post("/", der, host=NAME))
        assert_refusal(self, r, 400, "http_malformed")
        ev = self.one_event(gate, event__reason="http_malformed",
                            ocspgate__interception="explicit")
        self.assertIsNone(get(ev, "ocspgate.original_destination"))
        self.assertEqual(self.topo.counter("srv", "probe", "conns"), 0)

    def test_monitor_mode_forwards_intercepted_policy_blocks(self):
        """Monitor mode forwards a policy block that has a host (only
        malformed HTTP, oversized bodies, CONNECT and host-less targets
        are refused), intercepted requests included."""
        gate = self.start_gate(LISTEN_REDIRECT, mode="monitor")
        self.raw("cli", SRV4, 80,
                 http_request("GET", "/index.html", host=NAME,
                              connection="close"))
        self.one_event(gate, event__action="block", event__reason="not_ocsp",
                       ocspgate__enforced=False)
        self.assertEqual(self.topo.counter("srv", "probe", "conns"), 1)


class RedirectIPv6Tests(TransparentTestCase):
    """The same recipe's inet table for IPv6: IP6T_SO_ORIGINAL_DST."""

    def setUp(self):
        super().setUp()
        self.load_redirect()

    def test_router_post(self):
        gate = self.start_gate(LISTEN_REDIRECT)
        self.assert_good("cli", "http://[%s]/" % SRV6)
        ev = self.one_event(gate, event__action="allow",
                            event__reason="ocsp_request")
        self.assert_intercepted(ev, SRV6, CLI6)
        self.assertIsNone(get(ev, "ocspgate.host_mismatch"))
        self.assert_served_by_responder(ev)
        self.assert_upstream_marked()

    def test_single_host_output(self):
        gate = self.start_gate(LISTEN_REDIRECT)
        self.assert_good("gw", "http://[%s]/" % SRV6)
        ev = self.one_event(gate, event__action="allow")
        self.assert_intercepted(ev, SRV6, WAN6)
        self.assert_served_by_responder(ev)
        self.assert_upstream_marked()

    def test_forged_host(self):
        gate = self.start_gate(LISTEN_REDIRECT)
        self.assert_good("cli", "http://[%s]/" % DCY6)
        ev = self.one_event(gate, event__action="allow",
                            ocspgate__host_mismatch=True)
        self.assert_intercepted(ev, DCY6, CLI6)
        self.assert_served_by_responder(ev)
        self.assert_decoy_untouched()


LISTEN_TPROXY = [
    {"address": "%s:%d" % (LAN4, TPROXY_PORT), "transparent": "tproxy"},
    {"address": "[%s]:%d" % (LAN6, TPROXY_PORT), "transparent": "tproxy"},
]


class TproxyTests(TransparentTestCase):
    """conf/nftables-tproxy.nft and its policy routing: the client's
    packets reach ocspgate unchanged through the router."""

    def setUp(self):
        super().setUp()
        self.load_tproxy()

    def start_tproxy_gate(self, **kw):
        # No upstream_mark: ocspgate's connections do not pass the
        # prerouting rule, and TPROXY_MARK would route them into lo.
        kw.setdefault("upstream_mark", None)
        return self.start_gate(LISTEN_TPROXY, **kw)

    def test_post_ipv4(self):
        gate = self.start_tproxy_gate()
        self.assert_good("cli", "http://%s/" % SRV4)
        ev = self.one_event(gate, event__action="allow",
                            event__reason="ocsp_request")
        self.assert_intercepted(ev, SRV4, CLI4)
        self.assertIsNone(get(ev, "ocspgate.host_mismatch"))
        self.assert_served_by_responder(ev)

    def test_post_ipv6(self):
        gate = self.start_tproxy_gate()
        self.assert_good("cli", "http://[%s]/" % SRV6)
        ev = self.one_event(gate, event__action="allow")
        self.assert_intercepted(ev, SRV6, CLI6)
        self.assert_served_by_responder(ev)

    def test_forged_host(self):
        gate = self.start_tproxy_gate()
        self.assert_good("cli", "http://%s/" % DCY4)
        ev = self.one_event(gate, event__action="allow",
                            ocspgate__host_mismatch=True)
        self.assert_intercepted(ev, DCY4, CLI4)
        self.assert_served_by_responder(ev)
        self.assert_decoy_untouched()

    def test_forged_host_blocked(self):
        gate = self.start_tproxy_gate(on_host_mismatch="block")
        der = ocsp_request_der([self.pki.cert_id("good")])
        r = self.raw("cli", DCY4, 80, ocsp_post("/", der, host=NAME))
        assert_refusal(self, r, 403, "host_mismatch")
        self.one_event(gate, event__reason="host_mismatch",
                       ocspgate__host_mismatch=True)
        self.assert_decoy_untouched()

    def test_origin_form_straight_to_listener_is_malformed(self):
        """A connection made to the tproxy listener itself was not
        intercepted: like on a redirect listener, origin-form is 400."""
        gate = self.start_tproxy_gate()
        der = ocsp_request_der([self.pki.cert_id("good")])
        r = self.raw("cli", LAN4, TPROXY_PORT, ocsp_post("/", der, host=NAME))
        assert_refusal(self, r, 400, "http_malformed")
        self.one_event(gate, event__reason="http_malformed",
                       ocspgate__interception="explicit")


class IptablesTests(TransparentTestCase):
    """The iptables blocks of docs/transparent.md, run as written."""

    @classmethod
    def setUpClass(cls):
        for tool in ("iptables", "ip6tables"):
            if shutil.which(tool) is None:
                raise unittest.SkipTest("%s not found (Debian package "
                                        "iptables)" % tool)
        super().setUpClass()

    def setUp(self):
        super().setUp()
        # `nft flush ruleset` clears iptables-nft; the legacy back end
        # keeps its own tables.
        for ipt in ("iptables", "ip6tables"):
            for args in (["-t", "nat", "-F"], ["-t", "mangle", "-F"],
                         ["-t", "mangle", "-X"]):
                self.topo.run("gw", [ipt] + args, check=False)

    def run_block(self, name, **values):
        self.topo.run("gw", ["sh", "-e", "-c", doc_block(name, **values)])

    def test_redirect(self):
        self.run_block("iptables-redirect", LAN_IF=LAN_IF,
                       OCSPGATE_PORT=GATE_PORT, OCSPGATE_MARK=MARK)
        gate = self.start_gate(LISTEN_REDIRECT)
        checks = (("cli", SRV4, CLI4), ("gw", SRV4, WAN4),
                  ("cli", SRV6, CLI6), ("gw", SRV6, WAN6))
        for n, (role, dst, src) in enumerate(checks, 1):
            url = "http://%s/" % (dst if ":" not in dst else "[%s]" % dst)
            self.assert_good(role, url)
            ev = self.events(gate, n)[-1]
            self.assertEqual(get(ev, "event.reason"), "ocsp_request")
            self.assert_intercepted(ev, dst, src)
            self.assert_served_by_responder(ev, n)
        self.assert_upstream_marked(len(checks))
        self.assertEqual(len(gate.events()), len(checks))

    def test_tproxy(self):
        for fam in ("-4", "-6"):
            self.addCleanup(self.topo.run, "gw", ["ip", fam, "route",
                                                  "flush", "table", "100"],
                            check=False)
            self.addCleanup(self.topo.run, "gw", ["ip", fam, "rule", "del",
                                                  "fwmark", TPROXY_MARK,
                                                  "lookup", "100"],
                            check=False)
        self.run_block("iptables-tproxy", LAN_IF=LAN_IF,
                       OCSPGATE_TPROXY_PORT=TPROXY_PORT,
                       TPROXY_MARK=TPROXY_MARK)
        gate = self.start_gate(LISTEN_TPROXY, upstream_mark=None)
        for n, (dst, src) in enumerate(((SRV4, CLI4), (SRV6, CLI6)), 1):
            url = "http://%s/" % (dst if ":" not in dst else "[%s]" % dst)
            self.assert_good("cli", url)
            ev = self.events(gate, n)[-1]
            self.assertEqual(get(ev, "event.reason"), "ocsp_request")
            self.assert_intercepted(ev, dst, src)
            self.assert_served_by_responder(ev, n)


class RecipeDocsTests(unittest.TestCase):
    """docs/transparent.md shows the shipped recipes as they are."""

    def test_docs_quote_the_recipes(self):
        doc = DOC.read_text()
        for path in (REDIRECT_RECIPE, TPROXY_RECIPE):
            self.assertIn("```\n" + path.read_text() + "```\n", doc,
                          "%s differs from its copy in %s"
                          % (path.name, DOC.name))

    def test_recipe_defines(self):
        for path, names in ((REDIRECT_RECIPE, {"LAN_IF", "OCSP_PORTS",
                                               "OCSPGATE_PORT",
                                               "OCSPGATE_MARK"}),
                            (TPROXY_RECIPE, {"LAN_IF", "OCSP_PORTS",
                                             "OCSPGATE_TPROXY_PORT",
                                             "TPROXY_MARK"})):
            self.assertEqual(set(netns.nft_defines(path.read_text())), names)
        self.assertEqual(netns.nft_defines(TPROXY_RECIPE.read_text())
                         ["TPROXY_MARK"], TPROXY_MARK)
        for cmd in policy_routing(TPROXY_RECIPE):
            if "rule" in cmd:
                self.assertEqual(cmd[cmd.index("fwmark") + 1], TPROXY_MARK,
                                 "the recipe's ip rule lines use its mark")


if __name__ == "__main__":
    unittest.main()
