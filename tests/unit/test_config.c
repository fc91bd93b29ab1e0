/*
 * Unit tests for config loading: every directive read back, defaults,
 * each error with its exact "PATH:LINE: message" line, responder specs,
 * issuer PEMs made at test time, and the shipped conf/ocspgate.conf.
 */
#define _POSIX_C_SOURCE 200809L

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "check.h"
#include "ocspgate/config.h"

static char tmpdir[256];

/* Writes <text> to <name> in the test directory; returns its path. */
static const char *
write_file(const char *name, const char *text, size_t len)
{
	static char path[512];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", tmpdir, name);
	if ((f = fopen(path, "wb")) == NULL || fwrite(text, 1, len, f) != len ||
	    fclose(f) != 0) {
		perror(path);
		exit(2);
	}
	return path;
}

static const char *
write_conf(const char *text)
{
	return write_file("test.conf", text, strlen(text));
}

/*
 * Expands "@P" to the config's path and "@D" to the test directory in
 * <pattern>, into <out>.
 */
static void
expand(const char *pattern, const char *path, char *out, size_t outlen)
{
	size_t o = 0;

	for (const char *p = pattern; *p != '\0' && o + 1 < outlen; p++) {
		const char *sub = NULL;

		if (p[0] == '@' && p[1] == 'P')
			sub = path;
		else if (p[0] == '@' && p[1] == 'D')
			sub = tmpdir;
		if (sub != NULL) {
			o += (size_t)snprintf(out + o, outlen - o, "%s", sub);
			if (o >= outlen)
				o = outlen - 1;
			p++;
		} else {
			out[o++] = *p;
		}
	}
	out[o] = '\0';
}

/* Loads <text> as a config that must fail with exactly <want> (@P, @D). */
static void
check_errors(const char *text, const char *want, int line)
{
	char err[4096], expected[4096];
	const char *path = write_conf(text);
	struct config *c;

	expand(want, path, expected, sizeof(expected));
	c = config_load(path, err, sizeof(err));
	CHECKF(c == NULL && strcmp(err, expected) == 0,
	    "case at line %d:\n got: %s\nwant: %s", line, err, expected);
	config_unref(c);
}

