#!/usr/bin/env python3
"""Scripts for the runtime fuzz target (tests/fuzz/fuzz_runtime.c).

A script is byte 0 (the config variant) and then ops, one byte each (kind
in the low nibble, argument in the high one), some followed by data; the
format is described at the top of fuzz_runtime.c. This module writes and
reads them:

  runtime_script.py dump FILE...         print scripts as text
  runtime_script.py record PCAP TEST...  capture integration tests' traffic
  runtime_script.py pcap OUTDIR PCAP...  seeds from recorded traffic
  runtime_script.py hand OUTDIR          the hand-written scenarios

`record` (root: it needs a network namespace) runs the named modules of
tests/integration in a fresh network namespace with tcpdump on its
loopback, so the capture holds their traffic and nothing else; set
OCSPGATE_BIN as for the tests.

`pcap` turns a capture of the integration tests' loopback traffic (see
tests/fuzz/corpus/runtime/README.md) into one script per client
connection: its bytes, and for each request the gate forwarded, the
upstream's answer as recorded, in the order they happened. Ports in
request targets and Host headers are dropped (the fuzz configs list the
test names on port 80), so the recorded requests are allowed again.
"""

import base64
import os
import re
import struct
import subprocess
import sys

CONNECT, SEND, FILL, SHUT, CLOSE, RESET, READ, ACCEPT = range(8)
USEND, UFILL, USHUT, UCLOSE, URESET, DNS, TIME, MISC = range(8, 16)
NAMES = ["connect", "send", "fill", "shut", "close", "reset", "read",
         "accept", "usend", "ufill", "ushut", "uclose", "ureset", "dns",
         "time", "misc"]
MISC_NAMES = {0: "run", 1: "pass", 2: "refuse-next", 3: "drain",
              4: "reload-0", 5: "reload-1", 6: "reload-2", 7: "reload-3",
              8: "read-all", 9: "accept-all"}
RUN, PASS, REFUSE_NEXT, DRAIN = 0, 1, 2, 3
READ_ALL, ACCEPT_ALL = 8, 9
# fz_steps in fuzz_runtime.c, in milliseconds.
STEPS = [250, 1000, 2000, 3000, 4000, 5000, 6000, 10000, 11000, 30000,
         31000, 60000, 300000, 3600000, 86400000, 7 * 86400000]
MAX_SEND = 0x7fff


class Script:
    """Builds one script; each method appends an op."""

    def __init__(self, variant=0):
        self.out = bytearray([variant])

    def op(self, kind, arg=0):
        assert 0 <= kind < 16 and 0 <= arg < 16
        self.out.append(arg << 4 | kind)
        return self

    def _data(self, kind, conn, data):
        data = bytes(data)
        while True:
            part, data = data[:MAX_SEND], data[MAX_SEND:]
            self.op(kind, conn)
            n = len(part)
            if n < 0x80:
                self.out.append(n)
            else:
                self.out += bytes([0x80 | n >> 8, n & 0xff])
            self.out += part
            if not data:
                return self

    def connect(self, listener=0, source2=False, redirect=0):
        return self.op(CONNECT, listener | (2 if source2 else 0) |
                       redirect << 2)

    def send(self, conn, data):
        return self._data(SEND, conn, data)

    def fill(self, conn, byte, count):
        self.op(FILL, conn)
        return self._raw(byte, count)

    def _raw(self, byte, count):
        self.out += bytes([byte, count >> 8, count & 0xff])
        return self

    def usend(self, up, data):
        return self._data(USEND, up, data)

    def ufill(self, up, byte, count):
        self.op(UFILL, up)
        return self._raw(byte, count)

    def time(self, ms):
        """Advances by the smallest step at least <ms>."""
        i = next((i for i, s in enumerate(STEPS) if s >= ms),
                 len(STEPS) - 1)
        return self.op(TIME, i)

    def run(self):
        return self.op(MISC, RUN)

    def bytes(self):
        return bytes(self.out)


