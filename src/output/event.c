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

/*
 * The line is written raw (json.h, json_members_begin()): its shape is
 * known here, so each key goes out with its punctuation as one literal,
 * and a constant run of the line (the ECS opening, say) as one copy.
 * Values are escaped, but for the names of the program's own tables
 * (event_name()), which need none.
 */

/* A name from one of the program's tables (reason_name()...). */
static void
event_name(struct json *j, const char *s)
{
	if (s != NULL)
		json_value_name(j, s, strlen(s));
	else
		JSON_LIT(j, "null");
}

static void
event_bool(struct json *j, bool v)
{
	if (v)
		JSON_LIT(j, "true");
	else
		JSON_LIT(j, "false");
}

/*
 * The next flag bit set in *<left> (flags below <count> bits, lowest
 * first), cleared from it; *<left> must not be 0.
 */
static inline unsigned
event_next_flag(unsigned *left)
{
	unsigned b = (unsigned)__builtin_ctz(*left);

	*left &= *left - 1;
	return b;
}

/* <flags> with only the bits below <count>, the ones that have names. */
static inline unsigned
event_named_flags(unsigned flags, unsigned count)
{
	return count >= 32 ? flags : flags & ((1u << count) - 1);
}

/* The comma before a member of an object whose first is optional. */
static void
event_sep(struct json *j, bool *first)
{
	if (!*first)
		JSON_LIT(j, ",");
	*first = false;
}

/* <key> (a literal: ,"name": or "name":) and <s>, if not empty. */
#define EVENT_SPAN(j, key, s)                                                  \
	do {                                                                   \
		if ((s).p != NULL && (s).len > 0) {                            \
			JSON_LIT(j, key);                                      \
			(void)json_value_string(j, (s).p, (s).len);            \
		}                                                              \
	} while (0)

/* A NULL-padded list of <n> at most as array elements. */
static void
event_list(struct json *j, const char *const *v, size_t n)
{
	for (size_t i = 0; i < n && v[i] != NULL; i++) {
		if (i > 0)
			JSON_LIT(j, ",");
		json_value_cstring(j, v[i]);
	}
}

/* <n> strings as array elements (NULL: null). */
static void
event_array(struct json *j, const char *const *v, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (i > 0)
			JSON_LIT(j, ",");
		json_value_cstring(j, v[i]);
	}
}

/*
 * The members every line opens with, in the open top-level object:
 * "@timestamp", "ecs", "event" and "observer", as event_begin() says.
 */
static void
event_opening(struct json *j, const struct timespec *ts,
    const struct event_class *c, const char *version)
{
	char t[24];

	if (json_timestamp_text(j, ts, t)) {
		JSON_LIT(j, "\"@timestamp\":\"");
		json_lit(j, t, sizeof(t));
		JSON_LIT(j, "\",");
	}
	JSON_LIT(j,
	    "\"ecs\":{\"version\":\"" EVENT_ECS_VERSION
	    "\"},\"event\":{\"kind\":");
	json_value_cstring(j, c->kind);
	JSON_LIT(j, ",\"category\":[");
	event_list(j, c->category, EVENT_MAX_CATEGORIES);
	JSON_LIT(j, "],\"type\":[");
	event_list(j, c->type, EVENT_MAX_TYPES);
	JSON_LIT(j, "],\"action\":");
	json_value_cstring(j, c->action);
	if (c->outcome != NULL) {
		JSON_LIT(j, ",\"outcome\":");
		json_value_cstring(j, c->outcome);
	}
	if (c->reason != NULL) {
		JSON_LIT(j, ",\"reason\":");
		json_value_cstring(j, c->reason);
	}
	if (c->has_duration) {
		JSON_LIT(j, ",\"duration\":");
		json_value_uint(j, c->duration_ns);
	}
	JSON_LIT(j,
	    ",\"module\":\"" EVENT_MODULE "\",\"dataset\":\"" EVENT_DATASET
	    "\"},\"observer\":{\"vendor\":\"" EVENT_OBSERVER_VENDOR
	    "\",\"product\":\"" EVENT_MODULE
	    "\",\"type\":\"" EVENT_OBSERVER_TYPE "\"");
	if (version != NULL) {
		JSON_LIT(j, ",\"version\":");
		json_value_cstring(j, version);
	}
	JSON_LIT(j, "}");
}

