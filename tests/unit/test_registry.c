/*
 * test_registry.c - CUnit tests of the module loader and registry
 *
 * Every case builds a fresh private directory (mkdtemp, 0700), copies in the
 * test modules it needs from $HERALD_TEST_MODULES (tests/modules/.libs), sets
 * the permissions it wants, and checks the status and both halves of the
 * diag.  Exit: 0 pass, 1 a test failed, 99 the harness could not start.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <CUnit/Basic.h>
#include <herald/device.h>
#include <herald/route.h>
#include <herald/transport.h>
#include "env.h"
#include "registry.h"
#include "test_main.h"

#define TDIR_MAX 4          /* private directories one case may use */

static const char *modsrc;  /* $HERALD_TEST_MODULES */

struct tdir {
    char path[128];
};

static struct tdir dirs[TDIR_MAX];
static size_t ndirs;

/* tdir_new - a fresh 0700 directory, removed by tdir_cleanup; NULL on failure */
static const char *
tdir_new(void)
{
    if (ndirs == TDIR_MAX)
        return NULL;
    snprintf(dirs[ndirs].path, sizeof dirs[ndirs].path, "/tmp/herald-reg-XXXXXX");
    if (mkdtemp(dirs[ndirs].path) == NULL)
        return NULL;
    return dirs[ndirs++].path;
}

/* remove_tree - remove dir and what the tests put in it (one level of subdirectories) */
static void
remove_tree(const char *dir, int depth)
{
    DIR *d = opendir(dir);
    struct dirent *de;
    char p[PATH_MAX];
    int n = 0;

    if (d != NULL) {
        while ((de = readdir(d)) != NULL && n++ < 1000) {
            if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
                continue;
            snprintf(p, sizeof p, "%s/%s", dir, de->d_name);
            if (unlink(p) != 0 && depth < 1)
                remove_tree(p, depth + 1);
        }
        closedir(d);
    }
    rmdir(dir);
}

/* tdir_cleanup - CUnit teardown: remove every directory made by the case */
static void
tdir_cleanup(void)
{
    while (ndirs > 0) {
        ndirs--;
        chmod(dirs[ndirs].path, 0700);
        remove_tree(dirs[ndirs].path, 0);
    }
}

/* join - dir/name into buf */
static const char *
join(char *buf, size_t size, const char *dir, const char *name)
{
    snprintf(buf, size, "%s/%s", dir, name);
    return buf;
}

/* copy_module - copy $HERALD_TEST_MODULES/src to dir/dst with mode 0644 */
static int
copy_module(const char *dir, const char *src, const char *dst)
{
    char from[PATH_MAX], to[PATH_MAX], buf[8192];
    int in, out, ok = 0;
    ssize_t n;
    int rounds = 0;

    join(from, sizeof from, modsrc, src);
    join(to, sizeof to, dir, dst);
    in = open(from, O_RDONLY);
    if (in < 0)
        return -1;
    out = open(to, O_WRONLY | O_CREAT | O_EXCL, 0644);
    if (out < 0) {
        close(in);
        return -1;
    }
    /* Bounded: a test module is far smaller than 64 MB. */
    while ((n = read(in, buf, sizeof buf)) > 0 && rounds++ < 8192) {
        if (write(out, buf, (size_t)n) != n) {
            ok = -1;
            break;
        }
    }
    if (n < 0 || fchmod(out, 0644) != 0)
        ok = -1;
    close(in);
    if (close(out) != 0)
        ok = -1;
    return ok;
}

/* contains - haystack holds needle (printed when not, to make failures readable) */
static int
contains(const char *haystack, const char *needle)
{
    if (strstr(haystack, needle) != NULL)
        return 1;
    fprintf(stderr, "  expected \"%s\" in \"%s\"\n", needle, haystack);
    return 0;
}

/* reg_with - a registry searching the given directories (NULL-terminated) */
static struct registry *
reg_with(const char *first, ...)
{
    const char *list[TDIR_MAX];
    struct registry *reg = NULL;
    struct herald_diag d;
    size_t n = 0;
    va_list ap;

    va_start(ap, first);
    for (const char *s = first; s != NULL && n < TDIR_MAX; s = va_arg(ap, const char *))
        list[n++] = s;
    va_end(ap);
    if (registry_new(&reg) != HERALD_OK)
        return NULL;
    if (registry_set_dirs(reg, list, n, &d) != HERALD_OK) {
        registry_free(&reg);
        return NULL;
    }
    return reg;
}

/* refused_file - copy src as dst into a fresh dir, find kind/name, expect a refusal
 * whose where is the copy and whose text holds want1 and want2 */
