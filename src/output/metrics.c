/*
 * Worker counters and the Prometheus text rendering of their sum.
 * Pure: no I/O, no clock, no globals. Workers write only their own
 * struct; the renderer only reads, so neither side takes a lock.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ocspgate/hash.h"
#include "ocspgate/metrics.h"

/* Histogram upper bounds: in nanoseconds to bucket, as text to print. */
static const uint64_t metrics_latency_bound_ns[METRICS_LATENCY_BOUNDS] = {
    1000000ULL, 2500000ULL, 5000000ULL, 10000000ULL, 25000000ULL, 50000000ULL,
    100000000ULL, 250000000ULL, 500000000ULL, 1000000000ULL, 2500000000ULL,
    5000000000ULL, 10000000000ULL};

static const char *const metrics_latency_le[METRICS_LATENCY_BUCKETS] = {"0.001",
    "0.0025", "0.005", "0.01", "0.025", "0.05", "0.1", "0.25", "0.5", "1",
    "2.5", "5", "10", "+Inf"};

static const char *const metrics_action_names[METRICS_ACTIONS] = {
    [METRICS_ALLOW] = "allow",
    [METRICS_BLOCK] = "block",
};

static const char *const metrics_cache_names[METRICS_CACHE_RESULTS] = {
    [METRICS_CACHE_HIT] = "hit",
    [METRICS_CACHE_MISS] = "miss",
    [METRICS_CACHE_BYPASS] = "bypass",
};

static const char *const metrics_alert_names[METRICS_ALERT_KINDS] = {
    [METRICS_ALERT_RATE_ANOMALY] = "rate_anomaly",
    [METRICS_ALERT_NEW_DESTINATION] = "new_destination",
    [METRICS_ALERT_EARLY_REQUERY] = "early_requery",
    [METRICS_ALERT_SERIAL_FANOUT] = "serial_fanout",
    [METRICS_ALERT_PERIODIC] = "periodic",
    [METRICS_ALERT_UNKNOWN_CERTS] = "unknown_certificates",
    [METRICS_ALERT_UNAUTHORIZED] = "unauthorized_answers",
    [METRICS_ALERT_UA_MISMATCH] = "ua_mismatch",
};

const char *
metrics_alert_name(enum metrics_alert a)
{
	if ((unsigned)a >= METRICS_ALERT_KINDS)
		return "unknown";
	return metrics_alert_names[a];
}

void
metrics_init(struct metrics *m)
{
	/* Lock-free atomics have the representation of their plain type. */
	memset(m, 0, sizeof(*m));
}

/* FNV-1a, 64 bits: spares most strcmp() calls in the slot scan. */
static uint64_t
metrics_hash(const char *s)
{
	return hash_fnv1a64(HASH_FNV64_INIT, s, strlen(s));
}

size_t
metrics_responder_slot(struct metrics *m, const char *name)
{
	size_t i, n, len;
	uint64_t h;

	if (name == NULL || name[0] == '\0')
		return METRICS_RESPONDER_NONE;
	len = strlen(name);
	if (len >= METRICS_RESPONDER_NAME_MAX)
		return METRICS_RESPONDER_OTHER;
	h = metrics_hash(name);
	/* Relaxed: this thread is the one that stored it. */
	n = atomic_load_explicit(&m->nresponders, memory_order_relaxed);
	for (i = 0; i < n; i++) {
		if (m->responders[i].hash == h &&
		    strcmp(m->responders[i].name, name) == 0)
			return i;
	}
	if (n >= METRICS_RESPONDER_OTHER)
		return METRICS_RESPONDER_OTHER;
	memcpy(m->responders[n].name, name, len + 1);
	m->responders[n].hash = h;
	/* Release: a reader that sees n + 1 sees the name complete. */
	atomic_store_explicit(&m->nresponders, n + 1, memory_order_release);
	return n;
}

void
metrics_observe_upstream(struct metrics *m, uint64_t ns)
{
	size_t i;

	for (i = 0; i < METRICS_LATENCY_BOUNDS; i++) {
		if (ns <= metrics_latency_bound_ns[i])
			break;
	}
	metrics_add(&m->upstream_latency[i], 1);
	metrics_add(&m->upstream_latency_sum_us, ns / 1000);
}

