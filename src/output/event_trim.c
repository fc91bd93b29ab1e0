/*
 * Shortens an event line field by field: the line is parsed into a tree
 * of spans over its own bytes, strings are cut and members dropped in a
 * fixed order while the length is kept up to date, and the tree is
 * written out once. Pure: no I/O, no globals.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ocspgate/event_trim.h"

#define TRIM_PATH_MAX 256

/* The marker added to the "ocspgate" object, and the object itself. */
static const char trim_marker[] = "\"truncated\":true";
static const char trim_object[] = "\"ocspgate\":{\"truncated\":true}";

/* Paths never cut or removed (a container holding one is kept too). */
static const char *const trim_protected[] = {
    "@timestamp",
    "ecs.version",
    "event.kind",
    "event.category",
    "event.type",
    "event.outcome",
    "event.action",
    "event.reason",
    "source.ip",
    "source.port",
    "destination.ip",
    "destination.port",
    "ocspgate.mode",
    "ocspgate.enforced",
    "ocspgate.truncated",
    "http.response.status_code",
};

/* Removed before anything is cut: members that only repeat others
 * (related.* holds source's and destination's addresses and names). */
static const char *const trim_redundant[] = {
    "related",
};

/* Cut first, in this order: what other fields repeat or matter least. */
static const char *const trim_first[] = {
    "url.original",
    "user_agent.original",
};

/* Cut only once every other string was. */
static const char trim_last[] = "url.path";

enum trim_type { TRIM_OBJECT = 0, TRIM_ARRAY, TRIM_STRING, TRIM_SCALAR };

struct trim_node {
	enum trim_type type;
	int parent; /* -1 for the root */
	int first, next;
	size_t key_off, key_len; /* the key's bytes inside its quotes */
	size_t off, len;         /* the value's bytes; a string's inside
	                            its quotes */
	size_t keep;             /* a string's bytes kept */
	size_t size;             /* bytes written now (trim_sizes()) */
	size_t kids;             /* children written now (trim_sizes()) */
	unsigned rank;           /* 1 + index in trim_first[]; 0: none */
	bool last;               /* on trim_last */
	bool removed;
	bool is_protected; /* on trim_protected[] or holds such a path */
};

struct trim {
	const char *s;
	size_t n, pos;
	struct trim_node *nodes;
	int nnodes;
	unsigned depth;
	size_t total; /* bytes the line has now, '\n' and marker included */
};

/* ------------------------------------------------------------------ */
/* Parsing: spans over the line, no copies */

static int trim_value(struct trim *t, int parent);

static void
trim_ws(struct trim *t)
{
	while (t->pos < t->n &&
	    (t->s[t->pos] == ' ' || t->s[t->pos] == '\t' ||
	        t->s[t->pos] == '\r' || t->s[t->pos] == '\n'))
		t->pos++;
}

static int
trim_new(struct trim *t, enum trim_type type, int parent)
{
	struct trim_node *n;

	if (t->nnodes >= EVENT_TRIM_MAX_NODES)
		return -1;
	n = &t->nodes[t->nnodes];
	memset(n, 0, sizeof(*n));
	n->type = type;
	n->parent = parent;
	n->first = n->next = -1;
	return t->nnodes++;
}

static bool
trim_hex(char c)
{
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') ||
	    (c >= 'A' && c <= 'F');
}

/* The code unit of the \\uXXXX escape at <p> (6 bytes, checked). */
static unsigned
trim_u16(const char *p)
{
	unsigned v = 0;

	for (size_t k = 2; k < 6; k++) {
		char c = p[k];

		v = v << 4 |
		    (unsigned)(c <= '9' ? c - '0' : (c | 0x20) - 'a' + 10);
	}
	return v;
}

/* True when the 12 bytes at <p> (<left> of them) are a \\u escape of a
 * high surrogate followed by one of a low surrogate. */
