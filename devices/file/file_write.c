/*
 * file_write.c - write a body into a folder atomically, never overwriting (file_write.h)
 */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include "file_write.h"

/* Body copy buffer: memory stays flat whatever the message size. */
#define FILE_WRITE_CHUNK (64 * 1024)
/* Temporary names tried before giving up (a clash needs 62^6 bad luck). */
#define FILE_WRITE_TMP_TRIES 100

/* fail - fill err and return status */
static herald_status
fail(struct file_write_err *err, herald_status st, const char *step, const char *dir,
     const char *name, int errnum)
{
    if (err != NULL) {
        err->step = step;
        if (name != NULL)
            snprintf(err->path, sizeof err->path, "%s/%s", dir, name);
        else
            snprintf(err->path, sizeof err->path, "%s", dir);
        err->errnum = errnum;
    }
    return st;
}

/* mkdir_parents - create dir and its missing parents with mode (mkdir -p) */
static int
mkdir_parents(const char *dir, mode_t mode)
{
    char path[PATH_MAX];
    size_t len = strlen(dir), i;

    if (len == 0 || len >= sizeof path) {
        errno = ENAMETOOLONG;
        return -1;
    }
    memcpy(path, dir, len + 1);
    /* One mkdir per component: bounded by the path length. */
    for (i = 1; i <= len; i++) {
        if (path[i] != '/' && path[i] != '\0')
            continue;
        path[i] = '\0';
        if (mkdir(path, mode) != 0 && errno != EEXIST)
            return -1;
        path[i] = i < len ? '/' : '\0';
    }
    return 0;
}

