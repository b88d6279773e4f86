/*
 * config_source.h - the text of a device file as libconfig parses it (internal)
 *
 * libconfig 1.5 opens every @include as INCLUDE_DIR/PATH, so an absolute
 * path cannot work, and it has no include hook (that came in 1.7).  Herald
 * expands the includes itself: a relative path names a file in the
 * including file's folder, an absolute one that file; the expanded text goes
 * to config_read_string(), and a line map gives every line of it back its
 * file and line for FILE:LINE messages.  The same pass knows where comments
 * and strings are, so the integer check can read a setting's own literal
 * (libconfig 1.5 silently wraps 4294967321 to 25) and never one in a
 * comment or string.
 *
 * @include is recognised as libconfig recognises it: at the start of a line
 * (after blanks), outside comments and strings.  At most CONFIG_INCLUDE_DEPTH
 * files deep (a cycle ends there), CONFIG_SOURCE_LINES lines in all (libconfig
 * counts lines in an unsigned short).
 *
 * Ownership: config_source_read*() return a source freed with
 * config_source_free(&src).  config_source_attach() hands it to a parsed
 * libconfig tree (through the root setting's hook) without giving it away:
 * free it after config_destroy().
 */
#ifndef HERALD_CORE_CONFIG_SOURCE_H
#define HERALD_CORE_CONFIG_SOURCE_H

#include <stdbool.h>
#include <stdint.h>
#include <libconfig.h>
#include <herald/status.h>

#define CONFIG_INCLUDE_DEPTH 10
#define CONFIG_SOURCE_LINES 65535u
#define CONFIG_SOURCE_MAX (16u << 20)   /* octets, all files together */

struct config_source;

/*
 * config_source_read - the file at path with its @includes expanded.
 * HERALD_E_CONFIG with diag->where the path (unreadable top file) or the
 * FILE:LINE of the directive (unreadable include, too deep, bad path),
 * HERALD_E_LIMIT past the limits, HERALD_E_NOMEM.
 */
herald_status config_source_read(const char *path, struct config_source **out,
                                 struct herald_diag *diag);
/* config_source_read_text - the same for text in memory, named "(string)";
 * its relative includes are relative to the working directory */
herald_status config_source_read_text(const char *text, struct config_source **out,
                                      struct herald_diag *diag);
void config_source_free(struct config_source **src);

/* config_source_text - the expanded text, for config_read_string() */
const char *config_source_text(const struct config_source *src);

/* config_source_origin - the file (NULL for text in memory) and line of
 * line `line` (1-based) of the expanded text; false when out of range */
bool config_source_origin(const struct config_source *src, unsigned line, const char **file,
                          unsigned *file_line);

/* config_source_attach - remember src in the parsed tree lc (the root
 * setting's hook) for config_setting_origin() and config_literal_fits() */
void config_source_attach(config_t *lc, struct config_source *src);

/*
 * config_setting_origin - the file and line a setting was read from: the
 * attached source's, else libconfig's own record (a tree parsed directly).
 * *file is NULL for text in memory.  False for NULL.
 */
bool config_setting_origin(const config_setting_t *s, const char **file, unsigned *line);

/*
 * config_literal_fits - false when the integer setting's own literal in the
 * source text is not `value` (libconfig 1.5 wrapped it) or does not fit in
 * 64 bits.  Its own literal: the one after the setting's name, counted among
 * the settings of that name on that line in the order of the tree, skipping
 * comments and strings.  Without attached source the file libconfig read is
 * read again; text without a file passes.
 */
bool config_literal_fits(const config_setting_t *s, int64_t value);

#endif
