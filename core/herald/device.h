/*
 * herald/device.h - the device driver ABI (module kind HERALD_KIND_DEVICE)
 *
 * A driver delivers messages.  The core validates the device's options
 * against the driver's option table, then calls open() once per configured
 * device, deliver() once per message, close() at herald_close().
 *
 * deliver() is asynchronous: it may finish at once or later from the event
 * loop, but it must end, exactly once, with herald_delivery_done().  Before
 * that it records a report for every recipient with herald_delivery_report();
 * a recipient without a report ends DEFERRED with "no outcome recorded",
 * which the trace flags as a driver bug.  Nothing is ever silently dropped.
 */
#ifndef HERALD_DEVICE_H
#define HERALD_DEVICE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <herald/status.h>
#include <herald/outcome.h>

#ifdef __cplusplus
extern "C" {
#endif

struct herald_env;        /* what the core lends a module: loop, trace, DNS */
struct herald_delivery;   /* one message going through one device */
struct herald_message;
struct herald_trace;
struct herald_loop;
struct herald_probe;

struct herald_device_ops {
    uint32_t struct_size;   /* sizeof(struct herald_device_ops) at build time */
    herald_status (*open)(const char *device_name, const void *options,
                          struct herald_env *env, void **state_out,
                          struct herald_diag *diag);
    void (*deliver)(void *state, struct herald_delivery *delivery);
    void (*close)(void *state);      /* may be NULL */
    /* ABI 2.3, optional: probe the hops of a plan the core made with the
     * device's route strategy (herald/probe.h), usually by handing it to the
     * transport (herald_transport_probe).  HERALD_OK: every job of the probe
     * will end with herald_probe_job_done(); an error: none was started. */
    herald_status (*probe)(void *state, struct herald_probe *probe);
};

/* One recipient's report.  Strings are copied. */
struct herald_report {
    enum herald_result result;
    const char *reply;        /* the deciding reply or local reason (required) */
    const char *dsn;          /* "2.0.0", "4.4.1"; NULL for none */
    const char *host;         /* hop name; NULL for local devices */
    const char *peer;         /* "ADDR:PORT"; NULL when no connection */
    bool possibly_delivered;
};

struct herald_loop *herald_env_loop(struct herald_env *env);
const struct herald_trace *herald_env_trace(struct herald_env *env);
/*
 * herald_env_add_secret - a secret the module found itself (a password
 * file): never written to any trace, replaced by "<redacted>".  Copied.
 * Call it before the value can reach a trace line.  HERALD_E_INVAL,
 * HERALD_E_NOMEM.
 */
herald_status herald_env_add_secret(struct herald_env *env, const char *secret);
/*
 * herald_env_note - a line for the administrator about how the device was
 * opened (which hops authenticate, ...), shown by "herald check" and
 * "herald devices" (herald_device_note_at()).  Call it from open(); never put
 * a secret in it.  Copied; a control character becomes '?'.  At most
 * HERALD_NOTES_MAX notes of at most HERALD_NOTE_MAX octets per device, else
 * HERALD_E_INVAL (also for NULL or empty text); HERALD_E_NOMEM.  ABI 2.2.
 */
#define HERALD_NOTES_MAX 16
#define HERALD_NOTE_MAX  512
herald_status herald_env_note(struct herald_env *env, const char *text);

const struct herald_message *herald_delivery_message(const struct herald_delivery *d);
const struct herald_trace *herald_delivery_trace(const struct herald_delivery *d);
struct herald_env *herald_delivery_env(const struct herald_delivery *d);

/* herald_delivery_report - record recipient i's result (a later report replaces
 * an earlier one) and trace it.  HERALD_E_INVAL for a bad index or no reply. */
herald_status herald_delivery_report(struct herald_delivery *d, size_t i,
                                     const struct herald_report *report);
/*
 * herald_delivery_hop - what one hop address did for this delivery (ABI 2.6),
 * read back with herald_outcome_hop_*(): failed true when it failed before
 * any transaction (struct herald_job_result's hop_failed; reply says why),
 * false when a session was made with it.  The queue runner holds a hop that
 * just failed down for a while, and forgets it when a delivery reaches it.
 * host is the hop's name, address the text of the address tried.  Copied; a
 * later word on the same address and port replaces the earlier.
 * HERALD_E_INVAL, HERALD_E_LIMIT (more than HERALD_OUTCOME_HOPS_MAX
 * addresses), HERALD_E_NOMEM: nothing recorded, the delivery goes on.
 */
herald_status herald_delivery_hop(struct herald_delivery *d, const char *host, uint16_t port,
                                  const char *address, bool failed, const char *reply);
/* herald_delivery_done - the driver is finished with d; d must not be used after. */
void herald_delivery_done(struct herald_delivery *d);

#ifdef __cplusplus
}
#endif
#endif
