/*
 * The rules for what certificates, CRLs and signatures inside an answer
 * may carry: known extensions decoded by their definitions and bounded,
 * unknown ones small, few and counted, and signatures of the length
 * their algorithm gives. Shared by the OCSP and fetch inspectors.
 * Pure: no I/O, no logging, no clock, no globals. OpenSSL's error queue
 * is left as it was found.
 */
#include <limits.h>
#include <stdint.h>
#include <string.h>

#include <openssl/asn1.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/objects.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "ocspgate/der.h"
#include "ocspgate/memo.h"
#include "ocspgate/pkix.h"

#define PKIX_OID_TEXT_MAX   80
#define PKIX_DER_DEPTH      32
#define PKIX_PSS_PARAMS_MAX 64   /* RSASSA-PSS-params with SHA-2 and MGF1 */
#define PKIX_RSA_MIN        128  /* octets: 1024-bit keys, as old roots use */
#define PKIX_RSA_MAX        1024 /* octets: 8192-bit keys */
#define PKIX_EC_INT_MAX     66   /* octets of r or s: P-521 */
#define PKIX_RSA_EXP_MAX    8    /* octets of a public exponent (65537: 3) */
#define PKIX_KEY_ALG_MAX    96   /* a key's AlgorithmIdentifier, but DSA's */
#define PKIX_DSA_ALG_MAX    1024 /* DSA's p, q and g: 3072-bit p */
#define PKIX_ED25519_KEY    32
#define PKIX_ED448_KEY      57
#define PKIX_ED25519_SIG    64
#define PKIX_ED448_SIG      114

/* One known extension: by NID, or (NID_undef) by dotted OID. */
struct pkix_known {
	int nid;
	const char *oid;
};

/*
 * Certificate extensions: RFC 5280 4.2 and its successors (qcStatements
 * RFC 3739, TLS feature RFC 7633, OCSP no-check RFC 6960 4.2.2.2.1, CT
 * RFC 6962), Netscape's and Microsoft's as real CA certificates carry
 * them (CA version 1.3.6.1.4.1.311.21.1, previous CA hash .21.2,
 * template name .20.2, template .21.7, application policies .21.10,
 * NTDS security .25.2), and those still in Microsoft's root store
 * (Entrust version 1.2.840.113533.7.65.0, SET hashed root 2.23.42.7.0,
 * the old AKI 2.5.29.1, logotype 1.3.6.1.5.5.7.1.12), and those of the
 * certificates its disallowed store lists (the X.509 drafts' key usage
 * restriction 2.5.29.4 and basic constraints 2.5.29.10, Authenticode's
 * agency information 1.3.6.1.4.1.311.2.1.10 and .27).
 */
static const struct pkix_known pkix_cert_known[] = {
    {NID_subject_key_identifier, NULL},
    {NID_key_usage, NULL},
    {NID_private_key_usage_period, NULL},
    {NID_subject_alt_name, NULL},
    {NID_issuer_alt_name, NULL},
    {NID_basic_constraints, NULL},
    {NID_name_constraints, NULL},
    {NID_crl_distribution_points, NULL},
    {NID_certificate_policies, NULL},
    {NID_policy_mappings, NULL},
    {NID_authority_key_identifier, NULL},
    {NID_policy_constraints, NULL},
    {NID_ext_key_usage, NULL},
    {NID_freshest_crl, NULL},
    {NID_inhibit_any_policy, NULL},
    {NID_subject_directory_attributes, NULL},
    {NID_info_access, NULL},
    {NID_sinfo_access, NULL},
    {NID_qcStatements, NULL},
    {NID_tlsfeature, NULL},
    {NID_id_pkix_OCSP_noCheck, NULL},
    {NID_ct_precert_scts, NULL},
    {NID_ct_precert_poison, NULL},
    {NID_netscape_cert_type, NULL},
    {NID_netscape_comment, NULL},
    {NID_undef, "1.3.6.1.4.1.311.21.1"},
    {NID_undef, "1.3.6.1.4.1.311.21.2"},
    {NID_undef, "1.3.6.1.4.1.311.20.2"},
    {NID_undef, "1.3.6.1.4.1.311.21.7"},
    {NID_undef, "1.3.6.1.4.1.311.21.10"},
    {NID_undef, "1.3.6.1.4.1.311.25.2"},
    {NID_undef, "1.2.840.113533.7.65.0"},
    {NID_undef, "2.23.42.7.0"},
    {NID_undef, "2.5.29.1"},
    {NID_undef, "1.3.6.1.5.5.7.1.12"},
    /* Old X.509 drafts' and Authenticode's, in disallowed certificates. */
    {NID_undef, "2.5.29.4"},
    {NID_undef, "2.5.29.10"},
    {NID_undef, "1.3.6.1.4.1.311.2.1.10"},
    {NID_undef, "1.3.6.1.4.1.311.2.1.27"},
};

/*
 * CRL extensions: RFC 5280 5.2 (and expiredCertsOnCRL, X.509 2.5.29.60)
 * and what Active Directory Certificate Services writes (CA version,
 * next CRL publish .21.4, CRL self CDP .21.14, virtual base .21.3).
 */
static const struct pkix_known pkix_crl_known[] = {
    {NID_authority_key_identifier, NULL},
    {NID_issuer_alt_name, NULL},
    {NID_crl_number, NULL},
    {NID_delta_crl, NULL},
    {NID_issuing_distribution_point, NULL},
    {NID_freshest_crl, NULL},
    {NID_info_access, NULL},
    {NID_undef, "2.5.29.60"},
    {NID_undef, "1.3.6.1.4.1.311.21.1"},
    {NID_undef, "1.3.6.1.4.1.311.21.4"},
    {NID_undef, "1.3.6.1.4.1.311.21.14"},
    {NID_undef, "1.3.6.1.4.1.311.21.3"},
};

