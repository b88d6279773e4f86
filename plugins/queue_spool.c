/*
 * queue_spool.c - the "spool" queue module: one file per group commit in a folder
 *
 *   PATH/tmp/NAME  being written (never read as queued; its writer's pid is in NAME)
 *   PATH/q/NAME    queued: a segment (the messages of one commit, NAME ends
 *                  in 's', message ids add four hex digits) or a file of one
 *                  message named by its id (a commit of one, a message over
 *                  SPOOL_IMAGE_MAX, or a spool written before segments)
 *   PATH/bad/NAME  set aside as corrupt, with PATH/bad/NAME.why saying why
 *
 * Formats: spool_seg.h (segments), spool_file.h (one message's image and its
 * state records).  Why segments: each file created costs the file system
 * far more than the octets in it (ext4 without a journal scans the inodes
 * freed lately on every create), so enqueuing is bounded by creates, not by
 * writes; one create per commit lifts that bound.
 *
 * Enqueue: put makes each message's image in memory and adds it to the
 * current segment (spool_write.h, written out in large writes); a message
 * larger than SPOOL_IMAGE_MAX is copied from its reader to a file of its
 * own.  Commit seals the batch's files in tmp/, syncs the file system once
 * (syncfs), renames every file into q/ and syncs the folder once.  A crash
 * before the rename leaves only tmp/ files, which the next opener removes
 * once their writer is gone.  Nothing is acknowledged before that sync; on
 * an error nothing of the batch stays.  One batch at a time per store.
 *
 * Runner: each file of q/ is open at most once per process (spool_seg.h),
 * shared by the scan and every claim of its messages, parsed once.  A claim
 * with HERALD_QUEUE_LOCK takes flock(LOCK_EX|LOCK_NB) on that shared
 * descriptor (held while any claim of the file is), then reads the records
 * others appended: two runners never deliver the same message, because
 * every message of a file is delivered and recorded under that file's lock
 * (the lock dies with its process; a runner skips a file another holds).  A
 * file removed or set aside between open and lock is seen by comparing its
 * inode with q/NAME's.  State changes are appended records ("K ..." in a
 * segment), synced in one batch (sync); a finished message appends "K x",
 * and the last one unlinks the file, whose descriptor goes to the reaper
 * (spool_reap.h) once its last user is gone: the reaper's threads pay for
 * the last close, which frees the blocks (a synchronous discard on some
 * disks).  A file left with every message removed (its remover died before
 * the unlink) is removed by the next scan.
 *
 * Damage: a file whose header does not parse is set aside at once.  In a
 * segment, a damaged image damages its message only (the index finds the
 * others; without the index, as in a truncated file, the images before the
 * first bad one): the intact messages are delivered, the damaged ones are
 * named (claim: HERALD_E_PROTOCOL, so "queue list" and the runner's trace
 * say so), and the file goes to bad/ when nothing intact is left in it.
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
#include "spool_seg.h"
#include "spool_write.h"

#ifndef HERALD_LOCALSTATEDIR
#define HERALD_LOCALSTATEDIR "/var"
#endif
#define SPOOL_DEFAULT_PATH HERALD_LOCALSTATEDIR "/spool/herald"
#define SPOOL_PATH_MAX (PATH_MAX - 64)
#define SPOOL_RECORD_MAX 8192
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
    struct spool_segs segs;         /* the files of q/ open here */
    struct spool_wseg *wseg;        /* the segment puts go into */
};

struct spool_staged {
    char id[HERALD_QUEUE_ID_SIZE];  /* the message's; tmp/ID when seg is NULL (a large one) */
    struct spool_wseg *seg;         /* the segment it is staged in */
};

struct spool_claim {
    struct spool *sp;
    struct spool_seg *seg;          /* its file, shared */
    size_t k;                       /* its index there */
    size_t rcpt_count;
    bool locked;
    struct herald_queue_rcpt *saved;  /* the states as last recorded, to append only changes */
    bool saved_held, saved_warned;
    bool wrote;                     /* records appended: saved goes into the shared entry */
};

