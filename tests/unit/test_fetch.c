/*
 * Unit tests for fetch.c: CRLs, certificates and PKCS#7 bundles built at
 * test time with OpenSSL's API (a CA and a leaf made in memory), in DER
 * and PEM and hand-broken; fixtures written by the openssl command line
 * (data/fetch/make.sh); cabinet headers and sequence texts made by hand;
 * the trust-list file names.
 */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/pkcs7.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "ocspgate/fetch.h"

#include "check.h"
#include "ctl_make.h"

#define CA_NAME   "CN=ocspgate test CA,O=ocspgate"
#define LEAF_NAME "CN=leaf,O=ocspgate"
#define LAST      "2026-01-02T03:04:05Z"
#define NEXT      "2051-02-03T04:05:06Z"

#define NOT_CRL       "not a DER or PEM CRL"
#define CRL_TRAILING  "trailing bytes after the CRL"
#define NOT_CERT      "not a DER or PEM certificate"
#define CERT_TRAILING "trailing bytes after the certificate"
#define NOT_CANONICAL "not canonical DER"
#define NOT_PKCS7     "not a DER PKCS#7"
#define P7_TRAILING   "trailing bytes after the PKCS#7"
#define P7_NOT_SIGNED "PKCS#7 not SignedData"
#define P7_SIGNERS    "PKCS#7 with signers or content"
#define P7_NO_CERTS   "PKCS#7 without certificates"
#define NOT_CAB       "not a cabinet file"
#define CAB_SIZE      "cabinet size does not match the body"
#define TEXT_BINARY   "trust list text with binary bytes"
#define TEXT_LONG     "trust list text over 64 bytes"
#define TEXT_NOT_HEX  "trust list text not a hexadecimal sequence number"
#define NOT_CTL       "not a trust-list file name"

/* A heap buffer. */
struct buf {
	unsigned char *d;
	size_t n;
};

static void
buf_free(struct buf *b)
{
	free(b->d);
	b->d = NULL;
	b->n = 0;
}

static struct buf
buf_of(const void *p, size_t n)
{
	struct buf b;

	if ((b.d = malloc(n > 0 ? n : 1)) == NULL)
		abort();
	if (n > 0)
		memcpy(b.d, p, n);
	b.n = n;
	return b;
}

static struct buf
buf_str(const char *s)
{
	return buf_of(s, strlen(s));
}

/* <a> followed by <n> bytes of <p>. */
static struct buf
buf_cat(const struct buf *a, const void *p, size_t n)
{
	struct buf b;

	if ((b.d = malloc(a->n + n + 1)) == NULL)
		abort();
	memcpy(b.d, a->d, a->n);
	if (n > 0)
		memcpy(b.d + a->n, p, n);
	b.n = a->n + n;
	return b;
}

/* <s> (text) followed by <a>. */
static struct buf
buf_prefix(const char *s, const struct buf *a)
{
	struct buf t = buf_str(s), b;

	b = buf_cat(&t, a->d, a->n);
	buf_free(&t);
	return b;
}

/* The DER <der> with its outer length in a needlessly longer form. */
static struct buf
buf_long_length(const struct buf *der)
{
	struct buf b;

	/* 0x30 0x82 HH LL becomes 0x30 0x83 0x00 HH LL. */
	if (der->n < 4 || der->d[1] != 0x82)
		abort();
	if ((b.d = malloc(der->n + 1)) == NULL)
		abort();
	b.d[0] = der->d[0];
	b.d[1] = 0x83;
	b.d[2] = 0x00;
	memcpy(b.d + 3, der->d + 2, der->n - 2);
	b.n = der->n + 1;
	return b;
}

/* The contents of memory BIO <mem>, which is freed. */
static struct buf
buf_from_bio(BIO *mem)
{
	char *p;
	long n = BIO_get_mem_data(mem, &p);
	struct buf b;

	if (n <= 0)
		abort();
	b = buf_of(p, (size_t)n);
	BIO_free(mem);
	return b;
}

/* <der> as a PEM block labelled <label>. */
static struct buf
pem_wrap(const char *label, const struct buf *der)
{
	BIO *mem = BIO_new(BIO_s_mem());

	if (mem == NULL ||
	    PEM_write_bio(mem, label, "", der->d, (long)der->n) <= 0)
		abort();
	return buf_from_bio(mem);
}

/* Reads data/fetch/<name> from OCSPGATE_TEST_DATA. */
static struct buf
fixture(const char *name)
{
	const char *dir = getenv("OCSPGATE_TEST_DATA");
	char path[1024];
	unsigned char tmp[65536];
	struct buf b = {NULL, 0};
	FILE *f;
	size_t n;

	if (dir == NULL)
		dir = "tests/data";
	snprintf(path, sizeof(path), "%s/fetch/%s", dir, name);
	if ((f = fopen(path, "rb")) == NULL) {
		fprintf(stderr, "%s: cannot open\n", path);
		return b;
	}
	n = fread(tmp, 1, sizeof(tmp), f);
	(void)fclose(f);
	if (n == 0)
		return b;
	return buf_of(tmp, n);
}

static EVP_PKEY *
make_key(void)
{
	EVP_PKEY *key = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");

	if (key == NULL)
		abort();
	return key;
}

/*
 * A certificate for <key> named O=ocspgate, CN=<cn>, with serial
 * <serial_hex> (may be negative), issued by <issuer> (NULL: self-signed)
 * with <issuer_key>.
 */
static X509 *make_cert_kid(const char *cn, const char *serial_hex,
    EVP_PKEY *key, X509 *issuer, EVP_PKEY *issuer_key, int ski, int aki);

static X509 *
make_cert(const char *cn, const char *serial_hex, EVP_PKEY *key, X509 *issuer,
    EVP_PKEY *issuer_key)
{
	return make_cert_kid(cn, serial_hex, key, issuer, issuer_key, 0, 0);
}

/* A keyIdentifier of 20 octets <b>. */
static ASN1_OCTET_STRING *
make_keyid(int b)
{
	unsigned char v[20];
	ASN1_OCTET_STRING *o = ASN1_OCTET_STRING_new();

	memset(v, b, sizeof(v));
	if (o == NULL || ASN1_OCTET_STRING_set(o, v, sizeof(v)) != 1)
		abort();
	return o;
}

/*
 * make_cert() with a subjectKeyIdentifier of octets <ski> and an
 * authorityKeyIdentifier naming the keyIdentifier of octets <aki> (0:
 * leave it out).
 */
static X509 *
make_cert_kid(const char *cn, const char *serial_hex, EVP_PKEY *key,
    X509 *issuer, EVP_PKEY *issuer_key, int ski, int aki)
{
	X509 *x = X509_new();
	X509_NAME *name = X509_NAME_new();
	BIGNUM *bn = NULL;

	if (x == NULL || name == NULL || BN_hex2bn(&bn, serial_hex) == 0 ||
	    BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(x)) == NULL ||
	    X509_set_version(x, X509_VERSION_3) != 1 ||
	    X509_gmtime_adj(X509_getm_notBefore(x), -3600) == NULL ||
	    X509_gmtime_adj(X509_getm_notAfter(x), 86400) == NULL ||
	    X509_NAME_add_entry_by_txt(name, "O", MBSTRING_ASC,
	        (const unsigned char *)"ocspgate", -1, -1, 0) != 1 ||
	    X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
	        (const unsigned char *)cn, -1, -1, 0) != 1 ||
	    X509_set_subject_name(x, name) != 1 ||
	    X509_set_issuer_name(x,
	        issuer != NULL ? X509_get_subject_name(issuer) : name) != 1 ||
	    X509_set_pubkey(x, key) != 1)
		abort();
	if (ski != 0) {
		ASN1_OCTET_STRING *o = make_keyid(ski);

		if (X509_add1_ext_i2d(x, NID_subject_key_identifier, o, 0,
		        X509V3_ADD_DEFAULT) != 1)
			abort();
		ASN1_OCTET_STRING_free(o);
	}
	if (aki != 0) {
		AUTHORITY_KEYID *a = AUTHORITY_KEYID_new();

		if (a == NULL)
			abort();
		a->keyid = make_keyid(aki);
		if (X509_add1_ext_i2d(x, NID_authority_key_identifier, a, 0,
		        X509V3_ADD_DEFAULT) != 1)
			abort();
		AUTHORITY_KEYID_free(a);
	}
	if (X509_sign(x, issuer_key, EVP_sha256()) <= 0)
		abort();
	X509_NAME_free(name);
	BN_free(bn);
	return x;
}

