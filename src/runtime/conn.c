/*
 * A connection's socket without libevent's bufferevents: one recv()
 * per readiness, sized by the room left (no FIONREAD ioctl before it),
 * output written with one sendmsg() of the buffer's pieces in the loop
 * pass it was queued in, the write event armed only while the socket
 * holds output back. Callbacks run only from the loop, never from
 * inside a call the user made, so that a callback may free the
 * connection.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/event.h>

#include "ocspgate/conn.h"
#include "ocspgate/pool.h"

#define CONN_SEND_IOV_MAX 4 /* spans of one conn_send_iov() */

/* Reads only while wanted and below the input's bound. */
static void
conn_arm_read(struct conn *c)
{
	bool want = c->reading &&
	    (c->read_high == 0 || evbuffer_get_length(c->in) < c->read_high);

	if (want == c->read_armed)
		return;
	if (want)
		c->read_armed =
		    event_add(&c->rd,
		        c->has_read_timeout ? &c->read_timeout : NULL) == 0;
	else {
		event_del(&c->rd);
		c->read_armed = false;
	}
}

/* Waits for the socket to take output (for the timeout, if any). */
static void
conn_arm_write(struct conn *c)
{
	/* Added again after progress: the timeout measures a stall. */
	c->write_armed =
	    event_add(&c->wr, c->has_timeout ? &c->write_timeout : NULL) == 0;
}

static void
conn_disarm_write(struct conn *c)
{
	if (c->write_armed) {
		event_del(&c->wr);
		c->write_armed = false;
	}
}

/* The input was taken from: reading may go on. */
static void
conn_in_changed(
    struct evbuffer *b, const struct evbuffer_cb_info *info, void *arg)
{
	struct conn *c = arg;

	(void)b;
	if (info->n_deleted > 0 && c->reading && !c->read_armed)
		conn_arm_read(c);
}

/* Output was queued: write it in this loop pass. */
static void
conn_out_changed(
    struct evbuffer *b, const struct evbuffer_cb_info *info, void *arg)
{
	struct conn *c = arg;

	(void)b;
	if (info->n_added > 0 && !c->write_failed && !c->write_armed &&
	    !c->connecting)
		event_active(&c->wr, EV_WRITE, 1);
}

/* The input no longer refers to a pooled read buffer: back it goes. */
static void
conn_read_buffer_done(const void *data, size_t len, void *arg)
{
	(void)len;
	pool_put(arg, (void *)(uintptr_t)data, CONN_READ_ROOM);
}

/*
 * Where the next read goes: a pooled buffer when the input is empty and
 * the read is a small one (*pooled set), else room reserved in the
 * input. Returns -1 when out of memory.
 */
static int
conn_read_space(struct conn *c, size_t room, struct evbuffer_iovec *v,
    size_t len, bool *pooled)
{
	*pooled = false;
	if (c->pool != NULL && len == 0 && room <= CONN_READ_ROOM &&
	    (v->iov_base = pool_get(c->pool, CONN_READ_ROOM)) != NULL) {
		v->iov_len = room;
		*pooled = true;
		return 0;
	}
	if (evbuffer_reserve_space(c->in, (ev_ssize_t)room, v, 1) < 1)
		return -1;
	if (v->iov_len > room)
		v->iov_len = room;
	return 0;
}

/* Gives <n> bytes read into <v> to the input. Returns -1 when out of
 * memory (a pooled buffer is then back in the pool). */
static int
conn_read_commit(
    struct conn *c, struct evbuffer_iovec *v, size_t n, bool pooled)
{
	if (!pooled) {
		v->iov_len = n;
		(void)evbuffer_commit_space(c->in, v, 1);
		return 0;
	}
	if (evbuffer_add_reference(
	        c->in, v->iov_base, n, conn_read_buffer_done, c->pool) == -1) {
		pool_put(c->pool, v->iov_base, CONN_READ_ROOM);
		return -1;
	}
	return 0;
}

