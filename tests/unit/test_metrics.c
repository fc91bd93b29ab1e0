/*
 * Unit tests for the worker counters and their Prometheus text: sums
 * over workers, the responder table and its overflow, the histogram,
 * label escaping, and the shape of the text, read back with a small
 * parser of the exposition format 0.0.4.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "ocspgate/json.h"
#include "ocspgate/metrics.h"

#define MAX_SAMPLES  1024
#define MAX_FAMILIES 64
#define NAME_LEN     96
#define LABELS_LEN   512

/* One sample line; labels unescaped as k=v pairs joined by '\x1f'. */
struct sample {
	char name[NAME_LEN];
	char labels[LABELS_LEN];
	char value[48];
};

struct family {
	char name[NAME_LEN];
	char type[16];
};

struct parsed {
	struct sample samples[MAX_SAMPLES];
	size_t nsamples;
	struct family families[MAX_FAMILIES];
	size_t nfamilies;
	bool ok;
	char why[160];
};

static bool
name_char(char c, bool first)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' ||
	    c == ':' || (!first && c >= '0' && c <= '9');
}

static void
parse_fail(struct parsed *p, const char *why, const char *line, size_t len)
{
	if (!p->ok)
		return;
	p->ok = false;
	(void)snprintf(p->why, sizeof(p->why), "%s: %.*s", why, (int)len, line);
}

/* Reads a metric or label name at *s into <out>. */
static bool
parse_name(const char **s, const char *end, char *out, size_t cap)
{
	size_t n = 0;

	while (*s < end && name_char(**s, n == 0)) {
		if (n + 1 >= cap)
			return false;
		out[n++] = *(*s)++;
	}
	out[n] = '\0';
	return n > 0;
}

static struct family *
find_family(struct parsed *p, const char *name)
{
	size_t i;

	for (i = 0; i < p->nfamilies; i++) {
		if (strcmp(p->families[i].name, name) == 0)
			return &p->families[i];
	}
	return NULL;
}

/* Is <sample> a series of family <f>, as its type allows? */
static bool
belongs(const struct family *f, const char *sample)
{
	size_t n = strlen(f->name);

	if (strcmp(sample, f->name) == 0)
		return strcmp(f->type, "histogram") != 0;
	if (strcmp(f->type, "histogram") != 0 ||
	    strncmp(sample, f->name, n) != 0)
		return false;
	return strcmp(sample + n, "_bucket") == 0 ||
	    strcmp(sample + n, "_sum") == 0 ||
	    strcmp(sample + n, "_count") == 0;
}

static void
parse_comment(struct parsed *p, const char *line, const char *end,
    const char **pending_help)
{
	size_t len = (size_t)(end - line);
	char name[NAME_LEN];
	const char *s;
	struct family *f;

	if (len > 7 && memcmp(line, "# HELP ", 7) == 0) {
		s = line + 7;
		if (!parse_name(&s, end, name, sizeof(name)) || s >= end ||
		    *s != ' ' || s + 1 >= end) {
			parse_fail(p, "bad HELP", line, len);
			return;
		}
		if (*pending_help != NULL) {
			parse_fail(p, "HELP without TYPE", line, len);
			return;
		}
		*pending_help = line + 7;
		return;
	}
	if (len > 7 && memcmp(line, "# TYPE ", 7) == 0) {
		s = line + 7;
		if (!parse_name(&s, end, name, sizeof(name)) || s >= end ||
		    *s != ' ') {
			parse_fail(p, "bad TYPE", line, len);
			return;
		}
		s++;
		if (*pending_help == NULL ||
		    strncmp(*pending_help, name, strlen(name)) != 0 ||
		    (*pending_help)[strlen(name)] != ' ') {
			parse_fail(p, "TYPE without its HELP", line, len);
			return;
		}
		*pending_help = NULL;
		if (find_family(p, name) != NULL ||
		    p->nfamilies == MAX_FAMILIES) {
			parse_fail(p, "family repeated", line, len);
			return;
		}
		f = &p->families[p->nfamilies++];
		(void)snprintf(f->name, sizeof(f->name), "%s", name);
		(void)snprintf(
		    f->type, sizeof(f->type), "%.*s", (int)(end - s), s);
		if (strcmp(f->type, "counter") != 0 &&
		    strcmp(f->type, "gauge") != 0 &&
		    strcmp(f->type, "histogram") != 0)
			parse_fail(p, "unknown type", line, len);
		if (strcmp(f->type, "counter") == 0 &&
		    (strlen(name) < 6 ||
		        strcmp(name + strlen(name) - 6, "_total") != 0))
			parse_fail(
			    p, "counter not ending in _total", line, len);
		return;
	}
	parse_fail(p, "unknown comment", line, len);
}

