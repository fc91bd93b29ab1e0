/*
 * Unit tests for the behaviour-alert engine, on a fake clock: each alert
 * at its threshold and not one request below, sliding and tumbling
 * windows, cooldowns, novelty learning, periodicity against jittered,
 * random and burst series, LRU bounds, reconfiguration, the JSON line,
 * and a stress run over many sources.
 */
#include <arpa/inet.h>
#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#include "check.h"
#include "ocspgate/alert.h"
#include "ocspgate/alert_line.h"
#include "ocspgate/event.h"
#include "ocspgate/json.h"

/* The strict JSON parser of the fuzz target. */
#include "../fuzz/fuzz_json.c"

#define T0_WALL 1700000000 /* wall clock at now_ms == 0 */

static struct alert out[ALERT_MAX_PER_OBSERVATION];

/* Everything off; each test enables what it checks. */
static struct alert_config
cfg_off(void)
{
	struct alert_config c;

	memset(&c, 0, sizeof(c));
	c.max_tracked_sources = 1000;
	c.fanout_window = 600;
	return c;
}

static struct alert_observation
obs(uint32_t ip, const char *dest, uint64_t now_ms)
{
	struct alert_observation o;

	memset(&o, 0, sizeof(o));
	o.source.family = AF_INET;
	o.source.addr[0] = (unsigned char)(ip >> 24);
	o.source.addr[1] = (unsigned char)(ip >> 16);
	o.source.addr[2] = (unsigned char)(ip >> 8);
	o.source.addr[3] = (unsigned char)ip;
	o.dest = dest;
	o.dest_len = strlen(dest);
	o.now_ms = now_ms;
	o.now = T0_WALL + (time_t)(now_ms / 1000);
	return o;
}

static size_t
observe(struct alert_engine *e, const struct alert_observation *o)
{
	return alert_observe(e, o, out, ALERT_MAX_PER_OBSERVATION);
}

/* Observes and returns how many alerts of <kind> came out. */
static size_t
observe_kind(struct alert_engine *e, const struct alert_observation *o,
    enum alert_kind kind)
{
	size_t n = observe(e, o), k = 0;

	for (size_t i = 0; i < n; i++) {
		if (out[i].kind == kind)
			k++;
	}
	return k;
}

static const struct alert *
find_kind(size_t n, enum alert_kind kind)
{
	for (size_t i = 0; i < n; i++) {
		if (out[i].kind == kind)
			return &out[i];
	}
	return NULL;
}

static struct ocsp_cert_id
cert(unsigned serial)
{
	struct ocsp_cert_id c;

	memset(&c, 0, sizeof(c));
	c.hash = OCSP_HASH_SHA1;
	c.hash_len = 20;
	memset(c.name_hash, 0x11, 20);
	memset(c.key_hash, 0x22, 20);
	c.serial[0] = 0x0a;
	c.serial[1] = (unsigned char)(serial >> 16);
	c.serial[2] = (unsigned char)(serial >> 8);
	c.serial[3] = (unsigned char)serial;
	c.serial_len = 4;
	return c;
}

/* A fixed-seed LCG (Numerical Recipes constants). */
static uint32_t
lcg(uint32_t *state)
{
	*state = *state * 1664525u + 1013904223u;
	return *state >> 8;
}

static void
test_names_and_defaults(void)
{
	struct alert_config c;

	CHECK(strcmp(alert_kind_name(ALERT_RATE_ANOMALY), "rate_anomaly") == 0);
	CHECK(strcmp(alert_kind_name(ALERT_NEW_DESTINATION),
	          "new_destination") == 0);
	CHECK(
	    strcmp(alert_kind_name(ALERT_EARLY_REQUERY), "early_requery") == 0);
	CHECK(
	    strcmp(alert_kind_name(ALERT_SERIAL_FANOUT), "serial_fanout") == 0);
	CHECK(strcmp(alert_kind_name(ALERT_PERIODIC), "periodic") == 0);
	CHECK(strcmp(alert_kind_name(ALERT_UNKNOWN_CERTS),
	          "unknown_certificates") == 0);
	CHECK(strcmp(alert_kind_name(ALERT_UNAUTHORIZED),
	          "unauthorized_answers") == 0);
	CHECK(strcmp(alert_kind_name(ALERT_UA_MISMATCH), "ua_mismatch") == 0);
	CHECK(alert_kind_name(ALERT_KIND_COUNT) == NULL);

	alert_config_defaults(&c);
	CHECK(c.rate_per_source == 600 && c.rate_per_pair == 300);
	CHECK(c.novelty_window == 604800 && c.novelty_learning == 3600);
	CHECK(c.early_requery == 3 && c.serial_fanout == 200);
	CHECK(c.fanout_window == 600 && c.periodic_min == 12);
	CHECK(c.periodic_jitter == 0.3 && c.cooldown == 600);
	CHECK(c.max_tracked_sources == 10000);
	CHECK(c.unknown_certs == 10 && c.unauthorized == 10);
	CHECK(c.ua_mismatch == 5 && c.ipv6_prefix == 64);
}

static void
test_source_hash(void)
{
	struct alert_source a, b;
	unsigned shards[4] = {0, 0, 0, 0};

	memset(&a, 0, sizeof(a));
	a.family = AF_INET;
	memcpy(a.addr, "\xc0\x00\x02\x01", 4);
	b = a;
	memset(b.addr + 4, 0xee, 12); /* ignored for AF_INET */
	CHECK(alert_source_hash(&a) == alert_source_hash(&b));
	b.family = AF_INET6;
	CHECK(alert_source_hash(&a) != alert_source_hash(&b));
	b = a;
	b.addr[3] = 2;
	CHECK(alert_source_hash(&a) != alert_source_hash(&b));

	/* Consecutive addresses spread evenly over shards. */
	for (uint32_t i = 0; i < 10000; i++) {
		struct alert_observation o = obs(0x0a000000u + i, "x", 0);

		shards[alert_source_hash(&o.source) % 4]++;
	}
	for (int i = 0; i < 4; i++)
		CHECKF(shards[i] > 2300 && shards[i] < 2700, "shard %d: %u", i,
		    shards[i]);
}

