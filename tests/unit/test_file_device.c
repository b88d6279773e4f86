/*
 * test_file_device.c - deliveries and outcomes (core/delivery.c, core/outcome.c)
 * and the "file" device, loaded from device-file.so through the registry
 *
 * The module is found in $HERALD_PLUGIN_PATH (set by "make check").  Failure
 * cases that need a process's own limits (permissions as another user, a
 * file size limit) run in a forked child, which reports its outcome reply
 * through a pipe; the parent then checks that nothing was left behind.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <CUnit/Basic.h>
#include <herald/herald.h>
#include "delivery.h"
#include "env.h"
#include "registry.h"
#include "trace_sink.h"
#include "test_main.h"

static char base[] = "/tmp/herald-file-XXXXXX";
static char trace_path[600];
static struct registry *reg;
static const struct herald_module *mod;
static const struct herald_device_ops *ops;
static struct herald_loop *loop;
static struct trace_sink *sink;
static struct herald_env env;
static unsigned folder_seq;

/* ---- helpers ---------------------------------------------------------- */

struct wait_outcome {
    struct herald_outcome *outcome;
    int calls;
};

/* on_done - delivery finished: keep the outcome */
static void
on_done(void *arg, struct herald_outcome *o)
{
    struct wait_outcome *w = arg;

    w->outcome = o;
    w->calls++;
}

/* is_done - loop condition */
static bool
is_done(void *arg)
{
    return ((struct wait_outcome *)arg)->calls > 0;
}

/* new_folder - a fresh folder path under base (not created) */
static void
new_folder(char *path, size_t size)
{
    snprintf(path, size, "%s/f%u", base, ++folder_seq);
}

/* opt_find - the option table entry named name */
static const struct herald_option *
opt_find(const char *name)
{
    const struct herald_option *o;

    for (o = mod->options; o != NULL && o->name != NULL; o++)
        if (strcmp(o->name, name) == 0)
            return o;
    return NULL;
}

/* options_make - the module's defaults with path/name/mode/create set, as the core does */
static void *
options_make(const char *path, const char *name, int mode, int create)
{
    unsigned char *block = calloc(1, mod->options_size);
    const struct herald_option *o;

    if (block == NULL)
        return NULL;
    if (mod->options_defaults != NULL)
        memcpy(block, mod->options_defaults, mod->options_size);
    if (path != NULL && (o = opt_find("path")) != NULL)
        memcpy(block + o->offset, &path, sizeof path);
    if (name != NULL && (o = opt_find("filename")) != NULL)
        memcpy(block + o->offset, &name, sizeof name);
    if (mode >= 0 && (o = opt_find("mode")) != NULL)
        memcpy(block + o->offset, &mode, sizeof mode);
    if (create >= 0 && (o = opt_find("create")) != NULL) {
        bool b = create != 0;

        memcpy(block + o->offset, &b, sizeof b);
    }
    return block;
}

/* run_delivery - check, open, deliver msg and wait (bounded) for the outcome */
static struct herald_outcome *
run_delivery(const void *opts, const struct herald_message *msg)
{
    struct wait_outcome w = { 0 };
    struct herald_delivery *d = NULL;
    struct herald_diag diag;
    void *state = NULL;

    if (mod->check(opts, &diag) != HERALD_OK ||
        ops->open("files", opts, &env, &state, &diag) != HERALD_OK) {
        fprintf(stderr, "open failed: %s\n", diag.text);
        return NULL;
    }
    if (delivery_new(msg, &env, sink, on_done, &w, &d) != HERALD_OK) {
        ops->close(state);
        return NULL;
    }
    ops->deliver(state, d);
    if (herald_loop_run(loop, is_done, &w, 10000) != HERALD_OK && w.calls == 0)
        fprintf(stderr, "delivery did not finish\n");
    ops->close(state);
    CU_ASSERT_EQUAL(w.calls, 1);
    return w.outcome;
}

