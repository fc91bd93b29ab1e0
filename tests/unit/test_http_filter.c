/*
 * Unit tests for http_filter.c: the header sets real clients send pass
 * (forwarded as the contract says, nothing dropped, the documented
 * fingerprint, no ua_mismatch); every other field is dropped, named and
 * weighed; each forwarded field is held to its size and shape; dates are
 * read in all three HTTP forms and re-written as IMF-fixdate.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "ocspgate/civil.h"
#include "ocspgate/http_filter.h"
#include "ocspgate/http_request.h"

#define FLAG(f) (1u << (f))

static unsigned char t_body[256];

/* Parses <in> whole into <r>; true when it is one complete request. */
static bool
t_parse(struct http_request *r, const char *in)
{
	size_t consumed;

	http_request_init(r, t_body, sizeof(t_body));
	return http_request_parse(r, in, strlen(in), &consumed) ==
	    HTTP_PARSE_DONE;
}

/* The upstream head of <r>, NUL-terminated, into <out>. */
static int
t_build(const struct http_request *r, char *out, size_t cap)
{
	int n = http_request_build_upstream(r, NULL, true, out, cap - 1);

	if (n >= 0)
		out[n] = '\0';
	return n;
}

/*
 * Real clients' requests, spelled as their sources write them (see
 * docs/event-log.md for each source), and what goes upstream.
 */
