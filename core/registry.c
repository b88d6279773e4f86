/*
 * registry.c - module loader and registry
 *
 * Loads KIND-NAME.so files from the configured plugin directories (and takes
 * modules linked into the program), checks each one before anything of it is
 * used, and finds modules by kind and name.  The contract is in registry.h and
 * herald/module.h; every refusal is listed in docs/MODULE-ABI.md.
 *
 * Errors: HERALD_E_MODULE with diag->where = the module's path (or origin) and
 * diag->text the reason; HERALD_E_NOTFOUND when no directory holds the file;
 * HERALD_E_NOMEM, HERALD_E_LIMIT, HERALD_E_INVAL as usual.
 *
 * Ownership: the registry owns each loaded module's dlopen handle and path
 * until registry_free(); refused files are dlclose'd at once.
 */
#include <dirent.h>
#include <dlfcn.h>
#include <errno.h>
#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "module_abi.h"
#include "registry.h"

#define REG_MAX_DIRS      32     /* as many as config.c splits from a path */
#define REG_MAX_MODULES   1024   /* far more than any installation has */
#define REG_MAX_DIR_FILES 4096   /* entries read from one directory by load_all */
#define REG_NAME_MAX      32     /* module names: [a-z0-9-], 1..32 */
#define REG_OPT_MAX       256    /* entries in one option table, HERALD_OPT_END included */
#define REG_OPT_DEPTH     8      /* nesting of GROUP tables */
#define REG_PATH_MAX      PATH_MAX

/* The smallest descriptor this core accepts: ABI 1.0 ends with ops.  A later
 * minor appends members; the core reads them only when struct_size covers them. */
#define REG_MODULE_MIN_SIZE (offsetof(struct herald_module, ops) + sizeof(const void *))

struct reg_entry {
    const struct herald_module *mod;
    char *path;                  /* file path, or the origin given to registry_add */
    void *handle;                /* NULL for a linked-in module */
};

struct registry {
    char **dirs;
    size_t dir_count;
    struct reg_entry *entries;
    size_t count, cap;
};

/* registry_new - an empty registry with no plugin directory */
herald_status
registry_new(struct registry **reg_out)
{
    struct registry *reg;

    if (reg_out == NULL)
        return HERALD_E_INVAL;
    reg = calloc(1, sizeof *reg);
    if (reg == NULL)
        return HERALD_E_NOMEM;
    *reg_out = reg;
    return HERALD_OK;
}

/* free_dirs - release a directory list */
static void
free_dirs(char **dirs, size_t count)
{
    size_t i;

    for (i = 0; i < count; i++)
        free(dirs[i]);
    free(dirs);
}

/* registry_free - unload every module (last loaded first) and free the registry */
void
registry_free(struct registry **regp)
{
    struct registry *reg;
    size_t i;

    if (regp == NULL || *regp == NULL)
        return;
    reg = *regp;
    /* Reverse order: a module loaded later may point into an earlier one. */
    for (i = reg->count; i-- > 0;) {
        if (reg->entries[i].handle != NULL)
            dlclose(reg->entries[i].handle);
        free(reg->entries[i].path);
    }
    free(reg->entries);
    free_dirs(reg->dirs, reg->dir_count);
    free(reg);
    *regp = NULL;
}

/* dir_copy - a copy of dir without trailing slashes ("/" stays "/") */
static char *
dir_copy(const char *dir)
{
    size_t n = strlen(dir);
    char *c;

    while (n > 1 && dir[n - 1] == '/')
        n--;
    c = malloc(n + 1);
    if (c == NULL)
        return NULL;
    memcpy(c, dir, n);
    c[n] = '\0';
    return c;
}

/* registry_set_dirs - replace the search list; every entry must be absolute */
herald_status
registry_set_dirs(struct registry *reg, const char *const *dirs, size_t count,
                  struct herald_diag *diag)
{
    char **copy;
    size_t i, j, n = 0;

