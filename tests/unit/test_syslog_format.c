/*
 * Unit tests for RFC 5424 formatting: exact messages, NILVALUEs, field
 * limits and replacement, octet counting, buffer limits; the syslog
 * target syntax; facility and severity names.
 */
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "check.h"
#include "ocspgate/syslog_format.h"

#define S(lit) lit, sizeof(lit) - 1

/* 2026-11-26T19:00:00Z */
#define T_2026 1795719600

static const struct timespec ts_2026 = {T_2026, 123456789};

/* Formats into a buffer of <cap> and compares with <want> exactly. */
static void
check_format_line(int line, size_t cap, int fac, int sev,
    const struct timespec *ts, const char *host, const char *app, long pid,
    const char *msgid, const char *msg, size_t msglen, bool oc,
    const char *want)
{
	char buf[2048];
	size_t n;

	if (cap > sizeof(buf))
		cap = sizeof(buf);
	n = syslog_format(
	    buf, cap, fac, sev, ts, host, app, pid, msgid, msg, msglen, oc);
	CHECKF(n == strlen(want) && memcmp(buf, want, n) == 0,
	    "line %d: got %zu \"%.*s\", want \"%s\"", line, n, (int)n, buf,
	    want);
}

#define FMT(...) check_format_line(__LINE__, __VA_ARGS__)

static void
test_exact(void)
{
	FMT(2048, 16, 6, &ts_2026, "gw1", "ocspgate", 4242, "event",
	    S("{\"a\":1}\n"), false,
	    "<134>1 2026-11-26T19:00:00.123456Z gw1 ocspgate 4242 event - "
	    "{\"a\":1}");
	/* Without a trailing newline the message is the same. */
	FMT(2048, 16, 6, &ts_2026, "gw1", "ocspgate", 4242, "event",
	    S("{\"a\":1}"), false,
	    "<134>1 2026-11-26T19:00:00.123456Z gw1 ocspgate 4242 event - "
	    "{\"a\":1}");
	/* Every header field absent, no MSG: no trailing space. */
	FMT(2048, 0, 0, NULL, NULL, "", -1, NULL, NULL, 0, false,
	    "<0>1 - - - - - -");
	FMT(2048, 23, 7, NULL, "", NULL, 0, "", S("\n"), false,
	    "<191>1 - - - 0 - -");
	FMT(2048, 3, 4, &ts_2026, "h", "a", 1, "m", S("x"), false,
	    "<28>1 2026-11-26T19:00:00.123456Z h a 1 m - x");
	/* Only one newline is stripped; other bytes pass as they are. */
	FMT(2048, 1, 6, NULL, "h", "a", 1, "m", S("x\n\n"), false,
	    "<14>1 - h a 1 m - x\n");
	FMT(2048, 1, 6, NULL, "h", "a", 1, "m", S("\xc3\xa9\x01\xff"), false,
	    "<14>1 - h a 1 m - \xc3\xa9\x01\xff");
	FMT(2048, 1, 6, NULL, "h", "a", LONG_MAX, "m", S("x"), false,
	    "<14>1 - h a 9223372036854775807 m - x");
}

static void
test_msg_with_nul(void)
{
	static const char msg[] = "a\0b";
	static const char want[] = "<14>1 - - - - - - a\0b";
	char buf[64];
	size_t n;

	n = syslog_format(buf, sizeof(buf), 1, 6, NULL, NULL, NULL, -1, NULL,
	    msg, sizeof(msg) - 1, false);
	CHECK(n == sizeof(want) - 1 && memcmp(buf, want, n) == 0);
}

