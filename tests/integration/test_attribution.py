"""Attribution: the inventory file and reverse DNS name the source of
each request in source.domain and ocspgate.asset.

Requests come over real connections from distinct loopback source
addresses (the client socket is bound to 127.0.0.x or ::1 before it
connects), or, for addresses that cannot be reached on loopback, from a
PROXY v2 header. Reverse DNS is answered by a fake DNS server (dnsfake)
on 127.0.0.1; since a lookup never delays a request, a test that needs
the name sends a first request, waits until the fake server has answered
the PTR query, and checks the event of a second request.
"""

import csv
import io
import ipaddress
import json
import re
import shutil
import signal
import socket
import struct
import tempfile
import time
import unittest
from pathlib import Path

from dnsfake import PtrDNS
from ocspgate_harness import (
    REPO, Client, Proxy, ProxyTestCase, assert_event_shape, binary, get,
    ocsp_post, ocsp_request_der, run, scaled)

EXAMPLE_INVENTORY = REPO / "conf" / "inventory.example.csv"

# Loopback rows: every source address below is reachable on 127.0.0.0/8.
INVENTORY = """\
address,host,role,owner,site
127.0.0.10,dc01.corp.example,domain-controller,identity,hq
127.0.0.22,inv22.corp.example,server,platform,hq
127.0.2.0/24,,server,platform,dc1
127.0.2.20,app20.corp.example,app-server,payments,dc1
127.1.0.0/16,,workstation,euc,hq
127.1.5.0/24,,kiosk,,lobby
::1,v6host.corp.example,ipv6-host,netops,hq
"""


def ipv6_loopback():
    if not socket.has_ipv6:
        return False
    try:
        with socket.socket(socket.AF_INET6, socket.SOCK_STREAM) as s:
            s.bind(("::1", 0))
        return True
    except OSError:
        return False


def v2_header(src, sport):
    """A PROXY v2 PROXY/TCP header for client src:sport."""
    six = ":" in src
    af = socket.AF_INET6 if six else socket.AF_INET
    dst = "::1" if six else "127.0.0.1"
    body = (socket.inet_pton(af, src) + socket.inet_pton(af, dst)
            + struct.pack(">HH", sport, 3128))
    return (b"\r\n\r\n\x00\r\nQUIT\n" + bytes([0x21, 0x21 if six else 0x11])
            + struct.pack(">H", len(body)) + body)


class SourceClient(Client):
    """A harness Client bound to source address <src> before connecting."""

    def __init__(self, port, src, host="127.0.0.1", timeout=5):
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        self.sock = socket.socket(family, socket.SOCK_STREAM)
        self.sock.settimeout(scaled(timeout))
        self.buf = bytearray()
        self.eof = False
        self.reset = False
        try:
            self.sock.bind((src, 0))
            self.sock.connect((host, port))
        except OSError:
            self.sock.close()
            raise


def read_inventory(text):
    """An independent reading of an inventory CSV: [(network, host,
    {tag: value})], for checking what ocspgate makes of it."""
    lines = [l for l in text.splitlines()
             if l.strip() and not l.lstrip().startswith("#")]
    rows = list(csv.reader(io.StringIO("\n".join(lines))))
    tags = [t.strip().lower() for t in rows[0][2:]]
    out = []
    for row in rows[1:]:
        row = [f.strip() for f in row] + [""] * (2 + len(tags) - len(row))
        out.append((ipaddress.ip_network(row[0]), row[1].lower(),
                    {t: v for t, v in zip(tags, row[2:]) if v}))
    return out


def expected_asset(rows, ip):
    """The longest-prefix row for ip: (host, asset dict) or None."""
    addr = ipaddress.ip_address(ip)
    if addr.version == 6 and addr.ipv4_mapped is not None:
        addr = addr.ipv4_mapped  # looked up as the IPv4 address it maps
    best = None
    for net, host, tags in rows:
        if addr.version == net.version and addr in net and (
                best is None or net.prefixlen > best[0].prefixlen):
            best = (net, host, tags)
    if best is None:
        return None
    asset = dict(best[2])
    if best[1]:
        asset["host"] = best[1]
    return best[1], asset


