/*
 * Fuzzes the PROXY protocol parser. Any failure aborts: a result past
 * the input; "need more" at or past a version's maximum; a result that
 * changes when bytes are appended (a header stays the same header, a
 * refusal stays a refusal); a header whose shorter prefixes do not all
 * ask for more; and addresses that do not survive being written again
 * as v1 text and as v2 binary. test_proxy_protocol.c includes this file
 * to run the same checks on its tables.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ocspgate/proxy_protocol.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FUZZ_PP_S(lit)                                                         \
	{                                                                      \
		lit, sizeof(lit) - 1                                           \
	}

/* Bytes a client may send after the header, appended to every input. */
static const struct {
	const char *p;
	size_t len;
} fuzz_pp_tails[] = {
    FUZZ_PP_S("GET / HTTP/1.1\r\nHost: ocsp.test\r\n\r\n"),
    FUZZ_PP_S("\r\n"),
    FUZZ_PP_S("\0\0\0\0"),
    FUZZ_PP_S("PROXY TCP4 1.2.3.4 5.6.7.8 1 2\r\n"),
};

static int
fuzz_pp_parse(const uint8_t *data, size_t size, struct proxy_header *h)
{
	const char *detail = NULL;
	int r;

	r = proxy_protocol_parse(data, size, h, &detail);
	if (r < -1 || (r > 0 && (size_t)r > size))
		abort();
	if ((r == -1) != (detail != NULL))
		abort();
	if (r == 0 && size > 0 &&
	    size >= (data[0] == 'P' ? PROXY_PROTOCOL_V1_MAX
	                            : PROXY_PROTOCOL_V2_MAX))
		abort();
	if (r > 0) {
		if (h->version != (data[0] == 'P' ? 1 : 2))
			abort();
		if (h->version == 1 &&
		    (r < 2 || data[r - 2] != '\r' || data[r - 1] != '\n'))
			abort();
		if (h->local != (h->src_len == 0) || h->src_len != h->dst_len ||
		    (!h->local && h->src.ss_family != h->dst.ss_family))
			abort();
	}
	return r;
}

/* True when <a> and <b> give the same addresses (whatever the version). */
static bool
fuzz_pp_same_addresses(
    const struct proxy_header *a, const struct proxy_header *b)
{
	return a->local == b->local && a->src_len == b->src_len &&
	    a->dst_len == b->dst_len &&
	    memcmp(&a->src, &b->src, a->src_len) == 0 &&
	    memcmp(&a->dst, &b->dst, a->dst_len) == 0;
}

static bool
fuzz_pp_same(const struct proxy_header *a, const struct proxy_header *b)
{
	return a->version == b->version && fuzz_pp_same_addresses(a, b);
}

/* Writes <h> again as v1 text and as v2 binary; both must give it back. */
static void
fuzz_pp_reencode(const struct proxy_header *h)
{
	unsigned char v2[16 + 36];
	char v1[PROXY_PROTOCOL_V1_MAX + 1], s[INET6_ADDRSTRLEN],
	    d[INET6_ADDRSTRLEN];
	const struct sockaddr_in *s4 = (const struct sockaddr_in *)&h->src;
	const struct sockaddr_in *d4 = (const struct sockaddr_in *)&h->dst;
	const struct sockaddr_in6 *s6 = (const struct sockaddr_in6 *)&h->src;
	const struct sockaddr_in6 *d6 = (const struct sockaddr_in6 *)&h->dst;
	struct proxy_header back;
	size_t v2len;
	int n;

	memcpy(v2, "\r\n\r\n\0\r\nQUIT\n", 12);
	if (h->local) {
		v2[12] = 0x20;
		v2[13] = 0x00;
		v2[14] = v2[15] = 0;
		v2len = 16;
		n = snprintf(v1, sizeof(v1), "PROXY UNKNOWN\r\n");
	} else if (h->src.ss_family == AF_INET) {
		v2[12] = 0x21;
		v2[13] = 0x11;
		v2[14] = 0;
		v2[15] = 12;
		memcpy(v2 + 16, &s4->sin_addr, 4);
		memcpy(v2 + 20, &d4->sin_addr, 4);
		memcpy(v2 + 24, &s4->sin_port, 2);
		memcpy(v2 + 26, &d4->sin_port, 2);
		v2len = 28;
		if (inet_ntop(AF_INET, &s4->sin_addr, s, sizeof(s)) == NULL ||
		    inet_ntop(AF_INET, &d4->sin_addr, d, sizeof(d)) == NULL)
			abort();
		n = snprintf(v1, sizeof(v1), "PROXY TCP4 %s %s %u %u\r\n", s, d,
		    ntohs(s4->sin_port), ntohs(d4->sin_port));
	} else if (h->src.ss_family == AF_INET6) {
		v2[12] = 0x21;
		v2[13] = 0x21;
		v2[14] = 0;
		v2[15] = 36;
		memcpy(v2 + 16, &s6->sin6_addr, 16);
		memcpy(v2 + 32, &d6->sin6_addr, 16);
		memcpy(v2 + 48, &s6->sin6_port, 2);
		memcpy(v2 + 50, &d6->sin6_port, 2);
		v2len = 52;
		if (inet_ntop(AF_INET6, &s6->sin6_addr, s, sizeof(s)) == NULL ||
		    inet_ntop(AF_INET6, &d6->sin6_addr, d, sizeof(d)) == NULL)
			abort();
		n = snprintf(v1, sizeof(v1), "PROXY TCP6 %s %s %u %u\r\n", s, d,
		    ntohs(s6->sin6_port), ntohs(d6->sin6_port));
	} else {
		abort();
	}
	if (n < 0 || (size_t)n >= sizeof(v1))
		abort();
	if (fuzz_pp_parse(v2, v2len, &back) != (int)v2len ||
	    !fuzz_pp_same_addresses(h, &back))
		abort();
	if (fuzz_pp_parse((const uint8_t *)v1, (size_t)n, &back) != n ||
	    !fuzz_pp_same_addresses(h, &back))
		abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct proxy_header h, again;
	uint8_t *longer;
	int r;

	r = fuzz_pp_parse(data, size, &h);

	/* Appended bytes change nothing once the result is known. */
	if (r != 0) {
		for (size_t t = 0;
		     t < sizeof(fuzz_pp_tails) / sizeof(fuzz_pp_tails[0]);
		     t++) {
			size_t n = size + fuzz_pp_tails[t].len;

			if ((longer = malloc(n)) == NULL)
				abort();
			if (size > 0)
				memcpy(longer, data, size);
			memcpy(longer + size, fuzz_pp_tails[t].p,
			    fuzz_pp_tails[t].len);
			if (fuzz_pp_parse(longer, n, &again) != r)
				abort();
			if (r > 0 && !fuzz_pp_same(&h, &again))
				abort();
			free(longer);
		}
	}
	if (r <= 0)
		return 0;

	/*
	 * Every shorter prefix of a header is a valid beginning, and the
	 * header alone is consumed whole.
	 */
	for (size_t k = 0; k < (size_t)r; k++)
		if (fuzz_pp_parse(data, k, &again) != 0)
			abort();
	if (fuzz_pp_parse(data, (size_t)r, &again) != r ||
	    !fuzz_pp_same(&h, &again))
		abort();
	fuzz_pp_reencode(&h);
	return 0;
}
