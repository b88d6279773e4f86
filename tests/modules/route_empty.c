/*
 * route_empty.c - test module: a strategy that answers with nothing (done()
 * without a single hop).
 */
#include <herald/module.h>
#include <herald/route.h>

static herald_status
empty_plan(const void *options, struct herald_route_request *req)
{
    (void)options;
    herald_route_done(req);
    return HERALD_OK;
}

static const struct herald_route_ops empty_ops = { sizeof empty_ops, empty_plan };

const struct herald_module herald_module = {
    HERALD_MODULE_HEADER(HERALD_KIND_ROUTE),
    .name = "empty", .summary = "answers with no hop (test)", .ops = &empty_ops,
};
