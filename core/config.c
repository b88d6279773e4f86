/*
 * config.c - read a device file and validate it, device by device
 *
 * The only file that knows the layout of a device file: a "herald" group
 * for the core, a "devices" list of groups for the drivers.  Every value is
 * checked by options_apply() against a table; this file adds the rules a
 * table cannot say (device names, duplicates, which driver, plugin dirs).
 */
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libconfig.h>
#include <herald/status.h>
#include <herald/timeouts.h>
#include "config.h"
#include "config_source.h"
#include "options.h"

#define DEVICE_NAME_MAX 64
#define DEVICE_MODULES_MAX 16       /* driver + the modules its options name */
#define PLUGIN_DIRS_MAX 32

struct config_impl {
    config_t lc;
    struct config_source *src;      /* the text lc was parsed from */
};

#define CO(f) offsetof(struct config_core, f)
#define DO(f) offsetof(struct config_dns, f)
#define TO(f) offsetof(struct config_trace, f)

static const char *const trace_formats[] = { "text", "json", NULL };
static const char *const trace_levels[] = { "error", "warn", "info", "debug", NULL };

static const struct herald_option dns_options[] = {
    { "servers", HERALD_OPT_STRLIST, DO(servers), 0, 0, 0, NULL, NULL, 0, NULL,
      "name servers, \"ADDR[:PORT]\" or \"[ADDR6]:PORT\"; default: resolv.conf" },
    { "timeout_ms", HERALD_OPT_MSEC, DO(timeout_ms), 0, 100, 60000, NULL, NULL, 0, NULL,
      "per-try DNS timeout" },
    { "tries", HERALD_OPT_INT, DO(tries), 0, 1, 10, NULL, NULL, 0, NULL,
      "tries per name server" },
    { "cache_entries", HERALD_OPT_INT, DO(cache_entries), 0, 16, 10000000, NULL, NULL, 0, NULL,
      "answers kept (least recently used evicted); default enough for 100,000 domains" },
    { "min_ttl_s", HERALD_OPT_INT, DO(min_ttl_s), 0, 0, 86400, NULL, NULL, 0, NULL,
      "answers are kept at least this long" },
    { "max_ttl_s", HERALD_OPT_INT, DO(max_ttl_s), 0, 1, 604800, NULL, NULL, 0, NULL,
      "answers are kept at most this long" },
    { "max_inflight", HERALD_OPT_INT, DO(max_inflight), 0, 1, 10000, NULL, NULL, 0, NULL,
      "lookups on the wire at once; the others wait their turn" },
    HERALD_OPT_END
};

static const struct herald_option trace_options[] = {
    { "file", HERALD_OPT_STRING, TO(file), 0, 0, 0, NULL, NULL, 0, NULL,
      "trace file (appended), or \"-\" for stderr" },
    { "format", HERALD_OPT_ENUM, TO(format), 0, 0, 0, trace_formats, NULL, 0, NULL,
      "text or json" },
    { "level", HERALD_OPT_ENUM, TO(level), 0, 0, 0, trace_levels, NULL, 0, NULL,
      "error, warn, info or debug" },
    HERALD_OPT_END
};

const struct herald_option config_core_options[] = {
    { "plugin_dirs", HERALD_OPT_STRLIST, CO(plugin_dirs), 0, 0, 0, NULL, NULL, 0, NULL,
      "absolute module directories, searched in order" },
    { "dns", HERALD_OPT_GROUP, CO(dns), 0, 0, 0, NULL, dns_options, 0, NULL,
      "DNS resolver settings" },
    { "trace", HERALD_OPT_GROUP, CO(trace), 0, 0, 0, NULL, trace_options, 0, NULL,
      "delivery trace" },
    { "sendmail_device", HERALD_OPT_STRING, CO(sendmail_device), 0, 0, 0, NULL, NULL, 0, NULL,
      "the device herald-sendmail uses; default: the first email device" },
    HERALD_OPT_END
};

