/*
 * Socket addresses as text: the address, the port, both together. The
 * one place that takes a struct sockaddr apart for printing. Pure.
 */
#ifndef OCSPGATE_ADDR_H
#define OCSPGATE_ADDR_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

/* Room for any text addr_format() writes, with the NUL. */
#define ADDR_TEXT_MAX 64 /* "[" INET6_ADDRSTRLEN "]:" port */

/*
 * Writes the address of <sa> (AF_INET or AF_INET6) into <out> as
 * inet_ntop() does: "192.0.2.1", "2001:db8::1". Writes "" for another
 * family or when <len> is too small. Returns <out>.
 */
char *addr_ip(const struct sockaddr *sa, char *out, size_t len);

/*
 * The family of <sa> (AF_INET, AF_INET6, ...), read as bytes: the object
 * is a sockaddr_in, a sockaddr_in6 or a union of them, and reading it
 * through a struct sockaddr would break C's aliasing rules.
 */
int addr_family(const struct sockaddr *sa);

/* The port of <sa> in host order; 0 for a family without one. */
uint16_t addr_port(const struct sockaddr *sa);

/*
 * Writes <sa> as "192.0.2.1:80" or "[2001:db8::1]:80" into <out>
 * (truncated to <len>, NUL-terminated); "" for another family.
 */
void addr_format(const struct sockaddr *sa, char *out, size_t len);

#endif
