/*
 * The asset inventory: which host (and which role, owner...) an address
 * belongs to, from a CSV file. Lookups take the longest matching prefix.
 * An inventory is immutable once built and reference-counted, so a
 * reload can swap in a new one while requests in flight keep theirs.
 */
#ifndef OCSPGATE_INVENTORY_H
#define OCSPGATE_INVENTORY_H

#include <stddef.h>
#include <sys/socket.h>

#include "ocspgate/inventory-t.h"

struct inventory;

/*
 * Builds an inventory from CSV text (pure: no I/O). The first row is a
 * header: "address,host" then any tag columns ("role", "owner", ...).
 * Each further row: an IPv4 or IPv6 address or CIDR, a host name (may
 * be empty), then tag values. Blank lines and lines starting with '#'
 * are skipped; fields may be double-quoted (RFC 4180, "" for a quote).
 * Returns the inventory (one reference), or NULL with every error as
 * "NAME:LINE: message" lines in <err>. <name> names the file in errors.
 */
struct inventory *inventory_parse(
    const char *name, const char *text, size_t len, char *err, size_t errlen);

/* Reads <path> and parses it (NAME is the path). */
struct inventory *inventory_load(const char *path, char *err, size_t errlen);

/*
 * The entry with the longest prefix containing <sa> (AF_INET or
 * AF_INET6; an IPv4-mapped IPv6 address is looked up as IPv4), or NULL.
 */
const struct inventory_entry *inventory_lookup(
    const struct inventory *inv, const struct sockaddr *sa);

/* Number of rows. */
size_t inventory_size(const struct inventory *inv);

struct inventory *inventory_ref(struct inventory *inv);
void inventory_unref(struct inventory *inv); /* takes NULL */

#endif
