/*
 * test_config.c - device files through the whole context: config, registry,
 * loop, trace, driver open(), send
 *
 * The files are in tests/data/config/ ($HERALD_SRC_DIR, exported by
 * "make check").  The driver is a fake device module added with
 * registry_add() and opened with context_open(), so the config checks do
 * not depend on any real driver; files that need a secret or a trace file
 * are written into a mkdtemp directory.  Every broken file is asserted with
 * HERALD_E_CONFIG, the exact FILE:LINE and a key phrase.
 */
#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <CUnit/Basic.h>

#include <herald/herald.h>
#include "context.h"
#include <herald/route.h>
#include "registry.h"
#include "test_main.h"

/* The fake driver's options. */
struct fake_dev_opts {
    const char *path;
    int mode;
    const char *password;
    struct herald_module_ref route;
};
struct fake_route_opts {
    int64_t port;
};

static const struct herald_option fake_route_table[] = {
    { "port", HERALD_OPT_INT, offsetof(struct fake_route_opts, port), 0, 1, 65535, NULL, NULL,
      0, NULL, "port" },
    HERALD_OPT_END
};
static const struct fake_route_opts fake_route_defaults = { 25 };
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
    .name = "fakeroute",
    .summary = "test route",
    .options = fake_route_table,
    .options_size = sizeof(struct fake_route_opts),
    .options_defaults = &fake_route_defaults,
    .ops = &fake_route_ops,
};

static const struct herald_option fake_dev_table[] = {
    { "path", HERALD_OPT_STRING, offsetof(struct fake_dev_opts, path), HERALD_OPT_REQUIRED, 0, 0,
      NULL, NULL, 0, NULL, "folder" },
    { "mode", HERALD_OPT_MODE, offsetof(struct fake_dev_opts, mode), 0, 0, 0, NULL, NULL, 0, NULL,
      "file mode" },
    { "password", HERALD_OPT_STRING, offsetof(struct fake_dev_opts, password), HERALD_OPT_SECRET,
      0, 0, NULL, NULL, 0, NULL, "a secret" },
    { "route", HERALD_OPT_MODULE, offsetof(struct fake_dev_opts, route), 0, 0, 0, NULL, NULL,
      HERALD_KIND_ROUTE, "strategy", "route" },
    HERALD_OPT_END
};
static const struct fake_dev_opts fake_dev_defaults = { NULL, 0600, NULL, { NULL, NULL } };

static int opens, closes, delivers;
static struct herald_env *last_env;

/* fake_open - log the password (the trace must redact it) and remember the env */
static herald_status
fake_open(const char *name, const void *options, struct herald_env *env, void **state_out,
          struct herald_diag *diag)
{
    const struct fake_dev_opts *o = options;

    if (strcmp(o->path, "/fail") == 0)
        return herald_diag_set(diag, HERALD_E_IO, "", "cannot use %s", o->path);
    herald_trace_log(herald_env_trace(env), HERALD_TRACE_INFO, "fake", "open %s password=%s",
                     name, o->password ? o->password : "none");
    opens++;
    last_env = env;
    *state_out = (void *)options;
    return HERALD_OK;
}

/* fake_deliver - every recipient delivered, at once */
static void
fake_deliver(void *state, struct herald_delivery *d)
{
    const struct herald_message *msg = herald_delivery_message(d);
    struct herald_report rep = { HERALD_RESULT_DELIVERED, "250 2.0.0 stored", "2.0.0", NULL,
                                 NULL, false };
    size_t i;

    (void)state;
    delivers++;
    for (i = 0; i < herald_message_recipient_count(msg); i++)
        herald_delivery_report(d, i, &rep);
    herald_delivery_done(d);
}

static void
fake_close(void *state)
{
    (void)state;
    closes++;
}

static const struct herald_device_ops fake_ops = {
    .struct_size = sizeof(struct herald_device_ops),
    .open = fake_open,
    .deliver = fake_deliver,
    .close = fake_close,
};
static const struct herald_module fake_dev = {
    HERALD_MODULE_HEADER(HERALD_KIND_DEVICE),
    .name = "fake",
    .summary = "test device",
    .options = fake_dev_table,
    .options_size = sizeof(struct fake_dev_opts),
    .options_defaults = &fake_dev_defaults,
    .ops = &fake_ops,
};

