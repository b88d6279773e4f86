/*
 * test_file.h - the one whole-file reader of the unit tests
 *
 * Tests read back what a trace sink, a MIME writer or a server wrote.
 */
#ifndef HERALD_TEST_FILE_H
#define HERALD_TEST_FILE_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/*
 * test_read_file - all of the file at path, malloc'd and NUL-terminated (a
 * NUL inside stays: *len, when len is not NULL, says how much was read).
 * NULL when it cannot be opened or read, or memory runs out.
 */
static inline char *
test_read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    size_t used = 0, cap = 4096, n;
    char *buf = malloc(cap), *grown;

    if (f == NULL || buf == NULL)
        goto fail;
    while ((n = fread(buf + used, 1, cap - used - 1, f)) > 0) {
        used += n;
        if (used + 1 == cap) {
            if ((grown = realloc(buf, cap * 2)) == NULL)
                goto fail;
            buf = grown;
            cap *= 2;
        }
    }
    if (ferror(f))
        goto fail;
    fclose(f);
    buf[used] = '\0';
    if (len != NULL)
        *len = used;
    return buf;
fail:
    if (f != NULL)
        fclose(f);
    free(buf);
    return NULL;
}

#endif
