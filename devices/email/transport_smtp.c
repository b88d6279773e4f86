/*
 * transport_smtp.c - the "smtp" transport module: transport jobs over SMTP sessions
 *
 * Adapts the transport ABI (herald/transport.h) to the SMTP state machine
 * (smtp_session.h).  A session that finished a transaction and can take
 * another is kept idle for its hop (smtp_pool.h), so the next message to the
 * same hop reuses it (RSET between).  Every session ends with QUIT and waits
 * for the 221: at once when it is not cached, after session_idle_ms when it
 * is, and at the latest when the device closes.
 *
 * The pool's limits and waiting jobs live per destination in smtp_dest.h:
 * the sessions each hop may have adapt to what its server takes, and a
 * session refused while others to the hop are open makes the message wait
 * for one of them rather than fail (cb_done).  Descriptors are the
 * process's own limit (smtp_fdlimit.h): a job that finds none waits too.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <mbedtls/platform_util.h>

#include <herald/device.h>
#include <herald/loop.h>
#include <herald/message.h>
#include <herald/module.h>
#include <herald/option.h>
#include <herald/trace.h>
#include <herald/transport.h>
#include <herald/timeouts.h>
#include "smtp_auth.h"
#include "smtp_dest.h"
#include "smtp_fdlimit.h"
#include "smtp_pool.h"
#include "smtp_probe.h"
#include "smtp_session.h"
#include "smtp_tls.h"

#define SECRET_FILE_MAX 4096

struct smtp_auth_options {
    const char *user;
    const char *password;             /* SECRET: the core redacts it */
    const char *password_file;        /* read at open(), mode 0600 or stricter */
    const char *token_file;           /* XOAUTH2 bearer token, same rules */
    struct herald_strlist mechanisms; /* empty: PLAIN, LOGIN, XOAUTH2 */
    int require_tls;                  /* enum smtp_auth_tls */
};

struct smtp_transport_options {
    const char *helo_name;
    int tls;
    const char *ca_file;
    const char *ca_path;
    const char *ciphersuites;
    bool implicit_tls;
    struct smtp_auth_options auth;
    int eightbit_downgrade;           /* enum smtp_8bit_downgrade */
    int64_t max_recipients_per_transaction;
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
    int64_t max_sessions;
    int64_t max_sessions_per_host;
    int64_t initial_sessions_per_host;
};

static const char *const tls_words[] = { "none", "opportunistic", "required", "verify", NULL };
/* In the order of enum smtp_auth_tls. */
static const char *const auth_tls_words[] = { "verify", "encrypted", "none", NULL };
/* In the order of enum smtp_8bit_downgrade. */
static const char *const downgrade_words[] = { "convert", "send", "refuse", NULL };

#define A(f) offsetof(struct smtp_auth_options, f)
static const struct herald_option smtp_auth_table[] = {
    { "user", HERALD_OPT_STRING, A(user), HERALD_OPT_REQUIRED, 0, 0, NULL, NULL, 0, NULL,
      "user name for AUTH" },
    { "password", HERALD_OPT_STRING, A(password), HERALD_OPT_SECRET, 0, 0, NULL, NULL, 0, NULL,
      "password (the device file must then be mode 0600)" },
    { "password_file", HERALD_OPT_STRING, A(password_file), 0, 0, 0, NULL, NULL, 0, NULL,
      "file holding the password (mode 0600; one trailing newline ignored)" },
    { "token_file", HERALD_OPT_STRING, A(token_file), 0, 0, 0, NULL, NULL, 0, NULL,
      "file holding an XOAUTH2 bearer token (mode 0600)" },
    { "mechanisms", HERALD_OPT_STRLIST, A(mechanisms), 0, 0, 0, NULL, NULL, 0, NULL,
      "allowed SASL mechanisms: PLAIN, LOGIN, XOAUTH2 (default: all)" },
    { "require_tls", HERALD_OPT_ENUM, A(require_tls), 0, 0, 0, auth_tls_words, NULL, 0, NULL,
      "what the smart host connection must be before AUTH: verify (TLS, certificate "
      "verified for its name) | encrypted (TLS) | none (clear text too)" },
    HERALD_OPT_END
};
#undef A

#define O(f) offsetof(struct smtp_transport_options, f)
#define TIMEOUT(name, field, help) \
    { name, HERALD_OPT_MSEC, O(field), 0, 100, 3600000, NULL, NULL, 0, NULL, help }
