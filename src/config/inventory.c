/*
 * The asset inventory: CSV text -> an immutable, reference-counted set of
 * IPv4 and IPv6 prefixes, each with a host name and tags, searched by
 * longest prefix. inventory_parse() is pure (no I/O, logging, clock or
 * globals); only inventory_load() reads a file.
 */
#define _POSIX_C_SOURCE 200809L

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ocspgate/cidr.h"
#include "ocspgate/file.h"
#include "ocspgate/inventory.h"

#define INVENTORY_MAX_FILE_BYTES ((size_t)64 * 1024 * 1024)
#define INVENTORY_MAX_ROWS       (1U << 24) /* node indices stay < 2^32 */
#define INVENTORY_MAX_TAGS       64
#define INVENTORY_HOST_MAX       253   /* RFC 1035 2.3.4 */
#define INVENTORY_SHOW_MAX       64    /* bytes of a bad field in errors */
#define INVENTORY_ADDR_MAX       64    /* longer is no address */
#define INVENTORY_BLOCK_BYTES    65536 /* string arena block */
#define INVENTORY_NIL            UINT32_MAX

/* The two tries, and the width of their keys in bits. */
enum inventory_family { INVENTORY_V4 = 0, INVENTORY_V6, INVENTORY_NFAMILIES };

static const unsigned inventory_width[INVENTORY_NFAMILIES] = {32, 128};

/*
 * An address as a 128-bit big-endian bit string: w[0] holds its first 8
 * bytes. IPv4 addresses take the top 32 bits of w[0].
 */
struct inventory_key {
	uint64_t w[2];
};

/*
 * A node of a path-compressed binary trie: the prefix <key>/<plen> (bits
 * beyond plen are zero), the row it stands for (INVENTORY_NIL for a node
 * that only joins two branches), and two children whose prefixes extend
 * this one by a 0 or a 1 bit at position <plen>. Each row adds at most
 * two nodes, so a lookup visits at most 33 (IPv4) or 129 (IPv6) nodes.
 */
struct inventory_node {
	struct inventory_key key;
	uint32_t child[2];
	uint32_t entry;
	uint8_t plen;
};

/* Strings and per-row arrays live in blocks that never move. */
struct inventory_block {
	struct inventory_block *next;
	size_t used;
	size_t size;
	max_align_t data[];
};

struct inventory {
	unsigned refs;
	size_t nentries;
	struct inventory_entry *entries;
	size_t ntags;
	const char **tag_names; /* in the arena; shared by the entries */
	struct inventory_node *nodes;
	size_t nnodes;
	uint32_t root[INVENTORY_NFAMILIES];
	struct inventory_block *blocks;
};

/* One field of the current line, unescaped and NUL-terminated. */
struct inventory_field {
	const char *s;
	size_t len;
};

/* One parse in progress: where errors go and what is being built. */
struct inventory_ctx {
	const char *name;
	char *err;
	size_t errlen;
	size_t errpos;
	unsigned nerrors;
	bool oom;
	unsigned long line;
	char *buf; /* the current line's fields, one after the other */
	size_t bufcap;
	struct inventory_field *fields;
	size_t nfields;
	size_t fieldcap;
	bool have_header;
	size_t ncols; /* the header's columns; SIZE_MAX when it is unusable */
	size_t entrycap;
	size_t nodecap;
	struct inventory *inv;
};

static const char inventory_empty[] = "";

