/*
 * submit.c - herald_submit() and herald_run(): many messages in flight
 *
 * herald_send() runs the loop for one message.  A pipeline that sends many
 * submits them all and runs the loop once: deliveries overlap, DNS answers
 * and SMTP sessions are shared, and each message's callback gets its outcome.
 * A callback runs from the loop (herald_run, herald_send or herald_close),
 * never from inside herald_submit(), so the caller's state is never changed
 * under its own feet.
 */
#include <stdlib.h>

#include <herald/herald.h>
#include <herald/loop.h>
#include "context.h"
#include "delivery.h"

struct submission {
    struct herald_context *ctx;
    herald_sent_fn fn;
    void *arg;
    struct herald_outcome *outcome;
};

/* fire - hand the outcome to the caller, from the loop */
static void
fire(void *arg)
{
    struct submission *sub = arg;
    struct herald_context *ctx = sub->ctx;

    ctx->pending--;
    sub->fn(sub->arg, sub->outcome);   /* the outcome is the caller's now */
    free(sub);
}

/* submit_done - the delivery ended: defer the callback to the next loop turn */
static void
submit_done(void *arg, struct herald_outcome *outcome)
{
    struct submission *sub = arg;

    sub->outcome = outcome;
    if (herald_loop_defer(sub->ctx->loop, fire, sub) != HERALD_OK)
        fire(sub);   /* no memory for the deferral: late is better than never */
}

herald_status
herald_submit(struct herald_device *dev, const struct herald_message *msg, herald_sent_fn fn,
              void *arg, struct herald_diag *diag)
{
    struct herald_delivery *d = NULL;
    struct submission *sub;
    herald_status st;

    if (dev == NULL || msg == NULL || fn == NULL)
        return herald_diag_set(diag, HERALD_E_INVAL, "", "herald_submit: missing argument");
    if (herald_message_recipient_count(msg) == 0)
        return herald_diag_set(diag, HERALD_E_INVAL, dev->conf->name, "message has no recipient");
    sub = calloc(1, sizeof *sub);
    if (sub == NULL)
        return herald_diag_set(diag, HERALD_E_NOMEM, dev->conf->name, "out of memory");
    sub->ctx = dev->ctx;
    sub->fn = fn;
    sub->arg = arg;
    st = delivery_new(msg, &dev->env, dev->ctx->sink, submit_done, sub, &d);
    if (st != HERALD_OK) {
        free(sub);
        return herald_diag_set(diag, st, dev->conf->name, "cannot start delivery: %s",
                               herald_strerror(st));
    }
    dev->ctx->pending++;
    dev->ops->deliver(dev->state, d);
    return HERALD_OK;
}

static bool
nothing_pending(void *arg)
{
    const struct herald_context *ctx = arg;

    return ctx->pending == 0;
}

herald_status
herald_run(struct herald_context *ctx, uint64_t timeout_ms, struct herald_diag *diag)
{
    herald_status st;

    if (ctx == NULL)
        return herald_diag_set(diag, HERALD_E_INVAL, "", "herald_run: no context");
    st = herald_loop_run(ctx->loop, nothing_pending, ctx, timeout_ms);
    if (ctx->pending == 0) {
        context_free_retired_sinks(ctx);
        return HERALD_OK;
    }
    if (st == HERALD_E_TIMEOUT)
        return herald_diag_set(diag, st, "", "%zu message(s) still in flight after %llu ms",
                               ctx->pending, (unsigned long long)timeout_ms);
    /* The loop ran dry with messages pending: a driver lost one. */
    return herald_diag_set(diag, HERALD_E_IO, "", "%zu message(s) can no longer finish (%s)",
                           ctx->pending, herald_strerror(st));
}

size_t
herald_pending(const struct herald_context *ctx)
{
    return ctx != NULL ? ctx->pending : 0;
}
