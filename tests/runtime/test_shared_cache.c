/*
 * The process's RFC 5019 cache, alone and under threads: an answer put
 * by one thread is found by another; the config it was stored under is
 * the only one it is served to; a configure with another config empties
 * it and cuts it into the shards that config's cache_size gives, and one
 * with the same config changes nothing; cache_size 0 stores nothing;
 * the figures add up over the shards, evictions carried across a
 * configure. Then four threads putting and getting at once, under two
 * configs, while a fifth switches the cache between them: every hit is
 * the very answer stored for that key under that config, and the bound
 * holds. It runs in the plain and the ASan builds; built with
 * -fsanitize=thread (this test with shared_cache.c, cache.c and hash.c
 * compiled so) it is clean, and with the shard locks taken out
 * ThreadSanitizer reports races in the first run.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "ocspgate/cache.h"
#include "ocspgate/config.h"
#include "ocspgate/shared_cache.h"

#define S(lit) lit, sizeof(lit) - 1

#define NOW      ((time_t)1700000000)
#define THREADS  4
#define ROUNDS   20000
#define KEYS     512
#define BODY_MAX 600
#define SWITCHES 200

static struct config *
load(const char *size)
{
	char text[256], err[2048];
	struct config *c;

	snprintf(text, sizeof(text),
	    "listen = [ \"127.0.0.1:0\" ];\ncache_size = %s;\n", size);
	if ((c = config_load_string("t.conf", text, err, sizeof(err))) ==
	    NULL) {
		fprintf(stderr, "%s", err);
		exit(2);
	}
	return c;
}

static struct ocsp_cache_times
times_until(time_t expires)
{
	struct ocsp_cache_times t = {NOW - 60, NOW + 3600, expires};

	return t;
}

/* What a hit copies: the body, checked after the lock is gone. */
struct copied {
	unsigned char body[4096];
	size_t len;
};

static bool
copy_body(void *arg, const struct ocsp_cache_entry *e)
{
	struct copied *c = arg;

	if (e->body_len > sizeof(c->body))
		return false;
	memcpy(c->body, e->body, e->body_len);
	c->len = e->body_len;
	return true;
}

static bool
refuse(void *arg, const struct ocsp_cache_entry *e)
{
	(void)arg;
	(void)e;
	return false;
}

static bool
get(struct shared_cache *sc, const struct config *cfg, const char *r,
    const unsigned char *req, size_t reqlen, struct copied *out)
{
	return shared_cache_get(
	    sc, cfg, r, strlen(r), req, reqlen, NOW, copy_body, out);
}

static int
put(struct shared_cache *sc, const struct config *cfg, const char *r,
    const unsigned char *req, size_t reqlen, const unsigned char *resp,
    size_t resplen)
{
	struct ocsp_cache_times t = times_until(NOW + 600);

	return shared_cache_put(
	    sc, cfg, r, strlen(r), req, reqlen, resp, resplen, &t, NOW);
}

static void
test_alone(void)
{
	struct config *a = load("33554432"), *b = load("20000"),
	              *off = load("0");
	struct shared_cache *sc = shared_cache_new();
	static const unsigned char req[] = {0x30, 0x03, 0x02, 0x01, 0x07};
	static const unsigned char resp[] = {0x30, 0x03, 0x0a, 0x01, 0x00};
	struct ocsp_cache_stats st;
	struct copied got;

	CHECK(sc != NULL);
	/* Before any configure: nothing stored, nothing found. */
	CHECK(put(sc, a, "r", req, sizeof(req), resp, sizeof(resp)) == -1);
	CHECK(!get(sc, a, "r", req, sizeof(req), &got));
	shared_cache_stats(sc, &st);
	CHECK(st.entries == 0 && st.max_bytes == 0);

	shared_cache_configure(sc, a);
	shared_cache_stats(sc, &st);
	/* 32 MiB: sixteen shards of 2 MiB. */
	CHECK(st.max_bytes == 33554432);
	CHECK(put(sc, a, "r", req, sizeof(req), resp, sizeof(resp)) == 0);
	CHECK(get(sc, a, "r", req, sizeof(req), &got));
	CHECK(got.len == sizeof(resp) && memcmp(got.body, resp, got.len) == 0);
	/* The copy function may decline the hit. */
	CHECK(!shared_cache_get(
	    sc, a, S("r"), req, sizeof(req), NOW, refuse, NULL));
	/* Another responder, another config: misses. */
	CHECK(!get(sc, a, "s", req, sizeof(req), &got));
	CHECK(!get(sc, b, "r", req, sizeof(req), &got));
	CHECK(put(sc, b, "r", req, sizeof(req), resp, sizeof(resp)) == -1);
	/* Expired: a miss. */
	CHECK(!shared_cache_get(
	    sc, a, S("r"), req, sizeof(req), NOW + 600, copy_body, &got));
	CHECK(put(sc, a, "r", req, sizeof(req), resp, sizeof(resp)) == 0);
	shared_cache_stats(sc, &st);
	CHECK(st.entries == 1 && st.bytes > 0 && st.expired == 1);
	CHECK(st.hits == 2 && st.misses >= 2);

	/* The same config again: kept. */
	shared_cache_configure(sc, a);
	CHECK(get(sc, a, "r", req, sizeof(req), &got));

	/* Another one: emptied, one shard of its size; the counters stay. */
	shared_cache_configure(sc, b);
	shared_cache_stats(sc, &st);
	CHECK(st.entries == 0 && st.bytes == 0 && st.max_bytes == 20000);
	CHECK(st.expired == 1);
	CHECK(!get(sc, b, "r", req, sizeof(req), &got));
	CHECK(!get(sc, a, "r", req, sizeof(req), &got));
	CHECK(put(sc, a, "r", req, sizeof(req), resp, sizeof(resp)) == -1);
	CHECK(put(sc, b, "r", req, sizeof(req), resp, sizeof(resp)) == 0);
	CHECK(get(sc, b, "r", req, sizeof(req), &got));

	/* Off. */
	shared_cache_configure(sc, off);
	CHECK(put(sc, off, "r", req, sizeof(req), resp, sizeof(resp)) == -1);
	CHECK(!get(sc, off, "r", req, sizeof(req), &got));
	shared_cache_stats(sc, &st);
	CHECK(st.entries == 0 && st.max_bytes == 0);

	/* The cache held its own references: these are the last. */
	shared_cache_free(sc);
	shared_cache_free(NULL);
	shared_cache_stats(NULL, &st);
	CHECK(st.entries == 0 && st.max_bytes == 0);
	config_unref(a);
	config_unref(b);
	config_unref(off);
}