    if (reg == NULL || (dirs == NULL && count > 0))
        return herald_diag_set(diag, HERALD_E_INVAL, "", "registry_set_dirs: bad arguments");
    if (count > REG_MAX_DIRS)
        return herald_diag_set(diag, HERALD_E_LIMIT, "", "more than %d plugin directories",
                               REG_MAX_DIRS);
    for (i = 0; i < count; i++) {
        if (dirs[i] == NULL)
            return herald_diag_set(diag, HERALD_E_INVAL, "", "plugin directory %zu is NULL", i);
        /* A relative directory would make the module depend on the cwd. */
        if (dirs[i][0] != '/')
            return herald_diag_set(diag, HERALD_E_MODULE, dirs[i],
                                   "plugin directory is not an absolute path");
        if (strlen(dirs[i]) >= REG_PATH_MAX - REG_NAME_MAX - 16)
            return herald_diag_set(diag, HERALD_E_MODULE, dirs[i],
                                   "plugin directory path is too long");
    }
    copy = calloc(count ? count : 1, sizeof *copy);
    if (copy == NULL)
        return herald_diag_set(diag, HERALD_E_NOMEM, "", "out of memory");
    for (i = 0; i < count; i++) {
        char *c = dir_copy(dirs[i]);

        if (c == NULL) {
            free_dirs(copy, n);
            return herald_diag_set(diag, HERALD_E_NOMEM, "", "out of memory");
        }
        /* The same directory twice would make every module in it a duplicate. */
        for (j = 0; j < n && strcmp(copy[j], c) != 0; j++)
            ;
        if (j < n)
            free(c);
        else
            copy[n++] = c;
    }
    free_dirs(reg->dirs, reg->dir_count);
    reg->dirs = copy;
    reg->dir_count = n;
    return HERALD_OK;
}

/* name_ok - module names: [a-z0-9-], 1..32 characters; reads at most 33 bytes */
static bool
name_ok(const char *name)
{
    size_t n;

    if (name == NULL)
        return false;
    for (n = 0; n <= REG_NAME_MAX && name[n] != '\0'; n++) {
        char c = name[n];

        if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-'))
            return false;
    }
    return n >= 1 && n <= REG_NAME_MAX;
}

/* kind_of_word - the kind called word (len bytes), or 0 */
static unsigned
kind_of_word(const char *word, size_t len)
{
    unsigned k;

    for (k = HERALD_KIND_DEVICE; k <= HERALD_KIND_QUEUE; k++) {
        const char *kn = herald_module_kind_name(k);

        if (kn != NULL && strlen(kn) == len && memcmp(kn, word, len) == 0)
            return k;
    }
    return 0;
}

/* parse_file_name - kind and name promised by ".../KIND-NAME.so"; false if not of that form */
static bool
parse_file_name(const char *path, unsigned *kind_out, char name_out[REG_NAME_MAX + 1])
{
    const char *base = strrchr(path, '/');
    const char *dash;
    size_t len, nlen;
    unsigned kind;

    base = base ? base + 1 : path;
    len = strlen(base);
    if (len < 4 || strcmp(base + len - 3, ".so") != 0)
        return false;
    dash = memchr(base, '-', len - 3);
    if (dash == NULL)
        return false;
    kind = kind_of_word(base, (size_t)(dash - base));
    nlen = (size_t)(base + len - 3 - (dash + 1));
    if (kind == 0 || nlen < 1 || nlen > REG_NAME_MAX)
        return false;
    memcpy(name_out, dash + 1, nlen);
    name_out[nlen] = '\0';
    if (!name_ok(name_out))
        return false;
    *kind_out = kind;
    return true;
}

/* check_options - a module's option table: it ends, names are unique, GROUP has
 * sub (checked in turn), MODULE names its key and a known kind */