static void
refused_file(const char *src, const char *dst, unsigned kind, const char *name,
             const char *want1, const char *want2)
{
    const char *dir = tdir_new();
    const struct herald_module *mod = NULL;
    struct registry *reg;
    struct herald_diag d;
    char path[PATH_MAX];

    CU_ASSERT_FATAL(dir != NULL);
    CU_ASSERT_FATAL(copy_module(dir, src, dst) == 0);
    reg = reg_with(dir, NULL);
    CU_ASSERT_FATAL(reg != NULL);
    memset(&d, 0, sizeof d);
    CU_ASSERT_EQUAL(registry_find(reg, kind, name, &mod, &d), HERALD_E_MODULE);
    CU_ASSERT_PTR_NULL(mod);
    CU_ASSERT_STRING_EQUAL(d.where, join(path, sizeof path, dir, dst));
    CU_ASSERT(contains(d.text, want1));
    if (want2 != NULL)
        CU_ASSERT(contains(d.text, want2));
    CU_ASSERT_EQUAL(registry_count(reg), 0);
    registry_free(&reg);
    CU_ASSERT_PTR_NULL(reg);
}

/* test_good - the good module loads, is found by kind+name, and only once */
static void
test_good(void)
{
    const char *dir = tdir_new();
    const struct herald_module *mod = NULL, *again = NULL;
    struct registry *reg;
    struct herald_diag d;
    char path[PATH_MAX];

    CU_ASSERT_FATAL(dir != NULL);
    CU_ASSERT_FATAL(copy_module(dir, "device-good.so", "device-good.so") == 0);
    reg = reg_with(dir, NULL);
    CU_ASSERT_FATAL(reg != NULL);
    CU_ASSERT_EQUAL_FATAL(registry_find(reg, HERALD_KIND_DEVICE, "good", &mod, &d), HERALD_OK);
    CU_ASSERT_PTR_NOT_NULL_FATAL(mod);
    CU_ASSERT_STRING_EQUAL(mod->name, "good");
    CU_ASSERT_EQUAL(mod->kind, HERALD_KIND_DEVICE);
    CU_ASSERT_EQUAL(((const struct herald_device_ops *)mod->ops)->struct_size,
                    sizeof(struct herald_device_ops));
    CU_ASSERT_STRING_EQUAL(registry_module_path(reg, mod),
                           join(path, sizeof path, dir, "device-good.so"));
    CU_ASSERT_EQUAL(registry_find(reg, HERALD_KIND_DEVICE, "good", &again, &d), HERALD_OK);
    CU_ASSERT_PTR_EQUAL(again, mod);
    /* The same file by path is the same module, not a duplicate. */
    CU_ASSERT_EQUAL(registry_load_file(reg, path, &again, &d), HERALD_OK);
    CU_ASSERT_PTR_EQUAL(again, mod);
    CU_ASSERT_EQUAL(registry_count(reg), 1);
    CU_ASSERT_PTR_EQUAL(registry_at(reg, 0), mod);
    CU_ASSERT_PTR_NULL(registry_at(reg, 1));
    /* Same name, other kind: a different module, and absent. */
    CU_ASSERT_EQUAL(registry_find(reg, HERALD_KIND_ROUTE, "good", &again, &d),
                    HERALD_E_NOTFOUND);
    registry_free(&reg);
}

/* test_wrong_major - another ABI major: the file and both versions are named */
static void
test_wrong_major(void)
{
    char module[16], core[16];

    snprintf(module, sizeof module, "ABI %d.0", HERALD_ABI_MAJOR + 1);
    snprintf(core, sizeof core, "has %d.%d", HERALD_ABI_MAJOR, HERALD_ABI_MINOR);
    refused_file("device-newabi.so", "device-newabi.so", HERALD_KIND_DEVICE, "newabi", module,
                 core);
}

/* test_newer_minor - a newer minor than the core is refused too */
static void
test_newer_minor(void)
{
    char module[16], core[16];

    snprintf(module, sizeof module, "ABI %d.%d", HERALD_ABI_MAJOR, HERALD_ABI_MINOR + 1);
    snprintf(core, sizeof core, "%d.%d", HERALD_ABI_MAJOR, HERALD_ABI_MINOR);
    refused_file("device-newminor.so", "device-newminor.so", HERALD_KIND_DEVICE, "newminor",
                 module, core);
}

/* test_missing_symbol - no herald_module symbol */
static void
test_missing_symbol(void)
{
    refused_file("device-nosym.so", "device-nosym.so", HERALD_KIND_DEVICE, "nosym",
                 "no symbol \"herald_module\"", NULL);
}

