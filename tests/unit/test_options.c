/*
 * test_options.c - options_apply() against a table covering every type
 *
 * Table-driven: each row is a libconfig text (from a string, or written to a
 * file in a mkdtemp directory when the check needs a file: wrapped integer
 * literals, secrets), the status wanted, the exact "where" and a phrase of
 * the text.  MODULE cases use fake modules added with registry_add().
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <CUnit/Basic.h>
#include <libconfig.h>

#include "arena.h"
#include "options.h"
#include <herald/route.h>
#include "registry.h"
#include "test_main.h"

struct grp {
    const char *x;
    int64_t y;
};

/* The options block every case writes into. */
struct blk {
    const char *s;
    int64_t i;
    bool b;
    int64_t ms;
    int e;
    struct herald_strlist l;
    int mode;
    struct grp grp;
    const char *secret;
    const char *ctl;
    struct herald_module_ref route;
};

static const char *const levels[] = { "quiet", "normal", "verbose", NULL };

#define BO(f) offsetof(struct blk, f)

static const struct herald_option grp_table[] = {
    { "x", HERALD_OPT_STRING, offsetof(struct grp, x), HERALD_OPT_REQUIRED, 0, 0, NULL, NULL,
      0, NULL, "x" },
    { "y", HERALD_OPT_INT, offsetof(struct grp, y), 0, 0, 9, NULL, NULL, 0, NULL, "y" },
    HERALD_OPT_END
};

static const struct herald_option table[] = {
    { "s", HERALD_OPT_STRING, BO(s), HERALD_OPT_REQUIRED, 0, 0, NULL, NULL, 0, NULL, "s" },
    { "i", HERALD_OPT_INT, BO(i), 0, 1, 65535, NULL, NULL, 0, NULL, "i" },
    { "b", HERALD_OPT_BOOL, BO(b), 0, 0, 0, NULL, NULL, 0, NULL, "b" },
    { "ms", HERALD_OPT_MSEC, BO(ms), 0, 100, 60000, NULL, NULL, 0, NULL, "ms" },
    { "e", HERALD_OPT_ENUM, BO(e), 0, 0, 0, levels, NULL, 0, NULL, "e" },
    { "l", HERALD_OPT_STRLIST, BO(l), 0, 0, 0, NULL, NULL, 0, NULL, "l" },
    { "mode", HERALD_OPT_MODE, BO(mode), 0, 0, 0, NULL, NULL, 0, NULL, "mode" },
    { "grp", HERALD_OPT_GROUP, BO(grp), 0, 0, 0, NULL, grp_table, 0, NULL, "grp" },
    { "secret", HERALD_OPT_STRING, BO(secret), HERALD_OPT_SECRET, 0, 0, NULL, NULL, 0, NULL,
      "secret" },
    { "ctl", HERALD_OPT_STRING, BO(ctl), HERALD_OPT_ALLOWCTL, 0, 0, NULL, NULL, 0, NULL, "ctl" },
    { "route", HERALD_OPT_MODULE, BO(route), 0, 0, 0, NULL, NULL, HERALD_KIND_ROUTE, "strategy",
      "route" },
    HERALD_OPT_END
};

/* A fake route module with its own options and a cross-option check. */
struct fake_opts {
    int64_t port;
    const char *word;
};
static const struct herald_option fake_table[] = {
    { "port", HERALD_OPT_INT, offsetof(struct fake_opts, port), 0, 1, 65535, NULL, NULL, 0,
      NULL, "port" },
    { "word", HERALD_OPT_STRING, offsetof(struct fake_opts, word), 0, 0, 0, NULL, NULL, 0, NULL,
      "word" },
    HERALD_OPT_END
};
static const struct fake_opts fake_defaults = { 25, "dflt" };

/* fake_check - refuses port 13, to prove check() runs after the options */
static herald_status
fake_check(const void *options, struct herald_diag *diag)
{
    const struct fake_opts *o = options;

    if (o->port == 13)
        return herald_diag_set(diag, HERALD_E_CONFIG, "", "port 13 is unlucky");
    return HERALD_OK;
}

/* fake_plan - never called: option tests only need the module to exist */
static herald_status
fake_plan(const void *options, struct herald_route_request *req)
{
    (void)options;
    (void)req;
    return HERALD_E_INVAL;
}
static const struct herald_route_ops fake_route_ops = { sizeof(struct herald_route_ops),
                                                        fake_plan };

