/*
 * test_smtp_dialogue.c - the SMTP session against scripted dialogues, no server
 *
 * Each row is an exchange as a server would have it ("S: 220 hi" is sent,
 * "C: EHLO *" is a line the client must send, matched with fnmatch) and the
 * outcome expected per recipient.  The script runs at one end of a
 * socketpair on the same herald loop as the real session code, which has the
 * other end (smtp_session_set_wire) through a stream that can be told to take
 * only so many octets more: a server that stops reading is then as
 * deterministic as one that answers.  The real-server tests
 * (test_smtp_session.c, tests/integration/) stay the integration tests.
 *
 * Script steps, one a line:
 *   S: TEXT    send TEXT and CRLF (a reply line, or garbage)
 *   C: PAT     the next line from the client must match PAT
 *   BODY       the client's lines up to and with the lone "." are the body
 *   CAP N      from now on the client's stream takes N octets more, then
 *              says EAGAIN (the kernel's buffer is full)
 *   READ N     the next N octets from the client, whatever they are
 *   MARK       start counting the client's writes (send() calls that sent)
 *   WRITES N   the client wrote exactly N times since the last MARK or
 *              WRITES (the lines of a pipelined group came in one write)
 *   CLOSE      close the script's end
 * After the last step the script waits for the client to close; anything
 * else it sends is an error.
 *
 * Outcome: one letter a recipient, in order: D delivered, F failed,
 * T deferred, P deferred and possibly delivered, - no word (free for the
 * next hop); " fail=temp" or " fail=perm" when the session failed; the
 * messages of a row separated by " | ".
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fnmatch.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include <CUnit/Basic.h>

#include "smtp_auth.h"
#include "smtp_conn.h"
#include "smtp_pool.h"
#include "smtp_session.h"
#include "smtp_tls.h"
#include "trace_sink.h"

#define STEPS_MAX 48
#define SCRIPT_IN_MAX (512 * 1024)
#define ROW_RUN_MS 10000              /* the loop's bound per phase of a row */
#define SESSION_MS 3000               /* every session timeout: a stuck row ends */
#define OUTCOME_MAX 256

/* Options a row asks of the session. */
#define O_TLS_OPP  0x1u               /* tls = opportunistic, with a TLS config */
#define O_TLS_REQ  0x2u               /* tls = required */
#define O_AUTH     0x4u               /* AUTH user/secret, allowed in clear */

struct row {
    const char *name;
    unsigned opts;
    size_t nrcpt;                     /* recipients r1@example.test ... */
    size_t body_len;                  /* 0: a short message */
    int messages;                     /* sent one after the other: 1 or 2 */
    const char *script;
    const char *expect;
};

/* The client's end: send() that takes at most budget octets (-1: any). */
struct capped {
    int fd;
    long budget;
    unsigned writes;                  /* send() calls that sent something */
};

struct script {
    const char *steps[STEPS_MAX];
    size_t nsteps, at;
    char *lines;                      /* the row's script, split in place */
    int fd;
    struct herald_io *io;
    char in[SCRIPT_IN_MAX];
    size_t in_len;
    long read_left;                   /* READ N in progress: octets still to take */
    bool eof;                         /* the client closed its end */
    bool closed;                      /* the script closed its end */
    char error[512];
    struct capped *client;
};

struct outcome {
    char text[OUTCOME_MAX];
    char letters[8];
    bool done;
    bool quit_done;
};

static struct herald_loop *loop;
static struct trace_sink *sink;
static struct herald_trace trace_scope;
static const struct herald_trace *trace;
static struct smtp_tls_config *tls_cfg;
static char *big_body;

/* ---- the client's stream ------------------------------------------------ */

static ssize_t
capped_recv(void *ctx, void *buf, size_t n)
{
    struct capped *c = ctx;

    return recv(c->fd, buf, n, 0);
}

static ssize_t
capped_send(void *ctx, const void *buf, size_t n)
{
    struct capped *c = ctx;
    ssize_t r;

    if (c->budget == 0) {
        errno = EAGAIN;
        return -1;
    }
    if (c->budget > 0 && n > (size_t)c->budget)
        n = (size_t)c->budget;
    r = send(c->fd, buf, n, MSG_NOSIGNAL);
    if (r > 0 && c->budget > 0)
        c->budget -= r;
    if (r > 0)
        c->writes++;
    return r;
}

static const struct smtp_stream_ops capped_ops = { capped_recv, capped_send, NULL, NULL };

/* ---- the script --------------------------------------------------------- */

static void script_run(struct script *sc);

