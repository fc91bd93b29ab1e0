/*
 * The OCSP response cache: a hash table keyed with SipHash-1-3 (seeded
 * per cache, against hash flooding) over an LRU list, bounded in bytes,
 * plus the RFC 5019 helpers around it (Cache-Control, expiry).
 * Pure: no I/O, no clock, no globals; no locking: one cache is one shard,
 * and whoever shares it holds its lock (see shared_cache.c).
 */
#include <endian.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ocspgate/cache.h"
#include "ocspgate/hash.h"

#define CACHE_INITIAL_BUCKETS 64
#define CACHE_KEY_SEPARATOR   '\0'

_Static_assert((time_t)-1 < 0, "time_t must be a signed type");
#define CACHE_TIME_MAX                                                         \
	((time_t)(sizeof(time_t) == 8 ? (time_t)INT64_MAX : (time_t)INT32_MAX))

/*
 * One stored response, in one allocation: the node, then the key
 * (responder, separator, request) and the body in data[].
 */
struct cache_node {
	struct ocsp_cache_entry e;      /* first: handed to callers */
	struct cache_node *hnext;       /* next in the hash chain */
	struct cache_node *prev, *next; /* LRU list, newest at head */
	uint64_t hash;
	size_t rlen;
	size_t reqlen;
	size_t cost;
	unsigned char data[];
};

struct ocsp_cache {
	struct cache_node **buckets;
	size_t nbuckets; /* a power of two */
	struct cache_node *head, *tail;
	size_t entries;
	size_t bytes;
	size_t max_bytes;
	uint64_t k0, k1; /* SipHash key */
	uint64_t evictions, expired, hits, misses;
};

/* Incremental SipHash-1-3: the key is hashed in pieces, without a copy. */
struct cache_sip {
	uint64_t v0, v1, v2, v3;
	uint64_t tail; /* pending bytes, little-endian */
	unsigned ntail;
	uint64_t total;
};

#define CACHE_ROTL(x, b) (uint64_t)(((x) << (b)) | ((x) >> (64 - (b))))

static void
cache_sip_round(struct cache_sip *s)
{
	s->v0 += s->v1;
	s->v1 = CACHE_ROTL(s->v1, 13);
	s->v1 ^= s->v0;
	s->v0 = CACHE_ROTL(s->v0, 32);
	s->v2 += s->v3;
	s->v3 = CACHE_ROTL(s->v3, 16);
	s->v3 ^= s->v2;
	s->v0 += s->v3;
	s->v3 = CACHE_ROTL(s->v3, 21);
	s->v3 ^= s->v0;
	s->v2 += s->v1;
	s->v1 = CACHE_ROTL(s->v1, 17);
	s->v1 ^= s->v2;
	s->v2 = CACHE_ROTL(s->v2, 32);
}

static void
cache_sip_block(struct cache_sip *s, uint64_t m)
{
	s->v3 ^= m;
	cache_sip_round(s);
	s->v0 ^= m;
}

static void
cache_sip_init(struct cache_sip *s, uint64_t k0, uint64_t k1)
{
	s->v0 = UINT64_C(0x736f6d6570736575) ^ k0;
	s->v1 = UINT64_C(0x646f72616e646f6d) ^ k1;
	s->v2 = UINT64_C(0x6c7967656e657261) ^ k0;
	s->v3 = UINT64_C(0x7465646279746573) ^ k1;
	s->tail = 0;
	s->ntail = 0;
	s->total = 0;
}

static void
cache_sip_update(struct cache_sip *s, const unsigned char *p, size_t len)
{
	/*
	 * On a copy: <p>'s bytes may alias anything *s is, so the state
	 * would be stored and loaded again around each byte read.
	 */
	struct cache_sip t = *s;

	t.total += len;
	while (len > 0 && t.ntail != 0) {
		t.tail |= (uint64_t)*p++ << (8 * t.ntail);
		len--;
		if (++t.ntail == 8) {
			cache_sip_block(&t, t.tail);
			t.tail = 0;
			t.ntail = 0;
		}
	}
	for (; len >= 8; p += 8, len -= 8) {
		uint64_t m;

		memcpy(&m, p, sizeof(m));
		cache_sip_block(&t, le64toh(m));
	}
	for (; len > 0; len--, t.ntail++)
		t.tail |= (uint64_t)*p++ << (8 * t.ntail);
	*s = t;
}

