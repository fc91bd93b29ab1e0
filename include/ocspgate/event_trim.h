/*
 * Shortening an event line that is longer than an output can carry (a
 * syslog datagram, the file's line bound), field by field, so that the
 * event is delivered rather than lost to its own size. Pure: no I/O, no
 * globals.
 */
#ifndef OCSPGATE_EVENT_TRIM_H
#define OCSPGATE_EVENT_TRIM_H

#include <stddef.h>

#include "ocspgate/json.h"

/* Raw JSON bytes a shortened string keeps at least, when it is cut. */
#define EVENT_TRIM_KEEP 64

/* Nodes (values, members) a line may have to be shortened. */
#define EVENT_TRIM_MAX_NODES 4096

/*
 * Writes into <out> (reset first) the event line <line> (<len> bytes:
 * one JSON object and a final '\n') shortened to at most <max> bytes,
 * '\n' included, and marked with "truncated": true in its "ocspgate"
 * object (added when absent). What goes, least important first, each
 * step only as far as needed:
 *
 *   1. url.original, then user_agent.original, cut to EVENT_TRIM_KEEP
 *      bytes (the URL's host and path are in their own fields);
 *   2. any other string, longest first, to EVENT_TRIM_KEEP bytes, except
 *      url.path and the essentials below;
 *   3. url.path, to EVENT_TRIM_KEEP bytes;
 *   4. array elements, from the end of the longest array;
 *   5. whole members, largest first.
 *
 * Never cut or removed: @timestamp, event.kind, event.category,
 * event.action, event.reason, source.ip, source.port, destination.*,
 * ocspgate.mode, ocspgate.enforced, http.response.status_code. A string
 * is cut between characters (never inside an escape or a UTF-8
 * sequence), so the result is valid JSON.
 *
 * Returns 0 with the line in <out>, or -1 when <line> is not a JSON
 * object line, has more than EVENT_TRIM_MAX_NODES nodes or is nested
 * deeper than JSON_MAX_DEPTH, when even its essentials do not fit in
 * <max>, or when out of memory (out->failed). A line that already fits
 * is copied as it is, unmarked.
 */
int event_trim(const char *line, size_t len, size_t max, struct json *out);

#endif