def dump(data):
    """The ops of a script as lines of text."""
    lines = ["variant %d" % (data[0] % 4)] if data else []
    i = 1
    while i < len(data):
        kind, arg = data[i] & 15, data[i] >> 4
        i += 1
        name = NAMES[kind]
        if kind in (SEND, USEND):
            if i >= len(data):
                lines.append("%s %d (cut)" % (name, arg))
                break
            n = data[i]
            i += 1
            if n & 0x80:
                n = (n & 0x7f) << 8 | (data[i] if i < len(data) else 0)
                i += 1
            payload = data[i:i + n]
            i += n
            lines.append("%s %d %r" % (name, arg, bytes(payload)))
        elif kind in (FILL, UFILL):
            b = data[i:i + 3]
            i += 3
            if len(b) == 3:
                lines.append("%s %d %r x %d" % (name, arg, bytes(b[:1]),
                                                b[1] << 8 | b[2]))
        elif kind == MISC:
            lines.append(MISC_NAMES.get(arg, "run"))
        elif kind == TIME:
            lines.append("time +%g s" % (STEPS[arg] / 1000))
        elif kind == DNS:
            lines.append("dns %s" % ["answer", "nxdomain", "servfail",
                                     "drop"][arg & 3])
        elif kind == CONNECT:
            lines.append("connect listener %d%s%s" % (
                arg & 1, " from 127.0.0.2" if arg & 2 else "",
                " redirected %d" % (arg >> 2) if arg >> 2 else ""))
        else:
            lines.append("%s %d" % (name, arg))
    return "\n".join(lines)


# --------------------------------------------------------------------------
# Recorded traffic (pcap, Linux loopback) to scripts

def _pcap_packets(path):
    """(time, src, sport, dst, dport, flags, payload) of each TCP/IPv4
    packet of a classic pcap file (Ethernet or Linux cooked capture)."""
    with open(path, "rb") as f:
        data = f.read()
    magic = struct.unpack("<I", data[:4])[0]
    if magic in (0xa1b2c3d4, 0xa1b23c4d):
        endian = "<"
    elif magic in (0xd4c3b2a1, 0x4d3cb2a1):
        endian = ">"
    else:
        raise ValueError("%s: not a pcap file" % path)
    nano = magic in (0xa1b23c4d, 0x4d3cb2a1)
    linktype = struct.unpack(endian + "I", data[20:24])[0]
    off = 24
    while off + 16 <= len(data):
        sec, frac, incl, _ = struct.unpack(endian + "IIII",
                                           data[off:off + 16])
        pkt = data[off + 16:off + 16 + incl]
        off += 16 + incl
        if linktype == 1:  # Ethernet
            if len(pkt) < 14 or pkt[12:14] != b"\x08\x00":
                continue
            ip = pkt[14:]
        elif linktype == 113:  # Linux cooked
            if len(pkt) < 16 or pkt[14:16] != b"\x08\x00":
                continue
            ip = pkt[16:]
        elif linktype == 0:  # BSD loopback
            ip = pkt[4:]
        else:
            raise ValueError("link type %d not handled" % linktype)
        if len(ip) < 20 or ip[0] >> 4 != 4 or ip[9] != 6:
            continue
        ihl = (ip[0] & 15) * 4
        total = struct.unpack(">H", ip[2:4])[0]
        tcp = ip[ihl:total]
        if len(tcp) < 20:
            continue
        sport, dport, seq = struct.unpack(">HHI", tcp[:8])
        doff = (tcp[12] >> 4) * 4
        flags = tcp[13]
        t = sec + frac / (1e9 if nano else 1e6)
        yield (t, ip[12:16], sport, ip[16:20], dport, flags, seq,
               bytes(tcp[doff:]))


class _Stream:
    """One TCP connection: who opened it, and each side's bytes with the
    time each run of them was seen."""

    def __init__(self, t, client, server):
        self.start = t
        self.client, self.server = client, server
        self.chunks = []  # (time, "c"|"s", bytes)
        self.fin = {}     # side -> time
        self.rst = None
        self._next = {}

    def add(self, t, side, seq, payload, flags):
        if payload:
            nxt = self._next.get(side)
            if nxt is None or seq == nxt:
                self.chunks.append((t, side, payload))
                self._next[side] = (seq + len(payload)) & 0xffffffff
            elif (seq - nxt) & 0xffffffff < 0x80000000:
                return  # a gap: the capture lost bytes; keep what we had
        if flags & 0x01:
            self.fin.setdefault(side, t)
        if flags & 0x04 and self.rst is None:
            self.rst = (t, side)

    def data(self, side):
        return b"".join(p for _, s, p, in self.chunks if s == side)


