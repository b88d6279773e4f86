/*
 * route_mx.c - the MX walk, herald_route_mx() (contract in herald/route.h)
 *
 * Shape: [MX query] -> candidates (MX hosts in order, then fixed hops) ->
 * every candidate resolved in parallel -> hops in candidate order.
 * Resolving in parallel keeps the plan's latency at one DNS round trip
 * whatever the number of hosts; the candidate count is bounded by
 * max_hops plus the configured fixed hops.
 *
 * Thousands of walks may wait for their MX answers at once (one per domain
 * in flight), so a waiting walk is small: its candidates are allocated
 * when the answer says how many there are, and the fixed hops are as many
 * as configured, not WALK_FIXED_MAX.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <herald/dns.h>
#include <herald/host.h>
#include <herald/route.h>
#include <herald/trace.h>
#include "module_abi.h"
#include "mx_order.h"

#define WALK_ADDR_MAX 256         /* addresses looked at per host, before the cap */
#define WALK_FIXED_MAX 32         /* fixed hops used per plan */
#define WALK_DEFAULT_PORT 25
#define WALK_DEFAULT_HOPS 10
#define WALK_MAX_HOPS 100
#define WALK_DEFAULT_ADDRS 5
#define WALK_MAX_ADDRS 64

/* The walk's settings: the caller's options with every default applied. */
struct walk_config {
    bool use_mx;
    uint32_t flags;
    uint16_t port;
    uint64_t seed;
    enum herald_mx_family family;
    size_t max_hops;
    size_t max_addresses;
};

struct walk;

struct cand {
    struct walk *w;
    char host[HERALD_HOST_MAX];
    uint16_t port;
    int preference;
    const char *origin;           /* static strings or the walk's fixed_origin copy */
    char *why;                    /* for the trace (only when it is on): why this host */
    bool fixed;
    size_t naddr;
    struct herald_address *addr;  /* ordered and capped; malloc'd */
    enum herald_dns_class cls;
    char *reason;                 /* why it has no address; NULL: none given */
};

struct walk {
    struct herald_route_request *req;
    const struct herald_trace *trace;
    struct walk_config cfg;
    char fixed_origin[33];
    struct herald_hostport *fixed;    /* fixed_count of them */
    size_t fixed_count;
    struct cand *c;                   /* cap of them, from cands_reserve */
    size_t n, cap, pending;
    size_t mx_hosts;              /* candidates that came from MX records */
    bool implicit, no_mx, null_mx, tempfail, cancelled;
    char *mx_reason;              /* why the MX step failed; only then made */
};

static void walk_finish(struct walk *w);

/* walk_free - release a walk (the request is answered or abandoned) */
static void
walk_free(struct walk *w)
{
    size_t i;

    for (i = 0; i < w->n; i++) {
        free(w->c[i].addr);
        free(w->c[i].why);
        free(w->c[i].reason);
    }
    free(w->c);
    free(w->fixed);
    free(w->mx_reason);
    free(w);
}

/* tracing - the walk's lines would be written: only then is c->why made */
static bool
tracing(const struct walk *w)
{
    return herald_trace_enabled(w->trace, HERALD_TRACE_INFO);
}

/* cand_text - *dst = the formatted text (replacing any); left NULL when out of memory */
static void __attribute__((format(printf, 2, 3)))
cand_text(char **dst, const char *fmt, ...)
{
    char buf[768];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    free(*dst);
    *dst = strdup(buf);
}

/* mx_reason - why the MX step failed, for a reason or the trace */
static const char *
mx_reason(const struct walk *w)
{
    return w->mx_reason != NULL ? w->mx_reason : "out of memory";
}

/* cands_reserve - room for mx candidates from DNS and the fixed hops; false
 * when out of memory (the walk is then a temporary failure) */
static bool
cands_reserve(struct walk *w, size_t mx)
{
    if (w->c != NULL)
        return true;
    w->cap = mx + w->fixed_count;
    w->c = calloc(w->cap > 0 ? w->cap : 1, sizeof *w->c);
    if (w->c != NULL)
        return true;
    w->cap = 0;
    w->tempfail = true;
    cand_text(&w->mx_reason, "out of memory");
    return false;
}

/* cand_add - append a candidate; false when max reached */
static struct cand *
cand_add(struct walk *w, const char *host, uint16_t port, int preference, const char *origin,
         bool fixed)
{
    struct cand *c;

    if (w->n >= w->cap || strlen(host) >= sizeof c->host)
        return NULL;
    c = &w->c[w->n++];
    memset(c, 0, sizeof *c);
    c->w = w;
    strcpy(c->host, host);
    c->port = port;
    c->preference = preference;
    c->origin = origin;
    c->fixed = fixed;
    return c;
}

