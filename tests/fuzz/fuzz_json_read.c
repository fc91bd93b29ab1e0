/*
 * Fuzz target for json_read.c. The input is read as a JSON text: every
 * scalar reported must carry a NUL-terminated path within
 * JSON_READ_PATH_MAX and a NUL-terminated value no longer than the input,
 * and a text accepted twice must report the same scalars. Then the input
 * is written as a string member with the event log's writer (json.c) and
 * read back: it must be accepted, as one scalar at "k", equal to the
 * input when the input is ASCII. Any failure aborts.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ocspgate/json.h"
#include "ocspgate/json_read.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct fuzz_json_read_state {
	size_t input_len;
	size_t scalars;
	uint64_t digest; /* of every path and value, in order */
	const char *last_path;
	char last_value[64];
	size_t last_len;
};

static void
fuzz_json_read_on(void *arg, const char *path, size_t path_len,
    enum json_read_type type, const char *v, size_t len)
{
	struct fuzz_json_read_state *st = arg;

	if (path_len > JSON_READ_PATH_MAX || path[path_len] != '\0' ||
	    strlen(path) != path_len || v[len] != '\0' || len > st->input_len ||
	    (unsigned)type > JSON_READ_NULL)
		abort();
	st->scalars++;
	for (size_t i = 0; i <= path_len; i++)
		st->digest =
		    (st->digest ^ (unsigned char)path[i]) * 0x100000001b3u;
	for (size_t i = 0; i < len; i++)
		st->digest =
		    (st->digest ^ (unsigned char)v[i]) * 0x100000001b3u;
	st->digest ^= (uint64_t)type << 56;
	st->last_path = path[0] == 'k' && path[1] == '\0' ? "k" : "other";
	st->last_len = len;
	memcpy(st->last_value, v, len < sizeof(st->last_value) ? len : 0);
}

static int
fuzz_json_read_run(
    const char *text, size_t len, struct fuzz_json_read_state *st)
{
	char *scratch = malloc(len + 1);
	int rc;

	if (scratch == NULL)
		return -2;
	memset(st, 0, sizeof(*st));
	st->input_len = len;
	rc = json_read(text, len, scratch, len + 1, fuzz_json_read_on, st);
	free(scratch);
	if (rc != 0 && rc != -1)
		abort();
	return rc;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fuzz_json_read_state a, b;
	struct json j;
	bool ascii = true;
	int rc;

	rc = fuzz_json_read_run((const char *)data, size, &a);
	if (rc == 0) {
		if (fuzz_json_read_run((const char *)data, size, &b) != 0 ||
		    a.scalars != b.scalars || a.digest != b.digest)
			abort();
	}

	/* What the writer makes of any bytes, the reader takes back. */
	json_init(&j);
	json_object_begin(&j, NULL);
	json_string(&j, "k", (const char *)data, size);
	json_object_end(&j);
	if (!j.failed) {
		if (fuzz_json_read_run(j.buf, j.len, &a) != 0 ||
		    a.scalars != 1 || strcmp(a.last_path, "k") != 0)
			abort();
		for (size_t i = 0; i < size; i++)
			ascii = ascii && data[i] < 0x80;
		if (ascii &&
		    (a.last_len != size ||
		        (size < sizeof(a.last_value) &&
		            memcmp(a.last_value, data, size) != 0)))
			abort();
	}
	json_free(&j);
	return 0;
}
