/*
 * device_email.c - the email device: a route strategy paired with a transport
 *
 * For each recipient domain of a message, the route strategy (a module)
 * plans an ordered list of hops; the device then walks every address of
 * every hop in order, handing the recipients still pending to the transport
 * (a module) one address at a time, until each recipient has a final word.
 *
 * Policy (DESIGN.md "Outcomes"): a session-level failure (no connection,
 * 4xx/5xx greeting, EHLO and HELO refused, connection lost before the end of
 * DATA) moves on to the next address, then the next hop.  Recipients left
 * when every hop was tried are DEFERRED with the last reply, or FAILED when
 * every hop refused with a 5xx.  A word on a recipient from a peer (RCPT
 * 5xx/4xx, the reply to the final dot, a timeout after it) is final for this
 * attempt: it is never handed to another hop.
 *
 * Addresses the message says to try last (herald_message_try_last: the queue
 * runner's held-down dead hops) are skipped in the walk and tried in a second
 * walk, in plan order, only once every other address failed: a message with a
 * live hop does not knock on a dead one first, and never loses a chance of
 * delivery to a hold.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <herald/device.h>
#include <herald/message.h>
#include <herald/module.h>
#include <herald/option.h>
#include <herald/route.h>
#include <herald/trace.h>
#include <herald/transport.h>

struct email_options {
    struct herald_module_ref route;
    struct herald_module_ref transport;
    int64_t parallel_domains;
};

#define O(f) offsetof(struct email_options, f)
static const struct herald_option email_option_table[] = {
    { "route", HERALD_OPT_MODULE, O(route), HERALD_OPT_REQUIRED, 0, 0, NULL, NULL,
      HERALD_KIND_ROUTE, "strategy", "route strategy and its options" },
    { "transport", HERALD_OPT_MODULE, O(transport), HERALD_OPT_REQUIRED, 0, 0, NULL, NULL,
      HERALD_KIND_TRANSPORT, "name", "transport and its options" },
    { "parallel_domains", HERALD_OPT_INT, O(parallel_domains), 0, 1, 1000, NULL, NULL, 0, NULL,
      "recipient domains of one message delivered at the same time" },
    HERALD_OPT_END
};
#undef O

/* Like Postfix's default_destination_concurrency_limit order of magnitude:
 * enough to overlap slow servers, far from the descriptor limit. */
static const struct email_options email_defaults = { .parallel_domains = 16 };

struct email_device {
    const struct email_options *opts;
    struct herald_env *env;
    void *transport_state;
};

struct email_delivery;

/* One recipient domain of one message, walking its plan. */
struct domain_run {
    struct email_delivery *ed;
    char *domain;
    size_t count;                  /* recipients of this domain */
    size_t *index;                 /* their indexes in the message */
    bool *final;
    struct herald_route_plan *plan;
    size_t hop, addr;              /* next attempt */
    size_t put_last;               /* addresses the message tries last, skipped so far */
    bool last_pass;                /* walking the plan again for those alone */
    size_t attempts;
    bool all_permanent;            /* every session failure so far was a 5xx */
    char *last_reply, *last_dsn, *last_host, *last_peer;
    bool finished;
};

struct email_delivery {
    struct email_device *dev;
    struct herald_delivery *delivery;
    const struct herald_trace *trace;
    size_t ndomains;
    struct domain_run *domains;
    size_t unfinished;
    size_t next_start;             /* first domain not started yet */
    size_t running;                /* started and not finished */
    bool pumping;                  /* pump() is on the stack: it will see the change */
};

static void domain_next_attempt(struct domain_run *dr);
static void pump(struct email_delivery *ed);

/* set_text - replace a heap string; keeps the old one when memory is short */
static void
set_text(char **slot, const char *s)
{
    char *d = strdup(s ? s : "");

    if (d != NULL) {
        free(*slot);
        *slot = d;
    }
}

static void
email_delivery_free(struct email_delivery *ed)
{
    size_t i;

    for (i = 0; i < ed->ndomains; i++) {
        struct domain_run *dr = &ed->domains[i];

        free(dr->domain);
        free(dr->index);
        free(dr->final);
        herald_plan_free(&dr->plan);
        free(dr->last_reply);
        free(dr->last_dsn);
        free(dr->last_host);
        free(dr->last_peer);
    }
    free(ed->domains);
    free(ed);
}

