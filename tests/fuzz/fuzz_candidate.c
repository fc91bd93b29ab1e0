/*
 * Fuzz target for candidates: policy_decide()'s class for a request to a
 * host no list names, and candidate.c's evidence checks. The first byte
 * sets the method (bit 0: POST, else GET), CryptoAPI's cache-buster query
 * (bit 1), the OCSP content type (bit 2) and which evidence check reads
 * the body (bits 3-4); the path runs to the first NUL byte, the body (with
 * its Content-Length) is the rest. The request to cand.test is parsed as
 * a client would send it, then decided against configs listing nothing,
 * cand.test in one class at a time, and cand.test as a responder pinned
 * to an issuer. Aborts when the rule breaks: the candidate is exactly the
 * first class, in the order OCSP, CRL, issuer certificate, trust list,
 * that allows the request once cand.test is listed there (but a GET of
 * "/", a site's front page, is none), and a pinned
 * entry refuses an OCSP candidate for its issuer at most; or when an
 * OCSP candidate lacks its facts, any other request leaves facts set,
 * the memos change an answer, an evidence check gives a detail other
 * than exactly when it fails, or OpenSSL's error queue is left set.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/x509.h>

#include "ocspgate/candidate.h"
#include "ocspgate/config.h"
#include "ocspgate/http_request.h"
#include "ocspgate/memo.h"
#include "ocspgate/path_shape.h"
#include "ocspgate/policy.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FUZZ_CANDIDATE_DER_CAP  16384
#define FUZZ_CANDIDATE_BODY_CAP 16384
#define FUZZ_CANDIDATE_HOST     "cand.test"

/* A self-signed CA as the trust store, made once. */
static X509_STORE *fuzz_candidate_store;
static STACK_OF(X509) * fuzz_candidate_cas;

/*
 * The configs, made once: [CANDIDATE_NONE] lists nothing, [c] lists
 * cand.test in class c alone, [CANDIDATE_MAX] as a responder pinned to
 * an issuer.
 */
static struct config fuzz_candidate_cfg[CANDIDATE_MAX + 1];
static struct responder fuzz_candidate_entry, fuzz_candidate_pinned;
static struct ocsp_issuer fuzz_candidate_issuer;

/* Memos kept from input to input, small so that keys evict each other. */
static struct policy_memo fuzz_candidate_memo;

static void
fuzz_candidate_setup(void)
{
	EVP_PKEY *key = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	X509 *x = X509_new();
	X509_NAME *n = X509_get_subject_name(x);
	char err[256];

	if (key == NULL || x == NULL ||
	    X509_NAME_add_entry_by_txt(n, "CN", MBSTRING_ASC,
	        (const unsigned char *)"fuzz CA", -1, -1, 0) != 1 ||
	    X509_set_issuer_name(x, n) != 1 || X509_set_pubkey(x, key) != 1 ||
	    X509_gmtime_adj(X509_getm_notBefore(x), 0) == NULL ||
	    X509_gmtime_adj(X509_getm_notAfter(x), 86400) == NULL ||
	    X509_sign(x, key, EVP_sha256()) <= 0 ||
	    (fuzz_candidate_store = X509_STORE_new()) == NULL ||
	    X509_STORE_add_cert(fuzz_candidate_store, x) != 1 ||
	    (fuzz_candidate_cas = sk_X509_new_null()) == NULL ||
	    sk_X509_push(fuzz_candidate_cas, x) == 0)
		abort();
	EVP_PKEY_free(key);

	if (config_parse_responder(FUZZ_CANDIDATE_HOST, &fuzz_candidate_entry,
	        err, sizeof(err)) == -1)
		abort();
	/* An issuer whose hashes a request may name too, if it tries. */
	memset(&fuzz_candidate_issuer, 0x5a, sizeof(fuzz_candidate_issuer));
	fuzz_candidate_pinned = fuzz_candidate_entry;
	fuzz_candidate_pinned.issuers = &fuzz_candidate_issuer;
	fuzz_candidate_pinned.nissuers = 1;
	for (unsigned c = 0; c <= CANDIDATE_MAX; c++) {
		struct config *cfg = &fuzz_candidate_cfg[c];

		cfg->max_request_body = FUZZ_CANDIDATE_BODY_CAP;
		cfg->max_nonce_bytes = CONFIG_DEFAULT_MAX_NONCE_BYTES;
	}
	fuzz_candidate_cfg[CANDIDATE_OCSP].responders = &fuzz_candidate_entry;
	fuzz_candidate_cfg[CANDIDATE_OCSP].nresponders = 1;
	fuzz_candidate_cfg[CANDIDATE_CRL].crl_hosts = &fuzz_candidate_entry;
	fuzz_candidate_cfg[CANDIDATE_CRL].ncrl_hosts = 1;
	fuzz_candidate_cfg[CANDIDATE_CA_ISSUER].ca_issuer_hosts =
	    &fuzz_candidate_entry;
	fuzz_candidate_cfg[CANDIDATE_CA_ISSUER].nca_issuer_hosts = 1;
	fuzz_candidate_cfg[CANDIDATE_CTL].ctl_hosts = &fuzz_candidate_entry;
	fuzz_candidate_cfg[CANDIDATE_CTL].nctl_hosts = 1;
	fuzz_candidate_cfg[CANDIDATE_MAX].responders = &fuzz_candidate_pinned;
	fuzz_candidate_cfg[CANDIDATE_MAX].nresponders = 1;

	fuzz_candidate_memo.requests =
	    memo_new(4, 4096, sizeof(struct policy_memo_value), 3);
	fuzz_candidate_memo.get_paths =
	    memo_new(4, 4096, sizeof(struct policy_get_value), 4);
	if (fuzz_candidate_memo.requests == NULL ||
	    fuzz_candidate_memo.get_paths == NULL)
		abort();
}