/* test_wrong_magic - descriptor with the wrong magic */
static void
test_wrong_magic(void)
{
    refused_file("device-badmagic.so", "device-badmagic.so", HERALD_KIND_DEVICE, "badmagic",
                 "wrong magic 0x12345678", NULL);
}

/* test_kind_mismatch - the file says device, the descriptor says route */
static void
test_kind_mismatch(void)
{
    refused_file("device-kindroute.so", "device-kindroute.so", HERALD_KIND_DEVICE, "kindroute",
                 "descriptor says route \"kindroute\"", "file name says device");
}

/* test_name_mismatch - the good module renamed: its name no longer matches the file */
static void
test_name_mismatch(void)
{
    refused_file("device-good.so", "device-other.so", HERALD_KIND_DEVICE, "other",
                 "descriptor says device \"good\"", "file name says device \"other\"");
}

/* test_bad_name - a descriptor name outside [a-z0-9-] */
static void
test_bad_name(void)
{
    refused_file("device-badname.so", "device-badname.so", HERALD_KIND_DEVICE, "badname",
                 "bad module name \"Bad_Name\"", NULL);
}

/* test_ops_rule - every kind's operations table is checked at load (the
 * one rule of docs/MODULE-ABI.md): too small for a required member, a
 * required member unset, a struct_size beyond this core's table */
static void
test_ops_rule(void)
{
    char want[96];

    snprintf(want, sizeof want, "the required member deliver() needs %zu",
             offsetof(struct herald_device_ops, deliver) + sizeof(void (*)(void)));
    refused_file("device-shortops.so", "device-shortops.so", HERALD_KIND_DEVICE, "shortops",
                 "device operations table of \"shortops\" is too small", want);
    refused_file("route-noplan.so", "route-noplan.so", HERALD_KIND_ROUTE, "noplan",
                 "route operations table of \"noplan\" has no plan() (required)", NULL);
    snprintf(want, sizeof want, "this core's %zu", sizeof(struct herald_transport_ops));
    refused_file("transport-bigops.so", "transport-bigops.so", HERALD_KIND_TRANSPORT, "bigops",
                 "struct_size 4096 is not between", want);
}

/* test_older_minor - a module built for an older minor (short descriptor,
 * operations table without the last member) loads */
static void
test_older_minor(void)
{
    const char *dir = tdir_new();
    const struct herald_module *mod = NULL;
    struct registry *reg;
    struct herald_diag d;

    CU_ASSERT_FATAL(dir != NULL);
    CU_ASSERT_FATAL(copy_module(dir, "device-oldminor.so", "device-oldminor.so") == 0);
    reg = reg_with(dir, NULL);
    CU_ASSERT_FATAL(reg != NULL);
    memset(&d, 0, sizeof d);
    CU_ASSERT_EQUAL(registry_find(reg, HERALD_KIND_DEVICE, "oldminor", &mod, &d), HERALD_OK);
    if (d.text[0])
        fprintf(stderr, "  %s: %s\n", d.where, d.text);
    CU_ASSERT_PTR_NOT_NULL_FATAL(mod);
    CU_ASSERT(((const struct herald_device_ops *)mod->ops)->struct_size
              < sizeof(struct herald_device_ops));
    registry_free(&reg);
}

/* test_not_loadable - a file dlopen refuses: its error text is passed on */
static void
test_not_loadable(void)
{
    const char *dir = tdir_new();
    const struct herald_module *mod = NULL;
    struct registry *reg;
    struct herald_diag d;
    char path[PATH_MAX];
    FILE *f;

    CU_ASSERT_FATAL(dir != NULL);
    f = fopen(join(path, sizeof path, dir, "device-junk.so"), "w");
    CU_ASSERT_FATAL(f != NULL);
    fputs("not an ELF file\n", f);
    CU_ASSERT_FATAL(fclose(f) == 0);
    reg = reg_with(dir, NULL);
    CU_ASSERT_FATAL(reg != NULL);
    CU_ASSERT_EQUAL(registry_find(reg, HERALD_KIND_DEVICE, "junk", &mod, &d), HERALD_E_MODULE);
    CU_ASSERT_STRING_EQUAL(d.where, path);
    CU_ASSERT(contains(d.text, "cannot load: "));
    registry_free(&reg);
}

