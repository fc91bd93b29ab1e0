/*
 * Builders for the unit tests of trust lists (test_ctl.c, test_fetch.c):
 * a certificate trust list as [MS-CAESO] 2.2.4 lays it out, signed as
 * PKCS#7 the way Microsoft's files are (the list's SEQUENCE as the
 * content, its content octets digested), a cabinet holding it ([MS-CAB],
 * stored or MSZIP), and a serialized certificate store (the layout
 * Wine's crypt32 serialize.c writes and Windows' own files have).
 * Every builder aborts on an internal failure: it is test set-up.
 */
#ifndef OCSPGATE_TEST_CTL_MAKE_H
#define OCSPGATE_TEST_CTL_MAKE_H

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <zlib.h>

#include <openssl/evp.h>
#include <openssl/objects.h>
#include <openssl/pkcs7.h>
#include <openssl/x509.h>

/* A heap buffer the builders return; the caller frees d. */
struct mk {
	unsigned char *d;
	size_t n;
};

static void
mk_put(struct mk *b, const void *p, size_t n)
{
	unsigned char *d = realloc(b->d, b->n + n + 1);

	if (d == NULL)
		abort();
	b->d = d;
	if (n > 0)
		memcpy(b->d + b->n, p, n);
	b->n += n;
}

/* Appends a TLV with a minimal DER length. */
static void
mk_tlv(struct mk *b, unsigned tag, const void *c, size_t n)
{
	unsigned char h[6];
	size_t hl = 0;

	h[hl++] = (unsigned char)tag;
	if (n < 0x80) {
		h[hl++] = (unsigned char)n;
	} else if (n < 0x100) {
		h[hl++] = 0x81;
		h[hl++] = (unsigned char)n;
	} else if (n < 0x10000) {
		h[hl++] = 0x82;
		h[hl++] = (unsigned char)(n >> 8);
		h[hl++] = (unsigned char)n;
	} else {
		h[hl++] = 0x83;
		h[hl++] = (unsigned char)(n >> 16);
		h[hl++] = (unsigned char)(n >> 8);
		h[hl++] = (unsigned char)n;
	}
	mk_put(b, h, hl);
	mk_put(b, c, n);
}

/* Appends the DER OID of dotted <text>. */
static void
mk_oid(struct mk *b, const char *text)
{
	ASN1_OBJECT *o = OBJ_txt2obj(text, 1);
	unsigned char *der = NULL;
	int n;

	if (o == NULL || (n = i2d_ASN1_OBJECT(o, &der)) <= 0)
		abort();
	mk_put(b, der, (size_t)n);
	OPENSSL_free(der);
	ASN1_OBJECT_free(o);
}

/* Wraps <in> as a TLV of <tag> appended to <out>; frees <in>. */
static void
mk_wrap(struct mk *out, unsigned tag, struct mk *in)
{
	mk_tlv(out, tag, in->d, in->n);
	free(in->d);
	in->d = NULL;
	in->n = 0;
}

/* What a trust list holds. */
struct mk_ctl {
	size_t entries;    /* trusted subjects, SHA-1 identifiers */
	size_t attr_len;   /* bytes of each subject's friendly name */
	const char *attr;  /* its OID; NULL: 1.3.6.1.4.1.311.10.11.11 */
	const char *usage; /* NULL: 1.3.6.1.4.1.311.10.3.9 (root list) */
	size_t ext_len;    /* one ctlExtension of this size; 0: none */
	const char *ext;   /* its OID; NULL: 1.3.6.1.4.1.311.10.3.52 */
	bool version;      /* an explicit version INTEGER 0 */
	size_t trailing;   /* bytes of a NULL-free OCTET STRING after all */
	int time_tag;      /* ThisUpdate's tag (0x17, 0x18); 0: UTCTime */
	const char *time;  /* and text; NULL: "250616175611Z" */
};

