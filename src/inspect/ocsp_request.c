/*
 * OCSP request inspection: a DER OCSPRequest, or the path of a GET request
 * carrying one, in; the facts the event log needs and a verdict out.
 * Pure: no I/O, no logging, no globals. OpenSSL's error queue is left as
 * it was found.
 */
#include <limits.h>
#include <string.h>

#include <openssl/asn1.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/objects.h>
#include <openssl/ocsp.h>
#include <openssl/x509.h>

#include "ocspgate/der.h"
#include "ocspgate/hex.h"
#include "ocspgate/ocsp_request.h"
#include "ocspgate/path_shape.h"

/* DER identifier octets this file looks at. */
#define DER_BOOLEAN      0x01
#define DER_OCTET_STRING 0x04
#define DER_NULL         0x05
#define DER_OID          0x06
#define DER_SEQUENCE     0x30
#define DER_CTX0         0xa0 /* [0] constructed: TBSRequest.version */
#define DER_CTX1         0xa1 /* [1] constructed: TBSRequest.requestorName */

/* OID content octets, compared byte for byte. */
static const unsigned char oid_sha1[] = {0x2b, 0x0e, 0x03, 0x02, 0x1a};
static const unsigned char oid_sha224[] = {
    0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x04};
static const unsigned char oid_sha256[] = {
    0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x01};
static const unsigned char oid_sha384[] = {
    0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x02};
static const unsigned char oid_sha512[] = {
    0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x03};

/* id-pkix-ocsp (1.3.6.1.5.5.7.48.1) arcs 2, 4, 8 and 7 (RFC 6960 4.4). */
static const unsigned char oid_nonce[] = {
    0x2b, 0x06, 0x01, 0x05, 0x05, 0x07, 0x30, 0x01, 0x02};
static const unsigned char oid_acceptable_responses[] = {
    0x2b, 0x06, 0x01, 0x05, 0x05, 0x07, 0x30, 0x01, 0x04};
static const unsigned char oid_pref_sig_algs[] = {
    0x2b, 0x06, 0x01, 0x05, 0x05, 0x07, 0x30, 0x01, 0x08};
static const unsigned char oid_service_locator[] = {
    0x2b, 0x06, 0x01, 0x05, 0x05, 0x07, 0x30, 0x01, 0x07};
/* id-pkix-ocsp-basic: the one response type RFC 6960 defines. */
static const unsigned char oid_ocsp_basic[] = {
    0x2b, 0x06, 0x01, 0x05, 0x05, 0x07, 0x30, 0x01, 0x01};

/* A DER encoding compared byte for byte. */
struct ocsp_request_bytes {
	const unsigned char *p;
	size_t len;
};
#define OCSP_BYTES(a)                                                          \
	{                                                                      \
		(a), sizeof(a)                                                 \
	}

/*
 * Signature AlgorithmIdentifiers a client may prefer (RFC 6960 4.4.7),
 * whole: RSA PKCS#1 v1.5 with SHA-1/2 (NULL or absent parameters),
 * ECDSA with SHA-1/2 and EdDSA (absent), RSASSA-PSS with SHA-256/384/512,
 * MGF1 of the same hash and a salt of the hash's length (RFC 4055).
 */
#define RSA_OID      0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01
#define ECDSA_OID(n) 0x06, (n), 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x04
#define SHA2_OID(k)                                                            \
	0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, (k)
#define PSS_PARAMS(k, salt)                                                    \
	0x30, 0x34, 0xa0, 0x0f, 0x30, 0x0d, SHA2_OID(k), 0x05, 0x00, 0xa1,     \
	    0x1c, 0x30, 0x1a, RSA_OID, 0x08, 0x30, 0x0d, SHA2_OID(k), 0x05,    \
	    0x00, 0xa2, 0x03, 0x02, 0x01, (salt)
static const unsigned char alg_rsa_sha1[] = {
    0x30, 0x0d, RSA_OID, 0x05, 0x05, 0x00};
static const unsigned char alg_rsa_sha1_np[] = {0x30, 0x0b, RSA_OID, 0x05};
static const unsigned char alg_rsa_sha256[] = {
    0x30, 0x0d, RSA_OID, 0x0b, 0x05, 0x00};
static const unsigned char alg_rsa_sha256_np[] = {0x30, 0x0b, RSA_OID, 0x0b};
static const unsigned char alg_rsa_sha384[] = {
    0x30, 0x0d, RSA_OID, 0x0c, 0x05, 0x00};
static const unsigned char alg_rsa_sha384_np[] = {0x30, 0x0b, RSA_OID, 0x0c};
static const unsigned char alg_rsa_sha512[] = {
    0x30, 0x0d, RSA_OID, 0x0d, 0x05, 0x00};
static const unsigned char alg_rsa_sha512_np[] = {0x30, 0x0b, RSA_OID, 0x0d};
static const unsigned char alg_rsa_sha224[] = {
    0x30, 0x0d, RSA_OID, 0x0e, 0x05, 0x00};
static const unsigned char alg_rsa_sha224_np[] = {0x30, 0x0b, RSA_OID, 0x0e};
static const unsigned char alg_ecdsa_sha1[] = {0x30, 0x09, ECDSA_OID(7), 0x01};
static const unsigned char alg_ecdsa_sha224[] = {
    0x30, 0x0a, ECDSA_OID(8), 0x03, 0x01};
static const unsigned char alg_ecdsa_sha256[] = {
    0x30, 0x0a, ECDSA_OID(8), 0x03, 0x02};
static const unsigned char alg_ecdsa_sha384[] = {
    0x30, 0x0a, ECDSA_OID(8), 0x03, 0x03};
static const unsigned char alg_ecdsa_sha512[] = {
    0x30, 0x0a, ECDSA_OID(8), 0x03, 0x04};
static const unsigned char alg_ed25519[] = {
    0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70};
static const unsigned char alg_ed448[] = {
    0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x71};
static const unsigned char alg_pss_sha256[] = {
    0x30, 0x41, RSA_OID, 0x0a, PSS_PARAMS(0x01, 0x20)};
static const unsigned char alg_pss_sha384[] = {
    0x30, 0x41, RSA_OID, 0x0a, PSS_PARAMS(0x02, 0x30)};
static const unsigned char alg_pss_sha512[] = {
    0x30, 0x41, RSA_OID, 0x0a, PSS_PARAMS(0x03, 0x40)};

static const struct ocsp_request_bytes ocsp_sig_algs[] = {
    OCSP_BYTES(alg_rsa_sha1),
    OCSP_BYTES(alg_rsa_sha1_np),
    OCSP_BYTES(alg_rsa_sha256),
    OCSP_BYTES(alg_rsa_sha256_np),
    OCSP_BYTES(alg_rsa_sha384),
    OCSP_BYTES(alg_rsa_sha384_np),
    OCSP_BYTES(alg_rsa_sha512),
    OCSP_BYTES(alg_rsa_sha512_np),
    OCSP_BYTES(alg_rsa_sha224),
    OCSP_BYTES(alg_rsa_sha224_np),
    OCSP_BYTES(alg_ecdsa_sha1),
    OCSP_BYTES(alg_ecdsa_sha224),
    OCSP_BYTES(alg_ecdsa_sha256),
    OCSP_BYTES(alg_ecdsa_sha384),
    OCSP_BYTES(alg_ecdsa_sha512),
    OCSP_BYTES(alg_ed25519),
    OCSP_BYTES(alg_ed448),
    OCSP_BYTES(alg_pss_sha256),
    OCSP_BYTES(alg_pss_sha384),
    OCSP_BYTES(alg_pss_sha512),
};

