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
	struct http_response_frame frame;
	const char *out; /* NULL: the build must fail */
	size_t out_len;
	unsigned dropped_fields;
	uint64_t dropped_bytes;
};

#define KEEP                                                                   \
	{                                                                      \
		false, true, HTTP_FRAMING_LENGTH, 5                            \
	}
#define KEEP0                                                                  \
	{                                                                      \
		false, true, HTTP_FRAMING_LENGTH, 0                            \
	}
#define NOBODY                                                                 \
	{                                                                      \
		false, true, HTTP_FRAMING_NONE, 0                              \
	}
#define CHUNKS                                                                 \
	{                                                                      \
		false, true, HTTP_FRAMING_CHUNKED, 0                           \
	}
#define CLOSE                                                                  \
	{                                                                      \
		false, true, HTTP_FRAMING_CLOSE, 0                             \
	}
#define KA    "Connection: keep-alive\r\n\r\n"
#define CL5   "Content-Length: 5\r\n"
#define CL0   "Content-Length: 0\r\n"
#define DATE  "Date: Sun, 06 Nov 1994 08:49:37 GMT\r\n"
#define EPOCH "Thu, 01 Jan 1970 00:00:00 GMT"

static const struct client_case client_cases[] = {
    {"only the allowlisted fields pass",
        S(R200 OCT CL5 "Connection: keep-alive, X-Drop\r\n"
                       "Keep-Alive: timeout=5\r\nX-Drop: 1\r\n" DATE
                       "Server: nginx\r\nSet-Cookie: a=b\r\nTrailer: X-T\r\n"
                       "Proxy-Authenticate: Basic\r\nUpgrade: h2c\r\n\r\n"),
        false, KEEP, S(R200 OCT DATE CL5 KA), 6,
        sizeof("X-Drop1Servernginx"
               "Set-Cookiea=bTrailerX-TProxy-AuthenticateBasicUpgradeh2c") -
            1},
    {"Connection: close for the client", S(R200 CL0 "\r\n"), false,
        {false, false, HTTP_FRAMING_LENGTH, 0},
        S(R200 CL0 "Connection: close\r\n\r\n"), 0, 0},
    {"the upstream's chunking is not the client's",
        S(R200 "Transfer-Encoding: chunked\r\nX-A: 1\r\n\r\n"), false,
        {false, true, HTTP_FRAMING_LENGTH, 12},
        S(R200 "Content-Length: 12\r\n" KA), 1, 4},
    {"ocspgate's own chunks",
        S(R200 "Transfer-Encoding: gzip, chunked\r\n\r\n"), false, CHUNKS,
        S(R200 "Transfer-Encoding: chunked\r\n" KA), 0, 0},
    {"close-delimited: always Connection: close",
        S(R200 "Connection: close\r\n\r\n"), false, CLOSE,
        S(R200 "Connection: close\r\n\r\n"), 0, 0},
    {"no chunks for an HTTP/1.0 client", S(R200 CL0 "\r\n"), false,
        {true, false, HTTP_FRAMING_CHUNKED, 0}, NULL, 0, 0, 0},
    {"HTTP/1.0 client", S(R200 "Content-Length: 3\r\n\r\n"), false,
        {true, false, HTTP_FRAMING_LENGTH, 3},
        S("HTTP/1.0 200 OK\r\nContent-Length: 3\r\nConnection: close\r\n\r\n"),
        0, 0},
    {"HTTP/1.0 upstream, HTTP/1.1 client",
        S("HTTP/1.0 404 Not Found\r\nContent-Length: 3\r\n\r\n"), false,
        {false, true, HTTP_FRAMING_LENGTH, 3},
        S("HTTP/1.1 404 Not Found\r\nContent-Length: 3\r\n" KA), 0, 0},
    {"interim answer's fields dropped",
        S("HTTP/1.1 100 Continue\r\nX-I: 1\r\n\r\n" R200 "X-F: 2\r\n" CL0
          "\r\n"),
        false, KEEP0, S(R200 CL0 KA), 1, 4},
    {"reason phrase is ocspgate's",
        S("HTTP/1.1 200 Totally Fine Thanks\r\n\r\n"), false, KEEP0,
        S(R200 CL0 KA), 1, sizeof("Totally Fine Thanks") - 1},
    {"empty reason phrase", S("HTTP/1.1 204 \r\n\r\n"), false, NOBODY,
        S("HTTP/1.1 204 No Content\r\n" KA), 1, 0},
    {"unknown code: its class's x00", S("HTTP/1.1 299 Whatever\r\n\r\n"), false,
        KEEP0, S(R200 CL0 KA), 1, 8},
    {"unknown 5xx", S("HTTP/1.1 599 X\r\n\r\n"), false, KEEP0,
        S("HTTP/1.1 500 Internal Server Error\r\n" CL0 KA), 1, 1},
    {"Content-Type parameters dropped, case folded",
        S(R200 "Content-Type: Application/PKIX-CRL; charset=x; q=1\r\n\r\n"),
        false, KEEP0, S(R200 "Content-Type: application/pkix-crl\r\n" CL0 KA),
        1, sizeof("Content-TypeApplication/PKIX-CRL; charset=x; q=1") - 1},
    {"unknown Content-Type dropped",
        S(R200 "Content-Type: application/x-exfil\r\n\r\n"), false, KEEP0,
        S(R200 CL0 KA), 1, sizeof("Content-Typeapplication/x-exfil") - 1},
    {"second Content-Type dropped",
        S(R200 OCT "Content-Type: text/plain\r\n\r\n"), false, KEEP0,
        S(R200 OCT CL0 KA), 1, sizeof("Content-Typetext/plain") - 1},
    {"RFC 5019 Cache-Control kept in canonical form",
        S(R200 "Cache-Control: max-age=600, public, no-transform, "
               "must-revalidate\r\n\r\n"),
        false, KEEP0,
        S(R200 "Cache-Control: max-age=600, public, no-transform, "
               "must-revalidate\r\n" CL0 KA),
        0, 0},
    {"Cache-Control reordered, spaced, quoted, capped, unknowns dropped",
        S(R200 "Cache-Control: PUBLIC,max-age=\"60\" ,  x-data=aGVsbG8, "
               "s-maxage=99999999999999999999\r\n\r\n"),
        false, KEEP0,
        S(R200 "Cache-Control: max-age=60, s-maxage=2147483648, public\r\n" CL0
                KA),
        1,
        sizeof("Cache-ControlPUBLIC,max-age=\"60\" ,  x-data=aGVsbG8, "
               "s-maxage=99999999999999999999") -
            1},
    {"Cache-Control fields merged; field-name arguments dropped",
        S(R200 "Cache-Control: max-age=5\r\nCache-Control: no-cache=\"Set-"
               "Cookie\", private\r\n\r\n"),
        false, KEEP0,
        S(R200 "Cache-Control: max-age=5, private, no-cache\r\n" CL0 KA), 1,
        sizeof("Cache-Controlno-cache=\"Set-Cookie\", private") - 1},
    {"Cache-Control with nothing known: no field",
        S(R200 "Cache-Control: x=1, y\r\n\r\n"), false, KEEP0, S(R200 CL0 KA),
        1, sizeof("Cache-Controlx=1, y") - 1},
    {"an empty Cache-Control: dropped, counted",
        S(R200 "Cache-Control:\r\nCache-Control: public\r\n\r\n"), false, KEEP0,
        S(R200 "Cache-Control: public\r\n" CL0 KA), 1,
        sizeof("Cache-Control") - 1},
    {"Cache-Control: a value that is not a number",
        S(R200 "Cache-Control: max-age=1e9, max-age=-1, public\r\n\r\n"), false,
        KEEP0, S(R200 "Cache-Control: public\r\n" CL0 KA), 1,
        sizeof("Cache-Controlmax-age=1e9, max-age=-1, public") - 1},
    {"obsolete date forms written as IMF-fixdate",
        S(R200 "Date: Sunday, 06-Nov-94 08:49:37 GMT\r\n"
               "Last-Modified: Sun Nov  6 08:49:37 1994\r\n"
               "Expires: Wed, 29 Feb 2028 23:59:60 GMT\r\n\r\n"),
        false, KEEP0,
        S(R200 DATE "Last-Modified: Sun, 06 Nov 1994 08:49:37 GMT\r\n"
                    "Expires: Tue, 29 Feb 2028 23:59:59 GMT\r\n" CL0 KA),
        3,
        sizeof("DateSunday, 06-Nov-94 08:49:37 GMT"
               "Last-ModifiedSun Nov  6 08:49:37 1994"
               "ExpiresWed, 29 Feb 2028 23:59:60 GMT") -
            1},
    {"bad dates: Date and Last-Modified dropped, Expires in the past",
        S(R200 "Date: Sun, 31 Feb 2026 08:49:37 GMT\r\n"
               "Last-Modified: yesterday\r\nExpires: 0\r\n\r\n"),
        false, KEEP0, S(R200 "Expires: " EPOCH "\r\n" CL0 KA), 3,
        sizeof("DateSun, 31 Feb 2026 08:49:37 GMT"
               "Last-Modifiedyesterday"
               "Expires0") -
            1},
    {"the epoch is a date; a wrong weekday is written again",
        S(R200 "Date: " EPOCH "\r\n"
               "Last-Modified: Mon, 06 Nov 1994 08:49:37 GMT\r\n"
               "Expires: Sat, 29 Feb 2025 00:00:00 GMT\r\n\r\n"),
        false, KEEP0,
        S(R200 "Date: " EPOCH "\r\n"
               "Last-Modified: Sun, 06 Nov 1994 08:49:37 GMT\r\n"
               "Expires: " EPOCH "\r\n" CL0 KA),
        2,
        sizeof("Last-ModifiedMon, 06 Nov 1994 08:49:37 GMT"
               "ExpiresSat, 29 Feb 2025 00:00:00 GMT") -
            1},
    {"a leap second on the right weekday is written as :59",
        S(R200 "Expires: Tue, 29 Feb 2028 23:59:60 GMT\r\n"
               "Last-Modified: Tue, 29 Feb 2028 23:59:59 GMT\r\n\r\n"),
        false, KEEP0,
        S(R200 "Last-Modified: Tue, 29 Feb 2028 23:59:59 GMT\r\n"
               "Expires: Tue, 29 Feb 2028 23:59:59 GMT\r\n" CL0 KA),
        1, sizeof("ExpiresTue, 29 Feb 2028 23:59:60 GMT") - 1},
    {"field names in any case, the first of each kept",
        S(R200 "DATE: Sun, 06 Nov 1994 08:49:37 GMT\r\n"
               "date: Mon, 07 Nov 1994 08:49:37 GMT\r\n"
               "content-TYPE: application/ocsp-response\r\n"
               "Content-Type: text/plain\r\nETAG: \"a\"\r\n"
               "ETag: \"b\"\r\nCONTENT-LENGTH: 0\r\n"
               "Expires: x\r\nExpires: y\r\n\r\n"),
        false, KEEP0,
        S(R200 OCT DATE "Expires: " EPOCH "\r\nETag: \"a\"\r\n" CL0 KA), 5,
        sizeof("dateMon, 07 Nov 1994 08:49:37 GMT"
               "Content-Typetext/plainETag\"b\"Expiresx"
               "Expiresy") -
            1},
    {"a date in the data alphabet",
        S(R200 "Date: Sun, 06 Nov 1994 08:49:37 GMTX\r\n\r\n"), false, KEEP0,
        S(R200 CL0 KA), 1, sizeof("DateSun, 06 Nov 1994 08:49:37 GMTX") - 1},
    {"entity-tags: strong, weak", S(R200 "ETag: W/\"5f7d-1a2b\"\r\n\r\n"),
        false, KEEP0, S(R200 "ETag: W/\"5f7d-1a2b\"\r\n" CL0 KA), 0, 0},
    {"entity-tag over 64 characters dropped",
        S(R200 "ETag: \"0123456789012345678901234567890123456789012345678901"
               "2345678901234\"\r\n\r\n"),
        false, KEEP0, S(R200 CL0 KA), 1, 4 + 67},
    {"entity-tag with a space or no quotes dropped",
        S(R200 "ETag: \"a b\"\r\nETag: abc\r\n\r\n"), false, KEEP0,
        S(R200 CL0 KA), 2, 4 + 5 + 4 + 3},
    {"304: validators and freshness only",
        S("HTTP/1.1 304 Not Modified\r\n" OCT DATE "ETag: \"x\"\r\n"
          "X-A: 1\r\n\r\n"),
        false, NOBODY,
        S("HTTP/1.1 304 Not Modified\r\n" DATE "ETag: \"x\"\r\n" KA), 2,
        sizeof("Content-Typeapplication/ocsp-responseX-A1") - 1},
    {"HEAD answer", S(R200 "Content-Length: 77\r\n\r\n"), true, NOBODY,
        S(R200 KA), 0, 0},
};

