/*
 * Unit tests for candidate.c: the class names, and the evidence of
 * answers: OCSP responses, CRLs and certificates signed by throwaway CAs
 * made in memory, checked against a trust store holding one of them.
 * Which class a request is a candidate of is policy_decide()'s, tested
 * in test_policy.c.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/ocsp.h>
#include <openssl/pem.h>
#include <openssl/pkcs7.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "check.h"
#include "ocspgate/candidate.h"

static EVP_PKEY *t_ca_key, *t_other_key, *t_leaf_key, *t_signer_key;
static X509 *t_ca, *t_other_ca, *t_leaf, *t_signer, *t_plain;
static X509_STORE *t_store;
static STACK_OF(X509) * t_cas;

static void fail(const char *what) __attribute__((noreturn));

static void
fail(const char *what)
{
	(void)fprintf(stderr, "setup: %s failed\n", what);
	exit(2);
}

static void
add_ext(X509 *x, X509 *issuer, int nid, const char *value)
{
	X509V3_CTX ctx;
	X509_EXTENSION *ext;

	X509V3_set_ctx(&ctx, issuer != NULL ? issuer : x, x, NULL, NULL, 0);
	if ((ext = X509V3_EXT_conf_nid(NULL, &ctx, nid, value)) == NULL ||
	    X509_add_ext(x, ext, -1) != 1)
		fail("extension");
	X509_EXTENSION_free(ext);
}

/*
 * A certificate for <cn> with serial <serial>, signed by <issuer> (self-
 * signed when NULL); <ca> gives it CA:TRUE, <eku> an extendedKeyUsage.
 */
static X509 *
make_cert(const char *cn, long serial, EVP_PKEY *key, X509 *issuer,
    EVP_PKEY *issuer_key, bool ca, const char *eku)
{
	X509 *x = X509_new();
	X509_NAME *name = X509_NAME_new();

	if (x == NULL || name == NULL || X509_set_version(x, 2) != 1 ||
	    ASN1_INTEGER_set(X509_get_serialNumber(x), serial) != 1 ||
	    X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
	        (const unsigned char *)cn, -1, -1, 0) != 1 ||
	    X509_set_subject_name(x, name) != 1 ||
	    X509_set_issuer_name(x,
	        issuer != NULL ? X509_get_subject_name(issuer) : name) != 1 ||
	    X509_gmtime_adj(X509_getm_notBefore(x), -3600) == NULL ||
	    X509_gmtime_adj(X509_getm_notAfter(x), 86400) == NULL ||
	    X509_set_pubkey(x, key) != 1)
		fail("certificate");
	add_ext(x, issuer, NID_basic_constraints,
	    ca ? "critical,CA:TRUE" : "critical,CA:FALSE");
	if (ca)
		add_ext(
		    x, issuer, NID_key_usage, "critical,keyCertSign,cRLSign");
	if (eku != NULL)
		add_ext(x, issuer, NID_ext_key_usage, eku);
	if (X509_sign(x, issuer_key != NULL ? issuer_key : key, EVP_sha256()) <=
	    0)
		fail("X509_sign");
	X509_NAME_free(name);
	return x;
}

/*
 * A successful OCSP response saying "good" about <leaf> of <issuer>,
 * signed by <signer> with <key>; <with_cert> includes the signer.
 * Returns its DER (OPENSSL_malloc'd) and length.
 */
