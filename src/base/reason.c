/*
 * Reason codes and their event-log names. Pure.
 */
#include "ocspgate/reason.h"

static const char *const reason_names[REASON_MAX] = {
    [REASON_NONE] = "none",
    [REASON_OCSP_REQUEST] = "ocsp_request",
    [REASON_CRL_REQUEST] = "crl_request",
    [REASON_CA_ISSUER_REQUEST] = "ca_issuer_request",
    [REASON_CTL_REQUEST] = "ctl_request",
    [REASON_HTTP_MALFORMED] = "http_malformed",
    [REASON_METHOD_NOT_ALLOWED] = "method_not_allowed",
    [REASON_BODY_TOO_LARGE] = "body_too_large",
    [REASON_UNKNOWN_RESPONDER] = "unknown_responder",
    [REASON_NOT_OCSP] = "not_ocsp",
    [REASON_OCSP_MALFORMED] = "ocsp_malformed",
    [REASON_UNKNOWN_ISSUER] = "unknown_issuer",
    [REASON_HOST_MISMATCH] = "host_mismatch",
    [REASON_PROXY_PROTOCOL] = "proxy_protocol_invalid",
    [REASON_CONNECTION_LIMIT] = "connection_limit",
    [REASON_FORWARDING_LOOP] = "forwarding_loop",
    [REASON_PATH_SHAPE] = "path_shape",
    [REASON_EXCESS_HEADERS] = "excess_headers",
    [REASON_UPSTREAM_UNREACHABLE] = "upstream_unreachable",
    [REASON_UPSTREAM_TIMEOUT] = "upstream_timeout",
    [REASON_RESPONSE_MALFORMED] = "response_malformed",
    [REASON_RESPONSE_UNVERIFIED] = "response_unverified",
};

const char *
reason_name(enum reason r)
{
	if ((unsigned)r >= REASON_MAX)
		return "none";
	return reason_names[r];
}

bool
reason_is_allow(enum reason r)
{
	return r >= REASON_OCSP_REQUEST && r <= REASON_CTL_REQUEST;
}

bool
reason_is_block(enum reason r)
{
	return r >= REASON_HTTP_MALFORMED && r <= REASON_EXCESS_HEADERS;
}
