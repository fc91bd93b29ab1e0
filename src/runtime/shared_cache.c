/*
 * The process's RFC 5019 cache: shards of ocsp_cache, each under its own
 * mutex, tagged with the config their entries were stored under. No I/O
 * but getrandom() for the seeds; callers are worker threads and the
 * admin thread.
 *
 * Why it is free of data races (what ThreadSanitizer would check):
 * - A shard's ocsp_cache and its <cfg> tag are read and written only with
 *   the shard's lock held, and an entry handed to a caller's copy
 *   function is read only while that lock is still held.
 * - sc->cfg and the carried counters are touched only under config_lock;
 *   callers of get and put never read them. sc->seed is written once,
 *   before the cache is handed to any other thread, and only read after.
 * - The shard a key goes to is computed from the caller's own config
 *   (its cache_size gives the count of shards) and the seed, and the
 *   shard's tag, read under its lock, decides whether the caller may use
 *   it: a caller that races a configure either finds its config in the
 *   tag (the shard was switched already, to the same count of shards,
 *   since the same config) or misses.
 * - A tag is a config pointer compared, never followed. It cannot stand
 *   for another config reusing the address: the cache holds a reference
 *   to the config its shards are tagged with, and a caller holds one to
 *   its own, so neither address is freed while compared.
 */
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

#include "ocspgate/cache.h"
#include "ocspgate/config.h"
#include "ocspgate/shared_cache.h"

struct shared_cache_shard {
	pthread_mutex_t lock;
	struct ocsp_cache *cache; /* NULL: stores nothing */
	const struct config *cfg; /* its entries were stored under it */
};

struct shared_cache {
	pthread_mutex_t config_lock; /* configure and stats */
	struct config *cfg;          /* referenced; NULL before configure */
	uint64_t seed;               /* picks a key's shard; never changes */
	uint64_t evictions, expired; /* of caches dropped at reloads */
	struct shared_cache_shard shard[OCSP_CACHE_SHARDS_MAX];
};

static uint64_t
shared_cache_seed(const void *salt)
{
	uint64_t seed;

	if (getrandom(&seed, sizeof(seed), 0) != (ssize_t)sizeof(seed))
		seed = (uint64_t)(uintptr_t)salt ^ (uint64_t)time(NULL) ^
		    (uint64_t)clock();
	return seed;
}

struct shared_cache *
shared_cache_new(void)
{
	struct shared_cache *sc;

	if ((sc = calloc(1, sizeof(*sc))) == NULL)
		return NULL;
	pthread_mutex_init(&sc->config_lock, NULL);
	for (size_t i = 0; i < OCSP_CACHE_SHARDS_MAX; i++)
		pthread_mutex_init(&sc->shard[i].lock, NULL);
	sc->seed = shared_cache_seed(sc);
	return sc;
}

void
shared_cache_free(struct shared_cache *sc)
{
	if (sc == NULL)
		return;
	for (size_t i = 0; i < OCSP_CACHE_SHARDS_MAX; i++) {
		ocsp_cache_free(sc->shard[i].cache);
		pthread_mutex_destroy(&sc->shard[i].lock);
	}
	config_unref(sc->cfg);
	pthread_mutex_destroy(&sc->config_lock);
	free(sc);
}

void
shared_cache_configure(struct shared_cache *sc, struct config *cfg)
{
	struct ocsp_cache *fresh[OCSP_CACHE_SHARDS_MAX] = {NULL};
	size_t n, bytes;

	pthread_mutex_lock(&sc->config_lock);
	/*
	 * A worker late to a reload (or whose switch to a newer config
	 * failed) applies an older config after another applied the newer:
	 * the cache stays the newer one's.
	 */
	if (sc->cfg == cfg ||
	    (sc->cfg != NULL && cfg->generation < sc->cfg->generation)) {
		pthread_mutex_unlock(&sc->config_lock);
		return;
	}
	n = ocsp_cache_shards(cfg->cache_size);
	bytes = cfg->cache_size / n;
	/* Made before any shard is locked: no malloc under a shard lock. */
	for (size_t i = 0; i < n && bytes > 0; i++)
		fresh[i] = ocsp_cache_new(bytes, shared_cache_seed(&fresh[i]));
	for (size_t i = 0; i < OCSP_CACHE_SHARDS_MAX; i++) {
		struct shared_cache_shard *sh = &sc->shard[i];
		struct ocsp_cache *old;
		struct ocsp_cache_stats st;

		pthread_mutex_lock(&sh->lock);
		old = sh->cache;
		if (old != NULL) {
			ocsp_cache_stats(old, &st);
			sc->evictions += st.evictions;
			sc->expired += st.expired;
		}
		sh->cache = fresh[i];
		sh->cfg = cfg;
		pthread_mutex_unlock(&sh->lock);
		/* Nobody can reach it now: freed outside the lock. */
		ocsp_cache_free(old);
	}
	config_ref(cfg);
	config_unref(sc->cfg);
	sc->cfg = cfg;
	pthread_mutex_unlock(&sc->config_lock);
}