/*
 * Public-key AlgorithmIdentifiers a preference may name (certIdentifier):
 * RSA, RSASSA-PSS without parameters, EC on P-256/384/521, EdDSA.
 */
#define EC_KEY_OID 0x06, 0x07, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01
static const unsigned char key_rsa[] = {0x30, 0x0d, RSA_OID, 0x01, 0x05, 0x00};
static const unsigned char key_rsa_np[] = {0x30, 0x0b, RSA_OID, 0x01};
static const unsigned char key_pss[] = {0x30, 0x0b, RSA_OID, 0x0a};
static const unsigned char key_p256[] = {0x30, 0x13, EC_KEY_OID, 0x06, 0x08,
    0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07};
static const unsigned char key_p384[] = {
    0x30, 0x10, EC_KEY_OID, 0x06, 0x05, 0x2b, 0x81, 0x04, 0x00, 0x22};
static const unsigned char key_p521[] = {
    0x30, 0x10, EC_KEY_OID, 0x06, 0x05, 0x2b, 0x81, 0x04, 0x00, 0x23};

static const struct ocsp_request_bytes ocsp_key_algs[] = {
    OCSP_BYTES(key_rsa),
    OCSP_BYTES(key_rsa_np),
    OCSP_BYTES(key_pss),
    OCSP_BYTES(key_p256),
    OCSP_BYTES(key_p384),
    OCSP_BYTES(key_p521),
    OCSP_BYTES(alg_ed25519),
    OCSP_BYTES(alg_ed448),
};

struct ocsp_hash_info {
	const char *name;
	size_t len;
	const unsigned char *oid;
	size_t oid_len;
	const EVP_MD *(*md)(void);
};

static const struct ocsp_hash_info ocsp_hashes[OCSP_HASH_MAX] = {
    [OCSP_HASH_SHA1] = {"sha1", 20, oid_sha1, sizeof(oid_sha1), EVP_sha1},
    [OCSP_HASH_SHA224] = {"sha224", 28, oid_sha224, sizeof(oid_sha224),
        EVP_sha224},
    [OCSP_HASH_SHA256] = {"sha256", 32, oid_sha256, sizeof(oid_sha256),
        EVP_sha256},
    [OCSP_HASH_SHA384] = {"sha384", 48, oid_sha384, sizeof(oid_sha384),
        EVP_sha384},
    [OCSP_HASH_SHA512] = {"sha512", 64, oid_sha512, sizeof(oid_sha512),
        EVP_sha512},
};

struct ocsp_request_oid {
	const unsigned char *oid;
	size_t len;
};

/* Known requestExtensions, in this order. */
#define OCSP_REQUEST_EXT_NONCE    0
#define OCSP_REQUEST_EXT_ACCEPT   1
#define OCSP_REQUEST_EXT_PREF_SIG 2
static const struct ocsp_request_oid ocsp_request_exts[] = {
    {oid_nonce, sizeof(oid_nonce)},
    {oid_acceptable_responses, sizeof(oid_acceptable_responses)},
    {oid_pref_sig_algs, sizeof(oid_pref_sig_algs)},
};

/* Known singleRequestExtensions. */
static const struct ocsp_request_oid ocsp_request_single_exts[] = {
    {oid_service_locator, sizeof(oid_service_locator)},
};

static const char *const ocsp_flag_names[OCSP_FLAG_COUNT] = {
    "get_percent_encoded",
    "get_unescaped_slash",
    "get_space_as_plus",
    "get_double_slash",
    "get_url_safe_alphabet",
    "get_unpadded",
    "get_over_255_bytes",
    "multiple_certs",
    "requestor_name",
    "signed_request",
    "single_request_extensions",
    "nonce",
    "explicit_default_version",
    "hash_params_absent",
    "explicit_critical_false",
};

const char *
ocsp_hash_name(enum ocsp_hash h)
{
	if ((unsigned)h >= OCSP_HASH_MAX)
		return NULL;
	return ocsp_hashes[h].name;
}

size_t
ocsp_hash_len(enum ocsp_hash h)
{
	if ((unsigned)h >= OCSP_HASH_MAX)
		return 0;
	return ocsp_hashes[h].len;
}

int
ocsp_hash_from_oid(const unsigned char *oid, size_t len)
{
	for (int h = 0; h < OCSP_HASH_MAX; h++)
		if (len == ocsp_hashes[h].oid_len &&
		    memcmp(oid, ocsp_hashes[h].oid, len) == 0)
			return h;
	return -1;
}

const EVP_MD *
ocsp_hash_md(enum ocsp_hash h)
{
	if ((unsigned)h >= OCSP_HASH_MAX)
		return NULL;
	return ocsp_hashes[h].md();
}

const char *
ocsp_flag_name(unsigned bit)
{
	if (bit >= OCSP_FLAG_COUNT)
		return NULL;
	return ocsp_flag_names[bit];
}

/*
 * Checks the fields of TBSRequest that OpenSSL has no accessor for:
 * version and requestorName. <der> (<len> bytes) has already been found to
 * be the encoding OpenSSL gives the OCSPRequest it decoded. Returns NULL,
 * or the detail of the rule broken.
 */
static const char *
ocsp_request_check_tbs(const unsigned char *der, size_t len, unsigned *flags)
{
	static const unsigned char v1[] = {0x02, 0x01, 0x00};
	unsigned tag;
	size_t hlen, clen;

	/* OCSPRequest, then TBSRequest, then its first field. */
	for (int depth = 0; depth < 2; depth++) {
		if (der_header(der, len, &tag, &hlen, &clen) == -1 ||
		    tag != DER_SEQUENCE)
			return "not a DER OCSPRequest";
		der += hlen;
		len = clen;
	}
	if (der_header(der, len, &tag, &hlen, &clen) == -1)
		return "not a DER OCSPRequest";
	if (tag == DER_CTX0) {
		/*
		 * version is DEFAULT v1, which DER leaves out; OpenSSL
		 * re-encodes an explicit v1 as it came. Clients built on
		 * encoders that write defaults (asn1.js: the node "ocsp"
		 * package sets version 'v1') send it: a fixed five bytes,
		 * accepted and flagged.
		 */
		if (clen != sizeof(v1) || memcmp(der + hlen, v1, clen) != 0)
			return "version not v1";
		*flags |= OCSP_FLAG_EXPLICIT_DEFAULT_VERSION;
		der += hlen + clen;
		len -= hlen + clen;
		if (der_header(der, len, &tag, &hlen, &clen) == -1)
			return "not a DER OCSPRequest";
	}
	if (tag == DER_CTX1)
		*flags |= OCSP_FLAG_REQUESTOR_NAME;
	return NULL;
}

