/*
 * Behaviour alerts over finished requests: per-source state in a hash
 * table with an LRU list, and small bounded arrays per source. Pure: no
 * I/O, no clock, no globals, no locking (the caller serialises).
 */
#include <limits.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "ocspgate/alert.h"
#include "ocspgate/cidr.h"
#include "ocspgate/hash.h"

#define ALERT_DEFAULT_MAX_SOURCES   10000
#define ALERT_DEFAULT_FANOUT_WINDOW 600
#define ALERT_TABLE_MIN             64 /* hash buckets, a power of two */
#define ALERT_PAIRS_INITIAL         4  /* per-source arrays start small */
#define ALERT_CERTS_INITIAL         4
#define ALERT_SERIALS_INITIAL       16
#define ALERT_MIN_PERIOD_MS         1000 /* slower than this: a burst */
#define ALERT_SETS_INITIAL          8
#define ALERT_NO_CERT               UINT16_MAX /* end of a cert LRU list */

/* Seeds that keep the table, destination and cert-ID hashes apart from
 * each other and from alert_source_hash(). */
#define ALERT_SEED_TABLE 0x9e3779b97f4a7c15ULL
#define ALERT_SEED_DEST  0xc2b2ae3d27d4eb4fULL
#define ALERT_SEED_CERT  0x165667b19e3779f9ULL

static const char *const alert_kind_names[ALERT_KIND_COUNT] = {
    [ALERT_RATE_ANOMALY] = "rate_anomaly",
    [ALERT_NEW_DESTINATION] = "new_destination",
    [ALERT_EARLY_REQUERY] = "early_requery",
    [ALERT_SERIAL_FANOUT] = "serial_fanout",
    [ALERT_PERIODIC] = "periodic",
    [ALERT_UNKNOWN_CERTS] = "unknown_certificates",
    [ALERT_UNAUTHORIZED] = "unauthorized_answers",
    [ALERT_UA_MISMATCH] = "ua_mismatch",
};

/*
 * Requests per second over the last ALERT_RATE_WINDOW_SEC seconds:
 * bucket[s % 60] counts second s for s in (sec - 60, sec]. Buckets
 * saturate rather than wrap; by then any sane threshold was reached.
 */
struct alert_ring {
	uint64_t sec;
	uint32_t total; /* sum of bucket[] */
	uint16_t bucket[ALERT_RATE_WINDOW_SEC];
};

/* One (source, destination) pair; also the source's novelty memory. */
struct alert_pair {
	uint64_t dest_hash;
	uint64_t last_ms; /* last request, for novelty, intervals and LRU */
	uint64_t rate_until_ms; /* cooldowns: no such alert before this */
	uint64_t novelty_until_ms;
	uint64_t periodic_until_ms;
	struct alert_ring rate;
	uint32_t interval_ms[ALERT_INTERVALS]; /* ring, saturating */
	uint32_t validity_ms; /* of the last good answer: 0 none known */
	uint8_t nintervals;
	uint8_t next_interval;
	uint8_t nfast; /* intervals kept under ALERT_MIN_PERIOD_MS */
};

/*
 * One certificate ID a source asked about, and the last good answer.
 * Records are on a list ordered by (last_ms, index), most recent first,
 * so the one to reuse is its tail.
 */
struct alert_cert {
	uint64_t id_hash;
	uint64_t last_ms;    /* for LRU */
	uint64_t until_ms;   /* early_requery cooldown */
	int64_t received;    /* wall clock the answer came */
	int64_t next_update; /* its nextUpdate; 0 when none known */
	uint32_t early;      /* consecutive early re-asks */
	uint16_t newer;      /* LRU list neighbours: indexes or ALERT_NO_CERT */
	uint16_t older;
};

/*
 * Distinct hashes seen in a tumbling window of fanout_window, for the
 * per-source counts; with no hashes (ua_mismatch) only <n> counts.
 */
struct alert_set {
	uint64_t start_ms;
	uint64_t until_ms; /* cooldown */
	uint64_t *h;
	size_t n, cap;
};

struct alert_src {
	struct alert_source key;    /* unused address bytes zeroed */
	struct alert_src *hnext;    /* hash chain */
	struct alert_src *lru_prev; /* towards the most recent */
	struct alert_src *lru_next;
	uint64_t first_ms; /* tracked since, for novelty_learning */
	uint64_t rate_until_ms;
	struct alert_ring rate;
	struct alert_pair *pairs;
	size_t npairs, cap_pairs;
	struct alert_cert *certs;
	size_t ncerts, cap_certs;
	uint16_t *cert_slots; /* open addressing on id_hash, 2 * cap_certs
	                         slots: index + 1, or 0 when empty */
	uint16_t cert_newest, cert_oldest; /* LRU list ends */
	struct alert_set fanout;           /* certificate IDs asked about */
	struct alert_set unknown;          /* ... that the CA called unknown */
	struct alert_set unauthorized;     /* ... answered unauthorized */
	struct alert_set ua;               /* requests flagged ua_mismatch */
};