static char datadir[512];
static char tmpdir[64];

/* open_with_fakes - context_open on path with the fake modules registered */
static herald_status
open_with_fakes(const char *path, struct herald_context **ctx_out, struct herald_diag *diag)
{
    struct registry *reg = NULL;
    struct herald_diag d;

    CU_ASSERT_FATAL(registry_new(&reg) == HERALD_OK);
    CU_ASSERT_FATAL(registry_add(reg, &fake_dev, "test_config", &d) == HERALD_OK);
    CU_ASSERT_FATAL(registry_add(reg, &fake_route, "test_config", &d) == HERALD_OK);
    memset(diag, 0, sizeof *diag);
    return context_open(path, &reg, ctx_out, diag);
}

/* data_path - tests/data/config/NAME in the source tree */
static const char *
data_path(const char *name)
{
    static char path[600];

    snprintf(path, sizeof path, "%s/%s", datadir, name);
    return path;
}

struct badfile {
    const char *file;          /* in tests/data/config */
    const char *where_file;    /* the file the error is in (an @include'd one) */
    int line;
    herald_status want;
    const char *phrase;
};

static const struct badfile bad_files[] = {
    { "unknown-option.conf", NULL, 4, HERALD_E_CONFIG,
      "device \"one\": option \"colour\": unknown option" },
    { "wrong-type.conf", NULL, 4, HERALD_E_CONFIG,
      "device \"one\": option \"route.port\": wrong type: expected an integer, got a string" },
    { "missing-required.conf", NULL, 3, HERALD_E_CONFIG,
      "device \"one\": option \"path\": required option is missing" },
    { "out-of-range.conf", NULL, 3, HERALD_E_CONFIG,
      "herald: option \"dns.timeout_ms\": value 99 out of range (100..60000)" },
    { "unknown-driver.conf", NULL, 3, HERALD_E_CONFIG,
      "device \"one\": no driver \"no-such-driver\": device-no-such-driver.so not found in" },
    { "duplicate-device.conf", NULL, 4, HERALD_E_CONFIG,
      "device \"one\": duplicate device name (first defined at " },
    { "syntax-error.conf", NULL, 5, HERALD_E_CONFIG, "syntax error" },
    { "include-main.conf", "include-part.inc", 4, HERALD_E_CONFIG,
      "device \"two\": option \"mode\": \"0888\" is not an octal file mode" },
    { "unknown-top.conf", NULL, 2, HERALD_E_CONFIG, "unknown top-level setting \"device\"" },
    { "sendmail-device.conf", NULL, 3, HERALD_E_CONFIG,
      "herald: option \"sendmail_device\": no device is named \"three\"" },
};

/* test_bad_files - each broken file: status, exact FILE:LINE, key phrase */
static void
test_bad_files(void)
{
    struct herald_context *ctx = NULL;
    struct herald_diag d;
    char where[700];
    size_t k;

    for (k = 0; k < sizeof bad_files / sizeof bad_files[0]; k++) {
        const struct badfile *b = &bad_files[k];
        herald_status st = open_with_fakes(data_path(b->file), &ctx, &d);

        snprintf(where, sizeof where, "%s:%d", data_path(b->where_file ? b->where_file : b->file),
                 b->line);
        CU_ASSERT_EQUAL(st, b->want);
        CU_ASSERT_STRING_EQUAL(d.where, where);
        CU_ASSERT_PTR_NOT_NULL(strstr(d.text, b->phrase));
        CU_ASSERT_PTR_NULL(ctx);
        if (st != b->want || strcmp(d.where, where) != 0 || strstr(d.text, b->phrase) == NULL)
            fprintf(stderr, "%s: got %d %s: %s\n", b->file, st, d.where, d.text);
        herald_close(&ctx);
    }
    /* The duplicate names the first definition's line. */
    open_with_fakes(data_path("duplicate-device.conf"), &ctx, &d);
    snprintf(where, sizeof where, "first defined at %s:2", data_path("duplicate-device.conf"));
    CU_ASSERT_PTR_NOT_NULL(strstr(d.text, where));
}

