/*
 * The decision: (config, parsed request) -> allow or a block reason, with
 * the OCSP facts the event log needs. Pure: no I/O, no globals.
 */
#ifndef OCSPGATE_POLICY_H
#define OCSPGATE_POLICY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ocspgate/config.h"
#include "ocspgate/http_request.h"
#include "ocspgate/ocsp_request.h"

struct verdict {
	enum reason reason; /* an allow reason, or why it is blocked */
	const struct responder *responder; /* matched, or NULL */
	const char *detail;                /* static text, or NULL */
	bool ocsp_parsed;                  /* facts hold what the DER said */
};

/*
 * True when <host> (any case, one trailing dot allowed) is matched by the
 * responder's host or wildcard.
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

/* What a memo given to policy_decide() keeps of one inspection. */
struct policy_memo_value {
	enum reason why;
	struct ocsp_request_facts facts;
};

/*
 * Decides on a complete, well-formed request <req>, running the checks in
 * the contract's order (method, responder, OCSP shape, DER rules,
 * issuers). <der> (of <der_cap> bytes) is scratch space for a decoded GET
 * request. <facts> is filled as far as inspection got. With <memo> (may
 * be NULL), an OCSP request already inspected is not inspected again.
 */
void policy_decide(const struct config *cfg, const struct http_request *req,
    unsigned char *der, size_t der_cap, struct ocsp_request_facts *facts,
    struct verdict *v, struct memo *memo);

#endif
