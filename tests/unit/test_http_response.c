/*
 * Unit tests for http_response.c: the head is fed whole, one byte at a
 * time and in random slices of one buffer, the body in slices copied to
 * fresh buffers; each way must give the same status, framing, consumed
 * counts and body size. Also end of stream and the head for the client.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "ocspgate/http_response.h"

#define S(lit) lit, sizeof(lit) - 1

#define T_RANDOM_SPLITS 16
#define T_NO_EOF        (-2) /* do not call http_response_eof() */

struct rs_case {
	const char *name;
	const char *in;
	size_t in_len;
	bool head_request;
	enum http_parse head_want; /* result once the head is fed */
	size_t head_len;           /* bytes the head phase consumes */
	int status;
	const char *phrase;
	bool chunked;
	bool close_delimited;
	enum http_parse body_want; /* result once the rest is fed */
	size_t body_rest;          /* bytes after the message */
	uint64_t body_bytes;
	int eof_want;    /* http_response_eof() then, or T_NO_EOF */
	bool keep_alive; /* checked when the message is done */
};

#define R200 "HTTP/1.1 200 OK\r\n"
#define OCT  "Content-Type: application/ocsp-response\r\n"

static const struct rs_case cases[] = {
    {.name = "Content-Length",
        .in = S(R200 OCT "Content-Length: 5\r\n\r\nhello"),
        .head_want = HTTP_PARSE_DONE,
        .head_len = sizeof(R200 OCT "Content-Length: 5\r\n\r\n") - 1,
        .status = 200,
        .phrase = "OK",
        .body_want = HTTP_PARSE_DONE,
        .body_bytes = 5,
        .eof_want = HTTP_PARSE_DONE,
        .keep_alive = true},
    {.name = "Content-Length, bytes after the message",
        .in = S(R200 "Content-Length: 2\r\n\r\nhiEXTRA"),
        .head_want = HTTP_PARSE_DONE,
        .head_len = sizeof(R200 "Content-Length: 2\r\n\r\n") - 1,
        .status = 200,
        .phrase = "OK",
        .body_want = HTTP_PARSE_DONE,
        .body_rest = 5,
        .body_bytes = 2,
        .eof_want = T_NO_EOF,
        .keep_alive = true},
    {.name = "Content-Length 0",
        .in = S(R200 "Content-Length: 0\r\n\r\n"),
        .head_want = HTTP_PARSE_DONE,
        .head_len = sizeof(R200 "Content-Length: 0\r\n\r\n") - 1,
        .status = 200,
        .phrase = "OK",
        .body_want = HTTP_PARSE_DONE,
        .eof_want = HTTP_PARSE_DONE,
        .keep_alive = true},
    {.name = "Connection: close",
        .in = S(R200 "Connection: close\r\nContent-Length: 1\r\n\r\nx"),
        .head_want = HTTP_PARSE_DONE,
        .head_len =
            sizeof(R200 "Connection: close\r\nContent-Length: 1\r\n\r\n") - 1,
        .status = 200,
        .phrase = "OK",
        .body_want = HTTP_PARSE_DONE,
        .body_bytes = 1,
        .eof_want = HTTP_PARSE_DONE},
    {.name = "HTTP/1.0 with Content-Length",
        .in = S("HTTP/1.0 200 OK\r\nContent-Length: 1\r\n\r\nx"),
        .head_want = HTTP_PARSE_DONE,
        .head_len = sizeof("HTTP/1.0 200 OK\r\nContent-Length: 1\r\n\r\n") - 1,
        .status = 200,
        .phrase = "OK",
        .body_want = HTTP_PARSE_DONE,
        .body_bytes = 1,
        .eof_want = HTTP_PARSE_DONE},
    {.name = "chunked",
        .in = S(R200 OCT "Transfer-Encoding: chunked\r\n\r\n"
                         "5\r\nhello\r\n6;x=y\r\n world\r\n0\r\n\r\n"),
        .head_want = HTTP_PARSE_DONE,
        .head_len = sizeof(R200 OCT "Transfer-Encoding: chunked\r\n\r\n") - 1,
        .status = 200,
        .phrase = "OK",
        .chunked = true,
        .body_want = HTTP_PARSE_DONE,
        .body_bytes = 11,
        .eof_want = HTTP_PARSE_DONE,
        .keep_alive = true},
    {.name = "chunked with a trailer",
        .in = S(R200 "Transfer-Encoding: chunked\r\n\r\n"
                     "3\r\nabc\r\n0\r\nX-T: 1\r\n\r\n"),
        .head_want = HTTP_PARSE_DONE,
        .head_len = sizeof(R200 "Transfer-Encoding: chunked\r\n\r\n") - 1,
        .status = 200,
        .phrase = "OK",
        .chunked = true,
        .body_want = HTTP_PARSE_DONE,
        .body_bytes = 3,
        .eof_want = T_NO_EOF,
        .keep_alive = true},
    {.name = "chunked, truncated",
        .in = S(R200 "Transfer-Encoding: chunked\r\n\r\n5\r\nhel"),
        .head_want = HTTP_PARSE_DONE,
        .head_len = sizeof(R200 "Transfer-Encoding: chunked\r\n\r\n") - 1,
        .status = 200,
        .phrase = "OK",
        .chunked = true,
        .body_want = HTTP_PARSE_MORE,
        .body_bytes = 3,
        .eof_want = HTTP_PARSE_ERROR},
    {.name = "Content-Length, truncated",
        .in = S(R200 "Content-Length: 5\r\n\r\nhel"),
        .head_want = HTTP_PARSE_DONE,
        .head_len = sizeof(R200 "Content-Length: 5\r\n\r\n") - 1,
        .status = 200,
        .phrase = "OK",
        .body_want = HTTP_PARSE_MORE,
        .body_bytes = 3,
        .eof_want = HTTP_PARSE_ERROR},
    {.name = "close-delimited",
        .in = S(R200 OCT "\r\nabcdef"),
        .head_want = HTTP_PARSE_DONE,
        .head_len = sizeof(R200 OCT "\r\n") - 1,
        .status = 200,
        .phrase = "OK",
        .close_delimited = true,
        .body_want = HTTP_PARSE_MORE,
        .body_bytes = 6,
        .eof_want = HTTP_PARSE_DONE},
    {.name = "close-delimited HTTP/1.0, empty body",
        .in = S("HTTP/1.0 200 OK\r\n\r\n"),
        .head_want = HTTP_PARSE_DONE,
        .head_len = sizeof("HTTP/1.0 200 OK\r\n\r\n") - 1,
        .status = 200,
        .phrase = "OK",
        .close_delimited = true,
        .body_want = HTTP_PARSE_MORE,
        .eof_want = HTTP_PARSE_DONE},
    {.name = "head truncated",
        .in = S(R200 "Content-Len"),
        .head_want = HTTP_PARSE_MORE,
        .eof_want = HTTP_PARSE_ERROR},
    {.name = "nothing at all",
        .in = S(""),
        .head_want = HTTP_PARSE_MORE,
        .eof_want = HTTP_PARSE_ERROR},
    {.name = "100 Continue skipped",
        .in = S("HTTP/1.1 100 Continue\r\nX-I: 1\r\n\r\n" R200
                "Content-Length: 2\r\n\r\nhi"),
        .head_want = HTTP_PARSE_DONE,
        .head_len = sizeof("HTTP/1.1 100 Continue\r\nX-I: 1\r\n\r\n" R200
                           "Content-Length: 2\r\n\r\n") -
            1,
        .status = 200,
        .phrase = "OK",
        .body_want = HTTP_PARSE_DONE,
        .body_bytes = 2,
        .eof_want = HTTP_PARSE_DONE,
        .keep_alive = true},
    {.name = "two interim answers skipped",
        .in = S("HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 102 Processing\r\n\r\n"
                "HTTP/1.1 404 Not Found\r\nContent-Length: 1\r\n\r\nx"),
        .head_want = HTTP_PARSE_DONE,
        .head_len = sizeof("HTTP/1.1 100 Continue\r\n\r\n"
                           "HTTP/1.1 102 Processing\r\n\r\n"
                           "HTTP/1.1 404 Not Found\r\nContent-Length: 1\r\n"
                           "\r\n") -
            1,
        .status = 404,
        .phrase = "Not Found",
        .body_want = HTTP_PARSE_DONE,
        .body_bytes = 1,
        .eof_want = HTTP_PARSE_DONE,
        .keep_alive = true},
    {.name = "204 has no body",
        .in = S("HTTP/1.1 204 No Content\r\nContent-Length: 5\r\n\r\n"),
        .head_want = HTTP_PARSE_DONE,
        .head_len =
            sizeof("HTTP/1.1 204 No Content\r\nContent-Length: 5\r\n\r\n") - 1,
        .status = 204,
        .phrase = "No Content",
        .body_want = HTTP_PARSE_DONE,
        .eof_want = HTTP_PARSE_DONE,
        .keep_alive = true},
    {.name = "304 has no body",
        .in = S("HTTP/1.1 304 Not Modified\r\nContent-Length: 5\r\n\r\n"),
        .head_want = HTTP_PARSE_DONE,
        .head_len =
            sizeof("HTTP/1.1 304 Not Modified\r\nContent-Length: 5\r\n\r\n") -
            1,
        .status = 304,
        .phrase = "Not Modified",
        .body_want = HTTP_PARSE_DONE,
        .eof_want = HTTP_PARSE_DONE,
        .keep_alive = true},
    {.name = "304 without framing headers",
        .in = S("HTTP/1.1 304 Not Modified\r\n\r\n"),
        .head_want = HTTP_PARSE_DONE,
        .head_len = sizeof("HTTP/1.1 304 Not Modified\r\n\r\n") - 1,
        .status = 304,
        .phrase = "Not Modified",
        .body_want = HTTP_PARSE_DONE,
        .eof_want = HTTP_PARSE_DONE,
        .keep_alive = true},
    {.name = "answer to HEAD has no body",
        .in = S(R200 "Content-Length: 100\r\n\r\n"),
        .head_request = true,
        .head_want = HTTP_PARSE_DONE,
        .head_len = sizeof(R200 "Content-Length: 100\r\n\r\n") - 1,
        .status = 200,
        .phrase = "OK",
        .body_want = HTTP_PARSE_DONE,
        .eof_want = HTTP_PARSE_DONE,
        .keep_alive = true},
    {.name = "answer to HEAD, chunked announced",
        .in = S(R200 "Transfer-Encoding: chunked\r\n\r\n"),
        .head_request = true,
        .head_want = HTTP_PARSE_DONE,
        .head_len = sizeof(R200 "Transfer-Encoding: chunked\r\n\r\n") - 1,
        .status = 200,
        .phrase = "OK",
        .chunked = true,
        .body_want = HTTP_PARSE_DONE,
        .eof_want = HTTP_PARSE_DONE,
        .keep_alive = true},
    {.name = "empty reason phrase",
        .in = S("HTTP/1.1 200 \r\nContent-Length: 0\r\n\r\n"),
        .head_want = HTTP_PARSE_DONE,
        .head_len = sizeof("HTTP/1.1 200 \r\nContent-Length: 0\r\n\r\n") - 1,
        .status = 200,
        .phrase = "",
        .body_want = HTTP_PARSE_DONE,
        .eof_want = HTTP_PARSE_DONE,
        .keep_alive = true},
    {.name = "500 with a body",
        .in = S("HTTP/1.1 500 Internal Server Error\r\nContent-Length: 3\r\n"
                "\r\nerr"),
        .head_want = HTTP_PARSE_DONE,
        .head_len = sizeof("HTTP/1.1 500 Internal Server Error\r\n"
                           "Content-Length: 3\r\n\r\n") -
            1,
        .status = 500,
        .phrase = "Internal Server Error",
        .body_want = HTTP_PARSE_DONE,
        .body_bytes = 3,
        .eof_want = HTTP_PARSE_DONE,
        .keep_alive = true},
};

