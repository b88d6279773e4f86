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
#include <stddef.h>
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

/* The walk's own options, the same in every strategy that walks MX records:
 * a strategy embeds struct mx_walk_options as its member "mx", starts it
 * from MX_WALK_DEFAULTS and puts MX_WALK_OPTION_ROWS(its type, help for
 * "port") in its option table, so names, ranges and help never drift. */
struct mx_walk_options {
    int64_t port;
    int64_t seed;
    int family;                /* enum mx_family, as an index into mx_family_words */
    int64_t max_hops;
    int64_t max_addresses;
    bool allow_ip_mx;
};

#define MX_WALK_DEFAULTS                                                           \
    { .port = 25, .seed = 0, .family = MX_FAMILY_ANY, .max_hops = 10,              \
      .max_addresses = 5, .allow_ip_mx = false }

#define MX_WALK_OPTION_ROWS(type, port_help)                                       \
    { "port", HERALD_OPT_INT, offsetof(type, mx.port), 0, 1, 65535, NULL, NULL, 0, \
      NULL, port_help },                                                           \
    { "seed", HERALD_OPT_INT, offsetof(type, mx.seed), 0, 0, INT64_MAX, NULL, NULL, \
      0, NULL, "order of equal MX preferences: 0 random, else repeatable" },      \
    { "family", HERALD_OPT_ENUM, offsetof(type, mx.family), 0, 0, 0,               \
      mx_family_words, NULL, 0, NULL,                                              \
      "any | ipv4 | ipv6 | prefer-ipv4 | prefer-ipv6" },                           \
    { "max_hops", HERALD_OPT_INT, offsetof(type, mx.max_hops), 0, 1, 100, NULL,    \
      NULL, 0, NULL, "MX hosts kept in the plan (fixed hops come on top)" },       \
    { "max_addresses", HERALD_OPT_INT, offsetof(type, mx.max_addresses), 0, 1, 64, \
      NULL, NULL, 0, NULL,                                                         \
      "addresses kept per host (like Postfix smtp_mx_address_limit)" },            \
    { "allow_ip_mx", HERALD_OPT_BOOL, offsetof(type, mx.allow_ip_mx), 0, 0, 0,     \
      NULL, NULL, 0, NULL, "accept an MX that names an IP address" }

/* mx_walk_config_mx - cfg set for an MX walk with the options o; no fixed hops */
void mx_walk_config_mx(struct walk_config *cfg, const struct mx_walk_options *o);

/* mx_walk_start - plan req as cfg says; the answer comes through req.
 * HERALD_OK also when the walk has already failed the request. */
herald_status mx_walk_start(struct herald_route_request *req, const struct walk_config *cfg);

#endif
