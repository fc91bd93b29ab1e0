/*
 * Unit tests for suggest.c: the fields read from event lines, how
 * candidate hosts are counted and judged, and the snippet: what it
 * suggests, what it leaves out or comments out and why, that wire text
 * cannot escape its comments, and that ocspgate's config loader takes
 * the snippet as it is.
 */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "ocspgate/config.h"
#include "ocspgate/suggest.h"

/* One event line as ocspgate writes it; NULL or -1 leaves a field out. */
struct t_line {
	const char *ts;
	const char *src;
	const char *cls;
	const char *host;
	int port;
	const char *mode;
	const char *answer;
	int verified;
	const char *detail;
	const char *cdetail;
	const char *path;
};

static size_t
t_format(const struct t_line *l, char *out, size_t cap)
{
	size_t o = 0;

#define PUT(...) (o += (size_t)snprintf(out + o, cap - o, __VA_ARGS__))
	PUT("{\"@timestamp\":\"%s\",\"event\":{\"kind\":\"event\","
	    "\"category\":[\"network\"],\"action\":\"block\","
	    "\"reason\":\"unknown_responder\",\"duration\":1},",
	    l->ts);
	PUT("\"ocspgate\":{\"mode\":\"%s\",\"enforced\":%s,"
	    "\"interception\":\"explicit\"",
	    l->mode, strcmp(l->mode, "monitor") == 0 ? "false" : "true");
	if (l->detail != NULL)
		PUT(",\"detail\":\"%s\"", l->detail);
	if (l->cls != NULL)
		PUT(",\"candidate\":\"%s\"", l->cls);
	if (l->answer != NULL)
		PUT(",\"candidate_answer\":\"%s\"", l->answer);
	if (l->verified >= 0)
		PUT(",\"candidate_verified\":%s",
		    l->verified ? "true" : "false");
	if (l->cdetail != NULL)
		PUT(",\"candidate_detail\":\"%s\"", l->cdetail);
	PUT("},\"source\":{\"ip\":\"%s\",\"port\":40000},", l->src);
	if (strchr(l->host, ':') != NULL)
		PUT("\"destination\":{\"ip\":\"%s\"", l->host);
	else
		PUT("\"destination\":{\"domain\":\"%s\",\"ip\":\"192.0.2.1\"",
		    l->host);
	if (l->port > 0)
		PUT(",\"port\":%d", l->port);
	PUT("},\"http\":{\"request\":{\"method\":\"GET\"}}");
	if (l->path != NULL)
		PUT(",\"url\":{\"original\":\"http://%s%s\",\"path\":\"%s\"}",
		    l->host, l->path, l->path);
	PUT("}");
#undef PUT
	return o;
}

static int
t_parse(const char *line, struct suggest_event *ev)
{
	char scratch[4096];

	return suggest_parse_line(
	    line, strlen(line), scratch, sizeof(scratch), ev);
}

