/*
 * The process: its workers (one thread, event loop and server each), the
 * listening sockets they share, the event log file, the behaviour-alert
 * state, and the main thread that takes signals, reloads, serves the
 * admin endpoint and writes periodic metric events.
 */
#ifndef OCSPGATE_GATE_H
#define OCSPGATE_GATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>
#include <time.h>

#include "ocspgate/config-t.h"
#include "ocspgate/json.h"
#include "ocspgate/metrics.h"

struct config;
struct event;
struct event_base;
struct event_log;
struct event_sink;
struct evhttp;
struct shared;
struct worker;

/* A listening socket; each worker accepts on a descriptor of it. */
struct gate_socket {
	char *text; /* as in the config */
	int transparent;
	int fd;
	char name[64]; /* bound address, real port */
};

struct gate {
	struct event_base *base; /* the main thread's */
	const char *path;
	struct config *cfg;
	struct event_sink *sink;
	struct event_log *log; /* the main thread's lines: metrics */
	struct gate_socket *socks;
	size_t nsocks;
	struct worker **workers;
	size_t nworkers;
	size_t nrunning;
	int done[2]; /* a worker's thread writes here as it ends */
	struct event *done_ev;
	struct event *sigs[4];
	bool stopping;
	struct shared *shared; /* what the workers share */
	struct evhttp *admin;
	struct event *metric_timer;
	struct json json; /* main thread scratch */
	time_t start_time;
	uint64_t reloads_ok, reloads_failed;
	bool last_reload_ok;
	time_t last_reload_time;
};

/*
 * Everything that needs privileges, from <cfg> (a reference is taken):
 * listening sockets bound, the event log opened, workers set up.
 * Returns 0, or -1 with a message in <err> (gate_free() still needed).
 */
int gate_init(struct gate *g, const char *path, struct config *cfg, char *err,
    size_t errlen);

/*
 * Only what workers share (g->shared: per-source counts, alert state),
 * from <cfg> (a reference is taken): no sockets, threads, loop or
 * outputs, for a server run in the caller's thread (one worker).
 * gate_init() starts with it. Returns 0, or -1 with a message in <err>
 * (gate_free() still needed).
 */
int gate_init_shared(
    struct gate *g, struct config *cfg, char *err, size_t errlen);

#define GATE_OUTPUTS 2 /* event outputs: file, syslog */

/*
 * The process's figures at one moment, gathered by the gate for the
 * admin endpoint and the metric events: its own (reloads, event
 * outputs, cache and alert state over all workers) copied, and each
 * worker's counters, which that worker alone writes and any thread may
 * read (metrics.h). Nothing in it needs the workers' code.
 */
struct gate_snapshot {
	struct metrics_process process; /* outputs point into outputs[] */
	struct metrics_event_output outputs[GATE_OUTPUTS];
	struct metrics *workers[CONFIG_WORKERS_MAX];
	size_t nworkers;
	const char **names; /* process.responder_names, owned (may be NULL) */
};

/* Fills <s> now. Main thread. Free with gate_snapshot_release(). */
void gate_snapshot(struct gate *g, struct gate_snapshot *s);
void gate_snapshot_release(struct gate_snapshot *s);

/* Runs the workers and the main loop until stopped. Returns 0. */
int gate_run(struct gate *g);

void gate_free(struct gate *g);

#endif
