/*
 * options.h - validate a libconfig group against an option table (internal)
 *
 * options_apply() walks every member of a group: unknown members, wrong
 * types, missing required members, out-of-range values, oversized integer
 * literals (libconfig 1.5 wraps them silently: the source line is re-read),
 * control characters in strings (unless HERALD_OPT_ALLOWCTL) each fail with
 *   diag->where = "FILE:LINE" of the offending setting (the group's line for
 *                 a missing member; "(string)" for text not read from a file)
 *   diag->text  = "<label>: option \"route.port\": value 70000 out of range (1..65535)"
 * The block must already hold the defaults.
 *
 * A HERALD_OPT_SECRET value makes options_apply refuse the FILE that holds it
 * when it is readable by group or others, and passes the value to
 * env->on_secret (the trace registers it for redaction).
 *
 * Ownership: everything options_apply allocates (string lists, module option
 * blocks) is owned by env->arena and freed by arena_free().
 */
#ifndef HERALD_CORE_OPTIONS_H
#define HERALD_CORE_OPTIONS_H

#include <libconfig.h>
#include <herald/option.h>
#include "arena.h"

struct registry;

struct options_env {
    struct arena *arena;
    struct registry *registry;   /* for HERALD_OPT_MODULE; may be NULL */
    const char *label;           /* "device \"email\"": prefix of every message */
    void (*on_secret)(void *arg, const char *value);
    void *on_secret_arg;
    /* Filled by options_apply for HERALD_OPT_MODULE members, in order met:
     * lets "herald devices" list the modules a device uses. */
    void (*on_module)(void *arg, const struct herald_module *mod);
    void *on_module_arg;
    /* Where a route group's own "timeout_ms" goes (the guard the core puts
     * on any strategy, not a strategy option); NULL: none is accepted. */
    int64_t *route_timeout_ms;
};

/* skip: NULL-terminated member names handled by the caller (e.g. "name", "driver"); may be NULL. */
herald_status options_apply(const struct herald_option *table, const config_setting_t *group,
                            void *block, const char *const *skip,
                            const struct options_env *env, struct herald_diag *diag);

/* "FILE:LINE" of a setting into buf. */
void options_where(const config_setting_t *setting, char *buf, size_t size);

#endif
