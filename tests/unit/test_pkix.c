/*
 * Unit tests for pkix.c's certificate reader, pkix_cert_parse(): a
 * certificate OpenSSL writes, rebuilt with one field of its
 * TBSCertificate (RFC 5280 4.1) replaced, removed or added at a time.
 * What DER and RFC 5280 allow passes (v1 without the version field,
 * unique identifiers, GeneralizedTime, a negative serial, which real
 * CAs have issued); what they do not is refused with its reason: the
 * version spelled out for v1, a version past v3 or not an INTEGER, a
 * serial not minimal, a Name or a time OpenSSL cannot read, a unique
 * identifier not a BIT STRING, a key algorithm not DER. Keys are held
 * to the size their algorithm gives them (RSA up to 8192 bits, an EC
 * point of its curve, EdDSA's fixed sizes, 1 KiB for an algorithm not
 * known here), by the hand reader and by pkix_cert_key() on a
 * certificate OpenSSL decoded alike.
 */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "ocspgate/der.h"
#include "ocspgate/memo.h"
#include "ocspgate/pkix.h"

#include "check.h"

/* Fields of a v3 TBSCertificate, in their order. */
enum {
	F_VERSION,
	F_SERIAL,
	F_SIGNATURE,
	F_ISSUER,
	F_VALIDITY,
	F_SUBJECT,
	F_SPKI,
	F_EXTENSIONS,
	F_N
};

/* A heap buffer; the caller frees d. */
struct mk {
	unsigned char *d;
	size_t n;
};

static void
mk_put(struct mk *b, const void *p, size_t n)
{
	unsigned char *d = realloc(b->d, b->n + n + 1);

	if (d == NULL)
		abort();
	b->d = d;
	if (n > 0)
		memcpy(b->d + b->n, p, n);
	b->n += n;
}

/* Wraps <in> as a TLV of <tag> appended to <out>; frees <in>. */
static void
mk_wrap(struct mk *out, unsigned tag, struct mk *in)
{
	unsigned char h[5] = {(unsigned char)tag};
	size_t hl = 2;

	if (in->n < 0x80) {
		h[1] = (unsigned char)in->n;
	} else if (in->n < 0x100) {
		h[1] = 0x81;
		h[2] = (unsigned char)in->n;
		hl = 3;
	} else {
		h[1] = 0x82;
		h[2] = (unsigned char)(in->n >> 8);
		h[3] = (unsigned char)in->n;
		hl = 4;
	}
	mk_put(out, h, hl);
	mk_put(out, in->d, in->n);
	free(in->d);
	in->d = NULL;
	in->n = 0;
}

struct span {
	const unsigned char *p;
	size_t len;
};

/* The TLV at <p> (definite, up to three length octets): its length. */
static size_t
tlv_len(const unsigned char *p, size_t n)
{
	size_t len, hl = 2;

	if (n < 2)
		abort();
	len = p[1];
	if (len & 0x80) {
		size_t k = len & 0x7f;

		if (k < 1 || k > 3 || n < 2 + k)
			abort();
		len = 0;
		for (size_t i = 0; i < k; i++)
			len = len << 8 | p[2 + i];
		hl += k;
	}
	if (n < hl + len)
		abort();
	return hl + len;
}

/* The content of the TLV at <p>. */
static struct span
tlv_content(const unsigned char *p, size_t n)
{
	size_t all = tlv_len(p, n);
	size_t hl = (p[1] & 0x80) ? 2 + (p[1] & 0x7f) : 2;

	return (struct span){p + hl, all - hl};
}

struct pieces {
	unsigned char *der; /* the certificate OpenSSL wrote */
	struct span field[F_N];
	struct span alg, sig; /* after the TBSCertificate */
};

