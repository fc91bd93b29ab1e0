/*
 * The request header filter: a request is rebuilt, not relayed. Only the
 * fields a certificate-status client needs go upstream, each within a
 * size and a shape; the rest is dropped, named and weighed. Also the
 * client's header-name fingerprint and the CryptoAPI shape check.
 * Pure: no I/O, no libevent, no globals.
 */
#include <ctype.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "ocspgate/http_filter.h"
#include "ocspgate/sha256.h"

/* How a field's value must look to be forwarded. */
enum http_filter_shape {
	SHAPE_TEXT = 0, /* printable ASCII and spaces: User-Agent */
	SHAPE_ACCEPT,   /* media ranges with parameters */
	SHAPE_LANGUAGE, /* language ranges with q-values */
	SHAPE_CODINGS,  /* content codings with q-values */
	SHAPE_CACHE,    /* cache directives, token or token = token */
	SHAPE_TOKENS,   /* a list of tokens */
	SHAPE_DATE,     /* an HTTP-date, forwarded re-formatted */
	SHAPE_ETAGS,    /* "*" or a list of entity-tags */
	SHAPE_MEDIA,    /* type/subtype, forwarded without parameters */
	SHAPE_VIA,      /* protocol and host pairs, no comments */
	SHAPE_DIGITS,   /* a decimal number */
	SHAPE_ANY       /* checked by the parser already */
};

/*
 * What goes upstream of a forwarded field: no more than a responder
 * needs, so that an attacker's choice in it is a few bytes (the table in
 * docs/security.md).
 */
enum http_filter_rebuild {
	REBUILD_AS_IS = 0, /* the value (already re-written if its shape is) */
	REBUILD_AGENT,     /* the first product, if a known client's */
	REBUILD_ACCEPT,    /* a known client's value, else "* / *" */
	REBUILD_CACHE,     /* the known request directives, canonical */
	REBUILD_PRAGMA,    /* "no-cache", or nothing */
	REBUILD_BODY_TYPE  /* only on a request with a body */
};

/*
 * The fields the filter knows. Forwarded ones go upstream under <name>,
 * in this order, rebuilt as <rebuild> says; consumed ones are acted on
 * by ocspgate or not needed upstream (framing, connection, content
 * negotiation a status answer does not need, the client's Via) and never
 * forwarded. Either kind over <max_bytes> or out of shape is dropped.
 * The list is what the clients of docs/event-log.md send (CryptoAPI,
 * NSS/Firefox, Java, OpenSSL, Go, curl), less Cookie, Authorization and
 * their kin, which an OCSP or CRL fetch never needs.
 */
static const struct http_filter_field {
	const char *name;
	size_t name_len;
	enum http_field id;
	size_t max_bytes;
	enum http_filter_shape shape;
	bool consumed;
	enum http_filter_rebuild rebuild;
} http_filter_fields[] = {
    {"User-Agent", 10, HTTP_FIELD_USER_AGENT, 256, SHAPE_TEXT, false,
        REBUILD_AGENT},
    {"Accept", 6, HTTP_FIELD_ACCEPT, 256, SHAPE_ACCEPT, false, REBUILD_ACCEPT},
    {"Cache-Control", 13, HTTP_FIELD_CACHE_CONTROL, 64, SHAPE_CACHE, false,
        REBUILD_CACHE},
    {"Pragma", 6, HTTP_FIELD_PRAGMA, 32, SHAPE_TOKENS, false, REBUILD_PRAGMA},
    {"Content-Type", 12, HTTP_FIELD_CONTENT_TYPE, HTTP_MEDIA_TYPE_MAX,
        SHAPE_MEDIA, false, REBUILD_BODY_TYPE},
    /*
     * Consumed: ocspgate answers conditional requests itself, from the
     * dates of the answer it judged (http_filter_not_modified()), so the
     * validators, chosen by the client, never go upstream; an answer's
     * content coding is neither decoded nor relayed (an OCSP answer or a
     * CRL is judged as DER), languages mean nothing to a responder, and
     * ocspgate writes a Via of its own.
     */
    {"If-Modified-Since", 17, HTTP_FIELD_IF_MODIFIED_SINCE, 64, SHAPE_DATE,
        true, REBUILD_AS_IS},
    {"If-None-Match", 13, HTTP_FIELD_IF_NONE_MATCH, 128, SHAPE_ETAGS, true,
        REBUILD_AS_IS},
    {"Accept-Language", 15, HTTP_FIELD_ACCEPT_LANGUAGE, 128, SHAPE_LANGUAGE,
        true, REBUILD_AS_IS},
    {"Accept-Encoding", 15, HTTP_FIELD_ACCEPT_ENCODING, 64, SHAPE_CODINGS, true,
        REBUILD_AS_IS},
    {"Via", 3, HTTP_FIELD_VIA, 128, SHAPE_VIA, true, REBUILD_AS_IS},
    {"Host", 4, HTTP_FIELD_HOST, 0, SHAPE_ANY, true, REBUILD_AS_IS},
    {"Content-Length", 14, HTTP_FIELD_CONTENT_LENGTH, 20, SHAPE_DIGITS, true,
        REBUILD_AS_IS},
    {"Transfer-Encoding", 17, HTTP_FIELD_TRANSFER_ENCODING, 0, SHAPE_ANY, true,
        REBUILD_AS_IS},
    {"Expect", 6, HTTP_FIELD_EXPECT, 0, SHAPE_ANY, true, REBUILD_AS_IS},
    {"Connection", 10, HTTP_FIELD_CONNECTION, 64, SHAPE_TOKENS, true,
        REBUILD_AS_IS},
    {"Proxy-Connection", 16, HTTP_FIELD_PROXY_CONNECTION, 32, SHAPE_TOKENS,
        true, REBUILD_AS_IS},
    {"Keep-Alive", 10, HTTP_FIELD_KEEP_ALIVE, 64, SHAPE_CACHE, true,
        REBUILD_AS_IS},
};
#define HTTP_FILTER_NFIELDS                                                    \
	(sizeof(http_filter_fields) / sizeof(http_filter_fields[0]))