/* test_missing_file - an unreadable file: where is the path, text strerror */
static void
test_missing_file(void)
{
    struct herald_context *ctx = NULL;
    struct herald_diag d;
    const char *path = data_path("no-such-file.conf");

    CU_ASSERT_EQUAL(open_with_fakes(path, &ctx, &d), HERALD_E_CONFIG);
    CU_ASSERT_STRING_EQUAL(d.where, path);
    CU_ASSERT_PTR_NOT_NULL(strstr(d.text, "No such file or directory"));
    CU_ASSERT_PTR_NULL(ctx);
    CU_ASSERT_EQUAL(open_with_fakes(datadir, &ctx, &d), HERALD_E_CONFIG);
    CU_ASSERT_PTR_NOT_NULL(strstr(d.text, "Is a directory"));
    CU_ASSERT_PTR_NULL(ctx);
}

/* test_good_file - devices, their modules, dns settings, open/close calls */
static void
test_good_file(void)
{
    struct herald_context *ctx = NULL;
    struct herald_device *dev = NULL;
    const char *kind = NULL, *name = NULL, *path = NULL;
    struct herald_diag d;
    char where[700];
    herald_status st;

    opens = closes = 0;
    st = open_with_fakes(data_path("good.conf"), &ctx, &d);
    CU_ASSERT_EQUAL_FATAL(st, HERALD_OK);
    CU_ASSERT_EQUAL(opens, 2);
    CU_ASSERT_EQUAL(herald_device_count(ctx), 2);
    CU_ASSERT_PTR_NULL(herald_device_at(ctx, 2));
    CU_ASSERT_EQUAL(herald_device(ctx, "two.b-2", &dev, &d), HERALD_OK);
    CU_ASSERT_PTR_EQUAL(dev, herald_device_at(ctx, 1));
    CU_ASSERT_STRING_EQUAL(herald_device_name(dev), "two.b-2");
    snprintf(where, sizeof where, "%s:8", data_path("good.conf"));
    CU_ASSERT_STRING_EQUAL(herald_device_where(dev), where);
    CU_ASSERT_EQUAL(herald_device_module_count(dev), 2);
    CU_ASSERT_EQUAL(herald_device_module(dev, 0, &kind, &name, &path), HERALD_OK);
    CU_ASSERT_STRING_EQUAL(kind, "device");
    CU_ASSERT_STRING_EQUAL(name, "fake");
    CU_ASSERT_EQUAL(herald_device_module(dev, 1, &kind, &name, &path), HERALD_OK);
    CU_ASSERT_STRING_EQUAL(kind, "route");
    CU_ASSERT_STRING_EQUAL(name, "fakeroute");
    kind = NULL;
    CU_ASSERT_EQUAL(herald_device_module(dev, 2, &kind, &name, &path), HERALD_E_NOTFOUND);
    CU_ASSERT_PTR_NULL(kind);

    /* The device's dns group overrides servers and tries, keeps the global timeout. */
    CU_ASSERT_EQUAL(dev->env.dns_servers->count, 1);
    CU_ASSERT_STRING_EQUAL(dev->env.dns_servers->items[0], "127.0.0.2:53");
    CU_ASSERT_EQUAL(dev->env.dns_tries, 3);
    CU_ASSERT_EQUAL(dev->env.dns_timeout_ms, 2000);
    dev = herald_device_at(ctx, 0);
    CU_ASSERT_EQUAL(dev->env.dns_servers->count, 2);
    CU_ASSERT_STRING_EQUAL(dev->env.dns_servers->items[1], "[::1]:5300");
    CU_ASSERT_EQUAL(dev->env.dns_tries, 2);
    CU_ASSERT_EQUAL(herald_device_module_count(dev), 1);

    CU_ASSERT_EQUAL(herald_device(ctx, "three", &dev, &d), HERALD_E_NOTFOUND);
    CU_ASSERT_PTR_NOT_NULL(strstr(d.text, "no device \"three\""));
    herald_close(&ctx);
    CU_ASSERT_PTR_NULL(ctx);
    CU_ASSERT_EQUAL(closes, 2);
}

/* write_tmp - text into tmpdir/name with mode; returns the path */
static const char *
write_tmp(const char *name, const char *text, mode_t mode)
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

