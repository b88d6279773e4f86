/*
 * herald/probe.h - "herald probe": every hop of a route tried, no message sent
 *
 * What an administrator does by hand with nslookup and telnet, done the way
 * the device itself would do it: the device's route strategy plans the hops
 * (as herald_route() does), then every address of every hop gets a session
 * of its own, with the device's TLS policy, AUTH rule and timeouts: connect,
 * greeting, EHLO (HELO), STARTTLS, AUTH where the device authenticates,
 * MAIL FROM, RCPT TO, then RSET and QUIT.  DATA is never sent.
 *
 *   struct herald_probe_options o = HERALD_PROBE_OPTIONS_INIT;
 *   struct herald_probe *p;
 *   o.recipient = "b@example.com";
 *   herald_probe(dev, "example.com", &o, &p, &diag);   // runs the loop until done
 *   for each hop h, address a: r = herald_probe_result(p, h, a); ...
 *   herald_probe_free(&p);
 *
 * Two sides: the caller's (herald_probe(), the accessors), and the module
 * side: a device's probe() (herald/device.h) hands the probe to its
 * transport's probe() (herald/transport.h), which walks the jobs, one per
 * hop address, records each step with the herald_probe_job_* setters and
 * ends every job once with herald_probe_job_done().  Setters copy their
 * strings, made printable ('?' for a control character) and bounded
 * (HERALD_PROBE_TEXT_MAX octets): peer text never forges an output line.
 * ABI 2.3.
 */
#ifndef HERALD_PROBE_H
#define HERALD_PROBE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <herald/status.h>
#include <herald/outcome.h>
#include <herald/dns.h>
#include <herald/timeouts.h>