/* message_make - one message to n recipients with the given body (borrowed) */
static struct herald_message *
message_make(const void *body, size_t len, size_t n)
{
    struct herald_message *m = NULL;
    char addr[64];
    size_t i;

    if (herald_message_new(&m) != HERALD_OK)
        return NULL;
    herald_message_set_sender(m, "from@example.com");
    for (i = 0; i < n; i++) {
        snprintf(addr, sizeof addr, "rcpt%zu@example.com", i);
        herald_message_add_recipient(m, addr);
    }
    herald_message_set_body_buffer(m, body, len);
    return m;
}

/* written_path - the path in "250 2.0.0 written to PATH" */
static const char *
written_path(const struct herald_outcome *o, size_t i)
{
    const char *r = herald_outcome_reply(o, i), *p;

    p = r != NULL ? strstr(r, "written to ") : NULL;
    return p != NULL ? p + strlen("written to ") : NULL;
}

/* file_equals - the file at path holds exactly data[0..len) */
static int
file_equals(const char *path, const void *data, size_t len)
{
    unsigned char buf[65536];
    size_t off = 0;
    int fd, same = 1;
    ssize_t n;

    fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return 0;
    while (same && (n = read(fd, buf, sizeof buf)) > 0) {
        if (off + (size_t)n > len || memcmp(buf, (const unsigned char *)data + off, (size_t)n))
            same = 0;
        off += (size_t)n;
    }
    close(fd);
    return same && off == len;
}

/* count_entries - files in dir; those starting with ".tmp-" counted in *tmp */
static int
count_entries(const char *dir, int *tmp)
{
    struct dirent *e;
    DIR *dp = opendir(dir);
    int n = 0;

    *tmp = 0;
    if (dp == NULL)
        return -1;
    while ((e = readdir(dp)) != NULL) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
            continue;
        n++;
        if (strncmp(e->d_name, ".tmp-", 5) == 0)
            (*tmp)++;
    }
    closedir(dp);
    return n;
}

/* deliver_and_compare - one body through the device, the file must match byte for byte */
static void
deliver_and_compare(const void *body, size_t len)
{
    char dir[600];
    struct herald_message *m;
    struct herald_outcome *o;
    const char *path;
    void *opts;
    int tmp = -1;

    new_folder(dir, sizeof dir);
    CU_ASSERT_EQUAL_FATAL(mkdir(dir, 0700), 0);
    opts = options_make(dir, NULL, -1, -1);
    m = message_make(body, len, 2);
    CU_ASSERT_PTR_NOT_NULL_FATAL(opts && m ? opts : NULL);
    o = run_delivery(opts, m);
    CU_ASSERT_PTR_NOT_NULL_FATAL(o);
    CU_ASSERT_EQUAL(herald_outcome_count(o), 2);
    CU_ASSERT_EQUAL(herald_outcome_tally(o, HERALD_RESULT_DELIVERED), 2);
    CU_ASSERT_STRING_EQUAL(herald_outcome_dsn(o, 1), "2.0.0");
    CU_ASSERT(strncmp(herald_outcome_reply(o, 0), "250 2.0.0 written to ", 21) == 0);
    path = written_path(o, 0);
    CU_ASSERT_PTR_NOT_NULL_FATAL(path);
    CU_ASSERT(strncmp(path, dir, strlen(dir)) == 0);
    /* Default pattern "%T-%i.eml": the trace id is in the name. */
    CU_ASSERT_PTR_NOT_NULL(strstr(path, herald_outcome_trace_id(o)));
    CU_ASSERT(file_equals(path, body, len));
    CU_ASSERT_EQUAL(count_entries(dir, &tmp), 1);
    CU_ASSERT_EQUAL(tmp, 0);
    herald_outcome_free(&o);
    herald_message_free(&m);
    free(opts);
}

/* ---- delivery and outcome --------------------------------------------- */

