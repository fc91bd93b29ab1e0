/*
 * ocspgate: command line, signals and the event loop.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include <event2/event.h>

#include "ocspgate/config.h"
#include "ocspgate/event_log.h"
#include "ocspgate/listener.h"
#include "ocspgate/log.h"
#include "ocspgate/privileges.h"
#include "ocspgate/server.h"

#define MAIN_CONFIG_ERR_MAX 8192

static void
main_usage(FILE *f)
{
	fprintf(f,
	    "usage: ocspgate [-t] [-c config]\n"
	    "       ocspgate -V | -h\n"
	    "  -c PATH  configuration file (default %s)\n"
	    "  -t       check the configuration and exit\n"
	    "  -V       print the version and exit\n"
	    "  -h       print this help and exit\n",
	    CONFIG_DEFAULT_PATH);
}

static void
main_on_stop(evutil_socket_t sig, short what, void *arg)
{
	struct server *srv = arg;

	(void)what;
	log_info("%s: stopping; finishing requests in flight",
	    sig == SIGINT ? "SIGINT" : "SIGTERM");
	server_drain(srv, srv->cfg->drain_timeout_sec);
}

static void
main_on_reopen(evutil_socket_t sig, short what, void *arg)
{
	struct server *srv = arg;

	(void)sig;
	(void)what;
	if (event_log_reopen(srv->log) == 0)
		log_info("SIGUSR1: event log reopened");
}

/*
 * Each client connection takes a descriptor, and one more while it is
 * forwarded: raise the soft limit to the hard one, and say so when even
 * that cannot hold max_connections.
 */
static void
main_raise_nofile(const struct config *cfg)
{
	struct rlimit rl;
	rlim_t want = (rlim_t)cfg->max_connections + 64;

	if (getrlimit(RLIMIT_NOFILE, &rl) == -1)
		return;
	if (rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		if (setrlimit(RLIMIT_NOFILE, &rl) == -1)
			return;
	}
	if (rl.rlim_cur != RLIM_INFINITY && rl.rlim_cur < want)
		log_warn("descriptor limit %llu is below what max_connections "
		         "= %u may need (%llu)",
		    (unsigned long long)rl.rlim_cur, cfg->max_connections,
		    (unsigned long long)want);
}

/* SO_MARK and TPROXY listeners need CAP_NET_ADMIN after the drop too. */
static bool
main_needs_net_admin(const struct config *cfg)
{
	if (cfg->upstream_mark != 0)
		return true;
	for (size_t i = 0; i < cfg->nlisten; i++) {
		if (cfg->listen[i].transparent == LISTEN_TPROXY)
			return true;
	}
	return false;
}

struct main_ctx {
	struct server srv;
	const char *path;
};

static void
main_on_hup(evutil_socket_t sig, short what, void *arg)
{
	struct main_ctx *m = arg;
	char err[MAIN_CONFIG_ERR_MAX];

	(void)sig;
	(void)what;
	err[0] = '\0';
	if (server_reload(&m->srv, m->path, err, sizeof(err)) == -1) {
		/* Config errors are whole "PATH:LINE: message" lines. */
		fputs(err, stderr);
		if (err[0] != '\0' && err[strlen(err) - 1] != '\n')
			fputc('\n', stderr);
		log_warn("SIGHUP: %s not loaded; the running configuration "
		         "stays",
		    m->path);
		return;
	}
	log_info("SIGHUP: configuration %s reloaded", m->path);
	for (size_t i = 0; i < m->srv.nlisteners; i++)
		log_info("listening on %s", listener_name(m->srv.listeners[i]));
}

int
main(int argc, char **argv)
{
	const char *path = CONFIG_DEFAULT_PATH;
	bool test_only = false;
	struct config *cfg;
	struct event_base *base;
	struct main_ctx m = {.path = NULL};
	struct event *sigs[4];
	sigset_t stopping;
	char err[MAIN_CONFIG_ERR_MAX];
	int ch;

	while ((ch = getopt(argc, argv, "c:tVh")) != -1) {
		switch (ch) {
		case 'c':
			path = optarg;
			break;
		case 't':
			test_only = true;
			break;
		case 'V':
			printf("ocspgate %s\n", OCSPGATE_VERSION);
			return 0;
		case 'h':
			main_usage(stdout);
			return 0;
		default:
			main_usage(stderr);
			return 1;
		}
	}
	if (optind != argc) {
		main_usage(stderr);
		return 1;
	}
	err[0] = '\0';
	if ((cfg = config_load(path, err, sizeof(err))) == NULL) {
		fputs(err, stderr);
		return 1;
	}
	if (test_only) {
		for (size_t i = 0; i < cfg->nnotes; i++)
			printf("ocspgate: %s\n", cfg->notes[i]);
		printf("ocspgate: configuration %s is ok\n", path);
		config_unref(cfg);
		return 0;
	}
	signal(SIGPIPE, SIG_IGN);
	main_raise_nofile(cfg);
	if ((base = event_base_new()) == NULL)
		fatal("cannot create the event loop");
	m.path = path;
	if (server_init(&m.srv, base, cfg, err, sizeof(err)) == -1) {
		fprintf(stderr, "ocspgate: %s\n", err);
		server_free(&m.srv);
		config_unref(cfg);
		event_base_free(base);
		return 1;
	}
	if (privileges_drop(cfg->user, cfg->group, main_needs_net_admin(cfg),
	        err, sizeof(err)) == -1) {
		fprintf(stderr, "ocspgate: %s\n", err);
		server_free(&m.srv);
		config_unref(cfg);
		event_base_free(base);
		return 1;
	}
	config_unref(cfg);
	sigs[0] = evsignal_new(base, SIGTERM, main_on_stop, &m.srv);
	sigs[1] = evsignal_new(base, SIGINT, main_on_stop, &m.srv);
	sigs[2] = evsignal_new(base, SIGUSR1, main_on_reopen, &m.srv);
	sigs[3] = evsignal_new(base, SIGHUP, main_on_hup, &m);
	for (size_t i = 0; i < 4; i++) {
		if (sigs[i] == NULL || evsignal_add(sigs[i], NULL) == -1)
			fatal("cannot install signal handlers");
	}
	/* Last: whoever waits for these lines may signal us at once. */
	for (size_t i = 0; i < m.srv.nlisteners; i++)
		log_info("listening on %s", listener_name(m.srv.listeners[i]));
	event_base_dispatch(base);
	/*
	 * Stopping already: a second signal must not kill the cleanup. Block
	 * them, since freeing the events restores the default handlers.
	 */
	sigemptyset(&stopping);
	sigaddset(&stopping, SIGTERM);
	sigaddset(&stopping, SIGINT);
	sigprocmask(SIG_BLOCK, &stopping, NULL);
	for (size_t i = 0; i < 4; i++)
		event_free(sigs[i]);
	server_free(&m.srv);
	event_base_free(base);
	return 0;
}
