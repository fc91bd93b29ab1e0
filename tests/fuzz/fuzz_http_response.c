/*
 * Fuzz target for upstream responses: the first input byte picks HEAD or
 * not and where to split the head; the head is fed in two slices of one
 * buffer, the body in small slices from separate buffers, then end of
 * stream. Aborts when an invariant breaks: consumed counts stay within
 * each slice, body_bytes within the input, and the head built for the
 * client parses again as one response head with the same status, version
 * asked for, framing and Connection.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <llhttp.h>

#include "ocspgate/http_response.h"

#define FUZZ_BODY_SLICE 7

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

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
 * Aborts unless the client head of <r> parses (llhttp, strict, no field
 * limit of ours) as one whole response head with the same status.
 */
static void
fuzz_check_client(
    const struct http_response *r, size_t input_len, bool http10, bool keep)
{
	size_t cap = 2 * input_len + 256;
	char *out = malloc(cap);
	llhttp_settings_t settings;
	llhttp_t p;
	int n;

	if (out == NULL)
		abort();
	n = http_response_build_client(r, http10, keep, out, cap);
	if (n <= 0)
		abort();
	if (http_response_build_client(r, http10, keep, out, (size_t)n - 1) !=
	    -1)
		abort();
	llhttp_settings_init(&settings);
	settings.on_headers_complete = fuzz_on_headers_complete;
	settings.on_message_complete = fuzz_on_message_complete;
	llhttp_init(&p, HTTP_RESPONSE, &settings);
	if (llhttp_execute(&p, out, (size_t)n) != HPE_PAUSED ||
	    llhttp_get_error_pos(&p) != out + n ||
	    llhttp_get_status_code(&p) != r->status ||
	    llhttp_get_http_minor(&p) != (http10 ? 0 : 1) ||
	    ((p.flags & F_CHUNKED) != 0) != r->chunked ||
	    (llhttp_should_keep_alive(&p) != 0) != keep)
		abort();
	free(out);
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
	fuzz_check_client(&r, len, false, true);
	fuzz_check_client(&r, len, true, false);

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
