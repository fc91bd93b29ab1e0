/*
 * A libconfig file -> an immutable, reference-counted struct config.
 * Reads the config and the files it names (issuer PEMs; checks hosts_file
 * and event_log's directory); opens no socket, logs nothing, keeps no
 * globals: every error goes, all of them at once, to the caller's buffer.
 * This file holds the load itself, the directive tables, errors and the
 * helpers every part uses, and the directives of no wider concern; the
 * others are in config_listen.c, config_hosts.c, config_pki.c,
 * config_trust.c, config_outputs.c and config_alerts.c.
 */
#define _POSIX_C_SOURCE 200809L

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <libconfig.h>
#include <openssl/x509.h>

#include "ocspgate/addr.h"
#include "ocspgate/config.h"
#include "ocspgate/file.h"
#include "ocspgate/inventory.h"

#include "config_ctx.h"

/* Accepted ranges of the numeric directives (defaults are in config.h). */
#define CONFIG_MAX_REQUEST_BODY_MIN 1
#define CONFIG_MAX_REQUEST_BODY_MAX 1048576
#define CONFIG_MAX_HEADER_BYTES_MIN 256
#define CONFIG_MAX_HEADER_BYTES_MAX 1048576
#define CONFIG_CLIENT_TIMEOUT_MIN   1
#define CONFIG_CLIENT_TIMEOUT_MAX   86400
#define CONFIG_UPSTREAM_TIMEOUT_MIN 1
#define CONFIG_UPSTREAM_TIMEOUT_MAX 3600
#define CONFIG_MAX_NONCE_BYTES_MIN  1
#define CONFIG_MAX_NONCE_BYTES_MAX  OCSP_NONCE_MAX_BYTES

#define CONFIG_MAX_CONNECTIONS_MAX   1000000
#define CONFIG_MAX_RESPONSE_BODY_MAX (16 * 1024 * 1024)
#define CONFIG_MAX_FETCH_BYTES_MAX   (256 * 1024 * 1024)
#define CONFIG_MAX_FILE_BYTES        (16 * 1024 * 1024)
#define CONFIG_DNS_PORT              53

struct config_directive {
	const char *name;
	void (*parse)(struct config_ctx *, const config_setting_t *);
};

/* What goes between directory <dir> and a name: "/" unless <dir> has one. */
static const char *
config_separator(const char *dir)
{
	size_t n = strlen(dir);

	return n == 0 || dir[n - 1] == '/' ? "" : "/";
}

static void config_verror(struct config_ctx *ctx, const char *file,
    unsigned line, const char *fmt, va_list ap)
    __attribute__((format(printf, 4, 0)));

/*
 * Appends one error line to the caller's buffer: "FILE:LINE: message", or
 * "FILE: message" when <line> is 0, which is kept for errors about the
 * file as a whole (it cannot be read, a directive is missing). FILE is
 * <file>, or the config's path as given when <file> is NULL.
 */
static void
config_verror(struct config_ctx *ctx, const char *file, unsigned line,
    const char *fmt, va_list ap)
{
	const char *dir = "";
	size_t room;
	int n;

	ctx->nerrors++;
	if (ctx->err == NULL || ctx->errpos + 1 >= ctx->errlen)
		return;
	if (file == NULL)
		file = ctx->path;
	/* libconfig names an included file as @include gave it. */
	else if (file[0] != '/' && ctx->dir != NULL &&
	    strcmp(ctx->dir, ".") != 0)
		dir = ctx->dir;
	room = ctx->errlen - ctx->errpos;
	if (line > 0)
		n = snprintf(ctx->err + ctx->errpos, room, "%s%s%s:%u: ", dir,
		    config_separator(dir), file, line);
	else
		n = snprintf(ctx->err + ctx->errpos, room, "%s%s%s: ", dir,
		    config_separator(dir), file);
	if (n < 0 || (size_t)n >= room)
		goto full;
	ctx->errpos += (size_t)n;
	room -= (size_t)n;
	n = vsnprintf(ctx->err + ctx->errpos, room, fmt, ap);
	if (n < 0 || (size_t)n >= room)
		goto full;
	ctx->errpos += (size_t)n;
	room -= (size_t)n;
	if (room < 2)
		goto full;
	ctx->err[ctx->errpos++] = '\n';
	ctx->err[ctx->errpos] = '\0';
	return;
full:
	/* Truncated: keep the NUL the formatting wrote at the end. */
	ctx->errpos = ctx->errlen - 1;
	ctx->err[ctx->errpos] = '\0';
}

/*
 * Reports an error at setting <s> (its file and line), or about the whole
 * file when <s> is NULL.
 */