struct alert_engine {
	struct alert_config cfg;
	struct alert_src **table;
	size_t nbuckets;            /* a power of two */
	struct alert_src *lru_head; /* most recently seen */
	struct alert_src *lru_tail;
	size_t nsources;
	uint64_t evictions;
	uint64_t alloc_failures;
};

/* Where alert_observe() writes, and how much room is left. */
struct alert_sink {
	struct alert *out;
	size_t max;
	size_t n;
};

const char *
alert_kind_name(enum alert_kind k)
{
	if ((unsigned)k >= ALERT_KIND_COUNT)
		return NULL;
	return alert_kind_names[k];
}

void
alert_config_defaults(struct alert_config *c)
{
	memset(c, 0, sizeof(*c));
	c->rate_per_source = 600;
	c->rate_per_pair = 300;
	c->novelty_window = 7 * 24 * 3600;
	c->novelty_learning = 3600;
	c->early_requery = 3;
	c->serial_fanout = 200;
	c->fanout_window = ALERT_DEFAULT_FANOUT_WINDOW;
	c->periodic_min = 12;
	c->periodic_jitter = 0.3;
	c->cooldown = 600;
	c->max_tracked_sources = ALERT_DEFAULT_MAX_SOURCES;
	c->unknown_certs = 10;
	c->unauthorized = 10;
	c->ua_mismatch = 5;
	c->ipv6_prefix = 64;
}

/* The number of address bytes that identify <s>. */
static size_t
alert_source_len(const struct alert_source *s)
{
	return s->family == AF_INET ? 4 : 16;
}

/* FNV-1a 64 from <seed>, then a finaliser (see hash.h). */
static uint64_t
alert_hash(uint64_t seed, const void *p, size_t n)
{
	return hash_mix64(hash_fnv1a64(HASH_FNV64_INIT ^ seed, p, n));
}

uint32_t
alert_source_hash(const struct alert_source *s)
{
	unsigned char tag = alert_source_len(s) == 4 ? 4 : 6;

	/* FNV-1a 32 over a family tag and the address, then murmur3's
	 * finaliser: fixed constants, so every process agrees. */
	return hash_mix32(hash_fnv1a32(hash_fnv1a32(HASH_FNV32_INIT, &tag, 1),
	    s->addr, alert_source_len(s)));
}

static uint64_t
alert_source_hash64(const struct alert_source *s)
{
	unsigned char buf[17];
	size_t n = alert_source_len(s);

	buf[0] = n == 4 ? 4 : 6;
	memcpy(buf + 1, s->addr, n);
	return alert_hash(ALERT_SEED_TABLE, buf, n + 1);
}

static bool
alert_source_equal(const struct alert_source *a, const struct alert_source *b)
{
	size_t n = alert_source_len(a);

	return n == alert_source_len(b) && memcmp(a->addr, b->addr, n) == 0;
}

/* Hash of a certificate ID: algorithm, both issuer hashes and serial. */
static uint64_t
alert_cert_hash(const struct ocsp_cert_id *c)
{
	uint64_t h = HASH_FNV64_INIT ^ ALERT_SEED_CERT;
	unsigned char tag[3];
	size_t hl = c->hash_len <= OCSP_HASH_MAX_BYTES ? c->hash_len : 0;
	size_t sl = c->serial_len <= OCSP_SERIAL_MAX_BYTES ? c->serial_len : 0;

	tag[0] = (unsigned char)c->hash;
	tag[1] = (unsigned char)hl;
	tag[2] = (unsigned char)sl;
	h = hash_fnv1a64(h, tag, sizeof(tag));
	h = hash_fnv1a64(h, c->name_hash, hl);
	h = hash_fnv1a64(h, c->key_hash, hl);
	h = hash_fnv1a64(h, c->serial, sl);
	return hash_mix64(h);
}

/* Milliseconds from <then> to <now>; 0 if the clock went backwards. */
static uint64_t
alert_elapsed(uint64_t now, uint64_t then)
{
	return now > then ? now - then : 0;
}

static void
alert_ring_advance(struct alert_ring *r, uint64_t sec)
{
	/* A second not after the last one (same second, or a clock that
	 * stepped back) counts in the current bucket. */
	if (sec <= r->sec)
		return;
	if (sec - r->sec >= ALERT_RATE_WINDOW_SEC) {
		memset(r->bucket, 0, sizeof(r->bucket));
		r->total = 0;
	} else {
		for (uint64_t s = r->sec + 1; s <= sec; s++) {
			uint16_t *b = &r->bucket[s % ALERT_RATE_WINDOW_SEC];

			r->total -= *b;
			*b = 0;
		}
	}
	r->sec = sec;
}

/* Counts one request at <now_ms>. Returns the count over the window. */
static uint32_t
alert_ring_add(struct alert_ring *r, uint64_t now_ms)
{
	uint16_t *b;

	alert_ring_advance(r, now_ms / 1000);
	b = &r->bucket[r->sec % ALERT_RATE_WINDOW_SEC];
	if (*b < UINT16_MAX) {
		(*b)++;
		r->total++;
	}
	return r->total;
}

/*
 * Doubles an array of <size>-byte elements from *cap (to <initial> when
 * empty), never beyond <max>. Returns the new array with *cap updated, or
 * NULL (old array untouched) when at <max> or out of memory.
 */
