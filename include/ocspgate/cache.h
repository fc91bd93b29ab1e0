/*
 * A cache of successful, already-inspected OCSP responses, keyed on
 * (responder, DER request bytes), so that a repeated question is answered
 * without asking upstream until the answer expires. One cache is one
 * shard: no locking here; the process's workers share a set of shards,
 * each under its own lock (shared_cache.h), and ocsp_cache_shards() and
 * ocsp_cache_shard_of() say how many and which. Pure: no I/O, no clock
 * (time is passed in), no globals.
 *
 * RFC 5019 caching rules applied here and by the caller:
 * - Only "successful" responses that passed inspection (and verification,
 *   where configured) are stored; the key is the exact request, so a
 *   request with a nonce is never answered from the cache by accident
 *   (RFC 5019 clients send no nonce; the caller should not store
 *   responses to nonced requests at all).
 * - A response is served no later than its nextUpdate, nor past the
 *   upstream's Cache-Control max-age (s-maxage for us, a shared cache),
 *   nor longer than the configured lifetime (cache_max_age) after it was
 *   stored, whatever its nextUpdate;
 *   no-store, no-cache and private mean "do not store". A response with
 *   neither nextUpdate nor max-age is not cached (section 6.2: clients
 *   MUST NOT cache responses without nextUpdate).
 * - When served, the HTTP headers of section 6.2 are sent: Last-Modified
 *   (producedAt or thisUpdate), Expires (nextUpdate), ETag, Date and
 *   Cache-Control: max-age=..., public, no-transform, must-revalidate.
 */
#ifndef OCSPGATE_CACHE_H
#define OCSPGATE_CACHE_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

/* Longest max-age honoured, in seconds: larger values are clamped. */
#define OCSP_CACHE_MAX_AGE_LIMIT_SEC (365L * 24 * 60 * 60)

/*
 * Shards of a cache shared by threads: at most OCSP_CACHE_SHARDS_MAX,
 * each of at least OCSP_CACHE_SHARD_MIN_BYTES, so that the eighth of a
 * shard one entry may take stays roomy for any OCSP answer.
 */
#define OCSP_CACHE_SHARDS_MAX      16
#define OCSP_CACHE_SHARD_MIN_BYTES (1u << 20)

struct ocsp_cache;

/* The times stored with a response (wall-clock seconds, UTC). */
struct ocsp_cache_times {
	time_t this_update; /* producedAt or thisUpdate, 0 if unknown */
	time_t next_update; /* earliest nextUpdate, 0 if none */
	time_t expires;     /* not served at or after this time */
};

/* A stored response, read-only to the caller. */
struct ocsp_cache_entry {
	const unsigned char *body; /* DER OCSPResponse */
	size_t body_len;
	time_t stored_at; /* <now> when it was put */
	time_t this_update;
	time_t next_update;
	time_t expires;
};

struct ocsp_cache_stats {
	size_t entries;
	size_t bytes; /* sum of entry costs, <= max_bytes */
	size_t max_bytes;
	uint64_t evictions; /* dropped to make room (put or resize) */
	uint64_t expired;   /* dropped because they had expired */
	uint64_t hits;
	uint64_t misses; /* expired entries found by a get count here too */
};

/*
 * Creates an empty cache holding at most <max_bytes> of entry costs (see
 * ocsp_cache_entry_cost()); 0 makes a cache that refuses everything.
 * <seed> keys the hash of the table: pass a random value so that clients
 * cannot choose requests that all land in one bucket. Returns NULL when
 * out of memory. Free with ocsp_cache_free().
 */
struct ocsp_cache *ocsp_cache_new(size_t max_bytes, uint64_t seed);
void ocsp_cache_free(struct ocsp_cache *c); /* takes NULL */

/*
 * Sets a new bound (on reload), evicting least recently used entries
 * until the rest fits. 0 empties the cache and refuses all later puts.
 */
void ocsp_cache_resize(struct ocsp_cache *c, size_t max_bytes);

