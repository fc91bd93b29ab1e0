/*
 * Unit tests for ocsp_response.c: responses built at test time with
 * OpenSSL's OCSP API (a CA, a delegated OCSP signer and leaf certificates
 * made in memory), hand-wrapped and hand-broken DER, the facts recorded,
 * the names, and signature verification.
 */
#include <dirent.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/ocsp.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "ocspgate/memo.h"
#include "ocspgate/ocsp_response.h"
#include "ocspgate/pkix.h"

#include "check.h"

/* A DER buffer; the tests never need more (160 KiB extensions). */
struct dbuf {
	unsigned char d[200 * 1024];
	size_t n;
};

static void
put(struct dbuf *b, const void *p, size_t n)
{
	if (n > sizeof(b->d) - b->n)
		abort();
	if (n == 0)
		return;
	memcpy(b->d + b->n, p, n);
	b->n += n;
}

/* Appends a TLV with a minimal DER length. */
static void
tlv(struct dbuf *b, unsigned tag, const void *c, size_t n)
{
	unsigned char h[4];
	size_t hl = 0;

	h[hl++] = (unsigned char)tag;
	if (n < 0x80) {
		h[hl++] = (unsigned char)n;
	} else if (n < 0x100) {
		h[hl++] = 0x81;
		h[hl++] = (unsigned char)n;
	} else {
		h[hl++] = 0x82;
		h[hl++] = (unsigned char)(n >> 8);
		h[hl++] = (unsigned char)n;
	}
	put(b, h, hl);
	put(b, c, n);
}

/* Reads a TLV header of at most two length octets; returns its size. */
static size_t
hdr(const unsigned char *p, size_t *clen)
{
	if (p[1] < 0x80) {
		*clen = p[1];
		return 2;
	}
	if (p[1] == 0x81) {
		*clen = p[2];
		return 3;
	}
	if (p[1] != 0x82)
		abort();
	*clen = (size_t)p[2] << 8 | p[3];
	return 4;
}

/* The test PKI. The signer is the CA's delegated OCSP responder. */
struct pki {
	EVP_PKEY *ca_key, *ca2_key, *signer_key, *rogue_key, *plain_key;
	X509 *ca;     /* "ocspgate test CA" */
	X509 *ca2;    /* another CA */
	X509 *signer; /* issued by ca, EKU OCSPSigning */
	X509 *rogue;  /* self-signed, the signer's name, EKU OCSPSigning */
	X509 *plain;  /* issued by ca, no EKU */
	X509 *leaf;   /* issued by ca, serial 1001 */
};

#define SIGNER_CN "ocspgate test signer"

static EVP_PKEY *
make_key(void)
{
	EVP_PKEY *key = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");

	if (key == NULL)
		abort();
	return key;
}

static void
add_ext(X509 *x, X509 *issuer, int nid, const char *value)
{
	X509V3_CTX ctx;
	X509_EXTENSION *ext;

	X509V3_set_ctx(&ctx, issuer, x, NULL, NULL, 0);
	if ((ext = X509V3_EXT_nconf_nid(NULL, &ctx, nid, value)) == NULL ||
	    X509_add_ext(x, ext, -1) != 1)
		abort();
	X509_EXTENSION_free(ext);
}

/*
 * A certificate for <key> named <cn>, issued by <issuer> (NULL:
 * self-signed) with <issuer_key>. <ca> adds CA basic constraints, <eku>
 * (if not NULL) an extended key usage.
 */
static X509 *
make_cert(const char *cn, const char *serial_hex, EVP_PKEY *key, X509 *issuer,
    EVP_PKEY *issuer_key, bool ca, const char *eku)
{
	X509 *x = X509_new();
	X509_NAME *name = X509_NAME_new();
	BIGNUM *bn = NULL;

	if (x == NULL || name == NULL || BN_hex2bn(&bn, serial_hex) == 0 ||
	    BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(x)) == NULL ||
	    X509_set_version(x, X509_VERSION_3) != 1 ||
	    X509_gmtime_adj(X509_getm_notBefore(x), -3600) == NULL ||
	    X509_gmtime_adj(X509_getm_notAfter(x), 86400) == NULL ||
	    X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
	        (const unsigned char *)cn, -1, -1, 0) != 1 ||
	    X509_set_subject_name(x, name) != 1 ||
	    X509_set_issuer_name(x,
	        issuer != NULL ? X509_get_subject_name(issuer) : name) != 1 ||
	    X509_set_pubkey(x, key) != 1)
		abort();
	if (ca) {
		add_ext(x, issuer != NULL ? issuer : x, NID_basic_constraints,
		    "critical,CA:TRUE");
		add_ext(x, issuer != NULL ? issuer : x, NID_key_usage,
		    "critical,keyCertSign,cRLSign,digitalSignature");
	}
	if (eku != NULL)
		add_ext(x, issuer != NULL ? issuer : x, NID_ext_key_usage, eku);
	if (X509_sign(x, issuer_key, EVP_sha256()) <= 0)
		abort();
	X509_NAME_free(name);
	BN_free(bn);
	return x;
}

static void
pki_new(struct pki *p)
{
	p->ca_key = make_key();
	p->ca2_key = make_key();
	p->signer_key = make_key();
	p->rogue_key = make_key();
	p->plain_key = make_key();
	p->ca = make_cert(
	    "ocspgate test CA", "01", p->ca_key, NULL, p->ca_key, true, NULL);
	p->ca2 = make_cert("ocspgate other CA", "01", p->ca2_key, NULL,
	    p->ca2_key, true, NULL);
	p->signer = make_cert(SIGNER_CN, "0100", p->signer_key, p->ca,
	    p->ca_key, false, "OCSPSigning");
	p->rogue = make_cert(SIGNER_CN, "0100", p->rogue_key, NULL,
	    p->rogue_key, false, "OCSPSigning");
	p->plain = make_cert("ocspgate plain cert", "0200", p->plain_key, p->ca,
	    p->ca_key, false, NULL);
	p->leaf = make_cert(
	    "leaf 1001", "1001", p->plain_key, p->ca, p->ca_key, false, NULL);
}

static void
pki_free(struct pki *p)
{
	X509_free(p->ca);
	X509_free(p->ca2);
	X509_free(p->signer);
	X509_free(p->rogue);
	X509_free(p->plain);
	X509_free(p->leaf);
	EVP_PKEY_free(p->ca_key);
	EVP_PKEY_free(p->ca2_key);
	EVP_PKEY_free(p->signer_key);
	EVP_PKEY_free(p->rogue_key);
	EVP_PKEY_free(p->plain_key);
}

static OCSP_CERTID *
make_id(const EVP_MD *md, X509 *ca, const char *serial_hex)
{
	BIGNUM *bn = NULL;
	ASN1_INTEGER *serial;
	OCSP_CERTID *id;

	if (BN_hex2bn(&bn, serial_hex) == 0 ||
	    (serial = BN_to_ASN1_INTEGER(bn, NULL)) == NULL)
		abort();
	id = OCSP_cert_id_new(
	    md, X509_get_subject_name(ca), X509_get0_pubkey_bitstr(ca), serial);
	if (id == NULL)
		abort();
	ASN1_INTEGER_free(serial);
	BN_free(bn);
	return id;
}

/*
 * A request for <serials> (hex, NULL-terminated) of <ca>, hashed with
 * <md>, with a nonce of <nonce_len> octets when nonzero; its facts,
 * from ocsp_request_inspect(), go to <rf>. The caller frees the request.
 */
static OCSP_REQUEST *
make_req(X509 *ca, const EVP_MD *md, const char *const *serials, int nonce_len,
    struct ocsp_request_facts *rf)
{
	OCSP_REQUEST *req = OCSP_REQUEST_new();
	unsigned char *der = NULL;
	int n;

	if (req == NULL)
		abort();
	for (; *serials != NULL; serials++)
		if (OCSP_request_add0_id(req, make_id(md, ca, *serials)) ==
		    NULL)
			abort();
	if (nonce_len > 0 && OCSP_request_add1_nonce(req, NULL, nonce_len) != 1)
		abort();
	if ((n = i2d_OCSP_REQUEST(req, &der)) <= 0)
		abort();
	memset(rf, 0, sizeof(*rf));
	CHECK(ocsp_request_inspect(der, (size_t)n, OCSP_NONCE_MAX_BYTES, rf) ==
	    REASON_NONE);
	OPENSSL_free(der);
	return req;
}

static ASN1_GENERALIZEDTIME *
gtime(const char *s)
{
	ASN1_GENERALIZEDTIME *t = ASN1_GENERALIZEDTIME_new();

	if (t == NULL || ASN1_GENERALIZEDTIME_set_string(t, s) != 1)
		abort();
	return t;
}

#define THIS_UPDATE "20260101000000Z"
#define REVOKED_AT  "20250301120000Z"
#define NOREASON    OCSP_REVOKED_STATUS_NOSTATUS

/* One SingleResponse to add. */
struct t_single {
	const char *serial; /* hex; NULL ends the list */
	int status;         /* V_OCSP_CERTSTATUS_* */
	int reason;         /* when revoked: OCSP_REVOKED_STATUS_* */
	bool sha256;        /* certificate ID hashed with SHA-256 */
	bool other_ca;      /* about a certificate of ca2 */
	const char *next;   /* nextUpdate; NULL: none */
};

static void
add_single(OCSP_BASICRESP *bs, const struct pki *p, const struct t_single *s)
{
	ASN1_GENERALIZEDTIME *this_upd = gtime(THIS_UPDATE);
	ASN1_GENERALIZEDTIME *next = s->next ? gtime(s->next) : NULL;
	ASN1_GENERALIZEDTIME *rev = gtime(REVOKED_AT);
	OCSP_CERTID *id = make_id(s->sha256 ? EVP_sha256() : EVP_sha1(),
	    s->other_ca ? p->ca2 : p->ca, s->serial);

	if (OCSP_basic_add1_status(bs, id, s->status, s->reason,
	        s->status == V_OCSP_CERTSTATUS_REVOKED ? rev : NULL, this_upd,
	        next) == NULL)
		abort();
	OCSP_CERTID_free(id);
	ASN1_GENERALIZEDTIME_free(this_upd);
	ASN1_GENERALIZEDTIME_free(next);
	ASN1_GENERALIZEDTIME_free(rev);
}

