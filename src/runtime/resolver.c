/*
 * A worker's DNS resolver: evdns with the config's servers (else the
 * system's) and its hosts file, reference-counted so that lookups in
 * flight keep the one they started on across a reload. Freed between
 * passes of the loop, once nothing of it is active or scheduled: never
 * inside one of its own callbacks, nor before a probe's callback ran.
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
	/*
	 * Its requests are dropped, not failed: failing them schedules
	 * their callbacks, and a nameserver probe's would run on the
	 * nameserver freed here. No lookup of ours is left (each held a
	 * reference), only evdns's own probes.
	 */
	if (r->dns != NULL)
		evdns_base_free(r->dns, 0);
	free(r);
}

void
resolver_unref(struct resolver *r)
{
	if (r == NULL || --r->refs > 0)
		return;
	/*
	 * The last reference often goes inside one of the resolver's own
	 * callbacks (a lookup's answer ends a session after a reload
	 * brought a new resolver), and evdns may have callbacks of this
	 * base scheduled for the next pass (a probe's answer read in this
	 * one): the loop frees it once nothing is left to run.
	 */
	if (r->retired != NULL) {
		r->next = *r->retired;
		*r->retired = r;
		return;
	}
	resolver_free(r);
}

void
resolver_retire_to(struct resolver *r, struct resolver **list)
{
	r->retired = list;
}

size_t
resolver_reap(struct event_base *base, struct resolver **list)
{
	struct resolver *r;
	size_t n = 0;

	if (*list == NULL)
		return 0;
	/*
	 * Active events and scheduled deferred callbacks (a probe's among
	 * them) are all counted here. Called between passes, nothing runs
	 * before the frees below, and freeing schedules nothing.
	 */
	if (event_base_get_num_events(base, EVENT_BASE_COUNT_ACTIVE) > 0) {
		for (r = *list; r != NULL; r = r->next)
			n++;
		return n;
	}
	while ((r = *list) != NULL) {
		*list = r->next;
		resolver_free(r);
	}
	return 0;
}

struct resolver *
resolver_new(
    struct event_base *base, const struct config *cfg, char *err, size_t errlen)
{
	struct resolver *r;
	char timeout[16];

	if ((r = calloc(1, sizeof(*r))) == NULL ||
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
