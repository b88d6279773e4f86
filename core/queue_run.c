/*
 * queue_run.c - herald_queue_run(): deliver what is due, durably
 *
 * One pass streams the store's ids; each due message is claimed (locked:
 * several runners never deliver one message twice), its due recipients go
 * to herald_submit() as one message (so recipients sharing a domain share a
 * transaction, and messages to one hop share its sessions), at most
 * RUN_INFLIGHT at a time.  Finished messages are recorded in batches: every
 * recipient's new state appended, finished messages removed, notifications
 * committed (synced), then the claims released; the store is synced at most
 * every RUN_SYNC_MS and at the end of each pass.  A crash before a sync loses
 * no message (the states on disk are the old ones: the message is delivered
 * again, the window every MTA has).
 *
 * Backoff: a deferred recipient's next try is min_backoff_s * 2^(attempts-1),
 * at most max_backoff_s.  After lifetime_s it fails with its last reply.
 * Dead destinations (Postfix's), in one retry-state table (queue_hold.h):
 *   - a domain all of whose recipients in a message just deferred is not
 *     tried again by this runner before min_backoff_s;
 *   - a hop address that failed before any transaction (no connection, a
 *     refused greeting: herald_outcome_hop_*) is held as long, and a domain
 *     every address of whose route (the device's strategy, asked while some
 *     hop is held) is held is not tried either: behind a dead smart host,
 *     or one provider's MX serving many domains, one failure, not one per
 *     domain.  A route with one address not held is tried, its held
 *     addresses last (herald_message_add_try_last: the device walks them
 *     only once every other address failed).
 * Its other queued messages wait (untouched: no attempt counted, their next
 * try as it was) instead of each knocking on a dead door.  When a hold ends,
 * one message probes the destination and the others wait for its word.
 */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <herald/herald.h>
#include <herald/queue.h>
#include <herald/route.h>
#include "context.h"
#include "queue_hold.h"
#include "queue_store.h"
#include "queue_dsn.h"

#define RUN_INFLIGHT 200          /* messages in delivery at once (2 descriptors each) */
/* Finished messages recorded per sync: also the most a kill can make us
 * deliver again (accepted by the server, not yet recorded), with those in flight. */
#define RUN_BATCH 64
/* A --once run passes again (at most this often) when a probe found a held
 * destination alive while messages waited for its word: they are due now. */
#define RUN_REPASS_MAX 2
#define HOLD_KEY_MAX 300          /* "h:ADDR PORT", "d:DOMAIN" */
/* Addresses of one route checked against the holds; a longer route is tried. */
#define ROUTE_KEYS_MAX 256
#define RUN_IDLE_MAX_S 5          /* a foreground runner looks for new mail this often */
/* States are written at once (a kill -9 loses none of them: they are in the
 * page cache) and synced at most this often: a lost "delivered" record can
 * only cause a second delivery, never a loss, so a power cut may repeat at
 * most this much of the runner's work, as Postfix, which never syncs the
 * removal of a delivered file, may repeat more. */
#define RUN_SYNC_MS 1000

/* One address of a route, as the runner checks it against the holds. */
struct route_addr {
    char key[HOLD_KEY_MAX];           /* hop_key() */
    char label[HOLD_KEY_MAX];         /* its hop, for the trace */
    char text[HOLD_KEY_MAX];          /* the address, as the device sees it */
    uint16_t port;
};

struct job {
    struct run *run;
    void *claim;
    struct herald_queue_entry work;   /* a copy: rcpts array ours, strings the claim's */
    char **owned;                     /* strings we set into work (replies), to free */
    size_t owned_count;
    struct herald_message *msg;       /* from the claim (its body), with the due recipients */
    size_t *index;                    /* msg's recipient i is work.rcpts[index[i]] */
    struct herald_outcome *outcome;
    unsigned probes;                  /* held destinations this message probes */
    struct job *next;
};