static void
conn_on_readable(evutil_socket_t fd, short what, void *arg)
{
	struct conn *c = arg;
	struct evbuffer_iovec v;
	size_t room = c->read_full ? CONN_READ_MAX : CONN_READ_ROOM;
	size_t len = evbuffer_get_length(c->in);
	ssize_t n;
	bool pooled;
	int e;

	if (!c->reading)
		return;
	if (what & EV_TIMEOUT) {
		c->reading = false;
		conn_arm_read(c);
		c->on_event(c, CONN_READING | CONN_TIMEOUT, c->arg);
		return;
	}
	if (c->read_high > 0) {
		if (len >= c->read_high) {
			conn_arm_read(c);
			return;
		}
		if (c->read_high - len < room)
			room = c->read_high - len;
	}
	if (conn_read_space(c, room, &v, len, &pooled) == -1)
		goto nomem;
	do
		n = recv(fd, v.iov_base, v.iov_len, 0);
	while (n == -1 && errno == EINTR);
	if (pooled && n <= 0) {
		e = errno;
		pool_put(c->pool, v.iov_base, CONN_READ_ROOM);
		errno = e;
	}
	if (n == -1) {
		if (errno == EAGAIN || errno == EWOULDBLOCK)
			return;
		e = errno;
		c->reading = false;
		conn_arm_read(c);
		errno = e;
		c->on_event(c, CONN_READING | CONN_ERROR, c->arg);
		return;
	}
	if (n == 0) {
		c->reading = false;
		conn_arm_read(c);
		c->on_event(c, CONN_READING | CONN_EOF, c->arg);
		return;
	}
	c->read_full = (size_t)n == room;
	if (conn_read_commit(c, &v, (size_t)n, pooled) == -1)
		goto nomem;
	conn_arm_read(c);
	if (c->on_read != NULL)
		c->on_read(c, c->arg);
	return;
nomem:
	c->reading = false;
	conn_arm_read(c);
	errno = ENOMEM;
	c->on_event(c, CONN_READING | CONN_ERROR, c->arg);
}

/*
 * The connect finished, one way or the other: the owner is told which.
 * Returns false when it failed.
 */
static bool
conn_connected(struct conn *c)
{
	int err = 0;
	socklen_t len = sizeof(err);

	c->connecting = false;
	conn_disarm_write(c);
	if (getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &len) == -1)
		err = errno;
	if (err != 0) {
		c->write_failed = true;
		errno = err;
		c->on_event(c, CONN_ERROR, c->arg);
		return false;
	}
	/*
	 * What was queued meanwhile goes in this loop pass: scheduled
	 * before the owner hears of it, as it may free the connection.
	 */
	if (evbuffer_get_length(c->out) > 0)
		event_active(&c->wr, EV_WRITE, 1);
	c->on_event(c, CONN_CONNECTED, c->arg);
	return true;
}

/*
 * Writes <n> pieces with one sendmsg(): the socket's own call, which
 * skips the file layer a writev() goes through. Returns what sendmsg()
 * returns.
 */
static ssize_t
conn_sendv(evutil_socket_t fd, struct iovec *v, int n)
{
	struct msghdr m = {0};

	m.msg_iov = v;
	m.msg_iovlen = (size_t)n;
	return sendmsg(fd, &m, MSG_NOSIGNAL);
}

/* Writes what <out> holds, up to CONN_WRITE_PIECES of its pieces. */
#define CONN_WRITE_PIECES 16
static ssize_t
conn_write_out(struct evbuffer *out, evutil_socket_t fd)
{
	struct iovec v[CONN_WRITE_PIECES];
	ssize_t n;
	int k;

	k = evbuffer_peek(out, -1, NULL, v, CONN_WRITE_PIECES);
	n = conn_sendv(fd, v, k < CONN_WRITE_PIECES ? k : CONN_WRITE_PIECES);
	if (n > 0)
		evbuffer_drain(out, (size_t)n);
	return n;
}

static void
conn_on_writable(evutil_socket_t fd, short what, void *arg)
{
	struct conn *c = arg;
	int e;

	if (what & EV_TIMEOUT) {
		conn_disarm_write(c);
		c->on_event(c, CONN_WRITING | CONN_TIMEOUT, c->arg);
		return;
	}
	if (c->connecting) {
		conn_connected(c);
		return;
	}
	if (c->write_failed)
		return;
	while (evbuffer_get_length(c->out) > 0) {
		ssize_t n = conn_write_out(c->out, fd);

		if (n > 0)
			continue;
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
			conn_arm_write(c);
			return;
		}
		e = errno;
		c->write_failed = true;
		conn_disarm_write(c);
		errno = e;
		c->on_event(c, CONN_WRITING | CONN_ERROR, c->arg);
		return;
	}
	conn_disarm_write(c);
	if (c->on_write != NULL)
		c->on_write(c, c->arg);
}

struct conn *
conn_new(struct event_base *base, evutil_socket_t fd, conn_data_cb on_read,
    conn_data_cb on_write, conn_event_cb on_event, void *arg)
{
	struct conn *c = calloc(1, sizeof(*c));

	if (c == NULL)
		return NULL;
	c->fd = fd;
	c->on_read = on_read;
	c->on_write = on_write;
	c->on_event = on_event;
	c->arg = arg;
	if ((c->in = evbuffer_new()) == NULL ||
	    (c->out = evbuffer_new()) == NULL ||
	    event_assign(&c->rd, base, fd, EV_READ | EV_PERSIST,
	        conn_on_readable, c) == -1 ||
	    event_assign(&c->wr, base, fd, EV_WRITE | EV_PERSIST,
	        conn_on_writable, c) == -1 ||
	    evbuffer_add_cb(c->in, conn_in_changed, c) == NULL ||
	    evbuffer_add_cb(c->out, conn_out_changed, c) == NULL) {
		if (c->in != NULL)
			evbuffer_free(c->in);
		if (c->out != NULL)
			evbuffer_free(c->out);
		free(c);
		return NULL;
	}
	return c;
}

