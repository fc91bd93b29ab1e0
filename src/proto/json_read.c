/*
 * A JSON reader: checks one JSON text and reports each scalar with the
 * path of member names leading to it, for reading event-log lines back.
 * Pure: no I/O, no allocation, no globals; recursion is bounded by
 * JSON_READ_MAX_DEPTH.
 */
#include <stdint.h>
#include <string.h>

#include "ocspgate/hex.h"
#include "ocspgate/json_read.h"

struct json_read_ctx {
	const char *p;
	const char *end;
	char *scratch;
	size_t scratch_cap;
	json_read_fn fn;
	void *arg;
	unsigned depth;
	char path[JSON_READ_PATH_MAX + 1];
	size_t path_len;
	unsigned over; /* levels whose name did not fit in path */
};

static int json_read_value(struct json_read_ctx *r);

static void
json_read_ws(struct json_read_ctx *r)
{
	while (r->p < r->end &&
	    (*r->p == ' ' || *r->p == '\t' || *r->p == '\n' || *r->p == '\r'))
		r->p++;
}

/* Appends <s> (after <sep>, unless the path is empty) to the path. */
static size_t
json_read_push(
    struct json_read_ctx *r, const char *sep, const char *s, size_t len)
{
	size_t saved = r->path_len, n = r->path_len > 0 ? strlen(sep) : 0;

	if (r->over > 0 || n + len > JSON_READ_PATH_MAX - r->path_len) {
		r->over++;
		return saved;
	}
	memcpy(r->path + r->path_len, sep, n);
	memcpy(r->path + r->path_len + n, s, len);
	r->path_len += n + len;
	r->path[r->path_len] = '\0';
	return saved;
}

static void
json_read_pop(struct json_read_ctx *r, size_t saved)
{
	if (r->over > 0) {
		r->over--;
		return;
	}
	r->path_len = saved;
	r->path[saved] = '\0';
}

static int
json_read_hex4(const char *p, unsigned *out)
{
	unsigned v = 0;

	for (int i = 0; i < 4; i++) {
		char c = p[i];

		int d = hex_value(c);

		if (d == -1)
			return -1;
		v = v << 4 | (unsigned)d;
	}
	*out = v;
	return 0;
}

/* Writes <cp> as UTF-8 at <out>; returns the bytes written (1..4). */
static size_t
json_read_utf8(uint32_t cp, char *out)
{
	if (cp < 0x80) {
		out[0] = (char)cp;
		return 1;
	}
	if (cp < 0x800) {
		out[0] = (char)(0xc0 | cp >> 6);
		out[1] = (char)(0x80 | (cp & 0x3f));
		return 2;
	}
	if (cp < 0x10000) {
		out[0] = (char)(0xe0 | cp >> 12);
		out[1] = (char)(0x80 | (cp >> 6 & 0x3f));
		out[2] = (char)(0x80 | (cp & 0x3f));
		return 3;
	}
	out[0] = (char)(0xf0 | cp >> 18);
	out[1] = (char)(0x80 | (cp >> 12 & 0x3f));
	out[2] = (char)(0x80 | (cp >> 6 & 0x3f));
	out[3] = (char)(0x80 | (cp & 0x3f));
	return 4;
}

/*
 * A \u escape at r->p (after the backslash and 'u'): one code unit, or a
 * surrogate pair; a lone surrogate becomes U+FFFD. Returns the code
 * point, or -1.
 */
static int32_t
json_read_unicode(struct json_read_ctx *r)
{
	unsigned hi, lo;

	if (r->end - r->p < 4 || json_read_hex4(r->p, &hi) == -1)
		return -1;
	r->p += 4;
	if (hi < 0xd800 || hi > 0xdfff)
		return (int32_t)hi;
	if (hi >= 0xdc00 || r->end - r->p < 6 || r->p[0] != '\\' ||
	    r->p[1] != 'u' || json_read_hex4(r->p + 2, &lo) == -1 ||
	    lo < 0xdc00 || lo > 0xdfff)
		return 0xfffd;
	r->p += 6;
	return (int32_t)(0x10000 + ((hi - 0xd800) << 10) + (lo - 0xdc00));
}

/*
 * A string at r->p (its opening quote), decoded into the scratch.
 * Returns its decoded length, or -1.
 */
static long
json_read_string(struct json_read_ctx *r)
{
	size_t n = 0;

	if (r->p >= r->end || *r->p != '"')
		return -1;
	r->p++;
	while (r->p < r->end) {
		unsigned char c = (unsigned char)*r->p++;
		char buf[4];
		size_t k = 1;
		int32_t cp;

		if (c == '"') {
			r->scratch[n] = '\0';
			return (long)n;
		}
		if (c < 0x20)
			return -1;
		buf[0] = (char)c;
		if (c == '\\') {
			if (r->p >= r->end)
				return -1;
			switch (*r->p++) {
			case '"':
				buf[0] = '"';
				break;
			case '\\':
				buf[0] = '\\';
				break;
			case '/':
				buf[0] = '/';
				break;
			case 'b':
				buf[0] = '\b';
				break;
			case 'f':
				buf[0] = '\f';
				break;
			case 'n':
				buf[0] = '\n';
				break;
			case 'r':
				buf[0] = '\r';
				break;
			case 't':
				buf[0] = '\t';
				break;
			case 'u':
				if ((cp = json_read_unicode(r)) < 0)
					return -1;
				k = json_read_utf8((uint32_t)cp, buf);
				break;
			default:
				return -1;
			}
		}
		if (k >= r->scratch_cap - n)
			return -1;
		memcpy(r->scratch + n, buf, k);
		n += k;
	}
	return -1;
}

