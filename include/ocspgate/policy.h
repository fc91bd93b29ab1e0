/*
 * The decision: (config, parsed request) -> allow or a block reason, with
 * the OCSP facts the event log needs. Pure: no I/O, no globals.
 */
#ifndef OCSPGATE_POLICY_H
#define OCSPGATE_POLICY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ocspgate/candidate.h"
#include "ocspgate/config-t.h"
#include "ocspgate/http_request.h"
#include "ocspgate/ocsp_request.h"
#include "ocspgate/path_shape.h"

struct verdict {
	enum reason reason; /* an allow reason, or why it is blocked */
	const struct responder *responder; /* matched, or NULL */
	const char *detail;                /* static text, or NULL */
	bool ocsp_parsed;                  /* facts hold what the DER said */
	/* A GET's OCSP request stood after this many bytes of the path
	 * (the AIA URL's path: "/gts1c3"); 0 when right after "/". */
	size_t get_prefix_len;
	bool ctl_root; /* a root certificate fetched by its thumbprint */
	unsigned char thumbprint[PATH_SHAPE_THUMBPRINT_LEN]; /* SHA-1 */
	/* unknown_responder: the class it would be allowed as were its
	 * host listed in that class without a path, if any (for
	 * CANDIDATE_OCSP the facts hold its DER's) */
	enum candidate_class candidate;
};

/*
 * True when <host> (any case, one trailing dot allowed) is matched by the
 * responder's host or wildcard. A wildcard stands for exactly one label
 * of path_shape_wildcard_label()'s shape, so that a name cannot carry
 * data through the gate's own DNS queries.
 */
bool policy_host_matches(
    const struct responder *r, const char *host, size_t host_len);

/*
 * The first responder matching host, port and path (path prefix at a
 * segment boundary), or NULL.
 */
const struct responder *policy_match_responder(const struct config *cfg,
    const char *host, size_t host_len, uint16_t port, const char *path,
    size_t path_len);

struct memo;

/* What the memos given to policy_decide() keep: an inspection ... */
struct policy_memo_value {
	enum reason why;
	struct ocsp_request_facts facts;
};

/* ... and a GET path decoded (paths of up to this much DER). */
#define POLICY_GET_MEMO_DER 512
struct policy_get_value {
	int rc;
	unsigned flags;
	size_t prefix_len;
	size_t der_len;
	unsigned char der[POLICY_GET_MEMO_DER];
};

/* The memos, each may be NULL. */
struct policy_memo {
	struct memo *requests;  /* DER -> inspection */
	struct memo *get_paths; /* GET path -> DER */
};

/*
 * Decides on a complete, well-formed request <req>, running the checks in
 * the contract's order (method, responder, path shape, OCSP shape, DER
 * rules, issuers). <der> (of <der_cap> bytes) is scratch space for a decoded
 * GET request; it may be the buffer req->body points to, since only a GET
 * without a body is decoded. <facts> (zeroed by the caller) is filled as
 * far as inspection got. With <memo> (may be NULL), an OCSP request already
 * decoded or inspected is not decoded or inspected again.
 * A request no entry matches (unknown_responder) is judged once more, as
 * the entries of each class would judge it were its own host and port
 * listed in that class without a path or issuers: the first class, of
 * OCSP, CRL, issuer certificate and trust list, that would allow it is
 * v->candidate. A candidate's verdict keeps what that judgment found
 * (ocsp_parsed, get_prefix_len, a root's thumbprint) and, for
 * CANDIDATE_OCSP, <facts> its request's; v->responder stays NULL. Any
 * other unknown_responder leaves <facts> zeroed.
 */
void policy_decide(const struct config *cfg, const struct http_request *req,
    unsigned char *der, size_t der_cap, struct ocsp_request_facts *facts,
    struct verdict *v, const struct policy_memo *memo);

#endif
