/*
 * The client side of a connection: read and parse requests one at a
 * time, ask the policy, answer or hand over to the upstream side, and
 * write one event per request. Pipelined requests wait in the input
 * buffer until the answer before them is sent, so answers keep order.
 */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <event2/buffer.h>
#include <event2/dns.h>
#include <event2/event.h>
#include <openssl/ocsp.h>

#include "ocspgate/addr.h"
#include "ocspgate/alert.h"
#include "ocspgate/alert_line.h"
#include "ocspgate/answer.h"
#include "ocspgate/cidr.h"
#include "ocspgate/config.h"
#include "ocspgate/conn.h"
#include "ocspgate/event.h"
#include "ocspgate/event_log.h"
#include "ocspgate/http_filter.h"
#include "ocspgate/http_reply.h"
#include "ocspgate/listener.h"
#include "ocspgate/proxy_protocol.h"
#include "ocspgate/rdns.h"
#include "ocspgate/server.h"
#include "ocspgate/session.h"
#include "ocspgate/upstream.h"

static void session_read(struct session *s);
static void session_on_addrmap(void *arg);
static void session_on_timer(evutil_socket_t fd, short what, void *arg);
static void session_refuse_connection(
    struct session *s, enum reason why, const char *detail);
static int session_read_proxy_header(struct session *s, struct evbuffer *in);

static void
session_arm_timer(struct session *s, unsigned sec)
{
	struct timeval tv = {.tv_sec = sec, .tv_usec = 0};

	evtimer_add(s->timer, &tv);
}

static const char *const session_cache_names[] = {
    [SESSION_CACHE_NONE] = NULL,
    [SESSION_CACHE_HIT] = "hit",
    [SESSION_CACHE_MISS] = "miss",
    [SESSION_CACHE_BYPASS] = "bypass",
};

/* The request in the worker's metrics. */
static void
session_count(struct session *s, const struct session_request *rq,
    const struct event_record *e)
{
	struct metrics *m = &s->srv->metrics;

	metrics_count_request(m, e->allow, e->reason);
	if (rq->verdict.responder != NULL)
		metrics_count_responder(m,
		    server_responder_slot(s->srv, rq->verdict.responder),
		    e->allow);
	metrics_add(&m->request_body_bytes_total, e->request_body_bytes);
	metrics_add(&m->response_body_bytes_total, e->response_body_bytes);
	if (s->cache_result == SESSION_CACHE_HIT)
		metrics_add(&m->cache_requests[METRICS_CACHE_HIT], 1);
	else if (s->cache_result == SESSION_CACHE_MISS)
		metrics_add(&m->cache_requests[METRICS_CACHE_MISS], 1);
	else if (s->cache_result == SESSION_CACHE_BYPASS)
		metrics_add(&m->cache_requests[METRICS_CACHE_BYPASS], 1);
}

/*
 * The request in the source's behaviour record; alerts it raises are
 * lines of their own. Requests that never named a destination (refused
 * as malformed, say) tell nothing about behaviour.
 */
static void
session_observe(struct session *s, const struct session_request *rq,
    const struct event_record *e)
{
	struct alert alerts[ALERT_MAX_PER_OBSERVATION];
	struct alert_observation o;
	struct json *j = &s->srv->json;
	char dest[256];
	size_t n;

	if (rq->req.host.len == 0 || rq->req.host.len >= sizeof(dest))
		return;
	memset(&o, 0, sizeof(o));
	o.source.family =
	    cidr_key((const struct sockaddr *)&s->source_addr, o.source.addr);
	/* One IPv6 block is one source: group it before choosing a shard. */
	cidr_group(o.source.family, o.source.addr, s->cfg->source_ipv6_prefix);
	for (size_t i = 0; i < rq->req.host.len; i++)
		dest[i] = (char)tolower((unsigned char)rq->req.host.p[i]);
	o.dest = dest;
	o.dest_len = rq->req.host.len;
	if (rq->verdict.ocsp_parsed ||
	    rq->verdict.candidate == CANDIDATE_OCSP) {
		o.certs = rq->facts.certs;
		o.ncerts = rq->facts.ncerts;
	}
	if (rq->rfacts.parsed &&
	    rq->rfacts.status == OCSP_RESPONSE_STATUS_SUCCESSFUL) {
		o.next_update = rq->rfacts.min_next_update;
		for (size_t i = 0; i < rq->rfacts.ncerts; i++)
			o.answer_unknown |=
			    rq->rfacts.certs[i].status == OCSP_CERT_UNKNOWN;
	}
	o.answer_unauthorized = rq->rfacts.parsed &&
	    rq->rfacts.status == OCSP_RESPONSE_STATUS_UNAUTHORIZED;
	o.ua_mismatch =
	    rq->req.headers_done && http_filter_ua_mismatch(&rq->req);
	o.now_ms = server_now_ns() / 1000000;
	o.now = e->start.tv_sec;
	n = shared_alerts_observe(
	    s->srv->shared, &o, alerts, ALERT_MAX_PER_OBSERVATION);
	for (size_t i = 0; i < n; i++) {
		if ((unsigned)alerts[i].kind < METRICS_ALERT_KINDS)
			metrics_add(&s->srv->metrics.alerts[alerts[i].kind], 1);
		alert_format(j, &alerts[i], &e->start, e->source_ip,
		    e->source_domain, e->version);
		if (!j->failed)
			event_log_write(s->srv->log, EVENT_SEV_NOTICE, "alert",
			    j->buf, j->len);
	}
}

/*
 * A candidate: its class, its request's OCSP facts and, once monitor
 * mode forwarded it, what its answer showed.
 */
