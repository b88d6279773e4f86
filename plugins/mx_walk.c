/*
 * mx_walk.c - the asynchronous planning engine (see mx_walk.h)
 *
 * Shape: [MX query] -> candidates (MX hosts in order, then fixed hops) ->
 * every candidate resolved in parallel -> hops in candidate order.
 * Resolving in parallel keeps the plan's latency at one DNS round trip
 * whatever the number of hosts; the candidate count is bounded by
 * max_hops plus the configured fixed hops.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <herald/dns.h>
#include <herald/trace.h>
#include "mx_walk.h"
#include "smarthost_list.h"

#define WALK_ADDR_MAX 256         /* addresses looked at per host, before the cap */
#define WALK_FIXED_MAX 32         /* fixed hops used per plan */

struct walk;

struct cand {
    struct walk *w;
    char host[SMARTHOST_HOST_MAX];
    uint16_t port;
    int preference;
    const char *origin;           /* static strings or the walk's fixed_origin copy */
    char why[400];                /* for the trace: why this host is in the plan */
    bool fixed;
    size_t naddr;
    struct herald_address *addr;  /* ordered and capped; malloc'd */
    enum herald_dns_class cls;
    char reason[640];
};

struct walk {
    struct herald_route_request *req;
    const struct herald_trace *trace;
    struct walk_config cfg;
    char fixed_origin[33];
    struct smarthost fixed[WALK_FIXED_MAX];
    size_t fixed_count;
    struct cand *c;
    size_t n, pending;
    size_t mx_hosts;              /* candidates that came from MX records */
    bool implicit, tempfail, cancelled;
    char mx_reason[640];
};

static void walk_finish(struct walk *w);

/* walk_free - release a walk (the request is answered or abandoned) */
static void
walk_free(struct walk *w)
{
    size_t i;

    for (i = 0; i < w->n; i++)
        free(w->c[i].addr);
    free(w->c);
    free(w);
}

