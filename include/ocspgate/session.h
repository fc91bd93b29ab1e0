/*
 * A client connection and the request it is serving: both bufferevents,
 * the parsers, the DNS lookup, the timer, the verdict. session_close() is
 * the one place that frees it all.
 */
#ifndef OCSPGATE_SESSION_H
#define OCSPGATE_SESSION_H

#include <netinet/in.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/queue.h>
#include <sys/socket.h>
#include <time.h>

#include <event2/util.h>

#include "ocspgate/addrmap.h"
#include "ocspgate/config.h"
#include "ocspgate/fetch.h"
#include "ocspgate/http_request.h"
#include "ocspgate/http_response.h"
#include "ocspgate/ocsp_request.h"
#include "ocspgate/ocsp_response.h"
#include "ocspgate/policy.h"
#include "ocspgate/shared.h"

#define SESSION_RESPONSE_HEAD_MAX   65536 /* upstream status line + headers */
#define SESSION_RESPONSE_HEAD_START 4096  /* most heads fit; then MAX */
#define SESSION_CAPTURE_START       4096  /* an OCSP answer, grown if need be */
#define SESSION_CAB_RATIO           4     /* a cabinet unpacks to at most */
/* The request block: head buffer, then body (and GET DER scratch). */
#define SESSION_REQBUF_SIZE(cfg)                                               \
	((cfg)->max_header_bytes +                                             \
	    ((cfg)->max_request_body > (cfg)->max_header_bytes                 \
	            ? (cfg)->max_request_body                                  \
	            : (cfg)->max_header_bytes))
#define SESSION_OUTPUT_HIGH  (256u << 10) /* stop reading upstream */
#define SESSION_INPUT_SLACK  4096         /* input beyond one request */
#define SESSION_LINGER_SEC   2            /* reading after the last answer */
#define SESSION_LINGER_BYTES (256u << 10) /* dropped, at most, meanwhile */

enum session_state {
	SESSION_READING = 0, /* waiting for or reading a request */
	SESSION_UPSTREAM,    /* resolving, connecting, relaying */
	SESSION_REPLYING,    /* answer queued; next request once sent */
	SESSION_LINGERING    /* last answer sent: reading until the close */
};

/* An IPv4 or IPv6 address and port, in no more room than it needs. */
union session_addr {
	struct sockaddr sa;
	struct sockaddr_in in;
	struct sockaddr_in6 in6;
};

/* What the RFC 5019 cache did for a request (ocspgate.cache). */
enum session_cache {
	SESSION_CACHE_NONE = 0, /* not an OCSP request it could serve */
	SESSION_CACHE_HIT,
	SESSION_CACHE_MISS,
	SESSION_CACHE_BYPASS /* nonce, intercepted, or no cache */
};

/* What a candidate's answer showed (see candidate.h). */
struct session_candidate {
	bool valid;         /* it passed inspection */
	bool checked;       /* its signature was checked ... */
	bool verified;      /* ... and verifies */
	const char *detail; /* static text: why it does not */
};

/* What one request needs while it lasts (see struct session). */
struct session_request {
	struct http_request req;
	struct ocsp_request_facts facts;
	struct verdict verdict;
	struct http_response resp;
	struct ocsp_response_facts rfacts;
	struct fetch_crl_facts crl;
	struct fetch_cert_facts cert;
	struct session_candidate cand;
	char dest_name[256]; /* NUL-terminated target host */
	char addr_host[256]; /* a Host-less request's target, by address */
	char dest_ip[INET6_ADDRSTRLEN];
};

/* The request block: the state, then head and body bytes. */
#define SESSION_BLOCK_SIZE(cfg)                                                \
	(sizeof(struct session_request) + SESSION_REQBUF_SIZE(cfg))

struct server;
struct resolver;
struct bufferevent;
struct evbuffer;
struct event;
struct evdns_getaddrinfo_request;

struct session {
	struct server *srv;
	struct config *cfg; /* reference held for the session */
	TAILQ_ENTRY(session) entry;
	enum session_state state;

	struct bufferevent *client; /* NULL until the first byte */
	struct event *wait;         /* meanwhile: waits for that byte */
	evutil_socket_t fd;         /* meanwhile: the socket, else -1 */
	struct bufferevent *upstream;
	struct resolver *resolver; /* held during an upstream exchange */
	struct evdns_getaddrinfo_request *dns;
	struct evutil_addrinfo *addrs; /* resolved, being tried in order */
	struct evutil_addrinfo *addr_next;
	struct event *timer; /* request, upstream deadlines */

	union session_addr source_addr; /* the client, after PROXY */
	char source_ip[INET6_ADDRSTRLEN];
	uint16_t source_port;
	const struct inventory_entry *asset; /* lives with cfg */
	enum listen_transparent transparent;
	bool await_proxy;                    /* a PROXY header comes first */
	bool must_log;                       /* refused before a request line */
	struct shared_source_key source_key; /* counted under; 0: not */
	bool orig_known;                     /* orig_dst is set */
	union session_addr listen_bound;     /* the listener's address */
	union session_addr orig_dst;         /* intercepted: where it went */
	bool host_mismatch; /* orig_dst not an address of Host */
	bool addr_waiting;  /* for the address map's lookups */
	struct addrmap_waiter addr_wait;