static ASN1_INTEGER *
make_integer(const char *hex)
{
	BIGNUM *bn = NULL;
	ASN1_INTEGER *v;

	if (BN_hex2bn(&bn, hex) == 0 ||
	    (v = BN_to_ASN1_INTEGER(bn, NULL)) == NULL)
		abort();
	BN_free(bn);
	return v;
}

/*
 * A CRL of <ca>, lastUpdate LAST, nextUpdate NEXT if <next>, revoking
 * <nrevoked> serials (0x1001, 0x1002, ...), with cRLNumber <number_hex>
 * unless NULL, and <ext> (if not NULL) added as is.
 */
static X509_CRL *
make_crl(X509 *ca, EVP_PKEY *ca_key, int nrevoked, const char *number_hex,
    bool next, X509_EXTENSION *ext)
{
	X509_CRL *crl = X509_CRL_new();
	ASN1_TIME *last = ASN1_TIME_new(), *nxt = ASN1_TIME_new();
	ASN1_INTEGER *num;
	char serial[16];

	if (crl == NULL || last == NULL || nxt == NULL ||
	    X509_CRL_set_version(crl, X509_CRL_VERSION_2) != 1 ||
	    X509_CRL_set_issuer_name(crl, X509_get_subject_name(ca)) != 1 ||
	    ASN1_TIME_set_string_X509(last, "20260102030405Z") != 1 ||
	    ASN1_TIME_set_string_X509(nxt, "20510203040506Z") != 1 ||
	    X509_CRL_set1_lastUpdate(crl, last) != 1 ||
	    (next && X509_CRL_set1_nextUpdate(crl, nxt) != 1))
		abort();
	/* Added in reverse, so that X509_CRL_sort() has work to do. */
	for (int i = nrevoked - 1; i >= 0; i--) {
		X509_REVOKED *r = X509_REVOKED_new();
		ASN1_INTEGER *s;

		snprintf(serial, sizeof(serial), "%x", 0x1001 + i);
		s = make_integer(serial);
		if (r == NULL || X509_REVOKED_set_serialNumber(r, s) != 1 ||
		    X509_REVOKED_set_revocationDate(r, last) != 1 ||
		    X509_CRL_add0_revoked(crl, r) != 1)
			abort();
		ASN1_INTEGER_free(s);
	}
	if (number_hex != NULL) {
		num = make_integer(number_hex);
		if (X509_CRL_add1_ext_i2d(crl, NID_crl_number, num, 0, 0) != 1)
			abort();
		ASN1_INTEGER_free(num);
	}
	if (ext != NULL && X509_CRL_add_ext(crl, ext, -1) != 1)
		abort();
	if (X509_CRL_sort(crl) != 1 ||
	    X509_CRL_sign(crl, ca_key, EVP_sha256()) <= 0)
		abort();
	ASN1_TIME_free(last);
	ASN1_TIME_free(nxt);
	return crl;
}

static struct buf
crl_der(X509_CRL *crl)
{
	unsigned char *p = NULL;
	int n = i2d_X509_CRL(crl, &p);
	struct buf b;

	if (n <= 0)
		abort();
	b = buf_of(p, (size_t)n);
	OPENSSL_free(p);
	return b;
}

static struct buf
crl_pem(X509_CRL *crl)
{
	BIO *mem = BIO_new(BIO_s_mem());

	if (mem == NULL || PEM_write_bio_X509_CRL(mem, crl) != 1)
		abort();
	return buf_from_bio(mem);
}

static struct buf
cert_der(X509 *x)
{
	unsigned char *p = NULL;
	int n = i2d_X509(x, &p);
	struct buf b;

	if (n <= 0)
		abort();
	b = buf_of(p, (size_t)n);
	OPENSSL_free(p);
	return b;
}

static struct buf
cert_pem(X509 *x)
{
	BIO *mem = BIO_new(BIO_s_mem());

	if (mem == NULL || PEM_write_bio_X509(mem, x) != 1)
		abort();
	return buf_from_bio(mem);
}

static struct buf
p7_der(PKCS7 *p7)
{
	unsigned char *p = NULL;
	int n = i2d_PKCS7(p7, &p);
	struct buf b;

	if (n <= 0)
		abort();
	b = buf_of(p, (size_t)n);
	OPENSSL_free(p);
	return b;
}

static struct buf
p7_pem(PKCS7 *p7)
{
	BIO *mem = BIO_new(BIO_s_mem());

	if (mem == NULL || PEM_write_bio_PKCS7(mem, p7) != 1)
		abort();
	return buf_from_bio(mem);
}

/*
 * A certs-only SignedData of <certs> (may be NULL), as crl2pkcs7 writes
 * it: no signer, contents of type data without eContent.
 */
static PKCS7 *
make_certs_only(STACK_OF(X509) * certs)
{
	PKCS7 *p7 =
	    PKCS7_sign(NULL, NULL, certs, NULL, PKCS7_DETACHED | PKCS7_PARTIAL);

	if (p7 == NULL)
		abort();
	return p7;
}

/* A SignedData of "hello" by <cert>, with the content if <attached>. */
static PKCS7 *
make_signed(X509 *cert, EVP_PKEY *key, STACK_OF(X509) * certs, bool attached)
{
	BIO *in = BIO_new_mem_buf("hello\n", -1);
	PKCS7 *p7;

	if (in == NULL ||
	    (p7 = PKCS7_sign(cert, key, certs, in,
	         PKCS7_BINARY | (attached ? 0 : PKCS7_DETACHED))) == NULL)
		abort();
	BIO_free(in);
	return p7;
}

/*
 * Before each call an error sits in OpenSSL's queue; the call must leave
 * it there, alone.
 */
static void
queue_mark(void)
{
	ERR_clear_error();
	ERR_raise(ERR_LIB_USER, 42);
}

static bool
queue_as_found(void)
{
	unsigned long e = ERR_get_error();
	bool ok = ERR_GET_LIB(e) == ERR_LIB_USER && ERR_GET_REASON(e) == 42 &&
	    ERR_peek_error() == 0;

	ERR_clear_error();
	return ok;
}

static bool
same(const char *a, const char *b)
{
	return a != NULL && b != NULL && strcmp(a, b) == 0;
}

/*
 * Each inspects <b> as its class, checks that OpenSSL's queue is as it
 * was and that a detail comes with a refusal only, and returns the result.
 */
static enum reason
crl(const struct buf *b, struct fetch_crl_facts *f, const char **detail)
{
	enum reason r;

	*detail = "unset";
	queue_mark();
	r = fetch_inspect_crl(b->d, b->n, NULL, f, detail);
	CHECK(queue_as_found());
	CHECK((r == REASON_NONE) == (*detail == NULL));
	return r;
}

static enum reason
cert(const struct buf *b, struct fetch_cert_facts *f, const char **detail)
{
	enum reason r;

	*detail = "unset";
	queue_mark();
	r = fetch_inspect_cert(b->d, b->n, NULL, f, detail);
	CHECK(queue_as_found());
	CHECK((r == REASON_NONE) == (*detail == NULL));
	return r;
}

static enum reason
ctl(const struct buf *b, const char *file, struct fetch_ctl_facts *cf,
    const char **detail)
{
	enum reason r;

	*detail = "unset";
	queue_mark();
	r = fetch_inspect_ctl(b->d, b->n, file, NULL, 1 << 24, cf, detail);
	CHECK(queue_as_found());
	CHECK((r == REASON_NONE) == (*detail == NULL));
	return r;
}

/* Checks that CRL body <b> is refused with <want>; frees <b>. */
static void
crl_refused(struct buf b, const char *want, int line)
{
	struct fetch_crl_facts f;
	const char *d;
	enum reason r = crl(&b, &f, &d);

	CHECKF(r == REASON_RESPONSE_MALFORMED && same(d, want),
	    "line %d: got %s, want %s", line, d != NULL ? d : "(null)", want);
	buf_free(&b);
}

