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

	for (size_t i = 0; i < n; i++) {
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
