/*
 * route.c - route requests and plans (the core half of herald/route.h)
 *
 * A request is what a strategy fills: hops, then addresses, then done() or
 * fail(), exactly once.  The finished plan goes to the caller from the loop
 * (never from inside the strategy's own call), and the caller owns it.
 *
 * herald_route() runs the device's strategy for one domain and waits on the
 * context's loop: "herald route" and embedders that want a plan, no mail.
 *
 * Limits: ROUTE_MAX_HOPS hops and ROUTE_MAX_ADDRS addresses per hop; beyond
 * them add_hop/add_address say HERALD_E_LIMIT (strategies cap long before).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <herald/herald.h>
#include <herald/loop.h>
#include <herald/module.h>
#include <herald/route.h>
#include <herald/trace.h>
#include "context.h"
#include "env.h"
#include <herald/timeouts.h>
#include "plan_share.h"
#include "route_plan.h"
#include "module_abi.h"
#include "text.h"
#include "trace_sink.h"

#define ROUTE_MAX_HOPS 100
#define ROUTE_MAX_ADDRS 64
#define ROUTE_NAME_MAX 255
#define ROUTE_ORIGIN_MAX 32
#define ROUTE_REASON_MAX 400

/* The guard (DESIGN.md "Outcomes, never silence"): every request ends,
 * answered or timed out, and the core keeps it afterwards (env's retired
 * list) so a late or second answer is traced as the strategy's error and
 * ignored instead of touching freed memory. */
struct herald_route_request {
    struct herald_route_plan *plan;   /* NULL once handed to the caller */
    char *domain;                     /* own copy: the plan leaves, the domain stays */
    struct herald_env *env;
    struct herald_trace scope;        /* a copy: the caller's scope may go first */
    const char *strategy;             /* module name, lives with the registry */
    herald_plan_fn done;
    void *arg;
    struct herald_timer *timer;
    uint64_t timeout_ms;
    bool finished;                    /* answered or timed out: nothing more is taken */
    bool timed_out;
    struct herald_route_request *prev, *next;   /* env's live or retired list */
};

#define ROUTE_RETIRED_KEEP 256        /* answered requests kept to catch a second answer */

struct route_retired {
    struct herald_route_request *live;        /* not finished yet */
    struct herald_route_request *timed_out;   /* kept until route_env_close */
    struct herald_route_request *answered[ROUTE_RETIRED_KEEP];
    size_t next_slot;
};

/* printable_len - length of s when every byte is printable ASCII and it
 * fits in max; 0 otherwise (names reach SMTP and traces). */
static size_t
printable_len(const char *s, size_t max)
{
    size_t n;

    if (s == NULL)
        return 0;
    for (n = 0; s[n]; n++)
        if (n >= max || (unsigned char)s[n] <= 0x20 || (unsigned char)s[n] >= 0x7f)
            return 0;
    return n;
}

/* herald_plan_free - release a plan and clear the caller's pointer */
void
herald_plan_free(struct herald_route_plan **planp)
{
    struct herald_route_plan *plan;
    size_t i;

    if (planp == NULL || *planp == NULL)
        return;
    plan = *planp;
    *planp = NULL;
    if (plan->holders > 0) {   /* a shared plan: the last owner frees it */
        plan->holders--;
        return;
    }
    if (plan->weak != NULL)
        *plan->weak = NULL;
    if (plan->one_block) {
        free(plan);
        return;
    }
    for (i = 0; i < plan->count; i++) {
        free(plan->hops[i].host);
        free(plan->hops[i].origin);
        free(plan->hops[i].addrs);
    }
    free(plan->hops);
    free(plan->domain);
    free(plan->reason);
    free(plan);
}

const char *
herald_plan_domain(const struct herald_route_plan *plan)
{
    return plan != NULL ? plan->domain : NULL;
}

size_t
herald_plan_hop_count(const struct herald_route_plan *plan)
{
    return plan != NULL && !plan->failed ? plan->count : 0;
}

/* herald_plan_hop - borrowed; NULL out of range */
const struct herald_hop *
herald_plan_hop(const struct herald_route_plan *plan, size_t i)
{
    if (plan == NULL || plan->failed || i >= plan->count)
        return NULL;
    return &plan->hops[i].pub;
}

