/*
 * A worker: event log, resolver and listeners around one event loop.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/dns.h>
#include <event2/event.h>

#include "ocspgate/config.h"
#include "ocspgate/event_log.h"
#include "ocspgate/listener.h"
#include "ocspgate/server.h"
#include "ocspgate/session.h"

/* Resolver: configured servers or resolv.conf; hosts_file first. */
static int
server_init_dns(
    struct server *srv, const struct config *cfg, char *err, size_t errlen)
{
	char timeout[16];

	srv->dns = evdns_base_new(srv->base, EVDNS_BASE_DISABLE_WHEN_INACTIVE);
	if (srv->dns == NULL) {
		snprintf(err, errlen, "resolver: out of memory");
		return -1;
	}
	for (size_t i = 0; i < cfg->nresolvers; i++) {
		if (evdns_base_nameserver_ip_add(
		        srv->dns, cfg->resolvers[i].text) != 0) {
			snprintf(err, errlen, "resolver %s: cannot use it",
			    cfg->resolvers[i].text);
			return -1;
		}
	}
	/*
	 * Without resolvers, the system's servers; search domains are not
	 * applied, since targets are names from URLs, not short names.
	 */
	if (cfg->nresolvers == 0)
		evdns_base_resolv_conf_parse(srv->dns,
		    DNS_OPTION_NAMESERVERS | DNS_OPTION_MISC,
		    "/etc/resolv.conf");
	if (cfg->hosts_file[0] != '\0' &&
	    evdns_base_load_hosts(srv->dns, cfg->hosts_file) != 0) {
		snprintf(err, errlen, "hosts_file %s: cannot load it",
		    cfg->hosts_file);
		return -1;
	}
	/* Lookups are also bounded by upstream_timeout as a whole. */
	snprintf(timeout, sizeof(timeout), "%u",
	    cfg->upstream_timeout_sec > 2 ? 2 : cfg->upstream_timeout_sec);
	evdns_base_set_option(srv->dns, "timeout:", timeout);
	evdns_base_set_option(srv->dns, "attempts:", "2");
	return 0;
}

int
server_init(struct server *srv, struct event_base *base, struct config *cfg,
    char *err, size_t errlen)
{
	memset(srv, 0, sizeof(*srv));
	srv->base = base;
	srv->cfg = config_ref(cfg);
	TAILQ_INIT(&srv->sessions);
	json_init(&srv->json);
	if ((srv->log = event_log_open(base, cfg->event_log, err, errlen)) ==
	    NULL)
		return -1;
	if (server_init_dns(srv, cfg, err, errlen) == -1)
		return -1;
	srv->listeners = calloc(cfg->nlisten, sizeof(*srv->listeners));
	if (srv->listeners == NULL && cfg->nlisten > 0) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	for (size_t i = 0; i < cfg->nlisten; i++) {
		srv->listeners[i] =
		    listener_new(srv, &cfg->listen[i], err, errlen);
		if (srv->listeners[i] == NULL)
			return -1;
		srv->nlisteners++;
	}
	return 0;
}

void
server_free(struct server *srv)
{
	struct session *s;

	for (size_t i = 0; i < srv->nlisteners; i++)
		listener_free(srv->listeners[i]);
	free(srv->listeners);
	srv->listeners = NULL;
	srv->nlisteners = 0;
	while ((s = TAILQ_FIRST(&srv->sessions)) != NULL)
		session_close(s);
	if (srv->dns != NULL)
		evdns_base_free(srv->dns, 1);
	if (srv->log != NULL) {
		event_log_flush(srv->log);
		event_log_free(srv->log);
	}
	json_free(&srv->json);
	config_unref(srv->cfg);
	memset(srv, 0, sizeof(*srv));
}
