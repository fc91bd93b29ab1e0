/*
 * Canned replies of ocspgate itself. Pure: no I/O.
 */
#include <stdio.h>

#include "ocspgate/http_reply.h"

int
http_reply_status(enum reason why)
{
	switch (why) {
	case REASON_HTTP_MALFORMED:
		return 400;
	case REASON_BODY_TOO_LARGE:
		return 413;
	case REASON_UPSTREAM_UNREACHABLE:
	case REASON_RESPONSE_MALFORMED:
	case REASON_RESPONSE_UNVERIFIED:
		return 502;
	case REASON_UPSTREAM_TIMEOUT:
		return 504;
	case REASON_FORWARDING_LOOP:
		return 508;
	default:
		return 403;
	}
}

int
http_reply_build(
    int status, enum reason why, bool keep_alive, char *out, size_t cap)
{
	const char *phrase, *words;
	char body[96];
	int blen, n;

	switch (status) {
	case 400:
		phrase = "Bad Request";
		words = "bad request";
		break;
	case 413:
		phrase = "Content Too Large";
		words = "request body too large";
		break;
	case 431:
		phrase = "Request Header Fields Too Large";
		words = "request header fields too large";
		break;
	case 502:
		phrase = "Bad Gateway";
		words = "bad gateway";
		break;
	case 508:
		phrase = "Loop Detected";
		words = "forwarding loop";
		break;
	case 503:
		phrase = "Service Unavailable";
		words = "service unavailable";
		break;
	case 504:
		phrase = "Gateway Timeout";
		words = "gateway timeout";
		break;
	default:
		status = 403;
		phrase = "Forbidden";
		words = "blocked";
		break;
	}
	blen = snprintf(
	    body, sizeof(body), "ocspgate: %s (%s)\n", words, reason_name(why));
	if (blen < 0 || (size_t)blen >= sizeof(body))
		return -1;
	n = snprintf(out, cap,
	    "HTTP/1.1 %d %s\r\n"
	    "Content-Type: text/plain\r\n"
	    "Content-Length: %d\r\n"
	    "Cache-Control: no-store\r\n"
	    "Connection: %s\r\n"
	    "\r\n"
	    "%s",
	    status, phrase, blen, keep_alive ? "keep-alive" : "close", body);
	if (n < 0 || (size_t)n >= cap)
		return -1;
	return n;
}
