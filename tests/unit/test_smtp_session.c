/*
 * test_smtp_session.c - the SMTP session against real servers on loopback
 *
 * Servers: tests/servers/capture_smtpd.py (aiosmtpd, stores each message),
 * tests/servers/fault_smtpd.py (scripted faults) and Postfix's smtp-sink.
 * Each test binds its own 127.0.1.N and a port derived from the PID, waits
 * for "READY" or the port (bounded), and stops its server before returning.
 * A server that cannot start is a hard error (exit 99).
 */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <CUnit/Basic.h>

#include "smtp_body.h"
#include "smtp_ehlo.h"
#include "smtp_session.h"
#include "test_servers.h"
#include "trace_sink.h"
#include "test_file.h"

#define MAX_RCPT 4
#define WAIT_READY_MS 15000

static int setup_failed;              /* a server could not start: exit 99 */
static uint16_t test_port;
static char workdir[256];
static struct trace_sink *sink;
static struct herald_trace trace;

/* ---- servers ------------------------------------------------------------ */

/* test_ip - this test's own loopback address */
static void
test_ip(int n, char *buf, size_t cap)
{
    snprintf(buf, cap, "127.0.1.%d", n);
}

/* server_start - start a test server on this test's port; a failure fails the setup */
static int
server_start(struct test_server *sv, char *const argv[], const char *ip, int by_port)
{
    if (test_server_start(sv, argv, ip, test_port, by_port, WAIT_READY_MS))
        return 1;
    setup_failed = 1;
    return 0;
}

/* start_fault - fault_smtpd.py in mode on 127.0.1.n, recording into record */
static int
start_fault(struct test_server *sv, int n, const char *mode, char *record, size_t cap)
{
    char ip[32], port[16], script[512];
    const char *py = getenv("TEST_PYTHON"), *src = getenv("HERALD_SRC_DIR");

    test_ip(n, ip, sizeof ip);
    snprintf(port, sizeof port, "%u", (unsigned)test_port);
    snprintf(script, sizeof script, "%s/tests/servers/fault_smtpd.py", src ? src : ".");
    snprintf(record, cap, "%s/record-%d.txt", workdir, n);
    unlink(record);
    {
        char *argv[] = { (char *)(py && *py ? py : "/usr/bin/python3"), script, ip, port,
                         (char *)"--mode", (char *)mode, (char *)"--record", record, NULL };

        return server_start(sv, argv, ip, 0);
    }
}

/* start_capture - capture_smtpd.py on 127.0.1.n storing into outdir */
static int
start_capture(struct test_server *sv, int n, char *outdir, size_t cap)
{
    char ip[32], port[16], script[512];
    const char *py = getenv("TEST_PYTHON"), *src = getenv("HERALD_SRC_DIR");

    test_ip(n, ip, sizeof ip);
    snprintf(port, sizeof port, "%u", (unsigned)test_port);
    snprintf(script, sizeof script, "%s/tests/servers/capture_smtpd.py", src ? src : ".");
    snprintf(outdir, cap, "%s/capture-%d", workdir, n);
    mkdir(outdir, 0700);
    {
        char *argv[] = { (char *)(py && *py ? py : "/usr/bin/python3"), script, ip, port,
                         outdir, NULL };

        return server_start(sv, argv, ip, 0);
    }
}

/* start_sink - smtp-sink with extra flags on 127.0.1.n (ready when the port is) */
static int
start_sink(struct test_server *sv, int n, const char *f1, const char *f2)
{
    char ip[32], listen[64];
    const char *sinkp = getenv("SMTP_SINK");
    char *argv[10];
    int a = 0;

    test_ip(n, ip, sizeof ip);
    snprintf(listen, sizeof listen, "%s:%u", ip, (unsigned)test_port);
    argv[a++] = (char *)(sinkp && *sinkp == '/' ? sinkp : "/usr/sbin/smtp-sink");
    if (geteuid() == 0) {
        argv[a++] = (char *)"-u";
        argv[a++] = (char *)"nobody";
    }
    if (f1 != NULL)
        argv[a++] = (char *)f1;
    if (f2 != NULL)
        argv[a++] = (char *)f2;
    argv[a++] = listen;
    argv[a++] = (char *)"10";
    argv[a] = NULL;
    return server_start(sv, argv, ip, 1);
}

/* ---- running a session --------------------------------------------------- */

struct body_src {
    const char *data;
    size_t len, off;
};