static unsigned char *
make_response(X509 *leaf, X509 *issuer, X509 *signer, EVP_PKEY *key,
    bool with_cert, size_t *len)
{
	OCSP_BASICRESP *bs = OCSP_BASICRESP_new();
	/* The ID names <issuer> by its own subject and key. */
	OCSP_CERTID *id =
	    OCSP_cert_id_new(EVP_sha1(), X509_get_subject_name(issuer),
	        X509_get0_pubkey_bitstr(issuer), X509_get0_serialNumber(leaf));
	ASN1_TIME *now = X509_gmtime_adj(NULL, 0);
	OCSP_RESPONSE *resp = NULL;
	unsigned char *der = NULL;
	int n;

	if (bs == NULL || id == NULL || now == NULL ||
	    OCSP_basic_add1_status(
	        bs, id, V_OCSP_CERTSTATUS_GOOD, 0, NULL, now, NULL) == NULL ||
	    OCSP_basic_sign(bs, signer, key, EVP_sha256(), NULL,
	        with_cert ? 0 : OCSP_NOCERTS) != 1 ||
	    (resp = OCSP_response_create(
	         OCSP_RESPONSE_STATUS_SUCCESSFUL, bs)) == NULL)
		fail("OCSP response");
	if ((n = i2d_OCSP_RESPONSE(resp, &der)) <= 0)
		fail("i2d_OCSP_RESPONSE");
	*len = (size_t)n;
	OCSP_RESPONSE_free(resp);
	OCSP_BASICRESP_free(bs);
	OCSP_CERTID_free(id);
	ASN1_TIME_free(now);
	return der;
}

/* A CRL named as issued by <issuer>, signed with <key>: DER or PEM. */
static unsigned char *
make_crl(X509 *issuer, EVP_PKEY *key, bool pem, size_t *len)
{
	X509_CRL *crl = X509_CRL_new();
	ASN1_TIME *now = X509_gmtime_adj(NULL, 0);
	unsigned char *der = NULL;
	int n;

	if (crl == NULL || now == NULL || X509_CRL_set_version(crl, 1) != 1 ||
	    X509_CRL_set_issuer_name(crl, X509_get_subject_name(issuer)) != 1 ||
	    X509_CRL_set1_lastUpdate(crl, now) != 1 ||
	    X509_CRL_sign(crl, key, EVP_sha256()) <= 0)
		fail("CRL");
	if (pem) {
		BIO *mem = BIO_new(BIO_s_mem());
		char *p;
		long m;

		if (mem == NULL || PEM_write_bio_X509_CRL(mem, crl) != 1 ||
		    (m = BIO_get_mem_data(mem, &p)) <= 0 ||
		    (der = OPENSSL_malloc((size_t)m)) == NULL)
			fail("PEM CRL");
		memcpy(der, p, (size_t)m);
		*len = (size_t)m;
		BIO_free(mem);
	} else {
		if ((n = i2d_X509_CRL(crl, &der)) <= 0)
			fail("i2d_X509_CRL");
		*len = (size_t)n;
	}
	X509_CRL_free(crl);
	ASN1_TIME_free(now);
	return der;
}

static void
setup(void)
{
	t_ca_key = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	t_other_key = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	t_leaf_key = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	t_signer_key = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	if (t_ca_key == NULL || t_other_key == NULL || t_leaf_key == NULL ||
	    t_signer_key == NULL)
		fail("keygen");
	t_ca = make_cert("cand CA", 1, t_ca_key, NULL, NULL, true, NULL);
	t_other_ca =
	    make_cert("other CA", 2, t_other_key, NULL, NULL, true, NULL);
	t_leaf = make_cert(
	    "leaf", 0x1a2b, t_leaf_key, t_ca, t_ca_key, false, "serverAuth");
	t_signer = make_cert("cand OCSP signer", 0x50, t_signer_key, t_ca,
	    t_ca_key, false, "OCSPSigning");
	/* An ordinary leaf, whose key an attacker could hold. */
	t_plain = make_cert("attacker.example", 0x66, t_signer_key, t_ca,
	    t_ca_key, false, NULL);
	if ((t_store = X509_STORE_new()) == NULL ||
	    X509_STORE_add_cert(t_store, t_ca) != 1 ||
	    (t_cas = sk_X509_new_null()) == NULL || X509_up_ref(t_ca) != 1 ||
	    sk_X509_push(t_cas, t_ca) == 0)
		fail("trust store");
}