static const struct client_case {
	const char *name;
	const char *in;
	const char *fingerprint;
	const char *upstream; /* the whole head sent upstream */
	unsigned flags;       /* expected request flags */
} clients[] = {
    {"CryptoAPI OCSP GET with validators",
        "GET http://ocsp.ca.test/MFEw HTTP/1.1\r\n"
        "Cache-Control: max-age = 86400\r\nConnection: Keep-Alive\r\n"
        "Accept: */*\r\nIf-Modified-Since: Sat, 01 Jul 2023 00:00:00 GMT\r\n"
        "User-Agent: Microsoft-CryptoAPI/10.0\r\nHost: ocsp.ca.test\r\n\r\n",
        "ge1106_1307977dc9e5",
        "GET /MFEw HTTP/1.1\r\nHost: ocsp.ca.test\r\n"
        "User-Agent: Microsoft-CryptoAPI/10.0\r\nAccept: */*\r\n"
        "Cache-Control: max-age=86400\r\n\r\n",
        0},
    {"CryptoAPI OCSP POST",
        "POST http://ocsp.ca.test/ HTTP/1.1\r\nCache-Control: no-cache\r\n"
        "Connection: Keep-Alive\r\nPragma: no-cache\r\n"
        "Content-Type: application/ocsp-request\r\n"
        "User-Agent: Microsoft-CryptoAPI/10.0\r\nContent-Length: 3\r\n"
        "Host: ocsp.ca.test\r\n\r\nabc",
        "po1107_517823f2c371",
        "POST / HTTP/1.1\r\nHost: ocsp.ca.test\r\n"
        "User-Agent: Microsoft-CryptoAPI/10.0\r\nCache-Control: no-cache\r\n"
        "Pragma: no-cache\r\nContent-Type: application/ocsp-request\r\n"
        "Content-Length: 3\r\n\r\n",
        0},
    {"CryptoAPI trust list with cache-buster",
        "GET http://ctldl.windowsupdate.com/msdownload/update/v3/static/"
        "trustedr/en/authrootstl.cab?d6d6d648f2c16513 HTTP/1.1\r\n"
        "Connection: Keep-Alive\r\nAccept: */*\r\n"
        "User-Agent: Microsoft-CryptoAPI/10.0\r\n"
        "Host: ctldl.windowsupdate.com\r\n\r\n",
        "ge1104_ae2590be4883",
        "GET /msdownload/update/v3/static/trustedr/en/authrootstl.cab"
        "?d6d6d648f2c16513 HTTP/1.1\r\nHost: ctldl.windowsupdate.com\r\n"
        "User-Agent: Microsoft-CryptoAPI/10.0\r\nAccept: */*\r\n\r\n",
        0},
    {"CryptoAPI CRL, certutil -urlcache",
        "GET http://crl.ca.test/ca.crl HTTP/1.1\r\nCache-Control: no-cache\r\n"
        "Connection: Keep-Alive\r\nPragma: no-cache\r\nAccept: */*\r\n"
        "User-Agent: Microsoft-CryptoAPI/10.0\r\nHost: crl.ca.test\r\n\r\n",
        "ge1106_2394b3d0fe93",
        "GET /ca.crl HTTP/1.1\r\nHost: crl.ca.test\r\n"
        "User-Agent: Microsoft-CryptoAPI/10.0\r\nAccept: */*\r\n"
        "Cache-Control: no-cache\r\nPragma: no-cache\r\n\r\n",
        0},
    {"CryptoAPI CRL with max-age",
        "GET http://crl.ca.test/ca.crl HTTP/1.1\r\n"
        "Cache-Control: max-age = 900\r\n"
        "User-Agent: Microsoft-CryptoAPI/10.0\r\nHost: crl.ca.test\r\n\r\n",
        "ge1103_942906277105",
        "GET /ca.crl HTTP/1.1\r\nHost: crl.ca.test\r\n"
        "User-Agent: Microsoft-CryptoAPI/10.0\r\n"
        "Cache-Control: max-age=900\r\n\r\n",
        0},
    {"Firefox OCSP POST (necko)",
        "POST http://ocsp.ca.test/ HTTP/1.1\r\nHost: ocsp.ca.test\r\n"
        "User-Agent: Mozilla/5.0 (X11; Linux x86_64; rv:128.0) "
        "Gecko/20100101 Firefox/128.0\r\nAccept: */*\r\n"
        "Accept-Language: en-US,en;q=0.5\r\nAccept-Encoding: gzip, deflate\r\n"
        "Content-Type: application/ocsp-request\r\nContent-Length: 3\r\n"
        "Connection: keep-alive\r\nPragma: no-cache\r\n"
        "Cache-Control: no-cache\r\n\r\nabc",
        "po1110_286c8a40b4b6",
        "POST / HTTP/1.1\r\nHost: ocsp.ca.test\r\n"
        "User-Agent: Mozilla/5.0\r\nAccept: */*\r\n"
        "Cache-Control: no-cache\r\nPragma: no-cache\r\n"
        "Content-Type: application/ocsp-request\r\n"
        "Content-Length: 3\r\n\r\n",
        0},
    {"Java OCSP GET (HttpURLConnection)",
        "GET http://ocsp.ca.test/MFEw HTTP/1.1\r\nUser-Agent: Java/17.0.9\r\n"
        "Host: ocsp.ca.test\r\n"
        "Accept: text/html, image/gif, image/jpeg, *; q=.2, */*; q=.2\r\n"
        "Connection: keep-alive\r\n\r\n",
        "ge1104_5192a00d9159",
        "GET /MFEw HTTP/1.1\r\nHost: ocsp.ca.test\r\n"
        "User-Agent: Java/17.0\r\n"
        "Accept: text/html, image/gif, image/jpeg, *; q=.2, */*; q=.2\r\n\r\n",
        0},
    {"Java OCSP POST",
        "POST http://ocsp.ca.test/ HTTP/1.1\r\n"
        "Content-type: application/ocsp-request\r\n"
        "User-Agent: Java/17.0.9\r\nHost: ocsp.ca.test\r\n"
        "Accept: text/html, image/gif, image/jpeg, *; q=.2, */*; q=.2\r\n"
        "Connection: keep-alive\r\nContent-Length: 3\r\n\r\nabc",
        "po1106_36ae3789aad2",
        "POST / HTTP/1.1\r\nHost: ocsp.ca.test\r\n"
        "User-Agent: Java/17.0\r\n"
        "Accept: text/html, image/gif, image/jpeg, *; q=.2, */*; q=.2\r\n"
        "Content-Type: application/ocsp-request\r\n"
        "Content-Length: 3\r\n\r\n",
        0},
    {"Java CRL with If-Modified-Since",
        "GET http://crl.ca.test/ca.crl HTTP/1.1\r\nUser-Agent: Java/17.0.9\r\n"
        "Host: crl.ca.test\r\n"
        "Accept: text/html, image/gif, image/jpeg, *; q=.2, */*; q=.2\r\n"
        "Connection: keep-alive\r\n"
        "If-Modified-Since: Mon, 02 Jan 2023 10:00:00 GMT\r\n\r\n",
        "ge1105_e84a65093d5e",
        "GET /ca.crl HTTP/1.1\r\nHost: crl.ca.test\r\n"
        "User-Agent: Java/17.0\r\n"
        "Accept: text/html, image/gif, image/jpeg, *; q=.2, */*; q=.2\r\n"
        "\r\n",
        0},
    {"OpenSSL 3 ocsp",
        "POST http://ocsp.ca.test:80/ HTTP/1.0\r\nHost: ocsp.ca.test\r\n"
        "Content-Type: application/ocsp-request\r\nContent-Length: 3\r\n\r\n"
        "abc",
        "po1003_51b2f3543123",
        "POST / HTTP/1.0\r\nHost: ocsp.ca.test\r\n"
        "Content-Type: application/ocsp-request\r\nContent-Length: 3\r\n"
        "Connection: close\r\n\r\n",
        0},
    {"OpenSSL 1.0 ocsp, no Host",
        "POST http://ocsp.ca.test/ HTTP/1.0\r\n"
        "Content-Type: application/ocsp-request\r\nContent-Length: 3\r\n\r\n"
        "abc",
        "po1002_df6d530e90c3",
        "POST / HTTP/1.0\r\nHost: ocsp.ca.test\r\n"
        "Content-Type: application/ocsp-request\r\nContent-Length: 3\r\n"
        "Connection: close\r\n\r\n",
        FLAG(HTTP_FLAG_NO_HOST)},
    {"NSS built-in client, Host with port",
        "POST http://ocsp.ca.test:8080/ HTTP/1.0\r\n"
        "Host: ocsp.ca.test:8080\r\n"
        "Content-Type: application/ocsp-request\r\nContent-Length: 3\r\n\r\n"
        "abc",
        "po1003_51b2f3543123",
        "POST / HTTP/1.0\r\nHost: ocsp.ca.test:8080\r\n"
        "Content-Type: application/ocsp-request\r\nContent-Length: 3\r\n"
        "Connection: close\r\n\r\n",
        0},
    {"curl through a proxy, a conditional GET",
        "GET http://crl.ca.test/ca.crl HTTP/1.1\r\nHost: crl.ca.test\r\n"
        "User-Agent: curl/7.88.1\r\nAccept: */*\r\n"
        "Proxy-Connection: Keep-Alive\r\n"
        "If-None-Match: \"5f7a3c-1a2b\", W/\"0x8DBF2B3C\"\r\n\r\n",
        NULL,
        "GET /ca.crl HTTP/1.1\r\nHost: crl.ca.test\r\n"
        "User-Agent: curl/7.88\r\nAccept: */*\r\n\r\n",
        0},
};

