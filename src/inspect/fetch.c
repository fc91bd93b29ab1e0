/*
 * The other answers Windows chain building fetches on port 80: CRLs,
 * issuer certificates (one certificate or a certs-only PKCS#7) and trust
 * lists from Windows Update. Each body must parse as what its class
 * promises and carry nothing else: known extensions (pkix.c), trust
 * lists read whole (ctl.c), a CRL's signature verified when its issuer
 * is known. Pure: no I/O, no logging, no clock, no globals. OpenSSL's
 * error queue is left as it was found.
 */
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <openssl/asn1.h>
#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/objects.h>
#include <openssl/pem.h>
#include <openssl/pkcs7.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "ocspgate/ctl.h"
#include "ocspgate/fetch.h"
#include "ocspgate/hex.h"
#include "ocspgate/pkix.h"

/* Cabinet header (CFHEADER): fields up to setID and iCabinet. */
#define FETCH_CAB_HEADER_LEN  36
#define FETCH_CAB_SIZE_OFFSET 8  /* cbCabinet, after "MSCF" and reserved1 */
#define FETCH_TEXT_MAX_BYTES  64 /* a sequence number and a line break */
#define FETCH_PEM_LABEL_CRL   "X509 CRL"
#define FETCH_PEM_LABEL_CERT  "CERTIFICATE"
#define FETCH_PEM_LABEL_PKCS7 "PKCS7"
#define FETCH_PEM_BEGIN       "-----BEGIN "
#define FETCH_PEM_DASHES      "-----"
#define FETCH_DER_SEQUENCE    0x30 /* a DER body's first octet */

static const char fetch_not_pkcs7[] = "not a DER PKCS#7";

/* The trust-list files Windows fetches from Windows Update, lower case. */
static const char *const fetch_ctl_files[] = {
    "authrootstl.cab",
    "disallowedcertstl.cab",
    "pinrulesstl.cab",
    "authroot.stl",
    "disallowedcert.stl",
    "pinrules.stl",
    "authrootseq.txt",
    "disallowedcertseq.txt",
    "pinrulesseq.txt",
    "roots.sst",
    "updroots.sst",
    /* rootsupd's set beside them (a public rootsupd.cmd fetches these) */
    "authroots.sst",
    "delroots.sst",
    "disallowedcert.sst",
};

/* The texts a class's refusals share. */
struct fetch_words {
	const char *not_what; /* the body is not of the class at all */
	const char *trailing; /* something follows the one object */
};

static const struct fetch_words fetch_crl_words = {
    "not a DER or PEM CRL", "trailing bytes after the CRL"};
static const struct fetch_words fetch_cert_words = {
    "not a DER or PEM certificate", "trailing bytes after the certificate"};

/* Any value outside the enum is "unknown", so the result is never NULL. */
const char *
fetch_ctl_format_name(enum fetch_ctl_format f)
{
	switch (f) {
	case FETCH_CTL_CAB:
		return "cab";
	case FETCH_CTL_PKCS7:
		return "pkcs7";
	case FETCH_CTL_TEXT:
		return "text";
	case FETCH_CTL_STORE:
		return "store";
	}
	return "unknown";
}