static void inventory_error(struct inventory_ctx *ctx, unsigned long line,
    const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/*
 * Appends "NAME:LINE: message\n" to the caller's buffer, or "NAME:
 * message\n" when <line> is 0 (about the text as a whole). A full buffer
 * keeps what fits; the error still counts.
 */
static void
inventory_error(
    struct inventory_ctx *ctx, unsigned long line, const char *fmt, ...)
{
	va_list ap;
	size_t room;
	int n;

	ctx->nerrors++;
	if (ctx->err == NULL || ctx->errpos + 1 >= ctx->errlen)
		return;
	room = ctx->errlen - ctx->errpos;
	if (line > 0)
		n = snprintf(
		    ctx->err + ctx->errpos, room, "%s:%lu: ", ctx->name, line);
	else
		n = snprintf(ctx->err + ctx->errpos, room, "%s: ", ctx->name);
	if (n < 0 || (size_t)n >= room)
		goto full;
	ctx->errpos += (size_t)n;
	room -= (size_t)n;
	va_start(ap, fmt);
	n = vsnprintf(ctx->err + ctx->errpos, room, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= room)
		goto full;
	ctx->errpos += (size_t)n;
	room -= (size_t)n;
	if (room < 2)
		goto full;
	ctx->err[ctx->errpos++] = '\n';
	ctx->err[ctx->errpos] = '\0';
	return;
full:
	/* Truncated: keep the NUL the formatting wrote at the end. */
	ctx->errpos = ctx->errlen - 1;
	ctx->err[ctx->errpos] = '\0';
}

/* Reports running out of memory, once; the parse then stops. */
static void
inventory_oom(struct inventory_ctx *ctx)
{
	if (!ctx->oom)
		inventory_error(ctx, 0, "out of memory");
	ctx->oom = true;
}

/* How many bytes of <f> an error message shows. */
static int
inventory_show_len(const struct inventory_field *f)
{
	return f->len > INVENTORY_SHOW_MAX ? INVENTORY_SHOW_MAX : (int)f->len;
}

/* ASCII lowercase, the same in every locale. */
static char
inventory_lower(char c)
{
	static const char lower[] = "abcdefghijklmnopqrstuvwxyz";

	if (c >= 'A' && c <= 'Z')
		return lower[c - 'A'];
	return c;
}

/* Bit <i> (0: the most significant) of <k>. */
static unsigned
inventory_key_bit(const struct inventory_key *k, unsigned i)
{
	return (unsigned)(k->w[i >> 6] >> (63 - (i & 63))) & 1;
}

/* How many leading bits <a> and <b> share (128 when equal). */
static unsigned
inventory_key_common(
    const struct inventory_key *a, const struct inventory_key *b)
{
	uint64_t x;

	if ((x = a->w[0] ^ b->w[0]) != 0)
		return (unsigned)__builtin_clzll(x);
	if ((x = a->w[1] ^ b->w[1]) != 0)
		return 64 + (unsigned)__builtin_clzll(x);
	return 128;
}

/* Clears the bits of <k> from position <plen> on. */
static void
inventory_key_mask(struct inventory_key *k, unsigned plen)
{
	for (unsigned i = 0; i < 2; i++) {
		unsigned lo = 64 * i;

		if (plen <= lo)
			k->w[i] = 0;
		else if (plen < lo + 64)
			k->w[i] &= ~(uint64_t)0 << (64 - (plen - lo));
	}
}

/* The key of the <n> (4 or 16) address bytes at <b>. */
static void
inventory_key_set(struct inventory_key *k, const unsigned char *b, size_t n)
{
	k->w[0] = k->w[1] = 0;
	for (size_t i = 0; i < n; i++)
		k->w[i >> 3] |= (uint64_t)b[i] << (56 - 8 * (i & 7));
}

/* The address bytes of <k>, for inet_ntop(). */
static void
inventory_key_get(const struct inventory_key *k, unsigned char b[16])
{
	for (size_t i = 0; i < 16; i++)
		b[i] = (unsigned char)(k->w[i >> 3] >> (56 - 8 * (i & 7)));
}

/* Writes "<address>/<plen>" for messages. */
static void
inventory_key_format(enum inventory_family fam, const struct inventory_key *k,
    unsigned plen, char *out, size_t outlen)
{
	char addr[INET6_ADDRSTRLEN];
	unsigned char b[16];

	inventory_key_get(k, b);
	if (inet_ntop(fam == INVENTORY_V4 ? AF_INET : AF_INET6, b, addr,
	        sizeof(addr)) == NULL)
		snprintf(addr, sizeof(addr), "?");
	snprintf(out, outlen, "%s/%u", addr, plen);
}

/*
 * Returns <n> bytes from the arena of <inv>, aligned for pointers when
 * <align> is set, or NULL when out of memory. Large requests get a block
 * of their own behind the current one, which stays in use.
 */
static void *
inventory_alloc(struct inventory *inv, size_t n, bool align)
{
	struct inventory_block *b = inv->blocks;
	bool own = n > INVENTORY_BLOCK_BYTES / 4;
	size_t at, size;

	if (b != NULL) {
		at = b->used;
		if (align)
			at = (at + sizeof(void *) - 1) & ~(sizeof(void *) - 1);
		if (at <= b->size && b->size - at >= n) {
			b->used = at + n;
			return (char *)b->data + at;
		}
	}
	size = own ? n : INVENTORY_BLOCK_BYTES;
	if (size > SIZE_MAX - sizeof(*b) ||
	    (b = malloc(sizeof(*b) + size)) == NULL)
		return NULL;
	b->size = size;
	b->used = n;
	if (own && inv->blocks != NULL) {
		b->next = inv->blocks->next;
		inv->blocks->next = b;
	} else {
		b->next = inv->blocks;
		inv->blocks = b;
	}
	return b->data;
}

/* A copy of <f> in the arena, lowercased if <lower>; NULL: no memory. */
static const char *
inventory_strdup(
    struct inventory *inv, const struct inventory_field *f, bool lower)
{
	char *s;

	if (f->len == 0)
		return inventory_empty;
	if ((s = inventory_alloc(inv, f->len + 1, false)) == NULL)
		return NULL;
	memcpy(s, f->s, f->len);
	for (size_t i = 0; lower && i < f->len; i++)
		s[i] = inventory_lower(s[i]);
	s[f->len] = '\0';
	return s;
}

/*
 * Splits the line [s, e) (line end removed) into ctx->fields. Fields are
 * separated by commas; unquoted ones lose surrounding spaces and tabs and
 * may not hold a quote; quoted ones keep everything between the quotes,
 * "" standing for one quote, and only spaces or tabs may follow them.
 * Returns false after reporting the line's first syntax error.
 */
static bool
inventory_split(struct inventory_ctx *ctx, const char *s, const char *e)
{
	/* Fields are no longer than the line; each adds a NUL per comma. */
	size_t need = 2 * (size_t)(e - s) + 2;
	const char *p = s;
	char *o;

	if (need > ctx->bufcap || ctx->buf == NULL) {
		char *nb;
		size_t cap = ctx->bufcap == 0 ? 256 : ctx->bufcap;

		while (cap < need)
			cap *= 2;
		if ((nb = realloc(ctx->buf, cap)) == NULL) {
			inventory_oom(ctx);
			return false;
		}
		ctx->buf = nb;
		ctx->bufcap = cap;
	}
	o = ctx->buf;
	ctx->nfields = 0;
	for (;;) {
		struct inventory_field *f;
		char *start;

		if (ctx->nfields == ctx->fieldcap) {
			size_t cap =
			    ctx->fieldcap == 0 ? 16 : ctx->fieldcap * 2;
			struct inventory_field *nf;

			nf = realloc(ctx->fields, cap * sizeof(*nf));
			if (nf == NULL) {
				inventory_oom(ctx);
				return false;
			}
			ctx->fields = nf;
			ctx->fieldcap = cap;
		}
		while (p < e && (*p == ' ' || *p == '\t'))
			p++;
		start = o;
		if (p < e && *p == '"') {
			for (p++;; p++) {
				if (p == e) {
					inventory_error(ctx, ctx->line,
					    "unterminated quoted field");
					return false;
				}
				if (*p == '"') {
					if (p + 1 < e && p[1] == '"')
						p++;
					else
						break;
				}
				*o++ = *p;
			}
			p++;
			while (p < e && (*p == ' ' || *p == '\t'))
				p++;
			if (p < e && *p != ',') {
				inventory_error(ctx, ctx->line,
				    "unexpected character after a closing "
				    "quote");
				return false;
			}
		} else {
			while (p < e && *p != ',') {
				if (*p == '"') {
					inventory_error(ctx, ctx->line,
					    "quote inside an unquoted field");
					return false;
				}
				*o++ = *p++;
			}
			while (o > start && (o[-1] == ' ' || o[-1] == '\t'))
				o--;
		}
		f = &ctx->fields[ctx->nfields++];
		f->s = start;
		f->len = (size_t)(o - start);
		*o++ = '\0';
		if (p == e)
			return true;
		p++; /* the comma */
	}
}

/* True for a tag name: at least one of [a-z0-9_] (already lowercased). */
static bool
inventory_tag_name_ok(const char *s)
{
	if (*s == '\0')
		return false;
	for (; *s != '\0'; s++)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= '0' && *s <= '9') ||
		        *s == '_'))
			return false;
	return true;
}

