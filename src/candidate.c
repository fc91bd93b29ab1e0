/*
 * Candidates: which class of certificate-status request a request to an
 * unlisted host is, if any, and whether its answer's signature verifies
 * against the trust store. Pure: no I/O, no logging, no globals;
 * OpenSSL's error queue is left as it was found.
 */
#include <ctype.h>
#include <limits.h>
#include <string.h>
#include <strings.h>

#include <openssl/err.h>
#include <openssl/ocsp.h>
#include <openssl/pem.h>
#include <openssl/pkcs7.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "ocspgate/candidate.h"
#include "ocspgate/fetch.h"
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

/* The endings of an issuer certificate's file (AIA caIssuers). */
static const char *const candidate_cert_suffixes[] = {
    ".crt", ".cer", ".der", ".p7c", ".p7b"};

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

/* The characters of an AIA path segment: RFC 3986 unreserved. */
static bool
candidate_aia_char(unsigned char c)
{
	return isalnum(c) || c == '-' || c == '.' || c == '_' || c == '~';
}

/*
 * The characters a CDP or AIA file path holds (AD CS writes "CA(1)+.crl"
 * for a delta CRL of a renewed key, and spaces as %20); not '?', '#',
 * '&', ';', quotes or anything outside printable ASCII.
 */
static bool
candidate_cdp_char(unsigned char c)
{
	return candidate_aia_char(c) || c == '%' || c == '+' || c == '(' ||
	    c == ')' || c == '!' || c == ',' || c == '=' || c == '@';
}

static bool
candidate_hex(unsigned char c)
{
	return isxdigit(c) != 0;
}

/*
 * True when <path> is a file path of a CDP or AIA URL: '/' and at most
 * CANDIDATE_PATH_SEGMENTS non-empty segments of the CDP alphabet (well-
 * formed percent escapes, no "." or ".."), CANDIDATE_PATH_MAX bytes in
 * all. Sets *last and *last_len to its last segment.
 */
static bool
candidate_fetch_path(
    const char *path, size_t len, const char **last, size_t *last_len)
{
	size_t seg = 1, nseg = 0;

	if (path == NULL || len < 2 || len > CANDIDATE_PATH_MAX ||
	    path[0] != '/')
		return false;
	for (size_t i = 1; i <= len; i++) {
		unsigned char c = i < len ? (unsigned char)path[i] : '/';

		if (c == '/') {
			size_t n = i - seg;

			if (n == 0 || ++nseg > CANDIDATE_PATH_SEGMENTS ||
			    (n == 1 && path[seg] == '.') ||
			    (n == 2 && path[seg] == '.' &&
			        path[seg + 1] == '.'))
				return false;
			*last = path + seg;
			*last_len = n;
			seg = i + 1;
			continue;
		}
		if (!candidate_cdp_char(c))
			return false;
		if (c == '%' &&
		    (i + 2 >= len ||
		        !candidate_hex((unsigned char)path[i + 1]) ||
		        !candidate_hex((unsigned char)path[i + 2])))
			return false;
	}
	return true;
}

/* True when <s> (<len> bytes) ends with <suffix>, any case. */
static bool
candidate_ends_with(const char *s, size_t len, const char *suffix)
{
	size_t n = strlen(suffix);

	/* Something must come before the ending: ".crl" names no file. */
	return len > n && strncasecmp(s + len - n, suffix, n) == 0;
}

/*
 * True for the path a browser POSTs an OCSP request to: the AIA URL's
 * path, "/" or a few short segments ("/gsrsaovsslca2018", "/ocsp/").
 */
static bool
candidate_post_path(const char *path, size_t len)
{
	size_t seg = 1;

	if (path == NULL || len == 0 || len > CANDIDATE_POST_PATH_MAX ||
	    path[0] != '/')
		return false;
	for (size_t i = 1; i < len; i++) {
		unsigned char c = (unsigned char)path[i];

		if (c == '/') {
			if (i == seg || (i - seg == 1 && path[seg] == '.') ||
			    (i - seg == 2 && path[seg] == '.' &&
			        path[seg + 1] == '.'))
				return false;
			seg = i + 1;
		} else if (!candidate_aia_char(c)) {
			return false;
		}
	}
	/* The last segment (may be empty: "/", "/ocsp/"). */
	return !((len - seg == 1 && path[seg] == '.') ||
	    (len - seg == 2 && path[seg] == '.' && path[seg + 1] == '.'));
}

/* True for "application/ocsp-request", parameters aside. */
static bool
candidate_ocsp_type(const char *ct, size_t len)
{
	static const char want[] = "application/ocsp-request";
	size_t n = sizeof(want) - 1;

	if (ct == NULL || len < n || strncasecmp(ct, want, n) != 0)
		return false;
	for (size_t i = n; i < len; i++) {
		if (ct[i] == ';')
			return true;
		if (ct[i] != ' ' && ct[i] != '\t')
			return false;
	}
	return true;
}

/*
 * Decodes <path> (from the '/' before the base64) and inspects the DER.
 * Returns true with <facts> filled, else false with <facts> zeroed.
 */
static bool
candidate_get_der(const char *path, size_t len, size_t max_nonce_bytes,
    unsigned char *der, size_t der_cap, struct ocsp_request_facts *facts)
{
	size_t der_len = 0;

	memset(facts, 0, sizeof(*facts));
	if (ocsp_request_decode_get(
	        path, len, der, der_cap, &der_len, &facts->flags) == 0 &&
	    ocsp_request_inspect(der, der_len, max_nonce_bytes, facts) ==
	        REASON_NONE)
		return true;
	memset(facts, 0, sizeof(*facts));
	return false;
}

