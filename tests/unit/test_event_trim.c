/*
 * Unit tests for event_trim(): real event lines (from event_format())
 * with huge fields, shortened to every size from their length down to
 * their essentials; the order in which fields go; cuts at character
 * boundaries; the "truncated" marker; lines that cannot be shortened.
 * Every output is checked with the fuzz target's strict JSON parser.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "ocspgate/event.h"
#include "ocspgate/event_trim.h"

#include "../fuzz/fuzz_json.c"

#define S(lit) lit, sizeof(lit) - 1

static char big_url[20000], big_path[20000], big_ua[12000];

/* The text of "key":"value" in <line> for a key, or NULL. */
static const char *
value_of(const char *line, const char *key, size_t *len)
{
	char pat[64];
	const char *p, *e;

	snprintf(pat, sizeof(pat), "\"%s\":\"", key);
	if ((p = strstr(line, pat)) == NULL)
		return NULL;
	p += strlen(pat);
	for (e = p; *e != '\0' && *e != '"'; e++) {
		if (*e == '\\')
			e++;
	}
	*len = (size_t)(e - p);
	return p;
}

/* An event line like a request with a huge URL and User-Agent. */
static void
make_event(struct json *j, size_t path_len, size_t ua_len, size_t ncerts,
    const char *ua_fill)
{
	static struct ocsp_request_facts facts;
	struct event_record e;

	memset(&e, 0, sizeof(e));
	e.start.tv_sec = 1700000000;
	e.duration_ns = 1234567;
	e.reason = REASON_UNKNOWN_RESPONDER;
	e.mode = MODE_ENFORCE;
	e.enforced = true;
	e.interception = "explicit";
	e.detail = "not a listed responder";
	e.source_ip = "192.0.2.7";
	e.source_port = 40000;
	e.dest_host = (struct http_span){"other.test", 10};
	e.dest_port = 80;
	e.method = (struct http_span){"GET", 3};
	e.status = 403;
	/* "http://other.test" and a path of <path_len> bytes. */
	memcpy(big_url, "http://other.test", 17);
	big_path[0] = '/';
	for (size_t i = 1; i < path_len; i++)
		big_path[i] = (char)('a' + i % 26);
	memcpy(big_url + 17, big_path, path_len);
	e.url = (struct http_span){big_url, 17 + path_len};
	e.path = (struct http_span){big_path, path_len};
	for (size_t i = 0; i < ua_len; i++)
		big_ua[i] = ua_fill[i % strlen(ua_fill)];
	e.user_agent = (struct http_span){big_ua, ua_len};
	memset(&facts, 0, sizeof(facts));
	facts.ncerts = ncerts;
	for (size_t i = 0; i < ncerts; i++) {
		facts.certs[i].hash = OCSP_HASH_SHA1;
		facts.certs[i].hash_len = 20;
		facts.certs[i].serial_len = 16;
		memset(facts.certs[i].serial, (int)i + 1, 16);
	}
	if (ncerts > 0)
		e.ocsp = &facts;
	event_format(j, &e);
}

/* Checks what must hold of any shortened line. */
static void
check_trimmed(const struct json *out, size_t max, const char *what)
{
	size_t n;
	const char *v;

	CHECKF(out->len <= max, "%s: %zu bytes > %zu", what, out->len, max);
	CHECKF(
	    out->len > 0 && out->buf[out->len - 1] == '\n', "%s: no \\n", what);
	CHECKF(fuzz_json_validate(out->buf, out->len - 1, NULL),
	    "%s: not JSON: %.300s", what, out->buf);
	CHECKF(strstr(out->buf, "\"truncated\":true") != NULL, "%s: not marked",
	    what);
	CHECKF(strstr(out->buf,
	           "\"@timestamp\":\"2023-11-14T22:13:20.000Z\"") != NULL,
	    "%s: @timestamp", what);
	CHECKF(strstr(out->buf, "\"reason\":\"unknown_responder\"") != NULL,
	    "%s: event.reason", what);
	CHECKF(strstr(out->buf, "\"action\":\"block\"") != NULL,
	    "%s: event.action", what);
	/* ECS's required field and the categorization stay. */
	CHECKF(strstr(out->buf,
	           "\"ecs\":{\"version\":\"" EVENT_ECS_VERSION "\"}") != NULL,
	    "%s: ecs.version", what);
	CHECKF(strstr(out->buf,
	           "\"type\":[\"denied\",\"connection\",\"protocol\"]") != NULL,
	    "%s: event.type", what);
	CHECKF(strstr(out->buf, "\"outcome\":\"success\"") != NULL,
	    "%s: event.outcome", what);
	/* Nothing left empty: an emptied array or object goes. */
	CHECKF(strstr(out->buf, "[]") == NULL && strstr(out->buf, "{}") == NULL,
	    "%s: an empty container: %.300s", what, out->buf);
	CHECKF(strstr(out->buf, "\"ip\":\"192.0.2.7\",\"port\":40000") != NULL,
	    "%s: source", what);
	CHECKF(strstr(out->buf, "\"status_code\":403") != NULL,
	    "%s: status_code", what);
	v = value_of(out->buf, "original", &n);
	(void)v;
}