enum t_nonce {
	TN_NONE = 0,
	TN_COPY,     /* OCSP_copy_nonce() */
	TN_OTHER,    /* 16 other octets */
	TN_SHORT,    /* the request's first 8 octets */
	TN_RANDOM,   /* 16 octets, to a request without a nonce */
	TN_RAW,      /* 16 octets straight in extnValue */
	TN_TWICE,    /* the request's, twice */
	TN_LONGFORM, /* the request's, OCTET STRING length in long form */
};

static void
add_nonce(OCSP_BASICRESP *bs, OCSP_REQUEST *req, enum t_nonce how)
{
	unsigned char v[20];
	ASN1_OCTET_STRING *os;
	X509_EXTENSION *ext;
	const ASN1_OCTET_STRING *rn;
	int i;

	memset(v, 0x5a, sizeof(v));
	switch (how) {
	case TN_NONE:
		return;
	case TN_COPY:
		CHECK(OCSP_copy_nonce(bs, req) == 1);
		return;
	case TN_OTHER:
		CHECK(OCSP_basic_add1_nonce(bs, v, 16) == 1);
		return;
	case TN_SHORT:
	case TN_LONGFORM:
		i = OCSP_REQUEST_get_ext_by_NID(
		    req, NID_id_pkix_OCSP_Nonce, -1);
		rn = X509_EXTENSION_get_data(OCSP_REQUEST_get_ext(req, i));
		/* extnValue is 04 10 <16 octets>. */
		if (ASN1_STRING_length(rn) != 18)
			abort();
		if (how == TN_SHORT) {
			memcpy(v, ASN1_STRING_get0_data(rn) + 2, 8);
			CHECK(OCSP_basic_add1_nonce(bs, v, 8) == 1);
			return;
		}
		v[0] = 0x04;
		v[1] = 0x81;
		v[2] = 0x10;
		memcpy(v + 3, ASN1_STRING_get0_data(rn) + 2, 16);
		break;
	case TN_RANDOM:
		CHECK(OCSP_basic_add1_nonce(bs, NULL, 16) == 1);
		return;
	case TN_RAW:
		v[0] = 0xa5;
		break;
	case TN_TWICE:
		CHECK(OCSP_copy_nonce(bs, req) == 1);
		CHECK(OCSP_BASICRESP_add_ext(
		          bs, OCSP_BASICRESP_get_ext(bs, 0), -1) == 1);
		return;
	}
	if ((os = ASN1_OCTET_STRING_new()) == NULL ||
	    ASN1_OCTET_STRING_set(os, v, how == TN_RAW ? 16 : 19) != 1 ||
	    (ext = X509_EXTENSION_create_by_NID(
	         NULL, NID_id_pkix_OCSP_Nonce, 0, os)) == NULL ||
	    OCSP_BASICRESP_add_ext(bs, ext, -1) != 1)
		abort();
	X509_EXTENSION_free(ext);
	ASN1_OCTET_STRING_free(os);
}

enum t_sign {
	TS_SIGNER = 0, /* delegated signer, byName, its certificate included */
	TS_KEY_ID,     /* delegated signer, byKey */
	TS_NOCERTS,    /* delegated signer, no certificates */
	TS_CA,         /* the CA itself */
	TS_ROGUE,      /* self-signed look-alike, its certificate included */
	TS_ROGUE_HIDDEN, /* self-signed look-alike, no certificates */
	TS_PLAIN,        /* issued by the CA without OCSPSigning */
};

static void
sign(OCSP_BASICRESP *bs, const struct pki *p, enum t_sign how)
{
	X509 *x = p->signer;
	EVP_PKEY *k = p->signer_key;
	unsigned long flags = 0;

	switch (how) {
	case TS_SIGNER:
		break;
	case TS_KEY_ID:
		flags = OCSP_RESPID_KEY;
		break;
	case TS_NOCERTS:
		flags = OCSP_NOCERTS;
		break;
	case TS_CA:
		x = p->ca;
		k = p->ca_key;
		break;
	case TS_ROGUE:
		x = p->rogue;
		k = p->rogue_key;
		break;
	case TS_ROGUE_HIDDEN:
		x = p->rogue;
		k = p->rogue_key;
		flags = OCSP_NOCERTS;
		break;
	case TS_PLAIN:
		x = p->plain;
		k = p->plain_key;
		break;
	}
	if (OCSP_basic_sign(bs, x, k, EVP_sha256(), NULL, flags) != 1)
		abort();
}

static void
resp_der(OCSP_RESPONSE *resp, struct dbuf *out)
{
	unsigned char *p = out->d;
	int n = i2d_OCSP_RESPONSE(resp, NULL);

	if (n <= 0 || (size_t)n > sizeof(out->d))
		abort();
	i2d_OCSP_RESPONSE(resp, &p);
	out->n = (size_t)n;
}

/* Wraps <bs> as a successful OCSPResponse into <out>; frees <bs>. */
static void
finish(OCSP_BASICRESP *bs, struct dbuf *out)
{
	OCSP_RESPONSE *resp;

	resp = OCSP_response_create(OCSP_RESPONSE_STATUS_SUCCESSFUL, bs);
	if (resp == NULL)
		abort();
	resp_der(resp, out);
	OCSP_RESPONSE_free(resp);
	OCSP_BASICRESP_free(bs);
}

#define MAX_SERIALS 9

/* One response and what inspecting it must give. */
struct t_resp {
	const char *name;
	const char *asked[MAX_SERIALS + 1]; /* hex; { NULL }: "1001" */
	bool asked_sha256;
	int req_nonce; /* octets; 0: none */
	struct t_single singles[MAX_SERIALS + 1];
	enum t_nonce nonce;
	enum t_sign sign;

	enum reason want;
	const char *detail;
	size_t want_ncerts;
	bool want_nonce; /* f->has_nonce */
};

#define GOOD(s)                                                                \
	{                                                                      \
		.serial = (s), .status = V_OCSP_CERTSTATUS_GOOD                \
	}
#define MALFORMED REASON_RESPONSE_MALFORMED
#define NOT_ASKED "response about a certificate not asked for"

static const struct t_resp t_resps[] = {
    {.name = "one good", .singles = {GOOD("1001")}, .want_ncerts = 1},
    {.name = "one good, byKey",
        .singles = {GOOD("1001")},
        .sign = TS_KEY_ID,
        .want_ncerts = 1},
    {.name = "one good, no certificates",
        .singles = {GOOD("1001")},
        .sign = TS_NOCERTS,
        .want_ncerts = 1},
    {.name = "one good, signed by the CA",
        .singles = {GOOD("1001")},
        .sign = TS_CA,
        .want_ncerts = 1},
    {.name = "sha256 asked, sha256 answered",
        .asked_sha256 = true,
        .singles = {{.serial = "1001", .sha256 = true}},
        .want_ncerts = 1},
    {.name = "serial with its high bit set",
        .asked = {"80ff"},
        .singles = {GOOD("80FF")},
        .want_ncerts = 1},
    {.name = "three asked, three answered",
        .asked = {"1001", "1002", "1003"},
        .singles = {GOOD("1003"), GOOD("1001"),
            {.serial = "1002", .status = V_OCSP_CERTSTATUS_UNKNOWN}},
        .want_ncerts = 3},
    {.name = "three asked, one answered",
        .asked = {"1001", "1002", "1003"},
        .singles = {GOOD("1002")},
        .want_ncerts = 1},
    {.name = "eight asked, eight answered",
        .asked = {"1", "2", "3", "4", "5", "6", "7", "8"},
        .singles = {GOOD("8"), GOOD("7"), GOOD("6"), GOOD("5"), GOOD("4"),
            GOOD("3"), GOOD("2"), GOOD("1")},
        .want_ncerts = 8},
    {.name = "eight asked, nine answered",
        .asked = {"1", "2", "3", "4", "5", "6", "7", "8"},
        .singles = {GOOD("1"), GOOD("2"), GOOD("3"), GOOD("4"), GOOD("5"),
            GOOD("6"), GOOD("7"), GOOD("8"), GOOD("1")},
        .want = MALFORMED,
        .detail = "more than 8 SingleResponses"},
    {.name = "no SingleResponse",
        .want = MALFORMED,
        .detail = "no SingleResponse"},
    {.name = "another serial",
        .singles = {GOOD("1002")},
        .want = MALFORMED,
        .detail = NOT_ASKED},
    {.name = "the serial with a different magnitude",
        .singles = {GOOD("100100")},
        .want = MALFORMED,
        .detail = NOT_ASKED},
    {.name = "second of two not asked for",
        .asked = {"1001", "1002"},
        .singles = {GOOD("1001"), GOOD("1003")},
        .want = MALFORMED,
        .detail = NOT_ASKED,
        .want_ncerts = 1},
    {.name = "sha1 asked, sha256 answered",
        .singles = {{.serial = "1001", .sha256 = true}},
        .want = MALFORMED,
        .detail = NOT_ASKED},
    {.name = "sha256 asked, sha1 answered",
        .asked_sha256 = true,
        .singles = {GOOD("1001")},
        .want = MALFORMED,
        .detail = NOT_ASKED},
    {.name = "same serial of another CA",
        .singles = {{.serial = "1001", .other_ca = true}},
        .want = MALFORMED,
        .detail = NOT_ASKED},
    {.name = "nonce equal",
        .req_nonce = 16,
        .singles = {GOOD("1001")},
        .nonce = TN_COPY,
        .want_ncerts = 1,
        .want_nonce = true},
    {.name = "nonce different",
        .req_nonce = 16,
        .singles = {GOOD("1001")},
        .nonce = TN_OTHER,
        .want = MALFORMED,
        .detail = "nonce differs from the request's",
        .want_ncerts = 1,
        .want_nonce = true},
    {.name = "nonce shorter, same first octets",
        .req_nonce = 16,
        .singles = {GOOD("1001")},
        .nonce = TN_SHORT,
        .want = MALFORMED,
        .detail = "nonce differs from the request's",
        .want_ncerts = 1,
        .want_nonce = true},
    {.name = "nonce absent from the response",
        .req_nonce = 16,
        .singles = {GOOD("1001")},
        .want_ncerts = 1},
    {.name = "nonce absent from the request",
        .singles = {GOOD("1001")},
        .nonce = TN_RANDOM,
        .want = MALFORMED,
        .detail = "nonce the request did not carry",
        .want_ncerts = 1,
        .want_nonce = true},
    {.name = "nonce raw in extnValue",
        .req_nonce = 16,
        .singles = {GOOD("1001")},
        .nonce = TN_RAW,
        .want = MALFORMED,
        .detail = "nonce not a DER OCTET STRING",
        .want_ncerts = 1,
        .want_nonce = true},
    {.name = "nonce raw, request without",
        .singles = {GOOD("1001")},
        .nonce = TN_RAW,
        .want = MALFORMED,
        .detail = "nonce not a DER OCTET STRING",
        .want_ncerts = 1,
        .want_nonce = true},
    {.name = "nonce with a long-form length",
        .req_nonce = 16,
        .singles = {GOOD("1001")},
        .nonce = TN_LONGFORM,
        .want = MALFORMED,
        .detail = "nonce not a DER OCTET STRING",
        .want_ncerts = 1,
        .want_nonce = true},
    {.name = "nonce twice",
        .req_nonce = 16,
        .singles = {GOOD("1001")},
        .nonce = TN_TWICE,
        .want = MALFORMED,
        .detail = "duplicate nonce",
        .want_ncerts = 1,
        .want_nonce = true},
    {.name = "revoked, reason 7 (not used)",
        .singles = {{.serial = "1001",
            .status = V_OCSP_CERTSTATUS_REVOKED,
            .reason = 7}},
        .want = MALFORMED,
        .detail = "unknown revocation reason"},
    {.name = "revoked, reason 11",
        .singles = {{.serial = "1001",
            .status = V_OCSP_CERTSTATUS_REVOKED,
            .reason = 11}},
        .want = MALFORMED,
        .detail = "unknown revocation reason"},
};