/* CRL entry extensions: RFC 5280 5.3. */
static const struct pkix_known pkix_entry_known[] = {
    {NID_crl_reason, NULL},
    {NID_invalidity_date, NULL},
    {NID_certificate_issuer, NULL},
    {NID_hold_instruction_code, NULL},
};

/* True when <obj> is in <table> (<n> rows). */
static bool
pkix_is_known(const ASN1_OBJECT *obj, const struct pkix_known *table, size_t n)
{
	char text[PKIX_OID_TEXT_MAX];
	int nid = OBJ_obj2nid(obj);
	bool have_text = false;

	for (size_t i = 0; i < n; i++) {
		if (table[i].nid != NID_undef) {
			if (table[i].nid == nid)
				return true;
			continue;
		}
		if (!have_text) {
			int len = OBJ_obj2txt(text, sizeof(text), obj, 1);

			if (len <= 0 || (size_t)len >= sizeof(text))
				return false;
			have_text = true;
		}
		if (strcmp(text, table[i].oid) == 0)
			return true;
	}
	return false;
}

bool
pkix_extension_decodes(const X509_EXTENSION *ext)
{
	/* X509V3_EXT_get() takes a non-const extension but reads it only. */
	X509_EXTENSION *e = (X509_EXTENSION *)(uintptr_t)ext;
	const X509V3_EXT_METHOD *m = X509V3_EXT_get(e);
	const ASN1_OCTET_STRING *v = X509_EXTENSION_get_data(e);
	const unsigned char *data = ASN1_STRING_get0_data(v), *p = data;
	long len = ASN1_STRING_length(v);
	unsigned char *enc = NULL;
	void *value = NULL;
	bool ok = false;
	int n = -1;

	if (m == NULL)
		return der_walk(data, (size_t)len, PKIX_DER_DEPTH);
	if (m->it != NULL) {
		const ASN1_ITEM *it = ASN1_ITEM_ptr(m->it);

		value = ASN1_item_d2i(NULL, &p, len, it);
		if (value != NULL && p == data + len)
			n = ASN1_item_i2d(value, &enc, it);
		ASN1_item_free(value, it);
	} else if (m->d2i != NULL && m->i2d != NULL && m->ext_free != NULL) {
		value = m->d2i(NULL, &p, len);
		if (value != NULL && p == data + len)
			n = m->i2d(value, &enc);
		if (value != NULL)
			m->ext_free(value);
	} else {
		return der_walk(data, (size_t)len, PKIX_DER_DEPTH);
	}
	ok = n == len && memcmp(enc, data, (size_t)len) == 0;
	OPENSSL_free(enc);
	return ok;
}

/*
 * Checks extensions <exts> (may be NULL) against <known> (<n> rows).
 * Returns NULL, or the detail of the rule broken.
 */
static const char *
pkix_extensions(const STACK_OF(X509_EXTENSION) * exts,
    const struct pkix_known *known, size_t n, unsigned *unknown)
{
	int count = sk_X509_EXTENSION_num(exts);
	unsigned here = 0;

	for (int i = 0; i < count; i++) {
		const X509_EXTENSION *ext = sk_X509_EXTENSION_value(exts, i);
		const ASN1_OBJECT *obj =
		    X509_EXTENSION_get_object((X509_EXTENSION *)(uintptr_t)ext);
		int len = ASN1_STRING_length(
		    X509_EXTENSION_get_data((X509_EXTENSION *)(uintptr_t)ext));

		for (int k = 0; k < i; k++)
			if (OBJ_cmp(obj,
			        X509_EXTENSION_get_object(
			            sk_X509_EXTENSION_value(exts, k))) == 0)
				return "extension repeated";
		if (pkix_is_known(obj, known, n)) {
			if (len > PKIX_KNOWN_EXT_MAX)
				return "extension over 16 KiB";
			if (pkix_extension_decodes(ext))
				continue;
			/*
			 * Old certificates still in Microsoft's stores encode
			 * some known extensions loosely: such a value is
			 * held to the bounds of an unknown one.
			 */
		}
		if (len > PKIX_UNKNOWN_EXT_MAX)
			return "unknown extension over 256 bytes";
		if (++here > PKIX_UNKNOWN_EXT_COUNT)
			return "more than 4 unknown extensions";
	}
	if (unknown != NULL)
		*unknown += here;
	return NULL;
}

const char *
pkix_cert_extensions(const X509 *x, unsigned *unknown)
{
	const char *why;

	ERR_set_mark();
	why = pkix_extensions(X509_get0_extensions(x), pkix_cert_known,
	    sizeof(pkix_cert_known) / sizeof(pkix_cert_known[0]), unknown);
	ERR_pop_to_mark();
	return why;
}

const char *
pkix_crl_extensions(const X509_CRL *crl, unsigned *unknown)
{
	STACK_OF(X509_REVOKED) * revoked;
	const char *why;
	unsigned n = 0;

	ERR_set_mark();
	why = pkix_extensions(X509_CRL_get0_extensions(crl), pkix_crl_known,
	    sizeof(pkix_crl_known) / sizeof(pkix_crl_known[0]), &n);
	/* X509_CRL_get_REVOKED() takes a non-const CRL but reads it only. */
	revoked = X509_CRL_get_REVOKED((X509_CRL *)(uintptr_t)crl);
	for (int i = 0; why == NULL && i < sk_X509_REVOKED_num(revoked); i++)
		why = pkix_extensions(X509_REVOKED_get0_extensions(
		                          sk_X509_REVOKED_value(revoked, i)),
		    pkix_entry_known,
		    sizeof(pkix_entry_known) / sizeof(pkix_entry_known[0]), &n);
	ERR_pop_to_mark();
	if (why == NULL && unknown != NULL)
		*unknown += n;
	return why;
}

