"""Artefacts and a web server for the fetch-class tests (CRLs, issuer
certificates, trust lists).

FetchPKI makes a small PKI with the openssl CLI: a root CA, an issuing CA
it signed, a leaf it revoked, the CRL `openssl ca -gencrl` writes (DER and
PEM), a CRL of thousands of entries, certs-only and signed PKCS#7 files,
and trust-list files (cabinets built here byte by byte, a sequence text).
The facts a test expects of each are read from the DER here, not from
OpenSSL. Nginx serves a directory on loopback in the foreground.

Every command has a time bound; every process started is stopped by the
caller's cleanup.
"""

import base64
import hashlib
import struct
import subprocess
import time
import zlib
from pathlib import Path

from ocspgate_harness import (
    _die_with_parent, clean_env, der, der_children, der_explicit, der_int,
    der_null, der_octets, der_oid, der_read, der_seq, free_port,
    port_listening, run, scaled, stop_process)

ROOT_DN = "CN=ocspgate fetch root CA,O=ocspgate fetch tests"
SUB_DN = "O=ocspgate fetch tests,CN=ocspgate fetch issuing CA"
ROOT_SERIAL = 0x5EED
SUB_SERIAL = 0xC0FFEE42  # its DER INTEGER carries a sign octet
CRL_NUMBER = 0x1000
BIG_CRL_NUMBER = 0x0A11CE
BIG_CRL_ENTRIES = 5000

OID_CRL_NUMBER = der_oid("2.5.29.20")

_CA_CNF = """\
[ca]
default_ca = fetch_ca
[fetch_ca]
database = {db}
crlnumber = {crlnumber}
serial = serial
new_certs_dir = newcerts
certificate = root.pem
private_key = root.key
default_md = sha256
default_days = 3650
default_crl_days = 7
policy = policy_any
unique_subject = no
crl_extensions = crl_ext
[policy_any]
commonName = supplied
organizationName = optional
[crl_ext]
authorityKeyIdentifier = keyid:always
[req]
distinguished_name = dn
prompt = no
[dn]
CN = unused
[v3_root]
basicConstraints = critical,CA:TRUE
keyUsage = critical,keyCertSign,cRLSign
subjectKeyIdentifier = hash
[v3_sub]
basicConstraints = critical,CA:TRUE,pathlen:0
keyUsage = critical,keyCertSign,cRLSign
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
crlDistributionPoints = URI:http://crl.ca.test/crl/ca.crl
authorityInfoAccess = caIssuers;URI:http://aia.ca.test/aia/root.crt
[v3_leaf]
basicConstraints = CA:FALSE
keyUsage = critical,digitalSignature
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
"""


def pem(label, der_bytes):
    """A PEM block of <der_bytes>, 64 columns, LF line ends."""
    text = base64.b64encode(der_bytes).decode()
    lines = [text[i:i + 64] for i in range(0, len(text), 64)]
    return ("-----BEGIN %s-----\n%s\n-----END %s-----\n"
            % (label, "\n".join(lines), label)).encode()


def pem_der(data):
    """The DER inside the first PEM block of <data>."""
    text = data.decode("ascii")
    body = text.split("-----", 2)[2].split("-----END", 1)[0]
    return base64.b64decode("".join(body.split()))


def magnitude_hex(content):
    """Hex of an INTEGER's magnitude: no leading zero octets, upper case,
    '00' for zero (as the event log writes serials and numbers)."""
    return content.lstrip(b"\x00").hex().upper() or "00"


def asn1_time(tag, content):
    """UTCTime or GeneralizedTime (whole seconds, 'Z') -> RFC 3339."""
    t = content.decode("ascii")
    if tag == 0x17:
        if len(t) != 13 or not t.endswith("Z"):
            raise ValueError("unexpected UTCTime %r" % t)
        year = int(t[:2])
        t = ("19" if year >= 50 else "20") + t
    elif tag != 0x18 or len(t) != 15 or not t.endswith("Z"):
        raise ValueError("unexpected time %r" % t)
    return "%s-%s-%sT%s:%s:%sZ" % (t[0:4], t[4:6], t[6:8], t[8:10],
                                    t[10:12], t[12:14])


