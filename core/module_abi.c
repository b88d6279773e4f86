/*
 * module_abi.c - the operations-table rule of every module kind
 *
 * One row per kind: the core's own size of the table and the members the
 * core calls without asking (required).  Optional members are read through
 * OPS_HAS where they are used.  A kind without a row gets the part of the
 * rule that needs no row (struct_size is readable and not beyond the
 * largest table this core knows); a new kind adds its row here.
 */
#include <stdint.h>
#include <string.h>

#include <herald/device.h>
#include <herald/route.h>
#include <herald/transport.h>
#include <herald/queue.h>
#include "module_abi.h"

struct ops_member {
    const char *name;
    size_t offset;
    size_t end;                 /* offset + size: struct_size must reach it */
};

struct ops_rule {
    unsigned kind;
    size_t size;                /* this core's sizeof of the table */
    const struct ops_member *required;
    size_t required_count;
};

#define OPS_MEMBER(type, member) \
    { #member, offsetof(type, member), offsetof(type, member) + sizeof(((const type *)0)->member) }

static const struct ops_member device_required[] = {
    OPS_MEMBER(struct herald_device_ops, open),
    OPS_MEMBER(struct herald_device_ops, deliver),
};
static const struct ops_member route_required[] = {
    OPS_MEMBER(struct herald_route_ops, plan),
};
static const struct ops_member transport_required[] = {
    OPS_MEMBER(struct herald_transport_ops, start),
};
static const struct ops_member queue_required[] = {
    OPS_MEMBER(struct herald_queue_ops, open),
    OPS_MEMBER(struct herald_queue_ops, put),
    OPS_MEMBER(struct herald_queue_ops, commit),
    OPS_MEMBER(struct herald_queue_ops, abort),
    OPS_MEMBER(struct herald_queue_ops, scan_open),
    OPS_MEMBER(struct herald_queue_ops, scan_next),
    OPS_MEMBER(struct herald_queue_ops, scan_close),
    OPS_MEMBER(struct herald_queue_ops, claim),
    OPS_MEMBER(struct herald_queue_ops, update),
    OPS_MEMBER(struct herald_queue_ops, remove),
    OPS_MEMBER(struct herald_queue_ops, sync),
    OPS_MEMBER(struct herald_queue_ops, release),
    OPS_MEMBER(struct herald_queue_ops, quarantined),
};

#define N(a) (sizeof(a) / sizeof((a)[0]))
static const struct ops_rule rules[] = {
    { HERALD_KIND_DEVICE, sizeof(struct herald_device_ops), device_required,
      N(device_required) },
    { HERALD_KIND_ROUTE, sizeof(struct herald_route_ops), route_required, N(route_required) },
    { HERALD_KIND_TRANSPORT, sizeof(struct herald_transport_ops), transport_required,
      N(transport_required) },
    { HERALD_KIND_QUEUE, sizeof(struct herald_queue_ops), queue_required, N(queue_required) },
};

/* largest_table - no table of any kind is longer in this core */
static size_t
largest_table(void)
{
    size_t i, max = 0;

    for (i = 0; i < N(rules); i++)
        if (rules[i].size > max)
            max = rules[i].size;
    return max;
}

/* member_set - the function pointer at offset is not NULL (read as bytes:
 * the table's type is known only through the rule) */
static int
member_set(const void *ops, size_t offset)
{
    void (*fn)(void);

    memcpy(&fn, (const char *)ops + offset, sizeof fn);
    return fn != NULL;
}

/* module_ops_check - see module_abi.h */
herald_status
module_ops_check(const struct herald_module *mod, const char *where, struct herald_diag *diag)
{
    const char *kind = herald_module_kind_name(mod->kind);
    const struct ops_rule *rule = NULL;
    uint32_t size;
    size_t i, limit;

    if (kind == NULL)
        kind = "module";
    if (mod->ops == NULL)
        return herald_diag_set(diag, HERALD_E_MODULE, where,
                               "%s module \"%s\" has no operations table", kind, mod->name);
    for (i = 0; i < N(rules); i++)
        if (rules[i].kind == mod->kind)
            rule = &rules[i];
    memcpy(&size, mod->ops, sizeof size);
    limit = rule != NULL ? rule->size : largest_table();
    /* The module's minor is not newer than ours (checked before), so its
     * table cannot be longer than ours: a longer one is not a table at all. */
    if (size < sizeof size || size > limit)
        return herald_diag_set(diag, HERALD_E_MODULE, where,
                               "%s operations table of \"%s\": struct_size %u is not between "
                               "%zu and this core's %zu (set it to sizeof the table)", kind,
                               mod->name, (unsigned)size, sizeof size, limit);
    for (i = 0; rule != NULL && i < rule->required_count; i++) {
        const struct ops_member *m = &rule->required[i];

        if (size < m->end)
            return herald_diag_set(diag, HERALD_E_MODULE, where,
                                   "%s operations table of \"%s\" is too small: %u bytes, the "
                                   "required member %s() needs %zu", kind, mod->name,
                                   (unsigned)size, m->name, m->end);
        if (!member_set(mod->ops, m->offset))
            return herald_diag_set(diag, HERALD_E_MODULE, where,
                                   "%s operations table of \"%s\" has no %s() (required)", kind,
                                   mod->name, m->name);
    }
    return HERALD_OK;
}
