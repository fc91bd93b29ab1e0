/*
 * Reverse DNS for source attribution: a bounded cache of PTR answers,
 * filled by asynchronous lookups that never hold up a request. A request
 * logs the name only if the answer is already there.
 */
#ifndef OCSPGATE_RDNS_H
#define OCSPGATE_RDNS_H

#include <stdbool.h>
#include <sys/socket.h>
#include <time.h>

#define RDNS_CACHE_SLOTS  4096 /* direct-mapped: a new address evicts */
#define RDNS_TTL_MIN_SEC  60
#define RDNS_TTL_MAX_SEC  3600
#define RDNS_NEGATIVE_SEC 300 /* no name, or the lookup failed */

struct rdns_cache;
struct resolver;

struct rdns_cache *rdns_new(void);

/*
 * Cancels lookups in flight. Their callbacks are deferred to the next
 * loop pass, which must run before rdns_free(). Takes NULL.
 */
void rdns_cancel(struct rdns_cache *c);

/* Frees the cache (after rdns_cancel() and a loop pass). Takes NULL. */
void rdns_free(struct rdns_cache *c);

/*
 * The cached name of <sa>, NULL when none is known (yet). With <start>,
 * a lookup through <r> begins when the address is not cached and its
 * slot is not busy with another lookup.
 */
const char *rdns_get(struct rdns_cache *c, struct resolver *r,
    const struct sockaddr *sa, time_t now, bool start);

#endif