static void
test_rate_source(void)
{
	struct alert_config c = cfg_off();
	struct alert_engine *e;
	struct alert_observation o;
	const struct alert *a;
	size_t n;

	/* Threshold 5: the 5th request in 60 s fires, the 4th does not. */
	c.rate_per_source = 5;
	c.cooldown = 600;
	e = alert_engine_new(&c);
	CHECK(e != NULL);
	for (int i = 0; i < 4; i++) {
		o = obs(1, i % 2 ? "a.example" : "b.example", 1000 + i * 10000);
		CHECK(observe(e, &o) == 0);
	}
	o = obs(1, "c.example", 59999);
	n = observe(e, &o);
	CHECK(n == 1);
	a = find_kind(n, ALERT_RATE_ANOMALY);
	CHECK(a != NULL && strcmp(a->scope, "source") == 0);
	CHECK(a != NULL && a->observed == 5 && a->threshold == 5);
	CHECK(a != NULL && a->window_sec == 60 && a->dest[0] == '\0');
	/* Cooldown: the 6th does not fire again. */
	o = obs(1, "c.example", 60500);
	CHECK(observe(e, &o) == 0);
	/* Other sources are counted apart. */
	o = obs(2, "c.example", 60500);
	CHECK(observe(e, &o) == 0);
	alert_engine_free(e);

	/* The window slides: 4 at second 0 count until second 59 only. */
	c.cooldown = 0;
	e = alert_engine_new(&c);
	for (int i = 0; i < 4; i++) {
		o = obs(1, "a.example", (uint64_t)i * 100);
		CHECK(observe(e, &o) == 0);
	}
	o = obs(1, "a.example", 59999);
	CHECK(observe_kind(e, &o, ALERT_RATE_ANOMALY) == 1);
	alert_engine_free(e);

	e = alert_engine_new(&c);
	for (int i = 0; i < 4; i++) {
		o = obs(1, "a.example", (uint64_t)i * 100);
		CHECK(observe(e, &o) == 0);
	}
	o = obs(1, "a.example", 60000);
	CHECK(observe(e, &o) == 0);
	/* Requests 1..4 s apart: at 64 s only 60..64 s are in the window. */
	for (int i = 1; i < 4; i++) {
		o = obs(1, "a.example", 60000 + (uint64_t)i * 1000);
		CHECK(observe(e, &o) == 0);
	}
	o = obs(1, "a.example", 64000);
	CHECK(observe_kind(e, &o, ALERT_RATE_ANOMALY) == 1);
	/* A long pause empties the window. */
	o = obs(1, "a.example", 500000);
	CHECK(observe(e, &o) == 0);
	alert_engine_free(e);

	/* Cooldown 100 s under a steady flood: fires at 0 s and 100 s. */
	c.rate_per_source = 3;
	c.cooldown = 100;
	e = alert_engine_new(&c);
	{
		unsigned fired = 0, first = 0, second = 0;

		for (uint64_t t = 0; t <= 150; t++) {
			for (int r = 0; r < 3; r++) {
				o = obs(7, "a.example", t * 1000 + (uint64_t)r);
				if (observe_kind(e, &o, ALERT_RATE_ANOMALY)) {
					fired++;
					if (fired == 1)
						first = (unsigned)t * 10 +
						    (unsigned)r;
					else
						second = (unsigned)t * 10 +
						    (unsigned)r;
				}
			}
		}
		CHECKF(fired == 2, "fired %u", fired);
		CHECKF(first == 2, "first %u", first); /* t 0, 3rd */
		/* The first fired at 2 ms: 100 s later is t 100, 3rd. */
		CHECKF(second == 1002, "second %u", second);
	}
	alert_engine_free(e);

	/* No room in <out>: nothing written, and the cooldown not spent. */
	c.rate_per_source = 1;
	c.cooldown = 600;
	e = alert_engine_new(&c);
	o = obs(1, "a.example", 0);
	CHECK(alert_observe(e, &o, out, 0) == 0);
	CHECK(alert_observe(e, &o, NULL, 0) == 0);
	o = obs(1, "a.example", 10);
	CHECK(observe_kind(e, &o, ALERT_RATE_ANOMALY) == 1);
	alert_engine_free(e);
}

static void
test_rate_pair(void)
{
	struct alert_config c = cfg_off();
	struct alert_engine *e;
	struct alert_observation o;
	const struct alert *a;
	size_t n;

	c.rate_per_pair = 5;
	c.cooldown = 600;
	e = alert_engine_new(&c);
	for (int i = 0; i < 8; i++) {
		o = obs(1, i % 2 ? "a.example" : "b.example", (uint64_t)i);
		CHECK(observe(e, &o) == 0); /* 4 to each */
	}
	o = obs(1, "a.example", 100);
	n = observe(e, &o);
	CHECK(n == 1);
	a = find_kind(n, ALERT_RATE_ANOMALY);
	CHECK(a != NULL && strcmp(a->scope, "pair") == 0);
	CHECK(a != NULL && strcmp(a->dest, "a.example") == 0);
	CHECK(a != NULL && a->observed == 5 && a->threshold == 5);
	/* The other pair has its own count and cooldown. */
	o = obs(1, "b.example", 200);
	CHECK(observe_kind(e, &o, ALERT_RATE_ANOMALY) == 1);
	o = obs(1, "b.example", 300);
	CHECK(observe(e, &o) == 0);
	alert_engine_free(e);
}

static void
test_novelty(void)
{
	struct alert_config c = cfg_off();
	struct alert_engine *e;
	struct alert_observation o;
	const struct alert *a;
	size_t n;

	/* No learning: the very first visit is new. */
	c.novelty_window = 100;
	c.novelty_learning = 0;
	e = alert_engine_new(&c);
	o = obs(1, "a.example", 0);
	n = observe(e, &o);
	a = find_kind(n, ALERT_NEW_DESTINATION);
	CHECK(n == 1 && a != NULL);
	CHECK(a != NULL && a->observed == 0 && a->threshold == 100);
	CHECK(a != NULL && strcmp(a->scope, "pair") == 0);
	CHECK(a != NULL && strcmp(a->dest, "a.example") == 0);
	/* Revisits within the window are not. */
	o = obs(1, "a.example", 99999);
	CHECK(observe(e, &o) == 0);
	o = obs(1, "a.example", 199998);
	CHECK(observe(e, &o) == 0);
	/* A revisit a full window after the last visit is new again. */
	o = obs(1, "a.example", 299998);
	n = observe(e, &o);
	a = find_kind(n, ALERT_NEW_DESTINATION);
	CHECK(n == 1 && a != NULL && a->observed == 100);
	/* Another destination of the same source is new. */
	o = obs(1, "b.example", 300000);
	CHECK(observe_kind(e, &o, ALERT_NEW_DESTINATION) == 1);
	alert_engine_free(e);

	/* Learning: nothing for the first hour of a source. */
	c.novelty_window = 604800;
	c.novelty_learning = 3600;
	e = alert_engine_new(&c);
	o = obs(1, "a.example", 0);
	CHECK(observe(e, &o) == 0);
	o = obs(1, "b.example", 3599999);
	CHECK(observe(e, &o) == 0);
	o = obs(2, "a.example", 3600000); /* a new source learns anew */
	CHECK(observe(e, &o) == 0);
	o = obs(1, "c.example", 3600000);
	CHECK(observe_kind(e, &o, ALERT_NEW_DESTINATION) == 1);
	o = obs(1, "a.example", 3600500); /* learnt, within the window */
	CHECK(observe(e, &o) == 0);
	o = obs(1, "b.example", 3601000);
	CHECK(observe(e, &o) == 0);
	alert_engine_free(e);

	/* Cooldown per pair applies to novelty too. */
	c.novelty_window = 100;
	c.novelty_learning = 0;
	c.cooldown = 1000;
	e = alert_engine_new(&c);
	o = obs(1, "a.example", 0);
	CHECK(observe(e, &o) == 1);
	o = obs(1, "a.example", 200000);
	CHECK(observe(e, &o) == 0);
	o = obs(1, "a.example", 1100000);
	CHECK(observe_kind(e, &o, ALERT_NEW_DESTINATION) == 1);
	alert_engine_free(e);
}

