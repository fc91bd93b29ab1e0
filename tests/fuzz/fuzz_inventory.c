/*
 * Fuzzes the inventory parser: any bytes as CSV text must parse or fail
 * without a crash or leak. A failure must explain itself ("NAME:" lines).
 * A success is checked against a separate, simpler reading of the same
 * text: as many rows, and for addresses taken from the rows and from the
 * input bytes, the same answer as a naive scan for the longest prefix.
 * Any broken rule aborts.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "ocspgate/inventory.h"

#define FUZZ_INVENTORY_NAME        "fuzz.csv"
#define FUZZ_INVENTORY_ROW_PROBES  64 /* rows whose edges are looked up */
#define FUZZ_INVENTORY_BYTE_PROBES 8

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* The first 12 bytes of an IPv4-mapped IPv6 address. */
static const unsigned char fuzz_inventory_mapped[12] = {
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};

/* A row as this file reads it: the prefix and its line. */
struct fuzz_row {
	bool v6;
	unsigned plen;
	unsigned char b[16];
	int line;
};

/*
 * Copies the first CSV field of line [s, e) (quotes removed, outer
 * spaces trimmed) into <out>, and counts the line's fields. The line is
 * known to be valid, so this reading can be simple.
 */
static size_t
fuzz_inventory_fields(const char *s, const char *e, char *out, size_t outlen)
{
	size_t nfields = 1, o = 0;
	bool quoted = false, first = true;

	while (s < e && (*s == ' ' || *s == '\t'))
		s++;
	for (const char *p = s; p < e; p++) {
		if (quoted) {
			if (*p == '"' && p + 1 < e && p[1] == '"')
				p++;
			else if (*p == '"') {
				quoted = false;
				continue;
			}
		} else if (*p == '"') {
			quoted = true;
			continue;
		} else if (*p == ',') {
			nfields++;
			first = false;
			continue;
		}
		if (first && o + 1 < outlen)
			out[o++] = *p;
	}
	/* Spaces after the field (no address holds one) are no part of it. */
	while (o > 0 && (out[o - 1] == ' ' || out[o - 1] == '\t'))
		o--;
	out[o] = '\0';
	return nfields;
}

/* Parses an address field as the contract describes it; aborts if bad. */
static void
fuzz_inventory_prefix(const char *field, struct fuzz_row *r)
{
	char addr[64];
	const char *slash = strchr(field, '/');
	size_t alen = slash != NULL ? (size_t)(slash - field) : strlen(field);

	if (alen >= sizeof(addr))
		abort();
	memcpy(addr, field, alen);
	addr[alen] = '\0';
	memset(r->b, 0, sizeof(r->b));
	if (inet_pton(AF_INET, addr, r->b) == 1)
		r->v6 = false;
	else if (inet_pton(AF_INET6, addr, r->b) == 1)
		r->v6 = true;
	else
		abort();
	r->plen = r->v6 ? 128 : 32;
	if (slash != NULL)
		r->plen = (unsigned)strtoul(slash + 1, NULL, 10);
	if (r->plen > (r->v6 ? 128U : 32U))
		abort();
	if (r->v6 && r->plen >= 96 &&
	    memcmp(r->b, fuzz_inventory_mapped, 12) == 0) {
		memmove(r->b, r->b + 12, 4);
		memset(r->b + 4, 0, 12);
		r->v6 = false;
		r->plen -= 96;
	}
}

static bool
fuzz_inventory_contains(
    const struct fuzz_row *r, bool v6, const unsigned char *a)
{
	if (r->v6 != v6)
		return false;
	for (unsigned i = 0; i < r->plen; i++) {
		unsigned bit = 0x80U >> (i & 7);

		if ((r->b[i >> 3] & bit) != (a[i >> 3] & bit))
			return false;
	}
	return true;
}

/*
 * Looks <a> up both ways (and IPv4 also as IPv4-mapped IPv6) and checks
 * the answer against a scan of every row.
 */
