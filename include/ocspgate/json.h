/*
 * A small streaming JSON writer into a growable buffer. Values may hold
 * any bytes from the wire: control bytes are escaped and invalid UTF-8 is
 * replaced with U+FFFD, so the output is always valid JSON. Keys are
 * trusted literals. Pure: no I/O, no globals.
 */
#ifndef OCSPGATE_JSON_H
#define OCSPGATE_JSON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <time.h>

#define JSON_MAX_DEPTH 16

struct json {
	char *buf; /* owned; grows, kept across json_reset(); buf[len]
	              is '\0' once anything was written */
	size_t len;
	size_t cap;
	bool failed; /* allocation failed or nesting misused: discard */
	unsigned depth;
	bool first[JSON_MAX_DEPTH]; /* no member written yet at this level */
	bool array[JSON_MAX_DEPTH]; /* the container at this level is [] */
	/* json_timestamp()'s last second, as text up to the seconds. */
	bool ts_valid;
	time_t ts_sec;
	char ts_text[19];
};

void json_init(struct json *j);
/* Empties the buffer for the next document, keeping its memory. */
void json_reset(struct json *j);
void json_free(struct json *j);

/*
 * Each call writes one member. <key> is the member name inside an object
 * and must be NULL inside an array or for the top-level value. The
 * functions are inline wrappers that pass the key's length along, so
 * that a literal key's is known when compiling (json_*_k() take it).
 */
static inline size_t
json_key_len(const char *key)
{
	return key != NULL ? strlen(key) : 0;
}

void json_object_begin_k(struct json *j, const char *key, size_t klen);
void json_object_end(struct json *j);
void json_array_begin_k(struct json *j, const char *key, size_t klen);
void json_array_end(struct json *j);
void json_string_k(
    struct json *j, const char *key, size_t klen, const char *s, size_t len);
void json_cstring_k(
    struct json *j, const char *key, size_t klen, const char *s, size_t len);
void json_hex_k(struct json *j, const char *key, size_t klen,
    const unsigned char *p, size_t len);
void json_uint_k(struct json *j, const char *key, size_t klen, uint64_t v);
void json_int_k(struct json *j, const char *key, size_t klen, int64_t v);
void json_bool_k(struct json *j, const char *key, size_t klen, bool v);

static inline void
json_object_begin(struct json *j, const char *key)
{
	json_object_begin_k(j, key, json_key_len(key));
}

static inline void
json_array_begin(struct json *j, const char *key)
{
	json_array_begin_k(j, key, json_key_len(key));
}

/*
 * Writes <len> bytes of <s> as a string value. A NULL <s> with a nonzero
 * <len> is written as null rather than read.
 */
static inline void
json_string(struct json *j, const char *key, const char *s, size_t len)
{
	json_string_k(j, key, json_key_len(key), s, len);
}

/* Writes the NUL-terminated <s>; NULL is written as null. */
static inline void
json_cstring(struct json *j, const char *key, const char *s)
{
	json_cstring_k(j, key, json_key_len(key), s, s != NULL ? strlen(s) : 0);
}

/* An uppercase hex string, as ECS writes serials. */
static inline void
json_hex(struct json *j, const char *key, const unsigned char *p, size_t len)
{
	json_hex_k(j, key, json_key_len(key), p, len);
}

static inline void
json_uint(struct json *j, const char *key, uint64_t v)
{
	json_uint_k(j, key, json_key_len(key), v);
}

static inline void
json_int(struct json *j, const char *key, int64_t v)
{
	json_int_k(j, key, json_key_len(key), v);
}

static inline void
json_bool(struct json *j, const char *key, bool v)
{
	json_bool_k(j, key, json_key_len(key), v);
}

/*
 * Looks at the UTF-8 sequence at <p> (<n> > 0 bytes left, p[0] >= 0x80):
 * its length when it is well formed (RFC 3629: no overlongs, no
 * surrogates, nothing above U+10FFFF), else minus the length of its
 * maximal ill-formed subpart.
 */
