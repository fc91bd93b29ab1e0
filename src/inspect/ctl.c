/*
 * Windows trust lists, read to their last byte: a certificate trust list
 * signed as PKCS#7 ([MS-CAESO] 2.2.4), the cabinet Windows Update packs
 * it in ([MS-CAB]), and the serialized certificate store of Windows
 * tools (the format Wine's crypt32 serialize.c reads and writes). What is
 * not the trust list or its signature has no room.
 * Pure: no I/O, no logging, no clock, no globals. OpenSSL's error queue
 * is left as it was found.
 */
#include <limits.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <zlib.h>

#include <openssl/asn1.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/objects.h>
#include <openssl/pkcs7.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "ocspgate/civil.h"
#include "ocspgate/ctl.h"
#include "ocspgate/der.h"
#include "ocspgate/pkix.h"

/* DER identifier octets. */
#define CTL_BOOLEAN      0x01
#define CTL_INTEGER      0x02
#define CTL_OCTET_STRING 0x04
#define CTL_NULL         0x05
#define CTL_OID          0x06
#define CTL_UTCTIME      0x17
#define CTL_GENTIME      0x18
#define CTL_SEQUENCE     0x30
#define CTL_SET          0x31
#define CTL_CTX0         0xa0

#define CTL_USAGES_MAX       8   /* subjectUsage OIDs */
#define CTL_ATTRS_MAX        16  /* attributes of one trusted subject */
#define CTL_VALUES_MAX       4   /* values of one attribute */
#define CTL_EXTS_MAX         4   /* ctlExtensions */
#define CTL_LIST_ID_MAX      128 /* listIdentifier octets (UTF-16) */
#define CTL_ID_ANY           255 /* identifiers of Microsoft's kinds */
#define CTL_SEQNO_MAX        20  /* sequenceNumber octets */
#define CTL_TIME_MAX         19  /* "YYYYMMDDHHMMSS.fffZ" */
#define CTL_SIGNED_ATTRS_MAX 2048

/* Microsoft's arc, 1.3.6.1.4.1.311, content octets. */
static const unsigned char ctl_ms_arc[] = {
    0x2b, 0x06, 0x01, 0x04, 0x01, 0x82, 0x37};
/* szOID_CTL, 1.3.6.1.4.1.311.10.1. */
static const unsigned char ctl_oid_ctl[] = {
    0x2b, 0x06, 0x01, 0x04, 0x01, 0x82, 0x37, 0x0a, 0x01};

/* A TLV read by ctl_next(). */
struct ctl_tlv {
	unsigned tag;
	const unsigned char *content;
	size_t len;
};

/*
 * Reads the next TLV at *p (*n bytes left) into <t> and moves past it.
 * Returns 0, or -1 when none is there or it is not DER.
 */
static int
ctl_next(const unsigned char **p, size_t *n, struct ctl_tlv *t)
{
	size_t hlen;

	if (*n == 0 || der_header(*p, *n, &t->tag, &hlen, &t->len) == -1)
		return -1;
	t->content = *p + hlen;
	*p += hlen + t->len;
	*n -= hlen + t->len;
	return 0;
}

/* True when OID content <t> lies under Microsoft's arc. */
static bool
ctl_is_ms_oid(const struct ctl_tlv *t)
{
	return t->tag == CTL_OID && t->len > sizeof(ctl_ms_arc) &&
	    memcmp(t->content, ctl_ms_arc, sizeof(ctl_ms_arc)) == 0;
}

/*
 * The identifier length the subjectAlgorithm <alg> (content) gives: a
 * hash's (MD5, SHA-1, SHA-256), or CTL_ID_ANY for an algorithm of
 * Microsoft's (the disallowed list's signature hashes of 16 and 48
 * octets, the pin rules' DNS names); 0 for anything else.
 */
static size_t
ctl_subject_hash_len(const struct ctl_tlv *alg)
{
	const unsigned char *p = alg->content;
	size_t n = alg->len;
	struct ctl_tlv oid, params;
	ASN1_OBJECT *obj;
	const unsigned char *q;
	size_t len = 0;

	if (ctl_next(&p, &n, &oid) == -1 || oid.tag != CTL_OID)
		return 0;
	if (ctl_is_ms_oid(&oid))
		len = CTL_ID_ANY;
	if (n > 0 &&
	    (ctl_next(&p, &n, &params) == -1 || params.tag != CTL_NULL ||
	        params.len != 0 || n != 0))
		return 0;
	q = oid.content - 2;
	if (len == CTL_ID_ANY)
		return len;
	if (oid.len > 127 ||
	    (obj = d2i_ASN1_OBJECT(NULL, &q, (long)oid.len + 2)) == NULL)
		return 0;
	switch (OBJ_obj2nid(obj)) {
	case NID_md5:
		len = 16;
		break;
	case NID_sha1:
		len = 20;
		break;
	case NID_sha256:
		len = 32;
		break;
	default:
		break;
	}
	ASN1_OBJECT_free(obj);
	return len;
}

/*
 * The attributes of one trusted subject (SET OF Attribute, content
 * <set>): at most CTL_ATTRS_MAX, each a Microsoft OID and a SET of 1..4
 * values (OCTET STRINGs in the root list, INTEGERs in the pin rules) of
 * at most CTL_ATTR_MAX bytes of whole DER. Returns NULL, or why.
 */
