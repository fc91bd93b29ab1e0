/*
 * Listening sockets and accept. A listener that runs out of descriptors
 * pauses for a second rather than spinning on a pending connection.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <event2/event.h>
#include <event2/listener.h>

#include "ocspgate/addr.h"
#include "ocspgate/config.h"
#include "ocspgate/listener.h"
#include "ocspgate/log.h"
#include "ocspgate/server.h"
#include "ocspgate/session.h"

#define LISTENER_BACKLOG     511
#define LISTENER_BACKOFF_SEC 1

/* Linux netfilter's getsockopt() names, without its kernel headers. */
#ifndef SO_ORIGINAL_DST
#define SO_ORIGINAL_DST 80
#endif
#ifndef IP6T_SO_ORIGINAL_DST
#define IP6T_SO_ORIGINAL_DST 80
#endif

struct listener {
	struct server *srv;
	struct evconnlistener *lev;
	struct event *backoff;
	char name[INET6_ADDRSTRLEN + 8];
	struct config *cfg;            /* holds <la> */
	const struct listen_addr *la;  /* this listener's config entry */
	bool paused;                   /* max_connections reached */
	struct sockaddr_storage bound; /* the address bound, real port */
	bool backing_off;              /* out of descriptors */
};

/* True when <a> and <b> are the same address and port. */
static bool
listener_same_addr(
    const struct sockaddr_storage *a, const struct sockaddr_storage *b)
{
	if (a->ss_family != b->ss_family)
		return false;
	if (a->ss_family == AF_INET) {
		const struct sockaddr_in *x = (const void *)a,
		                         *y = (const void *)b;

		return x->sin_addr.s_addr == y->sin_addr.s_addr &&
		    x->sin_port == y->sin_port;
	}
	if (a->ss_family == AF_INET6) {
		const struct sockaddr_in6 *x = (const void *)a,
		                          *y = (const void *)b;

		return memcmp(&x->sin6_addr, &y->sin6_addr,
		           sizeof(x->sin6_addr)) == 0 &&
		    x->sin6_port == y->sin6_port;
	}
	return false;
}

/*
 * True when <local> is the listener's own address <bound> (the same
 * port, and the same address unless the listener is bound to any).
 */
static bool
listener_is_bound_to(
    const struct sockaddr_storage *bound, const struct sockaddr_storage *local)
{
	static const struct in6_addr any6 = IN6ADDR_ANY_INIT;

	if (bound->ss_family != local->ss_family)
		return false;
	if (bound->ss_family == AF_INET) {
		const struct sockaddr_in *b = (const void *)bound,
		                         *l = (const void *)local;

		return b->sin_port == l->sin_port &&
		    (b->sin_addr.s_addr == htonl(INADDR_ANY) ||
		        b->sin_addr.s_addr == l->sin_addr.s_addr);
	}
	{
		const struct sockaddr_in6 *b = (const void *)bound,
		                          *l = (const void *)local;

		return b->sin6_port == l->sin6_port &&
		    (memcmp(&b->sin6_addr, &any6, sizeof(any6)) == 0 ||
		        memcmp(&b->sin6_addr, &l->sin6_addr,
		            sizeof(l->sin6_addr)) == 0);
	}
}

static void
listener_on_accept(struct evconnlistener *lev, evutil_socket_t fd,
    struct sockaddr *sa, int salen, void *arg)
{
	struct listener *l = arg;

	(void)lev;
	session_new(l->srv, fd, sa, (socklen_t)salen, l->la, &l->bound);
}

static void
listener_on_backoff(evutil_socket_t fd, short what, void *arg)
{
	struct listener *l = arg;

	(void)fd;
	(void)what;
	l->backing_off = false;
	if (!l->paused)
		evconnlistener_enable(l->lev);
}

void
listener_pause(struct listener *l, bool pause)
{
	l->paused = pause;
	if (pause)
		evconnlistener_disable(l->lev);
	else if (!l->backing_off)
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
	l->backing_off = true;
	evtimer_add(l->backoff, &tv);
}

