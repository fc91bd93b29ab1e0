/*
 * The admin endpoint on admin_listen (libevent's evhttp, main thread):
 * GET /metrics in Prometheus text format, GET /healthz. Also the
 * periodic metric event line.
 */
#ifndef OCSPGATE_ADMIN_H
#define OCSPGATE_ADMIN_H

#include <stddef.h>

struct config;
struct gate;

/* Listens on cfg->admin_listen. Returns 0, or -1 with a message. */
int admin_start(
    struct gate *g, const struct config *cfg, char *err, size_t errlen);

/* Closes the endpoint, if any. */
void admin_stop(struct gate *g);

/* Writes one event.kind "metric" line with the counters so far. */
void admin_metric_event(struct gate *g);

#endif