static const struct herald_module fake_route = {
    HERALD_MODULE_HEADER(HERALD_KIND_ROUTE),
    .name = "fake",
    .summary = "test route",
    .options = fake_table,
    .options_size = sizeof(struct fake_opts),
    .options_defaults = &fake_defaults,
    .check = fake_check,
    .ops = &fake_route_ops,
};

static char tmpdir[64];
static struct registry *reg;
static const char *secret_seen;
static int modules_seen;

/* One case's state, torn down by case_end(). */
struct run {
    config_t lc;
    struct arena *arena;
    struct blk blk;
    struct herald_diag diag;
    herald_status st;
};

static void
record_secret(void *arg, const char *v)
{
    (void)arg;
    secret_seen = v;
}

static void
record_module(void *arg, const struct herald_module *m)
{
    (void)arg;
    if (m == &fake_route)
        modules_seen++;
}

/* run_apply - parse (text or file) and apply the table to member "g" of the root */
static void
run_apply(struct run *r, const char *text, const char *file)
{
    struct options_env env;
    const config_setting_t *g;
    int ok;

    memset(r, 0, sizeof *r);
    r->blk.i = 7;
    r->blk.ms = 5000;
    r->blk.mode = 0600;
    secret_seen = NULL;
    modules_seen = 0;
    config_init(&r->lc);
    CU_ASSERT_FATAL(arena_new(&r->arena) == HERALD_OK);
    ok = file ? config_read_file(&r->lc, file) : config_read_string(&r->lc, text);
    if (!ok) {
        fprintf(stderr, "parse error: %s:%d %s\n", config_error_file(&r->lc)
                ? config_error_file(&r->lc) : "(string)", config_error_line(&r->lc),
                config_error_text(&r->lc));
        CU_FAIL_FATAL("case text does not parse");
    }
    g = config_lookup(&r->lc, "g");
    CU_ASSERT_PTR_NOT_NULL_FATAL(g);
    memset(&env, 0, sizeof env);
    env.arena = r->arena;
    env.registry = reg;
    env.label = "device \"t\"";
    env.on_secret = record_secret;
    env.on_module = record_module;
    memset(&r->diag, 0, sizeof r->diag);
    r->st = options_apply(table, g, &r->blk, NULL, &env, &r->diag);
}

static void
run_end(struct run *r)
{
    arena_free(&r->arena);
    config_destroy(&r->lc);
}

/* write_file - a case text into tmpdir/name with mode; returns the path */
static const char *
write_file(const char *name, const char *text, mode_t mode)
{
    static char path[128];
    FILE *fp;

    snprintf(path, sizeof path, "%s/%s", tmpdir, name);
    fp = fopen(path, "w");
    CU_ASSERT_PTR_NOT_NULL_FATAL(fp);
    fputs(text, fp);
    fclose(fp);
    CU_ASSERT_FATAL(chmod(path, mode) == 0);
    return path;
}

struct errcase {
    const char *text;
    herald_status want;
    int line;                 /* 0: do not check the where */
    const char *phrase;
};

/* check_error_row - one failing row: status, exact where, phrase */
static void
check_error_row(const struct errcase *c, const char *file)
{
    struct run r;
    char where[300];

    run_apply(&r, c->text, file);
    CU_ASSERT_EQUAL(r.st, c->want);
    if (c->line > 0) {
        snprintf(where, sizeof where, "%s:%d", file ? file : "(string)", c->line);
        CU_ASSERT_STRING_EQUAL(r.diag.where, where);
    }
    CU_ASSERT_PTR_NOT_NULL(strstr(r.diag.text, c->phrase));
    CU_ASSERT_PTR_NOT_NULL(strstr(r.diag.text, "device \"t\": option \""));
    if (r.st != c->want || strstr(r.diag.text, c->phrase) == NULL)
        fprintf(stderr, "row %s\n  got %d %s: %s\n", c->text, r.st, r.diag.where, r.diag.text);
    run_end(&r);
}

