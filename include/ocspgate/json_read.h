/*
 * A small JSON reader for event-log lines: checks one JSON text (RFC
 * 8259) and hands each scalar to a callback with the dotted path of
 * member names that leads to it. Pure: no I/O, no allocation, no
 * globals.
 */
#ifndef OCSPGATE_JSON_READ_H
#define OCSPGATE_JSON_READ_H

#include <stdbool.h>
#include <stddef.h>

#define JSON_READ_MAX_DEPTH 32  /* nested objects and arrays */
#define JSON_READ_PATH_MAX  256 /* bytes of a dotted path */

enum json_read_type {
	JSON_READ_STRING = 0,
	JSON_READ_NUMBER,
	JSON_READ_TRUE,
	JSON_READ_FALSE,
	JSON_READ_NULL
};

/*
 * Called once per scalar. <path> (<path_len> bytes, NUL-terminated) is
 * the member names from the top joined by '.', with "[]" appended for
 * each array on the way ("event.reason", "event.category[]"); a scalar
 * whose path would pass JSON_READ_PATH_MAX is not reported. <value>
 * (<len> bytes, NUL-terminated) is a string's decoded bytes (escapes
 * resolved, \u0000 included as a NUL byte), a number's text, or the
 * literal. Both are valid only during the call.
 */
typedef void (*json_read_fn)(void *arg, const char *path, size_t path_len,
    enum json_read_type type, const char *value, size_t len);

/*
 * Reads the JSON text of <len> bytes at <text> (one value, whitespace
 * around it allowed; no NUL inside). <scratch> of <scratch_cap> bytes
 * receives decoded strings: <len> + 1 bytes always suffice. Strings are
 * taken as bytes: invalid UTF-8 is passed on as it is.
 * Returns 0 when the whole text is valid JSON, -1 otherwise (too deep,
 * a string longer than the scratch, bad syntax); <fn> may have been
 * called for scalars before the error.
 */
int json_read(const char *text, size_t len, char *scratch, size_t scratch_cap,
    json_read_fn fn, void *arg);

#endif
