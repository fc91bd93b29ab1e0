/*
 * Suggest: event-log lines in, a reviewed-ready config snippet out. The
 * lines are read with json_read.c; the hosts are gathered in a bounded
 * table; the text names only hosts in a shape the config accepts, and
 * every piece of wire text it repeats is printable ASCII in a comment.
 * Pure: no I/O, no clock, no globals.
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ocspgate/hash.h"
#include "ocspgate/json_read.h"
#include "ocspgate/policy.h"
#include "ocspgate/suggest.h"

#define SUGGEST_INDEX_MIN 64
#define SUGGEST_COMMENT   72 /* columns of wire text repeated in a comment */

/* What one host of one class showed over the lines read. */
struct suggest_host {
	enum candidate_class cls;
	uint16_t port;
	char host[SUGGEST_HOST_MAX + 1];
	uint64_t requests;
	uint64_t valid;     /* answers that passed inspection */
	uint64_t failed;    /* answers that did not */
	uint64_t transport; /* no answer: unreachable, timed out */
	uint64_t enforced;  /* refused in enforce mode: never asked */
	uint64_t checked;   /* signatures checked */
	uint64_t verified;  /* ... that verified */
	char first[SUGGEST_TIME_MAX];
	char last[SUGGEST_TIME_MAX];
	char failure[SUGGEST_TEXT_MAX]; /* the last failed answer's why */
	char transport_why[SUGGEST_TEXT_MAX];
	char unverified[SUGGEST_TEXT_MAX];  /* the last unverified one's why */
	char dir[PATH_SHAPE_FETCH_MAX + 1]; /* common directory of the paths */
	bool dir_set;
	uint64_t *sources; /* open addressing: hashes of source.ip, 0 free */
	size_t nsources;
	size_t sources_cap;
	bool sources_over; /* more than SUGGEST_MAX_SOURCES */
};

struct suggest {
	struct suggest_host *hosts;
	size_t nhosts;
	size_t hosts_cap;
	size_t *index; /* open addressing: host number + 1, 0 free */
	size_t index_cap;
	uint64_t lines;
	uint64_t unreadable;
	uint64_t candidates;
	uint64_t dropped;  /* candidate lines past SUGGEST_MAX_HOSTS hosts */
	uint64_t unusable; /* candidate lines naming no usable host */
	char first[SUGGEST_TIME_MAX];
	char last[SUGGEST_TIME_MAX];
};

/* Reading one line. */

struct suggest_read {
	struct suggest_event *ev;
	char domain[SUGGEST_HOST_MAX + 1];
	bool domain_long;
	char ip[64];
	bool object; /* the value is an object */
};

/* Copies <len> bytes of <v> into <dst> (<cap>), truncated. */
static void
suggest_copy(char *dst, size_t cap, const char *v, size_t len)
{
	if (len >= cap)
		len = cap - 1;
	memcpy(dst, v, len);
	dst[len] = '\0';
}

/* True for a timestamp as the event log writes it (digits, -, :, T, ...). */
static bool
suggest_time_ok(const char *v, size_t len)
{
	if (len < 10 || len >= SUGGEST_TIME_MAX)
		return false;
	for (size_t i = 0; i < len; i++) {
		if (!isdigit((unsigned char)v[i]) && v[i] != '-' &&
		    v[i] != ':' && v[i] != 'T' && v[i] != '.' && v[i] != 'Z' &&
		    v[i] != '+')
			return false;
	}
	return true;
}

static void
suggest_on_scalar(void *arg, const char *path, size_t path_len,
    enum json_read_type type, const char *v, size_t len)
{
	struct suggest_read *r = arg;
	struct suggest_event *ev = r->ev;
	bool str = type == JSON_READ_STRING;