#define BAD_HEAD(nm, text)                                                     \
	{                                                                      \
		.name = (nm), .in = S(text), .head_want = HTTP_PARSE_ERROR,    \
		.eof_want = HTTP_PARSE_ERROR                                   \
	}

static const struct rs_case bad_cases[] = {
    BAD_HEAD("101 refused",
        "HTTP/1.1 101 Switching Protocols\r\n"
        "Connection: Upgrade\r\nUpgrade: websocket\r\n\r\n"),
    BAD_HEAD("101 after 100",
        "HTTP/1.1 100 Continue\r\n\r\n"
        "HTTP/1.1 101 Switching Protocols\r\n"
        "Upgrade: h2c\r\n\r\n"),
    BAD_HEAD("four-digit status", "HTTP/1.1 2000 OK\r\n\r\n"),
    BAD_HEAD("two-digit status", "HTTP/1.1 20 OK\r\nContent-Length: 0\r\n\r\n"),
    BAD_HEAD("letters in status", "HTTP/1.1 2x0 OK\r\n\r\n"),
    BAD_HEAD("no status", "HTTP/1.1  OK\r\nContent-Length: 0\r\n\r\n"),
    BAD_HEAD("status 099", "HTTP/1.1 099 OK\r\nContent-Length: 0\r\n\r\n"),
    BAD_HEAD("not HTTP", "HTTX/1.1 200 OK\r\n\r\n"),
    BAD_HEAD("lower-case protocol", "http/1.1 200 OK\r\n\r\n"),
    BAD_HEAD("HTTP/2.0", "HTTP/2.0 200 OK\r\nContent-Length: 0\r\n\r\n"),
    BAD_HEAD("HTTP/0.9 body", "<html>hello</html>"),
    BAD_HEAD("obs-fold", R200 "X-A: a\r\n b\r\nContent-Length: 0\r\n\r\n"),
    BAD_HEAD("obs-fold with tab",
        R200 "X-A: a\r\n\tb\r\n"
             "Content-Length: 0\r\n\r\n"),
    BAD_HEAD("NUL in a value", R200 "X-A: a\0b\r\nContent-Length: 0\r\n\r\n"),
    BAD_HEAD("bare CR in a value",
        R200 "X-A: a\rb\r\n"
             "Content-Length: 0\r\n\r\n"),
    BAD_HEAD("control byte in a value",
        R200 "X-A: a\x01"
             "b\r\nContent-Length: 0\r\n\r\n"),
    BAD_HEAD("space before colon", R200 "Content-Length : 0\r\n\r\n"),
    BAD_HEAD("differing Content-Length",
        R200 "Content-Length: 1\r\n"
             "Content-Length: 2\r\n\r\nxy"),
    BAD_HEAD("Content-Length not a number", R200 "Content-Length: x\r\n\r\n"),
    BAD_HEAD("interim answer with content",
        "HTTP/1.1 100 Continue\r\n"
        "Content-Length: 3\r\n\r\nabc" R200 "Content-Length: 2\r\n\r\nhi"),
    BAD_HEAD("Content-Length and chunked",
        R200 "Content-Length: 3\r\n"
             "Transfer-Encoding: chunked\r\n"
             "\r\n0\r\n\r\n"),
};