static void
session_log_candidate(const struct session *s, const struct session_request *rq,
    struct event_record *e)
{
	e->candidate = candidate_class_name(rq->verdict.candidate);
	if (rq->verdict.candidate == CANDIDATE_OCSP)
		e->ocsp = &rq->facts;
	if (!s->forwarded)
		return;
	if (s->failure != REASON_NONE)
		e->candidate_answer = reason_name(s->failure);
	else if (rq->cand.valid)
		e->candidate_answer = "valid";
	e->candidate_checked = rq->cand.checked;
	e->candidate_verified = rq->cand.verified;
	if (rq->cand.checked && !rq->cand.verified)
		e->candidate_detail = rq->cand.detail;
}

/*
 * What is logged of a request refused before it had a block (out of
 * memory, a connection refused then): no request, only s->failure.
 */
static const struct session_request session_no_request;

/*
 * The source's part of every line of this connection, written once: at
 * its first byte, again only if the source changes (PROXY) or its name
 * does (a reverse lookup answered meanwhile). Returns NULL when out of
 * memory: the line is then written whole.
 */
static const struct event_fragments *
session_fragments(struct session *s, const char *domain)
{
	const struct event_fragments *f = s->frag;
	char ip[INET6_ADDRSTRLEN];

	if (f != NULL &&
	    (domain == NULL
	            ? f->domain == NULL
	            : f->domain != NULL && strcmp(domain, f->domain) == 0))
		return f;
	free(s->frag);
	s->frag = event_fragments_new(&s->srv->json,
	    addr_ip(&s->source_addr.sa, ip, sizeof(ip)),
	    addr_port(&s->source_addr.sa), domain, s->asset);
	return s->frag;
}

/* The source's name: the inventory's, else a reverse lookup's. */
static const char *
session_source_domain(struct session *s)
{
	if (s->asset != NULL && s->asset->host[0] != '\0')
		return s->asset->host;
	if (s->cfg->reverse_dns && s->srv->rdns != NULL)
		return rdns_get(s->srv->rdns, s->srv->resolver,
		    (const struct sockaddr *)&s->source_addr, time(NULL),
		    false);
	return NULL;
}

/* The event line for the request in progress. */
static void
session_log(struct session *s)
{
	const struct session_request *rq =
	    s->rq != NULL ? s->rq : &session_no_request;
	struct event_record e;
	struct json *j = &s->srv->json;
	bool allow = reason_is_allow(rq->verdict.reason);
	const struct http_span *ua = NULL;
	char orig_ip[INET6_ADDRSTRLEN], source_ip[INET6_ADDRSTRLEN];

	memset(&e, 0, sizeof(e));
	e.start = s->start_wall;
	e.duration_ns = server_now_ns() - s->start_ns;
	e.allow = allow;
	e.reason = (allow || rq->verdict.reason == REASON_NONE) &&
	        s->failure != REASON_NONE
	    ? s->failure
	    : rq->verdict.reason;
	e.enforced = allow || !s->forwarded;
	e.failed = s->failure != REASON_NONE;
	e.version = OCSPGATE_VERSION;
	e.mode = s->cfg->mode;
	e.interception = rq->req.intercepted ? "transparent" : "explicit";
	if (rq->req.intercepted) {
		e.orig_ip = addr_ip(&s->orig_dst.sa, orig_ip, sizeof(orig_ip));
		e.orig_port = addr_port(&s->orig_dst.sa);
	}
	e.host_mismatch = rq->host_mismatch;
	e.asset = s->asset;
	e.source_domain = session_source_domain(s);
	if ((e.fragments = session_fragments(s, e.source_domain)) != NULL)
		e.source_ip = e.fragments->ip;
	else
		e.source_ip =
		    addr_ip(&s->source_addr.sa, source_ip, sizeof(source_ip));
	if (rq->verdict.responder != NULL)
		e.responder = rq->verdict.responder->spec;
	e.detail =
	    s->failure_detail != NULL ? s->failure_detail : rq->verdict.detail;
	e.source_port = addr_port(&s->source_addr.sa);
	e.dest_host = rq->req.host;
	e.dest_port = rq->req.port;
	if (rq->up.ip[0] != '\0')
		e.dest_ip = rq->up.ip;
	e.method = rq->req.method;
	if (rq->req.form == HTTP_TARGET_ABSOLUTE ||
	    rq->req.form == HTTP_TARGET_ORIGIN) {
		e.url = rq->req.url;
		e.path = rq->req.path;
	}
	if (rq->req.headers_done && rq->req.ua_hdr != -1)
		ua = &rq->req.hs.h[rq->req.ua_hdr].value;
	if (ua != NULL)
		e.user_agent = *ua;
	e.has_request_body = rq->req.body_len > 0 ||
	    (rq->req.headers_done && rq->req.llhttp_method == HTTP_POST);
	e.request_body_bytes = rq->req.body_len;
	e.status = s->status;
	/* An answer cut short still counts what the client was sent. */
	e.response_body_bytes =
	    s->response_started && s->forwarded && !s->response_body_final
	    ? rq->up.resp.body_bytes
	    : s->response_body_bytes;
	e.response_bytes = s->response_bytes;
	e.answer_dropped_fields = rq->dropped.fields;
	e.answer_dropped_bytes = rq->dropped.bytes;
	e.unknown_extensions = rq->rfacts.unknown_extensions;
	if (rq->verdict.ocsp_parsed)
		e.ocsp = &rq->facts;
	if (rq->rfacts.parsed)
		e.ocsp_response = &rq->rfacts;
	/* Only a successful answer carries a signature. */
	if (rq->rfacts.parsed &&
	    rq->rfacts.status == OCSP_RESPONSE_STATUS_SUCCESSFUL)
		e.signature = rq->rfacts.verified ? "verified" : "unverified";
	if (rq->crl_valid) {
		e.crl = &rq->crl;
		e.signature = rq->crl.verified ? "verified" : "unverified";
		e.unknown_extensions += rq->crl.unknown_extensions;
	}
	if (rq->cert_valid) {
		e.cert = &rq->cert;
		e.signature = rq->cert.verified ? "verified" : "unverified";
		e.unknown_extensions += rq->cert.unknown_extensions;
	}
	if (rq->ctl_valid) {
		e.ctl_format = fetch_ctl_format_name(rq->ctl.format);
		e.ctl_entries = rq->ctl.entries;
		if (rq->ctl.format != FETCH_CTL_TEXT)
			e.signature =
			    rq->ctl.verified ? "verified" : "unverified";
		e.unknown_extensions += rq->ctl.unknown_extensions;
	}
	if (rq->verdict.ctl_root)
		e.ctl_thumbprint = rq->verdict.thumbprint;
	if (rq->verdict.get_prefix_len > 0 &&
	    rq->verdict.get_prefix_len <= rq->req.path.len)
		e.get_prefix = (struct http_span){
		    rq->req.path.p, rq->verdict.get_prefix_len};
	if (s->cache_result != SESSION_CACHE_NONE)
		e.cache = session_cache_names[s->cache_result];
	e.request = &rq->req;
	if (rq->verdict.candidate != CANDIDATE_NONE)
		session_log_candidate(s, rq, &e);
	event_format(j, &e);
	if (!j->failed)
		event_log_write(s->srv->log,
		    allow ? EVENT_SEV_INFO : EVENT_SEV_WARNING, "event", j->buf,
		    j->len);
	session_count(s, rq, &e);
	session_observe(s, rq, &e);
}