/* herald.queue names a module, so it is applied once the plugin folders are
 * known (see apply_queue); the first pass skips it. */
static const struct herald_option queue_option[] = {
    { "queue", HERALD_OPT_MODULE, CO(queue), 0, 0, 0, NULL, NULL, HERALD_KIND_QUEUE, "module",
      "the durable queue: module (\"spool\") and its options" },
    HERALD_OPT_END
};

static const struct config_core core_defaults = {
    .dns = { .servers = { 0, NULL }, .timeout_ms = HERALD_DEFAULT_DNS_TIMEOUT_MS,
             .tries = HERALD_DEFAULT_DNS_TRIES, .cache_entries = 250000,
             .min_ttl_s = 0, .max_ttl_s = 86400, .max_inflight = 100 },
    .trace = { .file = NULL, .format = 0, .level = 2 /* info */ },
};

/* check_ttl_clamp - dns.min_ttl_s above dns.max_ttl_s is an error at the group */
static herald_status
check_ttl_clamp(const struct config_dns *d, const config_setting_t *group, const char *label,
                struct herald_diag *diag)
{
    char where[256];

    if (d->min_ttl_s <= d->max_ttl_s)
        return HERALD_OK;
    options_where(group, where, sizeof where);
    return herald_diag_set(diag, HERALD_E_CONFIG, where,
                           "%s: dns.min_ttl_s (%lld) is above dns.max_ttl_s (%lld)", label,
                           (long long)d->min_ttl_s, (long long)d->max_ttl_s);
}

/* Per-load state: what callbacks from options_apply need. */
struct loader {
    struct config *cfg;
    struct registry *reg;
    struct arena *arena;
    config_secret_fn on_secret;
    void *secret_arg;
    struct config_device *dev;      /* the device being validated */
    struct herald_diag *diag;
    herald_status module_overflow;
};

/* where_of - "FILE:LINE" of a setting */
static void
where_of(const config_setting_t *s, char *buf, size_t size)
{
    options_where(s, buf, size);
}

