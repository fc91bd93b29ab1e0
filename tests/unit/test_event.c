/*
 * Unit tests for event.c: every line is checked by a strict JSON parser
 * (below) that also lists each member by its path, so that records can be
 * compared field by field: present with the exact value, or left out.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "ocspgate/event.h"

/* ---- A strict JSON parser (RFC 8259) that records member paths. ---- */

#define JV_MAX_ENTRIES 256
#define JV_MAX_PATH    160
#define JV_MAX_DEPTH   32

struct jv_entry {
	char path[JV_MAX_PATH]; /* "a.b[0].c" */
	const char *v;          /* the value's text */
	size_t len;
	bool leaf;
};

struct jv {
	const char *p, *end;
	struct jv_entry e[JV_MAX_ENTRIES];
	size_t n;
	bool duplicate; /* a key repeated within an object */
	const char *error;
};

static bool jv_value(struct jv *j, char *path, size_t plen, unsigned depth);

static bool
jv_fail(struct jv *j, const char *why)
{
	if (j->error == NULL)
		j->error = why;
	return false;
}

static void
jv_ws(struct jv *j)
{
	while (j->p < j->end &&
	    (*j->p == ' ' || *j->p == '\t' || *j->p == '\n' || *j->p == '\r'))
		j->p++;
}

static int
jv_hex4(const char *p)
{
	int v = 0;

	for (int i = 0; i < 4; i++) {
		char c = p[i];

		v <<= 4;
		if (c >= '0' && c <= '9')
			v |= c - '0';
		else if (c >= 'a' && c <= 'f')
			v |= c - 'a' + 10;
		else if (c >= 'A' && c <= 'F')
			v |= c - 'A' + 10;
		else
			return -1;
	}
	return v;
}

/* Length of the well-formed UTF-8 sequence at <p>, or 0. */
static size_t
jv_utf8(const unsigned char *p, const unsigned char *end)
{
	unsigned c = p[0], lo = 0x80, hi = 0xbf;
	size_t n;

	if (c >= 0xc2 && c <= 0xdf)
		n = 2;
	else if (c >= 0xe0 && c <= 0xef)
		n = 3;
	else if (c >= 0xf0 && c <= 0xf4)
		n = 4;
	else
		return 0;
	if (c == 0xe0)
		lo = 0xa0;
	else if (c == 0xed)
		hi = 0x9f;
	else if (c == 0xf0)
		lo = 0x90;
	else if (c == 0xf4)
		hi = 0x8f;
	if ((size_t)(end - p) < n || p[1] < lo || p[1] > hi)
		return 0;
	for (size_t i = 2; i < n; i++) {
		if (p[i] < 0x80 || p[i] > 0xbf)
			return 0;
	}
	return n;
}

/* A string; its undecoded contents go to <out> when not NULL. */
static bool
jv_string(struct jv *j, char *out, size_t cap)
{
	size_t o = 0;

	if (j->p >= j->end || *j->p != '"')
		return jv_fail(j, "string expected");
	j->p++;
	while (j->p < j->end && *j->p != '"') {
		unsigned char c = (unsigned char)*j->p;

		if (c < 0x20)
			return jv_fail(j, "raw control byte in a string");
		if (c == '\\') {
			int u;

			if (j->end - j->p < 2)
				return jv_fail(j, "truncated escape");
			switch (j->p[1]) {
			case '"':
			case '\\':
			case '/':
			case 'b':
			case 'f':
			case 'n':
			case 'r':
			case 't':
				j->p += 2;
				continue;
			case 'u':
				break;
			default:
				return jv_fail(j, "bad escape");
			}
			if (j->end - j->p < 6 || (u = jv_hex4(j->p + 2)) < 0)
				return jv_fail(j, "bad \\u escape");
			j->p += 6;
			if (u >= 0xdc00 && u <= 0xdfff)
				return jv_fail(j, "lone low surrogate");
			if (u >= 0xd800 && u <= 0xdbff) {
				int lo;

				if (j->end - j->p < 6 || j->p[0] != '\\' ||
				    j->p[1] != 'u' ||
				    (lo = jv_hex4(j->p + 2)) < 0xdc00 ||
				    lo > 0xdfff)
					return jv_fail(
					    j, "lone high surrogate");
				j->p += 6;
			}
			continue;
		}
		if (c >= 0x80) {
			size_t n = jv_utf8((const unsigned char *)j->p,
			    (const unsigned char *)j->end);

			if (n == 0)
				return jv_fail(j, "invalid UTF-8");
			if (out != NULL && o + n < cap)
				memcpy(out + o, j->p, n);
			o += n;
			j->p += n;
			continue;
		}
		if (out != NULL && o + 1 < cap)
			out[o] = (char)c;
		o++;
		j->p++;
	}
	if (j->p >= j->end)
		return jv_fail(j, "unterminated string");
	j->p++;
	if (out != NULL) {
		if (o >= cap)
			return jv_fail(j, "key too long");
		out[o] = '\0';
	}
	return true;
}

static bool
jv_number(struct jv *j)
{
	const char *p = j->p;

	if (p < j->end && *p == '-')
		p++;
	if (p >= j->end || *p < '0' || *p > '9')
		return jv_fail(j, "bad number");
	if (*p == '0') {
		p++;
	} else {
		while (p < j->end && *p >= '0' && *p <= '9')
			p++;
	}
	if (p < j->end && *p == '.') {
		p++;
		if (p >= j->end || *p < '0' || *p > '9')
			return jv_fail(j, "bad fraction");
		while (p < j->end && *p >= '0' && *p <= '9')
			p++;
	}
	if (p < j->end && (*p == 'e' || *p == 'E')) {
		p++;
		if (p < j->end && (*p == '+' || *p == '-'))
			p++;
		if (p >= j->end || *p < '0' || *p > '9')
			return jv_fail(j, "bad exponent");
		while (p < j->end && *p >= '0' && *p <= '9')
			p++;
	}
	j->p = p;
	return true;
}

static bool
jv_literal(struct jv *j, const char *lit)
{
	size_t n = strlen(lit);

	if ((size_t)(j->end - j->p) < n || memcmp(j->p, lit, n) != 0)
		return jv_fail(j, "bad literal");
	j->p += n;
	return true;
}

static bool
jv_record(struct jv *j, const char *path, const char *start, bool leaf)
{
	struct jv_entry *e;

	for (size_t i = 0; i < j->n; i++) {
		if (strcmp(j->e[i].path, path) == 0)
			j->duplicate = true;
	}
	if (j->n == JV_MAX_ENTRIES)
		return jv_fail(j, "too many members");
	e = &j->e[j->n++];
	(void)snprintf(e->path, sizeof(e->path), "%s", path);
	e->v = start;
	e->len = (size_t)(j->p - start);
	e->leaf = leaf;
	return true;
}

static bool
jv_container(struct jv *j, char *path, size_t plen, unsigned depth, bool object)
{
	char close = object ? '}' : ']';
	size_t k = 0;

	j->p++;
	jv_ws(j);
	if (j->p < j->end && *j->p == close) {
		j->p++;
		return true;
	}
	for (;;) {
		int w;

		if (object) {
			char key[64];

			if (!jv_string(j, key, sizeof(key)))
				return false;
			jv_ws(j);
			if (j->p >= j->end || *j->p != ':')
				return jv_fail(j, "':' expected");
			j->p++;
			w = snprintf(path + plen, JV_MAX_PATH - plen, "%s%s",
			    plen > 0 ? "." : "", key);
		} else {
			w = snprintf(
			    path + plen, JV_MAX_PATH - plen, "[%zu]", k);
		}
		if (w < 0 || (size_t)w >= JV_MAX_PATH - plen)
			return jv_fail(j, "path too long");
		jv_ws(j);
		if (!jv_value(j, path, plen + (size_t)w, depth + 1))
			return false;
		path[plen] = '\0';
		k++;
		jv_ws(j);
		if (j->p < j->end && *j->p == ',') {
			j->p++;
			jv_ws(j);
			continue;
		}
		if (j->p < j->end && *j->p == close) {
			j->p++;
			return true;
		}
		return jv_fail(j, "',' or end expected");
	}
}