static void
test_early_requery(void)
{
	struct alert_config c = cfg_off();
	struct alert_engine *e;
	struct alert_observation o;
	struct ocsp_cert_id x = cert(0x1234), y = cert(0x5678);
	const struct alert *a;
	size_t n;

	c.early_requery = 3;
	c.cooldown = 600;
	e = alert_engine_new(&c);
	/* Answers valid for 2 h; a beacon re-asks every minute. */
	for (unsigned i = 0; i < 3; i++) {
		o = obs(1, "ocsp.example", (uint64_t)i * 60000);
		o.certs = &x;
		o.ncerts = 1;
		o.next_update = o.now + 7200;
		CHECK(observe(e, &o) == 0); /* first ask, early #1, #2 */
	}
	o = obs(1, "ocsp.example", 180000);
	o.certs = &x;
	o.ncerts = 1;
	o.next_update = o.now + 7200;
	n = observe(e, &o);
	a = find_kind(n, ALERT_EARLY_REQUERY);
	CHECK(n == 1 && a != NULL);
	CHECK(a != NULL && a->observed == 3 && a->threshold == 3);
	CHECK(a != NULL && strcmp(a->scope, "certificate") == 0);
	CHECK(a != NULL && strcmp(a->dest, "ocsp.example") == 0);
	CHECK(a != NULL && a->serial_len == 4 &&
	    memcmp(a->serial, "\x0a\x00\x12\x34", 4) == 0);
	/* The answer got at 120 s runs to 7320 s; now is 180 s. */
	CHECKF(a != NULL && a->next_update_in == 7140, "%ld",
	    a != NULL ? a->next_update_in : 0);
	CHECK(a != NULL && a->window_sec == 7200);
	/* Cooldown, and another certificate has its own count. */
	o = obs(1, "ocsp.example", 240000);
	o.certs = &x;
	o.ncerts = 1;
	CHECK(observe(e, &o) == 0);
	o.certs = &y;
	CHECK(observe(e, &o) == 0);
	alert_engine_free(e);

	/* Re-asks at or after the midpoint are what real clients do. */
	e = alert_engine_new(&c);
	for (unsigned i = 0; i < 10; i++) {
		o = obs(1, "ocsp.example", (uint64_t)i * 3600000);
		o.certs = &x;
		o.ncerts = 1;
		o.next_update = o.now + 7200;
		CHECK(observe(e, &o) == 0);
	}
	alert_engine_free(e);

	/* Re-asks after nextUpdate, with no fresh good answer, are fine. */
	e = alert_engine_new(&c);
	o = obs(1, "ocsp.example", 0);
	o.certs = &x;
	o.ncerts = 1;
	o.next_update = o.now + 100;
	CHECK(observe(e, &o) == 0);
	for (unsigned i = 0; i < 10; i++) {
		o = obs(1, "ocsp.example", 100000 + (uint64_t)i * 1000);
		o.certs = &x;
		o.ncerts = 1;
		CHECK(observe(e, &o) == 0);
	}
	alert_engine_free(e);

	/* A normal re-ask resets the count of consecutive early ones. */
	e = alert_engine_new(&c);
	o = obs(1, "ocsp.example", 0);
	o.certs = &x;
	o.ncerts = 1;
	o.next_update = o.now + 1000;
	CHECK(observe(e, &o) == 0);
	o = obs(1, "ocsp.example", 10000); /* early 1 */
	o.certs = &x;
	o.ncerts = 1;
	CHECK(observe(e, &o) == 0);
	o = obs(1, "ocsp.example", 20000); /* early 2 */
	o.certs = &x;
	o.ncerts = 1;
	CHECK(observe(e, &o) == 0);
	o = obs(1, "ocsp.example", 600000); /* past the midpoint */
	o.certs = &x;
	o.ncerts = 1;
	o.next_update = o.now + 1000;
	CHECK(observe(e, &o) == 0);
	o = obs(1, "ocsp.example", 610000); /* early 1 again */
	o.certs = &x;
	o.ncerts = 1;
	CHECK(observe(e, &o) == 0);
	alert_engine_free(e);
}

/*
 * The certificate records a source keeps: at the bound, the least
 * recently asked about is forgotten, the lowest record among equals,
 * whatever order the times come in. A certificate is remembered when an
 * early re-ask about it raises early_requery (threshold 1, no cooldown):
 * checked against a plain model of the records over seeded series.
 */
static void
test_cert_records(void)
{
	static const struct {
		const char *name;
		uint32_t seed;
		unsigned pool;   /* distinct certificates asked about */
		unsigned step;   /* ms between requests, before jitter */
		unsigned jitter; /* up to this many ms earlier */
	} cases[] = {
	    {"fits", 1, 200, 10, 0},
	    {"same millisecond", 2, 400, 0, 0},
	    {"steady", 3, 300, 7, 0},
	    {"late clocks", 4, 320, 3, 5},
	    {"wide pool", 5, 2000, 1, 2},
	};
	struct alert_config c = cfg_off();

	c.early_requery = 1;
	c.cooldown = 0;
	for (size_t t = 0; t < sizeof(cases) / sizeof(cases[0]); t++) {
		uint64_t ids[ALERT_MAX_CERTS_PER_SOURCE],
		    last[ALERT_MAX_CERTS_PER_SOURCE], now_ms = 1000000;
		int64_t recv[ALERT_MAX_CERTS_PER_SOURCE];
		size_t n = 0, hits = 0, bad = 0;
		uint32_t st = cases[t].seed;
		struct alert_engine *e = alert_engine_new(&c);

		for (unsigned r = 0; r < 6000; r++) {
			unsigned id = lcg(&st) % cases[t].pool;
			uint64_t at = now_ms;
			struct alert_observation o;
			struct ocsp_cert_id x = cert(id);
			size_t i, lru = 0;
			bool want = false;

			now_ms += cases[t].step;
			if (cases[t].jitter != 0)
				at -= lcg(&st) % (cases[t].jitter + 1);
			o = obs(1, "ocsp.example", at);
			o.certs = &x;
			o.ncerts = 1;
			o.next_update = o.now + 86400;
			/* The model: find, else append, else reuse. */
			for (i = 0; i < n && ids[i] != id; i++) {
				if (last[i] < last[lru])
					lru = i;
			}
			if (i < n) {
				want = o.now >= recv[i];
			} else if (n < ALERT_MAX_CERTS_PER_SOURCE) {
				i = n++;
			} else {
				i = lru;
			}
			ids[i] = id;
			last[i] = at;
			recv[i] = o.now;
			if (want)
				hits++;
			if ((observe_kind(e, &o, ALERT_EARLY_REQUERY) == 1) !=
			    want)
				bad++;
		}
		CHECKF(bad == 0 && hits > 100,
		    "%s: %zu of 6000 differ, %zu hits", cases[t].name, bad,
		    hits);
		alert_engine_free(e);
	}
}

