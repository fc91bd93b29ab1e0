/*
 * A worker: event log, resolver and listeners around one event loop.
 */
#include <errno.h>
#include <malloc.h>
#include <netinet/in.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/event.h>

#include "ocspgate/addrmap.h"
#include "ocspgate/answer.h"
#include "ocspgate/config.h"
#include "ocspgate/event_log.h"
#include "ocspgate/listener.h"
#include "ocspgate/log.h"
#include "ocspgate/memo.h"
#include "ocspgate/pkix.h"
#include "ocspgate/policy.h"
#include "ocspgate/rdns.h"
#include "ocspgate/resolver.h"
#include "ocspgate/server.h"
#include "ocspgate/session.h"
#include "ocspgate/shared.h"
#include "ocspgate/shared_cache.h"
#include "ocspgate/upstream.h"

/* Pooled request buffers kept after a burst (see pool.h). */
#define SERVER_TRIM_MSEC     250 /* after a fall in connections */
#define SERVER_TRIM_SESSIONS 256 /* sessions gone since the peak */
#define SERVER_TRIM_REQUESTS 32  /* in flight at the peak, all answered */
#define SERVER_IDLE_SPARE    16  /* idle upstreams kept beyond the clients */
#define SERVER_TRIM_UNUSED   4   /* passes (a second) per working-set trim */

/* Loop passes server_free() runs at most to free retired resolvers. */
#define SERVER_REAP_PASSES 64

/* Inspection memos: slots, and the largest keys remembered. */
#define SERVER_MEMO_SLOTS        256
#define SERVER_MEMO_REQUEST_MAX  2048
#define SERVER_MEMO_RESPONSE_MAX 8192
#define SERVER_MEMO_CERT_SLOTS   64   /* responders' certificates */
#define SERVER_MEMO_CERT_MAX     4096 /* a certificate's bytes */

int
server_check_mark(const struct config *cfg, char *err, size_t errlen)
{
	uint32_t mark = cfg->upstream_mark;
	int fd, rc;

	if (mark == 0)
		return 0;
	if ((fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0)) == -1) {
		snprintf(err, errlen, "upstream_mark: %s", strerror(errno));
		return -1;
	}
	rc = setsockopt(fd, SOL_SOCKET, SO_MARK, &mark, sizeof(mark));
	if (rc == -1)
		snprintf(err, errlen,
		    "upstream_mark: cannot set SO_MARK (needs CAP_NET_ADMIN): "
		    "%s",
		    strerror(errno));
	close(fd);
	return rc;
}

/*
 * A token for the Via header ocspgate adds upstream: when a request comes
 * back carrying it, traffic is looping through us (a redirect rule that
 * does not exempt upstream_mark, say). Random per worker, so gates chained
 * on purpose do not take each other for a loop.
 */
static void
server_init_via(struct server *srv)
{
	unsigned char r[4] = {0};
	unsigned long v;

	if (getrandom(r, sizeof(r), 0) != (ssize_t)sizeof(r)) {
		struct timespec ts;

		clock_gettime(CLOCK_REALTIME, &ts);
		v = (unsigned long)ts.tv_nsec ^ (unsigned long)getpid();
	} else {
		v = (unsigned long)r[0] << 24 | (unsigned long)r[1] << 16 |
		    (unsigned long)r[2] << 8 | r[3];
	}
	snprintf(
	    srv->via, sizeof(srv->via), "ocspgate-%08lx", v & 0xffffffffUL);
}

static void server_on_housekeeping(evutil_socket_t fd, short what, void *arg);
static unsigned server_max_connections(const struct server *srv);

/*
 * The RFC 5019 cache: the process's, shared by its workers, or one of
 * this worker's own when it runs alone. Returns 0, or -1 out of memory.
 */
static int
server_init_cache(struct server *srv, struct config *cfg)
{
	if ((srv->cache = shared_ocsp_cache(srv->shared)) == NULL) {
		if ((srv->cache = shared_cache_new()) == NULL)
			return -1;
		srv->own_cache = true;
	}
	shared_cache_configure(srv->cache, cfg);
	return 0;
}