static void
test_timestamp(void)
{
	struct timespec ts;

	ts.tv_sec = 0;
	ts.tv_nsec = 0;
	FMT(2048, 1, 6, &ts, NULL, NULL, -1, NULL, NULL, 0, false,
	    "<14>1 1970-01-01T00:00:00.000000Z - - - - -");
	ts.tv_sec = T_2026 + 59;
	ts.tv_nsec = 999999999;
	FMT(2048, 1, 6, &ts, NULL, NULL, -1, NULL, NULL, 0, false,
	    "<14>1 2026-11-26T19:00:59.999999Z - - - - -");
	ts.tv_nsec = 999; /* below a microsecond */
	FMT(2048, 1, 6, &ts, NULL, NULL, -1, NULL, NULL, 0, false,
	    "<14>1 2026-11-26T19:00:59.000000Z - - - - -");
	/* Leap day. */
	ts.tv_sec = 1709164800 + 3600 * 23 + 60 * 59 + 58;
	ts.tv_nsec = 1000;
	FMT(2048, 1, 6, &ts, NULL, NULL, -1, NULL, NULL, 0, false,
	    "<14>1 2024-02-29T23:59:58.000001Z - - - - -");
	/* Not representable: NILVALUE. */
	ts.tv_sec = T_2026;
	ts.tv_nsec = 1000000000L;
	FMT(2048, 1, 6, &ts, NULL, NULL, -1, NULL, NULL, 0, false,
	    "<14>1 - - - - - -");
	ts.tv_nsec = -1;
	FMT(2048, 1, 6, &ts, NULL, NULL, -1, NULL, NULL, 0, false,
	    "<14>1 - - - - - -");
	ts.tv_sec = 253402300800LL; /* 10000-01-01 */
	ts.tv_nsec = 0;
	FMT(2048, 1, 6, &ts, NULL, NULL, -1, NULL, NULL, 0, false,
	    "<14>1 - - - - - -");
	ts.tv_sec = 253402300799LL; /* 9999-12-31T23:59:59 */
	FMT(2048, 1, 6, &ts, NULL, NULL, -1, NULL, NULL, 0, false,
	    "<14>1 9999-12-31T23:59:59.000000Z - - - - -");
}

static void
test_bad_pri(void)
{
	char buf[256];

	CHECK(syslog_format(buf, sizeof(buf), 24, 0, NULL, NULL, NULL, -1, NULL,
	          S("x"), false) == 0);
	CHECK(syslog_format(buf, sizeof(buf), -1, 0, NULL, NULL, NULL, -1, NULL,
	          S("x"), false) == 0);
	CHECK(syslog_format(buf, sizeof(buf), 0, 8, NULL, NULL, NULL, -1, NULL,
	          S("x"), false) == 0);
	CHECK(syslog_format(buf, sizeof(buf), 0, -1, NULL, NULL, NULL, -1, NULL,
	          S("x"), false) == 0);
}

static void
test_fields(void)
{
	char host[400], app[100], msgid[100], want[1024];

	/* Cut to the RFC 5424 lengths: 255, 48, 32. */
	memset(host, 'h', sizeof(host) - 1);
	host[sizeof(host) - 1] = '\0';
	memset(app, 'a', sizeof(app) - 1);
	app[sizeof(app) - 1] = '\0';
	memset(msgid, 'm', sizeof(msgid) - 1);
	msgid[sizeof(msgid) - 1] = '\0';
	(void)snprintf(want, sizeof(want), "<14>1 - %.255s %.48s 7 %.32s - x",
	    host, app, msgid);
	FMT(2048, 1, 6, NULL, host, app, 7, msgid, S("x"), false, want);
	/* Exactly at the limits: kept whole. */
	host[255] = '\0';
	app[48] = '\0';
	msgid[32] = '\0';
	FMT(2048, 1, 6, NULL, host, app, 7, msgid, S("x"), false, want);

	/* Bytes outside 33..126 become '_', one per byte. */
	FMT(2048, 1, 6, NULL, "h\xc3\xa9te", "a b", 7, "m\x7f\t!~", S("x"),
	    false, "<14>1 - h__te a_b 7 m__!~ - x");
	FMT(2048, 1, 6, NULL, "\x80", "\x1b", 7, " ", NULL, 0, false,
	    "<14>1 - _ _ 7 _ -");
}