static herald_status
check_options(const struct herald_option *table, const char *where, const char *prefix,
              int depth, struct herald_diag *diag)
{
    size_t i, j;

    if (depth > REG_OPT_DEPTH)
        return herald_diag_set(diag, HERALD_E_MODULE, where,
                               "option table: groups nested deeper than %d", REG_OPT_DEPTH);
    /* The table carries no length: walk to HERALD_OPT_END, but not forever. */
    for (i = 0; i < REG_OPT_MAX && table[i].name != NULL; i++) {
        const struct herald_option *o = &table[i];

        if (o->name[0] == '\0')
            return herald_diag_set(diag, HERALD_E_MODULE, where,
                                   "option table: entry %zu%s%s has an empty name", i,
                                   *prefix ? " in group " : "", prefix);
        for (j = 0; j < i; j++)
            if (strcmp(table[j].name, o->name) == 0)
                return herald_diag_set(diag, HERALD_E_MODULE, where,
                                       "option table: option \"%s%s\" appears twice", prefix,
                                       o->name);
        switch (o->type) {
        case HERALD_OPT_STRING: case HERALD_OPT_BOOL: case HERALD_OPT_STRLIST:
        case HERALD_OPT_MODE:
            break;
        case HERALD_OPT_INT: case HERALD_OPT_MSEC:
            if (o->min > o->max)
                return herald_diag_set(diag, HERALD_E_MODULE, where,
                                       "option table: option \"%s%s\" has min > max", prefix,
                                       o->name);
            break;
        case HERALD_OPT_ENUM:
            if (o->choices == NULL || o->choices[0] == NULL)
                return herald_diag_set(diag, HERALD_E_MODULE, where,
                                       "option table: enum option \"%s%s\" has no choices",
                                       prefix, o->name);
            break;
        case HERALD_OPT_GROUP: {
            char sub[128];
            herald_status st;

            if (o->sub == NULL)
                return herald_diag_set(diag, HERALD_E_MODULE, where,
                                       "option table: group option \"%s%s\" has no sub table",
                                       prefix, o->name);
            snprintf(sub, sizeof sub, "%s%s.", prefix, o->name);
            st = check_options(o->sub, where, sub, depth + 1, diag);
            if (st != HERALD_OK)
                return st;
            break;
        }
        case HERALD_OPT_MODULE:
            if (o->module_key == NULL || o->module_key[0] == '\0')
                return herald_diag_set(diag, HERALD_E_MODULE, where,
                                       "option table: module option \"%s%s\" names no key",
                                       prefix, o->name);
            if (herald_module_kind_name(o->module_kind) == NULL)
                return herald_diag_set(diag, HERALD_E_MODULE, where,
                                       "option table: module option \"%s%s\" has unknown "
                                       "kind %u", prefix, o->name, o->module_kind);
            break;
        default:
            return herald_diag_set(diag, HERALD_E_MODULE, where,
                                   "option table: option \"%s%s\" has unknown type %d", prefix,
                                   o->name, (int)o->type);
        }
    }
    if (i == REG_OPT_MAX)
        return herald_diag_set(diag, HERALD_E_MODULE, where,
                               "option table: no HERALD_OPT_END within %d entries%s%s",
                               REG_OPT_MAX, *prefix ? " of group " : "", prefix);
    return HERALD_OK;
}

/* check_descriptor - everything about a descriptor that does not depend on a file */
static herald_status
check_descriptor(const struct herald_module *mod, const char *where, struct herald_diag *diag)
{
    /* Only magic and the ABI version may be read before they are known good. */
    if (mod->magic != HERALD_MODULE_MAGIC)
        return herald_diag_set(diag, HERALD_E_MODULE, where,
                               "wrong magic 0x%08x (expected 0x%08x): not a Herald module "
                               "descriptor", (unsigned)mod->magic, HERALD_MODULE_MAGIC);
    if (mod->abi_major != HERALD_ABI_MAJOR)
        return herald_diag_set(diag, HERALD_E_MODULE, where,
                               "built for module ABI %u.%u, this core has %u.%u",
                               (unsigned)mod->abi_major, (unsigned)mod->abi_minor,
                               HERALD_ABI_MAJOR, HERALD_ABI_MINOR);
    if (mod->abi_minor > HERALD_ABI_MINOR)
        return herald_diag_set(diag, HERALD_E_MODULE, where,
                               "built for module ABI %u.%u, newer than this core's %u.%u",
                               (unsigned)mod->abi_major, (unsigned)mod->abi_minor,
                               HERALD_ABI_MAJOR, HERALD_ABI_MINOR);
    if (mod->struct_size < REG_MODULE_MIN_SIZE)
        return herald_diag_set(diag, HERALD_E_MODULE, where,
                               "descriptor too small: %u bytes, module ABI %u.%u needs at "
                               "least %zu", (unsigned)mod->struct_size, HERALD_ABI_MAJOR,
                               HERALD_ABI_MINOR, REG_MODULE_MIN_SIZE);
    if (herald_module_kind_name(mod->kind) == NULL)
        return herald_diag_set(diag, HERALD_E_MODULE, where, "unknown module kind %u",
                               (unsigned)mod->kind);
    if (!name_ok(mod->name))
        return herald_diag_set(diag, HERALD_E_MODULE, where,
                               "bad module name \"%.32s\": use [a-z0-9-], 1..%d characters",
                               mod->name ? mod->name : "(null)", REG_NAME_MAX);
    if (mod->ops == NULL)
        return herald_diag_set(diag, HERALD_E_MODULE, where,
                               "%s module \"%s\" has no operations table",
                               herald_module_kind_name(mod->kind), mod->name);
    if (mod->options != NULL)
        return check_options(mod->options, where, "", 0, diag);
    return HERALD_OK;
}

