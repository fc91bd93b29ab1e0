/*
 * The process around the workers. The main thread binds the listening
 * sockets (before privileges are dropped), starts one thread per worker
 * and then only handles signals, reloads, the admin endpoint and metric
 * events. It talks to a worker through a pipe: a command byte, and for a
 * reload a mailbox with the new config. A worker's loop is touched only
 * by its own thread, so libevent needs no locks.
 *
 * Workers accept on descriptors of one shared socket per address: the
 * kernel hands each connection to one of them, whichever is idle first,
 * and a reload or a drain never resets queued connections (as closing one
 * of several SO_REUSEPORT sockets would).
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>

#include "ocspgate/addr.h"
#include "ocspgate/admin.h"
#include "ocspgate/config.h"
#include "ocspgate/event_log.h"
#include "ocspgate/gate.h"
#include "ocspgate/listener.h"
#include "ocspgate/log.h"
#include "ocspgate/resolver.h"
#include "ocspgate/server.h"
#include "ocspgate/shared.h"
#include "ocspgate/shared_cache.h"
#include "ocspgate/worker.h"

/* ------------------------------------------------------------------ */
/* What the admin endpoint reads */

/* Event outputs summed over the workers and the main thread. */
static size_t
gate_outputs(struct gate *g, struct metrics_event_output *out)
{
	const struct event_output_stats *f = event_sink_stats(g->sink);
	const struct event_output_stats *y;
	size_t n = 1;

	out[0].name = "file";
	out[0].sent = atomic_load_explicit(&f->lines, memory_order_relaxed);
	out[0].dropped =
	    atomic_load_explicit(&f->dropped, memory_order_relaxed);
	out[0].queued_bytes =
	    atomic_load_explicit(&f->queued, memory_order_relaxed);
	if (g->cfg->event_syslog == NULL)
		return n;
	out[1].name = "syslog";
	out[1].sent = out[1].dropped = out[1].queued_bytes = 0;
	for (size_t i = 0; i <= g->nworkers; i++) {
		const struct event_log *l = i < g->nworkers
		    ? worker_server(g->workers[i])->log
		    : g->log;

		if (l == NULL || (y = event_log_syslog_stats(l)) == NULL)
			continue;
		out[1].sent +=
		    atomic_load_explicit(&y->lines, memory_order_relaxed);
		out[1].dropped +=
		    atomic_load_explicit(&y->dropped, memory_order_relaxed);
		out[1].queued_bytes +=
		    atomic_load_explicit(&y->queued, memory_order_relaxed);
	}
	return ++n;
}

/*
 * The responder and fetch-host names of <cfg>, as written, in a new
 * array (NULL when there are none or memory ran out: the series then
 * appear with their first request). The caller frees the array only.
 */
static const char **
gate_responder_names(const struct config *cfg, size_t *n)
{
	const struct {
		const struct responder *list;
		size_t n;
	} lists[] = {
	    {cfg->responders, cfg->nresponders},
	    {cfg->crl_hosts, cfg->ncrl_hosts},
	    {cfg->ca_issuer_hosts, cfg->nca_issuer_hosts},
	    {cfg->ctl_hosts, cfg->nctl_hosts},
	};
	const char **names;
	size_t total = 0, i, k;

	*n = 0;
	for (i = 0; i < sizeof(lists) / sizeof(lists[0]); i++)
		total += lists[i].n;
	if (total == 0 || (names = calloc(total, sizeof(*names))) == NULL)
		return NULL;
	for (i = 0; i < sizeof(lists) / sizeof(lists[0]); i++)
		for (k = 0; k < lists[i].n; k++)
			names[(*n)++] = lists[i].list[k].spec;
	return names;
}

void
gate_snapshot(struct gate *g, struct gate_snapshot *s)
{
	struct metrics_process *p = &s->process;
	struct ocsp_cache_stats cache;

	memset(s, 0, sizeof(*s));
	p->version = OCSPGATE_VERSION;
	p->start_time_sec = g->start_time;
	p->workers = (unsigned)g->nworkers;
	p->reloads_ok = g->reloads_ok;
	p->reloads_failed = g->reloads_failed;
	p->last_reload_success = g->last_reload_ok;
	p->last_reload_time_sec = g->last_reload_time;
	p->outputs = s->outputs;
	p->noutputs = gate_outputs(g, s->outputs);
	for (size_t i = 0; i < g->nworkers && i < CONFIG_WORKERS_MAX; i++) {
		struct server *srv = worker_server(g->workers[i]);

		s->workers[s->nworkers++] = &srv->metrics;
	}
	p->cache_max_bytes = g->cfg->cache_size;
	shared_cache_stats(shared_ocsp_cache(g->shared), &cache);
	p->cache_entries = cache.entries;
	p->cache_bytes = cache.bytes;
	p->cache_evictions = cache.evictions;
	shared_alert_stats(
	    g->shared, &p->alert_sources_tracked, &p->alert_source_evictions);
	s->names = gate_responder_names(g->cfg, &p->nresponder_names);
	p->responder_names = s->names;
}

