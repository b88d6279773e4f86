/*
 * smtp_session.c - SMTP client state machine on the herald loop (see smtp_session.h)
 */
#include <netdb.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <mbedtls/platform_util.h>
#include <herald/text.h>
#include <herald/timeouts.h>

#include "mime_7bit.h"
#include "smtp_auth.h"
#include "smtp_body.h"
#include "smtp_conn.h"
#include "smtp_ehlo.h"
#include "smtp_reply.h"
#include "smtp_params.h"
#include "smtp_session.h"
#include "smtp_tls.h"

#define SUBSYS "smtp"
#define BODY_RAW_MAX   16384          /* body octets read per chunk */
/* Room asked of the connection per chunk: a chunk encodes in place there. */
#define BODY_OUT_MAX   (2 * BODY_RAW_MAX + SMTP_BODY_FINISH_MAX)
#define BODY_HIGH_WATER (128 * 1024)  /* queue body until this much is pending */
#define REPLY_TEXT_MAX 512
#define RCPT_WINDOW    (32 * 1024)    /* pipelined RCPTs queued before their replies */
#define MAX_RCPT_DEFAULT SMTP_MAX_RCPT_DEFAULT   /* smtp_session.h: the one default */
#define TOO_LARGE "552 5.3.4 message too large for server"
#define NO_SMTPUTF8 "553 5.6.7 UTF-8 address and the server does not offer SMTPUTF8"
#define NO_8BITMIME "554 5.6.3 8-bit body and the server does not offer 8BITMIME " \
                    "(eightbit_downgrade = refuse)"

static const char *const state_names[] = {
    "INIT", "CONNECT", "GREETING", "EHLO", "HELO", "STARTTLS", "TLS", "AUTH", "READY",
    "RSET", "MAIL", "RCPT", "DATA", "BODY", "DOT", "QUIT", "CLOSED",
};
_Static_assert(sizeof state_names / sizeof state_names[0] == SMTP_S__LAST,
               "one name per state");

/* What each state is waiting for, for "timeout while ..." texts. */
static const char *const state_doing[] = {
    "before connecting", "connecting", "waiting for the greeting", "waiting for the EHLO reply",
    "waiting for the HELO reply", "waiting for the STARTTLS reply", "in the TLS handshake",
    "authenticating", "idle", "waiting for the RSET reply",
    "waiting for the MAIL FROM reply", "waiting for the RCPT TO reply",
    "waiting for the DATA reply", "sending the message body", "waiting for the final dot reply",
    "waiting for the QUIT reply", "closed",
};
_Static_assert(sizeof state_doing / sizeof state_doing[0] == SMTP_S__LAST,
               "one description per state");

enum rcpt_word { RCPT_NONE = 0, RCPT_ACCEPTED, RCPT_DECIDED };

/* The stored body on its way through the 7-bit converter (RFC 6152 3). */
struct body_downgrade {
    struct mime7_conv conv;
    char src[BODY_RAW_MAX];
    size_t src_len, src_off;
    bool src_eof;
};

struct rcpt_state {
    enum rcpt_word word;
    struct smtp_rcpt_result res;      /* when DECIDED; its reply and dsn are the two below */
    bool kept;                        /* a word that stands if the session fails later */
    bool retry;                       /* 452/552: over the server's limit, next transaction */
    char reply[REPLY_TEXT_MAX];
    char dsn[16];
};

struct smtp_session {
    struct herald_loop *loop;
    const struct herald_trace *trace;
    struct herald_address addr;
    uint16_t port;
    struct smtp_session_opts opts;
    char helo[256];
    char peer[64];

    enum smtp_state state;
    struct smtp_conn *conn;
    struct smtp_reply_parser parser;
    struct smtp_ehlo ehlo;
    unsigned transactions;            /* started on this connection */

    /* TLS and AUTH on this connection. */
    struct smtp_tls *tls;             /* set from the handshake on */
    char tls_name[256];               /* SNI and certificate name */
    bool starttls_refused;            /* opportunistic: the server said no */
    bool tls_fell_back;               /* opportunistic: a handshake failed, clear now */
    bool auth_done;
    bool implicit_pending;            /* implicit TLS: the greeting follows the handshake */
    unsigned auth_mech;
    int auth_step;

    /* The current transaction. */
    bool busy;
    struct smtp_message msg;
    struct smtp_session_cb cb;
    struct rcpt_state *rcpt;
    size_t *txn;                      /* recipients of this transaction, in order */
    size_t txn_n;                     /* how many */
    size_t txn_queued;                /* RCPTs queued of them */
    size_t txn_replied;               /* RCPT replies read of them */
    bool txn_limited;                 /* the server's recipient limit was reached */
    bool data_queued;                 /* DATA went with the RCPTs (PIPELINING) */
    size_t accepted;                  /* in this transaction */
    bool pipelining;
    bool rset_ahead;                  /* RSET went in the group before MAIL (PIPELINING) */
    bool mail_failed;
    bool data_discard;                /* 354 with nobody accepted: send a bare dot */
    char mail_reply[REPLY_TEXT_MAX];
    char mail_dsn[16];

    /* Session failure, reported with the transaction. */
    bool failed;
    herald_status fail_status;
    bool fail_permanent;
    bool fail_early;                  /* before any transaction, on a new connection */
    char fail_reply[REPLY_TEXT_MAX];
    char fail_dsn[16];

    /* The body. */
    struct smtp_body_enc enc;
    char raw[BODY_RAW_MAX];
    size_t raw_len, raw_off;
    bool body_eof;
    uint64_t body_octets;
    bool downgrade;                   /* this body goes through the 7-bit converter */
    struct body_downgrade *down;      /* allocated on first use, kept for the session */

    /* The dialogue tests' wire (smtp_session_set_wire): used by the next connection. */
    int wire_fd;
    const struct smtp_stream_ops *wire_ops;
    void *wire_ctx;

    struct herald_timer *report;      /* results go out from the loop */
    bool connected_pending;
    void (*quit_fn)(void *arg);
    void *quit_arg;
    struct herald_timer *quit_timer;
};

static void on_conn(void *arg, enum smtp_conn_event ev);
static void after_event(struct smtp_session *s);
static void drop_conn(struct smtp_session *s);
static void read_replies(struct smtp_session *s);
static herald_status open_conn(struct smtp_session *s, struct herald_diag *diag);

/* smtp_state_name - trace name of a state */
const char *
smtp_state_name(enum smtp_state st)
{
    return (unsigned)st < SMTP_S__LAST ? state_names[st] : "?";
}

/* smtp_session_opts_init - the timeouts of herald/timeouts.h, everything else off */
void
smtp_session_opts_init(struct smtp_session_opts *o)
{
    o->helo_name = NULL;
    o->connect_ms = HERALD_DEFAULT_SMTP_CONNECT_MS;
    o->greeting_ms = HERALD_DEFAULT_SMTP_GREETING_MS;
    o->ehlo_ms = HERALD_DEFAULT_SMTP_HELO_MS;
    o->mail_ms = HERALD_DEFAULT_SMTP_MAIL_MS;
    o->rcpt_ms = HERALD_DEFAULT_SMTP_RCPT_MS;
    o->data_ms = HERALD_DEFAULT_SMTP_DATA_MS;
    o->block_ms = HERALD_DEFAULT_SMTP_BLOCK_MS;
    o->dot_ms = HERALD_DEFAULT_SMTP_DOT_MS;
    o->quit_ms = HERALD_DEFAULT_SMTP_QUIT_MS;
    o->tls_policy = 0;                /* SMTP_TLS_NONE */
    o->tls_config = NULL;
    o->tls_ms = 0;
    o->implicit_tls = false;
    o->auth_user = NULL;
    o->auth_secret = NULL;
    o->auth_token = false;
    o->auth_mechs = 0;
    o->auth_require_tls = SMTP_AUTH_TLS_VERIFY;
    o->max_rcpt = MAX_RCPT_DEFAULT;
    o->eightbit_downgrade = SMTP_8BIT_CONVERT;
}

/* smtp_default_helo_name - this host's FQDN, else its name */
void
smtp_default_helo_name(char *buf, size_t cap)
{
    char host[256];
    struct addrinfo hints, *res = NULL;

    if (cap == 0)
        return;
    if (gethostname(host, sizeof host) != 0 || host[0] == '\0') {
        snprintf(buf, cap, "localhost.localdomain");
        return;
    }
    host[sizeof host - 1] = '\0';
    memset(&hints, 0, sizeof hints);
    hints.ai_flags = AI_CANONNAME;
    hints.ai_socktype = SOCK_STREAM;
    if (strchr(host, '.') == NULL && getaddrinfo(host, NULL, &hints, &res) == 0 && res != NULL
        && res->ai_canonname != NULL && strchr(res->ai_canonname, '.') != NULL
        && herald_dns_valid_hostname(res->ai_canonname))
        snprintf(buf, cap, "%s", res->ai_canonname);
    else
        snprintf(buf, cap, "%s", host);
    if (res != NULL)
        freeaddrinfo(res);
}

/* set_state - the only writer of s->state; traces each change */
static void
set_state(struct smtp_session *s, enum smtp_state st)
{
    if ((unsigned)st >= SMTP_S__LAST)
        abort();                      /* our bug, never the peer's doing */
    if (st != s->state)
        herald_trace_log(s->trace, HERALD_TRACE_DEBUG, SUBSYS, "%s: %s -> %s", s->peer,
                         smtp_state_name(s->state), smtp_state_name(st));
    s->state = st;
}