/* cand_add - append a candidate; false when max reached */
static struct cand *
cand_add(struct walk *w, const char *host, uint16_t port, int preference, const char *origin,
         bool fixed)
{
    struct cand *c;

    if (strlen(host) >= sizeof c->host)
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

        if (c == NULL)
            continue;
        if (!w->cfg.use_mx)
            snprintf(c->why, sizeof c->why, "%s %s:%u (configured, %zu of %zu)",
                     w->fixed_origin, c->host, (unsigned)c->port, i + 1, w->fixed_count);
        else if (w->tempfail)
            snprintf(c->why, sizeof c->why,
                     "%s %s:%u appended as last resort (MX lookup failed temporarily)",
                     w->fixed_origin, c->host, (unsigned)c->port);
        else
            snprintf(c->why, sizeof c->why, "%s %s:%u appended as last resort",
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
            snprintf(c->reason, sizeof c->reason, "%s",
                     n > 0 && c->addr == NULL ? "out of memory"
                                              : "no address of the configured family");
    } else {
        snprintf(c->reason, sizeof c->reason, "%s%s%s", herald_dns_class_name(res->dns_class),
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
            snprintf(w->c[i].reason, sizeof w->c[i].reason, "%s: %s", herald_strerror(st),
                     diag.text);
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
    add_fixed(w);
    if (w->n == 0) {
        w->pending = 0;
        walk_finish(w);
        return;
    }
    resolve_all(w);
}

/* add_mx_hosts - order the MX answer and make candidates of the usable hosts */
static void
add_mx_hosts(struct walk *w, const struct herald_mx_result *res)
{
    const char *domain = herald_route_domain(w->req);
    struct mx_entry *e;
    enum mx_drop *why;
    struct mx_rng rng;
    size_t i, n = res->count, kept;

    e = calloc(n, sizeof *e);
    why = calloc(n, sizeof *why);
    if (e == NULL || why == NULL) {
        free(e);
        free(why);
        snprintf(w->mx_reason, sizeof w->mx_reason, "out of memory ordering MX records");
        w->tempfail = true;
        return;
    }
    for (i = 0; i < n; i++) {
        e[i].preference = res->mx[i].preference;
        e[i].host = res->mx[i].host;
        e[i].is_ip_literal = res->mx[i].is_ip_literal;
    }
    mx_rng_init(&rng, (uint64_t)w->cfg.seed);
    mx_sort(e, n, &rng);
    /* why[] follows the sorted order: trace it before mx_filter compacts. */
    {
        struct mx_entry *sorted = calloc(n, sizeof *sorted);

        if (sorted != NULL)
            memcpy(sorted, e, n * sizeof *e);
        kept = mx_filter(e, n, w->cfg.allow_ip_mx, w->cfg.max_hops, why);
        for (i = 0; sorted != NULL && i < n; i++)
            if (why[i] != MX_KEEP)
                herald_trace_log(w->trace, HERALD_TRACE_INFO, "route", "MX %u %s: %s",
                                 (unsigned)sorted[i].preference,
                                 sorted[i].host[0] ? sorted[i].host : ".", mx_drop_text(why[i]));
        free(sorted);
    }
    for (i = 0; i < kept; i++) {
        struct cand *c = cand_add(w, e[i].host, w->cfg.port, e[i].preference, "mx", false);

        if (c == NULL)
            continue;
        w->mx_hosts++;
        if (e[i].tied > 1)
            snprintf(c->why, sizeof c->why, "MX %u %s (%zu of equal preference, %s)",
                     (unsigned)e[i].preference, c->host, e[i].tied,
                     w->cfg.seed ? "shuffled with the configured seed" : "shuffled");
        else
            snprintf(c->why, sizeof c->why, "MX %u %s", (unsigned)e[i].preference, c->host);
    }
    herald_trace_log(w->trace, HERALD_TRACE_INFO, "route", "domain %s: %zu MX record(s), %zu usable",
                     domain, n, kept);
    free(e);
    free(why);
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
        snprintf(w->mx_reason, sizeof w->mx_reason, "%s", res->reason ? res->reason : "");
        herald_trace_log(w->trace, HERALD_TRACE_INFO, "route",
                         "MX lookup for %s failed temporarily: %s", domain, w->mx_reason);
        break;
    case MX_IMPLICIT: {
        struct cand *c = cand_add(w, domain, w->cfg.port, -1, "implicit-mx", false);

        w->implicit = true;
        if (c != NULL)
            snprintf(c->why, sizeof c->why,
                     "no MX record for %s: implicit MX, the domain itself", domain);
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

    list[0] = '\0';
    for (i = 0; i < c->naddr && used < sizeof list; i++) {
        int k = snprintf(list + used, sizeof list - used, "%s%s", i ? " " : "", c->addr[i].text);

        if (k < 0)
            break;
        used += (size_t)k;
    }
    herald_trace_log(w->trace, HERALD_TRACE_INFO, "route", "hop %zu: %s -> %s", index + 1, c->why,
                     list);
}

/* fail_without_hops - no candidate had an address: choose the verdict */
static void
fail_without_hops(struct walk *w)
{
    const char *domain = herald_route_domain(w->req);
    char reason[1024];

    if (w->tempfail) {
        snprintf(reason, sizeof reason, "MX lookup for %s failed temporarily: %s%s", domain,
                 w->mx_reason, w->fixed_count ? "; no smart host has an address" : "");
        herald_route_fail(w->req, HERALD_RESULT_DEFERRED, "4.4.3", reason);
    } else if (w->implicit && w->fixed_count == 0 && w->n == 1
               && (w->c[0].cls == HERALD_DNS_NODATA || w->c[0].cls == HERALD_DNS_NXDOMAIN)) {
        snprintf(reason, sizeof reason, "domain %s has no MX and no address record", domain);
        herald_route_fail(w->req, HERALD_RESULT_FAILED, "5.4.4", reason);
    } else if (w->implicit && w->fixed_count == 0 && w->n == 1) {
        snprintf(reason, sizeof reason, "address lookup for %s failed: %s", domain,
                 w->c[0].reason);
        herald_route_fail(w->req, HERALD_RESULT_DEFERRED, "4.4.3", reason);
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
                             c->why, c->reason[0] ? c->reason : "no address");
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

/* copy_fixed - parse the configured hops now: the caller's list may go */
static void
copy_fixed(struct walk *w, const struct walk_config *cfg)
{
    size_t i;

    snprintf(w->fixed_origin, sizeof w->fixed_origin, "%s",
             cfg->fixed_origin ? cfg->fixed_origin : "smarthost");
    for (i = 0; cfg->fixed != NULL && i < cfg->fixed->count; i++) {
        char why[128];

        if (w->fixed_count == WALK_FIXED_MAX)
            break;
        /* Checked at load time; an entry that fails here is skipped, traced. */
        if (smarthost_parse(cfg->fixed->items[i], cfg->port, &w->fixed[w->fixed_count], why,
                            sizeof why) == HERALD_OK)
            w->fixed_count++;
        else
            herald_trace_log(w->trace, HERALD_TRACE_WARN, "route", "%s entry %zu ignored: %s",
                             w->fixed_origin, i + 1, why);
    }
}

/* mx_walk_config_mx - cfg set for an MX walk with the options o; no fixed hops */
void
mx_walk_config_mx(struct walk_config *cfg, const struct mx_walk_options *o)
{
    *cfg = (struct walk_config){
        .use_mx = true, .port = (uint16_t)o->port, .seed = o->seed,
        .family = (enum mx_family)o->family, .max_hops = (size_t)o->max_hops,
        .max_addresses = (size_t)o->max_addresses, .allow_ip_mx = o->allow_ip_mx,
        .fixed = NULL, .fixed_origin = NULL,
    };
}

/* mx_walk_start - plan req as cfg says */
herald_status
mx_walk_start(struct herald_route_request *req, const struct walk_config *cfg)
{
    struct herald_diag diag = { "", "" };
    struct walk *w;
    herald_status st;

    w = calloc(1, sizeof *w);
    if (w == NULL)
        return HERALD_E_NOMEM;
    w->req = req;
    w->trace = herald_route_trace(req);
    w->cfg = *cfg;
    if (w->cfg.max_hops == 0)
        w->cfg.max_hops = 10;
    if (w->cfg.max_addresses == 0)
        w->cfg.max_addresses = 5;
    copy_fixed(w, cfg);
    /* MX hosts (at most max_hops, or one implicit) plus the fixed hops. */
    w->c = calloc(w->cfg.max_hops + 1 + w->fixed_count, sizeof *w->c);
    if (w->c == NULL) {
        free(w);
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
        snprintf(w->mx_reason, sizeof w->mx_reason, "%s", diag.text[0] ? diag.text
                                                                      : herald_strerror(st));
        herald_trace_log(w->trace, HERALD_TRACE_INFO, "route", "MX lookup for %s failed: %s",
                         herald_route_domain(req), w->mx_reason);
        after_mx(w);
    }
    return HERALD_OK;
}
