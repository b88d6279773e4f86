/*
 * trace_sink.h - where trace lines go (internal)
 *
 * A sink is a file (opened O_APPEND, created 0640) or stderr, a format and a
 * level.  Scopes (struct herald_trace) point at a sink and carry an id.
 *
 * Ownership: trace_sink_open() / trace_sink_free(&s).  A scope is a plain
 * value initialised by trace_scope_init(); it must not outlive its sink.
 */
#ifndef HERALD_CORE_TRACE_SINK_H
#define HERALD_CORE_TRACE_SINK_H

#include <herald/trace.h>

enum trace_format { TRACE_FORMAT_TEXT = 0, TRACE_FORMAT_JSON = 1 };

struct trace_sink;

struct herald_trace {
    struct trace_sink *sink;     /* NULL: the scope writes nothing */
    char id[24];
};

/* path NULL: no trace; "-": stderr; else a file, appended. */
herald_status trace_sink_open(const char *path, enum trace_format format,
                              enum herald_trace_level level,
                              struct trace_sink **sink_out, struct herald_diag *diag);
void trace_sink_free(struct trace_sink **sink);

/* Register a secret: never written, replaced by "<redacted>".  Copied. */
herald_status trace_sink_add_secret(struct trace_sink *sink, const char *secret);

/* Parse "text"/"json" and "error"/"warn"/"info"/"debug": -1 when unknown. */
int trace_format_parse(const char *word);
int trace_level_parse(const char *word);

/* id NULL: a fresh random 12-hex-digit id; "-" for context-wide lines. */
void trace_scope_init(struct herald_trace *scope, struct trace_sink *sink, const char *id);

#endif