/* True for <f> equal to <word>, ignoring ASCII case. */
static bool
inventory_field_is(const struct inventory_field *f, const char *word)
{
	size_t n = strlen(word);

	if (f->len != n)
		return false;
	for (size_t i = 0; i < n; i++)
		if (inventory_lower(f->s[i]) != word[i])
			return false;
	return true;
}

/*
 * Takes the header row: "address,host" then tag names, which become
 * JSON keys. Without a usable header, rows are still checked, with no
 * limit on their fields.
 */
static void
inventory_header(struct inventory_ctx *ctx)
{
	struct inventory *inv = ctx->inv;
	size_t ntags;

	ctx->have_header = true;
	ctx->ncols = SIZE_MAX;
	if (ctx->nfields < 2 ||
	    !inventory_field_is(&ctx->fields[0], "address") ||
	    !inventory_field_is(&ctx->fields[1], "host")) {
		inventory_error(ctx, ctx->line,
		    "missing header: the first row must be \"address,host\", "
		    "then any tag names");
		return;
	}
	ntags = ctx->nfields - 2;
	if (ntags > INVENTORY_MAX_TAGS) {
		inventory_error(ctx, ctx->line, "more than %d tag columns",
		    INVENTORY_MAX_TAGS);
		return;
	}
	ctx->ncols = ctx->nfields;
	if (ntags == 0)
		return;
	inv->tag_names = inventory_alloc(inv, ntags * sizeof(char *), true);
	if (inv->tag_names == NULL) {
		inventory_oom(ctx);
		return;
	}
	inv->ntags = ntags;
	for (size_t i = 0; i < ntags; i++) {
		const struct inventory_field *f = &ctx->fields[2 + i];
		const char *name;

		if ((name = inventory_strdup(inv, f, true)) == NULL) {
			inventory_oom(ctx);
			return;
		}
		inv->tag_names[i] = name;
		if (f->len == 0) {
			inventory_error(ctx, ctx->line,
			    "empty tag name in column %zu", i + 3);
			continue;
		}
		if (!inventory_tag_name_ok(name)) {
			inventory_error(ctx, ctx->line,
			    "bad tag name \"%.*s\": only letters, digits and "
			    "'_' are allowed",
			    inventory_show_len(f), f->s);
			continue;
		}
		for (size_t j = 0; j < i; j++) {
			if (strcmp(inv->tag_names[j], name) == 0) {
				inventory_error(ctx, ctx->line,
				    "duplicate tag name \"%s\" in columns %zu "
				    "and %zu",
				    name, j + 3, i + 3);
				break;
			}
		}
	}
}