/* open_folder - the target folder as a directory fd, created when allowed */
static int
open_folder(const struct file_write_req *req)
{
    int fd = open(req->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

    if (fd < 0 && errno == ENOENT && req->create) {
        /* The folder's mode follows the files': x wherever r is granted. */
        mode_t dmode = (mode_t)((req->mode | ((req->mode & 0444) >> 2)) & 0777) | 0700;

        if (mkdir_parents(req->dir, dmode) != 0)
            return -1;
        herald_trace_log(req->trace, HERALD_TRACE_INFO, "file", "created folder %s (mode %04o)",
                         req->dir, (unsigned)dmode);
        fd = open(req->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    }
    return fd;
}

/* tmp_create - a new ".tmp-XXXXXX" in the folder, opened O_EXCL */
static int
tmp_create(int dirfd, char name[16])
{
    static const char alphabet[] =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
    static unsigned counter;
    unsigned char rnd[6];
    int tries, i, fd;

    for (tries = 0; tries < FILE_WRITE_TMP_TRIES; tries++) {
        if (getrandom(rnd, sizeof rnd, GRND_NONBLOCK) != (ssize_t)sizeof rnd) {
            /* No entropy yet: O_EXCL still guarantees we never reuse a file. */
            unsigned x = (unsigned)getpid() * 2654435761u + ++counter * 40503u;

            for (i = 0; i < 6; i++)
                rnd[i] = (unsigned char)(x >> (i * 5));
        }
        memcpy(name, ".tmp-", 5);
        for (i = 0; i < 6; i++)
            name[5 + i] = alphabet[rnd[i] % (sizeof alphabet - 1)];
        name[11] = '\0';
        fd = openat(dirfd, name, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
        if (fd >= 0 || errno != EEXIST)
            return fd;
    }
    errno = EEXIST;
    return -1;
}

/* write_all - write n octets, retrying short writes and EINTR */
static int
write_all(int fd, const unsigned char *p, size_t n)
{
    while (n > 0) {
        ssize_t w = write(fd, p, n);

        if (w < 0) {
            if (errno == EINTR)
                continue;
            return -1;
        }
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

/* copy_body - stream the message body into fd; total octets in *total */
static herald_status
copy_body(const struct herald_message *msg, int fd, uint64_t *total, int *errnum,
          const char **step)
{
    struct herald_body_reader *r = NULL;
    unsigned char *buf;
    herald_status st;
    size_t n;

    *errnum = 0;
    *step = "read message body";
    buf = malloc(FILE_WRITE_CHUNK);
    if (buf == NULL)
        return HERALD_E_NOMEM;
    st = herald_body_open(msg, &r);
    while (st == HERALD_OK) {
        st = herald_body_read(r, buf, FILE_WRITE_CHUNK, &n);
        if (st != HERALD_OK || n == 0)
            break;
        if (write_all(fd, buf, n) != 0) {
            *errnum = errno;
            *step = "write";
            st = HERALD_E_IO;
            break;
        }
        *total += n;
    }
    herald_body_close(&r);
    free(buf);
    return st;
}

/* place - give the temp file the name cand without replacing anything */
static int
place(int dirfd, const char *tmp, const char *cand, bool *tmp_gone)
{
    if (linkat(dirfd, tmp, dirfd, cand, 0) == 0)
        return 0;
    if (errno != EPERM && errno != EOPNOTSUPP && errno != ENOSYS)
        return errno;
    /* File systems without hard links: an exclusive rename does the same. */
    if (renameat2(dirfd, tmp, dirfd, cand, RENAME_NOREPLACE) == 0) {
        *tmp_gone = true;
        return 0;
    }
    return errno;
}

/* place_final - link to name, or name.1 .. name.N when taken; the name used in final */
static int
place_final(int dirfd, const char *tmp, const char *name, char *final, size_t size,
            bool *tmp_gone)
{
    int e, i;

    for (i = 0; i <= FILE_WRITE_MAX_SUFFIX; i++) {
        int n = i == 0 ? snprintf(final, size, "%s", name)
                       : snprintf(final, size, "%s.%d", name, i);

        if (n < 0 || (size_t)n >= size)
            return ENAMETOOLONG;
        e = place(dirfd, tmp, final, tmp_gone);
        if (e != EEXIST)
            return e;
    }
    return EEXIST;
}

/* file_write - temp file, mode, body, fsync, link (no overwrite), unlink temp, fsync folder */
herald_status
file_write(const struct file_write_req *req, char *final_out, size_t size,
           struct file_write_err *err)
{
    char tmp[16] = "", final[NAME_MAX + 1] = "";
    const char *step = NULL, *errname = NULL;
    herald_status st = HERALD_E_IO;
    bool tmp_made = false, tmp_gone = false, linked = false;
    uint64_t total = 0;
    int dirfd, fd = -1, e = 0, n;

    if (req == NULL || req->dir == NULL || req->name == NULL || req->msg == NULL ||
        final_out == NULL)
        return HERALD_E_INVAL;
    dirfd = open_folder(req);
    if (dirfd < 0)
        return fail(err, HERALD_E_IO, "open folder", req->dir, NULL, errno);

    fd = tmp_create(dirfd, tmp);
    if (fd < 0) {
        e = errno;
        step = "create temporary file in";
        goto out;
    }
    tmp_made = true;
    herald_trace_log(req->trace, HERALD_TRACE_DEBUG, "file", "writing %s/%s", req->dir, tmp);
    if (fchmod(fd, (mode_t)(req->mode & 07777)) != 0) {
        e = errno;
        step = "set mode of";
        goto out;
    }
    st = copy_body(req->msg, fd, &total, &e, &step);
    if (st != HERALD_OK)
        goto out;
    st = HERALD_E_IO;
    /* Durable before it gets a name: a reader never sees a partial file. */
    if (fsync(fd) != 0) {
        e = errno;
        step = "fsync";
        goto out;
    }
    n = close(fd);
    fd = -1;
    if (n != 0) {
        e = errno;
        step = "close";
        goto out;
    }
    e = place_final(dirfd, tmp, req->name, final, sizeof final, &tmp_gone);
    if (e != 0) {
        step = e == EEXIST ? "find a free name (every suffix taken) for" : "link final name";
        if (e == EEXIST)
            st = HERALD_E_LIMIT;
        errname = req->name;
        goto out;
    }
    linked = true;
    if (!tmp_gone) {
        if (unlinkat(dirfd, tmp, 0) != 0) {
            e = errno;
            step = "remove temporary file";
            goto out;
        }
        tmp_gone = true;
    }
    /* The new directory entry itself must survive a crash. */
    if (fsync(dirfd) != 0) {
        e = errno;
        step = "fsync folder";
        goto out;
    }
    n = snprintf(final_out, size, "%s/%s", req->dir, final);
    if (n < 0 || (size_t)n >= size) {
        e = ENAMETOOLONG;
        step = "report final path of";
        goto out;
    }
    herald_trace_log(req->trace, HERALD_TRACE_DEBUG, "file", "%llu octets, fsync'd, linked as %s",
                     (unsigned long long)total, final_out);
    close(dirfd);
    return HERALD_OK;

out:
    if (fd >= 0)
        close(fd);
    /* Leave nothing behind: a deferred message will be written again later. */
    if (linked)
        unlinkat(dirfd, final, 0);
    if (tmp_made && !tmp_gone)
        unlinkat(dirfd, tmp, 0);
    close(dirfd);
    if (st == HERALD_OK)
        st = HERALD_E_IO;
    if (errname == NULL)
        errname = linked ? final : (tmp_made ? tmp : NULL);
    return fail(err, st, step, req->dir, errname, e);
}
