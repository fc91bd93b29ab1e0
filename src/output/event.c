/*
 * The event-log line: an event_record turned into ECS JSON. Pure: no
 * I/O, no clock (the record carries its times), no globals.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>

#include "ocspgate/event.h"
#include "ocspgate/http_filter.h"
#include "ocspgate/policy.h"

static void
event_span(struct json *j, const char *key, struct http_span s)
{
	if (s.p != NULL && s.len > 0)
		json_string(j, key, s.p, s.len);
}

/* True when <s> is an IPv4 or IPv6 address literal. */
static bool
event_is_ip_literal(struct http_span s)
{
	char buf[INET6_ADDRSTRLEN];
	unsigned char addr[sizeof(struct in6_addr)];

	if (s.len == 0 || s.len >= sizeof(buf))
		return false;
	memcpy(buf, s.p, s.len);
	buf[s.len] = '\0';
	return inet_pton(AF_INET, buf, addr) == 1 ||
	    inet_pton(AF_INET6, buf, addr) == 1;
}

static void
event_ocsp(struct json *j, const struct ocsp_request_facts *f)
{
	json_object_begin(j, "request");
	json_bool(j, "nonce", f->has_nonce);
	if (f->flags != 0) {
		json_array_begin(j, "flags");
		for (unsigned b = 0; b < OCSP_FLAG_COUNT; b++) {
			if (f->flags & (1u << b))
				json_cstring(j, NULL, ocsp_flag_name(b));
		}
		json_array_end(j);
	}
	if (f->ncerts > 0) {
		json_array_begin(j, "certs");
		for (size_t i = 0; i < f->ncerts; i++) {
			const struct ocsp_cert_id *c = &f->certs[i];

			json_object_begin(j, NULL);
			json_cstring(
			    j, "hash_algorithm", ocsp_hash_name(c->hash));
			json_hex(
			    j, "issuer_name_hash", c->name_hash, c->hash_len);
			json_hex(
			    j, "issuer_key_hash", c->key_hash, c->hash_len);
			json_hex(j, "serial", c->serial, c->serial_len);
			json_object_end(j);
		}
		json_array_end(j);
	}
	json_object_end(j);
}

/*
 * ocspgate.flags: one boolean per flag of ocsp.request.flags, so that a
 * query on one flag reads a single-valued field (ES|QL, for one, reads
 * a multi-valued field in a comparison as null).
 */
static void
event_flag_fields(struct json *j, unsigned flags)
{
	json_object_begin(j, "flags");
	for (unsigned b = 0; b < OCSP_FLAG_COUNT; b++) {
		if (flags & (1u << b))
			json_bool(j, ocsp_flag_name(b), true);
	}
	json_object_end(j);
}

/* Severity of a certificate status: revoked, then unknown, then good. */
static int
event_status_rank(enum ocsp_cert_status s)
{
	switch (s) {
	case OCSP_CERT_REVOKED:
		return 2;
	case OCSP_CERT_UNKNOWN:
		return 1;
	default:
		return 0;
	}
}

/*
 * The most severe status among the answer's certificates, the one
 * value of ocspgate.cert_status (the statuses themselves are an array).
 */
static enum ocsp_cert_status
event_worst_status(const struct ocsp_response_facts *f)
{
	enum ocsp_cert_status worst = f->certs[0].status;

	for (size_t i = 1; i < f->ncerts; i++) {
		if (event_status_rank(f->certs[i].status) >
		    event_status_rank(worst))
			worst = f->certs[i].status;
	}
	return worst;
}

static void
event_time(struct json *j, const char *key, const char *t)
{
	if (t[0] != '\0')
		json_cstring(j, key, t);
}

/* What the responder said: ocsp.response. */
static void
event_ocsp_response(struct json *j, const struct ocsp_response_facts *f)
{
	json_object_begin(j, "response");
	json_cstring(j, "status", ocsp_response_status_name(f->status));
	event_time(j, "produced_at", f->produced_at);
	if (f->by_key)
		json_hex(j, "responder_key_hash", f->responder_key_hash,
		    sizeof(f->responder_key_hash));
	else if (f->responder_name[0] != '\0')
		json_cstring(j, "responder_name", f->responder_name);
	if (f->basic)
		json_bool(j, "nonce", f->has_nonce);
	if (f->ncerts > 0) {
		json_array_begin(j, "certs");
		for (size_t i = 0; i < f->ncerts; i++) {
			const struct ocsp_single_facts *c = &f->certs[i];

			json_object_begin(j, NULL);
			json_hex(j, "serial", c->serial, c->serial_len);
			json_cstring(
			    j, "status", ocsp_cert_status_name(c->status));
			event_time(j, "revocation_time", c->revocation_time);
			if (c->revocation_reason != NULL)
				json_cstring(j, "revocation_reason",
				    c->revocation_reason);
			event_time(j, "this_update", c->this_update);
			event_time(j, "next_update", c->next_update);
			json_object_end(j);
		}
		json_array_end(j);
	}
	json_object_end(j);
}

