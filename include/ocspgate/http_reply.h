/*
 * ocspgate's own replies (403, 400, 413, 431, 502, 504): a short
 * text/plain body naming the reason. Pure.
 */
#ifndef OCSPGATE_HTTP_REPLY_H
#define OCSPGATE_HTTP_REPLY_H

#include <stdbool.h>
#include <stddef.h>

#include "ocspgate/reason.h"

#define HTTP_REPLY_MAX 256 /* longest reply http_reply_build() writes */

/* The status ocspgate answers with for <why>: 403, 400, 413, 502, 504.
 * http_reply_build() also knows 431 and 503 (out of memory). */
int http_reply_status(enum reason why);

/*
 * Writes a whole reply (head and body) with <status> for <why> into <out>
 * of <cap> bytes (HTTP_REPLY_MAX is enough). <keep_alive> picks the
 * Connection header. Returns the length, or -1 if <cap> is too small.
 */
int http_reply_build(
    int status, enum reason why, bool keep_alive, char *out, size_t cap);

#endif
