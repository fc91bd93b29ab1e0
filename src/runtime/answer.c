/*
 * The answer to a forwarded request, as the client gets it: the
 * session's side of the exchange upstream.c carries out (its
 * struct upstream_ops). The answer's head is judged against the
 * request, its body held until inspected (allowed requests, candidates)
 * or relayed with a framing of ocspgate's own. The RFC 5019 cache
 * answers without the upstream. Works on the session's state; touches
 * the upstream only through upstream.h.
 */
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>

#include <event2/buffer.h>
#include <event2/event.h>
#include <openssl/ocsp.h>

#include "ocspgate/answer.h"
#include "ocspgate/cache.h"
#include "ocspgate/candidate.h"
#include "ocspgate/civil.h"
#include "ocspgate/config.h"
#include "ocspgate/conn.h"
#include "ocspgate/fetch.h"
#include "ocspgate/http_filter.h"
#include "ocspgate/memo.h"
#include "ocspgate/ocsp_response.h"
#include "ocspgate/server.h"
#include "ocspgate/session.h"
#include "ocspgate/shared_cache.h"
#include "ocspgate/upstream.h"

#define ANSWER_CAPTURE_START 4096         /* an OCSP answer, grown if need be */
#define ANSWER_CAB_RATIO     4            /* a cabinet unpacks to at most */
#define ANSWER_OUTPUT_HIGH   (256u << 10) /* client behind: stop reading */
#define ANSWER_OCSP_TYPE     "application/ocsp-response"

/* True when <ss> holds the address (not port) of <ai>. */
static bool
answer_same_ip(const union session_addr *a, const struct evutil_addrinfo *ai)
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
answer_on_resolved(void *ctx, const struct evutil_addrinfo *addrs)
{
	struct session *s = ctx;

	if (!s->rq->req.intercepted)
		return true;
	for (const struct evutil_addrinfo *ai = addrs; ai != NULL;
	     ai = ai->ai_next) {
		if (answer_same_ip(&s->orig_dst, ai))
			return true;
	}
	s->rq->host_mismatch = true;
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
	/* The upstream is released once this returns. */
	s->forwarded = false;
	session_reply(s, 403, REASON_HOST_MISMATCH, NULL, false);
	return false;
}

/*
 * The class an answer is judged as: the allowed request's, or for a
 * candidate that monitor mode forwarded, the class it is a request of
 * (REASON_NONE: not judged).
 */
static enum reason
answer_class(const struct session *s)
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
answer_prepare(struct session *s)
{
	s->inspect = answer_class(s) != REASON_NONE;
	if (!s->inspect)
		return 0;
	/*
	 * The capture grows as the payload arrives (answer_capture_put):
	 * OCSP answers up to max_response_body, CRLs and the like, which
	 * may be megabytes, up to max_crl_bytes.
	 */
	s->rq->inspect_limit = answer_class(s) == REASON_OCSP_REQUEST
	    ? s->cfg->max_response_body
	    : s->cfg->max_crl_bytes;
	if (s->hold == NULL && (s->hold = evbuffer_new()) == NULL)
		return -1;
	return 0;
}

/*
 * A time of the facts ("2026-11-26T19:00:00Z", as ocsp_response.h and
 * fetch.h write them) in seconds since 1970, or 0 for "" or any other
 * text.
 */
static time_t
answer_parse_time(const char *t)
{
	static const int at[6] = {0, 5, 8, 11, 14, 17},
	                 len[6] = {4, 2, 2, 2, 2, 2};
	int v[6];

	if (strlen(t) != 20 || t[4] != '-' || t[7] != '-' || t[10] != 'T' ||
	    t[13] != ':' || t[16] != ':' || t[19] != 'Z')
		return 0;
	for (int k = 0; k < 6; k++) {
		v[k] = 0;
		for (int i = at[k]; i < at[k] + len[k]; i++) {
			if (t[i] < '0' || t[i] > '9')
				return 0;
			v[k] = v[k] * 10 + (t[i] - '0');
		}
	}
	return civil_time(v[0], v[1], v[2], v[3], v[4], v[5]);
}