static const struct herald_option smtp_option_table[] = {
    { "helo_name", HERALD_OPT_STRING, O(helo_name), 0, 0, 0, NULL, NULL, 0, NULL,
      "name sent with EHLO/HELO (default: this host's FQDN)" },
    { "tls", HERALD_OPT_ENUM, O(tls), 0, 0, 0, tls_words, NULL, 0, NULL,
      "TLS policy: none | opportunistic | required | verify (chain and host name)" },
    { "ca_file", HERALD_OPT_STRING, O(ca_file), 0, 0, 0, NULL, NULL, 0, NULL,
      "CA certificates (PEM) for tls = verify (default: " SMTP_TLS_DEFAULT_CA_FILE ")" },
    { "ca_path", HERALD_OPT_STRING, O(ca_path), 0, 0, 0, NULL, NULL, 0, NULL,
      "directory of CA certificates, added to ca_file" },
    { "ciphersuites", HERALD_OPT_STRING, O(ciphersuites), 0, 0, 0, NULL, NULL, 0, NULL,
      "mbed TLS ciphersuite names separated by ':' (default: mbed TLS's own)" },
    { "implicit_tls", HERALD_OPT_BOOL, O(implicit_tls), 0, 0, 0, NULL, NULL, 0, NULL,
      "TLS from the first octet, RFC 8314 (port 465); needs tls other than none" },
    { "auth", HERALD_OPT_GROUP, O(auth), 0, 0, 0, NULL, smtp_auth_table, 0, NULL,
      "SMTP AUTH credentials (RFC 4954), sent to smart hosts only, never to an MX" },
    { "eightbit_downgrade", HERALD_OPT_ENUM, O(eightbit_downgrade), 0, 0, 0, downgrade_words,
      NULL, 0, NULL,
      "8-bit body, server without 8BITMIME: convert (to 7-bit MIME, quoted-printable) | "
      "send (as it is) | refuse (5.6.3)" },
    { "max_recipients_per_transaction", HERALD_OPT_INT, O(max_recipients_per_transaction), 0,
      1, 100000, NULL, NULL, 0, NULL,
      "RCPTs per transaction; more recipients go in further transactions of the same session, "
      "as do those a server refuses with 452 (its own limit)" },
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
    { "max_sessions", HERALD_OPT_INT, O(max_sessions), 0, 1, 10000, NULL, NULL, 0, NULL,
      "sessions busy at the same time, per device; more messages wait their turn" },
    { "max_sessions_per_host", HERALD_OPT_INT, O(max_sessions_per_host), 0, 1, 1000, NULL,
      NULL, 0, NULL, "sessions busy at the same time to one address and port" },
    { "initial_sessions_per_host", HERALD_OPT_INT, O(initial_sessions_per_host), 0, 1, 1000,
      NULL, NULL, 0, NULL,
      "sessions to one address and port before the server has been heard from; more as "
      "messages go through, fewer when it refuses sessions while others are open" },
    HERALD_OPT_END
};
#undef TIMEOUT
#undef O

/* RFC 5321 4.5.3.2 defaults; connect as Postfix's smtp_connect_timeout. */
static const struct smtp_transport_options smtp_defaults = {
    .helo_name = NULL,
    .tls = SMTP_TLS_OPPORTUNISTIC,
    .auth = { .require_tls = SMTP_AUTH_TLS_VERIFY },
    .eightbit_downgrade = SMTP_8BIT_CONVERT,
    .max_recipients_per_transaction = SMTP_MAX_RCPT_DEFAULT,
    .connect_timeout_ms = HERALD_DEFAULT_SMTP_CONNECT_MS,
    .greeting_timeout_ms = HERALD_DEFAULT_SMTP_GREETING_MS,
    .helo_timeout_ms = HERALD_DEFAULT_SMTP_HELO_MS,
    .mail_timeout_ms = HERALD_DEFAULT_SMTP_MAIL_MS,
    .rcpt_timeout_ms = HERALD_DEFAULT_SMTP_RCPT_MS,
    .data_timeout_ms = HERALD_DEFAULT_SMTP_DATA_MS,
    .block_timeout_ms = HERALD_DEFAULT_SMTP_BLOCK_MS,
    .dot_timeout_ms = HERALD_DEFAULT_SMTP_DOT_MS,
    .session_cache = true,
    .session_idle_ms = HERALD_DEFAULT_SMTP_SESSION_IDLE_MS,
    .max_idle_sessions = 16,
    /* Postfix: default_process_limit 100, default_destination_concurrency_limit 20. */
    .max_sessions = 100,
    .max_sessions_per_host = 20,
    /* Postfix: initial_destination_concurrency 5. */
    .initial_sessions_per_host = 5,
};

/* A message refused this many times while other sessions were open stops waiting. */
#define SMTP_REQUEUE_MAX 8
/* Out of descriptors and none of ours to close: try again this often. */
#define SMTP_FD_RETRY_MS 50

struct smtp_transport {
    const struct smtp_transport_options *opts;
    struct herald_env *env;
    struct smtp_session_opts session_opts;
    char default_helo[256];       /* this host's FQDN, looked up once per device */
    struct smtp_tls_config *tls;  /* NULL with tls = none */
    char *file_secret;            /* from password_file or token_file, wiped at close */
    struct smtp_pool *pool;       /* idle sessions, and those saying QUIT */
    struct smtp_dests *dests;     /* busy sessions, limits and waiting jobs per key */
    size_t max_sessions;          /* max_sessions, as far as descriptors allow */
    bool fd_short;                /* socket() said EMFILE/ENFILE: no new session for now */
    struct herald_timer *fd_timer;
    bool pumping;
};

struct smtp_job {
    struct smtp_transport *tp;
    struct herald_transport_job *job;
    struct smtp_session *session;
    struct herald_body_reader *reader;
    const char **rcpts;
    struct smtp_message msg;
    char key[SMTP_POOL_KEY_MAX];
    bool auth;                    /* this hop gets the credentials */
    struct smtp_dest_waiter waiter;   /* while it waits for a session */
    struct smtp_dest *dest;           /* while it waits or holds a slot */
    bool fresh;                       /* its session was opened for it */
    bool decided;                     /* a recipient has its final word */
    unsigned requeues;                /* refused while others were open: waited again */
    uint64_t fd_wait_since;           /* when socket() first found no descriptor */
    /* The session failure of this attempt, held back until cb_done() knows
     * whether it stands or the message waits for another session. */
    bool failed;
    bool fail_permanent;
    bool fail_early;                  /* before any transaction: the hop failed */
    herald_status fail_why;
    char *fail_reply;                 /* also the reason kept from an earlier attempt */
    char fail_dsn[16];
};