static const char *
ctl_attributes(const struct ctl_tlv *set)
{
	const unsigned char *p = set->content;
	size_t n = set->len;
	unsigned count = 0;

	while (n > 0) {
		struct ctl_tlv attr, oid, values, v;
		const unsigned char *q, *r;
		size_t m, k;
		unsigned nv = 0;

		if (ctl_next(&p, &n, &attr) == -1 || attr.tag != CTL_SEQUENCE ||
		    ++count > CTL_ATTRS_MAX)
			return "trust list attribute not of its shape";
		q = attr.content;
		m = attr.len;
		if (ctl_next(&q, &m, &oid) == -1 || !ctl_is_ms_oid(&oid) ||
		    ctl_next(&q, &m, &values) == -1 || values.tag != CTL_SET ||
		    m != 0)
			return "trust list attribute not of its shape";
		r = values.content;
		k = values.len;
		while (k > 0) {
			const unsigned char *start = r;

			if (ctl_next(&r, &k, &v) == -1 ||
			    v.len > CTL_ATTR_MAX || ++nv > CTL_VALUES_MAX ||
			    !der_walk(start, (size_t)(r - start), 32))
				return "trust list attribute value not of its "
				       "shape";
		}
		if (nv == 0)
			return "trust list attribute without a value";
	}
	return NULL;
}

/* An optional time (UTCTime or GeneralizedTime) as the next field. */
static bool
ctl_time(const struct ctl_tlv *t)
{
	return (t->tag == CTL_UTCTIME || t->tag == CTL_GENTIME) &&
	    t->len >= 13 && t->len <= CTL_TIME_MAX;
}

/*
 * The seconds since 1970 of time <t> (ctl_time() found it of its
 * shape) when it is UTCTime "YYMMDDHHMMSSZ" (RFC 5280 4.1.2.5.1's
 * window) or GeneralizedTime "YYYYMMDDHHMMSSZ"; else 0: the list's
 * date is then not given to the client.
 */
static time_t
ctl_seconds(const struct ctl_tlv *t)
{
	const unsigned char *p = t->content;
	size_t y = t->tag == CTL_UTCTIME ? 2 : 4;
	int v[6] = {0};

	if (t->len != y + 11 || p[t->len - 1] != 'Z')
		return 0;
	for (size_t i = 0, k = 0; i + 1 < t->len; i++) {
		if (p[i] < '0' || p[i] > '9')
			return 0;
		v[k] = v[k] * 10 + (p[i] - '0');
		if (i + 1 == y || (i >= y && (i - y) % 2 == 1))
			k++;
	}
	if (y == 2)
		v[0] += v[0] < 50 ? 2000 : 1900;
	return civil_time(v[0], v[1], v[2], v[3], v[4], v[5]);
}

/*
 * The certificate trust list of <der> (<len> bytes, one SEQUENCE):
 *   SEQUENCE { version INTEGER DEFAULT v1, subjectUsage SEQUENCE OF OID,
 *     listIdentifier OCTET STRING OPTIONAL, sequenceNumber INTEGER
 *     OPTIONAL, ctlThisUpdate Time, ctlNextUpdate Time OPTIONAL,
 *     subjectAlgorithm AlgorithmIdentifier, trustedSubjects SEQUENCE OF
 *     SEQUENCE { OCTET STRING, SET OF Attribute OPTIONAL } OPTIONAL,
 *     ctlExtensions [0] EXPLICIT Extensions OPTIONAL }
 * Returns NULL, or why.
 */
