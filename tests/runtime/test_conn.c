/*
 * The client connection layer alone, on a real event loop and a real
 * socket pair: one read per readiness, at most the room it was given;
 * reading paused at the input's bound and resumed once it is taken;
 * output written in the loop pass it was queued in, the write callback
 * once it is all out, never from inside a call; a stalled peer seen as
 * a write timeout; the peer's close as EOF; the socket closed on free;
 * connecting, with output queued before, refused, and timed out reading;
 * reads into the pool's buffers and their return; conn_send_iov().
 */
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/event.h>

#include "check.h"
#include "ocspgate/conn.h"
#include "ocspgate/pool.h"

struct seen {
	unsigned reads, writes, events;
	short what;
	int err; /* errno when on_event ran */
	size_t in_at_first_read;
	bool inside_call; /* set while the test is inside a conn_* call */
	bool called_inside;
};

static void
on_read(struct conn *c, void *arg)
{
	struct seen *s = arg;

	if (s->reads++ == 0)
		s->in_at_first_read = evbuffer_get_length(c->in);
	s->called_inside |= s->inside_call;
}

static void
on_write(struct conn *c, void *arg)
{
	struct seen *s = arg;

	(void)c;
	s->writes++;
	s->called_inside |= s->inside_call;
}

static void
on_event(struct conn *c, short what, void *arg)
{
	struct seen *s = arg;

	(void)c;
	s->err = errno;
	s->events++;
	s->what = what;
	s->called_inside |= s->inside_call;
}

/* A connected pair of non-blocking stream sockets. */
static void
pair(int fds[2])
{
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0,
	        fds) == -1) {
		perror("socketpair");
		exit(2);
	}
}

/* Runs the loop until <done> holds, for at most 200 passes of 10 ms. */
#define RUN_UNTIL(base, done)                                                  \
	do {                                                                   \
		for (int pass_ = 0; pass_ < 200 && !(done); pass_++) {         \
			struct timeval tv_ = {.tv_usec = 10000};               \
			event_base_loopexit((base), &tv_);                     \
			event_base_dispatch(base);                             \
		}                                                              \
	} while (0)

static void
test_read(struct event_base *base)
{
	static char big[10000];
	struct seen s = {0};
	struct conn *c;
	int fds[2];

	pair(fds);
	c = conn_new(base, fds[0], on_read, on_write, on_event, &s);
	CHECK(c != NULL);
	memset(big, 'x', sizeof(big));
	CHECK(write(fds[1], big, sizeof(big)) == (ssize_t)sizeof(big));
	s.inside_call = true;
	conn_enable_read(c, true);
	s.inside_call = false;
	RUN_UNTIL(base, s.reads > 0);
	/* One read: no more than the room of one. */
	CHECKF(s.reads >= 1 && s.in_at_first_read > 0 &&
	        s.in_at_first_read <= 4096,
	    "first read left %zu bytes", s.in_at_first_read);
	RUN_UNTIL(base, evbuffer_get_length(c->in) == sizeof(big));
	CHECK(evbuffer_get_length(c->in) == sizeof(big));
	/* The first read filled its 4 KiB: the next takes the rest. */
	CHECKF(s.reads == 2, "%d reads", (int)s.reads);

	/* The bound: reading stops at it and goes on once it is taken. */
	evbuffer_drain(c->in, sizeof(big));
	conn_set_read_high(c, 100);
	CHECK(write(fds[1], big, 1000) == 1000);
	RUN_UNTIL(base, evbuffer_get_length(c->in) >= 100);
	RUN_UNTIL(base, false); /* more passes: nothing more is read */
	CHECKF(evbuffer_get_length(c->in) == 100, "%zu bytes read",
	    evbuffer_get_length(c->in));
	evbuffer_drain(c->in, 100);
	RUN_UNTIL(base, evbuffer_get_length(c->in) == 100);
	CHECK(evbuffer_get_length(c->in) == 100);
	conn_set_read_high(c, 0);
	RUN_UNTIL(base, evbuffer_get_length(c->in) == 900);
	CHECK(evbuffer_get_length(c->in) == 900);

	/* Reading off: nothing is read. */
	evbuffer_drain(c->in, 900);
	conn_enable_read(c, false);
	CHECK(write(fds[1], "abc", 3) == 3);
	RUN_UNTIL(base, false);
	CHECK(evbuffer_get_length(c->in) == 0);

	/* The peer's close: EOF, once the bytes before it are read. */
	conn_enable_read(c, true);
	shutdown(fds[1], SHUT_WR);
	RUN_UNTIL(base, s.events > 0);
	CHECK(evbuffer_get_length(c->in) == 3);
	CHECK(s.events == 1 && s.what == (CONN_READING | CONN_EOF));
	CHECK(!s.called_inside);
	conn_free(c);
	CHECK(fcntl(fds[0], F_GETFD) == -1 && errno == EBADF);
	close(fds[1]);
}

