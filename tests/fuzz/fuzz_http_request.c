/*
 * Fuzz target for the client side of a request without I/O: the input
 * (after its first byte, which picks where to split it) is fed to
 * http_request_parse() in two slices of one buffer; a complete request
 * goes through policy_decide() against a small fixed config and, when it
 * would be forwarded (allowed, or monitor mode), through
 * http_request_build_upstream(). Aborts when an invariant breaks: the
 * consumed count stays within the input, and the upstream head parses
 * again as one complete origin-form request with the same method, path
 * and body, one Host, no Transfer-Encoding, only fields the request
 * filter forwards (each of which it accepts again), and "Connection:
 * close" unless it was built to be kept alive.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ocspgate/config.h"
#include "ocspgate/http_filter.h"
#include "ocspgate/http_request.h"
#include "ocspgate/memo.h"
#include "ocspgate/policy.h"

#define FUZZ_BODY_CAP 1024
#define FUZZ_DER_CAP  16384

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char *const fuzz_specs[] = {"ocsp.test", "*.wild.test:8080/ocsp"};
#define FUZZ_NSPECS (sizeof(fuzz_specs) / sizeof(fuzz_specs[0]))

static struct responder fuzz_responders[FUZZ_NSPECS];
static struct config fuzz_cfg;

static const struct config *
fuzz_config(void)
{
	char err[256];

	if (fuzz_cfg.nresponders == FUZZ_NSPECS)
		return &fuzz_cfg;
	for (size_t i = 0; i < FUZZ_NSPECS; i++) {
		if (config_parse_responder(fuzz_specs[i], &fuzz_responders[i],
		        err, sizeof(err)) == -1)
			abort();
	}
	fuzz_cfg.responders = fuzz_responders;
	fuzz_cfg.nresponders = FUZZ_NSPECS;
	fuzz_cfg.max_request_body = FUZZ_BODY_CAP;
	fuzz_cfg.max_nonce_bytes = CONFIG_DEFAULT_MAX_NONCE_BYTES;
	return &fuzz_cfg;
}

static bool
fuzz_span_same(struct http_span a, struct http_span b)
{
	if ((a.p == NULL) != (b.p == NULL) || a.len != b.len)
		return false;
	return a.len == 0 || a.p == NULL || memcmp(a.p, b.p, a.len) == 0;
}

/*
 * Aborts unless a memo changes nothing: the same decision with it, when
 * it misses and when it hits.
 */
static void
fuzz_check_memo(const struct config *cfg, const struct http_request *r,
    const struct ocsp_request_facts *want, const struct verdict *vwant,
    const unsigned char *want_der)
{
	struct policy_memo memo = {
	    memo_new(4, 4096, sizeof(struct policy_memo_value), 1),
	    memo_new(4, 4096, sizeof(struct policy_get_value), 2)};
	unsigned char *der = malloc(FUZZ_DER_CAP);
	struct ocsp_request_facts f;
	struct verdict v;

	if (memo.requests == NULL || memo.get_paths == NULL || der == NULL)
		abort();
	for (int round = 0; round < 2; round++) {
		memset(&f, 0, sizeof(f));
		policy_decide(cfg, r, der, FUZZ_DER_CAP, &f, &v, &memo);
		if (v.reason != vwant->reason ||
		    v.responder != vwant->responder ||
		    v.ocsp_parsed != vwant->ocsp_parsed ||
		    v.candidate != vwant->candidate ||
		    v.get_prefix_len != vwant->get_prefix_len ||
		    f.flags != want->flags || f.ncerts != want->ncerts ||
		    f.has_nonce != want->has_nonce ||
		    f.nonce_len != want->nonce_len ||
		    f.der_len != want->der_len || f.detail != want->detail ||
		    memcmp(f.certs, want->certs,
		        f.ncerts * sizeof(f.certs[0])) != 0 ||
		    memcmp(f.nonce, want->nonce, f.nonce_len) != 0 ||
		    (v.ocsp_parsed && r->llhttp_method == HTTP_GET &&
		        memcmp(der, want_der, f.der_len) != 0))
			abort();
	}
	memo_free(memo.requests);
	memo_free(memo.get_paths);
	free(der);
}

