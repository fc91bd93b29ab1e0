#!/bin/sh
# Regenerates the inspection-cost fixtures the way bench/run makes its
# PKI (bench/bench.py make_pki): an RSA-4096 root, an RSA-2048 OCSP
# signer and an RSA-2048 leaf with a 16-byte serial; `openssl ocsp
# -reqout -no_nonce` writes the request (83 bytes of DER, a SHA-1
# CertID, as Windows sends it) and `openssl ocsp -index ... -respout`
# the answer with the signer's certificate (about 1.77 KB). Also the
# CryptoAPI GET path of the request (base64 with + / = percent-encoded),
# as the bench sends it. Run from anywhere; needs openssl(1) and
# python3. Outputs are small and checked in.
set -eu

here=$(cd "$(dirname "$0")" && pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cd "$tmp"

cat >openssl.cnf <<'CNF'
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
[v3_leaf]
basicConstraints = critical,CA:FALSE
keyUsage = critical,digitalSignature,keyEncipherment
extendedKeyUsage = serverAuth,clientAuth
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
authorityInfoAccess = OCSP;URI:http://127.0.0.1/ocsp
CNF

openssl req -x509 -new -config openssl.cnf -extensions v3_ca \
    -newkey rsa:4096 -nodes -keyout ca.key -out ca.pem -days 36500 \
    -subj "/C=US/O=ocspgate bench PKI/OU=Certification Authority/CN=ocspgate bench Root CA R1" \
    2>/dev/null
issue() {
	openssl req -new -config openssl.cnf -newkey rsa:2048 -nodes \
	    -keyout "$1.key" -out "$1.csr" -subj "$4" 2>/dev/null
	openssl x509 -req -in "$1.csr" -CA ca.pem -CAkey ca.key \
	    -set_serial "$3" -days 36500 -extfile openssl.cnf \
	    -extensions "$2" -out "$1.pem" 2>/dev/null
}
issue ocsp v3_ocsp 0x7a01 \
    "/C=US/O=ocspgate bench PKI/CN=ocspgate bench OCSP Responder"
issue leaf v3_leaf 0x0c5f3e2a91b7d4480f16a3e97b2d5c81 \
    "/C=US/O=ocspgate bench/CN=www.bench.test"
printf 'V\t491231235959Z\t\tC5F3E2A91B7D4480F16A3E97B2D5C81\tunknown\t/CN=www.bench.test\n' \
    >index.txt
echo "unique_subject = no" >index.txt.attr
openssl ocsp -issuer ca.pem -cert leaf.pem -no_nonce -reqout req.der \
    >/dev/null
openssl ocsp -index index.txt -rsigner ocsp.pem -rkey ocsp.key \
    -CA ca.pem -reqin req.der -respout resp.der -ndays 36500 >/dev/null
openssl ocsp -respin resp.der -issuer ca.pem -cert leaf.pem \
    -CAfile ca.pem 2>/dev/null | grep -q "leaf.pem: good"

cp req.der "$here/request.der"
cp resp.der "$here/response.der"
cp ca.pem "$here/ca.pem"
python3 -c '
import base64, sys
b = base64.b64encode(open("req.der", "rb").read()).decode()
for c, e in (("%", "%25"), ("+", "%2B"), ("/", "%2F"), ("=", "%3D")):
    b = b.replace(c, e)
sys.stdout.write("/" + b)' >"$here/request.get"