static void
test_build_client(void)
{
	for (size_t i = 0; i < sizeof(client_cases) / sizeof(client_cases[0]);
	     i++) {
		const struct client_case *c = &client_cases[i];
		char *in = dup_bytes(c->in, c->in_len);
		struct http_response_dropped d;
		struct http_response r;
		size_t consumed;
		char out[HTTP_RESPONSE_HEAD_MAX];
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
		    &r, &c->frame, &d, out, sizeof(out));
		if (c->out == NULL) {
			CHECKF(n == -1, "%s: built %d", c->name, n);
			free(in);
			continue;
		}
		CHECKF(n >= 0 && (size_t)n == c->out_len &&
		        memcmp(out, c->out, c->out_len) == 0,
		    "%s: got '%.*s'", c->name, n > 0 ? n : 0, out);
		CHECKF(d.fields == c->dropped_fields &&
		        d.bytes == c->dropped_bytes,
		    "%s: dropped %u fields, %llu bytes", c->name, d.fields,
		    (unsigned long long)d.bytes);
		/* The count without the head is the same. */
		memset(&d, 0xa5, sizeof(d));
		http_response_weigh(&r, &d);
		CHECKF(d.fields == c->dropped_fields &&
		        d.bytes == c->dropped_bytes,
		    "%s: weighed %u fields, %llu bytes", c->name, d.fields,
		    (unsigned long long)d.bytes);
		for (size_t cap = 0; n > 0 && cap < (size_t)n; cap++) {
			char *small = malloc(cap > 0 ? cap : 1);

			if (small == NULL)
				abort();
			CHECKF(http_response_build_client(
			           &r, &c->frame, NULL, small, cap) == -1,
			    "%s: cap %zu", c->name, cap);
			free(small);
		}
		free(in);
	}
}

