/*
 * The upstream side of a session: resolve the target with evdns (the
 * hosts file first), connect with upstream_timeout covering lookup,
 * connect and first byte, send the request in origin-form, and answer
 * the client: a head ocspgate writes, and the body held until judged
 * (allowed requests) or relayed with a framing of ocspgate's own.
 */
#include <errno.h>
#include <stdatomic.h>
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
#include <openssl/ocsp.h>

#include "ocspgate/addr.h"
#include "ocspgate/cache.h"
#include "ocspgate/config.h"
#include "ocspgate/fetch.h"
#include "ocspgate/memo.h"
#include "ocspgate/metrics.h"
#include "ocspgate/ocsp_response.h"
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

/* True when <ss> holds the address (not port) of <ai>. */
static bool
upstream_same_ip(const union session_addr *a, const struct evutil_addrinfo *ai)
{
	if (a->sa.sa_family != ai->ai_family)
		return false;
	if (ai->ai_family == AF_INET)
		return a->in.sin_addr.s_addr ==
		    ((const struct sockaddr_in *)(const void *)ai->ai_addr)
		        ->sin_addr.s_addr;
	return memcmp(&a->in6.sin6_addr,
	           &((const struct sockaddr_in6 *)(const void *)ai->ai_addr)
	                ->sin6_addr,
	           sizeof(struct in6_addr)) == 0;
}

/*
 * The Host-forgery defence of an intercepted request: ocspgate connects
 * to the addresses its own resolver gives for Host, never to the one the
 * client chose, and flags the request when the client's original
 * destination is not among them (a client naming a trusted responder in
 * Host while sending to another address). Returns false after refusing
 * the request (on_host_mismatch = "block" in enforce mode).
 */
