/*
 * `listen`: the addresses to accept on, as strings or groups with
 * transparent, proxy_protocol and proxy_protocol_from. Part of the
 * config loader (config.c); reads no file.
 */
#include <netinet/in.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include <libconfig.h>

#include "ocspgate/cidr.h"
#include "ocspgate/config.h"

#include "config_ctx.h"

static bool
config_port_is_zero(const struct sockaddr_storage *ss)
{
	if (ss->ss_family == AF_INET6)
		return ((const struct sockaddr_in6 *)(const void *)ss)
		           ->sin6_port == 0;
	return ((const struct sockaddr_in *)(const void *)ss)->sin_port == 0;
}

void
config_free_listen(struct listen_addr *l)
{
	free(l->text);
	free(l->proxy_from);
	memset(l, 0, sizeof(*l));
}

/* Fills <l>'s address from <text>. Returns 0, or -1 (reported). */
static int
config_listen_address(struct config_ctx *ctx, const config_setting_t *e,
    const char *text, struct listen_addr *l)
{
	char msg[256];

	if (config_parse_sockaddr(
	        text, -1, 0, &l->addr, &l->addr_len, msg, sizeof(msg)) == -1) {
		config_error(ctx, e, "listen: '%s': %s", text, msg);
		return -1;
	}
	if ((l->text = strdup(text)) == NULL) {
		config_oom(ctx, e);
		return -1;
	}
	return 0;
}

/* proxy_protocol_from = [ "10.0.0.0/8", ... ] of a listener. */
static void
config_listen_proxy_from(
    struct config_ctx *ctx, const config_setting_t *s, struct listen_addr *l)
{
	char msg[256];
	int n;

	if (!config_check_strings(ctx, s, "addresses or CIDR blocks"))
		return;
	n = config_setting_length(s);
	if (n > 0 &&
	    (l->proxy_from = calloc((size_t)n, sizeof(*l->proxy_from))) ==
	        NULL) {
		config_oom(ctx, s);
		return;
	}
	for (int i = 0; i < n; i++) {
		const config_setting_t *e = config_elem(s, i);
		const char *t = config_setting_get_string(e);

		if (cidr_parse(t, &l->proxy_from[l->nproxy_from], msg,
		        sizeof(msg)) == -1) {
			config_error(
			    ctx, e, "proxy_protocol_from: '%s': %s", t, msg);
			continue;
		}
		l->nproxy_from++;
	}
}

/*
 * One `listen` entry in object form:
 * { address = "..."; transparent = "..."; proxy_protocol = true;
 *   proxy_protocol_from = [ ... ]; }
 */
static int
config_listen_group(
    struct config_ctx *ctx, const config_setting_t *g, struct listen_addr *l)
{
	const config_setting_t *addr = NULL, *from = NULL;
	unsigned errors = ctx->nerrors;
	int n = config_setting_length(g);

	for (int i = 0; i < n; i++) {
		const config_setting_t *m = config_elem(g, i);
		const char *name = config_setting_name(m), *v;

		if (strcmp(name, "address") == 0) {
			addr = m;
		} else if (strcmp(name, "proxy_protocol") == 0) {
			config_get_bool(ctx, m, &l->proxy_protocol);
		} else if (strcmp(name, "proxy_protocol_from") == 0) {
			from = m;
		} else if (strcmp(name, "transparent") == 0) {
			if ((v = config_get_string(ctx, m)) == NULL)
				continue;
			if (strcmp(v, "redirect") == 0)
				l->transparent = LISTEN_REDIRECT;
			else if (strcmp(v, "tproxy") == 0)
				l->transparent = LISTEN_TPROXY;
			else if (strcmp(v, "off") == 0)
				l->transparent = LISTEN_EXPLICIT;
			else
				config_error(ctx, m,
				    "'transparent' must be \"redirect\", "
				    "\"tproxy\" or \"off\", not '%s'",
				    v);
		} else {
			config_error(ctx, m,
			    "listen: unknown key '%s' (expected 'address', "
			    "'transparent', 'proxy_protocol' or "
			    "'proxy_protocol_from')",
			    name);
		}
	}
	if (addr == NULL) {
		config_error(ctx, g, "listen: entry without 'address'");
	} else {
		const char *text = config_get_string(ctx, addr);

		if (text != NULL)
			config_listen_address(ctx, addr, text, l);
	}
	if (from != NULL)
		config_listen_proxy_from(ctx, from, l);
	if (l->proxy_protocol && l->nproxy_from == 0 && ctx->nerrors == errors)
		config_error(ctx, g,
		    "listen: proxy_protocol needs proxy_protocol_from (the "
		    "balancers allowed to send it)");
	if (from != NULL && !l->proxy_protocol && ctx->nerrors == errors)
		config_error(ctx, from,
		    "listen: proxy_protocol_from without proxy_protocol = "
		    "true");
	return ctx->nerrors == errors ? 0 : -1;
}

void
config_parse_listen(struct config_ctx *ctx, const config_setting_t *s)
{
	struct config *c = ctx->c;
	int n;

	if (config_setting_type(s) != CONFIG_TYPE_ARRAY &&
	    config_setting_type(s) != CONFIG_TYPE_LIST) {
		config_error(
		    ctx, s, "'listen' must be an array or list of addresses");
		return;
	}
	if ((n = config_setting_length(s)) == 0) {
		config_error(ctx, s, "no listen address");
		return;
	}
	if ((c->listen = calloc((size_t)n, sizeof(*c->listen))) == NULL) {
		config_oom(ctx, s);
		return;
	}
	for (int i = 0; i < n; i++) {
		const config_setting_t *e = config_elem(s, i);
		struct listen_addr *l = &c->listen[c->nlisten];
		int rc;

		if (config_setting_type(e) == CONFIG_TYPE_STRING) {
			rc = config_listen_address(
			    ctx, e, config_setting_get_string(e), l);
		} else if (config_setting_type(e) == CONFIG_TYPE_GROUP) {
			rc = config_listen_group(ctx, e, l);
		} else {
			config_error(ctx, e,
			    "listen: each entry must be an address string or "
			    "a { address = ...; } group");
			rc = -1;
		}
		if (rc == -1) {
			config_free_listen(l);
			continue;
		}
		l->line = (int)config_setting_source_line(e);
		c->nlisten++;
	}
	for (size_t i = 0; i < c->nlisten; i++) {
		for (size_t k = 0; k < i; k++) {
			/* Port 0 asks for a new ephemeral port each time. */
			if (strcmp(c->listen[i].text, c->listen[k].text) == 0 &&
			    !config_port_is_zero(&c->listen[i].addr))
				config_error_at(ctx, NULL,
				    (unsigned)c->listen[i].line,
				    "listen: '%s' is listed twice",
				    c->listen[i].text);
		}
	}
}