void
gate_snapshot_release(struct gate_snapshot *s)
{
	free(s->names);
	s->names = NULL;
	s->process.responder_names = NULL;
	s->process.nresponder_names = 0;
}

/* ------------------------------------------------------------------ */
/* Listening sockets */

static void
gate_socket_name(struct gate_socket *s)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);

	s->name[0] = '\0';
	if (getsockname(s->fd, (struct sockaddr *)&ss, &len) == 0)
		addr_format(
		    (const struct sockaddr *)&ss, s->name, sizeof(s->name));
}

static void
gate_close_sockets(struct gate_socket *socks, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (socks[i].fd != -1)
			close(socks[i].fd);
		free(socks[i].text);
	}
	free(socks);
}

/*
 * The sockets for <cfg>: those of <old> still listed are moved over
 * (fd set to -1 in <old>), the others bound. Returns them, or NULL with
 * a message (nothing in <old> touched then).
 */
static struct gate_socket *
gate_bind(const struct config *cfg, struct gate_socket *old, size_t nold,
    char *err, size_t errlen)
{
	struct gate_socket *socks;
	bool *taken = NULL;
	size_t i;

	if ((socks = calloc(cfg->nlisten + 1, sizeof(*socks))) == NULL ||
	    (taken = calloc(nold + 1, sizeof(*taken))) == NULL) {
		snprintf(err, errlen, "out of memory");
		free(socks);
		return NULL;
	}
	for (i = 0; i < cfg->nlisten; i++) {
		const struct listen_addr *la = &cfg->listen[i];

		socks[i].fd = -1;
		socks[i].transparent = (int)la->transparent;
		if ((socks[i].text = strdup(la->text)) == NULL) {
			snprintf(err, errlen, "out of memory");
			goto fail;
		}
		for (size_t k = 0; k < nold; k++) {
			if (!taken[k] && old[k].fd != -1 &&
			    strcmp(old[k].text, la->text) == 0 &&
			    old[k].transparent == (int)la->transparent) {
				taken[k] = true;
				socks[i].fd = old[k].fd;
				break;
			}
		}
		if (socks[i].fd == -1 &&
		    (socks[i].fd = listener_bind(la, err, errlen)) == -1)
			goto fail;
		gate_socket_name(&socks[i]);
	}
	for (size_t k = 0; k < nold; k++)
		if (taken[k])
			old[k].fd = -1;
	free(taken);
	return socks;
fail:
	/* Close only the sockets bound here. */
	for (size_t j = 0; j <= i && j < cfg->nlisten; j++) {
		bool borrowed = false;

		for (size_t k = 0; k < nold; k++)
			borrowed |= taken[k] && old[k].fd == socks[j].fd;
		if (borrowed)
			socks[j].fd = -1;
	}
	gate_close_sockets(socks, cfg->nlisten);
	free(taken);
	return NULL;
}

/* One descriptor per socket of <socks> for a worker; NULL when out of
 * them. */
static int *
gate_dup_socks(const struct gate_socket *socks, size_t n)
{
	int *fds = calloc(n + 1, sizeof(*fds));

	if (fds == NULL)
		return NULL;
	for (size_t i = 0; i < n; i++) {
		if ((fds[i] = fcntl(socks[i].fd, F_DUPFD_CLOEXEC, 0)) == -1) {
			while (i-- > 0)
				close(fds[i]);
			free(fds);
			return NULL;
		}
	}
	return fds;
}

static int *
gate_dup_fds(const struct gate *g)
{
	return gate_dup_socks(g->socks, g->nsocks);
}

/*
 * Undoes gate_bind(): the sockets <socks> took over from <old> go back
 * to it, the ones bound for <socks> are closed, and <socks> is freed.
 */
static void
gate_unbind(
    struct gate_socket *socks, size_t n, struct gate_socket *old, size_t nold)
{
	for (size_t i = 0; i < n; i++) {
		for (size_t k = 0; k < nold && socks[i].fd != -1; k++) {
			if (old[k].fd == -1 &&
			    strcmp(old[k].text, socks[i].text) == 0 &&
			    old[k].transparent == socks[i].transparent) {
				old[k].fd = socks[i].fd;
				socks[i].fd = -1;
			}
		}
	}
	gate_close_sockets(socks, n);
}

