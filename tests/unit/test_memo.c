/*
 * The memo: a value comes back only for exactly the same key bytes (both
 * parts), two keys of one set both stay, a third takes the slot written
 * longer ago, the same key written again keeps its slot, long keys are not
 * kept, and a slot's buffer grows and shrinks with its keys without leaking.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "ocspgate/memo.h"

struct value {
	int n;
	char tag[12];
};

int
main(void)
{
	struct memo *m = memo_new(4, 64, sizeof(struct value), 42);
	struct value v = {7, "seven"}, got;
	const void *p;
	unsigned char big[100];

	CHECK(m != NULL);
	CHECK(memo_get(m, "abc", 3, "x", 1) == NULL);
	memo_put(m, "abc", 3, "x", 1, &v);
	CHECK((p = memo_get(m, "abc", 3, "x", 1)) != NULL);
	memcpy(&got, p, sizeof(got));
	CHECK(got.n == 7 && strcmp(got.tag, "seven") == 0);
	/* Any other byte, or the same bytes split otherwise, misses. */
	CHECK(memo_get(m, "abc", 3, "y", 1) == NULL);
	CHECK(memo_get(m, "abd", 3, "x", 1) == NULL);
	CHECK(memo_get(m, "ab", 2, "cx", 2) == NULL);
	CHECK(memo_get(m, "abc", 3, "", 0) == NULL);
	CHECK(memo_get(m, "abc", 3, "xx", 2) == NULL);
	/* No second part. */
	memo_put(m, "k", 1, NULL, 0, &v);
	CHECK(memo_get(m, "k", 1, NULL, 0) != NULL);
	/* Keys over max_key are not kept. */
	memset(big, 'b', sizeof(big));
	memo_put(m, big, sizeof(big), NULL, 0, &v);
	CHECK(memo_get(m, big, sizeof(big), NULL, 0) == NULL);
	memo_put(m, big, 60, big, 10, &v);
	CHECK(memo_get(m, big, 60, big, 10) == NULL);
	memo_put(m, big, 60, big, 4, &v);
	CHECK(memo_get(m, big, 60, big, 4) != NULL);
	/* Many keys in four slots: each lookup is right or a miss. */
	for (int i = 0; i < 1000; i++) {
		struct value w = {i, "n"};
		char key[16];
		int len = snprintf(key, sizeof(key), "key%d", i);

		memo_put(m, key, (size_t)len, &i, sizeof(i), &w);
		CHECK(
		    (p = memo_get(m, key, (size_t)len, &i, sizeof(i))) != NULL);
		memcpy(&got, p, sizeof(got));
		CHECK(got.n == i);
		for (int k = 0; k < i; k += 97) {
			len = snprintf(key, sizeof(key), "key%d", k);
			p = memo_get(m, key, (size_t)len, &k, sizeof(k));
			if (p != NULL) {
				memcpy(&got, p, sizeof(got));
				CHECK(got.n == k);
			}
		}
	}
	memo_free(m);
	memo_free(NULL);
	/* One set of two slots: which keys a run of writes leaves. */
	{
		static const struct {
			const char *puts; /* keys written in turn */
			const char *stay; /* keys found afterwards */
			const char *gone; /* keys not found */
		} cases[] = {
		    {"A", "A", "BC"},
		    {"AB", "AB", "C"},
		    {"ABC", "BC", "A"},
		    {"ABA", "AB", "C"},
		    {"ABAC", "AC", "B"},
		    {"ABCD", "CD", "AB"},
		    {"ABBBC", "BC", "A"},
		};

		for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
			struct memo *two = memo_new(1, 64, sizeof(int), 7);

			CHECK(two != NULL);
			for (const char *k = cases[i].puts; *k != '\0'; k++) {
				int val = *k;

				memo_put(two, k, 1, NULL, 0, &val);
			}
			for (const char *k = cases[i].stay; *k != '\0'; k++) {
				int val = 0;

				CHECK(
				    (p = memo_get(two, k, 1, NULL, 0)) != NULL);
				if (p != NULL)
					memcpy(&val, p, sizeof(val));
				CHECK(val == *k);
			}
			for (const char *k = cases[i].gone; *k != '\0'; k++)
				CHECK(memo_get(two, k, 1, NULL, 0) == NULL);
			memo_free(two);
		}
	}
	return check_done();
}
