/*
 * route_noplan.c - test module: a route strategy whose table has room for
 * plan() but leaves it NULL: refused at load, "no plan() (required)".
 */
#include <herald/module.h>
#include <herald/route.h>

static const struct herald_route_ops noplan_ops = {
    .struct_size = (uint32_t)sizeof(struct herald_route_ops),
    .plan = NULL,
};

const struct herald_module herald_module = {
    HERALD_MODULE_HEADER(HERALD_KIND_ROUTE),
    .name = "noplan",
    .summary = "a strategy without plan() (test)",
    .ops = &noplan_ops,
};
