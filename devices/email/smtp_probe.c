/*
 * smtp_probe.c - one short SMTP session per hop address, no DATA (smtp_probe.h)
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <mbedtls/platform_util.h>

#include <herald/probe.h>
#include <herald/trace.h>
#include "smtp_auth.h"
#include "smtp_conn.h"
#include "smtp_ehlo.h"
#include "smtp_probe.h"
#include "smtp_reply.h"
#include "smtp_tls.h"

#define SUBSYS "probe"
#define TEXT_MAX 1024

/* The steps, in the order a session goes through them.  There is no DATA
 * state: nothing here can send one. */
enum pstate {
    P_CONNECT = 0, P_TLS, P_GREETING, P_EHLO, P_HELO, P_STARTTLS, P_AUTH,
    P_MAIL, P_RCPT, P_RSET, P_QUIT
};
static const char *const pstate_doing[] = {
    "connecting", "in the TLS handshake", "waiting for the greeting", "waiting for the EHLO reply",
    "waiting for the HELO reply", "waiting for the STARTTLS reply", "authenticating",
    "waiting for the MAIL reply", "waiting for the RCPT reply", "waiting for the RSET reply",
    "waiting for the QUIT reply",
};

struct probe_run;

/* One hop address being probed. */
struct paddr {
    struct probe_run *run;
    struct herald_probe_job *job;
    struct smtp_conn *conn;
    struct smtp_tls *tls;
    enum pstate state;
    struct smtp_reply_parser parser;
    struct smtp_ehlo ehlo;
    uint64_t t0_ms;
    bool auth;                         /* the device authenticates to this hop */
    unsigned auth_mech;
    unsigned auth_step;
    bool tls_offered;
    bool tls_fell_back;                /* opportunistic: a handshake failed, clear now */
    bool ended;                        /* finish() ran: only settle() is left */
    bool at_deadline;                  /* the current wait ends at the probe's deadline */
    char peer[80];
    char tls_name[256];
};

struct probe_run {
    struct herald_loop *loop;
    const struct smtp_session_opts *opts;
    struct herald_probe *probe;
    const struct herald_trace *trace;
    size_t count, next, running, ended, max;
    bool pumping;
};

static void pump(struct probe_run *run);

/* mono_ms - a monotonic clock in milliseconds (connect times) */
static uint64_t
mono_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

/* finish - pa's job ends now; its connection closes without another word.
 * pa itself stays until settle(), called last by every entry from the loop,
 * so the code between never touches freed memory. */
static void
finish(struct paddr *pa)
{
    if (pa->ended)
        return;
    pa->ended = true;
    smtp_tls_close_notify(pa->tls);
    smtp_conn_free(&pa->conn);
    smtp_tls_free(&pa->tls);
    herald_probe_job_done(pa->job);
}

/* settle - free pa when its job has ended, and start the next job */
static void
settle(struct paddr *pa)
{
    struct probe_run *run = pa->run;

    if (!pa->ended)
        return;
    free(pa);
    run->running--;
    run->ended++;
    pump(run);
}