void
config_error(
    struct config_ctx *ctx, const config_setting_t *s, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	if (s == NULL)
		config_verror(ctx, NULL, 0, fmt, ap);
	else
		config_verror(ctx, config_setting_source_file(s),
		    config_setting_source_line(s), fmt, ap);
	va_end(ap);
}

void
config_error_at(struct config_ctx *ctx, const char *file, unsigned line,
    const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	config_verror(ctx, file, line, fmt, ap);
	va_end(ap);
}

void
config_note(struct config_ctx *ctx, const char *fmt, ...)
{
	struct config *c = ctx->c;
	char line[768], **more;
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	if ((more = realloc(c->notes, (c->nnotes + 1) * sizeof(*more))) == NULL)
		return;
	c->notes = more;
	if ((c->notes[c->nnotes] = strdup(line)) != NULL)
		c->nnotes++;
}

void
config_oom(struct config_ctx *ctx, const config_setting_t *s)
{
	config_error(ctx, s, "out of memory");
}

/* Returns the directory part of <path> ("." when it has none), or NULL. */
char *
config_dirname(const char *path)
{
	const char *slash = strrchr(path, '/');

	if (slash == NULL)
		return strdup(".");
	if (slash == path)
		return strdup("/");
	return strndup(path, (size_t)(slash - path));
}

/*
 * Resolves a file name from the config: absolute names as they are,
 * relative ones against the config file's directory. Returns a malloc'd
 * string, or NULL when out of memory.
 */
char *
config_resolve(const struct config_ctx *ctx, const char *name)
{
	size_t n;
	char *p;

	if (name[0] == '/' || strcmp(ctx->dir, ".") == 0)
		return strdup(name);
	n = strlen(ctx->dir) + 1 + strlen(name) + 1;
	if ((p = malloc(n)) == NULL)
		return NULL;
	snprintf(p, n, "%s%s%s", ctx->dir, config_separator(ctx->dir), name);
	return p;
}

/*
 * Opens <path> for reading without blocking on a FIFO or device and
 * checks it is a regular file of at most <max_bytes> (0: any size).
 * Returns the descriptor, or -1 with errno set (EINVAL for something
 * other than a regular file, EFBIG for one too large).
 */
int
config_open_regular(const char *path, off_t max_bytes)
{
	struct stat st;
	int fd;

	if ((fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC)) == -1)
		return -1;
	if (fstat(fd, &st) == -1) {
		int e = errno;

		close(fd);
		errno = e;
		return -1;
	}
	if (!S_ISREG(st.st_mode)) {
		close(fd);
		errno = S_ISDIR(st.st_mode) ? EISDIR : EINVAL;
		return -1;
	}
	if (max_bytes > 0 && st.st_size > max_bytes) {
		close(fd);
		errno = EFBIG;
		return -1;
	}
	return fd;
}

const char *
config_strerror(int e)
{
	return e == EINVAL ? "not a regular file" : strerror(e);
}

/*
 * Parses a port of <n> characters at <s>: decimal digits only, value
 * <min>..65535. Returns true with *port set.
 */
bool
config_parse_port(const char *s, size_t n, unsigned min, uint16_t *port)
{
	unsigned v = 0;

	if (n == 0 || n > 5)
		return false;
	for (size_t i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return false;
		v = v * 10 + (unsigned)(s[i] - '0');
	}
	if (v < min || v > 65535)
		return false;
	*port = (uint16_t)v;
	return true;
}

/*
 * Parses a numeric socket address: "IPv4:port" or "[IPv6]:port", and
 * when <default_port> is not negative also "IPv4", "IPv6" and "[IPv6]"
 * with that port. Host names are refused. Ports must be min_port..65535.
 * Returns 0 with *ss and *sslen set, or -1 with a message in <err>.
 */
int
config_parse_sockaddr(const char *text, int default_port, unsigned min_port,
    struct sockaddr_storage *ss, socklen_t *sslen, char *err, size_t errlen)
{
	const char *want = default_port < 0
	    ? "expected IPv4:port or [IPv6]:port"
	    : "expected IP, IPv4:port or [IPv6]:port";
	const char *host = text, *host_end, *port = NULL, *colon;
	char buf[INET6_ADDRSTRLEN + 1];
	bool v6 = false;
	uint16_t portnum = default_port < 0 ? 0 : (uint16_t)default_port;
	size_t hlen;