/*
 * Clears everything a request block holds but the request parser, so
 * that no state of an earlier request (or of the block's earlier owner
 * in the pool) can be read as this request's.
 */
static void
session_request_clear(struct session_request *rq)
{
	memset(&rq->facts, 0, sizeof(rq->facts));
	memset(&rq->verdict, 0, sizeof(rq->verdict));
	upstream_clear(&rq->up);
	memset(&rq->rfacts, 0, sizeof(rq->rfacts));
	memset(&rq->crl, 0, sizeof(rq->crl));
	memset(&rq->cert, 0, sizeof(rq->cert));
	memset(&rq->cand, 0, sizeof(rq->cand));
	rq->addr_host[0] = '\0';
	rq->host_mismatch = false;
	rq->addr_waiting = false;
	rq->capture_len = 0;
	rq->inspect_limit = 0;
	rq->crl_valid = false;
	rq->cert_valid = false;
	rq->ctl_valid = false;
	memset(&rq->ctl, 0, sizeof(rq->ctl));
	rq->relay_copy = false;
	rq->framing = HTTP_FRAMING_NONE;
	memset(&rq->dropped, 0, sizeof(rq->dropped));
}

/*
 * Takes the request block from the worker's pool, if the session has
 * none: the request's state (cleared, parser ready), then head bytes,
 * then the body (also a GET's DER scratch). Returns -1 when out of
 * memory (s->rq stays NULL).
 */
static int
session_take_block(struct session *s)
{
	const struct config *c = s->cfg;
	unsigned char *block;

	if (s->rq != NULL)
		return 0;
	if ((block = pool_get(&s->srv->pool, SESSION_BLOCK_SIZE(c))) == NULL)
		return -1;
	s->rq = (struct session_request *)(void *)block;
	server_requests_changed(s->srv, 1);
	upstream_init(&s->rq->up);
	memset(&s->rq->addr_wait, 0, sizeof(s->rq->addr_wait));
	s->rq->addr_wait.cb = session_on_addrmap;
	s->rq->addr_wait.arg = s;
	s->rq->capture = NULL;
	s->rq->capture_cap = 0;
	session_request_clear(s->rq);
	s->head = (char *)block + sizeof(struct session_request);
	s->body = (unsigned char *)s->head + c->max_header_bytes;
	http_request_init(&s->rq->req, s->body, c->max_request_body);
	return 0;
}

/* Gives the request block and buffers back to the worker's pool. */
static void
session_put_buffers(struct session *s)
{
	if (s->rq != NULL) {
		addrmap_unwait(&s->rq->addr_wait);
		upstream_put_buffers(&s->rq->up);
		pool_put(&s->srv->pool, s->rq->capture, s->rq->capture_cap);
		server_requests_changed(s->srv, -1);
	}
	pool_put(&s->srv->pool, s->rq, SESSION_BLOCK_SIZE(s->cfg));
	s->rq = NULL;
	s->head = NULL;
	s->body = NULL;
	/*
	 * The answer's holding buffer goes too: kept, thousands of them
	 * made during a burst would each pin a page of the heap among the
	 * freed buffers of their requests.
	 */
	if (s->hold != NULL) {
		evbuffer_free(s->hold);
		s->hold = NULL;
	}
}

/*
 * Whether the request in progress gets an event line: once its request
 * line was read, it was answered, or it was refused on its own.
 */
static bool
session_loggable(const struct session *s)
{
	if (!s->in_request)
		return false;
	if (s->status != 0 || s->must_log)
		return true;
	return s->rq != NULL && s->rq->req.line_done;
}

