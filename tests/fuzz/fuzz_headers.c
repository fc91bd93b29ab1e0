/*
 * Fuzzes the small text parsers of operator- and peer-supplied values:
 * an upstream's Cache-Control header (ocsp_cache_parse_max_age) and an
 * event_syslog target (syslog_parse_target), plus the syslog framing of
 * any message. Aborts when a result breaks its promise: max-age within
 * 0..a year, a target's strings NUL-terminated within their arrays, a
 * formatted message no longer than its buffer and, when octet-counted,
 * carrying its own length.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ocspgate/cache.h"
#include "ocspgate/syslog_format.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct syslog_target t;
	struct timespec ts = {.tv_sec = 1795000000, .tv_nsec = 123456789};
	char err[256], buf[512], *text;
	long age = -1;
	int rc;

	rc = ocsp_cache_parse_max_age((const char *)data, size, &age);
	if (rc < -1 || rc > 1 ||
	    (rc == 1 && (age < 0 || age > OCSP_CACHE_MAX_AGE_LIMIT_SEC)))
		abort();

	if ((text = malloc(size + 1)) == NULL)
		return 0;
	memcpy(text, data, size);
	text[size] = '\0';
	if (syslog_parse_target(text, &t, err, sizeof(err)) == 0) {
		if (memchr(t.host, '\0', sizeof(t.host)) == NULL ||
		    memchr(t.port, '\0', sizeof(t.port)) == NULL ||
		    memchr(t.path, '\0', sizeof(t.path)) == NULL)
			abort();
	} else if (memchr(err, '\0', sizeof(err)) == NULL) {
		abort();
	}
	for (int oc = 0; oc < 2; oc++) {
		size_t n = syslog_format(buf, sizeof(buf), 16, 6, &ts, text,
		    "ocspgate", 42, "event", text, size, oc);

		if (n > sizeof(buf))
			abort();
		if (oc && n > 0) {
			char *sp = memchr(buf, ' ', n);

			if (sp == NULL ||
			    strtoul(buf, NULL, 10) !=
			        n - (size_t)(sp + 1 - buf))
				abort();
		}
	}
	free(text);
	return 0;
}