	/*
	 * The current request: its state and buffers, one pooled block
	 * taken when a request starts and given back while the connection
	 * is idle, so that an idle or silent connection stays small.
	 */
	struct session_request *rq;
	char *head; /* head bytes; spans point here */
	size_t head_len;
	unsigned char *body; /* body, then GET DER scratch */
	bool in_request;     /* a byte of it has arrived */
	bool forwarded;      /* sent upstream */
	bool close_after;    /* close once the answer is sent */
	enum reason failure; /* upstream failure, or NONE */
	const char *failure_detail;
	struct timespec start_wall;
	uint64_t start_ns; /* monotonic */

	/* The answer. */
	char *rhead; /* upstream head bytes */
	size_t rhead_len;
	size_t rhead_cap;
	bool upstream_connected;
	bool upstream_replied;  /* its first byte arrived */
	bool client_keep;       /* keep-alive after this answer */
	bool inspect;           /* answer held until inspected */
	struct evbuffer *hold;  /* the held answer, as received */
	unsigned char *capture; /* its payload, for inspection; ours alone */
	size_t capture_len;
	size_t capture_cap;
	size_t inspect_limit; /* payload bytes this class may have */
	bool crl_valid;       /* rq->crl holds what a CRL fetch returned */
	bool cert_valid;      /* rq->cert: what an issuer fetch returned */
	struct fetch_ctl_facts ctl; /* what a trust list was */
	bool ctl_valid;
	bool response_started; /* bytes of it went to the client */
	bool upstream_reused;  /* on an idle connection from the pool */
	bool no_reuse;         /* a fresh connection only (a retry) */
	uint64_t upstream_start_ns;
	enum session_cache cache_result;
	int status;
	uint64_t response_body_bytes;
	/* How the answer reaches the client (upstream.c). */
	bool relay_copy; /* relayed payload goes through the parser's sink,
	                    de-chunked, not moved as it came */
	enum http_response_framing framing; /* of a relayed body */
	uint64_t raw_bytes;      /* bytes of a held answer, framing included */
	uint64_t response_bytes; /* sent to the client: head, framing, body */
	struct http_response_dropped dropped; /* of the upstream's head */
	size_t lingered; /* bytes read and dropped while lingering */
};

/*
 * Takes ownership of the accepted, non-blocking <fd> and starts serving
 * it. Returns 0, or -1 (fd closed).
 */
int session_new(struct server *srv, evutil_socket_t fd,
    const struct sockaddr *sa, socklen_t salen, const struct listen_addr *la,
    const struct sockaddr_storage *bound);

/*
 * Logs the request in progress (if any), frees both sides, the DNS
 * request and the timer. <s> is invalid on return. Called only from the
 * top of a libevent callback.
 */
void session_close(struct session *s);

/*
 * Queues ocspgate's own reply with <status> for <why>; the request ends
 * once it is sent. With <close> the connection closes after it.
 */
void session_reply(struct session *s, int status, enum reason why,
    const char *detail, bool close);

/* Ends an upstream exchange with a failure reply, or a close if part of
 * the answer was already relayed. */
void session_fail(struct session *s, enum reason why, const char *detail);

/*
 * Sends <data> on <bev>'s socket at once, as far as it takes it, when
 * nothing is queued before it; the rest goes to the output buffer for
 * libevent to send. Saves the write event (two epoll_ctl calls) on the
 * usual small answer.
 */
void session_send(struct bufferevent *bev, struct evbuffer *data);

/* The client answer is complete in the output buffer: finish once sent. */
void session_answer_done(struct session *s, bool keep_alive);

/* What the worker's memo keeps of one answer's inspection. */
struct upstream_memo_value {
	enum reason why;
	struct ocsp_response_facts facts;
};

/* Monotonic clock in nanoseconds. */
uint64_t session_now_ns(void);

/* Upstream side (upstream.c). */
void upstream_start(struct session *s);
/*
 * Answers an allowed OCSP request from the cache if it can (the answer
 * queued, the request finishing). Returns false when the upstream must
 * be asked; s->cache_result says why.
 */
bool upstream_cache_answer(struct session *s);
/* Closes the worker's idle upstream connections (reload, exit). */
void upstream_idle_flush(struct server *srv);
void upstream_release(struct session *s);
void upstream_on_timeout(struct session *s);

/* The answer's side (answer.c), as the upstream side calls it. */
bool upstream_check_host(struct session *s);
int upstream_prepare_inspection(struct session *s);
int upstream_capture_put(void *ctx, const unsigned char *p, size_t len);
void upstream_expect(const struct session *s, struct http_response_expect *x);
int upstream_inspection_failed(
    struct session *s, enum reason why, const char *detail, bool whole);
int upstream_check_allowed_head(struct session *s);
int upstream_start_relay(
    struct session *s, const unsigned char *held, size_t held_len);
enum reason upstream_answer_class(const struct session *s);
int upstream_inspect(struct session *s);

#endif
