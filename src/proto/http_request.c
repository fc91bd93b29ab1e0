/*
 * Client requests: llhttp in strict mode (no lenient flags) plus the
 * checks llhttp leaves to its user, and the head sent upstream.
 * Pure: no I/O, no libevent, no globals. Problems found inside llhttp
 * callbacks are recorded in the request and reported once
 * llhttp_execute() returns.
 */
#include <arpa/inet.h>
#include <limits.h>
#include <stddef.h>
#include <string.h>
#include <strings.h>

#include "ocspgate/http_filter.h"
#include "ocspgate/http_request.h"

/*
 * True when the 8 bytes at <p> are those at <lower> but for ASCII case.
 * <lower> holds only lower-case letters and bytes 0x20 to 0x3f (digits,
 * '-'): bit 0x40 marks its letters, and a letter of <p> matches with or
 * without bit 0x20, any other byte only as itself.
 */
static bool
http_lower_eq8(const char *p, const char *lower)
{
	uint64_t a, b;

	memcpy(&a, p, 8);
	memcpy(&b, lower, 8);
	return (a | (b & 0x4040404040404040u) >> 1) == b;
}

/* The same for 4 bytes. */
static bool
http_lower_eq4(const char *p, const char *lower)
{
	uint32_t a, b;

	memcpy(&a, p, 4);
	memcpy(&b, lower, 4);
	return (a | (b & 0x40404040u) >> 1) == b;
}

/*
 * True when the <n> bytes at <p> are <lower> but for ASCII case, <lower>
 * as http_lower_eq8() wants it. Words at a time, the last one overlapping
 * the one before: every name and value compared here is short.
 */
static bool
http_lower_eq(const char *p, const char *lower, size_t n)
{
	if (n >= 8) {
		for (size_t i = 0; i + 8 < n; i += 8) {
			if (!http_lower_eq8(p + i, lower + i))
				return false;
		}
		return http_lower_eq8(p + n - 8, lower + n - 8);
	}
	if (n >= 4)
		return http_lower_eq4(p, lower) &&
		    http_lower_eq4(p + n - 4, lower + n - 4);
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)p[i];

		if (c >= 'A' && c <= 'Z')
			c = (unsigned char)(c - 'A' + 'a');
		if (c != (unsigned char)lower[i])
			return false;
	}
	return true;
}

/* The names of enum http_field, lower case, by length. */
static const struct http_field_name {
	const char *lower;
	enum http_field id;
} http_field_names[] = {
    {"te", HTTP_FIELD_TE},
    {"via", HTTP_FIELD_VIA},
    {"host", HTTP_FIELD_HOST},
    {"accept", HTTP_FIELD_ACCEPT},
    {"expect", HTTP_FIELD_EXPECT},
    {"pragma", HTTP_FIELD_PRAGMA},
    {"trailer", HTTP_FIELD_TRAILER},
    {"upgrade", HTTP_FIELD_UPGRADE},
    {"connection", HTTP_FIELD_CONNECTION},
    {"keep-alive", HTTP_FIELD_KEEP_ALIVE},
    {"user-agent", HTTP_FIELD_USER_AGENT},
    {"content-type", HTTP_FIELD_CONTENT_TYPE},
    {"cache-control", HTTP_FIELD_CACHE_CONTROL},
    {"if-none-match", HTTP_FIELD_IF_NONE_MATCH},
    {"content-length", HTTP_FIELD_CONTENT_LENGTH},
    {"accept-encoding", HTTP_FIELD_ACCEPT_ENCODING},
    {"accept-language", HTTP_FIELD_ACCEPT_LANGUAGE},
    {"proxy-connection", HTTP_FIELD_PROXY_CONNECTION},
    {"if-modified-since", HTTP_FIELD_IF_MODIFIED_SINCE},
    {"transfer-encoding", HTTP_FIELD_TRANSFER_ENCODING},
    {"proxy-authenticate", HTTP_FIELD_PROXY_AUTHENTICATE},
    {"proxy-authorization", HTTP_FIELD_PROXY_AUTHORIZATION},
};

/*
 * For each length, the first of http_field_names[] at least that long:
 * the names of length n are those from [n] up to [n + 1].
 */
#define HTTP_FIELD_NAME_MAX 19
static const uint8_t http_field_by_len[HTTP_FIELD_NAME_MAX + 2] = {
    0, 0, 0, 1, 2, 3, 3, 6, 8, 8, 8, 11, 11, 12, 14, 15, 17, 18, 20, 21, 22};

enum http_field
http_field_of(const char *name, size_t len)
{
	if (len > HTTP_FIELD_NAME_MAX)
		return HTTP_FIELD_OTHER;
	for (size_t k = http_field_by_len[len]; k < http_field_by_len[len + 1];
	     k++) {
		if (http_lower_eq(name, http_field_names[k].lower, len))
			return http_field_names[k].id;
	}
	return HTTP_FIELD_OTHER;
}

