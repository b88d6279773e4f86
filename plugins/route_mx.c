/*
 * route_mx.c - route strategy "mx": the recipient domain's MX hosts only
 *
 * RFC 5321 5.1: MX hosts by preference, equal preferences in random order
 * (repeatable with "seed"), no MX means the domain itself (implicit MX),
 * a null MX (RFC 7505) fails at once.  The walk is libherald's public
 * herald_route_mx() (herald/route.h): a strategy of your own uses the same.
 *
 *   route: { strategy = "mx"; port = 25; seed = 0; family = "any";
 *            max_hops = 10; max_addresses = 5; allow_ip_mx = false; };
 */
#include <stddef.h>

#include <herald/module.h>
#include <herald/option.h>
#include <herald/route.h>
#include "mx_options.h"

struct mx_strategy_options {
    struct mx_options mx;
};

static const struct mx_strategy_options mx_defaults = { .mx = MX_OPTIONS_DEFAULTS };

static const struct herald_option mx_option_table[] = {
    MX_OPTION_ROWS(struct mx_strategy_options, "TCP port of the MX hosts"),
    HERALD_OPT_END
};

/* mx_plan - walk the domain's MX records */
static herald_status
mx_plan(const void *options, struct herald_route_request *req)
{
    const struct mx_strategy_options *o = options;
    struct herald_route_mx_options walk;

    mx_options_walk(&walk, &o->mx);
    return herald_route_mx(req, &walk);
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
    .options_size = sizeof(struct mx_strategy_options),
    .options_defaults = &mx_defaults,
    .check = NULL,
    .ops = &mx_ops,
};
