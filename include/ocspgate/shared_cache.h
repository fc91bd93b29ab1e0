/*
 * The RFC 5019 cache of one process, shared by all its workers: a hit
 * does not depend on which worker took the connection, and the upstream
 * is asked once per answer, not once per worker. Shards of ocsp_cache
 * (cache.h), each under a mutex of its own; the shard of a key is chosen
 * by a hash keyed apart from the shards' own.
 *
 * The entries belong to one config: the one last given to
 * shared_cache_configure(). A put or get for a request that runs under
 * another config (a worker not yet switched at a reload, a request in
 * flight across it) is refused or misses, so an answer stored under
 * other settings (responders, verify_responses) is never served under
 * new ones, whatever order the workers switch in.
 */
#ifndef OCSPGATE_SHARED_CACHE_H
#define OCSPGATE_SHARED_CACHE_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#include "ocspgate/cache.h"

struct config;
struct shared_cache;

/*
 * An empty cache that stores nothing until configured. Returns NULL
 * when out of memory. Free with shared_cache_free().
 */
struct shared_cache *shared_cache_new(void);

/* Frees it and every entry; no thread may use it any more. Takes NULL. */
void shared_cache_free(struct shared_cache *sc);

/*
 * Makes <cfg> the config whose requests the cache serves (a reference is
 * taken, the previous one's given back): when it is not already, every
 * entry goes and the cache is cut into ocsp_cache_shards(cache_size)
 * shards of cache_size / shards bytes each (cache_size 0: off). Several
 * workers may call it with the same config, one after another or at
 * once: the first one empties, the others do nothing. Out of memory, the
 * shards that could not be made store nothing.
 */
void shared_cache_configure(struct shared_cache *sc, struct config *cfg);

/*
 * Called with the entry found, under its shard's lock: copy what is
 * needed (the entry and its body are valid only during the call), do not
 * block and do not call into the cache. Returns true when the hit was
 * used.
 */
typedef bool (*shared_cache_copy_fn)(
    void *arg, const struct ocsp_cache_entry *e);

/*
 * Looks up the answer to <req> (reqlen bytes) from <responder> (rlen
 * bytes) for a request under <cfg>, as ocsp_cache_get() does at <now>,
 * and on a hit calls <copy>(arg, entry). Returns what copy returned;
 * false on a miss, an expired entry, a cache that is off or serves
 * another config.
 */
bool shared_cache_get(struct shared_cache *sc, const struct config *cfg,
    const char *responder, size_t rlen, const unsigned char *req, size_t reqlen,
    time_t now, shared_cache_copy_fn copy, void *arg);

/*
 * Stores a copy of <resp> as the answer to <req> from <responder> for a
 * request under <cfg>, as ocsp_cache_put() does (one entry at most an
 * eighth of its shard). Returns 0 when stored; -1 when refused (see
 * ocsp_cache_put()), or when the cache is off or serves another config.
 */
int shared_cache_put(struct shared_cache *sc, const struct config *cfg,
    const char *responder, size_t rlen, const unsigned char *req, size_t reqlen,
    const unsigned char *resp, size_t resplen, const struct ocsp_cache_times *t,
    time_t now);

/*
 * The figures over all shards, one shard locked at a time (so a sum,
 * not one instant): entries and bytes held, max_bytes (what the config
 * gave, the sum of the shards' bounds), hits and misses of the current
 * config, and evictions and expired since the cache was made (carried
 * across reloads: they are counters). All zeros for a NULL <sc>.
 */
void shared_cache_stats(struct shared_cache *sc, struct ocsp_cache_stats *st);

#endif