/* test_file_writable - a module file that group can write is refused before dlopen */
static void
test_file_writable(void)
{
    const char *dir = tdir_new();
    const struct herald_module *mod = NULL;
    struct registry *reg;
    struct herald_diag d;
    char path[PATH_MAX];

    CU_ASSERT_FATAL(dir != NULL);
    CU_ASSERT_FATAL(copy_module(dir, "device-good.so", "device-good.so") == 0);
    CU_ASSERT_FATAL(chmod(join(path, sizeof path, dir, "device-good.so"), 0664) == 0);
    reg = reg_with(dir, NULL);
    CU_ASSERT_FATAL(reg != NULL);
    CU_ASSERT_EQUAL(registry_find(reg, HERALD_KIND_DEVICE, "good", &mod, &d), HERALD_E_MODULE);
    CU_ASSERT_STRING_EQUAL(d.where, path);
    CU_ASSERT(contains(d.text, "the file is writable by group or others (mode 0664)"));
    CU_ASSERT_EQUAL(registry_count(reg), 0);
    /* Fixed, the same file loads. */
    CU_ASSERT_FATAL(chmod(path, 0644) == 0);
    CU_ASSERT_EQUAL(registry_find(reg, HERALD_KIND_DEVICE, "good", &mod, &d), HERALD_OK);
    registry_free(&reg);
}

/* test_dir_writable - a module in a directory others can write is refused */
static void
test_dir_writable(void)
{
    const char *dir = tdir_new();
    const struct herald_module *mod = NULL;
    struct registry *reg;
    struct herald_diag d;
    char path[PATH_MAX];

    CU_ASSERT_FATAL(dir != NULL);
    CU_ASSERT_FATAL(copy_module(dir, "device-good.so", "device-good.so") == 0);
    CU_ASSERT_FATAL(chmod(dir, 0777) == 0);
    reg = reg_with(dir, NULL);
    CU_ASSERT_FATAL(reg != NULL);
    CU_ASSERT_EQUAL(registry_find(reg, HERALD_KIND_DEVICE, "good", &mod, &d), HERALD_E_MODULE);
    CU_ASSERT_STRING_EQUAL(d.where, join(path, sizeof path, dir, "device-good.so"));
    CU_ASSERT(contains(d.text, "its directory"));
    CU_ASSERT(contains(d.text, dir));
    CU_ASSERT(contains(d.text, "writable by group or others (mode 0777)"));
    registry_free(&reg);
}

/* test_foreign_owner - a file or directory owned by another user is refused.
 * Only root can give a file away, so as another user this case checks that
 * our own file loads (the other half of the rule). */
static void
test_foreign_owner(void)
{
    const char *dir = tdir_new();
    const struct herald_module *mod = NULL;
    struct registry *reg;
    struct herald_diag d;
    char path[PATH_MAX];

    CU_ASSERT_FATAL(dir != NULL);
    CU_ASSERT_FATAL(copy_module(dir, "device-good.so", "device-good.so") == 0);
    join(path, sizeof path, dir, "device-good.so");
    reg = reg_with(dir, NULL);
    CU_ASSERT_FATAL(reg != NULL);
    if (geteuid() == 0) {
        CU_ASSERT_FATAL(chown(path, 65534, (gid_t)-1) == 0);
        CU_ASSERT_EQUAL(registry_find(reg, HERALD_KIND_DEVICE, "good", &mod, &d),
                        HERALD_E_MODULE);
        CU_ASSERT_STRING_EQUAL(d.where, path);
        CU_ASSERT(contains(d.text, "the file is owned by uid 65534"));
        CU_ASSERT_FATAL(chown(path, 0, (gid_t)-1) == 0);
        CU_ASSERT_FATAL(chown(dir, 65534, (gid_t)-1) == 0);
        CU_ASSERT_EQUAL(registry_find(reg, HERALD_KIND_DEVICE, "good", &mod, &d),
                        HERALD_E_MODULE);
        CU_ASSERT(contains(d.text, "its directory"));
        CU_ASSERT(contains(d.text, "is owned by uid 65534"));
        CU_ASSERT_FATAL(chown(dir, 0, (gid_t)-1) == 0);
    }
    CU_ASSERT_EQUAL(registry_find(reg, HERALD_KIND_DEVICE, "good", &mod, &d), HERALD_OK);
    registry_free(&reg);
}

/* test_not_regular - a directory named like a module */
static void
test_not_regular(void)
{
    const char *dir = tdir_new();
    const struct herald_module *mod = NULL;
    struct registry *reg;
    struct herald_diag d;
    char path[PATH_MAX];

    CU_ASSERT_FATAL(dir != NULL);
    CU_ASSERT_FATAL(mkdir(join(path, sizeof path, dir, "device-good.so"), 0700) == 0);
    reg = reg_with(dir, NULL);
    CU_ASSERT_FATAL(reg != NULL);
    CU_ASSERT_EQUAL(registry_find(reg, HERALD_KIND_DEVICE, "good", &mod, &d), HERALD_E_MODULE);
    CU_ASSERT_STRING_EQUAL(d.where, path);
    CU_ASSERT(contains(d.text, "not a regular file"));
    registry_free(&reg);
}

