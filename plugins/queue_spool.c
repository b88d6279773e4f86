/*
 * queue_spool.c - the "spool" queue module: one file per message in a folder
 *
 *   PATH/tmp/ID   being written (never read as queued; its writer holds a lock)
 *   PATH/q/ID     queued: header, body, end mark, appended state records
 *   PATH/bad/ID   set aside as corrupt, with PATH/bad/ID.why saying why
 *
 * Enqueue: each message is made whole in memory and written to tmp/ with one
 * write (a body larger than SPOOL_IMAGE_MAX is copied from its reader
 * instead), not synced; commit syncs the file system once for the whole
 * batch (syncfs: one journal commit for many files), renames every file into
 * q/ and syncs the folder once.  A crash before the rename leaves only tmp/
 * files, which the next opener removes once their writer is gone (its pid is
 * part of the id).  Nothing is acknowledged before that sync.
 *
 * Runner: claim opens q/ID and takes flock(LOCK_EX|LOCK_NB) on it, so two
 * runners never deliver the same message (the lock dies with its process);
 * a file unlinked between open and lock is seen by its link count.  State
 * changes are appended records, synced in one batch (sync) before the claim
 * is released; a finished message is unlinked and the folder synced.  Its
 * descriptor goes to the reaper (spool_reap.h), whose threads pay for the
 * last close, which frees the blocks (a synchronous discard on some disks).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include <herald/message.h>
#include <herald/module.h>
#include <herald/queue.h>
#include <herald/trace.h>

#include "spool_file.h"
#include "spool_reap.h"

#ifndef HERALD_LOCALSTATEDIR
#define HERALD_LOCALSTATEDIR "/var"
#endif
#define SPOOL_DEFAULT_PATH HERALD_LOCALSTATEDIR "/spool/herald"
#define SPOOL_PATH_MAX (PATH_MAX - 64)
#define SPOOL_COPY_CHUNK (64 * 1024)
#define SPOOL_WAIT_MS 5000          /* HERALD_QUEUE_WAIT: how long for another's lock */
#define SPOOL_IMAGE_MAX (1u << 20)  /* larger messages are written in place, not in memory */

struct spool_options {
    struct herald_queue_policy policy;   /* first: the core reads it (queue.h) */
    const char *path;
};

static const struct spool_options spool_defaults = {
    .policy = HERALD_QUEUE_POLICY_DEFAULTS,
    .path = NULL,
};

#define O(member) offsetof(struct spool_options, member)
static const struct herald_option spool_option_table[] = {
    { "path", HERALD_OPT_STRING, O(path), 0, 0, 0, NULL, NULL, 0, NULL,
      "spool folder (absolute; default " SPOOL_DEFAULT_PATH ")" },
    HERALD_QUEUE_POLICY_OPTIONS(struct spool_options),
    HERALD_OPT_END
};
#undef O

struct spool {
    char path[SPOOL_PATH_MAX];
    int qdir;                       /* q/, for fsync and openat */
    int tmpdir;
    int baddir;
    const struct herald_trace *trace;
    unsigned counter;               /* ids made by this process */
    bool dirty;                     /* staged updates or removes await sync */
    struct spool_reap *reap;        /* closes removed files (frees their blocks) */
};

struct spool_staged {
    char id[HERALD_QUEUE_ID_SIZE];
};

struct spool_claim {
    struct spool *sp;
    int fd;
    bool locked;
    struct spool_parsed parsed;
    struct herald_queue_rcpt *saved;  /* the states as last recorded, to append only changes */
    bool saved_held, saved_warned;
    bool removed;                   /* unlinked: the last close frees its blocks */
};

struct spool_cursor {
    DIR *dir;
};

/* spool_check - an absolute path, min <= max */
static herald_status
spool_check(const void *options, struct herald_diag *diag)
{
    const struct spool_options *o = options;

    if (o->path != NULL && (o->path[0] != '/' || strlen(o->path) >= SPOOL_PATH_MAX))
        return herald_diag_set(diag, HERALD_E_CONFIG, "",
                               "option \"path\": the spool folder must be an absolute path");
    return herald_queue_policy_check(&o->policy, diag);
}

