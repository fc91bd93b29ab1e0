"""OCSP responses for the response-inspection tests: a DER reader for
OCSPResponse, the forgeries made from real responses (cut short, a
trailing byte, a flipped signature byte), real responses made by
`openssl ocsp` as a responder, requests made by `openssl ocsp -reqout`, and a
canned HTTP upstream that answers each request with bytes a test chose.

Loopback only; every socket has a timeout and every server is stopped by
the cleanup its test registers.
"""

import email.utils
import os
import re
import socket
import tempfile
import threading
import time
import types
from pathlib import Path

from ocspgate_harness import (
    OID_NONCE, Responder, ThreadedServer, der, der_children, der_oid,
    der_read, der_seq, parse_request, run, scaled)

STATUS_NAMES = {0: "successful", 1: "malformedRequest", 2: "internalError",
                3: "tryLater", 5: "sigRequired", 6: "unauthorized"}

# RFC 5280 CRLReason names.
REASON_NAMES = {0: "unspecified", 1: "keyCompromise", 2: "cACompromise",
                3: "affiliationChanged", 4: "superseded",
                5: "cessationOfOperation", 6: "certificateHold",
                8: "removeFromCRL", 9: "privilegeWithdrawn",
                10: "aACompromise"}

HASH_BY_OID = {
    der_oid("1.3.14.3.2.26"): "sha1",
    der_oid("2.16.840.1.101.3.4.2.4"): "sha224",
    der_oid("2.16.840.1.101.3.4.2.1"): "sha256",
    der_oid("2.16.840.1.101.3.4.2.2"): "sha384",
    der_oid("2.16.840.1.101.3.4.2.3"): "sha512",
}


# --------------------------------------------------------------------------
# Reading an OCSPResponse

def _children_at(data, start, end):
    """TLVs between start and end of data: (tag, content_start,
    content_end, tlv_start) with absolute offsets."""
    out = []
    pos = start
    while pos < end:
        tag, content, tlv_end = der_read(data, pos)
        out.append((tag, tlv_end - len(content), tlv_end, pos))
        pos = tlv_end
    return out


def rfc3339(generalized_time):
    """b'20261126193000Z' -> '2026-11-26T19:30:00Z'."""
    t = generalized_time.decode("ascii")
    if len(t) != 15 or not t.endswith("Z"):
        raise ValueError("unexpected GeneralizedTime %r" % t)
    return "%s-%s-%sT%s:%s:%sZ" % (t[0:4], t[4:6], t[6:8], t[8:10],
                                    t[10:12], t[12:14])


def _magnitude_hex(content):
    return content.lstrip(b"\x00").hex().upper() or "00"


