/*
 * The cost of a first inspection, the way bench/run's hard workload pays
 * it: the CryptoAPI GET of an 83-byte request (path split, base64,
 * inspection) and its 1.77 KB answer with the responder's certificate,
 * by the inspections of src/ (the answer with an empty certificate memo,
 * and with one that already holds the certificate) and by the reference
 * inspections as they were before the one-pass walk (tests/fuzz/oracle).
 *
 *   inspect_cost DATA_DIR [ROUNDS]
 *
 * checks that all of them accept the request and the answer with the
 * same facts, then times ROUNDS (default 20000) of each and prints
 * nanoseconds per inspection. Under Valgrind, count instructions per
 * inspection with --toggle-collect=cost_* (docs/performance.md).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ocspgate/memo.h"
#include "ocspgate/ocsp_request.h"
#include "ocspgate/ocsp_response.h"
#include "ocspgate/pkix.h"
#include "oracle_api.h"

#define COST_MEMO_SLOTS 64
#define COST_MEMO_MAX   PKIX_CERT_MAX_BYTES
#define COST_DER_MAX    4096

struct cost_input {
	char get[512];
	size_t get_len;
	unsigned char resp[COST_DER_MAX];
	size_t resp_len;
};

/* Each measured function is its own symbol, for --toggle-collect. */
#define COST_FN __attribute__((noinline))

int cost_request_before(
    const struct cost_input *in, struct ocsp_request_facts *f);
int cost_request_after(
    const struct cost_input *in, struct ocsp_request_facts *f);
int cost_answer_before(const struct cost_input *in,
    const struct ocsp_request_facts *req, struct ocsp_response_facts *f);
int cost_answer_cold(const struct cost_input *in,
    const struct ocsp_request_facts *req, struct memo *memo,
    struct ocsp_response_facts *f);
int cost_answer_warm(const struct cost_input *in,
    const struct ocsp_request_facts *req, struct memo *memo,
    struct ocsp_response_facts *f);

/* The GET path's split and decode, then the inspection, as given. */
static int
cost_request(const struct cost_input *in, struct ocsp_request_facts *f,
    int (*split)(const char *, size_t, unsigned char *, size_t, size_t *,
        unsigned *, size_t *),
    enum reason (*inspect)(const unsigned char *, size_t,
        const struct ocsp_request_rules *, struct ocsp_request_facts *))
{
	const struct ocsp_request_rules rules = {.max_nonce_bytes = 32};
	unsigned char der[COST_DER_MAX];
	size_t der_len, prefix;
	unsigned flags = 0;

	if (split(in->get, in->get_len, der, sizeof(der), &der_len, &flags,
	        &prefix) != 0)
		return -1;
	memset(f, 0, sizeof(*f));
	f->flags = flags;
	return inspect(der, der_len, &rules, f) == REASON_NONE ? 0 : -1;
}

COST_FN int
cost_request_before(const struct cost_input *in, struct ocsp_request_facts *f)
{
	return cost_request(in, f, oracle_ocsp_request_split_get,
	    oracle_ocsp_request_inspect_rules);
}

COST_FN int
cost_request_after(const struct cost_input *in, struct ocsp_request_facts *f)
{
	return cost_request(
	    in, f, ocsp_request_split_get, ocsp_request_inspect_rules);
}

COST_FN int
cost_answer_before(const struct cost_input *in,
    const struct ocsp_request_facts *req, struct ocsp_response_facts *f)
{
	return oracle_ocsp_response_inspect(in->resp, in->resp_len, req, f) ==
	        REASON_NONE
	    ? 0
	    : -1;
}

static int
cost_answer_after(const struct cost_input *in,
    const struct ocsp_request_facts *req, struct memo *memo,
    struct ocsp_response_facts *f)
{
	return ocsp_response_inspect_memo(
	           in->resp, in->resp_len, req, memo, f) == REASON_NONE
	    ? 0
	    : -1;
}

/* With a memo that has not seen the certificate. */
COST_FN int
cost_answer_cold(const struct cost_input *in,
    const struct ocsp_request_facts *req, struct memo *memo,
    struct ocsp_response_facts *f)
{
	return cost_answer_after(in, req, memo, f);
}

/* With a memo that holds the certificate's judgment. */
COST_FN int
cost_answer_warm(const struct cost_input *in,
    const struct ocsp_request_facts *req, struct memo *memo,
    struct ocsp_response_facts *f)
{
	return cost_answer_after(in, req, memo, f);
}