/* test_duplicate_dirs - the same module in two plugin directories: refused, both named */
static void
test_duplicate_dirs(void)
{
    const char *a = tdir_new(), *b = tdir_new();
    const struct herald_module *mod = NULL;
    struct registry *reg;
    struct herald_diag d;
    char pa[PATH_MAX], pb[PATH_MAX];

    CU_ASSERT_FATAL(a != NULL && b != NULL);
    CU_ASSERT_FATAL(copy_module(a, "device-good.so", "device-good.so") == 0);
    CU_ASSERT_FATAL(copy_module(b, "device-good.so", "device-good.so") == 0);
    join(pa, sizeof pa, a, "device-good.so");
    join(pb, sizeof pb, b, "device-good.so");
    reg = reg_with(a, b, NULL);
    CU_ASSERT_FATAL(reg != NULL);
    CU_ASSERT_EQUAL(registry_find(reg, HERALD_KIND_DEVICE, "good", &mod, &d), HERALD_E_MODULE);
    CU_ASSERT_STRING_EQUAL(d.where, pa);
    CU_ASSERT(contains(d.text, "duplicate device module \"good\""));
    CU_ASSERT(contains(d.text, pb));
    CU_ASSERT_EQUAL(registry_count(reg), 0);

    /* Loaded file by file, the second copy is refused naming the first. */
    CU_ASSERT_EQUAL(registry_load_file(reg, pa, &mod, &d), HERALD_OK);
    memset(&d, 0, sizeof d);
    CU_ASSERT_EQUAL(registry_load_file(reg, pb, &mod, &d), HERALD_E_MODULE);
    CU_ASSERT_STRING_EQUAL(d.where, pb);
    CU_ASSERT(contains(d.text, "already loaded from"));
    CU_ASSERT(contains(d.text, pa));
    CU_ASSERT_EQUAL(registry_count(reg), 1);
    registry_free(&reg);
}

static herald_status
linked_plan(const void *options, struct herald_route_request *req)
{
    (void)options, (void)req;
    return HERALD_E_IO;
}

static const struct herald_route_ops linked_ops = { sizeof linked_ops, linked_plan };
static const struct herald_module linked = {
    HERALD_MODULE_HEADER(HERALD_KIND_ROUTE),
    .name = "linked",
    .summary = "a module linked into the test",
    .ops = &linked_ops,
};

/* test_add_twice - registry_add: found by kind+name, the second add is a duplicate */
static void
test_add_twice(void)
{
    const struct herald_module *mod = NULL;
    struct registry *reg = NULL;
    struct herald_diag d;

    CU_ASSERT_FATAL(registry_new(&reg) == HERALD_OK);
    CU_ASSERT_EQUAL(registry_add(reg, &linked, "test_registry", &d), HERALD_OK);
    CU_ASSERT_EQUAL(registry_find(reg, HERALD_KIND_ROUTE, "linked", &mod, &d), HERALD_OK);
    CU_ASSERT_PTR_EQUAL(mod, &linked);
    CU_ASSERT_STRING_EQUAL(registry_module_path(reg, &linked), "test_registry");
    memset(&d, 0, sizeof d);
    CU_ASSERT_EQUAL(registry_add(reg, &linked, "again", &d), HERALD_E_MODULE);
    CU_ASSERT_STRING_EQUAL(d.where, "again");
    CU_ASSERT(contains(d.text, "duplicate route module \"linked\": already loaded from "
                               "test_registry"));
    CU_ASSERT_EQUAL(registry_count(reg), 1);
    CU_ASSERT_EQUAL(registry_add(reg, NULL, "x", &d), HERALD_E_INVAL);
    registry_free(&reg);
}