def crl_facts(crl_der):
    """What a DER CRL says, as the event's crl object: number (hex of the
    magnitude, None when absent), this_update, next_update (None when
    absent) and entries. The issuer's text is the caller's to know."""
    tag, content, end = der_read(crl_der)
    if tag != 0x30 or end != len(crl_der):
        raise ValueError("not one SEQUENCE")
    tbs = der_children(der_children(content)[0][1])
    i = 1 if tbs[0][0] == 0x02 else 0  # version
    i += 2  # signature algorithm, issuer
    this_update = asn1_time(tbs[i][0], tbs[i][1])
    i += 1
    next_update = None
    if i < len(tbs) and tbs[i][0] in (0x17, 0x18):
        next_update = asn1_time(tbs[i][0], tbs[i][1])
        i += 1
    entries = 0
    if i < len(tbs) and tbs[i][0] == 0x30:
        entries = len(der_children(tbs[i][1]))
        i += 1
    number = None
    if i < len(tbs) and tbs[i][0] == 0xa0:
        for _, ext, _ in der_children(der_children(tbs[i][1])[0][1]):
            parts = der_children(ext)
            if parts[0][2] == OID_CRL_NUMBER:
                t, v, _ = der_read(parts[-1][1])
                assert t == 0x02
                number = magnitude_hex(v)
    return {"number": number, "this_update": this_update,
            "next_update": next_update, "entries": entries}


def pkcs7_certs(p7_der):
    """The DER certificates of a PKCS#7 SignedData, in file order."""
    _, content, _ = der_read(p7_der)
    explicit = der_children(content)[1][1]  # [0] EXPLICIT content
    signed = der_children(der_children(explicit)[0][1])
    return [raw for tag, _, raw in der_children(
        next(c for t, c, _ in signed if t == 0xa0))]


def cert_serial_hex(cert_der):
    """Hex of the magnitude of a DER certificate's serial number."""
    _, content, _ = der_read(cert_der)
    tbs = der_children(der_children(content)[0][1])
    i = 1 if tbs[0][0] == 0xa0 else 0
    return magnitude_hex(tbs[i][1])


# --------------------------------------------------------------------------
# Cabinet files (MS-CAB): one folder, stored (no compression).

def _cab_checksum(data, seed=0):
    """The CFDATA checksum: XOR of little-endian 32-bit words, the last
    0-3 bytes taken as one big-endian-ordered value."""
    csum = seed
    n = len(data) // 4
    for (word,) in struct.iter_unpack("<I", data[:n * 4]):
        csum ^= word
    ul = 0
    for b in data[n * 4:]:
        ul = (ul << 8) | b
    return csum ^ ul


def _mszip(data):
    """MSZIP blocks ([MS-MCI] 2): each 32 KiB of <data> deflated on its
    own, with the 32 KiB before it as the dictionary, after "CK"."""
    out = []
    for i in range(0, len(data), 32768):
        z = zlib.compressobj(6, zlib.DEFLATED, -15,
                             zdict=data[max(0, i - 32768):i] or None) \
            if i else zlib.compressobj(6, zlib.DEFLATED, -15)
        out.append((b"CK" + z.compress(data[i:i + 32768]) + z.flush(),
                    len(data[i:i + 32768])))
    return out


