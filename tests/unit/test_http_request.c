/*
 * Unit tests for http_request.c: each request is fed whole, one byte at a
 * time and in random slices of one buffer, and must give the same result,
 * reason, consumed count and facts; every smuggling shape is refused.
 * Also the head built for the upstream and pipelined requests.
 */
#include <ctype.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "check.h"
#include "ocspgate/http_request.h"

#define S(lit) lit, sizeof(lit) - 1

#define T_BODY_CAP      64 /* body capacity unless a case sets one */
#define T_RANDOM_SPLITS 24 /* random slicings tried per case */

/* Expected outcome of parsing one input. */
struct rq_case {
	const char *name;
	const char *in;
	size_t in_len;
	size_t body_cap; /* 0 means T_BODY_CAP */
	enum http_parse want;
	enum reason reason; /* for HTTP_PARSE_ERROR */
	size_t rest;        /* DONE: bytes left for the next request */
	/* Facts checked on DONE. */
	const char *method;
	enum http_target_form form;
	const char *host; /* NULL: no host span */
	uint16_t port;
	const char *path;
	const char *query; /* NULL: no '?' */
	bool keep_alive;
	const char *body;
	size_t body_len;
};

#define H11    " HTTP/1.1\r\nHost: ocsp.test\r\n"
#define GETA   "GET http://ocsp.test/"
#define POSTA  "POST http://ocsp.test/"
#define OCSPCT "Content-Type: application/ocsp-request\r\n"
#define PIPE2  "GET http://ocsp.test/b HTTP/1.1\r\nHost: ocsp.test\r\n\r\n"

/* Requests that parse: their facts. */
static const struct rq_case ok_cases[] = {
    {.name = "absolute GET",
        .in = S(GETA "MEow" H11 "\r\n"),
        .want = HTTP_PARSE_DONE,
        .method = "GET",
        .form = HTTP_TARGET_ABSOLUTE,
        .host = "ocsp.test",
        .port = 80,
        .path = "/MEow",
        .keep_alive = true},
    {.name = "absolute GET with query",
        .in = S(GETA "p/q?x=1&y" H11 "\r\n"),
        .want = HTTP_PARSE_DONE,
        .method = "GET",
        .form = HTTP_TARGET_ABSOLUTE,
        .host = "ocsp.test",
        .port = 80,
        .path = "/p/q",
        .query = "x=1&y",
        .keep_alive = true},
    {.name = "absolute GET, empty path",
        .in = S("GET http://ocsp.test" H11 "\r\n"),
        .want = HTTP_PARSE_DONE,
        .method = "GET",
        .form = HTTP_TARGET_ABSOLUTE,
        .host = "ocsp.test",
        .port = 80,
        .path = "/",
        .keep_alive = true},
    {.name = "absolute GET, empty path, query",
        .in = S("GET http://ocsp.test?a" H11 "\r\n"),
        .want = HTTP_PARSE_DONE,
        .method = "GET",
        .form = HTTP_TARGET_ABSOLUTE,
        .host = "ocsp.test",
        .port = 80,
        .path = "/",
        .query = "a",
        .keep_alive = true},
    {.name = "upper-case scheme",
        .in = S("GET HTTP://ocsp.test/x" H11 "\r\n"),
        .want = HTTP_PARSE_DONE,
        .method = "GET",
        .form = HTTP_TARGET_ABSOLUTE,
        .host = "ocsp.test",
        .port = 80,
        .path = "/x",
        .keep_alive = true},
    {.name = "POST with Content-Length",
        .in = S("POST http://ocsp.test:8080/ocsp HTTP/1.1\r\n"
                "Host: ocsp.test:8080\r\n" OCSPCT "Content-Length: 5\r\n"
                "\r\nhello"),
        .want = HTTP_PARSE_DONE,
        .method = "POST",
        .form = HTTP_TARGET_ABSOLUTE,
        .host = "ocsp.test",
        .port = 8080,
        .path = "/ocsp",
        .keep_alive = true,
        .body = "hello",
        .body_len = 5},
    {.name = "POST chunked, extension",
        .in =
            S(POSTA H11 OCSPCT "Transfer-Encoding: chunked\r\n\r\n"
                               "5\r\nhello\r\n6;ext=1\r\n world\r\n0\r\n\r\n"),
        .want = HTTP_PARSE_DONE,
        .method = "POST",
        .form = HTTP_TARGET_ABSOLUTE,
        .host = "ocsp.test",
        .port = 80,
        .path = "/",
        .keep_alive = true,
        .body = "hello world",
        .body_len = 11},
    {.name = "POST chunked, upper-case coding, hex size",
        .in = S(POSTA H11 "Transfer-Encoding: Chunked\r\n\r\n"
                          "A\r\n0123456789\r\n0\r\n\r\n"),
        .want = HTTP_PARSE_DONE,
        .method = "POST",
        .form = HTTP_TARGET_ABSOLUTE,
        .host = "ocsp.test",
        .port = 80,
        .path = "/",
        .keep_alive = true,
        .body = "0123456789",
        .body_len = 10},
    {.name = "POST Content-Length 0",
        .in = S(POSTA H11 "Content-Length: 0\r\n\r\n"),
        .want = HTTP_PARSE_DONE,
        .method = "POST",
        .form = HTTP_TARGET_ABSOLUTE,
        .host = "ocsp.test",
        .port = 80,
        .path = "/",
        .keep_alive = true},
    {.name = "body exactly at the cap",
        .in = S(POSTA H11 "Content-Length: 8\r\n\r\n12345678"),
        .body_cap = 8,
        .want = HTTP_PARSE_DONE,
        .method = "POST",
        .form = HTTP_TARGET_ABSOLUTE,
        .host = "ocsp.test",
        .port = 80,
        .path = "/",
        .keep_alive = true,
        .body = "12345678",
        .body_len = 8},
    {.name = "chunked body exactly at the cap",
        .in = S(POSTA H11 "Transfer-Encoding: chunked\r\n\r\n"
                          "4\r\n1234\r\n4\r\n5678\r\n0\r\n\r\n"),
        .body_cap = 8,
        .want = HTTP_PARSE_DONE,
        .method = "POST",
        .form = HTTP_TARGET_ABSOLUTE,
        .host = "ocsp.test",
        .port = 80,
        .path = "/",
        .keep_alive = true,
        .body = "12345678",
        .body_len = 8},
    {.name = "pipelined: second request left unconsumed",
        .in = S(GETA "a" H11 "\r\n" PIPE2),
        .want = HTTP_PARSE_DONE,
        .rest = sizeof(PIPE2) - 1,
        .method = "GET",
        .form = HTTP_TARGET_ABSOLUTE,
        .host = "ocsp.test",
        .port = 80,
        .path = "/a",
        .keep_alive = true},
    {.name = "pipelined after a body",
        .in = S(POSTA H11 "Content-Length: 3\r\n\r\nabc" PIPE2),
        .want = HTTP_PARSE_DONE,
        .rest = sizeof(PIPE2) - 1,
        .method = "POST",
        .form = HTTP_TARGET_ABSOLUTE,
        .host = "ocsp.test",
        .port = 80,
        .path = "/",
        .keep_alive = true,
        .body = "abc",
        .body_len = 3},
    {.name = "pipelined after a chunked body",
        .in = S(POSTA H11 "Transfer-Encoding: chunked\r\n\r\n"
                          "3\r\nabc\r\n0\r\n\r\n" PIPE2),
        .want = HTTP_PARSE_DONE,
        .rest = sizeof(PIPE2) - 1,
        .method = "POST",
        .form = HTTP_TARGET_ABSOLUTE,
        .host = "ocsp.test",
        .port = 80,
        .path = "/",
        .keep_alive = true,
        .body = "abc",
        .body_len = 3},
    {.name = "Connection: close",
        .in = S(GETA H11 "Connection: close\r\n\r\n"),
        .want = HTTP_PARSE_DONE,
        .method = "GET",
        .form = HTTP_TARGET_ABSOLUTE,
        .host = "ocsp.test",
        .port = 80,
        .path = "/"},
    /* An Upgrade is ignored, and the connection ends after the answer. */
    {.name = "upgrade request",
        .in = S(GETA H11 "Connection: Upgrade\r\nUpgrade: websocket\r\n\r\n"),
        .want = HTTP_PARSE_DONE,
        .method = "GET",
        .form = HTTP_TARGET_ABSOLUTE,
        .host = "ocsp.test",
        .port = 80,
        .path = "/"},
    {.name = "h2c upgrade",
        .in = S(GETA H11 "Connection: Upgrade, HTTP2-Settings\r\n"
                         "Upgrade: h2c\r\nHTTP2-Settings: AA\r\n\r\n"),
        .want = HTTP_PARSE_DONE,
        .method = "GET",
        .form = HTTP_TARGET_ABSOLUTE,
        .host = "ocsp.test",
        .port = 80,
        .path = "/"},
    {.name = "Upgrade without Connection",
        .in = S(GETA H11 "Upgrade: websocket\r\n\r\n"),
        .want = HTTP_PARSE_DONE,
        .method = "GET",
        .form = HTTP_TARGET_ABSOLUTE,
        .host = "ocsp.test",
        .port = 80,
        .path = "/",
        .keep_alive = true},
    {.name = "Connection: keep-alive on HTTP/1.1",
        .in = S(GETA H11 "Connection: keep-alive\r\n\r\n"),
        .want = HTTP_PARSE_DONE,
        .method = "GET",
        .form = HTTP_TARGET_ABSOLUTE,
        .host = "ocsp.test",
        .port = 80,
        .path = "/",
        .keep_alive = true},
    {.name = "HTTP/1.0 without Host",
        .in = S(GETA "x HTTP/1.0\r\n\r\n"),
        .want = HTTP_PARSE_DONE,
        .method = "GET",
        .form = HTTP_TARGET_ABSOLUTE,
        .host = "ocsp.test",
        .port = 80,
        .path = "/x"},
    {.name = "HTTP/1.0 keep-alive",
        .in = S(GETA " HTTP/1.0\r\nConnection: keep-alive\r\n\r\n"),
        .want = HTTP_PARSE_DONE,
        .method = "GET",
        .form = HTTP_TARGET_ABSOLUTE,
        .host = "ocsp.test",
        .port = 80,
        .path = "/",
        .keep_alive = true},
    {.name = "HTTP/1.0 POST with Content-Length",
        .in = S(POSTA " HTTP/1.0\r\nContent-Length: 2\r\n\r\nhi"),
        .want = HTTP_PARSE_DONE,
        .method = "POST",
        .form = HTTP_TARGET_ABSOLUTE,
        .host = "ocsp.test",
        .port = 80,
        .path = "/",
        .body = "hi",
        .body_len = 2},
    {.name = "Host differs only in case",
        .in = S("GET http://OCSP.Test/ HTTP/1.1\r\nHost: ocsp.TEST\r\n\r\n"),
        .want = HTTP_PARSE_DONE,
        .method = "GET",
        .form = HTTP_TARGET_ABSOLUTE,
        .host = "OCSP.Test",
        .port = 80,
        .path = "/",
        .keep_alive = true},
    {.name = "Host without the target's port",
        .in = S("GET http://ocsp.test:8080/ HTTP/1.1\r\nHost: ocsp.test\r\n"
                "\r\n"),
        .want = HTTP_PARSE_DONE,
        .method = "GET",
        .form = HTTP_TARGET_ABSOLUTE,
        .host = "ocsp.test",
        .port = 8080,
        .path = "/",
        .keep_alive = true},
    {.name = "Host with :80, target without port",
        .in = S(GETA " HTTP/1.1\r\nHost: ocsp.test:80\r\n\r\n"),
        .want = HTTP_PARSE_DONE,
        .method = "GET",
        .form = HTTP_TARGET_ABSOLUTE,
        .host = "ocsp.test",
        .port = 80,
        .path = "/",
        .keep_alive = true},
    {.name = "trailing dot on one side",
        .in = S("GET http://ocsp.test./ HTTP/1.1\r\nHost: ocsp.test\r\n\r\n"),
        .want = HTTP_PARSE_DONE,
        .method = "GET",
        .form = HTTP_TARGET_ABSOLUTE,
        .host = "ocsp.test.",
        .port = 80,
        .path = "/",
        .keep_alive = true},
    {.name = "IPv6 literal",
        .in = S("GET http://[::1]:8080/x HTTP/1.1\r\nHost: [::1]:8080\r\n\r\n"),
        .want = HTTP_PARSE_DONE,
        .method = "GET",
        .form = HTTP_TARGET_ABSOLUTE,
        .host = "::1",
        .port = 8080,
        .path = "/x",
        .keep_alive = true},
    {.name = "IPv4 literal",
        .in = S("GET http://127.0.0.1/ HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"),
        .want = HTTP_PARSE_DONE,
        .method = "GET",
        .form = HTTP_TARGET_ABSOLUTE,
        .host = "127.0.0.1",
        .port = 80,
        .path = "/",
        .keep_alive = true},
    {.name = "leading zeros in port",
        .in = S("GET http://ocsp.test:0080/ HTTP/1.1\r\nHost: ocsp.test\r\n"
                "\r\n"),
        .want = HTTP_PARSE_DONE,
        .method = "GET",
        .form = HTTP_TARGET_ABSOLUTE,
        .host = "ocsp.test",
        .port = 80,
        .path = "/",
        .keep_alive = true},
    {.name = "port 65535",
        .in = S("GET http://ocsp.test:65535/ HTTP/1.1\r\nHost: ocsp.test\r\n"
                "\r\n"),
        .want = HTTP_PARSE_DONE,
        .method = "GET",
        .form = HTTP_TARGET_ABSOLUTE,
        .host = "ocsp.test",
        .port = 65535,
        .path = "/",
        .keep_alive = true},
    {.name = "empty lines before the request line",
        .in = S("\r\n\r\n" GETA H11 "\r\n"),
        .want = HTTP_PARSE_DONE,
        .method = "GET",
        .form = HTTP_TARGET_ABSOLUTE,
        .host = "ocsp.test",
        .port = 80,
        .path = "/",
        .keep_alive = true},
    {.name = "Expect: 100-continue",
        .in = S(POSTA H11 "Expect: 100-continue\r\nContent-Length: 1\r\n\r\n"
                          "x"),
        .want = HTTP_PARSE_DONE,
        .method = "POST",
        .form = HTTP_TARGET_ABSOLUTE,
        .host = "ocsp.test",
        .port = 80,
        .path = "/",
        .keep_alive = true,
        .body = "x",
        .body_len = 1},
    {.name = "obs-text in a value",
        .in = S(GETA H11 "User-Agent: caf\xc3\xa9\r\n\r\n"),
        .want = HTTP_PARSE_DONE,
        .method = "GET",
        .form = HTTP_TARGET_ABSOLUTE,
        .host = "ocsp.test",
        .port = 80,
        .path = "/",
        .keep_alive = true},
    {.name = "origin-form",
        .in = S("GET /x?y HTTP/1.1\r\nHost: ocsp.test\r\n\r\n"),
        .want = HTTP_PARSE_DONE,
        .method = "GET",
        .form = HTTP_TARGET_ORIGIN,
        .path = "/x",
        .query = "y",
        .keep_alive = true},
    {
        .name = "CONNECT authority-form",
        .in = S("CONNECT ocsp.test:443 HTTP/1.1\r\nHost: ocsp.test:443\r\n"
                "\r\n"),
        .want = HTTP_PARSE_DONE,
        .method = "CONNECT",
        .form = HTTP_TARGET_AUTHORITY,
        .host = "ocsp.test",
        .port = 443,
    },
    {.name = "OPTIONS *",
        .in = S("OPTIONS * HTTP/1.1\r\nHost: ocsp.test\r\n\r\n"),
        .want = HTTP_PARSE_DONE,
        .method = "OPTIONS",
        .form = HTTP_TARGET_ASTERISK,
        .keep_alive = true},
    {.name = "incomplete request line",
        .in = S("GET http://ocsp.te"),
        .want = HTTP_PARSE_MORE},
    {.name = "incomplete head", .in = S(GETA H11), .want = HTTP_PARSE_MORE},
    {.name = "incomplete body",
        .in = S(POSTA H11 "Content-Length: 5\r\n\r\nhel"),
        .want = HTTP_PARSE_MORE},
    {.name = "incomplete chunked body",
        .in = S(POSTA H11 "Transfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n"),
        .want = HTTP_PARSE_MORE},
    {.name = "nothing yet", .in = S(""), .want = HTTP_PARSE_MORE},
};