static bool
jv_value(struct jv *j, char *path, size_t plen, unsigned depth)
{
	const char *start = j->p;
	bool ok, leaf = true;

	if (depth > JV_MAX_DEPTH)
		return jv_fail(j, "too deep");
	if (j->p >= j->end)
		return jv_fail(j, "value expected");
	switch (*j->p) {
	case '{':
	case '[':
		leaf = false;
		ok = jv_container(j, path, plen, depth, *j->p == '{');
		break;
	case '"':
		ok = jv_string(j, NULL, 0);
		break;
	case 't':
		ok = jv_literal(j, "true");
		break;
	case 'f':
		ok = jv_literal(j, "false");
		break;
	case 'n':
		ok = jv_literal(j, "null");
		break;
	default:
		ok = jv_number(j);
		break;
	}
	return ok && jv_record(j, path, start, leaf);
}

/* Parses one event line: a JSON object, then "\n", nothing else. */
static bool
jv_parse_line(struct jv *j, const char *s, size_t len)
{
	char path[JV_MAX_PATH] = "";

	memset(j, 0, sizeof(*j));
	if (len == 0 || s[len - 1] != '\n' || memchr(s, '\n', len - 1) != NULL)
		return jv_fail(j, "not one line");
	j->p = s;
	j->end = s + len - 1;
	if (*j->p != '{')
		return jv_fail(j, "not an object");
	if (!jv_value(j, path, 0, 0))
		return false;
	if (j->p != j->end)
		return jv_fail(j, "trailing bytes");
	if (j->duplicate)
		return jv_fail(j, "duplicate key");
	return true;
}

static const struct jv_entry *
jv_get(const struct jv *j, const char *path)
{
	for (size_t i = 0; i < j->n; i++) {
		if (strcmp(j->e[i].path, path) == 0)
			return &j->e[i];
	}
	return NULL;
}

static size_t
jv_leaves(const struct jv *j)
{
	size_t n = 0;

	for (size_t i = 0; i < j->n; i++)
		n += j->e[i].leaf;
	return n;
}

/* ---- The tests. ---- */

struct field {
	const char *path;
	const char *raw; /* JSON text of the value */
};

/* Formats <e> and checks that the line holds exactly <want>. */
static void
check_record(const char *name, const struct event_record *e,
    const struct field *want, size_t nwant, const char *const *absent)
{
	struct json j;
	struct jv v;

	json_init(&j);
	event_format(&j, e);
	CHECKF(!j.failed, "%s: json failed", name);
	if (!jv_parse_line(&v, j.buf, j.len)) {
		CHECKF(
		    false, "%s: invalid JSON (%s): %s", name, v.error, j.buf);
		json_free(&j);
		return;
	}
	for (size_t i = 0; i < nwant; i++) {
		const struct jv_entry *f = jv_get(&v, want[i].path);

		CHECKF(f != NULL && f->leaf && f->len == strlen(want[i].raw) &&
		        memcmp(f->v, want[i].raw, f->len) == 0,
		    "%s: %s is %.*s, want %s", name, want[i].path,
		    f != NULL ? (int)f->len : 6, f != NULL ? f->v : "absent",
		    want[i].raw);
	}
	CHECKF(jv_leaves(&v) == nwant, "%s: %zu fields, want %zu: %s", name,
	    jv_leaves(&v), nwant, j.buf);
	for (size_t i = 0; absent != NULL && absent[i] != NULL; i++)
		CHECKF(jv_get(&v, absent[i]) == NULL, "%s: %s present", name,
		    absent[i]);
	json_free(&j);
}

static struct http_span
sp(const char *s)
{
	struct http_span r = {s, strlen(s)};

	return r;
}

static size_t
unhex(const char *s, unsigned char *out)
{
	size_t n = 0;

	for (; s[0] != '\0' && s[1] != '\0'; s += 2) {
		char two[3] = {s[0], s[1], '\0'};

		out[n++] = (unsigned char)strtoul(two, NULL, 16);
	}
	return n;
}

#define NH1 "ABCDEF0123456789ABCDEF0123456789ABCDEF01"
#define KH1 "00FF10E0D0C0B0A090807060504030201000FEDC"

/* The members every line has (event_begin()), observer.version aside. */
/* clang-format off */
#define COMMON_FIELDS                                                          \
	{"ecs.version", "\"" EVENT_ECS_VERSION "\""},                          \
	{"event.module", "\"ocspgate\""},                                      \
	{"event.dataset", "\"ocspgate.events\""},                              \
	{"observer.vendor", "\"ocspgate\""},                                   \
	{"observer.product", "\"ocspgate\""},                                  \
	{"observer.type", "\"proxy\""}
/* clang-format on */

static void
test_allow(void)
{
	struct ocsp_request_facts f;
	struct event_record e;
	static const struct field want[] = {
	    {"@timestamp", "\"2026-11-26T19:00:00.123Z\""},
	    COMMON_FIELDS,
	    {"observer.version", "\"9.8.7\""},
	    {"event.kind", "\"event\""},
	    {"event.category[0]", "\"network\""},
	    {"event.type[0]", "\"allowed\""},
	    {"event.type[1]", "\"connection\""},
	    {"event.type[2]", "\"protocol\""},
	    {"event.outcome", "\"success\""},
	    {"event.action", "\"allow\""},
	    {"event.reason", "\"ocsp_request\""},
	    {"event.duration", "1234567"},
	    {"ocspgate.mode", "\"enforce\""},
	    {"ocspgate.enforced", "true"},
	    {"ocspgate.interception", "\"explicit\""},
	    {"ocspgate.responder", "\"ocsp.example.test\""},
	    {"ocspgate.flags.nonce", "true"},
	    {"source.ip", "\"10.0.0.5\""},
	    {"source.port", "50123"},
	    {"destination.domain", "\"ocsp.example.test\""},
	    {"destination.ip", "\"127.0.0.1\""},
	    {"destination.port", "80"},
	    {"network.transport", "\"tcp\""},
	    {"network.protocol", "\"http\""},
	    {"related.ip[0]", "\"10.0.0.5\""},
	    {"related.ip[1]", "\"127.0.0.1\""},
	    {"related.hosts[0]", "\"ocsp.example.test\""},
	    {"http.request.method", "\"POST\""},
	    {"http.request.body.bytes", "83"},
	    {"http.response.status_code", "200"},
	    {"http.response.body.bytes", "1500"},
	    {"url.original", "\"http://ocsp.example.test/\""},
	    {"url.path", "\"/\""},
	    {"user_agent.original", "\"Microsoft-CryptoAPI/10.0\""},
	    {"ocspgate.ocsp.request.nonce", "true"},
	    {"ocspgate.ocsp.request.flags[0]", "\"nonce\""},
	    {"ocspgate.ocsp.request.certs[0].hash_algorithm", "\"sha1\""},
	    {"ocspgate.ocsp.request.certs[0].issuer_name_hash", "\"" NH1 "\""},
	    {"ocspgate.ocsp.request.certs[0].issuer_key_hash", "\"" KH1 "\""},
	    {"ocspgate.ocsp.request.certs[0].serial", "\"0A1B\""},
	};

	memset(&f, 0, sizeof(f));
	f.has_nonce = true;
	f.nonce_len = 16;
	f.flags = OCSP_FLAG_NONCE;
	f.ncerts = 1;
	f.certs[0].hash = OCSP_HASH_SHA1;
	f.certs[0].hash_len = unhex(NH1, f.certs[0].name_hash);
	unhex(KH1, f.certs[0].key_hash);
	f.certs[0].serial_len = unhex("0a1b", f.certs[0].serial);

	memset(&e, 0, sizeof(e));
	e.start.tv_sec = 1795719600;
	e.start.tv_nsec = 123456789;
	e.duration_ns = 1234567;
	e.reason = REASON_OCSP_REQUEST;
	e.allow = true;
	e.enforced = true;
	e.mode = MODE_ENFORCE;
	e.interception = "explicit";
	e.responder = "ocsp.example.test";
	e.source_ip = "10.0.0.5";
	e.source_port = 50123;
	e.dest_host = sp("ocsp.example.test");
	e.dest_ip = "127.0.0.1";
	e.dest_port = 80;
	e.method = sp("POST");
	e.url = sp("http://ocsp.example.test/");
	e.path = sp("/");
	e.user_agent = sp("Microsoft-CryptoAPI/10.0");
	e.request_body_bytes = 83;
	e.has_request_body = true;
	e.status = 200;
	e.response_body_bytes = 1500;
	e.ocsp = &f;
	e.version = "9.8.7";
	check_record("allow", &e, want, sizeof(want) / sizeof(want[0]), NULL);
}