/* add_fixed - append the configured hops after whatever DNS gave */
static void
add_fixed(struct walk *w)
{
    size_t i;

    for (i = 0; i < w->fixed_count; i++) {
        struct cand *c = cand_add(w, w->fixed[i].host, w->fixed[i].port, -1, w->fixed_origin,
                                  true);

        if (c == NULL || !tracing(w))
            continue;
        if (!w->cfg.use_mx)
            cand_text(&c->why, "%s %s:%u (configured, %zu of %zu)",
                      w->fixed_origin, c->host, (unsigned)c->port, i + 1, w->fixed_count);
        else if (w->tempfail)
            cand_text(&c->why, "%s %s:%u appended as last resort (MX lookup failed temporarily)",
                      w->fixed_origin, c->host, (unsigned)c->port);
        else
            cand_text(&c->why, "%s %s:%u appended as last resort",
                      w->fixed_origin, c->host, (unsigned)c->port);
    }
}

/* on_addr - one candidate's addresses are in */
static void
on_addr(void *arg, const struct herald_addr_result *res)
{
    struct cand *c = arg;
    struct walk *w = c->w;

    c->cls = res->dns_class;
    if (res->dns_class == HERALD_DNS_CANCELLED) {
        w->cancelled = true;
    } else if (res->dns_class == HERALD_DNS_OK) {
        size_t n = res->count < WALK_ADDR_MAX ? res->count : WALK_ADDR_MAX;

        c->addr = n > 0 ? malloc(n * sizeof *c->addr) : NULL;
        if (c->addr != NULL) {
            memcpy(c->addr, res->addr, n * sizeof *c->addr);
            c->naddr = mx_addr_order(c->addr, n, w->cfg.family, w->cfg.max_addresses);
        }
        if (c->naddr == 0)
            cand_text(&c->reason, "%s", n > 0 && c->addr == NULL
                                            ? "out of memory" : "no address of the configured family");
    } else {
        cand_text(&c->reason, "%s%s%s", herald_dns_class_name(res->dns_class),
                  res->reason && *res->reason ? ": " : "", res->reason ? res->reason : "");
    }
    if (--w->pending == 0)
        walk_finish(w);
}

/* resolve_all - ask for every candidate's addresses at once */
static void
resolve_all(struct walk *w)
{
    enum herald_family fam = mx_family_query(w->cfg.family);
    struct herald_env *env = herald_route_env(w->req);
    size_t i;

    /* One extra count: no callback can finish the walk while we start lookups
     * (callbacks come from the loop, but a synchronous refusal counts down here). */
    w->pending = w->n + 1;
    for (i = 0; i < w->n; i++) {
        struct herald_diag diag = { "", "" };
        herald_status st = herald_dns_resolve(env, herald_route_trace(w->req), w->c[i].host, fam,
                                                on_addr, &w->c[i], &diag);

        if (st != HERALD_OK) {
            w->c[i].cls = st == HERALD_E_INVAL ? HERALD_DNS_BADNAME : HERALD_DNS_TEMPFAIL;
            cand_text(&w->c[i].reason, "%s: %s", herald_strerror(st), diag.text);
            w->pending--;
        }
    }
    if (--w->pending == 0)
        walk_finish(w);
}

/* after_mx - the MX step is over (or skipped): fixed hops, then addresses */
static void
after_mx(struct walk *w)
{
    if (cands_reserve(w, 0))
        add_fixed(w);
    if (w->n == 0) {
        w->pending = 0;
        walk_finish(w);
        return;
    }
    resolve_all(w);
}

/* add_mx_hosts - order the MX answer and make candidates of the usable hosts.
 * An answer of a few records (nearly all) is ordered on the stack. */
