/*
 * Admin endpoint and metric events: the figures of the snapshots the
 * gate builds (gate_snapshot()), rendered. It knows nothing of the
 * workers' code.
 */
#include <errno.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>

#include "ocspgate/admin.h"
#include "ocspgate/config.h"
#include "ocspgate/event.h"
#include "ocspgate/event_log.h"
#include "ocspgate/gate.h"
#include "ocspgate/json.h"
#include "ocspgate/metrics.h"

/*
 * Sends one complete answer of the endpoint's own: <type>, Cache-Control
 * no-store and, when not NULL, an Allow header. Every answer, errors
 * included, goes through here: evhttp_send_error() would drop these
 * headers and answer text/html.
 */
static void
admin_reply(struct evhttp_request *req, int code, const char *reason,
    const char *type, const char *allow, const char *body, size_t len)
{
	struct evkeyvalq *h = evhttp_request_get_output_headers(req);
	struct evbuffer *out = evbuffer_new();

	if (out == NULL) {
		/* Out of memory: libevent's own 500 is all that can go. */
		evhttp_send_error(req, 500, NULL);
		return;
	}
	evbuffer_add(out, body, len);
	evhttp_add_header(h, "Content-Type", type);
	evhttp_add_header(h, "Cache-Control", "no-store");
	if (allow != NULL)
		evhttp_add_header(h, "Allow", allow);
	evhttp_send_reply(req, code, reason, out);
	evbuffer_free(out);
}

#define ADMIN_TEXT "text/plain"

/* A plain-text answer whose body is the line <text>. */
static void
admin_reply_text(struct evhttp_request *req, int code, const char *reason,
    const char *allow, const char *text)
{
	admin_reply(req, code, reason, ADMIN_TEXT, allow, text, strlen(text));
}

static bool
admin_is_get(struct evhttp_request *req)
{
	enum evhttp_cmd_type cmd = evhttp_request_get_command(req);

	if (cmd == EVHTTP_REQ_GET || cmd == EVHTTP_REQ_HEAD)
		return true;
	admin_reply_text(req, 405, "Method Not Allowed", "GET, HEAD",
	    "method not allowed\n");
	return false;
}

/* Every path but /metrics and /healthz, whatever the method. */
static void
admin_on_other(struct evhttp_request *req, void *arg)
{
	(void)arg;
	admin_reply_text(req, 404, "Not Found", NULL, "not found\n");
}

static void
admin_on_metrics(struct evhttp_request *req, void *arg)
{
	struct gate *g = arg;
	struct gate_snapshot snap;
	int rc;

	if (!admin_is_get(req))
		return;
	gate_snapshot(g, &snap);
	json_reset(&g->json);
	rc = metrics_render(
	    &g->json, snap.workers, snap.nworkers, &snap.process);
	gate_snapshot_release(&snap);
	if (rc == -1) {
		admin_reply_text(
		    req, 500, "Internal Server Error", NULL, "out of memory\n");
		return;
	}
	admin_reply(req, 200, "OK", "text/plain; version=0.0.4; charset=utf-8",
	    NULL, g->json.buf, g->json.len);
}

static void
admin_on_healthz(struct evhttp_request *req, void *arg)
{
	struct gate *g = arg;

	if (!admin_is_get(req))
		return;
	if (g->stopping)
		admin_reply_text(
		    req, 503, "Service Unavailable", NULL, "stopping\n");
	else
		admin_reply_text(req, 200, "OK", NULL, "ok\n");
}

struct evhttp *
admin_open(struct gate *g, const struct config *cfg, char *err, size_t errlen)
{
	struct evhttp *http;
	int fd, on = 1;

	if ((http = evhttp_new(g->base)) == NULL) {
		snprintf(err, errlen, "admin_listen: out of memory");
		return NULL;
	}
	/* Every method reaches the handlers, which answer 405 but for GET. */
	evhttp_set_allowed_methods(http,
	    EVHTTP_REQ_GET | EVHTTP_REQ_HEAD | EVHTTP_REQ_POST |
	        EVHTTP_REQ_PUT | EVHTTP_REQ_DELETE | EVHTTP_REQ_OPTIONS |
	        EVHTTP_REQ_TRACE | EVHTTP_REQ_CONNECT | EVHTTP_REQ_PATCH);
	evhttp_set_timeout(http, 10);
	evhttp_set_max_headers_size(http, 8192);
	evhttp_set_max_body_size(http, 0);
	evhttp_set_cb(http, "/metrics", admin_on_metrics, g);
	evhttp_set_cb(http, "/healthz", admin_on_healthz, g);
	evhttp_set_gencb(http, admin_on_other, g);
	fd = socket(cfg->admin_addr.ss_family,
	    SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd == -1 ||
	    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on)) == -1 ||
	    bind(fd, (const struct sockaddr *)&cfg->admin_addr,
	        cfg->admin_addr_len) == -1 ||
	    listen(fd, 64) == -1 ||
	    evhttp_accept_socket_with_handle(http, fd) == NULL) {
		snprintf(err, errlen, "admin_listen %s: %s", cfg->admin_listen,
		    strerror(errno));
		if (fd != -1)
			close(fd);
		evhttp_free(http);
		return NULL;
	}
	return http;
}

