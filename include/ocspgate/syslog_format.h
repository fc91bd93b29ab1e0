/*
 * RFC 5424 syslog messages carrying one event-log line each, optionally
 * framed by octet counting (RFC 6587) for TCP, and the syslog target
 * syntax of the configuration. Pure: no I/O, no clock, no globals.
 */
#ifndef OCSPGATE_SYSLOG_FORMAT_H
#define OCSPGATE_SYSLOG_FORMAT_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

/* RFC 5424 header field limits, in bytes. */
#define SYSLOG_HOSTNAME_MAX 255
#define SYSLOG_APP_NAME_MAX 48
#define SYSLOG_PROCID_MAX   128
#define SYSLOG_MSGID_MAX    32

#define SYSLOG_FACILITY_MAX 23
#define SYSLOG_SEVERITY_MAX 7
#define SYSLOG_DEFAULT_PORT "514"

#define SYSLOG_TARGET_HOST_MAX 256 /* with the NUL */
#define SYSLOG_TARGET_PORT_MAX 8
#define SYSLOG_TARGET_PATH_MAX 108 /* sun_path, with the NUL */

/*
 * Writes into <buf> the message
 *   <PRI>1 TIMESTAMP HOSTNAME APP-NAME PROCID MSGID - MSG
 * with PRI = facility * 8 + severity, TIMESTAMP as
 * "2026-11-26T19:00:00.123456Z" (UTC, microseconds; "-" when <ts> is
 * NULL or not representable), and "-" for a NULL or empty header field
 * or a negative <procid>. Header fields are cut to their RFC 5424
 * lengths and bytes outside 33..126 become '_'. MSG is <msglen> bytes
 * of <msg> as they are, without a BOM, less one trailing '\n'; with no
 * MSG left, the message ends after the "-". With <octet_count>, the
 * message is preceded by its length in bytes and a space (RFC 6587).
 * No NUL is written.
 * Returns the bytes written, or 0 when they do not fit in <cap> or the
 * facility (0..23) or severity (0..7) is out of range.
 */
size_t syslog_format(char *buf, size_t cap, int facility, int severity,
    const struct timespec *ts, const char *hostname, const char *app_name,
    long procid, const char *msgid, const char *msg, size_t msglen,
    bool octet_count);

enum syslog_transport {
	SYSLOG_TRANSPORT_UDP = 0,
	SYSLOG_TRANSPORT_TCP,  /* octet-counting framing */
	SYSLOG_TRANSPORT_UNIX, /* datagram socket, e.g. /dev/log */
};

struct syslog_target {
	enum syslog_transport transport;
	char host[SYSLOG_TARGET_HOST_MAX]; /* IPv6 without brackets; "" */
	char port[SYSLOG_TARGET_PORT_MAX]; /* decimal 1..65535; "" */
	char path[SYSLOG_TARGET_PATH_MAX]; /* unix only; "" otherwise */
};

/*
 * Parses "udp://HOST[:PORT]", "tcp://HOST[:PORT]" (HOST a name, an IPv4
 * address or "[IPv6]"; PORT defaults to 514) or "unix:///absolute/path"
 * into <t> (zeroed first). Returns 0, or -1 with a message in <err>.
 */
int syslog_parse_target(
    const char *spec, struct syslog_target *t, char *err, size_t errlen);

/*
 * Facility and severity names as syslog.conf(5) spells them ("daemon",
 * "local0", "info", "warning"; "error" and "warn" too), in any case.
 * The *_from_name functions return the code, or -1 when unknown; the
 * *_name functions return NULL for a code out of range.
 */
int syslog_facility_from_name(const char *name);
int syslog_severity_from_name(const char *name);
const char *syslog_facility_name(int facility);
const char *syslog_severity_name(int severity);

#endif
