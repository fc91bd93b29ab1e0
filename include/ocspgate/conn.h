/*
 * A connection's socket (a client's, or one to an upstream), read and
 * written by ocspgate itself:
 * one event for reading, one recv() per readiness into the input (no
 * FIONREAD first), output written with sendmsg() as soon as it is queued
 * (in the same loop pass, with no wait for a write event), the write
 * event armed only while output is left that the socket did not take.
 * The connection owns its socket and closes it when freed.
 */
#ifndef OCSPGATE_CONN_H
#define OCSPGATE_CONN_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/uio.h>

#include <event2/event.h>
#include <event2/event_struct.h>

struct evbuffer;
struct pool;

/* What happened, for the event callback (as libevent's bufferevents). */
#define CONN_READING   0x01 /* while reading */
#define CONN_WRITING   0x02 /* while writing */
#define CONN_EOF       0x10 /* the peer closed its side */
#define CONN_ERROR     0x20 /* errno says what */
#define CONN_TIMEOUT   0x40 /* no progress within the timeout */
#define CONN_CONNECTED 0x80 /* conn_connect() succeeded */

/*
 * Bytes of one read(): CONN_READ_ROOM while reads leave room (a request
 * head, an OCSP answer), CONN_READ_MAX after one filled it (a large CRL
 * or trust list takes a quarter of the passes).
 */
#define CONN_READ_ROOM 4096
#define CONN_READ_MAX  16384

struct conn;

/* Input arrived; the output is empty (all written); something happened. */
typedef void (*conn_data_cb)(struct conn *c, void *arg);
typedef void (*conn_event_cb)(struct conn *c, short what, void *arg);

struct conn {
	evutil_socket_t fd;
	struct event rd; /* readable (persistent) */
	struct event wr; /* writable: added only while output waits */
	struct evbuffer *in;
	struct evbuffer *out;
	size_t read_high;  /* no reading while the input holds this; 0: any */
	bool reading;      /* the user wants input */
	bool read_armed;   /* rd is added */
	bool write_armed;  /* wr is added */
	bool write_failed; /* a write failed: nothing more is sent */
	bool connecting;   /* conn_connect() in progress */
	bool read_full;    /* the last read filled its room: read more */
	bool has_timeout;
	struct timeval write_timeout;
	bool has_read_timeout;
	struct timeval read_timeout;
	conn_data_cb on_read;
	conn_data_cb on_write;
	conn_event_cb on_event;
	void *arg;
	struct pool *pool; /* read buffers (conn_set_pool()); NULL: none */
};

/*
 * A connection on <base> for the connected, non-blocking socket <fd>,
 * calling <on_read>, <on_write> and <on_event> with <arg>. Reading is
 * off until conn_enable_read(). Returns NULL when out of memory (the
 * socket is then still the caller's).
 */
struct conn *conn_new(struct event_base *base, evutil_socket_t fd,
    conn_data_cb on_read, conn_data_cb on_write, conn_event_cb on_event,
    void *arg);

/* Frees the connection and closes its socket; no callback runs after.
 * Takes NULL. */
void conn_free(struct conn *c);

/* Reading on or off. With reading on and the input holding read_high
 * bytes or more, no read is made until it holds fewer. */
void conn_enable_read(struct conn *c, bool on);

/*
 * Reads into an empty input go to a CONN_READ_ROOM buffer of <pool>,
 * which the input then refers to (no copy, no allocation) and which goes
 * back to <pool> once all its bytes were taken, wherever they were
 * moved. <pool> must outlive every buffer the input's bytes go to.
 */
void conn_set_pool(struct conn *c, struct pool *pool);

/* The input may hold <high> bytes before reading pauses (0: no bound). */
void conn_set_read_high(struct conn *c, size_t high);

/* How long output may wait for the socket to take it (NULL: forever);
 * then the event callback gets CONN_WRITING | CONN_TIMEOUT. */
void conn_set_write_timeout(struct conn *c, const struct timeval *tv);

/* How long reading may wait for a byte (NULL: forever); then the event
 * callback gets CONN_READING | CONN_TIMEOUT. Counts only while reading
 * is on. */
void conn_set_read_timeout(struct conn *c, const struct timeval *tv);

/* Whether reading is on. */
bool conn_reading(const struct conn *c);

/* Other callbacks (any may be NULL), for a connection changing owner. */
void conn_set_callbacks(struct conn *c, conn_data_cb on_read,
    conn_data_cb on_write, conn_event_cb on_event, void *arg);

/*
 * Connects the socket to <sa>. Output queued meanwhile goes once it is
 * connected; the event callback then gets CONN_CONNECTED, or
 * CONN_ERROR with errno set if the connection failed. Returns -1 (errno
 * set) when it failed at once.
 */
int conn_connect(struct conn *c, const struct sockaddr *sa, socklen_t len);

/*
 * The on_write callback runs once in this loop pass, after the current
 * callback returns, when the output is empty by then (else once it has
 * been written).
 */
void conn_trigger_write(struct conn *c);

/*
 * Moves all of <data> to the connection: written to the socket now, as
 * far as it takes it, when nothing is queued before it; the rest queued.
 */
void conn_send(struct conn *c, struct evbuffer *data);

/*
 * As conn_send() for the <n> spans of <iov>: written now as far as the
 * socket takes them when nothing is queued before them, the rest copied
 * to the output. Returns 0, or -1 when out of memory.
 */
int conn_send_iov(struct conn *c, const struct iovec *iov, int n);

/* Queues <len> bytes of <p> (copied) for the socket. Returns 0 or -1. */
int conn_write(struct conn *c, const void *p, size_t len);

#endif
