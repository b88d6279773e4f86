/*
 * test_smtp_tls.c - STARTTLS, verification and AUTH against real servers
 *
 * Servers on 127.0.2.N: tests/servers/capture_smtpd.py (aiosmtpd with
 * STARTTLS and AUTH PLAIN/LOGIN, user "user" password "pass"),
 * fault_smtpd.py (no STARTTLS, records every line) and
 * starttls_junk_smtpd.py (injects a reply after its 220 to STARTTLS) and
 * tls_bulk_smtpd.py (replies inside TLS larger than the input buffer).
 * The tests of blocked TLS writes need a server that reads only when told:
 * an mbed TLS server in this process, on the same loop.
 * Certificates come from tests/lib/make_certs.sh into a fresh directory
 * each run.  The trace goes to a file that the tests grep.
 * A server or PKI that cannot be set up is a hard error (exit 99).
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
#include <mbedtls/ctr_drbg.h>
#include <mbedtls/entropy.h>
#include <mbedtls/net_sockets.h>
#include <mbedtls/pk.h>
#include <mbedtls/ssl.h>
#include <mbedtls/version.h>
#include <mbedtls/x509_crt.h>

#include "smtp_auth.h"
#include "smtp_body.h"
#include "smtp_ehlo.h"
#include "smtp_session.h"
#include "smtp_tls.h"
#include "test_servers.h"
#include "trace_sink.h"
#include "test_file.h"

#define MAX_RCPT 4
#define WAIT_READY_MS 15000

static int setup_failed;              /* a server could not start: exit 99 */
static uint16_t test_port;
static char workdir[256];
static char certdir[300];
static char trace_path[300];
static struct trace_sink *sink;
static struct herald_trace trace;

/* ---- servers ------------------------------------------------------------ */

