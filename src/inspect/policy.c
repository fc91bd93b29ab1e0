/*
 * Policy: which requests may pass and, for one to a host no entry
 * matches, which class it would pass as were its host listed (a
 * candidate), by the same judgments. Pure: turns a parsed request and
 * the config into a verdict; no I/O, no logging, no globals.
 */
#include <stddef.h>
#include <string.h>
#include <strings.h>

#include "ocspgate/memo.h"
#include "ocspgate/policy.h"

const char *
mode_name(enum mode m)
{
	return m == MODE_MONITOR ? "monitor" : "enforce";
}

bool
policy_host_matches(
    const struct responder *r, const char *host, size_t host_len)
{
	size_t n = strlen(r->host);

	if (host_len > 0 && host[host_len - 1] == '.')
		host_len--;
	if (!r->wildcard)
		return host_len == n && strncasecmp(host, r->host, n) == 0;
	/* "*.example.net": one label before ".example.net". */
	if (host_len <= n + 1 || host[host_len - n - 1] != '.' ||
	    strncasecmp(host + host_len - n, r->host, n) != 0)
		return false;
	return path_shape_wildcard_label(host, host_len - n - 1);
}

static bool
policy_path_matches(
    const struct responder *r, const char *path, size_t path_len)
{
	if (r->path_len == 0)
		return true;
	return path_len >= r->path_len &&
	    memcmp(path, r->path, r->path_len) == 0 &&
	    (path_len == r->path_len || path[r->path_len] == '/');
}

/* The first entry of <list> matching host, port and path, or NULL. */
static const struct responder *
policy_match_list(const struct responder *list, size_t n, const char *host,
    size_t host_len, uint16_t port, const char *path, size_t path_len)
{
	for (size_t i = 0; i < n; i++) {
		const struct responder *r = &list[i];

		if (r->port == port && policy_host_matches(r, host, host_len) &&
		    policy_path_matches(r, path, path_len))
			return r;
	}
	return NULL;
}

const struct responder *
policy_match_responder(const struct config *cfg, const char *host,
    size_t host_len, uint16_t port, const char *path, size_t path_len)
{
	return policy_match_list(cfg->responders, cfg->nresponders, host,
	    host_len, port, path, path_len);
}

/*
 * The fetch classes, in the order a host several lists name is judged:
 * CRL, issuer certificate, trust list.
 */
static const enum candidate_class policy_fetch_order[] = {
    CANDIDATE_CRL, CANDIDATE_CA_ISSUER, CANDIDATE_CTL};

/* The entries of fetch class <c> in <cfg>, their count in *n. */
static const struct responder *
policy_fetch_list(const struct config *cfg, enum candidate_class c, size_t *n)
{
	switch (c) {
	case CANDIDATE_CRL:
		*n = cfg->ncrl_hosts;
		return cfg->crl_hosts;
	case CANDIDATE_CA_ISSUER:
		*n = cfg->nca_issuer_hosts;
		return cfg->ca_issuer_hosts;
	case CANDIDATE_CTL:
		*n = cfg->nctl_hosts;
		return cfg->ctl_hosts;
	default:
		*n = 0;
		return NULL;
	}
}

/* True for what may be a fetch at all: a GET without a body. */
static bool
policy_is_fetch(const struct http_request *req)
{
	return req->llhttp_method == HTTP_GET && req->body_len == 0;
}

/*
 * Checks <req>'s path (and query) against what fetches of class <why>
 * look like on entry <r>. Returns NULL, or why not; fills <ctl> for a
 * trust list.
 */
static const char *
policy_fetch_shape(enum reason why, const struct responder *r,
    const struct http_request *req, struct path_shape_ctl *ctl)
{
	if (why == REASON_CTL_REQUEST)
		return path_shape_ctl(req->path.p, req->path.len,
		    r->path_len > 0 ? r->path : NULL, r->path_len, req->query.p,
		    req->query.len, ctl);
	if (req->query.p != NULL)
		return "query string";
	return path_shape_fetch(
	    why == REASON_CRL_REQUEST ? PATH_SHAPE_CRL : PATH_SHAPE_CA_ISSUER,
	    req->path.p, req->path.len);
}

/*
 * The judgment of <req>, a GET without a body (policy_is_fetch()), as a
 * fetch of class <why> (REASON_CRL_REQUEST, REASON_CA_ISSUER_REQUEST or
 * REASON_CTL_REQUEST) from entry <r>, whether listed or synthetic. On
 * success sets v->reason to <why> and, for a root fetched by its
 * thumbprint, v->ctl_root and v->thumbprint, leaves the rest of <v>
 * alone and returns NULL; otherwise returns why not, <v> untouched.
 */
