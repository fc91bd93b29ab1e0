/*
 * HTTP/1.x request parsing with llhttp in strict mode, plus the checks a
 * security gate adds on top (obs-fold, Host agreement, one Host, request
 * line shape), and building the origin-form request sent upstream.
 * Pure: bytes in, facts out; no I/O, no libevent, no globals.
 */
#ifndef OCSPGATE_HTTP_REQUEST_H
#define OCSPGATE_HTTP_REQUEST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <llhttp.h>

#include "ocspgate/reason.h"

#define HTTP_MAX_HEADERS 64

/* A run of bytes inside the caller's head buffer. */
struct http_span {
	const char *p;
	size_t len;
};

/*
 * The field names ocspgate acts on, told apart once per field
 * (http_field_of()) so that no later check compares names again.
 */
enum http_field {
	HTTP_FIELD_OTHER = 0, /* any name not below */
	HTTP_FIELD_ACCEPT,
	HTTP_FIELD_ACCEPT_ENCODING,
	HTTP_FIELD_ACCEPT_LANGUAGE,
	HTTP_FIELD_CACHE_CONTROL,
	HTTP_FIELD_CONNECTION,
	HTTP_FIELD_CONTENT_LENGTH,
	HTTP_FIELD_CONTENT_TYPE,
	HTTP_FIELD_EXPECT,
	HTTP_FIELD_HOST,
	HTTP_FIELD_IF_MODIFIED_SINCE,
	HTTP_FIELD_IF_NONE_MATCH,
	HTTP_FIELD_KEEP_ALIVE,
	HTTP_FIELD_PRAGMA,
	HTTP_FIELD_PROXY_AUTHENTICATE,
	HTTP_FIELD_PROXY_AUTHORIZATION,
	HTTP_FIELD_PROXY_CONNECTION,
	HTTP_FIELD_TE,
	HTTP_FIELD_TRAILER,
	HTTP_FIELD_TRANSFER_ENCODING,
	HTTP_FIELD_UPGRADE,
	HTTP_FIELD_USER_AGENT,
	HTTP_FIELD_VIA,
	HTTP_FIELD_COUNT
};

/*
 * The enum http_field of the field name of <len> bytes at <name>, case
 * aside (ASCII), or HTTP_FIELD_OTHER.
 */
enum http_field http_field_of(const char *name, size_t len);

struct http_header {
	struct http_span name;
	struct http_span value;
	uint8_t name_id; /* enum http_field of <name>, once the field ends */
	bool hop_by_hop; /* not forwarded upstream */
	/* Set by the request filter (http_filter.c) for requests only. */
	bool forward;         /* goes upstream, as <out> */
	bool dropped;         /* not forwarded: named, counted in the budget */
	uint8_t field;        /* the filter's table row of a forwarded field */
	struct http_span out; /* the value sent upstream */
};

enum http_headers_state {
	HTTP_HEADERS_BETWEEN = 0, /* before a field or after a whole one */
	HTTP_HEADERS_NAME,        /* inside h[n - 1]'s name */
	HTTP_HEADERS_VALUE        /* inside h[n - 1]'s value */
};

/* The header fields of one message, as llhttp reports them. */
struct http_headers {
	struct http_header h[HTTP_MAX_HEADERS];
	size_t n;
	enum http_headers_state state;
};

/*
 * Collect llhttp's header callbacks into <hs>. Each returns 0, or -1 with
 * *detail set (too many fields, obs-fold, a control byte in a value).
 */
int http_headers_add_name(
    struct http_headers *hs, const char *at, size_t len, const char **detail);
int http_headers_add_value(
    struct http_headers *hs, const char *at, size_t len, const char **detail);
/*
 * Ends the current field, trimming its value of OWS and naming it
 * (name_id). Returns the field, or NULL with *detail set when it has no
 * name.
 */
struct http_header *http_headers_value_done(
    struct http_headers *hs, const char **detail);
/* Flags hop-by-hop fields, including those named in Connection. */
void http_headers_mark_hop_by_hop(struct http_headers *hs);
/* First value of field <name> (case-insensitive), or NULL. */
const struct http_span *http_headers_get(
    const struct http_headers *hs, const char *name);

