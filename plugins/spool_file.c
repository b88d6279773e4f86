/*
 * spool_file.c - write and parse one queue file (format in spool_file.h)
 *
 * The parser trusts nothing: every number is range-checked, every count
 * bounded, and any surprise makes the file corrupt (the store sets it aside)
 * rather than crashing or blocking the runner.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <unistd.h>

#include "spool_file.h"

#define SPOOL_MAGIC "HERALD-QUEUE 1"
#define SPOOL_MAX_RCPTS 100000       /* herald_message's own bound */

/* put_escaped - s with '%', controls and DEL as %XX (a record stays one line) */
static int
put_escaped(FILE *f, const char *s)
{
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;

        if (c < 0x20 || c == 0x7f || c == '%' || c == ' ') {
            if (fprintf(f, "%%%02X", c) < 0)
                return -1;
        } else if (putc(c, f) == EOF) {
            return -1;
        }
    }
    return 0;
}

/* spool_write_header - the header up to and including "body SIZE\n" */
int
spool_write_header(FILE *f, const struct herald_queue_entry *e)
{
    size_t i;

    fprintf(f, SPOOL_MAGIC "\nid %s\narrival %" PRId64 "\ndevice %s\nsender %s\n", e->id,
            e->arrival, e->device, e->sender);
    fprintf(f, "notify %u\nret %d\n", e->dsn_notify, (int)e->dsn_ret);
    if (e->dsn_envid != NULL)
        fprintf(f, "envid %s\n", e->dsn_envid);
    fprintf(f, "8bit %d\n", e->body_8bit ? 1 : 0);
    for (i = 0; i < e->rcpt_count; i++)
        fprintf(f, "rcpt %s\n", e->rcpts[i].address);
    fprintf(f, "body %" PRIu64 "\n", e->size);
    return ferror(f) ? -1 : 0;
}

/* spool_record - one recipient's state record; 0 when it does not fit */
size_t
spool_record(char *buf, size_t size, size_t index, const struct herald_queue_rcpt *r)
{
    char *mem = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&mem, &len);
    const char *st = r->state == HERALD_RESULT_DELIVERED ? "D"
                     : r->state == HERALD_RESULT_FAILED ? "F" : "d";
    int bad;

    if (f == NULL)
        return 0;
    fprintf(f, "r %zu %s %" PRIu32 " %" PRId64 " %d %d ", index, st, r->attempts, r->next_try,
            r->possibly_delivered ? 1 : 0, r->notified ? 1 : 0);
    if (r->dsn != NULL && *r->dsn)
        put_escaped(f, r->dsn);
    else
        fputc('-', f);
    fputc(' ', f);
    put_escaped(f, r->reply != NULL ? r->reply : "");
    fputc('\n', f);
    bad = ferror(f);
    fclose(f);
    if (bad || mem == NULL || len + 1 > size) {
        free(mem);
        return 0;
    }
    memcpy(buf, mem, len + 1);
    free(mem);
    return len;
}

/* unescape - %XX back to octets, in place */
static void
unescape(char *s)
{
    char *w = s;

    while (*s) {
        unsigned v;

        if (s[0] == '%' && s[1] && s[2] && sscanf(s + 1, "%2x", &v) == 1) {
            *w++ = (char)v;
            s += 3;
        } else {
            *w++ = *s++;
        }
    }
    *w = '\0';
}

/* fail - why[] and -1 */
static int
fail(char *why, size_t size, const char *text, long long n)
{
    if (n >= 0)
        snprintf(why, size, "%s (at octet %lld)", text, n);
    else
        snprintf(why, size, "%s", text);
    return -1;
}

/* field - the value of "NAME value" in line, or NULL */
static const char *
field(const char *line, const char *name)
{
    size_t n = strlen(name);

    if (strncmp(line, name, n) == 0 && line[n] == ' ')
        return line + n + 1;
    return NULL;
}

/* num - a decimal in [min, max]; false otherwise */
static bool
num(const char *s, long long min, long long max, long long *out)
{
    char *end;
    long long v;

    if (s == NULL || *s == '\0')
        return false;
    errno = 0;
    v = strtoll(s, &end, 10);
    if (errno != 0 || *end != '\0' || v < min || v > max)
        return false;
    *out = v;
    return true;
}