/* script_fail - the first error of the script is kept; the script ends */
static void
script_fail(struct script *sc, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void
script_fail(struct script *sc, const char *fmt, ...)
{
    va_list ap;

    if (sc->error[0] == '\0') {
        va_start(ap, fmt);
        vsnprintf(sc->error, sizeof sc->error, fmt, ap);
        va_end(ap);
    }
    sc->at = sc->nsteps;
}

/* script_line - the next line the client sent, without CRLF, into buf; false
 * when none is complete yet */
static bool
script_line(struct script *sc, char *buf, size_t cap)
{
    char *nl = memchr(sc->in, '\n', sc->in_len);
    size_t len, take;

    if (nl == NULL)
        return false;
    take = (size_t)(nl - sc->in) + 1;
    len = take - 1;
    if (len > 0 && sc->in[len - 1] == '\r')
        len--;
    if (len >= cap)
        len = cap - 1;
    memcpy(buf, sc->in, len);
    buf[len] = '\0';
    memmove(sc->in, sc->in + take, sc->in_len - take);
    sc->in_len -= take;
    return true;
}

/* script_close - close the script's end of the socketpair */
static void
script_close(struct script *sc)
{
    herald_io_remove(&sc->io);
    if (sc->fd >= 0)
        close(sc->fd);
    sc->fd = -1;
    sc->closed = true;
}

/* script_step - run the current step; false when it waits for the client */
static bool
script_step(struct script *sc)
{
    const char *st = sc->steps[sc->at];
    char line[2048];

    if (strncmp(st, "S: ", 3) == 0) {
        char out[1024];
        int n = snprintf(out, sizeof out, "%s\r\n", st + 3);

        if (sc->fd < 0 || send(sc->fd, out, (size_t)n, MSG_NOSIGNAL) != n)
            script_fail(sc, "cannot send \"%s\"", st);
        else
            sc->at++;
        return true;
    }
    if (strncmp(st, "C: ", 3) == 0) {
        if (!script_line(sc, line, sizeof line))
            return false;
        if (fnmatch(st + 3, line, 0) != 0) {
            script_fail(sc, "expected \"%s\", the client sent \"%s\"", st + 3, line);
            return true;
        }
        sc->at++;
        return true;
    }
    if (strcmp(st, "BODY") == 0) {
        while (script_line(sc, line, sizeof line))
            if (strcmp(line, ".") == 0) {
                sc->at++;
                return true;
            }
        return false;
    }
    if (strncmp(st, "CAP ", 4) == 0) {
        sc->client->budget = atol(st + 4);
        sc->at++;
        return true;
    }
    if (strncmp(st, "READ ", 5) == 0) {
        size_t take;

        if (sc->read_left < 0)
            sc->read_left = atol(st + 5);
        take = sc->in_len < (size_t)sc->read_left ? sc->in_len : (size_t)sc->read_left;
        memmove(sc->in, sc->in + take, sc->in_len - take);
        sc->in_len -= take;
        sc->read_left -= (long)take;
        if (sc->read_left > 0)
            return false;
        sc->read_left = -1;
        sc->at++;
        return true;
    }
    if (strcmp(st, "MARK") == 0) {
        sc->client->writes = 0;
        sc->at++;
        return true;
    }
    if (strncmp(st, "WRITES ", 7) == 0) {
        if (sc->client->writes != (unsigned)atoi(st + 7)) {
            script_fail(sc, "the client wrote %u times, not %s", sc->client->writes, st + 7);
            return true;
        }
        sc->client->writes = 0;
        sc->at++;
        return true;
    }
    if (strcmp(st, "CLOSE") == 0) {
        script_close(sc);
        sc->at++;
        return true;
    }
    script_fail(sc, "bad script step \"%s\"", st);
    return true;
}

/* script_run - every step that can run now */
static void
script_run(struct script *sc)
{
    unsigned guard = 0;

    while (sc->at < sc->nsteps && guard++ < 10000)
        if (!script_step(sc))
            break;
    if (sc->at < sc->nsteps && sc->eof && sc->error[0] == '\0')
        script_fail(sc, "the client closed the connection before \"%s\"",
                    sc->steps[sc->at]);
    if (sc->at == sc->nsteps && sc->in_len > 0 && sc->error[0] == '\0') {
        char line[256];

        snprintf(line, sizeof line, "%.*s", (int)(sc->in_len < 200 ? sc->in_len : 200), sc->in);
        script_fail(sc, "the client sent \"%s\" after the end of the script", line);
    }
}

static void
script_io(void *arg, int fd, unsigned events)
{
    struct script *sc = arg;
    ssize_t n;

    (void)events;
    if (sc->in_len == sizeof sc->in) {
        script_fail(sc, "the client sent more than the script buffers");
        script_close(sc);
        return;
    }
    n = recv(fd, sc->in + sc->in_len, sizeof sc->in - sc->in_len, 0);
    if (n < 0 && (errno == EAGAIN || errno == EINTR))
        return;
    if (n <= 0) {
        sc->eof = true;
        script_run(sc);
        script_close(sc);
        return;
    }
    sc->in_len += (size_t)n;
    script_run(sc);
}

/* script_start - split text into steps and run what needs no client line */
static herald_status
script_start(struct script *sc, const char *text, int fd, struct capped *client)
{
    char *p, *save = NULL;

    memset(sc, 0, sizeof *sc);
    sc->fd = fd;
    sc->read_left = -1;
    sc->client = client;
    sc->lines = strdup(text);
    if (sc->lines == NULL)
        return HERALD_E_NOMEM;
    for (p = strtok_r(sc->lines, "\n", &save); p != NULL; p = strtok_r(NULL, "\n", &save)) {
        if (sc->nsteps == STEPS_MAX)
            return HERALD_E_LIMIT;
        sc->steps[sc->nsteps++] = p;
    }
    if (herald_io_add(loop, fd, HERALD_IO_READ, script_io, sc, &sc->io) != HERALD_OK)
        return HERALD_E_NOMEM;
    script_run(sc);
    return HERALD_OK;
}

static void
script_free(struct script *sc)
{
    script_close(sc);
    free(sc->lines);
    sc->lines = NULL;
}

/* ---- the session's side ------------------------------------------------- */

struct body {
    const char *data;
    size_t len, off;
};

static herald_status
body_read(void *arg, void *buf, size_t cap, size_t *n_out)
{
    struct body *b = arg;
    size_t n = b->len - b->off < cap ? b->len - b->off : cap;

    memcpy(buf, b->data + b->off, n);
    b->off += n;
    *n_out = n;
    return HERALD_OK;
}

static void
cb_recipient(void *arg, size_t i, const struct smtp_rcpt_result *res)
{
    struct outcome *o = arg;

    if (i >= sizeof o->letters - 1)
        return;
    o->letters[i] = res->result == HERALD_RESULT_DELIVERED ? 'D'
                    : res->result == HERALD_RESULT_FAILED ? 'F'
                    : res->possibly_delivered ? 'P' : 'T';
}

static void
cb_failed(void *arg, herald_status why, bool permanent, const char *reply, const char *dsn)
{
    struct outcome *o = arg;
    size_t len = strlen(o->text);

    (void)why;
    (void)reply;
    (void)dsn;
    snprintf(o->text + len, sizeof o->text - len, "%s", permanent ? " fail=perm" : " fail=temp");
}

/* raise_flag, flag_raised - an event the loop waits for, as the bool at arg */
static void
raise_flag(void *arg)
{
    *(bool *)arg = true;
}

static bool
flag_raised(void *arg)
{
    return *(const bool *)arg;
}

/* cb_done - the message's end: its callbacks share the outcome as their arg */
static void
cb_done(void *arg)
{
    raise_flag(&((struct outcome *)arg)->done);
}

static bool
script_over(void *arg)
{
    const struct script *sc = arg;

    return sc->closed || sc->error[0] != '\0';
}

/* send_one - one message of the row; its letters and failure appended to out */
static void
send_one(struct smtp_session *s, const struct row *r, const char *const *rcpts,
         struct outcome *o, int k)
{
    struct body b = { "Subject: dialogue\r\n\r\nHello.\r\n", 0, 0 };
    struct smtp_message m;
    struct smtp_session_cb cb = { NULL, cb_recipient, cb_failed, cb_done, o };
    size_t len = strlen(o->text);
    herald_status st;

    if (r->body_len > 0) {
        b.data = big_body;
        b.len = r->body_len;
    } else {
        b.len = strlen(b.data);
    }
    memset(&m, 0, sizeof m);
    m.sender = "s@example.test";
    m.rcpts = rcpts;
    m.nrcpt = r->nrcpt;
    m.size = b.len;
    m.read = body_read;
    m.read_arg = &b;
    if (k > 0)
        snprintf(o->text + len, sizeof o->text - len, " | ");
    memset(o->letters, '-', r->nrcpt);
    o->letters[r->nrcpt] = '\0';
    o->done = false;
    len = strlen(o->text);
    st = smtp_session_send(s, &m, &cb);
    CU_ASSERT_EQUAL(st, HERALD_OK);
    if (st != HERALD_OK)
        return;
    /* The letters go first: the failure is appended by cb_failed meanwhile. */
    CU_ASSERT_EQUAL(herald_loop_run(loop, flag_raised, &o->done, ROW_RUN_MS), HERALD_OK);
    CU_ASSERT_TRUE(o->done);
    {
        char fail[OUTCOME_MAX];

        snprintf(fail, sizeof fail, "%s", o->text + len);
        snprintf(o->text + len, sizeof o->text - len, "%s%s", o->letters, fail);
    }
}

/* scripted_session - a session with the options a row asks for (O_*, every
 * timeout SESSION_MS) whose connection is the script's other end */
static struct smtp_session *
scripted_session(struct script *sc, struct capped *client, unsigned opts, const char *text)
{
    struct smtp_session_opts so;
    struct herald_address a;
    struct smtp_session *s = NULL;
    int sv[2];

    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sv) != 0)
        return NULL;
    client->fd = sv[0];
    client->budget = -1;
    client->writes = 0;
    smtp_session_opts_init(&so);
    so.helo_name = "client.test";
    so.connect_ms = so.greeting_ms = so.ehlo_ms = so.mail_ms = so.rcpt_ms = SESSION_MS;
    so.data_ms = so.block_ms = so.dot_ms = so.quit_ms = SESSION_MS;
    if (opts & (O_TLS_OPP | O_TLS_REQ)) {
        so.tls_policy = (opts & O_TLS_REQ) ? SMTP_TLS_REQUIRED : SMTP_TLS_OPPORTUNISTIC;
        so.tls_config = tls_cfg;
    }
    if (opts & O_AUTH) {
        so.auth_user = "user";
        so.auth_secret = "secret";
        so.auth_require_tls = SMTP_AUTH_TLS_NONE;
    }
    memset(&a, 0, sizeof a);
    a.sa.ss_family = AF_INET;
    a.len = sizeof(struct sockaddr_in);
    inet_pton(AF_INET, "127.0.0.1", &((struct sockaddr_in *)&a.sa)->sin_addr);
    snprintf(a.text, sizeof a.text, "127.0.0.1");
    if (smtp_session_new(loop, trace, &a, 25, &so, &s) != HERALD_OK
        || smtp_session_set_wire(s, sv[0], &capped_ops, client) != HERALD_OK
        || script_start(sc, text, sv[1], client) != HERALD_OK) {
        smtp_session_free(&s);
        return NULL;
    }
    return s;
}

