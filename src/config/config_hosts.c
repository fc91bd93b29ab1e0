/*
 * The hosts of each class (responders, crl_hosts, ca_issuer_hosts,
 * ctl_hosts), as specs "host[:port][/path]" or groups with the issuers
 * a responder may answer for (PEM files, read here). Part of the config
 * loader (config.c).
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <libconfig.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "ocspgate/config.h"

#include "config_ctx.h"

#define CONFIG_HOST_MAX  253 /* RFC 1035 2.3.4 */
#define CONFIG_LABEL_MAX 63

/*
 * Checks a host name (already lowercased, without "*." and trailing dot):
 * labels of letters, digits and '-', none empty or over 63 characters,
 * and a name ending in a numeric label must be a valid IPv4 address.
 * Returns 0, or -1 with a message.
 */
static int
config_check_host(const char *host, bool wildcard, char *err, size_t errlen)
{
	size_t label = 0, n = strlen(host);
	bool numeric = true, last_numeric = false;
	struct in_addr a;

	if (n == 0) {
		snprintf(err, errlen, "empty host");
		return -1;
	}
	if (n > CONFIG_HOST_MAX) {
		snprintf(err, errlen, "host longer than %d characters",
		    CONFIG_HOST_MAX);
		return -1;
	}
	for (size_t i = 0; i <= n; i++) {
		unsigned char c = (unsigned char)host[i];

		if (c == '.' || c == '\0') {
			if (label == 0) {
				snprintf(err, errlen, "empty label in host");
				return -1;
			}
			if (label > CONFIG_LABEL_MAX) {
				snprintf(err, errlen,
				    "label longer than %d characters in host",
				    CONFIG_LABEL_MAX);
				return -1;
			}
			last_numeric = numeric;
			label = 0;
			numeric = true;
			continue;
		}
		label++;
		if (c >= '0' && c <= '9')
			continue;
		numeric = false;
		if ((c >= 'a' && c <= 'z') || c == '-')
			continue;
		if (c == '*')
			snprintf(err, errlen,
			    "'*' is allowed only as the whole "
			    "first label ('*.example.net')");
		else if (c >= 0x20 && c < 0x7f)
			snprintf(err, errlen, "bad character '%c' in host", c);
		else
			snprintf(err, errlen, "bad byte 0x%02x in host", c);
		return -1;
	}
	if (last_numeric) {
		if (inet_pton(AF_INET, host, &a) != 1) {
			snprintf(
			    err, errlen, "'%s' is not an IPv4 address", host);
			return -1;
		}
		if (wildcard) {
			snprintf(err, errlen,
			    "a wildcard cannot apply to an IP address");
			return -1;
		}
	}
	return 0;
}

int
config_parse_responder(
    const char *spec, struct responder *r, char *err, size_t errlen)
{
	const char *p = spec, *host, *host_end, *port, *path = NULL;
	char v6[INET6_ADDRSTRLEN + 1], *h;
	struct in6_addr a6;
	size_t plen = 0;

	r->spec = r->host = r->path = NULL;
	r->wildcard = false;
	r->port = CONFIG_DEFAULT_PORT;
	r->path_len = 0;

	if (*p == '\0') {
		snprintf(err, errlen, "empty responder");
		return -1;
	}
	if (*p == '[') {
		host = p + 1;
		if ((host_end = strchr(host, ']')) == NULL) {
			snprintf(err, errlen, "missing ']' after IPv6 address");
			return -1;
		}
		p = host_end + 1;
	} else {
		host = p;
		while (*p != '\0' && *p != ':' && *p != '/')
			p++;
		host_end = p;
	}
	if (*p == ':') {
		port = ++p;
		while (*p != '\0' && *p != '/')
			p++;
		if (!config_parse_port(port, (size_t)(p - port), 1, &r->port)) {
			snprintf(err, errlen, "port must be 1..65535");
			return -1;
		}
	}
	if (*p == '/') {
		path = p;
		for (; *p != '\0'; p++) {
			unsigned char c = (unsigned char)*p;

			if (c == '?' || c == '#') {
				snprintf(err, errlen,
				    "'%c' is not allowed in a path prefix", c);
				return -1;
			}
			if (c <= 0x20 || c >= 0x7f) {
				snprintf(err, errlen,
				    "bad byte 0x%02x in path prefix", c);
				return -1;
			}
		}
		/* "/ocsp/" matches as "/ocsp", and "/" as no prefix. */
		plen = (size_t)(p - path);
		while (plen > 0 && path[plen - 1] == '/')
			plen--;
	} else if (*p != '\0') {
		snprintf(err, errlen, "unexpected '%c' after the host", *p);
		return -1;
	}

	if (*spec == '[') {
		size_t n = (size_t)(host_end - host);

		if (n >= sizeof(v6)) {
			snprintf(err, errlen, "not an IPv6 address in '[]'");
			return -1;
		}
		memcpy(v6, host, n);
		v6[n] = '\0';
		if (inet_pton(AF_INET6, v6, &a6) != 1) {
			snprintf(
			    err, errlen, "'%s' is not an IPv6 address", v6);
			return -1;
		}
		/* Stored canonical and without brackets: "::1". */
		inet_ntop(AF_INET6, &a6, v6, sizeof(v6));
		h = strdup(v6);
	} else {
		if (host_end - host >= 2 && host[0] == '*' && host[1] == '.') {
			r->wildcard = true;
			host += 2;
		}
		/* One trailing dot is the root: "example.net." */
		if (host_end > host && host_end[-1] == '.')
			host_end--;
		h = strndup(host, (size_t)(host_end - host));
	}
	if (h == NULL)
		goto oom;
	for (char *c = h; *c != '\0'; c++)
		if (*c >= 'A' && *c <= 'Z')
			*c = (char)(*c - 'A' + 'a');
	if (*spec != '[' &&
	    config_check_host(h, r->wildcard, err, errlen) == -1) {
		free(h);
		r->wildcard = false;
		return -1;
	}
	r->host = h;
	r->path = strndup(path != NULL ? path : "", plen);
	r->spec = strdup(spec);
	if (r->path == NULL || r->spec == NULL)
		goto oom;
	r->path_len = plen;
	return 0;
oom:
	free(r->host);
	free(r->path);
	free(r->spec);
	r->spec = r->host = r->path = NULL;
	r->wildcard = false;
	snprintf(err, errlen, "out of memory");
	return -1;
}

