/*
 * Fuzz target for fetch.c. The first byte picks the inspector, the rest
 * is the body: 0 CRL, 1 certificate, 2 to 5 trust list as ".cab",
 * ".sst", ".stl", ".txt", 6 fetch_ctl_file() on the rest as a path.
 * Aborts when an invariant breaks: a refusal says why and an acceptance
 * does not; accepted facts are NUL-terminated strings of the right
 * shape; an accepted DER body re-encodes to the same bytes; an accepted
 * cabinet holds one trust-list file and ends with its blocks, an
 * accepted .sst is a serialized store ending in its trailer or a PKCS#7
 * that OpenSSL reads as a certificate trust list, an accepted text obeys
 * its rules, nothing unverified claims to be; OpenSSL's error queue is
 * left empty.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/pkcs7.h>
#include <openssl/x509.h>

#include "ocspgate/fetch.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FUZZ_FETCH_KINDS 7

static const char *const fuzz_fetch_ctl_names[] = {
    "authrootstl.cab", "roots.sst", "authroot.stl", "authrootseq.txt"};

/* Inspection leaves OpenSSL's error queue as it found it: empty. */
static void
fuzz_fetch_queue(void)
{
	if (ERR_peek_error() != 0)
		abort();
}

/* Aborts unless <s> is NUL-terminated within <cap> bytes. */
static size_t
fuzz_fetch_string(const char *s, size_t cap)
{
	size_t n = strnlen(s, cap);

	if (n == cap)
		abort();
	return n;
}

/* Aborts unless <s> is "" (when <may_be_empty>) or a 20-character time. */
static void
fuzz_fetch_time(const char *s, bool may_be_empty)
{
	size_t n = fuzz_fetch_string(s, FETCH_TIME_LEN);

	if (n == 0 && may_be_empty)
		return;
	if (n != FETCH_TIME_LEN - 1 || s[4] != '-' || s[7] != '-' ||
	    s[10] != 'T' || s[13] != ':' || s[16] != ':' || s[19] != 'Z')
		abort();
}

/* Aborts unless <enc> (<n> bytes, <= 0 on failure) is <data>. */
static void
fuzz_fetch_same(unsigned char *enc, int n, const uint8_t *data, size_t size)
{
	if (n <= 0 || (size_t)n != size || memcmp(enc, data, size) != 0)
		abort();
	OPENSSL_free(enc);
}

/*
 * Each aborts unless <data> is one canonical DER object of its type.
 * OpenSSL may queue errors while decoding an object it accepts (a bad
 * extension, say); they are dropped.
 */
static void
fuzz_fetch_reencode_crl(const uint8_t *data, size_t size)
{
	const unsigned char *p = data;
	unsigned char *enc = NULL;
	X509_CRL *o;
	int n;

	ERR_set_mark();
	if ((o = d2i_X509_CRL(NULL, &p, (long)size)) == NULL ||
	    (size_t)(p - data) != size)
		abort();
	n = i2d_X509_CRL(o, &enc);
	fuzz_fetch_same(enc, n, data, size);
	X509_CRL_free(o);
	ERR_pop_to_mark();
}

static void
fuzz_fetch_reencode_x509(const uint8_t *data, size_t size)
{
	const unsigned char *p = data;
	unsigned char *enc = NULL;
	X509 *o;
	int n;

	ERR_set_mark();
	if ((o = d2i_X509(NULL, &p, (long)size)) == NULL ||
	    (size_t)(p - data) != size)
		abort();
	n = i2d_X509(o, &enc);
	fuzz_fetch_same(enc, n, data, size);
	X509_free(o);
	ERR_pop_to_mark();
}

static void
fuzz_fetch_reencode_pkcs7(const uint8_t *data, size_t size)
{
	const unsigned char *p = data;
	unsigned char *enc = NULL;
	PKCS7 *o;
	int n;

	ERR_set_mark();
	if ((o = d2i_PKCS7(NULL, &p, (long)size)) == NULL ||
	    (size_t)(p - data) != size)
		abort();
	n = i2d_PKCS7(o, &enc);
	fuzz_fetch_same(enc, n, data, size);
	PKCS7_free(o);
	ERR_pop_to_mark();
}

static void
fuzz_fetch_crl(const uint8_t *data, size_t size)
{
	struct fetch_crl_facts f;
	const char *detail = "unset";
	enum reason r;

	r = fetch_inspect_crl(data, size, NULL, &f, &detail);
	fuzz_fetch_queue();
	if ((r == REASON_NONE) != (detail == NULL) ||
	    (r != REASON_NONE && r != REASON_RESPONSE_MALFORMED))
		abort();
	if (r != REASON_NONE)
		return;
	fuzz_fetch_string(f.issuer, sizeof(f.issuer));
	fuzz_fetch_time(f.this_update, false);
	fuzz_fetch_time(f.next_update, true);
	if (f.number_len > FETCH_SERIAL_MAX ||
	    (f.number_len > 1 && f.number[0] == 0))
		abort();
	/* With no known CA, nothing is verified. */
	if (f.verified)
		abort();
	if (!f.pem)
		fuzz_fetch_reencode_crl(data, size);
}