/* run_row - one dialogue; true when it went as the row says */
static bool
run_row(const struct row *r)
{
    const char *rcpts[6] = { "r1@example.test", "r2@example.test", "r3@example.test",
                             "r4@example.test", "r5@example.test", "r6@example.test" };
    struct smtp_session *s;
    struct capped client = { -1, -1, 0 };
    struct script sc;
    struct outcome o;
    int k;
    bool ok;

    memset(&o, 0, sizeof o);
    s = scripted_session(&sc, &client, r->opts, r->script);
    CU_ASSERT_PTR_NOT_NULL_FATAL(s);

    for (k = 0; k < (r->messages > 0 ? r->messages : 1); k++)
        send_one(s, r, rcpts, &o, k);
    smtp_session_quit(s, raise_flag, &o.quit_done);
    CU_ASSERT_EQUAL(herald_loop_run(loop, flag_raised, &o.quit_done, ROW_RUN_MS), HERALD_OK);
    CU_ASSERT_EQUAL(smtp_session_state(s), SMTP_S_CLOSED);
    /* The session is closed: the script sees the end of the stream. */
    (void)herald_loop_run(loop, script_over, &sc, ROW_RUN_MS);
    if (!sc.closed && sc.error[0] == '\0')
        script_fail(&sc, "the client did not close the connection");
    ok = sc.error[0] == '\0' && sc.at == sc.nsteps && strcmp(o.text, r->expect) == 0;
    if (!ok)
        fprintf(stderr, "row \"%s\": outcome \"%s\", expected \"%s\"; script: %s (step %zu of "
                "%zu)\n", r->name, o.text, r->expect, sc.error[0] ? sc.error : "ran to its end",
                sc.at, sc.nsteps);
    smtp_session_free(&s);
    script_free(&sc);
    return ok;
}