/* A malformed request: most fields unknown and left out. */
static void
test_block_minimal(void)
{
	struct event_record e;
	static const struct field want[] = {
	    {"@timestamp", "\"1970-01-01T00:00:00.000Z\""},
	    COMMON_FIELDS,
	    {"event.kind", "\"event\""},
	    {"event.category[0]", "\"network\""},
	    {"event.type[0]", "\"denied\""},
	    {"event.type[1]", "\"connection\""},
	    {"event.outcome", "\"success\""},
	    {"event.action", "\"block\""},
	    {"event.reason", "\"http_malformed\""},
	    {"event.duration", "0"},
	    {"ocspgate.mode", "\"enforce\""},
	    {"ocspgate.enforced", "true"},
	    {"ocspgate.interception", "\"explicit\""},
	    {"ocspgate.detail", "\"obs-fold header line\""},
	    {"source.ip", "\"10.0.0.6\""},
	    {"source.port", "40000"},
	    {"network.transport", "\"tcp\""},
	    {"related.ip[0]", "\"10.0.0.6\""},
	    {"http.response.status_code", "400"},
	    {"http.response.body.bytes", "0"},
	};
	static const char *const absent[] = {"destination", "url", "user_agent",
	    "ocspgate.ocsp", "http.request", "ocspgate.responder",
	    "network.protocol", "observer.version", "related.hosts", NULL};

	memset(&e, 0, sizeof(e));
	e.reason = REASON_HTTP_MALFORMED;
	e.enforced = true;
	e.interception = "explicit";
	e.detail = "obs-fold header line";
	e.source_ip = "10.0.0.6";
	e.source_port = 40000;
	e.status = 400;
	check_record(
	    "minimal block", &e, want, sizeof(want) / sizeof(want[0]), absent);
}

/* Monitor mode, an IP literal target, OCSP facts without certs. */
static void
test_monitor_ip_literal(void)
{
	struct ocsp_request_facts f;
	struct event_record e;
	static const struct field want[] = {
	    {"@timestamp", "\"2000-02-29T23:59:59.999Z\""},
	    COMMON_FIELDS,
	    {"event.kind", "\"event\""},
	    {"event.category[0]", "\"network\""},
	    /* A block monitor mode forwarded: allowed on the wire. */
	    {"event.type[0]", "\"allowed\""},
	    {"event.type[1]", "\"connection\""},
	    {"event.type[2]", "\"protocol\""},
	    {"event.outcome", "\"success\""},
	    {"event.action", "\"block\""},
	    {"event.reason", "\"ocsp_malformed\""},
	    {"event.duration", "18446744073709551615"},
	    {"ocspgate.mode", "\"monitor\""},
	    {"ocspgate.enforced", "false"},
	    {"ocspgate.interception", "\"transparent\""},
	    {"ocspgate.responder", "\"192.0.2.1:8080\""},
	    {"ocspgate.detail", "\"trailing bytes\""},
	    {"source.ip", "\"::1\""},
	    {"source.port", "1"},
	    {"destination.ip", "\"192.0.2.1\""},
	    {"destination.port", "8080"},
	    {"network.transport", "\"tcp\""},
	    {"network.protocol", "\"http\""},
	    {"related.ip[0]", "\"::1\""},
	    {"related.ip[1]", "\"192.0.2.1\""},
	    {"http.request.method", "\"GET\""},
	    {"url.original", "\"http://192.0.2.1:8080/MAMCAQU%3D\""},
	    {"url.path", "\"/MAMCAQU%3D\""},
	    {"ocspgate.ocsp.request.nonce", "false"},
	};
	static const char *const absent[] = {"destination.domain",
	    "http.request.body", "http.response", "ocspgate.ocsp.request.flags",
	    "ocspgate.ocsp.request.certs", "user_agent", "ocspgate.flags",
	    "ocspgate.cert_status", "related.hosts", "ocsp", NULL};

	memset(&f, 0, sizeof(f));
	memset(&e, 0, sizeof(e));
	e.start.tv_sec = 951868799;
	e.start.tv_nsec = 999999999;
	e.duration_ns = UINT64_MAX;
	e.reason = REASON_OCSP_MALFORMED;
	e.mode = MODE_MONITOR;
	e.interception = "transparent";
	e.responder = "192.0.2.1:8080";
	e.detail = "trailing bytes";
	e.source_ip = "::1";
	e.source_port = 1;
	e.dest_host = sp("192.0.2.1");
	e.dest_port = 8080;
	e.method = sp("GET");
	e.url = sp("http://192.0.2.1:8080/MAMCAQU%3D");
	e.path = sp("/MAMCAQU%3D");
	e.ocsp = &f;
	check_record("monitor, IPv4 literal", &e, want,
	    sizeof(want) / sizeof(want[0]), absent);
}