/* body_read - the test's body reader, in odd-sized chunks to exercise splits */
static herald_status
body_read(void *arg, void *buf, size_t cap, size_t *n_out)
{
    struct body_src *b = arg;
    size_t n = b->len - b->off;

    if (n > cap)
        n = cap;
    if (n > 7777)
        n = 7777;
    memcpy(buf, b->data + b->off, n);
    b->off += n;
    *n_out = n;
    return HERALD_OK;
}

struct result {
    int done;
    int connected;
    int failed;
    herald_status why;
    int permanent;
    char fail_reply[512];
    int decided[MAX_RCPT];
    enum herald_result res[MAX_RCPT];
    char reply[MAX_RCPT][512];
    char dsn[MAX_RCPT][16];
    int possibly[MAX_RCPT];
};

static void
cb_connected(void *arg, const char *peer)
{
    struct result *r = arg;

    r->connected = peer != NULL && strncmp(peer, "127.0.1.", 8) == 0;
}

static void
cb_recipient(void *arg, size_t i, const struct smtp_rcpt_result *res)
{
    struct result *r = arg;

    if (i >= MAX_RCPT)
        return;
    r->decided[i]++;
    r->res[i] = res->result;
    snprintf(r->reply[i], sizeof r->reply[i], "%s", res->reply);
    snprintf(r->dsn[i], sizeof r->dsn[i], "%s", res->dsn);
    r->possibly[i] = res->possibly_delivered;
}

static void
cb_failed(void *arg, herald_status why, bool permanent, const char *reply, const char *dsn)
{
    struct result *r = arg;

    (void)dsn;
    r->failed++;
    r->why = why;
    r->permanent = permanent;
    snprintf(r->fail_reply, sizeof r->fail_reply, "%s", reply);
}

static void
cb_done(void *arg)
{
    ((struct result *)arg)->done++;
}

static bool
is_done(void *arg)
{
    return ((struct result *)arg)->done > 0;
}

static bool
is_closed(void *arg)
{
    return *(int *)arg != 0;
}

static void
on_quit(void *arg)
{
    *(int *)arg = 1;
}

/* short_opts - small timeouts so hangs end fast */
static void
short_opts(struct smtp_session_opts *o)
{
    smtp_session_opts_init(o);
    o->helo_name = "client.herald.test";
    o->connect_ms = 3000;
    o->greeting_ms = 3000;
    o->ehlo_ms = o->mail_ms = o->rcpt_ms = o->data_ms = o->block_ms = 5000;
    o->dot_ms = 5000;
    o->quit_ms = 2000;
}

/* address_of - 127.0.1.n as a herald_address */
static void
address_of(int n, struct herald_address *a)
{
    struct sockaddr_in *sin = (struct sockaddr_in *)&a->sa;

    memset(a, 0, sizeof *a);
    sin->sin_family = AF_INET;
    test_ip(n, a->text, sizeof a->text);
    inet_pton(AF_INET, a->text, &sin->sin_addr);
    a->len = sizeof *sin;
}

/* send_one - one message through session s; runs the loop until done (bounded) */
static void
send_one(struct herald_loop *loop, struct smtp_session *s, const char *const *rcpts,
         size_t n, const char *body, size_t len, struct result *r)
{
    struct body_src src = { body, len, 0 };
    struct smtp_message m = { .sender = "sender@herald.test", .rcpts = rcpts, .nrcpt = n,
                              .size = len, .eight_bit = smtp_body_has_8bit(body, len),
                              .read = body_read, .read_arg = &src };
    struct smtp_session_cb cb = { cb_connected, cb_recipient, cb_failed, cb_done, r };

    memset(r, 0, sizeof *r);
    CU_ASSERT_EQUAL_FATAL(smtp_session_send(s, &m, &cb), HERALD_OK);
    CU_ASSERT_EQUAL(r->done, 0);      /* never from inside the call */
    CU_ASSERT_EQUAL(herald_loop_run(loop, is_done, r, 30000), HERALD_OK);
    CU_ASSERT_EQUAL(r->done, 1);
}

