"""Shared harness for the ocspgate integration tests.

Everything here talks to real peers on loopback only: the ocspgate binary
named by $OCSPGATE_BIN, `openssl ocsp` responders and clients, curl, raw
sockets, a recording upstream and a fake DNS server. Every wait is bounded
in time, every socket has a timeout, and every process started is stopped
by a cleanup registered when it is started.
"""

import atexit
import base64
import ctypes
import dataclasses
import hashlib
import ipaddress
import json
import os
import re
import shlex
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time
import unittest
from pathlib import Path

import ecs_check

HERE = Path(__file__).resolve().parent
REPO = HERE.parent.parent

# Multiplies every time bound (e.g. 3 for a sanitizer build).
TIME_SCALE = float(os.environ.get("OCSPGATE_TIME_SCALE", "1") or "1")

# Names the tests use; all of them resolve through the proxy's hosts file.
HOSTS_NAMES = ["ocsp.ca.test", "ocsp2.ca.test", "other.test",
               "a.wild.test", "a.b.wild.test", "wild.test"]

REASONS_BLOCK = {"unknown_responder", "not_ocsp", "ocsp_malformed",
                 "unknown_issuer", "method_not_allowed", "http_malformed",
                 "body_too_large", "host_mismatch", "proxy_protocol_invalid",
                 "connection_limit", "forwarding_loop", "path_shape",
                 "excess_headers"}
REASONS_FAIL = {"upstream_unreachable", "upstream_timeout",
                "response_malformed", "response_unverified"}
REASONS_ALLOW = {"ocsp_request", "crl_request", "ca_issuer_request",
                 "ctl_request"}
REASONS_ALL = REASONS_ALLOW | REASONS_BLOCK | REASONS_FAIL

GET_FLAGS = {"get_percent_encoded", "get_unescaped_slash",
             "get_space_as_plus", "get_double_slash",
             "get_url_safe_alphabet", "get_unpadded"}
KNOWN_FLAGS = GET_FLAGS | {"get_over_255_bytes", "multiple_certs",
                           "requestor_name", "signed_request",
                           "single_request_extensions", "nonce",
                           "explicit_default_version",
                           "hash_params_absent",
                           "explicit_critical_false"}


def scaled(seconds):
    return seconds * TIME_SCALE


def binary():
    """Path of the ocspgate binary under test."""
    path = os.environ.get("OCSPGATE_BIN") or str(REPO / "build" / "ocspgate")
    if not os.access(path, os.X_OK):
        raise AssertionError(
            "ocspgate binary not found or not executable: %s "
            "(set OCSPGATE_BIN)" % path)
    return path


def wrapper():
    """The command that runs each ocspgate daemon the tests start, from
    $OCSPGATE_WRAPPER (e.g. "valgrind --error-exitcode=99"), split as a
    shell would; [] when unset."""
    return shlex.split(os.environ.get("OCSPGATE_WRAPPER", ""))


def clean_env():
    """The environment for child processes: no proxy settings inherited."""
    env = {k: v for k, v in os.environ.items()
           if k.lower() not in ("http_proxy", "https_proxy", "all_proxy",
                                "no_proxy", "ftp_proxy")}
    env["LC_ALL"] = "C"
    return env


def free_port(family=socket.AF_INET, host="127.0.0.1"):
    """A TCP port nobody listens on right now (bind port 0, close)."""
    with socket.socket(family, socket.SOCK_STREAM) as s:
        s.bind((host, 0))
        return s.getsockname()[1]


def free_wildcard_port():
    """A TCP port a server binding every address (`openssl ocsp -port N`:
    [::] dual-stack, SO_REUSEADDR) can bind right now. free_port() checks
    only 127.0.0.1, so it hands out ports that a socket on another address
    holds, e.g. a client's TIME_WAIT on 127.0.0.2:N or [::1]:N, and the
    wildcard bind then fails; here the kernel checks the same bind."""
    try:
        s = socket.socket(socket.AF_INET6, socket.SOCK_STREAM)
        s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
        host = "::"
    except OSError:
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        host = "0.0.0.0"
    with s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind((host, 0))
        return s.getsockname()[1]


def http_get(port, path, timeout=5):
    """(status, body) of GET path on 127.0.0.1:port (an admin endpoint)."""
    with socket.create_connection(("127.0.0.1", port), timeout) as s:
        s.sendall(b"GET %s HTTP/1.1\r\nHost: admin\r\n"
                  b"Connection: close\r\n\r\n" % path.encode())
        data = b""
        while True:
            chunk = s.recv(65536)
            if not chunk:
                break
            data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    return int(head.split(b" ")[1]), body


_SAMPLE_RE = re.compile(r'^([a-z_:][a-z0-9_:]*)(\{(.*)\})? (\S+)$')
_LABEL_RE = re.compile(r'([a-z_]+)="((?:[^"\\]|\\.)*)"')


def parse_metrics(text):
    """Prometheus text format -> {(name, ((label, value), ...)): value}.
    Checks that every sample's family was declared with HELP and TYPE."""
    out, typed, helped = {}, set(), set()
    for line in text.splitlines():
        if line.startswith("# HELP "):
            helped.add(line.split()[2])
            continue
        if line.startswith("# TYPE "):
            typed.add(line.split()[2])
            continue
        m = _SAMPLE_RE.match(line)
        if m is None:
            raise AssertionError("not a sample line: %r" % line)
        name = m.group(1)
        family = re.sub(r"_(bucket|sum|count)$", "", name)
        if family not in typed or family not in helped:
            family = name
        if family not in typed or family not in helped:
            raise AssertionError("%s has no HELP/TYPE" % name)
        labels = tuple(sorted(_LABEL_RE.findall(m.group(3) or "")))
        out[(name, labels)] = float(m.group(4))
    return out


def scrape_metrics(port):
    """GET /metrics of the admin endpoint on port, parsed."""
    status, body = http_get(port, "/metrics")
    assert status == 200, status
    return parse_metrics(body.decode())


def metric_sample(metrics, name, **labels):
    """One sample of scrape_metrics(), or None."""
    return metrics.get((name, tuple(sorted(labels.items()))))


try:
    _prctl = ctypes.CDLL(None, use_errno=True).prctl
except (OSError, AttributeError):
    _prctl = None


def _die_with_parent():
    """preexec_fn: the child gets SIGKILL if the test process dies, so a
    killed test run leaves no daemon behind (PR_SET_PDEATHSIG)."""
    if _prctl is not None:
        _prctl(1, int(signal.SIGKILL))


def port_listening(port):
    """True when some TCP socket listens on <port> (from /proc/net)."""
    for name in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            with open(name) as f:
                next(f, None)
                for line in f:
                    parts = line.split()
                    if len(parts) > 3 and parts[3] == "0A" and \
                            int(parts[1].rsplit(":", 1)[1], 16) == port:
                        return True
        except OSError:
            continue
    return False


def run(cmd, timeout=30, check=True, **kw):
    """Runs a command with a bound; returns CompletedProcess (bytes)."""
    kw.setdefault("env", clean_env())
    p = subprocess.run(cmd, capture_output=True, timeout=scaled(timeout),
                       **kw)
    if check and p.returncode != 0:
        raise AssertionError("command failed (%d): %s\nstdout: %s\nstderr: %s"
                             % (p.returncode, " ".join(map(str, cmd)),
                                p.stdout.decode(errors="replace"),
                                p.stderr.decode(errors="replace")))
    return p


class _LineReader:
    """Drains a pipe in a thread, keeping every line it read."""

    def __init__(self, pipe):
        self.lines = []
        self.data = bytearray()
        self.cond = threading.Condition()
        self.closed = False
        self._thread = threading.Thread(target=self._run, args=(pipe,),
                                        daemon=True)
        self._thread.start()

    def _run(self, pipe):
        try:
            for line in iter(pipe.readline, b""):
                with self.cond:
                    self.data += line
                    self.lines.append(line.decode("utf-8", "replace")
                                      .rstrip("\r\n"))
                    self.cond.notify_all()
        except (OSError, ValueError):
            pass
        finally:
            with self.cond:
                self.closed = True
                self.cond.notify_all()

    def wait_for(self, predicate, timeout):
        """Waits until predicate(lines) is true; returns it or None."""
        deadline = time.monotonic() + scaled(timeout)
        with self.cond:
            while True:
                r = predicate(self.lines)
                if r or self.closed:
                    return r
                left = deadline - time.monotonic()
                if left <= 0:
                    return None
                self.cond.wait(min(left, 0.2))

    def text(self):
        with self.cond:
            return "\n".join(self.lines)

    def join(self, timeout=2):
        self._thread.join(scaled(timeout))


def stop_process(proc, grace=5.0, group=True):
    """SIGTERM, then SIGKILL after <grace> seconds. Returns the exit code
    and whether SIGKILL was needed."""
    def send(sig):
        # The group is the one the process leads (pgid == pid), never ours.
        if group:
            try:
                os.killpg(proc.pid, sig)
                return
            except (ProcessLookupError, PermissionError):
                pass
        try:
            proc.send_signal(sig)
        except ProcessLookupError:
            pass

    if proc.poll() is not None:
        if group:
            send(signal.SIGKILL)  # children left in its group, if any
        return proc.returncode, False
    send(signal.SIGTERM)
    try:
        code = proc.wait(timeout=scaled(grace))
        if group:
            send(signal.SIGKILL)
        return code, False
    except subprocess.TimeoutExpired:
        pass
    send(signal.SIGKILL)
    return proc.wait(timeout=10), True


