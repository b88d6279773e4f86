/*
 * config_source.c - a device file's text with its @includes expanded, a
 * line map back to the files, and the setting's own integer literal (see
 * config_source.h)
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "config_source.h"

#define STRING_LABEL "(string)"

/* Expanded line `first` is line `line` of `file`, and so on until the next segment. */
struct seg {
    unsigned first;
    unsigned line;
    const char *file;                 /* NULL: text in memory */
};

struct config_source {
    char *text;                       /* what libconfig parses */
    char *code;                       /* the same, comments blanked, strings as '"' */
    size_t len, cap;
    unsigned line;                    /* the expanded line being written, 1-based */
    size_t *line_off;                 /* where each line starts in text, [1..line] */
    struct seg *segs;
    size_t nseg, segcap;
    char **names;                     /* the file names segs point at (owned) */
    size_t nnames, namecap;
};

enum lex { LEX_CODE, LEX_LINE_COMMENT, LEX_BLOCK_COMMENT, LEX_STRING };

/* grow - arr with room for one more element of size sz (capacity *cap), or NULL */
static void *
grow(void *arr, size_t *cap, size_t used, size_t sz)
{
    size_t ncap = *cap ? *cap * 2 : 16;
    void *p;

    if (used < *cap)
        return arr;
    p = realloc(arr, ncap * sz);
    if (p != NULL)
        *cap = ncap;
    return p;
}

/* put - one octet of text and its code counterpart */
static herald_status
put(struct config_source *src, char t, char c)
{
    if (src->len + 2 > src->cap) {
        size_t ncap = src->cap * 2;
        char *nt, *nc;

        if (src->len + 2 > CONFIG_SOURCE_MAX)
            return HERALD_E_LIMIT;
        nt = realloc(src->text, ncap);
        if (nt == NULL)
            return HERALD_E_NOMEM;
        src->text = nt;
        nc = realloc(src->code, ncap);
        if (nc == NULL)
            return HERALD_E_NOMEM;
        src->code = nc;
        src->cap = ncap;
    }
    src->text[src->len] = t;
    src->code[src->len++] = c;
    src->text[src->len] = src->code[src->len] = '\0';
    if (t == '\n') {
        if (src->line >= CONFIG_SOURCE_LINES)
            return HERALD_E_LIMIT;
        src->line++;
    }
    return HERALD_OK;
}

/* seg_add - from the current expanded line on, the text is file's from line */
static herald_status
seg_add(struct config_source *src, const char *file, unsigned line)
{
    struct seg *segs = grow(src->segs, &src->segcap, src->nseg, sizeof *segs);

    if (segs == NULL)
        return HERALD_E_NOMEM;
    src->segs = segs;
    if (src->nseg > 0 && src->segs[src->nseg - 1].first == src->line)
        src->nseg--;                  /* an empty segment: replaced */
    src->segs[src->nseg++] = (struct seg){ src->line, line, file };
    return HERALD_OK;
}

/* keep_name - an owned copy of a file name for the segments */
static const char *
keep_name(struct config_source *src, const char *name)
{
    char **names = grow(src->names, &src->namecap, src->nnames, sizeof *names), *copy;

    if (names == NULL)
        return NULL;
    src->names = names;
    if ((copy = strdup(name)) == NULL)
        return NULL;
    src->names[src->nnames++] = copy;
    return copy;
}

/* read_whole - a regular file into a malloc'd, NUL-terminated buffer */
static herald_status
read_whole(const char *path, char **buf_out, size_t *len_out, char *why, size_t whycap)
{
    FILE *fp = fopen(path, "r");
    struct stat st;
    char *buf;
    size_t n;

    if (fp == NULL) {
        snprintf(why, whycap, "cannot read: %s", strerror(errno));
        return HERALD_E_CONFIG;
    }
    if (fstat(fileno(fp), &st) != 0 || !S_ISREG(st.st_mode)) {
        snprintf(why, whycap, "cannot read: %s",
                 S_ISDIR(st.st_mode) ? strerror(EISDIR) : "not a regular file");
        fclose(fp);
        return HERALD_E_CONFIG;
    }
    if ((unsigned long long)st.st_size >= CONFIG_SOURCE_MAX) {
        snprintf(why, whycap, "larger than %u octets", CONFIG_SOURCE_MAX);
        fclose(fp);
        return HERALD_E_LIMIT;
    }
    buf = malloc((size_t)st.st_size + 1);
    if (buf == NULL) {
        fclose(fp);
        snprintf(why, whycap, "out of memory");
        return HERALD_E_NOMEM;
    }
    n = fread(buf, 1, (size_t)st.st_size, fp);
    fclose(fp);
    buf[n] = '\0';
    *buf_out = buf;
    *len_out = n;
    return HERALD_OK;
}