static void
test_write(struct event_base *base)
{
	static char big[1 << 20];
	struct timeval tmo = {.tv_usec = 200000};
	struct seen s = {0};
	struct evbuffer *data = evbuffer_new();
	struct conn *c;
	char buf[64];
	int fds[2];

	pair(fds);
	c = conn_new(base, fds[0], on_read, on_write, on_event, &s);
	CHECK(c != NULL && data != NULL);
	/* Queued output goes in this loop pass; on_write once it is out. */
	s.inside_call = true;
	CHECK(conn_write(c, "hello", 5) == 0);
	s.inside_call = false;
	CHECK(s.writes == 0);
	event_base_loop(base, EVLOOP_NONBLOCK);
	CHECK(s.writes == 1 && evbuffer_get_length(c->out) == 0);
	CHECK(read(fds[1], buf, sizeof(buf)) == 5 &&
	    memcmp(buf, "hello", 5) == 0);

	/* conn_send() writes at once; the trigger calls on_write. */
	evbuffer_add(data, "world", 5);
	s.inside_call = true;
	conn_send(c, data);
	conn_trigger_write(c);
	s.inside_call = false;
	CHECK(evbuffer_get_length(data) == 0);
	CHECK(read(fds[1], buf, sizeof(buf)) == 5 &&
	    memcmp(buf, "world", 5) == 0);
	event_base_loop(base, EVLOOP_NONBLOCK);
	CHECK(s.writes == 2);

	/* A peer that reads nothing: the output waits, then times out. */
	conn_set_write_timeout(c, &tmo);
	memset(big, 'y', sizeof(big));
	CHECK(conn_write(c, big, sizeof(big)) == 0);
	RUN_UNTIL(base, s.events > 0);
	CHECK(evbuffer_get_length(c->out) > 0);
	CHECKF(s.events == 1 && s.what == (CONN_WRITING | CONN_TIMEOUT),
	    "events %u what %#x", s.events, (unsigned)s.what);
	CHECK(s.writes == 2);

	/* The peer gone: a write error, and nothing more is tried. */
	close(fds[1]);
	conn_set_write_timeout(c, NULL);
	CHECK(conn_write(c, "x", 1) == 0);
	RUN_UNTIL(base, s.events > 1);
	CHECKF(s.events == 2 && s.what == (CONN_WRITING | CONN_ERROR),
	    "events %u what %#x", s.events, (unsigned)s.what);
	CHECK(!s.called_inside);
	conn_free(c);
	conn_free(NULL);
	evbuffer_free(data);
}

/*
 * Reads into an empty input go to the pool's buffers, which come back
 * once their bytes are drained or, moved to another buffer, drained
 * there; bytes read behind others keep their order.
 */
