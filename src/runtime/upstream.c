/*
 * One exchange with an upstream server: resolve the target with evdns
 * (the hosts file first), connect with upstream_timeout covering lookup,
 * connect and first byte, send the request in origin-form, read the
 * answer's head and body, and keep the connection for the next request
 * to the same host. What the client gets of the answer is its owner's
 * business (answer.c), told through struct upstream_ops.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/dns.h>
#include <event2/event.h>

#include "ocspgate/addr.h"
#include "ocspgate/config.h"
#include "ocspgate/conn.h"
#include "ocspgate/metrics.h"
#include "ocspgate/pool.h"
#include "ocspgate/resolver.h"
#include "ocspgate/server.h"
#include "ocspgate/upstream.h"

static void upstream_connect_next(struct upstream *u, int last_error);
static void upstream_on_read(struct conn *c, void *arg);
static void upstream_on_event(struct conn *c, short what, void *arg);

void
upstream_init(struct upstream *u)
{
	memset(u, 0, sizeof(*u));
}

void
upstream_clear(struct upstream *u)
{
	/* An answer parser never readied wrote nothing but its sink. */
	if (u->resp_used)
		memset(&u->resp, 0, sizeof(u->resp));
	else
		memset(&u->resp.sink, 0, sizeof(u->resp.sink));
	u->resp_used = false;
	u->head_len = 0;
	u->raw_bytes = 0;
	u->reused = false;
	u->no_reuse = false;
	u->name[0] = '\0';
	u->ip[0] = '\0';
	memset(&u->sink, 0, sizeof(u->sink));
	u->pass = NULL;
}

void
upstream_put_buffers(struct upstream *u)
{
	if (u->timer != NULL) {
		if (u->timer_armed)
			event_del(u->timer);
		u->timer_armed = false;
		u->timer = NULL;
	}
	if (u->srv != NULL)
		pool_put(&u->srv->pool, u->head, u->head_cap);
	u->head = NULL;
	u->head_cap = 0;
	u->head_len = 0;
}

void
upstream_release(struct upstream *u)
{
	if (u->dns != NULL) {
		/* The callback runs with EVUTIL_EAI_CANCEL and ignores us. */
		evdns_getaddrinfo_cancel(u->dns);
		u->dns = NULL;
	}
	resolver_unref(u->resolver);
	u->resolver = NULL;
	if (u->conn != NULL) {
		conn_free(u->conn);
		u->conn = NULL;
	}
	if (u->addrs != NULL) {
		evutil_freeaddrinfo(u->addrs);
		u->addrs = NULL;
		u->addr_next = NULL;
	}
	/* Already off once the answer began: no call for nothing. */
	if (u->timer_armed) {
		evtimer_del(u->timer);
		u->timer_armed = false;
	}
}

/* Ends the exchange with a failure its owner answers. */
static void
upstream_fail(struct upstream *u, enum reason why, const char *detail)
{
	upstream_release(u);
	u->ops->failed(u->ctx, why, detail);
}

static void
upstream_on_timer(evutil_socket_t fd, short what, void *arg)
{
	struct upstream *u = arg;

	(void)fd;
	(void)what;
	u->timer_armed = false; /* it fired: no longer pending */
	upstream_fail(u, REASON_UPSTREAM_TIMEOUT,
	    u->dns != NULL     ? "name lookup timed out"
	        : u->connected ? "no answer within upstream_timeout"
	                       : "connect timed out");
}

static void
upstream_on_resolved(int result, struct evutil_addrinfo *res, void *arg)
{
	struct upstream *u = arg;

	if (result == EVUTIL_EAI_CANCEL)
		return; /* <u> may be gone */
	u->dns = NULL;
	if (result != 0) {
		if (res != NULL)
			evutil_freeaddrinfo(res);
		upstream_fail(u, REASON_UPSTREAM_UNREACHABLE,
		    evutil_gai_strerror(result));
		return;
	}
	u->addrs = res;
	u->addr_next = res;
	if (!u->ops->resolved(u->ctx, res)) {
		upstream_release(u);
		return;
	}
	upstream_connect_next(u, 0);
}