#ifdef __cplusplus
extern "C" {
#endif

struct herald_probe;
struct herald_probe_job;
struct herald_device;
struct herald_route_plan;
struct herald_trace;

#define HERALD_PROBE_TEXT_MAX 1000    /* octets kept of any one text */
#define HERALD_PROBE_LIST_MAX 64      /* extensions or certificate names kept */

/* Start from HERALD_PROBE_OPTIONS_INIT: the core reads a member only when
 * struct_size covers it. */
struct herald_probe_options {
    uint32_t struct_size;
    const char *sender;        /* MAIL FROM; NULL or "": the null sender <> */
    const char *recipient;     /* RCPT TO; NULL: no RCPT */
    bool try_auth;             /* log in where the device authenticates (else
                                  only the mechanisms offered are shown) */
    /* ABI 2.5: the whole probe ends by deadline_ms after herald_probe() was
     * called, however many steps, hops and addresses each server drags out
     * to its own timeout; 0: no overall deadline.  A caller built before it
     * gets HERALD_DEFAULT_PROBE_DEADLINE_MS. */
    uint64_t deadline_ms;
};
#define HERALD_PROBE_OPTIONS_INIT \
    { .struct_size = (uint32_t)sizeof(struct herald_probe_options), \
      .deadline_ms = HERALD_DEFAULT_PROBE_DEADLINE_MS }

/* One address of one hop, as probed.  A step that was not reached has its
 * "_done" flag false (or code 0) and NULL texts: nothing is invented.
 * Borrowed from the probe. */
struct herald_probe_result {
    const char *address;               /* "127.0.0.1", "::1" */
    bool connect_done, connect_ok;
    uint64_t connect_ms;               /* time to connect, or to fail */
    const char *connect_error;         /* NULL when connected */
    int greeting_code;                 /* 0: none came */
    const char *greeting;              /* "220 mx.example ESMTP" */
    bool ehlo_done, ehlo_ok;
    bool helo;                         /* EHLO refused, HELO answered */
    int ehlo_code;                     /* the reply's code (HELO's after a refused EHLO) */
    const char *ehlo_reply;            /* the reply's first line, or HELO's */
    size_t extension_count;
    const char *const *extensions;     /* "PIPELINING", "SIZE 10240000", ... */
    bool tls_done, tls_ok;             /* STARTTLS tried; handshake ended well */
    const char *tls_version;           /* "TLSv1.2" */
    const char *tls_cipher;
    bool tls_verified;                 /* chain trusted and name matched */
    const char *tls_verify;            /* "ok", or why not */
    const char *tls_subject, *tls_issuer;
    size_t tls_name_count;
    const char *const *tls_names;      /* subjectAltName DNS names and addresses */
    const char *tls_not_after;         /* "2027-01-31T12:00:00Z" */
    const char *tls_error;             /* why the handshake or the policy failed */
    bool auth_done;                    /* the device would authenticate here */
    const char *auth_mechanisms;       /* offered, "PLAIN LOGIN"; "" for none */
    bool auth_tried, auth_ok;          /* a login was tried (try_auth), its result */
    const char *auth_mechanism;        /* the one tried */
    const char *auth_reply;            /* redacted */
    int mail_code;                     /* 0: MAIL not sent */
    const char *mail_reply;
    int rcpt_code;                     /* 0: RCPT not sent */
    const char *rcpt_reply;
    const char *error;                 /* why the session ended early (timeout, ...) */
    /* DELIVERED: the recipient (without one: the sender) would be accepted
     * here; DEFERRED: not now (no connection, 4xx, timeout, TLS policy);
     * FAILED: refused permanently (5xx greeting, EHLO and HELO, MAIL, RCPT). */
    enum herald_result verdict;
    /* ABI 2.5: the probe's deadline ended this address's session before its
     * answer (error says in which step) */
    bool expired;
};

/*
 * herald_probe - plan the route for domain with dev's route strategy and
 * probe every address of every hop, in parallel within the device's limits,
 * each step bounded by the device's timeouts and the whole by the options'
 * deadline (planning has its own bound, route.timeout_ms, and counts
 * against it); runs the context's loop until every address has its result.
 * HERALD_OK: *probe_out holds the plan (which may hold a route error:
 * herald_plan_error) and the results.  HERALD_E_TIMEOUT: a transport that
 * does not know the deadline (built before ABI 2.5) was still probing well
 * after it.
 * HERALD_E_NOTFOUND: the device has no route strategy or cannot probe
 * (its driver or transport has no probe()); HERALD_E_INVAL, HERALD_E_ADDRESS
 * (a sender or recipient with a control character), HERALD_E_NOMEM, HERALD_E_IO.
 */
herald_status herald_probe(struct herald_device *dev, const char *domain,
                           const struct herald_probe_options *opts,
                           struct herald_probe **probe_out, struct herald_diag *diag);
void herald_probe_free(struct herald_probe **probe);

const struct herald_route_plan *herald_probe_plan(const struct herald_probe *probe);
/* The result of address a of hop h (herald_plan_hop()), NULL out of range. */
const struct herald_probe_result *herald_probe_result(const struct herald_probe *probe,
                                                      size_t hop, size_t address);
/* DELIVERED when some address would accept, else FAILED when one refused
 * permanently, else DEFERRED (also for a plan without hops: its own error). */
enum herald_result herald_probe_verdict(const struct herald_probe *probe);
/* ABI 2.5: how many addresses the deadline cut short (0: it did not fire) */
size_t herald_probe_expired(const struct herald_probe *probe);

/* Module side: what a transport's probe() reads. */
size_t herald_probe_job_count(const struct herald_probe *probe);
struct herald_probe_job *herald_probe_job_at(struct herald_probe *probe, size_t i);
const char *herald_probe_sender(const struct herald_probe *probe);      /* "" null sender */
const char *herald_probe_recipient(const struct herald_probe *probe);   /* NULL: no RCPT */
bool herald_probe_try_auth(const struct herald_probe *probe);
const struct herald_trace *herald_probe_trace(const struct herald_probe *probe);
const char *herald_probe_job_host(const struct herald_probe_job *job);
uint16_t herald_probe_job_port(const struct herald_probe_job *job);
const char *herald_probe_job_origin(const struct herald_probe_job *job);
const struct herald_address *herald_probe_job_address(const struct herald_probe_job *job);
/* ABI 2.5: milliseconds left before the probe's deadline, 0 once it has
 * passed, UINT64_MAX without one.  A transport bounds every wait by it (a
 * step's own timeout or this, whichever ends first) and ends a job whose
 * wait ended at the deadline with herald_probe_job_expired(). */
uint64_t herald_probe_remaining_ms(const struct herald_probe *probe);

/* Module side: each step as it happened.  HERALD_E_INVAL after done. */
herald_status herald_probe_job_connect(struct herald_probe_job *job, bool ok, uint64_t ms,
                                       const char *error);
herald_status herald_probe_job_greeting(struct herald_probe_job *job, int code,
                                        const char *reply);
/* a later call (EHLO again after STARTTLS) replaces the earlier reply and
 * its extensions: the result shows the list the device would use */
herald_status herald_probe_job_ehlo(struct herald_probe_job *job, int code, bool helo,
                                    const char *reply);
herald_status herald_probe_job_extension(struct herald_probe_job *job, const char *keyword);
/* The TLS step: version, cipher, subject, issuer, not_after, verify, error
 * may be NULL (not known); names come one by one after it. */
struct herald_probe_tls {
    uint32_t struct_size;              /* sizeof(struct herald_probe_tls) */
    bool ok, verified;
    const char *version, *cipher, *subject, *issuer, *not_after, *verify, *error;
};
herald_status herald_probe_job_tls(struct herald_probe_job *job, const struct herald_probe_tls *t);
herald_status herald_probe_job_tls_name(struct herald_probe_job *job, const char *name);
/* mechanisms offered; mechanism NULL when no login was tried */
herald_status herald_probe_job_auth(struct herald_probe_job *job, const char *mechanisms,
                                    const char *mechanism, bool ok, const char *reply);
herald_status herald_probe_job_mail(struct herald_probe_job *job, int code, const char *reply);
herald_status herald_probe_job_rcpt(struct herald_probe_job *job, int code, const char *reply);
/* the session ended early: why (a timeout, a lost connection, the TLS policy);
 * permanent only for what a 5xx would mean */
herald_status herald_probe_job_error(struct herald_probe_job *job, bool permanent,
                                     const char *why);
/* ABI 2.5: the probe's deadline ended the session while doing ("waiting
 * for the greeting"): the error says so and the address counts as cut
 * short (herald_probe_expired); the job still ends with _done(). */
herald_status herald_probe_job_expired(struct herald_probe_job *job, const char *doing);
/* The job is finished; exactly once per job, from the loop or inside probe(). */
void herald_probe_job_done(struct herald_probe_job *job);

#ifdef __cplusplus
}
#endif
#endif
