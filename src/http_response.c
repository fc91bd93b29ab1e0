/*
 * Upstream responses: llhttp in strict mode splits the head, which is
 * rewritten for the client, from the body, which is relayed as it came.
 * Pure: no I/O, no libevent, no globals.
 */
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "ocspgate/http_response.h"

static struct http_response *
http_response_of(llhttp_t *p)
{
	return p->data;
}

static int
http_response_fail(struct http_response *r, const char *detail)
{
	if (r->detail == NULL)
		r->detail = detail;
	return -1;
}

static int
http_response_on_status(llhttp_t *p, const char *at, size_t len)
{
	struct http_response *r = http_response_of(p);

	if (r->reason_phrase.p == NULL)
		r->reason_phrase.p = at;
	else if (at != r->reason_phrase.p + r->reason_phrase.len)
		return http_response_fail(r, "split status line");
	r->reason_phrase.len += len;
	return 0;
}

static int
http_response_on_header_field(llhttp_t *p, const char *at, size_t len)
{
	struct http_response *r = http_response_of(p);
	const char *detail;

	/* Trailers are relayed with the body's framing, not stored. */
	if (r->state != HTTP_RESPONSE_HEAD)
		return 0;

	if (http_headers_add_name(&r->hs, at, len, &detail) == -1)
		return http_response_fail(r, detail);
	return 0;
}

static int
http_response_on_header_value(llhttp_t *p, const char *at, size_t len)
{
	struct http_response *r = http_response_of(p);
	const char *detail;

	if (r->state != HTTP_RESPONSE_HEAD)
		return 0;

	if (http_headers_add_value(&r->hs, at, len, &detail) == -1)
		return http_response_fail(r, detail);
	return 0;
}

static int
http_response_on_header_value_complete(llhttp_t *p)
{
	struct http_response *r = http_response_of(p);
	const char *detail;

	if (r->state != HTTP_RESPONSE_HEAD)
		return 0;
	if (http_headers_value_done(&r->hs, &detail) == NULL)
		return http_response_fail(r, detail);
	return 0;
}

static int
http_response_on_headers_complete(llhttp_t *p)
{
	struct http_response *r = http_response_of(p);
	int status = llhttp_get_status_code(p);

	if (llhttp_get_http_major(p) != 1)
		return http_response_fail(r, "unsupported HTTP version");
	if (status == 101)
		return http_response_fail(r, "unrequested protocol switch");
	if (status < 100 || status > 599)
		return http_response_fail(r, "bad status code");
	if (status < 200) {
		/* An interim answer ends at its empty line: skip it. */
		r->skip_interim = true;
		memset(&r->hs, 0, sizeof(r->hs));
		memset(&r->reason_phrase, 0, sizeof(r->reason_phrase));
		return 1;
	}
	r->status = status;
	r->chunked = (p->flags & F_CHUNKED) != 0;
	http_headers_mark_hop_by_hop(&r->hs);
	/* RFC 9112 6.3: these never have a body, whatever the headers say. */
	if (r->head_request || status == 204 || status == 304)
		return 1;
	r->state = HTTP_RESPONSE_BODY;
	return HPE_PAUSED;
}

static int
http_response_on_body(llhttp_t *p, const char *at, size_t len)
{
	struct http_response *r = http_response_of(p);

	r->body_bytes += len;
	/* Once refused, the payload is incomplete: nothing more is kept. */
	if (r->sink.put != NULL && !r->capture_overflow &&
	    r->sink.put(r->sink.ctx, (const unsigned char *)at, len) == -1)
		r->capture_overflow = true;
	return 0;
}

static int
http_response_on_message_complete(llhttp_t *p)
{
	struct http_response *r = http_response_of(p);

	if (r->skip_interim) {
		r->skip_interim = false;
		return 0;
	}
	r->state = HTTP_RESPONSE_DONE;
	r->keep_alive = llhttp_should_keep_alive(p) != 0;
	return HPE_PAUSED;
}

