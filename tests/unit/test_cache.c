/*
 * Unit tests for the OCSP response cache: hits and misses on the full
 * key, expiry, LRU eviction, the byte bound, refusals, replacement,
 * resizing, the Cache-Control parser, the expiry rule, a randomised run checked
 * against a model, and how a cache shared by threads is cut into shards (how
 * many, and which holds a key).
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "check.h"
#include "ocspgate/cache.h"
#include "ocspgate/hash.h"

#define S(lit) lit, sizeof(lit) - 1

#define NOW ((time_t)1700000000)

static const unsigned char req_a[] = {0x30, 0x03, 0x02, 0x01, 0x01};
static const unsigned char req_b[] = {0x30, 0x03, 0x02, 0x01, 0x02};
static const unsigned char resp_a[] = {0x30, 0x03, 0x0a, 0x01, 0x00};

/* xorshift64*: deterministic, so a failure can be replayed. */
static uint64_t
test_rand(uint64_t *s)
{
	*s ^= *s >> 12;
	*s ^= *s << 25;
	*s ^= *s >> 27;
	return *s * UINT64_C(0x2545f4914f6cdd1d);
}

static struct ocsp_cache_times
times_until(time_t expires)
{
	struct ocsp_cache_times t = {NOW - 60, NOW + 3600, expires};

	return t;
}

static void
test_hit_and_miss(void)
{
	struct ocsp_cache *c = ocsp_cache_new(1 << 20, 42);
	struct ocsp_cache_times t = times_until(NOW + 600);
	const struct ocsp_cache_entry *e;
	struct ocsp_cache_stats st;

	CHECK(c != NULL);
	CHECK(
	    ocsp_cache_get(c, S("ocsp.a"), req_a, sizeof(req_a), NOW) == NULL);
	CHECK(ocsp_cache_put(c, S("ocsp.a"), req_a, sizeof(req_a), resp_a,
	          sizeof(resp_a), &t, NOW) == 0);

	e = ocsp_cache_get(c, S("ocsp.a"), req_a, sizeof(req_a), NOW + 1);
	CHECK(e != NULL);
	if (e != NULL) {
		CHECK(e->body_len == sizeof(resp_a));
		CHECK(memcmp(e->body, resp_a, sizeof(resp_a)) == 0);
		CHECK(e->body != resp_a); /* a copy */
		CHECK(e->stored_at == NOW);
		CHECK(e->this_update == NOW - 60);
		CHECK(e->next_update == NOW + 3600);
		CHECK(e->expires == NOW + 600);
	}

	/* Another responder, another request, a prefix: all misses. */
	CHECK(
	    ocsp_cache_get(c, S("ocsp.b"), req_a, sizeof(req_a), NOW) == NULL);
	CHECK(
	    ocsp_cache_get(c, S("ocsp.a"), req_b, sizeof(req_b), NOW) == NULL);
	CHECK(ocsp_cache_get(c, S("ocsp.a"), req_a, sizeof(req_a) - 1, NOW) ==
	    NULL);
	CHECK(ocsp_cache_get(c, S("ocsp."), req_a, sizeof(req_a), NOW) == NULL);
	CHECK(ocsp_cache_get(c, S(""), req_a, sizeof(req_a), NOW) == NULL);

	/* The separator keeps ("ab", "c") apart from ("a", "bc"). */
	CHECK(ocsp_cache_put(c, S("ab"), (const unsigned char *)"c", 1, resp_a,
	          sizeof(resp_a), &t, NOW) == 0);
	CHECK(ocsp_cache_get(c, S("a"), (const unsigned char *)"bc", 2, NOW) ==
	    NULL);
	CHECK(ocsp_cache_get(c, S("ab"), (const unsigned char *)"c", 1, NOW) !=
	    NULL);

	/* Empty key parts and body are allowed. */
	CHECK(ocsp_cache_put(c, NULL, 0, NULL, 0, NULL, 0, &t, NOW) == 0);
	e = ocsp_cache_get(c, NULL, 0, NULL, 0, NOW);
	CHECK(e != NULL && e->body_len == 0);

	ocsp_cache_stats(c, &st);
	CHECK(st.entries == 3);
	CHECK(st.bytes ==
	    ocsp_cache_entry_cost(6, sizeof(req_a), sizeof(resp_a)) +
	        ocsp_cache_entry_cost(2, 1, sizeof(resp_a)) +
	        ocsp_cache_entry_cost(0, 0, 0));
	CHECK(st.hits == 3);
	CHECK(st.misses == 7);
	CHECK(st.max_bytes == 1 << 20);
	ocsp_cache_free(c);
	ocsp_cache_free(NULL);
}

