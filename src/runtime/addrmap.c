/*
 * Listed host names -> their addresses, by ocspgate's own resolver and
 * kept by TTL (A and AAAA answers; the hosts file as a fallback, kept
 * ADDRMAP_HOSTS_SEC), refreshed in the background while the map is in
 * use. Lookups answer from memory; requests that find a refresh in
 * flight wait on it through a callback, never blocking the loop.
 */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <event2/dns.h>
#include <event2/event.h>
#include <event2/util.h>

#include "ocspgate/addr.h"
#include "ocspgate/addrmap.h"
#include "ocspgate/cidr.h"
#include "ocspgate/config.h"
#include "ocspgate/resolver.h"

/*
 * One listed host and port. Queries in flight hold a reference, so that
 * an entry outlives a map freed meanwhile (map is NULL then).
 */
struct addrmap_entry {
	struct addrmap *map;
	unsigned refs;
	char *name;
	uint16_t port;
	unsigned char v4[ADDRMAP_MAX_ADDRS][4];
	size_t nv4;
	unsigned char v6[ADDRMAP_MAX_ADDRS][16];
	size_t nv6;
	time_t expires; /* 0: never looked up */

	/* A refresh: A and AAAA, then perhaps the hosts file. */
	unsigned pending; /* queries in flight */
	struct resolver *res;
	struct evdns_request *req4, *req6;
	struct evdns_getaddrinfo_request *gai;
	bool busy4, busy6, busy_hosts;
	unsigned char n4[ADDRMAP_MAX_ADDRS][4];
	size_t nn4;
	unsigned char n6[ADDRMAP_MAX_ADDRS][16];
	size_t nn6;
	int ttl; /* smallest TTL of the answers, -1 before any */
};

struct addrmap {
	struct event_base *base;
	struct resolver *res; /* the worker's, when the map was made */
	struct addrmap_entry **e;
	size_t n;
	bool started;
	time_t last_used;
	struct event *timer; /* the next refresh */
	struct event *wake;  /* calls the waiters from the loop */
	struct addrmap_waiters waiters;
};

static void addrmap_refresh(struct addrmap_entry *e, struct resolver *r);

static void
addrmap_entry_unref(struct addrmap_entry *e)
{
	if (--e->refs > 0)
		return;
	resolver_unref(e->res);
	free(e->name);
	free(e);
}

/* Calls every waiter once; a callback may wait again. */
static void
addrmap_wake(struct addrmap_waiters *list)
{
	struct addrmap_waiters now;
	struct addrmap_waiter *w;

	TAILQ_INIT(&now);
	while ((w = TAILQ_FIRST(list)) != NULL) {
		TAILQ_REMOVE(list, w, entry);
		TAILQ_INSERT_TAIL(&now, w, entry);
		w->list = &now;
	}
	while ((w = TAILQ_FIRST(&now)) != NULL) {
		TAILQ_REMOVE(&now, w, entry);
		w->list = NULL;
		w->cb(w->arg);
	}
}

/* Arms the timer for the earliest expiry, if the map is still used. */
static void
addrmap_arm(struct addrmap *m, time_t now)
{
	time_t next = 0;
	struct timeval tv = {0, 0};

	if (m->timer == NULL || now - m->last_used > ADDRMAP_IDLE_SEC)
		return;
	for (size_t i = 0; i < m->n; i++) {
		if (m->e[i]->pending == 0 &&
		    (next == 0 || m->e[i]->expires < next))
			next = m->e[i]->expires;
	}
	if (next == 0)
		return;
	tv.tv_sec = next > now ? next - now : 1;
	evtimer_add(m->timer, &tv);
}

