/*
 * A worker's DNS resolver (evdns): the config's servers and hosts file.
 * Lookups (upstream targets, the address map, reverse DNS) each hold a
 * reference, so a reload can bring a new resolver while lookups on the
 * old one finish; once the last one went, the old one is freed between
 * passes of the loop, when nothing of it can run any more.
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
	struct resolver **retired; /* joined at the last unref; NULL: freed */
	struct resolver *next;     /* on that list */
};

/*
 * A resolver on <base> for <cfg>'s servers and hosts file. Returns NULL
 * with a message in <err>.
 */
struct resolver *resolver_new(struct event_base *base, const struct config *cfg,
    char *err, size_t errlen);
struct resolver *resolver_ref(struct resolver *r);

/*
 * Drops a reference (takes NULL). At the last one, the resolver joins
 * the list resolver_retire_to() gave it, for resolver_reap() to free;
 * without a list it is freed at once, which is safe only for one that
 * never looked anything up (a config check).
 */
void resolver_unref(struct resolver *r);

/*
 * Where <r> goes when its last reference does: <*list>, a list of
 * retired resolvers of its loop (start with NULL), freed by
 * resolver_reap(). Every resolver that looks names up needs one.
 */
void resolver_retire_to(struct resolver *r, struct resolver **list);

/*
 * Frees the resolvers on <*list> when nothing is active or scheduled on
 * <base> (no callback, deferred ones included); otherwise keeps them for
 * a later call. Call it only between passes of <base>'s loop (after
 * event_base_loop() returned), never from a callback. Returns how many
 * are left on the list: 0 once they are freed.
 *
 * Why: libevent 2.1.12 cannot cancel a nameserver probe's callback once
 * it is scheduled (a probe's answer or timeout read in this pass runs it
 * in the next), and that callback uses the nameserver freeing the evdns
 * base frees. With nothing scheduled, no such callback exists, and the
 * base is freed without failing its requests (which would schedule the
 * probe's callback anew): a retired resolver has no lookups left, each
 * held a reference.
 */
size_t resolver_reap(struct event_base *base, struct resolver **list);

#endif
