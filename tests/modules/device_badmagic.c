/*
 * device_badmagic.c - test module: the descriptor has the wrong magic
 */
#include <herald/module.h>

static const int badmagic_ops;

const struct herald_module herald_module = {
    .magic = 0x12345678u,
    .abi_major = HERALD_ABI_MAJOR,
    .abi_minor = HERALD_ABI_MINOR,
    .struct_size = (uint32_t)sizeof(struct herald_module),
    .kind = HERALD_KIND_DEVICE,
    .name = "badmagic",
    .ops = &badmagic_ops,
};
