/*
 * A worker's DNS resolver (evdns): the config's servers and hosts file.
 * Lookups (upstream targets, the address map, reverse DNS) each hold a
 * reference, so a reload can bring a new resolver while lookups on the
 * old one finish.
 */
#ifndef OCSPGATE_RESOLVER_H
#define OCSPGATE_RESOLVER_H

#include <stddef.h>

struct config;
struct event;
struct event_base;
struct evdns_base;

/*
 * A resolver built from one config (its hosts file and servers). A
 * lookup holds a reference, so a reload can bring a new resolver while
 * lookups on the old one finish.
 */
struct resolver {
	struct evdns_base *dns;
	unsigned refs;
	struct event *free_ev; /* frees it from the loop, after the last ref */
};

/*
 * A resolver on <base> for <cfg>'s servers and hosts file. Returns NULL
 * with a message in <err>.
 */
struct resolver *resolver_new(struct event_base *base, const struct config *cfg,
    char *err, size_t errlen);
struct resolver *resolver_ref(struct resolver *r);
/*
 * Drops a reference (takes NULL). The last one frees the resolver on the
 * next pass of its loop, never inside one of its own callbacks.
 */
void resolver_unref(struct resolver *r);

#endif
