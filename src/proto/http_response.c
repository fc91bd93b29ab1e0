/*
 * Upstream responses: llhttp in strict mode splits the head from the
 * body. The client never sees the upstream's head: it gets one ocspgate
 * writes, from a short allowlist of fields whose values are parsed and
 * written again in one canonical form, so that no byte of the upstream's
 * choosing beyond those values reaches it.
 * Pure: no I/O, no libevent, no clock, no globals.
 */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ocspgate/civil.h"
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
	/* llhttp counts content_length down as the body arrives. */
	r->has_length = !r->chunked && (p->flags & F_CONTENT_LENGTH) != 0;
	r->content_length = r->has_length ? p->content_length : 0;
	/*
	 * No hop-by-hop marks: nothing of this head is forwarded but the
	 * allowlist's fields, which the head for the client writes again.
	 */
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

/* The reason phrases ocspgate writes (RFC 9110 15), by status code. */
static const struct {
	int code;
	const char *phrase;
} http_response_phrases[] = {
    {200, "OK"},
    {201, "Created"},
    {202, "Accepted"},
    {203, "Non-Authoritative Information"},
    {204, "No Content"},
    {205, "Reset Content"},
    {206, "Partial Content"},
    {300, "Multiple Choices"},
    {301, "Moved Permanently"},
    {302, "Found"},
    {303, "See Other"},
    {304, "Not Modified"},
    {307, "Temporary Redirect"},
    {308, "Permanent Redirect"},
    {400, "Bad Request"},
    {401, "Unauthorized"},
    {403, "Forbidden"},
    {404, "Not Found"},
    {405, "Method Not Allowed"},
    {406, "Not Acceptable"},
    {407, "Proxy Authentication Required"},
    {408, "Request Timeout"},
    {409, "Conflict"},
    {410, "Gone"},
    {411, "Length Required"},
    {412, "Precondition Failed"},
    {413, "Content Too Large"},
    {414, "URI Too Long"},
    {415, "Unsupported Media Type"},
    {416, "Range Not Satisfiable"},
    {417, "Expectation Failed"},
    {421, "Misdirected Request"},
    {422, "Unprocessable Content"},
    {426, "Upgrade Required"},
    {428, "Precondition Required"},
    {429, "Too Many Requests"},
    {431, "Request Header Fields Too Large"},
    {451, "Unavailable For Legal Reasons"},
    {500, "Internal Server Error"},
    {501, "Not Implemented"},
    {502, "Bad Gateway"},
    {503, "Service Unavailable"},
    {504, "Gateway Timeout"},
    {505, "HTTP Version Not Supported"},
    {511, "Network Authentication Required"},
};

/*
 * The media types certificate-status answers come with (RFC 6960 A.2,
 * RFC 5280 4.2.1.13 and 4.2.2.1, RFC 8555 9.1, and what CDNs and Windows
 * Update serve for .cab, .stl, .sst), plus the generic ones a portal or
 * an error page uses. Lower case, no parameters.
 */
static const char *const http_response_types[] = {
    "application/ocsp-response",
    "application/pkix-crl",
    "application/x-pkcs7-crl",
    "application/pkix-cert",
    "application/x-x509-ca-cert",
    "application/x-x509-user-cert",
    "application/pkcs7-mime",
    "application/x-pkcs7-mime",
    "application/x-pkcs7-certificates",
    "application/pkcs7-signature",
    "application/pem-certificate-chain",
    "application/x-pem-file",
    "application/vnd.ms-cab-compressed",
    "application/vnd.ms-pki.stl",
    "application/vnd.ms-pki.certstore",
    "application/octet-stream",
    "text/plain",
    "text/html",
};

/*
 * Cache-Control directives (RFC 9111 5.2.2, RFC 8246, RFC 5861) in the
 * order they are written back; <numeric> ones take delta-seconds.
 */
static const struct {
	const char *name;
	bool numeric;
} http_response_directives[] = {
    {"max-age", true},
    {"s-maxage", true},
    {"public", false},
    {"private", false},
    {"no-cache", false},
    {"no-store", false},
    {"no-transform", false},
    {"must-revalidate", false},
    {"proxy-revalidate", false},
    {"must-understand", false},
    {"immutable", false},
    {"stale-while-revalidate", true},
    {"stale-if-error", true},
};

