"""A fake DNS server for reverse lookups (PTR), in a thread, on loopback.

It answers PTR queries for the names it was given (x.0.0.127.in-addr.arpa,
the ip6.arpa name of ::1, ...) and NXDOMAIN for anything else, or drops
every query (mode "drop"). Messages are parsed and built here with the
standard library only (RFC 1035 4.1). Every query and every answer is
recorded, so that a test can wait until the server has answered before it
looks at what ocspgate logged.
"""

import ipaddress
import socket
import struct
import threading
import time

from ocspgate_harness import scaled

TYPE_PTR = 12
CLASS_IN = 1
RCODE_NXDOMAIN = 3


def ptr_name(ip):
    """The reverse name of an address: 5.0.0.127.in-addr.arpa, or the
    nibble form under ip6.arpa for IPv6."""
    return ipaddress.ip_address(ip).reverse_pointer


def encode_name(name):
    """A domain name as DNS labels (no compression). name: text with
    dots between labels, or a list of labels as bytes (which may hold
    any byte, dots included)."""
    if isinstance(name, str):
        labels = [l.encode("ascii") for l in name.rstrip(".").split(".")]
    else:
        labels = list(name)
    out = bytearray()
    for raw in labels:
        if not 0 < len(raw) < 64:
            raise ValueError("bad label in %r" % (name,))
        out += bytes([len(raw)]) + raw
    return bytes(out + b"\x00")


def parse_question(msg):
    """(id, flags, qname, qtype, qclass, end of the question) of a query;
    raises ValueError when it is not one question we can read."""
    if len(msg) < 12:
        raise ValueError("short header")
    qid, flags, qdcount = struct.unpack(">HHH", msg[:6])
    if flags & 0x8000 or qdcount != 1:
        raise ValueError("not a single-question query")
    labels = []
    pos = 12
    for _ in range(128):
        if pos >= len(msg):
            raise ValueError("truncated name")
        n = msg[pos]
        if n == 0:
            pos += 1
            break
        if n >= 0x40 or pos + 1 + n > len(msg):
            raise ValueError("bad label")
        labels.append(msg[pos + 1:pos + 1 + n].decode("ascii", "replace"))
        pos += 1 + n
    else:
        raise ValueError("name too long")
    if pos + 4 > len(msg):
        raise ValueError("truncated question")
    qtype, qclass = struct.unpack(">HH", msg[pos:pos + 4])
    return qid, flags, ".".join(labels), qtype, qclass, pos + 4


def build_reply(query, qflags, question_end, rcode=0, answers=()):
    """A reply to <query>: its ID and question echoed as sent (resolvers
    may randomize the case of the name and check it comes back),
    QR and AA set, RD copied, RA set. answers: (rtype, ttl, rdata)
    records owned by the question's name (a pointer to offset 12)."""
    flags = 0x8000 | (qflags & 0x7900) | 0x0400 | 0x0080 | rcode
    out = bytearray(query[:2])
    out += struct.pack(">HHHHH", flags, 1, len(answers), 0, 0)
    out += query[12:question_end]
    for rtype, ttl, rdata in answers:
        out += struct.pack(">HHHIH", 0xc00c, rtype, CLASS_IN, ttl,
                           len(rdata))
        out += rdata
    return bytes(out)