void
admin_close(struct evhttp *http)
{
	if (http != NULL)
		evhttp_free(http);
}

/* The sum over the snapshot's workers of the counter at <offset>. */
static uint64_t
admin_sum(const struct gate_snapshot *s, size_t offset)
{
	uint64_t n = 0;

	for (size_t i = 0; i < s->nworkers; i++) {
		const char *m = (const char *)s->workers[i];

		n += metrics_get(
		    (const _Atomic uint64_t *)(const void *)(m + offset));
	}
	return n;
}

#define ADMIN_SUM(s, field) admin_sum(s, offsetof(struct metrics, field))

/* A metric line: counters, an ECS "metric" that informs. */
static const struct event_class admin_metric_class = {
    .kind = "metric",
    .category = {"network"},
    .type = {"info"},
    .action = "metric",
};

void
admin_metric_event(struct gate *g)
{
	struct gate_snapshot snap;
	const struct metrics_process *p = &snap.process;
	struct json *j = &g->json;
	uint64_t by_action[METRICS_ACTIONS] = {0}, alerts = 0;
	int64_t open = 0;
	struct timespec ts;

	gate_snapshot(g, &snap);
	for (size_t i = 0; i < snap.nworkers; i++) {
		const struct metrics *m = snap.workers[i];

		for (size_t a = 0; a < METRICS_ACTIONS; a++)
			for (size_t r = 0; r < REASON_MAX; r++)
				by_action[a] += metrics_get(&m->requests[a][r]);
		for (size_t k = 0; k < METRICS_ALERT_KINDS; k++)
			alerts += metrics_get(&m->alerts[k]);
		open += atomic_load_explicit(
		    &m->connections_open, memory_order_relaxed);
	}
	clock_gettime(CLOCK_REALTIME, &ts);
	event_begin(j, &ts, &admin_metric_class, OCSPGATE_VERSION);
	json_object_begin(j, "ocspgate");
	json_object_begin(j, "metrics");
	json_uint(j, "interval", g->cfg->metric_interval_sec);
	json_uint(j, "workers", p->workers);
	json_object_begin(j, "requests");
	json_uint(j, "allow", by_action[METRICS_ALLOW]);
	json_uint(j, "block", by_action[METRICS_BLOCK]);
	json_object_end(j);
	json_object_begin(j, "connections");
	json_int(j, "open", open);
	json_uint(j, "total", ADMIN_SUM(&snap, connections_total));
	json_object_end(j);
	json_object_begin(j, "events");
	for (size_t i = 0; i < p->noutputs; i++) {
		json_object_begin(j, p->outputs[i].name);
		json_uint(j, "sent", p->outputs[i].sent);
		json_uint(j, "dropped", p->outputs[i].dropped);
		json_uint(j, "queued_bytes", p->outputs[i].queued_bytes);
		json_object_end(j);
	}
	json_object_end(j);
	json_object_begin(j, "cache");
	json_uint(
	    j, "hit", ADMIN_SUM(&snap, cache_requests[METRICS_CACHE_HIT]));
	json_uint(
	    j, "miss", ADMIN_SUM(&snap, cache_requests[METRICS_CACHE_MISS]));
	json_uint(j, "bypass",
	    ADMIN_SUM(&snap, cache_requests[METRICS_CACHE_BYPASS]));
	json_uint(j, "entries", p->cache_entries);
	json_uint(j, "bytes", p->cache_bytes);
	json_object_end(j);
	json_object_begin(j, "alerts");
	json_uint(j, "total", alerts);
	json_uint(j, "sources_tracked", p->alert_sources_tracked);
	json_uint(j, "source_evictions", p->alert_source_evictions);
	json_object_end(j);
	json_object_begin(j, "reloads");
	json_uint(j, "ok", p->reloads_ok);
	json_uint(j, "failed", p->reloads_failed);
	json_bool(j, "last_success", p->last_reload_success);
	json_object_end(j);
	json_object_end(j);
	json_object_end(j);
	json_object_end(j);
	json_raw(j, "\n", 1);
	gate_snapshot_release(&snap);
	if (!j->failed)
		event_log_write(
		    g->log, EVENT_SEV_INFO, "metric", j->buf, j->len);
}
