/*
 * Unit tests for policy.c: responder matching (exact, wildcard, port,
 * path prefix at a segment boundary, case, trailing dot, IP literals),
 * policy_decide()'s check order on parsed requests carrying OCSP requests
 * made at test time with OpenSSL (throwaway CAs generated in memory), and
 * candidates: the class a request to an unlisted host would be allowed
 * as, checked against the same request with its host listed.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/bn.h>
#include <openssl/evp.h>
#include <openssl/ocsp.h>
#include <openssl/x509.h>

#include "check.h"
#include "ocspgate/config.h"
#include "ocspgate/memo.h"
#include "ocspgate/policy.h"

#define T_BODY_CAP 16384

/* The responders every test runs against, in this order. */
static const char *const t_specs[] = {
    "ocsp.test",             /* 0 */
    "*.wild.test:8080/ocsp", /* 1 */
    "pki.test/ocsp/",        /* 2: stored as "/ocsp" */
    "issuers.test",          /* 3: with issuer CA 1 */
    "[::1]:8081",            /* 4 */
    "192.0.2.1",             /* 5 */
    "Mixed.Case.TEST.",      /* 6 */
    "dup.test/first",        /* 7 */
    "dup.test",              /* 8 */
    "deep.test:8080/a/b",    /* 9 */
    "both.test",             /* 10: also in ctl_hosts */
};
#define T_NSPECS (sizeof(t_specs) / sizeof(t_specs[0]))

static struct responder t_responders[T_NSPECS];

/* The fetch-class hosts. */
static const char *const t_crl_specs[] = {"crl.test", "pki.test/CertEnroll"};
static const char *const t_ca_specs[] = {"cacerts.test"};
static const char *const t_ctl_specs[] = {
    "ctldl.windowsupdate.com", "mirror.test/ctl", "both.test"};
#define T_NCRL (sizeof(t_crl_specs) / sizeof(t_crl_specs[0]))
#define T_NCA  (sizeof(t_ca_specs) / sizeof(t_ca_specs[0]))
#define T_NCTL (sizeof(t_ctl_specs) / sizeof(t_ctl_specs[0]))
static struct responder t_crl[T_NCRL], t_ca[T_NCA], t_ctl[T_NCTL];
static struct config t_cfg;
static struct ocsp_issuer t_issuer1;

/* cand.test, listed in one class at a time (test_candidates()), and an
 * issuer no test request names, to pin it to. */
static struct responder t_cand_entry;
static struct ocsp_issuer t_issuer_none;

/* Two CAs, a leaf of each. */
static EVP_PKEY *t_ca1_key, *t_ca2_key, *t_leaf_key;
static X509 *t_ca1, *t_ca2, *t_leaf1, *t_leaf2;

/* DER requests: about leaf 1, about leaf 2, and a SEQUENCE that is not
 * an OCSPRequest. */
static unsigned char t_good[512], t_other[512];
static size_t t_good_len, t_other_len;
static const unsigned char t_bad[] = {0x30, 0x03, 0x02, 0x01, 0x05};
static unsigned char t_good_serial[] = {0x0a, 0x1b, 0x2c};

static void
fail(const char *what)
{
	(void)fprintf(stderr, "setup: %s failed\n", what);
	exit(2);
}

/* A certificate for <cn>, signed by <issuer> (self-signed when NULL). */
static X509 *
make_cert(const char *cn, const unsigned char *serial, size_t serial_len,
    EVP_PKEY *key, X509 *issuer, EVP_PKEY *issuer_key)
{
	X509 *x = X509_new();
	X509_NAME *name = X509_NAME_new();
	BIGNUM *bn = BN_bin2bn(serial, (int)serial_len, NULL);

	if (x == NULL || name == NULL || bn == NULL ||
	    X509_set_version(x, 2) != 1 ||
	    BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(x)) == NULL ||
	    X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
	        (const unsigned char *)cn, -1, -1, 0) != 1 ||
	    X509_set_subject_name(x, name) != 1 ||
	    X509_set_issuer_name(x,
	        issuer != NULL ? X509_get_subject_name(issuer) : name) != 1 ||
	    X509_gmtime_adj(X509_getm_notBefore(x), 0) == NULL ||
	    X509_gmtime_adj(X509_getm_notAfter(x), 86400) == NULL ||
	    X509_set_pubkey(x, key) != 1 ||
	    X509_sign(x, issuer_key != NULL ? issuer_key : key, EVP_sha256()) <=
	        0)
		fail("certificate");
	X509_NAME_free(name);
	BN_free(bn);
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

static void
setup(void)
{
	static const unsigned char s1[] = {0x01}, s2[] = {0x02};
	static const unsigned char s3[] = {0x7f, 0x01};
	char err[256];

	t_ca1_key = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	t_ca2_key = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	t_leaf_key = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	if (t_ca1_key == NULL || t_ca2_key == NULL || t_leaf_key == NULL)
		fail("keygen");
	t_ca1 = make_cert("Test CA 1", s1, sizeof(s1), t_ca1_key, NULL, NULL);
	t_ca2 = make_cert("Test CA 2", s2, sizeof(s2), t_ca2_key, NULL, NULL);
	t_leaf1 = make_cert("leaf 1", t_good_serial, sizeof(t_good_serial),
	    t_leaf_key, t_ca1, t_ca1_key);
	t_leaf2 =
	    make_cert("leaf 2", s3, sizeof(s3), t_leaf_key, t_ca2, t_ca2_key);
	t_good_len = make_request(t_leaf1, t_ca1, t_good, sizeof(t_good));
	t_other_len = make_request(t_leaf2, t_ca2, t_other, sizeof(t_other));
	if (ocsp_issuer_from_cert(t_ca1, &t_issuer1) == -1)
		fail("ocsp_issuer_from_cert");

	for (size_t i = 0; i < T_NSPECS; i++) {
		memset(&t_responders[i], 0, sizeof(t_responders[i]));
		if (config_parse_responder(
		        t_specs[i], &t_responders[i], err, sizeof(err)) == -1) {
			(void)fprintf(stderr, "%s: %s\n", t_specs[i], err);
			fail("config_parse_responder");
		}
	}
	for (size_t i = 0; i < T_NCRL + T_NCA + T_NCTL; i++) {
		struct responder *r = i < T_NCRL ? &t_crl[i]
		    : i < T_NCRL + T_NCA         ? &t_ca[i - T_NCRL]
		                                 : &t_ctl[i - T_NCRL - T_NCA];
		const char *spec = i < T_NCRL ? t_crl_specs[i]
		    : i < T_NCRL + T_NCA      ? t_ca_specs[i - T_NCRL]
		                              : t_ctl_specs[i - T_NCRL - T_NCA];

		memset(r, 0, sizeof(*r));
		if (config_parse_responder(spec, r, err, sizeof(err)) == -1)
			fail("config_parse_responder (fetch)");
	}
	memset(&t_cand_entry, 0, sizeof(t_cand_entry));
	if (config_parse_responder(
	        "cand.test", &t_cand_entry, err, sizeof(err)) == -1)
		fail("config_parse_responder (cand.test)");
	memset(&t_issuer_none, 0x5a, sizeof(t_issuer_none));
	t_responders[3].issuers = &t_issuer1;
	t_responders[3].nissuers = 1;
	memset(&t_cfg, 0, sizeof(t_cfg));
	t_cfg.responders = t_responders;
	t_cfg.nresponders = T_NSPECS;
	t_cfg.max_request_body = T_BODY_CAP;
	t_cfg.max_nonce_bytes = CONFIG_DEFAULT_MAX_NONCE_BYTES;
	t_cfg.crl_hosts = t_crl;
	t_cfg.ncrl_hosts = T_NCRL;
	t_cfg.ca_issuer_hosts = t_ca;
	t_cfg.nca_issuer_hosts = T_NCA;
	t_cfg.ctl_hosts = t_ctl;
	t_cfg.nctl_hosts = T_NCTL;
}

static void
teardown(void)
{
	for (size_t i = 0; i < T_NSPECS; i++) {
		free(t_responders[i].spec);
		free(t_responders[i].host);
		free(t_responders[i].path);
	}
	for (size_t i = 0; i < T_NCRL + T_NCA + T_NCTL; i++) {
		struct responder *r = i < T_NCRL ? &t_crl[i]
		    : i < T_NCRL + T_NCA         ? &t_ca[i - T_NCRL]
		                                 : &t_ctl[i - T_NCRL - T_NCA];

		free(r->spec);
		free(r->host);
		free(r->path);
	}
	free(t_cand_entry.spec);
	free(t_cand_entry.host);
	free(t_cand_entry.path);
	X509_free(t_ca1);
	X509_free(t_ca2);
	X509_free(t_leaf1);
	X509_free(t_leaf2);
	EVP_PKEY_free(t_ca1_key);
	EVP_PKEY_free(t_ca2_key);
	EVP_PKEY_free(t_leaf_key);
}