/* read_tmp - a temp file's content (bounded) */
static void
read_tmp(const char *name, char *buf, size_t size)
{
    char path[128];
    size_t n = 0;
    FILE *fp;

    snprintf(path, sizeof path, "%s/%s", tmpdir, name);
    buf[0] = '\0';
    fp = fopen(path, "r");
    if (fp == NULL)
        return;
    n = fread(buf, 1, size - 1, fp);
    buf[n] = '\0';
    fclose(fp);
}

/* test_trace_and_secret - open lines in the trace, the secret redacted,
 * herald_set_trace re-registering it on the new sink */
static void
test_trace_and_secret(void)
{
    struct herald_context *ctx = NULL;
    struct herald_diag d;
    char text[600], buf[8192];
    const char *path;

    snprintf(text, sizeof text,
             "herald: { trace: { file = \"%s/trace.log\"; level = \"debug\"; }; };\n"
             "devices = ( { name = \"s\"; driver = \"fake\"; path = \"/tmp/s\";\n"
             "  password = \"Sup3rSecretPw\";\n"
             "  route: { strategy = \"fakeroute\"; }; } );\n", tmpdir);
    path = write_tmp("secret.conf", text, 0644);
    CU_ASSERT_EQUAL(open_with_fakes(path, &ctx, &d), HERALD_E_CONFIG);
    CU_ASSERT_PTR_NOT_NULL(strstr(d.text, "chmod 600"));
    CU_ASSERT_PTR_NULL(strstr(d.text, "Sup3rSecretPw"));

    path = write_tmp("secret.conf", text, 0600);
    CU_ASSERT_EQUAL_FATAL(open_with_fakes(path, &ctx, &d), HERALD_OK);
    read_tmp("trace.log", buf, sizeof buf);
    CU_ASSERT_PTR_NOT_NULL(strstr(buf, "loaded device s driver fake from test_config"));
    CU_ASSERT_PTR_NOT_NULL(strstr(buf, "device s uses route module fakeroute"));
    CU_ASSERT_PTR_NOT_NULL(strstr(buf, "password="));
    CU_ASSERT_PTR_NULL(strstr(buf, "Sup3rSecretPw"));

    /* A new sink: still redacted. */
    snprintf(text, sizeof text, "%s/trace2.log", tmpdir);
    CU_ASSERT_EQUAL(herald_set_trace(ctx, text, "json", NULL, &d), HERALD_OK);
    herald_trace_log(last_env ? herald_env_trace(last_env) : NULL,
                     HERALD_TRACE_INFO, "test", "again %s", "Sup3rSecretPw");
    read_tmp("trace2.log", buf, sizeof buf);
    CU_ASSERT_PTR_NOT_NULL(strstr(buf, "again"));
    CU_ASSERT_PTR_NULL(strstr(buf, "Sup3rSecretPw"));
    CU_ASSERT_EQUAL(herald_set_trace(ctx, NULL, "xml", NULL, &d), HERALD_E_INVAL);
    CU_ASSERT_EQUAL(herald_set_trace(ctx, NULL, NULL, "loud", &d), HERALD_E_INVAL);
    herald_close(&ctx);
}

/* test_include_checks - an @include'd file gets its own secret permission
 * check and literal re-read, under its real path */
static void
test_include_checks(void)
{
    struct herald_context *ctx = NULL;
    struct herald_diag d;
    char where[200];
    const char *main_path;

    write_tmp("part.inc", "devices = ( { name = \"s\"; driver = \"fake\"; path = \"/s\";\n"
                          "  password = \"Sup3rSecretPw\"; } );\n", 0644);
    main_path = write_tmp("inc.conf", "@include \"part.inc\"\n", 0600);
    CU_ASSERT_EQUAL(open_with_fakes(main_path, &ctx, &d), HERALD_E_CONFIG);
    snprintf(where, sizeof where, "%s/part.inc:2", tmpdir);
    CU_ASSERT_STRING_EQUAL(d.where, where);
    CU_ASSERT_PTR_NOT_NULL(strstr(d.text, "chmod 600"));
    CU_ASSERT_PTR_NULL(ctx);

    write_tmp("part.inc", "devices = ( { name = \"s\"; driver = \"fake\"; path = \"/s\";\n"
                          "  route: { strategy = \"fakeroute\";\n"
                          "           port = 4294967321; }; } );\n", 0644);
    CU_ASSERT_EQUAL(open_with_fakes(main_path, &ctx, &d), HERALD_E_CONFIG);
    snprintf(where, sizeof where, "%s/part.inc:3", tmpdir);
    CU_ASSERT_STRING_EQUAL(d.where, where);
    CU_ASSERT_PTR_NOT_NULL(strstr(d.text, "option \"route.port\": integer literal too large"));
    CU_ASSERT_PTR_NULL(ctx);
}