/* A request head up to the default max_header_bytes is built on the
 * stack, a larger one in a pooled buffer. */
#define UPSTREAM_SEND_STACK (CONFIG_DEFAULT_MAX_HEADER_BYTES + 256)

/*
 * Sends the request on a connected (reused) connection: the head built
 * in a buffer of <cap> bytes, then head and body written at once as far
 * as the socket takes them, the rest queued. Returns -1 when the head
 * cannot be built or out of memory.
 */
static int
upstream_send_now(struct upstream *u, size_t cap)
{
	char stack[UPSTREAM_SEND_STACK];
	char *head =
	    cap <= sizeof(stack) ? stack : pool_get(&u->srv->pool, cap);
	struct iovec v[2];
	int n, rc = -1;

	if (head == NULL)
		return -1;
	n = http_request_build_upstream(
	    u->req, u->srv->via, u->cfg->upstream_idle_max > 0, head, cap);
	if (n >= 0) {
		v[0].iov_base = head;
		v[0].iov_len = (size_t)n;
		v[1].iov_base = u->req->body;
		v[1].iov_len = u->req->body_len;
		rc = conn_send_iov(u->conn, v, u->req->body_len > 0 ? 2 : 1);
	}
	if (head != stack)
		pool_put(&u->srv->pool, head, cap);
	return rc;
}

/*
 * Sends the head and body of the request upstream: queued on a fresh
 * connection (sent once it connects), at once on a reused one.
 */
static int
upstream_send_request(struct upstream *u)
{
	struct evbuffer *out = u->conn->out;
	size_t cap = u->cfg->max_header_bytes + 256;
	struct evbuffer_iovec v;
	int n;

	if (u->connected)
		return upstream_send_now(u, cap);
	if (evbuffer_reserve_space(out, (ev_ssize_t)cap, &v, 1) < 1)
		return -1;
	n = http_request_build_upstream(u->req, u->srv->via,
	    u->cfg->upstream_idle_max > 0, v.iov_base,
	    v.iov_len < cap ? v.iov_len : cap);
	if (n < 0)
		return -1;
	v.iov_len = (size_t)n;
	if (evbuffer_commit_space(out, &v, 1) == -1)
		return -1;
	/* The body stays in the request's buffer until the request ends. */
	if (u->req->body_len > 0 &&
	    evbuffer_add_reference(
	        out, u->req->body, u->req->body_len, NULL, NULL) == -1)
		return -1;
	return 0;
}

/*
 * A non-blocking socket for <family>, with SO_MARK set when configured
 * so that firewall rules can exempt ocspgate's own traffic from the
 * redirection that brings clients' traffic to it. Returns -1 on error.
 */
static evutil_socket_t
upstream_socket(const struct upstream *u, int family)
{
	evutil_socket_t fd;
	uint32_t mark = u->cfg->upstream_mark;

	fd = socket(family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd == -1)
		return -1;
	if (mark != 0 &&
	    setsockopt(fd, SOL_SOCKET, SO_MARK, &mark, sizeof(mark)) == -1) {
		int e = errno;

		evutil_closesocket(fd);
		errno = e;
		return -1;
	}
	return fd;
}

/* A fresh answer parser, its payload going to the owner's sink. */
static void
upstream_init_response(struct upstream *u)
{
	http_response_init(&u->resp, u->req->llhttp_method == HTTP_HEAD);
	u->resp_used = true;
	u->resp.sink = u->sink;
}

void
upstream_set_sink(struct upstream *u, const struct http_response_sink *sink,
    struct evbuffer *pass)
{
	u->sink = *sink;
	u->pass = pass;
	u->resp.sink = *sink;
}

/* The request is on its way: get ready to read the answer. */
static void
upstream_expect_response(struct upstream *u)
{
	upstream_init_response(u);
	conn_enable_read(u->conn, true);
}

