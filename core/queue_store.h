/*
 * queue_store.h - the context's queue, opened on first use (internal)
 *
 * queue_store_get() opens the store named by herald.queue (default: the
 * "spool" module with its defaults) the first time a queue function needs
 * it; herald_close() closes it (queue_store_close).  The store's policy
 * (backoff, lifetime, ...) is the first member of its options block.
 */
#ifndef HERALD_CORE_QUEUE_STORE_H
#define HERALD_CORE_QUEUE_STORE_H

#include <stdbool.h>
#include <herald/queue.h>

struct herald_context;

struct queue_store {
    const struct herald_module *mod;
    const struct herald_queue_ops *ops;
    const struct herald_queue_policy *policy;
    void *state;
    char where[256];               /* FILE:LINE of herald.queue, or the module's path */
};

herald_status queue_store_get(struct herald_context *ctx, struct queue_store **q_out,
                              struct herald_diag *diag);
void queue_store_close(struct herald_context *ctx);

/* queue_each - fn(arg, q, id) for every id in the context's store, streamed
 * (one id in memory at a time), until fn returns false; HERALD_OK, or why the
 * store or its scan could not be opened.  The one walk over the queue: list,
 * flush and the runner's pass go through it. */
typedef bool (*queue_each_fn)(void *arg, struct queue_store *q, const char *id);
herald_status queue_each(struct herald_context *ctx, queue_each_fn fn, void *arg,
                         struct herald_diag *diag);

/* queue_entry_copy - a working copy of e whose rcpts array the caller owns
 * (strings still borrowed from e); free with queue_entry_copy_free */
herald_status queue_entry_copy(const struct herald_queue_entry *e,
                               struct herald_queue_entry *copy);
void queue_entry_copy_free(struct herald_queue_entry *copy);

#endif