/*
 * The shard holding the key for a request under <cfg>, locked; NULL
 * (nothing locked) when the cache is off for it or serves another
 * config. The count of shards comes from the caller's own config, the
 * same count configure() gave the shards tagged with that config.
 */
static struct shared_cache_shard *
shared_cache_lock(struct shared_cache *sc, const struct config *cfg,
    const char *responder, size_t rlen, const unsigned char *req, size_t reqlen)
{
	struct shared_cache_shard *sh;
	size_t i;

	if (cfg->cache_size == 0)
		return NULL;
	i = ocsp_cache_shard_of(sc->seed, ocsp_cache_shards(cfg->cache_size),
	    responder, rlen, req, reqlen);
	sh = &sc->shard[i];
	pthread_mutex_lock(&sh->lock);
	if (sh->cfg != cfg || sh->cache == NULL) {
		pthread_mutex_unlock(&sh->lock);
		return NULL;
	}
	return sh;
}

bool
shared_cache_get(struct shared_cache *sc, const struct config *cfg,
    const char *responder, size_t rlen, const unsigned char *req, size_t reqlen,
    time_t now, shared_cache_copy_fn copy, void *arg)
{
	struct shared_cache_shard *sh;
	const struct ocsp_cache_entry *e;
	bool used = false;

	if ((sh = shared_cache_lock(sc, cfg, responder, rlen, req, reqlen)) ==
	    NULL)
		return false;
	e = ocsp_cache_get(sh->cache, responder, rlen, req, reqlen, now);
	/* The entry lives until the next put on this shard: copied now. */
	if (e != NULL)
		used = copy(arg, e);
	pthread_mutex_unlock(&sh->lock);
	return used;
}

int
shared_cache_put(struct shared_cache *sc, const struct config *cfg,
    const char *responder, size_t rlen, const unsigned char *req, size_t reqlen,
    const unsigned char *resp, size_t resplen, const struct ocsp_cache_times *t,
    time_t now)
{
	struct shared_cache_shard *sh;
	int rc;

	if ((sh = shared_cache_lock(sc, cfg, responder, rlen, req, reqlen)) ==
	    NULL)
		return -1;
	rc = ocsp_cache_put(
	    sh->cache, responder, rlen, req, reqlen, resp, resplen, t, now);
	pthread_mutex_unlock(&sh->lock);
	return rc;
}

void
shared_cache_stats(struct shared_cache *sc, struct ocsp_cache_stats *st)
{
	memset(st, 0, sizeof(*st));
	if (sc == NULL)
		return;
	/* config_lock first, as configure takes it: no shard changes hands
	 * between two shards read. */
	pthread_mutex_lock(&sc->config_lock);
	st->evictions = sc->evictions;
	st->expired = sc->expired;
	for (size_t i = 0; i < OCSP_CACHE_SHARDS_MAX; i++) {
		struct shared_cache_shard *sh = &sc->shard[i];
		struct ocsp_cache_stats one;

		pthread_mutex_lock(&sh->lock);
		if (sh->cache != NULL) {
			ocsp_cache_stats(sh->cache, &one);
			st->entries += one.entries;
			st->bytes += one.bytes;
			st->max_bytes += one.max_bytes;
			st->evictions += one.evictions;
			st->expired += one.expired;
			st->hits += one.hits;
			st->misses += one.misses;
		}
		pthread_mutex_unlock(&sh->lock);
	}
	pthread_mutex_unlock(&sc->config_lock);
}
