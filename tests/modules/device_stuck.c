/*
 * device_stuck.c - test module: a device whose deliver() never ends the
 * delivery and leaves nothing pending: herald send must still give every
 * recipient an outcome (deferred, naming the driver).
 */
#include <herald/device.h>
#include <herald/module.h>

static herald_status
stuck_open(const char *device_name, const void *options, struct herald_env *env,
           void **state_out, struct herald_diag *diag)
{
    (void)device_name, (void)options, (void)env, (void)diag;
    *state_out = NULL;
    return HERALD_OK;
}

static void
stuck_deliver(void *state, struct herald_delivery *d)
{
    (void)state, (void)d;
}

static const struct herald_device_ops stuck_ops = {
    .struct_size = sizeof(struct herald_device_ops), .open = stuck_open, .deliver = stuck_deliver,
};

const struct herald_module herald_module = {
    HERALD_MODULE_HEADER(HERALD_KIND_DEVICE),
    .name = "stuck", .summary = "never finishes a delivery (test)", .ops = &stuck_ops,
};
