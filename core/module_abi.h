/*
 * module_abi.h - the one rule for every module's operations table
 *
 * Every operations table starts with uint32_t struct_size (the table's
 * sizeof as the module was compiled).  A minor release may append members,
 * so a table from an older module is shorter: the core reads a member only
 * when struct_size covers it (OPS_HAS), and a member it needs must be both
 * covered and set.  module_ops_check() proves the second half when the
 * module loads, for every kind, so no later user meets a short table.
 * docs/MODULE-ABI.md states the same rule for module authors.
 */
#ifndef HERALD_CORE_MODULE_ABI_H
#define HERALD_CORE_MODULE_ABI_H

#include <stddef.h>
#include <herald/module.h>

/* OPS_HAS - the table ops (of type type) is long enough to hold member */
#define OPS_HAS(type, ops, member) \
    ((ops)->struct_size >= offsetof(type, member) + sizeof(((const type *)0)->member))

/* module_ops_check - mod->ops obeys its kind's rule: long enough for every
 * required member, each of them set, no longer than this core's table.
 * HERALD_E_MODULE with diag->where = where and the reason in diag->text. */
herald_status module_ops_check(const struct herald_module *mod, const char *where,
                               struct herald_diag *diag);

#endif