/*
 * Parses an address or CIDR block into a masked key. IPv4-mapped IPv6
 * prefixes of /96 or longer become IPv4 ones, since lookups of mapped
 * addresses are made as IPv4. Returns false after reporting the error.
 */
static bool
inventory_prefix(struct inventory_ctx *ctx, const struct inventory_field *f,
    enum inventory_family *fam, struct inventory_key *key, unsigned *plen)
{
	static const unsigned char mapped[12] = {
	    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
	const char *slash = memchr(f->s, '/', f->len);
	size_t alen = slash != NULL ? (size_t)(slash - f->s) : f->len;
	char abuf[INVENTORY_ADDR_MAX], net[INET6_ADDRSTRLEN + 8];
	unsigned char b[16];
	struct inventory_key masked;
	unsigned width;

	if (f->len == 0) {
		inventory_error(ctx, ctx->line, "missing address");
		return false;
	}
	if (alen == 0 || alen >= sizeof(abuf))
		goto bad;
	memcpy(abuf, f->s, alen);
	abuf[alen] = '\0';
	if (memchr(abuf, ':', alen) != NULL) {
		if (inet_pton(AF_INET6, abuf, b) != 1)
			goto bad;
		*fam = INVENTORY_V6;
		inventory_key_set(key, b, 16);
	} else {
		if (inet_pton(AF_INET, abuf, b) != 1)
			goto bad;
		*fam = INVENTORY_V4;
		inventory_key_set(key, b, 4);
	}
	width = inventory_width[*fam];
	*plen = width;
	if (slash != NULL) {
		const char *d = slash + 1, *end = f->s + f->len;
		unsigned v = 0;

		if (d == end || end - d > 3)
			goto bad_plen;
		for (; d < end; d++) {
			if (*d < '0' || *d > '9')
				goto bad_plen;
			v = v * 10 + (unsigned)(*d - '0');
		}
		if (v > width)
			goto bad_plen;
		*plen = v;
	}
	masked = *key;
	inventory_key_mask(&masked, *plen);
	if (masked.w[0] != key->w[0] || masked.w[1] != key->w[1]) {
		inventory_key_format(*fam, &masked, *plen, net, sizeof(net));
		inventory_error(ctx, ctx->line,
		    "host bits set in \"%.*s\": the network is %s",
		    inventory_show_len(f), f->s, net);
		return false;
	}
	if (*fam == INVENTORY_V6 && *plen >= 96 &&
	    memcmp(b, mapped, sizeof(mapped)) == 0) {
		*fam = INVENTORY_V4;
		*plen -= 96;
		inventory_key_set(key, b + 12, 4);
	}
	return true;
bad:
	inventory_error(ctx, ctx->line, "bad address \"%.*s\"",
	    inventory_show_len(f), f->s);
	return false;
bad_plen:
	inventory_error(ctx, ctx->line,
	    "bad prefix length in \"%.*s\": %s allows /0 to /%u",
	    inventory_show_len(f), f->s, *fam == INVENTORY_V4 ? "IPv4" : "IPv6",
	    width);
	return false;
}

/* True for a host name: letters, digits, '-', '.', '_'; may be empty. */
static bool
inventory_host_ok(struct inventory_ctx *ctx, const struct inventory_field *f)
{
	if (f->len > INVENTORY_HOST_MAX) {
		inventory_error(ctx, ctx->line,
		    "host name longer than %d characters", INVENTORY_HOST_MAX);
		return false;
	}
	for (size_t i = 0; i < f->len; i++) {
		char c = inventory_lower(f->s[i]);

		if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
		        c == '-' || c == '.' || c == '_')) {
			inventory_error(ctx, ctx->line,
			    "bad host name \"%.*s\": only letters, digits, "
			    "'-', '.' and '_' are allowed",
			    inventory_show_len(f), f->s);
			return false;
		}
	}
	return true;
}

