/*
 * plan_share.h - route plans shared by the messages to one domain (internal)
 *
 * herald_route_start() goes through plan_share_start(): messages to the
 * same domain through the same device (env) and strategy share one plan
 * while the DNS answers it was made from live, and a plan being made is
 * joined, not made again.  Each caller still owns what it receives
 * (herald_plan_free; a shared plan counts its holders).
 *
 * A plan is kept only while the device's resolver still holds the domain's
 * MX answer and an address answer of every hop host that is a name; it
 * lives until the first of them expires (a deferred plan, at most the DNS
 * hold-down).  Kept plans are bounded by dns.cache_entries, as answers are:
 * at the bound the least recently used kept plan is dropped for the new
 * one (an expired plan is never used again, so it sinks to that end), and
 * a long-running process keeps sharing (test_plan_share).
 */
#ifndef HERALD_CORE_PLAN_SHARE_H
#define HERALD_CORE_PLAN_SHARE_H

#include <herald/route.h>

struct herald_env;
struct herald_device;
struct herald_module_ref;

herald_status plan_share_start(const struct herald_module_ref *strategy, struct herald_env *env,
                               const struct herald_trace *trace, const char *domain,
                               herald_plan_fn done, void *arg);
/* What the env's plan table did so far (all 0 before its first plan). */
struct plan_share_counts {
    size_t kept;                  /* plans kept now */
    size_t evictions;             /* kept plans dropped at the bound for a newer one */
    size_t taken;                 /* plans handed out from the table */
    size_t joined;                /* callers that joined a plan being made */
};
void plan_share_counts(const struct herald_env *env, struct plan_share_counts *out);
/* Drop the env's kept plans; plans being made finish unshared.  The context calls it
 * before dns_env_close(). */
void plan_share_close(struct herald_env *env);

/* route.c */
herald_status route_start(const struct herald_module_ref *strategy, struct herald_env *env,
                          const struct herald_trace *trace, const char *domain,
                          herald_plan_fn done, void *arg);
struct herald_route_plan *route_plan_hold(struct herald_route_plan *plan);
const struct herald_module_ref *route_device_ref(const struct herald_device *dev);

#endif