static const char *
ctl_list(const unsigned char *der, size_t len, struct ctl_facts *f)
{
	const unsigned char *p = der, *q;
	size_t n = len, m, hash_len;
	struct ctl_tlv list, t, u;
	unsigned usages = 0;

	if (ctl_next(&p, &n, &list) == -1 || list.tag != CTL_SEQUENCE || n != 0)
		return "trust list not a DER SEQUENCE";
	p = list.content;
	n = list.len;
	if (ctl_next(&p, &n, &t) == -1)
		return "trust list cut short";
	if (t.tag == CTL_INTEGER) {
		/* DER leaves the default v1 out: only v1 itself is known. */
		return "trust list version not v1 left out";
	}
	if (t.tag != CTL_SEQUENCE)
		return "trust list without subject usage";
	q = t.content;
	m = t.len;
	while (m > 0)
		if (ctl_next(&q, &m, &u) == -1 || !ctl_is_ms_oid(&u) ||
		    ++usages > CTL_USAGES_MAX)
			return "trust list subject usage not Microsoft's";
	if (usages == 0 || ctl_next(&p, &n, &t) == -1)
		return "trust list cut short";
	if (t.tag == CTL_OCTET_STRING) {
		if (t.len > CTL_LIST_ID_MAX)
			return "trust list identifier too long";
		if (ctl_next(&p, &n, &t) == -1)
			return "trust list cut short";
	}
	if (t.tag == CTL_INTEGER) {
		if (t.len == 0 || t.len > CTL_SEQNO_MAX)
			return "trust list sequence number too long";
		if (ctl_next(&p, &n, &t) == -1)
			return "trust list cut short";
	}
	if (!ctl_time(&t))
		return "trust list without a valid update time";
	f->this_update = ctl_seconds(&t);
	if (ctl_next(&p, &n, &t) == -1)
		return "trust list without a valid update time";
	if (t.tag == CTL_UTCTIME || t.tag == CTL_GENTIME) {
		if (!ctl_time(&t) || ctl_next(&p, &n, &t) == -1)
			return "trust list next update not a valid time";
	}
	if (t.tag != CTL_SEQUENCE || (hash_len = ctl_subject_hash_len(&t)) == 0)
		return "trust list subject algorithm not a known hash";
	if (n > 0 && ctl_next(&p, &n, &t) == 0 && t.tag == CTL_SEQUENCE) {
		q = t.content;
		m = t.len;
		while (m > 0) {
			struct ctl_tlv entry, id, attrs;
			const unsigned char *e;
			size_t en;
			const char *why;

			if (ctl_next(&q, &m, &entry) == -1 ||
			    entry.tag != CTL_SEQUENCE)
				return "trusted subject not of its shape";
			e = entry.content;
			en = entry.len;
			if (ctl_next(&e, &en, &id) == -1 ||
			    id.tag != CTL_OCTET_STRING || id.len == 0 ||
			    (hash_len == CTL_ID_ANY ? id.len > CTL_ID_ANY
			                            : id.len != hash_len))
				return "trusted subject not a hash of the "
				       "subject algorithm";
			if (en > 0 &&
			    (ctl_next(&e, &en, &attrs) == -1 ||
			        attrs.tag != CTL_SET || en != 0))
				return "trusted subject not of its shape";
			if (attrs.tag == CTL_SET &&
			    (why = ctl_attributes(&attrs)) != NULL)
				return why;
			f->entries++;
		}
		t.tag = 0;
		if (n > 0 && ctl_next(&p, &n, &t) == -1)
			return "trust list not DER";
	}
	if (t.tag == CTL_CTX0) {
		/* Extensions of Microsoft's, few and bounded. */
		struct ctl_tlv exts, ext, oid, v;
		unsigned count = 0;

		q = t.content;
		m = t.len;
		if (ctl_next(&q, &m, &exts) == -1 || exts.tag != CTL_SEQUENCE ||
		    m != 0)
			return "trust list extensions not of their shape";
		q = exts.content;
		m = exts.len;
		while (m > 0) {
			const unsigned char *e;
			size_t en;

			if (ctl_next(&q, &m, &ext) == -1 ||
			    ext.tag != CTL_SEQUENCE || ++count > CTL_EXTS_MAX)
				return "trust list extensions not of their "
				       "shape";
			e = ext.content;
			en = ext.len;
			if (ctl_next(&e, &en, &oid) == -1 ||
			    !ctl_is_ms_oid(&oid) || ctl_next(&e, &en, &v) == -1)
				return "trust list extension not Microsoft's";
			/* critical BOOLEAN DEFAULT FALSE: TRUE when there. */
			if (v.tag == CTL_BOOLEAN &&
			    (v.len != 1 || v.content[0] != 0xff ||
			        ctl_next(&e, &en, &v) == -1))
				return "trust list extension not DER";
			if (v.tag != CTL_OCTET_STRING || en != 0 ||
			    v.len > CTL_EXT_MAX ||
			    !der_walk(v.content, v.len, 32))
				return "trust list extension not Microsoft's "
				       "or too long";
		}
	} else if (t.tag != 0 && t.tag != CTL_SEQUENCE) {
		return "trust list holds more than its fields";
	}
	if (n != 0)
		return "trust list holds more than its fields";
	return NULL;
}

/* The signed attributes a CTL's signer may add (OIDs as text). */
static const char *const ctl_signed_attrs[] = {
    "1.2.840.113549.1.9.3",    /* contentType */
    "1.2.840.113549.1.9.4",    /* messageDigest */
    "1.2.840.113549.1.9.5",    /* signingTime */
    "1.2.840.113549.1.9.25.4", /* sequenceNumber (the nested signature) */
    "1.3.6.1.4.1.311.2.1.11",  /* SpcStatementType */
    "1.3.6.1.4.1.311.2.1.12",  /* SpcSpOpusInfo */
};

/* True when every signed attribute of <si> is one of ctl_signed_attrs. */
static bool
ctl_known_signed_attrs(const PKCS7_SIGNER_INFO *si)
{
	int n = sk_X509_ATTRIBUTE_num(si->auth_attr);

	for (int i = 0; i < n; i++) {
		char text[64];
		size_t k;

		if (OBJ_obj2txt(text, sizeof(text),
		        X509_ATTRIBUTE_get0_object(
		            sk_X509_ATTRIBUTE_value(si->auth_attr, i)),
		        1) <= 0)
			return false;
		for (k = 0;
		     k < sizeof(ctl_signed_attrs) / sizeof(ctl_signed_attrs[0]);
		     k++)
			if (strcmp(text, ctl_signed_attrs[k]) == 0)
				break;
		if (k == sizeof(ctl_signed_attrs) / sizeof(ctl_signed_attrs[0]))
			return false;
	}
	return true;
}

/* szOID_NESTED_SIGNATURE: Microsoft's second signature, unsigned. */
#define CTL_NESTED_OID "1.3.6.1.4.1.311.2.4.1"
#define CTL_NESTED_MAX 8192

/*
 * The unsigned attributes of <si>: none, or the one nested signature
 * Microsoft adds (the pin rules carry one): a SignedData of detached
 * data, its certificates few and of known extensions, one signer with
 * known signed attributes, a message digest of its digest's size and an
 * RSA signature of its key's size. Returns NULL, or why.
 */