/* test_ip - this test's own loopback address */
static void
test_ip(int n, char *buf, size_t cap)
{
    snprintf(buf, cap, "127.0.2.%d", n);
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

/* py - the Python for test servers */
static char *
py(void)
{
    const char *p = getenv("TEST_PYTHON");

    return (char *)(p && *p ? p : "/usr/bin/python3");
}

/* script - a test server script under the source tree */
static void
script(const char *name, char *buf, size_t cap)
{
    const char *src = getenv("HERALD_SRC_DIR");

    snprintf(buf, cap, "%s/tests/servers/%s", src ? src : ".", name);
}

/* cert - a file of the test PKI */
static void
cert(const char *name, char *buf, size_t cap)
{
    snprintf(buf, cap, "%s/%s", certdir, name);
}

/* start_capture - capture_smtpd.py on 127.0.2.n; STARTTLS+AUTH with certname */
static int
start_capture(struct test_server *sv, int n, const char *certname, char *outdir, size_t cap)
{
    char ip[32], port[16], sc[512], c[400], k[400], base[64];

    test_ip(n, ip, sizeof ip);
    snprintf(port, sizeof port, "%u", (unsigned)test_port);
    script("capture_smtpd.py", sc, sizeof sc);
    snprintf(outdir, cap, "%s/capture-%d", workdir, n);
    mkdir(outdir, 0700);
    if (certname == NULL) {
        char *argv[] = { py(), sc, ip, port, outdir, NULL };

        return server_start(sv, argv, ip, 0);
    }
    snprintf(base, sizeof base, "%s.pem", certname);
    cert(base, c, sizeof c);
    snprintf(base, sizeof base, "%s.key", certname);
    cert(base, k, sizeof k);
    {
        char *argv[] = { py(), sc, ip, port, outdir, c, k, NULL };

        return server_start(sv, argv, ip, 0);
    }
}

/* start_fault - fault_smtpd.py mode ok (no STARTTLS), recording every line */
static int
start_fault(struct test_server *sv, int n, char *record, size_t cap)
{
    char ip[32], port[16], sc[512];

    test_ip(n, ip, sizeof ip);
    snprintf(port, sizeof port, "%u", (unsigned)test_port);
    script("fault_smtpd.py", sc, sizeof sc);
    snprintf(record, cap, "%s/record-%d.txt", workdir, n);
    unlink(record);
    {
        char *argv[] = { py(), sc, ip, port, (char *)"--mode", (char *)"ok",
                         (char *)"--record", record, NULL };

        return server_start(sv, argv, ip, 0);
    }
}

/* start_junk - starttls_junk_smtpd.py in kind (junk, implicit, auth454), recording */
static int
start_junk(struct test_server *sv, int n, const char *kind, char *record, size_t cap)
{
    char ip[32], port[16], sc[512], c[400], k[400];

    test_ip(n, ip, sizeof ip);
    snprintf(port, sizeof port, "%u", (unsigned)test_port);
    script("starttls_junk_smtpd.py", sc, sizeof sc);
    snprintf(record, cap, "%s/record-%d.txt", workdir, n);
    unlink(record);
    cert("server.pem", c, sizeof c);
    cert("server.key", k, sizeof k);
    {
        char *argv[] = { py(), sc, ip, port, c, k, record, (char *)kind, NULL };

        return server_start(sv, argv, ip, 0);
    }
}

/* start_bulk - tls_bulk_smtpd.py: 15 KB replies to EHLO and MAIL inside TLS */
static int
start_bulk(struct test_server *sv, int n, char *record, size_t cap)
{
    char ip[32], port[16], sc[512], c[400], k[400];

    test_ip(n, ip, sizeof ip);
    snprintf(port, sizeof port, "%u", (unsigned)test_port);
    script("tls_bulk_smtpd.py", sc, sizeof sc);
    snprintf(record, cap, "%s/record-%d.txt", workdir, n);
    unlink(record);
    cert("server.pem", c, sizeof c);
    cert("server.key", k, sizeof k);
    {
        char *argv[] = { py(), sc, ip, port, c, k, record, NULL };

        return server_start(sv, argv, ip, 0);
    }
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

    r->connected = peer != NULL && strncmp(peer, "127.0.2.", 8) == 0;
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

/* address_of - 127.0.2.n as a herald_address */
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


/* trace_mark - where the trace file ends now: tests look only past it */
static long
trace_mark(void)
{
    struct stat st;

    return stat(trace_path, &st) == 0 ? (long)st.st_size : 0;
}

/* trace_has - true when the trace written since mark contains needle */
static int
trace_has(long mark, const char *needle)
{
    size_t len = 0;
    char *all = test_read_file(trace_path, &len);
    int found;

    if (all == NULL)
        return 0;
    found = (size_t)mark <= len && strstr(all + mark, needle) != NULL;
    free(all);
    return found;
}

/* file_has - true when the file at path contains needle */
static int
file_has(const char *path, const char *needle)
{
    size_t len = 0;
    char *all = test_read_file(path, &len);
    int found = all != NULL && strstr(all, needle) != NULL;

    free(all);
    return found;
}

/* captured - the capture server stored message 1 (holding needle, when given) */
static int
captured(const char *outdir, const char *needle)
{
    char p[512];

    snprintf(p, sizeof p, "%s/1.json", outdir);
    return needle == NULL ? access(p, F_OK) == 0 : file_has(p, needle);
}

/* ---- tests ---------------------------------------------------------------- */

static const char body[] = "Subject: tls test\r\n\r\nhello over TLS\r\n";
static const char *const one_rcpt[] = { "rcpt@herald.test" };

/* tls_opts - short timeouts, a policy and a config */
static void
tls_opts(struct smtp_session_opts *o, int policy, struct smtp_tls_config *cfg)
{
    smtp_session_opts_init(o);
    o->helo_name = "client.herald.test";
    o->connect_ms = 3000;
    o->greeting_ms = 5000;
    o->ehlo_ms = o->mail_ms = o->rcpt_ms = o->data_ms = o->block_ms = 5000;
    o->dot_ms = 5000;
    o->quit_ms = 2000;
    o->tls_policy = policy;
    o->tls_config = cfg;
}

/* config_for - a TLS config with the named CA file of the test PKI */
static struct smtp_tls_config *
config_for(const char *ca, bool verify)
{
    struct smtp_tls_config *cfg = NULL;
    char path[400];
    struct herald_diag d;

    cert(ca, path, sizeof path);
    CU_ASSERT_EQUAL(smtp_tls_config_new(path, NULL, verify, NULL, &cfg, &d), HERALD_OK);
    return cfg;
}

/* run_named - one message to 127.0.2.n with the hop name for TLS, then quit */
static void
run_named(int n, const struct smtp_session_opts *opts, const char *name, struct result *r)
{
    struct herald_loop *loop = NULL;
    struct smtp_session *s = NULL;
    struct herald_address a;
    int closed = 0;

    address_of(n, &a);
    CU_ASSERT_EQUAL_FATAL(herald_loop_new(&loop), HERALD_OK);
    CU_ASSERT_EQUAL_FATAL(smtp_session_new(loop, &trace, &a, test_port, opts, &s), HERALD_OK);
    if (name != NULL)
        CU_ASSERT_EQUAL(smtp_session_set_tls_name(s, name), HERALD_OK);
    send_one(loop, s, one_rcpt, 1, body, sizeof body - 1, r);
    smtp_session_quit(s, on_quit, &closed);
    CU_ASSERT_EQUAL(herald_loop_run(loop, is_closed, &closed, 10000), HERALD_OK);
    CU_ASSERT_EQUAL(smtp_session_state(s), SMTP_S_CLOSED);
    smtp_session_free(&s);
    herald_loop_free(&loop);
}

/* test_opportunistic_tls - STARTTLS offered: used, EHLO again, trace says so */
static void
test_opportunistic_tls(void)
{
    struct test_server sv;
    struct smtp_session_opts o;
    struct smtp_tls_config *cfg = config_for("ca.pem", false);
    struct result r;
    char outdir[400];
    long mark = trace_mark();

    if (!start_capture(&sv, 1, "server", outdir, sizeof outdir))
        return;
    tls_opts(&o, SMTP_TLS_OPPORTUNISTIC, cfg);
    run_named(1, &o, "mx1.tls.test", &r);
    test_server_stop(&sv);
    CU_ASSERT_EQUAL(r.decided[0], 1);
    CU_ASSERT_EQUAL(r.res[0], HERALD_RESULT_DELIVERED);
    CU_ASSERT_TRUE(captured(outdir, "\"tls\": true"));
    CU_ASSERT_TRUE(trace_has(mark, "C: STARTTLS"));
    CU_ASSERT_TRUE(trace_has(mark, "TLS established: TLSv1.2"));
    CU_ASSERT_TRUE(trace_has(mark, "CN=mx1.tls.test"));
    CU_ASSERT_TRUE(trace_has(mark, "CN=Herald Test CA"));
    CU_ASSERT_TRUE(trace_has(mark, "verification for mx1.tls.test: ok"));
    smtp_tls_config_free(&cfg);
}

/* test_opportunistic_clear - no STARTTLS offered: carry on in clear, traced */
static void
test_opportunistic_clear(void)
{
    struct test_server sv;
    struct smtp_session_opts o;
    struct smtp_tls_config *cfg = config_for("ca.pem", false);
    struct result r;
    char outdir[400];
    long mark = trace_mark();

    if (!start_capture(&sv, 2, NULL, outdir, sizeof outdir))
        return;
    tls_opts(&o, SMTP_TLS_OPPORTUNISTIC, cfg);
    run_named(2, &o, "mx1.tls.test", &r);
    test_server_stop(&sv);
    CU_ASSERT_EQUAL(r.res[0], HERALD_RESULT_DELIVERED);
    CU_ASSERT_TRUE(captured(outdir, "\"tls\": false"));
    CU_ASSERT_TRUE(trace_has(mark, "continuing in clear text"));
    smtp_tls_config_free(&cfg);
}

/* test_required_no_starttls - no STARTTLS: temporary session failure, no MAIL sent */
static void
test_required_no_starttls(void)
{
    struct test_server sv;
    struct smtp_session_opts o;
    struct smtp_tls_config *cfg = config_for("ca.pem", false);
    struct result r;
    char record[400];

    if (!start_fault(&sv, 3, record, sizeof record))
        return;
    tls_opts(&o, SMTP_TLS_REQUIRED, cfg);
    run_named(3, &o, "mx1.tls.test", &r);
    test_server_stop(&sv);
    CU_ASSERT_EQUAL(r.decided[0], 0);    /* left for another hop, else deferred */
    CU_ASSERT_EQUAL(r.failed, 1);
    CU_ASSERT_EQUAL(r.why, HERALD_E_TLS);
    CU_ASSERT_FALSE(r.permanent);
    CU_ASSERT_PTR_NOT_NULL(strstr(r.fail_reply, "does not offer STARTTLS"));
    CU_ASSERT_TRUE(file_has(record, "EHLO"));
    CU_ASSERT_FALSE(file_has(record, "MAIL"));
    CU_ASSERT_FALSE(file_has(record, "RCPT"));
    smtp_tls_config_free(&cfg);
}

/* verify_case - tls = verify against certname with CA ca for the hop name */
static void
verify_case(int n, const char *certname, const char *ca, const char *name, int ok,
            const char *reason)
{
    struct test_server sv;
    struct smtp_session_opts o;
    struct smtp_tls_config *cfg = config_for(ca, true);
    struct result r;
    char outdir[400];
    long mark = trace_mark();

    if (!start_capture(&sv, n, certname, outdir, sizeof outdir))
        return;
    tls_opts(&o, SMTP_TLS_VERIFY, cfg);
    run_named(n, &o, name, &r);
    test_server_stop(&sv);
    if (ok) {
        CU_ASSERT_EQUAL(r.res[0], HERALD_RESULT_DELIVERED);
        CU_ASSERT_TRUE(captured(outdir, "\"tls\": true"));
    } else {
        CU_ASSERT_EQUAL(r.decided[0], 0);
        CU_ASSERT_EQUAL(r.failed, 1);
        CU_ASSERT_EQUAL(r.why, HERALD_E_TLS);
        CU_ASSERT_FALSE(r.permanent);
        CU_ASSERT_FALSE(captured(outdir, NULL));
        CU_ASSERT_PTR_NOT_NULL(strstr(r.fail_reply, reason));
        CU_ASSERT_TRUE(trace_has(mark, reason));
        CU_ASSERT_FALSE(trace_has(mark, "C: MAIL"));
    }
    smtp_tls_config_free(&cfg);
}

/* test_verify_ok - the right CA and the name in the certificate */
static void
test_verify_ok(void)
{
    verify_case(4, "server", "ca.pem", "mx1.tls.test", 1, NULL);
}

/* test_verify_wrong_ca - a chain to another CA */
static void
test_verify_wrong_ca(void)
{
    verify_case(5, "server", "other-ca.pem", "mx1.tls.test", 0, "not trusted");
}

/* test_verify_wrong_name - the hop name is not in the certificate */
static void
test_verify_wrong_name(void)
{
    verify_case(6, "server", "ca.pem", "wrong.tls.test", 0, "host name mismatch");
}

/* test_verify_expired - a certificate valid only in 2020 */
static void
test_verify_expired(void)
{
    verify_case(7, "expired", "ca.pem", "mx1.tls.test", 0, "certificate expired");
}

/*
 * test_starttls_injection - a reply sent with the 220 is dropped, never
 * believed.  The server writes both in one send, so they arrive in the same
 * read: the parser stops after the 220, and what follows in the buffer (all
 * 26 octets of the forged "250 2.0.0 injected reply") is discarded before
 * the handshake.  Had they come in a later read, they would have gone to
 * mbed TLS as a broken record, failing the handshake, never read as a reply.
 */
static void
test_starttls_injection(void)
{
    struct test_server sv;
    struct smtp_session_opts o;
    struct smtp_tls_config *cfg = config_for("ca.pem", true);
    struct result r;
    char record[400];
    long mark = trace_mark();

    if (!start_junk(&sv, 8, "junk", record, sizeof record))
        return;
    tls_opts(&o, SMTP_TLS_VERIFY, cfg);
    run_named(8, &o, "mx1.tls.test", &r);
    test_server_stop(&sv);
    CU_ASSERT_EQUAL(r.res[0], HERALD_RESULT_DELIVERED);
    CU_ASSERT_TRUE(trace_has(mark, "discarding 26 octets received before the TLS handshake"));
    CU_ASSERT_FALSE(trace_has(mark, "injected reply"));
    CU_ASSERT_TRUE(file_has(record, "tls: EHLO"));
    CU_ASSERT_TRUE(file_has(record, "tls: MAIL"));
    CU_ASSERT_FALSE(file_has(record, "clear: MAIL"));
    smtp_tls_config_free(&cfg);
}

/*
 * test_tls_large_record - a reply larger than the input buffer in one TLS
 * record: the socket is empty once the record is read, so the plaintext
 * mbed TLS still holds must be pulled without a readable event.  Before
 * that was done the session sat out its EHLO timeout; with short timeouts
 * a stall shows as a failed delivery, so only the outcome is asserted.
 */
static void
test_tls_large_record(void)
{
    struct test_server sv;
    struct smtp_session_opts o;
    struct smtp_tls_config *cfg = config_for("ca.pem", true);
    struct result r;
    char record[400];
    long mark = trace_mark();

    if (!start_bulk(&sv, 19, record, sizeof record))
        return;
    tls_opts(&o, SMTP_TLS_VERIFY, cfg);
    o.ehlo_ms = o.mail_ms = o.rcpt_ms = 3000;
    run_named(19, &o, "mx1.tls.test", &r);
    test_server_stop(&sv);
    CU_ASSERT_EQUAL(r.failed, 0);
    CU_ASSERT_EQUAL(r.res[0], HERALD_RESULT_DELIVERED);
    CU_ASSERT_TRUE(trace_has(mark, "X-FILLER-96"));      /* the last filler line of EHLO */
    CU_ASSERT_TRUE(trace_has(mark, "that was long"));    /* the end of the MAIL reply */
    CU_ASSERT_TRUE(file_has(record, "tls: MAIL"));
    CU_ASSERT_TRUE(file_has(record, "tls: RCPT"));
    CU_ASSERT_TRUE(file_has(record, "tls: DATA"));
    smtp_tls_config_free(&cfg);
}

/* test_implicit_tls - TLS from the first octet: greeting, EHLO and MAIL all inside */
static void
test_implicit_tls(void)
{
    struct test_server sv;
    struct smtp_session_opts o;
    struct smtp_tls_config *cfg = config_for("ca.pem", true);
    struct result r;
    char record[400];
    long mark = trace_mark();

    if (!start_junk(&sv, 13, "implicit", record, sizeof record))
        return;
    tls_opts(&o, SMTP_TLS_VERIFY, cfg);
    o.implicit_tls = true;
    run_named(13, &o, "mx1.tls.test", &r);
    test_server_stop(&sv);
    CU_ASSERT_EQUAL(r.res[0], HERALD_RESULT_DELIVERED);
    CU_ASSERT_TRUE(trace_has(mark, "TLS established"));
    CU_ASSERT_FALSE(trace_has(mark, "C: STARTTLS"));
    CU_ASSERT_TRUE(file_has(record, "tls: EHLO"));
    CU_ASSERT_TRUE(file_has(record, "tls: MAIL"));
    CU_ASSERT_FALSE(file_has(record, "clear:"));
    smtp_tls_config_free(&cfg);
}

/* test_auth_454 - a 454 to AUTH is a temporary session failure */
static void
test_auth_454(void)
{
    struct test_server sv;
    struct smtp_session_opts o;
    struct smtp_tls_config *cfg = config_for("ca.pem", true);
    struct result r;
    char record[400];

    if (!start_junk(&sv, 14, "auth454", record, sizeof record))
        return;
    tls_opts(&o, SMTP_TLS_VERIFY, cfg);
    o.auth_user = "user";
    o.auth_secret = "secret-454-3";
    run_named(14, &o, "mx1.tls.test", &r);
    test_server_stop(&sv);
    CU_ASSERT_EQUAL(r.decided[0], 0);
    CU_ASSERT_EQUAL(r.failed, 1);
    CU_ASSERT_FALSE(r.permanent);
    CU_ASSERT_PTR_NOT_NULL(strstr(r.fail_reply, "454"));
    CU_ASSERT_TRUE(file_has(record, "tls: AUTH"));
    CU_ASSERT_FALSE(file_has(record, "MAIL"));
    smtp_tls_config_free(&cfg);
}

/* xoauth2_case - XOAUTH2 with a token: accepted, or 334 challenge then 535 */
static void
xoauth2_case(int n, const char *token, int ok)
{
    struct test_server sv;
    struct smtp_session_opts o;
    struct smtp_tls_config *cfg = config_for("ca.pem", true);
    struct result r;
    char record[400];
    long mark = trace_mark();

    if (!start_junk(&sv, n, "xoauth2", record, sizeof record))
        return;
    tls_opts(&o, SMTP_TLS_VERIFY, cfg);
    o.auth_user = "user";
    o.auth_secret = token;
    o.auth_token = true;
    run_named(n, &o, "mx1.tls.test", &r);
    test_server_stop(&sv);
    CU_ASSERT_TRUE(trace_has(mark, "C: AUTH XOAUTH2 <redacted>"));
    CU_ASSERT_FALSE(trace_has(mark, token));
    if (ok) {
        CU_ASSERT_EQUAL(r.res[0], HERALD_RESULT_DELIVERED);
        CU_ASSERT_TRUE(file_has(record, "tls: MAIL"));
    } else {
        CU_ASSERT_EQUAL(r.failed, 1);
        CU_ASSERT_FALSE(r.permanent);   /* a refused AUTH defers */
        CU_ASSERT_PTR_NOT_NULL(strstr(r.fail_reply, "535"));
        CU_ASSERT_FALSE(file_has(record, "MAIL"));
    }
    smtp_tls_config_free(&cfg);
}

/* test_xoauth2 - the right token, then a wrong one */
static void
test_xoauth2(void)
{
    xoauth2_case(15, "tok-123", 1);
    xoauth2_case(16, "tok-wrong-456", 0);
}

/* bad_handshake - a server whose TLS is broken, under policy */
static void
bad_handshake(int n, int policy)
{
    struct test_server sv;
    struct smtp_session_opts o;
    struct smtp_tls_config *cfg = config_for("ca.pem", false);
    struct result r;
    char record[400];
    long mark = trace_mark();

    if (!start_junk(&sv, n, "badtls", record, sizeof record))
        return;
    tls_opts(&o, policy, cfg);
    run_named(n, &o, "mx1.tls.test", &r);
    test_server_stop(&sv);
    CU_ASSERT_TRUE(trace_has(mark, "TLS handshake failed"));
    if (policy == SMTP_TLS_OPPORTUNISTIC) {
        /* Once in clear on a new connection, STARTTLS not tried again. */
        CU_ASSERT_EQUAL(r.res[0], HERALD_RESULT_DELIVERED);
        CU_ASSERT_TRUE(trace_has(mark, "continuing in clear text"));
        CU_ASSERT_TRUE(file_has(record, "clear: MAIL"));
    } else {
        CU_ASSERT_EQUAL(r.decided[0], 0);
        CU_ASSERT_EQUAL(r.failed, 1);
        CU_ASSERT_EQUAL(r.why, HERALD_E_TLS);
        CU_ASSERT_FALSE(r.permanent);
        CU_ASSERT_FALSE(file_has(record, "MAIL"));
    }
    smtp_tls_config_free(&cfg);
}

/* test_bad_handshake - opportunistic falls back to clear, required fails */
static void
test_bad_handshake(void)
{
    bad_handshake(17, SMTP_TLS_OPPORTUNISTIC);
    bad_handshake(18, SMTP_TLS_REQUIRED);
}

/* auth_case - AUTH with the given mechanisms and password, over TLS or not */
static void
auth_case(int n, unsigned mechs, const char *password, const char *shown, int ok, bool tls)
{
    struct test_server sv;
    struct smtp_session_opts o;
    struct smtp_tls_config *cfg = config_for("ca.pem", true);
    struct result r;
    char outdir[400];
    long mark = trace_mark();

    if (!start_capture(&sv, n, tls ? "server" : NULL, outdir, sizeof outdir))
        return;
    tls_opts(&o, tls ? SMTP_TLS_VERIFY : SMTP_TLS_OPPORTUNISTIC, cfg);
    o.auth_user = "user";
    o.auth_secret = password;
    o.auth_mechs = mechs;
    run_named(n, &o, "mx1.tls.test", &r);
    test_server_stop(&sv);
    if (ok) {
        CU_ASSERT_EQUAL(r.res[0], HERALD_RESULT_DELIVERED);
        CU_ASSERT_TRUE(captured(outdir, "\"auth\": \"user\""));
        CU_ASSERT_TRUE(trace_has(mark, shown));
    } else {
        CU_ASSERT_EQUAL(r.decided[0], 0);
        CU_ASSERT_EQUAL(r.failed, 1);
        CU_ASSERT_FALSE(captured(outdir, NULL));
        CU_ASSERT_PTR_NOT_NULL(strstr(r.fail_reply, shown));
        CU_ASSERT_FALSE(r.permanent);   /* a refused AUTH defers, 535 too */
        CU_ASSERT_FALSE(trace_has(mark, "C: MAIL"));
    }
    /* Neither the password nor any base64 form of it reaches the trace. */
    CU_ASSERT_FALSE(trace_has(mark, password));
    CU_ASSERT_FALSE(trace_has(mark, "c2VjcmV0"));           /* "secret" */
    CU_ASSERT_FALSE(trace_has(mark, "AHVzZXIAc2VjcmV0"));   /* PLAIN "\0user\0secret" */
    CU_ASSERT_FALSE(trace_has(mark, "AHVzZXIAcGFzcw"));     /* PLAIN "\0user\0pass" */
    CU_ASSERT_FALSE(trace_has(mark, "cGFzcw"));             /* LOGIN "pass" */
    smtp_tls_config_free(&cfg);
}

/* test_auth_plain - PLAIN over verified TLS; the trace shows <redacted> */
static void
test_auth_plain(void)
{
    auth_case(9, SMTP_AUTH_PLAIN, "pass", "C: AUTH PLAIN <redacted>", 1, true);
}

/* test_auth_login - LOGIN when only LOGIN is allowed */
static void
test_auth_login(void)
{
    auth_case(10, SMTP_AUTH_LOGIN, "pass", "C: <redacted>", 1, true);
}

/* test_auth_wrong_password - 535: a temporary session failure with the reply */
static void
test_auth_wrong_password(void)
{
    auth_case(11, SMTP_AUTH_PLAIN, "secret-wrong-1", "535", 0, true);
}

/* test_auth_refused_clear - no TLS: AUTH is not even tried */
static void
test_auth_refused_clear(void)
{
    auth_case(12, SMTP_AUTH_PLAIN, "secret-clear-2", "not encrypted", 0, false);
}

/* test_auth_encoders - PLAIN, LOGIN and XOAUTH2 payloads and the choice */
static void
test_auth_encoders(void)
{
    char b[SMTP_AUTH_B64_MAX], small[8];
    struct smtp_ehlo e;
    unsigned m = 0;

    CU_ASSERT_EQUAL(smtp_auth_plain("user", "pass", b, sizeof b), HERALD_OK);
    CU_ASSERT_STRING_EQUAL(b, "AHVzZXIAcGFzcw==");
    CU_ASSERT_EQUAL(smtp_auth_b64("user", b, sizeof b), HERALD_OK);
    CU_ASSERT_STRING_EQUAL(b, "dXNlcg==");
    CU_ASSERT_EQUAL(smtp_auth_xoauth2("u@x", "tok", b, sizeof b), HERALD_OK);
    CU_ASSERT_STRING_EQUAL(b, "dXNlcj11QHgBYXV0aD1CZWFyZXIgdG9rAQE=");
    CU_ASSERT_EQUAL(smtp_auth_plain("user", "pass", small, sizeof small), HERALD_E_LIMIT);
    CU_ASSERT_EQUAL(smtp_auth_parse_list("plain, LOGIN", &m, NULL, 0), HERALD_OK);
    CU_ASSERT_EQUAL(m, SMTP_AUTH_PLAIN | SMTP_AUTH_LOGIN);
    CU_ASSERT_EQUAL(smtp_auth_parse_list("CRAM-MD5", &m, b, sizeof b), HERALD_E_INVAL);
    CU_ASSERT_STRING_EQUAL(b, "CRAM-MD5");
    smtp_ehlo_clear(&e);
    CU_ASSERT_EQUAL(smtp_auth_choose(&e, SMTP_AUTH_ALL, false), 0u);
    e.flags = SMTP_EXT_AUTH;
    snprintf(e.auth, sizeof e.auth, "LOGIN PLAIN XOAUTH2");
    CU_ASSERT_EQUAL(smtp_auth_choose(&e, SMTP_AUTH_ALL, false), SMTP_AUTH_PLAIN);
    CU_ASSERT_EQUAL(smtp_auth_choose(&e, SMTP_AUTH_LOGIN, false), SMTP_AUTH_LOGIN);
    CU_ASSERT_EQUAL(smtp_auth_choose(&e, SMTP_AUTH_ALL, true), SMTP_AUTH_XOAUTH2);
    CU_ASSERT_EQUAL(smtp_auth_choose(&e, SMTP_AUTH_PLAIN, true), 0u);
}

/* test_config_errors - a missing CA file under verify, bad ciphersuites */
static void
test_config_errors(void)
{
    struct smtp_tls_config *cfg = NULL;
    struct herald_diag d;
    char path[400];

    CU_ASSERT_EQUAL(smtp_tls_config_new("/nonexistent/ca.pem", NULL, true, NULL, &cfg, &d),
                    HERALD_E_TLS);
    CU_ASSERT_PTR_NULL(cfg);
    cert("ca.pem", path, sizeof path);
    CU_ASSERT_EQUAL(smtp_tls_config_new(path, "/nonexistent/ca.d", true, NULL, &cfg, &d),
                    HERALD_E_TLS);
    CU_ASSERT_PTR_NULL(cfg);
    CU_ASSERT_PTR_NOT_NULL(strstr(d.text, "CA certificates"));
    /* Without verify, a missing CA only means "not trusted" in the trace. */
    CU_ASSERT_EQUAL(smtp_tls_config_new("/nonexistent/ca.pem", NULL, false, NULL, &cfg, &d),
                    HERALD_OK);
    smtp_tls_config_free(&cfg);
    CU_ASSERT_EQUAL(smtp_tls_config_new(path, certdir, true, NULL, &cfg, &d), HERALD_OK);
    smtp_tls_config_free(&cfg);
    CU_ASSERT_EQUAL(smtp_tls_config_new(path, NULL, true, "NO-SUCH-SUITE", &cfg, &d),
                    HERALD_E_CONFIG);
    CU_ASSERT_PTR_NULL(cfg);
    CU_ASSERT_EQUAL(smtp_tls_config_new(path, NULL, true,
                                        "TLS-ECDHE-RSA-WITH-AES-256-GCM-SHA384", &cfg, &d),
                    HERALD_OK);
    smtp_tls_config_free(&cfg);
    CU_ASSERT_PTR_NULL(cfg);
}

/* ---- an in-process TLS server: the test decides when it reads ------------ */

struct mini_server {
    mbedtls_entropy_context entropy;
    mbedtls_ctr_drbg_context drbg;
    mbedtls_x509_crt crt;
    mbedtls_pk_context key;
    mbedtls_ssl_config conf;
    mbedtls_ssl_context ssl;
    int fd;
    struct herald_io *io;
    size_t skip;                      /* raw filler octets to drop before TLS */
    int hs_done, failed;
    size_t got;                       /* plaintext octets received */
    size_t wrong;                     /* of them, not the expected pattern */
};

/* pattern - octet off of the client's stream */
static unsigned char
pattern(size_t off)
{
    return (unsigned char)('a' + off % 26);
}

/* mini_send - mbed TLS bio over the server's non-blocking socket */
static int
mini_send(void *ctx, const unsigned char *buf, size_t n)
{
    ssize_t r = send(*(int *)ctx, buf, n, MSG_NOSIGNAL);

    if (r < 0)
        return errno == EAGAIN ? MBEDTLS_ERR_SSL_WANT_WRITE : MBEDTLS_ERR_NET_SEND_FAILED;
    return (int)r;
}

/* mini_recv - mbed TLS bio over the server's non-blocking socket */
static int
mini_recv(void *ctx, unsigned char *buf, size_t n)
{
    ssize_t r = recv(*(int *)ctx, buf, n, 0);

    if (r < 0)
        return errno == EAGAIN ? MBEDTLS_ERR_SSL_WANT_READ : MBEDTLS_ERR_NET_RECV_FAILED;
    return (int)r;
}

/* mini_watch - the server's events; 0 pauses it */
static void
mini_watch(struct mini_server *m, unsigned events)
{
    CU_ASSERT_EQUAL(herald_io_set(m->io, events), HERALD_OK);
}

/* mini_skip - drop the filler; true once all of it is gone */
static int
mini_skip(struct mini_server *m)
{
    char buf[4096];

    while (m->skip > 0) {
        ssize_t n = recv(m->fd, buf, m->skip < sizeof buf ? m->skip : sizeof buf, 0);

        if (n < 0 && errno == EAGAIN)
            return 0;
        if (n <= 0) {
            m->failed = 1;
            mini_watch(m, 0);
            return 0;
        }
        m->skip -= (size_t)n;
    }
    return 1;
}

/* mini_io - filler, then the server handshake, then plaintext checked and counted */
static void
mini_io(void *arg, int fd, unsigned events)
{
    struct mini_server *m = arg;
    unsigned char buf[4096];
    int rc, i;

    (void)fd;
    (void)events;
    if (!mini_skip(m))
        return;
    if (!m->hs_done) {
        rc = mbedtls_ssl_handshake(&m->ssl);
        if (rc == MBEDTLS_ERR_SSL_WANT_READ || rc == MBEDTLS_ERR_SSL_WANT_WRITE) {
            mini_watch(m, HERALD_IO_READ | (rc == MBEDTLS_ERR_SSL_WANT_WRITE
                                            ? HERALD_IO_WRITE : 0));
            return;
        }
        m->hs_done = rc == 0;
        m->failed = rc != 0;
        mini_watch(m, rc == 0 ? HERALD_IO_READ : 0);
        return;
    }
    while ((rc = mbedtls_ssl_read(&m->ssl, buf, sizeof buf)) > 0) {
        for (i = 0; i < rc; i++)
            m->wrong += buf[i] != pattern(m->got + (size_t)i);
        m->got += (size_t)rc;
    }
    if (rc != MBEDTLS_ERR_SSL_WANT_READ && rc != MBEDTLS_ERR_SSL_WANT_WRITE)
        mini_watch(m, 0);            /* closed or broken: got says how far it came */
}

/* mini_start - a TLS server (server.pem) on fd, after skip octets of filler */
static int
mini_start(struct mini_server *m, struct herald_loop *loop, int fd, size_t skip)
{
    static const unsigned char pers[] = "herald-test-server";
    char c[400], k[400];
    int ok;

    memset(m, 0, sizeof *m);
    m->fd = fd;
    m->skip = skip;
    mbedtls_entropy_init(&m->entropy);
    mbedtls_ctr_drbg_init(&m->drbg);
    mbedtls_x509_crt_init(&m->crt);
    mbedtls_pk_init(&m->key);
    mbedtls_ssl_config_init(&m->conf);
    mbedtls_ssl_init(&m->ssl);
    cert("server.pem", c, sizeof c);
    cert("server.key", k, sizeof k);
    ok = mbedtls_ctr_drbg_seed(&m->drbg, mbedtls_entropy_func, &m->entropy, pers,
                               sizeof pers - 1) == 0
         && mbedtls_x509_crt_parse_file(&m->crt, c) == 0
#if MBEDTLS_VERSION_NUMBER >= 0x03000000
         && mbedtls_pk_parse_keyfile(&m->key, k, NULL, mbedtls_ctr_drbg_random, &m->drbg) == 0
#else
         && mbedtls_pk_parse_keyfile(&m->key, k, NULL) == 0
#endif
         && mbedtls_ssl_config_defaults(&m->conf, MBEDTLS_SSL_IS_SERVER,
                                        MBEDTLS_SSL_TRANSPORT_STREAM,
                                        MBEDTLS_SSL_PRESET_DEFAULT) == 0;
    if (ok) {
        mbedtls_ssl_conf_rng(&m->conf, mbedtls_ctr_drbg_random, &m->drbg);
        ok = mbedtls_ssl_conf_own_cert(&m->conf, &m->crt, &m->key) == 0
             && mbedtls_ssl_setup(&m->ssl, &m->conf) == 0;
    }
    if (ok) {
        mbedtls_ssl_set_bio(&m->ssl, &m->fd, mini_send, mini_recv, NULL);
        ok = herald_io_add(loop, fd, HERALD_IO_READ, mini_io, m, &m->io) == HERALD_OK;
    }
    return ok;
}

/* mini_free - release the server (the socket stays the caller's) */
static void
mini_free(struct mini_server *m)
{
    herald_io_remove(&m->io);
    mbedtls_ssl_free(&m->ssl);
    mbedtls_ssl_config_free(&m->conf);
    mbedtls_pk_free(&m->key);
    mbedtls_x509_crt_free(&m->crt);
    mbedtls_ctr_drbg_free(&m->drbg);
    mbedtls_entropy_free(&m->entropy);
}

/* ---- a bare connection with TLS, as the session drives one ---------------- */

struct bare {
    struct mini_server srv;
    struct smtp_conn *conn;
    struct smtp_tls *tls;
    int connected, errors, tls_done;
    size_t want;                      /* plaintext octets the server must get */
};

/* bare_event - the connection's events: input is dropped, errors counted */
static void
bare_event(void *arg, enum smtp_conn_event ev)
{
    struct bare *b = arg;
    size_t len;

    if (ev == SMTP_CONN_CONNECTED)
        b->connected = 1;
    else if (ev == SMTP_CONN_INPUT) {
        (void)smtp_conn_input(b->conn, &len);
        smtp_conn_consume(b->conn, len);
    } else if (ev != SMTP_CONN_DRAINED)
        b->errors++;
}

static void
bare_tls_done(void *arg)
{
    ((struct bare *)arg)->tls_done = 1;
}

static bool
bare_connected(void *arg)
{
    const struct bare *b = arg;

    return b->connected || b->errors > 0;
}

static bool
bare_handshaken(void *arg)
{
    const struct bare *b = arg;

    return (b->tls_done && b->srv.hs_done) || b->srv.failed || b->errors > 0;
}

static bool
bare_all_there(void *arg)
{
    const struct bare *b = arg;

    return b->srv.got >= b->want || b->srv.failed || b->errors > 0;
}

/* listen_small - a listener on 127.0.2.n whose connections have a small receive window */
static int
listen_small(int n)
{
    struct sockaddr_in sa;
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0), one = 1, small = 2048;
    char ip[32];

    if (fd < 0)
        return -1;
    test_ip(n, ip, sizeof ip);
    memset(&sa, 0, sizeof sa);
    sa.sin_family = AF_INET;
    sa.sin_port = htons(test_port);
    inet_pton(AF_INET, ip, &sa.sin_addr);
    (void)setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    (void)setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &small, sizeof small);
    if (bind(fd, (struct sockaddr *)&sa, sizeof sa) != 0 || listen(fd, 4) != 0) {
        close(fd);
        return -1;
    }
    return fd;
}