static void
teardown(void)
{
	X509_STORE_free(t_store);
	sk_X509_pop_free(t_cas, X509_free);
	X509_free(t_ca);
	X509_free(t_other_ca);
	X509_free(t_leaf);
	X509_free(t_signer);
	X509_free(t_plain);
	EVP_PKEY_free(t_ca_key);
	EVP_PKEY_free(t_other_key);
	EVP_PKEY_free(t_leaf_key);
	EVP_PKEY_free(t_signer_key);
}

static void
test_names(void)
{
	for (unsigned c = CANDIDATE_NONE; c < CANDIDATE_MAX; c++) {
		const char *n = candidate_class_name((enum candidate_class)c);

		if (c == CANDIDATE_NONE) {
			CHECK(n == NULL);
			continue;
		}
		CHECK(n != NULL &&
		    candidate_class_from_name(n, strlen(n)) ==
		        (enum candidate_class)c);
	}
	CHECK(candidate_class_name(CANDIDATE_MAX) == NULL);
	CHECK(candidate_class_from_name("ocs", 3) == CANDIDATE_NONE);
	CHECK(candidate_class_from_name("ocspx", 5) == CANDIDATE_NONE);
	CHECK(candidate_class_from_name("", 0) == CANDIDATE_NONE);
	CHECK(candidate_reason(CANDIDATE_OCSP) == REASON_OCSP_REQUEST);
	CHECK(candidate_reason(CANDIDATE_CRL) == REASON_CRL_REQUEST);
	CHECK(
	    candidate_reason(CANDIDATE_CA_ISSUER) == REASON_CA_ISSUER_REQUEST);
	CHECK(candidate_reason(CANDIDATE_CTL) == REASON_CTL_REQUEST);
	CHECK(candidate_reason(CANDIDATE_NONE) == REASON_NONE);
}

static void
test_verify_ocsp(void)
{
	static const struct {
		const char *name;
		int signer; /* 0 CA, 1 delegated signer, 2 plain leaf,
		               3 other CA */
		bool with_cert;
		int issuer; /* the CertID's: 0 the CA, 2 the plain leaf */
		bool want;
		const char *detail;
	} cases[] = {
	    {"CA signs, no certs", 0, false, 0, true, NULL},
	    {"CA signs, with cert", 0, true, 0, true, NULL},
	    {"delegated signer", 1, true, 0, true, NULL},
	    {"delegated signer, cert missing", 1, false, 0, false,
	        "signer certificate not found"},
	    {"other CA", 3, true, 0, false, NULL},
	    /* RFC 6960 4.2.2.2: an ordinary certificate's key signs for a
	     * certificate ID naming that certificate as issuer. */
	    {"plain leaf as issuer", 2, true, 2, false,
	        "signer is the named issuer but not a CA"},
	};
	X509 *signers[] = {t_ca, t_signer, t_plain, t_other_ca};
	EVP_PKEY *keys[] = {t_ca_key, t_signer_key, t_signer_key, t_other_key};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		X509 *issuer = cases[i].issuer == 0 ? t_ca : t_plain;
		size_t len;
		unsigned char *der =
		    make_response(t_leaf, issuer, signers[cases[i].signer],
		        keys[cases[i].signer], cases[i].with_cert, &len);
		const char *detail = "unset";
		bool ok =
		    candidate_verify_ocsp(der, len, t_store, t_cas, &detail);

		CHECKF(ok == cases[i].want, "%s: %d (%s)", cases[i].name, ok,
		    detail != NULL ? detail : "-");
		CHECKF(ok ? detail == NULL : detail != NULL, "%s: detail",
		    cases[i].name);
		if (cases[i].detail != NULL)
			CHECKF(detail != NULL &&
			        strcmp(detail, cases[i].detail) == 0,
			    "%s: detail %s", cases[i].name,
			    detail != NULL ? detail : "-");
		/* Without a trust store nothing verifies. */
		CHECK(!candidate_verify_ocsp(der, len, NULL, NULL, &detail) &&
		    strcmp(detail, "no trust store") == 0);
		CHECK(ERR_peek_error() == 0);
		OPENSSL_free(der);
	}
}