class AttributionTestCase(ProxyTestCase):
    """Proxies whose events name 127.0.0.x and PROXY header clients: the
    cleanup checks the events' shape for any source address."""

    def check_event(self, ev):
        assert_event_shape(self, ev)
        asset = get(ev, "ocspgate.asset")
        if asset is not None:
            self.assertIsInstance(asset, dict)
            self.assertTrue(asset, "empty ocspgate.asset")

    def dns(self, ptr=None, **kw):
        d = PtrDNS(ptr, **kw)
        self.addCleanup(d.stop)
        return d

    def start(self, inventory=None, dns=None, reverse_dns=None, listen=None,
              **kw):
        """ocspgate in front of the class's responder; inventory: CSV text
        written next to the config and named relative to it."""
        if inventory is not None:
            (self.tmp / "inv.csv").write_text(inventory)
            kw["inventory"] = "inv.csv"
        if dns is not None:
            kw["resolvers"] = [dns.address]
        if reverse_dns is not None:
            kw["reverse_dns"] = reverse_dns
        if listen is not None:
            kw["listen"] = listen
        cfg = self.base_config(responders=[self.resp_spec()], **kw)
        p = Proxy(self.tmp, cfg)
        self.addCleanup(self._finish_proxy, p)
        return p

    def url(self, host="ocsp.ca.test", port=None, path="/"):
        return super().url(host, port, path)

    def request_from(self, proxy, src, port=None, host="127.0.0.1",
                     header=b""):
        """One OCSP POST on a new connection from <src>; asserts the 200
        and returns (the event, seconds the answer took)."""
        der = ocsp_request_der([self.pki.cert_id("good")])
        with SourceClient(port or proxy.port, src, host, timeout=10) as c:
            t0 = time.monotonic()
            c.send(header + ocsp_post(self.url(), der))
            r = c.read_response(timeout=10)
            elapsed = time.monotonic() - t0
            sport = c.local_port
        self.assertEqual(r.status, 200, r.raw[:300])
        if header:
            return elapsed
        ev = proxy.wait_event(lambda e: get(e, "source.port") == sport
                              and get(e, "source.ip") == src)
        self.assertEqual(get(ev, "event.reason"), "ocsp_request",
                         json.dumps(ev))
        return ev, elapsed

    def assert_attribution(self, ev, domain, asset):
        dump = json.dumps(ev)
        self.assertEqual(get(ev, "source.domain"), domain, dump)
        self.assertEqual(get(ev, "ocspgate.asset"), asset, dump)


