/*
 * device_file.c - the "file" device: each message becomes one file in a folder
 *
 * Options: path (the folder, absolute, required), name (pattern, see
 * file_name.h; default "%T-%i.eml"), mode (default 0640), create (default
 * false: a missing folder defers the message rather than appearing where a
 * typo put it).
 *
 * Every recipient shares the one file: all are DELIVERED with
 * "250 2.0.0 written to PATH", or all DEFERRED with the step, the path and
 * the system's reason (4.3.1 when the disk or quota is full, else 4.3.0).
 * The write is synchronous: local disks answer in milliseconds, and the
 * delivery ends inside deliver(), which device.h allows.
 */
#include <errno.h>
#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <herald/device.h>
#include <herald/message.h>
#include <herald/module.h>
#include <herald/trace.h>

#include "file_name.h"
#include "file_write.h"

struct file_options {
    const char *path;
    const char *name;
    int mode;
    bool create;
};

struct file_device {
    char *device_name;
    const struct file_options *opts;   /* owned by the herald context */
};

static const struct file_options file_defaults = {
    .path = NULL,
    .name = "%T-%i.eml",
    .mode = 0640,
    .create = false,
};

#define O(member) offsetof(struct file_options, member)
static const struct herald_option file_option_table[] = {
    { "path", HERALD_OPT_STRING, O(path), HERALD_OPT_REQUIRED, 0, 0, NULL, NULL, 0, NULL,
      "folder the messages are written to (absolute path)" },
    { "filename", HERALD_OPT_STRING, O(name), 0, 0, 0, NULL, NULL, 0, NULL,
      "file name pattern: %T UTC time, %i trace id, %u unique, %% a '%'" },
    { "mode", HERALD_OPT_MODE, O(mode), 0, 0, 07777, NULL, NULL, 0, NULL,
      "mode of each written file, e.g. \"0640\"" },
    { "create", HERALD_OPT_BOOL, O(create), 0, 0, 1, NULL, NULL, 0, NULL,
      "create the folder when it is missing" },
    HERALD_OPT_END
};
#undef O

/* file_check - cross-option rules: an absolute folder and a safe name pattern */
static herald_status
file_check(const void *options, struct herald_diag *diag)
{
    const struct file_options *o = options;

    if (o == NULL)
        return herald_diag_set(diag, HERALD_E_INVAL, "", "no options");
    if (o->path == NULL || o->path[0] != '/')
        return herald_diag_set(diag, HERALD_E_CONFIG, "",
                               "option \"path\": the folder must be an absolute path");
    if (strlen(o->path) > PATH_MAX - NAME_MAX - 2)
        return herald_diag_set(diag, HERALD_E_CONFIG, "", "option \"path\": too long");
    if (o->mode & ~0777)
        return herald_diag_set(diag, HERALD_E_CONFIG, "",
                               "option \"mode\": setuid, setgid and sticky bits are not allowed"
                               " on message files");
    return file_name_check(o->name, diag);
}

/* file_open - keep the options for the deliveries of one configured device */
static herald_status
file_open(const char *device_name, const void *options, struct herald_env *env,
          void **state_out, struct herald_diag *diag)
{
    struct file_device *fd;
    herald_status st;

    (void)env;
    if (options == NULL || state_out == NULL)
        return herald_diag_set(diag, HERALD_E_INVAL, "", "file device: missing argument");
    /* check() ran at load time, but open() must not trust a caller that skipped it. */
    st = file_check(options, diag);
    if (st != HERALD_OK)
        return st;
    fd = calloc(1, sizeof *fd);
    if (fd == NULL)
        return herald_diag_set(diag, HERALD_E_NOMEM, "", "out of memory");
    fd->device_name = strdup(device_name != NULL ? device_name : "file");
    if (fd->device_name == NULL) {
        free(fd);
        return herald_diag_set(diag, HERALD_E_NOMEM, "", "out of memory");
    }
    fd->opts = options;
    *state_out = fd;
    return HERALD_OK;
}

/* report_all - the same report for every recipient: they share one file */
static void
report_all(struct herald_delivery *d, const struct herald_report *rep)
{
    size_t i, n = herald_message_recipient_count(herald_delivery_message(d));

    for (i = 0; i < n; i++)
        herald_delivery_report(d, i, rep);
}

/* file_deliver - write the message, report every recipient, end the delivery */
static void
file_deliver(void *state, struct herald_delivery *d)
{
    const struct file_device *dev = state;
    const struct herald_trace *trace = herald_delivery_trace(d);
    struct file_write_req req;
    struct file_write_err err = { 0 };
    struct herald_report rep = { 0 };
    char name[FILE_NAME_MAX + 1], final[PATH_MAX], reply[PATH_MAX + 256];
    herald_status st;

    memset(&req, 0, sizeof req);
    req.dir = dev->opts->path;
    req.name = name;
    req.mode = dev->opts->mode;
    req.create = dev->opts->create;
    req.msg = herald_delivery_message(d);
    req.trace = trace;

    st = file_name_expand(dev->opts->name, time(NULL), herald_trace_id(trace), name, sizeof name);
    if (st == HERALD_OK) {
        herald_trace_log(trace, HERALD_TRACE_INFO, "file", "device %s: writing to %s as %s",
                         dev->device_name, req.dir, name);
        st = file_write(&req, final, sizeof final, &err);
    } else {
        err.step = "expand the name pattern";
        snprintf(err.path, sizeof err.path, "%s", dev->opts->name);
    }

    if (st == HERALD_OK) {
        snprintf(reply, sizeof reply, "250 2.0.0 written to %s", final);
        rep.result = HERALD_RESULT_DELIVERED;
        rep.dsn = "2.0.0";
        herald_trace_log(trace, HERALD_TRACE_INFO, "file", "written to %s", final);
    } else {
        bool full = err.errnum == ENOSPC || err.errnum == EDQUOT;
        const char *why = err.errnum != 0 ? strerror(err.errnum) : herald_strerror(st);

        rep.result = HERALD_RESULT_DEFERRED;
        rep.dsn = full ? "4.3.1" : "4.3.0";
        snprintf(reply, sizeof reply, "%s %s cannot %s %s: %s", full ? "452" : "451", rep.dsn,
                 err.step ? err.step : "write", err.path, why);
        herald_trace_log(trace, HERALD_TRACE_WARN, "file", "%s", reply);
    }
    rep.reply = reply;
    report_all(d, &rep);
    herald_delivery_done(d);
}

/* file_close - forget the device */
static void
file_close(void *state)
{
    struct file_device *fd = state;

    if (fd == NULL)
        return;
    free(fd->device_name);
    free(fd);
}

static const struct herald_device_ops file_ops = {
    .struct_size = sizeof(struct herald_device_ops),
    .open = file_open,
    .deliver = file_deliver,
    .close = file_close,
};

const struct herald_module herald_module = {
    HERALD_MODULE_HEADER(HERALD_KIND_DEVICE),
    .name = "file",
    .summary = "writes each message into a folder, atomically, never overwriting",
    .options = file_option_table,
    .options_size = sizeof(struct file_options),
    .options_defaults = &file_defaults,
    .check = file_check,
    .ops = &file_ops,
};