	if (text[0] == '[') {
		host = text + 1;
		if ((host_end = strchr(host, ']')) == NULL) {
			snprintf(err, errlen, "missing ']' (%s)", want);
			return -1;
		}
		v6 = true;
		if (host_end[1] == ':') {
			port = host_end + 2;
		} else if (host_end[1] != '\0') {
			snprintf(err, errlen, "unexpected text after ']' (%s)",
			    want);
			return -1;
		}
	} else if ((colon = strchr(text, ':')) != NULL &&
	    strchr(colon + 1, ':') != NULL) {
		/* Two colons or more: a bare IPv6 address, without a port. */
		if (default_port < 0) {
			snprintf(err, errlen,
			    "an IPv6 address goes in brackets (%s)", want);
			return -1;
		}
		host_end = text + strlen(text);
		v6 = true;
	} else if (colon != NULL) {
		host_end = colon;
		port = colon + 1;
	} else {
		host_end = text + strlen(text);
	}

	if (port == NULL && default_port < 0) {
		snprintf(err, errlen, "no port (%s)", want);
		return -1;
	}
	if (port != NULL &&
	    !config_parse_port(port, strlen(port), min_port, &portnum)) {
		snprintf(err, errlen, "port must be %u..65535", min_port);
		return -1;
	}
	hlen = (size_t)(host_end - host);
	if (hlen == 0 || hlen >= sizeof(buf)) {
		snprintf(err, errlen, "not an IP address (%s)", want);
		return -1;
	}
	memcpy(buf, host, hlen);
	buf[hlen] = '\0';

	memset(ss, 0, sizeof(*ss));
	if (v6) {
		struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)ss;

		if (inet_pton(AF_INET6, buf, &sin6->sin6_addr) != 1) {
			snprintf(
			    err, errlen, "'%s' is not an IPv6 address", buf);
			return -1;
		}
		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons(portnum);
		*sslen = sizeof(*sin6);
	} else {
		struct sockaddr_in *sin = (struct sockaddr_in *)ss;

		if (inet_pton(AF_INET, buf, &sin->sin_addr) != 1) {
			snprintf(err, errlen,
			    "'%s' is not an IPv4 address (%s; host names are "
			    "not allowed)",
			    buf, want);
			return -1;
		}
		sin->sin_family = AF_INET;
		sin->sin_port = htons(portnum);
		*sslen = sizeof(*sin);
	}
	return 0;
}

static void
config_free(struct config *c)
{
	if (c == NULL)
		return;
	free(c->path);
	for (size_t i = 0; i < c->nlisten; i++)
		config_free_listen(&c->listen[i]);
	free(c->listen);
	inventory_unref(c->inventory);
	sk_X509_pop_free(c->ca_certs, X509_free);
	sk_X509_pop_free(c->pki_cas, X509_free);
	sk_X509_pop_free(c->known_cas, X509_free);
	X509_STORE_free(c->known_store);
	free(c->ca_file);
	X509_STORE_free(c->candidate_store);
	sk_X509_pop_free(c->candidate_cas, X509_free);
	free(c->user);
	free(c->group);
	for (size_t i = 0; i < c->nnotes; i++)
		free(c->notes[i]);
	free(c->notes);
	free(c->event_log);
	free(c->event_syslog);
	free(c->admin_listen);
	free(c->hosts_file);
	for (size_t i = 0; i < c->nresolvers; i++)
		free(c->resolvers[i].text);
	free(c->resolvers);
	for (size_t i = 0; i < c->nresponders; i++)
		config_free_responder(&c->responders[i]);
	free(c->responders);
	for (size_t i = 0; i < c->ncrl_hosts; i++)
		config_free_responder(&c->crl_hosts[i]);
	free(c->crl_hosts);
	for (size_t i = 0; i < c->nca_issuer_hosts; i++)
		config_free_responder(&c->ca_issuer_hosts[i]);
	free(c->ca_issuer_hosts);
	for (size_t i = 0; i < c->nctl_hosts; i++)
		config_free_responder(&c->ctl_hosts[i]);
	free(c->ctl_hosts);
	free(c);
}

struct config *
config_ref(struct config *c)
{
	atomic_fetch_add(&c->refs, 1);
	return c;
}

void
config_unref(struct config *c)
{
	if (c == NULL)
		return;
	if (atomic_fetch_sub(&c->refs, 1) == 1)
		config_free(c);
}

/*
 * libconfig 1.5 silently wraps integer literals that overflow an int
 * (4294967297 reads as 1), so a wrapped value could pass a range check.
 * This rereads the literal of top-level setting <s> from the text: its
 * line is that of its '=', which follows the name on the same line in
 * any sane layout. Returns false only when the literal is found and lies
 * outside min..max (min >= 0 here, so a negative literal always does);
 * true when it is in range or cannot be found (an included file, an
 * unusual layout), where libconfig's value alone decides.
 */