static const char *
ctl_unsigned_attrs(const PKCS7_SIGNER_INFO *si, unsigned *unknown)
{
	X509_ATTRIBUTE *attr;
	const ASN1_TYPE *v;
	const unsigned char *p, *start;
	const ASN1_OCTET_STRING *md_attr;
	const EVP_MD *md;
	char text[64];
	PKCS7 *p7 = NULL;
	PKCS7_SIGNED *sd;
	PKCS7_SIGNER_INFO *nsi;
	X509 *signer;
	struct pkix_key key;
	const char *why = "trust list signer's unsigned attributes unknown";
	long len;

	/* A stack that is not there counts -1. */
	if (sk_X509_ATTRIBUTE_num(si->unauth_attr) <= 0)
		return NULL;
	if (sk_X509_ATTRIBUTE_num(si->unauth_attr) != 1)
		return why;
	attr = sk_X509_ATTRIBUTE_value(si->unauth_attr, 0);
	if (OBJ_obj2txt(
	        text, sizeof(text), X509_ATTRIBUTE_get0_object(attr), 1) <= 0 ||
	    strcmp(text, CTL_NESTED_OID) != 0 ||
	    X509_ATTRIBUTE_count(attr) != 1 ||
	    (v = X509_ATTRIBUTE_get0_type(attr, 0)) == NULL ||
	    v->type != V_ASN1_SEQUENCE)
		return why;
	p = start = ASN1_STRING_get0_data(v->value.sequence);
	len = ASN1_STRING_length(v->value.sequence);
	why = "nested signature not of its shape";
	if (len > CTL_NESTED_MAX || !der_walk(p, (size_t)len, 64) ||
	    (p7 = d2i_PKCS7(NULL, &p, len)) == NULL || p != start + len ||
	    !PKCS7_type_is_signed(p7) || (sd = p7->d.sign) == NULL ||
	    sd->contents == NULL || !PKCS7_type_is_data(sd->contents) ||
	    sd->contents->d.data != NULL || sk_X509_CRL_num(sd->crl) > 0 ||
	    sk_X509_num(sd->cert) > CTL_MAX_SIGNER_CERTS ||
	    sk_PKCS7_SIGNER_INFO_num(sd->signer_info) != 1)
		goto done;
	for (int i = 0; i < sk_X509_num(sd->cert); i++)
		if ((why = pkix_cert_extensions(
		         sk_X509_value(sd->cert, i), unknown)) != NULL ||
		    (why = pkix_cert_key(sk_X509_value(sd->cert, i))) != NULL)
			goto done;
	why = "nested signature not of its shape";
	nsi = sk_PKCS7_SIGNER_INFO_value(sd->signer_info, 0);
	if (sk_X509_ATTRIBUTE_num(nsi->unauth_attr) > 0 ||
	    !ctl_known_signed_attrs(nsi) ||
	    (md = EVP_get_digestbyobj(nsi->digest_alg->algorithm)) == NULL ||
	    (md_attr = PKCS7_digest_from_attributes(nsi->auth_attr)) == NULL ||
	    ASN1_STRING_length(md_attr) != EVP_MD_get_size(md) ||
	    (signer = X509_find_by_issuer_and_serial(sd->cert,
	         nsi->issuer_and_serial->issuer,
	         nsi->issuer_and_serial->serial)) == NULL)
		goto done;
	pkix_key_of(signer, &key);
	if (key.type == PKIX_KEY_RSA &&
	    (size_t)ASN1_STRING_length(nsi->enc_digest) == key.bytes)
		why = NULL;
done:
	PKCS7_free(p7);
	return why;
}

/*
 * Checks the one signer of <sd>: known signed attributes only, its
 * content type the CTL's, its message digest that of the list's content
 * octets <content> (<len> bytes), at most the nested signature as an
 * unsigned attribute, and its signature valid for the key of its
 * certificate among <sd>'s. Sets *signer to that certificate.
 * Returns NULL, or why.
 */
static const char *
ctl_signer(const PKCS7_SIGNED *sd, const unsigned char *content, size_t len,
    X509 **signer, unsigned *unknown)
{
	PKCS7_SIGNER_INFO *si;
	const ASN1_OCTET_STRING *md_attr;
	const ASN1_TYPE *ct;
	const EVP_MD *md;
	unsigned char digest[EVP_MAX_MD_SIZE], *attrs = NULL;
	unsigned dlen = 0;
	EVP_MD_CTX *ctx = NULL;
	int alen;
	const char *why = NULL;

	*signer = NULL;
	if (sk_PKCS7_SIGNER_INFO_num(sd->signer_info) != 1)
		return "trust list without exactly one signer";
	si = sk_PKCS7_SIGNER_INFO_value(sd->signer_info, 0);
	if (!ctl_known_signed_attrs(si))
		return "trust list signed attribute unknown";
	if ((why = ctl_unsigned_attrs(si, unknown)) != NULL)
		return why;
	ct = PKCS7_get_signed_attribute(si, NID_pkcs9_contentType);
	if (ct == NULL || ct->type != V_ASN1_OBJECT ||
	    OBJ_length(ct->value.object) != sizeof(ctl_oid_ctl) ||
	    memcmp(OBJ_get0_data(ct->value.object), ctl_oid_ctl,
	        sizeof(ctl_oid_ctl)) != 0)
		return "trust list signed content type not a CTL";
	if ((md = EVP_get_digestbyobj(si->digest_alg->algorithm)) == NULL ||
	    (md_attr = PKCS7_digest_from_attributes(si->auth_attr)) == NULL ||
	    EVP_Digest(content, len, digest, &dlen, md, NULL) != 1 ||
	    (unsigned)ASN1_STRING_length(md_attr) != dlen ||
	    memcmp(ASN1_STRING_get0_data(md_attr), digest, dlen) != 0)
		return "trust list digest does not match its content";
	*signer = X509_find_by_issuer_and_serial(sd->cert,
	    si->issuer_and_serial->issuer, si->issuer_and_serial->serial);
	if (*signer == NULL)
		return "trust list signer's certificate not in it";
	/* The signature is over the signed attributes, as a SET OF. */
	alen = ASN1_item_i2d((const ASN1_VALUE *)si->auth_attr, &attrs,
	    ASN1_ITEM_rptr(PKCS7_ATTR_VERIFY));
	if (alen <= 0 || alen > CTL_SIGNED_ATTRS_MAX) {
		why = "trust list signed attributes too long";
	} else if ((ctx = EVP_MD_CTX_new()) == NULL ||
	    EVP_DigestVerifyInit(
	        ctx, NULL, md, NULL, X509_get0_pubkey(*signer)) != 1 ||
	    EVP_DigestVerify(ctx, ASN1_STRING_get0_data(si->enc_digest),
	        (size_t)ASN1_STRING_length(si->enc_digest), attrs,
	        (size_t)alen) != 1) {
		why = "trust list signature does not verify";
	}
	EVP_MD_CTX_free(ctx);
	OPENSSL_free(attrs);
	return why;
}

