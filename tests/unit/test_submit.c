/*
 * test_submit.c - herald_submit / herald_run / herald_pending through the
 * public API only, with file devices (device-file.so from HERALD_PLUGIN_PATH):
 * every message gets exactly one callback, from the loop and never from
 * inside herald_submit; a callback may submit more; herald_close() delivers
 * what is still in flight instead of dropping it.
 */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <CUnit/Basic.h>
#include <herald/herald.h>

#define MANY 50

static char base[] = "/tmp/herald-submit-XXXXXX";
static char conf[600];

struct tally {
    int calls, delivered, in_submit_calls;
    bool in_submit;
    int more;                       /* messages a callback still submits */
    struct herald_device *dev;
    const char *body;
};

static void on_sent(void *arg, struct herald_outcome *o);

static struct herald_message *
message_new(const char *body, const char *rcpt)
{
    struct herald_message *m = NULL;

    if (herald_message_new(&m) != HERALD_OK)
        return NULL;
    if (herald_message_set_sender(m, "a@herald.test") != HERALD_OK
        || herald_message_add_recipient(m, rcpt) != HERALD_OK
        || herald_message_set_body_buffer(m, body, strlen(body)) != HERALD_OK)
        herald_message_free(&m);
    return m;
}

/* submit - one message whose box {tally, message} the callback frees */
static herald_status
submit(struct tally *t)
{
    void **box = malloc(2 * sizeof *box);
    struct herald_message *m = message_new(t->body, "b@herald.test");
    struct herald_diag d;
    herald_status st;

    if (box == NULL || m == NULL) {
        free(box);
        herald_message_free(&m);
        return HERALD_E_NOMEM;
    }
    box[0] = t;
    box[1] = m;
    t->in_submit = true;
    st = herald_submit(t->dev, m, on_sent, box, &d);
    t->in_submit = false;
    if (st != HERALD_OK) {
        free(box);
        herald_message_free(&m);
    }
    return st;
}

static void
on_sent(void *arg, struct herald_outcome *o)
{
    void **box = arg;
    struct tally *t = box[0];
    struct herald_message *m = box[1];

    t->calls++;
    if (t->in_submit)
        t->in_submit_calls++;
    if (herald_outcome_count(o) == 1
        && herald_outcome_result(o, 0) == HERALD_RESULT_DELIVERED)
        t->delivered++;
    herald_outcome_free(&o);
    herald_message_free(&m);
    free(box);
    if (t->more > 0) {
        t->more--;
        CU_ASSERT_EQUAL(submit(t), HERALD_OK);
    }
}

/* count_files - regular files in dir */
static int
count_files(const char *dir)
{
    DIR *d = opendir(dir);
    struct dirent *e;
    int n = 0;

    if (d == NULL)
        return -1;
    while ((e = readdir(d)) != NULL)
        if (e->d_name[0] != '.')
            n++;
    closedir(d);
    return n;
}

static void
open_ctx(struct herald_context **ctx, struct herald_device **dev, const char *name)
{
    struct herald_diag d;

    CU_ASSERT_EQUAL_FATAL(herald_open(conf, ctx, &d), HERALD_OK);
    CU_ASSERT_EQUAL_FATAL(herald_device(*ctx, name, dev, &d), HERALD_OK);
}

/* test_many - MANY messages in flight, each called back once, from the loop */
static void
test_many(void)
{
    struct herald_context *ctx = NULL;
    struct tally t = { 0 };
    struct herald_diag d;
    char dir[700];
    int i;

    open_ctx(&ctx, &t.dev, "many");
    t.body = "Subject: submit\n\nhello\n";
    for (i = 0; i < MANY; i++)
        CU_ASSERT_EQUAL(submit(&t), HERALD_OK);
    CU_ASSERT_EQUAL(t.calls, 0);                       /* nothing ran inside herald_submit */
    CU_ASSERT_EQUAL(herald_pending(ctx), (size_t)MANY);
    CU_ASSERT_EQUAL(herald_run(ctx, 10000, &d), HERALD_OK);
    CU_ASSERT_EQUAL(t.calls, MANY);
    CU_ASSERT_EQUAL(t.delivered, MANY);
    CU_ASSERT_EQUAL(t.in_submit_calls, 0);
    CU_ASSERT_EQUAL(herald_pending(ctx), 0u);
    snprintf(dir, sizeof dir, "%s/many", base);
    CU_ASSERT_EQUAL(count_files(dir), MANY);
    CU_ASSERT_EQUAL(herald_run(ctx, 10000, &d), HERALD_OK);   /* nothing left: returns */
    herald_close(&ctx);
}