static void
test_serial_fanout(void)
{
	struct alert_config c = cfg_off();
	struct alert_engine *e;
	struct alert_observation o;
	struct ocsp_cert_id ids[3];
	const struct alert *a;
	size_t n;

	c.serial_fanout = 5;
	c.fanout_window = 600;
	c.cooldown = 0;
	e = alert_engine_new(&c);
	/* Four distinct serials, each asked twice: four. */
	for (unsigned i = 0; i < 8; i++) {
		struct ocsp_cert_id id = cert(i % 4);

		o = obs(1, "ocsp.example", (uint64_t)i * 1000);
		o.certs = &id;
		o.ncerts = 1;
		CHECK(observe(e, &o) == 0);
	}
	/*
	 * The fifth distinct certificate ID fires, though its serial was
	 * seen: an attacker varies the issuer hashes as easily.
	 */
	ids[0] = cert(0);
	ids[0].name_hash[0] ^= 0xff;
	o = obs(1, "ocsp.example", 10000);
	o.certs = ids;
	o.ncerts = 1;
	n = observe(e, &o);
	a = find_kind(n, ALERT_SERIAL_FANOUT);
	CHECK(n == 1 && a != NULL);
	CHECK(a != NULL && a->observed == 5 && a->threshold == 5);
	CHECK(a != NULL && a->window_sec == 600);
	CHECK(a != NULL && strcmp(a->scope, "source") == 0);
	CHECK(a != NULL && a->dest[0] == '\0');
	alert_engine_free(e);

	/* The window tumbles: four, then a new window from 600 s. */
	e = alert_engine_new(&c);
	for (unsigned i = 0; i < 4; i++) {
		ids[0] = cert(i);
		o = obs(1, "ocsp.example", (uint64_t)i);
		o.certs = ids;
		o.ncerts = 1;
		CHECK(observe(e, &o) == 0);
	}
	ids[0] = cert(100);
	o = obs(1, "ocsp.example", 600000);
	o.certs = ids;
	o.ncerts = 1;
	CHECK(observe(e, &o) == 0);
	/* Several certificates in one request count each. */
	for (unsigned i = 0; i < 3; i++)
		ids[i] = cert(101 + i);
	o = obs(1, "ocsp.example", 600001);
	o.certs = ids;
	o.ncerts = 3;
	CHECK(observe(e, &o) == 0); /* 4 in this window */
	ids[0] = cert(104);
	o = obs(1, "ocsp.example", 600002);
	o.certs = ids;
	o.ncerts = 1;
	CHECK(observe_kind(e, &o, ALERT_SERIAL_FANOUT) == 1);
	alert_engine_free(e);
}

/* Runs a pair series and returns how many periodic alerts it raised;
 * *at is the 1-based request of the first. */
static unsigned
periodic_series(struct alert_engine *e, const uint64_t *times, size_t n,
    size_t *at, const struct alert **first)
{
	unsigned fired = 0;
	struct alert_observation o;
	size_t k;

	*at = 0;
	for (size_t i = 0; i < n; i++) {
		o = obs(9, "beacon.example", times[i]);
		k = observe(e, &o);
		if (find_kind(k, ALERT_PERIODIC) != NULL) {
			if (fired++ == 0) {
				*at = i + 1;
				if (first != NULL)
					*first = find_kind(k, ALERT_PERIODIC);
			}
			if (first != NULL && fired == 1)
				break; /* keep <out> as it is */
		}
	}
	return fired;
}

/*
 * A burst, then a beacon: as slow intervals push the burst's out of the
 * ring, the median passes a second (9 slow of 16) but the spread stays
 * too wide while the second-shortest is a burst one; the alert comes
 * with the 15th slow interval, whatever the period past a second.
 */
static void
test_periodic_after_burst(void)
{
	static const struct {
		unsigned burst_ms; /* between burst requests */
		unsigned period_ms;
	} cases[] = {{100, 60000}, {999, 5000}, {0, 1000}};
	struct alert_config c = cfg_off();

	c.periodic_min = 12;
	c.periodic_jitter = 0.3;
	c.cooldown = 600;
	for (size_t t = 0; t < sizeof(cases) / sizeof(cases[0]); t++) {
		static uint64_t times[40];
		struct alert_engine *e = alert_engine_new(&c);
		uint64_t now = 1000;
		size_t n = 0, at;

		for (; n < 17; n++, now += cases[t].burst_ms)
			times[n] = now;
		for (now += cases[t].period_ms - cases[t].burst_ms; n < 40;
		     n++, now += cases[t].period_ms)
			times[n] = now;
		CHECK(periodic_series(e, times, 40, &at, NULL) == 1);
		CHECKF(at == 17 + 15, "case %zu: at %zu", t, at);
		alert_engine_free(e);
	}
}

