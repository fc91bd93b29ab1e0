/*
 * The memo: a power-of-two array of slots in sets of two, each slot
 * holding one key (copied into a buffer that grows to the largest key it
 * held) and its value. A key may sit in either slot of its set, so that
 * two keys that hash to the same set (two responders' certificates, say)
 * do not push each other out in turn; a new key takes the older of the
 * two.
 */
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "ocspgate/memo.h"

struct memo_slot {
	unsigned char *key; /* the key's bytes, then the value */
	size_t alen, blen;  /* 0, 0: empty */
	size_t cap;
	uint64_t hash;
	uint64_t stamp; /* when it was written; 0: never */
};

struct memo {
	struct memo_slot *slots;
	size_t sets; /* a power of two: the slots are twice as many */
	size_t max_key;
	size_t value_size;
	uint64_t seed;
	uint64_t clock; /* counts the writes */
};

/* A fast hash of <p> 8 bytes at a time; keys are compared in full. */
static uint64_t
memo_hash(const unsigned char *p, size_t n, uint64_t seed)
{
	uint64_t h = seed ^ (n * 0x9e3779b97f4a7c15ull), w;

	while (n >= 8) {
		memcpy(&w, p, 8);
		h = (h ^ w) * 0xff51afd7ed558ccdull;
		h ^= h >> 32;
		p += 8;
		n -= 8;
	}
	w = 0;
	memcpy(&w, p, n);
	h = (h ^ w) * 0xc4ceb9fe1a85ec53ull;
	return h ^ (h >> 29);
}

struct memo *
memo_new(size_t slots, size_t max_key, size_t value_size, uint64_t seed)
{
	struct memo *m;
	size_t n = 2;

	while (n < slots && n < ((size_t)1 << 20))
		n <<= 1;
	if ((m = calloc(1, sizeof(*m))) == NULL ||
	    (m->slots = calloc(n, sizeof(*m->slots))) == NULL) {
		free(m);
		return NULL;
	}
	m->sets = n / 2;
	m->max_key = max_key;
	m->value_size = value_size;
	m->seed = seed;
	return m;
}

void
memo_free(struct memo *m)
{
	if (m == NULL)
		return;
	for (size_t i = 0; i < 2 * m->sets; i++)
		free(m->slots[i].key);
	free(m->slots);
	free(m);
}

/* The first of the two slots of the set hash <h> chooses. */
static struct memo_slot *
memo_set(const struct memo *m, uint64_t h)
{
	return &m->slots[2 * (h & (m->sets - 1))];
}

/* True when slot <s> holds exactly the key <a> then <b>, of hash <h>. */
static bool
memo_holds(const struct memo_slot *s, uint64_t h, const void *a, size_t alen,
    const void *b, size_t blen)
{
	return s->stamp != 0 && s->hash == h && s->alen == alen &&
	    s->blen == blen && memcmp(s->key, a, alen) == 0 &&
	    (blen == 0 || memcmp(s->key + alen, b, blen) == 0);
}

const void *
memo_get(const struct memo *m, const void *a, size_t alen, const void *b,
    size_t blen)
{
	uint64_t h = memo_hash(a, alen, m->seed);
	const struct memo_slot *set = memo_set(m, h);

	for (int w = 0; w < 2; w++)
		if (memo_holds(&set[w], h, a, alen, b, blen))
			return set[w].key + alen + blen;
	return NULL;
}

void
memo_put(struct memo *m, const void *a, size_t alen, const void *b, size_t blen,
    const void *value)
{
	uint64_t h = memo_hash(a, alen, m->seed);
	struct memo_slot *set = memo_set(m, h), *s;
	size_t need;

	if (alen > m->max_key || blen > m->max_key - alen)
		return;
	/* The slot of the same key, else the empty or the older one. */
	if (memo_holds(&set[1], h, a, alen, b, blen))
		s = &set[1];
	else if (memo_holds(&set[0], h, a, alen, b, blen))
		s = &set[0];
	else
		s = set[1].stamp < set[0].stamp ? &set[1] : &set[0];
	need = alen + blen + m->value_size;
	if (need > s->cap) {
		unsigned char *p = realloc(s->key, need);

		if (p == NULL)
			return;
		s->key = p;
		s->cap = need;
	}
	memcpy(s->key, a, alen);
	if (blen > 0)
		memcpy(s->key + alen, b, blen);
	memcpy(s->key + alen + blen, value, m->value_size);
	s->alen = alen;
	s->blen = blen;
	s->hash = h;
	s->stamp = ++m->clock;
}