static uint32_t
rnd(uint32_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 17;
	*s ^= *s << 5;
	return *s;
}

static char *
dup_bytes(const char *p, size_t len)
{
	char *d = malloc(len > 0 ? len : 1);

	if (d == NULL)
		abort();
	if (len > 0)
		memcpy(d, p, len);
	return d;
}

static bool
span_is(struct http_span s, const char *want)
{
	size_t n = strlen(want);

	return s.len == n && (n == 0 || memcmp(s.p, want, n) == 0);
}

/* Slice length for feeding <left> bytes: 0 whole, 1 bytewise, 2 random. */
static size_t
slice(int mode, size_t left, uint32_t *seed)
{
	if (mode == 1)
		return 1;
	if (mode == 2)
		return 1 + rnd(seed) % (left < 12 ? left : 12);
	return left;
}

/*
 * Feeds the head in slices of <in>, then the rest in slices copied to
 * fresh buffers. Checks every expectation of <c>.
 */
static void
run_one(const struct rs_case *c, const char *in, int mode, uint32_t seed,
    const char *how)
{
	struct http_response r;
	enum http_parse rc = HTTP_PARSE_MORE;
	size_t off = 0, consumed;

	http_response_init(&r, c->head_request);
	if (c->in_len == 0) {
		rc = http_response_parse(&r, in, 0, &consumed);
		CHECK(consumed == 0);
	}
	while (off < c->in_len) {
		size_t n = slice(mode, c->in_len - off, &seed);

		rc = http_response_parse(&r, in + off, n, &consumed);
		CHECKF(consumed <= n, "%s (%s): consumed", c->name, how);
		off += consumed;
		if (rc != HTTP_PARSE_MORE)
			break;
	}
	CHECKF(rc == c->head_want, "%s (%s): head result %d (%s)", c->name, how,
	    (int)rc, r.detail != NULL ? r.detail : "-");
	if (rc != c->head_want || rc != HTTP_PARSE_DONE) {
		if (rc == HTTP_PARSE_ERROR)
			CHECKF(r.detail != NULL, "%s: no detail", c->name);
		if (c->eof_want != T_NO_EOF)
			CHECKF((int)http_response_eof(&r) == c->eof_want,
			    "%s (%s): eof", c->name, how);
		return;
	}
	CHECKF(off == c->head_len, "%s (%s): head consumed %zu, want %zu",
	    c->name, how, off, c->head_len);
	CHECKF(r.status == c->status, "%s (%s): status %d", c->name, how,
	    r.status);
	CHECKF(span_is(r.reason_phrase, c->phrase), "%s (%s): phrase '%.*s'",
	    c->name, how, (int)r.reason_phrase.len,
	    r.reason_phrase.p != NULL ? r.reason_phrase.p : "");
	CHECKF(r.chunked == c->chunked, "%s (%s): chunked", c->name, how);
	CHECKF(http_response_close_delimited(&r) == c->close_delimited,
	    "%s (%s): close-delimited", c->name, how);

	/* The body, from any buffer; an empty kick first. */
	rc = http_response_parse(&r, "", 0, &consumed);
	CHECKF(consumed == 0, "%s (%s): empty kick consumed", c->name, how);
	while (rc == HTTP_PARSE_MORE && off < c->in_len) {
		size_t n = slice(mode, c->in_len - off, &seed);
		char *piece = dup_bytes(in + off, n);

		rc = http_response_parse(&r, piece, n, &consumed);
		CHECKF(consumed <= n, "%s (%s): consumed", c->name, how);
		off += consumed;
		free(piece);
	}
	CHECKF(rc == c->body_want, "%s (%s): body result %d (%s)", c->name, how,
	    (int)rc, r.detail != NULL ? r.detail : "-");
	CHECKF(off == c->in_len - c->body_rest,
	    "%s (%s): consumed %zu, want %zu", c->name, how, off,
	    c->in_len - c->body_rest);
	CHECKF(r.body_bytes == c->body_bytes, "%s (%s): body_bytes %llu",
	    c->name, how, (unsigned long long)r.body_bytes);
	if (rc == HTTP_PARSE_DONE) {
		CHECKF(r.state == HTTP_RESPONSE_DONE, "%s: state", c->name);
		CHECKF(r.keep_alive == c->keep_alive, "%s (%s): keep_alive",
		    c->name, how);
		/* Done stays done. */
		rc = http_response_parse(&r, "x", 1, &consumed);
		CHECK(rc == HTTP_PARSE_DONE && consumed == 0);
	}
	if (c->eof_want != T_NO_EOF)
		CHECKF((int)http_response_eof(&r) == c->eof_want,
		    "%s (%s): eof", c->name, how);
	if (c->eof_want == HTTP_PARSE_DONE)
		CHECK(r.state == HTTP_RESPONSE_DONE);
}