#define BAD(nm, text)                                                          \
	{                                                                      \
		.name = (nm), .in = S(text), .want = HTTP_PARSE_ERROR,         \
		.reason = REASON_HTTP_MALFORMED                                \
	}

/* Requests refused as http_malformed: smuggling and malformed shapes. */
static const struct rq_case bad_cases[] = {
    /* Framing. */
    BAD("CL then TE",
        POSTA H11 "Content-Length: 5\r\n"
                  "Transfer-Encoding: chunked\r\n\r\n"
                  "0\r\n\r\n"),
    BAD("TE then CL",
        POSTA H11 "Transfer-Encoding: chunked\r\n"
                  "Content-Length: 5\r\n\r\n"
                  "0\r\n\r\n"),
    BAD("differing Content-Length",
        POSTA H11 "Content-Length: 5\r\n"
                  "Content-Length: 6\r\n\r\n"
                  "hello!"),
    BAD("repeated identical Content-Length",
        POSTA H11 "Content-Length: 5\r\nContent-Length: 5\r\n\r\nhello"),
    BAD("Content-Length list",
        POSTA H11 "Content-Length: 5, 5\r\n\r\n"
                  "hello"),
    BAD("Content-Length with sign",
        POSTA H11 "Content-Length: +5\r\n\r\n"
                  "hello"),
    BAD("Content-Length not a number",
        POSTA H11 "Content-Length: five\r\n\r\n"),
    BAD("Content-Length overflows",
        POSTA H11 "Content-Length: 99999999999999999999999\r\n\r\n"),
    BAD("chunk size zz",
        POSTA H11 "Transfer-Encoding: chunked\r\n\r\n"
                  "zz\r\nhello\r\n0\r\n\r\n"),
    BAD("chunk size -1",
        POSTA H11 "Transfer-Encoding: chunked\r\n\r\n"
                  "-1\r\nhello\r\n0\r\n\r\n"),
    BAD("chunk size overflows 64 bits",
        POSTA H11 "Transfer-Encoding: chunked\r\n\r\n"
                  "1ffffffffffffffff\r\nhello\r\n0\r\n\r\n"),
    BAD("chunk size with 0x",
        POSTA H11 "Transfer-Encoding: chunked\r\n\r\n"
                  "0x5\r\nhello\r\n0\r\n\r\n"),
    BAD("chunk data longer than its size",
        POSTA H11 "Transfer-Encoding: chunked\r\n\r\n3\r\nhello\r\n0\r\n\r\n"),
    BAD("Transfer-Encoding: xchunked",
        POSTA H11 "Transfer-Encoding: xchunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n"),
    BAD("Transfer-Encoding: chunked, identity",
        POSTA H11 "Transfer-Encoding: chunked, identity\r\n\r\n"
                  "5\r\nhello\r\n0\r\n\r\n"),
    BAD("Transfer-Encoding: identity",
        POSTA H11 "Transfer-Encoding: identity\r\n\r\nhello"),
    BAD("Transfer-Encoding: gzip",
        POSTA H11 "Transfer-Encoding: gzip\r\n\r\nhello"),
    BAD("Transfer-Encoding in HTTP/1.0",
        POSTA " HTTP/1.0\r\n"
              "Transfer-Encoding: chunked\r\n"
              "\r\n5\r\nhello\r\n0\r\n\r\n"),
    /* Head bytes. */
    BAD("obs-fold, space", GETA H11 "X-A: a\r\n b\r\n\r\n"),
    BAD("obs-fold, tab", GETA H11 "X-A: a\r\n\tb\r\n\r\n"),
    BAD("obs-fold after an empty value", GETA H11 "X-A:\r\n b\r\n\r\n"),
    BAD("obs-fold of Host",
        "GET http://ocsp.test/ HTTP/1.1\r\n"
        "Host:\r\n ocsp.test\r\n\r\n"),
    BAD("NUL in a value", GETA H11 "X-A: a\0b\r\n\r\n"),
    BAD("NUL in the target",
        "GET http://ocsp.test/\0 HTTP/1.1\r\n"
        "Host: ocsp.test\r\n\r\n"),
    BAD("NUL in a name", GETA H11 "X\0A: a\r\n\r\n"),
    BAD("NUL before the request", "\0" GETA H11 "\r\n"),
    BAD("bare CR in a value", GETA H11 "X-A: a\rb\r\n\r\n"),
    BAD("bare CR ending a value", GETA H11 "X-A: a\rX-B: b\r\n\r\n"),
    BAD("bare CR ending the request line",
        GETA " HTTP/1.1\r"
             "Host: ocsp.test\r\n\r\n"),
    BAD("bare CR in the target",
        "GET http://ocsp.test/\rx HTTP/1.1\r\n"
        "Host: ocsp.test\r\n\r\n"),
    BAD("bare LF ending the request line",
        GETA " HTTP/1.1\n"
             "Host: ocsp.test\r\n\r\n"),
    BAD("bare LF ending a header", GETA H11 "X-A: a\nX-B: b\r\n\r\n"),
    BAD("bare LF ending the head", GETA H11 "X-A: a\r\n\n"),
    BAD("bare LF only", GETA " HTTP/1.1\nHost: ocsp.test\n\n"),
    BAD("control byte in a value",
        GETA H11 "X-A: a\x01"
                 "b\r\n\r\n"),
    BAD("escape byte in a value", GETA H11 "X-A: \x1b[31m\r\n\r\n"),
    BAD("DEL in a value",
        GETA H11 "X-A: a\x7f"
                 "b\r\n\r\n"),
    BAD("space before colon", GETA H11 "X-A : a\r\n\r\n"),
    BAD("space before colon of Host",
        "GET http://ocsp.test/ HTTP/1.1\r\n"
        "Host : ocsp.test\r\n\r\n"),
    BAD("tab before colon", GETA H11 "X-A\t: a\r\n\r\n"),
    BAD("header without colon", GETA H11 "X-A\r\n\r\n"),
    BAD("empty header name", GETA H11 ": a\r\n\r\n"),
    BAD("space in a header name", GETA H11 "X A: a\r\n\r\n"),
    BAD("'@' in a header name", GETA H11 "X@A: a\r\n\r\n"),
    BAD("'(' in a header name", GETA H11 "X(A): a\r\n\r\n"),
    BAD("'\"' in a header name", GETA H11 "\"X\": a\r\n\r\n"),
    BAD("8-bit byte in a header name", GETA H11 "X\xc3\xa9: a\r\n\r\n"),
    BAD("header line starting with space",
        GETA " HTTP/1.1\r\n"
             " Host: ocsp.test\r\n\r\n"),
    /* Request line. */
    BAD("double space after the method",
        "GET  http://ocsp.test/ HTTP/1.1\r\n"
        "Host: ocsp.test\r\n\r\n"),
    BAD("double space before the version",
        "GET http://ocsp.test/  "
        "HTTP/1.1\r\n"
        "Host: ocsp.test\r\n\r\n"),
    BAD("tab after the method",
        "GET\thttp://ocsp.test/ HTTP/1.1\r\n"
        "Host: ocsp.test\r\n\r\n"),
    BAD("space before the method",
        " GET http://ocsp.test/ HTTP/1.1\r\n"
        "Host: ocsp.test\r\n\r\n"),
    BAD("space after the version",
        "GET http://ocsp.test/ HTTP/1.1 \r\n"
        "Host: ocsp.test\r\n\r\n"),
    BAD("space inside the target",
        "GET http://ocsp.test/a b HTTP/1.1\r\n"
        "Host: ocsp.test\r\n\r\n"),
    BAD("lower-case method",
        "get http://ocsp.test/ HTTP/1.1\r\n"
        "Host: ocsp.test\r\n\r\n"),
    BAD("unknown method",
        "FROB http://ocsp.test/ HTTP/1.1\r\n"
        "Host: ocsp.test\r\n\r\n"),
    BAD("HTTP/0.9", "GET http://ocsp.test/\r\n\r\n"),
    BAD("HTTP/1.2",
        "GET http://ocsp.test/ HTTP/1.2\r\n"
        "Host: ocsp.test\r\n\r\n"),
    BAD("HTTP/2.0 request line",
        "GET http://ocsp.test/ HTTP/2.0\r\n"
        "Host: ocsp.test\r\n\r\n"),
    BAD("HTTP/2 preface", "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"),
    BAD("lower-case version",
        "GET http://ocsp.test/ http/1.1\r\n"
        "Host: ocsp.test\r\n\r\n"),
    /* Host. */
    BAD("HTTP/1.1 without Host", GETA " HTTP/1.1\r\n\r\n"),
    BAD("origin-form HTTP/1.1 without Host", "GET / HTTP/1.1\r\n\r\n"),
    BAD("two Host headers", GETA H11 "Host: ocsp.test\r\n\r\n"),
    BAD("two Host headers, different case",
        GETA H11 "host: other.test\r\n"
                 "\r\n"),
    BAD("Host differs from the target",
        "GET http://ocsp.test/ HTTP/1.1\r\n"
        "Host: evil.test\r\n\r\n"),
    BAD("Host is a suffix of the target",
        "GET http://a.ocsp.test/ "
        "HTTP/1.1\r\n"
        "Host: ocsp.test\r\n\r\n"),
    BAD("Host with another port",
        "GET http://ocsp.test:8080/ HTTP/1.1\r\n"
        "Host: ocsp.test:8081\r\n\r\n"),
    BAD("Host with a port, target without",
        "GET http://ocsp.test/ HTTP/1.1\r\nHost: ocsp.test:8080\r\n\r\n"),
    BAD("empty Host with absolute-form",
        "GET http://ocsp.test/ HTTP/1.1\r\n"
        "Host: \r\n\r\n"),
    BAD("Host with a path",
        "GET http://ocsp.test/ HTTP/1.1\r\n"
        "Host: ocsp.test/x\r\n\r\n"),
    BAD("Host with userinfo",
        "GET http://ocsp.test/ HTTP/1.1\r\n"
        "Host: u@ocsp.test\r\n\r\n"),
    /* Target. */
    BAD("userinfo in the target",
        "GET http://u:p@ocsp.test/ HTTP/1.1\r\n"
        "Host: ocsp.test\r\n\r\n"),
    BAD("userinfo without password",
        "GET http://evil.test@ocsp.test/ "
        "HTTP/1.1\r\n"
        "Host: ocsp.test\r\n\r\n"),
    BAD("https scheme",
        "GET https://ocsp.test/ HTTP/1.1\r\n"
        "Host: ocsp.test\r\n\r\n"),
    BAD("ftp scheme",
        "GET ftp://ocsp.test/ HTTP/1.1\r\n"
        "Host: ocsp.test\r\n\r\n"),
    BAD("scheme without slashes",
        "GET http:ocsp.test/ HTTP/1.1\r\n"
        "Host: ocsp.test\r\n\r\n"),
    BAD("relative target",
        "GET ocsp.test/ HTTP/1.1\r\n"
        "Host: ocsp.test\r\n\r\n"),
    BAD("empty host in the target",
        "GET http:/// HTTP/1.1\r\n"
        "Host: ocsp.test\r\n\r\n"),
    BAD("port 0",
        "GET http://ocsp.test:0/ HTTP/1.1\r\n"
        "Host: ocsp.test\r\n\r\n"),
    BAD("port 65536",
        "GET http://ocsp.test:65536/ HTTP/1.1\r\n"
        "Host: ocsp.test\r\n\r\n"),
    BAD("port 99999",
        "GET http://ocsp.test:99999/ HTTP/1.1\r\n"
        "Host: ocsp.test\r\n\r\n"),
    BAD("port with letters",
        "GET http://ocsp.test:8o/ HTTP/1.1\r\n"
        "Host: ocsp.test\r\n\r\n"),
    BAD("empty port",
        "GET http://ocsp.test:/ HTTP/1.1\r\n"
        "Host: ocsp.test\r\n\r\n"),
    BAD("negative port",
        "GET http://ocsp.test:-80/ HTTP/1.1\r\n"
        "Host: ocsp.test\r\n\r\n"),
    BAD("two ports",
        "GET http://ocsp.test:80:80/ HTTP/1.1\r\n"
        "Host: ocsp.test\r\n\r\n"),
    BAD("fragment",
        "GET http://ocsp.test/p#f HTTP/1.1\r\n"
        "Host: ocsp.test\r\n\r\n"),
    BAD("fragment right after the host",
        "GET http://ocsp.test#f "
        "HTTP/1.1\r\n"
        "Host: ocsp.test\r\n\r\n"),
    BAD("fragment in origin-form",
        "GET /p#f HTTP/1.1\r\n"
        "Host: ocsp.test\r\n\r\n"),
    BAD("percent in the host",
        "GET http://ocsp%2etest/ HTTP/1.1\r\n"
        "Host: ocsp.test\r\n\r\n"),
    BAD("unclosed IPv6 literal",
        "GET http://[::1/ HTTP/1.1\r\n"
        "Host: ocsp.test\r\n\r\n"),
    BAD("empty IPv6 literal",
        "GET http://[]/ HTTP/1.1\r\n"
        "Host: ocsp.test\r\n\r\n"),
    BAD("name in brackets",
        "GET http://[ocsp.test]/ HTTP/1.1\r\n"
        "Host: ocsp.test\r\n\r\n"),
    BAD("non-hex IPv6 literal",
        "GET http://[zz::1]/ HTTP/1.1\r\n"
        "Host: [zz::1]\r\n\r\n"),
    BAD("IPv6 literal followed by junk",
        "GET http://[::1]x/ HTTP/1.1\r\n"
        "Host: [::1]\r\n\r\n"),
    /* Other. */
    BAD("Expect other than 100-continue",
        POSTA H11 "Expect: 200-ok\r\n"
                  "Content-Length: 1\r\n\r\n"
                  "x"),
    BAD("two Content-Type headers",
        POSTA H11 OCSPCT OCSPCT "Content-Length: 1\r\n\r\nx"),
};

