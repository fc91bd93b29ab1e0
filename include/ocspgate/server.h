/*
 * One worker: its event loop, resolver, listeners, open sessions and the
 * config they started with. There are no process-wide globals: several
 * servers can run in one process.
 */
#ifndef OCSPGATE_SERVER_H
#define OCSPGATE_SERVER_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/queue.h>

#include "ocspgate/json.h"

struct config;
struct event;
struct event_base;
struct evdns_base;
struct event_log;
struct listener;
struct session;
struct server_buf;
struct source_slot;
struct sockaddr;
struct rdns_cache;

TAILQ_HEAD(session_list, session);

/*
 * A resolver built from one config (its hosts file and servers). A
 * lookup holds a reference, so a reload can bring a new resolver while
 * lookups on the old one finish.
 */
struct resolver {
	struct evdns_base *dns;
	unsigned refs;
};

struct resolver *resolver_ref(struct resolver *r);
void resolver_unref(struct resolver *r); /* takes NULL */

struct server {
	struct event_base *base;
	struct resolver *resolver; /* for new lookups */
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
	struct source_slot **sources; /* open connections per source */
	struct server_buf *pool;      /* free request buffers */
	size_t npool;
	unsigned peak_sessions; /* since the last trim */
	struct event *housekeeping;
	bool accept_paused;
	char via[32];
	/* "ocspgate-<random>": our Via token */ /* max_connections
	                                            reached */
};

/*
 * Starts a worker on <base> with <cfg> (a reference is taken): resolver,
 * event log, listeners. Returns 0, or -1 with a message in <err>.
 */
int server_init(struct server *srv, struct event_base *base, struct config *cfg,
    char *err, size_t errlen);

/*
 * Loads the config at <path> again and, if it is valid, serves new
 * connections with it: listeners opened and closed to match, the event
 * log and resolver replaced when their settings changed. Requests in
 * flight keep the config they started with. Returns 0, or -1 with every
 * error in <err> and the running config untouched.
 */
int server_reload(
    struct server *srv, const char *path, char *err, size_t errlen);

/*
 * Buffers of the per-request kind (head and body, reply head, capture):
 * taken when a request needs one, given back when it ends, so an idle
 * connection holds none and a busy worker does not call malloc for each
 * request. Returns NULL when out of memory.
 */
void *server_buf_get(struct server *srv, size_t size);
/* Gives back a buffer of <size> bytes from server_buf_get(). Takes NULL. */
void server_buf_put(struct server *srv, void *p, size_t size);

/*
 * Counts one more connection from <sa>. Returns false, counting nothing,
 * when max_connections_per_source of <cfg> would be passed.
 */
bool server_source_acquire(
    struct server *srv, const struct config *cfg, const struct sockaddr *sa);

/* Counts a connection from <sa> gone (one acquired earlier). */
void server_source_release(struct server *srv, const struct sockaddr *sa);

/*
 * A connection was opened or closed: stops accepting at max_connections
 * and starts again below it.
 */
void server_connections_changed(struct server *srv);

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