struct run {
    struct herald_context *ctx;
    struct queue_store *q;
    const struct herald_queue_policy *pol;
    size_t inflight;
    struct job *done;                 /* finished deliveries, not yet recorded */
    size_t done_count;
    struct job *quiet;                /* claimed, nothing delivered, state changed */
    size_t quiet_count;
    struct queue_hold *hold;          /* destinations that just failed */
    struct route_addr *addrs;         /* ROUTE_KEYS_MAX: one route's addresses */
    size_t waited_probe;              /* recipients left alone for a probe, this pass */
    bool freed;                       /* a held destination worked again, this pass */
    size_t left_alone;
    int64_t next_due;                 /* earliest next_try seen in this pass */
    size_t delivered, deferred, failed, corrupt;
    int64_t synced_ms;                /* when the store was last synced */
    herald_status error;
    struct herald_diag diag;
};

/* now_ms - a monotonic clock for the sync interval */
static int64_t
now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* now_s - wall clock seconds (queue times are stored as such) */
static int64_t
now_s(void)
{
    return (int64_t)time(NULL);
}

/* backoff - min * 2^(attempts-1), at most max */
static int64_t
backoff(const struct herald_queue_policy *p, uint32_t attempts)
{
    int64_t d = p->min_backoff_s;
    uint32_t i;

    for (i = 1; i < attempts && d < p->max_backoff_s; i++)
        d *= 2;
    return d < p->max_backoff_s ? d : p->max_backoff_s;
}

/* own - keep s (a copy) for the work entry; NULL on no memory */
static const char *
own(struct job *j, const char *s)
{
    char **grown = realloc(j->owned, (j->owned_count + 1) * sizeof *grown);
    char *c;

    if (grown == NULL)
        return NULL;
    j->owned = grown;
    c = strdup(s != NULL ? s : "");
    if (c == NULL)
        return NULL;
    j->owned[j->owned_count++] = c;
    return c;
}

/* job_free - release the claim and everything of the job */
static void
job_free(struct run *r, struct job *j)
{
    size_t i;

    /* The message holds a copy of the claim's descriptor: closed first, so
     * the store's own close is the last one (it frees a removed file). */
    herald_message_free(&j->msg);
    if (j->probes > 0)
        queue_hold_probe_end(r->hold, j);   /* probes that got no word are due again */
    if (j->claim != NULL)
        r->q->ops->release(j->claim);
    queue_entry_copy_free(&j->work);
    for (i = 0; i < j->owned_count; i++)
        free(j->owned[i]);
    free(j->owned);
    free(j->index);
    herald_outcome_free(&j->outcome);
    free(j);
}

/* expire - a deferred recipient past the lifetime fails with its last reply */
static void
expire(struct run *r, struct job *j, struct herald_queue_rcpt *rc, int64_t now)
{
    char text[600];

    if (rc->state != HERALD_RESULT_DEFERRED || now < j->work.arrival + r->pol->lifetime_s)
        return;
    snprintf(text, sizeof text, "%s%s(expired after %lld s in the queue)",
             rc->reply && *rc->reply ? rc->reply : "", rc->reply && *rc->reply ? " " : "",
             (long long)r->pol->lifetime_s);
    rc->state = HERALD_RESULT_FAILED;
    rc->reply = own(j, text);
    if (rc->reply == NULL)
        rc->reply = "expired";
    if (rc->dsn == NULL || *rc->dsn == '\0')
        rc->dsn = "4.4.7";
    herald_trace_log(&r->ctx->trace, HERALD_TRACE_INFO, "queue", "%s: %s: failed: %s",
                     j->work.id, rc->address, rc->reply);
    r->failed++;
}

/* all_final - nothing left to deliver */
static bool
all_final(const struct herald_queue_entry *e)
{
    size_t i;

    for (i = 0; i < e->rcpt_count; i++)
        if (e->rcpts[i].state == HERALD_RESULT_DEFERRED)
            return false;
    return true;
}

/* record - write the job's new state (or remove it), notifications first */
static void
record(struct run *r, struct job *j, struct herald_enqueue_batch *dsns)
{
    struct herald_diag d;
    herald_status st;