/* Builds the response <t> describes, and its request; returns the DER. */
static void
build(const struct pki *p, const struct t_resp *t, struct dbuf *out,
    struct ocsp_request_facts *rf)
{
	static const char *const dflt[] = {"1001", NULL};
	OCSP_BASICRESP *bs = OCSP_BASICRESP_new();
	OCSP_REQUEST *req;

	if (bs == NULL)
		abort();
	req = make_req(p->ca, t->asked_sha256 ? EVP_sha256() : EVP_sha1(),
	    t->asked[0] != NULL ? t->asked : dflt, t->req_nonce, rf);
	for (const struct t_single *s = t->singles; s->serial != NULL; s++)
		add_single(bs, p, s);
	add_nonce(bs, req, t->nonce);
	sign(bs, p, t->sign);
	finish(bs, out);
	OCSP_REQUEST_free(req);
}

/*
 * Inspects <der> and checks the reason and detail. <detail> NULL with a
 * refusal accepts any detail. Returns the facts in *f.
 */
static void
expect(const char *what, const unsigned char *der, size_t len,
    const struct ocsp_request_facts *rf, enum reason want, const char *detail,
    struct ocsp_response_facts *f)
{
	enum reason r;

	r = ocsp_response_inspect(der, len, rf, f);
	CHECKF(r == want, "%s: reason %s, want %s (%s)", what, reason_name(r),
	    reason_name(want), f->detail ? f->detail : "no detail");
	if (want == REASON_NONE)
		CHECKF(f->detail == NULL, "%s: detail %s", what, f->detail);
	else if (detail != NULL)
		CHECKF(f->detail != NULL && strcmp(f->detail, detail) == 0,
		    "%s: detail \"%s\", want \"%s\"", what,
		    f->detail ? f->detail : "(null)", detail);
	else
		CHECKF(f->detail != NULL, "%s: no detail", what);
	CHECKF(
	    ERR_peek_error() == 0, "%s: OpenSSL error queue not empty", what);
}

/* True when the first <len> octets of <serial> are those of <hex>. */
static bool
serial_is(const unsigned char *serial, size_t len, const char *hex)
{
	BIGNUM *bn = NULL;
	unsigned char b[OCSP_SERIAL_MAX_BYTES];
	int n;
	bool ok;

	if (BN_hex2bn(&bn, hex) == 0 || (n = BN_bn2bin(bn, b)) <= 0)
		abort();
	ok = (size_t)n == len && memcmp(b, serial, len) == 0;
	BN_free(bn);
	return ok;
}

static void
test_table(const struct pki *p)
{
	struct ocsp_request_facts rf;
	struct ocsp_response_facts f;
	struct dbuf der;

	for (size_t i = 0; i < sizeof(t_resps) / sizeof(t_resps[0]); i++) {
		const struct t_resp *t = &t_resps[i];

		build(p, t, &der, &rf);
		expect(t->name, der.d, der.n, &rf, t->want, t->detail, &f);
		CHECKF(f.parsed && f.status == 0 && f.basic,
		    "%s: parsed %d status %d basic %d", t->name, f.parsed,
		    f.status, f.basic);
		CHECKF(f.ncerts == t->want_ncerts, "%s: ncerts %zu, want %zu",
		    t->name, f.ncerts, t->want_ncerts);
		CHECKF(f.has_nonce == t->want_nonce, "%s: has_nonce %d",
		    t->name, f.has_nonce);
		/* Recorded serials are those the singles listed, in order. */
		for (size_t j = 0; j < f.ncerts; j++)
			CHECKF(serial_is(f.certs[j].serial,
			           f.certs[j].serial_len, t->singles[j].serial),
			    "%s: serial %zu", t->name, j);
		CHECKF(strlen(f.produced_at) == 20, "%s: produced_at \"%s\"",
		    t->name, f.produced_at);
	}
}

/* Good, revoked and unknown, with every time and the responder. */
static void
test_facts(const struct pki *p)
{
	static const struct t_resp t = {
	    .asked = {"1001", "0a1b", "1003"},
	    .req_nonce = 16,
	    .singles = {{.serial = "1001",
	                    .status = V_OCSP_CERTSTATUS_GOOD,
	                    .next = "20260108000000Z"},
	        {.serial = "0a1b",
	            .status = V_OCSP_CERTSTATUS_REVOKED,
	            .reason = OCSP_REVOKED_STATUS_KEYCOMPROMISE,
	            .next = "20260105000000Z"},
	        {.serial = "1003", .status = V_OCSP_CERTSTATUS_UNKNOWN}},
	    .nonce = TN_COPY,
	};
	struct ocsp_request_facts rf;
	struct ocsp_response_facts f;
	struct dbuf der;
	struct tm tm;
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen;
	time_t now = time(NULL), produced;

	build(p, &t, &der, &rf);
	expect("facts", der.d, der.n, &rf, REASON_NONE, NULL, &f);
	CHECK(
	    f.parsed && f.basic && f.status == OCSP_RESPONSE_STATUS_SUCCESSFUL);
	CHECK(f.ncerts == 3 && f.has_nonce);
	CHECK(strcmp(f.responder_name, "CN=" SIGNER_CN) == 0);
	CHECK(!f.by_key);
	/* 2026-01-05T00:00:00Z, the earlier of the two. */
	CHECK(f.min_next_update == 1767571200);

	CHECK(f.certs[0].serial_len == 2 && f.certs[0].serial[0] == 0x10 &&
	    f.certs[0].serial[1] == 0x01);
	CHECK(f.certs[0].status == OCSP_CERT_GOOD);
	CHECK(strcmp(f.certs[0].this_update, "2026-01-01T00:00:00Z") == 0);
	CHECK(strcmp(f.certs[0].next_update, "2026-01-08T00:00:00Z") == 0);
	CHECK(f.certs[0].revocation_time[0] == '\0');
	CHECK(f.certs[0].revocation_reason == NULL);

	CHECK(f.certs[1].serial_len == 2 && f.certs[1].serial[0] == 0x0a &&
	    f.certs[1].serial[1] == 0x1b);
	CHECK(f.certs[1].status == OCSP_CERT_REVOKED);
	CHECK(strcmp(f.certs[1].revocation_time, "2025-03-01T12:00:00Z") == 0);
	CHECK(f.certs[1].revocation_reason != NULL &&
	    strcmp(f.certs[1].revocation_reason, "keyCompromise") == 0);
	CHECK(strcmp(f.certs[1].next_update, "2026-01-05T00:00:00Z") == 0);

	CHECK(f.certs[2].status == OCSP_CERT_UNKNOWN);
	CHECK(strcmp(f.certs[2].this_update, "2026-01-01T00:00:00Z") == 0);
	CHECK(f.certs[2].next_update[0] == '\0');
	CHECK(f.certs[2].revocation_reason == NULL);

	/* producedAt is when OCSP_basic_sign() ran. */
	memset(&tm, 0, sizeof(tm));
	CHECK(strlen(f.produced_at) == 20 && f.produced_at[4] == '-' &&
	    f.produced_at[10] == 'T' && f.produced_at[19] == 'Z');
	CHECK(sscanf(f.produced_at, "%4d-%2d-%2dT%2d:%2d:%2dZ", &tm.tm_year,
	          &tm.tm_mon, &tm.tm_mday, &tm.tm_hour, &tm.tm_min,
	          &tm.tm_sec) == 6);
	tm.tm_year -= 1900;
	tm.tm_mon -= 1;
	produced = timegm(&tm);
	CHECKF(produced <= now + 1 && produced >= now - 600, "produced_at %s",
	    f.produced_at);

	/* No nextUpdate anywhere: 0. */
	build(p, &(struct t_resp){.singles = {GOOD("1001")}}, &der, &rf);
	expect("no nextUpdate", der.d, der.n, &rf, REASON_NONE, NULL, &f);
	CHECK(f.min_next_update == 0 && f.certs[0].next_update[0] == '\0');

	/* byKey: the SHA-1 hash of the signer's public key. */
	build(p, &(struct t_resp){.singles = {GOOD("1001")}, .sign = TS_KEY_ID},
	    &der, &rf);
	expect("byKey", der.d, der.n, &rf, REASON_NONE, NULL, &f);
	CHECK(X509_pubkey_digest(p->signer, EVP_sha1(), md, &mdlen) == 1);
	CHECK(f.by_key && mdlen == 20 &&
	    memcmp(f.responder_key_hash, md, 20) == 0);
	CHECK(f.responder_name[0] == '\0');

	/* Signed by the CA: its name. */
	build(p, &(struct t_resp){.singles = {GOOD("1001")}, .sign = TS_CA},
	    &der, &rf);
	expect("CA byName", der.d, der.n, &rf, REASON_NONE, NULL, &f);
	CHECK(strcmp(f.responder_name, "CN=ocspgate test CA") == 0);
}