/* domain_finish - count a finished domain; the last one ends the delivery */
static void
domain_finish(struct domain_run *dr)
{
    struct email_delivery *ed = dr->ed;

    if (dr->finished)
        return;
    dr->finished = true;
    ed->running--;
    if (--ed->unfinished == 0) {
        struct herald_delivery *d = ed->delivery;

        email_delivery_free(ed);
        herald_delivery_done(d);
        return;
    }
    pump(ed);
}

/* report_pending - give every recipient of dr still pending the same result */
static void
report_pending(struct domain_run *dr, enum herald_result result, const char *reply,
               const char *dsn, const char *host, const char *peer)
{
    struct herald_report rep = {
        .result = result, .reply = reply, .dsn = dsn,
        .host = host && *host ? host : NULL, .peer = peer && *peer ? peer : NULL,
    };
    size_t i;

    for (i = 0; i < dr->count; i++) {
        if (dr->final[i])
            continue;
        herald_delivery_report(dr->ed->delivery, dr->index[i], &rep);
        dr->final[i] = true;
    }
}

static size_t
pending_count(const struct domain_run *dr)
{
    size_t i, n = 0;

    for (i = 0; i < dr->count; i++)
        n += !dr->final[i];
    return n;
}

/* on_job_done - one hop address tried: record final words, move on if needed */
static void
on_job_done(void *arg, const struct herald_job_result *res)
{
    struct domain_run *dr = arg;
    const struct herald_hop *hop = herald_plan_hop(dr->plan, dr->hop);
    size_t i, j = 0;

    /* For the queue runner's hold-down of dead hops: a hop that failed before
     * any transaction, or one a session was made with (it is alive). */
    if (res->hop_failed || *res->peer)
        (void)herald_delivery_hop(dr->ed->delivery, hop->host, hop->port,
                                  hop->addresses[dr->addr].text, res->hop_failed, res->reply);
    for (i = 0; i < dr->count; i++) {
        if (dr->final[i])
            continue;
        if (j < res->count && res->rcpts[j].decided) {
            const struct herald_rcpt_word *w = &res->rcpts[j];
            struct herald_report rep = {
                .result = w->result, .reply = w->reply, .dsn = w->dsn, .host = hop->host,
                .peer = *res->peer ? res->peer : NULL,
                .possibly_delivered = w->possibly_delivered,
            };
            herald_delivery_report(dr->ed->delivery, dr->index[i], &rep);
            dr->final[i] = true;
        }
        j++;
    }
    if (pending_count(dr) == 0) {
        domain_finish(dr);
        return;
    }
    if (!res->session_failed) {
        /* The transport ended without a word on some recipients: a bug there,
         * but the recipients must not be dropped or sent twice. */
        report_pending(dr, HERALD_RESULT_DEFERRED, "transport gave no result for this recipient",
                       "4.3.0", hop->host, res->peer);
        domain_finish(dr);
        return;
    }
    herald_trace_log(dr->ed->trace, HERALD_TRACE_INFO, "email",
                     "left %s[%s]:%u: %s", hop->host, hop->addresses[dr->addr].text,
                     (unsigned)hop->port, res->reply);
    dr->all_permanent = dr->all_permanent && res->permanent;
    set_text(&dr->last_reply, res->reply);
    set_text(&dr->last_dsn, res->dsn);
    set_text(&dr->last_host, hop->host);
    set_text(&dr->last_peer, res->peer);
    dr->addr++;
    domain_next_attempt(dr);
}