static bool
trim_pair(const char *p, size_t left)
{
	if (left < 12 || p[6] != '\\' || p[7] != 'u')
		return false;
	for (size_t k = 8; k < 12; k++) {
		if (!trim_hex(p[k]))
			return false;
	}
	return trim_u16(p) >= 0xd800 && trim_u16(p) <= 0xdbff &&
	    trim_u16(p + 6) >= 0xdc00 && trim_u16(p + 6) <= 0xdfff;
}

/*
 * A string at t->pos (its '"'), checked as RFC 8259 says (escapes,
 * surrogate pairs, UTF-8): sets *off and *len to its content.
 */
static int
trim_string_span(struct trim *t, size_t *off, size_t *len)
{
	size_t i = t->pos + 1;

	while (i < t->n && t->s[i] != '"') {
		unsigned char c = (unsigned char)t->s[i];

		if (c < 0x20)
			return -1;
		if (c == '\\') {
			if (i + 1 >= t->n ||
			    strchr("\"\\/bfnrtu", t->s[i + 1]) == NULL ||
			    t->s[i + 1] == '\0')
				return -1;
			if (t->s[i + 1] == 'u') {
				if (i + 6 > t->n)
					return -1;
				unsigned u;

				for (size_t k = 2; k < 6; k++) {
					if (!trim_hex(t->s[i + k]))
						return -1;
				}
				u = trim_u16(t->s + i);
				if (u >= 0xd800 && u <= 0xdfff) {
					/* Only as a pair, high then low. */
					if (!trim_pair(t->s + i, t->n - i))
						return -1;
					i += 6;
				}
				i += 6;
			} else {
				i += 2;
			}
			continue;
		}
		if (c >= 0x80) {
			int u8 = json_utf8_len(
			    (const unsigned char *)t->s + i, t->n - i);

			if (u8 <= 0)
				return -1;
			i += (size_t)u8;
			continue;
		}
		i++;
	}
	if (i >= t->n)
		return -1;
	*off = t->pos + 1;
	*len = i - *off;
	t->pos = i + 1;
	return 0;
}

/* Links <child> as the last child of <parent>. */
static void
trim_link(struct trim *t, int parent, int child, int *last)
{
	if (*last == -1)
		t->nodes[parent].first = child;
	else
		t->nodes[*last].next = child;
	*last = child;
}

static int
trim_container(struct trim *t, int self, char close, bool object)
{
	int last = -1, child;
	size_t koff = 0, klen = 0;

	if (++t->depth > JSON_MAX_DEPTH)
		return -1;
	t->pos++;
	trim_ws(t);
	if (t->pos < t->n && t->s[t->pos] == close) {
		t->pos++;
		t->depth--;
		return 0;
	}
	for (;;) {
		trim_ws(t);
		if (object) {
			if (t->pos >= t->n || t->s[t->pos] != '"' ||
			    trim_string_span(t, &koff, &klen) == -1)
				return -1;
			trim_ws(t);
			if (t->pos >= t->n || t->s[t->pos] != ':')
				return -1;
			t->pos++;
		}
		if ((child = trim_value(t, self)) == -1)
			return -1;
		t->nodes[child].key_off = koff;
		t->nodes[child].key_len = klen;
		trim_link(t, self, child, &last);
		trim_ws(t);
		if (t->pos >= t->n)
			return -1;
		if (t->s[t->pos] == ',') {
			t->pos++;
			continue;
		}
		if (t->s[t->pos] != close)
			return -1;
		t->pos++;
		t->depth--;
		return 0;
	}
}

static size_t
trim_digits(struct trim *t)
{
	size_t n = 0;

	while (t->pos < t->n && t->s[t->pos] >= '0' && t->s[t->pos] <= '9') {
		t->pos++;
		n++;
	}
	return n;
}