static const char *
policy_judge_fetch(enum reason why, const struct responder *r,
    const struct http_request *req, struct verdict *v)
{
	struct path_shape_ctl ctl;
	const char *no;

	if ((no = policy_fetch_shape(why, r, req, &ctl)) != NULL)
		return no;
	v->reason = why;
	if (why == REASON_CTL_REQUEST && ctl.root) {
		v->ctl_root = true;
		memcpy(v->thumbprint, ctl.thumbprint, sizeof(v->thumbprint));
	}
	return NULL;
}

/*
 * A GET without a body to a host of crl_hosts, ca_issuer_hosts or
 * ctl_hosts, its path (and, for trust lists, its cache-buster query) of
 * the class's shape: allowed now, judged by what comes back. A host
 * listed whose path has no such shape is refused as path_shape. Returns
 * false when no class lists the host.
 */
static bool
policy_fetch_class(
    const struct config *cfg, const struct http_request *req, struct verdict *v)
{
	const struct responder *refused = NULL;
	const char *why, *refusal = NULL;
	struct verdict f;

	if (!policy_is_fetch(req))
		return false;
	for (size_t i = 0;
	     i < sizeof(policy_fetch_order) / sizeof(policy_fetch_order[0]);
	     i++) {
		enum candidate_class c = policy_fetch_order[i];
		size_t n;
		const struct responder *list = policy_fetch_list(cfg, c, &n);
		const struct responder *r =
		    policy_match_list(list, n, req->host.p, req->host.len,
		        req->port, req->path.p, req->path.len);

		if (r == NULL)
			continue;
		memset(&f, 0, sizeof(f));
		if ((why = policy_judge_fetch(
		         candidate_reason(c), r, req, &f)) != NULL) {
			if (refused == NULL) {
				refused = r;
				refusal = why;
			}
			continue;
		}
		f.responder = r;
		*v = f;
		return true;
	}
	if (refused == NULL)
		return false;
	memset(v, 0, sizeof(*v));
	v->reason = REASON_PATH_SHAPE;
	v->responder = refused;
	v->detail = refusal;
	return true;
}

/* True for "application/ocsp-request", parameters aside. */
static bool
policy_is_ocsp_type(const struct http_span *ct)
{
	static const char want[] = "application/ocsp-request";
	size_t n = sizeof(want) - 1;

	if (ct == NULL || ct->len < n || strncasecmp(ct->p, want, n) != 0)
		return false;
	for (size_t i = n; i < ct->len; i++) {
		if (ct->p[i] == ';')
			return true;
		if (ct->p[i] != ' ' && ct->p[i] != '\t')
			return false;
	}
	return true;
}

static void
policy_block(struct verdict *v, enum reason why, const char *detail)
{
	v->reason = why;
	v->detail = detail;
}

/*
 * ocsp_request_inspect_rules(), or its result for the same bytes and
 * rules (max_nonce_bytes and the allow_* switches) from <memo>. GET
 * flags already in <f> are kept.
 */
static enum reason
policy_inspect(const struct config *cfg, const unsigned char *der, size_t len,
    struct ocsp_request_facts *f, struct memo *memo)
{
	const struct ocsp_request_rules rules = {
	    .max_nonce_bytes = cfg->max_nonce_bytes,
	    .allow_requestor_name = cfg->allow_requestor_name,
	    .allow_signed = cfg->allow_signed_requests,
	    .allow_service_locator = cfg->allow_service_locator,
	};
	/* The memo key: the rules as plain numbers, no padding bytes. */
	const size_t key[2] = {cfg->max_nonce_bytes,
	    (size_t)cfg->allow_requestor_name |
	        (size_t)cfg->allow_signed_requests << 1 |
	        (size_t)cfg->allow_service_locator << 2};
	struct policy_memo_value v;
	const void *hit;
	unsigned get_flags = f->flags;

	if (memo == NULL)
		return ocsp_request_inspect_rules(der, len, &rules, f);
	if ((hit = memo_get(memo, der, len, key, sizeof(key))) != NULL) {
		/* Straight into <f>: the facts are most of the value. */
		const unsigned char *h = hit;
		enum reason why;

		memcpy(&why, h + offsetof(struct policy_memo_value, why),
		    sizeof(why));
		memcpy(f, h + offsetof(struct policy_memo_value, facts),
		    sizeof(*f));
		f->flags |= get_flags;
		return why;
	}
	memset(&v, 0, sizeof(v));
	v.why = ocsp_request_inspect_rules(der, len, &rules, &v.facts);
	memo_put(memo, der, len, key, sizeof(key), &v);
	*f = v.facts;
	f->flags |= get_flags;
	return v.why;
}

