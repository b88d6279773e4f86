/*
 * herald/trace.h - the delivery trace an administrator reads
 *
 * A trace sink writes one line per event, as text
 *   2026-11-29T01:55:56.123Z 4f1c9a0be2d3 info  route: MX 10 mx1.multi.test
 * or as one JSON object per line
 *   {"ts":"...","id":"4f1c9a0be2d3","level":"info","subsys":"route","msg":"..."}
 * to a file (appended) or to stderr.  Every line of one message carries the
 * message's trace id, which its outcome repeats, so "grep ID trace.log"
 * shows one delivery from submission to outcome.
 *
 * Secrets: every value registered with herald_trace_add_secret() (the core
 * registers each HERALD_OPT_SECRET option value) is replaced by "<redacted>"
 * in every line before it is written, whatever the caller formatted.
 * Control characters in a message are escaped (\r, \n, \xNN), so a hostile
 * server reply cannot forge trace lines.
 *
 * A struct herald_trace is a scope: a sink plus an id.  Modules receive one
 * and never own it.
 */
#ifndef HERALD_TRACE_H
#define HERALD_TRACE_H

#include <stdarg.h>
#include <stdbool.h>
#include <herald/status.h>

#ifdef __cplusplus
extern "C" {
#endif

enum herald_trace_level {
    HERALD_TRACE_ERROR = 0,
    HERALD_TRACE_WARN = 1,
    HERALD_TRACE_INFO = 2,
    HERALD_TRACE_DEBUG = 3
};

struct herald_trace;

/* herald_trace_log - write one line at level for subsystem subsys ("route", "smtp"). */
void herald_trace_log(const struct herald_trace *t, enum herald_trace_level level,
                      const char *subsys, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
void herald_trace_vlog(const struct herald_trace *t, enum herald_trace_level level,
                       const char *subsys, const char *fmt, va_list ap)
    __attribute__((format(printf, 4, 0)));

/* True when a line at level would be written: skip costly formatting otherwise. */
bool herald_trace_enabled(const struct herald_trace *t, enum herald_trace_level level);

/* The scope's trace id (12 hex digits), or "-" for context-wide lines. */
const char *herald_trace_id(const struct herald_trace *t);

#ifdef __cplusplus
}
#endif
#endif
