/*
 * OCSP response inspection: the DER body of an upstream's answer in, the
 * facts the event log needs and a verdict out, so that only a well-formed
 * answer to the question that was asked goes back to the client.
 * Pure: no I/O, no logging, no clock, no globals. OpenSSL's error queue
 * is left as it was found.
 */
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <openssl/asn1.h>
#include <openssl/bio.h>
#include <openssl/ct.h>
#include <openssl/err.h>
#include <openssl/objects.h>
#include <openssl/ocsp.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "ocspgate/der.h"
#include "ocspgate/memo.h"
#include "ocspgate/ocsp_response.h"
#include "ocspgate/pkix.h"

/* DER identifier octets this file looks at. */
#define DER_OCTET_STRING     0x04
#define DER_OID              0x06
#define DER_ENUMERATED       0x0a
#define DER_GENERALIZED_TIME 0x18
#define DER_SEQUENCE         0x30
#define DER_CTX0             0xa0 /* [0] constructed */
#define DER_CTX1             0xa1 /* [1] constructed */

/* A KeyHash is the SHA-1 hash of the responder's key (RFC 6960 4.2.1). */
#define OCSP_RESPONSE_KEY_HASH_LEN 20
#define OCSP_RESPONSE_GENTIME_MAX  19   /* "YYYYMMDDHHMMSS.fffZ" */
#define OCSP_RESPONSE_NAME_DER_MAX 1024 /* a responderID byName */
#define OCSP_RESPONSE_CERTS_DEPTH  16   /* der_walk() of the certificates */

/* id-pkix-ocsp-basic (1.3.6.1.5.5.7.48.1.1), content octets. */
static const unsigned char oid_basic[] = {
    0x2b, 0x06, 0x01, 0x05, 0x05, 0x07, 0x30, 0x01, 0x01};

static const char *ocsp_response_check_single_exts(OCSP_SINGLERESP *one);

/* RFC 6960 4.2.1; 4 is not used. */
static const char *const ocsp_response_status_names[] = {
    [OCSP_RESPONSE_STATUS_SUCCESSFUL] = "successful",
    [OCSP_RESPONSE_STATUS_MALFORMEDREQUEST] = "malformedRequest",
    [OCSP_RESPONSE_STATUS_INTERNALERROR] = "internalError",
    [OCSP_RESPONSE_STATUS_TRYLATER] = "tryLater",
    [OCSP_RESPONSE_STATUS_SIGREQUIRED] = "sigRequired",
    [OCSP_RESPONSE_STATUS_UNAUTHORIZED] = "unauthorized",
};

/* RFC 5280 5.3.1 CRLReason; 7 is not used. */
static const char *const ocsp_response_crl_reasons[] = {
    [OCSP_REVOKED_STATUS_UNSPECIFIED] = "unspecified",
    [OCSP_REVOKED_STATUS_KEYCOMPROMISE] = "keyCompromise",
    [OCSP_REVOKED_STATUS_CACOMPROMISE] = "cACompromise",
    [OCSP_REVOKED_STATUS_AFFILIATIONCHANGED] = "affiliationChanged",
    [OCSP_REVOKED_STATUS_SUPERSEDED] = "superseded",
    [OCSP_REVOKED_STATUS_CESSATIONOFOPERATION] = "cessationOfOperation",
    [OCSP_REVOKED_STATUS_CERTIFICATEHOLD] = "certificateHold",
    [OCSP_REVOKED_STATUS_REMOVEFROMCRL] = "removeFromCRL",
    [OCSP_REVOKED_STATUS_PRIVILEGEWITHDRAWN] = "privilegeWithdrawn",
    [OCSP_REVOKED_STATUS_AACOMPROMISE] = "aACompromise",
};

/* The certificate ID hash algorithms ocsp_request.c knows, by NID. */
static const struct {
	int nid;
	enum ocsp_hash hash;
} ocsp_response_hashes[] = {
    {NID_sha1, OCSP_HASH_SHA1},
    {NID_sha224, OCSP_HASH_SHA224},
    {NID_sha256, OCSP_HASH_SHA256},
    {NID_sha384, OCSP_HASH_SHA384},
    {NID_sha512, OCSP_HASH_SHA512},
};

/* Any value outside the enum is also "unknown", so the result is never NULL. */
const char *
ocsp_cert_status_name(enum ocsp_cert_status s)
{
	switch (s) {
	case OCSP_CERT_GOOD:
		return "good";
	case OCSP_CERT_REVOKED:
		return "revoked";
	case OCSP_CERT_UNKNOWN:
		break;
	}
	return "unknown";
}

/* True when <status> is one of RFC 6960's responseStatus values. */
static bool
ocsp_response_status_known(int status)
{
	const int n = (int)(sizeof(ocsp_response_status_names) /
	    sizeof(ocsp_response_status_names[0]));

	return status >= 0 && status < n &&
	    ocsp_response_status_names[status] != NULL;
}

const char *
ocsp_response_status_name(int status)
{
	if (!ocsp_response_status_known(status))
		return "unknown";
	return ocsp_response_status_names[status];
}

/*
 * Reads one TLV header like der_header(), telling apart a header that is
 * valid BER but not DER (long form where the short one fits, leading
 * zero length octets, indefinite length): 0, -1 (not readable), -2 (not
 * canonical).
 */
static int
ocsp_response_tlv(
    const unsigned char *p, size_t n, unsigned *tag, size_t *hlen, size_t *clen)
{
	size_t nlen, len = 0;

	if (der_header(p, n, tag, hlen, clen) == 0)
		return 0;
	if (n < 2 || (p[0] & 0x1f) == 0x1f || p[1] < 0x80)
		return -1;
	if (p[1] == 0x80)
		return -2; /* indefinite */
	nlen = p[1] & 0x7f;
	if (nlen > sizeof(size_t) || nlen > n - 2)
		return -1;
	for (size_t i = 0; i < nlen; i++)
		len = len << 8 | p[2 + i];
	/* Readable, but the length could have been written shorter. */
	return len <= n - 2 - nlen ? -2 : -1;
}

/*
 * Reads the OCSPResponse wrapper of <der> (<len> bytes) by hand, DER
 * only: SEQUENCE { responseStatus ENUMERATED, [0] EXPLICIT SEQUENCE {
 * responseType OID, response OCTET STRING } OPTIONAL }, each part ending
 * exactly where its container does. Sets *status, and *type, *body and
 * their lengths when responseBytes is there (NULL otherwise).
 * Returns NULL, or the detail of the rule broken.
 */
static const char *
ocsp_response_read_wrapper(const unsigned char *der, size_t len, int *status,
    const unsigned char **type, size_t *type_len, const unsigned char **body,
    size_t *body_len)
{
	const char *bad = "not a DER OCSPResponse";
	const char *noncanon = "not canonical DER";
	unsigned tag;
	size_t hlen, clen, n;
	const unsigned char *v;
	int rc;

	*type = *body = NULL;
	if (der == NULL || len == 0)
		return bad;
	if ((rc = ocsp_response_tlv(der, len, &tag, &hlen, &clen)) != 0)
		return rc == -2 ? noncanon : bad;
	if (tag != DER_SEQUENCE)
		return bad;
	if (hlen + clen != len)
		return "trailing bytes after OCSPResponse";
	der += hlen;
	n = clen;
	if ((rc = ocsp_response_tlv(der, n, &tag, &hlen, &clen)) != 0)
		return rc == -2 ? noncanon : bad;
	if (tag != DER_ENUMERATED || clen == 0)
		return bad;
	/* An INTEGER's rules: no padding octet, and 0..6 fits in one. */
	v = der + hlen;
	if (clen > 1 &&
	    ((v[0] == 0x00 && v[1] < 0x80) || (v[0] == 0xff && v[1] >= 0x80)))
		return noncanon;
	*status = clen == 1 && v[0] < 0x80 ? v[0] : -1;
	der += hlen + clen;
	n -= hlen + clen;
	if (n == 0)
		return NULL;
	/* [0] EXPLICIT ResponseBytes, then the SEQUENCE itself. */
	if ((rc = ocsp_response_tlv(der, n, &tag, &hlen, &clen)) != 0)
		return rc == -2 ? noncanon : bad;
	if (tag != DER_CTX0 || hlen + clen != n)
		return bad;
	der += hlen;
	n = clen;
	if ((rc = ocsp_response_tlv(der, n, &tag, &hlen, &clen)) != 0)
		return rc == -2 ? noncanon : bad;
	if (tag != DER_SEQUENCE || hlen + clen != n)
		return bad;
	der += hlen;
	n = clen;
	/* responseType, then response. */
	if ((rc = ocsp_response_tlv(der, n, &tag, &hlen, &clen)) != 0)
		return rc == -2 ? noncanon : bad;
	if (tag != DER_OID || clen == 0)
		return bad;
	*type = der + hlen;
	*type_len = clen;
	der += hlen + clen;
	n -= hlen + clen;
	if ((rc = ocsp_response_tlv(der, n, &tag, &hlen, &clen)) != 0)
		return rc == -2 ? noncanon : bad;
	if (tag != DER_OCTET_STRING || hlen + clen != n)
		return bad;
	*body = der + hlen;
	*body_len = clen;
	return NULL;
}

/*
 * Splits BasicOCSPResponse <body> (<len> bytes): SEQUENCE {
 * tbsResponseData, signatureAlgorithm, signature BIT STRING, [0]
 * EXPLICIT SEQUENCE OF Certificate OPTIONAL }. *fields_out and
 * *flen_out get the first three fields; *certs and *certs_len the
 * content of the SEQUENCE OF Certificate (NULL, 0 when there is none),
 * each certificate to be read on its own, and with <walk> held to
 * der_walk() to OCSP_RESPONSE_CERTS_DEPTH levels. Returns NULL, "" when
 * the encoding is readable but not DER, or the detail of the rule
 * broken.
 */
static const char *
ocsp_response_split_certs(const unsigned char *body, size_t len, bool walk,
    const unsigned char **fields_out, size_t *flen_out,
    const unsigned char **certs, size_t *certs_len)
{
	const char *bad = "not a DER BasicOCSPResponse";
	const unsigned char *p, *fields;
	unsigned tag;
	size_t hlen, clen, n, flen;
	int rc;

	*certs = NULL;
	*certs_len = 0;
	if ((rc = ocsp_response_tlv(body, len, &tag, &hlen, &clen)) != 0)
		return rc == -2 ? "" : bad;
	if (tag != DER_SEQUENCE)
		return bad;
	if (hlen + clen != len)
		return "";
	p = fields = body + hlen;
	n = clen;
	/* tbsResponseData, signatureAlgorithm, signature. */
	for (int i = 0; i < 3; i++) {
		if ((rc = ocsp_response_tlv(p, n, &tag, &hlen, &clen)) != 0)
			return rc == -2 ? "" : bad;
		if (tag != (i == 2 ? 0x03u : DER_SEQUENCE))
			return bad;
		p += hlen + clen;
		n -= hlen + clen;
	}
	flen = (size_t)(p - fields);
	if (n > 0) {
		/* [0] { SEQUENCE OF Certificate }, and nothing after. */
		if ((rc = ocsp_response_tlv(p, n, &tag, &hlen, &clen)) != 0)
			return rc == -2 ? "" : bad;
		if (tag != DER_CTX0 || hlen + clen != n)
			return bad;
		p += hlen;
		n = clen;
		if ((rc = ocsp_response_tlv(p, n, &tag, &hlen, &clen)) != 0)
			return rc == -2 ? "" : bad;
		if (tag != DER_SEQUENCE || hlen + clen != n)
			return bad;
		if (walk &&
		    !der_walk(p + hlen, clen, OCSP_RESPONSE_CERTS_DEPTH))
			return "certificates not DER";
		*certs = p + hlen;
		*certs_len = clen;
	}
	*fields_out = fields;
	*flen_out = flen;
	return NULL;
}