static void
test_fits(void)
{
	struct json line, out;

	json_init(&line);
	json_init(&out);
	make_event(&line, 20, 10, 1, "x");
	CHECK(event_trim(line.buf, line.len, line.len, &out) == 0);
	CHECK(out.len == line.len && memcmp(out.buf, line.buf, line.len) == 0);
	CHECK(strstr(out.buf, "truncated") == NULL);
	json_free(&line);
	json_free(&out);
}

/* The order: url.original, then user_agent.original, then url.path. */
static void
test_order(void)
{
	struct json line, out;
	size_t n, path_len = 10000, ua_len = 5000, over;
	const char *v;

	json_init(&line);
	json_init(&out);
	make_event(&line, path_len, ua_len, 0, "Mozilla/5.0 ");

	/* Over by less than related.* weighs: it goes, nothing is cut. */
	CHECK(strstr(line.buf,
	          "\"related\":{\"ip\":[\"192.0.2.7\"],"
	          "\"hosts\":[\"other.test\"]}") != NULL);
	CHECK(event_trim(line.buf, line.len, line.len - 20, &out) == 0);
	check_trimmed(&out, line.len - 20, "related only");
	CHECK(strstr(out.buf, "\"related\"") == NULL);
	CHECK(value_of(out.buf, "original", &n) != NULL && n == 17 + path_len);

	/* A little over: only url.original is cut, and only that much. */
	over = 100;
	CHECK(event_trim(line.buf, line.len, line.len - over, &out) == 0);
	check_trimmed(&out, line.len - over, "little over");
	v = value_of(out.buf, "original", &n); /* url.original comes first */
	CHECKF(v != NULL && n < 17 + path_len && n > 17 + path_len - 200,
	    "url.original %zu", n);
	CHECK(value_of(out.buf, "path", &n) != NULL && n == path_len);
	CHECK(strstr(out.buf, "\"user_agent\":{\"original\":\"") != NULL);

	/* url.original all but gone: the User-Agent is cut next. */
	over = 17 + path_len - EVENT_TRIM_KEEP + 1000;
	CHECK(event_trim(line.buf, line.len, line.len - over, &out) == 0);
	check_trimmed(&out, line.len - over, "ua cut");
	v = value_of(out.buf, "original", &n);
	CHECKF(v != NULL && n == EVENT_TRIM_KEEP, "url.original %zu", n);
	CHECK(value_of(out.buf, "path", &n) != NULL && n == path_len);
	v = strstr(out.buf, "\"user_agent\":{\"original\":\"");
	CHECK(v != NULL && value_of(v + 14, "original", &n) != NULL &&
	    n < ua_len && n > ua_len - 1100);

	/* Both at their floor: url.path goes last. */
	CHECK(event_trim(line.buf, line.len, 2000, &out) == 0);
	check_trimmed(&out, 2000, "path cut");
	CHECK(value_of(out.buf, "path", &n) != NULL && n < path_len &&
	    n >= EVENT_TRIM_KEEP);
	CHECK(strncmp(value_of(out.buf, "path", &n), "/bcdef", 6) == 0);
	json_free(&line);
	json_free(&out);
}

/* Every size from the line's down to its essentials. */
static void
test_every_size(void)
{
	struct json line, out;
	char what[64];
	size_t min_ok = SIZE_MAX;

	json_init(&line);
	json_init(&out);
	make_event(&line, 3000, 2000, 8, "\xc3\xa9\\\"\x01");
	for (size_t max = line.len - 1; max >= 200; max -= 7) {
		int rc = event_trim(line.buf, line.len, max, &out);

		snprintf(what, sizeof(what), "max %zu", max);
		if (rc == 0) {
			check_trimmed(&out, max, what);
			min_ok = max;
		} else {
			CHECKF(
			    out.len == 0, "%s: output left on failure", what);
		}
	}
	/* The essentials of this line fit in well under 1 KiB. */
	CHECKF(min_ok < 700, "smallest size that worked: %zu", min_ok);
	json_free(&line);
	json_free(&out);
}

