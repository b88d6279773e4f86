/*
 * device_kindroute.c - test module: file device-kindroute.so, descriptor kind route
 */
#include <herald/module.h>

static const int kindroute_ops;

const struct herald_module herald_module = {
    HERALD_MODULE_HEADER(HERALD_KIND_ROUTE),
    .name = "kindroute",
    .ops = &kindroute_ops,
};
