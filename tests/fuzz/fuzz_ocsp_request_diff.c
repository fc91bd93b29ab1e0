/*
 * Differential fuzz target for ocsp_request_inspect_rules(): any bytes
 * as a DER request, inspected by the one-pass walk of src/ (with its
 * hand-over to the full decoder) and by the reference inspection as it
 * was before the walk (oracle/), under several rule sets and with and
 * without GET flags already set; and the same bytes as a GET path,
 * decoded by both (whole, and split from an AIA prefix, into a buffer
 * of several sizes). Aborts when the verdicts, the details or any fact
 * differ, and when the walk alone decides something other than the
 * reference does.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/err.h>

#include "ocspgate/ocsp_request.h"
#include "oracle_api.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const struct ocsp_request_rules diff_rules[] = {
    {.max_nonce_bytes = 32},
    {.max_nonce_bytes = OCSP_NONCE_MAX_BYTES,
        .allow_requestor_name = true,
        .allow_signed = true,
        .allow_service_locator = true},
    {.max_nonce_bytes = 8, .allow_service_locator = true},
    {.max_nonce_bytes = 4096, .allow_requestor_name = true},
    {.max_nonce_bytes = 0, .allow_signed = true},
};

/* Aborts, saying what differs, unless <a> and <b> are the same facts. */
static void
diff_same(const char *what, enum reason ra, const struct ocsp_request_facts *a,
    enum reason rb, const struct ocsp_request_facts *b)
{
	struct ocsp_request_facts x = *a, y = *b;

	x.detail = y.detail = NULL;
	if (ra == rb && (a->detail == NULL) == (b->detail == NULL) &&
	    (a->detail == NULL || strcmp(a->detail, b->detail) == 0) &&
	    memcmp(&x, &y, sizeof(x)) == 0)
		return;
	fprintf(stderr,
	    "%s: verdict %d/%d, detail \"%s\"/\"%s\", flags %#x/%#x, "
	    "certs %zu/%zu, nonce %zu/%zu\n",
	    what, (int)ra, (int)rb, a->detail ? a->detail : "-",
	    b->detail ? b->detail : "-", a->flags, b->flags, a->ncerts,
	    b->ncerts, a->nonce_len, b->nonce_len);
	abort();
}

/* Aborts unless both GET decoders give the same for <data> as a path. */
static void
diff_get(const uint8_t *data, size_t size, size_t cap)
{
	unsigned char a[1024], b[1024];
	size_t alen = 0, blen = 0, apfx = 0, bpfx = 0;
	unsigned afl = 1u << 20, bfl = 1u << 20;
	int ra, rb;

	ra = ocsp_request_decode_get(
	    (const char *)data, size, a, cap, &alen, &afl);
	rb = oracle_ocsp_request_decode_get(
	    (const char *)data, size, b, cap, &blen, &bfl);
	if (ra != rb || afl != bfl ||
	    (ra == 0 && (alen != blen || memcmp(a, b, alen) != 0))) {
		fprintf(stderr, "decode_get: %d/%d flags %#x/%#x\n", ra, rb,
		    afl, bfl);
		abort();
	}
	ra = ocsp_request_split_get(
	    (const char *)data, size, a, cap, &alen, &afl, &apfx);
	rb = oracle_ocsp_request_split_get(
	    (const char *)data, size, b, cap, &blen, &bfl, &bpfx);
	if (ra != rb || afl != bfl ||
	    (ra == 0 &&
	        (alen != blen || apfx != bpfx || memcmp(a, b, alen) != 0))) {
		fprintf(stderr, "split_get: %d/%d flags %#x/%#x\n", ra, rb, afl,
		    bfl);
		abort();
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const size_t nrules = sizeof(diff_rules) / sizeof(diff_rules[0]);

	diff_get(data, size, 1024);
	diff_get(data, size, 83);
	diff_get(data, size, 1);

	for (size_t i = 0; i < 2 * nrules; i++) {
		const struct ocsp_request_rules *rules = &diff_rules[i / 2];
		struct ocsp_request_facts f, init, ref, fast;
		enum reason r, rref, rfast;

		memset(&f, 0, sizeof(f));
		/* GET flags the walk must keep, as a GET's inspection has. */
		if (i % 2 == 1)
			f.flags = OCSP_FLAG_GET_PERCENT_ENCODED |
			    OCSP_FLAG_GET_UNPADDED;
		init = ref = fast = f;
		r = ocsp_request_inspect_rules(data, size, rules, &f);
		rref =
		    oracle_ocsp_request_inspect_rules(data, size, rules, &ref);
		diff_same("inspection", r, &f, rref, &ref);
		/* What the walk decides alone; else it leaves <f> as given. */
		if (ocsp_request_inspect_fast(
		        data, size, rules, &fast, &rfast) == 0)
			diff_same("walk", rfast, &fast, rref, &ref);
		else if (memcmp(&fast, &init, sizeof(fast)) != 0)
			abort();
	}
	/* Inspection leaves OpenSSL's error queue as it found it. */
	if (ERR_peek_error() != 0)
		abort();
	return 0;
}