# --------------------------------------------------------------------------
# DER: a small encoder and decoder, enough for OCSP requests and X.509.

def der_len(n):
    if n < 0x80:
        return bytes([n])
    b = n.to_bytes((n.bit_length() + 7) // 8, "big")
    return bytes([0x80 | len(b)]) + b


def der(tag, content):
    return bytes([tag]) + der_len(len(content)) + content


def der_seq(*items):
    return der(0x30, b"".join(items))


def der_int(value):
    """INTEGER from a Python int (two's complement, minimal)."""
    if value == 0:
        return der(0x02, b"\x00")
    n = (value.bit_length() + 8) // 8
    raw = value.to_bytes(n, "big", signed=True)
    # strip redundant leading octets
    while len(raw) > 1 and ((raw[0] == 0 and raw[1] < 0x80) or
                            (raw[0] == 0xff and raw[1] >= 0x80)):
        raw = raw[1:]
    return der(0x02, raw)


def der_int_raw(content):
    """INTEGER with the exact content octets given."""
    return der(0x02, content)


def der_oid(dotted):
    parts = [int(x) for x in dotted.split(".")]
    out = bytearray([40 * parts[0] + parts[1]])
    for p in parts[2:]:
        chunk = [p & 0x7f]
        p >>= 7
        while p:
            chunk.append(0x80 | (p & 0x7f))
            p >>= 7
        out += bytes(reversed(chunk))
    return der(0x06, bytes(out))


def der_null():
    return b"\x05\x00"


def der_octets(b):
    return der(0x04, b)


def der_bool(v):
    return der(0x01, b"\xff" if v else b"\x00")


def der_explicit(n, content):
    return der(0xa0 | n, content)


def der_read(data, pos=0):
    """Reads one TLV at pos: returns (tag, content, end). Raises
    ValueError on truncated or indefinite encodings."""
    if pos + 2 > len(data):
        raise ValueError("truncated TLV")
    tag = data[pos]
    first = data[pos + 1]
    pos += 2
    if first < 0x80:
        length = first
    else:
        n = first & 0x7f
        if n == 0 or pos + n > len(data):
            raise ValueError("bad length")
        length = int.from_bytes(data[pos:pos + n], "big")
        pos += n
    if pos + length > len(data):
        raise ValueError("truncated content")
    return tag, data[pos:pos + length], pos + length


def der_children(content):
    """The TLVs inside a constructed value: list of (tag, content, raw)."""
    out = []
    pos = 0
    while pos < len(content):
        tag, c, end = der_read(content, pos)
        out.append((tag, c, content[pos:end]))
        pos = end
    return out


HASH_OIDS = {
    "sha1": "1.3.14.3.2.26",
    "sha224": "2.16.840.1.101.3.4.2.4",
    "sha256": "2.16.840.1.101.3.4.2.1",
    "sha384": "2.16.840.1.101.3.4.2.2",
    "sha512": "2.16.840.1.101.3.4.2.3",
}
OID_MD5 = "1.2.840.113549.2.5"
OID_NONCE = "1.3.6.1.5.5.7.48.1.2"
OID_ACCEPTABLE_RESPONSES = "1.3.6.1.5.5.7.48.1.4"
OID_SERVICE_LOCATOR = "1.3.6.1.5.5.7.48.1.7"


@dataclasses.dataclass
class CertInfo:
    """What a test needs from a certificate."""
    path: str
    der: bytes
    serial: int
    subject_der: bytes
    spki_bits: bytes  # subjectPublicKey BIT STRING value, without unused-bits


def load_cert(path):
    text = Path(path).read_text()
    m = re.search(r"-----BEGIN CERTIFICATE-----(.*?)-----END CERTIFICATE-----",
                  text, re.S)
    if not m:
        raise ValueError("no certificate in %s" % path)
    cert_der = base64.b64decode("".join(m.group(1).split()))
    _, cert_content, _ = der_read(cert_der)
    tbs = der_children(cert_content)[0]
    fields = der_children(tbs[1])
    i = 0
    if fields[0][0] == 0xa0:  # version
        i = 1
    serial = int.from_bytes(fields[i][1], "big", signed=True)
    subject = fields[i + 4][2]
    spki = der_children(fields[i + 5][1])
    bits = spki[1][1][1:]  # skip the unused-bits octet
    return CertInfo(str(path), cert_der, serial, subject, bits)


@dataclasses.dataclass(frozen=True)
class CertID:
    hash_algorithm: str
    issuer_name_hash: bytes
    issuer_key_hash: bytes
    serial: int  # may be 0 or negative in hand-made malformed requests
    serial_raw: bytes = None  # exact INTEGER content, overrides serial

    @classmethod
    def of(cls, issuer, serial, alg="sha1"):
        h = hashlib.new
        return cls(alg, h(alg, issuer.subject_der).digest(),
                   h(alg, issuer.spki_bits).digest(), serial)

    def serial_magnitude(self):
        if self.serial_raw is not None:
            return self.serial_raw.lstrip(b"\x00") or b""
        n = abs(self.serial)
        return n.to_bytes((n.bit_length() + 7) // 8, "big")

    def event(self):
        """The event-log form of this cert ID
        (ocspgate.ocsp.request.certs[i]): hex in uppercase, as ECS writes
        serial numbers and certificate hashes."""
        return {"hash_algorithm": self.hash_algorithm,
                "issuer_name_hash": self.issuer_name_hash.hex().upper(),
                "issuer_key_hash": self.issuer_key_hash.hex().upper(),
                "serial": self.serial_magnitude().hex().upper()}

    def der(self, alg_null_params=True, alg_oid=None):
        alg = der_oid(alg_oid or HASH_OIDS[self.hash_algorithm])
        if alg_null_params:
            alg += der_null()
        serial = (der_int_raw(self.serial_raw) if self.serial_raw is not None
                  else der_int(self.serial))
        return der_seq(der_seq(alg), der_octets(self.issuer_name_hash),
                       der_octets(self.issuer_key_hash), serial)


def der_extension(oid, value, critical=False):
    parts = [der_oid(oid)]
    if critical:
        parts.append(der_bool(True))
    parts.append(der_octets(value))
    return der_seq(*parts)


def nonce_extension(nonce):
    """RFC 9654 nonce: extnValue is the DER of an OCTET STRING."""
    return der_extension(OID_NONCE, der_octets(nonce))


def ocsp_request_der(cert_ids, nonce=None, extensions=(), single_ext=None,
                     requestor_name=None, signature=None, version=None,
                     raw_requests=None):
    """Builds a DER OCSPRequest. cert_ids: CertID list (or raw DER of
    Request entries via raw_requests). nonce: bytes for the RFC 9654 nonce.
    extensions: extra raw Extension DERs. single_ext: raw Extensions
    content to add to every Request. signature: raw content of [0]."""
    reqs = []
    for cid in cert_ids:
        parts = cid.der() if isinstance(cid, CertID) else cid
        if single_ext is not None:
            parts += der_explicit(0, der_seq(single_ext))
        reqs.append(der_seq(parts))
    if raw_requests:
        reqs.extend(raw_requests)
    tbs = b""
    if version is not None:
        tbs += der_explicit(0, der_int(version))
    if requestor_name is not None:
        tbs += der_explicit(1, requestor_name)
    tbs += der_seq(*reqs)
    exts = list(extensions)
    if nonce is not None:
        exts.insert(0, nonce_extension(nonce))
    if exts:
        tbs += der_explicit(2, der_seq(*exts))
    body = der_seq(tbs)
    if signature is not None:
        body += der_explicit(0, signature)
    return der_seq(body)


def parse_ocsp_request(data):
    """Parses a DER OCSPRequest (as OpenSSL writes it). Returns
    (list of CertID, nonce bytes or None)."""
    tag, content, end = der_read(data)
    if tag != 0x30 or end != len(data):
        raise ValueError("not a single SEQUENCE")
    tbs = der_children(der_children(content)[0][1])
    certs = []
    nonce = None
    for tag, c, _ in tbs:
        if tag == 0x30:  # requestList
            for _, req, _ in der_children(c):
                cid = der_children(der_children(req)[0][1])
                alg_oid = der_children(cid[0][1])[0][2]
                alg = next(k for k, v in HASH_OIDS.items()
                           if der_oid(v) == alg_oid)
                certs.append(CertID(alg, cid[1][1], cid[2][1],
                                    int.from_bytes(cid[3][1], "big",
                                                   signed=True)))
        elif tag == 0xa2:
            for _, ext, _ in der_children(der_children(c)[0][1]):
                parts = der_children(ext)
                if parts[0][2] == der_oid(OID_NONCE):
                    inner = parts[-1][1]
                    try:
                        t, v, e = der_read(inner)
                        nonce = v if t == 0x04 and e == len(inner) else inner
                    except ValueError:
                        nonce = inner
    return certs, nonce


# A valid DER OCSPResponse: responseStatus tryLater(3), no responseBytes.
OCSP_RESPONSE_TRY_LATER = bytes.fromhex("3003 0a01 03".replace(" ", ""))


# --------------------------------------------------------------------------
# GET encodings of a DER request (what follows the responder's prefix).

def b64(data):
    return base64.b64encode(data).decode()


def get_cryptoapi(der_bytes):
    """Windows CryptoAPI: base64 with + / = percent-encoded."""
    return (b64(der_bytes).replace("+", "%2B").replace("/", "%2F")
            .replace("=", "%3D"))


def get_plain(der_bytes):
    """Plain base64 with raw '/', '+' and '='."""
    return b64(der_bytes)


def get_space_as_plus(der_bytes):
    """'+' sent as an encoded space (%20); '/' and '=' percent-encoded."""
    return (b64(der_bytes).replace("+", "%20").replace("/", "%2F")
            .replace("=", "%3D"))


def get_url_safe_unpadded(der_bytes):
    return base64.urlsafe_b64encode(der_bytes).decode().rstrip("=")


def get_unpadded(der_bytes):
    return b64(der_bytes).rstrip("=")


# --------------------------------------------------------------------------
# PKI

_OPENSSL_CNF = """\
[req]
distinguished_name = dn
prompt = no
[dn]
CN = unused
[v3_ca]
basicConstraints = critical,CA:TRUE
keyUsage = critical,keyCertSign,cRLSign
subjectKeyIdentifier = hash
[v3_ocsp]
basicConstraints = CA:FALSE
keyUsage = critical,digitalSignature
extendedKeyUsage = OCSPSigning
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
[v3_leaf]
basicConstraints = CA:FALSE
keyUsage = critical,digitalSignature
extendedKeyUsage = serverAuth
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
authorityInfoAccess = OCSP;URI:http://ocsp.ca.test/
"""

EXPIRY = "491231235959Z"
REVOKED_AT = "250101000000Z"


class PKI:
    """Two independent CAs made with the openssl CLI in <directory>.

    CA 1 (ca.pem) has an OCSP signer (ocsp.pem, OCSPSigning EKU), leaves
    good (serial 0x1a2b3c), good_hi (0xc0ffee01: the DER serial carries a
    sign octet), revoked (0x2b3c4d) and unknown (0x0bad, not in the
    index), and an index.txt for `openssl ocsp -index`. CA 2 (ca2.pem) has
    one leaf, ca2_leaf, and an index of its own.
    """

    SERIALS = {"good": 0x1a2b3c, "good_hi": 0xc0ffee01,
               "revoked": 0x2b3c4d, "unknown": 0x0bad}

    def __init__(self, directory):
        self.dir = Path(directory)
        self.dir.mkdir(parents=True, exist_ok=True)
        self.cnf = self.dir / "openssl.cnf"
        self.cnf.write_text(_OPENSSL_CNF)
        self.ca, self.ca_key = self._ca("ca", "ocspgate test root CA 1")
        self.ocsp, self.ocsp_key = self._issue("ocsp", "ca",
                                               "ocspgate test OCSP signer",
                                               0x1001, "v3_ocsp")
        self.leaves = {}
        for name, serial in self.SERIALS.items():
            self.leaves[name] = self._issue(
                "leaf_" + name, "ca", name + ".leaf.test", serial,
                "v3_leaf")[0]
        self.index = self.dir / "index.txt"
        self._index(self.index, [
            ("V", "good"), ("V", "good_hi"), ("R", "revoked")], "ca")
        self.ca2, self.ca2_key = self._ca("ca2", "ocspgate test root CA 2")
        self.ocsp2, self.ocsp2_key = self._issue(
            "ocsp2", "ca2", "ocspgate test OCSP signer 2", 0x2001, "v3_ocsp")
        self.ca2_leaf = self._issue("ca2_leaf", "ca2", "leaf.ca2.test",
                                    0x3a4b, "v3_leaf")[0]
        self.index2 = self.dir / "index2.txt"
        self.index2.write_text("V\t%s\t\t3A4B\tunknown\t/CN=leaf.ca2.test\n"
                               % EXPIRY)
        (self.dir / "index2.txt.attr").write_text("unique_subject = no\n")
        self.ca_info = load_cert(self.ca)
        self.ca2_info = load_cert(self.ca2)

    def _openssl(self, *args):
        run(["openssl"] + [str(a) for a in args], cwd=self.dir)

    def _ca(self, name, cn):
        key = self.dir / (name + ".key")
        pem = self.dir / (name + ".pem")
        self._openssl("req", "-x509", "-new", "-config", self.cnf,
                      "-extensions", "v3_ca", "-newkey", "ec",
                      "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
                      "-keyout", key, "-out", pem, "-days", "3650",
                      "-subj", "/O=ocspgate tests/CN=" + cn)
        return pem, key

    def _issue(self, name, ca, cn, serial, ext):
        key = self.dir / (name + ".key")
        csr = self.dir / (name + ".csr")
        pem = self.dir / (name + ".pem")
        self._openssl("req", "-new", "-config", self.cnf, "-newkey", "ec",
                      "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
                      "-keyout", key, "-out", csr, "-subj", "/CN=" + cn)
        self._openssl("x509", "-req", "-in", csr, "-CA",
                      self.dir / (ca + ".pem"), "-CAkey",
                      self.dir / (ca + ".key"), "-set_serial", hex(serial),
                      "-days", "3650", "-extfile", self.cnf, "-extensions",
                      ext, "-out", pem)
        return pem, key

    def _index(self, path, entries, ca):
        lines = []
        for state, name in entries:
            serial = "%X" % self.SERIALS[name]
            if len(serial) % 2:
                serial = "0" + serial
            rev = REVOKED_AT if state == "R" else ""
            lines.append("%s\t%s\t%s\t%s\tunknown\t/CN=%s.leaf.test\n"
                         % (state, EXPIRY, rev, serial, name))
        path.write_text("".join(lines))
        Path(str(path) + ".attr").write_text("unique_subject = no\n")

    def cert_id(self, name, alg="sha1"):
        """The CertID of leaf <name> of CA 1 (or 'ca2_leaf')."""
        if name == "ca2_leaf":
            return CertID.of(self.ca2_info, 0x3a4b, alg)
        return CertID.of(self.ca_info, self.SERIALS[name], alg)


def write_hosts_file(path, names=HOSTS_NAMES, extra=""):
    Path(path).write_text("# ocspgate integration tests\n"
                          "127.0.0.1\t%s\n%s" % (" ".join(names), extra))


# --------------------------------------------------------------------------
# openssl ocsp responder

class Responder:
    """An `openssl ocsp` responder on a free port (all addresses)."""

    READY = "waiting for OCSP client connections"

    def __init__(self, pki, which=1, multi=None, start_timeout=10):
        if which == 1:
            index, ca, signer, key = pki.index, pki.ca, pki.ocsp, pki.ocsp_key
        else:
            index, ca, signer, key = (pki.index2, pki.ca2, pki.ocsp2,
                                      pki.ocsp2_key)
        self.proc = None
        tries = []
        for _ in range(5):
            t0 = time.monotonic()
            self.port = free_wildcard_port()
            cmd = ["openssl", "ocsp", "-index", str(index), "-port",
                   str(self.port), "-rsigner", str(signer), "-rkey", str(key),
                   "-CA", str(ca), "-nmin", "5", "-ignore_err"]
            if multi:
                cmd += ["-multi", str(multi)]
            # With -multi it calls setpgid() itself (and fails if it
            # leads a session), so it gets a process group of its own.
            self.proc = subprocess.Popen(
                cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                stderr=subprocess.PIPE, start_new_session=not multi,
                env=clean_env(), cwd=str(pki.dir),
                preexec_fn=_die_with_parent)
            self.out = _LineReader(self.proc.stdout)
            self.err = _LineReader(self.proc.stderr)
            # Without -multi it says READY on stderr; with -multi the
            # parent prints "ACCEPT [::]:PORT PID=N" on stdout once it
            # listens (the children then log to syslog).
            ready = (lambda lines: any(self.READY in l for l in lines)) \
                if not multi else \
                (lambda lines: any(l.startswith("ACCEPT ") for l in lines))
            ok = (self.out if multi else self.err).wait_for(ready,
                                                            start_timeout)
            # The ACCEPT line comes before listen(): wait until the kernel
            # shows the listening socket (never probe it with a connection).
            deadline = time.monotonic() + scaled(start_timeout)
            while ok and not port_listening(self.port):
                if time.monotonic() > deadline or not self.alive():
                    ok = False
                    break
                time.sleep(0.01)
            if ok:
                return
            ended = self.proc.poll()  # None: still running, not ready
            if ended is None and (self.out.closed or self.err.closed):
                try:  # its pipe closed: it is exiting, get its status
                    ended = self.proc.wait(timeout=scaled(1))
                except subprocess.TimeoutExpired:
                    pass
            self.stop()
            tries.append(self._attempt_report(t0, ended))
        raise AssertionError("openssl ocsp responder did not start:\n"
                             + "\n".join(tries))

    def _attempt_report(self, t0, code):
        """One failed start, for the error: how it ended (exit status or
        signal), how long it ran, what it wrote, and whether a dual-stack
        socket could bind its port now (-multi logs to syslog only)."""
        if code is None:
            how = "not ready, still running"
        elif code < 0:
            how = "killed by signal %d" % -code
        else:
            how = "exit status %d" % code
        try:
            with socket.socket(socket.AF_INET6, socket.SOCK_STREAM) as s:
                s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
                s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
                s.bind(("::", self.port))
                bind = "free now"
        except OSError as e:
            bind = "bind [::]:%d now: %s" % (self.port, e.strerror)
        self.out.join()
        self.err.join()
        return ("  pid %d port %d: %s after %.2fs; %s; stdout %r; stderr %r"
                % (self.proc.pid, self.port, how, time.monotonic() - t0,
                   bind, self.out.text(), self.err.text()))

    def alive(self):
        return self.proc.poll() is None

    def stop(self):
        if self.proc is not None:
            stop_process(self.proc, grace=2)
            for p in (self.proc.stdout, self.proc.stderr):
                p.close()


# --------------------------------------------------------------------------
# Fake DNS server (UDP): NXDOMAIN, SERVFAIL or no answer at all.

class FakeDNS:
    def __init__(self, mode="nxdomain"):
        self.mode = mode
        self.queries = []
        self.lock = threading.Lock()
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

    @staticmethod
    def _qname(msg):
        labels = []
        pos = 12
        for _ in range(128):
            if pos >= len(msg):
                break
            n = msg[pos]
            if n == 0 or n >= 0xc0:
                pos += 1 if n == 0 else 2
                break
            labels.append(msg[pos + 1:pos + 1 + n].decode("ascii", "replace"))
            pos += 1 + n
        return ".".join(labels), pos

    def _run(self):
        while not self._stop.is_set():
            try:
                msg, addr = self.sock.recvfrom(4096)
            except socket.timeout:
                continue
            except OSError:
                return
            if len(msg) < 12:
                continue
            name, end = self._qname(msg)
            qtype = int.from_bytes(msg[end:end + 2], "big") \
                if end + 2 <= len(msg) else 0
            with self.lock:
                self.queries.append((name.lower(), qtype))
            if self.mode == "drop":
                continue
            rcode = 3 if self.mode == "nxdomain" else 2
            flags = 0x8000 | (int.from_bytes(msg[2:4], "big") & 0x0100) \
                | 0x0080 | rcode
            question = msg[12:end + 4]
            reply = (msg[0:2] + flags.to_bytes(2, "big") + b"\x00\x01"
                     + b"\x00\x00\x00\x00\x00\x00" + question)
            try:
                self.sock.sendto(reply, addr)
            except OSError:
                pass

    def names(self):
        with self.lock:
            return [q[0] for q in self.queries]

    def stop(self):
        self._stop.set()
        self._thread.join(2)
        self.sock.close()


# --------------------------------------------------------------------------
# HTTP responses

@dataclasses.dataclass
class Response:
    version: str
    status: int
    reason: str
    headers: list
    body: bytes
    raw: bytes
    chunked: bool = False
    close_delimited: bool = False

    def header(self, name):
        name = name.lower()
        for k, v in self.headers:
            if k.lower() == name:
                return v
        return None

    def header_all(self, name):
        name = name.lower()
        return [v for k, v in self.headers if k.lower() == name]

    def text(self):
        return self.body.decode("utf-8", "replace")


def _parse_head(buf):
    end = buf.find(b"\r\n\r\n")
    if end < 0:
        return None
    lines = buf[:end].split(b"\r\n")
    m = re.match(rb"(HTTP/\d\.\d) (\d{3})(?: (.*))?$", lines[0])
    if not m:
        raise ValueError("bad status line: %r" % lines[0][:200])
    headers = []
    for line in lines[1:]:
        k, sep, v = line.partition(b":")
        if not sep:
            raise ValueError("bad header line: %r" % line[:200])
        headers.append((k.decode("latin-1"), v.strip().decode("latin-1")))
    return (m.group(1).decode(), int(m.group(2)),
            (m.group(3) or b"").decode("latin-1"), headers, end + 4)


def parse_response(buf, at_eof=False, head_only=False):
    """Parses one HTTP/1.x response at the start of buf. Returns
    (Response, consumed), or None when more bytes are needed."""
    head = _parse_head(buf)
    if head is None:
        return None
    version, status, reason, headers, pos = head
    r = Response(version, status, reason, headers, b"", b"")
    te = (r.header("transfer-encoding") or "").lower()
    cl = r.header("content-length")
    if head_only or status in (204, 304) or 100 <= status < 200:
        r.raw = bytes(buf[:pos])
        return r, pos
    if "chunked" in te:
        r.chunked = True
        body = bytearray()
        p = pos
        while True:
            eol = buf.find(b"\r\n", p)
            if eol < 0:
                return None
            size = int(buf[p:eol].split(b";")[0].strip(), 16)
            p = eol + 2
            if size == 0:
                # trailers until an empty line
                while True:
                    eol = buf.find(b"\r\n", p)
                    if eol < 0:
                        return None
                    line = buf[p:eol]
                    p = eol + 2
                    if not line:
                        break
                break
            if len(buf) < p + size + 2:
                return None
            body += buf[p:p + size]
            p += size + 2
        r.body = bytes(body)
        r.raw = bytes(buf[:p])
        return r, p
    if cl is not None:
        n = int(cl)
        if len(buf) < pos + n:
            return None
        r.body = bytes(buf[pos:pos + n])
        r.raw = bytes(buf[:pos + n])
        return r, pos + n
    if not at_eof:
        return None
    r.close_delimited = True
    r.body = bytes(buf[pos:])
    r.raw = bytes(buf)
    return r, len(buf)


def parse_responses(buf, at_eof=True):
    """Splits pipelined responses; returns (list, leftover bytes)."""
    out = []
    buf = bytes(buf)
    for _ in range(1000):
        if not buf:
            break
        got = parse_response(buf, at_eof=at_eof)
        if got is None:
            break
        r, n = got
        out.append(r)
        buf = buf[n:]
    return out, buf


class Client:
    """A raw TCP client to the proxy."""

    def __init__(self, port, host="127.0.0.1", timeout=5):
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        self.sock = socket.socket(family, socket.SOCK_STREAM)
        self.sock.settimeout(scaled(timeout))
        self.sock.connect((host, port))
        self.buf = bytearray()
        self.eof = False
        self.reset = False

    @property
    def local_port(self):
        return self.sock.getsockname()[1]

    def send(self, data):
        self.sock.sendall(data)

    def _recv(self, deadline):
        left = deadline - time.monotonic()
        if left <= 0:
            return False
        self.sock.settimeout(left)
        try:
            chunk = self.sock.recv(65536)
        except socket.timeout:
            return False
        except ConnectionResetError:
            self.eof = self.reset = True
            return True
        if not chunk:
            self.eof = True
        else:
            self.buf += chunk
        return True

    def read_response(self, timeout=5, head_only=False):
        """The next complete response, or raises AssertionError."""
        deadline = time.monotonic() + scaled(timeout)
        while True:
            try:
                got = parse_response(self.buf, at_eof=self.eof,
                                     head_only=head_only)
            except ValueError as e:
                raise AssertionError("unparsable response: %s; bytes: %r"
                                     % (e, bytes(self.buf[:300])))
            if got is not None:
                r, n = got
                del self.buf[:n]
                return r
            if self.eof:
                raise AssertionError(
                    "connection closed before a complete response; got %r"
                    % bytes(self.buf[:300]))
            if not self._recv(deadline):
                raise AssertionError("no complete response within %ss; got %r"
                                     % (timeout, bytes(self.buf[:300])))

    def read_responses(self, n, timeout=5):
        deadline = time.monotonic() + scaled(timeout)
        return [self.read_response(max(0.01, deadline - time.monotonic())
                                   / TIME_SCALE) for _ in range(n)]

    def wait_closed(self, timeout=3):
        """True when the peer closed (FIN or RST) within timeout. Bytes
        arriving meanwhile are kept in self.buf."""
        deadline = time.monotonic() + scaled(timeout)
        while not self.eof:
            if not self._recv(deadline):
                return False
        return True

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def raw_request(port, data, timeout=3, responses=None, host="127.0.0.1"):
    """Sends raw bytes and reads until the peer closes, <responses>
    complete responses arrived, or timeout. Returns the raw bytes."""
    with Client(port, host, timeout) as c:
        c.send(data)
        deadline = time.monotonic() + scaled(timeout)
        while not c.eof:
            if responses is not None:
                got, _ = parse_responses(c.buf, at_eof=False)
                if len(got) >= responses:
                    break
            if not c._recv(deadline):
                break
        return bytes(c.buf)


def http_request(method, target, headers=(), body=None, host=None,
                 version="HTTP/1.1", content_type=None, connection=None):
    """Builds request bytes. headers: list of (name, value) with str or
    bytes values. Host defaults to the target's authority (without port,
    as OpenSSL's client sends it) when host is None; pass False for none."""
    lines = [b"%s %s %s" % (_b(method), _b(target), _b(version))]
    if host is None:
        m = re.match(r"https?://([^/:]+|\[[^\]]+\])",
                     _b(target).decode("latin-1"))
        host = m.group(1) if m else False
    if host is not False:
        lines.append(b"Host: " + _b(host))
    if content_type:
        lines.append(b"Content-Type: " + _b(content_type))
    for k, v in headers:
        lines.append(_b(k) + b": " + _b(v))
    if connection:
        lines.append(b"Connection: " + _b(connection))
    if body is not None and not any(_b(k).lower() in (b"content-length",
                                                      b"transfer-encoding")
                                    for k, _ in headers):
        lines.append(b"Content-Length: %d" % len(body))
    return b"\r\n".join(lines) + b"\r\n\r\n" + (body or b"")


def _b(s):
    return s if isinstance(s, bytes) else str(s).encode("latin-1")


def ocsp_post(url, der_bytes, headers=(), connection=None, host=None):
    return http_request("POST", url, headers, der_bytes, host=host,
                        content_type="application/ocsp-request",
                        connection=connection)


def assert_refusal(tc, resp, status, reason):
    """ocspgate's own reply: status, text/plain, '(reason)' in the body."""
    tc.assertEqual(resp.status, status, "status; body %r" % resp.body)
    ctype = (resp.header("content-type") or "").lower()
    tc.assertTrue(ctype.startswith("text/plain"),
                  "Content-Type %r" % ctype)
    tc.assertIn("(%s)" % reason, resp.text(), "reply body")
    if status in (400, 413, 431):
        tc.assertIn("close", (resp.header("connection") or "").lower(),
                    "Connection: close expected on a %d" % status)


# --------------------------------------------------------------------------
# Recording upstream

@dataclasses.dataclass
class Request:
    method: str
    target: str
    version: str
    headers: list
    body: bytes
    raw: bytes

    def header(self, name):
        name = name.lower()
        for k, v in self.headers:
            if k.lower() == name:
                return v
        return None

    def header_all(self, name):
        name = name.lower()
        return [v for k, v in self.headers if k.lower() == name]


def parse_request(buf):
    """One request at the start of buf: (Request, consumed) or None."""
    end = buf.find(b"\r\n\r\n")
    if end < 0:
        return None
    lines = bytes(buf[:end]).split(b"\r\n")
    parts = lines[0].split(b" ")
    if len(parts) != 3:
        raise ValueError("bad request line %r" % lines[0])
    headers = []
    for line in lines[1:]:
        k, sep, v = line.partition(b":")
        if not sep:
            raise ValueError("bad header line %r" % line)
        headers.append((k.decode("latin-1"), v.strip().decode("latin-1")))
    r = Request(parts[0].decode("latin-1"), parts[1].decode("latin-1"),
                parts[2].decode("latin-1"), headers, b"", b"")
    pos = end + 4
    te = (r.header("transfer-encoding") or "").lower()
    if "chunked" in te:
        body = bytearray()
        for _ in range(10000):
            eol = buf.find(b"\r\n", pos)
            if eol < 0:
                return None
            size = int(bytes(buf[pos:eol]).split(b";")[0], 16)
            pos = eol + 2
            if size == 0:
                eol = buf.find(b"\r\n", pos)
                if eol < 0:
                    return None
                pos = eol + 2
                break
            if len(buf) < pos + size + 2:
                return None
            body += buf[pos:pos + size]
            pos += size + 2
        r.body = bytes(body)
    else:
        n = int(r.header("content-length") or 0)
        if len(buf) < pos + n:
            return None
        r.body = bytes(buf[pos:pos + n])
        pos += n
    r.raw = bytes(buf[:pos])
    return r, pos


class ThreadedServer:
    """A TCP server on host:0 running self.handle(conn) in a thread per
    accepted connection; counts connections; stop() ends it all."""

    def __init__(self, host="127.0.0.1", backlog=64):
        self.lock = threading.Lock()
        self.connections = 0
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        self.sock = socket.socket(family, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind((host, 0))
        self.sock.listen(backlog)
        self.sock.settimeout(0.05)
        self.port = self.sock.getsockname()[1]
        self._stop = threading.Event()
        self._threads = []
        self._accept = threading.Thread(target=self._accept_loop,
                                        daemon=True)
        self._accept.start()

    def _accept_loop(self):
        while not self._stop.is_set():
            try:
                conn, _ = self.sock.accept()
            except socket.timeout:
                continue
            except OSError:
                return
            with self.lock:
                self.connections += 1
            t = threading.Thread(target=self.handle, args=(conn,),
                                 daemon=True)
            self._threads.append(t)
            t.start()

    def handle(self, conn):
        raise NotImplementedError

    def stop(self):
        self._stop.set()
        try:
            self.sock.close()
        except OSError:
            pass
        self._accept.join(2)
        for t in self._threads:
            t.join(2)


def _der_children(data, start, end):
    """(tag, content start, content end) of each TLV in data[start:end]
    (definite lengths only)."""
    out = []
    i = start
    while i < end:
        tag, n = data[i], data[i + 1]
        i += 2
        if n & 0x80:
            k = n & 0x7f
            n = int.from_bytes(data[i:i + k], "big")
            i += k
        out.append((tag, i, i + n))
        i += n
    return out


def signature_last_octet(response):
    """The offset of the last octet of a successful OCSPResponse's
    signature (an ECDSA signature's s, or an RSA one's): changing it
    keeps the DER, and the shape ocspgate checks without
    verify_responses, valid."""
    top = _der_children(response, 0, len(response))[0]
    rb = _der_children(response, top[1], top[2])[1]           # [0]
    rb = _der_children(response, rb[1], rb[2])[0]             # ResponseBytes
    octets = _der_children(response, rb[1], rb[2])[1]         # OCTET STRING
    basic = _der_children(response, octets[1], octets[2])[0]
    sig = _der_children(response, basic[1], basic[2])[2]     # BIT STRING
    return sig[2] - 1


def seq_bodies(response):
    """For RecordingUpstream(body_for=...): the N-th answer is <response>
    (a successful OCSPResponse) with the last octet of its signature
    xored with N (1..255), so that a client can tell answers apart by
    their bodies alone (the head of an answer ocspgate judged is its
    own)."""
    pos = signature_last_octet(response)

    def body_for(seq):
        out = bytearray(response)
        out[pos] ^= seq & 0xff
        return bytes(out)
    return body_for


def upstream_seq(response, rec=None):
    """The N of the RecordingUpstream answer a client got ("1", "2", ...):
    from its body, when <rec> made bodies with seq_bodies(); else from
    its ETag (a relayed answer's); None without one."""
    if rec is not None and rec.body_for is not None:
        seq = rec.seq_of_body(response.body)
        return None if seq is None else str(seq)
    etag = response.header("etag")
    m = re.fullmatch(r'"upstream-seq-(\d+)"', etag or "")
    return m.group(1) if m else None


class RecordingUpstream(ThreadedServer):
    """A threaded TCP server on 127.0.0.1:0 recording every connection's
    bytes and answering each complete request.

    mode: 'ok' (canned response, keep-alive), 'reset' (RST at once),
    'stall' (read, never answer), 'chunked', 'close_delimited',
    'garbage' (non-HTTP bytes then close), 'close' (close after reading
    a request, no reply), 'delay' (answer after <delay> seconds).
    Each answer carries X-Upstream-Seq: N (the N-th request received),
    and the same N in its ETag ("upstream-seq-N"), a field ocspgate
    passes on when it relays an answer; an answer it judged gets a head
    of its own, so with body_for (seq_bodies()) the N is in the body:
    upstream_seq() reads it from what the client got.
    """

    def __init__(self, mode="ok", body=OCSP_RESPONSE_TRY_LATER,
                 content_type="application/ocsp-response", delay=0.0,
                 host="127.0.0.1", extra_headers=(), body_for=None):
        self.mode = mode
        self.body = body
        self.body_for = body_for  # seq -> body (seq_bodies()), or None
        self._bodies = {}
        self.content_type = content_type
        self.delay = delay
        self.extra_headers = list(extra_headers)
        self.conns = []  # list of bytearray, one per accepted connection
        self.requests = []  # parsed complete requests, in arrival order
        super().__init__(host)

    def handle(self, conn):
        rec = bytearray()
        with self.lock:
            self.conns.append(rec)
        self._serve(conn, rec)

    def seq_of_body(self, body):
        """The seq whose answer had <body> (body_for), or None."""
        with self.lock:
            return self._bodies.get(bytes(body))

    def _reply(self, seq):
        hdrs = [b"X-Upstream-Seq: %d" % seq,
                b'ETag: "upstream-seq-%d"' % seq] + [
            _b(k) + b": " + _b(v) for k, v in self.extra_headers]
        if self.content_type:
            hdrs.insert(0, b"Content-Type: " + _b(self.content_type))
        body = self.body
        if self.body_for is not None:
            body = self.body_for(seq)
            with self.lock:
                self._bodies[body] = seq
        if self.mode == "chunked":
            half = max(1, len(body) // 2)
            chunks = [body[:half], body[half:]]
            payload = b"".join(b"%x\r\n%s\r\n" % (len(c), c)
                               for c in chunks if c) + b"0\r\n\r\n"
            hdrs.append(b"Transfer-Encoding: chunked")
            return b"HTTP/1.1 200 OK\r\n" + b"\r\n".join(hdrs) + \
                b"\r\n\r\n" + payload
        if self.mode == "close_delimited":
            hdrs.append(b"Connection: close")
            return b"HTTP/1.1 200 OK\r\n" + b"\r\n".join(hdrs) + \
                b"\r\n\r\n" + body
        if self.mode == "garbage":
            return b"SSH-2.0-OpenSSH_9.2 not http at all\r\n\x00\xff\xfe"
        hdrs.append(b"Content-Length: %d" % len(body))
        return b"HTTP/1.1 200 OK\r\n" + b"\r\n".join(hdrs) + \
            b"\r\n\r\n" + body

    def _serve(self, conn, rec):
        conn.settimeout(0.05)
        try:
            if self.mode == "reset":
                conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                                b"\x01\x00\x00\x00\x00\x00\x00\x00")
                return
            pending = bytearray()
            while not self._stop.is_set():
                try:
                    chunk = conn.recv(65536)
                except socket.timeout:
                    continue
                if not chunk:
                    return
                with self.lock:
                    rec += chunk
                pending += chunk
                for _ in range(100):
                    try:
                        got = parse_request(pending)
                    except ValueError:
                        got = None
                    if got is None:
                        break
                    req, n = got
                    del pending[:n]
                    with self.lock:
                        self.requests.append(req)
                        seq = len(self.requests)
                    if self.mode == "stall":
                        continue
                    if self.mode == "close":
                        return
                    if self.mode == "delay":
                        self._stop.wait(self.delay)
                    conn.sendall(self._reply(seq))
                    if self.mode in ("close_delimited", "garbage"):
                        return
        except OSError:
            pass
        finally:
            conn.close()

    def received(self):
        """All bytes received, over every connection."""
        with self.lock:
            return b"".join(bytes(c) for c in self.conns)

    def connection_count(self):
        with self.lock:
            return len(self.conns)

    def wait_requests(self, n, timeout=5):
        deadline = time.monotonic() + scaled(timeout)
        while time.monotonic() < deadline:
            with self.lock:
                if len(self.requests) >= n:
                    return list(self.requests)
            time.sleep(0.02)
        with self.lock:
            return list(self.requests)


# --------------------------------------------------------------------------
# Config and the proxy process

def cfg_value(v):
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int):
        return str(v)
    if isinstance(v, (str, Path)):
        s = str(v).replace("\\", "\\\\").replace('"', '\\"')
        return '"%s"' % s
    if isinstance(v, dict):
        return "{ " + " ".join("%s = %s;" % (k, cfg_value(x))
                               for k, x in v.items()) + " }"
    if isinstance(v, tuple):  # a libconfig list ( ... )
        return "(\n  " + ",\n  ".join(cfg_value(x) for x in v) + "\n)"
    if isinstance(v, list):  # a libconfig array [ ... ]
        return "[ " + ", ".join(cfg_value(x) for x in v) + " ]"
    raise TypeError("cannot write %r in a config" % (v,))


def config_text(settings):
    """libconfig text from a dict; None values are left out; responders
    are written as a list ( ... ) since entries may be groups."""
    out = []
    for k, v in settings.items():
        if v is None:
            continue
        if k == "responders" and isinstance(v, list):
            v = tuple(v)
        out.append("%s = %s;" % (k, cfg_value(v)))
    return "\n".join(out) + "\n"


LISTEN_RE = re.compile(r"^ocspgate: listening on (\S+)$")


class Proxy:
    """One ocspgate process with its own config and event log."""

    def __init__(self, tmpdir, config, args=(), nlisten=None,
                 start_timeout=10, name="ocspgate"):
        self.tmpdir = Path(tmpdir)
        self.conf_path = self.tmpdir / (name + ".conf")
        if isinstance(config, dict):
            self.settings = dict(config)
            text = config_text(config)
            ev = config.get("event_log")
            listen = config.get("listen") or []
        else:
            self.settings = None
            text = config
            m = re.search(r'^\s*event_log\s*=\s*"([^"]*)"', text, re.M)
            ev = m.group(1) if m else None
            m = re.search(r"^\s*listen\s*=\s*[\[(](.*?)[\])]", text,
                          re.M | re.S)
            listen = re.findall(r'"([^"]*)"', m.group(1)) if m else [1]
        if not re.search(r"^\s*workers\s*=", text, re.M):
            # One worker unless a test asks for more: per-worker state
            # (reverse-DNS cache, pools) then behaves as one.
            text = "workers = 1;\n" + text
        if not re.search(r"^\s*cache_size\s*=", text, re.M):
            # Tests count what reaches the upstream: no answers from the
            # cache unless a test turns it on.
            text = "cache_size = 0;\n" + text
        self.conf_path.write_text(text)
        self.stopped = False
        self.event_log = Path(ev) if ev and ev != "-" else None
        self.nlisten = nlisten if nlisten is not None else max(1, len(listen))
        self.proc = subprocess.Popen(
            [*wrapper(), binary(), *args, "-c", str(self.conf_path)],
            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
            stderr=subprocess.PIPE, start_new_session=True, env=clean_env(),
            cwd=str(self.tmpdir), preexec_fn=_die_with_parent)
        self.out = _LineReader(self.proc.stdout)
        self.err = _LineReader(self.proc.stderr)
        got = self.err.wait_for(
            lambda lines: len([l for l in lines if LISTEN_RE.match(l)])
            >= self.nlisten, start_timeout)
        if not got:
            code, _ = stop_process(self.proc, grace=1)
            raise AssertionError(
                "ocspgate did not report %d listening line(s) "
                "(exit %s); stderr:\n%s" % (self.nlisten, code,
                                            self.err.text()))
        self.addrs = []
        for l in self.err.lines:
            m = LISTEN_RE.match(l)
            if m:
                self.addrs.append(m.group(1))
        self.port = int(self.addrs[0].rsplit(":", 1)[1])

    def address_port(self, i):
        return int(self.addrs[i].rsplit(":", 1)[1])

    def alive(self):
        return self.proc.poll() is None

    def signal(self, sig):
        if sig in (signal.SIGTERM, signal.SIGINT):
            self.stopped = True  # the test now owns how it ends
        self.proc.send_signal(sig)

    def stop(self, grace=5):
        """SIGTERM; SIGKILL after <grace>. Returns (exit code, killed)."""
        self.stopped = True
        r = stop_process(self.proc, grace=grace, group=False)
        stop_process(self.proc, grace=1)  # anything left in the group
        self.out.join()
        self.err.join()
        return r

    def kill(self):
        if self.proc.poll() is None:
            stop_process(self.proc, grace=2)
        for p in (self.proc.stdout, self.proc.stderr):
            try:
                p.close()
            except OSError:
                pass

    # -- event log ---------------------------------------------------------

    def event_bytes(self):
        if self.event_log is None:
            return bytes(self.out.data)
        try:
            return self.event_log.read_bytes()
        except FileNotFoundError:
            return b""

    def events(self, strict_tail=False, kind="event"):
        """Every complete event line of <kind> (see parse_event_lines),
        parsed. A line that does not parse fails the test. A trailing
        partial line is left out (it may be being written) unless
        strict_tail."""
        return parse_event_lines(self.event_bytes(), strict_tail, kind)

    def wait_events(self, n, timeout=5):
        """Waits until at least n events are logged; returns them all."""
        deadline = time.monotonic() + scaled(timeout)
        while True:
            evs = self.events()
            if len(evs) >= n or time.monotonic() > deadline:
                if len(evs) < n:
                    raise AssertionError(
                        "expected %d event(s) within %ss, got %d: %s"
                        % (n, timeout, len(evs),
                           json.dumps(evs, indent=1)[:3000]))
                return evs
            time.sleep(0.02)

    def wait_event(self, predicate, timeout=5):
        deadline = time.monotonic() + scaled(timeout)
        while True:
            for ev in self.events():
                if predicate(ev):
                    return ev
            if time.monotonic() > deadline:
                raise AssertionError("no matching event within %ss; events: "
                                     "%s" % (timeout, json.dumps(
                                         self.events(), indent=1)[:3000]))
            time.sleep(0.02)


def _no_duplicate_keys(pairs):
    keys = [k for k, _ in pairs]
    if len(keys) != len(set(keys)):
        raise ValueError("duplicate keys in %r" % keys)
    return dict(pairs)


# Lines already checked against the shipped ECS definition (their
# SHA-256), so that polling a growing log checks each line once.
_ECS_CHECKED = set()


def assert_ecs_line(line, ev, where="event line"):
    """Fails unless the parsed line <ev> fits the shipped field definition
    (docs/ecs/: the index template's mappings and ECS's rules, see
    ecs_check.py): every field mapped, every value of its type."""
    key = hashlib.sha256(line).digest()
    if key in _ECS_CHECKED:
        return
    problems = ecs_check.check(ecs_check.schema(), ev)
    if problems:
        raise AssertionError("%s does not fit docs/ecs/ocspgate-template.json"
                             " and ECS: %s\n%r" % (where, "; ".join(problems),
                                                   line[:1500]))
    _ECS_CHECKED.add(key)


def parse_event_lines(data, strict_tail=False, kind="event"):
    """The lines of an event log, parsed; only those whose event.kind is
    <kind> ("event": one per request; "alert", "metric"), all when None.
    Every line must parse, whatever its kind, and fit the shipped ECS
    field definition (assert_ecs_line)."""
    lines = data.split(b"\n")
    tail = lines.pop()  # b"" when data ends with a newline
    if tail and strict_tail:
        raise AssertionError("event log ends with a partial line: %r"
                             % tail[:300])
    out = []
    for i, line in enumerate(lines):
        try:
            text = line.decode("utf-8")
            ev = json.loads(text, object_pairs_hook=_no_duplicate_keys)
        except (UnicodeDecodeError, ValueError) as e:
            raise AssertionError("event line %d is not valid UTF-8 JSON (%s):"
                                 " %r" % (i + 1, e, line[:500]))
        if not isinstance(ev, dict):
            raise AssertionError("event line %d is not an object" % (i + 1))
        _check_strings(ev, "line %d" % (i + 1))
        assert_ecs_line(line, ev, "event line %d" % (i + 1))
        if kind is None or get(ev, "event.kind") == kind:
            out.append(ev)
    return out


def _check_strings(v, where):
    if isinstance(v, dict):
        for k, x in v.items():
            _check_strings(x, where + "." + k)
    elif isinstance(v, list):
        for i, x in enumerate(v):
            _check_strings(x, "%s[%d]" % (where, i))
    elif isinstance(v, str):
        try:
            v.encode("utf-8")
        except UnicodeEncodeError:
            raise AssertionError("%s holds a lone surrogate: %r" % (where, v))


def get(ev, dotted, default=None):
    """ev['a']['b'] for 'a.b'; default when a level is missing."""
    cur = ev
    for part in dotted.split("."):
        if not isinstance(cur, dict) or part not in cur:
            return default
        cur = cur[part]
    return cur


TIMESTAMP_RE = re.compile(
    r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{1,9})?(Z|[+-]\d\d:\d\d)$")


def _empty_strings(v, where=""):
    if isinstance(v, dict):
        for k, x in v.items():
            yield from _empty_strings(x, where + "." + k)
    elif isinstance(v, list):
        for i, x in enumerate(v):
            yield from _empty_strings(x, "%s[%d]" % (where, i))
    elif v == "":
        yield where


ALERT_REASONS = {"rate_anomaly", "new_destination", "early_requery",
                 "serial_fanout", "periodic", "unknown_certificates",
                 "unauthorized_answers", "ua_mismatch"}


ECS_VERSION = "8.17.0"


def assert_ecs_origin(tc, ev, dump):
    """What every line says of itself: the ECS version its fields follow,
    where it comes from (event.module, event.dataset, observer.*)."""
    tc.assertEqual(get(ev, "ecs.version"), ECS_VERSION, dump)
    tc.assertEqual(get(ev, "event.module"), "ocspgate", dump)
    tc.assertEqual(get(ev, "event.dataset"), "ocspgate.events", dump)
    tc.assertEqual({k: v for k, v in ev["observer"].items()
                    if k != "version"},
                   {"vendor": "ocspgate", "product": "ocspgate",
                    "type": "proxy"}, dump)
    tc.assertRegex(get(ev, "observer.version"), r"^\d+\.\d+\.\d+$", dump)


def assert_side_line_shape(tc, ev):
    """An alert or metric line: not about one request."""
    dump = json.dumps(ev)[:2000]
    tc.assertRegex(ev.get("@timestamp", ""), TIMESTAMP_RE, dump)
    assert_ecs_origin(tc, ev, dump)
    kind = get(ev, "event.kind")
    tc.assertIn(kind, ("alert", "metric"), dump)
    tc.assertEqual(get(ev, "event.action"), kind, dump)
    # Both inform: ECS's type "info", and no outcome.
    tc.assertEqual(get(ev, "event.type"), ["info"], dump)
    tc.assertIsNone(get(ev, "event.outcome"), dump)
    tc.assertEqual(get(ev, "event.category"),
                   ["network", "intrusion_detection"] if kind == "alert"
                   else ["network"], dump)
    if kind == "alert":
        tc.assertIn(get(ev, "event.reason"), ALERT_REASONS, dump)
        ipaddress.ip_address(get(ev, "source.ip"))
        for k in ("observed", "threshold", "window"):
            tc.assertIsInstance(get(ev, "ocspgate.alert." + k), int, dump)
    else:
        tc.assertIsInstance(get(ev, "ocspgate.metrics.requests.allow"),
                            int, dump)
    tc.assertEqual(list(_empty_strings(ev)), [], "empty strings: " + dump)


def assert_event_shape(tc, ev):
    """What the contract says holds for every event."""
    dump = json.dumps(ev)[:2000]
    tc.assertRegex(ev.get("@timestamp", ""), TIMESTAMP_RE, dump)
    assert_ecs_origin(tc, ev, dump)
    tc.assertEqual(get(ev, "event.kind"), "event", dump)
    tc.assertEqual(get(ev, "event.category"), ["network"], dump)
    tc.assertIn(get(ev, "event.action"), ("allow", "block"), dump)
    # event.type: what happened on the wire (a refusal carried out is
    # "denied", anything that went upstream "allowed"); "protocol" once
    # there was an HTTP request; event.outcome "failure" only with a
    # failure reason or detail.
    denied = (get(ev, "event.action") == "block"
              and get(ev, "ocspgate.enforced"))
    http = get(ev, "http.request.method") is not None
    tc.assertEqual(get(ev, "event.type"),
                   ["denied" if denied else "allowed", "connection"]
                   + (["protocol"] if http else []), dump)
    tc.assertEqual(get(ev, "network.transport"), "tcp", dump)
    tc.assertEqual(get(ev, "network.protocol"), "http" if http else None,
                   dump)
    tc.assertIn(get(ev, "event.outcome"), ("success", "failure"), dump)
    if get(ev, "event.reason") in REASONS_FAIL:
        tc.assertEqual(get(ev, "event.outcome"), "failure", dump)
    elif get(ev, "event.action") == "allow":
        tc.assertEqual(get(ev, "event.outcome"), "success", dump)
    # related.ip repeats the addresses (the first thing a shortened line
    # loses).
    ips = [get(ev, "source.ip"), get(ev, "destination.ip"),
           get(ev, "ocspgate.original_destination.ip")]
    if not (get(ev, "ocspgate.truncated") and get(ev, "related") is None):
        tc.assertEqual(get(ev, "related.ip"),
                       list(dict.fromkeys(i for i in ips if i)), dump)
    tc.assertIn(get(ev, "event.reason"), REASONS_ALL, dump)
    d = get(ev, "event.duration")
    tc.assertIsInstance(d, int, dump)
    tc.assertNotIsInstance(d, bool, dump)
    tc.assertGreaterEqual(d, 0, dump)
    tc.assertIn(get(ev, "ocspgate.mode"), ("enforce", "monitor"), dump)
    tc.assertIsInstance(get(ev, "ocspgate.enforced"), bool, dump)
    how = get(ev, "ocspgate.interception")
    tc.assertIn(how, ("explicit", "transparent"), dump)
    orig = get(ev, "ocspgate.original_destination")
    if how == "transparent":
        tc.assertEqual(set(orig), {"ip", "port"}, dump)
        ipaddress.ip_address(orig["ip"])
    else:
        tc.assertIsNone(orig, dump)
    # Loopback in most tests; 127.0.0.x, PROXY header clients and
    # namespace addresses elsewhere: any address, well formed.
    ipaddress.ip_address(get(ev, "source.ip"))
    tc.assertIsInstance(get(ev, "source.port"), int, dump)
    tc.assertEqual(list(_empty_strings(ev)), [], "empty strings: " + dump)
    if get(ev, "event.action") == "allow":
        tc.assertTrue(get(ev, "ocspgate.enforced"), dump)
        tc.assertIn(get(ev, "event.reason"),
                    REASONS_ALLOW | REASONS_FAIL, dump)
    else:
        tc.assertIn(get(ev, "event.reason"), REASONS_BLOCK | REASONS_FAIL,
                    dump)
    flags = get(ev, "ocspgate.ocsp.request.flags")
    if flags is not None:
        tc.assertIsInstance(flags, list, dump)
        tc.assertTrue(flags, "flags present but empty: " + dump)
        tc.assertLessEqual(set(flags), KNOWN_FLAGS, dump)
        tc.assertEqual(len(flags), len(set(flags)), dump)
    # the same flags as single-valued booleans, and the most severe
    # certificate status as one keyword (queries that read arrays badly);
    # a shortened line may have lost the arrays they repeat
    if not get(ev, "ocspgate.truncated"):
        tc.assertEqual(get(ev, "ocspgate.flags"),
                       {f: True for f in flags} if flags else None, dump)
        statuses = [c.get("status") for c in
                    get(ev, "ocspgate.ocsp.response.certs") or []]
        worst = next((s for s in ("revoked", "unknown", "good")
                      if s in statuses), None)
        tc.assertEqual(get(ev, "ocspgate.cert_status"), worst, dump)
    certs = get(ev, "ocspgate.ocsp.request.certs")
    if certs is not None:
        for c in certs:
            for k in ("issuer_name_hash", "issuer_key_hash", "serial"):
                tc.assertRegex(c.get(k, ""), r"^[0-9A-F]+$", dump)


# --------------------------------------------------------------------------
# Clients: openssl ocsp and curl

@dataclasses.dataclass
class OcspClientResult:
    returncode: int
    stdout: str
    stderr: str
    statuses: dict  # cert path -> good/revoked/unknown
    request: bytes  # the DER sent (-reqout)
    response: bytes  # the DER received (-respout)


def openssl_ocsp_client(pki, proxy_port, url, certs=("good",), issuer=None,
                        no_nonce=False, digest=None, headers=(),
                        tmpdir=None, timeout=20, cafile=None,
                        proxy_host="127.0.0.1"):
    """Runs `openssl ocsp` through the proxy. certs: leaf names of the PKI
    or paths. headers: (name, value) pairs. Returns OcspClientResult."""
    tmpdir = Path(tmpdir or tempfile.mkdtemp(prefix="ocspc-"))
    fd, reqout = tempfile.mkstemp(dir=tmpdir, suffix=".req.der")
    os.close(fd)
    respout = reqout.replace(".req.", ".resp.")
    cmd = ["openssl", "ocsp", "-issuer", str(issuer or pki.ca)]
    if digest:
        cmd.append("-" + digest)
    paths = []
    for c in certs:
        p = str(pki.leaves[c]) if c in pki.leaves else (
            str(pki.ca2_leaf) if c == "ca2_leaf" else str(c))
        paths.append(p)
        cmd += ["-cert", p]
    proxy = proxy_host if ":" not in proxy_host else "[%s]" % proxy_host
    cmd += ["-url", url, "-proxy", "%s:%d" % (proxy, proxy_port),
            "-CAfile", str(cafile or pki.ca), "-reqout", reqout,
            "-respout", respout]
    if no_nonce:
        cmd.append("-no_nonce")
    for k, v in headers:
        cmd += ["-header", "%s=%s" % (k, v)]
    p = run(cmd, timeout=timeout, check=False)
    out = p.stdout.decode(errors="replace")
    statuses = {}
    for line in out.splitlines():
        m = re.match(r"^(.*): (good|revoked|unknown)$", line)
        if m:
            statuses[m.group(1)] = m.group(2)
    by_name = {}
    for name, path in zip(certs, paths):
        if path in statuses:
            by_name[name] = statuses[path]
    req = Path(reqout).read_bytes() if os.path.exists(reqout) else b""
    resp = Path(respout).read_bytes() if os.path.exists(respout) else b""
    return OcspClientResult(p.returncode, out,
                            p.stderr.decode(errors="replace"), by_name, req,
                            resp)


def curl_get(proxy_port, url, tmpdir, headers=(), timeout=20):
    """curl -x through the proxy, path as is. Returns (status, body)."""
    fd, out = tempfile.mkstemp(dir=tmpdir, suffix=".body")
    os.close(fd)
    cmd = ["curl", "-sS", "--path-as-is", "-x",
           "http://127.0.0.1:%d" % proxy_port, "-o", out, "-w",
           "%{http_code}", "--max-time", str(int(scaled(timeout)))]
    for k, v in headers:
        cmd += ["-H", "%s: %s" % (k, v)]
    cmd.append(url)
    p = run(cmd, timeout=timeout + 5, check=False)
    code = p.stdout.decode().strip()
    return (int(code) if code.isdigit() else 0), Path(out).read_bytes()


def ocsp_response_text(der_bytes, tmpdir, pki=None):
    """`openssl ocsp -respin FILE -resp_text`: (returncode, text)."""
    fd, path = tempfile.mkstemp(dir=tmpdir, suffix=".resp.der")
    with os.fdopen(fd, "wb") as f:
        f.write(der_bytes)
    cmd = ["openssl", "ocsp", "-respin", path, "-resp_text"]
    if pki is not None:
        cmd += ["-CAfile", str(pki.ca)]
    else:
        cmd += ["-noverify"]
    p = run(cmd, timeout=10, check=False)
    return p.returncode, (p.stdout + p.stderr).decode(errors="replace")


def openssl_reqout(pki, certs=("good",), digest=None, issuer=None,
                   tmpdir=None):
    """The DER request `openssl ocsp -reqout -no_nonce` makes."""
    fd, path = tempfile.mkstemp(dir=tmpdir, suffix=".req.der")
    os.close(fd)
    cmd = ["openssl", "ocsp", "-issuer", str(issuer or pki.ca)]
    if digest:
        cmd.append("-" + digest)
    for c in certs:
        cmd += ["-cert", str(pki.leaves.get(c, c))]
    cmd += ["-reqout", path, "-no_nonce"]
    run(cmd, timeout=10)
    return Path(path).read_bytes()


# --------------------------------------------------------------------------
# Test base

class Env:
    """State shared by every test of the process: temp dir, PKI, hosts
    file, fake DNS, and responders. Env.get() makes it once; it is torn
    down at exit."""

    _shared = None

    @classmethod
    def get(cls):
        if cls._shared is None:
            cls._shared = cls()
            atexit.register(cls._shared.close)
        return cls._shared

    def __init__(self):
        self.dir = Path(tempfile.mkdtemp(prefix="ocspgate-it-"))
        self.pki = PKI(self.dir / "pki")
        self.hosts = self.dir / "hosts"
        write_hosts_file(self.hosts)
        self.dns = FakeDNS()
        self.responders = []
        self._default = None

    def responder(self, which=1, multi=4):
        r = Responder(self.pki, which, multi=multi)
        self.responders.append(r)
        return r

    def good_answer(self):
        """A real, successful OCSPResponse of the responder of CA 1 about
        the "good" certificate (no nonce), fetched once."""
        if getattr(self, "_good_answer", None) is None:
            resp = self.default_responder()
            with Client(resp.port) as c:
                c.send(ocsp_post("/", ocsp_request_der(
                    [self.pki.cert_id("good")]), host="ocsp.ca.test",
                    connection="close"))
                r = c.read_response()
            assert r.status == 200, r
            self._good_answer = r.body
        return self._good_answer

    def default_responder(self):
        """The shared responder of CA 1, restarted if it died."""
        if self._default is None or not self._default.alive():
            self._default = self.responder()
        return self._default

    def close(self):
        for r in self.responders:
            r.stop()
        self.responders = []
        self.dns.stop()
        if not os.environ.get("OCSPGATE_KEEP_TMP"):
            shutil.rmtree(self.dir, ignore_errors=True)


# What Valgrind's memcheck prints for an error (OCSPGATE_WRAPPER).
MEMCHECK_ERROR_RE = re.compile(
    r"^==\d+== (Invalid (read|write|free)|Conditional jump|Use of "
    r"uninitialised|Syscall param|Mismatched free|Source and destination "
    r"overlap|Argument .* of function)", re.M)


def finish_proxy(tc, p, check_event):
    """Cleanup: unless the test stopped it itself, the proxy must still
    be running, exit 0 on SIGTERM, report no sanitizer error, and have
    written a log of complete, well-formed events. A memcheck error
    (under OCSPGATE_WRAPPER) fails the test either way."""
    if p.stopped:
        p.kill()
        p.err.join()
        err = p.err.text()
        if MEMCHECK_ERROR_RE.search(err):
            raise AssertionError("memcheck report; stderr:\n"
                                 + err[-6000:])
        return
    died = p.proc.poll()
    code, killed = p.stop()
    p.kill()
    problems = []
    if died is not None:
        problems.append("ocspgate exited on its own with %d" % died)
    elif killed:
        problems.append("ocspgate ignored SIGTERM")
    elif code != 0:
        problems.append("ocspgate exited %d after SIGTERM" % code)
    err = p.err.text()
    if re.search(r"(Sanitizer|runtime error:|LeakSanitizer)", err):
        problems.append("sanitizer report")
    if MEMCHECK_ERROR_RE.search(err):
        problems.append("memcheck report")
    if not problems:
        for ev in parse_event_lines(p.event_bytes(), strict_tail=True,
                                    kind=None):
            if get(ev, "event.kind") == "event":
                check_event(ev)
            else:
                assert_side_line_shape(tc, ev)
        return
    raise AssertionError("; ".join(problems) + "; stderr:\n" + err[-4000:])


class ProxyTestCase(unittest.TestCase):
    """Base class: cls.env is shared by the class; each test gets its own
    temp dir (self.tmp) and every proxy/upstream it starts is stopped in
    cleanup, also on failure."""

    env = None
    RESPONDERS = 1  # openssl responders of CA 1 started for the class

    @classmethod
    def setUpClass(cls):
        binary()
        cls.env = Env.get()
        cls.resp = cls.env.default_responder() if cls.RESPONDERS else None
        cls.pki = cls.env.pki

    def setUp(self):
        self.tmp = Path(tempfile.mkdtemp(prefix=self.id().rsplit(".", 1)[-1]
                                         + "-", dir=self.env.dir))

    def base_config(self, **kw):
        cfg = {
            "listen": ["127.0.0.1:0"],
            "mode": "enforce",
            "event_log": str(self.tmp / "events.jsonl"),
            "hosts_file": str(self.env.hosts),
            "resolvers": [self.env.dns.address],
            "responders": [],
        }
        cfg.update(kw)
        return cfg

    def start_proxy(self, config=None, **kw):
        """Starts ocspgate on config (dict or text; default base_config
        with **kw) and registers its cleanup."""
        if config is None:
            config = self.base_config(**kw)
        p = Proxy(self.tmp, config)
        self.addCleanup(self._finish_proxy, p)
        return p

    def _finish_proxy(self, p):
        finish_proxy(self, p, self.check_event)

    def check_event(self, ev):
        """Each event of a proxy at its cleanup; a test case with more to
        say about its events overrides this."""
        assert_event_shape(self, ev)

    def upstream(self, **kw):
        u = RecordingUpstream(**kw)
        self.addCleanup(u.stop)
        return u

    def seq_upstream(self, **kw):
        """A RecordingUpstream answering every request with a real,
        successful answer about the "good" certificate (from the class's
        responder of CA 1), the N-th one's signature marked with N:
        upstream_seq(response, upstream) tells which a client got."""
        good = self.env.good_answer()
        return self.upstream(body_for=seq_bodies(good), **kw)

    def resp_spec(self, host="ocsp.ca.test", path=""):
        return "%s:%d%s" % (host, self.resp.port, path)

    def url(self, host="ocsp.ca.test", port=None, path="/"):
        return "http://%s:%d%s" % (host, port or self.resp.port, path)

    def expect_event(self, proxy, n=1, timeout=5, **fields):
        """Waits for n events, checks the shape of each and that the last
        one has the given fields (keys with '__' for '.'). Returns it."""
        evs = proxy.wait_events(n, timeout)
        for ev in evs:
            assert_event_shape(self, ev)
        ev = evs[n - 1]
        for k, v in fields.items():
            self.assertEqual(get(ev, k.replace("__", ".")), v,
                             "%s in %s" % (k, json.dumps(ev)[:2000]))
        return ev

    def assert_no_more_events(self, proxy, n, wait=0.3):
        time.sleep(scaled(wait))
        evs = proxy.events()
        self.assertEqual(len(evs), n, json.dumps(evs, indent=1)[:3000])
