/*
 * device_nosym.c - test module: a shared object without the herald_module symbol
 */
#include <herald/module.h>

static const int nosym_ops;

/* The right descriptor under the wrong name: the loader must not guess. */
const struct herald_module herald_module_v1 = {
    HERALD_MODULE_HEADER(HERALD_KIND_DEVICE),
    .name = "nosym",
    .ops = &nosym_ops,
};
