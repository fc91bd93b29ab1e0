/*
 * Address blocks ("10.0.0.0/8", "2001:db8::/32", "192.0.2.7"). Pure.
 */
#ifndef OCSPGATE_CIDR_H
#define OCSPGATE_CIDR_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/socket.h>

struct cidr {
	int family;             /* AF_INET or AF_INET6 */
	unsigned char addr[16]; /* network order; host bits zero */
	unsigned prefix;        /* 0..32 or 0..128 */
};

/*
 * Parses an address or CIDR. A bare address is a /32 or /128. Host bits
 * set beyond the prefix are an error. Returns 0, or -1 with a message in
 * <err>.
 */
int cidr_parse(const char *text, struct cidr *c, char *err, size_t errlen);

/*
 * The address bytes of <sa> in <addr> (IPv4 in the first 4, the rest
 * zero), an IPv4-mapped IPv6 address as IPv4. Returns the family
 * (AF_INET, AF_INET6), or 0 for another kind of address.
 */
int cidr_key(const struct sockaddr *sa, unsigned char addr[16]);

/*
 * Turns <addr>, as cidr_key() wrote it for <family>, into the key of its
 * source block: an AF_INET6 address keeps its first <prefix6> bits
 * (0..128; the rest are zeroed), any other stays whole. One IPv6 host
 * usually holds a whole /64 and may take any address in it, so limits
 * and alerts that count per address would count it as many sources.
 */
void cidr_group(int family, unsigned char addr[16], unsigned prefix6);

/*
 * True when <sa> (AF_INET or AF_INET6; an IPv4-mapped IPv6 address counts
 * as IPv4) lies in <c>.
 */
bool cidr_contains(const struct cidr *c, const struct sockaddr *sa);

/* True when <sa> lies in any of the <n> blocks. */
bool cidr_list_contains(
    const struct cidr *list, size_t n, const struct sockaddr *sa);

#endif
