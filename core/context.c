/*
 * context.c - herald_open/herald_close and the device handles of herald.h
 *
 * Opening order: config (which sets the registry's plugin dirs and loads
 * the modules it names) -> event loop -> trace sink (secrets registered
 * before the first line) -> one env and driver open() per device.  Any
 * failure closes what was opened, so herald_open() either returns a working
 * context or leaves nothing behind.
 */
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <herald/herald.h>
#include "context.h"
#include "dns.h"
#include "plan_share.h"
#include "delivery.h"
#include "module_abi.h"
#include "outcome.h"
#include "queue_store.h"
#include "registry.h"
#include "trace_sink.h"

/* What herald_send waits for; kept on the device when the driver never ends it. */
struct send_wait {
    struct herald_outcome *outcome;
    bool done;
    struct herald_delivery *delivery;   /* until done: freed at close if never done */
    struct send_wait *next;
};

/* herald_version - the package version */
const char *
herald_version(void)
{
    return PACKAGE_VERSION;
}

/* herald_default_config_path - $HERALD_CONF, else $sysconfdir/herald.conf */
const char *
herald_default_config_path(void)
{
    const char *p = getenv("HERALD_CONF");

    return p != NULL && *p != '\0' ? p : HERALD_SYSCONFDIR "/herald.conf";
}

/* add_secret - remember a secret option value, to register it with every sink */
static void
add_secret(void *arg, const char *secret)
{
    struct herald_context *ctx = arg;

    if (secret == NULL || *secret == '\0')
        return;
    if (ctx->secret_count == ctx->secret_cap) {
        size_t cap = ctx->secret_cap ? ctx->secret_cap * 2 : 8;
        const char **p = realloc(ctx->secrets, cap * sizeof *p);

        if (p == NULL) {
            ctx->secret_nomem = true;   /* refused later: a secret must not go unredacted */
            return;
        }
        ctx->secrets = p;
        ctx->secret_cap = cap;
    }
    ctx->secrets[ctx->secret_count++] = secret;
}

/* env_add_secret - a module's secret: kept like a config secret, and redacted now */
static herald_status
env_add_secret(void *arg, const char *secret)
{
    struct herald_context *ctx = arg;
    char *copy;

    if (*secret == '\0')
        return HERALD_OK;
    copy = arena_strdup(ctx->arena, secret);
    if (copy == NULL)
        return HERALD_E_NOMEM;
    add_secret(ctx, copy);
    if (ctx->secret_nomem)
        return HERALD_E_NOMEM;
    return ctx->sink != NULL ? trace_sink_add_secret(ctx->sink, copy) : HERALD_OK;
}

/* register_secrets - hand every secret to a sink before it writes anything */
static herald_status
register_secrets(const struct herald_context *ctx, struct trace_sink *sink)
{
    size_t i;
    herald_status st;

    if (sink == NULL)
        return HERALD_OK;
    for (i = 0; i < ctx->secret_count; i++) {
        st = trace_sink_add_secret(sink, ctx->secrets[i]);
        if (st != HERALD_OK)
            return st;
    }
    return HERALD_OK;
}

/* attach_sink - point every scope of the context at sink */
static void
attach_sink(struct herald_context *ctx, struct trace_sink *sink)
{
    size_t i;

    ctx->sink = sink;
    trace_scope_init(&ctx->trace, sink, "-");
    for (i = 0; i < ctx->device_count; i++)
        trace_scope_init(&ctx->devices[i].env.trace, sink, "-");
}

/* driver_ops - the driver's operations (module_ops_check proved them at load) */
static herald_status
driver_ops(const struct herald_context *ctx, const struct herald_module *mod,
           const struct herald_device_ops **ops_out, struct herald_diag *diag)
{
    const char *path = registry_module_path(ctx->registry, mod);

    /* A module that did not come through the registry was never checked. */
    if (path == NULL)
        return herald_diag_set(diag, HERALD_E_MODULE, mod->name,
                               "device driver \"%s\" is not a loaded module", mod->name);
    *ops_out = mod->ops;
    return HERALD_OK;
}

