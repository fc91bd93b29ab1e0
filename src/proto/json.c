/*
 * A streaming JSON writer for the event log. Values come from the wire,
 * so every string is escaped and its UTF-8 checked strictly: the output
 * is valid JSON whatever the input. Pure: no I/O, no globals.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#ifdef __SSE2__
#include <emmintrin.h>
#endif

#include "ocspgate/json.h"

#define JSON_INITIAL_CAP 256

/* U+FFFD REPLACEMENT CHARACTER, written for each invalid UTF-8 sequence. */
static const char json_replacement[] = "\xef\xbf\xbd";

static const char json_hexdigits[] = "0123456789abcdef";
/* "00" to "FF", each byte value's two digits: hex values are uppercase,
 * as ECS writes serial numbers and certificate hashes
 * (x509.serial_number, tls.server.hash.*). */
static const char json_hexpairs[513] =
    "000102030405060708090A0B0C0D0E0F101112131415161718191A1B1C1D1E1F"
    "202122232425262728292A2B2C2D2E2F303132333435363738393A3B3C3D3E3F"
    "404142434445464748494A4B4C4D4E4F505152535455565758595A5B5C5D5E5F"
    "606162636465666768696A6B6C6D6E6F707172737475767778797A7B7C7D7E7F"
    "808182838485868788898A8B8C8D8E8F909192939495969798999A9B9C9D9E9F"
    "A0A1A2A3A4A5A6A7A8A9AAABACADAEAFB0B1B2B3B4B5B6B7B8B9BABBBCBDBEBF"
    "C0C1C2C3C4C5C6C7C8C9CACBCCCDCECFD0D1D2D3D4D5D6D7D8D9DADBDCDDDEDF"
    "E0E1E2E3E4E5E6E7E8E9EAEBECEDEEEFF0F1F2F3F4F5F6F7F8F9FAFBFCFDFEFF";

/* "00" to "99": the two decimal digits of each value below 100. */
static const char json_decpairs[201] =
    "00010203040506070809101112131415161718192021222324"
    "25262728293031323334353637383940414243444546474849"
    "50515253545556575859606162636465666768697071727374"
    "75767778798081828384858687888990919293949596979899";

void
json_init(struct json *j)
{
	memset(j, 0, sizeof(*j));
}

void
json_reset(struct json *j)
{
	j->len = 0;
	if (j->buf != NULL)
		j->buf[0] = '\0';
	j->failed = false;
	j->depth = 0;
}

void
json_free(struct json *j)
{
	free(j->buf);
	json_init(j);
}

/*
 * Makes room for <n> more bytes plus the terminating NUL, doubling the
 * buffer as needed. Returns false, with j->failed set, when the writer
 * has already failed or the memory cannot be had; the buffer is then
 * left as it was.
 */
static bool
json_grow(struct json *j, size_t n)
{
	size_t need, cap;
	char *p;

	if (j->failed)
		return false;
	if (n > SIZE_MAX - j->len - 1)
		goto fail;
	need = j->len + n + 1;
	if (need <= j->cap)
		return true;
	cap = j->cap != 0 ? j->cap : JSON_INITIAL_CAP;
	while (cap < need) {
		if (cap > SIZE_MAX / 2)
			goto fail;
		cap *= 2;
	}
	if ((p = realloc(j->buf, cap)) == NULL)
		goto fail;
	j->buf = p;
	j->cap = cap;
	return true;
fail:
	j->failed = true;
	return false;
}

/* json_grow(), with the common case (room enough) inline. */
static inline bool
json_reserve(struct json *j, size_t n)
{
	/* cap >= len always; an empty writer (cap 0) takes the slow way. */
	if (!j->failed && j->cap - j->len > n)
		return true;
	return json_grow(j, n);
}

/* Appends <n> bytes as they are. Returns false once the writer failed. */
static bool
json_put(struct json *j, const void *p, size_t n)
{
	if (!json_reserve(j, n))
		return false;
	if (n > 0)
		memcpy(j->buf + j->len, p, n);
	j->len += n;
	j->buf[j->len] = '\0';
	return true;
}

static bool
json_putc(struct json *j, char c)
{
	if (!json_reserve(j, 1))
		return false;
	j->buf[j->len++] = c;
	j->buf[j->len] = '\0';
	return true;
}