/* The row of each enum http_field in http_filter_fields[], plus one. */
static const uint8_t http_filter_row_of[HTTP_FIELD_COUNT] = {
    [HTTP_FIELD_USER_AGENT] = 1,
    [HTTP_FIELD_ACCEPT] = 2,
    [HTTP_FIELD_CACHE_CONTROL] = 3,
    [HTTP_FIELD_PRAGMA] = 4,
    [HTTP_FIELD_CONTENT_TYPE] = 5,
    [HTTP_FIELD_IF_MODIFIED_SINCE] = 6,
    [HTTP_FIELD_IF_NONE_MATCH] = 7,
    [HTTP_FIELD_ACCEPT_LANGUAGE] = 8,
    [HTTP_FIELD_ACCEPT_ENCODING] = 9,
    [HTTP_FIELD_VIA] = 10,
    [HTTP_FIELD_HOST] = 11,
    [HTTP_FIELD_CONTENT_LENGTH] = 12,
    [HTTP_FIELD_TRANSFER_ENCODING] = 13,
    [HTTP_FIELD_EXPECT] = 14,
    [HTTP_FIELD_CONNECTION] = 15,
    [HTTP_FIELD_PROXY_CONNECTION] = 16,
    [HTTP_FIELD_KEEP_ALIVE] = 17,
};

static const char *const http_filter_flag_names[HTTP_FLAG_COUNT] = {
    [HTTP_FLAG_UA_MISMATCH] = "ua_mismatch",
    [HTTP_FLAG_EXCESS_HEADERS] = "excess_headers",
    [HTTP_FLAG_HEADER_BOUNDS] = "header_out_of_bounds",
    [HTTP_FLAG_NO_HOST] = "no_host",
    [HTTP_FLAG_HOST_BY_ADDRESS] = "host_by_address",
};

const char *
http_filter_flag_name(unsigned bit)
{
	return bit < HTTP_FLAG_COUNT ? http_filter_flag_names[bit] : NULL;
}

/* The separators a shape may allow besides tchar, as bits. */
#define SEP_SLASH  0x01u /* '/' */
#define SEP_COMMA  0x02u /* ',' */
#define SEP_SEMI   0x04u /* ';' */
#define SEP_EQ     0x08u /* '=' */
#define SEP_SPACE  0x10u /* ' ' and HTAB */
#define SEP_COLON  0x20u /* ':' */
#define CHAR_TCHAR 0x80u /* RFC 9110 5.6.2 tchar */

/* Each byte's class: CHAR_TCHAR or its SEP_ bit; 0 past 0x7f. */
#define T  CHAR_TCHAR
#define SP SEP_SPACE
#define SL SEP_SLASH
#define CM SEP_COMMA
#define SC SEP_SEMI
#define EQ SEP_EQ
#define CL SEP_COLON
/* clang-format off */
static const uint8_t http_filter_class[256] = {
	/* 0x00 */ 0, 0, 0, 0, 0, 0, 0, 0, 0, SP, 0, 0, 0, 0, 0, 0,
	/* 0x10 */ 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
	/* 0x20 */ SP, T, 0, T, T, T, T, T, 0, 0, T, T, CM, T, T, SL,
	/* 0x30 */ T, T, T, T, T, T, T, T, T, T, CL, SC, 0, EQ, 0, 0,
	/* 0x40 */ 0, T, T, T, T, T, T, T, T, T, T, T, T, T, T, T,
	/* 0x50 */ T, T, T, T, T, T, T, T, T, T, T, 0, 0, 0, T, T,
	/* 0x60 */ T, T, T, T, T, T, T, T, T, T, T, T, T, T, T, T,
	/* 0x70 */ T, T, T, T, T, T, T, T, T, T, T, 0, T, 0, T, 0,
};
/* clang-format on */
#undef T
#undef SP
#undef SL
#undef CM
#undef SC
#undef EQ
#undef CL

static bool
http_filter_tchar(unsigned char c)
{
	return (http_filter_class[c] & CHAR_TCHAR) != 0;
}

/*
 * True when the 8 bytes of <w> are all printable ASCII (0x20 to 0x7e):
 * none below 0x20, none above 0x7e (bit 0x80 set, or 0x7f).
 */
static bool
http_filter_printable8(uint64_t w)
{
	const uint64_t ones = 0x0101010101010101u, high = 0x8080808080808080u;

	/* No borrow nor carry crosses bytes unless a byte is out already. */
	return (((w - ones * 0x20) | (w + ones) | w) & high) == 0;
}

