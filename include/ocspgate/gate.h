/*
 * The process: its workers (one thread, event loop and server each), the
 * listening sockets they share, the event log file, the behaviour-alert
 * state, and the main thread that takes signals, reloads, serves the
 * admin endpoint and writes periodic metric events.
 */
#ifndef OCSPGATE_GATE_H
#define OCSPGATE_GATE_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>
#include <time.h>

#include "ocspgate/json.h"

struct alert;
struct alert_observation;
struct config;
struct event;
struct event_base;
struct event_log;
struct event_sink;
struct evhttp;
struct gate_alerts;
struct gate_source;
struct worker;

/* A listening socket; each worker accepts on a descriptor of it. */
struct gate_socket {
	char *text; /* as in the config */
	int transparent;
	int fd;
	char name[64]; /* bound address, real port */
};

struct gate {
	struct event_base *base; /* the main thread's */
	const char *path;
	struct config *cfg;
	struct event_sink *sink;
	struct event_log *log; /* the main thread's lines: metrics */
	struct gate_socket *socks;
	size_t nsocks;
	struct worker **workers;
	size_t nworkers;
	size_t nrunning;
	int done[2]; /* a worker's thread writes here as it ends */
	struct event *done_ev;
	struct event *sigs[4];
	bool stopping;
	pthread_mutex_t sources_lock; /* max_connections_per_source */
	struct gate_source **sources;
	struct gate_alerts *alerts;
	struct evhttp *admin;
	struct event *metric_timer;
	struct json json; /* main thread scratch */
	time_t start_time;
	uint64_t reloads_ok, reloads_failed;
	bool last_reload_ok;
	time_t last_reload_time;
};

/*
 * Everything that needs privileges, from <cfg> (a reference is taken):
 * listening sockets bound, the event log opened, workers set up.
 * Returns 0, or -1 with a message in <err> (gate_free() still needed).
 */
int gate_init(struct gate *g, const char *path, struct config *cfg, char *err,
    size_t errlen);

/*
 * Only what workers share (per-source counts, alert state), from <cfg>
 * (a reference is taken): no sockets, threads, loop or outputs, for a
 * server run in the caller's thread (gate_workers() is then 1). gate_init()
 * starts with it. Returns 0, or -1 with a message in <err> (gate_free()
 * still needed).
 */
int gate_init_shared(
    struct gate *g, struct config *cfg, char *err, size_t errlen);

/* Runs the workers and the main loop until stopped. Returns 0. */
int gate_run(struct gate *g);

void gate_free(struct gate *g);

/* How many workers share the load. */
size_t gate_workers(const struct gate *g);

/* What a connection was counted under: its source block. */
struct gate_source_key {
	int family; /* 0: not counted */
	unsigned char addr[16];
};

/*
 * Counts one more connection from <sa> (any worker) under its source
 * block (an IPv6 address grouped per source_ipv6_prefix of <cfg>), and
 * writes that block into <key> for gate_source_release(). Connections
 * are counted whatever the limit, so that a reload that sets or lowers
 * max_connections_per_source finds the true counts. Returns false,
 * counting nothing (key->family 0), when max_connections_per_source of
 * <cfg> (0: none) would be passed. Out of memory, the connection is let
 * in uncounted.
 */
bool gate_source_acquire(struct gate *g, const struct config *cfg,
    const struct sockaddr *sa, struct gate_source_key *key);
/* Counts a connection gone, with the key its acquire wrote (a key of
 * family 0 counts nothing). */
void gate_source_release(struct gate *g, const struct gate_source_key *key);

/*
 * Records one finished request with the alert state of its source and
 * writes the alerts it raised into <out> (at most <max>). Returns their
 * count. Locks one shard, chosen by source.
 */
size_t gate_alerts_observe(struct gate *g, const struct alert_observation *o,
    struct alert *out, size_t max);

/* Sources tracked and evicted by the alert state, over all shards. */
void gate_alert_stats(struct gate *g, uint64_t *sources, uint64_t *evictions);

#endif
