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
#include "ocspgate/ocsp_request.h"

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

/* Known requestExtensions; the nonce must stay first. */
#define OCSP_REQUEST_EXT_NONCE 0
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
 * be the canonical encoding of an OCSPRequest. Returns NULL, or the
 * detail of the rule broken.
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
		 * re-encodes an explicit v1 as it came, so catch it here.
		 */
		if (clen == sizeof(v1) && memcmp(der + hlen, v1, clen) == 0)
			return "version v1 encoded explicitly (not DER)";
		return "version not v1";
	}
	if (tag == DER_CTX1)
		*flags |= OCSP_FLAG_REQUESTOR_NAME;
	return NULL;
}

/*
 * True when the AlgorithmIdentifier that opens CertID <cid> has absent or
 * NULL parameters. OpenSSL's accessor gives only the OID, so the CertID is
 * re-encoded (it is canonical, the whole request was) and read here.
 */
static bool
ocsp_request_hash_params_ok(const OCSP_CERTID *cid)
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
done:
	OPENSSL_free(enc);
	return ok;
}

/*
 * Checks one CertID and, if it passes, fills <out>. Returns NULL, or the
 * detail of the rule broken.
 */
static const char *
ocsp_request_check_cert_id(OCSP_CERTID *cid, struct ocsp_cert_id *out)
{
	ASN1_OCTET_STRING *name_hash, *key_hash;
	ASN1_OBJECT *alg;
	ASN1_INTEGER *serial;
	const unsigned char *oid, *s;
	size_t oid_len, s_len;
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
	if (!ocsp_request_hash_params_ok(cid))
		return "hash algorithm parameters not absent or NULL";
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
 * Checks the nonce extension <ext>: its extnValue must hold a DER OCTET
 * STRING (RFC 8954, RFC 9654) whose value is 1..<max> octets. Records
 * what it finds in <f>. Returns NULL, or the detail of the rule broken.
 */
static const char *
ocsp_request_check_nonce(
    X509_EXTENSION *ext, size_t max, struct ocsp_request_facts *f)
{
	ASN1_OCTET_STRING *v;
	const unsigned char *p;
	unsigned tag;
	size_t n, hlen, clen;

	if ((v = X509_EXTENSION_get_data(ext)) == NULL ||
	    (p = ASN1_STRING_get0_data(v)) == NULL)
		return "nonce not a DER OCTET STRING";
	n = (size_t)ASN1_STRING_length(v);
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
 * Checks one extension against the <n> <known> ones: known, not already
 * in *seen (a bit per index of <known>, updated), and without an explicit
 * critical FALSE (the DEFAULT, which DER leaves out and which OpenSSL
 * re-encodes as it came). Returns NULL with *index set, or the detail of
 * the rule broken.
 */
static const char *
ocsp_request_check_ext(X509_EXTENSION *ext,
    const struct ocsp_request_oid *known, size_t n, unsigned *seen, int *index)
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
		why = "critical FALSE encoded explicitly (not DER)";
done:
	OPENSSL_free(enc);
	return why;
}

/*
 * Checks the singleRequestExtensions of <one>: known, not repeated, DER.
 * Returns NULL, or the detail of the rule broken.
 */
static const char *
ocsp_request_check_single_exts(OCSP_ONEREQ *one, unsigned *flags)
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
		         ocsp_request_single_exts, nknown, &seen, &k)) != NULL)
			return why;
	return NULL;
}

/*
 * Checks the requestExtensions of <req>: known, not repeated, DER, and a
 * nonce of 1..<max> octets. Returns NULL, or the detail of the rule
 * broken.
 */
static const char *
ocsp_request_check_exts(
    OCSP_REQUEST *req, size_t max, struct ocsp_request_facts *f)
{
	const size_t nknown =
	    sizeof(ocsp_request_exts) / sizeof(ocsp_request_exts[0]);
	X509_EXTENSION *ext;
	const char *why;
	unsigned seen = 0;
	int n, i, k;

	n = OCSP_REQUEST_get_ext_count(req);
	for (i = 0; i < n; i++) {
		ext = OCSP_REQUEST_get_ext(req, i);
		if ((why = ocsp_request_check_ext(
		         ext, ocsp_request_exts, nknown, &seen, &k)) != NULL)
			return why;
		if (k == OCSP_REQUEST_EXT_NONCE &&
		    (why = ocsp_request_check_nonce(ext, max, f)) != NULL)
			return why;
	}
	return NULL;
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
	/* d2i takes BER (long-form and indefinite lengths and more). */
	if ((n = i2d_OCSP_REQUEST(req, &enc)) <= 0 || (size_t)n != len ||
	    memcmp(enc, der, len) != 0) {
		why = "not canonical DER";
		goto done;
	}
	if ((why = ocsp_request_check_tbs(der, len, &f->flags)) != NULL)
		goto done;
	if (OCSP_request_is_signed(req))
		f->flags |= OCSP_FLAG_SIGNED_REQUEST;

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
		         OCSP_onereq_get0_id(one), &id)) != NULL)
			goto done;
		f->certs[f->ncerts++] = id;
		if ((why = ocsp_request_check_single_exts(one, &f->flags)) !=
		    NULL)
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