/* Host matching on one responder at a time. */
static void
test_host_matches(void)
{
	static const struct {
		size_t responder;
		const char *host;
		bool want;
	} cases[] = {
	    {0, "ocsp.test", true},
	    {0, "OCSP.Test", true},
	    {0, "ocsp.test.", true},
	    {0, "ocsp.test..", false},
	    {0, "xocsp.test", false},
	    {0, "a.ocsp.test", false},
	    {0, "ocsp.tes", false},
	    {0, "ocsp.testx", false},
	    {0, "", false},
	    {0, ".", false},
	    {1, "a.wild.test", true},
	    /* One label only: no "<hex>.<hex>.ocsp.example" DNS carrier. */
	    {1, "a.b.wild.test", false},
	    {1, "0123456789abcdef0123456789abcdef.wild.test", true},
	    {1, "0123456789abcdef0123456789abcdef0.wild.test", false},
	    {1, "r10-e5.wild.test", true},
	    {1, "-a.wild.test", false},
	    {1, "a-.wild.test", false},
	    {1, "a_b.wild.test", false},
	    {1, "a%2e.wild.test", false},
	    {1, "A.WILD.TEST.", true},
	    {1, "wild.test", false},
	    {1, "wild.test.", false},
	    {1, ".wild.test", false},
	    {1, "awild.test", false},
	    {1, "a.wild.testx", false},
	    {1, "a.wild.tes", false},
	    {1, "", false},
	    {4, "::1", true},
	    {4, "::2", false},
	    {5, "192.0.2.1", true},
	    {5, "192.0.2.10", false},
	    {6, "mixed.case.test", true},
	    {6, "MIXED.CASE.TEST.", true},
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const struct responder *r = &t_responders[cases[i].responder];

		CHECKF(policy_host_matches(r, cases[i].host,
		           strlen(cases[i].host)) == cases[i].want,
		    "%s against %s", cases[i].host,
		    t_specs[cases[i].responder]);
	}
}

/* Whole matching: host, port and path; -1 for no responder. */
static void
test_match_responder(void)
{
	static const struct {
		const char *host;
		uint16_t port;
		const char *path;
		int want;
	} cases[] = {
	    {"ocsp.test", 80, "/", 0},
	    {"ocsp.test", 80, "/anything/at/all", 0},
	    {"ocsp.test", 8080, "/", -1},
	    {"ocsp.test", 443, "/", -1},
	    {"x.wild.test", 8080, "/ocsp", 1},
	    {"x.wild.test", 8080, "/ocsp/", 1},
	    {"x.wild.test", 8080, "/ocsp/MEow", 1},
	    {"x.wild.test", 8080, "/ocspx", -1},
	    {"x.wild.test", 8080, "/ocs", -1},
	    {"x.wild.test", 8080, "/OCSP", -1},
	    {"x.wild.test", 8080, "/", -1},
	    {"x.wild.test", 80, "/ocsp", -1},
	    {"wild.test", 8080, "/ocsp", -1},
	    {"pki.test", 80, "/ocsp", 2},
	    {"pki.test", 80, "/ocsp/x", 2},
	    {"pki.test", 80, "/ocsp//x", 2},
	    {"pki.test", 80, "/ocspx", -1},
	    {"pki.test", 80, "/x/ocsp", -1},
	    {"pki.test", 80, "/", -1},
	    {"::1", 8081, "/", 4},
	    {"::1", 80, "/", -1},
	    {"192.0.2.1", 80, "/x", 5},
	    {"192.0.2.1", 8081, "/x", -1},
	    {"mixed.case.test.", 80, "/", 6},
	    {"dup.test", 80, "/first/x", 7},
	    {"dup.test", 80, "/second", 8},
	    {"deep.test", 8080, "/a/b", 9},
	    {"deep.test", 8080, "/a/b/c", 9},
	    {"deep.test", 8080, "/a/bc", -1},
	    {"deep.test", 8080, "/a", -1},
	    {"evil.test", 80, "/", -1},
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const struct responder *r = policy_match_responder(&t_cfg,
		    cases[i].host, strlen(cases[i].host), cases[i].port,
		    cases[i].path, strlen(cases[i].path));
		const struct responder *want =
		    cases[i].want < 0 ? NULL : &t_responders[cases[i].want];

		CHECKF(r == want, "%s:%u%s: matched %s", cases[i].host,
		    (unsigned)cases[i].port, cases[i].path,
		    r != NULL ? r->spec : "none");
	}
	{
		struct config empty = {0};

		CHECK(policy_match_responder(
		          &empty, "ocsp.test", 9, 80, "/", 1) == NULL);
	}
}

/* Base64 of <der> with '+', '/' and '=' percent-encoded. */
static void
b64_percent(const unsigned char *der, size_t len, char *out, size_t cap)
{
	unsigned char raw[1024];
	size_t o = 0;
	int n = EVP_EncodeBlock(raw, der, (int)len);

	for (int i = 0; i < n; i++) {
		const char *esc = raw[i] == '+' ? "%2B"
		    : raw[i] == '/'             ? "%2F"
		    : raw[i] == '='             ? "%3D"
		                                : NULL;

		if (o + 4 >= cap)
			fail("b64_percent");
		if (esc != NULL) {
			memcpy(out + o, esc, 3);
			o += 3;
		} else {
			out[o++] = (char)raw[i];
		}
	}
	out[o] = '\0';
}

/* Base64url of <der> without padding; *flags gets the repairs it needs. */
static void
b64_url(const unsigned char *der, size_t len, char *out, size_t cap,
    unsigned *flags)
{
	int n = EVP_EncodeBlock((unsigned char *)out, der, (int)len);

	if ((size_t)n >= cap)
		fail("b64_url");
	*flags = 0;
	while (n > 0 && out[n - 1] == '=') {
		n--;
		*flags |= OCSP_FLAG_GET_UNPADDED;
	}
	out[n] = '\0';
	for (int i = 0; i < n; i++) {
		if (out[i] == '+' || out[i] == '/') {
			out[i] = out[i] == '+' ? '-' : '_';
			*flags |= OCSP_FLAG_GET_URL_SAFE_ALPHABET;
		}
	}
}

enum t_body {
	B_NONE = 0, /* no body, no Content-Length */
	B_GOOD,     /* OCSP request about leaf 1 of CA 1 */
	B_OTHER,    /* about leaf 2 of CA 2 */
	B_BAD,      /* a SEQUENCE that is no OCSPRequest */
	B_TEXT,     /* "hello" */
	B_EMPTY     /* Content-Length: 0 */
};

struct pol_case {
	const char *name;
	/* Request line and headers, without Content-Length and the empty
	 * line. "@G", "@O", "@M" and "@U" expand to the GET forms of the
	 * good, other-issuer, malformed and url-safe good requests, "@S" to
	 * the good one's plain base64 ('+', '/' and '=' as they are). */
	const char *head;
	enum t_body body;
	enum reason want;
	int responder; /* index into t_specs, -1 none, -2 a fetch entry */
	bool parsed;   /* verdict.ocsp_parsed */
	size_t prefix; /* verdict.get_prefix_len */
};

#define CT        "Content-Type: application/ocsp-request\r\n"
#define CT_PARAMS "Content-Type: application/ocsp-request; charset=x\r\n"

