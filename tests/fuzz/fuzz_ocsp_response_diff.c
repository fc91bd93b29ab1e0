/*
 * Differential fuzz target for ocsp_response_inspect(): any bytes as the
 * DER answer to the request of fuzz_ocsp_response.c (five certificate IDs
 * of one CA and a nonce), asked with the nonce, without it, and with no
 * request at all, inspected by the one-pass walk of src/ (with its
 * hand-over to the full decoder), with and without a certificate memo
 * (each input twice, so that the second reads the memo), and by the
 * reference inspection as it was before the walk (oracle/). Aborts when
 * the verdicts, the details or any fact differ, and when the walk alone
 * decides something other than the reference does.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/err.h>

#include "ocspgate/memo.h"
#include "ocspgate/ocsp_response.h"
#include "ocspgate/pkix.h"
#include "oracle_api.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* The request fuzz_ocsp_response.c's corpus answers, in hex. */
static const char diff_req_hex[] =
    "308201843082018030820157303d303b300906052b0e03021a0500041496fd4f"
    "4177342d09de0cdf7b4532508a2a9d63a20414fb1a4c3a83073e3398091630bd"
    "618f279c33fc2402021001303d303b300906052b0e03021a0500041496fd4f41"
    "77342d09de0cdf7b4532508a2a9d63a20414fb1a4c3a83073e3398091630bd61"
    "8f279c33fc2402021002303d303b300906052b0e03021a0500041496fd4f4177"
    "342d09de0cdf7b4532508a2a9d63a20414fb1a4c3a83073e3398091630bd618f"
    "279c33fc2402021003303d303b300906052b0e03021a0500041496fd4f417734"
    "2d09de0cdf7b4532508a2a9d63a20414fb1a4c3a83073e3398091630bd618f27"
    "9c33fc240202100430593057300d060960864801650304020105000420997296"
    "2410db10402ef70df9869d8cde127359993571a4acebb1fcdfb5b5670d0420a3"
    "cfa9dfe21f2be123c9496dd082e19401f8a56f19432f3c25fc19c1d155e4fb02"
    "021001a2233021301f06092b060105050730010204120410219756693db770b2"
    "05b83cdc56ce4308";

struct diff_fixture {
	struct ocsp_request_facts with_nonce;
	struct ocsp_request_facts without_nonce;
	struct memo *certs; /* a few slots: inputs evict each other */
};

static const struct diff_fixture *
diff_fixture(void)
{
	static struct diff_fixture fx;
	static bool ready;
	unsigned char req[sizeof(diff_req_hex) / 2];
	size_t n = sizeof(diff_req_hex) / 2;

	if (ready)
		return &fx;
	for (size_t i = 0; i < n; i++) {
		unsigned v;

		if (sscanf(diff_req_hex + 2 * i, "%2x", &v) != 1)
			abort();
		req[i] = (unsigned char)v;
	}
	if (ocsp_request_inspect(
	        req, n, OCSP_NONCE_MAX_BYTES, &fx.with_nonce) != REASON_NONE ||
	    fx.with_nonce.ncerts != 5 || !fx.with_nonce.has_nonce)
		abort();
	fx.without_nonce = fx.with_nonce;
	fx.without_nonce.has_nonce = false;
	fx.without_nonce.nonce_len = 0;
	memset(fx.without_nonce.nonce, 0, sizeof(fx.without_nonce.nonce));
	if ((fx.certs = memo_new(4, PKIX_CERT_MAX_BYTES,
	         sizeof(struct pkix_judged), 0x5eed)) == NULL)
		abort();
	ready = true;
	return &fx;
}

/* Two pointers to static texts with the same text, or both NULL. */
static bool
diff_same_text(const char *a, const char *b)
{
	return (a == NULL) == (b == NULL) && (a == NULL || strcmp(a, b) == 0);
}

/* Aborts, saying what differs, unless <a> and <b> are the same facts. */
static void
diff_same(const char *what, enum reason ra, const struct ocsp_response_facts *a,
    enum reason rb, const struct ocsp_response_facts *b)
{
	struct ocsp_response_facts x = *a, y = *b;
	bool same = ra == rb && diff_same_text(a->detail, b->detail);

	x.detail = y.detail = NULL;
	for (size_t i = 0; i < OCSP_RESPONSE_MAX_CERTS; i++) {
		same = same &&
		    diff_same_text(a->certs[i].revocation_reason,
		        b->certs[i].revocation_reason);
		x.certs[i].revocation_reason = y.certs[i].revocation_reason =
		    NULL;
	}
	if (same && memcmp(&x, &y, sizeof(x)) == 0)
		return;
	fprintf(stderr,
	    "%s: verdict %d/%d, detail \"%s\"/\"%s\", status %d/%d, "
	    "basic %d/%d, certs %zu/%zu, name \"%s\"/\"%s\", "
	    "produced %s/%s, unknown %u/%u, next %lld/%lld\n",
	    what, (int)ra, (int)rb, a->detail ? a->detail : "-",
	    b->detail ? b->detail : "-", a->status, b->status, a->basic,
	    b->basic, a->ncerts, b->ncerts, a->responder_name,
	    b->responder_name, a->produced_at, b->produced_at,
	    a->unknown_extensions, b->unknown_extensions,
	    (long long)a->min_next_update, (long long)b->min_next_update);
	abort();
}

static void
diff_one(const uint8_t *data, size_t size, const struct ocsp_request_facts *req,
    struct memo *memo)
{
	struct ocsp_response_facts f, ref, fast;
	enum reason r, rref, rfast;
	static const struct ocsp_response_facts zero;

	rref = oracle_ocsp_response_inspect(data, size, req, &ref);
	r = ocsp_response_inspect(data, size, req, &f);
	diff_same("inspection", r, &f, rref, &ref);
	for (int pass = 0; pass < 2; pass++) {
		r = ocsp_response_inspect_memo(data, size, req, memo, &f);
		diff_same("inspection with a memo", r, &f, rref, &ref);
	}
	/* What the walk decides alone; else it leaves <f> zeroed. */
	if (ocsp_response_inspect_fast(data, size, req, memo, &fast, &rfast) ==
	    0)
		diff_same("walk", rfast, &fast, rref, &ref);
	else if (memcmp(&fast, &zero, sizeof(fast)) != 0)
		abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const struct diff_fixture *fx = diff_fixture();

	diff_one(data, size, &fx->with_nonce, fx->certs);
	diff_one(data, size, &fx->without_nonce, fx->certs);
	diff_one(data, size, NULL, NULL);
	/* Inspection leaves OpenSSL's error queue as it found it. */
	if (ERR_peek_error() != 0)
		abort();
	return 0;
}
