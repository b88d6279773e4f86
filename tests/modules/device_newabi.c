/*
 * device_newabi.c - test module: built for the next ABI major, must be refused
 */
#include <herald/module.h>

static const int newabi_ops;

const struct herald_module herald_module = {
    .magic = HERALD_MODULE_MAGIC,
    .abi_major = HERALD_ABI_MAJOR + 1,
    .abi_minor = 0,
    .struct_size = (uint32_t)sizeof(struct herald_module),
    .kind = HERALD_KIND_DEVICE,
    .name = "newabi",
    .ops = &newabi_ops,
};