/* fail_at - HERALD_E_CONFIG at a setting with a formatted reason */
static herald_status fail_at(struct herald_diag *diag, const config_setting_t *s,
                             const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static herald_status
fail_at(struct herald_diag *diag, const config_setting_t *s, const char *fmt, ...)
{
    char loc[sizeof diag->where];
    char why[sizeof diag->text];
    va_list ap;

    where_of(s, loc, sizeof loc);
    va_start(ap, fmt);
    vsnprintf(why, sizeof why, fmt, ap);
    va_end(ap);
    return herald_diag_set(diag, HERALD_E_CONFIG, loc, "%s", why);
}

/* on_module - remember a module a device's options named ("herald devices") */
static void
on_module(void *arg, const struct herald_module *mod)
{
    struct loader *ld = arg;
    struct config_device *dev = ld->dev;

    if (dev == NULL)
        return;
    if (dev->module_count >= DEVICE_MODULES_MAX) {
        ld->module_overflow = HERALD_E_LIMIT;
        return;
    }
    dev->modules[dev->module_count++] = mod;
}

/* on_secret - pass secrets on to the caller (the trace redacts them) */
static void
on_secret(void *arg, const char *secret)
{
    struct loader *ld = arg;

    if (ld->on_secret != NULL)
        ld->on_secret(ld->secret_arg, secret);
}

/* env_for - the options_env every table is applied with */
static void
env_for(struct loader *ld, const char *label, struct options_env *env)
{
    memset(env, 0, sizeof *env);
    env->arena = ld->arena;
    env->registry = ld->reg;
    env->label = label;
    env->on_secret = on_secret;
    env->on_secret_arg = ld;
    env->on_module = on_module;
    env->on_module_arg = ld;
}

/* split_path - "a:b:c" into arena strings; empty fields are dropped */
static herald_status
split_path(struct arena *arena, const char *text, const char ***dirs_out, size_t *count_out)
{
    const char **dirs = arena_alloc(arena, PLUGIN_DIRS_MAX * sizeof *dirs);
    char *copy = arena_strdup(arena, text);
    size_t n = 0;
    char *p, *save = NULL;

    if (dirs == NULL || copy == NULL)
        return HERALD_E_NOMEM;
    for (p = strtok_r(copy, ":", &save); p != NULL; p = strtok_r(NULL, ":", &save)) {
        if (n == PLUGIN_DIRS_MAX)
            return HERALD_E_LIMIT;
        dirs[n++] = p;
    }
    *dirs_out = dirs;
    *count_out = n;
    return HERALD_OK;
}

/* set_plugin_dirs - the config's list, else $HERALD_PLUGIN_PATH, else the install dir */
static herald_status
set_plugin_dirs(struct loader *ld, const config_setting_t *herald, struct herald_diag *diag)
{
    struct config *cfg = ld->cfg;
    const config_setting_t *s = herald ? config_setting_get_member(herald, "plugin_dirs") : NULL;
    const char *envpath = getenv("HERALD_PLUGIN_PATH");
    const char **dirs;
    struct herald_diag d;
    size_t n;
    herald_status st;

    if (s != NULL) {
        cfg->plugin_dirs = cfg->core.plugin_dirs.items;
        cfg->plugin_dir_count = cfg->core.plugin_dirs.count;
    } else {
        st = split_path(ld->arena, envpath && *envpath ? envpath : HERALD_PKGLIBDIR, &dirs, &n);
        if (st != HERALD_OK)
            return herald_diag_set(diag, st, "HERALD_PLUGIN_PATH", "%s",
                                   st == HERALD_E_LIMIT ? "more than 32 plugin directories"
                                                        : "out of memory");
        cfg->plugin_dirs = dirs;
        cfg->plugin_dir_count = n;
    }
    if (ld->reg == NULL)
        return HERALD_OK;
    st = registry_set_dirs(ld->reg, cfg->plugin_dirs, cfg->plugin_dir_count, &d);
    if (st == HERALD_OK)
        return HERALD_OK;
    if (s != NULL)
        return fail_at(diag, s, "herald: option \"plugin_dirs\": %s: %s", d.where, d.text);
    return herald_diag_set(diag, st, d.where, "%s (from %s)", d.text,
                           envpath && *envpath ? "$HERALD_PLUGIN_PATH" : "the install dir");
}

/* dirs_text - "/a, /b" for messages about a module not found */
static void
dirs_text(const struct config *cfg, char *buf, size_t size)
{
    size_t i, used = 0;

    buf[0] = '\0';
    for (i = 0; i < cfg->plugin_dir_count && used < size; i++) {
        int n = snprintf(buf + used, size - used, "%s%s", i ? ", " : "", cfg->plugin_dirs[i]);
        used += n > 0 ? (size_t)n : 0;
    }
    if (cfg->plugin_dir_count == 0)
        snprintf(buf, size, "(no plugin directory)");
}

/* name_ok - device names: [A-Za-z0-9_.-], 1..64 characters */
static bool
name_ok(const char *name)
{
    size_t n = 0;

    for (; name[n]; n++) {
        char c = name[n];

        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '_' || c == '.' || c == '-'))
            return false;
    }
    return n >= 1 && n <= DEVICE_NAME_MAX;
}

/* device_string - a required string member of a device group */
static herald_status
device_string(const config_setting_t *dg, const char *member, const char *label,
              const char **value_out, const config_setting_t **s_out, struct herald_diag *diag)
{
    const config_setting_t *s = config_setting_get_member(dg, member);
    const char *v;

    if (s == NULL)
        return fail_at(diag, dg, "%soption \"%s\": required option is missing", label, member);
    v = config_setting_type(s) == CONFIG_TYPE_STRING ? config_setting_get_string(s) : NULL;
    if (v == NULL)
        return fail_at(diag, s, "%soption \"%s\": wrong type: expected a string", label,
                       member);
    *value_out = v;
    *s_out = s;
    return HERALD_OK;
}