static bool
config_int_literal_in_range(const struct config_ctx *ctx,
    const config_setting_t *s, long long min, long long max)
{
	const char *name = config_setting_name(s), *p, *eol, *q;
	const char *end = ctx->text + ctx->text_len;
	unsigned line = config_setting_source_line(s);
	size_t nlen = strlen(name);
	unsigned long long v = 0;
	unsigned base = 10;
	bool neg = false, digits = false, found = false;

	if (config_setting_source_file(s) != NULL || line == 0)
		return true;
	for (p = ctx->text; line > 1; line--) {
		if ((p = memchr(p, '\n', (size_t)(end - p))) == NULL)
			return true;
		p++;
	}
	if ((eol = memchr(p, '\n', (size_t)(end - p))) == NULL)
		eol = end;
	for (q = p; q + nlen <= eol; q++) {
		if (memcmp(q, name, nlen) != 0)
			continue;
		if (q > p &&
		    (q[-1] == '_' || q[-1] == '-' || q[-1] == '*' ||
		        (q[-1] >= '0' && q[-1] <= '9') ||
		        ((q[-1] | 0x20) >= 'a' && (q[-1] | 0x20) <= 'z')))
			continue;
		q += nlen;
		while (q < eol && (*q == ' ' || *q == '\t'))
			q++;
		if (q < eol && (*q == '=' || *q == ':')) {
			found = true;
			break;
		}
	}
	if (!found)
		return true;
	for (q++; q < eol && (*q == ' ' || *q == '\t'); q++)
		;
	if (q < eol && (*q == '-' || *q == '+'))
		neg = *q++ == '-';
	if (eol - q > 2 && q[0] == '0' && (q[1] == 'x' || q[1] == 'X')) {
		base = 16;
		q += 2;
	}
	for (; q < eol; q++) {
		unsigned d;

		if (*q >= '0' && *q <= '9')
			d = (unsigned)(*q - '0');
		else if (base == 16 && (*q | 0x20) >= 'a' && (*q | 0x20) <= 'f')
			d = (unsigned)((*q | 0x20) - 'a' + 10);
		else
			break;
		digits = true;
		if (v > (ULLONG_MAX - d) / base)
			return false;
		v = v * base + d;
	}
	if (!digits)
		return true;
	if (neg)
		return v == 0 && min <= 0;
	return v >= (unsigned long long)min && v <= (unsigned long long)max;
}

/*
 * Reads integer directive <s> (libconfig int or int64) into *v, checking
 * min..max. Returns false after reporting a wrong type or range.
 */
static bool
config_get_int(struct config_ctx *ctx, const config_setting_t *s, long long min,
    long long max, long long *v)
{
	const char *name = config_setting_name(s);

	if (config_setting_type(s) != CONFIG_TYPE_INT &&
	    config_setting_type(s) != CONFIG_TYPE_INT64) {
		config_error(ctx, s, "'%s' must be an integer", name);
		return false;
	}
	*v = config_setting_get_int64(s);
	if (*v < min || *v > max ||
	    !config_int_literal_in_range(ctx, s, min, max)) {
		config_error(ctx, s, "'%s' must be between %lld and %lld", name,
		    min, max);
		return false;
	}
	return true;
}

/* Returns the string value of <s>, or NULL after reporting its type. */
const char *
config_get_string(struct config_ctx *ctx, const config_setting_t *s)
{
	if (config_setting_type(s) != CONFIG_TYPE_STRING) {
		config_error(
		    ctx, s, "'%s' must be a string", config_setting_name(s));
		return NULL;
	}
	return config_setting_get_string(s);
}

/*
 * Checks that <s> is an array or list whose elements are all strings.
 * Returns false after reporting otherwise.
 */
bool
config_check_strings(
    struct config_ctx *ctx, const config_setting_t *s, const char *what)
{
	int n;

	if (config_setting_type(s) != CONFIG_TYPE_ARRAY &&
	    config_setting_type(s) != CONFIG_TYPE_LIST)
		goto bad;
	n = config_setting_length(s);
	for (int i = 0; i < n; i++)
		if (config_setting_type(config_setting_get_elem(s, i)) !=
		    CONFIG_TYPE_STRING)
			goto bad;
	return true;
bad:
	config_error(ctx, s, "'%s' must be an array or list of %s",
	    config_setting_name(s), what);
	return false;
}

/*
 * Element <i> of array, list or group <s>. About its line: libconfig
 * gives an array or list element the line of the token after it, which
 * is exact before a comma, but for the last element of a list closed on
 * a later line it is the line of the closing bracket.
 */
const config_setting_t *
config_elem(const config_setting_t *s, int i)
{
	return config_setting_get_elem(s, (unsigned)i);
}

bool
config_get_bool(struct config_ctx *ctx, const config_setting_t *s, bool *v)
{
	if (config_setting_type(s) != CONFIG_TYPE_BOOL) {
		config_error(ctx, s, "'%s' must be true or false",
		    config_setting_name(s));
		return false;
	}
	*v = config_setting_get_bool(s) != 0;
	return true;
}