int
listener_original_dst(evutil_socket_t fd, enum listen_transparent mode,
    const struct sockaddr_storage *bound, struct sockaddr_storage *dst)
{
	struct sockaddr_storage local;
	socklen_t len = sizeof(local), dlen = sizeof(*dst);
	int rc;

	if (mode == LISTEN_EXPLICIT)
		return 0;
	if (getsockname(fd, (struct sockaddr *)&local, &len) == -1)
		return -1;
	if (mode == LISTEN_TPROXY) {
		/*
		 * TPROXY keeps the original destination as our address; a
		 * connection made to the listener itself was not diverted.
		 */
		if (listener_is_bound_to(bound, &local))
			return 0;
		*dst = local;
		return 1;
	}
	memset(dst, 0, sizeof(*dst));
	if (local.ss_family == AF_INET6)
		rc = getsockopt(fd, SOL_IPV6, IP6T_SO_ORIGINAL_DST, dst, &dlen);
	else
		rc = getsockopt(fd, SOL_IP, SO_ORIGINAL_DST, dst, &dlen);
	/* No conntrack entry (ENOENT) means nothing redirected it. */
	if (rc == -1)
		return errno == ENOENT || errno == ENOPROTOOPT ? 0 : -1;
	/* Without NAT the "original" destination is our own address. */
	return listener_same_addr(dst, &local) ? 0 : 1;
}

int
listener_bind(const struct listen_addr *la, char *err, size_t errlen)
{
	int fd, on = 1;

	fd = socket(
	    la->addr.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd == -1)
		goto syserr;
	if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on)) == -1)
		goto syserr;
	if (la->addr.ss_family == AF_INET6 &&
	    setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &on, sizeof(on)) == -1)
		goto syserr;
	/* TPROXY delivers connections for addresses that are not ours. */
	if (la->transparent == LISTEN_TPROXY &&
	    (la->addr.ss_family == AF_INET6
	            ? setsockopt(
	                  fd, SOL_IPV6, IPV6_TRANSPARENT, &on, sizeof(on))
	            : setsockopt(
	                  fd, SOL_IP, IP_TRANSPARENT, &on, sizeof(on))) == -1) {
		snprintf(err, errlen,
		    "listen %s: transparent = \"tproxy\" needs "
		    "CAP_NET_ADMIN: %s",
		    la->text, strerror(errno));
		close(fd);
		return -1;
	}
	if (bind(fd, (const struct sockaddr *)&la->addr, la->addr_len) == -1)
		goto syserr;
	if (listen(fd, LISTENER_BACKLOG) == -1)
		goto syserr;
	return fd;
syserr:
	snprintf(err, errlen, "listen %s: %s", la->text, strerror(errno));
	if (fd != -1)
		close(fd);
	return -1;
}

struct listener *
listener_new(struct server *srv, struct config *cfg,
    const struct listen_addr *la, int fd, char *err, size_t errlen)
{
	struct listener *l;
	struct sockaddr_storage bound;
	socklen_t blen = sizeof(bound);

	if ((l = calloc(1, sizeof(*l))) == NULL) {
		snprintf(err, errlen, "out of memory");
		close(fd);
		return NULL;
	}
	l->srv = srv;
	l->cfg = config_ref(cfg);
	l->la = la;
	if (getsockname(fd, (struct sockaddr *)&bound, &blen) == -1) {
		snprintf(
		    err, errlen, "listen %s: %s", la->text, strerror(errno));
		goto fail;
	}
	addr_format((const struct sockaddr *)&bound, l->name, sizeof(l->name));
	l->bound = bound;
	l->backoff = evtimer_new(srv->base, listener_on_backoff, l);
	l->lev = evconnlistener_new(srv->base, listener_on_accept, l,
	    LEV_OPT_CLOSE_ON_FREE | LEV_OPT_CLOSE_ON_EXEC, 0, fd);
	if (l->backoff == NULL || l->lev == NULL) {
		snprintf(err, errlen, "listen %s: out of memory", la->text);
		goto fail;
	}
	evconnlistener_set_error_cb(l->lev, listener_on_error);
	return l;
fail:
	if (l->lev == NULL)
		close(fd);
	listener_free(l);
	return NULL;
}

const char *
listener_text(const struct listener *l)
{
	return l->la->text;
}

const struct listen_addr *
listener_config(const struct listener *l)
{
	return l->la;
}

void
listener_rebind(
    struct listener *l, struct config *cfg, const struct listen_addr *la)
{
	config_ref(cfg);
	config_unref(l->cfg);
	l->cfg = cfg;
	l->la = la;
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
	config_unref(l->cfg);
	free(l);
}