static const struct pol_case pol_cases[] = {
    /* Allowed. */
    {"POST", "POST http://ocsp.test/ HTTP/1.1\r\nHost: ocsp.test\r\n" CT,
        B_GOOD, REASON_OCSP_REQUEST, 0, true, 0},
    {"POST, HTTP/1.0", "POST http://ocsp.test/ HTTP/1.0\r\n" CT, B_GOOD,
        REASON_OCSP_REQUEST, 0, true, 0},
    {"POST, Content-Type with a parameter",
        "POST http://ocsp.test/ HTTP/1.1\r\nHost: ocsp.test\r\n"
        "Content-Type: application/ocsp-request; charset=binary\r\n",
        B_GOOD, REASON_OCSP_REQUEST, 0, true, 0},
    {"POST, Content-Type in another case",
        "POST http://ocsp.test/ HTTP/1.1\r\nHost: ocsp.test\r\n"
        "Content-Type: Application/OCSP-Request\r\n",
        B_GOOD, REASON_OCSP_REQUEST, 0, true, 0},
    {"POST, Content-Type with a space before ';'",
        "POST http://ocsp.test/ HTTP/1.1\r\nHost: ocsp.test\r\n"
        "Content-Type: application/ocsp-request ;a=b\r\n",
        B_GOOD, REASON_OCSP_REQUEST, 0, true, 0},
    {"GET", "GET http://ocsp.test/@G HTTP/1.1\r\nHost: ocsp.test\r\n", B_NONE,
        REASON_OCSP_REQUEST, 0, true, 0},
    {"GET, url-safe unpadded",
        "GET http://ocsp.test/@U HTTP/1.1\r\nHost: ocsp.test\r\n", B_NONE,
        REASON_OCSP_REQUEST, 0, true, 0},
    {"GET, double slash",
        "GET http://ocsp.test//@G HTTP/1.1\r\n"
        "Host: ocsp.test\r\n",
        B_NONE, REASON_OCSP_REQUEST, 0, true, 0},
    {"GET through a wildcard and a prefix",
        "GET http://a.wild.test:8080/ocsp/@G HTTP/1.1\r\n"
        "Host: a.wild.test\r\n",
        B_NONE, REASON_OCSP_REQUEST, 1, true, 5},
    {"POST below a prefix",
        "POST http://pki.test/ocsp/sub HTTP/1.1\r\n"
        "Host: pki.test\r\n" CT,
        B_GOOD, REASON_OCSP_REQUEST, 2, true, 0},
    {"POST at a prefix",
        "POST http://pki.test/ocsp HTTP/1.1\r\n"
        "Host: pki.test\r\n" CT,
        B_GOOD, REASON_OCSP_REQUEST, 2, true, 0},
    {"POST to an IPv6 responder",
        "POST http://[::1]:8081/ HTTP/1.1\r\n"
        "Host: [::1]:8081\r\n" CT,
        B_GOOD, REASON_OCSP_REQUEST, 4, true, 0},
    {"POST to an IPv4 responder",
        "POST http://192.0.2.1/ HTTP/1.1\r\n"
        "Host: 192.0.2.1\r\n" CT,
        B_GOOD, REASON_OCSP_REQUEST, 5, true, 0},
    {"POST, host case and trailing dot",
        "POST http://MIXED.case.test./ HTTP/1.1\r\nHost: "
        "mixed.case.test\r\n" CT,
        B_GOOD, REASON_OCSP_REQUEST, 6, true, 0},
    {"POST, known issuer",
        "POST http://issuers.test/ HTTP/1.1\r\n"
        "Host: issuers.test\r\n" CT,
        B_GOOD, REASON_OCSP_REQUEST, 3, true, 0},
    {"POST, any issuer where none is configured",
        "POST http://ocsp.test/ HTTP/1.1\r\nHost: ocsp.test\r\n" CT, B_OTHER,
        REASON_OCSP_REQUEST, 0, true, 0},
    {"first matching responder wins",
        "POST http://dup.test/first HTTP/1.1\r\n"
        "Host: dup.test\r\n" CT,
        B_GOOD, REASON_OCSP_REQUEST, 7, true, 0},
    /* GETs under the AIA URL's path, POSTs to it (real AIA paths). */
    {"GET under /gts1c3",
        "GET http://ocsp.test/gts1c3/@G HTTP/1.1\r\nHost: ocsp.test\r\n",
        B_NONE, REASON_OCSP_REQUEST, 0, true, 7},
    {"GET under /s/we1/coM",
        "GET http://ocsp.test/s/we1/coM/@U HTTP/1.1\r\n"
        "Host: ocsp.test\r\n",
        B_NONE, REASON_OCSP_REQUEST, 0, true, 10},
    {"GET under /OCSP/VCA5/ (double slash)",
        "GET http://ocsp.test/OCSP/VCA5//@G HTTP/1.1\r\n"
        "Host: ocsp.test\r\n",
        B_NONE, REASON_OCSP_REQUEST, 0, true, 10},
    {"GET under the pinned prefix and one more segment",
        "GET http://pki.test/ocsp/sub/@G HTTP/1.1\r\nHost: pki.test\r\n",
        B_NONE, REASON_OCSP_REQUEST, 2, true, 9},
    {"GET under the pinned prefix",
        "GET http://pki.test/ocsp/@G HTTP/1.1\r\nHost: pki.test\r\n", B_NONE,
        REASON_OCSP_REQUEST, 2, true, 5},
    {"POST to /gsrsaovsslca2018",
        "POST http://ocsp.test/gsrsaovsslca2018 HTTP/1.1\r\n"
        "Host: ocsp.test\r\n" CT,
        B_GOOD, REASON_OCSP_REQUEST, 0, true, 0},
    {"POST to /s/wr3/QZ0",
        "POST http://ocsp.test/s/wr3/QZ0 HTTP/1.1\r\nHost: ocsp.test\r\n" CT,
        B_GOOD, REASON_OCSP_REQUEST, 0, true, 0},
    {"POST to /OCSP/VCA5/",
        "POST http://ocsp.test/OCSP/VCA5/ HTTP/1.1\r\nHost: ocsp.test\r\n" CT,
        B_GOOD, REASON_OCSP_REQUEST, 0, true, 0},
    /* path_shape: carriers in the path. */
    {"GET under a 5-segment prefix",
        "GET http://ocsp.test/a/b/c/d/e/@G HTTP/1.1\r\nHost: ocsp.test\r\n",
        B_NONE, REASON_PATH_SHAPE, 0, false, 0},
    {"GET under a 60-byte segment",
        "GET http://ocsp.test/"
        "aaaaaaaaaabbbbbbbbbbccccccccccddddddddddeeeeeeeeeeffffffffff/@G "
        "HTTP/1.1\r\nHost: ocsp.test\r\n",
        B_NONE, REASON_PATH_SHAPE, 0, false, 0},
    {"GET under an escaped prefix",
        "GET http://ocsp.test/a%41/@G HTTP/1.1\r\nHost: ocsp.test\r\n", B_NONE,
        REASON_PATH_SHAPE, 0, false, 0},
    {"POST to a 5-segment path",
        "POST http://ocsp.test/a/b/c/d/e HTTP/1.1\r\nHost: ocsp.test\r\n" CT,
        B_GOOD, REASON_PATH_SHAPE, 0, false, 0},
    {"POST to a 100-byte segment",
        "POST http://ocsp.test/"
        "aaaaaaaaaabbbbbbbbbbccccccccccddddddddddeeeeeeeeeeffffffffff"
        "aaaaaaaaaabbbbbbbbbbccccccccccdddddddddd HTTP/1.1\r\n"
        "Host: ocsp.test\r\n" CT,
        B_GOOD, REASON_PATH_SHAPE, 0, false, 0},
    {"POST with a query",
        "POST http://ocsp.test/?x=1 HTTP/1.1\r\nHost: ocsp.test\r\n" CT, B_GOOD,
        REASON_PATH_SHAPE, 0, false, 0},
    {"POST with an escape",
        "POST http://ocsp.test/a%20b HTTP/1.1\r\nHost: ocsp.test\r\n" CT,
        B_GOOD, REASON_PATH_SHAPE, 0, false, 0},
    {"POST below the pin, too deep",
        "POST http://pki.test/ocsp/a/b/c/d/e HTTP/1.1\r\n"
        "Host: pki.test\r\n" CT,
        B_GOOD, REASON_PATH_SHAPE, 2, false, 0},
    /* Fetch classes, with real CDP, caIssuers and trust-list paths. */
    {"CRL: DigiCert",
        "GET http://crl.test/DigiCertGlobalG2TLSRSASHA2562020CA1-1.crl "
        "HTTP/1.1\r\nHost: crl.test\r\n",
        B_NONE, REASON_CRL_REQUEST, -2, false, 0},
    {"CRL: Microsoft, spaces escaped",
        "GET http://crl.test/pkiops/crl/"
        "Microsoft%20Identity%20Verification%20Root%20Certificate%20"
        "Authority%202020.crl HTTP/1.1\r\nHost: crl.test\r\n",
        B_NONE, REASON_CRL_REQUEST, -2, false, 0},
    {"CRL: Microsoft, (1)",
        "GET http://crl.test/pkiops/crl/"
        "Microsoft%20Time-Stamp%20PCA%202010(1).crl HTTP/1.1\r\n"
        "Host: crl.test\r\n",
        B_NONE, REASON_CRL_REQUEST, -2, false, 0},
    {"CRL: AD CS delta",
        "GET http://pki.test/CertEnroll/cicada-DC-JPQ225-CA(1)+.crl "
        "HTTP/1.1\r\nHost: pki.test\r\n",
        B_NONE, REASON_CRL_REQUEST, -2, false, 0},
    {"CRL: Actalis",
        "GET http://crl.test/Repository/AUTHCL-G3/getLastCRL HTTP/1.1\r\n"
        "Host: crl.test\r\n",
        B_NONE, REASON_CRL_REQUEST, -2, false, 0},
    {"CRL: Let's Encrypt root CDP",
        "GET http://crl.test/ HTTP/1.1\r\nHost: crl.test\r\n", B_NONE,
        REASON_CRL_REQUEST, -2, false, 0},
    {"CRL: Microsoft products",
        "GET http://crl.test/pki/crl/products/MicRooCerAut2011_2011_03_22.crl "
        "HTTP/1.1\r\nHost: crl.test\r\n",
        B_NONE, REASON_CRL_REQUEST, -2, false, 0},
    {"CRL path: not .crl",
        "GET http://crl.test/x.txt HTTP/1.1\r\nHost: crl.test\r\n", B_NONE,
        REASON_PATH_SHAPE, -2, false, 0},
    {"CRL path: three needless escapes",
        "GET http://crl.test/a%41%42%43.crl HTTP/1.1\r\nHost: crl.test\r\n",
        B_NONE, REASON_PATH_SHAPE, -2, false, 0},
    {"CRL path: two needless escapes",
        "GET http://crl.test/a%41%42.crl HTTP/1.1\r\nHost: crl.test\r\n",
        B_NONE, REASON_CRL_REQUEST, -2, false, 0},
    {"CRL path: escaped slash",
        "GET http://crl.test/a%2Fb.crl HTTP/1.1\r\nHost: crl.test\r\n", B_NONE,
        REASON_PATH_SHAPE, -2, false, 0},
    {"CRL path: 9 segments",
        "GET http://crl.test/a/b/c/d/e/f/g/h/i.crl HTTP/1.1\r\n"
        "Host: crl.test\r\n",
        B_NONE, REASON_PATH_SHAPE, -2, false, 0},
    {"CRL path: query",
        "GET http://crl.test/x.crl?1 HTTP/1.1\r\nHost: crl.test\r\n", B_NONE,
        REASON_PATH_SHAPE, -2, false, 0},
    {"issuer: DigiCert",
        "GET http://cacerts.test/DigiCertGlobalRootG2.crt HTTP/1.1\r\n"
        "Host: cacerts.test\r\n",
        B_NONE, REASON_CA_ISSUER_REQUEST, -2, false, 0},
    {"issuer: FPKI .p7c",
        "GET http://cacerts.test/fcpca/caCertsIssuedTofcpca.p7c HTTP/1.1\r\n"
        "Host: cacerts.test\r\n",
        B_NONE, REASON_CA_ISSUER_REQUEST, -2, false, 0},
    {"issuer: SwissSign key id",
        "GET http://cacerts.test/cgi-bin/authority/download/"
        "425419CD83663AE8815437BBEEF09B15E3723E39 HTTP/1.1\r\n"
        "Host: cacerts.test\r\n",
        B_NONE, REASON_CA_ISSUER_REQUEST, -2, false, 0},
    {"issuer: AD CS cross certificate",
        "GET http://cacerts.test/CertEnroll/"
        "DC-JPQ225.cicada.vl_cicada-DC-JPQ225-CA(20-19).crt HTTP/1.1\r\n"
        "Host: cacerts.test\r\n",
        B_NONE, REASON_CA_ISSUER_REQUEST, -2, false, 0},
    {"issuer: Let's Encrypt root path",
        "GET http://cacerts.test/ HTTP/1.1\r\nHost: cacerts.test\r\n", B_NONE,
        REASON_CA_ISSUER_REQUEST, -2, false, 0},
    {"issuer path: .html",
        "GET http://cacerts.test/index.html HTTP/1.1\r\n"
        "Host: cacerts.test\r\n",
        B_NONE, REASON_PATH_SHAPE, -2, false, 0},
    {"trust list: cab with CryptoAPI's cache-buster",
        "GET http://ctldl.windowsupdate.com/msdownload/update/v3/static/"
        "trustedr/en/authrootstl.cab?bd0fc98c3f88ee1d HTTP/1.1\r\n"
        "Host: ctldl.windowsupdate.com\r\n",
        B_NONE, REASON_CTL_REQUEST, -2, false, 0},
    /* A responder's host that also serves trust lists. */
    {"trust list: cache-buster on a responder's host",
        "GET http://both.test/msdownload/update/v3/static/"
        "trustedr/en/authrootstl.cab?bd0fc98c3f88ee1d HTTP/1.1\r\n"
        "Host: both.test\r\n",
        B_NONE, REASON_CTL_REQUEST, -2, false, 0},
    {"trust list: other query on a responder's host",
        "GET http://both.test/msdownload/update/v3/static/"
        "trustedr/en/authrootstl.cab?x=1 HTTP/1.1\r\n"
        "Host: both.test\r\n",
        B_NONE, REASON_PATH_SHAPE, -2, false, 0},
    {"trust list: disallowed cab with cache-buster",
        "GET http://ctldl.windowsupdate.com/msdownload/update/v3/static/"
        "trustedr/en/disallowedcertstl.cab?62e1794ce62ea2ce HTTP/1.1\r\n"
        "Host: ctldl.windowsupdate.com\r\n",
        B_NONE, REASON_CTL_REQUEST, -2, false, 0},
    {"trust list: pin rules cab with cache-buster",
        "GET http://ctldl.windowsupdate.com/msdownload/update/v3/static/"
        "trustedr/en/pinrulesstl.cab?b10ce11509a3e09c HTTP/1.1\r\n"
        "Host: ctldl.windowsupdate.com\r\n",
        B_NONE, REASON_CTL_REQUEST, -2, false, 0},
    {"trust list: sequence number",
        "GET http://ctldl.windowsupdate.com/msdownload/update/v3/static/"
        "trustedr/en/authrootseq.txt HTTP/1.1\r\n"
        "Host: ctldl.windowsupdate.com\r\n",
        B_NONE, REASON_CTL_REQUEST, -2, false, 0},
    {"trust list: root by thumbprint",
        "GET http://ctldl.windowsupdate.com/msdownload/update/v3/static/"
        "trustedr/en/CABD2A79A1076A31F21D253635CB039D4329A5E8.crt "
        "HTTP/1.1\r\nHost: ctldl.windowsupdate.com\r\n",
        B_NONE, REASON_CTL_REQUEST, -2, false, 0},
    {"trust list: mirror directory of the entry",
        "GET http://mirror.test/ctl/authrootstl.cab HTTP/1.1\r\n"
        "Host: mirror.test\r\n",
        B_NONE, REASON_CTL_REQUEST, -2, false, 0},
    {"trust list: query on the sequence file",
        "GET http://ctldl.windowsupdate.com/msdownload/update/v3/static/"
        "trustedr/en/authrootseq.txt?0123456789abcdef HTTP/1.1\r\n"
        "Host: ctldl.windowsupdate.com\r\n",
        B_NONE, REASON_PATH_SHAPE, -2, false, 0},
    {"trust list: query not 16 hex digits",
        "GET http://ctldl.windowsupdate.com/msdownload/update/v3/static/"
        "trustedr/en/authrootstl.cab?bd0fc98c3f88ee1d0 HTTP/1.1\r\n"
        "Host: ctldl.windowsupdate.com\r\n",
        B_NONE, REASON_PATH_SHAPE, -2, false, 0},
    {"trust list: query with a name",
        "GET http://ctldl.windowsupdate.com/msdownload/update/v3/static/"
        "trustedr/en/authrootstl.cab?x=1 HTTP/1.1\r\n"
        "Host: ctldl.windowsupdate.com\r\n",
        B_NONE, REASON_PATH_SHAPE, -2, false, 0},
    {"trust list: another directory",
        "GET http://ctldl.windowsupdate.com/authrootstl.cab HTTP/1.1\r\n"
        "Host: ctldl.windowsupdate.com\r\n",
        B_NONE, REASON_PATH_SHAPE, -2, false, 0},
    {"trust list: another file",
        "GET http://ctldl.windowsupdate.com/msdownload/update/v3/static/"
        "trustedr/en/evil.crt HTTP/1.1\r\n"
        "Host: ctldl.windowsupdate.com\r\n",
        B_NONE, REASON_PATH_SHAPE, -2, false, 0},
    {"trust list: below the mirror directory",
        "GET http://mirror.test/ctl/sub/authrootstl.cab HTTP/1.1\r\n"
        "Host: mirror.test\r\n",
        B_NONE, REASON_PATH_SHAPE, -2, false, 0},
    /* http_malformed: origin-form on a connection not intercepted. */
    {"origin-form POST", "POST / HTTP/1.1\r\nHost: ocsp.test\r\n" CT, B_GOOD,
        REASON_HTTP_MALFORMED, -1, false, 0},
    {"origin-form PUT: http_malformed first",
        "PUT / HTTP/1.1\r\nHost: ocsp.test\r\n" CT, B_GOOD,
        REASON_HTTP_MALFORMED, -1, false, 0},
    /* method_not_allowed, before the responder. */
    {"PUT", "PUT http://ocsp.test/ HTTP/1.1\r\nHost: ocsp.test\r\n" CT, B_GOOD,
        REASON_METHOD_NOT_ALLOWED, -1, false, 0},
    {"HEAD to an unknown host",
        "HEAD http://evil.test/ HTTP/1.1\r\n"
        "Host: evil.test\r\n",
        B_NONE, REASON_METHOD_NOT_ALLOWED, -1, false, 0},
    {"DELETE", "DELETE http://ocsp.test/ HTTP/1.1\r\nHost: ocsp.test\r\n",
        B_NONE, REASON_METHOD_NOT_ALLOWED, -1, false, 0},
    {"CONNECT to a responder",
        "CONNECT ocsp.test:80 HTTP/1.1\r\n"
        "Host: ocsp.test:80\r\n",
        B_NONE, REASON_METHOD_NOT_ALLOWED, -1, false, 0},
    {"CONNECT elsewhere",
        "CONNECT evil.test:443 HTTP/1.1\r\n"
        "Host: evil.test:443\r\n",
        B_NONE, REASON_METHOD_NOT_ALLOWED, -1, false, 0},
    {"OPTIONS *", "OPTIONS * HTTP/1.1\r\nHost: ocsp.test\r\n", B_NONE,
        REASON_METHOD_NOT_ALLOWED, -1, false, 0},
    /*
     * unknown_responder, with the class the request would be allowed as
     * were its host listed there (the candidate).
     */
    {"unknown host",
        "POST http://evil.test/ HTTP/1.1\r\nHost: evil.test\r\n" CT, B_GOOD,
        REASON_UNKNOWN_RESPONDER, -1, true, 0},
    {"unknown host, not OCSP either",
        "GET http://evil.test/hello HTTP/1.1\r\n"
        "Host: evil.test\r\n",
        B_NONE, REASON_UNKNOWN_RESPONDER, -1, false, 0},
    {"known host, other port",
        "POST http://ocsp.test:8080/ HTTP/1.1\r\n"
        "Host: ocsp.test\r\n" CT,
        B_GOOD, REASON_UNKNOWN_RESPONDER, -1, true, 0},
    {"subdomain of an exact host",
        "POST http://a.ocsp.test/ HTTP/1.1\r\n"
        "Host: a.ocsp.test\r\n" CT,
        B_GOOD, REASON_UNKNOWN_RESPONDER, -1, true, 0},
    {"wildcard's own domain",
        "POST http://wild.test:8080/ocsp HTTP/1.1\r\n"
        "Host: wild.test\r\n" CT,
        B_GOOD, REASON_UNKNOWN_RESPONDER, -1, true, 0},
    {"wildcard, default port",
        "POST http://a.wild.test/ocsp HTTP/1.1\r\n"
        "Host: a.wild.test\r\n" CT,
        B_GOOD, REASON_UNKNOWN_RESPONDER, -1, true, 0},
    {"prefix without segment boundary",
        "POST http://pki.test/ocspx HTTP/1.1\r\nHost: pki.test\r\n" CT, B_GOOD,
        REASON_UNKNOWN_RESPONDER, -1, true, 0},
    {"outside the prefix",
        "GET http://pki.test/@G HTTP/1.1\r\n"
        "Host: pki.test\r\n",
        B_NONE, REASON_UNKNOWN_RESPONDER, -1, true, 0},
    {"outside the prefix, under an AIA path",
        "GET http://pki.test/gts1c3/@G HTTP/1.1\r\n"
        "Host: pki.test\r\n",
        B_NONE, REASON_UNKNOWN_RESPONDER, -1, true, 7},
    {"unknown host, a CRL",
        "GET http://evil.test/ca.crl HTTP/1.1\r\nHost: evil.test\r\n", B_NONE,
        REASON_UNKNOWN_RESPONDER, -1, false, 0},
    {"unknown host, OCSP about another CA's certificate",
        "GET http://evil.test/@O HTTP/1.1\r\nHost: evil.test\r\n", B_NONE,
        REASON_UNKNOWN_RESPONDER, -1, true, 0},
    {"unknown host, a malformed OCSP request",
        "GET http://evil.test/@M HTTP/1.1\r\nHost: evil.test\r\n", B_NONE,
        REASON_UNKNOWN_RESPONDER, -1, false, 0},
    /* not_ocsp. */
    {"POST without Content-Type",
        "POST http://ocsp.test/ HTTP/1.1\r\n"
        "Host: ocsp.test\r\n",
        B_GOOD, REASON_NOT_OCSP, 0, false, 0},
    {"POST as text/plain",
        "POST http://ocsp.test/ HTTP/1.1\r\n"
        "Host: ocsp.test\r\nContent-Type: text/plain\r\n",
        B_GOOD, REASON_NOT_OCSP, 0, false, 0},
    {"POST as ocsp-response",
        "POST http://ocsp.test/ HTTP/1.1\r\n"
        "Host: ocsp.test\r\n"
        "Content-Type: application/ocsp-response\r\n",
        B_GOOD, REASON_NOT_OCSP, 0, false, 0},
    {"POST as ocsp-requestx",
        "POST http://ocsp.test/ HTTP/1.1\r\n"
        "Host: ocsp.test\r\n"
        "Content-Type: application/ocsp-requestx\r\n",
        B_GOOD, REASON_NOT_OCSP, 0, false, 0},
    {"POST with an empty Content-Type",
        "POST http://ocsp.test/ HTTP/1.1\r\n"
        "Host: ocsp.test\r\nContent-Type:\r\n",
        B_GOOD, REASON_NOT_OCSP, 0, false, 0},
    {"POST, unknown issuer but no Content-Type",
        "POST http://issuers.test/ HTTP/1.1\r\nHost: issuers.test\r\n", B_OTHER,
        REASON_NOT_OCSP, 3, false, 0},
    {"GET of a page",
        "GET http://ocsp.test/index.html HTTP/1.1\r\n"
        "Host: ocsp.test\r\n",
        B_NONE, REASON_NOT_OCSP, 0, false, 0},
    {"GET of a CRL from a responder only: no candidate",
        "GET http://ocsp.test/ca.crl HTTP/1.1\r\nHost: ocsp.test\r\n", B_NONE,
        REASON_NOT_OCSP, 0, false, 0},
    {"GET /", "GET http://ocsp.test/ HTTP/1.1\r\nHost: ocsp.test\r\n", B_NONE,
        REASON_NOT_OCSP, 0, false, 0},
    {"GET of the prefix alone",
        "GET http://pki.test/ocsp HTTP/1.1\r\n"
        "Host: pki.test\r\n",
        B_NONE, REASON_NOT_OCSP, 2, false, 0},
    {"GET with a query",
        "GET http://ocsp.test/@G?x=1 HTTP/1.1\r\n"
        "Host: ocsp.test\r\n",
        B_NONE, REASON_NOT_OCSP, 0, false, 0},
    {"GET with a body",
        "GET http://ocsp.test/@G HTTP/1.1\r\n"
        "Host: ocsp.test\r\n",
        B_TEXT, REASON_NOT_OCSP, 0, false, 0},
    {"GET of base64 that is no SEQUENCE",
        "GET http://ocsp.test/aGVsbG8%3D HTTP/1.1\r\nHost: ocsp.test\r\n",
        B_NONE, REASON_NOT_OCSP, 0, false, 0},
    /* ocsp_malformed. */
    {"POST of a SEQUENCE that is no request",
        "POST http://ocsp.test/ HTTP/1.1\r\nHost: ocsp.test\r\n" CT, B_BAD,
        REASON_OCSP_MALFORMED, 0, true, 0},
    {"POST of text",
        "POST http://ocsp.test/ HTTP/1.1\r\nHost: ocsp.test\r\n" CT, B_TEXT,
        REASON_OCSP_MALFORMED, 0, true, 0},
    {"POST of nothing",
        "POST http://ocsp.test/ HTTP/1.1\r\n"
        "Host: ocsp.test\r\n" CT,
        B_EMPTY, REASON_OCSP_MALFORMED, 0, true, 0},
    {"GET of a SEQUENCE that is no request",
        "GET http://ocsp.test/@M HTTP/1.1\r\nHost: ocsp.test\r\n", B_NONE,
        REASON_OCSP_MALFORMED, 0, true, 0},
    {"malformed before unknown issuer",
        "POST http://issuers.test/ HTTP/1.1\r\n"
        "Host: issuers.test\r\n" CT,
        B_BAD, REASON_OCSP_MALFORMED, 3, true, 0},
    /* unknown_issuer. */
    {"POST, unknown issuer",
        "POST http://issuers.test/ HTTP/1.1\r\n"
        "Host: issuers.test\r\n" CT,
        B_OTHER, REASON_UNKNOWN_ISSUER, 3, true, 0},
    {"GET, unknown issuer",
        "GET http://issuers.test/@O HTTP/1.1\r\n"
        "Host: issuers.test\r\n",
        B_NONE, REASON_UNKNOWN_ISSUER, 3, true, 0},
};