/* state_timeout - the deadline of a state waiting for the peer, 0 for none */
static uint64_t
state_timeout(const struct smtp_session *s, enum smtp_state st)
{
    switch (st) {
    case SMTP_S_CONNECT: return s->opts.connect_ms;
    case SMTP_S_GREETING: return s->opts.greeting_ms;
    case SMTP_S_EHLO: case SMTP_S_HELO: case SMTP_S_RSET: case SMTP_S_STARTTLS:
    case SMTP_S_AUTH: return s->opts.ehlo_ms;
    case SMTP_S_TLS: return s->opts.tls_ms != 0 ? s->opts.tls_ms : s->opts.ehlo_ms;
    case SMTP_S_MAIL: return s->opts.mail_ms;
    case SMTP_S_RCPT: return s->opts.rcpt_ms;
    case SMTP_S_DATA: return s->opts.data_ms;
    case SMTP_S_BODY: return s->opts.block_ms;
    case SMTP_S_DOT: return s->opts.dot_ms;
    case SMTP_S_QUIT: return s->opts.quit_ms;
    default: return 0;
    }
}

/* enter - change state and arm its deadline */
static void
enter(struct smtp_session *s, enum smtp_state st)
{
    set_state(s, st);
    if (s->conn != NULL)
        (void)smtp_conn_set_timeout(s->conn, state_timeout(s, st));
}

/* clean_text - true when text has no control character and no angle bracket */
static bool
clean_text(const char *t, bool brackets_ok)
{
    for (; *t != '\0'; t++) {
        unsigned char c = (unsigned char)*t;

        if (herald_text_is_ctl(c) || (!brackets_ok && (c == '<' || c == '>')))
            return false;
    }
    return true;
}

/* vcommand - queue one command line, traced as "C: ..." */
static herald_status
vcommand(struct smtp_session *s, const char *fmt, va_list ap)
    __attribute__((format(printf, 2, 0)));
static herald_status
vcommand(struct smtp_session *s, const char *fmt, va_list ap)
{
    char line[2048];              /* RCPT with ORCPT of a 254-octet address in xtext */
    int n;

    n = vsnprintf(line, sizeof line - 2, fmt, ap);
    if (n < 0 || (size_t)n >= sizeof line - 2)
        return HERALD_E_LIMIT;
    herald_trace_log(s->trace, HERALD_TRACE_INFO, SUBSYS, "C: %s", line);
    memcpy(line + n, "\r\n", 2);
    return smtp_conn_queue(s->conn, line, (size_t)n + 2);
}