static void
test_periodic(void)
{
	struct alert_config c = cfg_off();
	struct alert_engine *e;
	static uint64_t times[400];
	const struct alert *a = NULL;
	uint32_t seed = 12345;
	uint64_t t;
	size_t at;

	c.periodic_min = 8;
	c.periodic_jitter = 0.2;
	c.cooldown = 600;

	/* 30 s +-5 %: fires at the 9th request (8th interval). */
	t = 1000;
	for (size_t i = 0; i < 20; i++) {
		times[i] = t;
		t += 28500 + lcg(&seed) % 3001;
	}
	e = alert_engine_new(&c);
	CHECK(periodic_series(e, times, 20, &at, &a) == 1);
	CHECKF(at == 9, "at %zu", at);
	CHECK(a != NULL && strcmp(a->scope, "pair") == 0);
	CHECK(a != NULL && strcmp(a->dest, "beacon.example") == 0);
	CHECK(a != NULL && a->samples == 8 && a->observed == 8);
	CHECK(a != NULL && a->threshold == 8);
	CHECKF(a != NULL && a->mean_interval > 28.5 && a->mean_interval < 31.5,
	    "mean %f", a != NULL ? a->mean_interval : 0);
	CHECKF(a != NULL && a->cv < 0.05, "cv %f", a != NULL ? a->cv : 0);
	CHECK(a != NULL && a->score > 0.95 && a->score <= 1);
	CHECK(a != NULL && a->score + a->jitter > 0.999 &&
	    a->score + a->jitter < 1.001);
	CHECKF(a != NULL && a->jitter < 0.06, "jitter %f",
	    a != NULL ? a->jitter : 0);
	CHECKF(
	    a != NULL && a->median_interval > 28.5 && a->median_interval < 31.5,
	    "median %f", a != NULL ? a->median_interval : 0);
	CHECK(a != NULL && a->window_sec >= 228 && a->window_sec <= 252);
	alert_engine_free(e);

	/* The cooldown holds over a long regular series: 20 * 30 s. */
	e = alert_engine_new(&c);
	CHECK(periodic_series(e, times, 20, &at, NULL) == 1);
	alert_engine_free(e);

	/* Poisson-like arrivals (mean 30 s, 100 ms ticks): never. */
	seed = 777;
	t = 0;
	for (size_t i = 0; i < 400; i++) {
		do
			t += 100;
		while (lcg(&seed) % 300 != 0);
		times[i] = t;
	}
	e = alert_engine_new(&c);
	CHECK(periodic_series(e, times, 400, &at, NULL) == 0);
	alert_engine_free(e);

	/* A burst of sub-second requests, even perfectly regular: never. */
	for (size_t i = 0; i < 100; i++)
		times[i] = 5000 + i * 500;
	e = alert_engine_new(&c);
	CHECK(periodic_series(e, times, 100, &at, NULL) == 0);
	alert_engine_free(e);

	/* Exactly one second is slow enough. */
	for (size_t i = 0; i < 9; i++)
		times[i] = 5000 + i * 1000;
	e = alert_engine_new(&c);
	CHECK(periodic_series(e, times, 8, &at, NULL) == 0);
	alert_engine_free(e);
	e = alert_engine_new(&c);
	CHECK(periodic_series(e, times, 9, &at, NULL) == 1 && at == 9);
	alert_engine_free(e);

	/* periodic_min above ALERT_INTERVALS is capped to it. */
	c.periodic_min = 100;
	for (size_t i = 0; i < 20; i++)
		times[i] = i * 60000;
	e = alert_engine_new(&c);
	CHECK(periodic_series(e, times, 20, &at, NULL) == 1 && at == 17);
	alert_engine_free(e);
}

static void
test_lru(void)
{
	struct alert_config c = cfg_off();
	struct alert_engine *e;
	struct alert_observation o;
	struct alert_stats st;

	/* New destinations with no learning tell tracked from evicted. */
	c.novelty_window = 604800;
	c.max_tracked_sources = 10;
	e = alert_engine_new(&c);
	for (uint32_t s = 1; s <= 10; s++) {
		o = obs(s, "a.example", s);
		CHECK(observe(e, &o) == 1);
	}
	o = obs(1, "a.example", 100); /* 1 becomes the most recent */
	CHECK(observe(e, &o) == 0);
	o = obs(11, "a.example", 200); /* evicts 2 */
	CHECK(observe(e, &o) == 1);
	alert_engine_stats(e, &st);
	CHECK(st.sources == 10 && st.evictions == 1);
	o = obs(1, "a.example", 300);
	CHECK(observe(e, &o) == 0);
	o = obs(2, "a.example", 400); /* forgotten; evicts 3 */
	CHECK(observe(e, &o) == 1);
	o = obs(4, "a.example", 500);
	CHECK(observe(e, &o) == 0);
	for (uint32_t s = 100; s < 115; s++) {
		o = obs(s, "a.example", 1000 + s);
		(void)observe(e, &o);
	}
	alert_engine_stats(e, &st);
	CHECK(st.sources == 10 && st.evictions == 17);

	/* Shrinking on reload evicts at once, the least recent first. */
	c.max_tracked_sources = 3;
	alert_engine_configure(e, &c);
	alert_engine_stats(e, &st);
	CHECK(st.sources == 3 && st.evictions == 24);
	o = obs(114, "a.example", 5000);
	CHECK(observe(e, &o) == 0);
	o = obs(112, "a.example", 5000);
	CHECK(observe(e, &o) == 0);
	o = obs(111, "a.example", 5000);
	CHECK(observe(e, &o) == 1);
	alert_engine_stats(e, &st);
	CHECK(st.sources == 3 && st.evictions == 25);

	/* Growing keeps the state; new thresholds apply at once. */
	c.max_tracked_sources = 0; /* the default bound */
	c.rate_per_source = 2;
	alert_engine_configure(e, &c);
	o = obs(114, "a.example", 5100);
	CHECK(observe(e, &o) == 0);
	CHECK(observe_kind(e, &o, ALERT_RATE_ANOMALY) == 1);
	alert_engine_free(e);

	/* Per-source bounds: 200 destinations, the oldest forgotten. */
	c = cfg_off();
	c.novelty_window = 604800;
	e = alert_engine_new(&c);
	for (unsigned d = 0; d < 200; d++) {
		char host[32];

		snprintf(host, sizeof(host), "r%u.example", d);
		o = obs(1, host, d);
		CHECK(observe(e, &o) == 1);
	}
	o = obs(1, "r199.example", 1000);
	CHECK(observe(e, &o) == 0);
	o = obs(1, "r136.example", 1000); /* the oldest still kept */
	CHECK(observe(e, &o) == 0);
	o = obs(1, "r0.example", 1000);
	CHECK(observe(e, &o) == 1);
	alert_engine_free(e);

	/* All alerts off: nothing is tracked. */
	c = cfg_off();
	e = alert_engine_new(&c);
	o = obs(1, "a.example", 0);
	CHECK(observe(e, &o) == 0);
	alert_engine_stats(e, &st);
	CHECK(st.sources == 0);
	alert_engine_free(e);
	alert_engine_free(NULL);
}

/* Formats <a>, checks it is one valid JSON line, returns the text. */
static const char *
format_ok(struct json *j, const struct alert *a, const char *domain)
{
	struct timespec ts = {1700000000, 123456789};

	alert_format(j, a, &ts, "192.0.2.7", domain, "9.8.7");
	CHECK(!j->failed);
	CHECK(j->len > 0 && j->buf[j->len - 1] == '\n');
	CHECK(memchr(j->buf, '\n', j->len) == j->buf + j->len - 1);
	CHECKF(fuzz_json_validate(j->buf, j->len, NULL), "%s", j->buf);
	return j->buf;
}

