/*
 * smtp_session.h - the SMTP client state machine for one hop address
 *
 * A session connects to one address and port, reads the greeting, says
 * EHLO (HELO when EHLO gets a 5xx), and sends messages: MAIL, RCPT for each
 * recipient, DATA, the body streamed through smtp_body in bounded chunks,
 * the final dot.  With PIPELINING, MAIL, the RCPTs and DATA go in one write
 * and the replies are read in order.  After a transaction the session stays
 * open for the next message to the same hop (RSET first); smtp_session_quit()
 * ends it with QUIT.
 *
 * Results come through struct smtp_session_cb, always from the loop, never
 * from inside smtp_session_send():
 *   recipient()  the peer's word on recipient i: RCPT 5xx -> FAILED, 4xx ->
 *                DEFERRED; after the dot 2xx -> DELIVERED, 4xx/5xx apply to
 *                every accepted recipient; a timeout or a lost connection
 *                after the dot -> DEFERRED with possibly_delivered.
 *                A SIZE the server advertises and the message exceeds is a
 *                local, permanent refusal before MAIL: "552 5.3.4 message too
 *                large for server".
 *   failed()     this hop did not take the message (no connection, 4xx/5xx
 *                greeting, "EHLO and HELO refused", timeout or connection
 *                lost before the dot, protocol error): recipients without a
 *                word may go to the next hop.  Only RCPT 5xx answers are
 *                reported with a session failure.  permanent is true for a
 *                5xx refusal of the session, never for a refused AUTH (the
 *                reply says "authentication refused", the dsn is 4.x.x).
 *                After a refusal the session says QUIT and waits for the 221.
 *                A reply without an enhanced status code gets a dsn from its
 *                class ("5.0.0"); any echo of the credentials in a reply is
 *                "<redacted>" (smtp_auth_redact).
 *   done()       exactly once per smtp_session_send(), last; the caller may
 *                free the session or send the next message from it.
 * An 8-bit body (smtp_message.eight_bit) to a server without 8BITMIME
 * (RFC 6152 3), per opts.eightbit_downgrade: CONVERT streams it through
 * mime_7bit.h (8bit parts become quoted-printable; SIZE= stays the stored
 * size) and traces what it did once the body is sent, with a warning for
 * what it could not convert; SEND sends it as it is, with a warning; REFUSE
 * fails every recipient before MAIL: "554 5.6.3 8-bit body and the server
 * does not offer 8BITMIME (eightbit_downgrade = refuse)".
 * Every command and reply line is traced at info ("C: MAIL FROM:<a@b>",
 * "S: 250 2.1.0 Ok"), state changes at debug.
 *
 * Ownership: smtp_session_new() / smtp_session_free(&s) (closes at once,
 * no callbacks after it).  The message and its strings are borrowed until
 * done() runs.  Getters are borrowed.
 */
#ifndef HERALD_SMTP_SESSION_H
#define HERALD_SMTP_SESSION_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <herald/status.h>
#include <herald/loop.h>
#include <herald/dns.h>
#include <herald/outcome.h>
#include <herald/message.h>
#include <herald/trace.h>

/* One enum for every protocol state; smtp_state_name() gives its trace name. */
enum smtp_state {
    SMTP_S_INIT = 0,       /* not connected yet */
    SMTP_S_CONNECT,
    SMTP_S_GREETING,
    SMTP_S_EHLO,
    SMTP_S_HELO,
    SMTP_S_STARTTLS,       /* waiting for the reply to STARTTLS */
    SMTP_S_TLS,            /* TLS handshake (STARTTLS or implicit) */
    SMTP_S_AUTH,           /* AUTH exchange */
    SMTP_S_READY,          /* greeted, between transactions */
    SMTP_S_RSET,
    SMTP_S_MAIL,
    SMTP_S_RCPT,
    SMTP_S_DATA,
    SMTP_S_BODY,           /* sending the body, no reply expected */
    SMTP_S_DOT,            /* waiting for the reply to the final dot */
    SMTP_S_QUIT,
    SMTP_S_CLOSED,
    SMTP_S__LAST
};
const char *smtp_state_name(enum smtp_state st);   /* "EHLO", "?" when out of range */

