/*
 * transport_smtp.c - the "smtp" transport module: transport jobs over SMTP sessions
 *
 * Adapts the transport ABI (herald/transport.h) to the SMTP state machine
 * (smtp_session.h).  A session that finished a transaction and can take
 * another is kept idle for its address and port, so the next message to the
 * same hop reuses it (RSET between); idle sessions say QUIT after
 * session_idle_ms, and are closed when the device closes.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <herald/device.h>
#include <herald/loop.h>
#include <herald/message.h>
#include <herald/module.h>
#include <herald/option.h>
#include <herald/trace.h>
#include <herald/transport.h>
#include "smtp_session.h"

enum smtp_tls_policy { SMTP_TLS_NONE = 0, SMTP_TLS_OPPORTUNISTIC = 1 };

struct smtp_transport_options {
    const char *helo_name;
    int tls;
    int64_t connect_timeout_ms;
    int64_t greeting_timeout_ms;
    int64_t helo_timeout_ms;
    int64_t mail_timeout_ms;
    int64_t rcpt_timeout_ms;
    int64_t data_timeout_ms;
    int64_t block_timeout_ms;
    int64_t dot_timeout_ms;
    bool session_cache;
    int64_t session_idle_ms;
    int64_t max_idle_sessions;
};

static const char *const tls_words[] = { "none", "opportunistic", NULL };

#define O(f) offsetof(struct smtp_transport_options, f)
#define TIMEOUT(name, field, help) \
    { name, HERALD_OPT_MSEC, O(field), 0, 100, 3600000, NULL, NULL, 0, NULL, help }
static const struct herald_option smtp_option_table[] = {
    { "helo_name", HERALD_OPT_STRING, O(helo_name), 0, 0, 0, NULL, NULL, 0, NULL,
      "name sent with EHLO/HELO (default: this host's FQDN)" },
    { "tls", HERALD_OPT_ENUM, O(tls), 0, 0, 0, tls_words, NULL, 0, NULL,
      "TLS policy (this build: none | opportunistic; STARTTLS is not implemented yet)" },
    TIMEOUT("connect_timeout_ms", connect_timeout_ms, "TCP connect, per address"),
    TIMEOUT("greeting_timeout_ms", greeting_timeout_ms, "the 220 greeting"),
    TIMEOUT("helo_timeout_ms", helo_timeout_ms, "EHLO, HELO and RSET replies"),
    TIMEOUT("mail_timeout_ms", mail_timeout_ms, "MAIL FROM reply"),
    TIMEOUT("rcpt_timeout_ms", rcpt_timeout_ms, "each RCPT TO reply"),
    TIMEOUT("data_timeout_ms", data_timeout_ms, "DATA reply"),
    TIMEOUT("block_timeout_ms", block_timeout_ms, "each block of the body"),
    TIMEOUT("dot_timeout_ms", dot_timeout_ms, "reply to the final dot"),
    { "session_cache", HERALD_OPT_BOOL, O(session_cache), 0, 0, 0, NULL, NULL, 0, NULL,
      "keep a session open for the next message to the same hop" },
    { "session_idle_ms", HERALD_OPT_MSEC, O(session_idle_ms), 0, 0, 600000, NULL, NULL, 0,
      NULL, "how long an idle cached session stays open" },
    { "max_idle_sessions", HERALD_OPT_INT, O(max_idle_sessions), 0, 0, 1000, NULL, NULL, 0,
      NULL, "idle sessions kept per device" },
    HERALD_OPT_END
};
#undef TIMEOUT
#undef O

/* RFC 5321 4.5.3.2 defaults; connect as Postfix's smtp_connect_timeout. */
static const struct smtp_transport_options smtp_defaults = {
    .helo_name = NULL,
    .tls = SMTP_TLS_OPPORTUNISTIC,
    .connect_timeout_ms = 30000,
    .greeting_timeout_ms = 300000,
    .helo_timeout_ms = 300000,
    .mail_timeout_ms = 300000,
    .rcpt_timeout_ms = 300000,
    .data_timeout_ms = 120000,
    .block_timeout_ms = 180000,
    .dot_timeout_ms = 600000,
    .session_cache = true,
    .session_idle_ms = 5000,
    .max_idle_sessions = 16,
};

struct idle_session {
    struct idle_session *next;
    struct smtp_transport *tp;
    struct smtp_session *session;
    char key[80];                 /* "ADDR port" */
    struct herald_timer *timer;
};

struct smtp_transport {
    const struct smtp_transport_options *opts;
    struct herald_env *env;
    struct smtp_session_opts session_opts;
    char default_helo[256];       /* this host's FQDN, looked up once per device */
    struct idle_session *idle;
    size_t idle_count;
};

struct smtp_job {
    struct smtp_transport *tp;
    struct herald_transport_job *job;
    struct smtp_session *session;
    struct herald_body_reader *reader;
    const char **rcpts;
    struct smtp_message msg;
    char key[80];
};