/* test_delivery_reports - reports replace the pending state; unreported stay deferred */
static void
test_delivery_reports(void)
{
    struct wait_outcome w = { 0 };
    struct herald_delivery *d = NULL;
    struct herald_message *m = message_make("x", 1, 3);
    struct herald_report rep = { 0 };
    struct herald_outcome *o;
    char long_reply[3000];

    CU_ASSERT_PTR_NOT_NULL_FATAL(m);
    CU_ASSERT_EQUAL_FATAL(delivery_new(m, &env, sink, on_done, &w, &d), HERALD_OK);
    CU_ASSERT_PTR_EQUAL(herald_delivery_message(d), m);
    CU_ASSERT_PTR_EQUAL(herald_delivery_env(d), &env);
    CU_ASSERT_EQUAL(strlen(herald_trace_id(herald_delivery_trace(d))), 12);

    rep.result = HERALD_RESULT_DEFERRED;
    rep.reply = "451 4.4.1 try later";
    rep.dsn = "4.4.1";
    CU_ASSERT_EQUAL(herald_delivery_report(d, 0, &rep), HERALD_OK);
    /* A later report replaces the earlier one; hostile text is made printable. */
    rep.result = HERALD_RESULT_DELIVERED;
    rep.reply = "250 2.0.0 Ok\r\nforged: line\x1b";
    rep.dsn = "2.0.0";
    rep.host = "mx1.example.com";
    rep.peer = "127.0.0.1:25";
    CU_ASSERT_EQUAL(herald_delivery_report(d, 0, &rep), HERALD_OK);
    memset(long_reply, 'A', sizeof long_reply - 1);
    long_reply[sizeof long_reply - 1] = '\0';
    memcpy(long_reply, "550 ", 4);
    rep.result = HERALD_RESULT_FAILED;
    rep.reply = long_reply;
    rep.dsn = NULL;
    rep.host = NULL;
    rep.peer = NULL;
    rep.possibly_delivered = true;
    CU_ASSERT_EQUAL(herald_delivery_report(d, 1, &rep), HERALD_OK);
    /* Contract violations change nothing. */
    CU_ASSERT_EQUAL(herald_delivery_report(d, 3, &rep), HERALD_E_INVAL);
    rep.reply = NULL;
    CU_ASSERT_EQUAL(herald_delivery_report(d, 2, &rep), HERALD_E_INVAL);
    rep.reply = "x";
    rep.result = (enum herald_result)7;
    CU_ASSERT_EQUAL(herald_delivery_report(d, 2, &rep), HERALD_E_INVAL);
    CU_ASSERT_EQUAL(w.calls, 0);
    herald_delivery_done(d);
    CU_ASSERT_EQUAL_FATAL(w.calls, 1);
    o = w.outcome;
    CU_ASSERT_EQUAL(herald_outcome_count(o), 3);
    CU_ASSERT_EQUAL(strlen(herald_outcome_trace_id(o)), 12);
    CU_ASSERT_STRING_EQUAL(herald_outcome_address(o, 0), "rcpt0@example.com");
    CU_ASSERT_EQUAL(herald_outcome_result(o, 0), HERALD_RESULT_DELIVERED);
    CU_ASSERT_STRING_EQUAL(herald_outcome_reply(o, 0), "250 2.0.0 Ok??forged: line?");
    CU_ASSERT_STRING_EQUAL(herald_outcome_dsn(o, 0), "2.0.0");
    CU_ASSERT_STRING_EQUAL(herald_outcome_host(o, 0), "mx1.example.com");
    CU_ASSERT_STRING_EQUAL(herald_outcome_peer(o, 0), "127.0.0.1:25");
    CU_ASSERT_FALSE(herald_outcome_possibly_delivered(o, 0));
    CU_ASSERT_EQUAL(herald_outcome_result(o, 1), HERALD_RESULT_FAILED);
    CU_ASSERT_EQUAL(strlen(herald_outcome_reply(o, 1)), 1000);
    CU_ASSERT_STRING_EQUAL(herald_outcome_dsn(o, 1), "");
    CU_ASSERT_STRING_EQUAL(herald_outcome_host(o, 1), "");
    CU_ASSERT(herald_outcome_possibly_delivered(o, 1));
    /* Never reported: deferred, never dropped. */
    CU_ASSERT_EQUAL(herald_outcome_result(o, 2), HERALD_RESULT_DEFERRED);
    CU_ASSERT_PTR_NOT_NULL(strstr(herald_outcome_reply(o, 2), "no outcome recorded"));
    CU_ASSERT_STRING_EQUAL(herald_outcome_dsn(o, 2), "4.3.0");
    CU_ASSERT_EQUAL(herald_outcome_tally(o, HERALD_RESULT_DELIVERED), 1);
    CU_ASSERT_EQUAL(herald_outcome_tally(o, HERALD_RESULT_FAILED), 1);
    CU_ASSERT_EQUAL(herald_outcome_tally(o, HERALD_RESULT_DEFERRED), 1);
    /* Out of range: NULL / defaults. */
    CU_ASSERT_PTR_NULL(herald_outcome_address(o, 3));
    CU_ASSERT_PTR_NULL(herald_outcome_reply(o, 3));
    CU_ASSERT_EQUAL(herald_outcome_count(NULL), 0);
    CU_ASSERT_STRING_EQUAL(herald_result_name(HERALD_RESULT_DELIVERED), "delivered");
    CU_ASSERT_STRING_EQUAL(herald_result_name(HERALD_RESULT_DEFERRED), "deferred");
    CU_ASSERT_STRING_EQUAL(herald_result_name(HERALD_RESULT_FAILED), "failed");
    herald_outcome_free(&o);
    CU_ASSERT_PTR_NULL(o);
    herald_outcome_free(&o);
    herald_message_free(&m);
}