/* A literal or number at t->pos; advances past it. */
static int
trim_literal(struct trim *t)
{
	static const char *const words[] = {"true", "false", "null"};

	for (size_t i = 0; i < 3; i++) {
		size_t l = strlen(words[i]);

		if (t->n - t->pos >= l &&
		    memcmp(t->s + t->pos, words[i], l) == 0) {
			t->pos += l;
			return 0;
		}
	}
	if (t->pos < t->n && t->s[t->pos] == '-')
		t->pos++;
	if (t->pos < t->n && t->s[t->pos] == '0')
		t->pos++;
	else if (trim_digits(t) == 0)
		return -1;
	if (t->pos < t->n && t->s[t->pos] == '.') {
		t->pos++;
		if (trim_digits(t) == 0)
			return -1;
	}
	if (t->pos < t->n && (t->s[t->pos] == 'e' || t->s[t->pos] == 'E')) {
		t->pos++;
		if (t->pos < t->n &&
		    (t->s[t->pos] == '+' || t->s[t->pos] == '-'))
			t->pos++;
		if (trim_digits(t) == 0)
			return -1;
	}
	return 0;
}

static int
trim_value(struct trim *t, int parent)
{
	int self;
	char c;

	trim_ws(t);
	if (t->pos >= t->n)
		return -1;
	c = t->s[t->pos];
	if (c == '{' || c == '[') {
		if ((self = trim_new(
		         t, c == '{' ? TRIM_OBJECT : TRIM_ARRAY, parent)) == -1)
			return -1;
		t->nodes[self].off = t->pos;
		if (trim_container(t, self, c == '{' ? '}' : ']', c == '{') ==
		    -1)
			return -1;
		t->nodes[self].len = t->pos - t->nodes[self].off;
		return self;
	}
	if (c == '"') {
		if ((self = trim_new(t, TRIM_STRING, parent)) == -1 ||
		    trim_string_span(
		        t, &t->nodes[self].off, &t->nodes[self].len) == -1)
			return -1;
		t->nodes[self].keep = t->nodes[self].len;
		return self;
	}
	/* true, false, null, or a number as RFC 8259 writes it. */
	if ((self = trim_new(t, TRIM_SCALAR, parent)) == -1)
		return -1;
	t->nodes[self].off = t->pos;
	if (trim_literal(t) == -1)
		return -1;
	t->nodes[self].len = t->pos - t->nodes[self].off;
	return self;
}

/* ------------------------------------------------------------------ */
/* Paths and sizes */

/* Writes the dotted path of node <i> (array indices left out). */
static void
trim_path(const struct trim *t, int i, char *buf, size_t cap)
{
	int chain[JSON_MAX_DEPTH + 2], n = 0;
	size_t o = 0;

	for (; i > 0 && n < JSON_MAX_DEPTH + 2; i = t->nodes[i].parent) {
		if (t->nodes[t->nodes[i].parent].type == TRIM_OBJECT)
			chain[n++] = i;
	}
	buf[0] = '\0';
	while (n-- > 0) {
		const struct trim_node *d = &t->nodes[chain[n]];

		if (o > 0 && o + 1 < cap)
			buf[o++] = '.';
		if (o + d->key_len >= cap)
			break;
		memcpy(buf + o, t->s + d->key_off, d->key_len);
		o += d->key_len;
		buf[o] = '\0';
	}
}

static bool
trim_path_is(const struct trim *t, int i, const char *path)
{
	char buf[TRIM_PATH_MAX];

	trim_path(t, i, buf, sizeof(buf));
	return strcmp(buf, path) == 0;
}

/*
 * Sets every node's size: the bytes it writes now, its key and colon
 * included. Nodes come in document order, so children follow their
 * parent: one backward pass adds each into its parent.
 */