/* Generates a self-signed EC certificate named <cn>. */
static X509 *
make_cert(const char *cn)
{
	EVP_PKEY *key;
	X509_NAME *name;
	X509 *x;

	if ((key = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256")) == NULL ||
	    (x = X509_new()) == NULL) {
		fprintf(stderr, "cannot make a key\n");
		exit(2);
	}
	X509_set_version(x, X509_VERSION_3);
	ASN1_INTEGER_set(X509_get_serialNumber(x), 1);
	X509_gmtime_adj(X509_getm_notBefore(x), 0);
	X509_gmtime_adj(X509_getm_notAfter(x), 3600);
	name = X509_get_subject_name(x);
	X509_NAME_add_entry_by_txt(
	    name, "CN", MBSTRING_ASC, (const unsigned char *)cn, -1, -1, 0);
	X509_set_issuer_name(x, name);
	X509_set_pubkey(x, key);
	if (X509_sign(x, key, EVP_sha256()) == 0) {
		fprintf(stderr, "cannot sign\n");
		exit(2);
	}
	EVP_PKEY_free(key);
	return x;
}

/* Writes a PEM file with <n> certificates (and a key block first). */
static const char *
write_pem(const char *name, X509 **certs, int n)
{
	static char path[512];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", tmpdir, name);
	if ((f = fopen(path, "w")) == NULL) {
		perror(path);
		exit(2);
	}
	fputs("some text before\n", f);
	for (int i = 0; i < n; i++)
		PEM_write_X509(f, certs[i]);
	fclose(f);
	return path;
}

static bool
issuer_is(const struct ocsp_issuer *is, X509 *x)
{
	unsigned char *der = NULL, md[EVP_MAX_MD_SIZE];
	unsigned int mdlen;
	int n;
	bool ok;

	n = i2d_X509_NAME(X509_get_subject_name(x), &der);
	ok = n > 0 &&
	    EVP_Digest(der, (size_t)n, md, &mdlen, EVP_sha1(), NULL) &&
	    memcmp(is->name_hash[OCSP_HASH_SHA1], md, mdlen) == 0;
	OPENSSL_free(der);
	return ok;
}

static const struct sockaddr_in *
sin_of(const struct listen_addr *l)
{
	return (const struct sockaddr_in *)&l->addr;
}

static const struct sockaddr_in6 *
sin6_of(const struct listen_addr *l)
{
	return (const struct sockaddr_in6 *)&l->addr;
}

static void
test_full(void)
{
	X509 *certs[2];
	char text[4096], err[4096];
	const char *path;
	struct config *c;
	const struct responder *r;
	struct in6_addr lo6;

	certs[0] = make_cert("Test CA one");
	certs[1] = make_cert("Test CA two");
	write_pem("ca.pem", certs, 2);
	write_file("hosts", "127.0.0.1 localhost\n", 20);

	snprintf(text, sizeof(text),
	    "# every directive\n"
	    "listen = [ \"127.0.0.1:0\", \"[::1]:3128\" ];\n"
	    "mode = \"monitor\";\n"
	    "event_log = \"%s/events.jsonl\";\n"
	    "hosts_file = \"hosts\";\n"
	    "resolvers = [ \"127.0.0.1\", \"[::1]:5353\", \"::1\",\n"
	    "    \"10.0.0.1:53\" ];\n"
	    "responders = (\n"
	    "  \"OCSP.Example.Test.\",\n"
	    "  \"*.ocsp.example.net\",\n"
	    "  \"pki.corp.example:8080/ocsp/\",\n"
	    "  { host = \"ocsp.ca.test\";\n"
	    "    issuers = [ \"ca.pem\" ]; },\n"
	    "  \"[::1]:8080/\"\n"
	    ");\n"
	    "max_request_body = 1000;\n"
	    "max_header_bytes = 2000L;\n"
	    "client_timeout = 3;\n"
	    "upstream_timeout = 4;\n"
	    "max_nonce_bytes = 128;\n",
	    tmpdir);
	path = write_conf(text);
	c = config_load(path, err, sizeof(err));
	CHECKF(c != NULL, "%s", err);
	if (c == NULL)
		goto done;
	CHECK(c->refs == 1 && strcmp(c->path, path) == 0);
	CHECK(c->nlisten == 2);
	CHECK(strcmp(c->listen[0].text, "127.0.0.1:0") == 0);
	CHECK(c->listen[0].line == 2);
	CHECK(sin_of(&c->listen[0])->sin_family == AF_INET &&
	    sin_of(&c->listen[0])->sin_port == htons(0) &&
	    sin_of(&c->listen[0])->sin_addr.s_addr == htonl(INADDR_LOOPBACK));
	CHECK(c->listen[0].addr_len == sizeof(struct sockaddr_in));
	inet_pton(AF_INET6, "::1", &lo6);
	CHECK(strcmp(c->listen[1].text, "[::1]:3128") == 0);
	CHECK(sin6_of(&c->listen[1])->sin6_family == AF_INET6 &&
	    sin6_of(&c->listen[1])->sin6_port == htons(3128) &&
	    memcmp(&sin6_of(&c->listen[1])->sin6_addr, &lo6, 16) == 0);
	CHECK(c->listen[1].addr_len == sizeof(struct sockaddr_in6));
	CHECK(c->mode == MODE_MONITOR);
	snprintf(text, sizeof(text), "%s/events.jsonl", tmpdir);
	CHECK(strcmp(c->event_log, text) == 0);
	snprintf(text, sizeof(text), "%s/hosts", tmpdir);
	CHECK(strcmp(c->hosts_file, text) == 0);
	CHECK(c->nresolvers == 4);
	if (c->nresolvers == 4) {
		CHECK(strcmp(c->resolvers[0].text, "127.0.0.1:53") == 0);
		CHECK(strcmp(c->resolvers[1].text, "[::1]:5353") == 0);
		CHECK(strcmp(c->resolvers[2].text, "[::1]:53") == 0);
		CHECK(strcmp(c->resolvers[3].text, "10.0.0.1:53") == 0);
		CHECK(c->resolvers[0].line == 6 && c->resolvers[3].line == 7);
	}
	CHECK(c->nresponders == 5);
	if (c->nresponders == 5) {
		r = &c->responders[0];
		CHECK(strcmp(r->spec, "OCSP.Example.Test.") == 0 &&
		    strcmp(r->host, "ocsp.example.test") == 0 && !r->wildcard &&
		    r->port == 80 && r->path_len == 0 &&
		    strcmp(r->path, "") == 0 && r->nissuers == 0 &&
		    r->line == 9);
		r = &c->responders[1];
		CHECK(strcmp(r->host, "ocsp.example.net") == 0 && r->wildcard);
		r = &c->responders[2];
		CHECK(strcmp(r->host, "pki.corp.example") == 0 &&
		    r->port == 8080 && strcmp(r->path, "/ocsp") == 0 &&
		    r->path_len == 5);
		r = &c->responders[3];
		CHECK(strcmp(r->host, "ocsp.ca.test") == 0 && r->port == 80 &&
		    r->line == 12 && r->nissuers == 2);
		if (r->nissuers == 2)
			CHECK(issuer_is(&r->issuers[0], certs[0]) &&
			    issuer_is(&r->issuers[1], certs[1]));
		r = &c->responders[4];
		CHECK(strcmp(r->host, "::1") == 0 && r->port == 8080 &&
		    r->path_len == 0);
	}
	CHECK(c->max_request_body == 1000 && c->max_header_bytes == 2000 &&
	    c->client_timeout_sec == 3 && c->upstream_timeout_sec == 4 &&
	    c->max_nonce_bytes == 128);

	/* References: the last unref frees (checked by the sanitizers). */
	CHECK(config_ref(c) == c && c->refs == 2);
	config_unref(c);
	CHECK(c->refs == 1);
	config_unref(c);
	config_unref(NULL);
done:
	X509_free(certs[0]);
	X509_free(certs[1]);
}

static void
test_defaults(void)
{
	char err[1024];
	struct config *c;

	c = config_load(
	    write_conf("listen = [ \"127.0.0.1:3128\" ];\n"), err, sizeof(err));
	CHECKF(c != NULL, "%s", err);
	if (c == NULL)
		return;
	CHECK(err[0] == '\0');
	CHECK(c->mode == MODE_ENFORCE);
	CHECK(strcmp(c->event_log, CONFIG_DEFAULT_EVENT_LOG) == 0);
	CHECK(strcmp(c->hosts_file, CONFIG_DEFAULT_HOSTS_FILE) == 0);
	CHECK(c->nresolvers == 0 && c->resolvers == NULL);
	CHECK(c->nresponders == 0 && c->responders == NULL);
	CHECK(c->max_request_body == CONFIG_DEFAULT_MAX_REQUEST_BODY);
	CHECK(c->max_header_bytes == CONFIG_DEFAULT_MAX_HEADER_BYTES);
	CHECK(c->client_timeout_sec == CONFIG_DEFAULT_CLIENT_TIMEOUT);
	CHECK(c->upstream_timeout_sec == CONFIG_DEFAULT_UPSTREAM_TIMEOUT);
	CHECK(c->max_nonce_bytes == CONFIG_DEFAULT_MAX_NONCE_BYTES);
	/* One source may not hold every slot; IPv6 counts per /64. */
	CHECK(c->max_connections_per_source == 256);
	CHECK(c->max_connections_per_source < c->max_connections / 10);
	CHECK(c->source_ipv6_prefix == 64);
	CHECK(c->cache_max_age_sec == 3 * 24 * 3600);
	CHECK(c->event_log_max_line == 65536);
	CHECK(c->event_syslog_max_message == 65000);
	CHECK(c->alerts.unknown_certs == 10 && c->alerts.unauthorized == 10 &&
	    c->alerts.ua_mismatch == 5 && c->alerts.periodic_min == 12);
	config_unref(c);

	c = config_load(write_conf("listen = [ \"127.0.0.1:3128\" ];\n"
	                           "max_connections_per_source = 0;\n"
	                           "source_ipv6_prefix = 56;\n"
	                           "cache_max_age = 3600;\n"
	                           "event_log_max_line = 8192;\n"
	                           "event_syslog_max_message = 2048;\n"
	                           "alert_unknown_certificates = 7;\n"
	                           "alert_unauthorized_answers = 0;\n"
	                           "alert_ua_mismatch = 9;\n"),
	    err, sizeof(err));
	CHECKF(c != NULL, "%s", err);
	if (c != NULL) {
		CHECK(c->max_connections_per_source == 0 &&
		    c->source_ipv6_prefix == 56);
		CHECK(c->cache_max_age_sec == 3600);
		CHECK(c->event_log_max_line == 8192 &&
		    c->event_syslog_max_message == 2048);
		CHECK(c->alerts.unknown_certs == 7 &&
		    c->alerts.unauthorized == 0 && c->alerts.ua_mismatch == 9);
	}
	config_unref(c);

	/* A list form, an empty responders list, hosts_file disabled. */
	c = config_load(write_conf("listen = ( \"[::]:0\" );\n"
	                           "responders = ();\n"
	                           "hosts_file = \"\";\n"
	                           "resolvers = [];\n"
	                           "event_log = \"-\";\n"
	                           "mode = \"enforce\";\n"),
	    err, sizeof(err));
	CHECKF(c != NULL, "%s", err);
	if (c != NULL) {
		CHECK(c->nlisten == 1 && c->nresponders == 0);
		CHECK(strcmp(c->hosts_file, "") == 0);
		CHECK(strcmp(c->event_log, "-") == 0);
		CHECK(strcmp(mode_name(c->mode), "enforce") == 0);
	}
	config_unref(c);
	CHECK(strcmp(mode_name(MODE_MONITOR), "monitor") == 0);
}

#define L "listen = [ \"127.0.0.1:0\" ];\n"

static const struct error_case {
	const char *text;
	const char *want;
	int line;
} error_cases[] = {
    /* the file as a whole */
    {"", "@P: no listen address\n", __LINE__},
    {"mode = \"enforce\";\n", "@P: no listen address\n", __LINE__},
    {"listen = [];\n", "@P:1: no listen address\n", __LINE__},
    /* libconfig's own errors */
    {L "mode = \"enforce\"\nfoo bar;\n", "@P:3: syntax error\n", __LINE__},
    {L "\n\nmode = ;\n", "@P:4: syntax error\n", __LINE__},
    {L "mode = \"enforce\";\nmode = \"monitor\";\n",
        "@P:3: duplicate setting name\n", __LINE__},
    {L "responders = [ \"a.test\", 1 ];\n",
        "@P:2: mismatched element type in array\n", __LINE__},
    /* unknown directive */
    {L "\nfoo = 1;\n", "@P:3: unknown directive 'foo'\n", __LINE__},
    {L "Mode = \"enforce\";\n", "@P:2: unknown directive 'Mode'\n", __LINE__},
    /* wrong types */
    {"listen = \"127.0.0.1:0\";\n",
        "@P:1: 'listen' must be an array or list of addresses\n", __LINE__},
    {"listen = ( \"127.0.0.1:0\", 1 );\n",
        "@P:1: listen: each entry must be an address string or a { "
        "address = ...; } group\n",
        __LINE__},
    {L "mode = 1;\n", "@P:2: 'mode' must be a string\n", __LINE__},
    {L "event_log = true;\n", "@P:2: 'event_log' must be a string\n", __LINE__},
    {L "hosts_file = [ \"/etc/hosts\" ];\n",
        "@P:2: 'hosts_file' must be a string\n", __LINE__},
    {L "resolvers = \"127.0.0.1\";\n",
        "@P:2: 'resolvers' must be an array or list of addresses\n", __LINE__},
    {L "responders = \"ocsp.example.test\";\n",
        "@P:2: 'responders' must be a list of strings and groups\n", __LINE__},
    {L "max_request_body = \"16384\";\n",
        "@P:2: 'max_request_body' must be an integer\n", __LINE__},
    {L "client_timeout = 1.5;\n", "@P:2: 'client_timeout' must be an integer\n",
        __LINE__},
    {L "upstream_timeout = true;\n",
        "@P:2: 'upstream_timeout' must be an integer\n", __LINE__},
    /* bad values */
    {L "mode = \"block\";\n",
        "@P:2: 'mode' must be \"enforce\" or \"monitor\", not 'block'\n",
        __LINE__},
    {L "mode = \"Enforce\";\n",
        "@P:2: 'mode' must be \"enforce\" or \"monitor\", not 'Enforce'\n",
        __LINE__},
    {L "max_request_body = 0;\n",
        "@P:2: 'max_request_body' must be between 1 and 1048576\n", __LINE__},
    {L "max_request_body = 1048577;\n",
        "@P:2: 'max_request_body' must be between 1 and 1048576\n", __LINE__},
    {L "max_header_bytes = 255;\n",
        "@P:2: 'max_header_bytes' must be between 256 and 1048576\n", __LINE__},
    {L "client_timeout = 86401;\n",
        "@P:2: 'client_timeout' must be between 1 and 86400\n", __LINE__},
    {L "upstream_timeout = -1;\n",
        "@P:2: 'upstream_timeout' must be between 1 and 3600\n", __LINE__},
    {L "max_nonce_bytes = 129;\n",
        "@P:2: 'max_nonce_bytes' must be between 1 and 128\n", __LINE__},
    {L "max_nonce_bytes = 99999999999L;\n",
        "@P:2: 'max_nonce_bytes' must be between 1 and 128\n", __LINE__},
    /* literals libconfig 1.5 would wrap into range (2^32 + 30) */
    {L "client_timeout = 4294967326;\n",
        "@P:2: 'client_timeout' must be between 1 and 86400\n", __LINE__},
    {L "client_timeout=0x10000001E; # client_timeout = 30\n",
        "@P:2: 'client_timeout' must be between 1 and 86400\n", __LINE__},
    {L "max_nonce_bytes = -4294967295;\n",
        "@P:2: 'max_nonce_bytes' must be between 1 and 128\n", __LINE__},
    /* listen addresses */
    {"listen = [ \"127.0.0.1\" ];\n",
        "@P:1: listen: '127.0.0.1': no port (expected IPv4:port or "
        "[IPv6]:port)\n",
        __LINE__},
    {"listen = [ \"1.2.3.4:99999\" ];\n",
        "@P:1: listen: '1.2.3.4:99999': port must be 0..65535\n", __LINE__},
    {"listen = [ \"host:80\" ];\n",
        "@P:1: listen: 'host:80': 'host' is not an IPv4 address (expected "
        "IPv4:port or [IPv6]:port; host names are not allowed)\n",
        __LINE__},
    {"listen = [ \"1.2.3.4:\" ];\n",
        "@P:1: listen: '1.2.3.4:': port must be 0..65535\n", __LINE__},
    {"listen = [ \"1.2.3.4:80x\" ];\n",
        "@P:1: listen: '1.2.3.4:80x': port must be 0..65535\n", __LINE__},
    {"listen = [ \"1.2.3.4:+80\" ];\n",
        "@P:1: listen: '1.2.3.4:+80': port must be 0..65535\n", __LINE__},
    {"listen = [ \"01.2.3.4:80\" ];\n",
        "@P:1: listen: '01.2.3.4:80': '01.2.3.4' is not an IPv4 address "
        "(expected IPv4:port or [IPv6]:port; host names are not "
        "allowed)\n",
        __LINE__},
    {"listen = [ \"::1:80\" ];\n",
        "@P:1: listen: '::1:80': an IPv6 address goes in brackets "
        "(expected IPv4:port or [IPv6]:port)\n",
        __LINE__},
    {"listen = [ \"[::1]\" ];\n",
        "@P:1: listen: '[::1]': no port (expected IPv4:port or "
        "[IPv6]:port)\n",
        __LINE__},
    {"listen = [ \"[::1:80\" ];\n",
        "@P:1: listen: '[::1:80': missing ']' (expected IPv4:port or "
        "[IPv6]:port)\n",
        __LINE__},
    {"listen = [ \"[::g]:80\" ];\n",
        "@P:1: listen: '[::g]:80': '::g' is not an IPv6 address\n", __LINE__},
    {"listen = [ \"[127.0.0.1]:80\" ];\n",
        "@P:1: listen: '[127.0.0.1]:80': '127.0.0.1' is not an IPv6 "
        "address\n",
        __LINE__},
    {"listen = [ \"\" ];\n",
        "@P:1: listen: '': no port (expected IPv4:port or [IPv6]:port)\n",
        __LINE__},
    /* resolvers */
    {L "resolvers = [ \"127.0.0.1:0\" ];\n",
        "@P:2: resolvers: '127.0.0.1:0': port must be 1..65535\n", __LINE__},
    {L "resolvers = [ \"dns.example\" ];\n",
        "@P:2: resolvers: 'dns.example': 'dns.example' is not an IPv4 "
        "address (expected IP, IPv4:port or [IPv6]:port; host names are "
        "not allowed)\n",
        __LINE__},
    /* files */
    {L "hosts_file = \"/nonexistent.ocspgate/hosts\";\n",
        "@P:2: hosts_file: cannot read /nonexistent.ocspgate/hosts: No "
        "such file or directory\n",
        __LINE__},
    {L "hosts_file = \"missing-hosts\";\n",
        "@P:2: hosts_file: cannot read @D/missing-hosts: No such file or "
        "directory\n",
        __LINE__},
    {L "hosts_file = \"/\";\n",
        "@P:2: hosts_file: cannot read /: Is a directory\n", __LINE__},
    {L "event_log = \"/nonexistent.ocspgate/events.jsonl\";\n",
        "@P:2: event_log: directory /nonexistent.ocspgate: No such file "
        "or directory\n",
        __LINE__},
    {L "event_log = \"test.conf/events.jsonl\";\n",
        "@P:2: event_log: directory @D/test.conf: Not a directory\n", __LINE__},
    {L "event_log = \"/tmp\";\n", "@P:2: event_log: /tmp is a directory\n",
        __LINE__},
    {L "event_log = \"\";\n",
        "@P:2: 'event_log' must not be empty (\"-\" is stdout)\n", __LINE__},
    /* responders */
    {L "responders = ( \"ocsp_x.example\" );\n",
        "@P:2: responders: 'ocsp_x.example': bad character '_' in host\n",
        __LINE__},
    {L "responders = ( \"ocsp..example\" );\n",
        "@P:2: responders: 'ocsp..example': empty label in host\n", __LINE__},
    {L "responders = ( \"ocsp.example:0\" );\n",
        "@P:2: responders: 'ocsp.example:0': port must be 1..65535\n",
        __LINE__},
    {L "responders = ( \"ocsp.example:65536/x\" );\n",
        "@P:2: responders: 'ocsp.example:65536/x': port must be "
        "1..65535\n",
        __LINE__},
    {L "responders = ( \"ocsp.example/a?b\" );\n",
        "@P:2: responders: 'ocsp.example/a?b': '?' is not allowed in a "
        "path prefix\n",
        __LINE__},
    {L "responders = ( \"ocsp.*.example\" );\n",
        "@P:2: responders: 'ocsp.*.example': '*' is allowed only as the "
        "whole first label ('*.example.net')\n",
        __LINE__},
    {L "responders = ( \"*ocsp.example\" );\n",
        "@P:2: responders: '*ocsp.example': '*' is allowed only as the "
        "whole first label ('*.example.net')\n",
        __LINE__},
    {L "responders = ( 42 );\n",
        "@P:2: responders: an entry must be a string or a group\n", __LINE__},
    {L "responders = ( { host = \"a.test\"; port = 80; } );\n",
        "@P:2: responders: unknown key 'port' (expected 'host' or "
        "'issuers')\n",
        __LINE__},
    {L "responders = (\n  { issuers = [ \"/x.pem\" ]; }\n);\n",
        "@P:3: responders: entry without 'host'\n"
        "@P:3: issuers: cannot read /x.pem: No such file or directory\n",
        __LINE__},
    {L "responders = ( { host = 1; } );\n", "@P:2: 'host' must be a string\n",
        __LINE__},
    {L "responders = ( { host = \"a.test\"; issuers = \"ca.pem\"; } );\n",
        "@P:2: 'issuers' must be an array or list of files\n", __LINE__},
    {L "responders = ( { host = \"a.test\"; issuers = []; } );\n",
        "@P:2: 'issuers' is empty (leave it out to allow any issuer)\n",
        __LINE__},
    {L "responders = (\n  { host = \"a.test\";\n"
       "    issuers = [ \"/nonexistent.ocspgate/ca.pem\" ]; }\n);\n",
        "@P:4: issuers: cannot read /nonexistent.ocspgate/ca.pem: No such "
        "file or directory\n",
        __LINE__},
    {L "responders = ( { host = \"a.test\"; issuers = [ \"nope.pem\" ]; "
       "} );\n",
        "@P:2: issuers: cannot read @D/nope.pem: No such file or "
        "directory\n",
        __LINE__},
    {L "responders = ( { host = \"a.test\"; issuers = [ \"hosts\" ]; "
       "} );\n",
        "@P:2: issuers: no certificate in @D/hosts\n", __LINE__},
    {L "responders = ( { host = \"a.test\"; issuers = [ \"bad.pem\" ]; "
       "} );\n",
        "@P:2: issuers: bad certificate in @D/bad.pem: bad base64 "
        "decode\n",
        __LINE__},
    {L "responders = ( { host = \"a.test\"; issuers = [ \"/dev/null\" "
       "]; } );\n",
        "@P:2: issuers: cannot read /dev/null: not a regular file\n", __LINE__},
    /* every error is reported, in file order */
    {"listen = [ \"127.0.0.1\", \"[::1]:0\" ];\n"
     "mode = \"audit\";\n"
     "bogus = 1;\n"
     "responders = (\n"
     "  \"ok.example\",\n"
     "  \"bad host\",\n"
     "  \"*.\",\n"
     "  \"x.example:http\",\n"
     "  \"*.1.2.3.4\",\n"
     "  \"[::1\"\n"
     ");\n"
     "max_nonce_bytes = 0;\n",
        "@P:1: listen: '127.0.0.1': no port (expected IPv4:port or "
        "[IPv6]:port)\n"
        "@P:2: 'mode' must be \"enforce\" or \"monitor\", not 'audit'\n"
        "@P:3: unknown directive 'bogus'\n"
        "@P:6: responders: 'bad host': bad character ' ' in host\n"
        "@P:7: responders: '*.': empty host\n"
        "@P:8: responders: 'x.example:http': port must be 1..65535\n"
        "@P:9: responders: '*.1.2.3.4': a wildcard cannot apply to an IP "
        "address\n"
        "@P:11: responders: '[::1': missing ']' after IPv6 address\n"
        "@P:12: 'max_nonce_bytes' must be between 1 and 128\n",
        __LINE__},
};

static void
test_errors(void)
{
	static const char bad_pem[] = "-----BEGIN CERTIFICATE-----\n"
	                              "!!!! not base64 !!!!\n"
	                              "-----END CERTIFICATE-----\n";

	write_file("hosts", "127.0.0.1 localhost\n", 20);
	write_file("bad.pem", bad_pem, sizeof(bad_pem) - 1);
	for (size_t i = 0; i < sizeof(error_cases) / sizeof(error_cases[0]);
	     i++)
		check_errors(error_cases[i].text, error_cases[i].want,
		    error_cases[i].line);
}

/* Listener objects, interception and attribution directives. */
static void
test_interception(void)
{
	static const char inv[] = "address,host,role\n"
	                          "10.0.0.5,dc01.corp.example,dc\n";
	static const char good[] =
	    "listen = ( \"127.0.0.1:0\",\n"
	    "  { address = \"[::1]:0\"; transparent = \"tproxy\"; },\n"
	    "  { address = \"127.0.0.2:0\"; proxy_protocol = true;\n"
	    "    proxy_protocol_from = [ \"127.0.0.0/8\", \"::1\" ]; },\n"
	    "  { address = \"127.0.0.3:0\"; transparent = \"off\"; } );\n"
	    "on_host_mismatch = \"block\";\n"
	    "upstream_mark = 4294967295L;\n"
	    "inventory = \"inv.csv\";\n"
	    "reverse_dns = true;\n";
	char err[4096];
	struct config *c;

	write_file("inv.csv", inv, sizeof(inv) - 1);
	c = config_load(write_conf(good), err, sizeof(err));
	CHECKF(c != NULL, "%s", err);
	if (c == NULL)
		return;
	CHECK(c->nlisten == 4);
	CHECK(c->listen[0].transparent == LISTEN_REDIRECT &&
	    !c->listen[0].proxy_protocol);
	CHECK(c->listen[1].transparent == LISTEN_TPROXY);
	CHECK(c->listen[2].proxy_protocol && c->listen[2].nproxy_from == 2 &&
	    c->listen[2].proxy_from[0].prefix == 8 &&
	    c->listen[2].proxy_from[1].family == AF_INET6);
	CHECK(c->listen[3].transparent == LISTEN_EXPLICIT);
	CHECKF(strcmp(c->listen[2].text, "127.0.0.2:0") == 0 &&
	        c->listen[2].line == 3,
	    "line %d", c->listen[2].line);
	CHECK(c->block_host_mismatch);
	CHECK(c->upstream_mark == 4294967295u);
	CHECK(c->inventory != NULL && inventory_size(c->inventory) == 1);
	CHECK(c->reverse_dns);
	config_unref(c);

	c = config_load(write_conf(L), err, sizeof(err));
	CHECK(c != NULL && !c->block_host_mismatch && c->upstream_mark == 0 &&
	    c->inventory == NULL && !c->reverse_dns);
	config_unref(c);
}

/*
 * unverified_answers: "flag" (the default) or "block"; anything else an
 * error at its line.
 */
static void
test_unverified_answers(void)
{
	static const struct {
		const char *text;
		bool block;
	} ok[] = {
	    {L, false},
	    {L "unverified_answers = \"flag\";\n", false},
	    {L "unverified_answers = \"block\";\n", true},
	};
	static const struct error_case bad[] = {
	    {L "unverified_answers = \"refuse\";\n",
	        "@P:2: 'unverified_answers' must be \"flag\" or \"block\", "
	        "not 'refuse'\n",
	        __LINE__},
	    {L "\nunverified_answers = true;\n",
	        "@P:3: 'unverified_answers' must be a string\n", __LINE__},
	};
	char err[4096];
	struct config *c;

	for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		c = config_load(write_conf(ok[i].text), err, sizeof(err));
		CHECKF(c != NULL && c->block_unverified == ok[i].block,
		    "case %zu: %s", i, c == NULL ? err : "wrong value");
		config_unref(c);
	}
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		check_errors(bad[i].text, bad[i].want, bad[i].line);
}

