/*
 * plan_share.c - one route plan per domain and device while its answers live
 *
 * A table per env (device), keyed by strategy and domain (without case),
 * holds plans being made (with the callers waiting for them) and finished
 * plans kept until the first DNS answer they were made from expires (see
 * plan_share.h), packed (route_plan.h): a kept plan is one allocation of
 * about 110 octets, not a plan with its 180-octet struct herald_address.
 * A caller gets the plan unpacked, shared with the callers that still hold
 * it.  Every caller gets the plan from the loop, never from
 * inside herald_route_start(), and its trace says whether the plan was made
 * for it, joined while being made, or taken from the table.
 */
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/queue.h>

#include <herald/host.h>
#include <herald/loop.h>
#include <herald/trace.h>
#include "context.h"
#include "dns.h"
#include "env.h"
#include "hash_table.h"
#include "plan_share.h"
#include "route_plan.h"
#include "trace_sink.h"

#define PLAN_DEFAULT_MAX 250000
#define PLAN_MIN_BUCKETS 64
#define PLANNER_MAX 23                    /* octets of the planner's trace id kept */

struct share_waiter {
    herald_plan_fn done;
    void *arg;
    struct share_waiter *next;
};

/* One entry of the table, a plan being made or a kept plan, in one
 * allocation with its domain, its planner and (kept) the packed plan:
 * about 110 octets for a plan of one hop with one address. */
struct share {
    struct hash_node node;                /* node.hash: dns_cache_name_hash of the MX */
    TAILQ_ENTRY(share) lru;               /* kept: the LRU list, most recent first */
    const struct herald_module_ref *ref;
    union {
        struct {                          /* being made */
            struct plan_table *t;         /* NULL: orphaned by plan_share_close */
            struct share_waiter *waiters; /* the last asker first */
        } make;
        struct {
            /* The plan last unpacked for a caller while some holder still
             * has it (cleared by herald_plan_free): callers at the same
             * time share one plan. */
            struct herald_route_plan *live;
            uint64_t expires_ms;
        } kept;
    } u;
    uint16_t pack_len;
    uint8_t domain_len;
    bool is_kept;
    char data[];                          /* domain NUL planner NUL packed plan */
};

#define SHARE_SIZE(tail) (offsetof(struct share, data) + (tail))

struct plan_table {
    struct herald_env *env;
    struct hash_table table;              /* plans being made and kept */
    size_t kept, max_kept;
    struct plan_share_counts counts;      /* .kept is kept */
    TAILQ_HEAD(share_lru, share) lru;     /* kept plans */
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
    if (!hash_table_init(&t->table, PLAN_MIN_BUCKETS)) {
        free(t);
        return NULL;
    }
    TAILQ_INIT(&t->lru);
    t->env = env;
    t->max_kept = env->dns_cache_entries > 0 ? (size_t)env->dns_cache_entries : PLAN_DEFAULT_MAX;
    env->plans = t;
    return t;
}

static const char *
share_domain(const struct share *s)
{
    return s->data;
}

static const char *
share_planner(const struct share *s)
{
    return s->data + s->domain_len + 1;
}

static const unsigned char *
share_pack(const struct share *s)
{
    const char *planner = share_planner(s);

    return (const unsigned char *)planner + strlen(planner) + 1;
}

static struct share *
find(struct plan_table *t, const struct herald_module_ref *ref, const char *domain, uint32_t h)
{
    struct hash_node *n;

    for (n = hash_table_chain(&t->table, h); n != NULL; n = n->next) {
        struct share *s = HASH_ENTRY(n, struct share, node);

        if (n->hash == h && s->ref == ref && strcasecmp(share_domain(s), domain) == 0)
            return s;
    }
    return NULL;
}

/* share_new - an entry (not linked) with room for a packed plan of pack_len octets */
static struct share *
share_new(const struct herald_module_ref *ref, const char *domain, uint32_t h,
          const char *planner, size_t pack_len)
{
    size_t dl = strlen(domain), pl = strnlen(planner, PLANNER_MAX);
    struct share *s;

    if (dl > 255 || pack_len > 0xffff)
        return NULL;
    s = calloc(1, SHARE_SIZE(dl + 1 + pl + 1 + pack_len));
    if (s == NULL)
        return NULL;
    s->ref = ref;
    s->node.hash = h;
    s->domain_len = (uint8_t)dl;
    s->pack_len = (uint16_t)pack_len;
    memcpy(s->data, domain, dl + 1);
    memcpy(s->data + dl + 1, planner, pl);
    s->data[dl + 1 + pl] = '\0';
    return s;
}

static void
link_in(struct plan_table *t, struct share *s)
{
    hash_table_insert(&t->table, &s->node, s->node.hash);
}

/* unlink_out - s out of t's buckets (and, kept, the LRU list) */
static void
unlink_out(struct plan_table *t, struct share *s)
{
    hash_table_remove(&t->table, &s->node);
    if (s->is_kept) {
        TAILQ_REMOVE(&t->lru, s, lru);
        t->kept--;
    }
}

/* kept_free - a kept entry goes; a plan it handed out lives on with its holders */
static void
kept_free(struct share *s)
{
    if (s->u.kept.live != NULL)
        s->u.kept.live->weak = NULL;
    free(s);
}

/* kept_remove - out of the table and freed */
static void
kept_remove(struct plan_table *t, struct share *s)
{
    unlink_out(t, s);
    kept_free(s);
}

/* keep - a kept entry for plan (made for s) that lives left_ms; at the
 * bound (dns.cache_entries) the least recently used kept plan goes */