/* True when every byte of the <n> at <p> is printable ASCII or HTAB. */
static bool
http_filter_text(const char *p, size_t n)
{
	size_t i = 0;
	uint64_t w;

	for (; i + 8 <= n; i += 8) {
		memcpy(&w, p + i, 8);
		if (!http_filter_printable8(w))
			break; /* a tab, perhaps: byte by byte */
	}
	for (; i < n; i++) {
		unsigned char c = (unsigned char)p[i];

		if ((c < 0x20 || c > 0x7e) && c != '\t')
			return false;
	}
	return true;
}

/* True when every byte of <v> is a tchar or a separator in <seps>. */
static bool
http_filter_chars(struct http_span v, unsigned seps)
{
	for (size_t i = 0; i < v.len; i++) {
		unsigned char c = (unsigned char)v.p[i];

		if ((http_filter_class[c] & (CHAR_TCHAR | seps)) == 0)
			return false;
	}
	return true;
}

/* "*" or 1#entity-tag (RFC 9110 8.8.3), OWS around the commas. */
static bool
http_filter_etags(struct http_span v)
{
	size_t i = 0;

	if (v.len == 1 && v.p[0] == '*')
		return true;
	for (;;) {
		if (v.len - i >= 2 && v.p[i] == 'W' && v.p[i + 1] == '/')
			i += 2;
		if (i >= v.len || v.p[i] != '"')
			return false;
		for (i++; i < v.len && v.p[i] != '"'; i++) {
			unsigned char c = (unsigned char)v.p[i];

			/* etagc, without obs-text */
			if (c < 0x21 || c > 0x7e)
				return false;
		}
		if (i >= v.len)
			return false;
		i++;
		while (i < v.len && (v.p[i] == ' ' || v.p[i] == '\t'))
			i++;
		if (i == v.len)
			return true;
		if (v.p[i] != ',')
			return false;
		i++;
		while (i < v.len && (v.p[i] == ' ' || v.p[i] == '\t'))
			i++;
	}
}

/*
 * type "/" subtype of a media type; *out gets it without parameters,
 * which no certificate-status request needs (whatever they hold: the
 * policy reads the type alone, and they are never forwarded).
 */
static bool
http_filter_media(struct http_span v, struct http_span *out)
{
	size_t i = 0, slash = 0;

	while (i < v.len && http_filter_tchar((unsigned char)v.p[i]))
		i++;
	if (i == 0 || i == v.len || v.p[i] != '/')
		return false;
	slash = i++;
	while (i < v.len && http_filter_tchar((unsigned char)v.p[i]))
		i++;
	if (i == slash + 1)
		return false;
	out->p = v.p;
	out->len = i;
	while (i < v.len && (v.p[i] == ' ' || v.p[i] == '\t'))
		i++;
	return i == v.len || v.p[i] == ';';
}

