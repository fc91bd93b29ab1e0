/*
 * Per-worker counters and their Prometheus text rendering. Each worker
 * thread owns one struct metrics and is its only writer; an admin thread
 * reads every worker's struct while they run. Counters are C11 atomics
 * written with a relaxed load and a relaxed store (no locked
 * read-modify-write is needed with one writer) and read with relaxed
 * loads. Pure: no I/O, no clock, no globals.
 */
#ifndef OCSPGATE_METRICS_H
#define OCSPGATE_METRICS_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ocspgate/json.h"
#include "ocspgate/reason.h"

/* Responder slots per worker; the last one counts the rest as "other". */
#define METRICS_RESPONDERS_MAX     128
#define METRICS_RESPONDER_OTHER    (METRICS_RESPONDERS_MAX - 1)
#define METRICS_RESPONDER_NONE     SIZE_MAX /* not counted */
#define METRICS_RESPONDER_NAME_MAX 128      /* with the NUL */

/* Finite upper bounds of the upstream latency histogram; +Inf is last. */
#define METRICS_LATENCY_BOUNDS  13
#define METRICS_LATENCY_BUCKETS (METRICS_LATENCY_BOUNDS + 1)

/* The event log's event.action. */
enum metrics_action { METRICS_ALLOW = 0, METRICS_BLOCK, METRICS_ACTIONS };

/* The result label of ocspgate_cache_requests_total. */
enum metrics_cache_result {
	METRICS_CACHE_HIT = 0,
	METRICS_CACHE_MISS,
	METRICS_CACHE_BYPASS,
	METRICS_CACHE_RESULTS
};

/* The reason label of ocspgate_alerts_total. */
enum metrics_alert {
	METRICS_ALERT_RATE_ANOMALY = 0,
	METRICS_ALERT_NEW_DESTINATION,
	METRICS_ALERT_EARLY_REQUERY,
	METRICS_ALERT_SERIAL_FANOUT,
	METRICS_ALERT_PERIODIC,
	METRICS_ALERT_UNKNOWN_CERTS,
	METRICS_ALERT_UNAUTHORIZED,
	METRICS_ALERT_UA_MISMATCH,
	METRICS_ALERT_KINDS
};

/* "rate_anomaly", "new_destination", ...; "unknown" out of range. */
const char *metrics_alert_name(enum metrics_alert a);

struct metrics_responder {
	char name[METRICS_RESPONDER_NAME_MAX]; /* fixed once published */
	uint64_t hash;                         /* of name; worker only */
	_Atomic uint64_t requests[METRICS_ACTIONS];
};

struct metrics {
	_Atomic uint64_t requests[METRICS_ACTIONS][REASON_MAX];

	/*
	 * Slots [0, nresponders) hold a name. The worker writes a new
	 * slot's name, then stores nresponders with release order; readers
	 * load it with acquire order before reading names.
	 */
	_Atomic size_t nresponders;
	struct metrics_responder responders[METRICS_RESPONDERS_MAX];

	/*
	 * Counts per bucket, not cumulative. The renderer derives _count
	 * from their sum, so +Inf and _count always agree.
	 */
	_Atomic uint64_t upstream_latency[METRICS_LATENCY_BUCKETS];
	_Atomic uint64_t upstream_latency_sum_us;

	_Atomic int64_t connections_open; /* gauge: +1 on accept, -1 */
	_Atomic uint64_t connections_total;
	_Atomic uint64_t request_body_bytes_total;
	_Atomic uint64_t response_body_bytes_total;
	_Atomic uint64_t cache_requests[METRICS_CACHE_RESULTS];
	_Atomic uint64_t alerts[METRICS_ALERT_KINDS];
	_Atomic uint64_t upstream_connects_total;
	_Atomic uint64_t upstream_reused_total;
	_Atomic uint64_t upstream_retries_total;
};

/* Zeroes <m>, before any thread uses it (calloc'ed memory is as good). */
void metrics_init(struct metrics *m);

/* Adds <n> to a counter. Only the owning worker may call it. */
static inline void
metrics_add(_Atomic uint64_t *c, uint64_t n)
{
	atomic_store_explicit(c,
	    atomic_load_explicit(c, memory_order_relaxed) + n,
	    memory_order_relaxed);
}