/*
 * ocsp_response_split_certs(), then writes into <out> (of <len> bytes)
 * the same response without its certificates, for OpenSSL to decode it
 * without them, and sets *out_len.
 */
static const char *
ocsp_response_strip_certs(const unsigned char *body, size_t len,
    unsigned char *out, size_t *out_len, const unsigned char **certs,
    size_t *certs_len)
{
	const char *bad = "not a DER BasicOCSPResponse", *why;
	const unsigned char *fields;
	size_t hlen, flen;

	if ((why = ocsp_response_split_certs(
	         body, len, true, &fields, &flen, certs, certs_len)) != NULL)
		return why;
	/* SEQUENCE header of the shorter whole, then the three fields. */
	if (flen < 0x80) {
		out[0] = DER_SEQUENCE;
		out[1] = (unsigned char)flen;
		hlen = 2;
	} else {
		size_t k = 0;

		for (size_t v = flen; v > 0; v >>= 8)
			k++;
		out[0] = DER_SEQUENCE;
		out[1] = (unsigned char)(0x80 | k);
		for (size_t b = 0; b < k; b++)
			out[2 + b] = (unsigned char)(flen >> (8 * (k - 1 - b)));
		hlen = 2 + k;
	}
	if (hlen + flen > len)
		return bad;
	memcpy(out + hlen, fields, flen);
	*out_len = hlen + flen;
	return NULL;
}

/*
 * Checks ResponseData.version in <body> (<len> bytes), already found to
 * be the canonical DER of a BasicOCSPResponse. The field is DEFAULT v1,
 * which DER leaves out, but OpenSSL re-encodes an explicit v1 as it came.
 * Returns NULL, or the detail of the rule broken.
 */
static const char *
ocsp_response_check_version(const unsigned char *body, size_t len)
{
	static const unsigned char v1[] = {0x02, 0x01, 0x00};
	unsigned tag;
	size_t hlen, clen;

	/* BasicOCSPResponse, then tbsResponseData, then its first field. */
	for (int depth = 0; depth < 2; depth++) {
		if (der_header(body, len, &tag, &hlen, &clen) == -1 ||
		    tag != DER_SEQUENCE)
			return "not a DER BasicOCSPResponse";
		body += hlen;
		len = clen;
	}
	if (der_header(body, len, &tag, &hlen, &clen) == -1)
		return "not a DER BasicOCSPResponse";
	if (tag != DER_CTX0)
		return NULL;
	if (clen == sizeof(v1) && memcmp(body + hlen, v1, clen) == 0)
		return "version v1 encoded explicitly (not DER)";
	return "version not v1";
}

/*
 * Writes GeneralizedTime <t> as "YYYY-MM-DDTHH:MM:SSZ" (UTC; fractions of
 * a second dropped) into <out>, and its time_t into *when if not NULL.
 * Returns 0, or -1 when <t> is not a valid time.
 */
static int
ocsp_response_format_time(const ASN1_GENERALIZEDTIME *t,
    char out[OCSP_RESPONSE_TIME_LEN], time_t *when)
{
	struct tm tm;
	int n;

	/*
	 * ASN1_TIME_to_tm() reads the clock when given NULL. Fractions of
	 * a second are DER's to allow but nobody's to need beyond
	 * milliseconds: "YYYYMMDDHHMMSS.fffZ" at most.
	 */
	if (t == NULL || ASN1_STRING_length(t) > OCSP_RESPONSE_GENTIME_MAX ||
	    ASN1_TIME_to_tm(t, &tm) != 1)
		return -1;
	n = snprintf(out, OCSP_RESPONSE_TIME_LEN,
	    "%04d-%02d-%02dT%02d:%02d:%02dZ", tm.tm_year + 1900, tm.tm_mon + 1,
	    tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec);
	if (n != OCSP_RESPONSE_TIME_LEN - 1) {
		out[0] = '\0';
		return -1;
	}
	if (when != NULL)
		*when = timegm(&tm);
	return 0;
}

/*
 * Records the responderID of <bs>: the name as RFC 2253 text (escaped to
 * ASCII, cut to fit), or the key hash. Returns NULL, or the detail of the
 * rule broken.
 */
static const char *
ocsp_response_read_responder(
    const OCSP_BASICRESP *bs, struct ocsp_response_facts *f)
{
	const ASN1_OCTET_STRING *key = NULL;
	const X509_NAME *name = NULL;
	BIO *mem;
	char *text;
	long n;

	if (OCSP_resp_get0_id(bs, &key, &name) != 1)
		return "not a DER BasicOCSPResponse";
	if (key != NULL) {
		f->by_key = true;
		if (ASN1_STRING_length(key) != OCSP_RESPONSE_KEY_HASH_LEN)
			return "responder key hash not 20 octets";
		memcpy(f->responder_key_hash, ASN1_STRING_get0_data(key),
		    OCSP_RESPONSE_KEY_HASH_LEN);
		return NULL;
	}
	/*
	 * A memory BIO is the only way to OpenSSL's RFC 2253 printer. The
	 * name is for people; should printing fail, it stays empty.
	 */
	if (name == NULL)
		return NULL;
	/* A name is what the responder's certificate says, not a payload. */
	if (i2d_X509_NAME(name, NULL) > OCSP_RESPONSE_NAME_DER_MAX)
		return "responder name over 1 KiB";
	if ((mem = BIO_new(BIO_s_mem())) == NULL)
		return NULL;
	if (X509_NAME_print_ex(mem, name, 0, XN_FLAG_RFC2253) >= 0 &&
	    (n = BIO_get_mem_data(mem, &text)) > 0) {
		if ((size_t)n >= sizeof(f->responder_name))
			n = (long)sizeof(f->responder_name) - 1;
		memcpy(f->responder_name, text, (size_t)n);
		f->responder_name[n] = '\0';
	}
	BIO_free(mem);
	return NULL;
}

/*
 * True when <cid> names one of the certificates of <req>: the same hash
 * algorithm, issuer name and key hashes and serial number. On success
 * the serial's magnitude goes to <out>.
 */
static bool
ocsp_response_id_asked(const OCSP_CERTID *cid,
    const struct ocsp_request_facts *req, struct ocsp_single_facts *out)
{
	ASN1_OCTET_STRING *name_hash, *key_hash;
	ASN1_OBJECT *alg;
	ASN1_INTEGER *serial;
	const unsigned char *s, *nh, *kh;
	size_t s_len, hlen, i, ncerts;
	int nid;
	enum ocsp_hash h = OCSP_HASH_MAX;

	/* OCSP_id_get0_info() takes a non-const ID but does not change it. */
	if (req == NULL ||
	    OCSP_id_get0_info(&name_hash, &alg, &key_hash, &serial,
	        (OCSP_CERTID *)(uintptr_t)cid) != 1)
		return false;
	nid = OBJ_obj2nid(alg);
	for (i = 0;
	     i < sizeof(ocsp_response_hashes) / sizeof(ocsp_response_hashes[0]);
	     i++)
		if (ocsp_response_hashes[i].nid == nid)
			h = ocsp_response_hashes[i].hash;
	if (h == OCSP_HASH_MAX)
		return false;
	hlen = ocsp_hash_len(h);
	if ((size_t)ASN1_STRING_length(name_hash) != hlen ||
	    (size_t)ASN1_STRING_length(key_hash) != hlen)
		return false;
	nh = ASN1_STRING_get0_data(name_hash);
	kh = ASN1_STRING_get0_data(key_hash);

	/* Magnitude, as ocsp_request.c records it; the requests' are > 0. */
	if (ASN1_STRING_type(serial) == V_ASN1_NEG_INTEGER)
		return false;
	s = ASN1_STRING_get0_data(serial);
	s_len = (size_t)ASN1_STRING_length(serial);
	while (s_len > 0 && s[0] == 0) {
		s++;
		s_len--;
	}
	if (s_len == 0 || s_len > OCSP_SERIAL_MAX_BYTES)
		return false;

	ncerts = req->ncerts < OCSP_REQUEST_MAX_CERTS ? req->ncerts
	                                              : OCSP_REQUEST_MAX_CERTS;
	for (i = 0; i < ncerts; i++) {
		const struct ocsp_cert_id *c = &req->certs[i];

		if (c->hash == h && c->hash_len == hlen &&
		    memcmp(c->name_hash, nh, hlen) == 0 &&
		    memcmp(c->key_hash, kh, hlen) == 0 &&
		    c->serial_len == s_len && memcmp(c->serial, s, s_len) == 0)
			break;
	}
	if (i == ncerts)
		return false;
	memcpy(out->serial, s, s_len);
	out->serial_len = s_len;
	return true;
}

/*
 * Reads the revocationReason of revoked SingleResponse <one> from its
 * DER. OpenSSL's accessor passes the ENUMERATED through a long and then
 * an int, so that a value too large for either comes back as another,
 * possibly valid, one. Every CRLReason fits in one content octet.
 * Returns the reason, OCSP_REVOKED_STATUS_NOSTATUS when there is none,
 * or -2 when it is not a CRLReason.
 */