/*
 * The candidates of pol_cases (verdict.candidate), by case name: the
 * class an unknown_responder would be allowed as were its host listed
 * there. Every other case has none.
 */
static const struct {
	const char *name;
	enum candidate_class cand;
} pol_candidates[] = {
    {"unknown host", CANDIDATE_OCSP},
    {"known host, other port", CANDIDATE_OCSP},
    {"subdomain of an exact host", CANDIDATE_OCSP},
    {"wildcard's own domain", CANDIDATE_OCSP},
    {"wildcard, default port", CANDIDATE_OCSP},
    {"prefix without segment boundary", CANDIDATE_OCSP},
    {"outside the prefix", CANDIDATE_OCSP},
    {"outside the prefix, under an AIA path", CANDIDATE_OCSP},
    {"unknown host, a CRL", CANDIDATE_CRL},
    {"unknown host, OCSP about another CA's certificate", CANDIDATE_OCSP},
};

static enum candidate_class
pol_candidate(const char *name)
{
	for (size_t i = 0;
	     i < sizeof(pol_candidates) / sizeof(pol_candidates[0]); i++)
		if (strcmp(pol_candidates[i].name, name) == 0)
			return pol_candidates[i].cand;
	return CANDIDATE_NONE;
}

/*
 * Builds the request text of <head> (see struct pol_case) and <body_kind>
 * into <out>; returns its length.
 */