/* True when <signer> chains, through <certs>, to a CA of <known>. */
static bool
ctl_chains(X509 *signer, STACK_OF(X509) * certs, X509_STORE *known)
{
	X509_STORE_CTX *ctx;
	bool ok = false;

	if (known == NULL || (ctx = X509_STORE_CTX_new()) == NULL)
		return false;
	if (X509_STORE_CTX_init(ctx, known, signer, certs) == 1) {
		/* No clock here; a known intermediate is trust enough. */
		X509_STORE_CTX_set_flags(
		    ctx, X509_V_FLAG_NO_CHECK_TIME | X509_V_FLAG_PARTIAL_CHAIN);
		ok = X509_verify_cert(ctx) == 1;
	}
	X509_STORE_CTX_free(ctx);
	return ok;
}

const char *
ctl_pkcs7(const unsigned char *der, size_t len, X509_STORE *known,
    struct ctl_facts *f)
{
	const unsigned char *p = der;
	PKCS7 *p7 = NULL;
	PKCS7_SIGNED *sd;
	const ASN1_STRING *list;
	const unsigned char *content;
	size_t hlen, clen;
	unsigned tag;
	X509 *signer;
	const char *why = NULL;

	memset(f, 0, sizeof(*f));
	ERR_set_mark();
	if (der == NULL || len == 0 || len > LONG_MAX ||
	    !der_walk(der, len, 64) ||
	    (p7 = d2i_PKCS7(NULL, &p, (long)len)) == NULL ||
	    (size_t)(p - der) != len) {
		why = "not a DER PKCS#7";
		goto done;
	}
	if (!PKCS7_type_is_signed(p7) || (sd = p7->d.sign) == NULL) {
		why = "PKCS#7 not SignedData";
		goto done;
	}
	if (sd->contents == NULL || sd->contents->type == NULL ||
	    OBJ_length(sd->contents->type) != sizeof(ctl_oid_ctl) ||
	    memcmp(OBJ_get0_data(sd->contents->type), ctl_oid_ctl,
	        sizeof(ctl_oid_ctl)) != 0 ||
	    sd->contents->d.other == NULL ||
	    sd->contents->d.other->type != V_ASN1_SEQUENCE) {
		why = "PKCS#7 content not a certificate trust list";
		goto done;
	}
	if (sk_X509_CRL_num(sd->crl) > 0) {
		why = "trust list with CRLs";
		goto done;
	}
	if (sk_X509_num(sd->cert) > CTL_MAX_SIGNER_CERTS) {
		why = "trust list with more than 8 certificates";
		goto done;
	}
	for (int i = 0; i < sk_X509_num(sd->cert); i++)
		if ((why = pkix_cert_extensions(sk_X509_value(sd->cert, i),
		         &f->unknown_extensions)) != NULL ||
		    (why = pkix_cert_key(sk_X509_value(sd->cert, i))) != NULL)
			goto done;
	list = sd->contents->d.other->value.sequence;
	if ((why = ctl_list(ASN1_STRING_get0_data(list),
	         (size_t)ASN1_STRING_length(list), f)) != NULL)
		goto done;
	/* PKCS#7 1.5 9.3: the digest covers the content octets only. */
	content = ASN1_STRING_get0_data(list);
	if (der_header(content, (size_t)ASN1_STRING_length(list), &tag, &hlen,
	        &clen) == -1) {
		why = "trust list not DER";
		goto done;
	}
	if ((why = ctl_signer(sd, content + hlen, clen, &signer,
	         &f->unknown_extensions)) != NULL)
		goto done;
	f->verified = ctl_chains(signer, sd->cert, known);
done:
	PKCS7_free(p7);
	ERR_pop_to_mark();
	if (why != NULL)
		memset(f, 0, sizeof(*f));
	return why;
}

/* Little-endian reads. */
static uint16_t
ctl_u16(const unsigned char *p)
{
	return (uint16_t)(p[0] | p[1] << 8);
}

static uint32_t
ctl_u32(const unsigned char *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
	    (uint32_t)p[3] << 24;
}

/*
 * The CFDATA checksum of [MS-CAB] 2.6: the XOR of the data's
 * little-endian 32-bit words, its last 1 to 3 bytes taken as one value
 * with the first of them highest, seeded with <seed>.
 */
static uint32_t
ctl_cab_checksum(const unsigned char *p, size_t n, uint32_t seed)
{
	uint32_t csum = seed, ul = 0;
	size_t words = n / 4;

	for (size_t i = 0; i < words; i++)
		csum ^= ctl_u32(p + 4 * i);
	for (size_t i = words * 4; i < n; i++)
		ul = ul << 8 | p[i];
	return csum ^ ul;
}