static int
ocsp_response_reason(const OCSP_SINGLERESP *one)
{
	unsigned char *enc = NULL;
	const unsigned char *p;
	unsigned tag;
	size_t n, hlen, clen;
	int len, reason = -2;

	if ((len = i2d_OCSP_SINGLERESP(one, &enc)) <= 0)
		return -2;
	p = enc;
	n = (size_t)len;
	/* SingleResponse, then certID (skipped), then certStatus. */
	if (der_header(p, n, &tag, &hlen, &clen) == -1 || tag != DER_SEQUENCE)
		goto done;
	p += hlen;
	n = clen;
	if (der_header(p, n, &tag, &hlen, &clen) == -1 || tag != DER_SEQUENCE)
		goto done;
	p += hlen + clen;
	n -= hlen + clen;
	if (der_header(p, n, &tag, &hlen, &clen) == -1 || tag != DER_CTX1)
		goto done;
	p += hlen;
	n = clen;
	/* RevokedInfo: revocationTime, then [0] EXPLICIT CRLReason. */
	if (der_header(p, n, &tag, &hlen, &clen) == -1 ||
	    tag != DER_GENERALIZED_TIME)
		goto done;
	p += hlen + clen;
	n -= hlen + clen;
	if (n == 0) {
		reason = OCSP_REVOKED_STATUS_NOSTATUS;
		goto done;
	}
	if (der_header(p, n, &tag, &hlen, &clen) == -1 || tag != DER_CTX0)
		goto done;
	p += hlen;
	n = clen;
	if (der_header(p, n, &tag, &hlen, &clen) == -1 ||
	    tag != DER_ENUMERATED || clen != 1 || p[hlen] >= 0x80)
		goto done;
	reason = p[hlen];
done:
	OPENSSL_free(enc);
	return reason;
}

/*
 * Reads SingleResponse <one> into <out>: it must be about a certificate
 * <req> asked for, with valid times and a known revocation reason.
 * *next_update is set to its nextUpdate, or 0 when there is none.
 * Returns NULL, or the detail of the rule broken.
 */
static const char *
ocsp_response_read_single(OCSP_SINGLERESP *one,
    const struct ocsp_request_facts *req, struct ocsp_single_facts *out,
    time_t *next_update)
{
	ASN1_GENERALIZEDTIME *rev = NULL, *this_upd = NULL, *next_upd = NULL;
	const size_t nreasons = sizeof(ocsp_response_crl_reasons) /
	    sizeof(ocsp_response_crl_reasons[0]);
	int st, reason;

	memset(out, 0, sizeof(*out));
	*next_update = 0;
	if (one == NULL)
		return "not a DER BasicOCSPResponse";
	if (!ocsp_response_id_asked(OCSP_SINGLERESP_get0_id(one), req, out))
		return "response about a certificate not asked for";

	st = OCSP_single_get0_status(one, NULL, &rev, &this_upd, &next_upd);
	switch (st) {
	case V_OCSP_CERTSTATUS_GOOD:
		out->status = OCSP_CERT_GOOD;
		break;
	case V_OCSP_CERTSTATUS_REVOKED:
		out->status = OCSP_CERT_REVOKED;
		if (ocsp_response_format_time(
		        rev, out->revocation_time, NULL) == -1)
			return "revocationTime not a valid time";
		reason = ocsp_response_reason(one);
		if (reason == OCSP_REVOKED_STATUS_NOSTATUS)
			break;
		if (reason < 0 || (size_t)reason >= nreasons ||
		    ocsp_response_crl_reasons[reason] == NULL)
			return "unknown revocation reason";
		out->revocation_reason = ocsp_response_crl_reasons[reason];
		break;
	case V_OCSP_CERTSTATUS_UNKNOWN:
		out->status = OCSP_CERT_UNKNOWN;
		break;
	default:
		return "not a DER BasicOCSPResponse";
	}
	if (ocsp_response_format_time(this_upd, out->this_update, NULL) == -1)
		return "thisUpdate not a valid time";
	if (next_upd != NULL &&
	    ocsp_response_format_time(
	        next_upd, out->next_update, next_update) == -1)
		return "nextUpdate not a valid time";
	return ocsp_response_check_single_exts(one);
}

/*
 * Checks the nonce extension <ext> of a response: an OCTET STRING in
 * extnValue (RFC 8954), as requests carry it, and only in answer to a
 * request that carried one, whose nonce it must equal (when <req> is
 * NULL, only its form is checked). Returns NULL, or the detail.
 */
static const char *
ocsp_response_check_nonce(X509_EXTENSION *ext,
    const struct ocsp_request_facts *req, struct ocsp_response_facts *f)
{
	ASN1_OCTET_STRING *v;
	const unsigned char *p;
	unsigned tag;
	size_t n, hlen, clen;

	f->has_nonce = true;
	if ((v = X509_EXTENSION_get_data(ext)) == NULL ||
	    (p = ASN1_STRING_get0_data(v)) == NULL)
		return "nonce not a DER OCTET STRING";
	n = (size_t)ASN1_STRING_length(v);
	if (der_header(p, n, &tag, &hlen, &clen) == -1 ||
	    tag != DER_OCTET_STRING || hlen + clen != n)
		return "nonce not a DER OCTET STRING";
	if (req == NULL)
		return NULL;
	/* Unasked, a nonce is bytes of the responder's choosing. */
	if (!req->has_nonce)
		return "nonce the request did not carry";
	if (clen != req->nonce_len || clen > sizeof(req->nonce) ||
	    memcmp(p + hlen, req->nonce, clen) != 0)
		return "nonce differs from the request's";
	return NULL;
}

/*
 * The responseExtensions of <bs>: RFC 6960 4.4 defines two a response
 * carries, the nonce (4.4.1) and the extended revoked definition
 * (4.4.8, NULL); each at most once. Returns NULL, or the detail.
 */
static const char *
ocsp_response_check_extensions(OCSP_BASICRESP *bs,
    const struct ocsp_request_facts *req, struct ocsp_response_facts *f)
{
	static const unsigned char null[] = {0x05, 0x00};
	int n = OCSP_BASICRESP_get_ext_count(bs);
	bool nonce = false, extended = false;

	for (int i = 0; i < n; i++) {
		X509_EXTENSION *ext = OCSP_BASICRESP_get_ext(bs, i);
		const ASN1_OCTET_STRING *v = X509_EXTENSION_get_data(ext);
		const char *why;

		switch (OBJ_obj2nid(X509_EXTENSION_get_object(ext))) {
		case NID_id_pkix_OCSP_Nonce:
			if (nonce)
				return "duplicate nonce";
			nonce = true;
			if ((why = ocsp_response_check_nonce(ext, req, f)) !=
			    NULL)
				return why;
			break;
		case NID_id_pkix_OCSP_extendedStatus:
			if (extended)
				return "response extension repeated";
			extended = true;
			if (ASN1_STRING_length(v) != (int)sizeof(null) ||
			    memcmp(ASN1_STRING_get0_data(v), null,
			        sizeof(null)) != 0)
				return "extended revoked definition not NULL";
			break;
		default:
			return "unknown response extension";
		}
	}
	return NULL;
}

/*
 * The singleExtensions RFC 6960 4.4 defines (CRL references 4.4.2,
 * archive cutoff 4.4.4, and as 4.4.5 says every CRL entry extension of
 * RFC 5280 5.3) and the CT SCT list of RFC 6962 3.3, with the most
 * bytes each needs.
 */
static const struct {
	int nid;
	int max;
} ocsp_response_single_exts[] = {
    {NID_id_pkix_OCSP_CrlID, 256},
    {NID_id_pkix_OCSP_archiveCutoff, 21},
    {NID_crl_reason, 3},
    {NID_invalidity_date, 21},
    {NID_certificate_issuer, 256},
    {NID_hold_instruction_code, 16},
    {NID_ct_cert_scts, 1024},
};

#define OCSP_RESPONSE_SCT_MAX     5   /* SCTs in one list */
#define OCSP_RESPONSE_SCT_SIG_MAX 256 /* an RSA-2048 log's signature */

/*
 * An SCT list (RFC 6962 3.3) of a few version 1 SCTs, each with a log
 * ID, no extensions and a signature of a log's algorithm (ECDSA P-256
 * or RSA with SHA-256). Returns NULL, or the detail.
 */
static const char *
ocsp_response_check_scts(X509_EXTENSION *ext)
{
	const ASN1_OCTET_STRING *v = X509_EXTENSION_get_data(ext);
	const unsigned char *p = ASN1_STRING_get0_data(v);
	STACK_OF(SCT) * list;
	const char *why = NULL;
	int n;

	if ((list = d2i_SCT_LIST(NULL, &p, ASN1_STRING_length(v))) == NULL)
		return "SCT list not of its definition";
	n = sk_SCT_num(list);
	if (n <= 0 || n > OCSP_RESPONSE_SCT_MAX)
		why = "SCT list of more than 5";
	for (int i = 0; why == NULL && i < n; i++) {
		SCT *sct = sk_SCT_value(list, i);
		unsigned char *data;
		int nid = SCT_get_signature_nid(sct);

		if (SCT_get_version(sct) != SCT_VERSION_V1 ||
		    SCT_get0_log_id(sct, &data) != CT_V1_HASHLEN ||
		    SCT_get0_extensions(sct, &data) != 0 ||
		    (nid != NID_ecdsa_with_SHA256 &&
		        nid != NID_sha256WithRSAEncryption) ||
		    SCT_get0_signature(sct, &data) > OCSP_RESPONSE_SCT_SIG_MAX)
			why = "SCT not a version 1 SCT of a log";
	}
	SCT_LIST_free(list);
	return why;
}

/*
 * The singleExtensions of <one>: known, each at most once, within its
 * size, of its definition. Returns NULL, or the detail.
 */
static const char *
ocsp_response_check_single_exts(OCSP_SINGLERESP *one)
{
	const size_t nknown = sizeof(ocsp_response_single_exts) /
	    sizeof(ocsp_response_single_exts[0]);
	int n = OCSP_SINGLERESP_get_ext_count(one);
	bool seen[sizeof(ocsp_response_single_exts) /
	    sizeof(ocsp_response_single_exts[0])] = {false};

	for (int i = 0; i < n; i++) {
		X509_EXTENSION *ext = OCSP_SINGLERESP_get_ext(one, i);
		int nid = OBJ_obj2nid(X509_EXTENSION_get_object(ext));
		size_t k;

		for (k = 0; k < nknown; k++)
			if (ocsp_response_single_exts[k].nid == nid)
				break;
		if (k == nknown)
			return "unknown single extension";
		if (seen[k])
			return "single extension repeated";
		seen[k] = true;
		if (ASN1_STRING_length(X509_EXTENSION_get_data(ext)) >
		    ocsp_response_single_exts[k].max)
			return "single extension too long";
		if (!pkix_extension_decodes(ext))
			return "single extension not of its definition";
		if (nid == NID_ct_cert_scts) {
			const char *why = ocsp_response_check_scts(ext);

			if (why != NULL)
				return why;
		}
	}
	return NULL;
}

/* The certificates of a response, read by pkix_cert_parse(). */
struct ocsp_response_certs {
	struct pkix_cert c[OCSP_RESPONSE_MAX_SIGNER_CERTS];
	size_t n;
};

/*
 * Reads the certificates of the response (<der>, <len> bytes of DER
 * certificates one after the other) into <out>: at most
 * OCSP_RESPONSE_MAX_SIGNER_CERTS, each a DER X.509 certificate with only
 * known extensions (unknown ones bounded and counted in
 * f->unknown_extensions). Returns NULL, or the detail.
 */
