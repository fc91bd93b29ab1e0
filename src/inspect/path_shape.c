/*
 * Path and name shapes of certificate-status requests: what real AIA,
 * CDP and Windows Update URLs look like, bounded so that a path cannot
 * become a carrier. Pure: no I/O, no logging, no globals.
 */
#include <string.h>

#include "ocspgate/fetch.h"
#include "ocspgate/hex.h"
#include "ocspgate/path_shape.h"

/* Windows Update's trust-list directory, up to the language segment. */
static const char path_shape_ctl_dir[] =
    "/msdownload/update/v3/static/trustedr/";
#define PATH_SHAPE_LANG_MIN 2 /* "en" */
#define PATH_SHAPE_LANG_MAX 5 /* "en-us" */

/* The file endings of issuer certificates, lower case. */
static const char *const path_shape_cert_ext[] = {
    ".crt", ".cer", ".der", ".p7c"};

/*
 * Extensionless CRL file names of public CAs: Actalis' CDPs end in
 * "/Repository/<CA>/getLastCRL". Compared case-insensitively.
 */
static const char *const path_shape_crl_names[] = {"getlastcrl"};

static bool
path_shape_alnum(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	    (c >= '0' && c <= '9');
}

/* The alphabet of AIA path segments: letters, digits, '-', '_', '.'. */
static bool
path_shape_aia_char(unsigned char c)
{
	return path_shape_alnum(c) || c == '-' || c == '_' || c == '.';
}

static unsigned char
path_shape_lower(unsigned char c)
{
	return c >= 'A' && c <= 'Z' ? (unsigned char)(c - 'A' + 'a') : c;
}

/* True when the <n> bytes at <a> end with <lower> but for case. */
static bool
path_shape_ends_nocase(const char *a, size_t n, const char *lower)
{
	size_t k = strlen(lower);

	if (n < k)
		return false;
	for (size_t i = 0; i < k; i++)
		if (path_shape_lower((unsigned char)a[n - k + i]) !=
		    (unsigned char)lower[i])
			return false;
	return true;
}

/* True when the <n> bytes at <p> are all hex digits. */
static bool
path_shape_all_hex(const char *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (hex_value((unsigned char)p[i]) == -1)
			return false;
	return true;
}

/*
 * True when <seg> (<n> bytes, no '/') is an AIA segment of at most <max>
 * bytes. "." and ".." never are: an upstream would resolve them.
 */
static bool
path_shape_aia_segment(const char *seg, size_t n, size_t max)
{
	if (n == 0 || n > max)
		return false;
	if ((n == 1 && seg[0] == '.') ||
	    (n == 2 && seg[0] == '.' && seg[1] == '.'))
		return false;
	for (size_t i = 0; i < n; i++)
		if (!path_shape_aia_char((unsigned char)seg[i]))
			return false;
	return true;
}

bool
path_shape_ocsp_prefix(const char *p, size_t len)
{
	size_t i = 0, segs = 0;

	if (len == 0)
		return true;
	if (p == NULL || len > PATH_SHAPE_OCSP_MAX || p[0] != '/')
		return false;
	while (i < len) {
		size_t start = ++i; /* past the '/' */

		while (i < len && p[i] != '/')
			i++;
		if (++segs > PATH_SHAPE_OCSP_SEGMENTS ||
		    !path_shape_aia_segment(
		        p + start, i - start, PATH_SHAPE_OCSP_SEGMENT_MAX))
			return false;
	}
	return true;
}

bool
path_shape_ocsp_post(const char *path, size_t len)
{
	if (path == NULL || len == 0 || path[0] != '/')
		return false;
	/* A trailing '/' as AIA URLs such as ".../OCSP/VCA5/" end. */
	if (path[len - 1] == '/')
		len--;
	return path_shape_ocsp_prefix(path, len);
}

/*
 * Checks the file segment of a fetch path: letters, digits, '-', '_',
 * '.', '(', ')', '+' (AD CS names delta CRLs "CA(1)+.crl"), "%20" (CA
 * names with spaces), and at most PATH_SHAPE_ESCAPE_BUDGET other
 * escapes. Returns NULL, or why not.
 */
static const char *
path_shape_file_segment(const char *seg, size_t n)
{
	size_t escapes = 0;

	if (n > PATH_SHAPE_FETCH_FILE_MAX)
		return "file name too long";
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)seg[i];
		int hi, lo, v;

		if (path_shape_aia_char(c) || c == '(' || c == ')' || c == '+')
			continue;
		if (c != '%')
			return "character outside the CDP/AIA alphabet";
		if (n - i < 3 ||
		    (hi = hex_value((unsigned char)seg[i + 1])) == -1 ||
		    (lo = hex_value((unsigned char)seg[i + 2])) == -1)
			return "broken escape";
		v = hi << 4 | lo;
		i += 2;
		if (v == ' ')
			continue; /* a space must be escaped */
		/* Structure and controls are never escaped by a client. */
		if (v < 0x20 || v == 0x7f || v == '/' || v == '.' || v == '%')
			return "escape of a control or path character";
		if (++escapes > PATH_SHAPE_ESCAPE_BUDGET)
			return "too many escapes a client would not need";
	}
	return NULL;
}

