/*
 * The worker's resolver alone, on a real event loop: a name of the hosts
 * file is answered from it without a query; any other goes to the
 * configured server (a fake one on loopback), and its answer or NXDOMAIN
 * comes back; the last reference dropped inside a lookup's own callback
 * puts the resolver on its retired list, freed by resolver_reap() once
 * the loop has nothing left to run, not under evdns's feet (ASan would
 * see it); a hosts file gone by the time the resolver is made is an
 * error naming it.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#include <event2/dns.h>
#include <event2/event.h>

#include "check.h"
#include "fakedns.h"
#include "ocspgate/config.h"
#include "ocspgate/resolver.h"

struct lookup {
	bool done;
	int result;
	char ip[INET6_ADDRSTRLEN];
	struct resolver *unref; /* dropped inside the callback */
};

static void
on_resolved(int result, struct evutil_addrinfo *res, void *arg)
{
	struct lookup *l = arg;

	l->done = true;
	l->result = result;
	l->ip[0] = '\0';
	for (struct evutil_addrinfo *ai = res; ai != NULL; ai = ai->ai_next) {
		if (ai->ai_family == AF_INET) {
			inet_ntop(AF_INET,
			    &((struct sockaddr_in *)(void *)ai->ai_addr)
			         ->sin_addr,
			    l->ip, sizeof(l->ip));
			break;
		}
	}
	if (res != NULL)
		evutil_freeaddrinfo(res);
	if (l->unref != NULL)
		resolver_unref(l->unref);
}

/* Looks <name> up through <r>, running the loop until it is answered
 * (or 10 s went by: then l->done is false). */
static void
look_up(struct event_base *base, struct resolver *r, const char *name,
    struct lookup *l)
{
	struct evutil_addrinfo hints;
	struct timeval tv = {.tv_sec = 10};

	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_INET;
	hints.ai_socktype = SOCK_STREAM;
	l->done = false;
	evdns_getaddrinfo(r->dns, name, "80", &hints, on_resolved, l);
	event_base_loopexit(base, &tv);
	while (!l->done && event_base_loop(base, EVLOOP_ONCE) == 0 &&
	    !event_base_got_exit(base))
		continue;
	/* Clears a pending loopexit for the next call. */
	event_base_loop(base, EVLOOP_NONBLOCK);
}

static struct config *
load(const char *dir, const char *hosts, unsigned dns_port)
{
	char text[1024], err[2048], name[512];
	struct config *c;

	snprintf(name, sizeof(name), "%s/ocspgate.conf", dir);
	snprintf(text, sizeof(text),
	    "listen = [ \"127.0.0.1:0\" ];\n"
	    "hosts_file = \"%s\";\n"
	    "resolvers = [ \"127.0.0.1:%u\" ];\n"
	    "upstream_timeout = 2;\n",
	    hosts, dns_port);
	if ((c = config_load_string(name, text, err, sizeof(err))) == NULL) {
		fprintf(stderr, "%s", err);
		exit(2);
	}
	return c;
}

int
main(void)
{
	char dir[] = "/tmp/ocspgate-resolver-XXXXXX", hosts[600], err[512];
	struct event_base *base;
	struct fakedns dns;
	struct resolver *r;
	struct config *c;
	struct lookup l = {0};
	struct resolver *retired = NULL;
	FILE *f;

	if (mkdtemp(dir) == NULL || (base = event_base_new()) == NULL) {
		perror("setup");
		return 2;
	}
	snprintf(hosts, sizeof(hosts), "%s/hosts", dir);
	if ((f = fopen(hosts, "w")) == NULL) {
		perror(hosts);
		return 2;
	}
	fputs("127.0.0.9 ocsp.ca.test\n", f);
	fclose(f);
	fakedns_start(&dns, base);
	fakedns_add(&dns, "origin.test", "127.0.0.2");
	c = load(dir, hosts, dns.port);

	r = resolver_new(base, c, err, sizeof(err));
	CHECKF(r != NULL, "%s", err);
	if (r == NULL)
		return check_done();

	/* The hosts file first: no query goes out. */
	look_up(base, r, "ocsp.ca.test", &l);
	CHECK(l.done && l.result == 0 && strcmp(l.ip, "127.0.0.9") == 0);
	CHECKF(dns.queries == 0, "%u queries", dns.queries);

	/* Another name: the configured server answers. */
	look_up(base, r, "origin.test", &l);
	CHECKF(l.done && l.result == 0 && strcmp(l.ip, "127.0.0.2") == 0,
	    "result %d ip %s", l.result, l.ip);
	CHECK(
	    dns.queries >= 1 && strcasecmp(dns.last_name, "origin.test") == 0);

	/* A name nobody knows. */
	look_up(base, r, "missing.test", &l);
	CHECKF(l.done && l.result != 0, "result %d", l.result);

	/*
	 * The last reference goes in the lookup's own callback (a reload
	 * brought another resolver meanwhile): retired, not freed; freed by
	 * a reap once the loop has nothing to run.
	 */
	resolver_retire_to(r, &retired);
	l.unref = r;
	look_up(base, r, "origin.test", &l);
	CHECK(l.done && l.result == 0);
	CHECK(retired == r);
	for (int i = 0; i < 20 && retired != NULL; i++) {
		event_base_loop(base, EVLOOP_ONCE | EVLOOP_NONBLOCK);
		resolver_reap(base, &retired);
	}
	CHECK(retired == NULL);
	l.unref = NULL;

	/* A reference taken keeps it: two unrefs free it. */
	r = resolver_new(base, c, err, sizeof(err));
	CHECK(r != NULL && resolver_ref(r) == r && r->refs == 2);
	resolver_unref(r);
	CHECK(r->refs == 1);
	resolver_unref(r);
	event_base_loop(base, EVLOOP_NONBLOCK);

	/* The hosts file went away after the config was loaded. */
	unlink(hosts);
	err[0] = '\0';
	CHECK(resolver_new(base, c, err, sizeof(err)) == NULL);
	CHECKF(strstr(err, "hosts_file") != NULL && strstr(err, hosts) != NULL,
	    "error: %s", err);
	event_base_loop(base, EVLOOP_NONBLOCK);

	fakedns_stop(&dns);
	config_unref(c);
	event_base_free(base);
	rmdir(dir);
	return check_done();
}