/* Cabinet header and entry sizes ([MS-CAB] 2.2 to 2.4). */
#define CTL_CFHEADER  36
#define CTL_CFFOLDER  8
#define CTL_CFFILE    16
#define CTL_CFDATA    8
#define CTL_CAB_BLOCK 32768
#define CTL_CAB_NONE  0
#define CTL_CAB_MSZIP 1
#define CTL_CAB_ATTRS 0x27 /* read-only, hidden, system, archive */

/*
 * Inflates MSZIP block <in> (<n> bytes after its "CK") into <out>, to
 * exactly <want> bytes, with the <dict_len> bytes before <out> as the
 * dictionary. Returns 0, or -1.
 */
static int
ctl_inflate(const unsigned char *in, size_t n, unsigned char *out, size_t want,
    size_t dict_len)
{
	z_stream z;
	int rc;

	memset(&z, 0, sizeof(z));
	if (inflateInit2(&z, -MAX_WBITS) != Z_OK)
		return -1;
	if (dict_len > 0 &&
	    inflateSetDictionary(&z, out - dict_len, (uInt)dict_len) != Z_OK) {
		inflateEnd(&z);
		return -1;
	}
	z.next_in = (Bytef *)(uintptr_t)in;
	z.avail_in = (uInt)n;
	z.next_out = out;
	z.avail_out = (uInt)want;
	rc = inflate(&z, Z_FINISH);
	inflateEnd(&z);
	/* The whole block, to its end, into exactly <want> bytes. */
	return rc == Z_STREAM_END && z.avail_in == 0 && z.avail_out == 0 ? 0
	                                                                 : -1;
}

/* True when <a> (<n> bytes) is <b> but for ASCII case. */
static bool
ctl_same_name(const unsigned char *a, size_t n, const char *b)
{
	if (n != strlen(b))
		return false;
	for (size_t i = 0; i < n; i++) {
		unsigned char x = a[i], y = (unsigned char)b[i];

		if (x >= 'A' && x <= 'Z')
			x = (unsigned char)(x - 'A' + 'a');
		if (y >= 'A' && y <= 'Z')
			y = (unsigned char)(y - 'A' + 'a');
		if (x != y)
			return false;
	}
	return true;
}

const char *
ctl_cab(const unsigned char *body, size_t len, const char *inner, size_t max,
    X509_STORE *known, struct ctl_facts *f)
{
	static const unsigned char head[] = {'M', 'S', 'C', 'F', 0, 0, 0, 0};
	const unsigned char *p, *name;
	unsigned char *out = NULL;
	size_t off, name_len, got = 0;
	uint32_t cb_file, data_start;
	uint16_t nblocks, type;
	const char *why = NULL;

	memset(f, 0, sizeof(*f));
	if (body == NULL || len < CTL_CFHEADER + CTL_CFFOLDER + CTL_CFFILE ||
	    memcmp(body, head, sizeof(head)) != 0)
		return "not a cabinet file";
	/* CFHEADER: size, reserved zero, files at, version 1.3, 1 and 1. */
	if (ctl_u32(body + 8) != len)
		return "cabinet size does not match the body";
	if (ctl_u32(body + 12) != 0 || ctl_u32(body + 20) != 0 ||
	    body[24] != 3 || body[25] != 1)
		return "cabinet header not of its shape";
	if (ctl_u16(body + 26) != 1 || ctl_u16(body + 28) != 1)
		return "cabinet not of one folder and one file";
	/* No reserved areas, no previous or next cabinet; the first. */
	if (ctl_u16(body + 30) != 0 || ctl_u16(body + 34) != 0)
		return "cabinet with reserved areas or a set";
	if (ctl_u32(body + 16) != CTL_CFHEADER + CTL_CFFOLDER)
		return "cabinet file entry not after its folder";
	/* CFFOLDER */
	p = body + CTL_CFHEADER;
	data_start = ctl_u32(p);
	nblocks = ctl_u16(p + 4);
	type = ctl_u16(p + 6);
	if (type != CTL_CAB_NONE && type != CTL_CAB_MSZIP)
		return "cabinet compression neither none nor MSZIP";
	/* CFFILE: the one file, filling the folder from its start. */
	p = body + CTL_CFHEADER + CTL_CFFOLDER;
	cb_file = ctl_u32(p);
	if (ctl_u32(p + 4) != 0 || ctl_u16(p + 8) != 0 ||
	    (ctl_u16(p + 14) & ~CTL_CAB_ATTRS) != 0)
		return "cabinet file entry not of its shape";
	name = p + CTL_CFFILE;
	off = (size_t)(name - body);
	for (name_len = 0; off + name_len < len && name[name_len] != 0 &&
	     name_len <= CTL_CAB_FILE_MAX;
	     name_len++)
		continue;
	if (off + name_len >= len || name_len > CTL_CAB_FILE_MAX ||
	    !ctl_same_name(name, name_len, inner))
		return "cabinet file not the trust list its name implies";
	if (data_start != off + name_len + 1)
		return "cabinet data not after the file entry";
	if (cb_file == 0 || cb_file > max ||
	    nblocks != (cb_file + CTL_CAB_BLOCK - 1) / CTL_CAB_BLOCK)
		return "cabinet file size not its blocks'";
	if ((out = malloc(cb_file)) == NULL)
		return "out of memory";
	off = data_start;
	for (unsigned i = 0; i < nblocks; i++) {
		uint16_t cb_data, cb_uncomp;
		const unsigned char *d;
		size_t want;

		if (len - off < CTL_CFDATA) {
			why = "cabinet cut short";
			goto done;
		}
		d = body + off;
		cb_data = ctl_u16(d + 4);
		cb_uncomp = ctl_u16(d + 6);
		want = i + 1 < nblocks ? CTL_CAB_BLOCK : cb_file - got;
		if (cb_uncomp != want || len - off - CTL_CFDATA < cb_data) {
			why = "cabinet block not of its size";
			goto done;
		}
		if (ctl_u32(d) !=
		    ctl_cab_checksum(d + 4, 4,
		        ctl_cab_checksum(d + CTL_CFDATA, cb_data, 0))) {
			why = "cabinet block checksum wrong";
			goto done;
		}
		if (type == CTL_CAB_NONE) {
			if (cb_data != cb_uncomp) {
				why = "cabinet block not of its size";
				goto done;
			}
			memcpy(out + got, d + CTL_CFDATA, cb_data);
		} else if (cb_data < 2 || d[CTL_CFDATA] != 'C' ||
		    d[CTL_CFDATA + 1] != 'K' ||
		    ctl_inflate(d + CTL_CFDATA + 2, cb_data - 2u, out + got,
		        want,
		        got < CTL_CAB_BLOCK ? got : CTL_CAB_BLOCK) == -1) {
			why = "cabinet block not MSZIP";
			goto done;
		}
		got += want;
		off += CTL_CFDATA + cb_data;
	}
	if (off != len) {
		why = "bytes after the cabinet's blocks";
		goto done;
	}
	why = ctl_pkcs7(out, cb_file, known, f);
done:
	free(out);
	return why;
}