/* test_delivery_trace - the trace shows each outcome and flags the unreported one */
static void
test_delivery_trace(void)
{
    struct wait_outcome w = { 0 };
    struct herald_delivery *d = NULL;
    struct herald_message *m = message_make("x", 1, 2);
    struct herald_report rep = { HERALD_RESULT_DELIVERED, "250 2.0.0 queued as ABC", "2.0.0",
                                 NULL, NULL, false };
    char line[2048], want[128], id[24];
    int saw_delivered = 0, saw_warn = 0, lines = 0;
    FILE *f;

    CU_ASSERT_PTR_NOT_NULL_FATAL(m);
    CU_ASSERT_EQUAL_FATAL(delivery_new(m, &env, sink, on_done, &w, &d), HERALD_OK);
    snprintf(id, sizeof id, "%s", herald_trace_id(herald_delivery_trace(d)));
    CU_ASSERT_EQUAL(herald_delivery_report(d, 0, &rep), HERALD_OK);
    herald_delivery_done(d);
    CU_ASSERT_EQUAL_FATAL(w.calls, 1);
    CU_ASSERT_STRING_EQUAL(herald_outcome_trace_id(w.outcome), id);
    herald_outcome_free(&w.outcome);
    herald_message_free(&m);

    f = fopen(trace_path, "r");
    CU_ASSERT_PTR_NOT_NULL_FATAL(f);
    snprintf(want, sizeof want, "outcome rcpt0@example.com: delivered 250 2.0.0 queued as ABC");
    while (lines++ < 100000 && fgets(line, sizeof line, f) != NULL) {
        if (strstr(line, id) == NULL)
            continue;
        if (strstr(line, want) != NULL && strstr(line, "info") != NULL)
            saw_delivered = 1;
        if (strstr(line, "rcpt1@example.com") != NULL && strstr(line, "warn") != NULL &&
            strstr(line, "no outcome") != NULL)
            saw_warn = 1;
    }
    fclose(f);
    CU_ASSERT(saw_delivered);
    CU_ASSERT(saw_warn);
}

/* ---- the file device --------------------------------------------------- */

