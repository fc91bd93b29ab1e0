/*
 * DER read by hand: a TLV header, a walk over whole TLVs, and a cursor
 * that reads the fields of a structure one after the other, each held to
 * its type's canonical form (the one-pass inspections of OCSP requests
 * and answers are built on it). Pure.
 */
#ifndef OCSPGATE_DER_H
#define OCSPGATE_DER_H

#include <stdbool.h>
#include <stddef.h>

/*
 * Reads the header of one DER TLV at <p> (<n> bytes available): a
 * one-octet identifier (low tag number) and a minimally encoded definite
 * length whose content fits in <n>. Returns 0 with *tag (the identifier
 * octet), *hlen (header bytes) and *clen (content bytes) set, or -1.
 */
int der_header(const unsigned char *p, size_t n, unsigned *tag, size_t *hlen,
    size_t *clen);

/*
 * True when <p> (<n> bytes) is a series of whole DER TLVs, and so, down
 * to <depth> levels, is the content of every constructed one (every
 * length minimal, nothing outside a TLV).
 */
bool der_walk(const unsigned char *p, size_t n, int depth);

/*
 * The least <depth> for which der_walk(<p>, <n>, depth) is true: 1 for
 * a series of primitive TLVs (or none), one more for each level of
 * constructed ones; 0 when the bytes are not whole DER TLVs or would need
 * more than <max>.
 */
int der_depth(const unsigned char *p, size_t n, int max);

/* A read position: the <n> bytes at <p> not yet read. */
struct der_cursor {
	const unsigned char *p;
	size_t n;
};

/*
 * The identifier octet of the TLV at <c>, or -1 when nothing is left.
 * Reads nothing.
 */
static inline int
der_peek(const struct der_cursor *c)
{
	return c->n > 0 ? c->p[0] : -1;
}

/*
 * Reads the TLV at <c> when its identifier octet is <tag> and its header
 * is DER (der_header()): returns 0 with *content (may be NULL) set to its
 * content and <c> moved past it; else -1 with <c> unchanged.
 */
int der_next_long(
    struct der_cursor *c, unsigned tag, struct der_cursor *content);

/*
 * der_next_long() with the short form of a header read in line; any
 * other header, and every failure, goes to der_next_long().
 */
static inline int
der_next(struct der_cursor *c, unsigned tag, struct der_cursor *content)
{
	size_t len;

	if (c->n < 2 || c->p[0] != tag || c->p[1] >= 0x80 ||
	    (tag & 0x1f) == 0x1f || (len = c->p[1]) > c->n - 2)
		return der_next_long(c, tag, content);
	if (content != NULL) {
		content->p = c->p + 2;
		content->n = len;
	}
	c->p += 2 + len;
	c->n -= 2 + len;
	return 0;
}

/*
 * True when the <n> content octets at <p> are an OBJECT IDENTIFIER as
 * OpenSSL decodes one: at least one octet, every subidentifier minimal
 * (no leading 0x80), the last one ended.
 */
bool der_oid_ok(const unsigned char *p, size_t n);

/*
 * True when the <n> content octets at <p> are a DER INTEGER (or
 * ENUMERATED): at least one octet, no needless leading 0x00 or 0xff.
 */
bool der_integer_ok(const unsigned char *p, size_t n);

/*
 * True when the <n> content octets at <p> are a BIT STRING that
 * OpenSSL's decoder reads and encodes back unchanged: an unused-bits
 * octet of 0..7 (0 when there are no bits), and those unused bits 0.
 */
bool der_bit_string_ok(const unsigned char *p, size_t n);

/*
 * True when <exts> (the content of an X.509 Extensions SEQUENCE, empty
 * or not) is a series of Extension { extnID OBJECT IDENTIFIER, critical
 * BOOLEAN OPTIONAL, extnValue OCTET STRING } that OpenSSL reads and
 * writes back unchanged, with a critical flag as DER writes it (0x00 or
 * 0xff; OpenSSL would keep any other octet).
 */
bool der_extensions_ok(struct der_cursor exts);

#endif