/* include_at - the path of an @include directive starting the line at p
 * (blanks, "@include", blanks, quote); *end after the closing quote.
 * 0 no directive, 1 one, -1 a malformed one (why says how). */
static int
include_at(const char *p, const char *lim, char *path, size_t cap, const char **end,
           const char **why)
{
    const char *q = p, *start;

    while (q < lim && (*q == ' ' || *q == '\t'))
        q++;
    if ((size_t)(lim - q) < 9 || memcmp(q, "@include", 8) != 0 || (q[8] != ' ' && q[8] != '\t'))
        return 0;
    for (q += 8; q < lim && (*q == ' ' || *q == '\t'); q++)
        ;
    if (q == lim || *q != '"')
        return 0;                     /* libconfig's syntax error, at the right line */
    start = ++q;
    while (q < lim && *q != '"' && *q != '\\' && *q != '\n' && *q != '\0')
        q++;
    if (q == lim || *q != '"') {
        *why = *q == '\\' ? "backslash in an @include path" : "@include path not closed";
        return -1;
    }
    if (q == start || (size_t)(q - start) >= cap) {
        *why = q == start ? "empty @include path" : "@include path too long";
        return -1;
    }
    memcpy(path, start, (size_t)(q - start));
    path[q - start] = '\0';
    *end = q + 1;
    return 1;
}

/* resolve - an included path: absolute as is, else in the including file's folder */
static void
resolve(const char *including, const char *path, char *out, size_t cap)
{
    const char *slash = including != NULL ? strrchr(including, '/') : NULL;

    if (path[0] == '/' || slash == NULL)
        snprintf(out, cap, "%s", path);
    else
        snprintf(out, cap, "%.*s/%s", (int)(slash - including), including, path);
}

static herald_status expand(struct config_source *src, const char *file, const char *text,
                            size_t len, bool includes, int depth, struct herald_diag *diag);

/* fail_line - HERALD_E_CONFIG (or st) at file:line */
static herald_status fail_line(struct herald_diag *diag, herald_status st, const char *file,
                               unsigned line, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));
static herald_status
fail_line(struct herald_diag *diag, herald_status st, const char *file, unsigned line,
          const char *fmt, ...)
{
    char where[sizeof diag->where], why[sizeof diag->text];
    va_list ap;

    snprintf(where, sizeof where, "%s:%u", file != NULL ? file : STRING_LABEL, line);
    va_start(ap, fmt);
    vsnprintf(why, sizeof why, fmt, ap);
    va_end(ap);
    return herald_diag_set(diag, st, where, "%s", why);
}

/* fail_size - the limits, or memory, while writing the text */
static herald_status
fail_size(struct herald_diag *diag, herald_status st, const char *file)
{
    return herald_diag_set(diag, st, file != NULL ? file : STRING_LABEL, "%s",
                           st == HERALD_E_NOMEM ? "out of memory"
                           : "device file with its includes too large (16 MiB, 65535 lines)");
}