/* destination.ip holds addresses only; a name goes to domain. */
static void
test_destination(void)
{
	static const struct {
		const char *name;
		const char *host;
		const char *ip;
		uint16_t port;
		const char *want_domain; /* raw JSON, or NULL: left out */
		const char *want_ip;
		const char *want_port;
	} cases[] = {
	    {"name and address", "ocsp.test", "192.0.2.7", 80, "\"ocsp.test\"",
	        "\"192.0.2.7\"", "80"},
	    {"name not resolved", "evil.test", NULL, 80, "\"evil.test\"", NULL,
	        "80"},
	    {"IPv4 literal, connected", "192.0.2.1", "192.0.2.1", 81, NULL,
	        "\"192.0.2.1\"", "81"},
	    {"IPv6 literal", "::1", NULL, 8081, NULL, "\"::1\"", "8081"},
	    {"IPv6 literal, connected", "2001:db8::1", "2001:db8::1", 80, NULL,
	        "\"2001:db8::1\"", "80"},
	    {"address only", "", "192.0.2.9", 0, NULL, "\"192.0.2.9\"", NULL},
	    {"name, port unknown", "ocsp.test", NULL, 0, "\"ocsp.test\"", NULL,
	        NULL},
	    /* Hosts of an address's bytes only: as inet_pton() reads them. */
	    {"hex name", "cafe.be", "192.0.2.7", 80, "\"cafe.be\"",
	        "\"192.0.2.7\"", "80"},
	    {"IPv4 literal, other address", "192.0.2.1", "192.0.2.2", 80, NULL,
	        "\"192.0.2.2\"", "80"},
	    {"hex name as the address", "cafe", "cafe", 80, "\"cafe\"",
	        "\"cafe\"", "80"},
	    {"IPv4 literal, not resolved", "192.0.2.1", NULL, 80, NULL,
	        "\"192.0.2.1\"", "80"},
	    {"digits, no address", "1.2.3", NULL, 80, "\"1.2.3\"", NULL, "80"},
	    {"IPv4 with a zero led octet", "192.0.2.01", "192.0.2.1", 80,
	        "\"192.0.2.01\"", "\"192.0.2.1\"", "80"},
	    {"IPv4 part over 255", "192.0.2.256", NULL, 80, "\"192.0.2.256\"",
	        NULL, "80"},
	    {"IPv4, five parts", "192.0.2.1.5", NULL, 80, "\"192.0.2.1.5\"",
	        NULL, "80"},
	    {"IPv4, empty part", "192.0..1", NULL, 80, "\"192.0..1\"", NULL,
	        "80"},
	    {"IPv4, trailing dot", "192.0.2.1.", NULL, 80, "\"192.0.2.1.\"",
	        NULL, "80"},
	    {"IPv4 zeros", "0.0.0.0", NULL, 80, NULL, "\"0.0.0.0\"", "80"},
	    {"IPv4 top", "255.255.255.255", NULL, 80, NULL,
	        "\"255.255.255.255\"", "80"},
	    {"IPv6, upper case", "2001:DB8::1", "2001:db8::1", 80, NULL,
	        "\"2001:db8::1\"", "80"},
	    {"IPv6 in brackets", "[::1]", "::1", 80, "\"[::1]\"", "\"::1\"",
	        "80"},
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct event_record e;
		struct json j;
		struct jv v;
		const struct jv_entry *d, *ip, *port;

		memset(&e, 0, sizeof(e));
		e.reason = REASON_UNKNOWN_RESPONDER;
		e.interception = "explicit";
		e.source_ip = "10.0.0.1";
		e.source_port = 1000;
		e.dest_host = sp(cases[i].host);
		e.dest_ip = cases[i].ip;
		e.dest_port = cases[i].port;
		json_init(&j);
		event_format(&j, &e);
		if (!jv_parse_line(&v, j.buf, j.len)) {
			CHECKF(false, "%s: invalid JSON (%s)", cases[i].name,
			    v.error);
			json_free(&j);
			continue;
		}
		d = jv_get(&v, "destination.domain");
		ip = jv_get(&v, "destination.ip");
		port = jv_get(&v, "destination.port");
		CHECKF(cases[i].want_domain == NULL
		        ? d == NULL
		        : d != NULL && d->len == strlen(cases[i].want_domain) &&
		            memcmp(d->v, cases[i].want_domain, d->len) == 0,
		    "%s: destination.domain %.*s", cases[i].name,
		    d != NULL ? (int)d->len : 6, d != NULL ? d->v : "absent");
		CHECKF(cases[i].want_ip == NULL
		        ? ip == NULL
		        : ip != NULL && ip->len == strlen(cases[i].want_ip) &&
		            memcmp(ip->v, cases[i].want_ip, ip->len) == 0,
		    "%s: destination.ip %.*s", cases[i].name,
		    ip != NULL ? (int)ip->len : 6,
		    ip != NULL ? ip->v : "absent");
		CHECKF(cases[i].want_port == NULL ? port == NULL
		                                  : port != NULL &&
		            port->len == strlen(cases[i].want_port) &&
		            memcmp(port->v, cases[i].want_port, port->len) == 0,
		    "%s: destination.port", cases[i].name);
		json_free(&j);
	}
	/* Nothing known about the destination: no object at all. */
	{
		struct event_record e;
		struct json j;
		struct jv v;

		memset(&e, 0, sizeof(e));
		e.interception = "explicit";
		e.source_ip = "10.0.0.1";
		e.source_port = 1;
		json_init(&j);
		event_format(&j, &e);
		CHECK(jv_parse_line(&v, j.buf, j.len) &&
		    jv_get(&v, "destination") == NULL);
		json_free(&j);
	}
}

/* Every flag by its contract name, in bit order; several certs. */
static void
test_flags_and_certs(void)
{
	static const char *const names[OCSP_FLAG_COUNT] = {
	    "get_percent_encoded", "get_unescaped_slash", "get_space_as_plus",
	    "get_double_slash", "get_url_safe_alphabet", "get_unpadded",
	    "get_over_255_bytes", "multiple_certs", "requestor_name",
	    "signed_request", "single_request_extensions", "nonce",
	    "explicit_default_version", "hash_params_absent",
	    "explicit_critical_false"};
	struct ocsp_request_facts f;
	struct event_record e;
	struct json j;
	struct jv v;
	char path[64], raw[64];
	const struct jv_entry *x;

	memset(&f, 0, sizeof(f));
	f.flags = (1u << OCSP_FLAG_COUNT) - 1;
	f.has_nonce = true;
	f.ncerts = 2;
	f.certs[0].hash = OCSP_HASH_SHA256;
	f.certs[0].hash_len = 32;
	memset(f.certs[0].name_hash, 0xab, 32);
	memset(f.certs[0].key_hash, 0x0f, 32);
	f.certs[0].serial_len = unhex("00ff", f.certs[0].serial);
	f.certs[1].hash = OCSP_HASH_SHA512;
	f.certs[1].hash_len = 64;
	memset(f.certs[1].name_hash, 0xcd, 64);
	memset(f.certs[1].key_hash, 0xef, 64);
	f.certs[1].serial_len = unhex(
	    "0102030405060708090a0b0c0d0e0f1011121314", f.certs[1].serial);

	memset(&e, 0, sizeof(e));
	e.reason = REASON_OCSP_REQUEST;
	e.allow = true;
	e.enforced = true;
	e.interception = "explicit";
	e.source_ip = "10.0.0.1";
	e.source_port = 1;
	e.ocsp = &f;
	json_init(&j);
	event_format(&j, &e);
	if (!jv_parse_line(&v, j.buf, j.len)) {
		CHECKF(false, "flags: invalid JSON (%s)", v.error);
		json_free(&j);
		return;
	}
	for (unsigned b = 0; b < OCSP_FLAG_COUNT; b++) {
		(void)snprintf(
		    path, sizeof(path), "ocspgate.ocsp.request.flags[%u]", b);
		(void)snprintf(raw, sizeof(raw), "\"%s\"", names[b]);
		x = jv_get(&v, path);
		CHECKF(x != NULL && x->len == strlen(raw) &&
		        memcmp(x->v, raw, x->len) == 0,
		    "flag %u", b);
	}
	(void)snprintf(path, sizeof(path), "ocspgate.ocsp.request.flags[%u]",
	    OCSP_FLAG_COUNT);
	CHECK(jv_get(&v, path) == NULL);
	/* The same flags as one boolean field each, for single-valued
	 * queries. */
	for (unsigned b = 0; b < OCSP_FLAG_COUNT; b++) {
		(void)snprintf(
		    path, sizeof(path), "ocspgate.flags.%s", names[b]);
		x = jv_get(&v, path);
		CHECKF(x != NULL && x->leaf && x->len == 4 &&
		        memcmp(x->v, "true", 4) == 0,
		    "%s", path);
	}
	x = jv_get(&v, "ocspgate.ocsp.request.certs[0].hash_algorithm");
	CHECK(x != NULL && x->len == 8 && memcmp(x->v, "\"sha256\"", 8) == 0);
	x = jv_get(&v, "ocspgate.ocsp.request.certs[1].hash_algorithm");
	CHECK(x != NULL && x->len == 8 && memcmp(x->v, "\"sha512\"", 8) == 0);
	x = jv_get(&v, "ocspgate.ocsp.request.certs[0].serial");
	CHECK(x != NULL && x->len == 6 && memcmp(x->v, "\"00FF\"", 6) == 0);
	x = jv_get(&v, "ocspgate.ocsp.request.certs[1].serial");
	CHECK(x != NULL && x->len == 42 &&
	    memcmp(x->v, "\"0102030405060708090A0B0C0D0E0F1011121314\"", 42) ==
	        0);
	x = jv_get(&v, "ocspgate.ocsp.request.certs[0].issuer_key_hash");
	CHECK(x != NULL && x->len == 66 && memcmp(x->v, "\"0F0F", 5) == 0);
	x = jv_get(&v, "ocspgate.ocsp.request.certs[1].issuer_name_hash");
	CHECK(x != NULL && x->len == 130 && memcmp(x->v, "\"CDCD", 5) == 0);
	CHECK(jv_get(&v, "ocspgate.ocsp.request.certs[2]") == NULL);
	json_free(&j);
}