/*
 * A worker late to a reload applies the older config after another
 * applied the newer (or its own switch failed): the cache stays the
 * newer one's, and the late worker misses until it switches too.
 */
static void
test_late_worker(void)
{
	struct config *old = load("33554432"), *new = load("33554432");
	struct shared_cache *sc = shared_cache_new();
	static const unsigned char req[] = {0x30, 0x03, 0x02, 0x01, 0x07};
	static const unsigned char resp[] = {0x30, 0x03, 0x0a, 0x01, 0x00};
	struct copied got;

	CHECK(sc != NULL && old != NULL && new != NULL);
	new->generation = old->generation + 1;
	shared_cache_configure(sc, old);
	shared_cache_configure(sc, new);
	CHECK(put(sc, new, "r", req, sizeof(req), resp, sizeof(resp)) == 0);
	shared_cache_configure(sc, old); /* the late worker */
	CHECK(get(sc, new, "r", req, sizeof(req), &got));
	CHECK(!get(sc, old, "r", req, sizeof(req), &got));
	CHECK(put(sc, old, "r", req, sizeof(req), resp, sizeof(resp)) == -1);
	shared_cache_free(sc);
	config_unref(old);
	config_unref(new);
}

/*
 * One shard's bound: a cache of 20000 bytes (one shard) refuses an entry
 * over an eighth of it and evicts the oldest to make room; 32 MiB (16
 * shards of 2 MiB) takes an entry of 200 KB, under an eighth of a shard.
 */
static void
test_bounds(void)
{
	struct config *small = load("20000"), *big = load("33554432");
	struct shared_cache *sc = shared_cache_new();
	static unsigned char resp[200000];
	unsigned char req[8] = {0x30, 0x06};
	struct ocsp_cache_stats st;
	struct copied got;

	shared_cache_configure(sc, small);
	CHECK(put(sc, small, "r", req, sizeof(req), resp, 3000) == -1);
	for (unsigned i = 0; i < 40; i++) {
		req[7] = (unsigned char)i;
		CHECK(put(sc, small, "r", req, sizeof(req), resp, 2000) == 0);
	}
	shared_cache_stats(sc, &st);
	CHECK(st.bytes <= 20000 && st.evictions > 0 && st.entries < 40);
	CHECK(get(sc, small, "r", req, sizeof(req), &got));
	req[7] = 0;
	CHECK(!get(sc, small, "r", req, sizeof(req), &got));

	shared_cache_configure(sc, big);
	CHECK(put(sc, big, "r", req, sizeof(req), resp, sizeof(resp)) == 0);
	shared_cache_stats(sc, &st);
	CHECK(st.entries == 1 && st.evictions > 0);
	shared_cache_free(sc);
	config_unref(small);
	config_unref(big);
}

/* ------------------------------------------------------------------ */
/* Threads */

struct run {
	struct shared_cache *sc;
	struct config *cfg[2];
	atomic_bool stop;
};

struct thread_arg {
	struct run *run;
	unsigned id;
	unsigned hits, puts, bad;
	unsigned char stored[KEYS]; /* puts of each key, at most 255 */
};

/* xorshift64*: deterministic per thread. */
static uint64_t
next_rand(uint64_t *s)
{
	*s ^= *s >> 12;
	*s ^= *s << 25;
	*s ^= *s >> 27;
	return *s * UINT64_C(0x2545f4914f6cdd1d);
}

