/*
 * One exchange with an upstream server on behalf of a request: resolve
 * its host with the worker's resolver (the hosts file first), connect to
 * each address in turn (or reuse an idle connection to the same host and
 * port), send the request in origin-form, and read the answer: its head
 * into a buffer of its own, its body through the parser to where the
 * caller says. upstream_timeout bounds lookup, connect and first byte
 * together, then each stall of the answer.
 *
 * The upstream knows nothing of the client: it reports to its owner (the
 * session, answer.c) through struct upstream_ops, and the owner steers
 * it with upstream_set_sink() and upstream_pause().
 */
#ifndef OCSPGATE_UPSTREAM_H
#define OCSPGATE_UPSTREAM_H

#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <event2/event_struct.h>

#include "ocspgate/http_request.h"
#include "ocspgate/http_response.h"
#include "ocspgate/reason.h"

#define UPSTREAM_HEAD_MAX   65536 /* the answer's status line and headers */
#define UPSTREAM_HEAD_START 4096  /* most heads fit; then MAX */
#define UPSTREAM_NAME_MAX   256   /* the host name, with its NUL */

struct conn;
struct config;
struct evbuffer;
struct event;
struct evdns_getaddrinfo_request;
struct evutil_addrinfo;
struct pool;
struct resolver;
struct server;

/*
 * What an exchange tells its owner, <ctx> being the owner's pointer.
 * Each is called from one of the upstream's libevent callbacks. A
 * callback that returns -1 has ended the exchange (its owner failed it,
 * which releases the upstream); the upstream then touches nothing more.
 */
struct upstream_ops {
	/*
	 * The host resolved to <addrs> (its list; valid during the call),
	 * before any connection. Returns false when the owner answered the
	 * request itself: the upstream is released then.
	 */
	bool (*resolved)(void *ctx, const struct evutil_addrinfo *addrs);
	/* The answer's head is parsed (u->resp), no body byte yet. */
	int (*head)(void *ctx);
	/*
	 * One run of body bytes was parsed: its payload went to the sink,
	 * and <moved> raw bytes to the pass-through buffer (see
	 * upstream_set_sink()). Called for every run, also an empty one that
	 * ends a message.
	 */
	int (*body)(void *ctx, size_t moved);
	/*
	 * The answer is complete. On 0 the upstream then keeps the
	 * connection for reuse if both sides agreed to, and is released.
	 */
	int (*done)(void *ctx);
	/*
	 * The exchange failed (lookup, connect, timeout, a malformed or cut
	 * answer); the upstream is released already. The owner answers.
	 */
	void (*failed)(void *ctx, enum reason why, const char *detail);
};

/*
 * An exchange. It lives in the owner's per-request memory; between
 * upstream_start() and its end, only upstream.c writes it. The owner may
 * read resp, name, ip and raw_bytes.
 */
struct upstream {
	struct server *srv;             /* the worker: loop, pools, metrics */
	const struct config *cfg;       /* the request's */
	const struct http_request *req; /* sent, body included */
	const struct upstream_ops *ops;
	void *ctx;

	/* Where body bytes go: upstream_set_sink(). */
	struct http_response_sink sink;
	struct evbuffer *pass;

	struct conn *conn;         /* the connection, NULL when none */
	struct resolver *resolver; /* held during the exchange */
	struct evdns_getaddrinfo_request *dns; /* the lookup in flight */
	struct evutil_addrinfo *addrs;         /* resolved, tried in order */
	struct evutil_addrinfo *addr_next;
	struct event *timer; /* lookup, connect and first byte: NULL, or
	                        &timer_ev once assigned */
	struct event timer_ev;
	bool timer_armed; /* timer is pending */
	bool connected;
	bool replied;  /* the answer's first byte arrived */
	bool reused;   /* on an idle connection from the worker's pool */
	bool no_reuse; /* a fresh connection only (a retry) */
	uint64_t start_ns;

	/* The answer. */
	struct http_response resp;
	bool resp_used; /* resp was readied since the last clear: else it
	                   holds zeroes but for its sink */
	char *head;     /* its head bytes, from the worker's pool */
	size_t head_len;
	size_t head_cap;
	uint64_t raw_bytes;           /* read, framing included */
	char name[UPSTREAM_NAME_MAX]; /* the host, as resolved */
	char ip[INET6_ADDRSTRLEN];    /* the address connected to */
};

/* A fresh upstream in new memory: holds nothing. */
void upstream_init(struct upstream *u);

/*
 * Forgets the last exchange (ended) before the next request: its answer
 * and target. The head buffer and timer are kept for the next one.
 */
void upstream_clear(struct upstream *u);

/* Gives back what upstream_clear() keeps (to the worker's pool). */
void upstream_put_buffers(struct upstream *u);

/*
 * Starts the exchange for <req> (its host and port, its body) with the
 * settings of <cfg>, reporting to <ops> with <ctx>. <req> and <cfg> must
 * outlive it. The sink set before (upstream_set_sink()) receives the
 * payload. A failure may be reported before this returns.
 */
void upstream_start(struct upstream *u, struct server *srv,
    const struct config *cfg, const struct http_request *req,
    const struct upstream_ops *ops, void *ctx);

/*
 * Where body bytes go from now on: each run of payload (chunk framing
 * removed) to <sink> when sink->put is set; else the raw bytes, as they
 * came, moved to <pass> (dropped when NULL). May be called from inside
 * the sink.
 */
void upstream_set_sink(struct upstream *u,
    const struct http_response_sink *sink, struct evbuffer *pass);

/* Stops (or resumes) reading the answer: the client is behind. */
void upstream_pause(struct upstream *u, bool pause);

/* True while reading is stopped by upstream_pause(). */
bool upstream_paused(const struct upstream *u);

/*
 * Ends the exchange: cancels the lookup, closes the connection, stops
 * the timer. Reports nothing. Takes an upstream never started or
 * released already.
 */
void upstream_release(struct upstream *u);

/* Closes the worker's idle upstream connections (reload, exit). */
void upstream_idle_flush(struct server *srv);

/*
 * Closes the worker's least recently used idle upstream connections
 * until at most <keep> are left.
 */
void upstream_idle_trim(struct server *srv, unsigned keep);

#endif