struct check_case {
	const char *name;
	const char *in;
	size_t in_len;
	bool ok;
};

#define R304 "HTTP/1.1 304 Not Modified\r\n"

/* ocspgate sends no validators: no 304 answers anything it asked. */
static const struct check_case check_cases[] = {
    {"200", S(R200 "\r\n"), true},
    {"404", S("HTTP/1.1 404 Not Found\r\n\r\n"), true},
    {"304", S(R304 "\r\n"), false},
    {"304 with an entity-tag", S(R304 "ETag: \"v2\"\r\n\r\n"), false},
};

static void
test_check(void)
{
	for (size_t i = 0; i < sizeof(check_cases) / sizeof(check_cases[0]);
	     i++) {
		const struct check_case *c = &check_cases[i];
		char *in = dup_bytes(c->in, c->in_len);
		struct http_response r;
		size_t consumed;
		const char *why;

		http_response_init(&r, false);
		CHECK(http_response_parse(&r, in, c->in_len, &consumed) ==
		    HTTP_PARSE_DONE);
		why = http_response_check(&r);
		CHECKF((why == NULL) == c->ok, "%s: %s", c->name,
		    why != NULL ? why : "accepted");
		free(in);
	}
}

/* The head of a judged answer: ocspgate's facts only. */
struct judged_case {
	const char *name;
	struct http_response_judged j;
	struct http_response_frame f;
	const char *want;
};

