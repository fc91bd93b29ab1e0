/*
 * Fuzz target for ocsp_request_decode_get() and ocsp_request_split_get():
 * any bytes as the path after a responder prefix, decoded, split, then
 * inspected. Aborts when an invariant breaks: output within capacity,
 * only GET flags set, the DER decoded again to the same bytes from its
 * plain standard base64; a split's prefix is AIA-shaped, its DER is
 * exactly what decoding the rest of the path gives, and no longer suffix
 * decodes.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/evp.h>

#include "ocspgate/ocsp_request.h"
#include "ocspgate/path_shape.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FUZZ_GET_CAP 16384

/* Aborts unless the split of <p> (<size> bytes) holds its promises. */
static void
fuzz_split(const char *p, size_t size)
{
	static unsigned char der[FUZZ_GET_CAP], again[FUZZ_GET_CAP];
	size_t der_len = 0, again_len = 0, pfx = 0;
	unsigned flags = 0, flags2 = 0;
	int rc;

	rc = ocsp_request_split_get(
	    p, size, der, sizeof(der), &der_len, &flags, &pfx);
	if (rc != 0) {
		if (rc != -1 && rc != -2)
			abort();
		return;
	}
	if (pfx >= size || p[pfx] != '/' || !path_shape_ocsp_prefix(p, pfx) ||
	    der_len == 0 || der[0] != 0x30)
		abort();
	/* The DER is what the suffix alone decodes to. */
	if (ocsp_request_decode_get(p + pfx, size - pfx, again, sizeof(again),
	        &again_len, &flags2) != 0 ||
	    again_len != der_len || memcmp(again, der, der_len) != 0 ||
	    flags2 != flags)
		abort();
	/* No shorter prefix at a '/' gives a split: it is the longest. */
	for (size_t i = 0; i < pfx; i++) {
		unsigned fl = 0;
		size_t n = 0, q = 0;

		if (p[i] != '/')
			continue;
		if (ocsp_request_split_get(p + i, size - i, again,
		        sizeof(again), &n, &fl, &q) != 0 ||
		    i + q != pfx)
			abort();
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static unsigned char der[FUZZ_GET_CAP], again[FUZZ_GET_CAP];
	static char path[FUZZ_GET_CAP / 3 * 4 + 8];
	const unsigned get_flags = OCSP_FLAG_GET_PERCENT_ENCODED |
	    OCSP_FLAG_GET_UNESCAPED_SLASH | OCSP_FLAG_GET_SPACE_AS_PLUS |
	    OCSP_FLAG_GET_DOUBLE_SLASH | OCSP_FLAG_GET_URL_SAFE_ALPHABET |
	    OCSP_FLAG_GET_UNPADDED | OCSP_FLAG_GET_OVER_255_BYTES;
	struct ocsp_request_facts f;
	size_t der_len = 0, again_len = 0, n;
	unsigned flags = 0, flags2 = 0;
	enum reason r;

	fuzz_split((const char *)data, size);
	if (ocsp_request_decode_get((const char *)data, size, der, sizeof(der),
	        &der_len, &flags) != 0) {
		if (flags != 0)
			abort();
		return 0;
	}
	if (der_len == 0 || der_len > sizeof(der) || der_len > size ||
	    (flags & ~get_flags) != 0 ||
	    ((flags & OCSP_FLAG_GET_OVER_255_BYTES) != 0) !=
	        (size > OCSP_GET_RFC5019_MAX))
		abort();

	/* The same DER as "/" and standard base64 decodes alike. */
	path[0] = '/';
	n = (size_t)EVP_EncodeBlock(
	    (unsigned char *)path + 1, der, (int)der_len);
	if (ocsp_request_decode_get(
	        path, n + 1, again, sizeof(again), &again_len, &flags2) != 0 ||
	    again_len != der_len || memcmp(again, der, der_len) != 0 ||
	    (flags2 &
	        ~(OCSP_FLAG_GET_UNESCAPED_SLASH |
	            OCSP_FLAG_GET_OVER_255_BYTES)) != 0)
		abort();

	memset(&f, 0, sizeof(f));
	f.flags = flags;
	r = ocsp_request_inspect(der, der_len, 32, &f);
	if ((f.flags & get_flags) != flags ||
	    (r != REASON_NONE && r != REASON_OCSP_MALFORMED) ||
	    (r == REASON_NONE) != (f.detail == NULL))
		abort();
	/* Inspection leaves OpenSSL's error queue as it found it. */
	if (ERR_peek_error() != 0)
		abort();
	return 0;
}