/* Reads {k="v",...} into s->labels, undoing the escapes. */
static bool
parse_labels(const char **cur, const char *end, struct sample *sm)
{
	const char *s = *cur;
	size_t n = 0;
	char key[NAME_LEN];

	if (s >= end || *s != '{')
		return true;
	s++;
	while (s < end && *s != '}') {
		if (n != 0) {
			if (*s != ',')
				return false;
			s++;
			sm->labels[n++] = '\x1f';
		}
		if (!parse_name(&s, end, key, sizeof(key)))
			return false;
		if (end - s < 2 || s[0] != '=' || s[1] != '"')
			return false;
		s += 2;
		if (n + strlen(key) + 2 >= sizeof(sm->labels))
			return false;
		memcpy(sm->labels + n, key, strlen(key));
		n += strlen(key);
		sm->labels[n++] = '=';
		for (; s < end && *s != '"'; s++) {
			char c = *s;

			if (c == '\\') {
				if (++s >= end)
					return false;
				if (*s == 'n')
					c = '\n';
				else if (*s == '\\' || *s == '"')
					c = *s;
				else
					return false;
			} else if (c == '\n') {
				return false;
			}
			if (n + 2 >= sizeof(sm->labels))
				return false;
			sm->labels[n++] = c;
		}
		if (s >= end)
			return false;
		s++; /* closing quote */
	}
	if (s >= end)
		return false;
	sm->labels[n] = '\0';
	*cur = s + 1;
	return true;
}

static void
parse_sample(struct parsed *p, const char *line, const char *end,
    const struct family *cur)
{
	size_t len = (size_t)(end - line), i;
	struct sample *sm;
	const char *s = line;
	char *stop;

	if (p->nsamples == MAX_SAMPLES) {
		parse_fail(p, "too many samples", line, len);
		return;
	}
	sm = &p->samples[p->nsamples];
	memset(sm, 0, sizeof(*sm));
	if (!parse_name(&s, end, sm->name, sizeof(sm->name)) ||
	    !parse_labels(&s, end, sm) || s >= end || *s != ' ') {
		parse_fail(p, "bad sample", line, len);
		return;
	}
	s++;
	if (end - s <= 0 || (size_t)(end - s) >= sizeof(sm->value)) {
		parse_fail(p, "bad value", line, len);
		return;
	}
	memcpy(sm->value, s, (size_t)(end - s));
	if (strcmp(sm->value, "+Inf") != 0) {
		(void)strtod(sm->value, &stop);
		if (*stop != '\0') {
			parse_fail(p, "value not a number", line, len);
			return;
		}
	}
	/* Each family's HELP and TYPE come first; its samples follow. */
	if (cur == NULL || !belongs(cur, sm->name)) {
		parse_fail(p, "sample outside its family", line, len);
		return;
	}
	for (i = 0; i < p->nsamples; i++) {
		if (strcmp(p->samples[i].name, sm->name) == 0 &&
		    strcmp(p->samples[i].labels, sm->labels) == 0) {
			parse_fail(p, "series repeated", line, len);
			return;
		}
	}
	p->nsamples++;
}

/* Parses the whole text; p->ok tells whether every line was well formed. */
static void
parse_text(struct parsed *p, const char *text, size_t len)
{
	const char *line = text, *end, *stop = text + len;
	const char *pending_help = NULL;

	memset(p, 0, sizeof(*p));
	p->ok = true;
	if (len == 0 || text[len - 1] != '\n') {
		parse_fail(p, "no final newline", "", 0);
		return;
	}
	for (; line < stop; line = end + 1) {
		end = memchr(line, '\n', (size_t)(stop - line));
		if (end == line) {
			parse_fail(p, "empty line", "", 0);
			return;
		}
		if (line[0] == '#')
			parse_comment(p, line, end, &pending_help);
		else if (pending_help != NULL)
			parse_fail(
			    p, "sample after HELP", line, (size_t)(end - line));
		else
			parse_sample(p, line, end,
			    p->nfamilies ? &p->families[p->nfamilies - 1]
			                 : NULL);
		if (!p->ok)
			return;
	}
	if (pending_help != NULL)
		parse_fail(p, "HELP at the end", "", 0);
}

/* The value of a series as text, or NULL when it is absent. */
static const char *
value_of(const struct parsed *p, const char *name, const char *labels)
{
	size_t i;

	for (i = 0; i < p->nsamples; i++) {
		if (strcmp(p->samples[i].name, name) == 0 &&
		    strcmp(p->samples[i].labels, labels) == 0)
			return p->samples[i].value;
	}
	return NULL;
}

#define L2(a, b) a "\x1f" b

static void
check_value(int line, const struct parsed *p, const char *name,
    const char *labels, const char *want)
{
	const char *v = value_of(p, name, labels);

	if (want == NULL)
		CHECKF(v == NULL, "line %d: %s{%s} present: %s", line, name,
		    labels, v);
	else
		CHECKF(v != NULL && strcmp(v, want) == 0,
		    "line %d: %s{%s} = %s, want %s", line, name, labels,
		    v != NULL ? v : "(absent)", want);
}

