/*
 * A resolver retired during a DNS outage is freed without its nameserver
 * probe using freed memory (libevent 2.1.12 cannot cancel a probe's
 * callback once scheduled). The fake DNS server stops answering, a
 * lookup times out, the nameserver is marked down and probed; then the
 * resolver's last reference goes (a reload brought another one):
 *
 * - while the probe waits for its answer: freeing the evdns base and
 *   failing its requests would run the probe's callback on the freed
 *   nameserver;
 * - in the very pass that reads the probe's answer (the server answers
 *   again), just before the answer is read: the probe's callback is
 *   scheduled after whatever freed the resolver in that pass.
 *
 * Either way the resolver is freed once the loop has nothing active nor
 * scheduled (resolver_reap() between passes), and ASan sees no use after
 * free. The loop runs as a worker's does: one pass at a time, reaping
 * between them.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <event2/dns.h>
#include <event2/event.h>

#include "check.h"
#include "fakedns.h"
#include "ocspgate/config.h"
#include "ocspgate/resolver.h"

#define PROBE_NAME "google.com" /* what libevent 2.1 probes with */

struct run {
	struct event_base *base;
	struct fakedns dns;
	struct resolver *retired; /* the worker's list */
	struct resolver *r;
	int trigger[2];         /* a byte on it drops r's last reference */
	struct event *unref_ev; /* reads it */
	bool lookup_done;
	bool probed; /* a probe reached the server */
	bool unref_on_probe;
};

static void
on_resolved(int result, struct evutil_addrinfo *res, void *arg)
{
	struct run *run = arg;

	(void)result;
	if (res != NULL)
		evutil_freeaddrinfo(res);
	run->lookup_done = true;
}

static void
on_unref(evutil_socket_t fd, short what, void *arg)
{
	struct run *run = arg;
	char b;

	(void)what;
	if (read(fd, &b, 1) == 1 && run->r != NULL) {
		resolver_unref(run->r);
		run->r = NULL;
	}
}

/*
 * The server read a query, not answered yet. For a probe to be answered
 * (NXDOMAIN: "up"), a byte on the trigger first: the next pass finds
 * the trigger ready before the resolver's socket (the kernel reports
 * them in the order they became ready), so the last reference goes
 * just before the probe's answer is read and its callback scheduled.
 */
static void
on_query(struct fakedns *d, void *arg)
{
	struct run *run = arg;

	if (strcasecmp(d->last_name, PROBE_NAME) != 0)
		return;
	run->probed = true;
	if (run->unref_on_probe && !d->silent && run->r != NULL &&
	    write(run->trigger[1], "u", 1) != 1)
		exit(2);
}

/* One pass as server_run() makes it, then the reaping it does. */
static void
pass(struct run *run)
{
	event_base_loop(run->base, EVLOOP_ONCE);
	resolver_reap(run->base, &run->retired);
}

static void
on_limit(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	*(bool *)arg = true;
}

/* Runs passes until *flag or 10 s; returns *flag. */
static bool
run_until(struct run *run, const bool *flag)
{
	struct timeval tv = {.tv_sec = 10};
	bool timed_out = false;
	struct event *limit = evtimer_new(run->base, on_limit, &timed_out);

	evtimer_add(limit, &tv);
	while (!*flag && !timed_out)
		pass(run);
	event_free(limit);
	return *flag;
}

static struct config *
load(unsigned dns_port)
{
	char text[512], err[2048];
	struct config *c;

	snprintf(text, sizeof(text),
	    "listen = [ \"127.0.0.1:0\" ];\n"
	    "resolvers = [ \"127.0.0.1:%u\" ];\n"
	    "upstream_timeout = 1;\n",
	    dns_port);
	if ((c = config_load_string("t.conf", text, err, sizeof(err))) ==
	    NULL) {
		fprintf(stderr, "%s", err);
		exit(2);
	}
	return c;
}

/*
 * A resolver on <run>'s loop whose server goes silent: a lookup times
 * out, the nameserver is marked down and a probe is sent (and not
 * answered). Short timeouts keep it under a second.
 */
static void
outage(struct run *run, struct config *c)
{
	struct evutil_addrinfo hints;
	char err[512];

	run->r = resolver_new(run->base, c, err, sizeof(err));
	if (run->r == NULL) {
		fprintf(stderr, "%s\n", err);
		exit(2);
	}
	resolver_retire_to(run->r, &run->retired);
	evdns_base_set_option(run->r->dns, "timeout:", "0.1");
	evdns_base_set_option(run->r->dns, "initial-probe-timeout:", "0.1");
	run->dns.silent = true;
	run->lookup_done = run->probed = false;
	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_INET;
	hints.ai_socktype = SOCK_STREAM;
	evdns_getaddrinfo(
	    run->r->dns, "origin.test", "80", &hints, on_resolved, run);
	CHECK(run_until(run, &run->lookup_done));
	/* Given up: the server is down, and probed. */
	CHECK(run_until(run, &run->probed));
}

/*
 * Twenty passes, reaping after each: whatever the freed resolver left
 * scheduled runs meanwhile, and the list is empty by the end.
 */
static void
drain(struct run *run)
{
	for (int i = 0; i < 20; i++) {
		event_base_loop(run->base, EVLOOP_NONBLOCK);
		resolver_reap(run->base, &run->retired);
	}
	CHECK(run->retired == NULL);
}

int
main(void)
{
	struct run run;
	struct config *c;

	memset(&run, 0, sizeof(run));
	if ((run.base = event_base_new()) == NULL) {
		perror("event_base_new");
		return 2;
	}
	fakedns_start(&run.dns, run.base);
	/* Known, but asked only while the server is silent. */
	fakedns_add(&run.dns, "origin.test", "127.0.0.2");
	run.dns.on_query = on_query;
	run.dns.on_query_arg = &run;
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, run.trigger) ==
	        -1 ||
	    (run.unref_ev = event_new(run.base, run.trigger[0],
	         EV_READ | EV_PERSIST, on_unref, &run)) == NULL ||
	    event_add(run.unref_ev, NULL) == -1) {
		perror("trigger");
		return 2;
	}
	c = load(run.dns.port);

	/* The last reference goes while the probe waits for an answer. */
	outage(&run, c);
	resolver_unref(run.r);
	run.r = NULL;
	CHECK(run.retired != NULL); /* not freed under the loop's feet */
	drain(&run);

	/*
	 * The server answers again: the last reference goes in the pass
	 * that reads the probe's answer, its callback already scheduled.
	 */
	outage(&run, c);
	run.probed = false;
	run.dns.silent = false;
	run.unref_on_probe = true;
	CHECK(run_until(&run, &run.probed));
	/* The answer's pass: the trigger, then the answer read. */
	for (int i = 0; i < 100 && run.r != NULL; i++)
		pass(&run);
	CHECK(run.r == NULL);
	drain(&run);

	/* Reaping an empty list, or with nothing retired, does nothing. */
	CHECK(resolver_reap(run.base, &run.retired) == 0);

	event_free(run.unref_ev);
	close(run.trigger[0]);
	close(run.trigger[1]);
	fakedns_stop(&run.dns);
	config_unref(c);
	event_base_free(run.base);
	return check_done();
}