static size_t
build_request(const char *head, enum t_body body_kind, char *out, size_t cap)
{
	char good[1024], other[1024], bad[64], url[1024], plain[1024];
	const unsigned char *body = NULL;
	size_t o = 0, body_len = 0;
	unsigned url_flags;

	b64_percent(t_good, t_good_len, good, sizeof(good));
	b64_percent(t_other, t_other_len, other, sizeof(other));
	b64_percent(t_bad, sizeof(t_bad), bad, sizeof(bad));
	b64_url(t_good, t_good_len, url, sizeof(url), &url_flags);
	if (EVP_EncodeBlock((unsigned char *)plain, t_good, (int)t_good_len) <=
	    0)
		fail("EVP_EncodeBlock");
	for (const char *p = head; *p != '\0'; p++) {
		const char *sub = NULL;

		if (p[0] == '@' && p[1] == 'G')
			sub = good;
		else if (p[0] == '@' && p[1] == 'O')
			sub = other;
		else if (p[0] == '@' && p[1] == 'M')
			sub = bad;
		else if (p[0] == '@' && p[1] == 'U')
			sub = url;
		else if (p[0] == '@' && p[1] == 'S')
			sub = plain;
		if (o + 1100 >= cap)
			fail("build_request");
		if (sub != NULL) {
			o += (size_t)snprintf(out + o, cap - o, "%s", sub);
			p++;
		} else {
			out[o++] = *p;
		}
	}
	switch (body_kind) {
	case B_GOOD:
		body = t_good;
		body_len = t_good_len;
		break;
	case B_OTHER:
		body = t_other;
		body_len = t_other_len;
		break;
	case B_BAD:
		body = t_bad;
		body_len = sizeof(t_bad);
		break;
	case B_TEXT:
		body = (const unsigned char *)"hello";
		body_len = 5;
		break;
	case B_EMPTY:
	case B_NONE:
		break;
	}
	if (body_kind != B_NONE)
		o += (size_t)snprintf(
		    out + o, cap - o, "Content-Length: %zu\r\n", body_len);
	o += (size_t)snprintf(out + o, cap - o, "\r\n");
	if (o + body_len > cap)
		fail("build_request");
	if (body_len > 0)
		memcpy(out + o, body, body_len);
	return o + body_len;
}