/* open_device - make the env of one configured device and let its driver open it */
static herald_status
open_device(struct herald_context *ctx, struct herald_device *dev,
            const struct config_device *conf, struct herald_diag *diag)
{
    const char *path;
    struct herald_diag d;
    herald_status st;
    size_t i;

    dev->ctx = ctx;
    dev->conf = conf;
    st = driver_ops(ctx, conf->driver, &dev->ops, diag);
    if (st != HERALD_OK)
        return st;
    dev->env.loop = ctx->loop;
    trace_scope_init(&dev->env.trace, ctx->sink, "-");
    dev->env.registry = ctx->registry;
    dev->env.dns = NULL;
    dev->env.device_name = conf->name;
    dev->env.dns_servers = &conf->dns.servers;
    dev->env.dns_timeout_ms = conf->dns.timeout_ms;
    dev->env.dns_tries = conf->dns.tries;
    dev->env.dns_cache_entries = conf->dns.cache_entries;
    dev->env.dns_min_ttl_s = conf->dns.min_ttl_s;
    dev->env.dns_max_ttl_s = conf->dns.max_ttl_s;
    dev->env.dns_max_inflight = conf->dns.max_inflight;
    dev->env.route_timeout_ms = conf->route_timeout_ms;
    dev->env.add_secret = env_add_secret;
    dev->env.secret_arg = ctx;

    memset(&d, 0, sizeof d);
    st = dev->ops->open(conf->name, conf->options, &dev->env, &dev->state, &d);
    if (st != HERALD_OK)
        return herald_diag_set(diag, st, conf->where, "device \"%s\": driver \"%s\": %s",
                               conf->name, conf->driver->name,
                               d.text[0] ? d.text : herald_strerror(st));
    dev->opened = true;
    path = registry_module_path(ctx->registry, conf->driver);
    herald_trace_log(&ctx->trace, HERALD_TRACE_INFO, "config",
                     "loaded device %s driver %s from %s", conf->name, conf->driver->name,
                     path ? path : "?");
    for (i = 1; i < conf->module_count; i++) {
        const struct herald_module *m = conf->modules[i];
        const char *kind = herald_module_kind_name(m->kind);

        path = registry_module_path(ctx->registry, m);
        herald_trace_log(&ctx->trace, HERALD_TRACE_DEBUG, "config",
                         "device %s uses %s module %s from %s", conf->name,
                         kind ? kind : "?", m->name, path ? path : "?");
    }
    return HERALD_OK;
}

/* open_trace - the sink the device file asks for, with every secret registered */
static herald_status
open_trace(struct herald_context *ctx, const char *path, int format, int level,
           struct trace_sink **sink_out, struct herald_diag *diag)
{
    struct trace_sink *sink = NULL;
    herald_status st;

    st = trace_sink_open(path, (enum trace_format)format, (enum herald_trace_level)level, &sink,
                         diag);
    if (st != HERALD_OK)
        return st;
    st = register_secrets(ctx, sink);
    if (st != HERALD_OK) {
        trace_sink_free(&sink);
        return herald_diag_set(diag, st, path ? path : "", "cannot register secrets: %s",
                               herald_strerror(st));
    }
    *sink_out = sink;
    return HERALD_OK;
}

/* context_open - herald_open with a registry prepared by the caller (taken) */
herald_status
context_open(const char *config_path, struct registry **reg, struct herald_context **ctx_out,
             struct herald_diag *diag)
{
    struct herald_context *ctx;
    const struct config_core *core;
    struct trace_sink *sink = NULL;
    herald_status st;
    size_t i;