void
conn_free(struct conn *c)
{
	if (c == NULL)
		return;
	/* event_del() also takes an event off the active queue. */
	event_del(&c->rd);
	event_del(&c->wr);
	evbuffer_free(c->in);
	evbuffer_free(c->out);
	if (c->fd != -1)
		close(c->fd);
	free(c);
}

void
conn_enable_read(struct conn *c, bool on)
{
	c->reading = on;
	conn_arm_read(c);
}

void
conn_set_pool(struct conn *c, struct pool *pool)
{
	c->pool = pool;
}

void
conn_set_read_high(struct conn *c, size_t high)
{
	c->read_high = high;
	conn_arm_read(c);
}

void
conn_set_write_timeout(struct conn *c, const struct timeval *tv)
{
	c->has_timeout = tv != NULL;
	if (tv != NULL)
		c->write_timeout = *tv;
	if (c->write_armed)
		conn_arm_write(c);
}

void
conn_set_read_timeout(struct conn *c, const struct timeval *tv)
{
	c->has_read_timeout = tv != NULL;
	if (tv != NULL)
		c->read_timeout = *tv;
	/*
	 * An event added again keeps its place in epoll and only gets the
	 * new timeout; removing the timeout alone leaves epoll alone too:
	 * no system call either way (the upstream side changes it twice
	 * per request).
	 */
	if (c->read_armed) {
		if (tv != NULL)
			(void)event_add(&c->rd, tv);
		else
			(void)event_remove_timer(&c->rd);
	}
}

bool
conn_reading(const struct conn *c)
{
	return c->reading;
}

void
conn_set_callbacks(struct conn *c, conn_data_cb on_read, conn_data_cb on_write,
    conn_event_cb on_event, void *arg)
{
	c->on_read = on_read;
	c->on_write = on_write;
	c->on_event = on_event;
	c->arg = arg;
}

int
conn_connect(struct conn *c, const struct sockaddr *sa, socklen_t len)
{
	int rc;

	do
		rc = connect(c->fd, sa, len);
	while (rc == -1 && errno == EINTR);
	if (rc == -1 && errno != EINPROGRESS)
		return -1;
	/* Connected at once or not: told from the loop either way. */
	c->connecting = true;
	if (rc == 0)
		event_active(&c->wr, EV_WRITE, 1);
	else
		conn_arm_write(c);
	return 0;
}

void
conn_trigger_write(struct conn *c)
{
	event_active(&c->wr, EV_WRITE, 1);
}

void
conn_send(struct conn *c, struct evbuffer *data)
{
	if (evbuffer_get_length(c->out) == 0 && !c->write_failed) {
		while (evbuffer_get_length(data) > 0 &&
		    conn_write_out(data, c->fd) > 0)
			continue;
	}
	if (evbuffer_get_length(data) > 0)
		evbuffer_add_buffer(c->out, data);
}

int
conn_send_iov(struct conn *c, const struct iovec *iov, int n)
{
	struct iovec v[CONN_SEND_IOV_MAX];
	ssize_t w = 0;
	int i;

	if (n < 0 || n > CONN_SEND_IOV_MAX)
		return -1;
	memcpy(v, iov, (size_t)n * sizeof(v[0]));
	for (i = 0; i < n && v[i].iov_len == 0; i++)
		continue;
	if (evbuffer_get_length(c->out) == 0 && !c->write_failed) {
		while (i < n) {
			do
				w = conn_sendv(c->fd, v + i, n - i);
			while (w == -1 && errno == EINTR);
			if (w <= 0)
				break;
			/* Skips what went, leaving <i> on the first left. */
			for (; i < n && (size_t)w >= v[i].iov_len; i++)
				w -= (ssize_t)v[i].iov_len;
			if (i < n) {
				v[i].iov_base = (char *)v[i].iov_base + w;
				v[i].iov_len -= (size_t)w;
			}
		}
	}
	for (; i < n; i++) {
		if (v[i].iov_len > 0 &&
		    evbuffer_add(c->out, v[i].iov_base, v[i].iov_len) == -1)
			return -1;
	}
	return 0;
}

int
conn_write(struct conn *c, const void *p, size_t len)
{
	return evbuffer_add(c->out, p, len);
}