/*
 * ocspgate.cert_status: the most severe status of the answer's
 * certificates (revoked, then unknown, then good), absent without any.
 */
static void
test_cert_status(void)
{
	static const struct {
		size_t n;
		enum ocsp_cert_status st[3];
		const char *want; /* NULL: absent */
	} rows[] = {
	    {0, {OCSP_CERT_GOOD}, NULL},
	    {1, {OCSP_CERT_GOOD}, "\"good\""},
	    {1, {OCSP_CERT_REVOKED}, "\"revoked\""},
	    {1, {OCSP_CERT_UNKNOWN}, "\"unknown\""},
	    {2, {OCSP_CERT_GOOD, OCSP_CERT_UNKNOWN}, "\"unknown\""},
	    {2, {OCSP_CERT_UNKNOWN, OCSP_CERT_GOOD}, "\"unknown\""},
	    {3, {OCSP_CERT_GOOD, OCSP_CERT_REVOKED, OCSP_CERT_UNKNOWN},
	        "\"revoked\""},
	    {3, {OCSP_CERT_UNKNOWN, OCSP_CERT_GOOD, OCSP_CERT_REVOKED},
	        "\"revoked\""},
	};
	static struct ocsp_response_facts f; /* large: kept off the stack */
	struct event_record e;
	struct json j;
	struct jv v;
	const struct jv_entry *x;

	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		memset(&f, 0, sizeof(f));
		f.parsed = f.basic = true;
		f.ncerts = rows[i].n;
		for (size_t c = 0; c < rows[i].n; c++) {
			f.certs[c].serial_len = 1;
			f.certs[c].serial[0] = (unsigned char)(c + 1);
			f.certs[c].status = rows[i].st[c];
		}
		memset(&e, 0, sizeof(e));
		e.reason = REASON_OCSP_REQUEST;
		e.allow = e.enforced = true;
		e.interception = "explicit";
		e.source_ip = "10.0.0.1";
		e.ocsp_response = &f;
		json_init(&j);
		event_format(&j, &e);
		if (!jv_parse_line(&v, j.buf, j.len)) {
			CHECKF(false, "row %zu: invalid JSON (%s)", i, v.error);
			json_free(&j);
			continue;
		}
		x = jv_get(&v, "ocspgate.cert_status");
		if (rows[i].want == NULL)
			CHECKF(x == NULL, "row %zu: cert_status present", i);
		else
			CHECKF(x != NULL && x->leaf &&
			        x->len == strlen(rows[i].want) &&
			        memcmp(x->v, rows[i].want, x->len) == 0,
			    "row %zu: cert_status %.*s, want %s", i,
			    x != NULL ? (int)x->len : 6,
			    x != NULL ? x->v : "absent", rows[i].want);
		json_free(&j);
	}
}

/* Hostile bytes from the wire still give one valid JSON line. */
static void
test_hostile(void)
{
	static const char ua[] = "a\"b\\c\x01\x1f\x7f\n\r\t\xff\xfe\xc3\x28"
	                         "\xed\xa0\x80\xf4\x90\x80\x80 ok \xe2\x82";
	static const char url[] = "http://x.test/\"},\"event\":{\"action\":"
	                          "\"allow\"}\n\0end";
	struct event_record e;
	struct json j;
	struct jv v;
	const struct jv_entry *x;

	memset(&e, 0, sizeof(e));
	e.reason = REASON_NOT_OCSP;
	e.interception = "explicit";
	e.source_ip = "10.0.0.1";
	e.source_port = 1;
	e.detail = "detail with \"quotes\"";
	e.user_agent.p = ua;
	e.user_agent.len = sizeof(ua) - 1;
	e.url.p = url;
	e.url.len = sizeof(url) - 1;
	e.path = e.url;
	e.method.p = "G\"ET\n";
	e.method.len = 5;
	e.dest_host = sp("a\"b.test");
	json_init(&j);
	event_format(&j, &e);
	CHECKF(jv_parse_line(&v, j.buf, j.len), "hostile: invalid JSON (%s)",
	    v.error);
	x = jv_get(&v, "event.action");
	CHECK(x != NULL && x->len == 7 && memcmp(x->v, "\"block\"", 7) == 0);
	CHECK(jv_get(&v, "url.original") != NULL &&
	    jv_get(&v, "user_agent.original") != NULL);
	json_free(&j);
}

/* Source port 0 means unknown, and unknown fields are left out. */
static void
test_zero_source_port(void)
{
	struct event_record e;
	struct json j;
	struct jv v;

	memset(&e, 0, sizeof(e));
	e.interception = "explicit";
	e.source_ip = "10.0.0.1";
	json_init(&j);
	event_format(&j, &e);
	CHECK(jv_parse_line(&v, j.buf, j.len));
	CHECK(jv_get(&v, "source.ip") != NULL);
	CHECKF(jv_get(&v, "source.port") == NULL, "source.port 0 written");
	json_free(&j);
}

/* A second record in the same writer replaces the first. */
/* True when <path> holds exactly the raw JSON <want>. */
static bool
jv_is(const struct jv *v, const char *path, const char *want)
{
	const struct jv_entry *e = jv_get(v, path);

	return e != NULL && e->len == strlen(want) &&
	    memcmp(e->v, want, e->len) == 0;
}

