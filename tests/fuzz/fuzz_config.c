/*
 * Fuzzes config loading: any bytes as the text of a config file must
 * load or fail without a crash or leak. A failure must explain itself
 * (a non-empty error naming the file); a success must hold what the
 * contract promises (a listener; responders normalised, and each spec
 * parsing again to the same responder). Any broken rule aborts.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ocspgate/config.h"

#define FUZZ_CONFIG_NAME "fuzz.conf"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
const char *__lsan_default_suppressions(void);
const char *__lsan_default_options(void);

/*
 * libconfig 1.5 (Debian 12) leaks a string token of its scanner when a
 * syntax error follows it (a few bytes per failed parse); those leaks are
 * libconfig's, not ours. The unit tests run without suppressions. Without
 * a symbolizer the frames have no function names: the module's name
 * still matches.
 */
const char *
__lsan_default_suppressions(void)
{
	return "leak:strbuf_append\nleak:libconfig_yylex\nleak:libconfig.so\n";
}

const char *
__lsan_default_options(void)
{
	return "print_suppressions=0";
}

/* Checks the promises about one loaded responder. */
static void
fuzz_config_check_responder(const struct responder *r)
{
	struct responder again;
	char err[256];

	if (r->host == NULL || r->host[0] == '\0' || r->path == NULL ||
	    r->spec == NULL || r->port == 0 || strlen(r->path) != r->path_len)
		abort();
	for (const char *c = r->host; *c != '\0'; c++)
		if (*c >= 'A' && *c <= 'Z')
			abort();
	if (r->host[strlen(r->host) - 1] == '.')
		abort();
	if (r->path_len > 0 &&
	    (r->path[0] != '/' || r->path[r->path_len - 1] == '/'))
		abort();
	if (config_parse_responder(r->spec, &again, err, sizeof(err)) != 0)
		abort();
	if (strcmp(again.host, r->host) != 0 || again.wildcard != r->wildcard ||
	    again.port != r->port || strcmp(again.path, r->path) != 0)
		abort();
	free(again.spec);
	free(again.host);
	free(again.path);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct config *c;
	char *text, err[4096];

	/*
	 * "@include" would read arbitrary files of the machine running the
	 * fuzzer; included files are exercised by the unit tests.
	 */
	if (memchr(data, '@', size) != NULL)
		return 0;
	if ((text = malloc(size + 1)) == NULL)
		return 0;
	if (size > 0)
		memcpy(text, data, size);
	text[size] = '\0';

	c = config_load_string(FUZZ_CONFIG_NAME, text, err, sizeof(err));
	if (c == NULL) {
		if (strncmp(err, FUZZ_CONFIG_NAME ":",
		        sizeof(FUZZ_CONFIG_NAME)) != 0)
			abort();
	} else {
		if (err[0] != '\0' || c->refs != 1 || c->nlisten == 0)
			abort();
		for (size_t i = 0; i < c->nlisten; i++)
			if (c->listen[i].text == NULL ||
			    c->listen[i].addr_len == 0)
				abort();
		for (size_t i = 0; i < c->nresponders; i++)
			fuzz_config_check_responder(&c->responders[i]);
		config_unref(c);
	}
	free(text);
	return 0;
}