static void *
alert_grow(void *p, size_t *cap, size_t size, size_t initial, size_t max)
{
	size_t ncap = *cap == 0 ? initial : *cap * 2;
	void *np;

	if (*cap >= max)
		return NULL;
	if (ncap > max)
		ncap = max;
	if ((np = realloc(p, ncap * size)) == NULL)
		return NULL;
	*cap = ncap;
	return np;
}

/* Square root by Newton's method, which falls monotonically from above;
 * it saves the project a libm dependency for one call. */
static double
alert_sqrt(double x)
{
	double r, n;

	if (!(x > 0))
		return 0;
	r = x >= 1 ? x : 1;
	for (int i = 0; i < 200; i++) {
		n = 0.5 * (r + x / r);
		if (n >= r)
			break;
		r = n;
	}
	return r;
}

static unsigned
alert_clamp_sec(int64_t v)
{
	if (v < 0)
		return 0;
	return v < UINT_MAX ? (unsigned)v : UINT_MAX;
}

/* Effective threshold of a count of distinct hashes: they are capped. */
static unsigned
alert_set_threshold(unsigned v)
{
	return v < ALERT_FANOUT_MAX ? v : ALERT_FANOUT_MAX;
}

static unsigned
alert_fanout_threshold(const struct alert_config *c)
{
	return alert_set_threshold(c->serial_fanout);
}

/* Effective periodic_min: no more intervals than are kept. */
static unsigned
alert_periodic_threshold(const struct alert_config *c)
{
	return c->periodic_min < ALERT_INTERVALS ? c->periodic_min
	                                         : ALERT_INTERVALS;
}

static void
alert_src_free(struct alert_src *s)
{
	if (s == NULL)
		return;
	free(s->pairs);
	free(s->certs);
	free(s->cert_slots);
	free(s->fanout.h);
	free(s->unknown.h);
	free(s->unauthorized.h);
	free(s);
}

static void
alert_lru_unlink(struct alert_engine *e, struct alert_src *s)
{
	if (s->lru_prev != NULL)
		s->lru_prev->lru_next = s->lru_next;
	else
		e->lru_head = s->lru_next;
	if (s->lru_next != NULL)
		s->lru_next->lru_prev = s->lru_prev;
	else
		e->lru_tail = s->lru_prev;
	s->lru_prev = s->lru_next = NULL;
}

static void
alert_lru_push_head(struct alert_engine *e, struct alert_src *s)
{
	s->lru_prev = NULL;
	s->lru_next = e->lru_head;
	if (e->lru_head != NULL)
		e->lru_head->lru_prev = s;
	else
		e->lru_tail = s;
	e->lru_head = s;
}

static size_t
alert_bucket(const struct alert_engine *e, const struct alert_source *k)
{
	uint64_t h = alert_source_hash64(k);

	return (size_t)(h ^ (h >> 32)) & (e->nbuckets - 1);
}

/* Removes the least recently seen source and frees it. */
static void
alert_evict_one(struct alert_engine *e)
{
	struct alert_src *s = e->lru_tail, **pp;

	if (s == NULL)
		return;
	pp = &e->table[alert_bucket(e, &s->key)];
	while (*pp != NULL && *pp != s)
		pp = &(*pp)->hnext;
	if (*pp == s)
		*pp = s->hnext;
	alert_lru_unlink(e, s);
	alert_src_free(s);
	e->nsources--;
	e->evictions++;
}

/*
 * Doubles the hash table once it holds as many sources as buckets. On
 * failure the old table stays: chains get longer, nothing is lost.
 */
static void
alert_table_maybe_grow(struct alert_engine *e)
{
	struct alert_src **old = e->table, **nt, *s, *next;
	size_t oldn = e->nbuckets, b;

	if (e->nsources < e->nbuckets || oldn > SIZE_MAX / 2 / sizeof(*nt))
		return;
	if ((nt = calloc(oldn * 2, sizeof(*nt))) == NULL)
		return;
	e->table = nt;
	e->nbuckets = oldn * 2;
	for (size_t i = 0; i < oldn; i++) {
		for (s = old[i]; s != NULL; s = next) {
			next = s->hnext;
			b = alert_bucket(e, &s->key);
			s->hnext = nt[b];
			nt[b] = s;
		}
	}
	free(old);
}

/*
 * The state of source <k>, created (evicting the least recently seen
 * source at the bound) if new, and moved to the LRU head. Returns NULL
 * when out of memory.
 */
static struct alert_src *
alert_src_get(
    struct alert_engine *e, const struct alert_source *k, uint64_t now_ms)
{
	struct alert_src *s;
	size_t b = alert_bucket(e, k);

	for (s = e->table[b]; s != NULL; s = s->hnext) {
		if (alert_source_equal(&s->key, k)) {
			alert_lru_unlink(e, s);
			alert_lru_push_head(e, s);
			return s;
		}
	}
	while (e->nsources >= e->cfg.max_tracked_sources)
		alert_evict_one(e);
	if ((s = calloc(1, sizeof(*s))) == NULL)
		return NULL;
	s->key.family = k->family;
	memcpy(s->key.addr, k->addr, alert_source_len(k));
	s->first_ms = now_ms;
	s->cert_newest = s->cert_oldest = ALERT_NO_CERT;
	e->nsources++;
	alert_table_maybe_grow(e);
	b = alert_bucket(e, k);
	s->hnext = e->table[b];
	e->table[b] = s;
	alert_lru_push_head(e, s);
	return s;
}

