/*
 * Unit tests for ocsp_request.c: DER inspection (requests built with
 * OpenSSL's OCSP API and hand-built DER for every rule), GET path
 * decoding, flag and hash names, and issuer matching.
 */
#include <dirent.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/bn.h>
#include <openssl/evp.h>
#include <openssl/ocsp.h>
#include <openssl/x509.h>

#include "ocspgate/ocsp_request.h"

#include "check.h"

/* A DER output buffer; the tests never need more. */
struct dbuf {
	unsigned char d[8192];
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

static void
tlvb(struct dbuf *b, unsigned tag, const struct dbuf *c)
{
	tlv(b, tag, c->d, c->n);
}

/* Hex string to bytes; returns the count. */
static size_t
unhex(const char *s, unsigned char *out, size_t cap)
{
	size_t n = 0;

	for (; s[0] != '\0' && s[1] != '\0' && n < cap; s += 2) {
		char two[3] = {s[0], s[1], '\0'};

		out[n++] = (unsigned char)strtoul(two, NULL, 16);
	}
	return n;
}

/* OID content octets used by the hand-built requests. */
static const unsigned char t_sha1[] = {0x2b, 0x0e, 0x03, 0x02, 0x1a};
static const unsigned char t_sha224[] = {
    0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x04};
static const unsigned char t_sha256[] = {
    0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x01};
static const unsigned char t_sha384[] = {
    0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x02};
static const unsigned char t_sha512[] = {
    0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x03};
static const unsigned char t_md5[] = {
    0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x02, 0x05};
static const unsigned char t_odd[] = {0x2a, 0x03, 0x04};
static const unsigned char t_ocsp_pfx[] = {
    0x2b, 0x06, 0x01, 0x05, 0x05, 0x07, 0x30, 0x01};
static const unsigned char t_ecdsa_sha256[] = {
    0x2a, 0x86, 0x48, 0xce, 0x3d, 0x04, 0x03, 0x02};
static const unsigned char t_cn[] = {0x55, 0x04, 0x03};

enum t_hash {
	TH_SHA1 = 0,
	TH_SHA224,
	TH_SHA256,
	TH_SHA384,
	TH_SHA512,
	TH_MD5,
	TH_ODD
};

static const struct {
	const unsigned char *oid;
	size_t oid_len;
	size_t len;
} t_hashes[] = {
    [TH_SHA1] = {t_sha1, sizeof(t_sha1), 20},
    [TH_SHA224] = {t_sha224, sizeof(t_sha224), 28},
    [TH_SHA256] = {t_sha256, sizeof(t_sha256), 32},
    [TH_SHA384] = {t_sha384, sizeof(t_sha384), 48},
    [TH_SHA512] = {t_sha512, sizeof(t_sha512), 64},
    [TH_MD5] = {t_md5, sizeof(t_md5), 16},
    [TH_ODD] = {t_odd, sizeof(t_odd), 20},
};

enum t_params { TP_NULL = 0, TP_ABSENT, TP_OTHER };

enum t_ext {
	X_END = 0,
	X_NONCE,      /* RFC 9654: OCTET STRING in extnValue, <len> octets */
	X_NONCE_RAW,  /* <len> raw octets in extnValue */
	X_NONCE_JUNK, /* an OCTET STRING followed by a stray octet */
	X_NONCE_LONGFORM, /* an OCTET STRING with a non-minimal length */
	X_ACCEPT,         /* acceptable responses: basic */
	X_PREFSIG,        /* preferred signature algorithms */
	X_SVCLOC,         /* service locator */
	X_CRLID,          /* CRL references (RFC 6960 4.4.2), not allowed */
	X_ODD,            /* 1.2.3.4 */
	X_ACCEPT_ODD,     /* acceptable responses: 1.2.3.4 */
	X_ACCEPT_TWICE,   /* acceptable responses: basic, basic */
	X_ACCEPT_EMPTY,   /* acceptable responses: an empty SEQUENCE */
	X_ACCEPT_JUNK,    /* acceptable responses: <len> random octets */
	X_PREFSIG_CERT,   /* ecdsa-with-SHA256 for a P-256 key */
	X_PREFSIG_ODD,    /* an unknown signature algorithm */
	X_PREFSIG_MANY,   /* <len> distinct known preferences */
	X_PREFSIG_DUP,    /* the same preference twice */
	X_PREFSIG_BADKEY, /* ecdsa-with-SHA256 for an unknown key type */
	X_PREFSIG_JUNK    /* <len> random octets */
};

enum t_critical {
	TC_ABSENT = 0,
	TC_FALSE, /* encoded although DEFAULT FALSE */
	TC_TRUE
};

struct t_ext_spec {
	enum t_ext kind;
	size_t len;
	enum t_critical critical;
};

static void
build_ext(struct dbuf *out, const struct t_ext_spec *e)
{
	struct dbuf v = {0}, a = {0}, b = {0}, ext = {0};
	unsigned char oid[16], bytes[300];
	size_t oid_len;

	memcpy(oid, t_ocsp_pfx, sizeof(t_ocsp_pfx));
	oid_len = sizeof(t_ocsp_pfx) + 1;
	memset(bytes, 0xa5, sizeof(bytes));
	switch (e->kind) {
	case X_NONCE:
		oid[oid_len - 1] = 2;
		tlv(&v, 0x04, bytes, e->len);
		break;
	case X_NONCE_RAW:
		oid[oid_len - 1] = 2;
		put(&v, bytes, e->len);
		break;
	case X_NONCE_JUNK:
		oid[oid_len - 1] = 2;
		tlv(&v, 0x04, bytes, e->len);
		put(&v, bytes, 1);
		break;
	case X_NONCE_LONGFORM:
		oid[oid_len - 1] = 2;
		put(&v, "\x04\x81", 2);
		put(&v, &(unsigned char){(unsigned char)e->len}, 1);
		put(&v, bytes, e->len);
		break;
	case X_ACCEPT:
		oid[oid_len - 1] = 4;
		/* id-pkix-ocsp-basic */
		memcpy(bytes, t_ocsp_pfx, sizeof(t_ocsp_pfx));
		bytes[sizeof(t_ocsp_pfx)] = 1;
		tlv(&a, 0x06, bytes, sizeof(t_ocsp_pfx) + 1);
		tlvb(&v, 0x30, &a);
		break;
	case X_PREFSIG:
		oid[oid_len - 1] = 8;
		tlv(&a, 0x06, t_ecdsa_sha256, sizeof(t_ecdsa_sha256));
		tlvb(&b, 0x30, &a);
		a.n = 0;
		tlvb(&a, 0x30, &b);
		tlvb(&v, 0x30, &a);
		break;
	case X_ACCEPT_ODD:
	case X_ACCEPT_TWICE:
	case X_ACCEPT_EMPTY:
		oid[oid_len - 1] = 4;
		memcpy(bytes, t_ocsp_pfx, sizeof(t_ocsp_pfx));
		bytes[sizeof(t_ocsp_pfx)] = 1;
		if (e->kind == X_ACCEPT_ODD)
			tlv(&a, 0x06, "\x2a\x03\x04", 3);
		if (e->kind == X_ACCEPT_TWICE) {
			tlv(&a, 0x06, bytes, sizeof(t_ocsp_pfx) + 1);
			tlv(&a, 0x06, bytes, sizeof(t_ocsp_pfx) + 1);
		}
		tlvb(&v, 0x30, &a);
		break;
	case X_ACCEPT_JUNK:
	case X_PREFSIG_JUNK:
		oid[oid_len - 1] = e->kind == X_ACCEPT_JUNK ? 4 : 8;
		for (size_t i = 0; i < e->len && i < sizeof(bytes); i++)
			bytes[i] = (unsigned char)(i * 37 + 11);
		tlv(&v, 0x04, bytes, e->len);
		break;
	case X_PREFSIG_CERT:
	case X_PREFSIG_ODD:
	case X_PREFSIG_DUP:
	case X_PREFSIG_BADKEY: {
		static const unsigned char p256[] = {0x06, 0x07, 0x2a, 0x86,
		    0x48, 0xce, 0x3d, 0x02, 0x01, 0x06, 0x08, 0x2a, 0x86, 0x48,
		    0xce, 0x3d, 0x03, 0x01, 0x07};
		struct dbuf pref = {0}, alg = {0};

		oid[oid_len - 1] = 8;
		if (e->kind == X_PREFSIG_ODD)
			tlv(&a, 0x06, "\x2a\x03\x04", 3);
		else
			tlv(&a, 0x06, t_ecdsa_sha256, sizeof(t_ecdsa_sha256));
		tlvb(&pref, 0x30, &a);
		if (e->kind == X_PREFSIG_CERT)
			tlv(&pref, 0x30, p256, sizeof(p256));
		if (e->kind == X_PREFSIG_BADKEY) {
			tlv(&alg, 0x06, "\x2a\x03\x04", 3);
			tlvb(&pref, 0x30, &alg);
		}
		tlvb(&b, 0x30, &pref);
		if (e->kind == X_PREFSIG_DUP)
			tlvb(&b, 0x30, &pref);
		tlvb(&v, 0x30, &b);
		break;
	}
	case X_PREFSIG_MANY: {
		/* ecdsa-with-SHA224/256/384/512, ecdsa-with-SHA1, then
		 * sha1/256/384/512/224WithRSAEncryption (NULL parameters). */
		static const unsigned char ec_last[][2] = {
		    {0x03, 0x01}, {0x03, 0x02}, {0x03, 0x03}, {0x03, 0x04}};
		static const unsigned char rsa_last[] = {
		    0x05, 0x0b, 0x0c, 0x0d, 0x0e};
		static const unsigned char rsa[] = {
		    0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x00};
		struct dbuf pref = {0};
		unsigned char o[9];

		oid[oid_len - 1] = 8;
		for (size_t i = 0; i < e->len && i < 10; i++) {
			struct dbuf alg = {0}, one = {0};

			if (i < 4) {
				memcpy(o, t_ecdsa_sha256, 6);
				memcpy(o + 6, ec_last[i], 2);
				tlv(&alg, 0x06, o, 8);
			} else if (i == 4) {
				tlv(&alg, 0x06, "\x2a\x86\x48\xce\x3d\x04\x01",
				    7);
			} else {
				memcpy(o, rsa, 9);
				o[8] = rsa_last[i - 5];
				tlv(&alg, 0x06, o, 9);
				put(&alg, "\x05\x00", 2);
			}
			tlvb(&one, 0x30, &alg);
			tlvb(&pref, 0x30, &one);
		}
		tlvb(&v, 0x30, &pref);
		break;
	}
	case X_SVCLOC:
		oid[oid_len - 1] = 7;
		tlv(&a, 0x30, NULL, 0);
		tlvb(&v, 0x30, &a);
		break;
	case X_CRLID:
		oid[oid_len - 1] = 3;
		tlv(&v, 0x30, NULL, 0);
		break;
	case X_ODD:
	case X_END:
		memcpy(oid, "\x2a\x03\x04", 3);
		oid_len = 3;
		put(&v, "\x05\x00", 2);
		break;
	}
	tlv(&ext, 0x06, oid, oid_len);
	if (e->critical == TC_FALSE)
		put(&ext, "\x01\x01\x00", 3);
	else if (e->critical == TC_TRUE)
		put(&ext, "\x01\x01\xff", 3);
	tlvb(&ext, 0x04, &v);
	tlvb(out, 0x30, &ext);
}

/* Wraps a list of extensions as [tag] EXPLICIT Extensions. */
static void
build_exts(struct dbuf *out, unsigned tag, const struct t_ext_spec *e)
{
	struct dbuf list = {0}, seq = {0};

	if (e[0].kind == X_END)
		return;
	for (; e->kind != X_END; e++)
		build_ext(&list, e);
	tlvb(&seq, 0x30, &list);
	tlvb(out, tag, &seq);
}

/* One hand-built request and what inspecting it must give. */
struct t_req {
	const char *name;
	enum t_hash hash;
	enum t_params params;
	int name_delta, key_delta; /* added to the hash lengths */
	const char *serial;        /* INTEGER content in hex; NULL: "01" */
	const char *serial2;       /* for the certs after the first */
	int ncerts;
	const char *version; /* INTEGER content in hex; NULL: absent */
	bool requestor;
	struct t_ext_spec exts[4];
	struct t_ext_spec single[3]; /* on the first Request only */
	size_t max_nonce;            /* 0: 32 */
	unsigned seed;               /* nonzero: pseudo-random hashes */
	unsigned allow;              /* A_* switches of the rules */