    memset(&d, 0, sizeof d);
    if (dsns != NULL)
        queue_dsn_make(r->ctx, r->pol, &j->work, j->msg, dsns, now_s());
    if (all_final(&j->work)) {
        st = r->q->ops->remove(j->claim, &d);
        if (st == HERALD_OK)
            herald_trace_log(&r->ctx->trace, HERALD_TRACE_INFO, "queue",
                             "%s: every recipient is final: removed from the queue",
                             j->work.id);
    } else {
        st = r->q->ops->update(j->claim, &j->work, &d);
    }
    if (st != HERALD_OK)
        herald_trace_log(&r->ctx->trace, HERALD_TRACE_ERROR, "queue",
                         "%s: cannot record its state: %s: %s", j->work.id, d.where, d.text);
}

/* sync_store - make every record durable */
static void
sync_store(struct run *r)
{
    struct herald_diag d;

    memset(&d, 0, sizeof d);
    if (r->q->ops->sync(r->q->state, &d) != HERALD_OK) {
        herald_trace_log(&r->ctx->trace, HERALD_TRACE_ERROR, "queue", "sync failed: %s: %s",
                         d.where, d.text);
        if (r->error == HERALD_OK) {
            r->error = HERALD_E_IO;
            r->diag = d;
        }
    }
    r->synced_ms = now_ms();
}

/* flush_done - record every finished job (synced every RUN_SYNC_MS), release them */
static void
flush_done(struct run *r)
{
    struct herald_enqueue_batch *dsns = NULL;
    struct job *lists[2] = { r->done, r->quiet }, *j, *next;
    struct herald_diag d;
    size_t l;

    if (r->done == NULL && r->quiet == NULL)
        return;
    memset(&d, 0, sizeof d);
    if (herald_enqueue_begin(r->ctx, &dsns, &d) != HERALD_OK)
        dsns = NULL;
    for (l = 0; l < 2; l++)
        for (j = lists[l]; j != NULL; j = j->next)
            record(r, j, dsns);
    /* Notifications are durable before the states saying they were sent. */
    if (dsns != NULL && herald_enqueue_commit(&dsns, &d) != HERALD_OK)
        herald_trace_log(&r->ctx->trace, HERALD_TRACE_ERROR, "queue",
                         "cannot queue delivery status notifications: %s: %s", d.where, d.text);
    if (now_ms() - r->synced_ms >= RUN_SYNC_MS)
        sync_store(r);
    for (l = 0; l < 2; l++)
        for (j = lists[l]; j != NULL; j = next) {
            next = j->next;
            job_free(r, j);
        }
    r->done = r->quiet = NULL;
    r->done_count = r->quiet_count = 0;
}

/* hop_key - the retry-state key of one hop address */
static void
hop_key(char *key, size_t cap, const char *address, uint16_t port)
{
    snprintf(key, cap, "h:%s %u", address, (unsigned)port);
}

/* hop_label - "HOST" or "HOST:PORT" (not 25), for the trace */
static void
hop_label(char *label, size_t cap, const char *host, uint16_t port)
{
    if (port == 25)
        snprintf(label, cap, "%s", host);
    else
        snprintf(label, cap, "%s:%u", host, (unsigned)port);
}

/* hold_domains - a domain none of whose recipients here got through is
 * left alone a while; one some got through is free again */
static void
hold_domains(struct run *r, struct job *j, int64_t now)
{
    const struct herald_outcome *o = j->outcome;
    size_t i, k, n = herald_outcome_count(o);
    char key[HOLD_KEY_MAX];

    for (i = 0; i < n; i++) {
        const char *dom = herald_address_domain(herald_message_recipient(j->msg, i));
        bool ok = false;

        if (dom == NULL)
            continue;
        for (k = 0; k < n && !ok; k++) {
            const char *d2 = herald_address_domain(herald_message_recipient(j->msg, k));

            ok = d2 != NULL && strcmp(d2, dom) == 0 &&
                 herald_outcome_result(o, k) != HERALD_RESULT_DEFERRED;
        }
        snprintf(key, sizeof key, "d:%s", dom);
        if (!ok)
            queue_hold_fail(r->hold, key, dom, herald_outcome_reply(o, i),
                            now + r->pol->min_backoff_s);
        else if (queue_hold_ok(r->hold, key))
            r->freed = true;
    }
}

