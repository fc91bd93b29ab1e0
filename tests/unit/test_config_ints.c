/*
 * Every integer directive, one table row each, as ocspgate.conf(5)
 * gives its range: both ends are taken and stored in their field, one
 * past either end, a literal libconfig would wrap into range (2^32 +
 * min) and a string are refused with "PATH:LINE: ..." and the load
 * fails. The loader parses all of them with one table; this holds each
 * one to its range and field.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "check.h"
#include "ocspgate/config.h"

enum kind { K_UNSIGNED, K_SIZE, K_U32 };

static const struct {
	const char *name;
	long long min, max;
	size_t offset;
	enum kind kind;
} rows[] = {
#define R(n, lo, hi, field, k)                                                 \
	{                                                                      \
		n, lo, hi, offsetof(struct config, field), k                   \
	}
    R("max_request_body", 1, 1048576, max_request_body, K_SIZE),
    R("max_header_bytes", 256, 1048576, max_header_bytes, K_SIZE),
    R("client_timeout", 1, 86400, client_timeout_sec, K_UNSIGNED),
    R("upstream_timeout", 1, 3600, upstream_timeout_sec, K_UNSIGNED),
    R("max_nonce_bytes", 1, 128, max_nonce_bytes, K_SIZE),
    R("upstream_mark", 0, 4294967295LL, upstream_mark, K_U32),
    R("max_connections", 1, 1000000, max_connections, K_UNSIGNED),
    R("max_connections_per_source", 0, 1000000, max_connections_per_source,
        K_UNSIGNED),
    R("drain_timeout", 0, 3600, drain_timeout_sec, K_UNSIGNED),
    R("max_response_body", 1, 16777216, max_response_body, K_SIZE),
    R("max_crl_bytes", 1, 268435456, max_crl_bytes, K_SIZE),
    R("workers", 0, 64, workers, K_UNSIGNED),
    R("upstream_idle_max", 0, 100000, upstream_idle_max, K_UNSIGNED),
    R("upstream_idle_timeout", 1, 3600, upstream_idle_timeout_sec, K_UNSIGNED),
    R("cache_size", 0, 17179869184LL, cache_size, K_SIZE),
    R("cache_max_age", 1, 31536000, cache_max_age_sec, K_UNSIGNED),
    R("event_queue_size", 65536, 1073741824, event_queue_bytes, K_SIZE),
    R("event_log_max_line", 1024, 16777216, event_log_max_line, K_SIZE),
    R("event_syslog_max_message", 1024, 16777216, event_syslog_max_message,
        K_SIZE),
    R("metric_interval", 0, 86400, metric_interval_sec, K_UNSIGNED),
    R("source_ipv6_prefix", 32, 128, source_ipv6_prefix, K_UNSIGNED),
    R("alert_rate_per_source", 0, 10000000, alerts.rate_per_source, K_UNSIGNED),
    R("alert_rate_per_pair", 0, 10000000, alerts.rate_per_pair, K_UNSIGNED),
    R("novelty_window", 0, 31622400, alerts.novelty_window, K_UNSIGNED),
    R("novelty_learning", 0, 31622400, alerts.novelty_learning, K_UNSIGNED),
    R("alert_early_requery", 0, 1000000, alerts.early_requery, K_UNSIGNED),
    R("alert_serial_fanout", 0, 1024, alerts.serial_fanout, K_UNSIGNED),
    R("alert_fanout_window", 1, 86400, alerts.fanout_window, K_UNSIGNED),
    R("alert_periodic_min", 0, 16, alerts.periodic_min, K_UNSIGNED),
    R("alert_cooldown", 0, 86400, alerts.cooldown, K_UNSIGNED),
    R("alert_unknown_certificates", 0, 1024, alerts.unknown_certs, K_UNSIGNED),
    R("alert_unauthorized_answers", 0, 1024, alerts.unauthorized, K_UNSIGNED),
    R("alert_ua_mismatch", 0, 1000000, alerts.ua_mismatch, K_UNSIGNED),
    R("max_tracked_sources", 1, 10000000, alerts.max_tracked_sources,
        K_UNSIGNED),
#undef R
};

#define LISTEN "listen = [ \"127.0.0.1:0\" ];\n"

static unsigned long long
field(const struct config *c, size_t i)
{
	const char *p = (const char *)c + rows[i].offset;

	switch (rows[i].kind) {
	case K_SIZE:
		return *(const size_t *)(const void *)p;
	case K_U32:
		return *(const uint32_t *)(const void *)p;
	default:
		return *(const unsigned *)(const void *)p;
	}
}

/* Loads "listen; <name> = <value>;": the config, or NULL with <err>. */
static struct config *
load(size_t i, const char *value, char *err, size_t errlen)
{
	char text[256];

	snprintf(text, sizeof(text), LISTEN "%s = %s;\n", rows[i].name, value);
	return config_load_string("t.conf", text, err, errlen);
}

static void
accepted(size_t i, long long v)
{
	char value[32], err[1024];
	struct config *c;

	snprintf(
	    value, sizeof(value), "%lld%s", v, v > 2147483647LL ? "L" : "");
	c = load(i, value, err, sizeof(err));
	CHECKF(c != NULL, "%s = %s refused: %s", rows[i].name, value, err);
	if (c == NULL)
		return;
	CHECKF(field(c, i) == (unsigned long long)v, "%s = %s stored as %llu",
	    rows[i].name, value, field(c, i));
	config_unref(c);
}

static void
refused(size_t i, const char *value, const char *why)
{
	char err[1024], want[256];
	struct config *c = load(i, value, err, sizeof(err));

	snprintf(want, sizeof(want), "t.conf:2: '%s' %s\n", rows[i].name, why);
	CHECKF(c == NULL && strcmp(err, want) == 0, "%s = %s: got '%s'",
	    rows[i].name, value, c == NULL ? err : "(loaded)");
	config_unref(c);
}

int
main(void)
{
	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		char range[96], value[32];

		snprintf(range, sizeof(range), "must be between %lld and %lld",
		    rows[i].min, rows[i].max);
		accepted(i, rows[i].min);
		accepted(i, rows[i].max);
		snprintf(value, sizeof(value), "%lldL", rows[i].max + 1);
		refused(i, value, range);
		if (rows[i].min > 0) {
			snprintf(value, sizeof(value), "%lld", rows[i].min - 1);
			refused(i, value, range);
			/* 2^32 + min: libconfig 1.5 would read it as min. */
			snprintf(value, sizeof(value), "%lld",
			    4294967296LL + rows[i].min);
			refused(i, value, range);
		}
		refused(i, "-1", range);
		refused(i, "\"1\"", "must be an integer");
	}
	return check_done();
}