static void
config_parse_on_host_mismatch(struct config_ctx *ctx, const config_setting_t *s)
{
	const char *v;

	if ((v = config_get_string(ctx, s)) == NULL)
		return;
	if (strcmp(v, "log") == 0)
		ctx->c->block_host_mismatch = false;
	else if (strcmp(v, "block") == 0)
		ctx->c->block_host_mismatch = true;
	else
		config_error(ctx, s,
		    "'on_host_mismatch' must be \"log\" or \"block\", not "
		    "'%s'",
		    v);
}

/* unverified_answers: what an answer whose signature was not verified
 * gets. */
static void
config_parse_unverified_answers(
    struct config_ctx *ctx, const config_setting_t *s)
{
	static const struct {
		const char *name;
		bool block;
	} values[] = {{"flag", false}, {"block", true}};
	const char *v;

	if ((v = config_get_string(ctx, s)) == NULL)
		return;
	for (size_t i = 0; i < sizeof(values) / sizeof(values[0]); i++) {
		if (strcmp(v, values[i].name) == 0) {
			ctx->c->block_unverified = values[i].block;
			return;
		}
	}
	config_error(ctx, s,
	    "'unverified_answers' must be \"flag\" or \"block\", not '%s'", v);
}

static void
config_parse_reverse_dns(struct config_ctx *ctx, const config_setting_t *s)
{
	config_get_bool(ctx, s, &ctx->c->reverse_dns);
}

static void
config_parse_inventory(struct config_ctx *ctx, const config_setting_t *s)
{
	const char *v;
	char *path, msg[2048];

	if ((v = config_get_string(ctx, s)) == NULL)
		return;
	if ((path = config_resolve(ctx, v)) == NULL) {
		config_oom(ctx, s);
		return;
	}
	ctx->c->inventory = inventory_load(path, msg, sizeof(msg));
	if (ctx->c->inventory == NULL) {
		/* The inventory's own errors name its file and line. */
		char *line = msg, *nl;

		for (; *line != '\0'; line = nl + 1) {
			if ((nl = strchr(line, '\n')) != NULL)
				*nl = '\0';
			config_error(ctx, s, "inventory: %s", line);
			if (nl == NULL)
				break;
		}
	}
	free(path);
}

static void
config_parse_resolvers(struct config_ctx *ctx, const config_setting_t *s)
{
	struct config *c = ctx->c;
	struct sockaddr_storage ss;
	socklen_t sslen;
	char msg[256], text[ADDR_TEXT_MAX];
	int n;

	if (!config_check_strings(ctx, s, "addresses"))
		return;
	if ((n = config_setting_length(s)) == 0)
		return;
	if ((c->resolvers = calloc((size_t)n, sizeof(*c->resolvers))) == NULL) {
		config_oom(ctx, s);
		return;
	}
	for (int i = 0; i < n; i++) {
		const config_setting_t *e = config_elem(s, i);
		const char *spec = config_setting_get_string(e);
		struct resolver_addr *r = &c->resolvers[c->nresolvers];

		if (config_parse_sockaddr(spec, CONFIG_DNS_PORT, 1, &ss, &sslen,
		        msg, sizeof(msg)) == -1) {
			config_error(ctx, e, "resolvers: '%s': %s", spec, msg);
			continue;
		}
		/* Always "IPv4:port" or "[IPv6]:port", port written out. */
		addr_format((const struct sockaddr *)&ss, text, sizeof(text));
		if ((r->text = strdup(text)) == NULL) {
			config_oom(ctx, e);
			continue;
		}
		r->line = (int)config_setting_source_line(e);
		c->nresolvers++;
	}
}

static void
config_parse_mode(struct config_ctx *ctx, const config_setting_t *s)
{
	const char *v;

	if ((v = config_get_string(ctx, s)) == NULL)
		return;
	if (strcmp(v, "enforce") == 0)
		ctx->c->mode = MODE_ENFORCE;
	else if (strcmp(v, "monitor") == 0)
		ctx->c->mode = MODE_MONITOR;
	else
		config_error(ctx, s,
		    "'mode' must be \"enforce\" or \"monitor\", not '%s'", v);
}

static void
config_parse_hosts_file(struct config_ctx *ctx, const config_setting_t *s)
{
	const char *v;
	char *path;
	int fd;

	if ((v = config_get_string(ctx, s)) == NULL)
		return;
	if ((path = *v == '\0' ? strdup("") : config_resolve(ctx, v)) == NULL) {
		config_oom(ctx, s);
		return;
	}
	if (*path != '\0') {
		if ((fd = config_open_regular(path, 0)) == -1) {
			config_error(ctx, s, "hosts_file: cannot read %s: %s",
			    path, config_strerror(errno));
			free(path);
			return;
		}
		close(fd);
	}
	free(ctx->c->hosts_file);
	ctx->c->hosts_file = path;
}