/* True for the bytes a JSON string may hold as they are. */
static inline bool
json_is_plain(unsigned char c)
{
	return (unsigned char)(c - 0x20) < 0x5f && c != '"' && c != '\\';
}

/*
 * Looks at the UTF-8 sequence starting at <p> (<n> > 0 bytes left, p[0]
 * >= 0x80). Returns its length when it is a well-formed sequence
 * (RFC 3629: no overlongs, no surrogates, nothing above U+10FFFF), else
 * minus the length of its maximal ill-formed subpart, which is replaced
 * by one U+FFFD (Unicode 15, 3.9 "U+FFFD Substitution of Maximal
 * Subparts"; what Python and the WHATWG decoder do).
 */
int
json_utf8_len(const unsigned char *p, size_t n)
{
	unsigned char lo = 0x80, hi = 0xbf;
	int need, i;

	if (p[0] >= 0xc2 && p[0] <= 0xdf)
		need = 2;
	else if (p[0] >= 0xe0 && p[0] <= 0xef)
		need = 3;
	else if (p[0] >= 0xf0 && p[0] <= 0xf4)
		need = 4;
	else
		return -1; /* continuation byte, C0, C1 or F5..FF */

	/* The second byte's range rules out overlongs and surrogates. */
	if (p[0] == 0xe0)
		lo = 0xa0;
	else if (p[0] == 0xed)
		hi = 0x9f;
	else if (p[0] == 0xf0)
		lo = 0x90;
	else if (p[0] == 0xf4)
		hi = 0x8f;

	for (i = 1; i < need; i++) {
		if ((size_t)i >= n || p[i] < lo || p[i] > hi)
			return -i;
		lo = 0x80;
		hi = 0xbf;
	}
	return need;
}

/* Writes the escape of ASCII byte <c> at <o>; returns the end. */
static char *
json_escape_to(char *o, unsigned char c)
{
	static const char short_escape[] = {['"'] = '"',
	    ['\\'] = '\\',
	    ['\b'] = 'b',
	    ['\f'] = 'f',
	    ['\n'] = 'n',
	    ['\r'] = 'r',
	    ['\t'] = 't'};

	*o++ = '\\';
	if (c < sizeof(short_escape) && short_escape[c] != 0) {
		*o++ = short_escape[c];
		return o;
	}
	*o++ = 'u';
	*o++ = '0';
	*o++ = '0';
	*o++ = json_hexdigits[c >> 4];
	*o++ = json_hexdigits[c & 0xf];
	return o;
}

#ifdef __SSE2__
/* The bytes of <v> a JSON string may not hold as they are, as a mask. */
static inline unsigned
json_bad16(__m128i v)
{
	const __m128i space = _mm_set1_epi8(0x20), del = _mm_set1_epi8(0x7f),
	              quote16 = _mm_set1_epi8('"'),
	              bslash16 = _mm_set1_epi8('\\');
	/* Signed: bytes from 0x80 up are below 0x20 too. */
	__m128i bad = _mm_or_si128(
	    _mm_or_si128(_mm_cmplt_epi8(v, space), _mm_cmpeq_epi8(v, del)),
	    _mm_or_si128(
	        _mm_cmpeq_epi8(v, quote16), _mm_cmpeq_epi8(v, bslash16)));

	return (unsigned)_mm_movemask_epi8(bad);
}
#endif

/* True when no byte of the word <w> is a control byte, DEL or above,
 * '"' or '\\' (the word-at-a-time tests of "Bit Twiddling Hacks",
 * "determine if a word has a byte less than n" and "... equal to n"). */
static inline bool
json_plain8(uint64_t w)
{
	const uint64_t ones = 0x0101010101010101u, highs = 0x8080808080808080u;
	uint64_t quote = w ^ (ones * '"'), bslash = w ^ (ones * '\\');

	return (((w - ones * 0x20) | (w + ones * 0x01) | w |
	            ((quote - ones) & ~quote) | ((bslash - ones) & ~bslash)) &
	           highs) == 0;
}

/*
 * Copies the run of plain bytes (json_is_plain()) at the start of <p>,
 * <len> bytes, to <o>, which has room for <len> bytes, and returns its
 * length. Sixteen bytes at a time with SSE2 (every x86-64 has it), the
 * last sixteen read again to end a string of sixteen or more (the bytes
 * read twice were plain); eight at a time likewise from eight bytes up;
 * byte by byte below. A block is stored whole: bytes past the run are
 * written over by the caller.
 */
