/*
 * herald/herald.h - libherald: open a device file, pick a device, send
 *
 *   struct herald_context *ctx; struct herald_device *dev; struct herald_diag d;
 *   herald_open(NULL, &ctx, &d);              // $HERALD_CONF or the default path
 *   herald_device(ctx, "email", &dev, &d);
 *   herald_send(dev, msg, &outcome, &d);      // runs the event loop until done
 *
 * Ownership: herald_open() returns a context freed with herald_close(&ctx).
 * Devices are borrowed from their context.  herald_send() returns an outcome
 * the caller frees with herald_outcome_free(&o).
 * A context and everything from it belongs to one thread at a time.
 */
#ifndef HERALD_HERALD_H
#define HERALD_HERALD_H

#include <stdbool.h>
#include <stddef.h>
#include <herald/status.h>
#include <herald/option.h>
#include <herald/module.h>
#include <herald/loop.h>
#include <herald/trace.h>
#include <herald/message.h>
#include <herald/outcome.h>
#include <herald/device.h>
#include <herald/mime.h>
#include <herald/queue.h>
#include <herald/probe.h>

#ifdef __cplusplus
extern "C" {
#endif

struct herald_context;
struct herald_device;

/* The package version, "0.1.0". */
const char *herald_version(void);

/* The config path herald_open(NULL, ...) uses: $HERALD_CONF, else $sysconfdir/herald.conf. */
const char *herald_default_config_path(void);

/*
 * herald_open - read and validate a device file, load its modules, open its
 * devices.  Nothing is sent.  On error: HERALD_E_CONFIG (diag->where is
 * FILE:LINE), HERALD_E_MODULE (diag->where is the module path), HERALD_E_IO,
 * HERALD_E_NOMEM; *ctx_out is untouched.
 */
herald_status herald_open(const char *config_path, struct herald_context **ctx_out,
                          struct herald_diag *diag);
void herald_close(struct herald_context **ctx);

/* Overrides the trace settings of the file: path "-" is stderr; format "text"
 * or "json"; level "error" | "warn" | "info" | "debug".  NULL keeps a setting.
 * Safe with messages in flight (e.g. to rotate a trace file): they finish
 * their trace where it began, and the old file is closed once none is left;
 * messages submitted afterwards trace to the new one. */
herald_status herald_set_trace(struct herald_context *ctx, const char *path,
                               const char *format, const char *level,
                               struct herald_diag *diag);

size_t herald_device_count(const struct herald_context *ctx);
struct herald_device *herald_device_at(struct herald_context *ctx, size_t index);
herald_status herald_device(struct herald_context *ctx, const char *name,
                            struct herald_device **dev_out, struct herald_diag *diag);

/*
 * What herald-sendmail reads from the device file (libherald 5:0:4):
 *   herald_sendmail_device - herald.sendmail_device (checked when the file
 *     was read to name one of its devices), or NULL when the file has none;
 *     borrowed from ctx
 *   herald_queue_configured - true when the file has a herald.queue group
 */
const char *herald_sendmail_device(const struct herald_context *ctx);
bool herald_queue_configured(const struct herald_context *ctx);

const char *herald_device_name(const struct herald_device *dev);
const char *herald_device_where(const struct herald_device *dev);   /* FILE:LINE */
/* The notes the driver left when it opened (herald_env_note() in
 * herald/device.h), in order; index out of range: NULL.  Borrowed from the
 * context.  ABI 2.2. */
size_t herald_device_note_count(const struct herald_device *dev);
const char *herald_device_note_at(const struct herald_device *dev, size_t index);
/* The modules a device uses: its driver first, then the modules its options
 * name (route strategy, transport).  Index out of range: HERALD_E_NOTFOUND. */
size_t herald_device_module_count(const struct herald_device *dev);
herald_status herald_device_module(const struct herald_device *dev, size_t index,
                                   const char **kind_out, const char **name_out,
                                   const char **path_out);

/*
 * herald_module_lookup - the module KIND-NAME, kind "device", "route" or
 * "transport", found in the context's plugin folders as KIND-NAME.so and
 * loaded if the device file did not load it already, through the same loader
 * and its refusals (herald/module.h).  *mod_out and *path_out (may be NULL)
 * are borrowed from ctx.  HERALD_E_NOTFOUND when no folder holds the file
 * (diag names the folders searched); HERALD_E_MODULE when the file is
 * refused; HERALD_E_INVAL for another kind or a missing argument.
 */
herald_status herald_module_lookup(struct herald_context *ctx, const char *kind,
                                   const char *name, const struct herald_module **mod_out,
                                   const char **path_out, struct herald_diag *diag);

/*
 * herald_send - deliver msg through dev and wait for every recipient's result.
 * HERALD_OK means every recipient has a result in *outcome_out (which may be
 * deferred or failed); an error status means no outcome was made
 * (HERALD_E_INVAL: no recipient; HERALD_E_NOMEM; HERALD_E_IO).
 */
herald_status herald_send(struct herald_device *dev, const struct herald_message *msg,
                          struct herald_outcome **outcome_out, struct herald_diag *diag);

/*
 * Many messages in flight: herald_submit() starts a delivery and returns at
 * once; herald_run() runs the event loop until every submitted message has
 * its outcome.  fn(arg, outcome) runs once per message, from the loop
 * (inside herald_run, herald_send or herald_close), never from inside
 * herald_submit; the outcome is the callback's to free (herald_outcome_free).
 * msg must stay valid, unchanged, until then.  Deliveries overlap: domains,
 * DNS answers and cached SMTP sessions are shared, within each device's
 * concurrency limits.  herald_close() first waits for the messages still in
 * flight (every step has its own timeout), so none is dropped silently.
 */
typedef void (*herald_sent_fn)(void *arg, struct herald_outcome *outcome);
herald_status herald_submit(struct herald_device *dev, const struct herald_message *msg,
                            herald_sent_fn fn, void *arg, struct herald_diag *diag);
/* HERALD_OK when nothing is in flight; HERALD_E_TIMEOUT after timeout_ms (0:
 * no limit) with messages left, which a later herald_run() carries on. */
herald_status herald_run(struct herald_context *ctx, uint64_t timeout_ms,
                         struct herald_diag *diag);
size_t herald_pending(const struct herald_context *ctx);

#ifdef __cplusplus
}
#endif
#endif