/* user and group: names (or numbers) to drop privileges to. */
static void
config_parse_identity(
    struct config_ctx *ctx, const config_setting_t *s, char **out)
{
	const char *v;

	if ((v = config_get_string(ctx, s)) == NULL)
		return;
	if (*v == '\0') {
		config_error(
		    ctx, s, "'%s' must not be empty", config_setting_name(s));
		return;
	}
	free(*out);
	if ((*out = strdup(v)) == NULL)
		config_oom(ctx, s);
}

static void
config_parse_user(struct config_ctx *ctx, const config_setting_t *s)
{
	config_parse_identity(ctx, s, &ctx->c->user);
}

static void
config_parse_group(struct config_ctx *ctx, const config_setting_t *s)
{
	config_parse_identity(ctx, s, &ctx->c->group);
}

static void
config_parse_verify_responses(struct config_ctx *ctx, const config_setting_t *s)
{
	config_get_bool(ctx, s, &ctx->c->verify_responses);
}

/* The OCSP request fields few clients send, each refused unless allowed. */
static void
config_parse_allow_requestor_name(
    struct config_ctx *ctx, const config_setting_t *s)
{
	config_get_bool(ctx, s, &ctx->c->allow_requestor_name);
}

static void
config_parse_allow_signed_requests(
    struct config_ctx *ctx, const config_setting_t *s)
{
	config_get_bool(ctx, s, &ctx->c->allow_signed_requests);
}

static void
config_parse_allow_service_locator(
    struct config_ctx *ctx, const config_setting_t *s)
{
	config_get_bool(ctx, s, &ctx->c->allow_service_locator);
}

/*
 * Directives that are one integer in a range, stored as is: every
 * integer and size of the config. Those of the alerts are
 * config_alerts.c's.
 */
static const struct config_int config_ints[] = {
    CONFIG_SIZE("max_request_body", max_request_body,
        CONFIG_MAX_REQUEST_BODY_MIN, CONFIG_MAX_REQUEST_BODY_MAX),
    CONFIG_SIZE("max_header_bytes", max_header_bytes,
        CONFIG_MAX_HEADER_BYTES_MIN, CONFIG_MAX_HEADER_BYTES_MAX),
    CONFIG_UINT("client_timeout", client_timeout_sec, CONFIG_CLIENT_TIMEOUT_MIN,
        CONFIG_CLIENT_TIMEOUT_MAX),
    CONFIG_UINT("upstream_timeout", upstream_timeout_sec,
        CONFIG_UPSTREAM_TIMEOUT_MIN, CONFIG_UPSTREAM_TIMEOUT_MAX),
    CONFIG_SIZE("max_nonce_bytes", max_nonce_bytes, CONFIG_MAX_NONCE_BYTES_MIN,
        CONFIG_MAX_NONCE_BYTES_MAX),
    CONFIG_U32("upstream_mark", upstream_mark, 0, 0xffffffffLL),
    CONFIG_UINT(
        "max_connections", max_connections, 1, CONFIG_MAX_CONNECTIONS_MAX),
    CONFIG_UINT("max_connections_per_source", max_connections_per_source, 0,
        CONFIG_MAX_CONNECTIONS_MAX),
    CONFIG_UINT("drain_timeout", drain_timeout_sec, 0, 3600),
    CONFIG_SIZE("max_response_body", max_response_body, 1,
        CONFIG_MAX_RESPONSE_BODY_MAX),
    CONFIG_SIZE("max_crl_bytes", max_crl_bytes, 1, CONFIG_MAX_FETCH_BYTES_MAX),
    CONFIG_UINT("workers", workers, 0, CONFIG_WORKERS_MAX),
    CONFIG_UINT("upstream_idle_max", upstream_idle_max, 0, 100000),
    CONFIG_UINT("upstream_idle_timeout", upstream_idle_timeout_sec, 1, 3600),
    CONFIG_SIZE("cache_size", cache_size, 0, 1LL << 34),
    CONFIG_UINT("cache_max_age", cache_max_age_sec, 1, 365 * 86400),
    CONFIG_SIZE("event_queue_size", event_queue_bytes, 65536, 1LL << 30),
    CONFIG_SIZE("event_log_max_line", event_log_max_line, 1024, 1LL << 24),
    CONFIG_SIZE(
        "event_syslog_max_message", event_syslog_max_message, 1024, 1LL << 24),
    CONFIG_UINT("metric_interval", metric_interval_sec, 0, 86400),
    CONFIG_UINT("source_ipv6_prefix", source_ipv6_prefix, 32, 128),
};