/*
 * What the request filter (http_filter.c) made of a request's header
 * fields: which were dropped, the client's fingerprint, its flags.
 */
#define HTTP_FILTER_NAMES_MAX  16  /* dropped names kept for the event */
#define HTTP_FINGERPRINT_LEN   19  /* "po1106_" and 12 hex digits */
#define HTTP_DATE_LEN          29  /* "Sun, 06 Nov 1994 08:49:37 GMT" */
#define HTTP_CACHE_CONTROL_MAX 112 /* its canonical form, at most */
#define HTTP_MEDIA_TYPE_MAX    64  /* a forwarded Content-Type */

/* Observations on a request's head, bits of http_filter.flags. */
enum http_request_flag {
	HTTP_FLAG_UA_MISMATCH = 0, /* claims CryptoAPI, is not shaped so */
	HTTP_FLAG_EXCESS_HEADERS,  /* dropped fields over the budget */
	HTTP_FLAG_HEADER_BOUNDS,   /* a known field dropped: size or shape */
	HTTP_FLAG_NO_HOST,         /* HTTP/1.0 without Host */
	HTTP_FLAG_HOST_BY_ADDRESS, /* target found by its address */
	HTTP_FLAG_COUNT
};

struct http_filter {
	unsigned flags;       /* 1 << enum http_request_flag */
	size_t ndropped;      /* fields dropped */
	size_t dropped_bytes; /* their names and values */
	size_t nnames;        /* distinct dropped names kept, in order */
	uint8_t names[HTTP_FILTER_NAMES_MAX]; /* indexes into hs.h */
	char fingerprint[HTTP_FINGERPRINT_LEN + 1];
	unsigned ims_lines; /* If-Modified-Since fields, well formed or not */
	int64_t ims;        /* the time of the last well-formed one */
	unsigned inm_lines; /* If-None-Match fields, well formed or not */
	bool inm_any;       /* the last well-formed one is "*" */
	char cc[HTTP_CACHE_CONTROL_MAX + 1]; /* Cache-Control, canonical */
	char ct[HTTP_MEDIA_TYPE_MAX + 1];    /* Content-Type, lowercase */
};

enum http_target_form {
	HTTP_TARGET_NONE = 0,
	HTTP_TARGET_ORIGIN,    /* "/path" */
	HTTP_TARGET_ABSOLUTE,  /* "http://host[:port]/path" */
	HTTP_TARGET_AUTHORITY, /* "host:port", CONNECT */
	HTTP_TARGET_ASTERISK   /* "*", OPTIONS */
};

enum http_parse {
	HTTP_PARSE_ERROR = -1, /* r->reason and r->detail say why */
	HTTP_PARSE_MORE = 0,   /* all bytes consumed, message incomplete */
	HTTP_PARSE_DONE = 1    /* message complete; rest belongs to the next */
};

struct http_request {
	llhttp_t parser;
	llhttp_settings_t settings;

	/* Head facts; spans point into the head bytes given to parse. */
	struct http_span method;
	struct http_span url;
	struct http_span version; /* "1.1" */
	struct http_headers hs;
	int host_hdr; /* index into hs.h, or -1 */
	int ctype_hdr;
	int ua_hdr;
	bool expect_continue;
	bool intercepted; /* origin-form, target from Host + original dst */
	bool line_done;   /* the request line is complete */
	bool headers_done;
	bool complete;
	bool keep_alive;   /* valid once complete */
	int llhttp_method; /* enum llhttp_method */
	uint8_t http_minor;

	/* The request target, split (absolute or authority form). */
	enum http_target_form form;
	struct http_span host; /* without brackets for IPv6 */
	uint16_t port;
	struct http_span path;  /* "/..." without the query */
	struct http_span query; /* after '?', without it */

	/* Body, de-chunked, in the caller's buffer. */
	unsigned char *body;
	size_t body_len;
	size_t body_cap;
	bool body_overflow; /* more than body_cap bytes announced or sent */

	/* The header filter's result, once the head is complete. */
	struct http_filter filter;