static uint64_t
cache_sip_final(struct cache_sip *s)
{
	cache_sip_block(s, s->tail | (s->total << 56));
	s->v2 ^= 0xff;
	for (int i = 0; i < 3; i++)
		cache_sip_round(s);
	return s->v0 ^ s->v1 ^ s->v2 ^ s->v3;
}

/* Spreads a 64-bit seed into the second half of the SipHash key
 * (splitmix64: a step of its sequence, then its output function). */
static uint64_t
cache_splitmix64(uint64_t x)
{
	return hash_mix64(x + UINT64_C(0x9e3779b97f4a7c15));
}

static uint64_t
cache_key_hash(uint64_t k0, uint64_t k1, const char *responder, size_t rlen,
    const unsigned char *req, size_t reqlen)
{
	static const unsigned char sep = CACHE_KEY_SEPARATOR;
	struct cache_sip s;

	cache_sip_init(&s, k0, k1);
	cache_sip_update(&s, (const unsigned char *)responder, rlen);
	cache_sip_update(&s, &sep, 1);
	cache_sip_update(&s, req, reqlen);
	return cache_sip_final(&s);
}

static uint64_t
cache_hash(const struct ocsp_cache *c, const char *responder, size_t rlen,
    const unsigned char *req, size_t reqlen)
{
	return cache_key_hash(c->k0, c->k1, responder, rlen, req, reqlen);
}

struct ocsp_cache *
ocsp_cache_new(size_t max_bytes, uint64_t seed)
{
	struct ocsp_cache *c;

	if ((c = calloc(1, sizeof(*c))) == NULL)
		return NULL;
	c->buckets = calloc(CACHE_INITIAL_BUCKETS, sizeof(struct cache_node *));
	if (c->buckets == NULL) {
		free(c);
		return NULL;
	}
	c->nbuckets = CACHE_INITIAL_BUCKETS;
	c->max_bytes = max_bytes;
	c->k0 = seed;
	c->k1 = cache_splitmix64(seed);
	return c;
}

void
ocsp_cache_free(struct ocsp_cache *c)
{
	struct cache_node *n, *next;

	if (c == NULL)
		return;
	for (n = c->head; n != NULL; n = next) {
		next = n->next;
		free(n);
	}
	free(c->buckets);
	free(c);
}

/* Takes <n> out of its hash chain and the LRU list, and frees it. */
static void
cache_remove(struct ocsp_cache *c, struct cache_node *n)
{
	struct cache_node **pp;

	for (pp = &c->buckets[n->hash & (c->nbuckets - 1)]; *pp != n;
	     pp = &(*pp)->hnext)
		;
	*pp = n->hnext;
	if (n->prev != NULL)
		n->prev->next = n->next;
	else
		c->head = n->next;
	if (n->next != NULL)
		n->next->prev = n->prev;
	else
		c->tail = n->prev;
	c->entries--;
	c->bytes -= n->cost;
	free(n);
}

static void
cache_lru_push_front(struct ocsp_cache *c, struct cache_node *n)
{
	n->prev = NULL;
	n->next = c->head;
	if (c->head != NULL)
		c->head->prev = n;
	else
		c->tail = n;
	c->head = n;
}

static void
cache_lru_touch(struct ocsp_cache *c, struct cache_node *n)
{
	if (c->head == n)
		return;
	n->prev->next = n->next;
	if (n->next != NULL)
		n->next->prev = n->prev;
	else
		c->tail = n->prev;
	cache_lru_push_front(c, n);
}

