/*
 * What the asset inventory says of a source: one row. Types only, for
 * the event line that names the asset; building and searching an
 * inventory is inventory.h's.
 */
#ifndef OCSPGATE_INVENTORY_T_H
#define OCSPGATE_INVENTORY_T_H

#include <stddef.h>

/* One inventory row. Strings live as long as the inventory. */
struct inventory_entry {
	const char *host; /* "" when the row names none */
	size_t ntags;
	const char *const *tag_names;  /* from the header row; shared */
	const char *const *tag_values; /* ntags values, "" when empty */
	int line;                      /* in the CSV file */
};

#endif