/* test_module_shape - the descriptor the registry loaded */
static void
test_module_shape(void)
{
    CU_ASSERT_STRING_EQUAL(mod->name, "file");
    CU_ASSERT_EQUAL(mod->kind, HERALD_KIND_DEVICE);
    CU_ASSERT_PTR_NOT_NULL(opt_find("path"));
    CU_ASSERT(opt_find("path") != NULL && (opt_find("path")->flags & HERALD_OPT_REQUIRED));
    CU_ASSERT(opt_find("mode") != NULL && opt_find("mode")->type == HERALD_OPT_MODE);
    CU_ASSERT(opt_find("create") != NULL && opt_find("create")->type == HERALD_OPT_BOOL);
    CU_ASSERT(opt_find("filename") != NULL && opt_find("filename")->type == HERALD_OPT_STRING);
    CU_ASSERT_PTR_NOT_NULL(mod->check);
}

/* test_check_patterns - name patterns and paths accepted and refused by check() */
static void
test_check_patterns(void)
{
    static const struct { const char *name; int ok; } cases[] = {
        { "%T-%i.eml", 1 }, { "%u.msg", 1 }, { "report%%.txt", 1 }, { "fixed.eml", 1 },
        { "a/b", 0 }, { "/abs", 0 }, { "%x", 0 }, { "end%", 0 }, { ".", 0 }, { "..", 0 },
        { "", 0 }, { ".tmp-abc", 0 }, { "%n", 0 },
    };
    struct herald_diag diag;
    size_t i;
    void *opts;

    for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        opts = options_make("/tmp", cases[i].name, -1, -1);
        CU_ASSERT_PTR_NOT_NULL_FATAL(opts);
        memset(&diag, 0, sizeof diag);
        if (cases[i].ok) {
            CU_ASSERT_EQUAL(mod->check(opts, &diag), HERALD_OK);
        } else {
            CU_ASSERT_EQUAL(mod->check(opts, &diag), HERALD_E_CONFIG);
            CU_ASSERT(diag.text[0] != '\0');
        }
        free(opts);
    }
    opts = options_make("relative/dir", NULL, -1, -1);
    CU_ASSERT_EQUAL(mod->check(opts, &diag), HERALD_E_CONFIG);
    CU_ASSERT_PTR_NOT_NULL(strstr(diag.text, "absolute"));
    free(opts);
    opts = options_make("/tmp", NULL, 04755, -1);
    CU_ASSERT_EQUAL(mod->check(opts, &diag), HERALD_E_CONFIG);
    free(opts);
}

/* test_body_empty - an empty body makes an empty file */
static void
test_body_empty(void)
{
    deliver_and_compare("", 0);
}

/* test_body_no_newline - the body is written as given, no newline added */
static void
test_body_no_newline(void)
{
    static const char body[] = "Subject: x\n\nno final newline";

    deliver_and_compare(body, sizeof body - 1);
}

/* test_body_binary - every byte value, bare CR, NUL, lone dots: written untouched */
static void
test_body_binary(void)
{
    unsigned char body[1024];
    size_t i;

    for (i = 0; i < sizeof body; i++)
        body[i] = (unsigned char)(i * 7 + (i >> 8));
    body[10] = '\r';
    body[11] = '.';
    body[12] = '\n';
    body[13] = 0;
    deliver_and_compare(body, sizeof body);
}

/* test_body_big - 3 MB, more than any buffer in the path */
static void
test_body_big(void)
{
    const size_t len = 3 * 1024 * 1024 + 5;
    unsigned char *body = malloc(len);
    size_t i;
    unsigned x = 12345;

    CU_ASSERT_PTR_NOT_NULL_FATAL(body);
    for (i = 0; i < len; i++) {
        x = x * 1103515245u + 12345u;
        body[i] = (unsigned char)(x >> 16);
    }
    deliver_and_compare(body, len);
    free(body);
}