static const char *const http_filter_months[12] = {"Jan", "Feb", "Mar", "Apr",
    "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};

/* Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant). */
static int64_t
http_filter_days(int64_t y, unsigned m, unsigned d)
{
	int64_t era;
	unsigned yoe, doy, doe;

	y -= m <= 2;
	era = (y >= 0 ? y : y - 399) / 400;
	yoe = (unsigned)(y - era * 400);
	doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + (int64_t)doe - 719468;
}

/* Reads exactly <n> digits at p[*i]; -1 when they are not there. */
static int
http_filter_num(const char *p, size_t len, size_t *i, size_t n)
{
	int v = 0;

	if (len - *i < n)
		return -1;
	for (size_t k = 0; k < n; k++, (*i)++) {
		if (p[*i] < '0' || p[*i] > '9')
			return -1;
		v = v * 10 + (p[*i] - '0');
	}
	return v;
}

static bool
http_filter_lit(const char *p, size_t len, size_t *i, const char *lit)
{
	size_t n = strlen(lit);

	if (len - *i < n || memcmp(p + *i, lit, n) != 0)
		return false;
	*i += n;
	return true;
}

static int
http_filter_month(const char *p, size_t len, size_t *i)
{
	for (int m = 0; m < 12; m++) {
		if (http_filter_lit(p, len, i, http_filter_months[m]))
			return m + 1;
	}
	return -1;
}

/* "HH:MM:SS" into seconds of the day, or -1. */
static int
http_filter_clock(const char *p, size_t len, size_t *i)
{
	int h, m, s;

	if ((h = http_filter_num(p, len, i, 2)) < 0 ||
	    !http_filter_lit(p, len, i, ":") ||
	    (m = http_filter_num(p, len, i, 2)) < 0 ||
	    !http_filter_lit(p, len, i, ":") ||
	    (s = http_filter_num(p, len, i, 2)) < 0)
		return -1;
	if (h > 23 || m > 59 || s > 60)
		return -1;
	return h * 3600 + m * 60 + s;
}

int
http_filter_parse_date(const char *p, size_t len, int64_t *t)
{
	static const char *const long_days[7] = {"Monday", "Tuesday",
	    "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"};
	size_t i = 0;
	int day = -1, mon = -1, year = -1, secs = -1;
	static const unsigned mdays[12] = {
	    31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};

	if (len >= 5 && p[3] == ',') {
		/* IMF-fixdate: "Sun, 06 Nov 1994 08:49:37 GMT" */
		i = 4;
		if (!http_filter_lit(p, len, &i, " ") ||
		    (day = http_filter_num(p, len, &i, 2)) < 0 ||
		    !http_filter_lit(p, len, &i, " ") ||
		    (mon = http_filter_month(p, len, &i)) < 0 ||
		    !http_filter_lit(p, len, &i, " ") ||
		    (year = http_filter_num(p, len, &i, 4)) < 0 ||
		    !http_filter_lit(p, len, &i, " ") ||
		    (secs = http_filter_clock(p, len, &i)) < 0 ||
		    !http_filter_lit(p, len, &i, " GMT"))
			return -1;
	} else if (len >= 4 && p[3] == ' ') {
		/* asctime: "Sun Nov  6 08:49:37 1994" */
		i = 4;
		if ((mon = http_filter_month(p, len, &i)) < 0 ||
		    !http_filter_lit(p, len, &i, " "))
			return -1;
		if (i < len && p[i] == ' ') {
			i++;
			day = http_filter_num(p, len, &i, 1);
		} else {
			day = http_filter_num(p, len, &i, 2);
		}
		if (day < 0 || !http_filter_lit(p, len, &i, " ") ||
		    (secs = http_filter_clock(p, len, &i)) < 0 ||
		    !http_filter_lit(p, len, &i, " ") ||
		    (year = http_filter_num(p, len, &i, 4)) < 0)
			return -1;
	} else {
		/* RFC 850: "Sunday, 06-Nov-94 08:49:37 GMT" */
		int yy;

		for (int k = 0; k < 7 && i == 0; k++) {
			if (http_filter_lit(p, len, &i, long_days[k]))
				break;
		}
		if (i == 0 || !http_filter_lit(p, len, &i, ", ") ||
		    (day = http_filter_num(p, len, &i, 2)) < 0 ||
		    !http_filter_lit(p, len, &i, "-") ||
		    (mon = http_filter_month(p, len, &i)) < 0 ||
		    !http_filter_lit(p, len, &i, "-") ||
		    (yy = http_filter_num(p, len, &i, 2)) < 0 ||
		    !http_filter_lit(p, len, &i, " ") ||
		    (secs = http_filter_clock(p, len, &i)) < 0 ||
		    !http_filter_lit(p, len, &i, " GMT"))
			return -1;
		/* RFC 9110 5.6.7 leaves the century to the recipient. */
		year = yy < 70 ? 2000 + yy : 1900 + yy;
	}
	if (i != len || day < 1 || (unsigned)day > mdays[mon - 1] ||
	    year < 1970)
		return -1;
	*t =
	    http_filter_days(year, (unsigned)mon, (unsigned)day) * 86400 + secs;
	return 0;
}

/*
 * Whether <h>'s value fits <f>; sets h->out to what is forwarded. For
 * If-Modified-Since the time goes to *t.
 */
static bool
http_filter_fits(
    const struct http_filter_field *f, struct http_header *h, int64_t *t)
{
	struct http_span v = h->value;

	h->out = v;
	if (f->shape == SHAPE_ANY)
		return true;
	/* Only the media type goes upstream: its size is what is bounded. */
	if (f->shape == SHAPE_MEDIA)
		return http_filter_media(v, &h->out) &&
		    h->out.len <= f->max_bytes;
	if (v.len == 0 || v.len > f->max_bytes)
		return false;
	switch (f->shape) {
	case SHAPE_TEXT:
		return http_filter_text(v.p, v.len);
	case SHAPE_ACCEPT:
		return http_filter_chars(
		    v, SEP_SLASH | SEP_COMMA | SEP_SEMI | SEP_EQ | SEP_SPACE);
	case SHAPE_LANGUAGE:
	case SHAPE_CODINGS:
	case SHAPE_CACHE:
		return http_filter_chars(
		    v, SEP_COMMA | SEP_SEMI | SEP_EQ | SEP_SPACE);
	case SHAPE_TOKENS:
		return http_filter_chars(v, SEP_COMMA | SEP_SPACE);
	case SHAPE_DATE:
		return http_filter_parse_date(v.p, v.len, t) == 0;
	case SHAPE_ETAGS:
		return http_filter_etags(v);
	case SHAPE_MEDIA:
		return http_filter_media(v, &h->out);
	case SHAPE_VIA:
		return http_filter_chars(
		    v, SEP_SLASH | SEP_COLON | SEP_COMMA | SEP_SPACE);
	case SHAPE_DIGITS:
		for (size_t i = 0; i < v.len; i++) {
			if (v.p[i] < '0' || v.p[i] > '9')
				return false;
		}
		return true;
	case SHAPE_ANY:
		break;
	}
	return true;
}

/*
 * The products real certificate-status clients name first in their
 * User-Agent (docs/event-log.md): CryptoAPI, NSS browsers, Java, Apple's
 * trustd (ocspd before it), Android, Go, curl, Wget, OkHttp and Apache's
 * client. Only the first product goes upstream, and only one of these:
 * no responder answers by User-Agent (OpenSSL sends none to any CA).
 */
#define HTTP_FILTER_LIT(lit)                                                   \
	{                                                                      \
		lit, sizeof(lit) - 1                                           \
	}
static const struct http_filter_lit {
	const char *s;
	size_t len;
} http_filter_agents[] = {
    HTTP_FILTER_LIT("Microsoft-CryptoAPI"),
    HTTP_FILTER_LIT("Mozilla"),
    HTTP_FILTER_LIT("Java"),
    HTTP_FILTER_LIT("com.apple.trustd"),
    HTTP_FILTER_LIT("ocspd"),
    HTTP_FILTER_LIT("Dalvik"),
    HTTP_FILTER_LIT("Go-http-client"),
    HTTP_FILTER_LIT("curl"),
    HTTP_FILTER_LIT("Wget"),
    HTTP_FILTER_LIT("okhttp"),
    HTTP_FILTER_LIT("Apache-HttpClient"),
};

/*
 * A forwarded product keeps its version's first two numbers (major and
 * minor, as "10.0", "17.0", "7.88"), each of at most this many digits.
 */
#define HTTP_FILTER_VERSION_DIGITS 4

/* The length of the "N[.N]" that opens <p> (<len> bytes), or 0. */
static size_t
http_filter_version(const char *p, size_t len)
{
	size_t i = 0, d;

	for (int part = 0; part < 2; part++) {
		size_t start = i + (part > 0);

		if (part > 0 && (i >= len || p[i] != '.'))
			break;
		for (d = 0; start + d < len && d < HTTP_FILTER_VERSION_DIGITS &&
		     p[start + d] >= '0' && p[start + d] <= '9';
		     d++)
			;
		if (d == 0)
			break;
		i = start + d;
	}
	return i;
}

static bool
http_filter_agent(struct http_span v, struct http_span *out)
{
	/*
	 * The first product is the value up to its first '/' or ' '; no
	 * known name holds either, so a known one is a prefix of the value
	 * that ends there.
	 */
	for (size_t k = 0;
	     k < sizeof(http_filter_agents) / sizeof(http_filter_agents[0]);
	     k++) {
		size_t n = http_filter_agents[k].len, ver = 0;

		if (v.len < n || v.p[0] != http_filter_agents[k].s[0] ||
		    (n < v.len && v.p[n] != '/' && v.p[n] != ' ') ||
		    memcmp(v.p, http_filter_agents[k].s, n) != 0)
			continue;
		if (n < v.len && v.p[n] == '/')
			ver = http_filter_version(v.p + n + 1, v.len - n - 1);
		out->p = v.p;
		out->len = ver > 0 ? n + 1 + ver : n;
		return true;
	}
	return false;
}

/*
 * Accept values real clients send (docs/event-log.md): forwarded as they
 * are; any other goes upstream as "* / *", which asks for no less.
 */
static const struct http_filter_lit http_filter_accepts[] = {
    HTTP_FILTER_LIT("*/*"),
    HTTP_FILTER_LIT("application/ocsp-response"),
    HTTP_FILTER_LIT("application/pkix-crl"),
    HTTP_FILTER_LIT("application/pkix-cert"),
    HTTP_FILTER_LIT("text/html, image/gif, image/jpeg, *; q=.2, */*; q=.2"),
    HTTP_FILTER_LIT("text/html, image/gif, image/jpeg, */*; q=0.2"),
    HTTP_FILTER_LIT(
        "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"),
};

static void
http_filter_accept(struct http_span v, struct http_span *out)
{
	const struct http_filter_lit *known = &http_filter_accepts[0];

	for (size_t k = 0;
	     k < sizeof(http_filter_accepts) / sizeof(http_filter_accepts[0]);
	     k++) {
		if (http_filter_accepts[k].len == v.len &&
		    memcmp(v.p, http_filter_accepts[k].s, v.len) == 0)
			known = &http_filter_accepts[k];
	}
	out->p = known->s;
	out->len = known->len;
}

/*
 * The request directives of RFC 9111 5.2.1 a responder acts on, in the
 * order they are written upstream; <arg> 1: takes delta-seconds, 2: may.
 */
static const struct {
	const char *name;
	size_t len;
	int arg;
} http_filter_cache_directives[] = {{"no-cache", 8, 0}, {"no-store", 8, 0},
    {"max-age", 7, 1}, {"max-stale", 9, 2}, {"min-fresh", 9, 1},
    {"no-transform", 12, 0}, {"only-if-cached", 14, 0}};
/* The one directive whose delta is rounded up. */
#define HTTP_FILTER_MIN_FRESH 4
#define HTTP_FILTER_NDIRECTIVES                                                \
	(sizeof(http_filter_cache_directives) /                                \
	    sizeof(http_filter_cache_directives[0]))

/* delta-seconds past 2^31 are 2^31 (RFC 9111 1.2.2). */
#define HTTP_FILTER_DELTA_MAX 2147483648u

/*
 * The delta-seconds a request directive goes upstream with: one of a
 * few steps (a minute, five, a quarter hour, an hour, four, a day, a
 * week, thirty days), rounded to the stricter side: max-age and
 * max-stale down, min-fresh up. A client asks for no staler an answer
 * than it did; the number carries a few bits, not 31.
 */
static uint64_t
http_filter_step(uint64_t d, bool up)
{
	static const uint64_t steps[] = {0, 60, 300, 900, 3600, 14400, 86400,
	    604800, 2592000, HTTP_FILTER_DELTA_MAX};
	size_t k = 0;

	while (k + 1 < sizeof(steps) / sizeof(steps[0]) && steps[k + 1] <= d)
		k++;
	if (up && steps[k] < d)
		k++;
	return steps[k];
}

/*
 * Cache-Control as "d, d=N, ..." of the known directives, each once, in
 * the table's order, into <buf>; false when none is there. The value's
 * shape was checked (tokens, '=', ',', ';' and spaces): what is not a
 * known directive with the argument it takes is left out.
 */
static bool
http_filter_cache(struct http_span v, char *buf, struct http_span *out)
{
	bool seen[HTTP_FILTER_NDIRECTIVES] = {false};
	uint64_t delta[HTTP_FILTER_NDIRECTIVES] = {0};
	bool has[HTTP_FILTER_NDIRECTIVES] = {false};
	size_t i = 0, off = 0;

	while (i < v.len) {
		size_t a, b;
		bool arg = false, ok = true;
		uint64_t d = 0;

		while (i < v.len &&
		    (v.p[i] == ' ' || v.p[i] == '\t' || v.p[i] == ','))
			i++;
		a = i;
		while (i < v.len && http_filter_tchar((unsigned char)v.p[i]))
			i++;
		b = i;
		while (i < v.len && (v.p[i] == ' ' || v.p[i] == '\t'))
			i++;
		if (i < v.len && v.p[i] == '=') {
			size_t digits = 0;

			arg = true;
			i++;
			while (i < v.len && (v.p[i] == ' ' || v.p[i] == '\t'))
				i++;
			while (i < v.len && v.p[i] >= '0' && v.p[i] <= '9') {
				if (d < HTTP_FILTER_DELTA_MAX)
					d = d * 10 + (uint64_t)(v.p[i] - '0');
				digits++;
				i++;
			}
			ok = digits > 0;
			if (d > HTTP_FILTER_DELTA_MAX)
				d = HTTP_FILTER_DELTA_MAX;
		}
		/* Anything else up to the next comma spoils this directive. */
		while (i < v.len && v.p[i] != ',') {
			if (v.p[i] != ' ' && v.p[i] != '\t')
				ok = false;
			i++;
		}
		for (size_t k = 0; ok && k < HTTP_FILTER_NDIRECTIVES; k++) {
			const char *n = http_filter_cache_directives[k].name;
			int want = http_filter_cache_directives[k].arg;

			if (http_filter_cache_directives[k].len != b - a ||
			    strncasecmp(v.p + a, n, b - a) != 0)
				continue;
			if (seen[k] || (want == 1 && !arg) ||
			    (want == 0 && arg))
				break;
			seen[k] = true;
			has[k] = arg;
			delta[k] =
			    http_filter_step(d, k == HTTP_FILTER_MIN_FRESH);
			break;
		}
	}
	for (size_t k = 0; k < HTTP_FILTER_NDIRECTIVES; k++) {
		if (!seen[k])
			continue;
		if (off > 0)
			(void)http_put_str(
			    buf, HTTP_CACHE_CONTROL_MAX, &off, ", ");
		(void)http_put(buf, HTTP_CACHE_CONTROL_MAX, &off,
		    http_filter_cache_directives[k].name,
		    http_filter_cache_directives[k].len);
		if (has[k]) {
			(void)http_put_str(
			    buf, HTTP_CACHE_CONTROL_MAX, &off, "=");
			(void)http_put_uint(
			    buf, HTTP_CACHE_CONTROL_MAX, &off, delta[k]);
		}
	}
	if (off == 0)
		return false;
	buf[off] = '\0';
	out->p = buf;
	out->len = off;
	return true;
}

/* True when <v>, a list of tokens, holds "no-cache". */
static bool
http_filter_pragma(struct http_span v)
{
	size_t i = 0;

	while (i < v.len) {
		size_t a;

		while (i < v.len &&
		    (v.p[i] == ' ' || v.p[i] == '\t' || v.p[i] == ','))
			i++;
		a = i;
		while (i < v.len && v.p[i] != ',' && v.p[i] != ' ' &&
		    v.p[i] != '\t')
			i++;
		if (i - a == 8 && strncasecmp(v.p + a, "no-cache", 8) == 0)
			return true;
	}
	return false;
}

/*
 * What of <h> (its value checked by http_filter_fits()) goes upstream,
 * into h->out; false when nothing does.
 */
static bool
http_filter_rebuild(const struct http_filter_field *f, struct http_header *h,
    const struct http_request *r, char *cc, char *ct)
{
	switch (f->rebuild) {
	case REBUILD_AS_IS:
		return true;
	case REBUILD_AGENT:
		return http_filter_agent(h->value, &h->out);
	case REBUILD_ACCEPT:
		http_filter_accept(h->value, &h->out);
		return true;
	case REBUILD_CACHE:
		return http_filter_cache(h->value, cc, &h->out);
	case REBUILD_PRAGMA:
		h->out.p = "no-cache";
		h->out.len = 8;
		return http_filter_pragma(h->value);
	case REBUILD_BODY_TYPE:
		if (r->body_len == 0 && r->llhttp_method != HTTP_POST &&
		    r->llhttp_method != HTTP_PUT)
			return false;
		/* Media types compare without case: the case carries no bit. */
		for (size_t i = 0; i < h->out.len; i++)
			ct[i] = (char)tolower((unsigned char)h->out.p[i]);
		ct[h->out.len] = '\0';
		h->out.p = ct;
		return true;
	}
	return false;
}

/* The row of field <id>, or NULL when the filter does not know it. */
static const struct http_filter_field *
http_filter_field_of(enum http_field id, size_t *row)
{
	size_t k = http_filter_row_of[id];

	if (k == 0)
		return NULL;
	*row = k - 1;
	return &http_filter_fields[k - 1];
}

const char *
http_filter_field_name(const struct http_header *h)
{
	if (!h->forward || h->field >= HTTP_FILTER_NFIELDS)
		return NULL;
	return http_filter_fields[h->field].name;
}

const char *
http_filter_field_name_len(const struct http_header *h, size_t *len)
{
	if (!h->forward || h->field >= HTTP_FILTER_NFIELDS)
		return NULL;
	*len = http_filter_fields[h->field].name_len;
	return http_filter_fields[h->field].name;
}

size_t
http_filter_rows(void)
{
	return HTTP_FILTER_NFIELDS;
}

const char *
http_filter_forwarded_name(const char *name, size_t len)
{
	size_t row;
	const struct http_filter_field *f =
	    http_filter_field_of(http_field_of(name, len), &row);

	return f != NULL && !f->consumed ? f->name : NULL;
}

/* Field names compare without regard to case. */
static bool
http_filter_same_name(const struct http_span *a, const struct http_span *b)
{
	return a->len == b->len && strncasecmp(a->p, b->p, a->len) == 0;
}

/* Counts h as dropped and keeps its name (once) for the event. */
static void
http_filter_drop(struct http_request *r, size_t i)
{
	struct http_filter *fl = &r->filter;
	struct http_header *h = &r->hs.h[i];

	h->forward = false;
	h->dropped = true;
	fl->ndropped++;
	fl->dropped_bytes += h->name.len + h->value.len;
	for (size_t k = 0; k < fl->nnames; k++) {
		if (http_filter_same_name(
		        &r->hs.h[fl->names[k]].name, &h->name))
			return;
	}
	if (fl->nnames < HTTP_FILTER_NAMES_MAX)
		fl->names[fl->nnames++] = (uint8_t)i;
}

/*
 * SHA-256 of the field names of <r> joined by ','; the names are
 * gathered in a buffer first so that the hash takes a few long runs.
 */
static void
http_filter_names_digest(const struct http_request *r, unsigned char md[32])
{
	struct sha256 c;
	char buf[512];
	size_t off = 0;

	sha256_init(&c);
	for (size_t i = 0; i < r->hs.n; i++) {
		const struct http_span *name = &r->hs.h[i].name;

		if (i > 0) {
			if (off == sizeof(buf)) {
				sha256_update(&c, buf, off);
				off = 0;
			}
			buf[off++] = ',';
		}
		if (name->len > sizeof(buf) - off) {
			sha256_update(&c, buf, off);
			off = 0;
			sha256_update(&c, name->p, name->len);
			continue;
		}
		if (name->len > 0)
			memcpy(buf + off, name->p, name->len);
		off += name->len;
	}
	if (off > 0)
		sha256_update(&c, buf, off);
	sha256_final(&c, md);
}

/*
 * The fingerprint: two letters of the method, the HTTP version's two
 * digits, the number of fields (two digits, 99 at most), '_', and the
 * first 12 hex digits of the SHA-256 of the field names as sent, in
 * order, joined by ','. Defined in docs/event-log.md.
 */
static void
http_filter_fingerprint(struct http_request *r)
{
	static const char hex[] = "0123456789abcdef";
	unsigned char md[32];
	char *fp = r->filter.fingerprint;
	size_t n = r->hs.n > 99 ? 99 : r->hs.n;

	http_filter_names_digest(r, md);
	for (int k = 0; k < 2; k++) {
		char c = r->method.len > (size_t)k ? r->method.p[k] : '0';

		fp[k] = (char)(c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c);
	}
	fp[2] = '1';
	fp[3] = (char)('0' + (r->http_minor > 9 ? 9 : r->http_minor));
	fp[4] = (char)('0' + n / 10);
	fp[5] = (char)('0' + n % 10);
	fp[6] = '_';
	for (int k = 0; k < 6; k++) {
		fp[7 + 2 * k] = hex[md[k] >> 4];
		fp[8 + 2 * k] = hex[md[k] & 15];
	}
	fp[HTTP_FINGERPRINT_LEN] = '\0';
}

/*
 * CryptoAPI's field order: cryptnet.dll adds its fields (Cache-Control,
 * Pragma, Accept, the validators, Content-Type) and WinHTTP puts
 * Connection after the first, then User-Agent, Content-Length and Host
 * last. A request fits when its names, spelled so, appear in this order,
 * each at most once, with User-Agent and Host among them.
 */
static const enum http_field http_filter_cryptoapi_order[] = {
    HTTP_FIELD_CACHE_CONTROL,
    HTTP_FIELD_CONNECTION,
    HTTP_FIELD_PROXY_CONNECTION,
    HTTP_FIELD_PRAGMA,
    HTTP_FIELD_ACCEPT,
    HTTP_FIELD_IF_MODIFIED_SINCE,
    HTTP_FIELD_IF_NONE_MATCH,
    HTTP_FIELD_CONTENT_TYPE,
    HTTP_FIELD_USER_AGENT,
    HTTP_FIELD_CONTENT_LENGTH,
    HTTP_FIELD_HOST,
    HTTP_FIELD_CONTENT_LENGTH,
};
#define HTTP_FILTER_NCRYPTOAPI                                                 \
	(sizeof(http_filter_cryptoapi_order) /                                 \
	    sizeof(http_filter_cryptoapi_order[0]))

/*
 * Each name is one of the list, spelled as the filter's table spells it
 * (CryptoAPI's spelling), after the one before it, and none twice: names
 * equal but for case are one field (name_id), and a name of the list
 * spelled otherwise fails anyway.
 */
bool
http_filter_is_cryptoapi(const struct http_request *r)
{
	size_t pos = 0;
	uint32_t seen = 0;

	if (r->http_minor != 1)
		return false;
	for (size_t i = 0; i < r->hs.n; i++) {
		const struct http_header *h = &r->hs.h[i];
		const struct http_filter_field *f;
		size_t k, row;

		if ((f = http_filter_field_of(
		         (enum http_field)h->name_id, &row)) == NULL ||
		    (seen & 1u << h->name_id) != 0 ||
		    memcmp(h->name.p, f->name, f->name_len) != 0)
			return false;
		seen |= 1u << h->name_id;
		for (k = pos; k < HTTP_FILTER_NCRYPTOAPI; k++) {
			if (http_filter_cryptoapi_order[k] == h->name_id)
				break;
		}
		if (k == HTTP_FILTER_NCRYPTOAPI)
			return false;
		pos = k + 1;
	}
	return (seen & 1u << HTTP_FIELD_USER_AGENT) != 0 &&
	    (seen & 1u << HTTP_FIELD_HOST) != 0;
}

/* True when the User-Agent claims to be Windows CryptoAPI. */
static bool
http_filter_claims_cryptoapi(const struct http_request *r)
{
	static const char claim[] = "Microsoft-CryptoAPI/";
	const struct http_span *ua;

	if (r->ua_hdr < 0)
		return false;
	ua = &r->hs.h[r->ua_hdr].value;
	return ua->len >= sizeof(claim) - 1 &&
	    memcmp(ua->p, claim, sizeof(claim) - 1) == 0;
}

void
http_filter_apply(struct http_request *r)
{
	struct http_filter *fl = &r->filter;
	bool seen[HTTP_FILTER_NFIELDS] = {false};

	memset(fl, 0, sizeof(*fl));
	for (size_t i = 0; i < r->hs.n; i++) {
		struct http_header *h = &r->hs.h[i];
		const struct http_filter_field *f;
		size_t row = 0;
		int64_t t = 0;

		h->forward = false;
		h->dropped = false;
		h->out = h->value;
		f = http_filter_field_of((enum http_field)h->name_id, &row);
		if (f == NULL) {
			http_filter_drop(r, i);
			continue;
		}
		/* Every validator counts, of use or not: see
		 * http_filter_not_modified(). */
		fl->inm_lines += f->shape == SHAPE_ETAGS;
		fl->ims_lines += f->shape == SHAPE_DATE;
		if (!http_filter_fits(f, h, &t)) {
			fl->flags |= 1u << HTTP_FLAG_HEADER_BOUNDS;
			http_filter_drop(r, i);
			continue;
		}
		if (f->shape == SHAPE_DATE)
			fl->ims = t;
		else if (f->shape == SHAPE_ETAGS)
			fl->inm_any = h->value.len == 1 && h->value.p[0] == '*';
		if (f->consumed)
			continue;
		/* A second copy adds nothing a client needs. */
		if (seen[row]) {
			http_filter_drop(r, i);
			continue;
		}
		seen[row] = true;
		/* Named in Connection: hop-by-hop, not forwarded. */
		if (h->hop_by_hop)
			continue;
		/* Media type parameters are left behind: they weigh too. */
		if (f->shape == SHAPE_MEDIA)
			fl->dropped_bytes += h->value.len - h->out.len;
		if (!http_filter_rebuild(f, h, r, fl->cc, fl->ct))
			continue;
		h->forward = true;
		h->field = (uint8_t)row;
	}
	if (r->host_hdr < 0)
		fl->flags |= 1u << HTTP_FLAG_NO_HOST;
	if (fl->dropped_bytes > HTTP_FILTER_BUDGET_BYTES)
		fl->flags |= 1u << HTTP_FLAG_EXCESS_HEADERS;
	if (http_filter_claims_cryptoapi(r) && !http_filter_is_cryptoapi(r))
		fl->flags |= 1u << HTTP_FLAG_UA_MISMATCH;
	http_filter_fingerprint(r);
}

bool
http_filter_not_modified(const struct http_request *r, int64_t last_modified)
{
	const struct http_filter *fl = &r->filter;

	if (r->llhttp_method != HTTP_GET && r->llhttp_method != HTTP_HEAD)
		return false;
	/* RFC 9110 13.2.2: If-None-Match, when there, decides alone. No tag
	 * ocspgate writes can match: it writes none. */
	if (fl->inm_lines > 0)
		return fl->inm_lines == 1 && fl->inm_any;
	/*
	 * Only the date ocspgate wrote as Last-Modified: a date the origin
	 * gave (a file's time, later than a back-dated thisUpdate) says
	 * nothing about the content ocspgate judged. Two of them, or one
	 * that is not a date, are no condition (RFC 9110 13.1.3).
	 */
	return fl->ims_lines == 1 && last_modified > 0 &&
	    last_modified == fl->ims;
}

bool
http_filter_over_budget(const struct http_request *r)
{
	return (r->filter.flags & (1u << HTTP_FLAG_EXCESS_HEADERS)) != 0;
}

bool
http_filter_ua_mismatch(const struct http_request *r)
{
	return (r->filter.flags & (1u << HTTP_FLAG_UA_MISMATCH)) != 0;
}