/* Interception and attribution fields. */
static void
test_interception(void)
{
	static const char *const names[] = {"role", "owner", "site"};
	static const char *const values[] = {"domain-controller", "", "par"};
	struct inventory_entry asset = {.host = "dc01.corp.example",
	    .ntags = 3,
	    .tag_names = names,
	    .tag_values = values};
	struct event_record e;
	struct json j;
	struct jv v;

	memset(&e, 0, sizeof(e));
	e.reason = REASON_HOST_MISMATCH;
	e.interception = "transparent";
	e.source_ip = "10.0.0.5";
	e.source_port = 50123;
	e.source_domain = asset.host;
	e.asset = &asset;
	e.orig_ip = "192.0.2.66";
	e.orig_port = 80;
	e.host_mismatch = true;
	json_init(&j);
	event_format(&j, &e);
	CHECKF(jv_parse_line(&v, j.buf, j.len), "invalid JSON: %s", v.error);
	CHECK(jv_is(&v, "event.reason", "\"host_mismatch\""));
	CHECK(jv_is(&v, "ocspgate.interception", "\"transparent\""));
	CHECK(jv_is(&v, "ocspgate.original_destination.ip", "\"192.0.2.66\""));
	CHECK(jv_is(&v, "ocspgate.original_destination.port", "80"));
	CHECK(jv_is(&v, "ocspgate.host_mismatch", "true"));
	CHECK(jv_is(&v, "source.domain", "\"dc01.corp.example\""));
	CHECK(jv_is(&v, "ocspgate.asset.host", "\"dc01.corp.example\""));
	CHECK(jv_is(&v, "ocspgate.asset.role", "\"domain-controller\""));
	CHECK(jv_get(&v, "ocspgate.asset.owner") == NULL); /* empty: left out */
	CHECK(jv_is(&v, "ocspgate.asset.site", "\"par\""));

	/* Explicit requests carry none of them. */
	memset(&e, 0, sizeof(e));
	e.reason = REASON_PROXY_PROTOCOL;
	e.interception = "explicit";
	e.source_ip = "10.0.0.5";
	event_format(&j, &e);
	CHECKF(jv_parse_line(&v, j.buf, j.len), "invalid JSON: %s", v.error);
	CHECK(jv_is(&v, "event.reason", "\"proxy_protocol_invalid\""));
	CHECK(jv_is(&v, "event.action", "\"block\""));
	CHECK(jv_get(&v, "ocspgate.original_destination") == NULL);
	CHECK(jv_get(&v, "ocspgate.host_mismatch") == NULL);
	CHECK(jv_get(&v, "ocspgate.asset") == NULL);
	CHECK(jv_get(&v, "source.domain") == NULL);
	json_free(&j);
}

static void
test_reuse(void)
{
	struct event_record e;
	struct json j;
	struct jv v;
	const struct jv_entry *x;

	memset(&e, 0, sizeof(e));
	e.interception = "explicit";
	e.source_ip = "10.0.0.1";
	e.source_port = 2;
	e.reason = REASON_UPSTREAM_TIMEOUT;
	e.status = 504;
	json_init(&j);
	event_format(&j, &e);
	e.reason = REASON_UPSTREAM_UNREACHABLE;
	e.status = 502;
	event_format(&j, &e);
	CHECK(jv_parse_line(&v, j.buf, j.len));
	x = jv_get(&v, "event.reason");
	CHECK(x != NULL && x->len == 22 &&
	    memcmp(x->v, "\"upstream_unreachable\"", 22) == 0);
	x = jv_get(&v, "http.response.status_code");
	CHECK(x != NULL && x->len == 3 && memcmp(x->v, "502", 3) == 0);
	json_free(&j);
}

/*
 * A connection's source and asset written once (event_fragments_new())
 * give the very line event_format() writes from the record's fields,
 * byte for byte, with and without a port, a name, an asset, hostile
 * bytes in them, and whatever else the line holds.
 */
static void
test_fragments(void)
{
	static const char *const names[] = {"role", "owner"};
	static const char *const values[] = {"dc", ""};
	static const char *const odd[] = {"site"}; /* names are checked */
	static const char *const oddv[] = {"\x01\xff\n"};
	struct inventory_entry asset = {.host = "dc01.corp.example",
	    .ntags = 2,
	    .tag_names = names,
	    .tag_values = values};
	struct inventory_entry hostile = {
	    .host = "", .ntags = 1, .tag_names = odd, .tag_values = oddv};
	static const struct {
		const char *ip;
		uint16_t port;
		const char *domain;
		int asset; /* 0 none, 1 asset, 2 hostile */
		int status;
	} t[] = {
	    {"10.0.0.5", 50123, NULL, 0, 200},
	    {"10.0.0.5", 0, NULL, 0, 403},
	    {"2001:db8::1", 443, "ws7.corp.example", 0, 200},
	    {"10.0.0.5", 50123, "dc01.corp.example", 1, 0},
	    {"10.0.0.5", 1, NULL, 1, 502},
	    {"192.0.2.1", 65535, "a\"b\\c\x01", 2, 200},
	    {"ffff:ffff:ffff:ffff:ffff:ffff:255.255.255.255", 9, NULL, 0, 200},
	};
	struct json j, scratch;
	char *whole;
	size_t whole_len;

	json_init(&j);
	json_init(&scratch);
	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		struct event_record e;
		struct event_fragments *f;
		struct jv v;

		memset(&e, 0, sizeof(e));
		e.reason = t[i].status == 200 ? REASON_OCSP_REQUEST
		                              : REASON_UNKNOWN_RESPONDER;
		e.allow = t[i].status == 200;
		e.interception = "explicit";
		e.status = t[i].status;
		e.source_ip = t[i].ip;
		e.source_port = t[i].port;
		e.source_domain = t[i].domain;
		e.asset = t[i].asset == 1 ? &asset
		    : t[i].asset == 2     ? &hostile
		                          : NULL;
		e.dest_host = (struct http_span){"ocsp.ca.test", 12};
		e.dest_port = 80;
		e.method = (struct http_span){"GET", 3};
		event_format(&j, &e);
		CHECKF(!j.failed, "case %zu", i);
		whole = malloc(j.len);
		CHECK(whole != NULL);
		memcpy(whole, j.buf, j.len);
		whole_len = j.len;

		f = event_fragments_new(
		    &scratch, t[i].ip, t[i].port, t[i].domain, e.asset);
		CHECKF(f != NULL, "case %zu", i);
		CHECK(strcmp(f->ip, t[i].ip) == 0);
		CHECK(t[i].domain == NULL ? f->domain == NULL
		                          : f->domain != NULL &&
		            strcmp(f->domain, t[i].domain) == 0);
		e.fragments = f;
		event_format(&j, &e);
		CHECKF(!j.failed && j.len == whole_len &&
		        memcmp(j.buf, whole, whole_len) == 0,
		    "case %zu: with fragments:\n%.*s\nwithout:\n%.*s", i,
		    (int)j.len, j.buf, (int)whole_len, whole);
		CHECKF(jv_parse_line(&v, j.buf, j.len), "invalid JSON: %s",
		    v.error);
		free(f);
		free(whole);
	}
	/* An address longer than any address: refused, not truncated. */
	CHECK(event_fragments_new(&scratch,
	          "0123456789012345678901234567890123456789012345", 1, NULL,
	          NULL) == NULL);
	json_free(&scratch);
	json_free(&j);
}

/* The parser itself: it must refuse what is not strict JSON. */
static void
test_validator(void)
{
	static const char *const good[] = {
	    "{}\n",
	    "{\"a\":[1,-0,2.5e-3,true,false,null,\"\\u00e9\\ud83d\\ude00\"]}\n",
	    "{\"a\":{\"b\":{}},\"c\":[]}\n",
	};
	static const char *const bad[] = {
	    "{}",
	    "{}\n\n",
	    "{\"a\":1,}\n",
	    "{\"a\":01}\n",
	    "{\"a\":1.}\n",
	    "{\"a\":\"\x01\"}\n",
	    "{\"a\":\"\\x\"}\n",
	    "{\"a\":\"\\ud800\"}\n",
	    "{\"a\":\"\xff\"}\n",
	    "{\"a\":\"\xc0\xaf\"}\n",
	    "{\"a\":1,\"a\":2}\n",
	    "{\"a\" 1}\n",
	    "{\"a\":tru}\n",
	    "[1]\n",
	    "{}x\n",
	};
	struct jv v;

	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++)
		CHECKF(jv_parse_line(&v, good[i], strlen(good[i])),
		    "validator refuses %s (%s)", good[i], v.error);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		CHECKF(!jv_parse_line(&v, bad[i], strlen(bad[i])),
		    "validator accepts %s", bad[i]);
}