static size_t
cost_read(const char *dir, const char *name, void *buf, size_t cap)
{
	char path[4096];
	FILE *fp;
	size_t n;

	snprintf(path, sizeof(path), "%s/perf/%s", dir, name);
	if ((fp = fopen(path, "rb")) == NULL) {
		fprintf(stderr, "%s: cannot open\n", path);
		exit(1);
	}
	n = fread(buf, 1, cap, fp);
	fclose(fp);
	return n;
}

static double
cost_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e9 + ts.tv_nsec;
}

static struct memo *
cost_memo(void)
{
	struct memo *m = memo_new(
	    COST_MEMO_SLOTS, COST_MEMO_MAX, sizeof(struct pkix_judged), 0x1234);

	if (m == NULL)
		abort();
	return m;
}

/* Aborts unless the two sets of facts say the same. */
static void
cost_same(const void *a, const void *b, size_t n, const char *what)
{
	if (memcmp(a, b, n) != 0) {
		fprintf(stderr, "%s: the inspections differ\n", what);
		exit(1);
	}
}

int
main(int argc, char **argv)
{
	static struct cost_input in;
	struct ocsp_request_facts rq_before, rq_after;
	struct ocsp_response_facts an_before, an_cold, an_warm;
	struct memo *warm, **cold;
	long rounds = argc > 2 ? atol(argv[2]) : 20000;
	double t0, t[4];

	if (argc < 2 || rounds < 1) {
		fprintf(stderr, "usage: inspect_cost DATA_DIR [ROUNDS]\n");
		return 2;
	}
	in.get_len =
	    cost_read(argv[1], "request.get", in.get, sizeof(in.get) - 1);
	in.resp_len =
	    cost_read(argv[1], "response.der", in.resp, sizeof(in.resp));

	/* Once each: the same verdicts and facts (details are static). */
	warm = cost_memo();
	if (cost_request_before(&in, &rq_before) != 0 ||
	    cost_request_after(&in, &rq_after) != 0 ||
	    cost_answer_before(&in, &rq_before, &an_before) != 0 ||
	    cost_answer_cold(&in, &rq_after, warm, &an_cold) != 0 ||
	    cost_answer_warm(&in, &rq_after, warm, &an_warm) != 0) {
		fprintf(stderr, "an inspection refused the fixtures\n");
		return 1;
	}
	cost_same(&rq_before, &rq_after, sizeof(rq_before), "request");
	cost_same(&an_before, &an_cold, sizeof(an_before), "answer");
	cost_same(&an_before, &an_warm, sizeof(an_before), "answer (memo)");

	if ((cold = calloc((size_t)rounds, sizeof(*cold))) == NULL)
		return 1;
	for (long i = 0; i < rounds; i++)
		cold[i] = cost_memo();
	t0 = cost_now_ns();
	for (long i = 0; i < rounds; i++)
		cost_request_before(&in, &rq_before);
	t[0] = cost_now_ns() - t0;
	t0 = cost_now_ns();
	for (long i = 0; i < rounds; i++)
		cost_request_after(&in, &rq_after);
	t[1] = cost_now_ns() - t0;
	t0 = cost_now_ns();
	for (long i = 0; i < rounds; i++)
		cost_answer_before(&in, &rq_before, &an_before);
	t[2] = cost_now_ns() - t0;
	t0 = cost_now_ns();
	for (long i = 0; i < rounds; i++)
		cost_answer_cold(&in, &rq_after, cold[i], &an_cold);
	t[3] = cost_now_ns() - t0;
	t0 = cost_now_ns();
	for (long i = 0; i < rounds; i++)
		cost_answer_warm(&in, &rq_after, warm, &an_warm);
	t0 = cost_now_ns() - t0;

	printf("request %zu B (GET path %zu B), answer %zu B, %ld rounds\n",
	    rq_after.der_len, in.get_len, in.resp_len, rounds);
	printf("request before %10.0f ns\n", t[0] / (double)rounds);
	printf("request after  %10.0f ns\n", t[1] / (double)rounds);
	printf("answer before  %10.0f ns\n", t[2] / (double)rounds);
	printf("answer after, certificate memo cold %10.0f ns\n",
	    t[3] / (double)rounds);
	printf("answer after, certificate memo warm %10.0f ns\n",
	    t0 / (double)rounds);
	for (long i = 0; i < rounds; i++)
		memo_free(cold[i]);
	free(cold);
	memo_free(warm);
	return 0;
}
