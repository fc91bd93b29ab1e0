/*
 * What certificates, CRLs and signatures in an answer may carry: the
 * extensions RFC 5280 and the certificate-status world define (and real
 * CAs and Windows use), each decodable and bounded; unknown ones small,
 * few and counted; signatures whose length fits their algorithm.
 * Pure: no I/O, no clock, no globals. OpenSSL's error queue is left as
 * it was found.
 */
#ifndef OCSPGATE_PKIX_H
#define OCSPGATE_PKIX_H

#include <stdbool.h>
#include <stddef.h>

#include <openssl/evp.h>
#include <openssl/x509.h>

#define PKIX_KNOWN_EXT_MAX     16384 /* bytes of a known extension's value */
#define PKIX_UNKNOWN_EXT_MAX   256   /* bytes of an unknown one's value */
#define PKIX_UNKNOWN_EXT_COUNT 4     /* unknown ones per certificate or CRL */
#define PKIX_CERT_MAX_BYTES    32768 /* one DER certificate */

/*
 * Checks the extensions of certificate <x>: no OID twice; a known one
 * (RFC 5280 4.2, CT, OCSP no-check, TLS feature, qcStatements, Netscape,
 * Microsoft's CA and template extensions, and a few older ones the root
 * programs still carry) of at most PKIX_KNOWN_EXT_MAX bytes that decodes
 * by its definition to exactly its bytes when OpenSSL knows it, else is
 * whole DER; an unknown one, or a known one that does not decode so, of
 * at most PKIX_UNKNOWN_EXT_MAX bytes, at most PKIX_UNKNOWN_EXT_COUNT of
 * them, counted in *unknown (which is added to, not reset).
 * Returns NULL, or a short static text of the rule broken.
 */
const char *pkix_cert_extensions(const X509 *x, unsigned *unknown);

/*
 * The same for CRL <crl>: the CRL extensions of RFC 5280 5.2 and
 * Microsoft's (CA version, next publish, self CDP, virtual base), and
 * on each entry those of 5.3 (reason, invalidity date, certificate
 * issuer, hold instruction); unknown ones as above, for the CRL and for
 * each entry.
 */
const char *pkix_crl_extensions(const X509_CRL *crl, unsigned *unknown);

/* The kinds of public keys whose signatures are judged. */
enum pkix_key_type {
	PKIX_KEY_UNKNOWN = 0,
	PKIX_KEY_RSA, /* rsaEncryption or RSASSA-PSS */
	PKIX_KEY_EC,
	PKIX_KEY_DSA,
	PKIX_KEY_ED25519,
	PKIX_KEY_ED448
};

/* What a signature's length depends on. */
struct pkix_key {
	enum pkix_key_type type;
	size_t bytes; /* RSA: modulus octets; EC: order octets; else 0 */
};

/* A run of bytes inside a certificate's DER. */
struct pkix_span {
	const unsigned char *p;
	size_t len;
};

/*
 * A certificate read without OpenSSL's certificate and key decoders
 * (which cost tens of microseconds for the key alone): spans into its
 * DER and the facts the OCSP signer rules need.
 */
struct pkix_cert {
	struct pkix_span der;    /* the whole certificate */
	struct pkix_span issuer; /* Name TLVs */
	struct pkix_span subject;
	struct pkix_span key_bits; /* subjectPublicKey's value, its key */
	struct pkix_span spki;     /* SubjectPublicKeyInfo TLV */
	struct pkix_key key;
	unsigned char ski[64]; /* subjectKeyIdentifier, if any */
	size_t ski_len;
	bool ca;           /* basicConstraints cA */
	bool ocsp_signing; /* extendedKeyUsage holds id-kp-OCSPSigning */
};

/*
 * Checks that signature <sig> fits algorithm <alg>: a known signature
 * algorithm with the parameters it takes (RSA PKCS#1 v1.5 with MD2, MD5,
 * SHA-1 or SHA-2, RSASSA-PSS, ECDSA and DSA with SHA-1/2, Ed25519,
 * Ed448), no unused bits, and a length the algorithm produces: for RSA
 * the key's modulus size, or without a known key 128 to 1024 octets in
 * steps of 8; an ECDSA or DSA value as one DER SEQUENCE of two positive
 * minimal INTEGERs no longer than the key's order (66 octets without a
 * known key); 64 and 114 octets for Ed25519 and Ed448. <key> may be
 * NULL or of type PKIX_KEY_UNKNOWN; a known one must be of the
 * algorithm's type. Returns NULL, or a short static text.
 */
