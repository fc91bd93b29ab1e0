/*
 * Unit tests for candidate.c: which requests to an unlisted host are
 * well-formed requests of a class (table of methods, paths, queries,
 * types and bodies, OCSP requests made at test time with OpenSSL), the
 * hook in policy_decide(), and the evidence of answers: OCSP responses,
 * CRLs and certificates signed by throwaway CAs made in memory, checked
 * against a trust store holding one of them.
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
#include "ocspgate/config.h"
#include "ocspgate/policy.h"

#define T_CAP 16384

static EVP_PKEY *t_ca_key, *t_other_key, *t_leaf_key, *t_signer_key;
static X509 *t_ca, *t_other_ca, *t_leaf, *t_signer, *t_plain;
static unsigned char t_req[512];
static size_t t_req_len;
static char t_b64[1024];     /* standard base64 of t_req */
static char t_b64_url[1024]; /* URL-safe, unpadded */
static char t_b64_esc[2048]; /* '+', '/', '=' percent-encoded (CryptoAPI) */
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

/* DER OCSPRequest asking about <leaf> of <issuer>. */
static size_t
make_request(X509 *leaf, X509 *issuer, unsigned char *out, size_t cap)
{
	OCSP_REQUEST *req = OCSP_REQUEST_new();
	OCSP_CERTID *id = OCSP_cert_to_id(NULL, leaf, issuer);
	unsigned char *der = NULL;
	int n;

	if (req == NULL || id == NULL || OCSP_request_add0_id(req, id) == NULL)
		fail("OCSP request");
	if ((n = i2d_OCSP_REQUEST(req, &der)) <= 0 || (size_t)n > cap)
		fail("i2d_OCSP_REQUEST");
	memcpy(out, der, (size_t)n);
	OPENSSL_free(der);
	OCSP_REQUEST_free(req);
	return (size_t)n;
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
	t_req_len = make_request(t_leaf, t_ca, t_req, sizeof(t_req));
	EVP_EncodeBlock((unsigned char *)t_b64, t_req, (int)t_req_len);
	snprintf(t_b64_url, sizeof(t_b64_url), "%s", t_b64);
	for (char *p = t_b64_url; *p != '\0'; p++) {
		if (*p == '+')
			*p = '-';
		else if (*p == '/')
			*p = '_';
		else if (*p == '=')
			*p = '\0';
	}
	for (size_t i = 0, o = 0; t_b64[i] != '\0'; i++) {
		const char *esc = t_b64[i] == '+' ? "%2B"
		    : t_b64[i] == '/'             ? "%2F"
		    : t_b64[i] == '='             ? "%3D"
		                                  : NULL;

		if (esc != NULL) {
			memcpy(t_b64_esc + o, esc, 3);
			o += 3;
		} else {
			t_b64_esc[o++] = t_b64[i];
		}
	}
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

enum t_body { B_NONE = 0, B_GOOD, B_BAD, B_TEXT };

#define OCSP_CT "application/ocsp-request"

/*
 * "%s" in a path stands for the request's base64, "%u" URL-safe, "%c"
 * percent-encoded as CryptoAPI sends it.
 */
static const struct cls_case {
	const char *name;
	const char *method;
	const char *path;
	bool query;
	const char *ct;
	enum t_body body;
	enum candidate_class want;
} cls_cases[] = {
    /* OCSP POSTs: the type, a short AIA path, the DER rules. */
    {"post root", "POST", "/", false, OCSP_CT, B_GOOD, CANDIDATE_OCSP},
    {"post aia path", "POST", "/gsrsaovsslca2018", false, OCSP_CT, B_GOOD,
        CANDIDATE_OCSP},
    {"post ocsp dir", "POST", "/ocsp/", false, OCSP_CT, B_GOOD, CANDIDATE_OCSP},
    {"post type params", "POST", "/", false, OCSP_CT "; charset=x", B_GOOD,
        CANDIDATE_OCSP},
    {"post type case", "POST", "/", false, "Application/OCSP-Request", B_GOOD,
        CANDIDATE_OCSP},
    {"post bad der", "POST", "/", false, OCSP_CT, B_BAD, CANDIDATE_NONE},
    {"post text", "POST", "/", false, OCSP_CT, B_TEXT, CANDIDATE_NONE},
    {"post empty", "POST", "/", false, OCSP_CT, B_NONE, CANDIDATE_NONE},
    {"post no type", "POST", "/", false, NULL, B_GOOD, CANDIDATE_NONE},
    {"post other type", "POST", "/", false, "application/octet-stream", B_GOOD,
        CANDIDATE_NONE},
    {"post type suffix", "POST", "/", false, OCSP_CT "x", B_GOOD,
        CANDIDATE_NONE},
    {"post query", "POST", "/", true, OCSP_CT, B_GOOD, CANDIDATE_NONE},
    {"post long path", "POST",
        "/aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
        false, OCSP_CT, B_GOOD, CANDIDATE_NONE},
    {"post odd path", "POST", "/a%20b", false, OCSP_CT, B_GOOD, CANDIDATE_NONE},
    {"post double slash", "POST", "//", false, OCSP_CT, B_GOOD, CANDIDATE_NONE},
    {"post dot dot", "POST", "/a/../b", false, OCSP_CT, B_GOOD, CANDIDATE_NONE},
    /* OCSP GETs, with and without an AIA path before the base64. */
    {"get", "GET", "/%s", false, NULL, B_NONE, CANDIDATE_OCSP},
    {"get url-safe", "GET", "/%u", false, NULL, B_NONE, CANDIDATE_OCSP},
    {"get cryptoapi", "GET", "/%c", false, NULL, B_NONE, CANDIDATE_OCSP},
    {"get cryptoapi prefix", "GET", "/ocsp/%c", false, NULL, B_NONE,
        CANDIDATE_OCSP},
    {"get prefix", "GET", "/gts1c3/%s", false, NULL, B_NONE, CANDIDATE_OCSP},
    {"get prefix 3", "GET", "/a/b-c/d.e/%s", false, NULL, B_NONE,
        CANDIDATE_OCSP},
    {"get prefix 4", "GET", "/a/b/c/d/%s", false, NULL, B_NONE, CANDIDATE_NONE},
    {"get prefix odd", "GET", "/a+b/%s", false, NULL, B_NONE, CANDIDATE_NONE},
    {"get prefix empty", "GET", "/a//b/%s", false, NULL, B_NONE,
        CANDIDATE_NONE},
    {"get prefix double slash", "GET", "/gts1c3//%s", false, NULL, B_NONE,
        CANDIDATE_OCSP}, /* the decoder's doubled '/' repair */
    {"get prefix long", "GET",
        "/aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa/"
        "%s",
        false, NULL, B_NONE, CANDIDATE_NONE},
    {"get query", "GET", "/%s", true, NULL, B_NONE, CANDIDATE_NONE},
    {"get body", "GET", "/%s", false, NULL, B_GOOD, CANDIDATE_NONE},
    {"get not base64", "GET", "/hello", false, NULL, B_NONE, CANDIDATE_NONE},
    {"get root", "GET", "/", false, NULL, B_NONE, CANDIDATE_NONE},
    {"get suffix", "GET", "/%s/x", false, NULL, B_NONE, CANDIDATE_NONE},
    /* CRLs (CDP), issuer certificates (AIA), trust lists. */
    {"crl", "GET", "/DigiCertGlobalRootCA.crl", false, NULL, B_NONE,
        CANDIDATE_CRL},
    {"crl dir", "GET", "/pki/crl/products/MicRooCerAut_2010-06-23.crl", false,
        NULL, B_NONE, CANDIDATE_CRL},
    {"crl adcs delta", "GET", "/CertEnroll/Corp%20CA(1)+.crl", false, NULL,
        B_NONE, CANDIDATE_CRL},
    {"crl case", "GET", "/X.CRL", false, NULL, B_NONE, CANDIDATE_CRL},
    {"crl bare", "GET", "/.crl", false, NULL, B_NONE, CANDIDATE_NONE},
    {"crl query", "GET", "/x.crl", true, NULL, B_NONE, CANDIDATE_NONE},
    {"crl body", "GET", "/x.crl", false, NULL, B_TEXT, CANDIDATE_NONE},
    {"crl post", "POST", "/x.crl", false, NULL, B_TEXT, CANDIDATE_NONE},
    {"crl dir only", "GET", "/x.crl/", false, NULL, B_NONE, CANDIDATE_NONE},
    {"crl dot dot", "GET", "/a/../x.crl", false, NULL, B_NONE, CANDIDATE_NONE},
    {"crl bad escape", "GET", "/a%2x.crl", false, NULL, B_NONE, CANDIDATE_NONE},
    {"crl short escape", "GET", "/a.crl%2", false, NULL, B_NONE,
        CANDIDATE_NONE},
    {"crl quote", "GET", "/a\".crl", false, NULL, B_NONE, CANDIDATE_NONE},
    {"crl semicolon", "GET", "/a;b.crl", false, NULL, B_NONE, CANDIDATE_NONE},
    {"crl deep", "GET", "/1/2/3/4/5/6/7/8/x.crl", false, NULL, B_NONE,
        CANDIDATE_NONE},
    {"crl 8 segments", "GET", "/1/2/3/4/5/6/7/x.crl", false, NULL, B_NONE,
        CANDIDATE_CRL},
    {"cert crt", "GET", "/gts1c3.crt", false, NULL, B_NONE,
        CANDIDATE_CA_ISSUER},
    {"cert cer", "GET", "/aia/root.cer", false, NULL, B_NONE,
        CANDIDATE_CA_ISSUER},
    {"cert der", "GET", "/repo/certs/gtsr1.der", false, NULL, B_NONE,
        CANDIDATE_CA_ISSUER},
    {"cert p7c", "GET", "/chain.p7c", false, NULL, B_NONE, CANDIDATE_CA_ISSUER},
    {"cert p7b", "GET", "/chain.P7B", false, NULL, B_NONE, CANDIDATE_CA_ISSUER},
    {"cert pem", "GET", "/x.pem", false, NULL, B_NONE, CANDIDATE_NONE},
    {"ctl cab", "GET",
        "/msdownload/update/v3/static/trustedr/en/authrootstl.cab", false, NULL,
        B_NONE, CANDIDATE_CTL},
    {"ctl seq", "GET", "/x/disallowedcertseq.txt", false, NULL, B_NONE,
        CANDIDATE_CTL},
    {"ctl query", "GET", "/x/authrootstl.cab", true, NULL, B_NONE,
        CANDIDATE_NONE},
    {"ctl other file", "GET", "/x/evil.cab", false, NULL, B_NONE,
        CANDIDATE_NONE},
    {"html", "GET", "/index.html", false, NULL, B_NONE, CANDIDATE_NONE},
    {"put", "PUT", "/x.crl", false, NULL, B_NONE, CANDIDATE_NONE},
};

/* The path of <c>, its base64 put in. */
static void
case_path(const struct cls_case *c, char *out, size_t cap)
{
	size_t o = 0;

	for (const char *p = c->path; *p != '\0' && o + 1 < cap; p++) {
		const char *sub = NULL;

		if (p[0] == '%' && p[1] == 's')
			sub = t_b64;
		else if (p[0] == '%' && p[1] == 'u')
			sub = t_b64_url;
		else if (p[0] == '%' && p[1] == 'c')
			sub = t_b64_esc;
		if (sub != NULL) {
			o += (size_t)snprintf(out + o, cap - o, "%s", sub);
			p++;
		} else {
			out[o++] = *p;
		}
	}
	out[o < cap ? o : cap - 1] = '\0';
}

static void
test_classify(void)
{
	static unsigned char der[T_CAP];
	static const unsigned char bad[] = {0x30, 0x03, 0x02, 0x01, 0x05};

	for (size_t i = 0; i < sizeof(cls_cases) / sizeof(cls_cases[0]); i++) {
		const struct cls_case *c = &cls_cases[i];
		struct ocsp_request_facts facts;
		struct candidate_input in;
		enum candidate_class got;
		char path[2048];

		case_path(c, path, sizeof(path));
		memset(&in, 0, sizeof(in));
		in.get = strcmp(c->method, "GET") == 0;
		in.post = strcmp(c->method, "POST") == 0;
		in.path = path;
		in.path_len = strlen(path);
		in.has_query = c->query;
		in.content_type = c->ct;
		in.content_type_len = c->ct != NULL ? strlen(c->ct) : 0;
		if (c->body == B_GOOD) {
			in.body = t_req;
			in.body_len = t_req_len;
		} else if (c->body == B_BAD) {
			in.body = bad;
			in.body_len = sizeof(bad);
		} else if (c->body == B_TEXT) {
			in.body = (const unsigned char *)"hello";
			in.body_len = 5;
		}
		memset(&facts, 0, sizeof(facts));
		got = candidate_classify(&in, CONFIG_DEFAULT_MAX_NONCE_BYTES,
		    der, sizeof(der), &facts);
		CHECKF(got == c->want, "%s: %s, want %s", c->name,
		    candidate_class_name(got) ? candidate_class_name(got)
		                              : "none",
		    candidate_class_name(c->want)
		        ? candidate_class_name(c->want)
		        : "none");
		if (got == CANDIDATE_OCSP) {
			/* The facts of the request, as for a listed host. */
			CHECKF(facts.ncerts == 1 &&
			        facts.der_len == t_req_len &&
			        facts.certs[0].serial_len == 2 &&
			        facts.certs[0].serial[0] == 0x1a &&
			        facts.certs[0].serial[1] == 0x2b,
			    "%s: facts", c->name);
		} else {
			CHECKF(facts.ncerts == 0 && facts.flags == 0 &&
			        facts.der_len == 0,
			    "%s: facts left set", c->name);
		}
	}
}

/* The GET repairs found on the way are kept in the facts' flags. */
static void
test_get_flags(void)
{
	static unsigned char der[T_CAP];
	struct ocsp_request_facts facts;
	struct candidate_input in;
	char path[2048];

	snprintf(path, sizeof(path), "/ocsp/%s", t_b64_url);
	memset(&in, 0, sizeof(in));
	in.get = true;
	in.path = path;
	in.path_len = strlen(path);
	memset(&facts, 0, sizeof(facts));
	CHECK(candidate_classify(&in, CONFIG_DEFAULT_MAX_NONCE_BYTES, der,
	          sizeof(der), &facts) == CANDIDATE_OCSP);
	CHECK(facts.flags & OCSP_FLAG_GET_URL_SAFE_ALPHABET);
	/* A scratch too small for the DER: not decodable. */
	memset(&facts, 0, sizeof(facts));
	CHECK(candidate_classify(&in, CONFIG_DEFAULT_MAX_NONCE_BYTES, der, 8,
	          &facts) == CANDIDATE_NONE);
}

/* The one call in policy_decide(): only on unknown_responder. */
static void
test_policy_hook(void)
{
	static unsigned char body[T_CAP], der[T_CAP];
	static const struct {
		const char *text;
		enum reason reason;
		enum candidate_class candidate;
	} cases[] = {
	    {"GET http://crl.unlisted.test/ca.crl HTTP/1.1\r\n"
	     "Host: crl.unlisted.test\r\n\r\n",
	        REASON_UNKNOWN_RESPONDER, CANDIDATE_CRL},
	    {"GET http://crl.listed.test/ca.crl HTTP/1.1\r\n"
	     "Host: crl.listed.test\r\n\r\n",
	        REASON_CRL_REQUEST, CANDIDATE_NONE},
	    {"GET http://ocsp.listed.test/ca.crl HTTP/1.1\r\n"
	     "Host: ocsp.listed.test\r\n\r\n",
	        REASON_NOT_OCSP, CANDIDATE_NONE},
	    {"GET http://www.unlisted.test/ HTTP/1.1\r\n"
	     "Host: www.unlisted.test\r\n\r\n",
	        REASON_UNKNOWN_RESPONDER, CANDIDATE_NONE},
	    {"DELETE http://crl.unlisted.test/ca.crl HTTP/1.1\r\n"
	     "Host: crl.unlisted.test\r\n\r\n",
	        REASON_METHOD_NOT_ALLOWED, CANDIDATE_NONE},
	};
	struct responder resp, crl;
	struct config cfg;
	char err[256];

	memset(&resp, 0, sizeof(resp));
	memset(&crl, 0, sizeof(crl));
	if (config_parse_responder(
	        "ocsp.listed.test", &resp, err, sizeof(err)) == -1 ||
	    config_parse_responder("crl.listed.test", &crl, err, sizeof(err)) ==
	        -1)
		fail("config_parse_responder");
	memset(&cfg, 0, sizeof(cfg));
	cfg.responders = &resp;
	cfg.nresponders = 1;
	cfg.crl_hosts = &crl;
	cfg.ncrl_hosts = 1;
	cfg.max_request_body = T_CAP;
	cfg.max_nonce_bytes = CONFIG_DEFAULT_MAX_NONCE_BYTES;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct ocsp_request_facts facts;
		struct http_request req;
		struct verdict v;
		size_t consumed;

		http_request_init(&req, body, sizeof(body));
		if (http_request_parse(&req, cases[i].text,
		        strlen(cases[i].text), &consumed) != HTTP_PARSE_DONE) {
			CHECKF(false, "case %zu does not parse", i);
			continue;
		}
		memset(&facts, 0, sizeof(facts));
		policy_decide(&cfg, &req, der, sizeof(der), &facts, &v, NULL);
		CHECKF(v.reason == cases[i].reason &&
		        v.candidate == cases[i].candidate,
		    "case %zu: %s, candidate %d", i, reason_name(v.reason),
		    (int)v.candidate);
	}
	free(resp.spec);
	free(resp.host);
	free(resp.path);
	free(crl.spec);
	free(crl.host);
	free(crl.path);
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
	        "signer is neither a CA nor an OCSP signer"},
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
	test_classify();
	test_get_flags();
	test_policy_hook();
	test_verify_ocsp();
	test_verify_crl_cert();
	teardown();
	return check_done();
}
