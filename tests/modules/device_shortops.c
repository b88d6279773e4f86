/*
 * device_shortops.c - test module: its device operations table ends before
 * deliver(), a required member: refused at load, with the sizes in the reason.
 */
#include <stddef.h>
#include <herald/device.h>
#include <herald/module.h>

static herald_status
short_open(const char *device_name, const void *options, struct herald_env *env,
           void **state_out, struct herald_diag *diag)
{
    (void)device_name, (void)options, (void)env, (void)diag;
    *state_out = NULL;
    return HERALD_OK;
}

static const struct herald_device_ops short_ops = {
    .struct_size = (uint32_t)offsetof(struct herald_device_ops, deliver),
    .open = short_open,
};

const struct herald_module herald_module = {
    HERALD_MODULE_HEADER(HERALD_KIND_DEVICE),
    .name = "shortops",
    .summary = "operations table too small for deliver() (test)",
    .ops = &short_ops,
};