/* expect_error - opening path fails with HERALD_E_CONFIG at where_file:line, text has phrase */
static void
expect_error(const char *path, const char *where_file, int line, const char *phrase)
{
    struct herald_context *ctx = NULL;
    struct herald_diag d;
    char where[300];

    snprintf(where, sizeof where, "%s:%d", where_file, line);
    CU_ASSERT_EQUAL(open_with_fakes(path, &ctx, &d), HERALD_E_CONFIG);
    CU_ASSERT_STRING_EQUAL(d.where, where);
    CU_ASSERT_PTR_NOT_NULL(strstr(d.text, phrase));
    CU_ASSERT_PTR_NULL(ctx);
    if (strcmp(d.where, where) != 0 || strstr(d.text, phrase) == NULL)
        fprintf(stderr, "%s: got %s: %s\n", path, d.where, d.text);
    herald_close(&ctx);
}

/* test_literal_own_token - the wrap check reads the setting's own literal,
 * never a "name = value" in a comment or string on the same line, nor a
 * same-named setting of another group (issue 8 item 8) */
static void
test_literal_own_token(void)
{
    struct herald_context *ctx = NULL;
    struct herald_device *dev = NULL;
    struct herald_diag d;
    const char *path;

    path = write_tmp("lit.conf",
                     "devices = ( { name = \"s\"; driver = \"fake\"; path = \"/s\";\n"
                     "  route: { strategy = \"fakeroute\";\n"
                     "           port = 4294967321; # port = 25\n"
                     "  }; } );\n", 0600);
    expect_error(path, path, 3, "option \"route.port\": integer literal too large");
    write_tmp("lit.conf",
              "devices = ( { name = \"s\"; driver = \"fake\"; path = \"/s\";\n"
              "  route: { strategy = \"fakeroute\"; /* port = 25 */ port = 4294967321; }; } );\n",
              0600);
    expect_error(path, path, 2, "integer literal too large");
    write_tmp("lit.conf",
              "devices = ( { name = \"s\"; driver = \"fake\"; path = \"/s port = 25\";\n"
              "  route: { strategy = \"fakeroute\"; port = 4294967321; }; } );\n", 0600);
    expect_error(path, path, 2, "integer literal too large");
    /* Two devices on one line: the second one's port is its own. */
    write_tmp("lit.conf",
              "devices = ( { name = \"a\"; driver = \"fake\"; path = \"/a\"; route: { strategy"
              " = \"fakeroute\"; port = 25; }; }, { name = \"b\"; driver = \"fake\"; path = \"/b\";"
              " route: { strategy = \"fakeroute\"; port = 4294967321; }; } );\n", 0600);
    expect_error(path, path, 1, "option \"route.port\": integer literal too large");
    /* Legitimate: the value in a comment may be anything, the literal may sit below. */
    write_tmp("lit.conf",
              "devices = ( { name = \"s\"; driver = \"fake\"; path = \"/s\";\n"
              "  route: { strategy = \"fakeroute\"; port = # port = 4294967321\n"
              "    /* 99999999999999999999 */ 2525; }; } );\n", 0600);
    CU_ASSERT_EQUAL(open_with_fakes(path, &ctx, &d), HERALD_OK);
    CU_ASSERT_EQUAL(herald_device(ctx, "s", &dev, &d), HERALD_OK);
    herald_close(&ctx);
}

/* test_include_paths - an absolute @include works (libconfig 1.5 would put
 * the include directory in front), a relative one is relative to the file
 * that says it, and errors name the file and line they are in */
