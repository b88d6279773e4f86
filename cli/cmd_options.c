/*
 * cmd_options.c - "herald options": every option a module accepts, read from
 * the module's own option table, the single source of truth
 *
 *   herald [-c FILE] options [--json] [KIND] NAME
 *
 * Text:  transport smtp (/usr/local/lib/herald/transport-smtp.so): ESMTP/SMTP client...
 *          tls                 none|opportunistic|required|verify, default opportunistic  TLS...
 *          auth.user           string, required                   user name for AUTH
 *          connect_timeout_ms  ms 100..3600000, default 30000     TCP connect, per address
 * JSON:  {"modules":[{"kind","name","path","summary","options":[{"name","type",
 *         "required","secret","default","min","max","choices","help"}]}]}
 *        (a module option also has "module_kind")
 * Exit:  0 shown; 64 usage; 69 no module of that name, or a module refused;
 *        70 out of memory; 78 the device file is wrong.
 * Without KIND, every kind that has a module NAME is shown, in the order
 * device, route, transport, queue (herald.queue's store: "herald options
 * spool").  The modules are looked up in the device file's
 * plugin folders, loaded through the same loader as for a delivery.
 */
#include <getopt.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

#define OPTIONS_NAME_WIDTH_MAX 28   /* longer names push their row's columns right */
#define OPTIONS_SPEC_WIDTH_MAX 44

static const char *const kind_names[] = { "device", "route", "transport", "queue" };
#define KIND_COUNT (sizeof kind_names / sizeof kind_names[0])

/* One option of a module, nested groups flattened: "auth.user". */
struct row {
    char name[256];
    const struct herald_option *opt;
    const unsigned char *field;   /* its default in the defaults block; NULL if unknown */
    char *name_text;              /* printable name and "type, flags, default" for text */
    char *spec_text;
};

struct rows {
    struct row *v;
    size_t n, cap;
};

/* A module found for NAME, with its rows. */
struct shown {
    const char *kind;
    const struct herald_module *mod;
    const char *path;
    unsigned char *zeroes;        /* the block a module without defaults starts from */
    struct rows rows;
};

/* options_usage - help for "herald options" */
static void
options_usage(FILE *out)
{
    fputs("Usage: herald [-c FILE] options [--json] [KIND] NAME\n"
          "\n"
          "Print every option the module NAME accepts, read from the module itself:\n"
          "its name (dotted inside groups: auth.user), its type (the allowed words of\n"
          "a choice, the range of a number, \"ms\" for milliseconds), whether it is\n"
          "required or secret, its default and what it does.  KIND is device, route,\n"
          "transport or queue (herald.queue's store: \"herald options spool\"); without\n"
          "it, every kind that has a module NAME is shown\n"
          "(a NAME that is also a KIND word needs the KIND: \"route route\").\n"
          "Modules are looked up in the plugin folders of the device file.\n"
          "\n"
          "  --json   one JSON object: {\"modules\":[{\"kind\",\"name\",\"path\",\"summary\",\n"
          "           \"options\":[{\"name\",\"type\",\"required\",\"secret\",\"default\",\n"
          "           \"min\",\"max\",\"choices\",\"help\"}]}]}\n"
          "\n"
          "Exit status: 0 shown; 64 usage; 69 no module NAME, or a module refused;\n"
          "78 the device file is wrong.\n",
          out);
}

/* field_size - bytes an option of this type takes in its options block */
static size_t
field_size(enum herald_opt_type type)
{
    switch (type) {
    case HERALD_OPT_STRING:
        return sizeof(const char *);
    case HERALD_OPT_INT:
    case HERALD_OPT_MSEC:
        return sizeof(int64_t);
    case HERALD_OPT_BOOL:
        return sizeof(bool);
    case HERALD_OPT_ENUM:
    case HERALD_OPT_MODE:
        return sizeof(int);
    case HERALD_OPT_STRLIST:
        return sizeof(struct herald_strlist);
    case HERALD_OPT_GROUP:
        return 0;
    case HERALD_OPT_MODULE:
        return sizeof(struct herald_module_ref);
    }
    return 0;
}