static void
test_pooled_read(struct event_base *base)
{
	struct seen s = {0};
	struct pool pool;
	struct evbuffer *moved = evbuffer_new();
	struct conn *c;
	char buf[16];
	int fds[2];

	pool_init(&pool);
	pair(fds);
	c = conn_new(base, fds[0], on_read, on_write, on_event, &s);
	CHECK(c != NULL && moved != NULL);
	conn_set_pool(c, &pool);
	conn_enable_read(c, true);
	CHECK(write(fds[1], "abc", 3) == 3);
	RUN_UNTIL(base, evbuffer_get_length(c->in) == 3);
	CHECK(pool.taken == 1 && pool.n == 0);
	evbuffer_drain(c->in, 3);
	CHECK(pool.n == 1); /* back once drained */

	/* Moved elsewhere: back once drained there. */
	CHECK(write(fds[1], "defg", 4) == 4);
	RUN_UNTIL(base, evbuffer_get_length(c->in) == 4);
	CHECK(pool.taken == 2 && pool.n == 0);
	CHECK(evbuffer_remove_buffer(c->in, moved, 4) == 4);
	CHECK(evbuffer_get_length(c->in) == 0 && pool.n == 0);
	CHECK(evbuffer_remove(moved, buf, sizeof(buf)) == 4 &&
	    memcmp(buf, "defg", 4) == 0);
	CHECK(pool.n == 1);

	/* Behind bytes left in the input: read in order, not pooled. */
	CHECK(write(fds[1], "hij", 3) == 3);
	RUN_UNTIL(base, evbuffer_get_length(c->in) == 3);
	CHECK(write(fds[1], "klm", 3) == 3);
	RUN_UNTIL(base, evbuffer_get_length(c->in) == 6);
	CHECK(pool.taken == 3);
	CHECK(evbuffer_remove(c->in, buf, sizeof(buf)) == 6 &&
	    memcmp(buf, "hijklm", 6) == 0);
	CHECK(pool.n == 1);
	CHECK(!s.called_inside);
	conn_free(c);
	close(fds[1]);
	evbuffer_free(moved);
	pool_free(&pool);
}

/*
 * conn_send_iov(): the spans written at once, in order; what the
 * socket does not take is queued behind, and goes once the peer reads.
 */
static void
test_send_iov(struct event_base *base)
{
	static char big[1 << 20], got[(1 << 20) + 8];
	struct seen s = {0};
	struct iovec v[3];
	struct conn *c;
	size_t have = 0;
	ssize_t n;
	int fds[2];

	pair(fds);
	c = conn_new(base, fds[0], on_read, on_write, on_event, &s);
	CHECK(c != NULL);
	v[0] = (struct iovec){.iov_base = "GET ", .iov_len = 4};
	v[1] = (struct iovec){.iov_base = "", .iov_len = 0};
	v[2] = (struct iovec){.iov_base = "/x", .iov_len = 2};
	CHECK(conn_send_iov(c, v, 3) == 0);
	CHECK(evbuffer_get_length(c->out) == 0);
	CHECK(read(fds[1], got, sizeof(got)) == 6 &&
	    memcmp(got, "GET /x", 6) == 0);

	/* More than the socket takes: the rest queued, then written. */
	for (size_t i = 0; i < sizeof(big); i++)
		big[i] = (char)('a' + i % 26);
	v[0] = (struct iovec){.iov_base = "head", .iov_len = 4};
	v[1] = (struct iovec){.iov_base = big, .iov_len = sizeof(big)};
	CHECK(conn_send_iov(c, v, 2) == 0);
	CHECK(evbuffer_get_length(c->out) > 0);
	for (int i = 0; i < 2000 && have < sizeof(big) + 4; i++) {
		event_base_loop(base, EVLOOP_NONBLOCK);
		n = read(fds[1], got + have, sizeof(got) - have);
		if (n > 0)
			have += (size_t)n;
		else
			usleep(1000);
	}
	CHECKF(have == sizeof(big) + 4, "%zu bytes", have);
	CHECK(memcmp(got, "head", 4) == 0 &&
	    memcmp(got + 4, big, sizeof(big)) == 0);
	CHECK(evbuffer_get_length(c->out) == 0);
	CHECK(!s.called_inside);
	conn_free(c);
	close(fds[1]);
}