/* test_relative - relative directories and paths are refused */
static void
test_relative(void)
{
    const char *rel[] = { "/usr/lib/herald", "plugins/.libs" };
    const char *ok[] = { "/nonexistent-herald-dir" };
    const struct herald_module *mod = NULL;
    struct registry *reg = NULL;
    struct herald_diag d;

    CU_ASSERT_FATAL(registry_new(&reg) == HERALD_OK);
    CU_ASSERT_EQUAL(registry_set_dirs(reg, ok, 1, &d), HERALD_OK);
    CU_ASSERT_EQUAL(registry_set_dirs(reg, rel, 2, &d), HERALD_E_MODULE);
    CU_ASSERT_STRING_EQUAL(d.where, "plugins/.libs");
    CU_ASSERT(contains(d.text, "not an absolute path"));
    /* The refused list did not replace the previous one. */
    CU_ASSERT_EQUAL(registry_find(reg, HERALD_KIND_DEVICE, "good", &mod, &d),
                    HERALD_E_NOTFOUND);
    CU_ASSERT(contains(d.text, "/nonexistent-herald-dir"));
    CU_ASSERT_EQUAL(registry_load_file(reg, "tests/modules/.libs/device-good.so", &mod, &d),
                    HERALD_E_MODULE);
    CU_ASSERT(contains(d.text, "not absolute"));
    CU_ASSERT_EQUAL(registry_count(reg), 0);
    registry_free(&reg);
}

/* test_not_found - absent module: NOTFOUND, every directory searched is listed */
static void
test_not_found(void)
{
    const char *a = tdir_new(), *b = tdir_new();
    const struct herald_module *mod = NULL;
    struct registry *reg;
    struct herald_diag d;

    CU_ASSERT_FATAL(a != NULL && b != NULL);
    reg = reg_with(a, b, NULL);
    CU_ASSERT_FATAL(reg != NULL);
    CU_ASSERT_EQUAL(registry_find(reg, HERALD_KIND_TRANSPORT, "smtp", &mod, &d),
                    HERALD_E_NOTFOUND);
    CU_ASSERT_PTR_NULL(mod);
    CU_ASSERT(contains(d.text, "transport-smtp.so not found in"));
    CU_ASSERT(contains(d.text, a));
    CU_ASSERT(contains(d.text, b));
    /* A name that could walk out of the directory is never turned into a path. */
    CU_ASSERT_EQUAL(registry_find(reg, HERALD_KIND_DEVICE, "../good", &mod, &d),
                    HERALD_E_NOTFOUND);
    CU_ASSERT(contains(d.text, "[a-z0-9-]"));
    CU_ASSERT_EQUAL(registry_find(reg, 42, "good", &mod, &d), HERALD_E_INVAL);
    registry_free(&reg);
}

/* test_descriptor_checks - registry_add runs the ABI, kind, name, ops checks */
static void
test_descriptor_checks(void)
{
    static const int ops;
    static const struct { struct herald_module m; const char *want; } cases[] = {
        { { HERALD_MODULE_HEADER(HERALD_KIND_DEVICE), .name = "a", .ops = NULL },
          "no operations table" },
        { { HERALD_MODULE_HEADER(7), .name = "a", .ops = &ops }, "unknown module kind 7" },
        { { HERALD_MODULE_HEADER(HERALD_KIND_DEVICE), .name = "", .ops = &ops },
          "bad module name" },
        { { HERALD_MODULE_HEADER(HERALD_KIND_DEVICE), .name = NULL, .ops = &ops },
          "bad module name" },
        { { HERALD_MODULE_HEADER(HERALD_KIND_DEVICE),
            .name = "a23456789012345678901234567890123", .ops = &ops }, "bad module name" },
        { { .magic = HERALD_MODULE_MAGIC, .abi_major = HERALD_ABI_MAJOR,
            .abi_minor = HERALD_ABI_MINOR, .struct_size = 16, .kind = HERALD_KIND_DEVICE,
            .name = "a", .ops = &ops }, "descriptor too small: 16 bytes" },
    };
    size_t i;

    for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct registry *reg = NULL;
        struct herald_diag d;

        CU_ASSERT_FATAL(registry_new(&reg) == HERALD_OK);
        memset(&d, 0, sizeof d);
        CU_ASSERT_EQUAL(registry_add(reg, &cases[i].m, "case", &d), HERALD_E_MODULE);
        CU_ASSERT_STRING_EQUAL(d.where, "case");
        CU_ASSERT(contains(d.text, cases[i].want));
        CU_ASSERT_EQUAL(registry_count(reg), 0);
        registry_free(&reg);
    }
}