/* An 8-bit body to a server without 8BITMIME; the order of the option's words. */
enum smtp_8bit_downgrade {
    SMTP_8BIT_CONVERT = 0,        /* to 7-bit MIME (the default) */
    SMTP_8BIT_SEND,               /* as it is, with a warning */
    SMTP_8BIT_REFUSE              /* not at all: 5.6.3 for every recipient */
};

/* Timeouts in milliseconds; smtp_session_opts_init() gives the defaults of
 * herald/timeouts.h (HERALD_DEFAULT_SMTP_*_MS: RFC 5321 4.5.3.2). */
struct smtp_session_opts {
    const char *helo_name;        /* NULL: this host's FQDN (copied) */
    uint64_t connect_ms;          /* CONNECT */
    uint64_t greeting_ms;         /* GREETING */
    uint64_t ehlo_ms;             /* HELO: EHLO, HELO, RSET */
    uint64_t mail_ms;             /* MAIL */
    uint64_t rcpt_ms;             /* RCPT */
    uint64_t data_ms;             /* DATA: the reply to DATA */
    uint64_t block_ms;            /* BLOCK: each block of the body */
    uint64_t dot_ms;              /* DOT: the reply to the final dot */
    uint64_t quit_ms;             /* QUIT: a courtesy */
    /* TLS and AUTH (smtp_tls.h, smtp_auth.h); all off after smtp_session_opts_init().
     * After STARTTLS the session says EHLO again and uses only the new list.
     * With a policy of REQUIRED or VERIFY no MAIL is ever sent in clear.
     * OPPORTUNISTIC: a failed STARTTLS handshake is followed by one new
     * connection in clear text (traced); a TLS failure otherwise fails the
     * session, temporarily (HERALD_E_TLS, DSN 4.7.0). */
    int tls_policy;                        /* enum smtp_tls_policy */
    struct smtp_tls_config *tls_config;    /* borrowed; TLS is off while NULL */
    uint64_t tls_ms;                       /* handshake timeout: ehlo_ms when 0 */
    bool implicit_tls;                     /* TLS from the first octet (RFC 8314) */
    const char *auth_user;                 /* NULL: no AUTH on this hop (borrowed) */
    const char *auth_secret;               /* password or XOAUTH2 token (borrowed) */
    bool auth_token;                       /* auth_secret is an XOAUTH2 token */
    unsigned auth_mechs;                   /* SMTP_AUTH_* allowed; 0 means all */
    int auth_require_tls;                  /* enum smtp_auth_tls: VERIFY; when it is
                                              not met the hop fails (4.7.0), no AUTH */
    int eightbit_downgrade;                /* enum smtp_8bit_downgrade: CONVERT */
    size_t max_rcpt;                       /* recipients per transaction (0: the default) */
};
/* Recipients per transaction unless configured: Postfix's default destination
 * recipient limit.  The transport's option default and the session's
 * fallback are both this. */
#define SMTP_MAX_RCPT_DEFAULT 50
void smtp_session_opts_init(struct smtp_session_opts *o);

/* Reads up to cap octets of the body; *n_out == 0 at its end. */
typedef herald_status (*smtp_body_read_fn)(void *arg, void *buf, size_t cap, size_t *n_out);

struct smtp_message {
    const char *sender;           /* "" for the null reverse-path */
    const char *const *rcpts;
    size_t nrcpt;                 /* at least 1 */
    uint64_t size;                /* body octets: SIZE= and the SIZE check */
    bool eight_bit;               /* BODY=8BITMIME when the server offers it */
    bool smtputf8;                /* an address is UTF-8: only to SMTPUTF8 servers */
    unsigned dsn_notify;          /* HERALD_DSN_NOTIFY_* (herald/message.h); 0: none */
    enum herald_dsn_ret dsn_ret;
    const char *dsn_envid;        /* NULL: none */
    smtp_body_read_fn read;       /* from the start of the body, each transaction */
    void *read_arg;
};

/* The final word on one recipient: what the session reports, what the
 * transport hands on (herald_job_recipient), the one shape of it in the
 * email device.  Borrowed for the callback. */