#define HTTP_RESPONSE_NDIRECTIVES                                              \
	(sizeof(http_response_directives) / sizeof(http_response_directives[0]))
#define HTTP_RESPONSE_DELTA_MAX 2147483648ULL /* RFC 9111 1.2.2 */
#define HTTP_RESPONSE_DATE_LEN  29 /* "Sun, 06 Nov 1994 08:49:37 GMT" */
#define HTTP_RESPONSE_VALUE_MAX 256
#define HTTP_RESPONSE_YEAR_MIN  1970
#define HTTP_RESPONSE_YEAR_MAX  9999
#define HTTP_RESPONSE_TIME_END  253402300800 /* 10000-01-01 */

/* Appends the literal <s>. */
#define HTTP_RESPONSE_PUT_LIT(out, cap, off, s)                                \
	http_put((out), (cap), (off), (s), sizeof(s) - 1)

static const char *const http_response_months[] = {"Jan", "Feb", "Mar", "Apr",
    "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};

/* ocspgate's phrase for <code>, or NULL when it knows none. */
static const char *
http_response_phrase(int code)
{
	for (size_t i = 0; i <
	     sizeof(http_response_phrases) / sizeof(http_response_phrases[0]);
	     i++)
		if (http_response_phrases[i].code == code)
			return http_response_phrases[i].phrase;
	return NULL;
}

/* ASCII lower case, whatever the locale. */
static char
http_response_lower(char c)
{
	return c >= 'A' && c <= 'Z' ? (char)(c - 'A' + 'a') : c;
}

/* True when the <n> bytes at <p> are <lower> but for case. */
static bool
http_response_eq(const char *p, size_t n, const char *lower)
{
	if (n != strlen(lower))
		return false;
	for (size_t i = 0; i < n; i++)
		if (http_response_lower(p[i]) != lower[i])
			return false;
	return true;
}

static bool
http_response_is_digit(char c)
{
	return c >= '0' && c <= '9';
}

/* RFC 9110 5.6.2 tchar. */
static bool
http_response_is_tchar(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	    http_response_is_digit(c) ||
	    (c != '\0' && strchr("!#$%&'*+-.^_`|~", c) != NULL);
}

/*
 * The media type of a Content-Type value, when it is one of
 * http_response_types: "type/subtype" (any case), then only parameters
 * ("; name=value"), which are not kept. Returns the known type, or NULL.
 */
static const char *
http_response_media_type(const struct http_span *v)
{
	size_t n = 0;

	while (
	    n < v->len && v->p[n] != ';' && v->p[n] != ' ' && v->p[n] != '\t')
		n++;
	for (size_t i = 0;
	     i < sizeof(http_response_types) / sizeof(http_response_types[0]);
	     i++)
		if (http_response_eq(v->p, n, http_response_types[i]))
			return http_response_types[i];
	return NULL;
}

/*
 * Parses the digits at <p> (<n> bytes, maybe in quotes) as delta-seconds,
 * capped at 2^31 as RFC 9111 1.2.2 asks. Returns 0, or -1.
 */
static int
http_response_delta(const char *p, size_t n, uint64_t *out)
{
	uint64_t v = 0;

	if (n >= 2 && p[0] == '"' && p[n - 1] == '"') {
		p++;
		n -= 2;
	}
	if (n == 0)
		return -1;
	for (size_t i = 0; i < n; i++) {
		if (!http_response_is_digit(p[i]))
			return -1;
		if (v < HTTP_RESPONSE_DELTA_MAX)
			v = v * 10 + (uint64_t)(p[i] - '0');
	}
	*out = v < HTTP_RESPONSE_DELTA_MAX ? v : HTTP_RESPONSE_DELTA_MAX;
	return 0;
}

/*
 * Reads the known directives of one Cache-Control value into <seen> and
 * <values> (the first occurrence of each wins). Returns true when the
 * value held anything else (an unknown directive, a bad value, an
 * argument dropped).
 */
static bool
http_response_directives_read(const struct http_span *v,
    bool seen[HTTP_RESPONSE_NDIRECTIVES],
    uint64_t values[HTTP_RESPONSE_NDIRECTIVES])
{
	const char *p, *end;
	bool other = false;

	if (v->len == 0)
		return true; /* an empty field: nothing of it goes out */
	p = v->p;
	end = v->p + v->len;
	while (p < end) {
		const char *name, *arg = NULL;
		size_t nlen, alen = 0;
		size_t k;

		while (p < end && (*p == ',' || *p == ' ' || *p == '\t'))
			p++;
		if (p == end)
			break;
		name = p;
		while (p < end && http_response_is_tchar(*p))
			p++;
		nlen = (size_t)(p - name);
		if (p < end && *p == '=') {
			bool quoted;

			arg = ++p;
			quoted = p < end && *p == '"';
			if (quoted) {
				p++;
				while (p < end && *p != '"')
					p++;
				if (p < end)
					p++;
			} else {
				while (p < end && *p != ',')
					p++;
			}
			alen = (size_t)(p - arg);
		}
		/* Anything else before the next comma makes it unknown. */
		while (p < end && (*p == ' ' || *p == '\t'))
			p++;
		if (p < end && *p != ',') {
			other = true;
			while (p < end && *p != ',')
				p++;
			continue;
		}
		for (k = 0; k < HTTP_RESPONSE_NDIRECTIVES; k++)
			if (http_response_eq(
			        name, nlen, http_response_directives[k].name))
				break;
		if (k == HTTP_RESPONSE_NDIRECTIVES || nlen == 0) {
			other = true;
			continue;
		}
		if (http_response_directives[k].numeric) {
			uint64_t d;

			if (arg == NULL ||
			    http_response_delta(arg, alen, &d) == -1) {
				other = true;
				continue;
			}
			if (!seen[k])
				values[k] = d;
		} else if (arg != NULL) {
			/* private="f", no-cache="f": the whole answer, then. */
			other = true;
		}
		if (seen[k])
			other = true;
		seen[k] = true;
	}
	return other;
}

/*
 * Writes the directives of <seen> as one Cache-Control value into <out>.
 * Returns its length (0: none).
 */
static size_t
http_response_directives_write(const bool seen[HTTP_RESPONSE_NDIRECTIVES],
    const uint64_t values[HTTP_RESPONSE_NDIRECTIVES], char *out, size_t cap)
{
	size_t off = 0;

	for (size_t k = 0; k < HTTP_RESPONSE_NDIRECTIVES; k++) {
		if (!seen[k])
			continue;
		if (off > 0)
			http_put_str(out, cap, &off, ", ");
		http_put_str(out, cap, &off, http_response_directives[k].name);
		if (http_response_directives[k].numeric) {
			http_put_str(out, cap, &off, "=");
			http_put_uint(out, cap, &off, values[k]);
		}
	}
	return off;
}

/* Reads <n> (1..4) digits at <p> into *v. Returns 0, or -1. */
static int
http_response_digits(const char *p, size_t n, int *v)
{
	*v = 0;
	for (size_t i = 0; i < n; i++) {
		if (!http_response_is_digit(p[i]))
			return -1;
		*v = *v * 10 + (p[i] - '0');
	}
	return 0;
}

/* The month of a three-letter name (0..11), or -1. */
static int
http_response_month(const char *p)
{
	for (int m = 0; m < 12; m++)
		if (memcmp(p, http_response_months[m], 3) == 0)
			return m;
	return -1;
}

/* Reads "HH:MM:SS" at <p> into <tm>. Returns 0, or -1. */
static int
http_response_clock(const char *p, struct tm *tm)
{
	if (p[2] != ':' || p[5] != ':' ||
	    http_response_digits(p, 2, &tm->tm_hour) == -1 ||
	    http_response_digits(p + 3, 2, &tm->tm_min) == -1 ||
	    http_response_digits(p + 6, 2, &tm->tm_sec) == -1)
		return -1;
	return 0;
}

/*
 * Parses an HTTP-date (RFC 9110 5.6.7): IMF-fixdate, or the obsolete
 * RFC 850 and asctime forms recipients must accept. The weekday is
 * not trusted (it is written again from the date). Returns 0 with *out
 * set, or -1.
 */
static int
http_response_date(const struct http_span *v, time_t *out)
{
	const char *p = v->p;
	size_t n = v->len, i;
	struct tm tm;
	int day, year;
	time_t t;

	memset(&tm, 0, sizeof(tm));
	if (n == 29 && p[3] == ',' && p[4] == ' ' && p[7] == ' ' &&
	    p[11] == ' ' && p[16] == ' ' && p[25] == ' ' &&
	    memcmp(p + 26, "GMT", 3) == 0) {
		/* Sun, 06 Nov 1994 08:49:37 GMT */
		if (http_response_digits(p + 5, 2, &day) == -1 ||
		    (tm.tm_mon = http_response_month(p + 8)) == -1 ||
		    http_response_digits(p + 12, 4, &year) == -1 ||
		    http_response_clock(p + 17, &tm) == -1)
			return -1;
	} else if (n == 24 && p[3] == ' ' && p[7] == ' ' && p[10] == ' ' &&
	    p[19] == ' ') {
		/* Sun Nov  6 08:49:37 1994 */
		if ((tm.tm_mon = http_response_month(p + 4)) == -1 ||
		    http_response_digits(p + 9, 1, &day) == -1 ||
		    (p[8] != ' ' &&
		        (http_response_digits(p + 8, 2, &day) == -1)) ||
		    http_response_clock(p + 11, &tm) == -1 ||
		    http_response_digits(p + 20, 4, &year) == -1)
			return -1;
	} else {
		/* Sunday, 06-Nov-94 08:49:37 GMT */
		for (i = 0; i < n && p[i] != ','; i++)
			continue;
		if (i < 6 || i > 9 || n != i + 24 || p[i + 1] != ' ' ||
		    p[i + 4] != '-' || p[i + 8] != '-' || p[i + 11] != ' ' ||
		    p[i + 20] != ' ' || memcmp(p + i + 21, "GMT", 3) != 0 ||
		    http_response_digits(p + i + 2, 2, &day) == -1 ||
		    (tm.tm_mon = http_response_month(p + i + 5)) == -1 ||
		    http_response_digits(p + i + 9, 2, &year) == -1 ||
		    http_response_clock(p + i + 12, &tm) == -1)
			return -1;
		/* Without a clock: 70..99 are the 1900s, the rest later. */
		year += year >= 70 ? 1900 : 2000;
	}
	if (year < HTTP_RESPONSE_YEAR_MIN || year > HTTP_RESPONSE_YEAR_MAX ||
	    day < 1 || day > 31 || tm.tm_hour > 23 || tm.tm_min > 59 ||
	    tm.tm_sec > 60)
		return -1;
	if (tm.tm_sec == 60)
		tm.tm_sec = 59; /* a leap second, as the second before */
	/* civil_time() refuses a day the month does not have (31 Feb). */
	t = civil_time(
	    year, tm.tm_mon + 1, day, tm.tm_hour, tm.tm_min, tm.tm_sec);
	if (t == 0 &&
	    (year != 1970 || tm.tm_mon != 0 || day != 1 || tm.tm_hour != 0 ||
	        tm.tm_min != 0 || tm.tm_sec != 0))
		return -1;
	*out = t;
	return 0;
}

/*
 * Writes <t> (years 1970..9999, as http_response_date() gives) as
 * IMF-fixdate into <out> (HTTP_RESPONSE_DATE_LEN + 1 bytes).
 */
static void
http_response_date_write(time_t t, char *out)
{
	(void)civil_imf_date((int64_t)t, out);
}

/*
 * True when <v> is one entity-tag (RFC 9110 8.8.3): an optional "W/",
 * then at most HTTP_RESPONSE_ETAG_MAX visible ASCII characters other
 * than '"' and '\' in double quotes. obs-text is not taken.
 */
static bool
http_response_etag_ok(const struct http_span *v)
{
	const char *p = v->p;
	size_t n = v->len;

	if (n >= 2 && p[0] == 'W' && p[1] == '/') {
		p += 2;
		n -= 2;
	}
	if (n < 2 || n - 2 > HTTP_RESPONSE_ETAG_MAX || p[0] != '"' ||
	    p[n - 1] != '"')
		return false;
	for (size_t i = 1; i + 1 < n; i++)
		if (p[i] < 0x21 || p[i] > 0x7e || p[i] == '"' || p[i] == '\\')
			return false;
	return true;
}

const char *
http_response_check(const struct http_response *r)
{
	if (r->status == 304)
		return "304 Not Modified to a request without validators "
		       "(ocspgate sends none)";
	return NULL;
}

enum http_response_framing
http_response_relay_framing(
    const struct http_response *r, bool http10_client, uint64_t *length)
{
	*length = 0;
	if (r->head_request || r->status == 204 || r->status == 304)
		return HTTP_FRAMING_NONE;
	if (r->has_length) {
		*length = r->content_length;
		return HTTP_FRAMING_LENGTH;
	}
	return http10_client ? HTTP_FRAMING_CLOSE : HTTP_FRAMING_CHUNKED;
}

/* Counts header field <h> as left out or rewritten. */
static void
http_response_drop(struct http_response_dropped *d, const struct http_header *h)
{
	d->fields++;
	d->bytes += h->name.len + h->value.len;
}

/* The upstream's fields a rebuilt head may carry, by name. */
enum http_response_field {
	HTTP_RESPONSE_OTHER,
	HTTP_RESPONSE_FRAMING, /* replaced by the framing of the answer */
	HTTP_RESPONSE_CONTENT_TYPE,
	HTTP_RESPONSE_CACHE_CONTROL,
	HTTP_RESPONSE_ETAG,
	HTTP_RESPONSE_DATE,
	HTTP_RESPONSE_LAST_MODIFIED,
	HTTP_RESPONSE_EXPIRES,
};

/*
 * True when field name <n> is <lower> (of letters and '-', as long as
 * <n>) but for case. A name is a token: no CR, the only octet besides
 * '-' that is '-' once 0x20 is set.
 */
static bool
http_response_name_is(const struct http_span *n, const char *lower)
{
	for (size_t i = 0; i < n->len; i++)
		if ((n->p[i] | 0x20) != lower[i])
			return false;
	return true;
}

/* Which of them field name <n> (any case) is, by its length first. */
static enum http_response_field
http_response_field_of(const struct http_span *n)
{
	switch (n->len) {
	case 4:
		if (http_response_name_is(n, "date"))
			return HTTP_RESPONSE_DATE;
		if (http_response_name_is(n, "etag"))
			return HTTP_RESPONSE_ETAG;
		break;
	case 7:
		if (http_response_name_is(n, "expires"))
			return HTTP_RESPONSE_EXPIRES;
		break;
	case 10:
		if (http_response_name_is(n, "connection") ||
		    http_response_name_is(n, "keep-alive"))
			return HTTP_RESPONSE_FRAMING;
		break;
	case 12:
		if (http_response_name_is(n, "content-type"))
			return HTTP_RESPONSE_CONTENT_TYPE;
		break;
	case 13:
		if (http_response_name_is(n, "cache-control"))
			return HTTP_RESPONSE_CACHE_CONTROL;
		if (http_response_name_is(n, "last-modified"))
			return HTTP_RESPONSE_LAST_MODIFIED;
		break;
	case 14:
		if (http_response_name_is(n, "content-length"))
			return HTTP_RESPONSE_FRAMING;
		break;
	case 17:
		if (http_response_name_is(n, "transfer-encoding"))
			return HTTP_RESPONSE_FRAMING;
		break;
	default:
		break;
	}
	return HTTP_RESPONSE_OTHER;
}

/* Appends "Name: value\r\n". */
static int
http_response_put_field(char *out, size_t cap, size_t *off, const char *name,
    const char *value, size_t len)
{
	int rc = 0;

	rc |= http_put_str(out, cap, off, name);
	rc |= http_put_str(out, cap, off, ": ");
	rc |= http_put(out, cap, off, value, len);
	rc |= http_put_str(out, cap, off, "\r\n");
	return rc;
}

/*
 * Appends <name> (<nlen> bytes, its ": " with it), the IMF-fixdate of
 * <t> (1970..9999) and CRLF.
 */
static int
http_response_put_imf(char *out, size_t cap, size_t *off, const char *name,
    size_t nlen, int64_t t)
{
	char *p;

	/* The date's NUL lands where the CRLF goes. */
	if (cap - *off < nlen + HTTP_RESPONSE_DATE_LEN + 2)
		return -1;
	p = out + *off;
	memcpy(p, name, nlen);
	http_response_date_write((time_t)t, p + nlen);
	memcpy(p + nlen + HTTP_RESPONSE_DATE_LEN, "\r\n", 2);
	*off += nlen + HTTP_RESPONSE_DATE_LEN + 2;
	return 0;
}

/* http_response_put_imf() of the literal <name>. */
#define HTTP_RESPONSE_PUT_IMF(out, cap, off, name, t)                          \
	http_response_put_imf(                                                 \
	    (out), (cap), (off), (name), sizeof(name) - 1, (t))

/* http_response_put_imf() if <t> is 1970..9999 but the epoch itself. */
#define HTTP_RESPONSE_PUT_DATE(out, cap, off, name, t)                         \
	((t) > 0 && (t) < HTTP_RESPONSE_TIME_END                               \
	        ? HTTP_RESPONSE_PUT_IMF(out, cap, off, name, t)                \
	        : 0)

/* What a rebuilt head keeps of the upstream's fields, canonical. */
struct http_response_kept {
	const char *ctype;
	const struct http_span *etag;
	bool have_cc, have_date, have_lm, have_expires;
	bool seen[HTTP_RESPONSE_NDIRECTIVES];
	uint64_t values[HTTP_RESPONSE_NDIRECTIVES];
	time_t date, lm, expires; /* 1970..9999; an Expires not a date: 0 */
};

/*
 * Date field <h>'s value <v> into *t (0, the epoch, for a value that is
 * no date, when <epoch>); counts <h> in *d unless it is the IMF-fixdate
 * of *t already. Returns false, with nothing counted, for a value that
 * is no date when not <epoch>.
 */
static bool
http_response_keep_date(const struct http_header *h, bool epoch, time_t *t,
    struct http_response_dropped *d)
{
	/* The weekdays by days since 1970 modulo 7. */
	static const char wdays[7][4] = {
	    "Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed"};
	const struct http_span *v = &h->value;
	bool same;

	if (http_response_date(v, t) == 0) {
		/*
		 * 29 octets that read as a date are an IMF-fixdate: written
		 * again as they came but for the weekday, which is not
		 * trusted, and a leap second, written as :59.
		 */
		same = v->len == HTTP_RESPONSE_DATE_LEN &&
		    memcmp(v->p, wdays[*t / 86400 % 7], 3) == 0 &&
		    memcmp(v->p + 23, "60", 2) != 0;
	} else if (epoch) {
		*t = 0;
		same = false; /* the epoch's own text reads as a date */
	} else {
		return false;
	}
	if (!same)
		http_response_drop(d, h);
	return true;
}

/*
 * Reads the allowlisted fields of <r> into <k>, each checked and in its
 * canonical form; *d counts the rest, and those rewritten.
 */
static void
http_response_keep(const struct http_response *r,
    struct http_response_dropped *d, struct http_response_kept *k)
{
	memset(k, 0, sizeof(*k));
	for (size_t i = 0; i < r->hs.n; i++) {
		const struct http_header *h = &r->hs.h[i];
		const struct http_span *v = &h->value;
		bool kept = false;

		switch (http_response_field_of(&h->name)) {
		case HTTP_RESPONSE_FRAMING:
			continue;
		case HTTP_RESPONSE_CONTENT_TYPE:
			if (k->ctype != NULL || r->status == 304 ||
			    (k->ctype = http_response_media_type(v)) == NULL)
				break;
			if (v->len != strlen(k->ctype) ||
			    memcmp(v->p, k->ctype, v->len) != 0)
				http_response_drop(d, h);
			kept = true;
			break;
		case HTTP_RESPONSE_CACHE_CONTROL:
			if (http_response_directives_read(
			        v, k->seen, k->values))
				http_response_drop(d, h);
			k->have_cc = kept = true;
			break;
		case HTTP_RESPONSE_ETAG:
			if (k->etag == NULL && http_response_etag_ok(v)) {
				k->etag = v;
				kept = true;
			}
			break;
		case HTTP_RESPONSE_DATE:
			kept = !k->have_date &&
			    http_response_keep_date(h, false, &k->date, d);
			k->have_date = k->have_date || kept;
			break;
		case HTTP_RESPONSE_LAST_MODIFIED:
			kept = !k->have_lm &&
			    http_response_keep_date(h, false, &k->lm, d);
			k->have_lm = k->have_lm || kept;
			break;
		case HTTP_RESPONSE_EXPIRES:
			/* RFC 9111 5.3: an invalid date means "expired". */
			kept = !k->have_expires &&
			    http_response_keep_date(h, true, &k->expires, d);
			k->have_expires = k->have_expires || kept;
			break;
		case HTTP_RESPONSE_OTHER:
			break;
		}
		if (!kept)
			http_response_drop(d, h);
	}
}

/* Writes the fields <k> kept, in the order of a rebuilt head. */
static int
http_response_put_kept(
    const struct http_response_kept *k, char *out, size_t cap, size_t *off)
{
	char cc[HTTP_RESPONSE_VALUE_MAX];
	size_t cclen;
	int rc = 0;

	if (k->ctype != NULL)
		rc |= http_response_put_field(
		    out, cap, off, "Content-Type", k->ctype, strlen(k->ctype));
	if (k->have_cc &&
	    (cclen = http_response_directives_write(
	         k->seen, k->values, cc, sizeof(cc))) > 0)
		rc |= http_response_put_field(
		    out, cap, off, "Cache-Control", cc, cclen);
	if (k->have_date)
		rc |= HTTP_RESPONSE_PUT_IMF(out, cap, off, "Date: ", k->date);
	if (k->have_lm)
		rc |= HTTP_RESPONSE_PUT_IMF(
		    out, cap, off, "Last-Modified: ", k->lm);
	if (k->have_expires)
		rc |= HTTP_RESPONSE_PUT_IMF(
		    out, cap, off, "Expires: ", k->expires);
	if (k->etag != NULL)
		rc |= http_response_put_field(
		    out, cap, off, "ETag", k->etag->p, k->etag->len);
	return rc;
}

int
http_response_client_status(const struct http_response *r)
{
	int code = r->status;

	if (http_response_phrase(code) != NULL)
		return code;
	code = code / 100 * 100;
	return http_response_phrase(code) != NULL ? code : 500;
}

/*
 * Ends a head of <off> bytes at <out> with the framing of <f> and
 * Connection; <rc> is non-zero when something before did not fit.
 * Returns the head's length, or -1.
 */
static int
http_response_put_end(const struct http_response_frame *f, int rc, char *out,
    size_t cap, size_t off)
{
	bool keep = f->keep_alive && f->framing != HTTP_FRAMING_CLOSE;

	switch (f->framing) {
	case HTTP_FRAMING_LENGTH:
		rc |= HTTP_RESPONSE_PUT_LIT(out, cap, &off, "Content-Length: ");
		rc |= http_put_uint(out, cap, &off, f->length);
		rc |= HTTP_RESPONSE_PUT_LIT(out, cap, &off, "\r\n");
		break;
	case HTTP_FRAMING_CHUNKED:
		rc |= http_put_str(
		    out, cap, &off, "Transfer-Encoding: chunked\r\n");
		break;
	case HTTP_FRAMING_NONE:
	case HTTP_FRAMING_CLOSE:
		break;
	}
	rc |= keep ? HTTP_RESPONSE_PUT_LIT(
	                 out, cap, &off, "Connection: keep-alive\r\n\r\n")
	           : HTTP_RESPONSE_PUT_LIT(
	                 out, cap, &off, "Connection: close\r\n\r\n");
	if (rc != 0 || off > (size_t)INT_MAX)
		return -1;
	return (int)off;
}

/* Counts the upstream's status line in *d when its phrase is not ours. */
static void
http_response_weigh_status(
    const struct http_response *r, int code, struct http_response_dropped *d)
{
	const char *phrase = http_response_phrase(code);

	if (r->reason_phrase.len != strlen(phrase) ||
	    memcmp(r->reason_phrase.p, phrase, r->reason_phrase.len) != 0 ||
	    code != r->status) {
		d->fields++;
		d->bytes += r->reason_phrase.len;
	}
}

int
http_response_build_client(const struct http_response *r,
    const struct http_response_frame *f, struct http_response_dropped *d,
    char *out, size_t cap)
{
	struct http_response_dropped ignored;
	struct http_response_kept k;
	int code = http_response_client_status(r);
	size_t off = 0;
	int rc = 0;

	if (d == NULL)
		d = &ignored;
	memset(d, 0, sizeof(*d));
	if (f->framing == HTTP_FRAMING_CHUNKED && f->http10_client)
		return -1; /* HTTP/1.0 has no chunked coding */
	http_response_weigh_status(r, code, d);
	rc |= http_put_str(
	    out, cap, &off, f->http10_client ? "HTTP/1.0 " : "HTTP/1.1 ");
	rc |= http_put_uint(out, cap, &off, (uint64_t)code);
	rc |= http_put_str(out, cap, &off, " ");
	rc |= http_put_str(out, cap, &off, http_response_phrase(code));
	rc |= http_put_str(out, cap, &off, "\r\n");
	http_response_keep(r, d, &k);
	rc |= http_response_put_kept(&k, out, cap, &off);
	return http_response_put_end(f, rc, out, cap, off);
}

void
http_response_weigh(
    const struct http_response *r, struct http_response_dropped *d)
{
	struct http_response_kept k;

	/*
	 * What the rebuild would leave out is what the judged head does:
	 * the rebuild's count, without writing its head (which always fits).
	 */
	memset(d, 0, sizeof(*d));
	http_response_weigh_status(r, http_response_client_status(r), d);
	http_response_keep(r, d, &k);
}

int
http_response_build_judged(const struct http_response_judged *j,
    const struct http_response_frame *f, char *out, size_t cap)
{
	size_t off = 0;
	int rc = 0;

	/* A judged answer's length is known; a 304 has no body. */
	if (f->framing == HTTP_FRAMING_CHUNKED ||
	    f->framing == HTTP_FRAMING_CLOSE ||
	    (j->not_modified && f->framing != HTTP_FRAMING_NONE))
		return -1;
	if (j->not_modified)
		rc |= f->http10_client ? HTTP_RESPONSE_PUT_LIT(out, cap, &off,
		                             "HTTP/1.0 304 Not Modified\r\n")
		                       : HTTP_RESPONSE_PUT_LIT(out, cap, &off,
		                             "HTTP/1.1 304 Not Modified\r\n");
	else
		rc |= f->http10_client ? HTTP_RESPONSE_PUT_LIT(out, cap, &off,
		                             "HTTP/1.0 200 OK\r\n")
		                       : HTTP_RESPONSE_PUT_LIT(out, cap, &off,
		                             "HTTP/1.1 200 OK\r\n");
	if (!j->not_modified && j->content_type != NULL) {
		rc |= HTTP_RESPONSE_PUT_LIT(out, cap, &off, "Content-Type: ");
		rc |= http_put_str(out, cap, &off, j->content_type);
		rc |= HTTP_RESPONSE_PUT_LIT(out, cap, &off, "\r\n");
	}
	if (j->expires > 0 && j->expires < HTTP_RESPONSE_TIME_END) {
		/* RFC 5019 6.2's directives, max-age up to the next update. */
		uint64_t age = j->date > 0 && j->expires > j->date
		    ? (uint64_t)(j->expires - j->date)
		    : 0;

		if (j->fresh_max > 0 && age > (uint64_t)j->fresh_max)
			age = (uint64_t)j->fresh_max;
		rc |= HTTP_RESPONSE_PUT_LIT(
		    out, cap, &off, "Cache-Control: max-age=");
		rc |= http_put_uint(out, cap, &off, age);
		rc |= HTTP_RESPONSE_PUT_LIT(out, cap, &off,
		    ", public, no-transform, must-revalidate\r\n");
	} else if (j->last_modified > 0) {
		rc |= HTTP_RESPONSE_PUT_LIT(
		    out, cap, &off, "Cache-Control: no-cache\r\n");
	}
	rc |= HTTP_RESPONSE_PUT_DATE(out, cap, &off, "Date: ", j->date);
	rc |= HTTP_RESPONSE_PUT_DATE(out, cap, &off, "Last-Modified: ",
	    j->date > 0 && j->last_modified > j->date ? j->date
	                                              : j->last_modified);
	rc |= HTTP_RESPONSE_PUT_DATE(out, cap, &off, "Expires: ", j->expires);
	return http_response_put_end(f, rc, out, cap, off);
}

int
http_response_chunk_line(size_t len, char *out, size_t cap)
{
	int n = snprintf(out, cap, "%zx\r\n", len);

	if (n < 0 || (size_t)n >= cap)
		return -1;
	return n;
}