static const struct error_case interception_errors[] = {
    {"listen = ( { address = \"127.0.0.1:0\"; proxy_protocol = true; } );\n",
        "@P:1: listen: proxy_protocol needs proxy_protocol_from (the "
        "balancers allowed to send it)\n",
        __LINE__},
    {"listen = ( { address = \"127.0.0.1:0\";\n"
     "  proxy_protocol_from = [ \"10.0.0.0/8\" ]; } );\n",
        "@P:2: listen: proxy_protocol_from without proxy_protocol = true\n",
        __LINE__},
    {"listen = ( { address = \"127.0.0.1:0\"; proxy_protocol = true;\n"
     "  proxy_protocol_from = [ \"10.0.0.1/8\", \"1.2.3.4/33\" ]; } );\n",
        "@P:2: proxy_protocol_from: '10.0.0.1/8': host bits set after /8 "
        "(did you mean a network address?)\n"
        "@P:2: proxy_protocol_from: '1.2.3.4/33': bad prefix length "
        "(0..32)\n",
        __LINE__},
    {"listen = ( { transparent = \"nat\"; port = 1; } );\n",
        "@P:1: 'transparent' must be \"redirect\", \"tproxy\" or \"off\", "
        "not 'nat'\n"
        "@P:1: listen: unknown key 'port' (expected 'address', "
        "'transparent', 'proxy_protocol' or 'proxy_protocol_from')\n"
        "@P:1: listen: entry without 'address'\n",
        __LINE__},
    {"listen = ( { address = \"127.0.0.1:0\"; proxy_protocol = 1; } );\n",
        "@P:1: 'proxy_protocol' must be true or false\n", __LINE__},
    {"listen = [ \"127.0.0.1:3128\", \"127.0.0.1:3128\" ];\n",
        "@P:1: listen: '127.0.0.1:3128' is listed twice\n", __LINE__},
    {L "on_host_mismatch = \"drop\";\n",
        "@P:2: 'on_host_mismatch' must be \"log\" or \"block\", not "
        "'drop'\n",
        __LINE__},
    {L "upstream_mark = -1;\n",
        "@P:2: 'upstream_mark' must be between 0 and 4294967295\n", __LINE__},
    {L "reverse_dns = \"yes\";\n",
        "@P:2: 'reverse_dns' must be true or false\n", __LINE__},
    {L "inventory = \"bad.csv\";\n",
        "@P:2: inventory: @D/bad.csv:2: bad address \"10.0.0.300\"\n",
        __LINE__},
};