	(void)path_len;
	if (strcmp(path, "@timestamp") == 0 && str) {
		if (suggest_time_ok(v, len))
			suggest_copy(
			    ev->timestamp, sizeof(ev->timestamp), v, len);
	} else if (strcmp(path, "event.kind") == 0 && str) {
		ev->request = len == 5 && memcmp(v, "event", 5) == 0;
	} else if (strcmp(path, "ocspgate.candidate") == 0 && str) {
		ev->candidate = candidate_class_from_name(v, len);
	} else if (strcmp(path, "ocspgate.candidate_answer") == 0 && str) {
		suggest_copy(ev->answer, sizeof(ev->answer), v, len);
	} else if (strcmp(path, "ocspgate.candidate_verified") == 0 &&
	    (type == JSON_READ_TRUE || type == JSON_READ_FALSE)) {
		ev->verified = type == JSON_READ_TRUE;
	} else if (strcmp(path, "ocspgate.detail") == 0 && str) {
		suggest_copy(ev->detail, sizeof(ev->detail), v, len);
	} else if (strcmp(path, "ocspgate.candidate_detail") == 0 && str) {
		suggest_copy(
		    ev->candidate_detail, sizeof(ev->candidate_detail), v, len);
	} else if (strcmp(path, "ocspgate.mode") == 0 && str) {
		suggest_copy(ev->mode, sizeof(ev->mode), v, len);
	} else if (strcmp(path, "source.ip") == 0 && str) {
		suggest_copy(ev->source_ip, sizeof(ev->source_ip), v, len);
	} else if (strcmp(path, "destination.domain") == 0 && str) {
		r->domain_long = len > SUGGEST_HOST_MAX;
		suggest_copy(r->domain, sizeof(r->domain), v, len);
	} else if (strcmp(path, "destination.ip") == 0 && str) {
		suggest_copy(r->ip, sizeof(r->ip), v, len);
	} else if (strcmp(path, "destination.port") == 0 &&
	    type == JSON_READ_NUMBER) {
		unsigned long n = 0;
		size_t i;

		for (i = 0; i < len && i < 6 && isdigit((unsigned char)v[i]);
		     i++)
			n = n * 10 + (unsigned long)(v[i] - '0');
		ev->port = i == len && n >= 1 && n <= 65535 ? (unsigned)n : 0;
	} else if (strcmp(path, "url.path") == 0 && str) {
		suggest_copy(ev->path, sizeof(ev->path), v, len);
	}
}

int
suggest_parse_line(const char *line, size_t len, char *scratch,
    size_t scratch_cap, struct suggest_event *ev)
{
	struct suggest_read r;
	size_t i = 0;

	memset(ev, 0, sizeof(*ev));
	ev->verified = -1;
	memset(&r, 0, sizeof(r));
	r.ev = ev;
	while (i < len &&
	    (line[i] == ' ' || line[i] == '\t' || line[i] == '\r' ||
	        line[i] == '\n'))
		i++;
	if (i == len || line[i] != '{' ||
	    json_read(line, len, scratch, scratch_cap, suggest_on_scalar, &r) ==
	        -1) {
		memset(ev, 0, sizeof(*ev));
		ev->verified = -1;
		return -1;
	}
	/* An address literal host is written as destination.ip alone. */
	if (r.domain[0] != '\0') {
		memcpy(ev->host, r.domain, sizeof(ev->host));
		ev->host_too_long = r.domain_long;
	} else {
		suggest_copy(ev->host, sizeof(ev->host), r.ip, strlen(r.ip));
	}
	return ev->request && ev->candidate != CANDIDATE_NONE ? 1 : 0;
}

/* Gathering. */

/* FNV-1a, never 0 (a free slot). */
static uint64_t
suggest_hash(const char *s, size_t len, uint64_t seed)
{
	uint64_t h = hash_fnv1a64(HASH_FNV64_INIT ^ seed, s, len);

	return h != 0 ? h : 1;
}

struct suggest *
suggest_new(void)
{
	return calloc(1, sizeof(struct suggest));
}

