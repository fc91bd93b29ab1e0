/*
 * Fuzzes the small text parsers of operator- and peer-supplied values:
 * a client's header lines through the request filter (fuzz_filter),
 * an upstream's Cache-Control header (ocsp_cache_parse_max_age) and an
 * event_syslog target (syslog_parse_target), plus the syslog framing of
 * any message. Aborts when a result breaks its promise: max-age within
 * 0..a year, a target's strings NUL-terminated within their arrays, a
 * formatted message no longer than its buffer and, when octet-counted,
 * carrying its own length.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ocspgate/cache.h"
#include "ocspgate/civil.h"
#include "ocspgate/http_filter.h"
#include "ocspgate/http_request.h"
#include "ocspgate/syslog_format.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FUZZ_HEAD_PREFIX                                                       \
	"POST http://ocsp.test/ HTTP/1.1\r\nHost: ocsp.test\r\n"
#define FUZZ_HEAD_MAX 8192

/*
 * The input as a request's header lines. When the request parses, its
 * upstream head must parse again, carry only fields the filter forwards,
 * each of which the filter accepts again (a client's Via next to ours
 * aside), and nothing of a dropped field's value; an HTTP-date the
 * filter reads must read back the same after it is re-written.
 */
static void
fuzz_filter(const uint8_t *data, size_t size)
{
	static char in[sizeof(FUZZ_HEAD_PREFIX) + FUZZ_HEAD_MAX + 8];
	static char out[2 * FUZZ_HEAD_MAX + 1024];
	unsigned char body[64], body2[64];
	struct http_request r, again;
	size_t off = sizeof(FUZZ_HEAD_PREFIX) - 1, consumed;
	char date[HTTP_DATE_LEN + 1];
	int64_t t, t2;
	int n;

	if (http_filter_parse_date((const char *)data, size, &t) == 0) {
		if (civil_imf_date(t, date) != 0 ||
		    http_filter_parse_date(date, HTTP_DATE_LEN, &t2) != 0 ||
		    t2 != t)
			abort();
	}
	if (size > FUZZ_HEAD_MAX)
		return;
	memcpy(in, FUZZ_HEAD_PREFIX, off);
	memcpy(in + off, data, size);
	off += size;
	memcpy(in + off, "\r\n\r\n", 4);
	off += 4;
	http_request_init(&r, body, sizeof(body));
	if (http_request_parse(&r, in, off, &consumed) != HTTP_PARSE_DONE ||
	    r.hs.n + 4 > HTTP_MAX_HEADERS)
		return;
	if (r.filter.fingerprint[0] == '\0' ||
	    strlen(r.filter.fingerprint) != HTTP_FINGERPRINT_LEN)
		abort();
	if ((r.filter.dropped_bytes > HTTP_FILTER_BUDGET_BYTES) !=
	    http_filter_over_budget(&r))
		abort();
	n = http_request_build_upstream(
	    &r, "ocspgate-fuzz", false, out, sizeof(out));
	if (n <= 0 || (size_t)n + r.body_len > sizeof(out))
		abort();
	/* The head announces the body's length: the body goes with it. */
	if (r.body_len > 0)
		memcpy(out + n, r.body, r.body_len);
	http_request_init(&again, body2, sizeof(body2));
	if (http_request_parse(&again, out, (size_t)n + r.body_len,
	        &consumed) != HTTP_PARSE_DONE ||
	    consumed != (size_t)n + r.body_len || again.body_len != r.body_len)
		abort();
	for (size_t i = 0; i < again.hs.n; i++) {
		const struct http_span *name = &again.hs.h[i].name;

		if (!http_span_eq(name, "host") &&
		    !http_span_eq(name, "content-length") &&
		    !http_span_eq(name, "via") &&
		    !http_span_eq(name, "connection") &&
		    http_filter_forwarded_name(name->p, name->len) == NULL)
			abort();
		if (again.hs.h[i].dropped && !http_span_eq(name, "via"))
			abort();
	}
	/*
	 * What an attacker chooses in the forwarded fields is bounded
	 * (docs/security.md): a known product and a version of two numbers
	 * of four digits, the canonical Cache-Control; no validator goes.
	 */
	for (size_t i = 0; i < r.hs.n; i++) {
		const struct http_header *h = &r.hs.h[i];
		const char *name = http_filter_field_name(h);

		if (name == NULL)
			continue;
		if ((strcmp(name, "User-Agent") == 0 &&
		        h->out.len > 19 + 1 + 9) ||
		    strcmp(name, "If-None-Match") == 0 ||
		    strcmp(name, "If-Modified-Since") == 0 ||
		    (strcmp(name, "Cache-Control") == 0 &&
		        h->out.len > HTTP_CACHE_CONTROL_MAX) ||
		    (strcmp(name, "Pragma") == 0 && h->out.len != 8))
			abort();
	}
	/*
	 * A dropped field's value is gone. Checked for values long enough
	 * to tell and without ':' or spaces, which then cannot match across
	 * the separators of the head's lines.
	 */
	for (size_t i = 0; i < r.hs.n; i++) {
		static const char ours[] =
		    "POST / HTTP/1.1 Host ocsp.test Content-Length Via 1.1 "
		    "ocspgate-fuzz Connection close";
		const struct http_header *h = &r.hs.h[i];
		bool kept;

		if (!h->dropped || h->value.len < 16 ||
		    memchr(h->value.p, ':', h->value.len) != NULL ||
		    memchr(h->value.p, ' ', h->value.len) != NULL ||
		    memchr(h->value.p, '\t', h->value.len) != NULL ||
		    memmem(out, (size_t)n, h->value.p, h->value.len) == NULL)
			continue;
		/* Unless forwarded bytes, or ocspgate's own, are the same. */
		kept = memmem(ours, sizeof(ours) - 1, h->value.p,
		           h->value.len) != NULL;
		for (size_t k = 0; k < r.hs.n; k++) {
			const struct http_header *f = &r.hs.h[k];
			const char *name;

			if (!f->forward)
				continue;
			name =
			    http_filter_forwarded_name(f->name.p, f->name.len);
			kept |= memmem(f->out.p, f->out.len, h->value.p,
			            h->value.len) != NULL ||
			    (name != NULL &&
			        memmem(name, strlen(name), h->value.p,
			            h->value.len) != NULL);
		}
		if (!kept)
			abort();
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct syslog_target t;
	struct timespec ts = {.tv_sec = 1795000000, .tv_nsec = 123456789};
	char err[256], buf[512], *text;
	long age = -1;
	int rc;

	fuzz_filter(data, size);
	rc = ocsp_cache_parse_max_age((const char *)data, size, &age);
	if (rc < -1 || rc > 1 ||
	    (rc == 1 && (age < 0 || age > OCSP_CACHE_MAX_AGE_LIMIT_SEC)))
		abort();

	if ((text = malloc(size + 1)) == NULL)
		return 0;
	memcpy(text, data, size);
	text[size] = '\0';
	if (syslog_parse_target(text, &t, err, sizeof(err)) == 0) {
		if (memchr(t.host, '\0', sizeof(t.host)) == NULL ||
		    memchr(t.port, '\0', sizeof(t.port)) == NULL ||
		    memchr(t.path, '\0', sizeof(t.path)) == NULL)
			abort();
	} else if (memchr(err, '\0', sizeof(err)) == NULL) {
		abort();
	}
	for (int oc = 0; oc < 2; oc++) {
		size_t n = syslog_format(buf, sizeof(buf), 16, 6, &ts, text,
		    "ocspgate", 42, "event", text, size, oc);

		if (n > sizeof(buf))
			abort();
		if (oc && n > 0) {
			char *sp = memchr(buf, ' ', n);

			if (sp == NULL ||
			    strtoul(buf, NULL, 10) !=
			        n - (size_t)(sp + 1 - buf))
				abort();
		}
	}
	free(text);
	return 0;
}