/* Multi-byte characters and escapes are never split. */
static void
test_boundaries(void)
{
	static const char *const fills[] = {
	    "\xe2\x82\xac", "\xf0\x9f\x94\x92", "\x01", "\\\"", "\xff\xfe"};
	struct json line, out;

	json_init(&line);
	json_init(&out);
	for (size_t f = 0; f < sizeof(fills) / sizeof(fills[0]); f++) {
		make_event(&line, 4, 3000, 0, fills[f]);
		for (size_t max = line.len - 1; max > line.len - 40; max--) {
			char what[64];

			snprintf(
			    what, sizeof(what), "fill %zu max %zu", f, max);
			CHECK(event_trim(line.buf, line.len, max, &out) == 0);
			check_trimmed(&out, max, what);
		}
	}
	json_free(&line);
	json_free(&out);
}

/* Arrays lose elements from their end once the strings are short. */
static void
test_arrays(void)
{
	struct json line, out;
	const char *first, *last;

	json_init(&line);
	json_init(&out);
	make_event(&line, 10, 10, 8, "x");
	CHECK(event_trim(line.buf, line.len, line.len - 200, &out) == 0);
	check_trimmed(&out, line.len - 200, "certs");
	first = strstr(out.buf, "\"serial\":\"01010101");
	last = strstr(out.buf, "\"serial\":\"08080808");
	CHECK(first != NULL && last == NULL);
	json_free(&line);
	json_free(&out);
}

struct shape_case {
	const char *in;
	size_t in_len;
	size_t max;
	const char *out; /* NULL: -1 */
	size_t out_len;
};

#define D10  "0123456789"
#define D50  D10 D10 D10 D10 D10
#define D100 D50 D50
#define D200 D100 D100

static const struct shape_case shape_cases[] = {
    /* No "ocspgate" object: one is added. */
    {S("{\"a\":\"" D200 "\"}\n"), 150,
        S("{\"a\":\"" D100 D10 "0\",\"ocspgate\":{\"truncated\":true}}\n")},
    /* An empty one takes the marker without a comma. */
    {S("{\"ocspgate\":{},\"a\":\"" D200 "\"}\n"), 150,
        S("{\"ocspgate\":{\"truncated\":true},\"a\":\"" D100 D10 "0\"}\n")},
    /* Already marked: not twice. */
    {S("{\"ocspgate\":{\"truncated\":true},\"a\":\"" D200 "\"}\n"), 150,
        S("{\"ocspgate\":{\"truncated\":true},\"a\":\"" D100 D10 "0\"}\n")},
    /* Arrays lose elements from their end, then whole members go. */
    {S("{\"@timestamp\":\"t\",\"x\":[1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,"
       "16,17,18,19,20,21,22,23,24,25,26,27,28,29,30,31,32,33,34,35,36,37,"
       "38,39,40],\"n\":12345678901234567890}\n"),
        120,
        S("{\"@timestamp\":\"t\",\"x\":[1,2,3,4,5,6,7,8,9,10,11,12,13,14,"
          "15,16],\"n\":12345678901234567890,\"ocspgate\":{\"truncated\":"
          "true}}\n")},
    {S("{\"@timestamp\":\"t\",\"x\":[1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,"
       "16,17,18,19,20,21,22,23,24,25,26,27,28,29,30,31,32,33,34,35,36,37,"
       "38,39,40],\"n\":12345678901234567890}\n"),
        80,
        S("{\"@timestamp\":\"t\",\"n\":12345678901234567890,\"ocspgate\":{"
          "\"truncated\":true}}\n")},
    /* An array or object left empty goes too, and the object holding
     * it when it held nothing else. */
    {S("{\"@timestamp\":\"t\",\"o\":{\"x\":[1,2,3,4,5,6,7,8,9,10]},"
       "\"y\":[\"" D100 "\"]}\n"),
        60, S("{\"@timestamp\":\"t\",\"ocspgate\":{\"truncated\":true}}\n")},
    /* Essentials alone are too long. */
    {S("{\"@timestamp\":\"" D100 "\"}\n"), 60, NULL, 0},
    /* Not an object line, or not JSON at all. */
    {S("[\"" D50 "\"]\n"), 20, NULL, 0},
    {S("{\"a\":\"01234567890123456789\"}"), 20, NULL, 0},
    {S("{\"a\":\"0123456789012345678\n"), 20, NULL, 0},
    {S("{\"a\":\"0123456789\",}\n"), 10, NULL, 0},
    {S("{\"a\" \"0123456789012\"}\n"), 20, NULL, 0},
    {S("{\"a\":\"0123456789012\"} x\n"), 20, NULL, 0},
    /* Strings and numbers as RFC 8259 has them, or nothing. */
    {S("{\"a\":\"\\x" D100 "\"}\n"), 80, NULL, 0},
    {S("{\"a\":\"\\u12g4" D100 "\"}\n"), 80, NULL, 0},
    {S("{\"a\":\"\\ud800" D100 "\"}\n"), 80, NULL, 0},
    {S("{\"a\":\"\\udc00\\ud800" D100 "\"}\n"), 80, NULL, 0},
    {S("{\"a\":\"\xff" D100 "\"}\n"), 80, NULL, 0},
    {S("{\"a\":\"\xed\xa0\x80" D100 "\"}\n"), 80, NULL, 0},
    {S("{\"a\":01,\"b\":\"" D100 "\"}\n"), 80, NULL, 0},
    {S("{\"a\":tru,\"b\":\"" D100 "\"}\n"), 80, NULL, 0},
    {S("{\"a\":1.,\"b\":\"" D100 "\"}\n"), 80, NULL, 0},
    /* A surrogate pair is one character: kept or cut whole. */
    {S("{\"a\":\"" D50 "0123456789012\\ud83d\\ude00" D100 "\"}\n"), 114,
        S("{\"a\":\"" D50 "0123456789012\\ud83d\\ude00\",\"ocspgate\":{"
          "\"truncated\":true}}\n")},
    {S("{\"a\":\"" D50 "0123456789012\\ud83d\\ude00" D100 "\"}\n"), 109,
        S("{\"a\":\"" D50 "0123456789012\",\"ocspgate\":{\"truncated\":"
          "true}}\n")},
    {S("{\"a\":-0.5e+3,\"b\":\"" D100 "\"}\n"), 120,
        S("{\"a\":-0.5e+3,\"b\":\"" D50 "0123456789012345678\",\"ocspgate\":{"
          "\"truncated\":true}}\n")},
};