static void
test_expiry_boundary(void)
{
	struct ocsp_cache *c = ocsp_cache_new(1 << 20, 1);
	struct ocsp_cache_times t = times_until(NOW + 600);
	struct ocsp_cache_stats st;

	CHECK(ocsp_cache_put(c, S("r"), req_a, sizeof(req_a), resp_a,
	          sizeof(resp_a), &t, NOW) == 0);
	CHECK(
	    ocsp_cache_get(c, S("r"), req_a, sizeof(req_a), NOW + 599) != NULL);
	CHECK(
	    ocsp_cache_get(c, S("r"), req_a, sizeof(req_a), NOW + 600) == NULL);
	ocsp_cache_stats(c, &st);
	CHECK(st.entries == 0 && st.bytes == 0 && st.expired == 1);
	/* Removed: going back in time does not bring it back. */
	CHECK(ocsp_cache_get(c, S("r"), req_a, sizeof(req_a), NOW) == NULL);

	/* Already expired or expiring now: refused. */
	t.expires = NOW;
	CHECK(ocsp_cache_put(c, S("r"), req_a, sizeof(req_a), resp_a,
	          sizeof(resp_a), &t, NOW) == -1);
	t.expires = NOW - 1;
	CHECK(ocsp_cache_put(c, S("r"), req_a, sizeof(req_a), resp_a,
	          sizeof(resp_a), &t, NOW) == -1);

	/* A refused put drops the superseded entry. */
	t.expires = NOW + 10;
	CHECK(ocsp_cache_put(c, S("r"), req_a, sizeof(req_a), resp_a,
	          sizeof(resp_a), &t, NOW) == 0);
	t.expires = NOW;
	CHECK(ocsp_cache_put(c, S("r"), req_a, sizeof(req_a), resp_a,
	          sizeof(resp_a), &t, NOW) == -1);
	CHECK(ocsp_cache_get(c, S("r"), req_a, sizeof(req_a), NOW) == NULL);
	ocsp_cache_stats(c, &st);
	CHECK(st.entries == 0 && st.bytes == 0);
	ocsp_cache_free(c);
}

/* Ten entries of equal cost in a cache that holds exactly ten. */
#define LRU_N 10

static void
lru_key(unsigned i, unsigned char key[4])
{
	key[0] = 0x04;
	key[1] = 0x02;
	key[2] = (unsigned char)(i >> 8);
	key[3] = (unsigned char)i;
}

static bool
lru_has(struct ocsp_cache *c, unsigned i)
{
	unsigned char key[4];

	lru_key(i, key);
	return ocsp_cache_get(c, S("r"), key, sizeof(key), NOW) != NULL;
}

static void
lru_put(struct ocsp_cache *c, unsigned i)
{
	struct ocsp_cache_times t = times_until(NOW + 600);
	unsigned char key[4];

	lru_key(i, key);
	CHECKF(ocsp_cache_put(c, S("r"), key, sizeof(key), resp_a,
	           sizeof(resp_a), &t, NOW) == 0,
	    "put %u", i);
}