/* A new node; the caller has made room for it. */
static uint32_t
inventory_node_new(struct inventory *inv, const struct inventory_key *key,
    unsigned plen, uint32_t entry)
{
	struct inventory_node *n = &inv->nodes[inv->nnodes];

	n->key = *key;
	n->plen = (uint8_t)plen;
	n->entry = entry;
	n->child[0] = n->child[1] = INVENTORY_NIL;
	return (uint32_t)inv->nnodes++;
}

/*
 * Adds <key>/<plen> for row <entry> to the trie of <fam>; the caller has
 * made room for two nodes, so no pointer into the nodes moves. Returns
 * INVENTORY_NIL, or the row that already holds this prefix.
 */
static uint32_t
inventory_insert(struct inventory *inv, enum inventory_family fam,
    const struct inventory_key *key, unsigned plen, uint32_t entry)
{
	uint32_t *link = &inv->root[fam];

	for (;;) {
		struct inventory_node *n;
		struct inventory_key gkey;
		uint32_t i = *link, j, g;
		unsigned c;

		if (i == INVENTORY_NIL) {
			*link = inventory_node_new(inv, key, plen, entry);
			return INVENTORY_NIL;
		}
		n = &inv->nodes[i];
		c = inventory_key_common(key, &n->key);
		if (c > plen)
			c = plen;
		if (c > n->plen)
			c = n->plen;
		if (c == n->plen && c == plen) {
			if (n->entry != INVENTORY_NIL)
				return n->entry;
			n->entry = entry;
			return INVENTORY_NIL;
		}
		if (c == n->plen) {
			/* <n> contains the new prefix: go down. */
			link = &n->child[inventory_key_bit(key, n->plen)];
			continue;
		}
		if (c == plen) {
			/* The new prefix contains <n>: it goes above. */
			j = inventory_node_new(inv, key, plen, entry);
			inv->nodes[j].child[inventory_key_bit(&n->key, plen)] =
			    i;
			*link = j;
			return INVENTORY_NIL;
		}
		/* They part at bit <c>: a joining node holds both. */
		gkey = *key;
		inventory_key_mask(&gkey, c);
		g = inventory_node_new(inv, &gkey, c, INVENTORY_NIL);
		j = inventory_node_new(inv, key, plen, entry);
		inv->nodes[g].child[inventory_key_bit(key, c)] = j;
		inv->nodes[g].child[inventory_key_bit(&inv->nodes[i].key, c)] =
		    i;
		*link = g;
		return INVENTORY_NIL;
	}
}