/* hold_hops - a hop address that failed before any transaction is left
 * alone a while (whatever became of the recipients: another hop may have
 * taken them); one a session was made with is free again */
static void
hold_hops(struct run *r, struct job *j, int64_t now)
{
    const struct herald_outcome *o = j->outcome;
    size_t i, n = herald_outcome_hop_count(o);
    char key[HOLD_KEY_MAX], label[HOLD_KEY_MAX];

    for (i = 0; i < n; i++) {
        const char *host = herald_outcome_hop_host(o, i);
        uint16_t port = herald_outcome_hop_port(o, i);

        hop_key(key, sizeof key, herald_outcome_hop_address(o, i), port);
        hop_label(label, sizeof label, host, port);
        if (herald_outcome_hop_failed(o, i)) {
            if (queue_hold_check(r->hold, key, now, NULL, NULL) != QUEUE_HOLD_HELD)
                herald_trace_log(&r->ctx->trace, HERALD_TRACE_INFO, "queue",
                                 "%s: hop %s (%s) failed before any transaction (%s): its "
                                 "messages are left alone for %lld s", j->work.id, label,
                                 herald_outcome_hop_address(o, i), herald_outcome_hop_reply(o, i),
                                 (long long)r->pol->min_backoff_s);
            queue_hold_fail(r->hold, key, label, herald_outcome_hop_reply(o, i),
                            now + r->pol->min_backoff_s);
        } else if (queue_hold_ok(r->hold, key)) {
            r->freed = true;
            herald_trace_log(&r->ctx->trace, HERALD_TRACE_INFO, "queue",
                             "%s: hop %s (%s) answered again: no longer held", j->work.id, label,
                             herald_outcome_hop_address(o, i));
        }
    }
}

/* apply - one message's outcome onto its recipients */
static void
apply(struct run *r, struct job *j)
{
    const struct herald_outcome *o = j->outcome;
    int64_t now = now_s();
    size_t i, n = herald_outcome_count(o);

    herald_trace_log(&r->ctx->trace, HERALD_TRACE_INFO, "queue",
                     "%s: attempt finished, delivery trace id %s", j->work.id,
                     herald_outcome_trace_id(o));
    for (i = 0; i < n && i < herald_message_recipient_count(j->msg); i++) {
        struct herald_queue_rcpt *rc = &j->work.rcpts[j->index[i]];
        enum herald_result res = herald_outcome_result(o, i);
        const char *reply = own(j, herald_outcome_reply(o, i));
        const char *dsn = own(j, herald_outcome_dsn(o, i));

        rc->attempts++;
        rc->reply = reply != NULL ? reply : "";
        rc->dsn = dsn != NULL ? dsn : "";
        rc->possibly_delivered = herald_outcome_possibly_delivered(o, i);
        rc->state = res;
        if (res == HERALD_RESULT_DEFERRED)
            rc->next_try = now + backoff(r->pol, rc->attempts);
        herald_trace_log(&r->ctx->trace, HERALD_TRACE_INFO, "queue", "%s: %s: %s: %s%s",
                         j->work.id, rc->address, herald_result_name(res), rc->reply,
                         res == HERALD_RESULT_DEFERRED ? " (will retry)" : "");
        if (res == HERALD_RESULT_DELIVERED)
            r->delivered++;
        else if (res == HERALD_RESULT_FAILED)
            r->failed++;
        else
            r->deferred++;
        expire(r, j, rc, now);
    }
    hold_domains(r, j, now);
    hold_hops(r, j, now);
    if (j->probes > 0) {
        queue_hold_probe_end(r->hold, j);
        j->probes = 0;
    }
}

/* sent - a delivery ended (from the loop) */
static void
sent(void *arg, struct herald_outcome *outcome)
{
    struct job *j = arg;
    struct run *r = j->run;

    j->outcome = outcome;
    apply(r, j);
    r->inflight--;
    j->next = r->done;
    r->done = j;
    r->done_count++;
}