/*
 * A pooled buffer's bytes outlive their connection: moved whole to
 * another buffer, it comes back once drained there, after conn_free();
 * moved in part, the rest (still the input's) comes back at conn_free().
 */
static void
test_pooled_outlive(struct event_base *base)
{
	struct seen s = {0};
	struct pool pool;
	struct evbuffer *moved = evbuffer_new();
	struct conn *c;
	char buf[16];
	int fds[2];

	pool_init(&pool);
	pair(fds);
	c = conn_new(base, fds[0], on_read, on_write, on_event, &s);
	CHECK(c != NULL && moved != NULL);
	conn_set_pool(c, &pool);
	conn_enable_read(c, true);
	CHECK(write(fds[1], "abcd", 4) == 4);
	RUN_UNTIL(base, evbuffer_get_length(c->in) == 4);
	CHECK(pool.taken == 1 && pool.n == 0);
	CHECK(evbuffer_remove_buffer(c->in, moved, 4) == 4);
	conn_free(c);
	CHECK(pool.n == 0); /* still the moved buffer's */
	CHECK(evbuffer_remove(moved, buf, sizeof(buf)) == 4 &&
	    memcmp(buf, "abcd", 4) == 0);
	CHECK(pool.n == 1);

	/* Two bytes of four moved: a copy; the pooled buffer stays. */
	pair(fds);
	c = conn_new(base, fds[0], on_read, on_write, on_event, &s);
	CHECK(c != NULL);
	conn_set_pool(c, &pool);
	conn_enable_read(c, true);
	CHECK(write(fds[1], "efgh", 4) == 4);
	RUN_UNTIL(base, evbuffer_get_length(c->in) == 4);
	CHECK(pool.taken == 2 && pool.n == 0);
	CHECK(evbuffer_remove_buffer(c->in, moved, 2) == 2);
	CHECK(pool.n == 0);
	conn_free(c);
	CHECK(pool.n == 1);
	CHECK(evbuffer_remove(moved, buf, sizeof(buf)) == 2 &&
	    memcmp(buf, "ef", 2) == 0);
	CHECK(pool.n == 1);
	close(fds[1]);
	evbuffer_free(moved);
	pool_free(&pool);
}

/*
 * conn_send_iov() when the socket stops inside the first span: the rest
 * of it, then the later spans (an empty one among them), queued in
 * order behind what went.
 */
static void
test_send_iov_split(struct event_base *base)
{
	static char big[1 << 20], got[(1 << 20) + 16];
	struct seen s = {0};
	struct iovec v[4];
	struct conn *c;
	size_t have = 0;
	ssize_t n;
	int fds[2];

	pair(fds);
	c = conn_new(base, fds[0], on_read, on_write, on_event, &s);
	CHECK(c != NULL);
	for (size_t i = 0; i < sizeof(big); i++)
		big[i] = (char)('A' + i % 23);
	v[0] = (struct iovec){.iov_base = big, .iov_len = sizeof(big)};
	v[1] = (struct iovec){.iov_base = "mid", .iov_len = 3};
	v[2] = (struct iovec){.iov_base = "", .iov_len = 0};
	v[3] = (struct iovec){.iov_base = "end", .iov_len = 3};
	CHECK(conn_send_iov(c, v, 4) == 0);
	CHECK(evbuffer_get_length(c->out) > 6);
	/* Queued behind: conn_send_iov() adds after what waits. */
	v[0] = (struct iovec){.iov_base = "!", .iov_len = 1};
	CHECK(conn_send_iov(c, v, 1) == 0);
	for (int i = 0; i < 2000 && have < sizeof(big) + 7; i++) {
		event_base_loop(base, EVLOOP_NONBLOCK);
		n = read(fds[1], got + have, sizeof(got) - have);
		if (n > 0)
			have += (size_t)n;
		else
			usleep(1000);
	}
	CHECKF(have == sizeof(big) + 7, "%zu bytes", have);
	CHECK(memcmp(got, big, sizeof(big)) == 0 &&
	    memcmp(got + sizeof(big), "midend!", 7) == 0);
	CHECK(evbuffer_get_length(c->out) == 0);
	CHECK(!s.called_inside);
	conn_free(c);
	close(fds[1]);
}