/* The row of <name> in the <n> rows of <table>, or NULL. */
static const struct config_int *
config_find_int(const struct config_int *table, size_t n, const char *name)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(name, table[i].name) == 0)
			return &table[i];
	return NULL;
}

/*
 * Parses <s> if it is an integer directive (config_ints[], or the
 * alerts' config_alert_ints[]): of integer type, within the row's range
 * (else a "FILE:LINE:" error), stored in the row's field. Returns false
 * if <s> is no such directive.
 */
static bool
config_parse_int(struct config_ctx *ctx, const config_setting_t *s)
{
	const char *name = config_setting_name(s);
	const struct config_int *u;
	char *field;
	long long v;

	if ((u = config_find_int(config_ints,
	         sizeof(config_ints) / sizeof(config_ints[0]), name)) == NULL &&
	    (u = config_find_int(
	         config_alert_ints, config_nalert_ints, name)) == NULL)
		return false;
	if (!config_get_int(ctx, s, u->min, u->max, &v))
		return true;
	field = (char *)ctx->c + u->offset;
	switch (u->type) {
	case CONFIG_INT_SIZE:
		*(size_t *)(void *)field = (size_t)v;
		break;
	case CONFIG_INT_U32:
		*(uint32_t *)(void *)field = (uint32_t)v;
		break;
	case CONFIG_INT_UNSIGNED:
		*(unsigned *)(void *)field = (unsigned)v;
		break;
	}
	return true;
}

static const struct config_directive config_directives[] = {
    {"listen", config_parse_listen},
    {"mode", config_parse_mode},
    {"event_log", config_parse_event_log},
    {"hosts_file", config_parse_hosts_file},
    {"resolvers", config_parse_resolvers},
    {"responders", config_parse_responders},
    {"allow_requestor_name", config_parse_allow_requestor_name},
    {"allow_signed_requests", config_parse_allow_signed_requests},
    {"allow_service_locator", config_parse_allow_service_locator},
    {"on_host_mismatch", config_parse_on_host_mismatch},
    {"inventory", config_parse_inventory},
    {"reverse_dns", config_parse_reverse_dns},
    {"verify_responses", config_parse_verify_responses},
    {"unverified_answers", config_parse_unverified_answers},
    {"ca_file", config_parse_ca_file},
    {"crl_hosts", config_parse_crl_hosts},
    {"ca_issuer_hosts", config_parse_ca_issuer_hosts},
    {"ctl_hosts", config_parse_ctl_hosts},
    {"pki_certs", config_parse_pki_certs},
    {"user", config_parse_user},
    {"group", config_parse_group},
    {"event_syslog", config_parse_event_syslog},
    {"event_syslog_facility", config_parse_syslog_facility},
    {"admin_listen", config_parse_admin_listen},
    {"alert_periodic_jitter", config_parse_periodic_jitter},
};

/* Returns the directive called <name>, or NULL for an unknown one. */
static const struct config_directive *
config_find_directive(const char *name)
{
	size_t n = sizeof(config_directives) / sizeof(config_directives[0]);

	for (size_t i = 0; i < n; i++)
		if (strcmp(name, config_directives[i].name) == 0)
			return &config_directives[i];
	return NULL;
}

/*
 * Parses <text> (<len> bytes, NUL-terminated) as the config <path>.
 * Returns the config or NULL with every error reported.
 */
