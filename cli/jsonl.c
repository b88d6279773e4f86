/*
 * jsonl.c - a strict, bounded JSON-lines parser: objects of strings and
 * arrays of strings (see jsonl.h for exactly what is refused)
 *
 * A recursive-descent parser over one line, with no recursion deeper than
 * object -> array -> string; every string is decoded into a buffer no larger
 * than the line, so a hostile line costs at most a few times its length.
 */
#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <herald/text.h>
#include "cli.h"
#include "jsonl.h"

struct parser {
    const char *s;
    size_t len, pos;
    char *err;
    size_t errsize;
};

/* perr - "column N: why"; always -1 */
static int
perr(struct parser *p, const char *fmt, ...)
{
    va_list ap;
    int n;

    n = snprintf(p->err, p->errsize, "column %zu: ", p->pos + 1);
    if (n > 0 && (size_t)n < p->errsize) {
        va_start(ap, fmt);
        vsnprintf(p->err + n, p->errsize - (size_t)n, fmt, ap);
        va_end(ap);
    }
    return -1;
}

/* skip_ws - spaces and tabs (and the CR of a CRLF line end) */
static void
skip_ws(struct parser *p)
{
    while (p->pos < p->len && (p->s[p->pos] == ' ' || p->s[p->pos] == '\t' ||
                               p->s[p->pos] == '\r'))
        p->pos++;
}

/* hex4 - four hex digits at the cursor; -1 when they are not */
static long
hex4(struct parser *p)
{
    long v = 0;
    size_t i;

    if (p->len - p->pos < 4)
        return -1;
    for (i = 0; i < 4; i++) {
        char c = p->s[p->pos + i];

        v <<= 4;
        if (c >= '0' && c <= '9')
            v |= c - '0';
        else if (c >= 'a' && c <= 'f')
            v |= c - 'a' + 10;
        else if (c >= 'A' && c <= 'F')
            v |= c - 'A' + 10;
        else
            return -1;
    }
    p->pos += 4;
    return v;
}

/* put_utf8 - code point cp as UTF-8 at out; its length */
static size_t
put_utf8(unsigned long cp, char *out)
{
    if (cp < 0x80) {
        out[0] = (char)cp;
        return 1;
    }
    if (cp < 0x800) {
        out[0] = (char)(0xc0 | (cp >> 6));
        out[1] = (char)(0x80 | (cp & 0x3f));
        return 2;
    }
    if (cp < 0x10000) {
        out[0] = (char)(0xe0 | (cp >> 12));
        out[1] = (char)(0x80 | ((cp >> 6) & 0x3f));
        out[2] = (char)(0x80 | (cp & 0x3f));
        return 3;
    }
    out[0] = (char)(0xf0 | (cp >> 18));
    out[1] = (char)(0x80 | ((cp >> 12) & 0x3f));
    out[2] = (char)(0x80 | ((cp >> 6) & 0x3f));
    out[3] = (char)(0x80 | (cp & 0x3f));
    return 4;
}

/* escape_cp - the code point of a \u escape (a surrogate pair joined); -1 on error */
static long
escape_cp(struct parser *p)
{
    long hi = hex4(p), lo;

    if (hi < 0)
        return perr(p, "\\u needs four hex digits");
    if (hi == 0)
        return perr(p, "\\u0000 is not allowed");
    if (hi >= 0xdc00 && hi <= 0xdfff)
        return perr(p, "lone low surrogate \\u%04lx", hi);
    if (hi < 0xd800 || hi > 0xdbff)
        return hi;
    if (p->len - p->pos < 2 || p->s[p->pos] != '\\' || p->s[p->pos + 1] != 'u')
        return perr(p, "high surrogate \\u%04lx without its low half", hi);
    p->pos += 2;
    lo = hex4(p);
    if (lo < 0xdc00 || lo > 0xdfff)
        return perr(p, "high surrogate \\u%04lx without its low half", hi);
    return 0x10000 + ((hi - 0xd800) << 10) + (lo - 0xdc00);
}