	enum reason want;
	const char *detail; /* NULL with a refusal: any detail */
	unsigned flags;
	size_t want_ncerts;
	size_t want_nonce; /* nonce_len, 0 for none */
};

static void
build_req(struct dbuf *out, const struct t_req *t)
{
	struct dbuf list = {0}, tbs = {0}, body = {0};
	unsigned char hash[128], serial[64];
	unsigned seed = t->seed;
	size_t nlen, klen, slen;

	for (int i = 0; i < t->ncerts; i++) {
		struct dbuf alg = {0}, algid = {0}, cid = {0};
		struct dbuf certid = {0}, one = {0}, req = {0};
		const char *s = i > 0 && t->serial2 ? t->serial2 : t->serial;

		tlv(&alg, 0x06, t_hashes[t->hash].oid,
		    t_hashes[t->hash].oid_len);
		if (t->params == TP_NULL)
			put(&alg, "\x05\x00", 2);
		else if (t->params == TP_OTHER)
			put(&alg, "\x04\x01\x00", 3);
		tlvb(&algid, 0x30, &alg);
		put(&cid, algid.d, algid.n);
		for (size_t j = 0; j < sizeof(hash); j++) {
			seed = seed * 1103515245u + 12345u;
			hash[j] = t->seed ? (unsigned char)(seed >> 16)
			                  : (unsigned char)(0x11 + i);
		}
		nlen = t_hashes[t->hash].len + (size_t)t->name_delta;
		klen = t_hashes[t->hash].len + (size_t)t->key_delta;
		tlv(&cid, 0x04, hash, nlen);
		tlv(&cid, 0x04, hash + 64, klen);
		slen = unhex(s ? s : "01", serial, sizeof(serial));
		tlv(&cid, 0x02, serial, slen);
		tlvb(&certid, 0x30, &cid);
		put(&one, certid.d, certid.n);
		if (i == 0)
			build_exts(&one, 0xa0, t->single);
		tlvb(&req, 0x30, &one);
		put(&list, req.d, req.n);
	}
	if (t->version != NULL) {
		struct dbuf v = {0};

		slen = unhex(t->version, serial, sizeof(serial));
		tlv(&v, 0x02, serial, slen);
		tlvb(&tbs, 0xa0, &v);
	}
	if (t->requestor) {
		struct dbuf atv = {0}, rdn = {0}, set = {0}, name = {0};
		struct dbuf dn = {0}, gn = {0};

		tlv(&atv, 0x06, t_cn, sizeof(t_cn));
		tlv(&atv, 0x0c, "client", 6);
		tlvb(&rdn, 0x30, &atv);
		tlvb(&set, 0x31, &rdn);
		tlvb(&name, 0x30, &set);
		tlvb(&dn, 0xa4, &name);
		put(&gn, dn.d, dn.n);
		tlvb(&tbs, 0xa1, &gn);
	}
	tlvb(&tbs, 0x30, &list);
	build_exts(&tbs, 0xa2, t->exts);
	tlvb(&body, 0x30, &tbs);
	out->n = 0;
	tlvb(out, 0x30, &body);
}

/* The allow_* switches a table row turns on. */
#define A_REQ    1u
#define A_SIGNED 2u
#define A_SVCLOC 4u
#define HPA      OCSP_FLAG_HASH_PARAMS_ABSENT
#define XVER     OCSP_FLAG_EXPLICIT_DEFAULT_VERSION
#define XCRIT    OCSP_FLAG_EXPLICIT_CRITICAL_FALSE

#define SER20    "0102030405060708090a0b0c0d0e0f1011121314"
#define SER20_HI "00ff02030405060708090a0b0c0d0e0f1011121314"
#define EXT(k, n)                                                              \
	{                                                                      \
		.kind = (k), .len = (n)                                        \
	}
#define EXT_CRIT(k, n, c)                                                      \
	{                                                                      \
		.kind = (k), .len = (n), .critical = (c)                       \
	}
#define NONCE(n) EXT(X_NONCE, (n))

static const struct t_req t_reqs[] = {
    {.name = "sha1, NULL parameters", .ncerts = 1, .want_ncerts = 1},
    /* The node "ocsp" package sends no parameters (RFC 5754 allows it). */
    {.name = "sha1, absent parameters",
        .params = TP_ABSENT,
        .ncerts = 1,
        .flags = HPA,
        .want_ncerts = 1},
    {.name = "3 certs, absent parameters",
        .params = TP_ABSENT,
        .ncerts = 3,
        .flags = HPA | OCSP_FLAG_MULTIPLE_CERTS,
        .want_ncerts = 3},
    {.name = "sha1, OCTET STRING parameters",
        .params = TP_OTHER,
        .ncerts = 1,
        .want = REASON_OCSP_MALFORMED,
        .detail = "hash algorithm parameters not absent or NULL"},
    {.name = "sha224", .hash = TH_SHA224, .ncerts = 1, .want_ncerts = 1},
    {.name = "sha256", .hash = TH_SHA256, .ncerts = 1, .want_ncerts = 1},
    {.name = "sha384", .hash = TH_SHA384, .ncerts = 1, .want_ncerts = 1},
    {.name = "sha512",
        .hash = TH_SHA512,
        .params = TP_ABSENT,
        .ncerts = 1,
        .flags = HPA,
        .want_ncerts = 1},
    {.name = "md5",
        .hash = TH_MD5,
        .ncerts = 1,
        .want = REASON_OCSP_MALFORMED,
        .detail = "unknown hash algorithm"},
    {.name = "unknown OID",
        .hash = TH_ODD,
        .ncerts = 1,
        .want = REASON_OCSP_MALFORMED,
        .detail = "unknown hash algorithm"},
    {.name = "sha256 OID, sha1-sized name hash",
        .hash = TH_SHA256,
        .name_delta = -12,
        .ncerts = 1,
        .want = REASON_OCSP_MALFORMED,
        .detail = "hash length does not match algorithm"},
    {.name = "sha1, key hash one octet long",
        .key_delta = 1,
        .ncerts = 1,
        .want = REASON_OCSP_MALFORMED,
        .detail = "hash length does not match algorithm"},
    {.name = "sha1, empty name hash",
        .name_delta = -20,
        .ncerts = 1,
        .want = REASON_OCSP_MALFORMED,
        .detail = "hash length does not match algorithm"},
    {.name = "serial 0",
        .serial = "00",
        .ncerts = 1,
        .want = REASON_OCSP_MALFORMED,
        .detail = "serial number not positive"},
    {.name = "serial -1",
        .serial = "ff",
        .ncerts = 1,
        .want = REASON_OCSP_MALFORMED,
        .detail = "serial number not positive"},
    {.name = "serial negative, 20 octets",
        .serial = "80" SER20,
        .ncerts = 1,
        .want = REASON_OCSP_MALFORMED,
        .detail = "serial number not positive"},
    {.name = "serial 20 octets",
        .serial = SER20,
        .ncerts = 1,
        .want_ncerts = 1},
    {.name = "serial 20 octets, high bit, sign octet",
        .serial = SER20_HI,
        .ncerts = 1,
        .want_ncerts = 1},
    {.name = "serial 21 octets",
        .serial = "01" SER20,
        .ncerts = 1,
        .want = REASON_OCSP_MALFORMED,
        .detail = "serial number over 20 octets"},
    {.name = "serial 21 octets, high bit, sign octet",
        .serial = "0080" SER20,
        .ncerts = 1,
        .want = REASON_OCSP_MALFORMED,
        .detail = "serial number over 20 octets"},
    {.name = "serial with a redundant zero",
        .serial = "0001",
        .ncerts = 1,
        .want = REASON_OCSP_MALFORMED},
    {.name = "no certificate ID",
        .ncerts = 0,
        .want = REASON_OCSP_MALFORMED,
        .detail = "no certificate ID"},
    {.name = "2 certificate IDs",
        .ncerts = 2,
        .flags = OCSP_FLAG_MULTIPLE_CERTS,
        .want_ncerts = 2},
    {.name = "8 certificate IDs",
        .ncerts = 8,
        .flags = OCSP_FLAG_MULTIPLE_CERTS,
        .want_ncerts = 8},
    {.name = "9 certificate IDs",
        .ncerts = 9,
        .want = REASON_OCSP_MALFORMED,
        .detail = "more than 8 certificate IDs",
        .flags = OCSP_FLAG_MULTIPLE_CERTS},
    {.name = "second certificate ID bad",
        .ncerts = 3,
        .serial2 = "00",
        .want = REASON_OCSP_MALFORMED,
        .detail = "serial number not positive",
        .flags = OCSP_FLAG_MULTIPLE_CERTS,
        .want_ncerts = 1},
    /* asn1.js encoders write DEFAULT values (node "ocsp": 'v1'). */
    {.name = "explicit version v1",
        .version = "00",
        .ncerts = 1,
        .flags = XVER,
        .want_ncerts = 1},
    {.name = "explicit version v1, absent parameters, critical FALSE",
        .version = "00",
        .params = TP_ABSENT,
        .ncerts = 1,
        .exts = {EXT_CRIT(X_NONCE, 16, TC_FALSE)},
        .flags = XVER | HPA | XCRIT | OCSP_FLAG_NONCE,
        .want_ncerts = 1,
        .want_nonce = 16},
    {.name = "explicit version v1, then requestorName",
        .version = "00",
        .requestor = true,
        .allow = A_REQ,
        .ncerts = 1,
        .flags = XVER | OCSP_FLAG_REQUESTOR_NAME,
        .want_ncerts = 1},
    {.name = "version v1 as two octets",
        .version = "0000",
        .ncerts = 1,
        .want = REASON_OCSP_MALFORMED},
    {.name = "version v2",
        .version = "01",
        .ncerts = 1,
        .want = REASON_OCSP_MALFORMED,
        .detail = "version not v1"},
    {.name = "requestorName, allowed",
        .requestor = true,
        .allow = A_REQ,
        .ncerts = 1,
        .flags = OCSP_FLAG_REQUESTOR_NAME,
        .want_ncerts = 1},
    {.name = "requestorName, not allowed",
        .requestor = true,
        .ncerts = 1,
        .want = REASON_OCSP_MALFORMED,
        .detail = "requestorName not allowed (allow_requestor_name)",
        .flags = OCSP_FLAG_REQUESTOR_NAME},
    {.name = "requestorName, only signed requests allowed",
        .requestor = true,
        .allow = A_SIGNED | A_SVCLOC,
        .ncerts = 1,
        .want = REASON_OCSP_MALFORMED,
        .detail = "requestorName not allowed (allow_requestor_name)",
        .flags = OCSP_FLAG_REQUESTOR_NAME},
    {.name = "nonce 1",
        .ncerts = 1,
        .exts = {NONCE(1)},
        .flags = OCSP_FLAG_NONCE,
        .want_ncerts = 1,
        .want_nonce = 1},
    {.name = "nonce 32, max 32",
        .ncerts = 1,
        .exts = {NONCE(32)},
        .flags = OCSP_FLAG_NONCE,
        .want_ncerts = 1,
        .want_nonce = 32},
    {.name = "nonce 33, max 32",
        .ncerts = 1,
        .exts = {NONCE(33)},
        .want = REASON_OCSP_MALFORMED,
        .detail = "nonce over max_nonce_bytes",
        .flags = OCSP_FLAG_NONCE,
        .want_ncerts = 1,
        .want_nonce = 33},
    {.name = "nonce 128, max 128",
        .ncerts = 1,
        .exts = {NONCE(128)},
        .max_nonce = 128,
        .flags = OCSP_FLAG_NONCE,
        .want_ncerts = 1,
        .want_nonce = 128},
    {.name = "nonce 129, max 128",
        .ncerts = 1,
        .exts = {NONCE(129)},
        .max_nonce = 128,
        .want = REASON_OCSP_MALFORMED,
        .detail = "nonce over max_nonce_bytes",
        .flags = OCSP_FLAG_NONCE,
        .want_ncerts = 1,
        .want_nonce = 129},
    {.name = "nonce 129, max 1000 (capped at 128)",
        .ncerts = 1,
        .exts = {NONCE(129)},
        .max_nonce = 1000,
        .want = REASON_OCSP_MALFORMED,
        .detail = "nonce over max_nonce_bytes",
        .flags = OCSP_FLAG_NONCE,
        .want_ncerts = 1,
        .want_nonce = 129},
    {.name = "nonce 128, max 32",
        .ncerts = 1,
        .exts = {NONCE(128)},
        .want = REASON_OCSP_MALFORMED,
        .detail = "nonce over max_nonce_bytes",
        .flags = OCSP_FLAG_NONCE,
        .want_ncerts = 1,
        .want_nonce = 128},
    {.name = "nonce empty",
        .ncerts = 1,
        .exts = {NONCE(0)},
        .want = REASON_OCSP_MALFORMED,
        .detail = "nonce empty",
        .flags = OCSP_FLAG_NONCE,
        .want_ncerts = 1},
    {.name = "nonce raw in extnValue",
        .ncerts = 1,
        .exts = {EXT(X_NONCE_RAW, 16)},
        .want = REASON_OCSP_MALFORMED,
        .detail = "nonce not a DER OCTET STRING",
        .want_ncerts = 1},
    {.name = "nonce empty extnValue",
        .ncerts = 1,
        .exts = {EXT(X_NONCE_RAW, 0)},
        .want = REASON_OCSP_MALFORMED,
        .detail = "nonce not a DER OCTET STRING",
        .want_ncerts = 1},
    {.name = "nonce followed by junk",
        .ncerts = 1,
        .exts = {EXT(X_NONCE_JUNK, 16)},
        .want = REASON_OCSP_MALFORMED,
        .detail = "nonce not a DER OCTET STRING",
        .want_ncerts = 1},
    {.name = "nonce with long-form length",
        .ncerts = 1,
        .exts = {EXT(X_NONCE_LONGFORM, 16)},
        .want = REASON_OCSP_MALFORMED,
        .detail = "nonce not a DER OCTET STRING",
        .want_ncerts = 1},
    {.name = "duplicate nonce",
        .ncerts = 1,
        .exts = {NONCE(16), NONCE(16)},
        .want = REASON_OCSP_MALFORMED,
        .detail = "duplicate extension",
        .flags = OCSP_FLAG_NONCE,
        .want_ncerts = 1,
        .want_nonce = 16},
    {.name = "every known request extension",
        .ncerts = 1,
        .exts = {EXT(X_ACCEPT, 0), EXT(X_PREFSIG, 0), NONCE(16)},
        .flags = OCSP_FLAG_NONCE,
        .want_ncerts = 1,
        .want_nonce = 16},
    {.name = "duplicate acceptable responses",
        .ncerts = 1,
        .exts = {EXT(X_ACCEPT, 0), EXT(X_ACCEPT, 0)},
        .want = REASON_OCSP_MALFORMED,
        .detail = "duplicate extension",
        .want_ncerts = 1},
    {.name = "critical nonce",
        .ncerts = 1,
        .exts = {EXT_CRIT(X_NONCE, 16, TC_TRUE)},
        .flags = OCSP_FLAG_NONCE,
        .want_ncerts = 1,
        .want_nonce = 16},
    /* node "ocsp" writes "critical: false" on its nonce. */
    {.name = "nonce with explicit critical FALSE",
        .ncerts = 1,
        .exts = {EXT_CRIT(X_NONCE, 16, TC_FALSE)},
        .flags = XCRIT | OCSP_FLAG_NONCE,
        .want_ncerts = 1,
        .want_nonce = 16},
    {.name = "service locator with explicit critical FALSE",
        .ncerts = 1,
        .allow = A_SVCLOC,
        .single = {EXT_CRIT(X_SVCLOC, 0, TC_FALSE)},
        .flags = OCSP_FLAG_SINGLE_REQUEST_EXTENSIONS | XCRIT,
        .want_ncerts = 1},
    /* Extensions parsed by content: no room for chosen bytes. */
    {.name = "acceptable responses: unknown OID",
        .ncerts = 1,
        .exts = {EXT(X_ACCEPT_ODD, 0)},
        .want = REASON_OCSP_MALFORMED,
        .detail = "acceptable responses not known OIDs",
        .want_ncerts = 1},
    {.name = "acceptable responses: basic twice",
        .ncerts = 1,
        .exts = {EXT(X_ACCEPT_TWICE, 0)},
        .want = REASON_OCSP_MALFORMED,
        .detail = "acceptable responses not known OIDs",
        .want_ncerts = 1},
    {.name = "acceptable responses: empty",
        .ncerts = 1,
        .exts = {EXT(X_ACCEPT_EMPTY, 0)},
        .want = REASON_OCSP_MALFORMED,
        .detail = "acceptable responses not known OIDs",
        .want_ncerts = 1},
    {.name = "acceptable responses: 200 chosen octets",
        .ncerts = 1,
        .exts = {EXT(X_ACCEPT_JUNK, 200)},
        .want = REASON_OCSP_MALFORMED,
        .detail = "acceptable responses not known OIDs",
        .want_ncerts = 1},
    {.name = "preferred signature algorithms: with a P-256 key",
        .ncerts = 1,
        .exts = {EXT(X_PREFSIG_CERT, 0)},
        .want_ncerts = 1},
    {.name = "preferred signature algorithms: 8 known",
        .ncerts = 1,
        .exts = {EXT(X_PREFSIG_MANY, 8)},
        .want_ncerts = 1},
    {.name = "preferred signature algorithms: 9",
        .ncerts = 1,
        .exts = {EXT(X_PREFSIG_MANY, 9)},
        .want = REASON_OCSP_MALFORMED,
        .detail = "preferred signature algorithms not known algorithms",
        .want_ncerts = 1},
    {.name = "preferred signature algorithms: unknown",
        .ncerts = 1,
        .exts = {EXT(X_PREFSIG_ODD, 0)},
        .want = REASON_OCSP_MALFORMED,
        .detail = "preferred signature algorithms not known algorithms",
        .want_ncerts = 1},
    {.name = "preferred signature algorithms: repeated",
        .ncerts = 1,
        .exts = {EXT(X_PREFSIG_DUP, 0)},
        .want = REASON_OCSP_MALFORMED,
        .detail = "preferred signature algorithms not known algorithms",
        .want_ncerts = 1},
    {.name = "preferred signature algorithms: unknown key type",
        .ncerts = 1,
        .exts = {EXT(X_PREFSIG_BADKEY, 0)},
        .want = REASON_OCSP_MALFORMED,
        .detail = "preferred signature algorithms not known algorithms",
        .want_ncerts = 1},
    {.name = "preferred signature algorithms: 250 chosen octets",
        .ncerts = 1,
        .exts = {EXT(X_PREFSIG_JUNK, 250)},
        .want = REASON_OCSP_MALFORMED,
        .detail = "preferred signature algorithms not known algorithms",
        .want_ncerts = 1},
    {.name = "unknown request extension",
        .ncerts = 1,
        .exts = {NONCE(16), EXT(X_ODD, 0)},
        .want = REASON_OCSP_MALFORMED,
        .detail = "unknown extension",
        .flags = OCSP_FLAG_NONCE,
        .want_ncerts = 1,
        .want_nonce = 16},
    {.name = "CRL references request extension",
        .ncerts = 1,
        .exts = {EXT(X_CRLID, 0)},
        .want = REASON_OCSP_MALFORMED,
        .detail = "unknown extension",
        .want_ncerts = 1},
    {.name = "service locator as request extension",
        .ncerts = 1,
        .exts = {EXT(X_SVCLOC, 0)},
        .want = REASON_OCSP_MALFORMED,
        .detail = "unknown extension",
        .want_ncerts = 1},
    {.name = "service locator, allowed",
        .ncerts = 1,
        .allow = A_SVCLOC,
        .single = {EXT(X_SVCLOC, 0)},
        .flags = OCSP_FLAG_SINGLE_REQUEST_EXTENSIONS,
        .want_ncerts = 1},
    {.name = "service locator, not allowed",
        .ncerts = 1,
        .allow = A_REQ | A_SIGNED,
        .single = {EXT(X_SVCLOC, 0)},
        .want = REASON_OCSP_MALFORMED,
        .detail = "service locator not allowed (allow_service_locator)",
        .flags = OCSP_FLAG_SINGLE_REQUEST_EXTENSIONS,
        .want_ncerts = 1},
    {.name = "duplicate service locator",
        .ncerts = 1,
        .single = {EXT(X_SVCLOC, 0), EXT(X_SVCLOC, 0)},
        .want = REASON_OCSP_MALFORMED,
        .detail = "duplicate extension",
        .flags = OCSP_FLAG_SINGLE_REQUEST_EXTENSIONS,
        .want_ncerts = 1},
    {.name = "unknown single request extension",
        .ncerts = 1,
        .single = {EXT(X_ODD, 0)},
        .want = REASON_OCSP_MALFORMED,
        .detail = "unknown extension",
        .flags = OCSP_FLAG_SINGLE_REQUEST_EXTENSIONS,
        .want_ncerts = 1},
    {.name = "nonce as single request extension",
        .ncerts = 1,
        .single = {NONCE(16)},
        .want = REASON_OCSP_MALFORMED,
        .detail = "unknown extension",
        .flags = OCSP_FLAG_SINGLE_REQUEST_EXTENSIONS,
        .want_ncerts = 1},
    {.name = "everything at once",
        .hash = TH_SHA256,
        .ncerts = 3,
        .allow = A_REQ | A_SVCLOC,
        .requestor = true,
        .single = {EXT(X_SVCLOC, 0)},
        .exts = {NONCE(32), EXT(X_ACCEPT, 0)},
        .flags = OCSP_FLAG_MULTIPLE_CERTS | OCSP_FLAG_REQUESTOR_NAME |
            OCSP_FLAG_SINGLE_REQUEST_EXTENSIONS | OCSP_FLAG_NONCE,
        .want_ncerts = 3,
        .want_nonce = 32},
};

/*
 * Inspects <der> and checks the outcome. <detail> NULL with a refusal
 * accepts any detail. Returns the facts in *f.
 */
static void
expect_rules(const char *what, const unsigned char *der, size_t len, size_t max,
    unsigned allow, enum reason want, const char *detail, unsigned flags,
    size_t ncerts, struct ocsp_request_facts *f)
{
	const struct ocsp_request_rules rules = {.max_nonce_bytes = max,
	    .allow_requestor_name = (allow & A_REQ) != 0,
	    .allow_signed = (allow & A_SIGNED) != 0,
	    .allow_service_locator = (allow & A_SVCLOC) != 0};
	enum reason r;

	memset(f, 0, sizeof(*f));
	r = allow == 0 ? ocsp_request_inspect(der, len, max, f)
	               : ocsp_request_inspect_rules(der, len, &rules, f);
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
	CHECKF(f->flags == flags, "%s: flags %#x, want %#x", what, f->flags,
	    flags);
	CHECKF(f->ncerts == ncerts, "%s: ncerts %zu, want %zu", what, f->ncerts,
	    ncerts);
	CHECKF(f->der_len == len, "%s: der_len %zu", what, f->der_len);
}

static void
expect(const char *what, const unsigned char *der, size_t len, size_t max,
    enum reason want, const char *detail, unsigned flags, size_t ncerts,
    struct ocsp_request_facts *f)
{
	expect_rules(what, der, len, max, 0, want, detail, flags, ncerts, f);
}

static void
test_hand_built(void)
{
	struct ocsp_request_facts f;
	struct dbuf der;

	for (size_t i = 0; i < sizeof(t_reqs) / sizeof(t_reqs[0]); i++) {
		const struct t_req *t = &t_reqs[i];

		build_req(&der, t);
		expect_rules(t->name, der.d, der.n,
		    t->max_nonce ? t->max_nonce : 32, t->allow, t->want,
		    t->detail, t->flags, t->want_ncerts, &f);
		CHECKF(f.has_nonce == ((t->flags & OCSP_FLAG_NONCE) != 0),
		    "%s: has_nonce %d", t->name, f.has_nonce);
		CHECKF(f.nonce_len == t->want_nonce, "%s: nonce_len %zu",
		    t->name, f.nonce_len);
		for (size_t j = 0; j < f.ncerts; j++) {
			size_t hl = ocsp_hash_len(f.certs[j].hash);

			CHECKF((int)f.certs[j].hash == (int)t->hash &&
			        f.certs[j].hash_len == hl &&
			        f.certs[j].name_hash[0] == 0x11 + j &&
			        f.certs[j].key_hash[hl - 1] == 0x11 + j,
			    "%s: cert %zu facts", t->name, j);
		}
	}

	/* Facts of a serial with a sign octet are its magnitude. */
	build_req(&der, &(struct t_req){.ncerts = 1, .serial = SER20_HI});
	expect(
	    "serial magnitude", der.d, der.n, 32, REASON_NONE, NULL, 0, 1, &f);
	CHECK(f.certs[0].serial_len == 20 && f.certs[0].serial[0] == 0xff &&
	    f.certs[0].serial[19] == 0x14);
	build_req(&der, &(struct t_req){.ncerts = 1, .serial = "0a1b"});
	expect("serial 0a1b", der.d, der.n, 32, REASON_NONE, NULL, 0, 1, &f);
	CHECK(f.certs[0].serial_len == 2 && f.certs[0].serial[0] == 0x0a &&
	    f.certs[0].serial[1] == 0x1b);

	/* Flags already there (from a GET) are kept. */
	build_req(&der, &(struct t_req){.ncerts = 1});
	memset(&f, 0, sizeof(f));
	f.flags = OCSP_FLAG_GET_UNPADDED;
	CHECK(ocsp_request_inspect(der.d, der.n, 32, &f) == REASON_NONE);
	CHECK(f.flags == OCSP_FLAG_GET_UNPADDED);
}

/* Encodings of a valid request that break the DER rules. */
static void
test_encoding(void)
{
	static const unsigned char garbage[] = "hello, world";
	struct ocsp_request_facts f;
	struct dbuf der, bad;

	build_req(&der, &(struct t_req){.ncerts = 1});
	expect("valid", der.d, der.n, 32, REASON_NONE, NULL, 0, 1, &f);
	CHECK(der.d[1] < 0x80);

	bad = der;
	bad.d[bad.n++] = 0x00;
	expect("trailing byte", bad.d, bad.n, 32, REASON_OCSP_MALFORMED,
	    "trailing bytes after OCSPRequest", 0, 0, &f);

	bad = der;
	put(&bad, der.d, der.n);
	expect("two requests", bad.d, bad.n, 32, REASON_OCSP_MALFORMED,
	    "trailing bytes after OCSPRequest", 0, 0, &f);

	/* 30 81 LL: the outer length in long form. */
	bad.n = 0;
	put(&bad, "\x30\x81", 2);
	put(&bad, der.d + 1, der.n - 1);
	expect("long-form length", bad.d, bad.n, 32, REASON_OCSP_MALFORMED,
	    "not canonical DER", 0, 0, &f);

	/* The TBSRequest's length in long form, outer length adjusted. */
	bad.n = 0;
	put(&bad, der.d, 2);
	bad.d[1]++;
	put(&bad, "\x30\x81", 2);
	put(&bad, der.d + 3, der.n - 3);
	expect("inner long-form length", bad.d, bad.n, 32,
	    REASON_OCSP_MALFORMED, "not canonical DER", 0, 0, &f);

	/* BER indefinite length. */
	bad.n = 0;
	put(&bad, "\x30\x80", 2);
	put(&bad, der.d + 2, der.n - 2);
	put(&bad, "\x00\x00", 2);
	expect("indefinite length", bad.d, bad.n, 32, REASON_OCSP_MALFORMED,
	    "not canonical DER", 0, 0, &f);

	expect("truncated", der.d, der.n - 1, 32, REASON_OCSP_MALFORMED,
	    "not a DER OCSPRequest", 0, 0, &f);
	expect("empty", der.d, 0, 32, REASON_OCSP_MALFORMED,
	    "not a DER OCSPRequest", 0, 0, &f);
	expect("garbage", garbage, sizeof(garbage) - 1, 32,
	    REASON_OCSP_MALFORMED, "not a DER OCSPRequest", 0, 0, &f);
	expect("empty SEQUENCE", (const unsigned char *)"\x30\x00", 2, 32,
	    REASON_OCSP_MALFORMED, "not a DER OCSPRequest", 0, 0, &f);
	expect("NULL", NULL, 0, 32, REASON_OCSP_MALFORMED,
	    "not a DER OCSPRequest", 0, 0, &f);
}

/* A throwaway self-signed CA. */
static X509 *
make_ca(const char *cn, EVP_PKEY **keyp)
{
	EVP_PKEY *key;
	X509 *x;
	X509_NAME *name;

	key = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	x = X509_new();
	name = X509_NAME_new();
	if (key == NULL || x == NULL || name == NULL)
		abort();
	if (X509_set_version(x, X509_VERSION_3) != 1 ||
	    ASN1_INTEGER_set(X509_get_serialNumber(x), 1) != 1 ||
	    X509_gmtime_adj(X509_getm_notBefore(x), 0) == NULL ||
	    X509_gmtime_adj(X509_getm_notAfter(x), 3600) == NULL ||
	    X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
	        (const unsigned char *)cn, -1, -1, 0) != 1 ||
	    X509_set_subject_name(x, name) != 1 ||
	    X509_set_issuer_name(x, name) != 1 ||
	    X509_set_pubkey(x, key) != 1 ||
	    X509_sign(x, key, EVP_sha256()) <= 0)
		abort();
	X509_NAME_free(name);
	*keyp = key;
	return x;
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
	ASN1_INTEGER_free(serial);
	BN_free(bn);
	return id;
}

