/*
 * mx_walk.h - the asynchronous planning engine the route strategies share
 *
 * One walk answers one route request: optionally ask DNS for the domain's
 * MX records (RFC 5321 5.1, implicit MX, null MX), then append the fixed
 * hops (smart hosts, static routes) as the last resort, resolve every host
 * in parallel, and hand the hosts that have an address to the plan, in
 * order, each with a trace line saying why it is there.
 *
 * Verdicts (DESIGN.md "Outcomes"):
 *   NXDOMAIN, bad name     FAILED 5.1.2, fixed hops NOT appended
 *   null MX                FAILED 5.1.0, fixed hops NOT appended
 *   SERVFAIL / timeout     fixed hops appended; without any: DEFERRED 4.4.3
 *   no MX                  implicit MX: the domain's own addresses
 *   no host has an address DEFERRED 4.4.4 (implicit MX with neither MX nor
 *                          address records and no fixed hop: FAILED 5.4.4)
 * Linked into each strategy module that needs it (not part of libherald).
 */
#ifndef HERALD_PLUGINS_MX_WALK_H
#define HERALD_PLUGINS_MX_WALK_H

#include <stdbool.h>
#include <stdint.h>
#include <herald/option.h>
#include <herald/route.h>
#include "mx_order.h"

struct walk_config {
    bool use_mx;               /* ask DNS for MX records first */
    uint16_t port;             /* MX and implicit-MX hops; default for fixed specs */
    int64_t seed;              /* 0: a random order among equal preferences */
    enum mx_family family;
    size_t max_hops;           /* MX hosts kept (fixed hops come on top) */
    size_t max_addresses;      /* addresses kept per host */
    bool allow_ip_mx;
    /* Hops given by configuration, not DNS: "host[:port]" specs (validated
     * at load time), appended after the MX hops with origin fixed_origin.
     * Copied by mx_walk_start(); may be NULL. */
    const struct herald_strlist *fixed;
    const char *fixed_origin;  /* "smarthost", "static" */
};

/* mx_walk_start - plan req as cfg says; the answer comes through req.
 * HERALD_OK also when the walk has already failed the request. */
herald_status mx_walk_start(struct herald_route_request *req, const struct walk_config *cfg);

#endif
