/*
 * The other fetches Windows chain building makes on port 80: CRLs (CDP),
 * issuer certificates (AIA caIssuers) and certificate trust lists from
 * Windows Update. Each answer must be what its class promises, parsed
 * with OpenSSL. Pure: bytes in, facts out; no I/O, no globals.
 */
#ifndef OCSPGATE_FETCH_H
#define OCSPGATE_FETCH_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#include <openssl/x509.h>

#include "ocspgate/reason.h"

#define FETCH_NAME_MAX   256 /* RFC 2253 text of a name, truncated */
#define FETCH_SERIAL_MAX 20
#define FETCH_TIME_LEN   21 /* "2026-11-26T19:00:00Z" + NUL */

/* What a CRL said. */
struct fetch_crl_facts {
	char issuer[FETCH_NAME_MAX];
	unsigned char number[FETCH_SERIAL_MAX]; /* cRLNumber magnitude */
	size_t number_len;                      /* 0: none */
	char this_update[FETCH_TIME_LEN];
	char next_update[FETCH_TIME_LEN]; /* "" when absent */
	size_t entries;                   /* revoked certificates */
	bool pem;
	bool verified; /* its signature verified with a known issuer's key */
	unsigned unknown_extensions; /* bounded, counted */
};

/* What an issuer-certificate answer held (its first certificate). */
struct fetch_cert_facts {
	char subject[FETCH_NAME_MAX];
	char issuer[FETCH_NAME_MAX];
	unsigned char serial[FETCH_SERIAL_MAX]; /* magnitude */
	size_t serial_len;
	size_t count; /* certificates in the answer (PKCS#7: >= 1) */
	bool pkcs7;
	bool pem;
	unsigned unknown_extensions; /* bounded, counted */
	bool verified; /* every certificate verified with a known CA's key */
};

/* How a trust list was packaged. */
enum fetch_ctl_format {
	FETCH_CTL_CAB = 0, /* Microsoft cabinet ("MSCF") */
	FETCH_CTL_PKCS7,   /* .sst / .stl: PKCS#7 SignedData */
	FETCH_CTL_TEXT,    /* .txt: short printable text */
	FETCH_CTL_STORE    /* .sst: serialized certificate store */
};

/* What a trust-list answer was. */
struct fetch_ctl_facts {
	enum fetch_ctl_format format;
	bool format_known;  /* the file name gave a format */
	size_t entries;     /* trusted subjects, or a store's certificates */
	bool verified;      /* signed by a chain to a known CA */
	time_t this_update; /* a signed list's ThisUpdate, 0: none */
	unsigned unknown_extensions;
};

/* "cab", "pkcs7", "text", "store". */
const char *fetch_ctl_format_name(enum fetch_ctl_format f);

/*
 * Each inspects a whole answer body of <len> bytes. Returns REASON_NONE,
 * or REASON_RESPONSE_MALFORMED with *detail set to a short static text.
 *
 * fetch_inspect_crl: one DER X509_CRL of exactly <len> bytes, or one PEM
 * "X509 CRL" block (nothing but whitespace around it); its extensions
 * and its entries' as pkix_crl_extensions() allows; its signature
 * verified when a CA of <known> (may be NULL) has its issuer's name:
 * refused when it verifies with none of them, f->verified when it
 * does; else of the shape its algorithm gives.
 * fetch_inspect_cert: one DER or PEM certificate, or a DER/PEM PKCS#7
 * SignedData holding certificates only (no signers, no content), the
 * form of .p7c files; each certificate's extensions as
 * pkix_cert_extensions() allows, and its signature verified, as a
 * CRL's, when a CA of <known> (may be NULL) has its issuer's name:
 * refused when it verifies with none of them; f->verified when every
 * certificate of the answer verified so.
 * fetch_inspect_ctl: for <file> "xstl.cab" a cabinet holding only
 * "x.stl" (ctl_cab(), at most <max> bytes unpacked); for "x.stl" and a
 * PKCS#7 "x.sst" a signed certificate trust list (ctl_pkcs7(), verified
 * against <known>, may be NULL); for a serialized "x.sst" a store of
 * certificates (ctl_store()); for "x.txt" printable ASCII (and CR, LF,
 * tab) only, at most 64 KiB.
 */
enum reason fetch_inspect_crl(const unsigned char *body, size_t len,
    const STACK_OF(X509) * known, struct fetch_crl_facts *f,
    const char **detail);
enum reason fetch_inspect_cert(const unsigned char *body, size_t len,
    const STACK_OF(X509) * known, struct fetch_cert_facts *f,
    const char **detail);
enum reason fetch_inspect_ctl(const unsigned char *body, size_t len,
    const char *file, X509_STORE *known, size_t max, struct fetch_ctl_facts *f,
    const char **detail);

/*
 * True when the last segment of <path> (<len> bytes, no query) names a
 * trust-list file Windows fetches: authrootstl.cab, disallowedcertstl.cab,
 * pinrulesstl.cab, and authroot.stl, disallowedcert.stl, pinrules.stl,
 * authrootseq.txt, disallowedcertseq.txt, pinrulesseq.txt, and the .sst
 * forms (roots.sst, updroots.sst, authroots.sst, delroots.sst,
 * disallowedcert.sst) — compared case-insensitively. Sets
 * *file to that segment (NUL-terminated copy in <buf> of <cap> bytes).
 */
bool fetch_ctl_file(const char *path, size_t len, char *buf, size_t cap);

/*
 * For a root certificate Windows' automatic root update fetched by its
 * thumbprint ("<40 hex>.crt"): true when the SHA-1 of the certificate in
 * <body> (<len> bytes; DER, or one PEM block decoded) equals
 * <thumbprint> (20 bytes). Call after fetch_inspect_cert() accepted
 * <body>.
 */
bool fetch_thumbprint_matches(
    const unsigned char *body, size_t len, const unsigned char *thumbprint);

#endif