static void
test_octet_count(void)
{
	static const char rest[] =
	    "<134>1 2026-11-26T19:00:00.123456Z gw1 ocspgate 4242 event - "
	    "{\"a\":1}";
	char want[256], buf[256], big[1200];
	size_t n, len;

	(void)snprintf(want, sizeof(want), "%zu %s", strlen(rest), rest);
	CHECK(strncmp(want, "68 <134>1", 9) == 0);
	FMT(2048, 16, 6, &ts_2026, "gw1", "ocspgate", 4242, "event",
	    S("{\"a\":1}\n"), true, want);
	FMT(2048, 0, 0, NULL, NULL, NULL, -1, NULL, NULL, 0, true,
	    "16 <0>1 - - - - - -");

	/* A length of four digits: the prefix counts only the rest. */
	memset(big, 'x', sizeof(big));
	n = syslog_format(
	    buf, 0, 1, 6, NULL, NULL, NULL, -1, NULL, big, sizeof(big), true);
	CHECK(n == 0);
	{
		char out[1300];
		size_t rest_len = strlen("<14>1 - - - - - - ") + sizeof(big);

		n = syslog_format(out, sizeof(out), 1, 6, NULL, NULL, NULL, -1,
		    NULL, big, sizeof(big), true);
		len = (size_t)snprintf(want, sizeof(want), "%zu ", rest_len);
		CHECK(n == len + rest_len);
		CHECK(memcmp(out, want, len) == 0);
		CHECK(memcmp(out + len, "<14>1 - - - - - - xxx", 21) == 0);
	}
}

static void
test_cap(void)
{
	static const char want[] = "<14>1 - h a 1 m - hello";
	char buf[64];
	size_t len = sizeof(want) - 1, n;

	memset(buf, '#', sizeof(buf));
	n = syslog_format(
	    buf, len, 1, 6, NULL, "h", "a", 1, "m", S("hello"), false);
	CHECK(n == len && memcmp(buf, want, len) == 0);
	CHECK(buf[len] == '#'); /* no NUL written */

	memset(buf, '#', sizeof(buf));
	n = syslog_format(
	    buf, len - 1, 1, 6, NULL, "h", "a", 1, "m", S("hello"), false);
	CHECK(n == 0);
	CHECK(buf[len - 1] == '#');
	CHECK(syslog_format(buf, 0, 1, 6, NULL, "h", "a", 1, "m", S("hello"),
	          false) == 0);
	CHECK(syslog_format(
	          buf, 5, 1, 6, NULL, "h", "a", 1, "m", NULL, 0, false) == 0);

	/* With octet counting "23 " comes on top. */
	n = syslog_format(
	    buf, len + 3, 1, 6, NULL, "h", "a", 1, "m", S("hello"), true);
	CHECK(n == len + 3 && memcmp(buf, "23 ", 3) == 0 &&
	    memcmp(buf + 3, want, len) == 0);
	CHECK(syslog_format(buf, len + 2, 1, 6, NULL, "h", "a", 1, "m",
	          S("hello"), true) == 0);
	CHECK(syslog_format(
	          buf, 2, 1, 6, NULL, "h", "a", 1, "m", S("hello"), true) == 0);
}

struct target_case {
	const char *spec;
	int rc;
	enum syslog_transport transport;
	const char *host;
	const char *port;
	const char *path;
};