/* add_row - append one row; false when out of memory */
static bool
add_row(struct rows *rows, const char *prefix, const char *name, const char *key,
        const struct herald_option *opt, const unsigned char *field)
{
    struct row *r;
    int n;

    if (rows->n == rows->cap) {
        size_t cap = rows->cap ? rows->cap * 2 : 16;
        struct row *v = realloc(rows->v, cap * sizeof *v);

        if (v == NULL)
            return false;
        rows->v = v;
        rows->cap = cap;
    }
    r = &rows->v[rows->n];
    memset(r, 0, sizeof *r);
    n = snprintf(r->name, sizeof r->name, "%s%s%s%s%s", prefix, *prefix ? "." : "", name,
                 key ? "." : "", key ? key : "");
    if (n < 0 || (size_t)n >= sizeof r->name)
        memcpy(r->name + sizeof r->name - 4, "...", 4);
    r->opt = opt;
    r->field = field;
    rows->n++;
    return true;
}

/*
 * flatten - the rows of table in table order, a group's members after the
 * group itself; base is where table's block starts inside the module's
 * defaults block (size bytes; the loader has checked the table's shape)
 */
static bool
flatten(struct rows *rows, const struct herald_option *table, const char *prefix,
        const unsigned char *block, size_t size, size_t base)
{
    const struct herald_option *o;

    for (o = table; o != NULL && o->name != NULL; o++) {
        size_t fsize = field_size(o->type);
        const unsigned char *field = NULL;
        size_t at = base + o->offset;

        /* A default is shown only when it lies inside the defaults block. */
        if (block != NULL && at >= base && at <= size && fsize <= size - at)
            field = block + at;
        if (!add_row(rows, prefix, o->name,
                     o->type == HERALD_OPT_MODULE ? o->module_key : NULL, o, field))
            return false;
        if (o->type == HERALD_OPT_GROUP && o->sub != NULL) {
            char sub[256];
            int n = snprintf(sub, sizeof sub, "%s%s%s", prefix, *prefix ? "." : "", o->name);

            if (n < 0 || (size_t)n >= sizeof sub)
                memcpy(sub + sizeof sub - 4, "...", 4);
            /* A group outside the block: its members are listed without defaults. */
            if (!flatten(rows, o->sub, sub, field != NULL ? block : NULL, size, at))
                return false;
        }
    }
    return true;
}

/* free_shown - release a module's rows */
static void
free_shown(struct shown *s)
{
    size_t i;

    for (i = 0; i < s->rows.n; i++) {
        free(s->rows.v[i].name_text);
        free(s->rows.v[i].spec_text);
    }
    free(s->rows.v);
    free(s->zeroes);
    memset(s, 0, sizeof *s);
}

/* build_rows - the flattened option table of s->mod; false when out of memory */
static bool
build_rows(struct shown *s)
{
    const struct herald_module *mod = s->mod;
    const unsigned char *block = mod->options_defaults;

    if (mod->options == NULL)
        return true;
    /* Without defaults the core starts from a zeroed block: so does the listing. */
    if (block == NULL && mod->options_size > 0) {
        s->zeroes = calloc(1, mod->options_size);
        if (s->zeroes == NULL)
            return false;
        block = s->zeroes;
    }
    return flatten(&s->rows, mod->options, "", block, mod->options_size, 0);
}

/* enum_word - the word an ENUM default stands for, or NULL */
static const char *
enum_word(const struct herald_option *o, const unsigned char *field)
{
    int idx, i;

    if (field == NULL || o->choices == NULL)
        return NULL;
    memcpy(&idx, field, sizeof idx);
    for (i = 0; o->choices[i] != NULL; i++)
        if (i == idx)
            return o->choices[i];
    return NULL;
}