/* Makes room for one more row and its (at most two) nodes. */
static bool
inventory_reserve(struct inventory_ctx *ctx)
{
	struct inventory *inv = ctx->inv;

	if (inv->nentries == ctx->entrycap) {
		size_t cap = ctx->entrycap == 0 ? 64 : ctx->entrycap * 2;
		struct inventory_entry *ne;

		if ((ne = realloc(inv->entries, cap * sizeof(*ne))) == NULL)
			return false;
		inv->entries = ne;
		ctx->entrycap = cap;
	}
	if (inv->nnodes + 2 > ctx->nodecap) {
		size_t cap = ctx->nodecap == 0 ? 128 : ctx->nodecap * 2;
		struct inventory_node *nn;

		if ((nn = realloc(inv->nodes, cap * sizeof(*nn))) == NULL)
			return false;
		inv->nodes = nn;
		ctx->nodecap = cap;
	}
	return true;
}

/* Checks one data row and, when it is good, adds it. */
static void
inventory_row(struct inventory_ctx *ctx)
{
	struct inventory *inv = ctx->inv;
	const struct inventory_field *addr = &ctx->fields[0];
	struct inventory_field none = {inventory_empty, 0};
	const struct inventory_field *host;
	struct inventory_entry *e;
	struct inventory_key key;
	enum inventory_family fam = INVENTORY_V4;
	const char **values = NULL;
	uint32_t dup;
	unsigned plen = 0;
	bool ok;

	if (ctx->nfields > ctx->ncols) {
		inventory_error(ctx, ctx->line,
		    "%zu fields, but the header has %zu columns", ctx->nfields,
		    ctx->ncols);
		return;
	}
	host = ctx->nfields > 1 ? &ctx->fields[1] : &none;
	ok = inventory_prefix(ctx, addr, &fam, &key, &plen);
	ok = inventory_host_ok(ctx, host) && ok;
	if (!ok)
		return;
	if (inv->nentries >= INVENTORY_MAX_ROWS) {
		if (inv->nentries == INVENTORY_MAX_ROWS)
			inventory_error(ctx, ctx->line, "more than %u rows",
			    INVENTORY_MAX_ROWS);
		/* Count on, so that the error is reported once. */
		inv->nentries = INVENTORY_MAX_ROWS + 1;
		return;
	}
	if (!inventory_reserve(ctx)) {
		inventory_oom(ctx);
		return;
	}
	dup = inventory_insert(inv, fam, &key, plen, (uint32_t)inv->nentries);
	if (dup != INVENTORY_NIL) {
		char net[INET6_ADDRSTRLEN + 8];

		inventory_key_format(fam, &key, plen, net, sizeof(net));
		inventory_error(ctx, ctx->line,
		    "duplicate prefix %s, already on line %d", net,
		    inv->entries[dup].line);
		return;
	}
	e = &inv->entries[inv->nentries++];
	e->line = ctx->line > INT_MAX ? INT_MAX : (int)ctx->line;
	e->ntags = inv->ntags;
	e->tag_names = inv->tag_names;
	e->tag_values = NULL;
	if ((e->host = inventory_strdup(inv, host, true)) == NULL)
		goto oom;
	if (inv->ntags == 0)
		return;
	values = inventory_alloc(inv, inv->ntags * sizeof(char *), true);
	if (values == NULL)
		goto oom;
	for (size_t i = 0; i < inv->ntags; i++) {
		if (2 + i >= ctx->nfields)
			values[i] = inventory_empty;
		else if ((values[i] = inventory_strdup(
		              inv, &ctx->fields[2 + i], false)) == NULL)
			goto oom;
	}
	e->tag_values = values;
	return;
oom:
	/* Keep the entry well-formed for the lookups that will not happen. */
	e->host = inventory_empty;
	e->ntags = 0;
	inventory_oom(ctx);
}