static void
test_parse_line(void)
{
	const struct t_line l = {"2026-11-26T19:00:00.123Z", "10.0.0.5", "crl",
	    "crl.example.test", 8080, "monitor", "valid", 0,
	    "no responder matches", "issuer not in the trust store",
	    "/pki/a.crl"};
	const struct t_line v6 = {"2026-11-26T19:00:00.123Z", "::1", "ocsp",
	    "::1", -1, "enforce", NULL, -1, NULL, NULL, NULL};
	char text[4096], scratch[4096];
	struct suggest_event ev;
	size_t n = t_format(&l, text, sizeof(text));

	CHECK(suggest_parse_line(text, n, scratch, sizeof(scratch), &ev) == 1);
	CHECK(strcmp(ev.timestamp, l.ts) == 0 && ev.request);
	CHECK(ev.candidate == CANDIDATE_CRL && ev.verified == 0);
	CHECK(
	    strcmp(ev.answer, "valid") == 0 && strcmp(ev.mode, "monitor") == 0);
	CHECK(strcmp(ev.detail, "no responder matches") == 0 &&
	    strcmp(ev.candidate_detail, l.cdetail) == 0);
	CHECK(strcmp(ev.source_ip, "10.0.0.5") == 0 &&
	    strcmp(ev.host, "crl.example.test") == 0 && ev.port == 8080 &&
	    strcmp(ev.path, "/pki/a.crl") == 0);

	n = t_format(&v6, text, sizeof(text));
	CHECK(suggest_parse_line(text, n, scratch, sizeof(scratch), &ev) == 1);
	CHECK(strcmp(ev.host, "::1") == 0 && ev.port == 0 &&
	    ev.verified == -1 && ev.answer[0] == '\0');

	/* Other lines: no candidate, another kind, not JSON. */
	CHECK(t_parse("{\"event\":{\"kind\":\"event\"}}", &ev) == 0);
	CHECK(t_parse("{\"event\":{\"kind\":\"alert\"},"
	              "\"ocspgate\":{\"candidate\":\"ocsp\"}}",
	          &ev) == 0);
	CHECK(t_parse("{\"ocspgate\":{\"candidate\":\"web\"},"
	              "\"event\":{\"kind\":\"event\"}}",
	          &ev) == 0);
	CHECK(t_parse("[1]", &ev) == -1);
	CHECK(t_parse("{\"a\":", &ev) == -1);
	CHECK(t_parse("", &ev) == -1);
	/* Odd values are left out, not trusted. */
	CHECK(t_parse("{\"@timestamp\":\"yesterday\","
	              "\"destination\":{\"port\":70000}}",
	          &ev) == 0);
	CHECK(ev.timestamp[0] == '\0' && ev.port == 0);
}

/* The lines the snippet tests feed, in this order. */
static const struct t_line t_lines[] = {
    /* Suggested: valid, verified, from two sources. */
    {"2026-11-20T08:00:00.000Z", "10.0.0.1", "ocsp", "ocsp.a.test", 80,
        "monitor", "valid", 1, NULL, NULL, "/"},
    {"2026-11-21T08:00:00.000Z", "10.0.0.2", "ocsp", "OCSP.A.test.", 80,
        "monitor", "valid", 1, NULL, NULL, "/"},
    {"2026-11-22T08:00:00.000Z", "10.0.0.1", "ocsp", "ocsp.a.test", -1,
        "monitor", "valid", 1, NULL, NULL, "/"},
    /* One answer of two failed. */
    {"2026-11-20T09:00:00.000Z", "10.0.0.1", "ocsp", "ocsp.b.test", 8080,
        "monitor", "valid", 1, NULL, NULL, "/"},
    {"2026-11-20T10:00:00.000Z", "10.0.0.1", "ocsp", "ocsp.b.test", 8080,
        "monitor", "response_malformed", -1, "status is not 200", NULL, "/"},
    /* A CRL host: two files in one directory. */
    {"2026-11-20T11:00:00.000Z", "10.0.0.3", "crl", "crl.c.test", 80, "monitor",
        "valid", 1, NULL, NULL, "/pki/crl/a.crl"},
    {"2026-11-20T12:00:00.000Z", "10.0.0.4", "crl", "crl.c.test", 80, "monitor",
        "valid", 1, NULL, NULL, "/pki/crl/b.crl"},
    /* A CRL whose issuer is not in the trust store. */
    {"2026-11-20T13:00:00.000Z", "10.0.0.3", "crl", "crl.d.test", 80, "monitor",
        "valid", 0, NULL, "issuer not in the trust store", "/d.crl"},
    /* Refused in enforce mode. */
    {"2026-11-20T14:00:00.000Z", "10.0.0.3", "ca_issuer", "aia.e.test", 80,
        "enforce", NULL, -1, NULL, NULL, "/e.crt"},
    /* A trust list. */
    {"2026-11-20T15:00:00.000Z", "10.0.0.3", "ctl", "ctl.f.test", 80, "monitor",
        "valid", -1, NULL, NULL, "/x/authrootstl.cab"},
    /* Only error statuses: nothing signed. */
    {"2026-11-20T16:00:00.000Z", "10.0.0.3", "ocsp", "ocsp.g.test", 80,
        "monitor", "valid", -1, NULL, NULL, "/"},
    /* Listed in the config. */
    {"2026-11-20T17:00:00.000Z", "10.0.0.3", "ocsp", "ocsp.listed.test", 80,
        "monitor", "valid", 1, NULL, NULL, "/"},
    /* Listed with a path prefix only. */
    {"2026-11-20T17:30:00.000Z", "10.0.0.3", "crl", "pki.corp.test", 80,
        "monitor", "valid", 1, NULL, NULL, "/Other/x.crl"},
    /* An address literal. */
    {"2026-11-20T18:00:00.000Z", "::1", "ocsp", "::1", 8080, "monitor", "valid",
        1, NULL, NULL, "/"},
    /* Never answered. */
    {"2026-11-20T19:00:00.000Z", "10.0.0.3", "crl", "crl.h.test", 80, "monitor",
        "upstream_unreachable", -1, "Connection refused", NULL, "/h.crl"},
    /* Wire text trying to leave its comment or the string. */
    {"2026-11-20T20:00:00.000Z", "10.0.0.3", "ocsp", "ocsp.i.test", 80,
        "monitor", "response_malformed", -1, "x\\nmode = \\\"monitor\\\";\\n# ",
        NULL, "/"},
    {"2026-11-20T21:00:00.000Z", "10.0.0.3", "ocsp",
        "evil.test\\\";mode=\\\"monitor", 80, "monitor", "valid", 1, NULL, NULL,
        "/"},
};