int json_utf8_len(const unsigned char *p, size_t n);

/*
 * A time as the event log writes every one: UTC with milliseconds,
 * "2024-05-01T12:00:00.123Z" (RFC 3339). Nothing is written for a year
 * outside 0..9999.
 */
void json_timestamp_k(
    struct json *j, const char *key, size_t klen, const struct timespec *ts);

static inline void
json_timestamp(struct json *j, const char *key, const struct timespec *ts)
{
	json_timestamp_k(j, key, json_key_len(key), ts);
}

/* Appends raw bytes (e.g. the final '\n'); no escaping. */
void json_raw(struct json *j, const char *s, size_t len);

/*
 * Adds <member>, <len> bytes of one or more complete members ("name":
 * value, separated by commas) written by this writer before, to the
 * object being written, with the comma that separates it from the
 * members before. Empty: nothing. Outside an object: j->failed.
 */
void json_member_raw(struct json *j, const char *member, size_t len);

/*
 * Raw writing, for a line whose shape is known in advance: after
 * json_members_begin() on the object being written, the caller appends
 * complete members ("name":value, separated by commas, objects and
 * arrays opened and closed in the text) with the functions below, which
 * keep no account of members or nesting. Values are escaped like every
 * other unless a function says otherwise.
 */

/*
 * Begins a run of raw members in the object being written: writes the
 * comma that separates it from the members before, and counts the
 * object as no longer empty. Returns false, with j->failed set outside
 * an object, when nothing may be written.
 */
bool json_members_begin(struct json *j);

/*
 * Appends <n> bytes as they are (json_raw()): inline for the common
 * case, room enough. Bytes may still be added once the writer failed:
 * its text is discarded then.
 */
static inline void
json_lit(struct json *j, const char *s, size_t n)
{
	if (j->cap - j->len > n) {
		memcpy(j->buf + j->len, s, n);
		j->len += n;
		j->buf[j->len] = '\0';
	} else {
		json_raw(j, s, n);
	}
}

/* json_lit() of a string literal, its length known when compiling. */
#define JSON_LIT(j, lit) json_lit((j), "" lit, sizeof(lit) - 1)

/*
 * A string value, escaped: <len> bytes of <s>, or null for a NULL <s>
 * with a nonzero <len> (as json_string()). Returns true when the text
 * went out as it came (no escape, no replacement): each byte plain
 * ASCII or part of a well-formed UTF-8 sequence.
 */
bool json_value_string(struct json *j, const char *s, size_t len);

/* The NUL-terminated <s> as a string value; NULL is written as null. */
static inline void
json_value_cstring(struct json *j, const char *s)
{
	(void)json_value_string(j, s, s != NULL ? strlen(s) : 1);
}

/*
 * <len> bytes of <s> between quotes, not escaped: only for text that
 * needs none, a name from one of the program's own tables.
 */
/* json_value_name() when the buffer must grow first. */
void json_value_name_grow(struct json *j, const char *s, size_t len);

static inline void
json_value_name(struct json *j, const char *s, size_t len)
{
	char *o;

	if (len >= SIZE_MAX - 2 - j->len || j->cap - j->len <= len + 2) {
		json_value_name_grow(j, s, len);
		return;
	}
	o = j->buf + j->len;
	o[0] = '"';
	memcpy(o + 1, s, len);
	o[len + 1] = '"';
	j->len += len + 2;
	j->buf[j->len] = '\0';
}

/* An uppercase hex string (json_hex()) and a decimal number. */
void json_value_hex(struct json *j, const unsigned char *p, size_t len);
void json_value_uint(struct json *j, uint64_t v);

/*
 * The text of json_timestamp() for <ts>, 24 bytes into <out> (not
 * NUL-terminated), with the calendar part cached in <j> per second.
 * Returns false, <out> unset, for a year outside 0..9999.
 */
bool json_timestamp_text(
    struct json *j, const struct timespec *ts, char out[24]);

#endif
