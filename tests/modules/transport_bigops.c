/*
 * transport_bigops.c - test module: struct_size claims a table far longer
 * than this core's, from a module that says it is not newer: not a table the
 * core can trust, refused at load.
 */
#include <herald/module.h>
#include <herald/transport.h>

static herald_status
big_start(void *state, struct herald_transport_job *job)
{
    (void)state, (void)job;
    return HERALD_E_IO;
}

static const struct herald_transport_ops big_ops = {
    .struct_size = 4096,
    .start = big_start,
};

const struct herald_module herald_module = {
    HERALD_MODULE_HEADER(HERALD_KIND_TRANSPORT),
    .name = "bigops",
    .summary = "struct_size beyond this core's table (test)",
    .ops = &big_ops,
};