static char *
t_snippet(struct suggest *sg, const struct config *cfg)
{
	char *out = NULL;
	size_t len = 0;

	if (suggest_format(sg, cfg, &out, &len) == -1 || strlen(out) != len) {
		CHECK(false);
		free(out);
		return NULL;
	}
	return out;
}

/* The comment block before the entry "<spec>" or after "# LIST: <spec>". */
static bool
t_has(const char *text, const char *needle)
{
	bool ok = strstr(text, needle) != NULL;

	if (!ok)
		fprintf(stderr, "missing: %s\n", needle);
	return ok;
}

static void
test_snippet(void)
{
	static const char base[] =
	    "listen = [ \"127.0.0.1:0\" ];\n"
	    "responders = ( \"ocsp.listed.test\" );\n"
	    "crl_hosts = ( \"pki.corp.test/CertEnroll\" );\n";
	struct suggest *sg = suggest_new();
	struct config *cfg, *pasted;
	char text[4096], err[2048], *out, *conf;
	size_t n;

	CHECK(sg != NULL);
	for (size_t i = 0; i < sizeof(t_lines) / sizeof(t_lines[0]); i++) {
		int rc;

		n = t_format(&t_lines[i], text, sizeof(text));
		rc = suggest_add_line(sg, text, n);
		CHECKF(rc == 1, "line %zu: %d", i, rc);
	}
	CHECK(suggest_add_line(sg, "not json", 8) == -1);
	CHECK(suggest_add_line(sg, "{\"metric\":1}", 12) == 0);
	cfg = config_load_string("base.conf", base, err, sizeof(err));
	CHECKF(cfg != NULL, "%s", err);
	if ((out = t_snippet(sg, cfg)) == NULL)
		return;

	CHECK(t_has(out,
	    "# ocspgate -S: 19 event lines read (1 unreadable), "
	    "2026-11-20T08:00:00.000Z .. "
	    "2026-11-22T08:00:00.000Z\n"));
	CHECK(t_has(out,
	    "# 17 candidate requests to 12 hosts; 3 suggested, "
	    "1 already listed (left out)\n"));
	CHECK(t_has(out,
	    "# 1 candidate request named a host no list can "
	    "hold (left out)\n"));
	/* The suggested hosts, most requests first, with their figures. */
	CHECK(t_has(out,
	    "\nresponders = (\n"
	    "\t# 3 requests from 2 sources, 2026-11-20T08:00:00.000Z .. "
	    "2026-11-22T08:00:00.000Z;\n"
	    "\t#   answers: 3 valid; signature verified in 3 of 3\n"
	    "\t\"ocsp.a.test\",\n"
	    "\t# 1 request from 1 source, 2026-11-20T18:00:00.000Z .. "
	    "2026-11-20T18:00:00.000Z;\n"
	    "\t#   answers: 1 valid; signature verified in 1 of 1\n"
	    "\t\"[::1]:8080\"\n"
	    ");\n"));
	CHECK(t_has(out,
	    "\ncrl_hosts = (\n"
	    "\t# 2 requests from 2 sources, 2026-11-20T11:00:00.000Z .. "
	    "2026-11-20T12:00:00.000Z;\n"
	    "\t#   answers: 2 valid; signature verified in 2 of 2; paths "
	    "under /pki/crl\n"
	    "\t\"crl.c.test\"\n"
	    ");\n"));
	CHECK(strstr(out, "ca_issuer_hosts =") == NULL);
	CHECK(strstr(out, "ctl_hosts =") == NULL);
	CHECK(strstr(out, "ocsp.listed.test") == NULL);
	/* The others, commented out, each with why. */
	CHECK(t_has(out, "# responders: \"ocsp.b.test:8080\"\n"));
	CHECK(t_has(out,
	    "#   answers: 1 valid, 1 failed; signature verified "
	    "in 1 of 1\n"
	    "#   not suggested: 1 of 2 answers failed inspection, "
	    "the last: response_malformed: status is not 200\n"));
	CHECK(t_has(out, "# crl_hosts: \"crl.d.test\"\n"));
	CHECK(t_has(out,
	    "#   not suggested: signature not verified in 1 of 1 "
	    "answers: issuer not in the trust store\n"));
	CHECK(t_has(out, "# ca_issuer_hosts: \"aia.e.test\"\n"));
	CHECK(t_has(out,
	    "#   answers: 0 valid, 1 refused (enforce)\n"
	    "#   not suggested: refused in enforce mode"));
	CHECK(t_has(out, "# ctl_hosts: \"ctl.f.test\"\n"));
	CHECK(t_has(out, "not suggested: trust lists carry no signature"));
	CHECK(t_has(out, "# responders: \"ocsp.g.test\"\n"));
	CHECK(t_has(out, "not suggested: no signed answer to verify"));
	CHECK(t_has(out, "# crl_hosts: \"pki.corp.test\"\n"));
	CHECK(t_has(out,
	    "not suggested: listed only with a path prefix "
	    "(\"pki.corp.test/CertEnroll\")"));
	CHECK(t_has(out, "# crl_hosts: \"crl.h.test\"\n"));
	CHECK(t_has(out,
	    "#   answers: 0 valid, 1 unreachable\n"
	    "#   not suggested: no answer to judge, the last "
	    "try: upstream_unreachable: Connection refused\n"));
	/* Wire text stays inside its comment. */
	CHECK(t_has(out,
	    "the last: response_malformed: x?mode = "
	    "\"monitor\";?# \n"));
	for (const char *p = out; *p != '\0'; p++)
		CHECKF((*p >= 0x20 && *p < 0x7f) || *p == '\n' || *p == '\t',
		    "byte 0x%02x", (unsigned char)*p);

	/* Pasted into a config: the loader takes it, with these hosts. */
	n = strlen(out) + 64;
	conf = malloc(n);
	snprintf(conf, n, "listen = [ \"127.0.0.1:0\" ];\n%s", out);
	pasted = config_load_string("pasted.conf", conf, err, sizeof(err));
	CHECKF(pasted != NULL, "%s\n%s", err, conf);
	if (pasted != NULL) {
		CHECK(pasted->mode == MODE_ENFORCE);
		CHECK(pasted->nresponders == 2 &&
		    strcmp(pasted->responders[0].spec, "ocsp.a.test") == 0 &&
		    strcmp(pasted->responders[1].host, "::1") == 0 &&
		    pasted->responders[1].port == 8080);
		CHECK(pasted->ncrl_hosts == 1 &&
		    strcmp(pasted->crl_hosts[0].spec, "crl.c.test") == 0);
		CHECK(pasted->nca_issuer_hosts == 0 && pasted->nctl_hosts == 0);
	}
	config_unref(pasted);
	free(conf);
	free(out);

	/* Without a config nothing counts as listed. */
	if ((out = t_snippet(sg, NULL)) != NULL) {
		CHECK(t_has(out, "5 suggested, 0 already listed"));
		CHECK(t_has(out, "\t\"ocsp.listed.test\""));
		free(out);
	}
	config_unref(cfg);
	suggest_free(sg);
}