#define HTTP_FIELD_BIT(id) (1u << (id))

/* Headers never forwarded, besides those named in Connection. */
#define HTTP_HOP_BY_HOP                                                        \
	(HTTP_FIELD_BIT(HTTP_FIELD_CONNECTION) |                               \
	    HTTP_FIELD_BIT(HTTP_FIELD_KEEP_ALIVE) |                            \
	    HTTP_FIELD_BIT(HTTP_FIELD_PROXY_CONNECTION) |                      \
	    HTTP_FIELD_BIT(HTTP_FIELD_PROXY_AUTHORIZATION) |                   \
	    HTTP_FIELD_BIT(HTTP_FIELD_PROXY_AUTHENTICATE) |                    \
	    HTTP_FIELD_BIT(HTTP_FIELD_TE) |                                    \
	    HTTP_FIELD_BIT(HTTP_FIELD_TRAILER) |                               \
	    HTTP_FIELD_BIT(HTTP_FIELD_TRANSFER_ENCODING) |                     \
	    HTTP_FIELD_BIT(HTTP_FIELD_UPGRADE))

/* Request fields ocspgate rebuilds rather than copies. */
#define HTTP_REBUILT                                                           \
	(HTTP_FIELD_BIT(HTTP_FIELD_HOST) |                                     \
	    HTTP_FIELD_BIT(HTTP_FIELD_CONTENT_LENGTH) |                        \
	    HTTP_FIELD_BIT(HTTP_FIELD_EXPECT))

static int
http_request_fail(struct http_request *r, enum reason why, const char *detail)
{
	if (r->reason == REASON_NONE) {
		r->reason = why;
		r->detail = detail;
	}
	return -1;
}

/* <c> in lower case, ASCII only. */
static unsigned char
http_ascii_lower(unsigned char c)
{
	return c >= 'A' && c <= 'Z' ? (unsigned char)(c - 'A' + 'a') : c;
}

bool
http_span_eq_n(const struct http_span *s, const char *str, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		unsigned char a = (unsigned char)s->p[i],
		              b = (unsigned char)str[i];

		if (a != b && http_ascii_lower(a) != http_ascii_lower(b))
			return false;
	}
	return true;
}

/* Bit 0x80 of each byte of <v> that is zero, and maybe above one. */
static uint64_t
http_zero_bytes(uint64_t v)
{
	return (v - 0x0101010101010101u) & ~v & 0x8080808080808080u;
}

/* True when the <len> bytes at <p> hold a NUL, a CR or an LF. */
static bool
http_has_nul_cr_lf(const char *p, size_t len)
{
	const uint64_t cr = 0x0d0d0d0d0d0d0d0du, lf = 0x0a0a0a0a0a0a0a0au;
	uint64_t w;

	if (len < 8) {
		for (size_t i = 0; i < len; i++) {
			if (p[i] == '\0' || p[i] == '\r' || p[i] == '\n')
				return true;
		}
		return false;
	}
	for (size_t i = 0;; i += 8) {
		/* The last word overlaps the one before. */
		if (i + 8 > len)
			i = len - 8;
		memcpy(&w, p + i, 8);
		if ((http_zero_bytes(w) | http_zero_bytes(w ^ cr) |
		        http_zero_bytes(w ^ lf)) != 0)
			return true;
		if (i + 8 == len)
			return false;
	}
}

/* Appends a callback's piece to <s>; pieces must be contiguous. */
static int
http_span_extend(struct http_span *s, const char *at, size_t len)
{
	if (s->p == NULL) {
		s->p = at;
		s->len = len;
		return 0;
	}
	if (at != s->p + s->len)
		return -1;
	s->len += len;
	return 0;
}

struct http_span
http_span_trim(struct http_span s)
{
	while (s.len > 0 && (s.p[0] == ' ' || s.p[0] == '\t')) {
		s.p++;
		s.len--;
	}
	while (s.len > 0 && (s.p[s.len - 1] == ' ' || s.p[s.len - 1] == '\t'))
		s.len--;
	return s;
}

static struct http_request *
http_request_of(llhttp_t *p)
{
	return p->data;
}

static int
http_request_on_method(llhttp_t *p, const char *at, size_t len)
{
	struct http_request *r = http_request_of(p);

	if (http_span_extend(&r->method, at, len) == -1)
		return http_request_fail(
		    r, REASON_HTTP_MALFORMED, "split request line");
	return 0;
}

static int
http_request_on_url(llhttp_t *p, const char *at, size_t len)
{
	struct http_request *r = http_request_of(p);

	if (http_span_extend(&r->url, at, len) == -1)
		return http_request_fail(
		    r, REASON_HTTP_MALFORMED, "split request line");
	return 0;
}