/*
 * Logs the request (when it got far enough) and readies the next. With
 * <reuse> false the request block goes back to the pool next, and is
 * cleared when taken again (session_take_block()), not here as well.
 */
static void
session_end_request(struct session *s, bool reuse)
{
	if (session_loggable(s))
		session_log(s);
	if (s->rq != NULL && reuse) {
		http_request_next(&s->rq->req);
		session_request_clear(s->rq);
	}
	s->head_len = 0;
	s->in_request = false;
	s->forwarded = false;
	s->close_after = false;
	s->must_log = false;
	s->failure = REASON_NONE;
	s->failure_detail = NULL;
	s->response_started = false;
	s->status = 0;
	s->response_body_bytes = 0;
	s->response_body_final = false;
	s->response_bytes = 0;
	s->inspect = false;
	if (s->hold != NULL)
		evbuffer_drain(s->hold, evbuffer_get_length(s->hold));
	s->cache_result = SESSION_CACHE_NONE;
}

void
session_close(struct session *s)
{
	if (session_loggable(s))
		session_log(s);
	if (s->rq != NULL) {
		addrmap_unwait(&s->rq->addr_wait);
		upstream_release(&s->rq->up);
	}
	if (s->timer != NULL)
		event_free(s->timer);
	conn_free(s->client);
	if (s->wait != NULL)
		event_free(s->wait);
	if (s->fd != -1)
		evutil_closesocket(s->fd); /* it never sent a byte */
	shared_source_release(s->srv->shared, &s->source_key);
	metrics_gauge_add(&s->srv->metrics.connections_open, -1);
	TAILQ_REMOVE(&s->srv->sessions, s, entry);
	if (--s->srv->nsessions == 0 && s->srv->draining)
		event_base_loopexit(s->srv->base, NULL);
	server_connections_changed(s->srv);
	/* The buffers' sizes come from the config: give them back first. */
	session_put_buffers(s);
	config_unref(s->cfg);
	if (s->hold != NULL)
		evbuffer_free(s->hold);
	free(s->frag);
	free(s);
}

void
session_answer_done(struct session *s, bool keep_alive)
{
	s->state = SESSION_REPLYING;
	/* Not cleared: a reset client (session_on_event) stays a reason. */
	if (!keep_alive)
		s->close_after = true;
	evtimer_del(s->timer);
	/* Finish from the write callback, also when the output is empty. */
	conn_trigger_write(s->client);
}

/* Whether the request being answered is a HEAD (as far as it was read). */
static bool
session_is_head(const struct session *s)
{
	const struct http_span *m = s->rq != NULL ? &s->rq->req.method : NULL;

	return m != NULL && m->len == 4 && memcmp(m->p, "HEAD", 4) == 0;
}

void
session_reply(struct session *s, int status, enum reason why,
    const char *detail, bool close)
{
	char buf[HTTP_REPLY_MAX];
	bool keep = !close && s->rq != NULL && s->rq->req.complete &&
	    s->rq->req.keep_alive && !s->srv->draining;
	int n;

	if (s->rq == NULL) {
		/* Refused before it had a block: the event says why. */
		if (s->failure == REASON_NONE) {
			s->failure = why;
			s->failure_detail = detail;
		}
	} else if (detail != NULL && s->rq->verdict.detail == NULL &&
	    s->failure == REASON_NONE) {
		s->rq->verdict.detail = detail;
	}
	n = http_reply_build(status, why, keep, buf, sizeof(buf));
	if (n > 0) {
		const char *body = strstr(buf, "\r\n\r\n");

		/*
		 * The answer to a HEAD has no body (RFC 9110 9.3.2): a client
		 * or balancer keeping the connection would read one as the
		 * start of the next answer.
		 */
		if (body != NULL && session_is_head(s))
			n = (int)(body + 4 - buf);
		(void)conn_write(s->client, buf, (size_t)n);
		s->status = status;
		s->response_bytes = (uint64_t)n;
		s->response_body_bytes =
		    body != NULL ? (uint64_t)(buf + n - body - 4) : 0;
		s->response_body_final = true;
	}
	session_answer_done(s, keep);
}

void
session_fail(struct session *s, enum reason why, const char *detail)
{
	if (s->rq != NULL)
		upstream_release(&s->rq->up);
	s->failure = why;
	s->failure_detail = detail;
	if (!s->response_started) {
		session_reply(s, http_reply_status(why), why, detail, false);
		return;
	}
	/* Part of the answer is out: the client can only see a close. */
	session_answer_done(s, false);
}

/* A request llhttp or our checks refused: answer and close. */
static void
session_refuse_malformed(struct session *s)
{
	enum reason why = s->rq->req.reason;
	int status;

	if (why == REASON_BODY_TOO_LARGE && s->rq->req.headers_done &&
	    s->rq->req.llhttp_method != HTTP_GET &&
	    s->rq->req.llhttp_method != HTTP_POST)
		why = REASON_METHOD_NOT_ALLOWED;
	status = http_reply_status(why);
	s->rq->verdict.reason = why;
	s->rq->verdict.detail = s->rq->req.detail;
	session_reply(s, status, why, NULL, true);
}

static bool
session_forwardable(const struct session *s)
{
	return s->cfg->mode == MODE_MONITOR &&
	    (s->rq->req.form == HTTP_TARGET_ABSOLUTE ||
	        s->rq->req.intercepted) &&
	    s->rq->verdict.reason != REASON_HTTP_MALFORMED &&
	    s->rq->verdict.reason != REASON_BODY_TOO_LARGE;
}

static void session_decide(struct session *s);

/*
 * The target of a Host-less HTTP/1.0 request, by where it was going:
 * the listed host whose addresses hold the original destination, else
 * that address itself (which the policy then judges like any target).
 */