/* job_of - the job a waiter is part of */
static struct smtp_job *
job_of(struct smtp_dest_waiter *w)
{
    return (struct smtp_job *)(void *)((char *)w - offsetof(struct smtp_job, waiter));
}

/*
 * hop_gets_credentials - only a smart host the device file names: a hop
 * from DNS (origin "mx", "implicit-mx") is whoever controls the recipient
 * domain, and must never see the relay's password (Postfix looks the
 * credentials up per next hop, Exim has hosts_try_auth).  Such a hop is not
 * asked for AUTH either, so an MX that offers none still takes the mail.
 */
static bool
hop_gets_credentials(const struct smtp_transport *tp, const struct herald_transport_job *job)
{
    const char *origin = herald_job_origin(job);

    return tp->session_opts.auth_user != NULL && smtp_auth_hop_gets(origin);
}

static void pump(struct smtp_transport *tp);
static void fd_freed(struct smtp_transport *tp);

/* on_closed - a connection of the pool is gone: its slot, if it held one,
 * and a descriptor are free, so a waiting job may start */
static void
on_closed(void *arg, struct smtp_dest *slot)
{
    struct smtp_transport *tp = arg;

    if (slot != NULL)
        smtp_dest_give(tp->dests, slot);
    fd_freed(tp);
    pump(tp);
}

static void
smtp_job_free(struct smtp_job *sj)
{
    herald_body_close(&sj->reader);
    free(sj->rcpts);
    free(sj->fail_reply);
    free(sj);
}

static herald_status
job_body_read(void *arg, void *buf, size_t cap, size_t *n_out)
{
    struct smtp_job *sj = arg;

    herald_status st;

    /* The session reads each transaction's body from the start. */
    if (sj->reader == NULL) {
        st = herald_body_open(herald_job_message(sj->job), &sj->reader);
        if (st != HERALD_OK)
            return st;
    }
    st = herald_body_read(sj->reader, buf, cap, n_out);
    if (st == HERALD_OK && *n_out == 0)
        herald_body_close(&sj->reader);   /* the next transaction starts over */
    return st;
}

static void
cb_connected(void *arg, const char *peer)
{
    struct smtp_job *sj = arg;

    herald_job_set_peer(sj->job, peer);
}

static void
cb_recipient(void *arg, size_t i, const struct smtp_rcpt_result *res)
{
    struct smtp_job *sj = arg;

    sj->decided = true;
    herald_job_recipient(sj->job, i, res->result, res->reply, res->dsn,
                         res->possibly_delivered);
}

static void
cb_failed(void *arg, herald_status why, bool permanent, const char *reply, const char *dsn)
{
    struct smtp_job *sj = arg;
    char *copy = strdup(reply && *reply ? reply : herald_strerror(why));

    /* Held back: cb_done() decides whether it stands (on ENOMEM the
     * reason kept from an earlier attempt, or the status text, stays). */
    sj->failed = true;
    sj->fail_permanent = permanent;
    sj->fail_why = why;
    sj->fail_early = sj->fresh && smtp_session_failed_early(sj->session)
                     && why != HERALD_E_NOMEM && why != HERALD_E_LIMIT;
    if (copy != NULL) {
        free(sj->fail_reply);
        sj->fail_reply = copy;
    }
    snprintf(sj->fail_dsn, sizeof sj->fail_dsn, "%s", dsn != NULL ? dsn : "");
}

static void job_failed_now(struct smtp_job *sj, herald_status st);
static void cb_done(void *arg);

/* job_send - hand sj's message to sj->session (the slot is already taken) */
static herald_status
job_send(struct smtp_job *sj)
{
    static const struct smtp_session_cb cb_template = {
        .connected = cb_connected, .recipient = cb_recipient,
        .failed = cb_failed, .done = cb_done,
    };
    struct smtp_session_cb cb = cb_template;

    cb.arg = sj;
    return smtp_session_send(sj->session, &sj->msg, &cb);
}

/* job_fail - end sj (which holds no slot and waits nowhere): this hop did not
 * take it; hop: the hop itself failed before any transaction */
static void
job_fail(struct smtp_job *sj, const char *reply, const char *dsn, bool hop)
{
    struct herald_transport_job *job = sj->job;

    if (hop)
        herald_job_hop_failed(job, false, reply, dsn);
    else
        herald_job_session_failed(job, false, reply, dsn);
    smtp_job_free(sj);
    herald_job_done(job);
}

/* on_fd_timer - time to try socket() again */
static void
on_fd_timer(void *arg)
{
    struct smtp_transport *tp = arg;

    herald_timer_cancel(&tp->fd_timer);
    tp->fd_short = false;
    pump(tp);
}

/* fd_freed - one of our connections closed: a descriptor is free again */
static void
fd_freed(struct smtp_transport *tp)
{
    if (tp->fd_short) {
        herald_timer_cancel(&tp->fd_timer);
        tp->fd_short = false;
    }
}

/*
 * fd_wait - the process is out of descriptors (Herald's own limit, not the
 * hop's): sj waits first in line for its hop, and no new session starts
 * until one of ours closes or SMTP_FD_RETRY_MS passes.  Only when none
 * comes for connect_timeout_ms does it fail.  sj holds no slot.
 */