/* PEM's whitespace between and around blocks. */
static bool
fetch_is_space(unsigned char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

/* ASCII lower case, whatever the locale. */
static unsigned char
fetch_lower(unsigned char c)
{
	return c >= 'A' && c <= 'Z' ? (unsigned char)(c - 'A' + 'a') : c;
}

/* True when the <n> bytes at <a> are <lower> (lower case) but for case. */
static bool
fetch_equal_nocase(const char *a, size_t n, const char *lower)
{
	size_t i;

	if (n != strlen(lower))
		return false;
	for (i = 0; i < n; i++)
		if (fetch_lower((unsigned char)a[i]) != (unsigned char)lower[i])
			return false;
	return true;
}

/*
 * True when <body> (<len> bytes), after leading whitespace, opens with the
 * line "-----BEGIN <label>-----" (LF or CRLF). A whole first line is
 * required: OpenSSL's reader would skip a line it does not like and take
 * a block found further on.
 */
static bool
fetch_pem_starts(const unsigned char *body, size_t len, const char *label)
{
	const size_t begin = strlen(FETCH_PEM_BEGIN);
	const size_t lab = strlen(label);
	const size_t dashes = strlen(FETCH_PEM_DASHES);
	size_t i = 0;

	while (i < len && fetch_is_space(body[i]))
		i++;
	body += i;
	len -= i;
	if (len < begin + lab + dashes + 1 ||
	    memcmp(body, FETCH_PEM_BEGIN, begin) != 0 ||
	    memcmp(body + begin, label, lab) != 0 ||
	    memcmp(body + begin + lab, FETCH_PEM_DASHES, dashes) != 0)
		return false;
	i = begin + lab + dashes;
	if (body[i] == '\r' && i + 1 < len)
		i++;
	return body[i] == '\n';
}

/*
 * Decodes the one PEM block <label> that <body> (<len> bytes) must be,
 * whitespace allowed around it, and no headers (an encrypted block would
 * have asked for a password). Returns NULL with *der (OPENSSL_malloc'd,
 * the caller frees it) and *der_len set, or the detail of the rule broken.
 */
static const char *
fetch_pem_decode(const unsigned char *body, size_t len, const char *label,
    const struct fetch_words *w, unsigned char **der, long *der_len)
{
	BIO *mem = NULL;
	char *name = NULL, *header = NULL, *rest;
	unsigned char *data = NULL;
	const char *why = NULL;
	long data_len = 0, n, i;

	*der = NULL;
	*der_len = 0;
	/* OpenSSL wants the BEGIN line at the start of a line. */
	while (len > 0 && fetch_is_space(*body)) {
		body++;
		len--;
	}
	if (len > INT_MAX || !fetch_pem_starts(body, len, label) ||
	    (mem = BIO_new_mem_buf(body, (int)len)) == NULL ||
	    PEM_read_bio_ex(mem, &name, &header, &data, &data_len,
	        PEM_FLAG_ONLY_B64) != 1 ||
	    strcmp(name, label) != 0 || header[0] != '\0' || data_len <= 0) {
		why = w->not_what;
		goto done;
	}
	/* The reader stops after the END line; only whitespace may follow. */
	n = BIO_get_mem_data(mem, &rest);
	for (i = 0; i < n; i++)
		if (!fetch_is_space((unsigned char)rest[i])) {
			why = w->trailing;
			goto done;
		}
	*der = data;
	*der_len = data_len;
	data = NULL;
done:
	OPENSSL_free(data);
	OPENSSL_free(header);
	OPENSSL_free(name);
	BIO_free(mem);
	return why;
}

/*
 * Checks that a d2i consumed all <len> bytes of <der> and that the
 * object's re-encoding <enc> (<enc_len> bytes, <= 0 on failure) is the
 * same. Returns NULL, or the detail of the rule broken.
 */
static const char *
fetch_der_exact(const unsigned char *der, size_t len, size_t used,
    const unsigned char *enc, int enc_len, const char *trailing)
{
	if (used != len)
		return trailing;
	/* d2i takes BER (long-form and indefinite lengths and more). */
	if (enc_len <= 0 || (size_t)enc_len != len ||
	    memcmp(enc, der, len) != 0)
		return "not canonical DER";
	return NULL;
}

/*
 * Writes <name> as RFC 2253 text (escaped to ASCII, cut to fit) into
 * <out>. The text is for people; should printing fail, it stays empty.
 */
static void
fetch_name(const X509_NAME *name, char out[FETCH_NAME_MAX])
{
	BIO *mem;
	char *text;
	long n;

	out[0] = '\0';
	/* A memory BIO is the only way to OpenSSL's RFC 2253 printer. */
	if (name == NULL || (mem = BIO_new(BIO_s_mem())) == NULL)
		return;
	if (X509_NAME_print_ex(mem, name, 0, XN_FLAG_RFC2253) >= 0 &&
	    (n = BIO_get_mem_data(mem, &text)) > 0) {
		if (n >= FETCH_NAME_MAX)
			n = FETCH_NAME_MAX - 1;
		memcpy(out, text, (size_t)n);
		out[n] = '\0';
	}
	BIO_free(mem);
}

/*
 * Writes <t> (UTCTime or GeneralizedTime) as "YYYY-MM-DDTHH:MM:SSZ"
 * (UTC; fractions of a second dropped) into <out>. Returns 0, or -1 when
 * <t> is not a valid time (<out> is then "").
 */
static int
fetch_time(const ASN1_TIME *t, char out[FETCH_TIME_LEN])
{
	struct tm tm;
	int n;

	out[0] = '\0';
	/* ASN1_TIME_to_tm() reads the clock when given NULL. */
	if (t == NULL || ASN1_TIME_to_tm(t, &tm) != 1)
		return -1;
	n = snprintf(out, FETCH_TIME_LEN, "%04d-%02d-%02dT%02d:%02d:%02dZ",
	    tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min,
	    tm.tm_sec);
	if (n != FETCH_TIME_LEN - 1) {
		out[0] = '\0';
		return -1;
	}
	return 0;
}

/*
 * Copies the magnitude of <v> into <out>, without leading zero octets
 * but at least one octet, so that zero is {0x00} and a length of 0 can
 * mean "none". OpenSSL keeps an INTEGER as sign (the type) and magnitude
 * (the data); the sign is dropped. Returns 0, or -1 when the magnitude
 * is over FETCH_SERIAL_MAX octets.
 */
static int
fetch_magnitude(
    const ASN1_INTEGER *v, unsigned char out[FETCH_SERIAL_MAX], size_t *out_len)
{
	const unsigned char *s = ASN1_STRING_get0_data(v);
	size_t n = (size_t)ASN1_STRING_length(v);

	while (n > 1 && s[0] == 0) {
		s++;
		n--;
	}
	if (n > FETCH_SERIAL_MAX)
		return -1;
	if (n == 0) {
		out[0] = 0;
		n = 1;
	} else {
		memcpy(out, s, n);
	}
	*out_len = n;
	return 0;
}

/*
 * Whether <ca> is the signer a CRL or certificate of its name claims:
 * the same keyIdentifier in the claim's authorityKeyIdentifier <akid>
 * and <ca>'s subjectKeyIdentifier, or either left out. A CA that renewed
 * its key keeps its name (Active Directory Certificate Services' "renew
 * with a new key"): what names the other key is not the known CA's to
 * verify, and is unverified rather than forged.
 */
static bool
fetch_same_key(const ASN1_OCTET_STRING *akid, X509 *ca)
{
	const ASN1_OCTET_STRING *skid = X509_get0_subject_key_id(ca);

	return akid == NULL || skid == NULL ||
	    ASN1_OCTET_STRING_cmp(akid, skid) == 0;
}

/*
 * The signature of <crl>: when a CA of <known> has the CRL's issuer as
 * its subject and the key its authorityKeyIdentifier names
 * (fetch_same_key()), it must verify with the key of one of them, and
 * f->verified is set; a signature that cannot be checked at all (an
 * algorithm this OpenSSL refuses) leaves it unverified; else it must
 * have the shape its algorithm gives. Returns NULL, or why.
 */
static const char *
fetch_crl_signature(
    X509_CRL *crl, const STACK_OF(X509) * known, struct fetch_crl_facts *f)
{
	const X509_ALGOR *alg;
	const ASN1_BIT_STRING *sig;
	AUTHORITY_KEYID *ak = NULL;
	bool forged = false;

	if (sk_X509_num(known) > 0)
		ak = X509_CRL_get_ext_d2i(
		    crl, NID_authority_key_identifier, NULL, NULL);
	for (int i = 0; i < sk_X509_num(known) && !f->verified; i++) {
		X509 *ca = sk_X509_value(known, i);
		int v;

		if (X509_NAME_cmp(X509_get_subject_name(ca),
		        X509_CRL_get_issuer(crl)) != 0 ||
		    !fetch_same_key(ak != NULL ? ak->keyid : NULL, ca))
			continue;
		v = X509_CRL_verify(crl, X509_get0_pubkey(ca));
		f->verified = v == 1;
		forged = forged || v == 0;
	}
	AUTHORITY_KEYID_free(ak);
	if (forged && !f->verified)
		return "CRL signature does not verify with its issuer's key";
	if (f->verified)
		return NULL;
	X509_CRL_get0_signature(crl, &sig, &alg);
	return pkix_signature_fits(alg, sig, NULL);
}

/*
 * Inspects <der> (<len> bytes), which must be one canonical DER
 * X509_CRL, and records its facts in <f>. Returns NULL, or the detail of
 * the rule broken.
 */
static const char *
fetch_crl_der(const unsigned char *der, size_t len,
    const STACK_OF(X509) * known, struct fetch_crl_facts *f)
{
	X509_CRL *crl = NULL;
	ASN1_INTEGER *number = NULL;
	const ASN1_TIME *next;
	STACK_OF(X509_REVOKED) * revoked;
	unsigned char *enc = NULL;
	const unsigned char *p = der;
	const char *why = NULL;
	int n, crit = -1;

	if (len == 0 || len > LONG_MAX ||
	    (crl = d2i_X509_CRL(NULL, &p, (long)len)) == NULL) {
		why = fetch_crl_words.not_what;
		goto done;
	}
	n = i2d_X509_CRL(crl, &enc);
	if ((why = fetch_der_exact(der, len, (size_t)(p - der), enc, n,
	         fetch_crl_words.trailing)) != NULL)
		goto done;

	fetch_name(X509_CRL_get_issuer(crl), f->issuer);
	if (fetch_time(X509_CRL_get0_lastUpdate(crl), f->this_update) == -1) {
		why = "lastUpdate not a valid time";
		goto done;
	}
	if ((next = X509_CRL_get0_nextUpdate(crl)) != NULL &&
	    fetch_time(next, f->next_update) == -1) {
		why = "nextUpdate not a valid time";
		goto done;
	}
	/* crit: -1 absent, -2 repeated, else found (NULL: undecodable). */
	number = X509_CRL_get_ext_d2i(crl, NID_crl_number, &crit, NULL);
	if (number == NULL && crit != -1) {
		why = "cRLNumber not one valid INTEGER";
		goto done;
	}
	if (number != NULL &&
	    fetch_magnitude(number, f->number, &f->number_len) == -1) {
		why = "cRLNumber over 20 octets";
		goto done;
	}
	revoked = X509_CRL_get_REVOKED(crl);
	f->entries = revoked != NULL ? (size_t)sk_X509_REVOKED_num(revoked) : 0;
	if ((why = pkix_crl_extensions(crl, &f->unknown_extensions)) != NULL)
		goto done;
	why = fetch_crl_signature(crl, known, f);
done:
	ASN1_INTEGER_free(number);
	OPENSSL_free(enc);
	X509_CRL_free(crl);
	return why;
}

/*
 * A body starting with a SEQUENCE is taken for DER, anything else for
 * PEM. The facts are filled as far as the checks got; f->pem is set for
 * a PEM body even when refused.
 */
enum reason
fetch_inspect_crl(const unsigned char *body, size_t len,
    const STACK_OF(X509) * known, struct fetch_crl_facts *f,
    const char **detail)
{
	unsigned char *der = NULL;
	const char *why;
	long der_len;

	memset(f, 0, sizeof(*f));
	ERR_set_mark();
	if (body == NULL || len == 0) {
		why = fetch_crl_words.not_what;
	} else if (body[0] == FETCH_DER_SEQUENCE) {
		why = fetch_crl_der(body, len, known, f);
	} else {
		f->pem = true;
		why = fetch_pem_decode(body, len, FETCH_PEM_LABEL_CRL,
		    &fetch_crl_words, &der, &der_len);
		if (why == NULL)
			why = fetch_crl_der(der, (size_t)der_len, known, f);
	}
	OPENSSL_free(der);
	ERR_pop_to_mark();
	if (detail != NULL)
		*detail = why;
	return why == NULL ? REASON_NONE : REASON_RESPONSE_MALFORMED;
}

/*
 * What one certificate of an answer may carry: known extensions, a
 * signature of its algorithm's shape (for its own key when self-issued).
 * Returns NULL, or why.
 */
static const char *
fetch_cert_check(const X509 *x, struct fetch_cert_facts *f)
{
	const X509_ALGOR *alg;
	const ASN1_BIT_STRING *sig;
	struct pkix_key key;
	const char *why;

	if ((why = pkix_cert_extensions(x, &f->unknown_extensions)) != NULL ||
	    (why = pkix_cert_key(x)) != NULL)
		return why;
	X509_get0_signature(&sig, &alg, x);
	pkix_key_of(x, &key);
	return pkix_signature_fits(alg, sig,
	    X509_NAME_cmp(X509_get_subject_name(x), X509_get_issuer_name(x)) ==
	            0
	        ? &key
	        : NULL);
}

/*
 * The signature of <x>, one certificate of an answer, against <known>
 * (may be NULL): when a CA of <known> has the certificate's issuer as its
 * subject and the key its authorityKeyIdentifier names (for a root, its
 * own key), it must verify with the key of one of them (as a CRL's, see
 * fetch_crl_signature), and *verified is set; else *verified is false
 * and the shape checked by fetch_cert_check() is all there is. Returns
 * NULL, or why.
 */
static const char *
fetch_cert_signature(X509 *x, const STACK_OF(X509) * known, bool *verified)
{
	bool forged = false;
	bool self_issued = X509_NAME_cmp(X509_get_subject_name(x),
	                       X509_get_issuer_name(x)) == 0;

	*verified = false;
	for (int i = 0; i < sk_X509_num(known) && !*verified; i++) {
		X509 *ca = sk_X509_value(known, i);
		int v;

		/* A root signs with its own key: another key's root of the
		 * same name is not the known one's to verify. */
		if (X509_NAME_cmp(X509_get_subject_name(ca),
		        X509_get_issuer_name(x)) != 0 ||
		    !fetch_same_key(X509_get0_authority_key_id(x), ca) ||
		    (self_issued &&
		        EVP_PKEY_eq(
		            X509_get0_pubkey(x), X509_get0_pubkey(ca)) != 1))
			continue;
		v = X509_verify(x, X509_get0_pubkey(ca));
		*verified = v == 1;
		forged = forged || v == 0;
	}
	if (forged && !*verified)
		return "certificate signature does not verify with its "
		       "issuer's key";
	return NULL;
}

/* Records the facts of <x>, the first certificate of an answer. */
static const char *
fetch_cert_facts(X509 *x, struct fetch_cert_facts *f)
{
	fetch_name(X509_get_subject_name(x), f->subject);
	fetch_name(X509_get_issuer_name(x), f->issuer);
	if (fetch_magnitude(
	        X509_get0_serialNumber(x), f->serial, &f->serial_len) == -1)
		return "serial number over 20 octets";
	return NULL;
}

/*
 * Inspects <der> (<len> bytes), which must be one canonical DER
 * certificate, its signature checked against <known>. Returns NULL, or
 * the detail of the rule broken; *parsed is false when it is not a
 * certificate at all (it may be a PKCS#7).
 */
static const char *
fetch_cert_x509(const unsigned char *der, size_t len,
    const STACK_OF(X509) * known, struct fetch_cert_facts *f, bool *parsed)
{
	X509 *x;
	unsigned char *enc = NULL;
	const unsigned char *p = der;
	const char *why;
	int n;

	*parsed = false;
	if ((x = d2i_X509(NULL, &p, (long)len)) == NULL)
		return fetch_cert_words.not_what;
	*parsed = true;
	n = i2d_X509(x, &enc);
	if ((why = fetch_der_exact(der, len, (size_t)(p - der), enc, n,
	         fetch_cert_words.trailing)) == NULL &&
	    (why = fetch_cert_facts(x, f)) == NULL &&
	    (why = fetch_cert_check(x, f)) == NULL &&
	    (why = fetch_cert_signature(x, known, &f->verified)) == NULL)
		f->count = 1;
	OPENSSL_free(enc);
	X509_free(x);
	return why;
}

/*
 * Decodes <der> (<len> bytes) as one DER PKCS#7 ContentInfo of exactly
 * <len> bytes, canonical if <canonical>, whose content is a SignedData.
 * Returns NULL with *out set (the caller frees it), or the detail of the
 * rule broken.
 */
static const char *
fetch_pkcs7_signed(
    const unsigned char *der, size_t len, bool canonical, PKCS7 **out)
{
	PKCS7 *p7;
	unsigned char *enc = NULL;
	const unsigned char *p = der;
	const char *why = NULL;
	int n;

	*out = NULL;
	if (len == 0 || len > LONG_MAX ||
	    (p7 = d2i_PKCS7(NULL, &p, (long)len)) == NULL)
		return fetch_not_pkcs7;
	if ((size_t)(p - der) != len) {
		why = "trailing bytes after the PKCS#7";
	} else if (canonical) {
		n = i2d_PKCS7(p7, &enc);
		why = fetch_der_exact(der, len, len, enc, n, NULL);
	}
	/* content is OPTIONAL in ContentInfo: d.sign may be NULL. */
	if (why == NULL && (!PKCS7_type_is_signed(p7) || p7->d.sign == NULL))
		why = "PKCS#7 not SignedData";
	OPENSSL_free(enc);
	if (why != NULL) {
		PKCS7_free(p7);
		return why;
	}
	*out = p7;
	return NULL;
}

/*
 * Inspects <der> (<len> bytes), which must be one canonical DER PKCS#7
 * SignedData with certificates only: no signerInfos and no encapsulated
 * content, as `openssl crl2pkcs7 -nocrl` and Windows write .p7c files.
 * CRLs beside the certificates are let through. Each certificate's
 * signature is checked against <known>; f->verified when every one
 * verified. Returns NULL, or the detail of the rule broken.
 */
static const char *
fetch_cert_pkcs7(const unsigned char *der, size_t len,
    const STACK_OF(X509) * known, struct fetch_cert_facts *f)
{
	PKCS7 *p7;
	PKCS7_SIGNED *sd;
	const char *why;
	bool all = true, one;
	int n;

	f->pkcs7 = true;
	if ((why = fetch_pkcs7_signed(der, len, true, &p7)) != NULL)
		return why;
	sd = p7->d.sign;
	/* crl2pkcs7 leaves contents as type data with no eContent. */
	if (sk_PKCS7_SIGNER_INFO_num(sd->signer_info) > 0 ||
	    sd->contents == NULL || !PKCS7_type_is_data(sd->contents) ||
	    sd->contents->d.data != NULL) {
		why = "PKCS#7 with signers or content";
		goto done;
	}
	if ((n = sk_X509_num(sd->cert)) <= 0) {
		why = "PKCS#7 without certificates";
		goto done;
	}
	if ((why = fetch_cert_facts(sk_X509_value(sd->cert, 0), f)) != NULL)
		goto done;
	for (int i = 0; i < n; i++) {
		if ((why = fetch_cert_check(sk_X509_value(sd->cert, i), f)) !=
		        NULL ||
		    (why = fetch_cert_signature(
		         sk_X509_value(sd->cert, i), known, &one)) != NULL)
			goto done;
		all = all && one;
	}
	f->verified = all;
	f->count = (size_t)n;
done:
	PKCS7_free(p7);
	return why;
}

/*
 * Inspects <der> (<len> bytes) as a certificate if <x509>, as a PKCS#7
 * if <pkcs7>. DER bodies may be either (both start with a SEQUENCE: the
 * first decoder to take the body decides), a PEM block is what its label
 * says. Returns NULL, or the detail of the rule broken.
 */
static const char *
fetch_cert_der(const unsigned char *der, size_t len, bool x509, bool pkcs7,
    const STACK_OF(X509) * known, struct fetch_cert_facts *f)
{
	const char *why;
	bool parsed;

	if (len == 0 || len > LONG_MAX)
		return fetch_cert_words.not_what;
	if (x509) {
		why = fetch_cert_x509(der, len, known, f, &parsed);
		if (parsed || !pkcs7)
			return why;
	}
	why = fetch_cert_pkcs7(der, len, known, f);
	if (x509 && why == fetch_not_pkcs7) {
		f->pkcs7 = false;
		why = fetch_cert_words.not_what;
	}
	return why;
}

/*
 * The facts are filled as far as the checks got: f->pem and f->pkcs7
 * tell which form was tried, subject, issuer and serial are set once the
 * first certificate was reached, and f->count only on success.
 */
enum reason
fetch_inspect_cert(const unsigned char *body, size_t len,
    const STACK_OF(X509) * known, struct fetch_cert_facts *f,
    const char **detail)
{
	unsigned char *der = NULL;
	const char *why;
	bool pkcs7;
	long der_len;

	memset(f, 0, sizeof(*f));
	ERR_set_mark();
	if (body == NULL || len == 0) {
		why = fetch_cert_words.not_what;
	} else if (body[0] == FETCH_DER_SEQUENCE) {
		why = fetch_cert_der(body, len, true, true, known, f);
	} else {
		f->pem = true;
		pkcs7 = fetch_pem_starts(body, len, FETCH_PEM_LABEL_PKCS7);
		why = fetch_pem_decode(body, len,
		    pkcs7 ? FETCH_PEM_LABEL_PKCS7 : FETCH_PEM_LABEL_CERT,
		    &fetch_cert_words, &der, &der_len);
		if (why == NULL)
			why = fetch_cert_der(
			    der, (size_t)der_len, !pkcs7, pkcs7, known, f);
	}
	OPENSSL_free(der);
	ERR_pop_to_mark();
	if (detail != NULL)
		*detail = why;
	return why == NULL ? REASON_NONE : REASON_RESPONSE_MALFORMED;
}

/*
 * Checks a sequence-number text (authrootseq.txt and its kin hold the
 * list's sequence number in hexadecimal and a line break): hex digits
 * and white space only, at most FETCH_TEXT_MAX_BYTES. Anything more
 * would be bytes of the responder's choosing.
 */
static const char *
fetch_ctl_text(const unsigned char *body, size_t len)
{
	bool printable = true, hex = true;

	for (size_t i = 0; i < len && printable; i++) {
		unsigned char c = body[i];
		bool space = c == '\r' || c == '\n' || c == '\t' || c == ' ';

		printable = (c >= 0x20 && c <= 0x7e) || space;
		hex = hex && (space || hex_value(c) >= 0);
	}
	if (!printable)
		return "trust list text with binary bytes";
	if (!hex)
		return "trust list text not a hexadecimal sequence number";
	if (len > FETCH_TEXT_MAX_BYTES)
		return "trust list text over 64 bytes";
	return NULL;
}

/*
 * The name of the trust list a cabinet named <file> holds: "xstl.cab"
 * holds "x.stl" ([MS-CAESO]'s authrootstl.cab holds authroot.stl).
 * Writes it into <out> (<cap> bytes). Returns false for another name.
 */
static bool
fetch_cab_inner(const char *file, char *out, size_t cap)
{
	size_t n = strlen(file);

	if (n < sizeof("xstl.cab") - 1 ||
	    !fetch_equal_nocase(file + n - 7, 7, "stl.cab") || n - 3 >= cap)
		return false;
	memcpy(out, file, n - 7);
	memcpy(out + n - 7, ".stl", 5);
	return true;
}

/*
 * The format comes from <file>'s extension, whatever its case, and for
 * .sst from the body's first bytes (a serialized store opens with
 * "\0\0\0\0CERT", a PKCS#7 with a SEQUENCE); f->format is set as soon
 * as it is known, even when the body is then refused.
 */
enum reason
fetch_inspect_ctl(const unsigned char *body, size_t len, const char *file,
    X509_STORE *known, size_t max, struct fetch_ctl_facts *f,
    const char **detail)
{
	struct ctl_facts cf;
	char inner[CTL_CAB_FILE_MAX + 8];
	const char *why, *dot;

	memset(f, 0, sizeof(*f));
	memset(&cf, 0, sizeof(cf));
	ERR_set_mark();
	why = "not a trust-list file name";
	dot = file != NULL ? strrchr(file, '.') : NULL;
	if (dot == NULL) {
		/* No extension, no format. */
	} else if (fetch_equal_nocase(dot, strlen(dot), ".cab")) {
		f->format = FETCH_CTL_CAB;
		f->format_known = true;
		why = !fetch_cab_inner(file, inner, sizeof(inner))
		    ? "not a trust-list cabinet name"
		    : ctl_cab(body, len, inner, max, known, &cf);
	} else if (fetch_equal_nocase(dot, strlen(dot), ".sst") &&
	    ctl_is_store(body, len)) {
		f->format = FETCH_CTL_STORE;
		f->format_known = true;
		why = ctl_store(body, len, &cf);
	} else if (fetch_equal_nocase(dot, strlen(dot), ".sst") ||
	    fetch_equal_nocase(dot, strlen(dot), ".stl")) {
		f->format = FETCH_CTL_PKCS7;
		f->format_known = true;
		why = ctl_pkcs7(body, len, known, &cf);
	} else if (fetch_equal_nocase(dot, strlen(dot), ".txt")) {
		f->format = FETCH_CTL_TEXT;
		f->format_known = true;
		why = body == NULL && len != 0
		    ? "trust list text with binary bytes"
		    : fetch_ctl_text(body, len);
	}
	ERR_pop_to_mark();
	f->entries = cf.entries;
	f->verified = cf.verified;
	f->this_update = cf.this_update;
	f->unknown_extensions = cf.unknown_extensions;
	if (detail != NULL)
		*detail = why;
	return why == NULL ? REASON_NONE : REASON_RESPONSE_MALFORMED;
}

/*
 * The last segment is what follows the last '/' (all of <path> if none).
 * Nothing is decoded: "%2e" is not ".", so an escaped name is no match.
 * The copy keeps the segment's case; when <buf> cannot hold it, <buf>
 * gets "" (if <cap> > 0) and the result is still true.
 */
bool
fetch_ctl_file(const char *path, size_t len, char *buf, size_t cap)
{
	const char *seg;
	size_t i, n;

	if (path == NULL)
		return false;
	seg = path;
	for (i = len; i > 0; i--)
		if (path[i - 1] == '/') {
			seg = path + i;
			break;
		}
	n = len - (size_t)(seg - path);
	if (n == 0)
		return false;
	for (i = 0; i < sizeof(fetch_ctl_files) / sizeof(fetch_ctl_files[0]);
	     i++)
		if (fetch_equal_nocase(seg, n, fetch_ctl_files[i]))
			break;
	if (i == sizeof(fetch_ctl_files) / sizeof(fetch_ctl_files[0]))
		return false;
	if (buf != NULL && cap > n) {
		memcpy(buf, seg, n);
		buf[n] = '\0';
	} else if (buf != NULL && cap > 0) {
		buf[0] = '\0';
	}
	return true;
}

/*
 * The thumbprint Windows shows and names the file by is the SHA-1 of the
 * certificate's DER. A PEM body is decoded first, so that the same
 * certificate in either form gives the same answer.
 */
bool
fetch_thumbprint_matches(
    const unsigned char *body, size_t len, const unsigned char *thumbprint)
{
	unsigned char md[EVP_MAX_MD_SIZE], *der = NULL;
	unsigned int md_len = 0;
	long der_len = 0;
	bool ok = false;

	if (body == NULL || len == 0 || thumbprint == NULL)
		return false;
	ERR_set_mark();
	if (body[0] != FETCH_DER_SEQUENCE) {
		if (fetch_pem_decode(body, len, FETCH_PEM_LABEL_CERT,
		        &fetch_cert_words, &der, &der_len) != NULL)
			goto done;
		body = der;
		len = (size_t)der_len;
	}
	ok = EVP_Digest(body, len, md, &md_len, EVP_sha1(), NULL) == 1 &&
	    md_len == 20 && memcmp(md, thumbprint, 20) == 0;
done:
	OPENSSL_free(der);
	ERR_pop_to_mark();
	return ok;
}