/* A listening socket on 127.0.0.1, any port; its address in <sin>. */
static int
listening(struct sockaddr_in *sin)
{
	socklen_t len = sizeof(*sin);
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	memset(sin, 0, sizeof(*sin));
	sin->sin_family = AF_INET;
	sin->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (fd == -1 || bind(fd, (struct sockaddr *)sin, sizeof(*sin)) == -1 ||
	    listen(fd, 4) == -1 ||
	    getsockname(fd, (struct sockaddr *)sin, &len) == -1) {
		perror("listening");
		exit(2);
	}
	return fd;
}

static int
client_socket(void)
{
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);

	if (fd == -1) {
		perror("socket");
		exit(2);
	}
	return fd;
}

/*
 * Connecting: what was queued before goes once connected, the owner
 * hears CONN_CONNECTED; a refused port is CONN_ERROR with errno; a
 * silent peer is a read timeout while reading is on.
 */
static void
test_connect(struct event_base *base)
{
	struct timeval tmo = {.tv_usec = 100000};
	struct sockaddr_in sin;
	struct seen s = {0};
	struct conn *c;
	char buf[16];
	int l = listening(&sin), peer;

	c = conn_new(base, client_socket(), on_read, NULL, on_event, &s);
	CHECK(c != NULL);
	CHECK(conn_connect(c, (struct sockaddr *)&sin, sizeof(sin)) == 0);
	CHECK(conn_write(c, "early", 5) == 0);
	RUN_UNTIL(base, s.events > 0);
	CHECKF(s.events == 1 && s.what == CONN_CONNECTED, "what %#x",
	    (unsigned)s.what);
	peer = accept(l, NULL, NULL);
	CHECK(peer != -1);
	RUN_UNTIL(base, evbuffer_get_length(c->out) == 0);
	CHECK(
	    read(peer, buf, sizeof(buf)) == 5 && memcmp(buf, "early", 5) == 0);
	conn_set_read_timeout(c, &tmo);
	conn_enable_read(c, true);
	CHECK(conn_reading(c));
	RUN_UNTIL(base, s.events > 1);
	CHECKF(s.events == 2 && s.what == (CONN_READING | CONN_TIMEOUT),
	    "what %#x", (unsigned)s.what);
	CHECK(!conn_reading(c));
	conn_free(c);
	close(peer);
	close(l);

	/* Nobody listens there any more. */
	memset(&s, 0, sizeof(s));
	c = conn_new(base, client_socket(), on_read, NULL, on_event, &s);
	CHECK(c != NULL);
	errno = 0;
	if (conn_connect(c, (struct sockaddr *)&sin, sizeof(sin)) == 0) {
		RUN_UNTIL(base, s.events > 0);
		CHECKF(s.events == 1 && s.what == CONN_ERROR &&
		        s.err == ECONNREFUSED,
		    "what %#x errno %d", (unsigned)s.what, s.err);
	} else {
		CHECK(errno == ECONNREFUSED);
	}
	conn_free(c);
}

int
main(void)
{
	struct event_base *base = event_base_new();

	if (base == NULL) {
		fprintf(stderr, "event_base_new failed\n");
		return 2;
	}
	/* As the daemon does (main.c): a write to a gone peer is an error. */
	signal(SIGPIPE, SIG_IGN);
	test_read(base);
	test_write(base);
	test_pooled_read(base);
	test_send_iov(base);
	test_pooled_outlive(base);
	test_send_iov_split(base);
	test_connect(base);
	event_base_free(base);
	return check_done();
}
