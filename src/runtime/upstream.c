/*
 * The upstream side of a session: resolve the target with evdns (the
 * hosts file first), connect with upstream_timeout covering lookup,
 * connect and first byte, send the request in origin-form, and answer
 * the client: a head ocspgate writes, and the body held until judged
 * (allowed requests) or relayed with a framing of ocspgate's own.
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
#include <event2/bufferevent.h>
#include <event2/dns.h>
#include <event2/event.h>

#include "ocspgate/addr.h"
#include "ocspgate/config.h"
#include "ocspgate/metrics.h"
#include "ocspgate/resolver.h"
#include "ocspgate/server.h"
#include "ocspgate/session.h"

static void upstream_connect_next(struct session *s, int last_error);

void
upstream_release(struct session *s)
{
	if (s->dns != NULL) {
		/* The callback runs with EVUTIL_EAI_CANCEL and ignores us. */
		evdns_getaddrinfo_cancel(s->dns);
		s->dns = NULL;
	}
	resolver_unref(s->resolver);
	s->resolver = NULL;
	if (s->upstream != NULL) {
		bufferevent_free(s->upstream);
		s->upstream = NULL;
	}
	if (s->addrs != NULL) {
		evutil_freeaddrinfo(s->addrs);
		s->addrs = NULL;
		s->addr_next = NULL;
	}
}

void
upstream_on_timeout(struct session *s)
{
	session_fail(s, REASON_UPSTREAM_TIMEOUT,
	    s->dns != NULL              ? "name lookup timed out"
	        : s->upstream_connected ? "no answer within upstream_timeout"
	                                : "connect timed out");
}

static void
upstream_on_resolved(int result, struct evutil_addrinfo *res, void *arg)
{
	struct session *s = arg;

	if (result == EVUTIL_EAI_CANCEL)
		return; /* <s> may be gone */
	s->dns = NULL;
	if (result != 0) {
		if (res != NULL)
			evutil_freeaddrinfo(res);
		session_fail(s, REASON_UPSTREAM_UNREACHABLE,
		    evutil_gai_strerror(result));
		return;
	}
	s->addrs = res;
	s->addr_next = res;
	if (s->rq->req.intercepted && !upstream_check_host(s))
		return;
	upstream_connect_next(s, 0);
}

/*
 * Sends the head and body of the request upstream: queued on a fresh
 * connection (sent once it connects), at once on a reused one.
 */
static int
upstream_send_request(struct session *s)
{
	struct evbuffer *out = s->upstream_connected
	    ? s->srv->scratch
	    : bufferevent_get_output(s->upstream);
	size_t cap = s->cfg->max_header_bytes + 256;
	struct evbuffer_iovec v;
	int n;

	if (evbuffer_reserve_space(out, (ev_ssize_t)cap, &v, 1) < 1)
		return -1;
	n = http_request_build_upstream(&s->rq->req, s->srv->via,
	    s->cfg->upstream_idle_max > 0, v.iov_base,
	    v.iov_len < cap ? v.iov_len : cap);
	if (n < 0)
		return -1;
	v.iov_len = (size_t)n;
	if (evbuffer_commit_space(out, &v, 1) == -1)
		return -1;
	/* The body stays in the session's buffer until the request ends. */
	if (s->rq->req.body_len > 0 &&
	    evbuffer_add_reference(
	        out, s->rq->req.body, s->rq->req.body_len, NULL, NULL) == -1)
		return -1;
	if (out == s->srv->scratch)
		session_send(s->upstream, out);
	return 0;
}

static void upstream_on_read(struct bufferevent *bev, void *arg);
static void upstream_on_event(struct bufferevent *bev, short what, void *arg);

/*
 * A non-blocking socket for <family>, with SO_MARK set when configured
 * so that firewall rules can exempt ocspgate's own traffic from the
 * redirection that brings clients' traffic to it. Returns -1 on error.
 */