class Inventory(AttributionTestCase):

    def test_exact_host(self):
        p = self.start(INVENTORY)
        ev, _ = self.request_from(p, "127.0.0.10")
        self.assert_attribution(ev, "dc01.corp.example", {
            "host": "dc01.corp.example", "role": "domain-controller",
            "owner": "identity", "site": "hq"})

    def test_cidr_block_without_host(self):
        """A block row without a host: its tags, and no source.domain."""
        p = self.start(INVENTORY)
        ev, _ = self.request_from(p, "127.0.2.33")
        self.assert_attribution(ev, None, {
            "role": "server", "owner": "platform", "site": "dc1"})

    def test_longest_prefix_wins(self):
        p = self.start(INVENTORY)
        cases = [
            ("127.0.2.20", "app20.corp.example", {
                "host": "app20.corp.example", "role": "app-server",
                "owner": "payments", "site": "dc1"}),
            ("127.0.2.21", None, {"role": "server", "owner": "platform",
                                  "site": "dc1"}),
            # /24 inside the /16; its empty owner is left out
            ("127.1.5.9", None, {"role": "kiosk", "site": "lobby"}),
            ("127.1.7.7", None, {"role": "workstation", "owner": "euc",
                                 "site": "hq"}),
        ]
        for src, domain, asset in cases:
            with self.subTest(src):
                ev, _ = self.request_from(p, src)
                self.assert_attribution(ev, domain, asset)

    def test_no_match(self):
        p = self.start(INVENTORY)
        for src in ("127.3.3.3", "127.0.0.11", "127.0.3.1"):
            with self.subTest(src):
                ev, _ = self.request_from(p, src)
                self.assertNotIn("domain", ev["source"], json.dumps(ev))
                self.assertIsNone(get(ev, "ocspgate.asset"), json.dumps(ev))

    def test_reload_reads_the_inventory_again(self):
        """SIGHUP reads the inventory file again; a broken one is reported
        and the running inventory keeps serving."""
        p = self.start(INVENTORY)
        ev, _ = self.request_from(p, "127.0.0.10")
        self.assertEqual(get(ev, "source.domain"), "dc01.corp.example")
        inv = self.tmp / "inv.csv"
        inv.write_text(INVENTORY.replace("dc01.corp.example",
                                         "dc01-new.corp.example"))
        p.signal(signal.SIGHUP)
        self.assertTrue(p.err.wait_for(lambda lines: sum(
            "reloaded" in l for l in lines) >= 1, 5), p.err.text())
        ev, _ = self.request_from(p, "127.0.0.10")
        self.assertEqual(get(ev, "source.domain"), "dc01-new.corp.example")
        inv.write_text(INVENTORY + "127.0.9.1/24,,broken\n")
        p.signal(signal.SIGHUP)
        self.assertTrue(p.err.wait_for(lambda lines: any(
            "inv.csv:%d:" % (INVENTORY.count("\n") + 1) in l
            for l in lines), 5), p.err.text())
        ev, _ = self.request_from(p, "127.0.0.10")
        self.assertEqual(get(ev, "source.domain"), "dc01-new.corp.example")
        self.assertTrue(p.alive())

    @unittest.skipUnless(ipv6_loopback(), "no IPv6 loopback here")
    def test_ipv6_row(self):
        p = self.start(INVENTORY, listen=["127.0.0.1:0", "[::1]:0"])
        ev, _ = self.request_from(p, "::1", port=p.address_port(1),
                                  host="::1")
        self.assert_attribution(ev, "v6host.corp.example", {
            "host": "v6host.corp.example", "role": "ipv6-host",
            "owner": "netops", "site": "hq"})
        # IPv4 rows do not leak into IPv6 and back
        ev, _ = self.request_from(p, "127.0.0.9")
        self.assert_attribution(ev, None, None)

    def test_example_inventory_behind_balancer(self):
        """The shipped example, looked up for clients named by PROXY
        headers: every row, an address inside each block, and addresses
        outside all of them, against an independent reading of the CSV.
        IPv4-mapped IPv6 clients are looked up as IPv4."""
        text = EXAMPLE_INVENTORY.read_text()
        rows = read_inventory(text)
        roles = {t.get("role") for _, _, t in rows}
        self.assertLessEqual({"domain-controller", "server", "workstation"},
                             roles)
        self.assertTrue(any(n.version == 6 for n, _, _ in rows))
        probes = ["192.0.2.1", "10.3.0.1", "2001:db8:999::1",
                  "::ffff:10.1.0.10", "::ffff:10.20.3.4"]
        for net, _, _ in rows:
            probes.append(str(net.network_address))
            if net.num_addresses > 2:
                probes.append(str(net.network_address + 7))
        p = self.start(text, listen=({
            "address": "127.0.0.1:0", "proxy_protocol": True,
            "proxy_protocol_from": ["127.0.0.1/32"]},))
        for k, ip in enumerate(probes):
            with self.subTest(ip):
                self.request_from(p, "127.0.0.1",
                                  header=v2_header(ip, 20000 + k))
                ev = p.wait_event(lambda e: get(e, "source.port") ==
                                  20000 + k)
                self.assertEqual(ipaddress.ip_address(get(ev, "source.ip")),
                                 ipaddress.ip_address(ip))
                want = expected_asset(rows, ip)
                if want is None:
                    self.assert_attribution(ev, None, None)
                else:
                    self.assert_attribution(ev, want[0] or None, want[1])


