/*
 * herald/transport.h - the transport ABI (module kind HERALD_KIND_TRANSPORT)
 *
 * A transport speaks to one next hop.  A device (email) hands it a job: one
 * message, the recipients still pending, and one hop address to try.  The
 * transport reports, then ends the job exactly once with herald_job_done():
 *   - herald_job_recipient(): a final word on a recipient from the peer
 *     (accepted after the final dot, RCPT 5xx, 4xx ...);
 *   - herald_job_session_failed(): this hop did not take the message (no
 *     connection, 4xx/5xx greeting, EHLO and HELO refused, connection lost
 *     before the end of DATA): recipients without a word go on to the next
 *     address or hop.  The reply is kept as the reason if nothing else works.
 *   - herald_job_hop_failed() (ABI 2.6): the same, when the hop itself failed
 *     before any transaction, so the queue runner can hold it down a while.
 *
 * The core owns the job; strings passed in are copied.
 */
#ifndef HERALD_TRANSPORT_H
#define HERALD_TRANSPORT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <herald/status.h>
#include <herald/outcome.h>
#include <herald/dns.h>

#ifdef __cplusplus
extern "C" {
#endif

struct herald_env;
struct herald_message;
struct herald_trace;
struct herald_transport_job;
struct herald_module_ref;
struct herald_probe;

struct herald_transport_ops {
    uint32_t struct_size;    /* sizeof(struct herald_transport_ops) at build time */
    /* Per device: make the transport's state (TLS contexts, session cache). */
    herald_status (*open)(const void *options, struct herald_env *env, void **state_out,
                          struct herald_diag *diag);
    /* Start a job.  An error status means the job will not be reported on:
     * the core then ends it as a session failure with the status text. */
    herald_status (*start)(void *state, struct herald_transport_job *job);
    void (*close)(void *state);   /* may be NULL */
    /* ABI 2.3, optional: one session per job of the probe (herald/probe.h),
     * with the device's TLS policy, AUTH rule, limits and timeouts, never
     * DATA.  HERALD_OK: every job will end with herald_probe_job_done();
     * an error: none was started. */
    herald_status (*probe)(void *state, struct herald_probe *probe);
};

/* What a transport reads from its job. */
const struct herald_message *herald_job_message(const struct herald_transport_job *job);
size_t herald_job_recipient_count(const struct herald_transport_job *job);
const char *herald_job_recipient_address(const struct herald_transport_job *job, size_t i);
const char *herald_job_host(const struct herald_transport_job *job);     /* hop name */
uint16_t herald_job_port(const struct herald_transport_job *job);
const struct herald_address *herald_job_address(const struct herald_transport_job *job);
const char *herald_job_origin(const struct herald_transport_job *job);   /* "mx", "smarthost" */
const struct herald_trace *herald_job_trace(const struct herald_transport_job *job);
struct herald_env *herald_job_env(const struct herald_transport_job *job);

/* The peer's final word on recipient i of this job. */
herald_status herald_job_recipient(struct herald_transport_job *job, size_t i,
                                   enum herald_result result, const char *reply,
                                   const char *dsn, bool possibly_delivered);
/* This hop did not take the message; permanent is true for a 5xx session
 * refusal (only when every hop refuses permanently do the recipients fail). */
void herald_job_session_failed(struct herald_transport_job *job, bool permanent,
                               const char *reply, const char *dsn);
/* ABI 2.6: as herald_job_session_failed(), and the failure came before any
 * transaction on a new connection (no connection, a refused, dropped or
 * silent greeting, EHLO and HELO refused, TLS or AUTH failed): it says
 * nothing about this message and everything about the hop.  A 4xx to one
 * RCPT or to one message's DATA, or a reused session that dropped, is not
 * that: call herald_job_session_failed() for those. */
void herald_job_hop_failed(struct herald_transport_job *job, bool permanent, const char *reply,
                           const char *dsn);
/* Record the peer "ADDR:PORT" once connected (for outcomes). */
void herald_job_set_peer(struct herald_transport_job *job, const char *peer);
void herald_job_done(struct herald_transport_job *job);

/* One recipient's word from the peer, as herald_job_recipient() gave it
 * (ABI 2.4).  Undecided: no word came (result DEFERRED, reply and dsn "");
 * the recipient is still to deliver, by the next address or hop. */
struct herald_rcpt_word {
    bool decided;
    enum herald_result result;
    const char *reply;              /* printable, never NULL */
    const char *dsn;                /* "" for none, never NULL */
    bool possibly_delivered;
};

/* Device side: the results of a finished job, borrowed for the done call. */
struct herald_job_result {
    bool session_failed;
    bool permanent;                 /* session_failed with a 5xx */
    const char *reply;              /* session failure reply */
    const char *dsn;
    const char *peer;               /* "" when never connected */
    size_t count;                   /* recipients of the job */
    /* Deprecated since ABI 2.4, removed at the next major: the same words as
     * rcpts[] below, as parallel arrays for modules built for ABI 2.3 and
     * earlier.  rcpt_reply[i] and rcpt_dsn[i] are NULL when !decided[i].
     * New code reads rcpts. */
    const bool *decided;
    const enum herald_result *result;
    const char *const *rcpt_reply;
    const char *const *rcpt_dsn;
    const bool *possibly_delivered;
    /* ABI 2.4: rcpts[i] is recipient i's word, count entries.  A module
     * built for 2.4 is loaded only by a core that fills it. */
    const struct herald_rcpt_word *rcpts;
    /* ABI 2.6: session_failed came from herald_job_hop_failed(): the hop
     * failed before any transaction (a transport built before 2.6 never says so). */
    bool hop_failed;
};
typedef void (*herald_job_fn)(void *arg, const struct herald_job_result *res);

/* Open a transport's per-device state (device open()), and close it. */
herald_status herald_transport_open(const struct herald_module_ref *transport,
                                    struct herald_env *env, void **state_out,
                                    struct herald_diag *diag);
void herald_transport_close(const struct herald_module_ref *transport, void *state);

/* herald_transport_probe - the transport's probe() (see above) with its
 * device state; HERALD_E_NOTFOUND when the module has none (built before
 * ABI 2.3, or it cannot probe). */
herald_status herald_transport_probe(const struct herald_module_ref *transport, void *state,
                                     struct herald_probe *probe);

/* Run one job: recipients are addresses (copied).  done runs from the loop,
 * exactly once, with results borrowed for the call. */
herald_status herald_transport_run(const struct herald_module_ref *transport, void *state,
                                   struct herald_env *env, const struct herald_trace *trace,
                                   const struct herald_message *msg,
                                   const char *const *recipients, size_t count,
                                   const char *host, uint16_t port, const char *origin,
                                   const struct herald_address *address,
                                   herald_job_fn done, void *arg);

#ifdef __cplusplus
}
#endif
#endif