/* Value of hex digit <c>, or -1. */
static int
ocsp_request_hex(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Value of base64 character <c> in either alphabet, or -1. */
static int
ocsp_request_b64(int c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '+' || c == '-')
		return 62;
	if (c == '/' || c == '_')
		return 63;
	return -1;
}

/*
 * Reads the next character of a GET path at *pos (<n> bytes in all),
 * undoing a percent escape and turning a space back into '+', and records
 * those repairs and unescaped slashes in *flags. Returns 1 with *c set and
 * *pos advanced, 0 at the end, -1 on a broken escape.
 */
static int
ocsp_request_get_next(
    const char *s, size_t n, size_t *pos, int *c, unsigned *flags)
{
	int hi, lo;
	unsigned char ch;

	if (*pos >= n)
		return 0;
	ch = (unsigned char)s[*pos];
	if (ch == '%') {
		if (n - *pos < 3 ||
		    (hi = ocsp_request_hex((unsigned char)s[*pos + 1])) == -1 ||
		    (lo = ocsp_request_hex((unsigned char)s[*pos + 2])) == -1)
			return -1;
		ch = (unsigned char)(hi << 4 | lo);
		*pos += 3;
		*flags |= OCSP_FLAG_GET_PERCENT_ENCODED;
	} else {
		(*pos)++;
		if (ch == '/')
			*flags |= OCSP_FLAG_GET_UNESCAPED_SLASH;
	}
	if (ch == ' ') {
		ch = '+';
		*flags |= OCSP_FLAG_GET_SPACE_AS_PLUS;
	}
	*c = ch;
	return 1;
}

/*
 * Two passes over the path, so that nothing is allocated: the first
 * validates the characters, alphabet and padding and collects the flags,
 * the second decodes.
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
	unsigned fl = 0, ignored = 0, acc = 0;
	size_t start, pos, k = 0, pad = 0, out = 0, need;
	bool standard = false, url_safe = false;
	int c, r, bits = 0;

	if (path == NULL || path_len == 0 || path[0] != '/')
		return -1;
	start = 1;
	if (path_len > 1 && path[1] == '/') {
		start = 2;
		fl |= OCSP_FLAG_GET_DOUBLE_SLASH;
	}
	if (path_len > OCSP_GET_RFC5019_MAX)
		fl |= OCSP_FLAG_GET_OVER_255_BYTES;

	pos = start;
	while (
	    (r = ocsp_request_get_next(path, path_len, &pos, &c, &fl)) == 1) {
		if (c == '=') {
			pad++;
			continue;
		}
		if (pad > 0 || ocsp_request_b64(c) == -1)
			return -1;
		if (c == '+' || c == '/')
			standard = true;
		else if (c == '-' || c == '_')
			url_safe = true;
		k++;
	}
	if (r == -1 || k == 0 || (standard && url_safe) || k % 4 == 1)
		return -1;
	if (pad > 0 && (pad > 2 || (k + pad) % 4 != 0))
		return -1;
	if (pad == 0 && k % 4 != 0)
		fl |= OCSP_FLAG_GET_UNPADDED;
	if (url_safe)
		fl |= OCSP_FLAG_GET_URL_SAFE_ALPHABET;
	need = k / 4 * 3 + k % 4 * 3 / 4;
	if (need > cap)
		return -1;

	pos = start;
	while (ocsp_request_get_next(path, path_len, &pos, &c, &ignored) == 1 &&
	    c != '=') {
		acc = (acc << 6 | (unsigned)ocsp_request_b64(c)) & 0x3fff;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			der[out++] = (unsigned char)(acc >> bits);
		}
	}
	/* The bits left over must be zero, or two blobs decode alike. */
	if ((acc & ((1u << bits) - 1)) != 0 || out == 0 ||
	    der[0] != DER_SEQUENCE)
		return -1;
	*der_len = out;
	*flags |= fl;
	return 0;
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