/* run_one - a fresh session to 127.0.1.n, one message, then quit and free */
static void
run_one(int n, const struct smtp_session_opts *opts, const char *const *rcpts, size_t nr,
        const char *body, size_t len, struct result *r)
{
    struct herald_loop *loop = NULL;
    struct smtp_session *s = NULL;
    struct herald_address a;
    int closed = 0;

    address_of(n, &a);
    CU_ASSERT_EQUAL_FATAL(herald_loop_new(&loop), HERALD_OK);
    CU_ASSERT_EQUAL_FATAL(smtp_session_new(loop, &trace, &a, test_port, opts, &s), HERALD_OK);
    send_one(loop, s, rcpts, nr, body, len, r);
    smtp_session_quit(s, on_quit, &closed);
    CU_ASSERT_EQUAL(herald_loop_run(loop, is_closed, &closed, 10000), HERALD_OK);
    CU_ASSERT_EQUAL(smtp_session_state(s), SMTP_S_CLOSED);
    smtp_session_free(&s);
    herald_loop_free(&loop);
}

/* file_has - true when the file holds needle */
static int
file_has(const char *path, const char *needle)
{
    size_t len;
    char *s = test_read_file(path, &len);
    int ok = s != NULL && strstr(s, needle) != NULL;

    free(s);
    return ok;
}

/*
 * expected_capture - what an SMTP server stores for body: every line ending
 * made CRLF, a final CRLF added, no dot-stuffing (the server removes it).
 * Written independently of smtp_body, from the rules.
 */
static char *
expected_capture(const char *in, size_t len, size_t *out_len)
{
    char *out = malloc(2 * len + 3);
    size_t i, o = 0;

    if (out == NULL)
        return NULL;
    for (i = 0; i < len; i++) {
        if (in[i] == '\r' || in[i] == '\n') {
            if (in[i] == '\r' && i + 1 < len && in[i + 1] == '\n')
                i++;
            out[o++] = '\r';
            out[o++] = '\n';
        } else {
            out[o++] = in[i];
        }
    }
    if (o > 0 && out[o - 1] != '\n') {
        out[o++] = '\r';
        out[o++] = '\n';
    }
    *out_len = o;
    return out;
}

/* fnv1a - a hash to compare captured and expected bytes */
static uint64_t
fnv1a(const char *p, size_t n)
{
    uint64_t h = 1469598103934665603ull;
    size_t i;

    for (i = 0; i < n; i++) {
        h ^= (unsigned char)p[i];
        h *= 1099511628211ull;
    }
    return h;
}

/* check_capture - outdir/N.eml equals the expected form of body */
static void
check_capture(const char *outdir, int n, const char *body, size_t len)
{
    char path[512];
    size_t got_len = 0, want_len = 0;
    char *got, *want;

    snprintf(path, sizeof path, "%s/%d.eml", outdir, n);
    got = test_read_file(path, &got_len);
    want = expected_capture(body, len, &want_len);
    CU_ASSERT_PTR_NOT_NULL(got);
    CU_ASSERT_PTR_NOT_NULL(want);
    if (got != NULL && want != NULL) {
        CU_ASSERT_EQUAL(got_len, want_len);
        CU_ASSERT_EQUAL(fnv1a(got, got_len), fnv1a(want, want_len));
    }
    free(got);
    free(want);
}

/* rm_entry - nftw callback: remove one entry of the work directory */
static int
rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)flag;
    (void)ftw;
    remove(path);            /* best effort: a leftover is no failure */
    return 0;
}

/* ---- tests ---------------------------------------------------------------- */

static const char tricky_body[] =
    "Subject: herald test\n"
    "From: sender@herald.test\r\n"
    "\n"
    ".leading dot\r\n"
    "..two dots\n"
    ".\n"
    "bare CR line\rnext\r\r\n"
    "caf\xc3\xa9 8-bit\n"
    "no final newline";