#define VALUE(p, name, labels, want)                                           \
	check_value(__LINE__, p, name, labels, want)

static struct parsed parsed; /* large: kept off the stack */

static const struct metrics_process empty_process = {.version = "0.1.0"};

/* Renders <n> workers with <proc> into <parsed>; false on failure. */
static bool
render(struct metrics *const *w, size_t n, const struct metrics_process *proc)
{
	struct json out;
	int rc;

	json_init(&out);
	rc = metrics_render(&out, w, n, proc);
	CHECK(rc == 0 && !out.failed);
	parse_text(&parsed, out.buf != NULL ? out.buf : "", out.len);
	CHECKF(parsed.ok, "%s", parsed.why);
	json_free(&out);
	return rc == 0 && parsed.ok;
}

static struct metrics *
new_metrics(void)
{
	struct metrics *m = malloc(sizeof(*m));

	if (m == NULL) {
		perror("malloc");
		exit(1);
	}
	memset(m, 0xa5, sizeof(*m)); /* metrics_init must clear it all */
	metrics_init(m);
	return m;
}

static void
test_families(void)
{
	static const struct {
		const char *name;
		const char *type;
	} want[] = {
	    {"ocspgate_requests_total", "counter"},
	    {"ocspgate_responder_requests_total", "counter"},
	    {"ocspgate_upstream_latency_seconds", "histogram"},
	    {"ocspgate_connections_open", "gauge"},
	    {"ocspgate_connections_total", "counter"},
	    {"ocspgate_request_body_bytes_total", "counter"},
	    {"ocspgate_response_body_bytes_total", "counter"},
	    {"ocspgate_cache_requests_total", "counter"},
	    {"ocspgate_cache_entries", "gauge"},
	    {"ocspgate_cache_bytes", "gauge"},
	    {"ocspgate_cache_max_bytes", "gauge"},
	    {"ocspgate_cache_evictions_total", "counter"},
	    {"ocspgate_alerts_total", "counter"},
	    {"ocspgate_alert_sources_tracked", "gauge"},
	    {"ocspgate_alert_source_evictions_total", "counter"},
	    {"ocspgate_upstream_connects_total", "counter"},
	    {"ocspgate_upstream_reused_total", "counter"},
	    {"ocspgate_upstream_retries_total", "counter"},
	    {"ocspgate_events_total", "counter"},
	    {"ocspgate_events_dropped_total", "counter"},
	    {"ocspgate_event_queue_bytes", "gauge"},
	    {"ocspgate_reloads_total", "counter"},
	    {"ocspgate_last_reload_success", "gauge"},
	    {"ocspgate_last_reload_timestamp_seconds", "gauge"},
	    {"ocspgate_start_time_seconds", "gauge"},
	    {"ocspgate_workers", "gauge"},
	    {"ocspgate_build_info", "gauge"},
	};
	size_t i;

	/* No workers at all: every family is still declared. */
	if (!render(NULL, 0, &empty_process))
		return;
	CHECK(parsed.nfamilies == sizeof(want) / sizeof(want[0]));
	for (i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
		const struct family *f = find_family(&parsed, want[i].name);

		CHECKF(f != NULL && strcmp(f->type, want[i].type) == 0,
		    "family %s", want[i].name);
	}
	/* No responder known nor seen: no responder series. */
	for (i = 0; i < parsed.nsamples; i++)
		CHECK(strcmp(parsed.samples[i].name,
		          "ocspgate_responder_requests_total") != 0);
	/* Fixed label sets: all there, at zero. */
	VALUE(&parsed, "ocspgate_upstream_latency_seconds_bucket", "le=+Inf",
	    "0");
	VALUE(&parsed, "ocspgate_upstream_latency_seconds_sum", "", "0.000000");
	VALUE(&parsed, "ocspgate_upstream_latency_seconds_count", "", "0");
	VALUE(&parsed, "ocspgate_cache_requests_total", "result=bypass", "0");
	VALUE(&parsed, "ocspgate_alerts_total", "reason=periodic", "0");
	VALUE(&parsed, "ocspgate_reloads_total", "result=failure", "0");
	VALUE(&parsed, "ocspgate_last_reload_success", "", "0");
	VALUE(&parsed, "ocspgate_build_info", "version=0.1.0", "1");
	VALUE(&parsed, "ocspgate_connections_open", "", "0");
}

