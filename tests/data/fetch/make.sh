#!/bin/sh
# Regenerates the fetch fixtures and the fetch fuzz corpus with the
# openssl command line, so that the tests also see what the real tools
# write: a CA, a CRL from `openssl ca -gencrl`, a certs-only PKCS#7 from
# `openssl crl2pkcs7 -nocrl`, and a signed PKCS#7 from `openssl smime`.
# Run from anywhere; needs openssl(1). Outputs are small and checked in.
set -eu

here=$(cd "$(dirname "$0")" && pwd)
corpus="$here/../../fuzz/corpus/fetch"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cd "$tmp"

# The CA: fixed name and serial, so that the unit test can check facts.
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
    -keyout ca.key -out ca.pem -subj "/O=ocspgate/CN=fetch fixture CA" \
    -set_serial 0x1234 -days 36500 2>/dev/null

# A CRL revoking two serials, cRLNumber 0x1000.
mkdir -p certs
: >index.txt
echo 1000 >crlnumber
cat >ca.cnf <<'CNF'
[ca]
default_ca = fixture
[fixture]
dir = .
database = index.txt
crlnumber = crlnumber
certificate = ca.pem
private_key = ca.key
default_md = sha256
default_crl_days = 36500
new_certs_dir = certs
policy = any
crl_extensions = crl_ext
[any]
commonName = supplied
[crl_ext]
authorityKeyIdentifier = keyid:always
CNF
for serial in 1001 1002; do
	openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
	    -keyout leaf.key -out leaf.csr -subj "/CN=leaf $serial" 2>/dev/null
	openssl x509 -req -in leaf.csr -CA ca.pem -CAkey ca.key \
	    -set_serial "0x$serial" -days 1 -out "leaf$serial.pem" 2>/dev/null
	openssl ca -config ca.cnf -revoke "leaf$serial.pem" \
	    -crl_reason keyCompromise 2>/dev/null >/dev/null
done
openssl ca -config ca.cnf -gencrl -out crl.pem 2>/dev/null
openssl crl -in crl.pem -outform DER -out crl.der

openssl crl2pkcs7 -nocrl -certfile ca.pem -outform DER -out certs.p7c
openssl crl2pkcs7 -nocrl -certfile ca.pem -out certs.p7c.pem
printf 'hello\n' >msg.txt
openssl smime -sign -in msg.txt -signer ca.pem -inkey ca.key -nodetach \
    -outform DER -out signed.p7

cp crl.der "$here/crl.der"
cp crl.pem "$here/crl.pem"
cp ca.pem "$here/ca.pem"
cp certs.p7c "$here/certs.p7c"
cp certs.p7c.pem "$here/certs.p7c.pem"
cp signed.p7 "$here/signed.p7"

# Corpus: the first byte picks the inspector (see fuzz_fetch.c).
mkdir -p "$corpus"
seed() {
	{ printf "\\$1"; cat "$2"; } >"$corpus/$3"
}
openssl x509 -in ca.pem -outform DER -out ca.der
seed 000 crl.der crl.der
seed 000 crl.pem crl.pem
seed 001 ca.der cert.der
seed 001 ca.pem cert.pem
seed 001 certs.p7c certs.p7c
seed 001 certs.p7c.pem certs.p7c.pem
# A bare 36-byte cabinet header whose cbCabinet is 36.
printf 'MSCF\000\000\000\000\044\000\000\000\000\000\000\000' >cab
printf '\054\000\000\000\000\000\000\000\003\001\001\000\000\000' >>cab
printf '\000\000\000\000\000\000' >>cab
seed 002 cab authrootstl.cab
seed 004 signed.p7 authroot.stl
printf '1D9A8B2F4C6E0A13\r\n' >seq.txt
seed 005 seq.txt authrootseq.txt
printf '/msdownload/update/v3/static/trustedr/en/authrootstl.cab' >path
seed 006 path path