static const char *
ocsp_response_read_certs(const unsigned char *der, size_t len,
    struct ocsp_response_certs *out, struct ocsp_response_facts *f)
{
	out->n = 0;
	while (len > 0) {
		unsigned tag;
		size_t hlen, clen;
		const char *why;

		if (der_header(der, len, &tag, &hlen, &clen) == -1 ||
		    tag != DER_SEQUENCE)
			return "certs holds something not a certificate";
		if (out->n == OCSP_RESPONSE_MAX_SIGNER_CERTS)
			return "more than 4 certificates";
		if ((why = pkix_cert_parse(der, hlen + clen, &out->c[out->n],
		         &f->unknown_extensions)) != NULL)
			return why;
		out->n++;
		der += hlen + clen;
		len -= hlen + clen;
	}
	return NULL;
}

/* True when the two DER names are the same name. */
static bool
ocsp_response_same_name(struct pkix_span a, const X509_NAME *b)
{
	const unsigned char *p = a.p;
	unsigned char *enc = NULL;
	X509_NAME *x;
	int n;
	bool same;

	/* Real responders copy the subject's bytes: compare those first. */
	if ((n = i2d_X509_NAME(b, &enc)) > 0 && (size_t)n == a.len &&
	    memcmp(enc, a.p, a.len) == 0) {
		OPENSSL_free(enc);
		return true;
	}
	OPENSSL_free(enc);
	if ((x = d2i_X509_NAME(NULL, &p, (long)a.len)) == NULL)
		return false;
	same = X509_NAME_cmp(x, b) == 0;
	X509_NAME_free(x);
	return same;
}

/* True when <c>'s key is the one whose SHA-1 is <hash>. */
static bool
ocsp_response_key_is(const struct pkix_cert *c, const ASN1_OCTET_STRING *hash)
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned mdlen = 0;

	return EVP_Digest(c->key_bits.p, c->key_bits.len, md, &mdlen,
	           EVP_sha1(), NULL) == 1 &&
	    mdlen == (unsigned)ASN1_STRING_length(hash) &&
	    memcmp(md, ASN1_STRING_get0_data(hash), mdlen) == 0;
}

/* True when <c> is the issuer certificate ID <cid> names. */
static bool
ocsp_response_is_named_issuer(const struct pkix_cert *c, OCSP_CERTID *cid)
{
	ASN1_OCTET_STRING *nh, *kh;
	ASN1_OBJECT *alg;
	unsigned char name[EVP_MAX_MD_SIZE], key[EVP_MAX_MD_SIZE];
	const EVP_MD *md;
	unsigned len;

	if (OCSP_id_get0_info(&nh, &alg, &kh, NULL, cid) != 1 ||
	    (md = EVP_get_digestbyobj(alg)) == NULL ||
	    pkix_issuer_hashes(c, md, name, key, &len) == -1)
		return false;
	return (unsigned)ASN1_STRING_length(nh) == len &&
	    (unsigned)ASN1_STRING_length(kh) == len &&
	    memcmp(ASN1_STRING_get0_data(nh), name, len) == 0 &&
	    memcmp(ASN1_STRING_get0_data(kh), key, len) == 0;
}

/* True when <c>'s issuer name is the one certificate ID <cid> names. */
static bool
ocsp_response_issued_by_named(const struct pkix_cert *c, OCSP_CERTID *cid)
{
	ASN1_OCTET_STRING *nh;
	ASN1_OBJECT *alg;
	unsigned char md_out[EVP_MAX_MD_SIZE];
	const EVP_MD *md;
	unsigned len = 0;

	return OCSP_id_get0_info(&nh, &alg, NULL, NULL, cid) == 1 &&
	    (md = EVP_get_digestbyobj(alg)) != NULL &&
	    EVP_Digest(c->issuer.p, c->issuer.len, md_out, &len, md, NULL) ==
	    1 &&
	    (unsigned)ASN1_STRING_length(nh) == len &&
	    memcmp(ASN1_STRING_get0_data(nh), md_out, len) == 0;
}

/*
 * Who signed <bs>, judged from the response alone (RFC 6960 4.2.2.2):
 * when its certificates are there the signer must be among them (the
 * responderID names it), and for every SingleResponse that is not
 * "unknown" either be the issuer its certificate ID names, and a CA, or
 * carry id-kp-OCSPSigning and be issued by that issuer (by name); any
 * other certificate must be the issuer of one in the list, and a CA. The
 * signature must fit its algorithm, and the signer's key when it is known.
 * Returns NULL, or the detail.
 */
static const char *
ocsp_response_check_signer(
    OCSP_BASICRESP *bs, const struct ocsp_response_certs *certs)
{
	const ASN1_OCTET_STRING *key = NULL;
	const X509_NAME *name = NULL;
	const struct pkix_cert *signer = NULL;
	const X509_ALGOR *alg = OCSP_resp_get0_tbs_sigalg(bs);
	const ASN1_BIT_STRING *sig = OCSP_resp_get0_signature(bs);
	size_t n = certs->n;

	if (OCSP_resp_get0_id(bs, &key, &name) != 1)
		return "not a DER BasicOCSPResponse";
	for (size_t i = 0; signer == NULL && i < n; i++) {
		const struct pkix_cert *c = &certs->c[i];

		if ((name != NULL &&
		        ocsp_response_same_name(c->subject, name)) ||
		    (key != NULL && ocsp_response_key_is(c, key)))
			signer = c;
	}
	if (n > 0 && signer == NULL)
		return "signer not among the certificates";
	for (size_t i = 0; i < n; i++) {
		const struct pkix_cert *c = &certs->c[i];
		bool issues = false;

		if (c == signer)
			continue;
		for (size_t k = 0; k < n && !issues; k++)
			issues = k != i &&
			    certs->c[k].issuer.len == c->subject.len &&
			    memcmp(certs->c[k].issuer.p, c->subject.p,
			        c->subject.len) == 0;
		if (!issues)
			return "a certificate that is not on the signer's path";
		if (!c->ca)
			return "an issuer certificate that is not a CA";
	}
	if (signer == NULL)
		return pkix_signature_fits(alg, sig, NULL);
	for (int i = 0; i < OCSP_resp_count(bs); i++) {
		OCSP_SINGLERESP *one = OCSP_resp_get0(bs, i);
		OCSP_CERTID *cid =
		    (OCSP_CERTID *)(uintptr_t)OCSP_SINGLERESP_get0_id(one);

		/*
		 * RFC 6960 2.2: "unknown" is also what a responder says of a
		 * certificate whose issuer it does not serve, signed with its
		 * own key, which no such issuer authorized.
		 */
		if (OCSP_single_get0_status(one, NULL, NULL, NULL, NULL) ==
		    V_OCSP_CERTSTATUS_UNKNOWN)
			continue;
		if (ocsp_response_is_named_issuer(signer, cid)) {
			if (!signer->ca)
				return "signer is the named issuer but not a "
				       "CA";
			continue;
		}
		if (!signer->ocsp_signing)
			return "signer neither the named issuer nor its OCSP "
			       "responder";
		if (!ocsp_response_issued_by_named(signer, cid))
			return "responder certificate not issued by the named "
			       "issuer";
	}
	return pkix_signature_fits(alg, sig, &signer->key);
}

/*
 * Inspects the responseBytes of a successful response <resp>, whose
 * responseType is <type> and response <body> (lengths beside them).
 * Returns NULL, or the detail of the rule broken.
 */
static const char *
ocsp_response_inspect_basic(const unsigned char *type, size_t type_len,
    const unsigned char *body, size_t body_len,
    const struct ocsp_request_facts *req, struct ocsp_response_facts *f)
{
	OCSP_BASICRESP *bs = NULL;
	struct ocsp_response_certs certs;
	unsigned char *enc = NULL, *lean = NULL;
	const unsigned char *p, *cert_der;
	const char *why;
	size_t lean_len = 0, cert_len;
	time_t next;
	int n, i;

	if (type_len != sizeof(oid_basic) ||
	    memcmp(type, oid_basic, type_len) != 0)
		return "responseBytes not a BasicOCSPResponse";
	if ((lean = OPENSSL_malloc(body_len > 0 ? body_len : 1)) == NULL) {
		why = "out of memory";
		goto done;
	}
	if ((why = ocsp_response_strip_certs(body, body_len, lean, &lean_len,
	         &cert_der, &cert_len)) != NULL) {
		if (why[0] == '\0')
			why = "BasicOCSPResponse not canonical DER";
		goto done;
	}
	p = lean;
	if ((bs = d2i_OCSP_BASICRESP(NULL, &p, (long)lean_len)) == NULL ||
	    (size_t)(p - lean) != lean_len) {
		why = "not a DER BasicOCSPResponse";
		goto done;
	}
	/* d2i takes BER: what it read must re-encode to the same bytes. */
	if ((n = i2d_OCSP_BASICRESP(bs, &enc)) <= 0 || (size_t)n != lean_len ||
	    memcmp(enc, lean, lean_len) != 0) {
		why = "BasicOCSPResponse not canonical DER";
		goto done;
	}
	if ((why = ocsp_response_check_version(lean, lean_len)) != NULL)
		goto done;
	f->basic = true;

	if ((why = ocsp_response_read_responder(bs, f)) != NULL)
		goto done;
	if (ocsp_response_format_time(
	        OCSP_resp_get0_produced_at(bs), f->produced_at, NULL) == -1) {
		why = "producedAt not a valid time";
		goto done;
	}

	n = OCSP_resp_count(bs);
	if (n <= 0) {
		why = "no SingleResponse";
		goto done;
	}
	if (n > OCSP_RESPONSE_MAX_CERTS) {
		why = "more than 8 SingleResponses";
		goto done;
	}
	for (i = 0; i < n; i++) {
		if ((why = ocsp_response_read_single(OCSP_resp_get0(bs, i), req,
		         &f->certs[f->ncerts], &next)) != NULL)
			goto done;
		f->ncerts++;
		if (next != 0 &&
		    (f->min_next_update == 0 || next < f->min_next_update))
			f->min_next_update = next;
	}
	if ((why = ocsp_response_check_extensions(bs, req, f)) != NULL)
		goto done;
	if ((why = ocsp_response_read_certs(cert_der, cert_len, &certs, f)) !=
	    NULL)
		goto done;
	why = ocsp_response_check_signer(bs, &certs);
done:
	OPENSSL_free(lean);
	OPENSSL_free(enc);
	OCSP_BASICRESP_free(bs);
	return why;
}

/*
 * The outer DER first (length, canonical encoding, status), then for a
 * successful response the BasicOCSPResponse: its own encoding, the
 * responder, the SingleResponses in order, the nonce. f->parsed is set
 * once the status is known to be valid, f->basic once the
 * BasicOCSPResponse's encoding passed; the facts after that are filled as
 * far as the checks got, and certs[] holds the SingleResponses that
 * passed theirs.
 */
