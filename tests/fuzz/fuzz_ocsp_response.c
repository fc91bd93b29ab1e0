/*
 * Fuzz target for ocsp_response_inspect(): any bytes as the DER answer to
 * a fixed request (five certificate IDs of one CA, sha1 and sha256), once
 * as asked with a nonce and once without. Aborts when an invariant
 * breaks: an accepted response re-encodes to the same DER, records at
 * most eight certificates, each one the request asked for; a refused one
 * says why; OpenSSL's error queue is left empty; an accepted one has
 * nothing to spare (no more than four certificates, all whole X.509
 * for OpenSSL's decoder too, the signer among them; only the response
 * extensions RFC 6960 defines). Accepted successful responses are then
 * verified against the CA that signed the corpus.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/ocsp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "ocspgate/ocsp_response.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/*
 * The request the corpus's successful responses answer: serials 1001,
 * 1002, 1003 and 1004 hashed with sha1 and 1001 with sha256, all of the
 * CA below, and a 16-octet nonce.
 */
static const unsigned char fuzz_ocsp_response_req[] = {
    0x30,
    0x82,
    0x01,
    0x84,
    0x30,
    0x82,
    0x01,
    0x80,
    0x30,
    0x82,
    0x01,
    0x57,
    0x30,
    0x3d,
    0x30,
    0x3b,
    0x30,
    0x09,
    0x06,
    0x05,
    0x2b,
    0x0e,
    0x03,
    0x02,
    0x1a,
    0x05,
    0x00,
    0x04,
    0x14,
    0x96,
    0xfd,
    0x4f,
    0x41,
    0x77,
    0x34,
    0x2d,
    0x09,
    0xde,
    0x0c,
    0xdf,
    0x7b,
    0x45,
    0x32,
    0x50,
    0x8a,
    0x2a,
    0x9d,
    0x63,
    0xa2,
    0x04,
    0x14,
    0xfb,
    0x1a,
    0x4c,
    0x3a,
    0x83,
    0x07,
    0x3e,
    0x33,
    0x98,
    0x09,
    0x16,
    0x30,
    0xbd,
    0x61,
    0x8f,
    0x27,
    0x9c,
    0x33,
    0xfc,
    0x24,
    0x02,
    0x02,
    0x10,
    0x01,
    0x30,
    0x3d,
    0x30,
    0x3b,
    0x30,
    0x09,
    0x06,
    0x05,
    0x2b,
    0x0e,
    0x03,
    0x02,
    0x1a,
    0x05,
    0x00,
    0x04,
    0x14,
    0x96,
    0xfd,
    0x4f,
    0x41,
    0x77,
    0x34,
    0x2d,
    0x09,
    0xde,
    0x0c,
    0xdf,
    0x7b,
    0x45,
    0x32,
    0x50,
    0x8a,
    0x2a,
    0x9d,
    0x63,
    0xa2,
    0x04,
    0x14,
    0xfb,
    0x1a,
    0x4c,
    0x3a,
    0x83,
    0x07,
    0x3e,
    0x33,
    0x98,
    0x09,
    0x16,
    0x30,
    0xbd,
    0x61,
    0x8f,
    0x27,
    0x9c,
    0x33,
    0xfc,
    0x24,
    0x02,
    0x02,
    0x10,
    0x02,
    0x30,
    0x3d,
    0x30,
    0x3b,
    0x30,
    0x09,
    0x06,
    0x05,
    0x2b,
    0x0e,
    0x03,
    0x02,
    0x1a,
    0x05,
    0x00,
    0x04,
    0x14,
    0x96,
    0xfd,
    0x4f,
    0x41,
    0x77,
    0x34,
    0x2d,
    0x09,
    0xde,
    0x0c,
    0xdf,
    0x7b,
    0x45,
    0x32,
    0x50,
    0x8a,
    0x2a,
    0x9d,
    0x63,
    0xa2,
    0x04,
    0x14,
    0xfb,
    0x1a,
    0x4c,
    0x3a,
    0x83,
    0x07,
    0x3e,
    0x33,
    0x98,
    0x09,
    0x16,
    0x30,
    0xbd,
    0x61,
    0x8f,
    0x27,
    0x9c,
    0x33,
    0xfc,
    0x24,
    0x02,
    0x02,
    0x10,
    0x03,
    0x30,
    0x3d,
    0x30,
    0x3b,
    0x30,
    0x09,
    0x06,
    0x05,
    0x2b,
    0x0e,
    0x03,
    0x02,
    0x1a,
    0x05,
    0x00,
    0x04,
    0x14,
    0x96,
    0xfd,
    0x4f,
    0x41,
    0x77,
    0x34,
    0x2d,
    0x09,
    0xde,
    0x0c,
    0xdf,
    0x7b,
    0x45,
    0x32,
    0x50,
    0x8a,
    0x2a,
    0x9d,
    0x63,
    0xa2,
    0x04,
    0x14,
    0xfb,
    0x1a,
    0x4c,
    0x3a,
    0x83,
    0x07,
    0x3e,
    0x33,
    0x98,
    0x09,
    0x16,
    0x30,
    0xbd,
    0x61,
    0x8f,
    0x27,
    0x9c,
    0x33,
    0xfc,
    0x24,
    0x02,
    0x02,
    0x10,
    0x04,
    0x30,
    0x59,
    0x30,
    0x57,
    0x30,
    0x0d,
    0x06,
    0x09,
    0x60,
    0x86,
    0x48,
    0x01,
    0x65,
    0x03,
    0x04,
    0x02,
    0x01,
    0x05,
    0x00,
    0x04,
    0x20,
    0x99,
    0x72,
    0x96,
    0x24,
    0x10,
    0xdb,
    0x10,
    0x40,
    0x2e,
    0xf7,
    0x0d,
    0xf9,
    0x86,
    0x9d,
    0x8c,
    0xde,
    0x12,
    0x73,
    0x59,
    0x99,
    0x35,
    0x71,
    0xa4,
    0xac,
    0xeb,
    0xb1,
    0xfc,
    0xdf,
    0xb5,
    0xb5,
    0x67,
    0x0d,
    0x04,
    0x20,
    0xa3,
    0xcf,
    0xa9,
    0xdf,
    0xe2,
    0x1f,
    0x2b,
    0xe1,
    0x23,
    0xc9,
    0x49,
    0x6d,
    0xd0,
    0x82,
    0xe1,
    0x94,
    0x01,
    0xf8,
    0xa5,
    0x6f,
    0x19,
    0x43,
    0x2f,
    0x3c,
    0x25,
    0xfc,
    0x19,
    0xc1,
    0xd1,
    0x55,
    0xe4,
    0xfb,
    0x02,
    0x02,
    0x10,
    0x01,
    0xa2,
    0x23,
    0x30,
    0x21,
    0x30,
    0x1f,
    0x06,
    0x09,
    0x2b,
    0x06,
    0x01,
    0x05,
    0x05,
    0x07,
    0x30,
    0x01,
    0x02,
    0x04,
    0x12,
    0x04,
    0x10,
    0x21,
    0x97,
    0x56,
    0x69,
    0x3d,
    0xb7,
    0x70,
    0xb2,
    0x05,
    0xb8,
    0x3c,
    0xdc,
    0x56,
    0xce,
    0x43,
    0x08,
};

