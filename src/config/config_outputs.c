/*
 * Where events and figures go: event_log, event_syslog and its
 * facility, admin_listen. Part of the config loader (config.c).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <libconfig.h>

#include "ocspgate/config.h"
#include "ocspgate/syslog_format.h"

#include "config_ctx.h"

/*
 * event_log: "-" is stdout; a file is opened (and reopened) by the event
 * log writer, so here only its directory must exist.
 */
void
config_parse_event_log(struct config_ctx *ctx, const config_setting_t *s)
{
	struct stat st;
	const char *v;
	char *path, *dir;
	int e;

	if ((v = config_get_string(ctx, s)) == NULL)
		return;
	if (*v == '\0') {
		config_error(
		    ctx, s, "'event_log' must not be empty (\"-\" is stdout)");
		return;
	}
	path = strcmp(v, "-") == 0 ? strdup(v) : config_resolve(ctx, v);
	if (path == NULL) {
		config_oom(ctx, s);
		return;
	}
	if (strcmp(path, "-") != 0) {
		if ((dir = config_dirname(path)) == NULL) {
			config_oom(ctx, s);
			free(path);
			return;
		}
		if (stat(dir, &st) == -1)
			e = errno;
		else
			e = S_ISDIR(st.st_mode) ? 0 : ENOTDIR;
		if (e != 0) {
			config_error(ctx, s, "event_log: directory %s: %s", dir,
			    strerror(e));
			free(dir);
			free(path);
			return;
		}
		free(dir);
		if (stat(path, &st) == 0 && S_ISDIR(st.st_mode)) {
			config_error(
			    ctx, s, "event_log: %s is a directory", path);
			free(path);
			return;
		}
	}
	free(ctx->c->event_log);
	ctx->c->event_log = path;
}

/* event_syslog = "udp://host:port" | "tcp://host:port" | "unix:///path". */
void
config_parse_event_syslog(struct config_ctx *ctx, const config_setting_t *s)
{
	struct syslog_target t;
	char msg[256];
	const char *v;

	if ((v = config_get_string(ctx, s)) == NULL)
		return;
	if (syslog_parse_target(v, &t, msg, sizeof(msg)) == -1) {
		config_error(ctx, s, "event_syslog: %s", msg);
		return;
	}
	free(ctx->c->event_syslog);
	if ((ctx->c->event_syslog = strdup(v)) == NULL)
		config_oom(ctx, s);
}

void
config_parse_syslog_facility(struct config_ctx *ctx, const config_setting_t *s)
{
	const char *v;
	int f;

	if ((v = config_get_string(ctx, s)) == NULL)
		return;
	if ((f = syslog_facility_from_name(v)) == -1) {
		config_error(ctx, s,
		    "event_syslog_facility: unknown facility '%s' (daemon, "
		    "auth, local0..local7, ...)",
		    v);
		return;
	}
	ctx->c->syslog_facility = f;
}

/* admin_listen = "127.0.0.1:9180": the metrics and health endpoint. */
void
config_parse_admin_listen(struct config_ctx *ctx, const config_setting_t *s)
{
	struct config *c = ctx->c;
	char msg[256];
	const char *v;

	if ((v = config_get_string(ctx, s)) == NULL)
		return;
	if (config_parse_sockaddr(v, -1, 1, &c->admin_addr, &c->admin_addr_len,
	        msg, sizeof(msg)) == -1) {
		config_error(ctx, s, "admin_listen: '%s': %s", v, msg);
		return;
	}
	free(c->admin_listen);
	if ((c->admin_listen = strdup(v)) == NULL)
		config_oom(ctx, s);
}