static void
test_lru(void)
{
	size_t cost = ocsp_cache_entry_cost(1, 4, sizeof(resp_a));
	struct ocsp_cache *c = ocsp_cache_new(LRU_N * cost, 7);
	struct ocsp_cache_stats st;

	for (unsigned i = 0; i < LRU_N; i++)
		lru_put(c, i);
	ocsp_cache_stats(c, &st);
	CHECK(st.entries == LRU_N && st.bytes == LRU_N * cost);
	CHECK(st.evictions == 0);

	/* 0 is refreshed, so 1 is now the least recently used. */
	CHECK(lru_has(c, 0));
	lru_put(c, LRU_N);
	CHECK(!lru_has(c, 1));
	CHECK(lru_has(c, 0));
	CHECK(lru_has(c, LRU_N));
	for (unsigned i = 2; i < LRU_N; i++)
		CHECKF(lru_has(c, i), "entry %u", i);
	ocsp_cache_stats(c, &st);
	CHECK(st.entries == LRU_N && st.evictions == 1);

	/* The gets above left 0, then LRU_N, least recently used; putting
	 * 0 again refreshes it, so LRU_N goes next. */
	lru_put(c, 0);
	lru_put(c, LRU_N + 1);
	CHECK(!lru_has(c, LRU_N));
	CHECK(lru_has(c, 0));

	/* Resize down keeps the three most recently used. */
	ocsp_cache_resize(c, 3 * cost);
	ocsp_cache_stats(c, &st);
	CHECK(st.entries == 3 && st.bytes == 3 * cost &&
	    st.max_bytes == 3 * cost);
	CHECK(lru_has(c, 0));
	CHECK(lru_has(c, LRU_N + 1));
	CHECK(lru_has(c, LRU_N - 1));
	CHECK(!lru_has(c, 3));

	/* Resize up keeps them all; 0 empties the cache. */
	ocsp_cache_resize(c, 100 * cost);
	ocsp_cache_stats(c, &st);
	CHECK(st.entries == 3);
	ocsp_cache_resize(c, 0);
	ocsp_cache_stats(c, &st);
	CHECK(st.entries == 0 && st.bytes == 0 && st.max_bytes == 0);
	CHECK(!lru_has(c, 0));
	ocsp_cache_free(c);
}

static void
test_replace(void)
{
	struct ocsp_cache *c = ocsp_cache_new(1 << 20, 3);
	struct ocsp_cache_times t = times_until(NOW + 600);
	static const unsigned char longer[] = "a longer response body";
	const struct ocsp_cache_entry *e;
	struct ocsp_cache_stats st;

	CHECK(ocsp_cache_put(c, S("r"), req_a, sizeof(req_a), resp_a,
	          sizeof(resp_a), &t, NOW) == 0);
	t.expires = NOW + 900;
	CHECK(ocsp_cache_put(c, S("r"), req_a, sizeof(req_a), longer,
	          sizeof(longer), &t, NOW + 5) == 0);
	e = ocsp_cache_get(c, S("r"), req_a, sizeof(req_a), NOW + 700);
	CHECK(e != NULL);
	if (e != NULL) {
		CHECK(e->body_len == sizeof(longer));
		CHECK(memcmp(e->body, longer, sizeof(longer)) == 0);
		CHECK(e->stored_at == NOW + 5 && e->expires == NOW + 900);
	}
	ocsp_cache_stats(c, &st);
	CHECK(st.entries == 1);
	CHECK(st.bytes ==
	    ocsp_cache_entry_cost(1, sizeof(req_a), sizeof(longer)));
	CHECK(st.evictions == 0);
	ocsp_cache_free(c);
}

