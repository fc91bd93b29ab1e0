/*
 * Fuzz target for ocsp_request_inspect(): any bytes as a DER request,
 * under the default and the largest nonce limit. Aborts when an invariant
 * breaks: an accepted request re-encodes to the same DER and its facts
 * are within the contract's bounds; a refused one says why.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/ocsp.h>

#include "ocspgate/ocsp_request.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Aborts unless an accepted <data> is one canonical DER OCSPRequest. */
static void
fuzz_ocsp_request_reencode(const uint8_t *data, size_t size)
{
	const unsigned char *p = data;
	unsigned char *enc = NULL;
	OCSP_REQUEST *req;
	int n;

	if ((req = d2i_OCSP_REQUEST(NULL, &p, (long)size)) == NULL ||
	    (size_t)(p - data) != size)
		abort();
	if ((n = i2d_OCSP_REQUEST(req, &enc)) <= 0 || (size_t)n != size ||
	    memcmp(enc, data, size) != 0)
		abort();
	OPENSSL_free(enc);
	OCSP_REQUEST_free(req);
}

static enum reason
fuzz_ocsp_request_one(const uint8_t *data, size_t size, size_t max_nonce)
{
	struct ocsp_request_facts f;
	const unsigned get_flags = OCSP_FLAG_GET_PERCENT_ENCODED |
	    OCSP_FLAG_GET_UNESCAPED_SLASH | OCSP_FLAG_GET_SPACE_AS_PLUS |
	    OCSP_FLAG_GET_DOUBLE_SLASH | OCSP_FLAG_GET_URL_SAFE_ALPHABET |
	    OCSP_FLAG_GET_UNPADDED | OCSP_FLAG_GET_OVER_255_BYTES;
	enum reason r;

	memset(&f, 0, sizeof(f));
	r = ocsp_request_inspect(data, size, max_nonce, &f);
	if (f.der_len != size || f.ncerts > OCSP_REQUEST_MAX_CERTS ||
	    (f.flags & get_flags) != 0 || f.flags >> OCSP_FLAG_COUNT != 0 ||
	    f.has_nonce != ((f.flags & OCSP_FLAG_NONCE) != 0))
		abort();
	for (size_t i = 0; i < f.ncerts; i++) {
		const struct ocsp_cert_id *c = &f.certs[i];

		if (ocsp_hash_name(c->hash) == NULL ||
		    c->hash_len != ocsp_hash_len(c->hash) ||
		    c->serial_len == 0 ||
		    c->serial_len > OCSP_SERIAL_MAX_BYTES || c->serial[0] == 0)
			abort();
	}
	if (r == REASON_OCSP_MALFORMED) {
		if (f.detail == NULL)
			abort();
		return r;
	}
	if (r != REASON_NONE || f.detail != NULL || f.ncerts == 0 ||
	    ((f.flags & OCSP_FLAG_MULTIPLE_CERTS) != 0) != (f.ncerts > 1))
		abort();
	if (f.has_nonce && (f.nonce_len == 0 || f.nonce_len > max_nonce))
		abort();
	fuzz_ocsp_request_reencode(data, size);
	return r;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const struct ocsp_request_rules all = {
	    .max_nonce_bytes = OCSP_NONCE_MAX_BYTES,
	    .allow_requestor_name = true,
	    .allow_signed = true,
	    .allow_service_locator = true};
	struct ocsp_request_facts f;
	enum reason r32, r128, rall;

	r32 = fuzz_ocsp_request_one(data, size, 32);
	r128 = fuzz_ocsp_request_one(data, size, OCSP_NONCE_MAX_BYTES);
	/* A larger nonce limit never refuses what a smaller one allowed. */
	if (r32 == REASON_NONE && r128 != REASON_NONE)
		abort();
	/* Every switch on never refuses what they refused off ... */
	memset(&f, 0, sizeof(f));
	rall = ocsp_request_inspect_rules(data, size, &all, &f);
	if (r128 == REASON_NONE && rall != REASON_NONE)
		abort();
	/* ... and what they let in differs only in those fields. */
	if (rall == REASON_NONE && r128 != REASON_NONE &&
	    (f.flags &
	        (OCSP_FLAG_REQUESTOR_NAME | OCSP_FLAG_SIGNED_REQUEST |
	            OCSP_FLAG_SINGLE_REQUEST_EXTENSIONS)) == 0)
		abort();
	/* Inspection leaves OpenSSL's error queue as it found it. */
	if (ERR_peek_error() != 0)
		abort();
	return 0;
}
