/*
 * context.h - the library context behind herald/herald.h (internal)
 *
 * A context owns, in opening order: an arena (option values), the module
 * registry, the parsed device file, the event loop, the trace sink, and one
 * struct herald_device per configured device (its driver state and env).
 * herald_close() releases them in reverse order; the libconfig tree goes
 * last because option strings borrow from it.
 *
 * context_open() is herald_open() with a registry the caller prepared (tests
 * add fake modules with registry_add()); the context takes ownership of reg
 * whatever the result, and *reg is cleared.
 */
#ifndef HERALD_CORE_CONTEXT_H
#define HERALD_CORE_CONTEXT_H

#include <stdbool.h>
#include <herald/herald.h>
#include "config.h"
#include "env.h"

struct herald_device {
    struct herald_context *ctx;
    const struct config_device *conf;      /* borrowed from ctx->config */
    const struct herald_device_ops *ops;
    void *state;                           /* the driver's, from ops->open() */
    bool opened;
    struct herald_env env;
    struct send_wait *orphans;             /* herald_send waits the driver never ended */
};

struct herald_context {
    struct arena *arena;
    struct registry *registry;
    struct config *config;
    struct herald_loop *loop;
    struct trace_sink *sink;               /* may be NULL: no trace */
    struct herald_trace trace;             /* context-wide scope, id "-" */
    const char *trace_path;                /* current settings, for herald_set_trace */
    int trace_format;
    int trace_level;
    const char **secrets;                  /* borrowed from the config, for each new sink */
    size_t secret_count, secret_cap;
    bool secret_nomem;
    struct herald_device *devices;
    size_t device_count;
    size_t pending;                        /* herald_submit()s whose callback has not run */
    /* Sinks replaced by herald_set_trace() while messages were in flight:
     * those messages keep tracing to them, so they close only once nothing
     * is pending (context_free_retired_sinks). */
    struct trace_sink **retired;
    size_t retired_count, retired_cap;
    struct queue_store *queue;             /* opened on first use (queue.c) */
};

/* context_free_retired_sinks - close the replaced sinks; only when nothing is pending */
void context_free_retired_sinks(struct herald_context *ctx);

herald_status context_open(const char *config_path, struct registry **reg,
                           struct herald_context **ctx_out, struct herald_diag *diag);

#endif