static void
test_refusals(void)
{
	size_t cost = ocsp_cache_entry_cost(1, sizeof(req_a), 100);
	struct ocsp_cache *c = ocsp_cache_new(8 * cost, 5);
	struct ocsp_cache_times t = times_until(NOW + 600);
	static unsigned char body[101];
	struct ocsp_cache_stats st;

	/* Exactly an eighth of the bound fits; one byte more does not. */
	CHECK(ocsp_cache_put(
	          c, S("r"), req_a, sizeof(req_a), body, 100, &t, NOW) == 0);
	CHECK(ocsp_cache_put(
	          c, S("r"), req_b, sizeof(req_b), body, 101, &t, NOW) == -1);
	CHECK(ocsp_cache_get(c, S("r"), req_b, sizeof(req_b), NOW) == NULL);
	CHECK(ocsp_cache_get(c, S("r"), req_a, sizeof(req_a), NOW) != NULL);
	ocsp_cache_stats(c, &st);
	CHECK(st.entries == 1 && st.bytes == cost);

	CHECK(ocsp_cache_entry_cost(SIZE_MAX, 1, 1) == SIZE_MAX);
	CHECK(ocsp_cache_entry_cost(1, SIZE_MAX - 2, 1) == SIZE_MAX);
	CHECK(ocsp_cache_entry_cost(1, 1, SIZE_MAX) == SIZE_MAX);
	CHECK(ocsp_cache_entry_cost(0, 0, 0) > 1);
	ocsp_cache_free(c);

	/* A zero-sized cache takes nothing. */
	c = ocsp_cache_new(0, 5);
	CHECK(ocsp_cache_put(c, S("r"), req_a, sizeof(req_a), resp_a,
	          sizeof(resp_a), &t, NOW) == -1);
	CHECK(ocsp_cache_put(c, NULL, 0, NULL, 0, NULL, 0, &t, NOW) == -1);
	CHECK(ocsp_cache_get(c, S("r"), req_a, sizeof(req_a), NOW) == NULL);
	ocsp_cache_stats(c, &st);
	CHECK(st.entries == 0 && st.bytes == 0);
	ocsp_cache_free(c);
}

/* Random sizes: the bound holds after every step. */
static void
test_byte_bound(void)
{
	const size_t max = 64 * 1024;
	struct ocsp_cache *c = ocsp_cache_new(max, 11);
	struct ocsp_cache_times t = times_until(NOW + 600);
	static unsigned char body[12 * 1024];
	unsigned char key[8];
	struct ocsp_cache_stats st;
	uint64_t rng = 0x9e3779b97f4a7c15;
	unsigned stored = 0, refused = 0, over = 0;

	for (unsigned i = 0; i < 5000; i++) {
		uint64_t r = test_rand(&rng);
		size_t len = (size_t)(r % sizeof(body)) + 1;

		memcpy(key, &r, sizeof(key));
		if (ocsp_cache_put(
		        c, S("r"), key, 1 + (r >> 61), body, len, &t, NOW) == 0)
			stored++;
		else
			refused++;
		ocsp_cache_stats(c, &st);
		if (st.bytes > max)
			over++;
	}
	CHECK(over == 0);
	CHECK(stored > 0 && refused > 0); /* some over max/8, some not */
	ocsp_cache_stats(c, &st);
	CHECK(st.evictions > 0);
	ocsp_cache_free(c);
}

struct max_age_case {
	const char *in;
	size_t len;
	int ret;
	long max_age;
};