/* A request for one serial of <ca>, hashed with <md>. */
static OCSP_REQUEST *
make_req(const EVP_MD *md, X509 *ca, const char *serial_hex)
{
	OCSP_REQUEST *req = OCSP_REQUEST_new();
	OCSP_CERTID *id = make_id(md, ca, serial_hex);

	if (req == NULL || id == NULL || OCSP_request_add0_id(req, id) == NULL)
		abort();
	return req;
}

static void
to_der(OCSP_REQUEST *req, struct dbuf *out)
{
	unsigned char *p = out->d;
	int n = i2d_OCSP_REQUEST(req, NULL);

	if (n <= 0 || (size_t)n > sizeof(out->d))
		abort();
	i2d_OCSP_REQUEST(req, &p);
	out->n = (size_t)n;
}

/* Inspects <req> under the <allow> switches, then frees it. */
static void
expect_req_rules(const char *what, OCSP_REQUEST *req, size_t max,
    unsigned allow, enum reason want, const char *detail, unsigned flags,
    size_t ncerts, struct ocsp_request_facts *f)
{
	struct dbuf der;

	to_der(req, &der);
	OCSP_REQUEST_free(req);
	expect_rules(
	    what, der.d, der.n, max, allow, want, detail, flags, ncerts, f);
}