/* The DER of the CertificateTrustList <c> describes. */
static struct mk
mk_ctl_list(const struct mk_ctl *c)
{
	struct mk list = {0}, usage = {0}, alg = {0}, subjects = {0};
	unsigned char id[20];

	if (c->version)
		mk_tlv(&list, 0x02, "\x00", 1);
	mk_oid(&usage, c->usage != NULL ? c->usage : "1.3.6.1.4.1.311.10.3.9");
	mk_wrap(&list, 0x30, &usage);
	mk_tlv(&list, 0x02, "\x01\xd6\xcf\x3f", 4);
	mk_tlv(&list, c->time_tag != 0 ? c->time_tag : 0x17,
	    c->time != NULL ? c->time : "250616175611Z",
	    c->time != NULL ? strlen(c->time) : 13);
	mk_oid(&alg, "1.3.14.3.2.26");
	mk_tlv(&alg, 0x05, NULL, 0);
	mk_wrap(&list, 0x30, &alg);
	for (size_t i = 0; i < c->entries; i++) {
		struct mk entry = {0}, attrs = {0}, attr = {0}, values = {0};
		unsigned char *name = malloc(c->attr_len + 1);

		if (name == NULL)
			abort();
		memset(id, (int)(0x40 + i % 64), sizeof(id));
		id[0] = (unsigned char)i;
		mk_tlv(&entry, 0x04, id, sizeof(id));
		if (c->attr_len > 0) {
			memset(name, 'n', c->attr_len);
			mk_oid(&attr,
			    c->attr != NULL ? c->attr
			                    : "1.3.6.1.4.1.311.10.11.11");
			mk_tlv(&values, 0x04, name, c->attr_len);
			mk_wrap(&attr, 0x31, &values);
			mk_wrap(&attrs, 0x30, &attr);
			mk_wrap(&entry, 0x31, &attrs);
		}
		mk_wrap(&subjects, 0x30, &entry);
		free(name);
	}
	if (c->entries > 0)
		mk_wrap(&list, 0x30, &subjects);
	if (c->ext_len > 0) {
		struct mk exts = {0}, ext = {0}, v = {0}, x = {0};
		unsigned char *fill = calloc(1, c->ext_len);

		if (fill == NULL)
			abort();
		mk_tlv(&v, 0x04, fill, c->ext_len);
		mk_oid(
		    &ext, c->ext != NULL ? c->ext : "1.3.6.1.4.1.311.10.3.52");
		mk_wrap(&ext, 0x04, &v);
		mk_wrap(&exts, 0x30, &ext);
		mk_wrap(&x, 0x30, &exts);
		mk_wrap(&list, 0xa0, &x);
		free(fill);
	}
	if (c->trailing > 0) {
		unsigned char *fill = malloc(c->trailing);

		if (fill == NULL)
			abort();
		memset(fill, 't', c->trailing);
		mk_tlv(&list, 0x04, fill, c->trailing);
		free(fill);
	}
	{
		struct mk out = {0};

		mk_wrap(&out, 0x30, &list);
		return out;
	}
}

/*
 * <list> (the DER of a CertificateTrustList) signed by <cert> with
 * <key> as Microsoft signs its lists: a PKCS#7 SignedData whose content
 * is the list itself, signed attributes contentType and messageDigest
 * (of the list's content octets), <cert> and <chain> included. With
 * <break_digest> the digest is of something else. Returns the DER.
 */