/* The mode names the event line uses. */
static void
test_mode_names(void)
{
	CHECK(strcmp(mode_name(MODE_ENFORCE), "enforce") == 0);
	CHECK(strcmp(mode_name(MODE_MONITOR), "monitor") == 0);
}

/* http.response.bytes and ocspgate.answer: there when set, else left out. */
static void
test_answer_fields(void)
{
	struct event_record e;
	struct json j;
	struct jv v;

	memset(&e, 0, sizeof(e));
	e.reason = REASON_OCSP_REQUEST;
	e.allow = true;
	e.interception = "explicit";
	e.source_ip = "10.0.0.5";
	e.status = 200;
	e.response_body_bytes = 1500;
	e.response_bytes = 1612;
	e.answer_dropped_fields = 3;
	e.answer_dropped_bytes = 61440;
	e.unknown_extensions = 2;
	json_init(&j);
	event_format(&j, &e);
	CHECKF(jv_parse_line(&v, j.buf, j.len), "invalid JSON: %s", v.error);
	CHECK(jv_is(&v, "http.response.status_code", "200"));
	CHECK(jv_is(&v, "http.response.body.bytes", "1500"));
	CHECK(jv_is(&v, "http.response.bytes", "1612"));
	CHECK(jv_is(&v, "ocspgate.answer.dropped_fields", "3"));
	CHECK(jv_is(&v, "ocspgate.answer.dropped_bytes", "61440"));
	CHECK(jv_is(&v, "ocspgate.unknown_extensions", "2"));

	e.response_bytes = 0;
	e.answer_dropped_fields = 0;
	e.unknown_extensions = 0;
	event_format(&j, &e);
	CHECKF(jv_parse_line(&v, j.buf, j.len), "invalid JSON: %s", v.error);
	CHECK(jv_get(&v, "http.response.bytes") == NULL);
	CHECK(jv_get(&v, "ocspgate.answer") == NULL);
	CHECK(jv_get(&v, "ocspgate.unknown_extensions") == NULL);
	json_free(&j);
}

/*
 * ECS categorization: event.type says what happened on the wire,
 * event.outcome whether the gate did what it decided.
 */
static void
test_classification(void)
{
	static const struct {
		const char *name;
		bool allow, enforced, failed, http;
		enum reason reason;
		const char *type[3]; /* raw JSON, NULL: absent */
		const char *outcome;
	} rows[] = {
	    {"allowed", true, true, false, true, REASON_OCSP_REQUEST,
	        {"\"allowed\"", "\"connection\"", "\"protocol\""},
	        "\"success\""},
	    {"allowed, upstream down", true, true, true, true,
	        REASON_UPSTREAM_UNREACHABLE,
	        {"\"allowed\"", "\"connection\"", "\"protocol\""},
	        "\"failure\""},
	    {"refused", false, true, false, true, REASON_NOT_OCSP,
	        {"\"denied\"", "\"connection\"", "\"protocol\""},
	        "\"success\""},
	    {"monitor forwarded", false, false, false, true, REASON_NOT_OCSP,
	        {"\"allowed\"", "\"connection\"", "\"protocol\""},
	        "\"success\""},
	    {"monitor forwarded, answer refused", false, false, true, true,
	        REASON_UNKNOWN_RESPONDER,
	        {"\"allowed\"", "\"connection\"", "\"protocol\""},
	        "\"failure\""},
	    {"connection closed unheard", false, true, false, false,
	        REASON_CONNECTION_LIMIT, {"\"denied\"", "\"connection\"", NULL},
	        "\"success\""},
	    {"refused before a verdict", false, true, true, false,
	        REASON_UPSTREAM_UNREACHABLE,
	        {"\"denied\"", "\"connection\"", NULL}, "\"failure\""},
	};
	struct event_record e;
	struct json j;
	struct jv v;
	char path[32];

	json_init(&j);
	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		memset(&e, 0, sizeof(e));
		e.allow = rows[i].allow;
		e.enforced = rows[i].enforced;
		e.failed = rows[i].failed;
		e.reason = rows[i].reason;
		e.interception = "explicit";
		e.source_ip = "10.0.0.1";
		if (rows[i].http)
			e.method = sp("POST");
		event_format(&j, &e);
		if (!jv_parse_line(&v, j.buf, j.len)) {
			CHECKF(false, "%s: invalid JSON (%s)", rows[i].name,
			    v.error);
			continue;
		}
		for (size_t t = 0; t < 3; t++) {
			(void)snprintf(
			    path, sizeof(path), "event.type[%zu]", t);
			CHECKF(rows[i].type[t] == NULL
			        ? jv_get(&v, path) == NULL
			        : jv_is(&v, path, rows[i].type[t]),
			    "%s: %s", rows[i].name, path);
		}
		CHECKF(jv_get(&v, "event.type[3]") == NULL, "%s", rows[i].name);
		CHECKF(jv_is(&v, "event.outcome", rows[i].outcome),
		    "%s: outcome", rows[i].name);
		CHECKF(jv_is(&v, "event.action",
		           rows[i].allow ? "\"allow\"" : "\"block\""),
		    "%s: action", rows[i].name);
		/* ECS: network.protocol goes with the protocol type. */
		CHECKF((jv_get(&v, "network.protocol") != NULL) == rows[i].http,
		    "%s: network.protocol", rows[i].name);
		CHECK(jv_is(&v, "network.transport", "\"tcp\""));
	}
	json_free(&j);
}

/*
 * What a fetch brought back: an issuer certificate in ECS's file.x509
 * (serial in uppercase hex), a CRL under ocspgate.crl; no top-level
 * x509, crl or ocsp object.
 */
static void
test_fetched_facts(void)
{
	struct fetch_cert_facts cert;
	struct fetch_crl_facts crl;
	static const unsigned char thumb[20] = {0xde, 0xad, 0xbe, 0xef};
	struct event_record e;
	struct json j;
	struct jv v;

	memset(&cert, 0, sizeof(cert));
	(void)snprintf(cert.subject, sizeof(cert.subject), "CN=Sub CA");
	(void)snprintf(cert.issuer, sizeof(cert.issuer), "CN=Root CA");
	cert.serial_len = unhex("c0ffee42", cert.serial);
	cert.count = 1;
	memset(&crl, 0, sizeof(crl));
	(void)snprintf(crl.issuer, sizeof(crl.issuer), "CN=Root CA");
	crl.number_len = unhex("10ab", crl.number);
	(void)snprintf(
	    crl.this_update, sizeof(crl.this_update), "2026-11-26T19:00:00Z");
	crl.entries = 3;

	memset(&e, 0, sizeof(e));
	e.reason = REASON_CA_ISSUER_REQUEST;
	e.allow = e.enforced = true;
	e.interception = "explicit";
	e.source_ip = "10.0.0.1";
	e.cert = &cert;
	e.ctl_thumbprint = thumb;
	json_init(&j);
	event_format(&j, &e);
	CHECKF(jv_parse_line(&v, j.buf, j.len), "invalid JSON: %s", v.error);
	CHECK(
	    jv_is(&v, "file.x509.subject.distinguished_name", "\"CN=Sub CA\""));
	CHECK(
	    jv_is(&v, "file.x509.issuer.distinguished_name", "\"CN=Root CA\""));
	CHECK(jv_is(&v, "file.x509.serial_number", "\"C0FFEE42\""));
	CHECK(jv_is(&v, "ocspgate.ca_issuer.certificates", "1"));
	CHECK(jv_is(&v, "ocspgate.ca_issuer.format", "\"x509\""));
	CHECK(jv_is(&v, "ocspgate.ctl.thumbprint",
	    "\"DEADBEEF00000000000000000000000000000000\""));
	CHECK(jv_get(&v, "x509") == NULL);

	e.reason = REASON_CRL_REQUEST;
	e.cert = NULL;
	e.ctl_thumbprint = NULL;
	e.crl = &crl;
	event_format(&j, &e);
	CHECKF(jv_parse_line(&v, j.buf, j.len), "invalid JSON: %s", v.error);
	CHECK(jv_is(&v, "ocspgate.crl.issuer", "\"CN=Root CA\""));
	CHECK(jv_is(&v, "ocspgate.crl.number", "\"10AB\""));
	CHECK(
	    jv_is(&v, "ocspgate.crl.this_update", "\"2026-11-26T19:00:00Z\""));
	CHECK(jv_get(&v, "ocspgate.crl.next_update") == NULL);
	CHECK(jv_is(&v, "ocspgate.crl.entries", "3"));
	CHECK(jv_is(&v, "ocspgate.crl.format", "\"der\""));
	CHECK(jv_get(&v, "crl") == NULL && jv_get(&v, "file") == NULL);
	json_free(&j);
}