static void
pieces_of(X509 *x, struct pieces *pc)
{
	int n = i2d_X509(x, &pc->der);
	struct span cert, tbs;
	const unsigned char *p;
	size_t left;

	if (n <= 0)
		abort();
	cert = tlv_content(pc->der, (size_t)n);
	tbs = tlv_content(cert.p, cert.len);
	p = tbs.p;
	left = tbs.len;
	for (int i = 0; i < F_N; i++) {
		pc->field[i].p = p;
		pc->field[i].len = tlv_len(p, left);
		p += pc->field[i].len;
		left -= pc->field[i].len;
	}
	if (left != 0)
		abort();
	p = tbs.p + tbs.len;
	left = cert.len - (size_t)(p - cert.p);
	pc->alg.p = p;
	pc->alg.len = tlv_len(p, left);
	pc->sig.p = p + pc->alg.len;
	pc->sig.len = tlv_len(pc->sig.p, left - pc->alg.len);
}

struct cert_case {
	const char *name;
	int field;        /* the field replaced */
	const char *with; /* its replacement; "" removes it */
	size_t with_len;
	int after;            /* -1, or a field this is added after */
	bool drop_extensions; /* a v1 certificate has none */
	const char *why;      /* NULL: accepted */
};

#define B(s) s, sizeof(s) - 1
#define UTC                                                                    \
	"\x17\x0d"                                                             \
	"240101120000Z"
#define GEN                                                                    \
	"\x18\x0f"                                                             \
	"20240101120000Z"