/* fill_socket - write filler until the socket takes no more, and it stays so */
static size_t
fill_socket(int fd)
{
    static const char zeros[4096];
    size_t total = 0, round_total = 1;
    int round;

    /* Late ACKs can free room: fill again until a settled socket takes nothing. */
    for (round = 0; round < 50 && round_total > 0; round++) {
        ssize_t n;

        round_total = 0;
        while ((n = send(fd, zeros, sizeof zeros, MSG_DONTWAIT | MSG_NOSIGNAL)) > 0)
            round_total += (size_t)n;
        total += round_total;
        poll(NULL, 0, 50);           /* the settle interval, not a wait for a peer */
    }
    return total;
}

/* bare_open - connect a bare connection to the listener, accept it */
static int
bare_open(struct herald_loop *loop, struct bare *b, int n, int lfd, int *sfd)
{
    struct herald_address a;
    int small = 4096;

    memset(b, 0, sizeof *b);
    address_of(n, &a);
    *sfd = -1;
    if (smtp_conn_new(loop, &a, test_port, 5000, bare_event, b, &b->conn, NULL) != HERALD_OK)
        return 0;
    if (herald_loop_run(loop, bare_connected, b, 5000) != HERALD_OK || !b->connected)
        return 0;
    (void)smtp_conn_set_timeout(b->conn, 0);      /* the run timeouts bound the test */
    /* Small buffers both ways: a full socket in few writes. */
    (void)setsockopt(smtp_conn_fd(b->conn), SOL_SOCKET, SO_SNDBUF, &small, sizeof small);
    *sfd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
    return *sfd >= 0;
}

