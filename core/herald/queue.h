/*
 * herald/queue.h - the durable queue: enqueue now, delivered or bounced later
 *
 * A program hands a message to the queue and forgets it:
 *
 *   char id[HERALD_QUEUE_ID_SIZE];
 *   herald_enqueue(dev, msg, id, &diag);        // durable when it returns HERALD_OK
 *
 * and a runner (herald_queue_run, "herald queue run") delivers it through the
 * same engine as herald_submit(), retrying deferred recipients with backoff
 * until the queue's lifetime ends.  Many messages share one sync (group
 * commit) through a batch; none is acknowledged before its sync:
 *
 *   herald_enqueue_begin(ctx, &b, &diag);
 *   for (...) herald_enqueue_add(b, dev, msg[i], id[i], &diag);   // not durable yet
 *   herald_enqueue_commit(&b, &diag);   // HERALD_OK: every id above is durable;
 *                                       // an error: none of them is queued
 *
 * The store behind the queue is a module of kind HERALD_KIND_QUEUE ("spool":
 * one file per group commit under a folder), chosen by the device file:
 *   herald: { queue: { module = "spool"; path = "/var/spool/herald";
 *                      min_backoff_s = 300; max_backoff_s = 4000;
 *                      lifetime_s = 432000; delay_warning_s = 0; }; };
 * The queue is opened on first use, not by herald_open(): a program that
 * never queues needs no spool.
 *
 * Errors: HERALD_E_CONFIG (missing, unwritable or foreign-owned spool;
 * diag->where names the folder or FILE:LINE), HERALD_E_LIMIT (message larger
 * than max_message_size), HERALD_E_ADDRESS, HERALD_E_IO (disk full: nothing
 * of the message stays behind), HERALD_E_NOTFOUND (no such queue entry),
 * HERALD_E_MODULE.
 */
#ifndef HERALD_QUEUE_H
#define HERALD_QUEUE_H

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <herald/status.h>
#include <herald/option.h>
#include <herald/message.h>
#include <herald/outcome.h>
#include <herald/trace.h>