/* lookup - the entry for kind/name, or NULL */
static const struct reg_entry *
lookup(const struct registry *reg, unsigned kind, const char *name)
{
    size_t i;

    for (i = 0; i < reg->count; i++)
        if (reg->entries[i].mod->kind == kind && strcmp(reg->entries[i].mod->name, name) == 0)
            return &reg->entries[i];
    return NULL;
}

/* check_unique - refuse a second module of the same kind and name, naming both */
static herald_status
check_unique(const struct registry *reg, const struct herald_module *mod, const char *where,
             struct herald_diag *diag)
{
    const struct reg_entry *e = lookup(reg, mod->kind, mod->name);

    if (e == NULL)
        return HERALD_OK;
    return herald_diag_set(diag, HERALD_E_MODULE, where,
                           "duplicate %s module \"%s\": already loaded from %s",
                           herald_module_kind_name(mod->kind), mod->name, e->path);
}

/* add_entry - remember a module that passed every check; path is copied */
static herald_status
add_entry(struct registry *reg, const struct herald_module *mod, const char *path,
          void *handle, struct herald_diag *diag)
{
    struct reg_entry *e;
    char *copy;

    if (reg->count == REG_MAX_MODULES)
        return herald_diag_set(diag, HERALD_E_LIMIT, path, "more than %d modules",
                               REG_MAX_MODULES);
    if (reg->count == reg->cap) {
        size_t cap = reg->cap ? reg->cap * 2 : 8;

        e = realloc(reg->entries, cap * sizeof *e);
        if (e == NULL)
            return herald_diag_set(diag, HERALD_E_NOMEM, path, "out of memory");
        reg->entries = e;
        reg->cap = cap;
    }
    copy = strdup(path);
    if (copy == NULL)
        return herald_diag_set(diag, HERALD_E_NOMEM, path, "out of memory");
    e = &reg->entries[reg->count++];
    e->mod = mod;
    e->path = copy;
    e->handle = handle;
    return HERALD_OK;
}

/* registry_add - a module linked into the program, with every non-file check */
herald_status
registry_add(struct registry *reg, const struct herald_module *mod, const char *origin,
             struct herald_diag *diag)
{
    herald_status st;

    if (reg == NULL || mod == NULL)
        return herald_diag_set(diag, HERALD_E_INVAL, origin ? origin : "",
                               "registry_add: no registry or no module");
    if (origin == NULL)
        origin = "(linked in)";
    st = check_descriptor(mod, origin, diag);
    if (st == HERALD_OK)
        st = module_ops_check(mod, origin, diag);
    if (st == HERALD_OK)
        st = check_unique(reg, mod, origin, diag);
    if (st == HERALD_OK)
        st = add_entry(reg, mod, origin, NULL, diag);
    return st;
}

