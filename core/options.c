/*
 * options.c - validate a libconfig group against an option table
 *
 * One generic walk for every table (core, drivers, route strategies,
 * transports): modules describe their options, this file is the only one
 * that reads configuration values.  See options.h for the contract.
 *
 * Notes on the types:
 *   INT, MSEC  min == max == 0 means "no bound" (a table that leaves both
 *              out); otherwise [min, max] inclusive.
 *   MODE       an integer is read as octal digits: libconfig 1.5 reads the
 *              literal 0640 as decimal 640, which is what the admin meant
 *              as 0640; "0640" as a string works the same way.
 *   strings    borrowed from the config_t (the context keeps it alive).
 */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <herald/module.h>
#include <herald/timeouts.h>
#include "config.h"
#include "config_source.h"
#include "options.h"
#include "registry.h"
#include "text.h"

#define OPT_PATH_MAX 256         /* dotted option name, "transport.auth.user" */

struct walk {
    const struct options_env *env;
    struct herald_diag *diag;
};

static herald_status apply_table(const struct walk *w, const struct herald_option *table,
                                 const config_setting_t *group, void *block,
                                 const char *const *skip, const char *prefix);

/* options_where - "FILE:LINE" of a setting; "(string)" for text without a file */
void
options_where(const config_setting_t *setting, char *buf, size_t size)
{
    const char *file = NULL;
    unsigned line = 0;

    if (size == 0)
        return;
    if (!config_setting_origin(setting, &file, &line))
        snprintf(buf, size, "(string)");
    else
        snprintf(buf, size, "%s:%u", file ? file : "(string)", line);
}

/* opt_fail - fill diag with the setting's place and "<label>: option "x.y": why" */
static herald_status opt_fail(const struct walk *w, herald_status st,
                              const config_setting_t *where, const char *path,
                              const char *fmt, ...) __attribute__((format(printf, 5, 6)));
static herald_status
opt_fail(const struct walk *w, herald_status st, const config_setting_t *where,
         const char *path, const char *fmt, ...)
{
    char loc[sizeof w->diag->where];
    char why[sizeof w->diag->text];
    const char *label = w->env->label;
    va_list ap;

    options_where(where, loc, sizeof loc);
    va_start(ap, fmt);
    vsnprintf(why, sizeof why, fmt, ap);
    va_end(ap);
    return herald_diag_set(w->diag, st, loc, "%s%soption \"%s\": %s",
                           label ? label : "", label ? ": " : "", path, why);
}

/* type_name - how a libconfig type is called in messages */
static const char *
type_name(int type)
{
    switch (type) {
    case CONFIG_TYPE_GROUP: return "a group";
    case CONFIG_TYPE_INT:
    case CONFIG_TYPE_INT64: return "an integer";
    case CONFIG_TYPE_FLOAT: return "a floating-point number";
    case CONFIG_TYPE_STRING: return "a string";
    case CONFIG_TYPE_BOOL: return "a boolean";
    case CONFIG_TYPE_ARRAY: return "an array";
    case CONFIG_TYPE_LIST: return "a list";
    default: return "nothing";
    }
}

/* wrong_type - the common "expected X, got Y" refusal */
static herald_status
wrong_type(const struct walk *w, const config_setting_t *s, const char *path,
           const char *expected)
{
    return opt_fail(w, HERALD_E_CONFIG, s, path, "wrong type: expected %s, got %s",
                    expected, type_name(config_setting_type(s)));
}

/* in_list - is name one of the NULL-terminated words? */
static bool
in_list(const char *const *words, const char *name)
{
    for (; words != NULL && *words != NULL; words++)
        if (strcmp(*words, name) == 0)
            return true;
    return false;
}