/* Every (action, reason) a request can end with is there at zero. */
static void
test_zero_series(void)
{
	static const struct {
		const char *labels;
		const char *want; /* NULL: no such series */
	} rows[] = {
	    {L2("action=allow", "reason=ocsp_request"), "0"},
	    {L2("action=allow", "reason=crl_request"), "0"},
	    {L2("action=allow", "reason=ca_issuer_request"), "0"},
	    {L2("action=allow", "reason=ctl_request"), "0"},
	    {L2("action=allow", "reason=upstream_unreachable"), "0"},
	    {L2("action=allow", "reason=upstream_timeout"), "0"},
	    {L2("action=allow", "reason=response_malformed"), "0"},
	    {L2("action=allow", "reason=response_unverified"), "0"},
	    {L2("action=block", "reason=http_malformed"), "0"},
	    {L2("action=block", "reason=method_not_allowed"), "0"},
	    {L2("action=block", "reason=body_too_large"), "0"},
	    {L2("action=block", "reason=unknown_responder"), "0"},
	    {L2("action=block", "reason=not_ocsp"), "0"},
	    {L2("action=block", "reason=ocsp_malformed"), "0"},
	    {L2("action=block", "reason=unknown_issuer"), "0"},
	    {L2("action=block", "reason=host_mismatch"), "0"},
	    {L2("action=block", "reason=proxy_protocol_invalid"), "0"},
	    {L2("action=block", "reason=connection_limit"), "0"},
	    {L2("action=block", "reason=forwarding_loop"), "0"},
	    {L2("action=block", "reason=upstream_unreachable"), "0"},
	    {L2("action=block", "reason=response_unverified"), "0"},
	    /* Pairs no request ends with. */
	    {L2("action=allow", "reason=none"), NULL},
	    {L2("action=block", "reason=none"), NULL},
	    {L2("action=allow", "reason=unknown_responder"), NULL},
	    {L2("action=allow", "reason=http_malformed"), NULL},
	    {L2("action=block", "reason=ocsp_request"), NULL},
	    {L2("action=block", "reason=ctl_request"), NULL},
	};
	static const char *const names[] = {
	    "a.example/ocsp", NULL, "", "crl.example", "a.example/ocsp"};
	struct metrics_process proc = empty_process;
	struct metrics *m = new_metrics();
	size_t i, n = 0, s, nblock = 0;

	for (i = 0; i < REASON_MAX; i++)
		nblock += reason_is_block((enum reason)i);
	if (render(NULL, 0, &empty_process)) {
		for (i = 0; i < sizeof(rows) / sizeof(rows[0]); i++)
			VALUE(&parsed, "ocspgate_requests_total",
			    rows[i].labels, rows[i].want);
		for (i = 0; i < parsed.nsamples; i++)
			n += strcmp(parsed.samples[i].name,
			         "ocspgate_requests_total") == 0;
		/* 4 allow + the block reasons, 4 failures with each action. */
		CHECK(nblock >= 11);
		CHECK(n == 4 + nblock + 2 * 4);
	}

	/* Known names get both actions at zero, each name once, merged
	 * with what a worker counted; NULL and empty names are skipped. */
	proc.responder_names = names;
	proc.nresponder_names = sizeof(names) / sizeof(names[0]);
	s = metrics_responder_slot(m, "a.example/ocsp");
	metrics_count_responder(m, s, false);
	if (render(&m, 1, &proc)) {
		VALUE(&parsed, "ocspgate_responder_requests_total",
		    L2("responder=a.example/ocsp", "action=allow"), "0");
		VALUE(&parsed, "ocspgate_responder_requests_total",
		    L2("responder=a.example/ocsp", "action=block"), "1");
		VALUE(&parsed, "ocspgate_responder_requests_total",
		    L2("responder=crl.example", "action=allow"), "0");
		VALUE(&parsed, "ocspgate_responder_requests_total",
		    L2("responder=crl.example", "action=block"), "0");
		VALUE(&parsed, "ocspgate_responder_requests_total",
		    L2("responder=other", "action=allow"), NULL);
		VALUE(&parsed, "ocspgate_responder_requests_total",
		    L2("responder=", "action=allow"), NULL);
		for (i = 0, n = 0; i < parsed.nsamples; i++)
			n += strcmp(parsed.samples[i].name,
			         "ocspgate_responder_requests_total") == 0;
		CHECK(n == 4);
	}

	/* More names than a worker has slots: "other" is expected too. */
	{
		static char many[METRICS_RESPONDER_OTHER + 1][24];
		static const char *many_names[METRICS_RESPONDER_OTHER + 1];

		for (i = 0; i <= METRICS_RESPONDER_OTHER; i++) {
			(void)snprintf(
			    many[i], sizeof(many[i]), "r%03zu.example", i);
			many_names[i] = many[i];
		}
		proc.responder_names = many_names;
		proc.nresponder_names = METRICS_RESPONDER_OTHER + 1;
		if (render(NULL, 0, &proc)) {
			VALUE(&parsed, "ocspgate_responder_requests_total",
			    L2("responder=other", "action=allow"), "0");
			VALUE(&parsed, "ocspgate_responder_requests_total",
			    L2("responder=r127.example", "action=block"), "0");
		}
	}
	free(m);
}