static inline size_t
json_plain_copy(char *o, const unsigned char *p, size_t len)
{
	size_t i = 0;
	uint64_t w;

#ifdef __SSE2__
	if (len >= 16) {
		__m128i v;
		unsigned m;

		for (; i + 16 <= len; i += 16) {
			v = _mm_loadu_si128(
			    (const __m128i *)(const void *)(p + i));
			m = json_bad16(v);
			_mm_storeu_si128((__m128i *)(void *)(o + i), v);
			if (m != 0)
				return i + (size_t)__builtin_ctz(m);
		}
		if (i == len)
			return len;
		i = len - 16;
		v = _mm_loadu_si128((const __m128i *)(const void *)(p + i));
		m = json_bad16(v);
		_mm_storeu_si128((__m128i *)(void *)(o + i), v);
		return m != 0 ? i + (size_t)__builtin_ctz(m) : len;
	}
#endif
	for (; i + 8 <= len; i += 8) {
		memcpy(&w, p + i, 8);
		if (!json_plain8(w))
			goto bytes;
		memcpy(o + i, &w, 8);
	}
	if (i == len)
		return len;
	if (i >= 8) {
		memcpy(&w, p + len - 8, 8);
		if (json_plain8(w)) {
			memcpy(o + len - 8, &w, 8);
			return len;
		}
	}
bytes:
	for (; i < len && json_is_plain(p[i]); i++)
		o[i] = (char)p[i];
	return i;
}

/*
 * Writes <s> (<len> bytes, any values) as a quoted JSON string, straight
 * into the buffer after one reservation for the worst case (every byte
 * a six-byte escape): plain ASCII and well-formed UTF-8 are copied as
 * they are, runs of plain bytes as they are scanned. Returns whether
 * every byte went out as it came: false too once the writer failed.
 * Inline: json_value_string() is its one caller.
 */
static inline bool
json_put_string(struct json *j, const char *s, size_t len)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t i = 0;
	bool verbatim = true;
	char *o;
	int n;

	if (len > (SIZE_MAX - 2) / 6 || !json_reserve(j, 6 * len + 2))
		return false;
	o = j->buf + j->len;
	*o++ = '"';
	while (i < len) {
		/* o is at most at the output of byte i: room for the rest. */
		size_t run = json_plain_copy(o, p + i, len - i);
		unsigned char c;

		o += run;
		i += run;
		if (i == len)
			break;
		c = p[i];
		if (c < 0x80) {
			o = json_escape_to(o, c);
			i++;
			verbatim = false;
		} else if ((n = json_utf8_len(p + i, len - i)) > 0) {
			memcpy(o, p + i, (size_t)n);
			o += n;
			i += (size_t)n;
		} else {
			memcpy(o, json_replacement, 3);
			o += 3;
			i += (size_t)-n;
			verbatim = false;
		}
	}
	*o++ = '"';
	j->len = (size_t)(o - j->buf);
	j->buf[j->len] = '\0';
	return verbatim;
}

/*
 * Starts a member: checks that <key> fits the enclosing container (a name
 * inside an object, none inside an array or at the top level), then
 * writes the separating comma and the name ("key": for a trusted literal
 * key of <n> bytes, no escaping needed) with one reservation. Returns false,
 * with j->failed set on misuse, when the value must not be written.
 */
static bool
json_member(struct json *j, const char *key, size_t n)
{
	unsigned d;
	char *o;

	if (j->failed)
		return false;
	if (j->depth == 0) {
		if (key != NULL)
			goto misuse;
		return true;
	}
	d = j->depth - 1;
	if (j->array[d] != (key == NULL))
		goto misuse;
	if (!json_reserve(j, n + 4))
		return false;
	o = j->buf + j->len;
	if (!j->first[d])
		*o++ = ',';
	j->first[d] = false;
	if (key != NULL) {
		*o++ = '"';
		memcpy(o, key, n);
		o += n;
		*o++ = '"';
		*o++ = ':';
	}
	j->len = (size_t)(o - j->buf);
	j->buf[j->len] = '\0';
	return true;
misuse:
	j->failed = true;
	return false;
}

static void
json_open(struct json *j, const char *key, size_t klen, bool array)
{
	if (j->depth >= JSON_MAX_DEPTH) {
		j->failed = true;
		return;
	}
	if (!json_member(j, key, klen) || !json_putc(j, array ? '[' : '{'))
		return;
	j->array[j->depth] = array;
	j->first[j->depth] = true;
	j->depth++;
}

