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

/*
 * The MX walk, for any strategy (the built-in mx, mx-then-smarthost and
 * smarthost strategies are nothing else).  herald_route_mx() answers req
 * itself, exactly once, from the loop:
 *
 *   1. unless HERALD_MX_FIXED_ONLY, the domain's MX records (RFC 5321 5.1):
 *      lowest preference first, equal preferences shuffled (Fisher-Yates;
 *      seed != 0 makes the order repeatable), a host listed twice used once,
 *      at most max_hops hosts;
 *   2. then the fixed hops ("host[:port]" entries, in order, origin
 *      fixed_origin), as the last resort;
 *   3. every host resolved in parallel (family, at most max_addresses each);
 *      the hosts with an address become the plan's hops, each traced.
 *
 * Verdicts:
 *   no MX records        implicit MX: the domain itself, preference 0, origin
 *                        "implicit-mx" (HERALD_MX_NO_IMPLICIT: no such hop)
 *   null MX (RFC 7505)   FAILED 5.1.0, fixed hops NOT used
 *                        (HERALD_MX_NULL_USES_FIXED: the fixed hops are tried)
 *   NXDOMAIN, bad name   FAILED 5.1.2, fixed hops NOT used
 *   SERVFAIL, timeout    fixed hops used; without any: DEFERRED 4.4.3
 *   MX naming an address skipped, traced (HERALD_MX_ALLOW_IP: used)
 *   no host has address  DEFERRED 4.4.4; implicit MX with neither MX nor
 *                        address records and no fixed hop: FAILED 5.4.4
 * A strategy therefore never resolves addresses itself when it uses the walk:
 * every hop it hands over has them (the transport connects to addresses only).
 */
enum herald_mx_family {
    HERALD_MX_FAMILY_ANY = 0,          /* as DNS answers */
    HERALD_MX_FAMILY_IPV4 = 1,         /* only A records are asked for */
    HERALD_MX_FAMILY_IPV6 = 2,         /* only AAAA */
    HERALD_MX_FAMILY_PREFER_IPV4 = 3,  /* both, IPv4 first */
    HERALD_MX_FAMILY_PREFER_IPV6 = 4   /* both, IPv6 first */
};

#define HERALD_MX_NO_IMPLICIT      0x1u  /* no MX records: no implicit-MX hop */
#define HERALD_MX_NULL_USES_FIXED  0x2u  /* null MX: still try the fixed hops */
#define HERALD_MX_ALLOW_IP         0x4u  /* accept an MX that names an IP address */
#define HERALD_MX_FIXED_ONLY       0x8u  /* no MX query at all: only the fixed hops */

/* Options of one walk.  Zero means the default; start from
 * HERALD_ROUTE_MX_OPTIONS_INIT so struct_size is set (the core reads a
 * member only when struct_size covers it, as for operations tables). */
struct herald_route_mx_options {
    uint32_t struct_size;       /* sizeof(struct herald_route_mx_options) */
    uint32_t flags;             /* HERALD_MX_* */
    uint16_t port;              /* MX, implicit-MX hops and fixed entries without one; 0: 25 */
    uint64_t seed;              /* order of equal preferences; 0: random */
    enum herald_mx_family family;
    uint32_t max_hops;          /* MX hosts kept (fixed hops come on top); 0: 10, at most 100 */
    uint32_t max_addresses;     /* addresses kept per host; 0: 5, at most 64 */
    const char *const *fixed;   /* "host[:port]" entries (herald/host.h); copied */
    size_t fixed_count;
    const char *fixed_origin;   /* origin of the fixed hops; NULL: "smarthost" */
};
#define HERALD_ROUTE_MX_OPTIONS_INIT \
    { .struct_size = (uint32_t)sizeof(struct herald_route_mx_options) }

/* herald_route_mx - plan req with the MX walk (opts NULL: every default).
 * HERALD_OK: the answer will come (it may already have: a bad domain fails
 * at once).  HERALD_E_INVAL (opts->struct_size too small), HERALD_E_NOMEM:
 * nothing was answered; plan() may return the status as its own. */
herald_status herald_route_mx(struct herald_route_request *req,
                              const struct herald_route_mx_options *opts);

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