static void
run_case(const struct rs_case *c)
{
	static const char *const how[] = {"whole", "bytewise", "random"};
	char *in = dup_bytes(c->in, c->in_len);

	for (int mode = 0; mode < 3; mode++) {
		int runs = mode == 2 ? T_RANDOM_SPLITS : 1;
		unsigned failed = check_failed;

		for (int k = 0; k < runs && check_failed == failed; k++)
			run_one(c, in, mode, 0x2545f491u ^ (uint32_t)(k + 1),
			    how[mode]);
	}
	free(in);
}

static void
test_cases(void)
{
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		run_case(&cases[i]);
	for (size_t i = 0; i < sizeof(bad_cases) / sizeof(bad_cases[0]); i++)
		run_case(&bad_cases[i]);
}

/* After the upstream closed mid-head or mid-body, eof is an error. */
static void
test_eof(void)
{
	static const char head[] = R200 "Content-Length: 4\r\n\r\n";
	struct http_response r;
	size_t consumed;

	http_response_init(&r, false);
	CHECK(http_response_eof(&r) == HTTP_PARSE_ERROR);
	http_response_init(&r, false);
	CHECK(http_response_parse(&r, head, sizeof(head) - 1, &consumed) ==
	    HTTP_PARSE_DONE);
	CHECK(!http_response_close_delimited(&r));
	CHECK(http_response_eof(&r) == HTTP_PARSE_ERROR);
	/* A parse error sticks. */
	http_response_init(&r, false);
	CHECK(
	    http_response_parse(&r, "XTTP", 4, &consumed) == HTTP_PARSE_ERROR);
	CHECK(http_response_parse(&r, head, sizeof(head) - 1, &consumed) ==
	        HTTP_PARSE_ERROR &&
	    consumed == 0);
	CHECK(http_response_eof(&r) == HTTP_PARSE_ERROR);
}