static bool
fuzz_candidate_zero(const struct ocsp_request_facts *f)
{
	static const struct ocsp_request_facts zero;

	return memcmp(f, &zero, sizeof(zero)) == 0;
}

static bool
fuzz_candidate_same_facts(
    const struct ocsp_request_facts *a, const struct ocsp_request_facts *b)
{
	return a->flags == b->flags && a->ncerts == b->ncerts &&
	    a->has_nonce == b->has_nonce && a->nonce_len == b->nonce_len &&
	    a->der_len == b->der_len && a->detail == b->detail &&
	    a->ncerts <= OCSP_REQUEST_MAX_CERTS &&
	    memcmp(a->certs, b->certs, a->ncerts * sizeof(a->certs[0])) == 0 &&
	    a->nonce_len <= sizeof(a->nonce) &&
	    memcmp(a->nonce, b->nonce, a->nonce_len) == 0;
}

static void
fuzz_candidate_evidence(unsigned kind, const uint8_t *body, size_t len)
{
	const char *detail = "unset";
	bool ok;

	switch (kind) {
	case 0:
		ok = candidate_verify_ocsp(body, len, fuzz_candidate_store,
		    fuzz_candidate_cas, &detail);
		break;
	case 1:
		ok = candidate_verify_crl(
		    body, len, fuzz_candidate_cas, &detail);
		break;
	case 2:
		ok = candidate_verify_cert(
		    body, len, fuzz_candidate_cas, &detail);
		break;
	default:
		return;
	}
	if (ok != (detail == NULL))
		abort();
}

/* policy_decide() on config <c> into <v> and <facts>. */
static void
fuzz_candidate_decide(const struct http_request *req, unsigned c,
    const struct policy_memo *memo, struct ocsp_request_facts *facts,
    struct verdict *v)
{
	static unsigned char der[FUZZ_CANDIDATE_DER_CAP];

	memset(facts, 0, sizeof(*facts));
	policy_decide(
	    &fuzz_candidate_cfg[c], req, der, sizeof(der), facts, v, memo);
}

