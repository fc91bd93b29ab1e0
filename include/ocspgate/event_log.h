/*
 * Event outputs: the event log file (or stdout), shared by every worker,
 * and RFC 5424 syslog, one socket per worker. Each worker queues whole
 * lines in its own event_log and hands them over once per loop pass, so
 * a burst costs one write and lines of different workers never mix.
 * Nothing here blocks the loop: a full pipe, a slow or absent collector
 * makes lines wait in a bounded queue, then drop, and drops are counted.
 */
#ifndef OCSPGATE_EVENT_LOG_H
#define OCSPGATE_EVENT_LOG_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

struct config;
struct event_base;
struct event_log;
struct event_sink;

#define EVENT_SINK_MAX_PENDING (16u << 20) /* file bytes waiting to drain */

/* Syslog severities used for lines (RFC 5424). */
#define EVENT_SEV_WARNING 4
#define EVENT_SEV_NOTICE  5
#define EVENT_SEV_INFO    6

/* What an output did so far; read by any thread. */
struct event_output_stats {
	_Atomic uint64_t lines;   /* handed to the output */
	_Atomic uint64_t dropped; /* queue full, write or send errors */
	_Atomic uint64_t queued;  /* bytes waiting now */
};

/*
 * Opens <path> for appending ("-" is stdout): the file all workers
 * write to. Returns it with one reference, or NULL with a message.
 */
struct event_sink *event_sink_open(const char *path, char *err, size_t errlen);
struct event_sink *event_sink_ref(struct event_sink *k);
void event_sink_unref(struct event_sink *k); /* takes NULL */
const struct event_output_stats *event_sink_stats(const struct event_sink *k);

/*
 * Reopens the file after rotation (any thread). Returns 0, or -1 keeping
 * the old file.
 */
int event_sink_reopen(struct event_sink *k);

/*
 * A worker's writer on <base>: lines go to <sink> and, when <cfg> names
 * one, to its event_syslog target. Returns NULL with a message.
 */
struct event_log *event_log_new(struct event_base *base,
    struct event_sink *sink, const struct config *cfg, char *err,
    size_t errlen);

/*
 * Queues one complete line (ending in '\n') for every output. <msgid>
 * ("event", "alert", "metric") and <severity> label the syslog message.
 * A line that does not fit in an output's queue is dropped and counted.
 */
void event_log_write(struct event_log *l, int severity, const char *msgid,
    const char *line, size_t len);

/*
 * Checks that the syslog target of <cfg>, if any, is usable: it parses
 * and its host name resolves (blocking). Returns 0, or -1 with a message.
 */
int event_log_check(const struct config *cfg, char *err, size_t errlen);

/*
 * A reload in two steps, so that it switches all or nothing. First
 * event_log_prepare() makes what writing to <sink> and to the syslog
 * target of <cfg> needs (a new syslog output only when the target or
 * facility changed; the connection is kept otherwise) without touching
 * <l>: it returns the change, or NULL with a message. Then either
 * event_log_commit() switches <l> to it (this cannot fail) or
 * event_log_abort() drops it; both free the change. A change is for the
 * <l> it was prepared on, and only one may be pending at a time.
 */
struct event_log_change;
struct event_log_change *event_log_prepare(struct event_log *l,
    struct event_sink *sink, const struct config *cfg, char *err,
    size_t errlen);
void event_log_commit(struct event_log *l, struct event_log_change *c);
void event_log_abort(struct event_log_change *c); /* takes NULL */

/* The syslog output's counters (zero while there is none). */
const struct event_output_stats *event_log_syslog_stats(
    const struct event_log *l);

/* Writes everything queued, waiting for the file if needed (at exit). */
void event_log_flush(struct event_log *l);

void event_log_free(struct event_log *l);

#endif