    if (reg == NULL || *reg == NULL || ctx_out == NULL)
        return herald_diag_set(diag, HERALD_E_INVAL, "", "context_open: no registry or ctx_out");
    if (config_path == NULL)
        config_path = herald_default_config_path();
    ctx = calloc(1, sizeof *ctx);
    if (ctx == NULL) {
        registry_free(reg);
        return herald_diag_set(diag, HERALD_E_NOMEM, config_path, "out of memory");
    }
    ctx->registry = *reg;
    *reg = NULL;
    st = arena_new(&ctx->arena);
    if (st != HERALD_OK) {
        herald_diag_set(diag, st, config_path, "out of memory");
        goto fail;
    }
    st = config_load(config_path, ctx->registry, ctx->arena, add_secret, ctx, &ctx->config,
                     diag);
    if (st != HERALD_OK)
        goto fail;
    if (ctx->secret_nomem) {
        st = herald_diag_set(diag, HERALD_E_NOMEM, config_path, "out of memory (secrets)");
        goto fail;
    }
    st = herald_loop_new(&ctx->loop);
    if (st != HERALD_OK) {
        herald_diag_set(diag, st, config_path, "cannot create the event loop: %s",
                        herald_strerror(st));
        goto fail;
    }
    core = &ctx->config->core;
    ctx->trace_path = core->trace.file;
    ctx->trace_format = core->trace.format;
    ctx->trace_level = core->trace.level;
    st = open_trace(ctx, ctx->trace_path, ctx->trace_format, ctx->trace_level, &sink, diag);
    if (st != HERALD_OK)
        goto fail;
    ctx->devices = calloc(ctx->config->device_count ? ctx->config->device_count : 1,
                          sizeof *ctx->devices);
    if (ctx->devices == NULL) {
        trace_sink_free(&sink);
        st = herald_diag_set(diag, HERALD_E_NOMEM, config_path, "out of memory");
        goto fail;
    }
    ctx->device_count = ctx->config->device_count;
    attach_sink(ctx, sink);
    for (i = 0; i < ctx->device_count; i++) {
        st = open_device(ctx, &ctx->devices[i], &ctx->config->devices[i], diag);
        if (st != HERALD_OK)
            goto fail;
    }
    *ctx_out = ctx;
    return HERALD_OK;
fail:
    herald_close(&ctx);
    return st;
}

/* herald_open - read a device file, load its modules, open its devices */
herald_status
herald_open(const char *config_path, struct herald_context **ctx_out,
            struct herald_diag *diag)
{
    struct registry *reg = NULL;
    herald_status st;

    if (ctx_out == NULL)
        return herald_diag_set(diag, HERALD_E_INVAL, "", "herald_open: ctx_out is NULL");
    st = registry_new(&reg);
    if (st != HERALD_OK)
        return herald_diag_set(diag, st, "", "cannot create the module registry: %s",
                               herald_strerror(st));
    return context_open(config_path, &reg, ctx_out, diag);
}

/* free_retired - close every retired sink (the array itself stays) */
static void
free_retired(struct herald_context *ctx)
{
    while (ctx->retired_count > 0)
        trace_sink_free(&ctx->retired[--ctx->retired_count]);
}

/* herald_close - close devices, then free everything; the config tree goes last */
void
herald_close(struct herald_context **ctxp)
{
    struct herald_context *ctx;
    size_t i;

    if (ctxp == NULL || *ctxp == NULL)
        return;
    ctx = *ctxp;
    /* Submitted messages first: each gets its outcome (every step is bounded
     * by its own timeout) rather than vanishing with the devices. */
    if (ctx->pending > 0 && ctx->loop != NULL)
        (void)herald_run(ctx, 0, NULL);
    queue_store_close(ctx);
    /* Resolvers next: a cancelled lookup calls back into its strategy and
     * device, which must still be open then. */
    for (i = 0; i < ctx->device_count; i++) {
        plan_share_close(&ctx->devices[i].env);   /* kept plans first: they hold no lookup */
        dns_env_close(&ctx->devices[i].env);
    }
    for (i = ctx->device_count; i-- > 0;) {
        struct herald_device *dev = &ctx->devices[i];

        if (dev->opened && OPS_HAS(struct herald_device_ops, dev->ops, close)
            && dev->ops->close != NULL)
            dev->ops->close(dev->state);
        dev->opened = false;
        while (dev->orphans != NULL) {
            struct send_wait *w = dev->orphans;

            dev->orphans = w->next;
            herald_outcome_free(&w->outcome);
            if (!w->done)
                delivery_free_unfinished(w->delivery);
            free(w);
        }
        route_env_close(&dev->env);
        env_notes_free(&dev->env);
    }
    free(ctx->devices);
    herald_loop_free(&ctx->loop);
    trace_sink_free(&ctx->sink);
    free_retired(ctx);
    free(ctx->retired);
    registry_free(&ctx->registry);
    free(ctx->secrets);
    arena_free(&ctx->arena);
    /* Option strings (and the secrets list above) borrow from the tree. */
    config_free(&ctx->config);
    free(ctx);
    *ctxp = NULL;
}

