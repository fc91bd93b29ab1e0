/*
 * Behaviour alerts: each finished request (source -> responder host,
 * OCSP certificate IDs, nextUpdate and status of the answer, request
 * flags) updates per-source state, and patterns that tell a beacon from
 * real revocation checking raise alerts: request rate, a destination new
 * to the source, re-asking about a certificate long before its answer is
 * due for refresh, many distinct certificate IDs, requests at a regular
 * interval (jitter tolerated, re-checks at the answers' expiry not),
 * many certificates the CA calls unknown or answers unauthorized, and
 * requests whose User-Agent lies about the client.
 *
 * Sources are keyed on what an attacker cannot vary cheaply: an IPv4
 * address, or an IPv6 address's first ipv6_prefix bits (a host may take
 * any address of its /64).
 *
 * Pure: no I/O, no clock (times are passed in), no globals, no locking.
 * An engine is used by one thread at a time; the caller may run several
 * engines (shards picked with alert_source_hash()), each under its own
 * lock.
 *
 * Memory is bounded: at most max_tracked_sources sources per engine
 * (least recently seen evicted first), and per source at most
 *   ALERT_MAX_PAIRS_PER_SOURCE destinations  x ~250 bytes (~16 KiB),
 *   ALERT_MAX_CERTS_PER_SOURCE certificate IDs x ~52 bytes with their
 *   index (~13 KiB),
 *   min(serial_fanout, ALERT_FANOUT_MAX) certificate-ID hashes x 8 bytes
 *   (8 KiB), and as many for unknown_certs and unauthorized (8 KiB each),
 * plus ~400 bytes fixed: about 53 KiB in the worst case. The per-source
 * arrays grow on demand, so a source that asks one responder about a
 * few certificates costs well under 1 KiB. Destinations, certificate IDs
 * and serials are kept as 64-bit hashes, never as text.
 */
#ifndef OCSPGATE_ALERT_H
#define OCSPGATE_ALERT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "ocspgate/ocsp_request.h"

#define ALERT_INTERVALS            16   /* inter-arrival times per pair */
#define ALERT_MAX_PAIRS_PER_SOURCE 64   /* also the novelty memory */
#define ALERT_MAX_CERTS_PER_SOURCE 256  /* certificate IDs per source */
#define ALERT_FANOUT_MAX           1024 /* serial hashes per source */
#define ALERT_RATE_WINDOW_SEC      60   /* rate_per_* sliding window */
#define ALERT_DEST_MAX             256  /* struct alert dest, with NUL */

/*
 * Upper bound on the alerts one observation can raise with at most
 * OCSP_REQUEST_MAX_CERTS certificate IDs: a good size for alert_observe()'s
 * output array.
 */
#define ALERT_MAX_PER_OBSERVATION (8 + OCSP_REQUEST_MAX_CERTS)

/*
 * Thresholds; 0 disables that alert. Times are seconds, counts are
 * requests unless stated. See alert_config_defaults() for the defaults.
 * serial_fanout above ALERT_FANOUT_MAX acts as ALERT_FANOUT_MAX.
 */
struct alert_config {
	unsigned rate_per_source;  /* requests in 60 s from one source */
	unsigned rate_per_pair;    /* same, one (source, destination) */
	unsigned novelty_window;   /* destination unseen this long is new */
	unsigned novelty_learning; /* quiet period for a new source; 0 none */
	unsigned early_requery;    /* consecutive early re-asks, one cert */
	unsigned serial_fanout;    /* distinct cert IDs in fanout_window */
	unsigned fanout_window;    /* tumbling window; 0 means 600 */
	unsigned periodic_min;     /* intervals needed, capped at 16 */
	unsigned cooldown;         /* one alert per kind and key; 0 none */
	unsigned max_tracked_sources; /* LRU bound; 0 means 10000 */
	double periodic_jitter; /* tolerated jitter, a fraction of the period */
	unsigned unknown_certs; /* distinct cert IDs answered "unknown" in
	                           fanout_window; capped at ALERT_FANOUT_MAX */
	unsigned unauthorized;  /* the same for "unauthorized" answers */
	unsigned ua_mismatch;   /* requests flagged ua_mismatch, same window */
	unsigned ipv6_prefix;   /* IPv6 sources per /N; 0 or 128: each */
};

/* Fills <c> with the defaults (rate 600/300, novelty 7 days with one
 * hour of learning, early_requery 3, fanout 200 per 600 s, periodic 12
 * intervals within +-30 % jitter, cooldown 600 s, 10000 sources,
 * unknown_certs 10, unauthorized 10, ua_mismatch 5, IPv6 per /64). */
void alert_config_defaults(struct alert_config *c);

/* A client address. AF_INET uses addr[0..3]; other bytes are ignored.
 * The engine groups an AF_INET6 address per ipv6_prefix itself; a
 * caller that shards over engines groups it first (cidr_group()), so
 * that one block lands in one engine. */
struct alert_source {
	int family; /* AF_INET or AF_INET6 */
	unsigned char addr[16];
};