/* find_driver - the device's driver module, with a useful refusal */
static herald_status
find_driver(struct loader *ld, const config_setting_t *ds, const char *label,
            const char *driver, const struct herald_module **mod_out,
            struct herald_diag *diag)
{
    struct herald_diag d;
    char dirs[200], loc[64];
    herald_status st;

    if (ld->reg == NULL)
        return fail_at(diag, ds, "%s: driver \"%s\": no module registry", label, driver);
    memset(&d, 0, sizeof d);
    st = registry_find(ld->reg, HERALD_KIND_DEVICE, driver, mod_out, &d);
    if (st == HERALD_OK)
        return HERALD_OK;
    if (st == HERALD_E_NOTFOUND) {
        dirs_text(ld->cfg, dirs, sizeof dirs);
        return fail_at(diag, ds, "%s: no driver \"%s\": device-%s.so not found in %s", label,
                       driver, driver, dirs);
    }
    /* A refused module file: where names the file (herald.h), text names the line. */
    where_of(ds, loc, sizeof loc);
    return herald_diag_set(diag, st, d.where, "%s (driver of %s at %s)", d.text, label, loc);
}

/* apply_queue - herald.queue, against the queue module's own table */
static herald_status
apply_queue(struct loader *ld, const config_setting_t *herald, struct herald_diag *diag)
{
    const config_setting_t *q = config_setting_get_member(herald, "queue");
    const char **skip;
    struct options_env env;
    int i, n = config_setting_length(herald), k = 0;

    if (q == NULL)
        return HERALD_OK;
    /* Every other member was checked by the first pass. */
    skip = arena_alloc(ld->arena, ((size_t)n + 1) * sizeof *skip);
    if (skip == NULL)
        return herald_diag_set(diag, HERALD_E_NOMEM, ld->cfg->path, "out of memory");
    for (i = 0; i < n; i++) {
        const char *name = config_setting_name(config_setting_get_elem(herald, (unsigned)i));

        if (name != NULL && strcmp(name, "queue") != 0)
            skip[k++] = name;
    }
    skip[k] = NULL;
    where_of(q, ld->cfg->core.queue_where, sizeof ld->cfg->core.queue_where);
    env_for(ld, "herald", &env);
    env.on_module = NULL;   /* not a device's module */
    return options_apply(queue_option, herald, &ld->cfg->core, skip, &env, diag);
}

/* load_device - validate one entry of the devices list */
static herald_status
load_device(struct loader *ld, const config_setting_t *dg, size_t index,
            struct herald_diag *diag)
{
    static const char *const skip[] = { "name", "driver", "dns", NULL };
    struct config *cfg = ld->cfg;
    struct config_device *dev = &cfg->devices[index];
    const config_setting_t *ns, *ds, *dns;
    const struct herald_module *driver;
    struct options_env env;
    struct herald_diag d;
    char label[DEVICE_NAME_MAX + 16];
    char label_colon[sizeof label + 2];
    const char *name, *drv;
    void *block = NULL;
    herald_status st;
    size_t i;