class PtrDNS:
    """UDP DNS server on 127.0.0.1:<port>.

    ptr: {address: host name (see encode_name)}. ttl: the TTL of PTR answers. mode:
    "answer" (PTR answers, NXDOMAIN for unknown names) or "drop" (never
    answers). queries: (name, qtype) lowercased, in arrival order;
    answered: the names answered (with a record or NXDOMAIN)."""

    def __init__(self, ptr=None, ttl=600, mode="answer"):
        self.ttl = ttl
        self.mode = mode
        self.table = {}
        for ip, host in (ptr or {}).items():
            self.add(ip, host)
        self.queries = []
        self.answered = []
        self.cond = threading.Condition()
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.settimeout(0.05)
        self.port = self.sock.getsockname()[1]
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    @property
    def address(self):
        return "127.0.0.1:%d" % self.port

    def add(self, ip, host):
        self.table[ptr_name(ip).lower()] = host

    def _answer(self, msg):
        try:
            _, qflags, name, qtype, qclass, end = parse_question(msg)
        except ValueError:
            return None, None
        name = name.lower()
        with self.cond:
            self.queries.append((name, qtype))
            self.cond.notify_all()
        if self.mode == "drop":
            return None, name
        host = self.table.get(name)
        if host is None or qclass != CLASS_IN:
            return build_reply(msg, qflags, end, RCODE_NXDOMAIN), name
        if qtype != TYPE_PTR:
            return build_reply(msg, qflags, end), name  # NODATA
        return build_reply(msg, qflags, end, 0,
                           [(TYPE_PTR, self.ttl, encode_name(host))]), name

    def _run(self):
        while not self._stop.is_set():
            try:
                msg, addr = self.sock.recvfrom(4096)
            except socket.timeout:
                continue
            except OSError:
                return
            reply, name = self._answer(msg)
            if reply is None:
                continue
            try:
                self.sock.sendto(reply, addr)
            except OSError:
                continue
            with self.cond:
                self.answered.append(name)
                self.cond.notify_all()

    def count(self, ip):
        """How many queries asked about <ip>'s reverse name."""
        name = ptr_name(ip).lower()
        with self.cond:
            return sum(1 for q in self.queries if q[0] == name)

    def wait_query(self, ip, timeout=5):
        """True once a query for <ip> arrived (answered or not)."""
        name = ptr_name(ip).lower()
        return self._wait(lambda: any(q[0] == name for q in self.queries),
                          timeout)

    def wait_answered(self, ip, timeout=5):
        """True once the server has sent its answer about <ip>."""
        name = ptr_name(ip).lower()
        return self._wait(lambda: name in self.answered, timeout)

    def _wait(self, predicate, timeout):
        deadline = time.monotonic() + scaled(timeout)
        with self.cond:
            while not predicate():
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self.cond.wait(min(left, 0.1))
            return True

    def stop(self):
        self._stop.set()
        self._thread.join(2)
        self.sock.close()


TYPE_A = 1
TYPE_AAAA = 28


class AddressDNS(PtrDNS):
    """UDP DNS server on 127.0.0.1:<port> answering A and AAAA queries.

    names: {host name: [addresses]} (IPv4 for A, IPv6 for AAAA, each
    with <ttl>); NXDOMAIN for other names, NODATA for a name without an
    address of the asked family. queries as in PtrDNS."""

    def __init__(self, names=None, ttl=600, mode="answer"):
        self.names = {k.lower(): list(v) for k, v in (names or {}).items()}
        super().__init__(ttl=ttl, mode=mode)

    def _answer(self, msg):
        try:
            _, qflags, name, qtype, qclass, end = parse_question(msg)
        except ValueError:
            return None, None
        name = name.lower()
        with self.cond:
            self.queries.append((name, qtype))
            self.cond.notify_all()
        if self.mode == "drop":
            return None, name
        addrs = self.names.get(name)
        if addrs is None or qclass != CLASS_IN:
            return build_reply(msg, qflags, end, RCODE_NXDOMAIN), name
        version = {TYPE_A: 4, TYPE_AAAA: 6}.get(qtype)
        answers = [(qtype, self.ttl, ipaddress.ip_address(a).packed)
                   for a in addrs
                   if ipaddress.ip_address(a).version == version]
        return build_reply(msg, qflags, end, 0, answers), name

    def asked(self, name, qtype):
        """How many queries asked <qtype> of <name>."""
        with self.cond:
            return sum(1 for q in self.queries
                       if q == (name.lower(), qtype))