static bool
json_read_digit(const struct json_read_ctx *r)
{
	return r->p < r->end && *r->p >= '0' && *r->p <= '9';
}

/* A number (RFC 8259 6) at r->p. Returns 0, or -1. */
static int
json_read_number(struct json_read_ctx *r)
{
	if (r->p < r->end && *r->p == '-')
		r->p++;
	if (!json_read_digit(r))
		return -1;
	if (*r->p++ != '0')
		while (json_read_digit(r))
			r->p++;
	if (r->p < r->end && *r->p == '.') {
		r->p++;
		if (!json_read_digit(r))
			return -1;
		while (json_read_digit(r))
			r->p++;
	}
	if (r->p < r->end && (*r->p == 'e' || *r->p == 'E')) {
		r->p++;
		if (r->p < r->end && (*r->p == '+' || *r->p == '-'))
			r->p++;
		if (!json_read_digit(r))
			return -1;
		while (json_read_digit(r))
			r->p++;
	}
	return 0;
}

static void
json_read_report(struct json_read_ctx *r, enum json_read_type type,
    const char *value, size_t len)
{
	if (r->over == 0)
		r->fn(r->arg, r->path, r->path_len, type, value, len);
}

static int
json_read_object(struct json_read_ctx *r)
{
	r->p++; /* '{' */
	json_read_ws(r);
	if (r->p < r->end && *r->p == '}') {
		r->p++;
		return 0;
	}
	for (;;) {
		size_t saved;
		long n;
		int rc;

		json_read_ws(r);
		if ((n = json_read_string(r)) < 0)
			return -1;
		json_read_ws(r);
		if (r->p >= r->end || *r->p++ != ':')
			return -1;
		saved = json_read_push(r, ".", r->scratch, (size_t)n);
		rc = json_read_value(r);
		json_read_pop(r, saved);
		if (rc == -1)
			return -1;
		json_read_ws(r);
		if (r->p >= r->end)
			return -1;
		if (*r->p == '}') {
			r->p++;
			return 0;
		}
		if (*r->p++ != ',')
			return -1;
	}
}

static int
json_read_array(struct json_read_ctx *r)
{
	size_t saved;
	int rc = 0;

	r->p++; /* '[' */
	saved = json_read_push(r, "", "[]", 2);
	json_read_ws(r);
	if (r->p < r->end && *r->p == ']') {
		r->p++;
		goto done;
	}
	for (;;) {
		if ((rc = json_read_value(r)) == -1)
			goto done;
		json_read_ws(r);
		if (r->p >= r->end) {
			rc = -1;
			goto done;
		}
		if (*r->p == ']') {
			r->p++;
			goto done;
		}
		if (*r->p++ != ',') {
			rc = -1;
			goto done;
		}
	}
done:
	json_read_pop(r, saved);
	return rc;
}

/* A literal at r->p: "true", "false" or "null". */
static int
json_read_literal(
    struct json_read_ctx *r, const char *word, enum json_read_type type)
{
	size_t n = strlen(word);

	if ((size_t)(r->end - r->p) < n || memcmp(r->p, word, n) != 0)
		return -1;
	r->p += n;
	json_read_report(r, type, word, n);
	return 0;
}

static int
json_read_value(struct json_read_ctx *r)
{
	const char *start;
	long n;
	int rc;

	json_read_ws(r);
	if (r->p >= r->end)
		return -1;
	switch (*r->p) {
	case '{':
	case '[':
		if (r->depth >= JSON_READ_MAX_DEPTH)
			return -1;
		r->depth++;
		rc = *r->p == '{' ? json_read_object(r) : json_read_array(r);
		r->depth--;
		return rc;
	case '"':
		if ((n = json_read_string(r)) < 0)
			return -1;
		json_read_report(r, JSON_READ_STRING, r->scratch, (size_t)n);
		return 0;
	case 't':
		return json_read_literal(r, "true", JSON_READ_TRUE);
	case 'f':
		return json_read_literal(r, "false", JSON_READ_FALSE);
	case 'n':
		return json_read_literal(r, "null", JSON_READ_NULL);
	default:
		start = r->p;
		if (json_read_number(r) == -1)
			return -1;
		n = r->p - start;
		if ((size_t)n >= r->scratch_cap)
			return -1;
		memcpy(r->scratch, start, (size_t)n);
		r->scratch[n] = '\0';
		json_read_report(r, JSON_READ_NUMBER, r->scratch, (size_t)n);
		return 0;
	}
}

int
json_read(const char *text, size_t len, char *scratch, size_t scratch_cap,
    json_read_fn fn, void *arg)
{
	struct json_read_ctx r;

	if (text == NULL || scratch == NULL || scratch_cap == 0 ||
	    memchr(text, '\0', len) != NULL)
		return -1;
	memset(&r, 0, sizeof(r));
	r.p = text;
	r.end = text + len;
	r.scratch = scratch;
	r.scratch_cap = scratch_cap;
	r.fn = fn;
	r.arg = arg;
	if (json_read_value(&r) == -1)
		return -1;
	json_read_ws(&r);
	return r.p == r.end ? 0 : -1;
}