/* A CRL fetched from a crl_hosts entry: crl.* */
static void
event_crl(struct json *j, const struct fetch_crl_facts *f)
{
	json_object_begin(j, "crl");
	json_cstring(j, "issuer", f->issuer);
	if (f->number_len > 0)
		json_hex(j, "number", f->number, f->number_len);
	event_time(j, "this_update", f->this_update);
	event_time(j, "next_update", f->next_update);
	json_uint(j, "entries", f->entries);
	json_cstring(j, "format", f->pem ? "pem" : "der");
	json_object_end(j);
}

/* An issuer certificate (AIA caIssuers): the ECS x509.* fields. */
static void
event_cert(struct json *j, const struct fetch_cert_facts *f)
{
	json_object_begin(j, "x509");
	json_object_begin(j, "subject");
	json_cstring(j, "distinguished_name", f->subject);
	json_object_end(j);
	json_object_begin(j, "issuer");
	json_cstring(j, "distinguished_name", f->issuer);
	json_object_end(j);
	json_hex(j, "serial_number", f->serial, f->serial_len);
	json_object_end(j);
}

/* A field name for the event: lowercase, at most 64 bytes. */
static void
event_field_name(struct json *j, struct http_span name)
{
	char buf[64];
	size_t n = name.len < sizeof(buf) ? name.len : sizeof(buf);

	for (size_t i = 0; i < n; i++) {
		char c = name.p[i];

		buf[i] = (char)(c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c);
	}
	json_string(j, NULL, buf, n);
}

/*
 * ocspgate.request: the head's fingerprint, flags and the fields that
 * were not forwarded (names, count, bytes).
 */
static void
event_request(struct json *j, const struct http_request *r)
{
	const struct http_filter *f = &r->filter;

	json_object_begin(j, "request");
	if (f->fingerprint[0] != '\0')
		json_cstring(j, "fingerprint", f->fingerprint);
	if (f->flags != 0) {
		json_array_begin(j, "flags");
		for (unsigned b = 0; b < HTTP_FLAG_COUNT; b++) {
			if (f->flags & (1u << b))
				json_cstring(j, NULL, http_filter_flag_name(b));
		}
		json_array_end(j);
	}
	if (f->ndropped > 0) {
		json_object_begin(j, "dropped_headers");
		json_array_begin(j, "names");
		for (size_t i = 0; i < f->nnames; i++)
			event_field_name(j, r->hs.h[f->names[i]].name);
		json_array_end(j);
		json_uint(j, "count", f->ndropped);
		json_uint(j, "bytes", f->dropped_bytes);
		json_object_end(j);
	}
	json_object_end(j);
}