static const struct cert_case cert_cases[] = {
    {"as OpenSSL wrote it", -1, B(""), -1, false, NULL},
    {"v1: no version, no extensions", F_VERSION, B(""), -1, true, NULL},
    {"v2: version 1", F_VERSION, B("\xa0\x03\x02\x01\x01"), -1, false, NULL},
    {"v1 spelled out: DER leaves the default out", F_VERSION,
        B("\xa0\x03\x02\x01\x00"), -1, true, "not a DER certificate"},
    {"version 3 (a v4)", F_VERSION, B("\xa0\x03\x02\x01\x03"), -1, false,
        "not a DER certificate"},
    {"version not an INTEGER", F_VERSION, B("\xa0\x03\x04\x01\x02"), -1, false,
        "not a DER certificate"},
    {"version in two octets", F_VERSION, B("\xa0\x04\x02\x02\x00\x02"), -1,
        false, "not a DER certificate"},
    {"version with a second field", F_VERSION,
        B("\xa0\x05\x02\x01\x02\x05\x00"), -1, false, "not a DER certificate"},
    {"serial of 20 octets", F_SERIAL,
        B("\x02\x14\x7f\x01\x02\x03\x04\x05\x06\x07\x08\x09"
          "\x0a\x0b\x0c\x0d\x0e\x0f\x10\x11\x12\x13"),
        -1, false, NULL},
    {"negative serial, minimal", F_SERIAL, B("\x02\x01\xff"), -1, false, NULL},
    {"serial with a leading zero", F_SERIAL, B("\x02\x02\x00\x01"), -1, false,
        "not a DER certificate"},
    {"serial with a leading 0xff", F_SERIAL, B("\x02\x02\xff\x80"), -1, false,
        "not a DER certificate"},
    {"empty serial", F_SERIAL, B("\x02\x00"), -1, false,
        "not a DER certificate"},
    {"issuer not a Name", F_ISSUER, B("\x30\x05\x31\x03\x02\x01\x00"), -1,
        false, "not a DER certificate"},
    {"subject not a Name", F_SUBJECT, B("\x30\x02\x04\x00"), -1, false,
        "not a DER certificate"},
    /* Names read by hand, and those only OpenSSL's decoder judges. */
    {"issuer an empty Name", F_ISSUER, B("\x30\x00"), -1, false, NULL},
    {"issuer with an empty RDN", F_ISSUER, B("\x30\x02\x31\x00"), -1, false,
        NULL},
    {"issuer a PrintableString with a Latin-1 octet", F_ISSUER,
        B("\x30\x0e\x31\x0c\x30\x0a\x06\x03\x55\x04\x03\x13\x03"
          "a\xe9z"),
        -1, false, NULL},
    {"issuer two attributes in one RDN, IA5 and UTF8", F_ISSUER,
        B("\x30\x18\x31\x16\x30\x09\x06\x03\x55\x04\x03\x16\x02"
          "ab\x30\x09\x06\x03\x55\x04\x0a\x0c\x02"
          "cd"),
        -1, false, NULL},
    {"issuer a UTF8String of UTF-8", F_ISSUER,
        B("\x30\x0d\x31\x0b\x30\x09\x06\x03\x55\x04\x03\x0c\x02"
          "\xc3\xa9"),
        -1, false, NULL},
    {"issuer a UTF8String not UTF-8", F_ISSUER,
        B("\x30\x0d\x31\x0b\x30\x09\x06\x03\x55\x04\x03\x0c\x02"
          "\xc3\x28"),
        -1, false, "not a DER certificate"},
    {"issuer a BMPString of odd length", F_ISSUER,
        B("\x30\x0e\x31\x0c\x30\x0a\x06\x03\x55\x04\x03\x1e\x03"
          "\x00\x41\x00"),
        -1, false, "not a DER certificate"},
    {"issuer a value of no string type", F_ISSUER,
        B("\x30\x0c\x31\x0a\x30\x08\x06\x03\x55\x04\x03\x02\x01"
          "\x05"),
        -1, false, "not a DER certificate"},
    {"issuer an attribute type not minimal", F_ISSUER,
        B("\x30\x0d\x31\x0b\x30\x09\x06\x03\x80\x04\x03\x13\x02"
          "ab"),
        -1, false, "not a DER certificate"},
    {"validity in GeneralizedTime", F_VALIDITY, B("\x30\x22" GEN GEN), -1,
        false, NULL},
    {"validity not a time", F_VALIDITY,
        B("\x30\x08\x17\x02"
          "AA" UTC),
        -1, false, "not a DER certificate"},
    {"validity with one time", F_VALIDITY, B("\x30\x0f" UTC), -1, false,
        "not a DER certificate"},
    {"validity with three times", F_VALIDITY, B("\x30\x2d" UTC UTC UTC), -1,
        false, "not a DER certificate"},
    {"issuerUniqueID", -1, B("\x81\x02\x00\xab"), F_SPKI, false, NULL},
    {"both unique identifiers", -1, B("\x81\x02\x04\xa0\x82\x03\x00\xab\xcd"),
        F_SPKI, false, NULL},
    {"issuerUniqueID with 8 unused bits", -1, B("\x81\x02\x08\xab"), F_SPKI,
        false, "not a DER certificate"},
    {"empty subjectUniqueID", -1, B("\x82\x00"), F_SPKI, false,
        "not a DER certificate"},
    {"key algorithm OID not DER", F_SPKI,
        B("\x30\x09\x30\x03\x06\x01\x80\x03\x02\x00\x00"), -1, false,
        "certificate key algorithm not DER"},
    {"key not a BIT STRING", F_SPKI,
        B("\x30\x0b\x30\x05\x06\x03\x2a\x03\x04\x04\x02\x00\x00"), -1, false,
        "certificate key not of its shape"},
};

static struct mk
rebuild(const struct pieces *pc, const struct cert_case *c)
{
	struct mk tbs = {0}, cert = {0}, out = {0};

	for (int i = 0; i < F_N; i++) {
		if (i == c->field)
			mk_put(&tbs, c->with, c->with_len);
		else if (!(i == F_EXTENSIONS && c->drop_extensions))
			mk_put(&tbs, pc->field[i].p, pc->field[i].len);
		if (i == c->after)
			mk_put(&tbs, c->with, c->with_len);
	}
	mk_wrap(&cert, 0x30, &tbs);
	mk_put(&cert, pc->alg.p, pc->alg.len);
	mk_put(&cert, pc->sig.p, pc->sig.len);
	mk_wrap(&out, 0x30, &cert);
	return out;
}