/* context_free_retired_sinks - close the replaced sinks; only when nothing is pending */
void
context_free_retired_sinks(struct herald_context *ctx)
{
    if (ctx->pending == 0)
        free_retired(ctx);
}

/* herald_set_trace - replace the trace sink; NULL keeps a setting */
herald_status
herald_set_trace(struct herald_context *ctx, const char *path, const char *format,
                 const char *level, struct herald_diag *diag)
{
    struct trace_sink *sink = NULL, *old;
    int fmt, lvl;
    herald_status st;

    if (ctx == NULL)
        return herald_diag_set(diag, HERALD_E_INVAL, "", "herald_set_trace: no context");
    fmt = format != NULL ? trace_format_parse(format) : ctx->trace_format;
    if (fmt < 0)
        return herald_diag_set(diag, HERALD_E_INVAL, "", "unknown trace format \"%s\" "
                               "(allowed: text, json)", format);
    lvl = level != NULL ? trace_level_parse(level) : ctx->trace_level;
    if (lvl < 0)
        return herald_diag_set(diag, HERALD_E_INVAL, "", "unknown trace level \"%s\" "
                               "(allowed: error, warn, info, debug)", level);
    if (path != NULL) {
        path = arena_strdup(ctx->arena, path);
        if (path == NULL)
            return herald_diag_set(diag, HERALD_E_NOMEM, "", "out of memory");
    } else {
        path = ctx->trace_path;
    }
    /* Room to retire the old sink first, so that nothing can fail after the
     * new one is attached. */
    if (ctx->pending > 0 && ctx->sink != NULL && ctx->retired_count == ctx->retired_cap) {
        size_t cap = ctx->retired_cap ? 2 * ctx->retired_cap : 4;
        struct trace_sink **grown = realloc(ctx->retired, cap * sizeof *grown);

        if (grown == NULL)
            return herald_diag_set(diag, HERALD_E_NOMEM, "", "out of memory");
        ctx->retired = grown;
        ctx->retired_cap = cap;
    }
    st = open_trace(ctx, path, fmt, lvl, &sink, diag);
    if (st != HERALD_OK)
        return st;
    old = ctx->sink;
    attach_sink(ctx, sink);
    if (ctx->pending > 0 && old != NULL)
        ctx->retired[ctx->retired_count++] = old;   /* messages in flight still write to it */
    else
        trace_sink_free(&old);
    context_free_retired_sinks(ctx);
    ctx->trace_path = path;
    ctx->trace_format = fmt;
    ctx->trace_level = lvl;
    return HERALD_OK;
}

/* herald_device_count - how many devices the file configured */
size_t
herald_device_count(const struct herald_context *ctx)
{
    return ctx != NULL ? ctx->device_count : 0;
}

/* herald_sendmail_device - herald.sendmail_device, or NULL */
const char *
herald_sendmail_device(const struct herald_context *ctx)
{
    return ctx != NULL ? ctx->config->core.sendmail_device : NULL;
}