/*
 * The inspection memos: a few hundred recent requests and answers. Out
 * of memory, there are none and every inspection runs in full.
 */
static void
server_init_memos(struct server *srv)
{
	uint64_t seed = 0;

	if (getrandom(&seed, sizeof(seed), 0) != (ssize_t)sizeof(seed))
		seed = (uint64_t)(uintptr_t)srv;
	srv->memos.requests = memo_new(SERVER_MEMO_SLOTS,
	    SERVER_MEMO_REQUEST_MAX, sizeof(struct policy_memo_value), seed);
	srv->memos.get_paths =
	    memo_new(SERVER_MEMO_SLOTS, SERVER_MEMO_REQUEST_MAX,
	        sizeof(struct policy_get_value), seed ^ 0x9e3779b9u);
	srv->memo_response =
	    memo_new(SERVER_MEMO_SLOTS, SERVER_MEMO_RESPONSE_MAX,
	        sizeof(struct answer_memo_value), seed ^ 0x5bd1e995u);
	srv->memo_certs = memo_new(SERVER_MEMO_CERT_SLOTS, SERVER_MEMO_CERT_MAX,
	    sizeof(struct pkix_judged), seed ^ 0x27d4eb2fu);
}

int
server_init(struct server *srv, struct shared *shared, struct event_base *base,
    struct config *cfg, struct event_sink *sink, char *err, size_t errlen)
{
	memset(srv, 0, sizeof(*srv));
	srv->shared = shared;
	srv->base = base;
	srv->cfg = config_ref(cfg);
	TAILQ_INIT(&srv->sessions);
	json_init(&srv->json);
	metrics_init(&srv->metrics);
	TAILQ_INIT(&srv->idle);
	server_init_via(srv);
	srv->housekeeping = evtimer_new(base, server_on_housekeeping, srv);
	if (srv->housekeeping == NULL) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	if ((srv->rdns = rdns_new()) == NULL) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	if ((srv->log = event_log_new(base, sink, cfg, err, errlen)) == NULL)
		return -1;
	if ((srv->resolver = resolver_new(base, cfg, err, errlen)) == NULL)
		return -1;
	resolver_retire_to(srv->resolver, &srv->retired);
	if ((srv->addrmap = addrmap_new(base, srv->resolver, cfg)) == NULL) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	if (server_init_cache(srv, cfg) == -1) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	server_init_memos(srv);
	return 0;
}

static void
server_close_listeners(struct server *srv)
{
	for (size_t i = 0; i < srv->nlisteners; i++)
		listener_free(srv->listeners[i]);
	free(srv->listeners);
	srv->listeners = NULL;
	srv->nlisteners = 0;
}

/* The listener of <cur> bound to <la>'s text, or NULL. */
static struct listener *
server_take_listener(struct server *srv, const struct listen_addr *la)
{
	for (size_t i = 0; i < srv->nlisteners; i++) {
		struct listener *l = srv->listeners[i];

		/* TPROXY is a socket option set before bind: rebind then. */
		if (l != NULL && strcmp(listener_text(l), la->text) == 0 &&
		    listener_config(l)->transparent == la->transparent) {
			srv->listeners[i] = NULL;
			return l;
		}
	}
	return NULL;
}

/*
 * Gives back to <srv> the listeners that ls[0..n) took over from it, and
 * frees the ones opened for the new config.
 */
static void
server_untake_listeners(struct server *srv, struct listener **ls, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		for (size_t k = 0; k < srv->nlisteners; k++) {
			if (srv->listeners[k] == NULL &&
			    strcmp(srv->cfg->listen[k].text,
			        listener_text(ls[i])) == 0) {
				srv->listeners[k] = ls[i];
				ls[i] = NULL;
				break;
			}
		}
		listener_free(ls[i]);
	}
	free(ls);
}

/*
 * Everything that can fail comes first: the resolver, the event log's
 * new outputs, the listeners. Only when all of them are ready does
 * anything switch, so a failure leaves the worker exactly as it was.
 */