static void
cert_refused(struct buf b, const char *want, int line)
{
	struct fetch_cert_facts f;
	const char *d;
	enum reason r = cert(&b, &f, &d);

	CHECKF(r == REASON_RESPONSE_MALFORMED && same(d, want),
	    "line %d: got %s, want %s", line, d != NULL ? d : "(null)", want);
	buf_free(&b);
}

static void
ctl_refused(struct buf b, const char *file, const char *want, int line)
{
	struct fetch_ctl_facts cf;
	const char *d;
	enum reason r = ctl(&b, file, &cf, &d);

	CHECKF(r == REASON_RESPONSE_MALFORMED && same(d, want),
	    "line %d: %s: got %s, want %s", line, file != NULL ? file : "NULL",
	    d != NULL ? d : "(null)", want);
	buf_free(&b);
}

static void
ctl_accepted(
    struct buf b, const char *file, enum fetch_ctl_format want, int line)
{
	struct fetch_ctl_facts cf;
	const char *d;
	enum reason r = ctl(&b, file, &cf, &d);

	CHECKF(r == REASON_NONE && cf.format_known && cf.format == want,
	    "line %d: %s: got %s", line, file,
	    d != NULL ? d : "accepted, other format");
	buf_free(&b);
}

/* The PKI the tests share. */
struct pki {
	EVP_PKEY *ca_key, *leaf_key;
	X509 *ca;   /* O=ocspgate, CN=ocspgate test CA; serial 01 */
	X509 *leaf; /* O=ocspgate, CN=leaf; serial ABCDEF, by ca */
};

static void
test_crl_accepted(const struct pki *p)
{
	static const struct {
		int nrevoked;
		const char *number;
		bool next;
		unsigned char mag[20];
		size_t mag_len;
	} t[] = {
	    {0, NULL, false, {0}, 0},
	    {0, "0", true, {0x00}, 1},
	    {1, "1234AB", true, {0x12, 0x34, 0xab}, 3},
	    {3, "80", true, {0x80}, 1},
	    {3, "0102030405060708090A0B0C0D0E0F1011121314", false,
	        {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18,
	            19, 20},
	        20},
	};

	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		X509_CRL *c = make_crl(p->ca, p->ca_key, t[i].nrevoked,
		    t[i].number, t[i].next, NULL);
		struct buf forms[4];

		forms[0] = crl_der(c);
		forms[1] = crl_pem(c);
		forms[2] = buf_prefix("\r\n \t\n", &forms[1]);
		forms[3] = buf_cat(&forms[2], " \r\n\n\t ", 6);
		for (int k = 0; k < 4; k++) {
			struct fetch_crl_facts f;
			const char *d;
			enum reason r = crl(&forms[k], &f, &d);

			CHECKF(r == REASON_NONE, "case %zu form %d: %s", i, k,
			    d != NULL ? d : "");
			CHECK(same(f.issuer, CA_NAME));
			CHECK(same(f.this_update, LAST));
			CHECK(same(f.next_update, t[i].next ? NEXT : ""));
			CHECK(f.entries == (size_t)t[i].nrevoked);
			CHECK(f.number_len == t[i].mag_len &&
			    memcmp(f.number, t[i].mag, t[i].mag_len) == 0);
			CHECK(f.pem == (k != 0));
			buf_free(&forms[k]);
		}
		X509_CRL_free(c);
	}

	/* CRLF line ends throughout. */
	{
		X509_CRL *c = make_crl(p->ca, p->ca_key, 1, "7", true, NULL);
		struct buf pem = crl_pem(c), crlf;
		struct fetch_crl_facts f;
		const char *d;
		size_t j = 0;

		crlf.d = malloc(pem.n * 2);
		if (crlf.d == NULL)
			abort();
		for (size_t i = 0; i < pem.n; i++) {
			if (pem.d[i] == '\n')
				crlf.d[j++] = '\r';
			crlf.d[j++] = pem.d[i];
		}
		crlf.n = j;
		CHECK(crl(&crlf, &f, &d) == REASON_NONE && f.pem &&
		    f.entries == 1 && f.number_len == 1 && f.number[0] == 7);
		buf_free(&crlf);
		buf_free(&pem);
		X509_CRL_free(c);
	}
}

static void
test_crl_refused(const struct pki *p)
{
	X509_CRL *c = make_crl(p->ca, p->ca_key, 3, "10", true, NULL);
	X509_CRL *big;
	X509_EXTENSION *ext;
	ASN1_OCTET_STRING *os;
	struct buf der = crl_der(c), pem = crl_pem(c), nc, x;
	static const unsigned char not_int[] = {0x04, 0x01, 0x00};

	crl_refused(buf_of("", 0), NOT_CRL, __LINE__);
	{
		struct fetch_crl_facts f;
		const char *d = NULL;

		CHECK(fetch_inspect_crl(NULL, 0, NULL, &f, &d) ==
		        REASON_RESPONSE_MALFORMED &&
		    same(d, NOT_CRL));
		/* <detail> may be NULL. */
		CHECK(fetch_inspect_crl(der.d, der.n, NULL, &f, NULL) ==
		    REASON_NONE);
		CHECK(fetch_inspect_crl(der.d, 1, NULL, &f, NULL) ==
		    REASON_RESPONSE_MALFORMED);
	}
	crl_refused(buf_of(der.d, der.n - 1), NOT_CRL, __LINE__);
	crl_refused(buf_of(der.d, 10), NOT_CRL, __LINE__);
	crl_refused(buf_cat(&der, "\0", 1), CRL_TRAILING, __LINE__);
	crl_refused(buf_cat(&der, "\n", 1), CRL_TRAILING, __LINE__);
	crl_refused(buf_long_length(&der), NOT_CANONICAL, __LINE__);
	crl_refused(
	    buf_str("<html><body>Not Found</body></html>"), NOT_CRL, __LINE__);
	crl_refused(buf_of("\x30\x80\x00\x00", 4), NOT_CRL, __LINE__);
	/* Whitespace before DER makes it neither DER nor PEM. */
	crl_refused(buf_prefix(" ", &der), NOT_CRL, __LINE__);

	/* PEM: one block, nothing but whitespace around it. */
	crl_refused(buf_cat(&pem, "x", 1), CRL_TRAILING, __LINE__);
	crl_refused(
	    buf_cat(&pem, "\n\n# comment\n", 12), CRL_TRAILING, __LINE__);
	crl_refused(buf_cat(&pem, pem.d, pem.n), CRL_TRAILING, __LINE__);
	crl_refused(buf_prefix("junk\n", &pem), NOT_CRL, __LINE__);
	crl_refused(buf_prefix("-----BEGIN X509 CRL-----junk\n", &pem), NOT_CRL,
	    __LINE__);
	crl_refused(buf_of(pem.d, pem.n - 10), NOT_CRL, __LINE__);
	crl_refused(buf_of(pem.d, 30), NOT_CRL, __LINE__);
	/* A header would make OpenSSL ask for a password. */
	x = buf_of(pem.d, 25);
	{
		struct buf rest = buf_of(pem.d + 25, pem.n - 25);
		const char *hdr = "Proc-Type: 4,ENCRYPTED\n"
		                  "DEK-Info: AES-128-CBC,"
		                  "00112233445566778899AABBCCDDEEFF\n\n";
		struct buf h = buf_cat(&x, hdr, strlen(hdr));

		crl_refused(buf_cat(&h, rest.d, rest.n), NOT_CRL, __LINE__);
		buf_free(&h);
		buf_free(&rest);
	}
	buf_free(&x);
	/* The DER inside the PEM obeys the DER rules. */
	x = buf_cat(&der, "\0", 1);
	crl_refused(pem_wrap("X509 CRL", &x), CRL_TRAILING, __LINE__);
	buf_free(&x);
	nc = buf_long_length(&der);
	crl_refused(pem_wrap("X509 CRL", &nc), NOT_CANONICAL, __LINE__);
	buf_free(&nc);
	crl_refused(pem_wrap("CRL", &der), NOT_CRL, __LINE__);

	/* Other objects. */
	{
		struct buf cd = cert_der(p->ca), cp = cert_pem(p->ca);

		crl_refused(cd, NOT_CRL, __LINE__);
		crl_refused(cp, NOT_CRL, __LINE__);
		crl_refused(pem_wrap("CERTIFICATE", &der), NOT_CRL, __LINE__);
	}

	/* cRLNumber: at most 20 octets, one INTEGER. */
	big = make_crl(p->ca, p->ca_key, 0,
	    "010000000000000000000000000000000000000000", true, NULL);
	crl_refused(crl_der(big), "cRLNumber over 20 octets", __LINE__);
	X509_CRL_free(big);
	os = ASN1_OCTET_STRING_new();
	if (os == NULL || ASN1_OCTET_STRING_set(os, not_int, 3) != 1 ||
	    (ext = X509_EXTENSION_create_by_NID(NULL, NID_crl_number, 0, os)) ==
	        NULL)
		abort();
	big = make_crl(p->ca, p->ca_key, 0, NULL, true, ext);
	crl_refused(crl_der(big), "cRLNumber not one valid INTEGER", __LINE__);
	X509_CRL_free(big);
	X509_EXTENSION_free(ext);
	ASN1_OCTET_STRING_free(os);
	{
		ASN1_INTEGER *v = make_integer("5");
		X509_EXTENSION *dup = X509V3_EXT_i2d(NID_crl_number, 0, v);

		if (dup == NULL)
			abort();
		big = make_crl(p->ca, p->ca_key, 0, "5", true, dup);
		crl_refused(
		    crl_der(big), "cRLNumber not one valid INTEGER", __LINE__);
		X509_CRL_free(big);
		X509_EXTENSION_free(dup);
		ASN1_INTEGER_free(v);
	}

	/* Times OpenSSL cannot read. */
	for (int which = 0; which < 2; which++) {
		ASN1_TIME *t = ASN1_STRING_type_new(V_ASN1_UTCTIME);

		big = make_crl(p->ca, p->ca_key, 1, "1", true, NULL);
		if (t == NULL || ASN1_STRING_set(t, "991332000000Z", -1) != 1 ||
		    (which == 0 ? X509_CRL_set1_lastUpdate(big, t)
		                : X509_CRL_set1_nextUpdate(big, t)) != 1 ||
		    X509_CRL_sign(big, p->ca_key, EVP_sha256()) <= 0)
			abort();
		crl_refused(crl_der(big),
		    which == 0 ? "lastUpdate not a valid time"
		               : "nextUpdate not a valid time",
		    __LINE__);
		X509_CRL_free(big);
		ASN1_TIME_free(t);
	}

	buf_free(&der);
	buf_free(&pem);
	X509_CRL_free(c);
}

