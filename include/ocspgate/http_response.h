/*
 * Upstream responses: llhttp splits head from body so that the head can
 * be rewritten for the client while body bytes are moved, not copied.
 * Pure: no I/O, no libevent, no globals.
 */
#ifndef OCSPGATE_HTTP_RESPONSE_H
#define OCSPGATE_HTTP_RESPONSE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <llhttp.h>

#include "ocspgate/http_request.h"

enum http_response_state {
	HTTP_RESPONSE_HEAD = 0, /* reading the status line and headers */
	HTTP_RESPONSE_BODY,     /* head done, relaying the body */
	HTTP_RESPONSE_DONE      /* message complete */
};

/*
 * Where the payload of an answer that is inspected goes: put() is given
 * each run of payload bytes (chunk framing removed) and returns 0, or -1
 * when its owner takes no more (over its limit, out of memory). The
 * buffer behind it belongs to the caller; the parser never allocates.
 */
struct http_response_sink {
	int (*put)(void *ctx, const unsigned char *p, size_t len);
	void *ctx;
};

struct http_response {
	llhttp_t parser;
	llhttp_settings_t settings;
	enum http_response_state state;
	bool head_request; /* the request was HEAD: no body follows */
	bool skip_interim; /* a 1xx is being skipped */
	int status;
	struct http_span reason_phrase;
	struct http_headers hs;
	bool chunked;
	bool keep_alive;
	uint64_t body_bytes; /* payload bytes, without chunk framing */
	struct http_response_sink sink; /* put == NULL: payload not kept */
	bool capture_overflow;          /* the sink refused payload bytes */
	const char *detail;             /* why parsing failed */
};

/* Prepares <r> for the response to a request; <head_request> for HEAD. */
void http_response_init(struct http_response *r, bool head_request);

/*
 * Feeds <len> bytes. In the HEAD state the bytes must follow the previous
 * call's in one stable buffer (spans point into it); parsing pauses right
 * after the head. In the BODY state any buffer will do. *consumed is the
 * count of bytes that belong to this response (in HEAD state: to the
 * head, including a skipped 1xx).
 * Returns HTTP_PARSE_ERROR (r->detail says why), HTTP_PARSE_MORE, or
 * HTTP_PARSE_DONE when the current state ended (head complete, or the
 * whole message complete).
 */
enum http_parse http_response_parse(
    struct http_response *r, const char *data, size_t len, size_t *consumed);

/*
 * Tells the parser the upstream closed. Returns HTTP_PARSE_DONE when that
 * ends a close-delimited body, else HTTP_PARSE_ERROR (truncated).
 */
enum http_parse http_response_eof(struct http_response *r);

/*
 * Writes the head for the client into <out> (at most <cap> bytes): status
 * line as HTTP/1.1 (or 1.0 for an HTTP/1.0 client), end-to-end headers,
 * Transfer-Encoding kept when the body is relayed chunked, and
 * "Connection: keep-alive" or "close" per <keep_alive>.
 * Returns the length, or -1 if <cap> is too small.
 */
int http_response_build_client(const struct http_response *r,
    bool http10_client, bool keep_alive, char *out, size_t cap);

/* True when the body ends only when the upstream closes. */
bool http_response_close_delimited(const struct http_response *r);

#endif
