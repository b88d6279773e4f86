/*
 * device_badname.c - test module: the descriptor's name breaks [a-z0-9-]
 */
#include <herald/module.h>

static const int badname_ops;

const struct herald_module herald_module = {
    HERALD_MODULE_HEADER(HERALD_KIND_DEVICE),
    .name = "Bad_Name",
    .ops = &badname_ops,
};