/* herald_queue_configured - the file has a herald.queue group */
bool
herald_queue_configured(const struct herald_context *ctx)
{
    return ctx != NULL && ctx->config->core.queue.module != NULL;
}

/* herald_device_at - a device by position in the file; NULL out of range */
struct herald_device *
herald_device_at(struct herald_context *ctx, size_t index)
{
    if (ctx == NULL || index >= ctx->device_count)
        return NULL;
    return &ctx->devices[index];
}

/* herald_device - a device by name */
herald_status
herald_device(struct herald_context *ctx, const char *name, struct herald_device **dev_out,
              struct herald_diag *diag)
{
    size_t i;

    if (ctx == NULL || name == NULL || dev_out == NULL)
        return herald_diag_set(diag, HERALD_E_INVAL, "", "herald_device: missing argument");
    for (i = 0; i < ctx->device_count; i++) {
        if (strcmp(ctx->devices[i].conf->name, name) == 0) {
            *dev_out = &ctx->devices[i];
            return HERALD_OK;
        }
    }
    return herald_diag_set(diag, HERALD_E_NOTFOUND, ctx->config->path,
                           "no device \"%s\" in this file", name);
}

/* herald_device_name - the name from the device file */
const char *
herald_device_name(const struct herald_device *dev)
{
    return dev != NULL ? dev->conf->name : NULL;
}

/* herald_device_where - FILE:LINE of the device's group */
const char *
herald_device_where(const struct herald_device *dev)
{
    return dev != NULL ? dev->conf->where : NULL;
}

/* herald_device_note_count - the notes the driver left at open time */
size_t
herald_device_note_count(const struct herald_device *dev)
{
    return dev != NULL ? dev->env.note_count : 0;
}

/* herald_device_note_at - note INDEX, borrowed; NULL when out of range */
const char *
herald_device_note_at(const struct herald_device *dev, size_t index)
{
    return dev != NULL && index < dev->env.note_count ? dev->env.notes[index] : NULL;
}

/* herald_device_module_count - the driver plus the modules its options name */
size_t
herald_device_module_count(const struct herald_device *dev)
{
    return dev != NULL ? dev->conf->module_count : 0;
}

/* herald_device_module - kind, name and path of the index-th module */
herald_status
herald_device_module(const struct herald_device *dev, size_t index, const char **kind_out,
                     const char **name_out, const char **path_out)
{
    const struct herald_module *m;
    const char *kind;

    if (dev == NULL || index >= dev->conf->module_count)
        return HERALD_E_NOTFOUND;
    m = dev->conf->modules[index];
    kind = herald_module_kind_name(m->kind);
    if (kind_out != NULL)
        *kind_out = kind ? kind : "unknown";
    if (name_out != NULL)
        *name_out = m->name;
    if (path_out != NULL) {
        const char *path = registry_module_path(dev->ctx->registry, m);

        *path_out = path ? path : "";
    }
    return HERALD_OK;
}

/* herald_module_lookup - KIND-NAME from the plugin folders, loaded on first use */
herald_status
herald_module_lookup(struct herald_context *ctx, const char *kind, const char *name,
                     const struct herald_module **mod_out, const char **path_out,
                     struct herald_diag *diag)
{
    const struct herald_module *mod = NULL;
    const char *path;
    unsigned k;
    herald_status st;

    if (ctx == NULL || kind == NULL || name == NULL || mod_out == NULL)
        return herald_diag_set(diag, HERALD_E_INVAL, "",
                               "herald_module_lookup: missing argument");
    for (k = HERALD_KIND_DEVICE; k <= HERALD_KIND_QUEUE; k++)
        if (strcmp(herald_module_kind_name(k), kind) == 0)
            break;
    if (k > HERALD_KIND_QUEUE)
        return herald_diag_set(diag, HERALD_E_INVAL, "",
                               "unknown module kind \"%.32s\" (device, route, transport or "
                               "queue)", kind);
    st = registry_find(ctx->registry, k, name, &mod, diag);
    if (st != HERALD_OK)
        return st;
    path = registry_module_path(ctx->registry, mod);
    *mod_out = mod;
    if (path_out != NULL)
        *path_out = path ? path : "";
    return HERALD_OK;
}