/*
 * Parses line [s, e) (its line end removed): skipped when blank or a
 * comment, else the header (the first such line) or a row.
 */
static void
inventory_line(struct inventory_ctx *ctx, const char *s, const char *e)
{
	const char *p = s;

	while (p < e && (*p == ' ' || *p == '\t'))
		p++;
	if (p == e || *p == '#')
		return;
	if (memchr(s, '\0', (size_t)(e - s)) != NULL) {
		inventory_error(ctx, ctx->line, "NUL character in the line");
		return;
	}
	if (memchr(s, '\r', (size_t)(e - s)) != NULL) {
		inventory_error(ctx, ctx->line,
		    "carriage return not followed by a line feed");
		return;
	}
	if (!inventory_split(ctx, s, e))
		return;
	if (!ctx->have_header)
		inventory_header(ctx);
	else
		inventory_row(ctx);
}

/* Frees <inv> and everything it holds; takes a half-built one. */
static void
inventory_free(struct inventory *inv)
{
	struct inventory_block *b, *next;

	if (inv == NULL)
		return;
	for (b = inv->blocks; b != NULL; b = next) {
		next = b->next;
		free(b);
	}
	free(inv->entries);
	free(inv->nodes);
	free(inv);
}

/*
 * Copies the nodes in depth-first order into an array of their exact
 * size, so that a lookup's path through a subtree stays in few cache
 * lines, and trims the entries. Out of memory, the arrays stay as built.
 */
static void
inventory_compact(struct inventory *inv)
{
	/* Prefix lengths grow down a path: at most 129 nodes deep. */
	struct {
		uint32_t old;
		uint32_t parent; /* INVENTORY_NIL: the root */
		unsigned side;
	} stack[2 * 129 + 2];
	struct inventory_entry *ne;
	struct inventory_node *nn;
	size_t n = 0;

	if (inv->nentries > 0 &&
	    (ne = realloc(inv->entries, inv->nentries * sizeof(*ne))) != NULL)
		inv->entries = ne;
	if (inv->nnodes == 0 ||
	    (nn = malloc(inv->nnodes * sizeof(*nn))) == NULL)
		return;
	for (unsigned fam = 0; fam < INVENTORY_NFAMILIES; fam++) {
		size_t sp = 0;

		if (inv->root[fam] == INVENTORY_NIL)
			continue;
		stack[sp].old = inv->root[fam];
		stack[sp++].parent = INVENTORY_NIL;
		while (sp > 0) {
			uint32_t old = stack[--sp].old, j = (uint32_t)n++;

			nn[j] = inv->nodes[old];
			if (stack[sp].parent == INVENTORY_NIL)
				inv->root[fam] = j;
			else
				nn[stack[sp].parent].child[stack[sp].side] = j;
			/* The 1 branch first, so that the 0 branch follows. */
			for (unsigned side = 2; side-- > 0;) {
				if (nn[j].child[side] == INVENTORY_NIL)
					continue;
				stack[sp].old = nn[j].child[side];
				stack[sp].parent = j;
				stack[sp++].side = side;
			}
		}
	}
	free(inv->nodes);
	inv->nodes = nn;
}

/*
 * Lines end with LF or CRLF; a UTF-8 byte order mark before the first is
 * skipped. A quoted field ends on its line: no field spans lines.
 */