/* domain_next_attempt - try the next address of the plan, or conclude */
static void
domain_next_attempt(struct domain_run *dr)
{
    struct email_delivery *ed = dr->ed;
    size_t nhops = herald_plan_hop_count(dr->plan);

    while (dr->hop < nhops) {
        const struct herald_hop *hop = herald_plan_hop(dr->plan, dr->hop);
        const char **rcpts, *last_why;
        char pref[32];
        size_t i, n = 0;
        herald_status st;

        if (dr->addr >= hop->address_count) {
            dr->hop++;
            dr->addr = 0;
            if (dr->hop == nhops && !dr->last_pass && dr->put_last > 0) {
                herald_trace_log(ed->trace, HERALD_TRACE_INFO, "email",
                                 "domain %s: every address not held failed: trying the %zu "
                                 "held one(s) last", dr->domain, dr->put_last);
                dr->last_pass = true;
                dr->hop = 0;
            }
            continue;
        }
        last_why = herald_message_try_last(herald_delivery_message(ed->delivery),
                                           hop->addresses[dr->addr].text, hop->port);
        if (!dr->last_pass && last_why != NULL) {
            herald_trace_log(ed->trace, HERALD_TRACE_INFO, "email",
                             "domain %s: %s[%s]:%u: held (just failed: %s), tried last",
                             dr->domain, hop->host, hop->addresses[dr->addr].text,
                             (unsigned)hop->port, last_why);
            dr->put_last++;
            dr->addr++;
            continue;
        }
        if (dr->last_pass && last_why == NULL) {
            dr->addr++;   /* tried in the first walk */
            continue;
        }
        rcpts = calloc(dr->count, sizeof *rcpts);
        if (rcpts == NULL)
            break;
        for (i = 0; i < dr->count; i++)
            if (!dr->final[i])
                rcpts[n++] = herald_message_recipient(herald_delivery_message(ed->delivery),
                                                      dr->index[i]);
        dr->attempts++;
        /* "(mx preference 10)", "(implicit-mx preference 0)", "(smarthost)":
         * the origin never runs into a number. */
        pref[0] = '\0';
        if (hop->preference >= 0)
            snprintf(pref, sizeof pref, " preference %d", hop->preference);
        herald_trace_log(ed->trace, HERALD_TRACE_INFO, "email",
                         "domain %s: hop %zu/%zu %s (%s%s), address %zu/%zu %s port %u, %zu recipient(s)",
                         dr->domain, dr->hop + 1, nhops, hop->host, hop->origin, pref,
                         dr->addr + 1, hop->address_count, hop->addresses[dr->addr].text,
                         (unsigned)hop->port, n);
        st = herald_transport_run(&ed->dev->opts->transport, ed->dev->transport_state,
                                  ed->dev->env, ed->trace, herald_delivery_message(ed->delivery),
                                  rcpts, n, hop->host, hop->port, hop->origin,
                                  &hop->addresses[dr->addr], on_job_done, dr);
        free(rcpts);
        if (st == HERALD_OK)
            return;
        set_text(&dr->last_reply, herald_strerror(st));
        dr->addr++;
    }
    /* Every address of every hop was tried. */
    if (dr->attempts == 0) {
        report_pending(dr, HERALD_RESULT_DEFERRED, "no hop has an address to connect to",
                       "4.4.4", NULL, NULL);
    } else if (dr->all_permanent) {
        herald_trace_log(ed->trace, HERALD_TRACE_INFO, "email",
                         "domain %s: every hop refused permanently", dr->domain);
        report_pending(dr, HERALD_RESULT_FAILED, dr->last_reply, dr->last_dsn,
                       dr->last_host, dr->last_peer);
    } else {
        herald_trace_log(ed->trace, HERALD_TRACE_INFO, "email",
                         "domain %s: every hop failed, deferring", dr->domain);
        report_pending(dr, HERALD_RESULT_DEFERRED,
                       dr->last_reply && *dr->last_reply ? dr->last_reply : "no hop reachable",
                       dr->last_dsn && *dr->last_dsn ? dr->last_dsn : "4.4.1",
                       dr->last_host, dr->last_peer);
    }
    domain_finish(dr);
}

/* on_plan - the strategy answered for one domain */
static void
on_plan(void *arg, struct herald_route_plan *plan)
{
    struct domain_run *dr = arg;
    enum herald_result result;
    const char *dsn = NULL, *reason = NULL;

    dr->plan = plan;
    if (herald_plan_error(plan, &result, &dsn, &reason) != HERALD_OK) {
        herald_trace_log(dr->ed->trace, HERALD_TRACE_INFO, "email",
                         "domain %s: no route: %s", dr->domain, reason ? reason : "");
        report_pending(dr, result, reason ? reason : "no route", dsn ? dsn : "4.4.0",
                       NULL, NULL);
        domain_finish(dr);
        return;
    }
    domain_next_attempt(dr);
}

struct rcpt_key {
    const char *domain;
    size_t index;
};

/* rcpt_key_cmp - by domain without case (RFC 5321 2.4), then message order */
static int
rcpt_key_cmp(const void *pa, const void *pb)
{
    const struct rcpt_key *a = pa, *b = pb;
    int c = strcasecmp(a->domain, b->domain);

    if (c != 0)
        return c;
    return a->index < b->index ? -1 : a->index > b->index;
}

