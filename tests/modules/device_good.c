/*
 * device_good.c - test module: a well-formed device module called "good"
 *
 * Built as tests/modules/.libs/device-good.so.  Its device operations are
 * never run by the registry tests; they exist so the descriptor is complete
 * (open and deliver are required: the loader checks them).
 */
#include <stddef.h>
#include <herald/device.h>
#include <herald/module.h>

struct good_options {
    int64_t port;
    struct {
        const char *path;
    } sub;
};

static const struct herald_option good_sub_options[] = {
    { "path", HERALD_OPT_STRING, offsetof(struct good_options, sub.path), 0, 0, 0, NULL, NULL,
      0, NULL, "a path inside a group" },
    HERALD_OPT_END
};

static const struct herald_option good_options[] = {
    { "port", HERALD_OPT_INT, offsetof(struct good_options, port), 0, 1, 65535, NULL, NULL, 0,
      NULL, "a port" },
    { "sub", HERALD_OPT_GROUP, 0, 0, 0, 0, NULL, good_sub_options, 0, NULL, "a group" },
    HERALD_OPT_END
};

static herald_status
good_open(const char *device_name, const void *options, struct herald_env *env,
          void **state_out, struct herald_diag *diag)
{
    (void)device_name, (void)options, (void)env, (void)diag;
    *state_out = NULL;
    return HERALD_OK;
}

static void
good_deliver(void *state, struct herald_delivery *d)
{
    (void)state, (void)d;
}

/* open and deliver are required members: the loader refuses a table without them. */
static const struct herald_device_ops good_ops = {
    .struct_size = (uint32_t)sizeof(struct herald_device_ops),
    .open = good_open,
    .deliver = good_deliver,
};

const struct herald_module herald_module = {
    HERALD_MODULE_HEADER(HERALD_KIND_DEVICE),
    .name = "good",
    .summary = "registry test module that loads",
    .options = good_options,
    .options_size = sizeof(struct good_options),
    .ops = &good_ops,
};
