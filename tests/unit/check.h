/*
 * A minimal table-driven test harness: CHECK() records a failure with its
 * line and goes on; check_done() prints "N passed, N failed" and returns
 * the exit status.
 */
#ifndef OCSPGATE_TEST_CHECK_H
#define OCSPGATE_TEST_CHECK_H

#include <stdio.h>
#include <stdlib.h>

static unsigned check_passed, check_failed;

#define CHECK(cond)                                                            \
	do {                                                                   \
		if (cond) {                                                    \
			check_passed++;                                        \
		} else {                                                       \
			check_failed++;                                        \
			fprintf(stderr, "%s:%d: CHECK(%s) failed\n", __FILE__, \
			    __LINE__, #cond);                                  \
		}                                                              \
	} while (0)

#define CHECKF(cond, ...)                                                      \
	do {                                                                   \
		if (cond) {                                                    \
			check_passed++;                                        \
		} else {                                                       \
			check_failed++;                                        \
			fprintf(stderr, "%s:%d: CHECK(%s) failed: ", __FILE__, \
			    __LINE__, #cond);                                  \
			fprintf(stderr, __VA_ARGS__);                          \
			fputc('\n', stderr);                                   \
		}                                                              \
	} while (0)

static inline int
check_done(void)
{
	printf("%u passed, %u failed\n", check_passed, check_failed);
	return check_failed == 0 ? 0 : 1;
}

/* Reads <dir>/<name> into <buf> (<cap> bytes); returns its size. */
static inline size_t
check_read_file(
    const char *dir, const char *name, unsigned char *buf, size_t cap)
{
	char path[4096];
	FILE *fp;
	size_t n;

	if (snprintf(path, sizeof(path), "%s/%s", dir, name) >=
	        (int)sizeof(path) ||
	    (fp = fopen(path, "rb")) == NULL) {
		fprintf(stderr, "%s/%s: cannot open\n", dir, name);
		abort();
	}
	n = fread(buf, 1, cap, fp);
	fclose(fp);
	return n;
}

#endif
