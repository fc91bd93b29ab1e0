/*
 * SHA-256: the FIPS 180-4 examples and more, by both block functions
 * (the CPU's SHA instructions, when it has them, and the portable one),
 * whole and fed in pieces; the two agree on every length up to five
 * blocks.
 */
#include <stdio.h>
#include <string.h>

#include "check.h"
#include "ocspgate/sha256.h"

static void
test_hex(const unsigned char md[SHA256_LEN], char out[2 * SHA256_LEN + 1])
{
	for (size_t i = 0; i < SHA256_LEN; i++)
		snprintf(out + 2 * i, 3, "%02x", md[i]);
}

/* The digest of <len> bytes at <p>, fed <step> bytes at a time. */
static void
test_digest(bool hw, const void *p, size_t len, size_t step,
    unsigned char md[SHA256_LEN])
{
	const unsigned char *b = p;
	struct sha256 c;

	sha256_init(&c);
	c.hw = c.hw && hw;
	for (size_t off = 0; off < len; off += step)
		sha256_update(&c, b + off, len - off < step ? len - off : step);
	sha256_final(&c, md);
}

static void
test_vectors(void)
{
	static const struct {
		const char *in;
		unsigned repeat;
		const char *want;
	} cases[] = {
	    {"", 1,
	        "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b8"
	        "55"},
	    {"abc", 1,
	        "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015"
	        "ad"},
	    {"abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq", 1,
	        "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06"
	        "c1"},
	    {"abcdefghbcdefghicdefghijdefghijkefghijklfghijklmghijklmn"
	     "hijklmnoijklmnopjklmnopqklmnopqrlmnopqrsmnopqrstnopqrstu",
	        1,
	        "cf5b16a778af8380036ce59e7b0492370b249b11e8f07a51afac45037afee9"
	        "d1"},
	    {"a", 1000000,
	        "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112c"
	        "d0"},
	};
	static char buf[1000000];
	unsigned char md[SHA256_LEN];
	char hex[2 * SHA256_LEN + 1];

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		size_t n = strlen(cases[i].in), len = n * cases[i].repeat;

		for (size_t r = 0; r < cases[i].repeat; r++)
			memcpy(buf + r * n, cases[i].in, n);
		for (int hw = 0; hw < 2; hw++) {
			for (size_t step = 1; step <= 65; step += 32) {
				test_digest(
				    hw, buf, len, len > 0 ? step : 1, md);
				test_hex(md, hex);
				CHECKF(strcmp(hex, cases[i].want) == 0,
				    "case %zu, hw %d, step %zu: %s", i, hw,
				    step, hex);
			}
		}
	}
}

/* Every length up to five blocks: both block functions agree. */
static void
test_agree(void)
{
	unsigned char in[320], a[SHA256_LEN], b[SHA256_LEN];
	struct sha256 probe;
	uint32_t x = 2463534242u;

	sha256_init(&probe);
	if (!probe.hw)
		printf("# no SHA instructions here: the portable path only\n");
	for (size_t i = 0; i < sizeof(in); i++) {
		x ^= x << 13;
		x ^= x >> 17;
		x ^= x << 5;
		in[i] = (unsigned char)x;
	}
	for (size_t len = 0; len <= sizeof(in); len++) {
		test_digest(true, in, len, len > 0 ? len : 1, a);
		test_digest(false, in, len, 7, b);
		CHECKF(memcmp(a, b, SHA256_LEN) == 0, "length %zu", len);
	}
}

int
main(void)
{
	test_vectors();
	test_agree();
	return check_done();
}