/* The CA that issued the corpus's responder (valid until 2126). */
static const char fuzz_ocsp_response_ca[] =
    "-----BEGIN CERTIFICATE-----\n"
    "MIIBezCCASGgAwIBAgIUM3aUDXf5jJ/PcARrE9yPUlfS8s8wCgYIKoZIzj0EAwIw\n"
    "EjEQMA4GA1UEAwwHU2VlZCBDQTAgFw0yNjExMjYyMTI5MDFaGA8yMTI2MTEwMjIx\n"
    "MjkwMVowEjEQMA4GA1UEAwwHU2VlZCBDQTBZMBMGByqGSM49AgEGCCqGSM49AwEH\n"
    "A0IABHdlLUBp9uBcryrlQM+by6t00zUif2/qLRWykyC4iTZP3lx7I9+6LzaI630L\n"
    "1PEQsuI3rcX4H2TdHAtCkWoI3eujUzBRMB0GA1UdDgQWBBT7Gkw6gwc+M5gJFjC9\n"
    "YY8nnDP8JDAfBgNVHSMEGDAWgBT7Gkw6gwc+M5gJFjC9YY8nnDP8JDAPBgNVHRMB\n"
    "Af8EBTADAQH/MAoGCCqGSM49BAMCA0gAMEUCIQCm+HnFk9d3H4kwv8sImrgxwsYw\n"
    "5ShnfJkxXQf6mZ2L+gIgLjqutOwgZAhWDKoN6g7VcatpaXXwHR4q+c0V6Mcwd20=\n"
    "-----END CERTIFICATE-----\n";

