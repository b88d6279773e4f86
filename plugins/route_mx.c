/*
 * route_mx.c - route strategy "mx": the recipient domain's MX hosts only
 *
 * RFC 5321 5.1: MX hosts by preference, equal preferences in random order
 * (repeatable with "seed"), no MX means the domain itself (implicit MX),
 * a null MX (RFC 7505) fails at once.  The walk itself is in mx_walk.c.
 *
 *   route: { strategy = "mx"; port = 25; seed = 0; family = "any";
 *            max_hops = 10; max_addresses = 5; allow_ip_mx = false; };
 */
#include <stddef.h>

#include <herald/module.h>
#include <herald/option.h>
#include <herald/route.h>
#include "mx_walk.h"

struct mx_options {
    int64_t port;
    int64_t seed;
    int family;
    int64_t max_hops;
    int64_t max_addresses;
    bool allow_ip_mx;
};

static const struct mx_options mx_defaults = {
    .port = 25, .seed = 0, .family = MX_FAMILY_ANY, .max_hops = 10, .max_addresses = 5,
    .allow_ip_mx = false,
};

#define O(f) offsetof(struct mx_options, f)
static const struct herald_option mx_option_table[] = {
    { "port", HERALD_OPT_INT, O(port), 0, 1, 65535, NULL, NULL, 0, NULL,
      "TCP port of the MX hosts" },
    { "seed", HERALD_OPT_INT, O(seed), 0, 0, INT64_MAX, NULL, NULL, 0, NULL,
      "order of equal MX preferences: 0 random, else repeatable" },
    { "family", HERALD_OPT_ENUM, O(family), 0, 0, 0, mx_family_words, NULL, 0, NULL,
      "any | ipv4 | ipv6 | prefer-ipv4 | prefer-ipv6" },
    { "max_hops", HERALD_OPT_INT, O(max_hops), 0, 1, 100, NULL, NULL, 0, NULL,
      "MX hosts kept in the plan" },
    { "max_addresses", HERALD_OPT_INT, O(max_addresses), 0, 1, 64, NULL, NULL, 0, NULL,
      "addresses kept per host (like Postfix smtp_mx_address_limit)" },
    { "allow_ip_mx", HERALD_OPT_BOOL, O(allow_ip_mx), 0, 0, 0, NULL, NULL, 0, NULL,
      "accept an MX that names an IP address" },
    HERALD_OPT_END
};
#undef O

/* mx_plan - walk the domain's MX records */
static herald_status
mx_plan(const void *options, struct herald_route_request *req)
{
    const struct mx_options *o = options;
    struct walk_config cfg = {
        .use_mx = true, .port = (uint16_t)o->port, .seed = o->seed,
        .family = (enum mx_family)o->family, .max_hops = (size_t)o->max_hops,
        .max_addresses = (size_t)o->max_addresses, .allow_ip_mx = o->allow_ip_mx,
        .fixed = NULL, .fixed_origin = NULL,
    };

    return mx_walk_start(req, &cfg);
}

static const struct herald_route_ops mx_ops = {
    .struct_size = sizeof(struct herald_route_ops),
    .plan = mx_plan,
};

const struct herald_module herald_module = {
    HERALD_MODULE_HEADER(HERALD_KIND_ROUTE),
    .name = "mx",
    .summary = "the recipient domain's MX hosts (RFC 5321 5.1, implicit and null MX)",
    .options = mx_option_table,
    .options_size = sizeof(struct mx_options),
    .options_defaults = &mx_defaults,
    .check = NULL,
    .ops = &mx_ops,
};
