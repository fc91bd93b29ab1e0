/*
 * A strict JSON parser written apart from the writer (src/json.c): it
 * checks that a text is exactly one JSON value (RFC 8259, UTF-8 checked,
 * escapes decoded) and can hand back the strings it decoded. Shared by
 * the fuzz targets that check JSON output (fuzz_json.c, fuzz_runtime.c)
 * and by tests/unit/test_json.c. Static functions only: include it.
 */
#ifndef OCSPGATE_FUZZ_JSON_CHECK_H
#define OCSPGATE_FUZZ_JSON_CHECK_H

#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* Each includer uses only some of these. */
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wunused-function"

#define FUZZ_JSON_MAX_STRINGS 64
#define FUZZ_JSON_MAX_NESTING 64

/* The strings of a parsed document, keys included, in document order. */
struct fuzz_json_doc {
	size_t nstrings;
	struct {
		unsigned char *s;
		size_t len;
		bool key;
	} strings[FUZZ_JSON_MAX_STRINGS];
};

struct fuzz_json_parser {
	const unsigned char *p;
	const unsigned char *end;
	unsigned nesting;
	struct fuzz_json_doc *doc;
	unsigned char *out; /* the string being decoded */
	size_t out_len;
	size_t out_cap;
};

/*
 * Decodes one UTF-8 character at <p> (<n> > 0 bytes) by the textbook
 * method: length from the lead byte, then range checks on the code
 * point. Returns its length with *cp set, or -1 when ill-formed.
 */
static int
fuzz_json_utf8_decode(const unsigned char *p, size_t n, uint32_t *cp)
{
	static const uint32_t min[5] = {0, 0, 0x80, 0x800, 0x10000};
	size_t len;

	if (p[0] < 0x80) {
		*cp = p[0];
		return 1;
	}
	if ((p[0] & 0xe0) == 0xc0)
		len = 2;
	else if ((p[0] & 0xf0) == 0xe0)
		len = 3;
	else if ((p[0] & 0xf8) == 0xf0)
		len = 4;
	else
		return -1;
	if (n < len)
		return -1;
	*cp = p[0] & (0x7f >> len);
	for (size_t i = 1; i < len; i++) {
		if ((p[i] & 0xc0) != 0x80)
			return -1;
		*cp = (*cp << 6) | (p[i] & 0x3f);
	}
	if (*cp < min[len] || *cp > 0x10ffff ||
	    (*cp >= 0xd800 && *cp <= 0xdfff))
		return -1;
	return (int)len;
}

/* True when all of <p> is well-formed UTF-8. */
static bool
fuzz_json_utf8_valid(const unsigned char *p, size_t n)
{
	uint32_t cp;
	int k;

	for (size_t i = 0; i < n; i += (size_t)k)
		if ((k = fuzz_json_utf8_decode(p + i, n - i, &cp)) < 0)
			return false;
	return true;
}

/*
 * True when <p> (<k> bytes, 1..3) begins some well-formed sequence. Each
 * lead byte constrains only the second byte's range, to one of 80..8F,
 * 90..9F or A0..BF, so trying one byte from each range (and 80 for the
 * rest) finds a completion when there is one.
 */
static bool
fuzz_json_utf8_prefix(const unsigned char *p, size_t k)
{
	static const unsigned char second[] = {0x80, 0x90, 0xa0, 0xbf};
	unsigned char b[4];
	uint32_t cp;

	memcpy(b, p, k);
	for (size_t t = 0; t < sizeof(second); t++) {
		for (size_t i = k; i < 4; i++)
			b[i] = i == k && k == 1 ? second[t] : 0x80;
		for (size_t len = k; len <= 4; len++)
			if (len >= 2 &&
			    fuzz_json_utf8_decode(b, len, &cp) == (int)len)
				return true;
	}
	return false;
}

/*
 * The expected decoding of <p>: well-formed characters as they are, and
 * one U+FFFD for each maximal ill-formed subpart (the longest prefix of
 * a well-formed sequence, or else one byte). Returns a malloc'd buffer of
 * *outlen bytes.
 */
static unsigned char *
fuzz_json_utf8_replace(const unsigned char *p, size_t n, size_t *outlen)
{
	unsigned char *out;
	size_t o = 0, i = 0, k;
	uint32_t cp;
	int len;

	if ((out = malloc(3 * n + 1)) == NULL)
		abort();
	while (i < n) {
		if ((len = fuzz_json_utf8_decode(p + i, n - i, &cp)) > 0) {
			memcpy(out + o, p + i, (size_t)len);
			o += (size_t)len;
			i += (size_t)len;
			continue;
		}
		for (k = n - i < 3 ? n - i : 3; k > 1; k--)
			if (fuzz_json_utf8_prefix(p + i, k))
				break;
		memcpy(out + o, "\xef\xbf\xbd", 3);
		o += 3;
		i += k;
	}
	*outlen = o;
	return out;
}