/* The workers' counters added up, read once for a consistent text. */
struct metrics_sum {
	uint64_t requests[METRICS_ACTIONS][REASON_MAX];
	uint64_t other[METRICS_ACTIONS];
	uint64_t latency[METRICS_LATENCY_BUCKETS];
	uint64_t latency_sum_us;
	int64_t connections_open;
	uint64_t connections_total;
	uint64_t request_body_bytes_total;
	uint64_t response_body_bytes_total;
	uint64_t cache_requests[METRICS_CACHE_RESULTS];
	uint64_t alerts[METRICS_ALERT_KINDS];
	uint64_t upstream_connects_total;
	uint64_t upstream_reused_total;
	uint64_t upstream_retries_total;
};

/* One named responder slot of one worker, to merge by name. */
struct metrics_named {
	const char *name;
	uint64_t requests[METRICS_ACTIONS];
};

static void
metrics_sum_worker(struct metrics_sum *s, const struct metrics *m)
{
	size_t a, i;

	for (a = 0; a < METRICS_ACTIONS; a++) {
		for (i = 0; i < REASON_MAX; i++)
			s->requests[a][i] += metrics_get(&m->requests[a][i]);
		s->other[a] += metrics_get(
		    &m->responders[METRICS_RESPONDER_OTHER].requests[a]);
	}
	for (i = 0; i < METRICS_LATENCY_BUCKETS; i++)
		s->latency[i] += metrics_get(&m->upstream_latency[i]);
	s->latency_sum_us += metrics_get(&m->upstream_latency_sum_us);
	s->connections_open +=
	    atomic_load_explicit(&m->connections_open, memory_order_relaxed);
	s->connections_total += metrics_get(&m->connections_total);
	s->request_body_bytes_total +=
	    metrics_get(&m->request_body_bytes_total);
	s->response_body_bytes_total +=
	    metrics_get(&m->response_body_bytes_total);
	for (i = 0; i < METRICS_CACHE_RESULTS; i++)
		s->cache_requests[i] += metrics_get(&m->cache_requests[i]);
	for (i = 0; i < METRICS_ALERT_KINDS; i++)
		s->alerts[i] += metrics_get(&m->alerts[i]);
	s->upstream_connects_total += metrics_get(&m->upstream_connects_total);
	s->upstream_reused_total += metrics_get(&m->upstream_reused_total);
	s->upstream_retries_total += metrics_get(&m->upstream_retries_total);
}

static int
metrics_named_cmp(const void *a, const void *b)
{
	const struct metrics_named *x = a, *y = b;

	return strcmp(x->name, y->name);
}

/*
 * Collects the named slots of all workers and the <nknown> names in
 * <known> (at zero) into a new array sorted by name, with each name once
 * and its counts added up. Returns the array (NULL when empty) and its
 * length in *n; *failed is set when memory ran out.
 */
static struct metrics_named *
metrics_collect_responders(struct metrics *const *workers, size_t nworkers,
    const char *const *known, size_t nknown, size_t *n, bool *failed)
{
	struct metrics_named *v;
	size_t w, i, a, len = 0, out, cap;

	*n = 0;
	*failed = false;
	if (nknown > SIZE_MAX / sizeof(*v) ||
	    nworkers >
	        (SIZE_MAX / sizeof(*v) - nknown) / METRICS_RESPONDER_OTHER) {
		*failed = true;
		return NULL;
	}
	cap = nworkers * METRICS_RESPONDER_OTHER + nknown;
	if (cap == 0)
		return NULL;
	v = malloc(cap * sizeof(*v));
	if (v == NULL) {
		*failed = true;
		return NULL;
	}
	for (w = 0; w < nworkers; w++) {
		const struct metrics *m = workers[w];
		/* Acquire: pairs with the worker's release of the count. */
		size_t count =
		    atomic_load_explicit(&m->nresponders, memory_order_acquire);

		if (count > METRICS_RESPONDER_OTHER)
			count = METRICS_RESPONDER_OTHER;
		for (i = 0; i < count; i++, len++) {
			v[len].name = m->responders[i].name;
			for (a = 0; a < METRICS_ACTIONS; a++)
				v[len].requests[a] =
				    metrics_get(&m->responders[i].requests[a]);
		}
	}
	/* Names a worker has not met yet still get their series at 0. */
	for (i = 0; i < nknown; i++) {
		if (known[i] == NULL || known[i][0] == '\0')
			continue;
		v[len].name = known[i];
		for (a = 0; a < METRICS_ACTIONS; a++)
			v[len].requests[a] = 0;
		len++;
	}
	if (len == 0) {
		free(v);
		return NULL;
	}
	qsort(v, len, sizeof(*v), metrics_named_cmp);
	for (i = 1, out = 0; i < len; i++) {
		if (strcmp(v[i].name, v[out].name) == 0) {
			for (a = 0; a < METRICS_ACTIONS; a++)
				v[out].requests[a] += v[i].requests[a];
		} else {
			v[++out] = v[i];
		}
	}
	*n = out + 1;
	return v;
}

