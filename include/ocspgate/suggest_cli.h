/*
 * `ocspgate -S EVENTS...`: reads event logs (plain or gzip, "-" for
 * standard input) and prints the snippet of suggest.c. Reads files and
 * writes to stdout and stderr; nothing else.
 */
#ifndef OCSPGATE_SUGGEST_CLI_H
#define OCSPGATE_SUGGEST_CLI_H

#define SUGGEST_CLI_LINE_MAX (1024 * 1024) /* longer lines: unreadable */

/*
 * Loads the config at <config_path> (hosts it lists are left out),
 * reads the <nfiles> event logs in order and prints the snippet on
 * stdout. Errors go to stderr as "ocspgate: FILE: message" (or the
 * config's "PATH:LINE: message").
 * Returns the exit status: 0, or 1 when the config or a file could not
 * be read.
 */
int suggest_cli_run(const char *config_path, int nfiles, char *const files[]);

#endif
