/*
 * Policy: which requests may pass. Pure: turns a parsed request and the
 * config into a verdict; no I/O, no logging, no globals.
 */
#include <string.h>
#include <strings.h>

#include "ocspgate/fetch.h"
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
	/* "*.example.net": at least one label before ".example.net". */
	return host_len > n + 1 && host[host_len - n - 1] == '.' &&
	    strncasecmp(host + host_len - n, r->host, n) == 0;
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
 * A plain GET (no body, no query) to a host of crl_hosts,
 * ca_issuer_hosts or ctl_hosts (for ctl_hosts, of a trust-list file):
 * allowed now, judged by what comes back. Returns false when none
 * applies.
 */
static bool
policy_fetch_class(
    const struct config *cfg, const struct http_request *req, struct verdict *v)
{
	const struct {
		const struct responder *list;
		size_t n;
		enum reason reason;
	} classes[] = {
	    {cfg->crl_hosts, cfg->ncrl_hosts, REASON_CRL_REQUEST},
	    {cfg->ca_issuer_hosts, cfg->nca_issuer_hosts,
	        REASON_CA_ISSUER_REQUEST},
	    {cfg->ctl_hosts, cfg->nctl_hosts, REASON_CTL_REQUEST},
	};
	char file[64];

	if (req->llhttp_method != HTTP_GET || req->body_len > 0 ||
	    req->query.p != NULL)
		return false;
	for (size_t i = 0; i < sizeof(classes) / sizeof(classes[0]); i++) {
		const struct responder *r = policy_match_list(classes[i].list,
		    classes[i].n, req->host.p, req->host.len, req->port,
		    req->path.p, req->path.len);

		if (r == NULL)
			continue;
		if (classes[i].reason == REASON_CTL_REQUEST &&
		    !fetch_ctl_file(
		        req->path.p, req->path.len, file, sizeof(file)))
			continue;
		memset(v, 0, sizeof(*v));
		v->reason = classes[i].reason;
		v->responder = r;
		return true;
	}
	return false;
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
 * ocsp_request_inspect(), or its result for the same bytes and
 * max_nonce_bytes from <memo>. GET flags already in <f> are kept.
 */
static enum reason
policy_inspect(const struct config *cfg, const unsigned char *der, size_t len,
    struct ocsp_request_facts *f, struct memo *memo)
{
	struct policy_memo_value v;
	const void *hit;
	size_t nonce = cfg->max_nonce_bytes;
	unsigned get_flags = f->flags;

	if (memo == NULL)
		return ocsp_request_inspect(der, len, nonce, f);
	if ((hit = memo_get(memo, der, len, &nonce, sizeof(nonce))) != NULL) {
		memcpy(&v, hit, sizeof(v));
		*f = v.facts;
		f->flags |= get_flags;
		return v.why;
	}
	memset(&v, 0, sizeof(v));
	v.why = ocsp_request_inspect(der, len, nonce, &v.facts);
	memo_put(memo, der, len, &nonce, sizeof(nonce), &v);
	*f = v.facts;
	f->flags |= get_flags;
	return v.why;
}

/*
 * ocsp_request_decode_get(), or its result for the same path bytes and
 * <cap> from the memo (a GET asks the same question in the same bytes).
 */
static int
policy_decode_get(const char *path, size_t len, unsigned char *der, size_t cap,
    size_t *der_len, unsigned *flags, const struct policy_memo *memo)
{
	struct policy_get_value v;
	const void *hit;
	int rc;

	if (memo == NULL || memo->get_paths == NULL)
		return ocsp_request_decode_get(
		    path, len, der, cap, der_len, flags);
	if ((hit = memo_get(memo->get_paths, path, len, &cap, sizeof(cap))) !=
	    NULL) {
		memcpy(&v, hit, sizeof(v));
		if (v.rc == 0)
			memcpy(der, v.der, v.der_len);
		*der_len = v.der_len;
		*flags |= v.flags;
		return v.rc;
	}
	v.flags = 0;
	v.der_len = 0;
	rc = ocsp_request_decode_get(path, len, der, cap, &v.der_len, &v.flags);
	v.rc = rc;
	if (rc == -1 || v.der_len <= sizeof(v.der)) {
		if (rc == 0)
			memcpy(v.der, der, v.der_len);
		memo_put(memo->get_paths, path, len, &cap, sizeof(cap), &v);
	}
	*der_len = v.der_len;
	*flags |= v.flags;
	return rc;
}

void
policy_decide(const struct config *cfg, const struct http_request *req,
    unsigned char *der, size_t der_cap, struct ocsp_request_facts *facts,
    struct verdict *v, const struct policy_memo *memo)
{
	const struct responder *r;
	const unsigned char *body;
	size_t body_len;
	enum reason why;

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
		v->candidate = candidate_of_request(
		    req, cfg->max_nonce_bytes, der, der_cap, facts);
		return;
	}
	v->responder = r;
	if (req->llhttp_method == HTTP_POST) {
		if (!policy_is_ocsp_type(
		        http_request_header(req, "content-type"))) {
			policy_block(v, REASON_NOT_OCSP,
			    "POST without Content-Type "
			    "application/ocsp-request");
			return;
		}
		body = req->body;
		body_len = req->body_len;
	} else {
		if (req->body_len > 0) {
			policy_block(v, REASON_NOT_OCSP, "GET with a body");
			return;
		}
		if (req->query.p != NULL) {
			policy_block(v, REASON_NOT_OCSP, "query string");
			return;
		}
		if (policy_decode_get(req->path.p + r->path_len,
		        req->path.len - r->path_len, der, der_cap, &body_len,
		        &facts->flags, memo) == -1) {
			/* A responder host may serve CRLs and certs too. */
			facts->flags = 0;
			if (policy_fetch_class(cfg, req, v))
				return;
			policy_block(v, REASON_NOT_OCSP,
			    "path is not a base64 OCSP request");
			return;
		}
		body = der;
	}
	v->ocsp_parsed = true;
	why = policy_inspect(
	    cfg, body, body_len, facts, memo != NULL ? memo->requests : NULL);
	if (why != REASON_NONE) {
		policy_block(v, why, facts->detail);
		return;
	}
	if (r->nissuers > 0 &&
	    !ocsp_request_issuers_match(facts, r->issuers, r->nissuers)) {
		policy_block(v, REASON_UNKNOWN_ISSUER,
		    "certificate ID names no configured issuer");
		return;
	}
	v->reason = REASON_OCSP_REQUEST;
}