/*
 * True when the AlgorithmIdentifier that opens CertID <cid> has absent or
 * NULL parameters; absent ones (RFC 5754 allows both; the node "ocsp"
 * package sends no parameters) set *absent. OpenSSL's accessor gives only
 * the OID, so the CertID is re-encoded (as it came) and read here.
 */
static bool
ocsp_request_hash_params_ok(const OCSP_CERTID *cid, bool *absent)
{
	static const unsigned char null[] = {DER_NULL, 0x00};
	unsigned char *enc = NULL;
	const unsigned char *p;
	unsigned tag;
	size_t n, hlen, clen;
	int len;
	bool ok = false;

	if ((len = i2d_OCSP_CERTID(cid, &enc)) <= 0)
		return false;
	p = enc;
	n = (size_t)len;
	/* CertID, then AlgorithmIdentifier, then its OID. */
	for (int depth = 0; depth < 2; depth++) {
		if (der_header(p, n, &tag, &hlen, &clen) == -1 ||
		    tag != DER_SEQUENCE)
			goto done;
		p += hlen;
		n = clen;
	}
	if (der_header(p, n, &tag, &hlen, &clen) == -1 || tag != DER_OID)
		goto done;
	p += hlen + clen;
	n -= hlen + clen;
	ok = n == 0 || (n == sizeof(null) && memcmp(p, null, n) == 0);
	*absent = n == 0;
done:
	OPENSSL_free(enc);
	return ok;
}

/*
 * Checks one CertID and, if it passes, fills <out>. Returns NULL, or the
 * detail of the rule broken.
 */
static const char *
ocsp_request_check_cert_id(
    OCSP_CERTID *cid, struct ocsp_cert_id *out, unsigned *flags)
{
	ASN1_OCTET_STRING *name_hash, *key_hash;
	ASN1_OBJECT *alg;
	ASN1_INTEGER *serial;
	const unsigned char *oid, *s;
	size_t oid_len, s_len;
	bool absent = false;
	int h;

	if (cid == NULL ||
	    OCSP_id_get0_info(&name_hash, &alg, &key_hash, &serial, cid) != 1)
		return "not a DER OCSPRequest";
	oid = OBJ_get0_data(alg);
	oid_len = OBJ_length(alg);
	for (h = 0; h < OCSP_HASH_MAX; h++)
		if (oid != NULL && oid_len == ocsp_hashes[h].oid_len &&
		    memcmp(oid, ocsp_hashes[h].oid, oid_len) == 0)
			break;
	if (h == OCSP_HASH_MAX)
		return "unknown hash algorithm";
	if (!ocsp_request_hash_params_ok(cid, &absent))
		return "hash algorithm parameters not absent or NULL";
	if (absent)
		*flags |= OCSP_FLAG_HASH_PARAMS_ABSENT;
	if ((size_t)ASN1_STRING_length(name_hash) != ocsp_hashes[h].len ||
	    (size_t)ASN1_STRING_length(key_hash) != ocsp_hashes[h].len)
		return "hash length does not match algorithm";

	/*
	 * OpenSSL keeps an INTEGER as sign (the type) and magnitude (the
	 * data), so the DER sign octet is already gone. Leading zeros are
	 * skipped anyway; only zero itself can have one.
	 */
	if (ASN1_STRING_type(serial) == V_ASN1_NEG_INTEGER)
		return "serial number not positive";
	s = ASN1_STRING_get0_data(serial);
	s_len = (size_t)ASN1_STRING_length(serial);
	while (s_len > 0 && s[0] == 0) {
		s++;
		s_len--;
	}
	if (s_len == 0)
		return "serial number not positive";
	if (s_len > OCSP_SERIAL_MAX_BYTES)
		return "serial number over 20 octets";

	memset(out, 0, sizeof(*out));
	out->hash = (enum ocsp_hash)h;
	out->hash_len = ocsp_hashes[h].len;
	memcpy(out->name_hash, ASN1_STRING_get0_data(name_hash), out->hash_len);
	memcpy(out->key_hash, ASN1_STRING_get0_data(key_hash), out->hash_len);
	memcpy(out->serial, s, s_len);
	out->serial_len = s_len;
	return NULL;
}

/*
 * Index of extension <ext>'s OID in <known> (<n> entries), or -1.
 */
static int
ocsp_request_ext_index(
    X509_EXTENSION *ext, const struct ocsp_request_oid *known, size_t n)
{
	const ASN1_OBJECT *obj;
	const unsigned char *oid;
	size_t len;

	if (ext == NULL || (obj = X509_EXTENSION_get_object(ext)) == NULL ||
	    (oid = OBJ_get0_data(obj)) == NULL)
		return -1;
	len = OBJ_length(obj);
	for (size_t i = 0; i < n; i++)
		if (len == known[i].len && memcmp(oid, known[i].oid, len) == 0)
			return (int)i;
	return -1;
}

/*
 * Checks a nonce extension's value (extnValue's content, <n> bytes at
 * <p>): it must hold a DER OCTET STRING (RFC 8954, RFC 9654) whose value
 * is 1..<max> octets. Records what it finds in <f>. Returns NULL, or the
 * detail of the rule broken.
 */
static const char *
ocsp_request_check_nonce(
    const unsigned char *p, size_t n, size_t max, struct ocsp_request_facts *f)
{
	unsigned tag;
	size_t hlen, clen;

	/*
	 * Some old clients put the raw nonce in extnValue. Such a value
	 * cannot be told apart from an encoded one reliably, so it is
	 * refused.
	 */
	if (der_header(p, n, &tag, &hlen, &clen) == -1 ||
	    tag != DER_OCTET_STRING || hlen + clen != n)
		return "nonce not a DER OCTET STRING";
	f->has_nonce = true;
	f->nonce_len = clen;
	f->flags |= OCSP_FLAG_NONCE;
	/* Kept to compare with the response's nonce. */
	if (clen <= sizeof(f->nonce))
		memcpy(f->nonce, p + hlen, clen);
	if (clen == 0)
		return "nonce empty";
	if (clen > max)
		return "nonce over max_nonce_bytes";
	return NULL;
}

/*
 * The content of an extension's value (<len> bytes at <d>): one DER TLV
 * of tag <want> filling it. Returns NULL with *p and *n set to its
 * content, or the detail of the rule broken (<what>).
 */
static const char *
ocsp_request_ext_value(const unsigned char *d, size_t len, unsigned want,
    const unsigned char **p, size_t *n, const char *what)
{
	unsigned tag;
	size_t hlen, clen;

	if (der_header(d, len, &tag, &hlen, &clen) == -1 || tag != want ||
	    hlen + clen != len)
		return what;
	*p = d + hlen;
	*n = clen;
	return NULL;
}

/* True when the <n> bytes at <p> are one of the <k> <known> encodings. */
static bool
ocsp_request_known_bytes(const unsigned char *p, size_t n,
    const struct ocsp_request_bytes *known, size_t k)
{
	for (size_t i = 0; i < k; i++)
		if (n == known[i].len && memcmp(p, known[i].p, n) == 0)
			return true;
	return false;
}

/*
 * acceptableResponses (RFC 6960 4.4.3): a SEQUENCE OF 1..4 response-type
 * OIDs, each known (id-pkix-ocsp-basic) and none repeated. Returns NULL,
 * or the detail of the rule broken.
 */
