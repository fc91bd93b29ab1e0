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
struct event_base;
struct evdns_base;
struct event_log;
struct listener;
struct session;

TAILQ_HEAD(session_list, session);

struct server {
	struct event_base *base;
	struct evdns_base *dns;
	struct config *cfg; /* for new connections */
	struct event_log *log;
	struct listener **listeners;
	size_t nlisteners;
	struct session_list sessions;
	unsigned nsessions;
	struct json json; /* scratch for event lines */
};

/*
 * Starts a worker on <base> with <cfg> (a reference is taken): resolver,
 * event log, listeners. Returns 0, or -1 with a message in <err>.
 */
int server_init(struct server *srv, struct event_base *base, struct config *cfg,
    char *err, size_t errlen);

/* Closes listeners and every session (logging requests in flight),
 * flushes the event log and frees all. */
void server_free(struct server *srv);

#endif