/* Request facts with and without the nonce, and a store with the CA. */
struct fuzz_ocsp_response_fixture {
	struct ocsp_request_facts with_nonce;
	struct ocsp_request_facts without_nonce;
	X509_STORE *store;
};

static const struct fuzz_ocsp_response_fixture *
fuzz_ocsp_response_fixture(void)
{
	static struct fuzz_ocsp_response_fixture fx;
	static bool ready;
	BIO *bio;
	X509 *ca;

	if (ready)
		return &fx;
	if (ocsp_request_inspect(fuzz_ocsp_response_req,
	        sizeof(fuzz_ocsp_response_req), OCSP_NONCE_MAX_BYTES,
	        &fx.with_nonce) != REASON_NONE ||
	    !fx.with_nonce.has_nonce || fx.with_nonce.ncerts != 5)
		abort();
	fx.without_nonce = fx.with_nonce;
	fx.without_nonce.has_nonce = false;
	fx.without_nonce.nonce_len = 0;
	memset(fx.without_nonce.nonce, 0, sizeof(fx.without_nonce.nonce));
	if ((bio = BIO_new_mem_buf(fuzz_ocsp_response_ca, -1)) == NULL ||
	    (ca = PEM_read_bio_X509(bio, NULL, NULL, NULL)) == NULL ||
	    (fx.store = X509_STORE_new()) == NULL ||
	    X509_STORE_add_cert(fx.store, ca) != 1)
		abort();
	X509_free(ca);
	BIO_free(bio);
	ready = true;
	return &fx;
}

/* Aborts unless <data> is one canonical DER OCSPResponse. */
static void
fuzz_ocsp_response_reencode(const uint8_t *data, size_t size)
{
	const unsigned char *p = data;
	unsigned char *enc = NULL;
	OCSP_RESPONSE *resp;
	int n;

	if ((resp = d2i_OCSP_RESPONSE(NULL, &p, (long)size)) == NULL ||
	    (size_t)(p - data) != size)
		abort();
	if ((n = i2d_OCSP_RESPONSE(resp, &enc)) <= 0 || (size_t)n != size ||
	    memcmp(enc, data, size) != 0)
		abort();
	OPENSSL_free(enc);
	OCSP_RESPONSE_free(resp);
}

/* Aborts unless <s> is "" or a 20-character time, NUL-terminated. */
static void
fuzz_ocsp_response_time(const char *s)
{
	size_t n = strnlen(s, OCSP_RESPONSE_TIME_LEN);

	if (n != 0 &&
	    (n != OCSP_RESPONSE_TIME_LEN - 1 || s[10] != 'T' || s[19] != 'Z'))
		abort();
}

/* Aborts unless single <c> is about a certificate <req> asked for. */
static void
fuzz_ocsp_response_single(
    const struct ocsp_single_facts *c, const struct ocsp_request_facts *req)
{
	size_t i;

	if (c->serial_len == 0 || c->serial_len > OCSP_SERIAL_MAX_BYTES ||
	    (unsigned)c->status > OCSP_CERT_UNKNOWN)
		abort();
	for (i = 0; i < req->ncerts; i++)
		if (req->certs[i].serial_len == c->serial_len &&
		    memcmp(req->certs[i].serial, c->serial, c->serial_len) == 0)
			break;
	if (i == req->ncerts)
		abort();
	fuzz_ocsp_response_time(c->this_update);
	fuzz_ocsp_response_time(c->next_update);
	fuzz_ocsp_response_time(c->revocation_time);
	if (c->this_update[0] == '\0' ||
	    (c->status == OCSP_CERT_REVOKED) != (c->revocation_time[0] != 0) ||
	    (c->revocation_reason != NULL && c->status != OCSP_CERT_REVOKED))
		abort();
}

/*
 * Aborts unless accepted successful response <data> holds nothing to
 * spare, as OpenSSL's own decoders see it: at most four certificates,
 * each a certificate X.509 decoding takes whole, one of them the signer
 * when there are any; no response extension but the nonce (only when
 * the request had one) and the extended revoked definition; no more
 * unknown certificate extensions than four per certificate.
 */