/* herald_plan_error - HERALD_OK with hops; else why there are none */
herald_status
herald_plan_error(const struct herald_route_plan *plan, enum herald_result *result_out,
                  const char **dsn_out, const char **reason_out)
{
    if (plan == NULL)
        return HERALD_E_INVAL;
    if (!plan->failed)
        return HERALD_OK;
    if (result_out != NULL)
        *result_out = plan->result;
    if (dsn_out != NULL)
        *dsn_out = plan->dsn;
    if (reason_out != NULL)
        *reason_out = plan->reason ? plan->reason : "";
    return HERALD_E_NOTFOUND;
}

const char *
herald_route_domain(const struct herald_route_request *req)
{
    return req->domain;
}

struct herald_env *
herald_route_env(const struct herald_route_request *req)
{
    return req->env;
}

const struct herald_trace *
herald_route_trace(const struct herald_route_request *req)
{
    return &req->scope;
}

/* herald_route_add_hop - append a hop (copies host and origin) */
herald_status
herald_route_add_hop(struct herald_route_request *req, const char *host, uint16_t port,
                     int preference, const char *origin, size_t *hop_out)
{
    struct herald_route_plan *plan;
    struct plan_hop *h;
    size_t i;

    if (req == NULL || req->finished || port == 0 || preference < -1
        || printable_len(host, ROUTE_NAME_MAX) == 0
        || printable_len(origin, ROUTE_ORIGIN_MAX) == 0)
        return HERALD_E_INVAL;
    plan = req->plan;
    if (plan->count >= ROUTE_MAX_HOPS)
        return HERALD_E_LIMIT;
    if (plan->count == plan->cap) {
        size_t cap = plan->cap ? plan->cap * 2 : 1;   /* most plans have one hop, and many are kept */
        struct plan_hop *hops = realloc(plan->hops, cap * sizeof *hops);

        if (hops == NULL)
            return HERALD_E_NOMEM;
        plan->hops = hops;
        plan->cap = cap;
        /* The public views point into each hop: re-aim them after a move. */
        for (i = 0; i < plan->count; i++) {
            plan->hops[i].pub.host = plan->hops[i].host;
            plan->hops[i].pub.origin = plan->hops[i].origin;
            plan->hops[i].pub.addresses = plan->hops[i].addrs;
        }
    }
    h = &plan->hops[plan->count];
    memset(h, 0, sizeof *h);
    h->host = strdup(host);
    h->origin = strdup(origin);
    if (h->host == NULL || h->origin == NULL) {
        free(h->host);
        free(h->origin);
        return HERALD_E_NOMEM;
    }
    h->pub.host = h->host;
    h->pub.origin = h->origin;
    h->pub.port = port;
    h->pub.preference = preference;
    if (hop_out != NULL)
        *hop_out = plan->count;
    plan->count++;
    return HERALD_OK;
}

/* herald_route_add_address - append one address to a hop (copied, port 0) */
herald_status
herald_route_add_address(struct herald_route_request *req, size_t hop,
                         const struct herald_address *addr)
{
    struct plan_hop *h;
    struct herald_address *a;

    if (req == NULL || req->finished || addr == NULL || hop >= req->plan->count
        || addr->len == 0 || addr->len > sizeof addr->sa)
        return HERALD_E_INVAL;
    h = &req->plan->hops[hop];
    if (h->pub.address_count >= ROUTE_MAX_ADDRS)
        return HERALD_E_LIMIT;
    /* Grows by one: a hop holds a handful of addresses. */
    a = realloc(h->addrs, (h->pub.address_count + 1) * sizeof *a);
    if (a == NULL)
        return HERALD_E_NOMEM;
    h->addrs = a;
    a[h->pub.address_count] = *addr;
    a[h->pub.address_count].text[sizeof a->text - 1] = '\0';
    h->pub.address_count++;
    h->pub.addresses = h->addrs;
    return HERALD_OK;
}