static void
fd_wait(struct smtp_job *sj)
{
    struct smtp_transport *tp = sj->tp;
    uint64_t now = herald_loop_now_ms(herald_env_loop(tp->env));
    char text[160];

    if (sj->fd_wait_since == 0) {
        sj->fd_wait_since = now > 0 ? now : 1;
        herald_trace_log(herald_job_trace(sj->job), HERALD_TRACE_INFO, "smtp",
                         "no file descriptor for a socket to %s port %u (%zu sessions busy): "
                         "the message waits for one", herald_job_address(sj->job)->text,
                         (unsigned)herald_job_port(sj->job), smtp_dests_busy(tp->dests));
    } else if (now - sj->fd_wait_since >= (uint64_t)tp->opts->connect_timeout_ms) {
        struct smtp_dest *dest = sj->dest;

        snprintf(text, sizeof text, "out of file descriptors for %llu ms: no socket could be "
                 "made (socket: Too many open files)", (unsigned long long)(now - sj->fd_wait_since));
        job_fail(sj, text, "4.3.0", false);
        smtp_dest_forget(tp->dests, dest);
        return;
    }
    smtp_dest_wait(tp->dests, sj->dest, &sj->waiter, true);
    tp->fd_short = true;
    if (tp->fd_timer == NULL)
        (void)herald_timer_start(herald_env_loop(tp->env), SMTP_FD_RETRY_MS, on_fd_timer, tp,
                                 &tp->fd_timer);
}

/* job_run - take a slot and a session (an idle one for the hop, else a new
 * one), send.  HERALD_OK also when sj went back to wait for a descriptor. */
static herald_status
job_run(struct smtp_job *sj)
{
    struct smtp_transport *tp = sj->tp;
    struct herald_transport_job *job = sj->job;
    herald_status st;

    smtp_dest_take(tp->dests, sj->dest);
    sj->session = smtp_pool_take(tp->pool, sj->key);
    sj->fresh = sj->session == NULL;
    if (sj->session != NULL) {
        smtp_session_set_trace(sj->session, herald_job_trace(job));
        herald_trace_log(herald_job_trace(job), HERALD_TRACE_INFO, "smtp",
                         "reusing the open session to %s", smtp_session_peer(sj->session));
    } else {
        struct smtp_session_opts opts = tp->session_opts;

        if (!sj->auth) {
            /* Not even handed to the session: nothing to leak, nothing to require. */
            opts.auth_user = NULL;
            opts.auth_secret = NULL;
        }
        st = smtp_session_new(herald_env_loop(tp->env), herald_job_trace(job),
                              herald_job_address(job), herald_job_port(job), &opts,
                              &sj->session);
        if (st != HERALD_OK) {
            smtp_dest_give(tp->dests, sj->dest);
            return st;
        }
        if (herald_job_host(job) != NULL && herald_job_host(job)[0] != '\0'
            && smtp_session_set_tls_name(sj->session, herald_job_host(job)) != HERALD_OK)
            herald_trace_log(herald_job_trace(job), HERALD_TRACE_WARN, "smtp",
                             "unusable host name for TLS: using the address");
    }
    st = job_send(sj);
    if (st != HERALD_OK) {
        smtp_session_free(&sj->session);
        if (st == HERALD_E_LIMIT) {
            struct smtp_dest *dest = sj->dest;

            fd_wait(sj);               /* waits (dest kept) or ends sj */
            smtp_dest_give(tp->dests, dest);
            return HERALD_OK;
        }
        smtp_dest_give(tp->dests, sj->dest);
    } else {
        sj->fd_wait_since = 0;
    }
    return st;
}

/*
 * pump - start waiting jobs while the limits allow.  A job can end inside its
 * own start and call pump() again: the flag makes that a no-op, and this loop
 * sees the slot it freed.
 */
static void
pump(struct smtp_transport *tp)
{
    struct smtp_dest_waiter *w;
    struct smtp_dest *dest;

    if (tp->pumping)
        return;
    tp->pumping = true;
    while (!tp->fd_short && (w = smtp_dests_next(tp->dests, &dest)) != NULL) {
        struct smtp_job *sj = job_of(w);
        herald_status st = job_run(sj);

        if (st != HERALD_OK) {
            job_failed_now(sj, st);
            smtp_dest_forget(tp->dests, dest);
        }
    }
    tp->pumping = false;
}

/* job_failed_now - a queued job could not start: this hop did not take it */
static void
job_failed_now(struct smtp_job *sj, herald_status st)
{
    job_fail(sj, herald_strerror(st), "4.3.0", false);
}

/*
 * session_release - a transaction to dest is over.  With session_cache on, a
 * job waiting for the same hop gets the open session at once (RSET between,
 * no new connection and no new EHLO or TLS handshake); otherwise the session
 * goes to the idle cache (or QUITs), its slot is freed, and waiting jobs for
 * other hops may start.
 */