/* test_chain - callbacks that submit more keep herald_run going */
static void
test_chain(void)
{
    struct herald_context *ctx = NULL;
    struct tally t = { 0 };
    struct herald_diag d;
    char dir[700];

    open_ctx(&ctx, &t.dev, "chain");
    t.body = "Subject: chain\n\nhello\n";
    t.more = 9;
    CU_ASSERT_EQUAL(submit(&t), HERALD_OK);
    CU_ASSERT_EQUAL(herald_run(ctx, 10000, &d), HERALD_OK);
    CU_ASSERT_EQUAL(t.calls, 10);
    CU_ASSERT_EQUAL(t.delivered, 10);
    snprintf(dir, sizeof dir, "%s/chain", base);
    CU_ASSERT_EQUAL(count_files(dir), 10);
    herald_close(&ctx);
}

/* test_close_delivers - herald_close with messages in flight calls them all back */
static void
test_close_delivers(void)
{
    struct herald_context *ctx = NULL;
    struct tally t = { 0 };
    char dir[700];
    int i;

    open_ctx(&ctx, &t.dev, "close");
    t.body = "Subject: close\n\nhello\n";
    for (i = 0; i < 5; i++)
        CU_ASSERT_EQUAL(submit(&t), HERALD_OK);
    herald_close(&ctx);
    CU_ASSERT_PTR_NULL(ctx);
    CU_ASSERT_EQUAL(t.calls, 5);
    CU_ASSERT_EQUAL(t.delivered, 5);
    snprintf(dir, sizeof dir, "%s/close", base);
    CU_ASSERT_EQUAL(count_files(dir), 5);
}

/* file_has - the file at path holds text */
static bool
file_has(const char *path, const char *text)
{
    char buf[65536];
    FILE *f = fopen(path, "r");
    size_t n;

    if (f == NULL)
        return false;
    n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = '\0';
    return strstr(buf, text) != NULL;
}

/* test_trace_switch - herald_set_trace while messages are in flight: they
 * finish their trace in the old file (which must stay open for them), and
 * the next message is traced in the new one */
static void
test_trace_switch(void)
{
    struct herald_context *ctx = NULL;
    struct tally t = { 0 };
    struct herald_diag d;
    char old_path[700], new_path[700];
    int i;

    snprintf(old_path, sizeof old_path, "%s/old.trace", base);
    snprintf(new_path, sizeof new_path, "%s/new.trace", base);
    open_ctx(&ctx, &t.dev, "switch");
    t.body = "Subject: switch\n\nhello\n";
    CU_ASSERT_EQUAL_FATAL(herald_set_trace(ctx, old_path, "text", "info", &d), HERALD_OK);
    for (i = 0; i < 5; i++)
        CU_ASSERT_EQUAL(submit(&t), HERALD_OK);
    CU_ASSERT_EQUAL_FATAL(herald_set_trace(ctx, new_path, NULL, NULL, &d), HERALD_OK);
    CU_ASSERT_EQUAL(herald_run(ctx, 10000, &d), HERALD_OK);
    CU_ASSERT_EQUAL(t.calls, 5);
    CU_ASSERT_EQUAL(t.delivered, 5);
    CU_ASSERT_TRUE(file_has(old_path, "outcome b@herald.test: delivered"));
    CU_ASSERT_FALSE(file_has(new_path, "outcome b@herald.test: delivered"));
    CU_ASSERT_EQUAL(submit(&t), HERALD_OK);
    CU_ASSERT_EQUAL(herald_run(ctx, 10000, &d), HERALD_OK);
    CU_ASSERT_EQUAL(t.delivered, 6);
    CU_ASSERT_TRUE(file_has(new_path, "outcome b@herald.test: delivered"));
    /* Through the email device the messages really are in flight: the
     * connection to a closed port is refused later, from the loop, and
     * traced then. */
    t.dev = NULL;
    CU_ASSERT_EQUAL_FATAL(herald_device(ctx, "relay", &t.dev, &d), HERALD_OK);
    CU_ASSERT_EQUAL_FATAL(herald_set_trace(ctx, old_path, NULL, NULL, &d), HERALD_OK);
    for (i = 0; i < 3; i++)
        CU_ASSERT_EQUAL(submit(&t), HERALD_OK);
    CU_ASSERT_EQUAL_FATAL(herald_set_trace(ctx, new_path, NULL, NULL, &d), HERALD_OK);
    CU_ASSERT_EQUAL(herald_run(ctx, 10000, &d), HERALD_OK);
    CU_ASSERT_EQUAL(t.calls, 9);
    CU_ASSERT_EQUAL(t.delivered, 6);
    CU_ASSERT_TRUE(file_has(old_path, "Connection refused"));
    CU_ASSERT_FALSE(file_has(new_path, "Connection refused"));
    /* Switching again with messages in flight, then closing at once. */
    CU_ASSERT_EQUAL(submit(&t), HERALD_OK);
    CU_ASSERT_EQUAL_FATAL(herald_set_trace(ctx, old_path, NULL, NULL, &d), HERALD_OK);
    herald_close(&ctx);
    CU_ASSERT_EQUAL(t.calls, 10);
    CU_ASSERT_EQUAL(t.delivered, 6);
    unlink(old_path);
    unlink(new_path);
}

