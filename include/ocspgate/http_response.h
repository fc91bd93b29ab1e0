/*
 * Upstream responses: llhttp splits head from body; the head the client
 * gets is ocspgate's own, rebuilt from an allowlist of fields of checked
 * shape, with a framing of ocspgate's choosing.
 * Pure: no I/O, no libevent, no clock, no globals.
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
	bool has_length;         /* Content-Length given (and not chunked) */
	uint64_t content_length; /* its value */
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
 * Judges a parsed head (state BODY or DONE): ocspgate sends no
 * validators upstream, so a 304 answers nothing it asked. Returns NULL,
 * or a short static text of the rule broken.
 */
const char *http_response_check(const struct http_response *r);

/* How the body follows the head ocspgate writes. */
enum http_response_framing {
	HTTP_FRAMING_NONE = 0, /* no body: HEAD, 204, 304 */
	HTTP_FRAMING_LENGTH,   /* Content-Length: length */
	HTTP_FRAMING_CHUNKED,  /* ocspgate's own chunks, no extensions */
	HTTP_FRAMING_CLOSE     /* the body ends when the connection closes */
};

struct http_response_frame {
	bool http10_client;
	bool keep_alive; /* ignored (close) with HTTP_FRAMING_CLOSE */
	enum http_response_framing framing;
	uint64_t length; /* for HTTP_FRAMING_LENGTH */
};

/* What the rebuilt head left out of the upstream's. */
struct http_response_dropped {
	unsigned fields; /* fields not passed on, or passed on rewritten */
	uint64_t bytes;  /* their name and value bytes as received */
};

/*
 * The framing for relaying <r>'s body as it comes: none when no body
 * follows, the upstream's Content-Length when it gave one, else
 * ocspgate's own chunks for an HTTP/1.1 client and the connection's
 * close for an HTTP/1.0 one. *length gets the Content-Length.
 */
enum http_response_framing http_response_relay_framing(
    const struct http_response *r, bool http10_client, uint64_t *length);

/*
 * Writes the head for the client into <out> (at most <cap> bytes):
 * "HTTP/1.x CODE PHRASE" with ocspgate's phrase for the code (an unknown
 * code becomes its class's x00), then of the upstream's fields only
 * Content-Type (a known media type, written in lower case without
 * parameters), Cache-Control (known directives, numeric values), Expires,
 * Last-Modified, Date (HTTP-dates, written as IMF-fixdate) and ETag (an
 * entity-tag of at most HTTP_RESPONSE_ETAG_MAX visible ASCII characters),
 * each once; a 304 gets no Content-Type. Then the framing of <f> and
 * "Connection: keep-alive" or "close". What was left out or rewritten
 * is counted in <d> (may be NULL).
 * Returns the length, or -1 if <cap> is too small.
 */
int http_response_build_client(const struct http_response *r,
    const struct http_response_frame *f, struct http_response_dropped *d,
    char *out, size_t cap);

/*
 * What ocspgate writes the head of an answer it judged from: nothing of
 * the upstream's head, only the judged content's own facts and
 * ocspgate's clock.
 */
struct http_response_judged {
	bool not_modified;        /* 304: no Content-Type, no body */
	const char *content_type; /* of the judged content */
	int64_t date;             /* now, by ocspgate's clock */
	int64_t last_modified;    /* the content's own date; 0: none */
	int64_t expires;          /* its next update; 0: none */
	int64_t fresh_max;        /* max-age at most this; 0: no bound */
};

/*
 * Writes the head of a judged answer into <out> (at most <cap> bytes):
 * "HTTP/1.x 200 OK" or "304 Not Modified"; Content-Type (not on a 304);
 * Cache-Control: with <expires>, "max-age=N, public, no-transform,
 * must-revalidate" (RFC 5019 6.2), N the seconds from <date> to it (0
 * once past, or when <date> is not after 1970) and at most <fresh_max>;
 * without it but with <last_modified>, "no-cache" (no heuristic
 * freshness for what names no next update); Date, Last-Modified (never
 * after Date: RFC 9110 8.8.2.1) and Expires, those 1970..9999;
 * Content-Length of <f> (not on a 304); "Connection: keep-alive" or
 * "close". <f>'s framing is LENGTH, or NONE for a 304.
 * Returns the length, or -1 if <cap> is too small.
 */
int http_response_build_judged(const struct http_response_judged *j,
    const struct http_response_frame *f, char *out, size_t cap);

/*
 * Counts in <d> what of <r>'s head does not reach the client as it came
 * by the rules of http_response_build_client(): fields outside its
 * allowlist or out of shape, values it rewrites, a reason phrase not
 * ocspgate's. For a judged answer, whose head carries none of the
 * upstream's, this is what the upstream tried beyond a clean head.
 */
void http_response_weigh(
    const struct http_response *r, struct http_response_dropped *d);

/*
 * The status code the head for the client carries: <r>'s when ocspgate
 * knows it, else its class's x00 (500 when even that is unknown).
 */
int http_response_client_status(const struct http_response *r);

/*
 * Writes the line that opens a chunk of <len> (> 0) bytes, "HEX\r\n",
 * into <out> of <cap> bytes. Returns its length, or -1 if <cap> is too
 * small. The chunk ends with "\r\n"; the body with "0\r\n\r\n".
 */
int http_response_chunk_line(size_t len, char *out, size_t cap);

#define HTTP_RESPONSE_ETAG_MAX   64   /* characters between the quotes */
#define HTTP_RESPONSE_HEAD_MAX   1024 /* a rebuilt head is never longer */
#define HTTP_RESPONSE_CHUNK_END  "\r\n"
#define HTTP_RESPONSE_LAST_CHUNK "0\r\n\r\n"

/* True when the body ends only when the upstream closes. */
bool http_response_close_delimited(const struct http_response *r);

#endif