static const char *
ocsp_request_check_accept(const unsigned char *v, size_t vlen)
{
	static const char bad[] = "acceptable responses not known OIDs";
	const unsigned char *p;
	unsigned tag, seen = 0;
	size_t n, hlen, clen, count = 0;

	if (ocsp_request_ext_value(v, vlen, DER_SEQUENCE, &p, &n, bad) != NULL)
		return bad;
	while (n > 0) {
		if (der_header(p, n, &tag, &hlen, &clen) == -1 ||
		    tag != DER_OID || ++count > OCSP_ACCEPT_MAX_TYPES)
			return bad;
		if (clen != sizeof(oid_ocsp_basic) ||
		    memcmp(p + hlen, oid_ocsp_basic, clen) != 0 || seen++ > 0)
			return bad;
		p += hlen + clen;
		n -= hlen + clen;
	}
	return count == 0 ? bad : NULL;
}

/*
 * preferredSignatureAlgorithms (RFC 6960 4.4.7): a SEQUENCE OF 1..8
 * SEQUENCE { sigIdentifier, certIdentifier OPTIONAL }, each
 * AlgorithmIdentifier one of the known encodings, no preference
 * repeated. Returns NULL, or the detail of the rule broken.
 */
static const char *
ocsp_request_check_pref_sig(const unsigned char *v, size_t vlen)
{
	static const char bad[] =
	    "preferred signature algorithms not known algorithms";
	const size_t nsig = sizeof(ocsp_sig_algs) / sizeof(ocsp_sig_algs[0]);
	const size_t nkey = sizeof(ocsp_key_algs) / sizeof(ocsp_key_algs[0]);
	const unsigned char *p, *prev[OCSP_PREF_SIG_MAX], *q;
	size_t prev_len[OCSP_PREF_SIG_MAX];
	unsigned tag;
	size_t n, hlen, clen, m, h2, c2, count = 0;

	if (ocsp_request_ext_value(v, vlen, DER_SEQUENCE, &p, &n, bad) != NULL)
		return bad;
	while (n > 0) {
		if (der_header(p, n, &tag, &hlen, &clen) == -1 ||
		    tag != DER_SEQUENCE || count == OCSP_PREF_SIG_MAX)
			return bad;
		for (size_t i = 0; i < count; i++)
			if (prev_len[i] == hlen + clen &&
			    memcmp(prev[i], p, hlen + clen) == 0)
				return bad;
		prev[count] = p;
		prev_len[count++] = hlen + clen;
		/* sigIdentifier, then an optional certIdentifier. */
		q = p + hlen;
		m = clen;
		for (int field = 0; m > 0; field++) {
			if (field == 2 ||
			    der_header(q, m, &tag, &h2, &c2) == -1 ||
			    !ocsp_request_known_bytes(q, h2 + c2,
			        field == 0 ? ocsp_sig_algs : ocsp_key_algs,
			        field == 0 ? nsig : nkey))
				return bad;
			q += h2 + c2;
			m -= h2 + c2;
		}
		if (m == clen)
			return bad; /* no sigIdentifier */
		p += hlen + clen;
		n -= hlen + clen;
	}
	return count == 0 ? bad : NULL;
}

/*
 * Checks one extension against the <n> <known> ones: known, not already
 * in *seen (a bit per index of <known>, updated). An explicit critical
 * FALSE (the DEFAULT, which DER leaves out and which OpenSSL re-encodes
 * as it came; the node "ocsp" package writes "critical: false") is
 * accepted and flagged in *flags. Returns NULL with *index set, or the
 * detail of the rule broken.
 */
static const char *
ocsp_request_check_ext(X509_EXTENSION *ext,
    const struct ocsp_request_oid *known, size_t n, unsigned *seen, int *index,
    unsigned *flags)
{
	unsigned char *enc = NULL;
	const unsigned char *p;
	const char *why = NULL;
	unsigned tag;
	size_t left, hlen, clen;
	int k, len;

	if ((k = ocsp_request_ext_index(ext, known, n)) == -1)
		return "unknown extension";
	if (*seen & 1u << k)
		return "duplicate extension";
	*seen |= 1u << k;
	*index = k;

	/* Extension, then extnID, then critical if present. */
	if ((len = i2d_X509_EXTENSION(ext, &enc)) <= 0)
		return "not a DER OCSPRequest";
	p = enc;
	left = (size_t)len;
	if (der_header(p, left, &tag, &hlen, &clen) == -1 ||
	    tag != DER_SEQUENCE) {
		why = "not a DER OCSPRequest";
		goto done;
	}
	p += hlen;
	left = clen;
	if (der_header(p, left, &tag, &hlen, &clen) == -1) {
		why = "not a DER OCSPRequest";
		goto done;
	}
	p += hlen + clen;
	left -= hlen + clen;
	if (left >= 3 && p[0] == DER_BOOLEAN && p[1] == 1 && p[2] == 0)
		*flags |= OCSP_FLAG_EXPLICIT_CRITICAL_FALSE;
done:
	OPENSSL_free(enc);
	return why;
}

/*
 * Checks the singleRequestExtensions of <one>: known, not repeated, and
 * only with <allow_service_locator> (the one known, RFC 6960 4.4.6).
 * Returns NULL, or the detail of the rule broken.
 */
static const char *
ocsp_request_check_single_exts(
    OCSP_ONEREQ *one, bool allow_service_locator, unsigned *flags)
{
	const size_t nknown = sizeof(ocsp_request_single_exts) /
	    sizeof(ocsp_request_single_exts[0]);
	const char *why;
	unsigned seen = 0;
	int n, i, k;

	if ((n = OCSP_ONEREQ_get_ext_count(one)) <= 0)
		return NULL;
	*flags |= OCSP_FLAG_SINGLE_REQUEST_EXTENSIONS;
	for (i = 0; i < n; i++)
		if ((why = ocsp_request_check_ext(OCSP_ONEREQ_get_ext(one, i),
		         ocsp_request_single_exts, nknown, &seen, &k, flags)) !=
		    NULL)
			return why;
	if (!allow_service_locator)
		return "service locator not allowed (allow_service_locator)";
	return NULL;
}

/*
 * Checks the value (<n> bytes at <v>) of known request extension number
 * <k> by its content: a nonce of 1..<max> octets, acceptable responses
 * and preferred signature algorithms of known algorithms. Returns NULL,
 * or the detail of the rule broken.
 */
static const char *
ocsp_request_check_ext_value(int k, const unsigned char *v, size_t n,
    size_t max, struct ocsp_request_facts *f)
{
	if (k == OCSP_REQUEST_EXT_NONCE)
		return ocsp_request_check_nonce(v, n, max, f);
	if (k == OCSP_REQUEST_EXT_ACCEPT)
		return ocsp_request_check_accept(v, n);
	if (k == OCSP_REQUEST_EXT_PREF_SIG)
		return ocsp_request_check_pref_sig(v, n);
	return NULL;
}

/*
 * Checks the requestExtensions of <req>: known, not repeated, each parsed
 * by content: a nonce of 1..<max> octets, acceptable responses and
 * preferred signature algorithms of known algorithms. Returns NULL, or
 * the detail of the rule broken.
 */
