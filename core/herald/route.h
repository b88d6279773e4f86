/*
 * herald/route.h - the route strategy ABI (module kind HERALD_KIND_ROUTE)
 *
 * A strategy turns a recipient domain into an ordered list of hops.  It
 * never blocks and never opens a connection: it asks DNS through
 * herald/dns.h and answers through its request, exactly once, with
 * herald_route_done() (at least one hop) or herald_route_fail().
 *
 *   static herald_status plan(const void *options, struct herald_route_request *req)
 *   {
 *       ... herald_dns_query_mx(herald_route_env(req), herald_route_trace(req),
 *                               herald_route_domain(req), on_mx, req, NULL);
 *   }
 *   ... in on_mx: herald_route_add_hop(req, "mx1.example", 25, 10, "mx", &hop);
 *                 herald_route_add_address(req, hop, &addr); ... herald_route_done(req);
 *
 * The plan belongs to the core.  Strings passed in are copied.
 */
#ifndef HERALD_ROUTE_H
#define HERALD_ROUTE_H

#include <stddef.h>
#include <stdint.h>
#include <herald/status.h>
#include <herald/outcome.h>
#include <herald/dns.h>

#ifdef __cplusplus
extern "C" {
#endif

struct herald_route_request;
struct herald_route_plan;
struct herald_trace;
struct herald_env;

struct herald_route_ops {
    uint32_t struct_size;    /* sizeof(struct herald_route_ops) at build time */
    /* Start planning.  An error status means no answer will come (the core
     * then fails the request with the status text as a temporary error). */
    herald_status (*plan)(const void *options, struct herald_route_request *req);
};

/* What a strategy reads from its request. */
const char *herald_route_domain(const struct herald_route_request *req);
struct herald_env *herald_route_env(const struct herald_route_request *req);
const struct herald_trace *herald_route_trace(const struct herald_route_request *req);

/* Append a hop; origin is "mx", "implicit-mx", "smarthost" or the strategy's
 * own word.  preference -1 when none.  *hop_out is the hop's index. */
herald_status herald_route_add_hop(struct herald_route_request *req, const char *host,
                                   uint16_t port, int preference, const char *origin,
                                   size_t *hop_out);
herald_status herald_route_add_address(struct herald_route_request *req, size_t hop,
                                       const struct herald_address *addr);
/* Finish with the hops added so far (none: a temporary failure, "no usable hop"). */
void herald_route_done(struct herald_route_request *req);
/* Finish with an error: result is DEFERRED or FAILED; dsn like "5.1.2". */
void herald_route_fail(struct herald_route_request *req, enum herald_result result,
                       const char *dsn, const char *reason);

/* Reading a finished plan (the email device, "herald route"). */
struct herald_hop {
    const char *host;
    uint16_t port;
    int preference;          /* -1: none */
    const char *origin;
    size_t address_count;
    const struct herald_address *addresses;
};
const char *herald_plan_domain(const struct herald_route_plan *plan);
size_t herald_plan_hop_count(const struct herald_route_plan *plan);
const struct herald_hop *herald_plan_hop(const struct herald_route_plan *plan, size_t i);
/* HERALD_OK when the plan has hops; else *result_out is DEFERRED or FAILED with why. */
herald_status herald_plan_error(const struct herald_route_plan *plan,
                                enum herald_result *result_out, const char **dsn_out,
                                const char **reason_out);
void herald_plan_free(struct herald_route_plan **plan);

/* Run a strategy (a HERALD_OPT_MODULE member of kind ROUTE) for domain; done
 * receives the plan and owns it.  done runs from the loop, exactly once. */
typedef void (*herald_plan_fn)(void *arg, struct herald_route_plan *plan);
struct herald_module_ref;
herald_status herald_route_start(const struct herald_module_ref *strategy,
                                 struct herald_env *env, const struct herald_trace *trace,
                                 const char *domain, herald_plan_fn done, void *arg);

/* herald_route - run the route strategy of dev (an email-like device: the
 * first module option of kind ROUTE in its driver's table) for domain and
 * wait for the plan, running the context's loop.  No mail is sent.
 * HERALD_OK: *plan_out is the plan (it may hold an error, see
 * herald_plan_error), freed with herald_plan_free().  HERALD_E_NOTFOUND: the
 * device has no route strategy; HERALD_E_INVAL, HERALD_E_NOMEM, HERALD_E_IO. */
struct herald_device;
herald_status herald_route(struct herald_device *dev, const char *domain,
                           struct herald_route_plan **plan_out, struct herald_diag *diag);

#ifdef __cplusplus
}
#endif
#endif