/* A refresh is complete: its answers replace the entry's addresses. */
static void
addrmap_entry_done(struct addrmap_entry *e)
{
	time_t now = time(NULL);
	int ttl = e->ttl;

	if (e->nn4 + e->nn6 > 0) {
		memcpy(e->v4, e->n4, sizeof(e->v4));
		e->nv4 = e->nn4;
		memcpy(e->v6, e->n6, sizeof(e->v6));
		e->nv6 = e->nn6;
		if (ttl < ADDRMAP_TTL_MIN_SEC)
			ttl = ADDRMAP_TTL_MIN_SEC;
		if (ttl > ADDRMAP_TTL_MAX_SEC)
			ttl = ADDRMAP_TTL_MAX_SEC;
	} else {
		/* Nothing: keep what was known, and ask again soon. */
		ttl = ADDRMAP_RETRY_SEC;
	}
	e->expires = now + ttl;
	resolver_unref(e->res);
	e->res = NULL;
	if (e->map != NULL) {
		addrmap_arm(e->map, now);
		/* From the loop: a waiter may look up (and refresh) again. */
		event_active(e->map->wake, EV_TIMEOUT, 0);
	}
}

/* One query of <e> ended; the last one completes the refresh. */
static void
addrmap_query_done(struct addrmap_entry *e)
{
	if (--e->pending == 0)
		addrmap_entry_done(e);
}

static void
addrmap_on_hosts(int result, struct evutil_addrinfo *res, void *arg)
{
	struct addrmap_entry *e = arg;

	if (result == EVUTIL_EAI_CANCEL) {
		addrmap_entry_unref(e);
		return;
	}
	e->busy_hosts = false;
	e->gai = NULL;
	for (struct evutil_addrinfo *ai = res; ai != NULL; ai = ai->ai_next) {
		const struct sockaddr *sa = ai->ai_addr;

		if (addr_family(sa) == AF_INET && e->nn4 < ADDRMAP_MAX_ADDRS)
			memcpy(e->n4[e->nn4++],
			    &((const struct sockaddr_in *)(const void *)sa)
			         ->sin_addr,
			    4);
		else if (addr_family(sa) == AF_INET6 &&
		    e->nn6 < ADDRMAP_MAX_ADDRS)
			memcpy(e->n6[e->nn6++],
			    &((const struct sockaddr_in6 *)(const void *)sa)
			         ->sin6_addr,
			    16);
	}
	if (res != NULL)
		evutil_freeaddrinfo(res);
	e->ttl = ADDRMAP_HOSTS_SEC;
	addrmap_query_done(e);
	addrmap_entry_unref(e);
}

/*
 * Neither A nor AAAA gave an address: the name may be in the hosts file
 * (evdns reads it only for getaddrinfo). Counts as one more query.
 */
static void
addrmap_try_hosts(struct addrmap_entry *e)
{
	struct evutil_addrinfo hints;
	struct evdns_getaddrinfo_request *req;

	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	e->pending++;
	e->refs++;
	e->busy_hosts = true;
	/* Answers from the hosts file come before the call returns. */
	req = evdns_getaddrinfo(
	    e->res->dns, e->name, NULL, &hints, addrmap_on_hosts, e);
	if (e->busy_hosts)
		e->gai = req;
}

/*
 * An A or AAAA answer (<v6>). The type evdns passes is 0 on errors, so
 * each query has its own callback.
 */
static void
addrmap_on_answer(bool v6, int result, char type, int count, int ttl,
    void *addresses, struct addrmap_entry *e)
{
	if (result == DNS_ERR_CANCEL || result == DNS_ERR_SHUTDOWN) {
		addrmap_entry_unref(e);
		return;
	}
	if (v6) {
		e->busy6 = false;
		e->req6 = NULL;
	} else {
		e->busy4 = false;
		e->req4 = NULL;
	}
	if (result == DNS_ERR_NONE && addresses != NULL && count > 0) {
		for (int i = 0; i < count; i++) {
			if (type == DNS_IPv4_A && e->nn4 < ADDRMAP_MAX_ADDRS)
				memcpy(e->n4[e->nn4++],
				    (const unsigned char *)addresses + 4 * i,
				    4);
			else if (type == DNS_IPv6_AAAA &&
			    e->nn6 < ADDRMAP_MAX_ADDRS)
				memcpy(e->n6[e->nn6++],
				    (const unsigned char *)addresses + 16 * i,
				    16);
		}
		if (e->ttl < 0 || ttl < e->ttl)
			e->ttl = ttl;
	}
	if (e->pending == 1 && e->nn4 + e->nn6 == 0 && e->map != NULL &&
	    e->res != NULL)
		addrmap_try_hosts(e);
	addrmap_query_done(e);
	addrmap_entry_unref(e);
}

