"""The distinct workload's request set (imported by bench.py).

Several CAs, each with many certificates, and for each certificate the
CryptoAPI GET a Windows client sends for it (SHA-1 CertID, no nonce) and
its own signed answer, made offline by `openssl ocsp -index ... -reqin
... -respout` exactly as a responder answers. The answers are laid out
as files at the requests' decoded paths (base64's `/` makes
directories), so an nginx origin serves each from `root` with nothing
but static files.

Making ten thousand answers takes a minute or two (one `openssl ocsp`
process per answer, as many at once as there are CPUs), so the set is
kept between runs in a cache directory, under a name made of the
generator's VERSION and the request count. It is made again when
VERSION changes, when its answers are within MIN_DAYS_LEFT of their
nextUpdate, or when a sample of it no longer verifies.
"""

import base64
import concurrent.futures
import json
import os
import random
import resource
import shutil
import subprocess
import time
from pathlib import Path

# Bump whenever what the generator makes changes: the cache is keyed on it.
VERSION = 1
ANSWER_DAYS = 30            # the answers' nextUpdate: thisUpdate + 30 days
MIN_DAYS_LEFT = 7           # a cached set closer to its nextUpdate is remade
REVOKED_EVERY = 50          # one certificate in 50 is revoked

# The CAs, in the shapes real responders have. `signer` None: the CA signs
# its answers itself and includes no certificate (as the public CAs do);
# otherwise a delegated OCSP signing certificate, included in every answer
# (as AD CS does). The first CA's first certificate is the repeated
# workload's request: the shape the bench has always measured (RSA-4096
# root, RSA-2048 delegated signer, 16-byte serial, 83-byte request, an
# answer of about 1.77 KB).
CAS = (
    {"name": "R1", "key": "rsa:4096", "signer": "rsa:2048", "serial": 16,
     "subject": "/C=US/O=ocspgate bench PKI/OU=Certification Authority/"
                "CN=ocspgate bench Root CA R1",
     "signer_subject": "/C=US/O=ocspgate bench PKI/"
                       "CN=ocspgate bench OCSP Responder"},
    {"name": "R2", "key": "rsa:2048", "signer": None, "serial": 18,
     "subject": "/C=US/O=ocspgate bench PKI/CN=ocspgate bench Issuing CA R2"},
    {"name": "E1", "key": "ec:P-384", "signer": "ec:P-256", "serial": 16,
     "subject": "/C=DE/O=ocspgate bench Trust/CN=ocspgate bench ECC CA E1",
     "signer_subject": "/C=DE/O=ocspgate bench Trust/CN=E1 OCSP Signer"},
    {"name": "R3", "key": "rsa:2048", "signer": None, "serial": 20,
     "subject": "/DC=test/DC=corp/CN=ocspgate bench Enterprise CA R3"},
)

OPENSSL_CNF = """\
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
basicConstraints = critical,CA:FALSE
keyUsage = critical,digitalSignature
extendedKeyUsage = OCSPSigning
noCheck = ignored
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
"""


class SetError(RuntimeError):
    pass


def _run(argv, cwd=None, timeout=120):
    p = subprocess.run([str(a) for a in argv], cwd=cwd, capture_output=True,
                       text=True, timeout=timeout)
    if p.returncode != 0:
        raise SetError("%s failed (%d): %s" % (
            " ".join(map(str, argv[:3])), p.returncode,
            (p.stderr or p.stdout)[-1500:]))
    return p


def _keyopts(spec):
    """openssl req -newkey arguments for "rsa:BITS" or "ec:CURVE"."""
    kind, arg = spec.split(":")
    if kind == "rsa":
        return ["-newkey", spec]
    return ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:" + arg]


# ---------------------------------------------------------------- DER