/* Aborts unless the decisions on <req> keep the candidate rule. */
static void
fuzz_candidate_check(const struct http_request *req)
{
	struct ocsp_request_facts facts, f;
	struct verdict v, w;
	enum candidate_class first = CANDIDATE_NONE;

	fuzz_candidate_decide(req, CANDIDATE_NONE, NULL, &facts, &v);
	if (v.reason != REASON_UNKNOWN_RESPONDER || v.responder != NULL ||
	    (unsigned)v.candidate >= CANDIDATE_MAX)
		abort();
	if (v.candidate == CANDIDATE_OCSP) {
		if (facts.ncerts == 0 ||
		    facts.ncerts > OCSP_REQUEST_MAX_CERTS ||
		    facts.der_len == 0 || !v.ocsp_parsed ||
		    (req->llhttp_method == HTTP_POST &&
		        facts.der_len != req->body_len) ||
		    (req->llhttp_method == HTTP_GET && req->body_len > 0))
			abort();
	} else if (!fuzz_candidate_zero(&facts) || v.ocsp_parsed ||
	    v.get_prefix_len != 0) {
		abort();
	}
	if (v.candidate != CANDIDATE_NONE && v.candidate != CANDIDATE_OCSP &&
	    (req->llhttp_method != HTTP_GET || req->body_len > 0 ||
	        req->path.len > PATH_SHAPE_FETCH_MAX))
		abort();

	/* The rule: the first class that allows it once listed there. */
	for (unsigned c = CANDIDATE_OCSP; c < CANDIDATE_MAX; c++) {
		fuzz_candidate_decide(req, c, NULL, &f, &w);
		if (w.reason == candidate_reason((enum candidate_class)c)) {
			if (w.responder != &fuzz_candidate_entry)
				abort();
			if (first == CANDIDATE_NONE)
				first = (enum candidate_class)c;
		}
		/* The listed twin of an OCSP candidate: the same facts. */
		if (c == CANDIDATE_OCSP && v.candidate == CANDIDATE_OCSP &&
		    (!fuzz_candidate_same_facts(&f, &facts) ||
		        w.get_prefix_len != v.get_prefix_len))
			abort();
	}
	/* A site's root is the one exception: listed, never a candidate. */
	if (req->path.len == 1 && v.candidate == CANDIDATE_NONE &&
	    req->llhttp_method == HTTP_GET)
		first = CANDIDATE_NONE;
	if (first != v.candidate)
		abort();
	/* A pinned entry refuses an OCSP candidate for its issuer only. */
	fuzz_candidate_decide(req, CANDIDATE_MAX, NULL, &f, &w);
	if ((w.reason == REASON_OCSP_REQUEST ||
	        w.reason == REASON_UNKNOWN_ISSUER) !=
	    (v.candidate == CANDIDATE_OCSP))
		abort();

	/* The memos change nothing, whether they miss or hit. */
	for (int round = 0; round < 2; round++) {
		fuzz_candidate_decide(
		    req, CANDIDATE_NONE, &fuzz_candidate_memo, &f, &w);
		if (w.reason != v.reason || w.candidate != v.candidate ||
		    w.ocsp_parsed != v.ocsp_parsed ||
		    w.get_prefix_len != v.get_prefix_len ||
		    w.ctl_root != v.ctl_root ||
		    !fuzz_candidate_same_facts(&f, &facts))
			abort();
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char ct[] = "Content-Type: application/ocsp-request\r\n";
	static const char buster[] = "?bd0fc98c3f88ee1d";
	static unsigned char body[FUZZ_CANDIDATE_BODY_CAP];
	struct http_request req;
	const uint8_t *nul, *rest = NULL;
	size_t path_len, rest_len = 0, len, consumed;
	char head[512], *text;
	unsigned flags;
	int n;

	if (fuzz_candidate_store == NULL)
		fuzz_candidate_setup();
	if (size == 0)
		return 0;
	flags = data[0];
	data++;
	size--;
	nul = memchr(data, 0, size);
	path_len = nul != NULL ? (size_t)(nul - data) : size;
	if (nul != NULL) {
		rest = data + path_len + 1;
		rest_len = size - path_len - 1;
	}

	/* The request as a client sends it through the proxy. */
	if ((text = malloc(path_len + rest_len + sizeof(head))) == NULL)
		abort();
	n = snprintf(text, sizeof(head), "%s http://" FUZZ_CANDIDATE_HOST,
	    flags & 1 ? "POST" : "GET");
	if (n < 0)
		abort();
	len = (size_t)n;
	memcpy(text + len, data, path_len);
	len += path_len;
	n = snprintf(head, sizeof(head),
	    "%s HTTP/1.1\r\nHost: " FUZZ_CANDIDATE_HOST "\r\n%s",
	    flags & 2 ? buster : "", flags & 4 ? ct : "");
	if (n < 0 || (size_t)n >= sizeof(head))
		abort();
	memcpy(text + len, head, (size_t)n);
	len += (size_t)n;
	if (nul != NULL) {
		n = snprintf(
		    head, sizeof(head), "Content-Length: %zu\r\n", rest_len);
		if (n < 0 || (size_t)n >= sizeof(head))
			abort();
		memcpy(text + len, head, (size_t)n);
		len += (size_t)n;
	}
	memcpy(text + len, "\r\n", 2);
	len += 2;
	if (rest_len > 0)
		memcpy(text + len, rest, rest_len);
	len += rest_len;

	http_request_init(&req, body, sizeof(body));
	if (http_request_parse(&req, text, len, &consumed) == HTTP_PARSE_DONE &&
	    req.form == HTTP_TARGET_ABSOLUTE && req.port == 80 &&
	    http_span_eq(&req.host, FUZZ_CANDIDATE_HOST))
		fuzz_candidate_check(&req);
	free(text);
	if (ERR_peek_error() != 0)
		abort();
	if (rest_len > 0)
		fuzz_candidate_evidence((flags >> 3) & 3, rest, rest_len);
	if (ERR_peek_error() != 0)
		abort();
	return 0;
}
