/*
 * The few DER reads OpenSSL's API leaves to its user (a field's exact
 * bytes, an explicit default). Pure.
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

#endif
