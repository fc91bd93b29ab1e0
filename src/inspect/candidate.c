/*
 * Candidates: the names of their classes, and whether a candidate's
 * answer's signature verifies against the trust store. Which class a
 * request is a candidate of is policy.c's judgment, not this file's.
 * Pure: no I/O, no logging, no globals; OpenSSL's error queue is left as
 * it was found.
 */
#include <ctype.h>
#include <limits.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/ocsp.h>
#include <openssl/pem.h>
#include <openssl/pkcs7.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "ocspgate/candidate.h"
#include "ocspgate/ocsp_response.h"

#define CANDIDATE_PEM_BEGIN "-----BEGIN "

static const char *const candidate_names[CANDIDATE_MAX] = {
    [CANDIDATE_NONE] = NULL,
    [CANDIDATE_OCSP] = "ocsp",
    [CANDIDATE_CRL] = "crl",
    [CANDIDATE_CA_ISSUER] = "ca_issuer",
    [CANDIDATE_CTL] = "ctl",
};

static const enum reason candidate_reasons[CANDIDATE_MAX] = {
    [CANDIDATE_NONE] = REASON_NONE,
    [CANDIDATE_OCSP] = REASON_OCSP_REQUEST,
    [CANDIDATE_CRL] = REASON_CRL_REQUEST,
    [CANDIDATE_CA_ISSUER] = REASON_CA_ISSUER_REQUEST,
    [CANDIDATE_CTL] = REASON_CTL_REQUEST,
};

const char *
candidate_class_name(enum candidate_class c)
{
	if ((unsigned)c >= CANDIDATE_MAX)
		return NULL;
	return candidate_names[c];
}

enum candidate_class
candidate_class_from_name(const char *name, size_t len)
{
	for (unsigned c = CANDIDATE_NONE + 1; c < CANDIDATE_MAX; c++) {
		if (strlen(candidate_names[c]) == len &&
		    memcmp(candidate_names[c], name, len) == 0)
			return (enum candidate_class)c;
	}
	return CANDIDATE_NONE;
}

enum reason
candidate_reason(enum candidate_class c)
{
	if ((unsigned)c >= CANDIDATE_MAX)
		return REASON_NONE;
	return candidate_reasons[c];
}

/* Evidence from the answer. */

/*
 * The DER inside <body>: <body> itself, or the data of the PEM block it
 * holds (then *owned is set and the caller OPENSSL_free()s it). Returns
 * NULL when a PEM block does not decode.
 */
static const unsigned char *
candidate_der(const unsigned char *body, size_t *len, unsigned char **owned)
{
	const size_t begin = sizeof(CANDIDATE_PEM_BEGIN) - 1;
	const unsigned char *p = body;
	size_t n = *len;
	BIO *mem = NULL;
	char *name = NULL, *header = NULL;
	unsigned char *data = NULL;
	long data_len = 0;

	*owned = NULL;
	while (n > 0 && isspace(*p)) {
		p++;
		n--;
	}
	if (n < begin || memcmp(p, CANDIDATE_PEM_BEGIN, begin) != 0)
		return body;
	if (n <= INT_MAX && (mem = BIO_new_mem_buf(p, (int)n)) != NULL &&
	    PEM_read_bio_ex(mem, &name, &header, &data, &data_len,
	        PEM_FLAG_ONLY_B64) == 1 &&
	    data_len > 0) {
		*owned = data;
		*len = (size_t)data_len;
		data = NULL;
	}
	OPENSSL_free(data);
	OPENSSL_free(header);
	OPENSSL_free(name);
	BIO_free(mem);
	return *owned;
}

/*
 * True when a certificate of <cas> named <issuer> is a CA whose key
 * verifies the object: <verify> is X509_CRL_verify() or X509_verify()
 * applied to <obj>. Sets *detail otherwise.
 */