static void
add_mx_hosts(struct walk *w, const struct herald_mx_result *res)
{
    enum { FEW = 8 };
    const char *domain = herald_route_domain(w->req);
    struct mx_entry e_few[FEW], sorted_few[FEW], *e, *sorted = NULL;
    enum mx_drop why_few[FEW], *why;
    struct mx_rng rng;
    size_t i, n = res->count, kept;

    if (n <= FEW) {
        e = e_few;
        why = why_few;
    } else {
        e = calloc(n, sizeof *e);
        why = calloc(n, sizeof *why);
    }
    if (e == NULL || why == NULL) {
        free(e);
        free(why);
        cand_text(&w->mx_reason, "out of memory ordering MX records");
        w->tempfail = true;
        return;
    }
    for (i = 0; i < n; i++) {
        memset(&e[i], 0, sizeof e[i]);
        e[i].preference = res->mx[i].preference;
        e[i].host = res->mx[i].host;
        e[i].is_ip_literal = res->mx[i].is_ip_literal;
    }
    /* One record has no order to shuffle: no seed from the kernel for it. */
    if (n > 1)
        mx_rng_init(&rng, w->cfg.seed);
    else
        rng.state = 1;
    mx_sort(e, n, &rng);
    /* why[] follows the sorted order: trace it before mx_filter compacts. */
    if (tracing(w)) {
        sorted = n <= FEW ? sorted_few : calloc(n, sizeof *sorted);
        if (sorted != NULL)
            memcpy(sorted, e, n * sizeof *e);
    }
    kept = mx_filter(e, n, (w->cfg.flags & HERALD_MX_ALLOW_IP) != 0, w->cfg.max_hops, why);
    for (i = 0; sorted != NULL && i < n; i++)
        if (why[i] != MX_KEEP)
            herald_trace_log(w->trace, HERALD_TRACE_INFO, "route", "MX %u %s: %s",
                             (unsigned)sorted[i].preference,
                             sorted[i].host[0] ? sorted[i].host : ".", mx_drop_text(why[i]));
    if (sorted != sorted_few)
        free(sorted);
    if (!cands_reserve(w, kept))
        kept = 0;
    for (i = 0; i < kept; i++) {
        struct cand *c = cand_add(w, e[i].host, w->cfg.port, e[i].preference, "mx", false);

        if (c == NULL)
            continue;
        w->mx_hosts++;
        if (!tracing(w))
            continue;
        if (e[i].tied > 1)
            cand_text(&c->why, "MX %u %s (%zu of equal preference, %s)",
                      (unsigned)e[i].preference, c->host, e[i].tied,
                      w->cfg.seed ? "shuffled with the configured seed" : "shuffled");
        else
            cand_text(&c->why, "MX %u %s", (unsigned)e[i].preference, c->host);
    }
    herald_trace_log(w->trace, HERALD_TRACE_INFO, "route", "domain %s: %zu MX record(s), %zu usable",
                     domain, n, kept);
    if (e != e_few) {
        free(e);
        free(why);
    }
}

/* on_mx - the domain's MX answer */
static void
on_mx(void *arg, const struct herald_mx_result *res)
{
    struct walk *w = arg;
    const char *domain = herald_route_domain(w->req);
    enum mx_verdict v = mx_classify(res->dns_class, res->mx, res->count);
    enum herald_result result;
    const char *dsn;
    char reason[1024];

    switch (v) {
    case MX_CANCELLED:
        walk_free(w);
        return;
    case MX_NULL:
        if ((w->cfg.flags & HERALD_MX_NULL_USES_FIXED) && w->fixed_count > 0) {
            w->null_mx = true;
            herald_trace_log(w->trace, HERALD_TRACE_INFO, "route",
                             "domain %s has a null MX (RFC 7505): only the %s hops are tried",
                             domain, w->fixed_origin);
            break;
        }
        /* fall through */
    case MX_NXDOMAIN:
    case MX_BADNAME:
        mx_verdict_outcome(v, &result, &dsn);
        if (v == MX_NULL)
            snprintf(reason, sizeof reason, "domain %s accepts no mail (null MX, RFC 7505)",
                     domain);
        else if (v == MX_NXDOMAIN)
            snprintf(reason, sizeof reason, "domain %s does not exist (NXDOMAIN)", domain);
        else
            snprintf(reason, sizeof reason, "MX lookup for %s: not a valid host name (%s)",
                     domain, res->reason ? res->reason : "");
        /* A permanent verdict on the recipient domain: no smart host either. */
        herald_trace_log(w->trace, HERALD_TRACE_INFO, "route", "%s: no hop, %s %s", reason,
                         herald_result_name(result), dsn);
        herald_route_fail(w->req, result, dsn, reason);
        walk_free(w);
        return;
    case MX_TEMPFAIL:
        w->tempfail = true;
        cand_text(&w->mx_reason, "%s", res->reason ? res->reason : "");
        herald_trace_log(w->trace, HERALD_TRACE_INFO, "route",
                         "MX lookup for %s failed temporarily: %s", domain, mx_reason(w));
        break;
    case MX_IMPLICIT: {
        struct cand *c;

        if (w->cfg.flags & HERALD_MX_NO_IMPLICIT) {
            w->no_mx = true;
            herald_trace_log(w->trace, HERALD_TRACE_INFO, "route",
                             "no MX record for %s; implicit MX not used (strategy's choice)",
                             domain);
            break;
        }
        /* RFC 5321 5.1: "as if it was associated with an implicit MX RR,
         * with a preference of 0". */
        c = cands_reserve(w, 1) ? cand_add(w, domain, w->cfg.port, 0, "implicit-mx", false)
                                : NULL;
        w->implicit = true;
        if (c != NULL && tracing(w))
            cand_text(&c->why, "no MX record for %s: implicit MX 0, the domain itself", domain);
        break;
    }
    case MX_USE:
        add_mx_hosts(w, res);
        break;
    }
    after_mx(w);
}