void
http_response_init(struct http_response *r, bool head_request)
{
	memset(r, 0, sizeof(*r));
	llhttp_settings_init(&r->settings);
	r->settings.on_status = http_response_on_status;
	r->settings.on_header_field = http_response_on_header_field;
	r->settings.on_header_value = http_response_on_header_value;
	r->settings.on_header_value_complete =
	    http_response_on_header_value_complete;
	r->settings.on_headers_complete = http_response_on_headers_complete;
	r->settings.on_body = http_response_on_body;
	r->settings.on_message_complete = http_response_on_message_complete;
	llhttp_init(&r->parser, HTTP_RESPONSE, &r->settings);
	r->parser.data = r;
	r->head_request = head_request;
}

enum http_parse
http_response_parse(
    struct http_response *r, const char *data, size_t len, size_t *consumed)
{
	enum http_response_state before = r->state;
	llhttp_errno_t err;

	*consumed = 0;
	if (r->detail != NULL)
		return HTTP_PARSE_ERROR;
	if (r->state == HTTP_RESPONSE_DONE)
		return HTTP_PARSE_DONE;
	if (llhttp_get_errno(&r->parser) == HPE_PAUSED)
		llhttp_resume(&r->parser);
	err = llhttp_execute(&r->parser, data, len);
	if (err == HPE_OK) {
		*consumed = len;
		return HTTP_PARSE_MORE;
	}
	if (err == HPE_PAUSED) {
		*consumed = (size_t)(llhttp_get_error_pos(&r->parser) - data);
		return r->state != before ? HTTP_PARSE_DONE : HTTP_PARSE_MORE;
	}
	http_response_fail(r, llhttp_get_error_reason(&r->parser));
	*consumed = len;
	return HTTP_PARSE_ERROR;
}

enum http_parse
http_response_eof(struct http_response *r)
{
	if (r->state == HTTP_RESPONSE_DONE)
		return HTTP_PARSE_DONE;
	if (r->detail != NULL || r->state != HTTP_RESPONSE_BODY)
		return HTTP_PARSE_ERROR;
	if (llhttp_get_errno(&r->parser) == HPE_PAUSED)
		llhttp_resume(&r->parser);
	if (!llhttp_message_needs_eof(&r->parser) ||
	    llhttp_finish(&r->parser) != HPE_PAUSED ||
	    r->state != HTTP_RESPONSE_DONE) {
		http_response_fail(r, "upstream closed mid-response");
		return HTTP_PARSE_ERROR;
	}
	return HTTP_PARSE_DONE;
}

bool
http_response_close_delimited(const struct http_response *r)
{
	return r->state == HTTP_RESPONSE_BODY &&
	    llhttp_message_needs_eof(&r->parser);
}

int
http_response_build_client(const struct http_response *r, bool http10_client,
    bool keep_alive, char *out, size_t cap)
{
	size_t off = 0;
	int rc = 0;

	rc |= http_put_str(
	    out, cap, &off, http10_client ? "HTTP/1.0 " : "HTTP/1.1 ");
	rc |= http_put_uint(out, cap, &off, (uint64_t)r->status);
	rc |= http_put_str(out, cap, &off, " ");
	if (r->reason_phrase.p != NULL)
		rc |= http_put(
		    out, cap, &off, r->reason_phrase.p, r->reason_phrase.len);
	rc |= http_put_str(out, cap, &off, "\r\n");
	for (size_t i = 0; i < r->hs.n; i++) {
		const struct http_header *h = &r->hs.h[i];

		/* The body is relayed with its framing, so its coding stays. */
		if (h->hop_by_hop &&
		    !(r->chunked &&
		        http_span_eq(&h->name, "transfer-encoding")))
			continue;
		rc |= http_put(out, cap, &off, h->name.p, h->name.len);
		rc |= http_put_str(out, cap, &off, ": ");
		rc |= http_put(out, cap, &off, h->value.p, h->value.len);
		rc |= http_put_str(out, cap, &off, "\r\n");
	}
	rc |= http_put_str(out, cap, &off,
	    keep_alive ? "Connection: keep-alive\r\n\r\n"
	               : "Connection: close\r\n\r\n");
	if (rc != 0 || off > (size_t)INT_MAX)
		return -1;
	return (int)off;
}