/*
 * An OCSP answer's Last-Modified: the latest thisUpdate of its
 * SingleResponses (RFC 5019 6.2 names thisUpdate), 0 when it has none.
 */
static time_t
answer_ocsp_last_modified(const struct ocsp_response_facts *f)
{
	time_t last = 0, t;

	for (size_t i = 0; i < f->ncerts; i++) {
		if ((t = answer_parse_time(f->certs[i].this_update)) > last)
			last = t;
	}
	return last;
}

/* Whether this request may be answered from, and stored in, the cache. */
static enum session_cache
answer_cache_class(const struct session *s)
{
	if (s->rq->verdict.reason != REASON_OCSP_REQUEST ||
	    s->rq->verdict.responder == NULL)
		return SESSION_CACHE_NONE;
	/* A nonce asks for a fresh answer; an intercepted Host is checked
	 * against DNS on the way, which a hit would skip. */
	if (s->cfg->cache_size == 0 || s->rq->facts.has_nonce ||
	    s->rq->req.intercepted)
		return SESSION_CACHE_BYPASS;
	return SESSION_CACHE_MISS;
}

/*
 * The RFC 5019 cache holds, per responder and DER request, the inspected
 * answer and the facts its inspection found (so that a hit is logged
 * like a miss): [struct ocsp_response_facts][DER].
 */
static void
answer_cache_store(struct session *s, const unsigned char *der, size_t len)
{
	const struct responder *r = s->rq->verdict.responder;
	struct ocsp_cache_times t;
	const struct http_span *cc;
	unsigned char *value;
	time_t now = time(NULL);
	long max_age = 0;
	int have = 0;

	if (s->rq->rfacts.status != OCSP_RESPONSE_STATUS_SUCCESSFUL ||
	    s->rq->up.resp.status != 200)
		return;
	if ((cc = http_headers_get(&s->rq->up.resp.hs, "cache-control")) !=
	        NULL &&
	    (have = ocsp_cache_parse_max_age(cc->p, cc->len, &max_age)) == -1)
		return;
	t.this_update = answer_ocsp_last_modified(&s->rq->rfacts);
	t.next_update = s->rq->rfacts.min_next_update;
	if ((t.expires = ocsp_cache_expiry(now, t.next_update, have == 1,
	         max_age, (long)s->cfg->cache_max_age_sec)) == 0)
		return;
	if ((value = malloc(sizeof(s->rq->rfacts) + len)) == NULL)
		return;
	memcpy(value, &s->rq->rfacts, sizeof(s->rq->rfacts));
	memcpy(value + sizeof(s->rq->rfacts), der, len);
	shared_cache_put(s->srv->cache, s->cfg, r->spec, strlen(r->spec),
	    s->body, s->rq->facts.der_len, value, sizeof(s->rq->rfacts) + len,
	    &t, now);
	free(value);
}

/* A hit, copied while the cache's shard is locked (shared_cache_get). */
struct answer_cache_copy {
	struct session *s;
	time_t now;
	bool keep;
	bool not_modified; /* the request's validators hold: 304 */
	size_t head_len, body_len;
};

