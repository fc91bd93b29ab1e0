/*
 * Unit tests for ctl.c: trust lists built at test time as Microsoft lays
 * them out (ctl_make.h), each accepted whole and then broken one field
 * at a time; cabinets stored and MSZIP-compressed; serialized stores of
 * certificates. What a list may not carry (arbitrary content, long or
 * foreign attributes and extensions, bytes after the fields, a second
 * file, junk after a valid header) is refused with its reason.
 */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pkcs7.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "ocspgate/ctl.h"

#include "check.h"
#include "ctl_make.h"

struct pki {
	EVP_PKEY *ca_key, *signer_key;
	X509 *ca;     /* a root, the known CA */
	X509 *signer; /* issued by ca: signs the lists */
	X509 *other;  /* a self-signed CA nobody knows */
};

static EVP_PKEY *
make_key(void)
{
	EVP_PKEY *key = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");

	if (key == NULL)
		abort();
	return key;
}

/* A certificate; with <ext_len> > 0 a private extension of that size. */
static X509 *
make_cert(const char *cn, long serial, EVP_PKEY *key, X509 *issuer,
    EVP_PKEY *issuer_key, bool ca, size_t ext_len)
{
	X509 *x = X509_new();
	X509_NAME *name = X509_NAME_new();
	X509V3_CTX ctx;
	X509_EXTENSION *ext;

	if (x == NULL || name == NULL ||
	    ASN1_INTEGER_set(X509_get_serialNumber(x), serial) != 1 ||
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
	X509V3_set_ctx(&ctx, issuer != NULL ? issuer : x, x, NULL, NULL, 0);
	if (ca) {
		if ((ext = X509V3_EXT_nconf_nid(NULL, &ctx,
		         NID_basic_constraints, "critical,CA:TRUE")) == NULL ||
		    X509_add_ext(x, ext, -1) != 1)
			abort();
		X509_EXTENSION_free(ext);
	}
	if (ext_len > 0) {
		unsigned char *v = malloc(ext_len);
		ASN1_OCTET_STRING *os = ASN1_OCTET_STRING_new();
		ASN1_OBJECT *obj = OBJ_txt2obj("1.3.6.1.4.1.99999.7", 1);

		if (v == NULL || os == NULL || obj == NULL)
			abort();
		memset(v, 'p', ext_len);
		if (ASN1_OCTET_STRING_set(os, v, (int)ext_len) != 1 ||
		    (ext = X509_EXTENSION_create_by_OBJ(NULL, obj, 0, os)) ==
		        NULL ||
		    X509_add_ext(x, ext, -1) != 1)
			abort();
		X509_EXTENSION_free(ext);
		ASN1_OCTET_STRING_free(os);
		ASN1_OBJECT_free(obj);
		free(v);
	}
	if (X509_sign(x, issuer_key, EVP_sha256()) <= 0)
		abort();
	X509_NAME_free(name);
	return x;
}

static X509_STORE *
store_of(X509 *x)
{
	X509_STORE *st = X509_STORE_new();

	if (st == NULL || X509_STORE_add_cert(st, x) != 1)
		abort();
	return st;
}

static bool
queue_clean(void)
{
	bool clean = ERR_peek_error() == 0;

	ERR_clear_error();
	return clean;
}

/* Checks that <why> is <want> (NULL: accepted); frees <b>. */
static void
expect(const char *what, const char *why, const char *want, struct mk *b)
{
	CHECKF(why == want ||
	        (why != NULL && want != NULL && strcmp(why, want) == 0),
	    "%s: got \"%s\", want \"%s\"", what, why ? why : "accepted",
	    want ? want : "accepted");
	CHECKF(queue_clean(), "%s: OpenSSL error queue not empty", what);
	free(b->d);
	b->d = NULL;
}

static struct mk
signed_list(const struct pki *p, const struct mk_ctl *c)
{
	struct mk list = mk_ctl_list(c);
	struct mk p7 =
	    mk_ctl_signed(&list, p->signer, p->signer_key, p->ca, false);

	free(list.d);
	return p7;
}

static void
test_pkcs7(const struct pki *p)
{
	X509_STORE *known = store_of(p->ca), *other = store_of(p->other);
	struct mk_ctl good = {.entries = 40, .attr_len = 30};
	struct ctl_facts f;
	struct mk b, list;
	const char *why;

	b = signed_list(p, &good);
	why = ctl_pkcs7(b.d, b.n, NULL, &f);
	CHECK(f.entries == 40 && !f.verified);
	/* Its ThisUpdate, UTCTime 250616175611Z: a judged answer's date. */
	CHECK(f.this_update == 1750096571);
	expect("a list, no known CA", why, NULL, &b);
	{
		/* Other times: GeneralizedTime, UTCTime's 1950..2049 window;
		 * fractions and impossible dates give no date (0) and pass. */
		static const struct {
			int tag;
			const char *text;
			time_t want;
		} times[] = {{0x18, "20250616175611Z", 1750096571},
		    {0x17, "490101000000Z", 2493072000},
		    {0x17, "700101000001Z", 1},
		    {0x17, "500101000000Z", 0}, /* 1950: before 1970 */
		    {0x18, "20250616175611.5Z", 0},
		    {0x18, "20250231000000Z", 0}};

		for (size_t i = 0; i < sizeof(times) / sizeof(times[0]); i++) {
			struct mk_ctl tc = {.entries = 2,
			    .time_tag = times[i].tag,
			    .time = times[i].text};

			b = signed_list(p, &tc);
			why = ctl_pkcs7(b.d, b.n, NULL, &f);
			CHECKF(f.this_update == times[i].want, "%s: %lld",
			    times[i].text, (long long)f.this_update);
			expect(times[i].text, why, NULL, &b);
		}
	}
	b = signed_list(p, &good);
	why = ctl_pkcs7(b.d, b.n, known, &f);
	CHECK(f.entries == 40 && f.verified);
	expect("a list, its CA known", why, NULL, &b);
	b = signed_list(p, &good);
	why = ctl_pkcs7(b.d, b.n, other, &f);
	CHECK(!f.verified);
	expect("a list, another CA known", why, NULL, &b);
	b = signed_list(p, &(struct mk_ctl){.entries = 0});
	expect("an empty list", ctl_pkcs7(b.d, b.n, NULL, &f), NULL, &b);
	b = signed_list(p, &(struct mk_ctl){.entries = 3, .ext_len = 3000});
	expect(
	    "Microsoft's extension", ctl_pkcs7(b.d, b.n, NULL, &f), NULL, &b);

	/* What a list may not carry. */
	b = signed_list(p, &(struct mk_ctl){.entries = 2, .attr_len = 5000});
	expect("5 KB attribute", ctl_pkcs7(b.d, b.n, NULL, &f),
	    "trust list attribute value not of its shape", &b);
	b = signed_list(p,
	    &(struct mk_ctl){
	        .entries = 2, .attr_len = 10, .attr = "1.3.6.1.4.1.99999.1"});
	expect("foreign attribute", ctl_pkcs7(b.d, b.n, NULL, &f),
	    "trust list attribute not of its shape", &b);
	b = signed_list(
	    p, &(struct mk_ctl){.entries = 2, .usage = "1.3.6.1.5.5.7.3.1"});
	expect("foreign usage", ctl_pkcs7(b.d, b.n, NULL, &f),
	    "trust list subject usage not Microsoft's", &b);
	b = signed_list(p, &(struct mk_ctl){.entries = 2, .ext_len = 20000});
	expect("20 KB extension", ctl_pkcs7(b.d, b.n, NULL, &f),
	    "trust list extension not Microsoft's or too long", &b);
	b = signed_list(p,
	    &(struct mk_ctl){
	        .entries = 2, .ext_len = 10, .ext = "1.3.6.1.4.1.99999.2"});
	expect("foreign extension", ctl_pkcs7(b.d, b.n, NULL, &f),
	    "trust list extension not Microsoft's", &b);
	b = signed_list(p, &(struct mk_ctl){.entries = 2, .trailing = 4000});
	expect("bytes after the fields", ctl_pkcs7(b.d, b.n, NULL, &f),
	    "trust list holds more than its fields", &b);
	b = signed_list(p, &(struct mk_ctl){.entries = 2, .version = true});
	expect("explicit v1", ctl_pkcs7(b.d, b.n, NULL, &f),
	    "trust list version not v1 left out", &b);

	/* The signature. */
	list = mk_ctl_list(&good);
	b = mk_ctl_signed(&list, p->signer, p->signer_key, p->ca, true);
	expect("digest of other bytes", ctl_pkcs7(b.d, b.n, NULL, &f),
	    "trust list digest does not match its content", &b);
	b = mk_ctl_signed(&list, p->signer, p->signer_key, p->ca, false);
	/* The signature is last: its final octet, changed. */
	b.d[b.n - 1] ^= 0x01;
	why = ctl_pkcs7(b.d, b.n, NULL, &f);
	CHECKF(why != NULL, "junk signature accepted");
	expect("junk signature", why, why, &b);
	free(list.d);

	/* Content that is not a list, as PKCS#7 data. */
	{
		PKCS7 *p7;
		BIO *in = BIO_new_mem_buf("arbitrary content", -1);
		unsigned char *der = NULL;
		int n;

		p7 = PKCS7_sign(p->signer, p->signer_key, NULL, in,
		    PKCS7_BINARY | PKCS7_NOSMIMECAP);
		if (p7 == NULL || (n = i2d_PKCS7(p7, &der)) <= 0)
			abort();
		b.d = der;
		b.n = (size_t)n;
		why = ctl_pkcs7(b.d, b.n, NULL, &f);
		b.d = malloc(1);
		expect("signed data", why,
		    "PKCS#7 content not a certificate trust list", &b);
		OPENSSL_free(der);
		PKCS7_free(p7);
		BIO_free(in);
	}
	b.d = malloc(8);
	memcpy(b.d, "\x30\x03\x02\x01\x01", 5);
	expect(
	    "not PKCS#7", ctl_pkcs7(b.d, 5, NULL, &f), "not a DER PKCS#7", &b);
	X509_STORE_free(known);
	X509_STORE_free(other);
}

/* A signer certificate with a 160 KiB private extension. */
static void
test_big_certificate(const struct pki *p)
{
	X509 *fat = make_cert("fat signer", 9, p->signer_key, p->ca, p->ca_key,
	    false, 160 * 1024);
	struct mk_ctl good = {.entries = 2};
	struct mk list = mk_ctl_list(&good);
	struct mk b = mk_ctl_signed(&list, fat, p->signer_key, p->ca, false);
	struct ctl_facts f;

	expect("160 KiB extension in a certificate",
	    ctl_pkcs7(b.d, b.n, NULL, &f), "unknown extension over 256 bytes",
	    &b);
	free(list.d);
	X509_free(fat);
}

static void
test_cab(const struct pki *p)
{
	struct mk_ctl big = {.entries = 2000, .attr_len = 40};
	struct mk stl = signed_list(p, &big), b;
	struct ctl_facts f;
	const char *why;

	CHECK(stl.n > 3 * 32768);
	b = mk_cab("authroot.stl", &stl, true, 0);
	why = ctl_cab(b.d, b.n, "authroot.stl", 1 << 24, NULL, &f);
	CHECK(f.entries == 2000);
	expect("MSZIP cabinet", why, NULL, &b);
	b = mk_cab("authroot.stl", &stl, false, 0);
	expect("stored cabinet",
	    ctl_cab(b.d, b.n, "AuthRoot.STL", 1 << 24, NULL, &f), NULL, &b);
	b = mk_cab("authroot.stl", &stl, true, 0);
	expect("over the size limit",
	    ctl_cab(b.d, b.n, "authroot.stl", stl.n - 1, NULL, &f),
	    "cabinet file size not its blocks'", &b);
	b = mk_cab("pinrules.stl", &stl, true, 0);
	expect("another file",
	    ctl_cab(b.d, b.n, "authroot.stl", 1 << 24, NULL, &f),
	    "cabinet file not the trust list its name implies", &b);
	b = mk_cab("authroot.stl", &stl, true, 4096);
	expect("bytes after the blocks",
	    ctl_cab(b.d, b.n, "authroot.stl", 1 << 24, NULL, &f),
	    "bytes after the cabinet's blocks", &b);
	b = mk_cab("authroot.stl", &stl, true, 0);
	b.d[b.n - 7] ^= 0x10;
	expect("a flipped byte",
	    ctl_cab(b.d, b.n, "authroot.stl", 1 << 24, NULL, &f),
	    "cabinet block checksum wrong", &b);
	/* A valid header, then random bytes. */
	b = mk_cab("authroot.stl", &stl, true, 0);
	for (size_t i = 80; i < b.n; i++)
		b.d[i] = (unsigned char)(i * 2654435761u >> 24);
	why = ctl_cab(b.d, b.n, "authroot.stl", 1 << 24, NULL, &f);
	CHECKF(why != NULL, "random blocks accepted");
	expect("valid header, random bytes", why, why, &b);
	b = mk_cab("authroot.stl", &stl, true, 0);
	b.d[8] ^= 1;
	expect("size", ctl_cab(b.d, b.n, "authroot.stl", 1 << 24, NULL, &f),
	    "cabinet size does not match the body", &b);
	b = mk_cab("authroot.stl", &stl, true, 0);
	b.d[28] = 2; /* two files */
	expect("two files",
	    ctl_cab(b.d, b.n, "authroot.stl", 1 << 24, NULL, &f),
	    "cabinet not of one folder and one file", &b);
	/* A cabinet of something signed that is not a list. */
	{
		struct mk txt = {0};

		mk_put(&txt, "hello, world", 12);
		b = mk_cab("authroot.stl", &txt, true, 0);
		expect("a cabinet of text",
		    ctl_cab(b.d, b.n, "authroot.stl", 1 << 24, NULL, &f),
		    "not a DER PKCS#7", &b);
		free(txt.d);
	}
	free(stl.d);
}

static void
test_store(const struct pki *p)
{
	struct ctl_facts f;
	struct mk b = {0};
	X509 *fat = make_cert("fat root", 11, p->signer_key, NULL,
	    p->signer_key, true, 160 * 1024);

	mk_store_begin(&b);
	mk_store_cert(&b, p->ca);
	mk_store_cert(&b, p->other);
	mk_store_end(&b);
	CHECK(ctl_is_store(b.d, b.n));
	expect("two roots", ctl_store(b.d, b.n, &f), NULL, &b);

	b.n = 0;
	mk_store_begin(&b);
	mk_store_cert(&b, p->ca);
	expect("no end", ctl_store(b.d, b.n, &f), "certificate store cut short",
	    &b);
	b.n = 0;
	mk_store_begin(&b);
	mk_store_cert(&b, p->ca);
	mk_store_end(&b);
	mk_put(&b, "x", 1);
	expect("bytes after the end", ctl_store(b.d, b.n, &f),
	    "bytes after the certificate store", &b);
	b.n = 0;
	mk_store_begin(&b);
	mk_store_element(&b, 1000, "arbitrary content", 17);
	mk_store_cert(&b, p->ca);
	mk_store_end(&b);
	expect("unknown property", ctl_store(b.d, b.n, &f),
	    "certificate store element not a certificate or a known property",
	    &b);
	b.n = 0;
	mk_store_begin(&b);
	mk_store_element(&b, 33, "\x30\x00", 2); /* a CRL */
	mk_store_end(&b);
	expect("a CRL", ctl_store(b.d, b.n, &f),
	    "certificate store element not a certificate or a known property",
	    &b);
	b.n = 0;
	mk_store_begin(&b);
	mk_store_element(&b, 3, "01234567890123456789", 20);
	mk_store_element(&b, 32, "", 0);
	mk_store_end(&b);
	expect("an empty certificate", ctl_store(b.d, b.n, &f),
	    "not a DER certificate", &b);
	b.n = 0;
	mk_store_begin(&b);
	mk_store_element(&b, 3, "01234567890123456789", 20);
	mk_store_cert(&b, p->ca);
	mk_store_end(&b);
	expect("a hash property twice", ctl_store(b.d, b.n, &f),
	    "certificate store property repeated", &b);
	b.n = 0;
	mk_store_begin(&b);
	mk_store_element(&b, 29, "0123456789abcdef", 16);
	mk_store_cert(&b, p->ca);
	mk_store_end(&b);
	expect("a hash of something else", ctl_store(b.d, b.n, &f),
	    "certificate store property not the certificate's", &b);
	b.n = 0;
	mk_store_begin(&b);
	mk_store_cert(&b, p->ca);
	mk_store_element(&b, 11, "R\0\0\0", 4);
	mk_store_end(&b);
	expect("a property without its certificate", ctl_store(b.d, b.n, &f),
	    "certificate store property without its certificate", &b);
	b.n = 0;
	mk_store_begin(&b);
	mk_store_cert(&b, fat);
	mk_store_end(&b);
	expect("a 160 KiB extension", ctl_store(b.d, b.n, &f),
	    "certificate over 32 KiB", &b);
	b.d = malloc(8);
	memcpy(b.d, "CERT\0\0\0\0", 8);
	CHECK(!ctl_is_store(b.d, 8));
	expect("not a store", ctl_store(b.d, 8, &f),
	    "not a serialized certificate store", &b);
	X509_free(fat);
}

int
main(void)
{
	struct pki p;

	p.ca_key = make_key();
	p.signer_key = make_key();
	p.ca = make_cert(
	    "ocspgate test root", 1, p.ca_key, NULL, p.ca_key, true, 0);
	p.signer = make_cert("ocspgate test list signer", 2, p.signer_key, p.ca,
	    p.ca_key, false, 0);
	p.other = make_cert("ocspgate other root", 3, p.signer_key, NULL,
	    p.signer_key, true, 0);
	test_pkcs7(&p);
	test_big_certificate(&p);
	test_cab(&p);
	test_store(&p);
	X509_free(p.ca);
	X509_free(p.signer);
	X509_free(p.other);
	EVP_PKEY_free(p.ca_key);
	EVP_PKEY_free(p.signer_key);
	return check_done();
}