static herald_status
command(struct smtp_session *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static herald_status
command(struct smtp_session *s, const char *fmt, ...)
{
    va_list ap;
    herald_status st;

    va_start(ap, fmt);
    st = vcommand(s, fmt, ap);
    va_end(ap);
    return st;
}

/* command_secret - queue a line that holds a secret; the trace gets shown instead */
static herald_status
command_secret(struct smtp_session *s, const char *shown, const char *prefix, const char *secret)
{
    char line[SMTP_AUTH_B64_MAX + 64];
    int n;
    herald_status st;

    n = snprintf(line, sizeof line, "%s%s\r\n", prefix, secret);
    if (n < 0 || (size_t)n >= sizeof line) {
        mbedtls_platform_zeroize(line, sizeof line);
        return HERALD_E_LIMIT;
    }
    herald_trace_log(s->trace, HERALD_TRACE_INFO, SUBSYS, "C: %s", shown);
    st = smtp_conn_queue(s->conn, line, (size_t)n);
    mbedtls_platform_zeroize(line, sizeof line);
    return st;
}

/* redact - what a server may have echoed of the credentials, out of text */
static void
redact(const struct smtp_session *s, char *text, size_t cap)
{
    smtp_auth_redact(s->opts.auth_user, s->opts.auth_secret, text, cap);
}

/* reply_text - the one printable line of a reply that is kept (outcomes,
 * failures, trace), with any echo of the credentials redacted */
static void
reply_text(const struct smtp_session *s, const struct smtp_reply *r, char *text, size_t cap)
{
    smtp_reply_format(r, text, cap);
    redact(s, text, cap);
}

/* reply_dsn - the reply's enhanced status code, else one derived from its
 * class as Postfix does ("5.0.0"): an outcome always has a dsn */
static const char *
reply_dsn(const struct smtp_reply *r)
{
    static const char *const by_class[] = { "", "", "2.0.0", "", "4.0.0", "5.0.0" };
    int cls = smtp_reply_class(r);

    if (r->dsn[0] != '\0')
        return r->dsn;
    return cls >= 0 && cls <= 5 ? by_class[cls] : "";
}

/* trace_reply - each line of a reply, as "S: 250-PIPELINING" */
static void
trace_reply(const struct smtp_session *s, const struct smtp_reply *r)
{
    char line[SMTP_CONN_IN_MAX + 8];
    size_t i;

    if (!herald_trace_enabled(s->trace, HERALD_TRACE_INFO))
        return;
    for (i = 0; i < r->nlines; i++) {
        const char *t = smtp_reply_line(r, i);

        snprintf(line, sizeof line, "%s", t);
        redact(s, line, sizeof line);
        herald_trace_log(s->trace, HERALD_TRACE_INFO, SUBSYS, "S: %03d%s%s", r->code,
                         t[0] == '\0' && i + 1 == r->nlines ? "" : (i + 1 < r->nlines ? "-" : " "),
                         line);
    }
}

/* report_fire - hand the results of the transaction to the caller, done() last */
static void
report_fire(void *arg)
{
    struct smtp_session *s = arg;
    struct smtp_session_cb cb = s->cb;
    size_t i;

    herald_timer_cancel(&s->report);
    if (s->connected_pending && cb.connected != NULL)
        cb.connected(cb.arg, s->peer);
    s->connected_pending = false;
    for (i = 0; i < s->msg.nrcpt; i++) {
        const struct rcpt_state *r = &s->rcpt[i];

        if (r->word == RCPT_DECIDED && cb.recipient != NULL)
            cb.recipient(cb.arg, i, &r->res);
    }
    if (s->failed && cb.failed != NULL)
        cb.failed(cb.arg, s->fail_status, s->fail_permanent, s->fail_reply, s->fail_dsn);
    free(s->rcpt);
    s->rcpt = NULL;
    free(s->txn);
    s->txn = NULL;
    s->busy = false;
    s->failed = false;
    memset(&s->cb, 0, sizeof s->cb);
    /* The caller may free s or start the next message in done(). */
    if (cb.done != NULL)
        cb.done(cb.arg);
}

/* end_transaction - the transaction is over: report from the loop */
static void
end_transaction(struct smtp_session *s)
{
    if (s->state == SMTP_S_QUIT) {
        /* a refused session saying goodbye: the QUIT reply closes it */
    } else if (s->conn != NULL && s->state != SMTP_S_CLOSED) {
        enter(s, SMTP_S_READY);
    } else {
        drop_conn(s);
        set_state(s, SMTP_S_CLOSED);
    }
    if (s->report == NULL
        && herald_timer_start(s->loop, 0, report_fire, s, &s->report) != HERALD_OK)
        s->report = NULL;   /* no timer: nothing else can run it; out of memory */
}

/* drop_conn - free the connection and what belongs to it (TLS, AUTH state) */
static void
drop_conn(struct smtp_session *s)
{
    smtp_tls_close_notify(s->tls);    /* while the socket is still open */
    smtp_conn_free(&s->conn);
    smtp_tls_free(&s->tls);           /* after the connection: it used the tls as ctx */
    s->starttls_refused = false;
    s->auth_done = false;
}

/* close_conn - drop the connection at once */
static void
close_conn(struct smtp_session *s)
{
    drop_conn(s);
    set_state(s, SMTP_S_CLOSED);
}

/* say_quit - QUIT, and wait for the reply; false when it cannot go out */
static bool
say_quit(struct smtp_session *s)
{
    if (command(s, "QUIT") != HERALD_OK)
        return false;
    enter(s, SMTP_S_QUIT);
    return smtp_conn_flush(s->conn) == HERALD_OK;
}

/*
 * hang_up - end the connection after a failure.  polite: the server is in
 * step and waits for a command (it refused something, or a policy of ours
 * did), so QUIT and wait for the 221 as RFC 5321 4.1.1.10 and RFC 3207 4.1
 * ask, bounded by the QUIT timeout; otherwise (I/O, timeout, grammar, a
 * broken TLS stream, 421) close at once.
 */
static void
hang_up(struct smtp_session *s, bool polite)
{
    if (polite && s->conn != NULL && s->state != SMTP_S_CONNECT
        && s->state != SMTP_S_BODY && s->state != SMTP_S_QUIT
        && (s->state != SMTP_S_TLS || smtp_tls_established(s->tls)) && say_quit(s))
        return;
    close_conn(s);
}

/* decide - the final word on recipient i */
static void
decide(struct smtp_session *s, size_t i, enum herald_result res, const char *reply,
       const char *dsn, bool possibly)
{
    struct rcpt_state *r = &s->rcpt[i];

    r->word = RCPT_DECIDED;
    r->res.result = res;
    r->res.possibly_delivered = possibly;
    /* What the final dot decided (or might have delivered) and a 5xx stand
     * whatever happens to a later transaction of the same message. */
    r->kept = res == HERALD_RESULT_FAILED || possibly || s->state == SMTP_S_DOT;
    /* txn_over() decides with the words the recipient already holds */
    if (reply != r->reply)
        snprintf(r->reply, sizeof r->reply, "%s", reply);
    if (dsn != r->dsn)
        snprintf(r->dsn, sizeof r->dsn, "%s", dsn);
}

/* result_of - what a 4xx/5xx reply class means for a recipient */
static enum herald_result
result_of(int code)
{
    return code >= 500 ? HERALD_RESULT_FAILED
           : code >= 400 ? HERALD_RESULT_DEFERRED : HERALD_RESULT_DELIVERED;
}

/*
 * session_fail - this hop did not take the message.  RCPT 5xx words stand;
 * every other recipient stays undecided, free to go to the next hop.
 */
static void
session_fail(struct smtp_session *s, herald_status why, bool permanent, const char *reply,
             const char *dsn, bool polite)
{
    size_t i;

    if (s->busy) {
        for (i = 0; i < s->msg.nrcpt; i++)
            if ((s->rcpt[i].word == RCPT_DECIDED && !s->rcpt[i].kept)
                || s->rcpt[i].word == RCPT_ACCEPTED)
                s->rcpt[i].word = RCPT_NONE;
    }
    s->failed = true;
    s->fail_status = why;
    s->fail_permanent = permanent;
    /* States before READY are only ever those of a new connection. */
    s->fail_early = s->state > SMTP_S_INIT && s->state < SMTP_S_READY;
    snprintf(s->fail_reply, sizeof s->fail_reply, "%s", reply);
    snprintf(s->fail_dsn, sizeof s->fail_dsn, "%s", dsn);
    herald_trace_log(s->trace, HERALD_TRACE_INFO, SUBSYS, "%s: session failed (%s): %s",
                     s->peer, permanent ? "permanent" : "temporary", reply);
    hang_up(s, polite);
    if (s->busy)
        end_transaction(s);
}

/* fail_reply_as - session failure caused by a reply; polite: QUIT before closing */
static void
fail_reply_as(struct smtp_session *s, const struct smtp_reply *r, const char *prefix,
              bool polite)
{
    char text[REPLY_TEXT_MAX], both[REPLY_TEXT_MAX + 64];

    reply_text(s, r, text, sizeof text);
    if (prefix != NULL)
        snprintf(both, sizeof both, "%s: %s", prefix, text);
    else
        snprintf(both, sizeof both, "%s", text);
    session_fail(s, HERALD_E_REJECTED, r->code >= 500, both, reply_dsn(r), polite);
}

/* fail_reply - session failure caused by a reply; QUIT unless it was a 421 */
static void
fail_reply(struct smtp_session *s, const struct smtp_reply *r, const char *prefix)
{
    fail_reply_as(s, r, prefix, r->code != 421);
}

/* fail_local - session failure with Herald's own words (timeouts, I/O, grammar) */
static void
fail_local(struct smtp_session *s, herald_status why, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void
fail_local(struct smtp_session *s, herald_status why, const char *fmt, ...)
{
    char text[REPLY_TEXT_MAX];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(text, sizeof text, fmt, ap);
    va_end(ap);
    session_fail(s, why, false, text, why == HERALD_E_TIMEOUT ? "4.4.2" : "4.4.0", false);
}

/* fail_tls - session failure for TLS or AUTH policy reasons: always
 * temporary; polite unless the TLS stream itself is broken */
static void
fail_tls(struct smtp_session *s, bool polite, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void
fail_tls(struct smtp_session *s, bool polite, const char *fmt, ...)
{
    char text[REPLY_TEXT_MAX];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(text, sizeof text, fmt, ap);
    va_end(ap);
    session_fail(s, HERALD_E_TLS, false, text, "4.7.0", polite);
}

/* flush - send what is queued; a write error fails the session */
static bool
flush(struct smtp_session *s)
{
    if (smtp_conn_flush(s->conn) != HERALD_OK) {
        fail_local(s, HERALD_E_IO, "%s", smtp_conn_error(s->conn));
        return false;
    }
    return true;
}

/*
 * await - what was queued goes out, and the session waits in st for the
 * reply; qst is how the queueing went: a failure fails the session with
 * that status ("cannot queue what: ...")
 */
static void
await(struct smtp_session *s, herald_status qst, enum smtp_state st, const char *what)
{
    if (qst != HERALD_OK) {
        fail_local(s, qst, "cannot queue %s: %s", what, herald_strerror(qst));
        return;
    }
    enter(s, st);
    (void)flush(s);
}

/* send_cmd - one command line, then wait in st for its reply (await) */
static void
send_cmd(struct smtp_session *s, enum smtp_state st, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void
send_cmd(struct smtp_session *s, enum smtp_state st, const char *fmt, ...)
{
    va_list ap;
    herald_status qst;

    va_start(ap, fmt);
    qst = vcommand(s, fmt, ap);
    va_end(ap);
    await(s, qst, st, smtp_state_name(st));
}

/* queue_rcpt - RCPT TO for recipient i, with its DSN parameters when offered */
static herald_status
queue_rcpt(struct smtp_session *s, size_t i)
{
    char params[SMTP_PARAMS_MAX];
    herald_status st = smtp_rcpt_params(&s->msg, i, s->ehlo.flags, params, sizeof params);

    if (st != HERALD_OK)
        return st;
    return command(s, "RCPT TO:<%s>%s", s->msg.rcpts[i], params);
}

/* refuse_transaction - every recipient failed with reply and dsn before
 * MAIL: what the server offers rules this message out */
static void
refuse_transaction(struct smtp_session *s, const char *reply, const char *dsn)
{
    size_t i;

    for (i = 0; i < s->msg.nrcpt; i++)
        if (s->rcpt[i].word == RCPT_NONE)
            decide(s, i, HERALD_RESULT_FAILED, reply, dsn, false);
    end_transaction(s);
}

/* txn_pick - the next transaction's recipients: those without a word, in
 * order, at most max_rcpt of them; how many */
static size_t
txn_pick(struct smtp_session *s)
{
    size_t i, n = 0, max = s->opts.max_rcpt != 0 ? s->opts.max_rcpt : MAX_RCPT_DEFAULT;

    for (i = 0; i < s->msg.nrcpt && n < max; i++)
        if (s->rcpt[i].word == RCPT_NONE)
            s->txn[n++] = i;
    return n;
}

/*
 * queue_rcpts - with PIPELINING, the next RCPTs of the transaction, until
 * RCPT_WINDOW octets wait to be sent (the rest when their replies are in:
 * no envelope is too large for the output queue), and DATA after the last.
 */
static herald_status
queue_rcpts(struct smtp_session *s)
{
    herald_status st = HERALD_OK;

    while (s->txn_queued < s->txn_n && smtp_conn_pending(s->conn) < RCPT_WINDOW
           && st == HERALD_OK)
        if ((st = queue_rcpt(s, s->txn[s->txn_queued])) == HERALD_OK)
            s->txn_queued++;
    if (st == HERALD_OK && s->txn_queued == s->txn_n && !s->data_queued) {
        st = command(s, "DATA");
        s->data_queued = st == HERALD_OK;
    }
    return st;
}

/* start_mail - MAIL FROM, and with PIPELINING the RCPTs and DATA too; rset:
 * RSET ahead of them in the same write (only with PIPELINING: next_mail) */
static void
start_mail(struct smtp_session *s, bool rset)
{
    const struct smtp_message *m = &s->msg;
    char params[SMTP_PARAMS_MAX];
    herald_status st;

    if ((s->ehlo.flags & SMTP_EXT_SIZE) && s->ehlo.size_max > 0 && m->size > s->ehlo.size_max) {
        /* The server said so: no point sending what it will refuse. */
        herald_trace_log(s->trace, HERALD_TRACE_INFO, SUBSYS,
                         "%s: message of %llu octets exceeds SIZE %llu: not sent", s->peer,
                         (unsigned long long)m->size, (unsigned long long)s->ehlo.size_max);
        refuse_transaction(s, TOO_LARGE, "5.3.4");
        return;
    }
    if (m->smtputf8 && !(s->ehlo.flags & SMTP_EXT_SMTPUTF8)) {
        /* RFC 6531 3.2: a UTF-8 address must not go to a server without
         * SMTPUTF8, and there is no downgrade for an address. */
        herald_trace_log(s->trace, HERALD_TRACE_INFO, SUBSYS,
                         "%s: an address is UTF-8 and the server does not offer SMTPUTF8: "
                         "not sent", s->peer);
        refuse_transaction(s, NO_SMTPUTF8, "5.6.7");
        return;
    }
    if (smtp_dsn_requested(m) && !(s->ehlo.flags & SMTP_EXT_DSN))
        herald_trace_log(s->trace, HERALD_TRACE_INFO, SUBSYS,
                         "%s: DSN not offered: NOTIFY, RET and ENVID are not passed on "
                         "(each recipient's outcome is still reported)", s->peer);
    s->downgrade = false;
    if (m->eight_bit && !(s->ehlo.flags & SMTP_EXT_8BITMIME)) {
        /* RFC 6152 3: convert to 7-bit MIME, or do not send at all. */
        if (s->opts.eightbit_downgrade == SMTP_8BIT_REFUSE) {
            herald_trace_log(s->trace, HERALD_TRACE_INFO, SUBSYS,
                             "%s: the body has 8-bit octets and the server does not offer "
                             "8BITMIME (eightbit_downgrade = refuse): not sent", s->peer);
            refuse_transaction(s, NO_8BITMIME, "5.6.3");
            return;
        }
        if (s->opts.eightbit_downgrade == SMTP_8BIT_SEND)
            /* The administrator's choice; say so, so that someone seeing
             * mangled text knows where it started. */
            herald_trace_log(s->trace, HERALD_TRACE_WARN, SUBSYS,
                             "%s: the body has 8-bit octets and the server does not offer "
                             "8BITMIME: sent unconverted", s->peer);
        else
            s->downgrade = true;
    }
    st = smtp_mail_params(m, s->ehlo.flags, params, sizeof params);
    if (st != HERALD_OK) {
        fail_local(s, st, "cannot build the MAIL parameters: %s", herald_strerror(st));
        return;
    }
    s->txn_n = txn_pick(s);
    if (s->txn_n == 0) {
        end_transaction(s);
        return;
    }
    s->txn_queued = s->txn_replied = 0;
    s->txn_limited = s->data_queued = false;
    s->accepted = 0;
    s->mail_failed = s->data_discard = false;
    s->pipelining = (s->ehlo.flags & SMTP_EXT_PIPELINING) != 0;
    s->transactions++;
    /* Only now, past every check that ends the transaction unsent: a RSET
     * queued for nothing would answer into an idle session. */
    st = rset ? command(s, "RSET") : HERALD_OK;
    s->rset_ahead = rset && st == HERALD_OK;
    if (st == HERALD_OK)
        st = command(s, "MAIL FROM:<%s>%s", m->sender, params);
    if (st == HERALD_OK && s->pipelining)
        st = queue_rcpts(s);
    await(s, st, s->rset_ahead ? SMTP_S_RSET : SMTP_S_MAIL, "the envelope");
}

/*
 * next_mail - another transaction on a connection that has had one: RSET
 * first.  With PIPELINING, RSET goes in the same write as MAIL, the RCPTs and
 * DATA (RFC 2920 3.1 allows it anywhere in a group), so a reused session
 * costs no round trip more than a new one; without it, MAIL waits for the
 * RSET reply.
 */
static void
next_mail(struct smtp_session *s)
{
    if (s->ehlo.flags & SMTP_EXT_PIPELINING)
        start_mail(s, true);
    else
        send_cmd(s, SMTP_S_RSET, "RSET");
}

/* tls_name - the name the certificate must carry: the hop's name, else the address */
static const char *
tls_name(const struct smtp_session *s)
{
    return s->tls_name[0] != '\0' ? s->tls_name : s->addr.text;
}

/* start_auth - AUTH with the best mechanism both sides allow */
static void
start_auth(struct smtp_session *s)
{
    char b64[SMTP_AUTH_B64_MAX];
    unsigned allowed = s->opts.auth_mechs != 0 ? s->opts.auth_mechs : SMTP_AUTH_ALL;
    herald_status st;

    if (s->opts.auth_require_tls != SMTP_AUTH_TLS_NONE && s->tls == NULL) {
        fail_tls(s, true, "AUTH not sent: the connection to %s is not encrypted "
                 "(auth.require_tls = %s)", s->peer,
                 s->opts.auth_require_tls == SMTP_AUTH_TLS_VERIFY ? "verify" : "encrypted");
        return;
    }
    if (s->opts.auth_require_tls == SMTP_AUTH_TLS_VERIFY && !smtp_tls_verified(s->tls)) {
        fail_tls(s, true, "AUTH not sent: the certificate of %s was not verified for %s: %s "
                 "(auth.require_tls = verify)", s->peer, tls_name(s),
                 smtp_tls_verify_text(s->tls));
        return;
    }
    s->auth_mech = smtp_auth_choose(&s->ehlo, allowed, s->opts.auth_token);
    if (s->auth_mech == 0) {
        fail_tls(s, true, "no usable AUTH mechanism: %s offers \"%s\"", s->peer, s->ehlo.auth);
        return;
    }
    s->auth_step = 0;
    switch (s->auth_mech) {
    case SMTP_AUTH_PLAIN:
        st = smtp_auth_plain(s->opts.auth_user, s->opts.auth_secret, b64, sizeof b64);
        if (st == HERALD_OK)
            st = command_secret(s, "AUTH PLAIN <redacted>", "AUTH PLAIN ", b64);
        break;
    case SMTP_AUTH_XOAUTH2:
        st = smtp_auth_xoauth2(s->opts.auth_user, s->opts.auth_secret, b64, sizeof b64);
        if (st == HERALD_OK)
            st = command_secret(s, "AUTH XOAUTH2 <redacted>", "AUTH XOAUTH2 ", b64);
        break;
    default:
        st = command(s, "AUTH LOGIN");
        break;
    }
    mbedtls_platform_zeroize(b64, sizeof b64);
    await(s, st, SMTP_S_AUTH, "AUTH");
}

/* auth_reply - one reply in the AUTH exchange */
static void
auth_reply(struct smtp_session *s, const struct smtp_reply *r)
{
    char b64[SMTP_AUTH_B64_MAX];
    herald_status st;

    if (r->code == 235) {
        herald_trace_log(s->trace, HERALD_TRACE_INFO, SUBSYS,
                         "%s: authenticated with %s", s->peer, smtp_auth_name(s->auth_mech));
        s->auth_done = true;
        enter(s, SMTP_S_READY);
        start_mail(s, false);
        return;
    }
    if (r->code == 334 && s->auth_mech == SMTP_AUTH_LOGIN && s->auth_step < 2) {
        st = smtp_auth_b64(s->auth_step == 0 ? s->opts.auth_user : s->opts.auth_secret, b64,
                           sizeof b64);
        if (st == HERALD_OK)
            st = command_secret(s, "<redacted>", "", b64);
        mbedtls_platform_zeroize(b64, sizeof b64);
        s->auth_step++;
        await(s, st, SMTP_S_AUTH, "AUTH LOGIN");
        return;
    }
    if (r->code == 334 && s->auth_mech == SMTP_AUTH_XOAUTH2 && s->auth_step == 0) {
        /* RFC 7628-style error challenge: an empty line gets the final reply. */
        s->auth_step++;
        send_cmd(s, SMTP_S_AUTH, "%s", "");
        return;
    }
    if (smtp_reply_class(r) == 4 || smtp_reply_class(r) == 5) {
        /* A rotated password or a glitch in the relay's auth backend: defer
         * (Postfix's smtp_sasl_auth_soft_bounce), never bounce the queue. */
        char text[REPLY_TEXT_MAX], why[2 * REPLY_TEXT_MAX], dsn[16];

        reply_text(s, r, text, sizeof text);
        snprintf(why, sizeof why, "authentication refused by %s (AUTH %s): %s", s->peer,
                 smtp_auth_name(s->auth_mech), text);
        snprintf(dsn, sizeof dsn, "4%s", reply_dsn(r)[0] != '\0' ? reply_dsn(r) + 1 : ".7.0");
        herald_trace_log(s->trace, HERALD_TRACE_WARN, SUBSYS,
                         "%s: authentication refused (AUTH %s): deferred", s->peer,
                         smtp_auth_name(s->auth_mech));
        session_fail(s, HERALD_E_REJECTED, false, why, dsn, true);
        return;
    }
    fail_local(s, HERALD_E_PROTOCOL, "unexpected reply to AUTH %s (code %d)",
               smtp_auth_name(s->auth_mech), r->code);
}

/* proceed - TLS is settled: AUTH when configured and not done, else MAIL */
static void
proceed(struct smtp_session *s)
{
    enter(s, SMTP_S_READY);
    if (s->opts.auth_user != NULL && s->opts.auth_secret != NULL && !s->auth_done)
        start_auth(s);
    else
        start_mail(s, false);
}

/*
 * tls_failed - the handshake failed.  Under opportunistic STARTTLS the hop
 * is tried again once in clear text on a new connection (what "carry on in
 * clear" means for a server whose TLS is broken); otherwise the session fails.
 */
static void
tls_failed(struct smtp_session *s)
{
    char why[REPLY_TEXT_MAX];
    struct herald_diag diag;
    herald_status st;

    snprintf(why, sizeof why, "%s with %s (verification: %s)",
             smtp_tls_error(s->tls)[0] != '\0' ? smtp_tls_error(s->tls) : "TLS handshake failed",
             s->peer, smtp_tls_verify_text(s->tls));
    if (s->opts.tls_policy != SMTP_TLS_OPPORTUNISTIC || s->opts.implicit_tls
        || s->tls_fell_back || !s->busy) {
        fail_tls(s, false, "%s", why);
        return;
    }
    herald_trace_log(s->trace, HERALD_TRACE_INFO, SUBSYS,
                     "%s: %s: reconnecting to continue in clear text", s->peer, why);
    s->tls_fell_back = true;
    drop_conn(s);
    smtp_reply_parser_init(&s->parser);
    smtp_ehlo_clear(&s->ehlo);
    s->transactions = 0;
    set_state(s, SMTP_S_CONNECT);
    st = open_conn(s, &diag);
    if (st != HERALD_OK)
        fail_local(s, HERALD_E_CONNECT, "%s", diag.text);
}

/* open_conn - connect to the hop; over the test's wire when one was given */
static herald_status
open_conn(struct smtp_session *s, struct herald_diag *diag)
{
    herald_status st;
    int fd = s->wire_fd;

    if (fd < 0)
        return smtp_conn_new(s->loop, &s->addr, s->port, s->opts.connect_ms, on_conn, s,
                             &s->conn, diag);
    s->wire_fd = -1;                  /* taken over, even on failure */
    st = smtp_conn_adopt(s->loop, fd, s->peer, on_conn, s, &s->conn, diag);
    if (st == HERALD_OK && s->wire_ops != NULL)
        smtp_conn_set_stream(s->conn, s->wire_ops, s->wire_ctx);
    if (st == HERALD_OK)
        (void)smtp_conn_set_timeout(s->conn, s->opts.connect_ms);
    return st;
}

/* on_tls_done - the handshake ended: trace it, check it, greet again */
static void
on_tls_done(void *arg)
{
    struct smtp_session *s = arg;
    char desc[160], subject[256], issuer[256];

    if (s->state != SMTP_S_TLS || s->tls == NULL)
        return;
    if (!smtp_tls_established(s->tls)) {
        tls_failed(s);
        after_event(s);
        return;
    }
    smtp_tls_describe(s->tls, desc, sizeof desc);
    smtp_tls_peer_names(s->tls, subject, sizeof subject, issuer, sizeof issuer);
    herald_trace_log(s->trace, HERALD_TRACE_INFO, SUBSYS, "%s: TLS established: %s", s->peer,
                     desc);
    herald_trace_log(s->trace, HERALD_TRACE_INFO, SUBSYS,
                     "%s: peer certificate subject \"%s\", issuer \"%s\"", s->peer, subject,
                     issuer);
    herald_trace_log(s->trace, HERALD_TRACE_INFO, SUBSYS,
                     "%s: certificate verification for %s: %s", s->peer, tls_name(s),
                     smtp_tls_verify_text(s->tls));
    if (s->opts.tls_policy == SMTP_TLS_VERIFY && !smtp_tls_verified(s->tls)) {
        fail_tls(s, true, "certificate verification failed for %s (%s): %s", tls_name(s), s->peer,
                 smtp_tls_verify_text(s->tls));
        after_event(s);
        return;
    }
    if (s->implicit_pending) {
        s->implicit_pending = false;
        enter(s, SMTP_S_GREETING);    /* the greeting comes over TLS */
        read_replies(s);              /* it may be here already */
        after_event(s);
        return;
    }
    /* RFC 3207 4.2: forget what was learned in clear and ask again. */
    smtp_ehlo_clear(&s->ehlo);
    send_cmd(s, SMTP_S_EHLO, "EHLO %s", s->helo);
    after_event(s);
}

/* begin_tls - start the handshake on the open connection */
static void
begin_tls(struct smtp_session *s)
{
    size_t junk = 0;
    herald_status st;

    /* Anything that came after the 220 was sent before TLS: never read it as a reply. */
    (void)smtp_conn_input(s->conn, &junk);
    if (junk > 0) {
        herald_trace_log(s->trace, HERALD_TRACE_WARN, SUBSYS,
                         "%s: discarding %zu octets received before the TLS handshake",
                         s->peer, junk);
        smtp_conn_consume(s->conn, junk);
    }
    smtp_reply_parser_init(&s->parser);
    st = smtp_tls_new(s->opts.tls_config, s->loop, smtp_conn_fd(s->conn), tls_name(s),
                      on_tls_done, s, &s->tls);
    if (st != HERALD_OK) {
        fail_tls(s, false, "cannot set up TLS for %s: %s", s->peer, herald_strerror(st));
        return;
    }
    smtp_conn_set_stream(s->conn, smtp_tls_stream(), s->tls);
    herald_trace_log(s->trace, HERALD_TRACE_INFO, SUBSYS, "%s: TLS handshake (server name %s)",
                     s->peer, tls_name(s));
    enter(s, SMTP_S_TLS);
    if (smtp_tls_start(s->tls) != HERALD_OK)
        tls_failed(s);                /* the peer's answer may be here already */
}

/* after_ehlo - the extensions are known: STARTTLS first when the policy says so */
static void
after_ehlo(struct smtp_session *s)
{
    int policy = s->opts.tls_policy;
    bool must = policy >= SMTP_TLS_REQUIRED;

    enter(s, SMTP_S_READY);
    if (s->tls == NULL && policy != SMTP_TLS_NONE) {
        if (s->opts.tls_config == NULL && must) {
            fail_tls(s, true, "TLS is required but not set up for this device");
            return;
        }
        if (s->opts.tls_config != NULL && (s->ehlo.flags & SMTP_EXT_STARTTLS)
            && !s->starttls_refused && !s->tls_fell_back) {
            send_cmd(s, SMTP_S_STARTTLS, "STARTTLS");
            return;
        }
        if (must) {
            fail_tls(s, true, "TLS is required but %s does not offer STARTTLS: no mail in clear",
                     s->peer);
            return;
        }
        herald_trace_log(s->trace, HERALD_TRACE_INFO, SUBSYS,
                         "%s: no TLS (STARTTLS %s): continuing in clear text", s->peer,
                         s->tls_fell_back ? "failed earlier"
                         : s->starttls_refused ? "refused" : "not offered");
    }
    proceed(s);
}

static void everyone_from_mail(struct smtp_session *s);

/*
 * txn_over - one transaction of the message is over.  A recipient the
 * server had no room for (452, or the legacy 552: RFC 5321 4.5.3.1.10) goes
 * into the next transaction, on the same connection, as long as each
 * transaction takes somebody (else it is deferred with that reply: the
 * loop ends).  clean: the server ended the transaction itself (the reply to
 * the dot), else RSET first.
 */
static void
txn_over(struct smtp_session *s, bool clean)
{
    size_t k, left = 0;

    for (k = 0; k < s->txn_n; k++) {
        struct rcpt_state *r = &s->rcpt[s->txn[k]];

        if (r->word == RCPT_NONE && r->retry && s->accepted == 0)
            decide(s, s->txn[k], HERALD_RESULT_DEFERRED, r->reply, r->dsn, false);
        r->retry = false;
    }
    for (k = 0; k < s->msg.nrcpt; k++)
        left += s->rcpt[k].word == RCPT_NONE;
    if (left == 0 || s->conn == NULL || s->state == SMTP_S_CLOSED) {
        end_transaction(s);
        return;
    }
    herald_trace_log(s->trace, HERALD_TRACE_INFO, SUBSYS,
                     "%s: %zu recipient%s left: another transaction", s->peer, left,
                     left == 1 ? "" : "s");
    if (clean) {
        enter(s, SMTP_S_READY);
        start_mail(s, false);
        return;
    }
    next_mail(s);
}

/* after_rcpts - every RCPT reply is in: DATA, or end without a recipient */
static void
after_rcpts(struct smtp_session *s)
{
    if (s->data_queued) {
        enter(s, SMTP_S_DATA);       /* DATA went with the envelope */
        return;
    }
    if (s->mail_failed) {
        everyone_from_mail(s);
        txn_over(s, false);
        return;
    }
    if (s->accepted == 0) {
        txn_over(s, false);
        return;
    }
    send_cmd(s, SMTP_S_DATA, "DATA");
}

/*
 * read_downgraded - up to cap octets of the body converted to 7-bit MIME;
 * *n_out == 0 at its end.  Each round either converts, reads or finishes,
 * and every one of them moves on, so the loop ends.
 */
static herald_status
read_downgraded(struct smtp_session *s, char *buf, size_t cap, size_t *n_out)
{
    struct body_downgrade *d = s->down;
    size_t used = 0, n = 0;
    bool done = false;
    herald_status st;

    for (;;) {
        if (d->src_off < d->src_len) {
            st = mime7_convert(&d->conv, d->src + d->src_off, d->src_len - d->src_off, buf, cap,
                               &used, &n);
            d->src_off += used;
            if (st != HERALD_OK || n > 0)
                break;
        } else if (!d->src_eof) {
            st = s->msg.read(s->msg.read_arg, d->src, sizeof d->src, &n);
            if (st != HERALD_OK)
                return st;
            d->src_off = 0;
            d->src_len = n > sizeof d->src ? sizeof d->src : n;
            d->src_eof = n == 0;
        } else {
            st = mime7_finish(&d->conv, buf, cap, &n, &done);
            if (st != HERALD_OK || n > 0 || done)
                break;
        }
    }
    *n_out = n;
    return st;
}

/* trace_downgrade - what the converter made of the body, once it is sent */
static void
trace_downgrade(struct smtp_session *s)
{
    const struct mime7_conv *c = &s->down->conv;
    char why[256] = "";
    unsigned bit;

    if (c->converted > 0)
        herald_trace_log(s->trace, HERALD_TRACE_INFO, SUBSYS,
                         "%s: 8BITMIME not offered: body converted to quoted-printable "
                         "(%lu part%s)", s->peer, c->converted, c->converted == 1 ? "" : "s");
    if (c->problems == 0)
        return;
    for (bit = 1; bit <= MIME7_P__ALL; bit <<= 1) {
        size_t len = strlen(why);

        if (c->problems & bit)
            snprintf(why + len, sizeof why - len, "%s%s", len > 0 ? "; " : "",
                     mime7_problem_text(bit));
    }
    herald_trace_log(s->trace, HERALD_TRACE_WARN, SUBSYS,
                     "%s: the body has 8-bit octets and the server does not offer 8BITMIME: "
                     "%s%s: sent unconverted", s->peer,
                     c->converted > 0 ? "not fully converted: " : "", why);
}

/*
 * dot_handed_over - the final dot has left user space: every octet queued,
 * the dot last, was taken by the kernel (or the TLS layer).  Only from then
 * on may the server have the message, so only then is a loss "possibly
 * delivered"; before, the next hop is right.
 */
static bool
dot_handed_over(const struct smtp_session *s)
{
    return s->state == SMTP_S_BODY && s->enc.finished && s->conn != NULL
           && smtp_conn_pending(s->conn) == 0;
}

/* body_check_sent - wait for the final reply once the dot is handed over */
static void
body_check_sent(struct smtp_session *s)
{
    if (dot_handed_over(s))
        enter(s, SMTP_S_DOT);
}

/* fill_body - read, encode and queue the body up to the high-water mark */
static void
fill_body(struct smtp_session *s)
{
    unsigned rounds = 0;

    while (s->state == SMTP_S_BODY && !s->enc.finished
           && smtp_conn_pending(s->conn) < BODY_HIGH_WATER && rounds++ < 64) {
        size_t used = 0, n = 0, room = 0;
        herald_status st;
        char *out;

        if (s->raw_off == s->raw_len && !s->body_eof) {
            st = s->downgrade ? read_downgraded(s, s->raw, sizeof s->raw, &n)
                              : s->msg.read(s->msg.read_arg, s->raw, sizeof s->raw, &n);
            if (st != HERALD_OK) {
                fail_local(s, st, "cannot read the message body: %s", herald_strerror(st));
                return;
            }
            s->raw_off = 0;
            s->raw_len = n > sizeof s->raw ? sizeof s->raw : n;
            s->body_eof = n == 0;
        }
        /* Encoded straight into the connection's output: no copy between. */
        out = smtp_conn_reserve(s->conn, BODY_OUT_MAX, &room);
        if (out == NULL) {
            st = HERALD_E_NOMEM;
        } else if (s->raw_off < s->raw_len) {
            st = smtp_body_encode(&s->enc, s->raw + s->raw_off, s->raw_len - s->raw_off, out,
                                  room - SMTP_BODY_FINISH_MAX, &used, &n);
            s->raw_off += used;
        } else {
            st = smtp_body_finish(&s->enc, out, room, &n);
        }
        if (st == HERALD_OK)
            smtp_conn_commit(s->conn, n);
        if (st != HERALD_OK) {
            fail_local(s, st, "cannot queue the body: %s", herald_strerror(st));
            return;
        }
        s->body_octets += n;
        if (s->enc.finished) {
            herald_trace_log(s->trace, HERALD_TRACE_INFO, SUBSYS,
                             "C: (message body, %llu octets on the wire)",
                             (unsigned long long)s->body_octets);
            herald_trace_log(s->trace, HERALD_TRACE_INFO, SUBSYS, "C: .");
            if (s->downgrade)
                trace_downgrade(s);
        }
    }
    /* Each block that goes out re-arms the block timeout. */
    if (s->state == SMTP_S_BODY)
        (void)smtp_conn_set_timeout(s->conn, s->opts.block_ms);
    if (flush(s))
        body_check_sent(s);
}

/* start_body - 354: stream the body from its start */
static void
start_body(struct smtp_session *s)
{
    smtp_body_init(&s->enc);
    s->raw_len = s->raw_off = 0;
    if (s->downgrade) {
        if (s->down == NULL)
            s->down = malloc(sizeof *s->down);
        if (s->down == NULL) {
            fail_local(s, HERALD_E_NOMEM, "cannot convert the body to 7-bit: out of memory");
            return;
        }
        mime7_init(&s->down->conv);
        s->down->src_len = s->down->src_off = 0;
        s->down->src_eof = false;
    }
    s->body_eof = false;
    s->body_octets = 0;
    enter(s, SMTP_S_BODY);
    fill_body(s);
}

/* everyone_from_mail - a refused MAIL decides every recipient */
static void
everyone_from_mail(struct smtp_session *s)
{
    size_t i;
    int code = atoi(s->mail_reply);

    for (i = 0; i < s->msg.nrcpt; i++)
        if (s->rcpt[i].word == RCPT_NONE)
            decide(s, i, result_of(code), s->mail_reply, s->mail_dsn, false);
}

/*
 * One handler per state that waits for a reply: r is the complete reply,
 * text its kept line (printable, credentials redacted).  A 421 before the
 * dot never reaches them (on_reply); a state without a handler waits for no
 * reply, and one arriving there puts the peer out of step.
 */
typedef void (*reply_fn)(struct smtp_session *s, const struct smtp_reply *r, const char *text);

/* reply_greeting - 220: EHLO */
static void
reply_greeting(struct smtp_session *s, const struct smtp_reply *r, const char *text)
{
    (void)text;
    if (smtp_reply_class(r) != 2)
        fail_reply(s, r, NULL);
    else
        send_cmd(s, SMTP_S_EHLO, "EHLO %s", s->helo);
}

/* reply_ehlo - the extensions; a 5xx says the server only speaks HELO */
static void
reply_ehlo(struct smtp_session *s, const struct smtp_reply *r, const char *text)
{
    (void)text;
    switch (smtp_reply_class(r)) {
    case 2:
        (void)smtp_ehlo_parse(r, &s->ehlo);
        after_ehlo(s);
        return;
    case 5:
        send_cmd(s, SMTP_S_HELO, "HELO %s", s->helo);
        return;
    default:
        fail_reply(s, r, NULL);
        return;
    }
}

/* reply_helo - greeted without extensions */
static void
reply_helo(struct smtp_session *s, const struct smtp_reply *r, const char *text)
{
    (void)text;
    if (smtp_reply_class(r) == 2) {
        smtp_ehlo_clear(&s->ehlo);
        after_ehlo(s);
    } else {
        fail_reply(s, r, "EHLO and HELO refused");
    }
}

/* reply_starttls - 220: the handshake; a refusal is fatal only when TLS is a must */
static void
reply_starttls(struct smtp_session *s, const struct smtp_reply *r, const char *text)
{
    if (r->code == 220) {
        begin_tls(s);
    } else if (s->opts.tls_policy >= SMTP_TLS_REQUIRED) {
        fail_tls(s, true, "TLS is required but %s refused STARTTLS: %s", s->peer, text);
    } else {
        s->starttls_refused = true;
        after_ehlo(s);
    }
}

/* reply_auth - one step of the AUTH exchange */
static void
reply_auth(struct smtp_session *s, const struct smtp_reply *r, const char *text)
{
    (void)text;
    auth_reply(s, r);
}

/*
 * reply_rset - the session is clean for the next transaction.  When MAIL went
 * behind the RSET, its reply is next; a refused RSET then closes at once:
 * the replies to MAIL, the RCPTs and DATA are on their way and cannot be
 * told from a QUIT's (after a 354, QUIT would even be read as body text).
 */
static void
reply_rset(struct smtp_session *s, const struct smtp_reply *r, const char *text)
{
    bool ahead = s->rset_ahead;

    (void)text;
    s->rset_ahead = false;
    if (smtp_reply_class(r) == 2) {
        if (ahead)
            enter(s, SMTP_S_MAIL);
        else
            start_mail(s, false);
        return;
    }
    fail_reply_as(s, r, "RSET refused", !ahead && r->code != 421);
}

/* reply_mail - kept for every recipient should it be a refusal; the RCPTs next */
static void
reply_mail(struct smtp_session *s, const struct smtp_reply *r, const char *text)
{
    snprintf(s->mail_reply, sizeof s->mail_reply, "%s", text);
    snprintf(s->mail_dsn, sizeof s->mail_dsn, "%s", reply_dsn(r));
    s->mail_failed = smtp_reply_class(r) != 2;
    if (s->pipelining) {
        enter(s, SMTP_S_RCPT);   /* the replies to the RCPTs follow */
        return;
    }
    if (s->mail_failed) {
        everyone_from_mail(s);
        txn_over(s, false);
        return;
    }
    s->txn_queued = 1;
    await(s, queue_rcpt(s, s->txn[0]), SMTP_S_RCPT, "RCPT");
}

/* rcpt_word - the server's word on recipient i of this transaction */
static void
rcpt_word(struct smtp_session *s, size_t i, const struct smtp_reply *r, const char *text)
{
    int cls = smtp_reply_class(r);

    if (cls == 2) {
        s->rcpt[i].word = RCPT_ACCEPTED;
        s->accepted++;
    } else if (r->code == 452 || r->code == 552) {
        /* Over the server's recipient limit: the next transaction
         * (552 here is the legacy form, RFC 5321 4.5.3.1.10). */
        s->rcpt[i].retry = true;
        s->txn_limited = true;
        snprintf(s->rcpt[i].reply, sizeof s->rcpt[i].reply, "%s", text);
        snprintf(s->rcpt[i].dsn, sizeof s->rcpt[i].dsn, "4%s",
                 reply_dsn(r)[0] != '\0' ? reply_dsn(r) + 1 : ".5.3");
    } else {
        decide(s, i, cls == 5 ? HERALD_RESULT_FAILED : HERALD_RESULT_DEFERRED, text,
               reply_dsn(r), false);
    }
}

/* reply_rcpt - one RCPT reply, in order; more RCPTs, DATA, or the end */
static void
reply_rcpt(struct smtp_session *s, const struct smtp_reply *r, const char *text)
{
    herald_status st;

    if (s->txn_replied >= s->txn_queued) {
        fail_local(s, HERALD_E_PROTOCOL, "unexpected reply while %s: %s",
                   state_doing[s->state], text);
        return;
    }
    if (s->mail_failed)
        s->txn_replied++;             /* MAIL's refusal decides them all */
    else
        rcpt_word(s, s->txn[s->txn_replied++], r, text);
    if (s->txn_replied < s->txn_queued)
        return;                       /* more replies of this window to come */
    if (s->txn_queued < s->txn_n && (s->txn_limited || s->mail_failed)) {
        /* No point asking for more: the rest wait for the next transaction. */
        s->txn_n = s->txn_queued;
    }
    if (s->txn_queued == s->txn_n) {
        after_rcpts(s);
        return;
    }
    st = s->pipelining ? queue_rcpts(s) : queue_rcpt(s, s->txn[s->txn_queued]);
    if (st == HERALD_OK && !s->pipelining)
        s->txn_queued++;
    await(s, st, SMTP_S_RCPT, "RCPT");
}

/* reply_data - 354: the body, or a bare dot when nobody is left to take it */
static void
reply_data(struct smtp_session *s, const struct smtp_reply *r, const char *text)
{
    int cls = smtp_reply_class(r);
    size_t i;

    if (r->code == 354) {
        if (s->mail_failed || s->accepted == 0) {
            /* Pipelined DATA went through with nobody to deliver to: end it empty. */
            s->data_discard = true;
            send_cmd(s, SMTP_S_DOT, ".");
            return;
        }
        start_body(s);
        return;
    }
    if (s->mail_failed) {
        everyone_from_mail(s);
    } else if (cls == 4 || cls == 5) {
        for (i = 0; i < s->msg.nrcpt; i++)
            if (s->rcpt[i].word == RCPT_ACCEPTED)
                decide(s, i, result_of(r->code), text, reply_dsn(r), false);
    } else if (s->accepted > 0) {
        /* A 2xx to DATA breaks the protocol: we cannot know what it took. */
        fail_local(s, HERALD_E_PROTOCOL, "unexpected reply to DATA: %s", text);
        return;
    }
    txn_over(s, false);
}

/* reply_dot - the server's word on the message, for every accepted recipient */
static void
reply_dot(struct smtp_session *s, const struct smtp_reply *r, const char *text)
{
    size_t i;

    if (s->data_discard) {
        if (s->mail_failed)
            everyone_from_mail(s);
    } else {
        for (i = 0; i < s->msg.nrcpt; i++)
            if (s->rcpt[i].word == RCPT_ACCEPTED)
                decide(s, i, result_of(r->code), text, reply_dsn(r), false);
    }
    txn_over(s, true);
}

/* reply_quit - whatever the server says to QUIT, the session is over */
static void
reply_quit(struct smtp_session *s, const struct smtp_reply *r, const char *text)
{
    (void)r;
    (void)text;
    close_conn(s);
}

static const reply_fn reply_in[SMTP_S__LAST] = {
    [SMTP_S_GREETING] = reply_greeting,
    [SMTP_S_EHLO] = reply_ehlo,
    [SMTP_S_HELO] = reply_helo,
    [SMTP_S_STARTTLS] = reply_starttls,
    [SMTP_S_AUTH] = reply_auth,
    [SMTP_S_RSET] = reply_rset,
    [SMTP_S_MAIL] = reply_mail,
    [SMTP_S_RCPT] = reply_rcpt,
    [SMTP_S_DATA] = reply_data,
    [SMTP_S_DOT] = reply_dot,
    [SMTP_S_QUIT] = reply_quit,
};

/* on_reply - one complete reply: to the handler of the current state */
static void
on_reply(struct smtp_session *s, const struct smtp_reply *r)
{
    char text[REPLY_TEXT_MAX];

    trace_reply(s, r);
    reply_text(s, r, text, sizeof text);
    /* 421 anywhere before the dot: the server is closing the session. */
    if (r->code == 421 && s->state != SMTP_S_DOT && s->state != SMTP_S_QUIT) {
        fail_reply(s, r, NULL);
        return;
    }
    if (reply_in[s->state] == NULL) {
        /* A reply nobody asked for (in BODY, READY ...): the peer is out of step. */
        fail_local(s, HERALD_E_PROTOCOL, "unexpected reply while %s: %s",
                   state_doing[s->state], text);
        return;
    }
    reply_in[s->state](s, r, text);
}

/* read_replies - parse what arrived, one reply at a time, bounded by the input */
static void lost(struct smtp_session *s, herald_status why, const char *what);

/* past_the_dot - the final dot of a real body has left Herald: from here
 * on the server may hold the message, whatever goes wrong */
static bool
past_the_dot(const struct smtp_session *s)
{
    return (s->state == SMTP_S_DOT && !s->data_discard) || dot_handed_over(s);
}

static void
read_replies(struct smtp_session *s)
{
    unsigned guard = 0;

    while (s->conn != NULL && guard++ < SMTP_CONN_IN_MAX + 1) {
        size_t len, used;
        const char *in = smtp_conn_input(s->conn, &len);
        bool complete;
        herald_status st;

        if (len == 0 || s->state == SMTP_S_TLS)
            return;                   /* in TLS: held until the handshake is checked */
        body_check_sent(s);           /* the reply to the dot may beat DRAINED */
        if (s->state == SMTP_S_READY || s->state == SMTP_S_CLOSED) {
            /* Nothing was asked: the connection can no longer be trusted for reuse. */
            herald_trace_log(s->trace, HERALD_TRACE_INFO, SUBSYS,
                             "%s: unexpected data while idle: closing", s->peer);
            close_conn(s);
            return;
        }
        st = smtp_reply_feed(&s->parser, in, len, &used, &complete);
        smtp_conn_consume(s->conn, used);
        if (st != HERALD_OK) {
            if (past_the_dot(s)) {
                /* The server has the whole message and may have taken it:
                 * a garbled word on it is no refusal, so no other hop. */
                char what[REPLY_TEXT_MAX];

                snprintf(what, sizeof what, "bad reply (%s)", smtp_reply_error(&s->parser));
                lost(s, HERALD_E_PROTOCOL, what);
                return;
            }
            fail_local(s, HERALD_E_PROTOCOL, "bad reply from %s while %s: %s", s->peer,
                       state_doing[s->state], smtp_reply_error(&s->parser));
            return;
        }
        if (!complete)
            return;
        on_reply(s, smtp_reply_get(&s->parser));
    }
}

/* lost - the connection ended (EOF, error or timeout) in the current state */
static void
lost(struct smtp_session *s, herald_status why, const char *what)
{
    size_t i;

    if (past_the_dot(s)) {
        /* The server may have the message: defer, and never hand it to another hop. */
        char text[REPLY_TEXT_MAX];

        snprintf(text, sizeof text, "%s after the final dot (possibly delivered)", what);
        herald_trace_log(s->trace, HERALD_TRACE_WARN, SUBSYS, "%s: %s", s->peer, text);
        for (i = 0; i < s->msg.nrcpt; i++)
            if (s->rcpt[i].word == RCPT_ACCEPTED)
                decide(s, i, HERALD_RESULT_DEFERRED, text,
                       why == HERALD_E_TIMEOUT ? "4.4.2" : "4.4.0", true);
        close_conn(s);
        end_transaction(s);
        return;
    }
    if (s->state == SMTP_S_TLS && s->tls != NULL && why != HERALD_E_TIMEOUT) {
        tls_failed(s);
        return;
    }
    if (s->state == SMTP_S_QUIT || s->state == SMTP_S_READY || !s->busy) {
        herald_trace_log(s->trace, HERALD_TRACE_DEBUG, SUBSYS, "%s: closed while %s: %s",
                         s->peer, state_doing[s->state], what);
        close_conn(s);
        return;
    }
    fail_local(s, why, "%s while %s", what, state_doing[s->state]);
}

/* quit_fire - tell the caller the session is closed */
static void
quit_fire(void *arg)
{
    struct smtp_session *s = arg;
    void (*fn)(void *) = s->quit_fn;

    herald_timer_cancel(&s->quit_timer);
    s->quit_fn = NULL;
    if (fn != NULL)
        fn(s->quit_arg);
}

/* after_event - run the quit callback once the connection is gone */
static void
after_event(struct smtp_session *s)
{
    if (s->state == SMTP_S_CLOSED && s->quit_fn != NULL && s->quit_timer == NULL)
        (void)herald_timer_start(s->loop, 0, quit_fire, s, &s->quit_timer);
}

/* on_conn - events from the connection */
static void
on_conn(void *arg, enum smtp_conn_event ev)
{
    struct smtp_session *s = arg;
    char what[200];

    switch (ev) {
    case SMTP_CONN_CONNECTED:
        herald_trace_log(s->trace, HERALD_TRACE_INFO, SUBSYS, "connected to %s", s->peer);
        s->connected_pending = true;
        if (s->opts.implicit_tls) {
            s->implicit_pending = true;
            begin_tls(s);
        } else {
            enter(s, SMTP_S_GREETING);
        }
        break;
    case SMTP_CONN_INPUT:
        read_replies(s);
        break;
    case SMTP_CONN_DRAINED:
        if (s->state == SMTP_S_BODY)
            fill_body(s);
        break;
    case SMTP_CONN_CLOSED:
        lost(s, HERALD_E_IO, "connection closed by the server");
        break;
    case SMTP_CONN_ERROR:
        if (s->state == SMTP_S_CONNECT) {
            herald_trace_log(s->trace, HERALD_TRACE_INFO, SUBSYS, "%s: %s", s->peer,
                             smtp_conn_error(s->conn));
            snprintf(what, sizeof what, "%s", smtp_conn_error(s->conn));
            fail_local(s, HERALD_E_CONNECT, "cannot connect to %s: %s", s->peer, what);
            break;
        }
        snprintf(what, sizeof what, "%s", smtp_conn_error(s->conn));
        lost(s, HERALD_E_IO, what);
        break;
    case SMTP_CONN_TIMEOUT:
        snprintf(what, sizeof what, "timeout (%s)", s->state == SMTP_S_CONNECT
                 ? "connect" : smtp_state_name(s->state));
        herald_trace_log(s->trace, HERALD_TRACE_INFO, SUBSYS, "%s: %s while %s", s->peer, what,
                         state_doing[s->state]);
        lost(s, HERALD_E_TIMEOUT, what);
        break;
    }
    after_event(s);
}

/* smtp_session_new - a session for addr:port */
herald_status
smtp_session_new(struct herald_loop *loop, const struct herald_trace *trace,
                 const struct herald_address *addr, uint16_t port,
                 const struct smtp_session_opts *opts, struct smtp_session **s_out)
{
    struct smtp_session *s;

    if (loop == NULL || addr == NULL || port == 0 || s_out == NULL)
        return HERALD_E_INVAL;
    if (opts != NULL && opts->helo_name != NULL
        && (opts->helo_name[0] == '\0' || strlen(opts->helo_name) >= 256
            || !clean_text(opts->helo_name, false) || strchr(opts->helo_name, ' ') != NULL))
        return HERALD_E_INVAL;
    s = calloc(1, sizeof *s);
    if (s == NULL)
        return HERALD_E_NOMEM;
    s->loop = loop;
    s->trace = trace;
    s->addr = *addr;
    s->port = port;
    if (opts != NULL)
        s->opts = *opts;
    else
        smtp_session_opts_init(&s->opts);
    if (s->opts.helo_name != NULL)
        snprintf(s->helo, sizeof s->helo, "%s", s->opts.helo_name);
    else
        smtp_default_helo_name(s->helo, sizeof s->helo);
    s->opts.helo_name = NULL;         /* the copy in s->helo is the one used */
    if (addr->sa.ss_family == AF_INET6)
        snprintf(s->peer, sizeof s->peer, "[%s]:%u", addr->text, (unsigned)port);
    else
        snprintf(s->peer, sizeof s->peer, "%s:%u", addr->text, (unsigned)port);
    s->state = SMTP_S_INIT;
    s->wire_fd = -1;
    smtp_ehlo_clear(&s->ehlo);
    smtp_reply_parser_init(&s->parser);
    *s_out = s;
    return HERALD_OK;
}

/* smtp_session_free - close at once and release; no callback after it */
void
smtp_session_free(struct smtp_session **sp)
{
    struct smtp_session *s;

    if (sp == NULL || (s = *sp) == NULL)
        return;
    drop_conn(s);
    if (s->wire_fd >= 0)
        close(s->wire_fd);
    herald_timer_cancel(&s->report);
    herald_timer_cancel(&s->quit_timer);
    free(s->rcpt);
    free(s->txn);
    free(s->down);
    free(s);
    *sp = NULL;
}

/* smtp_session_send - send one message, connecting first when needed */
herald_status
smtp_session_send(struct smtp_session *s, const struct smtp_message *msg,
                  const struct smtp_session_cb *cb)
{
    size_t i;
    struct herald_diag diag;
    herald_status st;

    if (s == NULL || msg == NULL || cb == NULL || cb->done == NULL || s->busy
        || (s->state != SMTP_S_INIT && s->state != SMTP_S_READY) || msg->sender == NULL
        || msg->rcpts == NULL || msg->nrcpt == 0 || msg->read == NULL
        || strlen(msg->sender) > 254 || !clean_text(msg->sender, false))
        return HERALD_E_INVAL;
    for (i = 0; i < msg->nrcpt; i++)
        if (msg->rcpts[i] == NULL || msg->rcpts[i][0] == '\0' || strlen(msg->rcpts[i]) > 254
            || !clean_text(msg->rcpts[i], false))
            return HERALD_E_INVAL;
    s->rcpt = calloc(msg->nrcpt, sizeof *s->rcpt);
    s->txn = calloc(msg->nrcpt, sizeof *s->txn);
    if (s->rcpt == NULL || s->txn == NULL) {
        free(s->rcpt);
        free(s->txn);
        s->rcpt = NULL;
        s->txn = NULL;
        return HERALD_E_NOMEM;
    }
    for (i = 0; i < msg->nrcpt; i++) {
        s->rcpt[i].res.reply = s->rcpt[i].reply;
        s->rcpt[i].res.dsn = s->rcpt[i].dsn;
    }
    s->busy = true;
    s->msg = *msg;
    s->cb = *cb;
    s->txn_n = s->txn_queued = s->txn_replied = 0;
    s->accepted = 0;
    s->mail_failed = false;
    s->rset_ahead = false;
    s->data_discard = false;
    s->failed = false;
    s->fail_early = false;
    s->mail_reply[0] = s->mail_dsn[0] = '\0';

    if (s->state == SMTP_S_READY) {
        if (s->transactions == 0)
            start_mail(s, false);
        else
            next_mail(s);
        return HERALD_OK;
    }
    herald_trace_log(s->trace, HERALD_TRACE_INFO, SUBSYS, "connecting to %s", s->peer);
    set_state(s, SMTP_S_CONNECT);
    st = open_conn(s, &diag);
    if (st == HERALD_E_NOMEM || st == HERALD_E_INVAL || st == HERALD_E_LIMIT) {
        free(s->rcpt);
        free(s->txn);
        s->rcpt = NULL;
        s->txn = NULL;
        s->busy = false;
        set_state(s, SMTP_S_INIT);
        return st;
    }
    if (st != HERALD_OK)
        fail_local(s, HERALD_E_CONNECT, "%s", diag.text);
    return HERALD_OK;
}

/* smtp_session_set_wire - the next connection over fd instead of TCP */
herald_status
smtp_session_set_wire(struct smtp_session *s, int fd, const struct smtp_stream_ops *ops,
                      void *ctx)
{
    if (s == NULL || fd < 0 || s->wire_fd >= 0)
        return HERALD_E_INVAL;
    s->wire_fd = fd;
    s->wire_ops = ops;
    s->wire_ctx = ctx;
    return HERALD_OK;
}

/* smtp_session_set_tls_name - the hop's name for SNI and the certificate check */
herald_status
smtp_session_set_tls_name(struct smtp_session *s, const char *name)
{
    if (s == NULL || name == NULL || name[0] == '\0' || strlen(name) >= sizeof s->tls_name
        || !clean_text(name, false))
        return HERALD_E_INVAL;
    snprintf(s->tls_name, sizeof s->tls_name, "%s", name);
    return HERALD_OK;
}

void
smtp_session_set_trace(struct smtp_session *s, const struct herald_trace *trace)
{
    if (s != NULL)
        s->trace = trace;
}

/* smtp_session_usable - true when another message can be sent now */
bool
smtp_session_usable(const struct smtp_session *s)
{
    return s != NULL && !s->busy && (s->state == SMTP_S_READY || s->state == SMTP_S_INIT);
}

/* smtp_session_quit - QUIT when idle, then close; fn runs once closed */
void
smtp_session_quit(struct smtp_session *s, void (*fn)(void *arg), void *arg)
{
    if (s == NULL)
        return;
    s->quit_fn = fn;
    s->quit_arg = arg;
    if (s->state == SMTP_S_QUIT && !s->busy)
        return;                       /* a refused session's QUIT is on its way */
    if (s->state == SMTP_S_READY && !s->busy && s->conn != NULL && say_quit(s))
        return;
    if (s->busy) {
        fail_local(s, HERALD_E_IO, "session closed by its owner while %s",
                   state_doing[s->state]);
    } else {
        close_conn(s);
    }
    after_event(s);
}

/* smtp_session_state - the current state */
/* smtp_session_failed_early - see smtp_session.h */
bool
smtp_session_failed_early(const struct smtp_session *s)
{
    return s != NULL && s->fail_early;
}

enum smtp_state
smtp_session_state(const struct smtp_session *s)
{
    return s != NULL ? s->state : SMTP_S_CLOSED;
}

/* smtp_session_peer - "ADDR:PORT" */
const char *
smtp_session_peer(const struct smtp_session *s)
{
    return s != NULL ? s->peer : "";
}

/* smtp_session_extensions - SMTP_EXT_* flags from EHLO */
unsigned
smtp_session_extensions(const struct smtp_session *s)
{
    return s != NULL ? s->ehlo.flags : 0;
}