void
suggest_free(struct suggest *sg)
{
	if (sg == NULL)
		return;
	for (size_t i = 0; i < sg->nhosts; i++)
		free(sg->hosts[i].sources);
	free(sg->hosts);
	free(sg->index);
	free(sg);
}

/*
 * <host> in the form the config keeps: lowercase, without a trailing
 * dot, an IPv6 literal in its canonical text, written into <out>.
 * Returns false for a name the config would not take as a plain host:
 * only DNS labels (letters, digits, '-', at most 63 each) whose last is
 * not all digits unless the whole is an IPv4 address, or an IPv6 one.
 */
static bool
suggest_host_norm(const char *host, char *out, size_t cap)
{
	size_t len = strlen(host), label = 0;
	bool numeric = true;
	struct in6_addr a6;
	struct in_addr a4;

	if (strchr(host, ':') != NULL)
		return cap >= INET6_ADDRSTRLEN &&
		    inet_pton(AF_INET6, host, &a6) == 1 &&
		    inet_ntop(AF_INET6, &a6, out, (socklen_t)cap) != NULL;
	if (len > 0 && host[len - 1] == '.')
		len--;
	if (len == 0 || len >= cap || len > SUGGEST_HOST_MAX)
		return false;
	for (size_t i = 0; i < len; i++) {
		unsigned char c =
		    (unsigned char)tolower((unsigned char)host[i]);

		out[i] = (char)c;
		if (c == '.') {
			if (label == 0 || out[i - 1] == '-')
				return false;
			label = 0;
			numeric = true;
			continue;
		}
		if (!(isalnum(c) || (c == '-' && label > 0)) || ++label > 63)
			return false;
		numeric = numeric && isdigit(c);
	}
	out[len] = '\0';
	if (out[len - 1] == '-')
		return false;
	return !numeric || inet_pton(AF_INET, out, &a4) == 1;
}

/* Finds or adds the host; NULL when the table is full or out of memory. */
static struct suggest_host *
suggest_host_get(struct suggest *sg, enum candidate_class cls, const char *host,
    uint16_t port, bool *oom)
{
	uint64_t h =
	    suggest_hash(host, strlen(host), (uint64_t)cls << 16 | port);
	struct suggest_host *e;
	size_t i;

	if (sg->index_cap > 0) {
		for (i = h & (sg->index_cap - 1); sg->index[i] != 0;
		     i = (i + 1) & (sg->index_cap - 1)) {
			e = &sg->hosts[sg->index[i] - 1];
			if (e->cls == cls && e->port == port &&
			    strcmp(e->host, host) == 0)
				return e;
		}
	}
	if (sg->nhosts == SUGGEST_MAX_HOSTS)
		return NULL;
	/* Keep the index at most half full. */
	if ((sg->nhosts + 1) * 2 > sg->index_cap) {
		size_t cap =
		    sg->index_cap > 0 ? sg->index_cap * 2 : SUGGEST_INDEX_MIN;
		size_t *index = calloc(cap, sizeof(*index));

		if (index == NULL)
			goto oom;
		for (size_t k = 0; k < sg->nhosts; k++) {
			struct suggest_host *o = &sg->hosts[k];
			uint64_t oh = suggest_hash(o->host, strlen(o->host),
			    (uint64_t)o->cls << 16 | o->port);

			for (i = oh & (cap - 1); index[i] != 0;
			     i = (i + 1) & (cap - 1))
				;
			index[i] = k + 1;
		}
		free(sg->index);
		sg->index = index;
		sg->index_cap = cap;
	}
	if (sg->nhosts == sg->hosts_cap) {
		size_t cap = sg->hosts_cap > 0 ? sg->hosts_cap * 2 : 16;
		struct suggest_host *more =
		    realloc(sg->hosts, cap * sizeof(*more));

		if (more == NULL)
			goto oom;
		sg->hosts = more;
		sg->hosts_cap = cap;
	}
	e = &sg->hosts[sg->nhosts];
	memset(e, 0, sizeof(*e));
	e->cls = cls;
	e->port = port;
	snprintf(e->host, sizeof(e->host), "%s", host);
	for (i = h & (sg->index_cap - 1); sg->index[i] != 0;
	     i = (i + 1) & (sg->index_cap - 1))
		;
	sg->index[i] = ++sg->nhosts;
	return e;
oom:
	*oom = true;
	return NULL;
}