/*
 * Checks one INTEGER of an ECDSA or DSA signature at <p> (<n> bytes
 * left): positive, minimal, at most <max> content octets. Returns the
 * bytes it takes, or 0.
 */
static size_t
pkix_sig_integer(const unsigned char *p, size_t n, size_t max)
{
	unsigned tag;
	size_t hlen, clen;

	if (der_header(p, n, &tag, &hlen, &clen) == -1 || tag != 0x02 ||
	    clen == 0 || clen > max)
		return 0;
	p += hlen;
	/* Positive: no sign bit; minimal: no needless leading zero. */
	if ((p[0] & 0x80) != 0 || (clen > 1 && p[0] == 0 && p[1] < 0x80))
		return 0;
	return hlen + clen;
}

/* An ECDSA or DSA signature value: SEQUENCE { r, s }. */
static const char *
pkix_sig_pair(const unsigned char *p, size_t n, size_t max)
{
	unsigned tag;
	size_t hlen, clen, a, b;

	if (der_header(p, n, &tag, &hlen, &clen) == -1 || tag != 0x30 ||
	    hlen + clen != n)
		return "signature not a DER pair of integers";
	p += hlen;
	if ((a = pkix_sig_integer(p, clen, max)) == 0 ||
	    (b = pkix_sig_integer(p + a, clen - a, max)) == 0 || a + b != clen)
		return "signature not a DER pair of integers";
	return NULL;
}

/* The signature algorithms known here, by the key type they take. */
enum pkix_sig_kind {
	PKIX_SIG_NONE = 0,
	PKIX_SIG_RSA,
	PKIX_SIG_PSS,
	PKIX_SIG_ECDSA,
	PKIX_SIG_DSA,
	PKIX_SIG_ED25519,
	PKIX_SIG_ED448
};

static enum pkix_sig_kind
pkix_sig_kind(int nid)
{
	switch (nid) {
	case NID_md2WithRSAEncryption:
	case NID_md5WithRSAEncryption:
	case NID_sha1WithRSA: /* OIW's 1.3.14.3.2.29, in old certificates */
	case NID_sha1WithRSAEncryption:
	case NID_sha224WithRSAEncryption:
	case NID_sha256WithRSAEncryption:
	case NID_sha384WithRSAEncryption:
	case NID_sha512WithRSAEncryption:
		return PKIX_SIG_RSA;
	case NID_rsassaPss:
		return PKIX_SIG_PSS;
	case NID_ecdsa_with_SHA1:
	case NID_ecdsa_with_SHA224:
	case NID_ecdsa_with_SHA256:
	case NID_ecdsa_with_SHA384:
	case NID_ecdsa_with_SHA512:
		return PKIX_SIG_ECDSA;
	case NID_dsaWithSHA1:
	case NID_dsa_with_SHA224:
	case NID_dsa_with_SHA256:
		return PKIX_SIG_DSA;
	case NID_ED25519:
		return PKIX_SIG_ED25519;
	case NID_ED448:
		return PKIX_SIG_ED448;
	default:
		return PKIX_SIG_NONE;
	}
}

/*
 * The rules of pkix_signature_fits() on what both callers read: the
 * algorithm's <kind>, its parameters (<ptype>, an ASN1_TYPE type or
 * V_ASN1_UNDEF; for a SEQUENCE its whole TLV <params>, <plen> bytes),
 * the BIT STRING's unused bits <unused> and its value <s> (<n> bytes).
 */
static const char *
pkix_signature_judge(enum pkix_sig_kind kind, int ptype,
    const unsigned char *params, size_t plen, unsigned unused,
    const unsigned char *s, size_t n, const struct pkix_key *key)
{
	size_t order;
	enum pkix_key_type have = key != NULL ? key->type : PKIX_KEY_UNKNOWN;

	if (kind == PKIX_SIG_NONE)
		return "unknown signature algorithm";
	/* RSA takes NULL parameters (RFC 4055 allows none), PSS its own. */
	if (kind == PKIX_SIG_RSA) {
		if (ptype != V_ASN1_UNDEF && ptype != V_ASN1_NULL)
			return "signature algorithm parameters not NULL";
	} else if (kind == PKIX_SIG_PSS) {
		if (ptype != V_ASN1_SEQUENCE || plen > PKIX_PSS_PARAMS_MAX ||
		    !der_walk(params, plen, PKIX_DER_DEPTH))
			return "RSASSA-PSS parameters not of their shape";
	} else if (ptype != V_ASN1_UNDEF) {
		return "signature algorithm with parameters";
	}
	if (unused != 0)
		return "signature with unused bits";
	switch (kind) {
	case PKIX_SIG_RSA:
	case PKIX_SIG_PSS:
		if (have != PKIX_KEY_UNKNOWN) {
			if (have != PKIX_KEY_RSA)
				return "signature algorithm not the key's";
			if (n != key->bytes)
				return "signature length not the key's";
		} else if (n < PKIX_RSA_MIN || n > PKIX_RSA_MAX || n % 8 != 0) {
			return "signature length not an RSA key's";
		}
		return NULL;
	case PKIX_SIG_ECDSA:
	case PKIX_SIG_DSA:
		order = PKIX_EC_INT_MAX;
		if (have != PKIX_KEY_UNKNOWN) {
			if (have !=
			    (kind == PKIX_SIG_ECDSA ? PKIX_KEY_EC
			                            : PKIX_KEY_DSA))
				return "signature algorithm not the key's";
			/* The order's octets, plus one for a sign octet. */
			if (key->bytes > 0)
				order = key->bytes + 1;
		}
		return pkix_sig_pair(s, n, order);
	case PKIX_SIG_ED25519:
		if (have != PKIX_KEY_UNKNOWN && have != PKIX_KEY_ED25519)
			return "signature algorithm not the key's";
		return n == PKIX_ED25519_SIG ? NULL
		                             : "signature length not Ed25519's";
	case PKIX_SIG_ED448:
		if (have != PKIX_KEY_UNKNOWN && have != PKIX_KEY_ED448)
			return "signature algorithm not the key's";
		return n == PKIX_ED448_SIG ? NULL
		                           : "signature length not Ed448's";
	case PKIX_SIG_NONE:
		break;
	}
	return "unknown signature algorithm";
}