/*
 * SubjectPublicKeyInfo cases, built at run time (keys run to kilobytes):
 * the AlgorithmIdentifier's content, then the key's octets as <lead>
 * (up to 4 octets), <fill> octets of 0x11 and <tail>; for RSA the key is
 * SEQUENCE { INTEGER (lead, fill), INTEGER tail }.
 */
struct key_case {
	const char *name;
	const char *alg;
	size_t alg_len;
	bool rsa;
	const char *lead;
	size_t lead_len;
	size_t fill;
	const char *tail;
	size_t tail_len;
	const char *why;
};

#define RSA_ALG B("\x06\x09\x2a\x86\x48\x86\xf7\x0d\x01\x01\x01\x05\x00")
#define EC_P256                                                                \
	B("\x06\x07\x2a\x86\x48\xce\x3d\x02\x01"                               \
	  "\x06\x08\x2a\x86\x48\xce\x3d\x03\x01\x07")
#define EC_BP256                                                               \
	B("\x06\x07\x2a\x86\x48\xce\x3d\x02\x01"                               \
	  "\x06\x09\x2b\x24\x03\x03\x02\x08\x01\x01\x07")
#define ED25519 B("\x06\x03\x2b\x65\x70")
#define DSA_ALG B("\x06\x07\x2a\x86\x48\xce\x38\x04\x01")
#define NOBODY  B("\x06\x03\x2a\x03\x04")
#define F65537  B("\x01\x00\x01")

static const struct key_case key_cases[] = {
    {"RSA, 2048 bits", RSA_ALG, true, B("\x00\xc1"), 255, F65537, NULL},
    {"RSA, 8192 bits", RSA_ALG, true, B("\x00\xc1"), 1023, F65537, NULL},
    {"RSA, 1024 bits, exponent 3", RSA_ALG, true, B("\x00\xc1"), 127, B("\x03"),
        NULL},
    {"RSA over 8192 bits", RSA_ALG, true, B("\x41"), 1024, F65537,
        "RSA key over 8192 bits"},
    {"RSA exponent of 9 octets", RSA_ALG, true, B("\x00\xc1"), 255,
        B("\x01\x01\x01\x01\x01\x01\x01\x01\x01"), "RSA key not of its shape"},
    {"RSA modulus not minimal", RSA_ALG, true, B("\x00\x00\xc1"), 255, F65537,
        "RSA key not of its shape"},
    {"RSA modulus negative", RSA_ALG, true, B("\xc1"), 255, F65537,
        "RSA key not of its shape"},
    {"a P-256 point", EC_P256, false, B("\x04"), 64, B(""), NULL},
    {"a compressed P-256 point", EC_P256, false, B("\x03"), 32, B(""), NULL},
    {"a P-256 point an octet long", EC_P256, false, B("\x04"), 65, B(""),
        "EC key not a point of its curve"},
    {"a P-256 point of no form", EC_P256, false, B("\x06"), 64, B(""),
        "EC key not a point of its curve"},
    {"a point on a curve not known here", EC_BP256, false, B("\x04"), 64, B(""),
        NULL},
    {"a point on an unknown curve past P-521's size", EC_BP256, false,
        B("\x04"), 134, B(""), "EC key not a point of its curve"},
    {"Ed25519", ED25519, false, B(""), 32, B(""), NULL},
    {"Ed25519 of 33 octets", ED25519, false, B(""), 33, B(""),
        "Ed25519 key not of its shape"},
    {"Ed25519 with parameters", B("\x06\x03\x2b\x65\x70\x05\x00"), false, B(""),
        32, B(""), "Ed25519 key not of its shape"},
    {"DSA, an INTEGER", DSA_ALG, false, B("\x02\x81\x80\x51"), 127, B(""),
        NULL},
    {"DSA, not an INTEGER", DSA_ALG, false, B("\x04\x81\x80\x51"), 127, B(""),
        "DSA key not of its shape"},
    {"an algorithm nobody knows, 64 octets", NOBODY, false, B(""), 64, B(""),
        NULL},
    {"an algorithm nobody knows, 1025 octets", NOBODY, false, B(""), 1025,
        B(""), "certificate key of an unknown algorithm over 1 KiB"},
    {"key parameters of 100 octets",
        B("\x06\x03\x2a\x03\x04\x04\x5b"
          "0123456789012345678901234567890123456789012345678901234567890123"
          "456789012345678901234567890"),
        false, B(""), 8, B(""), "certificate key parameters too long"},
};