#define S HERALD_OPT_STRING
static const struct herald_option opt_sub[] = {
    { "x", S, 0, 0, 0, 0, NULL, NULL, 0, NULL, "" }, { "x", S, 0, 0, 0, 0, NULL, NULL, 0, NULL, "" },
    HERALD_OPT_END
};
static const struct herald_option opt_dup[] = {
    { "a", S, 0, 0, 0, 0, NULL, NULL, 0, NULL, "" }, { "a", S, 0, 0, 0, 0, NULL, NULL, 0, NULL, "" },
    HERALD_OPT_END
};
static const struct herald_option opt_nosub[] = {
    { "g", HERALD_OPT_GROUP, 0, 0, 0, 0, NULL, NULL, 0, NULL, "" }, HERALD_OPT_END
};
static const struct herald_option opt_subdup[] = {
    { "g", HERALD_OPT_GROUP, 0, 0, 0, 0, NULL, opt_sub, 0, NULL, "" }, HERALD_OPT_END
};
static const struct herald_option opt_nokey[] = {
    { "route", HERALD_OPT_MODULE, 0, 0, 0, 0, NULL, NULL, HERALD_KIND_ROUTE, NULL, "" },
    HERALD_OPT_END
};
static const struct herald_option opt_badtype[] = {
    { "t", (enum herald_opt_type)99, 0, 0, 0, 0, NULL, NULL, 0, NULL, "" }, HERALD_OPT_END
};
static const struct herald_option opt_nochoice[] = {
    { "e", HERALD_OPT_ENUM, 0, 0, 0, 0, NULL, NULL, 0, NULL, "" }, HERALD_OPT_END
};
#undef S

/* test_option_tables - malformed option tables are refused with the reason */
static void
test_option_tables(void)
{
    static struct herald_option endless[300];
    static char names[300][8];
    const struct { const struct herald_option *t; const char *want; } cases[] = {
        { opt_dup, "option \"a\" appears twice" },
        { opt_nosub, "group option \"g\" has no sub table" },
        { opt_subdup, "option \"g.x\" appears twice" },
        { opt_nokey, "module option \"route\" names no key" },
        { opt_badtype, "unknown type 99" },
        { opt_nochoice, "enum option \"e\" has no choices" },
        { endless, "no HERALD_OPT_END within" },
    };
    static const int ops;
    size_t i;

    /* A table with unique names and no end: the walk must stop by itself. */
    for (i = 0; i < 300; i++) {
        snprintf(names[i], sizeof names[i], "o%zu", i);
        endless[i].name = names[i];
        endless[i].type = HERALD_OPT_STRING;
    }
    for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct herald_module m = {
            HERALD_MODULE_HEADER(HERALD_KIND_DEVICE), .name = "opts", .ops = &ops,
            .options = cases[i].t,
        };
        struct registry *reg = NULL;
        struct herald_diag d;

        CU_ASSERT_FATAL(registry_new(&reg) == HERALD_OK);
        memset(&d, 0, sizeof d);
        CU_ASSERT_EQUAL(registry_add(reg, &m, "opts-case", &d), HERALD_E_MODULE);
        CU_ASSERT(contains(d.text, cases[i].want));
        registry_free(&reg);
    }
}

struct seen {
    int calls;
    char text[4][800];     /* "where: text" of a diag */
};

/* note_refusal - registry_load_all callback: remember what was reported */
static void
note_refusal(void *arg, const struct herald_diag *diag)
{
    struct seen *s = arg;

    if (s->calls < 4)
        snprintf(s->text[s->calls], sizeof s->text[0], "%s: %s", diag->where, diag->text);
    s->calls++;
}

/* test_load_all - every module of a directory; each refusal reported, the walk goes on */
static void
test_load_all(void)
{
    const char *dir = tdir_new();
    struct seen seen;
    struct registry *reg;
    char path[PATH_MAX];
    FILE *f;

    CU_ASSERT_FATAL(dir != NULL);
    CU_ASSERT_FATAL(copy_module(dir, "device-good.so", "device-good.so") == 0);
    CU_ASSERT_FATAL(copy_module(dir, "device-newabi.so", "device-newabi.so") == 0);
    CU_ASSERT_FATAL(copy_module(dir, "device-nosym.so", "device-nosym.so") == 0);
    f = fopen(join(path, sizeof path, dir, "README"), "w");
    CU_ASSERT_FATAL(f != NULL);
    CU_ASSERT_FATAL(fclose(f) == 0);
    reg = reg_with(dir, NULL);
    CU_ASSERT_FATAL(reg != NULL);
    memset(&seen, 0, sizeof seen);
    CU_ASSERT_EQUAL(registry_load_all(reg, note_refusal, &seen), HERALD_E_MODULE);
    CU_ASSERT_EQUAL(seen.calls, 2);
    /* Sorted by file name: newabi before nosym. */
    CU_ASSERT(contains(seen.text[0], "device-newabi.so: built for module ABI"));
    CU_ASSERT(contains(seen.text[1], "device-nosym.so: no symbol"));
    CU_ASSERT_EQUAL(registry_count(reg), 1);
    CU_ASSERT_STRING_EQUAL(registry_at(reg, 0)->name, "good");
    /* Again: what is loaded stays loaded, nothing is a duplicate of itself. */
    memset(&seen, 0, sizeof seen);
    CU_ASSERT_EQUAL(registry_load_all(reg, note_refusal, &seen), HERALD_E_MODULE);
    CU_ASSERT_EQUAL(seen.calls, 2);
    CU_ASSERT_EQUAL(registry_count(reg), 1);
    registry_free(&reg);
}