/*
 * The pair record for <dest_hash>, or a fresh zeroed one (growing the
 * array, or reusing the least recently used record). *fresh tells which.
 * Returns NULL when out of memory with nothing to reuse.
 */
static struct alert_pair *
alert_pair_get(struct alert_src *s, uint64_t dest_hash, bool *fresh)
{
	struct alert_pair *p, *np;
	size_t i, lru = 0;

	*fresh = false;
	for (i = 0; i < s->npairs; i++) {
		if (s->pairs[i].dest_hash == dest_hash)
			return &s->pairs[i];
		if (s->pairs[i].last_ms < s->pairs[lru].last_ms)
			lru = i;
	}
	if (s->npairs == s->cap_pairs) {
		np = alert_grow(s->pairs, &s->cap_pairs, sizeof(*np),
		    ALERT_PAIRS_INITIAL, ALERT_MAX_PAIRS_PER_SOURCE);
		if (np != NULL)
			s->pairs = np;
	}
	if (s->npairs < s->cap_pairs)
		p = &s->pairs[s->npairs++];
	else if (s->npairs > 0)
		p = &s->pairs[lru];
	else
		return NULL;
	memset(p, 0, sizeof(*p));
	p->dest_hash = dest_hash;
	*fresh = true;
	return p;
}

/* The index slots of certificate records: 2 * cap_certs, a power of
 * two, so the table is at most half full. */
static size_t
alert_cert_mask(const struct alert_src *s)
{
	return 2 * s->cap_certs - 1;
}

/* The slot of <id_hash> in s->cert_slots, or of the empty slot where it
 * would go. */
static size_t
alert_cert_slot(const struct alert_src *s, uint64_t id_hash)
{
	size_t mask = alert_cert_mask(s), i = (size_t)id_hash & mask;

	while (s->cert_slots[i] != 0 &&
	    s->certs[s->cert_slots[i] - 1].id_hash != id_hash)
		i = (i + 1) & mask;
	return i;
}

/* Removes <id_hash>, which is indexed, from s->cert_slots: the entries
 * after it in its run move back so every probe still finds them. */
static void
alert_cert_unindex(struct alert_src *s, uint64_t id_hash)
{
	size_t mask = alert_cert_mask(s), i = alert_cert_slot(s, id_hash);
	size_t j = i, home;

	for (;;) {
		j = (j + 1) & mask;
		if (s->cert_slots[j] == 0)
			break;
		home = (size_t)s->certs[s->cert_slots[j] - 1].id_hash & mask;
		/* Movable unless its home lies cyclically in (i, j]. */
		if (i <= j ? (home <= i || home > j)
		           : (home <= i && home > j)) {
			s->cert_slots[i] = s->cert_slots[j];
			i = j;
		}
	}
	s->cert_slots[i] = 0;
}

/* Takes record <i> off the LRU list, if it is on it. */
static void
alert_cert_unlink(struct alert_src *s, uint16_t i)
{
	struct alert_cert *c = &s->certs[i];

	if (c->newer == ALERT_NO_CERT && s->cert_newest != i)
		return; /* a fresh record, not linked yet */
	if (c->newer != ALERT_NO_CERT)
		s->certs[c->newer].older = c->older;
	else
		s->cert_newest = c->older;
	if (c->older != ALERT_NO_CERT)
		s->certs[c->older].newer = c->newer;
	else
		s->cert_oldest = c->newer;
	c->newer = c->older = ALERT_NO_CERT;
}

/* Puts record <i>, not on the list, in its place by (last_ms, index):
 * usually at the head, as times only grow. */
static void
alert_cert_link(struct alert_src *s, uint16_t i)
{
	struct alert_cert *c = &s->certs[i];
	uint16_t p = s->cert_newest, prev = ALERT_NO_CERT;

	while (p != ALERT_NO_CERT &&
	    (s->certs[p].last_ms > c->last_ms ||
	        (s->certs[p].last_ms == c->last_ms && p > i))) {
		prev = p;
		p = s->certs[p].older;
	}
	c->newer = prev;
	c->older = p;
	if (prev != ALERT_NO_CERT)
		s->certs[prev].older = i;
	else
		s->cert_newest = i;
	if (p != ALERT_NO_CERT)
		s->certs[p].newer = i;
	else
		s->cert_oldest = i;
}

/* Record <c> was used at <now_ms>: moves it to its place on the list. */
static void
alert_cert_touch(struct alert_src *s, struct alert_cert *c, uint64_t now_ms)
{
	uint16_t i = (uint16_t)(c - s->certs);

	alert_cert_unlink(s, i);
	c->last_ms = now_ms;
	alert_cert_link(s, i);
}

/*
 * Doubles the certificate records and their index (see alert_grow()).
 * Returns false, everything untouched, at the bound or out of memory.
 */