static void
test_decide(void)
{
	static unsigned char body[T_BODY_CAP], der[T_BODY_CAP];
	static char text[8192];

	for (size_t i = 0; i < sizeof(pol_cases) / sizeof(pol_cases[0]); i++) {
		const struct pol_case *c = &pol_cases[i];
		size_t len =
		           build_request(c->head, c->body, text, sizeof(text)),
		       consumed;
		struct ocsp_request_facts facts;
		struct http_request req;
		struct verdict v;
		const struct responder *want_r =
		    c->responder < 0 ? NULL : &t_responders[c->responder];
		(void)0;

		http_request_init(&req, body, sizeof(body));
		if (http_request_parse(&req, text, len, &consumed) !=
		    HTTP_PARSE_DONE) {
			CHECKF(false, "%s: request does not parse (%s)",
			    c->name, req.detail != NULL ? req.detail : "-");
			continue;
		}
		memset(&facts, 0, sizeof(facts));
		memset(&v, 0xa5, sizeof(v));
		policy_decide(&t_cfg, &req, der, sizeof(der), &facts, &v, NULL);
		CHECKF(v.reason == c->want, "%s: reason %s, want %s (%s)",
		    c->name, reason_name(v.reason), reason_name(c->want),
		    v.detail != NULL ? v.detail : "-");
		if (c->responder == -2)
			CHECKF(
			    v.responder != NULL, "%s: no responder", c->name);
		else
			CHECKF(v.responder == want_r, "%s: responder %s",
			    c->name,
			    v.responder != NULL ? v.responder->spec : "none");
		CHECKF(v.get_prefix_len == c->prefix, "%s: prefix %zu", c->name,
		    v.get_prefix_len);
		CHECKF(v.ocsp_parsed == c->parsed, "%s: ocsp_parsed %d",
		    c->name, v.ocsp_parsed);
		CHECKF(v.candidate == pol_candidate(c->name),
		    "%s: candidate %s", c->name,
		    v.candidate != CANDIDATE_NONE
		        ? candidate_class_name(v.candidate)
		        : "none");
		if (reason_is_allow(c->want))
			CHECKF(v.detail == NULL, "%s: detail %s", c->name,
			    v.detail);
		else if (c->want != REASON_METHOD_NOT_ALLOWED &&
		    c->want != REASON_UNKNOWN_RESPONDER)
			CHECKF(v.detail != NULL, "%s: no detail", c->name);
	}
}

/* The facts an allowed request leaves for the event log. */
static void
test_facts(void)
{
	static unsigned char body[T_BODY_CAP], der[T_BODY_CAP];
	static char text[8192];
	const struct pol_case get = {"GET",
	    "GET http://ocsp.test/@U HTTP/1.1\r\n"
	    "Host: ocsp.test\r\n",
	    B_NONE, REASON_OCSP_REQUEST, 0, true, 0};
	const struct pol_case post = {"POST",
	    "POST http://ocsp.test/ HTTP/1.1\r\nHost: ocsp.test\r\n" CT, B_GOOD,
	    REASON_OCSP_REQUEST, 0, true, 0};
	struct ocsp_request_facts facts;
	struct http_request req;
	struct verdict v;
	unsigned url_flags;
	char url[1024];
	size_t len, consumed;

	b64_url(t_good, t_good_len, url, sizeof(url), &url_flags);
	len = build_request(get.head, get.body, text, sizeof(text));
	http_request_init(&req, body, sizeof(body));
	CHECK(
	    http_request_parse(&req, text, len, &consumed) == HTTP_PARSE_DONE);
	memset(&facts, 0, sizeof(facts));
	policy_decide(&t_cfg, &req, der, sizeof(der), &facts, &v, NULL);
	CHECK(v.reason == REASON_OCSP_REQUEST);
	CHECKF(facts.flags == url_flags, "GET flags %#x, want %#x", facts.flags,
	    url_flags);
	CHECK(facts.der_len == t_good_len);
	CHECK(facts.ncerts == 1 && facts.certs[0].hash == OCSP_HASH_SHA1 &&
	    facts.certs[0].hash_len == 20);
	CHECK(facts.certs[0].serial_len == sizeof(t_good_serial) &&
	    memcmp(facts.certs[0].serial, t_good_serial,
	        sizeof(t_good_serial)) == 0);
	CHECK(memcmp(facts.certs[0].name_hash,
	          t_issuer1.name_hash[OCSP_HASH_SHA1], 20) == 0 &&
	    memcmp(facts.certs[0].key_hash, t_issuer1.key_hash[OCSP_HASH_SHA1],
	        20) == 0);

	len = build_request(post.head, post.body, text, sizeof(text));
	http_request_init(&req, body, sizeof(body));
	CHECK(
	    http_request_parse(&req, text, len, &consumed) == HTTP_PARSE_DONE);
	memset(&facts, 0, sizeof(facts));
	policy_decide(&t_cfg, &req, der, sizeof(der), &facts, &v, NULL);
	CHECK(v.reason == REASON_OCSP_REQUEST && v.ocsp_parsed);
	CHECK(facts.flags == 0 && facts.ncerts == 1 &&
	    facts.der_len == t_good_len && !facts.has_nonce);

	/* A DER scratch too small for the GET blob: not decodable. */
	len = build_request(get.head, get.body, text, sizeof(text));
	http_request_init(&req, body, sizeof(body));
	CHECK(
	    http_request_parse(&req, text, len, &consumed) == HTTP_PARSE_DONE);
	memset(&facts, 0, sizeof(facts));
	policy_decide(&t_cfg, &req, der, 8, &facts, &v, NULL);
	CHECK(v.reason == REASON_NOT_OCSP && !v.ocsp_parsed);
}

/*
 * Candidates: requests to cand.test, a host no list names, with the class
 * they would be allowed as were cand.test listed in that class without a
 * path. The paths are real AIA, CDP and Windows Update shapes and their
 * near misses.
 */
#define CAND_GET(path)                                                         \
	"GET http://cand.test" path " HTTP/1.1\r\nHost: cand.test\r\n"
#define CAND_POST(path)                                                        \
	"POST http://cand.test" path " HTTP/1.1\r\nHost: cand.test\r\n"
#define WU_DIR "/msdownload/update/v3/static/trustedr/en/"

struct cand_case {
	const char *name;
	const char *head; /* as in struct pol_case */
	enum t_body body;
	enum candidate_class want;
	size_t prefix; /* verdict.get_prefix_len of an OCSP GET */
};