static void
json_close(struct json *j, bool array)
{
	if (j->failed)
		return;
	if (j->depth == 0 || j->array[j->depth - 1] != array) {
		j->failed = true;
		return;
	}
	if (json_putc(j, array ? ']' : '}'))
		j->depth--;
}

void
json_object_begin_k(struct json *j, const char *key, size_t klen)
{
	json_open(j, key, klen, false);
}

void
json_object_end(struct json *j)
{
	json_close(j, false);
}

void
json_array_begin_k(struct json *j, const char *key, size_t klen)
{
	json_open(j, key, klen, true);
}

void
json_array_end(struct json *j)
{
	json_close(j, true);
}

void
json_string_k(
    struct json *j, const char *key, size_t klen, const char *s, size_t len)
{
	if (!json_member(j, key, klen))
		return;
	(void)json_value_string(j, s, len);
}

void
json_cstring_k(
    struct json *j, const char *key, size_t klen, const char *s, size_t len)
{
	json_string_k(j, key, klen, s, s == NULL ? 1 : len);
}

void
json_hex_k(struct json *j, const char *key, size_t klen, const unsigned char *p,
    size_t len)
{
	if (json_member(j, key, klen))
		json_value_hex(j, p, len);
}

/* Writes <v> in decimal at the end of <tmp>, two digits at a time;
 * returns where it starts. */
static char *
json_format_uint(char tmp[24], uint64_t v)
{
	char *p = tmp + 24;

	while (v >= 100) {
		p -= 2;
		memcpy(p, json_decpairs + 2 * (v % 100), 2);
		v /= 100;
	}
	if (v >= 10) {
		p -= 2;
		memcpy(p, json_decpairs + 2 * v, 2);
	} else {
		*--p = (char)('0' + v);
	}
	return p;
}

void
json_uint_k(struct json *j, const char *key, size_t klen, uint64_t v)
{
	char tmp[24], *p;

	if (!json_member(j, key, klen))
		return;
	p = json_format_uint(tmp, v);
	(void)json_put(j, p, (size_t)(tmp + sizeof(tmp) - p));
}

void
json_int_k(struct json *j, const char *key, size_t klen, int64_t v)
{
	char tmp[24];
	int n;

	if (!json_member(j, key, klen))
		return;
	n = snprintf(tmp, sizeof(tmp), "%" PRId64, v);
	(void)json_put(j, tmp, (size_t)n);
}

void
json_bool_k(struct json *j, const char *key, size_t klen, bool v)
{
	if (!json_member(j, key, klen))
		return;
	if (v)
		(void)json_put(j, "true", 4);
	else
		(void)json_put(j, "false", 5);
}

/* Writes <v> (>= 0) as exactly <n> decimal digits at <out>. */
static void
json_digits(char *out, int v, int n)
{
	while (n-- > 0) {
		out[n] = (char)('0' + v % 10);
		v /= 10;
	}
}

bool
json_timestamp_text(struct json *j, const struct timespec *ts, char out[24])
{
	/*
	 * "YYYY-MM-DDTHH:MM:SS.mmmZ", once per line: no printf, and the
	 * calendar part worked out once per second, not once per line.
	 */
	if (!j->ts_valid || j->ts_sec != ts->tv_sec) {
		struct tm tm;

		j->ts_valid = false;
		if (gmtime_r(&ts->tv_sec, &tm) == NULL)
			return false;
		if (tm.tm_year + 1900 < 0 || tm.tm_year + 1900 > 9999)
			return false;
		json_digits(j->ts_text, tm.tm_year + 1900, 4);
		j->ts_text[4] = '-';
		json_digits(j->ts_text + 5, tm.tm_mon + 1, 2);
		j->ts_text[7] = '-';
		json_digits(j->ts_text + 8, tm.tm_mday, 2);
		j->ts_text[10] = 'T';
		json_digits(j->ts_text + 11, tm.tm_hour, 2);
		j->ts_text[13] = ':';
		json_digits(j->ts_text + 14, tm.tm_min, 2);
		j->ts_text[16] = ':';
		json_digits(j->ts_text + 17, tm.tm_sec, 2);
		j->ts_sec = ts->tv_sec;
		j->ts_valid = true;
	}
	memcpy(out, j->ts_text, 19);
	out[19] = '.';
	json_digits(out + 20, (int)((ts->tv_nsec / 1000000) % 1000), 3);
	out[23] = 'Z';
	return true;
}