static void
metrics_puts(struct json *out, const char *s)
{
	json_raw(out, s, strlen(s));
}

/* Writes a label value escaped as the text format requires. */
static void
metrics_put_label_value(struct json *out, const char *s)
{
	const char *run;

	if (s == NULL)
		s = "";
	for (run = s; *s != '\0'; s++) {
		const char *esc;

		switch (*s) {
		case '\\':
			esc = "\\\\";
			break;
		case '"':
			esc = "\\\"";
			break;
		case '\n':
			esc = "\\n";
			break;
		default:
			continue;
		}
		json_raw(out, run, (size_t)(s - run));
		json_raw(out, esc, 2);
		run = s + 1;
	}
	json_raw(out, run, (size_t)(s - run));
}

static void
metrics_family(
    struct json *out, const char *name, const char *type, const char *help)
{
	metrics_puts(out, "# HELP ");
	metrics_puts(out, name);
	metrics_puts(out, " ");
	metrics_puts(out, help);
	metrics_puts(out, "\n# TYPE ");
	metrics_puts(out, name);
	metrics_puts(out, " ");
	metrics_puts(out, type);
	metrics_puts(out, "\n");
}

/*
 * Writes one sample "name{k1="v1",k2="v2"} value". A NULL key leaves
 * out that label and the ones after it.
 */
static void
metrics_sample(struct json *out, const char *name, const char *k1,
    const char *v1, const char *k2, const char *v2, const char *value)
{
	metrics_puts(out, name);
	if (k1 != NULL) {
		metrics_puts(out, "{");
		metrics_puts(out, k1);
		metrics_puts(out, "=\"");
		metrics_put_label_value(out, v1);
		metrics_puts(out, "\"");
		if (k2 != NULL) {
			metrics_puts(out, ",");
			metrics_puts(out, k2);
			metrics_puts(out, "=\"");
			metrics_put_label_value(out, v2);
			metrics_puts(out, "\"");
		}
		metrics_puts(out, "}");
	}
	metrics_puts(out, " ");
	metrics_puts(out, value);
	metrics_puts(out, "\n");
}

#define METRICS_NUM_LEN 32 /* "-9223372036854775808", "N.NNNNNN" */

static void
metrics_sample_u64(struct json *out, const char *name, const char *k1,
    const char *v1, const char *k2, const char *v2, uint64_t v)
{
	char num[METRICS_NUM_LEN];

	(void)snprintf(num, sizeof(num), "%" PRIu64, v);
	metrics_sample(out, name, k1, v1, k2, v2, num);
}

static void
metrics_sample_i64(struct json *out, const char *name, int64_t v)
{
	char num[METRICS_NUM_LEN];

	(void)snprintf(num, sizeof(num), "%" PRId64, v);
	metrics_sample(out, name, NULL, NULL, NULL, NULL, num);
}

/* A family of one unlabelled sample. */
static void
metrics_single_u64(struct json *out, const char *name, const char *type,
    const char *help, uint64_t v)
{
	metrics_family(out, name, type, help);
	metrics_sample_u64(out, name, NULL, NULL, NULL, NULL, v);
}

static void
metrics_single_i64(struct json *out, const char *name, const char *type,
    const char *help, int64_t v)
{
	metrics_family(out, name, type, help);
	metrics_sample_i64(out, name, v);
}

/*
 * True when a request can end with <action> and <reason>, so that its
 * series is written from the start, at zero: an allowed request ends
 * with an allow reason or a failure, a refused one with a block reason
 * or a failure. Reasons added to the enum are covered by the same rule.
 */
static bool
metrics_request_expected(size_t action, enum reason r)
{
	bool failure =
	    r != REASON_NONE && !reason_is_allow(r) && !reason_is_block(r);

	if (action == METRICS_ALLOW)
		return reason_is_allow(r) || failure;
	return reason_is_block(r) || failure;
}