/* True when the file segment <f> (<n> bytes) ends as <cls> requires. */
static bool
path_shape_fetch_ending(enum path_shape_fetch cls, const char *f, size_t n)
{
	size_t i;

	if (cls == PATH_SHAPE_CRL) {
		if (path_shape_ends_nocase(f, n, ".crl"))
			return true;
		for (i = 0; i < sizeof(path_shape_crl_names) /
		         sizeof(path_shape_crl_names[0]);
		     i++)
			if (n == strlen(path_shape_crl_names[i]) &&
			    path_shape_ends_nocase(
			        f, n, path_shape_crl_names[i]))
				return true;
		return false;
	}
	for (i = 0;
	     i < sizeof(path_shape_cert_ext) / sizeof(path_shape_cert_ext[0]);
	     i++)
		if (path_shape_ends_nocase(f, n, path_shape_cert_ext[i]))
			return true;
	/* SwissSign: ".../cgi-bin/authority/download/<key id in hex>". */
	return n == 2 * PATH_SHAPE_THUMBPRINT_LEN && path_shape_all_hex(f, n);
}

const char *
path_shape_fetch(enum path_shape_fetch cls, const char *path, size_t len)
{
	size_t i = 0, segs = 0, start = 0;
	const char *why;

	if (path == NULL || len == 0 || path[0] != '/')
		return "path does not start with '/'";
	if (len > PATH_SHAPE_FETCH_MAX)
		return "path too long";
	/* The host's root: Let's Encrypt's "http://x1.c.lencr.org/". */
	if (len == 1)
		return NULL;
	while (i < len) {
		start = ++i;
		while (i < len && path[i] != '/')
			i++;
		if (++segs > PATH_SHAPE_FETCH_SEGMENTS)
			return "path too deep";
		if (i < len &&
		    !path_shape_aia_segment(
		        path + start, i - start, PATH_SHAPE_FETCH_DIR_MAX))
			return "directory outside the CDP/AIA alphabet";
	}
	if (start == len)
		return "path ends in '/'";
	if (len - start <= 2 && path[start] == '.' &&
	    (len - start == 1 || path[start + 1] == '.'))
		return "dot segment";
	if ((why = path_shape_file_segment(path + start, len - start)) != NULL)
		return why;
	if (!path_shape_fetch_ending(cls, path + start, len - start))
		return cls == PATH_SHAPE_CRL
		    ? "CRL path does not end in .crl"
		    : "issuer path does not end in .crt, .cer, .der or .p7c";
	return NULL;
}

/*
 * Checks the directory of a trust-list path: <p> (<n> bytes, up to the
 * last '/') is <dir> or, when <dir> is NULL, Windows Update's
 * ".../trustedr/<lang>". Returns NULL, or why not.
 */
static const char *
path_shape_ctl_dir_ok(const char *p, size_t n, const char *dir, size_t dir_len)
{
	const size_t base = sizeof(path_shape_ctl_dir) - 1;

	if (dir != NULL)
		return n == dir_len && memcmp(p, dir, n) == 0
		    ? NULL
		    : "not the trust-list directory of the entry";
	if (n < base + PATH_SHAPE_LANG_MIN || n > base + PATH_SHAPE_LANG_MAX ||
	    memcmp(p, path_shape_ctl_dir, base) != 0)
		return "not Windows Update's trust-list directory";
	for (size_t i = base; i < n; i++)
		if (!((p[i] >= 'a' && p[i] <= 'z') || p[i] == '-'))
			return "not Windows Update's trust-list directory";
	return NULL;
}

const char *
path_shape_ctl(const char *path, size_t len, const char *dir, size_t dir_len,
    const char *query, size_t qlen, struct path_shape_ctl *out)
{
	const size_t hex = 2 * PATH_SHAPE_THUMBPRINT_LEN;
	const char *file, *why;
	size_t n, i;

	memset(out, 0, sizeof(*out));
	if (path == NULL || len == 0 || path[0] != '/')
		return "path does not start with '/'";
	if (len > PATH_SHAPE_FETCH_MAX)
		return "path too long";
	for (i = len; path[i - 1] != '/'; i--)
		;
	file = path + i;
	n = len - i;
	if ((why = path_shape_ctl_dir_ok(path, i - 1, dir, dir_len)) != NULL)
		return why;
	out->file = file;
	out->file_len = n;
	if (n == hex + 4 && path_shape_all_hex(file, hex) &&
	    path_shape_ends_nocase(file, n, ".crt")) {
		out->root = true;
		for (i = 0; i < PATH_SHAPE_THUMBPRINT_LEN; i++)
			out->thumbprint[i] =
			    (unsigned char)(hex_value(
			                        (unsigned char)file[2 * i])
			            << 4 |
			        hex_value((unsigned char)file[2 * i + 1]));
	} else if (!fetch_ctl_file(file, n, NULL, 0)) {
		return "not a trust-list file Windows fetches";
	}
	if (query == NULL)
		return NULL;
	/* CryptoAPI's cache-buster, seen on the *stl.cab files only. */
	if (out->root || !path_shape_ends_nocase(file, n, "stl.cab"))
		return "query on a trust-list file that takes none";
	if (qlen != PATH_SHAPE_CTL_QUERY_LEN ||
	    !path_shape_all_hex(query, qlen))
		return "query is not 16 hex digits";
	return NULL;
}

bool
path_shape_wildcard_label(const char *label, size_t len)
{
	if (label == NULL || len == 0 || len > PATH_SHAPE_LABEL_MAX ||
	    label[0] == '-' || label[len - 1] == '-')
		return false;
	for (size_t i = 0; i < len; i++)
		if (!path_shape_alnum((unsigned char)label[i]) &&
		    label[i] != '-')
			return false;
	return true;
}