static const struct errcase string_errors[] = {
    { "g = {\n  s = \"a\";\n  bogus = 1;\n};", HERALD_E_CONFIG, 3,
      "option \"bogus\": unknown option" },
    { "g = {\n  s = \"a\";\n  i = \"x\";\n};", HERALD_E_CONFIG, 3,
      "option \"i\": wrong type: expected an integer, got a string" },
    { "g = {\n  i = 1;\n};", HERALD_E_CONFIG, 1, "option \"s\": required option is missing" },
    { "g = { s = \"a\";\n i = 70000; };", HERALD_E_CONFIG, 2,
      "option \"i\": value 70000 out of range (1..65535)" },
    { "g = { s = \"a\";\n i = 0; };", HERALD_E_CONFIG, 2, "value 0 out of range (1..65535)" },
    { "g = { s = \"a\";\n\n ms = 99; };", HERALD_E_CONFIG, 3,
      "option \"ms\": value 99 out of range (100..60000) ms" },
    { "g = { s = \"a\";\n ms = 1.5; };", HERALD_E_CONFIG, 2,
      "wrong type: expected an integer, got a floating-point number" },
    { "g = { s = \"a\";\n b = 1; };", HERALD_E_CONFIG, 2, "option \"b\": wrong type" },
    { "g = { s = \"a\";\n e = \"loud\"; };", HERALD_E_CONFIG, 2,
      "option \"e\": unknown value \"loud\" (allowed: quiet, normal, verbose)" },
    { "g = { s = \"a\";\n e = 1; };", HERALD_E_CONFIG, 2, "expected a string, got an integer" },
    { "g = {\n s = \"a\\r\\nRCPT TO:<x>\"; };", HERALD_E_CONFIG, 2,
      "option \"s\": control character" },
    { "g = { s = \"a\";\n l = [ \"a\", \"b\\n\" ]; };", HERALD_E_CONFIG, 2,
      "option \"l\": control character" },
    { "g = { s = \"a\";\n l = ( \"a\",\n 5 ); };", HERALD_E_CONFIG, 3,
      "option \"l\": wrong type: item 2 is an integer" },
    { "g = { s = \"a\";\n l = 5; };", HERALD_E_CONFIG, 2,
      "expected a string or a list of strings" },
    { "g = { s = \"a\";\n mode = \"0999\"; };", HERALD_E_CONFIG, 2,
      "option \"mode\": \"0999\" is not an octal file mode" },
    { "g = { s = \"a\";\n mode = \"\"; };", HERALD_E_CONFIG, 2, "is not an octal file mode" },
    { "g = { s = \"a\";\n mode = 0689; };", HERALD_E_CONFIG, 2, "689 is not an octal file mode" },
    { "g = { s = \"a\";\n mode = 17777; };", HERALD_E_CONFIG, 2, "is not an octal file mode" },
    { "g = { s = \"a\";\n mode = -1; };", HERALD_E_CONFIG, 2, "is not an octal file mode" },
    { "g = { s = \"a\";\n mode = true; };", HERALD_E_CONFIG, 2, "option \"mode\": wrong type" },
    { "g = { s = \"a\";\n grp = 5; };", HERALD_E_CONFIG, 2,
      "option \"grp\": wrong type: expected a group, got an integer" },
    { "g = { s = \"a\";\n grp = { x = \"a\";\n   z = 1; }; };", HERALD_E_CONFIG, 3,
      "option \"grp.z\": unknown option" },
    { "g = { s = \"a\";\n grp = {\n y = 1; }; };", HERALD_E_CONFIG, 2,
      "option \"grp.x\": required option is missing" },
    { "g = { s = \"a\";\n grp = { x = \"a\";\n y = 10; }; };", HERALD_E_CONFIG, 3,
      "option \"grp.y\": value 10 out of range (0..9)" },
};

/* test_string_errors - each error kind, from a string, with its exact line */
static void
test_string_errors(void)
{
    size_t k;

    for (k = 0; k < sizeof string_errors / sizeof string_errors[0]; k++)
        check_error_row(&string_errors[k], NULL);
}