void
config_free_responder(struct responder *r)
{
	free(r->spec);
	free(r->host);
	free(r->path);
	free(r->issuers);
	sk_X509_pop_free(r->issuer_certs, X509_free);
	sk_X509_pop_free(r->trusted, X509_free);
	X509_STORE_free(r->store);
	memset(r, 0, sizeof(*r));
}

/*
 * Reads every certificate of PEM file <name> (named in the `issuers`
 * setting <s>) into r->issuers. A file without any certificate, or with a
 * broken one, is an error. Returns 0 or -1 (reported).
 */
static int
config_load_issuer_file(struct config_ctx *ctx, const config_setting_t *s,
    const char *name, struct responder *r)
{
	struct ocsp_issuer *more;
	unsigned long e;
	size_t found = 0;
	char *path;
	FILE *f = NULL;
	X509 *x;
	int fd, rc = -1;

	if ((path = config_resolve(ctx, name)) == NULL) {
		config_oom(ctx, s);
		return -1;
	}
	if ((fd = config_open_regular(path, CONFIG_MAX_PEM_BYTES)) == -1 ||
	    (f = fdopen(fd, "r")) == NULL) {
		config_error(ctx, s, "issuers: cannot read %s: %s", path,
		    config_strerror(errno));
		if (fd != -1)
			close(fd);
		goto done;
	}
	ERR_clear_error();
	while ((x = PEM_read_X509(f, NULL, NULL, NULL)) != NULL) {
		more = realloc(r->issuers, (r->nissuers + 1) * sizeof(*more));
		if (more == NULL) {
			X509_free(x);
			config_oom(ctx, s);
			goto done;
		}
		r->issuers = more;
		if (ocsp_issuer_from_cert(x, &r->issuers[r->nissuers]) == -1) {
			X509_free(x);
			config_error(ctx, s,
			    "issuers: cannot hash certificate %zu of %s",
			    found + 1, path);
			goto done;
		}
		/* Kept whole too: they are trust anchors for verification. */
		if ((r->issuer_certs == NULL &&
		        (r->issuer_certs = sk_X509_new_null()) == NULL) ||
		    sk_X509_push(r->issuer_certs, x) == 0) {
			X509_free(x);
			config_oom(ctx, s);
			goto done;
		}
		r->nissuers++;
		found++;
	}
	/* The loop ends on "no start line" at the end of the file. */
	e = ERR_peek_last_error();
	if (ferror(f)) {
		config_error(ctx, s, "issuers: cannot read %s: %s", path,
		    strerror(errno));
	} else if (e != 0 &&
	    !(ERR_GET_LIB(e) == ERR_LIB_PEM &&
	        ERR_GET_REASON(e) == PEM_R_NO_START_LINE)) {
		config_error(ctx, s, "issuers: bad certificate in %s: %s", path,
		    ERR_reason_error_string(e) != NULL
		        ? ERR_reason_error_string(e)
		        : "unknown error");
	} else if (found == 0) {
		config_error(ctx, s, "issuers: no certificate in %s", path);
	} else {
		rc = 0;
	}
done:
	ERR_clear_error();
	if (f != NULL)
		fclose(f);
	free(path);
	return rc;
}

