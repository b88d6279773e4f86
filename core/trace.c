/*
 * trace.c - trace sinks and scopes: one formatted, escaped, redacted line per event
 *
 * A line is built completely in memory and written with one write() on a
 * descriptor opened O_APPEND, so lines of concurrent writers (threads or
 * processes sharing the file) never interleave.  Message text is made safe
 * before it is written: control characters and bytes that are not UTF-8
 * become \r, \n, \t or \xNN, so text a server sent can never start a line of
 * its own.  Secrets are replaced both in the raw message (before escaping
 * could change how they are spelled) and in the final line.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/stat.h>

#include "random.h"
#include "text.h"
#include "trace_sink.h"
#include "utf8.h"

#define TRACE_MSG_MAX 8192          /* formatted message bound; longer ones are cut */
#define TRACE_REDACTED "<redacted>"

struct trace_sink {
    int fd;
    bool own_fd;
    enum trace_format format;
    enum herald_trace_level level;
    char **secrets;
    size_t secret_count;
};

/* growable byte buffer for one line */
struct buf {
    char *p;
    size_t len, cap;
    bool failed;
};

static const char *const level_names[] = { "error", "warn", "info", "debug" };

/* buf_reserve - room for n more bytes plus a NUL; marks the buffer failed on ENOMEM */
static bool
buf_reserve(struct buf *b, size_t n)
{
    size_t cap;
    char *p;

    if (b->failed)
        return false;
    if (b->len + n + 1 <= b->cap)
        return true;
    cap = b->cap ? b->cap : 256;
    while (cap < b->len + n + 1)
        cap *= 2;
    p = realloc(b->p, cap);
    if (p == NULL) {
        b->failed = true;
        return false;
    }
    b->p = p;
    b->cap = cap;
    return true;
}

/* buf_add - append n bytes */
static void
buf_add(struct buf *b, const char *s, size_t n)
{
    if (!buf_reserve(b, n))
        return;
    memcpy(b->p + b->len, s, n);
    b->len += n;
    b->p[b->len] = '\0';
}

/* buf_str - append a C string */
static void
buf_str(struct buf *b, const char *s)
{
    buf_add(b, s, strlen(s));
}

/* add_safe - append s with control characters and non-UTF-8 bytes escaped */
static void
add_safe(struct buf *b, const char *s, size_t n)
{
    const unsigned char *u = (const unsigned char *)s;
    size_t i = 0;

    while (i < n) {
        unsigned char c = u[i];
        char esc[8];
        size_t k;

        if (c == '\r') {
            buf_add(b, "\\r", 2);
        } else if (c == '\n') {
            buf_add(b, "\\n", 2);
        } else if (c == '\t') {
            buf_add(b, "\\t", 2);
        } else if (text_is_ctl(c)) {
            snprintf(esc, sizeof esc, "\\x%02X", c);
            buf_str(b, esc);
        } else if (c < 0x80) {
            buf_add(b, s + i, 1);
        } else if ((k = utf8_seq_len(u + i, n - i)) != 0) {
            buf_add(b, s + i, k);
            i += k;
            continue;
        } else {
            snprintf(esc, sizeof esc, "\\x%02X", c);
            buf_str(b, esc);
        }
        i++;
    }
}

/* add_json - append an already safe string as the inside of a JSON string */
static void
add_json(struct buf *b, const char *s)
{
    for (; *s; s++) {
        if (*s == '"')
            buf_add(b, "\\\"", 2);
        else if (*s == '\\')
            buf_add(b, "\\\\", 2);
        else
            buf_add(b, s, 1);
    }
}

/* redact - replace every occurrence of every secret in b (left to right, no overlap) */
static void
redact(const struct trace_sink *sink, struct buf *b)
{
    size_t i;

    for (i = 0; i < sink->secret_count && !b->failed; i++) {
        const char *sec = sink->secrets[i];
        size_t slen = strlen(sec);
        struct buf out = { 0 };
        const char *p, *hit;

        if (b->len == 0 || strstr(b->p, sec) == NULL)
            continue;
        p = b->p;
        while ((hit = strstr(p, sec)) != NULL) {
            buf_add(&out, p, (size_t)(hit - p));
            buf_str(&out, TRACE_REDACTED);
            p = hit + slen;
        }
        buf_str(&out, p);
        free(b->p);
        *b = out;
    }
}

