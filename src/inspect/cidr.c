/*
 * Address blocks: parsing and membership. Pure: no I/O, no globals.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ocspgate/addr.h"
#include "ocspgate/cidr.h"

int
cidr_parse(const char *text, struct cidr *c, char *err, size_t errlen)
{
	char buf[INET6_ADDRSTRLEN + 8];
	const char *slash = strchr(text, '/');
	size_t alen = slash != NULL ? (size_t)(slash - text) : strlen(text);
	unsigned max;

	memset(c, 0, sizeof(*c));
	if (alen == 0 || alen >= sizeof(buf)) {
		snprintf(err, errlen, "not an address or CIDR block");
		return -1;
	}
	memcpy(buf, text, alen);
	buf[alen] = '\0';
	if (inet_pton(AF_INET, buf, c->addr) == 1) {
		c->family = AF_INET;
		max = 32;
	} else if (inet_pton(AF_INET6, buf, c->addr) == 1) {
		c->family = AF_INET6;
		max = 128;
	} else {
		snprintf(
		    err, errlen, "'%s' is not an IPv4 or IPv6 address", buf);
		return -1;
	}
	c->prefix = max;
	if (slash != NULL) {
		const char *p = slash + 1;
		unsigned v = 0;

		if (*p == '\0' || strlen(p) > 3 ||
		    (p[0] == '0' && p[1] != '\0'))
			goto bad_prefix;
		for (; *p != '\0'; p++) {
			if (*p < '0' || *p > '9')
				goto bad_prefix;
			v = v * 10 + (unsigned)(*p - '0');
		}
		if (v > max)
			goto bad_prefix;
		c->prefix = v;
	}
	for (unsigned bit = c->prefix; bit < max; bit++) {
		if (c->addr[bit / 8] & (0x80u >> (bit % 8))) {
			snprintf(err, errlen,
			    "host bits set after /%u (did you mean a "
			    "network address?)",
			    c->prefix);
			return -1;
		}
	}
	return 0;
bad_prefix:
	snprintf(err, errlen, "bad prefix length (0..%u)", max);
	return -1;
}

int
cidr_key(const struct sockaddr *sa, unsigned char addr[16])
{
	static const unsigned char mapped[12] = {
	    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
	/* Read as bytes: see addr_family(). */
	int family = addr_family(sa);

	memset(addr, 0, 16);
	if (family == AF_INET) {
		memcpy(addr,
		    &((const struct sockaddr_in *)(const void *)sa)->sin_addr,
		    4);
		return AF_INET;
	}
	if (family == AF_INET6) {
		const unsigned char *a =
		    ((const struct sockaddr_in6 *)(const void *)sa)
		        ->sin6_addr.s6_addr;

		if (memcmp(a, mapped, 12) == 0) {
			memcpy(addr, a + 12, 4);
			return AF_INET;
		}
		memcpy(addr, a, 16);
		return AF_INET6;
	}
	return 0;
}

void
cidr_group(int family, unsigned char addr[16], unsigned prefix6)
{
	unsigned full, rest;

	if (family != AF_INET6 || prefix6 >= 128)
		return;
	full = prefix6 / 8;
	rest = prefix6 % 8;
	if (rest != 0)
		addr[full++] &= (unsigned char)(0xffu << (8 - rest));
	memset(addr + full, 0, 16 - full);
}

bool
cidr_contains(const struct cidr *c, const struct sockaddr *sa)
{
	unsigned char a[16];
	unsigned full, rest;

	if (cidr_key(sa, a) != c->family)
		return false;
	full = c->prefix / 8;
	rest = c->prefix % 8;
	if (memcmp(a, c->addr, full) != 0)
		return false;
	return rest == 0 ||
	    ((a[full] ^ c->addr[full]) & (0xffu << (8 - rest)) & 0xffu) == 0;
}

bool
cidr_list_contains(const struct cidr *list, size_t n, const struct sockaddr *sa)
{
	for (size_t i = 0; i < n; i++) {
		if (cidr_contains(&list[i], sa))
			return true;
	}
	return false;
}
