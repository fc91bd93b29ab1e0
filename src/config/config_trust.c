/*
 * The trust store: ca_file, each responder's store of the CAs it may
 * answer for (verify_responses), the bundle candidates' answers are
 * checked against (monitor mode), and the CAs whose CRL and trust-list
 * signatures can be checked. Part of the config loader (config.c).
 */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include <libconfig.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "ocspgate/config.h"

#include "config_ctx.h"

/* ca_file: a PEM bundle of CAs trusted to sign OCSP responses. */
void
config_parse_ca_file(struct config_ctx *ctx, const config_setting_t *s)
{
	const char *v;
	char *path;
	FILE *f = NULL;
	X509 *x;
	unsigned long e;
	int fd;

	if ((v = config_get_string(ctx, s)) == NULL)
		return;
	if ((path = config_resolve(ctx, v)) == NULL) {
		config_oom(ctx, s);
		return;
	}
	free(ctx->c->ca_file);
	ctx->c->ca_file = path;
	if ((fd = config_open_regular(path, CONFIG_MAX_CA_FILE_BYTES)) == -1 ||
	    (f = fdopen(fd, "r")) == NULL) {
		config_error(ctx, s, "ca_file: cannot read %s: %s", path,
		    config_strerror(errno));
		if (fd != -1)
			close(fd);
		return;
	}
	if (ctx->c->ca_certs == NULL &&
	    (ctx->c->ca_certs = sk_X509_new_null()) == NULL) {
		config_oom(ctx, s);
		fclose(f);
		return;
	}
	ERR_clear_error();
	while ((x = PEM_read_X509(f, NULL, NULL, NULL)) != NULL) {
		if (sk_X509_push(ctx->c->ca_certs, x) == 0) {
			X509_free(x);
			config_oom(ctx, s);
			break;
		}
	}
	e = ERR_peek_last_error();
	if (e != 0 &&
	    !(ERR_GET_LIB(e) == ERR_LIB_PEM &&
	        ERR_GET_REASON(e) == PEM_R_NO_START_LINE))
		config_error(ctx, s, "ca_file: bad certificate in %s: %s", path,
		    ERR_reason_error_string(e) != NULL
		        ? ERR_reason_error_string(e)
		        : "unknown error");
	else if (sk_X509_num(ctx->c->ca_certs) == 0)
		config_error(ctx, s, "ca_file: no certificate in %s", path);
	ERR_clear_error();
	fclose(f);
}

/*
 * With verify_responses, each responder gets a store of the CAs it may
 * answer for: ca_file plus its own issuers.
 */
/*
 * Adds <x> to the responder's store and to its list of trusted
 * certificates: OCSP_basic_verify() finds a signer only among the
 * response's certificates and that list, not in the store, so a
 * response signed by the CA itself without its certificate needs it.
 */
static void
config_trust(struct responder *r, X509 *x)
{
	X509_STORE_add_cert(r->store, x);
	if (X509_up_ref(x) == 1 && sk_X509_push(r->trusted, x) == 0)
		X509_free(x);
}

void
config_build_stores(struct config_ctx *ctx)
{
	struct config *c = ctx->c;

	if (!c->verify_responses || ctx->nerrors > 0)
		return;
	for (size_t i = 0; i < c->nresponders; i++) {
		struct responder *r = &c->responders[i];
		int n = 0;

		if ((r->store = X509_STORE_new()) == NULL) {
			config_error_at(
			    ctx, NULL, (unsigned)r->line, "out of memory");
			return;
		}
		if ((r->trusted = sk_X509_new_null()) == NULL) {
			config_error_at(
			    ctx, NULL, (unsigned)r->line, "out of memory");
			return;
		}
		for (int k = 0; k < sk_X509_num(c->ca_certs); k++, n++)
			config_trust(r, sk_X509_value(c->ca_certs, k));
		for (int k = 0; k < sk_X509_num(r->issuer_certs); k++, n++)
			config_trust(r, sk_X509_value(r->issuer_certs, k));
		if (n == 0)
			config_error_at(ctx, NULL, (unsigned)r->line,
			    "responders: '%s': verify_responses needs ca_file "
			    "or issuers to trust",
			    r->spec);
	}
}

/*
 * Reads every PEM certificate of <path> into *out (created). Returns 0,
 * or -1 with a short text in *why (the file is unreadable, holds no
 * certificate or a bad one).
 */
