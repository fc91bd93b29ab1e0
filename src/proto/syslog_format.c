/*
 * RFC 5424 message formatting, RFC 6587 octet counting and the syslog
 * target syntax. Pure: no I/O, no clock (the time is passed in), no
 * globals; the caller sends the bytes.
 */
#include <arpa/inet.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "ocspgate/syslog_format.h"

#define SYSLOG_TIMESTAMP_LEN 27 /* "2026-11-26T19:00:00.123456Z" */

/* The longest header: PRI, version, five fields, SD and the spaces. */
#define SYSLOG_HEADER_MAX                                                      \
	(sizeof("<191>1 ") + SYSLOG_TIMESTAMP_LEN + SYSLOG_HOSTNAME_MAX +      \
	    SYSLOG_APP_NAME_MAX + SYSLOG_PROCID_MAX + SYSLOG_MSGID_MAX + 8)

/* The Unix scheme keeps the path's own '/': "unix:///dev/log". */
static const char syslog_unix_scheme[] = "unix://";

static const char *const syslog_facility_names[SYSLOG_FACILITY_MAX + 1] = {
    "kern", "user", "mail", "daemon", "auth", "syslog", "lpr", "news", "uucp",
    "cron", "authpriv", "ftp", "ntp", "security", "console", "clock", "local0",
    "local1", "local2", "local3", "local4", "local5", "local6", "local7"};

static const char *const syslog_severity_names[SYSLOG_SEVERITY_MAX + 1] = {
    "emerg", "alert", "crit", "err", "warning", "notice", "info", "debug"};

/* Other spellings of syslog.conf(5). */
static const struct {
	const char *name;
	int severity;
} syslog_severity_aliases[] = {
    {"panic", 0},
    {"error", 3},
    {"warn", 4},
};

int
syslog_facility_from_name(const char *name)
{
	int i;

	if (name == NULL)
		return -1;
	for (i = 0; i <= SYSLOG_FACILITY_MAX; i++) {
		if (strcasecmp(name, syslog_facility_names[i]) == 0)
			return i;
	}
	return -1;
}

int
syslog_severity_from_name(const char *name)
{
	size_t i;
	int s;

	if (name == NULL)
		return -1;
	for (s = 0; s <= SYSLOG_SEVERITY_MAX; s++) {
		if (strcasecmp(name, syslog_severity_names[s]) == 0)
			return s;
	}
	for (i = 0; i < sizeof(syslog_severity_aliases) /
	         sizeof(syslog_severity_aliases[0]);
	     i++) {
		if (strcasecmp(name, syslog_severity_aliases[i].name) == 0)
			return syslog_severity_aliases[i].severity;
	}
	return -1;
}

const char *
syslog_facility_name(int facility)
{
	if (facility < 0 || facility > SYSLOG_FACILITY_MAX)
		return NULL;
	return syslog_facility_names[facility];
}

const char *
syslog_severity_name(int severity)
{
	if (severity < 0 || severity > SYSLOG_SEVERITY_MAX)
		return NULL;
	return syslog_severity_names[severity];
}

/*
 * Writes SP and a header field of at most <max> bytes at <p>: "-" for
 * NULL or empty, bytes outside PRINTUSASCII replaced with '_'. Returns
 * the bytes written.
 */
static size_t
syslog_put_field(char *p, const char *s, size_t max)
{
	size_t i;

	p[0] = ' ';
	if (s == NULL || s[0] == '\0') {
		p[1] = '-';
		return 2;
	}
	for (i = 0; i < max && s[i] != '\0'; i++) {
		unsigned char c = (unsigned char)s[i];

		p[1 + i] = '_';
		if (c >= 33 && c <= 126)
			p[1 + i] = (char)c;
	}
	return 1 + i;
}

/*
 * Writes SP and the TIMESTAMP field at <p>: RFC 3339 in UTC with
 * microseconds, or "-" when <ts> is NULL or has no four-digit year.
 * Returns the bytes written.
 */