static const struct cand_case cand_cases[] = {
    /* OCSP POSTs: the type, a path of AIA shape, the DER rules. */
    {"post root", CAND_POST("/") CT, B_GOOD, CANDIDATE_OCSP, 0},
    {"post aia path", CAND_POST("/gsrsaovsslca2018") CT, B_GOOD, CANDIDATE_OCSP,
        0},
    {"post ocsp dir", CAND_POST("/ocsp/") CT, B_GOOD, CANDIDATE_OCSP, 0},
    {"post type params", CAND_POST("/") CT_PARAMS, B_GOOD, CANDIDATE_OCSP, 0},
    {"post type case",
        CAND_POST("/") "Content-Type: Application/OCSP-Request\r\n", B_GOOD,
        CANDIDATE_OCSP, 0},
    /* Four segments of 1..48 characters, 96 bytes in all. */
    {"post 4 segments, 71 bytes",
        CAND_POST("/aaaaaaaaaaaaaaaa/bbbbbbbbbbbbbbbb/cccccccccccccccc/"
                  "dddddddddddddddd") CT,
        B_GOOD, CANDIDATE_OCSP, 0},
    {"post 5 segments", CAND_POST("/a/b/c/d/e") CT, B_GOOD, CANDIDATE_NONE, 0},
    {"post bad der", CAND_POST("/") CT, B_BAD, CANDIDATE_NONE, 0},
    {"post text", CAND_POST("/") CT, B_TEXT, CANDIDATE_NONE, 0},
    {"post empty", CAND_POST("/") CT, B_EMPTY, CANDIDATE_NONE, 0},
    {"post no body", CAND_POST("/") CT, B_NONE, CANDIDATE_NONE, 0},
    {"post no type", CAND_POST("/"), B_GOOD, CANDIDATE_NONE, 0},
    {"post other type",
        CAND_POST("/") "Content-Type: application/octet-stream\r\n", B_GOOD,
        CANDIDATE_NONE, 0},
    {"post type suffix",
        CAND_POST("/") "Content-Type: application/ocsp-requestx\r\n", B_GOOD,
        CANDIDATE_NONE, 0},
    {"post query", CAND_POST("/?x") CT, B_GOOD, CANDIDATE_NONE, 0},
    {"post long segment",
        CAND_POST(
            "/aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
            "aaaaa") CT,
        B_GOOD, CANDIDATE_NONE, 0},
    {"post odd path", CAND_POST("/a%20b") CT, B_GOOD, CANDIDATE_NONE, 0},
    {"post tilde", CAND_POST("/a~b") CT, B_GOOD, CANDIDATE_NONE, 0},
    {"post double slash", CAND_POST("//") CT, B_GOOD, CANDIDATE_NONE, 0},
    /* OCSP GETs, with and without the AIA URL's path before. */
    {"get", CAND_GET("/@S"), B_NONE, CANDIDATE_OCSP, 0},
    {"get url-safe", CAND_GET("/@U"), B_NONE, CANDIDATE_OCSP, 0},
    {"get cryptoapi", CAND_GET("/@G"), B_NONE, CANDIDATE_OCSP, 0},
    {"get cryptoapi prefix", CAND_GET("/ocsp/@G"), B_NONE, CANDIDATE_OCSP, 5},
    {"get prefix", CAND_GET("/gts1c3/@S"), B_NONE, CANDIDATE_OCSP, 7},
    {"get prefix 3", CAND_GET("/a/b-c/d.e/@S"), B_NONE, CANDIDATE_OCSP, 10},
    {"get prefix 4", CAND_GET("/a/b/c/d/@S"), B_NONE, CANDIDATE_OCSP, 8},
    {"get prefix 5", CAND_GET("/a/b/c/d/e/@S"), B_NONE, CANDIDATE_NONE, 0},
    {"get prefix odd", CAND_GET("/a+b/@S"), B_NONE, CANDIDATE_NONE, 0},
    {"get prefix empty", CAND_GET("/a//b/@S"), B_NONE, CANDIDATE_NONE, 0},
    /* The decoder's doubled '/' repair. */
    {"get prefix double slash", CAND_GET("/gts1c3//@S"), B_NONE, CANDIDATE_OCSP,
        7},
    {"get prefix long",
        CAND_GET(
            "/aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
            "aaaa/@S"),
        B_NONE, CANDIDATE_NONE, 0},
    {"get query", CAND_GET("/@S?x=1"), B_NONE, CANDIDATE_NONE, 0},
    {"get body", CAND_GET("/@S"), B_GOOD, CANDIDATE_NONE, 0},
    {"get malformed der", CAND_GET("/@M"), B_NONE, CANDIDATE_NONE, 0},
    {"get not base64", CAND_GET("/hello"), B_NONE, CANDIDATE_NONE, 0},
    {"get suffix", CAND_GET("/@S/x"), B_NONE, CANDIDATE_NONE, 0},
    /*
     * A host's root: Let's Encrypt's root CDP ("http://x1.c.lencr.org/")
     * once listed, but no candidate (every front page would be one).
     */
    {"get root", CAND_GET("/"), B_NONE, CANDIDATE_NONE, 0},
    /* CRLs (CDP). */
    {"crl", CAND_GET("/DigiCertGlobalRootCA.crl"), B_NONE, CANDIDATE_CRL, 0},
    {"crl dir", CAND_GET("/pki/crl/products/MicRooCerAut_2010-06-23.crl"),
        B_NONE, CANDIDATE_CRL, 0},
    {"crl adcs delta", CAND_GET("/CertEnroll/Corp%20CA(1)+.crl"), B_NONE,
        CANDIDATE_CRL, 0},
    {"crl actalis", CAND_GET("/Repository/AUTHCL-G3/getLastCRL"), B_NONE,
        CANDIDATE_CRL, 0},
    {"crl case", CAND_GET("/X.CRL"), B_NONE, CANDIDATE_CRL, 0},
    {"crl bare", CAND_GET("/.crl"), B_NONE, CANDIDATE_CRL, 0},
    {"crl query", CAND_GET("/x.crl?1"), B_NONE, CANDIDATE_NONE, 0},
    {"crl body", CAND_GET("/x.crl"), B_TEXT, CANDIDATE_NONE, 0},
    {"crl post", CAND_POST("/x.crl"), B_TEXT, CANDIDATE_NONE, 0},
    {"crl dir only", CAND_GET("/x.crl/"), B_NONE, CANDIDATE_NONE, 0},
    {"crl bad escape", CAND_GET("/a%2x.crl"), B_NONE, CANDIDATE_NONE, 0},
    {"crl short escape", CAND_GET("/a.crl%2"), B_NONE, CANDIDATE_NONE, 0},
    {"crl escaped slash", CAND_GET("/a%2Fb.crl"), B_NONE, CANDIDATE_NONE, 0},
    {"crl two needless escapes", CAND_GET("/a%41%42.crl"), B_NONE,
        CANDIDATE_CRL, 0},
    {"crl three needless escapes", CAND_GET("/a%41%42%43.crl"), B_NONE,
        CANDIDATE_NONE, 0},
    {"crl bang", CAND_GET("/a!b.crl"), B_NONE, CANDIDATE_NONE, 0},
    {"crl parenthesis in a directory", CAND_GET("/a(1)/x.crl"), B_NONE,
        CANDIDATE_NONE, 0},
    {"crl semicolon", CAND_GET("/a;b.crl"), B_NONE, CANDIDATE_NONE, 0},
    {"crl deep", CAND_GET("/1/2/3/4/5/6/7/8/x.crl"), B_NONE, CANDIDATE_NONE, 0},
    {"crl 8 segments", CAND_GET("/1/2/3/4/5/6/7/x.crl"), B_NONE, CANDIDATE_CRL,
        0},
    /* Issuer certificates (AIA caIssuers). */
    {"cert crt", CAND_GET("/gts1c3.crt"), B_NONE, CANDIDATE_CA_ISSUER, 0},
    {"cert cer", CAND_GET("/aia/root.cer"), B_NONE, CANDIDATE_CA_ISSUER, 0},
    {"cert der", CAND_GET("/repo/certs/gtsr1.der"), B_NONE, CANDIDATE_CA_ISSUER,
        0},
    {"cert p7c", CAND_GET("/chain.p7c"), B_NONE, CANDIDATE_CA_ISSUER, 0},
    {"cert p7b", CAND_GET("/chain.P7B"), B_NONE, CANDIDATE_NONE, 0},
    {"cert swisssign key id",
        CAND_GET("/cgi-bin/authority/download/"
                 "425419CD83663AE8815437BBEEF09B15E3723E39"),
        B_NONE, CANDIDATE_CA_ISSUER, 0},
    {"cert pem", CAND_GET("/x.pem"), B_NONE, CANDIDATE_NONE, 0},
    /* Trust lists: Windows Update's directory, as a ctl_hosts entry
     * without a path takes. */
    {"ctl cab", CAND_GET(WU_DIR "authrootstl.cab"), B_NONE, CANDIDATE_CTL, 0},
    {"ctl cab cache-buster",
        CAND_GET(WU_DIR "authrootstl.cab?bd0fc98c3f88ee1d"), B_NONE,
        CANDIDATE_CTL, 0},
    {"ctl seq", CAND_GET(WU_DIR "disallowedcertseq.txt"), B_NONE, CANDIDATE_CTL,
        0},
    /* A root by thumbprint is an issuer-certificate path too, the class
     * tried first. */
    {"ctl root by thumbprint",
        CAND_GET(WU_DIR "CABD2A79A1076A31F21D253635CB039D4329A5E8.crt"), B_NONE,
        CANDIDATE_CA_ISSUER, 0},
    {"ctl seq elsewhere", CAND_GET("/x/disallowedcertseq.txt"), B_NONE,
        CANDIDATE_NONE, 0},
    {"ctl query elsewhere", CAND_GET("/x/authrootstl.cab?bd0fc98c3f88ee1d"),
        B_NONE, CANDIDATE_NONE, 0},
    {"ctl query on the sequence",
        CAND_GET(WU_DIR "authrootseq.txt?bd0fc98c3f88ee1d"), B_NONE,
        CANDIDATE_NONE, 0},
    {"ctl other file", CAND_GET(WU_DIR "evil.cab"), B_NONE, CANDIDATE_NONE, 0},
    {"html", CAND_GET("/index.html"), B_NONE, CANDIDATE_NONE, 0},
    {"put", "PUT http://cand.test/x.crl HTTP/1.1\r\nHost: cand.test\r\n",
        B_NONE, CANDIDATE_NONE, 0},
};

