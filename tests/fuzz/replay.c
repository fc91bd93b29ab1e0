/*
 * Replays a fuzz target's corpus without libFuzzer: every file under the
 * directories (or the files) named on the command line is fed once to
 * LLVMFuzzerTestOneInput(). Lets `make test` run the corpora under any
 * compiler and sanitizer.
 */
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int
replay_file(const char *path)
{
	FILE *f;
	unsigned char *buf = NULL;
	long n;
	int rc = -1;

	if ((f = fopen(path, "rb")) == NULL)
		return -1;
	if (fseek(f, 0, SEEK_END) == -1 || (n = ftell(f)) < 0 ||
	    fseek(f, 0, SEEK_SET) == -1)
		goto done;
	if ((buf = malloc(n > 0 ? (size_t)n : 1)) == NULL)
		goto done;
	if (n > 0 && fread(buf, 1, (size_t)n, f) != (size_t)n)
		goto done;
	LLVMFuzzerTestOneInput(buf, (size_t)n);
	rc = 0;
done:
	free(buf);
	fclose(f);
	return rc;
}

int
main(int argc, char **argv)
{
	unsigned files = 0, failed = 0;

	for (int i = 1; i < argc; i++) {
		struct stat st;
		DIR *d;
		struct dirent *e;
		char path[4096];

		if (stat(argv[i], &st) == -1) {
			fprintf(stderr, "%s: cannot stat\n", argv[i]);
			failed++;
			continue;
		}
		if (!S_ISDIR(st.st_mode)) {
			files++;
			failed += replay_file(argv[i]) != 0;
			continue;
		}
		if ((d = opendir(argv[i])) == NULL) {
			failed++;
			continue;
		}
		while ((e = readdir(d)) != NULL) {
			if (e->d_name[0] == '.')
				continue;
			snprintf(
			    path, sizeof(path), "%s/%s", argv[i], e->d_name);
			files++;
			failed += replay_file(path) != 0;
		}
		closedir(d);
	}
	printf("%u passed, %u failed\n", files - failed, failed);
	return failed == 0 && files > 0 ? 0 : 1;
}