static void
keep(struct plan_table *t, const struct share *s, struct herald_route_plan *plan,
     uint64_t left_ms)
{
    size_t n = plan_pack_size(plan);
    struct share *k;

    if (n == 0
        || (k = share_new(s->ref, share_domain(s), s->node.hash, share_planner(s), n)) == NULL)
        return;   /* not kept: only a later plan is not shared */
    plan_pack(plan, (unsigned char *)k->data + k->domain_len + 1 + strlen(share_planner(k)) + 1);
    k->is_kept = true;
    k->u.kept.expires_ms = herald_loop_now_ms(t->env->loop) + left_ms;
    while (t->kept >= t->max_kept && !TAILQ_EMPTY(&t->lru)) {
        t->counts.evictions++;
        kept_remove(t, TAILQ_LAST(&t->lru, share_lru));
    }
    link_in(t, k);
    TAILQ_INSERT_HEAD(&t->lru, k, lru);
    t->kept++;
    if (plan->weak == NULL) {
        k->u.kept.live = plan;
        plan->weak = &k->u.kept.live;
    }
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

        if (herald_host_is_ip_literal(h->host))
            continue;   /* a hop named by an address has no DNS answer to outlive */
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
    struct plan_table *t = s->u.make.t;
    struct share_waiter *w = s->u.make.waiters, *prev = NULL, *next;
    uint64_t left = 0;
    size_t n = 0;

    /* Waiters were pushed in front: turn them round, the first asker first. */
    for (; w != NULL; w = next) {
        next = w->next;
        w->next = prev;
        prev = w;
        n++;
    }
    w = prev;
    if (t != NULL) {
        unlink_out(t, s);
        left = plan_left_ms(t->env, share_domain(s), plan);
        if (left > 0)
            keep(t, s, plan, left);
    }
    free(s);
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
    w->next = s->u.make.waiters;
    s->u.make.waiters = w;
    return true;
}

/* kept_plan - the plan of a kept entry: the one its holders have, else a new one */
static struct herald_route_plan *
kept_plan(struct share *s)
{
    struct herald_route_plan *plan = s->u.kept.live;

    if (plan != NULL)
        return route_plan_hold(plan);
    plan = plan_unpack(share_pack(s), s->pack_len, share_domain(s));
    if (plan != NULL) {
        s->u.kept.live = plan;
        plan->weak = &s->u.kept.live;
    }
    return plan;
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
    if (s != NULL && s->is_kept && s->u.kept.expires_ms <= now) {
        kept_remove(t, s);
        s = NULL;
    }
    if (s != NULL && s->is_kept) {
        struct share_hit *hit = malloc(sizeof *hit);

        if (hit == NULL || (hit->plan = kept_plan(s)) == NULL) {
            free(hit);
            return HERALD_E_NOMEM;
        }
        hit->done = done;
        hit->arg = arg;
        if (s != TAILQ_FIRST(&t->lru)) {   /* used: the most recent */
            TAILQ_REMOVE(&t->lru, s, lru);
            TAILQ_INSERT_HEAD(&t->lru, s, lru);
        }
        herald_trace_log(tr, HERALD_TRACE_INFO, "route",
                         "domain %s: plan taken from the plan cache (made for %s, %llu s left)",
                         domain, share_planner(s),
                         (unsigned long long)((s->u.kept.expires_ms - now + 999) / 1000));
        if (herald_loop_defer(env->loop, hit_fire, hit) != HERALD_OK) {
            herald_plan_free(&hit->plan);
            free(hit);
            return HERALD_E_NOMEM;
        }
        t->counts.taken++;
        return HERALD_OK;
    }
    if (s != NULL) {
        if (!waiter_add(s, done, arg))
            return HERALD_E_NOMEM;
        t->counts.joined++;
        herald_trace_log(tr, HERALD_TRACE_INFO, "route",
                         "domain %s: joined the plan being made for %s", domain,
                         share_planner(s));
        return HERALD_OK;
    }
    s = share_new(strategy, domain, h, herald_trace_id(tr), 0);
    if (s == NULL || !waiter_add(s, done, arg)) {
        free(s);
        return HERALD_E_NOMEM;
    }
    s->u.make.t = t;
    link_in(t, s);
    st = route_start(strategy, env, trace, domain, share_done, s);
    if (st != HERALD_OK) {   /* no request was made: nobody else could have joined yet */
        unlink_out(t, s);
        free(s->u.make.waiters);
        free(s);
    }
    return st;
}

/* plan_share_counts - the env's table's counters; zeros when it has none */
void
plan_share_counts(const struct herald_env *env, struct plan_share_counts *out)
{
    const struct plan_table *t = env != NULL ? env->plans : NULL;

    memset(out, 0, sizeof *out);
    if (t == NULL)
        return;
    *out = t->counts;
    out->kept = t->kept;
}

/* close_one - a kept plan goes; a plan being made finishes for its waiters only */
static void
close_one(struct hash_node *n, void *arg)
{
    struct share *s = HASH_ENTRY(n, struct share, node);

    (void)arg;
    if (s->is_kept)
        kept_free(s);
    else
        s->u.make.t = NULL;   /* share_done delivers it and frees it */
}

/* plan_share_close - drop kept plans; plans being made finish for their waiters only */
void
plan_share_close(struct herald_env *env)
{
    struct plan_table *t;

    if (env == NULL || (t = env->plans) == NULL)
        return;
    hash_table_fini(&t->table, close_one, NULL);
    free(t);
    env->plans = NULL;
}
