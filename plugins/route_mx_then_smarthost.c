/*
 * route_mx_then_smarthost.c - route strategy "mx-then-smarthost"
 *
 * The MX walk of "mx", then the smart hosts as the last resort (Postfix's
 * fallback_relay).  The smart hosts are appended also when the MX lookup
 * failed temporarily or no MX host has an address: "don't give up after a
 * hard host lookup error until we have tried the fallback relay servers".
 * They are NOT appended after NXDOMAIN or a null MX: those are permanent
 * verdicts on the recipient domain itself, and relaying would only move
 * the bounce to the relay.
 *
 *   route: { strategy = "mx-then-smarthost"; smarthost = [ "relay.test:587" ];
 *            port = 25; seed = 0; family = "any"; max_hops = 10;
 *            max_addresses = 5; allow_ip_mx = false; };
 */
#include <stddef.h>

#include <herald/module.h>
#include <herald/option.h>
#include <herald/route.h>
#include "mx_walk.h"
#include "smarthost_list.h"

struct mxsh_options {
    struct herald_strlist smarthost;
    int64_t port;
    int64_t seed;
    int family;
    int64_t max_hops;
    int64_t max_addresses;
    bool allow_ip_mx;
};

static const struct mxsh_options mxsh_defaults = {
    .smarthost = { 0, NULL }, .port = 25, .seed = 0, .family = MX_FAMILY_ANY, .max_hops = 10,
    .max_addresses = 5, .allow_ip_mx = false,
};

#define O(f) offsetof(struct mxsh_options, f)
static const struct herald_option mxsh_option_table[] = {
    { "smarthost", HERALD_OPT_STRLIST, O(smarthost), HERALD_OPT_REQUIRED, 0, 0, NULL, NULL, 0,
      NULL, "last-resort relays, in order: host[:port] or [address]:port" },
    { "port", HERALD_OPT_INT, O(port), 0, 1, 65535, NULL, NULL, 0, NULL,
      "port of MX hosts and of relays written without one" },
    { "seed", HERALD_OPT_INT, O(seed), 0, 0, INT64_MAX, NULL, NULL, 0, NULL,
      "order of equal MX preferences: 0 random, else repeatable" },
    { "family", HERALD_OPT_ENUM, O(family), 0, 0, 0, mx_family_words, NULL, 0, NULL,
      "any | ipv4 | ipv6 | prefer-ipv4 | prefer-ipv6" },
    { "max_hops", HERALD_OPT_INT, O(max_hops), 0, 1, 100, NULL, NULL, 0, NULL,
      "MX hosts kept in the plan (10); the relays come on top" },
    { "max_addresses", HERALD_OPT_INT, O(max_addresses), 0, 1, 64, NULL, NULL, 0, NULL,
      "addresses kept per host" },
    { "allow_ip_mx", HERALD_OPT_BOOL, O(allow_ip_mx), 0, 0, 0, NULL, NULL, 0, NULL,
      "accept an MX that names an IP address" },
    HERALD_OPT_END
};
#undef O

/* mxsh_check - the relays must parse */
static herald_status
mxsh_check(const void *options, struct herald_diag *diag)
{
    const struct mxsh_options *o = options;

    return smarthost_check_list(&o->smarthost, diag);
}

/* mxsh_plan - MX walk with the relays appended */
static herald_status
mxsh_plan(const void *options, struct herald_route_request *req)
{
    const struct mxsh_options *o = options;
    struct walk_config cfg = {
        .use_mx = true, .port = (uint16_t)o->port, .seed = o->seed,
        .family = (enum mx_family)o->family, .max_hops = (size_t)o->max_hops,
        .max_addresses = (size_t)o->max_addresses, .allow_ip_mx = o->allow_ip_mx,
        .fixed = &o->smarthost, .fixed_origin = "smarthost",
    };

    return mx_walk_start(req, &cfg);
}

static const struct herald_route_ops mxsh_ops = {
    .struct_size = sizeof(struct herald_route_ops),
    .plan = mxsh_plan,
};

const struct herald_module herald_module = {
    HERALD_MODULE_HEADER(HERALD_KIND_ROUTE),
    .name = "mx-then-smarthost",
    .summary = "MX hosts, then the smart hosts as the last resort",
    .options = mxsh_option_table,
    .options_size = sizeof(struct mxsh_options),
    .options_defaults = &mxsh_defaults,
    .check = mxsh_check,
    .ops = &mxsh_ops,
};