static void
upstream_connect_next(struct upstream *u, int last_error)
{
	while (u->addr_next != NULL) {
		struct evutil_addrinfo *ai = u->addr_next;
		evutil_socket_t fd;

		u->addr_next = ai->ai_next;
		/* The request is queued until this connection is up. */
		u->connected = false;
		addr_ip(ai->ai_addr, u->ip, sizeof(u->ip));
		if ((fd = upstream_socket(u, ai->ai_family)) == -1) {
			last_error = errno;
			continue;
		}
		u->conn = conn_new(u->srv->base, fd, upstream_on_read, NULL,
		    upstream_on_event, u);
		if (u->conn == NULL) {
			evutil_closesocket(fd);
			last_error = ENOMEM;
			break;
		}
		conn_set_pool(u->conn, &u->srv->pool);
		if (conn_connect(u->conn, ai->ai_addr, ai->ai_addrlen) == -1 ||
		    upstream_send_request(u) == -1) {
			last_error = errno;
			conn_free(u->conn);
			u->conn = NULL;
			continue;
		}
		u->connected = false;
		u->reused = false;
		metrics_add(&u->srv->metrics.upstream_connects_total, 1);
		upstream_expect_response(u);
		return;
	}
	upstream_fail(u, REASON_UPSTREAM_UNREACHABLE,
	    last_error != 0 ? strerror(last_error)
	                    : "no address to connect to");
}

/*
 * Idle upstream connections, kept per worker for the next request to
 * the same host and port: most recently used first, at most
 * upstream_idle_max, each closed after upstream_idle_timeout or as soon
 * as the server closes it or sends anything unasked.
 */
struct upstream_idle {
	TAILQ_ENTRY(upstream_idle) entry;
	struct server *srv;
	struct conn *conn;
	uint16_t port;
	uint32_t mark;
	char ip[INET6_ADDRSTRLEN];
	char host[]; /* the request's host name */
};

static void
upstream_idle_close(struct upstream_idle *i)
{
	TAILQ_REMOVE(&i->srv->idle, i, entry);
	i->srv->nidle--;
	conn_free(i->conn);
	free(i);
}

static void
upstream_idle_on_read(struct conn *c, void *arg)
{
	(void)c;
	upstream_idle_close(arg); /* bytes nobody asked for */
}

static void
upstream_idle_on_event(struct conn *c, short what, void *arg)
{
	(void)c;
	(void)what;
	upstream_idle_close(arg); /* closed, reset or timed out */
}

void
upstream_idle_flush(struct server *srv)
{
	upstream_idle_trim(srv, 0);
}

void
upstream_idle_trim(struct server *srv, unsigned keep)
{
	struct upstream_idle *i;

	/* The least recently used go first. */
	while (srv->nidle > keep &&
	    (i = TAILQ_LAST(&srv->idle, upstream_idle_list)) != NULL)
		upstream_idle_close(i);
}

/*
 * After a complete answer, keeps the connection for reuse when both
 * sides agreed to keep it open and nothing else arrived on it.
 */
static void
upstream_park(struct upstream *u)
{
	struct server *srv = u->srv;
	unsigned max = u->cfg->upstream_idle_max;
	struct timeval tv = {.tv_sec = u->cfg->upstream_idle_timeout_sec};
	struct upstream_idle *i;
	size_t hlen = strlen(u->name);

	if (max == 0 || u->conn == NULL || srv->draining ||
	    u->req->http_minor != 1 || !u->resp.keep_alive ||
	    http_response_close_delimited(&u->resp) ||
	    evbuffer_get_length(u->conn->in) > 0 ||
	    evbuffer_get_length(u->conn->out) > 0)
		return;
	if ((i = malloc(sizeof(*i) + hlen + 1)) == NULL)
		return;
	while (srv->nidle >= max)
		upstream_idle_close(TAILQ_LAST(&srv->idle, upstream_idle_list));
	i->srv = srv;
	i->conn = u->conn;
	i->port = u->req->port;
	i->mark = u->cfg->upstream_mark;
	memcpy(i->ip, u->ip, sizeof(i->ip));
	memcpy(i->host, u->name, hlen + 1);
	u->conn = NULL;
	conn_set_callbacks(
	    i->conn, upstream_idle_on_read, NULL, upstream_idle_on_event, i);
	conn_set_read_timeout(i->conn, &tv);
	conn_enable_read(i->conn, true);
	TAILQ_INSERT_HEAD(&srv->idle, i, entry);
	srv->nidle++;
}