struct client_case {
	const char *name;
	const char *in; /* a whole head */
	size_t in_len;
	bool head_request;
	bool http10_client;
	bool keep_alive;
	const char *out;
	size_t out_len;
};

static const struct client_case client_cases[] = {
    {"end-to-end headers kept, hop-by-hop removed",
        S(R200 OCT "Content-Length: 5\r\nConnection: keep-alive, X-Drop\r\n"
                   "Keep-Alive: timeout=5\r\nX-Drop: 1\r\nDate: today\r\n"
                   "Proxy-Connection: x\r\nTrailer: X-T\r\nTE: trailers\r\n"
                   "Proxy-Authenticate: Basic\r\nUpgrade: h2c\r\n\r\n"),
        false, false, true,
        S(R200 OCT "Content-Length: 5\r\nDate: today\r\n"
                   "Connection: keep-alive\r\n\r\n")},
    {"Connection: close for the client", S(R200 "Content-Length: 0\r\n\r\n"),
        false, false, false,
        S(R200 "Content-Length: 0\r\nConnection: close\r\n\r\n")},
    {"chunked keeps Transfer-Encoding",
        S(R200 "Transfer-Encoding: chunked\r\nX-A: 1\r\n\r\n"), false, false,
        true,
        S(R200 "Transfer-Encoding: chunked\r\nX-A: 1\r\n"
               "Connection: keep-alive\r\n\r\n")},
    {"chunked after another coding keeps both",
        S(R200 "Transfer-Encoding: gzip, chunked\r\n\r\n"), false, false, true,
        S(R200 "Transfer-Encoding: gzip, chunked\r\n"
               "Connection: keep-alive\r\n\r\n")},
    {"HTTP/1.0 client", S(R200 "Content-Length: 3\r\n\r\n"), false, true, false,
        S("HTTP/1.0 200 OK\r\nContent-Length: 3\r\nConnection: close\r\n\r\n")},
    {"HTTP/1.0 upstream, HTTP/1.1 client",
        S("HTTP/1.0 404 Not Found\r\nContent-Length: 3\r\n\r\n"), false, false,
        true,
        S("HTTP/1.1 404 Not Found\r\nContent-Length: 3\r\n"
          "Connection: keep-alive\r\n\r\n")},
    {"interim answer's headers dropped",
        S("HTTP/1.1 100 Continue\r\nX-I: 1\r\n\r\n" R200 "X-F: 2\r\n"
          "Content-Length: 0\r\n\r\n"),
        false, false, true,
        S(R200
            "X-F: 2\r\nContent-Length: 0\r\nConnection: keep-alive\r\n\r\n")},
    {"empty reason phrase", S("HTTP/1.1 204 \r\n\r\n"), false, false, true,
        S("HTTP/1.1 204 \r\nConnection: keep-alive\r\n\r\n")},
    {"values trimmed", S(R200 "X-A:  a b \t\r\nContent-Length: 0\r\n\r\n"),
        false, false, false,
        S(R200 "X-A: a b\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")},
    {"HEAD answer", S(R200 "Content-Length: 77\r\n\r\n"), true, false, true,
        S(R200 "Content-Length: 77\r\nConnection: keep-alive\r\n\r\n")},
};