static void
test_clients(void)
{
	for (size_t i = 0; i < sizeof(clients) / sizeof(clients[0]); i++) {
		const struct client_case *c = &clients[i];
		struct http_request r;
		char out[2048];

		if (!t_parse(&r, c->in)) {
			CHECKF(false, "%s: does not parse (%s)", c->name,
			    r.detail != NULL ? r.detail : "");
			continue;
		}
		CHECKF(r.filter.ndropped == 0 && r.filter.dropped_bytes == 0,
		    "%s: %zu dropped", c->name, r.filter.ndropped);
		CHECKF(r.filter.flags == c->flags, "%s: flags %#x", c->name,
		    r.filter.flags);
		CHECKF(c->fingerprint == NULL ||
		        strcmp(r.filter.fingerprint, c->fingerprint) == 0,
		    "%s: fingerprint %s", c->name, r.filter.fingerprint);
		CHECKF(t_build(&r, out, sizeof(out)) > 0 &&
		        strcmp(out, c->upstream) == 0,
		    "%s: upstream\n%s", c->name, out);
	}
}

/* Fields that are dropped: which, how many bytes, which flags. */
static const struct drop_case {
	const char *name;
	const char *fields; /* after a Host line */
	size_t ndropped;
	size_t bytes;
	const char *first; /* first dropped name, or NULL */
	unsigned flags;
} drops[] = {
    {"cookie and X- fields", "Cookie: a=b\r\nX-Data: 0123\r\n", 2,
        6 + 3 + 6 + 4, "Cookie", 0},
    {"authorization", "Authorization: Basic eDp5\r\n", 1, 13 + 10,
        "Authorization", 0},
    {"proxy credentials and trailers",
        "Proxy-Authorization: Basic eDp5\r\nTE: trailers\r\n", 2,
        19 + 10 + 2 + 8, "Proxy-Authorization", 0},
    {"User-Agent over 256 bytes",
        "User-Agent: "
        "0123456789012345678901234567890123456789012345678901234567890123"
        "0123456789012345678901234567890123456789012345678901234567890123"
        "0123456789012345678901234567890123456789012345678901234567890123"
        "01234567890123456789012345678901234567890123456789012345678901234"
        "\r\n",
        1, 10 + 257, "User-Agent", FLAG(HTTP_FLAG_HEADER_BOUNDS)},
    {"User-Agent with a byte past ASCII", "User-Agent: a\xc3\xa9\r\n", 1,
        10 + 3, "User-Agent", FLAG(HTTP_FLAG_HEADER_BOUNDS)},
    {"Accept with a quote", "Accept: \"x\"\r\n", 1, 6 + 3, "Accept",
        FLAG(HTTP_FLAG_HEADER_BOUNDS)},
    {"Cache-Control with a quoted string", "Cache-Control: private=\"x\"\r\n",
        1, 13 + 11, "Cache-Control", FLAG(HTTP_FLAG_HEADER_BOUNDS)},
    {"Pragma with parameters", "Pragma: a=b\r\n", 1, 6 + 3, "Pragma",
        FLAG(HTTP_FLAG_HEADER_BOUNDS)},
    {"If-Modified-Since not a date", "If-Modified-Since: yesterday\r\n", 1,
        17 + 9, "If-Modified-Since", FLAG(HTTP_FLAG_HEADER_BOUNDS)},
    {"If-None-Match unquoted", "If-None-Match: abc\r\n", 1, 13 + 3,
        "If-None-Match", FLAG(HTTP_FLAG_HEADER_BOUNDS)},
    {"If-None-Match with a space inside", "If-None-Match: \"a b\"\r\n", 1,
        13 + 5, "If-None-Match", FLAG(HTTP_FLAG_HEADER_BOUNDS)},
    {"Content-Type without a subtype", "Content-Type: application\r\n", 1,
        12 + 11, "Content-Type", FLAG(HTTP_FLAG_HEADER_BOUNDS)},
    {"Content-Type with long parameters: the type goes, they weigh",
        "Content-Type: application/ocsp-request; a=b,c; "
        "x=0123456789012345678901234567890123456789012345678901234567890\r\n"
        "Cookie: c\r\n",
        1, 6 + 1 + 72, "Cookie", 0},
    {"Via with a comment", "Via: 1.1 proxy (squid/5.7)\r\n", 1, 3 + 21, "Via",
        FLAG(HTTP_FLAG_HEADER_BOUNDS)},
    {"an empty Accept", "Accept:\r\n", 1, 6, "Accept",
        FLAG(HTTP_FLAG_HEADER_BOUNDS)},
    {"a second Accept", "Accept: */*\r\nAccept: text/plain\r\n", 1, 6 + 10,
        "Accept", 0},
    {"Connection over its bound",
        "Connection: "
        "keep-alive,keep-alive,keep-alive,keep-alive,keep-alive,keep-alive"
        "\r\n",
        1, 10 + 65, "Connection", FLAG(HTTP_FLAG_HEADER_BOUNDS)},
    {"Upgrade is dropped", "Upgrade: h2c\r\n", 1, 7 + 3, "Upgrade", 0},
};