/*
 * ocsp_request_split_get(), or its result for the same path bytes and
 * <cap> from the memo (a GET asks the same question in the same bytes).
 */
static int
policy_split_get(const char *path, size_t len, unsigned char *der, size_t cap,
    size_t *der_len, unsigned *flags, size_t *prefix_len,
    const struct policy_memo *memo)
{
	struct policy_get_value v;
	const void *hit;
	int rc;

	if (memo == NULL || memo->get_paths == NULL)
		return ocsp_request_split_get(
		    path, len, der, cap, der_len, flags, prefix_len);
	if ((hit = memo_get(memo->get_paths, path, len, &cap, sizeof(cap))) !=
	    NULL) {
		/* The DER straight into <der>, only as much as there is. */
		const unsigned char *h = hit;

		memcpy(&v, h, offsetof(struct policy_get_value, der));
		if (v.rc == 0)
			memcpy(der, h + offsetof(struct policy_get_value, der),
			    v.der_len);
		*der_len = v.der_len;
		*flags |= v.flags;
		*prefix_len = v.prefix_len;
		return v.rc;
	}
	memset(&v, 0, sizeof(v));
	rc = ocsp_request_split_get(
	    path, len, der, cap, &v.der_len, &v.flags, &v.prefix_len);
	v.rc = rc;
	if (rc != 0 || v.der_len <= sizeof(v.der)) {
		if (rc == 0)
			memcpy(v.der, der, v.der_len);
		memo_put(memo->get_paths, path, len, &cap, sizeof(cap), &v);
	}
	*der_len = v.der_len;
	*flags |= v.flags;
	*prefix_len = v.prefix_len;
	return rc;
}

/*
 * The judgment of <req> (a GET or a POST) as an OCSP request to entry
 * <r>, whether listed or synthetic: the path shape after r's path, the
 * OCSP shape, the DER rules and, when <r> names issuers, the issuer pin
 * (checks 2 to 4 of the contract). Sets v->reason (REASON_OCSP_REQUEST,
 * or why not), v->detail, v->ocsp_parsed and v->get_prefix_len, and
 * leaves the rest of <v> alone. <facts> is filled as far as inspection
 * got (a GET's repairs OR-ed into facts->flags); <der> (<der_cap> bytes)
 * holds a GET's decoded request. With <memo> (may be NULL) a path or DER
 * already seen is not decoded or inspected again.
 * Returns false when <req> is a GET whose path holds no OCSP request
 * (not_ocsp, or path_shape for a prefix of no AIA shape): a host may also
 * serve fetches, which the caller may try next. True otherwise.
 */
static bool
policy_judge_ocsp(const struct config *cfg, const struct responder *r,
    const struct http_request *req, unsigned char *der, size_t der_cap,
    struct ocsp_request_facts *facts, struct verdict *v,
    const struct policy_memo *memo)
{
	const unsigned char *body;
	size_t body_len, prefix_len = 0;
	enum reason why;
	int rc;

	if (req->llhttp_method == HTTP_POST) {
		/* The AIA URL's path, as browsers POST to it: nothing more. */
		if (req->query.p != NULL) {
			policy_block(v, REASON_PATH_SHAPE, "query string");
			return true;
		}
		if (req->path.len > r->path_len &&
		    !path_shape_ocsp_post(req->path.p + r->path_len,
		        req->path.len - r->path_len)) {
			policy_block(
			    v, REASON_PATH_SHAPE, "POST path not of AIA shape");
			return true;
		}
		if (!policy_is_ocsp_type(
		        http_request_header(req, "content-type"))) {
			policy_block(v, REASON_NOT_OCSP,
			    "POST without Content-Type "
			    "application/ocsp-request");
			return true;
		}
		body = req->body;
		body_len = req->body_len;
	} else {
		if (req->body_len > 0) {
			policy_block(v, REASON_NOT_OCSP, "GET with a body");
			return true;
		}
		if (req->query.p != NULL) {
			/* A fetch's (a trust list's cache-buster), perhaps. */
			policy_block(v, REASON_NOT_OCSP, "query string");
			return false;
		}
		rc = policy_split_get(req->path.p + r->path_len,
		    req->path.len - r->path_len, der, der_cap, &body_len,
		    &facts->flags, &prefix_len, memo);
		if (rc != 0) {
			facts->flags = 0;
			if (rc == -2)
				policy_block(v, REASON_PATH_SHAPE,
				    "GET prefix not of AIA shape");
			else
				policy_block(v, REASON_NOT_OCSP,
				    "path is not a base64 OCSP request");
			return false;
		}
		v->get_prefix_len = r->path_len + prefix_len;
		body = der;
	}
	v->ocsp_parsed = true;
	why = policy_inspect(
	    cfg, body, body_len, facts, memo != NULL ? memo->requests : NULL);
	if (why != REASON_NONE) {
		policy_block(v, why, facts->detail);
		return true;
	}
	if (r->nissuers > 0 &&
	    !ocsp_request_issuers_match(facts, r->issuers, r->nissuers)) {
		policy_block(v, REASON_UNKNOWN_ISSUER,
		    "certificate ID names no configured issuer");
		return true;
	}
	v->reason = REASON_OCSP_REQUEST;
	v->detail = NULL;
	return true;
}