/*
 * A stable hash of <s> (same value in every process and engine), for
 * choosing a shard: hash % nshards. Engines index their own table with a
 * different hash, so sharding does not skew it.
 */
uint32_t alert_source_hash(const struct alert_source *s);

/* One finished request, as alert_observe() takes it. */
struct alert_observation {
	struct alert_source source;
	const char *dest; /* destination host name, lowercase, as logged */
	size_t dest_len;
	const struct ocsp_cert_id *certs; /* NULL/0 if not OCSP */
	size_t ncerts;
	time_t next_update;  /* earliest nextUpdate of a good answer, wall
	                        clock; 0 if none or unknown */
	uint64_t now_ms;     /* monotonic milliseconds: windows, intervals */
	time_t now;          /* wall clock seconds, compared w/ next_update */
	bool answer_unknown; /* a successful answer called a certificate of
	                        the request "unknown" */
	bool answer_unauthorized; /* the answer's status was unauthorized */
	bool ua_mismatch; /* the request's User-Agent claims a client its
	                     header fingerprint is not */
};

enum alert_kind {
	ALERT_RATE_ANOMALY = 0,
	ALERT_NEW_DESTINATION,
	ALERT_EARLY_REQUERY,
	ALERT_SERIAL_FANOUT,
	ALERT_PERIODIC,
	ALERT_UNKNOWN_CERTS,
	ALERT_UNAUTHORIZED,
	ALERT_UA_MISMATCH,
	ALERT_KIND_COUNT
};

/* "rate_anomaly", "new_destination", "early_requery", "serial_fanout",
 * "periodic", "unknown_certificates", "unauthorized_answers",
 * "ua_mismatch"; NULL for an out-of-range value. */
const char *alert_kind_name(enum alert_kind k);

/*
 * One alert. <scope> says what its key is: "source" (rate_anomaly per
 * source, serial_fanout, unknown_certificates, unauthorized_answers,
 * ua_mismatch), "pair" (rate_anomaly per pair, new_destination,
 * periodic) or "certificate" (early_requery: source and cert ID). <dest>
 * is "" for scope "source".
 *
 *   kind             observed              threshold       window_sec
 *   rate_anomaly     requests in 60 s      rate_per_*      60
 *   new_destination  s since last visit,   novelty_window  novelty_window
 *                    0 if never seen
 *   early_requery    early re-asks         early_requery   answer's
 *                                                          validity
 *   serial_fanout    distinct cert IDs     serial_fanout   fanout_window
 *   periodic         intervals (samples)   periodic_min    their sum
 *   unknown_certificates  distinct cert    unknown_certs   fanout_window
 *                    IDs answered unknown
 *   unauthorized_answers  distinct cert    unauthorized    fanout_window
 *                    IDs answered so
 *   ua_mismatch      flagged requests      ua_mismatch     fanout_window
 */
struct alert {
	enum alert_kind kind;
	const char *scope;          /* static string */
	char dest[ALERT_DEST_MAX];  /* NUL-terminated, truncated if longer */
	struct alert_source source; /* the key: an IPv6 block's first bits */
	unsigned source_prefix;     /* its length; 0 for a whole address */
	uint64_t observed;
	uint64_t threshold;
	unsigned window_sec;
	double mean_interval;   /* periodic: seconds */
	double median_interval; /* periodic: seconds */
	double jitter;          /* periodic: the middle intervals' spread
	                           around the median, as a fraction of it */
	double cv;              /* periodic: stddev / mean, all intervals */
	double score;           /* periodic: 1 - jitter, within 0..1 */
	unsigned samples;       /* periodic: intervals used */
	unsigned char serial[OCSP_SERIAL_MAX_BYTES]; /* early_requery */
	size_t serial_len;
	long next_update_in; /* early_requery: seconds left */
};

struct alert_engine;

/* A new engine with a copy of <c> (NULL: the defaults). Returns NULL
 * when out of memory. */
struct alert_engine *alert_engine_new(const struct alert_config *c);

/* Frees <e> and all its state; NULL is accepted. */
void alert_engine_free(struct alert_engine *e);

/*
 * Applies new thresholds (on reload), keeping the state. A smaller
 * max_tracked_sources evicts the least recently seen sources at once.
 */
void alert_engine_configure(
    struct alert_engine *e, const struct alert_config *c);

/*
 * Records one finished request <o> and writes up to <max> alerts it
 * triggered into <out> (ALERT_MAX_PER_OBSERVATION is enough). Returns how
 * many were written. An alert that does not fit is not written and does
 * not start its cooldown. <o> is not kept. If memory runs out the
 * request is partly or not recorded; nothing else fails.
 */
size_t alert_observe(struct alert_engine *e, const struct alert_observation *o,
    struct alert *out, size_t max);

struct alert_stats {
	uint64_t sources;        /* tracked now */
	uint64_t evictions;      /* sources evicted by the LRU bound */
	uint64_t alloc_failures; /* observations partly recorded */
};

void alert_engine_stats(const struct alert_engine *e, struct alert_stats *st);

#endif