struct smtp_rcpt_result {
    enum herald_result result;
    const char *reply;            /* the server's reply line, or Herald's own words */
    const char *dsn;              /* "5.1.1"; from the reply's class when it has none */
    bool possibly_delivered;      /* DEFERRED after the dot went out: no other hop */
};

struct smtp_session_cb {
    void (*connected)(void *arg, const char *peer);     /* may be NULL */
    void (*recipient)(void *arg, size_t i, const struct smtp_rcpt_result *res);
    void (*failed)(void *arg, herald_status why, bool permanent, const char *reply,
                   const char *dsn);
    void (*done)(void *arg);
    void *arg;
};

struct smtp_session;

/*
 * smtp_session_new - a session for addr:port (nothing is sent until the
 * first smtp_session_send).  trace may be NULL; it is borrowed.
 * HERALD_E_INVAL (bad arguments, a HELO name with control characters),
 * HERALD_E_NOMEM.
 */
herald_status smtp_session_new(struct herald_loop *loop, const struct herald_trace *trace,
                               const struct herald_address *addr, uint16_t port,
                               const struct smtp_session_opts *opts,
                               struct smtp_session **s_out);
void smtp_session_free(struct smtp_session **s);

/*
 * smtp_session_send - send one message: connects first when needed.
 * HERALD_E_INVAL when the session is busy or closed, or an address holds a
 * control character or angle bracket (no callback then); HERALD_E_NOMEM;
 * HERALD_E_LIMIT when a new connection finds no free file descriptor (no
 * callback either: the session is as before, the caller may wait for one).
 */
herald_status smtp_session_send(struct smtp_session *s, const struct smtp_message *msg,
                                const struct smtp_session_cb *cb);

/*
 * smtp_session_set_trace - where the session traces from now on (NULL: nowhere).
 * A cached session outlives the delivery whose trace it was given, so the
 * transport points it at each new job's trace, and at the device's while idle.
 */
void smtp_session_set_trace(struct smtp_session *s, const struct herald_trace *trace);

/*
 * smtp_session_set_tls_name - the host name for SNI and the certificate
 * check (the MX or smart host name); without it the address text is used,
 * which no certificate matches under tls = verify.  Copied.  HERALD_E_INVAL
 * for an empty or over-long name.
 */
herald_status smtp_session_set_tls_name(struct smtp_session *s, const char *name);

/*
 * smtp_session_set_wire - the next connection is made over fd (a connected
 * stream socket, taken over: the session closes it) instead of TCP to the
 * address, its octets through ops/ctx (NULL: send/recv on fd).  The seam of
 * the hermetic dialogue tests (tests/unit/test_smtp_dialogue.c): one end of
 * a socketpair, a script at the other.  HERALD_E_INVAL when a wire is set.
 */
struct smtp_stream_ops;
herald_status smtp_session_set_wire(struct smtp_session *s, int fd,
                                    const struct smtp_stream_ops *ops, void *ctx);

/* smtp_session_usable - true when another message can be sent now */
bool smtp_session_usable(const struct smtp_session *s);

/* smtp_session_quit - say QUIT when idle and close; fn (may be NULL) runs
 * from the loop once closed.  A busy session is closed at once. */
void smtp_session_quit(struct smtp_session *s, void (*fn)(void *arg), void *arg);

enum smtp_state smtp_session_state(const struct smtp_session *s);
/* smtp_session_failed_early - the last send's session failure came before any
 * transaction on a new connection (connect, greeting, EHLO/HELO, STARTTLS,
 * TLS, AUTH): the hop failed, not the message (herald_job_hop_failed) */
bool smtp_session_failed_early(const struct smtp_session *s);
/* "ADDR:PORT" of the peer ("[::1]:25" for IPv6) */
const char *smtp_session_peer(const struct smtp_session *s);
/* The server's extensions (SMTP_EXT_* of smtp_ehlo.h), 0 before EHLO. */
unsigned smtp_session_extensions(const struct smtp_session *s);

/* smtp_default_helo_name - this host's FQDN (getaddrinfo AI_CANONNAME),
 * else gethostname(), else "localhost.localdomain"; into buf. */
void smtp_default_helo_name(char *buf, size_t cap);

#endif