static const char *
ocsp_request_check_exts(
    OCSP_REQUEST *req, size_t max, struct ocsp_request_facts *f)
{
	const size_t nknown =
	    sizeof(ocsp_request_exts) / sizeof(ocsp_request_exts[0]);
	X509_EXTENSION *ext;
	ASN1_OCTET_STRING *v;
	const char *why;
	unsigned seen = 0;
	int n, i, k;

	n = OCSP_REQUEST_get_ext_count(req);
	for (i = 0; i < n; i++) {
		ext = OCSP_REQUEST_get_ext(req, i);
		if ((why = ocsp_request_check_ext(ext, ocsp_request_exts,
		         nknown, &seen, &k, &f->flags)) != NULL)
			return why;
		/* An empty value where there is none: each check refuses it. */
		v = X509_EXTENSION_get_data(ext);
		if ((why = ocsp_request_check_ext_value(k,
		         v != NULL ? ASN1_STRING_get0_data(v) : NULL,
		         v != NULL ? (size_t)ASN1_STRING_length(v) : 0, max,
		         f)) != NULL)
			return why;
	}
	return NULL;
}

static enum reason ocsp_request_inspect_decoded(const unsigned char *der,
    size_t len, const struct ocsp_request_rules *rules,
    struct ocsp_request_facts *f);

/* DER identifier octets the walk expects beyond those above. */
#define DER_INTEGER 0x02
#define DER_CTX2    0xa2 /* [2] constructed: TBSRequest.requestExtensions */

/*
 * True when the optional [<tag>] EXPLICIT Extensions at <c> is absent or
 * DER; moves past it.
 */
static bool
ocsp_request_opt_exts_der(struct der_cursor *c, unsigned tag)
{
	struct der_cursor x, exts;

	if (der_peek(c) != (int)tag)
		return true;
	return der_next(c, tag, &x) == 0 &&
	    der_next(&x, DER_SEQUENCE, &exts) == 0 && x.n == 0 &&
	    der_extensions_ok(exts);
}

/*
 * True when <one> (a Request's content) is a CertID whose hash algorithm
 * has absent or NULL parameters, then optional singleRequestExtensions,
 * all of it DER.
 */
static bool
ocsp_request_one_der(struct der_cursor one)
{
	struct der_cursor cid, alg, oid, v;

	if (der_next(&one, DER_SEQUENCE, &cid) == -1 ||
	    der_next(&cid, DER_SEQUENCE, &alg) == -1 ||
	    der_next(&alg, DER_OID, &oid) == -1 || !der_oid_ok(oid.p, oid.n))
		return false;
	if (alg.n > 0 && (der_next(&alg, DER_NULL, &v) == -1 || v.n != 0))
		return false;
	if (alg.n != 0 || der_next(&cid, DER_OCTET_STRING, NULL) == -1 ||
	    der_next(&cid, DER_OCTET_STRING, NULL) == -1 ||
	    der_next(&cid, DER_INTEGER, &v) == -1 ||
	    !der_integer_ok(v.p, v.n) || cid.n != 0)
		return false;
	return ocsp_request_opt_exts_der(&one, DER_CTX0) && one.n == 0;
}

/*
 * The walk's first pass: true when <der> (<len> bytes) is one OCSPRequest
 * whose every length, tag and primitive value is DER and of a shape that
 * OpenSSL's decoder reads and encodes back to the same bytes: version
 * absent or an explicit v1, no requestorName, no signature, each
 * CertID's hash parameters absent or NULL, critical flags 0x00 or 0xff.
 * Anything else (BER, those fields, a value of another type where the
 * syntax has ANY) is left to the full decoder.
 */
static bool
ocsp_request_der(const unsigned char *der, size_t len)
{
	static const unsigned char v1[] = {0xa0, 0x03, 0x02, 0x01, 0x00};
	struct der_cursor c = {der, len}, req, tbs, list, one;

	if (der_next(&c, DER_SEQUENCE, &req) == -1 || c.n != 0 ||
	    der_next(&req, DER_SEQUENCE, &tbs) == -1 || req.n != 0)
		return false;
	if (tbs.n >= sizeof(v1) && memcmp(tbs.p, v1, sizeof(v1)) == 0) {
		tbs.p += sizeof(v1);
		tbs.n -= sizeof(v1);
	}
	if (der_next(&tbs, DER_SEQUENCE, &list) == -1)
		return false;
	while (list.n > 0)
		if (der_next(&list, DER_SEQUENCE, &one) == -1 ||
		    !ocsp_request_one_der(one))
			return false;
	return ocsp_request_opt_exts_der(&tbs, DER_CTX2) && tbs.n == 0;
}

/* Index of OID content <oid> in <known> (<n> entries), or -1. */
static int
ocsp_request_oid_index(
    struct der_cursor oid, const struct ocsp_request_oid *known, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (oid.n == known[i].len &&
		    memcmp(oid.p, known[i].oid, oid.n) == 0)
			return (int)i;
	return -1;
}

/*
 * ocsp_request_check_ext() on the walk's DER Extension <e> (its
 * content): known, not in *seen, an explicit critical FALSE flagged.
 * Returns NULL with *index and *value (extnValue's content) set, or the
 * detail of the rule broken.
 */
static const char *
ocsp_request_walk_ext(struct der_cursor e, const struct ocsp_request_oid *known,
    size_t n, unsigned *seen, int *index, struct der_cursor *value,
    unsigned *flags)
{
	struct der_cursor oid, b;
	int k;

	(void)der_next(&e, DER_OID, &oid);
	if ((k = ocsp_request_oid_index(oid, known, n)) == -1)
		return "unknown extension";
	if (*seen & 1u << k)
		return "duplicate extension";
	*seen |= 1u << k;
	*index = k;
	if (der_next(&e, DER_BOOLEAN, &b) == 0 && b.p[0] == 0x00)
		*flags |= OCSP_FLAG_EXPLICIT_CRITICAL_FALSE;
	(void)der_next(&e, DER_OCTET_STRING, value);
	return NULL;
}

/*
 * ocsp_request_check_cert_id() on the walk's DER CertID <cid> (its
 * content). Returns NULL with <out> filled, or the detail.
 */
static const char *
ocsp_request_walk_cert_id(
    struct der_cursor cid, struct ocsp_cert_id *out, unsigned *flags)
{
	struct der_cursor alg, oid, name_hash, key_hash, serial;
	int h;

	(void)der_next(&cid, DER_SEQUENCE, &alg);
	(void)der_next(&alg, DER_OID, &oid);
	(void)der_next(&cid, DER_OCTET_STRING, &name_hash);
	(void)der_next(&cid, DER_OCTET_STRING, &key_hash);
	(void)der_next(&cid, DER_INTEGER, &serial);
	if ((h = ocsp_hash_from_oid(oid.p, oid.n)) == -1)
		return "unknown hash algorithm";
	if (alg.n == 0)
		*flags |= OCSP_FLAG_HASH_PARAMS_ABSENT;
	if (name_hash.n != ocsp_hashes[h].len ||
	    key_hash.n != ocsp_hashes[h].len)
		return "hash length does not match algorithm";
	/* A minimal INTEGER: a sign bit is a negative one, 0x00 pads. */
	if (serial.p[0] & 0x80)
		return "serial number not positive";
	if (serial.p[0] == 0) {
		serial.p++;
		serial.n--;
	}
	if (serial.n == 0)
		return "serial number not positive";
	if (serial.n > OCSP_SERIAL_MAX_BYTES)
		return "serial number over 20 octets";
	memset(out, 0, sizeof(*out));
	out->hash = (enum ocsp_hash)h;
	out->hash_len = ocsp_hashes[h].len;
	memcpy(out->name_hash, name_hash.p, out->hash_len);
	memcpy(out->key_hash, key_hash.p, out->hash_len);
	memcpy(out->serial, serial.p, serial.n);
	out->serial_len = serial.n;
	return NULL;
}

