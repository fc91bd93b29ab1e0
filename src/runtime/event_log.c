/*
 * Event outputs. A worker's lines wait in its own evbuffer until the end
 * of the loop pass, then move to the shared file under its mutex (one
 * lock per pass, none per request) and are written in one call. If the
 * file is a pipe that is full, what is left waits in the sink's backlog
 * in order, and whichever worker flushes next goes on from there, so two
 * workers' lines never interleave. Syslog messages go out on the
 * worker's own socket: one datagram per line over UDP or a Unix socket,
 * octet-counted frames over TCP, reconnecting with a back-off.
 */
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/event.h>

#include "ocspgate/config.h"
#include "ocspgate/event_log.h"
#include "ocspgate/event_trim.h"
#include "ocspgate/json.h"
#include "ocspgate/log.h"
#include "ocspgate/syslog_format.h"

#define EVENT_SYSLOG_MSG_MAX   65000 /* fits a UDP datagram */
#define EVENT_SYSLOG_FRAME_MAX 16    /* octet count and its space */
#define EVENT_SYSLOG_RETRY_MIN 1     /* seconds before reconnecting */
#define EVENT_SYSLOG_RETRY_MAX 30

struct event_sink {
	_Atomic unsigned refs;
	pthread_mutex_t lock;
	char *path; /* NULL for stdout */
	int fd;
	unsigned gen; /* bumped when fd changes */
	bool nonblocking;
	struct evbuffer *backlog; /* written in part: goes on first */
	int last_errno;           /* reported once per kind of error */
	struct event_output_stats stats;
};

/* A syslog target and this worker's socket to it. */
struct event_syslog {
	char *spec;
	struct syslog_target target;
	struct sockaddr_storage addr;
	socklen_t addr_len;
	int socktype;
	int fd; /* -1 while not connected */
	bool connecting;
	unsigned retry_sec;
	struct event *io;    /* TCP: writable or connected */
	struct event *retry; /* reconnect timer */
	/* Messages as [uint32 length][bytes], the head partly sent. */
	struct evbuffer *queue;
	size_t head_sent;
	size_t max_queue;
	char *scratch;      /* one formatted message */
	size_t max_message; /* bytes of a message, header included */
	struct json *trim;  /* the event_log's: a line shortened to fit */
	int facility;
	char hostname[256];
	long pid;
	struct event_output_stats *stats; /* the event_log's: outlive us */
};

struct event_log {
	struct event_base *base;
	struct event_sink *sink;
	struct evbuffer *pending; /* this pass's lines for the file */
	size_t max_pending;
	struct event *flush_ev; /* fires at the end of the loop pass */
	struct event *write_ev; /* the file became writable again */
	unsigned write_gen;     /* the sink fd write_ev watches */
	bool scheduled;
	size_t max_line; /* longer lines are shortened (event_trim()) */
	struct json trim;
	struct event_syslog *syslog;
	struct event_output_stats syslog_stats;
};

static uint64_t
event_log_count_lines(struct evbuffer *b)
{
	struct evbuffer_ptr p;
	uint64_t n = 0;

	if (evbuffer_ptr_set(b, &p, 0, EVBUFFER_PTR_SET) == -1)
		return 0;
	for (;;) {
		p = evbuffer_search(b, "\n", 1, &p);
		if (p.pos == -1)
			break;
		n++;
		if (evbuffer_ptr_set(b, &p, 1, EVBUFFER_PTR_ADD) == -1)
			break;
	}
	return n;
}

static void
event_count(_Atomic uint64_t *c, uint64_t n)
{
	atomic_fetch_add_explicit(c, n, memory_order_relaxed);
}

/* ------------------------------------------------------------------ */
/* The shared file */

static int
event_sink_open_fd(struct event_sink *k, char *err, size_t errlen)
{
	struct stat st;
	int fd;

	if (k->path == NULL) {
		fd = STDOUT_FILENO;
	} else {
		fd = open(
		    k->path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640);
		if (fd == -1) {
			snprintf(err, errlen, "event_log %s: %s", k->path,
			    strerror(errno));
			return -1;
		}
	}
	k->nonblocking = false;
	if (fstat(fd, &st) == 0 &&
	    (S_ISFIFO(st.st_mode) || S_ISSOCK(st.st_mode))) {
		int fl = fcntl(fd, F_GETFL);

		if (fl != -1 && fcntl(fd, F_SETFL, fl | O_NONBLOCK) != -1)
			k->nonblocking = true;
	}
	k->fd = fd;
	k->gen++;
	return 0;
}