def _der_len(n):
    if n < 0x80:
        return bytes([n])
    b = n.to_bytes((n.bit_length() + 7) // 8, "big")
    return bytes([0x80 | len(b)]) + b


def _tlv(tag, content):
    return bytes([tag]) + _der_len(len(content)) + content


def _items(buf):
    """The TLVs of a DER byte string: a list of (tag, content)."""
    out, i = [], 0
    while i < len(buf):
        tag, n = buf[i], buf[i + 1]
        i += 2
        if n & 0x80:
            k = n & 0x7F
            n = int.from_bytes(buf[i:i + k], "big")
            i += k
        out.append((tag, buf[i:i + n]))
        i += n
    return out


def _certid_parts(req):
    """(hashAlgorithm TLV, issuerNameHash, issuerKeyHash) of the one CertID
    in an OCSPRequest made by openssl (no nonce, no extensions)."""
    body = req
    for _ in range(4):      # OCSPRequest, TBSRequest, requestList, Request
        (tag, body), = _items(body)
        if tag != 0x30:
            raise SetError("unexpected OCSP request layout")
    (_, certid), = _items(body)
    alg, name_hash, key_hash, serial = _items(certid)
    return _tlv(alg[0], alg[1]), name_hash[1], key_hash[1]


def request_der(parts, serial):
    """The DER OCSPRequest for one certificate: one SHA-1 CertID, no
    nonce, no extensions (what Windows CryptoAPI sends)."""
    alg, name_hash, key_hash = parts
    certid = _tlv(0x30, alg + _tlv(0x04, name_hash) + _tlv(0x04, key_hash)
                  + _tlv(0x02, serial))
    return _tlv(0x30, _tlv(0x30, _tlv(0x30, _tlv(0x30, certid))))


def cryptoapi_path(req):
    """The GET path Windows CryptoAPI sends: base64, + / = percent-encoded."""
    b = base64.b64encode(req).decode()
    return "/ocsp/" + (b.replace("+", "%2B").replace("/", "%2F")
                       .replace("=", "%3D"))


def file_path(req):
    """Where the origin finds the answer: the decoded GET path."""
    return "ocsp/" + base64.b64encode(req).decode()


# ---------------------------------------------------------------- the set

class OcspSet:
    """A generated set, as read from its manifest."""

    def __init__(self, root, manifest):
        self.root = root
        self.www = root / "www"             # the origin's document root
        self.m = manifest
        self.entries = manifest["entries"]
        self.cas = [root / "pki" / c["name"] / "ca.pem"
                    for c in manifest["cas"]]

    def answer(self, i):
        return (self.www / self.entries[i]["file"]).read_bytes()

    def request(self, i):
        b64 = self.entries[i]["file"][len("ocsp/"):]
        return base64.b64decode(b64)

    def samples(self):
        """Entries for verification: the first of each CA (the repeated
        workload's is entry 0) and the first revoked one."""
        picked, seen = [], set()
        for i, e in enumerate(self.entries):
            if e["ca"] not in seen:
                seen.add(e["ca"])
                picked.append(i)
        revoked = [i for i, e in enumerate(self.entries)
                   if e["status"] == "revoked"]
        return picked + revoked[:1]

    def check(self):
        """Each sample's answer verifies against its CA with openssl and
        says what the index says. Raises SetError."""
        for i in self.samples():
            e = self.entries[i]
            ca = self.cas[e["ca"]]
            p = subprocess.run(
                ["openssl", "ocsp", "-respin", str(self.www / e["file"]),
                 "-issuer", str(ca), "-serial", "0x" + e["serial"],
                 "-CAfile", str(ca)], capture_output=True, text=True,
                timeout=30)
            text = p.stdout + p.stderr
            if p.returncode != 0 or "Response verify OK" not in text or \
                    ("0x%s: %s" % (e["serial"], e["status"])) not in text:
                raise SetError("answer %d (%s) does not verify:\n%s"
                               % (i, e["file"], text[-1500:]))

    def describe(self):
        req = [len(self.request(i)) for i in range(len(self.entries))]
        ans = [e["answer_bytes"] for e in self.entries]
        cas = ", ".join("%s (%s%s, %d-byte serials)" % (
            c["name"], c["key"],
            ", delegated %s signer" % c["signer"] if c["signer"]
            else ", signed by the CA", c["serial"]) for c in self.m["cas"])
        took = "%.0f s" % self.m["generate_seconds"]
        if "generate_cpu_seconds" in self.m:
            took += " (%.0f CPU-seconds, load average %s)" % (
                self.m["generate_cpu_seconds"], self.m["load_average"])
        return ("%d distinct requests over %d CAs: %s; %d revoked; requests "
                "%d–%d B DER, answers %d–%d B (mean %.0f); made with `openssl "
                "ocsp -reqin/-respout`, one process per answer, %d at a time, "
                "on %s in %s"
                % (len(self.entries), len(self.m["cas"]), cas,
                   sum(e["status"] == "revoked" for e in self.entries),
                   min(req), max(req), min(ans), max(ans),
                   sum(ans) / len(ans), self.m.get("jobs", 2),
                   time.strftime("%Y-%m-%d", time.gmtime(self.m["created"])),
                   took))


def _make_ca(d, ca):
    d.mkdir(parents=True)
    (d / "openssl.cnf").write_text(OPENSSL_CNF)
    _run(["openssl", "req", "-x509", "-new", "-config", "openssl.cnf",
          "-extensions", "v3_ca"] + _keyopts(ca["key"]) +
         ["-nodes", "-keyout", "ca.key", "-out", "ca.pem", "-days", "3650",
          "-subj", ca["subject"]], cwd=d)
    if ca["signer"]:
        _run(["openssl", "req", "-new", "-config", "openssl.cnf"] +
             _keyopts(ca["signer"]) +
             ["-nodes", "-keyout", "signer.key", "-out", "signer.csr",
              "-subj", ca["signer_subject"]], cwd=d)
        _run(["openssl", "x509", "-req", "-in", "signer.csr", "-CA",
              "ca.pem", "-CAkey", "ca.key", "-set_serial", "0x7a01",
              "-days", "3650", "-extfile", "openssl.cnf", "-extensions",
              "v3_ocsp", "-out", "signer.pem"], cwd=d)


def _draw(n_per_ca, seed):
    """Random serials for every CA. Returns [(ca index, serial bytes)]
    in a shuffled order, so that consecutive requests mix the CAs."""
    rng = random.Random(seed)
    out = []
    for ci, ca in enumerate(CAS):
        got = 0
        while got < n_per_ca[ci]:
            # Positive, minimal DER: a first byte of 0x10..0x7f (the index
            # then holds the serial's hex digits as openssl prints them).
            s = bytes([rng.randrange(0x10, 0x80)]) + \
                rng.getrandbits(8 * (ca["serial"] - 1)).to_bytes(
                    ca["serial"] - 1, "big")
            out.append((ci, s))
            got += 1
    rng.shuffle(out)
    return out


def _fits(path, files, dirs):
    """Whether the origin can store an answer at `path` next to those at
    `files` (whose directories are `dirs`): no empty segment (base64's
    `//`, or a `/` first or last) and no path that is another's
    directory. Records it when it can."""
    segs = path.split("/")
    if any(not s for s in segs) or path in files or path in dirs:
        return False
    prefixes = ["/".join(segs[:k]) for k in range(1, len(segs))]
    if any(p in files for p in prefixes):
        return False
    files.add(path)
    dirs.update(prefixes)
    return True


def _cpu_seconds():
    """CPU time of the child processes waited for so far."""
    ru = resource.getrusage(resource.RUSAGE_CHILDREN)
    return ru.ru_utime + ru.ru_stime


def _generate(root, count, say):
    t0, cpu0 = time.monotonic(), _cpu_seconds()
    pki = root / "pki"
    per_ca = [count // len(CAS) + (1 if i < count % len(CAS) else 0)
              for i in range(len(CAS))]
    say("making the distinct set: %d CAs, %d requests (one `openssl ocsp` "
        "per answer; kept for later runs)" % (len(CAS), count))
    parts = []
    for ca in CAS:
        _make_ca(pki / ca["name"], ca)
    drawn = _draw(per_ca, "ocspgate-bench-%d" % VERSION)
    files, dirs, entries, seen = set(), set(), [], set()
    rng = random.Random("status-%d" % VERSION)
    for ci, ca in enumerate(CAS):
        d = pki / ca["name"]
        # openssl's own request for a first serial: the CertID's hashes
        # come from it, and our encoder must give the same bytes.
        first = next(s for c, s in drawn if c == ci)
        _run(["openssl", "ocsp", "-issuer", "ca.pem", "-serial",
              "0x" + first.hex(), "-no_nonce", "-reqout", "template.der"],
             cwd=d)
        tmpl = (d / "template.der").read_bytes()
        parts.append(_certid_parts(tmpl))
        if request_der(parts[ci], first) != tmpl:
            raise SetError("the request encoder disagrees with openssl")
    for ci, s in drawn:
        req = request_der(parts[ci], s)
        path = file_path(req)
        if s in seen or not _fits(path, files, dirs):
            continue        # replaced below
        seen.add(s)
        entries.append({"ca": ci, "serial": s.hex().upper(), "file": path,
                        "path": cryptoapi_path(req),
                        "status": "revoked" if rng.randrange(REVOKED_EVERY)
                        == 0 else "good"})
    # Serials dropped for their paths are replaced from a second stream.
    extra = random.Random("extra-%d" % VERSION)
    for ci, ca in enumerate(CAS):
        while sum(e["ca"] == ci for e in entries) < per_ca[ci]:
            s = bytes([extra.randrange(0x10, 0x80)]) + \
                extra.getrandbits(8 * (ca["serial"] - 1)).to_bytes(
                    ca["serial"] - 1, "big")
            req = request_der(parts[ci], s)
            path = file_path(req)
            if s in seen or not _fits(path, files, dirs):
                continue
            seen.add(s)
            entries.insert(extra.randrange(len(entries) + 1), {
                "ca": ci, "serial": s.hex().upper(), "file": path,
                "path": cryptoapi_path(req), "status": "good"})
    # The repeated workload's request is the first CA's first certificate,
    # good; it leads the list.
    lead = next(i for i, e in enumerate(entries)
                if e["ca"] == 0 and e["status"] == "good")
    entries.insert(0, entries.pop(lead))
    revoked_at = time.strftime("%y%m%d%H%M%SZ", time.gmtime(time.time()
                                                            - 86400 * 30))
    for ci, ca in enumerate(CAS):
        lines = []
        for k, e in enumerate(entries):
            if e["ca"] != ci:
                continue
            if e["status"] == "revoked":
                lines.append("R\t491231235959Z\t%s,keyCompromise\t%s\t"
                             "unknown\t/CN=cert-%d.%s.bench.test\n"
                             % (revoked_at, e["serial"], k, ca["name"]))
            else:
                lines.append("V\t491231235959Z\t\t%s\tunknown\t"
                             "/CN=cert-%d.%s.bench.test\n"
                             % (e["serial"], k, ca["name"]))
        (pki / ca["name"] / "index.txt").write_text("".join(lines))
        (pki / ca["name"] / "index.txt.attr").write_text(
            "unique_subject = no\n")
    reqdir = root / "requests"
    reqdir.mkdir()
    www = root / "www"
    for k, e in enumerate(entries):
        (reqdir / ("%d.der" % k)).write_bytes(request_der(
            parts[e["ca"]], bytes.fromhex(e["serial"])))
        (www / e["file"]).parent.mkdir(parents=True, exist_ok=True)

    def answer(k):
        e = entries[k]
        ca = CAS[e["ca"]]
        d = pki / ca["name"]
        signer = ["-rsigner", "signer.pem", "-rkey", "signer.key"] \
            if ca["signer"] else ["-rsigner", "ca.pem", "-rkey", "ca.key",
                                  "-resp_no_certs"]
        _run(["openssl", "ocsp", "-index", "index.txt", "-CA", "ca.pem"] +
             signer + ["-reqin", reqdir / ("%d.der" % k), "-respout",
                       www / e["file"], "-ndays", str(ANSWER_DAYS)], cwd=d)

    done, last = 0, time.monotonic()
    jobs = os.cpu_count() or 2
    with concurrent.futures.ThreadPoolExecutor(jobs) as ex:
        for f in concurrent.futures.as_completed(
                [ex.submit(answer, k) for k in range(len(entries))]):
            f.result()
            done += 1
            if time.monotonic() - last > 15:
                last = time.monotonic()
                say("distinct set: %d of %d answers" % (done, len(entries)))
    shutil.rmtree(reqdir)
    for e in entries:
        e["answer_bytes"] = (www / e["file"]).stat().st_size
    for p in [root] + [p for p in root.rglob("*")]:
        p.chmod(0o755 if p.is_dir() else 0o644)
    now = time.time()
    return {"version": VERSION, "count": len(entries), "created": now,
            "jobs": jobs,
            "next_update": now + ANSWER_DAYS * 86400,
            "generate_seconds": round(time.monotonic() - t0, 1),
            "generate_cpu_seconds": round(_cpu_seconds() - cpu0, 1),
            "load_average": "%.2f" % os.getloadavg()[0],
            "cas": [{"name": c["name"], "key": c["key"],
                     "signer": c["signer"], "serial": c["serial"]}
                    for c in CAS],
            "entries": entries}


def prepare(cache_dir, count, say, regenerate=False):
    """The set of `count` requests under cache_dir (made there if it is
    missing, stale or broken); returns an OcspSet. Raises SetError."""
    cache_dir = Path(cache_dir)
    cache_dir.mkdir(parents=True, exist_ok=True)
    root = cache_dir / ("ocsp-set-v%d-n%d" % (VERSION, count))
    manifest = root / "manifest.json"
    if manifest.exists() and not regenerate:
        try:
            s = OcspSet(root, json.loads(manifest.read_text()))
            left = (s.m["next_update"] - time.time()) / 86400
            if s.m["version"] != VERSION or s.m["count"] != count:
                raise SetError("another generator's set")
            if left < MIN_DAYS_LEFT:
                raise SetError("its answers expire in %.1f days" % left)
            s.check()
            say("distinct set: %d requests from the cache (made %s)" % (
                count, time.strftime("%Y-%m-%d %H:%M",
                                     time.gmtime(s.m["created"]))))
            return s
        except (SetError, OSError, ValueError, KeyError) as e:
            say("distinct set: making it again (%s)" % str(e)[:200])
    tmp = cache_dir / ("%s.tmp-%d" % (root.name, os.getpid()))
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir()
    try:
        m = _generate(tmp, count, say)
        (tmp / "manifest.json").write_text(json.dumps(m))
        s = OcspSet(tmp, m)
        s.check()
        old = cache_dir / ("%s.old-%d" % (root.name, os.getpid()))
        if root.exists():
            root.rename(old)
        tmp.rename(root)
        shutil.rmtree(old, ignore_errors=True)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    say("distinct set: made in %.0f s" % m["generate_seconds"])
    return OcspSet(root, m)