int
http_headers_add_name(
    struct http_headers *hs, const char *at, size_t len, const char **detail)
{
	if (hs->state != HTTP_HEADERS_NAME) {
		if (hs->n == HTTP_MAX_HEADERS) {
			*detail = "too many header fields";
			return -1;
		}
		memset(&hs->h[hs->n], 0, sizeof(hs->h[0]));
		hs->n++;
		hs->state = HTTP_HEADERS_NAME;
	}
	if (http_span_extend(&hs->h[hs->n - 1].name, at, len) == -1) {
		*detail = "split header name";
		return -1;
	}
	return 0;
}

int
http_headers_add_value(
    struct http_headers *hs, const char *at, size_t len, const char **detail)
{
	struct http_header *h;

	if (hs->state == HTTP_HEADERS_BETWEEN || hs->n == 0) {
		*detail = "empty header name";
		return -1;
	}
	/* llhttp reports an empty value as an empty piece after the CRLF. */
	if (len == 0)
		return 0;
	h = &hs->h[hs->n - 1];
	if (hs->state == HTTP_HEADERS_NAME) {
		/*
		 * Between the name and its value only ':' and spaces may
		 * stand. llhttp accepts obs-fold and, when the first line's
		 * value is empty, reports only the continuation: a CR or LF
		 * here is that fold.
		 */
		for (const char *c = h->name.p + h->name.len + 1; c < at; c++) {
			if (*c != ' ' && *c != '\t') {
				*detail = "obs-fold header line";
				return -1;
			}
		}
		hs->state = HTTP_HEADERS_VALUE;
	}
	/*
	 * A later piece of a value that does not follow the earlier one is
	 * a continuation line: obs-fold again.
	 */
	if (http_span_extend(&h->value, at, len) == -1) {
		*detail = "obs-fold header line";
		return -1;
	}
	if (http_has_nul_cr_lf(at, len)) {
		*detail = "control byte in header value";
		return -1;
	}
	return 0;
}

struct http_header *
http_headers_value_done(struct http_headers *hs, const char **detail)
{
	struct http_header *h;

	if (hs->state == HTTP_HEADERS_BETWEEN || hs->n == 0 ||
	    hs->h[hs->n - 1].name.len == 0) {
		*detail = "empty header name";
		return NULL;
	}
	h = &hs->h[hs->n - 1];
	hs->state = HTTP_HEADERS_BETWEEN;
	h->value = http_span_trim(h->value);
	h->name_id = (uint8_t)http_field_of(h->name.p, h->name.len);
	return h;
}

static int
http_request_on_version(llhttp_t *p, const char *at, size_t len)
{
	struct http_request *r = http_request_of(p);

	if (http_span_extend(&r->version, at, len) == -1)
		return http_request_fail(
		    r, REASON_HTTP_MALFORMED, "split request line");
	return 0;
}

static int
http_request_on_version_complete(llhttp_t *p)
{
	http_request_of(p)->line_done = true;
	return 0;
}

static int
http_request_on_header_field(llhttp_t *p, const char *at, size_t len)
{
	struct http_request *r = http_request_of(p);
	const char *detail;

	/*
	 * Trailer fields could smuggle framing or a Content-Type past the
	 * checks made on the head; OCSP clients never send them.
	 */
	if (r->headers_done)
		return http_request_fail(r, REASON_HTTP_MALFORMED,
		    "trailer fields in a chunked request");

	if (http_headers_add_name(&r->hs, at, len, &detail) == -1)
		return http_request_fail(r, REASON_HTTP_MALFORMED, detail);
	return 0;
}

static int
http_request_on_header_value(llhttp_t *p, const char *at, size_t len)
{
	struct http_request *r = http_request_of(p);
	const char *detail;

	if (http_headers_add_value(&r->hs, at, len, &detail) == -1)
		return http_request_fail(r, REASON_HTTP_MALFORMED, detail);
	return 0;
}

static int
http_request_on_header_value_complete(llhttp_t *p)
{
	struct http_request *r = http_request_of(p);
	const char *detail;
	struct http_header *h = http_headers_value_done(&r->hs, &detail);
	int i = (int)r->hs.n - 1;

	if (h == NULL)
		return http_request_fail(r, REASON_HTTP_MALFORMED, detail);

	switch (h->name_id) {
	case HTTP_FIELD_HOST:
		if (r->host_hdr != -1)
			return http_request_fail(r, REASON_HTTP_MALFORMED,
			    "more than one Host header");
		r->host_hdr = i;
		break;
	case HTTP_FIELD_CONTENT_TYPE:
		if (r->ctype_hdr != -1)
			return http_request_fail(r, REASON_HTTP_MALFORMED,
			    "more than one Content-Type header");
		r->ctype_hdr = i;
		break;
	case HTTP_FIELD_USER_AGENT:
		if (r->ua_hdr == -1)
			r->ua_hdr = i;
		break;
	case HTTP_FIELD_EXPECT:
		if (h->value.len != 12 ||
		    !http_lower_eq(h->value.p, "100-continue", 12))
			return http_request_fail(r, REASON_HTTP_MALFORMED,
			    "unsupported Expect header");
		r->expect_continue = true;
		break;
	default:
		break;
	}
	return 0;
}

