/*
 * Socket addresses as text. Pure: no I/O, no globals.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#include "ocspgate/addr.h"

int
addr_family(const struct sockaddr *sa)
{
	sa_family_t family;

	memcpy(&family, (const char *)sa + offsetof(struct sockaddr, sa_family),
	    sizeof(family));
	return family;
}

char *
addr_ip(const struct sockaddr *sa, char *out, size_t len)
{
	int family = addr_family(sa);
	const void *a;

	if (len == 0)
		return out;
	out[0] = '\0';
	if (family == AF_INET6)
		a = &((const struct sockaddr_in6 *)(const void *)sa)->sin6_addr;
	else if (family == AF_INET)
		a = &((const struct sockaddr_in *)(const void *)sa)->sin_addr;
	else
		return out;
	if (inet_ntop(family, a, out, (socklen_t)len) == NULL)
		out[0] = '\0';
	return out;
}

uint16_t
addr_port(const struct sockaddr *sa)
{
	int family = addr_family(sa);

	if (family == AF_INET6)
		return ntohs(
		    ((const struct sockaddr_in6 *)(const void *)sa)->sin6_port);
	if (family == AF_INET)
		return ntohs(
		    ((const struct sockaddr_in *)(const void *)sa)->sin_port);
	return 0;
}

void
addr_format(const struct sockaddr *sa, char *out, size_t len)
{
	char ip[INET6_ADDRSTRLEN];
	int family = addr_family(sa);

	if (len == 0)
		return;
	out[0] = '\0';
	if (family != AF_INET && family != AF_INET6)
		return;
	addr_ip(sa, ip, sizeof(ip));
	snprintf(out, len, family == AF_INET6 ? "[%s]:%u" : "%s:%u", ip,
	    (unsigned)addr_port(sa));
}