static const struct max_age_case max_age_cases[] = {
    {S(""), 0, 0},
    {S("max-age=60"), 1, 60},
    {S("max-age=0"), 1, 0},
    {S("MAX-AGE=5"), 1, 5},
    {S("Max-Age=5"), 1, 5},
    {S("public, max-age=\"30\""), 1, 30},
    {S("public,max-age=30,must-revalidate"), 1, 30},
    {S("  public ,\tmax-age=30 ,  no-transform  "), 1, 30},
    {S(",,max-age=30,,"), 1, 30},
    {S("max-age=60, s-maxage=10"), 1, 10},
    {S("s-maxage=100, max-age=60"), 1, 100},
    {S("S-MAXAGE=7"), 1, 7},
    {S("max-age=60, s-maxage=abc"), 1, 60},
    {S("max-age=60, max-age=30"), 1, 30},
    {S("max-age=30, max-age=60"), 1, 30},
    {S("no-store"), -1, 0},
    {S("NO-STORE"), -1, 0},
    {S("max-age=60, no-store"), -1, 0},
    {S("no-cache"), -1, 0},
    {S("no-cache=\"Set-Cookie\", max-age=60"), -1, 0},
    {S("private"), -1, 0},
    {S("private=\"x, y\", max-age=5"), -1, 0},
    {S("public, max-age=60, private"), -1, 0},
    {S("no-store junk"), -1, 0},
    {S("nostore, max-age=60"), 1, 60},
    {S("no-stores"), 0, 0},
    {S("garbage"), 0, 0},
    {S("max-age"), 0, 0},
    {S("max-age="), 0, 0},
    {S("max-age=\"\""), 0, 0},
    {S("max-age=-1"), 0, 0},
    {S("max-age=+5"), 0, 0},
    {S("max-age=5s"), 0, 0},
    {S("max-age=1.5"), 0, 0},
    {S("max-age=0x10"), 0, 0},
    {S("max-age=\"30"), 0, 0},
    {S("max-age=30 40"), 0, 0},
    {S("max-age=\"3\\0\""), 0, 0},
    {S("max-agex=30"), 0, 0},
    {S("xmax-age=30"), 0, 0},
    {S("=30, max-age=20"), 1, 20},
    {S("\"q,max-age=1\", max-age=20"), 1, 20},
    {S("foo=\"a,b\", max-age=20"), 1, 20},
    {S("max-age = 20"), 1, 20},
    {S("max-age=20\0, no-store"), -1, 0},
    {S("max-age=31536000"), 1, OCSP_CACHE_MAX_AGE_LIMIT_SEC},
    {S("max-age=31536001"), 1, OCSP_CACHE_MAX_AGE_LIMIT_SEC},
    {S("max-age=99999999999999999999999999999999"), 1,
        OCSP_CACHE_MAX_AGE_LIMIT_SEC},
    {S("s-maxage=18446744073709551616"), 1, OCSP_CACHE_MAX_AGE_LIMIT_SEC},
    {S("max-age=000000000000000000000000000042"), 1, 42},
};

static void
test_parse_max_age(void)
{
	for (size_t i = 0; i < sizeof(max_age_cases) / sizeof(max_age_cases[0]);
	     i++) {
		const struct max_age_case *tc = &max_age_cases[i];
		long v = -12345;
		int ret = ocsp_cache_parse_max_age(tc->in, tc->len, &v);

		CHECKF(ret == tc->ret, "\"%s\": got %d, want %d", tc->in, ret,
		    tc->ret);
		if (tc->ret == 1)
			CHECKF(v == tc->max_age, "\"%s\": got %ld, want %ld",
			    tc->in, v, tc->max_age);
		else
			CHECKF(v == -12345, "\"%s\": *max_age written", tc->in);
	}
	/* The length bounds the value: no NUL needed. */
	{
		long v = 0;

		CHECK(ocsp_cache_parse_max_age("max-age=12no-store", 10, &v) ==
		    1);
		CHECK(v == 12);
		CHECK(ocsp_cache_parse_max_age(NULL, 0, &v) == 0);
	}
}

struct expiry_case {
	time_t now;
	time_t next_update;
	int have_max_age;
	long max_age;
	time_t want;
	long lifetime; /* cache_max_age; 0 when left out */
};

