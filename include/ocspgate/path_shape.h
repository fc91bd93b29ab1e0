/*
 * The shapes a certificate-status request's path and names may take:
 * OCSP GET prefixes and POST paths as certificates' AIA URLs write them,
 * CRL and issuer-certificate paths as CDP and caIssuers URLs write them,
 * the trust-list paths Windows fetches, and the one label a wildcard
 * responder matches. Anything longer, deeper or of another alphabet
 * could carry data, so it is refused. Pure: no I/O, no globals.
 */
#ifndef OCSPGATE_PATH_SHAPE_H
#define OCSPGATE_PATH_SHAPE_H

#include <stdbool.h>
#include <stddef.h>

/*
 * OCSP: the path of an AIA OCSP URL, e.g. "/gts1c3", "/s/we1/coM",
 * "/ca/gsatlasr3dvtlsca2024q4", "/VA/AUTH-G3", "/ocsp".
 */
#define PATH_SHAPE_OCSP_SEGMENTS    4  /* "/s/we1/coM" has 3 */
#define PATH_SHAPE_OCSP_SEGMENT_MAX 48 /* a 40-hex-digit key id fits */
#define PATH_SHAPE_OCSP_MAX         96 /* bytes of the whole prefix */

/*
 * Fetches: CDP and caIssuers paths, e.g. "/pki/crl/products/x.crl",
 * "/msdownload/update/v3/static/trustedr/en/authrootstl.cab" (7).
 */
#define PATH_SHAPE_FETCH_SEGMENTS 8
#define PATH_SHAPE_FETCH_DIR_MAX  64  /* one directory segment */
#define PATH_SHAPE_FETCH_FILE_MAX 128 /* the file segment, escapes as sent */
#define PATH_SHAPE_FETCH_MAX      256 /* bytes of the whole path */
#define PATH_SHAPE_ESCAPE_BUDGET  2   /* escapes a client would not need */

/* A host label matched by a "*." responder. */
#define PATH_SHAPE_LABEL_MAX 32

/* Windows trust lists. */
#define PATH_SHAPE_CTL_QUERY_LEN  16 /* "?<16 hex digits>" cache-buster */
#define PATH_SHAPE_THUMBPRINT_LEN 20 /* SHA-1 */

/*
 * True when <p> (<len> bytes) is an OCSP path prefix of AIA shape: empty,
 * or 1..PATH_SHAPE_OCSP_SEGMENTS segments "/seg" of 1..48 letters,
 * digits, '-', '_' and '.', at most PATH_SHAPE_OCSP_MAX bytes in all.
 */
bool path_shape_ocsp_prefix(const char *p, size_t len);

/*
 * True when <path> is where a POST may carry an OCSP request: an OCSP
 * prefix (see above), or one followed by a single '/' ("/", "/ocsp/").
 */
bool path_shape_ocsp_post(const char *path, size_t len);

/* What a fetch path must end as. */
enum path_shape_fetch {
	PATH_SHAPE_CRL = 0,  /* ".crl", "/" or Actalis' ".../getLastCRL" */
	PATH_SHAPE_CA_ISSUER /* ".crt" ".cer" ".der" ".p7c", "/" or 40 hex */
};

/*
 * Checks a CRL or issuer-certificate path (no query) against the fetch
 * bounds: at most PATH_SHAPE_FETCH_SEGMENTS segments and
 * PATH_SHAPE_FETCH_MAX bytes; directory segments of letters, digits,
 * '-', '_', '.'; the file segment also with '(', ')', '+' and "%20",
 * and at most PATH_SHAPE_ESCAPE_BUDGET other escapes (of printable
 * ASCII other than '/', '.', '%', or of non-ASCII bytes); the ending
 * <cls> requires. Returns NULL, or a short static text saying why not.
 */
const char *path_shape_fetch(
    enum path_shape_fetch cls, const char *path, size_t len);

/* A Windows trust-list request, as path_shape_ctl() understood it. */
struct path_shape_ctl {
	const char *file; /* last segment: the file name as sent */
	size_t file_len;
	bool root; /* "<40 hex>.crt": a root by its thumbprint */
	unsigned char thumbprint[PATH_SHAPE_THUMBPRINT_LEN]; /* when root */
};

/*
 * Checks a trust-list request: <path> (<len> bytes) must be <dir>
 * (<dir_len> bytes; NULL for Windows Update's
 * "/msdownload/update/v3/static/trustedr/<lang>", lang being 2..5 of
 * a-z and '-') followed by "/" and a trust-list file Windows fetches
 * (fetch_ctl_file()) or "<40 hex digits>.crt", a root certificate named
 * by its SHA-1 thumbprint. <query> (<qlen> bytes, without '?'; NULL:
 * none) may only be the 16-hex-digit cache-buster CryptoAPI puts on the
 * "*stl.cab" files. Returns NULL with *out filled, or a short static
 * text saying why not.
 */
const char *path_shape_ctl(const char *path, size_t len, const char *dir,
    size_t dir_len, const char *query, size_t qlen, struct path_shape_ctl *out);

/*
 * True when <label> (<len> bytes) may stand where a "*." responder has
 * its '*': one DNS label of 1..PATH_SHAPE_LABEL_MAX letters, digits and
 * '-', neither starting nor ending with '-'.
 */
bool path_shape_wildcard_label(const char *label, size_t len);

#endif