static bool
alert_cert_grow(struct alert_src *s)
{
	size_t cap = s->cap_certs;
	struct alert_cert *nc;
	uint16_t *slots;

	if (cap >= ALERT_MAX_CERTS_PER_SOURCE)
		return false;
	cap = cap == 0 ? ALERT_CERTS_INITIAL : cap * 2;
	if (cap > ALERT_MAX_CERTS_PER_SOURCE)
		cap = ALERT_MAX_CERTS_PER_SOURCE;
	if ((slots = calloc(2 * cap, sizeof(*slots))) == NULL)
		return false;
	if ((nc = realloc(s->certs, cap * sizeof(*nc))) == NULL) {
		free(slots);
		return false;
	}
	s->certs = nc;
	s->cap_certs = cap;
	free(s->cert_slots);
	s->cert_slots = slots;
	for (size_t i = 0; i < s->ncerts; i++)
		slots[alert_cert_slot(s, s->certs[i].id_hash)] =
		    (uint16_t)(i + 1);
	return true;
}

/*
 * As alert_pair_get(), for certificate IDs; the record reused is the
 * least recently used, the lowest index among equals. The caller sets
 * its time with alert_cert_touch().
 */
static struct alert_cert *
alert_cert_get(struct alert_src *s, uint64_t id_hash, bool *fresh)
{
	struct alert_cert *c;
	size_t slot;

	*fresh = false;
	if (s->ncerts > 0) {
		slot = alert_cert_slot(s, id_hash);
		if (s->cert_slots[slot] != 0)
			return &s->certs[s->cert_slots[slot] - 1];
	}
	if (s->ncerts == s->cap_certs)
		(void)alert_cert_grow(s);
	if (s->ncerts < s->cap_certs) {
		c = &s->certs[s->ncerts++];
	} else if (s->ncerts > 0) {
		c = &s->certs[s->cert_oldest];
		alert_cert_unindex(s, c->id_hash);
		alert_cert_unlink(s, s->cert_oldest);
	} else {
		return NULL;
	}
	memset(c, 0, sizeof(*c));
	c->id_hash = id_hash;
	c->newer = c->older = ALERT_NO_CERT;
	s->cert_slots[alert_cert_slot(s, id_hash)] =
	    (uint16_t)(c - s->certs + 1);
	*fresh = true;
	return c;
}

/*
 * Claims the next output slot for an alert of <kind> whose cooldown
 * deadline is *until_ms. Returns the zeroed slot, with kind, scope and
 * (unless <dest> is NULL) dest filled and the cooldown started, or NULL
 * when still cooling down or when <out> is full; a full <out> leaves the
 * cooldown alone so the alert can fire on a later request.
 */
static struct alert *
alert_emit(struct alert_sink *k, const struct alert_config *c,
    uint64_t *until_ms, uint64_t now_ms, enum alert_kind kind,
    const char *scope, const struct alert_observation *dest)
{
	struct alert *a;
	size_t n;

	if (now_ms < *until_ms || k->n >= k->max)
		return NULL;
	*until_ms = now_ms + (uint64_t)c->cooldown * 1000;
	a = &k->out[k->n++];
	memset(a, 0, sizeof(*a));
	a->kind = kind;
	a->scope = scope;
	if (dest != NULL && dest->dest != NULL) {
		n = dest->dest_len < sizeof(a->dest) - 1 ? dest->dest_len
		                                         : sizeof(a->dest) - 1;
		memcpy(a->dest, dest->dest, n);
		a->dest[n] = '\0';
	}
	return a;
}

/* Sorts <n> intervals (n <= ALERT_INTERVALS): insertion sort. */
static void
alert_sort(uint32_t *v, unsigned n)
{
	for (unsigned i = 1; i < n; i++) {
		uint32_t x = v[i];
		unsigned j = i;

		for (; j > 0 && v[j - 1] > x; j--)
			v[j] = v[j - 1];
		v[j] = x;
	}
}

/*
 * Periodicity of a pair's stored intervals. A beacon sleeps a period
 * plus or minus some jitter, and now and then misses a beat or takes
 * longer; genuine traffic comes at random (Poisson-like) times. So the
 * test is robust: the shortest and the longest interval are set aside,
 * and half the range of the rest, relative to their median, must be
 * within periodic_jitter (a sleep of 60 s +-30 % spans 0.6 of its
 * period: 0.3). Random arrivals spread over several times the median. It fires
 * when enough intervals are known, the median is at least a second (a burst is
 * not a beacon), and the client is not simply re-asking as its answers expire:
 * an interval of at least half the answers' validity is what caching clients
 * (CryptoAPI at expiry, RFC 5019 prefetching) do.
 */
static void
alert_check_periodic(struct alert_sink *k, const struct alert_config *c,
    struct alert_pair *p, const struct alert_observation *o)
{
	unsigned need = alert_periodic_threshold(c), n = p->nintervals;
	uint32_t v[ALERT_INTERVALS];
	double sum = 0, mean, var = 0, d, median, jitter;
	struct alert *a;