/* check_owner_mode - owned by root or us, not writable by group or others */
static herald_status
check_owner_mode(const struct stat *sb, const char *path, const char *what,
                 const char *what_path, struct herald_diag *diag)
{
    /* Whoever can write the file or its directory can run code as us. */
    if (sb->st_uid != 0 && sb->st_uid != geteuid())
        return herald_diag_set(diag, HERALD_E_MODULE, path,
                               "%s%s is owned by uid %u, not by root or the effective user "
                               "(uid %u)", what, what_path, (unsigned)sb->st_uid,
                               (unsigned)geteuid());
    if ((sb->st_mode & (S_IWGRP | S_IWOTH)) != 0)
        return herald_diag_set(diag, HERALD_E_MODULE, path,
                               "%s%s is writable by group or others (mode %04o)", what,
                               what_path, (unsigned)(sb->st_mode & 07777));
    return HERALD_OK;
}

/* check_file - the file and its directory are safe to load from */
static herald_status
check_file(const char *path, struct herald_diag *diag)
{
    char dir[REG_PATH_MAX];
    const char *slash = strrchr(path, '/');
    size_t dlen = slash && slash != path ? (size_t)(slash - path) : 1;
    struct stat sb;
    herald_status st;

    if (stat(path, &sb) != 0)
        return herald_diag_set(diag, HERALD_E_MODULE, path, "cannot stat: %s",
                               strerror(errno));
    if (!S_ISREG(sb.st_mode))
        return herald_diag_set(diag, HERALD_E_MODULE, path, "not a regular file");
    st = check_owner_mode(&sb, path, "the file", "", diag);
    if (st != HERALD_OK)
        return st;
    if (dlen >= sizeof dir)
        return herald_diag_set(diag, HERALD_E_MODULE, path, "path is too long");
    memcpy(dir, path, dlen);
    dir[dlen] = '\0';
    if (stat(dir, &sb) != 0)
        return herald_diag_set(diag, HERALD_E_MODULE, path, "cannot stat its directory: %s",
                               strerror(errno));
    return check_owner_mode(&sb, path, "its directory ", dir, diag);
}

/* open_descriptor - dlopen path and find its descriptor; handle_out only on success */
static herald_status
open_descriptor(const char *path, void **handle_out, const struct herald_module **mod_out,
                struct herald_diag *diag)
{
    const struct herald_module *mod;
    const char *err;
    void *handle;

    /* RTLD_NOW: an unresolved symbol fails here, not halfway through a delivery. */
    handle = dlopen(path, RTLD_NOW | RTLD_LOCAL);
    if (handle == NULL) {
        err = dlerror();
        return herald_diag_set(diag, HERALD_E_MODULE, path, "cannot load: %s",
                               err ? err : "dlopen failed");
    }
    (void)dlerror();     /* a stale error would be taken for this lookup's */
    mod = dlsym(handle, HERALD_MODULE_SYMBOL);
    err = dlerror();
    if (err != NULL || mod == NULL) {
        dlclose(handle);
        return herald_diag_set(diag, HERALD_E_MODULE, path,
                               "no symbol \"%s\": not a Herald module", HERALD_MODULE_SYMBOL);
    }
    *handle_out = handle;
    *mod_out = mod;
    return HERALD_OK;
}

/* entry_by_path - the entry loaded from exactly this path, or NULL */
static const struct reg_entry *
entry_by_path(const struct registry *reg, const char *path)
{
    size_t i;

    for (i = 0; i < reg->count; i++)
        if (reg->entries[i].handle != NULL && strcmp(reg->entries[i].path, path) == 0)
            return &reg->entries[i];
    return NULL;
}