static enum reason
ocsp_response_inspect_decoded(const unsigned char *der, size_t len,
    const struct ocsp_request_facts *req, struct ocsp_response_facts *f)
{
	const unsigned char *type = NULL, *body = NULL;
	const char *why;
	size_t type_len = 0, body_len = 0;
	int status = -1;

	memset(f, 0, sizeof(*f));
	ERR_set_mark();
	why = ocsp_response_read_wrapper(
	    der, len, &status, &type, &type_len, &body, &body_len);
	if (why != NULL)
		goto done;
	if (!ocsp_response_status_known(status)) {
		why = "unknown response status";
		goto done;
	}
	f->parsed = true;
	f->status = status;
	if (status != OCSP_RESPONSE_STATUS_SUCCESSFUL && body != NULL)
		why = "responseBytes with a non-successful status";
	else if (status == OCSP_RESPONSE_STATUS_SUCCESSFUL && body == NULL)
		why = "successful status without responseBytes";
	else if (status == OCSP_RESPONSE_STATUS_SUCCESSFUL)
		why = ocsp_response_inspect_basic(
		    type, type_len, body, body_len, req, f);
done:
	ERR_pop_to_mark();
	f->detail = why;
	return why == NULL ? REASON_NONE : REASON_RESPONSE_MALFORMED;
}

/*
 * The one-pass walk. Its first pass holds the BasicOCSPResponse without
 * its certificates to DER and to the shapes genuine responders write;
 * what it does not take (BER, a singleExtensions list, a responder name
 * or a time in a form it does not print, a parameter of another type
 * where the syntax has ANY) goes to the full decoder, as does a signer
 * whose name only a decoded comparison could match. The second pass
 * applies the full inspection's rules in its order.
 */

/* The walk leaves the response to the full decoder. */
static const char ocsp_response_undecided[] = "undecided";

/* DER identifier octets the walk expects beyond those above. */
#define DER_BOOLEAN    0x01
#define DER_INTEGER    0x02
#define DER_BIT_STRING 0x03
#define DER_NULL       0x05
#define DER_UTF8       0x0c
#define DER_PRINTABLE  0x13
#define DER_IA5        0x16
#define DER_SET        0x31
#define DER_GOOD       0x80 /* [0] IMPLICIT NULL: CertStatus good */
#define DER_UNKNOWN    0x82 /* [2] IMPLICIT NULL: CertStatus unknown */
#define DER_CTX2       0xa2 /* [2] constructed: ResponderID byKey */

#define OCSP_RESPONSE_GENTIME_LEN 15 /* "YYYYMMDDHHMMSSZ" */
#define OCSP_RESPONSE_NAME_ATVS   32 /* attributes of a printed name */

/*
 * id-pkix-ocsp nonce (.2), and the OID OpenSSL names extendedStatus
 * (NID_id_pkix_OCSP_extendedStatus, .8), which the full inspection
 * takes for the extended revoked definition.
 */
static const unsigned char oid_nonce[] = {
    0x2b, 0x06, 0x01, 0x05, 0x05, 0x07, 0x30, 0x01, 0x02};
static const unsigned char oid_extended[] = {
    0x2b, 0x06, 0x01, 0x05, 0x05, 0x07, 0x30, 0x01, 0x08};

/*
 * The attribute types of names the walk prints, by OID content octets,
 * with the short names OpenSSL's RFC 2253 printer gives them.
 */
#define X520(k)  0x55, 0x04, (k)
#define PILOT(k) 0x09, 0x92, 0x26, 0x89, 0x93, 0xf2, 0x2c, 0x64, 0x01, (k)
#define EV_JURISDICTION(k)                                                     \
	0x2b, 0x06, 0x01, 0x04, 0x01, 0x82, 0x37, 0x3c, 0x02, 0x01, (k)
static const struct {
	unsigned char oid[11];
	size_t len;
	const char *name;
} ocsp_response_attrs[] = {
    {{X520(0x03)}, 3, "CN"},
    {{X520(0x0a)}, 3, "O"},
    {{X520(0x0b)}, 3, "OU"},
    {{X520(0x06)}, 3, "C"},
    {{X520(0x08)}, 3, "ST"},
    {{X520(0x07)}, 3, "L"},
    {{X520(0x05)}, 3, "serialNumber"},
    {{X520(0x61)}, 3, "organizationIdentifier"},
    {{X520(0x09)}, 3, "street"},
    {{X520(0x11)}, 3, "postalCode"},
    {{X520(0x0f)}, 3, "businessCategory"},
    {{X520(0x0c)}, 3, "title"},
    {{X520(0x04)}, 3, "SN"},
    {{X520(0x2a)}, 3, "GN"},
    {{X520(0x2e)}, 3, "dnQualifier"},
    {{0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x09, 0x01}, 9, "emailAddress"},
    {{PILOT(0x19)}, 10, "DC"},
    {{PILOT(0x01)}, 10, "UID"},
    {{EV_JURISDICTION(0x01)}, 11, "jurisdictionL"},
    {{EV_JURISDICTION(0x02)}, 11, "jurisdictionST"},
    {{EV_JURISDICTION(0x03)}, 11, "jurisdictionC"},
};

/* The short name of attribute type <oid>, or NULL. */
static const char *
ocsp_response_attr_name(struct der_cursor oid)
{
	for (size_t i = 0;
	     i < sizeof(ocsp_response_attrs) / sizeof(ocsp_response_attrs[0]);
	     i++)
		if (oid.n == ocsp_response_attrs[i].len &&
		    memcmp(oid.p, ocsp_response_attrs[i].oid, oid.n) == 0)
			return ocsp_response_attrs[i].name;
	return NULL;
}

/* True when the <n> octets at <p> are all printable ASCII. */
static bool
ocsp_response_ascii(const unsigned char *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (p[i] < 0x20 || p[i] > 0x7e)
			return false;
	return true;
}

/*
 * One AttributeTypeAndValue of a Name the walk prints: its short name,
 * its value, and the index of its RDN.
 */
struct ocsp_response_atv {
	const char *name;
	struct der_cursor value;
	size_t rdn;
};

/*
 * Reads Name content <name> into <atv> (OCSP_RESPONSE_NAME_ATVS at most)
 * when it is DER of the shape the walk prints: each RDN a SET of one or
 * more attributes of a type in ocsp_response_attrs, each a
 * PrintableString, UTF8String or IA5String of printable ASCII. OpenSSL's
 * decoder takes such a name and keeps its bytes. Returns the count of
 * attributes, or -1.
 */
static int
ocsp_response_name_der(struct der_cursor name, struct ocsp_response_atv atv[])
{
	struct der_cursor rdn, a, oid;
	size_t n = 0, r = 0;
	int tag;

	for (; name.n > 0; r++) {
		if (der_next(&name, DER_SET, &rdn) == -1 || rdn.n == 0)
			return -1;
		while (rdn.n > 0) {
			if (n == OCSP_RESPONSE_NAME_ATVS ||
			    der_next(&rdn, DER_SEQUENCE, &a) == -1 ||
			    der_next(&a, DER_OID, &oid) == -1 ||
			    (atv[n].name = ocsp_response_attr_name(oid)) ==
			        NULL)
				return -1;
			tag = der_peek(&a);
			if ((tag != DER_PRINTABLE && tag != DER_UTF8 &&
			        tag != DER_IA5) ||
			    der_next(&a, (unsigned)tag, &atv[n].value) == -1 ||
			    a.n != 0 ||
			    !ocsp_response_ascii(
			        atv[n].value.p, atv[n].value.n))
				return -1;
			atv[n++].rdn = r;
		}
	}
	return (int)n;
}

/* Appends <c> to <out> (<*len> used of <cap>, one kept for the NUL). */
static void
ocsp_response_put(char *out, size_t cap, size_t *len, char c)
{
	if (*len + 1 < cap)
		out[(*len)++] = c;
}

/*
 * True when printable ASCII value <v> (<n> bytes, n > 0) has an octet
 * ocsp_response_print_name() escapes: one of ,+"\<>; anywhere, a ' ' or
 * '#' first, a ' ' last.
 */
static bool
ocsp_response_escapes(const unsigned char *v, size_t n)
{
	/* ,+"<>; among 0x20..0x3f, by bit. */
	static const uint32_t special = 1u << (',' - 0x20) |
	    1u << ('+' - 0x20) | 1u << ('"' - 0x20) | 1u << ('<' - 0x20) |
	    1u << ('>' - 0x20) | 1u << (';' - 0x20);

	if (v[0] == ' ' || v[0] == '#' || v[n - 1] == ' ')
		return true;
	for (size_t k = 0; k < n; k++) {
		unsigned c = v[k];

		if (c == '\\' ||
		    (c >= 0x20 && c < 0x40 && (special >> (c - 0x20) & 1u)))
			return true;
	}
	return false;
}

/*
 * Prints the <n> attributes <atv> as OpenSSL's X509_NAME_print_ex() does
 * with XN_FLAG_RFC2253 (last RDN first, ',' between RDNs and '+' inside
 * one, short names, ,+"\<>; escaped, and a '#' or ' ' first or a ' '
 * last), cut to <cap> - 1 characters and terminated.
 */
static void
ocsp_response_print_name(
    const struct ocsp_response_atv atv[], int n, char *out, size_t cap)
{
	size_t len = 0;

	for (int i = n - 1; i >= 0; i--) {
		const unsigned char *v = atv[i].value.p;
		size_t vn = atv[i].value.n;

		if (i != n - 1)
			ocsp_response_put(out, cap, &len,
			    atv[i].rdn == atv[i + 1].rdn ? '+' : ',');
		for (const char *s = atv[i].name; *s != '\0'; s++)
			ocsp_response_put(out, cap, &len, *s);
		ocsp_response_put(out, cap, &len, '=');
		if (vn > 0 && len + vn < cap && !ocsp_response_escapes(v, vn)) {
			memcpy(out + len, v, vn);
			len += vn;
			continue;
		}
		for (size_t k = 0; k < vn; k++) {
			char c = (char)v[k];
			bool esc = c == ',' || c == '+' || c == '"' ||
			    c == '\\' || c == '<' || c == '>' || c == ';';

			/* As OpenSSL has it, the last octet's rule wins. */
			if (k == vn - 1)
				esc = esc || c == ' ';
			else if (k == 0)
				esc = esc || c == ' ' || c == '#';
			if (esc)
				ocsp_response_put(out, cap, &len, '\\');
			ocsp_response_put(out, cap, &len, c);
		}
	}
	out[len] = '\0';
}

/* Days since 1970-01-01 of the proleptic Gregorian date <y>-<m>-<d>. */
static int64_t
ocsp_response_days(int64_t y, int64_t m, int64_t d)
{
	int64_t era, yoe, doy;

	y -= m <= 2;
	era = (y >= 0 ? y : y - 399) / 400;
	yoe = y - era * 400;
	doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	return era * 146097 + yoe * 365 + yoe / 4 - yoe / 100 + doy - 719468;
}

