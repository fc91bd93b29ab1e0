/*
 * Why a request ended the way it did: the event log's event.reason.
 */
#ifndef OCSPGATE_REASON_H
#define OCSPGATE_REASON_H

#include <stdbool.h>

/*
 * The order of the block reasons is the order in which checks run: the
 * first failing check names the reason.
 */
enum reason {
	REASON_NONE = 0,
	REASON_OCSP_REQUEST,      /* allowed */
	REASON_CRL_REQUEST,       /* allowed: a CRL fetch */
	REASON_CA_ISSUER_REQUEST, /* allowed: an issuer certificate */
	REASON_CTL_REQUEST,       /* allowed: a Windows trust list */
	REASON_HTTP_MALFORMED,    /* blocks, in check order */
	REASON_METHOD_NOT_ALLOWED,
	REASON_BODY_TOO_LARGE,
	REASON_UNKNOWN_RESPONDER,
	REASON_NOT_OCSP,
	REASON_OCSP_MALFORMED,
	REASON_UNKNOWN_ISSUER,
	REASON_HOST_MISMATCH,        /* intercepted: Host not at its address */
	REASON_PROXY_PROTOCOL,       /* bad or unexpected PROXY header */
	REASON_CONNECTION_LIMIT,     /* max_connections_per_source */
	REASON_FORWARDING_LOOP,      /* our own Via came back */
	REASON_PATH_SHAPE,           /* a path no real AIA/CDP URL has */
	REASON_EXCESS_HEADERS,       /* dropped fields over their budget */
	REASON_UPSTREAM_UNREACHABLE, /* failures after the decision */
	REASON_UPSTREAM_TIMEOUT,
	REASON_RESPONSE_MALFORMED,
	REASON_RESPONSE_UNVERIFIED,
	REASON_MAX
};

/* Returns the contract's event.reason string, or "none". */
const char *reason_name(enum reason r);

/* True for the reasons of an allowed request. */
bool reason_is_allow(enum reason r);

/* True for the policy reasons that refuse a request. */
bool reason_is_block(enum reason r);

#endif