/* room_or_record - run the loop until there is room, or enough to record */
static bool
room_or_record(void *arg)
{
    const struct run *r = arg;

    return r->inflight <= RUN_INFLIGHT / 2 || r->done_count >= RUN_BATCH;
}

/* none_left_or_record - the scan is done: run until all are in, recording as we go */
static bool
none_left_or_record(void *arg)
{
    const struct run *r = arg;

    return r->inflight == 0 || r->done_count >= RUN_BATCH;
}

static bool
none_left(void *arg)
{
    const struct run *r = arg;

    return r->inflight == 0;
}

/* wait_until - a recipient left alone until until: the runner looks again then */
static void
wait_until(struct run *r, int64_t until)
{
    if (r->next_due == 0 || until < r->next_due)
        r->next_due = until;
    r->left_alone++;
}

/* route_keys - every address dom's route (dev's strategy) would try, into
 * out (cap of them); 0 when there is no route to check: no strategy, no
 * plan, or a longer one.  Runs the loop (never from a loop callback); the
 * plan is shared with the delivery that follows (plan_share.c). */
static size_t
route_keys(struct herald_device *dev, const char *dom, struct route_addr *out, size_t cap)
{
    struct herald_route_plan *plan = NULL;
    struct herald_diag d;
    size_t h, a, n = 0;

    memset(&d, 0, sizeof d);
    if (herald_route(dev, dom, &plan, &d) != HERALD_OK)
        return 0;
    if (herald_plan_error(plan, NULL, NULL, NULL) == HERALD_OK) {
        for (h = 0; h < herald_plan_hop_count(plan); h++) {
            const struct herald_hop *hop = herald_plan_hop(plan, h);

            for (a = 0; a < hop->address_count; a++) {
                if (n == cap) {
                    n = 0;
                    goto done;
                }
                hop_key(out[n].key, sizeof out[n].key, hop->addresses[a].text, hop->port);
                hop_label(out[n].label, sizeof out[n].label, hop->host, hop->port);
                snprintf(out[n].text, sizeof out[n].text, "%s", hop->addresses[a].text);
                out[n].port = hop->port;
                n++;
            }
        }
    }
done:
    herald_plan_free(&plan);
    return n;
}

/*
 * hops_held - is every address of dom's route held?  FREE: one is not (the
 * route's addresses due for a probe become this message's probes, and those
 * held or being probed by another message are tried last by it); HELD or
 * PROBING: leave the recipient alone (*why: the hop whose hold ends first).
 */
static enum queue_hold_state
hops_held(struct run *r, struct job *j, struct herald_device *dev, const char *dom, int64_t now,
          struct queue_hold_view *why, char *label, size_t label_cap)
{
    struct route_addr *ra = r->addrs;
    enum queue_hold_state worst = QUEUE_HOLD_PROBING;
    size_t i, n, due = 0;
    bool held = false;