/* Every RFC 5280 reason by name, and a revocation without one. */
static void
test_reasons(const struct pki *p)
{
	static const char *const names[] = {"unspecified", "keyCompromise",
	    "cACompromise", "affiliationChanged", "superseded",
	    "cessationOfOperation", "certificateHold", NULL, "removeFromCRL",
	    "privilegeWithdrawn", "aACompromise"};
	struct ocsp_request_facts rf;
	struct ocsp_response_facts f;
	struct t_resp t = {.name = "reason"};
	struct dbuf der;

	t.singles[0].serial = "1001";
	t.singles[0].status = V_OCSP_CERTSTATUS_REVOKED;
	for (int r = NOREASON; r < (int)(sizeof(names) / sizeof(names[0]));
	     r++) {
		if (r >= 0 && names[r] == NULL)
			continue;
		t.singles[0].reason = r;
		build(p, &t, &der, &rf);
		expect(r >= 0 ? names[r] : "no reason", der.d, der.n, &rf,
		    REASON_NONE, NULL, &f);
		CHECKF(f.ncerts == 1 && f.certs[0].status == OCSP_CERT_REVOKED,
		    "reason %d: facts", r);
		if (r == NOREASON)
			CHECK(f.certs[0].revocation_reason == NULL);
		else
			CHECKF(f.certs[0].revocation_reason != NULL &&
			        strcmp(f.certs[0].revocation_reason,
			            names[r]) == 0,
			    "reason %d: %s", r,
			    f.certs[0].revocation_reason
			        ? f.certs[0].revocation_reason
			        : "(null)");
		CHECK(strcmp(f.certs[0].revocation_time,
		          "2025-03-01T12:00:00Z") == 0);
	}
}

/* Non-successful statuses, with and without responseBytes. */
static void
test_statuses(const struct pki *p)
{
	static const struct {
		int status;
		const char *name;
	} st[] = {
	    {OCSP_RESPONSE_STATUS_MALFORMEDREQUEST, "malformedRequest"},
	    {OCSP_RESPONSE_STATUS_INTERNALERROR, "internalError"},
	    {OCSP_RESPONSE_STATUS_TRYLATER, "tryLater"},
	    {OCSP_RESPONSE_STATUS_SIGREQUIRED, "sigRequired"},
	    {OCSP_RESPONSE_STATUS_UNAUTHORIZED, "unauthorized"},
	};
	static const unsigned char unused4[] = {0x30, 0x03, 0x0a, 0x01, 0x04};
	static const unsigned char seven[] = {0x30, 0x03, 0x0a, 0x01, 0x07};
	static const unsigned char minus1[] = {0x30, 0x03, 0x0a, 0x01, 0xff};
	static const unsigned char big[] = {
	    0x30, 0x0b, 0x0a, 0x09, 0x01, 0, 0, 0, 0, 0, 0, 0, 0};
	struct ocsp_request_facts rf;
	struct ocsp_response_facts f;
	OCSP_RESPONSE *resp;
	OCSP_BASICRESP *bs;
	OCSP_REQUEST *req;
	struct dbuf der;
	static const char *const one[] = {"1001", NULL};

	req = make_req(p->ca, EVP_sha1(), one, 16, &rf);
	for (size_t i = 0; i < sizeof(st) / sizeof(st[0]); i++) {
		resp = OCSP_response_create(st[i].status, NULL);
		resp_der(resp, &der);
		OCSP_RESPONSE_free(resp);
		expect(st[i].name, der.d, der.n, &rf, REASON_NONE, NULL, &f);
		CHECKF(f.parsed && f.status == st[i].status && !f.basic &&
		        f.ncerts == 0 && !f.has_nonce &&
		        f.produced_at[0] == '\0',
		    "%s: facts", st[i].name);
		CHECK(strcmp(ocsp_response_status_name(f.status), st[i].name) ==
		    0);

		/* The same status with a signed BasicOCSPResponse. */
		bs = OCSP_BASICRESP_new();
		add_single(bs, p, &(struct t_single)GOOD("1001"));
		sign(bs, p, TS_SIGNER);
		resp = OCSP_response_create(st[i].status, bs);
		resp_der(resp, &der);
		OCSP_RESPONSE_free(resp);
		OCSP_BASICRESP_free(bs);
		expect(st[i].name, der.d, der.n, &rf, MALFORMED,
		    "responseBytes with a non-successful status", &f);
		CHECK(f.parsed && f.status == st[i].status && !f.basic);
	}
	OCSP_REQUEST_free(req);

	resp = OCSP_response_create(OCSP_RESPONSE_STATUS_SUCCESSFUL, NULL);
	resp_der(resp, &der);
	OCSP_RESPONSE_free(resp);
	expect("successful, no responseBytes", der.d, der.n, &rf, MALFORMED,
	    "successful status without responseBytes", &f);
	CHECK(f.parsed && f.status == 0 && !f.basic);

	expect("status 4", unused4, sizeof(unused4), &rf, MALFORMED,
	    "unknown response status", &f);
	CHECK(!f.parsed);
	expect("status 7", seven, sizeof(seven), &rf, MALFORMED,
	    "unknown response status", &f);
	expect("status -1", minus1, sizeof(minus1), &rf, MALFORMED,
	    "unknown response status", &f);
	expect("status 2^64", big, sizeof(big), &rf, MALFORMED,
	    "unknown response status", &f);
}

/* id-pkix-ocsp-basic, content octets. */
static const unsigned char oid_basic[] = {
    0x2b, 0x06, 0x01, 0x05, 0x05, 0x07, 0x30, 0x01, 0x01};

/*
 * An OCSPResponse of <status> around responseBytes of type <oid>
 * (content octets) holding <body>.
 */
static void
wrap(struct dbuf *out, int status, const unsigned char *oid, size_t oid_len,
    const struct dbuf *body)
{
	struct dbuf rb = {0}, seq = {0}, ctx = {0}, all = {0};
	unsigned char st = (unsigned char)status;

	tlv(&rb, 0x06, oid, oid_len);
	tlv(&rb, 0x04, body->d, body->n);
	tlv(&seq, 0x30, rb.d, rb.n);
	tlv(&ctx, 0xa0, seq.d, seq.n);
	tlv(&all, 0x0a, &st, 1);
	put(&all, ctx.d, ctx.n);
	out->n = 0;
	tlv(out, 0x30, all.d, all.n);
}

/* <basic> with <version> (a TLV) put first in its tbsResponseData. */
static void
with_version(struct dbuf *out, const struct dbuf *basic, const char *version,
    size_t vlen)
{
	struct dbuf tbs = {0}, inner = {0};
	size_t h1, c1, h2, c2;

	h1 = hdr(basic->d, &c1);
	h2 = hdr(basic->d + h1, &c2);
	put(&tbs, "\xa0\x03", 2);
	put(&tbs, version, vlen);
	put(&tbs, basic->d + h1 + h2, c2);
	tlv(&inner, 0x30, tbs.d, tbs.n);
	put(&inner, basic->d + h1 + h2 + c2, c1 - h2 - c2);
	out->n = 0;
	tlv(out, 0x30, inner.d, inner.n);
}

