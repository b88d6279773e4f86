/*
 * plan_share.c - one route plan per domain and device while its answers live
 *
 * A table per env (device), keyed by strategy and domain (without case),
 * holds plans being made (with the callers waiting for them) and finished
 * plans kept until the first DNS answer they were made from expires (see
 * plan_share.h).  Every caller gets the plan from the loop, never from
 * inside herald_route_start(), and its trace says whether the plan was made
 * for it, joined while being made, or taken from the table.
 */
#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <herald/loop.h>
#include <herald/trace.h>
#include "context.h"
#include "dns.h"
#include "env.h"
#include "plan_share.h"
#include "trace_sink.h"

#define PLAN_DEFAULT_MAX 250000
#define PLAN_MIN_BUCKETS 64

struct share_waiter {
    herald_plan_fn done;
    void *arg;
    struct share_waiter *next;
};

struct share {
    struct share *hnext;
    struct plan_table *t;                 /* NULL: orphaned by plan_share_close */
    uint32_t hash;
    const struct herald_module_ref *ref;
    char *domain;
    struct herald_route_plan *plan;       /* NULL while being made */
    uint64_t expires_ms;
    struct share_waiter *waiters, *tail;
    char planner[24];                     /* trace id of the message it was made for */
};

struct plan_table {
    struct herald_env *env;
    struct share **buckets;
    size_t nbuckets, count, kept, max_kept;
};

/* Delivery of a kept plan from the loop. */
struct share_hit {
    herald_plan_fn done;
    void *arg;
    struct herald_route_plan *plan;
};

static struct plan_table *
table_get(struct herald_env *env)
{
    struct plan_table *t = env->plans;

    if (t != NULL)
        return t;
    t = calloc(1, sizeof *t);
    if (t == NULL)
        return NULL;
    t->nbuckets = PLAN_MIN_BUCKETS;
    t->buckets = calloc(t->nbuckets, sizeof *t->buckets);
    if (t->buckets == NULL) {
        free(t);
        return NULL;
    }
    t->env = env;
    t->max_kept = env->dns_cache_entries > 0 ? (size_t)env->dns_cache_entries : PLAN_DEFAULT_MAX;
    env->plans = t;
    return t;
}

/* grow - double the buckets; failure only costs speed */
static void
grow(struct plan_table *t)
{
    size_t n = t->nbuckets * 2, i;
    struct share **b = calloc(n, sizeof *b);

    if (b == NULL)
        return;
    for (i = 0; i < t->nbuckets; i++) {
        struct share *s = t->buckets[i], *next;

        for (; s != NULL; s = next) {
            next = s->hnext;
            s->hnext = b[s->hash & (n - 1)];
            b[s->hash & (n - 1)] = s;
        }
    }
    free(t->buckets);
    t->buckets = b;
    t->nbuckets = n;
}

static struct share *
find(struct plan_table *t, const struct herald_module_ref *ref, const char *domain, uint32_t h)
{
    struct share *s;

    for (s = t->buckets[h & (t->nbuckets - 1)]; s != NULL; s = s->hnext)
        if (s->hash == h && s->ref == ref && strcasecmp(s->domain, domain) == 0)
            return s;
    return NULL;
}

/* share_remove - out of the table, plan released, freed (its waiters are the caller's) */
static void
share_remove(struct share *s)
{
    struct plan_table *t = s->t;

    if (t != NULL) {
        struct share **pp = &t->buckets[s->hash & (t->nbuckets - 1)];

        while (*pp != NULL && *pp != s)
            pp = &(*pp)->hnext;
        if (*pp == s)
            *pp = s->hnext;
        t->count--;
        if (s->plan != NULL)
            t->kept--;
    }
    herald_plan_free(&s->plan);
    free(s->domain);
    free(s);
}

/* is_ip - a hop named by an address has no DNS answer to outlive */
static bool
is_ip(const char *host)
{
    unsigned char buf[16];
    char tmp[64];
    size_t n = strlen(host);

    if (n >= 2 && host[0] == '[' && host[n - 1] == ']' && n - 2 < sizeof tmp) {
        memcpy(tmp, host + 1, n - 2);
        tmp[n - 2] = '\0';
        host = tmp;
    }
    return inet_pton(AF_INET, host, buf) == 1 || inet_pton(AF_INET6, host, buf) == 1;
}

/* plan_left_ms - how long plan may be kept: until the first of its answers
 * leaves the resolver's cache; 0 when one of them is not there */
static uint64_t
plan_left_ms(struct herald_env *env, const char *domain, const struct herald_route_plan *plan)
{
    uint64_t left, min;
    size_t i, n = herald_plan_hop_count(plan);
    enum herald_result result;

    if (!dns_env_cached(env, DNS_KIND_MX, 0, domain, &min))
        return 0;
    if (herald_plan_error(plan, &result, NULL, NULL) != HERALD_OK
        && result != HERALD_RESULT_FAILED && min > DNS_HOLD_S * 1000u)
        min = DNS_HOLD_S * 1000u;   /* deferred: retried as soon as a failure would be */
    for (i = 0; i < n; i++) {
        const struct herald_hop *h = herald_plan_hop(plan, i);
        static const int families[] = { HERALD_FAMILY_ANY, HERALD_FAMILY_IPV4,
                                        HERALD_FAMILY_IPV6 };
        bool found = false;
        size_t f;

        if (is_ip(h->host))
            continue;
        for (f = 0; f < sizeof families / sizeof families[0]; f++)
            if (dns_env_cached(env, DNS_KIND_ADDR, families[f], h->host, &left)) {
                found = true;
                if (left < min)
                    min = left;
            }
        if (!found)
            return 0;
    }
    return min;
}