    if (dev == NULL || !queue_hold_any(r->hold, 'h'))
        return QUEUE_HOLD_FREE;
    n = route_keys(dev, dom, ra, ROUTE_KEYS_MAX);
    if (n == 0)
        return QUEUE_HOLD_FREE;
    for (i = 0; i < n; i++) {
        struct queue_hold_view v;

        switch (queue_hold_check(r->hold, ra[i].key, now, j, &v)) {
        case QUEUE_HOLD_FREE:
            worst = QUEUE_HOLD_FREE;
            break;
        case QUEUE_HOLD_PROBE_DUE:
            due++;
            break;
        case QUEUE_HOLD_HELD:
            if (!held || v.until < why->until) {
                *why = v;
                snprintf(label, label_cap, "%s", ra[i].label);
            }
            held = true;
            break;
        case QUEUE_HOLD_PROBING:
            if (!held) {
                *why = v;
                snprintf(label, label_cap, "%s", ra[i].label);
            }
            break;
        }
    }
    if (worst == QUEUE_HOLD_FREE || due > 0) {
        /* Tried: those whose hold ended are probed by this message alone;
         * those still held (or probed by another) it tries only if every
         * other address fails (the device walks them last). */
        for (i = 0; i < n; i++) {
            struct queue_hold_view v;

            switch (queue_hold_check(r->hold, ra[i].key, now, j, &v)) {
            case QUEUE_HOLD_PROBE_DUE:
                herald_trace_log(&r->ctx->trace, HERALD_TRACE_INFO, "queue",
                                 "%s: hop %s's hold ended: this message tries it again, the "
                                 "others wait for its word", j->work.id, ra[i].label);
                queue_hold_probe(r->hold, ra[i].key, j);
                j->probes++;
                break;
            case QUEUE_HOLD_HELD:
            case QUEUE_HOLD_PROBING:
                (void)herald_message_add_try_last(j->msg, ra[i].text, ra[i].port, v.reason);
                break;
            case QUEUE_HOLD_FREE:
                break;
            }
        }
        return QUEUE_HOLD_FREE;
    }
    return held ? QUEUE_HOLD_HELD : QUEUE_HOLD_PROBING;
}


/* left_alone - a due recipient is not tried now: say why, look again later */
static bool
left_alone(struct run *r, struct job *j, struct herald_device *dev,
           const struct herald_queue_rcpt *rc, int64_t now)
{
    const char *id = j->work.id, *dom = herald_address_domain(rc->address);
    struct queue_hold_view why = { NULL, NULL, 0 };
    char label[HOLD_KEY_MAX], dkey[HOLD_KEY_MAX];
    enum queue_hold_state st, dst;

    if (dom == NULL)
        return false;
    snprintf(dkey, sizeof dkey, "d:%s", dom);
    st = dst = queue_hold_check(r->hold, dkey, now, j, &why);
    if (st == QUEUE_HOLD_HELD) {
        herald_trace_log(&r->ctx->trace, HERALD_TRACE_INFO, "queue",
                         "%s: %s: not tried: %s just deferred, left alone for %lld s", id,
                         rc->address, dom, (long long)(why.until - now));
        wait_until(r, why.until);
        return true;
    }
    if (st == QUEUE_HOLD_PROBING) {
        herald_trace_log(&r->ctx->trace, HERALD_TRACE_INFO, "queue",
                         "%s: %s: not tried: %s just deferred, another message is trying it "
                         "again now", id, rc->address, dom);
        r->waited_probe++;
        wait_until(r, now + 1);
        return true;
    }
    st = hops_held(r, j, dev, dom, now, &why, label, sizeof label);
    if (st == QUEUE_HOLD_HELD) {
        herald_trace_log(&r->ctx->trace, HERALD_TRACE_INFO, "queue",
                         "%s: %s: not tried: hop %s just failed (%s), left alone for %lld s",
                         id, rc->address, label, why.reason, (long long)(why.until - now));
        wait_until(r, why.until);
        return true;
    }
    if (st == QUEUE_HOLD_PROBING) {
        herald_trace_log(&r->ctx->trace, HERALD_TRACE_INFO, "queue",
                         "%s: %s: not tried: hop %s just failed (%s), another message is "
                         "trying it again now", id, rc->address, label, why.reason);
        r->waited_probe++;
        wait_until(r, now + 1);
        return true;
    }
    if (dst == QUEUE_HOLD_PROBE_DUE) {
        herald_trace_log(&r->ctx->trace, HERALD_TRACE_INFO, "queue",
                         "%s: %s's hold ended: this message tries it again, the others wait "
                         "for its word", id, dom);
        queue_hold_probe(r->hold, dkey, j);
        j->probes++;
    }
    return false;
}