/* Encodings of a valid response that break the DER rules. */
static void
test_encoding(const struct pki *p)
{
	static const unsigned char oid_nonce[] = {
	    0x2b, 0x06, 0x01, 0x05, 0x05, 0x07, 0x30, 0x01, 0x02};
	static const char html[] =
	    "<html><body><h1>It works!</h1></body></html>\n";
	static const unsigned char trylater_long[] = {
	    0x30, 0x81, 0x03, 0x0a, 0x01, 0x03};
	static const unsigned char trylater_enum_pad[] = {
	    0x30, 0x04, 0x0a, 0x02, 0x00, 0x03};
	static const char *const one[] = {"1001", NULL};
	struct ocsp_request_facts rf;
	struct ocsp_response_facts f;
	OCSP_REQUEST *req;
	OCSP_BASICRESP *bs;
	unsigned char *enc = NULL;
	struct dbuf der, bad, basic, body;
	int n;

	req = make_req(p->ca, EVP_sha1(), one, 0, &rf);
	bs = OCSP_BASICRESP_new();
	add_single(bs, p, &(struct t_single)GOOD("1001"));
	sign(bs, p, TS_SIGNER);
	if ((n = i2d_OCSP_BASICRESP(bs, &enc)) <= 0)
		abort();
	basic.n = 0;
	put(&basic, enc, (size_t)n);
	OPENSSL_free(enc);
	finish(bs, &der);
	OCSP_REQUEST_free(req);
	expect("valid", der.d, der.n, &rf, REASON_NONE, NULL, &f);
	CHECK(der.d[1] == 0x82);

	bad = der;
	put(&bad, "", 1);
	expect("trailing byte", bad.d, bad.n, &rf, MALFORMED,
	    "trailing bytes after OCSPResponse", &f);
	CHECK(!f.parsed);
	bad = der;
	put(&bad, der.d, der.n);
	expect("two responses", bad.d, bad.n, &rf, MALFORMED,
	    "trailing bytes after OCSPResponse", &f);

	/* 30 82 HH LL as 30 83 00 HH LL. */
	bad.n = 0;
	put(&bad, "\x30\x83\x00", 3);
	put(&bad, der.d + 2, der.n - 2);
	expect("long-form length", bad.d, bad.n, &rf, MALFORMED,
	    "not canonical DER", &f);
	CHECK(!f.parsed);
	bad.n = 0;
	put(&bad, "\x30\x80", 2);
	put(&bad, der.d + 4, der.n - 4);
	put(&bad, "\x00\x00", 2);
	expect("indefinite length", bad.d, bad.n, &rf, MALFORMED,
	    "not canonical DER", &f);
	expect("tryLater, long-form length", trylater_long,
	    sizeof(trylater_long), &rf, MALFORMED, "not canonical DER", &f);
	expect("tryLater, padded ENUMERATED", trylater_enum_pad,
	    sizeof(trylater_enum_pad), &rf, MALFORMED, NULL, &f);

	for (size_t cut = 1; cut < der.n; cut += 97)
		expect("truncated", der.d, der.n - cut, &rf, MALFORMED,
		    "not a DER OCSPResponse", &f);
	expect("HTML", (const unsigned char *)html, sizeof(html) - 1, &rf,
	    MALFORMED, "not a DER OCSPResponse", &f);
	expect("empty", der.d, 0, &rf, MALFORMED, "not a DER OCSPResponse", &f);
	expect("NULL", NULL, 0, &rf, MALFORMED, "not a DER OCSPResponse", &f);

	/* Hand-wrapped: the wrapper itself is what OpenSSL makes. */
	wrap(&bad, 0, oid_basic, sizeof(oid_basic), &basic);
	CHECK(bad.n == der.n && memcmp(bad.d, der.d, der.n) == 0);
	wrap(&bad, 0, oid_nonce, sizeof(oid_nonce), &basic);
	expect("responseType not basic", bad.d, bad.n, &rf, MALFORMED,
	    "responseBytes not a BasicOCSPResponse", &f);
	CHECK(f.parsed && !f.basic);

	body = basic;
	put(&body, "", 1);
	wrap(&bad, 0, oid_basic, sizeof(oid_basic), &body);
	expect("byte after BasicOCSPResponse", bad.d, bad.n, &rf, MALFORMED,
	    "BasicOCSPResponse not canonical DER", &f);
	CHECK(f.parsed && !f.basic);

	body.n = 0;
	put(&body, "\x30\x83\x00", 3);
	put(&body, basic.d + 2, basic.n - 2);
	wrap(&bad, 0, oid_basic, sizeof(oid_basic), &body);
	expect("BasicOCSPResponse long-form length", bad.d, bad.n, &rf,
	    MALFORMED, "BasicOCSPResponse not canonical DER", &f);

	body.n = 0;
	put(&body, "hello", 5);
	wrap(&bad, 0, oid_basic, sizeof(oid_basic), &body);
	expect("BasicOCSPResponse garbage", bad.d, bad.n, &rf, MALFORMED,
	    "not a DER BasicOCSPResponse", &f);

	body.n = 0;
	put(&body, basic.d, basic.n - 1);
	wrap(&bad, 0, oid_basic, sizeof(oid_basic), &body);
	expect("BasicOCSPResponse truncated", bad.d, bad.n, &rf, MALFORMED,
	    "not a DER BasicOCSPResponse", &f);

	with_version(&body, &basic, "\x02\x01\x00", 3);
	wrap(&bad, 0, oid_basic, sizeof(oid_basic), &body);
	expect("explicit version v1", bad.d, bad.n, &rf, MALFORMED,
	    "version v1 encoded explicitly (not DER)", &f);
	with_version(&body, &basic, "\x02\x01\x01", 3);
	wrap(&bad, 0, oid_basic, sizeof(oid_basic), &body);
	expect(
	    "version v2", bad.d, bad.n, &rf, MALFORMED, "version not v1", &f);

	wrap(&bad, OCSP_RESPONSE_STATUS_TRYLATER, oid_nonce, sizeof(oid_nonce),
	    &basic);
	expect("tryLater with other bytes", bad.d, bad.n, &rf, MALFORMED,
	    "responseBytes with a non-successful status", &f);
	wrap(&bad, 4, oid_basic, sizeof(oid_basic), &basic);
	expect("status 4 with bytes", bad.d, bad.n, &rf, MALFORMED,
	    "unknown response status", &f);

	/* Facts are zeroed first. */
	memset(&f, 0xff, sizeof(f));
	expect("HTML again", (const unsigned char *)html, sizeof(html) - 1, &rf,
	    MALFORMED, NULL, &f);
	CHECK(!f.parsed && !f.basic && f.ncerts == 0 && !f.has_nonce &&
	    f.produced_at[0] == '\0' && f.min_next_update == 0);
}

/* What a hand-made response holds; NULL or 0 picks a sound value. */
struct t_hand {
	const char *name;
	const char *reason; /* ENUMERATED content; NULL: none */
	size_t reason_len;
	bool good;      /* good instead of revoked */
	size_t key_len; /* 0: 20 */
	size_t cn_len;  /* nonzero: responder byName, CN of that length */
	const char *cn; /* else, non-NULL: responder byName, this CN */
	const char *revoked_at, *this_update, *next_update, *produced_at;
	const char *id_md;  /* certID hash algorithm; NULL: sha1 */
	const char *serial; /* certID serial (hex, BN syntax); NULL: "1001" */

	enum reason want;
	const char *detail;
	const char *want_reason; /* revocation_reason */
	size_t want_ncerts;
};

/*
 * A successful response made by hand as <t> says, about a certificate
 * of <ca>. The signature is filler: inspection does not verify it.
 */
static void
hand_build(struct dbuf *out, X509 *ca, const struct t_hand *t)
{
	static const unsigned char ecdsa_sha256[] = {
	    0x2a, 0x86, 0x48, 0xce, 0x3d, 0x04, 0x03, 0x02};
	static const unsigned char cn[] = {0x55, 0x04, 0x03};
	struct dbuf a = {0}, b = {0}, single = {0}, tbs = {0}, basic = {0};
	unsigned char fill[512], *enc = NULL;
	const char *this_update = t->this_update ? t->this_update : THIS_UPDATE;
	const char *rev = t->revoked_at ? t->revoked_at : REVOKED_AT;
	const char *produced = t->produced_at ? t->produced_at : THIS_UPDATE;
	OCSP_CERTID *id;
	int n;

	id = make_id(EVP_get_digestbyname(t->id_md ? t->id_md : "sha1"), ca,
	    t->serial ? t->serial : "1001");
	if ((n = i2d_OCSP_CERTID(id, &enc)) <= 0)
		abort();
	put(&single, enc, (size_t)n);
	OPENSSL_free(enc);
	OCSP_CERTID_free(id);
	if (t->good) {
		tlv(&single, 0x80, NULL, 0);
	} else {
		tlv(&a, 0x18, rev, strlen(rev));
		if (t->reason != NULL) {
			tlv(&b, 0x0a, t->reason, t->reason_len);
			tlv(&a, 0xa0, b.d, b.n);
		}
		tlv(&single, 0xa1, a.d, a.n);
	}
	tlv(&single, 0x18, this_update, strlen(this_update));
	if (t->next_update != NULL) {
		a.n = 0;
		tlv(&a, 0x18, t->next_update, strlen(t->next_update));
		tlv(&single, 0xa0, a.d, a.n);
	}

	memset(fill, 'a', sizeof(fill));
	a.n = 0;
	b.n = 0;
	if (t->cn_len > 0 || t->cn != NULL) {
		struct dbuf atv = {0}, set = {0};

		tlv(&atv, 0x06, cn, sizeof(cn));
		if (t->cn_len > 0)
			tlv(&atv, 0x0c, fill, t->cn_len);
		else
			tlv(&atv, 0x0c, t->cn, strlen(t->cn));
		tlv(&set, 0x30, atv.d, atv.n);
		tlv(&b, 0x31, set.d, set.n);
		tlv(&a, 0x30, b.d, b.n);
		tlv(&tbs, 0xa1, a.d, a.n);
	} else {
		tlv(&a, 0x04, fill, t->key_len ? t->key_len : 20);
		tlv(&tbs, 0xa2, a.d, a.n);
	}
	tlv(&tbs, 0x18, produced, strlen(produced));
	a.n = 0;
	tlv(&a, 0x30, single.d, single.n);
	tlv(&tbs, 0x30, a.d, a.n);

	a.n = 0;
	tlv(&a, 0x30, tbs.d, tbs.n);
	b.n = 0;
	tlv(&b, 0x06, ecdsa_sha256, sizeof(ecdsa_sha256));
	tlv(&a, 0x30, b.d, b.n);
	/* A signature of ECDSA's shape: SEQUENCE { INTEGER 1, INTEGER 1 }. */
	tlv(&a, 0x03, "\x00\x30\x06\x02\x01\x01\x02\x01\x01", 9);
	tlv(&basic, 0x30, a.d, a.n);
	wrap(out, 0, oid_basic, sizeof(oid_basic), &basic);
}

