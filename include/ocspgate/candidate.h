/*
 * Candidates: a request to a host no list names that is nevertheless a
 * well-formed certificate-status request of one class (OCSP, CRL, issuer
 * certificate, trust list), and the evidence its answer gives that the
 * host is what it seems (a signature that verifies against the trust
 * store). Which class a request is a candidate of is policy.c's to say
 * (policy_decide(): the class that would allow it were its host listed
 * there), so that one set of rules decides both; this module names the
 * classes and checks the evidence. Pure: certificates and bytes in, a
 * verdict out; no I/O, no globals.
 */
#ifndef OCSPGATE_CANDIDATE_H
#define OCSPGATE_CANDIDATE_H

#include <stdbool.h>
#include <stddef.h>

#include <openssl/x509.h>

#include "ocspgate/reason.h"

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
