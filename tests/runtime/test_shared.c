/*
 * What the workers share, alone: connections per source counted under
 * their source block (an IPv6 address per its /N, an IPv4-mapped one as
 * IPv4), refused at max_connections_per_source and counted whatever
 * the limit; four threads taking and giving back at once leave no count
 * behind; the alert state raises an alert and counts its sources; no
 * shared state counts nothing and raises nothing.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "ocspgate/alert.h"
#include "ocspgate/config.h"
#include "ocspgate/shared.h"

#define THREADS 4
#define ROUNDS  2000

static struct config *
load(unsigned per_source, const char *extra)
{
	char text[512], err[2048];
	struct config *c;

	snprintf(text, sizeof(text),
	    "listen = [ \"127.0.0.1:0\" ];\n"
	    "max_connections_per_source = %u;\n"
	    "source_ipv6_prefix = 64;\n%s",
	    per_source, extra);
	if ((c = config_load_string("t.conf", text, err, sizeof(err))) ==
	    NULL) {
		fprintf(stderr, "%s", err);
		exit(2);
	}
	return c;
}

static struct sockaddr_storage
sa_of(const char *ip)
{
	struct sockaddr_storage ss;

	memset(&ss, 0, sizeof(ss));
	if (strchr(ip, ':') != NULL) {
		struct sockaddr_in6 *a = (struct sockaddr_in6 *)&ss;

		a->sin6_family = AF_INET6;
		inet_pton(AF_INET6, ip, &a->sin6_addr);
	} else {
		struct sockaddr_in *a = (struct sockaddr_in *)&ss;

		a->sin_family = AF_INET;
		inet_pton(AF_INET, ip, &a->sin_addr);
	}
	return ss;
}

static bool
acquire(struct shared *sh, const struct config *c, const char *ip,
    struct shared_source_key *k)
{
	struct sockaddr_storage ss = sa_of(ip);

	return shared_source_acquire(sh, c, (struct sockaddr *)&ss, k);
}

static void
test_limits(void)
{
	struct config *c = load(2, "");
	struct shared *sh = shared_new(c);
	struct shared_source_key k[6], other;

	CHECK(sh != NULL);
	CHECK(shared_workers(sh) == 1);
	shared_set_workers(sh, 3);
	CHECK(shared_workers(sh) == 3);

	CHECK(acquire(sh, c, "192.0.2.1", &k[0]) && k[0].family == AF_INET);
	CHECK(acquire(sh, c, "192.0.2.1", &k[1]));
	/* The third from one source is refused, and counts nothing. */
	CHECK(!acquire(sh, c, "192.0.2.1", &k[2]) && k[2].family == 0);
	/* The same source written as an IPv4-mapped IPv6 address. */
	CHECK(!acquire(sh, c, "::ffff:192.0.2.1", &k[3]));
	/* Another source is not. */
	CHECK(acquire(sh, c, "192.0.2.2", &other));
	/* One gone, one more may come. */
	shared_source_release(sh, &k[0]);
	CHECK(acquire(sh, c, "192.0.2.1", &k[0]));
	/* A key of family 0 counts nothing. */
	shared_source_release(sh, &k[2]);
	CHECK(!acquire(sh, c, "192.0.2.1", &k[2]));

	/* IPv6: one /64 is one source, another /64 another. */
	CHECK(acquire(sh, c, "2001:db8:1:2::1", &k[3]) &&
	    k[3].family == AF_INET6);
	CHECK(acquire(sh, c, "2001:db8:1:2:ffff::9", &k[4]));
	CHECK(!acquire(sh, c, "2001:db8:1:2:aaaa::1", &k[5]));
	CHECK(acquire(sh, c, "2001:db8:1:3::1", &k[5]));
	shared_source_release(sh, &k[5]);

	for (int i = 0; i < 5; i++)
		if (i != 2)
			shared_source_release(sh, &k[i]);
	shared_source_release(sh, &other);
	shared_free(sh);
	config_unref(c);
}

static void
test_counted_whatever_the_limit(void)
{
	struct config *none = load(0, ""), *one = load(1, "");
	struct shared *sh = shared_new(none);
	struct shared_source_key k[3];

	/* No limit: counted all the same, so a lower one finds them. */
	CHECK(acquire(sh, none, "198.51.100.7", &k[0]));
	CHECK(acquire(sh, none, "198.51.100.7", &k[1]));
	CHECK(!acquire(sh, one, "198.51.100.7", &k[2]));
	shared_source_release(sh, &k[0]);
	CHECK(!acquire(sh, one, "198.51.100.7", &k[2]));
	shared_source_release(sh, &k[1]);
	CHECK(acquire(sh, one, "198.51.100.7", &k[2]));
	shared_source_release(sh, &k[2]);
	shared_free(sh);
	config_unref(none);
	config_unref(one);
}

