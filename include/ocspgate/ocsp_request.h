/*
 * OCSP request inspection: DER or GET path bytes in, facts and a verdict
 * out. Pure: no I/O, no logging, no globals.
 */
#ifndef OCSPGATE_OCSP_REQUEST_H
#define OCSPGATE_OCSP_REQUEST_H

#include <stdbool.h>
#include <stddef.h>

#include <openssl/x509.h>

#include "ocspgate/reason.h"

#define OCSP_REQUEST_MAX_CERTS 8   /* RFC 5019 clients send one */
#define OCSP_SERIAL_MAX_BYTES  20  /* RFC 5280 4.1.2.2 */
#define OCSP_NONCE_MAX_BYTES   128 /* RFC 9654 upper bound */
#define OCSP_HASH_MAX_BYTES    64  /* SHA-512 */
#define OCSP_GET_RFC5019_MAX   255 /* RFC 5019 5: longer should be POST */

/* The hash algorithms a certificate ID may use, by OpenSSL short name. */
enum ocsp_hash {
	OCSP_HASH_SHA1 = 0,
	OCSP_HASH_SHA224,
	OCSP_HASH_SHA256,
	OCSP_HASH_SHA384,
	OCSP_HASH_SHA512,
	OCSP_HASH_MAX
};

/* "sha1", ... ; NULL for an out-of-range value. */
const char *ocsp_hash_name(enum ocsp_hash h);

/* Digest length in bytes of <h>. */
size_t ocsp_hash_len(enum ocsp_hash h);

/*
 * The hash algorithm (enum ocsp_hash) whose OID has the content octets
 * <oid> (<len> bytes), or -1.
 */
int ocsp_hash_from_oid(const unsigned char *oid, size_t len);

/* OpenSSL's digest of <h>, or NULL for an out-of-range value. */
const EVP_MD *ocsp_hash_md(enum ocsp_hash h);

/* Observations recorded in ocsp.request.flags; bit values. */
enum ocsp_flag {
	OCSP_FLAG_GET_PERCENT_ENCODED = 1u << 0,
	OCSP_FLAG_GET_UNESCAPED_SLASH = 1u << 1,
	OCSP_FLAG_GET_SPACE_AS_PLUS = 1u << 2,
	OCSP_FLAG_GET_DOUBLE_SLASH = 1u << 3,
	OCSP_FLAG_GET_URL_SAFE_ALPHABET = 1u << 4,
	OCSP_FLAG_GET_UNPADDED = 1u << 5,
	OCSP_FLAG_GET_OVER_255_BYTES = 1u << 6,
	OCSP_FLAG_MULTIPLE_CERTS = 1u << 7,
	OCSP_FLAG_REQUESTOR_NAME = 1u << 8,
	OCSP_FLAG_SIGNED_REQUEST = 1u << 9,
	OCSP_FLAG_SINGLE_REQUEST_EXTENSIONS = 1u << 10,
	OCSP_FLAG_NONCE = 1u << 11,
	/* BER, not DER, in ways real clients encode (accepted, flagged). */
	OCSP_FLAG_EXPLICIT_DEFAULT_VERSION = 1u << 12, /* version [0] v1 */
	OCSP_FLAG_HASH_PARAMS_ABSENT = 1u << 13, /* CertID hash without NULL */
	OCSP_FLAG_EXPLICIT_CRITICAL_FALSE = 1u << 14, /* critical FALSE */
	OCSP_FLAG_COUNT = 15
};

/* Acceptable responses: at most this many response-type OIDs. */
#define OCSP_ACCEPT_MAX_TYPES 4
/* Preferred signature algorithms: at most this many preferences. */
#define OCSP_PREF_SIG_MAX 8

/*
 * The rules an inspection applies beyond the fixed ones: the nonce's
 * bound and the request fields few clients send, each refused unless
 * allowed (config: allow_requestor_name, allow_signed_requests,
 * allow_service_locator). A signed request names its signer in
 * requestorName (RFC 6960 4.1.2), so allow_signed also admits that.
 */
struct ocsp_request_rules {
	size_t max_nonce_bytes;
	bool allow_requestor_name;
	bool allow_signed;
	bool allow_service_locator;
};

/* The contract's name of flag bit number <bit> (0..OCSP_FLAG_COUNT-1). */
const char *ocsp_flag_name(unsigned bit);

struct ocsp_cert_id {
	enum ocsp_hash hash;
	unsigned char name_hash[OCSP_HASH_MAX_BYTES];
	unsigned char key_hash[OCSP_HASH_MAX_BYTES];
	size_t hash_len; /* of both hashes; equal to ocsp_hash_len(hash) */
	unsigned char serial[OCSP_SERIAL_MAX_BYTES]; /* magnitude, big-endian */
	size_t serial_len;
};

/*
 * What inspection learned. Filled as far as parsing got, so that a
 * refused request still logs what was understood. certs[] holds the
 * first ncerts certificate IDs that passed their own checks.
 */
struct ocsp_request_facts {
	unsigned flags; /* enum ocsp_flag bits */
	size_t ncerts;
	struct ocsp_cert_id certs[OCSP_REQUEST_MAX_CERTS];
	bool has_nonce;
	size_t nonce_len; /* octets of the nonce value */
	unsigned char nonce[OCSP_NONCE_MAX_BYTES]; /* its value */
	size_t der_len;     /* bytes of the DER request inspected */
	const char *detail; /* static text on why it was refused, or NULL */
};