static struct cache_node *
cache_find(const struct ocsp_cache *c, uint64_t hash, const char *responder,
    size_t rlen, const unsigned char *req, size_t reqlen)
{
	struct cache_node *n;

	for (n = c->buckets[hash & (c->nbuckets - 1)]; n != NULL;
	     n = n->hnext) {
		if (n->hash == hash && n->rlen == rlen && n->reqlen == reqlen &&
		    (rlen == 0 || memcmp(n->data, responder, rlen) == 0) &&
		    (reqlen == 0 ||
		        memcmp(n->data + rlen + 1, req, reqlen) == 0))
			return n;
	}
	return NULL;
}

/*
 * Doubles the bucket array once there are more entries than buckets.
 * Failing to grow is harmless: chains just get longer.
 */
static void
cache_grow(struct ocsp_cache *c)
{
	struct cache_node **nb, *n, *next;
	size_t nbuckets;

	if (c->entries <= c->nbuckets ||
	    c->nbuckets > SIZE_MAX / 2 / sizeof(struct cache_node *))
		return;
	nbuckets = c->nbuckets * 2;
	if ((nb = calloc(nbuckets, sizeof(struct cache_node *))) == NULL)
		return;
	for (size_t i = 0; i < c->nbuckets; i++) {
		for (n = c->buckets[i]; n != NULL; n = next) {
			next = n->hnext;
			n->hnext = nb[n->hash & (nbuckets - 1)];
			nb[n->hash & (nbuckets - 1)] = n;
		}
	}
	free(c->buckets);
	c->buckets = nb;
	c->nbuckets = nbuckets;
}

/* Evicts from the LRU tail until <need> more bytes fit under the bound. */
static void
cache_make_room(struct ocsp_cache *c, size_t need, time_t now, bool have_now)
{
	while (c->tail != NULL && c->bytes > c->max_bytes - need) {
		if (have_now && now >= c->tail->e.expires)
			c->expired++;
		else
			c->evictions++;
		cache_remove(c, c->tail);
	}
}

void
ocsp_cache_resize(struct ocsp_cache *c, size_t max_bytes)
{
	c->max_bytes = max_bytes;
	cache_make_room(c, 0, 0, false);
}

size_t
ocsp_cache_entry_cost(size_t rlen, size_t reqlen, size_t resplen)
{
	size_t cost = sizeof(struct cache_node) + 1;

	if (rlen > SIZE_MAX - cost)
		return SIZE_MAX;
	cost += rlen;
	if (reqlen > SIZE_MAX - cost)
		return SIZE_MAX;
	cost += reqlen;
	if (resplen > SIZE_MAX - cost)
		return SIZE_MAX;
	return cost + resplen;
}

int
ocsp_cache_put(struct ocsp_cache *c, const char *responder, size_t rlen,
    const unsigned char *req, size_t reqlen, const unsigned char *resp,
    size_t resplen, const struct ocsp_cache_times *t, time_t now)
{
	struct cache_node *n;
	uint64_t hash;
	size_t cost;

	hash = cache_hash(c, responder, rlen, req, reqlen);
	if ((n = cache_find(c, hash, responder, rlen, req, reqlen)) != NULL)
		cache_remove(c, n);

	if (t->expires <= now)
		return -1;
	cost = ocsp_cache_entry_cost(rlen, reqlen, resplen);
	if (cost == SIZE_MAX || cost > c->max_bytes / 8)
		return -1;
	/* Allocate before evicting, so that ENOMEM costs no entries. */
	if ((n = malloc(cost)) == NULL)
		return -1;
	cache_make_room(c, cost, now, true);

	/* Lengths of 0 may come with NULL pointers, which memcpy rejects. */
	if (rlen > 0)
		memcpy(n->data, responder, rlen);
	n->data[rlen] = CACHE_KEY_SEPARATOR;
	if (reqlen > 0)
		memcpy(n->data + rlen + 1, req, reqlen);
	if (resplen > 0)
		memcpy(n->data + rlen + 1 + reqlen, resp, resplen);
	n->e.body = n->data + rlen + 1 + reqlen;
	n->e.body_len = resplen;
	n->e.stored_at = now;
	n->e.this_update = t->this_update;
	n->e.next_update = t->next_update;
	n->e.expires = t->expires;
	n->hash = hash;
	n->rlen = rlen;
	n->reqlen = reqlen;
	n->cost = cost;

	n->hnext = c->buckets[hash & (c->nbuckets - 1)];
	c->buckets[hash & (c->nbuckets - 1)] = n;
	cache_lru_push_front(c, n);
	c->entries++;
	c->bytes += cost;
	cache_grow(c);
	return 0;
}