/*
 * What one entry counts against max_bytes: the key (responder, one
 * separator byte, request), the body and a fixed per-entry overhead.
 * Returns SIZE_MAX when the sum overflows.
 */
size_t ocsp_cache_entry_cost(size_t rlen, size_t reqlen, size_t resplen);

/*
 * Stores a copy of the response <resp> to the DER request <req> sent to
 * the responder named <responder> (rlen bytes, any bytes), replacing an
 * entry with the same key, with times <t> and stored_at = <now>. Least
 * recently used entries are evicted to make room.
 * Returns 0 when stored, -1 when refused: t->expires <= now, the entry
 * costs more than an eighth of max_bytes (so one huge answer cannot
 * flush the cache), or memory ran out. An entry already stored under the
 * key is dropped even when the new one is refused: it is superseded.
 * Invalidates entries returned by earlier ocsp_cache_get() calls.
 */
int ocsp_cache_put(struct ocsp_cache *c, const char *responder, size_t rlen,
    const unsigned char *req, size_t reqlen, const unsigned char *resp,
    size_t resplen, const struct ocsp_cache_times *t, time_t now);

/*
 * Looks up the response to <req> from <responder>. Returns NULL on a
 * miss. An entry with now >= expires is removed and is a miss. A hit
 * becomes the most recently used entry; the pointer stays valid until
 * the next put, resize or free on <c>, or a get that finds that same
 * entry expired.
 */
const struct ocsp_cache_entry *ocsp_cache_get(struct ocsp_cache *c,
    const char *responder, size_t rlen, const unsigned char *req, size_t reqlen,
    time_t now);

void ocsp_cache_stats(const struct ocsp_cache *c, struct ocsp_cache_stats *st);

/*
 * How many shards a cache of <max_bytes> in all is cut into: the largest
 * power of two, at most OCSP_CACHE_SHARDS_MAX, that leaves each shard
 * OCSP_CACHE_SHARD_MIN_BYTES or more; 1 for a smaller cache (or 0
 * bytes). Each shard then holds max_bytes / shards.
 */
size_t ocsp_cache_shards(size_t max_bytes);

/*
 * Which of <nshards> shards (a power of two, 1 or more) holds the key
 * (responder, request), by SipHash keyed with <seed>: pass a random value
 * other than the shards' own seeds, so that clients can neither choose
 * requests that all land in one shard nor learn a shard's hash. Returns
 * a value below nshards.
 */
size_t ocsp_cache_shard_of(uint64_t seed, size_t nshards, const char *responder,
    size_t rlen, const unsigned char *req, size_t reqlen);

/*
 * Reads an HTTP Cache-Control field value of <len> bytes: a
 * comma-separated list of directives, names case-insensitive, values a
 * token or a quoted string. Returns -1 when no-store, no-cache or private
 * appears (with or without a value: do not cache); otherwise 1 with
 * *max_age set when a valid s-maxage (preferred: we are a shared cache)
 * or max-age is present, else 0. A value that is not all digits is
 * ignored; one above OCSP_CACHE_MAX_AGE_LIMIT_SEC is clamped to it; of
 * repeated directives the smallest value wins. Unparsable list elements
 * are skipped.
 */
int ocsp_cache_parse_max_age(
    const char *cache_control, size_t len, long *max_age);

/*
 * The time from which a response fetched at <now> must no longer be
 * served: the earliest of <next_update> (0 = none), now + max_age (when
 * <have_max_age>; negative counts as 0, larger than the limit is
 * clamped) and now + <lifetime> (the longest any answer is kept,
 * whatever it says; 0 = no such bound, larger than the limit is
 * clamped). Returns 0, meaning "do not cache", when there is neither a
 * nextUpdate nor a max-age, or when the result is not after <now>.
 */
time_t ocsp_cache_expiry(time_t now, time_t next_update, int have_max_age,
    long max_age, long lifetime);

#endif