const char *
pkix_signature_fits(const X509_ALGOR *alg, const ASN1_BIT_STRING *sig,
    const struct pkix_key *key)
{
	const ASN1_OBJECT *obj;
	const void *pval;
	const ASN1_STRING *params = NULL;
	int ptype;
	unsigned unused = 0;

	if (alg == NULL || sig == NULL)
		return "no signature";
	X509_ALGOR_get0(&obj, &ptype, &pval, alg);
	if (ptype == V_ASN1_SEQUENCE)
		params = pval;
	if ((sig->flags & ASN1_STRING_FLAG_BITS_LEFT) != 0)
		unused = (unsigned)(sig->flags & 0x07);
	return pkix_signature_judge(pkix_sig_kind(OBJ_obj2nid(obj)), ptype,
	    params != NULL ? ASN1_STRING_get0_data(params) : NULL,
	    params != NULL ? (size_t)ASN1_STRING_length(params) : 0, unused,
	    ASN1_STRING_get0_data(sig), (size_t)ASN1_STRING_length(sig), key);
}

/* The signature algorithms of pkix_sig_kind(), by OID content octets. */
#define PKIX_RSA_ALG(k)   0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, (k)
#define PKIX_ECDSA_ALG(k) 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x04, (k)
static const struct {
	unsigned char oid[9];
	size_t len;
	enum pkix_sig_kind kind;
} pkix_sig_oids[] = {
    {{PKIX_RSA_ALG(0x0b)}, 9, PKIX_SIG_RSA}, /* sha256WithRSAEncryption */
    {{PKIX_ECDSA_ALG(0x03), 0x02}, 8, PKIX_SIG_ECDSA}, /* with SHA-256 */
    {{PKIX_ECDSA_ALG(0x03), 0x03}, 8, PKIX_SIG_ECDSA}, /* with SHA-384 */
    {{PKIX_RSA_ALG(0x05)}, 9, PKIX_SIG_RSA},           /* sha1WithRSA... */
    {{PKIX_RSA_ALG(0x0c)}, 9, PKIX_SIG_RSA},           /* sha384WithRSA... */
    {{PKIX_RSA_ALG(0x0d)}, 9, PKIX_SIG_RSA},           /* sha512WithRSA... */
    {{PKIX_RSA_ALG(0x0e)}, 9, PKIX_SIG_RSA},           /* sha224WithRSA... */
    {{PKIX_RSA_ALG(0x0a)}, 9, PKIX_SIG_PSS},           /* rsassaPss */
    {{PKIX_RSA_ALG(0x02)}, 9, PKIX_SIG_RSA},           /* md2WithRSA... */
    {{PKIX_RSA_ALG(0x04)}, 9, PKIX_SIG_RSA},           /* md5WithRSA... */
    {{0x2b, 0x0e, 0x03, 0x02, 0x1d}, 5, PKIX_SIG_RSA}, /* OIW sha1WithRSA */
    {{PKIX_ECDSA_ALG(0x01)}, 7, PKIX_SIG_ECDSA},       /* with SHA-1 */
    {{PKIX_ECDSA_ALG(0x03), 0x01}, 8, PKIX_SIG_ECDSA}, /* with SHA-224 */
    {{PKIX_ECDSA_ALG(0x03), 0x04}, 8, PKIX_SIG_ECDSA}, /* with SHA-512 */
    {{0x2a, 0x86, 0x48, 0xce, 0x38, 0x04, 0x03}, 7, PKIX_SIG_DSA},
    {{0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x03, 0x01}, 9, PKIX_SIG_DSA},
    {{0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x03, 0x02}, 9, PKIX_SIG_DSA},
    {{0x2b, 0x65, 0x70}, 3, PKIX_SIG_ED25519},
    {{0x2b, 0x65, 0x71}, 3, PKIX_SIG_ED448},
};

/*
 * Reads what pkix_signature_fits() takes from OpenSSL's objects straight
 * from the DER: parameters absent, NULL, or a SEQUENCE kept whole (as
 * OpenSSL keeps one); the unused-bits octet of the BIT STRING.
 */
const char *
pkix_signature_fits_der(const unsigned char *alg, size_t alg_len,
    const unsigned char *sig, size_t sig_len, const struct pkix_key *key)
{
	struct der_cursor a = {alg, alg_len}, oid, params;
	enum pkix_sig_kind kind = PKIX_SIG_NONE;
	const unsigned char *whole;
	int ptype = V_ASN1_UNDEF;

	if (der_next(&a, 0x06, &oid) == -1 || sig_len == 0)
		return "no signature";
	for (size_t i = 0; i < sizeof(pkix_sig_oids) / sizeof(pkix_sig_oids[0]);
	     i++)
		if (oid.n == pkix_sig_oids[i].len &&
		    memcmp(oid.p, pkix_sig_oids[i].oid, oid.n) == 0)
			kind = pkix_sig_oids[i].kind;
	whole = a.p;
	if (der_next(&a, 0x05, &params) == 0 && params.n == 0)
		ptype = V_ASN1_NULL;
	else if (der_next(&a, 0x30, NULL) == 0)
		ptype = V_ASN1_SEQUENCE;
	if (a.n != 0)
		return "no signature";
	return pkix_signature_judge(kind, ptype, whole, (size_t)(a.p - whole),
	    sig[0], sig + 1, sig_len - 1, key);
}

