/*
 * Event log output. Lines are queued in an evbuffer and written once per
 * loop pass, so a burst costs one write(2). On a pipe or socket the fd is
 * non-blocking and a full pipe waits for EV_WRITE instead of stalling the
 * loop; a regular file is written directly (page cache). Each line is
 * queued whole, and the queue is written in order by this one writer, so
 * a reader never sees two lines mixed.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/event.h>

#include "ocspgate/event_log.h"
#include "ocspgate/log.h"

struct event_log {
	struct event_base *base;
	char *path; /* NULL for stdout */
	int fd;
	bool nonblocking;
	struct evbuffer *pending;
	struct event *flush_ev; /* fires at the end of the loop pass */
	struct event *write_ev; /* pipe became writable again */
	bool scheduled;
	uint64_t dropped;
	int last_errno; /* reported once per kind of error */
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

/* Writes what it can. Returns 0 when empty or waiting, -1 on error. */
static int
event_log_drain(struct event_log *l)
{
	while (evbuffer_get_length(l->pending) > 0) {
		int n = evbuffer_write(l->pending, l->fd);

		if (n >= 0)
			continue;
		if (errno == EINTR)
			continue;
		if (errno == EAGAIN || errno == EWOULDBLOCK) {
			event_add(l->write_ev, NULL);
			return 0;
		}
		if (errno != l->last_errno) {
			log_warn("event log: write failed: %s; dropping events",
			    strerror(errno));
			l->last_errno = errno;
		}
		l->dropped += event_log_count_lines(l->pending);
		evbuffer_drain(l->pending, evbuffer_get_length(l->pending));
		return -1;
	}
	l->last_errno = 0;
	return 0;
}

static void
event_log_on_flush(evutil_socket_t fd, short what, void *arg)
{
	struct event_log *l = arg;

	(void)fd;
	(void)what;
	l->scheduled = false;
	event_log_drain(l);
}

static int
event_log_open_fd(struct event_log *l, char *err, size_t errlen)
{
	struct stat st;
	int fd;

	if (l->path == NULL) {
		fd = STDOUT_FILENO;
	} else {
		fd = open(
		    l->path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640);
		if (fd == -1) {
			snprintf(err, errlen, "event_log %s: %s", l->path,
			    strerror(errno));
			return -1;
		}
	}
	l->nonblocking = false;
	if (fstat(fd, &st) == 0 &&
	    (S_ISFIFO(st.st_mode) || S_ISSOCK(st.st_mode))) {
		int fl = fcntl(fd, F_GETFL);

		if (fl != -1 && fcntl(fd, F_SETFL, fl | O_NONBLOCK) != -1)
			l->nonblocking = true;
	}
	l->fd = fd;
	return 0;
}

struct event_log *
event_log_open(
    struct event_base *base, const char *path, char *err, size_t errlen)
{
	struct event_log *l;

	if ((l = calloc(1, sizeof(*l))) == NULL)
		goto nomem;
	l->base = base;
	l->fd = -1;
	if (strcmp(path, "-") != 0 && (l->path = strdup(path)) == NULL)
		goto nomem;
	if ((l->pending = evbuffer_new()) == NULL)
		goto nomem;
	if ((l->flush_ev = event_new(base, -1, 0, event_log_on_flush, l)) ==
	    NULL)
		goto nomem;
	if (event_log_open_fd(l, err, errlen) == -1)
		goto fail;
	l->write_ev = event_new(base, l->fd, EV_WRITE, event_log_on_flush, l);
	if (l->write_ev == NULL)
		goto nomem;
	return l;
nomem:
	snprintf(err, errlen, "event_log: out of memory");
fail:
	event_log_free(l);
	return NULL;
}

void
event_log_write(struct event_log *l, const char *line, size_t len)
{
	if (evbuffer_get_length(l->pending) + len > EVENT_LOG_MAX_PENDING ||
	    evbuffer_add(l->pending, line, len) == -1) {
		/* Warn at 1, 2, 4, 8... drops: visible, but no flood. */
		l->dropped++;
		if ((l->dropped & (l->dropped - 1)) == 0)
			log_warn("event log: queue full, %llu events dropped",
			    (unsigned long long)l->dropped);
		return;
	}
	if (!l->scheduled && !event_pending(l->write_ev, EV_WRITE, NULL)) {
		l->scheduled = true;
		event_active(l->flush_ev, EV_TIMEOUT, 1);
	}
}

int
event_log_reopen(struct event_log *l)
{
	int old = l->fd;
	char err[256];

	if (l->path == NULL)
		return 0;
	event_log_flush(l);
	if (event_log_open_fd(l, err, sizeof(err)) == -1) {
		log_warn("%s; keeping the old file", err);
		l->fd = old;
		return -1;
	}
	event_del(l->write_ev);
	event_free(l->write_ev);
	l->write_ev =
	    event_new(l->base, l->fd, EV_WRITE, event_log_on_flush, l);
	close(old);
	return l->write_ev != NULL ? 0 : -1;
}

void
event_log_flush(struct event_log *l)
{
	int fl;

	if (l->nonblocking && (fl = fcntl(l->fd, F_GETFL)) != -1)
		fcntl(l->fd, F_SETFL, fl & ~O_NONBLOCK);
	event_log_drain(l);
	if (l->nonblocking && (fl = fcntl(l->fd, F_GETFL)) != -1)
		fcntl(l->fd, F_SETFL, fl | O_NONBLOCK);
}

uint64_t
event_log_dropped(const struct event_log *l)
{
	return l->dropped;
}

void
event_log_free(struct event_log *l)
{
	if (l == NULL)
		return;
	if (l->flush_ev != NULL)
		event_free(l->flush_ev);
	if (l->write_ev != NULL)
		event_free(l->write_ev);
	if (l->pending != NULL)
		evbuffer_free(l->pending);
	if (l->path != NULL && l->fd != -1)
		close(l->fd);
	free(l->path);
	free(l);
}