static void
test_include_paths(void)
{
    struct herald_context *ctx = NULL;
    struct herald_device *dev = NULL;
    struct herald_diag d;
    char text[400], where[400], sub[200], inner[300];
    const char *path;

    snprintf(sub, sizeof sub, "%s/sub", tmpdir);
    CU_ASSERT_FATAL(mkdir(sub, 0700) == 0 || errno == EEXIST);
    write_tmp("sub/inner.inc",
              "devices = ( { name = \"inner\"; driver = \"fake\"; path = \"/i\"; } );\n", 0600);
    write_tmp("sub/outer.inc", "# the folder of this file\n@include \"inner.inc\" # after\n", 0600);
    snprintf(text, sizeof text, "herald: { };\n  @include \"%s/outer.inc\"\n", sub);
    path = write_tmp("abs.conf", text, 0600);
    CU_ASSERT_EQUAL(open_with_fakes(path, &ctx, &d), HERALD_OK);
    if (ctx == NULL)
        fprintf(stderr, "abs.conf: %s: %s\n", d.where, d.text);
    CU_ASSERT_EQUAL(herald_device(ctx, "inner", &dev, &d), HERALD_OK);
    snprintf(inner, sizeof inner, "%s/inner.inc", sub);
    snprintf(where, sizeof where, "%s:1", inner);
    if (dev != NULL)
        CU_ASSERT_STRING_EQUAL(herald_device_where(dev), where);
    herald_close(&ctx);

    /* An error after an include: the line of the including file. */
    snprintf(text, sizeof text, "@include \"%s/outer.inc\"\nherald: { colour = 1; };\n", sub);
    path = write_tmp("abs.conf", text, 0600);
    expect_error(path, path, 2, "option \"colour\": unknown option");
    /* In the included file: its own name and line. */
    write_tmp("sub/inner.inc", "devices = ( { name = \"inner\"; driver = \"fake\";\n"
                               "  path = \"/i\"; port = 4294967321; } );\n", 0600);
    expect_error(path, inner, 2, "option \"port\"");
    /* A file that is not there: the directive's file and line. */
    path = write_tmp("abs.conf", "herald: { };\n@include \"/nonexistent/herald.inc\"\n", 0600);
    expect_error(path, path, 2, "/nonexistent/herald.inc");
    /* A cycle ends, with a reason. */
    path = write_tmp("sub/self.inc", "@include \"self.inc\"\n", 0600);
    snprintf(where, sizeof where, "%s", path);
    expect_error(where, where, 1, "nested too deep");
}

/* test_open_failure - a driver open() error names the device's line */
static void
test_open_failure(void)
{
    struct herald_context *ctx = NULL;
    struct herald_diag d;
    char where[200];
    const char *path;

    closes = 0;
    path = write_tmp("fail.conf", "devices = ( { name = \"a\"; driver = \"fake\"; path = \"/a\"; },\n"
                                  "  { name = \"b\"; driver = \"fake\"; path = \"/fail\"; } );\n",
                     0600);
    CU_ASSERT_EQUAL(open_with_fakes(path, &ctx, &d), HERALD_E_IO);
    snprintf(where, sizeof where, "%s:2", path);
    CU_ASSERT_STRING_EQUAL(d.where, where);
    CU_ASSERT_PTR_NOT_NULL(strstr(d.text, "device \"b\": driver \"fake\": cannot use /fail"));
    CU_ASSERT_EQUAL(closes, 1);     /* the device opened before is closed again */
    CU_ASSERT_PTR_NULL(ctx);
}

