/*
 * The hashes of ocspgate's tables and tags: FNV-1a, and the finalisers
 * that spread its bits. Fast and unkeyed (a table that an attacker fills
 * seeds its start or uses a keyed hash of its own). Pure.
 */
#ifndef OCSPGATE_HASH_H
#define OCSPGATE_HASH_H

#include <stddef.h>
#include <stdint.h>

#define HASH_FNV32_INIT UINT32_C(2166136261)
#define HASH_FNV64_INIT UINT64_C(0xcbf29ce484222325)

/*
 * FNV-1a over the <n> bytes at <p> (NULL when <n> is 0), continuing from
 * <h>: HASH_FNV32_INIT (or HASH_FNV64_INIT) to start, or what an earlier
 * call returned to hash more bytes after those.
 */
uint32_t hash_fnv1a32(uint32_t h, const void *p, size_t n);
uint64_t hash_fnv1a64(uint64_t h, const void *p, size_t n);

/*
 * Finalisers: every input bit reaches every output bit, which FNV alone
 * does poorly for its last bytes and high bits. hash_mix32() is
 * MurmurHash3's fmix32, hash_mix64() the output function of splitmix64.
 */
uint32_t hash_mix32(uint32_t h);
uint64_t hash_mix64(uint64_t h);

#endif