static void
test_sum_workers(void)
{
	struct metrics *w[2] = {new_metrics(), new_metrics()};
	size_t s;
	int i;

	for (i = 0; i < 3; i++)
		metrics_count_request(w[0], true, REASON_OCSP_REQUEST);
	metrics_count_request(w[0], false, REASON_UNKNOWN_RESPONDER);
	metrics_count_request(w[1], true, REASON_OCSP_REQUEST);
	metrics_count_request(w[1], true, REASON_OCSP_REQUEST);
	for (i = 0; i < 4; i++)
		metrics_count_request(w[1], false, REASON_NOT_OCSP);
	metrics_count_request(w[1], false, REASON_MAX); /* out of range */
	metrics_count_request(w[1], false, REASON_UPSTREAM_TIMEOUT);

	/* The same responder in a different slot of each worker. */
	CHECK(metrics_responder_slot(w[1], "b.example") == 0);
	s = metrics_responder_slot(w[0], "a.example/ocsp");
	CHECK(s == 0);
	metrics_count_responder(w[0], s, true);
	metrics_count_responder(w[0], s, true);
	s = metrics_responder_slot(w[1], "a.example/ocsp");
	CHECK(s == 1);
	CHECK(metrics_responder_slot(w[1], "a.example/ocsp") == 1);
	CHECK(metrics_responder_slot(w[1], "b.example") == 0);
	metrics_count_responder(w[1], s, true);
	metrics_count_responder(w[1], s, false);
	metrics_count_responder(w[1], 0, true);
	CHECK(metrics_responder_slot(w[1], NULL) == METRICS_RESPONDER_NONE);
	CHECK(metrics_responder_slot(w[1], "") == METRICS_RESPONDER_NONE);
	metrics_count_responder(w[1], METRICS_RESPONDER_NONE, true);

	metrics_gauge_add(&w[0]->connections_open, 1);
	metrics_gauge_add(&w[0]->connections_open, 1);
	metrics_gauge_add(&w[0]->connections_open, -1);
	metrics_gauge_add(&w[1]->connections_open, 3);
	metrics_add(&w[0]->connections_total, 2);
	metrics_add(&w[1]->connections_total, 5);
	metrics_add(&w[0]->request_body_bytes_total, 100);
	metrics_add(&w[1]->request_body_bytes_total, 23);
	metrics_add(&w[1]->response_body_bytes_total, UINT64_C(10000000000000));
	metrics_add(&w[0]->cache_requests[METRICS_CACHE_HIT], 7);
	metrics_add(&w[1]->cache_requests[METRICS_CACHE_HIT], 1);
	metrics_add(&w[1]->cache_requests[METRICS_CACHE_MISS], 2);
	metrics_add(&w[0]->alerts[METRICS_ALERT_SERIAL_FANOUT], 1);
	metrics_add(&w[1]->alerts[METRICS_ALERT_SERIAL_FANOUT], 1);
	metrics_add(&w[1]->alerts[METRICS_ALERT_NEW_DESTINATION], 9);
	metrics_add(&w[0]->upstream_connects_total, 4);
	metrics_add(&w[1]->upstream_connects_total, 4);
	metrics_add(&w[1]->upstream_reused_total, 6);
	metrics_add(&w[0]->upstream_retries_total, 1);
	CHECK(metrics_get(&w[0]->connections_total) == 2);

	if (!render(w, 2, &empty_process))
		goto out;
	VALUE(&parsed, "ocspgate_requests_total",
	    L2("action=allow", "reason=ocsp_request"), "5");
	VALUE(&parsed, "ocspgate_requests_total",
	    L2("action=block", "reason=unknown_responder"), "1");
	VALUE(&parsed, "ocspgate_requests_total",
	    L2("action=block", "reason=not_ocsp"), "4");
	VALUE(&parsed, "ocspgate_requests_total",
	    L2("action=block", "reason=none"), "1");
	VALUE(&parsed, "ocspgate_requests_total",
	    L2("action=block", "reason=upstream_timeout"), "1");
	VALUE(&parsed, "ocspgate_requests_total",
	    L2("action=allow", "reason=crl_request"), "0");
	VALUE(&parsed, "ocspgate_requests_total",
	    L2("action=block", "reason=ocsp_request"), NULL);

	VALUE(&parsed, "ocspgate_responder_requests_total",
	    L2("responder=a.example/ocsp", "action=allow"), "3");
	VALUE(&parsed, "ocspgate_responder_requests_total",
	    L2("responder=a.example/ocsp", "action=block"), "1");
	VALUE(&parsed, "ocspgate_responder_requests_total",
	    L2("responder=b.example", "action=allow"), "1");
	VALUE(&parsed, "ocspgate_responder_requests_total",
	    L2("responder=b.example", "action=block"), "0");
	VALUE(&parsed, "ocspgate_responder_requests_total",
	    L2("responder=other", "action=allow"), NULL);

	VALUE(&parsed, "ocspgate_connections_open", "", "4");
	VALUE(&parsed, "ocspgate_connections_total", "", "7");
	VALUE(&parsed, "ocspgate_request_body_bytes_total", "", "123");
	VALUE(&parsed, "ocspgate_response_body_bytes_total", "",
	    "10000000000000");
	VALUE(&parsed, "ocspgate_cache_requests_total", "result=hit", "8");
	VALUE(&parsed, "ocspgate_cache_requests_total", "result=miss", "2");
	VALUE(&parsed, "ocspgate_cache_requests_total", "result=bypass", "0");
	VALUE(&parsed, "ocspgate_alerts_total", "reason=serial_fanout", "2");
	VALUE(&parsed, "ocspgate_alerts_total", "reason=new_destination", "9");
	VALUE(&parsed, "ocspgate_alerts_total", "reason=rate_anomaly", "0");
	VALUE(&parsed, "ocspgate_upstream_connects_total", "", "8");
	VALUE(&parsed, "ocspgate_upstream_reused_total", "", "6");
	VALUE(&parsed, "ocspgate_upstream_retries_total", "", "1");

	/* A gauge below zero prints with its sign. */
	metrics_gauge_add(&w[1]->connections_open, -10);
	if (render(w, 2, &empty_process))
		VALUE(&parsed, "ocspgate_connections_open", "", "-6");
out:
	free(w[0]);
	free(w[1]);
}