/* test_capture_delivered - aiosmtpd gets exactly the normalised body; reuse with RSET */
static void
test_capture_delivered(void)
{
    struct test_server sv;
    char outdir[300], json[512];
    static const char *const rcpts[] = { "alice@herald.test", "bob@herald.test" };
    static const char second[] = "Subject: two\r\n\r\nsecond message\r\n";
    struct smtp_session_opts o;
    struct herald_loop *loop = NULL;
    struct smtp_session *s = NULL;
    struct herald_address a;
    struct result r;
    int closed = 0;

    if (!start_capture(&sv, 11, outdir, sizeof outdir))
        return;
    short_opts(&o);
    address_of(11, &a);
    CU_ASSERT_EQUAL_FATAL(herald_loop_new(&loop), HERALD_OK);
    CU_ASSERT_EQUAL_FATAL(smtp_session_new(loop, &trace, &a, test_port, &o, &s), HERALD_OK);

    send_one(loop, s, rcpts, 2, tricky_body, sizeof tricky_body - 1, &r);
    CU_ASSERT_EQUAL(r.failed, 0);
    CU_ASSERT_TRUE(r.connected);
    CU_ASSERT_EQUAL(r.decided[0], 1);
    CU_ASSERT_EQUAL(r.decided[1], 1);
    CU_ASSERT_EQUAL(r.res[0], HERALD_RESULT_DELIVERED);
    CU_ASSERT_EQUAL(r.res[1], HERALD_RESULT_DELIVERED);
    CU_ASSERT_STRING_EQUAL(r.reply[0], "250 2.0.0 Message accepted for delivery");
    CU_ASSERT_STRING_EQUAL(r.dsn[0], "2.0.0");
    CU_ASSERT_FALSE(r.possibly[0]);
    CU_ASSERT_TRUE(smtp_session_extensions(s) & SMTP_EXT_8BITMIME);
    CU_ASSERT_TRUE(smtp_session_usable(s));
    check_capture(outdir, 1, tricky_body, sizeof tricky_body - 1);
    snprintf(json, sizeof json, "%s/1.json", outdir);
    CU_ASSERT_TRUE(file_has(json, "\"rcpt_tos\": [\"alice@herald.test\", \"bob@herald.test\"]"));
    CU_ASSERT_TRUE(file_has(json, "BODY=8BITMIME"));
    CU_ASSERT_TRUE(file_has(json, "\"helo\": \"client.herald.test\""));

    /* The same connection takes the next message (RSET first). */
    send_one(loop, s, rcpts, 1, second, sizeof second - 1, &r);
    CU_ASSERT_EQUAL(r.failed, 0);
    CU_ASSERT_EQUAL(r.res[0], HERALD_RESULT_DELIVERED);
    check_capture(outdir, 2, second, sizeof second - 1);
    snprintf(json, sizeof json, "%s/2.json", outdir);
    CU_ASSERT_TRUE(file_has(json, "\"mail_options\": [\"SIZE=32\"]"));

    smtp_session_quit(s, on_quit, &closed);
    CU_ASSERT_EQUAL(herald_loop_run(loop, is_closed, &closed, 10000), HERALD_OK);
    smtp_session_free(&s);
    herald_loop_free(&loop);
    test_server_stop(&sv);
}

/* test_capture_empty_and_big - an empty body, and 3 MB of dot-leading lines */
static void
test_capture_empty_and_big(void)
{
    struct test_server sv;
    char outdir[300];
    static const char *const rcpts[] = { "carol@herald.test" };
    struct smtp_session_opts o;
    struct result r;
    size_t len = 3u << 20, i;
    char *big = malloc(len);

    CU_ASSERT_PTR_NOT_NULL_FATAL(big);
    for (i = 0; i < len; i++)
        big[i] = (i % 61 == 0) ? '.' : (i % 61 == 60) ? '\n' : (char)('A' + i % 23);
    if (!start_capture(&sv, 12, outdir, sizeof outdir)) {
        free(big);
        return;
    }
    short_opts(&o);
    run_one(12, &o, rcpts, 1, "", 0, &r);
    CU_ASSERT_EQUAL(r.failed, 0);
    CU_ASSERT_EQUAL(r.res[0], HERALD_RESULT_DELIVERED);
    check_capture(outdir, 1, "", 0);
    run_one(12, &o, rcpts, 1, big, len, &r);
    CU_ASSERT_EQUAL(r.failed, 0);
    CU_ASSERT_EQUAL(r.res[0], HERALD_RESULT_DELIVERED);
    check_capture(outdir, 2, big, len);
    free(big);
    test_server_stop(&sv);
}

/* test_rcpt_one_bad - one good, one 550 recipient: one delivered, one failed */
static void
test_rcpt_one_bad(void)
{
    struct test_server sv;
    char outdir[300], json[512];
    static const char *const rcpts[] = { "reject-me@herald.test", "good@herald.test" };
    struct smtp_session_opts o;
    struct result r;

    if (!start_capture(&sv, 13, outdir, sizeof outdir))
        return;
    short_opts(&o);
    run_one(13, &o, rcpts, 2, "hi\n", 3, &r);
    CU_ASSERT_EQUAL(r.failed, 0);
    CU_ASSERT_EQUAL(r.res[0], HERALD_RESULT_FAILED);
    CU_ASSERT_STRING_EQUAL(r.reply[0], "550 5.1.1 No such user");
    CU_ASSERT_STRING_EQUAL(r.dsn[0], "5.1.1");
    CU_ASSERT_EQUAL(r.res[1], HERALD_RESULT_DELIVERED);
    snprintf(json, sizeof json, "%s/1.json", outdir);
    CU_ASSERT_TRUE(file_has(json, "\"rcpt_tos\": [\"good@herald.test\"]"));
    test_server_stop(&sv);
}