def _streams(paths):
    streams, order = {}, []
    for path in paths:
        for t, src, sport, dst, dport, flags, seq, payload in \
                _pcap_packets(path):
            a, b = (src, sport), (dst, dport)
            key = (a, b) if (a, b) in streams else (b, a)
            if key not in streams:
                if not flags & 0x02 or flags & 0x10:
                    continue  # joined mid-connection: not ours to guess
                key = (a, b)
                streams[key] = _Stream(t, a, b)
                order.append(key)
            st = streams[key]
            side = "c" if (src, sport) == st.client else "s"
            seq_next = (seq + (1 if flags & 0x02 else 0)) & 0xffffffff
            if flags & 0x02:
                st._next[side] = seq_next
                continue
            st.add(t, side, seq, payload, flags)
    return [streams[k] for k in order]


_VIA = re.compile(rb"\r\nVia: 1\.1 ocspgate-[0-9a-f]+\r\n", re.I)
_PORT_IN_TARGET = re.compile(
    rb"^([A-Z]+ http://[^/:\s]+):\d+(/|\s)", re.M)
_PORT_IN_HOST = re.compile(rb"^(Host:[ \t]*[^:\r\n\s]+):\d+\r$", re.M | re.I)


def _unport(data):
    """The fuzz configs list the test names on port 80."""
    data = _PORT_IN_TARGET.sub(rb"\1\2", data)
    return _PORT_IN_HOST.sub(rb"\1\r", data)


def _is_gate_upstream(st):
    return _VIA.search(st.data("c")[:65536]) is not None


def _request_lines(data):
    return re.findall(rb"^[A-Z]+ [^\r\n ]+ HTTP/1\.[01]\r$", data, re.M)


def pcap_scripts(paths, variant=0):
    """One script per client connection of the capture: what the client
    sent, and the answers of the upstream connections the gate opened for
    it (matched by request path and time)."""
    streams = _streams(paths)
    ups = [s for s in streams if _is_gate_upstream(s)]
    gate_ports = set()
    for s in streams:
        # A client of the gate talks to a port that opened upstream
        # connections, or sends proxy-form requests.
        if re.match(rb"^(PROXY |\r\n\r\n\x00\r\nQUIT\n)?[A-Z]+ http://",
                    s.data("c")[:256]) or \
                s.data("c").startswith(b"PROXY "):
            gate_ports.add(s.server[1])
    used = set()
    scripts = []
    for s in streams:
        if s in ups or s.server[1] not in gate_ports or not s.chunks:
            continue
        sc = Script(variant).connect()
        events = [(t, "c", p) for t, side, p in s.chunks if side == "c"]
        if s.fin.get("c") is not None:
            events.append((s.fin["c"], "shut", b""))
        client_paths = set(re.findall(rb"^[A-Z]+ (?:http://[^/\s]+)?(/\S*)",
                                      s.data("c"), re.M))
        mine = []
        for u in ups:
            if id(u) in used or u.start < s.start:
                continue
            if s.rst is not None and u.start > s.rst[0]:
                continue
            if s.fin.get("s") is not None and u.start > s.fin["s"]:
                continue
            lines = _request_lines(u.data("c"))
            if not lines or lines[0].split(b" ")[1] not in client_paths:
                continue
            used.add(id(u))
            mine.append(u)
            if len(mine) >= 8:
                break
        for n, u in enumerate(mine):
            events.append((u.start, "accept", n))
            for t, side, p in u.chunks:
                if side == "s":
                    events.append((t, "usend", (n, p)))
            if u.fin.get("s") is not None:
                events.append((u.fin["s"], "uclose", n))
        events.sort(key=lambda e: e[0])
        for _, what, arg in events:
            if what == "c":
                sc.send(0, _unport(arg))
            elif what == "shut":
                sc.op(SHUT, 0)
            elif what == "accept":
                sc.run().op(ACCEPT)
            elif what == "usend":
                sc.usend(arg[0], arg[1])
            elif what == "uclose":
                sc.op(UCLOSE, arg)
            sc.run()
        sc.op(READ, 0)
        if s.rst is not None and s.rst[1] == "c":
            sc.op(RESET, 0)
        elif s.fin.get("c") is not None:
            sc.op(CLOSE, 0)
        scripts.append(sc.bytes())
    return scripts


# --------------------------------------------------------------------------
# Hand-written scenarios: shapes an attacker on either side would try

OCSP_TRY_LATER = bytes.fromhex("30030a0103")  # OCSPResponse tryLater