static int
config_read_cas(const char *path, STACK_OF(X509) * *out, const char **why)
{
	FILE *f = NULL;
	X509 *x;
	int fd;

	if ((fd = config_open_regular(path, CONFIG_MAX_CA_FILE_BYTES)) == -1 ||
	    (f = fdopen(fd, "r")) == NULL) {
		*why = config_strerror(errno);
		if (fd != -1)
			close(fd);
		return -1;
	}
	if ((*out = sk_X509_new_null()) == NULL) {
		fclose(f);
		*why = "out of memory";
		return -1;
	}
	ERR_set_mark();
	while ((x = PEM_read_X509(f, NULL, NULL, NULL)) != NULL) {
		if (sk_X509_push(*out, x) == 0) {
			X509_free(x);
			break;
		}
	}
	ERR_pop_to_mark();
	fclose(f);
	if (sk_X509_num(*out) > 0)
		return 0;
	*why = "no certificate";
	return -1;
}

/*
 * In monitor mode a request to an unlisted host that is a well-formed
 * status request (a candidate) is forwarded, and its answer's signature
 * is checked against ca_file, or the system bundle when ca_file is not
 * set. Without a readable bundle candidates are reported unverified:
 * that is noted, not an error.
 */
void
config_build_candidate_trust(struct config_ctx *ctx)
{
	struct config *c = ctx->c;
	const char *path = c->ca_file, *why = NULL;
	STACK_OF(X509) *cas = NULL;

	if (c->mode != MODE_MONITOR || ctx->nerrors > 0)
		return;
	if (c->ca_certs != NULL) {
		cas = X509_chain_up_ref(c->ca_certs);
	} else {
		path = CONFIG_DEFAULT_CA_FILE;
		if (config_read_cas(path, &cas, &why) == -1) {
			sk_X509_pop_free(cas, X509_free);
			config_note(ctx,
			    "candidates: no trust store (%s: %s); their "
			    "answers are not verified",
			    path, why);
			return;
		}
	}
	if (cas == NULL || (c->candidate_store = X509_STORE_new()) == NULL) {
		sk_X509_pop_free(cas, X509_free);
		config_error(ctx, NULL, "out of memory");
		return;
	}
	for (int i = 0; i < sk_X509_num(cas); i++)
		X509_STORE_add_cert(c->candidate_store, sk_X509_value(cas, i));
	c->candidate_cas = cas;
	config_note(ctx,
	    "candidates: answers checked against %d certificates of %s",
	    sk_X509_num(cas), path);
}

/*
 * Keeps <x> (a reference) in <*list> when it is a CA: its CRLs and trust
 * lists can then be checked against it.
 */
void
config_keep_ca(struct config_ctx *ctx, const config_setting_t *s,
    STACK_OF(X509) * *list, X509 *x)
{
	if (X509_check_ca(x) == 0)
		return;
	if ((*list == NULL && (*list = sk_X509_new_null()) == NULL) ||
	    X509_up_ref(x) != 1) {
		config_oom(ctx, s);
		return;
	}
	if (sk_X509_push(*list, x) == 0) {
		X509_free(x);
		config_oom(ctx, s);
	}
}

/*
 * known_cas and known_store: ca_file, the CAs of pki_certs and every
 * responder's issuers, each once.
 */
void
config_collect_known_cas(struct config_ctx *ctx)
{
	struct config *c = ctx->c;
	STACK_OF(X509) * from[3] = {c->ca_certs, c->pki_cas, NULL};

	if (ctx->nerrors > 0)
		return;
	for (size_t i = 0; i <= c->nresponders; i++) {
		from[2] =
		    i < c->nresponders ? c->responders[i].issuer_certs : NULL;
		for (size_t k = 0; k < 3; k++) {
			for (int j = 0; j < sk_X509_num(from[k]); j++) {
				X509 *x = sk_X509_value(from[k], j);
				bool seen = false;

				for (int m = 0;
				     !seen && m < sk_X509_num(c->known_cas);
				     m++)
					seen = X509_cmp(x,
					           sk_X509_value(
					               c->known_cas, m)) == 0;
				if (!seen)
					config_keep_ca(
					    ctx, NULL, &c->known_cas, x);
			}
		}
		/* ca_file and pki_certs once, with the first responder. */
		from[0] = from[1] = NULL;
	}
	if (sk_X509_num(c->known_cas) == 0)
		return;
	if ((c->known_store = X509_STORE_new()) == NULL) {
		config_oom(ctx, NULL);
		return;
	}
	for (int j = 0; j < sk_X509_num(c->known_cas); j++)
		X509_STORE_add_cert(
		    c->known_store, sk_X509_value(c->known_cas, j));
}
