/*
 * route_silent.c - test module: a strategy that never answers and leaves
 * nothing pending (without the route guard the loop would run dry, or hang).
 */
#include <herald/module.h>
#include <herald/route.h>

static herald_status
silent_plan(const void *options, struct herald_route_request *req)
{
    (void)options, (void)req;
    return HERALD_OK;
}

static const struct herald_route_ops silent_ops = { sizeof silent_ops, silent_plan };

const struct herald_module herald_module = {
    HERALD_MODULE_HEADER(HERALD_KIND_ROUTE),
    .name = "silent", .summary = "never answers (test)", .ops = &silent_ops,
};