struct event_sink *
event_sink_open(const char *path, char *err, size_t errlen)
{
	struct event_sink *k;

	if ((k = calloc(1, sizeof(*k))) == NULL)
		goto nomem;
	atomic_init(&k->refs, 1);
	k->fd = -1;
	pthread_mutex_init(&k->lock, NULL);
	if (strcmp(path, "-") != 0 && (k->path = strdup(path)) == NULL)
		goto nomem;
	if ((k->backlog = evbuffer_new()) == NULL)
		goto nomem;
	if (event_sink_open_fd(k, err, errlen) == -1)
		goto fail;
	return k;
nomem:
	snprintf(err, errlen, "event_log: out of memory");
fail:
	event_sink_unref(k);
	return NULL;
}

struct event_sink *
event_sink_ref(struct event_sink *k)
{
	atomic_fetch_add(&k->refs, 1);
	return k;
}

const struct event_output_stats *
event_sink_stats(const struct event_sink *k)
{
	return &k->stats;
}

/*
 * Writes the backlog, the sink locked. Returns 1 when it is empty, 0
 * when the file is full (wait for EV_WRITE), -1 after an error that
 * dropped it.
 */
static int
event_sink_drain(struct event_sink *k)
{
	while (evbuffer_get_length(k->backlog) > 0) {
		int n = evbuffer_write(k->backlog, k->fd);

		if (n >= 0)
			continue;
		if (errno == EINTR)
			continue;
		if (errno == EAGAIN || errno == EWOULDBLOCK)
			break;
		if (errno != k->last_errno) {
			log_warn("event log: write failed: %s; dropping events",
			    strerror(errno));
			k->last_errno = errno;
		}
		event_count(
		    &k->stats.dropped, event_log_count_lines(k->backlog));
		evbuffer_drain(k->backlog, evbuffer_get_length(k->backlog));
		atomic_store_explicit(
		    &k->stats.queued, 0, memory_order_relaxed);
		return -1;
	}
	atomic_store_explicit(&k->stats.queued, evbuffer_get_length(k->backlog),
	    memory_order_relaxed);
	if (evbuffer_get_length(k->backlog) > 0)
		return 0;
	k->last_errno = 0;
	return 1;
}

/* Blocks until the backlog is written; the sink locked. */
static void
event_sink_drain_blocking(struct event_sink *k)
{
	int fl;

	if (k->nonblocking && (fl = fcntl(k->fd, F_GETFL)) != -1)
		fcntl(k->fd, F_SETFL, fl & ~O_NONBLOCK);
	event_sink_drain(k);
	if (k->nonblocking && (fl = fcntl(k->fd, F_GETFL)) != -1)
		fcntl(k->fd, F_SETFL, fl | O_NONBLOCK);
}

int
event_sink_reopen(struct event_sink *k)
{
	int old = k->fd, rc = 0;
	char err[256];

	if (k->path == NULL)
		return 0;
	pthread_mutex_lock(&k->lock);
	event_sink_drain_blocking(k);
	if (event_sink_open_fd(k, err, sizeof(err)) == -1) {
		log_warn("%s; keeping the old file", err);
		k->fd = old;
		rc = -1;
	} else {
		close(old);
	}
	pthread_mutex_unlock(&k->lock);
	return rc;
}

void
event_sink_unref(struct event_sink *k)
{
	if (k == NULL || atomic_fetch_sub(&k->refs, 1) != 1)
		return;
	if (k->backlog != NULL) {
		if (k->fd != -1)
			event_sink_drain_blocking(k);
		evbuffer_free(k->backlog);
	}
	if (k->path != NULL && k->fd != -1)
		close(k->fd);
	pthread_mutex_destroy(&k->lock);
	free(k->path);
	free(k);
}

/* ------------------------------------------------------------------ */
/* Syslog */

static void event_syslog_connect(struct event_syslog *y);
static void event_syslog_send(struct event_syslog *y);

static void
event_syslog_close(struct event_syslog *y)
{
	if (y->io != NULL) {
		event_free(y->io);
		y->io = NULL;
	}
	if (y->fd != -1) {
		close(y->fd);
		y->fd = -1;
	}
	y->connecting = false;
}

/*
 * Over TCP the rest of a message cut by a lost connection cannot be sent
 * on a new one: the collector would read a broken frame. Drop it.
 */