static void
test_build_client(void)
{
	for (size_t i = 0; i < sizeof(client_cases) / sizeof(client_cases[0]);
	     i++) {
		const struct client_case *c = &client_cases[i];
		char *in = dup_bytes(c->in, c->in_len);
		struct http_response r;
		size_t consumed;
		char out[1024];
		int n;

		http_response_init(&r, c->head_request);
		if (http_response_parse(&r, in, c->in_len, &consumed) !=
		    HTTP_PARSE_DONE) {
			CHECKF(false, "%s: head does not parse (%s)", c->name,
			    r.detail != NULL ? r.detail : "-");
			free(in);
			continue;
		}
		n = http_response_build_client(
		    &r, c->http10_client, c->keep_alive, out, sizeof(out));
		CHECKF(n >= 0 && (size_t)n == c->out_len &&
		        memcmp(out, c->out, c->out_len) == 0,
		    "%s: got '%.*s'", c->name, n > 0 ? n : 0, out);
		for (size_t cap = 0; n > 0 && cap < (size_t)n; cap++) {
			char *small = malloc(cap > 0 ? cap : 1);

			if (small == NULL)
				abort();
			CHECKF(http_response_build_client(&r, c->http10_client,
			           c->keep_alive, small, cap) == -1,
			    "%s: cap %zu", c->name, cap);
			free(small);
		}
		free(in);
	}
}

int
main(void)
{
	test_cases();
	test_eof();
	test_build_client();
	return check_done();
}
