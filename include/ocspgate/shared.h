/*
 * What the workers of one process share: the count of open connections
 * per source (max_connections_per_source), the behaviour-alert state and
 * the RFC 5019 cache, in shards under locks of their own. The process makes it
 * and hands it to each worker; a worker alone (a test, the runtime fuzz target)
 * may run with none: nothing is then counted and no alert raised.
 */
#ifndef OCSPGATE_SHARED_H
#define OCSPGATE_SHARED_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

struct alert;
struct alert_observation;
struct config;
struct shared;
struct shared_cache;

/* What a connection was counted under: its source block. */
struct shared_source_key {
	int family; /* 0: not counted */
	unsigned char addr[16];
};

/*
 * The shared state for <cfg> (its alert thresholds and source grouping),
 * for one worker until shared_set_workers() says more. Returns NULL when
 * out of memory.
 */
struct shared *shared_new(const struct config *cfg);

/* Frees it; no worker may use it any more. Takes NULL. */
void shared_free(struct shared *sh);

/*
 * How many workers share the load: each takes its part of the
 * process-wide limits (max_connections, cache_size). Set before the
 * workers start, read by them.
 */
void shared_set_workers(struct shared *sh, size_t n);

/* That number, at least 1; 1 for no shared state. */
size_t shared_workers(const struct shared *sh);

/* A reload: the alert thresholds of <cfg>, the state kept. */
void shared_configure(struct shared *sh, const struct config *cfg);

/*
 * Counts one more connection from <sa> (any worker) under its source
 * block (an IPv6 address grouped per source_ipv6_prefix of <cfg>), and
 * writes that block into <key> for shared_source_release(). Connections
 * are counted whatever the limit, so that a reload that sets or lowers
 * max_connections_per_source finds the true counts. Returns false,
 * counting nothing (key->family 0), when max_connections_per_source of
 * <cfg> (0: none) would be passed. Out of memory, or with no shared
 * state, the connection is let in uncounted.
 */
bool shared_source_acquire(struct shared *sh, const struct config *cfg,
    const struct sockaddr *sa, struct shared_source_key *key);

/* Counts a connection gone, with the key its acquire wrote (a key of
 * family 0 counts nothing). */
void shared_source_release(
    struct shared *sh, const struct shared_source_key *key);

/*
 * Records one finished request with the alert state of its source and
 * writes the alerts it raised into <out> (at most <max>). Returns their
 * count (0 with no shared state). Locks one shard, chosen by source.
 */
size_t shared_alerts_observe(struct shared *sh,
    const struct alert_observation *o, struct alert *out, size_t max);

/*
 * The process's RFC 5019 cache (shared_cache.h), owned by <sh>: each
 * worker configures it with the config it switches to. NULL for no
 * shared state.
 */
struct shared_cache *shared_ocsp_cache(struct shared *sh);

/* Sources tracked and evicted by the alert state, over all shards. */
void shared_alert_stats(
    struct shared *sh, uint64_t *sources, uint64_t *evictions);

#endif