static void
event_syslog_drop_partial(struct event_syslog *y)
{
	uint32_t len;

	if (y->head_sent == 0 ||
	    evbuffer_remove(y->queue, &len, sizeof(len)) != sizeof(len))
		return;
	evbuffer_drain(y->queue, len);
	y->head_sent = 0;
	event_count(&y->stats->dropped, 1);
}

static void
event_syslog_on_retry(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	event_syslog_connect(arg);
}

/* The target is gone: wait, then connect again, doubling the wait. */
static void
event_syslog_lost(struct event_syslog *y, int e)
{
	struct timeval tv = {.tv_sec = y->retry_sec};

	if (y->retry_sec == EVENT_SYSLOG_RETRY_MIN)
		log_warn("event_syslog %s: %s; retrying", y->spec, strerror(e));
	event_syslog_close(y);
	event_syslog_drop_partial(y);
	evtimer_add(y->retry, &tv);
	y->retry_sec = y->retry_sec * 2 > EVENT_SYSLOG_RETRY_MAX
	    ? EVENT_SYSLOG_RETRY_MAX
	    : y->retry_sec * 2;
}

static void
event_syslog_on_io(evutil_socket_t fd, short what, void *arg)
{
	struct event_syslog *y = arg;
	int e = 0;
	socklen_t elen = sizeof(e);

	(void)what;
	if (y->connecting) {
		if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &e, &elen) == -1)
			e = errno;
		if (e != 0) {
			event_syslog_lost(y, e);
			return;
		}
		y->connecting = false;
		y->retry_sec = EVENT_SYSLOG_RETRY_MIN;
	}
	event_syslog_send(y);
}

static void
event_syslog_connect(struct event_syslog *y)
{
	struct event_base *base = event_get_base(y->retry);
	int fd;

	fd = socket(
	    y->addr.ss_family, y->socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd == -1) {
		event_syslog_lost(y, errno);
		return;
	}
	y->fd = fd;
	if (connect(fd, (struct sockaddr *)&y->addr, y->addr_len) == -1) {
		if (errno != EINPROGRESS) {
			event_syslog_lost(y, errno);
			return;
		}
		y->connecting = true;
	}
	if (y->socktype == SOCK_STREAM) {
		y->io = event_new(base, fd, EV_WRITE, event_syslog_on_io, y);
		if (y->io == NULL) {
			event_syslog_lost(y, ENOMEM);
			return;
		}
		if (y->connecting) {
			event_add(y->io, NULL);
			return;
		}
		y->retry_sec = EVENT_SYSLOG_RETRY_MIN;
	}
	event_syslog_send(y);
}

/* Sends queued messages until done or the socket is full. */
static void
event_syslog_send(struct event_syslog *y)
{
	uint32_t len;
	ssize_t n;

	if (y->fd == -1 || y->connecting)
		return;
	while (evbuffer_copyout(y->queue, &len, sizeof(len)) == sizeof(len)) {
		unsigned char *msg =
		    evbuffer_pullup(y->queue, sizeof(len) + len);

		if (msg == NULL)
			break;
		n = send(y->fd, msg + sizeof(len) + y->head_sent,
		    len - y->head_sent, MSG_DONTWAIT | MSG_NOSIGNAL);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
			if (y->socktype == SOCK_STREAM) {
				event_add(y->io, NULL);
				break;
			}
			/* A datagram socket full: the collector is behind. */
			n = (ssize_t)len;
			event_count(&y->stats->dropped, 1);
		} else if (n == -1) {
			if (y->socktype == SOCK_STREAM) {
				event_syslog_lost(y, errno);
				break;
			}
			/* No one listening (ECONNREFUSED), and the like. */
			event_count(&y->stats->dropped, 1);
			n = (ssize_t)(len - y->head_sent);
		}
		y->head_sent += (size_t)n;
		if (y->head_sent < len)
			continue;
		evbuffer_drain(y->queue, sizeof(len) + len);
		y->head_sent = 0;
	}
	atomic_store_explicit(&y->stats->queued, evbuffer_get_length(y->queue),
	    memory_order_relaxed);
}

static void
event_syslog_free(struct event_syslog *y)
{
	if (y == NULL)
		return;
	event_syslog_close(y);
	if (y->retry != NULL)
		event_free(y->retry);
	if (y->queue != NULL)
		evbuffer_free(y->queue);
	free(y->scratch);
	free(y->spec);
	free(y);
}