/* list_unlink / list_push - env's doubly linked request lists */
static void
list_unlink(struct herald_route_request **head, struct herald_route_request *req)
{
    if (req->prev != NULL)
        req->prev->next = req->next;
    else if (*head == req)
        *head = req->next;
    if (req->next != NULL)
        req->next->prev = req->prev;
    req->prev = req->next = NULL;
}

static void
list_push(struct herald_route_request **head, struct herald_route_request *req)
{
    req->prev = NULL;
    req->next = *head;
    if (*head != NULL)
        (*head)->prev = req;
    *head = req;
}

/* request_free - a request nobody can reach any more */
static void
request_free(struct herald_route_request *req)
{
    herald_timer_cancel(&req->timer);
    herald_plan_free(&req->plan);
    free(req->domain);
    free(req);
}

/* retire - out of the live list; kept (answered: the last ROUTE_RETIRED_KEEP;
 * timed out: until route_env_close) so a later answer finds it */
static void
retire(struct herald_route_request *req)
{
    struct route_retired *r = req->env->route_retired;
    struct herald_route_request **slot;

    list_unlink(&r->live, req);
    if (req->timed_out) {
        list_push(&r->timed_out, req);
        return;
    }
    slot = &r->answered[r->next_slot];
    r->next_slot = (r->next_slot + 1) % ROUTE_RETIRED_KEEP;
    if (*slot != NULL)
        request_free(*slot);
    *slot = req;
}

/* hand_over - give the plan to the caller, then retire the request */
static void
hand_over(struct herald_route_request *req)
{
    struct herald_route_plan *plan = req->plan;

    req->plan = NULL;
    req->done(req->arg, plan);
    retire(req);
}

/* request_finish - hand the plan to the caller (from the loop) */
static void
request_finish(void *arg)
{
    hand_over(arg);
}

/* request_end - mark finished and schedule the answer */
static void
request_end(struct herald_route_request *req)
{
    req->finished = true;
    herald_timer_cancel(&req->timer);
    if (herald_loop_defer(req->env->loop, request_finish, req) != HERALD_OK)
        request_finish(req);   /* no memory for a deferred call: answer now rather than never */
}

/* late_answer - a second answer, or one after the timeout: the strategy's bug */
static bool
late_answer(struct herald_route_request *req, const char *what)
{
    if (!req->finished)
        return false;
    herald_trace_log(&req->scope, HERALD_TRACE_ERROR, "route",
                     "domain %s: route strategy \"%s\" answered again (%s) %s: ignored",
                     req->domain, req->strategy, what,
                     req->timed_out ? "after its timeout" : "after its first answer");
    return true;
}

/* set_failure - record why the plan has no hop (reason copied, one line) */
static void
set_failure(struct herald_route_plan *plan, enum herald_result result, const char *dsn,
            const char *reason)
{
    size_t n;

    plan->failed = true;
    plan->result = result == HERALD_RESULT_FAILED ? HERALD_RESULT_FAILED
                                                  : HERALD_RESULT_DEFERRED;
    n = dsn ? strlen(dsn) : 0;
    if (n == 0 || n >= sizeof plan->dsn)
        dsn = plan->result == HERALD_RESULT_FAILED ? "5.0.0" : "4.0.0";
    strcpy(plan->dsn, dsn);
    free(plan->reason);
    plan->reason = text_printable_dup(reason, ROUTE_REASON_MAX, TEXT_LINE);
}

/* herald_route_done - finish with the hops so far */
void
herald_route_done(struct herald_route_request *req)
{
    if (req == NULL || late_answer(req, "done"))
        return;
    if (req->plan->count == 0)
        set_failure(req->plan, HERALD_RESULT_DEFERRED, "4.4.4", "no usable hop");
    request_end(req);
}

/* herald_route_fail - finish with an error; DELIVERED is read as DEFERRED */
void
herald_route_fail(struct herald_route_request *req, enum herald_result result,
                  const char *dsn, const char *reason)
{
    if (req == NULL || late_answer(req, "fail"))
        return;
    set_failure(req->plan, result, dsn, reason);
    request_end(req);
}

/* on_timeout - the strategy did not answer in time: defer the domain, 4.4.7
 * (RFC 3463: delivery time expired), naming the strategy */