void
pkix_key_of(const X509 *x, struct pkix_key *key)
{
	EVP_PKEY *k = X509_get0_pubkey(x);

	memset(key, 0, sizeof(*key));
	if (k == NULL)
		return;
	switch (EVP_PKEY_get_base_id(k)) {
	case EVP_PKEY_RSA:
	case EVP_PKEY_RSA_PSS:
		key->type = PKIX_KEY_RSA;
		key->bytes = (size_t)EVP_PKEY_get_size(k);
		break;
	case EVP_PKEY_EC:
		key->type = PKIX_KEY_EC;
		key->bytes = ((size_t)EVP_PKEY_get_bits(k) + 7) / 8;
		break;
	case EVP_PKEY_DSA:
		key->type = PKIX_KEY_DSA;
		break;
	case EVP_PKEY_ED25519:
		key->type = PKIX_KEY_ED25519;
		break;
	case EVP_PKEY_ED448:
		key->type = PKIX_KEY_ED448;
		break;
	default:
		break;
	}
}

/* Key algorithm and curve OIDs (content octets) a certificate may hold. */
static const unsigned char pkix_oid_rsa[] = {
    0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x01};
static const unsigned char pkix_oid_rsa_pss[] = {
    0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x0a};
static const unsigned char pkix_oid_ec[] = {
    0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01};
static const unsigned char pkix_oid_dsa[] = {
    0x2a, 0x86, 0x48, 0xce, 0x38, 0x04, 0x01};
static const unsigned char pkix_oid_ed25519[] = {0x2b, 0x65, 0x70};
static const unsigned char pkix_oid_ed448[] = {0x2b, 0x65, 0x71};
static const struct {
	unsigned char oid[8];
	size_t len;
	size_t order;
} pkix_curves[] = {
    {{0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07}, 8, 32}, /* P-256 */
    {{0x2b, 0x81, 0x04, 0x00, 0x22}, 5, 48},                   /* P-384 */
    {{0x2b, 0x81, 0x04, 0x00, 0x23}, 5, 66},                   /* P-521 */
};

/* True when the <n> bytes at <p> are <oid>. */
static bool
pkix_oid_is(
    const unsigned char *p, size_t n, const unsigned char *oid, size_t len)
{
	return n == len && memcmp(p, oid, len) == 0;
}

/*
 * Reads one TLV of <want> (tag octet) at *p, *n bytes left; moves past
 * it. Returns 0 with <whole> (the TLV) and <content> set, or -1.
 */
static int
pkix_next(const unsigned char **p, size_t *n, unsigned want,
    struct pkix_span *whole, struct pkix_span *content)
{
	unsigned tag;
	size_t hlen, clen;

	if (*n == 0 || der_header(*p, *n, &tag, &hlen, &clen) == -1 ||
	    tag != want)
		return -1;
	if (whole != NULL) {
		whole->p = *p;
		whole->len = hlen + clen;
	}
	if (content != NULL) {
		content->p = *p + hlen;
		content->len = clen;
	}
	*p += hlen + clen;
	*n -= hlen + clen;
	return 0;
}

/*
 * The key of SubjectPublicKeyInfo content <spki>: its type, size and
 * bits. Returns NULL, or the detail.
 */