static void
session_target_by_address(struct session *s, const char *name)
{
	struct session_request *rq = s->rq;
	uint16_t port = addr_port(&s->orig_dst.sa);

	if (name != NULL) {
		snprintf(rq->addr_host, sizeof(rq->addr_host), "%s", name);
		http_request_intercept_by_address(
		    &rq->req, rq->addr_host, port);
		return;
	}
	addr_ip(&s->orig_dst.sa, rq->addr_host, sizeof(rq->addr_host));
	http_request_intercept_by_address(&rq->req, rq->addr_host, port);
	rq->req.filter.flags &= ~(1u << HTTP_FLAG_HOST_BY_ADDRESS);
}

/*
 * Looks the original destination up in the worker's address map.
 * Returns 0 when the target is set, 1 while waiting for lookups in
 * flight (at most upstream_timeout; the session's timer ends the wait).
 */
static int
session_find_by_address(struct session *s)
{
	const char *name = NULL;

	switch (addrmap_lookup(s->srv->addrmap, &s->orig_dst.sa,
	    addr_port(&s->orig_dst.sa), time(NULL), &name)) {
	case ADDRMAP_FOUND:
		session_target_by_address(s, name);
		break;
	case ADDRMAP_MISSING:
		session_target_by_address(s, NULL);
		break;
	case ADDRMAP_PENDING:
		if (!s->rq->addr_waiting) {
			session_arm_timer(s, s->cfg->upstream_timeout_sec);
			s->rq->addr_waiting = true;
			/* Bytes that come meanwhile wait in the input. */
			s->state = SESSION_UPSTREAM;
		}
		addrmap_wait(s->srv->addrmap, &s->rq->addr_wait);
		return 1;
	}
	if (s->rq->addr_waiting) {
		s->rq->addr_waiting = false;
		addrmap_unwait(&s->rq->addr_wait);
		evtimer_del(s->timer);
		s->state = SESSION_READING;
	}
	return 0;
}

/* The address map finished a lookup: look again. */
static void
session_on_addrmap(void *arg)
{
	struct session *s = arg;

	if (session_find_by_address(s) == 0)
		session_decide(s);
}

/* The wait for the address map ran out: the address is the target. */
static void
session_addrmap_timeout(struct session *s)
{
	s->rq->addr_waiting = false;
	addrmap_unwait(&s->rq->addr_wait);
	s->state = SESSION_READING;
	session_target_by_address(s, NULL);
	s->rq->verdict.detail = "no listed host's address known in time";
	session_decide(s);
}

/* A complete request: decide, then answer or forward. */
/*
 * An origin-form request is only valid on a connection the kernel
 * redirected (or TPROXY delivered): its target is the Host header at the
 * original destination's port. Returns -1 after refusing the request.
 */
static int
session_intercept(struct session *s)
{
	int rc;

	if (s->rq->req.form != HTTP_TARGET_ORIGIN ||
	    s->transparent == LISTEN_EXPLICIT)
		return 0;
	if (!s->orig_known) {
		struct sockaddr_storage bound, dst;

		memset(&bound, 0, sizeof(bound));
		memcpy(&bound, &s->listen_bound, sizeof(s->listen_bound));
		rc = listener_original_dst(
		    s->client->fd, s->transparent, &bound, &dst);
		if (rc != 1 ||
		    (dst.ss_family != AF_INET && dst.ss_family != AF_INET6))
			return 0; /* not intercepted: the policy refuses it */
		memcpy(&s->orig_dst, &dst, sizeof(s->orig_dst));
		s->orig_known = true;
	}
	rc = http_request_intercept(&s->rq->req, addr_port(&s->orig_dst.sa));
	if (rc == -1) {
		session_refuse_malformed(s);
		return -1;
	}
	return rc == 1 ? session_find_by_address(s) : 0;
}

static void
session_dispatch(struct session *s)
{
	/*
	 * Reading goes on (a pipelined request waits in the input, bounded
	 * by its high watermark): switching it off and on for every request
	 * would cost two epoll_ctl calls.
	 */
	evtimer_del(s->timer);
	if (session_intercept(s) != 0)
		return; /* refused, or waiting for the address map */
	session_decide(s);
}

/* The intercepted request's target is known: decide on it. */
static void
session_decide(struct session *s)
{
	if (http_request_has_via(&s->rq->req, s->srv->via)) {
		/* Our own request came back: forwarding it again would loop. */
		s->rq->verdict.reason = REASON_FORWARDING_LOOP;
		s->rq->verdict.detail = "request carries this gate's own Via";
		session_reply(s, 508, REASON_FORWARDING_LOOP, NULL, true);
		return;
	}
	memset(&s->rq->facts, 0, sizeof(s->rq->facts));
	policy_decide(s->cfg, &s->rq->req, s->body, s->cfg->max_request_body,
	    &s->rq->facts, &s->rq->verdict, &s->srv->memos);
	/*
	 * The dropped fields never reach the upstream, but a request that
	 * carries kilobytes of them is not a certificate-status client's.
	 */
	if (reason_is_allow(s->rq->verdict.reason) &&
	    http_filter_over_budget(&s->rq->req)) {
		s->rq->verdict.reason = REASON_EXCESS_HEADERS;
		s->rq->verdict.detail =
		    "header fields not forwarded over their byte budget";
	}
	if (reason_is_allow(s->rq->verdict.reason) && answer_from_cache(s))
		return;
	if (reason_is_allow(s->rq->verdict.reason) || session_forwardable(s)) {
		s->forwarded = true;
		s->state = SESSION_UPSTREAM;
		answer_forward(s);
		return;
	}
	/*
	 * After CONNECT the client would send tunnel bytes, and after a
	 * malformed request nothing it sends can be trusted: close.
	 */
	session_reply(s, http_reply_status(s->rq->verdict.reason),
	    s->rq->verdict.reason, NULL,
	    s->rq->req.form == HTTP_TARGET_AUTHORITY ||
	        s->rq->verdict.reason == REASON_HTTP_MALFORMED);
}