void
json_timestamp_k(
    struct json *j, const char *key, size_t klen, const struct timespec *ts)
{
	char buf[24];

	if (json_timestamp_text(j, ts, buf))
		json_string_k(j, key, klen, buf, 24);
}

void
json_raw(struct json *j, const char *s, size_t len)
{
	(void)json_put(j, s, len);
}

void
json_member_raw(struct json *j, const char *member, size_t len)
{
	unsigned d;

	if (j->failed || len == 0)
		return;
	if (j->depth == 0 || j->array[j->depth - 1]) {
		j->failed = true;
		return;
	}
	d = j->depth - 1;
	if (!j->first[d] && !json_putc(j, ','))
		return;
	j->first[d] = false;
	(void)json_put(j, member, len);
}

bool
json_members_begin(struct json *j)
{
	unsigned d;

	if (j->failed)
		return false;
	if (j->depth == 0 || j->array[j->depth - 1]) {
		j->failed = true;
		return false;
	}
	d = j->depth - 1;
	if (!j->first[d] && !json_putc(j, ','))
		return false;
	j->first[d] = false;
	return true;
}

bool
json_value_string(struct json *j, const char *s, size_t len)
{
	if (s == NULL && len > 0) {
		(void)json_put(j, "null", 4);
		return false;
	}
	return json_put_string(j, s, len);
}

void
json_value_name_grow(struct json *j, const char *s, size_t len)
{
	if (len > SIZE_MAX - 2 || !json_reserve(j, len + 2))
		return;
	json_value_name(j, s, len);
}

/*
 * Writes the hex digits of <len> bytes of <p> at <out>: sixteen bytes at
 * a time with SSE2 (each byte's two nibbles side by side, then '0' added
 * to each, and 'A' - '0' - 10 more to those above 9), the rest from
 * json_hexpairs.
 */
static void
json_hex_to(char *out, const unsigned char *p, size_t len)
{
	size_t i = 0;

#ifdef __SSE2__
	const __m128i low = _mm_set1_epi8(0x0f), nine = _mm_set1_epi8(9),
	              zero = _mm_set1_epi8('0'),
	              letter = _mm_set1_epi8('A' - '0' - 10);

	for (; i + 16 <= len; i += 16) {
		__m128i v =
		    _mm_loadu_si128((const __m128i *)(const void *)(p + i));
		__m128i hi = _mm_and_si128(_mm_srli_epi16(v, 4), low);
		__m128i lo = _mm_and_si128(v, low);
		__m128i a = _mm_unpacklo_epi8(hi, lo),
		        b = _mm_unpackhi_epi8(hi, lo);

		a = _mm_add_epi8(_mm_add_epi8(a, zero),
		    _mm_and_si128(_mm_cmpgt_epi8(a, nine), letter));
		b = _mm_add_epi8(_mm_add_epi8(b, zero),
		    _mm_and_si128(_mm_cmpgt_epi8(b, nine), letter));
		_mm_storeu_si128((__m128i *)(void *)(out + 2 * i), a);
		_mm_storeu_si128((__m128i *)(void *)(out + 2 * i + 16), b);
	}
#endif
	for (; i < len; i++)
		memcpy(out + 2 * i, json_hexpairs + 2 * p[i], 2);
}

void
json_value_hex(struct json *j, const unsigned char *p, size_t len)
{
	char *out;

	if (len > (SIZE_MAX - 2) / 2 || !json_reserve(j, 2 * len + 2)) {
		j->failed = true;
		return;
	}
	out = j->buf + j->len;
	out[0] = '"';
	json_hex_to(out + 1, p, len);
	out[2 * len + 1] = '"';
	j->len += 2 * len + 2;
	j->buf[j->len] = '\0';
}

void
json_value_uint(struct json *j, uint64_t v)
{
	char tmp[24], *p;
	size_t n;

	/* 20 digits at most: one reservation, then one copy. */
	if (!json_reserve(j, 20))
		return;
	p = json_format_uint(tmp, v);
	n = (size_t)(tmp + sizeof(tmp) - p);
	memcpy(j->buf + j->len, p, n);
	j->len += n;
	j->buf[j->len] = '\0';
}