static void
trim_sizes(struct trim *t)
{
	for (int i = 0; i < t->nnodes; i++) {
		struct trim_node *d = &t->nodes[i];

		d->size = i > 0 && t->nodes[d->parent].type == TRIM_OBJECT
		    ? d->key_len + 3 /* "key": */
		    : 0;
		if (d->type == TRIM_STRING)
			d->size += d->keep + 2;
		else if (d->type == TRIM_SCALAR)
			d->size += d->len;
		else
			d->size += 2; /* {} or [] */
		d->kids = 0;
	}
	for (int i = t->nnodes - 1; i >= 0; i--) {
		struct trim_node *d = &t->nodes[i];

		/* Its children are all done: commas between them. */
		if (d->kids > 1)
			d->size += d->kids - 1;
		if (i == 0 || d->removed)
			continue;
		t->nodes[d->parent].size += d->size;
		t->nodes[d->parent].kids++;
	}
}

/* Children of <i> still written (as of the last trim_sizes()). */
static size_t
trim_kids(const struct trim *t, int i)
{
	return t->nodes[i].kids;
}

/* The root's "ocspgate" object, or -1. */
static int
trim_ocspgate(const struct trim *t)
{
	for (int k = t->nodes[0].first; k != -1; k = t->nodes[k].next) {
		if (t->nodes[k].type == TRIM_OBJECT &&
		    t->nodes[k].key_len == 8 &&
		    memcmp(t->s + t->nodes[k].key_off, "ocspgate", 8) == 0)
			return k;
	}
	return -1;
}

/* Bytes the marker adds, written into the line as it is now. */
static size_t
trim_marker_size(const struct trim *t)
{
	int o = trim_ocspgate(t);

	if (o == -1)
		return sizeof(trim_object) - 1 + (trim_kids(t, 0) > 0);
	for (int k = t->nodes[o].first; k != -1; k = t->nodes[k].next) {
		if (trim_path_is(t, k, "ocspgate.truncated"))
			return 0;
	}
	return sizeof(trim_marker) - 1 + (trim_kids(t, o) > 0);
}

static void
trim_total(struct trim *t)
{
	trim_sizes(t);
	t->total = t->nodes[0].size + 1 + trim_marker_size(t);
}

/* ------------------------------------------------------------------ */
/* Cutting */

/* Length of the character (escape or UTF-8 sequence) at <p>. */
static size_t
trim_char_len(const char *p, size_t left)
{
	unsigned char c = (unsigned char)p[0];
	size_t n = 1;

	if (c == '\\' && left > 1 && p[1] == 'u')
		n = trim_pair(p, left) ? 12 : 6;
	else if (c == '\\')
		n = 2;
	else if (c >= 0xf0)
		n = 4;
	else if (c >= 0xe0)
		n = 3;
	else if (c >= 0xc0)
		n = 2;
	return n <= left ? n : left;
}

/*
 * Cuts string node <i> to at most max(EVENT_TRIM_KEEP, keep - excess)
 * bytes, at a character boundary. Returns the bytes it gave up.
 */
static size_t
trim_cut(struct trim *t, int i, size_t excess)
{
	struct trim_node *d = &t->nodes[i];
	const char *p = t->s + d->off;
	size_t target, at = 0, step, before = d->keep;

	if (d->keep <= EVENT_TRIM_KEEP)
		return 0;
	target = d->keep > excess ? d->keep - excess : 0;
	if (target < EVENT_TRIM_KEEP)
		target = EVENT_TRIM_KEEP;
	while (at < d->keep) {
		step = trim_char_len(p + at, d->len - at);
		if (at + step > target)
			break;
		at += step;
	}
	d->keep = at;
	return before - at;
}

/* True when node <i> may be cut or removed. */
static bool
trim_free(const struct trim *t, int i)
{
	return i > 0 && !t->nodes[i].removed && !t->nodes[i].is_protected;
}

/* True when node <i> or an ancestor was removed. */
static bool
trim_gone(const struct trim *t, int i)
{
	for (; i >= 0; i = t->nodes[i].parent) {
		if (t->nodes[i].removed)
			return true;
	}
	return false;
}

/*
 * Marks the protected paths and the containers that hold them, and the
 * strings cut first or last.
 */
