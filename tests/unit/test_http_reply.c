/*
 * Unit tests for http_reply.c: the status for each reason, each status's
 * exact reply, and for every status and reason a reply that llhttp reads
 * as one complete response whose Content-Length is its body's length.
 */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <llhttp.h>

#include "check.h"
#include "ocspgate/http_reply.h"

static void
test_status(void)
{
	static const struct {
		enum reason why;
		int status;
	} cases[] = {
	    {REASON_HTTP_MALFORMED, 400},
	    {REASON_METHOD_NOT_ALLOWED, 403},
	    {REASON_BODY_TOO_LARGE, 413},
	    {REASON_UNKNOWN_RESPONDER, 403},
	    {REASON_NOT_OCSP, 403},
	    {REASON_OCSP_MALFORMED, 403},
	    {REASON_UNKNOWN_ISSUER, 403},
	    {REASON_UPSTREAM_UNREACHABLE, 502},
	    {REASON_UPSTREAM_TIMEOUT, 504},
	    {REASON_RESPONSE_MALFORMED, 502},
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		CHECKF(http_reply_status(cases[i].why) == cases[i].status,
		    "%s: %d", reason_name(cases[i].why),
		    http_reply_status(cases[i].why));
}

#define HEAD(status, len, conn)                                                \
	"HTTP/1.1 " status "\r\nContent-Type: text/plain\r\n"                  \
	"Content-Length: " len "\r\nCache-Control: no-store\r\n"               \
	"Connection: " conn "\r\n\r\n"

static void
test_exact(void)
{
	static const struct {
		int status;
		enum reason why;
		bool keep_alive;
		const char *want;
	} cases[] = {
	    {403, REASON_UNKNOWN_RESPONDER, true,
	        HEAD("403 Forbidden", "38",
	            "keep-alive") "ocspgate: blocked (unknown_responder)\n"},
	    {403, REASON_NOT_OCSP, false,
	        HEAD("403 Forbidden", "29", "close") "ocspgate: blocked "
	                                             "(not_ocsp)\n"},
	    {403, REASON_METHOD_NOT_ALLOWED, true,
	        HEAD("403 Forbidden", "39",
	            "keep-alive") "ocspgate: blocked (method_not_allowed)\n"},
	    {400, REASON_HTTP_MALFORMED, false,
	        HEAD("400 Bad Request", "39",
	            "close") "ocspgate: bad request (http_malformed)\n"},
	    {413, REASON_BODY_TOO_LARGE, false,
	        HEAD("413 Content Too Large", "50",
	            "close") "ocspgate: request body too large "
	                     "(body_too_large)\n"},
	    {431, REASON_HTTP_MALFORMED, false,
	        HEAD("431 Request Header Fields Too Large", "59",
	            "close") "ocspgate: request header fields too large "
	                     "(http_malformed)\n"},
	    {502, REASON_UPSTREAM_UNREACHABLE, true,
	        HEAD("502 Bad Gateway", "45",
	            "keep-alive") "ocspgate: bad gateway "
	                          "(upstream_unreachable)\n"},
	    {502, REASON_RESPONSE_MALFORMED, false,
	        HEAD("502 Bad Gateway", "43",
	            "close") "ocspgate: bad gateway (response_malformed)\n"},
	    {504, REASON_UPSTREAM_TIMEOUT, true,
	        HEAD("504 Gateway Timeout", "45",
	            "keep-alive") "ocspgate: gateway timeout "
	                          "(upstream_timeout)\n"},
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char out[HTTP_REPLY_MAX];
		int n = http_reply_build(cases[i].status, cases[i].why,
		    cases[i].keep_alive, out, sizeof(out));

		CHECKF(n == (int)strlen(cases[i].want) &&
		        memcmp(out, cases[i].want, (size_t)n) == 0,
		    "%d %s: got '%.*s'", cases[i].status,
		    reason_name(cases[i].why), n > 0 ? n : 0, out);
	}
}

/* What llhttp saw of one reply. */
struct seen {
	int complete;
	size_t body;
	char conn[32];
	char ctype[32];
	bool in_conn, in_ctype;
	size_t header_bytes;
};

static int
on_field(llhttp_t *p, const char *at, size_t len)
{
	struct seen *s = p->data;

	s->in_conn = len == 10 && strncasecmp(at, "connection", 10) == 0;
	s->in_ctype = len == 12 && strncasecmp(at, "content-type", 12) == 0;
	return 0;
}

static int
on_value(llhttp_t *p, const char *at, size_t len)
{
	struct seen *s = p->data;
	char *dst = s->in_conn ? s->conn : s->in_ctype ? s->ctype : NULL;

	if (dst != NULL && len < 32) {
		memcpy(dst, at, len);
		dst[len] = '\0';
	}
	return 0;
}

static int
on_body(llhttp_t *p, const char *at, size_t len)
{
	(void)at;
	((struct seen *)p->data)->body += len;
	return 0;
}

static int
on_complete(llhttp_t *p)
{
	((struct seen *)p->data)->complete++;
	return 0;
}

/* Every status the proxy writes, with every reason: well-formed. */
static void
test_all_parse(void)
{
	static const int statuses[] = {400, 403, 413, 431, 502, 504};
	llhttp_settings_t settings;

	llhttp_settings_init(&settings);
	settings.on_header_field = on_field;
	settings.on_header_value = on_value;
	settings.on_body = on_body;
	settings.on_message_complete = on_complete;
	for (size_t i = 0; i < sizeof(statuses) / sizeof(statuses[0]); i++) {
		for (int why = REASON_NONE; why < REASON_MAX; why++) {
			for (int keep = 0; keep < 2; keep++) {
				char out[HTTP_REPLY_MAX], want_body[128];
				struct seen s;
				llhttp_t p;
				const char *body;
				int n = http_reply_build(statuses[i],
				    (enum reason)why, keep, out, sizeof(out));

				CHECKF(n > 0 && n < HTTP_REPLY_MAX,
				    "%d %s: length %d", statuses[i],
				    reason_name((enum reason)why), n);
				if (n <= 0)
					continue;
				memset(&s, 0, sizeof(s));
				llhttp_init(&p, HTTP_RESPONSE, &settings);
				p.data = &s;
				CHECKF(llhttp_execute(&p, out, (size_t)n) ==
				            HPE_OK &&
				        s.complete == 1,
				    "%d %s: not one response", statuses[i],
				    reason_name((enum reason)why));
				CHECK(
				    llhttp_get_status_code(&p) == statuses[i]);
				CHECK(strcmp(s.conn,
				          keep ? "keep-alive" : "close") == 0);
				CHECK(strcmp(s.ctype, "text/plain") == 0);
				body = strstr(out, "\r\n\r\n");
				CHECK(body != NULL &&
				    s.body == (size_t)(out + n - body - 4));
				(void)snprintf(want_body, sizeof(want_body),
				    "(%s)\n", reason_name((enum reason)why));
				CHECK(s.body >= strlen(want_body) &&
				    strcmp(out + n - strlen(want_body),
				        want_body) == 0);
				CHECK(strncmp(body + 4, "ocspgate: ", 10) == 0);
			}
		}
	}
}

/* A buffer too small fails cleanly. */
static void
test_small(void)
{
	char full[HTTP_REPLY_MAX];
	int n = http_reply_build(
	    431, REASON_HTTP_MALFORMED, false, full, sizeof(full));

	CHECK(n > 0);
	for (size_t cap = 1; n > 0 && cap < (size_t)n; cap++) {
		char *small = malloc(cap);

		if (small == NULL)
			abort();
		CHECKF(http_reply_build(
		           431, REASON_HTTP_MALFORMED, false, small, cap) == -1,
		    "cap %zu", cap);
		free(small);
	}
	{
		char *fit = malloc((size_t)n + 1);

		if (fit == NULL)
			abort();
		CHECK(http_reply_build(431, REASON_HTTP_MALFORMED, false, fit,
		          (size_t)n + 1) == n &&
		    memcmp(fit, full, (size_t)n) == 0);
		free(fit);
	}
}

int
main(void)
{
	test_status();
	test_exact();
	test_all_parse();
	test_small();
	return check_done();
}
