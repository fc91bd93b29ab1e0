/*
 * The event-log line: an event_record turned into ECS JSON. Pure: no
 * I/O, no clock (the record carries its times), no globals.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
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

void
event_begin(struct json *j, const struct timespec *ts,
    const struct event_class *c, const char *version)
{
	json_reset(j);
	json_object_begin(j, NULL);
	json_timestamp(j, "@timestamp", ts);

	json_object_begin(j, "ecs");
	json_cstring(j, "version", EVENT_ECS_VERSION);
	json_object_end(j);

	json_object_begin(j, "event");
	json_cstring(j, "kind", c->kind);
	json_array_begin(j, "category");
	for (size_t i = 0; i < EVENT_MAX_CATEGORIES && c->category[i] != NULL;
	     i++)
		json_cstring(j, NULL, c->category[i]);
	json_array_end(j);
	json_array_begin(j, "type");
	for (size_t i = 0; i < EVENT_MAX_TYPES && c->type[i] != NULL; i++)
		json_cstring(j, NULL, c->type[i]);
	json_array_end(j);
	json_cstring(j, "action", c->action);
	if (c->outcome != NULL)
		json_cstring(j, "outcome", c->outcome);
	if (c->reason != NULL)
		json_cstring(j, "reason", c->reason);
	if (c->has_duration)
		json_uint(j, "duration", c->duration_ns);
	json_cstring(j, "module", EVENT_MODULE);
	json_cstring(j, "dataset", EVENT_DATASET);
	json_object_end(j);

	json_object_begin(j, "observer");
	json_cstring(j, "vendor", EVENT_OBSERVER_VENDOR);
	json_cstring(j, "product", EVENT_MODULE);
	json_cstring(j, "type", EVENT_OBSERVER_TYPE);
	if (version != NULL)
		json_cstring(j, "version", version);
	json_object_end(j);
}

void
event_related_add(const char **ips, size_t *n, size_t cap, const char *ip)
{
	if (ip == NULL || ip[0] == '\0' || *n >= cap)
		return;
	for (size_t i = 0; i < *n; i++) {
		if (strcmp(ips[i], ip) == 0)
			return;
	}
	ips[(*n)++] = ip;
}

void
event_related(struct json *j, const char *const *ips, size_t nips,
    const char *const *hosts, size_t nhosts)
{
	if (nips == 0 && nhosts == 0)
		return;
	json_object_begin(j, "related");
	if (nips > 0) {
		json_array_begin(j, "ip");
		for (size_t i = 0; i < nips; i++)
			json_cstring(j, NULL, ips[i]);
		json_array_end(j);
	}
	if (nhosts > 0) {
		json_array_begin(j, "hosts");
		for (size_t i = 0; i < nhosts; i++)
			json_cstring(j, NULL, hosts[i]);
		json_array_end(j);
	}
	json_object_end(j);
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
 * ocspgate.flags: one boolean per flag of ocspgate.ocsp.request.flags,
 * so that a query on one flag reads a single-valued field (ES|QL, for
 * one, reads a multi-valued field in a comparison as null).
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

/* What the responder said: ocspgate.ocsp.response. */
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

/* A CRL fetched from a crl_hosts entry: ocspgate.crl (ECS has no CRL). */
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

/*
 * An issuer certificate (AIA caIssuers) or a root fetched by thumbprint:
 * a file whose content is a certificate, so ECS's file.x509 ("when the
 * certificate relates to a file, use the fields at file.x509").
 */
