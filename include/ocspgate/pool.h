/*
 * A worker's pool of request buffers (the request block, answer heads,
 * captures): taken when a request needs one, given back when it ends, so
 * that an idle connection holds none and a busy worker does not call
 * malloc() for each request. Bounded, and trimmed after a burst. One
 * pool per worker thread: no locks.
 */
#ifndef OCSPGATE_POOL_H
#define OCSPGATE_POOL_H

#include <stddef.h>

#define POOL_MAX     2048          /* free buffers kept */
#define POOL_BUF_MAX (1024 * 1024) /* larger ones are freed at once */
#define POOL_BYTES   (64u << 20)   /* bytes kept in all */

struct pool_buf;

struct pool {
	struct pool_buf *free; /* POOL_MAX slots, allocated on first use */
	size_t n;              /* buffers in it */
	size_t bytes;          /* their sizes' sum */
	size_t low;   /* fewest kept since the last pool_trim_unused() */
	size_t taken; /* pool_get() calls, ever (wrapping) */
};

/* An empty pool (zeroed memory is one too). */
void pool_init(struct pool *p);

/*
 * A buffer of <size> bytes: a kept one of exactly that size, else new
 * pages of its own (malloc() in the ASan build). Its contents are
 * undefined (the memory checkers see it as fresh). Returns NULL when
 * out of memory.
 */
void *pool_get(struct pool *p, size_t size);

/*
 * Gives back <buf>, a buffer of <size> bytes from pool_get(). It is kept
 * for reuse if the pool has room (POOL_MAX, POOL_BYTES) and it is not
 * over POOL_BUF_MAX, else freed; either way the caller may no longer use
 * it (the memory checkers report any use). Takes NULL.
 */
void pool_put(struct pool *p, void *buf, size_t size);

/* Frees kept buffers, the last given back first, until at most
 * <keep_bytes> remain. */
void pool_trim(struct pool *p, size_t keep_bytes);

/*
 * Frees the kept buffers that no pool_get() needed since the last call:
 * as many as the pool kept at its lowest in between (a working set's
 * trim: a busy worker keeps what its requests in flight swing through,
 * an idle one gives everything back over two calls). Returns how many
 * it freed.
 */
size_t pool_trim_unused(struct pool *p);

/* Frees every kept buffer and the pool's own table. */
void pool_free(struct pool *p);

#endif