/* The CRL fixture from `openssl ca -gencrl` (data/fetch/make.sh). */
static void
test_crl_fixture(void)
{
	static const char *const names[] = {"crl.der", "crl.pem"};

	for (size_t i = 0; i < 2; i++) {
		struct buf b = fixture(names[i]);
		struct fetch_crl_facts f;
		const char *d;

		CHECKF(b.n > 0, "fixture %s", names[i]);
		if (b.n == 0)
			continue;
		CHECK(crl(&b, &f, &d) == REASON_NONE);
		CHECK(same(f.issuer, "CN=fetch fixture CA,O=ocspgate"));
		CHECK(f.number_len == 2 && f.number[0] == 0x10 &&
		    f.number[1] == 0x00);
		CHECK(f.entries == 2);
		CHECK(strlen(f.this_update) == FETCH_TIME_LEN - 1 &&
		    f.this_update[10] == 'T' && f.this_update[19] == 'Z');
		CHECK(strlen(f.next_update) == FETCH_TIME_LEN - 1);
		CHECK(f.pem == (i == 1));
		buf_free(&b);
	}
}

/* Checks the facts of the leaf. */
static void
check_leaf(const struct fetch_cert_facts *f, int line)
{
	static const unsigned char serial[] = {0xab, 0xcd, 0xef};

	CHECKF(same(f->subject, LEAF_NAME) && same(f->issuer, CA_NAME) &&
	        f->serial_len == 3 && memcmp(f->serial, serial, 3) == 0,
	    "line %d: %s / %s", line, f->subject, f->issuer);
}

static void
test_cert_accepted(const struct pki *p)
{
	STACK_OF(X509) *certs = sk_X509_new_null();
	PKCS7 *p7;
	struct buf b[6];
	struct fetch_cert_facts f;
	const char *d;

	/* One certificate, DER and PEM (with whitespace around). */
	b[0] = cert_der(p->leaf);
	b[1] = cert_pem(p->leaf);
	b[2] = buf_prefix("\n\n  ", &b[1]);
	b[3] = buf_cat(&b[2], "\r\n\r\n", 4);
	for (int k = 0; k < 4; k++) {
		CHECKF(cert(&b[k], &f, &d) == REASON_NONE, "form %d: %s", k,
		    d != NULL ? d : "");
		check_leaf(&f, __LINE__);
		CHECK(f.count == 1 && !f.pkcs7 && f.pem == (k != 0));
		buf_free(&b[k]);
	}

	/* The self-signed CA: serial 01. */
	b[0] = cert_der(p->ca);
	CHECK(cert(&b[0], &f, &d) == REASON_NONE && same(f.subject, CA_NAME) &&
	    same(f.issuer, CA_NAME) && f.serial_len == 1 &&
	    f.serial[0] == 0x01 && f.count == 1);
	buf_free(&b[0]);

	/* Certs-only PKCS#7 of the leaf, then the CA. */
	if (certs == NULL || sk_X509_push(certs, p->leaf) <= 0 ||
	    sk_X509_push(certs, p->ca) <= 0)
		abort();
	p7 = make_certs_only(certs);
	b[0] = p7_der(p7);
	b[1] = p7_pem(p7);
	b[2] = buf_prefix(" \n", &b[1]);
	b[3] = buf_cat(&b[2], "\n \n", 3);
	for (int k = 0; k < 4; k++) {
		CHECKF(cert(&b[k], &f, &d) == REASON_NONE, "p7 form %d: %s", k,
		    d != NULL ? d : "");
		check_leaf(&f, __LINE__);
		CHECK(f.count == 2 && f.pkcs7 && f.pem == (k != 0));
		buf_free(&b[k]);
	}
	PKCS7_free(p7);
	sk_X509_free(certs);
}

/* Serial numbers: magnitude, 1 to 20 octets. */
static void
test_cert_serials(const struct pki *p)
{
	static const struct {
		const char *hex;
		size_t len;
		bool ok;
		unsigned char mag[20];
	} t[] = {
	    {"0", 1, true, {0x00}},
	    {"-05", 1, true, {0x05}},
	    {"80", 1, true, {0x80}},
	    {"FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF", 20, true,
	        {0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
	            0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
	            0xff}},
	    {"010000000000000000000000000000000000000000", 0, false, {0}},
	};

	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		X509 *x =
		    make_cert("leaf", t[i].hex, p->leaf_key, p->ca, p->ca_key);
		struct buf b = cert_der(x);
		struct fetch_cert_facts f;
		const char *d;
		enum reason r = cert(&b, &f, &d);

		if (t[i].ok)
			CHECKF(r == REASON_NONE && f.serial_len == t[i].len &&
			        memcmp(f.serial, t[i].mag, t[i].len) == 0,
			    "serial %s", t[i].hex);
		else
			CHECKF(r == REASON_RESPONSE_MALFORMED &&
			        same(d, "serial number over 20 octets"),
			    "serial %s", t[i].hex);
		buf_free(&b);
		X509_free(x);
	}
}