static void
session_key(char *buf, size_t cap, const struct herald_address *addr, uint16_t port)
{
    snprintf(buf, cap, "%s %u", addr->text, (unsigned)port);
}

static void
idle_unlink(struct idle_session *is)
{
    struct idle_session **pp;

    for (pp = &is->tp->idle; *pp != NULL; pp = &(*pp)->next)
        if (*pp == is) {
            *pp = is->next;
            is->tp->idle_count--;
            return;
        }
}

static void
on_idle_quit_done(void *arg)
{
    struct idle_session *is = arg;

    smtp_session_free(&is->session);
    free(is);
}

/* on_idle_timer - an idle session has waited long enough: QUIT */
static void
on_idle_timer(void *arg)
{
    struct idle_session *is = arg;

    herald_timer_cancel(&is->timer);
    idle_unlink(is);
    smtp_session_quit(is->session, on_idle_quit_done, is);
}

/* idle_take - an idle usable session for key, removed from the cache, or NULL */
static struct smtp_session *
idle_take(struct smtp_transport *tp, const char *key)
{
    struct idle_session *is;

    for (is = tp->idle; is != NULL; is = is->next) {
        struct smtp_session *s;

        if (strcmp(is->key, key) != 0 || !smtp_session_usable(is->session))
            continue;
        s = is->session;
        herald_timer_cancel(&is->timer);
        idle_unlink(is);
        free(is);
        return s;
    }
    return NULL;
}

/* idle_put - keep a usable session for reuse; otherwise close it */
static void
idle_put(struct smtp_transport *tp, struct smtp_session *s, const char *key)
{
    struct idle_session *is;

    if (!tp->opts->session_cache || !smtp_session_usable(s)
        || tp->idle_count >= (size_t)tp->opts->max_idle_sessions
        || (is = calloc(1, sizeof *is)) == NULL) {
        smtp_session_free(&s);
        return;
    }
    is->tp = tp;
    is->session = s;
    snprintf(is->key, sizeof is->key, "%s", key);
    if (herald_timer_start(herald_env_loop(tp->env),
                           (uint64_t)tp->opts->session_idle_ms, on_idle_timer, is,
                           &is->timer) != HERALD_OK) {
        smtp_session_free(&is->session);
        free(is);
        return;
    }
    is->next = tp->idle;
    tp->idle = is;
    tp->idle_count++;
}

static void
smtp_job_free(struct smtp_job *sj)
{
    herald_body_close(&sj->reader);
    free(sj->rcpts);
    free(sj);
}

static herald_status
job_body_read(void *arg, void *buf, size_t cap, size_t *n_out)
{
    struct smtp_job *sj = arg;

    /* The session reads each transaction's body from the start. */
    if (sj->reader == NULL) {
        herald_status st = herald_body_open(herald_job_message(sj->job), &sj->reader);

        if (st != HERALD_OK)
            return st;
    }
    return herald_body_read(sj->reader, buf, cap, n_out);
}

static void
cb_connected(void *arg, const char *peer)
{
    struct smtp_job *sj = arg;

    herald_job_set_peer(sj->job, peer);
}

static void
cb_recipient(void *arg, size_t i, enum herald_result result, const char *reply,
             const char *dsn, bool possibly_delivered)
{
    struct smtp_job *sj = arg;

    herald_job_recipient(sj->job, i, result, reply, dsn, possibly_delivered);
}

static void
cb_failed(void *arg, herald_status why, bool permanent, const char *reply, const char *dsn)
{
    struct smtp_job *sj = arg;

    herald_job_session_failed(sj->job, permanent,
                              reply && *reply ? reply : herald_strerror(why), dsn);
}

static void
cb_done(void *arg)
{
    struct smtp_job *sj = arg;

    herald_job_set_peer(sj->job, smtp_session_peer(sj->session));
    idle_put(sj->tp, sj->session, sj->key);
    herald_job_done(sj->job);
    smtp_job_free(sj);
}

/* body_scan - size and whether any octet has the high bit (BODY=8BITMIME) */
static herald_status
body_scan(const struct herald_message *msg, uint64_t *size_out, bool *eight_bit_out)
{
    struct herald_body_reader *r = NULL;
    unsigned char buf[65536];
    uint64_t size = 0;
    bool eight = false;
    herald_status st;
    size_t n, i;

    st = herald_body_open(msg, &r);
    if (st != HERALD_OK)
        return st;
    for (;;) {
        st = herald_body_read(r, buf, sizeof buf, &n);
        if (st != HERALD_OK || n == 0)
            break;
        size += n;
        for (i = 0; i < n && !eight; i++)
            eight = buf[i] >= 0x80;
    }
    herald_body_close(&r);
    if (st == HERALD_OK) {
        *size_out = size;
        *eight_bit_out = eight;
    }
    return st;
}