static void
test_interception_errors(void)
{
	static const char bad[] = "address,host\n10.0.0.300,x\n";

	write_file("bad.csv", bad, sizeof(bad) - 1);
	for (size_t i = 0;
	     i < sizeof(interception_errors) / sizeof(interception_errors[0]);
	     i++)
		check_errors(interception_errors[i].text,
		    interception_errors[i].want, interception_errors[i].line);
}

/* Errors about the config file itself, NUL bytes, truncation, includes. */
static void
test_file_errors(void)
{
	static const char nul_text[] = L "\nmode = \"enforce\";\0x = 1;\n";
	char err[1024], want[1024], small[40], dir[300];
	const char *path;
	struct config *c;

	c = config_load(
	    "/nonexistent.ocspgate/ocspgate.conf", err, sizeof(err));
	CHECK(c == NULL);
	CHECKF(strcmp(err,
	           "/nonexistent.ocspgate/ocspgate.conf: cannot "
	           "read: No such file or directory\n") == 0,
	    "got %s", err);

	c = config_load(tmpdir, err, sizeof(err));
	snprintf(
	    want, sizeof(want), "%s: cannot read: Is a directory\n", tmpdir);
	CHECKF(c == NULL && strcmp(err, want) == 0, "got %s", err);

	path = write_file("test.conf", nul_text, sizeof(nul_text) - 1);
	c = config_load(path, err, sizeof(err));
	snprintf(want, sizeof(want), "%s:3: NUL byte in the file\n", path);
	CHECKF(c == NULL && strcmp(err, want) == 0, "got %s", err);

	/* A short buffer holds a truncated, NUL-terminated message. */
	path = write_conf("a = 1;\nb = 2;\n");
	memset(small, 'x', sizeof(small));
	c = config_load(path, small, sizeof(small));
	CHECK(c == NULL && small[sizeof(small) - 1] == '\0' &&
	    strlen(small) == sizeof(small) - 1);
	CHECK(config_load(path, NULL, 0) == NULL);

	/* An included file's errors name that file. */
	write_file("inc.conf", "\nfoo = 1;\n", 10);
	path = write_conf(L "@include \"inc.conf\"\n");
	c = config_load(path, err, sizeof(err));
	snprintf(dir, sizeof(dir), "%s/inc.conf", tmpdir);
	snprintf(want, sizeof(want), "%s:2: unknown directive 'foo'\n", dir);
	CHECKF(c == NULL && strcmp(err, want) == 0, "got %s", err);

	/* config_load_string(): the name stands for the path. */
	c = config_load_string(
	    "conf/x.conf", L "mode = \"x\";\n", err, sizeof(err));
	CHECKF(c == NULL &&
	        strcmp(err,
	            "conf/x.conf:2: 'mode' must be "
	            "\"enforce\" or \"monitor\", not "
	            "'x'\n") == 0,
	    "got %s", err);
	c = config_load_string("x.conf", L, err, sizeof(err));
	CHECK(c != NULL && err[0] == '\0');
	config_unref(c);
}