/* Adds <n> (maybe negative) to a gauge. Only the owning worker. */
static inline void
metrics_gauge_add(_Atomic int64_t *g, int64_t n)
{
	uint64_t v = (uint64_t)atomic_load_explicit(g, memory_order_relaxed);

	/* Unsigned arithmetic: wrapping is defined, overflow is not. */
	atomic_store_explicit(
	    g, (int64_t)(v + (uint64_t)n), memory_order_relaxed);
}

/* Reads a counter or gauge from any thread. */
static inline uint64_t
metrics_get(const _Atomic uint64_t *c)
{
	return atomic_load_explicit(c, memory_order_relaxed);
}

/* Counts one finished request as its event-log line says. */
static inline void
metrics_count_request(struct metrics *m, bool allow, enum reason r)
{
	if ((unsigned)r >= REASON_MAX)
		r = REASON_NONE;
	metrics_add(&m->requests[allow ? METRICS_ALLOW : METRICS_BLOCK][r], 1);
}

/*
 * Returns the slot of responder <name> (a configured responder spec),
 * adding it on first use. Names that no longer fit, in the table or in
 * METRICS_RESPONDER_NAME_MAX, share METRICS_RESPONDER_OTHER. A NULL or
 * empty name gives METRICS_RESPONDER_NONE. Only the owning worker may
 * call it; the slot stays valid for the life of <m>.
 */
size_t metrics_responder_slot(struct metrics *m, const char *name);

/* Counts a request to the responder in <slot>; NONE is ignored. */
static inline void
metrics_count_responder(struct metrics *m, size_t slot, bool allow)
{
	if (slot >= METRICS_RESPONDERS_MAX)
		return;
	metrics_add(&m->responders[slot]
	                 .requests[allow ? METRICS_ALLOW : METRICS_BLOCK],
	    1);
}

/* Records one upstream exchange that took <ns> nanoseconds. */
void metrics_observe_upstream(struct metrics *m, uint64_t ns);

/* One event-log output, as its writer reports it. */
struct metrics_event_output {
	const char *name; /* "file", "syslog" */
	uint64_t sent;
	uint64_t dropped;
	uint64_t queued_bytes;
};

/* Process-wide values, copied by the caller under its own locks. */
struct metrics_process {
	const char *version;
	int64_t start_time_sec; /* Unix time */
	unsigned workers;
	uint64_t reloads_ok;
	uint64_t reloads_failed;
	bool last_reload_success;     /* true until a reload fails */
	int64_t last_reload_time_sec; /* 0 if never reloaded */
	const struct metrics_event_output *outputs;
	size_t noutputs;
	uint64_t cache_entries;
	uint64_t cache_bytes;
	uint64_t cache_max_bytes;
	uint64_t cache_evictions;
	uint64_t alert_sources_tracked;
	uint64_t alert_source_evictions;
	/*
	 * The responder names known up front (the configured responders
	 * and fetch hosts, as written): their series are written at zero
	 * before their first request. NULL and empty names are skipped.
	 */
	const char *const *responder_names;
	size_t nresponder_names;
};

/*
 * Appends the Prometheus text exposition (format 0.0.4) of <p> and of
 * the sum of <nworkers> worker structs to <out>, which the caller owns
 * and resets; the text uses json_raw() only, no JSON. Every family gets
 * HELP and TYPE lines, and every series that can grow is there from the
 * start, at zero, so that a rate sees its first increment:
 * ocspgate_requests_total has each action with each reason it can end
 * with (allow: allow reasons and failures; block: block reasons and
 * failures; any other pair once non-zero), each responder named in <p>
 * or seen by a worker gets both actions ("other" once non-zero or when
 * more names are known than a worker has slots), and the other labelled
 * families list every label value. Reads the workers while they run.
 * Returns 0, or -1 when memory ran out (out->failed is set).
 */
int metrics_render(struct json *out, struct metrics *const *workers,
    size_t nworkers, const struct metrics_process *p);

#endif