static void
test_format(void)
{
	static const char head[] =
	    "{\"@timestamp\":\"2023-11-14T22:13:20.123Z\","
	    "\"ecs\":{\"version\":\"" EVENT_ECS_VERSION "\"},";
	struct json j;
	struct alert a;
	const char *s;

	json_init(&j);

	memset(&a, 0, sizeof(a));
	a.kind = ALERT_PERIODIC;
	a.scope = "pair";
	snprintf(a.dest, sizeof(a.dest), "%s", "ocsp.example.com");
	a.observed = 8;
	a.threshold = 8;
	a.window_sec = 240;
	a.mean_interval = 30.0125;
	a.median_interval = 30.001;
	a.jitter = 0.0512;
	a.cv = 0.0291;
	a.score = 0.9488;
	a.samples = 8;
	s = format_ok(&j, &a, "host1.corp");
	CHECKF(strncmp(s, head, sizeof(head) - 1) == 0, "%s", s);
	CHECKF(strstr(s,
	           "\"event\":{\"kind\":\"alert\",\"category\":["
	           "\"network\",\"intrusion_detection\"],\"type\":"
	           "[\"info\"],\"action\":\"alert\",\"reason\":"
	           "\"periodic\",\"module\":\"ocspgate\",\"dataset\":"
	           "\"ocspgate.events\"},\"observer\":{\"vendor\":"
	           "\"ocspgate\",\"product\":\"ocspgate\",\"type\":"
	           "\"proxy\",\"version\":\"9.8.7\"}") != NULL,
	    "%s", s);
	/* An alert has no outcome: ECS leaves it out for type info. */
	CHECK(strstr(s, "outcome") == NULL);
	CHECK(strstr(s,
	          "\"source\":{\"ip\":\"192.0.2.7\",\"domain\":"
	          "\"host1.corp\"}") != NULL);
	CHECK(strstr(s, "\"destination\":{\"domain\":\"ocsp.example.com\"}") !=
	    NULL);
	CHECKF(strstr(s,
	           "\"ocspgate\":{\"alert\":{\"scope\":\"pair\","
	           "\"observed\":8,\"threshold\":8,\"window\":240,"
	           "\"mean_interval\":30.013,\"median_interval\":30.001,"
	           "\"jitter\":0.051,\"cv\":0.029,"
	           "\"score\":0.949,\"samples\":8}},"
	           "\"related\":{\"ip\":[\"192.0.2.7\"],\"hosts\":"
	           "[\"host1.corp\",\"ocsp.example.com\"]}}\n") != NULL,
	    "%s", s);

	memset(&a, 0, sizeof(a));
	a.kind = ALERT_EARLY_REQUERY;
	a.scope = "certificate";
	snprintf(a.dest, sizeof(a.dest), "%s", "192.0.2.80");
	a.observed = 3;
	a.threshold = 3;
	a.window_sec = 7200;
	memcpy(a.serial, "\x0a\x00\x12\x34", 4);
	a.serial_len = 4;
	a.next_update_in = 7140;
	s = format_ok(&j, &a, NULL);
	CHECK(strstr(s, "\"reason\":\"early_requery\"") != NULL);
	CHECK(strstr(s, "\"source\":{\"ip\":\"192.0.2.7\"}") != NULL);
	CHECK(strstr(s, "\"destination\":{\"ip\":\"192.0.2.80\"}") != NULL);
	CHECK(strstr(s, "\"serial\":\"0A001234\",\"next_update_in\":7140") !=
	    NULL);
	/* An address literal destination is a related IP, not a host. */
	CHECKF(strstr(s,
	           "\"related\":{\"ip\":[\"192.0.2.7\",\"192.0.2.80\"]}}\n") !=
	        NULL,
	    "%s", s);
	CHECK(strstr(s, "mean_interval") == NULL);

	/* A source-wide alert has no destination; hostile bytes escape. */
	memset(&a, 0, sizeof(a));
	a.kind = ALERT_RATE_ANOMALY;
	a.scope = "source";
	a.observed = 601;
	a.threshold = 600;
	a.window_sec = 60;
	s = format_ok(&j, &a, "evil\"\n\x01\xff");
	CHECK(strstr(s, "\"destination\"") == NULL);
	CHECK(strstr(s,
	          "\"scope\":\"source\",\"observed\":601,"
	          "\"threshold\":600,\"window\":60}") != NULL);
	CHECK(strstr(s, "serial") == NULL);

	/* Figures out of range still give valid JSON. */
	memset(&a, 0, sizeof(a));
	a.kind = ALERT_PERIODIC;
	a.scope = "pair";
	a.mean_interval = -1;
	a.cv = 1e300;
	a.score = NAN;
	s = format_ok(&j, &a, NULL);
	CHECK(strstr(s, "\"mean_interval\":0.000") != NULL);
	CHECK(strstr(s, "\"score\":0.000") != NULL);

	json_free(&j);
}

/* Many sources through a small engine, all alerts on: bounds hold. */
static void
test_stress(void)
{
	struct alert_config c;
	struct alert_engine *e;
	struct alert_observation o;
	struct alert_stats st;
	struct ocsp_cert_id ids[2];
	uint32_t seed = 4242, r;
	uint64_t alerts = 0;
	bool bounded = true;
	char host[32];

	alert_config_defaults(&c);
	c.max_tracked_sources = 1000;
	c.novelty_learning = 0;
	c.cooldown = 5;
	c.rate_per_source = 20;
	c.rate_per_pair = 10;
	c.serial_fanout = 30;
	e = alert_engine_new(&c);
	CHECK(e != NULL);
	for (uint64_t i = 0; i < 100000; i++) {
		r = lcg(&seed);
		/* Half the traffic from 100 busy sources, half spread over
		 * 50000; destinations and serials from small pools. */
		snprintf(host, sizeof(host), "r%u.example", (r >> 4) % 90);
		o = obs(r & 1 ? 1 + r % 100 : 1000 + (r >> 1) % 50000, host,
		    i * 20);
		ids[0] = cert((r >> 6) % 400);
		ids[1] = cert((r >> 3) % 5);
		o.certs = ids;
		o.ncerts = 1 + (r >> 9) % 2;
		o.next_update = i % 3 ? o.now + 3600 : 0;
		alerts += observe(e, &o);
		if (i % 1000 == 0) {
			alert_engine_stats(e, &st);
			bounded = bounded && st.sources <= 1000;
		}
	}
	alert_engine_stats(e, &st);
	CHECK(bounded);
	CHECK(st.sources == 1000);
	CHECK(st.evictions > 40000);
	CHECK(st.alloc_failures == 0);
	CHECK(alerts > 0);

	/* One source asking about 3000 certificates: per-source bounds. */
	for (unsigned i = 0; i < 3000; i++) {
		ids[0] = cert(100000 + i);
		o = obs(1, "ocsp.example", 3000000 + (uint64_t)i);
		o.certs = ids;
		o.ncerts = 1;
		o.next_update = o.now + 3600;
		(void)observe(e, &o);
	}
	alert_engine_stats(e, &st);
	CHECK(st.sources == 1000 && st.alloc_failures == 0);
	alert_engine_free(e);
}

