/*
 * device_newminor.c - test module: built for a newer ABI minor, must be refused
 */
#include <herald/module.h>

static const int newminor_ops;

const struct herald_module herald_module = {
    .magic = HERALD_MODULE_MAGIC,
    .abi_major = HERALD_ABI_MAJOR,
    .abi_minor = HERALD_ABI_MINOR + 1,
    .struct_size = (uint32_t)sizeof(struct herald_module),
    .kind = HERALD_KIND_DEVICE,
    .name = "newminor",
    .ops = &newminor_ops,
};
