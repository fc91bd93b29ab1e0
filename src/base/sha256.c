/*
 * SHA-256 (FIPS 180-4): a portable block function, and one with the x86
 * SHA extensions where the CPU has them (a header-name fingerprint per
 * request: about 4,000 instructions a block portably, a few hundred
 * with them). Pure: no I/O, no globals.
 */
#include <string.h>

#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>
#define SHA256_X86 1
#endif

#include "ocspgate/sha256.h"

static const uint32_t sha256_k[64] = {0x428a2f98, 0x71374491, 0xb5c0fbcf,
    0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5, 0xd807aa98,
    0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7,
    0xc19bf174, 0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f,
    0x4a7484aa, 0x5cb0a9dc, 0x76f988da, 0x983e5152, 0xa831c66d, 0xb00327c8,
    0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967, 0x27b70a85,
    0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e,
    0x92722c85, 0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819,
    0xd6990624, 0xf40e3585, 0x106aa070, 0x19a4c116, 0x1e376c08, 0x2748774c,
    0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3, 0x748f82ee,
    0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7,
    0xc67178f2};

static uint32_t
sha256_ror(uint32_t x, unsigned n)
{
	return (x >> n) | (x << (32 - n));
}

static void
sha256_block_portable(uint32_t s[8], const unsigned char *p)
{
	uint32_t w[64], a, b, c, d, e, f, g, h, t1, t2;

	for (int i = 0; i < 16; i++)
		w[i] = (uint32_t)p[4 * i] << 24 | (uint32_t)p[4 * i + 1] << 16 |
		    (uint32_t)p[4 * i + 2] << 8 | p[4 * i + 3];
	for (int i = 16; i < 64; i++)
		w[i] = w[i - 16] +
		    (sha256_ror(w[i - 15], 7) ^ sha256_ror(w[i - 15], 18) ^
		        (w[i - 15] >> 3)) +
		    w[i - 7] +
		    (sha256_ror(w[i - 2], 17) ^ sha256_ror(w[i - 2], 19) ^
		        (w[i - 2] >> 10));
	a = s[0];
	b = s[1];
	c = s[2];
	d = s[3];
	e = s[4];
	f = s[5];
	g = s[6];
	h = s[7];
	for (int i = 0; i < 64; i++) {
		t1 = h +
		    (sha256_ror(e, 6) ^ sha256_ror(e, 11) ^ sha256_ror(e, 25)) +
		    ((e & f) ^ (~e & g)) + sha256_k[i] + w[i];
		t2 =
		    (sha256_ror(a, 2) ^ sha256_ror(a, 13) ^ sha256_ror(a, 22)) +
		    ((a & b) ^ (a & c) ^ (b & c));
		h = g;
		g = f;
		f = e;
		e = d + t1;
		d = c;
		c = b;
		b = a;
		a = t1 + t2;
	}
	s[0] += a;
	s[1] += b;
	s[2] += c;
	s[3] += d;
	s[4] += e;
	s[5] += f;
	s[6] += g;
	s[7] += h;
}

#ifdef SHA256_X86
/*
 * The same block with the SHA extensions: sha256rnds2 does two rounds on
 * the state held as ABEF and CDGH, sha256msg1/msg2 extend the message
 * four words at a time (W[t] = s1(W[t-2]) + W[t-7] + s0(W[t-15]) +
 * W[t-16]; Intel, "Intel SHA Extensions", 2013).
 */