struct spool_cursor {
    struct spool *sp;
    DIR *dir;
    struct spool_seg *seg;          /* the segment whose ids are being listed */
    size_t k;
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
    sp->segs.qdir = sp->qdir;
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
    if (sp->wseg != NULL) {
        if (sp->wseg->refs == 1)
            spool_wseg_drop(sp->wseg, sp->tmpdir);
        spool_wseg_unref(sp->wseg);
    }
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


/* ---- Enqueue: put, commit, abort --------------------------------------- */

/* spool_put - stage one message: into the current segment, or (a large one)
 * a file of its own written from its reader */
static herald_status
spool_put(void *state, struct herald_queue_entry *entry, const struct herald_message *msg,
          void **staged_out, struct herald_diag *diag)
{
    struct spool *sp = state;
    struct spool_staged *stg;
    struct spool_wseg *w;
    char *image, name[HERALD_QUEUE_ID_SIZE];
    size_t len = 0;
    int err;

    stg = calloc(1, sizeof *stg);
    if (stg == NULL)
        return herald_diag_set(diag, HERALD_E_NOMEM, sp->path, "out of memory");
    if (entry->size > SPOOL_IMAGE_MAX) {
        make_id(sp, entry->id);
        snprintf(stg->id, sizeof stg->id, "%s", entry->id);
        err = spool_write_large(sp->tmpdir, stg->id, entry, msg);
        if (err != 0) {
            free(stg);
            return io_fail(diag, sp, "cannot write the queue file", err);
        }
        *staged_out = stg;
        return HERALD_OK;
    }
    w = sp->wseg;
    if (w == NULL || w->done || w->sealed || w->err != 0 || w->count == SPOOL_SEG_MAX) {
        spool_wseg_unref(w);
        make_id(sp, name);
        strcat(name, "s");
        sp->wseg = w = spool_wseg_new(name);
        if (w == NULL) {
            free(stg);
            return herald_diag_set(diag, HERALD_E_NOMEM, sp->path, "out of memory");
        }
    }
    spool_seg_id(entry->id, w->name, w->count);
    image = spool_image(entry, msg, &len);
    if (image == NULL) {
        free(stg);
        return herald_diag_set(diag, HERALD_E_NOMEM, sp->path,
                               "cannot make the queue file: out of memory or unreadable body");
    }
    err = spool_wseg_add(w, sp->tmpdir, image, len);
    free(image);
    if (err != 0) {
        free(stg);
        return io_fail(diag, sp, "cannot write the queue file", err);
    }
    snprintf(stg->id, sizeof stg->id, "%s", entry->id);
    stg->seg = w;
    w->refs++;
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

/* drop_wseg - the store is done with its current segment */
static void
drop_wseg(struct spool *sp)
{
    if (sp->wseg != NULL && sp->wseg->done) {
        spool_wseg_unref(sp->wseg);
        sp->wseg = NULL;
    }
}

/* spool_abort - drop staged files (a segment already committed by another
 * batch stays: one batch at a time per store, as the core does) */
static void
spool_abort(void *state, void *const *staged, size_t count)
{
    struct spool *sp = state;
    size_t i;

    for (i = 0; i < count; i++) {
        struct spool_staged *stg = staged[i];

        if (stg == NULL)
            continue;
        if (stg->seg == NULL)
            unlinkat(sp->tmpdir, stg->id, 0);
        else {
            spool_wseg_drop(stg->seg, sp->tmpdir);
            spool_wseg_unref(stg->seg);
        }
        free(stg);
    }
    drop_wseg(sp);
}

/* staged_file - what staged[i] renames, or NULL when another did it already */
static const char *
staged_file(void *const *staged, size_t i)
{
    const struct spool_staged *stg = staged[i];

    if (stg->seg == NULL)
        return stg->id;
    return stg->seg->moved ? NULL : stg->seg->file;
}

/* unrename - every file moved into q/ by this commit back to tmp/ */
static void
unrename(struct spool *sp, void *const *staged, size_t n)
{
    size_t j;

    for (j = 0; j < n; j++) {
        const struct spool_staged *stg = staged[j];

        if (stg->seg == NULL)
            renameat(sp->qdir, stg->id, sp->tmpdir, stg->id);
        else if (stg->seg->moved) {
            renameat(sp->qdir, stg->seg->file, sp->tmpdir, stg->seg->file);
            stg->seg->moved = false;
        }
    }
}

/* spool_commit - seal the segments, sync the data, rename into q/, sync the
 * folder; all or nothing */
static herald_status
spool_commit(void *state, void *const *staged, size_t count, struct herald_diag *diag)
{
    struct spool *sp = state;
    const char *file;
    size_t i;
    int err;

    if (count == 0)
        return HERALD_OK;
    for (i = 0; i < count; i++) {
        const struct spool_staged *stg = staged[i];

        if (stg->seg != NULL && !stg->seg->done && (err = spool_wseg_seal(stg->seg, sp->tmpdir)) != 0) {
            spool_abort(sp, staged, count);
            return io_fail(diag, sp, "cannot write the queue file", err);
        }
    }
    if (sync_all(sp) != 0) {
        err = errno;
        spool_abort(sp, staged, count);
        return io_fail(diag, sp, "cannot sync the queue files", err);
    }
    for (i = 0; i < count; i++) {
        const struct spool_staged *stg = staged[i];

        if ((stg->seg != NULL && stg->seg->done) || (file = staged_file(staged, i)) == NULL)
            continue;
        if (renameat(sp->tmpdir, file, sp->qdir, file) != 0) {
            err = errno;
            unrename(sp, staged, i);   /* none of the batch may stay queued */
            spool_abort(sp, staged, count);
            return io_fail(diag, sp, "cannot move a queue file into q/", err);
        }
        if (stg->seg != NULL)
            stg->seg->moved = true;
    }
    if (fsync(sp->qdir) != 0) {
        err = errno;
        unrename(sp, staged, count);
        spool_abort(sp, staged, count);
        return io_fail(diag, sp, "cannot sync the queue folder", err);
    }
    for (i = 0; i < count; i++) {
        struct spool_staged *stg = staged[i];

        if (stg->seg != NULL) {
            stg->seg->done = true;
            stg->seg->moved = false;
            spool_wseg_unref(stg->seg);
        }
        free(stg);
    }
    drop_wseg(sp);
    return HERALD_OK;
}

/* ---- The files of q/: quarantine, locks ------------------------------- */

/* reap_close - a removed file's last descriptor, closed by the reaper */
static void
reap_close(void *arg, int fd)
{
    spool_reap_close(arg, fd);
}

/* quarantine - move q/NAME to bad/NAME with the reason beside it */
static void
quarantine(struct spool *sp, struct spool_seg *s, const char *why)
{
    char name[HERALD_QUEUE_ID_SIZE + 8];
    int fd;

    snprintf(name, sizeof name, "%s.why", s->name);
    fd = openat(sp->baddir, name, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd >= 0) {
        dprintf(fd, "%s\n", why);
        close(fd);
    }
    if (renameat(sp->qdir, s->name, sp->baddir, s->name) == 0) {
        fsync(sp->qdir);
        s->gone = true;
        herald_trace_log(sp->trace, HERALD_TRACE_ERROR, "queue",
                         "%s: corrupt queue file set aside as %s/bad/%s: %s", s->name, sp->path,
                         s->name, why);
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


/* seg_lock - the file's lock for one claim more: taken on the first, then
 * the records others appended are read (and a torn one cut) */
static herald_status
seg_lock(struct spool *sp, struct spool_seg *s, unsigned flags)
{
    struct stat a, b;

    if (s->locks > 0) {
        s->locks++;
        return HERALD_OK;
    }
    if (lock(s->fd, flags) != 0)
        return HERALD_E_LIMIT;
    /* Removed or set aside by another process between our open and lock. */
    if (fstat(s->fd, &a) != 0 || a.st_nlink == 0 ||
        fstatat(sp->qdir, s->name, &b, AT_SYMLINK_NOFOLLOW) != 0 || a.st_ino != b.st_ino ||
        a.st_dev != b.st_dev) {
        flock(s->fd, LOCK_UN);
        s->gone = true;
        return HERALD_E_NOTFOUND;
    }
    if (spool_seg_refresh(s, true) != 0) {
        flock(s->fd, LOCK_UN);
        return HERALD_E_IO;
    }
    s->locks = 1;
    return HERALD_OK;
}

static void
seg_unlock(struct spool_seg *s)
{
    if (s->locks > 0 && --s->locks == 0)
        flock(s->fd, LOCK_UN);
}

/* set_aside - a damaged message claimed under the lock: the file goes to bad/
 * once nothing intact is left in it; until then its intact ones are delivered */
static void
set_aside(struct spool *sp, struct spool_seg *s)
{
    if (s->live == 0)
        quarantine(sp, s, s->why);
    else if (!s->traced)
        herald_trace_log(sp->trace, HERALD_TRACE_ERROR, "queue",
                         "%s: damaged: %s; its %zu intact message(s) are delivered, then it is "
                         "set aside in %s/bad/", s->name, s->why, s->live, sp->path);
    s->traced = true;
}

/* tidy - a file with nothing left to deliver, met by the scan: removed (every
 * message was; the remover died before unlinking it) or set aside */
static void
tidy(struct spool *sp, struct spool_seg *s)
{
    if (seg_lock(sp, s, 0) != HERALD_OK)
        return;
    if (s->count == 0) {
        quarantine(sp, s, s->why);
    } else if (s->live == 0 && s->damaged > 0) {
        quarantine(sp, s, s->why);
    } else if (s->live == 0 && unlinkat(sp->qdir, s->name, 0) == 0) {
        s->gone = true;
        sp->dirty = true;
        herald_trace_log(sp->trace, HERALD_TRACE_INFO, "queue",
                         "%s: every message in it was removed: file removed", s->name);
    }
    seg_unlock(s);
}

/* ---- Scan ---------------------------------------------------------------- */

/* spool_scan_open - stream q/: a segment's messages are listed one at a time */
static herald_status
spool_scan_open(void *state, void **cursor_out, struct herald_diag *diag)
{
    struct spool *sp = state;
    struct spool_cursor *c = calloc(1, sizeof *c);
    int fd;

    if (c == NULL)
        return herald_diag_set(diag, HERALD_E_NOMEM, sp->path, "out of memory");
    c->sp = sp;
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
    struct spool *sp = c->sp;
    struct spool_seg *s;
    struct dirent *de;

    for (;;) {
        if (c->seg != NULL) {
            while (c->k < c->seg->count) {
                size_t k = c->k++;

                if (!(c->seg->flags[k] & SPOOL_SEG_REMOVED)) {
                    spool_seg_id(id_out, c->seg->name, k);
                    return HERALD_OK;
                }
            }
            spool_seg_put(&sp->segs, c->seg, reap_close, sp->reap);
            c->seg = NULL;
        }
        de = readdir(c->dir);
        if (de == NULL)
            return HERALD_E_NOTFOUND;
        if (!herald_queue_id_valid(de->d_name))
            continue;
        if (!spool_seg_is_name(de->d_name)) {
            /* valid: shorter than HERALD_QUEUE_ID_SIZE */
            memcpy(id_out, de->d_name, strlen(de->d_name) + 1);
            return HERALD_OK;
        }
        if (spool_seg_get(&sp->segs, de->d_name, &s) != 0)
            continue;   /* gone since readdir, or unreadable: its claims would say */
        if (s->count == 0 || s->live == 0) {
            tidy(sp, s);
            spool_seg_put(&sp->segs, s, reap_close, sp->reap);
            continue;
        }
        c->seg = s;
        c->k = 0;
    }
}

static void
spool_scan_close(void *cursor)
{
    struct spool_cursor *c = cursor;

    if (c == NULL)
        return;
    spool_seg_put(&c->sp->segs, c->seg, reap_close, c->sp->reap);
    closedir(c->dir);
    free(c);
}

/* ---- Claims ---------------------------------------------------------------- */

static void spool_release(void *claim);

/* free_saved - the claim's copies of the recorded states */
static void
free_saved(struct spool_claim *c)
{
    size_t i;

    if (c->saved == NULL)
        return;
    for (i = 0; i < c->rcpt_count; i++) {
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
save_states(struct spool_claim *c, const struct herald_queue_entry *e)
{
    size_t i;

    c->rcpt_count = e->rcpt_count;
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

/* find - the open file holding id, and id's index in it */
static herald_status
find(struct spool *sp, const char *id, struct spool_seg **s_out, size_t *k_out,
     struct herald_diag *diag)
{
    char name[HERALD_QUEUE_ID_SIZE];
    struct spool_seg *s;
    bool in_seg = spool_seg_split(id, name, k_out);
    int rc = -1;

    /* A segment already open here (the scan's, or another claim's) first;
     * then a file of one message named by the id; then its segment. */
    if (in_seg)
        for (s = sp->segs.head; s != NULL; s = s->next)
            if (!s->gone && strcmp(s->name, name) == 0) {
                rc = spool_seg_get(&sp->segs, name, s_out);
                break;
            }
    if (rc != 0) {
        rc = spool_seg_get(&sp->segs, id, s_out);
        if (rc == 0)
            *k_out = 0;
        else if (errno == ENOENT && in_seg)
            rc = spool_seg_get(&sp->segs, name, s_out);
    }
    if (rc != 0) {
        int err = errno;

        if (err == ENOENT)
            return herald_diag_set(diag, HERALD_E_NOTFOUND, sp->path, "no queue entry %s", id);
        if (err == EMFILE || err == ENFILE)
            return herald_diag_set(diag, HERALD_E_LIMIT, sp->path, "out of descriptors");
        return io_fail(diag, sp, "cannot open a queue file", err);
    }
    if ((*s_out)->count > 0 && *k_out >= (*s_out)->count) {
        spool_seg_put(&sp->segs, *s_out, reap_close, sp->reap);
        return herald_diag_set(diag, HERALD_E_NOTFOUND, sp->path, "no queue entry %s", id);
    }
    return HERALD_OK;
}

/* spool_claim - find its file, lock it, borrow the entry; a corrupt file is set aside */
static herald_status
spool_claim(void *state, const char *id, unsigned flags, void **claim_out,
            struct herald_queue_entry **entry_out, struct herald_message **msg_out,
            struct herald_diag *diag)
{
    struct spool *sp = state;
    struct spool_claim *c;
    struct spool_seg *s;
    bool locked = (flags & HERALD_QUEUE_LOCK) != 0;
    size_t k = 0;
    herald_status st;

    if (!herald_queue_id_valid(id) || spool_seg_is_name(id))
        return herald_diag_set(diag, HERALD_E_NOTFOUND, sp->path, "no queue entry \"%.40s\"",
                               id);
    st = find(sp, id, &s, &k, diag);
    if (st != HERALD_OK)
        return st;
    if (locked)
        st = seg_lock(sp, s, flags);
    else if (s->locks == 0 && spool_seg_refresh(s, false) != 0)
        st = HERALD_E_IO;
    if (st != HERALD_OK) {
        spool_seg_put(&sp->segs, s, reap_close, sp->reap);
        if (st == HERALD_E_LIMIT)
            return herald_diag_set(diag, st, sp->path,
                                   "queue entry %s is locked by another process (a runner)", id);
        if (st == HERALD_E_NOTFOUND)
            return herald_diag_set(diag, st, sp->path, "no queue entry %s", id);
        return io_fail(diag, sp, "cannot read a queue file", errno);
    }
    if (s->count == 0 || (s->flags[k] & SPOOL_SEG_DAMAGED)) {
        char why[sizeof s->why];

        snprintf(why, sizeof why, "%s", s->why);
        if (locked) {
            set_aside(sp, s);
            seg_unlock(s);
        }
        spool_seg_put(&sp->segs, s, reap_close, sp->reap);
        return herald_diag_set(diag, HERALD_E_PROTOCOL, sp->path, "queue entry %s is corrupt: %s",
                               id, why);
    }
    if ((s->flags[k] & SPOOL_SEG_REMOVED) || (locked && (s->flags[k] & SPOOL_SEG_CLAIMED))) {
        bool removed = (s->flags[k] & SPOOL_SEG_REMOVED) != 0;

        if (locked)
            seg_unlock(s);
        spool_seg_put(&sp->segs, s, reap_close, sp->reap);
        if (removed)
            return herald_diag_set(diag, HERALD_E_NOTFOUND, sp->path, "no queue entry %s", id);
        return herald_diag_set(diag, HERALD_E_LIMIT, sp->path,
                               "queue entry %s is claimed already", id);
    }
    c = calloc(1, sizeof *c);
    if (c == NULL) {
        if (locked)
            seg_unlock(s);
        spool_seg_put(&sp->segs, s, reap_close, sp->reap);
        return herald_diag_set(diag, HERALD_E_NOMEM, sp->path, "out of memory");
    }
    c->sp = sp;
    c->seg = s;
    c->k = k;
    c->locked = locked;
    if (locked)
        s->flags[k] |= SPOOL_SEG_CLAIMED;
    if (!save_states(c, &s->msgs[k].entry)) {
        spool_release(c);
        return herald_diag_set(diag, HERALD_E_NOMEM, sp->path, "out of memory");
    }
    if (msg_out != NULL && (flags & HERALD_QUEUE_BODY)) {
        struct herald_message *m = NULL;
        const struct herald_queue_entry *e = &s->msgs[k].entry;

        st = herald_message_new(&m);
        if (st == HERALD_OK)
            st = herald_message_set_body_range(m, s->fd, s->msgs[k].body_offset, e->size,
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
    *entry_out = &s->msgs[k].entry;
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

/* append - one write of records at the end of the claim's file; a write
 * cut short is truncated away at once (the next append must start a line) */
static herald_status
append(struct spool_claim *c, const char *buf, size_t len, struct herald_diag *diag)
{
    struct spool_seg *s = c->seg;
    ssize_t w;
    int err;

    if (len == 0)
        return HERALD_OK;
    w = write(s->fd, buf, len);
    if (w < 0 || (size_t)w != len) {
        err = w < 0 ? errno : ENOSPC;
        if (w > 0 && ftruncate(s->fd, (off_t)s->end) != 0)
            err = errno;
        return io_fail(diag, c->sp, "cannot record the state", err);
    }
    s->end += len;
    c->sp->dirty = true;
    return HERALD_OK;
}

/* spool_update - append a record for what changed since the claim */
static herald_status
spool_update(void *claim, const struct herald_queue_entry *entry, struct herald_diag *diag)
{
    struct spool_claim *c = claim;
    struct spool *sp = c->sp;
    char *buf = NULL, rec[SPOOL_RECORD_MAX], pre[24] = "";
    size_t len = 0, i, n;
    herald_status st;
    FILE *f;
    int err = 0;

    if (!c->locked || entry->rcpt_count != c->rcpt_count)
        return herald_diag_set(diag, HERALD_E_INVAL, sp->path, "update of an unlocked entry");
    if (c->seg->multi)
        snprintf(pre, sizeof pre, "%zu ", c->k);
    f = open_memstream(&buf, &len);
    if (f == NULL)
        return herald_diag_set(diag, HERALD_E_NOMEM, sp->path, "out of memory");
    for (i = 0; i < entry->rcpt_count; i++) {
        if (same_rcpt(&entry->rcpts[i], &c->saved[i]))
            continue;
        n = spool_record(rec, sizeof rec, i, &entry->rcpts[i]);
        if (n == 0 || fputs(pre, f) < 0 || fwrite(rec, 1, n, f) != n ||
            !save_one(&c->saved[i], &entry->rcpts[i]))
            err = ENOMEM;
    }
    if (entry->held != c->saved_held)
        fprintf(f, "%sh %d\n", pre, entry->held ? 1 : 0);
    if (entry->warned != c->saved_warned)
        fprintf(f, "%sw %d\n", pre, entry->warned ? 1 : 0);
    c->saved_held = entry->held;
    c->saved_warned = entry->warned;
    c->wrote = true;
    if (fclose(f) != 0 || err != 0) {
        free(buf);
        return herald_diag_set(diag, HERALD_E_NOMEM, sp->path, "out of memory");
    }
    /* One write: a crash tears at most the end of it (cut at the next lock). */
    st = append(c, buf, len, diag);
    free(buf);
    return st;
}

/* spool_remove - the message leaves the queue: a file whose last message it
 * was is unlinked, else "K x" is appended (durable at the next sync) */
static herald_status
spool_remove(void *claim, struct herald_diag *diag)
{
    struct spool_claim *c = claim;
    struct spool *sp = c->sp;
    struct spool_seg *s = c->seg;
    char rec[32];
    herald_status st;

    if (!c->locked)
        return herald_diag_set(diag, HERALD_E_INVAL, sp->path, "removal of an unlocked entry");
    if (s->live == 1 && s->damaged == 0) {
        if (unlinkat(sp->qdir, s->name, 0) != 0 && errno != ENOENT)
            return io_fail(diag, sp, "cannot remove a queue file", errno);
        s->gone = true;
        sp->dirty = true;
    } else {
        snprintf(rec, sizeof rec, "%zu x\n", c->k);
        st = append(c, rec, strlen(rec), diag);
        if (st != HERALD_OK)
            return st;
    }
    s->flags[c->k] |= SPOOL_SEG_REMOVED;
    s->live--;
    if (s->live == 0 && s->damaged > 0)
        quarantine(sp, s, s->why);
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

/* keep_saved - what the claim recorded becomes the shared entry's state */
static void
keep_saved(struct spool_claim *c)
{
    struct herald_queue_entry *e = &c->seg->msgs[c->k].entry;
    size_t i;

    for (i = 0; i < c->rcpt_count; i++) {
        struct herald_queue_rcpt *r = &e->rcpts[i];
        const char *address = r->address;

        free((char *)r->reply);
        free((char *)r->dsn);
        *r = c->saved[i];
        r->address = address;
        c->saved[i].reply = c->saved[i].dsn = NULL;
    }
    e->held = c->saved_held;
    e->warned = c->saved_warned;
}

static void
spool_release(void *claim)
{
    struct spool_claim *c = claim;
    struct spool_seg *s;

    if (c == NULL)
        return;
    s = c->seg;
    if (c->wrote && c->saved != NULL && !(s->flags[c->k] & SPOOL_SEG_REMOVED))
        keep_saved(c);
    free_saved(c);
    if (c->locked) {
        s->flags[c->k] &= (unsigned char)~SPOOL_SEG_CLAIMED;
        seg_unlock(s);
    }
    /* The last close of a removed file frees its blocks: the reaper's
     * threads pay for that, not the runner. */
    spool_seg_put(&c->sp->segs, s, reap_close, c->sp->reap);
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
    .summary = "local spool: one file per group commit",
    .options = spool_option_table,
    .options_size = sizeof(struct spool_options),
    .options_defaults = &spool_defaults,
    .check = spool_check,
    .ops = &spool_ops,
};