int
server_apply(struct server *srv, struct config *cfg, struct event_sink *sink,
    const int *fds, char *err, size_t errlen)
{
	struct event_log_change *logc = NULL;
	struct listener **ls = NULL;
	struct resolver *res = NULL;
	struct addrmap *map = NULL;
	size_t n = 0;

	if (srv->cfg != cfg) {
		/* Always a new resolver: the hosts file may have changed. */
		if ((res = resolver_new(srv->base, cfg, err, errlen)) == NULL)
			goto fail;
		resolver_retire_to(res, &srv->retired);
		if ((map = addrmap_new(srv->base, res, cfg)) == NULL) {
			snprintf(err, errlen, "out of memory");
			goto fail;
		}
		if ((logc = event_log_prepare(
		         srv->log, sink, cfg, err, errlen)) == NULL)
			goto fail;
	}
	if ((ls = calloc(cfg->nlisten, sizeof(*ls))) == NULL &&
	    cfg->nlisten > 0) {
		snprintf(err, errlen, "out of memory");
		goto fail;
	}
	/* Keep the listeners of addresses still listed. */
	for (n = 0; n < cfg->nlisten; n++) {
		ls[n] = server_take_listener(srv, &cfg->listen[n]);
		if (ls[n] != NULL) {
			close(fds[n]);
			continue;
		}
		if ((ls[n] = listener_new(srv, cfg, &cfg->listen[n], fds[n],
		         err, errlen)) == NULL)
			goto fail_listen;
	}
	/* From here on nothing fails. */
	server_close_listeners(srv);
	for (size_t i = 0; i < n; i++)
		listener_rebind(ls[i], cfg, &cfg->listen[i]);
	srv->listeners = ls;
	srv->nlisteners = n;
	if (logc != NULL)
		event_log_commit(srv->log, logc);
	if (res != NULL) {
		resolver_unref(srv->resolver);
		srv->resolver = res;
	}
	if (map != NULL) {
		struct addrmap *old = srv->addrmap;

		/* Its waiters look again, in the new map. */
		srv->addrmap = map;
		addrmap_free(old);
	}
	if (srv->cfg != cfg) {
		config_ref(cfg);
		config_unref(srv->cfg);
		srv->cfg = cfg;
		/* Connections made under the old settings (mark) go. */
		upstream_idle_flush(srv);
		/*
		 * The cache serves this config from now on, emptied and cut
		 * to its cache_size (the first worker to switch does it);
		 * answers to requests of the old one are no longer stored.
		 */
		shared_cache_configure(srv->cache, cfg);
	}
	/*
	 * A listener kept from before may have been paused at the old
	 * max_connections: each one takes the state the new limit gives
	 * (server_connections_changed() acts only on a change of state, and
	 * would leave it paused for good under a higher limit).
	 */
	srv->accept_paused = srv->nsessions >= server_max_connections(srv);
	for (size_t i = 0; i < srv->nlisteners; i++)
		listener_pause(srv->listeners[i], srv->accept_paused);
	server_connections_changed(srv);
	return 0;
fail:
	for (size_t i = 0; i < cfg->nlisten; i++)
		close(fds[i]);
	free(ls);
	event_log_abort(logc);
	addrmap_free(map);
	resolver_unref(res);
	return -1;
fail_listen:
	/* fds[n] went with the failed listener; the later ones are ours. */
	for (size_t i = n + 1; i < cfg->nlisten; i++)
		close(fds[i]);
	server_untake_listeners(srv, ls, n);
	event_log_abort(logc);
	addrmap_free(map);
	resolver_unref(res);
	return -1;
}

static void
server_on_drain_timeout(evutil_socket_t fd, short what, void *arg)
{
	struct server *srv = arg;

	(void)fd;
	(void)what;
	event_base_loopexit(srv->base, NULL);
}

