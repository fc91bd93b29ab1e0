/*
 * Memory after a burst, on a real event loop with real sockets: many
 * clients each send a request at once and keep their connections open.
 * Once every answer is out, an idle connection holds nothing of its
 * request (no request block, no answer buffer), and shortly afterwards
 * the worker's pool is empty although no connection closed.
 */

#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <event2/event.h>

#include "check.h"
#include "ocspgate/config.h"
#include "ocspgate/event_log.h"
#include "ocspgate/server.h"
#include "ocspgate/session.h"

#define CLIENTS 300 /* over SERVER_TRIM_SESSIONS in flight at once */

/* A listening TCP socket on 127.0.0.1, any port, as main() makes it. */
static int
listening(struct sockaddr_in *sin)
{
	socklen_t len = sizeof(*sin);
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);

	memset(sin, 0, sizeof(*sin));
	sin->sin_family = AF_INET;
	sin->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (fd == -1 || bind(fd, (struct sockaddr *)sin, sizeof(*sin)) == -1 ||
	    listen(fd, CLIENTS) == -1 ||
	    getsockname(fd, (struct sockaddr *)sin, &len) == -1) {
		perror("listening");
		exit(2);
	}
	return fd;
}

static struct config *
load(const char *dir)
{
	char text[1024], err[4096], name[512];
	struct config *c;

	snprintf(name, sizeof(name), "%s/ocspgate.conf", dir);
	snprintf(text, sizeof(text),
	    "listen = [ \"127.0.0.1:0\" ];\n"
	    "event_log = \"%s/events.log\";\n"
	    "hosts_file = \"\";\n"
	    "resolvers = [ \"127.0.0.1:53\" ];\n"
	    "responders = ( { host = \"ocsp.ca.test\"; } );\n",
	    dir);
	if ((c = config_load_string(name, text, err, sizeof(err))) == NULL) {
		fprintf(stderr, "%s", err);
		exit(2);
	}
	return c;
}

/* Runs the loop for about <msec> milliseconds. */
static void
run_for(struct event_base *base, unsigned msec)
{
	struct timeval tv = {
	    .tv_sec = msec / 1000, .tv_usec = (msec % 1000) * 1000};

	event_base_loopexit(base, &tv);
	event_base_dispatch(base);
}

int
main(void)
{
	static const char req[] = "GET http://other.test/x HTTP/1.1\r\n"
	                          "Host: other.test\r\n\r\n";
	char dir[] = "/tmp/ocspgate-trim-XXXXXX", err[512], path[600];
	int fds[1], clients[CLIENTS];
	bool answered[CLIENTS] = {false};
	size_t nanswered = 0, held = 0;
	struct rlimit rl;
	struct sockaddr_in sin;
	struct event_base *base;
	struct event_sink *sink;
	struct config *cfg;
	struct server srv;
	struct session *s;

	/* Both ends of every connection live in this process. */
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < 1024 &&
	    rl.rlim_max >= 1024) {
		rl.rlim_cur = 1024;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
	if (mkdtemp(dir) == NULL) {
		perror("mkdtemp");
		return 2;
	}
	cfg = load(dir);
	if ((base = event_base_new()) == NULL) {
		fprintf(stderr, "event_base_new failed\n");
		return 2;
	}
	snprintf(path, sizeof(path), "%s/events.log", dir);
	if ((sink = event_sink_open(path, err, sizeof(err))) == NULL ||
	    server_init(&srv, NULL, base, cfg, sink, err, sizeof(err)) == -1) {
		fprintf(stderr, "%s\n", err);
		return 2;
	}
	fds[0] = listening(&sin);
	CHECKF(server_apply(&srv, cfg, sink, fds, err, sizeof(err)) == 0, "%s",
	    err);

	/* Every client connects and sends its request before any answer. */
	for (size_t i = 0; i < CLIENTS; i++) {
		clients[i] = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (clients[i] == -1 ||
		    connect(clients[i], (struct sockaddr *)&sin, sizeof(sin)) ==
		        -1) {
			perror("connect");
			return 2;
		}
	}
	for (size_t i = 0; i < CLIENTS; i++)
		CHECK(write(clients[i], req, sizeof(req) - 1) ==
		    (ssize_t)sizeof(req) - 1);

	/* The answers (403: no such responder), at most 10 s of passes. */
	for (int pass = 0; pass < 1000 && nanswered < CLIENTS; pass++) {
		event_base_loop(base, EVLOOP_NONBLOCK);
		for (size_t i = 0; i < CLIENTS; i++) {
			struct pollfd p = {.fd = clients[i], .events = POLLIN};
			char buf[4096];

			if (answered[i] || poll(&p, 1, 0) != 1)
				continue;
			if (read(clients[i], buf, sizeof(buf)) > 12 &&
			    memcmp(buf, "HTTP/1.1 403", 12) == 0) {
				answered[i] = true;
				nanswered++;
			}
		}
		if (nanswered < CLIENTS)
			usleep(10000);
	}
	CHECKF(nanswered == CLIENTS, "%zu of %d answered", nanswered, CLIENTS);
	CHECKF(srv.peak_requests >= CLIENTS - 10 || srv.nrequests == 0,
	    "peak %u", srv.peak_requests);
	CHECKF(srv.nsessions == CLIENTS, "%u sessions", srv.nsessions);

	/* Idle connections hold nothing of their requests. */
	run_for(base, 50);
	CHECKF(srv.nrequests == 0, "%u requests hold buffers", srv.nrequests);
	TAILQ_FOREACH (s, &srv.sessions, entry) {
		if (s->rq != NULL || s->hold != NULL)
			held++;
	}
	CHECKF(held == 0, "%zu idle sessions hold request memory", held);

	/* The pool is given back within a second, connections still open. */
	run_for(base, 1000);
	CHECKF(srv.pool.n == 0 && srv.pool.bytes == 0,
	    "the pool keeps %zu buffers, %zu bytes", srv.pool.n,
	    srv.pool.bytes);
	CHECKF(srv.nsessions == CLIENTS, "%u sessions", srv.nsessions);

	for (size_t i = 0; i < CLIENTS; i++)
		close(clients[i]);
	server_free(&srv);
	event_sink_unref(sink);
	config_unref(cfg);
	event_base_free(base);
	unlink(path);
	rmdir(dir);
	return check_done();
}