/* include_file - expand the file an @include at file:line names */
static herald_status
include_file(struct config_source *src, const char *file, unsigned line, const char *path,
             int depth, struct herald_diag *diag)
{
    char full[4096], why[160];
    const char *name;
    char *buf = NULL;
    size_t len = 0;
    herald_status st;

    if (depth + 1 >= CONFIG_INCLUDE_DEPTH)
        return fail_line(diag, HERALD_E_CONFIG, file, line,
                         "@include \"%s\": includes nested too deep (a cycle?)", path);
    resolve(file, path, full, sizeof full);
    st = read_whole(full, &buf, &len, why, sizeof why);
    if (st != HERALD_OK)
        return fail_line(diag, st, file, line, "@include \"%s\": %s", full, why);
    name = keep_name(src, full);
    if (name == NULL) {
        free(buf);
        return fail_size(diag, HERALD_E_NOMEM, file);
    }
    st = expand(src, name, buf, len, true, depth + 1, diag);
    free(buf);
    if (st == HERALD_OK && src->len > 0 && src->text[src->len - 1] != '\n') {
        st = put(src, '\n', '\n');    /* the rest of the directive's line starts afresh */
        if (st != HERALD_OK)
            return fail_size(diag, st, file);
    }
    return st;
}

/* expand - text of file (already read) into src, lexing as libconfig 1.5 does */
static herald_status
expand(struct config_source *src, const char *file, const char *text, size_t len,
       bool includes, int depth, struct herald_diag *diag)
{
    enum lex state = LEX_CODE;
    bool esc = false;
    unsigned line = 1;
    size_t i = 0;
    herald_status st = seg_add(src, file, line);

    while (st == HERALD_OK && i < len) {
        char c = text[i], next = i + 1 < len ? text[i + 1] : '\0', out = c;

        if (includes && state == LEX_CODE && (i == 0 || text[i - 1] == '\n')) {
            char path[2048];
            const char *end, *why = NULL;
            int d = include_at(text + i, text + len, path, sizeof path, &end, &why);

            if (d < 0)
                return fail_line(diag, HERALD_E_CONFIG, file, line, "%s", why);
            if (d > 0) {
                st = include_file(src, file, line, path, depth, diag);
                if (st != HERALD_OK)
                    return st;
                i = (size_t)(end - text);
                st = seg_add(src, file, line);
                continue;
            }
        }
        if (c == '\0')
            return fail_line(diag, HERALD_E_CONFIG, file, line, "NUL octet in the file");
        switch (state) {
        case LEX_CODE:
            if (c == '#' || (c == '/' && next == '/'))
                state = LEX_LINE_COMMENT, out = ' ';
            else if (c == '/' && next == '*')
                state = LEX_BLOCK_COMMENT, out = ' ', st = put(src, c, ' '), i++, c = next;
            else if (c == '"')
                state = LEX_STRING, out = '"';
            break;
        case LEX_LINE_COMMENT:
            if (c == '\n')
                state = LEX_CODE;
            else
                out = ' ';
            break;
        case LEX_BLOCK_COMMENT:
            if (c == '*' && next == '/')
                state = LEX_CODE, st = put(src, c, ' '), i++, c = next;
            if (c != '\n')
                out = ' ';
            break;
        case LEX_STRING:
            if (c == '"' && !esc)
                state = LEX_CODE;
            esc = !esc && c == '\\';
            if (c != '\n')
                out = '"';
            break;
        }
        if (st == HERALD_OK)
            st = put(src, c, out);
        if (c == '\n')
            line++;
        i++;
    }
    return st == HERALD_E_NOMEM || st == HERALD_E_LIMIT ? fail_size(diag, st, file) : st;
}

/* finish - the line index; the source handed out */
static herald_status
finish(struct config_source *src, herald_status st, struct config_source **out,
       struct herald_diag *diag)
{
    size_t i, n = 1;

    if (st == HERALD_OK) {
        src->line_off = malloc(((size_t)src->line + 2) * sizeof *src->line_off);
        if (src->line_off == NULL)
            st = herald_diag_set(diag, HERALD_E_NOMEM, STRING_LABEL, "out of memory");
    }
    if (st != HERALD_OK) {
        config_source_free(&src);
        return st;
    }
    src->line_off[1] = 0;
    for (i = 0; i < src->len; i++)
        if (src->text[i] == '\n')
            src->line_off[++n] = i + 1;
    *out = src;
    return HERALD_OK;
}

/* source_new - an empty source with an empty text */
static struct config_source *
source_new(void)
{
    struct config_source *src = calloc(1, sizeof *src);

    if (src == NULL)
        return NULL;
    src->line = 1;
    src->cap = 4096;
    src->text = calloc(1, src->cap);
    src->code = calloc(1, src->cap);
    if (src->text == NULL || src->code == NULL)
        config_source_free(&src);
    return src;
}

