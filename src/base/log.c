/*
 * Operator diagnostics: one "ocspgate: ..." line each on stderr.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

#include "ocspgate/log.h"

static void __attribute__((format(printf, 2, 0)))
log_vprint(const char *prefix, const char *fmt, va_list ap)
{
	char line[1024];

	vsnprintf(line, sizeof(line), fmt, ap);
	fprintf(stderr, "ocspgate: %s%s\n", prefix, line);
}

void
log_info(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_vprint("", fmt, ap);
	va_end(ap);
}

void
log_warn(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_vprint("warning: ", fmt, ap);
	va_end(ap);
}

void
fatal(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_vprint("fatal: ", fmt, ap);
	va_end(ap);
	exit(1);
}