/* due_message - the due recipients as a message; 0 when none is due */
static size_t
due_message(struct run *r, struct job *j, struct herald_device *dev, int64_t now,
            bool *changed)
{
    struct herald_queue_entry *e = &j->work;
    size_t i, n = 0;

    j->index = calloc(e->rcpt_count, sizeof *j->index);
    if (j->index == NULL || herald_message_set_sender(j->msg, e->sender) != HERALD_OK)
        return 0;
    if (e->dsn_notify != 0 || e->dsn_ret != HERALD_DSN_RET_DEFAULT || e->dsn_envid != NULL)
        (void)herald_message_set_dsn(j->msg, e->dsn_notify, e->dsn_ret, e->dsn_envid);
    for (i = 0; i < e->rcpt_count; i++) {
        struct herald_queue_rcpt *rc = &e->rcpts[i];

        if (rc->state != HERALD_RESULT_DEFERRED)
            continue;
        if (now >= e->arrival + r->pol->lifetime_s && rc->attempts > 0) {
            expire(r, j, rc, now);
            *changed = true;
            continue;
        }
        if (rc->next_try > now) {
            if (r->next_due == 0 || rc->next_try < r->next_due)
                r->next_due = rc->next_try;
            continue;
        }
        if (left_alone(r, j, dev, rc, now))
            continue;
        if (herald_message_add_recipient(j->msg, rc->address) != HERALD_OK)
            continue;
        j->index[n++] = i;
    }
    return n;
}

/* start - claim one id and submit what is due in it */
static void
start(struct run *r, const char *id, int64_t now)
{
    struct herald_queue_entry *e = NULL;
    struct herald_device *dev = NULL;
    struct herald_diag d;
    bool changed = false;
    struct job *j;
    size_t due;
    herald_status st;

    j = calloc(1, sizeof *j);
    if (j == NULL)
        return;
    j->run = r;
    memset(&d, 0, sizeof d);
    st = r->q->ops->claim(r->q->state, id, HERALD_QUEUE_LOCK | HERALD_QUEUE_BODY, &j->claim,
                          &e, &j->msg, &d);
    if (st != HERALD_OK) {
        free(j);
        if (st == HERALD_E_PROTOCOL)
            r->corrupt++;   /* the store set it aside and traced it */
        else if (st != HERALD_E_LIMIT && st != HERALD_E_NOTFOUND)
            herald_trace_log(&r->ctx->trace, HERALD_TRACE_ERROR, "queue", "%s: %s: %s", id,
                             d.where, d.text);
        return;
    }
    if (queue_entry_copy(e, &j->work) != HERALD_OK) {
        job_free(r, j);
        return;
    }
    if (j->work.held) {
        job_free(r, j);
        return;
    }
    if (herald_device(r->ctx, j->work.device, &dev, &d) != HERALD_OK)
        dev = NULL;
    due = due_message(r, j, dev, now, &changed);
    if (due > 0 && dev == NULL) {
        herald_trace_log(&r->ctx->trace, HERALD_TRACE_ERROR, "queue",
                         "%s: no device \"%s\" in this file: left in the queue", id,
                         j->work.device);
        due = 0;
    }
    if (due == 0) {
        if (changed || queue_dsn_delay_due(r->pol, &j->work, now)) {
            j->next = r->quiet;
            r->quiet = j;
            r->quiet_count++;
        } else {
            job_free(r, j);
        }
        return;
    }
    herald_trace_log(&r->ctx->trace, HERALD_TRACE_INFO, "queue",
                     "%s: delivering to %zu recipient(s) through %s", id, due, j->work.device);
    st = herald_submit(dev, j->msg, sent, j, &d);
    if (st != HERALD_OK) {
        herald_trace_log(&r->ctx->trace, HERALD_TRACE_ERROR, "queue", "%s: cannot submit: %s",
                         id, d.text[0] ? d.text : herald_strerror(st));
        job_free(r, j);
        return;
    }
    r->inflight++;
}

/* pass_one - start one id, then run the loop while too many are in flight */
static bool
pass_one(void *arg, struct queue_store *q, const char *id)
{
    struct run *r = arg;

    (void)q;
    start(r, id, now_s());
    if (r->inflight >= RUN_INFLIGHT)
        (void)herald_loop_run(r->ctx->loop, room_or_record, r, 0);
    if (r->done_count + r->quiet_count >= RUN_BATCH)
        flush_done(r);
    return true;
}