/* Counts <ip> among the host's sources. Returns -1 when out of memory. */
static int
suggest_source(struct suggest_host *e, const char *ip)
{
	uint64_t h = suggest_hash(ip, strlen(ip), 0);
	size_t i;

	if (e->sources_cap > 0) {
		for (i = h & (e->sources_cap - 1); e->sources[i] != 0;
		     i = (i + 1) & (e->sources_cap - 1)) {
			if (e->sources[i] == h)
				return 0;
		}
	}
	if (e->nsources == SUGGEST_MAX_SOURCES) {
		e->sources_over = true;
		return 0;
	}
	if ((e->nsources + 1) * 2 > e->sources_cap) {
		size_t cap = e->sources_cap > 0 ? e->sources_cap * 2 : 16;
		uint64_t *set = calloc(cap, sizeof(*set));

		if (set == NULL)
			return -1;
		for (size_t k = 0; k < e->sources_cap; k++) {
			if (e->sources[k] == 0)
				continue;
			for (i = e->sources[k] & (cap - 1); set[i] != 0;
			     i = (i + 1) & (cap - 1))
				;
			set[i] = e->sources[k];
		}
		free(e->sources);
		e->sources = set;
		e->sources_cap = cap;
	}
	for (i = h & (e->sources_cap - 1); e->sources[i] != 0;
	     i = (i + 1) & (e->sources_cap - 1))
		;
	e->sources[i] = h;
	e->nsources++;
	return 0;
}

/* Widens the first/last span [first, last] to take <t> ("" ignored). */
static void
suggest_span(char *first, char *last, const char *t)
{
	if (t[0] == '\0')
		return;
	if (first[0] == '\0' || strcmp(t, first) < 0)
		snprintf(first, SUGGEST_TIME_MAX, "%s", t);
	if (last[0] == '\0' || strcmp(t, last) > 0)
		snprintf(last, SUGGEST_TIME_MAX, "%s", t);
}

/*
 * Narrows the host's common directory to what <path> shares with it, at
 * a segment boundary ("/pki/crl/a.crl" and "/pki/crl/b.crl": "/pki/crl").
 */
static void
suggest_dir(struct suggest_host *e, const char *path)
{
	const char *slash = strrchr(path, '/');
	size_t n = slash != NULL ? (size_t)(slash - path) : 0, k = 0;

	if (path[0] != '/')
		n = 0;
	if (!e->dir_set) {
		suggest_copy(e->dir, sizeof(e->dir), path, n);
		e->dir_set = true;
		return;
	}
	while (k < n && e->dir[k] != '\0' && e->dir[k] == path[k])
		k++;
	/* Back to a boundary unless one side ends exactly there. */
	if (!((e->dir[k] == '\0' && (k == n || path[k] == '/')) ||
	        (k == n && e->dir[k] == '/'))) {
		while (k > 0 && e->dir[k] != '/')
			k--;
	}
	e->dir[k] = '\0';
}

/* "<a>: <b>" into <dst> (<cap>), truncated. */
static void
suggest_join(char *dst, size_t cap, const char *a, const char *b)
{
	size_t n = strlen(a);

	suggest_copy(dst, cap, a, n);
	if (n + 2 < cap) {
		memcpy(dst + n, ": ", 2);
		suggest_copy(dst + n + 2, cap - n - 2, b, strlen(b));
	}
}

static bool
suggest_is(const char *s, const char *want)
{
	return strcmp(s, want) == 0;
}