/* related: each address and name once, source first. */
static void
test_related(void)
{
	static const char nul_host[] = "a\0b.test";
	struct event_record e;
	struct json j;
	struct jv v;

	memset(&e, 0, sizeof(e));
	e.reason = REASON_OCSP_REQUEST;
	e.allow = e.enforced = true;
	e.interception = "transparent";
	e.source_ip = "127.0.0.1";
	e.source_domain = "client.corp";
	e.dest_host = sp("ocsp.test");
	e.dest_ip = "127.0.0.1"; /* the same address: once */
	e.orig_ip = "192.0.2.66";
	json_init(&j);
	event_format(&j, &e);
	CHECKF(jv_parse_line(&v, j.buf, j.len), "invalid JSON: %s", v.error);
	CHECK(jv_is(&v, "related.ip[0]", "\"127.0.0.1\""));
	CHECK(jv_is(&v, "related.ip[1]", "\"192.0.2.66\""));
	CHECK(jv_get(&v, "related.ip[2]") == NULL);
	CHECK(jv_is(&v, "related.hosts[0]", "\"client.corp\""));
	CHECK(jv_is(&v, "related.hosts[1]", "\"ocsp.test\""));

	/* An IPv6 literal target is an address; a name with a NUL byte from
	 * the wire is in destination.domain (escaped) but no related host. */
	e.dest_ip = NULL;
	e.orig_ip = NULL;
	e.source_domain = NULL;
	e.dest_host = sp("2001:db8::1");
	event_format(&j, &e);
	CHECKF(jv_parse_line(&v, j.buf, j.len), "invalid JSON: %s", v.error);
	CHECK(jv_is(&v, "related.ip[1]", "\"2001:db8::1\""));
	CHECK(jv_get(&v, "related.hosts") == NULL);
	e.dest_host.p = nul_host;
	e.dest_host.len = sizeof(nul_host) - 1;
	event_format(&j, &e);
	CHECKF(jv_parse_line(&v, j.buf, j.len), "invalid JSON: %s", v.error);
	CHECK(jv_is(&v, "destination.domain", "\"a\\u0000b.test\""));
	CHECK(jv_get(&v, "related.hosts") == NULL);
	json_free(&j);
}

/*
 * A request event opens with what event_begin() writes for its class:
 * for each verdict, enforcement, outcome, method and version, the line
 * starts with event_begin()'s text for the class docs/event-log.md
 * gives, then ,"ocspgate":.
 */
static void
test_opening_is_event_begin(void)
{
	struct json j, b;

	json_init(&j);
	json_init(&b);
	for (unsigned m = 0; m < 64; m++) {
		struct event_record e;
		struct event_class c;
		bool method = m & 8;

		memset(&e, 0, sizeof(e));
		e.start = (struct timespec){1714564800 + m, 7000000 * m};
		e.duration_ns = 1000003ull * m;
		e.allow = m & 1;
		e.enforced = m & 2;
		e.failed = m & 4;
		e.reason = e.allow
		    ? REASON_OCSP_REQUEST
		    : (m & 16 ? REASON_NONE : REASON_UNKNOWN_RESPONDER);
		e.version = m & 32 ? "1.2.3-\"x\"" : NULL;
		e.interception = "explicit";
		e.source_ip = "192.0.2.1";
		if (method)
			e.method = sp("GET");
		event_format(&j, &e);

		memset(&c, 0, sizeof(c));
		c.kind = "event";
		c.category[0] = "network";
		c.type[0] = !e.allow && e.enforced ? "denied" : "allowed";
		c.type[1] = "connection";
		c.type[2] = method ? "protocol" : NULL;
		c.action = e.allow ? "allow" : "block";
		c.outcome = e.failed ? "failure" : "success";
		c.reason = reason_name(e.reason);
		c.duration_ns = e.duration_ns;
		c.has_duration = true;
		event_begin(&b, &e.start, &c, e.version);
		CHECKF(!j.failed && !b.failed && j.len > b.len + 12 &&
		        memcmp(j.buf, b.buf, b.len) == 0 &&
		        memcmp(j.buf + b.len, ",\"ocspgate\":", 12) == 0,
		    "case %u:\n%s\n%s", m, j.buf, b.buf);
	}
	json_free(&j);
	json_free(&b);
}

/*
 * url.path is url.original's tail, copied from it when the URL needed
 * no escaping: the same text as escaping it alone, whatever the URL.
 */
static void
test_url_path(void)
{
	static const struct {
		const char *url;
		size_t path_at;        /* where the path starts in url */
		const char *want_path; /* its JSON text */
	} cases[] = {
	    {"http://ca.example/ocsp/MFEw%2B", 17, "\"/ocsp/MFEw%2B\""},
	    {"/ocsp/MFEw", 0, "\"/ocsp/MFEw\""},
	    {"http://ca.example/a\"b", 17, "\"/a\\\"b\""},
	    {"http://ca.\xc3\xa9/p\xc3\xa9", 12, "\"/p\xc3\xa9\""},
	    {"http://ca.example/\xc3\xa9", 19, "\"\xef\xbf\xbd\""},
	    {"http://ca\x01/p", 10, "\"/p\""},
	};
	struct json j;

	json_init(&j);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct event_record e;
		struct jv v;
		const struct jv_entry *f;

		memset(&e, 0, sizeof(e));
		e.interception = "explicit";
		e.source_ip = "192.0.2.1";
		e.url = sp(cases[i].url);
		e.path = (struct http_span){cases[i].url + cases[i].path_at,
		    e.url.len - cases[i].path_at};
		event_format(&j, &e);
		CHECKF(!j.failed && jv_parse_line(&v, j.buf, j.len),
		    "case %zu: %s", i, j.buf);
		f = jv_get(&v, "url.path");
		CHECKF(f != NULL && f->len == strlen(cases[i].want_path) &&
		        memcmp(f->v, cases[i].want_path, f->len) == 0,
		    "case %zu: %s", i, j.buf);
	}
	json_free(&j);
}

int
main(void)
{
	test_mode_names();
	test_validator();
	test_allow();
	test_block_minimal();
	test_monitor_ip_literal();
	test_destination();
	test_flags_and_certs();
	test_cert_status();
	test_hostile();
	test_zero_source_port();
	test_interception();
	test_reuse();
	test_fragments();
	test_answer_fields();
	test_classification();
	test_fetched_facts();
	test_related();
	test_opening_is_event_begin();
	test_url_path();
	return check_done();
}
