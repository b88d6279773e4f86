/*
 * file_write.h - write a message body into a folder, atomically (internal to device-file)
 *
 * The body goes to a temporary ".tmp-XXXXXX" in the target folder (same
 * file system), gets its mode, is fsync'd, and only then is linked to its
 * final name, which is never overwritten: a taken name gets ".1", ".2", ...
 * Then the temporary name is removed and the folder fsync'd, so a crash
 * leaves either no file or the whole file under its final name.  On any
 * error every file this call made is removed again.
 *
 * Errors: HERALD_E_IO (or HERALD_E_LIMIT when every suffix is taken,
 * HERALD_E_NOMEM) with err->step naming what failed, err->path the file or
 * folder and err->errnum the errno (0 when there is none).
 */
#ifndef HERALD_FILE_WRITE_H
#define HERALD_FILE_WRITE_H

#include <limits.h>
#include <stdbool.h>
#include <herald/message.h>
#include <herald/trace.h>

/* At most this many ".N" suffixes are tried when a name is taken. */
#define FILE_WRITE_MAX_SUFFIX 100

struct file_write_req {
    const char *dir;            /* absolute folder path */
    const char *name;           /* expanded file name, no '/' */
    int mode;                   /* applied with fchmod */
    bool create;                /* create the folder (and parents) when missing */
    const struct herald_message *msg;
    const struct herald_trace *trace;
};

struct file_write_err {
    const char *step;           /* "open folder", "write", "fsync", ... */
    char path[PATH_MAX];
    int errnum;
};

/* file_write - on success the final path is in final_out (size bytes). */
herald_status file_write(const struct file_write_req *req, char *final_out, size_t size,
                         struct file_write_err *err);

#endif