/* test_rcpt_mixed_fault - 550 and 450 and accepted in one pipelined transaction */
static void
test_rcpt_mixed_fault(void)
{
    struct test_server sv;
    char record[300];
    static const char *const rcpts[] = { "bad@x.test", "tmp@x.test", "ok@x.test" };
    struct smtp_session_opts o;
    struct result r;

    if (!start_fault(&sv, 14, "rcpt-mixed", record, sizeof record))
        return;
    short_opts(&o);
    run_one(14, &o, rcpts, 3, "x", 1, &r);
    CU_ASSERT_EQUAL(r.failed, 0);
    CU_ASSERT_EQUAL(r.res[0], HERALD_RESULT_FAILED);
    CU_ASSERT_EQUAL(r.res[1], HERALD_RESULT_DEFERRED);
    CU_ASSERT_STRING_EQUAL(r.reply[1], "450 4.2.0 Mailbox busy");
    CU_ASSERT_EQUAL(r.res[2], HERALD_RESULT_DELIVERED);
    CU_ASSERT_TRUE(file_has(record, "MAIL FROM:<sender@herald.test> SIZE=1\n"));
    CU_ASSERT_TRUE(file_has(record, "QUIT"));
    test_server_stop(&sv);
}

/* test_helo_fallback - smtp-sink -e refuses EHLO: HELO, then delivered */
static void
test_helo_fallback(void)
{
    struct test_server sv;
    static const char *const rcpts[] = { "dave@herald.test" };
    struct smtp_session_opts o;
    struct result r;

    if (!start_sink(&sv, 15, "-e", NULL))
        return;
    short_opts(&o);
    run_one(15, &o, rcpts, 1, "hello\n", 6, &r);
    CU_ASSERT_EQUAL(r.failed, 0);
    CU_ASSERT_EQUAL(r.decided[0], 1);
    CU_ASSERT_EQUAL(r.res[0], HERALD_RESULT_DELIVERED);
    test_server_stop(&sv);
}

/* test_refuse_both - EHLO and HELO refused: a permanent session failure */
static void
test_refuse_both(void)
{
    struct test_server sv;
    char record[300];
    static const char *const rcpts[] = { "erin@herald.test" };
    struct smtp_session_opts o;
    struct result r;

    if (!start_fault(&sv, 16, "refuse-both", record, sizeof record))
        return;
    short_opts(&o);
    run_one(16, &o, rcpts, 1, "x\n", 2, &r);
    CU_ASSERT_EQUAL(r.failed, 1);
    CU_ASSERT_EQUAL(r.why, HERALD_E_REJECTED);
    CU_ASSERT_TRUE(r.permanent);
    CU_ASSERT_PTR_NOT_NULL(strstr(r.fail_reply, "EHLO and HELO refused"));
    CU_ASSERT_PTR_NOT_NULL(strstr(r.fail_reply, "501"));
    CU_ASSERT_EQUAL(r.decided[0], 0);
    CU_ASSERT_TRUE(file_has(record, "EHLO client.herald.test\nHELO client.herald.test\n"));
    CU_ASSERT_FALSE(file_has(record, "MAIL"));
    test_server_stop(&sv);
}

/* test_greet_421 - a 421 greeting is a temporary session failure */
static void
test_greet_421(void)
{
    struct test_server sv;
    char record[300];
    static const char *const rcpts[] = { "f@herald.test" };
    struct smtp_session_opts o;
    struct result r;

    if (!start_fault(&sv, 17, "greet-421", record, sizeof record))
        return;
    short_opts(&o);
    run_one(17, &o, rcpts, 1, "x\n", 2, &r);
    CU_ASSERT_EQUAL(r.failed, 1);
    CU_ASSERT_FALSE(r.permanent);
    CU_ASSERT_EQUAL(strncmp(r.fail_reply, "421 4.3.2", 9), 0);
    CU_ASSERT_EQUAL(r.decided[0], 0);
    test_server_stop(&sv);

    if (!start_fault(&sv, 17, "greet-554", record, sizeof record))
        return;
    run_one(17, &o, rcpts, 1, "x\n", 2, &r);
    CU_ASSERT_EQUAL(r.failed, 1);
    CU_ASSERT_TRUE(r.permanent);
    CU_ASSERT_EQUAL(strncmp(r.fail_reply, "554 5.3.2", 9), 0);
    CU_ASSERT_FALSE(file_has(record, "EHLO"));
    test_server_stop(&sv);
}

