/*
 * The request header filter: a request is rebuilt, not relayed. Only the
 * fields a certificate-status client needs go upstream, each within a
 * size and a shape; the rest is dropped, named and weighed. Also the
 * client's header-name fingerprint and the CryptoAPI shape check.
 * Pure: no I/O, no libevent, no globals.
 */
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include <openssl/evp.h>

#include "ocspgate/http_filter.h"

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
 * The fields the filter knows. Forwarded ones go upstream under <name>;
 * consumed ones (framing and connection) are acted on by ocspgate and
 * never forwarded. Either kind over <max_bytes> or out of shape is
 * dropped. The list is what the clients of docs/event-log.md send
 * (CryptoAPI, NSS/Firefox, Java, OpenSSL, Go, curl), less Cookie,
 * Authorization and their kin, which an OCSP or CRL fetch never needs.
 */
static const struct http_filter_field {
	const char *name;
	size_t max_bytes;
	enum http_filter_shape shape;
	bool consumed;
} http_filter_fields[] = {
    {"User-Agent", 256, SHAPE_TEXT, false},
    {"Accept", 256, SHAPE_ACCEPT, false},
    {"Accept-Language", 128, SHAPE_LANGUAGE, false},
    {"Accept-Encoding", 64, SHAPE_CODINGS, false},
    {"Cache-Control", 64, SHAPE_CACHE, false},
    {"Pragma", 32, SHAPE_TOKENS, false},
    {"If-Modified-Since", 64, SHAPE_DATE, false},
    {"If-None-Match", 128, SHAPE_ETAGS, false},
    {"Content-Type", 64, SHAPE_MEDIA, false},
    {"Via", 128, SHAPE_VIA, false},
    {"Host", 0, SHAPE_ANY, true},
    {"Content-Length", 20, SHAPE_DIGITS, true},
    {"Transfer-Encoding", 0, SHAPE_ANY, true},
    {"Expect", 0, SHAPE_ANY, true},
    {"Connection", 64, SHAPE_TOKENS, true},
    {"Proxy-Connection", 32, SHAPE_TOKENS, true},
    {"Keep-Alive", 64, SHAPE_CACHE, true},
};
#define HTTP_FILTER_NFIELDS                                                    \
	(sizeof(http_filter_fields) / sizeof(http_filter_fields[0]))

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

/* RFC 9110 5.6.2 tchar. */
static bool
http_filter_tchar(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	    (c >= '0' && c <= '9') ||
	    (c != '\0' && strchr("!#$%&'*+-.^_`|~", c));
}