static int
session_begin_request(struct session *s)
{
	const struct config *c = s->cfg;

	s->in_request = true;
	clock_gettime(CLOCK_REALTIME, &s->start_wall);
	s->start_ns = server_now_ns();
	if (session_take_block(s) == -1)
		return -1;
	/* The whole request must arrive within client_timeout. */
	session_arm_timer(s, c->client_timeout_sec);
	return 0;
}

static void
session_read(struct session *s)
{
	struct evbuffer *in = s->client->in;
	enum http_parse rc = HTTP_PARSE_MORE;

	if (s->state != SESSION_READING) {
		/*
		 * Bytes behind the request being answered wait in the input.
		 * Once they reach its high watermark, libevent calls us again
		 * after every loop pass for as long as reading is on, and
		 * nothing takes them before the answer is out: a busy loop
		 * for as long as the upstream takes. Reading stops until
		 * then (session_on_write turns it back on).
		 */
		if (evbuffer_get_length(in) >=
		    SESSION_REQBUF_SIZE(s->cfg) + SESSION_INPUT_SLACK)
			conn_enable_read(s->client, false);
		return;
	}
	if (s->await_proxy && session_read_proxy_header(s, in) != 1)
		return;
	while (s->state == SESSION_READING && evbuffer_get_length(in) > 0) {
		size_t consumed;

		if (!s->in_request && session_begin_request(s) == -1) {
			/* No block: s->rq is NULL, the event says why. */
			conn_enable_read(s->client, false);
			session_reply(s, 503, REASON_HTTP_MALFORMED,
			    "out of memory", true);
			return;
		}
		if (!s->rq->req.headers_done) {
			size_t space = s->cfg->max_header_bytes - s->head_len;
			size_t n = evbuffer_get_length(in);

			if (space == 0) {
				s->rq->verdict.reason = REASON_HTTP_MALFORMED;
				s->rq->verdict.detail =
				    "request head over max_header_bytes";
				session_reply(
				    s, 431, REASON_HTTP_MALFORMED, NULL, true);
				return;
			}
			if (n > space)
				n = space;
			evbuffer_copyout(in, s->head + s->head_len, n);
			rc = http_request_parse(
			    &s->rq->req, s->head + s->head_len, n, &consumed);
			s->head_len += consumed;
		} else {
			struct evbuffer_iovec v;

			if (evbuffer_peek(in, -1, NULL, &v, 1) < 1)
				break;
			rc = http_request_parse(
			    &s->rq->req, v.iov_base, v.iov_len, &consumed);
		}
		evbuffer_drain(in, consumed);
		if (rc == HTTP_PARSE_ERROR) {
			session_refuse_malformed(s);
			return;
		}
		if (rc == HTTP_PARSE_DONE) {
			session_dispatch(s);
			return;
		}
	}
	if (s->state == SESSION_READING && s->rq != NULL &&
	    s->rq->req.headers_done && s->rq->req.expect_continue &&
	    s->rq->req.body_len == 0) {
		/* curl waits a second for this before sending a body. */
		s->rq->req.expect_continue = false;
		(void)conn_write(
		    s->client, "HTTP/1.1 100 Continue\r\n\r\n", 25);
	}
}

/*
 * The last answer is out and the connection is to close. Closing a
 * socket with unread bytes in it makes the kernel send a reset, and a
 * reset destroys what it overtakes: an answer still in our send queue
 * (held back until the client acknowledges the one before), or one the
 * client's stack had not handed to it yet. A client refused in the
 * middle of what it sends (400, 413, 431) would see a reset instead of
 * the refusal. So, as web servers do (a lingering close), the sending
 * side is shut (the answer goes, then FIN) and what the client still
 * sends is read and dropped until it closes, for SESSION_LINGER_SEC and
 * SESSION_LINGER_BYTES at most. The request was logged already.
 */
static void
session_linger(struct session *s)
{
	session_end_request(s, false);
	session_put_buffers(s);
	s->state = SESSION_LINGERING;
	s->lingered = 0;
	if (shutdown(s->client->fd, SHUT_WR) == -1) {
		session_close(s); /* the caller is a top-level callback */
		return;
	}
	conn_set_write_timeout(s->client, NULL);
	conn_set_read_high(s->client, 0);
	conn_enable_read(s->client, true);
	session_arm_timer(s, SESSION_LINGER_SEC);
}

/*
 * The client closed its sending side and all it sent before was served:
 * a request it left incomplete is logged as cut short and the
 * connection closes; otherwise the last answer goes out, then the FIN.
 */
static void
session_client_done(struct session *s)
{
	if (s->in_request) {
		if (s->rq != NULL && s->rq->verdict.reason == REASON_NONE) {
			s->rq->verdict.reason = REASON_HTTP_MALFORMED;
			s->rq->verdict.detail = "client closed mid-request";
		}
		session_close(s);
		return;
	}
	session_linger(s);
}