static const struct expiry_case expiry_cases[] = {
    /* Neither nextUpdate nor max-age: not cached. */
    {NOW, 0, 0, 0, 0, 0},
    /* nextUpdate only. */
    {NOW, NOW + 3600, 0, 0, NOW + 3600, 0},
    {NOW, NOW + 1, 0, 0, NOW + 1, 0},
    {NOW, NOW, 0, 0, 0, 0},
    {NOW, NOW - 1, 0, 0, 0, 0},
    /* max-age only. */
    {NOW, 0, 1, 60, NOW + 60, 0},
    {NOW, 0, 1, 0, 0, 0},
    {NOW, 0, 1, -5, 0, 0},
    {NOW, 0, 1, 10L * OCSP_CACHE_MAX_AGE_LIMIT_SEC,
        NOW + OCSP_CACHE_MAX_AGE_LIMIT_SEC, 0},
    /* Both: the earlier wins. */
    {NOW, NOW + 3600, 1, 60, NOW + 60, 0},
    {NOW, NOW + 30, 1, 60, NOW + 30, 0},
    {NOW, NOW + 60, 1, 60, NOW + 60, 0},
    {NOW, NOW + 3600, 1, 0, 0, 0},
    {NOW, NOW - 10, 1, 60, 0, 0},
    /* max_age is ignored without have_max_age. */
    {NOW, NOW + 3600, 0, 60, NOW + 3600, 0},
    /* cache_max_age bounds whatever the answer says. */
    {NOW, NOW + 10L * 86400, 0, 0, NOW + 3L * 86400, 3L * 86400},
    {NOW, NOW + 100L * 365 * 86400, 0, 0, NOW + 3L * 86400, 3L * 86400},
    {NOW, 0, 1, 30L * 86400, NOW + 3L * 86400, 3L * 86400},
    {NOW, NOW + 10L * 86400, 1, 7L * 86400, NOW + 3L * 86400, 3L * 86400},
    {NOW, NOW + 3600, 0, 0, NOW + 3600, 3L * 86400},
    {NOW, NOW + 3600, 1, 60, NOW + 60, 3L * 86400},
    {NOW, NOW + 7200, 0, 0, NOW + 3600, 3600},
    {NOW, NOW + 3600, 0, 0, NOW + 3600, 3600},
    /* It never makes an uncacheable answer cacheable. */
    {NOW, 0, 0, 0, 0, 3L * 86400},
    {NOW, NOW - 1, 0, 0, 0, 3L * 86400},
    /* Beyond the limit it is clamped like max-age. */
    {NOW, NOW + 2 * OCSP_CACHE_MAX_AGE_LIMIT_SEC, 0, 0,
        NOW + OCSP_CACHE_MAX_AGE_LIMIT_SEC,
        100L * OCSP_CACHE_MAX_AGE_LIMIT_SEC},
};

static void
test_expiry(void)
{
	for (size_t i = 0; i < sizeof(expiry_cases) / sizeof(expiry_cases[0]);
	     i++) {
		const struct expiry_case *tc = &expiry_cases[i];
		time_t got = ocsp_cache_expiry(tc->now, tc->next_update,
		    tc->have_max_age, tc->max_age, tc->lifetime);

		CHECKF(got == tc->want, "case %zu: got %lld, want %lld", i,
		    (long long)got, (long long)tc->want);
	}
}

/*
 * 200k random puts and gets on a small bound, checked against a model
 * that remembers the last version put under each key: a hit must carry
 * exactly that version's body and must not be expired. Each request is
 * asked of two responders, which the key must tell apart. The bound is
 * changed now and then, as on reload.
 */
#define STRESS_REQUESTS 256
#define STRESS_SLOTS    (2 * STRESS_REQUESTS) /* request x responder */
#define STRESS_OPS      200000

static size_t
stress_body(unsigned slot, unsigned version, unsigned char *body)
{
	size_t len = 1 + (slot * 131u + version * 7u) % 600;

	for (size_t i = 0; i < len; i++)
		body[i] = (unsigned char)(slot ^ (version * 31u) ^ i);
	return len;
}

