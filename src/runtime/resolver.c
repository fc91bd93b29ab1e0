/*
 * A worker's DNS resolver: evdns with the config's servers (else the
 * system's) and its hosts file, reference-counted so that lookups in
 * flight keep the one they started on across a reload. Freed from the
 * loop, never inside one of its own callbacks.
 */
#include <stdio.h>
#include <stdlib.h>

#include <event2/dns.h>
#include <event2/event.h>

#include "ocspgate/config.h"
#include "ocspgate/resolver.h"

struct resolver *
resolver_ref(struct resolver *r)
{
	r->refs++;
	return r;
}

static void
resolver_free(struct resolver *r)
{
	if (r->dns != NULL)
		evdns_base_free(r->dns, 1);
	if (r->free_ev != NULL)
		event_free(r->free_ev);
	free(r);
}

static void
resolver_on_free(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	resolver_free(arg);
}

void
resolver_unref(struct resolver *r)
{
	if (r == NULL || --r->refs > 0)
		return;
	/*
	 * The last reference often goes inside one of the resolver's own
	 * callbacks: a lookup's answer ends a session, or fills a reverse
	 * DNS slot, after a reload brought a new resolver. evdns goes on
	 * using its base once such a callback returns, so the base is freed
	 * from the loop, after it (server_free() runs the loop once more).
	 */
	if (r->free_ev != NULL) {
		event_active(r->free_ev, EV_TIMEOUT, 1);
		return;
	}
	resolver_free(r);
}

struct resolver *
resolver_new(
    struct event_base *base, const struct config *cfg, char *err, size_t errlen)
{
	struct resolver *r;
	char timeout[16];

	if ((r = calloc(1, sizeof(*r))) == NULL ||
	    (r->free_ev = event_new(base, -1, 0, resolver_on_free, r)) ==
	        NULL ||
	    (r->dns = evdns_base_new(base, EVDNS_BASE_DISABLE_WHEN_INACTIVE)) ==
	        NULL) {
		snprintf(err, errlen, "resolver: out of memory");
		if (r != NULL)
			resolver_free(r);
		return NULL;
	}
	r->refs = 1;
	for (size_t i = 0; i < cfg->nresolvers; i++) {
		if (evdns_base_nameserver_ip_add(
		        r->dns, cfg->resolvers[i].text) != 0) {
			snprintf(err, errlen, "resolver %s: cannot use it",
			    cfg->resolvers[i].text);
			goto fail;
		}
	}
	/*
	 * Without resolvers, the system's servers; search domains are not
	 * applied, since targets are names from URLs, not short names.
	 */
	if (cfg->nresolvers == 0)
		evdns_base_resolv_conf_parse(r->dns,
		    DNS_OPTION_NAMESERVERS | DNS_OPTION_MISC,
		    "/etc/resolv.conf");
	if (cfg->hosts_file[0] != '\0' &&
	    evdns_base_load_hosts(r->dns, cfg->hosts_file) != 0) {
		snprintf(err, errlen, "hosts_file %s: cannot load it",
		    cfg->hosts_file);
		goto fail;
	}
	/* Lookups are also bounded by upstream_timeout as a whole. */
	snprintf(timeout, sizeof(timeout), "%u",
	    cfg->upstream_timeout_sec > 2 ? 2 : cfg->upstream_timeout_sec);
	evdns_base_set_option(r->dns, "timeout:", timeout);
	evdns_base_set_option(r->dns, "attempts:", "2");
	return r;
fail:
	resolver_unref(r);
	return NULL;
}