static void
session_release(struct smtp_transport *tp, struct smtp_session *s, struct smtp_dest *dest)
{
    struct smtp_dest_waiter *w = tp->opts->session_cache && smtp_session_usable(s)
                                 ? smtp_dest_unwait(tp->dests, dest) : NULL;

    if (w != NULL) {
        struct smtp_job *next = job_of(w);

        next->session = s;
        next->fresh = false;
        smtp_session_set_trace(s, herald_job_trace(next->job));
        herald_trace_log(herald_job_trace(next->job), HERALD_TRACE_INFO, "smtp",
                         "reusing the open session to %s (it was waiting for it)",
                         smtp_session_peer(s));
        if (job_send(next) == HERALD_OK)
            return;
        next->session = NULL;
        smtp_session_set_trace(s, herald_env_trace(tp->env));
        job_failed_now(next, HERALD_E_IO);
        smtp_pool_retire(tp->pool, s, NULL);
        smtp_dest_give(tp->dests, dest);
        pump(tp);
        return;
    }
    if (smtp_session_state(s) == SMTP_S_CLOSED) {
        /* Failed or closed by the server: no QUIT to wait for, and the
         * server sees no connection any more, so neither do the limits. */
        smtp_session_free(&s);
        smtp_dest_give(tp->dests, dest);
        fd_freed(tp);
        pump(tp);
        return;
    }
    if (smtp_pool_put(tp->pool, s, smtp_dest_key(dest))) {
        smtp_dest_give(tp->dests, dest);
        pump(tp);
        return;
    }
    /* Its slot stays taken until the connection is closed, so the limits
     * count connections a server sees, not only transactions. */
    smtp_pool_retire(tp->pool, s, dest);
}

/* may_wait - sj's session failure can wait for another session: nothing was
 * decided (so nothing is sent twice), it is not a 5xx or a TLS policy
 * failure, and it has not waited too often */
static bool
may_wait(const struct smtp_job *sj)
{
    return sj->failed && !sj->decided && !sj->fail_permanent && sj->fail_why != HERALD_E_TLS
           && sj->requeues < SMTP_REQUEUE_MAX;
}

/*
 * end_waiters - dest is dead: nothing to it is open and its last session was
 * refused, so the jobs waiting for it move on now (to the next address or
 * hop, else deferred), each with its own refusal if it had one, else this one
 * (early: it came before any transaction, so the hop failed for them too).
 */
static void
end_waiters(struct smtp_transport *tp, struct smtp_dest *dest, const char *reply,
            const char *dsn, bool early)
{
    struct smtp_dest_waiter *w;

    while ((w = smtp_dest_unwait(tp->dests, dest)) != NULL) {
        struct smtp_job *wj = job_of(w);

        if (wj->fail_reply != NULL)
            job_fail(wj, wj->fail_reply, wj->fail_dsn, wj->fail_early);
        else
            job_fail(wj, reply, dsn, early);
    }
}

/*
 * cb_done - the session is finished with sj.  A session refused before it
 * did anything, while other sessions to the hop are open, is the server
 * capping sessions per client (a 421 greeting, a refused or closed
 * connection), not a word on the message: the hop's concurrency goes down
 * (smtp_dest.h) and the message waits first in line for a session that
 * works.  Only when no other session to the hop is open does the failure
 * stand; then the messages waiting for the hop move on too.
 */
static void
cb_done(void *arg)
{
    struct smtp_job *sj = arg;
    struct smtp_transport *tp = sj->tp;
    struct herald_transport_job *job = sj->job;
    struct smtp_session *s = sj->session;
    struct smtp_dest *dest = sj->dest;
    uint64_t now = herald_loop_now_ms(herald_env_loop(tp->env));
    bool dead = false, rose = false;
    char reply[512];

    sj->session = NULL;
    if (may_wait(sj)) {
        size_t before = smtp_dest_limit(dest);

        if (smtp_dest_refused(tp->dests, dest, sj->fresh, now) == SMTP_DEST_WAIT) {
            if (sj->fresh)
                herald_trace_log(herald_job_trace(job), HERALD_TRACE_INFO, "smtp",
                                 "%s refused a session while %zu others to it are open: the "
                                 "message waits for one of them (sessions to it: at most %zu, "
                                 "were %zu)", smtp_session_peer(s), smtp_dest_busy(dest) - 1,
                                 smtp_dest_limit(dest), before);
            else
                herald_trace_log(herald_job_trace(job), HERALD_TRACE_INFO, "smtp",
                                 "%s ended a reused session before the message: it waits "
                                 "for another session", smtp_session_peer(s));
            sj->requeues++;
            sj->failed = false;
            herald_body_close(&sj->reader);
            smtp_dest_wait(tp->dests, dest, &sj->waiter, true);
            session_release(tp, s, dest);
            return;
        }
        dead = true;
        herald_trace_log(herald_job_trace(job), HERALD_TRACE_INFO, "smtp",
                         "no other session to %s is open: the refusal stands for this message "
                         "and the %zu waiting for it", smtp_session_peer(s),
                         smtp_dest_waiting(dest));
    } else if (!sj->failed) {
        rose = smtp_dest_success(tp->dests, dest, now);
    }
    herald_job_set_peer(job, smtp_session_peer(s));
    if (sj->failed) {
        const char *why = sj->fail_reply != NULL ? sj->fail_reply : herald_strerror(sj->fail_why);

        if (sj->fail_early)
            herald_job_hop_failed(job, sj->fail_permanent, why, sj->fail_dsn);
        else
            herald_job_session_failed(job, sj->fail_permanent, why, sj->fail_dsn);
    }
    snprintf(reply, sizeof reply, "%s", sj->fail_reply != NULL ? sj->fail_reply : "");
    if (dead)
        end_waiters(tp, dest, reply, sj->fail_dsn, sj->fail_early);
    smtp_job_free(sj);
    session_release(tp, s, dest);
    if (rose)
        pump(tp);
    herald_job_done(job);
}

