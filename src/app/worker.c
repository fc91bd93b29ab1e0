/*
 * Workers. Commands come over a pipe, one byte each, so that the main
 * thread never touches a worker's event loop: 'r' picks up the config in
 * the mailbox, 'd' drains.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include <event2/event.h>

#include "ocspgate/config.h"
#include "ocspgate/event_log.h"
#include "ocspgate/log.h"
#include "ocspgate/server.h"
#include "ocspgate/worker.h"

struct worker {
	size_t id;
	pthread_t thread;
	bool started;
	int done_fd;
	struct event_base *base;
	struct server srv;
	bool srv_ready;
	int ctl[2];
	struct event *ctl_ev;
	/* The mailbox, filled by the main thread. */
	pthread_mutex_t lock;
	struct config *next_cfg;
	struct event_sink *next_sink;
	int *next_fds;
	unsigned drain_timeout_sec;
};

static void
worker_close_fds(int *fds, size_t n)
{
	if (fds == NULL)
		return;
	for (size_t i = 0; i < n; i++)
		if (fds[i] != -1)
			close(fds[i]);
	free(fds);
}

static void
worker_apply(struct worker *w)
{
	struct config *cfg;
	struct event_sink *sink;
	int *fds;
	char err[1024];

	pthread_mutex_lock(&w->lock);
	cfg = w->next_cfg;
	sink = w->next_sink;
	fds = w->next_fds;
	w->next_cfg = NULL;
	w->next_sink = NULL;
	w->next_fds = NULL;
	pthread_mutex_unlock(&w->lock);
	if (cfg == NULL)
		return;
	if (server_apply(&w->srv, cfg, sink, fds, err, sizeof(err)) == -1)
		log_warn("worker %zu: %s; it keeps the old configuration",
		    w->id, err);
	free(fds);
	event_sink_unref(sink);
	config_unref(cfg);
}

static void
worker_on_ctl(evutil_socket_t fd, short what, void *arg)
{
	struct worker *w = arg;
	char cmd[16];
	ssize_t n;

	(void)what;
	while ((n = read(fd, cmd, sizeof(cmd))) > 0) {
		for (ssize_t i = 0; i < n; i++) {
			if (cmd[i] == 'r') {
				worker_apply(w);
			} else if (cmd[i] == 'd') {
				unsigned timeout;

				pthread_mutex_lock(&w->lock);
				timeout = w->drain_timeout_sec;
				pthread_mutex_unlock(&w->lock);
				event_del(w->ctl_ev);
				server_drain(&w->srv, timeout);
				return;
			}
		}
	}
}

/*
 * An event loop whose epoll changes wait for the next dispatch: a write
 * event added and removed within one pass of the loop (an answer that
 * went out at once, say) then costs no epoll_ctl at all.
 */
static struct event_base *
worker_base_new(void)
{
	struct event_config *ec = event_config_new();
	struct event_base *base;

	if (ec == NULL)
		return NULL;
	event_config_set_flag(ec, EVENT_BASE_FLAG_EPOLL_USE_CHANGELIST);
	base = event_base_new_with_config(ec);
	event_config_free(ec);
	return base;
}

static void
worker_noop(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	(void)arg;
}

/*
 * libevent keeps a small record per descriptor number a loop has seen,
 * made on first use and freed only with the loop. Made during a burst,
 * those records lie between the connections' memory and pin every page
 * of it after they close: the heap cannot shrink back. Made here, up
 * front and side by side, they do not. With the changelist an event
 * added and deleted at once makes no system call, valid descriptor or
 * not.
 */
static void
worker_reserve_fds(struct event_base *base, const struct config *cfg)
{
	struct rlimit rl;
	struct event *ev = event_new(base, -1, EV_READ, worker_noop, NULL);
	rlim_t n = (rlim_t)cfg->max_connections * 2 + 256;

	if (ev == NULL)
		return;
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < n)
		n = rl.rlim_cur;
	for (rlim_t fd = 0; fd < n; fd++) {
		if (event_assign(ev, base, (evutil_socket_t)fd, EV_READ,
		        worker_noop, NULL) == 0 &&
		    event_add(ev, NULL) == 0)
			event_del(ev);
	}
	event_free(ev);
}