static bool
candidate_signed_by(STACK_OF(X509) * cas, const X509_NAME *issuer,
    int (*verify)(void *, EVP_PKEY *), void *obj, const char **detail)
{
	bool named = false;

	for (int i = 0; i < sk_X509_num(cas); i++) {
		X509 *ca = sk_X509_value(cas, i);
		EVP_PKEY *key;

		if (X509_NAME_cmp(X509_get_subject_name(ca), issuer) != 0)
			continue;
		named = true;
		if (X509_check_ca(ca) < 1 ||
		    (key = X509_get0_pubkey(ca)) == NULL)
			continue;
		if (verify(obj, key) == 1)
			return true;
	}
	*detail = named ? "signature does not verify"
	                : "issuer not in the trust store";
	return false;
}

static int
candidate_crl_verify(void *crl, EVP_PKEY *key)
{
	return X509_CRL_verify(crl, key);
}

static int
candidate_x509_verify(void *x, EVP_PKEY *key)
{
	return X509_verify(x, key);
}

bool
candidate_verify_ocsp(const unsigned char *der, size_t len, X509_STORE *store,
    STACK_OF(X509) * cas, const char **detail)
{
	const char *why = NULL;

	if (store == NULL) {
		*detail = "no trust store";
		return false;
	}
	/*
	 * ocsp_response_verify() holds the signer to RFC 6960 4.2.2.2: the
	 * certificate ID's issuer only when it is a CA, else a responder
	 * with OCSPSigning that the issuer certified.
	 */
	if (ocsp_response_verify(der, len, store, cas, &why) != REASON_NONE) {
		*detail = why != NULL ? why : "response does not verify";
		return false;
	}
	*detail = NULL;
	return true;
}

bool
candidate_verify_crl(const unsigned char *body, size_t len,
    STACK_OF(X509) * cas, const char **detail)
{
	unsigned char *owned = NULL;
	const unsigned char *der, *p;
	X509_CRL *crl = NULL;
	bool ok = false;

	if (cas == NULL) {
		*detail = "no trust store";
		return false;
	}
	ERR_set_mark();
	*detail = "not a CRL";
	if ((der = candidate_der(body, &len, &owned)) == NULL || len > LONG_MAX)
		goto done;
	p = der;
	if ((crl = d2i_X509_CRL(NULL, &p, (long)len)) != NULL)
		ok = candidate_signed_by(cas, X509_CRL_get_issuer(crl),
		    candidate_crl_verify, crl, detail);
done:
	X509_CRL_free(crl);
	OPENSSL_free(owned);
	ERR_pop_to_mark();
	if (ok)
		*detail = NULL;
	return ok;
}

bool
candidate_verify_cert(const unsigned char *body, size_t len,
    STACK_OF(X509) * cas, const char **detail)
{
	unsigned char *owned = NULL;
	const unsigned char *der, *p;
	X509 *x = NULL, *first = NULL;
	PKCS7 *p7 = NULL;
	bool ok = false;

	if (cas == NULL) {
		*detail = "no trust store";
		return false;
	}
	ERR_set_mark();
	*detail = "not a certificate";
	if ((der = candidate_der(body, &len, &owned)) == NULL || len > LONG_MAX)
		goto done;
	p = der;
	if ((x = d2i_X509(NULL, &p, (long)len)) != NULL) {
		first = x;
	} else {
		p = der;
		if ((p7 = d2i_PKCS7(NULL, &p, (long)len)) != NULL &&
		    PKCS7_type_is_signed(p7) && p7->d.sign != NULL &&
		    sk_X509_num(p7->d.sign->cert) > 0)
			first = sk_X509_value(p7->d.sign->cert, 0);
	}
	if (first != NULL)
		ok = candidate_signed_by(cas, X509_get_issuer_name(first),
		    candidate_x509_verify, first, detail);
done:
	X509_free(x);
	PKCS7_free(p7);
	OPENSSL_free(owned);
	ERR_pop_to_mark();
	if (ok)
		*detail = NULL;
	return ok;
}