/* parse_string - a string at the cursor (past its opening quote), decoded, malloc'd */
static int
parse_string(struct parser *p, char **out)
{
    char *buf, *w;
    long cp;

    /* Decoded, a string is never longer than its source. */
    buf = malloc(p->len - p->pos + 1);
    if (buf == NULL)
        return perr(p, "out of memory");
    w = buf;
    for (;;) {
        unsigned char c;
        size_t n;

        if (p->pos >= p->len) {
            free(buf);
            return perr(p, "unterminated string");
        }
        c = (unsigned char)p->s[p->pos];
        if (c == '"') {
            p->pos++;
            break;
        }
        if (c < 0x20) {
            free(buf);
            return perr(p, "control character 0x%02x in a string", c);
        }
        if (c != '\\') {
            n = herald_text_utf8_len(p->s + p->pos, p->len - p->pos);
            if (n == 0) {
                free(buf);
                return perr(p, "invalid UTF-8");
            }
            memcpy(w, p->s + p->pos, n);
            w += n;
            p->pos += n;
            continue;
        }
        p->pos++;
        c = p->pos < p->len ? (unsigned char)p->s[p->pos++] : 0;
        switch (c) {
        case '"': *w++ = '"'; break;
        case '\\': *w++ = '\\'; break;
        case '/': *w++ = '/'; break;
        case 'b': *w++ = '\b'; break;
        case 'f': *w++ = '\f'; break;
        case 'n': *w++ = '\n'; break;
        case 'r': *w++ = '\r'; break;
        case 't': *w++ = '\t'; break;
        case 'u':
            cp = escape_cp(p);
            if (cp < 0) {
                free(buf);
                return -1;
            }
            /* \uXXXX is 6 source octets for at most 3 out; a pair 12 for 4. */
            w += put_utf8((unsigned long)cp, w);
            break;
        default:
            free(buf);
            p->pos--;
            return perr(p, "unknown escape");
        }
    }
    *w = '\0';
    *out = buf;
    return 0;
}

/* parse_array - strings at the cursor (past '['), up to JSONL_ITEMS_MAX */
static int
parse_array(struct parser *p, struct jsonl_field *f)
{
    f->is_array = true;
    skip_ws(p);
    if (p->pos < p->len && p->s[p->pos] == ']') {
        p->pos++;
        return 0;
    }
    for (;;) {
        char **grown;

        skip_ws(p);
        if (p->pos >= p->len || p->s[p->pos] != '"')
            return perr(p, "an array may hold only strings");
        if (f->count == JSONL_ITEMS_MAX)
            return perr(p, "more than %d items in an array", JSONL_ITEMS_MAX);
        grown = realloc(f->items, (f->count + 1) * sizeof *grown);
        if (grown == NULL)
            return perr(p, "out of memory");
        f->items = grown;
        p->pos++;
        if (parse_string(p, &f->items[f->count]) != 0)
            return -1;
        f->count++;
        skip_ws(p);
        if (p->pos < p->len && p->s[p->pos] == ',') {
            p->pos++;
            continue;
        }
        if (p->pos < p->len && p->s[p->pos] == ']') {
            p->pos++;
            return 0;
        }
        return perr(p, "expected ',' or ']' in an array");
    }
}

/* parse_member - "key": value */
static int
parse_member(struct parser *p, struct jsonl_object *obj)
{
    struct jsonl_field *f;
    char *key = NULL;
    size_t i, start = p->pos;

    if (p->pos >= p->len || p->s[p->pos] != '"')
        return perr(p, "expected a key in double quotes");
    p->pos++;
    if (parse_string(p, &key) != 0)
        return -1;
    if (strlen(key) >= JSONL_KEY_MAX || *key == '\0') {
        free(key);
        p->pos = start;
        return perr(p, "a key must be 1 to %d octets", JSONL_KEY_MAX - 1);
    }
    for (i = 0; i < obj->count; i++) {
        if (strcmp(obj->fields[i].key, key) == 0) {
            p->pos = start;
            perr(p, "duplicate key \"%s\"", key);
            free(key);
            return -1;
        }
    }
    if (obj->count == JSONL_FIELDS_MAX) {
        free(key);
        p->pos = start;
        return perr(p, "more than %d keys", JSONL_FIELDS_MAX);
    }
    f = &obj->fields[obj->count++];
    memset(f, 0, sizeof *f);
    memcpy(f->key, key, strlen(key) + 1);
    free(key);
    skip_ws(p);
    if (p->pos >= p->len || p->s[p->pos] != ':')
        return perr(p, "expected ':' after the key");
    p->pos++;
    skip_ws(p);
    if (p->pos < p->len && p->s[p->pos] == '"') {
        p->pos++;
        return parse_string(p, &f->str);
    }
    if (p->pos < p->len && p->s[p->pos] == '[') {
        p->pos++;
        return parse_array(p, f);
    }
    return perr(p, "the value of \"%s\" must be a string or an array of strings", f->key);
}