int
suggest_add_line(struct suggest *sg, const char *line, size_t len)
{
	struct suggest_event ev;
	struct suggest_host *e;
	char host[SUGGEST_HOST_MAX + 1];
	char *scratch;
	bool oom = false;
	int rc;

	if ((scratch = malloc(len + 1)) == NULL)
		return -2;
	rc = suggest_parse_line(line, len, scratch, len + 1, &ev);
	free(scratch);
	sg->lines++;
	if (rc == -1) {
		sg->unreadable++;
		return -1;
	}
	suggest_span(sg->first, sg->last, ev.timestamp);
	if (rc == 0)
		return 0;
	sg->candidates++;
	if (ev.host_too_long ||
	    !suggest_host_norm(ev.host, host, sizeof(host))) {
		sg->unusable++;
		return 1;
	}
	e = suggest_host_get(sg, ev.candidate, host,
	    (uint16_t)(ev.port != 0 ? ev.port : CONFIG_DEFAULT_PORT), &oom);
	if (e == NULL) {
		if (oom) {
			sg->lines--;
			sg->candidates--;
			return -2;
		}
		sg->dropped++;
		return 1;
	}
	if (ev.source_ip[0] != '\0' && suggest_source(e, ev.source_ip) == -1)
		return -2;
	e->requests++;
	suggest_span(e->first, e->last, ev.timestamp);
	if (suggest_is(ev.answer, "valid")) {
		e->valid++;
	} else if (suggest_is(ev.answer, "upstream_unreachable") ||
	    suggest_is(ev.answer, "upstream_timeout")) {
		e->transport++;
		suggest_join(e->transport_why, sizeof(e->transport_why),
		    ev.answer, ev.detail);
	} else if (ev.answer[0] != '\0') {
		e->failed++;
		suggest_join(
		    e->failure, sizeof(e->failure), ev.answer, ev.detail);
	} else if (suggest_is(ev.mode, "enforce")) {
		e->enforced++;
	}
	if (ev.verified != -1) {
		e->checked++;
		if (ev.verified == 1)
			e->verified++;
		else
			snprintf(e->unverified, sizeof(e->unverified), "%s",
			    ev.candidate_detail);
	}
	if (ev.candidate != CANDIDATE_OCSP && ev.path[0] != '\0')
		suggest_dir(e, ev.path);
	return 1;
}

/* Writing the snippet. */

struct suggest_buf {
	char *p;
	size_t len;
	size_t cap;
	bool failed;
};

static void __attribute__((format(printf, 2, 3)))
suggest_printf(struct suggest_buf *b, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (b->failed)
		return;
	va_start(ap, fmt);
	n = vsnprintf(b->p + b->len, b->cap - b->len, fmt, ap);
	va_end(ap);
	if (n < 0) {
		b->failed = true;
		return;
	}
	if ((size_t)n >= b->cap - b->len) {
		size_t cap = b->cap;
		char *more;

		while ((size_t)n >= cap - b->len)
			cap *= 2;
		if ((more = realloc(b->p, cap)) == NULL) {
			b->failed = true;
			return;
		}
		b->p = more;
		b->cap = cap;
		va_start(ap, fmt);
		n = vsnprintf(b->p + b->len, b->cap - b->len, fmt, ap);
		va_end(ap);
		if (n < 0) {
			b->failed = true;
			return;
		}
	}
	b->len += (size_t)n;
}

/*
 * <s> fit for a '#' comment: printable ASCII, anything else as '?', at
 * most SUGGEST_COMMENT bytes ("..." marks a cut).
 */
static const char *
suggest_clean(const char *s, char *out, size_t cap)
{
	size_t n = 0;

	for (; *s != '\0' && n + 1 < cap; s++, n++) {
		unsigned char c = (unsigned char)*s;

		if (n == SUGGEST_COMMENT && n + 4 < cap) {
			memcpy(out + n, "...", 3);
			n += 3;
			break;
		}
		out[n] = c >= 0x20 && c < 0x7f ? (char)c : '?';
	}
	out[n] = '\0';
	return out;
}

