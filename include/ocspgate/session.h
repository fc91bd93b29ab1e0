/*
 * A client connection and the request it is serving: the client's
 * connection (conn.h), the request parser, the timer, the verdict, and what the
 * client was answered; the exchange with the upstream is a struct
 * upstream of its own in the request's block. session_close() is the
 * one place that frees it all.
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
#include "ocspgate/upstream.h"

/* The request block: head buffer, then body (and GET DER scratch). */
#define SESSION_REQBUF_SIZE(cfg)                                               \
	((cfg)->max_header_bytes +                                             \
	    ((cfg)->max_request_body > (cfg)->max_header_bytes                 \
	            ? (cfg)->max_request_body                                  \
	            : (cfg)->max_header_bytes))
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
	struct upstream up; /* the exchange, and the answer's parser */
	struct ocsp_response_facts rfacts;
	struct fetch_crl_facts crl;
	struct fetch_cert_facts cert;
	struct session_candidate cand;
	char addr_host[256]; /* a Host-less request's target, by address */
	bool host_mismatch;  /* orig_dst not an address of Host */
	bool addr_waiting;   /* for the address map's lookups */
	struct addrmap_waiter addr_wait;

	/* The answer's payload and what its inspection found (answer.c). */
	unsigned char *capture; /* its payload, for inspection; ours alone */
	size_t capture_len;
	size_t capture_cap;
	size_t inspect_limit; /* payload bytes this class may have */
	bool crl_valid;       /* crl holds what a CRL fetch returned */
	bool cert_valid;      /* cert: what an issuer fetch returned */
	bool ctl_valid;
	struct fetch_ctl_facts ctl; /* what a trust list was */
	/* How a relayed answer reaches the client. */
	bool relay_copy; /* relayed payload goes through the parser's sink,
	                    de-chunked, not moved as it came */
	enum http_response_framing framing;   /* of a relayed body */
	struct http_response_dropped dropped; /* of the upstream's head */
};

/* The request block: the state, then head and body bytes. */
#define SESSION_BLOCK_SIZE(cfg)                                                \
	(sizeof(struct session_request) + SESSION_REQBUF_SIZE(cfg))

struct server;
struct conn;
struct evbuffer;
struct event;

struct session {
	struct server *srv;
	struct config *cfg; /* reference held for the session */
	TAILQ_ENTRY(session) entry;
	enum session_state state;

	struct conn *client; /* NULL until the first byte */
	struct event *wait;  /* meanwhile: waits for that byte */
	evutil_socket_t fd;  /* meanwhile: the socket, else -1 */
	struct event *timer; /* request, address map, lingering */

	union session_addr source_addr; /* the client, after PROXY */
	/* Its lines' source and asset, written once (NULL until a byte). */
	struct event_fragments *frag;
	const struct inventory_entry *asset; /* lives with cfg */
	enum listen_transparent transparent;
	bool await_proxy;                    /* a PROXY header comes first */
	bool must_log;                       /* refused before a request line */
	struct shared_source_key source_key; /* counted under; 0: not */
	bool orig_known; /* orig_dst is set, listen_bound is not */
	union {
		/* The listener's address, until ... */
		union session_addr listen_bound;
		/* ... an intercepted request asked where it went. */
		union session_addr orig_dst;
	};

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
	bool client_eof;     /* the client half-closed: reads no more */
	enum reason failure; /* upstream failure, or NONE */
	const char *failure_detail;
	struct timespec start_wall;
	uint64_t start_ns; /* monotonic */

	/* The answer (answer.c). */
	bool client_keep;      /* keep-alive after this answer */
	bool inspect;          /* answer held until inspected */
	struct evbuffer *hold; /* the held answer, as received */
	bool response_started; /* bytes of it went to the client */
	enum session_cache cache_result;
	int status;
	uint64_t response_body_bytes;
	bool response_body_final; /* response_body_bytes is the whole body */
	uint64_t response_bytes;  /* sent to the client: head, framing, body */
	size_t lingered;          /* bytes read and dropped while lingering */
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

/* The client answer is complete in the output buffer: finish once sent. */
void session_answer_done(struct session *s, bool keep_alive);

#endif