static bool
answer_cache_copy(void *arg, const struct ocsp_cache_entry *e)
{
	struct answer_cache_copy *c = arg;
	struct session *s = c->s;
	const unsigned char *der;
	size_t len;
	struct http_response_judged j = {.content_type = ANSWER_OCSP_TYPE,
	    .date = c->now,
	    .last_modified = e->this_update,
	    .expires = e->next_update,
	    .fresh_max = (int64_t)s->cfg->cache_max_age_sec};
	struct http_response_frame f = {
	    .http10_client = s->rq->req.http_minor == 0,
	    .keep_alive = c->keep,
	    .framing = HTTP_FRAMING_LENGTH};
	char head[HTTP_RESPONSE_HEAD_MAX];
	int n;

	if (e->body_len < sizeof(s->rq->rfacts))
		return false;
	der = e->body + sizeof(s->rq->rfacts);
	len = e->body_len - sizeof(s->rq->rfacts);
	j.not_modified = http_filter_not_modified(&s->rq->req, e->this_update);
	if (j.not_modified)
		f.framing = HTTP_FRAMING_NONE;
	f.length = len;
	if ((n = http_response_build_judged(&j, &f, head, sizeof(head))) < 0)
		return false;
	if (s->hold == NULL && (s->hold = evbuffer_new()) == NULL)
		return false;
	if (evbuffer_add(s->hold, head, (size_t)n) == -1 ||
	    (!j.not_modified && evbuffer_add(s->hold, der, len) == -1)) {
		evbuffer_drain(s->hold, evbuffer_get_length(s->hold));
		return false;
	}
	memcpy(&s->rq->rfacts, e->body, sizeof(s->rq->rfacts));
	c->not_modified = j.not_modified;
	c->head_len = (size_t)n;
	c->body_len = j.not_modified ? 0 : len;
	return true;
}

bool
answer_from_cache(struct session *s)
{
	const struct responder *r = s->rq->verdict.responder;
	struct answer_cache_copy c = {.s = s};

	s->cache_result = answer_cache_class(s);
	if (s->cache_result != SESSION_CACHE_MISS)
		return false;
	c.now = time(NULL);
	c.keep = s->rq->req.keep_alive && !s->srv->draining;
	if (!shared_cache_get(s->srv->cache, s->cfg, r->spec, strlen(r->spec),
	        s->body, s->rq->facts.der_len, c.now, answer_cache_copy, &c))
		return false;
	conn_send(s->client, s->hold);
	s->cache_result = SESSION_CACHE_HIT;
	s->status = c.not_modified ? 304 : 200;
	s->response_started = true;
	s->response_body_bytes = c.body_len;
	s->response_body_final = true;
	s->response_bytes = c.head_len + c.body_len;
	session_answer_done(s, c.keep);
	return true;
}

/* The media type of a trust list as it was judged. */
static const char *
answer_ctl_type(enum fetch_ctl_format f)
{
	switch (f) {
	case FETCH_CTL_CAB:
		return "application/vnd.ms-cab-compressed";
	case FETCH_CTL_PKCS7:
		return "application/vnd.ms-pki.stl";
	case FETCH_CTL_STORE:
		return "application/vnd.ms-pki.certstore";
	case FETCH_CTL_TEXT:
		break;
	}
	return "text/plain";
}

/*
 * The head of an answer that passed its inspection, from what the
 * inspection found and ocspgate's clock alone (nothing of the
 * upstream's head): the content's media type, its own dates as
 * Last-Modified and Expires, and 304 when the request's validators hold
 * against them (http_filter_not_modified()).
 */
static void
answer_judged(struct session *s, struct http_response_judged *j)
{
	const struct session_request *rq = s->rq;

	memset(j, 0, sizeof(*j));
	j->date = time(NULL);
	/* Downstream caches keep it no longer than ocspgate's cache would. */
	j->fresh_max = (int64_t)s->cfg->cache_max_age_sec;
	switch (answer_class(s)) {
	case REASON_CRL_REQUEST:
		j->content_type = "application/pkix-crl";
		j->last_modified = answer_parse_time(rq->crl.this_update);
		j->expires = answer_parse_time(rq->crl.next_update);
		break;
	case REASON_CA_ISSUER_REQUEST:
		j->content_type = rq->cert.pkcs7 ? "application/pkcs7-mime"
		                                 : "application/pkix-cert";
		break;
	case REASON_CTL_REQUEST:
		j->content_type = rq->verdict.ctl_root
		    ? "application/pkix-cert"
		    : answer_ctl_type(rq->ctl.format);
		j->last_modified =
		    rq->verdict.ctl_root ? 0 : rq->ctl.this_update;
		break;
	default:
		j->content_type = ANSWER_OCSP_TYPE;
		if (rq->rfacts.status != OCSP_RESPONSE_STATUS_SUCCESSFUL)
			break;
		j->last_modified = answer_ocsp_last_modified(&rq->rfacts);
		j->expires = rq->rfacts.min_next_update;
		break;
	}
	j->not_modified = http_filter_not_modified(&rq->req, j->last_modified);
}