/*
 * The class <req>, to a host no entry matches, is a candidate of: the
 * first class, in the order OCSP, CRL, issuer certificate, trust list
 * (the order policy_decide() tries the lists in), that would allow it
 * were the request's own host and port listed in that class alone,
 * without a path and without issuers; a GET of "/" is no candidate. The
 * judgments are those of listed entries (policy_judge_ocsp(),
 * policy_judge_fetch()), against a synthetic entry, with the same memo
 * use. For a candidate, <v> takes what its judgment found (ocsp_parsed
 * and get_prefix_len, or a root's thumbprint) and, for CANDIDATE_OCSP,
 * <facts> the request's facts; its reason, detail and responder are left
 * alone. Otherwise <facts> is zeroed. Returns the class, or
 * CANDIDATE_NONE.
 */
static enum candidate_class
policy_candidate(const struct config *cfg, const struct http_request *req,
    unsigned char *der, size_t der_cap, struct ocsp_request_facts *facts,
    struct verdict *v, const struct policy_memo *memo)
{
	struct responder self;
	struct verdict j;

	/*
	 * The entry stands for the request's own host and port, so it
	 * matches by construction and no judgment reads its host: only its
	 * path (none) and issuers (none) weigh.
	 */
	memset(&self, 0, sizeof(self));
	self.port = req->port;
	memset(&j, 0, sizeof(j));
	memset(facts, 0, sizeof(*facts));
	(void)policy_judge_ocsp(cfg, &self, req, der, der_cap, facts, &j, memo);
	if (j.reason == REASON_OCSP_REQUEST) {
		v->ocsp_parsed = j.ocsp_parsed;
		v->get_prefix_len = j.get_prefix_len;
		return CANDIDATE_OCSP;
	}
	memset(facts, 0, sizeof(*facts));
	/*
	 * A site's root is a CRL or a certificate only at the few CAs that
	 * publish one there, which are listed by name: as a candidate it
	 * would make every front page one.
	 */
	if (!policy_is_fetch(req) || req->path.len == 1)
		return CANDIDATE_NONE;
	for (size_t i = 0;
	     i < sizeof(policy_fetch_order) / sizeof(policy_fetch_order[0]);
	     i++) {
		enum candidate_class c = policy_fetch_order[i];

		memset(&j, 0, sizeof(j));
		if (policy_judge_fetch(candidate_reason(c), &self, req, &j) ==
		    NULL) {
			v->ctl_root = j.ctl_root;
			memcpy(
			    v->thumbprint, j.thumbprint, sizeof(v->thumbprint));
			return c;
		}
	}
	return CANDIDATE_NONE;
}

void
policy_decide(const struct config *cfg, const struct http_request *req,
    unsigned char *der, size_t der_cap, struct ocsp_request_facts *facts,
    struct verdict *v, const struct policy_memo *memo)
{
	const struct responder *r;

	memset(v, 0, sizeof(*v));
	if (req->form == HTTP_TARGET_ORIGIN && !req->intercepted) {
		policy_block(v, REASON_HTTP_MALFORMED,
		    "origin-form target on a connection not intercepted");
		return;
	}
	if (req->llhttp_method != HTTP_GET && req->llhttp_method != HTTP_POST) {
		policy_block(
		    v, REASON_METHOD_NOT_ALLOWED, "only GET and POST pass");
		return;
	}
	if (req->form != HTTP_TARGET_ABSOLUTE && !req->intercepted) {
		policy_block(v, REASON_HTTP_MALFORMED, "target form");
		return;
	}
	r = policy_match_responder(cfg, req->host.p, req->host.len, req->port,
	    req->path.p, req->path.len);
	if (r == NULL) {
		if (policy_fetch_class(cfg, req, v))
			return;
		policy_block(v, REASON_UNKNOWN_RESPONDER,
		    "no responder matches the host, port and path");
		v->candidate =
		    policy_candidate(cfg, req, der, der_cap, facts, v, memo);
		return;
	}
	v->responder = r;
	/* A responder host may serve CRLs and certs too. */
	if (!policy_judge_ocsp(cfg, r, req, der, der_cap, facts, v, memo))
		(void)policy_fetch_class(cfg, req, v);
}