/* test_dot_450 - smtp-sink -r . : 450 after the dot defers the recipient */
static void
test_dot_450(void)
{
    struct test_server sv;
    static const char *const rcpts[] = { "g@herald.test", "h@herald.test" };
    struct smtp_session_opts o;
    struct result r;

    if (!start_sink(&sv, 18, "-r", "."))
        return;
    short_opts(&o);
    run_one(18, &o, rcpts, 2, "x\n", 2, &r);
    CU_ASSERT_EQUAL(r.failed, 0);
    CU_ASSERT_EQUAL(r.res[0], HERALD_RESULT_DEFERRED);
    CU_ASSERT_EQUAL(r.res[1], HERALD_RESULT_DEFERRED);
    CU_ASSERT_EQUAL(strncmp(r.reply[0], "450", 3), 0);
    CU_ASSERT_FALSE(r.possibly[0]);
    test_server_stop(&sv);
}

/* test_hang - a server that never greets: greeting timeout, bounded */
static void
test_hang(void)
{
    struct test_server sv;
    char record[300];
    static const char *const rcpts[] = { "i@herald.test" };
    struct smtp_session_opts o;
    struct result r;
    uint64_t t0;

    if (!start_fault(&sv, 19, "hang", record, sizeof record))
        return;
    short_opts(&o);
    o.greeting_ms = 400;
    t0 = test_now_ms();
    run_one(19, &o, rcpts, 1, "x\n", 2, &r);
    CU_ASSERT_TRUE(test_now_ms() - t0 < 5000);
    CU_ASSERT_EQUAL(r.failed, 1);
    CU_ASSERT_EQUAL(r.why, HERALD_E_TIMEOUT);
    CU_ASSERT_FALSE(r.permanent);
    CU_ASSERT_PTR_NOT_NULL(strstr(r.fail_reply, "greeting"));
    test_server_stop(&sv);
}

/* test_slow_dot - no reply to the dot: deferred, possibly delivered */
static void
test_slow_dot(void)
{
    struct test_server sv;
    char record[300];
    static const char *const rcpts[] = { "j@herald.test" };
    struct smtp_session_opts o;
    struct result r;

    if (!start_fault(&sv, 20, "slow-dot", record, sizeof record))
        return;
    short_opts(&o);
    o.dot_ms = 500;
    run_one(20, &o, rcpts, 1, "x\n", 2, &r);
    CU_ASSERT_EQUAL(r.failed, 0);
    CU_ASSERT_EQUAL(r.decided[0], 1);
    CU_ASSERT_EQUAL(r.res[0], HERALD_RESULT_DEFERRED);
    CU_ASSERT_TRUE(r.possibly[0]);
    CU_ASSERT_PTR_NOT_NULL(strstr(r.reply[0], "possibly delivered"));
    test_server_stop(&sv);
}

/* test_drop_mid_data - connection lost before the dot: session failure */
static void
test_drop_mid_data(void)
{
    struct test_server sv;
    char record[300];
    static const char *const rcpts[] = { "k@herald.test" };
    struct smtp_session_opts o;
    struct result r;
    /* More than the loopback socket buffers hold, so the drop comes mid-body. */
    size_t len = 16u << 20;
    char *big = malloc(len);

    CU_ASSERT_PTR_NOT_NULL_FATAL(big);
    memset(big, 'q', len);
    if (!start_fault(&sv, 21, "drop-mid-data", record, sizeof record)) {
        free(big);
        return;
    }
    short_opts(&o);
    run_one(21, &o, rcpts, 1, big, len, &r);
    CU_ASSERT_EQUAL(r.failed, 1);
    CU_ASSERT_FALSE(r.permanent);
    CU_ASSERT_EQUAL(r.decided[0], 0);
    free(big);
    test_server_stop(&sv);
}