static void
test_drops(void)
{
	for (size_t i = 0; i < sizeof(drops) / sizeof(drops[0]); i++) {
		const struct drop_case *c = &drops[i];
		struct http_request r;
		char in[1024], out[2048];

		snprintf(in, sizeof(in),
		    "GET http://ocsp.ca.test/x HTTP/1.1\r\nHost: "
		    "ocsp.ca.test\r\n"
		    "%s\r\n",
		    c->fields);
		if (!t_parse(&r, in)) {
			CHECKF(false, "%s: does not parse (%s)", c->name,
			    r.detail != NULL ? r.detail : "");
			continue;
		}
		CHECKF(r.filter.ndropped == c->ndropped &&
		        r.filter.dropped_bytes == c->bytes,
		    "%s: %zu dropped, %zu bytes", c->name, r.filter.ndropped,
		    r.filter.dropped_bytes);
		CHECKF(r.filter.flags == c->flags, "%s: flags %#x", c->name,
		    r.filter.flags);
		CHECKF(r.filter.nnames >= 1 &&
		        http_span_eq(&r.hs.h[r.filter.names[0]].name, c->first),
		    "%s: names", c->name);
		/* Nothing dropped reaches the upstream. */
		CHECK(t_build(&r, out, sizeof(out)) > 0);
		for (size_t k = 0; k < r.hs.n; k++) {
			const struct http_header *h = &r.hs.h[k];
			char line[300];

			if (!h->dropped || h->value.len == 0 ||
			    h->value.len > 250)
				continue;
			snprintf(line, sizeof(line), ": %.*s\r\n",
			    (int)h->value.len, h->value.p);
			CHECKF(strstr(out, line) == NULL, "%s: %s forwarded",
			    c->name, line);
		}
	}
}

/* Each forwarded field as it reaches the upstream: what a client may put
 * in, what goes out ("" for nothing). */
static const struct rebuild_case {
	const char *field; /* one line, without CRLF */
	const char *out;   /* the upstream's line, or "" */
} rebuilds[] = {
    {"User-Agent: Microsoft-CryptoAPI/6.1",
        "User-Agent: Microsoft-CryptoAPI/6.1"},
    {"User-Agent: Mozilla/5.0 (X11; Fedora; Linux x86_64; rv:39.0) "
     "Gecko/20100101 Firefox/39.0",
        "User-Agent: Mozilla/5.0"},
    {"User-Agent: com.apple.trustd/3.0", "User-Agent: com.apple.trustd/3.0"},
    {"User-Agent: Go-http-client/1.1", "User-Agent: Go-http-client/1.1"},
    /* Major and minor only, each of at most four digits. */
    {"User-Agent: Java/17.0.15", "User-Agent: Java/17.0"},
    {"User-Agent: Java/1.2.3.4.5.6.7.8.9.10.11.12", "User-Agent: Java/1.2"},
    {"User-Agent: Java/17.0.9-ea+exfil0123", "User-Agent: Java/17.0"},
    {"User-Agent: Java/123456789.987654321", "User-Agent: Java/1234"},
    {"User-Agent: Java/17.", "User-Agent: Java/17"},
    {"User-Agent: Java/.5", "User-Agent: Java"},
    {"User-Agent: curl", "User-Agent: curl"},
    {"User-Agent: exfil/0123456789abcdef", ""},
    {"User-Agent: MozillaX/5.0", ""},
    {"Accept: */*", "Accept: */*"},
    {"Accept: application/ocsp-response", "Accept: application/ocsp-response"},
    {"Accept: text/html, image/gif, image/jpeg, */*; q=0.2",
        "Accept: text/html, image/gif, image/jpeg, */*; q=0.2"},
    {"Accept: application/x-exfil-0123456789abcdef", "Accept: */*"},
    {"Accept: */*;q=0.5", "Accept: */*"},
    {"Cache-Control: max-age = 604800", "Cache-Control: max-age=604800"},
    {"Cache-Control: no-cache, max-age=0",
        "Cache-Control: no-cache, max-age=0"},
    {"Cache-Control: max-age=0, no-cache",
        "Cache-Control: no-cache, max-age=0"},
    {"Cache-Control: max-age=99999999999999999999",
        "Cache-Control: max-age=2147483648"},
    /* Numbers to the stricter step: a few bits, not 31. */
    {"Cache-Control: max-age=00000000000000000001", "Cache-Control: max-age=0"},
    {"Cache-Control: max-age = 174728", "Cache-Control: max-age=86400"},
    {"Cache-Control: max-age=86399", "Cache-Control: max-age=14400"},
    {"Cache-Control: max-stale=1000", "Cache-Control: max-stale=900"},
    {"Cache-Control: min-fresh=3601", "Cache-Control: min-fresh=14400"},
    {"Cache-Control: min-fresh=2147483647",
        "Cache-Control: min-fresh=2147483648"},
    {"Cache-Control: x-exfil=0123456789, no-store", "Cache-Control: no-store"},
    {"Cache-Control: max-stale, min-fresh=5, only-if-cached",
        "Cache-Control: max-stale, min-fresh=60, only-if-cached"},
    {"Cache-Control: no-cache=abc, max-age", ""},
    {"Cache-Control: no-cache, no-cache", "Cache-Control: no-cache"},
    {"Pragma: no-cache", "Pragma: no-cache"},
    {"Pragma: NO-CACHE", "Pragma: no-cache"},
    {"Pragma: exfil0123456789", ""},
    /* Validators are ocspgate's to judge: none goes upstream. */
    {"If-None-Match: *", ""},
    {"If-None-Match: \"0ebbae1d7ead61:0\"", ""},
    {"If-Modified-Since: Sat, 01 Jul 2023 00:00:00 GMT", ""},
    {"Content-Type: application/ocsp-request", ""}, /* a GET: no body */
    {"Accept-Encoding: gzip, deflate", ""},
    {"Accept-Language: en-US,en;q=0.5", ""},
    {"Via: 1.1 gw.corp.example:3128", ""},
};