/* smtp_start - one job: run it now, or queue it until a session is free */
static herald_status
smtp_start(void *state, struct herald_transport_job *job)
{
    struct smtp_transport *tp = state;
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
    /* Counted once, when the message was built: no pass over the body per attempt. */
    sj->msg.size = herald_message_body_wire_size(herald_job_message(job));
    sj->msg.eight_bit = herald_message_body_8bit(herald_job_message(job));
    sj->msg.sender = herald_message_sender(herald_job_message(job));
    sj->msg.smtputf8 = herald_message_needs_smtputf8(herald_job_message(job));
    sj->msg.dsn_notify = herald_message_dsn_notify(herald_job_message(job));
    sj->msg.dsn_ret = herald_message_dsn_ret(herald_job_message(job));
    sj->msg.dsn_envid = herald_message_dsn_envid(herald_job_message(job));
    sj->msg.rcpts = sj->rcpts;
    sj->msg.nrcpt = n;
    sj->msg.read = job_body_read;
    sj->msg.read_arg = sj;
    sj->auth = hop_gets_credentials(tp, job);
    smtp_session_key(sj->key, sizeof sj->key, herald_job_address(job), herald_job_port(job),
                herald_job_host(job), sj->auth);
    if (sj->auth)
        herald_trace_log(herald_job_trace(job), HERALD_TRACE_INFO, "smtp",
                         "%s (origin smarthost): AUTH as \"%s\" (auth.require_tls = %s)",
                         herald_job_host(job), tp->session_opts.auth_user,
                         auth_tls_words[tp->session_opts.auth_require_tls]);
    else if (tp->session_opts.auth_user != NULL)
        herald_trace_log(herald_job_trace(job), HERALD_TRACE_INFO, "smtp",
                         "%s (origin %s): no AUTH: the credentials go to smart hosts only",
                         herald_job_host(job), herald_job_origin(job));
    sj->dest = smtp_dest_get(tp->dests, sj->key);
    if (sj->dest == NULL) {
        smtp_job_free(sj);
        return HERALD_E_NOMEM;
    }

    /* Jobs waiting for this hop keep their turn. */
    if (!tp->fd_short && smtp_dest_waiting(sj->dest) == 0
        && smtp_dest_can_start(tp->dests, sj->dest)) {
        struct smtp_dest *dest = sj->dest;

        st = job_run(sj);
        if (st != HERALD_OK) {
            smtp_job_free(sj);
            smtp_dest_forget(tp->dests, dest);
        }
        return st;
    }
    herald_trace_log(herald_job_trace(job), HERALD_TRACE_INFO, "smtp",
                     "waiting for a session to %s port %u (%zu busy to it, at most %zu now and "
                     "%lld per host, %zu busy in all, at most %zu)",
                     herald_job_address(job)->text, (unsigned)herald_job_port(job),
                     smtp_dest_busy(sj->dest), smtp_dest_limit(sj->dest),
                     (long long)tp->opts->max_sessions_per_host, smtp_dests_busy(tp->dests),
                     tp->max_sessions);
    smtp_dest_wait(tp->dests, sj->dest, &sj->waiter, false);
    /* Those ahead of it may start now (nothing else would call pump soon). */
    if (!tp->fd_short && smtp_dest_can_start(tp->dests, sj->dest))
        pump(tp);
    return HERALD_OK;
}

/*
 * read_secret_file - the secret in path: refused when group or others may
 * read it; one trailing newline dropped.  *out is malloc'd.
 */
static herald_status
read_secret_file(const char *what, const char *path, char **out, struct herald_diag *diag)
{
    struct stat st;
    char *buf;
    ssize_t n;
    size_t len = 0;
    int fd = open(path, O_RDONLY | O_CLOEXEC);

    if (fd < 0)
        return herald_diag_set(diag, HERALD_E_CONFIG, path, "cannot open the %s: %s", what,
                               strerror(errno));
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        close(fd);
        return herald_diag_set(diag, HERALD_E_CONFIG, path, "the %s is not a regular file",
                               what);
    }
    if (st.st_mode & (S_IRWXG | S_IRWXO)) {
        close(fd);
        return herald_diag_set(diag, HERALD_E_CONFIG, path,
                               "the %s is readable by group or others (mode %04o): "
                               "run chmod 600 %s", what, (unsigned)(st.st_mode & 07777), path);
    }
    buf = calloc(1, SECRET_FILE_MAX + 1);
    if (buf == NULL) {
        close(fd);
        return herald_diag_set(diag, HERALD_E_NOMEM, path, "out of memory");
    }
    while (len < SECRET_FILE_MAX && (n = read(fd, buf + len, SECRET_FILE_MAX - len)) > 0)
        len += (size_t)n;
    close(fd);
    if (len > 0 && buf[len - 1] == '\n')
        buf[--len] = '\0';
    if (len > 0 && buf[len - 1] == '\r')
        buf[--len] = '\0';
    if (len == 0 || len >= SECRET_FILE_MAX || memchr(buf, '\0', len) != NULL
        || strpbrk(buf, "\r\n") != NULL) {
        mbedtls_platform_zeroize(buf, SECRET_FILE_MAX + 1);
        free(buf);
        return herald_diag_set(diag, HERALD_E_CONFIG, path,
                               "the %s must hold one line of 1..%d octets", what,
                               SECRET_FILE_MAX - 1);
    }
    *out = buf;
    return HERALD_OK;
}

