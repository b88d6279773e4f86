/*
 * queue_admin.c - list, show, flush, hold, release and delete queue entries
 *
 * Listing streams the store (one entry in memory at a time) and takes no
 * lock: it shows what is on disk now.  A change takes the entry's lock
 * (waiting a few seconds for a runner that holds it) and is synced before
 * it returns.  Every change is traced under the entry's id.
 */
#include <stdlib.h>
#include <string.h>

#include <herald/herald.h>
#include <herald/queue.h>
#include "context.h"
#include "queue_store.h"

/* queue_each - see queue_store.h */
herald_status
queue_each(struct herald_context *ctx, queue_each_fn fn, void *arg, struct herald_diag *diag)
{
    char id[HERALD_QUEUE_ID_SIZE];
    struct queue_store *q;
    void *cursor = NULL;
    herald_status st;

    st = queue_store_get(ctx, &q, diag);
    if (st != HERALD_OK)
        return st;
    st = q->ops->scan_open(q->state, &cursor, diag);
    if (st != HERALD_OK)
        return st;
    while (q->ops->scan_next(cursor, id) == HERALD_OK)
        if (!fn(arg, q, id))
            break;
    q->ops->scan_close(cursor);
    return HERALD_OK;
}

struct listing {
    herald_queue_entry_fn fn;
    herald_queue_corrupt_fn qfn;
    void *arg;
};

/* list_one - one entry to the caller, read without a lock */
static bool
list_one(void *arg, struct queue_store *q, const char *id)
{
    const struct listing *l = arg;
    struct herald_queue_entry *e = NULL;
    struct herald_diag d;
    void *claim = NULL;
    herald_status st;

    memset(&d, 0, sizeof d);
    st = q->ops->claim(q->state, id, 0, &claim, &e, NULL, &d);
    if (st == HERALD_OK) {
        l->fn(l->arg, e);
        q->ops->release(claim);
    } else if (st == HERALD_E_PROTOCOL && l->qfn != NULL) {
        /* Not yet set aside (a runner does that under the lock): say so anyway. */
        const char *why = strstr(d.text, "corrupt: ");

        l->qfn(l->arg, id, why != NULL ? why + 9 : d.text);
    }
    return true;
}

/* herald_queue_list - every entry, then every quarantined one */
herald_status
herald_queue_list(struct herald_context *ctx, herald_queue_entry_fn fn,
                  herald_queue_corrupt_fn qfn, void *arg, struct herald_diag *diag)
{
    struct listing l = { fn, qfn, arg };
    struct queue_store *q;
    herald_status st;

    if (ctx == NULL || fn == NULL)
        return herald_diag_set(diag, HERALD_E_INVAL, "", "herald_queue_list: missing argument");
    st = queue_each(ctx, list_one, &l, diag);
    if (st != HERALD_OK || qfn == NULL)
        return st;
    st = queue_store_get(ctx, &q, diag);
    if (st != HERALD_OK)
        return st;
    return q->ops->quarantined(q->state, qfn, arg, diag);
}

/* herald_queue_show - one entry */
herald_status
herald_queue_show(struct herald_context *ctx, const char *id, herald_queue_entry_fn fn,
                  void *arg, struct herald_diag *diag)
{
    struct herald_queue_entry *e = NULL;
    struct queue_store *q;
    void *claim = NULL;
    herald_status st;

    if (ctx == NULL || id == NULL || fn == NULL)
        return herald_diag_set(diag, HERALD_E_INVAL, "", "herald_queue_show: missing argument");
    if (!herald_queue_id_valid(id))
        return herald_diag_set(diag, HERALD_E_NOTFOUND, "", "\"%.40s\" is not a queue id", id);
    st = queue_store_get(ctx, &q, diag);
    if (st != HERALD_OK)
        return st;
    st = q->ops->claim(q->state, id, 0, &claim, &e, NULL, diag);
    if (st != HERALD_OK)
        return st;
    fn(arg, e);
    q->ops->release(claim);
    return HERALD_OK;
}

static const char *const action_names[] = { "", "flushed", "held", "released", "deleted" };

/* act_one - one change to one entry, synced when sync says so */
static herald_status
act_one(struct herald_context *ctx, struct queue_store *q, const char *id,
        enum herald_queue_action action, bool sync, struct herald_diag *diag)
{
    struct herald_queue_entry *e = NULL, work;
    void *claim = NULL;
    herald_status st;
    size_t i;

    st = q->ops->claim(q->state, id, HERALD_QUEUE_LOCK | HERALD_QUEUE_WAIT, &claim, &e, NULL,
                       diag);
    if (st != HERALD_OK)
        return st;
    if (action == HERALD_QUEUE_DELETE) {
        st = q->ops->remove(claim, diag);
    } else {
        st = queue_entry_copy(e, &work);
        if (st != HERALD_OK) {
            q->ops->release(claim);
            return herald_diag_set(diag, st, "", "out of memory");
        }
        if (action == HERALD_QUEUE_FLUSH)
            for (i = 0; i < work.rcpt_count; i++)
                if (work.rcpts[i].state == HERALD_RESULT_DEFERRED)
                    work.rcpts[i].next_try = 0;
        if (action == HERALD_QUEUE_HOLD || action == HERALD_QUEUE_RELEASE)
            work.held = action == HERALD_QUEUE_HOLD;
        st = q->ops->update(claim, &work, diag);
        queue_entry_copy_free(&work);
    }
    if (st == HERALD_OK && sync)
        st = q->ops->sync(q->state, diag);
    q->ops->release(claim);
    if (st == HERALD_OK)
        herald_trace_log(&ctx->trace, action == HERALD_QUEUE_DELETE ? HERALD_TRACE_WARN
                                                                    : HERALD_TRACE_INFO,
                         "queue", "%s: %s by the administrator%s", id, action_names[action],
                         action == HERALD_QUEUE_DELETE ? "; no notification sent" : "");
    return st;
}

/* herald_queue_act - one change to one entry, synced */
herald_status
herald_queue_act(struct herald_context *ctx, const char *id, enum herald_queue_action action,
                 struct herald_diag *diag)
{
    struct queue_store *q;
    herald_status st;

    if (ctx == NULL || id == NULL || action < HERALD_QUEUE_FLUSH || action > HERALD_QUEUE_DELETE)
        return herald_diag_set(diag, HERALD_E_INVAL, "", "herald_queue_act: bad argument");
    if (!herald_queue_id_valid(id))
        return herald_diag_set(diag, HERALD_E_NOTFOUND, "", "\"%.40s\" is not a queue id", id);
    st = queue_store_get(ctx, &q, diag);
    if (st != HERALD_OK)
        return st;
    return act_one(ctx, q, id, action, true, diag);
}

/* flush_one - one entry due now; synced with the others at the end */
static bool
flush_one(void *arg, struct queue_store *q, const char *id)
{
    struct herald_diag d;

    memset(&d, 0, sizeof d);
    (void)act_one(arg, q, id, HERALD_QUEUE_FLUSH, false, &d);
    return true;
}

/* herald_queue_flush_all - every entry due now, with one sync */
herald_status
herald_queue_flush_all(struct herald_context *ctx, struct herald_diag *diag)
{
    struct queue_store *q;
    herald_status st;

    if (ctx == NULL)
        return herald_diag_set(diag, HERALD_E_INVAL, "", "herald_queue_flush_all: no context");
    st = queue_each(ctx, flush_one, ctx, diag);
    if (st == HERALD_OK)
        st = queue_store_get(ctx, &q, diag);
    if (st == HERALD_OK)
        st = q->ops->sync(q->state, diag);
    return st;
}