/* trace_hop - one line per hop of the plan, with its addresses */
static void
trace_hop(const struct walk *w, size_t index, const struct cand *c)
{
    char list[400];
    size_t i, used = 0;

    if (!tracing(w))
        return;
    list[0] = '\0';
    for (i = 0; i < c->naddr && used < sizeof list; i++) {
        int k = snprintf(list + used, sizeof list - used, "%s%s", i ? " " : "", c->addr[i].text);

        if (k < 0)
            break;
        used += (size_t)k;
    }
    herald_trace_log(w->trace, HERALD_TRACE_INFO, "route", "hop %zu: %s -> %s", index + 1,
                     c->why != NULL ? c->why : c->host, list);
}

/* fail_without_hops - no candidate had an address: choose the verdict */
static void
fail_without_hops(struct walk *w)
{
    const char *domain = herald_route_domain(w->req);
    char reason[1024];

    if (w->tempfail) {
        snprintf(reason, sizeof reason, "MX lookup for %s failed temporarily: %s%s", domain,
                 mx_reason(w), w->fixed_count ? "; no smart host has an address" : "");
        herald_route_fail(w->req, HERALD_RESULT_DEFERRED, "4.4.3", reason);
    } else if (w->implicit && w->fixed_count == 0 && w->n == 1
               && (w->c[0].cls == HERALD_DNS_NODATA || w->c[0].cls == HERALD_DNS_NXDOMAIN)) {
        snprintf(reason, sizeof reason, "domain %s has no MX and no address record", domain);
        herald_route_fail(w->req, HERALD_RESULT_FAILED, "5.4.4", reason);
    } else if (w->implicit && w->fixed_count == 0 && w->n == 1) {
        snprintf(reason, sizeof reason, "address lookup for %s failed: %s", domain,
                 w->c[0].reason != NULL ? w->c[0].reason : "no address");
        herald_route_fail(w->req, HERALD_RESULT_DEFERRED, "4.4.3", reason);
    } else if (w->no_mx && w->fixed_count == 0) {
        snprintf(reason, sizeof reason, "domain %s has no MX record", domain);
        herald_route_fail(w->req, HERALD_RESULT_FAILED, "5.4.4", reason);
    } else if (w->cfg.use_mx) {
        snprintf(reason, sizeof reason, "no MX host of %s has an address%s", domain,
                 w->fixed_count ? ", nor any smart host" : "");
        herald_route_fail(w->req, HERALD_RESULT_DEFERRED, "4.4.4", reason);
    } else {
        snprintf(reason, sizeof reason, "no %s host has an address", w->fixed_origin);
        herald_route_fail(w->req, HERALD_RESULT_DEFERRED, "4.4.4", reason);
    }
    herald_trace_log(w->trace, HERALD_TRACE_INFO, "route", "no hop: %s", reason);
}

/* walk_finish - every lookup is in: hand the hops to the plan */
static void
walk_finish(struct walk *w)
{
    size_t i, added = 0;

    if (w->cancelled) {
        walk_free(w);
        return;
    }
    for (i = 0; i < w->n; i++) {
        struct cand *c = &w->c[i];
        size_t hop, a;

        if (c->naddr == 0) {
            herald_trace_log(w->trace, HERALD_TRACE_INFO, "route", "skipped %s: %s",
                             c->why != NULL ? c->why : c->host,
                             c->reason != NULL && c->reason[0] ? c->reason : "no address");
            continue;
        }
        if (herald_route_add_hop(w->req, c->host, c->port, c->preference, c->origin, &hop)
            != HERALD_OK)
            continue;
        for (a = 0; a < c->naddr; a++)
            (void)herald_route_add_address(w->req, hop, &c->addr[a]);
        trace_hop(w, added, c);
        added++;
    }
    if (added > 0)
        herald_route_done(w->req);
    else
        fail_without_hops(w);
    walk_free(w);
}