static void
metrics_render_requests(struct json *out, const struct metrics_sum *s,
    const struct metrics_named *named, size_t nnamed, size_t nknown)
{
	static const char responders[] = "ocspgate_responder_requests_total";
	uint64_t other[METRICS_ACTIONS];
	size_t a, r, i;

	metrics_family(out, "ocspgate_requests_total", "counter",
	    "Requests finished, by event-log action and reason.");
	for (a = 0; a < METRICS_ACTIONS; a++) {
		for (r = 0; r < REASON_MAX; r++) {
			if (s->requests[a][r] == 0 &&
			    !metrics_request_expected(a, (enum reason)r))
				continue;
			metrics_sample_u64(out, "ocspgate_requests_total",
			    "action", metrics_action_names[a], "reason",
			    reason_name((enum reason)r), s->requests[a][r]);
		}
	}

	metrics_family(out, responders, "counter",
	    "Requests per configured responder, by event-log action.");
	memcpy(other, s->other, sizeof(other));
	for (i = 0; i < nnamed; i++) {
		/* A responder spelled "other" takes the overflow too, so no
		 * series is written twice. */
		bool is_other = strcmp(named[i].name, "other") == 0;

		for (a = 0; a < METRICS_ACTIONS; a++) {
			uint64_t v = named[i].requests[a];

			if (is_other) {
				v += other[a];
				other[a] = 0;
			}
			metrics_sample_u64(out, responders, "responder",
			    named[i].name, "action", metrics_action_names[a],
			    v);
		}
		if (is_other)
			nknown = 0; /* "other" is written */
	}
	/* More names than a worker's slots: the overflow is expected. */
	if (other[METRICS_ALLOW] != 0 || other[METRICS_BLOCK] != 0 ||
	    nknown > METRICS_RESPONDER_OTHER) {
		for (a = 0; a < METRICS_ACTIONS; a++)
			metrics_sample_u64(out, responders, "responder",
			    "other", "action", metrics_action_names[a],
			    other[a]);
	}
}

static void
metrics_render_latency(struct json *out, const struct metrics_sum *s)
{
	static const char name[] = "ocspgate_upstream_latency_seconds";
	char num[METRICS_NUM_LEN];
	uint64_t cumulative = 0;
	size_t i;

	metrics_family(out, name, "histogram",
	    "Duration of upstream exchanges in seconds.");
	for (i = 0; i < METRICS_LATENCY_BUCKETS; i++) {
		cumulative += s->latency[i];
		metrics_sample_u64(out,
		    "ocspgate_upstream_latency_seconds_bucket", "le",
		    metrics_latency_le[i], NULL, NULL, cumulative);
	}
	/* Exact decimal seconds from integer microseconds: no rounding. */
	(void)snprintf(num, sizeof(num), "%" PRIu64 ".%06" PRIu64,
	    s->latency_sum_us / 1000000, s->latency_sum_us % 1000000);
	metrics_sample(out, "ocspgate_upstream_latency_seconds_sum", NULL, NULL,
	    NULL, NULL, num);
	metrics_sample_u64(out, "ocspgate_upstream_latency_seconds_count", NULL,
	    NULL, NULL, NULL, cumulative);
}

static void
metrics_render_traffic(struct json *out, const struct metrics_sum *s)
{
	metrics_single_i64(out, "ocspgate_connections_open", "gauge",
	    "Client connections open.", s->connections_open);
	metrics_single_u64(out, "ocspgate_connections_total", "counter",
	    "Client connections accepted.", s->connections_total);
	metrics_single_u64(out, "ocspgate_request_body_bytes_total", "counter",
	    "Request body bytes received from clients.",
	    s->request_body_bytes_total);
	metrics_single_u64(out, "ocspgate_response_body_bytes_total", "counter",
	    "Response body bytes sent to clients.",
	    s->response_body_bytes_total);
}

static void
metrics_render_cache(struct json *out, const struct metrics_sum *s,
    const struct metrics_process *p)
{
	size_t i;

	metrics_family(out, "ocspgate_cache_requests_total", "counter",
	    "Response cache lookups, by result.");
	for (i = 0; i < METRICS_CACHE_RESULTS; i++)
		metrics_sample_u64(out, "ocspgate_cache_requests_total",
		    "result", metrics_cache_names[i], NULL, NULL,
		    s->cache_requests[i]);
	metrics_single_u64(out, "ocspgate_cache_entries", "gauge",
	    "Responses held in the cache.", p->cache_entries);
	metrics_single_u64(out, "ocspgate_cache_bytes", "gauge",
	    "Bytes held in the cache.", p->cache_bytes);
	metrics_single_u64(out, "ocspgate_cache_max_bytes", "gauge",
	    "Cache size limit in bytes.", p->cache_max_bytes);
	metrics_single_u64(out, "ocspgate_cache_evictions_total", "counter",
	    "Cache entries evicted to make room.", p->cache_evictions);
}