static const char *const suggest_lists[CANDIDATE_MAX] = {
    [CANDIDATE_OCSP] = "responders",
    [CANDIDATE_CRL] = "crl_hosts",
    [CANDIDATE_CA_ISSUER] = "ca_issuer_hosts",
    [CANDIDATE_CTL] = "ctl_hosts",
};

/* The config's list for <cls>. */
static const struct responder *
suggest_config_list(
    const struct config *cfg, enum candidate_class cls, size_t *n)
{
	switch (cls) {
	case CANDIDATE_OCSP:
		*n = cfg->nresponders;
		return cfg->responders;
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

/*
 * The entry of <cfg> that lists the host for its class and port: one
 * without a path if there is one (the host is then left out), else one
 * with a path, or NULL.
 */
static const struct responder *
suggest_listed(const struct config *cfg, const struct suggest_host *e)
{
	const struct responder *list, *with_path = NULL;
	size_t n;

	if (cfg == NULL)
		return NULL;
	list = suggest_config_list(cfg, e->cls, &n);
	for (size_t i = 0; i < n; i++) {
		if (list[i].port != e->port ||
		    !policy_host_matches(&list[i], e->host, strlen(e->host)))
			continue;
		if (list[i].path_len == 0)
			return &list[i];
		if (with_path == NULL)
			with_path = &list[i];
	}
	return with_path;
}

/* The entry text: host, [v6], with ":port" unless 80. */
static void
suggest_spec(const struct suggest_host *e, char *out, size_t cap)
{
	bool v6 = strchr(e->host, ':') != NULL;

	if (e->port == CONFIG_DEFAULT_PORT)
		snprintf(out, cap, v6 ? "[%s]" : "%s", e->host);
	else
		snprintf(out, cap, v6 ? "[%s]:%u" : "%s:%u", e->host,
		    (unsigned)e->port);
}

/*
 * Why the host is not suggested, into <why>; "" when it is: every
 * judged answer passed inspection, every checked signature verified,
 * at least one did, and its class has a signature to check.
 */
static void
suggest_verdict(const struct suggest_host *e, const struct responder *listed,
    char *why, size_t cap)
{
	char a[SUGGEST_COMMENT + 8];

	why[0] = '\0';
	if (listed != NULL)
		snprintf(why, cap,
		    "listed only with a path prefix (\"%s\"); these requests "
		    "fall outside it",
		    suggest_clean(listed->spec, a, sizeof(a)));
	else if (e->failed > 0)
		snprintf(why, cap,
		    "%" PRIu64 " of %" PRIu64
		    " answers failed inspection, the last: %s",
		    e->failed, e->failed + e->valid,
		    suggest_clean(e->failure, a, sizeof(a)));
	else if (e->valid == 0 && e->transport > 0)
		snprintf(why, cap, "no answer to judge, the last try: %s",
		    suggest_clean(e->transport_why, a, sizeof(a)));
	else if (e->valid == 0 && e->enforced == e->requests)
		snprintf(why, cap,
		    "refused in enforce mode: no answer to judge (run in "
		    "monitor mode to gather evidence)");
	else if (e->valid == 0)
		snprintf(why, cap, "no answer to judge");
	else if (e->cls == CANDIDATE_CTL)
		snprintf(why, cap,
		    "trust lists carry no signature ocspgate checks: list "
		    "the host only if it is Microsoft's");
	else if (e->checked == 0)
		snprintf(why, cap,
		    "no signed answer to verify (every answer was an error "
		    "status)");
	else if (e->verified < e->checked)
		snprintf(why, cap,
		    "signature not verified in %" PRIu64 " of %" PRIu64
		    " answers: %s",
		    e->checked - e->verified, e->checked,
		    suggest_clean(e->unverified, a, sizeof(a)));
}

/* "# N requests from N sources, FIRST .. LAST; answers ...". */
static void
suggest_figures(
    struct suggest_buf *b, const struct suggest_host *e, const char *indent)
{
	char a[SUGGEST_COMMENT + 8];

	suggest_printf(b,
	    "%s# %" PRIu64 " request%s from %zu%s source%s, %s .. %s;\n",
	    indent, e->requests, e->requests == 1 ? "" : "s", e->nsources,
	    e->sources_over ? "+" : "",
	    e->nsources == 1 && !e->sources_over ? "" : "s",
	    e->first[0] != '\0' ? e->first : "?",
	    e->last[0] != '\0' ? e->last : "?");
	suggest_printf(b, "%s#   answers: %" PRIu64 " valid", indent, e->valid);
	if (e->failed > 0)
		suggest_printf(b, ", %" PRIu64 " failed", e->failed);
	if (e->transport > 0)
		suggest_printf(b, ", %" PRIu64 " unreachable", e->transport);
	if (e->enforced > 0)
		suggest_printf(
		    b, ", %" PRIu64 " refused (enforce)", e->enforced);
	if (e->checked > 0)
		suggest_printf(b,
		    "; signature verified in %" PRIu64 " of %" PRIu64,
		    e->verified, e->checked);
	if (e->dir_set && e->dir[0] != '\0')
		suggest_printf(
		    b, "; paths under %s", suggest_clean(e->dir, a, sizeof(a)));
	suggest_printf(b, "\n");
}

/* Order: class, then most requests first, then host and port. */
static int
suggest_cmp(const void *pa, const void *pb)
{
	const struct suggest_host *a = *(const struct suggest_host *const *)pa;
	const struct suggest_host *b = *(const struct suggest_host *const *)pb;
	int c;

	if (a->cls != b->cls)
		return a->cls < b->cls ? -1 : 1;
	if (a->requests != b->requests)
		return a->requests > b->requests ? -1 : 1;
	if ((c = strcmp(a->host, b->host)) != 0)
		return c;
	return a->port < b->port ? -1 : a->port > b->port;
}

/* What was gathered: first the counts, then how to use the snippet. */
static void
suggest_header(struct suggest_buf *b, const struct suggest *sg,
    size_t nsuggested, size_t nlisted)
{
	suggest_printf(b,
	    "# ocspgate -S: %" PRIu64 " event line%s read (%" PRIu64
	    " unreadable), %s .. %s\n",
	    sg->lines, sg->lines == 1 ? "" : "s", sg->unreadable,
	    sg->first[0] != '\0' ? sg->first : "?",
	    sg->last[0] != '\0' ? sg->last : "?");
	suggest_printf(b,
	    "# %" PRIu64 " candidate request%s to %zu host%s; %zu suggested, "
	    "%zu already listed (left out)\n",
	    sg->candidates, sg->candidates == 1 ? "" : "s", sg->nhosts,
	    sg->nhosts == 1 ? "" : "s", nsuggested, nlisted);
	if (sg->unusable > 0)
		suggest_printf(b,
		    "# %" PRIu64 " candidate request%s named a host no list "
		    "can hold (left out)\n",
		    sg->unusable, sg->unusable == 1 ? "" : "s");
	if (sg->dropped > 0)
		suggest_printf(b,
		    "# %" PRIu64 " candidate request%s past %d hosts not "
		    "counted\n",
		    sg->dropped, sg->dropped == 1 ? "" : "s",
		    SUGGEST_MAX_HOSTS);
	suggest_printf(b,
	    "#\n"
	    "# A host is suggested when every answer ocspgate judged passed "
	    "inspection\n"
	    "# and every signature it checked verified against the trust "
	    "store. Review\n"
	    "# each entry, add it to the list of the same name in the "
	    "configuration\n"
	    "# (into the existing list if there is one), check with "
	    "`ocspgate -t`, then\n"
	    "# reload with SIGHUP.\n");
}

int
suggest_format(const struct suggest *sg, const struct config *cfg, char **out,
    size_t *out_len)
{
	struct suggest_buf b = {.p = NULL, .len = 0, .cap = 4096};
	const struct suggest_host **v = NULL;
	const struct responder **listed = NULL;
	char *why = NULL;
	size_t nsuggested = 0, nlisted = 0, nother = 0;
	char spec[SUGGEST_HOST_MAX + 16];
	int rc = -1;

	*out = NULL;
	*out_len = 0;
	if ((b.p = malloc(b.cap)) == NULL)
		return -1;
	b.p[0] = '\0';
	if (sg->nhosts > 0 &&
	    ((v = calloc(sg->nhosts, sizeof(*v))) == NULL ||
	        (listed = calloc(sg->nhosts, sizeof(*listed))) == NULL ||
	        (why = calloc(sg->nhosts, SUGGEST_TEXT_MAX * 2)) == NULL))
		goto done;
	for (size_t i = 0; i < sg->nhosts; i++)
		v[i] = &sg->hosts[i];
	if (sg->nhosts > 0)
		qsort(v, sg->nhosts, sizeof(*v), suggest_cmp);
	for (size_t i = 0; i < sg->nhosts; i++) {
		char *w = why + i * SUGGEST_TEXT_MAX * 2;

		listed[i] = suggest_listed(cfg, v[i]);
		if (listed[i] != NULL && listed[i]->path_len == 0) {
			nlisted++;
			w[0] = '-'; /* left out */
			continue;
		}
		suggest_verdict(v[i], listed[i], w, SUGGEST_TEXT_MAX * 2);
		if (w[0] == '\0')
			nsuggested++;
		else
			nother++;
	}
	suggest_header(&b, sg, nsuggested, nlisted);
	for (unsigned cls = CANDIDATE_OCSP; cls < CANDIDATE_MAX; cls++) {
		size_t n = 0, k = 0;

		for (size_t i = 0; i < sg->nhosts; i++)
			n += v[i]->cls == cls &&
			    why[i * SUGGEST_TEXT_MAX * 2] == '\0';
		if (n == 0)
			continue;
		suggest_printf(&b, "\n%s = (\n", suggest_lists[cls]);
		for (size_t i = 0; i < sg->nhosts; i++) {
			if (v[i]->cls != cls ||
			    why[i * SUGGEST_TEXT_MAX * 2] != '\0')
				continue;
			suggest_figures(&b, v[i], "\t");
			suggest_spec(v[i], spec, sizeof(spec));
			suggest_printf(
			    &b, "\t\"%s\"%s\n", spec, ++k < n ? "," : "");
		}
		suggest_printf(&b, ");\n");
	}
	if (nother > 0) {
		suggest_printf(&b,
		    "\n# Not suggested: look closer before listing any of "
		    "these.\n");
		for (size_t i = 0; i < sg->nhosts; i++) {
			const char *w = why + i * SUGGEST_TEXT_MAX * 2;

			if (w[0] == '\0' || w[0] == '-')
				continue;
			suggest_spec(v[i], spec, sizeof(spec));
			suggest_printf(&b, "#\n# %s: \"%s\"\n",
			    suggest_lists[v[i]->cls], spec);
			suggest_figures(&b, v[i], "");
			suggest_printf(&b, "#   not suggested: %s\n", w);
		}
	}
	if (sg->nhosts == 0)
		suggest_printf(&b,
		    "\n# No candidate in these lines: nothing to suggest.\n");
	if (b.failed)
		goto done;
	*out = b.p;
	*out_len = b.len;
	b.p = NULL;
	rc = 0;
done:
	free(b.p);
	free(v);
	free(listed);
	free(why);
	return rc;
}