/* domain_first_cmp - domain runs in the order their first recipient came */
static int
domain_first_cmp(const void *pa, const void *pb)
{
    const struct domain_run *a = pa, *b = pb;

    return a->index[0] < b->index[0] ? -1 : a->index[0] > b->index[0];
}

/*
 * group_by_domain - one domain_run per distinct recipient domain, in
 * first-seen order.  Sorting keeps it O(n log n) in time and O(n) in memory
 * however many domains a message names.
 */
static herald_status
group_by_domain(struct email_delivery *ed, const struct herald_message *msg)
{
    size_t n = herald_message_recipient_count(msg), i, start;
    struct rcpt_key *keys = calloc(n ? n : 1, sizeof *keys);
    herald_status st = HERALD_OK;

    ed->domains = calloc(n ? n : 1, sizeof *ed->domains);
    if (keys == NULL || ed->domains == NULL) {
        free(keys);
        return HERALD_E_NOMEM;
    }
    for (i = 0; i < n; i++) {
        keys[i].domain = herald_address_domain(herald_message_recipient(msg, i));
        keys[i].index = i;
    }
    qsort(keys, n, sizeof *keys, rcpt_key_cmp);
    for (start = 0; start < n && st == HERALD_OK; start = i) {
        struct domain_run *dr = &ed->domains[ed->ndomains++];

        for (i = start + 1; i < n && strcasecmp(keys[i].domain, keys[start].domain) == 0; i++)
            continue;
        dr->ed = ed;
        dr->all_permanent = true;
        dr->domain = strdup(keys[start].domain);
        dr->index = calloc(i - start, sizeof *dr->index);
        dr->final = calloc(i - start, sizeof *dr->final);
        if (!dr->domain || !dr->index || !dr->final) {
            st = HERALD_E_NOMEM;
            break;
        }
        for (char *p = dr->domain; *p; p++)
            *p = (char)tolower((unsigned char)*p);
        for (; dr->count < i - start; dr->count++)
            dr->index[dr->count] = keys[start + dr->count].index;
    }
    free(keys);
    if (st == HERALD_OK)
        qsort(ed->domains, ed->ndomains, sizeof *ed->domains, domain_first_cmp);
    /* qsort moved the runs: nothing points at them yet, so that is harmless. */
    return st;
}

/*
 * pump - start domains while fewer than parallel_domains run.  A domain can
 * finish inside its own start (no route module answer needed, or a failure
 * at once), which calls pump() again: the flag turns that inner call into a
 * no-op and this loop picks the freed slot up, so the stack stays flat.
 */
static void
pump(struct email_delivery *ed)
{
    size_t limit = (size_t)ed->dev->opts->parallel_domains;

    if (ed->pumping)
        return;
    ed->pumping = true;
    /* One extra count: the delivery cannot end (and ed be freed) under this loop. */
    ed->unfinished++;
    while (ed->next_start < ed->ndomains && ed->running < limit) {
        struct domain_run *dr = &ed->domains[ed->next_start++];
        herald_status st;

        ed->running++;
        herald_trace_log(ed->trace, HERALD_TRACE_INFO, "email",
                         "domain %s: %zu recipient(s), route strategy \"%s\"", dr->domain,
                         dr->count, ed->dev->opts->route.module->name);
        st = herald_route_start(&ed->dev->opts->route, ed->dev->env, ed->trace, dr->domain,
                                on_plan, dr);
        if (st != HERALD_OK) {
            report_pending(dr, HERALD_RESULT_DEFERRED, herald_strerror(st), "4.3.0", NULL, NULL);
            domain_finish(dr);
        }
    }
    ed->pumping = false;
    if (--ed->unfinished == 0) {
        struct herald_delivery *d = ed->delivery;

        email_delivery_free(ed);
        herald_delivery_done(d);
    }
}