/* Bodies over the cap: body_too_large. */
static const struct rq_case big_cases[] = {
    {.name = "Content-Length over the cap",
        .in = S(POSTA H11 "Content-Length: 9\r\n\r\n123456789"),
        .body_cap = 8,
        .want = HTTP_PARSE_ERROR,
        .reason = REASON_BODY_TOO_LARGE},
    {.name = "Content-Length over the cap, no body sent yet",
        .in = S(POSTA H11 "Content-Length: 1000000\r\n\r\n"),
        .body_cap = 8,
        .want = HTTP_PARSE_ERROR,
        .reason = REASON_BODY_TOO_LARGE},
    {.name = "chunked over the cap",
        .in = S(POSTA H11 "Transfer-Encoding: chunked\r\n\r\n"
                          "5\r\n12345\r\n4\r\n6789\r\n0\r\n\r\n"),
        .body_cap = 8,
        .want = HTTP_PARSE_ERROR,
        .reason = REASON_BODY_TOO_LARGE},
    {.name = "one chunk over the cap",
        .in = S(POSTA H11 "Transfer-Encoding: chunked\r\n\r\n"
                          "9\r\n123456789\r\n0\r\n\r\n"),
        .body_cap = 8,
        .want = HTTP_PARSE_ERROR,
        .reason = REASON_BODY_TOO_LARGE},
};

