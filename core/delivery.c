/*
 * delivery.c - one message going through one device: reports in, outcome out
 *
 * The outcome is built when the delivery starts, with every recipient
 * DEFERRED "no outcome recorded" (outcome.c), so finishing can never fail
 * for lack of memory and a recipient the driver forgot is retried, never
 * dropped.  herald_delivery_done() hands the outcome to the caller's
 * on_done and frees the delivery.
 */
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "delivery.h"
#include "env.h"
#include "outcome.h"

struct herald_delivery {
    const struct herald_message *msg;   /* borrowed: outlives the delivery */
    struct herald_env *env;             /* borrowed; may be NULL in tests */
    struct herald_trace trace;          /* this delivery's scope, fresh id */
    delivery_done_fn on_done;
    void *arg;
    struct herald_outcome *outcome;     /* owned until on_done */
    bool *reported;                     /* one flag per recipient */
};

/* delivery_device_name - for trace lines: the env's device name, if any */
static const char *
delivery_device_name(const struct herald_delivery *d)
{
    return d->env != NULL && d->env->device_name != NULL ? d->env->device_name : "-";
}

/* delivery_new - a delivery of msg with every recipient pending and a fresh trace id */
herald_status
delivery_new(const struct herald_message *msg, struct herald_env *env, struct trace_sink *sink,
             delivery_done_fn on_done, void *arg, struct herald_delivery **d_out)
{
    struct herald_delivery *d;
    const char **addrs = NULL;
    size_t n, i, size = 0;
    herald_status st;

    if (msg == NULL || d_out == NULL)
        return HERALD_E_INVAL;
    d = calloc(1, sizeof *d);
    if (d == NULL)
        return HERALD_E_NOMEM;
    d->msg = msg;
    d->env = env;
    d->on_done = on_done;
    d->arg = arg;
    trace_scope_init(&d->trace, sink, NULL);
    n = herald_message_recipient_count(msg);
    if (n > 0) {
        addrs = calloc(n, sizeof *addrs);
        d->reported = calloc(n, sizeof *d->reported);
        if (addrs == NULL || d->reported == NULL) {
            free(addrs);
            free(d->reported);
            free(d);
            return HERALD_E_NOMEM;
        }
        for (i = 0; i < n; i++)
            addrs[i] = herald_message_recipient(msg, i);
    }
    st = outcome_new(n, addrs, herald_trace_id(&d->trace), &d->outcome);
    free(addrs);
    if (st != HERALD_OK) {
        free(d->reported);
        free(d);
        return st;
    }
    (void)herald_message_body_size(msg, &size);
    herald_trace_log(&d->trace, HERALD_TRACE_INFO, "delivery",
                     "device %s: message from <%s>, %zu recipient%s, %zu octets",
                     delivery_device_name(d), herald_message_sender(msg), n, n == 1 ? "" : "s",
                     size);
    *d_out = d;
    return HERALD_OK;
}

/* herald_delivery_message - the message being delivered; borrowed */
const struct herald_message *
herald_delivery_message(const struct herald_delivery *d)
{
    return d != NULL ? d->msg : NULL;
}

/* herald_delivery_trace - this delivery's trace scope; borrowed */
const struct herald_trace *
herald_delivery_trace(const struct herald_delivery *d)
{
    return d != NULL ? &d->trace : NULL;
}

/* herald_delivery_env - the env of the device doing the delivery; borrowed */
struct herald_env *
herald_delivery_env(const struct herald_delivery *d)
{
    return d != NULL ? d->env : NULL;
}

/* trace_outcome - one "outcome <rcpt>: <result> <reply>" line for recipient i */
static void
trace_outcome(const struct herald_delivery *d, size_t i, enum herald_trace_level level)
{
    const struct herald_outcome *o = d->outcome;
    const char *host = herald_outcome_host(o, i), *peer = herald_outcome_peer(o, i);

    herald_trace_log(&d->trace, level, "delivery", "outcome %s: %s %s%s%s%s%s%s%s%s",
                     herald_outcome_address(o, i),
                     herald_result_name(herald_outcome_result(o, i)), herald_outcome_reply(o, i),
                     host[0] ? " (host " : "", host, host[0] ? ")" : "",
                     peer[0] ? " (peer " : "", peer, peer[0] ? ")" : "",
                     herald_outcome_possibly_delivered(o, i) ? " (possibly delivered)" : "");
}

/* herald_delivery_report - record recipient i's result (copied) and trace it */
herald_status
herald_delivery_report(struct herald_delivery *d, size_t i, const struct herald_report *report)
{
    herald_status st;

    if (d == NULL || report == NULL || report->reply == NULL ||
        i >= herald_outcome_count(d->outcome))
        return HERALD_E_INVAL;
    st = outcome_record(d->outcome, i, report->result, report->reply, report->dsn, report->host,
                        report->peer, report->possibly_delivered);
    if (st != HERALD_OK)
        return st;
    d->reported[i] = true;
    trace_outcome(d, i, HERALD_TRACE_INFO);
    return HERALD_OK;
}

/* herald_delivery_hop - record what one hop address did (copied) */
herald_status
herald_delivery_hop(struct herald_delivery *d, const char *host, uint16_t port,
                    const char *address, bool failed, const char *reply)
{
    if (d == NULL)
        return HERALD_E_INVAL;
    return outcome_hop(d->outcome, host, port, address, failed, reply != NULL ? reply : "");
}

/* herald_delivery_done - build the outcome, hand it to on_done, free d */
void
herald_delivery_done(struct herald_delivery *d)
{
    struct herald_outcome *o;
    delivery_done_fn on_done;
    void *arg;
    size_t i, n;

    if (d == NULL)
        return;
    o = d->outcome;
    n = herald_outcome_count(o);
    for (i = 0; i < n; i++) {
        /* Still DEFERRED "no outcome recorded" from delivery_new: say whose bug it is. */
        if (!d->reported[i]) {
            trace_outcome(d, i, HERALD_TRACE_WARN);
            herald_trace_log(&d->trace, HERALD_TRACE_WARN, "delivery",
                             "the driver of device %s recorded no outcome for %s (a driver bug);"
                             " it stays deferred", delivery_device_name(d),
                             herald_outcome_address(o, i));
        }
    }
    herald_trace_log(&d->trace, HERALD_TRACE_INFO, "delivery",
                     "device %s: done: %zu delivered, %zu deferred, %zu failed",
                     delivery_device_name(d), herald_outcome_tally(o, HERALD_RESULT_DELIVERED),
                     herald_outcome_tally(o, HERALD_RESULT_DEFERRED),
                     herald_outcome_tally(o, HERALD_RESULT_FAILED));
    on_done = d->on_done;
    arg = d->arg;
    free(d->reported);
    free(d);
    if (on_done != NULL)
        on_done(arg, o);   /* ownership of o passes to the caller */
    else
        herald_outcome_free(&o);
}

/* delivery_free_unfinished - a delivery its driver never ended */
void
delivery_free_unfinished(struct herald_delivery *d)
{
    if (d == NULL)
        return;
    herald_outcome_free(&d->outcome);
    free(d->reported);
    free(d);
}