static void
trim_protect(struct trim *t)
{
	for (int i = 1; i < t->nnodes; i++) {
		char buf[TRIM_PATH_MAX];

		trim_path(t, i, buf, sizeof(buf));
		for (size_t k = 0;
		     k < sizeof(trim_first) / sizeof(trim_first[0]); k++) {
			if (strcmp(buf, trim_first[k]) == 0)
				t->nodes[i].rank = (unsigned)k + 1;
		}
		t->nodes[i].last = strcmp(buf, trim_last) == 0;
		for (size_t k = 0;
		     k < sizeof(trim_protected) / sizeof(trim_protected[0]);
		     k++) {
			if (strcmp(buf, trim_protected[k]) != 0)
				continue;
			for (int a = i; a > 0; a = t->nodes[a].parent)
				t->nodes[a].is_protected = true;
		}
	}
	t->nodes[0].is_protected = true;
}

/* Cuts the strings of rank <rank>, or the last ones (all of them, in
 * arrays too). */
static void
trim_cut_class(struct trim *t, size_t max, unsigned rank, bool last)
{
	for (int i = 1; i < t->nnodes && t->total > max; i++) {
		if (t->nodes[i].type != TRIM_STRING || !trim_free(t, i) ||
		    t->nodes[i].rank != rank || t->nodes[i].last != last ||
		    trim_gone(t, i))
			continue;
		t->total -= trim_cut(t, i, t->total - max);
	}
}

/* Cuts the longest other strings, url.path left for later. */
static void
trim_cut_longest(struct trim *t, size_t max)
{
	while (t->total > max) {
		int best = -1;

		for (int i = 1; i < t->nnodes; i++) {
			if (t->nodes[i].type != TRIM_STRING ||
			    !trim_free(t, i) || trim_gone(t, i) ||
			    t->nodes[i].keep <= EVENT_TRIM_KEEP ||
			    t->nodes[i].last)
				continue;
			if (best == -1 ||
			    t->nodes[i].keep > t->nodes[best].keep)
				best = i;
		}
		if (best == -1)
			return;
		t->total -= trim_cut(t, best, t->total - max);
	}
}

/*
 * Removes node <i>, then each container it leaves empty: an array or
 * object with nothing left in it says nothing, and ECS reads an empty
 * array as no value. Protected containers and the root stay.
 */
static void
trim_remove(struct trim *t, int i)
{
	t->nodes[i].removed = true;
	for (int p = t->nodes[i].parent; p > 0 && trim_free(t, p);
	     p = t->nodes[p].parent) {
		for (int k = t->nodes[p].first; k != -1; k = t->nodes[k].next) {
			if (!t->nodes[k].removed)
				return;
		}
		t->nodes[p].removed = true;
	}
}

/* The last element still written of array <a>, or -1. */
static int
trim_last_element(const struct trim *t, int a)
{
	int last = -1;

	for (int k = t->nodes[a].first; k != -1; k = t->nodes[k].next) {
		if (trim_free(t, k))
			last = k;
	}
	return last;
}

/* Drops elements from the end of the longest arrays. */
static void
trim_drop_elements(struct trim *t, size_t max)
{
	while (t->total > max) {
		int best = -1, e;
		size_t best_size = 0, sz;

		for (int i = 1; i < t->nnodes; i++) {
			if (t->nodes[i].type != TRIM_ARRAY || trim_gone(t, i) ||
			    trim_last_element(t, i) == -1)
				continue;
			sz = t->nodes[i].size;
			if (best == -1 || sz > best_size) {
				best = i;
				best_size = sz;
			}
		}
		if (best == -1 || (e = trim_last_element(t, best)) == -1)
			return;
		trim_remove(t, e);
		trim_total(t);
	}
}

/* Removes the members that repeat others (trim_redundant[]). */
static void
trim_drop_redundant(struct trim *t, size_t max)
{
	for (size_t k = 0;
	     k < sizeof(trim_redundant) / sizeof(trim_redundant[0]); k++) {
		for (int i = 1; i < t->nnodes && t->total > max; i++) {
			if (!trim_free(t, i) || trim_gone(t, i) ||
			    !trim_path_is(t, i, trim_redundant[k]))
				continue;
			trim_remove(t, i);
			trim_total(t);
		}
	}
}

