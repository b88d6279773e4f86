/*
 * replay.c - run a fuzz harness over its seed corpus, without libFuzzer
 *
 *   fuzz_NAME [FILE-OR-FOLDER ...]
 *
 * Every file named, and every file of every folder named (sorted by name,
 * dot files skipped), is read and fed to LLVMFuzzerTestOneInput once, as
 * libFuzzer would (in a heap block of exactly its size).  Without arguments
 * the corpus is $HERALD_SRC_DIR/tests/fuzz/corpus/NAME (the source tree
 * compiled in when HERALD_SRC_DIR is not set), which is what "make check"
 * runs.  A harness reports a violated invariant by aborting; a missing or
 * empty corpus is a hard error (exit 99): the test never passes by skipping.
 */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "fuzz.h"

#ifndef FUZZ_CORPUS
#error "FUZZ_CORPUS (the corpus folder name) must be defined"
#endif
#ifndef FUZZ_SRCDIR
#define FUZZ_SRCDIR "."
#endif

#define HARD_ERROR 99

/* run_file - feed one file to the harness; 0, or HARD_ERROR when unreadable */
static int
run_file(const char *path, size_t *count)
{
    FILE *f = fopen(path, "rb");
    unsigned char *buf = NULL, *copy;
    size_t len = 0, cap = 0, n;

    if (f == NULL) {
        fprintf(stderr, "replay: %s: %s\n", path, strerror(errno));
        return HARD_ERROR;
    }
    for (;;) {
        if (len == cap) {
            cap = cap ? 2 * cap : 4096;
            buf = realloc(buf, cap);
            if (buf == NULL)
                abort();
        }
        n = fread(buf + len, 1, cap - len, f);
        len += n;
        if (n == 0)
            break;
    }
    if (ferror(f)) {
        fprintf(stderr, "replay: %s: read error\n", path);
        fclose(f);
        free(buf);
        return HARD_ERROR;
    }
    fclose(f);
    /* An exact-size copy: a read one octet past the input is caught. */
    copy = fuzz_alloc(len);
    if (len > 0)
        memcpy(copy, buf, len);
    free(buf);
    (void)LLVMFuzzerTestOneInput(copy, len);
    free(copy);
    (*count)++;
    return 0;
}

/* by_name - qsort order for file names */
static int
by_name(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* run_dir - feed every regular file of dir, in name order */
static int
run_dir(const char *dir, size_t *count)
{
    DIR *d = opendir(dir);
    struct dirent *de;
    char **names = NULL;
    size_t n = 0, cap = 0, i;
    int rc = 0;

    if (d == NULL) {
        fprintf(stderr, "replay: %s: %s\n", dir, strerror(errno));
        return HARD_ERROR;
    }
    while ((de = readdir(d)) != NULL) {
        if (de->d_name[0] == '.')
            continue;
        if (n == cap) {
            cap = cap ? 2 * cap : 64;
            names = realloc(names, cap * sizeof *names);
            if (names == NULL)
                abort();
        }
        names[n] = strdup(de->d_name);
        if (names[n] == NULL)
            abort();
        n++;
    }
    closedir(d);
    if (n > 0)
        qsort(names, n, sizeof *names, by_name);
    for (i = 0; i < n; i++) {
        size_t plen = strlen(dir) + strlen(names[i]) + 2;
        char *path = fuzz_alloc(plen);
        struct stat st;

        snprintf(path, plen, "%s/%s", dir, names[i]);
        if (rc == 0 && stat(path, &st) == 0 && S_ISREG(st.st_mode))
            rc = run_file(path, count);
        free(path);
        free(names[i]);
    }
    free(names);
    return rc;
}

/* run_path - a file or a folder */
static int
run_path(const char *path, size_t *count)
{
    struct stat st;

    if (stat(path, &st) != 0) {
        fprintf(stderr, "replay: %s: %s\n", path, strerror(errno));
        return HARD_ERROR;
    }
    return S_ISDIR(st.st_mode) ? run_dir(path, count) : run_file(path, count);
}

int
main(int argc, char **argv)
{
    size_t count = 0;
    int i, rc = 0;
    static const uint8_t empty[1];

    /* The empty input first: every harness must take it. */
    (void)LLVMFuzzerTestOneInput(empty, 0);
    if (argc < 2) {
        const char *src = getenv("HERALD_SRC_DIR");
        size_t plen;
        char *dir;

        if (src == NULL || *src == '\0')
            src = FUZZ_SRCDIR;
        plen = strlen(src) + sizeof "/tests/fuzz/corpus/" + sizeof FUZZ_CORPUS;
        dir = fuzz_alloc(plen);
        snprintf(dir, plen, "%s/tests/fuzz/corpus/%s", src, FUZZ_CORPUS);
        rc = run_path(dir, &count);
        free(dir);
    }
    for (i = 1; i < argc && rc == 0; i++)
        rc = run_path(argv[i], &count);
    if (rc != 0)
        return rc;
    if (count == 0) {
        fprintf(stderr, "replay: %s: no input found (an empty corpus tests nothing)\n",
                FUZZ_CORPUS);
        return HARD_ERROR;
    }
    printf("replay: %s: %zu inputs, every invariant held\n", FUZZ_CORPUS, count);
    return 0;
}