class ReverseDNS(AttributionTestCase):

    def second_request(self, proxy, dns, src, **kw):
        """First request (the name may or may not be in its event), wait
        for the fake server's answer, then a second request: its event."""
        self.request_from(proxy, src, **kw)
        self.assertTrue(dns.wait_answered(src), "no PTR query for " + src)
        time.sleep(scaled(0.05))  # the answer reaches ocspgate's loop
        ev, _ = self.request_from(proxy, src, **kw)
        return ev

    def test_ptr_names_the_source(self):
        """A PTR answer is used from the next request on, and cached: no
        second query for the same address."""
        dns = self.dns({"127.0.0.21": "ws21.corp.example"})
        p = self.start(dns=dns, reverse_dns=True)
        ev = self.second_request(p, dns, "127.0.0.21")
        self.assertEqual(get(ev, "source.domain"), "ws21.corp.example",
                         json.dumps(ev))
        self.assertIsNone(get(ev, "ocspgate.asset"))
        ev, _ = self.request_from(p, "127.0.0.21")
        self.assertEqual(get(ev, "source.domain"), "ws21.corp.example")
        self.assertEqual(dns.count("127.0.0.21"), 1, dns.queries)

    def test_reverse_dns_off(self):
        """Without reverse_dns, no PTR query and no name."""
        dns = self.dns({"127.0.0.21": "ws21.corp.example"})
        p = self.start(dns=dns)
        for _ in range(2):
            ev, _ = self.request_from(p, "127.0.0.21")
            self.assertNotIn("domain", ev["source"])
        self.assertEqual(dns.count("127.0.0.21"), 0, dns.queries)

    def test_inventory_host_wins(self):
        """An inventory host is used and no PTR query is made; a block row
        without a host keeps its tags and takes the PTR name."""
        dns = self.dns({"127.0.0.22": "ptr22.corp.example",
                        "127.0.2.23": "ptr23.corp.example"})
        p = self.start(INVENTORY, dns=dns, reverse_dns=True)
        for _ in range(2):
            ev, _ = self.request_from(p, "127.0.0.22")
            self.assert_attribution(ev, "inv22.corp.example", {
                "host": "inv22.corp.example", "role": "server",
                "owner": "platform", "site": "hq"})
        ev = self.second_request(p, dns, "127.0.2.23")
        self.assert_attribution(ev, "ptr23.corp.example", {
            "role": "server", "owner": "platform", "site": "dc1"})
        self.assertEqual(dns.count("127.0.0.22"), 0, dns.queries)
        self.assertEqual(dns.count("127.0.2.23"), 1, dns.queries)

    def test_nxdomain_is_cached(self):
        dns = self.dns({})
        p = self.start(dns=dns, reverse_dns=True)
        ev = self.second_request(p, dns, "127.0.0.25")
        self.assertNotIn("domain", ev["source"])
        ev, _ = self.request_from(p, "127.0.0.25")
        self.assertNotIn("domain", ev["source"])
        self.assertEqual(dns.count("127.0.0.25"), 1, dns.queries)

    def test_short_ttl_is_clamped(self):
        """A TTL of 0 is held for at least a minute: no new query."""
        dns = self.dns({"127.0.0.26": "ws26.corp.example"}, ttl=0)
        p = self.start(dns=dns, reverse_dns=True)
        ev = self.second_request(p, dns, "127.0.0.26")
        self.assertEqual(get(ev, "source.domain"), "ws26.corp.example")
        time.sleep(1.1)
        ev, _ = self.request_from(p, "127.0.0.26")
        self.assertEqual(get(ev, "source.domain"), "ws26.corp.example")
        self.assertEqual(dns.count("127.0.0.26"), 1, dns.queries)

    def test_silent_resolver_does_not_delay(self):
        """A resolver that never answers: requests are served at normal
        speed (well under the resolver's own timeout) and their events
        carry no source.domain; the lookup is made once, not per request.
        """
        dns = self.dns({"127.0.0.24": "ws24.corp.example"}, mode="drop")
        # upstream_timeout = 1 makes ocspgate's resolver give up on a query
        # after 1 s, with 2 attempts.
        p = self.start(dns=dns, reverse_dns=True, upstream_timeout=1)
        for k in range(3):
            ev, elapsed = self.request_from(p, "127.0.0.24")
            self.assertNotIn("domain", ev["source"], json.dumps(ev))
            self.assertLess(elapsed, scaled(0.8),
                            "request %d took %.2fs" % (k, elapsed))
            self.assertLess(get(ev, "event.duration"), 800_000_000)
        self.assertTrue(dns.wait_query("127.0.0.24"))
        self.assertEqual(dns.answered, [])
        # Let the lookup end (second attempt, then its timeout) before
        # the proxy is stopped: stopping in the middle of one is
        # test_stop_while_lookup_in_flight's business.
        deadline = time.monotonic() + scaled(5)
        while dns.count("127.0.0.24") < 2 and time.monotonic() < deadline:
            time.sleep(0.05)
        time.sleep(scaled(1.5))
        self.assertEqual(dns.count("127.0.0.24"), 2, dns.queries)

    def test_stop_while_lookup_in_flight(self):
        """SIGTERM while a PTR lookup waits for a silent resolver: exit 0
        at once, and nothing left behind for a leak checker."""
        dns = self.dns({}, mode="drop")
        p = self.start(dns=dns, reverse_dns=True)
        self.request_from(p, "127.0.0.27")
        self.assertTrue(dns.wait_query("127.0.0.27"))
        t0 = time.monotonic()
        code, killed = p.stop()
        err = p.err.text()
        self.assertFalse(killed, err[-3000:])
        self.assertLess(time.monotonic() - t0, scaled(3))
        self.assertEqual(code, 0, err[-3000:])
        self.assertNotRegex(err, r"(Sanitizer|runtime error:)", err[-3000:])

    @unittest.skipUnless(ipv6_loopback(), "no IPv6 loopback here")
    def test_ipv6_ptr(self):
        dns = self.dns({"::1": "v6.corp.example"})
        p = self.start(dns=dns, reverse_dns=True,
                       listen=["127.0.0.1:0", "[::1]:0"])
        ev = self.second_request(p, dns, "::1", port=p.address_port(1),
                                 host="::1")
        self.assertEqual(get(ev, "source.domain"), "v6.corp.example")
        self.assertEqual(dns.count("::1"), 1, dns.queries)

    def test_ptr_of_proxy_client(self):
        """Behind a balancer the PTR query is about the PROXY header's
        client, never about the balancer's own address."""
        dns = self.dns({"10.9.8.7": "laptop7.corp.example",
                        "127.0.0.1": "balancer.corp.example"})
        p = self.start(dns=dns, reverse_dns=True, listen=({
            "address": "127.0.0.1:0", "proxy_protocol": True,
            "proxy_protocol_from": ["127.0.0.1/32"]},))
        self.request_from(p, "127.0.0.1", header=v2_header("10.9.8.7", 4000))
        self.assertTrue(dns.wait_answered("10.9.8.7"))
        time.sleep(scaled(0.05))
        self.request_from(p, "127.0.0.1", header=v2_header("10.9.8.7", 4001))
        ev = p.wait_event(lambda e: get(e, "source.port") == 4001)
        self.assertEqual(get(ev, "source.ip"), "10.9.8.7")
        self.assertEqual(get(ev, "source.domain"), "laptop7.corp.example")
        self.assertEqual(dns.count("10.9.8.7"), 1, dns.queries)
        self.assertEqual(dns.count("127.0.0.1"), 0, dns.queries)

    def test_ptr_of_ipv4_mapped_client(self):
        """A PROXY header naming an IPv4-mapped IPv6 client: the PTR query
        is the IPv4 one (in-addr.arpa)."""
        dns = self.dns({"10.9.8.8": "laptop8.corp.example"})
        p = self.start(dns=dns, reverse_dns=True, listen=({
            "address": "127.0.0.1:0", "proxy_protocol": True,
            "proxy_protocol_from": ["127.0.0.1/32"]},))
        self.request_from(p, "127.0.0.1",
                          header=v2_header("::ffff:10.9.8.8", 4100))
        self.assertTrue(dns.wait_answered("10.9.8.8"), dns.queries)
        time.sleep(scaled(0.05))
        self.request_from(p, "127.0.0.1",
                          header=v2_header("::ffff:10.9.8.8", 4101))
        ev = p.wait_event(lambda e: get(e, "source.port") == 4101)
        self.assertEqual(get(ev, "source.domain"), "laptop8.corp.example")
        self.assertEqual(dns.count("::ffff:10.9.8.8"), 0, dns.queries)

    def test_hostile_ptr_answer(self):
        """A PTR name with a quote, a backslash, control and non-UTF-8
        bytes and a dot inside a label: requests are served and every
        event line stays valid JSON (checked at cleanup)."""
        dns = self.dns({"127.0.0.41": [b'a"b\\c', b"x.y", b"\x01\x7f\xff",
                                       b"corp", b"example"]})
        p = self.start(dns=dns, reverse_dns=True)
        self.second_request(p, dns, "127.0.0.41")
        evs = p.wait_events(2)
        for ev in evs:
            domain = get(ev, "source.domain")
            self.assertTrue(domain is None or isinstance(domain, str))
        self.assertTrue(p.alive())