	/* Why parsing failed. */
	enum reason reason;
	const char *detail;

	/* Where the head began, to check the request line's shape. */
	const char *head_start;
	const char *data_end; /* end of the bytes being parsed */
};

/*
 * Prepares <r> for a new connection. The body is collected into <body>
 * (at most <body_cap> bytes; more sets body_overflow and fails parsing
 * with REASON_BODY_TOO_LARGE).
 */
void http_request_init(
    struct http_request *r, unsigned char *body, size_t body_cap);

/*
 * Prepares <r> for the next request on the same connection.
 */
void http_request_next(struct http_request *r);

/*
 * Feeds <len> bytes. While the head is incomplete every call must pass
 * the bytes that directly follow the previous call's in one stable
 * buffer, since the head spans point into it. Returns an enum http_parse
 * and stores in *consumed how many bytes belong to this request.
 */
enum http_parse http_request_parse(
    struct http_request *r, const char *data, size_t len, size_t *consumed);

/*
 * For a complete origin-form request on a connection the kernel
 * redirected: takes the target's host from the Host header and its port
 * from the original destination <orig_port>. Returns 0; 1 for an
 * HTTP/1.0 request without Host, whose target the caller must find by
 * the original destination's address (http_request_intercept_by_address);
 * or -1 with r->reason/r->detail set when the request has no usable Host.
 */
int http_request_intercept(struct http_request *r, uint16_t orig_port);

/* Header value by name (case-insensitive), or NULL. */
const struct http_span *http_request_header(
    const struct http_request *r, const char *name);

/*
 * For an origin-form HTTP/1.0 request without Host on a connection the
 * kernel redirected: takes <host> (which must outlive <r>), found by the
 * original destination's address, as the target, at <orig_port>, and
 * flags the request HTTP_FLAG_HOST_BY_ADDRESS.
 */
void http_request_intercept_by_address(
    struct http_request *r, const char *host, uint16_t orig_port);

/*
 * Writes the request head to send upstream into <out> (at most <cap>
 * bytes): origin-form target, HTTP version as the client's, a Host built
 * from the target, then only the fields the request filter forwards
 * (http_filter.c), in the client's order, under their canonical names
 * and with their checked values; Content-Length for the
 * body when there is one, "Via: 1.1 <via>" unless <via> is NULL,
 * and "Connection: close" unless <keep_alive> (HTTP/1.1 requests only:
 * the connection may then serve another request).
 * Returns the length written, or -1 if <cap> is too small.
 */
int http_request_build_upstream(const struct http_request *r, const char *via,
    bool keep_alive, char *out, size_t cap);

/* True when a Via header of <r> contains <token> (any case). */
bool http_request_has_via(const struct http_request *r, const char *token);

/*
 * Append to <out> (capacity <cap>) at *off, advancing it. Return 0, or -1
 * once <cap> would be passed (nothing written then). Inline, so that a
 * literal's length and copy are known where it is written.
 */
static inline int
http_put(char *out, size_t cap, size_t *off, const char *s, size_t len)
{
	if (len > cap - *off)
		return -1;
	if (len == 0)
		return 0; /* an empty span may have no pointer */
	memcpy(out + *off, s, len);
	*off += len;
	return 0;
}

static inline int
http_put_str(char *out, size_t cap, size_t *off, const char *s)
{
	return http_put(out, cap, off, s, strlen(s));
}

int http_put_uint(char *out, size_t cap, size_t *off, uint64_t v);

/* <s> without leading and trailing spaces and tabs. */
struct http_span http_span_trim(struct http_span s);

/*
 * Case-insensitive (ASCII) comparison of the <n> bytes of <s> with those
 * at <str>; <s> must hold <n> bytes.
 */
bool http_span_eq_n(const struct http_span *s, const char *str, size_t n);

/*
 * Case-insensitive comparison of a span with a NUL-terminated string;
 * inline, so that a literal's length is known where it is compared.
 */
static inline bool
http_span_eq(const struct http_span *s, const char *str)
{
	size_t n = strlen(str);

	return s->len == n && http_span_eq_n(s, str, n);
}

#endif