static size_t
syslog_put_timestamp(char *p, const struct timespec *ts)
{
	char tmp[64];
	struct tm tm;
	int n;

	if (ts == NULL || ts->tv_nsec < 0 || ts->tv_nsec >= 1000000000L ||
	    gmtime_r(&ts->tv_sec, &tm) == NULL || tm.tm_year < -1900 ||
	    tm.tm_year > 9999 - 1900)
		return syslog_put_field(p, NULL, 0);
	n = snprintf(tmp, sizeof(tmp), " %04d-%02d-%02dT%02d:%02d:%02d.%06ldZ",
	    tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min,
	    tm.tm_sec, ts->tv_nsec / 1000);
	if (n != 1 + SYSLOG_TIMESTAMP_LEN)
		return syslog_put_field(p, NULL, 0);
	memcpy(p, tmp, (size_t)n);
	return (size_t)n;
}

size_t
syslog_format(char *buf, size_t cap, int facility, int severity,
    const struct timespec *ts, const char *hostname, const char *app_name,
    long procid, const char *msgid, const char *msg, size_t msglen,
    bool octet_count)
{
	char hdr[SYSLOG_HEADER_MAX];
	char pid[32], prefix[32];
	size_t hlen, body, plen = 0;
	int n;

	if (facility < 0 || facility > SYSLOG_FACILITY_MAX || severity < 0 ||
	    severity > SYSLOG_SEVERITY_MAX)
		return 0;
	if (msg == NULL)
		msglen = 0;
	if (msglen > 0 && msg[msglen - 1] == '\n')
		msglen--;

	n = snprintf(hdr, sizeof(hdr), "<%d>1", facility * 8 + severity);
	hlen = (size_t)n;
	hlen += syslog_put_timestamp(hdr + hlen, ts);
	hlen += syslog_put_field(hdr + hlen, hostname, SYSLOG_HOSTNAME_MAX);
	hlen += syslog_put_field(hdr + hlen, app_name, SYSLOG_APP_NAME_MAX);
	pid[0] = '\0';
	if (procid >= 0)
		(void)snprintf(pid, sizeof(pid), "%ld", procid);
	hlen += syslog_put_field(hdr + hlen, pid, SYSLOG_PROCID_MAX);
	hlen += syslog_put_field(hdr + hlen, msgid, SYSLOG_MSGID_MAX);
	/* STRUCTURED-DATA: none; the event is all in MSG. */
	hdr[hlen++] = ' ';
	hdr[hlen++] = '-';

	body = hlen;
	if (msglen > 0) {
		if (msglen > SIZE_MAX - hlen - 1)
			return 0;
		body += 1 + msglen;
	}
	if (octet_count) {
		n = snprintf(prefix, sizeof(prefix), "%zu ", body);
		plen = (size_t)n;
	}
	if (cap < plen || body > cap - plen)
		return 0;
	memcpy(buf, prefix, plen);
	memcpy(buf + plen, hdr, hlen);
	if (msglen > 0) {
		buf[plen + hlen] = ' ';
		memcpy(buf + plen + hlen + 1, msg, msglen);
	}
	return plen + body;
}