static const struct {
	const char *spec;
	const char *host; /* NULL: the spec is refused */
	bool wildcard;
	unsigned port;
	const char *path;
} responder_cases[] = {
    {"ocsp.example.test", "ocsp.example.test", false, 80, ""},
    {"OCSP.Example.TEST", "ocsp.example.test", false, 80, ""},
    {"ocsp.example.test.", "ocsp.example.test", false, 80, ""},
    {"ocsp.example.test..", NULL, false, 0, NULL},
    {"ocsp", "ocsp", false, 80, ""},
    {"x-1.example", "x-1.example", false, 80, ""},
    {"*.example.net", "example.net", true, 80, ""},
    {"*.Example.NET.:8080/OCSP", "example.net", true, 8080, "/OCSP"},
    {"*.example.net/", "example.net", true, 80, ""},
    {"ocsp.example.test:80", "ocsp.example.test", false, 80, ""},
    {"ocsp.example.test:1", "ocsp.example.test", false, 1, ""},
    {"ocsp.example.test:65535", "ocsp.example.test", false, 65535, ""},
    {"ocsp.example.test/", "ocsp.example.test", false, 80, ""},
    {"ocsp.example.test//", "ocsp.example.test", false, 80, ""},
    {"ocsp.example.test/ocsp", "ocsp.example.test", false, 80, "/ocsp"},
    {"ocsp.example.test/ocsp/", "ocsp.example.test", false, 80, "/ocsp"},
    {"ocsp.example.test/a/b%2F/", "ocsp.example.test", false, 80, "/a/b%2F"},
    {"pki.corp.example:8080/ocsp", "pki.corp.example", false, 8080, "/ocsp"},
    {"127.0.0.1", "127.0.0.1", false, 80, ""},
    {"127.0.0.1:8888/x", "127.0.0.1", false, 8888, "/x"},
    {"[::1]", "::1", false, 80, ""},
    {"[::1]:8080/ocsp", "::1", false, 8080, "/ocsp"},
    {"[2001:DB8:0:0::1]/", "2001:db8::1", false, 80, ""},
    {"[::ffff:192.0.2.1]:81", "::ffff:192.0.2.1", false, 81, ""},
    {"", NULL, false, 0, NULL},
    {"*", NULL, false, 0, NULL},
    {"*.", NULL, false, 0, NULL},
    {".", NULL, false, 0, NULL},
    {".example", NULL, false, 0, NULL},
    {"*.*.example", NULL, false, 0, NULL},
    {"a.*.example", NULL, false, 0, NULL},
    {"*example.net", NULL, false, 0, NULL},
    {"ex ample.net", NULL, false, 0, NULL},
    {"ex_ample.net", NULL, false, 0, NULL},
    {"example.net:", NULL, false, 0, NULL},
    {"example.net:0", NULL, false, 0, NULL},
    {"example.net:65536", NULL, false, 0, NULL},
    {"example.net:123456", NULL, false, 0, NULL},
    {"example.net:-1", NULL, false, 0, NULL},
    {"example.net:80:81", NULL, false, 0, NULL},
    {"example.net/a?b", NULL, false, 0, NULL},
    {"example.net/a#b", NULL, false, 0, NULL},
    {"example.net/a b", NULL, false, 0, NULL},
    {"example.net/\xc3\xa9", NULL, false, 0, NULL},
    {"http://example.net", NULL, false, 0, NULL},
    {"user@example.net", NULL, false, 0, NULL},
    {"ex\xc3\xa4mple.net", NULL, false, 0, NULL},
    {"1.2.3.256", NULL, false, 0, NULL},
    {"1.2.3", NULL, false, 0, NULL},
    {"example.123", NULL, false, 0, NULL},
    {"*.10.0.0.1", NULL, false, 0, NULL},
    {"[::1", NULL, false, 0, NULL},
    {"[]", NULL, false, 0, NULL},
    {"[::1]x", NULL, false, 0, NULL},
    {"[::1]:", NULL, false, 0, NULL},
    {"[1.2.3.4]", NULL, false, 0, NULL},
    {"*.[::1]", NULL, false, 0, NULL},
    {"a23456789012345678901234567890123456789012345678901234567890123."
     "example",
        "a23456789012345678901234567890123456789012345678901234"
        "567890123.example",
        false, 80, ""},
    {"a234567890123456789012345678901234567890123456789012345678901234."
     "example",
        NULL, false, 0, NULL},
};

