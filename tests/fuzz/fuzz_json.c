/*
 * Fuzzes the JSON writer: any bytes written as a string (and as hex)
 * must give valid JSON, checked by a strict parser written apart from the
 * writer, and the string must decode to the input with each ill-formed
 * UTF-8 subpart replaced by U+FFFD (to the input itself when it is valid
 * UTF-8). Any failure aborts. test_json.c includes this file to reuse the
 * parser.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ocspgate/json.h"

#include "json_check.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* True when <s> holds the uppercase hex of <p>. */
static bool
fuzz_json_is_hex_of(
    const unsigned char *s, size_t slen, const unsigned char *p, size_t n)
{
	static const char digits[] = "0123456789ABCDEF";

	if (slen != 2 * n)
		return false;
	for (size_t i = 0; i < n; i++)
		if (s[2 * i] != digits[p[i] >> 4] ||
		    s[2 * i + 1] != digits[p[i] & 0xf])
			return false;
	return true;
}

static void
fuzz_json_write(struct json *j, const uint8_t *data, size_t size)
{
	json_object_begin(j, NULL);
	json_string(j, "s", (const char *)data, size);
	json_hex(j, "h", data, size);
	json_array_begin(j, "a");
	json_string(j, NULL, (const char *)data, size / 2);
	json_object_begin(j, NULL);
	json_object_end(j);
	json_uint(j, NULL, size);
	json_array_end(j);
	json_object_end(j);
	json_raw(j, "\n", 1);
}

/* Checks that decoded string <i> of <doc> is <want>, and its kind. */
static void
fuzz_json_expect(const struct fuzz_json_doc *doc, size_t i, bool key,
    const void *want, size_t len)
{
	if (i >= doc->nstrings || doc->strings[i].key != key ||
	    doc->strings[i].len != len ||
	    (len > 0 && memcmp(doc->strings[i].s, want, len) != 0))
		abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fuzz_json_doc doc;
	struct json j;
	unsigned char *want, *half;
	size_t want_len, half_len, first_len;
	char *first;
	bool verbatim;

	json_init(&j);
	fuzz_json_write(&j, data, size);
	if (j.failed || j.len == 0 || j.buf[j.len] != '\0')
		abort();

	/* No raw control byte or DEL: they are all escaped. */
	for (size_t i = 0; i + 1 < j.len; i++)
		if ((unsigned char)j.buf[i] < 0x20 ||
		    (unsigned char)j.buf[i] == 0x7f)
			abort();

	if (!fuzz_json_validate(j.buf, j.len, &doc))
		abort();
	want = fuzz_json_utf8_replace(data, size, &want_len);
	half = fuzz_json_utf8_replace(data, size / 2, &half_len);
	if (fuzz_json_utf8_valid(data, size) &&
	    (want_len != size || (size > 0 && memcmp(want, data, size) != 0)))
		abort();
	if (doc.nstrings != 6)
		abort();
	fuzz_json_expect(&doc, 0, true, "s", 1);
	fuzz_json_expect(&doc, 1, false, want, want_len);
	fuzz_json_expect(&doc, 2, true, "h", 1);
	if (!fuzz_json_is_hex_of(
	        doc.strings[3].s, doc.strings[3].len, data, size))
		abort();
	fuzz_json_expect(&doc, 4, true, "a", 1);
	fuzz_json_expect(&doc, 5, false, half, half_len);
	fuzz_json_doc_free(&doc);
	free(want);
	free(half);

	/* A reset writer writes the same document again in the same memory. */
	if ((first = malloc(j.len)) == NULL)
		abort();
	memcpy(first, j.buf, j.len);
	first_len = j.len;
	json_reset(&j);
	fuzz_json_write(&j, data, size);
	if (j.failed || j.len != first_len || memcmp(first, j.buf, j.len) != 0)
		abort();
	free(first);

	/*
	 * The raw writer writes the same document, and says a string went
	 * out verbatim exactly when its text is the input as it is.
	 */
	if ((first = malloc(j.len)) == NULL)
		abort();
	memcpy(first, j.buf, j.len);
	json_reset(&j);
	json_object_begin(&j, NULL);
	if (!json_members_begin(&j))
		abort();
	JSON_LIT(&j, "\"s\":");
	verbatim = json_value_string(&j, (const char *)data, size);
	if (verbatim !=
	    (j.len == 5 + size + 2 &&
	        (size == 0 || memcmp(j.buf + 6, data, size) == 0)))
		abort();
	JSON_LIT(&j, ",\"h\":");
	json_value_hex(&j, data, size);
	JSON_LIT(&j, ",\"a\":[");
	(void)json_value_string(&j, (const char *)data, size / 2);
	JSON_LIT(&j, ",{},");
	json_value_uint(&j, size);
	JSON_LIT(&j, "]");
	json_object_end(&j);
	JSON_LIT(&j, "\n");
	if (j.failed || j.len != first_len || memcmp(first, j.buf, j.len) != 0)
		abort();
	free(first);
	json_free(&j);
	return 0;
}