/* ---- the rows ----------------------------------------------------------- */

#define GREET "S: 220 server.test ESMTP\n"
#define EHLO_OK "C: EHLO client.test\nS: 250 server.test\n"
#define EHLO_PIPE "C: EHLO client.test\nS: 250-server.test\nS: 250 PIPELINING\n"
#define MAIL_OK "C: MAIL FROM:<s@example.test>*\nS: 250 2.1.0 ok\n"
#define RCPT1_OK "C: RCPT TO:<r1@example.test>*\nS: 250 2.1.5 ok\n"
#define DATA_OK "C: DATA\nS: 354 go ahead\n"
#define DOT_OK "BODY\nS: 250 2.0.0 queued\n"
#define QUIT "C: QUIT\nS: 221 2.0.0 bye\n"
#define TXN1 MAIL_OK RCPT1_OK DATA_OK DOT_OK
/* With PIPELINING: the envelope and DATA in one group, then the replies. */
#define ENV1_PIPE "C: MAIL FROM:<s@example.test>*\nC: RCPT TO:<r1@example.test>*\nC: DATA\n"
#define TXN1_PIPE ENV1_PIPE "S: 250 ok\nS: 250 ok\nS: 354 go\n" DOT_OK
/* A reused session with PIPELINING: RSET in the same write as the envelope. */
#define RSET_GROUP "MARK\nC: RSET\n" ENV1_PIPE "WRITES 1\n"