/* A small deterministic generator for the random slicings. */
static uint32_t
rnd(uint32_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 17;
	*s ^= *s << 5;
	return *s;
}

static bool
span_is(struct http_span s, const char *want)
{
	if (want == NULL)
		return s.p == NULL;
	return s.p != NULL && s.len == strlen(want) &&
	    memcmp(s.p, want, s.len) == 0;
}

/* A heap copy of exactly <len> bytes, so that overreads are caught. */
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

/*
 * Feeds <in> to <r> in slices of one buffer: whole when <mode> is 0, one
 * byte at a time when 1, random slice lengths (from <seed>) when 2.
 * Stops at the first DONE or ERROR. *total is the bytes consumed.
 */
static enum http_parse
feed(struct http_request *r, const char *in, size_t len, int mode,
    uint32_t seed, size_t *total, bool *contract_ok)
{
	enum http_parse rc = HTTP_PARSE_MORE;
	size_t off = 0;

	*contract_ok = true;
	if (len == 0) {
		size_t consumed = 1;

		rc = http_request_parse(r, in, 0, &consumed);
		*total = consumed;
		return rc;
	}
	while (off < len) {
		size_t n = len - off, consumed;

		if (mode == 1)
			n = 1;
		else if (mode == 2)
			n = 1 + rnd(&seed) % (n < 16 ? n : 16);
		rc = http_request_parse(r, in + off, n, &consumed);
		if (consumed > n || (rc == HTTP_PARSE_MORE && consumed != n))
			*contract_ok = false;
		off += consumed;
		if (rc != HTTP_PARSE_MORE)
			break;
	}
	*total = off;
	return rc;
}

static void
check_facts(
    const struct rq_case *c, const struct http_request *r, const char *how)
{
	CHECKF(span_is(r->method, c->method), "%s (%s): method", c->name, how);
	CHECKF(
	    r->form == c->form, "%s (%s): form %d", c->name, how, (int)r->form);
	if (c->host != NULL)
		CHECKF(span_is(r->host, c->host), "%s (%s): host '%.*s'",
		    c->name, how, (int)r->host.len,
		    r->host.p != NULL ? r->host.p : "");
	else
		CHECKF(r->host.len == 0, "%s (%s): host set", c->name, how);
	CHECKF(r->port == c->port, "%s (%s): port %u", c->name, how,
	    (unsigned)r->port);
	if (c->path != NULL)
		CHECKF(span_is(r->path, c->path), "%s (%s): path '%.*s'",
		    c->name, how, (int)r->path.len,
		    r->path.p != NULL ? r->path.p : "");
	CHECKF(span_is(r->query, c->query), "%s (%s): query", c->name, how);
	CHECKF(r->keep_alive == c->keep_alive, "%s (%s): keep_alive %d",
	    c->name, how, r->keep_alive);
	CHECKF(r->body_len == c->body_len &&
	        (c->body_len == 0 ||
	            memcmp(r->body, c->body, c->body_len) == 0),
	    "%s (%s): body (%zu bytes)", c->name, how, r->body_len);
	CHECKF(r->complete && r->headers_done && r->reason == REASON_NONE,
	    "%s (%s): state", c->name, how);
}

static void
run_case(const struct rq_case *c)
{
	size_t cap = c->body_cap != 0 ? c->body_cap : T_BODY_CAP;
	char *in = dup_bytes(c->in, c->in_len);
	unsigned char *body = malloc(cap);
	static const char *const how[] = {"whole", "bytewise", "random"};

	if (body == NULL)
		abort();
	for (int mode = 0; mode < 3; mode++) {
		int runs = mode == 2 ? T_RANDOM_SPLITS : 1;
		unsigned failed = check_failed;

		/* One report per case and feeding mode is enough. */
		for (int k = 0; k < runs && check_failed == failed; k++) {
			struct http_request r;
			enum http_parse rc;
			size_t total;
			bool ok;

			http_request_init(&r, body, cap);
			rc = feed(&r, in, c->in_len, mode,
			    0x9e3779b9u ^ (uint32_t)(k * 7919 + 1), &total,
			    &ok);
			CHECKF(ok, "%s (%s): consumed contract", c->name,
			    how[mode]);
			CHECKF(rc == c->want,
			    "%s (%s): result %d, want %d (%s)", c->name,
			    how[mode], (int)rc, (int)c->want,
			    r.detail != NULL ? r.detail : "-");
			if (rc != c->want)
				continue;
			if (rc == HTTP_PARSE_ERROR) {
				CHECKF(r.reason == c->reason,
				    "%s (%s): reason %s", c->name, how[mode],
				    reason_name(r.reason));
				CHECKF(
				    r.detail != NULL, "%s: no detail", c->name);
				if (c->reason == REASON_BODY_TOO_LARGE)
					CHECK(r.body_overflow);
				CHECKF(
				    r.body_len <= cap, "%s: body_len", c->name);
			} else if (rc == HTTP_PARSE_DONE) {
				CHECKF(total == c->in_len - c->rest,
				    "%s (%s): consumed %zu, want %zu", c->name,
				    how[mode], total, c->in_len - c->rest);
				check_facts(c, &r, how[mode]);
			} else {
				CHECKF(total == c->in_len && !r.complete,
				    "%s (%s): MORE consumed %zu", c->name,
				    how[mode], total);
			}
		}
	}
	free(body);
	free(in);
}