    if (config_setting_type(dg) != CONFIG_TYPE_GROUP)
        return fail_at(diag, dg, "devices: item %zu is not a group { name = ...; driver = ...; }",
                       index + 1);
    st = device_string(dg, "name", "device: ", &name, &ns, diag);
    if (st != HERALD_OK)
        return st;
    if (!name_ok(name))
        return fail_at(diag, ns, "device name \"%s\": use 1 to %d of A-Z a-z 0-9 _ . -", name,
                       DEVICE_NAME_MAX);
    snprintf(label, sizeof label, "device \"%s\"", name);
    for (i = 0; i < index; i++) {
        if (strcmp(cfg->devices[i].name, name) == 0)
            return fail_at(diag, ns, "%s: duplicate device name (first defined at %s)", label,
                           cfg->devices[i].where);
    }
    dev->name = name;
    where_of(dg, dev->where, sizeof dev->where);
    snprintf(label_colon, sizeof label_colon, "%s: ", label);
    st = device_string(dg, "driver", label_colon, &drv, &ds, diag);
    if (st != HERALD_OK)
        return st;
    st = find_driver(ld, ds, label, drv, &driver, diag);
    if (st != HERALD_OK)
        return st;
    dev->driver = driver;
    dev->modules = arena_alloc(ld->arena, DEVICE_MODULES_MAX * sizeof *dev->modules);
    if (dev->modules == NULL)
        return herald_diag_set(diag, HERALD_E_NOMEM, dev->where, "out of memory");
    dev->modules[dev->module_count++] = driver;
    ld->dev = dev;

    /* The device's own dns group starts from the global values, so it may
     * override only the servers and keep the global timeouts. */
    dev->dns = cfg->core.dns;
    dev->route_timeout_ms = HERALD_DEFAULT_ROUTE_TIMEOUT_MS;
    env_for(ld, label, &env);
    env.route_timeout_ms = &dev->route_timeout_ms;
    dns = config_setting_get_member(dg, "dns");
    if (dns != NULL) {
        if (config_setting_type(dns) != CONFIG_TYPE_GROUP)
            return fail_at(diag, dns, "%s: option \"dns\": wrong type: expected a group", label);
        st = options_apply(dns_options, dns, &dev->dns, NULL, &env, diag);
        if (st == HERALD_OK)
            st = check_ttl_clamp(&dev->dns, dns, label, diag);
        if (st != HERALD_OK)
            return st;
    }
    if (driver->options_size > 0) {
        block = arena_alloc(ld->arena, driver->options_size);
        if (block == NULL)
            return herald_diag_set(diag, HERALD_E_NOMEM, dev->where, "out of memory");
        if (driver->options_defaults != NULL)
            memcpy(block, driver->options_defaults, driver->options_size);
    }
    st = options_apply(driver->options, dg, block, skip, &env, diag);
    if (st != HERALD_OK)
        return st;
    if (ld->module_overflow != HERALD_OK)
        return fail_at(diag, dg, "%s: names more than %d modules", label, DEVICE_MODULES_MAX - 1);
    if (driver->check != NULL) {
        memset(&d, 0, sizeof d);
        if (driver->check(block, &d) != HERALD_OK)
            return fail_at(diag, dg, "%s: driver \"%s\": %s", label, drv,
                           d.text[0] ? d.text : "refused by the driver's check");
    }
    dev->options = block;
    ld->dev = NULL;
    return HERALD_OK;
}

/* load_devices - the "devices" list */
static herald_status
load_devices(struct loader *ld, const config_setting_t *list, struct herald_diag *diag)
{
    int n, i;
    herald_status st;

    if (config_setting_type(list) != CONFIG_TYPE_LIST)
        return fail_at(diag, list, "devices: wrong type: expected a list ( { ... }, ... ), got %s",
                       config_setting_type(list) == CONFIG_TYPE_GROUP ? "a group" : "a value");
    n = config_setting_length(list);
    ld->cfg->devices = arena_alloc(ld->arena, (size_t)(n > 0 ? n : 1) * sizeof *ld->cfg->devices);
    if (ld->cfg->devices == NULL)
        return herald_diag_set(diag, HERALD_E_NOMEM, "", "out of memory");
    for (i = 0; i < n; i++) {
        st = load_device(ld, config_setting_get_elem(list, (unsigned)i), (size_t)i, diag);
        if (st != HERALD_OK)
            return st;
        ld->cfg->device_count++;
    }
    return HERALD_OK;
}