static const struct row rows[] = {
    /* greeting */
    { "greeting 220", 0, 1, 0, 1, GREET EHLO_OK TXN1 QUIT, "D" },
    { "greeting 421", 0, 1, 0, 1, "S: 421 4.3.2 busy\n", "- fail=temp" },
    { "greeting 450", 0, 1, 0, 1, "S: 450 later\n" QUIT, "- fail=temp" },
    { "greeting 554", 0, 1, 0, 1, "S: 554 5.7.1 go away\n" QUIT, "- fail=perm" },
    { "greeting garbage", 0, 1, 0, 1, "S: hello there\n", "- fail=temp" },
    { "greeting close", 0, 1, 0, 1, "CLOSE\n", "- fail=temp" },
    /* EHLO, HELO fallback */
    { "EHLO 500, HELO 250", 0, 1, 0, 1,
      GREET "C: EHLO client.test\nS: 500 5.5.1 what\nC: HELO client.test\nS: 250 hi\n" TXN1 QUIT,
      "D" },
    { "EHLO 502, HELO 550", 0, 1, 0, 1,
      GREET "C: EHLO client.test\nS: 502 no\nC: HELO client.test\nS: 550 no either\n" QUIT,
      "- fail=perm" },
    { "EHLO 500, HELO 450", 0, 1, 0, 1,
      GREET "C: EHLO client.test\nS: 500 no\nC: HELO client.test\nS: 450 later\n" QUIT,
      "- fail=temp" },
    { "EHLO 500, HELO garbage", 0, 1, 0, 1,
      GREET "C: EHLO client.test\nS: 500 no\nC: HELO client.test\nS: 2x0 ok\n", "- fail=temp" },
    { "EHLO 500, HELO close", 0, 1, 0, 1,
      GREET "C: EHLO client.test\nS: 500 no\nC: HELO client.test\nCLOSE\n", "- fail=temp" },
    { "EHLO 451", 0, 1, 0, 1, GREET "C: EHLO client.test\nS: 451 later\n" QUIT, "- fail=temp" },
    { "EHLO 421", 0, 1, 0, 1, GREET "C: EHLO client.test\nS: 421 closing\n", "- fail=temp" },
    { "EHLO garbage", 0, 1, 0, 1, GREET "C: EHLO client.test\nS: 250 ok\rx\n", "- fail=temp" },
    { "EHLO close", 0, 1, 0, 1, GREET "C: EHLO client.test\nCLOSE\n", "- fail=temp" },
    /* STARTTLS refused */
    { "STARTTLS 454, opportunistic: clear", O_TLS_OPP, 1, 0, 1,
      GREET "C: EHLO client.test\nS: 250-server.test\nS: 250 STARTTLS\n"
      "C: STARTTLS\nS: 454 4.7.0 not now\n" TXN1 QUIT, "D" },
    { "STARTTLS 554, required", O_TLS_REQ, 1, 0, 1,
      GREET "C: EHLO client.test\nS: 250-server.test\nS: 250 STARTTLS\n"
      "C: STARTTLS\nS: 554 5.7.0 no\n" QUIT, "- fail=temp" },
    { "STARTTLS not offered, required", O_TLS_REQ, 1, 0, 1, GREET EHLO_OK QUIT, "- fail=temp" },
    { "STARTTLS garbage", O_TLS_OPP, 1, 0, 1,
      GREET "C: EHLO client.test\nS: 250-server.test\nS: 250 STARTTLS\n"
      "C: STARTTLS\nS: 22\n", "- fail=temp" },
    { "STARTTLS close", O_TLS_OPP, 1, 0, 1,
      GREET "C: EHLO client.test\nS: 250-server.test\nS: 250 STARTTLS\nC: STARTTLS\nCLOSE\n",
      "- fail=temp" },
    /* The TLS handshake: required, so a failed one fails the session (an
     * opportunistic one would reconnect in clear, off the socketpair) */
    { "STARTTLS 220, then close in the handshake", O_TLS_REQ, 1, 0, 1,
      GREET "C: EHLO client.test\nS: 250-server.test\nS: 250 STARTTLS\n"
      "C: STARTTLS\nS: 220 go ahead\nCLOSE\n", "- fail=temp" },
    { "STARTTLS 220 and clear text after it", O_TLS_REQ, 1, 0, 1,
      GREET "C: EHLO client.test\nS: 250-server.test\nS: 250 STARTTLS\n"
      "C: STARTTLS\nS: 220 go ahead\nS: 250 not TLS at all\nCLOSE\n", "- fail=temp" },
    /* AUTH (allowed in clear here) */
    { "AUTH 235", O_AUTH, 1, 0, 1,
      GREET "C: EHLO client.test\nS: 250-server.test\nS: 250 AUTH PLAIN\n"
      "C: AUTH PLAIN *\nS: 235 2.7.0 ok\n" TXN1 QUIT, "D" },
    { "AUTH 535: deferred, not failed", O_AUTH, 1, 0, 1,
      GREET "C: EHLO client.test\nS: 250-server.test\nS: 250 AUTH PLAIN\n"
      "C: AUTH PLAIN *\nS: 535 5.7.8 bad credentials\n" QUIT, "- fail=temp" },
    { "AUTH close", O_AUTH, 1, 0, 1,
      GREET "C: EHLO client.test\nS: 250-server.test\nS: 250 AUTH PLAIN\n"
      "C: AUTH PLAIN *\nCLOSE\n", "- fail=temp" },
    /* MAIL */
    { "MAIL 550", 0, 2, 0, 1,
      GREET EHLO_OK "C: MAIL FROM:<s@example.test>*\nS: 550 5.7.1 no\n" QUIT, "FF" },
    { "MAIL 451", 0, 2, 0, 1,
      GREET EHLO_OK "C: MAIL FROM:<s@example.test>*\nS: 451 4.3.0 later\n" QUIT, "TT" },
    { "MAIL garbage", 0, 2, 0, 1,
      GREET EHLO_OK "C: MAIL FROM:<s@example.test>*\nS: ok\n", "-- fail=temp" },
    { "MAIL close", 0, 2, 0, 1,
      GREET EHLO_OK "C: MAIL FROM:<s@example.test>*\nCLOSE\n", "-- fail=temp" },
    /* RCPT */
    { "RCPT 250 550", 0, 2, 0, 1,
      GREET EHLO_OK MAIL_OK RCPT1_OK "C: RCPT TO:<r2@example.test>*\nS: 550 5.1.1 unknown\n"
      DATA_OK DOT_OK QUIT, "DF" },
    { "RCPT 450 250", 0, 2, 0, 1,
      GREET EHLO_OK MAIL_OK "C: RCPT TO:<r1@example.test>*\nS: 450 4.2.1 later\n"
      "C: RCPT TO:<r2@example.test>*\nS: 250 ok\n" DATA_OK DOT_OK QUIT, "TD" },
    { "RCPT 550 550: no DATA", 0, 2, 0, 1,
      GREET EHLO_OK MAIL_OK "C: RCPT TO:<r1@example.test>*\nS: 550 no\n"
      "C: RCPT TO:<r2@example.test>*\nS: 550 no\n" QUIT, "FF" },
    { "RCPT 452: the rest in the next transaction", 0, 3, 0, 1,
      GREET EHLO_OK MAIL_OK RCPT1_OK "C: RCPT TO:<r2@example.test>*\nS: 452 4.5.3 too many\n"
      DATA_OK DOT_OK
      MAIL_OK "C: RCPT TO:<r2@example.test>*\nS: 250 ok\nC: RCPT TO:<r3@example.test>*\n"
      "S: 250 ok\n" DATA_OK DOT_OK QUIT, "DDD" },
    { "RCPT 452 to everyone: deferred", 0, 1, 0, 1,
      GREET EHLO_OK MAIL_OK "C: RCPT TO:<r1@example.test>*\nS: 452 4.5.3 too many\n"
      QUIT, "T" },
    { "RCPT garbage", 0, 1, 0, 1,
      GREET EHLO_OK MAIL_OK "C: RCPT TO:<r1@example.test>*\nS: 250ok\n", "- fail=temp" },
    { "RCPT close", 0, 1, 0, 1,
      GREET EHLO_OK MAIL_OK "C: RCPT TO:<r1@example.test>*\nCLOSE\n", "- fail=temp" },
    /* PIPELINING */
    { "pipelined 250 550 354", 0, 2, 0, 1,
      GREET EHLO_PIPE "C: MAIL FROM:<s@example.test>*\nC: RCPT TO:<r1@example.test>*\n"
      "C: RCPT TO:<r2@example.test>*\nC: DATA\nS: 250 ok\nS: 250 ok\nS: 550 no\n"
      "S: 354 go\n" DOT_OK QUIT, "DF" },
    { "pipelined MAIL 550", 0, 2, 0, 1,
      GREET EHLO_PIPE "C: MAIL FROM:<s@example.test>*\nC: RCPT TO:<r1@example.test>*\n"
      "C: RCPT TO:<r2@example.test>*\nC: DATA\nS: 550 5.7.1 no\nS: 503 no MAIL\n"
      "S: 503 no MAIL\nS: 503 no MAIL\n" QUIT, "FF" },
    { "pipelined, nobody accepted, 354: empty dot", 0, 1, 0, 1,
      GREET EHLO_PIPE "C: MAIL FROM:<s@example.test>*\nC: RCPT TO:<r1@example.test>*\n"
      "C: DATA\nS: 250 ok\nS: 550 no\nS: 354 go\nC: .\nS: 250 ok\n" QUIT, "F" },
    /* DATA */
    { "DATA 554", 0, 1, 0, 1, GREET EHLO_OK MAIL_OK RCPT1_OK "C: DATA\nS: 554 5.6.0 no\n"
      QUIT, "F" },
    { "DATA 451", 0, 1, 0, 1, GREET EHLO_OK MAIL_OK RCPT1_OK "C: DATA\nS: 451 4.3.0 later\n"
      QUIT, "T" },
    { "DATA 250 breaks the protocol", 0, 1, 0, 1,
      GREET EHLO_OK MAIL_OK RCPT1_OK "C: DATA\nS: 250 ok\n", "- fail=temp" },
    { "DATA garbage", 0, 1, 0, 1, GREET EHLO_OK MAIL_OK RCPT1_OK "C: DATA\nS: 3\n",
      "- fail=temp" },
    { "DATA close", 0, 1, 0, 1, GREET EHLO_OK MAIL_OK RCPT1_OK "C: DATA\nCLOSE\n",
      "- fail=temp" },
    /* the body and the final dot */
    { "dot 550", 0, 2, 0, 1, GREET EHLO_OK MAIL_OK RCPT1_OK
      "C: RCPT TO:<r2@example.test>*\nS: 250 ok\n" DATA_OK "BODY\nS: 550 5.7.1 spam\n" QUIT,
      "FF" },
    { "dot 451", 0, 1, 0, 1, GREET EHLO_OK MAIL_OK RCPT1_OK DATA_OK
      "BODY\nS: 451 4.3.0 later\n" QUIT, "T" },
    { "dot 421", 0, 1, 0, 1, GREET EHLO_OK MAIL_OK RCPT1_OK DATA_OK
      "BODY\nS: 421 4.3.2 closing\n" QUIT, "T" },
    /* a garbled word on a message the server holds: possibly delivered */
    { "dot garbage", 0, 1, 0, 1, GREET EHLO_OK MAIL_OK RCPT1_OK DATA_OK "BODY\nS: 25\n",
      "P" },
    { "dot close: possibly delivered", 0, 2, 0, 1, GREET EHLO_OK MAIL_OK RCPT1_OK
      "C: RCPT TO:<r2@example.test>*\nS: 550 no\n" DATA_OK "BODY\nCLOSE\n", "PF" },
    /* Issue 8 item 5: the server stops reading a body under 128 KiB and
     * closes; the dot never left Herald: the next hop is right. */
    { "body cut before the dot left: next hop", 0, 1, 100000, 1,
      GREET EHLO_OK MAIL_OK RCPT1_OK "C: DATA\nCAP 4096\nS: 354 go\nREAD 4096\nCLOSE\n",
      "- fail=temp" },
    { "the whole dot taken, then close: possibly delivered", 0, 1, 100000, 1,
      GREET EHLO_OK MAIL_OK RCPT1_OK DATA_OK "BODY\nCLOSE\n", "P" },
    { "body close at once", 0, 1, 0, 1, GREET EHLO_OK MAIL_OK RCPT1_OK DATA_OK "CLOSE\n",
      "- fail=temp" },
    /* RSET when the session is reused */
    { "reuse: RSET 250", 0, 1, 0, 2, GREET EHLO_OK TXN1 "C: RSET\nS: 250 ok\n" TXN1 QUIT,
      "D | D" },
    { "reuse: RSET 500", 0, 1, 0, 2, GREET EHLO_OK TXN1 "C: RSET\nS: 500 what\n" QUIT,
      "D | - fail=perm" },
    { "reuse: RSET close", 0, 1, 0, 2, GREET EHLO_OK TXN1 "C: RSET\nCLOSE\n",
      "D | - fail=temp" },
    /* RSET on reuse with PIPELINING: in one write with MAIL, RCPT and DATA
     * (RFC 2920); the script answers nothing before the whole group is in.
     * A refused RSET closes at once: the replies behind it (here the MAIL,
     * RCPT and DATA of a server that took them anyway) are never read as
     * anything, no QUIT goes into a DATA that got 354, nobody is decided. */
    { "reuse, pipelined: RSET 250 + MAIL in one write", 0, 1, 0, 2,
      GREET EHLO_PIPE TXN1_PIPE RSET_GROUP "S: 250 2.0.0 ok\nS: 250 ok\nS: 250 ok\n"
      "S: 354 go\n" DOT_OK QUIT, "D | D" },
    { "reuse, pipelined: RSET 451, MAIL 250 behind it", 0, 1, 0, 2,
      GREET EHLO_PIPE TXN1_PIPE RSET_GROUP "S: 451 4.3.0 later\nS: 250 ok\nS: 250 ok\n"
      "S: 354 go\n", "D | - fail=temp" },
    { "reuse, pipelined: RSET 554, MAIL 250 behind it", 0, 1, 0, 2,
      GREET EHLO_PIPE TXN1_PIPE RSET_GROUP "S: 554 5.5.1 no\nS: 250 ok\nS: 250 ok\n"
      "S: 354 go\n", "D | - fail=perm" },
    { "reuse, pipelined: RSET 421", 0, 1, 0, 2,
      GREET EHLO_PIPE TXN1_PIPE RSET_GROUP "S: 421 4.3.2 closing\n", "D | - fail=temp" },
    { "reuse, pipelined: RSET garbage", 0, 1, 0, 2,
      GREET EHLO_PIPE TXN1_PIPE RSET_GROUP "S: 2x0 ok\nS: 250 ok\nS: 250 ok\nS: 354 go\n",
      "D | - fail=temp" },
    { "reuse, pipelined: RSET close", 0, 1, 0, 2,
      GREET EHLO_PIPE TXN1_PIPE RSET_GROUP "CLOSE\n", "D | - fail=temp" },
    { "reuse, pipelined: RSET 250, MAIL 451 behind it", 0, 2, 0, 2,
      GREET EHLO_PIPE "C: MAIL FROM:<s@example.test>*\nC: RCPT TO:<r1@example.test>*\n"
      "C: RCPT TO:<r2@example.test>*\nC: DATA\nS: 250 ok\nS: 250 ok\nS: 250 ok\nS: 354 go\n"
      DOT_OK "MARK\nC: RSET\nC: MAIL FROM:<s@example.test>*\nC: RCPT TO:<r1@example.test>*\n"
      "C: RCPT TO:<r2@example.test>*\nC: DATA\nWRITES 1\nS: 250 ok\nS: 451 4.3.0 later\n"
      "S: 503 no MAIL\nS: 503 no MAIL\nS: 503 no MAIL\n" QUIT, "DD | TT" },
    /* The next transaction of the same message (a 452 left r2 over, DATA
     * refused the rest): RSET goes with it too. */
    { "pipelined 452, DATA 451: RSET with the next envelope", 0, 2, 0, 1,
      GREET EHLO_PIPE "C: MAIL FROM:<s@example.test>*\nC: RCPT TO:<r1@example.test>*\n"
      "C: RCPT TO:<r2@example.test>*\nC: DATA\nS: 250 ok\nS: 250 ok\nS: 452 4.5.3 too many\n"
      "S: 451 4.3.0 later\nMARK\nC: RSET\nC: MAIL FROM:<s@example.test>*\n"
      "C: RCPT TO:<r2@example.test>*\nC: DATA\nWRITES 1\nS: 250 ok\nS: 250 ok\nS: 250 ok\n"
      "S: 354 go\n" DOT_OK QUIT, "TD" },
    /* QUIT */
    { "QUIT 500", 0, 1, 0, 1, GREET EHLO_OK TXN1 "C: QUIT\nS: 500 what\n", "D" },
    { "QUIT close", 0, 1, 0, 1, GREET EHLO_OK TXN1 "C: QUIT\nCLOSE\n", "D" },
    { "QUIT garbage", 0, 1, 0, 1, GREET EHLO_OK TXN1 "C: QUIT\nS: bye\n", "D" },
};