const char *pkix_signature_fits(const X509_ALGOR *alg,
    const ASN1_BIT_STRING *sig, const struct pkix_key *key);

/*
 * pkix_signature_fits() read from the DER: <alg> (<alg_len> bytes) is
 * the content of a signature AlgorithmIdentifier whose parameters are
 * absent, NULL or a SEQUENCE, <sig> (<sig_len> bytes) the content of a
 * BIT STRING as OpenSSL encodes it (the unused-bits octet, then the
 * value). Returns NULL, or a short static text.
 */
const char *pkix_signature_fits_der(const unsigned char *alg, size_t alg_len,
    const unsigned char *sig, size_t sig_len, const struct pkix_key *key);

/* The type and size of the key of decoded certificate <x>. */
void pkix_key_of(const X509 *x, struct pkix_key *key);

/*
 * Checks the key of decoded certificate <x> as pkix_cert_parse() does:
 * no larger than its algorithm makes it (RSA up to 8192 bits with an
 * exponent of at most 8 octets, an EC point of its curve, EdDSA's fixed
 * sizes, a key of another algorithm at most 1 KiB). Returns NULL, or a
 * short static text of the rule broken.
 */
const char *pkix_cert_key(const X509 *x);

/*
 * Reads <der> (<len> bytes) as one certificate of at most
 * PKIX_CERT_MAX_BYTES in DER (every length minimal, nothing after it)
 * into <c>, by hand: its names, key, basic constraints and extended key
 * usage. The version is absent (v1) or 1 or 2, the serial a minimal
 * INTEGER, names and times ones OpenSSL decodes, unique identifiers
 * BIT STRINGs, the key as pkix_cert_key() says; its extensions checked as
 * pkix_cert_extensions() does (unknown ones counted in *unknown); its
 * signature's shape (against its own key when it is self-issued).
 * Returns NULL, or a short static text.
 */
const char *pkix_cert_parse(const unsigned char *der, size_t len,
    struct pkix_cert *c, unsigned *unknown);

/*
 * The hash with <md> of <c>'s subject name and of its key, as a CertID
 * computes its issuer's (RFC 6960 4.1.1). Returns 0 with <name_hash> and
 * <key_hash> (EVP_MAX_MD_SIZE each) and *len set, or -1.
 */
int pkix_issuer_hashes(const struct pkix_cert *c, const EVP_MD *md,
    unsigned char *name_hash, unsigned char *key_hash, unsigned *len);

#define PKIX_SHA1_LEN         20
#define PKIX_JUDGED_DEPTH_MAX 64

/*
 * A certificate as pkix_cert_judge() remembers it: pkix_cert_parse()'s
 * verdict, what it read, the unknown extensions it counted, and when it
 * passed (<hashed>) the SHA-1 hashes the OCSP signer rules compare (of
 * the key's BIT STRING value, of the subject and of the issuer Name
 * TLVs).
 */
struct pkix_judged {
	const char *why;
	unsigned unknown;
	int der_depth; /* der_depth() of the certificate's bytes */
	bool hashed;
	struct pkix_cert c;
	unsigned char key_sha1[PKIX_SHA1_LEN];
	unsigned char subject_sha1[PKIX_SHA1_LEN];
	unsigned char issuer_sha1[PKIX_SHA1_LEN];
};

struct memo;

/*
 * pkix_cert_parse() of <der> (<len> bytes), remembered by its exact bytes
 * in <memo> (NULL: none; its values must be sizeof(struct pkix_judged)):
 * a responder's certificate comes with each of its answers, and is read
 * once. Fills <out> (its spans into <der>); the unknown extensions are in
 * out->unknown, not added anywhere, and the bytes' nesting in
 * out->der_depth (PKIX_JUDGED_DEPTH_MAX at most). Returns out->why.
 */
const char *pkix_cert_judge(const unsigned char *der, size_t len,
    struct memo *memo, struct pkix_judged *out);

/*
 * True when the value of <ext> decodes by its definition, if OpenSSL
 * has one, to exactly its bytes and encodes back to them; else when it
 * is whole DER.
 */
bool pkix_extension_decodes(const X509_EXTENSION *ext);

#endif