static void
test_shapes(void)
{
	struct json out;

	json_init(&out);
	for (size_t i = 0; i < sizeof(shape_cases) / sizeof(shape_cases[0]);
	     i++) {
		const struct shape_case *c = &shape_cases[i];
		int rc = event_trim(c->in, c->in_len, c->max, &out);

		if (c->out == NULL) {
			CHECKF(
			    rc == -1 && out.len == 0, "case %zu: rc %d", i, rc);
			continue;
		}
		CHECKF(rc == 0 && out.len == c->out_len &&
		        memcmp(out.buf, c->out, out.len) == 0,
		    "case %zu: rc %d: %.*s", i, rc, (int)out.len,
		    out.buf != NULL ? out.buf : "");
	}
	json_free(&out);
}

/* Nesting and node bounds. */
static void
test_bounds(void)
{
	struct json out;
	char deep[200], *many;
	size_t n = 0;

	json_init(&out);
	n += (size_t)snprintf(deep, sizeof(deep), "{\"a\":");
	for (int i = 0; i < JSON_MAX_DEPTH + 1; i++)
		deep[n++] = '[';
	for (int i = 0; i < JSON_MAX_DEPTH + 1; i++)
		deep[n++] = ']';
	deep[n++] = '}';
	deep[n++] = '\n';
	CHECK(event_trim(deep, n, 10, &out) == -1);

	many = malloc(4 * EVENT_TRIM_MAX_NODES + 16);
	if (many == NULL)
		return;
	n = 0;
	many[n++] = '[';
	for (int i = 0; i < EVENT_TRIM_MAX_NODES; i++) {
		many[n++] = '1';
		many[n++] = ',';
	}
	many[n - 1] = ']';
	memmove(many + 5, many, n);
	memcpy(many, "{\"a\":", 5);
	n += 5;
	many[n++] = '}';
	many[n++] = '\n';
	CHECK(event_trim(many, n, 100, &out) == -1);
	free(many);
	json_free(&out);
}

int
main(void)
{
	test_fits();
	test_order();
	test_every_size();
	test_boundaries();
	test_arrays();
	test_shapes();
	test_bounds();
	return check_done();
}