/* True when every byte of <v> is a tchar or one of <extra>. */
static bool
http_filter_chars(struct http_span v, const char *extra)
{
	for (size_t i = 0; i < v.len; i++) {
		unsigned char c = (unsigned char)v.p[i];

		if (!http_filter_tchar(c) && (c == '\0' || !strchr(extra, c)))
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
static const char *const http_filter_wdays[7] = {
    "Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed"}; /* 1970-01-01: Thu */

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

int
http_filter_format_date(int64_t t, char out[HTTP_DATE_LEN + 1])
{
	int64_t days, z, era;
	unsigned doe, yoe, doy, mp, d, m, secs;
	int64_t y;

	if (t < 0 || t >= 253402300800) /* 10000-01-01 */
		return -1;
	days = t / 86400;
	secs = (unsigned)(t % 86400);
	z = days + 719468;
	era = z / 146097;
	doe = (unsigned)(z - era * 146097);
	yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	y = (int64_t)yoe + era * 400;
	doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	mp = (5 * doy + 2) / 153;
	d = doy - (153 * mp + 2) / 5 + 1;
	m = mp < 10 ? mp + 3 : mp - 9;
	y += m <= 2;
	snprintf(out, HTTP_DATE_LEN + 1, "%s, %02u %s %04u %02u:%02u:%02u GMT",
	    http_filter_wdays[days % 7], d, http_filter_months[m - 1],
	    (unsigned)y, secs / 3600, secs / 60 % 60, secs % 60);
	return 0;
}

/*
 * Whether <h>'s value fits <f>; sets h->out to what is forwarded. For
 * If-Modified-Since the re-formatted date goes to <ims>.
 */
static bool
http_filter_fits(
    const struct http_filter_field *f, struct http_header *h, char *ims)
{
	struct http_span v = h->value;
	int64_t t;

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
		for (size_t i = 0; i < v.len; i++) {
			unsigned char c = (unsigned char)v.p[i];

			if ((c < 0x20 || c > 0x7e) && c != '\t')
				return false;
		}
		return true;
	case SHAPE_ACCEPT:
		return http_filter_chars(v, "/,;= \t");
	case SHAPE_LANGUAGE:
		return http_filter_chars(v, ",;= \t");
	case SHAPE_CODINGS:
	case SHAPE_CACHE:
		return http_filter_chars(v, ",;= \t");
	case SHAPE_TOKENS:
		return http_filter_chars(v, ", \t");
	case SHAPE_DATE:
		if (http_filter_parse_date(v.p, v.len, &t) == -1 ||
		    http_filter_format_date(t, ims) == -1)
			return false;
		h->out.p = ims;
		h->out.len = HTTP_DATE_LEN;
		return true;
	case SHAPE_ETAGS:
		return http_filter_etags(v);
	case SHAPE_MEDIA:
		return http_filter_media(v, &h->out);
	case SHAPE_VIA:
		return http_filter_chars(v, "/:, \t");
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

static const struct http_filter_field *
http_filter_field_of(const char *name, size_t len, size_t *row)
{
	for (size_t k = 0; k < HTTP_FILTER_NFIELDS; k++) {
		const char *n = http_filter_fields[k].name;

		if (strlen(n) == len && strncasecmp(name, n, len) == 0) {
			if (row != NULL)
				*row = k;
			return &http_filter_fields[k];
		}
	}
	return NULL;
}

const char *
http_filter_forwarded_name(const char *name, size_t len)
{
	const struct http_filter_field *f =
	    http_filter_field_of(name, len, NULL);

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
 * The fingerprint: two letters of the method, the HTTP version's two
 * digits, the number of fields (two digits, 99 at most), '_', and the
 * first 12 hex digits of the SHA-256 of the field names as sent, in
 * order, joined by ','. Defined in docs/event-log.md.
 */
static void
http_filter_fingerprint(struct http_request *r)
{
	static const char hex[] = "0123456789abcdef";
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0;
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	char *fp = r->filter.fingerprint;
	size_t n = r->hs.n > 99 ? 99 : r->hs.n;
	bool ok = ctx != NULL && EVP_DigestInit_ex(ctx, EVP_sha256(), NULL);

	for (size_t i = 0; ok && i < r->hs.n; i++) {
		const struct http_span *name = &r->hs.h[i].name;

		if (i > 0)
			ok = EVP_DigestUpdate(ctx, ",", 1);
		if (ok && name->len > 0)
			ok = EVP_DigestUpdate(ctx, name->p, name->len);
	}
	if (ok)
		ok = EVP_DigestFinal_ex(ctx, md, &mdlen) && mdlen >= 6;
	EVP_MD_CTX_free(ctx);
	if (!ok) {
		fp[0] = '\0';
		return;
	}
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
static const char *const http_filter_cryptoapi_order[] = {
    "Cache-Control",
    "Connection",
    "Proxy-Connection",
    "Pragma",
    "Accept",
    "If-Modified-Since",
    "If-None-Match",
    "Content-Type",
    "User-Agent",
    "Content-Length",
    "Host",
    "Content-Length",
};
#define HTTP_FILTER_NCRYPTOAPI                                                 \
	(sizeof(http_filter_cryptoapi_order) /                                 \
	    sizeof(http_filter_cryptoapi_order[0]))

static bool
http_filter_span_is(const struct http_span *s, const char *str)
{
	size_t n = strlen(str);

	return s->len == n && memcmp(s->p, str, n) == 0;
}

bool
http_filter_is_cryptoapi(const struct http_request *r)
{
	size_t pos = 0;
	bool ua = false, host = false;

	if (r->http_minor != 1)
		return false;
	for (size_t i = 0; i < r->hs.n; i++) {
		const struct http_span *name = &r->hs.h[i].name;
		size_t k;

		for (size_t j = 0; j < i; j++) {
			if (http_filter_same_name(&r->hs.h[j].name, name))
				return false; /* twice */
		}
		for (k = pos; k < HTTP_FILTER_NCRYPTOAPI; k++) {
			if (http_filter_span_is(
			        name, http_filter_cryptoapi_order[k]))
				break;
		}
		if (k == HTTP_FILTER_NCRYPTOAPI)
			return false;
		pos = k + 1;
		ua |= http_filter_span_is(name, "User-Agent");
		host |= http_filter_span_is(name, "Host");
	}
	return ua && host;
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

		h->forward = false;
		h->dropped = false;
		h->out = h->value;
		f = http_filter_field_of(h->name.p, h->name.len, &row);
		if (f == NULL) {
			http_filter_drop(r, i);
			continue;
		}
		if (!http_filter_fits(f, h, fl->ims)) {
			fl->flags |= 1u << HTTP_FLAG_HEADER_BOUNDS;
			http_filter_drop(r, i);
			continue;
		}
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
http_filter_over_budget(const struct http_request *r)
{
	return (r->filter.flags & (1u << HTTP_FLAG_EXCESS_HEADERS)) != 0;
}

bool
http_filter_ua_mismatch(const struct http_request *r)
{
	return (r->filter.flags & (1u << HTTP_FLAG_UA_MISMATCH)) != 0;
}
