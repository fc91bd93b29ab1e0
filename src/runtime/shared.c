/*
 * The state a process's workers share, each part under its own locks:
 * connections per source (one hash table, taken at accept and close
 * only), the behaviour alerts (shards by source address) and the RFC
 * 5019 cache (shared_cache.c). No I/O.
 */
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ocspgate/alert.h"
#include "ocspgate/cidr.h"
#include "ocspgate/config.h"
#include "ocspgate/hash.h"
#include "ocspgate/shared.h"
#include "ocspgate/shared_cache.h"

#define SHARED_SOURCE_BUCKETS 4096
#define SHARED_ALERT_SHARDS   16 /* locks over the alert state */

struct shared_source {
	struct shared_source *next;
	int family;
	unsigned char addr[16];
	unsigned count;
};

struct shared_alert_shard {
	pthread_mutex_t lock;
	struct alert_engine *engine;
};

struct shared {
	size_t nworkers;
	pthread_mutex_t sources_lock; /* max_connections_per_source */
	struct shared_source **sources;
	struct shared_alert_shard shard[SHARED_ALERT_SHARDS];
	struct shared_cache *cache; /* the RFC 5019 cache */
};

/* ------------------------------------------------------------------ */
/* Connections per source, over all workers */

static struct shared_source **
shared_source_find(struct shared *sh, const struct shared_source_key *k)
{
	struct shared_source **pp;
	uint32_t h = hash_fnv1a32(HASH_FNV32_INIT, k->addr, 16);

	pp = &sh->sources[h % SHARED_SOURCE_BUCKETS];
	while (*pp != NULL &&
	    ((*pp)->family != k->family ||
	        memcmp((*pp)->addr, k->addr, 16) != 0))
		pp = &(*pp)->next;
	return pp;
}

bool
shared_source_acquire(struct shared *sh, const struct config *cfg,
    const struct sockaddr *sa, struct shared_source_key *key)
{
	struct shared_source_key k;
	struct shared_source **pp, *slot;
	bool ok = true;

	memset(key, 0, sizeof(*key));
	if (sh == NULL)
		return true;
	if ((k.family = cidr_key(sa, k.addr)) == 0)
		return true;
	cidr_group(k.family, k.addr, cfg->source_ipv6_prefix);
	pthread_mutex_lock(&sh->sources_lock);
	pp = shared_source_find(sh, &k);
	if ((slot = *pp) == NULL) {
		/* No memory to count with: do not refuse. */
		if ((slot = calloc(1, sizeof(*slot))) == NULL)
			goto out;
		slot->family = k.family;
		memcpy(slot->addr, k.addr, 16);
		*pp = slot;
	}
	if (cfg->max_connections_per_source != 0 &&
	    slot->count >= cfg->max_connections_per_source) {
		if (slot->count == 0) {
			*pp = slot->next;
			free(slot);
		}
		ok = false;
		goto out;
	}
	slot->count++;
	*key = k;
out:
	pthread_mutex_unlock(&sh->sources_lock);
	return ok;
}

void
shared_source_release(struct shared *sh, const struct shared_source_key *key)
{
	struct shared_source **pp, *slot;

	if (sh == NULL || key->family == 0)
		return;
	pthread_mutex_lock(&sh->sources_lock);
	pp = shared_source_find(sh, key);
	if ((slot = *pp) != NULL && --slot->count == 0) {
		*pp = slot->next;
		free(slot);
	}
	pthread_mutex_unlock(&sh->sources_lock);
}

/* ------------------------------------------------------------------ */
/* Behaviour alerts */

/* The config's thresholds; each shard tracks its part of the sources. */
static void
shared_alert_config(const struct config *cfg, struct alert_config *a)
{
	*a = cfg->alerts;
	a->ipv6_prefix = cfg->source_ipv6_prefix;
	a->max_tracked_sources =
	    (cfg->alerts.max_tracked_sources + SHARED_ALERT_SHARDS - 1) /
	    SHARED_ALERT_SHARDS;
}

void
shared_configure(struct shared *sh, const struct config *cfg)
{
	struct alert_config ac;

	if (sh == NULL)
		return;
	shared_alert_config(cfg, &ac);
	for (size_t i = 0; i < SHARED_ALERT_SHARDS; i++) {
		pthread_mutex_lock(&sh->shard[i].lock);
		alert_engine_configure(sh->shard[i].engine, &ac);
		pthread_mutex_unlock(&sh->shard[i].lock);
	}
}

size_t
shared_alerts_observe(struct shared *sh, const struct alert_observation *o,
    struct alert *out, size_t max)
{
	struct shared_alert_shard *s;
	size_t n;

	if (sh == NULL)
		return 0;
	s = &sh->shard[alert_source_hash(&o->source) % SHARED_ALERT_SHARDS];
	pthread_mutex_lock(&s->lock);
	n = alert_observe(s->engine, o, out, max);
	pthread_mutex_unlock(&s->lock);
	return n;
}

void
shared_alert_stats(struct shared *sh, uint64_t *sources, uint64_t *evictions)
{
	*sources = *evictions = 0;
	if (sh == NULL)
		return;
	for (size_t i = 0; i < SHARED_ALERT_SHARDS; i++) {
		struct alert_stats st;

		pthread_mutex_lock(&sh->shard[i].lock);
		alert_engine_stats(sh->shard[i].engine, &st);
		pthread_mutex_unlock(&sh->shard[i].lock);
		*sources += st.sources;
		*evictions += st.evictions;
	}
}

struct shared_cache *
shared_ocsp_cache(struct shared *sh)
{
	return sh != NULL ? sh->cache : NULL;
}

/* ------------------------------------------------------------------ */

void
shared_set_workers(struct shared *sh, size_t n)
{
	sh->nworkers = n;
}

size_t
shared_workers(const struct shared *sh)
{
	/* No workers yet: one server, in the caller's thread. */
	return sh != NULL && sh->nworkers > 0 ? sh->nworkers : 1;
}

struct shared *
shared_new(const struct config *cfg)
{
	struct shared *sh;
	struct alert_config ac;

	if ((sh = calloc(1, sizeof(*sh))) == NULL)
		return NULL;
	pthread_mutex_init(&sh->sources_lock, NULL);
	for (size_t i = 0; i < SHARED_ALERT_SHARDS; i++)
		pthread_mutex_init(&sh->shard[i].lock, NULL);
	shared_alert_config(cfg, &ac);
	if ((sh->sources = calloc(
	         SHARED_SOURCE_BUCKETS, sizeof(*sh->sources))) == NULL)
		goto fail;
	if ((sh->cache = shared_cache_new()) == NULL)
		goto fail;
	for (size_t i = 0; i < SHARED_ALERT_SHARDS; i++) {
		if ((sh->shard[i].engine = alert_engine_new(&ac)) == NULL)
			goto fail;
	}
	return sh;
fail:
	shared_free(sh);
	return NULL;
}

void
shared_free(struct shared *sh)
{
	if (sh == NULL)
		return;
	shared_cache_free(sh->cache);
	for (size_t i = 0; i < SHARED_ALERT_SHARDS; i++) {
		alert_engine_free(sh->shard[i].engine);
		pthread_mutex_destroy(&sh->shard[i].lock);
	}
	if (sh->sources != NULL) {
		for (size_t i = 0; i < SHARED_SOURCE_BUCKETS; i++) {
			while (sh->sources[i] != NULL) {
				struct shared_source *next =
				    sh->sources[i]->next;

				free(sh->sources[i]);
				sh->sources[i] = next;
			}
		}
		free(sh->sources);
	}
	pthread_mutex_destroy(&sh->sources_lock);
	free(sh);
}