void
event_format(struct json *j, const struct event_record *e)
{
	json_reset(j);
	json_object_begin(j, NULL);
	json_timestamp(j, "@timestamp", &e->start);

	json_object_begin(j, "event");
	json_cstring(j, "kind", "event");
	json_array_begin(j, "category");
	json_cstring(j, NULL, "network");
	json_array_end(j);
	json_cstring(j, "action", e->allow ? "allow" : "block");
	json_cstring(j, "reason", reason_name(e->reason));
	json_uint(j, "duration", e->duration_ns);
	json_object_end(j);

	json_object_begin(j, "ocspgate");
	json_cstring(j, "mode", mode_name(e->mode));
	json_bool(j, "enforced", e->enforced);
	json_cstring(j, "interception", e->interception);
	if (e->responder != NULL)
		json_cstring(j, "responder", e->responder);
	if (e->detail != NULL)
		json_cstring(j, "detail", e->detail);
	if (e->cache != NULL)
		json_cstring(j, "cache", e->cache);
	if (e->candidate != NULL) {
		json_cstring(j, "candidate", e->candidate);
		if (e->candidate_answer != NULL)
			json_cstring(
			    j, "candidate_answer", e->candidate_answer);
		if (e->candidate_checked)
			json_bool(
			    j, "candidate_verified", e->candidate_verified);
		if (e->candidate_detail != NULL)
			json_cstring(
			    j, "candidate_detail", e->candidate_detail);
	}
	if (e->ctl_format != NULL || e->ctl_thumbprint != NULL) {
		json_object_begin(j, "ctl");
		if (e->ctl_format != NULL)
			json_cstring(j, "format", e->ctl_format);
		if (e->ctl_entries > 0)
			json_uint(j, "entries", e->ctl_entries);
		if (e->ctl_thumbprint != NULL)
			json_hex(j, "thumbprint", e->ctl_thumbprint, 20);
		json_object_end(j);
	}
	if (e->signature != NULL)
		json_cstring(j, "signature", e->signature);
	event_span(j, "get_prefix", e->get_prefix);
	if (e->cert != NULL) {
		json_object_begin(j, "ca_issuer");
		json_uint(j, "certificates", e->cert->count);
		json_cstring(j, "format", e->cert->pkcs7 ? "pkcs7" : "x509");
		json_object_end(j);
	}
	if (e->orig_ip != NULL) {
		json_object_begin(j, "original_destination");
		json_cstring(j, "ip", e->orig_ip);
		json_uint(j, "port", e->orig_port);
		json_object_end(j);
	}
	if (e->host_mismatch)
		json_bool(j, "host_mismatch", true);
	if (e->request != NULL && e->request->headers_done)
		event_request(j, e->request);
	if (e->unknown_extensions > 0)
		json_uint(j, "unknown_extensions", e->unknown_extensions);
	if (e->answer_dropped_fields > 0) {
		json_object_begin(j, "answer");
		json_uint(j, "dropped_fields", e->answer_dropped_fields);
		json_uint(j, "dropped_bytes", e->answer_dropped_bytes);
		json_object_end(j);
	}
	if (e->asset != NULL) {
		json_object_begin(j, "asset");
		if (e->asset->host[0] != '\0')
			json_cstring(j, "host", e->asset->host);
		for (size_t i = 0; i < e->asset->ntags; i++) {
			if (e->asset->tag_values[i][0] != '\0')
				json_cstring(j, e->asset->tag_names[i],
				    e->asset->tag_values[i]);
		}
		json_object_end(j);
	}
	if (e->ocsp != NULL && e->ocsp->flags != 0)
		event_flag_fields(j, e->ocsp->flags);
	if (e->ocsp_response != NULL && e->ocsp_response->ncerts > 0)
		json_cstring(j, "cert_status",
		    ocsp_cert_status_name(
		        event_worst_status(e->ocsp_response)));
	json_object_end(j);

	json_object_begin(j, "source");
	json_cstring(j, "ip", e->source_ip);
	if (e->source_port != 0)
		json_uint(j, "port", e->source_port);
	if (e->source_domain != NULL)
		json_cstring(j, "domain", e->source_domain);
	json_object_end(j);

	if (e->dest_host.len > 0 || e->dest_ip != NULL) {
		json_object_begin(j, "destination");
		bool literal = event_is_ip_literal(e->dest_host);

		if (!literal)
			event_span(j, "domain", e->dest_host);
		if (e->dest_ip != NULL)
			json_cstring(j, "ip", e->dest_ip);
		else if (literal)
			event_span(j, "ip", e->dest_host);
		if (e->dest_port != 0)
			json_uint(j, "port", e->dest_port);
		json_object_end(j);
	}

	if (e->method.len > 0 || e->status != 0) {
		json_object_begin(j, "http");
		if (e->method.len > 0) {
			json_object_begin(j, "request");
			event_span(j, "method", e->method);
			if (e->has_request_body) {
				json_object_begin(j, "body");
				json_uint(j, "bytes", e->request_body_bytes);
				json_object_end(j);
			}
			json_object_end(j);
		}
		if (e->status != 0) {
			json_object_begin(j, "response");
			json_uint(j, "status_code", (uint64_t)e->status);
			json_object_begin(j, "body");
			json_uint(j, "bytes", e->response_body_bytes);
			json_object_end(j);
			if (e->response_bytes > 0)
				json_uint(j, "bytes", e->response_bytes);
			json_object_end(j);
		}
		json_object_end(j);
	}

	if (e->url.len > 0) {
		json_object_begin(j, "url");
		event_span(j, "original", e->url);
		event_span(j, "path", e->path);
		json_object_end(j);
	}
	if (e->user_agent.len > 0) {
		json_object_begin(j, "user_agent");
		event_span(j, "original", e->user_agent);
		json_object_end(j);
	}
	if (e->crl != NULL)
		event_crl(j, e->crl);
	if (e->cert != NULL)
		event_cert(j, e->cert);
	if (e->ocsp != NULL || e->ocsp_response != NULL) {
		json_object_begin(j, "ocsp");
		if (e->ocsp != NULL)
			event_ocsp(j, e->ocsp);
		if (e->ocsp_response != NULL)
			event_ocsp_response(j, e->ocsp_response);
		json_object_end(j);
	}
	json_object_end(j);
	json_raw(j, "\n", 1);
}