static void
test_cases(void)
{
	for (size_t i = 0; i < sizeof(ok_cases) / sizeof(ok_cases[0]); i++)
		run_case(&ok_cases[i]);
	for (size_t i = 0; i < sizeof(bad_cases) / sizeof(bad_cases[0]); i++)
		run_case(&bad_cases[i]);
	for (size_t i = 0; i < sizeof(big_cases) / sizeof(big_cases[0]); i++)
		run_case(&big_cases[i]);
}

/* Parses <text> whole into <r>; the caller keeps <buf> alive. */
static enum http_parse
parse_whole(struct http_request *r, const char *buf, size_t len,
    unsigned char *body, size_t cap)
{
	size_t consumed;

	http_request_init(r, body, cap);
	return http_request_parse(r, buf, len, &consumed);
}

struct up_case {
	const char *name;
	const char *in;
	size_t in_len;
	const char *out; /* the exact upstream head */
	size_t out_len;
};

static const struct up_case up_cases[] = {
    {"GET, port 80, query, end-to-end headers kept",
        S("GET http://ocsp.test/MEow?q=1 HTTP/1.1\r\nHost: ocsp.test\r\n"
          "User-Agent: curl/8.5.0\r\nAccept: */*\r\n\r\n"),
        S("GET /MEow?q=1 HTTP/1.1\r\nHost: ocsp.test\r\nUser-Agent: "
          "curl/8.5\r\n"
          "Accept: */*\r\nConnection: close\r\n\r\n")},
    {"empty query kept",
        S("GET http://ocsp.test/a? HTTP/1.1\r\nHost: ocsp.test\r\n\r\n"),
        S("GET /a? HTTP/1.1\r\nHost: ocsp.test\r\nConnection: close\r\n\r\n")},
    {"empty path becomes /",
        S("GET http://ocsp.test HTTP/1.1\r\nHost: ocsp.test\r\n\r\n"),
        S("GET / HTTP/1.1\r\nHost: ocsp.test\r\nConnection: close\r\n\r\n")},
    {"port other than 80 in Host",
        S("GET http://ocsp.test:8080/x HTTP/1.1\r\nHost: ocsp.test\r\n\r\n"),
        S("GET /x HTTP/1.1\r\nHost: ocsp.test:8080\r\n"
          "Connection: close\r\n\r\n")},
    {"explicit :80 left out",
        S("GET http://ocsp.test:80/x HTTP/1.1\r\nHost: ocsp.test:80\r\n\r\n"),
        S("GET /x HTTP/1.1\r\nHost: ocsp.test\r\nConnection: close\r\n\r\n")},
    {"Host from the target, not the header",
        S("GET http://OCSP.Test/ HTTP/1.1\r\nHost: ocsp.test\r\n\r\n"),
        S("GET / HTTP/1.1\r\nHost: OCSP.Test\r\nConnection: close\r\n\r\n")},
    {"IPv6 with port",
        S("GET http://[::1]:8080/ HTTP/1.1\r\nHost: [::1]:8080\r\n\r\n"),
        S("GET / HTTP/1.1\r\nHost: [::1]:8080\r\nConnection: close\r\n\r\n")},
    {"IPv6 on port 80",
        S("GET http://[2001:db8::1]/ HTTP/1.1\r\nHost: [2001:db8::1]\r\n\r\n"),
        S("GET / HTTP/1.1\r\nHost: [2001:db8::1]\r\n"
          "Connection: close\r\n\r\n")},
    {"HTTP/1.0 kept", S("GET http://ocsp.test/ HTTP/1.0\r\n\r\n"),
        S("GET / HTTP/1.0\r\nHost: ocsp.test\r\nConnection: close\r\n\r\n")},
    {"hop-by-hop removed, also those named in Connection",
        S("GET http://ocsp.test/ HTTP/1.1\r\nHost: ocsp.test\r\n"
          "Connection: keep-alive, X-Drop ,x-also\r\nX-Drop: 1\r\n"
          "Accept: */*\r\nKeep-Alive: timeout=5\r\nProxy-Connection: close\r\n"
          "Proxy-Authorization: Basic eDp5\r\nTE: trailers\r\n"
          "Trailer: X-T\r\nX-Also: 3\r\nProxy-Authenticate: x\r\n\r\n"),
        S("GET / HTTP/1.1\r\nHost: ocsp.test\r\nAccept: */*\r\n"
          "Connection: close\r\n\r\n")},
    {"two Connection headers",
        S("GET http://ocsp.test/ HTTP/1.1\r\nHost: ocsp.test\r\n"
          "Connection: Accept\r\nConnection: Pragma\r\nAccept: 1\r\n"
          "Pragma: 2\r\nCache-Control: no-cache\r\n\r\n"),
        S("GET / HTTP/1.1\r\nHost: ocsp.test\r\nCache-Control: no-cache\r\n"
          "Connection: close\r\n\r\n")},
    {"values trimmed of OWS",
        S("GET http://ocsp.test/ HTTP/1.1\r\nHost: ocsp.test\r\n"
          "User-Agent: \t curl/8 \t\r\nPragma:no-cache\r\nX-E:\r\n\r\n"),
        S("GET / HTTP/1.1\r\nHost: ocsp.test\r\nUser-Agent: curl/8\r\n"
          "Pragma: no-cache\r\nConnection: close\r\n\r\n")},
    {"POST with Content-Length rebuilt once",
        S("POST http://ocsp.test/ocsp HTTP/1.1\r\nHost: ocsp.test\r\n"
          "Content-Type: application/ocsp-request\r\nContent-Length: 3\r\n"
          "Expect: 100-continue\r\n\r\nabc"),
        S("POST /ocsp HTTP/1.1\r\nHost: ocsp.test\r\n"
          "Content-Type: application/ocsp-request\r\nContent-Length: 3\r\n"
          "Connection: close\r\n\r\n")},
    {"chunked body forwarded with Content-Length",
        S("POST http://ocsp.test/ HTTP/1.1\r\nHost: ocsp.test\r\n"
          "Transfer-Encoding: chunked\r\nUser-Agent: Java/21\r\n\r\n"
          "5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n"),
        S("POST / HTTP/1.1\r\nHost: ocsp.test\r\nUser-Agent: Java/21\r\n"
          "Content-Length: 11\r\nConnection: close\r\n\r\n")},
    {"POST without a body gets Content-Length: 0",
        S("POST http://ocsp.test/ HTTP/1.1\r\nHost: ocsp.test\r\n"
          "Content-Length: 0\r\n\r\n"),
        S("POST / HTTP/1.1\r\nHost: ocsp.test\r\nContent-Length: 0\r\n"
          "Connection: close\r\n\r\n")},
    {"HTTP/1.0 POST",
        S("POST http://ocsp.test/ HTTP/1.0\r\nContent-Length: 2\r\n\r\nhi"),
        S("POST / HTTP/1.0\r\nHost: ocsp.test\r\nContent-Length: 2\r\n"
          "Connection: close\r\n\r\n")},
};

static void
test_build_upstream(void)
{
	unsigned char body[T_BODY_CAP];

	for (size_t i = 0; i < sizeof(up_cases) / sizeof(up_cases[0]); i++) {
		const struct up_case *c = &up_cases[i];
		char *in = dup_bytes(c->in, c->in_len);
		struct http_request r;
		char out[1024];
		int n;

		if (parse_whole(&r, in, c->in_len, body, sizeof(body)) !=
		    HTTP_PARSE_DONE) {
			CHECKF(false, "%s: does not parse (%s)", c->name,
			    r.detail != NULL ? r.detail : "-");
			free(in);
			continue;
		}
		n = http_request_build_upstream(
		    &r, NULL, false, out, sizeof(out));
		CHECKF(n >= 0 && (size_t)n == c->out_len &&
		        memcmp(out, c->out, (size_t)n) == 0,
		    "%s: got '%.*s'", c->name, n > 0 ? n : 0, out);
		/* Every capacity short of the length fails, without overrun. */
		for (size_t cap = 0; n > 0 && cap < (size_t)n; cap++) {
			char *small = malloc(cap > 0 ? cap : 1);

			if (small == NULL)
				abort();
			CHECKF(http_request_build_upstream(
			           &r, NULL, false, small, cap) == -1,
			    "%s: cap %zu", c->name, cap);
			free(small);
		}
		if (n > 0) {
			char *exact = malloc((size_t)n);

			if (exact == NULL)
				abort();
			CHECKF(http_request_build_upstream(
			           &r, NULL, false, exact, (size_t)n) == n,
			    "%s: exact cap", c->name);
			free(exact);
		}
		free(in);
	}
}