/* secret_file_ok - refuse a secret held in a file others can read */
static herald_status
secret_file_ok(const struct walk *w, const config_setting_t *s, const char *path)
{
    const char *file = NULL;
    unsigned line;
    struct stat st;

    if (!config_setting_origin(s, &file, &line) || file == NULL)
        return HERALD_OK;
    if (stat(file, &st) != 0)
        return opt_fail(w, HERALD_E_CONFIG, s, path, "cannot check permissions of %s: %s",
                        file, strerror(errno));
    if (st.st_mode & (S_IRGRP | S_IROTH))
        return opt_fail(w, HERALD_E_CONFIG, s, path,
                        "secret in %s, which group or others can read: chmod 600 %s",
                        file, file);
    return HERALD_OK;
}

/* get_string - a string setting, refused when it holds control characters */
static herald_status
get_string(const struct walk *w, const struct herald_option *opt, const config_setting_t *s,
           const char *path, const char **value_out)
{
    const char *v;

    if (config_setting_type(s) != CONFIG_TYPE_STRING)
        return wrong_type(w, s, path, "a string");
    v = config_setting_get_string(s);
    if (v == NULL)
        return wrong_type(w, s, path, "a string");
    if (!(opt->flags & HERALD_OPT_ALLOWCTL) && text_has_ctl(v))
        return opt_fail(w, HERALD_E_CONFIG, s, path,
                        "control character (CR, LF, ...) not allowed in this value");
    *value_out = v;
    return HERALD_OK;
}

/* get_int - an integer setting, refused when its literal did not fit */
static herald_status
get_int(const struct walk *w, const config_setting_t *s, const char *path,
        int64_t *value_out)
{
    int64_t v;

    if (config_setting_type(s) != CONFIG_TYPE_INT && config_setting_type(s) != CONFIG_TYPE_INT64)
        return wrong_type(w, s, path, "an integer");
    v = config_setting_get_int64(s);
    if (!config_literal_fits(s, v))
        return opt_fail(w, HERALD_E_CONFIG, s, path, "integer literal too large");
    *value_out = v;
    return HERALD_OK;
}

/* apply_int - INT and MSEC: an int64 within the table's bounds */
static herald_status
apply_int(const struct walk *w, const struct herald_option *opt, const config_setting_t *s,
          const char *path, void *field)
{
    herald_status st;
    int64_t v;

    st = get_int(w, s, path, &v);
    if (st != HERALD_OK)
        return st;
    if (!(opt->min == 0 && opt->max == 0) && (v < opt->min || v > opt->max))
        return opt_fail(w, HERALD_E_CONFIG, s, path,
                        "value %" PRId64 " out of range (%" PRId64 "..%" PRId64 ")%s", v,
                        opt->min, opt->max, opt->type == HERALD_OPT_MSEC ? " ms" : "");
    memcpy(field, &v, sizeof v);
    return HERALD_OK;
}

/* apply_enum - one word among the table's choices, stored as its index */
static herald_status
apply_enum(const struct walk *w, const struct herald_option *opt, const config_setting_t *s,
           const char *path, void *field)
{
    char allowed[256] = "";
    size_t used = 0;
    const char *v;
    herald_status st;
    int i;

    st = get_string(w, opt, s, path, &v);
    if (st != HERALD_OK)
        return st;
    for (i = 0; opt->choices != NULL && opt->choices[i] != NULL; i++) {
        if (strcmp(opt->choices[i], v) == 0) {
            memcpy(field, &i, sizeof i);
            return HERALD_OK;
        }
        if (used < sizeof allowed) {
            int n = snprintf(allowed + used, sizeof allowed - used, "%s%s", i ? ", " : "",
                             opt->choices[i]);
            used += n > 0 ? (size_t)n : 0;
        }
    }
    return opt_fail(w, HERALD_E_CONFIG, s, path, "unknown value \"%s\" (allowed: %s)", v,
                    allowed);
}