void
server_drain(struct server *srv, unsigned timeout_sec)
{
	struct timeval tv = {.tv_sec = timeout_sec};
	struct session *s, *next;

	if (srv->draining)
		return;
	srv->draining = true;
	server_close_listeners(srv);
	/* Idle connections have nothing to finish. */
	for (s = TAILQ_FIRST(&srv->sessions); s != NULL; s = next) {
		next = TAILQ_NEXT(s, entry);
		if ((s->state == SESSION_READING && !s->in_request) ||
		    s->state == SESSION_LINGERING)
			session_close(s);
	}
	if (srv->nsessions == 0) {
		event_base_loopexit(srv->base, NULL);
		return;
	}
	srv->drain_timer = evtimer_new(srv->base, server_on_drain_timeout, srv);
	if (srv->drain_timer == NULL || evtimer_add(srv->drain_timer, &tv) != 0)
		event_base_loopexit(srv->base, NULL);
}

void
server_free(struct server *srv)
{
	struct session *s;

	server_close_listeners(srv);
	if (srv->drain_timer != NULL)
		event_free(srv->drain_timer);
	while ((s = TAILQ_FIRST(&srv->sessions)) != NULL)
		session_close(s);
	if (srv->idle.tqh_last != NULL)
		upstream_idle_flush(srv);
	if (srv->own_cache)
		shared_cache_free(srv->cache);
	memo_free(srv->memos.requests);
	memo_free(srv->memos.get_paths);
	memo_free(srv->memo_response);
	memo_free(srv->memo_certs);
	/* Cancelled lookups finish in one more pass of the loop. */
	addrmap_free(srv->addrmap);
	srv->addrmap = NULL;
	rdns_cancel(srv->rdns);
	event_base_loop(srv->base, EVLOOP_NONBLOCK);
	rdns_free(srv->rdns);
	resolver_unref(srv->resolver);
	/*
	 * Retired resolvers go once what is scheduled ran: a pass of the
	 * loop that returns with nothing active, then a reap. Bounded: left
	 * to the process's exit rather than freed under a callback.
	 */
	for (int i = 0; i < SERVER_REAP_PASSES && srv->retired != NULL; i++) {
		event_base_loop(srv->base, EVLOOP_ONCE | EVLOOP_NONBLOCK);
		server_reap(srv);
	}
	if (srv->log != NULL) {
		event_log_flush(srv->log);
		event_log_free(srv->log);
	}
	if (srv->housekeeping != NULL)
		event_free(srv->housekeeping);
	pool_free(&srv->pool);
	json_free(&srv->json);
	config_unref(srv->cfg);
	memset(srv, 0, sizeof(*srv));
}

void
server_run(struct server *srv)
{
	/*
	 * EVLOOP_ONCE returns after the first pass that leaves no callback
	 * active or scheduled (libevent counts deferred ones too): the
	 * moment at which a retired resolver can be freed.
	 */
	while (event_base_loop(srv->base, EVLOOP_ONCE) == 0 &&
	    !event_base_got_exit(srv->base) && !event_base_got_break(srv->base))
		server_reap(srv);
}

void
server_reap(struct server *srv)
{
	resolver_reap(srv->base, &srv->retired);
}

uint64_t
server_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

size_t
server_responder_slot(struct server *srv, const struct responder *r)
{
	struct server_rslot *c =
	    &srv->rslots[((uintptr_t)r >> 4) % SERVER_RSLOTS];
	size_t slot = c->slot;

	/* The name check also catches a config freed and its memory reused. */
	if (c->r == r && slot < METRICS_RESPONDERS_MAX &&
	    (slot == METRICS_RESPONDER_OTHER ||
	        strcmp(srv->metrics.responders[slot].name, r->spec) == 0))
		return slot;
	c->r = r;
	c->slot = metrics_responder_slot(&srv->metrics, r->spec);
	return c->slot;
}

static void
server_plan_trim(struct server *srv)
{
	struct timeval tv = {.tv_usec = SERVER_TRIM_MSEC * 1000};

	srv->trim_sessions = srv->nsessions;
	srv->trim_requests = srv->nrequests;
	evtimer_add(srv->housekeeping, &tv);
}