static void
test_histogram(void)
{
	static const uint64_t obs_ns[] = {
	    0,                      /* le 0.001 */
	    1000000,                /* le 0.001: bounds are inclusive */
	    1000001,                /* le 0.0025 */
	    42000000,               /* le 0.05 */
	    999999999,              /* le 1 */
	    10000000000ULL,         /* le 10 */
	    10000000001ULL,         /* +Inf only */
	    UINT64_C(3600000000000) /* +Inf only */
	};
	static const char *const le[] = {"0.001", "0.0025", "0.005", "0.01",
	    "0.025", "0.05", "0.1", "0.25", "0.5", "1", "2.5", "5", "10",
	    "+Inf"};
	static const char *const want[] = {"2", "3", "3", "3", "3", "4", "4",
	    "4", "4", "5", "5", "5", "6", "8"};
	struct metrics *w[2] = {new_metrics(), new_metrics()};
	unsigned long long prev = 0;
	char labels[32];
	size_t i, nbuckets = 0;

	/* Split over two workers: the renderer sums before it cumulates. */
	for (i = 0; i < sizeof(obs_ns) / sizeof(obs_ns[0]); i++)
		metrics_observe_upstream(w[i % 2], obs_ns[i]);
	if (!render(w, 2, &empty_process))
		goto out;
	for (i = 0; i < sizeof(le) / sizeof(le[0]); i++) {
		const char *v;

		(void)snprintf(labels, sizeof(labels), "le=%s", le[i]);
		VALUE(&parsed, "ocspgate_upstream_latency_seconds_bucket",
		    labels, want[i]);
		v = value_of(&parsed,
		    "ocspgate_upstream_latency_seconds_bucket", labels);
		if (v != NULL) {
			CHECK(strtoull(v, NULL, 10) >= prev);
			prev = strtoull(v, NULL, 10);
		}
	}
	for (i = 0; i < parsed.nsamples; i++)
		nbuckets +=
		    strcmp(parsed.samples[i].name,
		        "ocspgate_upstream_latency_seconds_bucket") == 0;
	CHECK(nbuckets == METRICS_LATENCY_BUCKETS);
	/* +Inf equals _count; _sum is exact to the microsecond. */
	VALUE(&parsed, "ocspgate_upstream_latency_seconds_count", "", "8");
	VALUE(&parsed, "ocspgate_upstream_latency_seconds_sum", "",
	    "3621.043999");
out:
	free(w[0]);
	free(w[1]);
}