#define NOW 784111777 /* Sun, 06 Nov 1994 08:49:37 GMT */

static const struct judged_case judged_cases[] = {
    {"OCSP, RFC 5019 6.2's fields",
        {false, "application/ocsp-response", NOW, NOW - 3600, NOW + 600, 0},
        {false, true, HTTP_FRAMING_LENGTH, 6},
        "HTTP/1.1 200 OK\r\n"
        "Content-Type: application/ocsp-response\r\n"
        "Cache-Control: max-age=600, public, no-transform, "
        "must-revalidate\r\n"
        "Date: Sun, 06 Nov 1994 08:49:37 GMT\r\n"
        "Last-Modified: Sun, 06 Nov 1994 07:49:37 GMT\r\n"
        "Expires: Sun, 06 Nov 1994 08:59:37 GMT\r\n"
        "Content-Length: 6\r\n"
        "Connection: keep-alive\r\n\r\n"},
    {"304: no type, no length",
        {true, "application/pkix-crl", NOW, NOW - 3600, NOW + 600, 0},
        {false, true, HTTP_FRAMING_NONE, 0},
        "HTTP/1.1 304 Not Modified\r\n"
        "Cache-Control: max-age=600, public, no-transform, "
        "must-revalidate\r\n"
        "Date: Sun, 06 Nov 1994 08:49:37 GMT\r\n"
        "Last-Modified: Sun, 06 Nov 1994 07:49:37 GMT\r\n"
        "Expires: Sun, 06 Nov 1994 08:59:37 GMT\r\n"
        "Connection: keep-alive\r\n\r\n"},
    {"past its next update: max-age 0; HTTP/1.0, close",
        {false, "application/pkix-crl", NOW, 0, NOW - 60, 0},
        {true, false, HTTP_FRAMING_LENGTH, 0},
        "HTTP/1.0 200 OK\r\n"
        "Content-Type: application/pkix-crl\r\n"
        "Cache-Control: max-age=0, public, no-transform, "
        "must-revalidate\r\n"
        "Date: Sun, 06 Nov 1994 08:49:37 GMT\r\n"
        "Expires: Sun, 06 Nov 1994 08:48:37 GMT\r\n"
        "Content-Length: 0\r\n"
        "Connection: close\r\n\r\n"},
    {"no dates of its own", {false, "application/pkix-cert", NOW, 0, 0, 0},
        {false, true, HTTP_FRAMING_LENGTH, 1200},
        "HTTP/1.1 200 OK\r\n"
        "Content-Type: application/pkix-cert\r\n"
        "Date: Sun, 06 Nov 1994 08:49:37 GMT\r\n"
        "Content-Length: 1200\r\n"
        "Connection: keep-alive\r\n\r\n"},
    {"a next update a month on: max-age at most fresh_max",
        {false, "application/pkix-crl", NOW, NOW - 60, NOW + 2592000, 259200},
        {false, true, HTTP_FRAMING_LENGTH, 1},
        "HTTP/1.1 200 OK\r\n"
        "Content-Type: application/pkix-crl\r\n"
        "Cache-Control: max-age=259200, public, no-transform, "
        "must-revalidate\r\n"
        "Date: Sun, 06 Nov 1994 08:49:37 GMT\r\n"
        "Last-Modified: Sun, 06 Nov 1994 08:48:37 GMT\r\n"
        "Expires: Tue, 06 Dec 1994 08:49:37 GMT\r\n"
        "Content-Length: 1\r\n"
        "Connection: keep-alive\r\n\r\n"},
    {"a date and no next update: no-cache; a date ahead is Date",
        {false, "application/vnd.ms-cab-compressed", NOW, NOW + 86400, 0,
            259200},
        {false, false, HTTP_FRAMING_LENGTH, 2},
        "HTTP/1.1 200 OK\r\n"
        "Content-Type: application/vnd.ms-cab-compressed\r\n"
        "Cache-Control: no-cache\r\n"
        "Date: Sun, 06 Nov 1994 08:49:37 GMT\r\n"
        "Last-Modified: Sun, 06 Nov 1994 08:49:37 GMT\r\n"
        "Content-Length: 2\r\n"
        "Connection: close\r\n\r\n"},
    {"times past 9999 left out",
        {false, "application/pkix-cert", 253402300800, 0, 0, 0},
        {false, true, HTTP_FRAMING_LENGTH, 3},
        "HTTP/1.1 200 OK\r\n"
        "Content-Type: application/pkix-cert\r\n"
        "Content-Length: 3\r\n"
        "Connection: keep-alive\r\n\r\n"},
};