/* Letters, digits, '-', '.' and '_': bit c of these words, c below 128. */
static const uint64_t http_host_chars[2] = {
    0x03ff600000000000u, 0x07fffffe87fffffeu};

static bool
http_host_char(unsigned char c)
{
	return c < 128 && (http_host_chars[c >> 6] >> (c & 63) & 1) != 0;
}

/*
 * Splits "host[:port]" or "[v6]:port" in <a>. Returns 0, or -1 with
 * *detail set. *port is 0 when none was given.
 */
static int
http_parse_authority(struct http_span a, struct http_span *host, uint16_t *port,
    const char **detail)
{
	const char *p = a.p, *end;
	unsigned long v = 0;

	*port = 0;
	if (a.len == 0) {
		*detail = "empty host";
		return -1;
	}
	end = a.p + a.len;
	if (memchr(a.p, '@', a.len) != NULL) {
		*detail = "userinfo in target";
		return -1;
	}
	if (*p == '[') {
		const char *close = memchr(p, ']', a.len);

		if (close == NULL || close == p + 1) {
			*detail = "bad IPv6 literal";
			return -1;
		}
		char ip6[INET6_ADDRSTRLEN];
		struct in6_addr a6;
		size_t n = (size_t)(close - p - 1);

		if (n >= sizeof(ip6)) {
			*detail = "bad IPv6 literal";
			return -1;
		}
		memcpy(ip6, p + 1, n);
		ip6[n] = '\0';
		if (inet_pton(AF_INET6, ip6, &a6) != 1) {
			*detail = "bad IPv6 literal";
			return -1;
		}
		host->p = p + 1;
		host->len = (size_t)(close - p - 1);
		p = close + 1;
	} else {
		host->p = p;
		while (p < end && *p != ':') {
			if (!http_host_char((unsigned char)*p)) {
				*detail = "invalid character in host";
				return -1;
			}
			p++;
		}
		host->len = (size_t)(p - host->p);
		if (host->len == 0) {
			*detail = "empty host";
			return -1;
		}
	}
	if (p == end)
		return 0;
	if (*p != ':' || p + 1 == end || end - p > 6) {
		*detail = "bad port";
		return -1;
	}
	for (p++; p < end; p++) {
		if (*p < '0' || *p > '9') {
			*detail = "bad port";
			return -1;
		}
		v = v * 10 + (unsigned long)(*p - '0');
	}
	if (v == 0 || v > 65535) {
		*detail = "bad port";
		return -1;
	}
	*port = (uint16_t)v;
	return 0;
}

/* Case-insensitive host equality, one trailing dot ignored on each side. */
static bool
http_host_eq(struct http_span a, struct http_span b)
{
	if (a.len > 0 && a.p[a.len - 1] == '.')
		a.len--;
	if (b.len > 0 && b.p[b.len - 1] == '.')
		b.len--;
	return a.len == b.len && strncasecmp(a.p, b.p, a.len) == 0;
}

/*
 * True when a path segment is "." or "..", also percent-encoded: such a
 * path can mean another resource after the prefix check.
 */
static bool
http_path_has_dot_segment(struct http_span path)
{
	const char *p = path.p, *end = path.p + path.len;

	while (p < end) {
		const char *seg = ++p; /* past '/' */
		size_t dots = 0, n;

		p = memchr(seg, '/', (size_t)(end - seg));
		if (p == NULL)
			p = end;
		n = (size_t)(p - seg);
		/* Most segments are neither dots nor escapes of them. */
		if (n == 0 || n > 6 || (seg[0] != '.' && seg[0] != '%'))
			continue;
		for (size_t i = 0; i < n;) {
			if (seg[i] == '.') {
				dots++;
				i++;
			} else if (n - i >= 3 && seg[i] == '%' &&
			    seg[i + 1] == '2' &&
			    (seg[i + 2] == 'e' || seg[i + 2] == 'E')) {
				dots++;
				i += 3;
			} else {
				dots = 3; /* not a dot segment */
				break;
			}
		}
		if (dots == 1 || dots == 2)
			return true;
	}
	return false;
}