/* ---- the session pool (smtp_pool.h) over a scripted session ------------ */

struct pool_seen {
    int closed;
    struct smtp_dest *slot;
};

static void
pool_closed(void *arg, struct smtp_dest *slot)
{
    struct pool_seen *ps = arg;

    ps->closed++;
    ps->slot = slot;
}

static bool
pool_closed_once(void *arg)
{
    return ((const struct pool_seen *)arg)->closed > 0;
}

/* pool_case - a delivered session kept idle, found again only by its own
 * key, reused (RSET), kept again, then ended by end: 0 the idle timer,
 * 1 smtp_pool_drain(), 2 smtp_pool_retire() with a slot; each time QUIT
 * and the owner hears of the close */
static void
pool_case(int end)
{
    static const struct row one = { "pool", 0, 1, 0, 1, "", "" };
    struct smtp_pool_opts po = { true, 50, 1, NULL };
    struct pool_seen seen = { 0, NULL };
    struct smtp_pool *pool = NULL;
    struct smtp_session *s, *other = NULL, *got;
    struct capped client;
    struct script sc;
    struct outcome o;
    struct herald_address a;
    char key[SMTP_POOL_KEY_MAX], marker;
    const char *rcpts[1] = { "r1@example.test" };

    memset(&o, 0, sizeof o);
    s = scripted_session(&sc, &client, 0, GREET EHLO_OK TXN1 "C: RSET\nS: 250 ok\n" TXN1 QUIT);
    CU_ASSERT_PTR_NOT_NULL_FATAL(s);
    CU_ASSERT_EQUAL_FATAL(smtp_pool_new(loop, &po, pool_closed, &seen, &pool), HERALD_OK);
    memset(&a, 0, sizeof a);
    snprintf(a.text, sizeof a.text, "127.0.0.1");
    smtp_session_key(key, sizeof key, &a, 25, "mx.example.test", false);
    CU_ASSERT_STRING_EQUAL(key, "127.0.0.1 25 mx.example.test");

    send_one(s, &one, rcpts, &o, 0);
    CU_ASSERT_TRUE(smtp_pool_put(pool, s, key));
    CU_ASSERT_EQUAL(smtp_pool_idle(pool), 1);
    /* Full (max_idle 1): a second session is not kept, and stays the caller's. */
    a.sa.ss_family = AF_INET;
    a.len = sizeof(struct sockaddr_in);
    CU_ASSERT_EQUAL_FATAL(smtp_session_new(loop, NULL, &a, 25, NULL, &other), HERALD_OK);
    CU_ASSERT_FALSE(smtp_pool_put(pool, other, "127.0.0.1 25 other"));
    smtp_session_free(&other);
    CU_ASSERT_PTR_NULL(smtp_pool_take(pool, "127.0.0.1 25 mx.example.test auth"));
    got = smtp_pool_take(pool, key);
    CU_ASSERT_PTR_EQUAL(got, s);
    CU_ASSERT_EQUAL(smtp_pool_idle(pool), 0);
    send_one(s, &one, rcpts, &o, 1);
    CU_ASSERT_STRING_EQUAL(o.text, "D | D");
    if (end == 2) {
        smtp_pool_retire(pool, s, (struct smtp_dest *)(void *)&marker);
    } else {
        CU_ASSERT_TRUE(smtp_pool_put(pool, s, key));
        if (end == 1)
            smtp_pool_drain(pool, ROW_RUN_MS);
    }
    CU_ASSERT_EQUAL(herald_loop_run(loop, pool_closed_once, &seen, ROW_RUN_MS), HERALD_OK);
    CU_ASSERT_EQUAL(seen.closed, 1);
    CU_ASSERT_PTR_EQUAL(seen.slot, end == 2 ? (struct smtp_dest *)(void *)&marker : NULL);
    CU_ASSERT_EQUAL(smtp_pool_idle(pool), 0);
    (void)herald_loop_run(loop, script_over, &sc, ROW_RUN_MS);
    CU_ASSERT_STRING_EQUAL(sc.error, "");
    CU_ASSERT_EQUAL(sc.at, sc.nsteps);
    CU_ASSERT_TRUE(sc.closed);
    smtp_pool_free(&pool);
    script_free(&sc);
}

