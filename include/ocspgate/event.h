/*
 * One request's event-log line, an ECS 8.17.0 document (docs/ecs/), and
 * the opening every line shares, alerts and metric lines too. Pure: a
 * record in, one JSON line out.
 */
#ifndef OCSPGATE_EVENT_H
#define OCSPGATE_EVENT_H

#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#include "ocspgate/config-t.h"
#include "ocspgate/fetch.h"
#include "ocspgate/http_request.h"
#include "ocspgate/inventory-t.h"
#include "ocspgate/json.h"
#include "ocspgate/ocsp_request.h"
#include "ocspgate/ocsp_response.h"

/*
 * Every line (request event, alert, metric) is an ECS document: these are
 * the ECS version its fields follow and the values that say where it
 * comes from (event.module, event.dataset, observer.*).
 */
#define EVENT_ECS_VERSION     "8.17.0"
#define EVENT_MODULE          "ocspgate"
#define EVENT_DATASET         "ocspgate.events"
#define EVENT_OBSERVER_VENDOR "ocspgate"
#define EVENT_OBSERVER_TYPE   "proxy"

/* ECS event.category and event.type values a line may carry at most. */
#define EVENT_MAX_CATEGORIES 2
#define EVENT_MAX_TYPES      3

/*
 * The categorization of one line (ECS's four categorization fields, plus
 * event.action and event.reason). Arrays are NULL-padded; a NULL
 * outcome or reason is left out, and so is the duration unless
 * has_duration.
 */
struct event_class {
	const char *kind; /* "event", "alert", "metric" */
	const char *category[EVENT_MAX_CATEGORIES];
	const char *type[EVENT_MAX_TYPES];
	const char *action;
	const char *outcome; /* "success", "failure", or NULL */
	const char *reason;
	uint64_t duration_ns;
	bool has_duration;
};

/* What is known about one request when it ends. Unset fields are left
 * out of the line: NULL pointers, empty spans, zero ports and status. */
struct event_record {
	struct timespec start; /* wall clock at the request's first byte */
	uint64_t duration_ns;
	enum reason reason;
	bool allow;
	bool enforced;
	bool failed; /* the exchange met a failure (an upstream's, say) */
	enum mode mode;
	const char *interception; /* "explicit" or "transparent" */
	const char *responder;    /* matched responder spec */
	const char *detail;
	const char *source_ip;
	uint16_t source_port;
	const char *source_domain; /* inventory or reverse DNS */
	const struct inventory_entry *asset;
	/* The source and asset objects, written once for the connection
	 * (event_fragments_new() with the same values), or NULL. */
	const struct event_fragments *fragments;
	const char *orig_ip; /* intercepted: original destination */
	uint16_t orig_port;
	bool host_mismatch;
	struct http_span dest_host; /* as in the target */
	const char *dest_ip;        /* connected address, if any */
	uint16_t dest_port;
	struct http_span method;
	struct http_span url;
	struct http_span path;
	struct http_span user_agent;
	uint64_t request_body_bytes;
	bool has_request_body;
	int status; /* sent to the client, 0 if none */
	uint64_t response_body_bytes;
	uint64_t response_bytes; /* head, framing and body sent; 0: unknown */
	/* Unknown extensions in the answer's certificates and CRLs. */
	unsigned unknown_extensions;
	/* Upstream head fields left out or rewritten (ocspgate.answer). */
	unsigned answer_dropped_fields;
	uint64_t answer_dropped_bytes;
	const struct ocsp_request_facts *ocsp; /* NULL when none parsed */
	const struct ocsp_response_facts *ocsp_response; /* NULL: none */
	const struct fetch_crl_facts *crl;   /* a CRL fetched, or NULL */
	const struct fetch_cert_facts *cert; /* an issuer certificate */
	const char *ctl_format;              /* a trust list: its format */
	const unsigned char *ctl_thumbprint; /* a root by thumbprint: 20 */
	struct http_span get_prefix; /* a GET's path before its request */
	size_t ctl_entries;          /* and its entries */
	const char *signature;       /* a CRL, certificate, trust list or
	                                successful OCSP answer: "verified",
	                                else "unverified"
	                                (ocspgate.signature) */
	const char *cache; /* RFC 5019 cache: "hit", "miss", "bypass" */
	/* Its head's filter facts (ocspgate.request), NULL before them. */
	const struct http_request *request;
	/* unknown_responder: the class it is a well-formed request of */
	const char *candidate;
	const char *candidate_answer; /* "valid", or the answer's failure */
	bool candidate_checked;       /* its signature was checked ... */
	bool candidate_verified;      /* ... and verifies */
	const char *candidate_detail; /* why it does not */
	const char *version;          /* observer.version, NULL: none */
};

/*
 * Resets <j> and opens a line: "{", then @timestamp for <ts>,
 * ecs.version, the event object of <c> (with event.module and
 * event.dataset) and observer (vendor, product, type, and <version>
 * unless NULL). The caller writes the line's other members, closes the
 * object and adds the '\n'.
 */
void event_begin(struct json *j, const struct timespec *ts,
    const struct event_class *c, const char *version);

/*
 * Adds <ip> to the related.ip array <ips> (<n> used of <cap>) unless it
 * is NULL, empty or already there. The strings are not copied.
 */
void event_related_add(const char **ips, size_t *n, size_t cap, const char *ip);

/*
 * Writes the related object: "ip" from <ips> and "hosts" from <hosts>
 * (<nips> and <nhosts> of them), each left out when empty, and the
 * object too when both are.
 */
void event_related(struct json *j, const char *const *ips, size_t nips,
    const char *const *hosts, size_t nhosts);

/*
 * Writes <e> as one JSON object followed by '\n' into <j> (reset
 * first). On return j->failed tells whether the line is usable.
 */
void event_format(struct json *j, const struct event_record *e);

/*
 * What every line of one connection says of its source, written once:
 * the source object (ip, port, domain) and the ocspgate.asset object,
 * exactly as event_format() writes them, with the address as text for
 * related.ip and the domain they were written with.
 */
struct event_fragments {
	char ip[46];        /* the address as text (INET6_ADDRSTRLEN) */
	const char *domain; /* a copy in bytes[], or NULL */
	size_t source_len;  /* bytes[0, source_len): "source":{...} */
	size_t asset_len;   /* then "asset":{...}, or none */
	char bytes[];
};

/*
 * The fragments of a connection from <ip> (text, at most 45 bytes),
 * <port> (0: none), <domain> (NULL: none) and <asset> (NULL: none),
 * written with <scratch> (reset, its contents lost). Returns a new
 * allocation the caller frees with free(), or NULL when out of memory
 * or the ip is too long.
 */
struct event_fragments *event_fragments_new(struct json *scratch,
    const char *ip, uint16_t port, const char *domain,
    const struct inventory_entry *asset);

#endif