static void
test_parse_responder(void)
{
	struct responder r;
	char err[256];
	int rc;

	for (size_t i = 0;
	     i < sizeof(responder_cases) / sizeof(responder_cases[0]); i++) {
		memset(&r, 0xa5, sizeof(r));
		err[0] = '\0';
		rc = config_parse_responder(
		    responder_cases[i].spec, &r, err, sizeof(err));
		if (responder_cases[i].host == NULL) {
			CHECKF(rc == -1 && err[0] != '\0' && r.host == NULL &&
			        r.spec == NULL && r.path == NULL,
			    "'%s' accepted", responder_cases[i].spec);
			continue;
		}
		CHECKF(rc == 0, "'%s': %s", responder_cases[i].spec, err);
		if (rc != 0)
			continue;
		CHECKF(strcmp(r.host, responder_cases[i].host) == 0 &&
		        r.wildcard == responder_cases[i].wildcard &&
		        r.port == responder_cases[i].port &&
		        strcmp(r.path, responder_cases[i].path) == 0 &&
		        r.path_len == strlen(responder_cases[i].path) &&
		        strcmp(r.spec, responder_cases[i].spec) == 0,
		    "'%s': host %s wildcard %d port %u path %s",
		    responder_cases[i].spec, r.host, r.wildcard, r.port,
		    r.path);
		free(r.spec);
		free(r.host);
		free(r.path);
	}

	/* A few messages, word for word. */
	rc = config_parse_responder("ocsp.example:99999", &r, err, sizeof(err));
	CHECK(rc == -1 && strcmp(err, "port must be 1..65535") == 0);
	rc = config_parse_responder("*.a.*.b", &r, err, sizeof(err));
	CHECK(rc == -1 &&
	    strcmp(err,
	        "'*' is allowed only as the whole "
	        "first label ('*.example.net')") == 0);
	rc = config_parse_responder("a.example/x#y", &r, err, sizeof(err));
	CHECK(rc == -1 &&
	    strcmp(err, "'#' is not allowed in a path prefix") == 0);
}