static void
addrmap_on_a(
    int result, char type, int count, int ttl, void *addresses, void *arg)
{
	addrmap_on_answer(false, result, type, count, ttl, addresses, arg);
}

static void
addrmap_on_aaaa(
    int result, char type, int count, int ttl, void *addresses, void *arg)
{
	addrmap_on_answer(true, result, type, count, ttl, addresses, arg);
}

/* Starts a refresh of <e> through <r>: A and AAAA at once. */
static void
addrmap_refresh(struct addrmap_entry *e, struct resolver *r)
{
	struct evdns_request *req;

	if (e->pending > 0)
		return;
	e->res = resolver_ref(r);
	e->nn4 = e->nn6 = 0;
	e->ttl = -1;
	/* Both count before either may answer (even before returning). */
	e->pending = 2;
	e->refs += 2;
	e->busy4 = e->busy6 = true;
	req = evdns_base_resolve_ipv4(
	    r->dns, e->name, DNS_QUERY_NO_SEARCH, addrmap_on_a, e);
	if (e->busy4 && req != NULL) {
		e->req4 = req;
	} else if (e->busy4) {
		/* Not sent, and no callback will come. */
		e->busy4 = false;
		e->refs--;
		addrmap_query_done(e);
	}
	req = evdns_base_resolve_ipv6(
	    r->dns, e->name, DNS_QUERY_NO_SEARCH, addrmap_on_aaaa, e);
	if (e->busy6 && req != NULL) {
		e->req6 = req;
	} else if (e->busy6) {
		e->busy6 = false;
		e->refs--;
		if (e->pending == 1 && e->nn4 + e->nn6 == 0)
			addrmap_try_hosts(e);
		addrmap_query_done(e);
	}
}

/* Refreshes what expired, while the map is in use. */
static void
addrmap_on_timer(evutil_socket_t fd, short what, void *arg)
{
	struct addrmap *m = arg;
	time_t now = time(NULL);

	(void)fd;
	(void)what;
	if (now - m->last_used > ADDRMAP_IDLE_SEC) {
		m->started = false; /* the next lookup starts again */
		return;
	}
	for (size_t i = 0; i < m->n; i++) {
		if (m->e[i]->pending == 0 && now >= m->e[i]->expires)
			addrmap_refresh(m->e[i], m->res);
	}
	addrmap_arm(m, now);
}

static void
addrmap_on_wake(evutil_socket_t fd, short what, void *arg)
{
	struct addrmap *m = arg;

	(void)fd;
	(void)what;
	addrmap_wake(&m->waiters);
}

struct addrmap *
addrmap_new(
    struct event_base *base, struct resolver *r, const struct config *cfg)
{
	const struct {
		const struct responder *list;
		size_t n;
	} lists[] = {
	    {cfg->responders, cfg->nresponders},
	    {cfg->crl_hosts, cfg->ncrl_hosts},
	    {cfg->ca_issuer_hosts, cfg->nca_issuer_hosts},
	    {cfg->ctl_hosts, cfg->nctl_hosts},
	};
	struct addrmap *m = calloc(1, sizeof(*m));
	size_t total = 0;