/* test_mode - the configured mode, whatever the umask */
static void
test_mode(void)
{
    static const int modes[] = { 0600, 0644, 0640, 0444 };
    char dir[600];
    struct stat st;
    size_t i;

    new_folder(dir, sizeof dir);
    CU_ASSERT_EQUAL_FATAL(mkdir(dir, 0700), 0);
    for (i = 0; i < sizeof modes / sizeof modes[0]; i++) {
        void *opts = options_make(dir, "%u.eml", modes[i], -1);
        struct herald_message *m = message_make("mode\n", 5, 1);
        struct herald_outcome *o = run_delivery(opts, m);
        const char *path = o ? written_path(o, 0) : NULL;

        CU_ASSERT_PTR_NOT_NULL(path);
        if (path != NULL) {
            CU_ASSERT_EQUAL(stat(path, &st), 0);
            CU_ASSERT_EQUAL(st.st_mode & 07777, (mode_t)modes[i]);
        }
        herald_outcome_free(&o);
        herald_message_free(&m);
        free(opts);
    }
}

/* test_no_overwrite - a fixed name twice: two files, the first untouched */
static void
test_no_overwrite(void)
{
    char dir[600], path[700];
    void *opts;
    int tmp = -1, round;

    new_folder(dir, sizeof dir);
    CU_ASSERT_EQUAL_FATAL(mkdir(dir, 0700), 0);
    opts = options_make(dir, "fixed.eml", -1, -1);
    for (round = 0; round < 3; round++) {
        char body[32];
        struct herald_message *m;
        struct herald_outcome *o;

        snprintf(body, sizeof body, "body number %d\n", round);
        m = message_make(body, strlen(body), 1);
        o = run_delivery(opts, m);
        CU_ASSERT_PTR_NOT_NULL_FATAL(o);
        CU_ASSERT_EQUAL(herald_outcome_result(o, 0), HERALD_RESULT_DELIVERED);
        if (round == 0)
            snprintf(path, sizeof path, "%s/fixed.eml", dir);
        else
            snprintf(path, sizeof path, "%s/fixed.eml.%d", dir, round);
        CU_ASSERT_STRING_EQUAL(written_path(o, 0), path);
        herald_outcome_free(&o);
        herald_message_free(&m);
    }
    snprintf(path, sizeof path, "%s/fixed.eml", dir);
    CU_ASSERT(file_equals(path, "body number 0\n", 14));
    snprintf(path, sizeof path, "%s/fixed.eml.2", dir);
    CU_ASSERT(file_equals(path, "body number 2\n", 14));
    CU_ASSERT_EQUAL(count_entries(dir, &tmp), 3);
    CU_ASSERT_EQUAL(tmp, 0);
    free(opts);
}

/* test_folder_missing - deferred with the reason; nothing created without "create" */
static void
test_folder_missing(void)
{
    char dir[600];
    struct herald_message *m = message_make("x\n", 2, 2);
    struct herald_outcome *o;
    struct stat st;
    void *opts;

    new_folder(dir, sizeof dir);
    opts = options_make(dir, NULL, -1, -1);
    o = run_delivery(opts, m);
    CU_ASSERT_PTR_NOT_NULL_FATAL(o);
    CU_ASSERT_EQUAL(herald_outcome_tally(o, HERALD_RESULT_DEFERRED), 2);
    CU_ASSERT_STRING_EQUAL(herald_outcome_dsn(o, 1), "4.3.0");
    CU_ASSERT_PTR_NOT_NULL(strstr(herald_outcome_reply(o, 0), dir));
    CU_ASSERT_PTR_NOT_NULL(strstr(herald_outcome_reply(o, 0), strerror(ENOENT)));
    CU_ASSERT(strncmp(herald_outcome_reply(o, 0), "451 4.3.0 ", 10) == 0);
    CU_ASSERT_NOT_EQUAL(stat(dir, &st), 0);
    herald_outcome_free(&o);
    free(opts);

    /* With create = true the folder (and its parent) appear. */
    strcat(dir, "/sub");
    opts = options_make(dir, NULL, 0640, 1);
    o = run_delivery(opts, m);
    CU_ASSERT_PTR_NOT_NULL_FATAL(o);
    CU_ASSERT_EQUAL(herald_outcome_tally(o, HERALD_RESULT_DELIVERED), 2);
    CU_ASSERT(stat(dir, &st) == 0 && S_ISDIR(st.st_mode));
    CU_ASSERT(file_equals(written_path(o, 0), "x\n", 2));
    herald_outcome_free(&o);
    free(opts);
    herald_message_free(&m);
}