def cabinet(files, set_id=0x4f47, when=(2025, 1, 1, 12, 0, 0),
            mszip=False):
    """A cabinet holding <files> ((name, bytes) pairs), stored or (mszip)
    MSZIP-compressed as Windows Update's are, with valid checksums and
    cbCabinet equal to its length."""
    year, month, day, hour, minute, sec = when
    dos_date = ((year - 1980) << 9) | (month << 5) | day
    dos_time = (hour << 11) | (minute << 5) | (sec // 2)
    data = b"".join(body for _, body in files)
    blocks = ([(data[i:i + 32768], len(data[i:i + 32768]))
               for i in range(0, len(data), 32768)] or [(b"", 0)]) \
        if not mszip else _mszip(data)
    header_len, folder_len = 36, 8
    file_entries = b""
    offset = 0
    for name, body in files:
        file_entries += struct.pack("<IIHHHH", len(body), offset, 0,
                                    dos_date, dos_time, 0x20)
        file_entries += name.encode("ascii") + b"\x00"
        offset += len(body)
    data_start = header_len + folder_len + len(file_entries)
    cfdata = b""
    for block, unpacked in blocks:
        sizes = struct.pack("<HH", len(block), unpacked)
        csum = _cab_checksum(sizes, _cab_checksum(block))
        cfdata += struct.pack("<I", csum) + sizes + block
    total = data_start + len(cfdata)
    header = b"MSCF" + struct.pack("<IIIIIBBHHHHH", 0, total, 0,
                                   header_len + folder_len, 0, 3, 1, 1,
                                   len(files), 0, set_id, 0)
    folder = struct.pack("<IHH", data_start, len(blocks), 1 if mszip else 0)
    out = header + folder + file_entries + cfdata
    assert len(out) == total
    return out


# --------------------------------------------------------------------------
# Certificate trust lists ([MS-CAESO] 2.2.4) and serialized stores

OID_CTL = "1.3.6.1.4.1.311.10.1"
OID_ROOT_LIST = "1.3.6.1.4.1.311.10.3.9"
OID_FRIENDLY_NAME = "1.3.6.1.4.1.311.10.11.11"


def ctl_list(thumbprints, name_len=24, attr_oid=OID_FRIENDLY_NAME,
             extra=b""):
    """The DER of a CertificateTrustList of SHA-1 <thumbprints>, laid
    out as Microsoft's authroot.stl is (subject usage, sequence number,
    thisUpdate, SHA-1 subject algorithm, each subject with a friendly
    name attribute of <name_len> bytes); <extra> appended inside."""
    subjects = b"".join(der_seq(der_octets(t), der(0x31, der_seq(
        der_oid(attr_oid), der(0x31, der_octets(
            "Root {}".format(i).encode("utf-16-le").ljust(
                name_len, b"\0")[:name_len])))))
        for i, t in enumerate(thumbprints))
    return der_seq(der_seq(der_oid(OID_ROOT_LIST)), der_int(0x01d6cf3f),
                   der(0x17, b"250616175611Z"),
                   der_seq(der_oid("1.3.14.3.2.26"), der_null()),
                   der_seq(subjects), extra)


def ctl_signed(list_der, signer_der, chain_ders, key_path, tmpdir):
    """<list_der> signed as Microsoft signs its trust lists: PKCS#7
    SignedData whose content is the list itself, with signed attributes
    contentType and messageDigest (SHA-256 of the list's content octets,
    PKCS#7 1.5 9.3), signed by the EC key at <key_path> (`openssl dgst`)
    whose certificate is <signer_der>."""
    _, content, _ = der_read(list_der)
    attrs = sorted([
        der_seq(der_oid("1.2.840.113549.1.9.3"),
                der(0x31, der_oid(OID_CTL))),
        der_seq(der_oid("1.2.840.113549.1.9.4"),
                der(0x31, der_octets(hashlib.sha256(content).digest())))])
    signed_attrs = der(0x31, b"".join(attrs))
    tbs = Path(tmpdir) / "ctl-attrs.der"
    tbs.write_bytes(signed_attrs)
    sig = run(["openssl", "dgst", "-sha256", "-sign", str(key_path),
               str(tbs)], timeout=10).stdout
    tbsc = der_children(der_children(der_read(signer_der)[1])[0][1])
    i = 1 if tbsc[0][0] == 0xa0 else 0
    issuer_and_serial = der_seq(tbsc[i + 2][2], tbsc[i][2])
    signer_info = der_seq(
        der_int(1), issuer_and_serial,
        der_seq(der_oid("2.16.840.1.101.3.4.2.1"), der_null()),
        der(0xa0, b"".join(attrs)),
        der_seq(der_oid("1.2.840.10045.4.3.2")), der_octets(sig))
    signed_data = der_seq(
        der_int(1), der(0x31, der_seq(der_oid("2.16.840.1.101.3.4.2.1"),
                                      der_null())),
        der_seq(der_oid(OID_CTL), der_explicit(0, list_der)),
        der(0xa0, signer_der + b"".join(chain_ders)),
        der(0x31, signer_info))
    return der_seq(der_oid("1.2.840.113549.1.7.2"),
                   der_explicit(0, signed_data))


def serialized_store(cert_ders, extra=b""):
    """A serialized certificate store as Windows tools write it: the
    header, for each certificate its SHA-1 hash property and itself,
    <extra> elements, then the twelve-byte end."""
    def element(prop, data):
        return struct.pack("<III", prop, 1, len(data)) + data
    body = b"".join(element(3, hashlib.sha1(c).digest()) + element(32, c)
                    for c in cert_ders)
    return b"\0\0\0\0CERT" + body + extra + b"\0" * 12


def store_element(prop, data):
    """One element of a serialized store."""
    return struct.pack("<III", prop, 1, len(data)) + data


# --------------------------------------------------------------------------
# The PKI

class FetchPKI:
    """Made once in <directory>. Attributes hold bytes (…_der, …_pem) and
    the facts expected of them."""

    def __init__(self, directory):
        d = self.dir = Path(directory)
        d.mkdir(parents=True, exist_ok=True)
        (d / "newcerts").mkdir(exist_ok=True)
        (d / "index.txt").write_text("")
        (d / "index.txt.attr").write_text("unique_subject = no\n")
        (d / "crlnumber").write_text("%04X\n" % CRL_NUMBER)
        (d / "serial").write_text("%X\n" % SUB_SERIAL)
        self.cnf = d / "ca.cnf"
        self.cnf.write_text(_CA_CNF.format(db="index.txt",
                                           crlnumber="crlnumber"))

        # Root CA, issuing CA, and a leaf that is then revoked.
        self._ssl("req", "-x509", "-new", "-config", self.cnf,
                  "-extensions", "v3_root", *self._ec("root"),
                  "-out", "root.pem", "-days", "3650",
                  "-set_serial", hex(ROOT_SERIAL),
                  "-subj", "/O=ocspgate fetch tests/CN=ocspgate fetch root CA")
        # RFC 2253 text lists the last RDN first; `openssl ca` puts the
        # issuing CA's RDNs in its policy's order: ROOT_DN and SUB_DN.
        self._ssl("req", "-new", "-config", self.cnf, *self._ec("sub"),
                  "-out", "sub.csr", "-subj",
                  "/O=ocspgate fetch tests/CN=ocspgate fetch issuing CA")
        self._ssl("ca", "-batch", "-config", self.cnf, "-extensions",
                  "v3_sub", "-in", "sub.csr", "-out", "sub.pem", "-notext")
        self._ssl("req", "-new", "-config", self.cnf, *self._ec("leaf"),
                  "-out", "leaf.csr", "-subj", "/CN=revoked.fetch.test")
        self._ssl("ca", "-batch", "-config", self.cnf, "-extensions",
                  "v3_leaf", "-in", "leaf.csr", "-out", "leaf.pem",
                  "-notext", "-days", "30")
        self._ssl("ca", "-config", self.cnf, "-revoke", "leaf.pem",
                  "-crl_reason", "keyCompromise")
        self._ssl("ca", "-config", self.cnf, "-gencrl", "-crldays", "7",
                  "-out", "ca.crl.pem")
        self._ssl("crl", "-in", "ca.crl.pem", "-outform", "DER",
                  "-out", "ca.crl.der")
        self.crl_pem = (d / "ca.crl.pem").read_bytes()
        self.crl_der = (d / "ca.crl.der").read_bytes()
        assert pem_der(self.crl_pem) == self.crl_der

        for name in ("root", "sub", "leaf"):
            self._ssl("x509", "-in", name + ".pem", "-outform", "DER",
                      "-out", name + ".der")
        self.root_pem = (d / "root.pem").read_bytes()
        self.root_der = (d / "root.der").read_bytes()
        self.sub_pem = (d / "sub.pem").read_bytes()
        self.sub_der = (d / "sub.der").read_bytes()
        self.leaf_der = (d / "leaf.der").read_bytes()

        # Certs-only PKCS#7 (.p7c): the issuing CA, then the root.
        self._ssl("crl2pkcs7", "-nocrl", "-certfile", "sub.pem",
                  "-certfile", "root.pem", "-outform", "DER",
                  "-out", "chain.p7c.der")
        self._ssl("crl2pkcs7", "-nocrl", "-certfile", "sub.pem",
                  "-certfile", "root.pem", "-out", "chain.p7c.pem")
        self.p7c_der = (d / "chain.p7c.der").read_bytes()
        self.p7c_pem = (d / "chain.p7c.pem").read_bytes()
        assert pem_der(self.p7c_pem) == self.p7c_der
        # The certificates in the order the file holds them.
        self.p7c_certs = pkcs7_certs(self.p7c_der)
        assert sorted(self.p7c_certs) == sorted([self.sub_der,
                                                  self.root_der])

        # A signed PKCS#7 with content, as trust lists are.
        (d / "ctl-content.bin").write_bytes(
            b"ocspgate fetch test trust list\x00\x01\x02" * 8)
        self._ssl("smime", "-sign", "-binary", "-nodetach", "-in",
                  "ctl-content.bin", "-signer", "sub.pem", "-inkey",
                  "sub.key", "-outform", "DER", "-out", "signed.p7.der")
        self.signed_p7_der = (d / "signed.p7.der").read_bytes()

        # Trust-list files: a list of the root and the issuing CA,
        # signed by the issuing CA, alone, in cabinets (MSZIP as
        # Windows Update's, and stored), and a serialized store.
        self.ctl_thumbprints = [hashlib.sha1(self.root_der).digest(),
                                hashlib.sha1(self.sub_der).digest()]
        self.stl = ctl_signed(ctl_list(self.ctl_thumbprints), self.sub_der,
                              [self.root_der], d / "sub.key", d)
        self.authroot_cab = cabinet([("authroot.stl", self.stl)],
                                    mszip=True)
        self.disallowed_cab = cabinet([("disallowedcert.stl", self.stl)],
                                      set_id=0x5051)
        self.roots_sst = serialized_store([self.root_der, self.sub_der])
        self.seq_txt = b"01DB1B2B1A2E0C57\r\n"

        self.big_crl_der = self._bulk_crl("big", BIG_CRL_ENTRIES,
                                          BIG_CRL_NUMBER, 0x10000000)
        # Between 4 KiB and 64 KiB.
        self.mid_crl_der = self._bulk_crl("mid", 200, 0x2, 0x20000000)

    def crl_with_extension(self, size, name):
        """A CRL of the root (`openssl ca -gencrl`) carrying a private
        extension of <size> bytes of filler. Returns its DER."""
        d = self.dir
        cnf = d / (name + ".cnf")
        cnf.write_text(_CA_CNF.format(db="index.txt",
                                      crlnumber="crlnumber").replace(
            "authorityKeyIdentifier = keyid:always",
            "authorityKeyIdentifier = keyid:always\n"
            "1.3.6.1.4.1.99999.1 = DER:" + _filler_der(size)))
        self._ssl("ca", "-config", cnf, "-gencrl", "-crldays", "7",
                  "-out", name + ".crl.pem")
        self._ssl("crl", "-in", name + ".crl.pem", "-outform", "DER",
                  "-out", name + ".crl.der")
        return (d / (name + ".crl.der")).read_bytes()

    def cert_with_extension(self, size, name):
        """A certificate of the issuing CA, issued by the root, carrying
        a private extension of <size> bytes of filler. Returns its DER."""
        d = self.dir
        ext = d / (name + ".ext")
        ext.write_text("[x]\nbasicConstraints = critical,CA:TRUE\n"
                       "1.3.6.1.4.1.99999.2 = DER:" + _filler_der(size) +
                       "\n")
        self._ssl("x509", "-req", "-in", "sub.csr", "-CA", "root.pem",
                  "-CAkey", "root.key", "-set_serial", "0x77",
                  "-days", "30", "-extfile", ext, "-extensions", "x",
                  "-outform", "DER", "-out", name + ".der")
        return (d / (name + ".der")).read_bytes()

    def impostor_crl(self):
        """A CRL naming the root as its issuer, signed by another key (a
        root of the same name made for it). Returns its DER."""
        d = self.dir / "impostor"
        (d / "newcerts").mkdir(parents=True, exist_ok=True)
        (d / "index.txt").write_text("")
        (d / "index.txt.attr").write_text("unique_subject = no\n")
        (d / "crlnumber").write_text("2000\n")
        (d / "ca.cnf").write_text(_CA_CNF.format(db="index.txt",
                                                 crlnumber="crlnumber"))
        self._ssl("req", "-x509", "-new", "-config", d / "ca.cnf",
                  "-extensions", "v3_root", "-newkey", "ec", "-pkeyopt",
                  "ec_paramgen_curve:prime256v1", "-nodes", "-keyout",
                  d / "root.key", "-out", d / "root.pem", "-days", "30",
                  "-subj", "/O=ocspgate fetch tests/CN=ocspgate fetch root CA")
        run(["openssl", "ca", "-config", "ca.cnf", "-gencrl",
             "-crldays", "7", "-out", "impostor.crl.pem"], cwd=d,
            timeout=20)
        run(["openssl", "crl", "-in", "impostor.crl.pem", "-outform",
             "DER", "-out", "impostor.crl.der"], cwd=d, timeout=20)
        return (d / "impostor.crl.der").read_bytes()

    def _ec(self, name):
        return ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
                "-nodes", "-keyout", name + ".key"]

    def _ssl(self, *args):
        run(["openssl"] + [str(a) for a in args], cwd=self.dir, timeout=20)

    def _bulk_crl(self, name, entries, number, base):
        """A CRL of <entries> entries (serials from <base>, 8 hex digits)
        from the root: the index is written here, the CRL by `openssl ca
        -gencrl`. Returns its DER."""
        d = self.dir
        lines = ["R\t491231235959Z\t250101000000Z,superseded\t%08X\t"
                 "unknown\t/CN=bulk%d.fetch.test\n" % (base + i, i)
                 for i in range(entries)]
        (d / (name + "-index.txt")).write_text("".join(lines))
        (d / (name + "-index.txt.attr")).write_text("unique_subject = no\n")
        (d / (name + "-crlnumber")).write_text("%06X\n" % number)
        cnf = d / (name + ".cnf")
        cnf.write_text(_CA_CNF.format(db=name + "-index.txt",
                                      crlnumber=name + "-crlnumber"))
        self._ssl("ca", "-config", cnf, "-gencrl", "-crldays", "7",
                  "-out", name + ".crl.pem")
        self._ssl("crl", "-in", name + ".crl.pem", "-outform", "DER",
                  "-out", name + ".crl.der")
        return (d / (name + ".crl.der")).read_bytes()