/* The SubjectPublicKeyInfo TLV <k> describes. */
static struct mk
key_spki(const struct key_case *k)
{
	struct mk alg = {0}, bits = {0}, spki = {0}, out = {0};
	unsigned char *fill = malloc(k->fill + 1);

	if (fill == NULL)
		abort();
	memset(fill, 0x11, k->fill);
	mk_put(&alg, k->alg, k->alg_len);
	mk_wrap(&spki, 0x30, &alg);
	mk_put(&bits, "", 1); /* no unused bits */
	if (k->rsa) {
		struct mk seq = {0}, mod = {0}, exp = {0};

		mk_put(&mod, k->lead, k->lead_len);
		mk_put(&mod, fill, k->fill);
		mk_wrap(&seq, 0x02, &mod);
		mk_put(&exp, k->tail, k->tail_len);
		mk_wrap(&seq, 0x02, &exp);
		mk_wrap(&bits, 0x30, &seq);
	} else {
		mk_put(&bits, k->lead, k->lead_len);
		mk_put(&bits, fill, k->fill);
		mk_put(&bits, k->tail, k->tail_len);
	}
	mk_wrap(&spki, 0x03, &bits);
	mk_wrap(&out, 0x30, &spki);
	free(fill);
	return out;
}

static X509 *
make_cert(EVP_PKEY *key)
{
	X509 *x = X509_new();
	X509_NAME *name = X509_NAME_new(), *issuer = X509_NAME_new();
	X509V3_CTX ctx;
	X509_EXTENSION *ext;

	if (x == NULL || name == NULL || issuer == NULL ||
	    ASN1_INTEGER_set(X509_get_serialNumber(x), 4242) != 1 ||
	    X509_set_version(x, X509_VERSION_3) != 1 ||
	    X509_gmtime_adj(X509_getm_notBefore(x), -3600) == NULL ||
	    X509_gmtime_adj(X509_getm_notAfter(x), 86400) == NULL ||
	    X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
	        (const unsigned char *)"pkix test CA", -1, -1, 0) != 1 ||
	    X509_NAME_add_entry_by_txt(issuer, "CN", MBSTRING_ASC,
	        (const unsigned char *)"pkix test root", -1, -1, 0) != 1 ||
	    X509_set_subject_name(x, name) != 1 ||
	    X509_set_issuer_name(x, issuer) != 1 ||
	    X509_set_pubkey(x, key) != 1)
		abort();
	X509V3_set_ctx(&ctx, x, x, NULL, NULL, 0);
	if ((ext = X509V3_EXT_nconf_nid(NULL, &ctx, NID_basic_constraints,
	         "critical,CA:TRUE")) == NULL ||
	    X509_add_ext(x, ext, -1) != 1)
		abort();
	X509_EXTENSION_free(ext);
	if (X509_sign(x, key, EVP_sha256()) <= 0)
		abort();
	X509_NAME_free(name);
	X509_NAME_free(issuer);
	return x;
}

