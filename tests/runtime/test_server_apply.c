/*
 * server_apply() on a real event loop with real sockets: a reload whose
 * listener step fails (a descriptor that is no socket) leaves the
 * worker exactly as it was (event log outputs, resolver, listeners and
 * config), and the same reload with good descriptors switches all.
 */

#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <event2/event.h>

#include "check.h"
#include "ocspgate/config.h"
#include "ocspgate/event_log.h"
#include "ocspgate/server.h"

/* A UDP socket on 127.0.0.1 playing the syslog collector. */
static int
collector(unsigned *port)
{
	struct sockaddr_in sin = {.sin_family = AF_INET};
	socklen_t len = sizeof(sin);
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);

	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (fd == -1 || bind(fd, (struct sockaddr *)&sin, sizeof(sin)) == -1 ||
	    getsockname(fd, (struct sockaddr *)&sin, &len) == -1) {
		perror("collector");
		exit(2);
	}
	*port = ntohs(sin.sin_port);
	return fd;
}

/* A listening TCP socket on 127.0.0.1, any port. */
static int
listening(void)
{
	struct sockaddr_in sin = {.sin_family = AF_INET};
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (fd == -1 || bind(fd, (struct sockaddr *)&sin, sizeof(sin)) == -1 ||
	    listen(fd, 8) == -1) {
		perror("listening");
		exit(2);
	}
	return fd;
}

static struct config *
load(const char *dir, const char *listen, unsigned syslog_port)
{
	char text[1024], err[4096], name[512];
	struct config *c;

	snprintf(name, sizeof(name), "%s/ocspgate.conf", dir);
	snprintf(text, sizeof(text),
	    "listen = [ %s ];\n"
	    "event_log = \"%s/events.log\";\n"
	    "hosts_file = \"\";\n"
	    "resolvers = [ \"127.0.0.1:53\" ];\n"
	    "event_syslog = \"udp://127.0.0.1:%u\";\n"
	    "responders = ( { host = \"ocsp.ca.test\"; } );\n",
	    listen, dir, syslog_port);
	if ((c = config_load_string(name, text, err, sizeof(err))) == NULL) {
		fprintf(stderr, "%s", err);
		exit(2);
	}
	return c;
}

/*
 * Writes one line through the worker's event log, runs the loop until
 * it was handed over, and returns which of the two collectors got it:
 * 'a', 'b', or '-' for none (or both: '2').
 */
static char
which_collector(
    struct event_base *base, struct server *srv, int a, int b, int nth)
{
	char line[64], buf[2048];
	struct pollfd p[2] = {
	    {.fd = a, .events = POLLIN}, {.fd = b, .events = POLLIN}};
	char got = '-';
	int n;

	/* The message is the line without its '\n'; line + 1 is in it. */
	n = snprintf(line, sizeof(line), "{\"line\":%d}", nth);
	line[n] = '\n';
	event_log_write(srv->log, 6, "event", line, (size_t)n + 1);
	line[n] = '\0';
	for (int i = 0; i < 4; i++)
		event_base_loop(base, EVLOOP_NONBLOCK);
	if (poll(p, 2, 2000) <= 0)
		return got;
	/* A datagram to the other collector would be there by now too. */
	poll(p, 2, 200);
	for (int i = 0; i < 2; i++) {
		if ((p[i].revents & POLLIN) == 0)
			continue;
		n = (int)recv(p[i].fd, buf, sizeof(buf) - 1, 0);
		if (n <= 0)
			continue;
		buf[n] = '\0';
		if (strstr(buf, line + 1) == NULL)
			continue;
		got = got == '-' ? (i == 0 ? 'a' : 'b') : '2';
	}
	return got;
}

int
main(void)
{
	char dir[] = "/tmp/ocspgate-apply-XXXXXX", err[512], path[600];
	unsigned pa, pb;
	int a, b, fds[2], pipefd[2];
	struct event_base *base;
	struct event_sink *sink;
	struct config *ca, *cb;
	struct resolver *res;
	struct server srv;

	if (mkdtemp(dir) == NULL) {
		perror("mkdtemp");
		return 2;
	}
	a = collector(&pa);
	b = collector(&pb);
	ca = load(dir, "\"127.0.0.1:0\"", pa);
	cb = load(dir, "\"127.0.0.1:0\", \"127.0.0.2:0\"", pb);
	if ((base = event_base_new()) == NULL) {
		fprintf(stderr, "event_base_new failed\n");
		return 2;
	}
	snprintf(path, sizeof(path), "%s/events.log", dir);
	if ((sink = event_sink_open(path, err, sizeof(err))) == NULL ||
	    server_init(&srv, NULL, base, ca, sink, err, sizeof(err)) == -1) {
		fprintf(stderr, "%s\n", err);
		return 2;
	}
	fds[0] = listening();
	CHECKF(server_apply(&srv, ca, sink, fds, err, sizeof(err)) == 0, "%s",
	    err);
	CHECK(srv.nlisteners == 1);
	CHECK(which_collector(base, &srv, a, b, 1) == 'a');

	/*
	 * The new config's second listener gets a pipe, which is no socket:
	 * its step fails after the resolver and the event log outputs were
	 * made. Nothing may have switched.
	 */
	if (pipe2(pipefd, O_CLOEXEC) == -1) {
		perror("pipe");
		return 2;
	}
	close(pipefd[1]);
	fds[0] = listening();
	fds[1] = pipefd[0];
	res = srv.resolver;
	err[0] = '\0';
	CHECK(server_apply(&srv, cb, sink, fds, err, sizeof(err)) == -1);
	CHECKF(strstr(err, "127.0.0.2:0") != NULL, "error: %s", err);
	CHECK(srv.cfg == ca);
	CHECK(srv.resolver == res);
	CHECK(srv.nlisteners == 1 && srv.listeners[0] != NULL);
	CHECK(fcntl(pipefd[0], F_GETFD) == -1 && errno == EBADF);
	CHECK(fcntl(fds[0], F_GETFD) == -1 && errno == EBADF);
	CHECKF(which_collector(base, &srv, a, b, 2) == 'a',
	    "events must still go to the old syslog target");

	/* The same reload with sockets for both addresses switches all. */
	fds[0] = listening();
	fds[1] = listening();
	CHECKF(server_apply(&srv, cb, sink, fds, err, sizeof(err)) == 0, "%s",
	    err);
	CHECK(srv.cfg == cb);
	CHECK(srv.resolver != res);
	CHECK(srv.nlisteners == 2);
	CHECK(which_collector(base, &srv, a, b, 3) == 'b');

	server_free(&srv);
	event_sink_unref(sink);
	config_unref(ca);
	config_unref(cb);
	event_base_free(base);
	close(a);
	close(b);
	unlink(path);
	rmdir(dir);
	return check_done();
}