static void
fuzz_ocsp_response_nothing_spare(const uint8_t *data, size_t size,
    const struct ocsp_request_facts *req, const struct ocsp_response_facts *f)
{
	const unsigned char *p = data;
	OCSP_RESPONSE *resp = d2i_OCSP_RESPONSE(NULL, &p, (long)size);
	OCSP_BASICRESP *bs =
	    resp != NULL ? OCSP_response_get1_basic(resp) : NULL;
	const STACK_OF(X509) * certs;
	X509 *signer = NULL;
	int n;

	if (bs == NULL)
		abort();
	certs = OCSP_resp_get0_certs(bs);
	n = sk_X509_num(certs);
	if (n > OCSP_RESPONSE_MAX_SIGNER_CERTS ||
	    f->unknown_extensions > 4u * (unsigned)n ||
	    (n > 0 && OCSP_resp_get0_signer(bs, &signer, NULL) != 1))
		abort();
	for (int i = 0; i < OCSP_BASICRESP_get_ext_count(bs); i++) {
		int nid = OBJ_obj2nid(
		    X509_EXTENSION_get_object(OCSP_BASICRESP_get_ext(bs, i)));

		if (nid != NID_id_pkix_OCSP_extendedStatus &&
		    !(nid == NID_id_pkix_OCSP_Nonce && req->has_nonce))
			abort();
	}
	OCSP_BASICRESP_free(bs);
	OCSP_RESPONSE_free(resp);
}

static enum reason
fuzz_ocsp_response_one(
    const uint8_t *data, size_t size, const struct ocsp_request_facts *req)
{
	const struct fuzz_ocsp_response_fixture *fx;
	struct ocsp_response_facts f;
	const char *detail = NULL;
	enum reason r;

	r = ocsp_response_inspect(data, size, req, &f);
	if (f.ncerts > OCSP_RESPONSE_MAX_CERTS ||
	    strnlen(f.responder_name, sizeof(f.responder_name)) ==
	        sizeof(f.responder_name) ||
	    (!f.parsed && (f.basic || f.status != 0)) ||
	    (!f.basic &&
	        (f.ncerts != 0 || f.has_nonce || f.produced_at[0] != '\0' ||
	            f.by_key || f.responder_name[0] != '\0')))
		abort();
	fuzz_ocsp_response_time(f.produced_at);
	for (size_t i = 0; i < f.ncerts; i++)
		fuzz_ocsp_response_single(&f.certs[i], req);
	if (r == REASON_RESPONSE_MALFORMED) {
		if (f.detail == NULL)
			abort();
		return r;
	}
	if (r != REASON_NONE || f.detail != NULL || !f.parsed ||
	    strcmp(ocsp_response_status_name(f.status), "unknown") == 0 ||
	    f.basic != (f.status == OCSP_RESPONSE_STATUS_SUCCESSFUL) ||
	    (f.basic && (f.ncerts == 0 || f.produced_at[0] == '\0')))
		abort();
	fuzz_ocsp_response_reencode(data, size);

	if (!f.basic)
		return r;
	fuzz_ocsp_response_nothing_spare(data, size, req, &f);
	fx = fuzz_ocsp_response_fixture();
	r = ocsp_response_verify(data, size, fx->store, NULL, &detail);
	if ((r == REASON_NONE) != (detail == NULL) ||
	    (r != REASON_NONE && r != REASON_RESPONSE_UNVERIFIED))
		abort();
	return REASON_NONE;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const struct fuzz_ocsp_response_fixture *fx;
	enum reason with, without;

	fx = fuzz_ocsp_response_fixture();
	with = fuzz_ocsp_response_one(data, size, &fx->with_nonce);
	without = fuzz_ocsp_response_one(data, size, &fx->without_nonce);
	/*
	 * An answer good for a request without a nonce carries none, and
	 * is as good for a request with one (nonces compared only when both
	 * carry one); an answer with a nonce fails a request without.
	 */
	if (without == REASON_NONE && with != REASON_NONE)
		abort();
	/* Inspection leaves OpenSSL's error queue as it found it. */
	if (ERR_peek_error() != 0)
		abort();
	return 0;
}