	if (need == 0 || n < need || n < 3)
		return;
	/* More than half the intervals under a second: so is the median
	 * (both middle ones when <n> is even), no need to sort. */
	if (p->nfast > n / 2)
		return;
	memcpy(v, p->interval_ms, n * sizeof(v[0]));
	alert_sort(v, n);
	median = n % 2 == 1 ? v[n / 2] : ((double)v[n / 2 - 1] + v[n / 2]) / 2;
	if (median < ALERT_MIN_PERIOD_MS)
		return;
	if (p->validity_ms != 0 && median >= p->validity_ms / 2.0)
		return;
	/* Half the middle intervals' range, relative to the median. */
	jitter = ((double)v[n - 2] - v[1]) / (2 * median);
	if (!(jitter <= c->periodic_jitter))
		return;
	for (unsigned i = 0; i < n; i++)
		sum += v[i];
	mean = sum / n;
	for (unsigned i = 0; i < n; i++) {
		d = v[i] - mean;
		var += d * d;
	}
	var /= n;
	a = alert_emit(
	    k, c, &p->periodic_until_ms, o->now_ms, ALERT_PERIODIC, "pair", o);
	if (a == NULL)
		return;
	a->observed = n;
	a->threshold = need;
	a->window_sec = (unsigned)(sum / 1000);
	a->mean_interval = mean / 1000;
	a->median_interval = median / 1000;
	a->jitter = jitter;
	a->cv = alert_sqrt(var / (mean * mean));
	a->score = jitter < 1 ? 1 - jitter : 0;
	a->samples = n;
}

/* Rate, novelty and periodicity of the pair (source, o->dest). */
static void
alert_observe_pair(struct alert_engine *e, struct alert_src *s,
    const struct alert_observation *o, struct alert_sink *k)
{
	const struct alert_config *c = &e->cfg;
	uint64_t dest_hash, since, gap;
	struct alert_pair *p;
	struct alert *a;
	uint32_t count;
	bool fresh;

	dest_hash = alert_hash(ALERT_SEED_DEST, o->dest != NULL ? o->dest : "",
	    o->dest != NULL ? o->dest_len : 0);
	if ((p = alert_pair_get(s, dest_hash, &fresh)) == NULL) {
		e->alloc_failures++;
		return;
	}
	gap = fresh ? 0 : alert_elapsed(o->now_ms, p->last_ms);

	if (c->rate_per_pair != 0) {
		count = alert_ring_add(&p->rate, o->now_ms);
		if (count >= c->rate_per_pair &&
		    (a = alert_emit(k, c, &p->rate_until_ms, o->now_ms,
		         ALERT_RATE_ANOMALY, "pair", o)) != NULL) {
			a->observed = count;
			a->threshold = c->rate_per_pair;
			a->window_sec = ALERT_RATE_WINDOW_SEC;
		}
	}

	since = alert_elapsed(o->now_ms, s->first_ms);
	if (c->novelty_window != 0 &&
	    (fresh || gap >= (uint64_t)c->novelty_window * 1000) &&
	    since >= (uint64_t)c->novelty_learning * 1000 &&
	    (a = alert_emit(k, c, &p->novelty_until_ms, o->now_ms,
	         ALERT_NEW_DESTINATION, "pair", o)) != NULL) {
		a->observed = gap / 1000;
		a->threshold = c->novelty_window;
		a->window_sec = c->novelty_window;
	}

	/* How long the answers the client gets stay valid. */
	if (o->next_update != 0 && (int64_t)o->next_update > (int64_t)o->now) {
		int64_t v = ((int64_t)o->next_update - (int64_t)o->now) * 1000;

		p->validity_ms = v < UINT32_MAX ? (uint32_t)v : UINT32_MAX;
	}
	if (!fresh) {
		uint32_t iv = gap < UINT32_MAX ? (uint32_t)gap : UINT32_MAX;

		/* The slot is a kept interval once the ring is full. */
		if (p->nintervals == ALERT_INTERVALS)
			p->nfast -= p->interval_ms[p->next_interval] <
			    ALERT_MIN_PERIOD_MS;
		p->interval_ms[p->next_interval] = iv;
		p->nfast += iv < ALERT_MIN_PERIOD_MS;
		p->next_interval = (p->next_interval + 1) % ALERT_INTERVALS;
		if (p->nintervals < ALERT_INTERVALS)
			p->nintervals++;
		alert_check_periodic(k, c, p, o);
	}
	p->last_ms = o->now_ms;
}

/*
 * Early re-asks about certificate <id>: before the midpoint between the
 * last good answer and its nextUpdate, where real clients still serve
 * their cache. The count is of consecutive early re-asks, so a client
 * that once in a while restarts with a cold cache does not add up.
 */