/* test_success - every type's accepted forms land in the block */
static void
test_success(void)
{
    struct run r;

    run_apply(&r, "g = { s = \"hello\"; i = 587; b = true; ms = 2000; e = \"verbose\";\n"
                  "l = [ \"a\", \"b\" ]; mode = \"0640\"; grp = { x = \"gx\"; y = 9; };\n"
                  "ctl = \"line1\\r\\nline2\"; };", NULL);
    CU_ASSERT_EQUAL(r.st, HERALD_OK);
    CU_ASSERT_STRING_EQUAL(r.blk.s, "hello");
    CU_ASSERT_EQUAL(r.blk.i, 587);
    CU_ASSERT(r.blk.b);
    CU_ASSERT_EQUAL(r.blk.ms, 2000);
    CU_ASSERT_EQUAL(r.blk.e, 2);
    CU_ASSERT_EQUAL(r.blk.l.count, 2);
    if (r.blk.l.count == 2) {
        CU_ASSERT_STRING_EQUAL(r.blk.l.items[0], "a");
        CU_ASSERT_STRING_EQUAL(r.blk.l.items[1], "b");
    }
    CU_ASSERT_EQUAL(r.blk.mode, 0640);
    CU_ASSERT_STRING_EQUAL(r.blk.grp.x, "gx");
    CU_ASSERT_EQUAL(r.blk.grp.y, 9);
    CU_ASSERT_STRING_EQUAL(r.blk.ctl, "line1\r\nline2");
    CU_ASSERT_PTR_NULL(r.blk.route.module);
    run_end(&r);

    /* Defaults stay when a member is absent; a single string is a one-item list;
     * a list ( ) works like an array; an integer mode is read as octal digits. */
    run_apply(&r, "g = { s = \"x\"; l = \"only\"; mode = 0750; i = 5L; };", NULL);
    CU_ASSERT_EQUAL(r.st, HERALD_OK);
    CU_ASSERT_EQUAL(r.blk.ms, 5000);
    CU_ASSERT_EQUAL(r.blk.i, 5);
    CU_ASSERT_EQUAL(r.blk.l.count, 1);
    CU_ASSERT_STRING_EQUAL(r.blk.l.items[0], "only");
    CU_ASSERT_EQUAL(r.blk.mode, 0750);
    run_end(&r);

    run_apply(&r, "g = { s = \"x\"; l = ( \"p\", \"q\", \"r\" ); l2 = 1; };", NULL);
    CU_ASSERT_EQUAL(r.st, HERALD_E_CONFIG);     /* l2 is unknown, after l applied */
    CU_ASSERT_PTR_NOT_NULL(strstr(r.diag.text, "\"l2\""));
    CU_ASSERT_EQUAL(r.blk.l.count, 3);
    run_end(&r);

    run_apply(&r, "g = { s = \"x\"; l = [ ]; e = \"quiet\"; };", NULL);
    CU_ASSERT_EQUAL(r.st, HERALD_OK);
    CU_ASSERT_EQUAL(r.blk.l.count, 0);
    CU_ASSERT_EQUAL(r.blk.e, 0);
    run_end(&r);
}

/* test_skip - members named in skip are the caller's, not unknown */
static void
test_skip(void)
{
    static const char *const skip[] = { "name", "driver", NULL };
    struct options_env env;
    struct herald_diag d;
    struct arena *a = NULL;
    struct blk blk;
    config_t lc;

    config_init(&lc);
    CU_ASSERT_FATAL(arena_new(&a) == HERALD_OK);
    CU_ASSERT_FATAL(config_read_string(&lc, "g = { name = 1; driver = 2; s = \"v\"; };"));
    memset(&env, 0, sizeof env);
    memset(&blk, 0, sizeof blk);
    env.arena = a;
    CU_ASSERT_EQUAL(options_apply(table, config_lookup(&lc, "g"), &blk, skip, &env, &d),
                    HERALD_OK);
    CU_ASSERT_STRING_EQUAL(blk.s, "v");
    /* No label: the message starts with the option. */
    CU_ASSERT_EQUAL(options_apply(table, config_lookup(&lc, "g"), &blk, NULL, &env, &d),
                    HERALD_E_CONFIG);
    CU_ASSERT_STRING_EQUAL(d.text, "option \"name\": unknown option");
    CU_ASSERT_STRING_EQUAL(d.where, "(string):1");
    arena_free(&a);
    CU_ASSERT_PTR_NULL(a);
    config_destroy(&lc);
}

static const struct errcase wrapped[] = {
    { "g = {\n  s = \"a\";\n  i = 4294967321;\n};\n", HERALD_E_CONFIG, 3,
      "option \"i\": integer literal too large" },
    { "g = {\n  s = \"a\";\n  i = 99999999999999999999;\n};\n", HERALD_E_CONFIG, 3,
      "integer literal too large" },
    { "g = {\n  s = \"a\";\n  i = -99999999999999999999;\n};\n", HERALD_E_CONFIG, 3,
      "integer literal too large" },
    { "g = {\n  s = \"a\";\n  i : 0x100000019;\n};\n", HERALD_E_CONFIG, 3,
      "integer literal too large" },
    { "g = { s = \"a\";\n  ms =\n     4294967396;\n};\n", HERALD_E_CONFIG, 2,
      "option \"ms\": integer literal too large" },
    { "g = { s = \"a\";\n\n  mode = 4294967296640; };\n", HERALD_E_CONFIG, 3,
      "option \"mode\": integer literal too large" },
    /* The setting's own token, not a "name = value" in a comment or a string. */
    { "g = {\n  s = \"a\";\n  i = 4294967321; # i = 25\n};\n", HERALD_E_CONFIG, 3,
      "option \"i\": integer literal too large" },
    { "g = {\n  s = \"a\";\n  i = 4294967321; // i = 25\n};\n", HERALD_E_CONFIG, 3,
      "option \"i\": integer literal too large" },
    { "g = { s = \"i = 25\"; i = 4294967321; };\n", HERALD_E_CONFIG, 1,
      "option \"i\": integer literal too large" },
    { "g = { s = \"a\"; /* i = 25 */ i =\n 4294967321; };\n", HERALD_E_CONFIG, 1,
      "option \"i\": integer literal too large" },
};

