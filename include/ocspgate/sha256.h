/*
 * SHA-256 (FIPS 180-4), small and local, for digests of a few hundred
 * bytes per request (the header-name fingerprint): OpenSSL 3's one-shot
 * SHA256() and EVP fetch the algorithm on every call, which costs more
 * than hashing that. Pure: no I/O, no globals.
 */
#ifndef OCSPGATE_SHA256_H
#define OCSPGATE_SHA256_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define SHA256_LEN 32

struct sha256 {
	uint32_t h[8];
	unsigned char block[64];
	size_t used;    /* bytes in block */
	uint64_t bytes; /* hashed in all */
	bool hw;        /* the CPU's SHA instructions (x86 SHA-NI) do the
	                   blocks; sha256_init() sets it when it has them */
};

/* Starts a digest. */
void sha256_init(struct sha256 *c);

/* Hashes <len> bytes at <data> (NULL when <len> is 0) after those before. */
void sha256_update(struct sha256 *c, const void *data, size_t len);

/* Writes the digest of everything hashed to <md>; <c> is spent. */
void sha256_final(struct sha256 *c, unsigned char md[SHA256_LEN]);

#endif
