/*
 * Listening sockets and accept. A listener that runs out of descriptors
 * pauses for a second rather than spinning on a pending connection.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <event2/event.h>
#include <event2/listener.h>

#include "ocspgate/config.h"
#include "ocspgate/listener.h"
#include "ocspgate/log.h"
#include "ocspgate/server.h"
#include "ocspgate/session.h"

#define LISTENER_BACKLOG     511
#define LISTENER_BACKOFF_SEC 1

struct listener {
	struct server *srv;
	struct evconnlistener *lev;
	struct event *backoff;
	char name[INET6_ADDRSTRLEN + 8];
	char *text;
};

static void
listener_on_accept(struct evconnlistener *lev, evutil_socket_t fd,
    struct sockaddr *sa, int salen, void *arg)
{
	struct listener *l = arg;

	(void)lev;
	session_new(l->srv, fd, sa, (socklen_t)salen);
}

static void
listener_on_backoff(evutil_socket_t fd, short what, void *arg)
{
	struct listener *l = arg;

	(void)fd;
	(void)what;
	evconnlistener_enable(l->lev);
}

static void
listener_on_error(struct evconnlistener *lev, void *arg)
{
	struct listener *l = arg;
	int err = EVUTIL_SOCKET_ERROR();
	struct timeval tv = {.tv_sec = LISTENER_BACKOFF_SEC};

	(void)lev;
	log_warn("accept on %s: %s; pausing %d s", l->name, strerror(err),
	    LISTENER_BACKOFF_SEC);
	evconnlistener_disable(l->lev);
	evtimer_add(l->backoff, &tv);
}

static void
listener_format(const struct sockaddr_storage *ss, char *out, size_t len)
{
	char ip[INET6_ADDRSTRLEN];

	if (ss->ss_family == AF_INET6) {
		const struct sockaddr_in6 *a = (const void *)ss;

		inet_ntop(AF_INET6, &a->sin6_addr, ip, sizeof(ip));
		snprintf(out, len, "[%s]:%u", ip, ntohs(a->sin6_port));
	} else {
		const struct sockaddr_in *a = (const void *)ss;

		inet_ntop(AF_INET, &a->sin_addr, ip, sizeof(ip));
		snprintf(out, len, "%s:%u", ip, ntohs(a->sin_port));
	}
}

struct listener *
listener_new(
    struct server *srv, const struct listen_addr *la, char *err, size_t errlen)
{
	struct listener *l;
	struct sockaddr_storage bound;
	socklen_t blen = sizeof(bound);
	int fd = -1, on = 1;

	if ((l = calloc(1, sizeof(*l))) == NULL) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	l->srv = srv;
	if ((l->text = strdup(la->text)) == NULL) {
		snprintf(err, errlen, "out of memory");
		goto fail;
	}
	fd = socket(
	    la->addr.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd == -1)
		goto syserr;
	if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on)) == -1)
		goto syserr;
	if (la->addr.ss_family == AF_INET6 &&
	    setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &on, sizeof(on)) == -1)
		goto syserr;
	if (bind(fd, (const struct sockaddr *)&la->addr, la->addr_len) == -1)
		goto syserr;
	if (listen(fd, LISTENER_BACKLOG) == -1)
		goto syserr;
	if (getsockname(fd, (struct sockaddr *)&bound, &blen) == -1)
		goto syserr;
	listener_format(&bound, l->name, sizeof(l->name));
	l->backoff = evtimer_new(srv->base, listener_on_backoff, l);
	l->lev = evconnlistener_new(srv->base, listener_on_accept, l,
	    LEV_OPT_CLOSE_ON_FREE | LEV_OPT_CLOSE_ON_EXEC, 0, fd);
	if (l->backoff == NULL || l->lev == NULL) {
		snprintf(err, errlen, "listen %s: out of memory", la->text);
		goto fail;
	}
	evconnlistener_set_error_cb(l->lev, listener_on_error);
	return l;
syserr:
	snprintf(err, errlen, "listen %s: %s", la->text, strerror(errno));
fail:
	if (l->lev == NULL && fd != -1)
		close(fd);
	listener_free(l);
	return NULL;
}

const char *
listener_text(const struct listener *l)
{
	return l->text;
}

const char *
listener_name(const struct listener *l)
{
	return l->name;
}

void
listener_free(struct listener *l)
{
	if (l == NULL)
		return;
	if (l->lev != NULL)
		evconnlistener_free(l->lev);
	if (l->backoff != NULL)
		event_free(l->backoff);
	free(l->text);
	free(l);
}