/*
 * Writes into <out>, with framing <f>, the head ocspgate writes for a
 * judged answer from <j>, or (<j> NULL) the one it builds from the
 * upstream's; counts it in response_bytes and sets the status. Returns
 * 0, or -1 (out of memory; the caller fails the exchange).
 */
static int
answer_put_head(struct session *s, struct evbuffer *out,
    const struct http_response_frame *f, const struct http_response_judged *j)
{
	struct evbuffer_iovec v;
	size_t cap;
	int n;

	if (evbuffer_reserve_space(out, HTTP_RESPONSE_HEAD_MAX, &v, 1) < 1)
		return -1;
	cap = v.iov_len < HTTP_RESPONSE_HEAD_MAX ? v.iov_len
	                                         : HTTP_RESPONSE_HEAD_MAX;
	n = j != NULL ? http_response_build_judged(j, f, v.iov_base, cap)
	              : http_response_build_client(&s->rq->up.resp, f,
	                    &s->rq->dropped, v.iov_base, cap);
	if (n < 0)
		return -1;
	v.iov_len = (size_t)n;
	if (evbuffer_commit_space(out, &v, 1) == -1)
		return -1;
	s->response_bytes += (uint64_t)n;
	s->status = j != NULL ? (j->not_modified ? 304 : 200)
	                      : http_response_client_status(&s->rq->up.resp);
	return 0;
}

/*
 * The relay sink: payload runs (chunk framing of the upstream's removed)
 * go to the client, in chunks of ocspgate's own when it frames the body
 * so. Returns 0, or -1 out of memory.
 */