static void syslog_error(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void
syslog_error(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (err == NULL || errlen == 0)
		return;
	va_start(ap, fmt);
	(void)vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

/* Letters, digits, '-', '.', '_': a host name or an IPv4 address. */
static bool
syslog_host_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	    (c >= '0' && c <= '9') || c == '-' || c == '.' || c == '_';
}

/*
 * Parses "HOST[:PORT]" or "[IPv6][:PORT]" of <spec> (the whole target,
 * for messages) starting at <s>. Returns 0 or -1 with <err> set.
 */
static int
syslog_parse_host_port(const char *spec, const char *s, struct syslog_target *t,
    char *err, size_t errlen)
{
	const char *host, *end, *port;
	unsigned char addr[16];
	unsigned long v = 0;
	size_t len, i;

	if (s[0] == '[') {
		host = s + 1;
		if ((end = strchr(host, ']')) == NULL) {
			syslog_error(err, errlen,
			    "syslog target: missing ']' in \"%s\"", spec);
			return -1;
		}
		len = (size_t)(end - host);
		port = end + 1;
		if (len == 0 || len >= INET6_ADDRSTRLEN) {
			syslog_error(err, errlen,
			    "syslog target: bad IPv6 address in \"%s\"", spec);
			return -1;
		}
		memcpy(t->host, host, len);
		t->host[len] = '\0';
		if (inet_pton(AF_INET6, t->host, addr) != 1) {
			syslog_error(err, errlen,
			    "syslog target: bad IPv6 address in \"%s\"", spec);
			return -1;
		}
	} else {
		host = s;
		for (end = host; syslog_host_char(*end); end++)
			continue;
		len = (size_t)(end - host);
		port = end;
		if (*end == ':' && strchr(end + 1, ':') != NULL) {
			syslog_error(err, errlen,
			    "syslog target: an IPv6 address needs "
			    "brackets, as in udp://[::1]:514, in \"%s\"",
			    spec);
			return -1;
		}
		if (*end != '\0' && *end != ':') {
			syslog_error(err, errlen,
			    "syslog target: bad character in the host of "
			    "\"%s\"",
			    spec);
			return -1;
		}
		if (len == 0) {
			syslog_error(err, errlen,
			    "syslog target: missing host in \"%s\"", spec);
			return -1;
		}
		if (len >= sizeof(t->host)) {
			syslog_error(err, errlen,
			    "syslog target: host name too long in \"%s\"",
			    spec);
			return -1;
		}
		memcpy(t->host, host, len);
		t->host[len] = '\0';
	}

	if (*port == '\0') {
		memcpy(
		    t->port, SYSLOG_DEFAULT_PORT, sizeof(SYSLOG_DEFAULT_PORT));
		return 0;
	}
	if (*port != ':') {
		syslog_error(err, errlen,
		    "syslog target: unexpected text after the host in "
		    "\"%s\"",
		    spec);
		return -1;
	}
	port++;
	for (i = 0; i < 6 && port[i] >= '0' && port[i] <= '9'; i++)
		v = v * 10 + (unsigned long)(port[i] - '0');
	if (i == 0 || port[i] != '\0' || v == 0 || v > 65535) {
		syslog_error(err, errlen,
		    "syslog target: port must be a number 1-65535 in "
		    "\"%s\"",
		    spec);
		return -1;
	}
	(void)snprintf(t->port, sizeof(t->port), "%lu", v);
	return 0;
}

int
syslog_parse_target(
    const char *spec, struct syslog_target *t, char *err, size_t errlen)
{
	const char *path;
	size_t len;

	memset(t, 0, sizeof(*t));
	if (spec == NULL)
		spec = "";
	if (strncmp(spec, "udp://", 6) == 0) {
		t->transport = SYSLOG_TRANSPORT_UDP;
		return syslog_parse_host_port(spec, spec + 6, t, err, errlen);
	}
	if (strncmp(spec, "tcp://", 6) == 0) {
		t->transport = SYSLOG_TRANSPORT_TCP;
		return syslog_parse_host_port(spec, spec + 6, t, err, errlen);
	}
	if (strncmp(spec, syslog_unix_scheme, sizeof(syslog_unix_scheme) - 1) !=
	    0) {
		syslog_error(err, errlen,
		    "syslog target: expected udp://HOST[:PORT], "
		    "tcp://HOST[:PORT] or unix:///PATH, not \"%s\"",
		    spec);
		return -1;
	}
	t->transport = SYSLOG_TRANSPORT_UNIX;
	path = spec + sizeof(syslog_unix_scheme) - 1;
	len = strlen(path);
	if (path[0] != '/') {
		syslog_error(err, errlen,
		    "syslog target: the socket path must be absolute, "
		    "as in unix:///dev/log, not \"%s\"",
		    spec);
		return -1;
	}
	if (len >= sizeof(t->path)) {
		syslog_error(err, errlen,
		    "syslog target: socket path longer than %zu bytes in "
		    "\"%s\"",
		    sizeof(t->path) - 1, spec);
		return -1;
	}
	memcpy(t->path, path, len + 1);
	return 0;
}