/* email_deliver - start every domain of the message */
static void
email_deliver(void *state, struct herald_delivery *delivery)
{
    struct email_device *dev = state;
    const struct herald_message *msg = herald_delivery_message(delivery);
    struct email_delivery *ed;

    ed = calloc(1, sizeof *ed);
    if (ed == NULL) {
        herald_delivery_done(delivery);   /* every recipient stays deferred */
        return;
    }
    ed->dev = dev;
    ed->delivery = delivery;
    ed->trace = herald_delivery_trace(delivery);
    if (group_by_domain(ed, msg) != HERALD_OK) {
        email_delivery_free(ed);
        herald_delivery_done(delivery);
        return;
    }
    ed->unfinished = ed->ndomains;
    if (ed->ndomains == 0) {
        email_delivery_free(ed);
        herald_delivery_done(delivery);
        return;
    }
    if (ed->ndomains > (size_t)dev->opts->parallel_domains)
        herald_trace_log(ed->trace, HERALD_TRACE_INFO, "email",
                         "%zu recipient domains, %lld at a time (parallel_domains)",
                         ed->ndomains, (long long)dev->opts->parallel_domains);
    pump(ed);
}

/*
 * note_smarthosts - tell the administrator (herald check) which hops are
 * smart hosts, the only ones the transport gives credentials to: the route
 * strategy's "smarthost" list (mx-then-smarthost, smarthost), read through
 * its option table since the options block is the strategy's own.
 */
static herald_status
note_smarthosts(const struct herald_module_ref *route, struct herald_env *env)
{
    const struct herald_option *opt = route->module->options;
    const struct herald_strlist *list = NULL;
    char note[HERALD_NOTE_MAX + 1];
    size_t i, len;
    int n;

    for (; opt != NULL && opt->name != NULL; opt++)
        if (opt->type == HERALD_OPT_STRLIST && strcmp(opt->name, "smarthost") == 0) {
            list = (const struct herald_strlist *)(const void *)
                   ((const char *)route->options + opt->offset);
            break;
        }
    n = snprintf(note, sizeof note, "route \"%s\": %s", route->module->name,
                 list == NULL || list->count == 0 ? "no smart-host hops" : "smart-host hops");
    if (n < 0 || (size_t)n >= sizeof note)
        return HERALD_E_INVAL;
    len = (size_t)n;
    for (i = 0; list != NULL && i < list->count; i++) {
        n = snprintf(note + len, sizeof note - len, "%s%s", i ? ", " : " ", list->items[i]);
        if (n < 0 || (size_t)n >= sizeof note - len)
            break;   /* the hops that fit: a note is one line */
        len += (size_t)n;
    }
    return herald_env_note(env, note);
}

static herald_status
email_open(const char *device_name, const void *options, struct herald_env *env,
           void **state_out, struct herald_diag *diag)
{
    struct email_device *dev;
    herald_status st;

    dev = calloc(1, sizeof *dev);
    if (dev == NULL)
        return HERALD_E_NOMEM;
    dev->opts = options;
    dev->env = env;
    if (note_smarthosts(&dev->opts->route, env) != HERALD_OK) {
        free(dev);
        return herald_diag_set(diag, HERALD_E_NOMEM, "email", "cannot note the route");
    }
    st = herald_transport_open(&dev->opts->transport, env, &dev->transport_state, diag);
    if (st != HERALD_OK) {
        free(dev);
        return st;
    }
    herald_trace_log(herald_env_trace(env), HERALD_TRACE_DEBUG, "email",
                     "device %s: route strategy \"%s\", transport \"%s\"", device_name,
                     dev->opts->route.module->name, dev->opts->transport.module->name);
    *state_out = dev;
    return HERALD_OK;
}

static void
email_close(void *state)
{
    struct email_device *dev = state;

    if (dev == NULL)
        return;
    herald_transport_close(&dev->opts->transport, dev->transport_state);
    free(dev);
}

/* email_probe - "herald probe": the transport tries the hops the core planned */
static herald_status
email_probe(void *state, struct herald_probe *probe)
{
    struct email_device *dev = state;

    return herald_transport_probe(&dev->opts->transport, dev->transport_state, probe);
}

static const struct herald_device_ops email_ops = {
    .struct_size = sizeof(struct herald_device_ops),
    .open = email_open,
    .deliver = email_deliver,
    .close = email_close,
    .probe = email_probe,
};

const struct herald_module herald_module = {
    HERALD_MODULE_HEADER(HERALD_KIND_DEVICE),
    .name = "email",
    .summary = "delivers mail: a route strategy plans hops, a transport speaks to them",
    .options = email_option_table,
    .options_size = sizeof(struct email_options),
    .options_defaults = &email_defaults,
    .check = NULL,
    .ops = &email_ops,
};