/* bool_value - a BOOL default */
static bool
bool_value(const unsigned char *field)
{
    bool b;

    memcpy(&b, field, sizeof b);
    return b;
}

/* has_range - INT and MSEC: min == max == 0 means no bound */
static bool
has_range(const struct herald_option *o)
{
    return (o->type == HERALD_OPT_INT || o->type == HERALD_OPT_MSEC)
           && !(o->min == 0 && o->max == 0);
}

/* put_default_text - ", default X" for text; nothing when there is none */
static void
put_default_text(FILE *f, const struct herald_option *o, const unsigned char *field)
{
    if (field == NULL)
        return;
    switch (o->type) {
    case HERALD_OPT_STRING: {
        const char *v;

        memcpy(&v, field, sizeof v);
        if (v != NULL) {
            fputs(", default ", f);
            cli_put_printable(f, v);
        }
        return;
    }
    case HERALD_OPT_INT:
    case HERALD_OPT_MSEC: {
        int64_t v;

        memcpy(&v, field, sizeof v);
        fprintf(f, ", default %" PRId64, v);
        return;
    }
    case HERALD_OPT_BOOL:
        fputs(bool_value(field) ? ", default true" : ", default false", f);
        return;
    case HERALD_OPT_ENUM: {
        const char *w = enum_word(o, field);

        fputs(", default ", f);
        cli_put_printable(f, w ? w : "?");
        return;
    }
    case HERALD_OPT_MODE: {
        int m;

        memcpy(&m, field, sizeof m);
        if (m >= 0)
            fprintf(f, ", default 0%03o", (unsigned)m);
        return;
    }
    case HERALD_OPT_STRLIST: {
        struct herald_strlist l;
        size_t i;

        memcpy(&l, field, sizeof l);
        if (l.count == 0 || l.items == NULL)
            return;
        fputs(", default ", f);
        for (i = 0; i < l.count; i++) {
            if (i > 0)
                fputs(", ", f);
            cli_put_printable(f, l.items[i]);
        }
        return;
    }
    case HERALD_OPT_GROUP:
    case HERALD_OPT_MODULE:
        return;
    }
}

/* put_type_text - the type column: "string", "ms 100..3600000", "none|required" */
static void
put_type_text(FILE *f, const struct herald_option *o)
{
    size_t i;

    switch (o->type) {
    case HERALD_OPT_STRING:
        fputs("string", f);
        break;
    case HERALD_OPT_INT:
        fputs("int", f);
        break;
    case HERALD_OPT_MSEC:
        fputs("ms", f);
        break;
    case HERALD_OPT_BOOL:
        fputs("bool", f);
        break;
    case HERALD_OPT_ENUM:
        for (i = 0; o->choices != NULL && o->choices[i] != NULL; i++) {
            if (i > 0)
                putc('|', f);
            cli_put_printable(f, o->choices[i]);
        }
        break;
    case HERALD_OPT_STRLIST:
        fputs("string list", f);
        break;
    case HERALD_OPT_MODE:
        fputs("octal mode", f);
        break;
    case HERALD_OPT_GROUP:
        fputs("group", f);
        break;
    case HERALD_OPT_MODULE: {
        const char *kind = herald_module_kind_name(o->module_kind);

        fprintf(f, "%s module name", kind ? kind : "?");
        break;
    }
    }
    if (has_range(o))
        fprintf(f, " %" PRId64 "..%" PRId64, o->min, o->max);
}

/* make_text - the printable name and spec of a row; false when out of memory */
static bool
make_text(struct row *r)
{
    char *buf = NULL;
    size_t size = 0;
    FILE *f;

    f = open_memstream(&buf, &size);
    if (f == NULL)
        return false;
    cli_put_printable(f, r->name);
    if (fclose(f) != 0) {
        free(buf);
        return false;
    }
    r->name_text = buf;
    buf = NULL;
    f = open_memstream(&buf, &size);
    if (f == NULL)
        return false;
    put_type_text(f, r->opt);
    if (r->opt->flags & HERALD_OPT_REQUIRED)
        fputs(", required", f);
    if (r->opt->flags & HERALD_OPT_SECRET)
        fputs(", secret", f);
    put_default_text(f, r->opt, r->field);
    if (fclose(f) != 0) {
        free(buf);
        return false;
    }
    r->spec_text = buf;
    return true;
}