/*
 * bare_handshake - TLS on a bare connection to the in-process server on
 * 127.0.2.n; with fill, the socket is full when the ClientHello is to go out
 * (filler the server drops before TLS).  True when both ends are through.
 */
static int
bare_handshake(struct herald_loop *loop, struct smtp_tls_config *cfg, struct bare *b, int n,
               int lfd, int *sfd, int fill)
{
    size_t skip = 0;

    if (!bare_open(loop, b, n, lfd, sfd))
        return 0;
    if (fill) {
        skip = fill_socket(smtp_conn_fd(b->conn));     /* the peer reads nothing yet */
        CU_ASSERT(skip > 0);
    }
    if (smtp_tls_new(cfg, loop, smtp_conn_fd(b->conn), "mx1.tls.test", bare_tls_done, b,
                     &b->tls) != HERALD_OK)
        return 0;
    smtp_conn_set_stream(b->conn, smtp_tls_stream(), b->tls);
    CU_ASSERT_EQUAL(smtp_tls_start(b->tls), HERALD_OK);
    if (!mini_start(&b->srv, loop, *sfd, skip))
        return 0;
    CU_ASSERT_EQUAL(herald_loop_run(loop, bare_handshaken, b, 5000), HERALD_OK);
    CU_ASSERT_TRUE(b->tls_done);
    CU_ASSERT_TRUE(b->srv.hs_done);
    CU_ASSERT_TRUE(smtp_tls_established(b->tls));
    CU_ASSERT_TRUE(smtp_tls_verified(b->tls));
    CU_ASSERT_EQUAL(b->errors, 0);
    return b->tls_done && b->srv.hs_done;
}

