/*
 * route_plan.h - what a route plan is made of (internal: route.c, plan_pack.c)
 *
 * A plan a strategy builds grows hop by hop: each hop's host, origin and
 * addresses are allocations of their own.  A kept plan (plan_share.c) is
 * not a plan but its packed octets: no struct herald_address, no pointer,
 * one allocation with its table entry.  plan_unpack() turns those octets
 * back into a plan in one allocation (one_block), which readers cannot tell
 * from the plan that was packed.
 */
#ifndef HERALD_CORE_ROUTE_PLAN_H
#define HERALD_CORE_ROUTE_PLAN_H

#include <stdbool.h>
#include <stddef.h>
#include <herald/route.h>

struct plan_hop {
    struct herald_hop pub;          /* what readers see; points into this hop */
    char *host;
    char *origin;
    struct herald_address *addrs;
};

struct herald_route_plan {
    char *domain;
    struct plan_hop *hops;
    size_t count, cap;
    bool failed;                    /* fail() was called, or done() with no hop */
    bool one_block;                 /* from plan_unpack: everything is in this allocation */
    enum herald_result result;
    char dsn[8];
    char *reason;
    unsigned holders;               /* owners besides the first (plan_share.c); see herald_plan_free */
    /* Cleared when the plan is freed: plan_share.c's pointer to the plan its
     * kept entry last handed out, so that holders at the same time share it. */
    struct herald_route_plan **weak;
};

/* Octets of plan packed (0: it cannot be, e.g. more than 255 hops). */
size_t plan_pack_size(const struct herald_route_plan *plan);
/* Write plan_pack_size(plan) octets to out. */
void plan_pack(const struct herald_route_plan *plan, unsigned char *out);
/* A new plan for domain from len packed octets; NULL when out of memory. */
struct herald_route_plan *plan_unpack(const unsigned char *p, size_t len, const char *domain);

#endif