/*
 * Writes GeneralizedTime content <t>, which ocsp_response_gentime()
 * accepted, as ocsp_response_format_time() does into <out> (may be NULL)
 * and its time_t into *when (may be NULL): the second pass's reading of
 * a time the first checked.
 */
static void
ocsp_response_gentime_put(
    struct der_cursor t, char out[OCSP_RESPONSE_TIME_LEN], time_t *when)
{
	const unsigned char *p = t.p;
	int v[7];

	if (out != NULL) {
		/* "YYYY-MM-DDTHH:MM:SSZ" from the digits as they stand. */
		const char *sep = "--T::Z";

		memcpy(out, p, 4);
		for (int i = 2; i < 7; i++) {
			out[3 * i - 2] = sep[i - 2];
			out[3 * i - 1] = (char)p[2 * i];
			out[3 * i] = (char)p[2 * i + 1];
		}
		out[19] = 'Z';
		out[20] = '\0';
	}
	if (when == NULL)
		return;
	for (int i = 0; i < 7; i++)
		v[i] = (p[2 * i] - '0') * 10 + (p[2 * i + 1] - '0');
	*when =
	    (time_t)(ocsp_response_days(v[0] * 100 + v[1], v[2], v[3]) * 86400 +
	        v[4] * 3600 + v[5] * 60 + v[6]);
}

/*
 * Reads GeneralizedTime content <t> when it is "YYYYMMDDHHMMSSZ" with
 * each field in the range OpenSSL's reader holds it to: writes it as
 * ocsp_response_format_time() does into <out> (may be NULL) and its
 * time_t into *when (may be NULL). Returns false for any other form (a
 * fraction, no seconds, an offset: the full decoder reads those).
 */
static bool
ocsp_response_gentime(
    struct der_cursor t, char out[OCSP_RESPONSE_TIME_LEN], time_t *when)
{
	static const int mdays[12] = {
	    31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
	const unsigned char *p = t.p;
	int v[7], year, md;

	if (t.n != OCSP_RESPONSE_GENTIME_LEN || p[14] != 'Z')
		return false;
	for (int i = 0; i < 7; i++) {
		if (p[2 * i] < '0' || p[2 * i] > '9' || p[2 * i + 1] < '0' ||
		    p[2 * i + 1] > '9')
			return false;
		v[i] = (p[2 * i] - '0') * 10 + (p[2 * i + 1] - '0');
	}
	year = v[0] * 100 + v[1];
	if (v[2] < 1 || v[2] > 12)
		return false;
	md = mdays[v[2] - 1];
	if (v[2] == 2 &&
	    ((year % 4 == 0 && year % 100 != 0) || year % 400 == 0))
		md++;
	if (v[3] < 1 || v[3] > md || v[4] > 23 || v[5] > 59 || v[6] > 59)
		return false;
	ocsp_response_gentime_put(t, out, when);
	return true;
}

/*
 * True when <cid> (CertID content) is DER whose hash algorithm has
 * absent or NULL parameters.
 */
static bool
ocsp_response_cert_id_der(struct der_cursor cid)
{
	struct der_cursor alg, oid, v;

	if (der_next(&cid, DER_SEQUENCE, &alg) == -1 ||
	    der_next(&alg, DER_OID, &oid) == -1 || !der_oid_ok(oid.p, oid.n))
		return false;
	if (alg.n > 0 && (der_next(&alg, DER_NULL, &v) == -1 || v.n != 0))
		return false;
	return alg.n == 0 && der_next(&cid, DER_OCTET_STRING, NULL) == 0 &&
	    der_next(&cid, DER_OCTET_STRING, NULL) == 0 &&
	    der_next(&cid, DER_INTEGER, &v) == 0 && der_integer_ok(v.p, v.n) &&
	    cid.n == 0;
}

/*
 * True when SingleResponse content <one> is DER: a CertID, a status
 * (good, revoked with a time and an optional reason, unknown), times the
 * walk reads, and no singleExtensions but an empty list.
 */
static bool
ocsp_response_single_der(struct der_cursor one)
{
	struct der_cursor cid, v, x, e, exts;

	if (der_next(&one, DER_SEQUENCE, &cid) == -1 ||
	    !ocsp_response_cert_id_der(cid))
		return false;
	switch (der_peek(&one)) {
	case DER_GOOD:
	case DER_UNKNOWN:
		if (der_next(&one, (unsigned)one.p[0], &v) == -1 || v.n != 0)
			return false;
		break;
	case DER_CTX1:
		if (der_next(&one, DER_CTX1, &x) == -1 ||
		    der_next(&x, DER_GENERALIZED_TIME, &v) == -1 ||
		    !ocsp_response_gentime(v, NULL, NULL))
			return false;
		if (x.n > 0 &&
		    (der_next(&x, DER_CTX0, &v) == -1 ||
		        der_next(&v, DER_ENUMERATED, &e) == -1 ||
		        !der_integer_ok(e.p, e.n) || v.n != 0 || x.n != 0))
			return false;
		break;
	default:
		return false;
	}
	if (der_next(&one, DER_GENERALIZED_TIME, &v) == -1 ||
	    !ocsp_response_gentime(v, NULL, NULL))
		return false;
	if (der_peek(&one) == DER_CTX0 &&
	    (der_next(&one, DER_CTX0, &x) == -1 ||
	        der_next(&x, DER_GENERALIZED_TIME, &v) == -1 || x.n != 0 ||
	        !ocsp_response_gentime(v, NULL, NULL)))
		return false;
	if (der_peek(&one) == DER_CTX1 &&
	    (der_next(&one, DER_CTX1, &x) == -1 ||
	        der_next(&x, DER_SEQUENCE, &exts) == -1 || x.n != 0 ||
	        exts.n != 0))
		return false;
	return one.n == 0;
}

/* The parts of a BasicOCSPResponse the walk's second pass reads. */
struct ocsp_response_parts {
	struct der_cursor version;  /* [0]'s content; p NULL when absent */
	struct der_cursor name;     /* responderID byName: the Name TLV */
	struct der_cursor key;      /* byKey: the OCTET STRING's content */
	struct der_cursor produced; /* producedAt's content */
	struct der_cursor singles;  /* responses' content */
	struct der_cursor exts;     /* responseExtensions' content */
	struct der_cursor alg;      /* signatureAlgorithm's content */
	struct der_cursor sig;      /* signature's content */
	struct ocsp_response_atv atv[OCSP_RESPONSE_NAME_ATVS];
	int natv;
};

/*
 * The first pass: true when <fields> (tbsResponseData, signatureAlgorithm
 * and signature, certificates left out) is DER that OpenSSL reads and
 * writes back unchanged, of the shapes above. Fills <out>.
 */
static bool
ocsp_response_basic_der(
    struct der_cursor fields, struct ocsp_response_parts *out)
{
	static const struct der_cursor none = {NULL, 0};
	struct der_cursor tbs, x, v, one;