/* Closes and frees the descriptors of <n> workers that were not used. */
static void
gate_free_worker_fds(int **fds, size_t n, size_t nsocks)
{
	if (fds == NULL)
		return;
	for (size_t i = 0; i < n; i++) {
		if (fds[i] == NULL)
			continue;
		for (size_t k = 0; k < nsocks; k++)
			close(fds[i][k]);
		free(fds[i]);
	}
	free(fds);
}

/* ------------------------------------------------------------------ */
/* Signals, reload, stop */

static void
gate_log_listening(const struct gate *g)
{
	for (size_t i = 0; i < g->nsocks; i++)
		log_info("listening on %s", g->socks[i].name);
}

static void
gate_on_stop(evutil_socket_t sig, short what, void *arg)
{
	struct gate *g = arg;

	(void)what;
	if (g->stopping)
		return;
	log_info("%s: stopping; finishing requests in flight",
	    sig == SIGINT ? "SIGINT" : "SIGTERM");
	g->stopping = true;
	for (size_t i = 0; i < g->nworkers; i++)
		worker_drain(g->workers[i], g->cfg->drain_timeout_sec);
	/* The workers hold their own descriptors of the sockets. */
	gate_close_sockets(g->socks, g->nsocks);
	g->socks = NULL;
	g->nsocks = 0;
}

static void
gate_on_reopen(evutil_socket_t sig, short what, void *arg)
{
	struct gate *g = arg;

	(void)sig;
	(void)what;
	if (event_sink_reopen(g->sink) == 0)
		log_info("SIGUSR1: event log reopened");
}

static void gate_on_metric_timer(evutil_socket_t fd, short what, void *arg);

/* NULL-safe string equality, for optional settings. */
static bool
gate_same(const char *a, const char *b)
{
	return (a == NULL && b == NULL) ||
	    (a != NULL && b != NULL && strcmp(a, b) == 0);
}

/* Re-arms the metric line timer for <cfg>'s interval (0: none). */
static void
gate_metric_timer(struct gate *g, const struct config *cfg)
{
	struct timeval tv = {.tv_sec = cfg->metric_interval_sec};

	if (g->metric_timer == NULL)
		g->metric_timer =
		    event_new(g->base, -1, EV_PERSIST, gate_on_metric_timer, g);
	if (g->metric_timer == NULL)
		fatal("out of memory");
	event_del(g->metric_timer);
	if (cfg->metric_interval_sec > 0)
		event_add(g->metric_timer, &tv);
}

/* Puts the admin endpoint of <cfg> back after a failed reload. */
static void
gate_restore_admin(struct gate *g, struct evhttp *tried)
{
	char ignored[256];

	admin_close(tried);
	if (g->cfg->admin_listen != NULL)
		g->admin = admin_open(g, g->cfg, ignored, sizeof(ignored));
}

/*
 * Loads the config again, all or nothing. Everything that can fail is
 * done first (the config, the resolver, the syslog target's name, the
 * event log file and outputs, the admin endpoint, the sockets and every
 * worker's descriptors of them); only then does anything switch, the
 * workers last. A failure leaves the running configuration whole.
 */
