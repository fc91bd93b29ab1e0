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
#include <openssl/err.h>
#include <openssl/objects.h>
#include <openssl/ocsp.h>
#include <openssl/x509.h>

#include "ocspgate/der.h"
#include "ocspgate/ocsp_response.h"

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

/* id-pkix-ocsp-basic (1.3.6.1.5.5.7.48.1.1), content octets. */
static const unsigned char oid_basic[] = {
    0x2b, 0x06, 0x01, 0x05, 0x05, 0x07, 0x30, 0x01, 0x01};

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
 * Finds the responseBytes of <der> (<len> bytes), already found to be the
 * canonical DER of an OCSPResponse. OpenSSL keeps them opaque, and the
 * BasicOCSPResponse inside is decoded lazily from an OCTET STRING that
 * the outer re-encoding check never looks into, so they are read here.
 * Returns 1 with *type (responseType's OID content octets), *body (the
 * response OCTET STRING's content) and their lengths set; 0 when
 * responseBytes is absent; -1 when the structure cannot be read.
 */
static int
ocsp_response_find_bytes(const unsigned char *der, size_t len,
    const unsigned char **type, size_t *type_len, const unsigned char **body,
    size_t *body_len)
{
	unsigned tag;
	size_t hlen, clen;

	/* OCSPResponse, then responseStatus. */
	if (der_header(der, len, &tag, &hlen, &clen) == -1 ||
	    tag != DER_SEQUENCE)
		return -1;
	der += hlen;
	len = clen;
	if (der_header(der, len, &tag, &hlen, &clen) == -1 ||
	    tag != DER_ENUMERATED)
		return -1;
	der += hlen + clen;
	len -= hlen + clen;
	if (len == 0)
		return 0;

	/* [0] EXPLICIT ResponseBytes, then the SEQUENCE itself. */
	if (der_header(der, len, &tag, &hlen, &clen) == -1 || tag != DER_CTX0)
		return -1;
	der += hlen;
	len = clen;
	if (der_header(der, len, &tag, &hlen, &clen) == -1 ||
	    tag != DER_SEQUENCE)
		return -1;
	der += hlen;
	len = clen;

	/* responseType, then response. */
	if (der_header(der, len, &tag, &hlen, &clen) == -1 || tag != DER_OID)
		return -1;
	*type = der + hlen;
	*type_len = clen;
	der += hlen + clen;
	len -= hlen + clen;
	if (der_header(der, len, &tag, &hlen, &clen) == -1 ||
	    tag != DER_OCTET_STRING)
		return -1;
	*body = der + hlen;
	*body_len = clen;
	return 1;
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

	/* ASN1_TIME_to_tm() reads the clock when given NULL. */
	if (t == NULL || ASN1_TIME_to_tm(t, &tm) != 1)
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
	if (name == NULL || (mem = BIO_new(BIO_s_mem())) == NULL)
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
	return NULL;
}

/*
 * Checks the nonce extension of <bs>, if any: an OCTET STRING in
 * extnValue (RFC 8954), as requests carry it, equal to the request's
 * when <req> has one. Returns NULL, or the detail of the rule broken.
 */
static const char *
ocsp_response_check_nonce(OCSP_BASICRESP *bs,
    const struct ocsp_request_facts *req, struct ocsp_response_facts *f)
{
	X509_EXTENSION *ext;
	ASN1_OCTET_STRING *v;
	const unsigned char *p;
	unsigned tag;
	size_t n, hlen, clen;
	int i;

	if ((i = OCSP_BASICRESP_get_ext_by_NID(
	         bs, NID_id_pkix_OCSP_Nonce, -1)) < 0)
		return NULL;
	f->has_nonce = true;
	if (OCSP_BASICRESP_get_ext_by_NID(bs, NID_id_pkix_OCSP_Nonce, i) >= 0)
		return "duplicate nonce";
	if ((ext = OCSP_BASICRESP_get_ext(bs, i)) == NULL ||
	    (v = X509_EXTENSION_get_data(ext)) == NULL ||
	    (p = ASN1_STRING_get0_data(v)) == NULL)
		return "nonce not a DER OCTET STRING";
	n = (size_t)ASN1_STRING_length(v);
	if (der_header(p, n, &tag, &hlen, &clen) == -1 ||
	    tag != DER_OCTET_STRING || hlen + clen != n)
		return "nonce not a DER OCTET STRING";
	if (req == NULL || !req->has_nonce)
		return NULL;
	if (clen != req->nonce_len || clen > sizeof(req->nonce) ||
	    memcmp(p + hlen, req->nonce, clen) != 0)
		return "nonce differs from the request's";
	return NULL;
}

/*
 * Inspects the responseBytes of a successful response <resp>, whose
 * responseType is <type> and response <body> (lengths beside them).
 * Returns NULL, or the detail of the rule broken.
 */
static const char *
ocsp_response_inspect_basic(OCSP_RESPONSE *resp, const unsigned char *type,
    size_t type_len, const unsigned char *body, size_t body_len,
    const struct ocsp_request_facts *req, struct ocsp_response_facts *f)
{
	OCSP_BASICRESP *bs = NULL;
	unsigned char *enc = NULL;
	const char *why;
	time_t next;
	int n, i;

	if (type_len != sizeof(oid_basic) ||
	    memcmp(type, oid_basic, type_len) != 0)
		return "responseBytes not a BasicOCSPResponse";
	if ((bs = OCSP_response_get1_basic(resp)) == NULL) {
		why = "not a DER BasicOCSPResponse";
		goto done;
	}
	/* The OCTET STRING's content: nothing after it, nothing but DER. */
	if ((n = i2d_OCSP_BASICRESP(bs, &enc)) <= 0 || (size_t)n != body_len ||
	    memcmp(enc, body, body_len) != 0) {
		why = "BasicOCSPResponse not canonical DER";
		goto done;
	}
	if ((why = ocsp_response_check_version(body, body_len)) != NULL)
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
	why = ocsp_response_check_nonce(bs, req, f);
done:
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
enum reason
ocsp_response_inspect(const unsigned char *der, size_t len,
    const struct ocsp_request_facts *req, struct ocsp_response_facts *f)
{
	OCSP_RESPONSE *resp = NULL;
	unsigned char *enc = NULL;
	const unsigned char *p = der, *type = NULL, *body = NULL;
	const char *why = NULL;
	size_t type_len = 0, body_len = 0;
	int n, status, bytes;

	memset(f, 0, sizeof(*f));
	ERR_set_mark();
	if (der == NULL || len == 0 || len > LONG_MAX ||
	    (resp = d2i_OCSP_RESPONSE(NULL, &p, (long)len)) == NULL) {
		why = "not a DER OCSPResponse";
		goto done;
	}
	if ((size_t)(p - der) != len) {
		why = "trailing bytes after OCSPResponse";
		goto done;
	}
	/* d2i takes BER (long-form and indefinite lengths and more). */
	if ((n = i2d_OCSP_RESPONSE(resp, &enc)) <= 0 || (size_t)n != len ||
	    memcmp(enc, der, len) != 0) {
		why = "not canonical DER";
		goto done;
	}
	status = OCSP_response_status(resp);
	if (!ocsp_response_status_known(status)) {
		why = "unknown response status";
		goto done;
	}
	f->parsed = true;
	f->status = status;

	bytes = ocsp_response_find_bytes(
	    der, len, &type, &type_len, &body, &body_len);
	if (bytes == -1)
		why = "not a DER OCSPResponse";
	else if (status != OCSP_RESPONSE_STATUS_SUCCESSFUL && bytes == 1)
		why = "responseBytes with a non-successful status";
	else if (status == OCSP_RESPONSE_STATUS_SUCCESSFUL && bytes == 0)
		why = "successful status without responseBytes";
	else if (status == OCSP_RESPONSE_STATUS_SUCCESSFUL)
		why = ocsp_response_inspect_basic(
		    resp, type, type_len, body, body_len, req, f);
done:
	OPENSSL_free(enc);
	OCSP_RESPONSE_free(resp);
	ERR_pop_to_mark();
	f->detail = why;
	return why == NULL ? REASON_NONE : REASON_RESPONSE_MALFORMED;
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
done:
	OCSP_BASICRESP_free(bs);
	OCSP_RESPONSE_free(resp);
	ERR_pop_to_mark();
	if (detail != NULL)
		*detail = why;
	return why == NULL ? REASON_NONE : REASON_RESPONSE_UNVERIFIED;
}