/*
 * Trailer fields of a chunked request arrive after the head was checked:
 * they must not reach the upstream head, least of all framing fields.
 */
static void
test_trailers(void)
{
	static const struct {
		const char *name;
		const char *in;
		size_t in_len;
	} cases[] = {
	    {"plain trailer field",
	        S("POST http://ocsp.test/ HTTP/1.1\r\nHost: ocsp.test\r\n"
	          "Transfer-Encoding: chunked\r\n\r\n"
	          "3\r\nabc\r\n0\r\nX-Trailer: t\r\n\r\n")},
	    {"Transfer-Encoding as a trailer",
	        S("POST http://ocsp.test/ HTTP/1.1\r\nHost: ocsp.test\r\n"
	          "Transfer-Encoding: chunked\r\n\r\n"
	          "3\r\nabc\r\n0\r\nTransfer-Encoding: chunked\r\n\r\n")},
	    {"Content-Length as a trailer",
	        S("POST http://ocsp.test/ HTTP/1.1\r\nHost: ocsp.test\r\n"
	          "Transfer-Encoding: chunked\r\n\r\n"
	          "3\r\nabc\r\n0\r\nContent-Length: 99\r\n\r\n")},
	};
	static const char want[] = "POST / HTTP/1.1\r\nHost: ocsp.test\r\n"
	                           "Content-Length: 3\r\n"
	                           "Connection: close\r\n\r\n";
	unsigned char body[T_BODY_CAP];

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char *in = dup_bytes(cases[i].in, cases[i].in_len);
		struct http_request r;
		enum http_parse rc;
		char out[1024];
		int n;

		rc = parse_whole(&r, in, cases[i].in_len, body, sizeof(body));
		/* Refusing trailers is as good as dropping them. */
		if (rc == HTTP_PARSE_DONE) {
			n = http_request_build_upstream(
			    &r, NULL, false, out, sizeof(out));
			CHECKF(n == (int)strlen(want) &&
			        memcmp(out, want, (size_t)n) == 0,
			    "%s: trailer forwarded as a header: '%.*s'",
			    cases[i].name, n > 0 ? n : 0, out);
		} else {
			CHECKF(rc == HTTP_PARSE_ERROR &&
			        r.reason == REASON_HTTP_MALFORMED,
			    "%s: result %d", cases[i].name, (int)rc);
		}
		free(in);
	}
}

/*
 * Once the head is done, body bytes may come from any buffer. A trailer
 * that straddles two reads must give the same result as one read (the
 * buffers are kept alive here; freed, they would be read after free).
 */
static void
test_trailers_split(void)
{
	static const char head[] = "POST http://ocsp.test/ HTTP/1.1\r\n"
	                           "Host: ocsp.test\r\n"
	                           "Transfer-Encoding: chunked\r\n\r\n";
	static const char *const pieces[] = {
	    "3\r\nabc\r\n0\r\nX-T", "rail", "er: t", "\r\n\r\n"};
	char whole[256];
	size_t len = 0, consumed;
	unsigned char body[T_BODY_CAP];
	struct http_request r;
	enum http_parse want, rc;
	char *copies[4] = {NULL, NULL, NULL, NULL};

	len = (size_t)snprintf(whole, sizeof(whole), "%s%s%s%s%s", head,
	    pieces[0], pieces[1], pieces[2], pieces[3]);
	want = parse_whole(&r, whole, len, body, sizeof(body));

	http_request_init(&r, body, sizeof(body));
	rc = http_request_parse(&r, head, sizeof(head) - 1, &consumed);
	CHECK(rc == HTTP_PARSE_MORE && r.headers_done);
	for (size_t i = 0; i < 4 && rc == HTTP_PARSE_MORE; i++) {
		copies[i] = dup_bytes(pieces[i], strlen(pieces[i]));
		rc = http_request_parse(
		    &r, copies[i], strlen(pieces[i]), &consumed);
	}
	CHECKF(rc == want,
	    "trailer over several reads: result %d, in one "
	    "read %d (%s)",
	    (int)rc, (int)want, r.detail != NULL ? r.detail : "-");
	for (size_t i = 0; i < 4; i++)
		free(copies[i]);
}

/* Two and three requests on one parser, with http_request_next(). */
static void
test_next(void)
{
	static const char pipe[] =
	    "POST http://ocsp.test/one HTTP/1.1\r\nHost: ocsp.test\r\n"
	    "Content-Length: 3\r\n\r\nabc"
	    "GET http://other.test:81/two?q HTTP/1.1\r\nHost: other.test\r\n"
	    "User-Agent: Wget/2.0\r\n\r\n"
	    "POST http://ocsp.test/three HTTP/1.1\r\nHost: ocsp.test\r\n"
	    "Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
	    "2\r\nxy\r\n0\r\n\r\n";
	size_t len = sizeof(pipe) - 1, off = 0, consumed;
	char *in = dup_bytes(pipe, len);
	unsigned char body[T_BODY_CAP];
	const struct http_span *ua;
	struct http_request r;
	enum http_parse rc;
	char out[512];
	int n;

	http_request_init(&r, body, sizeof(body));
	rc = http_request_parse(&r, in, len, &consumed);
	CHECK(rc == HTTP_PARSE_DONE);
	CHECK(span_is(r.path, "/one") && r.body_len == 3 &&
	    memcmp(r.body, "abc", 3) == 0 && r.keep_alive);
	off += consumed;

	/* Without http_request_next() the parser stays done. */
	rc = http_request_parse(&r, in + off, len - off, &consumed);
	CHECK(rc == HTTP_PARSE_DONE && consumed == 0);

	http_request_next(&r);
	CHECK(!r.complete && !r.headers_done && r.body_len == 0 &&
	    r.hs.n == 0 && r.host_hdr == -1 && r.reason == REASON_NONE);
	rc = http_request_parse(&r, in + off, len - off, &consumed);
	CHECK(rc == HTTP_PARSE_DONE);
	CHECK(span_is(r.method, "GET") && span_is(r.host, "other.test") &&
	    r.port == 81 && span_is(r.path, "/two") && span_is(r.query, "q") &&
	    r.body_len == 0 && r.keep_alive);
	ua = http_request_header(&r, "user-agent");
	CHECK(ua != NULL && ua->len == 8 && memcmp(ua->p, "Wget/2.0", 8) == 0);
	CHECK(http_request_header(&r, "content-length") == NULL);
	n = http_request_build_upstream(&r, NULL, false, out, sizeof(out));
	CHECK(n > 0 &&
	    strncmp(out,
	        "GET /two?q HTTP/1.1\r\nHost: other.test:81\r\n"
	        "User-Agent: Wget/2.0\r\nConnection: close\r\n\r\n",
	        (size_t)n) == 0);
	off += consumed;

	/* The third, fed one byte at a time. */
	http_request_next(&r);
	rc = HTTP_PARSE_MORE;
	while (off < len && rc == HTTP_PARSE_MORE) {
		rc = http_request_parse(&r, in + off, 1, &consumed);
		off += consumed;
	}
	CHECK(rc == HTTP_PARSE_DONE && off == len);
	CHECK(span_is(r.path, "/three") && r.body_len == 2 &&
	    memcmp(r.body, "xy", 2) == 0 && !r.keep_alive);

	/* An error stays an error. */
	http_request_next(&r);
	rc = http_request_parse(&r, "BAD\0", 4, &consumed);
	CHECK(rc == HTTP_PARSE_ERROR && consumed == 4);
	rc = http_request_parse(&r, "GET", 3, &consumed);
	CHECK(rc == HTTP_PARSE_ERROR && consumed == 0);
	free(in);
}

/* Headers: lookup, hop-by-hop marking, trimming, the field limit. */
static void
test_headers(void)
{
	static const char req[] =
	    "GET http://ocsp.test/ HTTP/1.1\r\nHost: ocsp.test\r\n"
	    "User-Agent:  ua 1 \r\nuser-agent: ua 2\r\n"
	    "Content-Type: text/plain\r\nConnection: X-Hop\r\n"
	    "X-Hop: h\r\n\r\n";
	unsigned char body[T_BODY_CAP];
	struct http_request r;
	const struct http_span *v;
	char many[HTTP_MAX_HEADERS * 16 + 128];
	size_t off = 0;

	CHECK(parse_whole(&r, req, sizeof(req) - 1, body, sizeof(body)) ==
	    HTTP_PARSE_DONE);
	v = http_request_header(&r, "USER-AGENT");
	CHECK(v != NULL && span_is(*v, "ua 1"));
	CHECK(r.ua_hdr == 1 && r.ctype_hdr == 3 && r.host_hdr == 0);
	CHECK(http_request_header(&r, "x-none") == NULL);
	CHECK(r.hs.n == 6);
	CHECK(r.hs.h[0].hop_by_hop); /* Host is rebuilt */
	CHECK(!r.hs.h[1].hop_by_hop && !r.hs.h[3].hop_by_hop);
	CHECK(r.hs.h[4].hop_by_hop && r.hs.h[5].hop_by_hop);

	/* HTTP_MAX_HEADERS fields pass, one more does not. */
	for (int extra = 0; extra < 2; extra++) {
		off = (size_t)snprintf(many, sizeof(many),
		    "GET http://ocsp.test/ HTTP/1.1\r\nHost: ocsp.test\r\n");
		for (int i = 1; i < HTTP_MAX_HEADERS + extra; i++)
			off += (size_t)snprintf(
			    many + off, sizeof(many) - off, "X-%d: v\r\n", i);
		off += (size_t)snprintf(many + off, sizeof(many) - off, "\r\n");
		CHECKF(parse_whole(&r, many, off, body, sizeof(body)) ==
		        (extra == 0 ? HTTP_PARSE_DONE : HTTP_PARSE_ERROR),
		    "%d header fields", HTTP_MAX_HEADERS + extra);
	}

	CHECK(http_span_eq(&(struct http_span){"HoSt", 4}, "host"));
	CHECK(!http_span_eq(&(struct http_span){"Hos", 3}, "host"));
	{
		struct http_span t =
		    http_span_trim((struct http_span){" \t a b\t ", 8});

		CHECK(t.len == 3 && memcmp(t.p, "a b", 3) == 0);
		t = http_span_trim((struct http_span){" \t ", 3});
		CHECK(t.len == 0);
	}
}