/* share_done - the plan is made: keep it if its answers live, give it to every waiter */
static void
share_done(void *arg, struct herald_route_plan *plan)
{
    struct share *s = arg;
    struct plan_table *t = s->t;
    struct share_waiter *w = s->waiters, *next;
    uint64_t left = 0;
    size_t n = 0;

    s->waiters = s->tail = NULL;
    for (next = w; next != NULL; next = next->next)
        n++;
    if (t != NULL && t->kept < t->max_kept)
        left = plan_left_ms(t->env, s->domain, plan);
    if (left > 0) {
        s->plan = route_plan_hold(plan);
        s->expires_ms = herald_loop_now_ms(t->env->loop) + left;
        t->kept++;
    } else {
        share_remove(s);
    }
    while (n-- > 1)
        route_plan_hold(plan);
    if (w == NULL)
        herald_plan_free(&plan);   /* cannot happen: the first asker waits */
    for (; w != NULL; w = next) {
        next = w->next;
        w->done(w->arg, plan);
        free(w);
    }
}

/* hit_fire - a kept plan reaches its caller from the loop */
static void
hit_fire(void *arg)
{
    struct share_hit *h = arg;

    h->done(h->arg, h->plan);
    free(h);
}

/* waiter_add - arg waits for s's plan */
static bool
waiter_add(struct share *s, herald_plan_fn done, void *arg)
{
    struct share_waiter *w = calloc(1, sizeof *w);

    if (w == NULL)
        return false;
    w->done = done;
    w->arg = arg;
    if (s->tail != NULL)
        s->tail->next = w;
    else
        s->waiters = w;
    s->tail = w;
    return true;
}

/* plan_share_start - the kept plan, the plan being made, or a new one */
herald_status
plan_share_start(const struct herald_module_ref *strategy, struct herald_env *env,
                 const struct herald_trace *trace, const char *domain, herald_plan_fn done,
                 void *arg)
{
    const struct herald_trace *tr = trace != NULL ? trace : &env->trace;
    struct plan_table *t;
    struct share *s;
    uint32_t h;
    uint64_t now;
    herald_status st;

    /* Plans are kept for their DNS answers: without a resolver yet there is
     * nothing to outlive, and a unit's bare env never closes one. */
    if (env->dns == NULL || (t = table_get(env)) == NULL)
        return route_start(strategy, env, trace, domain, done, arg);
    h = dns_cache_name_hash(DNS_KIND_MX, 0, domain);
    now = herald_loop_now_ms(env->loop);
    s = find(t, strategy, domain, h);
    if (s != NULL && s->plan != NULL && s->expires_ms <= now) {
        share_remove(s);
        s = NULL;
    }
    if (s != NULL && s->plan != NULL) {
        struct share_hit *hit = malloc(sizeof *hit);

        if (hit == NULL)
            return HERALD_E_NOMEM;
        hit->done = done;
        hit->arg = arg;
        hit->plan = route_plan_hold(s->plan);
        herald_trace_log(tr, HERALD_TRACE_INFO, "route",
                         "domain %s: plan taken from the plan cache (made for %s, %llu s left)",
                         domain, s->planner,
                         (unsigned long long)((s->expires_ms - now + 999) / 1000));
        if (herald_loop_defer(env->loop, hit_fire, hit) != HERALD_OK) {
            herald_plan_free(&hit->plan);
            free(hit);
            return HERALD_E_NOMEM;
        }
        return HERALD_OK;
    }
    if (s != NULL) {
        if (!waiter_add(s, done, arg))
            return HERALD_E_NOMEM;
        herald_trace_log(tr, HERALD_TRACE_INFO, "route",
                         "domain %s: joined the plan being made for %s", domain, s->planner);
        return HERALD_OK;
    }
    s = calloc(1, sizeof *s);
    if (s == NULL || (s->domain = strdup(domain)) == NULL || !waiter_add(s, done, arg)) {
        if (s != NULL)
            free(s->domain);
        free(s);
        return HERALD_E_NOMEM;
    }
    s->t = t;
    s->hash = h;
    s->ref = strategy;
    snprintf(s->planner, sizeof s->planner, "%s", herald_trace_id(tr));
    s->hnext = t->buckets[h & (t->nbuckets - 1)];
    t->buckets[h & (t->nbuckets - 1)] = s;
    if (++t->count > t->nbuckets * 2)
        grow(t);
    st = route_start(strategy, env, trace, domain, share_done, s);
    if (st != HERALD_OK) {   /* no request was made: nobody else could have joined yet */
        free(s->waiters);
        s->waiters = s->tail = NULL;
        share_remove(s);
    }
    return st;
}

/* plan_share_close - drop kept plans; plans being made finish for their waiters only */
void
plan_share_close(struct herald_env *env)
{
    struct plan_table *t;
    size_t i;

    if (env == NULL || (t = env->plans) == NULL)
        return;
    for (i = 0; i < t->nbuckets; i++) {
        struct share *s = t->buckets[i], *next;

        for (; s != NULL; s = next) {
            next = s->hnext;
            if (s->plan != NULL) {
                s->t = NULL;
                share_remove(s);
            } else {
                s->t = NULL;   /* share_done delivers it and frees it */
            }
        }
    }
    free(t->buckets);
    free(t);
    env->plans = NULL;
}