static void
test_cert_refused(const struct pki *p)
{
	STACK_OF(X509) *certs = sk_X509_new_null();
	struct buf der = cert_der(p->leaf), pem = cert_pem(p->leaf), x;
	X509_CRL *c = make_crl(p->ca, p->ca_key, 1, "1", true, NULL);
	PKCS7 *p7;

	if (certs == NULL || sk_X509_push(certs, p->ca) <= 0)
		abort();

	cert_refused(buf_of("", 0), NOT_CERT, __LINE__);
	{
		struct fetch_cert_facts f;
		const char *d = NULL;

		CHECK(fetch_inspect_cert(NULL, 0, NULL, &f, &d) ==
		        REASON_RESPONSE_MALFORMED &&
		    same(d, NOT_CERT));
	}
	cert_refused(buf_of(der.d, der.n - 1), NOT_CERT, __LINE__);
	cert_refused(buf_cat(&der, "\0", 1), CERT_TRAILING, __LINE__);
	cert_refused(buf_cat(&der, der.d, der.n), CERT_TRAILING, __LINE__);
	cert_refused(buf_long_length(&der), NOT_CANONICAL, __LINE__);
	cert_refused(buf_str("<html>404</html>"), NOT_CERT, __LINE__);
	cert_refused(crl_der(c), NOT_CERT, __LINE__);
	cert_refused(crl_pem(c), NOT_CERT, __LINE__);
	cert_refused(buf_cat(&pem, pem.d, pem.n), CERT_TRAILING, __LINE__);
	cert_refused(buf_cat(&pem, "x\n", 2), CERT_TRAILING, __LINE__);
	cert_refused(buf_prefix("subject=CN=leaf\n", &pem), NOT_CERT, __LINE__);
	cert_refused(pem_wrap("X509 CERTIFICATE", &der), NOT_CERT, __LINE__);
	cert_refused(pem_wrap("TRUSTED CERTIFICATE", &der), NOT_CERT, __LINE__);
	x = buf_cat(&der, "\0", 1);
	cert_refused(pem_wrap("CERTIFICATE", &x), CERT_TRAILING, __LINE__);
	buf_free(&x);
	x = buf_long_length(&der);
	cert_refused(pem_wrap("CERTIFICATE", &x), NOT_CANONICAL, __LINE__);
	buf_free(&x);
	/* A PKCS7 label holds a PKCS#7, a CERTIFICATE label a certificate. */
	cert_refused(pem_wrap("PKCS7", &der), NOT_PKCS7, __LINE__);
	p7 = make_certs_only(certs);
	x = p7_der(p7);
	cert_refused(pem_wrap("CERTIFICATE", &x), NOT_CERT, __LINE__);
	cert_refused(buf_cat(&x, "\0", 1), P7_TRAILING, __LINE__);
	cert_refused(buf_long_length(&x), NOT_CANONICAL, __LINE__);
	buf_free(&x);
	PKCS7_free(p7);

	/* Signed, with or without content: not certs-only. */
	p7 = make_signed(p->ca, p->ca_key, NULL, true);
	cert_refused(p7_der(p7), P7_SIGNERS, __LINE__);
	cert_refused(p7_pem(p7), P7_SIGNERS, __LINE__);
	PKCS7_free(p7);
	p7 = make_signed(p->ca, p->ca_key, NULL, false);
	cert_refused(p7_der(p7), P7_SIGNERS, __LINE__);
	PKCS7_free(p7);
	/* Content but no signer. */
	{
		BIO *in = BIO_new_mem_buf("hello\n", -1);

		if (in == NULL ||
		    (p7 = PKCS7_sign(NULL, NULL, certs, in, PKCS7_BINARY)) ==
		        NULL)
			abort();
		BIO_free(in);
		cert_refused(p7_der(p7), P7_SIGNERS, __LINE__);
		PKCS7_free(p7);
	}
	/* No certificates at all. */
	p7 = make_certs_only(NULL);
	cert_refused(p7_der(p7), P7_NO_CERTS, __LINE__);
	PKCS7_free(p7);
	/* Not SignedData. */
	if ((p7 = PKCS7_new()) == NULL ||
	    PKCS7_set_type(p7, NID_pkcs7_data) != 1 ||
	    ASN1_OCTET_STRING_set(p7->d.data, (const unsigned char *)"x", 1) !=
	        1)
		abort();
	cert_refused(p7_der(p7), P7_NOT_SIGNED, __LINE__);
	cert_refused(p7_pem(p7), P7_NOT_SIGNED, __LINE__);
	PKCS7_free(p7);
	/* A ContentInfo of type signedData with no content. */
	cert_refused(buf_of("\x30\x0b\x06\x09\x2a\x86\x48\x86\xf7\x0d\x01\x07"
	                    "\x02",
	                 13),
	    P7_NOT_SIGNED, __LINE__);

	buf_free(&der);
	buf_free(&pem);
	X509_CRL_free(c);
	sk_X509_free(certs);
}

/* Fixtures from `openssl crl2pkcs7 -nocrl` and `openssl smime -sign`. */
static void
test_cert_fixtures(void)
{
	static const char *const names[] = {
	    "certs.p7c", "certs.p7c.pem", "ca.pem"};
	struct buf b;
	struct fetch_cert_facts f;
	const char *d;

	for (size_t i = 0; i < 3; i++) {
		b = fixture(names[i]);
		CHECKF(b.n > 0, "fixture %s", names[i]);
		if (b.n == 0)
			continue;
		CHECKF(cert(&b, &f, &d) == REASON_NONE, "%s: %s", names[i],
		    d != NULL ? d : "");
		CHECK(same(f.subject, "CN=fetch fixture CA,O=ocspgate") &&
		    same(f.issuer, f.subject));
		CHECK(f.serial_len == 2 && f.serial[0] == 0x12 &&
		    f.serial[1] == 0x34);
		CHECK(f.count == 1 && f.pkcs7 == (i < 2) && f.pem == (i > 0));
		buf_free(&b);
	}
	b = fixture("signed.p7");
	CHECK(b.n > 0);
	cert_refused(b, P7_SIGNERS, __LINE__);
}

/* A buf from a builder's buffer (taken over). */
static struct buf
buf_mk(struct mk m)
{
	struct buf b = {m.d, m.n};

	return b;
}

/*
 * Trust lists through fetch_inspect_ctl(): the file name picks the
 * reading (test_ctl.c tests each reading itself).
 */
static void
test_ctl_files(const struct pki *p)
{
	struct mk list = mk_ctl_list(&(struct mk_ctl){.entries = 5});
	struct mk stl =
	    mk_ctl_signed(&list, p->leaf, p->leaf_key, p->ca, false);
	struct mk cab = mk_cab("authroot.stl", &stl, true, 0);
	struct mk store = {0};
	struct fetch_ctl_facts cf;
	const char *d;

	mk_store_begin(&store);
	mk_store_cert(&store, p->ca);
	mk_store_end(&store);
	ctl_accepted(
	    buf_of(cab.d, cab.n), "authrootstl.cab", FETCH_CTL_CAB, __LINE__);
	ctl_accepted(
	    buf_of(cab.d, cab.n), "AUTHROOTSTL.CAB", FETCH_CTL_CAB, __LINE__);
	ctl_refused(buf_of(cab.d, cab.n), "disallowedcertstl.cab",
	    "cabinet file not the trust list its name implies", __LINE__);
	ctl_refused(buf_of(cab.d, cab.n), "x.cab",
	    "not a trust-list cabinet name", __LINE__);
	ctl_accepted(
	    buf_of(stl.d, stl.n), "authroot.stl", FETCH_CTL_PKCS7, __LINE__);
	ctl_accepted(
	    buf_of(stl.d, stl.n), "PinRules.STL", FETCH_CTL_PKCS7, __LINE__);
	ctl_accepted(
	    buf_of(stl.d, stl.n), "roots.sst", FETCH_CTL_PKCS7, __LINE__);
	ctl_accepted(
	    buf_of(store.d, store.n), "roots.sst", FETCH_CTL_STORE, __LINE__);
	ctl_refused(buf_of(store.d, store.n), "authroot.stl",
	    "not a DER PKCS#7", __LINE__);
	ctl_refused(buf_cat(&(struct buf){stl.d, stl.n}, "\0", 1),
	    "authroot.stl", "not a DER PKCS#7", __LINE__);
	ctl_refused(buf_str("<html></html>"), "authroot.stl",
	    "not a DER PKCS#7", __LINE__);
	ctl_refused(
	    buf_str("<html></html>"), "authrootstl.cab", NOT_CAB, __LINE__);
	/* The facts: entries, format, nothing verified without a store. */
	CHECK(ctl(&(struct buf){cab.d, cab.n}, "authrootstl.cab", &cf, &d) ==
	        REASON_NONE &&
	    cf.entries == 5 && !cf.verified);
	/* A PKCS#7 of certificates only is no trust list. */
	{
		STACK_OF(X509) *certs = sk_X509_new_null();
		PKCS7 *p7;

		if (certs == NULL || sk_X509_push(certs, p->ca) <= 0)
			abort();
		p7 = make_certs_only(certs);
		ctl_refused(p7_der(p7), "updroots.sst",
		    "PKCS#7 content not a certificate trust list", __LINE__);
		PKCS7_free(p7);
		sk_X509_free(certs);
	}
	buf_free(&(struct buf){list.d, list.n});
	buf_free(&(struct buf){stl.d, stl.n});
	buf_free(&(struct buf){cab.d, cab.n});
	buf_free(&(struct buf){store.d, store.n});
	(void)buf_mk;
}