/* Parses <pc> rebuilt as <c> says; what passes, OpenSSL reads too. */
static void
check_case(const struct pieces *pc, const struct cert_case *c)
{
	struct mk der = rebuild(pc, c);
	struct pkix_cert pcert;
	unsigned unknown = 0;
	const char *why = pkix_cert_parse(der.d, der.n, &pcert, &unknown);

	if (c->why == NULL)
		CHECKF(why == NULL, "%s: refused: %s", c->name, why);
	else
		CHECKF(why != NULL && strcmp(why, c->why) == 0, "%s: %s",
		    c->name, why != NULL ? why : "accepted");
	if (c->why == NULL && why == NULL) {
		const unsigned char *p = der.d;
		X509 *y = d2i_X509(NULL, &p, (long)der.n);

		CHECKF(y != NULL && p == der.d + der.n,
		    "%s: OpenSSL cannot read it", c->name);
		X509_free(y);
		CHECKF(pcert.ca == !c->drop_extensions, "%s: cA", c->name);
	}
	free(der.d);
}

static void
test_cert_fields(void)
{
	EVP_PKEY *key = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	X509 *x;
	struct pieces pc = {0};
	size_t decoded = 0;

	if (key == NULL)
		abort();
	x = make_cert(key);
	pieces_of(x, &pc);
	for (size_t i = 0; i < sizeof(cert_cases) / sizeof(cert_cases[0]); i++)
		check_case(&pc, &cert_cases[i]);
	for (size_t i = 0; i < sizeof(key_cases) / sizeof(key_cases[0]); i++) {
		struct mk spki = key_spki(&key_cases[i]);
		struct cert_case c = {key_cases[i].name, F_SPKI,
		    (const char *)spki.d, spki.n, -1, false, key_cases[i].why};
		struct mk der = rebuild(&pc, &c);
		const unsigned char *p = der.d;
		X509 *y;

		check_case(&pc, &c);
		/* A certificate OpenSSL decoded: the same rule, same reason. */
		if ((y = d2i_X509(NULL, &p, (long)der.n)) != NULL) {
			const char *why = pkix_cert_key(y);

			CHECKF(c.why == NULL
			        ? why == NULL
			        : why != NULL && strcmp(why, c.why) == 0,
			    "%s, decoded: %s", c.name,
			    why != NULL ? why : "accepted");
			decoded++;
		}
		X509_free(y);
		free(der.d);
		free(spki.d);
	}
	CHECKF(decoded + 3 >= sizeof(key_cases) / sizeof(key_cases[0]),
	    "OpenSSL decoded %zu of the key cases", decoded);
	OPENSSL_free(pc.der);
	X509_free(x);
	EVP_PKEY_free(key);
}

/*
 * pkix_cert_judge(): the judgment of the same bytes read again from the
 * memo, at another address, equals the first, its spans moved with the
 * bytes; other bytes are judged afresh; without a memo, the same.
 */
static void
test_judge(void)
{
	EVP_PKEY *key = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	struct memo *memo =
	    memo_new(8, PKIX_CERT_MAX_BYTES, sizeof(struct pkix_judged), 7);
	struct pkix_judged a, b, c;
	struct pieces pc = {0};
	unsigned char *copy;
	size_t n;
	X509 *x;

	if (key == NULL || memo == NULL)
		abort();
	x = make_cert(key);
	pieces_of(x, &pc);
	n = tlv_len(pc.der, (size_t)-1 >> 1);
	if ((copy = malloc(n)) == NULL)
		abort();
	memcpy(copy, pc.der, n);
	CHECK(pkix_cert_judge(pc.der, n, memo, &a) == NULL);
	CHECK(a.hashed && a.c.ca && a.der_depth > 0);
	CHECK(der_walk(pc.der, n, a.der_depth) &&
	    !der_walk(pc.der, n, a.der_depth - 1));
	CHECK(pkix_cert_judge(copy, n, memo, &b) == NULL);
	CHECK(b.c.der.p == copy &&
	    b.c.subject.p == copy + (a.c.subject.p - pc.der) &&
	    b.c.key_bits.p == copy + (a.c.key_bits.p - pc.der));
	b.c.der.p = a.c.der.p;
	b.c.issuer.p = a.c.issuer.p;
	b.c.subject.p = a.c.subject.p;
	b.c.key_bits.p = a.c.key_bits.p;
	b.c.spki.p = a.c.spki.p;
	CHECK(memcmp(&a, &b, sizeof(a)) == 0);
	CHECK(pkix_cert_judge(pc.der, n, NULL, &c) == NULL &&
	    memcmp(&a, &c, sizeof(a)) == 0);
	/* One octet of the signature's algorithm changed: judged anew. */
	copy[pc.alg.p - pc.der + 4] ^= 1;
	CHECK(pkix_cert_judge(copy, n, memo, &b) != NULL);
	CHECK(pkix_cert_judge(copy, n, NULL, &c) != NULL &&
	    strcmp(b.why, c.why) == 0);
	free(copy);
	memo_free(memo);
	OPENSSL_free(pc.der);
	X509_free(x);
	EVP_PKEY_free(key);
}