/* bare_close - free both ends and the listener */
static void
bare_close(struct herald_loop **loop, struct bare *b, int sfd, int lfd)
{
    smtp_conn_free(&b->conn);         /* before the tls: it is the stream's ctx */
    smtp_tls_free(&b->tls);
    mini_free(&b->srv);
    if (sfd >= 0)
        close(sfd);
    close(lfd);
    herald_loop_free(loop);
}

/* queue_pattern - queue and flush the next len octets of the client's stream */
static herald_status
queue_pattern(struct bare *b, size_t *off, size_t len)
{
    unsigned char buf[8192];
    size_t i;
    herald_status st;

    for (i = 0; i < len && i < sizeof buf; i++)
        buf[i] = pattern(*off + i);
    st = smtp_conn_queue(b->conn, buf, i);
    if (st == HERALD_OK)
        *off += i;
    return st == HERALD_OK ? smtp_conn_flush(b->conn) : st;
}

/*
 * test_tls_handshake_blocked - the socket is full when the ClientHello is to
 * go out: the handshake must go on when the socket becomes writable, for the
 * server answers nothing until it has the ClientHello.  Before, it was only
 * stepped on readable events, and both ends waited for each other.
 */
static void
test_tls_handshake_blocked(void)
{
    struct herald_loop *loop = NULL;
    struct smtp_tls_config *cfg = config_for("ca.pem", true);
    struct bare b;
    int lfd = listen_small(20), sfd = -1;

    CU_ASSERT_FATAL(lfd >= 0);
    CU_ASSERT_EQUAL_FATAL(herald_loop_new(&loop), HERALD_OK);
    CU_ASSERT(bare_handshake(loop, cfg, &b, 20, lfd, &sfd, 1));
    bare_close(&loop, &b, sfd, lfd);
    smtp_tls_config_free(&cfg);
}

