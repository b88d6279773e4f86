/*
 * file_name.h - the file device's name patterns (internal to device-file)
 *
 * A pattern is a file name with escapes: %T the UTC time as yyyymmddHHMMSS,
 * %i the delivery's trace id, %u a value unique within this host (process
 * id and a counter), %% a '%'.  Anything else after '%', a '/', an empty
 * pattern, "." and "..", and names starting with ".tmp-" (the device's own
 * temporary files) are refused, so a name can never leave the folder or
 * collide with a file being written.
 */
#ifndef HERALD_FILE_NAME_H
#define HERALD_FILE_NAME_H

#include <stddef.h>
#include <time.h>
#include <herald/status.h>

/* Room kept for a ".NN" suffix added when the name is taken. */
#define FILE_NAME_MAX 240

/* file_name_check - HERALD_E_CONFIG with the reason in diag->text for a bad pattern. */
herald_status file_name_check(const char *pattern, struct herald_diag *diag);

/* file_name_expand - expand a checked pattern into buf (size bytes).
 * HERALD_E_LIMIT when the result is longer than FILE_NAME_MAX or size. */
herald_status file_name_expand(const char *pattern, time_t now, const char *trace_id,
                               char *buf, size_t size);

#endif