static struct config *
config_load_text(
    const char *path, const char *text, size_t len, char *err, size_t errlen)
{
	struct config_ctx ctx;
	config_setting_t *root;
	config_t lc;
	const char *nul;
	bool have_listen = false;
	struct config *c;
	int n;

	memset(&ctx, 0, sizeof(ctx));
	ctx.path = path;
	ctx.text = text;
	ctx.text_len = len;
	ctx.err = err;
	ctx.errlen = errlen;
	if (err != NULL && errlen > 0)
		err[0] = '\0';

	if ((c = calloc(1, sizeof(*c))) == NULL ||
	    (c->path = strdup(path)) == NULL ||
	    (c->event_log = strdup(CONFIG_DEFAULT_EVENT_LOG)) == NULL ||
	    (c->hosts_file = strdup(CONFIG_DEFAULT_HOSTS_FILE)) == NULL ||
	    (ctx.dir = config_dirname(path)) == NULL) {
		config_error(&ctx, NULL, "out of memory");
		config_free(c);
		return NULL;
	}
	atomic_init(&c->refs, 1);
	c->mode = MODE_ENFORCE;
	c->max_request_body = CONFIG_DEFAULT_MAX_REQUEST_BODY;
	c->max_header_bytes = CONFIG_DEFAULT_MAX_HEADER_BYTES;
	c->client_timeout_sec = CONFIG_DEFAULT_CLIENT_TIMEOUT;
	c->upstream_timeout_sec = CONFIG_DEFAULT_UPSTREAM_TIMEOUT;
	c->max_nonce_bytes = CONFIG_DEFAULT_MAX_NONCE_BYTES;
	c->max_connections = CONFIG_DEFAULT_MAX_CONNECTIONS;
	c->max_connections_per_source = CONFIG_DEFAULT_MAX_CONN_PER_SOURCE;
	c->source_ipv6_prefix = CONFIG_DEFAULT_SOURCE_IPV6_PREFIX;
	c->drain_timeout_sec = CONFIG_DEFAULT_DRAIN_TIMEOUT;
	c->max_response_body = CONFIG_DEFAULT_MAX_RESPONSE_BODY;
	c->max_crl_bytes = CONFIG_DEFAULT_MAX_CRL_BYTES;
	c->upstream_idle_max = CONFIG_DEFAULT_UPSTREAM_IDLE_MAX;
	c->upstream_idle_timeout_sec = CONFIG_DEFAULT_UPSTREAM_IDLE_TIMEOUT;
	c->cache_size = CONFIG_DEFAULT_CACHE_SIZE;
	c->cache_max_age_sec = CONFIG_DEFAULT_CACHE_MAX_AGE;
	c->event_queue_bytes = CONFIG_DEFAULT_EVENT_QUEUE;
	c->event_log_max_line = CONFIG_DEFAULT_EVENT_LOG_MAX_LINE;
	c->event_syslog_max_message = CONFIG_DEFAULT_SYSLOG_MAX_MESSAGE;
	c->metric_interval_sec = CONFIG_DEFAULT_METRIC_INTERVAL;
	c->syslog_facility = CONFIG_DEFAULT_SYSLOG_FACILITY;
	alert_config_defaults(&c->alerts);
	ctx.c = c;

	/* libconfig would stop at a NUL and ignore the rest. */
	if ((nul = memchr(text, '\0', len)) != NULL) {
		unsigned line = 1;

		for (const char *p = text; p < nul; p++)
			line += *p == '\n';
		config_error_at(&ctx, NULL, line, "NUL byte in the file");
		free(ctx.dir);
		config_free(c);
		return NULL;
	}

	config_init(&lc);
	config_set_include_dir(&lc, ctx.dir);
	if (config_read_string(&lc, text) != CONFIG_TRUE) {
		config_error_at(&ctx, config_error_file(&lc),
		    (unsigned)config_error_line(&lc), "%s",
		    config_error_text(&lc) != NULL ? config_error_text(&lc)
		                                   : "cannot parse");
		goto done;
	}
	root = config_root_setting(&lc);
	n = config_setting_length(root);
	for (int i = 0; i < n; i++) {
		const config_setting_t *s = config_elem(root, i);
		const char *name = config_setting_name(s);
		const struct config_directive *d;

		if (config_parse_int(&ctx, s))
			continue;
		if ((d = config_find_directive(name)) == NULL) {
			config_error(&ctx, s, "unknown directive '%s'", name);
			continue;
		}
		if (strcmp(name, "listen") == 0)
			have_listen = true;
		d->parse(&ctx, s);
	}
	if (!have_listen)
		config_error(&ctx, NULL, "no listen address");
	config_build_stores(&ctx);
	config_build_candidate_trust(&ctx);
	config_collect_known_cas(&ctx);
done:
	config_destroy(&lc);
	free(ctx.dir);
	if (ctx.nerrors > 0) {
		config_free(c);
		return NULL;
	}
	return c;
}

struct config *
config_load_string(const char *name, const char *text, char *err, size_t errlen)
{
	return config_load_text(name, text, strlen(text), err, errlen);
}

/*
 * An unreadable config file is reported as "PATH: cannot read: REASON",
 * without a line: the error is about the file, not a place in it.
 */
struct config *
config_load(const char *path, char *err, size_t errlen)
{
	struct config_ctx ctx;
	struct config *c;
	char *text;
	size_t len;
	int e;

	memset(&ctx, 0, sizeof(ctx));
	ctx.path = path;
	ctx.err = err;
	ctx.errlen = errlen;
	if (err != NULL && errlen > 0)
		err[0] = '\0';
	/* Read to the end: the config may also come from a pipe. */
	if ((e = file_read(path, CONFIG_MAX_FILE_BYTES, &text, &len)) != 0) {
		config_error(&ctx, NULL, "cannot read: %s", strerror(e));
		return NULL;
	}
	c = config_load_text(path, text, len, err, errlen);
	free(text);
	return c;
}
