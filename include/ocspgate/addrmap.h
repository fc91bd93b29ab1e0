/*
 * The addresses the listed hosts resolve to, with ocspgate's own
 * resolver, kept by their DNS TTL: an HTTP/1.0 request without Host on a
 * redirected connection is addressed to the listed host whose addresses
 * hold the client's original destination. One map per worker; lookups
 * never wait on the network: a request waits for a refresh in flight
 * through addrmap_wait(), bounded by the caller's own timer.
 */
#ifndef OCSPGATE_ADDRMAP_H
#define OCSPGATE_ADDRMAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/queue.h>
#include <sys/socket.h>
#include <time.h>

#define ADDRMAP_MAX_ADDRS   16    /* per name and family */
#define ADDRMAP_TTL_MIN_SEC 30    /* a shorter TTL is read as this */
#define ADDRMAP_TTL_MAX_SEC 86400 /* a longer one as this */
#define ADDRMAP_HOSTS_SEC   300   /* names from the hosts file */
#define ADDRMAP_RETRY_SEC   60    /* after a failed lookup */
#define ADDRMAP_IDLE_SEC    3600  /* unused this long: not refreshed */

struct addrmap;
struct config;
struct event_base;
struct resolver;

/* A request waiting for lookups in flight; owned by the caller. */
struct addrmap_waiter {
	TAILQ_ENTRY(addrmap_waiter) entry;
	struct addrmap_waiters *list; /* the list it is on, or NULL */
	void (*cb)(void *arg);
	void *arg;
};
TAILQ_HEAD(addrmap_waiters, addrmap_waiter);

enum addrmap_result {
	ADDRMAP_MISSING = 0, /* no listed host has this address */
	ADDRMAP_FOUND,
	ADDRMAP_PENDING /* not known yet: lookups are in flight */
};

/*
 * A map on <base> of the hosts <cfg> lists without a wildcard:
 * responders first, then crl_hosts, ca_issuer_hosts and ctl_hosts, in
 * the order written, each with its port, resolved through <r> (a
 * reference is taken). Nothing is resolved before the first lookup.
 * Returns NULL when out of memory.
 */
struct addrmap *addrmap_new(
    struct event_base *base, struct resolver *r, const struct config *cfg);

/*
 * Cancels the lookups in flight and frees the map; entries still looked
 * up go when their cancelled callbacks run (the next loop pass). Waiters
 * are called once, so that they look again (in another map). Takes NULL.
 */
void addrmap_free(struct addrmap *m);

/*
 * Which listed host resolves to <sa>'s address (port <port>)? Starts or
 * refreshes lookups as needed, never waits. On
 * ADDRMAP_FOUND, *name is the host as listed, valid until the map is
 * freed. ADDRMAP_PENDING: ask again once a waiter is called.
 */
enum addrmap_result addrmap_lookup(struct addrmap *m, const struct sockaddr *sa,
    uint16_t port, time_t now, const char **name);

/* Calls <w>->cb once the next lookup in flight finishes. */
void addrmap_wait(struct addrmap *m, struct addrmap_waiter *w);

/* Takes <w> off its list, if it is on one. */
void addrmap_unwait(struct addrmap_waiter *w);

#endif