static void
on_timeout(void *arg)
{
    struct herald_route_request *req = arg;
    char reason[200];

    herald_timer_cancel(&req->timer);   /* fired: this releases it when we return */
    if (req->finished)
        return;
    snprintf(reason, sizeof reason, "route strategy \"%s\" did not answer within %llu ms",
             req->strategy, (unsigned long long)req->timeout_ms);
    herald_trace_log(&req->scope, HERALD_TRACE_ERROR, "route", "domain %s: %s", req->domain,
                     reason);
    set_failure(req->plan, HERALD_RESULT_DEFERRED, "4.4.7", reason);
    req->finished = req->timed_out = true;
    hand_over(req);                   /* already on the loop: no deferral needed */
}

/* route_plan_hold - one more owner of a finished plan (each calls herald_plan_free) */
struct herald_route_plan *
route_plan_hold(struct herald_route_plan *plan)
{
    plan->holders++;
    return plan;
}

/* herald_route_start - a plan for domain: shared with the other messages to
 * it through the same device while its answers live (plan_share.c) */
herald_status
herald_route_start(const struct herald_module_ref *strategy, struct herald_env *env,
                   const struct herald_trace *trace, const char *domain,
                   herald_plan_fn done, void *arg)
{
    if (env == NULL || env->loop == NULL || done == NULL
        || printable_len(domain, ROUTE_NAME_MAX) == 0)
        return HERALD_E_INVAL;
    return plan_share_start(strategy, env, trace, domain, done, arg);
}

/* route_start - run a strategy for domain; done gets the plan */
herald_status
route_start(const struct herald_module_ref *strategy, struct herald_env *env,
                   const struct herald_trace *trace, const char *domain,
                   herald_plan_fn done, void *arg)
{
    const struct herald_route_ops *ops;
    struct herald_route_request *req;
    herald_status st;

    if (strategy == NULL || strategy->module == NULL || env == NULL || env->loop == NULL
        || done == NULL || printable_len(domain, ROUTE_NAME_MAX) == 0)
        return HERALD_E_INVAL;
    if (strategy->module->kind != HERALD_KIND_ROUTE)
        return HERALD_E_MODULE;
    /* The loader proved plan() is there (module_ops_check); a module_ref
     * made by hand is held to the same rule. */
    ops = strategy->module->ops;
    if (ops == NULL || !OPS_HAS(struct herald_route_ops, ops, plan) || ops->plan == NULL)
        return HERALD_E_MODULE;
    if (env->route_retired == NULL && (env->route_retired = calloc(1, sizeof *env->route_retired)) == NULL)
        return HERALD_E_NOMEM;
    req = calloc(1, sizeof *req);
    if (req == NULL)
        return HERALD_E_NOMEM;
    req->plan = calloc(1, sizeof *req->plan);
    req->domain = strdup(domain);
    if (req->plan == NULL || req->domain == NULL
        || (req->plan->domain = strdup(domain)) == NULL) {
        request_free(req);
        return HERALD_E_NOMEM;
    }
    req->env = env;
    req->scope = trace != NULL ? *trace : env->trace;
    req->strategy = strategy->module->name;
    req->done = done;
    req->arg = arg;
    req->timeout_ms = env->route_timeout_ms > 0 ? (uint64_t)env->route_timeout_ms
                                                : HERALD_DEFAULT_ROUTE_TIMEOUT_MS;
    /* The guard is armed before the strategy runs: whatever it does, the
     * request ends by this timer at the latest. */
    st = herald_timer_start(env->loop, req->timeout_ms, on_timeout, req, &req->timer);
    if (st != HERALD_OK) {
        request_free(req);
        return st;
    }
    list_push(&env->route_retired->live, req);
    herald_trace_log(&req->scope, HERALD_TRACE_DEBUG, "route", "domain %s: strategy \"%s\"",
                     domain, req->strategy);
    st = ops->plan(strategy->options, req);
    if (st != HERALD_OK && !req->finished) {
        herald_trace_log(&req->scope, HERALD_TRACE_WARN, "route",
                         "domain %s: strategy \"%s\" could not start: %s", domain,
                         req->strategy, herald_strerror(st));
        herald_route_fail(req, HERALD_RESULT_DEFERRED, "4.3.0", herald_strerror(st));
    }
    return HERALD_OK;
}

