/*
 * The configuration: a libconfig file turned into an immutable,
 * reference-counted struct config (config-t.h). Reads files (the config,
 * issuer PEMs), does no network I/O and keeps no globals.
 */
#ifndef OCSPGATE_CONFIG_H
#define OCSPGATE_CONFIG_H

#include <stddef.h>

#include "ocspgate/config-t.h"
#include "ocspgate/inventory.h"

/*
 * Loads the config at <path>. On success returns a config holding one
 * reference. On failure returns NULL and writes every error found, one
 * "PATH:LINE: message" line each, into <err> (NUL-terminated, truncated
 * to <errlen>); PATH is <path> as given.
 */
struct config *config_load(const char *path, char *err, size_t errlen);

/*
 * As config_load(), but parses <text> as the contents of a config file
 * named <name>: <name> stands for PATH in errors and relative file names
 * resolve against its directory. For tests and fuzzing.
 */
struct config *config_load_string(
    const char *name, const char *text, char *err, size_t errlen);

/* Takes a reference; returns <c>. */
struct config *config_ref(struct config *c);

/* Drops a reference; frees the config with the last one. Takes NULL. */
void config_unref(struct config *c);

/*
 * Parses a responder spec "host[:port][/path]" or "*.host..." into <r>
 * (spec, host, wildcard, port, path, path_len; not issuers or line).
 * Returns 0, or -1 with a message in <err> and r's strings left NULL.
 * The strings are malloc'd and belong to <r>.
 */
int config_parse_responder(
    const char *spec, struct responder *r, char *err, size_t errlen);

#endif