/* An observation from IPv6 address <a> (text). */
static struct alert_observation
obs6(const char *a, const char *dest, uint64_t now_ms)
{
	struct alert_observation o = obs(0, dest, now_ms);

	o.source.family = AF_INET6;
	memset(o.source.addr, 0, sizeof(o.source.addr));
	CHECK(inet_pton(AF_INET6, a, o.source.addr) == 1);
	return o;
}

/* IPv6 sources are one source per /64 (ipv6_prefix). */
static void
test_ipv6_grouping(void)
{
	static const char *const same64[] = {"2001:db8:1:2::7",
	    "2001:db8:1:2::8", "2001:db8:1:2:aaaa:bbbb:cccc:dddd",
	    "2001:db8:1:2:ffff:ffff:ffff:ffff"};
	struct alert_config c = cfg_off();
	struct alert_engine *e;
	struct alert_observation o;
	struct alert_stats st;
	const struct alert *a;
	struct json j;
	size_t n;

	c.rate_per_source = 4;
	c.cooldown = 0;
	c.ipv6_prefix = 64;
	e = alert_engine_new(&c);
	/* Four addresses of one /64: the fourth request fires. */
	for (size_t i = 0; i < 3; i++) {
		o = obs6(same64[i], "x", i);
		CHECK(observe(e, &o) == 0);
	}
	/* Another /64 and an IPv4 source are others. */
	o = obs6("2001:db8:1:3::7", "x", 4);
	CHECK(observe(e, &o) == 0);
	o = obs(0x0a000001, "x", 5);
	CHECK(observe(e, &o) == 0);
	o = obs6(same64[3], "x", 6);
	n = observe(e, &o);
	a = find_kind(n, ALERT_RATE_ANOMALY);
	CHECK(n == 1 && a != NULL && a->observed == 4);
	CHECK(a != NULL && a->source.family == AF_INET6 &&
	    a->source_prefix == 64);
	alert_engine_stats(e, &st);
	CHECK(st.sources == 3);
	json_init(&j);
	if (a != NULL) {
		struct timespec ts = {T0_WALL, 0};

		alert_format(
		    &j, a, &ts, "2001:db8:1:2:ffff:ffff:ffff:ffff", NULL, NULL);
		CHECKF(strstr(j.buf,
		           "\"source_prefix\":\"2001:db8:1:2::/64\"") != NULL,
		    "%s", j.buf);
		CHECK(strstr(j.buf,
		          "\"source\":{\"ip\":\"2001:db8:1:2:ffff:ffff:ffff:"
		          "ffff\"}") != NULL);
	}
	alert_engine_free(e);

	/* ipv6_prefix 128 (or 0): each address is its own source. */
	c.ipv6_prefix = 128;
	e = alert_engine_new(&c);
	for (size_t i = 0; i < 4; i++) {
		o = obs6(same64[i], "x", i);
		CHECK(observe(e, &o) == 0);
	}
	alert_engine_free(e);
	/* An IPv4 alert has no prefix. */
	c.ipv6_prefix = 64;
	e = alert_engine_new(&c);
	for (size_t i = 0; i < 4; i++) {
		o = obs(0x0a000001, "x", i);
		n = observe(e, &o);
	}
	a = find_kind(n, ALERT_RATE_ANOMALY);
	CHECK(a != NULL && a->source_prefix == 0);
	if (a != NULL) {
		struct timespec ts = {T0_WALL, 0};

		alert_format(&j, a, &ts, "10.0.0.1", NULL, NULL);
		CHECK(strstr(j.buf, "source_prefix") == NULL);
	}
	json_free(&j);
	alert_engine_free(e);
}

/*
 * Runs <n> requests of one pair at the times <gen> makes (ms after the
 * last), with good answers valid <validity> seconds (0: none), and
 * returns the 1-based request of the first periodic alert, or 0.
 */
static size_t
periodic_run(const struct alert_config *c, uint32_t seed, size_t n,
    uint64_t (*gen)(uint32_t *), unsigned validity)
{
	struct alert_engine *e = alert_engine_new(c);
	struct alert_observation o;
	uint64_t t = 1000;
	size_t at = 0;

	for (size_t i = 0; i < n && at == 0; i++) {
		o = obs(9, "ocsp.example", t);
		if (validity != 0)
			o.next_update = o.now + validity;
		if (observe_kind(e, &o, ALERT_PERIODIC) > 0)
			at = i + 1;
		t += gen(&seed);
	}
	alert_engine_free(e);
	return at;
}

/* 60 s +-30 %, uniform. */
static uint64_t
gen_beacon30(uint32_t *s)
{
	return 42000 + lcg(s) % 36001;
}

/* The same, missing one beat in ten (the interval doubles). */
static uint64_t
gen_beacon30_missed(uint32_t *s)
{
	uint64_t v = gen_beacon30(s);

	return lcg(s) % 10 == 0 ? 2 * v : v;
}

/* Cobalt-Strike-like: 60 s less up to 30 %. */
static uint64_t
gen_sleep_minus30(uint32_t *s)
{
	return 42000 + lcg(s) % 18001;
}

/* Random arrivals, mean 60 s: a chance of 1 in 600 per 100 ms tick. */
static uint64_t
gen_poisson60(uint32_t *s)
{
	uint64_t t = 0;

	do
		t += 100;
	while (lcg(s) % 600 != 0);
	return t;
}

/* A client re-asking at its answers' expiry: 7 days, a few minutes late. */
static uint64_t
gen_expiry(uint32_t *s)
{
	return 7ULL * 86400 * 1000 + lcg(s) % 300000;
}

/* The same with 4-hour answers (short-lived responders). */
static uint64_t
gen_expiry_4h(uint32_t *s)
{
	return 4ULL * 3600 * 1000 + lcg(s) % 60000;
}

