/*
 * queue.c - the context's queue store and herald_enqueue (herald/queue.h)
 *
 * The store is opened on first use: a program that only sends never needs a
 * spool, and a spool that is missing or unsafe is reported when it is used,
 * with the folder or the FILE:LINE of herald.queue.
 *
 * A batch stages each message in the store (written, not synced) and
 * commits them with one sync; the ids are acknowledged only then.
 */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <herald/queue.h>
#include "context.h"
#include "queue_store.h"
#include "registry.h"

struct herald_enqueue_batch {
    struct herald_context *ctx;
    struct queue_store *q;
    void **staged;
    char (*ids)[HERALD_QUEUE_ID_SIZE];
    size_t count, cap;
};

/* herald_queue_id_valid - [0-9A-Za-z], 1..31 characters */
bool
herald_queue_id_valid(const char *id)
{
    size_t n;

    if (id == NULL)
        return false;
    for (n = 0; id[n] != '\0'; n++) {
        char c = id[n];

        if (n >= HERALD_QUEUE_ID_SIZE - 1 ||
            !((c >= '0' && c <= '9') || (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z')))
            return false;
    }
    return n > 0;
}

/* herald_queue_policy_check - the rules one option row cannot say */
herald_status
herald_queue_policy_check(const struct herald_queue_policy *p, struct herald_diag *diag)
{
    if (p->min_backoff_s > p->max_backoff_s)
        return herald_diag_set(diag, HERALD_E_CONFIG, "",
                               "min_backoff_s (%lld) is larger than max_backoff_s (%lld)",
                               (long long)p->min_backoff_s, (long long)p->max_backoff_s);
    return HERALD_OK;
}

/* queue_store_get - the store, opened the first time */
herald_status
queue_store_get(struct herald_context *ctx, struct queue_store **q_out,
                struct herald_diag *diag)
{
    const struct config_core *core = &ctx->config->core;
    const struct herald_module *mod = core->queue.module;
    const void *options = core->queue.options;
    struct queue_store *q;
    struct herald_diag d;
    herald_status st;

    if (ctx->queue != NULL) {
        *q_out = ctx->queue;
        return HERALD_OK;
    }
    if (mod == NULL) {
        /* No herald.queue group: the spool with its defaults. */
        st = registry_find(ctx->registry, HERALD_KIND_QUEUE, "spool", &mod, diag);
        if (st != HERALD_OK)
            return st;
        if (mod->options_size > 0) {
            void *block = arena_alloc(ctx->arena, mod->options_size);

            if (block == NULL)
                return herald_diag_set(diag, HERALD_E_NOMEM, "", "out of memory");
            if (mod->options_defaults != NULL)
                memcpy(block, mod->options_defaults, mod->options_size);
            options = block;
        }
    }
    if (options == NULL || mod->options_size < sizeof(struct herald_queue_policy))
        return herald_diag_set(diag, HERALD_E_MODULE, mod->name,
                               "queue module \"%s\" has no delivery policy in its options",
                               mod->name);
    q = calloc(1, sizeof *q);
    if (q == NULL)
        return herald_diag_set(diag, HERALD_E_NOMEM, "", "out of memory");
    q->mod = mod;
    q->policy = options;
    snprintf(q->where, sizeof q->where, "%s",
             core->queue_where[0] ? core->queue_where : mod->name);
    /* The loader checked the table (module_abi.c): every member is required. */
    q->ops = mod->ops;
    memset(&d, 0, sizeof d);
    st = q->ops->open(options, &ctx->trace, &q->state, &d);
    if (st != HERALD_OK) {
        free(q);
        /* The store names its folder; the text says which setting chose it. */
        if (core->queue_where[0])
            return herald_diag_set(diag, st, d.where, "%s (herald.queue at %s)", d.text,
                                   core->queue_where);
        return herald_diag_set(diag, st, d.where, "%s", d.text);
    }
    ctx->queue = q;
    *q_out = q;
    return HERALD_OK;
}

/* queue_store_close - from herald_close */
void
queue_store_close(struct herald_context *ctx)
{
    if (ctx->queue == NULL)
        return;
    if (ctx->queue->ops->close != NULL)
        ctx->queue->ops->close(ctx->queue->state);
    free(ctx->queue);
    ctx->queue = NULL;
}

/* queue_entry_copy - a copy with its own rcpts array */
herald_status
queue_entry_copy(const struct herald_queue_entry *e, struct herald_queue_entry *copy)
{
    *copy = *e;
    copy->rcpts = calloc(e->rcpt_count ? e->rcpt_count : 1, sizeof *copy->rcpts);
    if (copy->rcpts == NULL)
        return HERALD_E_NOMEM;
    memcpy(copy->rcpts, e->rcpts, e->rcpt_count * sizeof *copy->rcpts);
    return HERALD_OK;
}

void
queue_entry_copy_free(struct herald_queue_entry *copy)
{
    free(copy->rcpts);
    copy->rcpts = NULL;
}

/* herald_enqueue_begin - an empty batch on ctx's queue */
herald_status
herald_enqueue_begin(struct herald_context *ctx, struct herald_enqueue_batch **batch_out,
                     struct herald_diag *diag)
{
    struct herald_enqueue_batch *b;
    struct queue_store *q;
    herald_status st;

    if (ctx == NULL || batch_out == NULL)
        return herald_diag_set(diag, HERALD_E_INVAL, "", "herald_enqueue_begin: missing argument");
    st = queue_store_get(ctx, &q, diag);
    if (st != HERALD_OK)
        return st;
    b = calloc(1, sizeof *b);
    if (b == NULL)
        return herald_diag_set(diag, HERALD_E_NOMEM, "", "out of memory");
    b->ctx = ctx;
    b->q = q;
    *batch_out = b;
    return HERALD_OK;
}

/* grow - room for one more staged message */
static bool
grow(struct herald_enqueue_batch *b)
{
    size_t cap;
    void **s;
    char (*ids)[HERALD_QUEUE_ID_SIZE];

    if (b->count < b->cap)
        return true;
    cap = b->cap ? b->cap * 2 : 16;
    s = realloc(b->staged, cap * sizeof *s);
    if (s == NULL)
        return false;
    b->staged = s;
    ids = realloc(b->ids, cap * sizeof *ids);
    if (ids == NULL)
        return false;
    b->ids = ids;
    b->cap = cap;
    return true;
}

/* herald_enqueue_add - check, then stage msg in the store */
herald_status
herald_enqueue_add(struct herald_enqueue_batch *b, struct herald_device *dev,
                   const struct herald_message *msg, char id_out[HERALD_QUEUE_ID_SIZE],
                   struct herald_diag *diag)
{
    struct herald_queue_entry e;
    const char *sender;
    size_t i, n, size = 0;
    herald_status st;

    if (b == NULL || dev == NULL || msg == NULL || id_out == NULL || dev->ctx != b->ctx)
        return herald_diag_set(diag, HERALD_E_INVAL, "", "herald_enqueue_add: bad argument");
    n = herald_message_recipient_count(msg);
    if (n == 0)
        return herald_diag_set(diag, HERALD_E_INVAL, dev->conf->name, "message has no recipient");
    sender = herald_message_sender(msg);
    /* A message in the queue is delivered much later: refuse a bad address now. */
    if (*sender != '\0' && (st = herald_address_check(sender, 0, diag)) != HERALD_OK)
        return st;
    st = herald_message_body_size(msg, &size);
    if (st != HERALD_OK || (uint64_t)size > (uint64_t)b->q->policy->max_message_size)
        return herald_diag_set(diag, HERALD_E_LIMIT, b->q->where,
                               "message too large: %zu octets, the queue takes at most %lld "
                               "(max_message_size)", size,
                               (long long)b->q->policy->max_message_size);
    if (!grow(b))
        return herald_diag_set(diag, HERALD_E_NOMEM, "", "out of memory");
    memset(&e, 0, sizeof e);
    e.rcpts = calloc(n, sizeof *e.rcpts);
    if (e.rcpts == NULL)
        return herald_diag_set(diag, HERALD_E_NOMEM, "", "out of memory");
    for (i = 0; i < n; i++) {
        e.rcpts[i].address = herald_message_recipient(msg, i);
        st = herald_address_check(e.rcpts[i].address, 1, diag);
        if (st != HERALD_OK) {
            free(e.rcpts);
            return st;
        }
        e.rcpts[i].reply = "";
        e.rcpts[i].dsn = "";
    }
    e.rcpt_count = n;
    e.arrival = (int64_t)time(NULL);
    e.device = dev->conf->name;
    e.sender = sender;
    e.dsn_notify = herald_message_dsn_notify(msg);
    e.dsn_ret = herald_message_dsn_ret(msg);
    e.dsn_envid = herald_message_dsn_envid(msg);
    e.size = size;
    e.body_8bit = herald_message_body_8bit(msg);
    st = b->q->ops->put(b->q->state, &e, msg, &b->staged[b->count], diag);
    free(e.rcpts);
    if (st != HERALD_OK)
        return st;
    memcpy(b->ids[b->count], e.id, HERALD_QUEUE_ID_SIZE);
    memcpy(id_out, e.id, HERALD_QUEUE_ID_SIZE);
    b->count++;
    return HERALD_OK;
}

/* batch_free - the batch itself */
static void
batch_free(struct herald_enqueue_batch **bp)
{
    free((*bp)->staged);
    free((*bp)->ids);
    free(*bp);
    *bp = NULL;
}

/* herald_enqueue_commit - one sync for the whole batch, then each id is queued */
herald_status
herald_enqueue_commit(struct herald_enqueue_batch **bp, struct herald_diag *diag)
{
    struct herald_enqueue_batch *b;
    herald_status st;
    size_t i;

    if (bp == NULL || *bp == NULL)
        return herald_diag_set(diag, HERALD_E_INVAL, "", "herald_enqueue_commit: no batch");
    b = *bp;
    st = b->q->ops->commit(b->q->state, b->staged, b->count, diag);
    if (st == HERALD_OK && herald_trace_enabled(&b->ctx->trace, HERALD_TRACE_INFO))
        for (i = 0; i < b->count; i++)
            herald_trace_log(&b->ctx->trace, HERALD_TRACE_INFO, "queue", "%s: queued",
                             b->ids[i]);
    batch_free(bp);
    return st;
}

/* herald_enqueue_abort - nothing of the batch stays */
void
herald_enqueue_abort(struct herald_enqueue_batch **bp)
{
    if (bp == NULL || *bp == NULL)
        return;
    (*bp)->q->ops->abort((*bp)->q->state, (*bp)->staged, (*bp)->count);
    batch_free(bp);
}

/* herald_enqueue - one message, durable on return */
herald_status
herald_enqueue(struct herald_device *dev, const struct herald_message *msg,
               char id_out[HERALD_QUEUE_ID_SIZE], struct herald_diag *diag)
{
    struct herald_enqueue_batch *b = NULL;
    char id[HERALD_QUEUE_ID_SIZE];
    herald_status st;

    if (dev == NULL || msg == NULL || id_out == NULL)
        return herald_diag_set(diag, HERALD_E_INVAL, "", "herald_enqueue: missing argument");
    st = herald_enqueue_begin(dev->ctx, &b, diag);
    if (st != HERALD_OK)
        return st;
    st = herald_enqueue_add(b, dev, msg, id, diag);
    if (st != HERALD_OK) {
        herald_enqueue_abort(&b);
        return st;
    }
    st = herald_enqueue_commit(&b, diag);
    if (st == HERALD_OK)
        memcpy(id_out, id, sizeof id);
    return st;
}