/* copy_fixed - parse the configured hops now: the caller's list may go; false
 * when out of memory */
static bool
copy_fixed(struct walk *w, const char *const *fixed, size_t count, const char *origin)
{
    size_t i;

    snprintf(w->fixed_origin, sizeof w->fixed_origin, "%s", origin ? origin : "smarthost");
    if (fixed == NULL || count == 0)
        return true;
    w->fixed = calloc(count < WALK_FIXED_MAX ? count : WALK_FIXED_MAX, sizeof *w->fixed);
    if (w->fixed == NULL)
        return false;
    for (i = 0; i < count; i++) {
        char why[128];

        if (w->fixed_count == WALK_FIXED_MAX)
            break;
        /* Checked at load time by the strategy's check(); an entry that
         * fails here is skipped, traced. */
        if (herald_hostport_parse(fixed[i], w->cfg.port, &w->fixed[w->fixed_count], why,
                                  sizeof why) == HERALD_OK)
            w->fixed_count++;
        else
            herald_trace_log(w->trace, HERALD_TRACE_WARN, "route", "%s entry %zu ignored: %s",
                             w->fixed_origin, i + 1, why);
    }    return true;
}

/* OPT - a member of the caller's options if its struct_size covers it, else 0 */
#define OPT(o, member) (OPS_HAS(struct herald_route_mx_options, (o), member) ? (o)->member : 0)

/* walk_config_from - the caller's options with every default applied */
static void
walk_config_from(struct walk_config *cfg, const struct herald_route_mx_options *o)
{
    uint32_t hops = OPT(o, max_hops), addrs = OPT(o, max_addresses);
    enum herald_mx_family family = OPT(o, family);

    cfg->flags = OPT(o, flags);
    cfg->use_mx = (cfg->flags & HERALD_MX_FIXED_ONLY) == 0;
    cfg->port = OPT(o, port) ? OPT(o, port) : WALK_DEFAULT_PORT;
    cfg->seed = OPT(o, seed);
    cfg->family = family <= HERALD_MX_FAMILY_PREFER_IPV6 ? family : HERALD_MX_FAMILY_ANY;
    cfg->max_hops = hops == 0 ? WALK_DEFAULT_HOPS : hops > WALK_MAX_HOPS ? WALK_MAX_HOPS : hops;
    cfg->max_addresses = addrs == 0 ? WALK_DEFAULT_ADDRS
                         : addrs > WALK_MAX_ADDRS ? WALK_MAX_ADDRS : addrs;
}

/* herald_route_mx - plan req with the MX walk */
herald_status
herald_route_mx(struct herald_route_request *req, const struct herald_route_mx_options *opts)
{
    static const struct herald_route_mx_options defaults = HERALD_ROUTE_MX_OPTIONS_INIT;
    struct herald_diag diag = { "", "" };
    struct walk *w;
    herald_status st;

    if (req == NULL)
        return HERALD_E_INVAL;
    if (opts == NULL)
        opts = &defaults;
    if (opts->struct_size < sizeof(uint32_t))
        return HERALD_E_INVAL;
    w = calloc(1, sizeof *w);
    if (w == NULL)
        return HERALD_E_NOMEM;
    w->req = req;
    w->trace = herald_route_trace(req);
    walk_config_from(&w->cfg, opts);
    if (!copy_fixed(w, OPT(opts, fixed), OPT(opts, fixed_count), OPT(opts, fixed_origin))) {
        walk_free(w);
        return HERALD_E_NOMEM;
    }
    if (!w->cfg.use_mx) {
        after_mx(w);
        return HERALD_OK;
    }
    st = herald_dns_query_mx(herald_route_env(req), herald_route_trace(req),
                             herald_route_domain(req), on_mx, w, &diag);
    if (st == HERALD_E_INVAL) {
        char reason[1024];

        snprintf(reason, sizeof reason, "%s is not a valid domain name",
                 herald_route_domain(req));
        herald_trace_log(w->trace, HERALD_TRACE_INFO, "route", "%s", reason);
        herald_route_fail(req, HERALD_RESULT_FAILED, "5.1.2", reason);
        walk_free(w);
    } else if (st != HERALD_OK) {
        /* No resolver at all: as temporary as a SERVFAIL. */
        w->tempfail = true;
        cand_text(&w->mx_reason, "%s", diag.text[0] ? diag.text : herald_strerror(st));
        herald_trace_log(w->trace, HERALD_TRACE_INFO, "route", "MX lookup for %s failed: %s",
                         herald_route_domain(req), mx_reason(w));
        after_mx(w);
    }
    return HERALD_OK;
}