static void
alert_observe_cert(struct alert_engine *e, struct alert_src *s,
    const struct alert_observation *o, const struct ocsp_cert_id *id,
    uint64_t id_hash, struct alert_sink *k)
{
	const struct alert_config *c = &e->cfg;
	int64_t now = (int64_t)o->now;
	struct alert_cert *r;
	struct alert *a;
	bool fresh;

	if ((r = alert_cert_get(s, id_hash, &fresh)) == NULL) {
		e->alloc_failures++;
		return;
	}
	if (!fresh && r->next_update != 0) {
		if (now < r->next_update && now >= r->received &&
		    now - r->received < r->next_update - now) {
			r->early++;
			if (r->early >= c->early_requery &&
			    (a = alert_emit(k, c, &r->until_ms, o->now_ms,
			         ALERT_EARLY_REQUERY, "certificate", o)) !=
			        NULL) {
				a->observed = r->early;
				a->threshold = c->early_requery;
				a->window_sec = alert_clamp_sec(
				    r->next_update - r->received);
				a->next_update_in =
				    (long)(r->next_update - now);
				a->serial_len =
				    id->serial_len <= sizeof(a->serial)
				    ? id->serial_len
				    : sizeof(a->serial);
				memcpy(a->serial, id->serial, a->serial_len);
			}
		} else {
			r->early = 0;
		}
	}
	/* The client now holds this answer, if it is a valid one. */
	if (o->next_update != 0 && (int64_t)o->next_update > now) {
		r->received = now;
		r->next_update = (int64_t)o->next_update;
	}
	alert_cert_touch(s, r, o->now_ms);
}

/*
 * Starts a new window for <set> when none is open (nothing counted) or
 * the one open is <window_ms> old.
 */
static void
alert_set_roll(struct alert_set *set, uint64_t now_ms, uint64_t window_ms)
{
	if (set->n == 0 || alert_elapsed(now_ms, set->start_ms) >= window_ms) {
		set->n = 0;
		set->start_ms = now_ms;
	}
}

/*
 * Adds hash <h> to <set>, keeping at most <cap>. Returns true when it was
 * not there yet and was added.
 */
static bool
alert_set_add(
    struct alert_engine *e, struct alert_set *set, uint64_t h, unsigned cap)
{
	uint64_t *nh;

	/* A full set takes nothing, whether <h> is in it or not. */
	if (set->n >= cap)
		return false;
	for (size_t i = 0; i < set->n; i++) {
		if (set->h[i] == h)
			return false;
	}
	if (set->n == set->cap) {
		nh = alert_grow(
		    set->h, &set->cap, sizeof(*nh), ALERT_SETS_INITIAL, cap);
		if (nh == NULL) {
			e->alloc_failures++;
			return false;
		}
		set->h = nh;
	}
	set->h[set->n++] = h;
	return true;
}

/*
 * Counts the request's distinct certificate IDs (<hashes>, <nh> of them)
 * in <set> and raises <kind> when one was new and the count reached
 * <threshold> (0: off).
 */
static void
alert_count_ids(struct alert_engine *e, struct alert_src *s,
    struct alert_set *set, const uint64_t *hashes, size_t nh,
    unsigned threshold, enum alert_kind kind, const struct alert_observation *o,
    struct alert_sink *k)
{
	const struct alert_config *c = &e->cfg;
	bool added = false;
	struct alert *a;

	(void)s;
	threshold = alert_set_threshold(threshold);
	if (threshold == 0 || nh == 0)
		return;
	alert_set_roll(set, o->now_ms, (uint64_t)c->fanout_window * 1000);
	for (size_t i = 0; i < nh; i++)
		added |= alert_set_add(e, set, hashes[i], threshold);
	if (added && set->n >= threshold &&
	    (a = alert_emit(k, c, &set->until_ms, o->now_ms, kind, "source",
	         NULL)) != NULL) {
		a->observed = set->n;
		a->threshold = threshold;
		a->window_sec = c->fanout_window;
	}
}

/*
 * Early re-asks per certificate ID; the fanout of distinct certificate
 * IDs (whole IDs: an attacker varies the issuer hashes as easily as the
 * serial); and the IDs the CA called unknown or would not answer.
 */
static void
alert_observe_certs(struct alert_engine *e, struct alert_src *s,
    const struct alert_observation *o, struct alert_sink *k)
{
	const struct alert_config *c = &e->cfg;
	uint64_t hashes[OCSP_REQUEST_MAX_CERTS], h;
	size_t nh = 0;
	bool dup;

	for (size_t i = 0; i < o->ncerts; i++) {
		/* The same ID twice in one request is one ask. */
		h = alert_cert_hash(&o->certs[i]);
		dup = false;
		for (size_t j = 0; j < nh; j++)
			dup = dup || hashes[j] == h;
		if (dup || nh == OCSP_REQUEST_MAX_CERTS)
			continue;
		hashes[nh++] = h;
		if (c->early_requery != 0)
			alert_observe_cert(e, s, o, &o->certs[i], h, k);
	}
	alert_count_ids(e, s, &s->fanout, hashes, nh, c->serial_fanout,
	    ALERT_SERIAL_FANOUT, o, k);
	if (o->answer_unknown)
		alert_count_ids(e, s, &s->unknown, hashes, nh, c->unknown_certs,
		    ALERT_UNKNOWN_CERTS, o, k);
	if (o->answer_unauthorized)
		alert_count_ids(e, s, &s->unauthorized, hashes, nh,
		    c->unauthorized, ALERT_UNAUTHORIZED, o, k);
}

