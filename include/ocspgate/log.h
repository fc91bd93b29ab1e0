/*
 * Diagnostics on stderr for the operator (not the event log).
 */
#ifndef OCSPGATE_LOG_H
#define OCSPGATE_LOG_H

void log_info(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* For startup failures and "cannot happen" only: exits 1. */
void fatal(const char *fmt, ...)
    __attribute__((format(printf, 1, 2), noreturn));

#endif