/* apply_strlist - a string, or an array or list of strings, into the arena */
static herald_status
apply_strlist(const struct walk *w, const struct herald_option *opt,
              const config_setting_t *s, const char *path, void *field)
{
    struct herald_strlist list = { 0, NULL };
    const char **items;
    herald_status st;
    int type = config_setting_type(s);
    int i, n;

    if (type == CONFIG_TYPE_STRING) {
        n = 1;
    } else if (type == CONFIG_TYPE_ARRAY || type == CONFIG_TYPE_LIST) {
        n = config_setting_length(s);
    } else {
        return wrong_type(w, s, path, "a string or a list of strings");
    }
    items = arena_alloc(w->env->arena, (size_t)(n > 0 ? n : 1) * sizeof *items);
    if (items == NULL)
        return opt_fail(w, HERALD_E_NOMEM, s, path, "out of memory");
    if (type == CONFIG_TYPE_STRING) {
        st = get_string(w, opt, s, path, &items[0]);
        if (st != HERALD_OK)
            return st;
    } else {
        for (i = 0; i < n; i++) {
            const config_setting_t *e = config_setting_get_elem(s, (unsigned)i);

            if (e == NULL || config_setting_type(e) != CONFIG_TYPE_STRING)
                return opt_fail(w, HERALD_E_CONFIG, e ? e : s, path,
                                "wrong type: item %d is %s, expected a string", i + 1,
                                e ? type_name(config_setting_type(e)) : "missing");
            st = get_string(w, opt, e, path, &items[i]);
            if (st != HERALD_OK)
                return st;
        }
    }
    list.count = (size_t)n;
    list.items = items;
    memcpy(field, &list, sizeof list);
    return HERALD_OK;
}

/* octal_digits - read the decimal digits of v as octal (0640 -> 0640); -1 if not octal */
static int64_t
octal_digits(int64_t v)
{
    int64_t out = 0, place = 1;

    if (v < 0)
        return -1;
    do {
        int64_t d = v % 10;

        if (d > 7 || place > 07777)
            return -1;
        out += d * place;
        place *= 8;
        v /= 10;
    } while (v > 0);
    return out;
}

/* apply_mode - a file mode: octal string "0640" or integer 0640, 0..07777 */
static herald_status
apply_mode(const struct walk *w, const struct herald_option *opt, const config_setting_t *s,
           const char *path, void *field)
{
    herald_status st;
    int64_t m;
    int mode;

    if (config_setting_type(s) == CONFIG_TYPE_STRING) {
        const char *v, *p;

        st = get_string(w, opt, s, path, &v);
        if (st != HERALD_OK)
            return st;
        m = 0;
        for (p = v; *p >= '0' && *p <= '7' && m <= 07777; p++)
            m = m * 8 + (*p - '0');
        if (*v == '\0' || *p != '\0' || m > 07777)
            return opt_fail(w, HERALD_E_CONFIG, s, path,
                            "\"%s\" is not an octal file mode (0000..7777)", v);
    } else {
        int64_t v;

        if (config_setting_type(s) != CONFIG_TYPE_INT &&
            config_setting_type(s) != CONFIG_TYPE_INT64)
            return wrong_type(w, s, path, "an octal file mode (\"0640\" or 0640)");
        st = get_int(w, s, path, &v);
        if (st != HERALD_OK)
            return st;
        m = octal_digits(v);
        if (m < 0 || m > 07777)
            return opt_fail(w, HERALD_E_CONFIG, s, path,
                            "%" PRId64 " is not an octal file mode (0000..7777)", v);
    }
    mode = (int)m;
    memcpy(field, &mode, sizeof mode);
    return HERALD_OK;
}

/* join_path - "prefix.name" into buf; an overlong name is cut and marked */
static void
join_path(char *buf, size_t size, const char *prefix, const char *name)
{
    int n = snprintf(buf, size, "%s%s%s", prefix, *prefix ? "." : "", name);

    if (n < 0 || (size_t)n >= size)
        memcpy(buf + size - 4, "...", 4);
}