static void
test_rebuilds(void)
{
	for (size_t i = 0; i < sizeof(rebuilds) / sizeof(rebuilds[0]); i++) {
		const struct rebuild_case *c = &rebuilds[i];
		struct http_request r;
		char in[1024], out[2048], want[512];

		snprintf(in, sizeof(in),
		    "GET http://ocsp.ca.test/x HTTP/1.1\r\nHost: "
		    "ocsp.ca.test\r\n%s\r\n\r\n",
		    c->field);
		snprintf(want, sizeof(want),
		    "GET /x HTTP/1.1\r\nHost: ocsp.ca.test\r\n%s%s\r\n", c->out,
		    c->out[0] != '\0' ? "\r\n" : "");
		if (!t_parse(&r, in)) {
			CHECKF(false, "%s: does not parse", c->field);
			continue;
		}
		/* Rebuilt, not dropped: nothing named or weighed (a
		 * CryptoAPI product alone is not CryptoAPI's shape). */
		CHECKF(r.filter.ndropped == 0 &&
		        (r.filter.flags & ~FLAG(HTTP_FLAG_UA_MISMATCH)) == 0,
		    "%s: %zu dropped, flags %#x", c->field, r.filter.ndropped,
		    r.filter.flags);
		CHECKF(
		    t_build(&r, out, sizeof(out)) > 0 && strcmp(out, want) == 0,
		    "%s: upstream\n%s", c->field, out);
	}
}

/* 15 KB of X- and Cookie fields: over the budget, named, none forwarded. */
static void
test_budget(void)
{
	static char in[20000];
	unsigned char body[16];
	struct http_request r;
	char out[2048];
	size_t off, consumed;
	size_t want_bytes = 0;

	off = (size_t)snprintf(in, sizeof(in),
	    "GET http://ocsp.ca.test/x HTTP/1.1\r\nHost: ocsp.ca.test\r\n");
	for (int i = 0; i < 30; i++) {
		char name[16];
		int n = snprintf(
		    name, sizeof(name), i % 3 == 0 ? "Cookie" : "X-D%d", i);

		off +=
		    (size_t)snprintf(in + off, sizeof(in) - off, "%s: ", name);
		memset(in + off, 'A' + i % 26, 500);
		off += 500;
		off += (size_t)snprintf(in + off, sizeof(in) - off, "\r\n");
		want_bytes += (size_t)n + 500;
	}
	off += (size_t)snprintf(in + off, sizeof(in) - off, "\r\n");
	http_request_init(&r, body, sizeof(body));
	CHECK(http_request_parse(&r, in, off, &consumed) == HTTP_PARSE_DONE);
	CHECK(r.filter.ndropped == 30 && r.filter.dropped_bytes == want_bytes);
	CHECK(http_filter_over_budget(&r));
	CHECK(r.filter.flags & FLAG(HTTP_FLAG_EXCESS_HEADERS));
	/* Distinct names only, at most HTTP_FILTER_NAMES_MAX of them. */
	CHECK(r.filter.nnames == HTTP_FILTER_NAMES_MAX);
	CHECK(http_span_eq(&r.hs.h[r.filter.names[0]].name, "Cookie"));
	CHECK(http_span_eq(&r.hs.h[r.filter.names[1]].name, "X-D1"));
	CHECK(t_build(&r, out, sizeof(out)) > 0 &&
	    strcmp(out, "GET /x HTTP/1.1\r\nHost: ocsp.ca.test\r\n\r\n") == 0);

	/* Just at the budget is not over it. */
	off = (size_t)snprintf(in, sizeof(in),
	    "GET http://ocsp.ca.test/x HTTP/1.1\r\nHost: ocsp.ca.test\r\n"
	    "X-Pad: ");
	memset(in + off, 'p', HTTP_FILTER_BUDGET_BYTES - 5);
	off += HTTP_FILTER_BUDGET_BYTES - 5;
	off += (size_t)snprintf(in + off, sizeof(in) - off, "\r\n\r\n");
	http_request_init(&r, body, sizeof(body));
	CHECK(http_request_parse(&r, in, off, &consumed) == HTTP_PARSE_DONE);
	CHECK(r.filter.dropped_bytes == HTTP_FILTER_BUDGET_BYTES &&
	    !http_filter_over_budget(&r));
}

