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
    struct mx_walk_options mx;
};

static const struct mx_options mx_defaults = { .mx = MX_WALK_DEFAULTS };

static const struct herald_option mx_option_table[] = {
    MX_WALK_OPTION_ROWS(struct mx_options, "TCP port of the MX hosts"),
    HERALD_OPT_END
};

/* mx_plan - walk the domain's MX records */
static herald_status
mx_plan(const void *options, struct herald_route_request *req)
{
    const struct mx_options *o = options;
    struct walk_config cfg;

    mx_walk_config_mx(&cfg, &o->mx);
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
