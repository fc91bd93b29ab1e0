/*
 * Fuzz target for suggest.c: the input is an event log, split into
 * lines and gathered; the snippet written from it (without a config and
 * with one that lists hosts) must hold printable ASCII only, every line
 * outside a comment must be a list's opening, one quoted host or the
 * list's end, and ocspgate's config loader must take the snippet. Any
 * failure aborts.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ocspgate/config.h"
#include "ocspgate/suggest.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FUZZ_SUGGEST_LISTED                                                    \
	"listen = [ \"127.0.0.1:0\" ];\n"                                      \
	"responders = ( \"ocsp.a.test\", \"*.wild.test\" );\n"                 \
	"crl_hosts = ( \"crl.a.test/pki\" );\n"

static bool
fuzz_suggest_host_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' ||
	    c == '-' || c == ':' || c == '[' || c == ']';
}

/* Aborts unless <line> (<n> bytes) is one the snippet may hold. */
static void
fuzz_suggest_line(const char *line, size_t n)
{
	static const char *const lists[] = {"responders = (", "crl_hosts = (",
	    "ca_issuer_hosts = (", "ctl_hosts = ("};
	size_t i;

	if (n == 0 || line[0] == '#' ||
	    (n > 1 && line[0] == '\t' && line[1] == '#'))
		return;
	if (n == 2 && memcmp(line, ");", 2) == 0)
		return;
	for (i = 0; i < sizeof(lists) / sizeof(lists[0]); i++)
		if (n == strlen(lists[i]) && memcmp(line, lists[i], n) == 0)
			return;
	if (n > 0 && line[n - 1] == ',')
		n--;
	if (n < 4 || line[0] != '\t' || line[1] != '"' || line[n - 1] != '"')
		abort();
	for (i = 2; i < n - 1; i++)
		if (!fuzz_suggest_host_char(line[i]))
			abort();
}

static void
fuzz_suggest_check(const struct suggest *sg, const struct config *cfg)
{
	struct config *c;
	char *out = NULL, *conf, err[4096];
	size_t len = 0, start = 0;

	if (suggest_format(sg, cfg, &out, &len) == -1)
		return;
	if (strlen(out) != len)
		abort();
	for (size_t i = 0; i <= len; i++) {
		if (i < len &&
		    !((out[i] >= 0x20 && out[i] < 0x7f) || out[i] == '\n' ||
		        out[i] == '\t'))
			abort();
		if (i == len || out[i] == '\n') {
			fuzz_suggest_line(out + start, i - start);
			start = i + 1;
		}
	}
	if ((conf = malloc(len + 64)) != NULL) {
		snprintf(
		    conf, len + 64, "listen = [ \"127.0.0.1:0\" ];\n%s", out);
		if ((c = config_load_string(
		         "fuzz.conf", conf, err, sizeof(err))) == NULL)
			abort();
		config_unref(c);
		free(conf);
	}
	free(out);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct config *listed;
	struct suggest *sg;
	size_t start = 0;
	char err[1024];

	if (listed == NULL &&
	    (listed = config_load_string(
	         "listed.conf", FUZZ_SUGGEST_LISTED, err, sizeof(err))) == NULL)
		abort();
	if ((sg = suggest_new()) == NULL)
		return 0;
	for (size_t i = 0; i <= size; i++) {
		if (i < size && data[i] != '\n')
			continue;
		if (suggest_add_line(
		        sg, (const char *)data + start, i - start) < -1)
			break;
		start = i + 1;
	}
	fuzz_suggest_check(sg, NULL);
	fuzz_suggest_check(sg, listed);
	suggest_free(sg);
	return 0;
}
