/*
 * Unit tests for json_read.c: valid and invalid JSON texts (RFC 8259),
 * each scalar reported with its path and decoded value, escapes and
 * surrogate pairs, the depth and path bounds, and a real event line.
 */
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "check.h"
#include "ocspgate/json_read.h"

/* Every scalar reported, as "path=T:value;" (T: s n t f z). */
struct t_out {
	char text[4096];
	size_t len;
};

static void
t_collect(void *arg, const char *path, size_t path_len,
    enum json_read_type type, const char *v, size_t len)
{
	static const char types[] = "sntfz";
	struct t_out *o = arg;
	int n;

	if (strlen(path) != path_len || strlen(v) > len)
		o->len += (size_t)snprintf(
		    o->text + o->len, sizeof(o->text) - o->len, "BADLEN;");
	n = snprintf(o->text + o->len, sizeof(o->text) - o->len, "%s=%c:", path,
	    types[type]);
	o->len += (size_t)n;
	for (size_t i = 0; i < len && o->len + 8 < sizeof(o->text); i++) {
		unsigned char c = (unsigned char)v[i];

		if (c < 0x20 || c >= 0x7f)
			o->len += (size_t)snprintf(o->text + o->len,
			    sizeof(o->text) - o->len, "\\x%02x", c);
		else
			o->text[o->len++] = (char)c;
	}
	o->len +=
	    (size_t)snprintf(o->text + o->len, sizeof(o->text) - o->len, ";");
}

static const struct {
	const char *in;
	int rc;
	const char *want; /* the scalars, when rc is 0 */
} cases[] = {
    {"{}", 0, ""},
    {"[]", 0, ""},
    {" {\"a\" : 1 } \n", 0, "a=n:1;"},
    {"{\"a\":{\"b\":\"x\",\"c\":[true,false,null]}}", 0,
        "a.b=s:x;a.c[]=t:true;a.c[]=f:false;a.c[]=z:null;"},
    {"{\"a\":[{\"b\":1},{\"b\":2}]}", 0, "a[].b=n:1;a[].b=n:2;"},
    {"[[1]]", 0, "[][]=n:1;"},
    {"\"top\"", 0, "=s:top;"},
    {"-0.5e+10", 0, "=n:-0.5e+10;"},
    {"{\"n\":[0,-1,12.25,1E3,2e-2]}", 0,
        "n[]=n:0;n[]=n:-1;n[]=n:12.25;n[]=n:1E3;n[]=n:2e-2;"},
    {"{\"s\":\"a\\\"b\\\\c\\/d\\b\\f\\n\\r\\t\"}", 0,
        "s=s:a\"b\\c/d\\x08\\x0c\\x0a\\x0d\\x09;"},
    {"{\"u\":\"\\u0041\\u00e9\\u20ac\"}", 0, "u=s:A\\xc3\\xa9\\xe2\\x82\\xac;"},
    {"{\"u\":\"\\ud83d\\ude00\"}", 0, "u=s:\\xf0\\x9f\\x98\\x80;"},
    {"{\"u\":\"\\ud83dx\"}", 0, "u=s:\\xef\\xbf\\xbdx;"},
    {"{\"u\":\"\\ude00\"}", 0, "u=s:\\xef\\xbf\\xbd;"},
    {"{\"u\":\"\\u0000\"}", 0, "u=s:\\x00;"},
    {"{\"k\\u002ey\":1}", 0, "k.y=n:1;"},
    {"{\"a\":1,\"a\":2}", 0, "a=n:1;a=n:2;"},
    {"{\"raw\":\"\xc3\xa9\xff\"}", 0, "raw=s:\\xc3\\xa9\\xff;"},
    /* Not JSON. */
    {"", -1, NULL},
    {"   ", -1, NULL},
    {"{", -1, NULL},
    {"{\"a\"}", -1, NULL},
    {"{\"a\":}", -1, NULL},
    {"{\"a\":1,}", -1, NULL},
    {"{,}", -1, NULL},
    {"[1,]", -1, NULL},
    {"[1 2]", -1, NULL},
    {"{a:1}", -1, NULL},
    {"{'a':1}", -1, NULL},
    {"{\"a\":1}}", -1, NULL},
    {"{\"a\":1} x", -1, NULL},
    {"{\"a\":1}{}", -1, NULL},
    {"01", -1, NULL},
    {"1.", -1, NULL},
    {".5", -1, NULL},
    {"-", -1, NULL},
    {"1e", -1, NULL},
    {"+1", -1, NULL},
    {"tru", -1, NULL},
    {"nul", -1, NULL},
    {"True", -1, NULL},
    {"\"abc", -1, NULL},
    {"\"a\tb\"", -1, NULL},
    {"\"a\\x\"", -1, NULL},
    {"\"\\u12\"", -1, NULL},
    {"\"\\u12g4\"", -1, NULL},
    {"\"a\\", -1, NULL},
};