static struct mk
mk_ctl_signed(const struct mk *list, X509 *cert, EVP_PKEY *key, X509 *chain,
    bool break_digest)
{
	PKCS7 *p7 = PKCS7_new(), *inner = PKCS7_new();
	PKCS7_SIGNER_INFO *si;
	ASN1_TYPE *content = ASN1_TYPE_new();
	ASN1_STRING *seq = ASN1_STRING_new();
	unsigned char md[EVP_MAX_MD_SIZE], *der = NULL;
	unsigned mdlen = 0;
	size_t hl = list->d[1] < 0x80 ? 2 : 2u + (list->d[1] & 0x7f);
	struct mk out = {0};
	int n;

	if (p7 == NULL || inner == NULL || content == NULL || seq == NULL ||
	    PKCS7_set_type(p7, NID_pkcs7_signed) != 1 ||
	    ASN1_STRING_set(seq, list->d, (int)list->n) != 1)
		abort();
	ASN1_TYPE_set(content, V_ASN1_SEQUENCE, seq);
	inner->type = OBJ_txt2obj("1.3.6.1.4.1.311.10.1", 1);
	inner->d.other = content;
	if (PKCS7_set_content(p7, inner) != 1 ||
	    (si = PKCS7_add_signature(p7, cert, key, EVP_sha256())) == NULL ||
	    PKCS7_add_certificate(p7, cert) != 1 ||
	    (chain != NULL && PKCS7_add_certificate(p7, chain) != 1) ||
	    PKCS7_add_signed_attribute(si, NID_pkcs9_contentType, V_ASN1_OBJECT,
	        OBJ_txt2obj("1.3.6.1.4.1.311.10.1", 1)) != 1 ||
	    EVP_Digest(list->d + hl, list->n - hl - (break_digest ? 1 : 0), md,
	        &mdlen, EVP_sha256(), NULL) != 1 ||
	    PKCS7_add1_attrib_digest(si, md, (int)mdlen) != 1 ||
	    PKCS7_SIGNER_INFO_sign(si) != 1 || (n = i2d_PKCS7(p7, &der)) <= 0)
		abort();
	mk_put(&out, der, (size_t)n);
	OPENSSL_free(der);
	PKCS7_free(p7);
	return out;
}

static void
mk_u16(struct mk *b, unsigned v)
{
	unsigned char x[2] = {(unsigned char)v, (unsigned char)(v >> 8)};

	mk_put(b, x, 2);
}

static void
mk_u32(struct mk *b, uint32_t v)
{
	unsigned char x[4] = {(unsigned char)v, (unsigned char)(v >> 8),
	    (unsigned char)(v >> 16), (unsigned char)(v >> 24)};

	mk_put(b, x, 4);
}

/* [MS-CAB] 2.6's CFDATA checksum, as ctl.c computes it independently. */
static uint32_t
mk_cab_checksum(const unsigned char *p, size_t n, uint32_t seed)
{
	uint32_t csum = seed, ul = 0;
	size_t w = n / 4;

	for (size_t i = 0; i < w; i++)
		csum ^= (uint32_t)p[4 * i] | (uint32_t)p[4 * i + 1] << 8 |
		    (uint32_t)p[4 * i + 2] << 16 | (uint32_t)p[4 * i + 3] << 24;
	for (size_t i = w * 4; i < n; i++)
		ul = ul << 8 | p[i];
	return csum ^ ul;
}

/*
 * A cabinet of one folder and one file <name> holding <file>, stored or
 * (<mszip>) MSZIP-compressed in blocks of 32 KiB, each deflated with the
 * previous 32 KiB as its dictionary. <extra> bytes are appended after
 * the blocks (cbCabinet counts them).
 */