/*
 * Sends the request on an idle connection to the same host and port, if
 * there is one. An intercepted request is not: its Host is checked
 * against fresh DNS answers first. Returns true when it was sent.
 */
static bool
upstream_reuse(struct upstream *u)
{
	struct upstream_idle *i;

	if (u->no_reuse || u->req->intercepted ||
	    u->cfg->upstream_idle_max == 0)
		return false;
	TAILQ_FOREACH (i, &u->srv->idle, entry) {
		if (i->port == u->req->port &&
		    i->mark == u->cfg->upstream_mark &&
		    strcmp(i->host, u->name) == 0)
			break;
	}
	if (i == NULL)
		return false;
	TAILQ_REMOVE(&u->srv->idle, i, entry);
	u->srv->nidle--;
	u->conn = i->conn;
	memcpy(u->ip, i->ip, sizeof(u->ip));
	free(i);
	conn_set_callbacks(
	    u->conn, upstream_on_read, NULL, upstream_on_event, u);
	conn_set_read_timeout(u->conn, NULL);
	u->connected = true;
	if (upstream_send_request(u) == -1) {
		conn_free(u->conn);
		u->conn = NULL;
		u->connected = false;
		return false;
	}
	u->reused = true;
	metrics_add(&u->srv->metrics.upstream_reused_total, 1);
	upstream_expect_response(u);
	return true;
}

/* Looks up the target's addresses, then connects to them in turn. */
static void
upstream_resolve(struct upstream *u)
{
	struct evutil_addrinfo hints;
	struct evdns_getaddrinfo_request *req;
	char port[8];

	snprintf(port, sizeof(port), "%u", (unsigned)u->req->port);
	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_protocol = IPPROTO_TCP;
	/* The resolver of the config in force now, kept until the end. */
	if (u->resolver == NULL)
		u->resolver = resolver_ref(u->srv->resolver);
	/* May call back before returning, and then returns NULL. */
	req = evdns_getaddrinfo(
	    u->resolver->dns, u->name, port, &hints, upstream_on_resolved, u);
	if (req != NULL)
		u->dns = req;
}

void
upstream_start(struct upstream *u, struct server *srv, const struct config *cfg,
    const struct http_request *req, const struct upstream_ops *ops, void *ctx)
{
	struct timeval tv = {.tv_sec = cfg->upstream_timeout_sec};

	u->srv = srv;
	u->cfg = cfg;
	u->req = req;
	u->ops = ops;
	u->ctx = ctx;
	if (req->host.len >= sizeof(u->name)) {
		upstream_fail(
		    u, REASON_UPSTREAM_UNREACHABLE, "host name too long");
		return;
	}
	memcpy(u->name, req->host.p, req->host.len);
	u->name[req->host.len] = '\0';
	/* "name." is the same name, but hosts files list it without the dot. */
	if (req->host.len > 1 && u->name[req->host.len - 1] == '.')
		u->name[req->host.len - 1] = '\0';
	u->connected = false;
	u->replied = false;
	u->start_ns = server_now_ns();
	/* Set up once per request block: no allocation per request. */
	if (u->timer == NULL) {
		if (evtimer_assign(
		        &u->timer_ev, srv->base, upstream_on_timer, u) == -1) {
			upstream_fail(
			    u, REASON_RESPONSE_MALFORMED, "out of memory");
			return;
		}
		u->timer = &u->timer_ev;
	}
	u->timer_armed = evtimer_add(u->timer, &tv) == 0;
	if (upstream_reuse(u))
		return;
	upstream_resolve(u);
}