/*
 * The walk's second pass, over a request the first found DER: the rules
 * of ocsp_request_inspect_decoded() in its order, reading each field in
 * place. Returns NULL, or the detail of the rule broken.
 */
static const char *
ocsp_request_walk(const unsigned char *der, size_t len,
    const struct ocsp_request_rules *rules, size_t max_nonce_bytes,
    struct ocsp_request_facts *f)
{
	const size_t nsingle = sizeof(ocsp_request_single_exts) /
	    sizeof(ocsp_request_single_exts[0]);
	const size_t nknown =
	    sizeof(ocsp_request_exts) / sizeof(ocsp_request_exts[0]);
	struct der_cursor c = {der, len}, req, tbs, list, l, one, x, exts, e, v;
	struct ocsp_cert_id id;
	const char *why;
	unsigned seen;
	size_t n = 0;
	int k;

	(void)der_next(&c, DER_SEQUENCE, &req);
	(void)der_next(&req, DER_SEQUENCE, &tbs);
	if (der_next(&tbs, DER_CTX0, NULL) == 0)
		f->flags |= OCSP_FLAG_EXPLICIT_DEFAULT_VERSION;
	(void)der_next(&tbs, DER_SEQUENCE, &list);
	for (l = list; der_next(&l, DER_SEQUENCE, NULL) == 0;)
		n++;
	if (n > 1)
		f->flags |= OCSP_FLAG_MULTIPLE_CERTS;
	if (n == 0)
		return "no certificate ID";
	if (n > OCSP_REQUEST_MAX_CERTS)
		return "more than 8 certificate IDs";
	while (der_next(&list, DER_SEQUENCE, &one) == 0) {
		(void)der_next(&one, DER_SEQUENCE, &x);
		if ((why = ocsp_request_walk_cert_id(x, &id, &f->flags)) !=
		    NULL)
			return why;
		f->certs[f->ncerts++] = id;
		if (der_next(&one, DER_CTX0, &x) == -1)
			continue;
		(void)der_next(&x, DER_SEQUENCE, &exts);
		if (exts.n == 0)
			continue;
		f->flags |= OCSP_FLAG_SINGLE_REQUEST_EXTENSIONS;
		for (seen = 0; der_next(&exts, DER_SEQUENCE, &e) == 0;)
			if ((why = ocsp_request_walk_ext(e,
			         ocsp_request_single_exts, nsingle, &seen, &k,
			         &v, &f->flags)) != NULL)
				return why;
		if (!rules->allow_service_locator)
			return "service locator not allowed "
			       "(allow_service_locator)";
	}
	if (der_next(&tbs, DER_CTX2, &x) == -1)
		return NULL;
	(void)der_next(&x, DER_SEQUENCE, &exts);
	for (seen = 0; der_next(&exts, DER_SEQUENCE, &e) == 0;)
		if ((why = ocsp_request_walk_ext(e, ocsp_request_exts, nknown,
		         &seen, &k, &v, &f->flags)) != NULL ||
		    (why = ocsp_request_check_ext_value(
		         k, v.p, v.n, max_nonce_bytes, f)) != NULL)
			return why;
	return NULL;
}

/*
 * Two passes over the bytes and nothing allocated: the first decides
 * whether the request is DER of a shape the second reads in place.
 */
int
ocsp_request_inspect_fast(const unsigned char *der, size_t len,
    const struct ocsp_request_rules *rules, struct ocsp_request_facts *f,
    enum reason *verdict)
{
	size_t max_nonce_bytes = rules->max_nonce_bytes;

	if (der == NULL || len == 0 || !ocsp_request_der(der, len))
		return -1;
	if (max_nonce_bytes > OCSP_NONCE_MAX_BYTES)
		max_nonce_bytes = OCSP_NONCE_MAX_BYTES;
	f->der_len = len;
	f->detail = ocsp_request_walk(der, len, rules, max_nonce_bytes, f);
	*verdict = f->detail == NULL ? REASON_NONE : REASON_OCSP_MALFORMED;
	return 0;
}

enum reason
ocsp_request_inspect_rules(const unsigned char *der, size_t len,
    const struct ocsp_request_rules *rules, struct ocsp_request_facts *f)
{
	enum reason verdict;

	if (ocsp_request_inspect_fast(der, len, rules, f, &verdict) == 0)
		return verdict;
	return ocsp_request_inspect_decoded(der, len, rules, f);
}

/*
 * Rules are checked in the contract's order: the DER itself, the
 * certificate IDs (each with its own extensions), then the request's
 * extensions. Flags that do not depend on a rule (requestor name, signed,
 * several certificates) are recorded as soon as the DER is known good, so
 * that a refused request still logs them. max_nonce_bytes above
 * OCSP_NONCE_MAX_BYTES is taken as OCSP_NONCE_MAX_BYTES.
 */
enum reason
ocsp_request_inspect(const unsigned char *der, size_t len,
    size_t max_nonce_bytes, struct ocsp_request_facts *f)
{
	const struct ocsp_request_rules rules = {
	    .max_nonce_bytes = max_nonce_bytes};

	return ocsp_request_inspect_rules(der, len, &rules, f);
}

/*
 * The full decoder: OpenSSL decodes the request (BER and all) and
 * encodes it again, and the bytes must come back the same. It decides
 * what the one-pass walk leaves to it (ocsp_request_inspect_fast()): an
 * encoding that is not DER, and the fields few clients send.
 */
