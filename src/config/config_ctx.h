/*
 * The config loader's own header, for its files only (config.c and the
 * config_*.c of each concern): the load in progress, the helpers every
 * part reports errors and reads settings with, and each part's
 * directives. Nothing outside src/config includes it.
 */
#ifndef OCSPGATE_CONFIG_CTX_H
#define OCSPGATE_CONFIG_CTX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>
#include <sys/types.h>

#include <libconfig.h>
#include <openssl/x509.h>

#include "ocspgate/config.h"

#define CONFIG_MAX_CA_FILE_BYTES (16 * 1024 * 1024)
#define CONFIG_MAX_PEM_BYTES     (4 * 1024 * 1024)

/* One load in progress: where errors go and what is being built. */
struct config_ctx {
	const char *path; /* the config's path as given, for messages */
	char *dir;        /* its directory, for relative file names */
	const char *text; /* the config's text, NUL-terminated */
	size_t text_len;
	char *err;
	size_t errlen;
	size_t errpos;
	unsigned nerrors;
	struct config *c;
};

/* How an integer directive's field is stored. */
enum config_int_type {
	CONFIG_INT_UNSIGNED = 0,
	CONFIG_INT_SIZE, /* size_t */
	CONFIG_INT_U32   /* uint32_t */
};

/*
 * A directive that is one integer in min..max, stored as is in the
 * field at <offset> of struct config. config.c parses every one of
 * them alike: the type, the range (a wrapped literal included) and the
 * "FILE:LINE:" of an error.
 */
struct config_int {
	const char *name;
	size_t offset;
	enum config_int_type type;
	long long min, max;
};

#define CONFIG_INT_ROW(name, field, type, min, max)                            \
	{                                                                      \
		name, offsetof(struct config, field), type, min, max           \
	}
#define CONFIG_UINT(name, field, min, max)                                     \
	CONFIG_INT_ROW(name, field, CONFIG_INT_UNSIGNED, min, max)
#define CONFIG_SIZE(name, field, min, max)                                     \
	CONFIG_INT_ROW(name, field, CONFIG_INT_SIZE, min, max)
#define CONFIG_U32(name, field, min, max)                                      \
	CONFIG_INT_ROW(name, field, CONFIG_INT_U32, min, max)

/* Errors and notes (config.c). */

/*
 * Reports an error at setting <s> (its file and line), or about the whole
 * file when <s> is NULL: one "FILE:LINE: message" line in the caller's
 * buffer, and the load fails.
 */
void config_error(struct config_ctx *ctx, const config_setting_t *s,
    const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* The same at <line> of <file> (NULL: the config itself). */
void config_error_at(struct config_ctx *ctx, const char *file, unsigned line,
    const char *fmt, ...) __attribute__((format(printf, 4, 5)));
/* "out of memory" at <s>. */
void config_oom(struct config_ctx *ctx, const config_setting_t *s);
/* Records a line for `ocspgate -t` to print (what was learned). */
void config_note(struct config_ctx *ctx, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Files (config.c). */

/* The directory part of <path> ("." when it has none), or NULL. */
char *config_dirname(const char *path);
/*
 * A file name from the config: absolute as it is, relative against the
 * config file's directory. Malloc'd; NULL when out of memory.
 */
char *config_resolve(const struct config_ctx *ctx, const char *name);
/*
 * Opens <path> for reading without blocking on a FIFO or device and
 * checks it is a regular file of at most <max_bytes> (0: any size).
 * Returns the descriptor, or -1 with errno set (EINVAL for something
 * other than a regular file, EFBIG for one too large).
 */
int config_open_regular(const char *path, off_t max_bytes);
/* strerror(), with EINVAL as config_open_regular() means it. */
const char *config_strerror(int e);

/* Values (config.c). */

/*
 * A port of <n> characters at <s>: decimal digits only, <min>..65535.
 * Returns true with *port set.
 */
bool config_parse_port(const char *s, size_t n, unsigned min, uint16_t *port);
/*
 * A numeric socket address: "IPv4:port" or "[IPv6]:port", and when
 * <default_port> is not negative also "IPv4", "IPv6" and "[IPv6]" with
 * that port. Host names are refused. Ports must be min_port..65535.
 * Returns 0 with *ss and *sslen set, or -1 with a message in <err>.
 */
int config_parse_sockaddr(const char *text, int default_port, unsigned min_port,
    struct sockaddr_storage *ss, socklen_t *sslen, char *err, size_t errlen);
/* The string value of <s>, or NULL after reporting its type. */
const char *config_get_string(
    struct config_ctx *ctx, const config_setting_t *s);
/* Reads boolean <s> into *v. Returns false after reporting its type. */
bool config_get_bool(
    struct config_ctx *ctx, const config_setting_t *s, bool *v);
/*
 * Whether <s> is an array or list of strings only; false after reporting
 * it is not, as "an array or list of <what>".
 */
bool config_check_strings(
    struct config_ctx *ctx, const config_setting_t *s, const char *what);
/* Element <i> of array, list or group <s> (see config.c about lines). */
const config_setting_t *config_elem(const config_setting_t *s, int i);

/*
 * The directives of each concern: each parses its setting <s> into
 * ctx->c, reporting every error.
 */

/* config_listen.c */
void config_parse_listen(struct config_ctx *ctx, const config_setting_t *s);
void config_free_listen(struct listen_addr *l);

/* config_hosts.c: responders and the other classes' hosts. */
void config_parse_responders(struct config_ctx *ctx, const config_setting_t *s);
void config_parse_crl_hosts(struct config_ctx *ctx, const config_setting_t *s);
void config_parse_ca_issuer_hosts(
    struct config_ctx *ctx, const config_setting_t *s);
void config_parse_ctl_hosts(struct config_ctx *ctx, const config_setting_t *s);
void config_free_responder(struct responder *r);

/* config_pki.c */
void config_parse_pki_certs(struct config_ctx *ctx, const config_setting_t *s);

/* config_trust.c: ca_file, then the stores built once all is read. */
void config_parse_ca_file(struct config_ctx *ctx, const config_setting_t *s);
void config_build_stores(struct config_ctx *ctx);
void config_build_candidate_trust(struct config_ctx *ctx);
void config_collect_known_cas(struct config_ctx *ctx);
/*
 * Keeps <x> (a reference) in <*list> (created) when it is a CA: its CRLs
 * and trust lists can then be checked against it.
 */
void config_keep_ca(struct config_ctx *ctx, const config_setting_t *s,
    STACK_OF(X509) * *list, X509 *x);

/* config_outputs.c */
void config_parse_event_log(struct config_ctx *ctx, const config_setting_t *s);
void config_parse_event_syslog(
    struct config_ctx *ctx, const config_setting_t *s);
void config_parse_syslog_facility(
    struct config_ctx *ctx, const config_setting_t *s);
void config_parse_admin_listen(
    struct config_ctx *ctx, const config_setting_t *s);

/* config_alerts.c: the thresholds (integers), and the jitter. */
extern const struct config_int config_alert_ints[];
extern const size_t config_nalert_ints;
void config_parse_periodic_jitter(
    struct config_ctx *ctx, const config_setting_t *s);

#endif
