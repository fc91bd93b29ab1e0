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

#endif