static void
event_cert(struct json *j, const struct fetch_cert_facts *f)
{
	json_object_begin(j, "file");
	json_object_begin(j, "x509");
	json_object_begin(j, "subject");
	json_cstring(j, "distinguished_name", f->subject);
	json_object_end(j);
	json_object_begin(j, "issuer");
	json_cstring(j, "distinguished_name", f->issuer);
	json_object_end(j);
	json_hex(j, "serial_number", f->serial, f->serial_len);
	json_object_end(j);
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

/*
 * ECS categorization of a request event. event.type says what happened
 * on the wire: "denied" when the request was refused (a block carried
 * out), "allowed" when it went upstream (an allowed request, or a block
 * monitor mode forwarded: event.action says the verdict); "connection"
 * always, and "protocol" once the request had an HTTP method (ECS then
 * wants network.protocol). event.outcome is the gate's: "success" when
 * it did what it decided (forwarded and relayed, or refused), "failure"
 * when the exchange failed (an upstream unreachable, an answer refused).
 */
static void
event_classify(const struct event_record *e, struct event_class *c)
{
	memset(c, 0, sizeof(*c));
	c->kind = "event";
	c->category[0] = "network";
	c->type[0] = !e->allow && e->enforced ? "denied" : "allowed";
	c->type[1] = "connection";
	if (e->method.len > 0)
		c->type[2] = "protocol";
	c->action = e->allow ? "allow" : "block";
	c->outcome = e->failed ? "failure" : "success";
	c->reason = reason_name(e->reason);
	c->duration_ns = e->duration_ns;
	c->has_duration = true;
}

/* The ocspgate.asset object. */
static void
event_asset(struct json *j, const struct inventory_entry *asset)
{
	json_object_begin(j, "asset");
	if (asset->host[0] != '\0')
		json_cstring(j, "host", asset->host);
	for (size_t i = 0; i < asset->ntags; i++) {
		if (asset->tag_values[i][0] != '\0')
			json_cstring(
			    j, asset->tag_names[i], asset->tag_values[i]);
	}
	json_object_end(j);
}

/* The source object. */
static void
event_source(struct json *j, const char *ip, uint16_t port, const char *domain)
{
	json_object_begin(j, "source");
	json_cstring(j, "ip", ip);
	if (port != 0)
		json_uint(j, "port", port);
	if (domain != NULL)
		json_cstring(j, "domain", domain);
	json_object_end(j);
}

/*
 * Opens an object of its own in <j> for one member, and returns where
 * that member's bytes will start (after the '{'), or SIZE_MAX.
 */
static size_t
event_fragment_begin(struct json *j)
{
	json_reset(j);
	json_object_begin(j, NULL);
	return j->failed ? SIZE_MAX : j->len;
}

struct event_fragments *
event_fragments_new(struct json *scratch, const char *ip, uint16_t port,
    const char *domain, const struct inventory_entry *asset)
{
	struct event_fragments *f;
	size_t iplen = strlen(ip), dlen = domain != NULL ? strlen(domain) : 0;
	size_t at, source_len, asset_len = 0;
	char *source = NULL;

	if (iplen >= sizeof(f->ip) ||
	    (at = event_fragment_begin(scratch)) == SIZE_MAX)
		return NULL;
	event_source(scratch, ip, port, domain);
	if (scratch->failed)
		return NULL;
	source_len = scratch->len - at;
	if (asset != NULL) {
		/* The scratch is written again for the asset: keep these. */
		if ((source = malloc(source_len)) == NULL)
			return NULL;
		memcpy(source, scratch->buf + at, source_len);
		if ((at = event_fragment_begin(scratch)) == SIZE_MAX) {
			free(source);
			return NULL;
		}
		event_asset(scratch, asset);
		asset_len = scratch->len - at;
		if (scratch->failed) {
			free(source);
			return NULL;
		}
	}
	/* One block: the source's bytes, the asset's, the domain's copy. */
	if ((f = malloc(sizeof(*f) + source_len + asset_len + dlen + 1)) ==
	    NULL) {
		free(source);
		return NULL;
	}
	if (source != NULL) {
		memcpy(f->bytes, source, source_len);
		memcpy(f->bytes + source_len, scratch->buf + at, asset_len);
		free(source);
	} else {
		memcpy(f->bytes, scratch->buf + at, source_len);
	}
	memcpy(f->ip, ip, iplen + 1);
	f->source_len = source_len;
	f->asset_len = asset_len;
	f->domain = NULL;
	if (domain != NULL) {
		char *d = f->bytes + source_len + asset_len;

		memcpy(d, domain, dlen + 1);
		f->domain = d;
	}
	return f;
}

void
event_format(struct json *j, const struct event_record *e)
{
	struct event_class c;
	/* related.ip: source, destination, original destination. */
	const char *ips[3], *hosts[2];
	size_t nips = 0, nhosts = 0;
	char dest[256];
	bool literal = event_is_ip_literal(e->dest_host);

	event_classify(e, &c);
	event_begin(j, &e->start, &c, e->version);

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
	if (e->fragments != NULL)
		json_member_raw(j,
		    e->fragments->bytes + e->fragments->source_len,
		    e->fragments->asset_len);
	else if (e->asset != NULL)
		event_asset(j, e->asset);
	if (e->ocsp != NULL && e->ocsp->flags != 0)
		event_flag_fields(j, e->ocsp->flags);
	if (e->ocsp_response != NULL && e->ocsp_response->ncerts > 0)
		json_cstring(j, "cert_status",
		    ocsp_cert_status_name(
		        event_worst_status(e->ocsp_response)));
	if (e->ocsp != NULL || e->ocsp_response != NULL) {
		json_object_begin(j, "ocsp");
		if (e->ocsp != NULL)
			event_ocsp(j, e->ocsp);
		if (e->ocsp_response != NULL)
			event_ocsp_response(j, e->ocsp_response);
		json_object_end(j);
	}
	if (e->crl != NULL)
		event_crl(j, e->crl);
	json_object_end(j);

	if (e->fragments != NULL)
		json_member_raw(
		    j, e->fragments->bytes, e->fragments->source_len);
	else
		event_source(j, e->source_ip, e->source_port, e->source_domain);

	if (e->dest_host.len > 0 || e->dest_ip != NULL) {
		json_object_begin(j, "destination");
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

	json_object_begin(j, "network");
	json_cstring(j, "transport", "tcp");
	if (e->method.len > 0)
		json_cstring(j, "protocol", "http");
	json_object_end(j);

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
	if (e->cert != NULL)
		event_cert(j, e->cert);

	/*
	 * related: every address and name of the line, for pivoting. A
	 * name from the wire goes in as written (escaped like any value),
	 * at most 255 bytes, as a DNS name is.
	 */
	event_related_add(ips, &nips, 3, e->source_ip);
	if (e->dest_ip != NULL) {
		event_related_add(ips, &nips, 3, e->dest_ip);
	} else if (literal) {
		memcpy(dest, e->dest_host.p, e->dest_host.len);
		dest[e->dest_host.len] = '\0';
		event_related_add(ips, &nips, 3, dest);
	}
	event_related_add(ips, &nips, 3, e->orig_ip);
	event_related_add(hosts, &nhosts, 2, e->source_domain);
	if (!literal && e->dest_host.len > 0 &&
	    e->dest_host.len < sizeof(dest)) {
		memcpy(dest, e->dest_host.p, e->dest_host.len);
		dest[e->dest_host.len] = '\0';
		/* A NUL from the wire would end the copy: leave it out. */
		if (strlen(dest) == e->dest_host.len)
			event_related_add(hosts, &nhosts, 2, dest);
	}
	event_related(j, ips, nips, hosts, nhosts);

	json_object_end(j);
	json_raw(j, "\n", 1);
}