struct inventory *
inventory_parse(
    const char *name, const char *text, size_t len, char *err, size_t errlen)
{
	struct inventory_ctx ctx;
	struct inventory *inv;
	const char *p = text, *end = text + len;

	memset(&ctx, 0, sizeof(ctx));
	ctx.name = name;
	ctx.err = err;
	ctx.errlen = errlen;
	if (err != NULL && errlen > 0)
		err[0] = '\0';
	if ((inv = calloc(1, sizeof(*inv))) == NULL) {
		inventory_oom(&ctx);
		return NULL;
	}
	inv->refs = 1;
	inv->root[INVENTORY_V4] = inv->root[INVENTORY_V6] = INVENTORY_NIL;
	ctx.inv = inv;
	if (len >= 3 && memcmp(p, "\xef\xbb\xbf", 3) == 0)
		p += 3;
	while (p < end && !ctx.oom) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		const char *e = nl != NULL ? nl : end;

		ctx.line++;
		if (e > p && e[-1] == '\r')
			e--;
		inventory_line(&ctx, p, e);
		p = nl != NULL ? nl + 1 : end;
	}
	if (!ctx.have_header && !ctx.oom)
		inventory_error(&ctx, ctx.line > 0 ? ctx.line : 1,
		    "missing header: the first row must be \"address,host\", "
		    "then any tag names");
	free(ctx.buf);
	free(ctx.fields);
	if (ctx.nerrors > 0) {
		inventory_free(inv);
		return NULL;
	}
	inventory_compact(inv);
	return inv;
}

/*
 * An unreadable file is reported as "PATH: cannot read: REASON", without
 * a line: the error is about the file, not a place in it.
 */
struct inventory *
inventory_load(const char *path, char *err, size_t errlen)
{
	struct inventory *inv;
	char *text;
	size_t len;
	int e;

	if (err != NULL && errlen > 0)
		err[0] = '\0';
	if ((e = file_read(path, INVENTORY_MAX_FILE_BYTES, &text, &len)) != 0) {
		if (err != NULL && errlen > 0)
			snprintf(err, errlen, "%s: cannot read: %s\n", path,
			    strerror(e));
		return NULL;
	}
	inv = inventory_parse(path, text, len, err, errlen);
	free(text);
	return inv;
}

/*
 * Walks the trie of <fam> along <key>, remembering the last row met:
 * at most width + 1 nodes, no allocation.
 */
static const struct inventory_entry *
inventory_find(const struct inventory *inv, enum inventory_family fam,
    const struct inventory_key *key)
{
	const struct inventory_entry *best = NULL;
	uint32_t i = inv->root[fam];

	while (i != INVENTORY_NIL) {
		const struct inventory_node *n = &inv->nodes[i];

		if (inventory_key_common(key, &n->key) < n->plen)
			break;
		if (n->entry != INVENTORY_NIL)
			best = &inv->entries[n->entry];
		if (n->plen >= inventory_width[fam])
			break;
		i = n->child[inventory_key_bit(key, n->plen)];
	}
	return best;
}

const struct inventory_entry *
inventory_lookup(const struct inventory *inv, const struct sockaddr *sa)
{
	unsigned char addr[16];
	struct inventory_key key;

	if (inv == NULL || sa == NULL)
		return NULL;
	/* An IPv4-mapped IPv6 address is looked up as the IPv4 one. */
	switch (cidr_key(sa, addr)) {
	case AF_INET:
		inventory_key_set(&key, addr, 4);
		return inventory_find(inv, INVENTORY_V4, &key);
	case AF_INET6:
		inventory_key_set(&key, addr, 16);
		return inventory_find(inv, INVENTORY_V6, &key);
	default:
		return NULL;
	}
}

size_t
inventory_size(const struct inventory *inv)
{
	return inv == NULL ? 0 : inv->nentries;
}

struct inventory *
inventory_ref(struct inventory *inv)
{
	if (inv != NULL)
		inv->refs++;
	return inv;
}

void
inventory_unref(struct inventory *inv)
{
	if (inv == NULL || --inv->refs > 0)
		return;
	inventory_free(inv);
}