static void
fuzz_json_out(struct fuzz_json_parser *ps, const void *p, size_t n)
{
	if (ps->out_len + n > ps->out_cap) {
		ps->out_cap = (ps->out_len + n) * 2 + 16;
		if ((ps->out = realloc(ps->out, ps->out_cap)) == NULL)
			abort();
	}
	memcpy(ps->out + ps->out_len, p, n);
	ps->out_len += n;
}

static void
fuzz_json_ws(struct fuzz_json_parser *ps)
{
	while (ps->p < ps->end &&
	    (*ps->p == ' ' || *ps->p == '\t' || *ps->p == '\n' ||
	        *ps->p == '\r'))
		ps->p++;
}

static bool
fuzz_json_hex4(struct fuzz_json_parser *ps, uint32_t *v)
{
	*v = 0;
	if (ps->end - ps->p < 4)
		return false;
	for (int i = 0; i < 4; i++) {
		unsigned char c = *ps->p++;

		*v <<= 4;
		if (c >= '0' && c <= '9')
			*v |= c - '0';
		else if (c >= 'a' && c <= 'f')
			*v |= c - 'a' + 10;
		else if (c >= 'A' && c <= 'F')
			*v |= c - 'A' + 10;
		else
			return false;
	}
	return true;
}

/* Parses a string (RFC 8259 7, strict UTF-8) and records it decoded. */
static bool
fuzz_json_string(struct fuzz_json_parser *ps, bool key)
{
	uint32_t cp, lo;
	unsigned char u[4];
	int n;

	if (ps->p >= ps->end || *ps->p != '"')
		return false;
	ps->p++;
	ps->out_len = 0;
	for (;;) {
		if (ps->p >= ps->end)
			return false;
		if (*ps->p == '"') {
			ps->p++;
			break;
		}
		if (*ps->p < 0x20)
			return false;
		if (*ps->p != '\\') {
			n = fuzz_json_utf8_decode(
			    ps->p, (size_t)(ps->end - ps->p), &cp);
			if (n < 0)
				return false;
			fuzz_json_out(ps, ps->p, (size_t)n);
			ps->p += n;
			continue;
		}
		if (++ps->p >= ps->end)
			return false;
		switch (*ps->p++) {
		case '"':
			fuzz_json_out(ps, "\"", 1);
			continue;
		case '\\':
			fuzz_json_out(ps, "\\", 1);
			continue;
		case '/':
			fuzz_json_out(ps, "/", 1);
			continue;
		case 'b':
			fuzz_json_out(ps, "\b", 1);
			continue;
		case 'f':
			fuzz_json_out(ps, "\f", 1);
			continue;
		case 'n':
			fuzz_json_out(ps, "\n", 1);
			continue;
		case 'r':
			fuzz_json_out(ps, "\r", 1);
			continue;
		case 't':
			fuzz_json_out(ps, "\t", 1);
			continue;
		case 'u':
			break;
		default:
			return false;
		}
		if (!fuzz_json_hex4(ps, &cp))
			return false;
		if (cp >= 0xdc00 && cp <= 0xdfff)
			return false; /* lone low surrogate */
		if (cp >= 0xd800 && cp <= 0xdbff) {
			if (ps->end - ps->p < 2 || ps->p[0] != '\\' ||
			    ps->p[1] != 'u')
				return false;
			ps->p += 2;
			if (!fuzz_json_hex4(ps, &lo) || lo < 0xdc00 ||
			    lo > 0xdfff)
				return false;
			cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
		}
		if (cp < 0x80) {
			u[0] = (unsigned char)cp;
			n = 1;
		} else if (cp < 0x800) {
			u[0] = (unsigned char)(0xc0 | cp >> 6);
			u[1] = (unsigned char)(0x80 | (cp & 0x3f));
			n = 2;
		} else if (cp < 0x10000) {
			u[0] = (unsigned char)(0xe0 | cp >> 12);
			u[1] = (unsigned char)(0x80 | ((cp >> 6) & 0x3f));
			u[2] = (unsigned char)(0x80 | (cp & 0x3f));
			n = 3;
		} else {
			u[0] = (unsigned char)(0xf0 | cp >> 18);
			u[1] = (unsigned char)(0x80 | ((cp >> 12) & 0x3f));
			u[2] = (unsigned char)(0x80 | ((cp >> 6) & 0x3f));
			u[3] = (unsigned char)(0x80 | (cp & 0x3f));
			n = 4;
		}
		fuzz_json_out(ps, u, (size_t)n);
	}
	if (ps->doc != NULL && ps->doc->nstrings < FUZZ_JSON_MAX_STRINGS) {
		size_t i = ps->doc->nstrings++;

		if ((ps->doc->strings[i].s = malloc(ps->out_len + 1)) == NULL)
			abort();
		if (ps->out_len > 0)
			memcpy(ps->doc->strings[i].s, ps->out, ps->out_len);
		ps->doc->strings[i].s[ps->out_len] = '\0';
		ps->doc->strings[i].len = ps->out_len;
		ps->doc->strings[i].key = key;
	}
	return true;
}

