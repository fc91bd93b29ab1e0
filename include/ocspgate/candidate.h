/*
 * Candidates: a request to a host no list names that is nevertheless a
 * well-formed certificate-status request of one class (OCSP, CRL, issuer
 * certificate, trust list), and the evidence its answer gives that the
 * host is what it seems (a signature that verifies against the trust
 * store). Pure: bytes and certificates in, a class or a verdict out; no
 * I/O, no globals.
 */
#ifndef OCSPGATE_CANDIDATE_H
#define OCSPGATE_CANDIDATE_H

#include <stdbool.h>
#include <stddef.h>

#include <openssl/x509.h>

#include "ocspgate/http_request.h"
#include "ocspgate/ocsp_request.h"
#include "ocspgate/reason.h"

#define CANDIDATE_PATH_MAX        256 /* CRL, issuer, trust-list paths */
#define CANDIDATE_PATH_SEGMENTS   8
#define CANDIDATE_POST_PATH_MAX   64 /* an AIA path a browser POSTs to */
#define CANDIDATE_PREFIX_MAX      64 /* a GET's path before the base64 */
#define CANDIDATE_PREFIX_SEGMENTS 3

enum candidate_class {
	CANDIDATE_NONE = 0,
	CANDIDATE_OCSP,
	CANDIDATE_CRL,
	CANDIDATE_CA_ISSUER,
	CANDIDATE_CTL,
	CANDIDATE_MAX
};

/* "ocsp", "crl", "ca_issuer", "ctl"; NULL for CANDIDATE_NONE. */
const char *candidate_class_name(enum candidate_class c);

/* The class named by <len> bytes at <name>, or CANDIDATE_NONE. */
enum candidate_class candidate_class_from_name(const char *name, size_t len);

/*
 * The reason a listed host of the class would have allowed the request
 * with (REASON_OCSP_REQUEST, ...), which also says how its answer is
 * judged; REASON_NONE for CANDIDATE_NONE.
 */
enum reason candidate_reason(enum candidate_class c);

/* A request, as far as classifying it needs. */
struct candidate_input {
	bool get;  /* a GET */
	bool post; /* a POST; neither: never a candidate */
	const char *path;
	size_t path_len;
	bool has_query;
	const char *content_type; /* NULL when absent */
	size_t content_type_len;
	const unsigned char *body;
	size_t body_len;
};

/*
 * Decides whether <in> is a well-formed request of one class, as a
 * listed host of that class would see it:
 * - OCSP: a POST of Content-Type application/ocsp-request to a short
 *   AIA-shaped path, or a GET whose path is [prefix]/<base64 DER> with a
 *   prefix of at most CANDIDATE_PREFIX_SEGMENTS short AIA-shaped
 *   segments; either way the DER passes ocsp_request_inspect() with
 *   <max_nonce_bytes>;
 * - trust list: a GET of a file fetch_ctl_file() names;
 * - CRL: a GET of a path ending in ".crl";
 * - issuer certificate: a GET of a path ending in ".crt", ".cer",
 *   ".der", ".p7c" or ".p7b";
 * fetch-class paths are at most CANDIDATE_PATH_MAX bytes of a CDP/AIA
 * alphabet, no query and no body.
 * <der> (<der_cap> bytes) is scratch for a GET's decoded DER; it may be
 * the buffer <in->body> points to only when the request has no body.
 * <facts> must be zeroed by the caller; for CANDIDATE_OCSP it holds the
 * request's facts (as ocsp_request_inspect() leaves them, with the GET
 * flags), otherwise it is left zeroed.
 * Returns the class, or CANDIDATE_NONE.
 */
enum candidate_class candidate_classify(const struct candidate_input *in,
    size_t max_nonce_bytes, unsigned char *der, size_t der_cap,
    struct ocsp_request_facts *facts);

/*
 * candidate_classify() on a complete, parsed request <req>.
 */
enum candidate_class candidate_of_request(const struct http_request *req,
    size_t max_nonce_bytes, unsigned char *der, size_t der_cap,
    struct ocsp_request_facts *facts);

/*
 * The evidence an answer gives, once its inspection (ocsp_response.c,
 * fetch.c) accepted it. Each returns true when the signature verifies
 * against the trust store, else false with *detail set to a short static
 * text. <store> and <cas> hold the same trusted certificates (NULL when
 * there is no trust store: false, "no trust store").
 *
 * candidate_verify_ocsp: a successful OCSP answer of <len> DER bytes
 * whose signature OCSP_basic_verify() accepts, and whose signer is a CA
 * or carries id-kp-OCSPSigning: a response signed with an ordinary
 * certificate's key, for a certificate ID that names that certificate as
 * issuer, proves nothing.
 * candidate_verify_crl: one DER or PEM CRL signed by a certificate of
 * <cas> named as its issuer.
 * candidate_verify_cert: a DER or PEM certificate, or the first
 * certificate of a certs-only PKCS#7, signed by a CA of <cas> named as
 * its issuer.
 * OpenSSL's error queue is left as it was found.
 */
bool candidate_verify_ocsp(const unsigned char *der, size_t len,
    X509_STORE *store, STACK_OF(X509) * cas, const char **detail);
bool candidate_verify_crl(const unsigned char *body, size_t len,
    STACK_OF(X509) * cas, const char **detail);
bool candidate_verify_cert(const unsigned char *body, size_t len,
    STACK_OF(X509) * cas, const char **detail);

#endif