/*
 * test_tls_record_half_sent - with the server paused, a TLS record is blocked
 * part way and more output is queued: the retry must finish that record and
 * count only its octets.  mbed TLS reports the length it is given when it
 * flushes an old record, so a longer retry counted the octets queued
 * meanwhile as sent, and they never reached the peer.
 */
static void
test_tls_record_half_sent(void)
{
    struct herald_loop *loop = NULL;
    struct smtp_tls_config *cfg = config_for("ca.pem", true);
    struct bare b;
    int lfd = listen_small(21), sfd = -1;
    size_t off = 0, rounds;
    herald_status st = HERALD_OK;

    CU_ASSERT_FATAL(lfd >= 0);
    CU_ASSERT_EQUAL_FATAL(herald_loop_new(&loop), HERALD_OK);
    if (bare_handshake(loop, cfg, &b, 21, lfd, &sfd, 0)) {
        mini_watch(&b.srv, 0);
        for (rounds = 0; rounds < 200000 && st == HERALD_OK && smtp_conn_pending(b.conn) == 0;
             rounds++)
            st = queue_pattern(&b, &off, 100);
        CU_ASSERT_EQUAL(st, HERALD_OK);
        CU_ASSERT_EQUAL(smtp_conn_pending(b.conn), 100);
        /* More output while that record waits. */
        CU_ASSERT_EQUAL(queue_pattern(&b, &off, 5000), HERALD_OK);
        b.want = off;
        mini_watch(&b.srv, HERALD_IO_READ);
        CU_ASSERT_EQUAL(herald_loop_run(loop, bare_all_there, &b, 5000), HERALD_OK);
        CU_ASSERT_EQUAL(b.srv.got, b.want);
        CU_ASSERT_EQUAL(b.srv.wrong, 0);
        CU_ASSERT_EQUAL(b.errors, 0);
    }
    bare_close(&loop, &b, sfd, lfd);
    smtp_tls_config_free(&cfg);
}