static bool
fuzz_json_digits(struct fuzz_json_parser *ps)
{
	const unsigned char *start = ps->p;

	while (ps->p < ps->end && *ps->p >= '0' && *ps->p <= '9')
		ps->p++;
	return ps->p > start;
}

/* Parses a number (RFC 8259 6): no leading zeros, '+' or bare '.'. */
static bool
fuzz_json_number(struct fuzz_json_parser *ps)
{
	if (ps->p < ps->end && *ps->p == '-')
		ps->p++;
	if (ps->p < ps->end && *ps->p == '0')
		ps->p++;
	else if (!fuzz_json_digits(ps))
		return false;
	if (ps->p < ps->end && *ps->p == '.') {
		ps->p++;
		if (!fuzz_json_digits(ps))
			return false;
	}
	if (ps->p < ps->end && (*ps->p == 'e' || *ps->p == 'E')) {
		ps->p++;
		if (ps->p < ps->end && (*ps->p == '+' || *ps->p == '-'))
			ps->p++;
		if (!fuzz_json_digits(ps))
			return false;
	}
	return true;
}

static bool
fuzz_json_literal(struct fuzz_json_parser *ps, const char *word)
{
	size_t n = strlen(word);

	if ((size_t)(ps->end - ps->p) < n || memcmp(ps->p, word, n) != 0)
		return false;
	ps->p += n;
	return true;
}

static bool
fuzz_json_value(struct fuzz_json_parser *ps)
{
	bool ok = true, array;

	fuzz_json_ws(ps);
	if (ps->p >= ps->end)
		return false;
	switch (*ps->p) {
	case '"':
		return fuzz_json_string(ps, false);
	case 't':
		return fuzz_json_literal(ps, "true");
	case 'f':
		return fuzz_json_literal(ps, "false");
	case 'n':
		return fuzz_json_literal(ps, "null");
	case '{':
	case '[':
		break;
	default:
		return fuzz_json_number(ps);
	}
	if (++ps->nesting > FUZZ_JSON_MAX_NESTING)
		return false;
	array = *ps->p++ == '[';
	fuzz_json_ws(ps);
	if (ps->p < ps->end && *ps->p == (array ? ']' : '}')) {
		ps->p++;
		ps->nesting--;
		return true;
	}
	for (;;) {
		if (!array) {
			fuzz_json_ws(ps);
			if (!fuzz_json_string(ps, true))
				return false;
			fuzz_json_ws(ps);
			if (ps->p >= ps->end || *ps->p++ != ':')
				return false;
		}
		if (!fuzz_json_value(ps))
			return false;
		fuzz_json_ws(ps);
		if (ps->p >= ps->end)
			return false;
		if (*ps->p == ',') {
			ps->p++;
			continue;
		}
		ok = *ps->p++ == (array ? ']' : '}');
		break;
	}
	ps->nesting--;
	return ok;
}

static void
fuzz_json_doc_free(struct fuzz_json_doc *doc)
{
	for (size_t i = 0; i < doc->nstrings; i++)
		free(doc->strings[i].s);
	doc->nstrings = 0;
}

/*
 * True when <text> is exactly one JSON value, with optional white space
 * around it. When <doc> is not NULL it receives the decoded strings
 * (free them with fuzz_json_doc_free(), also after a failure).
 */
static bool
fuzz_json_validate(const char *text, size_t len, struct fuzz_json_doc *doc)
{
	struct fuzz_json_parser ps;
	bool ok;

	memset(&ps, 0, sizeof(ps));
	ps.p = (const unsigned char *)text;
	ps.end = ps.p + len;
	ps.doc = doc;
	if (doc != NULL)
		doc->nstrings = 0;
	ok = fuzz_json_value(&ps);
	fuzz_json_ws(&ps);
	free(ps.out);
	return ok && ps.p == ps.end;
}

#pragma GCC diagnostic pop

#endif