/* Resolves <t> (blocking, at start or reload) into <y>'s address. */
static int
event_syslog_resolve(struct event_syslog *y, char *err, size_t errlen)
{
	const struct syslog_target *t = &y->target;
	struct addrinfo hints, *ai;
	int rc;

	if (t->transport == SYSLOG_TRANSPORT_UNIX) {
		struct sockaddr_un *un = (struct sockaddr_un *)&y->addr;

		un->sun_family = AF_UNIX;
		snprintf(un->sun_path, sizeof(un->sun_path), "%s", t->path);
		y->addr_len = sizeof(*un);
		y->socktype = SOCK_DGRAM;
		return 0;
	}
	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype =
	    t->transport == SYSLOG_TRANSPORT_TCP ? SOCK_STREAM : SOCK_DGRAM;
	if ((rc = getaddrinfo(t->host, t->port, &hints, &ai)) != 0) {
		snprintf(err, errlen, "event_syslog %s: %s", y->spec,
		    gai_strerror(rc));
		return -1;
	}
	memcpy(&y->addr, ai->ai_addr, ai->ai_addrlen);
	y->addr_len = ai->ai_addrlen;
	y->socktype = hints.ai_socktype;
	freeaddrinfo(ai);
	return 0;
}

int
event_log_check(const struct config *cfg, char *err, size_t errlen)
{
	struct event_syslog y;

	if (cfg->event_syslog == NULL)
		return 0;
	memset(&y, 0, sizeof(y));
	y.spec = cfg->event_syslog;
	if (syslog_parse_target(y.spec, &y.target, err, errlen) == -1)
		return -1;
	return event_syslog_resolve(&y, err, errlen);
}

/*
 * The longest line the file takes: event_log_max_line, and no more than
 * half the queue, so that a line always fits once the queue drains.
 */
static size_t
event_log_max_line(const struct config *cfg)
{
	size_t max = cfg->event_log_max_line;

	return max < cfg->event_queue_bytes / 2 ? max
	                                        : cfg->event_queue_bytes / 2;
}

/*
 * The longest message the syslog target of <cfg> takes: its setting, no
 * more than half the queue, and no more than a datagram carries over UDP
 * or a Unix socket.
 */
static size_t
event_syslog_max_message(const struct config *cfg, int socktype)
{
	size_t max = cfg->event_syslog_max_message;

	if (max > cfg->event_queue_bytes / 2)
		max = cfg->event_queue_bytes / 2;
	if (socktype != SOCK_STREAM && max > EVENT_SYSLOG_MSG_MAX)
		max = EVENT_SYSLOG_MSG_MAX;
	return max;
}

static struct event_syslog *
event_syslog_new(struct event_base *base, const struct config *cfg,
    struct event_output_stats *stats, struct json *trim, char *err,
    size_t errlen)
{
	struct event_syslog *y;

	if ((y = calloc(1, sizeof(*y))) == NULL)
		goto nomem;
	y->stats = stats;
	y->trim = trim;
	y->fd = -1;
	y->retry_sec = EVENT_SYSLOG_RETRY_MIN;
	y->facility = cfg->syslog_facility;
	y->max_queue = cfg->event_queue_bytes;
	y->pid = (long)getpid();
	if (gethostname(y->hostname, sizeof(y->hostname)) == -1)
		y->hostname[0] = '\0';
	y->hostname[sizeof(y->hostname) - 1] = '\0';
	if ((y->spec = strdup(cfg->event_syslog)) == NULL ||
	    (y->queue = evbuffer_new()) == NULL ||
	    (y->retry = evtimer_new(base, event_syslog_on_retry, y)) == NULL)
		goto nomem;
	if (syslog_parse_target(y->spec, &y->target, err, errlen) == -1 ||
	    event_syslog_resolve(y, err, errlen) == -1) {
		event_syslog_free(y);
		return NULL;
	}
	y->max_message = event_syslog_max_message(cfg, y->socktype);
	if ((y->scratch = malloc(y->max_message + EVENT_SYSLOG_FRAME_MAX)) ==
	    NULL)
		goto nomem;
	event_syslog_connect(y);
	return y;
nomem:
	snprintf(err, errlen, "event_syslog: out of memory");
	event_syslog_free(y);
	return NULL;
}

/*
 * Queues one message for <line>. A line longer than a message can carry
 * is shortened field by field to fit (event_trim()), so that the
 * collector gets every event the file gets.
 */
