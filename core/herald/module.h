/*
 * herald/module.h - the one ABI every Herald module speaks
 *
 * A module is a shared object in a configured plugin directory, named
 * KIND-NAME.so ("device-file.so", "route-mx.so", "transport-smtp.so",
 * "queue-spool.so").  It
 * exports exactly one object, HERALD_MODULE_SYMBOL, of type
 * struct herald_module.  The loader refuses, naming the file and the reason:
 *   - a relative path, or a file or directory writable by group or others,
 *     or owned by someone other than root or the effective user;
 *   - a file without the symbol, or with the wrong magic;
 *   - another ABI major, or a newer ABI minor than this core;
 *   - a kind or name other than the one its file name promises;
 *   - a second module of the same kind and name.
 * The built-in devices and strategies are loaded exactly the same way.
 *
 * Versioning rule (docs/MODULE-ABI.md): bump HERALD_ABI_MAJOR when a member of
 * any module-facing struct changes meaning or place, or a function's contract
 * changes; bump HERALD_ABI_MINOR when a member is appended at the end or a
 * function is added.  The first four members below never move.
 */
#ifndef HERALD_MODULE_H
#define HERALD_MODULE_H

#include <stdint.h>
#include <herald/status.h>
#include <herald/option.h>

#ifdef __cplusplus
extern "C" {
#endif

#define HERALD_MODULE_MAGIC   0x48524c44u      /* "HRLD" */
/* Major 2: herald_dns_query_mx() and herald_dns_resolve() take the caller's
 * trace scope; a module built for 1 would pass its arguments one place off. */
#define HERALD_ABI_MAJOR      2
/* Minor 1: the queue kind (herald/queue.h), herald_message_set_body_range(),
 * herald_route_mx() (the MX walk as API) and herald/host.h.  Minor 2:
 * herald_env_note() and herald_device_note_count()/_at().  Minor 3: the
 * optional probe() of device and transport operations, herald/probe.h.
 * Minor 4: herald_message_body_wire_size() (SIZE= counted once);
 * struct herald_rcpt_word, appended to struct herald_job_result as rcpts
 * (its parallel arrays deprecated, still filled); herald/text.h.  Minor 5:
 * the probe's deadline (herald_probe_remaining_ms, herald_probe_job_expired);
 * herald_text_utf8_len.
 * Minor 6: herald_job_hop_failed() and hop_failed appended to struct
 * herald_job_result, herald_delivery_hop() and herald_outcome_hop_*()
 * (which hop addresses failed before any transaction). */
#define HERALD_ABI_MINOR      6
#define HERALD_MODULE_SYMBOL  "herald_module"

enum herald_module_kind {
    HERALD_KIND_DEVICE = 1,     /* ops: struct herald_device_ops    (herald/device.h)    */
    HERALD_KIND_ROUTE = 2,      /* ops: struct herald_route_ops     (herald/route.h)     */
    HERALD_KIND_TRANSPORT = 3,  /* ops: struct herald_transport_ops (herald/transport.h) */
    HERALD_KIND_QUEUE = 4       /* ops: struct herald_queue_ops     (herald/queue.h)     */
};

struct herald_module {
    uint32_t magic;             /* HERALD_MODULE_MAGIC                         */
    uint16_t abi_major;         /* HERALD_ABI_MAJOR the module was built with  */
    uint16_t abi_minor;
    uint32_t struct_size;       /* sizeof(struct herald_module) at build time  */
    uint32_t kind;              /* enum herald_module_kind                     */

    const char *name;           /* "file", "mx", "smtp": [a-z0-9-], 1..32 chars */
    const char *summary;        /* one line, for "herald devices" and docs     */

    const struct herald_option *options;  /* ends with HERALD_OPT_END; may be NULL */
    size_t options_size;        /* size of the options block                   */
    const void *options_defaults;  /* copied into the block before validation; may be NULL */

    /* check - cross-option rules after every single option passed (Exim's
     * init()).  May be NULL.  Fill diag->text; the core adds FILE:LINE. */
    herald_status (*check)(const void *options, struct herald_diag *diag);

    const void *ops;            /* the kind's operations table                 */
};

/* Put this first in a module's descriptor initialiser. */
#define HERALD_MODULE_HEADER(kind_)                          \
    .magic = HERALD_MODULE_MAGIC,                            \
    .abi_major = HERALD_ABI_MAJOR,                           \
    .abi_minor = HERALD_ABI_MINOR,                           \
    .struct_size = (uint32_t)sizeof(struct herald_module),   \
    .kind = (kind_)

/* Name of a kind ("device", "route", "transport", "queue"), or NULL if unknown. */
const char *herald_module_kind_name(unsigned kind);

#ifdef __cplusplus
}
#endif
#endif