/* send_done - the delivery finished: keep its outcome */
static void
send_done(void *arg, struct herald_outcome *outcome)
{
    struct send_wait *w = arg;

    w->outcome = outcome;
    w->done = true;
    w->delivery = NULL;   /* it freed itself */
}

/* send_finished - loop condition for herald_send */
static bool
send_finished(void *arg)
{
    const struct send_wait *w = arg;

    return w->done;
}

/* abandoned_outcome - every recipient deferred: the driver never finished */
static herald_status
abandoned_outcome(const struct herald_device *dev, const struct herald_message *msg,
                  herald_status why, struct herald_outcome **outcome_out,
                  struct herald_diag *diag)
{
    size_t i, n = herald_message_recipient_count(msg);
    const char **addrs = calloc(n, sizeof *addrs);
    struct herald_outcome *o = NULL;
    char reply[200];
    herald_status st;

    if (addrs == NULL)
        return herald_diag_set(diag, HERALD_E_NOMEM, dev->conf->name, "out of memory");
    for (i = 0; i < n; i++)
        addrs[i] = herald_message_recipient(msg, i);
    st = outcome_new(n, addrs, "-", &o);
    free(addrs);
    if (st != HERALD_OK)
        return herald_diag_set(diag, st, dev->conf->name, "out of memory");
    snprintf(reply, sizeof reply, "device driver \"%s\" did not finish the delivery (%s)",
             dev->conf->driver->name, herald_strerror(why));
    herald_trace_log(&dev->ctx->trace, HERALD_TRACE_ERROR, "delivery", "device %s: %s",
                     dev->conf->name, reply);
    for (i = 0; i < n; i++)
        (void)outcome_record(o, i, HERALD_RESULT_DEFERRED, reply, "4.3.0", NULL, NULL, false);
    *outcome_out = o;
    return HERALD_OK;
}

/* herald_send - deliver msg through dev, running the loop until the driver is done */
herald_status
herald_send(struct herald_device *dev, const struct herald_message *msg,
            struct herald_outcome **outcome_out, struct herald_diag *diag)
{
    struct herald_delivery *d = NULL;
    struct send_wait *w;
    struct herald_context *ctx;
    herald_status st;

    if (dev == NULL || msg == NULL || outcome_out == NULL)
        return herald_diag_set(diag, HERALD_E_INVAL, "", "herald_send: missing argument");
    if (herald_message_recipient_count(msg) == 0)
        return herald_diag_set(diag, HERALD_E_INVAL, dev->conf->name, "message has no recipient");
    ctx = dev->ctx;
    /* On the heap: a driver that ends the delivery late must not write
     * into a returned stack frame. */
    w = calloc(1, sizeof *w);
    if (w == NULL)
        return herald_diag_set(diag, HERALD_E_NOMEM, dev->conf->name, "out of memory");
    st = delivery_new(msg, &dev->env, ctx->sink, send_done, w, &d);
    if (st != HERALD_OK) {
        free(w);
        return herald_diag_set(diag, st, dev->conf->name, "cannot start delivery: %s",
                               herald_strerror(st));
    }
    w->delivery = d;
    dev->ops->deliver(dev->state, d);
    /* The driver bounds every step with its own timeouts; the loop ends when
     * the delivery is done or when nothing is left that could finish it. */
    st = herald_loop_run(ctx->loop, send_finished, w, 0);
    if (!w->done) {
        w->next = dev->orphans;   /* freed by herald_close */
        dev->orphans = w;
        /* Nothing is left that could finish it: every recipient still gets
         * an outcome (deferred, naming the driver), never silence. */
        return abandoned_outcome(dev, msg, st, outcome_out, diag);
    }
    *outcome_out = w->outcome;
    free(w);
    return HERALD_OK;
}