/* Splits the target; *auth gets an absolute target's authority. */
static int
http_request_parse_target(struct http_request *r, struct http_span *auth_out)
{
	static const char root[] = "/";
	struct http_span u = r->url, auth;
	const char *detail = NULL, *p, *end;

	if (r->llhttp_method == HTTP_CONNECT) {
		r->form = HTTP_TARGET_AUTHORITY;
		if (http_parse_authority(u, &r->host, &r->port, &detail) == -1)
			return http_request_fail(
			    r, REASON_HTTP_MALFORMED, detail);
		return 0;
	}
	if (u.len == 1 && u.p[0] == '*') {
		r->form = HTTP_TARGET_ASTERISK;
		return 0;
	}
	if (u.len > 0 && u.p[0] == '/') {
		r->form = HTTP_TARGET_ORIGIN;
		auth.p = NULL;
		auth.len = 0;
		p = u.p;
	} else {
		if (u.len < 7 || strncasecmp(u.p, "http://", 7) != 0)
			return http_request_fail(r, REASON_HTTP_MALFORMED,
			    "target is not an http URL");
		r->form = HTTP_TARGET_ABSOLUTE;
		auth.p = u.p + 7;
		for (p = auth.p; p < u.p + u.len; p++) {
			if (*p == '/' || *p == '?' || *p == '#')
				break;
		}
		auth.len = (size_t)(p - auth.p);
		*auth_out = auth;
		if (http_parse_authority(auth, &r->host, &r->port, &detail) ==
		    -1)
			return http_request_fail(
			    r, REASON_HTTP_MALFORMED, detail);
		if (r->port == 0)
			r->port = 80;
	}
	end = u.p + u.len;
	if (memchr(p, '#', (size_t)(end - p)) != NULL)
		return http_request_fail(
		    r, REASON_HTTP_MALFORMED, "fragment in target");
	r->path.p = p;
	if ((p = memchr(p, '?', (size_t)(end - p))) == NULL)
		p = end;
	r->path.len = (size_t)(p - r->path.p);
	if (p < end) {
		r->query.p = p + 1;
		r->query.len = (size_t)(end - p - 1);
	}
	if (r->path.len == 0) {
		r->path.p = root;
		r->path.len = 1;
	}
	if (http_path_has_dot_segment(r->path))
		return http_request_fail(
		    r, REASON_HTTP_MALFORMED, "dot segment in path");
	return 0;
}

/*
 * Marks the fields named <t> hop-by-hop: those of its enum http_field,
 * or for a name of none, those of that name but for case.
 */
static void
http_headers_mark_named(struct http_headers *hs, struct http_span t)
{
	enum http_field id = http_field_of(t.p, t.len);

	for (size_t k = 0; k < hs->n; k++) {
		struct http_header *h = &hs->h[k];

		if (h->name_id != id)
			continue;
		if (id != HTTP_FIELD_OTHER ||
		    (h->name.len == t.len &&
		        strncasecmp(h->name.p, t.p, t.len) == 0))
			h->hop_by_hop = true;
	}
}

void
http_headers_mark_hop_by_hop(struct http_headers *hs)
{
	for (size_t i = 0; i < hs->n; i++) {
		struct http_header *h = &hs->h[i];

		h->hop_by_hop =
		    (HTTP_HOP_BY_HOP & HTTP_FIELD_BIT(h->name_id)) != 0;
	}
	for (size_t i = 0; i < hs->n; i++) {
		const char *p, *end, *tok;

		if (hs->h[i].name_id != HTTP_FIELD_CONNECTION ||
		    hs->h[i].value.len == 0)
			continue;
		p = hs->h[i].value.p;
		end = p + hs->h[i].value.len;
		while (p < end) {
			struct http_span t;

			while (
			    p < end && (*p == ' ' || *p == '\t' || *p == ','))
				p++;
			tok = p;
			while (p < end && *p != ',')
				p++;
			t.p = tok;
			t.len = (size_t)(p - tok);
			t = http_span_trim(t);
			if (t.len > 0)
				http_headers_mark_named(hs, t);
		}
	}
}

/*
 * llhttp, even strict, ends lines at a bare LF; servers that do not would
 * see other lines. The head lies between the request line and the first
 * empty line, all of it in [method.p, data_end).
 */
static bool
http_request_has_bare_lf(const struct http_request *r)
{
	const char *c = r->method.p;

	if (c == NULL || c >= r->data_end)
		return false;
	for (; (c = memchr(c, '\n', (size_t)(r->data_end - c))) != NULL; c++) {
		if (c[-1] != '\r')
			return true;
		if (c + 1 < r->data_end && c[1] == '\n')
			return true;
		if (c + 2 < r->data_end && c[1] == '\r' && c[2] == '\n')
			return false; /* the empty line ending the head */
	}
	return false;
}

/*
 * True when the request's only transfer coding is "chunked". A coding
 * before it (gzip, identity) would reach the upstream undone, since the
 * body is forwarded de-chunked, and no OCSP client sends one.
 */
static bool
http_request_te_is_chunked(const struct http_request *r)
{
	for (size_t i = 0; i < r->hs.n; i++) {
		const struct http_span *te = &r->hs.h[i].value;

		if (r->hs.h[i].name_id == HTTP_FIELD_TRANSFER_ENCODING)
			return te->len == 7 &&
			    http_lower_eq(te->p, "chunked", 7);
	}
	return false;
}