/*
 * <req> decided against the config listing cand.test in class <c> alone
 * (CANDIDATE_NONE: no list) or, with <pinned>, as a responder pinned to
 * an issuer no test request names. Returns the verdict's reason.
 */
static enum reason
cand_decide(const struct http_request *req, enum candidate_class c, bool pinned,
    struct ocsp_request_facts *facts, struct verdict *v,
    const struct policy_memo *memo)
{
	static unsigned char der[T_BODY_CAP];
	struct config cfg;
	struct responder pin = t_cand_entry;

	memset(&cfg, 0, sizeof(cfg));
	cfg.max_request_body = T_BODY_CAP;
	cfg.max_nonce_bytes = CONFIG_DEFAULT_MAX_NONCE_BYTES;
	if (pinned) {
		pin.issuers = &t_issuer_none;
		pin.nissuers = 1;
		cfg.responders = &pin;
		cfg.nresponders = 1;
	} else if (c == CANDIDATE_OCSP) {
		cfg.responders = &t_cand_entry;
		cfg.nresponders = 1;
	} else if (c == CANDIDATE_CRL) {
		cfg.crl_hosts = &t_cand_entry;
		cfg.ncrl_hosts = 1;
	} else if (c == CANDIDATE_CA_ISSUER) {
		cfg.ca_issuer_hosts = &t_cand_entry;
		cfg.nca_issuer_hosts = 1;
	} else if (c == CANDIDATE_CTL) {
		cfg.ctl_hosts = &t_cand_entry;
		cfg.nctl_hosts = 1;
	}
	memset(facts, 0, sizeof(*facts));
	policy_decide(&cfg, req, der, sizeof(der), facts, v, memo);
	return v->reason;
}

static const char *
cand_name(enum candidate_class c)
{
	return c != CANDIDATE_NONE ? candidate_class_name(c) : "none";
}

static void
test_candidates(void)
{
	static unsigned char body[T_BODY_CAP];
	static char text[8192];
	struct policy_memo memo = {
	    memo_new(16, 4096, sizeof(struct policy_memo_value), 7),
	    memo_new(16, 4096, sizeof(struct policy_get_value), 8)};

	if (memo.requests == NULL || memo.get_paths == NULL)
		fail("memo_new");
	for (size_t i = 0; i < sizeof(cand_cases) / sizeof(cand_cases[0]);
	     i++) {
		const struct cand_case *c = &cand_cases[i];
		size_t len =
		           build_request(c->head, c->body, text, sizeof(text)),
		       consumed;
		enum candidate_class first = CANDIDATE_NONE;
		struct ocsp_request_facts facts, f2;
		struct http_request req;
		struct verdict v, v2;

		http_request_init(&req, body, sizeof(body));
		if (http_request_parse(&req, text, len, &consumed) !=
		    HTTP_PARSE_DONE) {
			CHECKF(false, "%s: request does not parse (%s)",
			    c->name, req.detail != NULL ? req.detail : "-");
			continue;
		}
		/* No list: unknown_responder and the class, if any. */
		(void)cand_decide(
		    &req, CANDIDATE_NONE, false, &facts, &v, NULL);
		CHECKF(v.candidate == c->want, "%s: %s, want %s", c->name,
		    cand_name(v.candidate), cand_name(c->want));
		CHECKF(v.reason ==
		            (strncmp(c->head, "PUT", 3) == 0
		                    ? REASON_METHOD_NOT_ALLOWED
		                    : REASON_UNKNOWN_RESPONDER) &&
		        v.responder == NULL && v.detail != NULL,
		    "%s: %s", c->name, reason_name(v.reason));
		CHECKF(v.get_prefix_len == c->prefix &&
		        v.ocsp_parsed == (c->want == CANDIDATE_OCSP),
		    "%s: prefix %zu, parsed %d", c->name, v.get_prefix_len,
		    v.ocsp_parsed);
		if (c->want == CANDIDATE_OCSP)
			/* The facts of the request, as for a listed host. */
			CHECKF(facts.ncerts == 1 &&
			        facts.der_len == t_good_len &&
			        facts.certs[0].serial_len ==
			            sizeof(t_good_serial) &&
			        memcmp(facts.certs[0].serial, t_good_serial,
			            sizeof(t_good_serial)) == 0,
			    "%s: facts", c->name);
		else
			CHECKF(facts.ncerts == 0 && facts.flags == 0 &&
			        facts.der_len == 0 && facts.detail == NULL,
			    "%s: facts left set", c->name);
		/* The same through the memos, when they miss and hit. */
		for (int round = 0; round < 2; round++) {
			(void)cand_decide(
			    &req, CANDIDATE_NONE, false, &f2, &v2, &memo);
			CHECKF(v2.candidate == v.candidate &&
			        v2.get_prefix_len == v.get_prefix_len &&
			        f2.flags == facts.flags &&
			        f2.ncerts == facts.ncerts &&
			        f2.der_len == facts.der_len,
			    "%s: memo round %d", c->name, round);
		}
		/*
		 * The rule itself: the candidate is the first class, in
		 * policy_decide()'s order, that allows the request once
		 * cand.test is listed there; a responder entry's issuer pin
		 * is all that may refuse an OCSP candidate then.
		 */
		for (unsigned k = CANDIDATE_OCSP; k < CANDIDATE_MAX; k++) {
			enum candidate_class cls = (enum candidate_class)k;
			bool allowed = cand_decide(&req, cls, false, &f2, &v2,
			                   NULL) == candidate_reason(cls);

			if (allowed && first == CANDIDATE_NONE &&
			    strcmp(c->name, "get root") != 0)
				first = cls;
			if (cls == c->want)
				CHECKF(allowed, "%s: listed as %s: %s", c->name,
				    cand_name(cls), reason_name(v2.reason));
		}
		CHECKF(first == c->want, "%s: first class allowing it %s",
		    c->name, cand_name(first));
		CHECKF(
		    (cand_decide(&req, CANDIDATE_OCSP, true, &f2, &v2, NULL) ==
		        REASON_UNKNOWN_ISSUER) == (c->want == CANDIDATE_OCSP),
		    "%s: pinned: %s", c->name, reason_name(v2.reason));
	}
	memo_free(memo.requests);
	memo_free(memo.get_paths);
}

/* A candidate GET keeps its repairs; a scratch too small decodes nothing. */
static void
test_candidate_get(void)
{
	static unsigned char body[T_BODY_CAP], der[T_BODY_CAP];
	static char text[8192];
	const struct config none = {.max_request_body = T_BODY_CAP,
	    .max_nonce_bytes = CONFIG_DEFAULT_MAX_NONCE_BYTES};
	struct ocsp_request_facts facts;
	struct http_request req;
	struct verdict v;
	unsigned url_flags;
	char url[1024];
	size_t len, consumed;

	b64_url(t_good, t_good_len, url, sizeof(url), &url_flags);
	len = build_request(CAND_GET("/ocsp/@U"), B_NONE, text, sizeof(text));
	http_request_init(&req, body, sizeof(body));
	CHECK(
	    http_request_parse(&req, text, len, &consumed) == HTTP_PARSE_DONE);
	memset(&facts, 0, sizeof(facts));
	policy_decide(&none, &req, der, sizeof(der), &facts, &v, NULL);
	CHECK(v.candidate == CANDIDATE_OCSP && v.get_prefix_len == 5);
	CHECKF(facts.flags == url_flags, "flags %#x, want %#x", facts.flags,
	    url_flags);
	memset(&facts, 0, sizeof(facts));
	policy_decide(&none, &req, der, 8, &facts, &v, NULL);
	CHECK(v.reason == REASON_UNKNOWN_RESPONDER &&
	    v.candidate == CANDIDATE_NONE && !v.ocsp_parsed &&
	    facts.flags == 0 && facts.ncerts == 0);
}

int
main(void)
{
	setup();
	test_host_matches();
	test_match_responder();
	test_decide();
	test_facts();
	test_candidates();
	test_candidate_get();
	teardown();
	return check_done();
}