/* The append helpers used to build heads. */
static void
test_put(void)
{
	char out[8];
	size_t off = 0;

	CHECK(http_put_str(out, sizeof(out), &off, "abc") == 0 && off == 3);
	CHECK(http_put_uint(out, sizeof(out), &off, 0) == 0 && off == 4);
	CHECK(http_put_uint(out, sizeof(out), &off, 6553) == 0 && off == 8);
	CHECK(memcmp(out, "abc06553", 8) == 0);
	CHECK(http_put_str(out, sizeof(out), &off, "x") == -1 && off == 8);
	CHECK(http_put(out, sizeof(out), &off, "", 0) == 0 && off == 8);
	off = 0;
	CHECK(http_put_uint(out, sizeof(out), &off, UINT64_MAX) == -1 &&
	    off == 0);
}

/* Origin-form requests on intercepted connections. */
static void
test_intercept(void)
{
	static const struct {
		const char *name;
		const char *in;
		int rc;
		const char *host;
		uint16_t port;
		const char *upstream_host; /* Host line sent upstream */
	} cases[] = {
	    {"Host without port",
	        "GET /MEow HTTP/1.1\r\nHost: ocsp.test\r\n\r\n", 0, "ocsp.test",
	        80, "Host: ocsp.test\r\n"},
	    {"port from the original destination",
	        "GET / HTTP/1.1\r\nHost: ocsp.test:8080\r\n\r\n", 0,
	        "ocsp.test", 80, "Host: ocsp.test\r\n"},
	    {"IPv6 Host", "GET / HTTP/1.1\r\nHost: [::1]\r\n\r\n", 0, "::1", 80,
	        "Host: [::1]\r\n"},
	    {"HTTP/1.0 without Host: found by address",
	        "GET / HTTP/1.0\r\n\r\n", 1, NULL, 0, NULL},
	    {"HTTP/1.1 without Host", "GET / HTTP/1.1\r\n\r\n", -1, NULL, 0,
	        NULL},
	    {"bad Host", "GET / HTTP/1.1\r\nHost: a b\r\n\r\n", -1, NULL, 0,
	        NULL},
	};
	unsigned char body[T_BODY_CAP];

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct http_request r;
		char out[512];
		int n;

		if (parse_whole(&r, cases[i].in, strlen(cases[i].in), body,
		        sizeof(body)) != HTTP_PARSE_DONE) {
			/* "a b" is refused by llhttp already: fine too. */
			CHECKF(cases[i].rc == -1, "%s: does not parse",
			    cases[i].name);
			continue;
		}
		CHECK(r.form == HTTP_TARGET_ORIGIN && !r.intercepted);
		n = http_request_intercept(&r, 80);
		CHECKF(n == cases[i].rc, "%s: rc %d", cases[i].name, n);
		if (n == 1) {
			CHECK(r.reason == REASON_NONE && !r.intercepted);
			http_request_intercept_by_address(
			    &r, "ocsp.test", 8080);
			CHECK(r.intercepted && r.port == 8080 &&
			    http_span_eq(&r.host, "ocsp.test") &&
			    (r.filter.flags &
			        (1u << HTTP_FLAG_HOST_BY_ADDRESS)) &&
			    (r.filter.flags & (1u << HTTP_FLAG_NO_HOST)));
			n = http_request_build_upstream(
			    &r, NULL, false, out, sizeof(out));
			CHECK(n > 0 &&
			    memmem(out, (size_t)n, "Host: ocsp.test:8080\r\n",
			        22) != NULL);
			continue;
		}
		if (n != 0) {
			CHECK(r.reason == REASON_HTTP_MALFORMED &&
			    r.detail != NULL);
			continue;
		}
		CHECK(r.intercepted && r.port == cases[i].port &&
		    r.host.len == strlen(cases[i].host) &&
		    memcmp(r.host.p, cases[i].host, r.host.len) == 0);
		n = http_request_build_upstream(
		    &r, NULL, false, out, sizeof(out));
		CHECKF(n > 0 &&
		        memmem(out, (size_t)n, cases[i].upstream_host,
		            strlen(cases[i].upstream_host)) != NULL,
		    "%s: %.*s", cases[i].name, n > 0 ? n : 0, out);
	}
}

/*
 * http_field_of(): every name it knows, in any case, and names that are
 * one byte, one letter or one length away from one; the answer must be
 * that of a case-insensitive comparison with the canonical spelling.
 */
static void
test_field_of(void)
{
	static const struct {
		const char *name;
		enum http_field want;
	} cases[] = {
	    {"Accept", HTTP_FIELD_ACCEPT},
	    {"Accept-Encoding", HTTP_FIELD_ACCEPT_ENCODING},
	    {"Accept-Language", HTTP_FIELD_ACCEPT_LANGUAGE},
	    {"Cache-Control", HTTP_FIELD_CACHE_CONTROL},
	    {"Connection", HTTP_FIELD_CONNECTION},
	    {"Content-Length", HTTP_FIELD_CONTENT_LENGTH},
	    {"Content-Type", HTTP_FIELD_CONTENT_TYPE},
	    {"Expect", HTTP_FIELD_EXPECT},
	    {"Host", HTTP_FIELD_HOST},
	    {"If-Modified-Since", HTTP_FIELD_IF_MODIFIED_SINCE},
	    {"If-None-Match", HTTP_FIELD_IF_NONE_MATCH},
	    {"Keep-Alive", HTTP_FIELD_KEEP_ALIVE},
	    {"Pragma", HTTP_FIELD_PRAGMA},
	    {"Proxy-Authenticate", HTTP_FIELD_PROXY_AUTHENTICATE},
	    {"Proxy-Authorization", HTTP_FIELD_PROXY_AUTHORIZATION},
	    {"Proxy-Connection", HTTP_FIELD_PROXY_CONNECTION},
	    {"TE", HTTP_FIELD_TE},
	    {"Trailer", HTTP_FIELD_TRAILER},
	    {"Transfer-Encoding", HTTP_FIELD_TRANSFER_ENCODING},
	    {"Upgrade", HTTP_FIELD_UPGRADE},
	    {"User-Agent", HTTP_FIELD_USER_AGENT},
	    {"Via", HTTP_FIELD_VIA},
	    {"host", HTTP_FIELD_HOST},
	    {"HOST", HTTP_FIELD_HOST},
	    {"hOsT", HTTP_FIELD_HOST},
	    {"uSER-aGENT", HTTP_FIELD_USER_AGENT},
	    {"te", HTTP_FIELD_TE},
	    {"tE", HTTP_FIELD_TE},
	    {"", HTTP_FIELD_OTHER},
	    {"T", HTTP_FIELD_OTHER},
	    {"Hos", HTTP_FIELD_OTHER},
	    {"Hosts", HTTP_FIELD_OTHER},
	    {"Hast", HTTP_FIELD_OTHER},
	    {"Cookie", HTTP_FIELD_OTHER},
	    {"Date", HTTP_FIELD_OTHER},
	    {"X-Forwarded-For", HTTP_FIELD_OTHER},
	    {"Accept-Charset", HTTP_FIELD_OTHER},
	    {"Content-Typf", HTTP_FIELD_OTHER},
	    {"Connectioo", HTTP_FIELD_OTHER},
	    {"Content_Length", HTTP_FIELD_OTHER},
	    {"Proxy-Authorizatio", HTTP_FIELD_OTHER},
	    {"Proxy-Authorizations", HTTP_FIELD_OTHER},
	    /* '@' and '[' lie next to the letters: no case of them. */
	    {"@ccept", HTTP_FIELD_OTHER},
	    {"Via[", HTTP_FIELD_OTHER},
	    {"Vi\x01", HTTP_FIELD_OTHER},
	    {"V\xc9"
	     "a",
	        HTTP_FIELD_OTHER},
	    /* A byte 0x20 off a '-' is not the '-'. */
	    {"Content\rLength", HTTP_FIELD_OTHER},
	    {"User\rAgent", HTTP_FIELD_OTHER},
	    {"If\rNone\rMatch", HTTP_FIELD_OTHER},
	    {"CONTENT-length", HTTP_FIELD_CONTENT_LENGTH},
	    {"proxy-AUTHORIZATION", HTTP_FIELD_PROXY_AUTHORIZATION},
	    {"Proxy-Authorizatioh", HTTP_FIELD_OTHER},
	    {"xroxy-Authorization", HTTP_FIELD_OTHER},
	    {"Accepu", HTTP_FIELD_OTHER},
	    {"Bccept", HTTP_FIELD_OTHER},
	};
	/* The known names, canonical, in the order of enum http_field. */
	const size_t known = HTTP_FIELD_COUNT - 1;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const char *n = cases[i].name;

		CHECKF(http_field_of(n, strlen(n)) == cases[i].want, "%s", n);
		/* A prefix is never the field, nor a name with more. */
		if (cases[i].want != HTTP_FIELD_OTHER && strlen(n) > 1)
			CHECKF(http_field_of(n, strlen(n) - 1) != cases[i].want,
			    "%s less one", n);
	}
	/* The same answer as a case-insensitive comparison, for each. */
	for (size_t i = 0; i < known; i++) {
		const char *canon = cases[i].name;
		size_t len = strlen(canon);

		CHECK(cases[i].want == (enum http_field)(i + 1));
		for (size_t j = 0; j < sizeof(cases) / sizeof(cases[0]); j++) {
			const char *n = cases[j].name;
			bool same =
			    strlen(n) == len && strncasecmp(n, canon, len) == 0;

			CHECKF((http_field_of(n, strlen(n)) == cases[i].want) ==
			        same,
			    "%s against %s", n, canon);
		}
	}
}