static const struct t_hand t_hands[] = {
    {.name = "reason 10",
        .reason = "\x0a",
        .reason_len = 1,
        .want_reason = "aACompromise",
        .want_ncerts = 1},
    {.name = "no reason", .want_ncerts = 1},
    {.name = "reason 7",
        .reason = "\x07",
        .reason_len = 1,
        .want = MALFORMED,
        .detail = "unknown revocation reason"},
    {.name = "reason -2",
        .reason = "\xfe",
        .reason_len = 1,
        .want = MALFORMED,
        .detail = "unknown revocation reason"},
    {.name = "reason 256",
        .reason = "\x01\x00",
        .reason_len = 2,
        .want = MALFORMED,
        .detail = "unknown revocation reason"},
    /* 2^32 + 1 would read as 1 through an int. */
    {.name = "reason 2^32 + 1",
        .reason = "\x01\x00\x00\x00\x01",
        .reason_len = 5,
        .want = MALFORMED,
        .detail = "unknown revocation reason"},
    {.name = "reason 2^64 + 1",
        .reason = "\x01\x00\x00\x00\x00\x00\x00\x00\x01",
        .reason_len = 9,
        .want = MALFORMED,
        .detail = "unknown revocation reason"},
    {.name = "reason 1, padded",
        .reason = "\x00\x01",
        .reason_len = 2,
        .want = MALFORMED,
        .detail = "not a DER BasicOCSPResponse"},
    {.name = "key hash 19 octets",
        .key_len = 19,
        .want = MALFORMED,
        .detail = "responder key hash not 20 octets"},
    {.name = "key hash 32 octets",
        .key_len = 32,
        .want = MALFORMED,
        .detail = "responder key hash not 20 octets"},
    {.name = "byName, 10 characters", .cn_len = 10, .want_ncerts = 1},
    {.name = "byName, 300 characters", .cn_len = 300, .want_ncerts = 1},
    {.name = "fractional seconds",
        .good = true,
        .this_update = "20260101000000.25Z",
        .want_ncerts = 1},
    {.name = "thisUpdate month 13",
        .good = true,
        .this_update = "20261301000000Z",
        .want = MALFORMED,
        .detail = "thisUpdate not a valid time"},
    {.name = "thisUpdate not digits",
        .good = true,
        .this_update = "2026010100000xZ",
        .want = MALFORMED,
        .detail = "thisUpdate not a valid time"},
    {.name = "nextUpdate February 30",
        .good = true,
        .next_update = "20260230000000Z",
        .want = MALFORMED,
        .detail = "nextUpdate not a valid time"},
    {.name = "revocationTime hour 24",
        .revoked_at = "20250301240000Z",
        .want = MALFORMED,
        .detail = "revocationTime not a valid time"},
    {.name = "producedAt empty",
        .good = true,
        .produced_at = "",
        .want = MALFORMED,
        .detail = "producedAt not a valid time"},
    {.name = "year 0000",
        .good = true,
        .next_update = "00000101000000Z",
        .want_ncerts = 1},
    {.name = "year 9999",
        .good = true,
        .this_update = "99991231235959Z",
        .want_ncerts = 1},
    {.name = "certID hashed with md5",
        .good = true,
        .id_md = "md5",
        .want = MALFORMED,
        .detail = NOT_ASKED},
    {.name = "serial negative",
        .good = true,
        .serial = "-1001",
        .want = MALFORMED,
        .detail = NOT_ASKED},
    {.name = "serial 0",
        .good = true,
        .serial = "0",
        .want = MALFORMED,
        .detail = NOT_ASKED},
    {.name = "serial 21 octets",
        .good = true,
        .serial = "01000000000000000000000000000000000000001001",
        .want = MALFORMED,
        .detail = NOT_ASKED},
};

/* Fields OpenSSL's API cannot make wrong, made wrong by hand. */
static void
test_hand_built(const struct pki *p)
{
	static const char *const one[] = {"1001", NULL};
	struct ocsp_request_facts rf;
	struct ocsp_response_facts f;
	struct dbuf der;

	OCSP_REQUEST_free(make_req(p->ca, EVP_sha1(), one, 0, &rf));
	for (size_t i = 0; i < sizeof(t_hands) / sizeof(t_hands[0]); i++) {
		const struct t_hand *t = &t_hands[i];
		const char *got;

		if (t->id_md != NULL && EVP_get_digestbyname(t->id_md) == NULL)
			continue;
		hand_build(&der, p->ca, t);
		expect(t->name, der.d, der.n, &rf, t->want, t->detail, &f);
		CHECKF(f.ncerts == t->want_ncerts, "%s: ncerts %zu", t->name,
		    f.ncerts);
		/* Only a BasicOCSPResponse that decoded has a responder. */
		CHECKF(f.basic ==
		        (t->detail == NULL ||
		            strcmp(t->detail, "not a DER BasicOCSPResponse") !=
		                0),
		    "%s: basic %d", t->name, f.basic);
		if (!f.basic)
			continue;
		CHECKF(f.by_key == (t->cn_len == 0), "%s: by_key", t->name);
		if (f.by_key && t->want == REASON_NONE)
			CHECKF(f.responder_key_hash[0] == 'a' &&
			        f.responder_key_hash[19] == 'a',
			    "%s: key hash", t->name);
		if (t->cn_len > 0)
			CHECKF(strncmp(f.responder_name, "CN=aaa", 6) == 0 &&
			        strlen(f.responder_name) ==
			            (t->cn_len + 3 < OCSP_RESPONDER_NAME_MAX
			                    ? t->cn_len + 3
			                    : OCSP_RESPONDER_NAME_MAX - 1),
			    "%s: responder name %zu long", t->name,
			    strlen(f.responder_name));
		if (f.ncerts == 0)
			continue;
		got = f.certs[0].revocation_reason;
		CHECKF(got == t->want_reason ||
		        (got != NULL && t->want_reason != NULL &&
		            strcmp(got, t->want_reason) == 0),
		    "%s: reason %s", t->name, got ? got : "(null)");
	}

	/* A responder's name printed as OpenSSL prints it (RFC 2253). */
	{
		static const struct {
			const char *cn, *printed;
		} names[] = {
		    {"plain", "CN=plain"},
		    {"x", "CN=x"},
		    {"#", "CN=#"},
		    {" ", "CN=\\ "},
		    {"a,b+c", "CN=a\\,b\\+c"},
		    {"q\"u<o>t;e\\", "CN=q\\\"u\\<o\\>t\\;e\\\\"},
		    {"#lead", "CN=\\#lead"},
		    {" lead and trail ", "CN=\\ lead and trail\\ "},
		    {"in # side", "CN=in # side"},
		};

		for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
			hand_build(&der, p->ca,
			    &(struct t_hand){.good = true, .cn = names[i].cn});
			expect(names[i].cn, der.d, der.n, &rf, REASON_NONE,
			    NULL, &f);
			CHECKF(strcmp(f.responder_name, names[i].printed) == 0,
			    "name '%s' printed '%s'", names[i].cn,
			    f.responder_name);
		}
	}

	/* What the times read as. */
	hand_build(&der, p->ca,
	    &(struct t_hand){.good = true,
	        .this_update = "20260101000000.25Z",
	        .next_update = "00000101000000Z",
	        .produced_at = "99991231235959Z"});
	expect("times", der.d, der.n, &rf, REASON_NONE, NULL, &f);
	CHECK(strcmp(f.certs[0].this_update, "2026-01-01T00:00:00Z") == 0);
	CHECK(strcmp(f.certs[0].next_update, "0000-01-01T00:00:00Z") == 0);
	CHECK(strcmp(f.produced_at, "9999-12-31T23:59:59Z") == 0);
	CHECK(f.min_next_update == -62167219200);
}

/* A response whose request has no certificates, or is NULL. */
static void
test_no_request(const struct pki *p)
{
	struct ocsp_request_facts rf, empty;
	struct ocsp_response_facts f;
	struct dbuf der;
	OCSP_RESPONSE *resp;

	build(p, &(struct t_resp){.singles = {GOOD("1001")}}, &der, &rf);
	memset(&empty, 0, sizeof(empty));
	expect("empty request", der.d, der.n, &empty, MALFORMED, NOT_ASKED, &f);
	expect("NULL request", der.d, der.n, NULL, MALFORMED, NOT_ASKED, &f);
	resp = OCSP_response_create(OCSP_RESPONSE_STATUS_TRYLATER, NULL);
	resp_der(resp, &der);
	OCSP_RESPONSE_free(resp);
	expect("tryLater, NULL request", der.d, der.n, NULL, REASON_NONE, NULL,
	    &f);
}

static void
test_names(void)
{
	CHECK(strcmp(ocsp_cert_status_name(OCSP_CERT_GOOD), "good") == 0);
	CHECK(strcmp(ocsp_cert_status_name(OCSP_CERT_REVOKED), "revoked") == 0);
	CHECK(strcmp(ocsp_cert_status_name(OCSP_CERT_UNKNOWN), "unknown") == 0);
	CHECK(strcmp(ocsp_cert_status_name((enum ocsp_cert_status)7),
	          "unknown") == 0);
	CHECK(strcmp(ocsp_response_status_name(0), "successful") == 0);
	CHECK(strcmp(ocsp_response_status_name(1), "malformedRequest") == 0);
	CHECK(strcmp(ocsp_response_status_name(2), "internalError") == 0);
	CHECK(strcmp(ocsp_response_status_name(3), "tryLater") == 0);
	CHECK(strcmp(ocsp_response_status_name(4), "unknown") == 0);
	CHECK(strcmp(ocsp_response_status_name(5), "sigRequired") == 0);
	CHECK(strcmp(ocsp_response_status_name(6), "unauthorized") == 0);
	CHECK(strcmp(ocsp_response_status_name(7), "unknown") == 0);
	CHECK(strcmp(ocsp_response_status_name(-1), "unknown") == 0);
	CHECK(strcmp(reason_name(REASON_RESPONSE_MALFORMED),
	          "response_malformed") == 0);
	CHECK(strcmp(reason_name(REASON_RESPONSE_UNVERIFIED),
	          "response_unverified") == 0);
}

static void
expect_verify(const char *what, const struct dbuf *der, X509_STORE *store,
    STACK_OF(X509) * certs, enum reason want, const char *detail)
{
	const char *got = "unset";
	enum reason r;

	r = ocsp_response_verify(der->d, der->n, store, certs, &got);
	CHECKF(r == want, "%s: reason %s, want %s (%s)", what, reason_name(r),
	    reason_name(want), got ? got : "no detail");
	if (want == REASON_NONE)
		CHECKF(got == NULL, "%s: detail %s", what, got);
	else
		CHECKF(got != NULL && strcmp(got, detail) == 0,
		    "%s: detail \"%s\", want \"%s\"", what,
		    got ? got : "(null)", detail);
	CHECKF(
	    ERR_peek_error() == 0, "%s: OpenSSL error queue not empty", what);
}