static void
session_on_read(struct conn *c, void *arg)
{
	struct session *s = arg;

	if (s->state == SESSION_LINGERING) {
		struct evbuffer *in = c->in;

		s->lingered += evbuffer_get_length(in);
		evbuffer_drain(in, evbuffer_get_length(in));
		if (s->lingered > SESSION_LINGER_BYTES)
			session_close(s);
		return;
	}
	session_read(s);
}

static void
session_on_write(struct conn *c, void *arg)
{
	struct session *s = arg;
	bool idle;

	if (s->state == SESSION_UPSTREAM && upstream_paused(&s->rq->up)) {
		/* The client caught up: resume reading the upstream. */
		upstream_pause(&s->rq->up, false);
		return;
	}
	if (s->state != SESSION_REPLYING || evbuffer_get_length(c->out) > 0)
		return;
	if (s->close_after || s->srv->draining) {
		session_linger(s); /* logs the request */
		return;
	}
	/* Idle until the next request: hold no request buffers meanwhile. */
	idle = !s->client_eof && evbuffer_get_length(c->in) == 0;
	session_end_request(s, !idle);
	s->state = SESSION_READING;
	if (s->client_eof) {
		/*
		 * The client half-closed behind pipelined requests: each
		 * complete one still in the input is served in turn, as
		 * without the close; reading stays off (nothing more comes).
		 */
		session_read(s);
		if (s->state == SESSION_READING)
			session_client_done(s);
		return;
	}
	if (idle)
		session_put_buffers(s);
	session_arm_timer(s, s->cfg->client_timeout_sec);
	conn_enable_read(c, true);
	session_read(s);
}

static void
session_on_event(struct conn *c, short what, void *arg)
{
	struct session *s = arg;

	if (s->state == SESSION_LINGERING) {
		session_close(s); /* the client closed: all done */
		return;
	}
	if (s->await_proxy && s->in_request) {
		session_refuse_connection(s, REASON_PROXY_PROTOCOL,
		    "connection closed inside the PROXY header");
		return;
	}
	if ((s->state == SESSION_UPSTREAM && !(what & CONN_WRITING) &&
	        (!s->response_started || !(what & CONN_ERROR))) ||
	    (s->state == SESSION_REPLYING && (what & CONN_EOF) &&
	        !(what & CONN_ERROR))) {
		/*
		 * A client that half-closes after its request still gets the
		 * answer, also one already being relayed. One that is gone
		 * does not stop the exchange with the upstream midway before
		 * the answer starts (some responders take a connection closed
		 * early badly): writing the answer fails and closes then.
		 * A half-close ends reading, not serving: the complete
		 * requests sent before it are still served (session_on_write).
		 */
		if (what & CONN_EOF)
			s->client_eof = true;
		else
			s->close_after = true; /* gone: nothing more to serve */
		conn_enable_read(c, false);
		return;
	}
	if (s->state == SESSION_READING && s->in_request && s->rq != NULL &&
	    s->rq->verdict.reason == REASON_NONE) {
		s->rq->verdict.reason = REASON_HTTP_MALFORMED;
		s->rq->verdict.detail = "client closed mid-request";
	} else if (s->state != SESSION_READING && s->failure_detail == NULL) {
		s->failure_detail = "client closed before the answer was sent";
	}
	session_close(s);
}

static void
session_on_timer(evutil_socket_t fd, short what, void *arg)
{
	struct session *s = arg;

	(void)fd;
	(void)what;
	if (s->rq != NULL && s->rq->addr_waiting) {
		session_addrmap_timeout(s);
		return;
	}
	if (s->await_proxy && s->in_request) {
		session_refuse_connection(s, REASON_PROXY_PROTOCOL,
		    "no complete PROXY header within client_timeout");
		return;
	}
	if (s->in_request && s->rq != NULL) {
		s->rq->verdict.reason = REASON_HTTP_MALFORMED;
		s->rq->verdict.detail =
		    "request not complete within client_timeout";
	}
	session_close(s);
}

/* Sets the source address (accepted peer, or PROXY header's client). */
static void
session_set_source(struct session *s, const struct sockaddr *sa)
{
	memcpy(&s->source_addr, sa,
	    addr_family(sa) == AF_INET6 ? sizeof(struct sockaddr_in6)
	                                : sizeof(struct sockaddr_in));
	free(s->frag);
	s->frag = NULL;
}

/*
 * Who the source is: the inventory first; else, with reverse_dns, a PTR
 * lookup starts now and its answer is used if it comes in time.
 */
static void
session_attribute(struct session *s)
{
	const struct sockaddr *sa = (const struct sockaddr *)&s->source_addr;

	if (s->cfg->inventory != NULL)
		s->asset = inventory_lookup(s->cfg->inventory, sa);
	if ((s->asset == NULL || s->asset->host[0] == '\0') &&
	    s->cfg->reverse_dns && s->srv->rdns != NULL)
		rdns_get(s->srv->rdns, s->srv->resolver, sa, time(NULL), true);
}

static void session_refuse_connection(
    struct session *s, enum reason why, const char *detail);

/*
 * Counts the connection against max_connections_per_source. Returns -1
 * after refusing it (logged, closed).
 */
static int
session_count_source(struct session *s)
{
	if (!shared_source_acquire(s->srv->shared, s->cfg,
	        (const struct sockaddr *)&s->source_addr, &s->source_key)) {
		session_refuse_connection(s, REASON_CONNECTION_LIMIT,
		    "max_connections_per_source reached");
		return -1;
	}
	return 0;
}