/* herald_env_note: copied, one printable line, bounded in length and number */
static void
test_env_note(void)
{
    static const struct { const char *text; herald_status st; const char *kept; } cases[] = {
        { "no AUTH configured", HERALD_OK, "no AUTH configured" },
        { "two\nlines\x1b[31m", HERALD_OK, "two?lines?[31m" },
        { "", HERALD_E_INVAL, NULL },
        { NULL, HERALD_E_INVAL, NULL },
    };
    struct herald_env env;
    char text[32], longer[HERALD_NOTE_MAX + 2];
    size_t i, kept = 0;

    memset(&env, 0, sizeof env);
    for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        CU_ASSERT_EQUAL(herald_env_note(&env, cases[i].text), cases[i].st);
        if (cases[i].kept != NULL) {
            CU_ASSERT_EQUAL_FATAL(env.note_count, kept + 1);
            CU_ASSERT_STRING_EQUAL(env.notes[kept], cases[i].kept);
            kept++;
        }
    }
    CU_ASSERT_EQUAL(herald_env_note(NULL, "x"), HERALD_E_INVAL);
    memset(longer, 'a', sizeof longer - 1);
    longer[sizeof longer - 1] = '\0';            /* one octet too long */
    CU_ASSERT_EQUAL(herald_env_note(&env, longer), HERALD_E_INVAL);
    longer[HERALD_NOTE_MAX] = '\0';              /* just fits */
    CU_ASSERT_EQUAL(herald_env_note(&env, longer), HERALD_OK);
    kept++;
    while (kept < HERALD_NOTES_MAX) {
        snprintf(text, sizeof text, "note %zu", kept);
        CU_ASSERT_EQUAL_FATAL(herald_env_note(&env, text), HERALD_OK);
        kept++;
    }
    CU_ASSERT_EQUAL(herald_env_note(&env, "one too many"), HERALD_E_INVAL);
    CU_ASSERT_EQUAL(env.note_count, HERALD_NOTES_MAX);
    env_notes_free(&env);
    CU_ASSERT_EQUAL(env.note_count, 0);
    CU_ASSERT_PTR_NULL(env.notes);
}

int
main(void)
{
    static const struct test_case cases[] = {
        { "good module loads and is found", test_good },
        { "wrong ABI major refused", test_wrong_major },
        { "newer ABI minor refused", test_newer_minor },
        { "missing symbol refused", test_missing_symbol },
        { "wrong magic refused", test_wrong_magic },
        { "kind mismatch refused", test_kind_mismatch },
        { "name mismatch refused", test_name_mismatch },
        { "bad name refused", test_bad_name },
        { "dlopen failure passed on", test_not_loadable },
        { "operations table rule refuses", test_ops_rule },
        { "older minor loads", test_older_minor },
        { "group-writable file refused", test_file_writable },
        { "world-writable directory refused", test_dir_writable },
        { "foreign owner refused", test_foreign_owner },
        { "not a regular file refused", test_not_regular },
        { "duplicate in two directories refused", test_duplicate_dirs },
        { "registry_add twice refused", test_add_twice },
        { "relative dir and path refused", test_relative },
        { "not found lists the directories", test_not_found },
        { "descriptor checks", test_descriptor_checks },
        { "option table checks", test_option_tables },
        { "load_all reports and goes on", test_load_all },
        { "device notes are copied and bounded", test_env_note },
        { NULL, NULL },
    };
    /* The teardown removes each case's directories right after it, failed or not. */
    const struct test_suite suites[] = {
        { "registry", NULL, NULL, NULL, tdir_cleanup, cases },
    };
    int rc;

    modsrc = getenv("HERALD_TEST_MODULES");
    if (modsrc == NULL || modsrc[0] != '/') {
        fprintf(stderr, "HERALD_TEST_MODULES must name the built test modules\n");
        return 99;
    }
    rc = test_run(suites, sizeof suites / sizeof suites[0]);
    tdir_cleanup();
    return rc;
}
