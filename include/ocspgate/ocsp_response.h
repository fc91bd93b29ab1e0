/*
 * OCSP response inspection: the DER body of an upstream's answer to an
 * allowed OCSP request, checked against that request, and the facts the
 * event log needs. Pure: no I/O, no clock, no globals.
 */
#ifndef OCSPGATE_OCSP_RESPONSE_H
#define OCSPGATE_OCSP_RESPONSE_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#include <openssl/x509.h>

#include "ocspgate/ocsp_request.h"
#include "ocspgate/reason.h"

#define OCSP_RESPONSE_MAX_CERTS        OCSP_REQUEST_MAX_CERTS
#define OCSP_RESPONSE_MAX_SIGNER_CERTS 4  /* the signer and its issuers */
#define OCSP_RESPONSE_TIME_LEN         21 /* "2026-11-26T19:00:00Z" + NUL */
#define OCSP_RESPONDER_NAME_MAX        256

enum ocsp_cert_status {
	OCSP_CERT_GOOD = 0,
	OCSP_CERT_REVOKED,
	OCSP_CERT_UNKNOWN
};

/* "good", "revoked", "unknown". */
const char *ocsp_cert_status_name(enum ocsp_cert_status s);

/* One SingleResponse. Times are UTC, RFC 3339, "" when absent. */
struct ocsp_single_facts {
	unsigned char serial[OCSP_SERIAL_MAX_BYTES]; /* magnitude */
	size_t serial_len;
	enum ocsp_cert_status status;
	char this_update[OCSP_RESPONSE_TIME_LEN];
	char next_update[OCSP_RESPONSE_TIME_LEN];
	char revocation_time[OCSP_RESPONSE_TIME_LEN];
	const char *revocation_reason; /* RFC 5280 name, NULL if none */
};

struct ocsp_response_facts {
	bool parsed; /* the DER decoded: status is valid */
	int status;  /* OCSP_RESPONSE_STATUS_* (0..6) */
	bool basic;  /* a BasicOCSPResponse was read */
	char produced_at[OCSP_RESPONSE_TIME_LEN];
	/* responderID: byName (RFC 2253 text) or byKey (SHA-1, hex). */
	char responder_name[OCSP_RESPONDER_NAME_MAX];
	unsigned char responder_key_hash[20];
	bool by_key;
	size_t ncerts;
	struct ocsp_single_facts certs[OCSP_RESPONSE_MAX_CERTS];
	bool has_nonce;
	unsigned unknown_extensions; /* in its certificates, bounded */
	time_t min_next_update;      /* earliest nextUpdate, 0 if none */
	const char *detail;          /* static text on why it was refused */
	/* Set by the caller once ocsp_response_verify() passed: kept with
	 * the facts (the cache stores them), never set by the inspection. */
	bool verified;
};

/*
 * "successful", "malformedRequest", "internalError", "tryLater",
 * "sigRequired", "unauthorized" (RFC 6960 names), or "unknown".
 */
const char *ocsp_response_status_name(int status);

/*
 * Inspects <len> bytes of DER as the answer to the request described by
 * <req>: d2i_OCSP_RESPONSE of exactly <len> bytes, canonical DER
 * (re-encodes to the same bytes), a known responseStatus; for
 * "successful": a parsable BasicOCSPResponse with 1..8 SingleResponses,
 * each about a certificate ID <req> asked for (hash algorithm, both
 * hashes and serial equal), and, where both the request and the
 * response carry a nonce, equal nonces. A non-successful status
 * (tryLater, say) with no responseBytes is well formed.
 * <f> is zeroed and filled as far as parsing got.
 * Returns REASON_NONE, or REASON_RESPONSE_MALFORMED with f->detail set.
 */
enum reason ocsp_response_inspect(const unsigned char *der, size_t len,
    const struct ocsp_request_facts *req, struct ocsp_response_facts *f);

struct memo;

/*
 * ocsp_response_inspect() remembering the judgment of each certificate
 * in the answer by its exact bytes in <memo> (NULL: none; its values
 * sizeof(struct pkix_judged), see pkix_cert_judge()): a responder sends
 * the same certificate with every answer.
 */
enum reason ocsp_response_inspect_memo(const unsigned char *der, size_t len,
    const struct ocsp_request_facts *req, struct memo *memo,
    struct ocsp_response_facts *f);

/*
 * ocsp_response_inspect_memo() in one pass over the bytes, nothing
 * decoded by OpenSSL but each certificate the first time <memo> sees
 * it: when the answer is DER throughout and of the shapes genuine
 * responders write, returns 0 with *verdict and <f> exactly as
 * ocsp_response_inspect() gives them. Otherwise (BER, singleExtensions,
 * a responder name or a time in a form it does not print, a signer told
 * only by a decoded name comparison) returns -1 with <f> zeroed: the
 * full inspection, which decodes with OpenSSL, decides, and
 * ocsp_response_inspect_memo() hands it over by itself.
 */
int ocsp_response_inspect_fast(const unsigned char *der, size_t len,
    const struct ocsp_request_facts *req, struct memo *memo,
    struct ocsp_response_facts *f, enum reason *verdict);

/*
 * Verifies the signature of a successful response (already inspected)
 * with OCSP_basic_verify() against <store> (trusted CAs), with <certs>
 * (may be NULL) as extra untrusted certificates to find the signer.
 * Returns REASON_NONE, or REASON_RESPONSE_UNVERIFIED with *detail set.
 */
enum reason ocsp_response_verify(const unsigned char *der, size_t len,
    X509_STORE *store, STACK_OF(X509) * certs, const char **detail);

#endif