static const char *
pkix_read_key(struct pkix_span spki, struct pkix_cert *c)
{
	const unsigned char *p = spki.p, *q;
	size_t n = spki.len, m;
	struct pkix_span alg, oid, bits, modulus;

	struct pkix_span alg_tlv;
	const unsigned char *a;
	X509_ALGOR *algor;

	if (pkix_next(&p, &n, 0x30, &alg_tlv, &alg) == -1 ||
	    pkix_next(&p, &n, 0x03, NULL, &bits) == -1 || n != 0 ||
	    bits.len < 2 || bits.p[0] != 0)
		return "certificate key not of its shape";
	/* The algorithm as OpenSSL reads it (the key itself it reads lazily).
	 */
	a = alg_tlv.p;
	if ((algor = d2i_X509_ALGOR(NULL, &a, (long)alg_tlv.len)) == NULL ||
	    a != alg_tlv.p + alg_tlv.len) {
		X509_ALGOR_free(algor);
		return "certificate key algorithm not DER";
	}
	X509_ALGOR_free(algor);
	c->key_bits.p = bits.p + 1;
	c->key_bits.len = bits.len - 1;
	q = alg.p;
	m = alg.len;
	if (pkix_next(&q, &m, 0x06, NULL, &oid) == -1)
		return "certificate key not of its shape";
	/*
	 * Each key no larger than its algorithm makes it (a key is the
	 * certificate's to choose, bit for bit): RSA a modulus up to 8192
	 * bits and a small exponent, EC a point on its curve, EdDSA its
	 * fixed size (RFC 8410: no parameters), DSA an INTEGER; a key of an
	 * algorithm not known here at most 1 KiB.
	 */
	if (pkix_oid_is(oid.p, oid.len, pkix_oid_dsa, sizeof(pkix_oid_dsa))
	        ? alg_tlv.len > PKIX_DSA_ALG_MAX
	        : alg_tlv.len > PKIX_KEY_ALG_MAX)
		return "certificate key parameters too long";
	if (pkix_oid_is(oid.p, oid.len, pkix_oid_rsa, sizeof(pkix_oid_rsa)) ||
	    pkix_oid_is(
	        oid.p, oid.len, pkix_oid_rsa_pss, sizeof(pkix_oid_rsa_pss))) {
		/* RSAPublicKey ::= SEQUENCE { modulus, publicExponent } */
		const unsigned char *k = c->key_bits.p;
		size_t kn = c->key_bits.len, ma, eb;
		struct pkix_span seq;

		if (pkix_next(&k, &kn, 0x30, NULL, &seq) == -1 || kn != 0 ||
		    (ma = pkix_sig_integer(seq.p, seq.len, PKIX_RSA_MAX + 1)) ==
		        0 ||
		    (eb = pkix_sig_integer(
		         seq.p + ma, seq.len - ma, PKIX_RSA_EXP_MAX)) == 0 ||
		    ma + eb != seq.len)
			return "RSA key not of its shape";
		k = seq.p;
		kn = seq.len;
		(void)pkix_next(&k, &kn, 0x02, NULL, &modulus);
		c->key.type = PKIX_KEY_RSA;
		c->key.bytes = modulus.len - (modulus.p[0] == 0 ? 1 : 0);
		if (c->key.bytes > PKIX_RSA_MAX)
			return "RSA key over 8192 bits";
	} else if (pkix_oid_is(
	               oid.p, oid.len, pkix_oid_ec, sizeof(pkix_oid_ec))) {
		struct pkix_span curve;
		size_t order = PKIX_EC_INT_MAX;
		const unsigned char *pt = c->key_bits.p;
		size_t len = c->key_bits.len;

		c->key.type = PKIX_KEY_EC;
		if (pkix_next(&q, &m, 0x06, NULL, &curve) == 0)
			for (size_t i = 0;
			     i < sizeof(pkix_curves) / sizeof(pkix_curves[0]);
			     i++)
				if (pkix_oid_is(curve.p, curve.len,
				        pkix_curves[i].oid, pkix_curves[i].len))
					c->key.bytes = pkix_curves[i].order;
		if (c->key.bytes > 0)
			order = c->key.bytes;
		/* SEC 1 2.3.3: 04 X Y, or 02/03 X; exact on a known curve. */
		if (!((pt[0] == 0x04 &&
		          (c->key.bytes > 0
		                  ? len == 1 + 2 * order
		                  : len <= 1 + 2 * order && len % 2 == 1)) ||
		        ((pt[0] == 0x02 || pt[0] == 0x03) &&
		            (c->key.bytes > 0 ? len == 1 + order
		                              : len <= 1 + order))))
			return "EC key not a point of its curve";
	} else if (pkix_oid_is(
	               oid.p, oid.len, pkix_oid_dsa, sizeof(pkix_oid_dsa))) {
		c->key.type = PKIX_KEY_DSA;
		if (pkix_sig_integer(c->key_bits.p, c->key_bits.len,
		        PKIX_RSA_MAX + 1) != c->key_bits.len)
			return "DSA key not of its shape";
	} else if (pkix_oid_is(oid.p, oid.len, pkix_oid_ed25519,
	               sizeof(pkix_oid_ed25519))) {
		c->key.type = PKIX_KEY_ED25519;
		if (m != 0 || c->key_bits.len != PKIX_ED25519_KEY)
			return "Ed25519 key not of its shape";
	} else if (pkix_oid_is(oid.p, oid.len, pkix_oid_ed448,
	               sizeof(pkix_oid_ed448))) {
		c->key.type = PKIX_KEY_ED448;
		if (m != 0 || c->key_bits.len != PKIX_ED448_KEY)
			return "Ed448 key not of its shape";
	} else if (c->key_bits.len > PKIX_RSA_MAX) {
		return "certificate key of an unknown algorithm over 1 KiB";
	}
	return NULL;
}

/*
 * The extensions ([3] EXPLICIT Extensions, content <exts>) of <c>:
 * checked as pkix_cert_extensions() does, and the two the signer rules
 * read. Returns NULL, or the detail.
 */
static const char *
pkix_read_extensions(
    struct pkix_span exts, struct pkix_cert *c, unsigned *unknown)
{
	const unsigned char *p = exts.p;
	STACK_OF(X509_EXTENSION) * list;
	BASIC_CONSTRAINTS *bc = NULL;
	EXTENDED_KEY_USAGE *eku = NULL;
	ASN1_OCTET_STRING *ski = NULL;
	const char *why;
	int crit;

	if ((list = d2i_X509_EXTENSIONS(NULL, &p, (long)exts.len)) == NULL ||
	    p != exts.p + exts.len) {
		sk_X509_EXTENSION_pop_free(list, X509_EXTENSION_free);
		return "certificate extensions not DER";
	}
	why = pkix_extensions(list, pkix_cert_known,
	    sizeof(pkix_cert_known) / sizeof(pkix_cert_known[0]), unknown);
	if (why == NULL &&
	    (bc = X509V3_get_d2i(list, NID_basic_constraints, &crit, NULL)) !=
	        NULL)
		c->ca = bc->ca != 0;
	if (why == NULL &&
	    (eku = X509V3_get_d2i(list, NID_ext_key_usage, &crit, NULL)) !=
	        NULL)
		for (int i = 0; i < sk_ASN1_OBJECT_num(eku); i++)
			if (OBJ_obj2nid(sk_ASN1_OBJECT_value(eku, i)) ==
			    NID_OCSP_sign)
				c->ocsp_signing = true;
	if (why == NULL &&
	    (ski = X509V3_get_d2i(
	         list, NID_subject_key_identifier, &crit, NULL)) != NULL &&
	    (size_t)ASN1_STRING_length(ski) <= sizeof(c->ski)) {
		c->ski_len = (size_t)ASN1_STRING_length(ski);
		memcpy(c->ski, ASN1_STRING_get0_data(ski), c->ski_len);
	}
	ASN1_OCTET_STRING_free(ski);
	BASIC_CONSTRAINTS_free(bc);
	EXTENDED_KEY_USAGE_free(eku);
	sk_X509_EXTENSION_pop_free(list, X509_EXTENSION_free);
	return why;
}