/*
 * http_field_of() against the case-insensitive comparison it replaced:
 * each known name, in lower and upper case, with every byte value put at
 * every position in turn (the bytes 0x20 off a letter or a '-', '@' and
 * '`', '[' and '{', '-' and CR, bytes from 0x80 up and NUL among them),
 * and with every byte value added at its end. A name is a field exactly
 * when it equals that field's name but for ASCII case.
 */
static enum http_field
test_field_by_strncasecmp(const char *n, size_t len)
{
	static const char *const names[HTTP_FIELD_COUNT] = {
	    [HTTP_FIELD_ACCEPT] = "accept",
	    [HTTP_FIELD_ACCEPT_ENCODING] = "accept-encoding",
	    [HTTP_FIELD_ACCEPT_LANGUAGE] = "accept-language",
	    [HTTP_FIELD_CACHE_CONTROL] = "cache-control",
	    [HTTP_FIELD_CONNECTION] = "connection",
	    [HTTP_FIELD_CONTENT_LENGTH] = "content-length",
	    [HTTP_FIELD_CONTENT_TYPE] = "content-type",
	    [HTTP_FIELD_EXPECT] = "expect",
	    [HTTP_FIELD_HOST] = "host",
	    [HTTP_FIELD_IF_MODIFIED_SINCE] = "if-modified-since",
	    [HTTP_FIELD_IF_NONE_MATCH] = "if-none-match",
	    [HTTP_FIELD_KEEP_ALIVE] = "keep-alive",
	    [HTTP_FIELD_PRAGMA] = "pragma",
	    [HTTP_FIELD_PROXY_AUTHENTICATE] = "proxy-authenticate",
	    [HTTP_FIELD_PROXY_AUTHORIZATION] = "proxy-authorization",
	    [HTTP_FIELD_PROXY_CONNECTION] = "proxy-connection",
	    [HTTP_FIELD_TE] = "te",
	    [HTTP_FIELD_TRAILER] = "trailer",
	    [HTTP_FIELD_TRANSFER_ENCODING] = "transfer-encoding",
	    [HTTP_FIELD_UPGRADE] = "upgrade",
	    [HTTP_FIELD_USER_AGENT] = "user-agent",
	    [HTTP_FIELD_VIA] = "via",
	};

	for (size_t id = 1; id < HTTP_FIELD_COUNT; id++) {
		if (strlen(names[id]) == len &&
		    strncasecmp(n, names[id], len) == 0)
			return (enum http_field)id;
	}
	return HTTP_FIELD_OTHER;
}

static void
test_field_of_every_byte(void)
{
	static const char *const canon[] = {"Accept", "Accept-Encoding",
	    "Accept-Language", "Cache-Control", "Connection", "Content-Length",
	    "Content-Type", "Expect", "Host", "If-Modified-Since",
	    "If-None-Match", "Keep-Alive", "Pragma", "Proxy-Authenticate",
	    "Proxy-Authorization", "Proxy-Connection", "TE", "Trailer",
	    "Transfer-Encoding", "Upgrade", "User-Agent", "Via"};
	size_t fields = 0, want_fields = 0;

	for (size_t k = 0; k < sizeof(canon) / sizeof(canon[0]); k++) {
		size_t len = strlen(canon[k]);

		for (int upper = 0; upper < 2; upper++) {
			char n[32];

			memset(n, 0, sizeof(n));
			for (size_t i = 0; i < len; i++)
				n[i] = (char)(upper ? toupper(canon[k][i])
				                    : tolower(canon[k][i]));
			CHECKF(http_field_of(n, len) != HTTP_FIELD_OTHER, "%s",
			    canon[k]);
			for (size_t at = 0; at <= len; at++) {
				char keep = n[at];

				for (unsigned b = 0; b < 256; b++) {
					enum http_field got, want;
					size_t nlen = at == len ? len + 1 : len;

					n[at] = (char)b;
					got = http_field_of(n, nlen);
					want =
					    test_field_by_strncasecmp(n, nlen);
					/* strncasecmp() stops at a NUL. */
					if (b == 0)
						want = HTTP_FIELD_OTHER;
					CHECKF(got == want,
					    "%s, byte 0x%02x at %zu: %d, not "
					    "%d",
					    canon[k], b, at, (int)got,
					    (int)want);
					fields += got != HTTP_FIELD_OTHER;
				}
				n[at] = keep;
				/* A letter in its two cases, a '-' as itself.
				 */
				if (at < len)
					want_fields +=
					    isalpha((unsigned char)n[at]) ? 2
					                                  : 1;
			}
		}
	}
	CHECKF(
	    fields == want_fields, "%zu fields, not %zu", fields, want_fields);
}

/*
 * A header value holding a NUL, a CR or an LF, wherever it stands in a
 * value of any length, is refused; bytes next to those (0x0e, 0x8a, 0x8d,
 * 0x80, 0x2a, 0x2d) are not.
 */
static void
test_value_bytes(void)
{
	static const unsigned char bad[] = {0x00, 0x0d, 0x0a};
	static const unsigned char fine[] = {
	    0x0e, 0x8a, 0x8d, 0x80, 0x2a, 0x2d, 0x01, 0xff, 0x09};

	for (size_t len = 1; len <= 40; len++) {
		for (size_t at = 0; at < len; at++) {
			for (size_t b = 0; b < sizeof(bad) + sizeof(fine);
			     b++) {
				char buf[64];
				struct http_headers hs;
				const char *detail = NULL;
				bool want_bad = b < sizeof(bad);
				int rc;

				memset(&hs, 0, sizeof(hs));
				memcpy(buf, "X: ", 3);
				memset(buf + 3, 'v', len);
				buf[3 + at] =
				    (char)(want_bad ? bad[b]
				                    : fine[b - sizeof(bad)]);
				CHECK(http_headers_add_name(
				          &hs, buf, 1, &detail) == 0);
				rc = http_headers_add_value(
				    &hs, buf + 3, len, &detail);
				CHECKF(rc == (want_bad ? -1 : 0),
				    "len %zu at %zu byte %zu", len, at, b);
				if (want_bad)
					CHECK(detail != NULL &&
					    strcmp(detail,
					        "control byte in header "
					        "value") == 0);
			}
		}
	}
}

/* http_span_eq(): case aside, whole, NUL-terminated <str>. */
static void
test_span_eq(void)
{
	static const struct {
		const char *p;
		size_t len;
		const char *str;
		bool want;
	} cases[] = {
	    {"Host", 4, "host", true},
	    {"HOST", 4, "host", true},
	    {"Host", 4, "hos", false},
	    {"Hos", 3, "host", false},
	    {"", 0, "", true},
	    {"", 0, "x", false},
	    {"x", 1, "", false},
	    {"H\0st", 4, "h\0st", false},
	    {"h\0", 2, "h", false},
	    {"[", 1, "{", false},
	    {"@", 1, "`", false},
	    {"Z", 1, "z", true},
	    {"\xc9", 1, "\xe9", false},
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct http_span sp = {cases[i].p, cases[i].len};

		CHECKF(http_span_eq(&sp, cases[i].str) == cases[i].want,
		    "case %zu", i);
	}
}

int
main(void)
{
	test_field_of();
	test_field_of_every_byte();
	test_value_bytes();
	test_span_eq();
	test_cases();
	test_intercept();
	test_build_upstream();
	test_trailers();
	test_trailers_split();
	test_next();
	test_headers();
	test_put();
	return check_done();
}