/* smtp_start - one job: reuse an idle session for the hop or make one */
static herald_status
smtp_start(void *state, struct herald_transport_job *job)
{
    static const struct smtp_session_cb cb_template = {
        .connected = cb_connected, .recipient = cb_recipient,
        .failed = cb_failed, .done = cb_done,
    };
    struct smtp_transport *tp = state;
    const struct herald_address *addr = herald_job_address(job);
    uint16_t port = herald_job_port(job);
    struct smtp_session_cb cb = cb_template;
    struct smtp_job *sj;
    herald_status st;
    size_t i, n = herald_job_recipient_count(job);

    sj = calloc(1, sizeof *sj);
    if (sj == NULL)
        return HERALD_E_NOMEM;
    sj->tp = tp;
    sj->job = job;
    sj->rcpts = calloc(n, sizeof *sj->rcpts);
    if (sj->rcpts == NULL) {
        smtp_job_free(sj);
        return HERALD_E_NOMEM;
    }
    for (i = 0; i < n; i++)
        sj->rcpts[i] = herald_job_recipient_address(job, i);
    st = body_scan(herald_job_message(job), &sj->msg.size, &sj->msg.eight_bit);
    if (st != HERALD_OK) {
        smtp_job_free(sj);
        return st;
    }
    sj->msg.sender = herald_message_sender(herald_job_message(job));
    sj->msg.rcpts = sj->rcpts;
    sj->msg.nrcpt = n;
    sj->msg.read = job_body_read;
    sj->msg.read_arg = sj;
    session_key(sj->key, sizeof sj->key, addr, port);

    sj->session = idle_take(tp, sj->key);
    if (sj->session != NULL) {
        herald_trace_log(herald_job_trace(job), HERALD_TRACE_INFO, "smtp",
                         "reusing the open session to %s", smtp_session_peer(sj->session));
    } else {
        st = smtp_session_new(herald_env_loop(tp->env), herald_job_trace(job), addr, port,
                              &tp->session_opts, &sj->session);
        if (st != HERALD_OK) {
            smtp_job_free(sj);
            return st;
        }
    }
    cb.arg = sj;
    st = smtp_session_send(sj->session, &sj->msg, &cb);
    if (st != HERALD_OK) {
        smtp_session_free(&sj->session);
        smtp_job_free(sj);
        return st;
    }
    return HERALD_OK;
}

static herald_status
smtp_open(const void *options, struct herald_env *env, void **state_out,
          struct herald_diag *diag)
{
    const struct smtp_transport_options *o = options;
    struct smtp_transport *tp;

    tp = calloc(1, sizeof *tp);
    if (tp == NULL)
        return herald_diag_set(diag, HERALD_E_NOMEM, "", "out of memory");
    tp->opts = o;
    tp->env = env;
    smtp_session_opts_init(&tp->session_opts);
    if (o->helo_name == NULL) {
        /* The lookup may block: once per device, not once per session. */
        smtp_default_helo_name(tp->default_helo, sizeof tp->default_helo);
        tp->session_opts.helo_name = tp->default_helo;
    } else {
        tp->session_opts.helo_name = o->helo_name;
    }
    tp->session_opts.connect_ms = (uint64_t)o->connect_timeout_ms;
    tp->session_opts.greeting_ms = (uint64_t)o->greeting_timeout_ms;
    tp->session_opts.ehlo_ms = (uint64_t)o->helo_timeout_ms;
    tp->session_opts.mail_ms = (uint64_t)o->mail_timeout_ms;
    tp->session_opts.rcpt_ms = (uint64_t)o->rcpt_timeout_ms;
    tp->session_opts.data_ms = (uint64_t)o->data_timeout_ms;
    tp->session_opts.block_ms = (uint64_t)o->block_timeout_ms;
    tp->session_opts.dot_ms = (uint64_t)o->dot_timeout_ms;
    *state_out = tp;
    return HERALD_OK;
}

static void
smtp_close(void *state)
{
    struct smtp_transport *tp = state;

    if (tp == NULL)
        return;
    while (tp->idle != NULL) {
        struct idle_session *is = tp->idle;

        tp->idle = is->next;
        herald_timer_cancel(&is->timer);
        smtp_session_free(&is->session);
        free(is);
    }
    free(tp);
}

static const struct herald_transport_ops smtp_ops = {
    .struct_size = sizeof(struct herald_transport_ops),
    .open = smtp_open,
    .start = smtp_start,
    .close = smtp_close,
};

const struct herald_module herald_module = {
    HERALD_MODULE_HEADER(HERALD_KIND_TRANSPORT),
    .name = "smtp",
    .summary = "ESMTP/SMTP client: EHLO with HELO fallback, PIPELINING, SIZE, 8BITMIME",
    .options = smtp_option_table,
    .options_size = sizeof(struct smtp_transport_options),
    .options_defaults = &smtp_defaults,
    .check = NULL,
    .ops = &smtp_ops,
};