static void
test_periodic_jitter(void)
{
	struct alert_config c = cfg_off();
	unsigned late = 0, missed = 0, fired;
	size_t at;

	alert_config_defaults(&c);
	c.rate_per_source = c.rate_per_pair = 0;
	c.novelty_window = 0;
	c.early_requery = 0;
	c.serial_fanout = 0;

	/* A beacon of 60 s +-30 % is found by its 13th request (12
	 * intervals) in every one of 50 runs, and a few late ones. */
	for (uint32_t seed = 1; seed <= 50; seed++) {
		at = periodic_run(&c, seed, 40, gen_beacon30, 0);
		CHECKF(at >= 13 && at <= 40, "seed %u: at %zu", seed, at);
		late += at > 13;
	}
	CHECKF(late <= 5, "%u of 50 found late", late);
	/* Answers valid a week do not make a 60 s beacon a cache. */
	CHECK(periodic_run(&c, 7, 40, gen_beacon30, 7 * 86400) != 0);
	/* Missed beats and one-sided sleeps too. */
	for (uint32_t seed = 1; seed <= 50; seed++) {
		at = periodic_run(&c, seed, 60, gen_beacon30_missed, 0);
		missed += at != 0;
		CHECKF(periodic_run(&c, seed, 40, gen_sleep_minus30, 0) == 13,
		    "seed %u", seed);
	}
	CHECKF(missed >= 48, "missed beats: %u of 50 found", missed);
	/* Random arrivals: 50 runs of 400 requests, never. */
	fired = 0;
	for (uint32_t seed = 1; seed <= 50; seed++)
		fired += periodic_run(&c, seed, 400, gen_poisson60, 0) != 0;
	CHECKF(fired == 0, "%u of 50 random series fired", fired);
	/* Re-asking as answers expire is what caching clients do: never,
	 * however regular. */
	for (uint32_t seed = 1; seed <= 10; seed++) {
		CHECK(periodic_run(&c, seed, 30, gen_expiry, 7 * 86400) == 0);
		CHECK(periodic_run(&c, seed, 30, gen_expiry_4h, 4 * 3600) == 0);
		/* Prefetching at half the validity is still a cache. */
		CHECK(periodic_run(&c, seed, 30, gen_expiry_4h, 8 * 3600) == 0);
	}
	/* Without answers to go by, a weekly rhythm is periodic. */
	CHECK(periodic_run(&c, 3, 30, gen_expiry, 0) == 13);
	/* A tighter tolerance misses the jittered beacon. */
	c.periodic_jitter = 0.05;
	CHECK(periodic_run(&c, 1, 40, gen_beacon30, 0) == 0);
}

/* Requests for certificate IDs the answers call unknown / unauthorized. */
static void
test_answer_status(void)
{
	struct alert_config c = cfg_off();
	struct alert_engine *e;
	struct alert_observation o;
	struct ocsp_cert_id id;
	const struct alert *a;
	size_t n;

	c.unknown_certs = 4;
	c.unauthorized = 3;
	c.cooldown = 600;
	e = alert_engine_new(&c);
	/* Three distinct unknown, each twice, and good answers between. */
	for (unsigned i = 0; i < 6; i++) {
		id = cert(i % 3);
		o = obs(1, "ocsp.example", i * 1000);
		o.certs = &id;
		o.ncerts = 1;
		o.answer_unknown = true;
		CHECK(observe(e, &o) == 0);
		id = cert(100 + i);
		o.answer_unknown = false;
		CHECK(observe(e, &o) == 0);
	}
	/* The fourth distinct fires, scope source. */
	id = cert(3);
	o = obs(1, "ocsp.example", 7000);
	o.certs = &id;
	o.ncerts = 1;
	o.answer_unknown = true;
	n = observe(e, &o);
	a = find_kind(n, ALERT_UNKNOWN_CERTS);
	CHECK(n == 1 && a != NULL);
	CHECK(a != NULL && a->observed == 4 && a->threshold == 4);
	CHECK(a != NULL && strcmp(a->scope, "source") == 0 &&
	    a->window_sec == 600);
	/* Cooldown: a fifth does not fire again. */
	id = cert(4);
	o.now_ms = 8000;
	CHECK(observe_kind(e, &o, ALERT_UNKNOWN_CERTS) == 0);

	/* Unauthorized answers, counted apart; another source apart. */
	for (unsigned i = 0; i < 2; i++) {
		id = cert(200 + i);
		o = obs(1, "ocsp.example", 9000 + i);
		o.certs = &id;
		o.ncerts = 1;
		o.answer_unauthorized = true;
		CHECK(observe(e, &o) == 0);
		o.source.addr[3] = 2;
		CHECK(observe(e, &o) == 0);
	}
	id = cert(202);
	o = obs(1, "ocsp.example", 9100);
	o.certs = &id;
	o.ncerts = 1;
	o.answer_unauthorized = true;
	n = observe(e, &o);
	a = find_kind(n, ALERT_UNAUTHORIZED);
	CHECK(n == 1 && a != NULL && a->observed == 3);
	alert_engine_free(e);

	/* The window tumbles: three now, one after 600 s, no alert. */
	c.cooldown = 0;
	e = alert_engine_new(&c);
	for (unsigned i = 0; i < 4; i++) {
		id = cert(i);
		o = obs(1, "ocsp.example", i < 3 ? i : 600000);
		o.certs = &id;
		o.ncerts = 1;
		o.answer_unknown = true;
		CHECK(observe(e, &o) == 0);
	}
	alert_engine_free(e);
	/* Off (0): never. */
	c.unknown_certs = 0;
	e = alert_engine_new(&c);
	for (unsigned i = 0; i < 20; i++) {
		id = cert(i);
		o = obs(1, "ocsp.example", i);
		o.certs = &id;
		o.ncerts = 1;
		o.answer_unknown = true;
		CHECK(observe_kind(e, &o, ALERT_UNKNOWN_CERTS) == 0);
	}
	alert_engine_free(e);
}

/* Requests flagged ua_mismatch, per source. */
static void
test_ua_mismatch(void)
{
	struct alert_config c = cfg_off();
	struct alert_engine *e;
	struct alert_observation o;
	const struct alert *a;
	size_t n;

	c.ua_mismatch = 3;
	c.cooldown = 600;
	e = alert_engine_new(&c);
	for (unsigned i = 0; i < 2; i++) {
		o = obs(1, "ocsp.example", i * 1000);
		o.ua_mismatch = true;
		CHECK(observe(e, &o) == 0);
		o.ua_mismatch = false; /* genuine ones between */
		CHECK(observe(e, &o) == 0);
		o = obs(2, "ocsp.example", i * 1000);
		o.ua_mismatch = true;
		CHECK(observe(e, &o) == 0);
	}
	o = obs(1, "other.example", 5000);
	o.ua_mismatch = true;
	n = observe(e, &o);
	a = find_kind(n, ALERT_UA_MISMATCH);
	CHECK(n == 1 && a != NULL && a->observed == 3 && a->threshold == 3);
	CHECK(
	    a != NULL && strcmp(a->scope, "source") == 0 && a->dest[0] == '\0');
	o.now_ms = 6000;
	CHECK(observe_kind(e, &o, ALERT_UA_MISMATCH) == 0); /* cooldown */
	alert_engine_free(e);

	/* Two now and one after the window: none. */
	e = alert_engine_new(&c);
	for (unsigned i = 0; i < 3; i++) {
		o = obs(1, "ocsp.example", i < 2 ? i : 600000);
		o.ua_mismatch = true;
		CHECK(observe(e, &o) == 0);
	}
	alert_engine_free(e);
}

int
main(void)
{
	test_names_and_defaults();
	test_source_hash();
	test_rate_source();
	test_rate_pair();
	test_novelty();
	test_early_requery();
	test_cert_records();
	test_serial_fanout();
	test_periodic();
	test_periodic_after_burst();
	test_periodic_jitter();
	test_ipv6_grouping();
	test_answer_status();
	test_ua_mismatch();
	test_lru();
	test_format();
	test_stress();
	return check_done();
}