/* check_dir - ours, a folder, not writable by group or others */
static herald_status
check_dir(const char *path, struct herald_diag *diag)
{
    struct stat sb;

    if (stat(path, &sb) != 0)
        return herald_diag_set(diag, HERALD_E_CONFIG, path, "spool folder: %s%s",
                               strerror(errno), errno == ENOENT ? " (create it, mode 0700)" : "");
    if (!S_ISDIR(sb.st_mode))
        return herald_diag_set(diag, HERALD_E_CONFIG, path, "spool folder: not a folder");
    if (sb.st_uid != geteuid())
        return herald_diag_set(diag, HERALD_E_CONFIG, path,
                               "spool folder: owned by uid %u, not by the effective user "
                               "(uid %u)", (unsigned)sb.st_uid, (unsigned)geteuid());
    if (sb.st_mode & (S_IWGRP | S_IWOTH))
        return herald_diag_set(diag, HERALD_E_CONFIG, path,
                               "spool folder: writable by group or others (mode %04o)",
                               (unsigned)(sb.st_mode & 07777));
    if (access(path, W_OK | X_OK) != 0)
        return herald_diag_set(diag, HERALD_E_CONFIG, path, "spool folder: not writable: %s",
                               strerror(errno));
    return HERALD_OK;
}

/* open_sub - PATH/NAME, made if missing (mode 0700), checked like PATH */
static herald_status
open_sub(const char *path, const char *name, int *fd_out, struct herald_diag *diag)
{
    char sub[PATH_MAX];
    herald_status st;
    int fd;

    snprintf(sub, sizeof sub, "%s/%s", path, name);
    if (mkdir(sub, 0700) != 0 && errno != EEXIST)
        return herald_diag_set(diag, HERALD_E_CONFIG, sub, "cannot create: %s",
                               strerror(errno));
    st = check_dir(sub, diag);
    if (st != HERALD_OK)
        return st;
    fd = open(sub, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0)
        return herald_diag_set(diag, HERALD_E_IO, sub, "cannot open: %s", strerror(errno));
    *fd_out = fd;
    return HERALD_OK;
}

/* writer_gone - the process that made id (its pid is id[14..19]) is no more */
static bool
writer_gone(const char *id)
{
    char hex[7];
    long pid;

    if (strlen(id) < 24)
        return true;
    memcpy(hex, id + 14, 6);
    hex[6] = '\0';
    pid = strtol(hex, NULL, 16);
    return pid <= 0 || (kill((pid_t)pid, 0) != 0 && errno == ESRCH);
}

/* clean_tmp - remove files left in tmp/ by writers that died before commit */
static void
clean_tmp(struct spool *sp)
{
    int fd = dup(sp->tmpdir);
    DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
    struct dirent *de;

    if (d == NULL) {
        if (fd >= 0)
            close(fd);
        return;
    }
    while ((de = readdir(d)) != NULL) {
        if (de->d_name[0] == '.' || !writer_gone(de->d_name))
            continue;
        if (unlinkat(sp->tmpdir, de->d_name, 0) == 0)
            herald_trace_log(sp->trace, HERALD_TRACE_INFO, "queue",
                             "removed %s/tmp/%s: its writer died before it was queued",
                             sp->path, de->d_name);
    }
    closedir(d);
}

static void spool_close(void *state);

/* spool_open - check the folder, make its sub-folders */
static herald_status
spool_open(const void *options, const struct herald_trace *trace, void **state_out,
           struct herald_diag *diag)
{
    const struct spool_options *o = options;
    struct spool *sp;
    herald_status st;

    sp = calloc(1, sizeof *sp);
    if (sp == NULL)
        return herald_diag_set(diag, HERALD_E_NOMEM, "", "out of memory");
    sp->qdir = sp->tmpdir = sp->baddir = -1;
    sp->trace = trace;
    snprintf(sp->path, sizeof sp->path, "%s",
             o != NULL && o->path != NULL ? o->path : SPOOL_DEFAULT_PATH);
    st = check_dir(sp->path, diag);
    if (st == HERALD_OK)
        st = open_sub(sp->path, "q", &sp->qdir, diag);
    if (st == HERALD_OK)
        st = open_sub(sp->path, "tmp", &sp->tmpdir, diag);
    if (st == HERALD_OK)
        st = open_sub(sp->path, "bad", &sp->baddir, diag);
    if (st != HERALD_OK) {
        spool_close(sp);
        return st;
    }
    clean_tmp(sp);
    sp->reap = spool_reap_new();
    *state_out = sp;
    return HERALD_OK;
}