/* route_env_close - free every request the guard kept for env: live ones
 * (a strategy that never answered) too, their timers first */
void
route_env_close(struct herald_env *env)
{
    struct route_retired *r;
    size_t i;

    if (env == NULL || (r = env->route_retired) == NULL)
        return;
    while (r->live != NULL) {
        struct herald_route_request *req = r->live;

        list_unlink(&r->live, req);
        request_free(req);
    }
    while (r->timed_out != NULL) {
        struct herald_route_request *req = r->timed_out;

        list_unlink(&r->timed_out, req);
        request_free(req);
    }
    for (i = 0; i < ROUTE_RETIRED_KEEP; i++)
        if (r->answered[i] != NULL)
            request_free(r->answered[i]);
    free(r);
    env->route_retired = NULL;
}

/* A herald_route() call waiting on the loop.  On the heap, with the trace
 * scope the strategy borrows, so a strategy that answers late never
 * writes into a returned stack frame. */
struct route_wait {
    struct herald_trace scope;
    struct herald_route_plan *plan;
    bool done;
};

static void
route_wait_done(void *arg, struct herald_route_plan *plan)
{
    struct route_wait *w = arg;

    w->plan = plan;
    w->done = true;
}

static bool
route_wait_finished(void *arg)
{
    return ((const struct route_wait *)arg)->done;
}

/* route_device_ref - the device's route strategy: the first MODULE option of
 * kind ROUTE in its driver's table (the email device's "route" group) */
const struct herald_module_ref *
route_device_ref(const struct herald_device *dev)
{
    const struct herald_option *o = dev->conf->driver->options;

    for (; o != NULL && o->name != NULL; o++) {
        if (o->type == HERALD_OPT_MODULE && o->module_kind == HERALD_KIND_ROUTE) {
            const struct herald_module_ref *ref =
                (const void *)((const char *)dev->conf->options + o->offset);

            return ref->module != NULL ? ref : NULL;
        }
    }
    return NULL;
}

/* herald_route - the plan of dev's route strategy for domain, waiting on the loop */
herald_status
herald_route(struct herald_device *dev, const char *domain,
             struct herald_route_plan **plan_out, struct herald_diag *diag)
{
    const struct herald_module_ref *ref;
    struct route_wait *w;
    herald_status st;

    if (dev == NULL || domain == NULL || plan_out == NULL)
        return herald_diag_set(diag, HERALD_E_INVAL, "", "herald_route: missing argument");
    if (printable_len(domain, ROUTE_NAME_MAX) == 0)
        return herald_diag_set(diag, HERALD_E_INVAL, dev->conf->name,
                               "not a domain name (empty, too long or unprintable)");
    ref = route_device_ref(dev);
    if (ref == NULL)
        return herald_diag_set(diag, HERALD_E_NOTFOUND, dev->conf->where,
                               "device \"%s\" has no route strategy", dev->conf->name);
    w = calloc(1, sizeof *w);
    if (w == NULL)
        return herald_diag_set(diag, HERALD_E_NOMEM, dev->conf->name, "out of memory");
    trace_scope_init(&w->scope, dev->ctx->sink, NULL);
    st = herald_route_start(ref, &dev->env, &w->scope, domain, route_wait_done, w);
    if (st != HERALD_OK) {
        free(w);
        return herald_diag_set(diag, st, dev->conf->name, "cannot start route strategy \"%s\": %s",
                               ref->module->name, herald_strerror(st));
    }
    /* The guard's timer bounds the request (route.timeout_ms): the loop ends
     * with a plan, answered or timed out, unless the loop itself fails. */
    st = herald_loop_run(dev->ctx->loop, route_wait_finished, w, 0);
    if (!w->done) {
        /* The loop failed.  w stays allocated on purpose: the request
         * still points at it. */
        return herald_diag_set(diag, HERALD_E_IO, dev->conf->name,
                               "route strategy \"%s\" never answered (%s)", ref->module->name,
                               herald_strerror(st));
    }
    *plan_out = w->plan;
    free(w);
    return HERALD_OK;
}