static void
test_verify(const struct pki *p)
{
	struct ocsp_request_facts rf;
	struct ocsp_response_facts f;
	struct dbuf der;
	X509_STORE *store = X509_STORE_new(), *empty = X509_STORE_new(),
	           *other = X509_STORE_new();
	STACK_OF(X509) *certs = sk_X509_new_null();
	OCSP_RESPONSE *resp;

	if (store == NULL || empty == NULL || other == NULL || certs == NULL ||
	    X509_STORE_add_cert(store, p->ca) != 1 ||
	    X509_STORE_add_cert(other, p->ca2) != 1 ||
	    sk_X509_push(certs, p->signer) <= 0)
		abort();

	build(p, &(struct t_resp){.singles = {GOOD("1001")}}, &der, &rf);
	expect_verify("delegated signer", &der, store, NULL, REASON_NONE, NULL);
	expect_verify("delegated signer, extra certs", &der, store, certs,
	    REASON_NONE, NULL);
	expect_verify("store without the CA", &der, empty, NULL,
	    REASON_RESPONSE_UNVERIFIED, "signer not trusted");
	expect_verify("store with another CA", &der, other, NULL,
	    REASON_RESPONSE_UNVERIFIED, "signer not trusted");

	build(p, &(struct t_resp){.singles = {GOOD("1001")}, .sign = TS_KEY_ID},
	    &der, &rf);
	expect_verify("byKey", &der, store, NULL, REASON_NONE, NULL);

	build(p, &(struct t_resp){.singles = {GOOD("1001")}, .sign = TS_CA},
	    &der, &rf);
	expect_verify("the CA itself", &der, store, NULL, REASON_NONE, NULL);

	build(p,
	    &(struct t_resp){.singles = {GOOD("1001")}, .sign = TS_NOCERTS},
	    &der, &rf);
	expect_verify(
	    "no certs, signer given", &der, store, certs, REASON_NONE, NULL);
	expect_verify("no certs, signer not given", &der, store, NULL,
	    REASON_RESPONSE_UNVERIFIED, "signer certificate not found");

	/* The signature is last when no certificates follow it. */
	der.d[der.n - 1] ^= 0x01;
	expect("tampered signature (inspect)", der.d, der.n, &rf, REASON_NONE,
	    NULL, &f);
	expect_verify("tampered signature", &der, store, certs,
	    REASON_RESPONSE_UNVERIFIED, "signature does not verify");

	build(p, &(struct t_resp){.singles = {GOOD("1001")}, .sign = TS_ROGUE},
	    &der, &rf);
	expect_verify("self-signed look-alike", &der, store, NULL,
	    REASON_RESPONSE_UNVERIFIED, "signer not trusted");
	build(p,
	    &(struct t_resp){
	        .singles = {GOOD("1001")}, .sign = TS_ROGUE_HIDDEN},
	    &der, &rf);
	expect_verify("untrusted key, the signer's name", &der, store, certs,
	    REASON_RESPONSE_UNVERIFIED, "signature does not verify");

	build(p, &(struct t_resp){.singles = {GOOD("1001")}, .sign = TS_PLAIN},
	    &der, &rf);
	expect_verify("signer without OCSPSigning", &der, store, NULL,
	    REASON_RESPONSE_UNVERIFIED, "signer not trusted");

	/* The delegated signer answering about another CA's certificate. */
	build(p,
	    &(struct t_resp){.singles = {{.serial = "1001", .other_ca = true}}},
	    &der, &rf);
	expect_verify("signer of another CA", &der, store, NULL,
	    REASON_RESPONSE_UNVERIFIED, "signer not trusted");

	resp = OCSP_response_create(OCSP_RESPONSE_STATUS_TRYLATER, NULL);
	resp_der(resp, &der);
	OCSP_RESPONSE_free(resp);
	expect_verify("tryLater", &der, store, NULL, REASON_RESPONSE_UNVERIFIED,
	    "not a BasicOCSPResponse");
	der.n = 0;
	put(&der, "<html>", 6);
	expect_verify("HTML", &der, store, NULL, REASON_RESPONSE_UNVERIFIED,
	    "not a BasicOCSPResponse");
	expect_verify("no store", &der, NULL, NULL, REASON_RESPONSE_UNVERIFIED,
	    "no trust store");

	/* An error already queued is left there. */
	ERR_raise(ERR_LIB_OCSP, OCSP_R_NO_RESPONSE_DATA);
	ocsp_response_verify(der.d, der.n, store, NULL, NULL);
	CHECK(ERR_GET_REASON(ERR_peek_error()) == OCSP_R_NO_RESPONSE_DATA);
	ocsp_response_inspect(der.d, der.n, &rf, &f);
	CHECK(ERR_GET_REASON(ERR_get_error()) == OCSP_R_NO_RESPONSE_DATA);
	CHECK(ERR_peek_error() == 0);

	sk_X509_free(certs);
	X509_STORE_free(store);
	X509_STORE_free(empty);
	X509_STORE_free(other);
}

/* The request side's leaf, asked for with OCSP_cert_to_id(). */
static void
test_cert_to_id(const struct pki *p)
{
	struct ocsp_request_facts rf;
	struct ocsp_response_facts f;
	OCSP_REQUEST *req = OCSP_REQUEST_new();
	OCSP_BASICRESP *bs = OCSP_BASICRESP_new();
	OCSP_CERTID *id = OCSP_cert_to_id(EVP_sha1(), p->leaf, p->ca);
	ASN1_GENERALIZEDTIME *t = gtime(THIS_UPDATE);
	unsigned char *enc = NULL;
	struct dbuf der;
	int n;

	if (req == NULL || bs == NULL || id == NULL ||
	    OCSP_basic_add1_status(
	        bs, id, V_OCSP_CERTSTATUS_GOOD, 0, NULL, t, NULL) == NULL ||
	    OCSP_request_add0_id(req, id) == NULL ||
	    (n = i2d_OCSP_REQUEST(req, &enc)) <= 0)
		abort();
	memset(&rf, 0, sizeof(rf));
	CHECK(ocsp_request_inspect(enc, (size_t)n, 32, &rf) == REASON_NONE);
	sign(bs, p, TS_SIGNER);
	finish(bs, &der);
	expect("leaf certificate", der.d, der.n, &rf, REASON_NONE, NULL, &f);
	CHECK(f.ncerts == 1 &&
	    serial_is(f.certs[0].serial, f.certs[0].serial_len, "1001"));
	OPENSSL_free(enc);
	OCSP_REQUEST_free(req);
	ASN1_GENERALIZEDTIME_free(t);
}

/* Adds extension <nid> with DER value <v> (<n> bytes) to <list>. */
static X509_EXTENSION *
raw_ext(int nid, const char *oid, const void *v, size_t n)
{
	ASN1_OCTET_STRING *os = ASN1_OCTET_STRING_new();
	ASN1_OBJECT *obj = oid != NULL ? OBJ_txt2obj(oid, 1) : OBJ_nid2obj(nid);
	X509_EXTENSION *ext;

	if (os == NULL || obj == NULL ||
	    ASN1_OCTET_STRING_set(os, v, (int)n) != 1 ||
	    (ext = X509_EXTENSION_create_by_OBJ(NULL, obj, 0, os)) == NULL)
		abort();
	ASN1_OCTET_STRING_free(os);
	if (oid != NULL)
		ASN1_OBJECT_free(obj);
	return ext;
}

/* A certificate signed by <issuer_key>, with one extension <ext> (freed). */
static X509 *
cert_with_ext(const struct pki *p, X509_EXTENSION *ext)
{
	X509 *x = make_cert("ocspgate extra cert", "0300", p->plain_key, p->ca,
	    p->ca_key, false, NULL);

	if (X509_add_ext(x, ext, -1) != 1 ||
	    X509_sign(x, p->ca_key, EVP_sha256()) <= 0)
		abort();
	X509_EXTENSION_free(ext);
	return x;
}

/*
 * A good answer about 1001 signed by <signer> with <key> (byName, its
 * certificate included), with response extension <rext> and single
 * extension <sext> (each may be NULL) and <extra> certificates added.
 */
static void
build_with(const struct pki *p, X509 *signer, EVP_PKEY *key,
    X509_EXTENSION *rext, X509_EXTENSION *sext, X509 *const *extra,
    size_t nextra, struct dbuf *out)
{
	OCSP_BASICRESP *bs = OCSP_BASICRESP_new();
	ASN1_GENERALIZEDTIME *t = gtime(THIS_UPDATE);
	OCSP_CERTID *id = make_id(EVP_sha1(), p->ca, "1001");
	OCSP_SINGLERESP *one;

	if (bs == NULL ||
	    (one = OCSP_basic_add1_status(
	         bs, id, V_OCSP_CERTSTATUS_GOOD, 0, NULL, t, NULL)) == NULL ||
	    (sext != NULL && OCSP_SINGLERESP_add_ext(one, sext, -1) != 1) ||
	    (rext != NULL && OCSP_BASICRESP_add_ext(bs, rext, -1) != 1))
		abort();
	for (size_t i = 0; i < nextra; i++)
		if (OCSP_basic_add1_cert(bs, extra[i]) != 1)
			abort();
	if (OCSP_basic_sign(bs, signer, key, EVP_sha256(), NULL, 0) != 1)
		abort();
	finish(bs, out);
	OCSP_CERTID_free(id);
	ASN1_GENERALIZEDTIME_free(t);
	X509_EXTENSION_free(rext);
	X509_EXTENSION_free(sext);
}

/*
 * Extensions of RFC 6960 4.4 pass, anything else is refused; so are
 * certs that are not certificates, too many, or with a large private
 * extension.
 */