/* spool_parse_record - one state record into p; false if malformed */
bool
spool_parse_record(char *line, struct spool_parsed *p)
{
    struct herald_queue_entry *e = &p->entry;
    char *tok[9], *save = NULL, *t;
    long long idx, att, next, pd, nt;
    struct herald_queue_rcpt *r;
    int n = 0;

    if (line[0] == 'h' || line[0] == 'w') {
        long long v;

        if (line[1] != ' ' || !num(line + 2, 0, 1, &v))
            return false;
        if (line[0] == 'h')
            e->held = v != 0;
        else
            e->warned = v != 0;
        return true;
    }
    for (t = strtok_r(line, " ", &save); t != NULL && n < 9; t = strtok_r(NULL, " ", &save))
        tok[n++] = t;
    /* An empty reply leaves 8 tokens. */
    if ((n != 8 && n != 9) || strcmp(tok[0], "r") != 0 ||
        !num(tok[1], 0, (long long)e->rcpt_count - 1, &idx) || strlen(tok[2]) != 1 ||
        !num(tok[3], 0, UINT32_MAX, &att) || !num(tok[4], 0, INT64_MAX, &next) ||
        !num(tok[5], 0, 1, &pd) || !num(tok[6], 0, 1, &nt))
        return false;
    r = &e->rcpts[idx];
    switch (tok[2][0]) {
    case 'd': r->state = HERALD_RESULT_DEFERRED; break;
    case 'D': r->state = HERALD_RESULT_DELIVERED; break;
    case 'F': r->state = HERALD_RESULT_FAILED; break;
    default: return false;
    }
    r->attempts = (uint32_t)att;
    r->next_try = next;
    r->possibly_delivered = pd != 0;
    r->notified = nt != 0;
    free((char *)r->reply);
    free((char *)r->dsn);
    r->dsn = NULL;
    r->reply = strdup(n == 9 ? tok[8] : "");
    r->dsn = strdup(strcmp(tok[7], "-") == 0 ? "" : tok[7]);
    if (r->reply == NULL || r->dsn == NULL)
        return false;
    unescape((char *)r->reply);
    unescape((char *)r->dsn);
    return true;
}

/* header_line - one header line into p; 1 more, 0 "body" reached, -1 bad */
static int
header_line(char *line, struct spool_parsed *p, size_t *rcap)
{
    struct herald_queue_entry *e = &p->entry;
    const char *v;
    long long n;

    if ((v = field(line, "id")) != NULL) {
        if (!herald_queue_id_valid(v))
            return -1;
        snprintf(e->id, sizeof e->id, "%s", v);
    } else if ((v = field(line, "arrival")) != NULL) {
        if (!num(v, 0, INT64_MAX, &n))
            return -1;
        e->arrival = n;
    } else if ((v = field(line, "device")) != NULL) {
        if (e->device != NULL || (e->device = strdup(v)) == NULL)
            return -1;
    } else if ((v = field(line, "sender")) != NULL) {
        if (e->sender != NULL || (e->sender = strdup(v)) == NULL)
            return -1;
    } else if ((v = field(line, "notify")) != NULL) {
        if (!num(v, 0, 15, &n))
            return -1;
        e->dsn_notify = (unsigned)n;
    } else if ((v = field(line, "ret")) != NULL) {
        if (!num(v, 0, 2, &n))
            return -1;
        e->dsn_ret = (enum herald_dsn_ret)n;
    } else if ((v = field(line, "envid")) != NULL) {
        if (e->dsn_envid != NULL || (e->dsn_envid = strdup(v)) == NULL)
            return -1;
    } else if ((v = field(line, "8bit")) != NULL) {
        if (!num(v, 0, 1, &n))
            return -1;
        e->body_8bit = n != 0;
    } else if ((v = field(line, "rcpt")) != NULL) {
        if (e->rcpt_count == SPOOL_MAX_RCPTS || *v == '\0')
            return -1;
        if (e->rcpt_count == *rcap) {
            size_t cap = *rcap ? *rcap * 2 : 4;
            struct herald_queue_rcpt *g = realloc(e->rcpts, cap * sizeof *g);

            if (g == NULL)
                return -1;
            e->rcpts = g;
            *rcap = cap;
        }
        memset(&e->rcpts[e->rcpt_count], 0, sizeof e->rcpts[0]);
        if ((e->rcpts[e->rcpt_count].address = strdup(v)) == NULL)
            return -1;
        e->rcpt_count++;
    } else if ((v = field(line, "body")) != NULL) {
        if (!num(v, 0, INT64_MAX / 2, &n))
            return -1;
        e->size = (uint64_t)n;
        return 0;
    } else {
        return -1;
    }
    return 1;
}