static int
http_request_on_headers_complete(llhttp_t *p)
{
	struct http_request *r = http_request_of(p);
	struct http_span auth = {NULL, 0}, hv;

	r->headers_done = true;
	r->llhttp_method = llhttp_get_method(p);
	r->http_minor = llhttp_get_http_minor(p);
	/*
	 * llhttp tolerates extra spaces in the request line; a gate that
	 * compares what it parsed with what a server may parse does not.
	 */
	for (const char *c = r->head_start; c < r->method.p; c++) {
		/* RFC 9112 2.2: empty lines before a request are ignored. */
		if (*c != '\r' && *c != '\n')
			return http_request_fail(
			    r, REASON_HTTP_MALFORMED, "malformed request line");
	}
	if (r->method.p == NULL ||
	    r->url.p != r->method.p + r->method.len + 1 ||
	    r->version.p != r->url.p + r->url.len + 6 /* " HTTP/" */)
		return http_request_fail(
		    r, REASON_HTTP_MALFORMED, "malformed request line");
	if (http_request_has_bare_lf(r))
		return http_request_fail(
		    r, REASON_HTTP_MALFORMED, "bare LF line ending");
	if (llhttp_get_http_major(p) != 1 || r->http_minor > 1)
		return http_request_fail(
		    r, REASON_HTTP_MALFORMED, "unsupported HTTP version");
	if (r->http_minor == 1 && r->host_hdr == -1)
		return http_request_fail(
		    r, REASON_HTTP_MALFORMED, "HTTP/1.1 request without Host");
	if ((p->flags & F_TRANSFER_ENCODING) && !http_request_te_is_chunked(r))
		return http_request_fail(r, REASON_HTTP_MALFORMED,
		    "Transfer-Encoding other than chunked");
	if (r->http_minor == 0 && (p->flags & F_TRANSFER_ENCODING))
		return http_request_fail(r, REASON_HTTP_MALFORMED,
		    "Transfer-Encoding in an HTTP/1.0 request");
	if (http_request_parse_target(r, &auth) == -1)
		return -1;
	hv = r->host_hdr != -1 ? r->hs.h[r->host_hdr].value : auth;
	/*
	 * A Host the very bytes of the target's authority (what most
	 * clients send) agrees with it: both were parsed as one.
	 */
	if (r->form == HTTP_TARGET_ABSOLUTE && r->host_hdr != -1 &&
	    (hv.len != auth.len || memcmp(hv.p, auth.p, hv.len) != 0)) {
		struct http_span hh;
		uint16_t hport;
		const char *detail;

		if (http_parse_authority(hv, &hh, &hport, &detail) == -1)
			return http_request_fail(
			    r, REASON_HTTP_MALFORMED, "bad Host header");
		/* OpenSSL's client sends Host without the port. */
		if (!http_host_eq(hh, r->host) ||
		    (hport != 0 && hport != r->port))
			return http_request_fail(r, REASON_HTTP_MALFORMED,
			    "Host header disagrees with the target");
	}
	if ((p->flags & F_CONTENT_LENGTH) && p->content_length > r->body_cap) {
		r->body_overflow = true;
		return http_request_fail(r, REASON_BODY_TOO_LARGE,
		    "Content-Length over max_request_body");
	}
	http_headers_mark_hop_by_hop(&r->hs);
	for (size_t i = 0; i < r->hs.n; i++) {
		if (HTTP_REBUILT & HTTP_FIELD_BIT(r->hs.h[i].name_id))
			r->hs.h[i].hop_by_hop = true;
	}
	http_filter_apply(r);
	return 0;
}

static int
http_request_on_body(llhttp_t *p, const char *at, size_t len)
{
	struct http_request *r = http_request_of(p);

	if (len > r->body_cap - r->body_len) {
		r->body_overflow = true;
		return http_request_fail(
		    r, REASON_BODY_TOO_LARGE, "body over max_request_body");
	}
	memcpy(r->body + r->body_len, at, len);
	r->body_len += len;
	return 0;
}

static int
http_request_on_message_complete(llhttp_t *p)
{
	struct http_request *r = http_request_of(p);

	r->complete = true;
	/*
	 * An Upgrade is ignored (RFC 9110 7.8): the header is not forwarded
	 * and, as llhttp takes what follows for another protocol, the
	 * connection ends after the answer.
	 */
	r->keep_alive = llhttp_should_keep_alive(p) != 0 && !p->upgrade;
	/* Stop here: the bytes after this request wait for its answer. */
	return HPE_PAUSED;
}

/*
 * Zeroes the facts of <r>: all but its parser, its settings and the
 * header slots, which http_headers_add_name() clears as it takes each
 * (they are most of the struct, and few are used).
 */