/* jsonl_parse - one object of strings and arrays of strings */
int
jsonl_parse(const char *line, size_t len, struct jsonl_object *obj, char *err, size_t errsize)
{
    struct parser p = { line, len, 0, err, errsize };
    int rc = 0;

    memset(obj, 0, sizeof *obj);
    if (len > JSONL_LINE_MAX)
        return perr(&p, "line longer than %d octets", JSONL_LINE_MAX);
    skip_ws(&p);
    if (p.pos >= p.len || p.s[p.pos] != '{')
        return perr(&p, "expected a JSON object ('{')");
    p.pos++;
    skip_ws(&p);
    if (p.pos < p.len && p.s[p.pos] == '}') {
        p.pos++;
    } else {
        for (;;) {
            skip_ws(&p);
            rc = parse_member(&p, obj);
            if (rc != 0)
                break;
            skip_ws(&p);
            if (p.pos < p.len && p.s[p.pos] == ',') {
                p.pos++;
                continue;
            }
            if (p.pos < p.len && p.s[p.pos] == '}') {
                p.pos++;
                break;
            }
            rc = perr(&p, "expected ',' or '}' in the object");
            break;
        }
    }
    if (rc == 0) {
        skip_ws(&p);
        if (p.pos < p.len)
            rc = perr(&p, "text after the object");
    }
    if (rc != 0)
        jsonl_free(obj);
    return rc;
}

/* jsonl_free - every string of obj; obj is empty afterwards */
void
jsonl_free(struct jsonl_object *obj)
{
    size_t i, j;

    for (i = 0; i < obj->count; i++) {
        free(obj->fields[i].str);
        for (j = 0; j < obj->fields[i].count; j++)
            free(obj->fields[i].items[j]);
        free(obj->fields[i].items);
    }
    memset(obj, 0, sizeof *obj);
}

/* jsonl_get - a field by key */
const struct jsonl_field *
jsonl_get(const struct jsonl_object *obj, const char *key)
{
    size_t i;

    for (i = 0; i < obj->count; i++)
        if (strcmp(obj->fields[i].key, key) == 0)
            return &obj->fields[i];
    return NULL;
}

/* jsonl_reader_init - an empty reader over fd */
void
jsonl_reader_init(struct jsonl_reader *r, int fd)
{
    r->fd = fd;
    r->eof = r->too_long = r->nul = false;
    r->start = r->end = r->len = 0;
}

/* jsonl_reader_ready - a newline (or the end) is in the buffer */
bool
jsonl_reader_ready(const struct jsonl_reader *r)
{
    return r->eof || memchr(r->buf + r->start, '\n', r->end - r->start) != NULL;
}

/* line_done - hand out the line gathered so far and start the next */
static int
line_done(struct jsonl_reader *r, size_t *len_out)
{
    int rc = r->too_long ? -1 : r->nul ? -2 : 1;

    r->line[r->len] = '\0';
    *len_out = r->len;
    r->len = 0;
    r->too_long = r->nul = false;
    return rc;
}

/* jsonl_reader_next - the next bounded line, resumable after EINTR */
int
jsonl_reader_next(struct jsonl_reader *r, size_t *len_out)
{
    for (;;) {
        while (r->start < r->end) {
            char c = r->buf[r->start++];

            if (c == '\n')
                return line_done(r, len_out);
            if (c == '\0')
                r->nul = true;
            if (r->len < JSONL_LINE_MAX)
                r->line[r->len++] = c;
            else
                r->too_long = true;
        }
        if (r->eof) {
            if (r->len == 0 && !r->too_long && !r->nul) {
                *len_out = 0;
                return 0;
            }
            return line_done(r, len_out);
        }
        {
            ssize_t n = read(r->fd, r->buf, sizeof r->buf);

            if (n < 0)
                return -3;
            r->start = 0;
            r->end = (size_t)n;
            if (n == 0)
                r->eof = true;
        }
    }
}
