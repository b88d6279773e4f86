/*
 * route_smarthost.c - route strategy "smarthost": the configured relays only
 *
 * No MX query is ever made: the plan is the smart hosts, in the order
 * written, each resolved to its addresses.  Entries are "host[:port]" or
 * "[address]:port"; an entry without a port uses "port".
 *
 *   route: { strategy = "smarthost"; smarthost = [ "relay.test:2525" ];
 *            port = 25; family = "any"; };
 */
#include <stddef.h>

#include <herald/module.h>
#include <herald/option.h>
#include <herald/route.h>
#include <herald/host.h>
#include "mx_options.h"

struct smarthost_options {
    struct herald_strlist smarthost;
    int64_t port;
    int family;
    int64_t max_addresses;
};

static const struct smarthost_options smarthost_defaults = {
    .smarthost = { 0, NULL }, .port = 25, .family = HERALD_MX_FAMILY_ANY, .max_addresses = 5,
};

#define O(f) offsetof(struct smarthost_options, f)
static const struct herald_option smarthost_option_table[] = {
    { "smarthost", HERALD_OPT_STRLIST, O(smarthost), HERALD_OPT_REQUIRED, 0, 0, NULL, NULL, 0,
      NULL, "relays, tried in order: host[:port] or [address]:port" },
    { "port", HERALD_OPT_INT, O(port), 0, 1, 65535, NULL, NULL, 0, NULL,
      "port for entries without one" },
    { "family", HERALD_OPT_ENUM, O(family), 0, 0, 0, mx_family_words, NULL, 0, NULL,
      "any | ipv4 | ipv6 | prefer-ipv4 | prefer-ipv6" },
    { "max_addresses", HERALD_OPT_INT, O(max_addresses), 0, 1, 64, NULL, NULL, 0, NULL,
      "addresses kept per relay" },
    HERALD_OPT_END
};
#undef O

/* smarthost_check - every entry must parse (the file is refused otherwise) */
static herald_status
smarthost_check(const void *options, struct herald_diag *diag)
{
    const struct smarthost_options *o = options;

    return herald_hostport_check_list(&o->smarthost, "smarthost", diag);
}

/* smarthost_plan - resolve the relays, nothing else */
static herald_status
smarthost_plan(const void *options, struct herald_route_request *req)
{
    const struct smarthost_options *o = options;
    struct herald_route_mx_options walk = HERALD_ROUTE_MX_OPTIONS_INIT;

    walk.flags = HERALD_MX_FIXED_ONLY;
    walk.port = (uint16_t)o->port;
    walk.family = (enum herald_mx_family)o->family;
    walk.max_addresses = (uint32_t)o->max_addresses;
    walk.fixed = o->smarthost.items;
    walk.fixed_count = o->smarthost.count;
    walk.fixed_origin = "smarthost";
    return herald_route_mx(req, &walk);
}

static const struct herald_route_ops smarthost_ops = {
    .struct_size = sizeof(struct herald_route_ops),
    .plan = smarthost_plan,
};

const struct herald_module herald_module = {
    HERALD_MODULE_HEADER(HERALD_KIND_ROUTE),
    .name = "smarthost",
    .summary = "the configured smart hosts only, no MX lookup",
    .options = smarthost_option_table,
    .options_size = sizeof(struct smarthost_options),
    .options_defaults = &smarthost_defaults,
    .check = smarthost_check,
    .ops = &smarthost_ops,
};