/* Aborts unless the upstream head of <r> re-parses as promised. */
static void
fuzz_check_upstream(const struct http_request *r, size_t input_len)
{
	size_t cap = 2 * input_len + 512, consumed;
	char *out = malloc(cap + r->body_len);
	unsigned char *body = malloc(FUZZ_BODY_CAP);
	struct http_request again;
	size_t hosts = 0, lengths = 0;
	bool keep = input_len % 2 == 1; /* both forms, input to input */
	int n;

	if (out == NULL || body == NULL)
		abort();
	/*
	 * The head ocspgate writes adds up to four fields (Host, Via,
	 * Content-Length, Connection); re-parsing it with our own limit of
	 * fields says nothing about a request that already had nearly that
	 * many (an upstream takes more).
	 */
	if (r->hs.n + 4 > HTTP_MAX_HEADERS) {
		free(body);
		free(out);
		return;
	}
	n = http_request_build_upstream(r, "ocspgate-fuzz", keep, out, cap);
	if (n <= 0)
		abort();
	/* Too small a buffer fails rather than overruns. */
	if (http_request_build_upstream(
	        r, "ocspgate-fuzz", keep, out, (size_t)n - 1) != -1)
		abort();
	if (r->body_len > 0)
		memcpy(out + n, r->body, r->body_len);
	http_request_init(&again, body, FUZZ_BODY_CAP);
	if (http_request_parse(&again, out, (size_t)n + r->body_len,
	        &consumed) != HTTP_PARSE_DONE ||
	    consumed != (size_t)n + r->body_len)
		abort();
	if (again.form != HTTP_TARGET_ORIGIN ||
	    again.llhttp_method != r->llhttp_method ||
	    !fuzz_span_same(again.method, r->method) ||
	    !fuzz_span_same(again.path, r->path) ||
	    !fuzz_span_same(again.query, r->query) ||
	    again.http_minor != r->http_minor ||
	    again.keep_alive != (keep && r->http_minor == 1) ||
	    again.body_len != r->body_len ||
	    (r->body_len > 0 && memcmp(again.body, r->body, r->body_len) != 0))
		abort();
	for (size_t i = 0; i < again.hs.n; i++) {
		const struct http_span *name = &again.hs.h[i].name;

		if (http_span_eq(name, "transfer-encoding"))
			abort();
		/*
		 * Only what the filter forwards, and all of it acceptable to
		 * the filter again, and ocspgate's own Via.
		 */
		if (!http_span_eq(name, "host") &&
		    !http_span_eq(name, "content-length") &&
		    !http_span_eq(name, "connection") &&
		    !http_span_eq(name, "via") &&
		    http_filter_forwarded_name(name->p, name->len) == NULL)
			abort();
		if (again.hs.h[i].dropped && !http_span_eq(name, "via"))
			abort();
		hosts += http_span_eq(name, "host");
		lengths += http_span_eq(name, "content-length");
	}
	if (hosts != 1 || lengths > 1)
		abort();
	free(body);
	free(out);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static unsigned char der[FUZZ_DER_CAP];
	const struct config *cfg = fuzz_config();
	const char *in = (const char *)data + 1;
	size_t len, split, c1 = 0, c2 = 0;
	unsigned char *body;
	struct http_request r;
	struct ocsp_request_facts facts;
	struct verdict v;
	enum http_parse rc;

	if (size == 0)
		return 0;
	len = size - 1;
	split = (size_t)data[0] * (len + 1) / 256;
	if ((body = malloc(FUZZ_BODY_CAP)) == NULL)
		abort();
	http_request_init(&r, body, FUZZ_BODY_CAP);
	rc = http_request_parse(&r, in, split, &c1);
	if (c1 > split || (rc == HTTP_PARSE_MORE && c1 != split))
		abort();
	if (rc == HTTP_PARSE_MORE) {
		rc = http_request_parse(&r, in + split, len - split, &c2);
		if (c2 > len - split)
			abort();
	}
	if (c1 + c2 > len || r.body_len > FUZZ_BODY_CAP)
		abort();
	if (rc == HTTP_PARSE_ERROR) {
		if ((r.reason != REASON_HTTP_MALFORMED &&
		        r.reason != REASON_BODY_TOO_LARGE) ||
		    r.detail == NULL)
			abort();
		goto done;
	}
	if (rc != HTTP_PARSE_DONE)
		goto done;
	if (!r.complete || r.reason != REASON_NONE)
		abort();

	memset(&facts, 0, sizeof(facts));
	policy_decide(cfg, &r, der, sizeof(der), &facts, &v, NULL);
	if (v.reason != REASON_OCSP_REQUEST && !reason_is_block(v.reason))
		abort();
	if (v.reason == REASON_OCSP_REQUEST &&
	    (v.responder == NULL || r.form != HTTP_TARGET_ABSOLUTE ||
	        (r.llhttp_method != HTTP_GET && r.llhttp_method != HTTP_POST) ||
	        facts.ncerts == 0))
		abort();
	fuzz_check_memo(
	    cfg, &r, &facts, &v, r.llhttp_method == HTTP_POST ? r.body : der);
	/* What enforce mode allows, and what monitor mode lets through. */
	if (v.reason == REASON_OCSP_REQUEST ||
	    (r.form == HTTP_TARGET_ABSOLUTE &&
	        v.reason != REASON_HTTP_MALFORMED &&
	        v.reason != REASON_BODY_TOO_LARGE))
		fuzz_check_upstream(&r, len);
done:
	free(body);
	return 0;
}