/*
 * An OCSP GET: the whole path as base64 first, then after each of at
 * most CANDIDATE_PREFIX_SEGMENTS leading segments of the AIA alphabet
 * (RFC 6960 A.1 appends the request to the AIA URL, which may carry a
 * path). Base64 holds '/', so the first split that yields a well-formed
 * request wins.
 */
static bool
candidate_ocsp_get(const char *path, size_t len, size_t max_nonce_bytes,
    unsigned char *der, size_t der_cap, struct ocsp_request_facts *facts)
{
	size_t off = 0;

	for (unsigned segs = 0;; segs++) {
		size_t end = off + 1;

		if (candidate_get_der(path + off, len - off, max_nonce_bytes,
		        der, der_cap, facts))
			return true;
		if (segs == CANDIDATE_PREFIX_SEGMENTS)
			return false;
		while (end < len && path[end] != '/') {
			if (!candidate_aia_char((unsigned char)path[end]))
				return false;
			end++;
		}
		if (end == len || end == off + 1 || end > CANDIDATE_PREFIX_MAX)
			return false;
		off = end;
	}
}

/* An OCSP POST: the OCSP type, a short AIA path, a well-formed body. */
static bool
candidate_ocsp_post(const struct candidate_input *in, size_t max_nonce_bytes,
    struct ocsp_request_facts *facts)
{
	if (in->has_query || in->body_len == 0 ||
	    !candidate_post_path(in->path, in->path_len) ||
	    !candidate_ocsp_type(in->content_type, in->content_type_len))
		return false;
	memset(facts, 0, sizeof(*facts));
	if (ocsp_request_inspect(
	        in->body, in->body_len, max_nonce_bytes, facts) == REASON_NONE)
		return true;
	memset(facts, 0, sizeof(*facts));
	return false;
}

enum candidate_class
candidate_classify(const struct candidate_input *in, size_t max_nonce_bytes,
    unsigned char *der, size_t der_cap, struct ocsp_request_facts *facts)
{
	const char *last = NULL;
	size_t last_len = 0;
	char file[64];

	if (in->post)
		return candidate_ocsp_post(in, max_nonce_bytes, facts)
		    ? CANDIDATE_OCSP
		    : CANDIDATE_NONE;
	if (!in->get || in->has_query || in->body_len > 0)
		return CANDIDATE_NONE;
	if (candidate_fetch_path(in->path, in->path_len, &last, &last_len)) {
		if (fetch_ctl_file(in->path, in->path_len, file, sizeof(file)))
			return CANDIDATE_CTL;
		if (candidate_ends_with(last, last_len, ".crl"))
			return CANDIDATE_CRL;
		for (size_t i = 0; i < sizeof(candidate_cert_suffixes) /
		         sizeof(candidate_cert_suffixes[0]);
		     i++) {
			if (candidate_ends_with(
			        last, last_len, candidate_cert_suffixes[i]))
				return CANDIDATE_CA_ISSUER;
		}
	}
	if (candidate_ocsp_get(
	        in->path, in->path_len, max_nonce_bytes, der, der_cap, facts))
		return CANDIDATE_OCSP;
	return CANDIDATE_NONE;
}

enum candidate_class
candidate_of_request(const struct http_request *req, size_t max_nonce_bytes,
    unsigned char *der, size_t der_cap, struct ocsp_request_facts *facts)
{
	struct candidate_input in;
	const struct http_span *ct = http_request_header(req, "content-type");

	memset(&in, 0, sizeof(in));
	in.get = req->llhttp_method == HTTP_GET;
	in.post = req->llhttp_method == HTTP_POST;
	in.path = req->path.p;
	in.path_len = req->path.len;
	in.has_query = req->query.p != NULL;
	if (ct != NULL) {
		in.content_type = ct->p;
		in.content_type_len = ct->len;
	}
	in.body = req->body;
	in.body_len = req->body_len;
	return candidate_classify(&in, max_nonce_bytes, der, der_cap, facts);
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
	OCSP_RESPONSE *resp = NULL;
	OCSP_BASICRESP *bs = NULL;
	const unsigned char *p = der;
	X509 *signer = NULL;
	const char *why = NULL;
	uint32_t flags;

	if (store == NULL) {
		*detail = "no trust store";
		return false;
	}
	if (ocsp_response_verify(der, len, store, cas, &why) != REASON_NONE) {
		*detail = why != NULL ? why : "response does not verify";
		return false;
	}
	ERR_set_mark();
	if (len > LONG_MAX ||
	    (resp = d2i_OCSP_RESPONSE(NULL, &p, (long)len)) == NULL ||
	    (bs = OCSP_response_get1_basic(resp)) == NULL ||
	    OCSP_resp_get0_signer(bs, &signer, cas) != 1) {
		why = "signer certificate not found";
		goto done;
	}
	/*
	 * OpenSSL accepts a signer that is the certificate ID's issuer
	 * itself, whatever that certificate is; RFC 6960 4.2.2.2 wants the
	 * issuing CA or a responder it delegated to (OCSPSigning).
	 */
	flags = X509_get_extension_flags(signer);
	if (!((flags & EXFLAG_XKUSAGE) &&
	        (X509_get_extended_key_usage(signer) & XKU_OCSP_SIGN)) &&
	    X509_check_ca(signer) < 1)
		why = "signer is neither a CA nor an OCSP signer";
done:
	OCSP_BASICRESP_free(bs);
	OCSP_RESPONSE_free(resp);
	ERR_pop_to_mark();
	*detail = why;
	return why == NULL;
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