static void
test_build_judged(void)
{
	struct http_response_frame chunked = {
	    false, true, HTTP_FRAMING_CHUNKED, 0};
	char out[HTTP_RESPONSE_HEAD_MAX];

	for (size_t i = 0; i < sizeof(judged_cases) / sizeof(judged_cases[0]);
	     i++) {
		const struct judged_case *c = &judged_cases[i];
		int n =
		    http_response_build_judged(&c->j, &c->f, out, sizeof(out));

		CHECKF(n == (int)strlen(c->want) &&
		        memcmp(out, c->want, (size_t)n) == 0,
		    "%s: got\n%.*s", c->name, n > 0 ? n : 0, out);
		/* Every capacity short of the length fails. */
		for (size_t cap = 0; n > 0 && cap < (size_t)n; cap++)
			CHECKF(http_response_build_judged(
			           &c->j, &c->f, out, cap) == -1,
			    "%s: cap %zu", c->name, cap);
	}
	/* A judged answer's length is known: never chunked. */
	CHECK(http_response_build_judged(
	          &judged_cases[0].j, &chunked, out, sizeof(out)) == -1);
}

static void
test_framing(void)
{
	static const struct {
		const char *in;
		size_t in_len;
		bool head;
		bool http10;
		enum http_response_framing want;
		uint64_t length;
	} t[] = {
	    {S(R200 CL5 "\r\n"), false, false, HTTP_FRAMING_LENGTH, 5},
	    {S(R200 CL5 "\r\n"), false, true, HTTP_FRAMING_LENGTH, 5},
	    {S(R200 "Transfer-Encoding: chunked\r\n\r\n"), false, false,
	        HTTP_FRAMING_CHUNKED, 0},
	    {S(R200 "Transfer-Encoding: chunked\r\n\r\n"), false, true,
	        HTTP_FRAMING_CLOSE, 0},
	    {S(R200 "Connection: close\r\n\r\n"), false, false,
	        HTTP_FRAMING_CHUNKED, 0},
	    {S(R200 CL5 "\r\n"), true, false, HTTP_FRAMING_NONE, 0},
	    {S("HTTP/1.1 204 No Content\r\n\r\n"), false, false,
	        HTTP_FRAMING_NONE, 0},
	    {S(R304 "\r\n"), false, false, HTTP_FRAMING_NONE, 0},
	};
	char line[16];

	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		char *in = dup_bytes(t[i].in, t[i].in_len);
		struct http_response r;
		size_t consumed;
		uint64_t len = 99;

		http_response_init(&r, t[i].head);
		CHECK(http_response_parse(&r, in, t[i].in_len, &consumed) ==
		    HTTP_PARSE_DONE);
		CHECKF(http_response_relay_framing(&r, t[i].http10, &len) ==
		            t[i].want &&
		        len == t[i].length,
		    "framing case %zu", i);
		free(in);
	}
	CHECK(http_response_chunk_line(1, line, sizeof(line)) == 3 &&
	    memcmp(line, "1\r\n", 3) == 0);
	CHECK(http_response_chunk_line(0x1a2b, line, sizeof(line)) == 6 &&
	    memcmp(line, "1a2b\r\n", 6) == 0);
	CHECK(http_response_chunk_line(0x1a2b, line, 6) == -1);
}

int
main(void)
{
	test_cases();
	test_eof();
	test_build_client();
	test_check();
	test_build_judged();
	test_framing();
	return check_done();
}
