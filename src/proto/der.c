/*
 * Minimal DER reading shared by the OCSP inspectors. Pure.
 */
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
