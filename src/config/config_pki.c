/*
 * `pki_certs`: the enterprise PKI's certificates, read for the URLs in
 * their AIA and CDP extensions (each http:// one a host of its class)
 * and for their CAs. Part of the config loader (config.c).
 */
#include <glob.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <libconfig.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "ocspgate/config.h"

#include "config_ctx.h"

/*
 * pki_certs: certificates of the enterprise PKI, whose AIA and CDP
 * extensions name the endpoints Windows will fetch. Each http:// URL
 * becomes an entry of the matching class; an OCSP responder learned
 * from a certificate is bound to that certificate's issuer when the
 * issuer is among the loaded certificates.
 */

/* A loaded certificate and the file it came from. */
struct config_pki_cert {
	X509 *x;
	const char *file;
};

/*
 * Turns "http://host[:port]/path" into a responder spec: the whole path
 * for OCSP (<dir> false), its directory for CRLs and certificates, so
 * that the next CRL or a delta CRL beside it also passes. Returns 0, or
 * -1 for URLs ocspgate does not serve (https, ldap, odd ones).
 */
static int
config_url_spec(const ASN1_IA5STRING *uri, bool dir, char *out, size_t len)
{
	const char *p, *slash, *last;
	char url[512];
	int n = ASN1_STRING_length(uri);

	if (n <= 0 || (size_t)n >= sizeof(url))
		return -1;
	memcpy(url, ASN1_STRING_get0_data(uri), (size_t)n);
	url[n] = '\0';
	if (strlen(url) != (size_t)n || strncasecmp(url, "http://", 7) != 0)
		return -1;
	p = url + 7;
	slash = strchr(p, '/');
	if (slash == NULL || slash == p || strpbrk(p, "?#@ ") != NULL)
		return -1;
	last = dir ? strrchr(slash, '/') : p + strlen(p);
	if ((size_t)(last - p) >= len)
		return -1;
	/* "host/" and "host/ocsp/" as "host" and "host/ocsp". */
	while (last > slash && last[-1] == '/')
		last--;
	memcpy(out, p, (size_t)(last - p));
	out[last - p] = '\0';
	return 0;
}

/* Adds <spec> to a class list unless it is there; returns the entry. */
static struct responder *
config_learn(struct config_ctx *ctx, const config_setting_t *s,
    struct responder **list, size_t *count, const char *spec, const char *what,
    const char *file)
{
	struct responder *more, *r;
	char msg[256];

	for (size_t i = 0; i < *count; i++) {
		if (strcmp((*list)[i].spec, spec) == 0)
			return &(*list)[i];
	}
	if ((more = realloc(*list, (*count + 1) * sizeof(*more))) == NULL) {
		config_oom(ctx, s);
		return NULL;
	}
	*list = more;
	r = &more[*count];
	memset(r, 0, sizeof(*r));
	if (config_parse_responder(spec, r, msg, sizeof(msg)) == -1)
		return NULL; /* a URL we cannot match: left out */
	r->line = (int)config_setting_source_line(s);
	(*count)++;
	config_note(ctx, "learned %s %s from %s", what, spec, file);
	return r;
}

/* Binds learned responder <r> to issuer certificate <ca>. */
static void
config_bind_issuer(struct config_ctx *ctx, const config_setting_t *s,
    struct responder *r, X509 *ca)
{
	struct ocsp_issuer *more;

	for (int i = 0; i < sk_X509_num(r->issuer_certs); i++) {
		if (X509_cmp(sk_X509_value(r->issuer_certs, i), ca) == 0)
			return;
	}
	more = realloc(r->issuers, (r->nissuers + 1) * sizeof(*more));
	if (more == NULL) {
		config_oom(ctx, s);
		return;
	}
	r->issuers = more;
	if (ocsp_issuer_from_cert(ca, &r->issuers[r->nissuers]) == -1)
		return;
	if ((r->issuer_certs == NULL &&
	        (r->issuer_certs = sk_X509_new_null()) == NULL) ||
	    X509_up_ref(ca) != 1 || sk_X509_push(r->issuer_certs, ca) == 0) {
		config_oom(ctx, s);
		return;
	}
	r->nissuers++;
	{
		char name[256];

		X509_NAME_oneline(
		    X509_get_subject_name(ca), name, sizeof(name));
		config_note(
		    ctx, "bound responder %s to issuer %s", r->spec, name);
	}
}

/* The loaded certificate that issued <x>, or NULL. */
static X509 *
config_find_issuer(struct config_pki_cert *certs, size_t n, X509 *x)
{
	for (size_t i = 0; i < n; i++) {
		if (X509_check_issued(certs[i].x, x) == X509_V_OK)
			return certs[i].x;
	}
	return NULL;
}

static void
config_learn_from(struct config_ctx *ctx, const config_setting_t *s,
    struct config_pki_cert *certs, size_t n, size_t k)
{
	struct config *c = ctx->c;
	X509 *x = certs[k].x;
	AUTHORITY_INFO_ACCESS *aia;
	CRL_DIST_POINTS *cdp;
	char spec[512];