/* test_send - herald_send through the fake driver */
static void
test_send(void)
{
    struct herald_context *ctx = NULL;
    struct herald_device *dev = NULL;
    struct herald_message *msg = NULL;
    struct herald_outcome *o = NULL;
    struct herald_diag d;

    CU_ASSERT_EQUAL_FATAL(open_with_fakes(data_path("good.conf"), &ctx, &d), HERALD_OK);
    CU_ASSERT_EQUAL_FATAL(herald_device(ctx, "one", &dev, &d), HERALD_OK);
    CU_ASSERT_EQUAL_FATAL(herald_message_new(&msg), HERALD_OK);
    CU_ASSERT_EQUAL(herald_message_set_sender(msg, "a@example.test"), HERALD_OK);
    CU_ASSERT_EQUAL(herald_message_set_body_buffer(msg, "hi\r\n", 4), HERALD_OK);
    CU_ASSERT_EQUAL(herald_send(dev, msg, &o, &d), HERALD_E_INVAL);   /* no recipient */
    CU_ASSERT_PTR_NULL(o);
    CU_ASSERT_EQUAL(herald_message_add_recipient(msg, "b@example.test"), HERALD_OK);
    CU_ASSERT_EQUAL(herald_message_add_recipient(msg, "c@example.test"), HERALD_OK);
    delivers = 0;
    CU_ASSERT_EQUAL(herald_send(dev, msg, &o, &d), HERALD_OK);
    CU_ASSERT_EQUAL(delivers, 1);
    CU_ASSERT_PTR_NOT_NULL_FATAL(o);
    CU_ASSERT_EQUAL(herald_outcome_count(o), 2);
    CU_ASSERT_EQUAL(herald_outcome_tally(o, HERALD_RESULT_DELIVERED), 2);
    herald_outcome_free(&o);
    herald_message_free(&msg);
    herald_close(&ctx);
}

/* test_misc - version, default path, NULL-safe close */
static void
test_misc(void)
{
    struct herald_context *ctx = NULL;

    CU_ASSERT_STRING_EQUAL(herald_version(), PACKAGE_VERSION);
    setenv("HERALD_CONF", "/x/y.conf", 1);
    CU_ASSERT_STRING_EQUAL(herald_default_config_path(), "/x/y.conf");
    unsetenv("HERALD_CONF");
    CU_ASSERT_PTR_NOT_NULL(strstr(herald_default_config_path(), "/herald.conf"));
    herald_close(&ctx);
    herald_close(NULL);
}

/* test_sendmail_device - herald.sendmail_device and the queue group, as read */
static void
test_sendmail_device(void)
{
    struct herald_context *ctx = NULL;
    struct herald_diag d;

    CU_ASSERT_EQUAL_FATAL(open_with_fakes(data_path("sendmail-good.conf"), &ctx, &d), HERALD_OK);
    CU_ASSERT_STRING_EQUAL(herald_sendmail_device(ctx), "two");
    CU_ASSERT_FALSE(herald_queue_configured(ctx));
    herald_close(&ctx);
    CU_ASSERT_EQUAL_FATAL(open_with_fakes(data_path("good.conf"), &ctx, &d), HERALD_OK);
    CU_ASSERT_PTR_NULL(herald_sendmail_device(ctx));
    herald_close(&ctx);
    CU_ASSERT_PTR_NULL(herald_sendmail_device(NULL));
    CU_ASSERT_FALSE(herald_queue_configured(NULL));
}

static int
suite_init(void)
{
    const char *src = getenv("HERALD_SRC_DIR");

    snprintf(datadir, sizeof datadir, "%s/tests/data/config", src ? src : ".");
    snprintf(tmpdir, sizeof tmpdir, "/tmp/herald-test-config-XXXXXX");
    return mkdtemp(tmpdir) == NULL ? -1 : 0;
}

static int
suite_clean(void)
{
    static const char *const files[] = { "secret.conf", "fail.conf", "inc.conf", "part.inc",
                                         "trace.log", "trace2.log", "lit.conf", "abs.conf",
                                         "sub/inner.inc", "sub/outer.inc", "sub/self.inc",
                                         "sub", NULL };
    char path[128];
    size_t k;

    for (k = 0; files[k] != NULL; k++) {
        snprintf(path, sizeof path, "%s/%s", tmpdir, files[k]);
        if (unlink(path) != 0)
            rmdir(path);
    }
    rmdir(tmpdir);
    return 0;
}

int
main(void)
{
    static const struct test_case cases[] = {
        { "broken files", test_bad_files },
        { "missing file", test_missing_file },
        { "good file", test_good_file },
        { "trace and secret", test_trace_and_secret },
        { "include checks", test_include_checks },
        { "integer literal: its own token", test_literal_own_token },
        { "include paths", test_include_paths },
        { "driver open failure", test_open_failure },
        { "send", test_send },
        { "misc", test_misc },
        { "sendmail_device", test_sendmail_device },
        { NULL, NULL },
    };

    return test_run_suite("config", suite_init, suite_clean, cases);
}