/* registry_load_file - load one module file by absolute path, with every check */
herald_status
registry_load_file(struct registry *reg, const char *path,
                   const struct herald_module **mod_out, struct herald_diag *diag)
{
    const struct herald_module *mod = NULL;
    const struct reg_entry *e;
    char fname[REG_NAME_MAX + 1];
    unsigned fkind = 0;
    void *handle = NULL;
    herald_status st;

    if (reg == NULL || path == NULL)
        return herald_diag_set(diag, HERALD_E_INVAL, path ? path : "",
                               "registry_load_file: no registry or no path");
    if (path[0] != '/')
        return herald_diag_set(diag, HERALD_E_MODULE, path,
                               "module path is not absolute");
    if (strlen(path) >= REG_PATH_MAX)
        return herald_diag_set(diag, HERALD_E_MODULE, "", "module path is too long");
    e = entry_by_path(reg, path);
    if (e != NULL) {            /* the same file again: nothing new to load */
        if (mod_out != NULL)
            *mod_out = e->mod;
        return HERALD_OK;
    }
    /* Refuse before dlopen runs any of the file's code. */
    if (!parse_file_name(path, &fkind, fname))
        return herald_diag_set(diag, HERALD_E_MODULE, path,
                               "file name is not KIND-NAME.so (KIND device, route, transport or "
                               "queue;"
                               " NAME [a-z0-9-], 1..%d characters)", REG_NAME_MAX);
    st = check_file(path, diag);
    if (st != HERALD_OK)
        return st;
    st = open_descriptor(path, &handle, &mod, diag);
    if (st != HERALD_OK)
        return st;
    st = check_descriptor(mod, path, diag);
    if (st == HERALD_OK && (mod->kind != fkind || strcmp(mod->name, fname) != 0))
        st = herald_diag_set(diag, HERALD_E_MODULE, path,
                             "descriptor says %s \"%s\", the file name says %s \"%s\"",
                             herald_module_kind_name(mod->kind), mod->name,
                             herald_module_kind_name(fkind), fname);
    /* Only now that the kind is the promised one: its table's rule applies. */
    if (st == HERALD_OK)
        st = module_ops_check(mod, path, diag);
    if (st == HERALD_OK)
        st = check_unique(reg, mod, path, diag);
    if (st == HERALD_OK)
        st = add_entry(reg, mod, path, handle, diag);
    if (st != HERALD_OK) {
        dlclose(handle);
        return st;
    }
    if (mod_out != NULL)
        *mod_out = mod;
    return HERALD_OK;
}

/* dirs_text - "/a, /b" for a not-found message */
static void
dirs_text(const struct registry *reg, char *buf, size_t size)
{
    size_t i, used = 0;

    buf[0] = '\0';
    if (reg->dir_count == 0) {
        snprintf(buf, size, "(no plugin directory configured)");
        return;
    }
    for (i = 0; i < reg->dir_count && used < size; i++) {
        int n = snprintf(buf + used, size - used, "%s%s", i ? ", " : "", reg->dirs[i]);

        used += n > 0 ? (size_t)n : 0;
    }
}

/* registry_find - kind/name, loaded from the plugin directories on first use */
herald_status
registry_find(struct registry *reg, unsigned kind, const char *name,
              const struct herald_module **mod_out, struct herald_diag *diag)
{
    char path[REG_PATH_MAX], first[REG_PATH_MAX], dirs[400];
    const char *kname = herald_module_kind_name(kind);
    const struct herald_module *mod;
    const struct reg_entry *e;
    size_t i, found = 0;
    herald_status st;

    if (reg == NULL || mod_out == NULL || kname == NULL || name == NULL)
        return herald_diag_set(diag, HERALD_E_INVAL, "", "registry_find: bad arguments");
    /* A name is never allowed to become "../x" in a path. */
    if (!name_ok(name))
        return herald_diag_set(diag, HERALD_E_NOTFOUND, "",
                               "no %s module can be called \"%.32s\": names are [a-z0-9-], "
                               "1..%d characters", kname, name, REG_NAME_MAX);
    e = lookup(reg, kind, name);
    if (e != NULL) {
        *mod_out = e->mod;
        return HERALD_OK;
    }
    first[0] = '\0';
    for (i = 0; i < reg->dir_count; i++) {
        struct stat sb;

        snprintf(path, sizeof path, "%s/%s-%s.so", reg->dirs[i], kname, name);
        if (stat(path, &sb) != 0 && (errno == ENOENT || errno == ENOTDIR))
            continue;
        /* Two candidates: which one wins must not depend on the search order. */
        if (found++ > 0)
            return herald_diag_set(diag, HERALD_E_MODULE, first,
                                   "duplicate %s module \"%s\": also present as %s", kname,
                                   name, path);
        snprintf(first, sizeof first, "%s", path);
    }
    if (found == 0) {
        dirs_text(reg, dirs, sizeof dirs);
        snprintf(path, sizeof path, "%s-%s.so", kname, name);
        return herald_diag_set(diag, HERALD_E_NOTFOUND, path, "%s not found in %s", path,
                               dirs);
    }
    st = registry_load_file(reg, first, &mod, diag);
    if (st != HERALD_OK)
        return st;
    *mod_out = mod;
    return HERALD_OK;
}