void
upstream_pause(struct upstream *u, bool pause)
{
	if (u->conn == NULL)
		return;
	conn_enable_read(u->conn, !pause);
}

bool
upstream_paused(const struct upstream *u)
{
	return u->conn != NULL && !conn_reading(u->conn);
}

/*
 * A head longer than the usual buffer: move what was read to one of the
 * largest size and parse it again there (the header spans point into
 * the buffer). Returns -1 after failing the exchange.
 */
static int
upstream_grow_head(struct upstream *u)
{
	char *big = pool_get(&u->srv->pool, UPSTREAM_HEAD_MAX);
	size_t consumed;

	if (big == NULL) {
		upstream_fail(u, REASON_RESPONSE_MALFORMED, "out of memory");
		return -1;
	}
	memcpy(big, u->head, u->head_len);
	pool_put(&u->srv->pool, u->head, u->head_cap);
	u->head = big;
	u->head_cap = UPSTREAM_HEAD_MAX;
	upstream_init_response(u);
	if (http_response_parse(&u->resp, u->head, u->head_len, &consumed) ==
	        HTTP_PARSE_ERROR ||
	    consumed != u->head_len) {
		upstream_fail(u, REASON_RESPONSE_MALFORMED, u->resp.detail);
		return -1;
	}
	return 0;
}

/*
 * Reads the upstream's status line and headers into the head buffer,
 * then tells the owner. Returns -1 after the exchange ended, 0 (the head
 * may still be incomplete).
 */
static int
upstream_read_head(struct upstream *u, struct evbuffer *in)
{
	if (u->head == NULL) {
		if ((u->head = pool_get(&u->srv->pool, UPSTREAM_HEAD_START)) ==
		    NULL) {
			upstream_fail(
			    u, REASON_RESPONSE_MALFORMED, "out of memory");
			return -1;
		}
		u->head_cap = UPSTREAM_HEAD_START;
	}
	while (u->resp.state == HTTP_RESPONSE_HEAD) {
		size_t len = evbuffer_get_length(in), consumed;
		size_t space = u->head_cap - u->head_len;
		enum http_parse rc;

		if (len == 0)
			return 0; /* wait for more */
		if (space == 0 && u->head_cap < UPSTREAM_HEAD_MAX) {
			if (upstream_grow_head(u) == -1)
				return -1;
			continue;
		}
		if (space == 0) {
			upstream_fail(u, REASON_RESPONSE_MALFORMED,
			    "response head too large");
			return -1;
		}
		if (len > space)
			len = space;
		evbuffer_copyout(in, u->head + u->head_len, len);
		rc = http_response_parse(
		    &u->resp, u->head + u->head_len, len, &consumed);
		u->head_len += consumed;
		u->raw_bytes += consumed;
		evbuffer_drain(in, consumed);
		if (rc == HTTP_PARSE_ERROR) {
			upstream_fail(
			    u, REASON_RESPONSE_MALFORMED, u->resp.detail);
			return -1;
		}
	}
	return u->ops->head(u->ctx);
}

/*
 * Parses body bytes as far as the message goes: payload to the sink
 * (the raw bytes dropped), or raw bytes moved to the pass-through buffer
 * as they came. Returns -1 after the exchange ended.
 */