static bool
upstream_check_host(struct session *s)
{
	for (const struct evutil_addrinfo *ai = s->addrs; ai != NULL;
	     ai = ai->ai_next) {
		if (upstream_same_ip(&s->orig_dst, ai))
			return true;
	}
	s->host_mismatch = true;
	if (!s->cfg->block_host_mismatch)
		return true;
	if (reason_is_allow(s->rq->verdict.reason)) {
		s->rq->verdict.reason = REASON_HOST_MISMATCH;
		s->rq->verdict.detail =
		    "original destination is not an address "
		    "of the Host name";
	}
	if (s->cfg->mode == MODE_MONITOR)
		return true;
	upstream_release(s);
	s->forwarded = false;
	session_reply(s, 403, REASON_HOST_MISMATCH, NULL, false);
	return false;
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

static int upstream_capture_put(void *ctx, const unsigned char *p, size_t len);

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
 * The class an answer is judged as: the allowed request's, or for a
 * candidate that monitor mode forwarded, the class it is a request of
 * (REASON_NONE: not judged).
 */
static enum reason
upstream_answer_class(const struct session *s)
{
	if (reason_is_allow(s->rq->verdict.reason))
		return s->rq->verdict.reason;
	return candidate_reason(s->rq->verdict.candidate);
}

/*
 * Answers to allowed requests and candidates are inspected: they need a
 * capture buffer and an evbuffer to hold them meanwhile.
 */
static int
upstream_prepare_inspection(struct session *s)
{
	s->inspect = upstream_answer_class(s) != REASON_NONE;
	if (!s->inspect)
		return 0;
	/*
	 * The capture grows as the payload arrives (upstream_capture_put):
	 * OCSP answers up to max_response_body, CRLs and the like, which
	 * may be megabytes, up to max_crl_bytes.
	 */
	s->inspect_limit = upstream_answer_class(s) == REASON_OCSP_REQUEST
	    ? s->cfg->max_response_body
	    : s->cfg->max_crl_bytes;
	if (s->hold == NULL && (s->hold = evbuffer_new()) == NULL)
		return -1;
	return 0;
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

/*
 * The RFC 5019 cache holds, per responder and DER request, the inspected
 * answer and the facts its inspection found (so that a hit is logged
 * like a miss): [struct ocsp_response_facts][DER].
 */
static time_t
upstream_parse_time(const char *t)
{
	struct tm tm;

	memset(&tm, 0, sizeof(tm));
	if (t[0] == '\0' ||
	    sscanf(t, "%4d-%2d-%2dT%2d:%2d:%2dZ", &tm.tm_year, &tm.tm_mon,
	        &tm.tm_mday, &tm.tm_hour, &tm.tm_min, &tm.tm_sec) != 6)
		return 0;
	tm.tm_year -= 1900;
	tm.tm_mon -= 1;
	return timegm(&tm);
}

/* Whether this request may be answered from, and stored in, the cache. */
static enum session_cache
upstream_cache_class(const struct session *s)
{
	if (s->rq->verdict.reason != REASON_OCSP_REQUEST ||
	    s->rq->verdict.responder == NULL)
		return SESSION_CACHE_NONE;
	/* A nonce asks for a fresh answer; an intercepted Host is checked
	 * against DNS on the way, which a hit would skip. */
	if (s->srv->cache == NULL || s->rq->facts.has_nonce ||
	    s->rq->req.intercepted)
		return SESSION_CACHE_BYPASS;
	return SESSION_CACHE_MISS;
}

static void
upstream_cache_figures(struct server *srv)
{
	struct ocsp_cache_stats st;

	ocsp_cache_stats(srv->cache, &st);
	atomic_store_explicit(
	    &srv->cache_entries, st.entries, memory_order_relaxed);
	atomic_store_explicit(
	    &srv->cache_bytes, st.bytes, memory_order_relaxed);
	atomic_store_explicit(
	    &srv->cache_evictions, st.evictions, memory_order_relaxed);
}

static void
upstream_cache_store(struct session *s, const unsigned char *der, size_t len)
{
	const struct responder *r = s->rq->verdict.responder;
	struct ocsp_cache_times t;
	const struct http_span *cc;
	unsigned char *value;
	time_t now = time(NULL);
	long max_age = 0;
	int have = 0;

	if (s->rq->rfacts.status != OCSP_RESPONSE_STATUS_SUCCESSFUL ||
	    s->rq->resp.status != 200)
		return;
	if ((cc = http_headers_get(&s->rq->resp.hs, "cache-control")) != NULL &&
	    (have = ocsp_cache_parse_max_age(cc->p, cc->len, &max_age)) == -1)
		return;
	t.this_update = upstream_parse_time(s->rq->rfacts.produced_at);
	t.next_update = s->rq->rfacts.min_next_update;
	if ((t.expires = ocsp_cache_expiry(now, t.next_update, have == 1,
	         max_age, (long)s->cfg->cache_max_age_sec)) == 0)
		return;
	if ((value = malloc(sizeof(s->rq->rfacts) + len)) == NULL)
		return;
	memcpy(value, &s->rq->rfacts, sizeof(s->rq->rfacts));
	memcpy(value + sizeof(s->rq->rfacts), der, len);
	ocsp_cache_put(s->srv->cache, r->spec, strlen(r->spec), s->body,
	    s->rq->facts.der_len, value, sizeof(s->rq->rfacts) + len, &t, now);
	free(value);
	upstream_cache_figures(s->srv);
}

bool
upstream_cache_answer(struct session *s)
{
	const struct responder *r = s->rq->verdict.responder;
	const struct ocsp_cache_entry *e;
	struct ocsp_cache_entry body;
	char head[OCSP_CACHE_HEADERS_MAX + 32];
	time_t now;
	size_t n;
	bool keep;

	s->cache_result = upstream_cache_class(s);
	if (s->cache_result != SESSION_CACHE_MISS)
		return false;
	now = time(NULL);
	e = ocsp_cache_get(s->srv->cache, r->spec, strlen(r->spec), s->body,
	    s->rq->facts.der_len, now);
	if (e == NULL || e->body_len < sizeof(s->rq->rfacts))
		return false;
	body = *e;
	body.body += sizeof(s->rq->rfacts);
	body.body_len -= sizeof(s->rq->rfacts);
	keep = s->rq->req.keep_alive && !s->srv->draining;
	n = ocsp_cache_headers(head, sizeof(head) - 32, &body, now);
	if (n == 0)
		return false;
	n += (size_t)snprintf(head + n, sizeof(head) - n,
	    "Connection: %s\r\n\r\n", keep ? "keep-alive" : "close");
	if (s->hold == NULL && (s->hold = evbuffer_new()) == NULL)
		return false;
	if (evbuffer_add(s->hold, head, n) == -1 ||
	    evbuffer_add(s->hold, body.body, body.body_len) == -1) {
		evbuffer_drain(s->hold, evbuffer_get_length(s->hold));
		return false;
	}
	session_send(s->client, s->hold);
	memcpy(&s->rq->rfacts, e->body, sizeof(s->rq->rfacts));
	s->cache_result = SESSION_CACHE_HIT;
	s->status = 200;
	s->response_started = true;
	s->response_body_bytes = body.body_len;
	s->response_bytes = n + body.body_len;
	session_answer_done(s, keep);
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
 * Writes the head ocspgate builds from the upstream's into <out> with
 * framing <f>, counting it in response_bytes. Returns 0, or -1 (out of
 * memory; the caller fails the exchange).
 */
static int
upstream_put_head(struct session *s, struct evbuffer *out,
    const struct http_response_frame *f)
{
	struct evbuffer_iovec v;
	int n;

	if (evbuffer_reserve_space(out, HTTP_RESPONSE_HEAD_MAX, &v, 1) < 1)
		return -1;
	n = http_response_build_client(&s->rq->resp, f, &s->dropped, v.iov_base,
	    v.iov_len < HTTP_RESPONSE_HEAD_MAX ? v.iov_len
	                                       : HTTP_RESPONSE_HEAD_MAX);
	if (n < 0)
		return -1;
	v.iov_len = (size_t)n;
	if (evbuffer_commit_space(out, &v, 1) == -1)
		return -1;
	s->response_bytes += (uint64_t)n;
	s->status = http_response_client_status(&s->rq->resp);
	return 0;
}

/*
 * The relay sink: payload runs (chunk framing of the upstream's removed)
 * go to the client, in chunks of ocspgate's own when it frames the body
 * so. Returns 0, or -1 out of memory.
 */
static int
upstream_relay_put(void *ctx, const unsigned char *p, size_t len)
{
	struct session *s = ctx;
	struct evbuffer *out = bufferevent_get_output(s->client);
	char line[24];
	int n = 0;

	if (len == 0)
		return 0;
	if (s->framing == HTTP_FRAMING_CHUNKED &&
	    ((n = http_response_chunk_line(len, line, sizeof(line))) < 0 ||
	        evbuffer_add(out, line, (size_t)n) == -1))
		return -1;
	if (evbuffer_add(out, p, len) == -1)
		return -1;
	if (s->framing == HTTP_FRAMING_CHUNKED &&
	    evbuffer_add(out, HTTP_RESPONSE_CHUNK_END,
	        sizeof(HTTP_RESPONSE_CHUNK_END) - 1) == -1)
		return -1;
	s->response_bytes += (uint64_t)n + len +
	    (s->framing == HTTP_FRAMING_CHUNKED
	            ? sizeof(HTTP_RESPONSE_CHUNK_END) - 1
	            : 0);
	return 0;
}

/*
 * Starts relaying the answer as it comes (monitor mode: a block it
 * forwarded, or an answer whose inspection failed): the rebuilt head
 * with a framing of ocspgate's own (the upstream's Content-Length when it
 * gave one, else chunks, or the close for an HTTP/1.0 client), then
 * <held> bytes of payload already read. A body ocspgate chunks, a chunked
 * upstream body, and any body once bytes of it were held, go through
 * the parser's sink; any other (its framing is the upstream's length or
 * close) is moved as it comes. May run inside the parser's sink: it
 * fails nothing itself. Returns 0, or -1 (out of memory).
 */
static int
upstream_relay_begin(
    struct session *s, const unsigned char *held, size_t held_len)
{
	struct http_response *resp = &s->rq->resp;
	struct http_response_frame f;

	memset(&f, 0, sizeof(f));
	f.http10_client = s->rq->req.http_minor == 0;
	f.framing =
	    http_response_relay_framing(resp, f.http10_client, &f.length);
	f.keep_alive = s->rq->req.keep_alive && !s->srv->draining &&
	    f.framing != HTTP_FRAMING_CLOSE &&
	    !http_response_close_delimited(resp);
	s->client_keep = f.keep_alive;
	s->framing = f.framing;
	s->inspect = false;
	if (upstream_put_head(s, bufferevent_get_output(s->client), &f) == -1)
		return -1;
	s->response_started = true;
	s->relay_copy =
	    resp->chunked || held_len > 0 || f.framing == HTTP_FRAMING_CHUNKED;
	resp->sink.put = s->relay_copy ? upstream_relay_put : NULL;
	resp->sink.ctx = s;
	if (held_len > 0 && upstream_relay_put(s, held, held_len) == -1)
		return -1;
	s->capture_len = 0;
	return 0;
}

/* upstream_relay_begin(), failing the exchange when it fails. */
static int
upstream_start_relay(
    struct session *s, const unsigned char *held, size_t held_len)
{
	if (upstream_relay_begin(s, held, held_len) == 0)
		return 0;
	session_fail(s, REASON_RESPONSE_MALFORMED, "cannot relay the answer");
	return -1;
}

/*
 * Releases a held answer that was judged: the rebuilt head with the
 * payload's length, then the payload. Returns -1 after failing the
 * exchange.
 */
static int
upstream_release_held(struct session *s)
{
	struct http_response_frame f;

	memset(&f, 0, sizeof(f));
	f.http10_client = s->rq->req.http_minor == 0;
	f.framing =
	    s->rq->resp.status == 304 ? HTTP_FRAMING_NONE : HTTP_FRAMING_LENGTH;
	f.length = s->capture_len;
	/* ocspgate frames the body: the upstream's framing does not matter. */
	f.keep_alive = s->rq->req.keep_alive && !s->srv->draining;
	s->client_keep = f.keep_alive;
	s->inspect = false;
	evbuffer_drain(s->hold, evbuffer_get_length(s->hold));
	if (upstream_put_head(s, s->hold, &f) == -1 ||
	    (f.framing == HTTP_FRAMING_LENGTH && s->capture_len > 0 &&
	        evbuffer_add(s->hold, s->capture, s->capture_len) == -1)) {
		evbuffer_drain(s->hold, evbuffer_get_length(s->hold));
		session_fail(s, REASON_RESPONSE_MALFORMED, "out of memory");
		return -1;
	}
	s->response_bytes +=
	    f.framing == HTTP_FRAMING_LENGTH ? s->capture_len : 0;
	s->response_body_bytes =
	    f.framing == HTTP_FRAMING_LENGTH ? s->capture_len : 0;
	session_send(s->client, s->hold);
	s->response_started = true;
	return 0;
}

/*
 * A response inspection failed: in enforce mode the client gets 502 and
 * nothing of the answer; in monitor mode the event carries the reason
 * and the answer goes on to the client, rebuilt like any other: as held
 * once complete (<whole>), else relayed as it comes from here on.
 * Returns -1 after failing the exchange, 0 when it goes on.
 */
static int
upstream_inspection_failed(
    struct session *s, enum reason why, const char *detail, bool whole)
{
	if (s->cfg->mode == MODE_ENFORCE) {
		s->inspect = false;
		session_fail(s, why, detail);
		return -1;
	}
	s->failure = why;
	s->failure_detail = detail;
	if (whole)
		return upstream_release_held(s);
	return upstream_start_relay(s, s->capture, s->capture_len);
}

/*
 * The answer parser's sink while an answer is held: appends payload to
 * the session's capture, which the session alone owns (taken from and
 * given back to the worker's pool), growing it by doubling up to
 * inspect_limit. Over the limit, enforce mode refuses the rest (the
 * parser flags the overflow); monitor mode relays what it held and this
 * run, and the rest as it comes. Returns 0, or -1.
 */
static int
upstream_capture_put(void *ctx, const unsigned char *p, size_t len)
{
	struct session *s = ctx;
	size_t need = s->capture_len + len, cap = s->capture_cap;
	unsigned char *grown;

	if (len > s->inspect_limit || need > s->inspect_limit) {
		if (s->cfg->mode == MODE_ENFORCE || !s->inspect)
			return -1;
		s->failure = REASON_RESPONSE_MALFORMED;
		s->failure_detail = s->rq->verdict.reason == REASON_OCSP_REQUEST
		    ? "body over max_response_body"
		    : "body over max_crl_bytes";
		/* Inside the parser: a failure is acted on once it returns. */
		if (upstream_relay_begin(s, s->capture, s->capture_len) == -1)
			return -1;
		return upstream_relay_put(s, p, len);
	}
	if (need > cap) {
		if (cap < SESSION_CAPTURE_START)
			cap = SESSION_CAPTURE_START;
		while (cap < need)
			cap = cap > s->inspect_limit / 2 ? s->inspect_limit
			                                 : cap * 2;
		if ((grown = pool_get(&s->srv->pool, cap)) == NULL)
			return -1;
		if (s->capture_len > 0)
			memcpy(grown, s->capture, s->capture_len);
		pool_put(&s->srv->pool, s->capture, s->capture_cap);
		s->capture = grown;
		s->capture_cap = cap;
	}
	memcpy(s->capture + s->capture_len, p, len);
	s->capture_len = need;
	return 0;
}

/* What the request asked, for judging the answer's head. */
static void
upstream_expect(const struct session *s, struct http_response_expect *x)
{
	const struct http_request *req = &s->rq->req;
	const struct http_span *inm =
	    http_headers_get(&req->hs, "if-none-match");

	memset(x, 0, sizeof(*x));
	x->get = req->llhttp_method == HTTP_GET;
	x->conditional = inm != NULL ||
	    http_headers_get(&req->hs, "if-modified-since") != NULL;
	if (inm != NULL)
		x->if_none_match = *inm;
}

/*
 * The head of an answer to an allowed request: 200 (or a 304 that
 * http_response_check() accepted), within its class's size, and for OCSP
 * the OCSP type. Returns -1 after failing the exchange.
 */
static int
upstream_check_allowed_head(struct session *s)
{
	static const char want[] = "application/ocsp-response";
	const struct http_response *resp = &s->rq->resp;
	const struct http_span *ct =
	    http_headers_get(&resp->hs, "content-type");
	bool ocsp = upstream_answer_class(s) == REASON_OCSP_REQUEST;
	const char *why = NULL;

	if (resp->status == 304)
		return 0; /* Not Modified: no body to judge */
	if (resp->status != 200)
		why = "status is not 200";
	else if (resp->has_length && resp->content_length > s->inspect_limit)
		why = ocsp ? "body over max_response_body"
		           : "body over max_crl_bytes";
	else if (!ocsp)
		why = NULL; /* the body itself tells what it is */
	else if (ct == NULL || ct->len < sizeof(want) - 1 ||
	    strncasecmp(ct->p, want, sizeof(want) - 1) != 0 ||
	    (ct->len > sizeof(want) - 1 && ct->p[sizeof(want) - 1] != ';' &&
	        ct->p[sizeof(want) - 1] != ' '))
		why = "Content-Type is not application/ocsp-response";
	if (why == NULL)
		return 0;
	return upstream_inspection_failed(
	    s, REASON_RESPONSE_MALFORMED, why, false);
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

/*
 * ocsp_response_inspect() of <body> against the request, or its result
 * for the same request and answer bytes from the worker's memo: a
 * responder answers the same question with the same bytes until its next
 * update, and most clients ask the same few questions.
 */
static enum reason
upstream_inspect_ocsp(struct session *s, const unsigned char *body, size_t len)
{
	struct memo *memo = s->srv->memo_response;
	struct upstream_memo_value v;
	const void *hit;

	if (memo == NULL || s->rq->facts.der_len == 0)
		return ocsp_response_inspect(
		    body, len, &s->rq->facts, &s->rq->rfacts);
	if ((hit = memo_get(memo, s->body, s->rq->facts.der_len, body, len)) !=
	    NULL) {
		memcpy(&v, hit, sizeof(v));
		s->rq->rfacts = v.facts;
		return v.why;
	}
	v.why = ocsp_response_inspect(body, len, &s->rq->facts, &s->rq->rfacts);
	v.facts = s->rq->rfacts;
	memo_put(memo, s->body, s->rq->facts.der_len, body, len, &v);
	return v.why;
}

/*
 * A candidate's answer passed inspection: what its signature says of
 * the host (see candidate.h). A trust list's is not checked.
 */
static void
upstream_candidate_evidence(
    struct session *s, const unsigned char *body, size_t len)
{
	struct session_candidate *c = &s->rq->cand;
	const struct config *cfg = s->cfg;

	c->valid = true;
	switch (s->rq->verdict.candidate) {
	case CANDIDATE_OCSP:
		if (s->rq->rfacts.status != OCSP_RESPONSE_STATUS_SUCCESSFUL)
			return; /* nothing signed */
		c->verified = candidate_verify_ocsp(body, len,
		    cfg->candidate_store, cfg->candidate_cas, &c->detail);
		break;
	case CANDIDATE_CRL:
		c->verified = candidate_verify_crl(
		    body, len, cfg->candidate_cas, &c->detail);
		break;
	case CANDIDATE_CA_ISSUER:
		c->verified = candidate_verify_cert(
		    body, len, cfg->candidate_cas, &c->detail);
		break;
	default:
		return;
	}
	c->checked = true;
}

/*
 * The whole answer to an allowed request is held: inspect it (and verify
 * its signature when configured) before a byte reaches the client, then
 * release it rebuilt. A 304 has no body to judge. Returns -1 after
 * failing the exchange.
 */
static int
upstream_inspect(struct session *s)
{
	const struct responder *r = s->rq->verdict.responder;
	const unsigned char *body = s->capture;
	size_t len = s->capture_len;
	const char *detail = NULL;
	char file[64];
	enum reason why;

	if (s->rq->resp.status == 304)
		return upstream_release_held(s);
	switch (upstream_answer_class(s)) {
	case REASON_CRL_REQUEST:
		why = fetch_inspect_crl(
		    body, len, s->cfg->known_cas, &s->rq->crl, &detail);
		s->crl_valid = why == REASON_NONE;
		break;
	case REASON_CA_ISSUER_REQUEST:
		why = fetch_inspect_cert(body, len, &s->rq->cert, &detail);
		s->cert_valid = why == REASON_NONE;
		break;
	case REASON_CTL_REQUEST:
		if (s->rq->verdict.ctl_root) {
			/* A root by thumbprint: that certificate, no other. */
			why = fetch_inspect_cert(
			    body, len, &s->rq->cert, &detail);
			if (why == REASON_NONE &&
			    !fetch_thumbprint_matches(
			        body, len, s->rq->verdict.thumbprint)) {
				why = REASON_RESPONSE_MALFORMED;
				detail = "certificate's SHA-1 is not the "
				         "thumbprint asked for";
			}
			s->cert_valid = why == REASON_NONE;
			break;
		}
		if (!fetch_ctl_file(s->rq->req.path.p, s->rq->req.path.len,
		        file, sizeof(file))) {
			why = REASON_RESPONSE_MALFORMED;
			detail = "not a trust-list file";
			break;
		}
		/* Windows Update's cabinets unpack to under 3 times their size.
		 */
		why = fetch_inspect_ctl(body, len, file, s->cfg->known_store,
		    s->inspect_limit * SESSION_CAB_RATIO, &s->ctl, &detail);
		s->ctl_valid = why == REASON_NONE;
		break;
	default:
		why = upstream_inspect_ocsp(s, body, len);
		detail = s->rq->rfacts.detail;
		if (why == REASON_NONE && s->cfg->verify_responses &&
		    r != NULL && r->store != NULL &&
		    s->rq->rfacts.status == OCSP_RESPONSE_STATUS_SUCCESSFUL)
			why = ocsp_response_verify(
			    body, len, r->store, r->trusted, &detail);
		break;
	}
	if (why != REASON_NONE)
		return upstream_inspection_failed(s, why, detail, true);
	if (s->rq->verdict.candidate != CANDIDATE_NONE &&
	    !reason_is_allow(s->rq->verdict.reason))
		upstream_candidate_evidence(s, body, len);
	if (s->cache_result == SESSION_CACHE_MISS)
		upstream_cache_store(s, body, len);
	return upstream_release_held(s);
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