/* Who claims to be CryptoAPI, and is or is not shaped like it. */
static const struct ua_case {
	const char *name;
	const char *in;
	bool mismatch;
} uas[] = {
    {"curl's order with CryptoAPI's name",
        "GET http://ocsp.ca.test/x HTTP/1.1\r\nHost: ocsp.ca.test\r\n"
        "User-Agent: Microsoft-CryptoAPI/10.0\r\nAccept: */*\r\n\r\n",
        true},
    {"lowercase names",
        "GET http://ocsp.ca.test/x HTTP/1.1\r\n"
        "user-agent: Microsoft-CryptoAPI/10.0\r\nhost: ocsp.ca.test\r\n\r\n",
        true},
    {"a field CryptoAPI never sends",
        "GET http://ocsp.ca.test/x HTTP/1.1\r\nConnection: Keep-Alive\r\n"
        "Accept: */*\r\nAccept-Language: en\r\n"
        "User-Agent: Microsoft-CryptoAPI/10.0\r\nHost: ocsp.ca.test\r\n\r\n",
        true},
    {"HTTP/1.0",
        "GET http://ocsp.ca.test/x HTTP/1.0\r\n"
        "User-Agent: Microsoft-CryptoAPI/10.0\r\nHost: ocsp.ca.test\r\n\r\n",
        true},
    {"CryptoAPI through a proxy",
        "GET http://ocsp.ca.test/x HTTP/1.1\r\nCache-Control: max-age = 1\r\n"
        "Proxy-Connection: Keep-Alive\r\nAccept: */*\r\n"
        "If-None-Match: \"e\"\r\nUser-Agent: Microsoft-CryptoAPI/6.1\r\n"
        "Host: ocsp.ca.test\r\n\r\n",
        false},
    {"the real one, minimal",
        "GET http://ocsp.ca.test/x HTTP/1.1\r\n"
        "User-Agent: Microsoft-CryptoAPI/10.0\r\nHost: ocsp.ca.test\r\n\r\n",
        false},
    {"another client's name in CryptoAPI's order",
        "GET http://ocsp.ca.test/x HTTP/1.1\r\nAccept: */*\r\n"
        "User-Agent: Java/17\r\nHost: ocsp.ca.test\r\n\r\n",
        false},
};

static void
test_ua_mismatch(void)
{
	for (size_t i = 0; i < sizeof(uas) / sizeof(uas[0]); i++) {
		struct http_request r;
		bool flagged;

		if (!t_parse(&r, uas[i].in)) {
			CHECKF(false, "%s: does not parse", uas[i].name);
			continue;
		}
		flagged = (r.filter.flags & FLAG(HTTP_FLAG_UA_MISMATCH)) != 0;
		CHECKF(
		    flagged == uas[i].mismatch, "%s: %d", uas[i].name, flagged);
		CHECK(http_filter_ua_mismatch(&r) == flagged);
	}
}

static const struct date_case {
	const char *in;
	const char *out; /* NULL: refused */
} dates[] = {
    {"Sun, 06 Nov 1994 08:49:37 GMT", "Sun, 06 Nov 1994 08:49:37 GMT"},
    {"Sunday, 06-Nov-94 08:49:37 GMT", "Sun, 06 Nov 1994 08:49:37 GMT"},
    {"Sun Nov  6 08:49:37 1994", "Sun, 06 Nov 1994 08:49:37 GMT"},
    {"Sun Nov 16 08:49:37 1994", "Wed, 16 Nov 1994 08:49:37 GMT"},
    {"Fri, 29 Feb 2008 00:00:00 GMT", "Fri, 29 Feb 2008 00:00:00 GMT"},
    {"Tue, 01 Jan 2030 23:59:59 GMT", "Tue, 01 Jan 2030 23:59:59 GMT"},
    {"Xyz, 06 Nov 1994 08:49:37 GMT", "Sun, 06 Nov 1994 08:49:37 GMT"},
    {"Monday, 01-Jan-24 00:00:00 GMT", "Mon, 01 Jan 2024 00:00:00 GMT"},
    {"Sun, 06 Nov 1994 08:49:37 UTC", NULL},
    {"Sun, 6 Nov 1994 08:49:37 GMT", NULL},
    {"Sun, 31 Nov 1994 08:49:37 GMT", NULL},
    {"Sun, 06 Nov 1994 24:00:00 GMT", NULL},
    {"Sun, 06 Nov 1969 08:49:37 GMT", NULL},
    {"Sun, 06 Nov 1994 08:49:37 GMT ", NULL},
    {"Sun, 06 Xyz 1994 08:49:37 GMT", NULL},
    {"1994-11-06T08:49:37Z", NULL},
    {"", NULL},
};

static void
test_dates(void)
{
	for (size_t i = 0; i < sizeof(dates) / sizeof(dates[0]); i++) {
		char out[HTTP_DATE_LEN + 1] = "";
		int64_t t = 0;
		int rc = http_filter_parse_date(
		    dates[i].in, strlen(dates[i].in), &t);

		if (dates[i].out == NULL) {
			CHECKF(rc == -1, "%s: accepted", dates[i].in);
			continue;
		}
		CHECKF(rc == 0 && civil_imf_date(t, out) == 0 &&
		        strcmp(out, dates[i].out) == 0,
		    "%s: %s", dates[i].in, out);
	}
	{
		char out[HTTP_DATE_LEN + 1];

		CHECK(civil_imf_date(-1, out) == -1);
		CHECK(civil_imf_date(0, out) == 0 &&
		    strcmp(out, "Thu, 01 Jan 1970 00:00:00 GMT") == 0);
		CHECK(civil_imf_date(253402300799, out) == 0 &&
		    strcmp(out, "Fri, 31 Dec 9999 23:59:59 GMT") == 0);
		CHECK(civil_imf_date(253402300800, out) == -1);
	}
}

/*
 * Forwarded fields go under their canonical names and in the filter's
 * order, values rewritten; an unknown product's User-Agent and the
 * client's Via do not go.
 */