static int
upstream_read_body(struct upstream *u, struct evbuffer *in)
{
	while (u->resp.state == HTTP_RESPONSE_BODY) {
		struct evbuffer_iovec v = {.iov_base = "", .iov_len = 0};
		struct evbuffer *pass = u->pass;
		size_t consumed, moved = 0;
		enum http_parse rc;

		/* An empty kick lets llhttp end a message with no body. */
		if (evbuffer_get_length(in) > 0 &&
		    evbuffer_peek(in, -1, NULL, &v, 1) < 1)
			break;
		rc = http_response_parse(
		    &u->resp, v.iov_base, v.iov_len, &consumed);
		if (rc == HTTP_PARSE_ERROR) {
			upstream_fail(
			    u, REASON_RESPONSE_MALFORMED, u->resp.detail);
			return -1;
		}
		/*
		 * Moved only when they were to be before the parse: a sink
		 * that switched to passing bytes on from within it has had
		 * this run's payload already.
		 */
		if (consumed > 0 && pass != NULL) {
			evbuffer_remove_buffer(in, pass, consumed);
			moved = consumed;
		} else if (consumed > 0) {
			evbuffer_drain(in, consumed);
		}
		u->raw_bytes += consumed;
		if (u->ops->body(u->ctx, moved) == -1)
			return -1;
		if (rc == HTTP_PARSE_MORE && evbuffer_get_length(in) == 0)
			break;
	}
	return 0;
}

/* The answer is complete: the owner has it, the connection is parked. */
static void
upstream_finish(struct upstream *u)
{
	metrics_observe_upstream(
	    &u->srv->metrics, server_now_ns() - u->start_ns);
	if (u->ops->done(u->ctx) == -1)
		return;
	upstream_park(u);
	upstream_release(u);
}

static void
upstream_on_read(struct conn *c, void *arg)
{
	struct upstream *u = arg;
	struct evbuffer *in = c->in;

	if (!u->replied) {
		struct timeval tv = {.tv_sec = u->cfg->upstream_timeout_sec};

		/* First byte: from now on only a stall times out. */
		u->replied = true;
		evtimer_del(u->timer);
		u->timer_armed = false;
		conn_set_read_timeout(c, &tv);
	}
	if (u->resp.state == HTTP_RESPONSE_HEAD &&
	    (upstream_read_head(u, in) == -1 ||
	        u->resp.state == HTTP_RESPONSE_HEAD))
		return;
	if (upstream_read_body(u, in) == -1)
		return;
	if (u->resp.state == HTTP_RESPONSE_DONE)
		upstream_finish(u);
}

static void
upstream_on_event(struct conn *c, short what, void *arg)
{
	struct upstream *u = arg;
	int err = errno;

	if (what & CONN_CONNECTED) {
		u->connected = true;
		return;
	}
	if (!u->connected) {
		/* Refused or unreachable: the next address, if any. */
		conn_free(u->conn);
		u->conn = NULL;
		upstream_connect_next(u, err);
		return;
	}
	if (what & CONN_TIMEOUT) {
		upstream_fail(u, REASON_UPSTREAM_TIMEOUT,
		    "upstream stalled mid-response");
		return;
	}
	if (evbuffer_get_length(c->in) > 0) {
		upstream_on_read(c, u);
		if (u->conn == NULL)
			return; /* finished or failed */
	}
	if (!u->replied && u->reused) {
		/*
		 * The server closed the idle connection as we reused it. A
		 * GET (or HEAD) is safe to send again, on a fresh connection;
		 * a POST is not replayed behind the client's back.
		 */
		conn_free(u->conn);
		u->conn = NULL;
		u->reused = false;
		u->no_reuse = true;
		u->connected = false; /* the fresh one connects first */
		if (u->req->llhttp_method == HTTP_GET ||
		    u->req->llhttp_method == HTTP_HEAD) {
			metrics_add(&u->srv->metrics.upstream_retries_total, 1);
			upstream_resolve(u);
			return;
		}
		upstream_fail(u, REASON_UPSTREAM_UNREACHABLE,
		    "reused upstream connection closed; a POST is not "
		    "replayed");
		return;
	}
	if (!u->replied) {
		/* No reply at all: nothing to inspect, the service is down. */
		upstream_fail(u, REASON_UPSTREAM_UNREACHABLE,
		    (what & CONN_ERROR) ? "upstream reset without a response"
		                        : "upstream closed without a response");
		return;
	}
	if (http_response_eof(&u->resp) == HTTP_PARSE_DONE) {
		upstream_finish(u);
		return;
	}
	upstream_fail(
	    u, REASON_RESPONSE_MALFORMED, "upstream closed mid-response");
}