/*
 * The signature of the certificate: its two algorithm identifiers
 * (<tbs_alg>, <alg> TLVs) equal, its value (<sig> TLV) of the shape the
 * algorithm gives, for <key> when known. Returns NULL, or the detail.
 */
static const char *
pkix_cert_signature(struct pkix_span tbs_alg, struct pkix_span alg,
    struct pkix_span sig, const struct pkix_key *key)
{
	const unsigned char *p = alg.p, *q = sig.p;
	X509_ALGOR *a = NULL;
	ASN1_BIT_STRING *b = NULL;
	const char *why;

	if (tbs_alg.len != alg.len || memcmp(tbs_alg.p, alg.p, alg.len) != 0)
		return "certificate's two signature algorithms differ";
	if ((a = d2i_X509_ALGOR(NULL, &p, (long)alg.len)) == NULL ||
	    (b = d2i_ASN1_BIT_STRING(NULL, &q, (long)sig.len)) == NULL)
		why = "certificate signature not DER";
	else
		why = pkix_signature_fits(a, b, key);
	X509_ALGOR_free(a);
	ASN1_BIT_STRING_free(b);
	return why;
}

const char *
pkix_cert_key(const X509 *x)
{
	X509_PUBKEY *pub = X509_get_X509_PUBKEY(x);
	unsigned char *der = NULL;
	const unsigned char *p;
	struct pkix_span spki;
	struct pkix_cert c;
	const char *why = "certificate key not of its shape";
	int n;
	size_t left;

	if (pub == NULL || (n = i2d_X509_PUBKEY(pub, &der)) <= 0)
		return why;
	p = der;
	left = (size_t)n;
	memset(&c, 0, sizeof(c));
	if (pkix_next(&p, &left, 0x30, NULL, &spki) == 0 && left == 0)
		why = pkix_read_key(spki, &c);
	OPENSSL_free(der);
	return why;
}

/* A DER INTEGER's content <v>: at least one octet, minimal. */
static bool
pkix_integer_ok(struct pkix_span v)
{
	return v.len > 0 &&
	    !(v.len > 1 &&
	        ((v.p[0] == 0 && v.p[1] < 0x80) ||
	            (v.p[0] == 0xff && v.p[1] >= 0x80)));
}

/*
 * True when the Name TLV <n> is DER of the shape nearly every name has:
 * RDNs of one or more attributes, each an OID and a PrintableString or
 * IA5String (any octets: OpenSSL reads them as Latin-1) or a UTF8String
 * of ASCII. OpenSSL's decoder takes every such name, so that it need
 * not be asked (it costs tens of microseconds a name).
 */
static bool
pkix_name_plain(struct pkix_span n)
{
	struct der_cursor c = {n.p, n.len}, name, rdn, atv, v;
	int tag;

	if (der_next(&c, 0x30, &name) == -1 || c.n != 0)
		return false;
	while (name.n > 0) {
		if (der_next(&name, 0x31, &rdn) == -1 || rdn.n == 0)
			return false;
		while (rdn.n > 0) {
			if (der_next(&rdn, 0x30, &atv) == -1 ||
			    der_next(&atv, 0x06, &v) == -1 ||
			    !der_oid_ok(v.p, v.n))
				return false;
			tag = der_peek(&atv);
			if ((tag != 0x13 && tag != 0x16 && tag != 0x0c) ||
			    der_next(&atv, (unsigned)tag, &v) == -1 ||
			    atv.n != 0)
				return false;
			if (tag == 0x0c)
				for (size_t i = 0; i < v.n; i++)
					if (v.p[i] >= 0x80)
						return false;
		}
	}
	return true;
}

/* True when the Name TLV <n> is one OpenSSL decodes, to its end. */
static bool
pkix_name_ok(struct pkix_span n)
{
	const unsigned char *p = n.p;
	X509_NAME *name;
	bool ok;

	if (pkix_name_plain(n))
		return true;
	name = d2i_X509_NAME(NULL, &p, (long)n.len);
	ok = name != NULL && p == n.p + n.len;
	X509_NAME_free(name);
	return ok;
}

/* Validity's content <v>: two times (UTCTime or GeneralizedTime). */
static bool
pkix_validity_ok(struct pkix_span v)
{
	const unsigned char *p = v.p;
	long n = (long)v.len;

	for (int i = 0; i < 2; i++) {
		const unsigned char *start = p;
		ASN1_TIME *t = d2i_ASN1_TIME(NULL, &p, n);
		bool ok = t != NULL && ASN1_TIME_check(t) == 1;

		ASN1_TIME_free(t);
		if (!ok)
			return false;
		n -= (long)(p - start);
	}
	return n == 0;
}

