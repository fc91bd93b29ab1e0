/*
 * The event log writer: whole JSON lines, batched per event-loop pass,
 * never blocking the loop on a full pipe.
 */
#ifndef OCSPGATE_EVENT_LOG_H
#define OCSPGATE_EVENT_LOG_H

#include <stddef.h>
#include <stdint.h>

struct event_base;
struct event_log;

#define EVENT_LOG_MAX_PENDING (16u << 20) /* bytes queued before dropping */

/*
 * Opens <path> for appending ("-" is stdout). Returns NULL with a message
 * in <err> on failure.
 */
struct event_log *event_log_open(
    struct event_base *base, const char *path, char *err, size_t errlen);

/*
 * Queues one complete line (ending in '\n'). It reaches the file at the
 * end of the current loop pass, in one write with the pass's other lines.
 * A line that does not fit in the queue is dropped and counted.
 */
void event_log_write(struct event_log *l, const char *line, size_t len);

/* Reopens the file (after rotation). Returns 0, or -1 keeping the old. */
int event_log_reopen(struct event_log *l);

/* Writes everything queued, blocking if needed (at exit). */
void event_log_flush(struct event_log *l);

/* Lines dropped so far (queue full or write errors). */
uint64_t event_log_dropped(const struct event_log *l);

void event_log_free(struct event_log *l);

#endif