static void
http_request_zero(struct http_request *r)
{
	char *base = (char *)r;
	const size_t from = offsetof(struct http_request, method),
	             hs = offsetof(struct http_request, hs),
	             after = offsetof(struct http_request, host_hdr);

	_Static_assert(offsetof(struct http_request, settings) <
	        offsetof(struct http_request, method),
	    "parser and settings come first");
	_Static_assert(offsetof(struct http_request, hs) <
	        offsetof(struct http_request, host_hdr),
	    "the header slots lie between the request line and the rest");
	memset(base + from, 0, hs - from);
	r->hs.n = 0;
	r->hs.state = HTTP_HEADERS_BETWEEN;
	memset(base + after, 0, sizeof(*r) - after);
}

static void
http_request_clear(struct http_request *r)
{
	unsigned char *body = r->body;
	size_t body_cap = r->body_cap;

	http_request_zero(r);
	r->parser.settings = &r->settings;
	r->parser.data = r;
	r->body = body;
	r->body_cap = body_cap;
	r->host_hdr = r->ctype_hdr = r->ua_hdr = -1;
}

void
http_request_init(struct http_request *r, unsigned char *body, size_t body_cap)
{
	http_request_zero(r);
	llhttp_settings_init(&r->settings);
	r->settings.on_method = http_request_on_method;
	r->settings.on_url = http_request_on_url;
	r->settings.on_version = http_request_on_version;
	r->settings.on_version_complete = http_request_on_version_complete;
	r->settings.on_header_field = http_request_on_header_field;
	r->settings.on_header_value = http_request_on_header_value;
	r->settings.on_header_value_complete =
	    http_request_on_header_value_complete;
	r->settings.on_headers_complete = http_request_on_headers_complete;
	r->settings.on_body = http_request_on_body;
	r->settings.on_message_complete = http_request_on_message_complete;
	llhttp_init(&r->parser, HTTP_REQUEST, &r->settings);
	/* What http_request_clear() sets, without clearing it all again. */
	r->parser.data = r;
	r->body = body;
	r->body_cap = body_cap;
	r->host_hdr = r->ctype_hdr = r->ua_hdr = -1;
}

void
http_request_next(struct http_request *r)
{
	http_request_clear(r);
	if (llhttp_get_errno(&r->parser) == HPE_PAUSED)
		llhttp_resume(&r->parser);
}

enum http_parse
http_request_parse(
    struct http_request *r, const char *data, size_t len, size_t *consumed)
{
	llhttp_errno_t err;

	*consumed = 0;
	if (r->complete)
		return HTTP_PARSE_DONE;
	if (r->reason != REASON_NONE)
		return HTTP_PARSE_ERROR;
	if (r->head_start == NULL && len > 0)
		r->head_start = data;
	r->data_end = data + len;
	err = llhttp_execute(&r->parser, data, len);
	switch (err) {
	case HPE_OK:
		*consumed = len;
		return HTTP_PARSE_MORE;
	case HPE_PAUSED:
		*consumed = (size_t)(llhttp_get_error_pos(&r->parser) - data);
		return HTTP_PARSE_DONE;
	case HPE_PAUSED_H2_UPGRADE:
		http_request_fail(r, REASON_HTTP_MALFORMED, "HTTP/2 preface");
		break;
	case HPE_PAUSED_UPGRADE:
		/* The Upgrade is ignored; the request itself is whole. */
		if (r->complete) {
			*consumed =
			    (size_t)(llhttp_get_error_pos(&r->parser) - data);
			return HTTP_PARSE_DONE;
		}
		http_request_fail(r, REASON_HTTP_MALFORMED, "protocol upgrade");
		break;
	default:
		/* Our callbacks recorded their own reason; else llhttp's. */
		http_request_fail(r, REASON_HTTP_MALFORMED,
		    llhttp_get_error_reason(&r->parser));
		break;
	}
	*consumed = len;
	return HTTP_PARSE_ERROR;
}

int
http_request_intercept(struct http_request *r, uint16_t orig_port)
{
	struct http_span host;
	uint16_t port;
	const char *detail;

	if (r->form != HTTP_TARGET_ORIGIN)
		return 0;
	/* Older OpenSSL clients: the target is where the client went. */
	if (r->host_hdr == -1 && r->http_minor == 0)
		return 1;
	if (r->host_hdr == -1)
		return http_request_fail(r, REASON_HTTP_MALFORMED,
		    "intercepted request without Host");
	if (http_parse_authority(
	        r->hs.h[r->host_hdr].value, &host, &port, &detail) == -1)
		return http_request_fail(
		    r, REASON_HTTP_MALFORMED, "bad Host header");
	/* The port the client chose is where it was going. */
	r->host = host;
	r->port = orig_port;
	r->intercepted = true;
	return 0;
}

void
http_request_intercept_by_address(
    struct http_request *r, const char *host, uint16_t orig_port)
{
	r->host.p = host;
	r->host.len = strlen(host);
	r->port = orig_port;
	r->intercepted = true;
	r->filter.flags |= 1u << HTTP_FLAG_HOST_BY_ADDRESS;
}

