/*
 * A memo of a pure function's results, keyed on bytes: the OCSP
 * inspections are deterministic, so the same request (or the same answer
 * to the same request) seen again gets the result computed the first
 * time, after an exact comparison of every byte. Bounded and two-way
 * set-associative: a key has a set of two slots, and a new key takes the
 * one written longer ago. One per worker, no locking. Pure: no I/O, no clock,
 * no globals.
 */
#ifndef OCSPGATE_MEMO_H
#define OCSPGATE_MEMO_H

#include <stddef.h>
#include <stdint.h>

struct memo;

/*
 * <slots> entries (rounded up to a power of two, 2 at least) of <value_size>
 * bytes each; keys of more than <max_key> bytes are not remembered. <seed>
 * varies the slot a key lands in. Returns NULL when out of memory.
 */
struct memo *memo_new(
    size_t slots, size_t max_key, size_t value_size, uint64_t seed);

void memo_free(struct memo *m); /* takes NULL */

/*
 * The value remembered for the key <a> (<alen> bytes) followed by <b>
 * (<blen> bytes), or NULL. Only <a> chooses the slot; both are compared.
 */
const void *memo_get(const struct memo *m, const void *a, size_t alen,
    const void *b, size_t blen);

/* Remembers <value> (value_size bytes) for the key <a> then <b>. */
void memo_put(struct memo *m, const void *a, size_t alen, const void *b,
    size_t blen, const void *value);

#endif