	/*
	 * The optional parts; the others are set, or the walk goes no
	 * further. The name's attributes are read only as far as natv says.
	 */
	out->version = out->name = out->key = out->exts = none;
	out->natv = 0;
	if (der_next(&fields, DER_SEQUENCE, &tbs) == -1 ||
	    der_next(&fields, DER_SEQUENCE, &out->alg) == -1 ||
	    der_next(&fields, DER_BIT_STRING, &out->sig) == -1 ||
	    fields.n != 0 || !der_bit_string_ok(out->sig.p, out->sig.n))
		return false;
	/* Parameters absent, NULL, or a SEQUENCE (kept whole, RSASSA-PSS). */
	x = out->alg;
	if (der_next(&x, DER_OID, &v) == -1 || !der_oid_ok(v.p, v.n))
		return false;
	if (der_peek(&x) == DER_NULL
	        ? der_next(&x, DER_NULL, &v) == -1 || v.n != 0
	        : x.n > 0 && der_next(&x, DER_SEQUENCE, NULL) == -1)
		return false;
	if (x.n != 0)
		return false;
	/* An explicit version: any INTEGER, for the rules to refuse. */
	if (der_peek(&tbs) == DER_CTX0) {
		if (der_next(&tbs, DER_CTX0, &out->version) == -1)
			return false;
		x = out->version;
		if (der_next(&x, DER_INTEGER, &v) == -1 ||
		    !der_integer_ok(v.p, v.n) || x.n != 0)
			return false;
	}
	if (der_peek(&tbs) == DER_CTX1) {
		if (der_next(&tbs, DER_CTX1, &out->name) == -1)
			return false;
		x = out->name;
		if (der_next(&x, DER_SEQUENCE, &v) == -1 || x.n != 0 ||
		    (out->natv = ocsp_response_name_der(v, out->atv)) < 0)
			return false;
	} else if (der_next(&tbs, DER_CTX2, &x) == -1 ||
	    der_next(&x, DER_OCTET_STRING, &out->key) == -1 || x.n != 0) {
		return false;
	}
	if (der_next(&tbs, DER_GENERALIZED_TIME, &out->produced) == -1 ||
	    !ocsp_response_gentime(out->produced, NULL, NULL) ||
	    der_next(&tbs, DER_SEQUENCE, &out->singles) == -1)
		return false;
	for (x = out->singles; x.n > 0;)
		if (der_next(&x, DER_SEQUENCE, &one) == -1 ||
		    !ocsp_response_single_der(one))
			return false;
	if (der_peek(&tbs) == DER_CTX1 &&
	    (der_next(&tbs, DER_CTX1, &x) == -1 ||
	        der_next(&x, DER_SEQUENCE, &out->exts) == -1 || x.n != 0 ||
	        !der_extensions_ok(out->exts)))
		return false;
	return tbs.n == 0;
}

/*
 * ocsp_response_id_asked() on DER CertID content <cid>: the certificate
 * <req> asked about, with its hash algorithm in *hash. On success the
 * serial's magnitude goes to <out>.
 */
static bool
ocsp_response_walk_asked(struct der_cursor cid,
    const struct ocsp_request_facts *req, struct ocsp_single_facts *out,
    int *hash)
{
	struct der_cursor alg, oid, nh, kh, serial;
	size_t hlen, ncerts, i;
	int h;

	(void)der_next(&cid, DER_SEQUENCE, &alg);
	(void)der_next(&alg, DER_OID, &oid);
	(void)der_next(&cid, DER_OCTET_STRING, &nh);
	(void)der_next(&cid, DER_OCTET_STRING, &kh);
	(void)der_next(&cid, DER_INTEGER, &serial);
	if (req == NULL || (h = ocsp_hash_from_oid(oid.p, oid.n)) == -1)
		return false;
	hlen = ocsp_hash_len((enum ocsp_hash)h);
	if (nh.n != hlen || kh.n != hlen)
		return false;
	/* A minimal INTEGER: a sign bit is a negative one, 0x00 pads. */
	if (serial.p[0] & 0x80)
		return false;
	if (serial.p[0] == 0) {
		serial.p++;
		serial.n--;
	}
	if (serial.n == 0 || serial.n > OCSP_SERIAL_MAX_BYTES)
		return false;
	ncerts = req->ncerts < OCSP_REQUEST_MAX_CERTS ? req->ncerts
	                                              : OCSP_REQUEST_MAX_CERTS;
	for (i = 0; i < ncerts; i++) {
		const struct ocsp_cert_id *c = &req->certs[i];

		if ((int)c->hash == h && c->hash_len == hlen &&
		    memcmp(c->name_hash, nh.p, hlen) == 0 &&
		    memcmp(c->key_hash, kh.p, hlen) == 0 &&
		    c->serial_len == serial.n &&
		    memcmp(c->serial, serial.p, serial.n) == 0)
			break;
	}
	if (i == ncerts)
		return false;
	memcpy(out->serial, serial.p, serial.n);
	out->serial_len = serial.n;
	*hash = h;
	return true;
}

/*
 * ocsp_response_read_single() on DER SingleResponse content <one>.
 * Returns NULL, or the detail.
 */
static const char *
ocsp_response_walk_single(struct der_cursor one,
    const struct ocsp_request_facts *req, struct ocsp_single_facts *out,
    time_t *next_update)
{
	const size_t nreasons = sizeof(ocsp_response_crl_reasons) /
	    sizeof(ocsp_response_crl_reasons[0]);
	struct der_cursor cid, x, r, v;
	int h;

	memset(out, 0, sizeof(*out));
	*next_update = 0;
	(void)der_next(&one, DER_SEQUENCE, &cid);
	if (!ocsp_response_walk_asked(cid, req, out, &h))
		return "response about a certificate not asked for";
	if (der_next(&one, DER_GOOD, NULL) == 0) {
		out->status = OCSP_CERT_GOOD;
	} else if (der_next(&one, DER_UNKNOWN, NULL) == 0) {
		out->status = OCSP_CERT_UNKNOWN;
	} else {
		(void)der_next(&one, DER_CTX1, &x);
		out->status = OCSP_CERT_REVOKED;
		(void)der_next(&x, DER_GENERALIZED_TIME, &v);
		ocsp_response_gentime_put(v, out->revocation_time, NULL);
		if (der_next(&x, DER_CTX0, &r) == 0) {
			/* Every CRLReason fits in one content octet. */
			(void)der_next(&r, DER_ENUMERATED, &v);
			if (v.n != 1 || v.p[0] >= nreasons ||
			    ocsp_response_crl_reasons[v.p[0]] == NULL)
				return "unknown revocation reason";
			out->revocation_reason =
			    ocsp_response_crl_reasons[v.p[0]];
		}
	}
	(void)der_next(&one, DER_GENERALIZED_TIME, &v);
	ocsp_response_gentime_put(v, out->this_update, NULL);
	if (der_next(&one, DER_CTX0, &x) == 0) {
		(void)der_next(&x, DER_GENERALIZED_TIME, &v);
		ocsp_response_gentime_put(v, out->next_update, next_update);
	}
	return NULL;
}

/*
 * ocsp_response_check_extensions() on the DER Extensions content <exts>.
 * Returns NULL, or the detail.
 */
static const char *
ocsp_response_walk_extensions(struct der_cursor exts,
    const struct ocsp_request_facts *req, struct ocsp_response_facts *f)
{
	static const unsigned char null[] = {0x05, 0x00};
	struct der_cursor e, oid, v;
	bool nonce = false, extended = false;
	unsigned tag;
	size_t hlen, clen;

	while (der_next(&exts, DER_SEQUENCE, &e) == 0) {
		(void)der_next(&e, DER_OID, &oid);
		(void)der_next(&e, DER_BOOLEAN, NULL);
		(void)der_next(&e, DER_OCTET_STRING, &v);
		if (oid.n == sizeof(oid_nonce) &&
		    memcmp(oid.p, oid_nonce, oid.n) == 0) {
			if (nonce)
				return "duplicate nonce";
			nonce = true;
			f->has_nonce = true;
			if (der_header(v.p, v.n, &tag, &hlen, &clen) == -1 ||
			    tag != DER_OCTET_STRING || hlen + clen != v.n)
				return "nonce not a DER OCTET STRING";
			if (req == NULL)
				continue;
			if (!req->has_nonce)
				return "nonce the request did not carry";
			if (clen != req->nonce_len ||
			    clen > sizeof(req->nonce) ||
			    memcmp(v.p + hlen, req->nonce, clen) != 0)
				return "nonce differs from the request's";
		} else if (oid.n == sizeof(oid_extended) &&
		    memcmp(oid.p, oid_extended, oid.n) == 0) {
			if (extended)
				return "response extension repeated";
			extended = true;
			if (v.n != sizeof(null) ||
			    memcmp(v.p, null, sizeof(null)) != 0)
				return "extended revoked definition not NULL";
		} else {
			return "unknown response extension";
		}
	}
	return NULL;
}

/*
 * Whether certificate <j> is the issuer that DER CertID content <cid>
 * names (name and key hashes: ocsp_response_is_named_issuer()), and
 * whether <j>'s issuer is (name hash: ocsp_response_issued_by_named()),
 * with the SHA-1 hashes the judgment kept or, for another algorithm,
 * computed here. A hash that cannot be computed says no, as there.
 */
static void
ocsp_response_walk_issuer(const struct pkix_judged *j, struct der_cursor cid,
    bool *named, bool *issued_by)
{
	unsigned char name[EVP_MAX_MD_SIZE], key[EVP_MAX_MD_SIZE];
	struct der_cursor alg, oid, nh, kh;
	const EVP_MD *md;
	unsigned len = 0;
	int h;

	(void)der_next(&cid, DER_SEQUENCE, &alg);
	(void)der_next(&alg, DER_OID, &oid);
	(void)der_next(&cid, DER_OCTET_STRING, &nh);
	(void)der_next(&cid, DER_OCTET_STRING, &kh);
	h = ocsp_hash_from_oid(oid.p, oid.n);
	if (h == OCSP_HASH_SHA1 && j->hashed) {
		*named = nh.n == PKIX_SHA1_LEN && kh.n == PKIX_SHA1_LEN &&
		    memcmp(nh.p, j->subject_sha1, PKIX_SHA1_LEN) == 0 &&
		    memcmp(kh.p, j->key_sha1, PKIX_SHA1_LEN) == 0;
		*issued_by = nh.n == PKIX_SHA1_LEN &&
		    memcmp(nh.p, j->issuer_sha1, PKIX_SHA1_LEN) == 0;
		return;
	}
	md = ocsp_hash_md((enum ocsp_hash)h);
	*named = md != NULL &&
	    pkix_issuer_hashes(&j->c, md, name, key, &len) == 0 &&
	    nh.n == len && kh.n == len && memcmp(nh.p, name, len) == 0 &&
	    memcmp(kh.p, key, len) == 0;
	*issued_by = md != NULL &&
	    EVP_Digest(j->c.issuer.p, j->c.issuer.len, name, &len, md, NULL) ==
	        1 &&
	    nh.n == len && memcmp(nh.p, name, len) == 0;
}

/*
 * ocsp_response_check_signer() on the walk's parts and the <n> judged
 * certificates <certs>. Returns NULL, the detail, or
 * ocsp_response_undecided when the signer could only be told by a
 * decoded name comparison.
 */
static const char *
ocsp_response_walk_signer(const struct ocsp_response_parts *parts,
    const struct pkix_judged *certs, size_t n)
{
	const struct pkix_judged *signer = NULL;
	struct der_cursor singles = parts->singles, one, cid;
	bool named, issued_by;

	for (size_t i = 0; signer == NULL && i < n; i++) {
		const struct pkix_judged *c = &certs[i];

		if (parts->name.p != NULL) {
			/* Real responders copy the subject's bytes. */
			if (c->c.subject.len != parts->name.n ||
			    memcmp(c->c.subject.p, parts->name.p,
			        parts->name.n) != 0)
				return ocsp_response_undecided;
			signer = c;
		} else if (!c->hashed) {
			return ocsp_response_undecided;
		} else if (parts->key.n == PKIX_SHA1_LEN &&
		    memcmp(c->key_sha1, parts->key.p, PKIX_SHA1_LEN) == 0) {
			signer = c;
		}
	}
	if (n > 0 && signer == NULL)
		return "signer not among the certificates";
	for (size_t i = 0; i < n; i++) {
		const struct pkix_cert *c = &certs[i].c;
		bool issues = false;

		if (&certs[i] == signer)
			continue;
		for (size_t k = 0; k < n && !issues; k++)
			issues = k != i &&
			    certs[k].c.issuer.len == c->subject.len &&
			    memcmp(certs[k].c.issuer.p, c->subject.p,
			        c->subject.len) == 0;
		if (!issues)
			return "a certificate that is not on the signer's path";
		if (!c->ca)
			return "an issuer certificate that is not a CA";
	}
	if (signer == NULL)
		return pkix_signature_fits_der(parts->alg.p, parts->alg.n,
		    parts->sig.p, parts->sig.n, NULL);
	while (der_next(&singles, DER_SEQUENCE, &one) == 0) {
		(void)der_next(&one, DER_SEQUENCE, &cid);
		/* RFC 6960 2.2: see ocsp_response_check_signer(). */
		if (der_peek(&one) == DER_UNKNOWN)
			continue;
		ocsp_response_walk_issuer(signer, cid, &named, &issued_by);
		if (named) {
			if (!signer->c.ca)
				return "signer is the named issuer but not a "
				       "CA";
			continue;
		}
		if (!signer->c.ocsp_signing)
			return "signer neither the named issuer nor its OCSP "
			       "responder";
		if (!issued_by)
			return "responder certificate not issued by the named "
			       "issuer";
	}
	return pkix_signature_fits_der(parts->alg.p, parts->alg.n, parts->sig.p,
	    parts->sig.n, &signer->c.key);
}

/*
 * The second pass over a BasicOCSPResponse the first found DER: the rules
 * of ocsp_response_inspect_basic() in its order, each field read in
 * place, the certificates (<certs>, <certs_len> bytes) judged through
 * <memo>. Returns NULL, the detail, or ocsp_response_undecided.
 */
static const char *
ocsp_response_walk(const struct ocsp_response_parts *parts,
    const unsigned char *certs, size_t certs_len,
    const struct pkix_judged *judged, const struct ocsp_request_facts *req,
    struct ocsp_response_facts *f)
{
	static const unsigned char v1[] = {0x02, 0x01, 0x00};
	struct der_cursor singles, one, list = {certs, certs_len};
	const char *why;
	size_t n = 0, ncerts = 0;
	time_t next;