static void
test_verify_crl_cert(void)
{
	size_t len;
	unsigned char *der;
	const char *detail;

	der = make_crl(t_ca, t_ca_key, false, &len);
	CHECK(candidate_verify_crl(der, len, t_cas, &detail) && detail == NULL);
	CHECK(!candidate_verify_crl(der, len - 1, t_cas, &detail) &&
	    strcmp(detail, "not a CRL") == 0);
	CHECK(!candidate_verify_crl(der, len, NULL, &detail) &&
	    strcmp(detail, "no trust store") == 0);
	OPENSSL_free(der);
	der = make_crl(t_ca, t_ca_key, true, &len);
	CHECK(candidate_verify_crl(der, len, t_cas, &detail) && detail == NULL);
	OPENSSL_free(der);
	/* Named as the CA's, signed by another key. */
	der = make_crl(t_ca, t_other_key, false, &len);
	CHECK(!candidate_verify_crl(der, len, t_cas, &detail) &&
	    strcmp(detail, "signature does not verify") == 0);
	OPENSSL_free(der);
	der = make_crl(t_other_ca, t_other_key, false, &len);
	CHECK(!candidate_verify_crl(der, len, t_cas, &detail) &&
	    strcmp(detail, "issuer not in the trust store") == 0);
	/* A CRL is not a certificate. */
	CHECK(!candidate_verify_cert(der, len, t_cas, &detail) &&
	    strcmp(detail, "not a certificate") == 0);
	OPENSSL_free(der);

	/* Certificates: DER, PEM, certs-only PKCS#7; trust anchors. */
	{
		unsigned char *c = NULL;
		int n = i2d_X509(t_leaf, &c);
		BIO *mem = BIO_new(BIO_s_mem());
		PKCS7 *p7 = PKCS7_new();
		char *pem;
		long m;

		CHECK(n > 0 &&
		    candidate_verify_cert(c, (size_t)n, t_cas, &detail) &&
		    detail == NULL);
		OPENSSL_free(c);
		c = NULL;
		n = i2d_X509(t_other_ca, &c);
		CHECK(n > 0 &&
		    !candidate_verify_cert(c, (size_t)n, t_cas, &detail) &&
		    strcmp(detail, "issuer not in the trust store") == 0);
		OPENSSL_free(c);
		c = NULL;
		n = i2d_X509(t_ca, &c);
		CHECK(n > 0 &&
		    candidate_verify_cert(c, (size_t)n, t_cas, &detail));
		OPENSSL_free(c);
		c = NULL;
		if (mem == NULL || PEM_write_bio_X509(mem, t_signer) != 1 ||
		    (m = BIO_get_mem_data(mem, &pem)) <= 0)
			fail("PEM");
		CHECK(candidate_verify_cert(
		    (const unsigned char *)pem, (size_t)m, t_cas, &detail));
		BIO_free(mem);
		if (p7 == NULL || PKCS7_set_type(p7, NID_pkcs7_signed) != 1 ||
		    !PKCS7_content_new(p7, NID_pkcs7_data) ||
		    PKCS7_add_certificate(p7, t_leaf) != 1 ||
		    (n = i2d_PKCS7(p7, &c)) <= 0)
			fail("PKCS#7");
		CHECK(candidate_verify_cert(c, (size_t)n, t_cas, &detail));
		OPENSSL_free(c);
		PKCS7_free(p7);
	}
	CHECK(ERR_peek_error() == 0);
}

int
main(void)
{
	setup();
	test_names();
	test_verify_ocsp();
	test_verify_crl_cert();
	teardown();
	return check_done();
}