static void
expect_req(const char *what, OCSP_REQUEST *req, size_t max, enum reason want,
    const char *detail, unsigned flags, size_t ncerts,
    struct ocsp_request_facts *f)
{
	expect_req_rules(what, req, max, 0, want, detail, flags, ncerts, f);
}

static void
add_ext(OCSP_REQUEST *req, X509_EXTENSION *ext)
{
	if (ext == NULL || OCSP_REQUEST_add_ext(req, ext, -1) != 1)
		abort();
	X509_EXTENSION_free(ext);
}

static void
add_single_ext(OCSP_ONEREQ *one, X509_EXTENSION *ext)
{
	if (ext == NULL || OCSP_ONEREQ_add_ext(one, ext, -1) != 1)
		abort();
	X509_EXTENSION_free(ext);
}

/* Requests built with OpenSSL's API, as real clients build them. */
static void
test_openssl_built(X509 *ca, EVP_PKEY *key, X509 *ca2)
{
	static const struct {
		const char *name;
		const EVP_MD *(*md)(void);
		enum ocsp_hash hash;
	} mds[] = {
	    {"sha1", EVP_sha1, OCSP_HASH_SHA1},
	    {"sha224", EVP_sha224, OCSP_HASH_SHA224},
	    {"sha256", EVP_sha256, OCSP_HASH_SHA256},
	    {"sha384", EVP_sha384, OCSP_HASH_SHA384},
	    {"sha512", EVP_sha512, OCSP_HASH_SHA512},
	};
	struct ocsp_request_facts f;
	struct ocsp_issuer iss[2];
	OCSP_REQUEST *req;
	OCSP_ONEREQ *one;
	OCSP_CERTID *id;
	const char *urls[] = {"http://ocsp.example.test/", NULL};
	char *accept[] = {"basicOCSPResponse", NULL};
	const EVP_MD *md5;

	CHECK(ocsp_issuer_from_cert(ca, &iss[0]) == 0);
	CHECK(ocsp_issuer_from_cert(ca2, &iss[1]) == 0);

	for (size_t i = 0; i < sizeof(mds) / sizeof(mds[0]); i++) {
		req = make_req(mds[i].md(), ca, "0A1B");
		expect_req(mds[i].name, req, 32, REASON_NONE, NULL, 0, 1, &f);
		CHECKF(f.certs[0].hash == mds[i].hash, "%s: hash", mds[i].name);
		CHECKF(f.certs[0].hash_len == ocsp_hash_len(mds[i].hash),
		    "%s: hash_len", mds[i].name);
		CHECKF(f.certs[0].serial_len == 2 &&
		        f.certs[0].serial[0] == 0x0a &&
		        f.certs[0].serial[1] == 0x1b,
		    "%s: serial", mds[i].name);
		CHECKF(
		    memcmp(f.certs[0].name_hash, iss[0].name_hash[mds[i].hash],
		        f.certs[0].hash_len) == 0 &&
		        memcmp(f.certs[0].key_hash,
		            iss[0].key_hash[mds[i].hash],
		            f.certs[0].hash_len) == 0,
		    "%s: hashes equal the issuer's", mds[i].name);
		CHECKF(ocsp_request_issuers_match(&f, iss, 1), "%s: match",
		    mds[i].name);
		CHECKF(ocsp_request_issuers_match(&f, iss, 2), "%s: match 2",
		    mds[i].name);
		CHECKF(!ocsp_request_issuers_match(&f, iss + 1, 1),
		    "%s: other CA", mds[i].name);
		CHECKF(!ocsp_request_issuers_match(&f, iss, 0), "%s: no issuer",
		    mds[i].name);
	}

	/* MD5 is refused, when this OpenSSL can still make it. */
	if ((md5 = EVP_md5()) != NULL &&
	    (id = make_id(md5, ca, "01")) != NULL) {
		req = OCSP_REQUEST_new();
		OCSP_request_add0_id(req, id);
		expect_req("md5 (API)", req, 32, REASON_OCSP_MALFORMED,
		    "unknown hash algorithm", 0, 0, &f);
	}

	req = make_req(EVP_sha1(), ca, "0");
	expect_req("serial 0 (API)", req, 32, REASON_OCSP_MALFORMED,
	    "serial number not positive", 0, 0, &f);
	req = make_req(EVP_sha1(), ca, "-5");
	expect_req("serial -5 (API)", req, 32, REASON_OCSP_MALFORMED,
	    "serial number not positive", 0, 0, &f);
	req = make_req(EVP_sha1(), ca, &SER20_HI[2]);
	expect_req("serial 20 octets, high bit (API)", req, 32, REASON_NONE,
	    NULL, 0, 1, &f);
	CHECK(f.certs[0].serial_len == 20 && f.certs[0].serial[0] == 0xff);
	req = make_req(EVP_sha1(), ca, "01" SER20);
	expect_req("serial 21 octets (API)", req, 32, REASON_OCSP_MALFORMED,
	    "serial number over 20 octets", 0, 0, &f);

	req = make_req(EVP_sha1(), ca, "01");
	CHECK(OCSP_request_add1_nonce(req, NULL, 16) == 1);
	expect_req("nonce 16 (API)", req, 32, REASON_NONE, NULL,
	    OCSP_FLAG_NONCE, 1, &f);
	CHECK(f.has_nonce && f.nonce_len == 16);
	req = make_req(EVP_sha1(), ca, "01");
	CHECK(OCSP_request_add1_nonce(req, NULL, 33) == 1);
	expect_req("nonce 33 (API)", req, 32, REASON_OCSP_MALFORMED,
	    "nonce over max_nonce_bytes", OCSP_FLAG_NONCE, 1, &f);
	req = make_req(EVP_sha1(), ca, "01");
	CHECK(OCSP_request_add1_nonce(req, NULL, 128) == 1);
	expect_req("nonce 128 (API)", req, 128, REASON_NONE, NULL,
	    OCSP_FLAG_NONCE, 1, &f);
	CHECK(f.nonce_len == 128);
	req = make_req(EVP_sha1(), ca, "01");
	CHECK(OCSP_request_add1_nonce(req, NULL, 16) == 1);
	/* add1_nonce() would replace it: add a copy by hand. */
	add_ext(req, X509_EXTENSION_dup(OCSP_REQUEST_get_ext(req, 0)));
	expect_req("duplicate nonce (API)", req, 32, REASON_OCSP_MALFORMED,
	    "duplicate extension", OCSP_FLAG_NONCE, 1, &f);

	req = make_req(EVP_sha1(), ca, "01");
	add_ext(req, OCSP_accept_responses_new(accept));
	expect_req(
	    "acceptable responses (API)", req, 32, REASON_NONE, NULL, 0, 1, &f);
	req = make_req(EVP_sha1(), ca, "01");
	add_ext(req, OCSP_crlID_new("http://crl.example.test/", NULL, NULL));
	expect_req("CRL ID (API)", req, 32, REASON_OCSP_MALFORMED,
	    "unknown extension", 0, 1, &f);

	req = OCSP_REQUEST_new();
	one = OCSP_request_add0_id(req, make_id(EVP_sha1(), ca, "01"));
	add_single_ext(
	    one, OCSP_url_svcloc_new(X509_get_subject_name(ca), urls));
	expect_req_rules("service locator (API)", req, 32, A_SVCLOC,
	    REASON_NONE, NULL, OCSP_FLAG_SINGLE_REQUEST_EXTENSIONS, 1, &f);
	req = OCSP_REQUEST_new();
	one = OCSP_request_add0_id(req, make_id(EVP_sha1(), ca, "01"));
	add_single_ext(
	    one, OCSP_url_svcloc_new(X509_get_subject_name(ca), urls));
	expect_req("service locator, not allowed (API)", req, 32,
	    REASON_OCSP_MALFORMED,
	    "service locator not allowed (allow_service_locator)",
	    OCSP_FLAG_SINGLE_REQUEST_EXTENSIONS, 1, &f);
	req = OCSP_REQUEST_new();
	one = OCSP_request_add0_id(req, make_id(EVP_sha1(), ca, "01"));
	add_single_ext(
	    one, OCSP_crlID_new("http://crl.example.test/", NULL, NULL));
	expect_req("CRL ID single (API)", req, 32, REASON_OCSP_MALFORMED,
	    "unknown extension", OCSP_FLAG_SINGLE_REQUEST_EXTENSIONS, 1, &f);

	req = make_req(EVP_sha1(), ca, "01");
	CHECK(OCSP_request_set1_name(req, X509_get_subject_name(ca)) == 1);
	expect_req_rules("requestorName (API)", req, 32, A_REQ, REASON_NONE,
	    NULL, OCSP_FLAG_REQUESTOR_NAME, 1, &f);

	/* OCSP_request_sign() also sets requestorName to the signer. */
	req = make_req(EVP_sha256(), ca, "01");
	CHECK(OCSP_request_add1_nonce(req, NULL, 32) == 1);
	CHECK(OCSP_request_sign(req, ca, key, EVP_sha256(), NULL, 0) == 1);
	expect_req_rules("signed (API)", req, 32, A_SIGNED, REASON_NONE, NULL,
	    OCSP_FLAG_SIGNED_REQUEST | OCSP_FLAG_REQUESTOR_NAME |
	        OCSP_FLAG_NONCE,
	    1, &f);
	req = make_req(EVP_sha256(), ca, "01");
	CHECK(OCSP_request_sign(
	          req, ca, key, EVP_sha256(), NULL, OCSP_NOCERTS) == 1);
	expect_req_rules("signed, no certs (API)", req, 32, A_SIGNED,
	    REASON_NONE, NULL,
	    OCSP_FLAG_SIGNED_REQUEST | OCSP_FLAG_REQUESTOR_NAME, 1, &f);
	/* Several KB of signature and certificates: refused by default. */
	req = make_req(EVP_sha256(), ca, "01");
	CHECK(OCSP_request_sign(req, ca, key, EVP_sha256(), NULL, 0) == 1);
	expect_req("signed, not allowed (API)", req, 32, REASON_OCSP_MALFORMED,
	    "signed request not allowed (allow_signed_requests)",
	    OCSP_FLAG_SIGNED_REQUEST | OCSP_FLAG_REQUESTOR_NAME, 0, &f);
	req = make_req(EVP_sha256(), ca, "01");
	CHECK(OCSP_request_sign(req, ca, key, EVP_sha256(), NULL, 0) == 1);
	expect_req_rules("signed, only requestorName allowed (API)", req, 32,
	    A_REQ, REASON_OCSP_MALFORMED,
	    "signed request not allowed (allow_signed_requests)",
	    OCSP_FLAG_SIGNED_REQUEST | OCSP_FLAG_REQUESTOR_NAME, 0, &f);

	/* Several certificates, of one or both issuers. */
	req = make_req(EVP_sha1(), ca, "01");
	OCSP_request_add0_id(req, make_id(EVP_sha256(), ca, "02"));
	OCSP_request_add0_id(req, make_id(EVP_sha512(), ca, "03"));
	expect_req("3 certs, one issuer (API)", req, 32, REASON_NONE, NULL,
	    OCSP_FLAG_MULTIPLE_CERTS, 3, &f);
	CHECK(ocsp_request_issuers_match(&f, iss, 1));
	CHECK(!ocsp_request_issuers_match(&f, iss + 1, 1));
	req = make_req(EVP_sha1(), ca, "01");
	OCSP_request_add0_id(req, make_id(EVP_sha256(), ca2, "02"));
	expect_req("2 certs, two issuers (API)", req, 32, REASON_NONE, NULL,
	    OCSP_FLAG_MULTIPLE_CERTS, 2, &f);
	CHECK(!ocsp_request_issuers_match(&f, iss, 1));
	CHECK(!ocsp_request_issuers_match(&f, iss + 1, 1));
	CHECK(ocsp_request_issuers_match(&f, iss, 2));

	/* An ID whose name hash is one CA's and key hash the other's. */
	req = make_req(EVP_sha1(), ca, "01");
	expect_req("mixed hashes", req, 32, REASON_NONE, NULL, 0, 1, &f);
	memcpy(f.certs[0].key_hash, iss[1].key_hash[OCSP_HASH_SHA1], 20);
	CHECK(!ocsp_request_issuers_match(&f, iss, 2));

	memset(&f, 0, sizeof(f));
	CHECK(!ocsp_request_issuers_match(&f, iss, 2));
}

