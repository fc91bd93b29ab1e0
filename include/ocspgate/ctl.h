/*
 * Windows trust lists as Windows Update serves them: a certificate trust
 * list (CTL, [MS-CAESO]) signed as PKCS#7, alone (.stl, .sst) or the one
 * file of a cabinet (.cab, [MS-CAB]); and the serialized certificate
 * store Windows tools write (.sst). Each is read to its last byte and
 * must hold a trust list, or certificates, and nothing else.
 * Pure: no I/O, no clock, no globals. OpenSSL's error queue is left as
 * it was found.
 */
#ifndef OCSPGATE_CTL_H
#define OCSPGATE_CTL_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#include <openssl/x509.h>

#define CTL_MAX_SIGNER_CERTS 8     /* certificates in a CTL's PKCS#7 */
#define CTL_ATTR_MAX         4096  /* bytes of one subject attribute value */
#define CTL_EXT_MAX          16384 /* bytes of one ctlExtensions value */
#define CTL_CAB_FILE_MAX     256   /* bytes of the file name in a cabinet */

/* What a trust list held. */
struct ctl_facts {
	size_t entries;     /* trusted subjects, or a store's certificates */
	bool verified;      /* its signer chains to a known CA */
	time_t this_update; /* the list's ThisUpdate, 0 if not plain */
	unsigned unknown_extensions; /* in its certificates */
};

/*
 * Reads <der> (<len> bytes) as one DER PKCS#7 SignedData whose content
 * is a certificate trust list (1.3.6.1.4.1.311.10.1): the list's fields
 * as [MS-CAESO] defines them, subject usages and attributes under
 * Microsoft's arc, each bounded; one signer, whose signed attributes
 * name the CTL as content type and carry its digest (over the list's
 * content octets, as PKCS#7 1.5 9.3 says), and whose signature verifies
 * with the key of its certificate among the file's (at most
 * CTL_MAX_SIGNER_CERTS, with only known extensions). f->verified when
 * that certificate chains to <known> (may be NULL).
 * Returns NULL, or a short static text of the rule broken.
 */
const char *ctl_pkcs7(const unsigned char *der, size_t len, X509_STORE *known,
    struct ctl_facts *f);

/*
 * Reads <body> (<len> bytes) as one cabinet: a header whose size is
 * <len>, one folder, one file named <inner> (case aside) that fills the
 * folder from its start, CFDATA blocks with valid checksums, stored or
 * MSZIP-compressed (each block inflated with the previous 32 KiB as its
 * dictionary, to exactly its announced size), nothing after them. The
 * file, of at most <max> bytes, must be a trust list as ctl_pkcs7()
 * reads it. Returns NULL, or a short static text of the rule broken.
 */
const char *ctl_cab(const unsigned char *body, size_t len, const char *inner,
    size_t max, X509_STORE *known, struct ctl_facts *f);

/*
 * Reads <body> (<len> bytes) as a serialized certificate store
 * (CERT_STORE_PROV_SERIALIZED): "\0\0\0\0CERT", then for each
 * certificate its properties and the certificate itself (each element:
 * property ID, encoding 1, length, bytes, little-endian), then twelve
 * zero bytes, and nothing else. Only certificates (at least one), each
 * one DER X.509 with only known extensions; only the properties
 * Windows writes for roots, each at most once per certificate: hashes
 * equal to the certificate's (SHA-1, MD5, SHA-256, subject name MD5, key
 * identifier), a friendly name of printable UTF-16, key usages as DER
 * lists of OIDs, policies as DER, FILETIMEs of 8 bytes.
 * Returns NULL, or a short static text of the rule broken.
 */
const char *ctl_store(
    const unsigned char *body, size_t len, struct ctl_facts *f);

/* True when <body> (<len> bytes) opens as a serialized store does. */
bool ctl_is_store(const unsigned char *body, size_t len);

#endif