/* expect_protocol_failure - a hostile mode ends the session, nothing delivered */
static void
expect_protocol_failure(int n, const char *mode)
{
    struct test_server sv;
    char record[300];
    static const char *const rcpts[] = { "l@herald.test" };
    struct smtp_session_opts o;
    struct result r;

    if (!start_fault(&sv, n, mode, record, sizeof record))
        return;
    short_opts(&o);
    run_one(n, &o, rcpts, 1, "x\n", 2, &r);
    CU_ASSERT_EQUAL(r.failed, 1);
    CU_ASSERT_EQUAL(r.why, HERALD_E_PROTOCOL);
    CU_ASSERT_FALSE(r.permanent);
    CU_ASSERT_EQUAL(r.decided[0], 0);
    test_server_stop(&sv);
}

static void
test_huge_reply(void)
{
    expect_protocol_failure(22, "huge-reply");
}

static void
test_long_line(void)
{
    expect_protocol_failure(23, "long-line");
}

static void
test_garbage(void)
{
    expect_protocol_failure(24, "garbage");
}

static void
test_pipelined_junk(void)
{
    expect_protocol_failure(25, "pipelined-junk");
}

/* test_size_refused - SIZE 1000000 advertised, a bigger message is not sent */
static void
test_size_refused(void)
{
    struct test_server sv;
    char record[300];
    static const char *const rcpts[] = { "m@herald.test", "n@herald.test" };
    struct smtp_session_opts o;
    struct result r;
    size_t len = 1000001;
    char *big = malloc(len);

    CU_ASSERT_PTR_NOT_NULL_FATAL(big);
    memset(big, 'z', len);
    if (!start_fault(&sv, 26, "ok", record, sizeof record)) {
        free(big);
        return;
    }
    short_opts(&o);
    run_one(26, &o, rcpts, 2, big, len, &r);
    CU_ASSERT_EQUAL(r.failed, 0);
    CU_ASSERT_EQUAL(r.res[0], HERALD_RESULT_FAILED);
    CU_ASSERT_EQUAL(r.res[1], HERALD_RESULT_FAILED);
    CU_ASSERT_STRING_EQUAL(r.reply[0], "552 5.3.4 message too large for server");
    CU_ASSERT_STRING_EQUAL(r.dsn[0], "5.3.4");
    CU_ASSERT_FALSE(file_has(record, "MAIL"));
    CU_ASSERT_TRUE(file_has(record, "QUIT"));
    free(big);
    test_server_stop(&sv);
}

/* test_connect_refused - nobody listening: a temporary connect failure */
static void
test_connect_refused(void)
{
    static const char *const rcpts[] = { "o@herald.test" };
    struct smtp_session_opts o;
    struct result r;

    short_opts(&o);
    run_one(27, &o, rcpts, 1, "x", 1, &r);
    CU_ASSERT_EQUAL(r.failed, 1);
    CU_ASSERT_EQUAL(r.why, HERALD_E_CONNECT);
    CU_ASSERT_FALSE(r.permanent);
    CU_ASSERT_FALSE(r.connected);
}

/* test_bad_input - addresses with CR LF or brackets never reach the wire */
static void
test_bad_input(void)
{
    struct herald_loop *loop = NULL;
    struct smtp_session *s = NULL;
    struct herald_address a;
    struct smtp_session_opts o;
    static const char *const bad1[] = { "a@b\r\nRCPT TO:<c@d>" };
    static const char *const bad2[] = { "a@b>" };
    struct body_src src = { "x", 1, 0 };
    struct smtp_message m = { .sender = "s@herald.test", .rcpts = bad1, .nrcpt = 1, .size = 1,
                              .read = body_read, .read_arg = &src };
    struct result r;
    struct smtp_session_cb cb = { NULL, cb_recipient, cb_failed, cb_done, &r };

    address_of(28, &a);
    short_opts(&o);
    CU_ASSERT_EQUAL_FATAL(herald_loop_new(&loop), HERALD_OK);
    o.helo_name = "bad\r\nname";
    CU_ASSERT_EQUAL(smtp_session_new(loop, NULL, &a, test_port, &o, &s), HERALD_E_INVAL);
    o.helo_name = NULL;                /* the host's own name */
    CU_ASSERT_EQUAL_FATAL(smtp_session_new(loop, NULL, &a, test_port, &o, &s), HERALD_OK);
    CU_ASSERT_EQUAL(smtp_session_send(s, &m, &cb), HERALD_E_INVAL);
    m.rcpts = bad2;
    CU_ASSERT_EQUAL(smtp_session_send(s, &m, &cb), HERALD_E_INVAL);
    m.rcpts = NULL;
    CU_ASSERT_EQUAL(smtp_session_send(s, &m, &cb), HERALD_E_INVAL);
    m.rcpts = bad2;
    m.nrcpt = 0;
    CU_ASSERT_EQUAL(smtp_session_send(s, &m, &cb), HERALD_E_INVAL);
    m.sender = "x\ny@z";
    m.nrcpt = 1;
    CU_ASSERT_EQUAL(smtp_session_send(s, &m, &cb), HERALD_E_INVAL);
    CU_ASSERT_TRUE(smtp_session_usable(s));
    {
        char want[64];

        snprintf(want, sizeof want, "127.0.1.28:%u", (unsigned)test_port);
        CU_ASSERT_STRING_EQUAL(smtp_session_peer(s), want);
    }
    smtp_session_free(&s);
    smtp_session_free(&s);
    herald_loop_free(&loop);
}