/* child_deliver - in a forked child: deliver, send the first reply to the parent, exit */
static void
child_deliver(int wfd, const void *opts, const void *body, size_t len)
{
    struct herald_message *m = message_make(body, len, 1);
    struct herald_outcome *o = m ? run_delivery(opts, m) : NULL;
    const char *r;
    char line[1200];
    ssize_t w;

    if (o == NULL)
        _exit(3);
    r = herald_outcome_reply(o, 0);
    snprintf(line, sizeof line, "%s|%s|%s", herald_result_name(herald_outcome_result(o, 0)),
             herald_outcome_dsn(o, 0), r);
    w = write(wfd, line, strlen(line));
    _exit(w > 0 ? 0 : 4);
}

/* run_child - fork; the child limits itself with setup(), then delivers; its line in buf */
static int
run_child(void (*setup)(void), const void *opts, const void *body, size_t len, char *buf,
          size_t size)
{
    int p[2], status = 0;
    ssize_t n;
    size_t got = 0;
    pid_t pid;

    if (pipe(p) != 0)
        return -1;
    fflush(NULL);
    pid = fork();
    if (pid < 0)
        return -1;
    if (pid == 0) {
        close(p[0]);
        setup();
        child_deliver(p[1], opts, body, len);
    }
    close(p[1]);
    /* Bounded: the child's write is one line; EOF comes when it exits. */
    while (got + 1 < size && (n = read(p[0], buf + got, size - 1 - got)) > 0)
        got += (size_t)n;
    buf[got] = '\0';
    close(p[0]);
    if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status))
        return -1;
    return WEXITSTATUS(status);
}

/* setup_unprivileged - become a user who cannot write the folder (root ignores modes) */
static void
setup_unprivileged(void)
{
    if (geteuid() == 0 && (setgid(65534) != 0 || setuid(65534) != 0))
        _exit(5);
}

/* setup_fsize - writes past 1000 octets fail with EFBIG: the temp file exists by then */
static void
setup_fsize(void)
{
    struct rlimit rl = { 1000, 1000 };

    signal(SIGXFSZ, SIG_IGN);
    if (setrlimit(RLIMIT_FSIZE, &rl) != 0)
        _exit(6);
}

/* test_folder_not_writable - deferred with the reason, nothing left in the folder */
static void
test_folder_not_writable(void)
{
    char dir[600], line[1300];
    void *opts;
    int tmp = -1;

    new_folder(dir, sizeof dir);
    CU_ASSERT_EQUAL_FATAL(mkdir(dir, 0700), 0);
    CU_ASSERT_EQUAL_FATAL(chmod(dir, 0555), 0);
    opts = options_make(dir, NULL, -1, -1);
    CU_ASSERT_EQUAL(run_child(setup_unprivileged, opts, "x\n", 2, line, sizeof line), 0);
    CU_ASSERT(strncmp(line, "deferred|4.3.0|451 4.3.0 ", 25) == 0);
    CU_ASSERT_PTR_NOT_NULL(strstr(line, dir));
    CU_ASSERT_PTR_NOT_NULL(strstr(line, strerror(EACCES)));
    CU_ASSERT_EQUAL(count_entries(dir, &tmp), 0);
    chmod(dir, 0700);
    free(opts);
}

/* test_write_fails - an error after the temp file exists removes it */
static void
test_write_fails(void)
{
    const size_t len = 200000;
    unsigned char *body = malloc(len);
    char dir[600], line[1300];
    void *opts;
    int tmp = -1;

    CU_ASSERT_PTR_NOT_NULL_FATAL(body);
    memset(body, 'b', len);
    new_folder(dir, sizeof dir);
    CU_ASSERT_EQUAL_FATAL(mkdir(dir, 0700), 0);
    opts = options_make(dir, NULL, -1, -1);
    CU_ASSERT_EQUAL(run_child(setup_fsize, opts, body, len, line, sizeof line), 0);
    CU_ASSERT(strncmp(line, "deferred|4.3.0|451 4.3.0 cannot write ", 38) == 0);
    CU_ASSERT_PTR_NOT_NULL(strstr(line, strerror(EFBIG)));
    CU_ASSERT_EQUAL(count_entries(dir, &tmp), 0);
    CU_ASSERT_EQUAL(tmp, 0);
    free(opts);
    free(body);
}