/* test_wrapped_literals - libconfig 1.5 wraps these; the source line tells */
static void
test_wrapped_literals(void)
{
    struct run r;
    size_t k;

    for (k = 0; k < sizeof wrapped / sizeof wrapped[0]; k++)
        check_error_row(&wrapped[k], write_file("wrap.cfg", wrapped[k].text, 0600));

    /* Legitimate literals in a file pass, including a name repeated in a string. */
    run_apply(&r, NULL, write_file("ok.cfg", "g = { s = \"i = 4294967321\"; i = 25; ms = 0x3E8;\n"
                                             "  grp = { x = \"y\"; y = 9; }; };\n", 0600));
    CU_ASSERT_EQUAL(r.st, HERALD_OK);
    CU_ASSERT_EQUAL(r.blk.i, 25);
    CU_ASSERT_EQUAL(r.blk.ms, 1000);
    if (r.st != HERALD_OK)
        fprintf(stderr, "ok.cfg: %s: %s\n", r.diag.where, r.diag.text);
    run_end(&r);
}

/* test_secret_file - a secret in a file others can read is refused */
static void
test_secret_file(void)
{
    const char *text = "g = {\n  s = \"a\";\n  secret = \"hunter2\";\n};\n";
    const char *path;
    char where[200];
    struct run r;

    path = write_file("secret.cfg", text, 0644);
    run_apply(&r, NULL, path);
    CU_ASSERT_EQUAL(r.st, HERALD_E_CONFIG);
    snprintf(where, sizeof where, "%s:3", path);
    CU_ASSERT_STRING_EQUAL(r.diag.where, where);
    CU_ASSERT_PTR_NOT_NULL(strstr(r.diag.text, "chmod 600"));
    CU_ASSERT_PTR_NOT_NULL(strstr(r.diag.text, path));
    CU_ASSERT_PTR_NULL(strstr(r.diag.text, "hunter2"));
    CU_ASSERT_PTR_NULL(secret_seen);
    run_end(&r);

    path = write_file("secret.cfg", text, 0640);
    run_apply(&r, NULL, path);
    CU_ASSERT_EQUAL(r.st, HERALD_E_CONFIG);
    run_end(&r);

    path = write_file("secret.cfg", text, 0600);
    run_apply(&r, NULL, path);
    CU_ASSERT_EQUAL(r.st, HERALD_OK);
    CU_ASSERT_PTR_NOT_NULL(secret_seen);
    if (secret_seen != NULL)
        CU_ASSERT_STRING_EQUAL(secret_seen, "hunter2");
    run_end(&r);
}

static const struct errcase module_errors[] = {
    { "g = { s = \"a\";\n route = { strategy = \"nope\"; }; };", HERALD_E_CONFIG, 2,
      "option \"route.strategy\": no route module \"nope\"" },
    { "g = { s = \"a\";\n route = {\n port = 1; }; };", HERALD_E_CONFIG, 2,
      "option \"route.strategy\": required option is missing" },
    { "g = { s = \"a\";\n route = { strategy = \"fake\";\n bogus = 1; }; };", HERALD_E_CONFIG, 3,
      "option \"route.bogus\": unknown option" },
    { "g = { s = \"a\";\n route = { strategy = \"fake\";\n port = 0; }; };", HERALD_E_CONFIG, 3,
      "option \"route.port\": value 0 out of range (1..65535)" },
    { "g = { s = \"a\";\n route = { strategy = \"fake\";\n port = 13; }; };", HERALD_E_CONFIG, 2,
      "option \"route\": route \"fake\": port 13 is unlucky" },
    { "g = { s = \"a\";\n route = { strategy = 5; }; };", HERALD_E_CONFIG, 2,
      "option \"route.strategy\": wrong type" },
    { "g = { s = \"a\";\n route = \"fake\"; };", HERALD_E_CONFIG, 2,
      "option \"route\": wrong type: expected a group" },
};