#ifdef __cplusplus
extern "C" {
#endif

struct herald_context;
struct herald_device;
struct herald_enqueue_batch;

/* A queue id: [0-9A-Za-z], at most 31 characters, NUL-terminated. */
#define HERALD_QUEUE_ID_SIZE 32
/* herald_queue_id_valid - the form above; never a path component like ".." */
bool herald_queue_id_valid(const char *id);

herald_status herald_enqueue(struct herald_device *dev, const struct herald_message *msg,
                             char id_out[HERALD_QUEUE_ID_SIZE], struct herald_diag *diag);

herald_status herald_enqueue_begin(struct herald_context *ctx,
                                   struct herald_enqueue_batch **batch_out,
                                   struct herald_diag *diag);
/* Written, not yet durable: the id is valid only once the commit returns HERALD_OK.
 * An error here refuses this message only; the batch goes on. */
herald_status herald_enqueue_add(struct herald_enqueue_batch *batch, struct herald_device *dev,
                                 const struct herald_message *msg,
                                 char id_out[HERALD_QUEUE_ID_SIZE], struct herald_diag *diag);
/* Frees the batch whatever the result. */
herald_status herald_enqueue_commit(struct herald_enqueue_batch **batch,
                                    struct herald_diag *diag);
/* Drops every message added and not committed; frees the batch. */
void herald_enqueue_abort(struct herald_enqueue_batch **batch);

/* ---- What the queue holds, per message and per recipient ---------------- */

struct herald_queue_rcpt {
    const char *address;
    enum herald_result state;    /* DEFERRED: still to deliver */
    uint32_t attempts;
    int64_t next_try;            /* unix seconds; 0: due now */
    const char *reply;           /* the last reply ("" before the first attempt) */
    const char *dsn;             /* its enhanced status code, or "" */
    bool possibly_delivered;
    bool notified;               /* its delivery status notification is queued */
};

struct herald_queue_entry {
    char id[HERALD_QUEUE_ID_SIZE];
    int64_t arrival;             /* unix seconds */
    const char *device;          /* the device that delivers it */
    const char *sender;          /* "" for the null sender */
    unsigned dsn_notify;         /* HERALD_DSN_NOTIFY_* */
    enum herald_dsn_ret dsn_ret;
    const char *dsn_envid;       /* NULL for none */
    uint64_t size;               /* body octets */
    bool body_8bit;
    bool held;                   /* "herald queue hold": not delivered until released */
    bool warned;                 /* the delay warning was queued */
    size_t rcpt_count;
    struct herald_queue_rcpt *rcpts;
};

/* ---- The store: module kind HERALD_KIND_QUEUE ---------------------------- */

/* A queue module's options block starts with this, so the core reads the
 * delivery policy whatever the store; HERALD_QUEUE_POLICY_OPTIONS(T) gives the
 * matching rows of its option table (T: the module's options struct). */
struct herald_queue_policy {
    int64_t min_backoff_s;       /* 1..86400, default 300 */
    int64_t max_backoff_s;       /* 1..604800, default 4000 */
    int64_t lifetime_s;          /* 1..31536000, default 432000 (5 days) */
    int64_t delay_warning_s;     /* 0 (never) ..31536000, default 0 */
    int64_t max_message_size;    /* octets of body, 1..2^40, default 10240000 */
};
#define HERALD_QUEUE_POLICY_DEFAULTS { 300, 4000, 432000, 0, 10240000 }
#define HERALD_QUEUE_POLICY_OPTIONS(T)                                                   \
    { "min_backoff_s", HERALD_OPT_INT, offsetof(T, policy.min_backoff_s), 0, 1, 86400,   \
      NULL, NULL, 0, NULL, "first retry interval of a deferred recipient (seconds)" },   \
    { "max_backoff_s", HERALD_OPT_INT, offsetof(T, policy.max_backoff_s), 0, 1, 604800,  \
      NULL, NULL, 0, NULL, "longest retry interval; each retry doubles up to it" },      \
    { "lifetime_s", HERALD_OPT_INT, offsetof(T, policy.lifetime_s), 0, 1, 31536000,      \
      NULL, NULL, 0, NULL, "how long a message is retried before it fails" },            \
    { "delay_warning_s", HERALD_OPT_INT, offsetof(T, policy.delay_warning_s), 0, 0,      \
      31536000, NULL, NULL, 0, NULL, "\"still trying\" notice after this long; 0: never" }, \
    { "max_message_size", HERALD_OPT_INT, offsetof(T, policy.max_message_size), 0, 1,    \
      (int64_t)1 << 40, NULL, NULL, 0, NULL, "largest body accepted (octets)" }
/* herald_queue_policy_check - min <= max backoff: for a module's check() */
herald_status herald_queue_policy_check(const struct herald_queue_policy *p,
                                        struct herald_diag *diag);

/* Claim flags. */
#define HERALD_QUEUE_LOCK 0x1u   /* exclusive: a runner or an admin change */
#define HERALD_QUEUE_BODY 0x2u   /* also make *msg_out, its body read from the store */
#define HERALD_QUEUE_WAIT 0x4u   /* with LOCK: wait a few seconds for another holder */

/*
 * The operations of a queue module.  One thread uses a store at a time.
 * Durability: put/update/remove are staged; commit (puts) and sync (updates,
 * removes) make them durable, as many as possible per sync.  A lock is held
 * from claim to release and is dropped by the system if the process dies.
 */
struct herald_queue_ops {
    uint32_t struct_size;        /* sizeof(struct herald_queue_ops) at build time */
    herald_status (*open)(const void *options, const struct herald_trace *trace,
                          void **state_out, struct herald_diag *diag);
    void (*close)(void *state);
    /* put - write entry (its id is filled in) and msg's body; staged */
    herald_status (*put)(void *state, struct herald_queue_entry *entry,
                         const struct herald_message *msg, void **staged_out,
                         struct herald_diag *diag);
    /* commit - every staged put durable; on an error none of them is queued */
    herald_status (*commit)(void *state, void *const *staged, size_t count,
                            struct herald_diag *diag);
    void (*abort)(void *state, void *const *staged, size_t count);
    /* scan - every id in the queue, streamed (memory does not grow with it) */
    herald_status (*scan_open)(void *state, void **cursor_out, struct herald_diag *diag);
    /* HERALD_E_NOTFOUND at the end */
    herald_status (*scan_next)(void *cursor, char id_out[HERALD_QUEUE_ID_SIZE]);
    void (*scan_close)(void *cursor);
    /* claim - read one entry (and lock it with HERALD_QUEUE_LOCK): HERALD_E_LIMIT
     * when another process holds it, HERALD_E_NOTFOUND when it is gone,
     * HERALD_E_PROTOCOL when it is corrupt (the store set it aside; diag says
     * where).  *entry_out is borrowed until release. */
    herald_status (*claim)(void *state, const char *id, unsigned flags, void **claim_out,
                           struct herald_queue_entry **entry_out,
                           struct herald_message **msg_out, struct herald_diag *diag);
    /* update - record the entry as it is now (recipient states, held, warned);
     * entry is the caller's (a changed copy of the claimed one), strings copied */
    herald_status (*update)(void *claim, const struct herald_queue_entry *entry,
                            struct herald_diag *diag);
    /* remove - the entry leaves the queue */
    herald_status (*remove)(void *claim, struct herald_diag *diag);
    /* sync - every staged update and remove durable */
    herald_status (*sync)(void *state, struct herald_diag *diag);
    void (*release)(void *claim);
    /* quarantined - the entries set aside as corrupt, streamed: fn(arg, id, reason) */
    herald_status (*quarantined)(void *state,
                                 void (*fn)(void *arg, const char *id, const char *reason),
                                 void *arg, struct herald_diag *diag);
};

/* ---- Running and administering the queue --------------------------------- */

#define HERALD_QUEUE_RUN_ONCE 0x1u   /* deliver what is due now, then return */

/*
 * herald_queue_run - deliver what is due, retrying deferred recipients with
 * backoff; with HERALD_QUEUE_RUN_ONCE return once nothing is due now, else
 * run until *stop becomes non-zero (a signal handler sets it).  Several
 * runners may share a store: each message is locked by the one delivering it.
 */
herald_status herald_queue_run(struct herald_context *ctx, unsigned flags,
                               volatile sig_atomic_t *stop, struct herald_diag *diag);

/* herald_queue_list - fn for every entry, streamed (the entry is borrowed for
 * the call); then qfn for every quarantined one (may be NULL). */
typedef void (*herald_queue_entry_fn)(void *arg, const struct herald_queue_entry *entry);
typedef void (*herald_queue_corrupt_fn)(void *arg, const char *id, const char *reason);
herald_status herald_queue_list(struct herald_context *ctx, herald_queue_entry_fn fn,
                                herald_queue_corrupt_fn qfn, void *arg,
                                struct herald_diag *diag);
herald_status herald_queue_show(struct herald_context *ctx, const char *id,
                                 herald_queue_entry_fn fn, void *arg, struct herald_diag *diag);

enum herald_queue_action {
    HERALD_QUEUE_FLUSH = 1,      /* every deferred recipient due now */
    HERALD_QUEUE_HOLD = 2,
    HERALD_QUEUE_RELEASE = 3,
    HERALD_QUEUE_DELETE = 4      /* gone, no notification (the trace says so) */
};
/* herald_queue_act - one action on one entry; HERALD_E_LIMIT while a runner
 * holds it (after waiting up to a few seconds) */
herald_status herald_queue_act(struct herald_context *ctx, const char *id,
                               enum herald_queue_action action, struct herald_diag *diag);
/* herald_queue_flush_all - every entry's deferred recipients due now */
herald_status herald_queue_flush_all(struct herald_context *ctx, struct herald_diag *diag);

#ifdef __cplusplus
}
#endif
#endif