/* check_sendmail_device - herald.sendmail_device names a device of this file */
static herald_status
check_sendmail_device(const struct config *cfg, const config_setting_t *herald,
                      struct herald_diag *diag)
{
    const char *name = cfg->core.sendmail_device;
    size_t i;

    if (name == NULL)
        return HERALD_OK;
    for (i = 0; i < cfg->device_count; i++)
        if (strcmp(cfg->devices[i].name, name) == 0)
            return HERALD_OK;
    /* The name is printed as the file has it: options_apply refused control characters. */
    return fail_at(diag, config_setting_get_member(herald, "sendmail_device"),
                   "herald: option \"sendmail_device\": no device is named \"%s\"", name);
}

/* validate - the whole tree: top-level names, herald group, devices */
static herald_status
validate(struct loader *ld, struct herald_diag *diag)
{
    config_setting_t *root = config_root_setting(&ld->cfg->impl->lc);
    const config_setting_t *herald = NULL, *devices = NULL;
    struct options_env env;
    herald_status st;
    int i, n = config_setting_length(root);

    for (i = 0; i < n; i++) {
        const config_setting_t *s = config_setting_get_elem(root, (unsigned)i);
        const char *name = config_setting_name(s);

        if (name != NULL && strcmp(name, "herald") == 0)
            herald = s;
        else if (name != NULL && strcmp(name, "devices") == 0)
            devices = s;
        else
            return fail_at(diag, s, "unknown top-level setting \"%s\" (expected \"herald\" or "
                           "\"devices\")", name ? name : "");
    }
    ld->cfg->core = core_defaults;
    if (herald != NULL) {
        if (config_setting_type(herald) != CONFIG_TYPE_GROUP)
            return fail_at(diag, herald, "herald: wrong type: expected a group { ... }");
        static const char *const later[] = { "queue", NULL };

        env_for(ld, "herald", &env);
        st = options_apply(config_core_options, herald, &ld->cfg->core, later, &env, diag);
        if (st == HERALD_OK) {
            const config_setting_t *dg = config_setting_get_member(herald, "dns");

            st = check_ttl_clamp(&ld->cfg->core.dns, dg != NULL ? dg : herald, "herald", diag);
        }
        if (st != HERALD_OK)
            return st;
    }
    st = set_plugin_dirs(ld, herald, diag);
    if (st == HERALD_OK && herald != NULL)
        st = apply_queue(ld, herald, diag);
    if (st != HERALD_OK)
        return st;
    if (devices != NULL)
        st = load_devices(ld, devices, diag);
    if (st == HERALD_OK && herald != NULL)
        st = check_sendmail_device(ld->cfg, herald, diag);
    return st;
}

/* config_new_empty - a config with an initialised libconfig tree */
static herald_status
config_new_empty(struct config **cfg_out)
{
    struct config *cfg = calloc(1, sizeof *cfg);

    if (cfg == NULL)
        return HERALD_E_NOMEM;
    cfg->impl = calloc(1, sizeof *cfg->impl);
    if (cfg->impl == NULL) {
        free(cfg);
        return HERALD_E_NOMEM;
    }
    config_init(&cfg->impl->lc);
    *cfg_out = cfg;
    return HERALD_OK;
}

/* parse_error - libconfig's syntax error as "FILE:LINE" and its own text */
static herald_status
parse_error(const struct config_impl *impl, struct herald_diag *diag)
{
    char loc[sizeof diag->where];
    const char *file = NULL;
    unsigned line = 0;
    int n;

    if (!config_source_origin(impl->src, (unsigned)config_error_line(&impl->lc), &file, &line))
        line = (unsigned)config_error_line(&impl->lc);
    n = snprintf(loc, sizeof loc, "%s:%u", file ? file : "(string)", line);
    if (n < 0 || (size_t)n >= sizeof loc)
        snprintf(loc, sizeof loc, "%s", "(path too long)");
    return herald_diag_set(diag, HERALD_E_CONFIG, loc, "%s",
                           config_error_text(&impl->lc) ? config_error_text(&impl->lc)
                                                        : "syntax error");
}