static void
test_escaping(void)
{
	struct metrics *m = new_metrics();
	struct metrics_process proc = empty_process;
	struct metrics_event_output outs[2] = {
	    {"file", 10, 1, 0},
	    {"sys\"log", 20, 2, 512},
	};
	struct json out;
	size_t s;

	s = metrics_responder_slot(m, "a\"b\\c");
	metrics_count_responder(m, s, false);
	s = metrics_responder_slot(m, "x\ny");
	metrics_count_responder(m, s, true);
	proc.version = "1.0\\\"rc\n";
	proc.outputs = outs;
	proc.noutputs = 2;
	if (!render(&m, 1, &proc))
		goto out;
	VALUE(&parsed, "ocspgate_responder_requests_total",
	    L2("responder=a\"b\\c", "action=block"), "1");
	VALUE(&parsed, "ocspgate_responder_requests_total",
	    L2("responder=x\ny", "action=allow"), "1");
	VALUE(&parsed, "ocspgate_build_info", "version=1.0\\\"rc\n", "1");
	VALUE(&parsed, "ocspgate_events_total", "output=sys\"log", "20");
	VALUE(&parsed, "ocspgate_events_dropped_total", "output=file", "1");

	/* The raw text, escaped as the format says. */
	json_init(&out);
	CHECK(metrics_render(&out, &m, 1, &proc) == 0);
	CHECK(out.buf != NULL &&
	    strstr(out.buf,
	        "ocspgate_responder_requests_total{responder=\""
	        "a\\\"b\\\\c\",action=\"block\"} 1\n") != NULL);
	CHECK(out.buf != NULL &&
	    strstr(out.buf, "{responder=\"x\\ny\",action=\"allow\"} 1\n") !=
	        NULL);
	CHECK(out.buf != NULL &&
	    strstr(out.buf,
	        "ocspgate_build_info{version=\"1.0\\\\\\\"rc\\n\"}"
	        " 1\n") != NULL);
	json_free(&out);
out:
	free(m);
}

static void
test_overflow(void)
{
	struct metrics *w[2] = {new_metrics(), new_metrics()};
	char name[200], labels[300];
	size_t i, s;

	for (i = 0; i < METRICS_RESPONDER_OTHER; i++) {
		(void)snprintf(name, sizeof(name), "r%03zu.example", i);
		s = metrics_responder_slot(w[0], name);
		CHECK(s == i);
		metrics_count_responder(w[0], s, true);
	}
	/* Full: new names share the last slot, known ones keep theirs. */
	s = metrics_responder_slot(w[0], "late1.example");
	CHECK(s == METRICS_RESPONDER_OTHER);
	metrics_count_responder(w[0], s, true);
	s = metrics_responder_slot(w[0], "late2.example");
	CHECK(s == METRICS_RESPONDER_OTHER);
	metrics_count_responder(w[0], s, false);
	CHECK(metrics_responder_slot(w[0], "r126.example") == 126);
	CHECK(metrics_responder_slot(w[0], "r000.example") == 0);

	/* A name too long for a slot goes to "other" at once. */
	memset(name, 'n', METRICS_RESPONDER_NAME_MAX);
	name[METRICS_RESPONDER_NAME_MAX] = '\0';
	s = metrics_responder_slot(w[1], name);
	CHECK(s == METRICS_RESPONDER_OTHER);
	metrics_count_responder(w[1], s, true);
	name[METRICS_RESPONDER_NAME_MAX - 1] = '\0'; /* fits exactly */
	CHECK(metrics_responder_slot(w[1], name) == 0);

	if (!render(w, 2, &empty_process))
		goto out;
	VALUE(&parsed, "ocspgate_responder_requests_total",
	    L2("responder=other", "action=allow"), "2");
	VALUE(&parsed, "ocspgate_responder_requests_total",
	    L2("responder=other", "action=block"), "1");
	VALUE(&parsed, "ocspgate_responder_requests_total",
	    L2("responder=r126.example", "action=allow"), "1");
	VALUE(&parsed, "ocspgate_responder_requests_total",
	    L2("responder=late1.example", "action=allow"), NULL);
	(void)snprintf(labels, sizeof(labels),
	    "responder=%s\x1f"
	    "action=allow",
	    name);
	VALUE(&parsed, "ocspgate_responder_requests_total", labels, "0");

	/* A responder spelled "other" shares one series with the rest. */
	s = metrics_responder_slot(w[1], "other");
	CHECK(s == 1);
	metrics_count_responder(w[1], s, true);
	if (render(w, 2, &empty_process)) {
		VALUE(&parsed, "ocspgate_responder_requests_total",
		    L2("responder=other", "action=allow"), "3");
		VALUE(&parsed, "ocspgate_responder_requests_total",
		    L2("responder=other", "action=block"), "1");
	}
out:
	free(w[0]);
	free(w[1]);
}