/* Serialized store elements ([MS-CRTD]; Wine's crypt32 serialize.c). */
#define CTL_STORE_MAGIC_LEN 8
#define CTL_STORE_ELEMENT   12 /* property ID, encoding type, length */
#define CTL_PROP_CERT       32 /* CERT_CERT_PROP_ID: the certificate */

/* The certificate properties a root store carries, and their bounds. */
enum ctl_prop_check {
	CTL_PROP_SHA1 = 0,
	CTL_PROP_MD5,
	CTL_PROP_SHA256,
	CTL_PROP_NAME_MD5,
	CTL_PROP_KEY_ID,
	CTL_PROP_TEXT,
	CTL_PROP_OIDS,
	CTL_PROP_DER,
	CTL_PROP_FILETIME
};

static const struct {
	uint32_t id;
	enum ctl_prop_check check;
} ctl_props[] = {
    {3, CTL_PROP_SHA1},       /* CERT_SHA1_HASH_PROP_ID */
    {4, CTL_PROP_MD5},        /* CERT_MD5_HASH_PROP_ID */
    {9, CTL_PROP_OIDS},       /* CERT_ENHKEY_USAGE_PROP_ID */
    {11, CTL_PROP_TEXT},      /* CERT_FRIENDLY_NAME_PROP_ID */
    {20, CTL_PROP_KEY_ID},    /* CERT_KEY_IDENTIFIER_PROP_ID */
    {29, CTL_PROP_NAME_MD5},  /* CERT_SUBJECT_NAME_MD5_HASH_PROP_ID */
    {83, CTL_PROP_DER},       /* CERT_ROOT_PROGRAM_CERT_POLICIES_PROP_ID */
    {98, CTL_PROP_SHA256},    /* CERT_AUTH_ROOT_SHA256_HASH_PROP_ID */
    {104, CTL_PROP_FILETIME}, /* CERT_DISALLOWED_FILETIME_PROP_ID */
    {105, CTL_PROP_DER},      /* CERT_ROOT_PROGRAM_CHAIN_POLICIES_PROP_ID */
    {122, CTL_PROP_OIDS},     /* CERT_DISALLOWED_ENHKEY_USAGE_PROP_ID */
    {126, CTL_PROP_FILETIME}, /* CERT_NOT_BEFORE_FILETIME_PROP_ID */
    {127, CTL_PROP_OIDS},     /* CERT_NOT_BEFORE_ENHKEY_USAGE_PROP_ID */
};

#define CTL_NPROPS       (sizeof(ctl_props) / sizeof(ctl_props[0]))
#define CTL_PROP_DER_MAX 1024
#define CTL_NAME_MAX     512 /* bytes of UTF-16 friendly name */
#define CTL_OIDS_MAX     32

bool
ctl_is_store(const unsigned char *body, size_t len)
{
	static const unsigned char magic[CTL_STORE_MAGIC_LEN] = {
	    0, 0, 0, 0, 'C', 'E', 'R', 'T'};

	return body != NULL && len >= sizeof(magic) &&
	    memcmp(body, magic, sizeof(magic)) == 0;
}

/* True when <v> (<n> bytes) is the <md> hash of <data> (<len> bytes). */
static bool
ctl_hash_is(const unsigned char *v, size_t n, const EVP_MD *md,
    const unsigned char *data, size_t len)
{
	unsigned char h[EVP_MAX_MD_SIZE];
	unsigned hlen = 0;

	return EVP_Digest(data, len, h, &hlen, md, NULL) == 1 && n == hlen &&
	    memcmp(v, h, hlen) == 0;
}

/* A DER SEQUENCE of 1..CTL_OIDS_MAX OIDs and nothing else. */
static bool
ctl_oid_list(const unsigned char *v, size_t n)
{
	const unsigned char *p = v, *q;
	size_t m;
	struct ctl_tlv seq, oid;
	unsigned count = 0;

	if (ctl_next(&p, &n, &seq) == -1 || seq.tag != CTL_SEQUENCE || n != 0)
		return false;
	q = seq.content;
	m = seq.len;
	while (m > 0)
		if (ctl_next(&q, &m, &oid) == -1 || oid.tag != CTL_OID ||
		    oid.len == 0 || ++count > CTL_OIDS_MAX)
			return false;
	return count > 0;
}