bool
http_request_has_via(const struct http_request *r, const char *token)
{
	size_t n = strlen(token);

	for (size_t i = 0; i < r->hs.n; i++) {
		const struct http_header *h = &r->hs.h[i];

		if (h->name_id != HTTP_FIELD_VIA)
			continue;
		for (size_t k = 0; k + n <= h->value.len; k++) {
			if (strncasecmp(h->value.p + k, token, n) == 0)
				return true;
		}
	}
	return false;
}

const struct http_span *
http_headers_get(const struct http_headers *hs, const char *name)
{
	for (size_t i = 0; i < hs->n; i++) {
		if (http_span_eq(&hs->h[i].name, name))
			return &hs->h[i].value;
	}
	return NULL;
}

const struct http_span *
http_request_header(const struct http_request *r, const char *name)
{
	return http_headers_get(&r->hs, name);
}

int
http_put_uint(char *out, size_t cap, size_t *off, uint64_t v)
{
	char tmp[24];
	size_t n = 0;

	do {
		tmp[sizeof(tmp) - 1 - n++] = (char)('0' + v % 10);
		v /= 10;
	} while (v != 0);
	return http_put(out, cap, off, tmp + sizeof(tmp) - n, n);
}

/* Appends the string literal <lit>, its length known when compiled. */
#define HTTP_PUT_LIT(out, cap, off, lit)                                       \
	http_put(out, cap, off, lit, sizeof(lit) - 1)

int
http_request_build_upstream(const struct http_request *r, const char *via,
    bool keep_alive, char *out, size_t cap)
{
	const struct http_header *fw[HTTP_MAX_HEADERS];
	size_t off = 0, nfw = 0;
	bool v6 = memchr(r->host.p, ':', r->host.len) != NULL;
	int rc = 0;

	rc |= http_put(out, cap, &off, r->method.p, r->method.len);
	rc |= HTTP_PUT_LIT(out, cap, &off, " ");
	rc |= http_put(out, cap, &off, r->path.p, r->path.len);
	if (r->query.p != NULL) {
		rc |= HTTP_PUT_LIT(out, cap, &off, "?");
		rc |= http_put(out, cap, &off, r->query.p, r->query.len);
	}
	if (r->http_minor == 0)
		rc |= HTTP_PUT_LIT(out, cap, &off, " HTTP/1.0\r\nHost: ");
	else
		rc |= HTTP_PUT_LIT(out, cap, &off, " HTTP/1.1\r\nHost: ");
	if (v6)
		rc |= HTTP_PUT_LIT(out, cap, &off, "[");
	rc |= http_put(out, cap, &off, r->host.p, r->host.len);
	if (v6)
		rc |= HTTP_PUT_LIT(out, cap, &off, "]");
	if (r->port != 80) {
		rc |= HTTP_PUT_LIT(out, cap, &off, ":");
		rc |= http_put_uint(out, cap, &off, r->port);
	}
	rc |= HTTP_PUT_LIT(out, cap, &off, "\r\n");
	/*
	 * Only what the filter let through, spelled and ordered its way: by
	 * its row, then in the client's order (insertion keeps it).
	 */
	for (size_t i = 0; i < r->hs.n; i++) {
		const struct http_header *h = &r->hs.h[i];
		size_t k = nfw;

		if (h->hop_by_hop || http_filter_field_name(h) == NULL)
			continue;
		for (; k > 0 && fw[k - 1]->field > h->field; k--)
			fw[k] = fw[k - 1];
		fw[k] = h;
		nfw++;
	}
	for (size_t k = 0; k < nfw; k++) {
		const struct http_header *h = fw[k];
		size_t len;
		const char *name = http_filter_field_name_len(h, &len);

		rc |= http_put(out, cap, &off, name, len);
		rc |= HTTP_PUT_LIT(out, cap, &off, ": ");
		rc |= http_put(out, cap, &off, h->out.p, h->out.len);
		rc |= HTTP_PUT_LIT(out, cap, &off, "\r\n");
	}
	if (r->body_len > 0 || r->llhttp_method == HTTP_POST ||
	    r->llhttp_method == HTTP_PUT) {
		rc |= HTTP_PUT_LIT(out, cap, &off, "Content-Length: ");
		rc |= http_put_uint(out, cap, &off, r->body_len);
		rc |= HTTP_PUT_LIT(out, cap, &off, "\r\n");
	}
	if (via != NULL) {
		rc |= HTTP_PUT_LIT(out, cap, &off, "Via: 1.1 ");
		rc |= http_put_str(out, cap, &off, via);
		rc |= HTTP_PUT_LIT(out, cap, &off, "\r\n");
	}
	/* HTTP/1.1 keeps the connection open unless told otherwise. */
	if (keep_alive && r->http_minor == 1)
		rc |= HTTP_PUT_LIT(out, cap, &off, "\r\n");
	else
		rc |= HTTP_PUT_LIT(out, cap, &off, "Connection: close\r\n\r\n");
	if (rc != 0 || off > (size_t)INT_MAX)
		return -1;
	return (int)off;
}
