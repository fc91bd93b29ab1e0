/*
 * hash.c against published values: the FNV-1a test vectors of its
 * authors, splitmix64's first output from seed 0, MurmurHash3 (x86_32)
 * of the empty string with seed 1 (its finaliser alone).
 */
#include <stdint.h>
#include <string.h>

#include "check.h"
#include "ocspgate/hash.h"

static const struct {
	const char *text;
	uint32_t fnv32;
	uint64_t fnv64;
} fnv_cases[] = {
    {"", UINT32_C(0x811c9dc5), UINT64_C(0xcbf29ce484222325)},
    {"a", UINT32_C(0xe40c292c), UINT64_C(0xaf63dc4c8601ec8c)},
    {"foobar", UINT32_C(0xbf9cf968), UINT64_C(0x85944171f73967e8)},
};

static void
test_fnv(void)
{
	for (size_t i = 0; i < sizeof(fnv_cases) / sizeof(fnv_cases[0]); i++) {
		const char *t = fnv_cases[i].text;

		CHECKF(hash_fnv1a32(HASH_FNV32_INIT, t, strlen(t)) ==
		        fnv_cases[i].fnv32,
		    "fnv1a32(\"%s\")", t);
		CHECKF(hash_fnv1a64(HASH_FNV64_INIT, t, strlen(t)) ==
		        fnv_cases[i].fnv64,
		    "fnv1a64(\"%s\")", t);
	}
	/* Continued: "foo" then "bar" is "foobar". */
	CHECK(hash_fnv1a32(hash_fnv1a32(HASH_FNV32_INIT, "foo", 3), "bar", 3) ==
	    UINT32_C(0xbf9cf968));
	CHECK(hash_fnv1a64(hash_fnv1a64(HASH_FNV64_INIT, "foo", 3), "bar", 3) ==
	    UINT64_C(0x85944171f73967e8));
	/* No bytes, no change (and no read of the pointer). */
	CHECK(hash_fnv1a32(7, NULL, 0) == 7);
	CHECK(hash_fnv1a64(7, NULL, 0) == 7);
}

/* fnv1a64 over every length and alignment a word-wise loop splits
 * differently, against the definition one byte at a time. */
static void
test_fnv64_lengths(void)
{
	unsigned char buf[40];

	for (size_t i = 0; i < sizeof(buf); i++)
		buf[i] = (unsigned char)(i * 37 + 11);
	for (size_t off = 0; off < 4; off++) {
		for (size_t n = 0; n + off <= sizeof(buf); n++) {
			uint64_t want = HASH_FNV64_INIT;

			for (size_t i = 0; i < n; i++)
				want = (want ^ buf[off + i]) *
				    UINT64_C(0x100000001b3);
			CHECKF(
			    hash_fnv1a64(HASH_FNV64_INIT, buf + off, n) == want,
			    "fnv1a64 of %zu bytes at +%zu", n, off);
		}
	}
}

static void
test_mix(void)
{
	CHECK(hash_mix32(0) == 0);
	CHECK(hash_mix32(1) == UINT32_C(0x514e28b7));
	CHECK(hash_mix64(0) == 0);
	CHECK(hash_mix64(UINT64_C(0x9e3779b97f4a7c15)) ==
	    UINT64_C(0xe220a8397b1dcdaf));
	/* One input bit apart: about half the output bits differ. */
	uint64_t d = hash_mix64(1) ^ hash_mix64(2);
	int bits = 0;

	for (; d != 0; d &= d - 1)
		bits++;
	CHECKF(bits >= 16 && bits <= 48, "%d bits differ", bits);
}

int
main(void)
{
	test_fnv();
	test_fnv64_lengths();
	test_mix();
	return check_done();
}