/* test_bad_arguments - refused without a callback */
static void
test_bad_arguments(void)
{
    struct herald_context *ctx = NULL;
    struct herald_device *dev = NULL;
    struct herald_message *empty = NULL;
    struct herald_diag d;
    struct tally t = { 0 };

    open_ctx(&ctx, &dev, "many");
    CU_ASSERT_EQUAL(herald_message_new(&empty), HERALD_OK);
    CU_ASSERT_EQUAL(herald_submit(dev, empty, on_sent, &t, &d), HERALD_E_INVAL); /* no rcpt */
    CU_ASSERT_EQUAL(herald_submit(dev, NULL, on_sent, &t, &d), HERALD_E_INVAL);
    CU_ASSERT_EQUAL(herald_submit(NULL, empty, on_sent, &t, &d), HERALD_E_INVAL);
    CU_ASSERT_EQUAL(herald_pending(ctx), 0u);
    CU_ASSERT_EQUAL(herald_run(NULL, 0, &d), HERALD_E_INVAL);
    CU_ASSERT_EQUAL(t.calls, 0);
    herald_message_free(&empty);
    herald_close(&ctx);
}

static int
rm_entry(const char *dir, const char *name)
{
    char path[1024];

    snprintf(path, sizeof path, "%s/%s", dir, name);
    return unlink(path);
}

/* rm_tree - base holds folders of files only */
static void
rm_tree(void)
{
    static const char *const sub[] = { "many", "chain", "close", "switch" };
    size_t i;

    for (i = 0; i < sizeof sub / sizeof sub[0]; i++) {
        char dir[700];
        DIR *d;
        struct dirent *e;

        snprintf(dir, sizeof dir, "%s/%s", base, sub[i]);
        d = opendir(dir);
        while (d != NULL && (e = readdir(d)) != NULL)
            if (e->d_name[0] != '.')
                (void)rm_entry(dir, e->d_name);
        if (d != NULL)
            closedir(d);
        rmdir(dir);
    }
    unlink(conf);
    rmdir(base);
}

/* closed_port - a TCP port on 127.0.0.1 that nothing listens on (bound, then let go) */
static int
closed_port(void)
{
    struct sockaddr_in a = { .sin_family = AF_INET };
    socklen_t len = sizeof a;
    int fd = socket(AF_INET, SOCK_STREAM, 0), port = 0;

    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (fd >= 0 && bind(fd, (struct sockaddr *)&a, sizeof a) == 0
        && getsockname(fd, (struct sockaddr *)&a, &len) == 0)
        port = ntohs(a.sin_port);
    if (fd >= 0)
        close(fd);
    return port;
}

int
main(void)
{
    FILE *f;
    CU_pSuite s;
    unsigned nfail;

    if (mkdtemp(base) == NULL)
        return 99;
    snprintf(conf, sizeof conf, "%s/herald.conf", base);
    f = fopen(conf, "w");
    if (f == NULL)
        return 99;
    fprintf(f, "devices = (\n"
               "  { name = \"many\"; driver = \"file\"; path = \"%s/many\"; create = true; },\n"
               "  { name = \"chain\"; driver = \"file\"; path = \"%s/chain\"; create = true; },\n"
               "  { name = \"close\"; driver = \"file\"; path = \"%s/close\"; create = true; },\n"
               "  { name = \"switch\"; driver = \"file\"; path = \"%s/switch\"; create = true; },\n"
               "  { name = \"relay\"; driver = \"email\";\n"
               "    route: { strategy = \"smarthost\"; smarthost = [ \"[127.0.0.1]:%d\" ]; };\n"
               "    transport: { name = \"smtp\"; connect_timeout_ms = 5000; }; }\n"
               ");\n", base, base, base, base, closed_port());
    fclose(f);
    if (CU_initialize_registry() != CUE_SUCCESS)
        return 99;
    s = CU_add_suite("submit", NULL, NULL);
    if (s == NULL || CU_add_test(s, "many in flight", test_many) == NULL
        || CU_add_test(s, "callbacks submit more", test_chain) == NULL
        || CU_add_test(s, "close delivers what is in flight", test_close_delivers) == NULL
        || CU_add_test(s, "trace switched with messages in flight", test_trace_switch) == NULL
        || CU_add_test(s, "bad arguments", test_bad_arguments) == NULL) {
        CU_cleanup_registry();
        return 99;
    }
    CU_basic_set_mode(CU_BRM_VERBOSE);
    CU_basic_run_tests();
    nfail = CU_get_number_of_failures();
    CU_cleanup_registry();
    rm_tree();
    return nfail == 0 ? 0 : 1;
}