/* free_secret - wipe and free a secret read from a file */
static void
free_secret(char **p)
{
    if (*p != NULL) {
        mbedtls_platform_zeroize(*p, strlen(*p));
        free(*p);
        *p = NULL;
    }
}

/* smtp_check - the rules across options, at load time (herald check reports
 * them at the transport group's FILE:LINE).  Reads no file: whether a
 * password file can be read is open()'s business, and no secret is ever
 * put into the diag. */
static herald_status
smtp_check(const void *options, struct herald_diag *diag)
{
    const struct smtp_transport_options *o = options;
    const struct smtp_auth_options *a = &o->auth;
    size_t i, nsrc = (a->password != NULL) + (a->password_file != NULL)
                     + (a->token_file != NULL);
    char bad[64] = "";

    if (o->implicit_tls && o->tls == SMTP_TLS_NONE)
        return herald_diag_set(diag, HERALD_E_CONFIG, "smtp",
                               "implicit_tls needs tls = opportunistic, required or verify");
    if (a->user != NULL && o->tls == SMTP_TLS_NONE && a->require_tls != SMTP_AUTH_TLS_NONE)
        return herald_diag_set(diag, HERALD_E_CONFIG, "smtp",
                               "auth with tls = none: the password would never be sent "
                               "(set tls, or auth.require_tls = \"none\" to send it in clear)");
    if (a->user == NULL)
        return nsrc == 0 ? HERALD_OK
               : herald_diag_set(diag, HERALD_E_CONFIG, "smtp", "auth needs a user");
    if (nsrc != 1)
        return herald_diag_set(diag, HERALD_E_CONFIG, "smtp",
                               "auth needs exactly one of password, password_file, token_file");
    for (i = 0; i < a->mechanisms.count; i++) {
        unsigned m = 0;

        if (smtp_auth_parse_list(a->mechanisms.items[i], &m, bad, sizeof bad) != HERALD_OK)
            return herald_diag_set(diag, HERALD_E_CONFIG, "smtp",
                                   "auth.mechanisms: unknown mechanism \"%s\"", bad);
    }
    return HERALD_OK;
}

/* open_tls_auth - TLS config and credentials of the device */
static herald_status
open_tls_auth(struct smtp_transport *tp, struct herald_diag *diag)
{
    const struct smtp_transport_options *o = tp->opts;
    const struct smtp_auth_options *a = &o->auth;
    const char *secret = a->password;
    unsigned mechs = 0;
    char bad[64] = "";
    size_t i;
    herald_status st;

    st = smtp_check(o, diag);   /* already run at load; open() never trusts a caller */
    if (st != HERALD_OK)
        return st;
    if (o->tls != SMTP_TLS_NONE) {
        /* AUTH over verified TLS needs the CA as much as tls = verify does. */
        bool verify = o->tls == SMTP_TLS_VERIFY
                      || (a->user != NULL && a->require_tls == SMTP_AUTH_TLS_VERIFY);

        st = smtp_tls_config_new(o->ca_file, o->ca_path, verify, o->ciphersuites, &tp->tls,
                                 diag);
        if (st != HERALD_OK)
            return st;
    }
    tp->session_opts.tls_policy = o->tls;
    tp->session_opts.tls_config = tp->tls;
    tp->session_opts.implicit_tls = o->implicit_tls;
    if (a->user == NULL)
        return HERALD_OK;
    for (i = 0; i < a->mechanisms.count; i++) {
        unsigned m = 0;

        if (smtp_auth_parse_list(a->mechanisms.items[i], &m, bad, sizeof bad) == HERALD_OK)
            mechs |= m;
    }
    if (a->password_file != NULL || a->token_file != NULL) {
        bool token = a->token_file != NULL;

        st = read_secret_file(token ? "token file" : "password file",
                              token ? a->token_file : a->password_file, &tp->file_secret, diag);
        if (st != HERALD_OK)
            return st;
        st = herald_env_add_secret(tp->env, tp->file_secret);
        if (st != HERALD_OK)
            return herald_diag_set(diag, st, "smtp", "cannot register the secret for redaction");
        secret = tp->file_secret;
        tp->session_opts.auth_token = token;
    }
    tp->session_opts.auth_user = a->user;
    tp->session_opts.auth_secret = secret;
    tp->session_opts.auth_mechs = mechs;
    tp->session_opts.auth_require_tls = a->require_tls;
    return HERALD_OK;
}

/*
 * open_pool - the session pool's limits: max_sessions as far as descriptors
 * allow (smtp_fdlimit.h; the trace says when the open-file limit was raised
 * or the sessions cut), the per-host window between initial and maximum
 */