/*
 * pkix_signature_fits_der() says what pkix_signature_fits() says of the
 * same AlgorithmIdentifier and BIT STRING decoded by OpenSSL.
 */
static void
test_signature_der(void)
{
	static const struct {
		const char *name;
		const char *alg; /* AlgorithmIdentifier TLV */
		size_t alg_len;
		size_t sig_len; /* signature octets */
		unsigned unused;
		unsigned char first; /* first signature octet */
		struct pkix_key key;
	} cases[] = {
	    {"RSA SHA-256, NULL",
	        B("\x30\x0d\x06\x09\x2a\x86\x48\x86\xf7\x0d"
	          "\x01\x01\x0b\x05\x00"),
	        256, 0, 1, {PKIX_KEY_RSA, 256}},
	    {"RSA SHA-256, absent",
	        B("\x30\x0b\x06\x09\x2a\x86\x48\x86\xf7"
	          "\x0d\x01\x01\x0b"),
	        256, 0, 1, {PKIX_KEY_UNKNOWN, 0}},
	    {"RSA SHA-1, another key size",
	        B("\x30\x0d\x06\x09\x2a\x86\x48"
	          "\x86\xf7\x0d\x01\x01\x05\x05"
	          "\x00"),
	        256, 0, 1, {PKIX_KEY_RSA, 512}},
	    {"RSA, unused bits",
	        B("\x30\x0d\x06\x09\x2a\x86\x48\x86\xf7\x0d"
	          "\x01\x01\x0b\x05\x00"),
	        256, 3, 1, {PKIX_KEY_UNKNOWN, 0}},
	    {"RSA, a SEQUENCE for parameters",
	        B("\x30\x0d\x06\x09\x2a\x86"
	          "\x48\x86\xf7\x0d\x01\x01"
	          "\x0b\x30\x00"),
	        256, 0, 1, {PKIX_KEY_UNKNOWN, 0}},
	    {"RSASSA-PSS, SHA-256",
	        B("\x30\x41\x06\x09\x2a\x86\x48\x86\xf7"
	          "\x0d\x01\x01\x0a\x30\x34\xa0\x0f\x30"
	          "\x0d\x06\x09\x60\x86\x48\x01\x65\x03"
	          "\x04\x02\x01\x05\x00\xa1\x1c\x30\x1a"
	          "\x06\x09\x2a\x86\x48\x86\xf7\x0d\x01"
	          "\x01\x08\x30\x0d\x06\x09\x60\x86\x48"
	          "\x01\x65\x03\x04\x02\x01\x05\x00\xa2"
	          "\x03\x02\x01\x20"),
	        256, 0, 1, {PKIX_KEY_RSA, 256}},
	    {"RSASSA-PSS, no parameters",
	        B("\x30\x0b\x06\x09\x2a\x86\x48"
	          "\x86\xf7\x0d\x01\x01\x0a"),
	        256, 0, 1, {PKIX_KEY_UNKNOWN, 0}},
	    {"ECDSA SHA-256, a pair",
	        B("\x30\x0a\x06\x08\x2a\x86\x48\xce\x3d"
	          "\x04\x03\x02"),
	        8, 0, 0x30, {PKIX_KEY_EC, 32}},
	    {"ECDSA SHA-384 with NULL",
	        B("\x30\x0c\x06\x08\x2a\x86\x48\xce"
	          "\x3d\x04\x03\x03\x05\x00"),
	        8, 0, 0x30, {PKIX_KEY_UNKNOWN, 0}},
	    {"ECDSA for an RSA key",
	        B("\x30\x0a\x06\x08\x2a\x86\x48\xce\x3d"
	          "\x04\x03\x02"),
	        8, 0, 0x30, {PKIX_KEY_RSA, 256}},
	    {"DSA SHA-256",
	        B("\x30\x0b\x06\x09\x60\x86\x48\x01\x65\x03\x04"
	          "\x03\x02"),
	        8, 0, 0x30, {PKIX_KEY_UNKNOWN, 0}},
	    {"Ed25519", B("\x30\x05\x06\x03\x2b\x65\x70"), 64, 0, 1,
	        {PKIX_KEY_ED25519, 0}},
	    {"Ed448, short", B("\x30\x05\x06\x03\x2b\x65\x71"), 64, 0, 1,
	        {PKIX_KEY_UNKNOWN, 0}},
	    {"OIW SHA-1 with RSA",
	        B("\x30\x09\x06\x05\x2b\x0e\x03\x02\x1d"
	          "\x05\x00"),
	        128, 0, 1, {PKIX_KEY_UNKNOWN, 0}},
	    {"MD5 with RSA",
	        B("\x30\x0d\x06\x09\x2a\x86\x48\x86\xf7\x0d"
	          "\x01\x01\x04\x05\x00"),
	        128, 0, 1, {PKIX_KEY_UNKNOWN, 0}},
	    {"an unknown algorithm", B("\x30\x06\x06\x04\x2a\x03\x04\x05"), 128,
	        0, 1, {PKIX_KEY_UNKNOWN, 0}},
	};
	/* SEQUENCE { INTEGER 1, INTEGER 2 } */
	static const unsigned char pair[] = {
	    0x30, 0x06, 0x02, 0x01, 0x01, 0x02, 0x01, 0x02};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		unsigned char bits[1 + 1024] = {0}, tlv[4 + sizeof(bits)];
		const unsigned char *p = (const unsigned char *)cases[i].alg;
		const unsigned char *q = tlv;
		size_t n = cases[i].sig_len;
		X509_ALGOR *alg =
		    d2i_X509_ALGOR(NULL, &p, (long)cases[i].alg_len);
		ASN1_BIT_STRING *sig;
		const char *want, *got;
		struct der_cursor c = {(const unsigned char *)cases[i].alg,
		                      cases[i].alg_len},
		                  content;

		bits[0] = (unsigned char)cases[i].unused;
		if (cases[i].first == 0x30 && n == sizeof(pair))
			memcpy(bits + 1, pair, n);
		else
			bits[1] = cases[i].first;
		tlv[0] = 0x03;
		tlv[1] = 0x82;
		tlv[2] = (unsigned char)((n + 1) >> 8);
		tlv[3] = (unsigned char)(n + 1);
		memcpy(tlv + 4, bits, n + 1);
		sig = d2i_ASN1_BIT_STRING(NULL, &q, (long)(n + 5));
		if (alg == NULL || sig == NULL ||
		    der_next(&c, 0x30, &content) == -1)
			abort();
		want = pkix_signature_fits(alg, sig, &cases[i].key);
		got = pkix_signature_fits_der(
		    content.p, content.n, bits, n + 1, &cases[i].key);
		CHECKF(want == NULL ? got == NULL
		                    : got != NULL && strcmp(want, got) == 0,
		    "%s: %s, want %s", cases[i].name, got ? got : "fits",
		    want ? want : "fits");
		X509_ALGOR_free(alg);
		ASN1_BIT_STRING_free(sig);
	}
}

int
main(void)
{
	test_cert_fields();
	test_judge();
	test_signature_der();
	return check_done();
}
