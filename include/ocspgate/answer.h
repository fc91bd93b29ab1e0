/*
 * The answer to an allowed request (or, in monitor mode, a forwarded
 * block), as the client gets it: from the RFC 5019 cache, or from an
 * exchange with the upstream (upstream.h) whose answer is judged, held
 * and inspected, or relayed. The session's side of that exchange.
 */
#ifndef OCSPGATE_ANSWER_H
#define OCSPGATE_ANSWER_H

#include <stdbool.h>

#include "ocspgate/ocsp_response.h"
#include "ocspgate/reason.h"

struct session;

/* What the worker's memo keeps of one answer's inspection. */
struct answer_memo_value {
	enum reason why;
	struct ocsp_response_facts facts;
};

/*
 * Answers an allowed OCSP request from the cache if it can (the answer
 * queued, the request finishing: session_answer_done()). Returns false
 * when the upstream must be asked; s->cache_result says why.
 */
bool answer_from_cache(struct session *s);

/*
 * Asks the upstream (the session is SESSION_UPSTREAM). The answer goes
 * to the client as judged; the request ends with session_answer_done()
 * or session_fail(), maybe before this returns.
 */
void answer_forward(struct session *s);

#endif