/* Names and tables. */
static void
test_names(void)
{
	static const char *const flags[] = {"get_percent_encoded",
	    "get_unescaped_slash", "get_space_as_plus", "get_double_slash",
	    "get_url_safe_alphabet", "get_unpadded", "get_over_255_bytes",
	    "multiple_certs", "requestor_name", "signed_request",
	    "single_request_extensions", "nonce", "explicit_default_version",
	    "hash_params_absent", "explicit_critical_false"};
	static const char *const hashes[] = {
	    "sha1", "sha224", "sha256", "sha384", "sha512"};
	static const size_t lens[] = {20, 28, 32, 48, 64};

	CHECK(sizeof(flags) / sizeof(flags[0]) == OCSP_FLAG_COUNT);
	CHECK(1u << (OCSP_FLAG_COUNT - 1) == OCSP_FLAG_EXPLICIT_CRITICAL_FALSE);
	for (unsigned i = 0; i < OCSP_FLAG_COUNT; i++)
		CHECKF(ocsp_flag_name(i) != NULL &&
		        strcmp(ocsp_flag_name(i), flags[i]) == 0,
		    "flag %u", i);
	CHECK(ocsp_flag_name(OCSP_FLAG_COUNT) == NULL);
	CHECK(ocsp_flag_name(1000) == NULL);
	for (int h = 0; h < OCSP_HASH_MAX; h++) {
		CHECKF(
		    strcmp(ocsp_hash_name((enum ocsp_hash)h), hashes[h]) == 0,
		    "hash %d", h);
		CHECKF(
		    ocsp_hash_len((enum ocsp_hash)h) == lens[h], "len %d", h);
	}
	CHECK(ocsp_hash_name(OCSP_HASH_MAX) == NULL);
	CHECK(ocsp_hash_len(OCSP_HASH_MAX) == 0);
}