static void
spool_close(void *state)
{
    struct spool *sp = state;

    if (sp == NULL)
        return;
    spool_reap_free(sp->reap);
    if (sp->qdir >= 0)
        close(sp->qdir);
    if (sp->tmpdir >= 0)
        close(sp->tmpdir);
    if (sp->baddir >= 0)
        close(sp->baddir);
    free(sp);
}

/* make_id - time (sortable), pid (for clean_tmp), counter: unique per spool */
static void
make_id(struct spool *sp, char id[HERALD_QUEUE_ID_SIZE])
{
    struct timeval tv;

    gettimeofday(&tv, NULL);
    snprintf(id, HERALD_QUEUE_ID_SIZE, "%09llX%05lX%06lX%04X",
             (unsigned long long)tv.tv_sec & 0xFFFFFFFFFull, (unsigned long)tv.tv_usec,
             (unsigned long)getpid() & 0xFFFFFFul, sp->counter++ & 0xFFFFu);
}

/* io_fail - an I/O error as a status: a full disk says so */
static herald_status
io_fail(struct herald_diag *diag, const struct spool *sp, const char *what, int err)
{
    return herald_diag_set(diag, HERALD_E_IO, sp->path, "%s: %s%s", what, strerror(err),
                           err == ENOSPC || err == EDQUOT ? " (the spool's disk is full)" : "");
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

/* put_in_place - a message too large to hold in memory: written to tmp/ from its reader */
static int
put_in_place(struct spool *sp, struct spool_staged *stg, const struct herald_queue_entry *entry,
             const struct herald_message *msg)
{
    int fd, err;
    FILE *f;

    fd = openat(sp->tmpdir, stg->id, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0)
        return errno;
    f = fdopen(fd, "w");
    if (f == NULL) {
        err = errno;
        close(fd);
        unlinkat(sp->tmpdir, stg->id, 0);
        return err;
    }
    errno = 0;
    if (spool_write_header(f, entry) != 0 || write_body(f, msg) != 0 ||
        fwrite(SPOOL_END_MARK, 1, SPOOL_END_LEN, f) != SPOOL_END_LEN || fflush(f) != 0) {
        err = errno ? errno : EIO;
        fclose(f);
        unlinkat(sp->tmpdir, stg->id, 0);
        return err;
    }
    if (fclose(f) != 0) {
        err = errno;
        unlinkat(sp->tmpdir, stg->id, 0);
        return err;
    }
    return 0;
}

/* make_image - the whole file in one allocation: header, body, end mark */
static char *
make_image(const struct herald_queue_entry *entry, const struct herald_message *msg,
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

/* write_image - the image as tmp/ID, in one write; 0 or errno (nothing left) */
static int
write_image(struct spool *sp, const char *id, const char *image, size_t len)
{
    size_t off = 0;
    int fd = openat(sp->tmpdir, id, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600), err = 0;

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
        unlinkat(sp->tmpdir, id, 0);
    return err;
}

/* spool_put - write tmp/ID whole; unlinked again on any error */
static herald_status
spool_put(void *state, struct herald_queue_entry *entry, const struct herald_message *msg,
          void **staged_out, struct herald_diag *diag)
{
    struct spool *sp = state;
    struct spool_staged *stg;
    char *image;
    size_t len = 0;
    int err;

    stg = calloc(1, sizeof *stg);
    if (stg == NULL)
        return herald_diag_set(diag, HERALD_E_NOMEM, sp->path, "out of memory");
    make_id(sp, entry->id);
    snprintf(stg->id, sizeof stg->id, "%s", entry->id);
    if (entry->size > SPOOL_IMAGE_MAX) {
        err = put_in_place(sp, stg, entry, msg);
    } else if ((image = make_image(entry, msg, &len)) == NULL) {
        free(stg);
        return herald_diag_set(diag, HERALD_E_NOMEM, sp->path,
                               "cannot make the queue file: out of memory or unreadable body");
    } else {
        err = write_image(sp, stg->id, image, len);
        free(image);
    }
    if (err != 0) {
        free(stg);
        return io_fail(diag, sp, "cannot write the queue file", err);
    }
    *staged_out = stg;
    return HERALD_OK;
}

/* sync_all - one sync for everything written to the spool's file system */
static int
sync_all(struct spool *sp)
{
#ifdef __linux__
    /* One journal commit for the whole batch; since Linux 5.8 it also
     * reports a write-back error of any file in it. */
    return syncfs(sp->qdir);
#else
    sync();
    return fsync(sp->qdir);
#endif
}

/* spool_abort - drop staged files */
static void
spool_abort(void *state, void *const *staged, size_t count)
{
    struct spool *sp = state;
    size_t i;

    for (i = 0; i < count; i++) {
        struct spool_staged *stg = staged[i];

        if (stg == NULL)
            continue;
        unlinkat(sp->tmpdir, stg->id, 0);
        free(stg);
    }
}

/* unrename - staged[0..n) back from q/ to tmp/ */
static void
unrename(struct spool *sp, void *const *staged, size_t n)
{
    size_t j;

    for (j = 0; j < n; j++) {
        const struct spool_staged *stg = staged[j];

        renameat(sp->qdir, stg->id, sp->tmpdir, stg->id);
    }
}

/* spool_commit - sync the data, rename into q/, sync the folder; all or nothing */
static herald_status
spool_commit(void *state, void *const *staged, size_t count, struct herald_diag *diag)
{
    struct spool *sp = state;
    size_t i;
    int err;

    if (count == 0)
        return HERALD_OK;
    if (sync_all(sp) != 0) {
        err = errno;
        spool_abort(sp, staged, count);
        return io_fail(diag, sp, "cannot sync the queue files", err);
    }
    for (i = 0; i < count; i++) {
        const struct spool_staged *stg = staged[i];

        if (renameat(sp->tmpdir, stg->id, sp->qdir, stg->id) != 0) {
            err = errno;
            unrename(sp, staged, i);   /* none of the batch may stay queued */
            spool_abort(sp, staged, count);
            return io_fail(diag, sp, "cannot move a queue file into q/", err);
        }
    }
    if (fsync(sp->qdir) != 0) {
        err = errno;
        unrename(sp, staged, count);
        spool_abort(sp, staged, count);
        return io_fail(diag, sp, "cannot sync the queue folder", err);
    }
    for (i = 0; i < count; i++)
        free(staged[i]);
    return HERALD_OK;
}

/* spool_scan_open - stream q/ */
static herald_status
spool_scan_open(void *state, void **cursor_out, struct herald_diag *diag)
{
    struct spool *sp = state;
    struct spool_cursor *c = calloc(1, sizeof *c);
    int fd;

    if (c == NULL)
        return herald_diag_set(diag, HERALD_E_NOMEM, sp->path, "out of memory");
    fd = openat(sp->qdir, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    c->dir = fd >= 0 ? fdopendir(fd) : NULL;
    if (c->dir == NULL) {
        int err = errno;

        if (fd >= 0)
            close(fd);
        free(c);
        return io_fail(diag, sp, "cannot read q/", err);
    }
    *cursor_out = c;
    return HERALD_OK;
}

static herald_status
spool_scan_next(void *cursor, char id_out[HERALD_QUEUE_ID_SIZE])
{
    struct spool_cursor *c = cursor;
    struct dirent *de;

    while ((de = readdir(c->dir)) != NULL) {
        if (!herald_queue_id_valid(de->d_name))
            continue;
        /* valid: shorter than HERALD_QUEUE_ID_SIZE */
        memcpy(id_out, de->d_name, strlen(de->d_name) + 1);
        return HERALD_OK;
    }
    return HERALD_E_NOTFOUND;
}

static void
spool_scan_close(void *cursor)
{
    struct spool_cursor *c = cursor;

    if (c == NULL)
        return;
    closedir(c->dir);
    free(c);
}

/* quarantine - move q/ID to bad/ID with the reason beside it */
static void
quarantine(struct spool *sp, const char *id, const char *why)
{
    char name[HERALD_QUEUE_ID_SIZE + 8];
    int fd;

    snprintf(name, sizeof name, "%s.why", id);
    fd = openat(sp->baddir, name, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd >= 0) {
        dprintf(fd, "%s\n", why);
        close(fd);
    }
    if (renameat(sp->qdir, id, sp->baddir, id) == 0) {
        fsync(sp->qdir);
        herald_trace_log(sp->trace, HERALD_TRACE_ERROR, "queue",
                         "%s: corrupt queue file set aside as %s/bad/%s: %s", id, sp->path, id,
                         why);
    }
}

/* lock - flock, waiting up to SPOOL_WAIT_MS with HERALD_QUEUE_WAIT */
static int
lock(int fd, unsigned flags)
{
    int waited = 0;

    for (;;) {
        if (flock(fd, LOCK_EX | LOCK_NB) == 0)
            return 0;
        if (errno != EWOULDBLOCK && errno != EINTR)
            return -1;
        if (!(flags & HERALD_QUEUE_WAIT) || waited >= SPOOL_WAIT_MS)
            return -1;
        {
            struct timespec ts = { 0, 50 * 1000000L };

            nanosleep(&ts, NULL);
            waited += 50;
        }
    }
}

static void spool_release(void *claim);

/* free_saved - the claim's copies of the recorded states */
static void
free_saved(struct spool_claim *c)
{
    size_t i;

    if (c->saved == NULL)
        return;
    for (i = 0; i < c->parsed.entry.rcpt_count; i++) {
        free((char *)c->saved[i].reply);
        free((char *)c->saved[i].dsn);
    }
    free(c->saved);
    c->saved = NULL;
}

/* save_one - a copy of r's state (its strings owned by the claim) */
static bool
save_one(struct herald_queue_rcpt *to, const struct herald_queue_rcpt *r)
{
    char *reply = strdup(r->reply ? r->reply : ""), *dsn = strdup(r->dsn ? r->dsn : "");

    if (reply == NULL || dsn == NULL) {
        free(reply);
        free(dsn);
        return false;
    }
    free((char *)to->reply);
    free((char *)to->dsn);
    *to = *r;
    to->address = NULL;
    to->reply = reply;
    to->dsn = dsn;
    return true;
}

/* save_states - remember the recorded states, to append only what changes */
static bool
save_states(struct spool_claim *c)
{
    const struct herald_queue_entry *e = &c->parsed.entry;
    size_t i;

    c->saved = calloc(e->rcpt_count, sizeof *c->saved);
    if (c->saved == NULL)
        return false;
    for (i = 0; i < e->rcpt_count; i++)
        if (!save_one(&c->saved[i], &e->rcpts[i]))
            return false;
    c->saved_held = e->held;
    c->saved_warned = e->warned;
    return true;
}

/* spool_claim - open, lock, parse; a corrupt file is set aside */
static herald_status
spool_claim(void *state, const char *id, unsigned flags, void **claim_out,
            struct herald_queue_entry **entry_out, struct herald_message **msg_out,
            struct herald_diag *diag)
{
    struct spool *sp = state;
    struct spool_claim *c;
    char why[200];
    struct stat sb;
    herald_status st;

    if (!herald_queue_id_valid(id))
        return herald_diag_set(diag, HERALD_E_NOTFOUND, sp->path, "no queue entry \"%.40s\"",
                               id);
    c = calloc(1, sizeof *c);
    if (c == NULL)
        return herald_diag_set(diag, HERALD_E_NOMEM, sp->path, "out of memory");
    c->sp = sp;
    c->fd = openat(sp->qdir, id, ((flags & HERALD_QUEUE_LOCK) ? O_RDWR | O_APPEND : O_RDONLY) |
                                     O_CLOEXEC | O_NOFOLLOW);
    if (c->fd < 0) {
        int err = errno;

        free(c);
        if (err == ENOENT)
            return herald_diag_set(diag, HERALD_E_NOTFOUND, sp->path, "no queue entry %s", id);
        if (err == EMFILE || err == ENFILE)
            return herald_diag_set(diag, HERALD_E_LIMIT, sp->path, "out of descriptors");
        return io_fail(diag, sp, "cannot open a queue file", err);
    }
    if (flags & HERALD_QUEUE_LOCK) {
        if (lock(c->fd, flags) != 0) {
            close(c->fd);
            free(c);
            return herald_diag_set(diag, HERALD_E_LIMIT, sp->path,
                                   "queue entry %s is locked by another process (a runner)", id);
        }
        c->locked = true;
        /* Delivered and unlinked by another runner between our open and lock. */
        if (fstat(c->fd, &sb) != 0 || sb.st_nlink == 0) {
            spool_release(c);
            return herald_diag_set(diag, HERALD_E_NOTFOUND, sp->path, "no queue entry %s", id);
        }
    }
    if (spool_parse(c->fd, &c->parsed, why, sizeof why) != 0) {
        if (c->locked)
            quarantine(sp, id, why);
        spool_release(c);
        return herald_diag_set(diag, HERALD_E_PROTOCOL, sp->path, "queue entry %s is corrupt: %s",
                               id, why);
    }
    if (strcmp(c->parsed.entry.id, id) != 0) {
        snprintf(why, sizeof why, "its header says id %s", c->parsed.entry.id);
        if (c->locked)
            quarantine(sp, id, why);
        spool_release(c);
        return herald_diag_set(diag, HERALD_E_PROTOCOL, sp->path, "queue entry %s is corrupt: %s",
                               id, why);
    }
    if (c->locked) {
        /* A record torn by a crash: cut it off so the next append starts a line. */
        if (fstat(c->fd, &sb) == 0 && (uint64_t)sb.st_size > c->parsed.valid_end &&
            ftruncate(c->fd, (off_t)c->parsed.valid_end) != 0) {
            int err = errno;

            spool_release(c);
            return io_fail(diag, sp, "cannot cut a torn state record", err);
        }
    }
    if (!save_states(c)) {
        spool_release(c);
        return herald_diag_set(diag, HERALD_E_NOMEM, sp->path, "out of memory");
    }
    if (msg_out != NULL && (flags & HERALD_QUEUE_BODY)) {
        struct herald_message *m = NULL;
        const struct herald_queue_entry *e = &c->parsed.entry;

        st = herald_message_new(&m);
        if (st == HERALD_OK)
            st = herald_message_set_body_range(m, c->fd, c->parsed.body_offset, e->size,
                                               e->body_8bit);
        if (st != HERALD_OK) {
            herald_message_free(&m);
            spool_release(c);
            return herald_diag_set(diag, st, sp->path, "queue entry %s: %s", id,
                                   herald_strerror(st));
        }
        *msg_out = m;
    }
    *claim_out = c;
    *entry_out = &c->parsed.entry;
    return HERALD_OK;
}

/* same_rcpt - nothing to record for this recipient */
static bool
same_rcpt(const struct herald_queue_rcpt *a, const struct herald_queue_rcpt *b)
{
    return a->state == b->state && a->attempts == b->attempts && a->next_try == b->next_try &&
           a->possibly_delivered == b->possibly_delivered && a->notified == b->notified &&
           strcmp(a->reply ? a->reply : "", b->reply) == 0 &&
           strcmp(a->dsn ? a->dsn : "", b->dsn) == 0;
}

/* spool_update - append a record for what changed since the claim */
static herald_status
spool_update(void *claim, const struct herald_queue_entry *entry, struct herald_diag *diag)
{
    struct spool_claim *c = claim;
    struct spool *sp = c->sp;
    char *buf = NULL, rec[SPOOL_COPY_CHUNK / 8];
    size_t len = 0, i, n;
    FILE *f;
    int err = 0;

    if (!c->locked || entry->rcpt_count != c->parsed.entry.rcpt_count)
        return herald_diag_set(diag, HERALD_E_INVAL, sp->path, "update of an unlocked entry");
    f = open_memstream(&buf, &len);
    if (f == NULL)
        return herald_diag_set(diag, HERALD_E_NOMEM, sp->path, "out of memory");
    for (i = 0; i < entry->rcpt_count; i++) {
        if (same_rcpt(&entry->rcpts[i], &c->saved[i]))
            continue;
        n = spool_record(rec, sizeof rec, i, &entry->rcpts[i]);
        if (n == 0 || fwrite(rec, 1, n, f) != n || !save_one(&c->saved[i], &entry->rcpts[i]))
            err = ENOMEM;
    }
    if (entry->held != c->saved_held)
        fprintf(f, "h %d\n", entry->held ? 1 : 0);
    if (entry->warned != c->saved_warned)
        fprintf(f, "w %d\n", entry->warned ? 1 : 0);
    c->saved_held = entry->held;
    c->saved_warned = entry->warned;
    if (fclose(f) != 0 || err != 0) {
        free(buf);
        return herald_diag_set(diag, HERALD_E_NOMEM, sp->path, "out of memory");
    }
    /* One write: a crash tears at most the end of it (cut at the next claim). */
    if (len > 0) {
        ssize_t w = write(c->fd, buf, len);

        if (w < 0 || (size_t)w != len) {
            err = w < 0 ? errno : ENOSPC;
            /* Cut a partial write now: the next append must start a line. */
            if (ftruncate(c->fd, (off_t)c->parsed.valid_end) != 0)
                err = errno;
            free(buf);
            return io_fail(diag, sp, "cannot record the state", err);
        }
        c->parsed.valid_end += len;
        sp->dirty = true;
    }
    free(buf);
    return HERALD_OK;
}

/* spool_remove - unlink q/ID (durable at the next sync) */
static herald_status
spool_remove(void *claim, struct herald_diag *diag)
{
    struct spool_claim *c = claim;
    struct spool *sp = c->sp;

    if (!c->locked)
        return herald_diag_set(diag, HERALD_E_INVAL, sp->path, "removal of an unlocked entry");
    if (unlinkat(sp->qdir, c->parsed.entry.id, 0) != 0 && errno != ENOENT)
        return io_fail(diag, sp, "cannot remove a queue file", errno);
    c->removed = true;
    sp->dirty = true;
    return HERALD_OK;
}

/* spool_sync - one sync for every record and removal since the last */
static herald_status
spool_sync(void *state, struct herald_diag *diag)
{
    struct spool *sp = state;

    if (!sp->dirty)
        return HERALD_OK;
    if (sync_all(sp) != 0)
        return io_fail(diag, sp, "cannot sync the spool", errno);
    sp->dirty = false;
    return HERALD_OK;
}

static void
spool_release(void *claim)
{
    struct spool_claim *c = claim;

    if (c == NULL)
        return;
    /* Drops the lock.  The last close of a removed file frees its blocks:
     * the reaper's threads pay for that, not the runner. */
    if (c->removed)
        spool_reap_close(c->sp->reap, c->fd);
    else
        close(c->fd);
    free_saved(c);
    spool_parsed_free(&c->parsed);
    free(c);
}

/* spool_quarantined - bad/ID with the first line of bad/ID.why */
static herald_status
spool_quarantined(void *state, void (*fn)(void *arg, const char *id, const char *reason),
                  void *arg, struct herald_diag *diag)
{
    struct spool *sp = state;
    int fd = openat(sp->baddir, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
    struct dirent *de;

    if (d == NULL) {
        if (fd >= 0)
            close(fd);
        return io_fail(diag, sp, "cannot read bad/", errno);
    }
    while ((de = readdir(d)) != NULL) {
        char name[HERALD_QUEUE_ID_SIZE + 8], why[256] = "";
        int wfd;

        size_t len = strlen(de->d_name);

        if (!herald_queue_id_valid(de->d_name))
            continue;
        memcpy(name, de->d_name, len);
        memcpy(name + len, ".why", 5);
        wfd = openat(sp->baddir, name, O_RDONLY | O_CLOEXEC);
        if (wfd >= 0) {
            ssize_t n = read(wfd, why, sizeof why - 1);

            why[n > 0 ? n : 0] = '\0';
            why[strcspn(why, "\n")] = '\0';
            close(wfd);
        }
        fn(arg, de->d_name, why[0] ? why : "corrupt");
    }
    closedir(d);
    return HERALD_OK;
}

static const struct herald_queue_ops spool_ops = {
    .struct_size = sizeof(struct herald_queue_ops),
    .open = spool_open,
    .close = spool_close,
    .put = spool_put,
    .commit = spool_commit,
    .abort = spool_abort,
    .scan_open = spool_scan_open,
    .scan_next = spool_scan_next,
    .scan_close = spool_scan_close,
    .claim = spool_claim,
    .update = spool_update,
    .remove = spool_remove,
    .sync = spool_sync,
    .release = spool_release,
    .quarantined = spool_quarantined,
};

const struct herald_module herald_module = {
    HERALD_MODULE_HEADER(HERALD_KIND_QUEUE),
    .name = "spool",
    .summary = "local spool: one file per message, group-committed",
    .options = spool_option_table,
    .options_size = sizeof(struct spool_options),
    .options_defaults = &spool_defaults,
    .check = spool_check,
    .ops = &spool_ops,
};