/* registry_module_path - where mod came from; NULL if not registered */
const char *
registry_module_path(const struct registry *reg, const struct herald_module *mod)
{
    size_t i;

    if (reg == NULL || mod == NULL)
        return NULL;
    for (i = 0; i < reg->count; i++)
        if (reg->entries[i].mod == mod)
            return reg->entries[i].path;
    return NULL;
}

/* registry_count - number of registered modules */
size_t
registry_count(const struct registry *reg)
{
    return reg ? reg->count : 0;
}

/* registry_at - the index'th module in load order, or NULL */
const struct herald_module *
registry_at(const struct registry *reg, size_t index)
{
    return reg && index < reg->count ? reg->entries[index].mod : NULL;
}

/* cmp_names - qsort: file names in byte order, for a stable listing */
static int
cmp_names(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* list_modules - the *.so names in dir, sorted; names_out/count_out only on success */
static herald_status
list_modules(const char *dir, char ***names_out, size_t *count_out, struct herald_diag *diag)
{
    DIR *d = opendir(dir);
    struct dirent *de;
    char **names = NULL;
    size_t n = 0, cap = 0, seen = 0;
    herald_status st = HERALD_OK;

    if (d == NULL)
        return herald_diag_set(diag, errno == ENOENT ? HERALD_E_NOTFOUND : HERALD_E_IO, dir,
                               "cannot read plugin directory: %s", strerror(errno));
    while ((de = readdir(d)) != NULL) {
        size_t len = strlen(de->d_name);

        if (++seen > REG_MAX_DIR_FILES) {
            st = herald_diag_set(diag, HERALD_E_LIMIT, dir, "more than %d directory entries",
                                 REG_MAX_DIR_FILES);
            break;
        }
        if (len < 4 || strcmp(de->d_name + len - 3, ".so") != 0)
            continue;
        if (n == cap) {
            char **grown = realloc(names, (cap ? cap * 2 : 16) * sizeof *names);

            if (grown == NULL) {
                st = herald_diag_set(diag, HERALD_E_NOMEM, dir, "out of memory");
                break;
            }
            names = grown;
            cap = cap ? cap * 2 : 16;
        }
        names[n] = strdup(de->d_name);
        if (names[n] == NULL) {
            st = herald_diag_set(diag, HERALD_E_NOMEM, dir, "out of memory");
            break;
        }
        n++;
    }
    closedir(d);
    if (st != HERALD_OK) {
        free_dirs(names, n);
        return st;
    }
    if (n > 0)
        qsort(names, n, sizeof *names, cmp_names);
    *names_out = names;
    *count_out = n;
    return HERALD_OK;
}

/* registry_load_all - load every module file in the plugin directories, reporting each refusal */
herald_status
registry_load_all(struct registry *reg, void (*fn)(void *arg, const struct herald_diag *diag),
                  void *arg)
{
    herald_status first = HERALD_OK;
    struct herald_diag d;
    size_t i, j;

    if (reg == NULL)
        return HERALD_E_INVAL;
    for (i = 0; i < reg->dir_count; i++) {
        char **names = NULL;
        size_t n = 0;
        herald_status st;

        memset(&d, 0, sizeof d);
        st = list_modules(reg->dirs[i], &names, &n, &d);
        if (st != HERALD_OK) {
            if (fn != NULL)
                fn(arg, &d);
            first = first != HERALD_OK ? first : st;
            continue;
        }
        for (j = 0; j < n; j++) {
            char path[REG_PATH_MAX];

            snprintf(path, sizeof path, "%s/%s", reg->dirs[i], names[j]);
            memset(&d, 0, sizeof d);
            st = registry_load_file(reg, path, NULL, &d);
            if (st != HERALD_OK) {
                if (fn != NULL)
                    fn(arg, &d);
                first = first != HERALD_OK ? first : st;
            }
        }
        free_dirs(names, n);
    }
    return first;
}