/* put_padded - s, then spaces up to width */
static void
put_padded(const char *s, size_t width)
{
    size_t n = strlen(s);

    fputs(s, stdout);
    for (; n < width; n++)
        putchar(' ');
}

/* print_text_module - the header line, then one line per option */
static bool
print_text_module(struct shown *s)
{
    size_t i, name_w = 0, spec_w = 0;

    printf("%s ", s->kind);
    cli_put_printable(stdout, s->mod->name);
    fputs(" (", stdout);
    cli_put_printable(stdout, s->path);
    fputs("): ", stdout);
    cli_put_printable(stdout, s->mod->summary ? s->mod->summary : "");
    putchar('\n');
    for (i = 0; i < s->rows.n; i++) {
        struct row *r = &s->rows.v[i];
        size_t n;

        if (!make_text(r))
            return false;
        n = strlen(r->name_text);
        if (n > name_w && n <= OPTIONS_NAME_WIDTH_MAX)
            name_w = n;
        n = strlen(r->spec_text);
        if (n > spec_w && n <= OPTIONS_SPEC_WIDTH_MAX)
            spec_w = n;
    }
    if (s->rows.n == 0)
        fputs("  (no options)\n", stdout);
    for (i = 0; i < s->rows.n; i++) {
        const struct row *r = &s->rows.v[i];
        const struct herald_option *o = r->opt;

        fputs("  ", stdout);
        put_padded(r->name_text, name_w);
        fputs("  ", stdout);
        put_padded(r->spec_text, spec_w);
        fputs("  ", stdout);
        if (o->help != NULL)
            cli_put_printable(stdout, o->help);
        if (o->type == HERALD_OPT_MODULE) {
            const char *kind = herald_module_kind_name(o->module_kind);

            printf("%sthe module's own options follow its name (herald options %s NAME)",
                   o->help != NULL ? "; " : "", kind ? kind : "");
        }
        putchar('\n');
    }
    return true;
}

/* put_default_json - the default as a JSON value: string, number, bool, array or null */
static void
put_default_json(const struct herald_option *o, const unsigned char *field)
{
    if (field == NULL) {
        fputs("null", stdout);
        return;
    }
    switch (o->type) {
    case HERALD_OPT_STRING: {
        const char *v;

        memcpy(&v, field, sizeof v);
        cli_json_string(stdout, v);
        return;
    }
    case HERALD_OPT_INT:
    case HERALD_OPT_MSEC: {
        int64_t v;

        memcpy(&v, field, sizeof v);
        printf("%" PRId64, v);
        return;
    }
    case HERALD_OPT_BOOL:
        fputs(bool_value(field) ? "true" : "false", stdout);
        return;
    case HERALD_OPT_ENUM:
        cli_json_string(stdout, enum_word(o, field));
        return;
    case HERALD_OPT_MODE: {
        int m;

        memcpy(&m, field, sizeof m);
        if (m >= 0)
            printf("\"0%03o\"", (unsigned)m);
        else
            fputs("null", stdout);
        return;
    }
    case HERALD_OPT_STRLIST: {
        struct herald_strlist l;
        size_t i;

        memcpy(&l, field, sizeof l);
        putchar('[');
        for (i = 0; l.items != NULL && i < l.count; i++) {
            if (i > 0)
                putchar(',');
            cli_json_string(stdout, l.items[i]);
        }
        putchar(']');
        return;
    }
    case HERALD_OPT_GROUP:
    case HERALD_OPT_MODULE:
        break;
    }
    fputs("null", stdout);
}