static void
test_ctl_text(void)
{
	struct buf big;

	ctl_accepted(buf_str("1D9A8B2F4C6E0A13\r\n"), "authrootseq.txt",
	    FETCH_CTL_TEXT, __LINE__);
	ctl_accepted(buf_str("01db1b2b1a2e0c57"), "PINRULESSEQ.TXT",
	    FETCH_CTL_TEXT, __LINE__);
	ctl_accepted(
	    buf_str(" 1D9A\t\n"), "authrootseq.txt", FETCH_CTL_TEXT, __LINE__);
	ctl_refused(
	    buf_str("a\tb ~\n"), "PINRULESSEQ.TXT", TEXT_NOT_HEX, __LINE__);
	ctl_refused(buf_str("1D9A8B2F4C6E0A13 exfil\r\n"), "authrootseq.txt",
	    TEXT_NOT_HEX, __LINE__);
	ctl_accepted(
	    buf_of("", 0), "disallowedcertseq.txt", FETCH_CTL_TEXT, __LINE__);
	ctl_refused(
	    buf_of("1D9A\0", 5), "authrootseq.txt", TEXT_BINARY, __LINE__);
	ctl_refused(
	    buf_of("1D9A\x7f", 5), "authrootseq.txt", TEXT_BINARY, __LINE__);
	ctl_refused(
	    buf_of("caf\xc3\xa9", 5), "authrootseq.txt", TEXT_BINARY, __LINE__);
	ctl_refused(
	    buf_of("a\x0b", 2), "authrootseq.txt", TEXT_BINARY, __LINE__);
	ctl_refused(buf_of("MSCF\0\0\0\0", 8), "authrootseq.txt", TEXT_BINARY,
	    __LINE__);
	if ((big.d = malloc(65537)) == NULL)
		abort();
	memset(big.d, 'A', 65537);
	big.n = 65536;
	ctl_accepted(
	    buf_of(big.d, 64), "authrootseq.txt", FETCH_CTL_TEXT, __LINE__);
	ctl_refused(buf_of(big.d, 65), "authrootseq.txt", TEXT_LONG, __LINE__);
	ctl_refused(
	    buf_of(big.d, 65537), "authrootseq.txt", TEXT_LONG, __LINE__);
	buf_free(&big);
}

static void
test_ctl_names(void)
{
	static const char *const bad[] = {"authrootstl.exe", "authrootstl",
	    "cab", "x.cab.exe", "x.", "", "x.p7c", "x.crt", "x.cabx"};
	struct buf b = buf_str("1D9A8B2F4C6E0A13\r\n");

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct fetch_ctl_facts cf;
		const char *d = NULL;

		queue_mark();
		CHECKF(fetch_inspect_ctl(b.d, b.n, bad[i], NULL, 1 << 24, &cf,
		           &d) == REASON_RESPONSE_MALFORMED &&
		        same(d, NOT_CTL) && !cf.format_known,
		    "%s", bad[i]);
		CHECK(queue_as_found());
	}
	ctl_refused(buf_of(b.d, b.n), NULL, NOT_CTL, __LINE__);
	/* <detail> may be NULL. */
	{
		struct fetch_ctl_facts cf;

		CHECK(fetch_inspect_ctl(b.d, b.n, "a.txt", NULL, 1 << 24, &cf,
		          NULL) == REASON_NONE);
	}
	buf_free(&b);

	CHECK(same(fetch_ctl_format_name(FETCH_CTL_CAB), "cab"));
	CHECK(same(fetch_ctl_format_name(FETCH_CTL_PKCS7), "pkcs7"));
	CHECK(same(fetch_ctl_format_name(FETCH_CTL_TEXT), "text"));
	CHECK(same(fetch_ctl_format_name(FETCH_CTL_STORE), "store"));
	CHECK(same(fetch_ctl_format_name((enum fetch_ctl_format)7), "unknown"));
}

static void
test_ctl_file(void)
{
	static const char *const files[] = {"authrootstl.cab",
	    "disallowedcertstl.cab", "pinrulesstl.cab", "authroot.stl",
	    "disallowedcert.stl", "pinrules.stl", "authrootseq.txt",
	    "disallowedcertseq.txt", "pinrulesseq.txt", "roots.sst",
	    "updroots.sst", "authroots.sst", "delroots.sst",
	    "disallowedcert.sst"};
	static const struct {
		const char *path;
		const char *file; /* NULL: no match */
	} t[] = {
	    {"/msdownload/update/v3/static/trustedr/en/authrootstl.cab",
	        "authrootstl.cab"},
	    {"/msdownload/update/v3/static/trustedr/en/disallowedcertstl.cab",
	        "disallowedcertstl.cab"},
	    {"/AUTHROOTSTL.CAB", "AUTHROOTSTL.CAB"},
	    {"/x/PinRulesSeq.Txt", "PinRulesSeq.Txt"},
	    {"authroot.stl", "authroot.stl"},
	    {"//roots.sst", "roots.sst"},
	    {"/x/authrootstl.cab.exe", NULL},
	    {"/", NULL},
	    {"", NULL},
	    {"/authrootstl.cab/", NULL},
	    {"/authrootstl.cab2", NULL},
	    {"/xauthrootstl.cab", NULL},
	    {"/authrootstl", NULL},
	    {"/authrootstl.cab ", NULL},
	    {"/%61uthrootstl.cab", NULL},
	    {"/authrootstl%2ecab", NULL},
	    {"/authrootstl.cab?x=1", NULL},
	    {"/pki/ca.crt", NULL},
	    {"/pki/ca.crl", NULL},
	    {"/pki/ca.p7c", NULL},
	    {"/authrootstl.cab\\x", NULL},
	    {"/x\\authrootstl.cab", NULL},
	    {"/sst", NULL},
	    {"/.sst", NULL},
	};
	char buf[64];

	for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		char path[128];

		snprintf(path, sizeof(path),
		    "/msdownload/update/v3/static/trustedr/en/%s", files[i]);
		memset(buf, 'z', sizeof(buf));
		CHECKF(fetch_ctl_file(path, strlen(path), buf, sizeof(buf)) &&
		        same(buf, files[i]),
		    "%s", path);
	}
	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		bool ok;

		memset(buf, 'z', sizeof(buf));
		buf[sizeof(buf) - 1] = '\0';
		ok = fetch_ctl_file(
		    t[i].path, strlen(t[i].path), buf, sizeof(buf));
		if (t[i].file != NULL)
			CHECKF(ok && same(buf, t[i].file), "%s", t[i].path);
		else
			CHECKF(!ok, "%s", t[i].path);
	}
	/* <len> bounds the path; a NUL inside is just a byte. */
	CHECK(fetch_ctl_file("/authrootstl.cabXYZ", 16, buf, sizeof(buf)) &&
	    same(buf, "authrootstl.cab"));
	CHECK(!fetch_ctl_file("/authrootstl.cab\0", 17, buf, sizeof(buf)));
	CHECK(!fetch_ctl_file("/authroot\0stl.cab", 17, buf, sizeof(buf)));
	CHECK(!fetch_ctl_file(NULL, 0, buf, sizeof(buf)));
	/* Too small a buffer: still a match, but an empty copy. */
	memset(buf, 'z', sizeof(buf));
	CHECK(fetch_ctl_file("/roots.sst", 10, buf, 9) && buf[0] == '\0');
	CHECK(fetch_ctl_file("/roots.sst", 10, buf, 10) &&
	    same(buf, "roots.sst"));
	CHECK(fetch_ctl_file("/roots.sst", 10, NULL, 0));
	CHECK(fetch_ctl_file("/roots.sst", 10, buf, 0));
}

/*
 * Roots fetched by thumbprint: the certificate whose SHA-1 is the one
 * named, DER or PEM, and no other.
 */