static evutil_socket_t
upstream_socket(const struct session *s, int family)
{
	evutil_socket_t fd;
	uint32_t mark = s->cfg->upstream_mark;

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

/* A fresh answer parser, copying the payload when it is inspected. */
static void
upstream_init_response(struct session *s)
{
	http_response_init(&s->rq->resp, s->rq->req.llhttp_method == HTTP_HEAD);
	s->capture_len = 0;
	if (s->inspect) {
		s->rq->resp.sink.put = upstream_capture_put;
		s->rq->resp.sink.ctx = s;
	}
}

/* The request is on its way: get ready to read the answer. */
static void
upstream_expect_response(struct session *s)
{
	upstream_init_response(s);
	bufferevent_enable(s->upstream, EV_READ);
}

static void
upstream_connect_next(struct session *s, int last_error)
{
	while (s->addr_next != NULL) {
		struct evutil_addrinfo *ai = s->addr_next;
		evutil_socket_t fd;

		s->addr_next = ai->ai_next;
		addr_ip(ai->ai_addr, s->rq->dest_ip, sizeof(s->rq->dest_ip));
		if ((fd = upstream_socket(s, ai->ai_family)) == -1) {
			last_error = errno;
			continue;
		}
		s->upstream = bufferevent_socket_new(
		    s->srv->base, fd, BEV_OPT_CLOSE_ON_FREE);
		if (s->upstream == NULL) {
			evutil_closesocket(fd);
			last_error = ENOMEM;
			break;
		}
		bufferevent_setcb(
		    s->upstream, upstream_on_read, NULL, upstream_on_event, s);
		if (bufferevent_socket_connect(
		        s->upstream, ai->ai_addr, (int)ai->ai_addrlen) == -1 ||
		    upstream_send_request(s) == -1) {
			last_error = errno;
			bufferevent_free(s->upstream);
			s->upstream = NULL;
			continue;
		}
		s->upstream_connected = false;
		s->upstream_reused = false;
		metrics_add(&s->srv->metrics.upstream_connects_total, 1);
		upstream_expect_response(s);
		return;
	}
	session_fail(s, REASON_UPSTREAM_UNREACHABLE,
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
	struct bufferevent *bev;
	uint16_t port;
	uint32_t mark;
	char ip[INET6_ADDRSTRLEN];
	char host[]; /* the request's host name */
};

static void
upstream_idle_close(struct upstream_idle *u)
{
	TAILQ_REMOVE(&u->srv->idle, u, entry);
	u->srv->nidle--;
	bufferevent_free(u->bev);
	free(u);
}

static void
upstream_idle_on_read(struct bufferevent *bev, void *arg)
{
	(void)bev;
	upstream_idle_close(arg); /* bytes nobody asked for */
}

static void
upstream_idle_on_event(struct bufferevent *bev, short what, void *arg)
{
	(void)bev;
	(void)what;
	upstream_idle_close(arg); /* closed, reset or timed out */
}

void
upstream_idle_flush(struct server *srv)
{
	struct upstream_idle *u;

	while ((u = TAILQ_FIRST(&srv->idle)) != NULL)
		upstream_idle_close(u);
}

/*
 * After a complete answer, keeps the connection for reuse when both
 * sides agreed to keep it open and nothing else arrived on it.
 */
static void
upstream_park(struct session *s)
{
	struct server *srv = s->srv;
	unsigned max = s->cfg->upstream_idle_max;
	struct timeval tv = {.tv_sec = s->cfg->upstream_idle_timeout_sec};
	struct upstream_idle *u;
	size_t hlen = strlen(s->rq->dest_name);

	if (max == 0 || s->upstream == NULL || srv->draining ||
	    s->rq->req.http_minor != 1 || !s->rq->resp.keep_alive ||
	    http_response_close_delimited(&s->rq->resp) ||
	    evbuffer_get_length(bufferevent_get_input(s->upstream)) > 0 ||
	    evbuffer_get_length(bufferevent_get_output(s->upstream)) > 0)
		return;
	if ((u = malloc(sizeof(*u) + hlen + 1)) == NULL)
		return;
	while (srv->nidle >= max)
		upstream_idle_close(TAILQ_LAST(&srv->idle, upstream_idle_list));
	u->srv = srv;
	u->bev = s->upstream;
	u->port = s->rq->req.port;
	u->mark = s->cfg->upstream_mark;
	memcpy(u->ip, s->rq->dest_ip, sizeof(u->ip));
	memcpy(u->host, s->rq->dest_name, hlen + 1);
	s->upstream = NULL;
	bufferevent_setcb(
	    u->bev, upstream_idle_on_read, NULL, upstream_idle_on_event, u);
	bufferevent_set_timeouts(u->bev, &tv, NULL);
	bufferevent_enable(u->bev, EV_READ);
	TAILQ_INSERT_HEAD(&srv->idle, u, entry);
	srv->nidle++;
}

/*
 * Sends the request on an idle connection to the same host and port, if
 * there is one. An intercepted request is not: its Host is checked
 * against fresh DNS answers first. Returns true when it was sent.
 */
static bool
upstream_reuse(struct session *s)
{
	struct upstream_idle *u;

	if (s->no_reuse || s->rq->req.intercepted ||
	    s->cfg->upstream_idle_max == 0)
		return false;
	TAILQ_FOREACH (u, &s->srv->idle, entry) {
		if (u->port == s->rq->req.port &&
		    u->mark == s->cfg->upstream_mark &&
		    strcmp(u->host, s->rq->dest_name) == 0)
			break;
	}
	if (u == NULL)
		return false;
	TAILQ_REMOVE(&s->srv->idle, u, entry);
	s->srv->nidle--;
	s->upstream = u->bev;
	memcpy(s->rq->dest_ip, u->ip, sizeof(s->rq->dest_ip));
	free(u);
	bufferevent_setcb(
	    s->upstream, upstream_on_read, NULL, upstream_on_event, s);
	bufferevent_set_timeouts(s->upstream, NULL, NULL);
	s->upstream_connected = true;
	if (upstream_send_request(s) == -1) {
		evbuffer_drain(
		    s->srv->scratch, evbuffer_get_length(s->srv->scratch));
		bufferevent_free(s->upstream);
		s->upstream = NULL;
		s->upstream_connected = false;
		return false;
	}
	s->upstream_reused = true;
	metrics_add(&s->srv->metrics.upstream_reused_total, 1);
	upstream_expect_response(s);
	return true;
}

/* Looks up the target's addresses, then connects to them in turn. */
static void
upstream_resolve(struct session *s)
{
	struct evutil_addrinfo hints;
	struct evdns_getaddrinfo_request *req;
	char port[8];

	snprintf(port, sizeof(port), "%u", (unsigned)s->rq->req.port);
	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_protocol = IPPROTO_TCP;
	/* The resolver of the config in force now, kept until the end. */
	if (s->resolver == NULL)
		s->resolver = resolver_ref(s->srv->resolver);
	req = evdns_getaddrinfo(s->resolver->dns, s->rq->dest_name, port,
	    &hints, upstream_on_resolved, s);
	if (req != NULL)
		s->dns = req;
}

void
upstream_start(struct session *s)
{
	if (s->rq->req.host.len >= sizeof(s->rq->dest_name)) {
		session_fail(
		    s, REASON_UPSTREAM_UNREACHABLE, "host name too long");
		return;
	}
	memcpy(s->rq->dest_name, s->rq->req.host.p, s->rq->req.host.len);
	s->rq->dest_name[s->rq->req.host.len] = '\0';
	/* "name." is the same name, but hosts files list it without the dot. */
	if (s->rq->req.host.len > 1 &&
	    s->rq->dest_name[s->rq->req.host.len - 1] == '.')
		s->rq->dest_name[s->rq->req.host.len - 1] = '\0';
	s->upstream_connected = false;
	s->upstream_replied = false;
	s->upstream_start_ns = session_now_ns();
	{
		struct timeval tv = {.tv_sec = s->cfg->upstream_timeout_sec};

		evtimer_add(s->timer, &tv);
	}
	/* May call back before returning, and then returns NULL. */
	if (upstream_prepare_inspection(s) == -1) {
		session_fail(s, REASON_RESPONSE_MALFORMED, "out of memory");
		return;
	}
	if (upstream_reuse(s))
		return;
	upstream_resolve(s);
}

/*
 * A head longer than the usual buffer: move what was read to one of the
 * largest size and parse it again there (the header spans point into
 * the buffer). Returns -1 after failing the exchange.
 */
static int
upstream_grow_head(struct session *s)
{
	char *big = pool_get(&s->srv->pool, SESSION_RESPONSE_HEAD_MAX);
	size_t consumed;

	if (big == NULL) {
		session_fail(s, REASON_RESPONSE_MALFORMED, "out of memory");
		return -1;
	}
	memcpy(big, s->rhead, s->rhead_len);
	pool_put(&s->srv->pool, s->rhead, s->rhead_cap);
	s->rhead = big;
	s->rhead_cap = SESSION_RESPONSE_HEAD_MAX;
	upstream_init_response(s);
	if (http_response_parse(&s->rq->resp, s->rhead, s->rhead_len,
	        &consumed) == HTTP_PARSE_ERROR ||
	    consumed != s->rhead_len) {
		session_fail(s, REASON_RESPONSE_MALFORMED, s->rq->resp.detail);
		return -1;
	}
	return 0;
}

/*
 * Reads the upstream's status line and headers and judges them against
 * the request. A held answer's head is written once the answer has been
 * judged; a relayed one's at once. Returns -1 after failing the exchange.
 */
static int
upstream_read_head(struct session *s, struct evbuffer *in)
{
	struct http_response_expect x;
	const char *why;

	if (s->rhead == NULL) {
		if ((s->rhead = pool_get(
		         &s->srv->pool, SESSION_RESPONSE_HEAD_START)) == NULL) {
			session_fail(
			    s, REASON_RESPONSE_MALFORMED, "out of memory");
			return -1;
		}
		s->rhead_cap = SESSION_RESPONSE_HEAD_START;
	}
	while (s->rq->resp.state == HTTP_RESPONSE_HEAD) {
		size_t len = evbuffer_get_length(in), consumed;
		size_t space = s->rhead_cap - s->rhead_len;
		enum http_parse rc;

		if (len == 0)
			return 0; /* wait for more */
		if (space == 0 && s->rhead_cap < SESSION_RESPONSE_HEAD_MAX) {
			if (upstream_grow_head(s) == -1)
				return -1;
			continue;
		}
		if (space == 0) {
			session_fail(s, REASON_RESPONSE_MALFORMED,
			    "response head too large");
			return -1;
		}
		if (len > space)
			len = space;
		evbuffer_copyout(in, s->rhead + s->rhead_len, len);
		rc = http_response_parse(
		    &s->rq->resp, s->rhead + s->rhead_len, len, &consumed);
		s->rhead_len += consumed;
		s->raw_bytes += consumed;
		evbuffer_drain(in, consumed);
		if (rc == HTTP_PARSE_ERROR) {
			session_fail(
			    s, REASON_RESPONSE_MALFORMED, s->rq->resp.detail);
			return -1;
		}
	}
	s->status = http_response_client_status(&s->rq->resp);
	upstream_expect(s, &x);
	if ((why = http_response_check(&s->rq->resp, &x)) != NULL) {
		if (s->inspect) {
			if (upstream_inspection_failed(
			        s, REASON_RESPONSE_MALFORMED, why, false) == -1)
				return -1;
		} else {
			/* A block monitor mode forwarded keeps its reason. */
			s->failure = REASON_RESPONSE_MALFORMED;
			s->failure_detail = why;
		}
	}
	if (s->inspect && upstream_check_allowed_head(s) == -1)
		return -1;
	/* An inspected answer waits in the capture until it is judged. */
	if (s->inspect || s->response_started)
		return 0;
	return upstream_start_relay(s, NULL, 0);
}

/*
 * Moves body bytes on as far as the message goes: a held answer's
 * payload into the capture (the raw bytes are dropped), a relayed one's
 * to the client, moved as it came or through the sink.
 */
static int
upstream_relay_body(struct session *s, struct evbuffer *in)
{
	struct evbuffer *out = bufferevent_get_output(s->client);

	while (s->rq->resp.state == HTTP_RESPONSE_BODY) {
		struct evbuffer_iovec v = {.iov_base = "", .iov_len = 0};
		size_t consumed;
		enum http_parse rc;
		bool held = s->inspect;

		/* An empty kick lets llhttp end a message with no body. */
		if (evbuffer_get_length(in) > 0 &&
		    evbuffer_peek(in, -1, NULL, &v, 1) < 1)
			break;
		rc = http_response_parse(
		    &s->rq->resp, v.iov_base, v.iov_len, &consumed);
		if (rc == HTTP_PARSE_ERROR) {
			session_fail(
			    s, REASON_RESPONSE_MALFORMED, s->rq->resp.detail);
			return -1;
		}
		if (s->rq->resp.capture_overflow && !s->inspect) {
			/* The relay sink ran out of memory. */
			session_fail(s, REASON_RESPONSE_MALFORMED,
			    "cannot relay the answer");
			return -1;
		}
		if (consumed > 0 && (held || s->relay_copy)) {
			evbuffer_drain(in, consumed);
		} else if (consumed > 0) {
			evbuffer_remove_buffer(in, out, consumed);
			s->response_bytes += consumed;
		}
		s->raw_bytes += consumed;
		/*
		 * Over the limit, or many more raw bytes than payload (tiny
		 * chunks, long chunk extensions): judged malformed.
		 */
		if (s->inspect &&
		    (s->rq->resp.capture_overflow ||
		        s->raw_bytes > s->inspect_limit * 2 + 65536)) {
			if (upstream_inspection_failed(s,
			        REASON_RESPONSE_MALFORMED,
			        upstream_answer_class(s) == REASON_OCSP_REQUEST
			            ? "body over max_response_body"
			            : "body over max_crl_bytes",
			        false) == -1)
				return -1;
		}
		if (rc == HTTP_PARSE_MORE && evbuffer_get_length(in) == 0)
			break;
	}
	if (!s->inspect && evbuffer_get_length(out) > SESSION_OUTPUT_HIGH)
		bufferevent_disable(s->upstream, EV_READ);
	return 0;
}

/* The upstream's answer is complete: judge it if held, end the body. */
static void
upstream_finish(struct session *s)
{
	uint64_t ns = session_now_ns() - s->upstream_start_ns;

	metrics_observe_upstream(&s->srv->metrics, ns);
	if (s->inspect) {
		if (upstream_inspect(s) == -1)
			return;
	} else {
		if (s->framing == HTTP_FRAMING_CHUNKED &&
		    evbuffer_add(bufferevent_get_output(s->client),
		        HTTP_RESPONSE_LAST_CHUNK,
		        sizeof(HTTP_RESPONSE_LAST_CHUNK) - 1) == -1) {
			session_fail(s, REASON_RESPONSE_MALFORMED,
			    "cannot relay the answer");
			return;
		}
		if (s->framing == HTTP_FRAMING_CHUNKED)
			s->response_bytes +=
			    sizeof(HTTP_RESPONSE_LAST_CHUNK) - 1;
		s->response_body_bytes = s->rq->resp.body_bytes;
	}
	upstream_park(s);
	upstream_release(s);
	session_answer_done(s, s->client_keep);
}

static void
upstream_on_read(struct bufferevent *bev, void *arg)
{
	struct session *s = arg;
	struct evbuffer *in = bufferevent_get_input(bev);

	if (!s->upstream_replied) {
		struct timeval tv = {.tv_sec = s->cfg->upstream_timeout_sec};

		/* First byte: from now on only a stall times out. */
		s->upstream_replied = true;
		evtimer_del(s->timer);
		bufferevent_set_timeouts(bev, &tv, NULL);
	}
	if (s->rq->resp.state == HTTP_RESPONSE_HEAD &&
	    (upstream_read_head(s, in) == -1 ||
	        s->rq->resp.state == HTTP_RESPONSE_HEAD))
		return;
	if (upstream_relay_body(s, in) == -1)
		return;
	if (s->rq->resp.state == HTTP_RESPONSE_DONE)
		upstream_finish(s);
}

static void
upstream_on_event(struct bufferevent *bev, short what, void *arg)
{
	struct session *s = arg;
	int err = EVUTIL_SOCKET_ERROR();

	if (what & BEV_EVENT_CONNECTED) {
		s->upstream_connected = true;
		return;
	}
	if (!s->upstream_connected) {
		/* Refused or unreachable: the next address, if any. */
		bufferevent_free(s->upstream);
		s->upstream = NULL;
		upstream_connect_next(s, err);
		return;
	}
	if (what & BEV_EVENT_TIMEOUT) {
		session_fail(s, REASON_UPSTREAM_TIMEOUT,
		    "upstream stalled mid-response");
		return;
	}
	if (evbuffer_get_length(bufferevent_get_input(bev)) > 0) {
		upstream_on_read(bev, s);
		if (s->upstream == NULL)
			return; /* finished or failed */
	}
	if (!s->upstream_replied && s->upstream_reused) {
		/*
		 * The server closed the idle connection as we reused it. A
		 * GET (or HEAD) is safe to send again, on a fresh connection;
		 * a POST is not replayed behind the client's back.
		 */
		bufferevent_free(s->upstream);
		s->upstream = NULL;
		s->upstream_reused = false;
		s->no_reuse = true;
		if (s->rq->req.llhttp_method == HTTP_GET ||
		    s->rq->req.llhttp_method == HTTP_HEAD) {
			metrics_add(&s->srv->metrics.upstream_retries_total, 1);
			upstream_resolve(s);
			return;
		}
		session_fail(s, REASON_UPSTREAM_UNREACHABLE,
		    "reused upstream connection closed; a POST is not "
		    "replayed");
		return;
	}
	if (!s->upstream_replied) {
		/* No reply at all: nothing to inspect, the service is down. */
		session_fail(s, REASON_UPSTREAM_UNREACHABLE,
		    (what & BEV_EVENT_ERROR)
		        ? "upstream reset without a response"
		        : "upstream closed without a response");
		return;
	}
	if (http_response_eof(&s->rq->resp) == HTTP_PARSE_DONE) {
		upstream_finish(s);
		return;
	}
	session_fail(
	    s, REASON_RESPONSE_MALFORMED, "upstream closed mid-response");
}