/* Standard base64 of <der>, NUL-terminated, into <out>. */
static void
b64(const struct dbuf *der, char *out, size_t cap)
{
	if ((der->n + 2) / 3 * 4 + 1 > cap)
		abort();
	EVP_EncodeBlock((unsigned char *)out, der->d, (int)der->n);
}

/*
 * Finds a valid hand-built request whose standard base64 (left in <s>)
 * holds '+', '/' and ends in "==" when <rich>, or none of '+', '/', '='.
 */
static bool
find_fixture(struct dbuf *der, char *s, size_t cap, bool rich)
{
	/* Serial lengths vary the DER lengths, which base64 shows too. */
	for (unsigned seed = 1; seed < 5000; seed++) {
		struct t_req t = {.ncerts = 1,
		    .seed = seed,
		    .serial = &SER20[2 * (seed % 16)],
		    .exts = {NONCE(16 + seed % 3)}};
		bool plus, slash, pad;

		build_req(der, &t);
		b64(der, s, cap);
		plus = strchr(s, '+') != NULL;
		slash = strchr(s, '/') != NULL;
		pad = strchr(s, '=') != NULL;
		if (rich && plus && slash && pad &&
		    strcmp(s + strlen(s) - 2, "==") == 0)
			return true;
		if (!rich && !plus && !slash && !pad)
			return true;
	}
	return false;
}

/* Rewrites each character of <in> found in <from> as the string at the
 * same index of <to>; other characters are copied. Prefixed by <pfx>. */
static void
xlate(char *out, size_t cap, const char *pfx, const char *in, const char *from,
    const char *const *to)
{
	size_t n = strlen(pfx);
	const char *p;

	if (n >= cap)
		abort();
	memcpy(out, pfx, n);
	for (; *in != '\0'; in++) {
		const char *rep = in;
		size_t rl = 1;

		if ((p = strchr(from, *in)) != NULL) {
			rep = to[p - from];
			rl = strlen(rep);
		}
		if (n + rl >= cap)
			abort();
		memcpy(out + n, rep, rl);
		n += rl;
	}
	out[n] = '\0';
}

enum get_form {
	G_PLAIN = 0,   /* "/" + base64 */
	G_PCT,         /* + / = as %2B %2F %3D */
	G_PCT_LOWER,   /* + / = as %2b %2f %3d */
	G_SPACE,       /* + as ' ', / and = escaped */
	G_SPACE_RAW,   /* + as ' ', the rest as is */
	G_PCT20,       /* + as %20 */
	G_DOUBLE,      /* "//" + base64 */
	G_URL,         /* URL-safe alphabet */
	G_URL_UNPAD,   /* URL-safe alphabet, no padding */
	G_UNPAD,       /* no padding */
	G_COMBO,       /* "//", URL-safe, no padding */
	G_COMBO2,      /* "//", + as %2B, / as is, no padding */
	G_COMBO3,      /* + as ' ', / as %2F, no padding */
	G_MIXED,       /* + as '-', / as is */
	G_MIXED2,      /* + as is, / as '_' */
	G_BANG,        /* a '!' in the middle */
	G_QUERY,       /* a '?' in the middle */
	G_QUERY_END,   /* "?a=b" after it */
	G_HASH_END,    /* "#x" after it */
	G_TRUNC,       /* unpadded, cut to 4n+1 characters */
	G_PCT_BAD,     /* "%G1" in the middle */
	G_PCT_SHORT,   /* "%2" at the end */
	G_PCT_ALONE,   /* "%" at the end */
	G_PCT25,       /* "%25" (a '%') in the middle */
	G_PCT00,       /* "%00" in the middle */
	G_NO_SLASH,    /* no leading '/' */
	G_TRIPLE,      /* "///" + base64 */
	G_PAD_SHORT,   /* one '=' less than needed */
	G_PAD_EXTRA,   /* one '=' more */
	G_AFTER_PAD,   /* "MA==" after the padding */
	G_SLASH_END,   /* a '/' after it */
	G_SLASH_PCT2F, /* "/%2F" + base64: a blob starting with '/' */
};

struct t_get {
	const char *name;
	enum get_form form;
	bool rich; /* the fixture with '+', '/' and "==" */
	int rc;
	unsigned flags;
};

#define PCT     OCSP_FLAG_GET_PERCENT_ENCODED
#define SLASH   OCSP_FLAG_GET_UNESCAPED_SLASH
#define SPACE   OCSP_FLAG_GET_SPACE_AS_PLUS
#define DOUBLE  OCSP_FLAG_GET_DOUBLE_SLASH
#define URLSAFE OCSP_FLAG_GET_URL_SAFE_ALPHABET
#define UNPAD   OCSP_FLAG_GET_UNPADDED

static const struct t_get t_gets[] = {
    {"plain", G_PLAIN, false, 0, 0},
    {"plain, double slash", G_DOUBLE, false, 0, DOUBLE},
    {"plain, triple slash", G_TRIPLE, false, -1, 0},
    {"plain, trailing slash", G_SLASH_END, false, -1, 0},
    {"plain, %2F first", G_SLASH_PCT2F, false, -1, 0},
    {"unescaped slash", G_PLAIN, true, 0, SLASH},
    {"percent-encoded", G_PCT, true, 0, PCT},
    {"percent-encoded, lowercase", G_PCT_LOWER, true, 0, PCT},
    {"space for +", G_SPACE, true, 0, PCT | SPACE},
    {"space for +, slash as is", G_SPACE_RAW, true, 0, SPACE | SLASH},
    {"%20 for +", G_PCT20, true, 0, PCT | SPACE | SLASH},
    {"double slash", G_DOUBLE, true, 0, DOUBLE | SLASH},
    {"URL-safe", G_URL, true, 0, URLSAFE},
    {"URL-safe, unpadded", G_URL_UNPAD, true, 0, URLSAFE | UNPAD},
    {"unpadded", G_UNPAD, true, 0, SLASH | UNPAD},
    {"double slash, URL-safe, unpadded", G_COMBO, true, 0,
        DOUBLE | URLSAFE | UNPAD},
    {"double slash, %2B, slash, unpadded", G_COMBO2, true, 0,
        DOUBLE | PCT | SLASH | UNPAD},
    {"space, %2F, unpadded", G_COMBO3, true, 0, SPACE | PCT | UNPAD},
    {"mixed alphabets (-, /)", G_MIXED, true, -1, 0},
    {"mixed alphabets (+, _)", G_MIXED2, true, -1, 0},
    {"invalid character", G_BANG, true, -1, 0},
    {"'?' inside", G_QUERY, true, -1, 0},
    {"query after", G_QUERY_END, true, -1, 0},
    {"fragment after", G_HASH_END, true, -1, 0},
    {"truncated", G_TRUNC, true, -1, 0},
    {"%G1", G_PCT_BAD, true, -1, 0},
    {"%2 at the end", G_PCT_SHORT, true, -1, 0},
    {"% at the end", G_PCT_ALONE, true, -1, 0},
    {"%25", G_PCT25, true, -1, 0},
    {"%00", G_PCT00, true, -1, 0},
    {"no leading slash", G_NO_SLASH, true, -1, 0},
    {"padding short", G_PAD_SHORT, true, -1, 0},
    {"padding extra", G_PAD_EXTRA, true, -1, 0},
    {"data after padding", G_AFTER_PAD, true, -1, 0},
    {"slash after padding", G_SLASH_END, true, -1, 0},
};