/* json_type - the "type" of an option in JSON */
static const char *
json_type(enum herald_opt_type type)
{
    switch (type) {
    case HERALD_OPT_STRING:
        return "string";
    case HERALD_OPT_INT:
        return "int";
    case HERALD_OPT_BOOL:
        return "bool";
    case HERALD_OPT_MSEC:
        return "ms";
    case HERALD_OPT_ENUM:
        return "enum";
    case HERALD_OPT_STRLIST:
        return "strlist";
    case HERALD_OPT_MODE:
        return "mode";
    case HERALD_OPT_GROUP:
        return "group";
    case HERALD_OPT_MODULE:
        return "module";
    }
    return "unknown";
}

/* print_json_option - one option object */
static void
print_json_option(const struct row *r)
{
    const struct herald_option *o = r->opt;
    size_t i;

    fputs("{\"name\":", stdout);
    cli_json_string(stdout, r->name);
    fputs(",\"type\":", stdout);
    cli_json_string(stdout, json_type(o->type));
    if (o->type == HERALD_OPT_MODULE) {
        fputs(",\"module_kind\":", stdout);
        cli_json_string(stdout, herald_module_kind_name(o->module_kind));
    }
    printf(",\"required\":%s,\"secret\":%s,\"default\":",
           (o->flags & HERALD_OPT_REQUIRED) ? "true" : "false",
           (o->flags & HERALD_OPT_SECRET) ? "true" : "false");
    put_default_json(o, r->field);
    if (has_range(o))
        printf(",\"min\":%" PRId64 ",\"max\":%" PRId64, o->min, o->max);
    else
        fputs(",\"min\":null,\"max\":null", stdout);
    fputs(",\"choices\":", stdout);
    if (o->type == HERALD_OPT_ENUM && o->choices != NULL) {
        putchar('[');
        for (i = 0; o->choices[i] != NULL; i++) {
            if (i > 0)
                putchar(',');
            cli_json_string(stdout, o->choices[i]);
        }
        putchar(']');
    } else {
        fputs("null", stdout);
    }
    fputs(",\"help\":", stdout);
    cli_json_string(stdout, o->help);
    putchar('}');
}

/* print_json - every module found, as one object */
static void
print_json(const struct shown *shown, size_t count)
{
    size_t i, j;

    fputs("{\"modules\":[", stdout);
    for (i = 0; i < count; i++) {
        const struct shown *s = &shown[i];

        fputs(i ? ",{\"kind\":" : "{\"kind\":", stdout);
        cli_json_string(stdout, s->kind);
        fputs(",\"name\":", stdout);
        cli_json_string(stdout, s->mod->name);
        fputs(",\"path\":", stdout);
        cli_json_string(stdout, s->path);
        fputs(",\"summary\":", stdout);
        cli_json_string(stdout, s->mod->summary);
        fputs(",\"options\":[", stdout);
        for (j = 0; j < s->rows.n; j++) {
            if (j > 0)
                putchar(',');
            print_json_option(&s->rows.v[j]);
        }
        fputs("]}", stdout);
    }
    fputs("]}\n", stdout);
}

/* kind_known - whether word is a module kind */
static bool
kind_known(const char *word)
{
    size_t k;

    for (k = 0; k < KIND_COUNT; k++)
        if (strcmp(kind_names[k], word) == 0)
            return true;
    return false;
}

/* not_found - no module NAME of any kind asked for: each lookup's reason; EX_UNAVAILABLE */
static int
not_found(const char *name, const struct herald_diag *diags, size_t count, bool one_kind)
{
    size_t i;

    if (one_kind) {
        fprintf(stderr, "herald options: %s\n", diags[0].text[0] ? diags[0].text : "not found");
        return EX_UNAVAILABLE;
    }
    fputs("herald options: no device, route, transport or queue module \"", stderr);
    cli_put_printable(stderr, name);
    fputs("\":\n", stderr);
    for (i = 0; i < count; i++)
        fprintf(stderr, "  %s\n", diags[i].text[0] ? diags[i].text : "not found");
    return EX_UNAVAILABLE;
}