/* pass - one walk over the queue */
static void
pass(struct run *r)
{
    struct herald_diag d;

    memset(&d, 0, sizeof d);
    r->next_due = 0;
    r->waited_probe = 0;
    r->freed = false;
    if (queue_each(r->ctx, pass_one, r, &d) != HERALD_OK) {
        r->error = HERALD_E_IO;
        r->diag = d;
        return;
    }
    while (r->inflight > 0) {
        (void)herald_loop_run(r->ctx->loop, none_left_or_record, r, 0);
        if (r->inflight > 0 && r->done_count < RUN_BATCH)
            break;   /* the loop ran dry: a driver lost a message (herald_run says so) */
        flush_done(r);
    }
    (void)herald_loop_run(r->ctx->loop, none_left, r, 0);
    flush_done(r);
    sync_store(r);   /* a pass ends with everything durable */
}

/* nap - sleep up to secs, in short steps so a stop request is seen at once */
static void
nap(int64_t secs, volatile sig_atomic_t *stop)
{
    int64_t steps = secs * 5;
    struct timespec ts = { 0, 200 * 1000000L };

    while (steps-- > 0 && (stop == NULL || !*stop))
        nanosleep(&ts, NULL);
}

/* herald_queue_run - see herald/queue.h */
herald_status
herald_queue_run(struct herald_context *ctx, unsigned flags, volatile sig_atomic_t *stop,
                 struct herald_diag *diag)
{
    struct queue_store *q;
    struct run *r;
    herald_status st;
    size_t i;

    if (ctx == NULL)
        return herald_diag_set(diag, HERALD_E_INVAL, "", "herald_queue_run: no context");
    st = queue_store_get(ctx, &q, diag);
    if (st != HERALD_OK)
        return st;
    r = calloc(1, sizeof *r);
    if (r == NULL)
        return herald_diag_set(diag, HERALD_E_NOMEM, "", "out of memory");
    r->ctx = ctx;
    r->q = q;
    r->pol = q->policy;
    r->hold = queue_hold_new();
    r->addrs = calloc(ROUTE_KEYS_MAX, sizeof *r->addrs);
    if (r->hold == NULL || r->addrs == NULL) {
        queue_hold_free(&r->hold);
        free(r->addrs);
        free(r);
        return herald_diag_set(diag, HERALD_E_NOMEM, "", "out of memory");
    }
    herald_trace_log(&ctx->trace, HERALD_TRACE_INFO, "queue", "runner started%s",
                     (flags & HERALD_QUEUE_RUN_ONCE) ? " (once)" : "");
    for (;;) {
        pass(r);
        if (flags & HERALD_QUEUE_RUN_ONCE) {
            for (i = 0; i < RUN_REPASS_MAX && r->error == HERALD_OK && r->waited_probe > 0
                        && r->freed && (stop == NULL || !*stop); i++) {
                herald_trace_log(&ctx->trace, HERALD_TRACE_INFO, "queue",
                                 "a held destination answered again: another pass for the %zu "
                                 "recipient(s) that waited for it", r->waited_probe);
                pass(r);
            }
            break;
        }
        if (r->error != HERALD_OK || (stop != NULL && *stop))
            break;
        {
            int64_t wait = r->next_due > 0 ? r->next_due - now_s() : RUN_IDLE_MAX_S;

            nap(wait < 1 ? 1 : wait > RUN_IDLE_MAX_S ? RUN_IDLE_MAX_S : wait, stop);
        }
        if (stop != NULL && *stop)
            break;
    }
    herald_trace_log(&ctx->trace, HERALD_TRACE_INFO, "queue",
                     "runner done: %zu delivered, %zu deferred, %zu failed, %zu corrupt set "
                     "aside, %zu left alone (destination held)", r->delivered, r->deferred,
                     r->failed, r->corrupt, r->left_alone);
    st = r->error;
    if (st != HERALD_OK && diag != NULL)
        *diag = r->diag;
    queue_hold_free(&r->hold);
    free(r->addrs);
    free(r);
    return st;
}