/* read_file - path into a new source, its includes expanded or not */
static herald_status
read_file(const char *path, bool includes, struct config_source **out, struct herald_diag *diag)
{
    struct config_source *src;
    const char *name;
    char *buf = NULL, why[160];
    size_t len = 0;
    herald_status st;

    if (path == NULL || out == NULL)
        return herald_diag_set(diag, HERALD_E_INVAL, "", "config_source_read: no path");
    st = read_whole(path, &buf, &len, why, sizeof why);
    if (st != HERALD_OK)
        return herald_diag_set(diag, st, path, "%s", why);
    src = source_new();
    name = src != NULL ? keep_name(src, path) : NULL;
    if (name == NULL) {
        free(buf);
        config_source_free(&src);
        return herald_diag_set(diag, HERALD_E_NOMEM, path, "out of memory");
    }
    st = expand(src, name, buf, len, includes, 0, diag);
    free(buf);
    return finish(src, st, out, diag);
}

/* config_source_read - a device file with its @includes expanded */
herald_status
config_source_read(const char *path, struct config_source **out, struct herald_diag *diag)
{
    return read_file(path, true, out, diag);
}

/* config_source_read_text - the same for text in memory */
herald_status
config_source_read_text(const char *text, struct config_source **out, struct herald_diag *diag)
{
    struct config_source *src;

    if (text == NULL || out == NULL)
        return herald_diag_set(diag, HERALD_E_INVAL, "", "config_source_read_text: no text");
    src = source_new();
    if (src == NULL)
        return herald_diag_set(diag, HERALD_E_NOMEM, STRING_LABEL, "out of memory");
    return finish(src, expand(src, NULL, text, strlen(text), true, 0, diag), out, diag);
}

/* config_source_free - release; accepts NULL */
void
config_source_free(struct config_source **srcp)
{
    struct config_source *src;
    size_t i;

    if (srcp == NULL || (src = *srcp) == NULL)
        return;
    for (i = 0; i < src->nnames; i++)
        free(src->names[i]);
    free(src->names);
    free(src->segs);
    free(src->line_off);
    free(src->text);
    free(src->code);
    free(src);
    *srcp = NULL;
}

/* config_source_text - what libconfig parses */
const char *
config_source_text(const struct config_source *src)
{
    return src != NULL ? src->text : "";
}

/* config_source_origin - file and line of an expanded line */
bool
config_source_origin(const struct config_source *src, unsigned line, const char **file,
                     unsigned *file_line)
{
    size_t lo = 0, hi;

    if (src == NULL || line == 0 || line > src->line || src->nseg == 0)
        return false;
    /* The last segment starting at or before line. */
    hi = src->nseg;
    while (hi - lo > 1) {
        size_t mid = lo + (hi - lo) / 2;

        if (src->segs[mid].first <= line)
            lo = mid;
        else
            hi = mid;
    }
    *file = src->segs[lo].file;
    *file_line = src->segs[lo].line + (line - src->segs[lo].first);
    return true;
}

/* config_source_attach - the source of a parsed tree */
void
config_source_attach(config_t *lc, struct config_source *src)
{
    config_setting_set_hook(config_root_setting(lc), src);
}

/* source_of - the source attached to the tree s belongs to, or NULL */
static const struct config_source *
source_of(const config_setting_t *s)
{
    return s->config != NULL && s->config->root != NULL ? config_setting_get_hook(s->config->root)
                                                         : NULL;
}

/* config_setting_origin - where a setting was read */
bool
config_setting_origin(const config_setting_t *s, const char **file, unsigned *line)
{
    const struct config_source *src;

    if (s == NULL)
        return false;
    src = source_of(s);
    if (src != NULL)
        return config_source_origin(src, config_setting_source_line(s), file, line);
    *file = config_setting_source_file(s);
    *line = config_setting_source_line(s);
    return true;
}

/* literal_parse - an integer literal as libconfig writes it; false when it
 * does not fit in 64 bits (the case libconfig wraps silently) */