/* Requests flagged ua_mismatch, per source in a tumbling window. */
static void
alert_observe_ua(struct alert_engine *e, struct alert_src *s,
    const struct alert_observation *o, struct alert_sink *k)
{
	const struct alert_config *c = &e->cfg;
	struct alert *a;

	if (c->ua_mismatch == 0 || !o->ua_mismatch)
		return;
	alert_set_roll(&s->ua, o->now_ms, (uint64_t)c->fanout_window * 1000);
	s->ua.n++;
	if (s->ua.n >= c->ua_mismatch &&
	    (a = alert_emit(k, c, &s->ua.until_ms, o->now_ms, ALERT_UA_MISMATCH,
	         "source", NULL)) != NULL) {
		a->observed = s->ua.n;
		a->threshold = c->ua_mismatch;
		a->window_sec = c->fanout_window;
	}
}

static bool
alert_config_active(const struct alert_config *c)
{
	return c->rate_per_source != 0 || c->rate_per_pair != 0 ||
	    c->novelty_window != 0 || c->early_requery != 0 ||
	    c->serial_fanout != 0 || c->periodic_min != 0 ||
	    c->unknown_certs != 0 || c->unauthorized != 0 ||
	    c->ua_mismatch != 0;
}

static void
alert_config_set(struct alert_engine *e, const struct alert_config *c)
{
	if (c != NULL)
		e->cfg = *c;
	else
		alert_config_defaults(&e->cfg);
	if (e->cfg.max_tracked_sources == 0)
		e->cfg.max_tracked_sources = ALERT_DEFAULT_MAX_SOURCES;
	if (e->cfg.fanout_window == 0)
		e->cfg.fanout_window = ALERT_DEFAULT_FANOUT_WINDOW;
}

struct alert_engine *
alert_engine_new(const struct alert_config *c)
{
	struct alert_engine *e;

	if ((e = calloc(1, sizeof(*e))) == NULL)
		return NULL;
	if ((e->table = calloc(ALERT_TABLE_MIN, sizeof(*e->table))) == NULL) {
		free(e);
		return NULL;
	}
	e->nbuckets = ALERT_TABLE_MIN;
	alert_config_set(e, c);
	return e;
}

void
alert_engine_free(struct alert_engine *e)
{
	struct alert_src *s, *next;

	if (e == NULL)
		return;
	for (s = e->lru_head; s != NULL; s = next) {
		next = s->lru_next;
		alert_src_free(s);
	}
	free(e->table);
	free(e);
}

void
alert_engine_configure(struct alert_engine *e, const struct alert_config *c)
{
	unsigned cap;

	alert_config_set(e, c);
	while (e->nsources > e->cfg.max_tracked_sources)
		alert_evict_one(e);
	/* Lower thresholds: keep no more hashes than they need. */
	for (struct alert_src *s = e->lru_head; s != NULL; s = s->lru_next) {
		cap = alert_fanout_threshold(&e->cfg);
		if (s->fanout.n > cap)
			s->fanout.n = cap;
		cap = alert_set_threshold(e->cfg.unknown_certs);
		if (s->unknown.n > cap)
			s->unknown.n = cap;
		cap = alert_set_threshold(e->cfg.unauthorized);
		if (s->unauthorized.n > cap)
			s->unauthorized.n = cap;
	}
}

size_t
alert_observe(struct alert_engine *e, const struct alert_observation *o,
    struct alert *out, size_t max)
{
	const struct alert_config *c = &e->cfg;
	struct alert_sink k = {out, out != NULL ? max : 0, 0};
	struct alert_source key = o->source;
	unsigned prefix = 0;
	struct alert_src *s;
	struct alert *a;
	uint32_t count;

	if (!alert_config_active(c))
		return 0;
	/* One IPv6 host may take any address of its block. */
	if (key.family == AF_INET6 && c->ipv6_prefix != 0 &&
	    c->ipv6_prefix < 128) {
		prefix = c->ipv6_prefix;
		cidr_group(AF_INET6, key.addr, prefix);
	}
	if ((s = alert_src_get(e, &key, o->now_ms)) == NULL) {
		e->alloc_failures++;
		return 0;
	}

	if (c->rate_per_source != 0) {
		count = alert_ring_add(&s->rate, o->now_ms);
		if (count >= c->rate_per_source &&
		    (a = alert_emit(&k, c, &s->rate_until_ms, o->now_ms,
		         ALERT_RATE_ANOMALY, "source", NULL)) != NULL) {
			a->observed = count;
			a->threshold = c->rate_per_source;
			a->window_sec = ALERT_RATE_WINDOW_SEC;
		}
	}
	if (c->rate_per_pair != 0 || c->novelty_window != 0 ||
	    c->periodic_min != 0)
		alert_observe_pair(e, s, o, &k);
	if (o->certs != NULL && o->ncerts > 0)
		alert_observe_certs(e, s, o, &k);
	alert_observe_ua(e, s, o, &k);
	for (size_t i = 0; i < k.n; i++) {
		out[i].source = s->key;
		out[i].source_prefix = prefix;
	}
	return k.n;
}

void
alert_engine_stats(const struct alert_engine *e, struct alert_stats *st)
{
	st->sources = e->nsources;
	st->evictions = e->evictions;
	st->alloc_failures = e->alloc_failures;
}