struct worker *
worker_new(struct shared *shared, size_t id, struct config *cfg,
    struct event_sink *sink, int *fds, char *err, size_t errlen)
{
	struct worker *w;

	if ((w = calloc(1, sizeof(*w))) == NULL) {
		snprintf(err, errlen, "out of memory");
		worker_close_fds(fds, cfg->nlisten);
		return NULL;
	}
	w->id = id;
	w->ctl[0] = w->ctl[1] = -1;
	w->done_fd = -1;
	pthread_mutex_init(&w->lock, NULL);
	if ((w->base = worker_base_new()) == NULL) {
		snprintf(err, errlen, "cannot create an event loop");
		goto fail;
	}
	if (pipe2(w->ctl, O_CLOEXEC | O_NONBLOCK) == -1) {
		snprintf(err, errlen, "pipe: %s", strerror(errno));
		goto fail;
	}
	w->ctl_ev = event_new(
	    w->base, w->ctl[0], EV_READ | EV_PERSIST, worker_on_ctl, w);
	if (w->ctl_ev == NULL || event_add(w->ctl_ev, NULL) == -1) {
		snprintf(err, errlen, "out of memory");
		goto fail;
	}
	worker_reserve_fds(w->base, cfg);
	w->srv_ready = true;
	if (server_init(&w->srv, shared, w->base, cfg, sink, err, errlen) == -1)
		goto fail;
	if (server_apply(&w->srv, cfg, sink, fds, err, errlen) == -1) {
		free(fds);
		worker_free(w);
		return NULL;
	}
	free(fds);
	return w;
fail:
	worker_close_fds(fds, cfg->nlisten);
	worker_free(w);
	return NULL;
}

static void *
worker_main(void *arg)
{
	struct worker *w = arg;
	char one = 1;

	server_run(&w->srv);
	while (write(w->done_fd, &one, 1) == -1 && errno == EINTR)
		continue;
	return NULL;
}

int
worker_start(struct worker *w, int done_fd)
{
	w->done_fd = done_fd;
	if (pthread_create(&w->thread, NULL, worker_main, w) != 0)
		return -1;
	w->started = true;
	return 0;
}

static void
worker_send(struct worker *w, char cmd)
{
	while (write(w->ctl[1], &cmd, 1) == -1 && errno == EINTR)
		continue;
}

void
worker_reload(
    struct worker *w, struct config *cfg, struct event_sink *sink, int *fds)
{
	pthread_mutex_lock(&w->lock);
	/* A reload not yet picked up is replaced by this one. */
	if (w->next_cfg != NULL) {
		worker_close_fds(w->next_fds, w->next_cfg->nlisten);
		event_sink_unref(w->next_sink);
		config_unref(w->next_cfg);
	}
	w->next_cfg = config_ref(cfg);
	w->next_sink = event_sink_ref(sink);
	w->next_fds = fds;
	pthread_mutex_unlock(&w->lock);
	worker_send(w, 'r');
}

void
worker_drain(struct worker *w, unsigned timeout_sec)
{
	pthread_mutex_lock(&w->lock);
	w->drain_timeout_sec = timeout_sec;
	pthread_mutex_unlock(&w->lock);
	worker_send(w, 'd');
}

void
worker_join(struct worker *w)
{
	if (w != NULL && w->started) {
		pthread_join(w->thread, NULL);
		w->started = false;
	}
}

struct server *
worker_server(struct worker *w)
{
	return &w->srv;
}

void
worker_free(struct worker *w)
{
	if (w == NULL)
		return;
	worker_join(w);
	if (w->next_cfg != NULL) {
		worker_close_fds(w->next_fds, w->next_cfg->nlisten);
		event_sink_unref(w->next_sink);
		config_unref(w->next_cfg);
	}
	if (w->srv_ready)
		server_free(&w->srv);
	if (w->ctl_ev != NULL)
		event_free(w->ctl_ev);
	if (w->ctl[0] != -1) {
		close(w->ctl[0]);
		close(w->ctl[1]);
	}
	if (w->base != NULL)
		event_base_free(w->base);
	pthread_mutex_destroy(&w->lock);
	free(w);
}