static void
event_syslog_write(struct event_syslog *y, int severity, const char *msgid,
    const char *line, size_t len)
{
	struct timespec ts;
	size_t head, room;
	uint32_t n;

	event_count(&y->stats->lines, 1);
	clock_gettime(CLOCK_REALTIME, &ts);
	/* The header alone, then what is left of the message for MSG. */
	head = syslog_format(y->scratch, y->max_message, y->facility, severity,
	    &ts, y->hostname, "ocspgate", y->pid, msgid, NULL, 0, false);
	/* SP and MSG (the line less its '\n') follow: len bytes. */
	room = head > 0 && y->max_message > head ? y->max_message - head : 0;
	if (len > room) {
		if (event_trim(line, len, room, y->trim) == -1) {
			event_count(&y->stats->dropped, 1);
			return;
		}
		line = y->trim->buf;
		len = y->trim->len;
	}
	n = (uint32_t)syslog_format(y->scratch,
	    y->max_message + EVENT_SYSLOG_FRAME_MAX, y->facility, severity, &ts,
	    y->hostname, "ocspgate", y->pid, msgid, line, len,
	    y->socktype == SOCK_STREAM);
	if (n == 0 ||
	    evbuffer_get_length(y->queue) + sizeof(n) + n > y->max_queue ||
	    evbuffer_expand(y->queue, sizeof(n) + n) == -1) {
		event_count(&y->stats->dropped, 1);
		return;
	}
	evbuffer_add(y->queue, &n, sizeof(n));
	evbuffer_add(y->queue, y->scratch, n);
}

/* ------------------------------------------------------------------ */
/* A worker's writer */

static void event_log_on_flush(evutil_socket_t fd, short what, void *arg);

/* Watches the sink's current fd for writability. */
static int
event_log_watch(struct event_log *l)
{
	if (l->write_ev != NULL && l->write_gen == l->sink->gen)
		return 0;
	if (l->write_ev != NULL)
		event_free(l->write_ev);
	l->write_ev =
	    event_new(l->base, l->sink->fd, EV_WRITE, event_log_on_flush, l);
	l->write_gen = l->sink->gen;
	return l->write_ev != NULL ? 0 : -1;
}

/* Hands this pass's lines to the sink and writes what the file takes. */
static void
event_log_drain(struct event_log *l)
{
	struct event_sink *k = l->sink;
	size_t len = evbuffer_get_length(l->pending);

	pthread_mutex_lock(&k->lock);
	if (len > 0) {
		if (evbuffer_get_length(k->backlog) + len >
		    EVENT_SINK_MAX_PENDING) {
			event_count(&k->stats.dropped,
			    event_log_count_lines(l->pending));
			evbuffer_drain(l->pending, len);
		} else {
			evbuffer_add_buffer(k->backlog, l->pending);
		}
	}
	if (event_sink_drain(k) == 0 && event_log_watch(l) == 0)
		event_add(l->write_ev, NULL);
	pthread_mutex_unlock(&k->lock);
}

static void
event_log_on_flush(evutil_socket_t fd, short what, void *arg)
{
	struct event_log *l = arg;

	(void)fd;
	(void)what;
	l->scheduled = false;
	event_log_drain(l);
	if (l->syslog != NULL)
		event_syslog_send(l->syslog);
}

struct event_log *
event_log_new(struct event_base *base, struct event_sink *sink,
    const struct config *cfg, char *err, size_t errlen)
{
	struct event_log *l;

	if ((l = calloc(1, sizeof(*l))) == NULL)
		goto nomem;
	l->base = base;
	l->sink = event_sink_ref(sink);
	l->max_pending = cfg->event_queue_bytes;
	l->max_line = event_log_max_line(cfg);
	json_init(&l->trim);
	if ((l->pending = evbuffer_new()) == NULL)
		goto nomem;
	if ((l->flush_ev = event_new(base, -1, 0, event_log_on_flush, l)) ==
	    NULL)
		goto nomem;
	if (cfg->event_syslog != NULL &&
	    (l->syslog = event_syslog_new(
	         base, cfg, &l->syslog_stats, &l->trim, err, errlen)) == NULL) {
		event_log_free(l);
		return NULL;
	}
	return l;
nomem:
	snprintf(err, errlen, "event_log: out of memory");
	event_log_free(l);
	return NULL;
}

