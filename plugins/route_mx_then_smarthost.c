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
#include <herald/host.h>
#include "mx_options.h"

struct mxsh_options {
    struct herald_strlist smarthost;
    struct mx_options mx;
};

static const struct mxsh_options mxsh_defaults = {
    .smarthost = { 0, NULL }, .mx = MX_OPTIONS_DEFAULTS,
};

static const struct herald_option mxsh_option_table[] = {
    { "smarthost", HERALD_OPT_STRLIST, offsetof(struct mxsh_options, smarthost),
      HERALD_OPT_REQUIRED, 0, 0, NULL, NULL, 0, NULL,
      "last-resort relays, in order: host[:port] or [address]:port" },
    MX_OPTION_ROWS(struct mxsh_options, "port of MX hosts and of relays written without one"),
    HERALD_OPT_END
};

/* mxsh_check - the relays must parse */
static herald_status
mxsh_check(const void *options, struct herald_diag *diag)
{
    const struct mxsh_options *o = options;

    return herald_hostport_check_list(&o->smarthost, "smarthost", diag);
}

/* mxsh_plan - MX walk with the relays appended */
static herald_status
mxsh_plan(const void *options, struct herald_route_request *req)
{
    const struct mxsh_options *o = options;
    struct herald_route_mx_options walk;

    mx_options_walk(&walk, &o->mx);
    walk.fixed = o->smarthost.items;
    walk.fixed_count = o->smarthost.count;
    walk.fixed_origin = "smarthost";
    return herald_route_mx(req, &walk);
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