static enum reason
ocsp_request_inspect_decoded(const unsigned char *der, size_t len,
    const struct ocsp_request_rules *rules, struct ocsp_request_facts *f)
{
	size_t max_nonce_bytes = rules->max_nonce_bytes;
	OCSP_REQUEST *req = NULL;
	OCSP_ONEREQ *one;
	struct ocsp_cert_id id;
	unsigned char *enc = NULL;
	const unsigned char *p = der;
	const char *why = NULL;
	int n, i;

	if (max_nonce_bytes > OCSP_NONCE_MAX_BYTES)
		max_nonce_bytes = OCSP_NONCE_MAX_BYTES;
	ERR_set_mark();
	f->der_len = len;
	if (der == NULL || len == 0 || len > LONG_MAX ||
	    (req = d2i_OCSP_REQUEST(NULL, &p, (long)len)) == NULL) {
		why = "not a DER OCSPRequest";
		goto done;
	}
	if ((size_t)(p - der) != len) {
		why = "trailing bytes after OCSPRequest";
		goto done;
	}
	/*
	 * d2i takes BER (long-form and indefinite lengths and more); the
	 * re-encoding refuses all of it but the explicit defaults OpenSSL
	 * keeps as they came, which are checked one by one below.
	 */
	if ((n = i2d_OCSP_REQUEST(req, &enc)) <= 0 || (size_t)n != len ||
	    memcmp(enc, der, len) != 0) {
		why = "not canonical DER";
		goto done;
	}
	if ((why = ocsp_request_check_tbs(der, len, &f->flags)) != NULL)
		goto done;
	if (OCSP_request_is_signed(req))
		f->flags |= OCSP_FLAG_SIGNED_REQUEST;
	if ((f->flags & OCSP_FLAG_SIGNED_REQUEST) && !rules->allow_signed) {
		why = "signed request not allowed (allow_signed_requests)";
		goto done;
	}
	if ((f->flags & OCSP_FLAG_REQUESTOR_NAME) &&
	    !rules->allow_requestor_name &&
	    !(rules->allow_signed && (f->flags & OCSP_FLAG_SIGNED_REQUEST))) {
		why = "requestorName not allowed (allow_requestor_name)";
		goto done;
	}

	n = OCSP_request_onereq_count(req);
	if (n > 1)
		f->flags |= OCSP_FLAG_MULTIPLE_CERTS;
	if (n <= 0) {
		why = "no certificate ID";
		goto done;
	}
	if (n > OCSP_REQUEST_MAX_CERTS) {
		why = "more than 8 certificate IDs";
		goto done;
	}
	for (i = 0; i < n; i++) {
		one = OCSP_request_onereq_get0(req, i);
		if ((why = ocsp_request_check_cert_id(
		         OCSP_onereq_get0_id(one), &id, &f->flags)) != NULL)
			goto done;
		f->certs[f->ncerts++] = id;
		if ((why = ocsp_request_check_single_exts(
		         one, rules->allow_service_locator, &f->flags)) != NULL)
			goto done;
	}
	why = ocsp_request_check_exts(req, max_nonce_bytes, f);
done:
	OPENSSL_free(enc);
	OCSP_REQUEST_free(req);
	ERR_pop_to_mark();
	f->detail = why;
	return why == NULL ? REASON_NONE : REASON_OCSP_MALFORMED;
}

/*
 * Value of base64 character <c> in either alphabet; OCSP_B64_PAD for
 * '=', OCSP_B64_NONE for anything else.
 */
#define OCSP_B64_NONE 0x40
#define OCSP_B64_PAD  0x41
/* ocsp_request_decode_get() tells values of 62 and more by bit 0x40. */
_Static_assert(OCSP_B64_NONE + 2 < 0x80 && OCSP_B64_PAD + 2 < 0x80,
    "base64 table values past 63 stay below 0x7e");
#define B64_ROW_NONE16                                                         \
	OCSP_B64_NONE, OCSP_B64_NONE, OCSP_B64_NONE, OCSP_B64_NONE,            \
	    OCSP_B64_NONE, OCSP_B64_NONE, OCSP_B64_NONE, OCSP_B64_NONE,        \
	    OCSP_B64_NONE, OCSP_B64_NONE, OCSP_B64_NONE, OCSP_B64_NONE,        \
	    OCSP_B64_NONE, OCSP_B64_NONE, OCSP_B64_NONE, OCSP_B64_NONE
static const unsigned char ocsp_request_b64[256] = {
    B64_ROW_NONE16,
    B64_ROW_NONE16,
    /* ' ' .. '/': '+' and '-' are 62, '/' is 63 */
    OCSP_B64_NONE,
    OCSP_B64_NONE,
    OCSP_B64_NONE,
    OCSP_B64_NONE,
    OCSP_B64_NONE,
    OCSP_B64_NONE,
    OCSP_B64_NONE,
    OCSP_B64_NONE,
    OCSP_B64_NONE,
    OCSP_B64_NONE,
    OCSP_B64_NONE,
    62,
    OCSP_B64_NONE,
    62,
    OCSP_B64_NONE,
    63,
    /* '0' .. '?' */
    52,
    53,
    54,
    55,
    56,
    57,
    58,
    59,
    60,
    61,
    OCSP_B64_NONE,
    OCSP_B64_NONE,
    OCSP_B64_NONE,
    OCSP_B64_PAD,
    OCSP_B64_NONE,
    OCSP_B64_NONE,
    /* '@' .. 'O' */
    OCSP_B64_NONE,
    0,
    1,
    2,
    3,
    4,
    5,
    6,
    7,
    8,
    9,
    10,
    11,
    12,
    13,
    14,
    /* 'P' .. '_': '_' is 63 */
    15,
    16,
    17,
    18,
    19,
    20,
    21,
    22,
    23,
    24,
    25,
    OCSP_B64_NONE,
    OCSP_B64_NONE,
    OCSP_B64_NONE,
    OCSP_B64_NONE,
    63,
    /* '`' .. 'o' */
    OCSP_B64_NONE,
    26,
    27,
    28,
    29,
    30,
    31,
    32,
    33,
    34,
    35,
    36,
    37,
    38,
    39,
    40,
    /* 'p' .. 0x7f */
    41,
    42,
    43,
    44,
    45,
    46,
    47,
    48,
    49,
    50,
    51,
    OCSP_B64_NONE,
    OCSP_B64_NONE,
    OCSP_B64_NONE,
    OCSP_B64_NONE,
    OCSP_B64_NONE,
    B64_ROW_NONE16,
    B64_ROW_NONE16,
    B64_ROW_NONE16,
    B64_ROW_NONE16,
    B64_ROW_NONE16,
    B64_ROW_NONE16,
    B64_ROW_NONE16,
    B64_ROW_NONE16,
};

/*
 * One pass over the path, decoding as it validates, so that nothing is
 * allocated: each character is unescaped (a percent escape undone, a
 * space taken back to '+'), checked against the alphabets and padding,
 * and its six bits added to <der>. The repairs are recorded as they are
 * seen and reported only if the whole path decodes.
 *
 * A doubled '/' after the prefix is taken as a separator, never as the
 * blob's first character: a DER OCSPRequest starts with a SEQUENCE tag
 * (0x30), whose base64 encoding starts with 'M', so a blob starting with
 * '/' (0xfc..0xff) could not be one anyway. For the same reason a blob
 * that does not decode to a leading 0x30 is refused here, so that paths
 * which merely happen to be base64 ("/status") are not OCSP.
 */