void
event_log_write(struct event_log *l, int severity, const char *msgid,
    const char *line, size_t len)
{
	struct event_sink *k = l->sink;
	const char *fline = line;
	size_t flen = len;

	event_count(&k->stats.lines, 1);
	/* A line over the file's bound is shortened, not dropped. */
	if (len > l->max_line) {
		if (event_trim(line, len, l->max_line, &l->trim) == 0) {
			fline = l->trim.buf;
			flen = l->trim.len;
		} else {
			flen = SIZE_MAX;
		}
	}
	if (flen == SIZE_MAX ||
	    evbuffer_get_length(l->pending) + flen > l->max_pending ||
	    evbuffer_add(l->pending, fline, flen) == -1) {
		uint64_t n = atomic_fetch_add_explicit(
		                 &k->stats.dropped, 1, memory_order_relaxed) +
		    1;

		/* Warn at 1, 2, 4, 8... drops: visible, but no flood. */
		if ((n & (n - 1)) == 0)
			log_warn("event log: queue full, %llu events dropped",
			    (unsigned long long)n);
	}
	if (l->syslog != NULL)
		event_syslog_write(l->syslog, severity, msgid, line, len);
	if (!l->scheduled) {
		l->scheduled = true;
		event_active(l->flush_ev, EV_TIMEOUT, 1);
	}
}

/* Everything a reload switches in a worker's writer, made in advance. */
struct event_log_change {
	struct event_sink *sink;     /* a reference */
	bool new_syslog;             /* replace the syslog output by... */
	struct event_syslog *syslog; /* ...this one (NULL: none) */
	size_t max_queue;
	size_t max_line;
};

struct event_log_change *
event_log_prepare(struct event_log *l, struct event_sink *sink,
    const struct config *cfg, char *err, size_t errlen)
{
	struct event_syslog *y = l->syslog;
	struct event_log_change *c;
	bool same = (y == NULL && cfg->event_syslog == NULL) ||
	    (y != NULL && cfg->event_syslog != NULL &&
	        strcmp(y->spec, cfg->event_syslog) == 0 &&
	        y->facility == cfg->syslog_facility &&
	        y->max_message == event_syslog_max_message(cfg, y->socktype));

	if ((c = calloc(1, sizeof(*c))) == NULL) {
		snprintf(err, errlen, "event_log: out of memory");
		return NULL;
	}
	c->new_syslog = !same;
	if (!same && cfg->event_syslog != NULL &&
	    (c->syslog = event_syslog_new(l->base, cfg, &l->syslog_stats,
	         &l->trim, err, errlen)) == NULL) {
		free(c);
		return NULL;
	}
	c->sink = event_sink_ref(sink);
	c->max_queue = cfg->event_queue_bytes;
	c->max_line = event_log_max_line(cfg);
	return c;
}

void
event_log_abort(struct event_log_change *c)
{
	if (c == NULL)
		return;
	event_syslog_free(c->syslog);
	event_sink_unref(c->sink);
	free(c);
}

void
event_log_commit(struct event_log *l, struct event_log_change *c)
{
	if (c->new_syslog) {
		if (l->syslog != NULL) {
			event_syslog_send(l->syslog);
			event_syslog_free(l->syslog);
		}
		l->syslog = c->syslog;
		c->syslog = NULL;
	}
	if (l->syslog != NULL)
		l->syslog->max_queue = c->max_queue;
	l->max_pending = c->max_queue;
	l->max_line = c->max_line;
	if (c->sink != l->sink) {
		event_log_drain(l);
		if (l->write_ev != NULL) {
			event_free(l->write_ev);
			l->write_ev = NULL;
		}
		event_sink_unref(l->sink);
		l->sink = event_sink_ref(c->sink);
	}
	event_log_abort(c);
}

const struct event_output_stats *
event_log_syslog_stats(const struct event_log *l)
{
	return &l->syslog_stats;
}

void
event_log_flush(struct event_log *l)
{
	event_log_drain(l);
	pthread_mutex_lock(&l->sink->lock);
	event_sink_drain_blocking(l->sink);
	pthread_mutex_unlock(&l->sink->lock);
	if (l->syslog != NULL)
		event_syslog_send(l->syslog);
}

void
event_log_free(struct event_log *l)
{
	if (l == NULL)
		return;
	event_syslog_free(l->syslog);
	if (l->flush_ev != NULL)
		event_free(l->flush_ev);
	if (l->write_ev != NULL)
		event_free(l->write_ev);
	if (l->pending != NULL)
		evbuffer_free(l->pending);
	event_sink_unref(l->sink);
	json_free(&l->trim);
	free(l);
}