/*
 * After a burst, give memory back: the allocator keeps freed pages of
 * thousands of closed connections otherwise. Connections still closing
 * meanwhile free more: then again once they stop, so that the last trim
 * comes after the last close however long the closing took.
 *
 * A busy worker is not trimmed below what it uses: the pool gives back,
 * once a second, only the buffers no request took in that second, and the
 * heap is trimmed only once the requests stopped or many connections
 * closed. Under a steady load of hundreds of connections the requests
 * in flight swing by hundreds within milliseconds; trimming to a fixed
 * size then had each swing's requests map fresh pages, and the heap
 * trim had them fault its freed pages back in (a madvise() and half an
 * mmap() and munmap() per request at 500 connections).
 */
static void
server_on_housekeeping(evutil_socket_t fd, short what, void *arg)
{
	struct server *srv = arg;
	bool falling = srv->nsessions < srv->trim_sessions ||
	    srv->nrequests < srv->trim_requests;
	bool closed = srv->nsessions == 0 ||
	    srv->peak_sessions >= srv->nsessions + SERVER_TRIM_SESSIONS;
	size_t taken = srv->pool.taken - srv->trim_taken;
	bool idle = srv->nrequests == 0 && taken == 0;

	(void)fd;
	(void)what;
	/*
	 * With no request in flight or taken since the last pass, nothing
	 * of the pool is kept: the process goes back to the size it had
	 * before the burst.
	 */
	srv->trim_taken = srv->pool.taken;
	/*
	 * The idle upstream connections a burst left (up to
	 * upstream_idle_max) each pin a page of the heap among the burst's
	 * freed memory: once the clients are gone, a few more than those
	 * left are enough for what comes next.
	 */
	if (idle || closed)
		upstream_idle_trim(srv, srv->nsessions + SERVER_IDLE_SPARE);
	if (idle) {
		pool_trim(&srv->pool, 0);
	} else if (++srv->trim_passes >= SERVER_TRIM_UNUSED) {
		pool_trim_unused(&srv->pool);
		srv->trim_passes = 0;
	}
	if (idle || closed)
		malloc_trim(0);
	srv->peak_sessions = srv->nsessions;
	srv->peak_requests = srv->nrequests;
	if (falling || srv->pool.n > 0)
		server_plan_trim(srv);
}

void
server_requests_changed(struct server *srv, int delta)
{
	srv->nrequests += (unsigned)delta;
	if (srv->nrequests > srv->peak_requests)
		srv->peak_requests = srv->nrequests;
	/*
	 * A fall of many requests in flight (a burst answered), or the last
	 * of a few dozen: what the pool holds is no longer needed.
	 */
	if (srv->housekeeping != NULL &&
	    (srv->peak_requests >= srv->nrequests + SERVER_TRIM_SESSIONS ||
	        (srv->nrequests == 0 &&
	            srv->peak_requests >= SERVER_TRIM_REQUESTS)) &&
	    !evtimer_pending(srv->housekeeping, NULL))
		server_plan_trim(srv);
}

/* This worker's share of max_connections. */
static unsigned
server_max_connections(const struct server *srv)
{
	unsigned n = (unsigned)shared_workers(srv->shared);

	return (srv->cfg->max_connections + n - 1) / n;
}

void
server_connections_changed(struct server *srv)
{
	if (srv->nsessions > srv->peak_sessions)
		srv->peak_sessions = srv->nsessions;
	/* A fall of many connections, or the last one of a burst gone. */
	if (srv->housekeeping != NULL &&
	    (srv->peak_sessions >= srv->nsessions + SERVER_TRIM_SESSIONS ||
	        (srv->nsessions == 0 && srv->peak_sessions > 0)) &&
	    !evtimer_pending(srv->housekeeping, NULL))
		server_plan_trim(srv);
	bool full = srv->nsessions >= server_max_connections(srv);

	if (full == srv->accept_paused || srv->draining)
		return;
	srv->accept_paused = full;
	for (size_t i = 0; i < srv->nlisteners; i++)
		listener_pause(srv->listeners[i], full);
}