def parse_ocsp_response(data):
    """What an OCSPResponse says, read independently of OpenSSL. Returns a
    namespace: status (RFC 6960 name), and when successful produced_at,
    responder_name_der or responder_key_hash, nonce (bytes or None),
    certs (list of dicts like the event's, plus 'cert_id' raw DER), and
    signature (absolute offsets (start, end) of the signature BIT
    STRING's value, unused-bits octet excluded)."""
    tag, content, end = der_read(data)
    if tag != 0x30 or end != len(data):
        raise ValueError("not one SEQUENCE")
    top = _children_at(data, end - len(content), end)
    r = types.SimpleNamespace(status=STATUS_NAMES.get(
        data[top[0][1]], "unknown"), produced_at=None,
        responder_name_der=None, responder_key_hash=None, nonce=None,
        certs=[], signature=None)
    if len(top) < 2:
        return r
    rb = _children_at(data, top[1][1], top[1][2])        # [0] EXPLICIT
    rb = _children_at(data, rb[0][1], rb[0][2])          # ResponseBytes
    basic_start, basic_end = rb[1][1], rb[1][2]          # OCTET STRING
    basic = _children_at(data, basic_start, basic_end)   # outer SEQUENCE
    basic = _children_at(data, basic[0][1], basic[0][2])
    tbs, _, sig = basic[0], basic[1], basic[2]
    r.signature = (sig[1] + 1, sig[2])
    fields = _children_at(data, tbs[1], tbs[2])
    i = 0
    if fields[0][0] == 0xa0:
        i = 1
    rid = fields[i]
    if rid[0] == 0xa1:
        r.responder_name_der = data[rid[1]:rid[2]]
    else:
        r.responder_key_hash = der_read(data[rid[1]:rid[2]])[1]
    r.produced_at = rfc3339(data[fields[i + 1][1]:fields[i + 1][2]])
    for single in _children_at(data, fields[i + 2][1], fields[i + 2][2]):
        parts = _children_at(data, single[1], single[2])
        cid = _children_at(data, parts[0][1], parts[0][2])
        alg = _children_at(data, cid[0][1], cid[0][2])
        c = {"hash_algorithm": HASH_BY_OID.get(
                 data[alg[0][3]:alg[0][2]], "?"),
             "issuer_name_hash": data[cid[1][1]:cid[1][2]].hex().upper(),
             "issuer_key_hash": data[cid[2][1]:cid[2][2]].hex().upper(),
             "serial": _magnitude_hex(data[cid[3][1]:cid[3][2]]),
             "cert_id": data[parts[0][3]:parts[0][2]]}
        st = parts[1]
        if st[0] == 0x80:
            c["status"] = "good"
        elif st[0] == 0x82:
            c["status"] = "unknown"
        else:
            c["status"] = "revoked"
            rev = _children_at(data, st[1], st[2])
            c["revocation_time"] = rfc3339(data[rev[0][1]:rev[0][2]])
            if len(rev) > 1:
                code = data[_children_at(data, rev[1][1], rev[1][2])[0][1]]
                c["revocation_reason"] = REASON_NAMES[code]
        c["this_update"] = rfc3339(data[parts[2][1]:parts[2][2]])
        for p in parts[3:]:
            if p[0] == 0xa0:
                inner = _children_at(data, p[1], p[2])[0]
                c["next_update"] = rfc3339(data[inner[1]:inner[2]])
        r.certs.append(c)
    for f in fields[i + 3:]:
        if f[0] != 0xa1:
            continue
        exts = _children_at(data, f[1], f[2])[0]
        for ext in _children_at(data, exts[1], exts[2]):
            parts = _children_at(data, ext[1], ext[2])
            if data[parts[0][3]:parts[0][2]] == der_oid(OID_NONCE):
                value = data[parts[-1][1]:parts[-1][2]]
                r.nonce = der_read(value)[1]
    return r


# --------------------------------------------------------------------------
# Forgeries made from real responses

def cut_short(data, n=1):
    return data[:-n]


def with_trailing_byte(data, byte=b"\x00"):
    return data + byte


def flip_signature_byte(data):
    """The response with the last octet of its signature changed. For an
    ECDSA signature that is the last octet of the INTEGER s, so the
    signature's own DER, and the response's, stay valid."""
    sig_start, sig_end = parse_ocsp_response(data).signature
    pos = sig_end - 1
    assert pos > sig_start
    out = bytearray(data)
    out[pos] ^= 0x01
    return bytes(out)


def long_form_length(data):
    """The same value with its outer length in long form (BER, not
    DER): 30 81 LL ... when LL < 128."""
    tag, content, end = der_read(data)
    assert end == len(data) and len(content) < 0x80
    return bytes([tag, 0x81, len(content)]) + content


# --------------------------------------------------------------------------
# Real peers

def openssl_request(issuer, certs, tmpdir, nonce=True):
    """The DER request `openssl ocsp -reqout` writes (with a random nonce
    unless nonce is False); certs are PEM paths."""
    fd, path = tempfile.mkstemp(dir=str(tmpdir), suffix=".req.der")
    os.close(fd)
    cmd = ["openssl", "ocsp", "-issuer", str(issuer)]
    for c in certs:
        cmd += ["-cert", str(c)]
    cmd += ["-reqout", path]
    if not nonce:
        cmd.append("-no_nonce")
    run(cmd, timeout=10)
    return Path(path).read_bytes()


def offline_response(request_der, index, ca, signer, key, tmpdir,
                     options=()):
    """The response `openssl ocsp` makes as a responder for one request
    read from a file (-reqin), without a network: index, CA and signer as
    for a running responder, nextUpdate 5 minutes on. options: extra
    flags such as -resp_no_certs or -resp_key_id."""
    fd, req = tempfile.mkstemp(dir=str(tmpdir), suffix=".req.der")
    with os.fdopen(fd, "wb") as f:
        f.write(request_der)
    out = req.replace(".req.", ".resp.")
    run(["openssl", "ocsp", "-index", str(index), "-CA", str(ca),
         "-rsigner", str(signer), "-rkey", str(key), "-reqin", req,
         "-respout", out, "-nmin", "5", *options], timeout=10)
    return Path(out).read_bytes()


