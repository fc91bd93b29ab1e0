#!/bin/sh
# Makes a throwaway PKI for the README walk-through in directory $1:
# a CA, an OCSP signing certificate, and two leaf certificates (one good,
# one revoked) listed in an `openssl ca` style index for `openssl ocsp`.
set -eu
dir=${1:?usage: pki.sh DIR}
mkdir -p "$dir"
cd "$dir"

cat > ext.cnf <<'CNF'
[ocsp]
basicConstraints = CA:FALSE
extendedKeyUsage = OCSPSigning
[leaf]
basicConstraints = CA:FALSE
authorityInfoAccess = OCSP;URI:http://ocsp.demo.test:8888/
CNF

openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
    -keyout ca.key -out ca.pem -subj "/CN=Demo Root CA" -days 30 \
    -addext basicConstraints=critical,CA:TRUE \
    -addext keyUsage=critical,keyCertSign,cRLSign 2>/dev/null
: > index.txt
for name in ocsp good revoked; do
	openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
	    -keyout "$name.key" -out "$name.csr" -subj "/CN=$name.demo.test" \
	    2>/dev/null
	ext=leaf
	[ "$name" = ocsp ] && ext=ocsp
	openssl x509 -req -in "$name.csr" -CA ca.pem -CAkey ca.key \
	    -set_serial "0x$(openssl rand -hex 8)" -days 30 -out "$name.pem" \
	    -extfile ext.cnf -extensions "$ext" 2>/dev/null
	serial=$(openssl x509 -in "$name.pem" -noout -serial | cut -d= -f2)
	case $name in
	good) printf 'V\t301231000000Z\t\t%s\tunknown\t/CN=%s\n' \
	    "$serial" "$name.demo.test" >> index.txt ;;
	revoked) printf 'R\t301231000000Z\t260101000000Z,keyCompromise\t%s\tunknown\t/CN=%s\n' \
	    "$serial" "$name.demo.test" >> index.txt ;;
	esac
done
rm -f ./*.csr ext.cnf
echo "demo PKI in $dir: ca.pem ocsp.pem good.pem revoked.pem index.txt"