static void
test_cases(void)
{
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct t_out o;
		char scratch[512];
		int rc;

		memset(&o, 0, sizeof(o));
		rc = json_read(cases[i].in, strlen(cases[i].in), scratch,
		    sizeof(scratch), t_collect, &o);
		CHECKF(rc == cases[i].rc, "%s: rc %d", cases[i].in, rc);
		if (rc == 0 && cases[i].want != NULL)
			CHECKF(strcmp(o.text, cases[i].want) == 0,
			    "%s: got %s, want %s", cases[i].in, o.text,
			    cases[i].want);
	}
}

/* A NUL byte anywhere, a scratch too small, nesting too deep. */
static void
test_bounds(void)
{
	static const char nul[] = "{\"a\":\"x\0y\"}";
	char deep[2 * JSON_READ_MAX_DEPTH + 8], scratch[64];
	struct t_out o;
	size_t n;

	memset(&o, 0, sizeof(o));
	CHECK(json_read(nul, sizeof(nul) - 1, scratch, sizeof(scratch),
	          t_collect, &o) == -1);
	/* Ten bytes and the NUL. */
	CHECK(json_read("{\"a\":\"0123456789\"}", 18, scratch, 10, t_collect,
	          &o) == -1);
	CHECK(json_read("{\"a\":\"0123456789\"}", 18, scratch, 11, t_collect,
	          &o) == 0);
	CHECK(json_read("{}", 2, scratch, 0, t_collect, &o) == -1);

	/* JSON_READ_MAX_DEPTH levels pass, one more does not. */
	for (n = 0; n < JSON_READ_MAX_DEPTH; n++)
		deep[n] = '[';
	for (size_t k = 0; k < JSON_READ_MAX_DEPTH; k++)
		deep[n++] = ']';
	CHECK(json_read(deep, n, scratch, sizeof(scratch), t_collect, &o) == 0);
	for (n = 0; n < JSON_READ_MAX_DEPTH + 1; n++)
		deep[n] = '[';
	for (size_t k = 0; k < JSON_READ_MAX_DEPTH + 1; k++)
		deep[n++] = ']';
	CHECK(
	    json_read(deep, n, scratch, sizeof(scratch), t_collect, &o) == -1);
}

/* A path past JSON_READ_PATH_MAX is not reported; the rest still is. */
static void
test_long_path(void)
{
	char text[1024], scratch[1024], key[JSON_READ_PATH_MAX + 2];
	struct t_out o;

	memset(key, 'k', sizeof(key) - 1);
	key[sizeof(key) - 1] = '\0';
	snprintf(text, sizeof(text), "{\"%s\":{\"x\":1},\"b\":2}", key);
	memset(&o, 0, sizeof(o));
	CHECK(json_read(text, strlen(text), scratch, sizeof(scratch), t_collect,
	          &o) == 0);
	CHECKF(strcmp(o.text, "b=n:2;") == 0, "got %s", o.text);
	/* Exactly JSON_READ_PATH_MAX bytes still fit. */
	key[JSON_READ_PATH_MAX] = '\0';
	snprintf(text, sizeof(text), "{\"%s\":1}", key);
	memset(&o, 0, sizeof(o));
	CHECK(json_read(text, strlen(text), scratch, sizeof(scratch), t_collect,
	          &o) == 0);
	CHECK(o.len == JSON_READ_PATH_MAX + 5);
}

/* A line as ocspgate writes it. */
static void
test_event_line(void)
{
	static const char line[] =
	    "{\"@timestamp\":\"2026-11-26T19:00:00.123Z\",\"event\":{\"kind\":"
	    "\"event\",\"category\":[\"network\"],\"action\":\"block\","
	    "\"reason\":\"unknown_responder\",\"duration\":1234},"
	    "\"ocspgate\":{\"mode\":\"monitor\",\"enforced\":false,"
	    "\"candidate\":\"crl\",\"candidate_verified\":true},"
	    "\"destination\":{\"domain\":\"crl.example.test\",\"port\":80}}";
	char scratch[sizeof(line)];
	struct t_out o;

	memset(&o, 0, sizeof(o));
	CHECK(json_read(line, sizeof(line) - 1, scratch, sizeof(scratch),
	          t_collect, &o) == 0);
	CHECKF(strcmp(o.text,
	           "@timestamp=s:2026-11-26T19:00:00.123Z;event.kind=s:event;"
	           "event.category[]=s:network;event.action=s:block;"
	           "event.reason=s:unknown_responder;event.duration=n:1234;"
	           "ocspgate.mode=s:monitor;ocspgate.enforced=f:false;"
	           "ocspgate.candidate=s:crl;"
	           "ocspgate.candidate_verified=t:true;"
	           "destination.domain=s:crl.example.test;"
	           "destination.port=n:80;") == 0,
	    "got %s", o.text);
}

int
main(void)
{
	test_cases();
	test_bounds();
	test_long_path();
	test_event_line();
	return check_done();
}
