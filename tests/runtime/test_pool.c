/*
 * The request-buffer pool alone: a buffer given back comes back for the
 * same size only; the bounds on what is kept (count, bytes, size of one)
 * hold; a trim keeps at most what it is told, the last given back going
 * first; a working-set trim gives back only what no request took since
 * the last one (a busy worker's swing is kept); a reused buffer never shows
 * what its last user wrote when the memory checker is on (ASan fills it, as
 * malloc() would).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "ocspgate/pool.h"

#if defined(__has_feature)
#if __has_feature(address_sanitizer)
#define TEST_ASAN 1
#endif
#endif
#if defined(__SANITIZE_ADDRESS__) && !defined(TEST_ASAN)
#define TEST_ASAN 1
#endif

/* A new buffer, as the pool makes them (an empty pool hands out new). */
static void *
test_fresh(size_t size)
{
	struct pool empty;

	pool_init(&empty);
	return pool_get(&empty, size);
}

static void
test_reuse(void)
{
	struct pool p;
	unsigned char *a, *b, *c;

	pool_init(&p);
	CHECK(p.n == 0 && p.bytes == 0);
	a = pool_get(&p, 4096);
	CHECK(a != NULL);
	memset(a, 'A', 4096);
	pool_put(&p, a, 4096);
	CHECK(p.n == 1 && p.bytes == 4096);
	/* Another size: a fresh buffer, the kept one stays. */
	b = pool_get(&p, 8192);
	CHECK(b != NULL && b != a);
	CHECK(p.n == 1 && p.bytes == 4096);
	/* The same size: the kept one. */
	c = pool_get(&p, 4096);
	CHECK(c == a);
	CHECK(p.n == 0 && p.bytes == 0);
#ifdef TEST_ASAN
	/* Fresh to the checker: filled, not what the last user left. */
	CHECK(c[0] == 0xbe && c[4095] == 0xbe);
#endif
	pool_put(&p, b, 8192);
	pool_put(&p, c, 4096);
	pool_put(&p, NULL, 4096); /* takes NULL */
	CHECK(p.n == 2 && p.bytes == 8192 + 4096);
	pool_free(&p);
	CHECK(p.n == 0 && p.bytes == 0 && p.free == NULL);
}

static void
test_bounds(void)
{
	struct pool p;
	void *big;
	size_t size;

	pool_init(&p);
	/* One buffer over POOL_BUF_MAX is freed, not kept. */
	big = pool_get(&p, POOL_BUF_MAX + 1);
	CHECK(big != NULL);
	pool_put(&p, big, POOL_BUF_MAX + 1);
	CHECK(p.n == 0 && p.bytes == 0);
	big = pool_get(&p, POOL_BUF_MAX);
	pool_put(&p, big, POOL_BUF_MAX);
	CHECK(p.n == 1 && p.bytes == POOL_BUF_MAX);
	pool_free(&p);

	/* At most POOL_MAX buffers. */
	pool_init(&p);
	for (size_t i = 0; i < POOL_MAX + 8; i++)
		pool_put(&p, test_fresh(16), 16);
	CHECK(p.n == POOL_MAX && p.bytes == 16 * POOL_MAX);
	pool_free(&p);

	/* At most POOL_BYTES in all. */
	pool_init(&p);
	size = POOL_BUF_MAX;
	for (size_t i = 0; i < POOL_BYTES / size + 4; i++)
		pool_put(&p, test_fresh(size), size);
	CHECK(p.bytes <= POOL_BYTES);
	CHECK(p.n == POOL_BYTES / size);
	pool_free(&p);
}

static void
test_trim(void)
{
	struct pool p;
	void *bufs[6];

	pool_init(&p);
	for (size_t i = 0; i < 6; i++)
		bufs[i] = test_fresh(1000 * (i + 1));
	for (size_t i = 0; i < 6; i++)
		pool_put(&p, bufs[i], 1000 * (i + 1));
	CHECK(p.n == 6 && p.bytes == 21000);
	/* The last given back (6000, 5000) go first. */
	pool_trim(&p, 10000);
	CHECK(p.n == 4 && p.bytes == 10000);
	CHECK(pool_get(&p, 4000) == bufs[3]);
	bufs[5] = pool_get(&p, 6000); /* gone: a new one */
	CHECK(p.n == 3 && p.bytes == 6000);
	pool_trim(&p, 0);
	CHECK(p.n == 0 && p.bytes == 0);
	/* Given back to an empty pool that frees them. */
	pool_put(&p, bufs[3], 4000);
	pool_put(&p, bufs[5], 6000);
	pool_free(&p);
}

/*
 * A working-set trim frees as many buffers as the pool kept at its
 * lowest since the last one: those no request needed in between.
 */
static void
test_trim_unused(void)
{
	static const struct {
		size_t kept;  /* free buffers when the interval begins */
		size_t taken; /* then taken at once ... */
		size_t back;  /* ... and this many given back */
		size_t left;  /* kept after the trim */
	} cases[] = {
	    {8, 0, 0, 0}, /* nothing taken: all of them go */
	    {8, 8, 8, 8}, /* all were needed at the low point: all stay */
	    {8, 5, 5, 5}, /* three were never needed */
	    {8, 5, 2, 2}, /* three in use; the three never taken go */
	    {0, 0, 0, 0},
	};
	void *bufs[8];
	size_t taken;

	for (size_t t = 0; t < sizeof(cases) / sizeof(cases[0]); t++) {
		struct pool p;

		pool_init(&p);
		for (size_t i = 0; i < cases[t].kept; i++)
			bufs[i] = test_fresh(4096);
		for (size_t i = 0; i < cases[t].kept; i++)
			pool_put(&p, bufs[i], 4096);
		/* Starts the interval: nothing is freed, the low is reset. */
		CHECK(pool_trim_unused(&p) == 0);
		taken = p.taken;
		CHECKF(p.n == cases[t].kept, "case %zu: %zu kept", t, p.n);
		for (size_t i = 0; i < cases[t].taken; i++)
			bufs[i] = pool_get(&p, 4096);
		for (size_t i = 0; i < cases[t].back; i++)
			pool_put(&p, bufs[i], 4096);
		CHECKF(p.taken - taken == cases[t].taken, "case %zu: taken", t);
		CHECKF(pool_trim_unused(&p) == cases[t].kept - cases[t].taken,
		    "case %zu: freed", t);
		CHECKF(p.n == cases[t].left && p.bytes == 4096 * p.n,
		    "case %zu: %zu left, %zu wanted", t, p.n, cases[t].left);
		/* A second interval with nothing taken frees the rest. */
		CHECK(pool_trim_unused(&p) == cases[t].left);
		CHECK(p.n == 0 && p.bytes == 0);
		for (size_t i = cases[t].back; i < cases[t].taken; i++)
			pool_put(&p, bufs[i], 4096);
		pool_free(&p);
	}
}

int
main(void)
{
	test_reuse();
	test_bounds();
	test_trim();
	test_trim_unused();
	return check_done();
}