static void
test_thumbprint(const struct pki *p)
{
	struct buf ca = cert_der(p->ca), leaf = cert_der(p->leaf);
	struct buf pem = cert_pem(p->ca);
	unsigned char md[20], bad[20];
	unsigned int n = 0;

	CHECK(EVP_Digest(ca.d, ca.n, md, &n, EVP_sha1(), NULL) == 1 && n == 20);
	memcpy(bad, md, 20);
	bad[19] ^= 1;
	CHECK(fetch_thumbprint_matches(ca.d, ca.n, md));
	CHECK(fetch_thumbprint_matches(pem.d, pem.n, md));
	CHECK(!fetch_thumbprint_matches(ca.d, ca.n, bad));
	CHECK(!fetch_thumbprint_matches(leaf.d, leaf.n, md));
	CHECK(!fetch_thumbprint_matches(ca.d, ca.n - 1, md));
	CHECK(!fetch_thumbprint_matches(pem.d, pem.n / 2, md));
	CHECK(!fetch_thumbprint_matches(NULL, 0, md));
	CHECK(!fetch_thumbprint_matches(ca.d, ca.n, NULL));
	buf_free(&ca);
	buf_free(&leaf);
	buf_free(&pem);
}

/* An extension <oid> of <n> bytes of filler in an OCTET STRING. */
static X509_EXTENSION *
filler_ext(const char *oid, size_t n)
{
	unsigned char *v = malloc(n + 8);
	ASN1_OCTET_STRING *os = ASN1_OCTET_STRING_new();
	ASN1_OBJECT *obj = OBJ_txt2obj(oid, 1);
	X509_EXTENSION *ext;
	size_t hl = n < 0x80 ? 2 : n < 0x100 ? 3 : n < 0x10000 ? 4 : 5;

	if (v == NULL || os == NULL || obj == NULL)
		abort();
	/* The value itself an OCTET STRING: whole DER. */
	v[0] = 0x04;
	if (hl == 2) {
		v[1] = (unsigned char)n;
	} else {
		v[1] = (unsigned char)(0x80 | (hl - 2));
		for (size_t i = 0; i < hl - 2; i++)
			v[2 + i] = (unsigned char)(n >> (8 * (hl - 3 - i)));
	}
	memset(v + hl, 'p', n);
	if (ASN1_OCTET_STRING_set(os, v, (int)(n + hl)) != 1 ||
	    (ext = X509_EXTENSION_create_by_OBJ(NULL, obj, 0, os)) == NULL)
		abort();
	ASN1_OCTET_STRING_free(os);
	ASN1_OBJECT_free(obj);
	free(v);
	return ext;
}

/*
 * CRL extensions and signatures: a small private extension is counted,
 * a 160 KiB one refused; a CRL whose issuer is known verifies or is
 * refused, one whose issuer is not is unverified.
 */
static void
test_crl_rules(const struct pki *p)
{
	STACK_OF(X509) *known = sk_X509_new_null(), *other = sk_X509_new_null();
	EVP_PKEY *k2 = make_key();
	X509 *ca2 = make_cert("ocspgate test CA", "02", k2, NULL, k2);
	X509_EXTENSION *small = filler_ext("1.3.6.1.4.1.99999.5", 100);
	X509_EXTENSION *big = filler_ext("1.3.6.1.4.1.99999.6", 160 * 1024);
	X509_CRL *c;
	struct fetch_crl_facts f;
	struct buf b;
	const char *d;

	if (known == NULL || other == NULL || sk_X509_push(known, p->ca) <= 0 ||
	    sk_X509_push(other, p->leaf) <= 0)
		abort();
	c = make_crl(p->ca, p->ca_key, 3, "10", true, small);
	b = crl_der(c);
	CHECK(fetch_inspect_crl(b.d, b.n, NULL, &f, &d) == REASON_NONE &&
	    f.unknown_extensions == 1 && !f.verified);
	CHECK(fetch_inspect_crl(b.d, b.n, known, &f, &d) == REASON_NONE &&
	    f.verified);
	CHECK(fetch_inspect_crl(b.d, b.n, other, &f, &d) == REASON_NONE &&
	    !f.verified);
	buf_free(&b);
	X509_CRL_free(c);

	/* The issuer's name known, the signature another key's. */
	c = make_crl(p->ca, k2, 3, "10", true, NULL);
	b = crl_der(c);
	sk_X509_zero(other);
	if (sk_X509_push(other, p->ca) <= 0)
		abort();
	CHECK(fetch_inspect_crl(b.d, b.n, other, &f, &d) ==
	        REASON_RESPONSE_MALFORMED &&
	    same(d, "CRL signature does not verify with its issuer's key"));
	/* Two CAs of that name, one of them the signer: verified. */
	if (sk_X509_push(other, ca2) <= 0)
		abort();
	CHECK(fetch_inspect_crl(b.d, b.n, other, &f, &d) == REASON_NONE &&
	    f.verified);
	buf_free(&b);
	X509_CRL_free(c);

	/*
	 * A known CA with a key identifier (0x33): a CRL naming another key
	 * of that name (a renewed CA's, 0x44) is unverified, not refused; one
	 * naming the known key but signed by another is refused.
	 */
	{
		EVP_PKEY *k4 = make_key();
		X509 *ca3 = make_cert_kid(
		    "ocspgate test CA", "0A", k2, NULL, k2, 0x33, 0x33);
		STACK_OF(X509) *ca3s = sk_X509_new_null();

		if (ca3s == NULL || sk_X509_push(ca3s, ca3) <= 0)
			abort();
		for (int kid = 0x33; kid <= 0x44; kid += 0x11) {
			AUTHORITY_KEYID *ak = AUTHORITY_KEYID_new();
			X509_EXTENSION *x;

			if (ak == NULL)
				abort();
			ak->keyid = make_keyid(kid);
			x = X509V3_EXT_i2d(NID_authority_key_identifier, 0, ak);
			if (x == NULL)
				abort();
			c = make_crl(p->ca, k4, 3, "10", true, x);
			b = crl_der(c);
			if (kid == 0x33)
				CHECK(fetch_inspect_crl(b.d, b.n, ca3s, &f,
				          &d) == REASON_RESPONSE_MALFORMED &&
				    same(d,
				        "CRL signature does not verify "
				        "with its issuer's key"));
			else
				CHECK(fetch_inspect_crl(b.d, b.n, ca3s, &f,
				          &d) == REASON_NONE &&
				    !f.verified);
			buf_free(&b);
			X509_CRL_free(c);
			X509_EXTENSION_free(x);
			AUTHORITY_KEYID_free(ak);
		}
		sk_X509_free(ca3s);
		X509_free(ca3);
		EVP_PKEY_free(k4);
	}

	c = make_crl(p->ca, p->ca_key, 3, "10", true, big);
	crl_refused(crl_der(c), "unknown extension over 256 bytes", __LINE__);
	X509_CRL_free(c);

	/* A junk signature of no algorithm's length. */
	c = make_crl(p->ca, p->ca_key, 1, "10", true, NULL);
	b = crl_der(c);
	{
		/* The ECDSA signature ends the CRL: cut its pair short. */
		struct buf cut = buf_of(b.d, b.n);

		cut.d[b.n - 1] ^= 0xff;
		CHECK(fetch_inspect_crl(cut.d, cut.n, known, &f, &d) ==
		        REASON_RESPONSE_MALFORMED &&
		    same(d,
		        "CRL signature does not verify with its issuer's key"));
		buf_free(&cut);
	}
	buf_free(&b);
	X509_CRL_free(c);
	X509_EXTENSION_free(small);
	X509_EXTENSION_free(big);
	sk_X509_free(known);
	sk_X509_free(other);
	X509_free(ca2);
	EVP_PKEY_free(k2);
}

/* Certificates with a private extension: 100 bytes counted, 160 KiB not. */
static void
test_cert_rules(const struct pki *p)
{
	X509 *x = make_cert("ext", "0A", p->leaf_key, p->ca, p->ca_key);
	X509_EXTENSION *small = filler_ext("1.3.6.1.4.1.99999.5", 100);
	X509_EXTENSION *big = filler_ext("1.3.6.1.4.1.99999.6", 160 * 1024);
	struct fetch_cert_facts f;
	struct buf b;
	const char *d;

	if (X509_add_ext(x, small, -1) != 1 ||
	    X509_sign(x, p->ca_key, EVP_sha256()) <= 0)
		abort();
	b = cert_der(x);
	CHECK(fetch_inspect_cert(b.d, b.n, NULL, &f, &d) == REASON_NONE &&
	    f.unknown_extensions == 1);
	buf_free(&b);
	if (X509_add_ext(x, big, -1) != 1 ||
	    X509_sign(x, p->ca_key, EVP_sha256()) <= 0)
		abort();
	cert_refused(cert_der(x), "unknown extension over 256 bytes", __LINE__);
	X509_EXTENSION_free(small);
	X509_EXTENSION_free(big);
	X509_free(x);
}