/*
 * The answer stored for key <k> under config <which>: a length and bytes
 * that only that pair gives, so a hit carrying anything else (another
 * key's, another config's, a torn copy) shows.
 */
static size_t
answer_of(unsigned k, unsigned which, unsigned char *out)
{
	size_t len = 40 + (k * 37 + which * 11) % (BODY_MAX - 40);

	for (size_t i = 0; i < len; i++)
		out[i] = (unsigned char)(k * 131 + which * 17 + i);
	return len;
}

static void *
thread_main(void *p)
{
	struct thread_arg *a = p;
	uint64_t rs = 0x9e3779b97f4a7c15u * (a->id + 1);
	unsigned char req[6] = {0x30, 0x04, 0x02, 0x02};
	unsigned char want[BODY_MAX];
	struct copied got;

	for (unsigned i = 0; i < ROUNDS; i++) {
		uint64_t r = next_rand(&rs);
		unsigned k = (unsigned)(r % KEYS),
		         which = (unsigned)(r >> 32) & 1;
		const struct config *cfg = a->run->cfg[which];
		/* The answer goes with the config, not with the draw. */
		size_t len = answer_of(k, cfg == a->run->cfg[0] ? 0 : 1, want);

		req[4] = (unsigned char)(k >> 8);
		req[5] = (unsigned char)k;
		if (get(a->run->sc, cfg, "ocsp.ca.test", req, sizeof(req),
		        &got)) {
			a->hits++;
			if (got.len != len || memcmp(got.body, want, len) != 0)
				a->bad++;
		} else if (put(a->run->sc, cfg, "ocsp.ca.test", req,
		               sizeof(req), want, len) == 0) {
			a->puts++;
			if (a->stored[k] < 255)
				a->stored[k]++;
		}
	}
	return NULL;
}

/* A worker switching to a config at a reload, and back, bounded. */
static void *
switch_main(void *p)
{
	struct run *run = p;

	for (unsigned i = 0; i < SWITCHES && !atomic_load(&run->stop); i++) {
		shared_cache_configure(run->sc, run->cfg[i & 1]);
		for (volatile unsigned spin = 0; spin < 20000; spin++)
			;
	}
	return NULL;
}

static void
test_threads(void)
{
	struct run run;
	struct thread_arg args[THREADS];
	pthread_t t[THREADS], sw;
	struct ocsp_cache_stats st;
	struct config *single;
	unsigned hits = 0, puts = 0;

	run.sc = shared_cache_new();
	/* Sixteen shards each, and one: both counts race each other. */
	run.cfg[0] = load("33554432");
	run.cfg[1] = load("1048576");
	atomic_init(&run.stop, false);
	shared_cache_configure(run.sc, run.cfg[0]);
	for (unsigned i = 0; i < THREADS; i++) {
		args[i] = (struct thread_arg){.run = &run, .id = i};
		if (pthread_create(&t[i], NULL, thread_main, &args[i]) != 0) {
			perror("pthread_create");
			exit(2);
		}
	}
	if (pthread_create(&sw, NULL, switch_main, &run) != 0) {
		perror("pthread_create");
		exit(2);
	}
	for (unsigned i = 0; i < THREADS; i++) {
		pthread_join(t[i], NULL);
		CHECKF(args[i].bad == 0, "thread %u: %u wrong answers", i,
		    args[i].bad);
		hits += args[i].hits;
		puts += args[i].puts;
	}
	atomic_store(&run.stop, true);
	pthread_join(sw, NULL);
	/* Keys were asked again and again: some were found. */
	CHECKF(hits > 0 && puts > 0, "%u hits, %u puts", hits, puts);
	shared_cache_stats(run.sc, &st);
	CHECK(st.bytes <= st.max_bytes);

	/*
	 * Settled on one config, every thread finds what any other stored:
	 * a thread misses a key only until someone's put of it is done,
	 * so no thread stores one key twice, and every key is held once.
	 */
	shared_cache_configure(run.sc, run.cfg[0]);
	single = run.cfg[1];
	run.cfg[1] = run.cfg[0]; /* every thread under the one config */
	for (unsigned i = 0; i < THREADS; i++) {
		args[i] = (struct thread_arg){.run = &run, .id = i};
		if (pthread_create(&t[i], NULL, thread_main, &args[i]) != 0) {
			perror("pthread_create");
			exit(2);
		}
	}
	for (unsigned i = 0; i < THREADS; i++) {
		unsigned twice = 0;

		pthread_join(t[i], NULL);
		CHECK(args[i].bad == 0);
		for (unsigned k = 0; k < KEYS; k++)
			twice += args[i].stored[k] > 1;
		CHECKF(twice == 0, "thread %u stored %u keys twice", i, twice);
		CHECK(args[i].hits + args[i].puts == ROUNDS);
	}
	shared_cache_stats(run.sc, &st);
	CHECKF(st.entries == KEYS, "%zu entries", st.entries);
	shared_cache_free(run.sc);
	config_unref(run.cfg[0]);
	config_unref(single);
}

int
main(void)
{
	test_alone();
	test_late_worker();
	test_bounds();
	test_threads();
	return check_done();
}