	aia = X509_get_ext_d2i(x, NID_info_access, NULL, NULL);
	for (int i = 0; i < sk_ACCESS_DESCRIPTION_num(aia); i++) {
		ACCESS_DESCRIPTION *ad = sk_ACCESS_DESCRIPTION_value(aia, i);
		int nid = OBJ_obj2nid(ad->method);
		const ASN1_IA5STRING *url;
		struct responder *r;
		X509 *ca;

		if (ad->location->type != GEN_URI)
			continue;
		url = ad->location->d.uniformResourceIdentifier;
		if (nid == NID_ad_OCSP &&
		    config_url_spec(url, false, spec, sizeof(spec)) == 0) {
			r = config_learn(ctx, s, &c->responders,
			    &c->nresponders, spec, "responder", certs[k].file);
			ca = config_find_issuer(certs, n, x);
			if (r != NULL && ca != NULL)
				config_bind_issuer(ctx, s, r, ca);
		} else if (nid == NID_ad_ca_issuers &&
		    config_url_spec(url, true, spec, sizeof(spec)) == 0) {
			config_learn(ctx, s, &c->ca_issuer_hosts,
			    &c->nca_issuer_hosts, spec, "ca_issuer_host",
			    certs[k].file);
		}
	}
	AUTHORITY_INFO_ACCESS_free(aia);
	cdp = X509_get_ext_d2i(x, NID_crl_distribution_points, NULL, NULL);
	for (int i = 0; i < sk_DIST_POINT_num(cdp); i++) {
		DIST_POINT *dp = sk_DIST_POINT_value(cdp, i);

		if (dp->distpoint == NULL || dp->distpoint->type != 0)
			continue;
		for (int g = 0;
		     g < sk_GENERAL_NAME_num(dp->distpoint->name.fullname);
		     g++) {
			GENERAL_NAME *gn = sk_GENERAL_NAME_value(
			    dp->distpoint->name.fullname, g);

			if (gn->type != GEN_URI)
				continue;
			if (config_url_spec(gn->d.uniformResourceIdentifier,
			        true, spec, sizeof(spec)) == 0)
				config_learn(ctx, s, &c->crl_hosts,
				    &c->ncrl_hosts, spec, "crl_host",
				    certs[k].file);
		}
	}
	CRL_DIST_POINTS_free(cdp);
}

/* Reads every certificate of <path> into <*certs>. Returns -1 (reported). */
static int
config_pki_read(struct config_ctx *ctx, const config_setting_t *s,
    const char *path, struct config_pki_cert **certs, size_t *n)
{
	FILE *f = NULL;
	X509 *x;
	size_t before = *n;
	int fd;

	if ((fd = config_open_regular(path, CONFIG_MAX_PEM_BYTES)) == -1 ||
	    (f = fdopen(fd, "r")) == NULL) {
		config_error(ctx, s, "pki_certs: cannot read %s: %s", path,
		    config_strerror(errno));
		if (fd != -1)
			close(fd);
		return -1;
	}
	ERR_clear_error();
	while ((x = PEM_read_X509(f, NULL, NULL, NULL)) != NULL) {
		struct config_pki_cert *more =
		    realloc(*certs, (*n + 1) * sizeof(**certs));

		if (more == NULL) {
			X509_free(x);
			config_oom(ctx, s);
			break;
		}
		*certs = more;
		(*certs)[*n].x = x;
		(*certs)[*n].file = path;
		(*n)++;
	}
	ERR_clear_error();
	fclose(f);
	if (*n == before) {
		config_error(ctx, s, "pki_certs: no certificate in %s", path);
		return -1;
	}
	return 0;
}

void
config_parse_pki_certs(struct config_ctx *ctx, const config_setting_t *s)
{
	struct config_pki_cert *certs = NULL;
	char **paths = NULL;
	size_t n = 0, npaths = 0;
	int count;

	if (!config_check_strings(ctx, s, "file patterns"))
		return;
	count = config_setting_length(s);
	for (int i = 0; i < count; i++) {
		const config_setting_t *e = config_elem(s, i);
		char *pattern =
		    config_resolve(ctx, config_setting_get_string(e));
		glob_t g;
		int rc;

		if (pattern == NULL) {
			config_oom(ctx, e);
			break;
		}
		rc = glob(pattern, 0, NULL, &g);
		if (rc == GLOB_NOMATCH) {
			config_error(
			    ctx, e, "pki_certs: no file matches %s", pattern);
		} else if (rc != 0) {
			config_error(
			    ctx, e, "pki_certs: cannot read %s", pattern);
		} else {
			for (size_t k = 0; k < g.gl_pathc; k++) {
				char **more = realloc(
				    paths, (npaths + 1) * sizeof(*paths));

				if (more == NULL) {
					config_oom(ctx, e);
					break;
				}
				paths = more;
				if ((paths[npaths] = strdup(g.gl_pathv[k])) ==
				    NULL) {
					config_oom(ctx, e);
					break;
				}
				config_pki_read(
				    ctx, e, paths[npaths++], &certs, &n);
			}
			globfree(&g);
		}
		free(pattern);
	}
	for (size_t k = 0; k < n; k++)
		config_learn_from(ctx, s, certs, n, k);
	for (size_t k = 0; k < n; k++)
		config_keep_ca(ctx, s, &ctx->c->pki_cas, certs[k].x);
	for (size_t k = 0; k < n; k++)
		X509_free(certs[k].x);
	free(certs);
	for (size_t k = 0; k < npaths; k++)
		free(paths[k]);
	free(paths);
}
