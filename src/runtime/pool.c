/*
 * The request-buffer pool of one worker. No locks (one thread), no I/O.
 * Buffers kept for reuse are hidden from the memory checkers, so a read
 * of what an earlier request left behind is caught as it would be with
 * malloc() and free().
 */
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

/* The memory checkers, told about the pool. */
#if defined(__has_feature)
#if __has_feature(address_sanitizer)
#define POOL_ASAN 1
#endif
#endif
#if defined(__SANITIZE_ADDRESS__) && !defined(POOL_ASAN)
#define POOL_ASAN 1
#endif
#ifdef POOL_ASAN
#include <sanitizer/asan_interface.h>
#define POOL_FILL_BYTE 0xbe /* ASan's default malloc_fill_byte */
#endif
#if defined(__has_include)
#if __has_include(<valgrind/memcheck.h>)
#include <valgrind/memcheck.h>
#define POOL_VALGRIND 1
#endif
#endif

#include "ocspgate/pool.h"

struct pool_buf {
	void *p;
	size_t size;
};

/*
 * Buffers are pages of their own (mmap), not the allocator's: a burst
 * of requests takes thousands of them between the small allocations of
 * the connections that stay, and from the heap they would leave those
 * pinned on pages of their own once given back (the allocator can only
 * return whole free pages): kilobytes per idle connection after a
 * burst. Pages a request never touches (the body room of a GET) are
 * not even resident. Under ASan the allocator stays, so that a byte
 * past a buffer's end is caught at its edge, not at the page's.
 */
static void *
pool_alloc(size_t size)
{
#ifdef POOL_ASAN
	return malloc(size);
#else
	void *p = mmap(NULL, size, PROT_READ | PROT_WRITE,
	    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	if (p == MAP_FAILED)
		return NULL;
#ifdef POOL_VALGRIND
	/* Fresh to the checker: undefined, as malloc() would give it. */
	VALGRIND_MAKE_MEM_UNDEFINED(p, size);
#endif
	return p;
#endif
}

static void
pool_release(void *p, size_t size)
{
#ifdef POOL_ASAN
	(void)size;
	free(p);
#else
	(void)munmap(p, size);
#endif
}

/*
 * The memory checkers see malloc() and free(), not the pool: a buffer
 * kept for reuse is told to them as gone (any use of it is reported) and
 * a reused one as fresh, uninitialised memory (ASan fills it with the
 * pattern malloc_fill_byte gives, Valgrind tracks it as undefined), so a
 * request that reads what an earlier one left is caught either way.
 * Nothing of this is compiled without ASan, nor executed outside
 * Valgrind.
 */

static void
pool_fresh(void *p, size_t size)
{
#ifdef POOL_ASAN
	ASAN_UNPOISON_MEMORY_REGION(p, size);
	memset(p, POOL_FILL_BYTE, size);
#endif
#ifdef POOL_VALGRIND
	VALGRIND_MAKE_MEM_UNDEFINED(p, size);
#endif
	(void)p;
	(void)size;
}

static void
pool_gone(void *p, size_t size)
{
#ifdef POOL_ASAN
	ASAN_POISON_MEMORY_REGION(p, size);
#endif
#ifdef POOL_VALGRIND
	VALGRIND_MAKE_MEM_NOACCESS(p, size);
#endif
	(void)p;
	(void)size;
}

void
pool_init(struct pool *p)
{
	memset(p, 0, sizeof(*p));
}

void *
pool_get(struct pool *p, size_t size)
{
	p->taken++;
	for (size_t i = p->n; i > 0; i--) {
		if (p->free[i - 1].size == size) {
			void *buf = p->free[i - 1].p;

			p->bytes -= size;
			p->free[i - 1] = p->free[--p->n];
			if (p->n < p->low)
				p->low = p->n;
			pool_fresh(buf, size);
			return buf;
		}
	}
	return pool_alloc(size);
}

void
pool_put(struct pool *p, void *buf, size_t size)
{
	if (buf == NULL)
		return;
	/* Big captures (CRLs) are not worth keeping. */
	if (size > POOL_BUF_MAX) {
		pool_release(buf, size);
		return;
	}
	if (p->free == NULL &&
	    (p->free = calloc(POOL_MAX, sizeof(*p->free))) == NULL) {
		pool_release(buf, size);
		return;
	}
	if (p->n == POOL_MAX || p->bytes + size > POOL_BYTES) {
		pool_release(buf, size);
		return;
	}
	pool_gone(buf, size);
	p->free[p->n].p = buf;
	p->free[p->n].size = size;
	p->n++;
	p->bytes += size;
}

void
pool_trim(struct pool *p, size_t keep_bytes)
{
	while (p->n > 0 && p->bytes > keep_bytes) {
		p->n--;
		p->bytes -= p->free[p->n].size;
		pool_release(p->free[p->n].p, p->free[p->n].size);
	}
	if (p->low > p->n)
		p->low = p->n;
}

size_t
pool_trim_unused(struct pool *p)
{
	size_t unused = p->low < p->n ? p->low : p->n;

	/* From the top, as pool_trim(): a kept buffer is as good as any. */
	for (size_t i = 0; i < unused; i++) {
		p->n--;
		p->bytes -= p->free[p->n].size;
		pool_release(p->free[p->n].p, p->free[p->n].size);
	}
	p->low = p->n;
	return unused;
}

void
pool_free(struct pool *p)
{
	while (p->n > 0) {
		p->n--;
		pool_release(p->free[p->n].p, p->free[p->n].size);
	}
	free(p->free);
	memset(p, 0, sizeof(*p));
}