/* add_timestamp - RFC 3339 UTC with milliseconds: 2026-11-29T01:55:56.123Z */
static void
add_timestamp(struct buf *b)
{
    struct timespec ts;
    struct tm tm;
    char s[32], full[64];

    clock_gettime(CLOCK_REALTIME, &ts);
    if (gmtime_r(&ts.tv_sec, &tm) == NULL || strftime(s, sizeof s, "%Y-%m-%dT%H:%M:%S", &tm) == 0)
        snprintf(s, sizeof s, "1970-01-01T00:00:00");
    snprintf(full, sizeof full, "%s.%03ldZ", s, ts.tv_nsec / 1000000L);
    buf_str(b, full);
}

/* write_all - one write() for the whole line; the rest only if the kernel cut it short */
static void
write_all(int fd, const char *p, size_t n)
{
    size_t tries = 0;

    while (n > 0 && tries++ < 16) {
        ssize_t w = write(fd, p, n);

        if (w < 0) {
            if (errno == EINTR)
                continue;
            return;   /* a trace must never stop a delivery */
        }
        p += w;
        n -= (size_t)w;
    }
}

/* herald_trace_enabled - true when a line at level would be written */
bool
herald_trace_enabled(const struct herald_trace *t, enum herald_trace_level level)
{
    return t != NULL && t->sink != NULL && level <= t->sink->level
           && (int)level >= (int)HERALD_TRACE_ERROR;
}

/* herald_trace_id - the scope's id, "-" when it has none */
const char *
herald_trace_id(const struct herald_trace *t)
{
    return t != NULL && t->id[0] != '\0' ? t->id : "-";
}

/* herald_trace_vlog - format, escape, redact and write one line */
void
herald_trace_vlog(const struct herald_trace *t, enum herald_trace_level level, const char *subsys,
                  const char *fmt, va_list ap)
{
    const struct trace_sink *sink;
    struct buf msg = { 0 }, safe = { 0 }, line = { 0 };
    char raw[TRACE_MSG_MAX];
    int n;

    if (!herald_trace_enabled(t, level) || fmt == NULL)
        return;
    sink = t->sink;
    n = vsnprintf(raw, sizeof raw, fmt, ap);
    if (n < 0)
        return;
    buf_add(&msg, raw, (size_t)n < sizeof raw ? (size_t)n : sizeof raw - 1);
    if ((size_t)n >= sizeof raw)
        buf_str(&msg, "...");
    redact(sink, &msg);
    if (!msg.failed)
        add_safe(&safe, msg.p, msg.len);
    redact(sink, &safe);
    if (safe.p == NULL)
        buf_str(&safe, "");

    if (sink->format == TRACE_FORMAT_JSON) {
        struct buf sub = { 0 };

        add_safe(&sub, subsys ? subsys : "-", strlen(subsys ? subsys : "-"));
        buf_str(&line, "{\"ts\":\"");
        add_timestamp(&line);
        buf_str(&line, "\",\"id\":\"");
        add_json(&line, herald_trace_id(t));
        buf_str(&line, "\",\"level\":\"");
        buf_str(&line, level_names[level]);
        buf_str(&line, "\",\"subsys\":\"");
        add_json(&line, sub.p ? sub.p : "");
        buf_str(&line, "\",\"msg\":\"");
        add_json(&line, safe.p ? safe.p : "");
        buf_str(&line, "\"}\n");
        free(sub.p);
    } else {
        char lv[8];

        add_timestamp(&line);
        buf_str(&line, " ");
        add_safe(&line, herald_trace_id(t), strlen(herald_trace_id(t)));
        snprintf(lv, sizeof lv, " %-5s ", level_names[level]);
        buf_str(&line, lv);
        add_safe(&line, subsys ? subsys : "-", strlen(subsys ? subsys : "-"));
        buf_str(&line, ": ");
        buf_str(&line, safe.p ? safe.p : "");
        buf_str(&line, "\n");
    }
    redact(sink, &line);
    if (!line.failed && !safe.failed && !msg.failed)
        write_all(sink->fd, line.p, line.len);
    free(msg.p);
    free(safe.p);
    free(line.p);
}