static void
test_process(void)
{
	struct metrics_event_output outs[2] = {
	    {"file", 1000, 0, 0},
	    {"syslog", 990, 10, 4096},
	};
	struct metrics_process proc = {
	    .version = "0.1.0",
	    .start_time_sec = 1795719600,
	    .workers = 4,
	    .reloads_ok = 3,
	    .reloads_failed = 1,
	    .last_reload_success = true,
	    .last_reload_time_sec = 1795723200,
	    .outputs = outs,
	    .noutputs = 2,
	    .cache_entries = 12,
	    .cache_bytes = 34567,
	    .cache_max_bytes = 1048576,
	    .cache_evictions = 5,
	    .alert_sources_tracked = 77,
	    .alert_source_evictions = 8,
	};
	struct json out;

	if (!render(NULL, 0, &proc))
		return;
	VALUE(&parsed, "ocspgate_events_total", "output=file", "1000");
	VALUE(&parsed, "ocspgate_events_total", "output=syslog", "990");
	VALUE(&parsed, "ocspgate_events_dropped_total", "output=syslog", "10");
	VALUE(&parsed, "ocspgate_event_queue_bytes", "output=syslog", "4096");
	VALUE(&parsed, "ocspgate_event_queue_bytes", "output=file", "0");
	VALUE(&parsed, "ocspgate_reloads_total", "result=success", "3");
	VALUE(&parsed, "ocspgate_reloads_total", "result=failure", "1");
	VALUE(&parsed, "ocspgate_last_reload_success", "", "1");
	VALUE(&parsed, "ocspgate_last_reload_timestamp_seconds", "",
	    "1795723200");
	VALUE(&parsed, "ocspgate_start_time_seconds", "", "1795719600");
	VALUE(&parsed, "ocspgate_workers", "", "4");
	VALUE(&parsed, "ocspgate_cache_entries", "", "12");
	VALUE(&parsed, "ocspgate_cache_bytes", "", "34567");
	VALUE(&parsed, "ocspgate_cache_max_bytes", "", "1048576");
	VALUE(&parsed, "ocspgate_cache_evictions_total", "", "5");
	VALUE(&parsed, "ocspgate_alert_sources_tracked", "", "77");
	VALUE(&parsed, "ocspgate_alert_source_evictions_total", "", "8");

	/* The text is appended to what the buffer holds. */
	json_init(&out);
	json_raw(&out, "x\n", 2);
	CHECK(metrics_render(&out, NULL, 0, &proc) == 0);
	CHECK(out.len > 2 && memcmp(out.buf, "x\n# HELP ", 9) == 0);
	/* A writer that already failed stays failed. */
	out.failed = true;
	CHECK(metrics_render(&out, NULL, 0, &proc) == -1);
	json_free(&out);
}

/* The parser itself refuses what the format forbids. */
static void
test_parser(void)
{
	static const char *const bad[] = {
	    "",
	    "a_total 1",
	    "a_total 1\n",
	    "# TYPE a_total counter\na_total 1\n",
	    "# HELP a_total x\na_total 1\n",
	    "# HELP a_total x\n# TYPE b_total counter\nb_total 1\n",
	    "# HELP a x\n# TYPE a counter\na 1\n",
	    "# HELP a_total x\n# TYPE a_total counter\nb_total 1\n",
	    "# HELP a_total x\n# TYPE a_total counter\na_total 1\na_total 2\n",
	    "# HELP a_total x\n# TYPE a_total counter\na_total{k=\"v\"} x\n",
	    "# HELP a_total x\n# TYPE a_total counter\na_total{k=\"\\t\"} 1\n",
	    "# HELP a_total x\n# TYPE a_total counter\na_total{k=\"v} 1\n",
	    "# HELP a_total x\n# TYPE a_total counter\n\na_total 1\n",
	    "# HELP h x\n# TYPE h histogram\nh 1\n",
	    "# HELP g x\n# TYPE g gauge\ng_sum 1\n",
	    "# HELP g x\n# TYPE g gauge\n# HELP g x\n# TYPE g gauge\n",
	};
	static const char good[] =
	    "# HELP a_total x y\n# TYPE a_total counter\n"
	    "a_total{k=\"v\\\"\\\\\\n\",l=\"\"} 1\na_total 2\n"
	    "# HELP h x\n# TYPE h histogram\nh_bucket{le=\"+Inf\"} 1\n"
	    "h_sum 0.5\nh_count 1\n";
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		parse_text(&parsed, bad[i], strlen(bad[i]));
		CHECKF(!parsed.ok, "accepted: %s", bad[i]);
	}
	parse_text(&parsed, good, strlen(good));
	CHECKF(parsed.ok, "%s", parsed.why);
	CHECK(parsed.nsamples == 5);
	VALUE(&parsed, "a_total", L2("k=v\"\\\n", "l="), "1");
	VALUE(&parsed, "h_bucket", "le=+Inf", "1");
}

static void
test_names(void)
{
	CHECK(strcmp(metrics_alert_name(METRICS_ALERT_RATE_ANOMALY),
	          "rate_anomaly") == 0);
	CHECK(strcmp(metrics_alert_name(METRICS_ALERT_PERIODIC), "periodic") ==
	    0);
	CHECK(strcmp(metrics_alert_name(METRICS_ALERT_KINDS), "unknown") == 0);
}

int
main(void)
{
	test_parser();
	test_families();
	test_zero_series();
	test_sum_workers();
	test_histogram();
	test_escaping();
	test_overflow();
	test_process();
	test_names();
	return check_done();
}
