/*
 * Fuzz target for candidate.c. The first byte sets the method (bit 0:
 * POST), a query (bit 1), the OCSP content type (bit 2) and which
 * evidence check reads the body (bits 3-4); the path runs to the first
 * NUL byte, the body is the rest. Aborts when an invariant breaks: a
 * fetch class needs a plain GET of a bounded path with the class's
 * ending; an OCSP candidate has 1..8 certificate IDs and the DER it was
 * read from; anything else leaves the facts zeroed; an evidence check
 * gives a detail exactly when it fails; OpenSSL's error queue is left
 * empty.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/x509.h>

#include "ocspgate/candidate.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FUZZ_CANDIDATE_DER_CAP 16384

/* A self-signed CA as the trust store, made once. */
static X509_STORE *fuzz_candidate_store;
static STACK_OF(X509) * fuzz_candidate_cas;

static void
fuzz_candidate_setup(void)
{
	EVP_PKEY *key = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	X509 *x = X509_new();
	X509_NAME *n = X509_get_subject_name(x);

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
}

static bool
fuzz_candidate_zero(const struct ocsp_request_facts *f)
{
	static const struct ocsp_request_facts zero;

	return memcmp(f, &zero, sizeof(zero)) == 0;
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

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char ocsp_ct[] = "application/ocsp-request";
	static unsigned char der[FUZZ_CANDIDATE_DER_CAP];
	struct ocsp_request_facts facts;
	struct candidate_input in;
	enum candidate_class c;
	const uint8_t *nul;
	size_t path_len;

	if (fuzz_candidate_store == NULL)
		fuzz_candidate_setup();
	if (size == 0)
		return 0;
	memset(&in, 0, sizeof(in));
	in.post = data[0] & 1;
	in.get = !in.post;
	in.has_query = (data[0] & 2) != 0;
	if (data[0] & 4) {
		in.content_type = ocsp_ct;
		in.content_type_len = sizeof(ocsp_ct) - 1;
	}
	data++;
	size--;
	nul = memchr(data, 0, size);
	path_len = nul != NULL ? (size_t)(nul - data) : size;
	in.path = (const char *)data;
	in.path_len = path_len;
	if (nul != NULL) {
		in.body = data + path_len + 1;
		in.body_len = size - path_len - 1;
	}
	memset(&facts, 0, sizeof(facts));
	c = candidate_classify(
	    &in, OCSP_NONCE_MAX_BYTES, der, sizeof(der), &facts);
	if ((unsigned)c >= CANDIDATE_MAX)
		abort();
	if (c == CANDIDATE_OCSP) {
		if (facts.ncerts == 0 ||
		    facts.ncerts > OCSP_REQUEST_MAX_CERTS ||
		    facts.der_len == 0 ||
		    (in.post && facts.der_len != in.body_len) ||
		    (in.get && in.body_len > 0) || in.has_query)
			abort();
	} else if (!fuzz_candidate_zero(&facts)) {
		abort();
	}
	if (c == CANDIDATE_CRL || c == CANDIDATE_CA_ISSUER ||
	    c == CANDIDATE_CTL) {
		if (!in.get || in.has_query || in.body_len > 0 ||
		    path_len > CANDIDATE_PATH_MAX || in.path[0] != '/')
			abort();
		if (c == CANDIDATE_CRL &&
		    (path_len < 5 ||
		        strncasecmp(in.path + path_len - 4, ".crl", 4) != 0))
			abort();
	}
	if (ERR_peek_error() != 0)
		abort();
	if (in.body_len > 0)
		fuzz_candidate_evidence(
		    (unsigned)(data[-1] >> 3) & 3, in.body, in.body_len);
	if (ERR_peek_error() != 0)
		abort();
	return 0;
}