/* show - look NAME up under each kind, print what was found */
static int
show(struct herald_context *ctx, const char *kind, const char *name, bool json)
{
    struct shown shown[KIND_COUNT];
    struct herald_diag missing[KIND_COUNT];
    size_t i, found = 0, nmissing = 0;
    int rc = EX_OK;

    memset(shown, 0, sizeof shown);
    for (i = 0; i < KIND_COUNT; i++) {
        struct herald_diag d;
        const struct herald_module *mod = NULL;
        const char *path = NULL;
        herald_status st;

        if (kind != NULL && strcmp(kind, kind_names[i]) != 0)
            continue;
        memset(&d, 0, sizeof d);
        st = herald_module_lookup(ctx, kind_names[i], name, &mod, &path, &d);
        if (st == HERALD_E_NOTFOUND) {
            missing[nmissing++] = d;
            continue;
        }
        if (st != HERALD_OK) {
            /* A refused module file: say why, show the others, fail. */
            cli_print_diag(&d, name);
            if (rc == EX_OK)
                rc = cli_exit_code(st);
            continue;
        }
        shown[found].kind = kind_names[i];
        shown[found].mod = mod;
        shown[found].path = path;
        if (!build_rows(&shown[found])) {
            fprintf(stderr, "herald options: out of memory\n");
            rc = EX_SOFTWARE;
            found++;
            goto out;
        }
        found++;
    }
    if (found == 0) {
        if (rc == EX_OK)
            rc = not_found(name, missing, nmissing, kind != NULL);
        goto out;
    }
    if (json) {
        print_json(shown, found);
    } else {
        for (i = 0; i < found; i++) {
            if (i > 0)
                putchar('\n');
            if (!print_text_module(&shown[i])) {
                fprintf(stderr, "herald options: out of memory\n");
                rc = EX_SOFTWARE;
                goto out;
            }
        }
    }
out:
    for (i = 0; i < found; i++)
        free_shown(&shown[i]);
    return rc;
}

/* cmd_options - the options of one module, from its option table */
int
cmd_options(int argc, char **argv, const struct cli_globals *g)
{
    static const struct option longopts[] = {
        { "help", no_argument, NULL, 'h' },
        { "json", no_argument, NULL, 'j' },
        { NULL, 0, NULL, 0 },
    };
    struct herald_context *ctx = NULL;
    const char *kind = NULL, *name;
    bool json = false;
    int c, rc;

    opterr = 0;
    /* Permuting: "herald options smtp --json" works too. */
    while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
        if (c == 'h') {
            options_usage(stdout);
            return EX_OK;
        } else if (c == 'j') {
            json = true;
        } else {
            return cli_usage_error("options", "unknown option '%s'", argv[optind - 1]);
        }
    }
    if (optind >= argc)
        return cli_usage_error("options", "no module NAME given");
    if (argc - optind > 2)
        return cli_usage_error("options", "unexpected argument '%s'", argv[optind + 2]);
    if (argc - optind == 2) {
        kind = argv[optind];
        if (!kind_known(kind))
            return cli_usage_error("options", "unknown KIND '%s' (device, route, transport or queue)",
                                   kind);
    }
    name = argv[argc - 1];
    /* "herald options route": the NAME was forgotten; a module called "route"
     * is still shown by "herald options route route". */
    if (kind == NULL && kind_known(name))
        return cli_usage_error("options", "no module NAME given after KIND '%s'", name);
    if (*name == '\0')
        return cli_usage_error("options", "empty module NAME");
    rc = cli_open(g, &ctx);
    if (rc != EX_OK)
        return rc;
    rc = show(ctx, kind, name, json);
    herald_close(&ctx);
    if (fflush(stdout) != 0 && rc == EX_OK)
        return EX_IOERR;
    return rc;
}
