/*
 * Fuzz target for path_shape.c: any bytes as a path (a '?' splits off a
 * query) through every shape check. Aborts when an invariant breaks:
 * nothing accepted is longer, deeper or of another alphabet than the
 * bounds say, and a trust-list root's thumbprint is the hex it named.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ocspgate/path_shape.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static size_t
fuzz_count(const char *p, size_t n, char c)
{
	size_t k = 0;

	for (size_t i = 0; i < n; i++)
		k += p[i] == c;
	return k;
}

static int
fuzz_hex(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *p = (const char *)data, *q;
	size_t plen = size, qlen = 0;
	struct path_shape_ctl c;

	if (path_shape_ocsp_prefix(p, size)) {
		if (size > PATH_SHAPE_OCSP_MAX ||
		    fuzz_count(p, size, '/') > PATH_SHAPE_OCSP_SEGMENTS ||
		    memchr(p, '%', size) != NULL ||
		    memchr(p, '?', size) != NULL)
			abort();
	}
	if (path_shape_ocsp_post(p, size) &&
	    (size == 0 || size > PATH_SHAPE_OCSP_MAX + 1 || p[0] != '/'))
		abort();
	for (int cls = PATH_SHAPE_CRL; cls <= PATH_SHAPE_CA_ISSUER; cls++)
		if (path_shape_fetch((enum path_shape_fetch)cls, p, size) ==
		        NULL &&
		    (size == 0 || size > PATH_SHAPE_FETCH_MAX ||
		        fuzz_count(p, size, '/') > PATH_SHAPE_FETCH_SEGMENTS ||
		        memchr(p, '?', size) != NULL ||
		        memchr(p, ' ', size) != NULL))
			abort();
	if ((q = memchr(p, '?', size)) != NULL) {
		plen = (size_t)(q - p);
		q++;
		qlen = size - plen - 1;
	}
	if (path_shape_ctl(p, plen, NULL, 0, q, qlen, &c) == NULL) {
		if (plen > PATH_SHAPE_FETCH_MAX ||
		    c.file + c.file_len != p + plen ||
		    (q != NULL && qlen != PATH_SHAPE_CTL_QUERY_LEN))
			abort();
		for (size_t i = 0; c.root && i < PATH_SHAPE_THUMBPRINT_LEN; i++)
			if (c.thumbprint[i] !=
			    (unsigned char)(fuzz_hex(c.file[2 * i]) << 4 |
			        fuzz_hex(c.file[2 * i + 1])))
				abort();
	}
	if (path_shape_wildcard_label(p, size) &&
	    (size == 0 || size > PATH_SHAPE_LABEL_MAX ||
	        memchr(p, '.', size) != NULL))
		abort();
	return 0;
}