def _ocsp_request(serial=0x1001, nonce=None):
    """A well-formed DER OCSPRequest (SHA-1 CertID of a made-up issuer),
    built with the integration harness's DER helpers."""
    sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(
        __file__)), "..", "integration"))
    import ocspgate_harness as h
    cid = h.CertID("sha1", bytes(range(20)), bytes(range(20, 40)), serial)
    return h.ocsp_request_der([cid], nonce=nonce)


def _post(host, body, extra=b""):
    return (b"POST http://%s/ HTTP/1.1\r\nHost: %s\r\n"
            b"Content-Type: application/ocsp-request\r\n"
            b"Content-Length: %d\r\n%s\r\n" % (host, host, len(body), extra)
            + body)


def _answer(body, ctype=b"application/ocsp-response", extra=b""):
    return (b"HTTP/1.1 200 OK\r\nContent-Type: %s\r\nContent-Length: %d\r\n"
            b"%s\r\n" % (ctype, len(body), extra) + body)


def hand_scripts():
    """{name: script} of scenarios the recorded traffic lacks."""
    out = {}
    # The abandoned-request crash: two refused 11 KB GETs, then
    # connections that send one byte and close.
    path = b"/" + b"QUFB" * 2750
    sc = Script(0)
    for i in range(2):
        sc.connect().send(i, b"GET http://unlisted.example%s HTTP/1.1\r\n"
                             b"Host: unlisted.example\r\n\r\n" % path).run()
    for r in range(3):
        for i in range(4):
            sc.connect().send(2 + 4 * r + i, b"G")
        sc.run()
        for i in range(4):
            sc.op(CLOSE, 2 + 4 * r + i)
        sc.run()
    out["abandoned_block_crash"] = sc.bytes()

    # Pipelined refused and allowed requests on one connection.
    der = _ocsp_request()
    req = _post(b"ocsp.ca.test", der)
    bad = b"GET http://other.example/ HTTP/1.1\r\nHost: other.example\r\n\r\n"
    sc = Script(0).connect().send(0, bad + req + bad).run()
    sc.op(ACCEPT).usend(0, _answer(OCSP_TRY_LATER)).run().op(READ, 0)
    out["pipeline_mixed"] = sc.bytes()

    # Slowloris: a head a byte at a time, then the client timeout.
    sc = Script(0).connect()
    for b in b"GET http://ocsp.ca.test/MEMw HTTP/1.1\r\nHo":
        sc.send(0, bytes([b])).run()
    sc.time(6000).op(READ, 0)
    out["slow_head_timeout"] = sc.bytes()

    # Upstream answers in pieces, chunked, then closes mid-body.
    sc = Script(0).connect().send(0, req).run().op(ACCEPT)
    sc.usend(0, b"HTTP/1.1 200 OK\r\nContent-Type: application/ocsp-"
                b"response\r\nTransfer-Encoding: chunked\r\n\r\n3\r\n0")
    sc.run().usend(0, b"\x03\x0a\r\n").run().op(UCLOSE, 0).run()
    out["upstream_chunked_cut"] = sc.bytes()

    # Upstream resets, refuses, stalls; DNS fails for a wildcard name.
    sc = Script(0).connect().send(0, req).run().op(ACCEPT).op(URESET, 0)
    sc.run().op(MISC, REFUSE_NEXT).send(0, req).run().send(
        0, _post(b"x.wild.test", der)).run()
    sc.op(DNS, 1).run().op(READ, 0).time(4000).op(READ, 0)
    out["upstream_faults"] = sc.bytes()

    # Keep-alive reuse: a second request on a parked connection that the
    # server closes as it is reused (GET retried, POST not).
    b64 = base64.b64encode(der).replace(b"/", b"%2F").replace(b"=", b"%3D")
    get = (b"GET http://ocsp.ca.test/%s HTTP/1.1\r\n"
           b"Host: ocsp.ca.test\r\n\r\n" % b64)
    sc = Script(0).connect().send(0, get).run().op(ACCEPT)
    sc.usend(0, _answer(OCSP_TRY_LATER)).run().op(READ, 0)
    sc.send(0, get).op(UCLOSE, 0).run().op(ACCEPT).usend(
        1, _answer(OCSP_TRY_LATER)).run().op(READ, 0)
    out["reuse_retry"] = sc.bytes()

    # Monitor mode forwards a block; the answer is garbage.
    sc = Script(1).connect().send(0, bad).run().op(DNS, 0).run()
    sc.op(ACCEPT).usend(0, b"SSH-2.0-OpenSSH_9.2\r\n\x00\xff").run()
    sc.op(UCLOSE, 0).run().op(READ, 0)
    out["monitor_garbage"] = sc.bytes()

    # PROXY v1 header on the PROXY listener, then a request; a bad one.
    sc = Script(2).connect(listener=1)
    sc.send(0, b"PROXY TCP4 10.1.2.3 10.0.0.1 40000 80\r\n" + req).run()
    sc.op(ACCEPT).usend(0, _answer(OCSP_TRY_LATER)).run().op(READ, 0)
    sc.connect(listener=1).send(1, b"PROXY TCP4 10.1.2.3\r\n").run()
    out["proxy_header"] = sc.bytes()

    # Transparent: an origin-form request on a redirected connection,
    # once to the Host's address and once elsewhere.
    og = b"GET /%s HTTP/1.1\r\nHost: ocsp.ca.test\r\n\r\n" % b64
    sc = Script(1).connect(redirect=1).send(0, og).run().op(ACCEPT)
    sc.usend(0, _answer(OCSP_TRY_LATER)).run().op(READ, 0)
    sc.connect(redirect=2).send(1, og).run().op(READ, 1)
    out["transparent"] = sc.bytes()

    # A drain with a request in flight, a reload in between.
    sc = Script(0).connect().send(0, req).run().op(MISC, 5)
    sc.connect().send(1, req).run().op(MISC, DRAIN).run().op(ACCEPT)
    sc.usend(0, _answer(OCSP_TRY_LATER)).run().op(READ, 0).time(3000)
    out["drain_reload"] = sc.bytes()

    # Too many connections from one source; a slow reader of a big CRL.
    sc = Script(0)
    for i in range(8):
        sc.connect()
    sc.run()
    crl = b"GET http://crl.ca.test/x.crl HTTP/1.1\r\nHost: crl.ca.test\r\n\r\n"
    sc.send(0, crl).run().op(ACCEPT)
    sc.usend(0, b"HTTP/1.1 200 OK\r\nContent-Length: 60000\r\n\r\n")
    sc.ufill(0, 0x30, 60000).run().op(READ, 0)
    out["limits_slow_reader"] = sc.bytes()

    # A reload during a DNS outage: monitor mode forwards a blocked
    # request, its lookup goes unanswered until the nameserver is marked
    # down and probed; the reload then retires the resolver while the
    # probe waits (freeing it failed the probe, whose callback used the
    # freed nameserver).
    sc = Script(1).connect()
    sc.send(0, b"GET http://other.example/ HTTP/1.1\r\n"
               b"Host: other.example\r\n\r\n").run()
    sc.op(DNS, 3).time(2000).op(DNS, 3).time(2000).op(DNS, 3)
    sc.time(11000).op(MISC, 4)
    sc.run().time(2000).run().op(DNS, 1).run()
    out["resolver_freed_while_probing"] = sc.bytes()
    return out