/*
 * Decodes a GET request's OCSP part: <path> is what follows the
 * responder's path prefix (starting at the '/' after it, or at the end),
 * raw as it appeared on the request line, not normalised. Repairs real
 * clients need (see the contract) are applied and recorded as
 * OCSP_FLAG_GET_* bits in *flags (OR-ed in). Writes at most <cap> bytes of
 * DER into <der> and their count into *der_len.
 * Returns 0, or -1 when the path is not a decodable base64 DER blob
 * (the caller's reason is then REASON_NOT_OCSP).
 */
int ocsp_request_decode_get(const char *path, size_t path_len,
    unsigned char *der, size_t cap, size_t *der_len, unsigned *flags);

/*
 * Finds the OCSP request in a GET <path> (<path_len> bytes, starting at
 * the '/' after the responder's own path, raw as on the request line):
 * "<prefix>/<url-encoded base64 of the DER>", where <prefix> is what
 * stood in the AIA URL before it (empty, "/gts1c3", "/s/we1/coM").
 * Base64 may hold '/' itself, so the split is the one with the longest
 * suffix that decodes (ocsp_request_decode_get()) into exactly one DER
 * SEQUENCE, trying each '/' from the left while the prefix before it is
 * AIA-shaped (path_shape_ocsp_prefix()). The split is unique: a shorter
 * suffix is never looked at once a longer one decoded. On success
 * *prefix_len is the prefix's length, the DER is in <der> (at most <cap>
 * bytes), *der_len its length, and the GET repairs are OR-ed into
 * *flags.
 * Returns 0; -1 when no split decodes; -2 when none decoded before a
 * prefix segment broke the AIA shape (too long, too many, another
 * alphabet).
 */
int ocsp_request_split_get(const char *path, size_t path_len,
    unsigned char *der, size_t cap, size_t *der_len, unsigned *flags,
    size_t *prefix_len);

/*
 * Inspects one DER OCSPRequest of <len> bytes against every rule of the
 * contract's "What is allowed" item 3: exact length, canonical DER but
 * for the content-free BER variants real clients produce (an explicit
 * version v1, an explicit critical FALSE: accepted and flagged),
 * 1..OCSP_REQUEST_MAX_CERTS cert IDs with known hash algorithms (NULL or
 * absent parameters, the latter flagged) and hashes of the right length,
 * positive serials of at most 20 octets, a nonce of 1..max_nonce_bytes
 * octets, acceptable responses and preferred signature algorithms of
 * known algorithms only, no other extension; requestorName, a signature
 * and a service locator only as <rules> allow.
 * <f> must be zeroed by the caller, except f->flags, which may already
 * hold GET flags; inspection adds to them.
 * Returns REASON_NONE when the request is well formed, else
 * REASON_OCSP_MALFORMED with f->detail set.
 */
enum reason ocsp_request_inspect_rules(const unsigned char *der, size_t len,
    const struct ocsp_request_rules *rules, struct ocsp_request_facts *f);

/*
 * ocsp_request_inspect_rules() in one pass over the bytes, without
 * decoding or allocating: when the request is DER throughout and holds
 * only the fields genuine clients send (no requestorName, no signature;
 * an explicit version v1, absent hash parameters and an explicit
 * critical FALSE are read as the full inspection reads them), returns 0
 * with *verdict and <f> exactly as ocsp_request_inspect_rules() gives
 * them. Otherwise returns -1 and leaves <f> untouched: the full
 * inspection, which decodes with OpenSSL, decides (and
 * ocsp_request_inspect_rules() hands it over by itself).
 */
int ocsp_request_inspect_fast(const unsigned char *der, size_t len,
    const struct ocsp_request_rules *rules, struct ocsp_request_facts *f,
    enum reason *verdict);

/* As ocsp_request_inspect_rules() with every switch of the rules off. */
enum reason ocsp_request_inspect(const unsigned char *der, size_t len,
    size_t max_nonce_bytes, struct ocsp_request_facts *f);

/*
 * A trusted issuer, precomputed for every hash algorithm so that matching
 * a certificate ID is a comparison: issuerNameHash is the hash of the DER
 * subject name, issuerKeyHash the hash of the public key's BIT STRING
 * value (RFC 6960 4.1.1).
 */
struct ocsp_issuer {
	unsigned char name_hash[OCSP_HASH_MAX][OCSP_HASH_MAX_BYTES];
	unsigned char key_hash[OCSP_HASH_MAX][OCSP_HASH_MAX_BYTES];
};

/* Fills <out> from <cert>. Returns 0, or -1 if a digest fails. */
int ocsp_issuer_from_cert(X509 *cert, struct ocsp_issuer *out);

/*
 * True when every certificate ID in <f> names one of the <n> issuers
 * (both hashes equal under the ID's algorithm). False when f->ncerts is 0.
 */
bool ocsp_request_issuers_match(const struct ocsp_request_facts *f,
    const struct ocsp_issuer *issuers, size_t n);

#endif
