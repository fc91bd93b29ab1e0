/*
 * FNV-1a and two finalisers, the one copy of each. Pure: no I/O, no
 * globals.
 */
#include <stddef.h>
#include <stdint.h>

#include "ocspgate/hash.h"

#define HASH_FNV32_PRIME UINT32_C(16777619)
#define HASH_FNV64_PRIME UINT64_C(0x100000001b3)

uint32_t
hash_fnv1a32(uint32_t h, const void *p, size_t n)
{
	const unsigned char *b = p;

	for (size_t i = 0; i < n; i++) {
		h ^= b[i];
		h *= HASH_FNV32_PRIME;
	}
	return h;
}

uint64_t
hash_fnv1a64(uint64_t h, const void *p, size_t n)
{
	const unsigned char *b = p;
	size_t i = 0;

	/* Four bytes a turn: the same steps, less loop overhead. */
	for (; i + 4 <= n; i += 4) {
		h = (h ^ b[i]) * HASH_FNV64_PRIME;
		h = (h ^ b[i + 1]) * HASH_FNV64_PRIME;
		h = (h ^ b[i + 2]) * HASH_FNV64_PRIME;
		h = (h ^ b[i + 3]) * HASH_FNV64_PRIME;
	}
	for (; i < n; i++) {
		h ^= b[i];
		h *= HASH_FNV64_PRIME;
	}
	return h;
}

uint32_t
hash_mix32(uint32_t h)
{
	h ^= h >> 16;
	h *= UINT32_C(0x85ebca6b);
	h ^= h >> 13;
	h *= UINT32_C(0xc2b2ae35);
	h ^= h >> 16;
	return h;
}

uint64_t
hash_mix64(uint64_t h)
{
	h ^= h >> 30;
	h *= UINT64_C(0xbf58476d1ce4e5b9);
	h ^= h >> 27;
	h *= UINT64_C(0x94d049bb133111eb);
	h ^= h >> 31;
	return h;
}