def record(pcap, modules):
    """Runs integration test modules in a new network namespace (only
    its loopback, brought up) with tcpdump writing <pcap>."""
    here = os.path.dirname(os.path.abspath(__file__))
    script = (
        'set -e; ip link set lo up; '
        'tcpdump -i lo -U -s 0 -w "$1" 2>/dev/null & dump=$!; sleep 1; '
        'shift; cd "%s"; rc=0; python3 -m unittest "$@" || rc=$?; '
        'sleep 1; kill $dump; wait $dump || true; exit $rc'
        % os.path.join(here, "..", "integration"))
    return subprocess.call(["unshare", "-n", "sh", "-c", script, "sh",
                            os.path.abspath(pcap)] + list(modules))


def main(argv):
    if len(argv) >= 2 and argv[0] == "dump":
        for path in argv[1:]:
            with open(path, "rb") as f:
                print("# %s\n%s" % (path, dump(f.read())))
        return 0
    if len(argv) >= 3 and argv[0] == "record":
        return record(argv[1], argv[2:])
    if len(argv) >= 3 and argv[0] == "pcap":
        os.makedirs(argv[1], exist_ok=True)
        for i, sc in enumerate(pcap_scripts(argv[2:])):
            with open(os.path.join(argv[1], "recorded_%03d" % i), "wb") as f:
                f.write(sc)
        return 0
    if len(argv) == 2 and argv[0] == "hand":
        os.makedirs(argv[1], exist_ok=True)
        for name, sc in hand_scripts().items():
            with open(os.path.join(argv[1], name), "wb") as f:
                f.write(sc)
        return 0
    sys.stderr.write(__doc__)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