/* apply_module - a group naming a module: find it, fill its own options block */
static herald_status
apply_module(const struct walk *w, const struct herald_option *opt, const config_setting_t *s,
             const char *path, void *field)
{
    static const struct herald_option guard_option = {
        "timeout_ms", HERALD_OPT_MSEC, 0, 0, 1, 3600000, NULL, NULL, 0, NULL,
        "the route strategy's answer, per request (route guard)"
    };
    const char *key = opt->module_key ? opt->module_key : "name";
    /* A route group also carries the core's guard on the strategy. */
    const bool guard = opt->module_kind == HERALD_KIND_ROUTE && w->env->route_timeout_ms != NULL;
    const char *const skip[] = { key, guard ? "timeout_ms" : NULL, NULL };
    const char *kind = herald_module_kind_name(opt->module_kind);
    const config_setting_t *ks;
    const struct herald_module *mod = NULL;
    struct herald_module_ref ref;
    struct herald_diag d;
    char keypath[OPT_PATH_MAX];
    const char *name;
    void *block = NULL;
    herald_status st;

    kind = kind ? kind : "unknown-kind";
    if (config_setting_type(s) != CONFIG_TYPE_GROUP)
        return wrong_type(w, s, path, "a group");
    if (guard && (ks = config_setting_get_member(s, "timeout_ms")) != NULL) {
        int64_t ms = HERALD_DEFAULT_ROUTE_TIMEOUT_MS;

        join_path(keypath, sizeof keypath, path, "timeout_ms");
        st = apply_int(w, &guard_option, ks, keypath, &ms);
        if (st != HERALD_OK)
            return st;
        *w->env->route_timeout_ms = ms;
    }
    join_path(keypath, sizeof keypath, path, key);
    ks = config_setting_get_member(s, key);
    if (ks == NULL)
        return opt_fail(w, HERALD_E_CONFIG, s, keypath,
                        "required option is missing (it names the %s module)", kind);
    st = get_string(w, opt, ks, keypath, &name);
    if (st != HERALD_OK)
        return st;
    if (w->env->registry == NULL)
        return opt_fail(w, HERALD_E_CONFIG, ks, keypath, "no module registry to find %s \"%s\"",
                        kind, name);
    memset(&d, 0, sizeof d);
    st = registry_find(w->env->registry, opt->module_kind, name, &mod, &d);
    if (st == HERALD_E_NOTFOUND)
        return opt_fail(w, HERALD_E_CONFIG, ks, keypath, "no %s module \"%s\" (%s)", kind, name,
                        d.text);
    if (st != HERALD_OK) {
        char loc[sizeof d.where];

        /* A refused module file: where names the file, the text the config line. */
        options_where(ks, loc, sizeof loc);
        return herald_diag_set(w->diag, st, d.where, "%s (named by option \"%s\" at %s)",
                               d.text, keypath, loc);
    }
    if (mod->options_size > 0) {
        block = arena_alloc(w->env->arena, mod->options_size);
        if (block == NULL)
            return opt_fail(w, HERALD_E_NOMEM, s, path, "out of memory");
        if (mod->options_defaults != NULL)
            memcpy(block, mod->options_defaults, mod->options_size);
    }
    st = apply_table(w, mod->options, s, block, skip, path);
    if (st != HERALD_OK)
        return st;
    if (mod->check != NULL) {
        memset(&d, 0, sizeof d);
        if (mod->check(block, &d) != HERALD_OK)
            return opt_fail(w, HERALD_E_CONFIG, s, path, "%s \"%s\": %s", kind, name,
                            d.text[0] ? d.text : "refused by the module's check");
    }
    ref.module = mod;
    ref.options = block;
    memcpy(field, &ref, sizeof ref);
    if (w->env->on_module != NULL)
        w->env->on_module(w->env->on_module_arg, mod);
    return HERALD_OK;
}

