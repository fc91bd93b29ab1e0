/*
 * Reading a whole file (the config, the inventory) into memory.
 */
#ifndef OCSPGATE_FILE_H
#define OCSPGATE_FILE_H

#include <stddef.h>

/*
 * Reads <path> to its end (it may be a pipe), at most <max_bytes>, into
 * a malloc'd, NUL-terminated *text of *len bytes. Returns 0, or an errno
 * value (EISDIR for a directory, EFBIG past <max_bytes>) with nothing
 * allocated.
 */
int file_read(const char *path, size_t max_bytes, char **text, size_t *len);

#endif