/* The shipped config loads, with its responders and defaults. */
static void
test_shipped_conf(void)
{
	const char *data = getenv("OCSPGATE_TEST_DATA");
	char path[1024], err[4096], *slash;
	struct config *c;
	bool digicert = false, amazon = false;

	/* <repo>/tests/data or <repo>/tests/unit/test_config.c: go up. */
	snprintf(path, sizeof(path), "%s", data != NULL ? data : __FILE__);
	for (int up = 0; up < (data != NULL ? 2 : 3); up++)
		if ((slash = strrchr(path, '/')) != NULL)
			*slash = '\0';
	strncat(path, "/conf/ocspgate.conf", sizeof(path) - strlen(path) - 1);

	c = config_load(path, err, sizeof(err));
	CHECKF(c != NULL, "%s: %s", path, err);
	if (c == NULL)
		return;
	CHECK(c->nlisten == 1 &&
	    strcmp(c->listen[0].text, "127.0.0.1:3128") == 0);
	CHECK(c->mode == MODE_ENFORCE);
	CHECK(strcmp(c->event_log, "-") == 0);
	CHECK(strcmp(c->hosts_file, "/etc/hosts") == 0);
	CHECK(c->nresponders >= 20);
	for (size_t i = 0; i < c->nresponders; i++) {
		const struct responder *r = &c->responders[i];

		CHECK(r->port == 80 && r->path_len == 0 && r->nissuers == 0);
		digicert |= strcmp(r->host, "ocsp.digicert.com") == 0;
		amazon |= !r->wildcard &&
		    strcmp(r->host, "ocsp.r2m02.amazontrust.com") == 0;
	}
	CHECK(digicert && amazon);
	CHECK(c->max_request_body == CONFIG_DEFAULT_MAX_REQUEST_BODY &&
	    c->max_nonce_bytes == CONFIG_DEFAULT_MAX_NONCE_BYTES);
	config_unref(c);
}

int
main(void)
{
	const char *base = getenv("TMPDIR");
	char cmd[600];

	snprintf(tmpdir, sizeof(tmpdir), "%s/test_config.XXXXXX",
	    base != NULL && *base != '\0' ? base : "/tmp");
	if (mkdtemp(tmpdir) == NULL) {
		perror("mkdtemp");
		return 2;
	}
	test_full();
	test_defaults();
	test_errors();
	test_interception();
	test_interception_errors();
	test_unverified_answers();
	test_file_errors();
	test_parse_responder();
	test_shipped_conf();
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
	if (system(cmd) != 0)
		fprintf(stderr, "cannot remove %s\n", tmpdir);
	return check_done();
}