static bool
literal_parse(const char *p, int64_t *value_out)
{
    bool neg = false;
    unsigned long long u;
    char *end;

    if (*p == '+' || *p == '-')
        neg = *p++ == '-';
    errno = 0;
    if (p[0] == '0' && (p[1] == 'x' || p[1] == 'X'))
        u = strtoull(p + 2, &end, 16);
    else
        u = strtoull(p, &end, 10);
    if (errno == ERANGE)
        return false;
    if (neg) {
        if (u > (unsigned long long)INT64_MAX + 1u)
            return false;
        *value_out = u == (unsigned long long)INT64_MAX + 1u ? INT64_MIN : -(int64_t)u;
    } else {
        if (u > (unsigned long long)INT64_MAX)
            return false;
        *value_out = (int64_t)u;
    }
    return true;
}

/* is_ident - may c be part of a setting name? */
static bool
is_ident(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           c == '_' || c == '-' || c == '*';
}

/* same_place - t is another setting named name, read from the same file and line as s */
static bool
same_place(const config_setting_t *t, const config_setting_t *s, const char *name)
{
    const char *tf = config_setting_source_file(t), *sf = config_setting_source_file(s);

    return config_setting_name(t) != NULL && strcmp(config_setting_name(t), name) == 0
           && config_setting_source_line(t) == config_setting_source_line(s)
           && (tf == sf || (tf != NULL && sf != NULL && strcmp(tf, sf) == 0));
}

/* count_before - settings like s (same_place) before s in document order,
 * which is the tree's pre-order; true once s is reached */
static bool
count_before(const config_setting_t *g, const config_setting_t *s, const char *name,
             unsigned *k)
{
    int i, n = config_setting_length(g);

    for (i = 0; i < n; i++) {
        const config_setting_t *t = config_setting_get_elem(g, (unsigned)i);

        if (t == s)
            return true;
        if (same_place(t, s, name))
            (*k)++;
        if (config_setting_is_aggregate(t) && count_before(t, s, name, k))
            return true;
    }
    return false;
}

/* own_literal - verdict on the k-th "name =" / "name:" of line: 1 its literal
 * is value, -1 it is not or does not fit, 0 not found (no verdict) */
static int
own_literal(const struct config_source *src, unsigned line, const char *name, unsigned k,
            int64_t value)
{
    const char *code = src->code, *lim, *p;
    size_t nlen = strlen(name);
    int64_t lit = 0;

    if (line == 0 || line > src->line)
        return 0;
    p = code + src->line_off[line];
    lim = strchr(p, '\n');
    if (lim == NULL)
        lim = code + src->len;
    for (; p + nlen <= lim; p++) {
        const char *q = p + nlen, *d;

        if (memcmp(p, name, nlen) != 0 || (p > code && is_ident(p[-1])) || is_ident(*q))
            continue;
        while (*q == ' ' || *q == '\t')
            q++;
        if (*q != '=' && *q != ':')
            continue;
        if (k-- > 0)
            continue;
        /* Its value may sit lines below; comments are blank in code. */
        for (q++; *q == ' ' || *q == '\t' || *q == '\r' || *q == '\n' || *q == '\f'; q++)
            ;
        d = (*q == '-' || *q == '+') ? q + 1 : q;
        if (!(*d >= '0' && *d <= '9'))
            return 0;
        if (!literal_parse(q, &lit))
            return -1;
        return lit == value ? 1 : -1;
    }
    return 0;
}

/* config_literal_fits - the setting's own literal is the value read */
bool
config_literal_fits(const config_setting_t *s, int64_t value)
{
    const struct config_source *src = source_of(s);
    struct config_source *owned = NULL;
    const char *name = config_setting_name(s);
    struct herald_diag d;
    unsigned k = 0;
    int verdict;

    if (name == NULL || config_setting_source_line(s) == 0)
        return true;
    if (src == NULL) {
        /* A tree libconfig read by itself: its file again, as it is. */
        if (config_setting_source_file(s) == NULL
            || read_file(config_setting_source_file(s), false, &owned, &d) != HERALD_OK)
            return true;
        src = owned;
    }
    (void)count_before(config_root_setting(s->config), s, name, &k);
    verdict = own_literal(src, config_setting_source_line(s), name, k, value);
    config_source_free(&owned);
    return verdict >= 0;
}