/* apply_one - validate one member and write its value at its offset */
static herald_status
apply_one(const struct walk *w, const struct herald_option *opt, const config_setting_t *s,
          void *block, const char *path)
{
    char *field = (char *)block + opt->offset;
    herald_status st;

    if (block == NULL)
        return opt_fail(w, HERALD_E_INVAL, s, path, "option table has no options block");
    if ((opt->flags & HERALD_OPT_SECRET) && (st = secret_file_ok(w, s, path)) != HERALD_OK)
        return st;
    switch (opt->type) {
    case HERALD_OPT_STRING: {
        const char *v;

        st = get_string(w, opt, s, path, &v);
        if (st != HERALD_OK)
            return st;
        memcpy(field, &v, sizeof v);
        if ((opt->flags & HERALD_OPT_SECRET) && w->env->on_secret != NULL)
            w->env->on_secret(w->env->on_secret_arg, v);
        return HERALD_OK;
    }
    case HERALD_OPT_INT:
    case HERALD_OPT_MSEC:
        return apply_int(w, opt, s, path, field);
    case HERALD_OPT_BOOL: {
        bool b;

        if (config_setting_type(s) != CONFIG_TYPE_BOOL)
            return wrong_type(w, s, path, "a boolean (true or false)");
        b = config_setting_get_bool(s) != 0;
        memcpy(field, &b, sizeof b);
        return HERALD_OK;
    }
    case HERALD_OPT_ENUM:
        return apply_enum(w, opt, s, path, field);
    case HERALD_OPT_STRLIST:
        return apply_strlist(w, opt, s, path, field);
    case HERALD_OPT_MODE:
        return apply_mode(w, opt, s, path, field);
    case HERALD_OPT_GROUP:
        if (config_setting_type(s) != CONFIG_TYPE_GROUP)
            return wrong_type(w, s, path, "a group");
        return apply_table(w, opt->sub, s, field, NULL, path);
    case HERALD_OPT_MODULE:
        return apply_module(w, opt, s, path, field);
    }
    return opt_fail(w, HERALD_E_INVAL, s, path, "option table has an unknown type %d",
                    (int)opt->type);
}

/* find_option - the table entry called name, or NULL */
static const struct herald_option *
find_option(const struct herald_option *table, const char *name)
{
    for (; table != NULL && table->name != NULL; table++)
        if (strcmp(table->name, name) == 0)
            return table;
    return NULL;
}

/* apply_table - every member of group, then every required member of table */
static herald_status
apply_table(const struct walk *w, const struct herald_option *table,
            const config_setting_t *group, void *block, const char *const *skip,
            const char *prefix)
{
    const struct herald_option *opt;
    char path[OPT_PATH_MAX];
    herald_status st;
    int i, n;

    n = group != NULL ? config_setting_length(group) : 0;
    for (i = 0; i < n; i++) {
        const config_setting_t *s = config_setting_get_elem(group, (unsigned)i);
        const char *name = s ? config_setting_name(s) : NULL;

        if (name == NULL || in_list(skip, name))
            continue;
        join_path(path, sizeof path, prefix, name);
        opt = find_option(table, name);
        if (opt == NULL)
            return opt_fail(w, HERALD_E_CONFIG, s, path, "unknown option");
        st = apply_one(w, opt, s, block, path);
        if (st != HERALD_OK)
            return st;
    }
    for (opt = table; opt != NULL && opt->name != NULL; opt++) {
        if (!(opt->flags & HERALD_OPT_REQUIRED))
            continue;
        if (group == NULL || config_setting_get_member(group, opt->name) == NULL) {
            join_path(path, sizeof path, prefix, opt->name);
            return opt_fail(w, HERALD_E_CONFIG, group, path, "required option is missing");
        }
    }
    return HERALD_OK;
}

/* options_apply - validate group against table and write the values into block */
herald_status
options_apply(const struct herald_option *table, const config_setting_t *group, void *block,
              const char *const *skip, const struct options_env *env,
              struct herald_diag *diag)
{
    struct walk w;

    if (env == NULL || env->arena == NULL)
        return herald_diag_set(diag, HERALD_E_INVAL, "", "options_apply: no arena");
    if (group != NULL && config_setting_type(group) != CONFIG_TYPE_GROUP) {
        w.env = env;
        w.diag = diag;
        return wrong_type(&w, group, config_setting_name(group) ? config_setting_name(group)
                                                                : "", "a group");
    }
    w.env = env;
    w.diag = diag;
    return apply_table(&w, table, group, block, skip, "");
}