/* Logs a connection refused before any request, and closes it. */
static void
session_refuse_connection(
    struct session *s, enum reason why, const char *detail)
{
	if (!s->in_request) {
		s->in_request = true;
		clock_gettime(CLOCK_REALTIME, &s->start_wall);
		s->start_ns = server_now_ns();
	}
	/* Without a block (out of memory) the event still says why. */
	s->must_log = true;
	s->failure = why;
	s->failure_detail = detail;
	if (session_take_block(s) == 0) {
		s->rq->verdict.reason = why;
		s->rq->verdict.detail = detail;
		s->failure = REASON_NONE;
		s->failure_detail = NULL;
	}
	session_close(s);
}

/*
 * Reads the PROXY header that precedes a balancer's connection. Returns
 * 1 once it is read, 0 to wait for more, -1 after closing the session.
 */
static int
session_read_proxy_header(struct session *s, struct evbuffer *in)
{
	struct proxy_header h;
	const char *detail;
	size_t n = evbuffer_get_length(in);
	unsigned char *p;
	int rc;

	if (n > PROXY_PROTOCOL_V2_MAX)
		n = PROXY_PROTOCOL_V2_MAX;
	if (n == 0 || (p = evbuffer_pullup(in, (ev_ssize_t)n)) == NULL)
		return 0;
	if (!s->in_request) {
		s->in_request = true;
		clock_gettime(CLOCK_REALTIME, &s->start_wall);
		s->start_ns = server_now_ns();
	}
	rc = proxy_protocol_parse(p, n, &h, &detail);
	if (rc == 0)
		return 0;
	if (rc < 0) {
		session_refuse_connection(s, REASON_PROXY_PROTOCOL, detail);
		return -1;
	}
	evbuffer_drain(in, (size_t)rc);
	s->await_proxy = false;
	s->in_request = false;
	if (!h.local)
		session_set_source(s, (const struct sockaddr *)&h.src);
	if (session_count_source(s) == -1)
		return -1;
	session_attribute(s);
	return 1;
}

/*
 * The first byte came: the connection gets its conn, and its
 * timer, armed for what is left of client_timeout since the accept. Or
 * client_timeout passed without a byte: the connection closes, with
 * nothing to log.
 */
static void
session_on_first_byte(evutil_socket_t fd, short what, void *arg)
{
	struct session *s = arg;
	struct timeval wt = {.tv_sec = s->cfg->client_timeout_sec};
	uint64_t waited_ns = server_now_ns() - s->start_ns;
	uint64_t left_ns = (uint64_t)s->cfg->client_timeout_sec * 1000000000u;

	if (what & EV_TIMEOUT) {
		session_close(s);
		return;
	}
	event_free(s->wait);
	s->wait = NULL;
	if ((s->timer = evtimer_new(s->srv->base, session_on_timer, s)) ==
	    NULL) {
		session_close(s);
		return;
	}
	left_ns = waited_ns < left_ns ? left_ns - waited_ns : 0;
	{
		struct timeval tv = {.tv_sec = (time_t)(left_ns / 1000000000u),
		    .tv_usec = (suseconds_t)(left_ns % 1000000000u / 1000)};

		evtimer_add(s->timer, &tv);
	}
	s->client = conn_new(s->srv->base, fd, session_on_read,
	    session_on_write, session_on_event, s);
	if (s->client == NULL) {
		session_close(s);
		return;
	}
	s->fd = -1; /* the conn's now */
	conn_set_pool(s->client, &s->srv->pool);
	/* Beside the conn: both live as long as the connection. */
	(void)session_fragments(s, session_source_domain(s));
	conn_set_write_timeout(s->client, &wt);
	/* Pipelined requests wait, a request's worth at most. */
	conn_set_read_high(
	    s->client, SESSION_REQBUF_SIZE(s->cfg) + SESSION_INPUT_SLACK);
	conn_enable_read(s->client, true);
	/* The byte is there: read it in this loop pass. */
	event_active(&s->client->rd, EV_READ, 1);
}

int
session_new(struct server *srv, evutil_socket_t fd, const struct sockaddr *sa,
    socklen_t salen, const struct listen_addr *la,
    const struct sockaddr_storage *bound)
{
	struct session *s;
	struct timeval tv;

	(void)salen;
	if ((s = calloc(1, sizeof(*s))) == NULL) {
		evutil_closesocket(fd);
		return -1;
	}
	s->fd = fd;
	s->srv = srv;
	s->cfg = config_ref(srv->cfg);
	TAILQ_INSERT_TAIL(&srv->sessions, s, entry);
	metrics_gauge_add(&srv->metrics.connections_open, 1);
	metrics_add(&srv->metrics.connections_total, 1);
	srv->nsessions++;
	server_connections_changed(srv);
	session_set_source(s, sa);
	s->transparent = la->transparent;
	memcpy(&s->listen_bound, bound, sizeof(s->listen_bound));
	/*
	 * Until its first byte a connection has no conn and no
	 * timer: a silent connection costs a session and one event, which
	 * also times it out.
	 */
	s->start_ns = server_now_ns();
	tv.tv_sec = s->cfg->client_timeout_sec;
	tv.tv_usec = 0;
	s->wait = event_new(srv->base, fd, EV_READ, session_on_first_byte, s);
	if (s->wait == NULL || event_add(s->wait, &tv) == -1)
		goto fail;
	if (la->proxy_protocol) {
		if (!cidr_list_contains(la->proxy_from, la->nproxy_from, sa)) {
			session_refuse_connection(s, REASON_PROXY_PROTOCOL,
			    "PROXY header expected from a source not in "
			    "proxy_protocol_from");
			return -1;
		}
		s->await_proxy = true;
	} else {
		if (session_count_source(s) == -1)
			return -1;
		session_attribute(s);
	}
	return 0;
fail:
	session_close(s);
	return -1;
}
