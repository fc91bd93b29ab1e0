/*
 * ocspgate: the command line; the process itself is in gate.c.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "ocspgate/config.h"
#include "ocspgate/gate.h"
#include "ocspgate/log.h"
#include "ocspgate/privileges.h"
#include "ocspgate/suggest_cli.h"

#define MAIN_CONFIG_ERR_MAX 8192

static void
main_usage(FILE *f)
{
	fprintf(f,
	    "usage: ocspgate [-t] [-c config]\n"
	    "       ocspgate -S [-c config] EVENTS...\n"
	    "       ocspgate -V | -h\n"
	    "  -c PATH  configuration file (default %s)\n"
	    "  -t       check the configuration and exit\n"
	    "  -S       suggest hosts to list from event logs (plain or gzip;\n"
	    "           - for stdin) and exit\n"
	    "  -V       print the version and exit\n"
	    "  -h       print this help and exit\n",
	    CONFIG_DEFAULT_PATH);
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

int
main(int argc, char **argv)
{
	const char *path = CONFIG_DEFAULT_PATH;
	bool test_only = false, suggest = false;
	struct config *cfg;
	struct gate g;
	int rc;
	char err[MAIN_CONFIG_ERR_MAX];
	int ch;

	while ((ch = getopt(argc, argv, "c:tSVh")) != -1) {
		switch (ch) {
		case 'c':
			path = optarg;
			break;
		case 't':
			test_only = true;
			break;
		case 'S':
			suggest = true;
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
	if (suggest && !test_only && optind < argc)
		return suggest_cli_run(path, argc - optind, argv + optind);
	if (optind != argc || suggest) {
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
	rc = gate_init(&g, path, cfg, err, sizeof(err));
	if (rc == 0)
		rc = privileges_drop(cfg->user, cfg->group,
		    main_needs_net_admin(cfg), err, sizeof(err));
	config_unref(cfg);
	if (rc == -1) {
		fprintf(stderr, "ocspgate: %s\n", err);
		gate_free(&g);
		return 1;
	}
	gate_run(&g);
	gate_free(&g);
	return 0;
}