/* Builds the path of form <form> from standard base64 <s>. */
static void
make_path(char *out, size_t cap, const char *s, enum get_form form)
{
	static const char *const pct[] = {"%2B", "%2F", "%3D"};
	static const char *const pctl[] = {"%2b", "%2f", "%3d"};
	static const char *const space[] = {" ", "%2F", "%3D"};
	static const char *const space_raw[] = {" "};
	static const char *const pct20[] = {"%20"};
	static const char *const url[] = {"-", "_"};
	static const char *const url_unpad[] = {"-", "_", ""};
	static const char *const unpad[] = {""};
	static const char *const combo2[] = {"%2B", ""};
	static const char *const combo3[] = {" ", "%2F", ""};
	char tmp[8192];
	size_t n, mid;

	switch (form) {
	case G_PLAIN:
		xlate(out, cap, "/", s, "", NULL);
		break;
	case G_PCT:
		xlate(out, cap, "/", s, "+/=", pct);
		break;
	case G_PCT_LOWER:
		xlate(out, cap, "/", s, "+/=", pctl);
		break;
	case G_SPACE:
		xlate(out, cap, "/", s, "+/=", space);
		break;
	case G_SPACE_RAW:
		xlate(out, cap, "/", s, "+", space_raw);
		break;
	case G_PCT20:
		xlate(out, cap, "/", s, "+", pct20);
		break;
	case G_DOUBLE:
		xlate(out, cap, "//", s, "", NULL);
		break;
	case G_URL:
		xlate(out, cap, "/", s, "+/", url);
		break;
	case G_URL_UNPAD:
		xlate(out, cap, "/", s, "+/=", url_unpad);
		break;
	case G_UNPAD:
		xlate(out, cap, "/", s, "=", unpad);
		break;
	case G_COMBO:
		xlate(out, cap, "//", s, "+/=", url_unpad);
		break;
	case G_COMBO2:
		xlate(out, cap, "//", s, "+=", combo2);
		break;
	case G_COMBO3:
		xlate(out, cap, "/", s, "+/=", combo3);
		break;
	case G_MIXED:
		xlate(out, cap, "/", s, "+", url);
		break;
	case G_MIXED2:
		xlate(out, cap, "/", s, "/", url + 1);
		break;
	case G_TRUNC:
		xlate(out, cap, "/", s, "=", unpad);
		n = strlen(out) - 1;
		while (n % 4 != 1)
			n--;
		out[1 + n] = '\0';
		break;
	case G_NO_SLASH:
		xlate(out, cap, "", s, "", NULL);
		break;
	case G_TRIPLE:
		xlate(out, cap, "///", s, "", NULL);
		break;
	case G_PAD_SHORT:
		xlate(out, cap, "/", s, "", NULL);
		out[strlen(out) - 1] = '\0';
		break;
	case G_PAD_EXTRA:
		xlate(tmp, sizeof(tmp), "/", s, "", NULL);
		snprintf(out, cap, "%s=", tmp);
		break;
	case G_AFTER_PAD:
		xlate(tmp, sizeof(tmp), "/", s, "", NULL);
		snprintf(out, cap, "%sMA==", tmp);
		break;
	case G_SLASH_END:
		xlate(tmp, sizeof(tmp), "/", s, "", NULL);
		snprintf(out, cap, "%s/", tmp);
		break;
	case G_SLASH_PCT2F:
		xlate(out, cap, "/%2F", s, "", NULL);
		break;
	case G_QUERY_END:
		xlate(tmp, sizeof(tmp), "/", s, "", NULL);
		snprintf(out, cap, "%s?a=b", tmp);
		break;
	case G_HASH_END:
		xlate(tmp, sizeof(tmp), "/", s, "", NULL);
		snprintf(out, cap, "%s#x", tmp);
		break;
	case G_BANG:
	case G_QUERY:
	case G_PCT_BAD:
	case G_PCT25:
	case G_PCT00:
		xlate(tmp, sizeof(tmp), "/", s, "", NULL);
		mid = strlen(tmp) / 2;
		mid -= mid % 4;
		snprintf(out, cap, "%.*s%s%s", (int)mid, tmp,
		    form == G_BANG          ? "!"
		        : form == G_QUERY   ? "?"
		        : form == G_PCT_BAD ? "%G1"
		        : form == G_PCT25   ? "%25"
		                            : "%00",
		    tmp + mid);
		break;
	case G_PCT_SHORT:
	case G_PCT_ALONE:
		xlate(tmp, sizeof(tmp), "/", s, "", NULL);
		snprintf(
		    out, cap, "%s%s", tmp, form == G_PCT_SHORT ? "%2" : "%");
		break;
	}
}

static void
expect_get(const char *what, const char *path, size_t len, int want_rc,
    unsigned want_flags, const unsigned char *want, size_t want_len)
{
	unsigned char der[8192];
	size_t der_len = 0;
	unsigned flags = 0;
	int rc;

	rc = ocsp_request_decode_get(
	    path, len, der, sizeof(der), &der_len, &flags);
	CHECKF(rc == want_rc, "%s: rc %d, want %d (\"%.60s\")", what, rc,
	    want_rc, path);
	if (rc != 0 || want_rc != 0)
		return;
	CHECKF(flags == want_flags, "%s: flags %#x, want %#x", what, flags,
	    want_flags);
	CHECKF(der_len == want_len && memcmp(der, want, want_len) == 0,
	    "%s: output differs (%zu bytes, want %zu)", what, der_len,
	    want_len);
}

static void
expect_split_n(const char *path, size_t len, int want_rc, size_t want_pfx)
{
	unsigned char der[16384];
	size_t der_len = 0, pfx = 0;
	unsigned flags = 0;
	int rc;

	rc = ocsp_request_split_get(
	    path, len, der, sizeof(der), &der_len, &flags, &pfx);
	CHECKF(rc == want_rc, "split \"%.40s\": rc %d, want %d", path, rc,
	    want_rc);
	if (rc == 0 && want_rc == 0)
		CHECKF(
		    pfx == want_pfx, "split \"%.40s\": prefix %zu", path, pfx);
}

static void
expect_split(const char *path, int want_rc, size_t want_pfx)
{
	expect_split_n(path, strlen(path), want_rc, want_pfx);
}

static void
test_get(void)
{
	struct dbuf plain, rich, big;
	char sp[4096], sr[4096], sb[8192], path[16384];
	unsigned char der[8192];
	size_t der_len;
	unsigned flags;
	struct ocsp_request_facts f;

	CHECK(find_fixture(&plain, sp, sizeof(sp), false));
	CHECK(find_fixture(&rich, sr, sizeof(sr), true));
	expect("plain fixture", plain.d, plain.n, 32, REASON_NONE, NULL,
	    OCSP_FLAG_NONCE, 1, &f);
	expect("rich fixture", rich.d, rich.n, 32, REASON_NONE, NULL,
	    OCSP_FLAG_NONCE, 1, &f);

	for (size_t i = 0; i < sizeof(t_gets) / sizeof(t_gets[0]); i++) {
		const struct t_get *t = &t_gets[i];
		const struct dbuf *d = t->rich ? &rich : &plain;

		make_path(path, sizeof(path), t->rich ? sr : sp, t->form);
		expect_get(
		    t->name, path, strlen(path), t->rc, t->flags, d->d, d->n);
	}

	/* Flags are OR-ed into what the caller had. */
	make_path(path, sizeof(path), sr, G_URL);
	flags = OCSP_FLAG_NONCE;
	CHECK(ocsp_request_decode_get(
	          path, strlen(path), der, sizeof(der), &der_len, &flags) == 0);
	CHECK(flags == (OCSP_FLAG_NONCE | URLSAFE));
	/* A failure leaves them alone. */
	make_path(path, sizeof(path), sr, G_MIXED);
	flags = 0;
	CHECK(ocsp_request_decode_get(path, strlen(path), der, sizeof(der),
	          &der_len, &flags) == -1);
	CHECK(flags == 0);

	/* Output capacity. */
	make_path(path, sizeof(path), sr, G_PLAIN);
	CHECK(ocsp_request_decode_get(
	          path, strlen(path), der, rich.n, &der_len, &flags) == 0);
	CHECK(der_len == rich.n);
	CHECK(ocsp_request_decode_get(
	          path, strlen(path), der, rich.n - 1, &der_len, &flags) == -1);

	/* Decoded, then inspected. */
	make_path(path, sizeof(path), sr, G_COMBO);
	flags = 0;
	CHECK(ocsp_request_decode_get(
	          path, strlen(path), der, sizeof(der), &der_len, &flags) == 0);
	memset(&f, 0, sizeof(f));
	f.flags = flags;
	CHECK(ocsp_request_inspect(der, der_len, 32, &f) == REASON_NONE);
	CHECK(f.flags == (DOUBLE | URLSAFE | UNPAD | OCSP_FLAG_NONCE));

	/* Small hand-made paths. */
	expect_get("/MA", "/MA", 3, 0, UNPAD, (const unsigned char *)"\x30", 1);
	expect_get("/MA==", "/MA==", 5, 0, 0, (const unsigned char *)"\x30", 1);
	expect_get(
	    "/MEI=", "/MEI=", 5, 0, 0, (const unsigned char *)"\x30\x42", 2);
	expect_get("/MB (trailing bits)", "/MB", 3, -1, 0, NULL, 0);
	expect_get("/MEJ= (trailing bits)", "/MEJ=", 5, -1, 0, NULL, 0);
	expect_get("/AA (not a SEQUENCE)", "/AA", 3, -1, 0, NULL, 0);
	expect_get("/MA=", "/MA=", 4, -1, 0, NULL, 0);
	expect_get("/MA===", "/MA===", 6, -1, 0, NULL, 0);
	expect_get("/M", "/M", 2, -1, 0, NULL, 0);
	expect_get("/=", "/=", 2, -1, 0, NULL, 0);
	expect_get("/==", "/==", 3, -1, 0, NULL, 0);
	expect_get("/MA==MA==", "/MA==MA==", 9, -1, 0, NULL, 0);
	expect_get("/M A", "/M A", 4, -1, 0, NULL, 0);
	expect_get("empty", "", 0, -1, 0, NULL, 0);
	expect_get("/", "/", 1, -1, 0, NULL, 0);
	expect_get("//", "//", 2, -1, 0, NULL, 0);
	expect_get("NUL inside", "/M\0A", 4, -1, 0, NULL, 0);
	expect_get("/%4DA", "/%4DA", 5, 0, PCT | UNPAD,
	    (const unsigned char *)"\x30", 1);
	expect_get("/status", "/status", 7, -1, 0, NULL, 0);
	CHECK(ocsp_request_decode_get(
	          NULL, 0, der, sizeof(der), &der_len, &flags) == -1);

	/* RFC 5019's 255 bytes: a path of 255 is fine, 256 is flagged. */
	memset(path, 'A', 256);
	path[0] = '/';
	path[1] = 'M';
	memset(der, 0, 256);
	der[0] = 0x30;
	expect_get("255 bytes", path, 255, 0, UNPAD, der, 254 * 3 / 4);
	expect_get("256 bytes", path, 256, 0,
	    UNPAD | OCSP_FLAG_GET_OVER_255_BYTES, der, 255 * 3 / 4);

	/* A real request over 255 bytes. */
	build_req(&big, &(struct t_req){.hash = TH_SHA512, .ncerts = 8});
	b64(&big, sb, sizeof(sb));
	make_path(path, sizeof(path), sb, G_PCT);
	expect_get("8 sha512 certs", path, strlen(path), 0,
	    OCSP_FLAG_GET_OVER_255_BYTES |
	        (strpbrk(sb, "+/=") != NULL ? PCT : 0),
	    big.d, big.n);
}

