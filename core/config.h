/*
 * config.h - read and validate a device file (internal)
 *
 * config_load() reads a libconfig file (@include relative to the including
 * file's own directory, or absolute: see config_source.h), validates the top-level "herald" group against the core table
 * and every entry of the "devices" list against its driver's table, and sets
 * the registry's plugin directories: herald.plugin_dirs, else
 * $HERALD_PLUGIN_PATH (colon-separated), else HERALD_PKGLIBDIR.
 *
 * Errors: HERALD_E_CONFIG with diag->where "FILE:LINE" (the path alone when
 * the file cannot be read) and diag->text the reason, e.g.
 *   device "mail": option "route.port": value 70000 out of range (1..65535)
 * HERALD_E_MODULE when a module file is refused (diag->where is its path),
 * HERALD_E_NOMEM.
 *
 * Ownership: config_load() returns a config freed with config_free(&cfg).
 * Option strings borrow from the libconfig tree inside it, and everything
 * else lives in the arena given to config_load(): free the config only when
 * nothing uses its options any more, and before (or after) the arena as you
 * like, but the arena must outlive every use of the options.
 */
#ifndef HERALD_CORE_CONFIG_H
#define HERALD_CORE_CONFIG_H

#include <stddef.h>
#include <stdint.h>
#include <libconfig.h>
#include <herald/option.h>
#include <herald/module.h>
#include "arena.h"
#include "registry.h"

/* The "dns" group, global or per device. */
struct config_dns {
    struct herald_strlist servers;   /* "127.0.0.1:53541", "[::1]:5300"; 0: resolv.conf */
    int64_t timeout_ms;              /* 100..60000, default 5000 */
    int64_t tries;                   /* 1..10, default 2 */
    int64_t cache_entries;           /* answers cached, default 250000 */
    int64_t min_ttl_s, max_ttl_s;    /* TTL clamp, default 0 and 86400 */
    int64_t max_inflight;            /* lookups on the wire at once, default 100 */
};

/* The "trace" group. */
struct config_trace {
    const char *file;                /* NULL: no trace; "-": stderr */
    int format;                      /* enum trace_format (0 text, 1 json) */
    int level;                       /* enum herald_trace_level, default info */
};

/* The top-level "herald" group. */
struct config_core {
    struct herald_strlist plugin_dirs;
    struct config_dns dns;
    struct config_trace trace;
    struct herald_module_ref queue;  /* herald.queue: module NULL when the group is absent */
    char queue_where[256];           /* FILE:LINE of herald.queue, "" when absent */
    const char *sendmail_device;     /* herald.sendmail_device: herald-sendmail's device */
};

struct config_device {
    const char *name;
    char where[256];                       /* FILE:LINE of the device's group */
    const struct herald_module *driver;
    const void *options;                   /* the driver's options block (arena) */
    struct config_dns dns;                 /* the device's own, else the global one */
    const struct herald_module **modules;  /* driver first, then named modules */
    size_t module_count;
    int64_t route_timeout_ms;              /* the route group's timeout_ms, else the default */
};

struct config {
    struct config_core core;
    struct config_device *devices;
    size_t device_count;
    const char *path;                      /* the file read, or "(string)" */
    const char *const *plugin_dirs;        /* the directories given to the registry */
    size_t plugin_dir_count;
    struct config_impl *impl;              /* the libconfig tree */
};

/* Called for every HERALD_OPT_SECRET value (borrowed from the config). */
typedef void (*config_secret_fn)(void *arg, const char *secret);

herald_status config_load(const char *path, struct registry *reg, struct arena *arena,
                          config_secret_fn on_secret, void *secret_arg,
                          struct config **cfg_out, struct herald_diag *diag);
/* The same from text in memory (tests): places read "(string):LINE". */
herald_status config_load_string(const char *text, struct registry *reg, struct arena *arena,
                                 config_secret_fn on_secret, void *secret_arg,
                                 struct config **cfg_out, struct herald_diag *diag);
void config_free(struct config **cfg);

/* The core option table of the "herald" group (for "herald options" and tests). */
extern const struct herald_option config_core_options[];

#endif
