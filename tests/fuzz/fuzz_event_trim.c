/*
 * Fuzzes event_trim(): the first two bytes are the budget (little
 * endian), the rest the line. Whatever the line, a success is a line of
 * at most the budget, ending in '\n', that the strict JSON parser of
 * fuzz_json.c accepts and that says it was truncated (or the line itself
 * when it fitted); a failure leaves nothing. Any breach aborts.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ocspgate/event_trim.h"

/* The strict parser only: fuzz_json.c's entry point under another name. */
#define LLVMFuzzerTestOneInput fuzz_json_entry
#include "fuzz_json.c"
#undef LLVMFuzzerTestOneInput

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *line = (const char *)data + 2;
	struct json out;
	size_t max, len;
	int rc;

	if (size < 2)
		return 0;
	max = (size_t)data[0] | (size_t)data[1] << 8;
	len = size - 2;
	json_init(&out);
	rc = event_trim(line, len, max, &out);
	if (rc == 0) {
		if (len <= max) {
			if (out.len != len || memcmp(out.buf, line, len) != 0)
				abort();
		} else if (out.len > max || out.len == 0 ||
		    out.buf[out.len - 1] != '\n' ||
		    !fuzz_json_validate(out.buf, out.len - 1, NULL) ||
		    strstr(out.buf, "\"truncated\":true") == NULL) {
			abort();
		}
	} else if (out.len != 0) {
		abort();
	}
	json_free(&out);
	return 0;
}