/* Removes whole members, largest first. */
static void
trim_drop_members(struct trim *t, size_t max)
{
	while (t->total > max) {
		int best = -1;
		size_t best_size = 0, sz;

		for (int i = 1; i < t->nnodes; i++) {
			if (!trim_free(t, i) || trim_gone(t, i))
				continue;
			sz = t->nodes[i].size;
			if (best == -1 || sz > best_size) {
				best = i;
				best_size = sz;
			}
		}
		if (best == -1)
			return;
		trim_remove(t, best);
		trim_total(t);
	}
}

/* ------------------------------------------------------------------ */
/* Writing */

static void
trim_write(const struct trim *t, int i, struct json *out)
{
	const struct trim_node *d = &t->nodes[i];
	bool first = true;

	if (i > 0 && t->nodes[d->parent].type == TRIM_OBJECT) {
		json_raw(out, "\"", 1);
		json_raw(out, t->s + d->key_off, d->key_len);
		json_raw(out, "\":", 2);
	}
	switch (d->type) {
	case TRIM_STRING:
		json_raw(out, "\"", 1);
		json_raw(out, t->s + d->off, d->keep);
		json_raw(out, "\"", 1);
		return;
	case TRIM_SCALAR:
		json_raw(out, t->s + d->off, d->len);
		return;
	default:
		break;
	}
	json_raw(out, d->type == TRIM_OBJECT ? "{" : "[", 1);
	for (int k = d->first; k != -1; k = t->nodes[k].next) {
		if (t->nodes[k].removed)
			continue;
		if (!first)
			json_raw(out, ",", 1);
		first = false;
		trim_write(t, k, out);
	}
	/* The marker closes the "ocspgate" object, or the line. */
	if (i == trim_ocspgate(t) && trim_marker_size(t) > 0) {
		if (!first)
			json_raw(out, ",", 1);
		json_raw(out, trim_marker, sizeof(trim_marker) - 1);
	} else if (i == 0 && trim_ocspgate(t) == -1) {
		if (!first)
			json_raw(out, ",", 1);
		json_raw(out, trim_object, sizeof(trim_object) - 1);
	}
	json_raw(out, d->type == TRIM_OBJECT ? "}" : "]", 1);
}

int
event_trim(const char *line, size_t len, size_t max, struct json *out)
{
	struct trim t;
	int rc = -1;

	json_reset(out);
	if (len <= max) {
		json_raw(out, line, len);
		return out->failed ? -1 : 0;
	}
	memset(&t, 0, sizeof(t));
	t.s = line;
	t.n = len;
	if ((t.nodes = calloc(EVENT_TRIM_MAX_NODES, sizeof(*t.nodes))) ==
	    NULL) {
		out->failed = true;
		return -1;
	}
	if (trim_value(&t, -1) != 0 || t.nodes[0].type != TRIM_OBJECT)
		goto done;
	trim_ws(&t);
	if (t.pos != t.n || t.s[t.n - 1] != '\n')
		goto done;
	trim_protect(&t);
	trim_total(&t);
	trim_drop_redundant(&t, max);
	for (size_t k = 0; k < sizeof(trim_first) / sizeof(trim_first[0]); k++)
		trim_cut_class(&t, max, (unsigned)k + 1, false);
	trim_cut_longest(&t, max);
	trim_cut_class(&t, max, 0, true);
	trim_total(&t);
	trim_drop_elements(&t, max);
	trim_drop_members(&t, max);
	if (t.total > max)
		goto done;
	trim_write(&t, 0, out);
	json_raw(out, "\n", 1);
	/* The count and the bytes must agree: never send a longer line. */
	rc = !out->failed && out->len == t.total ? 0 : -1;
done:
	if (rc == -1)
		json_reset(out);
	free(t.nodes);
	return rc;
}