static void
test_stress(void)
{
	const size_t max = 48 * 1024;
	struct ocsp_cache *c = ocsp_cache_new(max, 0xfeedface);
	static long version[STRESS_SLOTS]; /* -1: nothing stored */
	static time_t expires[STRESS_SLOTS];
	unsigned char body[1024];
	uint64_t rng = 12345;
	unsigned bad = 0, over = 0, hits = 0;
	struct ocsp_cache_stats st;
	time_t now = NOW;

	for (unsigned k = 0; k < STRESS_SLOTS; k++)
		version[k] = -1;
	for (unsigned i = 0; i < STRESS_OPS; i++) {
		uint64_t r = test_rand(&rng);
		unsigned k = (unsigned)(r % STRESS_SLOTS);
		unsigned char key[2] = {0x30, (unsigned char)(k >> 1)};
		const char *resp = (k & 1) ? "ocsp.a" : "ocsp.b";

		if ((r >> 40) % 64 == 0)
			now++;
		if ((r >> 20) % 3 == 0) {
			struct ocsp_cache_times t = {
			    now - 5, 0, now + (time_t)((r >> 48) % 40)};
			unsigned v = (unsigned)(r >> 52);
			size_t len = stress_body(k, v, body);

			if (ocsp_cache_put(c, resp, 6, key, sizeof(key), body,
			        len, &t, now) == 0) {
				version[k] = v;
				expires[k] = t.expires;
			} else {
				version[k] = -1;
			}
		} else {
			const struct ocsp_cache_entry *e =
			    ocsp_cache_get(c, resp, 6, key, sizeof(key), now);
			size_t len;

			if (e != NULL) {
				hits++;
				if (version[k] < 0 || now >= expires[k] ||
				    e->expires != expires[k]) {
					bad++;
				} else {
					len = stress_body(
					    k, (unsigned)version[k], body);
					if (e->body_len != len ||
					    memcmp(e->body, body, len) != 0)
						bad++;
				}
			}
		}
		if ((r >> 8) % 40000 == 0)
			ocsp_cache_resize(c, (size_t)(r >> 24) % (2 * max));
		else if ((r >> 8) % 40000 == 1)
			ocsp_cache_resize(c, max);
		ocsp_cache_stats(c, &st);
		if (st.bytes > st.max_bytes)
			over++;
	}
	CHECK(bad == 0);
	CHECK(over == 0);
	CHECK(hits > 1000);
	ocsp_cache_stats(c, &st);
	CHECK(st.evictions > 0 && st.expired > 0);
	ocsp_cache_free(c);
}

static void
test_shards(void)
{
	static const struct {
		size_t bytes, shards;
	} t[] = {
	    {0, 1},
	    {20000, 1},
	    {(1u << 20) - 1, 1},
	    {1u << 20, 1},
	    {(2u << 20) - 1, 1},
	    {2u << 20, 2},
	    {3u << 20, 2},
	    {4u << 20, 4},
	    {15u << 20, 8},
	    {16u << 20, 16},
	    {32u << 20, 16}, /* the default cache_size */
	    {(size_t)1 << 34, 16},
	    {SIZE_MAX, 16},
	};

	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		size_t n = ocsp_cache_shards(t[i].bytes);

		CHECKF(
		    n == t[i].shards, "%zu bytes: %zu shards", t[i].bytes, n);
		/* Each shard keeps its minimum, unless there is one. */
		CHECK(n == 1 || t[i].bytes / n >= OCSP_CACHE_SHARD_MIN_BYTES);
	}
}

/* SipHash-1-3 of <p>, the definition read byte by byte: the oracle. */
#define REF_ROTL(x, b) (((x) << (b)) | ((x) >> (64 - (b))))
static uint64_t
ref_siphash13(uint64_t k0, uint64_t k1, const unsigned char *p, size_t n)
{
	uint64_t v0 = UINT64_C(0x736f6d6570736575) ^ k0;
	uint64_t v1 = UINT64_C(0x646f72616e646f6d) ^ k1;
	uint64_t v2 = UINT64_C(0x6c7967656e657261) ^ k0;
	uint64_t v3 = UINT64_C(0x7465646279746573) ^ k1;
	uint64_t m;
	size_t i = 0;
	int r;

	for (;;) {
		size_t k, left = n - i;

		m = 0;
		for (k = 0; k < 8 && k < left; k++)
			m |= (uint64_t)p[i + k] << (8 * k);
		if (left < 8)
			m |= (uint64_t)n << 56;
		for (r = 0; r < (left < 8 ? 4 : 1); r++) {
			if (r == 1)
				v2 ^= 0xff;
			if (r == 0)
				v3 ^= m;
			v0 += v1;
			v1 = REF_ROTL(v1, 13);
			v1 ^= v0;
			v0 = REF_ROTL(v0, 32);
			v2 += v3;
			v3 = REF_ROTL(v3, 16);
			v3 ^= v2;
			v0 += v3;
			v3 = REF_ROTL(v3, 21);
			v3 ^= v0;
			v2 += v1;
			v1 = REF_ROTL(v1, 17);
			v1 ^= v2;
			v2 = REF_ROTL(v2, 32);
			if (r == 0)
				v0 ^= m;
		}
		if (left < 8)
			return v0 ^ v1 ^ v2 ^ v3;
		i += 8;
	}
}

