/*
 * Suggest (`ocspgate -S`): reads event-log lines, gathers the candidate
 * hosts they name (ocspgate.candidate) with their figures, and writes a
 * libconfig snippet of the hosts whose answers earned a place in the
 * config, the others commented out with why. Pure: lines in, text out;
 * no I/O, no clock, no globals.
 */
#ifndef OCSPGATE_SUGGEST_H
#define OCSPGATE_SUGGEST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ocspgate/candidate.h"
#include "ocspgate/config-t.h"
#include "ocspgate/path_shape.h"

#define SUGGEST_MAX_HOSTS   4096 /* distinct (class, host, port) kept */
#define SUGGEST_MAX_SOURCES 1024 /* distinct sources counted per host */
#define SUGGEST_TEXT_MAX    128  /* bytes of a detail kept */
#define SUGGEST_TIME_MAX    32   /* "2026-11-26T19:00:00.123Z" */
#define SUGGEST_HOST_MAX    253  /* DNS name, or IPv6 literal */

/* The fields of one event line that suggesting reads. */
struct suggest_event {
	char timestamp[SUGGEST_TIME_MAX]; /* "" when absent or odd */
	bool request;                     /* event.kind is "event" */
	enum candidate_class candidate;   /* ocspgate.candidate */
	char answer[32];                  /* ocspgate.candidate_answer */
	int verified;                     /* -1 absent, else 0 or 1 */
	char detail[SUGGEST_TEXT_MAX];    /* ocspgate.detail */
	char candidate_detail[SUGGEST_TEXT_MAX];
	char mode[16];                   /* ocspgate.mode */
	char source_ip[64];              /* source.ip */
	char host[SUGGEST_HOST_MAX + 1]; /* destination.domain, else .ip */
	bool host_too_long;
	unsigned port; /* destination.port; 0 when absent */
	char path[PATH_SHAPE_FETCH_MAX + 1]; /* url.path, truncated */
};

/*
 * Reads one event line (<len> bytes, without its newline) into <ev>.
 * <scratch> of <len> + 1 bytes or more is working space.
 * Returns 1 for a request event naming a candidate, 0 for any other
 * valid JSON object, -1 for a line that is not one.
 */
int suggest_parse_line(const char *line, size_t len, char *scratch,
    size_t scratch_cap, struct suggest_event *ev);

struct suggest;

/* A new, empty gathering; NULL when out of memory. */
struct suggest *suggest_new(void);
void suggest_free(struct suggest *sg);

/*
 * Counts one event line (<len> bytes, without its newline). Returns 1
 * when it named a candidate, 0 for another line, -1 for a line that is
 * not JSON (counted as unreadable), -2 when out of memory (the line is
 * not counted).
 */
int suggest_add_line(struct suggest *sg, const char *line, size_t len);

/*
 * Writes the snippet for what was gathered: the header (lines read,
 * unreadable, time span), then per class (responders, crl_hosts,
 * ca_issuer_hosts, ctl_hosts) a list of the hosts whose every judged
 * answer passed inspection and whose every checked signature verified,
 * each after a comment with its figures (requests, sources, first and
 * last seen, answers, verification), then the other candidates as
 * comments saying why. Hosts that a list of <cfg> (may be NULL) already
 * holds for their class and port, without a path, are left out.
 * The text is valid libconfig. *out is malloc'd and NUL-terminated; the
 * caller frees it. Returns 0, or -1 when out of memory.
 */
int suggest_format(const struct suggest *sg, const struct config *cfg,
    char **out, size_t *out_len);

#endif