def start_responder(directory, index, ca, signer, key, multi=2):
    """An `openssl ocsp` responder on its own index and signer."""
    ns = types.SimpleNamespace(index=index, ca=ca, ocsp=signer,
                               ocsp_key=key, dir=directory)
    return Responder(ns, 1, multi=multi)


# --------------------------------------------------------------------------
# A canned upstream

def http_answer(body, status=200, reason="OK",
                content_type="application/ocsp-response", framing="length",
                headers=(), chunk=None, chunk_ext=b"", trailers=()):
    """The raw bytes of one HTTP/1.1 answer. framing: 'length',
    'chunked' (chunks of <chunk> bytes, default two halves; each size
    line followed by <chunk_ext>, e.g. b';x=1'; then <trailers>, (name,
    value) pairs) or 'close' (no length: the connection's end ends
    it)."""
    head = [b"HTTP/1.1 %d %s" % (status, reason.encode())]
    if content_type is not None:
        head.append(b"Content-Type: " + content_type.encode())
    for k, v in headers:
        head.append(k.encode() + b": " + v.encode())
    if framing == "length":
        head.append(b"Content-Length: %d" % len(body))
        payload = body
    elif framing == "chunked":
        head.append(b"Transfer-Encoding: chunked")
        size = chunk or max(1, (len(body) + 1) // 2)
        payload = b"".join(b"%x%s\r\n%s\r\n" % (len(body[i:i + size]),
                                                  chunk_ext,
                                                  body[i:i + size])
                           for i in range(0, len(body), size))
        payload += b"0%s\r\n" % chunk_ext
        payload += b"".join(k.encode() + b": " + v.encode() + b"\r\n"
                            for k, v in trailers)
        payload += b"\r\n"
    elif framing == "close":
        head.append(b"Connection: close")
        payload = body
    else:
        raise ValueError(framing)
    return b"\r\n".join(head) + b"\r\n\r\n" + payload


class Answer:
    """What the canned upstream sends for one request: the bytes, sent in
    <pieces> parts <gap> seconds apart, then close or keep-alive."""

    def __init__(self, raw, close=False, pieces=1, gap=0.0):
        self.raw = raw
        self.close = close
        self.pieces = pieces
        self.gap = gap


class CannedUpstream(ThreadedServer):
    """An HTTP server on 127.0.0.1:0. For each complete request it calls
    answer(request) (or takes .answer as it is when not callable) and
    sends the Answer. Records the requests it got and counts the
    connections. With close_on_reuse, the second request on a connection
    gets no answer: the connection is closed as if the server had timed
    it out just as the request arrived."""

    def __init__(self, answer=None, close_on_reuse=False):
        self.answer = answer
        self.close_on_reuse = close_on_reuse
        self.requests = []
        super().__init__(backlog=32)

    def handle(self, conn):
        self._serve(conn)

    def _serve(self, conn):
        conn.settimeout(0.05)
        pending = bytearray()
        served = 0
        try:
            while not self._stop.is_set():
                try:
                    chunk = conn.recv(65536)
                except socket.timeout:
                    continue
                if not chunk:
                    return
                pending += chunk
                while True:
                    try:
                        got = parse_request(pending)
                    except ValueError:
                        return
                    if got is None:
                        break
                    req, n = got
                    del pending[:n]
                    with self.lock:
                        self.requests.append(req)
                    if self.close_on_reuse and served >= 1:
                        return
                    served += 1
                    a = self.answer(req) if callable(self.answer) \
                        else self.answer
                    if a is None:
                        return
                    if isinstance(a, bytes):
                        a = Answer(a)
                    step = max(1, -(-len(a.raw) // a.pieces))
                    for i in range(0, len(a.raw), step):
                        if i and a.gap:
                            self._stop.wait(a.gap)
                        conn.settimeout(scaled(5))
                        conn.sendall(a.raw[i:i + step])
                        conn.settimeout(0.05)
                    if a.close:
                        conn.shutdown(socket.SHUT_WR)
                        # let the peer read to the end before closing
                        self._stop.wait(0.05)
                        return
        except OSError:
            pass
        finally:
            conn.close()

    def request_count(self):
        with self.lock:
            return len(self.requests)

    def wait_requests(self, n, timeout=5):
        deadline = time.monotonic() + scaled(timeout)
        while time.monotonic() < deadline:
            with self.lock:
                if len(self.requests) >= n:
                    break
            time.sleep(0.02)
        with self.lock:
            return list(self.requests)



# --------------------------------------------------------------------------
# The head ocspgate writes for an answer

# The fields an answer reaches the client with (RFC 5019 6.2's and the
# framing), and the media types it keeps (without parameters).
ANSWER_FIELDS = {"content-type", "cache-control", "expires", "last-modified",
                 "etag", "date", "content-length", "transfer-encoding",
                 "connection"}
ANSWER_TYPES = {
    "application/ocsp-response", "application/pkix-crl",
    "application/x-pkcs7-crl", "application/pkix-cert",
    "application/x-x509-ca-cert", "application/x-x509-user-cert",
    "application/pkcs7-mime", "application/x-pkcs7-mime",
    "application/x-pkcs7-certificates", "application/pkcs7-signature",
    "application/pem-certificate-chain", "application/x-pem-file",
    "application/vnd.ms-cab-compressed", "application/vnd.ms-pki.stl",
    "application/vnd.ms-pki.certstore", "application/octet-stream",
    "text/plain", "text/html"}
# RFC 9110 15's phrases for the codes the tests send.
ANSWER_PHRASES = {200: "OK", 203: "Non-Authoritative Information",
                  204: "No Content", 301: "Moved Permanently",
                  302: "Found", 304: "Not Modified", 404: "Not Found",
                  500: "Internal Server Error", 502: "Bad Gateway",
                  503: "Service Unavailable"}


def rebuilt_content_type(content_type):
    """The Content-Type an answer with <content_type> reaches the client
    with: its media type in lower case when ocspgate knows it, else
    none."""
    if content_type is None:
        return None
    t = content_type.split(";")[0].strip().lower()
    return t if t in ANSWER_TYPES else None


def chunk_lines(raw):
    """The chunk-size lines of the first chunked body in <raw> (bytes
    after the head), as the client read them."""
    head_end = raw.index(b"\r\n\r\n") + 4
    pos, lines = head_end, []
    for _ in range(100000):
        end = raw.index(b"\r\n", pos)
        line = raw[pos:end]
        lines.append(line)
        size = int(line.split(b";")[0], 16)
        pos = end + 2 + size + 2
        if size == 0:
            break
    return lines


def assert_rebuilt(test, r, raw, dump, content_type=None, body=None):
    """<r> (one parsed answer, <raw> its bytes) has a head of ocspgate's
    writing: the status's own phrase, only ANSWER_FIELDS, each once, the
    Content-Type <content_type> becomes, a Content-Length equal to the
    body (or ocspgate's chunks without extensions or trailers)."""
    test.assertEqual(r.reason, ANSWER_PHRASES.get(r.status, r.reason), dump)
    names = [k.lower() for k, _ in r.headers]
    for k in names:
        test.assertIn(k, ANSWER_FIELDS, dump)
        test.assertEqual(names.count(k), 1, dump)
    test.assertEqual(r.header("content-type"),
                     rebuilt_content_type(content_type)
                     if r.status != 304 else None, dump)
    if body is not None:
        test.assertEqual(r.body, body, dump)
    if r.chunked:
        test.assertIsNone(r.header("content-length"), dump)
        lines = chunk_lines(raw)
        for line in lines:
            test.assertRegex(line, rb"^[0-9a-f]+$", dump)
        test.assertTrue(raw.endswith(b"\r\n0\r\n\r\n")
                        or raw.endswith(b"0\r\n\r\n"), dump)
    elif r.status not in (204, 304):
        test.assertEqual(r.header("content-length"), str(len(r.body)), dump)


# The fields of the head ocspgate writes for an answer that passed its
# inspection, in their order: nothing of the upstream's head.
JUDGED_FIELDS = ("content-type", "cache-control", "date", "last-modified",
                 "expires", "content-length", "connection")
JUDGED_CACHE_CONTROL = re.compile(
    r"^max-age=\d+, public, no-transform, must-revalidate$")


def judged_type(path, body=b""):
    """The Content-Type ocspgate gives a judged answer to a fetch of
    <path>: its content's, whatever the upstream said."""
    name = path.rsplit("/", 1)[-1].split("?")[0].lower()
    if name.endswith(".cab"):
        return "application/vnd.ms-cab-compressed"
    if name.endswith(".txt"):
        return "text/plain"
    if name.endswith(".stl"):
        return "application/vnd.ms-pki.stl"
    if name.endswith(".sst"):
        # A serialized store, or a CTL in PKCS#7 (a SEQUENCE).
        return ("application/vnd.ms-pki.stl" if body[:1] == b"\x30"
                else "application/vnd.ms-pki.certstore")
    if name.endswith(".crl"):
        return "application/pkix-crl"
    if name.endswith(".p7c") or name.endswith(".p7b"):
        return "application/pkcs7-mime"
    return "application/pkix-cert"


def assert_judged(test, r, dump, content_type, body=None):
    """<r> (one parsed answer) has the head ocspgate writes for an answer
    it judged: 200 OK (or 304 Not Modified), only JUDGED_FIELDS, each
    once and in that order, the Content-Type <content_type> (none on a
    304), ocspgate's own Date (its clock: within a minute of now), no
    ETag, RFC 5019's Cache-Control with Expires ("no-cache" with a
    Last-Modified alone), a Content-Length equal to the body."""
    test.assertIn((r.status, r.reason),
                  ((200, "OK"), (304, "Not Modified")), dump)
    names = [k.lower() for k, _ in r.headers]
    test.assertEqual(names, [k for k in JUDGED_FIELDS if k in names], dump)
    test.assertEqual(r.header("content-type"),
                     content_type if r.status == 200 else None, dump)
    date = email.utils.parsedate_to_datetime(r.header("date"))
    test.assertLess(abs(date.timestamp() - time.time()), 60, dump)
    cc = r.header("cache-control")
    if r.header("expires") is not None:
        test.assertRegex(cc or "", JUDGED_CACHE_CONTROL, dump)
    elif r.header("last-modified") is not None:
        # a date and no next update: no heuristic freshness
        test.assertEqual(cc, "no-cache", dump)
    else:
        test.assertIsNone(cc, dump)
    if body is not None:
        test.assertEqual(r.body, body if r.status == 200 else b"", dump)
    if r.status == 200:
        test.assertEqual(r.header("content-length"), str(len(r.body)), dump)


# --------------------------------------------------------------------------
# Answers with more in them than the status: the carriers of a channel

def extension(oid, value):
    """One Extension: extnID, extnValue <value> (DER bytes)."""
    return der_seq(der_oid(oid), der(0x04, value))


def forge_basic(data, response_ext=None, single_ext=None, certs=None,
                signature=None):
    """A successful OCSPResponse <data> rebuilt with an extra
    responseExtension <response_ext>, an extra singleExtension
    <single_ext> on its first SingleResponse (each an Extension's DER),
    its certs field's content replaced by <certs> (DER bytes), or its
    signature's value replaced by <signature> (bytes, no unused-bits
    octet). The signature no longer matches: these are answers to be
    refused for their shape, whatever their signer."""
    _, content, _ = der_read(data)
    status, rbytes = der_children(content)[:2]
    rb = der_children(der_children(rbytes[1])[0][1])
    _, basic, _ = der_read(rb[1][1])
    tbs, alg, sig, *rest = der_children(basic)
    fields = der_children(tbs[1])
    i = 1 if fields[0][0] == 0xa0 else 0
    rid, produced, singles = fields[i], fields[i + 1], fields[i + 2]
    exts = fields[i + 3:]
    single_list = [raw for _, _, raw in der_children(singles[1])]
    if single_ext is not None:
        parts = der_children(der_read(single_list[0])[1])
        old = [raw for tag, _, raw in parts if tag != 0xa1]
        ext_list = [raw for tag, c, _ in parts if tag == 0xa1
                    for _, _, raw in der_children(der_children(c)[0][1])]
        single_list[0] = der_seq(*old, der(0xa1, der_seq(
            *ext_list, single_ext)))
    tbs_parts = [f[2] for f in fields[:i]] + [rid[2], produced[2],
                                              der_seq(*single_list)]
    ext_list = [raw for e in exts if e[0] == 0xa1
                for _, _, raw in der_children(der_children(e[1])[0][1])]
    if response_ext is not None:
        ext_list.append(response_ext)
    if ext_list:
        tbs_parts.append(der(0xa1, der_seq(*ext_list)))
    new_sig = sig[2] if signature is None else der(0x03, b"\x00" + signature)
    new_rest = [r[2] for r in rest]
    if certs is not None:
        new_rest = [der(0xa0, der_seq(certs))]
    new_basic = der_seq(der_seq(*tbs_parts), alg[2], new_sig, *new_rest)
    return der_seq(status[2], der(0xa0, der_seq(
        rb[0][2], der(0x04, new_basic))))