/* A friendly name: printable UTF-16LE, NUL-terminated. */
static bool
ctl_text(const unsigned char *v, size_t n)
{
	if (n < 2 || n % 2 != 0 || n > CTL_NAME_MAX || v[n - 2] != 0 ||
	    v[n - 1] != 0)
		return false;
	for (size_t i = 0; i + 2 < n; i += 2) {
		uint16_t c = ctl_u16(v + i);

		if (c < 0x20 || c == 0x7f || (c >= 0xd800 && c <= 0xdfff))
			return false;
	}
	return true;
}

/*
 * Checks property <k> of ctl_props, value <v> (<n> bytes), against
 * certificate <c>. Returns NULL, or why.
 */
static const char *
ctl_prop(size_t k, const unsigned char *v, size_t n, const struct pkix_cert *c)
{
	unsigned char kid[EVP_MAX_MD_SIZE];
	unsigned klen = 0;
	bool ok = false;

	switch (ctl_props[k].check) {
	case CTL_PROP_SHA1:
		ok = ctl_hash_is(v, n, EVP_sha1(), c->der.p, c->der.len);
		break;
	case CTL_PROP_MD5:
		ok = ctl_hash_is(v, n, EVP_md5(), c->der.p, c->der.len);
		break;
	case CTL_PROP_SHA256:
		ok = ctl_hash_is(v, n, EVP_sha256(), c->der.p, c->der.len);
		break;
	case CTL_PROP_NAME_MD5:
		ok = ctl_hash_is(v, n, EVP_md5(), c->subject.p, c->subject.len);
		break;
	case CTL_PROP_KEY_ID:
		/*
		 * CryptoAPI's key identifier: the subjectKeyIdentifier, else
		 * the SHA-1 of the encoded SubjectPublicKeyInfo (as every
		 * entry of Microsoft's authroot.stl has it).
		 */
		if (c->ski_len > 0)
			ok = n == c->ski_len && memcmp(v, c->ski, n) == 0;
		else
			ok = EVP_Digest(c->spki.p, c->spki.len, kid, &klen,
			         EVP_sha1(), NULL) == 1 &&
			    n == klen && memcmp(v, kid, klen) == 0;
		break;
	case CTL_PROP_TEXT:
		ok = ctl_text(v, n);
		break;
	case CTL_PROP_OIDS:
		ok = n <= CTL_PROP_DER_MAX && ctl_oid_list(v, n);
		break;
	case CTL_PROP_DER:
		ok = n > 0 && n <= CTL_PROP_DER_MAX && v[0] == CTL_SEQUENCE &&
		    der_walk(v, n, 32);
		break;
	case CTL_PROP_FILETIME:
		ok = n == 8;
		break;
	}
	return ok ? NULL : "certificate store property not the certificate's";
}

const char *
ctl_store(const unsigned char *body, size_t len, struct ctl_facts *f)
{
	/* Each certificate's properties wait for it: offset, length. */
	size_t pending_off[CTL_NPROPS], pending_len[CTL_NPROPS];
	bool pending[CTL_NPROPS];
	size_t off = CTL_STORE_MAGIC_LEN;
	const char *why = NULL;

	memset(f, 0, sizeof(*f));
	memset(pending, 0, sizeof(pending));
	if (!ctl_is_store(body, len))
		return "not a serialized certificate store";
	ERR_set_mark();
	for (;;) {
		uint32_t id, enc, cb;
		size_t k;

		if (len - off < CTL_STORE_ELEMENT) {
			why = "certificate store cut short";
			break;
		}
		id = ctl_u32(body + off);
		enc = ctl_u32(body + off + 4);
		cb = ctl_u32(body + off + 8);
		off += CTL_STORE_ELEMENT;
		if (id == 0 && enc == 0 && cb == 0) {
			/* The end: after a certificate, and nothing after. */
			for (k = 0; k < CTL_NPROPS; k++)
				if (pending[k])
					why = "certificate store property "
					      "without its certificate";
			if (why == NULL && f->entries == 0)
				why = "certificate store without a "
				      "certificate";
			if (why == NULL && off != len)
				why = "bytes after the certificate store";
			break;
		}
		if (enc != 1 || cb > len - off) {
			why = "certificate store element not of its shape";
			break;
		}
		if (id == CTL_PROP_CERT) {
			struct pkix_cert c;

			if ((why = pkix_cert_parse(body + off, cb, &c,
			         &f->unknown_extensions)) != NULL)
				break;
			for (k = 0; why == NULL && k < CTL_NPROPS; k++)
				if (pending[k])
					why = ctl_prop(k, body + pending_off[k],
					    pending_len[k], &c);
			if (why != NULL)
				break;
			memset(pending, 0, sizeof(pending));
			f->entries++;
		} else {
			for (k = 0; k < CTL_NPROPS; k++)
				if (ctl_props[k].id == id)
					break;
			if (k == CTL_NPROPS) {
				why = "certificate store element not a "
				      "certificate or a known property";
				break;
			}
			if (pending[k]) {
				why = "certificate store property repeated";
				break;
			}
			pending[k] = true;
			pending_off[k] = off;
			pending_len[k] = cb;
		}
		off += cb;
	}
	ERR_pop_to_mark();
	if (why != NULL)
		memset(f, 0, sizeof(*f));
	return why;
}