static void
test_pool(void)
{
    pool_case(0);
    pool_case(1);
    pool_case(2);
}

static void
test_rows(void)
{
    size_t i, bad = 0;

    for (i = 0; i < sizeof rows / sizeof rows[0]; i++)
        if (!run_row(&rows[i]))
            bad++;
    CU_ASSERT_EQUAL(bad, 0);
}

/* test_script_checks - a script the client does not follow is noticed:
 * the table cannot pass by accident */
static void
test_script_checks(void)
{
    static const struct row wrong[] = {
        { "wrong expectation", 0, 1, 0, 1, GREET EHLO_OK TXN1 QUIT, "F" },
        { "wrong client line", 0, 1, 0, 1, GREET "C: HELO client.test\nS: 250 ok\n", "D" },
        { "steps left", 0, 1, 0, 1, GREET EHLO_OK TXN1 QUIT "C: NOOP\n", "D" },
    };
    size_t i;

    fprintf(stderr, "(three rows that must fail follow)\n");
    for (i = 0; i < sizeof wrong / sizeof wrong[0]; i++)
        CU_ASSERT_FALSE(run_row(&wrong[i]));
}

int
main(void)
{
    CU_pSuite s;
    struct herald_diag d;
    unsigned fails;
    size_t i;

    if (getenv("DIALOGUE_TRACE") != NULL) {
        if (trace_sink_open("-", TRACE_FORMAT_TEXT, HERALD_TRACE_DEBUG, &sink, &d) != HERALD_OK)
            return 99;
        trace_scope_init(&trace_scope, sink, NULL);
        trace = &trace_scope;
    }
    if (herald_loop_new(&loop) != HERALD_OK
        || smtp_tls_config_new(NULL, NULL, false, NULL, &tls_cfg, &d) != HERALD_OK)
        return 99;
    big_body = malloc(200000);
    if (big_body == NULL)
        return 99;
    for (i = 0; i < 200000; i++)
        big_body[i] = i % 78 == 76 ? '\r' : i % 78 == 77 ? '\n' : (char)('a' + i % 26);
    if (CU_initialize_registry() != CUE_SUCCESS)
        return 99;
    s = CU_add_suite("smtp_dialogue", NULL, NULL);
    if (s == NULL || CU_add_test(s, "scripted dialogues", test_rows) == NULL
        || CU_add_test(s, "the script notices", test_script_checks) == NULL
        || CU_add_test(s, "session pool: keep, take by key, reuse, QUIT", test_pool) == NULL) {
        CU_cleanup_registry();
        return 99;
    }
    CU_basic_set_mode(CU_BRM_VERBOSE);
    CU_basic_run_tests();
    fails = CU_get_number_of_failures();
    CU_cleanup_registry();
    free(big_body);
    smtp_tls_config_free(&tls_cfg);
    herald_loop_free(&loop);
    trace_sink_free(&sink);
    return fails == 0 ? 0 : 1;
}