static void
test_extensions_and_certs(const struct pki *p)
{
	static const char *const one[] = {"1001", NULL};
	static const unsigned char null[] = {0x05, 0x00};
	static const unsigned char gt[] = {0x18, 0x0f, '2', '0', '2', '5', '0',
	    '1', '0', '1', '0', '0', '0', '0', '0', '0', 'Z'};
	static const unsigned char reason[] = {0x0a, 0x01, 0x01};
	static const unsigned char crlid[] = {
	    0x30, 0x05, 0xa1, 0x03, 0x02, 0x01, 0x07};
	unsigned char big[1024], *huge = malloc(160 * 1024);
	struct ocsp_request_facts rf;
	struct ocsp_response_facts f;
	struct dbuf der;
	X509 *extra[5];

	if (huge == NULL)
		abort();
	OCSP_REQUEST_free(make_req(p->ca, EVP_sha1(), one, 0, &rf));
	/* extnValue of 0x04 <len> <bytes>: an OCTET STRING of filler. */
	big[0] = 0x04;
	big[1] = 0x82;
	big[2] = (sizeof(big) - 4) >> 8;
	big[3] = (sizeof(big) - 4) & 0xff;
	memset(big + 4, 'x', sizeof(big) - 4);

	build_with(p, p->signer, p->signer_key,
	    raw_ext(NID_id_pkix_OCSP_extendedStatus, NULL, null, sizeof(null)),
	    raw_ext(NID_id_pkix_OCSP_archiveCutoff, NULL, gt, sizeof(gt)), NULL,
	    0, &der);
	expect("extended revoke, archive cutoff", der.d, der.n, &rf,
	    REASON_NONE, NULL, &f);
	build_with(p, p->signer, p->signer_key, NULL,
	    raw_ext(NID_crl_reason, NULL, reason, sizeof(reason)), NULL, 0,
	    &der);
	expect("reasonCode single extension", der.d, der.n, &rf, REASON_NONE,
	    NULL, &f);
	build_with(p, p->signer, p->signer_key, NULL,
	    raw_ext(NID_id_pkix_OCSP_CrlID, NULL, crlid, sizeof(crlid)), NULL,
	    0, &der);
	expect("CRL references", der.d, der.n, &rf, REASON_NONE, NULL, &f);

	build_with(p, p->signer, p->signer_key,
	    raw_ext(NID_undef, "1.3.6.1.4.1.99999.1", big, sizeof(big)), NULL,
	    NULL, 0, &der);
	expect("private response extension", der.d, der.n, &rf, MALFORMED,
	    "unknown response extension", &f);
	build_with(p, p->signer, p->signer_key,
	    raw_ext(NID_id_pkix_OCSP_extendedStatus, NULL, big, sizeof(big)),
	    NULL, NULL, 0, &der);
	expect("extended revoke carrying bytes", der.d, der.n, &rf, MALFORMED,
	    "extended revoked definition not NULL", &f);
	build_with(p, p->signer, p->signer_key, NULL,
	    raw_ext(NID_undef, "1.3.6.1.4.1.99999.2", big, sizeof(big)), NULL,
	    0, &der);
	expect("private single extension", der.d, der.n, &rf, MALFORMED,
	    "unknown single extension", &f);
	build_with(p, p->signer, p->signer_key, NULL,
	    raw_ext(NID_invalidity_date, NULL, big, sizeof(big)), NULL, 0,
	    &der);
	expect("invalidity date of 1 KiB", der.d, der.n, &rf, MALFORMED,
	    "single extension too long", &f);
	build_with(p, p->signer, p->signer_key, NULL,
	    raw_ext(NID_crl_reason, NULL, gt, sizeof(gt)), NULL, 0, &der);
	expect("reasonCode that is a time", der.d, der.n, &rf, MALFORMED, NULL,
	    &f);

	/* A 160 KiB private extension in a certificate of the response. */
	huge[0] = 0x04;
	huge[1] = 0x83;
	huge[2] = (unsigned char)((160 * 1024 - 5) >> 16);
	huge[3] = (unsigned char)((160 * 1024 - 5) >> 8);
	huge[4] = (unsigned char)(160 * 1024 - 5);
	memset(huge + 5, 'y', 160 * 1024 - 5);
	extra[0] = cert_with_ext(
	    p, raw_ext(NID_undef, "1.3.6.1.4.1.99999.3", huge, 160 * 1024));
	build_with(p, p->signer, p->signer_key, NULL, NULL, extra, 1, &der);
	expect("certificate with 160 KiB extension", der.d, der.n, &rf,
	    MALFORMED, NULL, &f);
	X509_free(extra[0]);
	extra[0] = cert_with_ext(
	    p, raw_ext(NID_undef, "1.3.6.1.4.1.99999.3", "\x04\x02hi", 4));
	build_with(p, p->signer, p->signer_key, NULL, NULL, extra, 1, &der);
	expect("certificate off the signer's path", der.d, der.n, &rf,
	    MALFORMED, "a certificate that is not on the signer's path", &f);
	X509_free(extra[0]);
	extra[0] = p->ca;
	build_with(p, p->signer, p->signer_key, NULL, NULL, extra, 1, &der);
	expect("signer and its CA", der.d, der.n, &rf, REASON_NONE, NULL, &f);
	for (size_t i = 0; i < 4; i++)
		extra[i] = p->ca;
	build_with(p, p->signer, p->signer_key, NULL, NULL, extra, 4, &der);
	expect("five certificates", der.d, der.n, &rf, MALFORMED,
	    "more than 4 certificates", &f);
	free(huge);
}

/*
 * RFC 6960 4.2.2.2: the signer is the issuer a certificate ID names (a
 * CA) or carries id-kp-OCSPSigning and was issued by it. The bypass a
 * plain OCSP_basic_verify() lets through: a certificate ID naming a
 * certificate that is not a CA (issued by the trusted CA, so it chains)
 * as the issuer, answered by a response that certificate signed.
 */
static void
test_signer_rules(const struct pki *p)
{
	static const char *const serial[] = {"77", NULL};
	struct ocsp_request_facts rf;
	struct ocsp_response_facts f;
	struct dbuf der;
	X509_STORE *store = X509_STORE_new();
	OCSP_BASICRESP *bs = OCSP_BASICRESP_new();
	ASN1_GENERALIZEDTIME *t = gtime(THIS_UPDATE);
	OCSP_CERTID *id = make_id(EVP_sha1(), p->plain, "77");

	if (store == NULL || bs == NULL ||
	    X509_STORE_add_cert(store, p->ca) != 1 ||
	    OCSP_basic_add1_status(
	        bs, id, V_OCSP_CERTSTATUS_GOOD, 0, NULL, t, NULL) == NULL ||
	    OCSP_basic_sign(
	        bs, p->plain, p->plain_key, EVP_sha256(), NULL, 0) != 1)
		abort();
	finish(bs, &der);
	OCSP_REQUEST_free(make_req(p->plain, EVP_sha1(), serial, 0, &rf));
	expect("not a CA, named as issuer, signing", der.d, der.n, &rf,
	    MALFORMED, "signer is the named issuer but not a CA", &f);
	expect_verify("not a CA, named as issuer, signing", &der, store, NULL,
	    REASON_RESPONSE_UNVERIFIED,
	    "signer is the named issuer but not a CA");

	build(p, &(struct t_resp){.singles = {GOOD("1001")}, .sign = TS_ROGUE},
	    &der, &rf);
	expect("self-signed look-alike", der.d, der.n, &rf, MALFORMED,
	    "responder certificate not issued by the named issuer", &f);
	build(p, &(struct t_resp){.singles = {GOOD("1001")}, .sign = TS_PLAIN},
	    &der, &rf);
	expect("signer without OCSPSigning", der.d, der.n, &rf, MALFORMED,
	    "signer neither the named issuer nor its OCSP responder", &f);
	build(p,
	    &(struct t_resp){
	        .singles = {GOOD("1001")}, .sign = TS_ROGUE_HIDDEN},
	    &der, &rf);
	expect("look-alike without certificates", der.d, der.n, &rf,
	    REASON_NONE, NULL, &f);
	OCSP_CERTID_free(id);
	ASN1_GENERALIZEDTIME_free(t);
	X509_STORE_free(store);
}

/*
 * Real responders' answers are decided by the one-pass walk, as the full
 * inspection decides them: those of the realworld corpus (to no request
 * here, so about a certificate not asked for), and the bench's answer
 * with its RSA responder certificate, accepted, through a certificate
 * memo cold and then warm.
 */
static void
test_real_shapes_fast(void)
{
	const char *data = getenv("OCSPGATE_TEST_DATA");
	const struct ocsp_request_rules rules = {.max_nonce_bytes = 32};
	struct ocsp_request_facts req;
	struct ocsp_response_facts f, g;
	unsigned char der[8192];
	char dir[4096];
	size_t n, seen = 0;
	struct dirent *e;
	struct memo *memo;
	enum reason r;
	DIR *d;

	if (data == NULL)
		data = "tests/data";
	snprintf(
	    dir, sizeof(dir), "%s/../fuzz/corpus/ocsp_response_diff", data);
	if ((d = opendir(dir)) == NULL)
		abort();
	while ((e = readdir(d)) != NULL) {
		if (strncmp(e->d_name, "realworld_", 10) != 0)
			continue;
		n = check_read_file(dir, e->d_name, der, sizeof(der));
		CHECKF(
		    ocsp_response_inspect_fast(der, n, NULL, NULL, &f, &r) == 0,
		    "%s: left to the full decoder", e->d_name);
		CHECKF(ocsp_response_inspect(der, n, NULL, &g) == r &&
		        f.detail != NULL && g.detail != NULL &&
		        strcmp(f.detail, g.detail) == 0 &&
		        strcmp(f.responder_name, g.responder_name) == 0,
		    "%s: decided otherwise", e->d_name);
		seen++;
	}
	closedir(d);
	CHECKF(seen >= 4, "%zu real shapes", seen);

	snprintf(dir, sizeof(dir), "%s/perf", data);
	n = check_read_file(dir, "request.der", der, sizeof(der));
	memset(&req, 0, sizeof(req));
	if (ocsp_request_inspect_rules(der, n, &rules, &req) != REASON_NONE)
		abort();
	n = check_read_file(dir, "response.der", der, sizeof(der));
	memo = memo_new(4, PKIX_CERT_MAX_BYTES, sizeof(struct pkix_judged), 1);
	if (memo == NULL)
		abort();
	CHECK(ocsp_response_inspect(der, n, &req, &g) == REASON_NONE);
	for (int pass = 0; pass < 2; pass++) {
		CHECKF(ocsp_response_inspect_fast(der, n, &req, memo, &f, &r) ==
		            0 &&
		        r == REASON_NONE,
		    "bench answer, pass %d: %s", pass,
		    f.detail != NULL ? f.detail : "left to the full decoder");
		CHECK(memcmp(&f, &g, sizeof(f)) == 0);
	}
	CHECK(strcmp(f.responder_name,
	          "CN=ocspgate bench OCSP Responder,O=ocspgate bench PKI,"
	          "C=US") == 0);
	memo_free(memo);
}

int
main(void)
{
	struct pki p;

	pki_new(&p);
	test_names();
	test_table(&p);
	test_facts(&p);
	test_reasons(&p);
	test_statuses(&p);
	test_encoding(&p);
	test_hand_built(&p);
	test_no_request(&p);
	test_verify(&p);
	test_cert_to_id(&p);
	test_extensions_and_certs(&p);
	test_signer_rules(&p);
	test_real_shapes_fast();
	pki_free(&p);
	return check_done();
}