static const struct target_case target_cases[] = {
    {"udp://127.0.0.1:514", 0, SYSLOG_TRANSPORT_UDP, "127.0.0.1", "514", ""},
    {"udp://logs.example.com", 0, SYSLOG_TRANSPORT_UDP, "logs.example.com",
        "514", ""},
    {"tcp://logs.example.com:6514", 0, SYSLOG_TRANSPORT_TCP, "logs.example.com",
        "6514", ""},
    {"tcp://log_host-1.example:1", 0, SYSLOG_TRANSPORT_TCP,
        "log_host-1.example", "1", ""},
    {"udp://[::1]:1514", 0, SYSLOG_TRANSPORT_UDP, "::1", "1514", ""},
    {"tcp://[2001:db8::1]", 0, SYSLOG_TRANSPORT_TCP, "2001:db8::1", "514", ""},
    {"udp://[::ffff:192.0.2.1]:65535", 0, SYSLOG_TRANSPORT_UDP,
        "::ffff:192.0.2.1", "65535", ""},
    {"udp://host:0514", 0, SYSLOG_TRANSPORT_UDP, "host", "514", ""},
    {"unix:///dev/log", 0, SYSLOG_TRANSPORT_UNIX, "", "", "/dev/log"},
    {"unix:///run/systemd/journal/syslog", 0, SYSLOG_TRANSPORT_UNIX, "", "",
        "/run/systemd/journal/syslog"},
    /* errors */
    {"", -1, 0, NULL, NULL, NULL},
    {"logs.example.com:514", -1, 0, NULL, NULL, NULL},
    {"http://logs.example.com", -1, 0, NULL, NULL, NULL},
    {"UDP://logs.example.com", -1, 0, NULL, NULL, NULL},
    {"udp:/logs.example.com", -1, 0, NULL, NULL, NULL},
    {"tls://logs.example.com:6514", -1, 0, NULL, NULL, NULL},
    {"udp://", -1, 0, NULL, NULL, NULL},
    {"udp://:514", -1, 0, NULL, NULL, NULL},
    {"udp://host:", -1, 0, NULL, NULL, NULL},
    {"udp://host:0", -1, 0, NULL, NULL, NULL},
    {"udp://host:65536", -1, 0, NULL, NULL, NULL},
    {"udp://host:1234567", -1, 0, NULL, NULL, NULL},
    {"udp://host:5x", -1, 0, NULL, NULL, NULL},
    {"udp://host:-1", -1, 0, NULL, NULL, NULL},
    {"udp://host:+514", -1, 0, NULL, NULL, NULL},
    {"udp://host:514/", -1, 0, NULL, NULL, NULL},
    {"udp://host/path", -1, 0, NULL, NULL, NULL},
    {"udp://user@host", -1, 0, NULL, NULL, NULL},
    {"udp://ho st", -1, 0, NULL, NULL, NULL},
    {"udp://::1:514", -1, 0, NULL, NULL, NULL},
    {"udp://::1", -1, 0, NULL, NULL, NULL},
    {"udp://[::1", -1, 0, NULL, NULL, NULL},
    {"udp://[]:514", -1, 0, NULL, NULL, NULL},
    {"udp://[not-v6]:514", -1, 0, NULL, NULL, NULL},
    {"udp://[127.0.0.1]:514", -1, 0, NULL, NULL, NULL},
    {"udp://[::1]x", -1, 0, NULL, NULL, NULL},
    {"tcp://[::1]:", -1, 0, NULL, NULL, NULL},
    {"unix://dev/log", -1, 0, NULL, NULL, NULL},
    {"unix://", -1, 0, NULL, NULL, NULL},
    {"unix:dev/log", -1, 0, NULL, NULL, NULL},
};

static void
test_targets(void)
{
	size_t i;

	for (i = 0; i < sizeof(target_cases) / sizeof(target_cases[0]); i++) {
		const struct target_case *c = &target_cases[i];
		struct syslog_target t;
		char err[256] = "";
		int rc;

		memset(&t, 0x55, sizeof(t));
		rc = syslog_parse_target(c->spec, &t, err, sizeof(err));
		CHECKF(rc == c->rc, "\"%s\": rc %d (%s)", c->spec, rc, err);
		if (rc != 0 || c->rc != 0) {
			CHECKF(
			    rc != 0 || strncmp(err, "syslog target: ", 15) == 0,
			    "\"%s\": err \"%s\"", c->spec, err);
			continue;
		}
		CHECKF(t.transport == c->transport, "\"%s\"", c->spec);
		CHECKF(strcmp(t.host, c->host) == 0, "\"%s\": host \"%s\"",
		    c->spec, t.host);
		CHECKF(strcmp(t.port, c->port) == 0, "\"%s\": port \"%s\"",
		    c->spec, t.port);
		CHECKF(strcmp(t.path, c->path) == 0, "\"%s\": path \"%s\"",
		    c->spec, t.path);
	}
}