int
ocsp_request_decode_get(const char *path, size_t path_len, unsigned char *der,
    size_t cap, size_t *der_len, unsigned *flags)
{
	const unsigned char *s = (const unsigned char *)path;
	unsigned fl = 0, acc = 0, v;
	size_t pos, k = 0, pad = 0, out = 0;
	bool standard = false, url_safe = false;
	int hi, lo, bits = 0;
	unsigned char ch;

	if (path == NULL || path_len == 0 || path[0] != '/')
		return -1;
	pos = 1;
	if (path_len > 1 && path[1] == '/') {
		pos = 2;
		fl |= OCSP_FLAG_GET_DOUBLE_SLASH;
	}
	if (path_len > OCSP_GET_RFC5019_MAX)
		fl |= OCSP_FLAG_GET_OVER_255_BYTES;

	while (pos < path_len) {
		/*
		 * Four letters or digits at the start of a quantum, nearly
		 * every quantum of a path: three bytes at once.
		 */
		while (bits == 0 && pad == 0 && path_len - pos >= 4 &&
		    cap - out >= 3) {
			unsigned a = ocsp_request_b64[s[pos]],
			         b = ocsp_request_b64[s[pos + 1]],
			         c = ocsp_request_b64[s[pos + 2]],
			         d = ocsp_request_b64[s[pos + 3]];

			/*
			 * Any of them 62 or more (the alphabets' own two,
			 * padding, none: at most 0x41) sets bit 0x40 of the
			 * sum with 2, which none below 62 reaches.
			 */
			if (((a + 2) | (b + 2) | (c + 2) | (d + 2)) & 0x40)
				break;
			acc = a << 18 | b << 12 | c << 6 | d;
			der[out] = (unsigned char)(acc >> 16);
			der[out + 1] = (unsigned char)(acc >> 8);
			der[out + 2] = (unsigned char)acc;
			if (out == 0 && der[0] != DER_SEQUENCE)
				return -1; /* as below */
			acc &= 0x3fff;
			out += 3;
			k += 4;
			pos += 4;
		}
		if (pos == path_len)
			break;
		ch = s[pos];
		/*
		 * A letter or digit (no padding yet) is nearly every byte
		 * of a path: only its bits to collect. The rest goes the
		 * long way: escapes, the alphabets' own two, padding.
		 */
		if ((v = ocsp_request_b64[ch]) < 62 && pad == 0) {
			pos++;
		} else {
			if (ch == '%') {
				if (path_len - pos < 3 ||
				    (hi = hex_value(s[pos + 1])) == -1 ||
				    (lo = hex_value(s[pos + 2])) == -1)
					return -1;
				ch = (unsigned char)(hi << 4 | lo);
				pos += 3;
				fl |= OCSP_FLAG_GET_PERCENT_ENCODED;
			} else {
				pos++;
				if (ch == '/')
					fl |= OCSP_FLAG_GET_UNESCAPED_SLASH;
			}
			if (ch == ' ') {
				ch = '+';
				fl |= OCSP_FLAG_GET_SPACE_AS_PLUS;
			}
			if ((v = ocsp_request_b64[ch]) == OCSP_B64_PAD) {
				pad++;
				continue;
			}
			if (pad > 0 || v == OCSP_B64_NONE)
				return -1;
			if (ch == '+' || ch == '/')
				standard = true;
			else if (ch == '-' || ch == '_')
				url_safe = true;
		}
		k++;
		acc = (acc << 6 | v) & 0x3fff;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			if (out == cap)
				return -1;
			der[out++] = (unsigned char)(acc >> bits);
			/*
			 * Not a SEQUENCE: refused below anyway, so stop now.
			 * ocsp_request_split_get() tries the whole path
			 * first, "/ocsp/MFEw..." decoding as base64 too.
			 */
			if (out == 1 && der[0] != DER_SEQUENCE)
				return -1;
		}
	}
	if (k == 0 || (standard && url_safe) || k % 4 == 1)
		return -1;
	if (pad > 0 && (pad > 2 || (k + pad) % 4 != 0))
		return -1;
	if (pad == 0 && k % 4 != 0)
		fl |= OCSP_FLAG_GET_UNPADDED;
	if (url_safe)
		fl |= OCSP_FLAG_GET_URL_SAFE_ALPHABET;
	/* The bits left over must be zero, or two blobs decode alike. */
	if ((acc & ((1u << bits) - 1)) != 0 || out == 0 ||
	    der[0] != DER_SEQUENCE)
		return -1;
	*der_len = out;
	*flags |= fl;
	return 0;
}

/* True when the <n> bytes at <der> are exactly one DER SEQUENCE. */
static bool
ocsp_request_one_sequence(const unsigned char *der, size_t n)
{
	unsigned tag;
	size_t hlen, clen;

	return der_header(der, n, &tag, &hlen, &clen) == 0 &&
	    tag == DER_SEQUENCE && hlen + clen == n;
}

/*
 * The candidates are few: each '/' after which the prefix is still
 * AIA-shaped, so at most PATH_SHAPE_OCSP_SEGMENTS + 1 decodes of a path.
 */
int
ocsp_request_split_get(const char *path, size_t path_len, unsigned char *der,
    size_t cap, size_t *der_len, unsigned *flags, size_t *prefix_len)
{
	size_t pos = 0, n;
	const char *next;
	unsigned fl;

	if (path == NULL || path_len == 0 || path[0] != '/')
		return -1;
	for (;;) {
		fl = 0;
		if (ocsp_request_decode_get(
		        path + pos, path_len - pos, der, cap, &n, &fl) == 0 &&
		    ocsp_request_one_sequence(der, n)) {
			*der_len = n;
			*flags |= fl;
			*prefix_len = pos;
			return 0;
		}
		next = memchr(path + pos + 1, '/', path_len - pos - 1);
		if (next == NULL || next == path + pos + 1)
			return -1; /* no more splits, or an empty segment */
		if (!path_shape_ocsp_prefix(path, (size_t)(next - path)))
			return -2;
		pos = (size_t)(next - path);
	}
}

int
ocsp_issuer_from_cert(X509 *cert, struct ocsp_issuer *out)
{
	const X509_NAME *name;
	const ASN1_BIT_STRING *key;
	unsigned int len;
	int rc = -1;

	memset(out, 0, sizeof(*out));
	ERR_set_mark();
	if (cert == NULL || (name = X509_get_subject_name(cert)) == NULL ||
	    (key = X509_get0_pubkey_bitstr(cert)) == NULL)
		goto done;
	for (int h = 0; h < OCSP_HASH_MAX; h++) {
		const EVP_MD *md = ocsp_hashes[h].md();

		if (X509_NAME_digest(name, md, out->name_hash[h], &len) != 1 ||
		    len != ocsp_hashes[h].len)
			goto done;
		if (EVP_Digest(ASN1_STRING_get0_data(key),
		        (size_t)ASN1_STRING_length(key), out->key_hash[h], &len,
		        md, NULL) != 1 ||
		    len != ocsp_hashes[h].len)
			goto done;
	}
	rc = 0;
done:
	ERR_pop_to_mark();
	return rc;
}

bool
ocsp_request_issuers_match(const struct ocsp_request_facts *f,
    const struct ocsp_issuer *issuers, size_t n)
{
	if (f->ncerts == 0 || f->ncerts > OCSP_REQUEST_MAX_CERTS)
		return false;
	for (size_t i = 0; i < f->ncerts; i++) {
		const struct ocsp_cert_id *c = &f->certs[i];
		size_t j;

		if ((unsigned)c->hash >= OCSP_HASH_MAX ||
		    c->hash_len != ocsp_hashes[c->hash].len)
			return false;
		for (j = 0; j < n; j++)
			if (memcmp(issuers[j].name_hash[c->hash], c->name_hash,
			        c->hash_len) == 0 &&
			    memcmp(issuers[j].key_hash[c->hash], c->key_hash,
			        c->hash_len) == 0)
				break;
		if (j == n)
			return false;
	}
	return true;
}