def _filler_der(size):
    """The hex of an OCTET STRING of <size> bytes of filler, for an
    extension's value in an openssl config ("DER:...")."""
    body = bytes([0x41 + i % 26 for i in range(size)])
    return der_octets(body).hex()


# --------------------------------------------------------------------------
# nginx

_NGINX_CONF = """\
worker_processes 1;
daemon off;
master_process off;
pid {dir}/nginx.pid;
error_log {dir}/error.log warn;
events {{ worker_connections 64; }}
http {{
    access_log {dir}/access.log;
    client_body_temp_path {dir}/tmp/body;
    proxy_temp_path {dir}/tmp/proxy;
    fastcgi_temp_path {dir}/tmp/fastcgi;
    uwsgi_temp_path {dir}/tmp/uwsgi;
    scgi_temp_path {dir}/tmp/scgi;
    types {{
        application/pkix-crl crl;
        application/pkix-cert crt cer;
        application/pkcs7-mime p7c;
        application/vnd.ms-cab-compressed cab;
        text/plain txt;
    }}
    default_type application/octet-stream;
    keepalive_timeout 10s;
    server {{
        listen 127.0.0.1:{port};
        root {root};
    }}
}}
"""


class Nginx:
    """nginx in the foreground (one process, no master) serving <root> on
    127.0.0.1 at a free port; its config, logs and pid file in
    <directory>."""

    def __init__(self, root, directory, start_timeout=10):
        self.dir = Path(directory)
        (self.dir / "tmp").mkdir(parents=True, exist_ok=True)
        self.proc = None
        last = ""
        for _ in range(5):
            self.port = free_port()
            conf = self.dir / "nginx.conf"
            conf.write_text(_NGINX_CONF.format(dir=self.dir, root=root,
                                               port=self.port))
            self.proc = subprocess.Popen(
                ["nginx", "-p", str(self.dir), "-e",
                 str(self.dir / "error.log"), "-c", str(conf)],
                stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                stderr=subprocess.PIPE, start_new_session=True,
                env=clean_env(), cwd=str(self.dir),
                preexec_fn=_die_with_parent)
            deadline = time.monotonic() + scaled(start_timeout)
            while self.proc.poll() is None and \
                    not port_listening(self.port) and \
                    time.monotonic() < deadline:
                time.sleep(0.01)
            if self.proc.poll() is None and port_listening(self.port):
                return
            self.stop()
            last = self.proc.stderr.read().decode(errors="replace") \
                if self.proc.poll() is not None else "timed out"
        raise AssertionError("nginx did not start: " + last)

    def stop(self):
        if self.proc is not None and self.proc.poll() is None:
            stop_process(self.proc, grace=3)
        if self.proc is not None and self.proc.stderr is not None:
            try:
                self.proc.stderr.close()
            except OSError:
                pass