/* Lengths at the edges of host[] and path[]; NULL spec and err. */
static void
test_target_limits(void)
{
	char spec[512], err[128];
	struct syslog_target t;

	(void)snprintf(spec, sizeof(spec), "udp://%0255d:99", 0);
	CHECK(syslog_parse_target(spec, &t, err, sizeof(err)) == 0);
	CHECK(strlen(t.host) == 255 && strcmp(t.port, "99") == 0);
	(void)snprintf(spec, sizeof(spec), "udp://%0256d:99", 0);
	CHECK(syslog_parse_target(spec, &t, err, sizeof(err)) == -1);

	memcpy(spec, "unix:///", 8);
	memset(spec + 8, 's', 106);
	spec[8 + 106] = '\0'; /* a path of 107 bytes */
	CHECK(syslog_parse_target(spec, &t, err, sizeof(err)) == 0);
	CHECK(strlen(t.path) == 107 && t.transport == SYSLOG_TRANSPORT_UNIX);
	memcpy(spec + 8 + 106, "s", 2); /* 108 */
	CHECK(syslog_parse_target(spec, &t, err, sizeof(err)) == -1);
	CHECK(strstr(err, "longer than 107") != NULL);

	CHECK(syslog_parse_target(NULL, &t, err, sizeof(err)) == -1);
	CHECK(syslog_parse_target("udp://", &t, NULL, 0) == -1);
	CHECK(syslog_parse_target("udp://h", &t, NULL, 0) == 0);
	/* A short buffer gets a cut, terminated message. */
	CHECK(syslog_parse_target("udp://", &t, err, 8) == -1);
	CHECK(strcmp(err, "syslog ") == 0);
	CHECK(syslog_parse_target("udp://h:0", &t, err, sizeof(err)) == -1);
	CHECK(strcmp(err,
	          "syslog target: port must be a number 1-65535 in "
	          "\"udp://h:0\"") == 0);
}

static void
test_names(void)
{
	static const struct {
		const char *name;
		int code;
	} facilities[] =
	    {
	        {"kern", 0},
	        {"user", 1},
	        {"mail", 2},
	        {"daemon", 3},
	        {"auth", 4},
	        {"syslog", 5},
	        {"authpriv", 10},
	        {"local0", 16},
	        {"LOCAL3", 19},
	        {"local7", 23},
	        {"local8", -1},
	        {"", -1},
	        {"daemons", -1},
	    },
	  severities[] = {
	      {"emerg", 0},
	      {"panic", 0},
	      {"alert", 1},
	      {"crit", 2},
	      {"err", 3},
	      {"error", 3},
	      {"warning", 4},
	      {"warn", 4},
	      {"notice", 5},
	      {"Info", 6},
	      {"debug", 7},
	      {"informational", -1},
	      {"", -1},
	  };
	size_t i;
	int c;

	for (i = 0; i < sizeof(facilities) / sizeof(facilities[0]); i++)
		CHECKF(syslog_facility_from_name(facilities[i].name) ==
		        facilities[i].code,
		    "facility %s", facilities[i].name);
	for (i = 0; i < sizeof(severities) / sizeof(severities[0]); i++)
		CHECKF(syslog_severity_from_name(severities[i].name) ==
		        severities[i].code,
		    "severity %s", severities[i].name);
	CHECK(syslog_facility_from_name(NULL) == -1);
	CHECK(syslog_severity_from_name(NULL) == -1);

	/* Every code has a name that maps back to it. */
	for (c = 0; c <= SYSLOG_FACILITY_MAX; c++)
		CHECKF(syslog_facility_from_name(syslog_facility_name(c)) == c,
		    "facility %d", c);
	for (c = 0; c <= SYSLOG_SEVERITY_MAX; c++)
		CHECKF(syslog_severity_from_name(syslog_severity_name(c)) == c,
		    "severity %d", c);
	CHECK(syslog_facility_name(24) == NULL);
	CHECK(syslog_facility_name(-1) == NULL);
	CHECK(syslog_severity_name(8) == NULL);
	CHECK(strcmp(syslog_severity_name(6), "info") == 0);
}

int
main(void)
{
	test_exact();
	test_msg_with_nul();
	test_timestamp();
	test_bad_pri();
	test_fields();
	test_octet_count();
	test_cap();
	test_targets();
	test_target_limits();
	test_names();
	return check_done();
}