/* One row of test_cert_signatures(). */
struct cert_sig_case {
	const char *name;
	struct buf body;
	const STACK_OF(X509) * known;
	const char *refused; /* NULL: accepted */
	bool verified;
	size_t count;
};

/*
 * Issuer certificates verified like CRLs: with a known CA of the
 * issuer's name (and of the key its authorityKeyIdentifier names, when
 * both say) the signature must verify with its key (verified), else the
 * answer is refused; with no known CA of that name, or one whose key is
 * another (a CA that renewed its key), it is unverified. A .p7c is
 * verified when each of its certificates is.
 */
static void
test_cert_signatures(const struct pki *p)
{
	EVP_PKEY *k2 = make_key(), *k3 = make_key();
	/* A CA of the test CA's name with another key; one of another name. */
	X509 *ca2 = make_cert("ocspgate test CA", "02", k2, NULL, k2);
	X509 *other = make_cert("other CA", "03", k3, NULL, k3);
	X509 *forged = make_cert("leaf", "04", p->leaf_key, p->ca, k2);
	X509 *stranger = make_cert("leaf", "05", p->leaf_key, other, k3);
	/* The test CA's name with key identifiers: a CA (0x33, key k2), what
	 * it signed, what its renewed key (0x44, k3) signed, and a forgery
	 * naming its key. */
	X509 *ca3 =
	    make_cert_kid("ocspgate test CA", "06", k2, NULL, k2, 0x33, 0x33);
	X509 *kid_good =
	    make_cert_kid("leaf", "07", p->leaf_key, ca3, k2, 0, 0x33);
	X509 *kid_renewed =
	    make_cert_kid("leaf", "08", p->leaf_key, ca3, k3, 0, 0x44);
	X509 *kid_forged =
	    make_cert_kid("leaf", "09", p->leaf_key, ca3, k3, 0, 0x33);
	STACK_OF(X509) *ca3s = sk_X509_new_null();
	STACK_OF(X509) *ca = sk_X509_new_null(), *both = sk_X509_new_null(),
	               *ca2s = sk_X509_new_null(), *chain = sk_X509_new_null(),
	               *mixed = sk_X509_new_null(), *bad = sk_X509_new_null();
	PKCS7 *p7chain, *p7mixed, *p7bad;
	static const char wrong[] =
	    "certificate signature does not verify with its issuer's key";
	struct cert_sig_case t[15];
	size_t n = 0;

	if (ca3s == NULL || sk_X509_push(ca3s, ca3) <= 0)
		abort();
	if (ca == NULL || both == NULL || ca2s == NULL || chain == NULL ||
	    mixed == NULL || bad == NULL || sk_X509_push(ca, p->ca) <= 0 ||
	    sk_X509_push(both, p->ca) <= 0 || sk_X509_push(both, ca2) <= 0 ||
	    sk_X509_push(ca2s, ca2) <= 0 || sk_X509_push(chain, p->leaf) <= 0 ||
	    sk_X509_push(chain, p->ca) <= 0 ||
	    sk_X509_push(mixed, p->leaf) <= 0 ||
	    sk_X509_push(mixed, stranger) <= 0 ||
	    sk_X509_push(bad, p->leaf) <= 0 || sk_X509_push(bad, forged) <= 0)
		abort();
	p7chain = make_certs_only(chain);
	p7mixed = make_certs_only(mixed);
	p7bad = make_certs_only(bad);
#define ROW(nm, b, k, r, v, c)                                                 \
	t[n++] = (struct cert_sig_case){nm, b, k, r, v, c}
	ROW("verified", cert_der(p->leaf), ca, NULL, true, 1);
	ROW("no known CAs", cert_der(p->leaf), NULL, NULL, false, 1);
	ROW("unknown issuer", cert_der(stranger), ca, NULL, false, 1);
	ROW("wrong key refused", cert_der(forged), ca, wrong, false, 0);
	ROW("one of two CAs of the name", cert_der(forged), both, NULL, true,
	    1);
	ROW("PEM verified", cert_pem(p->leaf), ca, NULL, true, 1);
	ROW("PEM wrong key refused", cert_pem(forged), ca, wrong, false, 0);
	/* A root signs with its own key: another key's is not the known
	 * one's to verify. */
	ROW("a root of a known name, another key", cert_der(p->ca), ca2s, NULL,
	    false, 1);
	ROW(".p7c chain verified", p7_der(p7chain), ca, NULL, true, 2);
	ROW(".p7c PEM chain verified", p7_pem(p7chain), ca, NULL, true, 2);
	ROW(".p7c one unknown issuer", p7_der(p7mixed), ca, NULL, false, 2);
	ROW(".p7c one wrong key refused", p7_der(p7bad), ca, wrong, false, 0);
	ROW("the key its authority key identifier names", cert_der(kid_good),
	    ca3s, NULL, true, 1);
	ROW("a renewed key of a known name: unverified", cert_der(kid_renewed),
	    ca3s, NULL, false, 1);
	ROW("naming the known key, signed by another: refused",
	    cert_der(kid_forged), ca3s, wrong, false, 0);
#undef ROW
	for (size_t i = 0; i < n; i++) {
		struct fetch_cert_facts f;
		const char *d = "unset";
		enum reason r;

		queue_mark();
		r = fetch_inspect_cert(
		    t[i].body.d, t[i].body.n, t[i].known, &f, &d);
		CHECK(queue_as_found());
		if (t[i].refused != NULL) {
			if (!(r == REASON_RESPONSE_MALFORMED &&
			        same(d, t[i].refused)))
				printf("cert signature '%s': got %s\n",
				    t[i].name, d != NULL ? d : "accepted");
			CHECK(r == REASON_RESPONSE_MALFORMED &&
			    same(d, t[i].refused));
		} else {
			if (!(r == REASON_NONE && f.verified == t[i].verified &&
			        f.count == t[i].count))
				printf("cert signature '%s': %s, verified %d, "
				       "count %zu\n",
				    t[i].name, d != NULL ? d : "accepted",
				    f.verified, f.count);
			CHECK(r == REASON_NONE && d == NULL &&
			    f.verified == t[i].verified &&
			    f.count == t[i].count);
		}
		buf_free(&t[i].body);
	}
	PKCS7_free(p7chain);
	PKCS7_free(p7mixed);
	PKCS7_free(p7bad);
	sk_X509_free(ca);
	sk_X509_free(both);
	sk_X509_free(ca2s);
	sk_X509_free(ca3s);
	sk_X509_free(chain);
	sk_X509_free(mixed);
	sk_X509_free(bad);
	X509_free(ca3);
	X509_free(kid_good);
	X509_free(kid_renewed);
	X509_free(kid_forged);
	X509_free(ca2);
	X509_free(other);
	X509_free(forged);
	X509_free(stranger);
	EVP_PKEY_free(k2);
	EVP_PKEY_free(k3);
}

int
main(void)
{
	struct pki p;

	p.ca_key = make_key();
	p.leaf_key = make_key();
	p.ca = make_cert("ocspgate test CA", "01", p.ca_key, NULL, p.ca_key);
	p.leaf = make_cert("leaf", "ABCDEF", p.leaf_key, p.ca, p.ca_key);

	test_crl_accepted(&p);
	test_crl_refused(&p);
	test_crl_fixture();
	test_crl_rules(&p);
	test_cert_rules(&p);
	test_cert_signatures(&p);
	test_cert_accepted(&p);
	test_cert_serials(&p);
	test_cert_refused(&p);
	test_cert_fixtures();
	test_ctl_files(&p);
	test_ctl_text();
	test_ctl_names();
	test_ctl_file();
	test_thumbprint(&p);

	X509_free(p.ca);
	X509_free(p.leaf);
	EVP_PKEY_free(p.ca_key);
	EVP_PKEY_free(p.leaf_key);
	return check_done();
}