/* parse - libconfig reads the expanded text; the source stays with the tree */
static herald_status
parse(struct config *cfg, struct config_source *src, struct herald_diag *diag)
{
    herald_status hs;

    cfg->impl->src = src;
    if (!config_read_string(&cfg->impl->lc, config_source_text(src))) {
        hs = parse_error(cfg->impl, diag);
        config_free(&cfg);
        return hs;
    }
    config_source_attach(&cfg->impl->lc, src);
    return HERALD_OK;
}

/* finish - validate a parsed tree and hand the config out, or free it */
static herald_status
finish(struct config *cfg, struct registry *reg, struct arena *arena, config_secret_fn fn,
       void *arg, struct config **cfg_out, struct herald_diag *diag)
{
    struct loader ld;
    herald_status st;

    memset(&ld, 0, sizeof ld);
    ld.cfg = cfg;
    ld.reg = reg;
    ld.arena = arena;
    ld.on_secret = fn;
    ld.secret_arg = arg;
    ld.diag = diag;
    st = validate(&ld, diag);
    if (st != HERALD_OK) {
        config_free(&cfg);
        return st;
    }
    *cfg_out = cfg;
    return HERALD_OK;
}

/* config_load - read and validate the device file at path */
herald_status
config_load(const char *path, struct registry *reg, struct arena *arena,
            config_secret_fn on_secret_fn, void *secret_arg, struct config **cfg_out,
            struct herald_diag *diag)
{
    struct config_source *src = NULL;
    struct config *cfg;
    herald_status hs;

    if (path == NULL || arena == NULL)
        return herald_diag_set(diag, HERALD_E_INVAL, "", "config_load: no path or arena");
    /* Herald expands @include itself: libconfig 1.5 cannot open absolute paths. */
    hs = config_source_read(path, &src, diag);
    if (hs != HERALD_OK)
        return hs;
    hs = config_new_empty(&cfg);
    if (hs != HERALD_OK) {
        config_source_free(&src);
        return herald_diag_set(diag, hs, path, "out of memory");
    }
    cfg->path = arena_strdup(arena, path);
    if (cfg->path == NULL) {
        config_free(&cfg);
        config_source_free(&src);
        return herald_diag_set(diag, HERALD_E_NOMEM, path, "out of memory");
    }
    hs = parse(cfg, src, diag);
    if (hs != HERALD_OK)
        return hs;
    return finish(cfg, reg, arena, on_secret_fn, secret_arg, cfg_out, diag);
}

/* config_load_string - the same from text in memory */
herald_status
config_load_string(const char *text, struct registry *reg, struct arena *arena,
                   config_secret_fn on_secret_fn, void *secret_arg, struct config **cfg_out,
                   struct herald_diag *diag)
{
    struct config_source *src = NULL;
    struct config *cfg;
    herald_status hs;

    if (text == NULL || arena == NULL)
        return herald_diag_set(diag, HERALD_E_INVAL, "", "config_load_string: no text or arena");
    hs = config_source_read_text(text, &src, diag);
    if (hs != HERALD_OK)
        return hs;
    hs = config_new_empty(&cfg);
    if (hs != HERALD_OK) {
        config_source_free(&src);
        return herald_diag_set(diag, hs, "(string)", "out of memory");
    }
    cfg->path = "(string)";
    hs = parse(cfg, src, diag);
    if (hs != HERALD_OK)
        return hs;
    return finish(cfg, reg, arena, on_secret_fn, secret_arg, cfg_out, diag);
}

/* config_free - destroy the libconfig tree; accepts NULL */
void
config_free(struct config **cfg)
{
    if (cfg == NULL || *cfg == NULL)
        return;
    config_destroy(&(*cfg)->impl->lc);
    config_source_free(&(*cfg)->impl->src);
    free((*cfg)->impl);
    free(*cfg);
    *cfg = NULL;
}