	if (m == NULL)
		return NULL;
	m->base = base;
	m->res = resolver_ref(r);
	TAILQ_INIT(&m->waiters);
	for (size_t l = 0; l < sizeof(lists) / sizeof(lists[0]); l++)
		total += lists[l].n;
	if (total > 0 && (m->e = calloc(total, sizeof(*m->e))) == NULL)
		goto fail;
	for (size_t l = 0; l < sizeof(lists) / sizeof(lists[0]); l++) {
		for (size_t i = 0; i < lists[l].n; i++) {
			const struct responder *rp = &lists[l].list[i];
			struct addrmap_entry *e;
			bool dup = false;

			if (rp->wildcard)
				continue;
			for (size_t k = 0; k < m->n && !dup; k++)
				dup = m->e[k]->port == rp->port &&
				    strcasecmp(m->e[k]->name, rp->host) == 0;
			if (dup)
				continue;
			if ((e = calloc(1, sizeof(*e))) == NULL ||
			    (e->name = strdup(rp->host)) == NULL) {
				free(e);
				goto fail;
			}
			e->map = m;
			e->refs = 1;
			e->port = rp->port;
			m->e[m->n++] = e;
		}
	}
	if ((m->timer = evtimer_new(base, addrmap_on_timer, m)) == NULL ||
	    (m->wake = event_new(base, -1, 0, addrmap_on_wake, m)) == NULL)
		goto fail;
	return m;
fail:
	addrmap_free(m);
	return NULL;
}

void
addrmap_free(struct addrmap *m)
{
	if (m == NULL)
		return;
	for (size_t i = 0; i < m->n; i++) {
		struct addrmap_entry *e = m->e[i];

		e->map = NULL;
		/* The callbacks see DNS_ERR_CANCEL and drop their refs. */
		if (e->busy4 && e->req4 != NULL)
			evdns_cancel_request(e->res->dns, e->req4);
		if (e->busy6 && e->req6 != NULL)
			evdns_cancel_request(e->res->dns, e->req6);
		if (e->busy_hosts && e->gai != NULL)
			evdns_getaddrinfo_cancel(e->gai);
		e->req4 = e->req6 = NULL;
		e->gai = NULL;
		addrmap_entry_unref(e);
	}
	free(m->e);
	if (m->timer != NULL)
		event_free(m->timer);
	if (m->wake != NULL)
		event_free(m->wake);
	addrmap_wake(&m->waiters);
	resolver_unref(m->res);
	free(m);
}

static bool
addrmap_has(
    const struct addrmap_entry *e, int family, const unsigned char addr[16])
{
	if (family == AF_INET) {
		for (size_t i = 0; i < e->nv4; i++) {
			if (memcmp(e->v4[i], addr, 4) == 0)
				return true;
		}
		return false;
	}
	for (size_t i = 0; i < e->nv6; i++) {
		if (memcmp(e->v6[i], addr, 16) == 0)
			return true;
	}
	return false;
}

enum addrmap_result
addrmap_lookup(struct addrmap *m, const struct sockaddr *sa, uint16_t port,
    time_t now, const char **name)
{
	unsigned char addr[16];
	int family = cidr_key(sa, addr);
	bool pending = false;

	m->last_used = now;
	for (size_t i = 0; i < m->n; i++) {
		struct addrmap_entry *e = m->e[i];

		/* Expired or never asked: refresh, still using what it had. */
		if (e->pending == 0 && (!m->started || now >= e->expires))
			addrmap_refresh(e, m->res);
	}
	m->started = true;
	addrmap_arm(m, now);
	for (size_t i = 0; i < m->n; i++) {
		struct addrmap_entry *e = m->e[i];

		if (e->port == port && family != 0 &&
		    addrmap_has(e, family, addr)) {
			*name = e->name;
			return ADDRMAP_FOUND;
		}
		pending |= e->pending > 0;
	}
	return pending ? ADDRMAP_PENDING : ADDRMAP_MISSING;
}

void
addrmap_wait(struct addrmap *m, struct addrmap_waiter *w)
{
	addrmap_unwait(w);
	TAILQ_INSERT_TAIL(&m->waiters, w, entry);
	w->list = &m->waiters;
}

void
addrmap_unwait(struct addrmap_waiter *w)
{
	if (w->list == NULL)
		return;
	TAILQ_REMOVE(w->list, w, entry);
	w->list = NULL;
}