/*
 * GET paths under an AIA path prefix: each real prefix before the
 * fixture's base64 (with '/' inside it), the split found and the DER it
 * gives. Prefixes are the paths of real AIA OCSP URLs: Google Trust
 * Services ("http://ocsp.pki.goog/gts1c3", "http://o.pki.goog/s/we1/coM"
 * as in a public certificate dump), GlobalSign
 * ("http://ocsp.globalsign.com/ca/gsatlasr3dvtlsca2024q4"), Actalis
 * (".../VA/AUTH-G3"), PostSignum ("http://ocsp.postsignum.cz/OCSP/VCA5/",
 * pyca/cryptography issue 7309), Microsoft and AD CS ("/ocsp"), Apple
 * ("/ocsp03-apevsrsa2g101"), a 40-hex-digit key id.
 */
static const struct {
	const char *prefix; /* what stands before "/<base64>" */
	int rc;
	size_t want_prefix; /* with rc 0 */
	unsigned flags;     /* beyond the fixture's own */
} t_splits[] = {
    {"", 0, 0, 0},
    {"/gts1c3", 0, 7, 0},
    {"/gsr1", 0, 5, 0},
    {"/s/we1/coM", 0, 10, 0},
    {"/ca/gsatlasr3dvtlsca2024q4", 0, 26, 0},
    {"/VA/AUTH-G3", 0, 11, 0},
    {"/OCSP/VCA5/", 0, 10, DOUBLE},
    {"/ocsp", 0, 5, 0},
    {"/ocsp/", 0, 5, DOUBLE},
    {"/ocsp03-apevsrsa2g101", 0, 21, 0},
    {"/5B257B96A465517EB839F3C078665EE83AE7F0EE", 0, 41, 0},
    {"/a.b_c-d/e/f/g", 0, 14, 0},
    /* A prefix that base64 could start with: the longest split wins. */
    {"/MEIw", 0, 5, 0},
    {"/MA", 0, 3, 0},
    /* Carriers: too many segments, too long, another alphabet. */
    {"/a/b/c/d/e", -2, 0, 0},
    {"/aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", -2, 0, 0},
    {"/a%20b", -2, 0, 0},
    {"/a!b", -2, 0, 0},
    {"/a~b", -2, 0, 0},
    {"/..", -2, 0, 0},
    {"/x/..", -2, 0, 0},
    {"/a//b", -1, 0, 0},
};

static void
test_split_get(void)
{
	struct dbuf rich, plain, win;
	static char sr[4096], sp[4096], path[16384];
	unsigned char der[8192];
	struct ocsp_request_facts f;
	size_t der_len, pfx;
	unsigned flags;
	int rc;
	/*
	 * Edge on Windows 11 asking an OpenSSL responder (openssl/openssl
	 * issue 27928): "//", '/' escaped as %2F, '+' as it is.
	 */
	static const char windows[] =
	    "//MEkwRzBFMEMwQTAJBgUrDgMCGgUABBQ0saHYnxCoG9zf%2FawQ7sVJuh0sygQ"
	    "UDzVU3zgO8%2FxfEtsUReuim7bjwTACCCcqRpJmJeao";

	CHECK(find_fixture(&rich, sr, sizeof(sr), true));
	CHECK(find_fixture(&plain, sp, sizeof(sp), false));
	for (size_t i = 0; i < sizeof(t_splits) / sizeof(t_splits[0]); i++) {
		for (int r = 0; r < 2; r++) {
			const struct dbuf *d = r ? &rich : &plain;

			(void)snprintf(path, sizeof(path), "%s/%s",
			    t_splits[i].prefix, r ? sr : sp);
			flags = 0;
			pfx = 12345;
			der_len = 0;
			rc = ocsp_request_split_get(path, strlen(path), der,
			    sizeof(der), &der_len, &flags, &pfx);
			CHECKF(rc == t_splits[i].rc, "split %s (%s): rc %d",
			    t_splits[i].prefix, r ? "rich" : "plain", rc);
			if (rc != 0 || t_splits[i].rc != 0)
				continue;
			CHECKF(pfx == t_splits[i].want_prefix,
			    "split %s: prefix %zu", t_splits[i].prefix, pfx);
			CHECKF(der_len == d->n && memcmp(der, d->d, d->n) == 0,
			    "split %s: DER differs", t_splits[i].prefix);
			CHECKF(flags == (t_splits[i].flags | (r ? SLASH : 0)),
			    "split %s: flags %#x", t_splits[i].prefix, flags);
		}
	}

	/* Windows' own spelling decodes to a well-formed request. */
	flags = 0;
	CHECK(ocsp_request_split_get(windows, strlen(windows), der, sizeof(der),
	          &der_len, &flags, &pfx) == 0);
	CHECK(pfx == 0 && der_len == 75 && flags == (DOUBLE | PCT));
	memset(&f, 0, sizeof(f));
	CHECK(ocsp_request_inspect(der, der_len, 32, &f) == REASON_NONE);
	CHECK(f.ncerts == 1 && f.certs[0].hash == OCSP_HASH_SHA1 &&
	    f.certs[0].serial_len == 8 && f.certs[0].serial[0] == 0x27);
	win.n = der_len;
	memcpy(win.d, der, der_len);
	/* ... and under Microsoft's "/ocsp" prefix too. */
	(void)snprintf(path, sizeof(path), "/ocsp%s", windows);
	flags = 0;
	CHECK(ocsp_request_split_get(path, strlen(path), der, sizeof(der),
	          &der_len, &flags, &pfx) == 0);
	CHECK(pfx == 5 && der_len == win.n && memcmp(der, win.d, win.n) == 0);

	/* Nothing that decodes: -1; a sole SEQUENCE that is no request is
	 * found all the same (inspection refuses it). */
	expect_split("/index.html", -1, 0);
	expect_split("/", -1, 0);
	expect_split("", -1, 0);
	expect_split("/ocsp/", -1, 0);
	expect_split("/MA==", -1, 0);
	expect_split("/MAA=", 0, 0);
	expect_split("/ocsp/MAA=", 0, 5);
	expect_split("/MAA=/MAA=", -2, 0); /* "=" in a prefix */
	memset(path, 'A', 12288);
	path[0] = '/';
	expect_split_n(path, 12288, -1, 0);
	CHECK(ocsp_request_split_get(
	          NULL, 0, der, sizeof(der), &der_len, &flags, &pfx) == -1);
}

/*
 * Real clients' requests (the realworld shapes of the differential fuzz
 * corpus, and the bench's CryptoAPI request) are decided by the one-pass
 * walk, never handed to the full decoder, and as the full inspection
 * decides them.
 */
static void
test_real_shapes_fast(void)
{
	const char *data = getenv("OCSPGATE_TEST_DATA");
	const struct ocsp_request_rules rules = {.max_nonce_bytes = 32};
	char dir[4096];
	unsigned char der[8192];
	size_t n, seen = 0;
	struct dirent *e;
	DIR *d;

	if (data == NULL)
		data = "tests/data";
	snprintf(dir, sizeof(dir), "%s/../fuzz/corpus/ocsp_request_diff", data);
	if ((d = opendir(dir)) == NULL)
		abort();
	while ((e = readdir(d)) != NULL) {
		struct ocsp_request_facts f, g;
		enum reason r;

		if (strncmp(e->d_name, "realworld_", 10) != 0)
			continue;
		n = check_read_file(dir, e->d_name, der, sizeof(der));
		memset(&f, 0, sizeof(f));
		memset(&g, 0, sizeof(g));
		CHECKF(ocsp_request_inspect_fast(der, n, &rules, &f, &r) == 0,
		    "%s: left to the full decoder", e->d_name);
		CHECKF(ocsp_request_inspect_rules(der, n, &rules, &g) == r &&
		        memcmp(&f, &g, sizeof(f)) == 0,
		    "%s: decided otherwise", e->d_name);
		seen++;
	}
	closedir(d);
	CHECKF(seen >= 20, "%zu real shapes", seen);
	snprintf(dir, sizeof(dir), "%s/perf", data);
	n = check_read_file(dir, "request.der", der, sizeof(der));
	{
		struct ocsp_request_facts f;
		enum reason r;

		memset(&f, 0, sizeof(f));
		CHECK(ocsp_request_inspect_fast(der, n, &rules, &f, &r) == 0 &&
		    r == REASON_NONE && f.ncerts == 1 && f.flags == 0);
	}
}

int
main(void)
{
	EVP_PKEY *key, *key2;
	X509 *ca, *ca2;

	ca = make_ca("ocspgate test CA", &key);
	ca2 = make_ca("ocspgate other CA", &key2);

	test_names();
	test_hand_built();
	test_encoding();
	test_openssl_built(ca, key, ca2);
	test_get();
	test_split_get();
	test_real_shapes_fast();

	X509_free(ca);
	X509_free(ca2);
	EVP_PKEY_free(key);
	EVP_PKEY_free(key2);
	return check_done();
}