/* herald_trace_log - printf-style front end of herald_trace_vlog */
void
herald_trace_log(const struct herald_trace *t, enum herald_trace_level level, const char *subsys,
                 const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    herald_trace_vlog(t, level, subsys, fmt, ap);
    va_end(ap);
}

/* trace_sink_open - a sink on stderr ("-") or an appended file; NULL path: no sink */
herald_status
trace_sink_open(const char *path, enum trace_format format, enum herald_trace_level level,
                struct trace_sink **sink_out, struct herald_diag *diag)
{
    struct trace_sink *sink;

    if (sink_out == NULL || (format != TRACE_FORMAT_TEXT && format != TRACE_FORMAT_JSON)
        || (int)level < (int)HERALD_TRACE_ERROR || level > HERALD_TRACE_DEBUG)
        return herald_diag_set(diag, HERALD_E_INVAL, path ? path : "",
                               "trace_sink_open: bad format or level");
    if (path == NULL) {
        *sink_out = NULL;
        return HERALD_OK;
    }
    sink = calloc(1, sizeof *sink);
    if (sink == NULL)
        return herald_diag_set(diag, HERALD_E_NOMEM, path, "out of memory");
    if (strcmp(path, "-") == 0) {
        sink->fd = STDERR_FILENO;
        sink->own_fd = false;
    } else {
        sink->fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOCTTY, 0640);
        if (sink->fd < 0) {
            int e = errno;

            free(sink);
            return herald_diag_set(diag, HERALD_E_IO, path, "cannot open trace file %s: %s",
                                   path, strerror(e));
        }
        sink->own_fd = true;
    }
    sink->format = format;
    sink->level = level;
    *sink_out = sink;
    return HERALD_OK;
}

/* trace_sink_free - close the file and wipe the secrets */
void
trace_sink_free(struct trace_sink **sinkp)
{
    struct trace_sink *sink;
    size_t i;

    if (sinkp == NULL || *sinkp == NULL)
        return;
    sink = *sinkp;
    for (i = 0; i < sink->secret_count; i++) {
        volatile char *p = sink->secrets[i];

        while (*p)
            *p++ = '\0';
        free(sink->secrets[i]);
    }
    free(sink->secrets);
    if (sink->own_fd)
        close(sink->fd);
    free(sink);
    *sinkp = NULL;
}

/* trace_sink_add_secret - remember a value that must never be written; "" is ignored */
herald_status
trace_sink_add_secret(struct trace_sink *sink, const char *secret)
{
    char **v, *copy;
    size_t i;

    if (secret == NULL)
        return HERALD_E_INVAL;
    if (sink == NULL || secret[0] == '\0')
        return HERALD_OK;
    for (i = 0; i < sink->secret_count; i++)
        if (strcmp(sink->secrets[i], secret) == 0)
            return HERALD_OK;
    copy = strdup(secret);
    if (copy == NULL)
        return HERALD_E_NOMEM;
    v = realloc(sink->secrets, (sink->secret_count + 1) * sizeof *v);
    if (v == NULL) {
        free(copy);
        return HERALD_E_NOMEM;
    }
    v[sink->secret_count++] = copy;
    sink->secrets = v;
    return HERALD_OK;
}

/* word_index - position of word in a NULL-terminated table, -1 when absent */
static int
word_index(const char *const *table, size_t n, const char *word)
{
    size_t i;

    if (word == NULL)
        return -1;
    for (i = 0; i < n; i++)
        if (strcmp(table[i], word) == 0)
            return (int)i;
    return -1;
}

/* trace_format_parse - "text" or "json" */
int
trace_format_parse(const char *word)
{
    static const char *const formats[] = { "text", "json" };

    return word_index(formats, 2, word);
}

/* trace_level_parse - "error", "warn", "info" or "debug" */
int
trace_level_parse(const char *word)
{
    return word_index(level_names, 4, word);
}

/* trace_scope_init - a scope on sink with id (NULL: fresh random id) */
void
trace_scope_init(struct herald_trace *scope, struct trace_sink *sink, const char *id)
{
    if (scope == NULL)
        return;
    memset(scope, 0, sizeof *scope);
    scope->sink = sink;
    if (id == NULL)
        random_hex(scope->id, 13);   /* 12 hex digits */
    else
        snprintf(scope->id, sizeof scope->id, "%s", id);
}