	if (parts->version.p != NULL)
		return parts->version.n == sizeof(v1) &&
		        memcmp(parts->version.p, v1, sizeof(v1)) == 0
		    ? "version v1 encoded explicitly (not DER)"
		    : "version not v1";
	f->basic = true;
	if (parts->name.p == NULL) {
		f->by_key = true;
		if (parts->key.n != OCSP_RESPONSE_KEY_HASH_LEN)
			return "responder key hash not 20 octets";
		memcpy(f->responder_key_hash, parts->key.p,
		    OCSP_RESPONSE_KEY_HASH_LEN);
	} else if (parts->name.n > OCSP_RESPONSE_NAME_DER_MAX) {
		return "responder name over 1 KiB";
	} else {
		ocsp_response_print_name(parts->atv, parts->natv,
		    f->responder_name, sizeof(f->responder_name));
	}
	ocsp_response_gentime_put(parts->produced, f->produced_at, NULL);
	for (singles = parts->singles;
	     der_next(&singles, DER_SEQUENCE, NULL) == 0;)
		n++;
	if (n == 0)
		return "no SingleResponse";
	if (n > OCSP_RESPONSE_MAX_CERTS)
		return "more than 8 SingleResponses";
	for (singles = parts->singles;
	     der_next(&singles, DER_SEQUENCE, &one) == 0;) {
		if ((why = ocsp_response_walk_single(
		         one, req, &f->certs[f->ncerts], &next)) != NULL)
			return why;
		f->ncerts++;
		if (next != 0 &&
		    (f->min_next_update == 0 || next < f->min_next_update))
			f->min_next_update = next;
	}
	if ((why = ocsp_response_walk_extensions(parts->exts, req, f)) != NULL)
		return why;
	/* ocsp_response_read_certs(), on the judgments made already. */
	while (list.n > 0) {
		if (der_next(&list, DER_SEQUENCE, NULL) == -1)
			return "certs holds something not a certificate";
		if (ncerts == OCSP_RESPONSE_MAX_SIGNER_CERTS)
			return "more than 4 certificates";
		f->unknown_extensions += judged[ncerts].unknown;
		if (judged[ncerts].why != NULL)
			return judged[ncerts].why;
		ncerts++;
	}
	return ocsp_response_walk_signer(parts, judged, ncerts);
}

/*
 * ocsp_response_inspect_basic() in two passes over the bytes, nothing
 * decoded or copied. Returns NULL, the detail, or
 * ocsp_response_undecided.
 */
static const char *
ocsp_response_walk_basic(const unsigned char *type, size_t type_len,
    const unsigned char *body, size_t body_len,
    const struct ocsp_request_facts *req, struct memo *memo,
    struct ocsp_response_facts *f)
{
	struct ocsp_response_parts parts;
	struct pkix_judged judged[OCSP_RESPONSE_MAX_SIGNER_CERTS];
	const unsigned char *fields, *certs;
	size_t flen, certs_len, k = 0, hlen, clen;
	struct der_cursor list, c;
	const char *why;
	unsigned tag;
	bool ok;

	if (type_len != sizeof(oid_basic) ||
	    memcmp(type, oid_basic, type_len) != 0)
		return "responseBytes not a BasicOCSPResponse";
	if ((why = ocsp_response_split_certs(body, body_len, false, &fields,
	         &flen, &certs, &certs_len)) != NULL)
		return why[0] == '\0' ? "BasicOCSPResponse not canonical DER"
		                      : why;
	/*
	 * The certificates are judged now, for the split's der_walk(): a
	 * judgment the memo holds knows how deep its bytes nest, so that a
	 * responder's certificate is walked once, not with each answer. The
	 * rules read the judgments later, in the full inspection's order.
	 */
	for (list = (struct der_cursor){certs, certs_len}; list.n > 0;) {
		if (der_header(list.p, list.n, &tag, &hlen, &clen) == -1)
			return "certificates not DER";
		c = (struct der_cursor){list.p, hlen + clen};
		list.p += c.n;
		list.n -= c.n;
		if (k < OCSP_RESPONSE_MAX_SIGNER_CERTS) {
			(void)pkix_cert_judge(c.p, c.n, memo, &judged[k]);
			ok = judged[k].der_depth > 0 &&
			    judged[k].der_depth <= OCSP_RESPONSE_CERTS_DEPTH;
			k++;
		} else {
			ok = der_walk(c.p, c.n, OCSP_RESPONSE_CERTS_DEPTH);
		}
		if (!ok)
			return "certificates not DER";
	}
	if (!ocsp_response_basic_der((struct der_cursor){fields, flen}, &parts))
		return ocsp_response_undecided;
	return ocsp_response_walk(&parts, certs, certs_len, judged, req, f);
}

int
ocsp_response_inspect_fast(const unsigned char *der, size_t len,
    const struct ocsp_request_facts *req, struct memo *memo,
    struct ocsp_response_facts *f, enum reason *verdict)
{
	const unsigned char *type = NULL, *body = NULL;
	const char *why;
	size_t type_len = 0, body_len = 0;
	int status = -1;

	memset(f, 0, sizeof(*f));
	why = ocsp_response_read_wrapper(
	    der, len, &status, &type, &type_len, &body, &body_len);
	if (why == NULL && !ocsp_response_status_known(status))
		why = "unknown response status";
	if (why == NULL) {
		f->parsed = true;
		f->status = status;
		if (status != OCSP_RESPONSE_STATUS_SUCCESSFUL && body != NULL)
			why = "responseBytes with a non-successful status";
		else if (status == OCSP_RESPONSE_STATUS_SUCCESSFUL &&
		    body == NULL)
			why = "successful status without responseBytes";
		else if (status == OCSP_RESPONSE_STATUS_SUCCESSFUL) {
			/* Digests of a signer's names and key, by OpenSSL. */
			ERR_set_mark();
			why = ocsp_response_walk_basic(
			    type, type_len, body, body_len, req, memo, f);
			ERR_pop_to_mark();
		}
	}
	if (why == ocsp_response_undecided) {
		memset(f, 0, sizeof(*f));
		return -1;
	}
	f->detail = why;
	*verdict = why == NULL ? REASON_NONE : REASON_RESPONSE_MALFORMED;
	return 0;
}

enum reason
ocsp_response_inspect_memo(const unsigned char *der, size_t len,
    const struct ocsp_request_facts *req, struct memo *memo,
    struct ocsp_response_facts *f)
{
	enum reason verdict;

	if (ocsp_response_inspect_fast(der, len, req, memo, f, &verdict) == 0)
		return verdict;
	return ocsp_response_inspect_decoded(der, len, req, f);
}

enum reason
ocsp_response_inspect(const unsigned char *der, size_t len,
    const struct ocsp_request_facts *req, struct ocsp_response_facts *f)
{
	return ocsp_response_inspect_memo(der, len, req, NULL, f);
}

/* The detail for OpenSSL error <e>, raised by OCSP_basic_verify(). */
static const char *
ocsp_response_verify_error(unsigned long e)
{
	if (ERR_GET_LIB(e) == ERR_LIB_OCSP) {
		switch (ERR_GET_REASON(e)) {
		case OCSP_R_SIGNATURE_FAILURE:
		case OCSP_R_NO_SIGNER_KEY:
			return "signature does not verify";
		case OCSP_R_SIGNER_CERTIFICATE_NOT_FOUND:
			return "signer certificate not found";
		case OCSP_R_CERTIFICATE_VERIFY_ERROR:
		/*
		 * Also the last error for a signer that is neither the
		 * issuer nor a delegate of it with OCSPSigning.
		 */
		case OCSP_R_ROOT_CA_NOT_TRUSTED:
			return "signer not trusted";
		default:
			break;
		}
	}
	return "response does not verify";
}

/*
 * What OCSP_basic_verify() leaves out of RFC 6960 4.2.2.2: it takes a
 * signer that is the issuer a certificate ID names without asking
 * whether that issuer is a CA, so any certificate chaining to the trust
 * store (a TLS server's, say) could vouch for made-up certificates of
 * its own. The signer has verified; when it is the named issuer of any
 * SingleResponse, it must be a CA. (A delegated signer's issuer was a
 * CA in its chain's verification.) Returns NULL, or the detail.
 */
static const char *
ocsp_response_verify_issuer(OCSP_BASICRESP *bs, STACK_OF(X509) * certs)
{
	X509 *signer = NULL;
	const ASN1_BIT_STRING *bits;
	unsigned char *der = NULL;
	struct pkix_cert c;
	const char *why = NULL;
	int n;

	if (OCSP_resp_get0_signer(bs, &signer, certs) != 1 || signer == NULL)
		return "signer certificate not found";
	/* Its name and key, as pkix_issuer_hashes() reads them. */
	memset(&c, 0, sizeof(c));
	if ((n = i2d_X509_NAME(X509_get_subject_name(signer), &der)) <= 0 ||
	    (bits = X509_get0_pubkey_bitstr(signer)) == NULL) {
		why = "signer certificate not readable";
	} else {
		c.subject.p = der;
		c.subject.len = (size_t)n;
		c.key_bits.p = ASN1_STRING_get0_data(bits);
		c.key_bits.len = (size_t)ASN1_STRING_length(bits);
	}
	for (int i = 0; why == NULL && i < OCSP_resp_count(bs); i++) {
		OCSP_CERTID *cid =
		    (OCSP_CERTID *)(uintptr_t)OCSP_SINGLERESP_get0_id(
		        OCSP_resp_get0(bs, i));

		if (ocsp_response_is_named_issuer(&c, cid) &&
		    (X509_get_extension_flags(signer) & EXFLAG_CA) == 0)
			why = "signer is the named issuer but not a CA";
	}
	OPENSSL_free(der);
	return why;
}

/*
 * Only the signature and the signer's authority are checked here (flags
 * 0: the signer's chain, its OCSPSigning purpose or its being the
 * certificates' issuer); ocsp_response_inspect() has done the rest.
 */
enum reason
ocsp_response_verify(const unsigned char *der, size_t len, X509_STORE *store,
    STACK_OF(X509) * certs, const char **detail)
{
	OCSP_RESPONSE *resp = NULL;
	OCSP_BASICRESP *bs = NULL;
	const unsigned char *p = der;
	const char *why = NULL;

	ERR_set_mark();
	if (store == NULL) {
		why = "no trust store";
		goto done;
	}
	if (der == NULL || len == 0 || len > LONG_MAX ||
	    (resp = d2i_OCSP_RESPONSE(NULL, &p, (long)len)) == NULL ||
	    (bs = OCSP_response_get1_basic(resp)) == NULL) {
		why = "not a BasicOCSPResponse";
		goto done;
	}
	if (OCSP_basic_verify(bs, certs, store, 0) != 1)
		why = ocsp_response_verify_error(ERR_peek_last_error());
	else
		why = ocsp_response_verify_issuer(bs, certs);
done:
	OCSP_BASICRESP_free(bs);
	OCSP_RESPONSE_free(resp);
	ERR_pop_to_mark();
	if (detail != NULL)
		*detail = why;
	return why == NULL ? REASON_NONE : REASON_RESPONSE_UNVERIFIED;
}