static void
metrics_render_alerts(struct json *out, const struct metrics_sum *s,
    const struct metrics_process *p)
{
	size_t i;

	metrics_family(out, "ocspgate_alerts_total", "counter",
	    "Alerts raised, by reason.");
	for (i = 0; i < METRICS_ALERT_KINDS; i++)
		metrics_sample_u64(out, "ocspgate_alerts_total", "reason",
		    metrics_alert_names[i], NULL, NULL, s->alerts[i]);
	metrics_single_u64(out, "ocspgate_alert_sources_tracked", "gauge",
	    "Client sources tracked for alerts.", p->alert_sources_tracked);
	metrics_single_u64(out, "ocspgate_alert_source_evictions_total",
	    "counter", "Tracked alert sources evicted to make room.",
	    p->alert_source_evictions);
}

static void
metrics_render_upstream(struct json *out, const struct metrics_sum *s)
{
	metrics_single_u64(out, "ocspgate_upstream_connects_total", "counter",
	    "Upstream connections opened.", s->upstream_connects_total);
	metrics_single_u64(out, "ocspgate_upstream_reused_total", "counter",
	    "Upstream requests sent on a reused connection.",
	    s->upstream_reused_total);
	metrics_single_u64(out, "ocspgate_upstream_retries_total", "counter",
	    "Upstream requests retried.", s->upstream_retries_total);
}

static void
metrics_render_outputs(struct json *out, const struct metrics_process *p)
{
	size_t i;

	metrics_family(out, "ocspgate_events_total", "counter",
	    "Event lines handed to the output (written = this - dropped), "
	    "by output.");
	for (i = 0; i < p->noutputs; i++)
		metrics_sample_u64(out, "ocspgate_events_total", "output",
		    p->outputs[i].name, NULL, NULL, p->outputs[i].sent);
	metrics_family(out, "ocspgate_events_dropped_total", "counter",
	    "Event lines dropped, by output.");
	for (i = 0; i < p->noutputs; i++)
		metrics_sample_u64(out, "ocspgate_events_dropped_total",
		    "output", p->outputs[i].name, NULL, NULL,
		    p->outputs[i].dropped);
	metrics_family(out, "ocspgate_event_queue_bytes", "gauge",
	    "Bytes of event lines queued, by output.");
	for (i = 0; i < p->noutputs; i++)
		metrics_sample_u64(out, "ocspgate_event_queue_bytes", "output",
		    p->outputs[i].name, NULL, NULL, p->outputs[i].queued_bytes);
}

static void
metrics_render_process(struct json *out, const struct metrics_process *p)
{
	metrics_family(out, "ocspgate_reloads_total", "counter",
	    "Configuration reloads, by result.");
	metrics_sample_u64(out, "ocspgate_reloads_total", "result", "success",
	    NULL, NULL, p->reloads_ok);
	metrics_sample_u64(out, "ocspgate_reloads_total", "result", "failure",
	    NULL, NULL, p->reloads_failed);
	metrics_single_u64(out, "ocspgate_last_reload_success", "gauge",
	    "1 if the last configuration reload succeeded.",
	    p->last_reload_success ? 1 : 0);
	metrics_single_i64(out, "ocspgate_last_reload_timestamp_seconds",
	    "gauge", "Unix time of the last reload, 0 if none.",
	    p->last_reload_time_sec);
	metrics_single_i64(out, "ocspgate_start_time_seconds", "gauge",
	    "Unix time the process started.", p->start_time_sec);
	metrics_single_u64(
	    out, "ocspgate_workers", "gauge", "Worker threads.", p->workers);
	metrics_family(out, "ocspgate_build_info", "gauge",
	    "Version of ocspgate; the value is always 1.");
	metrics_sample(out, "ocspgate_build_info", "version",
	    p->version != NULL ? p->version : "", NULL, NULL, "1");
}

int
metrics_render(struct json *out, struct metrics *const *workers,
    size_t nworkers, const struct metrics_process *p)
{
	struct metrics_sum s;
	struct metrics_named *named;
	size_t nnamed, w;
	bool failed;

	memset(&s, 0, sizeof(s));
	for (w = 0; w < nworkers; w++)
		metrics_sum_worker(&s, workers[w]);
	named = metrics_collect_responders(workers, nworkers,
	    p->responder_names, p->nresponder_names, &nnamed, &failed);
	if (failed) {
		out->failed = true;
		return -1;
	}
	metrics_render_requests(out, &s, named, nnamed, p->nresponder_names);
	free(named);
	metrics_render_latency(out, &s);
	metrics_render_traffic(out, &s);
	metrics_render_cache(out, &s, p);
	metrics_render_alerts(out, &s, p);
	metrics_render_upstream(out, &s);
	metrics_render_outputs(out, p);
	metrics_render_process(out, p);
	return out->failed ? -1 : 0;
}