/* ---- set-up ----------------------------------------------------------- */

/* rm_entry - nftw callback removing everything under base */
static int
rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)ftw;
    if (flag == FTW_DP)
        return rmdir(path);
    return unlink(path);
}

/* load_module - device-file.so from $HERALD_PLUGIN_PATH, through the registry */
static int
load_module(void)
{
    const char *pp = getenv("HERALD_PLUGIN_PATH");
    struct herald_diag diag;
    char path[4096];
    const char *p = pp;

    if (pp == NULL || registry_new(&reg) != HERALD_OK) {
        fprintf(stderr, "HERALD_PLUGIN_PATH is not set (run through make check)\n");
        return -1;
    }
    /* Each directory in turn: the first that holds the file is used. */
    while (p != NULL && *p) {
        const char *end = strchr(p, ':');
        size_t n = end ? (size_t)(end - p) : strlen(p);

        snprintf(path, sizeof path, "%.*s/device-file.so", (int)n, p);
        if (access(path, F_OK) == 0) {
            memset(&diag, 0, sizeof diag);
            if (registry_load_file(reg, path, &mod, &diag) != HERALD_OK) {
                fprintf(stderr, "%s: %s\n", diag.where, diag.text);
                return -1;
            }
            ops = mod->ops;
            return ops != NULL && ops->open && ops->deliver ? 0 : -1;
        }
        p = end ? end + 1 : NULL;
    }
    fprintf(stderr, "device-file.so not found in %s\n", pp);
    return -1;
}

/* setup - folder, module, loop, trace sink, env */
static int
setup(void)
{
    struct herald_diag diag;

    if (mkdtemp(base) == NULL || chmod(base, 0711) != 0)
        return -1;
    if (load_module() != 0)
        return -1;
    if (herald_loop_new(&loop) != HERALD_OK)
        return -1;
    snprintf(trace_path, sizeof trace_path, "%s/trace.log", base);
    if (trace_sink_open(trace_path, TRACE_FORMAT_TEXT, HERALD_TRACE_DEBUG, &sink, &diag) !=
        HERALD_OK) {
        fprintf(stderr, "trace: %s\n", diag.text);
        return -1;
    }
    memset(&env, 0, sizeof env);
    env.loop = loop;
    env.registry = reg;
    env.device_name = "files";
    trace_scope_init(&env.trace, sink, "-");
    return 0;
}

/* teardown - release everything setup made */
static void
teardown(void)
{
    trace_sink_free(&sink);
    herald_loop_free(&loop);
    registry_free(&reg);
    if (base[sizeof base - 2] != 'X')
        nftw(base, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

int
main(void)
{
    static const struct test_case cases[] = {
        { "delivery reports and outcome", test_delivery_reports },
        { "delivery trace lines", test_delivery_trace },
        { "module shape", test_module_shape },
        { "check: name patterns", test_check_patterns },
        { "empty body", test_body_empty },
        { "body without final newline", test_body_no_newline },
        { "binary body", test_body_binary },
        { "3 MB body", test_body_big },
        { "mode honoured", test_mode },
        { "no overwrite", test_no_overwrite },
        { "folder missing / create", test_folder_missing },
        { "folder not writable", test_folder_not_writable },
        { "write error removes temp", test_write_fails },
        { NULL, NULL },
    };
    int rc;

    if (setup() != 0) {
        teardown();
        return 99;
    }
    rc = test_run_suite("file device", NULL, NULL, cases);
    teardown();
    return rc;
}