static herald_status
open_pool(struct smtp_transport *tp, struct herald_diag *diag)
{
    const struct smtp_transport_options *o = tp->opts;
    const struct herald_trace *trace = herald_env_trace(tp->env);
    struct smtp_dest_limits lim;
    struct smtp_pool_opts pool;
    struct smtp_fd_budget b;

    smtp_fd_budget((size_t)o->max_sessions, (size_t)o->max_idle_sessions, &b);
    if (b.raised)
        herald_trace_log(trace, b.clamped ? HERALD_TRACE_WARN : HERALD_TRACE_INFO, "smtp",
                         "max_sessions = %lld needs about %zu file descriptors: raised the "
                         "open-file limit (RLIMIT_NOFILE) from %lu to %lu", (long long)o->max_sessions,
                         b.need, b.soft_before, b.soft);
    if (b.clamped)
        herald_trace_log(trace, HERALD_TRACE_WARN, "smtp",
                         "max_sessions = %lld needs about %zu file descriptors, the open-file "
                         "limit (RLIMIT_NOFILE) is %lu (hard limit %lu) and %zu are open: "
                         "at most %zu sessions at once", (long long)o->max_sessions, b.need,
                         b.soft, b.hard, b.open_now, b.sessions);
    tp->max_sessions = b.sessions;
    lim.max_sessions = b.sessions;
    lim.max_per_dest = (size_t)o->max_sessions_per_host;
    lim.initial_per_dest = (size_t)o->initial_sessions_per_host;
    pool.cache = o->session_cache;
    pool.idle_ms = (uint64_t)o->session_idle_ms;
    pool.max_idle = (size_t)o->max_idle_sessions;
    pool.trace = trace;
    if (smtp_dests_new(&lim, &tp->dests) != HERALD_OK
        || smtp_pool_new(herald_env_loop(tp->env), &pool, on_closed, tp, &tp->pool) != HERALD_OK)
        return herald_diag_set(diag, HERALD_E_NOMEM, "smtp", "out of memory");
    return HERALD_OK;
}

/*
 * note_auth - tell the administrator (herald check) which hops get the
 * credentials and over what; the same rule as hop_gets_credentials() and
 * the session's auth.require_tls check.  The user name only, never a secret.
 */
static herald_status
note_auth(struct smtp_transport *tp)
{
    static const char *const over[] = {
        "only over TLS verified for the host name",
        "only over TLS, certificate not checked (auth.require_tls = \"encrypted\")",
        "in clear text too (auth.require_tls = \"none\")",
    };
    const struct smtp_session_opts *so = &tp->session_opts;
    char note[HERALD_NOTE_MAX + 1];
    int n;

    if (so->auth_user == NULL)
        return herald_env_note(tp->env, "no AUTH configured");
    if (so->auth_require_tls < 0 || so->auth_require_tls > SMTP_AUTH_TLS_NONE)
        return HERALD_E_INVAL;
    n = snprintf(note, sizeof note, "AUTH as \"%.64s%s\" only to smart-host hops, %s; "
                 "MX hops never authenticate", so->auth_user,
                 strlen(so->auth_user) > 64 ? "..." : "", over[so->auth_require_tls]);
    if (n < 0 || (size_t)n >= sizeof note)
        return HERALD_E_INVAL;
    return herald_env_note(tp->env, note);
}

static void smtp_close(void *state);

static herald_status
smtp_open(const void *options, struct herald_env *env, void **state_out,
          struct herald_diag *diag)
{
    const struct smtp_transport_options *o = options;
    struct smtp_transport *tp;
    herald_status st;

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
    tp->session_opts.eightbit_downgrade = o->eightbit_downgrade;
    tp->session_opts.max_rcpt = (size_t)o->max_recipients_per_transaction;
    st = open_pool(tp, diag);
    if (st == HERALD_OK)
        st = open_tls_auth(tp, diag);
    if (st == HERALD_OK && note_auth(tp) != HERALD_OK)
        st = herald_diag_set(diag, HERALD_E_NOMEM, "smtp", "cannot note the AUTH policy");
    if (st != HERALD_OK) {
        smtp_close(tp);
        return st;
    }
    *state_out = tp;
    return HERALD_OK;
}

/*
 * smtp_close - QUIT every idle session and wait for the replies, bounded by
 * the QUIT timeout (the session enforces it per connection; the run's own
 * bound is a backstop), then free whatever is left.
 */
static void
smtp_close(void *state)
{
    struct smtp_transport *tp = state;

    if (tp == NULL)
        return;
    tp->pumping = true;   /* a QUIT ending now must not start a waiting job */
    herald_timer_cancel(&tp->fd_timer);
    smtp_pool_drain(tp->pool, tp->session_opts.quit_ms + 1000);
    /* herald_close() waits for every delivery first, so nothing should be
     * waiting or busy here; whatever is left is freed, not started. */
    if (tp->dests != NULL) {
        struct smtp_dest_waiter *w;

        while ((w = smtp_dests_any(tp->dests)) != NULL)
            smtp_job_free(job_of(w));
    }
    smtp_pool_free(&tp->pool);
    smtp_dests_free(&tp->dests);
    smtp_tls_config_free(&tp->tls);
    free_secret(&tp->file_secret);
    free(tp);
}

/* smtp_probe_op - "herald probe" (smtp_probe.h), within max_sessions */
static herald_status
smtp_probe_op(void *state, struct herald_probe *probe)
{
    struct smtp_transport *tp = state;

    return smtp_probe_start(herald_env_loop(tp->env), &tp->session_opts, tp->max_sessions, probe);
}

static const struct herald_transport_ops smtp_ops = {
    .struct_size = sizeof(struct herald_transport_ops),
    .open = smtp_open,
    .start = smtp_start,
    .close = smtp_close,
    .probe = smtp_probe_op,
};

const struct herald_module herald_module = {
    HERALD_MODULE_HEADER(HERALD_KIND_TRANSPORT),
    .name = "smtp",
    .summary = "ESMTP/SMTP client: EHLO with HELO fallback, PIPELINING, SIZE, 8BITMIME, "
               "STARTTLS/implicit TLS, AUTH",
    .options = smtp_option_table,
    .options_size = sizeof(struct smtp_transport_options),
    .options_defaults = &smtp_defaults,
    .check = smtp_check,
    .ops = &smtp_ops,
};