static struct mk
mk_cab(const char *name, const struct mk *file, bool mszip, size_t extra)
{
	struct mk head = {0}, data = {0}, out = {0};
	size_t nblocks = (file->n + 32767) / 32768;
	size_t name_len = strlen(name) + 1;
	size_t data_start = 36 + 8 + 16 + name_len;

	for (size_t i = 0; i < nblocks; i++) {
		size_t off = i * 32768,
		       len = file->n - off < 32768 ? file->n - off : 32768;
		unsigned char *blk = malloc(2 * len + 64 + 2);
		size_t blen = len;
		unsigned char sizes[4];
		uint32_t csum;

		if (blk == NULL)
			abort();
		if (mszip) {
			z_stream z;

			memset(&z, 0, sizeof(z));
			if (deflateInit2(&z, 6, Z_DEFLATED, -MAX_WBITS, 8,
			        Z_DEFAULT_STRATEGY) != Z_OK ||
			    (off > 0 &&
			        deflateSetDictionary(&z,
			            file->d + off - (off < 32768 ? off : 32768),
			            (uInt)(off < 32768 ? off : 32768)) != Z_OK))
				abort();
			blk[0] = 'C';
			blk[1] = 'K';
			z.next_in = file->d + off;
			z.avail_in = (uInt)len;
			z.next_out = blk + 2;
			z.avail_out = (uInt)(2 * len + 64);
			if (deflate(&z, Z_FINISH) != Z_STREAM_END)
				abort();
			blen = 2 + (size_t)z.total_out;
			deflateEnd(&z);
		} else {
			memcpy(blk, file->d + off, len);
		}
		sizes[0] = (unsigned char)blen;
		sizes[1] = (unsigned char)(blen >> 8);
		sizes[2] = (unsigned char)len;
		sizes[3] = (unsigned char)(len >> 8);
		csum = mk_cab_checksum(sizes, 4, mk_cab_checksum(blk, blen, 0));
		mk_u32(&data, csum);
		mk_put(&data, sizes, 4);
		mk_put(&data, blk, blen);
		free(blk);
	}
	mk_put(&head, "MSCF", 4);
	mk_u32(&head, 0);
	mk_u32(&head, (uint32_t)(data_start + data.n + extra));
	mk_u32(&head, 0);
	mk_u32(&head, 36 + 8); /* coffFiles */
	mk_u32(&head, 0);
	mk_put(&head, "\x03\x01", 2);
	mk_u16(&head, 1); /* folders */
	mk_u16(&head, 1); /* files */
	mk_u16(&head, 0); /* flags */
	mk_u16(&head, 0x4f47);
	mk_u16(&head, 0);
	/* CFFOLDER */
	mk_u32(&head, (uint32_t)data_start);
	mk_u16(&head, (unsigned)nblocks);
	mk_u16(&head, mszip ? 1 : 0);
	/* CFFILE */
	mk_u32(&head, (uint32_t)file->n);
	mk_u32(&head, 0);
	mk_u16(&head, 0);
	mk_u16(&head, 0x5ad0);
	mk_u16(&head, 0x5771);
	mk_u16(&head, 0x20);
	mk_put(&head, name, name_len);
	mk_put(&out, head.d, head.n);
	mk_put(&out, data.d, data.n);
	for (size_t i = 0; i < extra; i++)
		mk_put(&out, "r", 1);
	free(head.d);
	free(data.d);
	return out;
}

/* One element of a serialized store: ID, encoding 1, length, bytes. */
static void
mk_store_element(struct mk *b, uint32_t id, const void *p, size_t n)
{
	mk_u32(b, id);
	mk_u32(b, 1);
	mk_u32(b, (uint32_t)n);
	mk_put(b, p, n);
}

/* The serialized-store header and trailer. */
static void
mk_store_begin(struct mk *b)
{
	mk_put(b, "\0\0\0\0CERT", 8);
}

static void
mk_store_end(struct mk *b)
{
	mk_put(b, "\0\0\0\0\0\0\0\0\0\0\0\0", 12);
}

/*
 * Certificate <x> in a store as Windows writes roots: its SHA-1 hash,
 * a friendly name, then the certificate.
 */
static void
mk_store_cert(struct mk *b, X509 *x)
{
	unsigned char *der = NULL, md[EVP_MAX_MD_SIZE];
	static const unsigned char name[] = {
	    'R', 0, 'o', 0, 'o', 0, 't', 0, 0, 0};
	unsigned mdlen = 0;
	int n;

	if ((n = i2d_X509(x, &der)) <= 0 ||
	    EVP_Digest(der, (size_t)n, md, &mdlen, EVP_sha1(), NULL) != 1)
		abort();
	mk_store_element(b, 3, md, mdlen);
	mk_store_element(b, 11, name, sizeof(name));
	mk_store_element(b, 32, der, (size_t)n);
	OPENSSL_free(der);
}

#endif
