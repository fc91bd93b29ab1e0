/*
 * `ocspgate -S`: event logs in (plain or gzip-rotated, zlib reads both),
 * one line at a time into suggest.c, the snippet out on stdout. The only
 * I/O of suggesting lives here.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <zlib.h>

#include "ocspgate/config.h"
#include "ocspgate/suggest.h"
#include "ocspgate/suggest_cli.h"

#define SUGGEST_CLI_CONFIG_ERR_MAX 8192
#define SUGGEST_CLI_READ           65536

/* The text of zlib's last error on <gz>, or of errno. */
static const char *
suggest_cli_gzerror(gzFile gz)
{
	int code = Z_OK;
	const char *msg = gz != NULL ? gzerror(gz, &code) : NULL;

	if (code == Z_ERRNO || msg == NULL || msg[0] == '\0')
		return strerror(errno != 0 ? errno : EIO);
	return msg;
}

/*
 * Feeds every line of <gz> to <sg>; a line longer than
 * SUGGEST_CLI_LINE_MAX is counted as unreadable, and so is a last line
 * without its newline that does not parse (a line being written).
 * Returns 0, or -1 with *why set.
 */
static int
suggest_cli_feed(struct suggest *sg, gzFile gz, const char **why)
{
	char *line = NULL, *more;
	size_t len = 0, cap = 0;
	bool skipping = false;
	char buf[SUGGEST_CLI_READ];
	int n, rc = -1;

	while ((n = gzread(gz, buf, sizeof(buf))) > 0) {
		for (const char *p = buf, *end = buf + n; p < end;) {
			const char *nl = memchr(p, '\n', (size_t)(end - p));
			size_t k = (size_t)((nl != NULL ? nl : end) - p);

			if (!skipping && len + k > SUGGEST_CLI_LINE_MAX) {
				skipping = true;
				len = 0;
			}
			if (!skipping) {
				if (len + k > cap) {
					size_t c = cap > 0 ? cap : 4096;

					while (c < len + k)
						c *= 2;
					if ((more = realloc(line, c)) == NULL)
						goto oom;
					line = more;
					cap = c;
				}
				memcpy(line + len, p, k);
				len += k;
			}
			p += k;
			if (nl == NULL)
				break;
			p++;
			if (skipping) {
				/* Counted as a line that is not JSON. */
				if (suggest_add_line(sg, "", 0) == -2)
					goto oom;
			} else if (suggest_add_line(sg, line, len) == -2) {
				goto oom;
			}
			skipping = false;
			len = 0;
		}
	}
	if (n < 0) {
		*why = suggest_cli_gzerror(gz);
		goto done;
	}
	/* A gzip stream cut short reads as a clean end, but for this. */
	(void)gzerror(gz, &n);
	if (n == Z_BUF_ERROR) {
		*why = "gzip stream cut short";
		goto done;
	}
	if ((len > 0 || skipping) &&
	    suggest_add_line(sg, skipping ? "" : line, skipping ? 0 : len) ==
	        -2)
		goto oom;
	rc = 0;
	goto done;
oom:
	*why = "out of memory";
done:
	free(line);
	return rc;
}

int
suggest_cli_run(const char *config_path, int nfiles, char *const files[])
{
	char err[SUGGEST_CLI_CONFIG_ERR_MAX];
	struct config *cfg;
	struct suggest *sg = NULL;
	char *text = NULL;
	size_t text_len = 0;
	int status = 1;

	err[0] = '\0';
	if ((cfg = config_load(config_path, err, sizeof(err))) == NULL) {
		fputs(err, stderr);
		return 1;
	}
	if ((sg = suggest_new()) == NULL) {
		fprintf(stderr, "ocspgate: out of memory\n");
		goto done;
	}
	for (int i = 0; i < nfiles; i++) {
		bool in = strcmp(files[i], "-") == 0;
		const char *why = NULL;
		gzFile gz;
		int fd;

		errno = 0;
		fd = in ? dup(STDIN_FILENO) : -1;
		gz = in ? (fd != -1 ? gzdopen(fd, "rb") : NULL)
		        : gzopen(files[i], "rb");
		if (gz == NULL) {
			if (fd != -1)
				close(fd);
			fprintf(stderr, "ocspgate: %s: cannot read: %s\n",
			    files[i], strerror(errno != 0 ? errno : ENOMEM));
			goto done;
		}
		if (suggest_cli_feed(sg, gz, &why) == -1) {
			fprintf(stderr, "ocspgate: %s: %s\n", files[i], why);
			gzclose(gz);
			goto done;
		}
		gzclose(gz);
	}
	if (suggest_format(sg, cfg, &text, &text_len) == -1) {
		fprintf(stderr, "ocspgate: out of memory\n");
		goto done;
	}
	if (fwrite(text, 1, text_len, stdout) != text_len ||
	    fflush(stdout) != 0) {
		fprintf(stderr, "ocspgate: stdout: %s\n", strerror(errno));
		goto done;
	}
	status = 0;
done:
	free(text);
	suggest_free(sg);
	config_unref(cfg);
	return status;
}