static int
answer_relay_put(void *ctx, const unsigned char *p, size_t len)
{
	struct session *s = ctx;
	struct evbuffer *out = s->client->out;
	char line[24];
	int n = 0;

	if (len == 0)
		return 0;
	if (s->rq->framing == HTTP_FRAMING_CHUNKED &&
	    ((n = http_response_chunk_line(len, line, sizeof(line))) < 0 ||
	        evbuffer_add(out, line, (size_t)n) == -1))
		return -1;
	if (evbuffer_add(out, p, len) == -1)
		return -1;
	if (s->rq->framing == HTTP_FRAMING_CHUNKED &&
	    evbuffer_add(out, HTTP_RESPONSE_CHUNK_END,
	        sizeof(HTTP_RESPONSE_CHUNK_END) - 1) == -1)
		return -1;
	s->response_bytes += (uint64_t)n + len +
	    (s->rq->framing == HTTP_FRAMING_CHUNKED
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
answer_relay_begin(
    struct session *s, const unsigned char *held, size_t held_len)
{
	struct http_response *resp = &s->rq->up.resp;
	struct http_response_frame f;

	memset(&f, 0, sizeof(f));
	f.http10_client = s->rq->req.http_minor == 0;
	f.framing =
	    http_response_relay_framing(resp, f.http10_client, &f.length);
	f.keep_alive = s->rq->req.keep_alive && !s->srv->draining &&
	    f.framing != HTTP_FRAMING_CLOSE &&
	    !http_response_close_delimited(resp);
	s->client_keep = f.keep_alive;
	s->rq->framing = f.framing;
	s->inspect = false;
	if (answer_put_head(s, s->client->out, &f, NULL) == -1)
		return -1;
	s->response_started = true;
	s->rq->relay_copy =
	    resp->chunked || held_len > 0 || f.framing == HTTP_FRAMING_CHUNKED;
	upstream_set_sink(&s->rq->up,
	    &(struct http_response_sink){
	        .put = s->rq->relay_copy ? answer_relay_put : NULL, .ctx = s},
	    s->rq->relay_copy ? NULL : s->client->out);
	if (held_len > 0 && answer_relay_put(s, held, held_len) == -1)
		return -1;
	s->rq->capture_len = 0;
	return 0;
}

/* answer_relay_begin(), failing the exchange when it fails. */
static int
answer_start_relay(
    struct session *s, const unsigned char *held, size_t held_len)
{
	if (answer_relay_begin(s, held, held_len) == 0)
		return 0;
	session_fail(s, REASON_RESPONSE_MALFORMED, "cannot relay the answer");
	return -1;
}

/*
 * Releases a held answer: the head ocspgate writes for it (from the
 * content when it passed inspection, <judged>; else, in monitor mode,
 * rebuilt from the upstream's) with the payload's length, then the
 * payload. Returns -1 after failing the exchange.
 */
static int
answer_release_held(struct session *s, bool judged)
{
	struct http_response_frame f;
	struct http_response_judged j;

	memset(&f, 0, sizeof(f));
	f.http10_client = s->rq->req.http_minor == 0;
	f.framing = HTTP_FRAMING_LENGTH;
	f.length = s->rq->capture_len;
	/* ocspgate frames the body: the upstream's framing does not matter. */
	f.keep_alive = s->rq->req.keep_alive && !s->srv->draining;
	s->client_keep = f.keep_alive;
	s->inspect = false;
	if (judged) {
		answer_judged(s, &j);
		if (j.not_modified)
			f.framing = HTTP_FRAMING_NONE;
		http_response_weigh(&s->rq->up.resp, &s->rq->dropped);
	}
	evbuffer_drain(s->hold, evbuffer_get_length(s->hold));
	if (answer_put_head(s, s->hold, &f, judged ? &j : NULL) == -1 ||
	    (f.framing == HTTP_FRAMING_LENGTH && s->rq->capture_len > 0 &&
	        evbuffer_add(s->hold, s->rq->capture, s->rq->capture_len) ==
	            -1)) {
		evbuffer_drain(s->hold, evbuffer_get_length(s->hold));
		session_fail(s, REASON_RESPONSE_MALFORMED, "out of memory");
		return -1;
	}
	s->response_body_bytes =
	    f.framing == HTTP_FRAMING_LENGTH ? s->rq->capture_len : 0;
	s->response_body_final = true;
	s->response_bytes += s->response_body_bytes;
	conn_send(s->client, s->hold);
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
answer_inspection_failed(
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
		return answer_release_held(s, false);
	return answer_start_relay(s, s->rq->capture, s->rq->capture_len);
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
answer_capture_put(void *ctx, const unsigned char *p, size_t len)
{
	struct session *s = ctx;
	size_t need = s->rq->capture_len + len, cap = s->rq->capture_cap;
	unsigned char *grown;

	if (len > s->rq->inspect_limit || need > s->rq->inspect_limit) {
		if (s->cfg->mode == MODE_ENFORCE || !s->inspect)
			return -1;
		s->failure = REASON_RESPONSE_MALFORMED;
		s->failure_detail = s->rq->verdict.reason == REASON_OCSP_REQUEST
		    ? "body over max_response_body"
		    : "body over max_crl_bytes";
		/* Inside the parser: a failure is acted on once it returns. */
		if (answer_relay_begin(s, s->rq->capture, s->rq->capture_len) ==
		    -1)
			return -1;
		return answer_relay_put(s, p, len);
	}
	if (need > cap) {
		if (cap < ANSWER_CAPTURE_START)
			cap = ANSWER_CAPTURE_START;
		while (cap < need)
			cap = cap > s->rq->inspect_limit / 2
			    ? s->rq->inspect_limit
			    : cap * 2;
		if ((grown = pool_get(&s->srv->pool, cap)) == NULL)
			return -1;
		if (s->rq->capture_len > 0)
			memcpy(grown, s->rq->capture, s->rq->capture_len);
		pool_put(&s->srv->pool, s->rq->capture, s->rq->capture_cap);
		s->rq->capture = grown;
		s->rq->capture_cap = cap;
	}
	memcpy(s->rq->capture + s->rq->capture_len, p, len);
	s->rq->capture_len = need;
	return 0;
}

/*
 * The head of an answer to an allowed request: 200, within its class's
 * size, and for OCSP the OCSP type. Returns -1 after failing the
 * exchange.
 */
static int
answer_check_allowed_head(struct session *s)
{
	static const char want[] = ANSWER_OCSP_TYPE;
	const struct http_response *resp = &s->rq->up.resp;
	const struct http_span *ct =
	    http_headers_get(&resp->hs, "content-type");
	bool ocsp = answer_class(s) == REASON_OCSP_REQUEST;
	const char *why = NULL;

	if (resp->status != 200)
		why = "status is not 200";
	else if (resp->has_length &&
	    resp->content_length > s->rq->inspect_limit)
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
	return answer_inspection_failed(
	    s, REASON_RESPONSE_MALFORMED, why, false);
}

/*
 * ocsp_response_inspect() of <body> against the request, or its result
 * for the same request and answer bytes from the worker's memo: a
 * responder answers the same question with the same bytes until its next
 * update, and most clients ask the same few questions.
 */
static enum reason
answer_inspect_ocsp(struct session *s, const unsigned char *body, size_t len)
{
	struct memo *memo = s->srv->memo_response;
	struct answer_memo_value v;
	const void *hit;

	if (memo == NULL || s->rq->facts.der_len == 0)
		return ocsp_response_inspect_memo(body, len, &s->rq->facts,
		    s->srv->memo_certs, &s->rq->rfacts);
	if ((hit = memo_get(memo, s->body, s->rq->facts.der_len, body, len)) !=
	    NULL) {
		memcpy(&v, hit, sizeof(v));
		s->rq->rfacts = v.facts;
		return v.why;
	}
	v.why = ocsp_response_inspect_memo(
	    body, len, &s->rq->facts, s->srv->memo_certs, &s->rq->rfacts);
	v.facts = s->rq->rfacts;
	memo_put(memo, s->body, s->rq->facts.der_len, body, len, &v);
	return v.why;
}

/*
 * A candidate's answer passed inspection: what its signature says of
 * the host (see candidate.h). A trust list's is not checked.
 */
static void
answer_candidate_evidence(
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
 * For unverified_answers = "block": why an allowed answer that passed
 * inspection was not verified against the configured trust, or NULL
 * when it was (or carries nothing signed: a non-successful OCSP status,
 * a trust list's sequence text). A candidate's answer is not judged so.
 */
static const char *
answer_unverified(const struct session *s)
{
	const struct session_request *rq = s->rq;
	const struct responder *r = rq->verdict.responder;

	if (!reason_is_allow(rq->verdict.reason))
		return NULL;
	switch (rq->verdict.reason) {
	case REASON_CRL_REQUEST:
		return rq->crl.verified ? NULL : "no known CA issued it";
	case REASON_CA_ISSUER_REQUEST:
		return rq->cert.verified ? NULL : "no known CA issued it";
	case REASON_CTL_REQUEST:
		if (rq->verdict.ctl_root)
			return rq->cert.verified ? NULL
			                         : "no known CA issued it";
		if (rq->ctl.format == FETCH_CTL_TEXT || rq->ctl.verified)
			return NULL;
		return "no known CA issued it";
	default:
		if (rq->rfacts.status != OCSP_RESPONSE_STATUS_SUCCESSFUL ||
		    rq->rfacts.verified)
			return NULL;
		if (!s->cfg->verify_responses)
			return "verify_responses is off";
		if (r == NULL || r->store == NULL)
			return "responder has no issuers";
		return "signature not verified";
	}
}

/*
 * The whole answer to an allowed request is held: inspect it (and verify
 * its signature when configured) before a byte reaches the client, then
 * release it under a head of ocspgate's own. Returns -1 after failing
 * the exchange.
 */
static int
answer_inspect(struct session *s)
{
	const struct responder *r = s->rq->verdict.responder;
	const unsigned char *body = s->rq->capture;
	size_t len = s->rq->capture_len;
	const char *detail = NULL;
	char file[64];
	enum reason why;

	switch (answer_class(s)) {
	case REASON_CRL_REQUEST:
		why = fetch_inspect_crl(
		    body, len, s->cfg->known_cas, &s->rq->crl, &detail);
		s->rq->crl_valid = why == REASON_NONE;
		break;
	case REASON_CA_ISSUER_REQUEST:
		why = fetch_inspect_cert(
		    body, len, s->cfg->known_cas, &s->rq->cert, &detail);
		s->rq->cert_valid = why == REASON_NONE;
		break;
	case REASON_CTL_REQUEST:
		if (s->rq->verdict.ctl_root) {
			/*
			 * A root by thumbprint: that certificate, no other.
			 * The thumbprint the request named fixes it, so it
			 * counts as verified (a known CA of its name with
			 * another key, a renewed root, is no reason to
			 * refuse it).
			 */
			why = fetch_inspect_cert(
			    body, len, NULL, &s->rq->cert, &detail);
			if (why == REASON_NONE &&
			    !fetch_thumbprint_matches(
			        body, len, s->rq->verdict.thumbprint)) {
				why = REASON_RESPONSE_MALFORMED;
				detail = "certificate's SHA-1 is not the "
				         "thumbprint asked for";
			}
			s->rq->cert_valid = why == REASON_NONE;
			s->rq->cert.verified = s->rq->cert_valid;
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
		    s->rq->inspect_limit * ANSWER_CAB_RATIO, &s->rq->ctl,
		    &detail);
		s->rq->ctl_valid = why == REASON_NONE;
		break;
	default:
		why = answer_inspect_ocsp(s, body, len);
		detail = s->rq->rfacts.detail;
		if (why == REASON_NONE && s->cfg->verify_responses &&
		    r != NULL && r->store != NULL &&
		    s->rq->rfacts.status == OCSP_RESPONSE_STATUS_SUCCESSFUL) {
			why = ocsp_response_verify(
			    body, len, r->store, r->trusted, &detail);
			s->rq->rfacts.verified = why == REASON_NONE;
		}
		break;
	}
	if (why == REASON_NONE && s->cfg->block_unverified &&
	    (detail = answer_unverified(s)) != NULL)
		why = REASON_RESPONSE_UNVERIFIED;
	if (why != REASON_NONE)
		return answer_inspection_failed(s, why, detail, true);
	if (s->rq->verdict.candidate != CANDIDATE_NONE &&
	    !reason_is_allow(s->rq->verdict.reason))
		answer_candidate_evidence(s, body, len);
	if (s->cache_result == SESSION_CACHE_MISS)
		answer_cache_store(s, body, len);
	return answer_release_held(s, true);
}

/*
 * The upstream's answer head is read: judge it against the request. A
 * held answer's head is written once the answer has been judged; a
 * relayed one's at once. Returns -1 after failing the exchange.
 */
static int
answer_on_head(void *ctx)
{
	struct session *s = ctx;
	const char *why;

	s->status = http_response_client_status(&s->rq->up.resp);
	if ((why = http_response_check(&s->rq->up.resp)) != NULL) {
		if (s->inspect) {
			if (answer_inspection_failed(
			        s, REASON_RESPONSE_MALFORMED, why, false) == -1)
				return -1;
		} else {
			/* A block monitor mode forwarded keeps its reason. */
			s->failure = REASON_RESPONSE_MALFORMED;
			s->failure_detail = why;
		}
	}
	if (s->inspect && answer_check_allowed_head(s) == -1)
		return -1;
	/* An inspected answer waits in the capture until it is judged. */
	if (s->inspect || s->response_started)
		return 0;
	return answer_start_relay(s, NULL, 0);
}

/*
 * A run of the body went on: a held answer's payload into the capture
 * (its raw bytes dropped), a relayed one's to the client, <moved> of
 * them as they came. Checks the limits, and stops reading the upstream
 * while the client is far behind. Returns -1 after failing the exchange.
 */
static int
answer_on_body(void *ctx, size_t moved)
{
	struct session *s = ctx;
	struct upstream *u = &s->rq->up;

	if (u->resp.capture_overflow && !s->inspect) {
		/* The relay sink ran out of memory. */
		session_fail(
		    s, REASON_RESPONSE_MALFORMED, "cannot relay the answer");
		return -1;
	}
	s->response_bytes += moved;
	/*
	 * Over the limit, or many more raw bytes than payload (tiny chunks,
	 * long chunk extensions): judged malformed.
	 */
	if (s->inspect &&
	    (u->resp.capture_overflow ||
	        u->raw_bytes > s->rq->inspect_limit * 2 + 65536)) {
		if (answer_inspection_failed(s, REASON_RESPONSE_MALFORMED,
		        answer_class(s) == REASON_OCSP_REQUEST
		            ? "body over max_response_body"
		            : "body over max_crl_bytes",
		        false) == -1)
			return -1;
	}
	if (!s->inspect &&
	    evbuffer_get_length(s->client->out) > ANSWER_OUTPUT_HIGH)
		upstream_pause(u, true);
	return 0;
}

/*
 * The upstream's answer is complete: judge it if held, end the body.
 * The request ends once the client has it. Returns -1 after failing the
 * exchange.
 */
static int
answer_on_done(void *ctx)
{
	struct session *s = ctx;

	if (s->inspect) {
		if (answer_inspect(s) == -1)
			return -1;
	} else {
		if (s->rq->framing == HTTP_FRAMING_CHUNKED &&
		    evbuffer_add(s->client->out, HTTP_RESPONSE_LAST_CHUNK,
		        sizeof(HTTP_RESPONSE_LAST_CHUNK) - 1) == -1) {
			session_fail(s, REASON_RESPONSE_MALFORMED,
			    "cannot relay the answer");
			return -1;
		}
		if (s->rq->framing == HTTP_FRAMING_CHUNKED)
			s->response_bytes +=
			    sizeof(HTTP_RESPONSE_LAST_CHUNK) - 1;
		s->response_body_bytes = s->rq->up.resp.body_bytes;
		s->response_body_final = true;
	}
	/* Finishes from the write callback, after the upstream is parked. */
	session_answer_done(s, s->client_keep);
	return 0;
}

static void
answer_on_failed(void *ctx, enum reason why, const char *detail)
{
	session_fail(ctx, why, detail);
}

static const struct upstream_ops answer_ops = {
    .resolved = answer_on_resolved,
    .head = answer_on_head,
    .body = answer_on_body,
    .done = answer_on_done,
    .failed = answer_on_failed,
};

void
answer_forward(struct session *s)
{
	struct http_response_sink sink = {.put = NULL, .ctx = s};

	if (answer_prepare(s) == -1) {
		session_fail(s, REASON_RESPONSE_MALFORMED, "out of memory");
		return;
	}
	if (s->inspect)
		sink.put = answer_capture_put;
	upstream_set_sink(&s->rq->up, &sink, NULL);
	upstream_start(&s->rq->up, s->srv, s->cfg, &s->rq->req, &answer_ops, s);
}
