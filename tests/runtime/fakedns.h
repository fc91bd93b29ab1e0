/*
 * A fake DNS server on 127.0.0.1 for the runtime tests, on the test's
 * own event loop: it answers A queries for the names it is given, an
 * empty answer for other types of those names, NXDOMAIN for any other
 * name, or nothing at all when silent. It records what it was asked.
 * Messages are read and written by hand (RFC 1035 4.1).
 */
#ifndef OCSPGATE_TEST_FAKEDNS_H
#define OCSPGATE_TEST_FAKEDNS_H

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#include <event2/event.h>

#define FAKEDNS_NAMES 8

struct fakedns {
	int fd;
	unsigned port;
	struct event *ev;
	bool silent; /* drop every query */
	struct {
		const char *name;
		struct in_addr a;
	} names[FAKEDNS_NAMES];
	size_t nnames;
	unsigned queries;    /* every query read */
	char last_name[256]; /* the name of the last one */
	/* Called with each query read, before it is answered (if it is). */
	void (*on_query)(struct fakedns *d, void *arg);
	void *on_query_arg;
};

/* Reads the question's name at <p> (no compression) into <out>. Returns
 * the offset after it, or 0. */
static size_t
fakedns_name(
    const unsigned char *msg, size_t len, size_t p, char *out, size_t outlen)
{
	size_t o = 0;

	while (p < len && msg[p] != 0) {
		size_t l = msg[p++];

		if (l > 63 || p + l > len || o + l + 2 > outlen)
			return 0;
		if (o > 0)
			out[o++] = '.';
		memcpy(out + o, msg + p, l);
		o += l;
		p += l;
	}
	if (p >= len)
		return 0;
	out[o] = '\0';
	return p + 1;
}

static void
fakedns_on_read(evutil_socket_t fd, short what, void *arg)
{
	struct fakedns *d = arg;
	unsigned char q[512], r[600];
	struct sockaddr_storage from;
	socklen_t fromlen = sizeof(from);
	const struct in_addr *a = NULL;
	size_t end, rl;
	unsigned qtype;
	bool known = false;
	ssize_t n;

	(void)what;
	n = recvfrom(fd, q, sizeof(q), 0, (struct sockaddr *)&from, &fromlen);
	if (n < 12)
		return;
	d->queries++;
	end =
	    fakedns_name(q, (size_t)n, 12, d->last_name, sizeof(d->last_name));
	if (d->on_query != NULL)
		d->on_query(d, d->on_query_arg);
	if (end == 0 || end + 4 > (size_t)n || d->silent)
		return;
	qtype = (unsigned)q[end] << 8 | q[end + 1];
	end += 4;
	for (size_t i = 0; i < d->nnames; i++) {
		if (strcasecmp(d->names[i].name, d->last_name) == 0) {
			known = true;
			if (qtype == 1)
				a = &d->names[i].a;
		}
	}
	memcpy(r, q, end);
	r[2] = 0x81;                /* QR, RD */
	r[3] = known ? 0x80 : 0x83; /* RA; NXDOMAIN unless known */
	r[6] = 0;
	r[7] = a != NULL; /* ANCOUNT */
	memset(r + 8, 0, 4);
	rl = end;
	if (a != NULL) {
		static const unsigned char rr[] = {
		    0xc0, 0x0c, 0, 1, 0, 1, 0, 0, 0, 60, 0, 4};

		memcpy(r + rl, rr, sizeof(rr));
		rl += sizeof(rr);
		memcpy(r + rl, a, 4);
		rl += 4;
	}
	(void)sendto(fd, r, rl, 0, (struct sockaddr *)&from, fromlen);
}

/* Starts the server on <base>; exits the test on failure. */
static void
fakedns_start(struct fakedns *d, struct event_base *base)
{
	struct sockaddr_in sin = {.sin_family = AF_INET};
	socklen_t len = sizeof(sin);

	memset(d, 0, sizeof(*d));
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	d->fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (d->fd == -1 ||
	    bind(d->fd, (struct sockaddr *)&sin, sizeof(sin)) == -1 ||
	    getsockname(d->fd, (struct sockaddr *)&sin, &len) == -1 ||
	    (d->ev = event_new(base, d->fd, EV_READ | EV_PERSIST,
	         fakedns_on_read, d)) == NULL ||
	    event_add(d->ev, NULL) == -1) {
		perror("fakedns");
		exit(2);
	}
	d->port = ntohs(sin.sin_port);
}

/* Answers A queries for <name> with <ip>. */
static void
fakedns_add(struct fakedns *d, const char *name, const char *ip)
{
	if (d->nnames == FAKEDNS_NAMES)
		abort();
	d->names[d->nnames].name = name;
	inet_pton(AF_INET, ip, &d->names[d->nnames].a);
	d->nnames++;
}

static void
fakedns_stop(struct fakedns *d)
{
	event_free(d->ev);
	close(d->fd);
}

#endif