/* test_module - a MODULE group: lookup, own options block, check(), on_module */
static void
test_module(void)
{
    const struct fake_opts *fo;
    struct run r;
    size_t k;

    run_apply(&r, "g = { s = \"a\"; route = { strategy = \"fake\"; port = 587; }; };", NULL);
    CU_ASSERT_EQUAL(r.st, HERALD_OK);
    CU_ASSERT_PTR_EQUAL(r.blk.route.module, &fake_route);
    fo = r.blk.route.options;
    CU_ASSERT_PTR_NOT_NULL_FATAL(fo);
    CU_ASSERT_EQUAL(fo->port, 587);
    CU_ASSERT_STRING_EQUAL(fo->word, "dflt");     /* default copied */
    CU_ASSERT_PTR_NOT_EQUAL(fo, &fake_defaults);  /* into its own block */
    CU_ASSERT_EQUAL(modules_seen, 1);
    if (r.st != HERALD_OK)
        fprintf(stderr, "module ok: %s: %s\n", r.diag.where, r.diag.text);
    run_end(&r);

    for (k = 0; k < sizeof module_errors / sizeof module_errors[0]; k++)
        check_error_row(&module_errors[k], NULL);
}

/* test_hostile - overlong names and values fail cleanly, one printable line */
static void
test_hostile(void)
{
    char text[4096], name[1001];
    struct run r;

    memset(name, 'n', sizeof name - 1);
    name[sizeof name - 1] = '\0';
    snprintf(text, sizeof text, "g = { s = \"a\";\n grp = { x = \"b\"; %s = 1; }; };", name);
    run_apply(&r, text, NULL);
    CU_ASSERT_EQUAL(r.st, HERALD_E_CONFIG);
    CU_ASSERT_STRING_EQUAL(r.diag.where, "(string):2");
    CU_ASSERT_PTR_NOT_NULL(strstr(r.diag.text, "option \"grp.nnn"));
    CU_ASSERT(strlen(r.diag.text) < sizeof r.diag.text);
    run_end(&r);

    snprintf(text, sizeof text, "g = { s = \"a\";\n e = \"%s\"; };", name);
    run_apply(&r, text, NULL);
    CU_ASSERT_EQUAL(r.st, HERALD_E_CONFIG);
    CU_ASSERT_PTR_NOT_NULL(strstr(r.diag.text, "unknown value"));
    CU_ASSERT_PTR_NULL(strchr(r.diag.text, '\n'));
    run_end(&r);
}

/* test_where - options_where formats */
static void
test_where(void)
{
    char buf[64];

    options_where(NULL, buf, sizeof buf);
    CU_ASSERT_STRING_EQUAL(buf, "(string)");
}

/* suite_init - temp dir and a registry with the fake module */
static int
suite_init(void)
{
    struct herald_diag d;

    snprintf(tmpdir, sizeof tmpdir, "/tmp/herald-test-options-XXXXXX");
    if (mkdtemp(tmpdir) == NULL)
        return -1;
    if (registry_new(&reg) != HERALD_OK)
        return -1;
    if (registry_add(reg, &fake_route, "test_options", &d) != HERALD_OK) {
        fprintf(stderr, "registry_add: %s: %s\n", d.where, d.text);
        return -1;
    }
    return 0;
}

/* suite_clean - remove what suite_init made */
static int
suite_clean(void)
{
    static const char *const files[] = { "wrap.cfg", "ok.cfg", "secret.cfg", NULL };
    char path[128];
    size_t k;

    for (k = 0; files[k] != NULL; k++) {
        snprintf(path, sizeof path, "%s/%s", tmpdir, files[k]);
        unlink(path);
    }
    rmdir(tmpdir);
    registry_free(&reg);
    return 0;
}

int
main(void)
{
    static const struct test_case cases[] = {
        { "errors from a string", test_string_errors },
        { "accepted values", test_success },
        { "skip list and no label", test_skip },
        { "wrapped integer literals", test_wrapped_literals },
        { "secret file permissions", test_secret_file },
        { "module groups", test_module },
        { "hostile input", test_hostile },
        { "where", test_where },
        { NULL, NULL },
    };

    return test_run_suite("options", suite_init, suite_clean, cases);
}