static void
fuzz_fetch_cert(const uint8_t *data, size_t size)
{
	struct fetch_cert_facts f;
	const char *detail = "unset";
	enum reason r;

	r = fetch_inspect_cert(data, size, NULL, &f, &detail);
	fuzz_fetch_queue();
	if ((r == REASON_NONE) != (detail == NULL) ||
	    (r != REASON_NONE && r != REASON_RESPONSE_MALFORMED))
		abort();
	if (r != REASON_NONE)
		return;
	fuzz_fetch_string(f.subject, sizeof(f.subject));
	fuzz_fetch_string(f.issuer, sizeof(f.issuer));
	if (f.serial_len == 0 || f.serial_len > FETCH_SERIAL_MAX ||
	    (f.serial_len > 1 && f.serial[0] == 0) || f.count == 0 ||
	    (!f.pkcs7 && f.count != 1))
		abort();
	if (f.pem)
		return;
	if (f.pkcs7)
		fuzz_fetch_reencode_pkcs7(data, size);
	else
		fuzz_fetch_reencode_x509(data, size);
}

/* Aborts unless <data> is a PKCS#7 whose content is a CTL, by OpenSSL. */
static void
fuzz_fetch_is_ctl(const uint8_t *data, size_t size)
{
	const unsigned char *p = data;
	PKCS7 *p7;
	char text[32];

	ERR_set_mark();
	if ((p7 = d2i_PKCS7(NULL, &p, (long)size)) == NULL ||
	    (size_t)(p - data) != size || !PKCS7_type_is_signed(p7) ||
	    p7->d.sign->contents == NULL ||
	    OBJ_obj2txt(text, sizeof(text), p7->d.sign->contents->type, 1) <=
	        0 ||
	    strcmp(text, "1.3.6.1.4.1.311.10.1") != 0)
		abort();
	PKCS7_free(p7);
	ERR_pop_to_mark();
}

static void
fuzz_fetch_ctl(const uint8_t *data, size_t size, const char *file,
    enum fetch_ctl_format want)
{
	struct fetch_ctl_facts f;
	const char *detail = "unset";
	enum reason r;
	size_t i;

	r = fetch_inspect_ctl(data, size, file, NULL, 1 << 20, &f, &detail);
	fuzz_fetch_queue();
	if ((r == REASON_NONE) != (detail == NULL) ||
	    (r != REASON_NONE && r != REASON_RESPONSE_MALFORMED) ||
	    !f.format_known ||
	    (f.format != want &&
	        !(want == FETCH_CTL_PKCS7 && f.format == FETCH_CTL_STORE)))
		abort();
	if (r != REASON_NONE)
		return;
	if (f.verified)
		abort(); /* no known CA was given */
	switch (f.format) {
	case FETCH_CTL_CAB:
		if (size < 36 || memcmp(data, "MSCF\0\0\0\0", 8) != 0 ||
		    ((size_t)data[8] | (size_t)data[9] << 8 |
		        (size_t)data[10] << 16 | (size_t)data[11] << 24) !=
		        size ||
		    data[26] != 1 || data[27] != 0 || data[28] != 1 ||
		    data[29] != 0)
			abort();
		break;
	case FETCH_CTL_TEXT:
		if (size > 65536)
			abort();
		for (i = 0; i < size; i++)
			if ((data[i] < 0x20 || data[i] > 0x7e) &&
			    data[i] != '\r' && data[i] != '\n' &&
			    data[i] != '\t')
				abort();
		break;
	case FETCH_CTL_PKCS7:
		fuzz_fetch_is_ctl(data, size);
		break;
	case FETCH_CTL_STORE:
		if (size < 20 || memcmp(data, "\0\0\0\0CERT", 8) != 0 ||
		    memcmp(data + size - 12, "\0\0\0\0\0\0\0\0\0\0\0\0", 12) !=
		        0 ||
		    f.entries == 0)
			abort();
		break;
	}
}

static void
fuzz_fetch_path(const uint8_t *data, size_t size)
{
	char buf[64];
	size_t n;

	memset(buf, 'z', sizeof(buf));
	if (!fetch_ctl_file((const char *)data, size, buf, sizeof(buf)))
		return;
	/* A match is one of the eleven names, at most 21 characters. */
	n = fuzz_fetch_string(buf, sizeof(buf));
	if (n == 0 || n > 21 || n > size ||
	    memcmp(buf, data + size - n, n) != 0 ||
	    (n < size && data[size - n - 1] != '/'))
		abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const enum fetch_ctl_format formats[] = {
	    FETCH_CTL_CAB, FETCH_CTL_PKCS7, FETCH_CTL_PKCS7, FETCH_CTL_TEXT};
	unsigned kind;

	if (size == 0)
		return 0;
	kind = data[0] % FUZZ_FETCH_KINDS;
	data++;
	size--;
	switch (kind) {
	case 0:
		fuzz_fetch_crl(data, size);
		break;
	case 1:
		fuzz_fetch_cert(data, size);
		break;
	case 6:
		fuzz_fetch_path(data, size);
		break;
	default:
		fuzz_fetch_ctl(data, size, fuzz_fetch_ctl_names[kind - 2],
		    formats[kind - 2]);
		break;
	}
	fuzz_fetch_queue();
	return 0;
}