__attribute__((target("sha,sse4.1,ssse3"))) static void
sha256_block_x86(uint32_t s[8], const unsigned char *p)
{
	const __m128i swap =
	    _mm_set_epi64x(0x0c0d0e0f08090a0bLL, 0x0405060700010203LL);
	__m128i w[16], abef, cdgh, abef0, cdgh0, t;

	t = _mm_loadu_si128((const __m128i *)(const void *)&s[0]);
	cdgh = _mm_loadu_si128((const __m128i *)(const void *)&s[4]);
	t = _mm_shuffle_epi32(t, 0xb1);        /* CDAB */
	cdgh = _mm_shuffle_epi32(cdgh, 0x1b);  /* EFGH */
	abef = _mm_alignr_epi8(t, cdgh, 8);    /* ABEF */
	cdgh = _mm_blend_epi16(cdgh, t, 0xf0); /* CDGH */
	abef0 = abef;
	cdgh0 = cdgh;

	for (int g = 0; g < 4; g++)
		w[g] = _mm_shuffle_epi8(
		    _mm_loadu_si128(
		        (const __m128i *)(const void *)(p + 16 * g)),
		    swap);
	for (int g = 4; g < 16; g++) {
		t = _mm_sha256msg1_epu32(w[g - 4], w[g - 3]);
		t = _mm_add_epi32(t, _mm_alignr_epi8(w[g - 1], w[g - 2], 4));
		w[g] = _mm_sha256msg2_epu32(t, w[g - 1]);
	}
	for (int g = 0; g < 16; g++) {
		t = _mm_add_epi32(w[g],
		    _mm_loadu_si128(
		        (const __m128i *)(const void *)&sha256_k[4 * g]));
		cdgh = _mm_sha256rnds2_epu32(cdgh, abef, t);
		t = _mm_shuffle_epi32(t, 0x0e);
		abef = _mm_sha256rnds2_epu32(abef, cdgh, t);
	}
	abef = _mm_add_epi32(abef, abef0);
	cdgh = _mm_add_epi32(cdgh, cdgh0);

	t = _mm_shuffle_epi32(abef, 0x1b);     /* FEBA */
	cdgh = _mm_shuffle_epi32(cdgh, 0xb1);  /* DCHG */
	abef = _mm_blend_epi16(t, cdgh, 0xf0); /* DCBA */
	cdgh = _mm_alignr_epi8(cdgh, t, 8);    /* HGFE */
	_mm_storeu_si128((__m128i *)(void *)&s[0], abef);
	_mm_storeu_si128((__m128i *)(void *)&s[4], cdgh);
}
#endif

static void
sha256_block(struct sha256 *c, const unsigned char *p)
{
#ifdef SHA256_X86
	if (c->hw) {
		sha256_block_x86(c->h, p);
		return;
	}
#endif
	sha256_block_portable(c->h, p);
}

void
sha256_init(struct sha256 *c)
{
	static const uint32_t iv[8] = {0x6a09e667, 0xbb67ae85, 0x3c6ef372,
	    0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19};

	memcpy(c->h, iv, sizeof(iv));
	c->used = 0;
	c->bytes = 0;
	c->hw = false;
#if defined(SHA256_X86) && !defined(__clang__)
	/*
	 * The CPU as the C runtime saw it at startup (cpuid, read once;
	 * cpuid itself would trap to the hypervisor on every call in a
	 * VM). Clang up to 15 does not know "sha" here: its builds (the
	 * fuzz targets) hash portably.
	 */
	c->hw = __builtin_cpu_supports("sha") &&
	    __builtin_cpu_supports("sse4.1") && __builtin_cpu_supports("ssse3");
#endif
}

void
sha256_update(struct sha256 *c, const void *data, size_t len)
{
	const unsigned char *p = data;

	c->bytes += len;
	while (len > 0) {
		size_t n = sizeof(c->block) - c->used;

		if (n > len)
			n = len;
		memcpy(c->block + c->used, p, n);
		c->used += n;
		p += n;
		len -= n;
		if (c->used == sizeof(c->block)) {
			sha256_block(c, c->block);
			c->used = 0;
		}
	}
}

void
sha256_final(struct sha256 *c, unsigned char md[SHA256_LEN])
{
	uint64_t bits = c->bytes * 8;

	c->block[c->used++] = 0x80;
	if (c->used > 56) {
		memset(c->block + c->used, 0, sizeof(c->block) - c->used);
		sha256_block(c, c->block);
		c->used = 0;
	}
	memset(c->block + c->used, 0, 56 - c->used);
	for (int i = 0; i < 8; i++)
		c->block[56 + i] = (unsigned char)(bits >> (56 - 8 * i));
	sha256_block(c, c->block);
	for (int i = 0; i < 8; i++) {
		md[4 * i] = (unsigned char)(c->h[i] >> 24);
		md[4 * i + 1] = (unsigned char)(c->h[i] >> 16);
		md[4 * i + 2] = (unsigned char)(c->h[i] >> 8);
		md[4 * i + 3] = (unsigned char)c->h[i];
	}
}
