/*
 * The admin endpoint on admin_listen (libevent's evhttp, main thread):
 * GET /metrics in Prometheus text format, GET /healthz. Also the
 * periodic metric event line.
 */
#ifndef OCSPGATE_ADMIN_H
#define OCSPGATE_ADMIN_H

#include <stddef.h>

struct config;
struct evhttp;
struct gate;

/*
 * The endpoint on cfg->admin_listen, on the main thread's loop. Returns
 * NULL with a message in <err>.
 */
struct evhttp *admin_open(
    struct gate *g, const struct config *cfg, char *err, size_t errlen);

/* Closes an endpoint; takes NULL. */
void admin_close(struct evhttp *http);

/* Writes one event.kind "metric" line with the counters so far. */
void admin_metric_event(struct gate *g);

#endif