const struct ocsp_cache_entry *
ocsp_cache_get(struct ocsp_cache *c, const char *responder, size_t rlen,
    const unsigned char *req, size_t reqlen, time_t now)
{
	struct cache_node *n;
	uint64_t hash;

	hash = cache_hash(c, responder, rlen, req, reqlen);
	if ((n = cache_find(c, hash, responder, rlen, req, reqlen)) == NULL) {
		c->misses++;
		return NULL;
	}
	if (now >= n->e.expires) {
		cache_remove(c, n);
		c->expired++;
		c->misses++;
		return NULL;
	}
	cache_lru_touch(c, n);
	c->hits++;
	return &n->e;
}

void
ocsp_cache_stats(const struct ocsp_cache *c, struct ocsp_cache_stats *st)
{
	st->entries = c->entries;
	st->bytes = c->bytes;
	st->max_bytes = c->max_bytes;
	st->evictions = c->evictions;
	st->expired = c->expired;
	st->hits = c->hits;
	st->misses = c->misses;
}

size_t
ocsp_cache_shards(size_t max_bytes)
{
	size_t n = 1;

	while (n < OCSP_CACHE_SHARDS_MAX &&
	    max_bytes / (n * 2) >= OCSP_CACHE_SHARD_MIN_BYTES)
		n *= 2;
	return n;
}

size_t
ocsp_cache_shard_of(uint64_t seed, size_t nshards, const char *responder,
    size_t rlen, const unsigned char *req, size_t reqlen)
{
	uint64_t h;

	if (nshards <= 1)
		return 0;
	h = cache_key_hash(
	    seed, cache_splitmix64(seed), responder, rlen, req, reqlen);
	/* The high bits: the low ones pick buckets were the seeds equal. */
	return (size_t)(h >> 32) & (nshards - 1);
}

