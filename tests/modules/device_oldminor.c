/*
 * device_oldminor.c - test module: a device built before the core's last
 * minor bump, as an older module really is: its descriptor ends with ops and
 * its operations table ends before close (appended later).  It must load,
 * open and deliver; the core must never read the close it does not have.
 *
 * The table is a prefix of struct herald_device_ops followed by a poison
 * pointer: a core that read past struct_size would call it and crash.
 */
#include <stddef.h>
#include <herald/device.h>
#include <herald/message.h>
#include <herald/module.h>

static herald_status
old_open(const char *device_name, const void *options, struct herald_env *env,
         void **state_out, struct herald_diag *diag)
{
    (void)device_name, (void)options, (void)env, (void)diag;
    *state_out = NULL;
    return HERALD_OK;
}

static void
old_deliver(void *state, struct herald_delivery *d)
{
    static const struct herald_report ok = { HERALD_RESULT_DELIVERED, "250 kept by oldminor",
                                             "2.0.0", NULL, NULL, false };
    size_t i, n = herald_message_recipient_count(herald_delivery_message(d));

    (void)state;
    for (i = 0; i < n; i++)
        (void)herald_delivery_report(d, i, &ok);
    herald_delivery_done(d);
}

static void
poison_close(void *state)
{
    (void)state;
    __builtin_trap();
}

/* The table as it was before close was appended, and a trap right after. */
static const struct herald_device_ops old_ops = {
    .struct_size = (uint32_t)offsetof(struct herald_device_ops, close),
    .open = old_open,
    .deliver = old_deliver,
    .close = poison_close,
};

const struct herald_module herald_module = {
    .magic = HERALD_MODULE_MAGIC,
    .abi_major = HERALD_ABI_MAJOR,
    .abi_minor = 0,
    /* The 1.0 descriptor: nothing after ops. */
    .struct_size = (uint32_t)(offsetof(struct herald_module, ops) + sizeof(const void *)),
    .kind = HERALD_KIND_DEVICE,
    .name = "oldminor",
    .summary = "a device built for an older ABI minor (test)",
    .ops = &old_ops,
};