static void
test_rewrites(void)
{
	struct http_request r;
	char out[1024];

	CHECK(t_parse(&r,
	    "POST http://ocsp.ca.test/ HTTP/1.1\r\nHost: ocsp.ca.test\r\n"
	    "user-agent: x\r\nCONTENT-TYPE: Application/OCSP-Request; "
	    "charset=\"utf-8\"\r\n"
	    "if-modified-since: Sunday, 06-Nov-94 08:49:37 GMT\r\n"
	    "via: 1.1 gw.corp.example:3128, HTTP/1.0 edge\r\n"
	    "Content-Length: 1\r\n\r\nx"));
	CHECK(r.filter.ndropped == 0);
	CHECK(t_build(&r, out, sizeof(out)) > 0);
	CHECKF(strcmp(out,
	           "POST / HTTP/1.1\r\nHost: ocsp.ca.test\r\n"
	           "Content-Type: application/ocsp-request\r\n"
	           "Content-Length: 1\r\n\r\n") == 0,
	    "%s", out);
	CHECK(http_filter_forwarded_name("ACCEPT", 6) != NULL &&
	    strcmp(http_filter_forwarded_name("ACCEPT", 6), "Accept") == 0);
	CHECK(http_filter_forwarded_name("Host", 4) == NULL);
	CHECK(http_filter_forwarded_name("Accept-Encoding", 15) == NULL);
	CHECK(http_filter_forwarded_name("Via", 3) == NULL);
	CHECK(http_filter_forwarded_name("If-None-Match", 13) == NULL);
	CHECK(http_filter_forwarded_name("If-Modified-Since", 17) == NULL);
	/* The date was read with its obsolete form: a 304 for the same
	 * second, but not to a POST. */
	CHECK(r.filter.ims_lines == 1 && r.filter.ims == 784111777);
	CHECK(!http_filter_not_modified(&r, 784111777));
	CHECK(http_filter_forwarded_name("Cookie", 6) == NULL);
	for (unsigned b = 0; b < HTTP_FLAG_COUNT; b++)
		CHECK(http_filter_flag_name(b) != NULL);
	CHECK(http_filter_flag_name(HTTP_FLAG_COUNT) == NULL);
}

/* The fingerprint's SHA-256 across block boundaries (joined names of 55,
 * 56, 64, 119, 120 and 205 bytes; expected values from Python hashlib). */
static void
test_fingerprint_lengths(void)
{
	static const struct {
		size_t len;
		const char *fp;
	} cases[] = {
	    {50, "ge1102_f902edf79f9f"},
	    {51, "ge1102_408815ea3d2d"},
	    {59, "ge1102_a07cba7c78e7"},
	    {114, "ge1102_e433af5d05db"},
	    {115, "ge1102_5d60a4eb52a2"},
	    {200, "ge1102_ead4a0bcae02"},
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char in[512], name[256];
		struct http_request r;

		memset(name, 'n', cases[i].len);
		name[0] = 'X';
		name[cases[i].len] = '\0';
		snprintf(in, sizeof(in),
		    "GET http://ocsp.ca.test/x HTTP/1.1\r\nHost: "
		    "ocsp.ca.test\r\n"
		    "%s: 1\r\n\r\n",
		    name);
		CHECK(t_parse(&r, in));
		CHECKF(strcmp(r.filter.fingerprint, cases[i].fp) == 0,
		    "%zu: %s", cases[i].len, r.filter.fingerprint);
	}
}

/*
 * The names are hashed through a buffer of 512 bytes: names that fill
 * it, cross it or exceed it give the SHA-256 of the names joined by ','
 * all the same (expected values from Python hashlib).
 */
static void
test_fingerprint_buffer(void)
{
	static const struct {
		size_t lens[20];
		size_t n;
		const char *fp;
	} cases[] = {
	    {{250, 258, 3}, 3, "ge1104_a9f5080ffab7"},
	    {{506, 4}, 2, "ge1103_7831b79ba689"},
	    {{507, 4}, 2, "ge1103_f4ef74271f1c"},
	    {{508}, 1, "ge1102_355a57c32e2a"},
	    {{510, 1}, 2, "ge1103_c01aaa119450"},
	    {{511}, 1, "ge1102_f77e29fbb142"},
	    {{600, 5}, 2, "ge1103_9126e51c39c2"},
	    {{40, 40, 40, 40, 40, 40, 40, 40, 40, 40, 40, 40, 40, 40, 40, 40,
	         40, 40, 40, 40},
	        20, "ge1121_c94e967d3019"},
	    {{1, 1023, 1}, 3, "ge1104_8aad68ba1840"},
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		static char in[8192];
		size_t off = 0;
		struct http_request r;

		off += (size_t)snprintf(in, sizeof(in),
		    "GET http://ocsp.ca.test/x HTTP/1.1\r\nHost: "
		    "ocsp.ca.test\r\n");
		for (size_t k = 0; k < cases[i].n; k++) {
			in[off++] = 'X';
			memset(in + off, 'n', cases[i].lens[k] - 1);
			off += cases[i].lens[k] - 1;
			memcpy(in + off, ": 1\r\n", 5);
			off += 5;
		}
		memcpy(in + off, "\r\n", 3);
		CHECKF(t_parse(&r, in), "%zu: parses", i);
		CHECKF(strcmp(r.filter.fingerprint, cases[i].fp) == 0,
		    "%zu: %s", i, r.filter.fingerprint);
	}
}

/*
 * A User-Agent goes upstream only when every byte is printable ASCII or
 * a tab: one byte out of that range anywhere in a long value (checked
 * eight bytes at a time) drops it; the bytes at the range's edges pass.
 */