/* Nothing to suggest: comments only, still a valid config text. */
static void
test_empty(void)
{
	struct suggest *sg = suggest_new();
	char *out, conf[4096], err[512];
	struct config *c;

	CHECK(
	    suggest_add_line(sg, "{\"event\":{\"kind\":\"metric\"}}", 27) == 0);
	if ((out = t_snippet(sg, NULL)) == NULL)
		return;
	CHECK(t_has(out,
	    "# ocspgate -S: 1 event line read (0 unreadable), "
	    "? .. ?\n"));
	CHECK(t_has(out,
	    "# No candidate in these lines: nothing to "
	    "suggest.\n"));
	snprintf(conf, sizeof(conf), "listen = [ \"127.0.0.1:0\" ];\n%s", out);
	c = config_load_string("empty.conf", conf, err, sizeof(err));
	CHECKF(c != NULL, "%s", err);
	config_unref(c);
	free(out);
	suggest_free(sg);
}

/* Bounds: sources counted up to SUGGEST_MAX_SOURCES, hosts kept up to
 * SUGGEST_MAX_HOSTS; the rest is counted, not stored. */
static void
test_bounds(void)
{
	struct suggest *sg = suggest_new();
	struct t_line l = {"2026-11-20T08:00:00.000Z", NULL, "ocsp",
	    "ocsp.many.test", 80, "monitor", "valid", 1, NULL, NULL, "/"};
	char text[4096], ip[64], host[64], *out;

	for (unsigned i = 0; i < SUGGEST_MAX_SOURCES + 10; i++) {
		snprintf(ip, sizeof(ip), "10.%u.%u.%u", i >> 16 & 255,
		    i >> 8 & 255, i & 255);
		l.src = ip;
		CHECK(suggest_add_line(
		          sg, text, t_format(&l, text, sizeof(text))) == 1);
	}
	l.src = "10.9.9.9";
	for (unsigned i = 0; i < SUGGEST_MAX_HOSTS + 5; i++) {
		snprintf(host, sizeof(host), "h%u.many.test", i);
		l.host = host;
		CHECK(suggest_add_line(
		          sg, text, t_format(&l, text, sizeof(text))) == 1);
	}
	if ((out = t_snippet(sg, NULL)) == NULL)
		return;
	CHECK(t_has(out, "\t# 1034 requests from 1024+ sources, "));
	CHECK(t_has(out,
	    "# 6 candidate requests past 4096 hosts not "
	    "counted\n"));
	free(out);
	suggest_free(sg);
}

int
main(void)
{
	test_parse_line();
	test_snippet();
	test_empty();
	test_bounds();
	return check_done();
}