/* make_pki - run tests/lib/make_certs.sh into certdir */
static int
make_pki(void)
{
    const char *src = getenv("HERALD_SRC_DIR");
    char cmd[1024];

    snprintf(certdir, sizeof certdir, "%s/pki", workdir);
    if (mkdir(certdir, 0700) != 0)
        return 0;
    snprintf(cmd, sizeof cmd, "/bin/sh '%s/tests/lib/make_certs.sh' '%s'", src ? src : ".",
             certdir);
    return system(cmd) == 0;
}

int
main(void)
{
    CU_pSuite s;
    unsigned int nfail;
    struct herald_diag d;
    const char *tmp = getenv("TMPDIR");

    test_port = (uint16_t)(30000 + (getpid() + 7919) % 30000);
    snprintf(workdir, sizeof workdir, "%s/herald-tls-XXXXXX", tmp && *tmp ? tmp : "/tmp");
    if (mkdtemp(workdir) == NULL)
        return 99;
    chmod(workdir, 0755);
    if (!make_pki()) {
        fprintf(stderr, "cannot make the test PKI\n");
        nftw(workdir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
        return 99;
    }
    snprintf(trace_path, sizeof trace_path, "%s/trace.log", workdir);
    if (trace_sink_open(trace_path, TRACE_FORMAT_TEXT, HERALD_TRACE_DEBUG, &sink, &d)
        != HERALD_OK)
        return 99;
    trace_scope_init(&trace, sink, NULL);
    signal(SIGPIPE, SIG_IGN);

    if (CU_initialize_registry() != CUE_SUCCESS)
        return 99;
    s = CU_add_suite("smtp_tls", NULL, NULL);
    if (s == NULL
        || CU_add_test(s, "auth encoders and choice", test_auth_encoders) == NULL
        || CU_add_test(s, "config errors", test_config_errors) == NULL
        || CU_add_test(s, "opportunistic: STARTTLS used", test_opportunistic_tls) == NULL
        || CU_add_test(s, "opportunistic: clear when not offered",
                       test_opportunistic_clear) == NULL
        || CU_add_test(s, "required: no STARTTLS, no MAIL", test_required_no_starttls) == NULL
        || CU_add_test(s, "verify: right CA and name", test_verify_ok) == NULL
        || CU_add_test(s, "verify: wrong CA", test_verify_wrong_ca) == NULL
        || CU_add_test(s, "verify: wrong host name", test_verify_wrong_name) == NULL
        || CU_add_test(s, "verify: expired", test_verify_expired) == NULL
        || CU_add_test(s, "STARTTLS response injection", test_starttls_injection) == NULL
        || CU_add_test(s, "AUTH PLAIN", test_auth_plain) == NULL
        || CU_add_test(s, "AUTH LOGIN", test_auth_login) == NULL
        || CU_add_test(s, "AUTH wrong password: 535", test_auth_wrong_password) == NULL
        || CU_add_test(s, "AUTH refused without TLS", test_auth_refused_clear) == NULL
        || CU_add_test(s, "AUTH 454: temporary", test_auth_454) == NULL
        || CU_add_test(s, "implicit TLS", test_implicit_tls) == NULL
        || CU_add_test(s, "reply larger than the input buffer in one TLS record",
                       test_tls_large_record) == NULL
        || CU_add_test(s, "TLS handshake blocked writing", test_tls_handshake_blocked) == NULL
        || CU_add_test(s, "TLS record half sent, more queued", test_tls_record_half_sent)
           == NULL
        || CU_add_test(s, "AUTH XOAUTH2", test_xoauth2) == NULL
        || CU_add_test(s, "broken TLS: fallback / failure", test_bad_handshake) == NULL) {
        CU_cleanup_registry();
        return 99;
    }
    CU_basic_set_mode(CU_BRM_VERBOSE);
    CU_basic_run_tests();
    nfail = CU_get_number_of_failure_records();
    CU_cleanup_registry();
    trace_sink_free(&sink);
    if (nfail != 0 && getenv("KEEP_TRACE") != NULL)
        fprintf(stderr, "trace kept in %s\n", trace_path);
    else
        nftw(workdir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
    if (setup_failed)
        return 99;
    return nfail == 0 ? 0 : 1;
}