static void
test_agent_bytes(void)
{
	static const char base[] = "Mozilla/5.0 (X11; Linux x86_64) Gecko/2010";
	static const struct {
		unsigned char c;
		bool ok;
	} bytes[] = {{0x09, true}, {0x20, true}, {0x7e, true}, {0x21, true},
	    {0x1f, false}, {0x7f, false}, {0x80, false}, {0xff, false},
	    {0x01, false}};

	for (size_t b = 0; b < sizeof(bytes) / sizeof(bytes[0]); b++) {
		for (size_t at = 8; at < sizeof(base) - 1; at++) {
			char in[256], v[64];
			struct http_request r;
			const struct http_header *ua;

			memcpy(v, base, sizeof(base));
			v[at] = (char)bytes[b].c;
			snprintf(in, sizeof(in),
			    "GET http://ocsp.ca.test/x HTTP/1.1\r\n"
			    "Host: ocsp.ca.test\r\nUser-Agent: %s\r\n\r\n",
			    v);
			if (!t_parse(&r, in)) {
				/* llhttp refuses some control bytes itself. */
				CHECKF(!bytes[b].ok, "byte %02x at %zu",
				    bytes[b].c, at);
				continue;
			}
			ua = &r.hs.h[1];
			CHECKF(ua->forward == bytes[b].ok &&
			        ((r.filter.flags &
			             (1u << HTTP_FLAG_HEADER_BOUNDS)) != 0) ==
			            !bytes[b].ok,
			    "byte %02x at %zu", bytes[b].c, at);
		}
	}
}

/* RFC 9110 13.2.2 against an answer last modified at LM. */
#define LM 1688169600 /* Sat, 01 Jul 2023 00:00:00 GMT */

static const struct {
	const char *name;
	const char *fields;
	bool post;
	int64_t last_modified;
	bool want;
} not_modified_cases[] = {
    {"no validator", "", false, LM, false},
    {"If-Modified-Since the same second",
        "If-Modified-Since: Sat, 01 Jul 2023 00:00:00 GMT\r\n", false, LM,
        true},
    /* Only the date ocspgate wrote: a later one may be the origin's,
     * after a back-dated thisUpdate of newer content. */
    {"If-Modified-Since later",
        "If-Modified-Since: Sun, 02 Jul 2023 00:00:00 GMT\r\n", false, LM,
        false},
    {"If-Modified-Since a second early",
        "If-Modified-Since: Fri, 30 Jun 2023 23:59:59 GMT\r\n", false, LM,
        false},
    {"If-Modified-Since, answer without a date",
        "If-Modified-Since: Sun, 02 Jul 2023 00:00:00 GMT\r\n", false, 0,
        false},
    {"If-Modified-Since not a date: dropped",
        "If-Modified-Since: yesterday\r\n", false, LM, false},
    {"If-Modified-Since on a POST",
        "If-Modified-Since: Sun, 02 Jul 2023 00:00:00 GMT\r\n", true, LM,
        false},
    {"If-None-Match: * (a current answer exists)", "If-None-Match: *\r\n",
        false, 0, true},
    {"If-None-Match with a tag: ocspgate writes none, none matches",
        "If-None-Match: \"0ebbae1d7ead61:0\"\r\n", false, LM, false},
    {"If-None-Match decides alone (RFC 9110 13.2.2)",
        "If-None-Match: \"e\"\r\n"
        "If-Modified-Since: Sun, 02 Jul 2023 00:00:00 GMT\r\n",
        false, LM, false},
    {"two If-Modified-Since: no condition (RFC 9110 13.1.3)",
        "If-Modified-Since: Sat, 01 Jul 2023 00:00:00 GMT\r\n"
        "If-Modified-Since: Sat, 01 Jul 2023 00:00:00 GMT\r\n",
        false, LM, false},
    {"If-None-Match out of shape still decides",
        "If-None-Match: abc\r\n"
        "If-Modified-Since: Sat, 01 Jul 2023 00:00:00 GMT\r\n",
        false, LM, false},
    {"If-None-Match: * twice", "If-None-Match: *\r\nIf-None-Match: *\r\n",
        false, LM, false},
    /* If-None-Match decides alone: a date out of shape beside it is
     * not looked at. */
    {"If-None-Match: * with If-Modified-Since out of shape",
        "If-None-Match: *\r\nIf-Modified-Since: yesterday\r\n", false, LM,
        true},
    {"If-None-Match: *, then one out of shape",
        "If-None-Match: *\r\nIf-None-Match: abc\r\n", false, LM, false},
};

static void
test_not_modified(void)
{
	for (size_t i = 0;
	     i < sizeof(not_modified_cases) / sizeof(not_modified_cases[0]);
	     i++) {
		char in[512];
		struct http_request r;
		bool post = not_modified_cases[i].post;

		snprintf(in, sizeof(in),
		    "%s http://crl.ca.test/ca.crl HTTP/1.1\r\n"
		    "Host: crl.ca.test\r\n%s%s",
		    post ? "POST" : "GET", not_modified_cases[i].fields,
		    post ? "Content-Length: 1\r\n\r\nx" : "\r\n");
		CHECKF(t_parse(&r, in), "%s", not_modified_cases[i].name);
		CHECKF(http_filter_not_modified(
		           &r, not_modified_cases[i].last_modified) ==
		        not_modified_cases[i].want,
		    "%s", not_modified_cases[i].name);
	}
}

int
main(void)
{
	test_fingerprint_lengths();
	test_fingerprint_buffer();
	test_agent_bytes();
	test_clients();
	test_drops();
	test_rebuilds();
	test_budget();
	test_ua_mismatch();
	test_dates();
	test_rewrites();
	test_not_modified();
	return check_done();
}
