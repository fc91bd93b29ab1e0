/*
 * DER reading shared by the OCSP and PKIX inspectors: headers, whole
 * TLVs, a field cursor and the canonical forms of a few primitive
 * types. Pure: no I/O, no allocation.
 */
#include <limits.h>

#include "ocspgate/der.h"

int
der_header(
    const unsigned char *p, size_t n, unsigned *tag, size_t *hlen, size_t *clen)
{
	size_t i, nlen, len;

	if (n < 2 || (p[0] & 0x1f) == 0x1f)
		return -1;
	if (p[1] < 0x80) {
		len = p[1];
		i = 2;
	} else {
		/* 0x80 alone is BER's indefinite length. */
		nlen = p[1] & 0x7f;
		if (nlen == 0 || nlen > sizeof(size_t) || nlen > n - 2 ||
		    p[2] == 0)
			return -1;
		len = 0;
		for (i = 0; i < nlen; i++)
			len = len << 8 | p[2 + i];
		if (len < 0x80)
			return -1;
		i = 2 + nlen;
	}
	if (len > n - i)
		return -1;
	*tag = p[0];
	*hlen = i;
	*clen = len;
	return 0;
}

bool
der_walk(const unsigned char *p, size_t n, int depth)
{
	unsigned tag;
	size_t hlen, clen;

	if (depth == 0)
		return false;
	while (n > 0) {
		if (der_header(p, n, &tag, &hlen, &clen) == -1)
			return false;
		if ((tag & 0x20) && !der_walk(p + hlen, clen, depth - 1))
			return false;
		p += hlen + clen;
		n -= hlen + clen;
	}
	return true;
}

int
der_depth(const unsigned char *p, size_t n, int max)
{
	unsigned tag;
	size_t hlen, clen;
	int need = 1, d;

	if (max < 1)
		return 0;
	while (n > 0) {
		if (der_header(p, n, &tag, &hlen, &clen) == -1)
			return 0;
		if (tag & 0x20) {
			if ((d = der_depth(p + hlen, clen, max - 1)) == 0)
				return 0;
			if (d + 1 > need)
				need = d + 1;
		}
		p += hlen + clen;
		n -= hlen + clen;
	}
	return need;
}

int
der_next_long(struct der_cursor *c, unsigned tag, struct der_cursor *content)
{
	unsigned t;
	size_t hlen, clen;

	if (c->n == 0 || c->p[0] != tag ||
	    der_header(c->p, c->n, &t, &hlen, &clen) == -1)
		return -1;
	if (content != NULL) {
		content->p = c->p + hlen;
		content->n = clen;
	}
	c->p += hlen + clen;
	c->n -= hlen + clen;
	return 0;
}

bool
der_oid_ok(const unsigned char *p, size_t n)
{
	if (n == 0 || n > INT_MAX || (p[n - 1] & 0x80) != 0)
		return false;
	for (size_t i = 0; i < n; i++)
		if (p[i] == 0x80 && (i == 0 || (p[i - 1] & 0x80) == 0))
			return false;
	return true;
}

bool
der_integer_ok(const unsigned char *p, size_t n)
{
	return n > 0 &&
	    !(n > 1 &&
	        ((p[0] == 0x00 && p[1] < 0x80) ||
	            (p[0] == 0xff && p[1] >= 0x80)));
}

bool
der_bit_string_ok(const unsigned char *p, size_t n)
{
	if (n == 0 || p[0] > 7)
		return false;
	if (n == 1)
		return p[0] == 0;
	return (p[n - 1] & ((1u << p[0]) - 1)) == 0;
}

bool
der_extensions_ok(struct der_cursor exts)
{
	struct der_cursor e, oid, b;

	while (exts.n > 0) {
		if (der_next(&exts, 0x30, &e) == -1 ||
		    der_next(&e, 0x06, &oid) == -1 || !der_oid_ok(oid.p, oid.n))
			return false;
		if (der_next(&e, 0x01, &b) == 0 &&
		    (b.n != 1 || (b.p[0] != 0x00 && b.p[0] != 0xff)))
			return false;
		if (der_next(&e, 0x04, NULL) == -1 || e.n != 0)
			return false;
	}
	return true;
}