/* test_names - state names and the default HELO name */
static void
test_names(void)
{
    char name[256];

    CU_ASSERT_STRING_EQUAL(smtp_state_name(SMTP_S_EHLO), "EHLO");
    CU_ASSERT_STRING_EQUAL(smtp_state_name(SMTP_S_DOT), "DOT");
    CU_ASSERT_STRING_EQUAL(smtp_state_name(SMTP_S__LAST), "?");
    smtp_default_helo_name(name, sizeof name);
    CU_ASSERT_TRUE(name[0] != '\0');
    CU_ASSERT_PTR_NULL(strpbrk(name, " \r\n"));
}

int
main(void)
{
    CU_pSuite s;
    unsigned int nfail;
    struct herald_diag d;
    const char *tmp = getenv("TMPDIR");

    test_port = (uint16_t)(30000 + getpid() % 30000);
    snprintf(workdir, sizeof workdir, "%s/herald-smtp-XXXXXX", tmp && *tmp ? tmp : "/tmp");
    if (mkdtemp(workdir) == NULL)
        return 99;
    chmod(workdir, 0755);
    if (trace_sink_open("-", TRACE_FORMAT_TEXT, HERALD_TRACE_DEBUG, &sink, &d) != HERALD_OK)
        return 99;
    trace_scope_init(&trace, sink, NULL);
    signal(SIGPIPE, SIG_IGN);

    if (CU_initialize_registry() != CUE_SUCCESS)
        return 99;
    s = CU_add_suite("smtp_session", NULL, NULL);
    if (s == NULL
        || CU_add_test(s, "names", test_names) == NULL
        || CU_add_test(s, "bad input", test_bad_input) == NULL
        || CU_add_test(s, "capture: delivered, exact bytes, reuse", test_capture_delivered) == NULL
        || CU_add_test(s, "capture: empty and 3 MB", test_capture_empty_and_big) == NULL
        || CU_add_test(s, "capture: RCPT 550 + good", test_rcpt_one_bad) == NULL
        || CU_add_test(s, "fault: RCPT 550/450/250", test_rcpt_mixed_fault) == NULL
        || CU_add_test(s, "smtp-sink -e: HELO fallback", test_helo_fallback) == NULL
        || CU_add_test(s, "fault: EHLO and HELO refused", test_refuse_both) == NULL
        || CU_add_test(s, "fault: 421 and 554 greetings", test_greet_421) == NULL
        || CU_add_test(s, "smtp-sink -r .: 450 after dot", test_dot_450) == NULL
        || CU_add_test(s, "fault: hang -> greeting timeout", test_hang) == NULL
        || CU_add_test(s, "fault: no reply to dot", test_slow_dot) == NULL
        || CU_add_test(s, "fault: drop mid-DATA", test_drop_mid_data) == NULL
        || CU_add_test(s, "fault: 10,000-line reply", test_huge_reply) == NULL
        || CU_add_test(s, "fault: 100 KB line", test_long_line) == NULL
        || CU_add_test(s, "fault: garbage", test_garbage) == NULL
        || CU_add_test(s, "fault: unasked replies", test_pipelined_junk) == NULL
        || CU_add_test(s, "fault: SIZE exceeded", test_size_refused) == NULL
        || CU_add_test(s, "connect refused", test_connect_refused) == NULL) {
        CU_cleanup_registry();
        return 99;
    }
    CU_basic_set_mode(CU_BRM_VERBOSE);
    CU_basic_run_tests();
    nfail = CU_get_number_of_failure_records();
    CU_cleanup_registry();
    trace_sink_free(&sink);
    nftw(workdir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
    if (setup_failed)
        return 99;
    return nfail == 0 ? 0 : 1;
}