const char *
pkix_cert_parse(const unsigned char *der, size_t len, struct pkix_cert *c,
    unsigned *unknown)
{
	const unsigned char *p = der, *q;
	size_t n = len, m;
	struct pkix_span cert, tbs, tbs_alg, alg, sig, spki, span, exts;
	struct pkix_span validity;
	const char *why;

	memset(c, 0, sizeof(*c));
	if (len > PKIX_CERT_MAX_BYTES)
		return "certificate over 32 KiB";
	if (der == NULL || len == 0 ||
	    pkix_next(&p, &n, 0x30, &c->der, &cert) == -1 || n != 0 ||
	    !der_walk(der, len, PKIX_DER_DEPTH))
		return "not a DER certificate";
	ERR_set_mark();
	p = cert.p;
	n = cert.len;
	why = "not a DER certificate";
	if (pkix_next(&p, &n, 0x30, NULL, &tbs) == -1 ||
	    pkix_next(&p, &n, 0x30, &alg, NULL) == -1 ||
	    pkix_next(&p, &n, 0x03, &sig, NULL) == -1 || n != 0)
		goto done;
	/* [0] version, serial, signature, issuer, validity, subject, key */
	q = tbs.p;
	m = tbs.len;
	if (m > 0 && q[0] == 0xa0) {
		/* v2 or v3; DER leaves v1, the default, out. */
		if (pkix_next(&q, &m, 0xa0, NULL, &span) == -1 ||
		    span.len != 3 || span.p[0] != 0x02 || span.p[1] != 1 ||
		    (span.p[2] != 1 && span.p[2] != 2))
			goto done;
	}
	if (pkix_next(&q, &m, 0x02, NULL, &span) == -1 ||
	    !pkix_integer_ok(span) ||
	    pkix_next(&q, &m, 0x30, &tbs_alg, NULL) == -1 ||
	    pkix_next(&q, &m, 0x30, &c->issuer, NULL) == -1 ||
	    pkix_next(&q, &m, 0x30, NULL, &validity) == -1 ||
	    pkix_next(&q, &m, 0x30, &c->subject, NULL) == -1 ||
	    pkix_next(&q, &m, 0x30, &c->spki, &spki) == -1 ||
	    !pkix_name_ok(c->issuer) || !pkix_name_ok(c->subject) ||
	    !pkix_validity_ok(validity))
		goto done;
	/* issuerUniqueID [1], subjectUniqueID [2]: BIT STRINGs. */
	for (unsigned tag = 0x81; tag <= 0x82; tag++)
		if (pkix_next(&q, &m, tag, NULL, &span) == 0 &&
		    (span.len == 0 || span.p[0] > 7))
			goto done;
	memset(&exts, 0, sizeof(exts));
	if (m > 0 && pkix_next(&q, &m, 0xa3, NULL, &span) == 0) {
		const unsigned char *e = span.p;
		size_t en = span.len;

		if (pkix_next(&e, &en, 0x30, &exts, NULL) == -1 || en != 0)
			goto done;
	}
	if (m != 0)
		goto done;
	if ((why = pkix_read_key(spki, c)) != NULL ||
	    (exts.len > 0 &&
	        (why = pkix_read_extensions(exts, c, unknown)) != NULL))
		goto done;
	/* Only a self-issued certificate's own key is its signer's. */
	why = pkix_cert_signature(tbs_alg, alg, sig,
	    c->issuer.len == c->subject.len &&
	            memcmp(c->issuer.p, c->subject.p, c->issuer.len) == 0
	        ? &c->key
	        : NULL);
done:
	ERR_pop_to_mark();
	return why;
}

int
pkix_issuer_hashes(const struct pkix_cert *c, const EVP_MD *md,
    unsigned char *name_hash, unsigned char *key_hash, unsigned *len)
{
	unsigned nlen = 0, klen = 0;

	if (EVP_Digest(c->subject.p, c->subject.len, name_hash, &nlen, md,
	        NULL) != 1 ||
	    EVP_Digest(c->key_bits.p, c->key_bits.len, key_hash, &klen, md,
	        NULL) != 1 ||
	    nlen != klen)
		return -1;
	*len = nlen;
	return 0;
}

/* A span as an offset from <base> plus one (0: no span), and back. */
static void
pkix_span_to_offset(struct pkix_span *sp, const unsigned char *base)
{
	if (sp->p != NULL)
		sp->p = (const unsigned char *)(uintptr_t)(sp->p - base + 1);
}

static void
pkix_span_from_offset(struct pkix_span *sp, const unsigned char *base)
{
	if (sp->p != NULL)
		sp->p = base + ((uintptr_t)sp->p - 1);
}

/* Every span of <c>, through <fn>. */
static void
pkix_cert_spans(struct pkix_cert *c, const unsigned char *base,
    void (*fn)(struct pkix_span *, const unsigned char *))
{
	fn(&c->der, base);
	fn(&c->issuer, base);
	fn(&c->subject, base);
	fn(&c->key_bits, base);
	fn(&c->spki, base);
}

/*
 * The memo holds the judgment with its spans as offsets, so that a hit
 * for the same bytes at another address points into those.
 */
const char *
pkix_cert_judge(const unsigned char *der, size_t len, struct memo *memo,
    struct pkix_judged *out)
{
	const void *hit;
	struct pkix_judged v;
	unsigned n = 0;

	if (memo != NULL && (hit = memo_get(memo, der, len, NULL, 0)) != NULL) {
		memcpy(out, hit, sizeof(*out));
		pkix_cert_spans(&out->c, der, pkix_span_from_offset);
		return out->why;
	}
	memset(out, 0, sizeof(*out));
	out->why = pkix_cert_parse(der, len, &out->c, &n);
	out->unknown = n;
	out->der_depth = der_depth(der, len, PKIX_JUDGED_DEPTH_MAX);
	ERR_set_mark();
	out->hashed = out->why == NULL &&
	    EVP_Digest(out->c.key_bits.p, out->c.key_bits.len, out->key_sha1,
	        NULL, EVP_sha1(), NULL) == 1 &&
	    EVP_Digest(out->c.subject.p, out->c.subject.len, out->subject_sha1,
	        NULL, EVP_sha1(), NULL) == 1 &&
	    EVP_Digest(out->c.issuer.p, out->c.issuer.len, out->issuer_sha1,
	        NULL, EVP_sha1(), NULL) == 1;
	ERR_pop_to_mark();
	if (memo != NULL) {
		v = *out;
		pkix_cert_spans(&v.c, der, pkix_span_to_offset);
		memo_put(memo, der, len, NULL, 0, &v);
	}
	return out->why;
}
