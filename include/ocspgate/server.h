/*
 * One worker: its event loop, resolver, listeners, open sessions and the
 * config they started with. There are no process-wide globals: several
 * servers can run in one process.
 */
#ifndef OCSPGATE_SERVER_H
#define OCSPGATE_SERVER_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/queue.h>

#include "ocspgate/json.h"
#include "ocspgate/metrics.h"
#include "ocspgate/policy.h"
#include "ocspgate/pool.h"

struct config;
struct event;
struct event_base;
struct evdns_base;
struct event_log;
struct listener;
struct session;
struct shared;
struct responder;
struct shared_cache;
struct memo;
struct evbuffer;
struct event_sink;
struct sockaddr;
struct rdns_cache;

TAILQ_HEAD(session_list, session);
TAILQ_HEAD(upstream_idle_list, upstream_idle);

#define SERVER_RSLOTS 64 /* responder -> metrics slot, direct-mapped */

struct server_rslot {
	const struct responder *r;
	size_t slot;
};

struct server {
	struct shared *shared; /* what it shares with the other workers */
	struct event_base *base;
	struct resolver *resolver; /* for new lookups */
	struct resolver *retired;  /* resolvers gone, to free (reap) */
	struct config *cfg;        /* for new connections */
	struct event_log *log;
	struct listener **listeners;
	size_t nlisteners;
	struct session_list sessions;
	unsigned nsessions;
	bool draining; /* stopping: no new requests */
	struct event *drain_timer;
	struct json json; /* scratch for event lines */
	struct rdns_cache *rdns;
	struct addrmap *addrmap; /* listed hosts' addresses (Host-less) */
	struct pool pool;        /* free request buffers */
	unsigned peak_sessions;  /* since the last trim */
	unsigned trim_sessions;  /* when the next trim was planned */
	unsigned nrequests;      /* requests holding buffers */
	unsigned peak_requests;  /* since the last trim */
	unsigned trim_requests;  /* when the next trim was planned */
	size_t trim_taken;    /* the pool's count of takes at the last pass */
	unsigned trim_passes; /* housekeeping passes since the pool's
	                         last working-set trim */
	struct event *housekeeping;
	bool accept_paused; /* max_connections reached */
	char via[32];       /* "ocspgate-<random>": our Via token */
	struct metrics metrics;
	struct upstream_idle_list idle; /* pooled upstream connections */
	unsigned nidle;
	struct server_rslot rslots[SERVER_RSLOTS];
	struct policy_memo memos;   /* GET paths, request inspections */
	struct memo *memo_response; /* answers to them */
	struct memo *memo_certs;    /* certificates in answers, judged */
	/* RFC 5019: the process's (shared_ocsp_cache()), or, for a worker
	 * alone, one of its own (own_cache). */
	struct shared_cache *cache;
	bool own_cache;
};

/*
 * Sets up a worker on <base> with <cfg> (a reference is taken), writing
 * events to <sink>: resolver, event log; no listeners yet (see
 * server_apply()). <shared> is the state it shares with the process's
 * other workers (kept, not owned; NULL for a worker alone). Returns 0,
 * or -1 with a message in <err>.
 */
int server_init(struct server *srv, struct shared *shared,
    struct event_base *base, struct config *cfg, struct event_sink *sink,
    char *err, size_t errlen);

/*
 * Serves new connections with <cfg>: <fds>[i] is a listening socket for
 * cfg->listen[i], taken over (closed when this worker keeps its own
 * listener for that address). Requests in flight keep the config they
 * started with. Returns 0, or -1 with a message in <err>, all as before.
 */
int server_apply(struct server *srv, struct config *cfg,
    struct event_sink *sink, const int *fds, char *err, size_t errlen);

/*
 * Runs the worker's loop until it is asked to exit (drain, loopexit) or
 * has no event left, one pass at a time, and between passes frees what
 * may only be freed when nothing of the loop runs (server_reap()).
 */
void server_run(struct server *srv);

/*
 * Frees the resolvers retired by reloads, if nothing is active or
 * scheduled on the loop (else they wait for a later call). Call it only
 * between passes of the loop, never from one of its callbacks.
 */
void server_reap(struct server *srv);

/* SO_MARK needs CAP_NET_ADMIN: find out at load, not on every request. */
int server_check_mark(const struct config *cfg, char *err, size_t errlen);

/* The monotonic clock in nanoseconds: durations of requests and
 * exchanges. */
uint64_t server_now_ns(void);

/* The metrics slot of responder <r> (found by name once). */
size_t server_responder_slot(struct server *srv, const struct responder *r);

/*
 * A connection was opened or closed: stops accepting at max_connections
 * and starts again below it.
 */
void server_connections_changed(struct server *srv);

/*
 * A request took (<delta> 1) or gave back (-1) its buffers. After a fall
 * of many, or of the last one, the pool and the allocator give memory
 * back to the system shortly afterwards, so that connections left idle
 * after a burst hold no request memory.
 */
void server_requests_changed(struct server *srv, int delta);

/*
 * Stops accepting, closes idle connections and lets requests in flight
 * finish; the loop exits when the last one closes, or after
 * <timeout_sec> at the latest.
 */
void server_drain(struct server *srv, unsigned timeout_sec);

/* Closes listeners and every session (logging requests in flight),
 * flushes the event log and frees all. */
void server_free(struct server *srv);

#endif