/*
 * The shard is the high half of SipHash-1-3 over responder, the key
 * separator and the request, keyed with the seed and its splitmix64
 * step: checked against the byte-by-byte definition for every split of
 * lengths around the 8-byte blocks (the word-at-a-time reads and the
 * carried tail must give the same bits).
 */
static void
test_shard_hash(void)
{
	unsigned char buf[64], key[128];
	uint64_t rs = 7, seed = UINT64_C(0x0123456789abcdef);
	uint64_t k1 = hash_mix64(seed + UINT64_C(0x9e3779b97f4a7c15));
	unsigned bad = 0;

	for (size_t k = 0; k < sizeof(buf); k++)
		buf[k] = (unsigned char)test_rand(&rs);
	for (size_t rl = 0; rl <= 20; rl++) {
		for (size_t ql = 0; ql <= 40; ql++) {
			size_t got, want;

			memcpy(key, buf, rl);
			key[rl] = '\0'; /* the key's separator */
			memcpy(key + rl + 1, buf + 20, ql);
			want = (size_t)(ref_siphash13(
			                    seed, k1, key, rl + 1 + ql) >>
			    32);
			got = ocsp_cache_shard_of(seed, (size_t)1 << 32,
			    (const char *)buf, rl, buf + 20, ql);
			bad += got != want;
		}
	}
	CHECKF(bad == 0, "%u of 861 keys hashed otherwise", bad);
}

/*
 * Which shard holds a key: one shard takes all; the choice depends on
 * the whole key (responder and request) and on the seed, and is the same
 * every time; keys spread over the shards.
 */
static void
test_shard_of(void)
{
	size_t count[OCSP_CACHE_SHARDS_MAX] = {0};
	unsigned char req[16];
	uint64_t rs = 42;
	size_t moved = 0;

	CHECK(ocsp_cache_shard_of(1, 1, S("r"), req_a, sizeof(req_a)) == 0);
	CHECK(ocsp_cache_shard_of(1, 0, S("r"), req_a, sizeof(req_a)) == 0);
	CHECK(ocsp_cache_shard_of(1, 16, NULL, 0, NULL, 0) < 16);
	for (unsigned i = 0; i < 4096; i++) {
		size_t a, b;

		for (size_t k = 0; k < sizeof(req); k++)
			req[k] = (unsigned char)test_rand(&rs);
		a = ocsp_cache_shard_of(
		    7, 16, S("ocsp.ca.test"), req, sizeof(req));
		CHECK(a < 16);
		CHECK(a ==
		    ocsp_cache_shard_of(
		        7, 16, S("ocsp.ca.test"), req, sizeof(req)));
		count[a]++;
		b = ocsp_cache_shard_of(
		    8, 16, S("ocsp.ca.test"), req, sizeof(req));
		moved += a != b;
		/* The responder is part of the key, byte by byte. */
		if (ocsp_cache_shard_of(
		        7, 16, S("ocsp.ca.tesu"), req, sizeof(req)) != a)
			moved++;
	}
	/* 4096 keys over 16 shards: 256 each on average. */
	for (size_t i = 0; i < 16; i++)
		CHECKF(count[i] > 128 && count[i] < 384, "shard %zu: %zu", i,
		    count[i]);
	CHECK(moved > 4096); /* another seed or responder: another shard */
}

int
main(void)
{
	test_hit_and_miss();
	test_expiry_boundary();
	test_lru();
	test_replace();
	test_refusals();
	test_byte_bound();
	test_parse_max_age();
	test_expiry();
	test_stress();
	test_shards();
	test_shard_of();
	test_shard_hash();
	return check_done();
}
