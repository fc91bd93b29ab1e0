/*
 * Fuzz target for upstream responses: the first input byte picks HEAD or
 * not and where to split the head; the head is fed in two slices of one
 * buffer, the body in small slices from separate buffers, then end of
 * stream. Aborts when an invariant breaks: consumed counts stay within
 * each slice, body_bytes within the input, and the head built for the
 * client, in every framing, parses again as one response head with the
 * version asked for, the framing and Connection chosen, a status of the
 * same class, and no field but the allowlisted ones, each once, each
 * value of its shape (dates of exactly IMF-fixdate's length, an
 * entity-tag within its bound, digits only in Content-Length).
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <llhttp.h>

#include "ocspgate/http_response.h"

#define FUZZ_BODY_SLICE 7

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* What the re-parse of a rebuilt head saw. */
struct fuzz_seen {
	char name[32];
	size_t name_len;
	bool name_over;
	unsigned counts[9];
	bool bad;
};

/* The fields a rebuilt head may carry, each at most once. */
static const char *const fuzz_allowed[] = {"content-type", "cache-control",
    "date", "last-modified", "expires", "etag", "content-length",
    "transfer-encoding", "connection"};

static int
fuzz_on_header_field(llhttp_t *p, const char *at, size_t len)
{
	struct fuzz_seen *w = p->data;

	if (w->name_len + len >= sizeof(w->name)) {
		w->name_over = true;
		return 0;
	}
	for (size_t i = 0; i < len; i++) {
		char c = at[i];

		w->name[w->name_len++] =
		    c >= 'A' && c <= 'Z' ? (char)(c - 'A' + 'a') : c;
	}
	return 0;
}

static int
fuzz_on_header_value(llhttp_t *p, const char *at, size_t len)
{
	struct fuzz_seen *w = p->data;
	size_t k;

	if (w->name_over)
		abort(); /* no allowed name is that long */
	w->name[w->name_len] = '\0';
	for (k = 0; k < sizeof(fuzz_allowed) / sizeof(fuzz_allowed[0]); k++)
		if (strcmp(w->name, fuzz_allowed[k]) == 0)
			break;
	if (k == sizeof(fuzz_allowed) / sizeof(fuzz_allowed[0]) ||
	    ++w->counts[k] > 1)
		abort();
	/* Dates are IMF-fixdate; an entity-tag is bounded; a length digits. */
	if ((k >= 2 && k <= 4 && len != 29) ||
	    (k == 5 && len > HTTP_RESPONSE_ETAG_MAX + 4))
		abort();
	for (size_t i = 0; k == 6 && i < len; i++)
		if (at[i] < '0' || at[i] > '9')
			abort();
	for (size_t i = 0; i < len; i++)
		if ((unsigned char)at[i] < 0x20 || (unsigned char)at[i] > 0x7e)
			abort();
	w->name_len = 0;
	return 0;
}

static int
fuzz_on_headers_complete(llhttp_t *p)
{
	(void)p;
	return 1; /* a head alone: no body follows */
}

static int
fuzz_on_message_complete(llhttp_t *p)
{
	(void)p;
	return HPE_PAUSED;
}

/*
 * Parses the head <out> of <n> bytes with the checking callbacks into
 * <w>: true when it is one whole head (llhttp paused right after it).
 */
static bool
fuzz_parse_head(llhttp_t *p, llhttp_settings_t *settings, struct fuzz_seen *w,
    const char *out, size_t n)
{
	memset(w, 0, sizeof(*w));
	llhttp_settings_init(settings);
	settings->on_header_field = fuzz_on_header_field;
	settings->on_header_value = fuzz_on_header_value;
	settings->on_headers_complete = fuzz_on_headers_complete;
	settings->on_message_complete = fuzz_on_message_complete;
	llhttp_init(p, HTTP_RESPONSE, settings);
	p->data = w;
	return llhttp_execute(p, out, n) == HPE_PAUSED &&
	    llhttp_get_error_pos(p) == out + n;
}

/*
 * Aborts unless the client head of <r> in framing <f> parses (llhttp,
 * strict) as one whole response head of the allowed fields, with the
 * status's class, the version, framing and Connection asked for; or
 * the build refused chunks for an HTTP/1.0 client, as it must.
 */
static void
fuzz_check_client(
    const struct http_response *r, const struct http_response_frame *f)
{
	char out[HTTP_RESPONSE_HEAD_MAX];
	struct http_response_dropped d;
	llhttp_settings_t settings;
	struct fuzz_seen w;
	bool keep = f->keep_alive && f->framing != HTTP_FRAMING_CLOSE;
	llhttp_t p;
	int n;

	n = http_response_build_client(r, f, &d, out, sizeof(out));
	if (f->framing == HTTP_FRAMING_CHUNKED && f->http10_client) {
		if (n != -1)
			abort();
		return;
	}
	if (n <= 0)
		abort();
	if (http_response_build_client(r, f, NULL, out, (size_t)n - 1) != -1)
		abort();
	if (!fuzz_parse_head(&p, &settings, &w, out, (size_t)n) ||
	    llhttp_get_status_code(&p) / 100 != r->status / 100 ||
	    llhttp_get_http_minor(&p) != (f->http10_client ? 0 : 1) ||
	    ((p.flags & F_CHUNKED) != 0) !=
	        (f->framing == HTTP_FRAMING_CHUNKED) ||
	    ((p.flags & F_CONTENT_LENGTH) != 0) !=
	        (f->framing == HTTP_FRAMING_LENGTH) ||
	    (llhttp_should_keep_alive(&p) != 0) != keep)
		abort();
	/* A 304 carries no Content-Type. */
	if (r->status == 304 && w.counts[0] != 0)
		abort();
}