/* RFC 9110 tchar. */
static bool
cache_is_tchar(unsigned char ch)
{
	if ((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
	    (ch >= '0' && ch <= '9'))
		return true;
	return ch != '\0' && strchr("!#$%&'*+-.^_`|~", ch) != NULL;
}

static bool
cache_is_ows(char ch)
{
	return ch == ' ' || ch == '\t';
}

/* Case-insensitive comparison of <len> bytes with the lowercase <lit>. */
static bool
cache_name_is(const char *s, size_t len, const char *lit)
{
	if (len != strlen(lit))
		return false;
	for (size_t i = 0; i < len; i++) {
		unsigned char ch = (unsigned char)s[i];

		if (ch >= 'A' && ch <= 'Z')
			ch = (unsigned char)(ch - 'A' + 'a');
		if (ch != (unsigned char)lit[i])
			return false;
	}
	return true;
}

/*
 * Delta-seconds: one or more digits, nothing else; clamped to the limit.
 * Returns -1 when malformed.
 */
static long
cache_delta_seconds(const char *s, size_t len)
{
	long v = 0;

	if (len == 0)
		return -1;
	for (size_t i = 0; i < len; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		if (v < OCSP_CACHE_MAX_AGE_LIMIT_SEC)
			v = v * 10 + (s[i] - '0');
	}
	return v > OCSP_CACHE_MAX_AGE_LIMIT_SEC ? OCSP_CACHE_MAX_AGE_LIMIT_SEC
	                                        : v;
}

/*
 * From <i>, skips to the next comma outside a quoted string (or the end).
 * Used to resynchronise after a malformed list element.
 */
static size_t
cache_skip_element(const char *s, size_t len, size_t i)
{
	bool quoted = false;

	for (; i < len; i++) {
		if (quoted && s[i] == '\\')
			i++;
		else if (s[i] == '"')
			quoted = !quoted;
		else if (!quoted && s[i] == ',')
			break;
	}
	return i;
}

/* Keeps the smaller of two delta-seconds, -1 meaning none yet. */
static long
cache_min_age(long have, long v)
{
	return have < 0 || v < have ? v : have;
}

int
ocsp_cache_parse_max_age(const char *s, size_t len, long *max_age)
{
	long smaxage = -1, maxage = -1, v;
	bool dont = false, ok;
	size_t i = 0, name, nlen, val, vlen;

	while (i < len) {
		while (i < len && (cache_is_ows(s[i]) || s[i] == ','))
			i++;
		if (i == len)
			break;
		name = i;
		while (i < len && cache_is_tchar((unsigned char)s[i]))
			i++;
		nlen = i - name;
		/* The directive names that forbid storing count even when
		 * the rest of the element is malformed. */
		if (cache_name_is(s + name, nlen, "no-store") ||
		    cache_name_is(s + name, nlen, "no-cache") ||
		    cache_name_is(s + name, nlen, "private"))
			dont = true;

		ok = nlen > 0;
		val = vlen = 0;
		while (i < len && cache_is_ows(s[i]))
			i++;
		if (ok && i < len && s[i] == '=') {
			i++;
			while (i < len && cache_is_ows(s[i]))
				i++;
			if (i < len && s[i] == '"') {
				val = ++i;
				while (i < len && s[i] != '"') {
					if (s[i] == '\\')
						i++;
					i++;
				}
				if (i >= len) {
					ok = false; /* unterminated */
				} else {
					vlen = i - val;
					i++;
				}
			} else {
				val = i;
				while (i < len &&
				    cache_is_tchar((unsigned char)s[i]))
					i++;
				vlen = i - val;
			}
			while (i < len && cache_is_ows(s[i]))
				i++;
		}
		if (i < len && s[i] != ',') {
			ok = false;
			i = cache_skip_element(s, len, i);
		}
		if (!ok)
			continue;
		if (cache_name_is(s + name, nlen, "s-maxage")) {
			if ((v = cache_delta_seconds(s + val, vlen)) >= 0)
				smaxage = cache_min_age(smaxage, v);
		} else if (cache_name_is(s + name, nlen, "max-age")) {
			if ((v = cache_delta_seconds(s + val, vlen)) >= 0)
				maxage = cache_min_age(maxage, v);
		}
	}
	if (dont)
		return -1;
	if (smaxage >= 0) {
		*max_age = smaxage;
		return 1;
	}
	if (maxage >= 0) {
		*max_age = maxage;
		return 1;
	}
	return 0;
}

/* now + <sec> (clamped to 0..OCSP_CACHE_MAX_AGE_LIMIT_SEC), saturating. */
static time_t
cache_after(time_t now, long sec)
{
	if (sec < 0)
		sec = 0;
	if (sec > OCSP_CACHE_MAX_AGE_LIMIT_SEC)
		sec = OCSP_CACHE_MAX_AGE_LIMIT_SEC;
	if (now > CACHE_TIME_MAX - (time_t)sec)
		return CACHE_TIME_MAX;
	return now + (time_t)sec;
}

time_t
ocsp_cache_expiry(time_t now, time_t next_update, int have_max_age,
    long max_age, long lifetime)
{
	time_t exp = next_update;

	if (next_update == 0 && !have_max_age)
		return 0;
	if (have_max_age) {
		time_t limit = cache_after(now, max_age);

		if (next_update == 0 || limit < exp)
			exp = limit;
	}
	/* However far its nextUpdate, no answer is kept longer. */
	if (lifetime > 0 && cache_after(now, lifetime) < exp)
		exp = cache_after(now, lifetime);
	return exp <= now ? 0 : exp;
}