struct worker_arg {
	struct shared *sh;
	const struct config *c;
	unsigned refused;
};

/* Takes and gives back connections of four sources, in turn. */
static void *
worker(void *p)
{
	struct worker_arg *a = p;
	static const char *const ips[] = {
	    "203.0.113.1", "203.0.113.2", "2001:db8::1", "2001:db8::2"};

	for (int i = 0; i < ROUNDS; i++) {
		struct shared_source_key k[2];
		bool ok[2];

		for (int j = 0; j < 2; j++)
			ok[j] = acquire(a->sh, a->c, ips[(i + j) % 4], &k[j]);
		for (int j = 0; j < 2; j++) {
			if (ok[j])
				shared_source_release(a->sh, &k[j]);
			else
				a->refused++;
		}
	}
	return NULL;
}

static void
test_threads(void)
{
	/* Room for every thread: nothing may be refused. */
	struct config *c = load(2 * THREADS, "");
	struct shared *sh = shared_new(c);
	struct worker_arg args[THREADS];
	pthread_t t[THREADS];
	struct shared_source_key k[2 * THREADS + 1];
	unsigned taken = 0;

	for (int i = 0; i < THREADS; i++) {
		args[i] = (struct worker_arg){.sh = sh, .c = c};
		if (pthread_create(&t[i], NULL, worker, &args[i]) != 0) {
			perror("pthread_create");
			exit(2);
		}
	}
	for (int i = 0; i < THREADS; i++) {
		pthread_join(t[i], NULL);
		CHECKF(args[i].refused == 0, "thread %d: %u refused", i,
		    args[i].refused);
	}
	/* Every count went back to zero: the full limit is free again. */
	for (int i = 0; i < 2 * THREADS + 1; i++)
		taken += acquire(sh, c, "203.0.113.1", &k[i]);
	CHECKF(taken == 2 * THREADS, "%u taken after the threads", taken);
	for (int i = 0; i < 2 * THREADS + 1; i++)
		shared_source_release(sh, &k[i]);
	shared_free(sh);
	config_unref(c);
}

static void
test_alerts(void)
{
	/* Two requests a minute from one source and pair raise an alert. */
	struct config *c = load(0,
	    "alert_rate_per_source = 2;\n"
	    "alert_rate_per_pair = 0;\n"
	    "alert_cooldown = 0;\n");
	struct shared *sh = shared_new(c);
	struct alert alerts[ALERT_MAX_PER_OBSERVATION];
	struct alert_observation o;
	uint64_t sources, evictions;
	size_t raised = 0;

	memset(&o, 0, sizeof(o));
	o.source.family = AF_INET;
	memcpy(o.source.addr, "\xc0\x00\x02\x05", 4);
	o.dest = "ocsp.ca.test";
	o.dest_len = strlen(o.dest);
	o.now = 1700000000;
	for (int i = 0; i < 5; i++) {
		o.now_ms = 1000000 + (uint64_t)i * 1000;
		for (size_t n = shared_alerts_observe(
		                sh, &o, alerts, ALERT_MAX_PER_OBSERVATION),
		            j = 0;
		     j < n; j++)
			raised += alerts[j].kind == ALERT_RATE_ANOMALY;
	}
	CHECKF(raised >= 1, "%zu rate alerts", raised);
	shared_alert_stats(sh, &sources, &evictions);
	CHECK(sources == 1 && evictions == 0);

	/* No shared state: nothing counted, nothing raised. */
	CHECK(shared_alerts_observe(
	          NULL, &o, alerts, ALERT_MAX_PER_OBSERVATION) == 0);
	shared_alert_stats(NULL, &sources, &evictions);
	CHECK(sources == 0 && evictions == 0);
	CHECK(shared_workers(NULL) == 1);
	{
		struct shared_source_key k;

		CHECK(acquire(NULL, c, "192.0.2.1", &k) && k.family == 0);
		shared_source_release(NULL, &k);
	}
	shared_free(sh);
	shared_free(NULL);
	config_unref(c);
}

int
main(void)
{
	test_limits();
	test_counted_whatever_the_limit();
	test_threads();
	test_alerts();
	return check_done();
}