/* Every framing, both client versions. */
static void
fuzz_check_framings(const struct http_response *r)
{
	static const enum http_response_framing all[] = {HTTP_FRAMING_NONE,
	    HTTP_FRAMING_LENGTH, HTTP_FRAMING_CHUNKED, HTTP_FRAMING_CLOSE};

	for (size_t i = 0; i < sizeof(all) / sizeof(all[0]); i++) {
		struct http_response_frame f = {false, true, all[i], 4096};

		/* A body-less status makes llhttp ignore the framing. */
		if ((r->status == 204 || r->status == 304) &&
		    all[i] != HTTP_FRAMING_NONE && all[i] != HTTP_FRAMING_CLOSE)
			continue;
		fuzz_check_client(r, &f);
		f.http10_client = true;
		f.keep_alive = false;
		fuzz_check_client(r, &f);
	}
}

/* An int64_t from 8 bytes of <p>. */
static int64_t
fuzz_i64(const uint8_t *p)
{
	uint64_t v = 0;

	for (int i = 0; i < 8; i++)
		v = v << 8 | p[i];
	return (int64_t)v;
}

/*
 * The head of a judged answer, from times and flags the input chooses:
 * it parses as one whole head of the allowed fields, never an ETag, and
 * fails only for a capacity short of its length.
 */
static void
fuzz_check_judged(const uint8_t *data, size_t size)
{
	struct http_response_judged j;
	struct http_response_frame f;
	char out[HTTP_RESPONSE_HEAD_MAX];
	llhttp_settings_t settings;
	struct fuzz_seen w;
	llhttp_t p;
	int n;

	if (size < 25)
		return;
	memset(&j, 0, sizeof(j));
	memset(&f, 0, sizeof(f));
	j.not_modified = (data[24] & 1) != 0;
	j.content_type = (data[24] & 2) != 0 ? "application/pkix-crl" : NULL;
	j.date = fuzz_i64(data);
	j.last_modified = fuzz_i64(data + 8);
	j.expires = fuzz_i64(data + 16);
	f.http10_client = (data[24] & 4) != 0;
	f.keep_alive = (data[24] & 8) != 0;
	f.framing = j.not_modified ? HTTP_FRAMING_NONE : HTTP_FRAMING_LENGTH;
	f.length = (uint64_t)(data[24] >> 4);
	if ((n = http_response_build_judged(&j, &f, out, sizeof(out))) <= 0 ||
	    http_response_build_judged(&j, &f, out, (size_t)n - 1) != -1)
		abort();
	if (!fuzz_parse_head(&p, &settings, &w, out, (size_t)n) ||
	    llhttp_get_status_code(&p) != (j.not_modified ? 304 : 200) ||
	    w.counts[5] != 0 || (j.not_modified && w.counts[0] != 0))
		abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *in = (const char *)data + 1;
	size_t len, split, off = 0, consumed;
	struct http_response r;
	enum http_parse rc;

	if (size == 0)
		return 0;
	fuzz_check_judged(data, size);
	len = size - 1;
	split = (size_t)(data[0] >> 1) * (len + 1) / 128;
	http_response_init(&r, (data[0] & 1) != 0);

	rc = http_response_parse(&r, in, split, &consumed);
	if (consumed > split || (rc == HTTP_PARSE_MORE && consumed != split))
		abort();
	off = consumed;
	if (rc == HTTP_PARSE_MORE) {
		rc = http_response_parse(&r, in + off, len - off, &consumed);
		if (consumed > len - off)
			abort();
		off += consumed;
	}
	if (rc == HTTP_PARSE_ERROR) {
		if (r.detail == NULL)
			abort();
		return 0;
	}
	if (rc == HTTP_PARSE_MORE) {
		if (off != len || http_response_eof(&r) != HTTP_PARSE_ERROR)
			abort();
		return 0;
	}
	if (r.state == HTTP_RESPONSE_HEAD)
		abort();
	fuzz_check_framings(&r);

	/* The body, from separate buffers. */
	rc = http_response_parse(&r, "", 0, &consumed);
	while (rc == HTTP_PARSE_MORE && off < len) {
		size_t n =
		    len - off < FUZZ_BODY_SLICE ? len - off : FUZZ_BODY_SLICE;
		char *piece = malloc(n);

		if (piece == NULL)
			abort();
		memcpy(piece, in + off, n);
		rc = http_response_parse(&r, piece, n, &consumed);
		free(piece);
		if (consumed > n)
			abort();
		off += consumed;
	}
	if (r.body_bytes > len || off > len)
		abort();
	if (rc == HTTP_PARSE_DONE && r.state != HTTP_RESPONSE_DONE)
		abort();
	rc = http_response_eof(&r);
	if (rc == HTTP_PARSE_DONE && r.state != HTTP_RESPONSE_DONE)
		abort();
	return 0;
}