static int
gate_reload(struct gate *g, char *err, size_t errlen)
{
	struct config *cfg;
	struct event_sink *sink = NULL;
	struct event_log_change *logc = NULL;
	struct resolver *res;
	struct gate_socket *socks;
	struct evhttp *admin = NULL;
	int **fds = NULL;
	bool new_admin;
	size_t nsocks;

	if ((cfg = config_load(g->path, err, errlen)) == NULL)
		return -1;
	cfg->generation = g->cfg->generation + 1;
	if (server_check_mark(cfg, err, errlen) == -1)
		goto fail;
	/* The workers build their own; this one finds errors first. */
	if ((res = resolver_new(g->base, cfg, err, errlen)) == NULL)
		goto fail;
	resolver_unref(res);
	if (event_log_check(cfg, err, errlen) == -1)
		goto fail;
	if (strcmp(cfg->event_log, g->cfg->event_log) == 0)
		sink = event_sink_ref(g->sink);
	else if ((sink = event_sink_open(cfg->event_log, err, errlen)) == NULL)
		goto fail;
	new_admin = !gate_same(cfg->admin_listen, g->cfg->admin_listen);
	if (new_admin) {
		/* Closed first: the new one may take the same port. */
		admin_close(g->admin);
		g->admin = NULL;
		if (cfg->admin_listen != NULL &&
		    (admin = admin_open(g, cfg, err, errlen)) == NULL) {
			gate_restore_admin(g, NULL);
			goto fail;
		}
	}
	if ((socks = gate_bind(cfg, g->socks, g->nsocks, err, errlen)) == NULL)
		goto fail_admin;
	nsocks = cfg->nlisten;
	if ((logc = event_log_prepare(g->log, sink, cfg, err, errlen)) == NULL)
		goto fail_socks;
	if ((fds = calloc(g->nworkers + 1, sizeof(*fds))) == NULL) {
		snprintf(err, errlen, "out of memory");
		goto fail_socks;
	}
	for (size_t i = 0; i < g->nworkers; i++) {
		if ((fds[i] = gate_dup_socks(socks, nsocks)) == NULL) {
			snprintf(err, errlen,
			    "out of descriptors for the workers' sockets");
			goto fail_socks;
		}
	}
	/* From here on nothing fails. */
	event_log_commit(g->log, logc);
	gate_close_sockets(g->socks, g->nsocks);
	g->socks = socks;
	g->nsocks = nsocks;
	if (new_admin)
		g->admin = admin;
	if (cfg->metric_interval_sec != g->cfg->metric_interval_sec)
		gate_metric_timer(g, cfg);
	if (cfg->workers != 0 && cfg->workers != g->nworkers)
		log_warn("SIGHUP: a new 'workers' takes effect at restart");
	shared_configure(g->shared, cfg);
	config_unref(g->cfg);
	g->cfg = cfg;
	event_sink_unref(g->sink);
	g->sink = sink;
	for (size_t i = 0; i < g->nworkers; i++) {
		worker_reload(g->workers[i], cfg, sink, fds[i]);
		fds[i] = NULL;
	}
	free(fds);
	return 0;
fail_socks:
	gate_free_worker_fds(fds, g->nworkers, nsocks);
	event_log_abort(logc);
	gate_unbind(socks, nsocks, g->socks, g->nsocks);
fail_admin:
	if (new_admin)
		gate_restore_admin(g, admin);
fail:
	event_sink_unref(sink);
	config_unref(cfg);
	return -1;
}

static void
gate_on_hup(evutil_socket_t sig, short what, void *arg)
{
	struct gate *g = arg;
	char err[8192];

	(void)sig;
	(void)what;
	if (g->stopping)
		return;
	err[0] = '\0';
	g->last_reload_time = time(NULL);
	if (gate_reload(g, err, sizeof(err)) == -1) {
		/* Config errors are whole "PATH:LINE: message" lines. */
		fputs(err, stderr);
		if (err[0] != '\0' && err[strlen(err) - 1] != '\n')
			fputc('\n', stderr);
		log_warn("SIGHUP: %s not loaded; the running configuration "
		         "stays",
		    g->path);
		g->reloads_failed++;
		g->last_reload_ok = false;
		return;
	}
	g->reloads_ok++;
	g->last_reload_ok = true;
	log_info("SIGHUP: configuration %s reloaded", g->path);
	gate_log_listening(g);
}

static void
gate_on_worker_done(evutil_socket_t fd, short what, void *arg)
{
	struct gate *g = arg;
	char buf[64];
	ssize_t n;

	(void)what;
	while ((n = read(fd, buf, sizeof(buf))) > 0)
		g->nrunning -=
		    (size_t)n <= g->nrunning ? (size_t)n : g->nrunning;
	if (g->nrunning == 0)
		event_base_loopexit(g->base, NULL);
}

static void
gate_on_metric_timer(evutil_socket_t fd, short what, void *arg)
{
	struct gate *g = arg;

	(void)fd;
	(void)what;
	admin_metric_event(g);
}

/* ------------------------------------------------------------------ */

int
gate_init_shared(struct gate *g, struct config *cfg, char *err, size_t errlen)
{
	memset(g, 0, sizeof(*g));
	g->done[0] = g->done[1] = -1;
	g->cfg = config_ref(cfg);
	g->start_time = time(NULL);
	g->last_reload_ok = true;
	json_init(&g->json);
	if ((g->shared = shared_new(cfg)) == NULL) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	return 0;
}