static void
fuzz_inventory_probe(const struct inventory *inv, const struct fuzz_row *rows,
    size_t nrows, size_t ntags, bool v6, const unsigned char *a)
{
	const struct inventory_entry *e, *e2 = NULL;
	const struct fuzz_row *best = NULL;
	struct sockaddr_in sin;
	struct sockaddr_in6 sin6;

	/* The contract: a mapped address is looked up as IPv4. */
	if (v6 && memcmp(a, fuzz_inventory_mapped, 12) == 0) {
		v6 = false;
		a += 12;
	}
	for (size_t i = 0; i < nrows; i++)
		if (fuzz_inventory_contains(&rows[i], v6, a) &&
		    (best == NULL || rows[i].plen > best->plen))
			best = &rows[i];
	memset(&sin, 0, sizeof(sin));
	memset(&sin6, 0, sizeof(sin6));
	sin6.sin6_family = AF_INET6;
	if (v6) {
		memcpy(sin6.sin6_addr.s6_addr, a, 16);
		e = inventory_lookup(inv, (struct sockaddr *)&sin6);
	} else {
		sin.sin_family = AF_INET;
		memcpy(&sin.sin_addr, a, 4);
		e = inventory_lookup(inv, (struct sockaddr *)&sin);
		sin6.sin6_addr.s6_addr[10] = 0xff;
		sin6.sin6_addr.s6_addr[11] = 0xff;
		memcpy(sin6.sin6_addr.s6_addr + 12, a, 4);
		e2 = inventory_lookup(inv, (struct sockaddr *)&sin6);
		if (e2 != e)
			abort();
	}
	if ((e == NULL) != (best == NULL))
		abort();
	if (e == NULL)
		return;
	if (e->line != best->line || e->ntags != ntags || e->host == NULL)
		abort();
	if (strlen(e->host) > 253)
		abort();
	for (const char *c = e->host; *c != '\0'; c++)
		if (!((*c >= 'a' && *c <= 'z') || (*c >= '0' && *c <= '9') ||
		        *c == '-' || *c == '.' || *c == '_'))
			abort();
	for (size_t i = 0; i < e->ntags; i++) {
		const char *n = e->tag_names[i];

		if (n == NULL || *n == '\0' || e->tag_values[i] == NULL)
			abort();
		for (; *n != '\0'; n++)
			if (!((*n >= 'a' && *n <= 'z') ||
			        (*n >= '0' && *n <= '9') || *n == '_'))
				abort();
	}
}

/* Checks a parsed inventory against the rows of <text>. */
static void
fuzz_inventory_check(const struct inventory *inv, const char *text, size_t len)
{
	const char *p = text, *end = text + len;
	struct fuzz_row *rows;
	size_t nrows = 0, ntags = 0;
	bool header = false;
	int line = 0;

	if ((rows = calloc(len / 2 + 1, sizeof(*rows))) == NULL)
		return;
	if (len >= 3 && memcmp(p, "\xef\xbb\xbf", 3) == 0)
		p += 3;
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		const char *e = nl != NULL ? nl : end, *q = p;
		char field[256];
		size_t n;

		line++;
		if (e > p && e[-1] == '\r')
			e--;
		while (q < e && (*q == ' ' || *q == '\t'))
			q++;
		if (q < e && *q != '#') {
			n = fuzz_inventory_fields(p, e, field, sizeof(field));
			if (!header) {
				header = true;
				if (n < 2)
					abort();
				ntags = n - 2;
			} else {
				if (n > ntags + 2)
					abort();
				fuzz_inventory_prefix(field, &rows[nrows]);
				rows[nrows++].line = line;
			}
		}
		p = nl != NULL ? nl + 1 : end;
	}
	if (!header || inventory_size(inv) != nrows)
		abort();

	/* The first and last address of some rows. */
	for (size_t i = 0; i < nrows && i < FUZZ_INVENTORY_ROW_PROBES; i++) {
		unsigned char a[16];
		unsigned width = rows[i].v6 ? 128 : 32;

		memcpy(a, rows[i].b, 16);
		fuzz_inventory_probe(inv, rows, nrows, ntags, rows[i].v6, a);
		for (unsigned bit = rows[i].plen; bit < width; bit++)
			a[bit >> 3] |= (unsigned char)(0x80U >> (bit & 7));
		fuzz_inventory_probe(inv, rows, nrows, ntags, rows[i].v6, a);
		/* Just outside the prefix, when it has an outside. */
		if (rows[i].plen > 0) {
			unsigned bit = rows[i].plen - 1;

			a[bit >> 3] ^= (unsigned char)(0x80U >> (bit & 7));
			fuzz_inventory_probe(
			    inv, rows, nrows, ntags, rows[i].v6, a);
		}
	}
	/* Addresses made of the input bytes. */
	for (size_t k = 0; k < FUZZ_INVENTORY_BYTE_PROBES && len > 0; k++) {
		unsigned char a[16];

		for (size_t i = 0; i < 16; i++)
			a[i] = (unsigned char)text[(k * 16 + i) % len];
		fuzz_inventory_probe(inv, rows, nrows, ntags, true, a);
		fuzz_inventory_probe(inv, rows, nrows, ntags, false, a);
	}
	free(rows);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct inventory *inv;
	const char *text = (const char *)data;
	char err[4096];

	inv =
	    inventory_parse(FUZZ_INVENTORY_NAME, text, size, err, sizeof(err));
	if (inv == NULL) {
		/* Each complete error line names the file. */
		for (const char *l = err; *l != '\0';) {
			const char *nl = strchr(l, '\n');

			if (strncmp(l, FUZZ_INVENTORY_NAME ":",
			        sizeof(FUZZ_INVENTORY_NAME)) != 0 &&
			    nl != NULL)
				abort();
			if (nl == NULL)
				break;
			l = nl + 1;
		}
		if (err[0] == '\0')
			abort();
		return 0;
	}
	fuzz_inventory_check(inventory_ref(inv), text, size);
	inventory_unref(inv);
	inventory_unref(inv);
	return 0;
}