/* command - queue one line and send it; the trace shows shown (NULL: the line) */
static bool
command(struct paddr *pa, const char *shown, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static bool
command(struct paddr *pa, const char *shown, const char *fmt, ...)
{
    char line[SMTP_AUTH_B64_MAX + 600];
    va_list ap;
    int n;
    herald_status st;

    va_start(ap, fmt);
    n = vsnprintf(line, sizeof line - 2, fmt, ap);
    va_end(ap);
    if (n < 0 || (size_t)n >= sizeof line - 2) {
        mbedtls_platform_zeroize(line, sizeof line);
        return false;
    }
    herald_trace_log(pa->run->trace, HERALD_TRACE_INFO, SUBSYS, "%s: C: %s", pa->peer,
                     shown != NULL ? shown : line);
    memcpy(line + n, "\r\n", 2);
    st = smtp_conn_queue(pa->conn, line, (size_t)n + 2);
    mbedtls_platform_zeroize(line, sizeof line);
    return st == HERALD_OK && smtp_conn_flush(pa->conn) == HERALD_OK;
}

/* state_ms - the device's timeout for waiting in st */
static uint64_t
state_ms(const struct paddr *pa, enum pstate st)
{
    const struct smtp_session_opts *o = pa->run->opts;

    switch (st) {
    case P_GREETING: return o->greeting_ms;
    case P_TLS: return o->tls_ms != 0 ? o->tls_ms : o->ehlo_ms;
    case P_MAIL: return o->mail_ms;
    case P_RCPT: return o->rcpt_ms;
    case P_QUIT: return o->quit_ms;
    default: return o->ehlo_ms;
    }
}

/* bounded - a wait of ms (0: none), cut to what is left of the probe's
 * deadline; at_deadline says which of the two ends it */
static uint64_t
bounded(struct paddr *pa, uint64_t ms)
{
    uint64_t left = herald_probe_remaining_ms(pa->run->probe);

    pa->at_deadline = left != UINT64_MAX && (ms == 0 || left < ms);
    if (!pa->at_deadline)
        return ms;
    return left > 0 ? left : 1;        /* 0 would be no timer at all */
}

static void
enter(struct paddr *pa, enum pstate st)
{
    pa->state = st;
    (void)smtp_conn_set_timeout(pa->conn, bounded(pa, state_ms(pa, st)));
}

static void stop(struct paddr *pa, bool polite, bool permanent, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* step - one command, then wait for its reply in st; false when it
 * could not be sent (the job has ended then) */
static bool
step(struct paddr *pa, enum pstate st, const char *shown, const char *line)
{
    if (!command(pa, shown, "%s", line)) {
        stop(pa, false, false, "cannot send to the server");
        return false;
    }
    enter(pa, st);
    return true;
}

/* quit - end politely: QUIT and wait for the 221 (or the close) */
static void
quit(struct paddr *pa)
{
    step(pa, P_QUIT, NULL, "QUIT");
}

/* rset - the transaction is over: RSET, then QUIT */
static void
rset(struct paddr *pa)
{
    step(pa, P_RSET, NULL, "RSET");
}

/* stop - the session ends here for a reason in Herald's words, traced and
 * kept as the job's error: politely (QUIT: the server is still talking, a
 * delivery would stop here too) or at once (the connection is broken or
 * out of step) */
static void
stop(struct paddr *pa, bool polite, bool permanent, const char *fmt, ...)
{
    char why[TEXT_MAX];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(why, sizeof why, fmt, ap);
    va_end(ap);
    herald_trace_log(pa->run->trace, HERALD_TRACE_INFO, SUBSYS, "%s: %s", pa->peer, why);
    herald_probe_job_error(pa->job, permanent, why);
    if (polite)
        quit(pa);
    else
        finish(pa);
}

/* reply_text - the reply as one printable line, credentials redacted */
static void
reply_text(const struct paddr *pa, const struct smtp_reply *r, char *text, size_t cap)
{
    smtp_reply_format(r, text, cap);
    smtp_auth_redact(pa->run->opts->auth_user, pa->run->opts->auth_secret, text, cap);
}

static void send_mail(struct paddr *pa);

/* start_auth - the device would authenticate here: show what is offered;
 * with try_auth, log in as it would (its mechanism choice and TLS rule) */
static void
start_auth(struct paddr *pa)
{
    const struct smtp_session_opts *o = pa->run->opts;
    unsigned allowed = o->auth_mechs != 0 ? o->auth_mechs : SMTP_AUTH_ALL;
    char b64[SMTP_AUTH_B64_MAX];
    bool sent;

    if (o->auth_require_tls != SMTP_AUTH_TLS_NONE && pa->tls == NULL) {
        herald_probe_job_auth(pa->job, pa->ehlo.auth, NULL, false, NULL);
        stop(pa, true, false, "AUTH not sent: the connection is not encrypted (auth.require_tls = %s)",
             o->auth_require_tls == SMTP_AUTH_TLS_VERIFY ? "verify" : "encrypted");
        return;
    }
    if (o->auth_require_tls == SMTP_AUTH_TLS_VERIFY && !smtp_tls_verified(pa->tls)) {
        herald_probe_job_auth(pa->job, pa->ehlo.auth, NULL, false, NULL);
        stop(pa, true, false, "AUTH not sent: the certificate was not verified for %s: %s "
             "(auth.require_tls = verify)", pa->tls_name, smtp_tls_verify_text(pa->tls));
        return;
    }
    pa->auth_mech = smtp_auth_choose(&pa->ehlo, allowed, o->auth_token);
    if (pa->auth_mech == 0) {
        herald_probe_job_auth(pa->job, pa->ehlo.auth, NULL, false, NULL);
        stop(pa, true, false, "no usable AUTH mechanism: the server offers \"%s\"", pa->ehlo.auth);
        return;
    }
    if (!herald_probe_try_auth(pa->run->probe)) {
        /* What the device would send, without sending it: --auth does. */
        herald_probe_job_auth(pa->job, pa->ehlo.auth, NULL, false, NULL);
        send_mail(pa);
        return;
    }
    pa->auth_step = 0;
    switch (pa->auth_mech) {
    case SMTP_AUTH_PLAIN:
        sent = smtp_auth_plain(o->auth_user, o->auth_secret, b64, sizeof b64) == HERALD_OK
               && command(pa, "AUTH PLAIN <redacted>", "AUTH PLAIN %s", b64);
        break;
    case SMTP_AUTH_XOAUTH2:
        sent = smtp_auth_xoauth2(o->auth_user, o->auth_secret, b64, sizeof b64) == HERALD_OK
               && command(pa, "AUTH XOAUTH2 <redacted>", "AUTH XOAUTH2 %s", b64);
        break;
    default:
        sent = command(pa, NULL, "AUTH LOGIN");
        break;
    }
    mbedtls_platform_zeroize(b64, sizeof b64);
    if (!sent) {
        stop(pa, false, false, "cannot send AUTH");
        return;
    }
    enter(pa, P_AUTH);
}

/* auth_reply - one reply of the AUTH exchange */
static void
auth_reply(struct paddr *pa, const struct smtp_reply *r, const char *text)
{
    const struct smtp_session_opts *o = pa->run->opts;
    const char *mech = smtp_auth_name(pa->auth_mech);
    char b64[SMTP_AUTH_B64_MAX];
    bool sent;

    if (r->code == 334 && pa->auth_mech == SMTP_AUTH_LOGIN && pa->auth_step < 2) {
        sent = smtp_auth_b64(pa->auth_step == 0 ? o->auth_user : o->auth_secret, b64,
                             sizeof b64) == HERALD_OK
               && command(pa, "<redacted>", "%s", b64);
        mbedtls_platform_zeroize(b64, sizeof b64);
        pa->auth_step++;
        if (!sent) {
            stop(pa, false, false, "cannot send AUTH LOGIN");
            return;
        }
        enter(pa, P_AUTH);
        return;
    }
    if (r->code == 334 && pa->auth_mech == SMTP_AUTH_XOAUTH2 && pa->auth_step == 0) {
        pa->auth_step++;
        (void)step(pa, P_AUTH, NULL, "");
        return;
    }
    herald_probe_job_auth(pa->job, pa->ehlo.auth, mech, r->code == 235, text);
    if (r->code == 235) {
        send_mail(pa);
        return;
    }
    /* A delivery defers on a refused login (the password may be rotating). */
    stop(pa, true, false, "authentication refused (AUTH %s)", mech);
}

/* send_mail - MAIL FROM the probe's sender (the null sender by default) */
static void
send_mail(struct paddr *pa)
{
    char line[600];

    snprintf(line, sizeof line, "MAIL FROM:<%s>", herald_probe_sender(pa->run->probe));
    (void)step(pa, P_MAIL, NULL, line);
}

/* proceed - TLS is settled: AUTH where the device authenticates, then MAIL */
static void
proceed(struct paddr *pa)
{
    const struct smtp_session_opts *o = pa->run->opts;

    if (pa->auth && o->auth_user != NULL && o->auth_secret != NULL)
        start_auth(pa);
    else
        send_mail(pa);
}

static void read_replies(struct paddr *pa);
static herald_status connect_to(struct paddr *pa);

/* record_tls - what the handshake gave, as the probe shows it */
static void
record_tls(struct paddr *pa, bool ok, const char *error)
{
    struct smtp_tls_peer *peer = calloc(1, sizeof *peer);
    struct herald_probe_tls t = { .struct_size = sizeof t };
    size_t i;

    t.ok = ok;
    t.error = error;
    if (peer != NULL && ok) {
        smtp_tls_peer_info(pa->tls, peer);
        t.verified = smtp_tls_verified(pa->tls);
        t.verify = smtp_tls_verify_text(pa->tls);
        t.version = peer->version;
        t.cipher = peer->cipher;
        t.subject = peer->subject[0] != '\0' ? peer->subject : NULL;
        t.issuer = peer->issuer[0] != '\0' ? peer->issuer : NULL;
        t.not_after = peer->not_after[0] != '\0' ? peer->not_after : NULL;
        herald_trace_log(pa->run->trace, HERALD_TRACE_INFO, SUBSYS,
                         "%s: TLS %s %s, subject \"%s\", issuer \"%s\", verification for %s: %s",
                         pa->peer, peer->version, peer->cipher, peer->subject, peer->issuer,
                         pa->tls_name, t.verify);
    } else if (pa->tls != NULL) {
        t.verify = smtp_tls_verify_text(pa->tls);
    }
    herald_probe_job_tls(pa->job, &t);
    for (i = 0; peer != NULL && ok && i < peer->name_count; i++)
        herald_probe_job_tls_name(pa->job, peer->names[i]);
    free(peer);
}

/*
 * clear_again - an opportunistic handshake failed: as a delivery does
 * (smtp_session.c tls_failed), the address is tried once more in clear text
 * on a new connection, without STARTTLS.  The failed handshake stays in the
 * job's TLS record; connect, greeting and EHLO are the clear session's.
 */
static void
clear_again(struct paddr *pa, const char *why)
{
    herald_trace_log(pa->run->trace, HERALD_TRACE_INFO, SUBSYS,
                     "%s: %s: reconnecting to continue in clear text", pa->peer, why);
    pa->tls_fell_back = true;
    smtp_tls_close_notify(pa->tls);
    smtp_conn_free(&pa->conn);
    smtp_tls_free(&pa->tls);
    smtp_reply_parser_init(&pa->parser);
    smtp_ehlo_clear(&pa->ehlo);
    pa->state = P_CONNECT;
    if (connect_to(pa) != HERALD_OK)
        finish(pa);
}

/* tls_done - the handshake ended: record it, apply the policy, greet again */
static void
tls_done(struct paddr *pa)
{
    const struct smtp_session_opts *o = pa->run->opts;
    char why[TEXT_MAX];
    char line[300];

    if (pa->state != P_TLS || pa->tls == NULL)
        return;
    if (!smtp_tls_established(pa->tls)) {
        snprintf(why, sizeof why, "%s (verification: %s)",
                 smtp_tls_error(pa->tls)[0] != '\0' ? smtp_tls_error(pa->tls)
                 : "TLS handshake failed", smtp_tls_verify_text(pa->tls));
        record_tls(pa, false, why);
        if (o->tls_policy == SMTP_TLS_OPPORTUNISTIC && !o->implicit_tls && !pa->tls_fell_back) {
            clear_again(pa, why);
            return;
        }
        stop(pa, false, false, "TLS handshake failed");
        return;
    }
    if (o->tls_policy == SMTP_TLS_VERIFY && !smtp_tls_verified(pa->tls)) {
        snprintf(why, sizeof why, "certificate verification failed for %s (tls = verify): %s",
                 pa->tls_name, smtp_tls_verify_text(pa->tls));
        record_tls(pa, true, why);
        stop(pa, true, false, "%s", why);
        return;
    }
    record_tls(pa, true, NULL);
    if (o->implicit_tls && pa->ehlo.flags == 0 && !pa->tls_offered) {
        enter(pa, P_GREETING);          /* the greeting comes over TLS */
        read_replies(pa);               /* it may be here already */
        return;
    }
    /* RFC 3207 4.2: forget what was learned in clear and ask again. */
    smtp_ehlo_clear(&pa->ehlo);
    snprintf(line, sizeof line, "EHLO %s", o->helo_name != NULL ? o->helo_name : "localhost");
    (void)step(pa, P_EHLO, NULL, line);
}

static void
on_tls_done(void *arg)
{
    struct paddr *pa = arg;

    tls_done(pa);
    settle(pa);
}

/* begin_tls - the handshake on the open connection; junk sent before it is dropped */
static void
begin_tls(struct paddr *pa)
{
    size_t junk = 0;

    (void)smtp_conn_input(pa->conn, &junk);
    if (junk > 0)
        smtp_conn_consume(pa->conn, junk);
    smtp_reply_parser_init(&pa->parser);
    if (smtp_tls_new(pa->run->opts->tls_config, pa->run->loop, smtp_conn_fd(pa->conn),
                     pa->tls_name, on_tls_done, pa, &pa->tls) != HERALD_OK) {
        record_tls(pa, false, "cannot set up TLS");
        stop(pa, false, false, "cannot set up TLS");
        return;
    }
    smtp_conn_set_stream(pa->conn, smtp_tls_stream(), pa->tls);
    herald_trace_log(pa->run->trace, HERALD_TRACE_INFO, SUBSYS,
                     "%s: TLS handshake (server name %s)", pa->peer, pa->tls_name);
    enter(pa, P_TLS);
    if (smtp_tls_start(pa->tls) != HERALD_OK)
        tls_done(pa);                   /* failed at once: the same rule as a late failure */
}

/* after_ehlo - extensions known: STARTTLS as the device's policy says, then on */
static void
after_ehlo(struct paddr *pa)
{
    const struct smtp_session_opts *o = pa->run->opts;
    bool must = o->tls_policy >= SMTP_TLS_REQUIRED;

    if (pa->tls == NULL && o->tls_policy != SMTP_TLS_NONE) {
        if (o->tls_config != NULL && (pa->ehlo.flags & SMTP_EXT_STARTTLS) && !pa->tls_fell_back) {
            pa->tls_offered = true;
            (void)step(pa, P_STARTTLS, NULL, "STARTTLS");
            return;
        }
        if (must) {
            stop(pa, true, false, "TLS is required (tls = %s) but the server does not offer "
                 "STARTTLS: a delivery sends no mail here",
                 o->tls_policy == SMTP_TLS_VERIFY ? "verify" : "required");
            return;
        }
    }
    proceed(pa);
}

/* ehlo_reply - record EHLO (or HELO) and its extensions */
static void
ehlo_reply(struct paddr *pa, const struct smtp_reply *r, const char *text)
{
    char helo[300], first[600];
    const char *line0 = smtp_reply_line(r, 0);
    size_t i;

    /* A 2xx EHLO's first line is the server's name; the rest are listed apart. */
    snprintf(first, sizeof first, "%03d %s", r->code, line0 != NULL ? line0 : "");
    herald_probe_job_ehlo(pa->job, r->code, pa->state == P_HELO,
                          smtp_reply_class(r) == 2 && r->nlines > 1 ? first : text);
    if (smtp_reply_class(r) == 2 && pa->state == P_EHLO) {
        (void)smtp_ehlo_parse(r, &pa->ehlo);
        for (i = 1; i < r->nlines; i++)
            herald_probe_job_extension(pa->job, smtp_reply_line(r, i));
        after_ehlo(pa);
        return;
    }
    if (smtp_reply_class(r) == 2) {
        smtp_ehlo_clear(&pa->ehlo);
        after_ehlo(pa);
        return;
    }
    if (smtp_reply_class(r) == 5 && pa->state == P_EHLO && pa->tls == NULL) {
        snprintf(helo, sizeof helo, "HELO %s",
                 pa->run->opts->helo_name != NULL ? pa->run->opts->helo_name : "localhost");
        (void)step(pa, P_HELO, NULL, helo);
        return;
    }
    stop(pa, true, smtp_reply_class(r) == 5, "%s refused: %s", pa->state == P_HELO ? "HELO" : "EHLO",
         text);
}

/* on_reply - one complete reply in the current state */
static void
on_reply(struct paddr *pa, const struct smtp_reply *r)
{
    char text[TEXT_MAX];
    char line[600];
    const char *rcpt;

    reply_text(pa, r, text, sizeof text);
    herald_trace_log(pa->run->trace, HERALD_TRACE_INFO, SUBSYS, "%s: S: %s", pa->peer, text);
    switch (pa->state) {
    case P_GREETING:
        herald_probe_job_greeting(pa->job, r->code, text);
        if (smtp_reply_class(r) != 2) {
            quit(pa);
            return;
        }
        snprintf(line, sizeof line, "EHLO %s",
                 pa->run->opts->helo_name != NULL ? pa->run->opts->helo_name : "localhost");
        (void)step(pa, P_EHLO, NULL, line);
        return;
    case P_EHLO:
    case P_HELO:
        ehlo_reply(pa, r, text);
        return;
    case P_STARTTLS:
        if (r->code == 220) {
            begin_tls(pa);
            return;
        }
        {
            struct herald_probe_tls t = { .struct_size = sizeof t };
            char why[TEXT_MAX + 32];

            snprintf(why, sizeof why, "STARTTLS refused: %s", text);
            t.error = why;
            herald_probe_job_tls(pa->job, &t);
        }
        if (pa->run->opts->tls_policy >= SMTP_TLS_REQUIRED) {
            stop(pa, true, false, "STARTTLS refused and TLS is required: a delivery sends no mail here");
            return;
        }
        proceed(pa);
        return;
    case P_AUTH:
        auth_reply(pa, r, text);
        return;
    case P_MAIL:
        herald_probe_job_mail(pa->job, r->code, text);
        rcpt = herald_probe_recipient(pa->run->probe);
        if (smtp_reply_class(r) == 2 && rcpt != NULL) {
            snprintf(line, sizeof line, "RCPT TO:<%s>", rcpt);
            (void)step(pa, P_RCPT, NULL, line);
            return;
        }
        rset(pa);
        return;
    case P_RCPT:
        herald_probe_job_rcpt(pa->job, r->code, text);
        rset(pa);
        return;
    case P_RSET:
        quit(pa);
        return;
    case P_QUIT:
        finish(pa);
        return;
    default:
        stop(pa, false, false, "unexpected reply");
        return;
    }
}

/* read_replies - every complete reply in the input, one at a time, until
 * the job ends */
static void
read_replies(struct paddr *pa)
{
    unsigned guard = 0;

    while (!pa->ended && guard++ < SMTP_CONN_IN_MAX + 1) {
        size_t len, used;
        const char *in = smtp_conn_input(pa->conn, &len);
        bool complete;

        if (len == 0 || pa->state == P_TLS || pa->state == P_CONNECT)
            return;
        if (smtp_reply_feed(&pa->parser, in, len, &used, &complete) != HERALD_OK) {
            stop(pa, false, false, "bad reply while %s: %s", pstate_doing[pa->state],
                 smtp_reply_error(&pa->parser));
            return;
        }
        smtp_conn_consume(pa->conn, used);
        if (!complete)
            return;
        on_reply(pa, smtp_reply_get(&pa->parser));
    }
}

/* expire - the probe's deadline ended the wait.  After RCPT (or MAIL
 * without a recipient) the answer is in: RSET and QUIT are courtesies, and
 * the job ends as it would have; before, it is cut short, in this step. */
static void
expire(struct paddr *pa)
{
    const char *doing = pstate_doing[pa->state];

    herald_trace_log(pa->run->trace, HERALD_TRACE_INFO, SUBSYS,
                     "%s: the probe's deadline passed while %s", pa->peer, doing);
    if (pa->state == P_CONNECT)
        herald_probe_job_connect(pa->job, false, mono_ms() - pa->t0_ms,
                                 "not connected by the probe's deadline");
    if (pa->state == P_TLS)
        record_tls(pa, false, "the handshake did not end by the probe's deadline");
    if (pa->state != P_RSET && pa->state != P_QUIT)
        herald_probe_job_expired(pa->job, doing);
    finish(pa);
}

/* conn_event - one event from the connection */
static void
conn_event(struct paddr *pa, enum smtp_conn_event ev)
{
    char why[TEXT_MAX];

    switch (ev) {
    case SMTP_CONN_CONNECTED:
        herald_probe_job_connect(pa->job, true, mono_ms() - pa->t0_ms, NULL);
        herald_trace_log(pa->run->trace, HERALD_TRACE_INFO, SUBSYS, "connected to %s",
                         pa->peer);
        if (pa->run->opts->implicit_tls && pa->run->opts->tls_config != NULL) {
            begin_tls(pa);
            return;
        }
        enter(pa, P_GREETING);
        return;
    case SMTP_CONN_INPUT:
        read_replies(pa);
        return;
    case SMTP_CONN_DRAINED:
        return;
    case SMTP_CONN_CLOSED:
    case SMTP_CONN_ERROR:
    case SMTP_CONN_TIMEOUT:
        break;
    }
    if (ev == SMTP_CONN_TIMEOUT && pa->at_deadline) {
        expire(pa);
        return;
    }
    if (pa->state == P_CONNECT) {
        snprintf(why, sizeof why, "%s", ev == SMTP_CONN_TIMEOUT ? "timeout"
                 : smtp_conn_error(pa->conn)[0] != '\0' ? smtp_conn_error(pa->conn)
                 : "connection closed");
        herald_trace_log(pa->run->trace, HERALD_TRACE_INFO, SUBSYS, "%s: cannot connect: %s",
                         pa->peer, why);
        herald_probe_job_connect(pa->job, false, mono_ms() - pa->t0_ms, why);
        finish(pa);
        return;
    }
    if (pa->state == P_QUIT) {
        finish(pa);
        return;
    }
    if (pa->state == P_TLS && ev != SMTP_CONN_TIMEOUT && pa->tls != NULL) {
        tls_done(pa);
        return;
    }
    snprintf(why, sizeof why, "%s while %s", ev == SMTP_CONN_TIMEOUT ? "timeout"
             : ev == SMTP_CONN_CLOSED ? "connection closed by the server"
             : smtp_conn_error(pa->conn), pstate_doing[pa->state]);
    if (pa->state == P_TLS)
        record_tls(pa, false, why);
    stop(pa, false, false, "%s", why);
}

/* on_conn - events from the connection */
static void
on_conn(void *arg, enum smtp_conn_event ev)
{
    struct paddr *pa = arg;

    conn_event(pa, ev);
    settle(pa);
}

/* start_one - connect to job i's address (the job may end at once) */
static void
start_one(struct probe_run *run, size_t i)
{
    struct herald_probe_job *job = herald_probe_job_at(run->probe, i);
    const struct herald_address *addr = herald_probe_job_address(job);
    const char *host = herald_probe_job_host(job);
    struct paddr *pa = calloc(1, sizeof *pa);

    run->running++;
    if (pa == NULL || herald_probe_remaining_ms(run->probe) == 0) {
        /* Past the deadline: the jobs still waiting for a session end unprobed. */
        if (pa == NULL)
            herald_probe_job_error(job, false, "out of memory");
        else
            herald_probe_job_expired(job, "waiting to connect (transport max_sessions)");
        herald_probe_job_done(job);
        free(pa);
        run->running--;
        run->ended++;
        return;
    }
    pa->run = run;
    pa->job = job;
    pa->state = P_CONNECT;
    pa->auth = smtp_auth_hop_gets(herald_probe_job_origin(job));
    smtp_reply_parser_init(&pa->parser);
    smtp_ehlo_clear(&pa->ehlo);
    snprintf(pa->peer, sizeof pa->peer, strchr(addr->text, ':') ? "[%s]:%u" : "%s:%u",
             addr->text, (unsigned)herald_probe_job_port(job));
    /* The certificate must carry the hop's name; an IP-literal hop its address. */
    snprintf(pa->tls_name, sizeof pa->tls_name, "%s",
             host != NULL && *host != '\0' && strlen(host) < sizeof pa->tls_name
             ? host : addr->text);
    herald_trace_log(run->trace, HERALD_TRACE_INFO, SUBSYS, "%s (%s): connecting to %s",
                     host != NULL ? host : "", herald_probe_job_origin(job), pa->peer);
    if (connect_to(pa) != HERALD_OK) {
        finish(pa);
        settle(pa);
    }
}

/* connect_to - open the connection to pa's address; a failure is recorded */
static herald_status
connect_to(struct paddr *pa)
{
    struct herald_diag diag;
    herald_status st;

    pa->t0_ms = mono_ms();
    memset(&diag, 0, sizeof diag);
    st = smtp_conn_new(pa->run->loop, herald_probe_job_address(pa->job),
                       herald_probe_job_port(pa->job), bounded(pa, pa->run->opts->connect_ms),
                       on_conn, pa,
                       &pa->conn, &diag);
    if (st != HERALD_OK)
        herald_probe_job_connect(pa->job, false, 0, diag.text[0] != '\0' ? diag.text
                                 : herald_strerror(st));
    return st;
}

/* pump - start jobs while fewer than max run; frees the run after the last */
static void
pump(struct probe_run *run)
{
    if (run->pumping)
        return;
    run->pumping = true;
    while (run->next < run->count && run->running < run->max)
        start_one(run, run->next++);
    run->pumping = false;
    if (run->ended == run->count)
        free(run);
}

/* smtp_probe_start - see smtp_probe.h */
herald_status
smtp_probe_start(struct herald_loop *loop, const struct smtp_session_opts *opts,
                 size_t max_sessions, struct herald_probe *probe)
{
    struct probe_run *run;

    if (loop == NULL || opts == NULL || probe == NULL)
        return HERALD_E_INVAL;
    if (herald_probe_job_count(probe) == 0)
        return HERALD_OK;
    run = calloc(1, sizeof *run);
    if (run == NULL)
        return HERALD_E_NOMEM;
    run->loop = loop;
    run->opts = opts;
    run->probe = probe;
    run->trace = herald_probe_trace(probe);
    run->count = herald_probe_job_count(probe);
    run->max = max_sessions > 0 ? max_sessions : 1;
    pump(run);
    return HERALD_OK;
}
