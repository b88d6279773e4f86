/*
 * registry.h - module loader and registry (internal to libherald)
 *
 * The registry owns every loaded module (dlopen handle and path) and finds
 * modules by kind and name.  Files are found only in the configured plugin
 * directories, as DIR/KIND-NAME.so; see herald/module.h for every refusal.
 *
 * Errors: HERALD_E_MODULE with diag->where = the module's path (or the
 * directory) and diag->text the reason, e.g.
 *   /x/route-mx.so: built for module ABI 2.0, this core has 1.0
 * HERALD_E_NOTFOUND when no plugin directory holds the file.
 *
 * Ownership: registry_new() / registry_free(&r).  Module pointers and paths
 * are borrowed, valid until registry_free().
 */
#ifndef HERALD_CORE_REGISTRY_H
#define HERALD_CORE_REGISTRY_H

#include <stddef.h>
#include <herald/module.h>

struct registry;

herald_status registry_new(struct registry **reg_out);
void registry_free(struct registry **reg);

/* Directories searched in order; each must be absolute (HERALD_E_MODULE otherwise).
 * Replaces the previous list. */
herald_status registry_set_dirs(struct registry *reg, const char *const *dirs, size_t count,
                                struct herald_diag *diag);

/* Load one module file by absolute path, with every check. */
herald_status registry_load_file(struct registry *reg, const char *path,
                                 const struct herald_module **mod_out,
                                 struct herald_diag *diag);

/* Add a module linked into the program (tests, static builds): the same ABI,
 * name and duplicate checks as a file; origin is shown in place of a path. */
herald_status registry_add(struct registry *reg, const struct herald_module *mod,
                           const char *origin, struct herald_diag *diag);

/* Find kind/name, loading DIR/KIND-NAME.so from the plugin directories on
 * first use.  A module file present in two directories is refused as a duplicate. */
herald_status registry_find(struct registry *reg, unsigned kind, const char *name,
                            const struct herald_module **mod_out,
                            struct herald_diag *diag);

/* The path (or origin) a module came from; NULL if not registered. */
const char *registry_module_path(const struct registry *reg, const struct herald_module *mod);

/* Iterate over registered modules (load order). */
size_t registry_count(const struct registry *reg);
const struct herald_module *registry_at(const struct registry *reg, size_t index);

/* Load every KIND-NAME.so in the plugin directories ("herald modules"): each
 * refusal is reported through fn and the walk goes on.  Returns the first error. */
herald_status registry_load_all(struct registry *reg,
                                void (*fn)(void *arg, const struct herald_diag *diag),
                                void *arg);

#endif
