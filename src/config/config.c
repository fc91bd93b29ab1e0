/*
 * A libconfig file -> an immutable, reference-counted struct config.
 * Reads the config and the files it names (issuer PEMs; checks hosts_file
 * and event_log's directory); opens no socket, logs nothing, keeps no
 * globals: every error goes, all of them at once, to the caller's buffer.
 */
#define _POSIX_C_SOURCE 200809L

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <glob.h>
#include <limits.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include <libconfig.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "ocspgate/addr.h"
#include "ocspgate/cidr.h"
#include "ocspgate/config.h"
#include "ocspgate/file.h"
#include "ocspgate/inventory.h"
#include "ocspgate/syslog_format.h"

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
#define CONFIG_MAX_CA_FILE_BYTES     (16 * 1024 * 1024)
#define CONFIG_MAX_FILE_BYTES        (16 * 1024 * 1024)
#define CONFIG_MAX_PEM_BYTES         (4 * 1024 * 1024)
#define CONFIG_DNS_PORT              53
#define CONFIG_HOST_MAX              253 /* RFC 1035 2.3.4 */
#define CONFIG_LABEL_MAX             63

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

static void config_error(struct config_ctx *ctx, const config_setting_t *s,
    const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/*
 * Reports an error at setting <s> (its file and line), or about the whole
 * file when <s> is NULL.
 */
static void
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

static void config_error_at(struct config_ctx *ctx, const char *file,
    unsigned line, const char *fmt, ...) __attribute__((format(printf, 4, 5)));

static void
config_error_at(struct config_ctx *ctx, const char *file, unsigned line,
    const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	config_verror(ctx, file, line, fmt, ap);
	va_end(ap);
}

/* Records a line for `ocspgate -t` to print (what was learned). */
static void __attribute__((format(printf, 2, 3)))
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

static void
config_oom(struct config_ctx *ctx, const config_setting_t *s)
{
	config_error(ctx, s, "out of memory");
}

/* Returns the directory part of <path> ("." when it has none), or NULL. */
static char *
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
static char *
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
static int
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

static const char *
config_strerror(int e)
{
	return e == EINVAL ? "not a regular file" : strerror(e);
}

/*
 * Parses a port of <n> characters at <s>: decimal digits only, value
 * <min>..65535. Returns true with *port set.
 */
static bool
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
static int
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

/*
 * Checks a host name (already lowercased, without "*." and trailing dot):
 * labels of letters, digits and '-', none empty or over 63 characters,
 * and a name ending in a numeric label must be a valid IPv4 address.
 * Returns 0, or -1 with a message.
 */
static int
config_check_host(const char *host, bool wildcard, char *err, size_t errlen)
{
	size_t label = 0, n = strlen(host);
	bool numeric = true, last_numeric = false;
	struct in_addr a;

	if (n == 0) {
		snprintf(err, errlen, "empty host");
		return -1;
	}
	if (n > CONFIG_HOST_MAX) {
		snprintf(err, errlen, "host longer than %d characters",
		    CONFIG_HOST_MAX);
		return -1;
	}
	for (size_t i = 0; i <= n; i++) {
		unsigned char c = (unsigned char)host[i];

		if (c == '.' || c == '\0') {
			if (label == 0) {
				snprintf(err, errlen, "empty label in host");
				return -1;
			}
			if (label > CONFIG_LABEL_MAX) {
				snprintf(err, errlen,
				    "label longer than %d characters in host",
				    CONFIG_LABEL_MAX);
				return -1;
			}
			last_numeric = numeric;
			label = 0;
			numeric = true;
			continue;
		}
		label++;
		if (c >= '0' && c <= '9')
			continue;
		numeric = false;
		if ((c >= 'a' && c <= 'z') || c == '-')
			continue;
		if (c == '*')
			snprintf(err, errlen,
			    "'*' is allowed only as the whole "
			    "first label ('*.example.net')");
		else if (c >= 0x20 && c < 0x7f)
			snprintf(err, errlen, "bad character '%c' in host", c);
		else
			snprintf(err, errlen, "bad byte 0x%02x in host", c);
		return -1;
	}
	if (last_numeric) {
		if (inet_pton(AF_INET, host, &a) != 1) {
			snprintf(
			    err, errlen, "'%s' is not an IPv4 address", host);
			return -1;
		}
		if (wildcard) {
			snprintf(err, errlen,
			    "a wildcard cannot apply to an IP address");
			return -1;
		}
	}
	return 0;
}

int
config_parse_responder(
    const char *spec, struct responder *r, char *err, size_t errlen)
{
	const char *p = spec, *host, *host_end, *port, *path = NULL;
	char v6[INET6_ADDRSTRLEN + 1], *h;
	struct in6_addr a6;
	size_t plen = 0;

	r->spec = r->host = r->path = NULL;
	r->wildcard = false;
	r->port = CONFIG_DEFAULT_PORT;
	r->path_len = 0;

	if (*p == '\0') {
		snprintf(err, errlen, "empty responder");
		return -1;
	}
	if (*p == '[') {
		host = p + 1;
		if ((host_end = strchr(host, ']')) == NULL) {
			snprintf(err, errlen, "missing ']' after IPv6 address");
			return -1;
		}
		p = host_end + 1;
	} else {
		host = p;
		while (*p != '\0' && *p != ':' && *p != '/')
			p++;
		host_end = p;
	}
	if (*p == ':') {
		port = ++p;
		while (*p != '\0' && *p != '/')
			p++;
		if (!config_parse_port(port, (size_t)(p - port), 1, &r->port)) {
			snprintf(err, errlen, "port must be 1..65535");
			return -1;
		}
	}
	if (*p == '/') {
		path = p;
		for (; *p != '\0'; p++) {
			unsigned char c = (unsigned char)*p;

			if (c == '?' || c == '#') {
				snprintf(err, errlen,
				    "'%c' is not allowed in a path prefix", c);
				return -1;
			}
			if (c <= 0x20 || c >= 0x7f) {
				snprintf(err, errlen,
				    "bad byte 0x%02x in path prefix", c);
				return -1;
			}
		}
		/* "/ocsp/" matches as "/ocsp", and "/" as no prefix. */
		plen = (size_t)(p - path);
		while (plen > 0 && path[plen - 1] == '/')
			plen--;
	} else if (*p != '\0') {
		snprintf(err, errlen, "unexpected '%c' after the host", *p);
		return -1;
	}

	if (*spec == '[') {
		size_t n = (size_t)(host_end - host);

		if (n >= sizeof(v6)) {
			snprintf(err, errlen, "not an IPv6 address in '[]'");
			return -1;
		}
		memcpy(v6, host, n);
		v6[n] = '\0';
		if (inet_pton(AF_INET6, v6, &a6) != 1) {
			snprintf(
			    err, errlen, "'%s' is not an IPv6 address", v6);
			return -1;
		}
		/* Stored canonical and without brackets: "::1". */
		inet_ntop(AF_INET6, &a6, v6, sizeof(v6));
		h = strdup(v6);
	} else {
		if (host_end - host >= 2 && host[0] == '*' && host[1] == '.') {
			r->wildcard = true;
			host += 2;
		}
		/* One trailing dot is the root: "example.net." */
		if (host_end > host && host_end[-1] == '.')
			host_end--;
		h = strndup(host, (size_t)(host_end - host));
	}
	if (h == NULL)
		goto oom;
	for (char *c = h; *c != '\0'; c++)
		if (*c >= 'A' && *c <= 'Z')
			*c = (char)(*c - 'A' + 'a');
	if (*spec != '[' &&
	    config_check_host(h, r->wildcard, err, errlen) == -1) {
		free(h);
		r->wildcard = false;
		return -1;
	}
	r->host = h;
	r->path = strndup(path != NULL ? path : "", plen);
	r->spec = strdup(spec);
	if (r->path == NULL || r->spec == NULL)
		goto oom;
	r->path_len = plen;
	return 0;
oom:
	free(r->host);
	free(r->path);
	free(r->spec);
	r->spec = r->host = r->path = NULL;
	r->wildcard = false;
	snprintf(err, errlen, "out of memory");
	return -1;
}

static void
config_free_responder(struct responder *r)
{
	free(r->spec);
	free(r->host);
	free(r->path);
	free(r->issuers);
	sk_X509_pop_free(r->issuer_certs, X509_free);
	sk_X509_pop_free(r->trusted, X509_free);
	X509_STORE_free(r->store);
	memset(r, 0, sizeof(*r));
}

static bool
config_port_is_zero(const struct sockaddr_storage *ss)
{
	if (ss->ss_family == AF_INET6)
		return ((const struct sockaddr_in6 *)(const void *)ss)
		           ->sin6_port == 0;
	return ((const struct sockaddr_in *)(const void *)ss)->sin_port == 0;
}

static void
config_free_listen(struct listen_addr *l)
{
	free(l->text);
	free(l->proxy_from);
	memset(l, 0, sizeof(*l));
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
static const char *
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
static bool
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
static const config_setting_t *
config_elem(const config_setting_t *s, int i)
{
	return config_setting_get_elem(s, (unsigned)i);
}

/* Fills <l>'s address from <text>. Returns 0, or -1 (reported). */
static int
config_listen_address(struct config_ctx *ctx, const config_setting_t *e,
    const char *text, struct listen_addr *l)
{
	char msg[256];

	if (config_parse_sockaddr(
	        text, -1, 0, &l->addr, &l->addr_len, msg, sizeof(msg)) == -1) {
		config_error(ctx, e, "listen: '%s': %s", text, msg);
		return -1;
	}
	if ((l->text = strdup(text)) == NULL) {
		config_oom(ctx, e);
		return -1;
	}
	return 0;
}

static bool
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

/* proxy_protocol_from = [ "10.0.0.0/8", ... ] of a listener. */
static void
config_listen_proxy_from(
    struct config_ctx *ctx, const config_setting_t *s, struct listen_addr *l)
{
	char msg[256];
	int n;

	if (!config_check_strings(ctx, s, "addresses or CIDR blocks"))
		return;
	n = config_setting_length(s);
	if (n > 0 &&
	    (l->proxy_from = calloc((size_t)n, sizeof(*l->proxy_from))) ==
	        NULL) {
		config_oom(ctx, s);
		return;
	}
	for (int i = 0; i < n; i++) {
		const config_setting_t *e = config_elem(s, i);
		const char *t = config_setting_get_string(e);

		if (cidr_parse(t, &l->proxy_from[l->nproxy_from], msg,
		        sizeof(msg)) == -1) {
			config_error(
			    ctx, e, "proxy_protocol_from: '%s': %s", t, msg);
			continue;
		}
		l->nproxy_from++;
	}
}

/*
 * One `listen` entry in object form:
 * { address = "..."; transparent = "..."; proxy_protocol = true;
 *   proxy_protocol_from = [ ... ]; }
 */
static int
config_listen_group(
    struct config_ctx *ctx, const config_setting_t *g, struct listen_addr *l)
{
	const config_setting_t *addr = NULL, *from = NULL;
	unsigned errors = ctx->nerrors;
	int n = config_setting_length(g);

	for (int i = 0; i < n; i++) {
		const config_setting_t *m = config_elem(g, i);
		const char *name = config_setting_name(m), *v;

		if (strcmp(name, "address") == 0) {
			addr = m;
		} else if (strcmp(name, "proxy_protocol") == 0) {
			config_get_bool(ctx, m, &l->proxy_protocol);
		} else if (strcmp(name, "proxy_protocol_from") == 0) {
			from = m;
		} else if (strcmp(name, "transparent") == 0) {
			if ((v = config_get_string(ctx, m)) == NULL)
				continue;
			if (strcmp(v, "redirect") == 0)
				l->transparent = LISTEN_REDIRECT;
			else if (strcmp(v, "tproxy") == 0)
				l->transparent = LISTEN_TPROXY;
			else if (strcmp(v, "off") == 0)
				l->transparent = LISTEN_EXPLICIT;
			else
				config_error(ctx, m,
				    "'transparent' must be \"redirect\", "
				    "\"tproxy\" or \"off\", not '%s'",
				    v);
		} else {
			config_error(ctx, m,
			    "listen: unknown key '%s' (expected 'address', "
			    "'transparent', 'proxy_protocol' or "
			    "'proxy_protocol_from')",
			    name);
		}
	}
	if (addr == NULL) {
		config_error(ctx, g, "listen: entry without 'address'");
	} else {
		const char *text = config_get_string(ctx, addr);

		if (text != NULL)
			config_listen_address(ctx, addr, text, l);
	}
	if (from != NULL)
		config_listen_proxy_from(ctx, from, l);
	if (l->proxy_protocol && l->nproxy_from == 0 && ctx->nerrors == errors)
		config_error(ctx, g,
		    "listen: proxy_protocol needs proxy_protocol_from (the "
		    "balancers allowed to send it)");
	if (from != NULL && !l->proxy_protocol && ctx->nerrors == errors)
		config_error(ctx, from,
		    "listen: proxy_protocol_from without proxy_protocol = "
		    "true");
	return ctx->nerrors == errors ? 0 : -1;
}

static void
config_parse_listen(struct config_ctx *ctx, const config_setting_t *s)
{
	struct config *c = ctx->c;
	int n;

	if (config_setting_type(s) != CONFIG_TYPE_ARRAY &&
	    config_setting_type(s) != CONFIG_TYPE_LIST) {
		config_error(
		    ctx, s, "'listen' must be an array or list of addresses");
		return;
	}
	if ((n = config_setting_length(s)) == 0) {
		config_error(ctx, s, "no listen address");
		return;
	}
	if ((c->listen = calloc((size_t)n, sizeof(*c->listen))) == NULL) {
		config_oom(ctx, s);
		return;
	}
	for (int i = 0; i < n; i++) {
		const config_setting_t *e = config_elem(s, i);
		struct listen_addr *l = &c->listen[c->nlisten];
		int rc;

		if (config_setting_type(e) == CONFIG_TYPE_STRING) {
			rc = config_listen_address(
			    ctx, e, config_setting_get_string(e), l);
		} else if (config_setting_type(e) == CONFIG_TYPE_GROUP) {
			rc = config_listen_group(ctx, e, l);
		} else {
			config_error(ctx, e,
			    "listen: each entry must be an address string or "
			    "a { address = ...; } group");
			rc = -1;
		}
		if (rc == -1) {
			config_free_listen(l);
			continue;
		}
		l->line = (int)config_setting_source_line(e);
		c->nlisten++;
	}
	for (size_t i = 0; i < c->nlisten; i++) {
		for (size_t k = 0; k < i; k++) {
			/* Port 0 asks for a new ephemeral port each time. */
			if (strcmp(c->listen[i].text, c->listen[k].text) == 0 &&
			    !config_port_is_zero(&c->listen[i].addr))
				config_error_at(ctx, NULL,
				    (unsigned)c->listen[i].line,
				    "listen: '%s' is listed twice",
				    c->listen[i].text);
		}
	}
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

static void
config_parse_upstream_mark(struct config_ctx *ctx, const config_setting_t *s)
{
	long long v;

	if (config_get_int(ctx, s, 0, 0xffffffffLL, &v))
		ctx->c->upstream_mark = (uint32_t)v;
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

/*
 * event_log: "-" is stdout; a file is opened (and reopened) by the event
 * log writer, so here only its directory must exist.
 */
static void
config_parse_event_log(struct config_ctx *ctx, const config_setting_t *s)
{
	struct stat st;
	const char *v;
	char *path, *dir;
	int e;

	if ((v = config_get_string(ctx, s)) == NULL)
		return;
	if (*v == '\0') {
		config_error(
		    ctx, s, "'event_log' must not be empty (\"-\" is stdout)");
		return;
	}
	path = strcmp(v, "-") == 0 ? strdup(v) : config_resolve(ctx, v);
	if (path == NULL) {
		config_oom(ctx, s);
		return;
	}
	if (strcmp(path, "-") != 0) {
		if ((dir = config_dirname(path)) == NULL) {
			config_oom(ctx, s);
			free(path);
			return;
		}
		if (stat(dir, &st) == -1)
			e = errno;
		else
			e = S_ISDIR(st.st_mode) ? 0 : ENOTDIR;
		if (e != 0) {
			config_error(ctx, s, "event_log: directory %s: %s", dir,
			    strerror(e));
			free(dir);
			free(path);
			return;
		}
		free(dir);
		if (stat(path, &st) == 0 && S_ISDIR(st.st_mode)) {
			config_error(
			    ctx, s, "event_log: %s is a directory", path);
			free(path);
			return;
		}
	}
	free(ctx->c->event_log);
	ctx->c->event_log = path;
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

/*
 * Reads every certificate of PEM file <name> (named in the `issuers`
 * setting <s>) into r->issuers. A file without any certificate, or with a
 * broken one, is an error. Returns 0 or -1 (reported).
 */
static int
config_load_issuer_file(struct config_ctx *ctx, const config_setting_t *s,
    const char *name, struct responder *r)
{
	struct ocsp_issuer *more;
	unsigned long e;
	size_t found = 0;
	char *path;
	FILE *f = NULL;
	X509 *x;
	int fd, rc = -1;

	if ((path = config_resolve(ctx, name)) == NULL) {
		config_oom(ctx, s);
		return -1;
	}
	if ((fd = config_open_regular(path, CONFIG_MAX_PEM_BYTES)) == -1 ||
	    (f = fdopen(fd, "r")) == NULL) {
		config_error(ctx, s, "issuers: cannot read %s: %s", path,
		    config_strerror(errno));
		if (fd != -1)
			close(fd);
		goto done;
	}
	ERR_clear_error();
	while ((x = PEM_read_X509(f, NULL, NULL, NULL)) != NULL) {
		more = realloc(r->issuers, (r->nissuers + 1) * sizeof(*more));
		if (more == NULL) {
			X509_free(x);
			config_oom(ctx, s);
			goto done;
		}
		r->issuers = more;
		if (ocsp_issuer_from_cert(x, &r->issuers[r->nissuers]) == -1) {
			X509_free(x);
			config_error(ctx, s,
			    "issuers: cannot hash certificate %zu of %s",
			    found + 1, path);
			goto done;
		}
		/* Kept whole too: they are trust anchors for verification. */
		if ((r->issuer_certs == NULL &&
		        (r->issuer_certs = sk_X509_new_null()) == NULL) ||
		    sk_X509_push(r->issuer_certs, x) == 0) {
			X509_free(x);
			config_oom(ctx, s);
			goto done;
		}
		r->nissuers++;
		found++;
	}
	/* The loop ends on "no start line" at the end of the file. */
	e = ERR_peek_last_error();
	if (ferror(f)) {
		config_error(ctx, s, "issuers: cannot read %s: %s", path,
		    strerror(errno));
	} else if (e != 0 &&
	    !(ERR_GET_LIB(e) == ERR_LIB_PEM &&
	        ERR_GET_REASON(e) == PEM_R_NO_START_LINE)) {
		config_error(ctx, s, "issuers: bad certificate in %s: %s", path,
		    ERR_reason_error_string(e) != NULL
		        ? ERR_reason_error_string(e)
		        : "unknown error");
	} else if (found == 0) {
		config_error(ctx, s, "issuers: no certificate in %s", path);
	} else {
		rc = 0;
	}
done:
	ERR_clear_error();
	if (f != NULL)
		fclose(f);
	free(path);
	return rc;
}

/*
 * One `responders` entry in object form: { host = "..."; issuers = [...]; }.
 * Returns 0 with <r> filled, or -1 (reported; <r> freed).
 */
static int
config_parse_responder_group(
    struct config_ctx *ctx, const config_setting_t *g, struct responder *r)
{
	const config_setting_t *host = NULL, *issuers = NULL;
	const char *spec;
	char msg[256];
	unsigned errors = ctx->nerrors;
	int n = config_setting_length(g);

	for (int i = 0; i < n; i++) {
		const config_setting_t *m = config_elem(g, i);
		const char *name = config_setting_name(m);

		if (strcmp(name, "host") == 0)
			host = m;
		else if (strcmp(name, "issuers") == 0)
			issuers = m;
		else
			config_error(ctx, m,
			    "responders: unknown key '%s' (expected 'host' "
			    "or 'issuers')",
			    name);
	}
	if (host == NULL) {
		config_error(ctx, g, "responders: entry without 'host'");
	} else if ((spec = config_get_string(ctx, host)) != NULL &&
	    config_parse_responder(spec, r, msg, sizeof(msg)) == -1) {
		config_error(ctx, host, "responders: '%s': %s", spec, msg);
	}
	if (issuers != NULL && config_check_strings(ctx, issuers, "files")) {
		if ((n = config_setting_length(issuers)) == 0)
			config_error(ctx, issuers,
			    "'issuers' is empty (leave it out to allow any "
			    "issuer)");
		for (int i = 0; i < n; i++)
			config_load_issuer_file(ctx, issuers,
			    config_setting_get_string(config_elem(issuers, i)),
			    r);
	}
	if (ctx->nerrors != errors) {
		config_free_responder(r);
		return -1;
	}
	r->line = (int)config_setting_source_line(g);
	return 0;
}

static void
config_parse_host_list(struct config_ctx *ctx, const config_setting_t *s,
    struct responder **list, size_t *count)
{
	const char *what = config_setting_name(s);
	char msg[256];
	int n;

	/* An array holds scalars of one type: each is checked below. */
	if (config_setting_type(s) != CONFIG_TYPE_LIST &&
	    config_setting_type(s) != CONFIG_TYPE_ARRAY) {
		config_error(
		    ctx, s, "'%s' must be a list of strings and groups", what);
		return;
	}
	/* An empty list is valid: everything is then blocked. */
	if ((n = config_setting_length(s)) == 0)
		return;
	/* Appended: pki_certs may have learned entries already. */
	{
		struct responder *more =
		    realloc(*list, (*count + (size_t)n) * sizeof(**list));

		if (more == NULL) {
			config_oom(ctx, s);
			return;
		}
		memset(more + *count, 0, (size_t)n * sizeof(*more));
		*list = more;
	}
	for (int i = 0; i < n; i++) {
		const config_setting_t *e = config_elem(s, i);
		struct responder *r = &(*list)[*count];
		const char *spec;

		switch (config_setting_type(e)) {
		case CONFIG_TYPE_STRING:
			spec = config_setting_get_string(e);
			if (config_parse_responder(spec, r, msg, sizeof(msg)) ==
			    -1) {
				config_error(
				    ctx, e, "%s: '%s': %s", what, spec, msg);
				continue;
			}
			r->line = (int)config_setting_source_line(e);
			break;
		case CONFIG_TYPE_GROUP:
			if (config_parse_responder_group(ctx, e, r) == -1)
				continue;
			break;
		default:
			config_error(ctx, e,
			    "%s: an entry must be a string or a group", what);
			continue;
		}
		(*count)++;
	}
}

static void
config_parse_responders(struct config_ctx *ctx, const config_setting_t *s)
{
	config_parse_host_list(
	    ctx, s, &ctx->c->responders, &ctx->c->nresponders);
}

static void
config_parse_crl_hosts(struct config_ctx *ctx, const config_setting_t *s)
{
	config_parse_host_list(ctx, s, &ctx->c->crl_hosts, &ctx->c->ncrl_hosts);
}

static void
config_parse_ca_issuer_hosts(struct config_ctx *ctx, const config_setting_t *s)
{
	config_parse_host_list(
	    ctx, s, &ctx->c->ca_issuer_hosts, &ctx->c->nca_issuer_hosts);
}

static void
config_parse_ctl_hosts(struct config_ctx *ctx, const config_setting_t *s)
{
	config_parse_host_list(ctx, s, &ctx->c->ctl_hosts, &ctx->c->nctl_hosts);
}

static void
config_parse_max_crl_bytes(struct config_ctx *ctx, const config_setting_t *s)
{
	long long v;

	if (config_get_int(ctx, s, 1, CONFIG_MAX_FETCH_BYTES_MAX, &v))
		ctx->c->max_crl_bytes = (size_t)v;
}

static void
config_parse_max_request_body(struct config_ctx *ctx, const config_setting_t *s)
{
	long long v;

	if (config_get_int(ctx, s, CONFIG_MAX_REQUEST_BODY_MIN,
	        CONFIG_MAX_REQUEST_BODY_MAX, &v))
		ctx->c->max_request_body = (size_t)v;
}

static void
config_parse_max_header_bytes(struct config_ctx *ctx, const config_setting_t *s)
{
	long long v;

	if (config_get_int(ctx, s, CONFIG_MAX_HEADER_BYTES_MIN,
	        CONFIG_MAX_HEADER_BYTES_MAX, &v))
		ctx->c->max_header_bytes = (size_t)v;
}

static void
config_parse_client_timeout(struct config_ctx *ctx, const config_setting_t *s)
{
	long long v;

	if (config_get_int(ctx, s, CONFIG_CLIENT_TIMEOUT_MIN,
	        CONFIG_CLIENT_TIMEOUT_MAX, &v))
		ctx->c->client_timeout_sec = (unsigned)v;
}

static void
config_parse_upstream_timeout(struct config_ctx *ctx, const config_setting_t *s)
{
	long long v;

	if (config_get_int(ctx, s, CONFIG_UPSTREAM_TIMEOUT_MIN,
	        CONFIG_UPSTREAM_TIMEOUT_MAX, &v))
		ctx->c->upstream_timeout_sec = (unsigned)v;
}

static void
config_parse_max_nonce_bytes(struct config_ctx *ctx, const config_setting_t *s)
{
	long long v;

	if (config_get_int(ctx, s, CONFIG_MAX_NONCE_BYTES_MIN,
	        CONFIG_MAX_NONCE_BYTES_MAX, &v))
		ctx->c->max_nonce_bytes = (size_t)v;
}

static void
config_parse_max_connections(struct config_ctx *ctx, const config_setting_t *s)
{
	long long v;

	if (config_get_int(ctx, s, 1, CONFIG_MAX_CONNECTIONS_MAX, &v))
		ctx->c->max_connections = (unsigned)v;
}

static void
config_parse_max_connections_per_source(
    struct config_ctx *ctx, const config_setting_t *s)
{
	long long v;

	if (config_get_int(ctx, s, 0, CONFIG_MAX_CONNECTIONS_MAX, &v))
		ctx->c->max_connections_per_source = (unsigned)v;
}

static void
config_parse_drain_timeout(struct config_ctx *ctx, const config_setting_t *s)
{
	long long v;

	if (config_get_int(ctx, s, 0, 3600, &v))
		ctx->c->drain_timeout_sec = (unsigned)v;
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
config_parse_max_response_body(
    struct config_ctx *ctx, const config_setting_t *s)
{
	long long v;

	if (config_get_int(ctx, s, 1, CONFIG_MAX_RESPONSE_BODY_MAX, &v))
		ctx->c->max_response_body = (size_t)v;
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

/* ca_file: a PEM bundle of CAs trusted to sign OCSP responses. */
static void
config_parse_ca_file(struct config_ctx *ctx, const config_setting_t *s)
{
	const char *v;
	char *path;
	FILE *f = NULL;
	X509 *x;
	unsigned long e;
	int fd;

	if ((v = config_get_string(ctx, s)) == NULL)
		return;
	if ((path = config_resolve(ctx, v)) == NULL) {
		config_oom(ctx, s);
		return;
	}
	free(ctx->c->ca_file);
	ctx->c->ca_file = path;
	if ((fd = config_open_regular(path, CONFIG_MAX_CA_FILE_BYTES)) == -1 ||
	    (f = fdopen(fd, "r")) == NULL) {
		config_error(ctx, s, "ca_file: cannot read %s: %s", path,
		    config_strerror(errno));
		if (fd != -1)
			close(fd);
		return;
	}
	if (ctx->c->ca_certs == NULL &&
	    (ctx->c->ca_certs = sk_X509_new_null()) == NULL) {
		config_oom(ctx, s);
		fclose(f);
		return;
	}
	ERR_clear_error();
	while ((x = PEM_read_X509(f, NULL, NULL, NULL)) != NULL) {
		if (sk_X509_push(ctx->c->ca_certs, x) == 0) {
			X509_free(x);
			config_oom(ctx, s);
			break;
		}
	}
	e = ERR_peek_last_error();
	if (e != 0 &&
	    !(ERR_GET_LIB(e) == ERR_LIB_PEM &&
	        ERR_GET_REASON(e) == PEM_R_NO_START_LINE))
		config_error(ctx, s, "ca_file: bad certificate in %s: %s", path,
		    ERR_reason_error_string(e) != NULL
		        ? ERR_reason_error_string(e)
		        : "unknown error");
	else if (sk_X509_num(ctx->c->ca_certs) == 0)
		config_error(ctx, s, "ca_file: no certificate in %s", path);
	ERR_clear_error();
	fclose(f);
}

/*
 * With verify_responses, each responder gets a store of the CAs it may
 * answer for: ca_file plus its own issuers.
 */
/*
 * Adds <x> to the responder's store and to its list of trusted
 * certificates: OCSP_basic_verify() finds a signer only among the
 * response's certificates and that list, not in the store, so a
 * response signed by the CA itself without its certificate needs it.
 */
static void
config_trust(struct responder *r, X509 *x)
{
	X509_STORE_add_cert(r->store, x);
	if (X509_up_ref(x) == 1 && sk_X509_push(r->trusted, x) == 0)
		X509_free(x);
}

static void
config_build_stores(struct config_ctx *ctx)
{
	struct config *c = ctx->c;

	if (!c->verify_responses || ctx->nerrors > 0)
		return;
	for (size_t i = 0; i < c->nresponders; i++) {
		struct responder *r = &c->responders[i];
		int n = 0;

		if ((r->store = X509_STORE_new()) == NULL) {
			config_error_at(
			    ctx, NULL, (unsigned)r->line, "out of memory");
			return;
		}
		if ((r->trusted = sk_X509_new_null()) == NULL) {
			config_error_at(
			    ctx, NULL, (unsigned)r->line, "out of memory");
			return;
		}
		for (int k = 0; k < sk_X509_num(c->ca_certs); k++, n++)
			config_trust(r, sk_X509_value(c->ca_certs, k));
		for (int k = 0; k < sk_X509_num(r->issuer_certs); k++, n++)
			config_trust(r, sk_X509_value(r->issuer_certs, k));
		if (n == 0)
			config_error_at(ctx, NULL, (unsigned)r->line,
			    "responders: '%s': verify_responses needs ca_file "
			    "or issuers to trust",
			    r->spec);
	}
}

/*
 * Reads every PEM certificate of <path> into *out (created). Returns 0,
 * or -1 with a short text in *why (the file is unreadable, holds no
 * certificate or a bad one).
 */
static int
config_read_cas(const char *path, STACK_OF(X509) * *out, const char **why)
{
	FILE *f = NULL;
	X509 *x;
	int fd;

	if ((fd = config_open_regular(path, CONFIG_MAX_CA_FILE_BYTES)) == -1 ||
	    (f = fdopen(fd, "r")) == NULL) {
		*why = config_strerror(errno);
		if (fd != -1)
			close(fd);
		return -1;
	}
	if ((*out = sk_X509_new_null()) == NULL) {
		fclose(f);
		*why = "out of memory";
		return -1;
	}
	ERR_set_mark();
	while ((x = PEM_read_X509(f, NULL, NULL, NULL)) != NULL) {
		if (sk_X509_push(*out, x) == 0) {
			X509_free(x);
			break;
		}
	}
	ERR_pop_to_mark();
	fclose(f);
	if (sk_X509_num(*out) > 0)
		return 0;
	*why = "no certificate";
	return -1;
}

/*
 * In monitor mode a request to an unlisted host that is a well-formed
 * status request (a candidate) is forwarded, and its answer's signature
 * is checked against ca_file, or the system bundle when ca_file is not
 * set. Without a readable bundle candidates are reported unverified:
 * that is noted, not an error.
 */
static void
config_build_candidate_trust(struct config_ctx *ctx)
{
	struct config *c = ctx->c;
	const char *path = c->ca_file, *why = NULL;
	STACK_OF(X509) *cas = NULL;

	if (c->mode != MODE_MONITOR || ctx->nerrors > 0)
		return;
	if (c->ca_certs != NULL) {
		cas = X509_chain_up_ref(c->ca_certs);
	} else {
		path = CONFIG_DEFAULT_CA_FILE;
		if (config_read_cas(path, &cas, &why) == -1) {
			sk_X509_pop_free(cas, X509_free);
			config_note(ctx,
			    "candidates: no trust store (%s: %s); their "
			    "answers are not verified",
			    path, why);
			return;
		}
	}
	if (cas == NULL || (c->candidate_store = X509_STORE_new()) == NULL) {
		sk_X509_pop_free(cas, X509_free);
		config_error(ctx, NULL, "out of memory");
		return;
	}
	for (int i = 0; i < sk_X509_num(cas); i++)
		X509_STORE_add_cert(c->candidate_store, sk_X509_value(cas, i));
	c->candidate_cas = cas;
	config_note(ctx,
	    "candidates: answers checked against %d certificates of %s",
	    sk_X509_num(cas), path);
}

/*
 * pki_certs: certificates of the enterprise PKI, whose AIA and CDP
 * extensions name the endpoints Windows will fetch. Each http:// URL
 * becomes an entry of the matching class; an OCSP responder learned
 * from a certificate is bound to that certificate's issuer when the
 * issuer is among the loaded certificates.
 */

/* A loaded certificate and the file it came from. */
struct config_pki_cert {
	X509 *x;
	const char *file;
};

/*
 * Turns "http://host[:port]/path" into a responder spec: the whole path
 * for OCSP (<dir> false), its directory for CRLs and certificates, so
 * that the next CRL or a delta CRL beside it also passes. Returns 0, or
 * -1 for URLs ocspgate does not serve (https, ldap, odd ones).
 */
static int
config_url_spec(const ASN1_IA5STRING *uri, bool dir, char *out, size_t len)
{
	const char *p, *slash, *last;
	char url[512];
	int n = ASN1_STRING_length(uri);

	if (n <= 0 || (size_t)n >= sizeof(url))
		return -1;
	memcpy(url, ASN1_STRING_get0_data(uri), (size_t)n);
	url[n] = '\0';
	if (strlen(url) != (size_t)n || strncasecmp(url, "http://", 7) != 0)
		return -1;
	p = url + 7;
	slash = strchr(p, '/');
	if (slash == NULL || slash == p || strpbrk(p, "?#@ ") != NULL)
		return -1;
	last = dir ? strrchr(slash, '/') : p + strlen(p);
	if ((size_t)(last - p) >= len)
		return -1;
	/* "host/" and "host/ocsp/" as "host" and "host/ocsp". */
	while (last > slash && last[-1] == '/')
		last--;
	memcpy(out, p, (size_t)(last - p));
	out[last - p] = '\0';
	return 0;
}

/* Adds <spec> to a class list unless it is there; returns the entry. */
static struct responder *
config_learn(struct config_ctx *ctx, const config_setting_t *s,
    struct responder **list, size_t *count, const char *spec, const char *what,
    const char *file)
{
	struct responder *more, *r;
	char msg[256];

	for (size_t i = 0; i < *count; i++) {
		if (strcmp((*list)[i].spec, spec) == 0)
			return &(*list)[i];
	}
	if ((more = realloc(*list, (*count + 1) * sizeof(*more))) == NULL) {
		config_oom(ctx, s);
		return NULL;
	}
	*list = more;
	r = &more[*count];
	memset(r, 0, sizeof(*r));
	if (config_parse_responder(spec, r, msg, sizeof(msg)) == -1)
		return NULL; /* a URL we cannot match: left out */
	r->line = (int)config_setting_source_line(s);
	(*count)++;
	config_note(ctx, "learned %s %s from %s", what, spec, file);
	return r;
}

/* Binds learned responder <r> to issuer certificate <ca>. */
static void
config_bind_issuer(struct config_ctx *ctx, const config_setting_t *s,
    struct responder *r, X509 *ca)
{
	struct ocsp_issuer *more;

	for (int i = 0; i < sk_X509_num(r->issuer_certs); i++) {
		if (X509_cmp(sk_X509_value(r->issuer_certs, i), ca) == 0)
			return;
	}
	more = realloc(r->issuers, (r->nissuers + 1) * sizeof(*more));
	if (more == NULL) {
		config_oom(ctx, s);
		return;
	}
	r->issuers = more;
	if (ocsp_issuer_from_cert(ca, &r->issuers[r->nissuers]) == -1)
		return;
	if ((r->issuer_certs == NULL &&
	        (r->issuer_certs = sk_X509_new_null()) == NULL) ||
	    X509_up_ref(ca) != 1 || sk_X509_push(r->issuer_certs, ca) == 0) {
		config_oom(ctx, s);
		return;
	}
	r->nissuers++;
	{
		char name[256];

		X509_NAME_oneline(
		    X509_get_subject_name(ca), name, sizeof(name));
		config_note(
		    ctx, "bound responder %s to issuer %s", r->spec, name);
	}
}

/* The loaded certificate that issued <x>, or NULL. */
static X509 *
config_find_issuer(struct config_pki_cert *certs, size_t n, X509 *x)
{
	for (size_t i = 0; i < n; i++) {
		if (X509_check_issued(certs[i].x, x) == X509_V_OK)
			return certs[i].x;
	}
	return NULL;
}

static void
config_learn_from(struct config_ctx *ctx, const config_setting_t *s,
    struct config_pki_cert *certs, size_t n, size_t k)
{
	struct config *c = ctx->c;
	X509 *x = certs[k].x;
	AUTHORITY_INFO_ACCESS *aia;
	CRL_DIST_POINTS *cdp;
	char spec[512];

	aia = X509_get_ext_d2i(x, NID_info_access, NULL, NULL);
	for (int i = 0; i < sk_ACCESS_DESCRIPTION_num(aia); i++) {
		ACCESS_DESCRIPTION *ad = sk_ACCESS_DESCRIPTION_value(aia, i);
		int nid = OBJ_obj2nid(ad->method);
		const ASN1_IA5STRING *url;
		struct responder *r;
		X509 *ca;

		if (ad->location->type != GEN_URI)
			continue;
		url = ad->location->d.uniformResourceIdentifier;
		if (nid == NID_ad_OCSP &&
		    config_url_spec(url, false, spec, sizeof(spec)) == 0) {
			r = config_learn(ctx, s, &c->responders,
			    &c->nresponders, spec, "responder", certs[k].file);
			ca = config_find_issuer(certs, n, x);
			if (r != NULL && ca != NULL)
				config_bind_issuer(ctx, s, r, ca);
		} else if (nid == NID_ad_ca_issuers &&
		    config_url_spec(url, true, spec, sizeof(spec)) == 0) {
			config_learn(ctx, s, &c->ca_issuer_hosts,
			    &c->nca_issuer_hosts, spec, "ca_issuer_host",
			    certs[k].file);
		}
	}
	AUTHORITY_INFO_ACCESS_free(aia);
	cdp = X509_get_ext_d2i(x, NID_crl_distribution_points, NULL, NULL);
	for (int i = 0; i < sk_DIST_POINT_num(cdp); i++) {
		DIST_POINT *dp = sk_DIST_POINT_value(cdp, i);

		if (dp->distpoint == NULL || dp->distpoint->type != 0)
			continue;
		for (int g = 0;
		     g < sk_GENERAL_NAME_num(dp->distpoint->name.fullname);
		     g++) {
			GENERAL_NAME *gn = sk_GENERAL_NAME_value(
			    dp->distpoint->name.fullname, g);

			if (gn->type != GEN_URI)
				continue;
			if (config_url_spec(gn->d.uniformResourceIdentifier,
			        true, spec, sizeof(spec)) == 0)
				config_learn(ctx, s, &c->crl_hosts,
				    &c->ncrl_hosts, spec, "crl_host",
				    certs[k].file);
		}
	}
	CRL_DIST_POINTS_free(cdp);
}

/*
 * Keeps <x> (a reference) in <*list> when it is a CA: its CRLs and trust
 * lists can then be checked against it.
 */
static void
config_keep_ca(struct config_ctx *ctx, const config_setting_t *s,
    STACK_OF(X509) * *list, X509 *x)
{
	if (X509_check_ca(x) == 0)
		return;
	if ((*list == NULL && (*list = sk_X509_new_null()) == NULL) ||
	    X509_up_ref(x) != 1) {
		config_oom(ctx, s);
		return;
	}
	if (sk_X509_push(*list, x) == 0) {
		X509_free(x);
		config_oom(ctx, s);
	}
}

/*
 * known_cas and known_store: ca_file, the CAs of pki_certs and every
 * responder's issuers, each once.
 */
static void
config_collect_known_cas(struct config_ctx *ctx)
{
	struct config *c = ctx->c;
	STACK_OF(X509) * from[3] = {c->ca_certs, c->pki_cas, NULL};

	if (ctx->nerrors > 0)
		return;
	for (size_t i = 0; i <= c->nresponders; i++) {
		from[2] =
		    i < c->nresponders ? c->responders[i].issuer_certs : NULL;
		for (size_t k = 0; k < 3; k++) {
			for (int j = 0; j < sk_X509_num(from[k]); j++) {
				X509 *x = sk_X509_value(from[k], j);
				bool seen = false;

				for (int m = 0;
				     !seen && m < sk_X509_num(c->known_cas);
				     m++)
					seen = X509_cmp(x,
					           sk_X509_value(
					               c->known_cas, m)) == 0;
				if (!seen)
					config_keep_ca(
					    ctx, NULL, &c->known_cas, x);
			}
		}
		/* ca_file and pki_certs once, with the first responder. */
		from[0] = from[1] = NULL;
	}
	if (sk_X509_num(c->known_cas) == 0)
		return;
	if ((c->known_store = X509_STORE_new()) == NULL) {
		config_oom(ctx, NULL);
		return;
	}
	for (int j = 0; j < sk_X509_num(c->known_cas); j++)
		X509_STORE_add_cert(
		    c->known_store, sk_X509_value(c->known_cas, j));
}

/* Reads every certificate of <path> into <*certs>. Returns -1 (reported). */
static int
config_pki_read(struct config_ctx *ctx, const config_setting_t *s,
    const char *path, struct config_pki_cert **certs, size_t *n)
{
	FILE *f = NULL;
	X509 *x;
	size_t before = *n;
	int fd;

	if ((fd = config_open_regular(path, CONFIG_MAX_PEM_BYTES)) == -1 ||
	    (f = fdopen(fd, "r")) == NULL) {
		config_error(ctx, s, "pki_certs: cannot read %s: %s", path,
		    config_strerror(errno));
		if (fd != -1)
			close(fd);
		return -1;
	}
	ERR_clear_error();
	while ((x = PEM_read_X509(f, NULL, NULL, NULL)) != NULL) {
		struct config_pki_cert *more =
		    realloc(*certs, (*n + 1) * sizeof(**certs));

		if (more == NULL) {
			X509_free(x);
			config_oom(ctx, s);
			break;
		}
		*certs = more;
		(*certs)[*n].x = x;
		(*certs)[*n].file = path;
		(*n)++;
	}
	ERR_clear_error();
	fclose(f);
	if (*n == before) {
		config_error(ctx, s, "pki_certs: no certificate in %s", path);
		return -1;
	}
	return 0;
}

static void
config_parse_pki_certs(struct config_ctx *ctx, const config_setting_t *s)
{
	struct config_pki_cert *certs = NULL;
	char **paths = NULL;
	size_t n = 0, npaths = 0;
	int count;

	if (!config_check_strings(ctx, s, "file patterns"))
		return;
	count = config_setting_length(s);
	for (int i = 0; i < count; i++) {
		const config_setting_t *e = config_elem(s, i);
		char *pattern =
		    config_resolve(ctx, config_setting_get_string(e));
		glob_t g;
		int rc;

		if (pattern == NULL) {
			config_oom(ctx, e);
			break;
		}
		rc = glob(pattern, 0, NULL, &g);
		if (rc == GLOB_NOMATCH) {
			config_error(
			    ctx, e, "pki_certs: no file matches %s", pattern);
		} else if (rc != 0) {
			config_error(
			    ctx, e, "pki_certs: cannot read %s", pattern);
		} else {
			for (size_t k = 0; k < g.gl_pathc; k++) {
				char **more = realloc(
				    paths, (npaths + 1) * sizeof(*paths));

				if (more == NULL) {
					config_oom(ctx, e);
					break;
				}
				paths = more;
				if ((paths[npaths] = strdup(g.gl_pathv[k])) ==
				    NULL) {
					config_oom(ctx, e);
					break;
				}
				config_pki_read(
				    ctx, e, paths[npaths++], &certs, &n);
			}
			globfree(&g);
		}
		free(pattern);
	}
	for (size_t k = 0; k < n; k++)
		config_learn_from(ctx, s, certs, n, k);
	for (size_t k = 0; k < n; k++)
		config_keep_ca(ctx, s, &ctx->c->pki_cas, certs[k].x);
	for (size_t k = 0; k < n; k++)
		X509_free(certs[k].x);
	free(certs);
	for (size_t k = 0; k < npaths; k++)
		free(paths[k]);
	free(paths);
}

/* event_syslog = "udp://host:port" | "tcp://host:port" | "unix:///path". */
static void
config_parse_event_syslog(struct config_ctx *ctx, const config_setting_t *s)
{
	struct syslog_target t;
	char msg[256];
	const char *v;

	if ((v = config_get_string(ctx, s)) == NULL)
		return;
	if (syslog_parse_target(v, &t, msg, sizeof(msg)) == -1) {
		config_error(ctx, s, "event_syslog: %s", msg);
		return;
	}
	free(ctx->c->event_syslog);
	if ((ctx->c->event_syslog = strdup(v)) == NULL)
		config_oom(ctx, s);
}

static void
config_parse_syslog_facility(struct config_ctx *ctx, const config_setting_t *s)
{
	const char *v;
	int f;

	if ((v = config_get_string(ctx, s)) == NULL)
		return;
	if ((f = syslog_facility_from_name(v)) == -1) {
		config_error(ctx, s,
		    "event_syslog_facility: unknown facility '%s' (daemon, "
		    "auth, local0..local7, ...)",
		    v);
		return;
	}
	ctx->c->syslog_facility = f;
}

/* admin_listen = "127.0.0.1:9180": the metrics and health endpoint. */
static void
config_parse_admin_listen(struct config_ctx *ctx, const config_setting_t *s)
{
	struct config *c = ctx->c;
	char msg[256];
	const char *v;

	if ((v = config_get_string(ctx, s)) == NULL)
		return;
	if (config_parse_sockaddr(v, -1, 1, &c->admin_addr, &c->admin_addr_len,
	        msg, sizeof(msg)) == -1) {
		config_error(ctx, s, "admin_listen: '%s': %s", v, msg);
		return;
	}
	free(c->admin_listen);
	if ((c->admin_listen = strdup(v)) == NULL)
		config_oom(ctx, s);
}

static void
config_parse_periodic_jitter(struct config_ctx *ctx, const config_setting_t *s)
{
	double v;

	if (config_setting_type(s) == CONFIG_TYPE_FLOAT)
		v = config_setting_get_float(s);
	else if (config_setting_type(s) == CONFIG_TYPE_INT)
		v = config_setting_get_int(s);
	else
		v = -1;
	if (!(v >= 0 && v <= 1)) {
		config_error(ctx, s,
		    "'alert_periodic_jitter' must be a number from 0 to 1");
		return;
	}
	ctx->c->alerts.periodic_jitter = v;
}

/* Directives that are one integer in a range, stored as is. */
struct config_uint {
	const char *name;
	size_t offset;
	bool is_size; /* a size_t field; else unsigned */
	long long min, max;
};

#define CONFIG_UINT(name, field, min, max)                                     \
	{                                                                      \
		name, offsetof(struct config, field), false, min, max          \
	}
#define CONFIG_SIZE(name, field, min, max)                                     \
	{                                                                      \
		name, offsetof(struct config, field), true, min, max           \
	}

static const struct config_uint config_uints[] = {
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
    CONFIG_UINT("alert_rate_per_source", alerts.rate_per_source, 0, 10000000),
    CONFIG_UINT("alert_rate_per_pair", alerts.rate_per_pair, 0, 10000000),
    CONFIG_UINT("novelty_window", alerts.novelty_window, 0, 366 * 86400),
    CONFIG_UINT("novelty_learning", alerts.novelty_learning, 0, 366 * 86400),
    CONFIG_UINT("alert_early_requery", alerts.early_requery, 0, 1000000),
    CONFIG_UINT("alert_serial_fanout", alerts.serial_fanout, 0, 1024),
    CONFIG_UINT("alert_fanout_window", alerts.fanout_window, 1, 86400),
    CONFIG_UINT("alert_periodic_min", alerts.periodic_min, 0, 16),
    CONFIG_UINT("alert_cooldown", alerts.cooldown, 0, 86400),
    CONFIG_UINT("alert_unknown_certificates", alerts.unknown_certs, 0, 1024),
    CONFIG_UINT("alert_unauthorized_answers", alerts.unauthorized, 0, 1024),
    CONFIG_UINT("alert_ua_mismatch", alerts.ua_mismatch, 0, 1000000),
    CONFIG_UINT("max_tracked_sources", alerts.max_tracked_sources, 1, 10000000),
    CONFIG_UINT("source_ipv6_prefix", source_ipv6_prefix, 32, 128),
};

/* Parses <s> if it is one of config_uints[]. Returns false if not. */
static bool
config_parse_uint(struct config_ctx *ctx, const config_setting_t *s)
{
	const char *name = config_setting_name(s);
	size_t n = sizeof(config_uints) / sizeof(config_uints[0]);
	long long v;

	for (size_t i = 0; i < n; i++) {
		const struct config_uint *u = &config_uints[i];
		char *field = (char *)ctx->c + u->offset;

		if (strcmp(name, u->name) != 0)
			continue;
		if (config_get_int(ctx, s, u->min, u->max, &v)) {
			if (u->is_size)
				*(size_t *)(void *)field = (size_t)v;
			else
				*(unsigned *)(void *)field = (unsigned)v;
		}
		return true;
	}
	return false;
}

static const struct config_directive config_directives[] = {
    {"listen", config_parse_listen},
    {"mode", config_parse_mode},
    {"event_log", config_parse_event_log},
    {"hosts_file", config_parse_hosts_file},
    {"resolvers", config_parse_resolvers},
    {"responders", config_parse_responders},
    {"max_request_body", config_parse_max_request_body},
    {"max_header_bytes", config_parse_max_header_bytes},
    {"client_timeout", config_parse_client_timeout},
    {"upstream_timeout", config_parse_upstream_timeout},
    {"max_nonce_bytes", config_parse_max_nonce_bytes},
    {"allow_requestor_name", config_parse_allow_requestor_name},
    {"allow_signed_requests", config_parse_allow_signed_requests},
    {"allow_service_locator", config_parse_allow_service_locator},
    {"on_host_mismatch", config_parse_on_host_mismatch},
    {"upstream_mark", config_parse_upstream_mark},
    {"inventory", config_parse_inventory},
    {"reverse_dns", config_parse_reverse_dns},
    {"max_connections", config_parse_max_connections},
    {"drain_timeout", config_parse_drain_timeout},
    {"max_response_body", config_parse_max_response_body},
    {"verify_responses", config_parse_verify_responses},
    {"ca_file", config_parse_ca_file},
    {"crl_hosts", config_parse_crl_hosts},
    {"ca_issuer_hosts", config_parse_ca_issuer_hosts},
    {"ctl_hosts", config_parse_ctl_hosts},
    {"max_crl_bytes", config_parse_max_crl_bytes},
    {"pki_certs", config_parse_pki_certs},
    {"user", config_parse_user},
    {"group", config_parse_group},
    {"max_connections_per_source", config_parse_max_connections_per_source},
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

		if (config_parse_uint(&ctx, s))
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