int
gate_init(struct gate *g, const char *path, struct config *cfg, char *err,
    size_t errlen)
{
	long ncpu;
	size_t n;

	if (gate_init_shared(g, cfg, err, errlen) == -1)
		return -1;
	g->path = path;
	if ((g->base = event_base_new()) == NULL) {
		snprintf(err, errlen, "cannot create the event loop");
		return -1;
	}
	if (server_check_mark(cfg, err, errlen) == -1)
		return -1;
	if ((g->sink = event_sink_open(cfg->event_log, err, errlen)) == NULL)
		return -1;
	if ((g->log = event_log_new(g->base, g->sink, cfg, err, errlen)) ==
	    NULL)
		return -1;
	if ((g->socks = gate_bind(cfg, NULL, 0, err, errlen)) == NULL)
		return -1;
	g->nsocks = cfg->nlisten;
	if (pipe2(g->done, O_CLOEXEC | O_NONBLOCK) == -1) {
		snprintf(err, errlen, "pipe: %s", strerror(errno));
		return -1;
	}
	n = cfg->workers;
	if (n == 0) {
		ncpu = sysconf(_SC_NPROCESSORS_ONLN);
		n = ncpu > 0 ? (size_t)ncpu : 1;
		if (n > CONFIG_WORKERS_MAX)
			n = CONFIG_WORKERS_MAX;
	}
	if ((g->workers = calloc(n, sizeof(*g->workers))) == NULL) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	/* The workers' share of the limits must be right as they start. */
	g->nworkers = n;
	shared_set_workers(g->shared, n);
	for (size_t i = 0; i < n; i++) {
		int *fds = gate_dup_fds(g);

		if (fds == NULL) {
			snprintf(err, errlen, "out of descriptors");
			g->nworkers = i;
			return -1;
		}
		g->workers[i] =
		    worker_new(g->shared, i, cfg, g->sink, fds, err, errlen);
		if (g->workers[i] == NULL) {
			g->nworkers = i;
			return -1;
		}
	}
	if (cfg->admin_listen != NULL &&
	    (g->admin = admin_open(g, cfg, err, errlen)) == NULL)
		return -1;
	return 0;
}

int
gate_run(struct gate *g)
{
	static const int signals[4] = {SIGTERM, SIGINT, SIGUSR1, SIGHUP};
	event_callback_fn handlers[4] = {
	    gate_on_stop, gate_on_stop, gate_on_reopen, gate_on_hup};
	sigset_t block, old;

	for (size_t i = 0; i < 4; i++) {
		g->sigs[i] = evsignal_new(g->base, signals[i], handlers[i], g);
		if (g->sigs[i] == NULL || evsignal_add(g->sigs[i], NULL) == -1)
			fatal("cannot install signal handlers");
	}
	g->done_ev = event_new(
	    g->base, g->done[0], EV_READ | EV_PERSIST, gate_on_worker_done, g);
	if (g->done_ev == NULL || event_add(g->done_ev, NULL) == -1)
		fatal("out of memory");
	gate_metric_timer(g, g->cfg);
	/* Signals are for the main thread: workers start with them blocked. */
	sigfillset(&block);
	pthread_sigmask(SIG_BLOCK, &block, &old);
	for (size_t i = 0; i < g->nworkers; i++) {
		if (worker_start(g->workers[i], g->done[1]) == -1)
			fatal("cannot start worker %zu", i);
		g->nrunning++;
	}
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	/* Last: whoever waits for these lines may signal us at once. */
	gate_log_listening(g);
	event_base_dispatch(g->base);
	/*
	 * Stopping already: a second signal must not kill the cleanup. Block
	 * them, since freeing the events restores the default handlers.
	 */
	sigemptyset(&block);
	sigaddset(&block, SIGTERM);
	sigaddset(&block, SIGINT);
	sigprocmask(SIG_BLOCK, &block, NULL);
	for (size_t i = 0; i < g->nworkers; i++)
		worker_join(g->workers[i]);
	return 0;
}

void
gate_free(struct gate *g)
{
	for (size_t i = 0; i < g->nworkers; i++)
		worker_free(g->workers[i]);
	free(g->workers);
	admin_close(g->admin);
	if (g->metric_timer != NULL)
		event_free(g->metric_timer);
	if (g->done_ev != NULL)
		event_free(g->done_ev);
	for (size_t i = 0; i < 4; i++)
		if (g->sigs[i] != NULL)
			event_free(g->sigs[i]);
	if (g->done[0] != -1) {
		close(g->done[0]);
		close(g->done[1]);
	}
	gate_close_sockets(g->socks, g->nsocks);
	if (g->log != NULL) {
		event_log_flush(g->log);
		event_log_free(g->log);
	}
	if (g->sink != NULL) {
		uint64_t dropped =
		    atomic_load(&event_sink_stats(g->sink)->dropped);

		if (dropped > 0)
			log_warn("event log: %llu events were dropped",
			    (unsigned long long)dropped);
		event_sink_unref(g->sink);
	}
	shared_free(g->shared);
	json_free(&g->json);
	config_unref(g->cfg);
	if (g->base != NULL)
		event_base_free(g->base);
	memset(g, 0, sizeof(*g));
}
