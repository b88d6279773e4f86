/*
 * spool_write.c - write queue files into tmp/ (spool_write.h)
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "spool_file.h"
#include "spool_seg.h"
#include "spool_write.h"

#define SPOOL_COPY_CHUNK (64 * 1024)

/* pwrite_all - len octets at off; 0 or errno */
static int
pwrite_all(int fd, const char *p, size_t len, uint64_t off)
{
    while (len > 0) {
        ssize_t n = pwrite(fd, p, len, (off_t)off);

        if (n > 0) {
            p += n;
            len -= (size_t)n;
            off += (uint64_t)n;
        } else if (n == 0 || errno != EINTR) {
            return n < 0 ? errno : EIO;
        }
    }
    return 0;
}

struct spool_wseg *
spool_wseg_new(const char *name)
{
    struct spool_wseg *w = calloc(1, sizeof *w);

    if (w == NULL)
        return NULL;
    snprintf(w->name, sizeof w->name, "%s", name);
    w->fd = -1;
    w->refs = 1;
    return w;
}

/* flush - the held images into tmp/NAME (made on the first flush) */
static int
flush(struct spool_wseg *w, int tmpdir)
{
    int err;

    if (w->fd < 0) {
        w->fd = openat(tmpdir, w->name, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
        if (w->fd < 0)
            return errno;
    }
    err = pwrite_all(w->fd, w->buf, w->len, SPOOL_SEG_HEAD_LEN + w->written);
    if (err != 0)
        return err;
    w->written += w->len;
    w->len = 0;
    return 0;
}

int
spool_wseg_add(struct spool_wseg *w, int tmpdir, const char *image, size_t len)
{
    if (w->err != 0)
        return w->err;
    if (w->count == w->offcap) {
        size_t cap = w->offcap ? w->offcap * 2 : 64;
        uint64_t *o = realloc(w->offs, cap * sizeof *o);

        if (o == NULL)
            return ENOMEM;
        w->offs = o;
        w->offcap = cap;
    }
    if (w->len + len > w->cap) {
        size_t cap = w->cap ? w->cap : 64 * 1024;
        char *b;

        while (cap < w->len + len)
            cap *= 2;
        b = realloc(w->buf, cap);
        if (b == NULL)
            return ENOMEM;
        w->buf = b;
        w->cap = cap;
    }
    w->offs[w->count] = SPOOL_SEG_HEAD_LEN + w->written + w->len;
    memcpy(w->buf + w->len, image, len);
    w->len += len;
    w->count++;
    if (w->len >= SPOOL_WRITE_HELD)
        w->err = flush(w, tmpdir);
    return w->err;
}

/* index_line - "index OFF0 ... OFFN-1\n" after the images */
static char *
index_line(const struct spool_wseg *w, size_t *len_out)
{
    char *s = NULL;
    size_t len = 0, k;
    FILE *f = open_memstream(&s, &len);

    if (f == NULL)
        return NULL;
    fputs("index", f);
    for (k = 0; k < w->count; k++)
        fprintf(f, " %" PRIu64, w->offs[k]);
    fputc('\n', f);
    if (ferror(f)) {
        fclose(f);
        free(s);
        return NULL;
    }
    if (fclose(f) != 0) {
        free(s);
        return NULL;
    }
    *len_out = len;
    return s;
}

int
spool_wseg_seal(struct spool_wseg *w, int tmpdir)
{
    char head[SPOOL_SEG_HEAD_LEN + 1], *index;
    size_t ilen = 0;
    uint64_t at;
    int err;

    if (w->err != 0 || w->sealed)
        return w->err;
    if (w->count == 1 && w->fd < 0) {
        /* One message: a file of its own, named by its id. */
        spool_seg_id(w->file, w->name, 0);
        err = spool_write_new(tmpdir, w->file, w->buf, w->len);
    } else {
        snprintf(w->file, sizeof w->file, "%s", w->name);
        err = flush(w, tmpdir);
        at = SPOOL_SEG_HEAD_LEN + w->written;
        index = err == 0 ? index_line(w, &ilen) : NULL;
        if (err == 0 && index == NULL)
            err = ENOMEM;
        if (err == 0)
            err = pwrite_all(w->fd, index, ilen, at);
        free(index);
        /* The header last: a count and index only once all is written. */
        snprintf(head, sizeof head, SPOOL_SEG_MAGIC SPOOL_SEG_HEAD_FMT, w->count, at);
        if (err == 0)
            err = pwrite_all(w->fd, head, SPOOL_SEG_HEAD_LEN, 0);
        if (close(w->fd) != 0 && err == 0)
            err = errno;
        w->fd = -1;
    }
    free(w->buf);
    w->buf = NULL;
    w->len = w->cap = 0;
    if (err != 0) {
        w->err = err;
        return err;
    }
    w->sealed = true;
    return 0;
}

void
spool_wseg_drop(struct spool_wseg *w, int tmpdir)
{
    char single[HERALD_QUEUE_ID_SIZE];

    if (w->done)
        return;
    if (w->fd >= 0)
        close(w->fd);
    w->fd = -1;
    unlinkat(tmpdir, w->name, 0);
    spool_seg_id(single, w->name, 0);
    unlinkat(tmpdir, single, 0);
    w->done = true;
}

void
spool_wseg_unref(struct spool_wseg *w)
{
    if (w == NULL || --w->refs > 0)
        return;
    if (w->fd >= 0)
        close(w->fd);
    free(w->buf);
    free(w->offs);
    free(w);
}

/* write_body - msg's body into f */
static int
write_body(FILE *f, const struct herald_message *msg)
{
    struct herald_body_reader *r = NULL;
    char *buf = malloc(SPOOL_COPY_CHUNK);
    size_t n;
    int rc = -1;

    if (buf == NULL || herald_body_open(msg, &r) != HERALD_OK)
        goto out;
    for (;;) {
        if (herald_body_read(r, buf, SPOOL_COPY_CHUNK, &n) != HERALD_OK)
            goto out;
        if (n == 0)
            break;
        if (fwrite(buf, 1, n, f) != n)
            goto out;
    }
    rc = 0;
out:
    herald_body_close(&r);
    free(buf);
    return rc;
}

int
spool_write_large(int tmpdir, const char *name, const struct herald_queue_entry *entry,
                  const struct herald_message *msg)
{
    int fd, err;
    FILE *f;

    fd = openat(tmpdir, name, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0)
        return errno;
    f = fdopen(fd, "w");
    if (f == NULL) {
        err = errno;
        close(fd);
        unlinkat(tmpdir, name, 0);
        return err;
    }
    errno = 0;
    if (spool_write_header(f, entry) != 0 || write_body(f, msg) != 0 ||
        fwrite(SPOOL_END_MARK, 1, SPOOL_END_LEN, f) != SPOOL_END_LEN || fflush(f) != 0) {
        err = errno ? errno : EIO;
        fclose(f);
        unlinkat(tmpdir, name, 0);
        return err;
    }
    if (fclose(f) != 0) {
        err = errno;
        unlinkat(tmpdir, name, 0);
        return err;
    }
    return 0;
}

char *
spool_image(const struct herald_queue_entry *entry, const struct herald_message *msg,
            size_t *len_out)
{
    struct herald_body_reader *r = NULL;
    char *head = NULL, *image = NULL, probe;
    size_t hlen = 0, got = 0, n = 0;
    FILE *f = open_memstream(&head, &hlen);

    if (f == NULL)
        return NULL;
    if (spool_write_header(f, entry) != 0) {
        fclose(f);
        free(head);
        return NULL;
    }
    if (fclose(f) != 0 || (image = malloc(hlen + entry->size + SPOOL_END_LEN)) == NULL ||
        herald_body_open(msg, &r) != HERALD_OK)
        goto fail;
    memcpy(image, head, hlen);
    /* Exactly size octets: the header said so. */
    while (got < entry->size) {
        if (herald_body_read(r, image + hlen + got, entry->size - got, &n) != HERALD_OK ||
            n == 0)
            goto fail;
        got += n;
    }
    if (herald_body_read(r, &probe, 1, &n) != HERALD_OK || n != 0)
        goto fail;
    memcpy(image + hlen + got, SPOOL_END_MARK, SPOOL_END_LEN);
    herald_body_close(&r);
    free(head);
    *len_out = hlen + got + SPOOL_END_LEN;
    return image;
fail:
    herald_body_close(&r);
    free(head);
    free(image);
    return NULL;
}

int
spool_write_new(int tmpdir, const char *name, const char *image, size_t len)
{
    size_t off = 0;
    int fd = openat(tmpdir, name, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600), err = 0;

    if (fd < 0)
        return errno;
    while (off < len && err == 0) {
        ssize_t n = write(fd, image + off, len - off);

        if (n > 0)
            off += (size_t)n;
        else if (n == 0 || errno != EINTR)
            err = n < 0 ? errno : EIO;
    }
    if (close(fd) != 0 && err == 0)
        err = errno;
    if (err != 0)
        unlinkat(tmpdir, name, 0);
    return err;
}