void
event_begin(struct json *j, const struct timespec *ts,
    const struct event_class *c, const char *version)
{
	json_reset(j);
	json_object_begin(j, NULL);
	if (json_members_begin(j))
		event_opening(j, ts, c, version);
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

/* The related object, as event_related() writes it, raw. */
static void
event_related_raw(struct json *j, const char *const *ips, size_t nips,
    const char *const *hosts, size_t nhosts)
{
	JSON_LIT(j, "\"related\":{");
	if (nips > 0) {
		JSON_LIT(j, "\"ip\":[");
		event_array(j, ips, nips);
		JSON_LIT(j, "]");
	}
	if (nhosts > 0) {
		if (nips > 0)
			JSON_LIT(j, ",");
		JSON_LIT(j, "\"hosts\":[");
		event_array(j, hosts, nhosts);
		JSON_LIT(j, "]");
	}
	JSON_LIT(j, "}");
}

void
event_related(struct json *j, const char *const *ips, size_t nips,
    const char *const *hosts, size_t nhosts)
{
	if (nips == 0 && nhosts == 0)
		return;
	if (json_members_begin(j))
		event_related_raw(j, ips, nips, hosts, nhosts);
}

/*
 * True when <s> is an IPv4 or IPv6 address literal, as inet_pton() reads
 * it (up to a NUL). One of digits and dots only, never an IPv6 address,
 * is read here as inet_pton() reads an IPv4 address: four decimal parts
 * of 0 to 255, none with a leading zero, between single dots. One with a
 * byte no address has (anything but hex digits, '.' and ':') is a name.
 * The others go to inet_pton(AF_INET6).
 */
static bool
event_is_ip_literal(struct http_span s)
{
	char buf[INET6_ADDRSTRLEN];
	unsigned char addr[sizeof(struct in6_addr)];
	unsigned parts = 0, v = 0;
	bool digit = false;
	size_t i;

	if (s.len == 0 || s.len >= sizeof(buf))
		return false;
	for (i = 0; i < s.len; i++) {
		unsigned d = (unsigned)(unsigned char)s.p[i] - '0';

		if (d < 10) {
			if (digit && v == 0)
				break; /* a leading zero */
			v = v * 10 + d;
			if (!digit)
				parts++;
			digit = true;
		} else if (s.p[i] == '.' && digit) {
			digit = false;
			v = 0;
		} else {
			break;
		}
		if (v > 255 || parts > 4)
			break;
	}
	if (i == s.len || s.p[i] == '\0')
		return parts == 4 && digit;
	for (; i < s.len && s.p[i] != '\0'; i++) {
		unsigned char c = (unsigned char)s.p[i];

		if (!(c >= '0' && c <= ':') && c != '.' &&
		    !((c | 0x20) >= 'a' && (c | 0x20) <= 'f'))
			return false;
	}
	memcpy(buf, s.p, i);
	buf[i] = '\0';
	return inet_pton(AF_INET6, buf, addr) == 1;
}

/* ocspgate.ocsp.request: what the request asked. */
static void
event_ocsp(struct json *j, const struct ocsp_request_facts *f)
{
	JSON_LIT(j, "\"request\":{\"nonce\":");
	event_bool(j, f->has_nonce);
	if (f->flags != 0) {
		bool first = true;

		JSON_LIT(j, ",\"flags\":[");
		for (unsigned left =
		         event_named_flags(f->flags, OCSP_FLAG_COUNT);
		     left != 0;) {
			event_sep(j, &first);
			event_name(j, ocsp_flag_name(event_next_flag(&left)));
		}
		JSON_LIT(j, "]");
	}
	if (f->ncerts > 0) {
		JSON_LIT(j, ",\"certs\":[");
		for (size_t i = 0; i < f->ncerts; i++) {
			const struct ocsp_cert_id *c = &f->certs[i];

			if (i > 0)
				JSON_LIT(j, ",");
			JSON_LIT(j, "{\"hash_algorithm\":");
			event_name(j, ocsp_hash_name(c->hash));
			JSON_LIT(j, ",\"issuer_name_hash\":");
			json_value_hex(j, c->name_hash, c->hash_len);
			JSON_LIT(j, ",\"issuer_key_hash\":");
			json_value_hex(j, c->key_hash, c->hash_len);
			JSON_LIT(j, ",\"serial\":");
			json_value_hex(j, c->serial, c->serial_len);
			JSON_LIT(j, "}");
		}
		JSON_LIT(j, "]");
	}
	JSON_LIT(j, "}");
}

/*
 * ocspgate.flags: one boolean per flag of ocspgate.ocsp.request.flags,
 * so that a query on one flag reads a single-valued field (ES|QL, for
 * one, reads a multi-valued field in a comparison as null).
 */
static void
event_flag_fields(struct json *j, unsigned flags)
{
	bool first = true;

	JSON_LIT(j, "\"flags\":{");
	for (unsigned left = event_named_flags(flags, OCSP_FLAG_COUNT);
	     left != 0;) {
		const char *name = ocsp_flag_name(event_next_flag(&left));

		event_sep(j, &first);
		/* A key, as the writer takes keys: a literal. */
		JSON_LIT(j, "\"");
		json_lit(j, name, strlen(name));
		JSON_LIT(j, "\":true");
	}
	JSON_LIT(j, "}");
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

/* <key> (a literal: ,"name":) and the time <t>, unless empty. */
#define EVENT_TIME(j, key, t)                                                  \
	do {                                                                   \
		if ((t)[0] != '\0') {                                          \
			JSON_LIT(j, key);                                      \
			json_value_cstring(j, t);                              \
		}                                                              \
	} while (0)

/*
 * <key> and the time <t> of an OCSP answer, unless empty: text written
 * by ocsp_response_format_time() ("YYYY-MM-DDTHH:MM:SSZ", digits and
 * punctuation), which needs no escaping.
 */
#define EVENT_OCSP_TIME(j, key, t)                                             \
	do {                                                                   \
		if ((t)[0] != '\0') {                                          \
			JSON_LIT(j, key);                                      \
			event_name(j, t);                                      \
		}                                                              \
	} while (0)

/* What the responder said: ocspgate.ocsp.response. */
static void
event_ocsp_response(struct json *j, const struct ocsp_response_facts *f)
{
	JSON_LIT(j, "\"response\":{\"status\":");
	event_name(j, ocsp_response_status_name(f->status));
	EVENT_OCSP_TIME(j, ",\"produced_at\":", f->produced_at);
	if (f->by_key) {
		JSON_LIT(j, ",\"responder_key_hash\":");
		json_value_hex(
		    j, f->responder_key_hash, sizeof(f->responder_key_hash));
	} else if (f->responder_name[0] != '\0') {
		JSON_LIT(j, ",\"responder_name\":");
		json_value_cstring(j, f->responder_name);
	}
	if (f->basic) {
		JSON_LIT(j, ",\"nonce\":");
		event_bool(j, f->has_nonce);
	}
	if (f->ncerts > 0) {
		JSON_LIT(j, ",\"certs\":[");
		for (size_t i = 0; i < f->ncerts; i++) {
			const struct ocsp_single_facts *c = &f->certs[i];

			if (i > 0)
				JSON_LIT(j, ",");
			JSON_LIT(j, "{\"serial\":");
			json_value_hex(j, c->serial, c->serial_len);
			JSON_LIT(j, ",\"status\":");
			event_name(j, ocsp_cert_status_name(c->status));
			EVENT_OCSP_TIME(
			    j, ",\"revocation_time\":", c->revocation_time);
			if (c->revocation_reason != NULL) {
				JSON_LIT(j, ",\"revocation_reason\":");
				json_value_cstring(j, c->revocation_reason);
			}
			EVENT_OCSP_TIME(j, ",\"this_update\":", c->this_update);
			EVENT_OCSP_TIME(j, ",\"next_update\":", c->next_update);
			JSON_LIT(j, "}");
		}
		JSON_LIT(j, "]");
	}
	JSON_LIT(j, "}");
}

/* A CRL fetched from a crl_hosts entry: ocspgate.crl (ECS has no CRL). */
static void
event_crl(struct json *j, const struct fetch_crl_facts *f)
{
	JSON_LIT(j, "\"crl\":{\"issuer\":");
	json_value_cstring(j, f->issuer);
	if (f->number_len > 0) {
		JSON_LIT(j, ",\"number\":");
		json_value_hex(j, f->number, f->number_len);
	}
	EVENT_TIME(j, ",\"this_update\":", f->this_update);
	EVENT_TIME(j, ",\"next_update\":", f->next_update);
	JSON_LIT(j, ",\"entries\":");
	json_value_uint(j, f->entries);
	if (f->pem)
		JSON_LIT(j, ",\"format\":\"pem\"}");
	else
		JSON_LIT(j, ",\"format\":\"der\"}");
}

/*
 * An issuer certificate (AIA caIssuers) or a root fetched by thumbprint:
 * a file whose content is a certificate, so ECS's file.x509 ("when the
 * certificate relates to a file, use the fields at file.x509").
 */
static void
event_cert(struct json *j, const struct fetch_cert_facts *f)
{
	JSON_LIT(j, "\"file\":{\"x509\":{\"subject\":{\"distinguished_name\":");
	json_value_cstring(j, f->subject);
	JSON_LIT(j, "},\"issuer\":{\"distinguished_name\":");
	json_value_cstring(j, f->issuer);
	JSON_LIT(j, "},\"serial_number\":");
	json_value_hex(j, f->serial, f->serial_len);
	JSON_LIT(j, "}}");
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
	(void)json_value_string(j, buf, n);
}

/*
 * ocspgate.request: the head's fingerprint, flags and the fields that
 * were not forwarded (names, count, bytes).
 */
static void
event_request(struct json *j, const struct http_request *r)
{
	const struct http_filter *f = &r->filter;
	bool first = true;

	JSON_LIT(j, "\"request\":{");
	if (f->fingerprint[0] != '\0') {
		event_sep(j, &first);
		JSON_LIT(j, "\"fingerprint\":");
		json_value_cstring(j, f->fingerprint);
	}
	if (f->flags != 0) {
		bool first_flag = true;

		event_sep(j, &first);
		JSON_LIT(j, "\"flags\":[");
		for (unsigned left =
		         event_named_flags(f->flags, HTTP_FLAG_COUNT);
		     left != 0;) {
			event_sep(j, &first_flag);
			event_name(
			    j, http_filter_flag_name(event_next_flag(&left)));
		}
		JSON_LIT(j, "]");
	}
	if (f->ndropped > 0) {
		event_sep(j, &first);
		JSON_LIT(j, "\"dropped_headers\":{\"names\":[");
		for (size_t i = 0; i < f->nnames; i++) {
			if (i > 0)
				JSON_LIT(j, ",");
			event_field_name(j, r->hs.h[f->names[i]].name);
		}
		JSON_LIT(j, "],\"count\":");
		json_value_uint(j, f->ndropped);
		JSON_LIT(j, ",\"bytes\":");
		json_value_uint(j, f->dropped_bytes);
		JSON_LIT(j, "}");
	}
	JSON_LIT(j, "}");
}

/*
 * The opening of a request event, what event_begin() writes for its
 * class, with the class's constant text as literals. ECS categorization:
 * event.type says what happened on the wire: "denied" when the request
 * was refused (a block carried out), "allowed" when it went upstream (an
 * allowed request, or a block monitor mode forwarded: event.action says
 * the verdict); "connection" always, and "protocol" once the request had
 * an HTTP method (ECS then wants network.protocol). event.outcome is the
 * gate's: "success" when it did what it decided (forwarded and relayed,
 * or refused), "failure" when the exchange failed (an upstream
 * unreachable, an answer refused).
 */
static void
event_request_opening(struct json *j, const struct event_record *e)
{
	char t[24];

	if (json_timestamp_text(j, &e->start, t)) {
		JSON_LIT(j, "\"@timestamp\":\"");
		json_lit(j, t, sizeof(t));
		JSON_LIT(j, "\",");
	}
	JSON_LIT(j,
	    "\"ecs\":{\"version\":\"" EVENT_ECS_VERSION
	    "\"},\"event\":{\"kind\":\"event\",\"category\":["
	    "\"network\"],\"type\":[");
	if (!e->allow && e->enforced)
		JSON_LIT(j, "\"denied\",\"connection\"");
	else
		JSON_LIT(j, "\"allowed\",\"connection\"");
	if (e->method.len > 0)
		JSON_LIT(j, ",\"protocol\"");
	if (e->allow)
		JSON_LIT(j, "],\"action\":\"allow\"");
	else
		JSON_LIT(j, "],\"action\":\"block\"");
	if (e->failed)
		JSON_LIT(j, ",\"outcome\":\"failure\",\"reason\":");
	else
		JSON_LIT(j, ",\"outcome\":\"success\",\"reason\":");
	event_name(j, reason_name(e->reason));
	JSON_LIT(j, ",\"duration\":");
	json_value_uint(j, e->duration_ns);
	JSON_LIT(j,
	    ",\"module\":\"" EVENT_MODULE "\",\"dataset\":\"" EVENT_DATASET
	    "\"},\"observer\":{\"vendor\":\"" EVENT_OBSERVER_VENDOR
	    "\",\"product\":\"" EVENT_MODULE
	    "\",\"type\":\"" EVENT_OBSERVER_TYPE "\"");
	if (e->version != NULL) {
		JSON_LIT(j, ",\"version\":");
		json_value_cstring(j, e->version);
	}
	JSON_LIT(j, "}");
}

/* The "asset" member (ocspgate.asset). */
static void
event_asset(struct json *j, const struct inventory_entry *asset)
{
	bool first = true;

	JSON_LIT(j, "\"asset\":{");
	if (asset->host[0] != '\0') {
		event_sep(j, &first);
		JSON_LIT(j, "\"host\":");
		json_value_cstring(j, asset->host);
	}
	for (size_t i = 0; i < asset->ntags; i++) {
		if (asset->tag_values[i][0] != '\0') {
			event_sep(j, &first);
			/* The tag's name is a key, written as keys are. */
			JSON_LIT(j, "\"");
			json_lit(j, asset->tag_names[i],
			    strlen(asset->tag_names[i]));
			JSON_LIT(j, "\":");
			json_value_cstring(j, asset->tag_values[i]);
		}
	}
	JSON_LIT(j, "}");
}

/* The "source" member. */
static void
event_source(struct json *j, const char *ip, uint16_t port, const char *domain)
{
	JSON_LIT(j, "\"source\":{\"ip\":");
	json_value_cstring(j, ip);
	if (port != 0) {
		JSON_LIT(j, ",\"port\":");
		json_value_uint(j, port);
	}
	if (domain != NULL) {
		JSON_LIT(j, ",\"domain\":");
		json_value_cstring(j, domain);
	}
	JSON_LIT(j, "}");
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
	if (!json_members_begin(j))
		return SIZE_MAX;
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

/* ocspgate's members from "candidate" on, when the record has one. */
static void
event_candidate(struct json *j, const struct event_record *e)
{
	JSON_LIT(j, ",\"candidate\":");
	json_value_cstring(j, e->candidate);
	if (e->candidate_answer != NULL) {
		JSON_LIT(j, ",\"candidate_answer\":");
		json_value_cstring(j, e->candidate_answer);
	}
	if (e->candidate_checked) {
		JSON_LIT(j, ",\"candidate_verified\":");
		event_bool(j, e->candidate_verified);
	}
	if (e->candidate_detail != NULL) {
		JSON_LIT(j, ",\"candidate_detail\":");
		json_value_cstring(j, e->candidate_detail);
	}
}

/* ocspgate.ctl: a trust list's format and entries, a root's thumbprint. */
static void
event_ctl(struct json *j, const struct event_record *e)
{
	bool first = true;

	JSON_LIT(j, ",\"ctl\":{");
	if (e->ctl_format != NULL) {
		event_sep(j, &first);
		JSON_LIT(j, "\"format\":");
		json_value_cstring(j, e->ctl_format);
	}
	if (e->ctl_entries > 0) {
		event_sep(j, &first);
		JSON_LIT(j, "\"entries\":");
		json_value_uint(j, e->ctl_entries);
	}
	if (e->ctl_thumbprint != NULL) {
		event_sep(j, &first);
		JSON_LIT(j, "\"thumbprint\":");
		json_value_hex(j, e->ctl_thumbprint, 20);
	}
	JSON_LIT(j, "}");
}

/* The "ocspgate" member: what the gate saw and decided. */
static void
event_ocspgate(struct json *j, const struct event_record *e)
{
	JSON_LIT(j, ",\"ocspgate\":{\"mode\":");
	event_name(j, mode_name(e->mode));
	/*
	 * interception, cache and signature hold one of the few names the
	 * record allows (event.h): written as they are.
	 */
	if (e->enforced)
		JSON_LIT(j, ",\"enforced\":true,\"interception\":");
	else
		JSON_LIT(j, ",\"enforced\":false,\"interception\":");
	event_name(j, e->interception);
	if (e->responder != NULL) {
		JSON_LIT(j, ",\"responder\":");
		json_value_cstring(j, e->responder);
	}
	if (e->detail != NULL) {
		JSON_LIT(j, ",\"detail\":");
		json_value_cstring(j, e->detail);
	}
	if (e->cache != NULL) {
		JSON_LIT(j, ",\"cache\":");
		event_name(j, e->cache);
	}
	if (e->candidate != NULL)
		event_candidate(j, e);
	if (e->ctl_format != NULL || e->ctl_thumbprint != NULL)
		event_ctl(j, e);
	if (e->signature != NULL) {
		JSON_LIT(j, ",\"signature\":");
		event_name(j, e->signature);
	}
	EVENT_SPAN(j, ",\"get_prefix\":", e->get_prefix);
	if (e->cert != NULL) {
		JSON_LIT(j, ",\"ca_issuer\":{\"certificates\":");
		json_value_uint(j, e->cert->count);
		if (e->cert->pkcs7)
			JSON_LIT(j, ",\"format\":\"pkcs7\"}");
		else
			JSON_LIT(j, ",\"format\":\"x509\"}");
	}
	if (e->orig_ip != NULL) {
		JSON_LIT(j, ",\"original_destination\":{\"ip\":");
		json_value_cstring(j, e->orig_ip);
		JSON_LIT(j, ",\"port\":");
		json_value_uint(j, e->orig_port);
		JSON_LIT(j, "}");
	}
	if (e->host_mismatch)
		JSON_LIT(j, ",\"host_mismatch\":true");
	if (e->request != NULL && e->request->headers_done) {
		JSON_LIT(j, ",");
		event_request(j, e->request);
	}
	if (e->unknown_extensions > 0) {
		JSON_LIT(j, ",\"unknown_extensions\":");
		json_value_uint(j, e->unknown_extensions);
	}
	if (e->answer_dropped_fields > 0) {
		JSON_LIT(j, ",\"answer\":{\"dropped_fields\":");
		json_value_uint(j, e->answer_dropped_fields);
		JSON_LIT(j, ",\"dropped_bytes\":");
		json_value_uint(j, e->answer_dropped_bytes);
		JSON_LIT(j, "}");
	}
	if (e->fragments != NULL) {
		if (e->fragments->asset_len > 0) {
			JSON_LIT(j, ",");
			json_lit(j,
			    e->fragments->bytes + e->fragments->source_len,
			    e->fragments->asset_len);
		}
	} else if (e->asset != NULL) {
		JSON_LIT(j, ",");
		event_asset(j, e->asset);
	}
	if (e->ocsp != NULL && e->ocsp->flags != 0) {
		JSON_LIT(j, ",");
		event_flag_fields(j, e->ocsp->flags);
	}
	if (e->ocsp_response != NULL && e->ocsp_response->ncerts > 0) {
		JSON_LIT(j, ",\"cert_status\":");
		event_name(j,
		    ocsp_cert_status_name(
		        event_worst_status(e->ocsp_response)));
	}
	if (e->ocsp != NULL || e->ocsp_response != NULL) {
		JSON_LIT(j, ",\"ocsp\":{");
		if (e->ocsp != NULL)
			event_ocsp(j, e->ocsp);
		if (e->ocsp_response != NULL) {
			if (e->ocsp != NULL)
				JSON_LIT(j, ",");
			event_ocsp_response(j, e->ocsp_response);
		}
		JSON_LIT(j, "}");
	}
	if (e->crl != NULL) {
		JSON_LIT(j, ",");
		event_crl(j, e->crl);
	}
	JSON_LIT(j, "}");
}

/* The "destination" member; <literal>: its host is an address. */
static void
event_destination(struct json *j, const struct event_record *e, bool literal)
{
	bool first = true;

	JSON_LIT(j, ",\"destination\":{");
	if (!literal && e->dest_host.p != NULL && e->dest_host.len > 0) {
		first = false;
		JSON_LIT(j, "\"domain\":");
		(void)json_value_string(j, e->dest_host.p, e->dest_host.len);
	}
	if (e->dest_ip != NULL) {
		event_sep(j, &first);
		JSON_LIT(j, "\"ip\":");
		json_value_cstring(j, e->dest_ip);
	} else if (literal && e->dest_host.p != NULL) {
		event_sep(j, &first);
		JSON_LIT(j, "\"ip\":");
		(void)json_value_string(j, e->dest_host.p, e->dest_host.len);
	}
	if (e->dest_port != 0) {
		event_sep(j, &first);
		JSON_LIT(j, "\"port\":");
		json_value_uint(j, e->dest_port);
	}
	JSON_LIT(j, "}");
}

/* The "http" member: the request's method and body, the answer's. */
static void
event_http(struct json *j, const struct event_record *e)
{
	bool first = true;

	JSON_LIT(j, ",\"http\":{");
	if (e->method.len > 0) {
		bool first_req = true;

		first = false;
		JSON_LIT(j, "\"request\":{");
		if (e->method.p != NULL) {
			first_req = false;
			JSON_LIT(j, "\"method\":");
			(void)json_value_string(j, e->method.p, e->method.len);
		}
		if (e->has_request_body) {
			event_sep(j, &first_req);
			JSON_LIT(j, "\"body\":{\"bytes\":");
			json_value_uint(j, e->request_body_bytes);
			JSON_LIT(j, "}");
		}
		JSON_LIT(j, "}");
	}
	if (e->status != 0) {
		event_sep(j, &first);
		JSON_LIT(j, "\"response\":{\"status_code\":");
		json_value_uint(j, (uint64_t)e->status);
		JSON_LIT(j, ",\"body\":{\"bytes\":");
		json_value_uint(j, e->response_body_bytes);
		JSON_LIT(j, "}");
		if (e->response_bytes > 0) {
			JSON_LIT(j, ",\"bytes\":");
			json_value_uint(j, e->response_bytes);
		}
		JSON_LIT(j, "}");
	}
	JSON_LIT(j, "}");
}

/*
 * The "url" member. When the URL went out as it came and its path is
 * its tail starting at an ASCII byte (the absolute form's
 * "http://host/path", or the origin form where both are the same
 * bytes), the path's text is that tail as it is: no UTF-8 sequence can
 * straddle an ASCII byte, so escaping it again would change nothing.
 */
static void
event_url(struct json *j, const struct event_record *e)
{
	bool first = true, verbatim = false;
	struct http_span u = e->url, p = e->path;

	JSON_LIT(j, ",\"url\":{");
	if (u.p != NULL && u.len > 0) {
		first = false;
		JSON_LIT(j, "\"original\":");
		verbatim = json_value_string(j, u.p, u.len);
	}
	if (p.p != NULL && p.len > 0) {
		event_sep(j, &first);
		JSON_LIT(j, "\"path\":");
		if (verbatim && p.len <= u.len &&
		    p.p == u.p + (u.len - p.len) &&
		    (unsigned char)p.p[0] < 0x80)
			json_value_name(j, p.p, p.len);
		else
			(void)json_value_string(j, p.p, p.len);
	}
	JSON_LIT(j, "}");
}

void
event_format(struct json *j, const struct event_record *e)
{
	/* related.ip: source, destination, original destination. */
	const char *ips[3], *hosts[2];
	size_t nips = 0, nhosts = 0;
	char dest[256];
	bool literal = event_is_ip_literal(e->dest_host);

	json_reset(j);
	json_object_begin(j, NULL);
	if (!json_members_begin(j))
		return;
	event_request_opening(j, e);
	event_ocspgate(j, e);

	if (e->fragments != NULL) {
		if (e->fragments->source_len > 0) {
			JSON_LIT(j, ",");
			json_lit(
			    j, e->fragments->bytes, e->fragments->source_len);
		}
	} else {
		JSON_LIT(j, ",");
		event_source(j, e->source_ip, e->source_port, e->source_domain);
	}

	if (e->dest_host.len > 0 || e->dest_ip != NULL)
		event_destination(j, e, literal);

	if (e->method.len > 0)
		JSON_LIT(j,
		    ",\"network\":{\"transport\":\"tcp\","
		    "\"protocol\":\"http\"}");
	else
		JSON_LIT(j, ",\"network\":{\"transport\":\"tcp\"}");

	if (e->method.len > 0 || e->status != 0)
		event_http(j, e);
	if (e->url.len > 0)
		event_url(j, e);
	if (e->user_agent.len > 0) {
		JSON_LIT(j, ",\"user_agent\":{");
		EVENT_SPAN(j, "\"original\":", e->user_agent);
		JSON_LIT(j, "}");
	}
	if (e->cert != NULL) {
		JSON_LIT(j, ",");
		event_cert(j, e->cert);
	}

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
	if (nips > 0 || nhosts > 0) {
		JSON_LIT(j, ",");
		event_related_raw(j, ips, nips, hosts, nhosts);
	}

	json_object_end(j);
	JSON_LIT(j, "\n");
}