class ConfigCheck(unittest.TestCase):
    """`ocspgate -t` with inventories."""

    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="attribution-t-")
        self.addCleanup(shutil.rmtree, self.tmp, True)

    def write_config(self, inventory_text, name="inv.csv"):
        d = Path(self.tmp) / "etc"
        d.mkdir(exist_ok=True)
        (d / name).write_text(inventory_text)
        conf = d / "ocspgate.conf"
        conf.write_text('listen = [ "127.0.0.1:0" ];\n'
                        'event_log = "-";\n'
                        'responders = ( "ocsp.example.test" );\n'
                        'inventory = "%s";\n'
                        'reverse_dns = true;\n'
                        'resolvers = [ "127.0.0.1:53" ];\n' % name)
        return conf

    def test_shipped_example_is_accepted(self):
        """The example inventory, named relative to the config's directory
        (checked from another working directory)."""
        conf = self.write_config(EXAMPLE_INVENTORY.read_text(),
                                 "inventory.csv")
        p = run([binary(), "-t", "-c", str(conf)], check=False, cwd="/")
        self.assertEqual(p.returncode, 0, p.stderr.decode())
        self.assertEqual(p.stdout.decode().strip(),
                         "ocspgate: configuration %s is ok" % conf)

    def test_bad_inventory_points_at_its_line(self):
        bad = ("address,host,role\n"
               "127.0.0.10,dc01.corp.example,dc\n"
               "127.0.2.1/24,,server\n")
        conf = self.write_config(bad)
        p = run([binary(), "-t", "-c", str(conf)], check=False, cwd="/")
        err = p.stderr.decode()
        self.assertEqual(p.returncode, 1, err)
        self.assertRegex(err, r"^%s:4: " % re.escape(str(conf)))
        self.assertIn("inv.csv:3:", err)


if __name__ == "__main__":
    unittest.main()