/* fill_defaults - every recipient without a record: deferred, never tried */
static bool
fill_defaults(struct herald_queue_entry *e)
{
    size_t i;

    for (i = 0; i < e->rcpt_count; i++) {
        if (e->rcpts[i].reply == NULL && (e->rcpts[i].reply = strdup("")) == NULL)
            return false;
        if (e->rcpts[i].dsn == NULL && (e->rcpts[i].dsn = strdup("")) == NULL)
            return false;
    }
    return true;
}

/* spool_parse_image - one message image from f, positioned at off, into p */
int
spool_parse_image(FILE *f, uint64_t off0, struct spool_parsed *p, char *why, size_t why_size)
{
    char *line = NULL, mark[SPOOL_END_LEN];
    size_t cap = 0, rcap = 0;
    ssize_t len;
    long long off = (long long)off0;
    int rc = -1, h;

    memset(p, 0, sizeof *p);
    len = getline(&line, &cap, f);
    if (len <= 0 || strcmp(line, SPOOL_MAGIC "\n") != 0) {
        fail(why, why_size, len <= 0 ? "empty file" : "not a Herald queue file", off);
        goto out;
    }
    off += len;
    for (h = 1; h == 1;) {
        len = getline(&line, &cap, f);
        if (len <= 0 || line[len - 1] != '\n' || (size_t)len > SPOOL_MAX_LINE) {
            fail(why, why_size, "truncated header", off);
            goto out;
        }
        line[len - 1] = '\0';
        h = header_line(line, p, &rcap);
        if (h < 0) {
            fail(why, why_size, "bad header line", off);
            goto out;
        }
        off += len;
    }
    if (p->entry.id[0] == '\0' || p->entry.device == NULL || p->entry.sender == NULL ||
        p->entry.rcpt_count == 0) {
        fail(why, why_size, "header lacks id, device, sender or recipients", off);
        goto out;
    }
    p->body_offset = (uint64_t)off;
    /* The end mark proves the body was written whole. */
    if (fseeko(f, (off_t)(p->body_offset + p->entry.size), SEEK_SET) != 0 ||
        fread(mark, 1, SPOOL_END_LEN, f) != SPOOL_END_LEN ||
        memcmp(mark, SPOOL_END_MARK, SPOOL_END_LEN) != 0) {
        fail(why, why_size, "truncated body (no end mark)", (long long)p->body_offset);
        goto out;
    }
    p->valid_end = p->body_offset + p->entry.size + SPOOL_END_LEN;
    if (!fill_defaults(&p->entry)) {
        fail(why, why_size, "out of memory", -1);
        goto out;
    }
    rc = 0;
out:
    free(line);
    if (rc != 0)
        spool_parsed_free(p);
    return rc;
}

/* spool_parsed_free - every string of the entry; p is empty afterwards */
void
spool_parsed_free(struct spool_parsed *p)
{
    size_t i;

    for (i = 0; i < p->entry.rcpt_count; i++) {
        free((char *)p->entry.rcpts[i].address);
        free((char *)p->entry.rcpts[i].reply);
        free((char *)p->entry.rcpts[i].dsn);
    }
    free(p->entry.rcpts);
    free((char *)p->entry.device);
    free((char *)p->entry.sender);
    free((char *)p->entry.dsn_envid);
    memset(p, 0, sizeof *p);
}
