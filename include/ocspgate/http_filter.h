/*
 * The request header filter: which of a client's header fields go
 * upstream (a short allowlist, each field within a size and a shape),
 * what the others weigh, and the client's header fingerprint.
 * Pure: no I/O, no libevent, no globals.
 */
#ifndef OCSPGATE_HTTP_FILTER_H
#define OCSPGATE_HTTP_FILTER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ocspgate/http_request.h"

/*
 * Bytes (names plus values) of dropped fields a request may carry before
 * it is flagged HTTP_FLAG_EXCESS_HEADERS (and refused in enforce mode as
 * excess_headers). Real clients drop a few small fields (a proxy's
 * X-Forwarded-For, a load balancer's cookie, Sec-GPC); a kilobyte holds
 * several of those, and nothing that smuggles data in bulk.
 */
#define HTTP_FILTER_BUDGET_BYTES 1024

/*
 * Decides, for every field of <r>'s complete head, whether it goes
 * upstream (h->forward, with the value to send in h->out), is consumed by
 * ocspgate itself (framing and connection fields: neither), or is dropped
 * (h->dropped: named in the event and counted against the budget); fills
 * r->filter (flags, drop counts, fingerprint). Called once the head is
 * complete; <r> must have been parsed by http_request_parse().
 */
void http_filter_apply(struct http_request *r);

/*
 * Whether ocspgate answers <r> 304 Not Modified for an answer whose
 * Last-Modified is <last_modified> (seconds since 1970, 0: none), by
 * RFC 9110 13.2.2: only a GET or HEAD; If-None-Match, when there, alone
 * decides, and only a lone "*" matches (ocspgate writes no
 * entity-tags); else one If-Modified-Since equal to <last_modified>,
 * the date ocspgate wrote (a later date the origin gave may follow a
 * back-dated thisUpdate of newer content). The validators never go
 * upstream: ocspgate answers conditionals from the dates of the answer
 * it judged.
 */
bool http_filter_not_modified(
    const struct http_request *r, int64_t last_modified);

/* True when the dropped fields of <r> are over HTTP_FILTER_BUDGET_BYTES. */
bool http_filter_over_budget(const struct http_request *r);

/*
 * True when <r>'s User-Agent claims Windows CryptoAPI but its field
 * names do not fit CryptoAPI's shape (flag HTTP_FLAG_UA_MISMATCH): what
 * per-source alerts count.
 */
bool http_filter_ua_mismatch(const struct http_request *r);

/* The event-log name of flag bit <bit>, or NULL past the last. */
const char *http_filter_flag_name(unsigned bit);

/*
 * The number of the filter's table rows: forwarded fields go upstream in
 * the order of their rows (h->field), whatever the client's order, so
 * that the order carries nothing.
 */
size_t http_filter_rows(void);

/* The canonical name <h> goes upstream under, or NULL if it does not. */
const char *http_filter_field_name(const struct http_header *h);
/* The same, its length in *len (set only when not NULL). */
const char *http_filter_field_name_len(
    const struct http_header *h, size_t *len);

/*
 * The canonical (RFC 9110) spelling of the field name <name>, if the
 * filter forwards such fields, else NULL.
 */
const char *http_filter_forwarded_name(const char *name, size_t len);

/*
 * Parses an HTTP-date (RFC 9110 5.6.7: IMF-fixdate, RFC 850 or asctime)
 * of <len> bytes at <p>, nothing around it. Returns 0 and the time in
 * *t (seconds since 1970, UTC), or -1.
 */
int http_filter_parse_date(const char *p, size_t len, int64_t *t);

/*
 * True when the field names of <r>, in order and as spelled, fit the
 * shape Windows CryptoAPI (WinHTTP under cryptnet.dll) gives its
 * requests; see docs/event-log.md.
 */
bool http_filter_is_cryptoapi(const struct http_request *r);

#endif