/*
 * One `responders` entry in object form: { host = "..."; issuers = [...]; }.
 * Returns 0 with <r> filled, or -1 (reported; <r> freed).
 */
static int
config_parse_responder_group(
    struct config_ctx *ctx, const config_setting_t *g, struct responder *r)
{
	const config_setting_t *host = NULL, *issuers = NULL;
	const char *spec;
	char msg[256];
	unsigned errors = ctx->nerrors;
	int n = config_setting_length(g);

	for (int i = 0; i < n; i++) {
		const config_setting_t *m = config_elem(g, i);
		const char *name = config_setting_name(m);

		if (strcmp(name, "host") == 0)
			host = m;
		else if (strcmp(name, "issuers") == 0)
			issuers = m;
		else
			config_error(ctx, m,
			    "responders: unknown key '%s' (expected 'host' "
			    "or 'issuers')",
			    name);
	}
	if (host == NULL) {
		config_error(ctx, g, "responders: entry without 'host'");
	} else if ((spec = config_get_string(ctx, host)) != NULL &&
	    config_parse_responder(spec, r, msg, sizeof(msg)) == -1) {
		config_error(ctx, host, "responders: '%s': %s", spec, msg);
	}
	if (issuers != NULL && config_check_strings(ctx, issuers, "files")) {
		if ((n = config_setting_length(issuers)) == 0)
			config_error(ctx, issuers,
			    "'issuers' is empty (leave it out to allow any "
			    "issuer)");
		for (int i = 0; i < n; i++)
			config_load_issuer_file(ctx, issuers,
			    config_setting_get_string(config_elem(issuers, i)),
			    r);
	}
	if (ctx->nerrors != errors) {
		config_free_responder(r);
		return -1;
	}
	r->line = (int)config_setting_source_line(g);
	return 0;
}

static void
config_parse_host_list(struct config_ctx *ctx, const config_setting_t *s,
    struct responder **list, size_t *count)
{
	const char *what = config_setting_name(s);
	char msg[256];
	int n;

	/* An array holds scalars of one type: each is checked below. */
	if (config_setting_type(s) != CONFIG_TYPE_LIST &&
	    config_setting_type(s) != CONFIG_TYPE_ARRAY) {
		config_error(
		    ctx, s, "'%s' must be a list of strings and groups", what);
		return;
	}
	/* An empty list is valid: everything is then blocked. */
	if ((n = config_setting_length(s)) == 0)
		return;
	/* Appended: pki_certs may have learned entries already. */
	{
		struct responder *more =
		    realloc(*list, (*count + (size_t)n) * sizeof(**list));

		if (more == NULL) {
			config_oom(ctx, s);
			return;
		}
		memset(more + *count, 0, (size_t)n * sizeof(*more));
		*list = more;
	}
	for (int i = 0; i < n; i++) {
		const config_setting_t *e = config_elem(s, i);
		struct responder *r = &(*list)[*count];
		const char *spec;

		switch (config_setting_type(e)) {
		case CONFIG_TYPE_STRING:
			spec = config_setting_get_string(e);
			if (config_parse_responder(spec, r, msg, sizeof(msg)) ==
			    -1) {
				config_error(
				    ctx, e, "%s: '%s': %s", what, spec, msg);
				continue;
			}
			r->line = (int)config_setting_source_line(e);
			break;
		case CONFIG_TYPE_GROUP:
			if (config_parse_responder_group(ctx, e, r) == -1)
				continue;
			break;
		default:
			config_error(ctx, e,
			    "%s: an entry must be a string or a group", what);
			continue;
		}
		(*count)++;
	}
}

void
config_parse_responders(struct config_ctx *ctx, const config_setting_t *s)
{
	config_parse_host_list(
	    ctx, s, &ctx->c->responders, &ctx->c->nresponders);
}

void
config_parse_crl_hosts(struct config_ctx *ctx, const config_setting_t *s)
{
	config_parse_host_list(ctx, s, &ctx->c->crl_hosts, &ctx->c->ncrl_hosts);
}

void
config_parse_ca_issuer_hosts(struct config_ctx *ctx, const config_setting_t *s)
{
	config_parse_host_list(
	    ctx, s, &ctx->c->ca_issuer_hosts, &ctx->c->nca_issuer_hosts);
}

void
config_parse_ctl_hosts(struct config_ctx *ctx, const config_setting_t *s)
{
	config_parse_host_list(ctx, s, &ctx->c->ctl_hosts, &ctx->c->nctl_hosts);
}
