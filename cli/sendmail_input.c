/*
 * sendmail_input.c - the message on herald-sendmail's standard input,
 * spooled to a temporary file with what sendmail adds
 *
 * Standard input is read in chunks and never held whole: only the header
 * section (at most SM_HEADER_MAX octets) is kept in memory, to find the
 * fields present and (-t) the recipients.  The file written is
 *   Date, Message-ID and From when the message has none (in the message's
 *   own line ending, LF or CRLF), then the message's fields without Bcc,
 *   then an empty line when the header section ended on a line that is not
 *   a field, then the rest byte for byte.
 * Without -i, a line holding a single "." (LF, CRLF or the end of input
 * after it) ends the message and the rest of the input is not read; other
 * lines that begin with "." are kept as they are (as Postfix does).  A
 * first line "From " (an mbox separator) is dropped.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "sendmail.h"

#define READ_CHUNK (64 * 1024)

/* The dot filter: where the input is relative to the start of a line. */
enum dot_state { AT_BOL, MID_LINE, AFTER_DOT, AFTER_DOT_CR };

struct dot_filter {
    enum dot_state st;
    bool ended;                /* the "." line came: nothing more is read */
};

/* dot_feed - in[0..n) into out (room n + 2: a held ".\r" comes out late);
 * the octets written */
static size_t
dot_feed(struct dot_filter *d, const char *in, size_t n, char *out)
{
    size_t i, o = 0;

    for (i = 0; i < n && !d->ended; i++) {
        char c = in[i];

        switch (d->st) {
        case AT_BOL:
            if (c == '.') {
                d->st = AFTER_DOT;
                continue;
            }
            break;
        case AFTER_DOT:
            if (c == '\n') {
                d->ended = true;
                continue;
            }
            if (c == '\r') {
                d->st = AFTER_DOT_CR;
                continue;
            }
            out[o++] = '.';
            break;
        case AFTER_DOT_CR:
            if (c == '\n') {
                d->ended = true;
                continue;
            }
            out[o++] = '.';
            out[o++] = '\r';
            break;
        case MID_LINE:
            break;
        }
        out[o++] = c;
        d->st = c == '\n' ? AT_BOL : MID_LINE;
    }
    return o;
}

/* dot_end - the end of input: a "." (or ".\r") waiting is the end mark */
static void
dot_end(struct dot_filter *d)
{
    if (d->st == AFTER_DOT || d->st == AFTER_DOT_CR)
        d->ended = true;
}

/* The output file, buffered. */
struct spool {
    int fd;
    int err;                   /* errno of the first failed write */
    size_t len;
    char buf[READ_CHUNK];
};

static void
spool_flush(struct spool *s)
{
    size_t off = 0;

    while (s->err == 0 && off < s->len) {
        ssize_t w = write(s->fd, s->buf + off, s->len - off);

        if (w < 0 && errno == EINTR)
            continue;
        if (w < 0)
            s->err = errno;
        else
            off += (size_t)w;
    }
    s->len = 0;
}

static void
spool_put(struct spool *s, const char *p, size_t n)
{
    while (n > 0 && s->err == 0) {
        size_t k = sizeof s->buf - s->len < n ? sizeof s->buf - s->len : n;

        memcpy(s->buf + s->len, p, k);
        s->len += k;
        p += k;
        n -= k;
        if (s->len == sizeof s->buf)
            spool_flush(s);
    }
}

/* spool_line - a line we add, in the message's own line ending */
static void
spool_line(struct spool *s, const char *text, bool crlf)
{
    spool_put(s, text, strlen(text));
    spool_put(s, crlf ? "\r\n" : "\n", crlf ? 2 : 1);
}

/* The header section as it comes in. */
struct head {
    char *buf;
    size_t len, cap;
    size_t scan;               /* where the first line not yet looked at starts */
    size_t skip;               /* octets of a leading "From " line */
    bool done;
    size_t end;                /* the header section is buf[skip..end) */
    bool need_blank;           /* it ended on a line that is not a field */
};

/* field_start - the line at p (n octets, LF included) starts a field "Name:" */
static bool
field_start(const char *p, size_t n)
{
    size_t i;

    for (i = 0; i < n && p[i] > 32 && p[i] < 127 && p[i] != ':'; i++)
        ;
    if (i == 0)
        return false;
    while (i < n && (p[i] == ' ' || p[i] == '\t'))
        i++;
    return i < n && p[i] == ':';
}

/* head_lines - look at every whole line not yet seen: where does the section end? */
static void
head_lines(struct head *h)
{
    const char *nl;

    while (!h->done && (nl = memchr(h->buf + h->scan, '\n', h->len - h->scan)) != NULL) {
        const char *p = h->buf + h->scan;
        size_t n = (size_t)(nl - p) + 1;

        if (h->scan == 0 && n >= 5 && memcmp(p, "From ", 5) == 0) {
            h->skip = n;
        } else if (n == 1 || (n == 2 && p[0] == '\r')) {
            h->done = true;          /* the empty line: it stays, with the body */
            h->end = h->scan;
            return;
        } else if ((p[0] == ' ' || p[0] == '\t') && h->scan > h->skip) {
            ;                        /* a continuation line */
        } else if (!field_start(p, n)) {
            h->done = true;
            h->end = h->scan;
            h->need_blank = true;
            return;
        }
        h->scan += n;
    }
}

/* head_add - filtered input into the header buffer; -1 when it grows too large */
static int
head_add(struct head *h, const char *p, size_t n)
{
    if (h->len + n > h->cap) {
        size_t cap = h->cap ? h->cap : READ_CHUNK;
        char *grown;

        while (cap < h->len + n)
            cap *= 2;
        if (cap > SM_HEADER_MAX + READ_CHUNK + 2)
            return -1;
        grown = realloc(h->buf, cap);
        if (grown == NULL)
            return -1;
        h->buf = grown;
        h->cap = cap;
    }
    memcpy(h->buf + h->len, p, n);
    h->len += n;
    head_lines(h);
    return !h->done && h->scan > SM_HEADER_MAX ? -1 : 0;
}

/* put_added - the fields sendmail adds when they are missing */
static int
put_added(struct spool *s, const struct sm_headers *hs, const struct sm_added *add)
{
    char line[8192], value[1024];
    const char *dom = strrchr(add->from_address, '@');
    herald_status st;

    if (!hs->has_date && herald_mime_date(time(NULL), value, sizeof value) == HERALD_OK) {
        snprintf(line, sizeof line, "Date: %s", value);
        spool_line(s, line, hs->crlf);
    }
    if (!hs->has_message_id &&
        herald_mime_message_id(dom != NULL ? dom + 1 : NULL, value, sizeof value) == HERALD_OK) {
        snprintf(line, sizeof line, "Message-ID: %s", value);
        spool_line(s, line, hs->crlf);
    }
    if (hs->has_from)
        return 0;
    st = herald_mime_address_field("From", add->fullname, add->from_address, line,
                                   sizeof line);
    if (st != HERALD_OK) {
        fprintf(stderr, SM_NAME ": cannot add a From field for -F \"");
        cli_put_printable(stderr, add->fullname ? add->fullname : "");
        fprintf(stderr, "\" <");
        cli_put_printable(stderr, add->from_address);
        fprintf(stderr, ">: %s\n", st == HERALD_E_INVAL ? "a control character, or not UTF-8"
                                                        : herald_strerror(st));
        return st == HERALD_E_INVAL ? EX_USAGE : EX_DATAERR;
    }
    if (hs->crlf) {
        spool_put(s, line, strlen(line));
    } else {
        /* The builder folds with CRLF; this message's lines end in LF. */
        const char *p;

        for (p = line; *p != '\0'; p++)
            if (*p != '\r')
                spool_put(s, p, 1);
    }
    return 0;
}

/* put_head - the header section once its end is known (or the input ended) */
static int
put_head(struct spool *s, struct head *h, const struct sm_opts *o, const struct sm_added *add,
         const char *domain, struct sm_rcpts *r)
{
    struct sm_headers hs;
    char err[1024];
    size_t off, n;
    int rc;

    if (!h->done) {
        const char *p = h->buf + h->scan;
        size_t rest = h->len - h->scan;

        /* The input ended inside the section: a last line without a line
         * end is a field, a continuation, or the start of the body. */
        h->end = h->len;
        if (rest > 0 && !field_start(p, rest) &&
            !((*p == ' ' || *p == '\t') && h->scan > h->skip)) {
            h->end = h->scan;
            h->need_blank = true;
        }
    }
    rc = sm_headers_scan(h->buf + h->skip, h->end - h->skip, o->extract, domain, &hs, r, err,
                         sizeof err);
    if (rc != 0) {
        fputs(SM_NAME ": ", stderr);
        cli_put_printable(stderr, err);
        fputc('\n', stderr);
        return rc;
    }
    rc = put_added(s, &hs, add);
    if (rc != 0)
        return rc;
    for (off = h->skip; off < h->end; off += n) {
        n = sm_field_len(h->buf + off, h->end - off);
        if (!sm_header_is(h->buf + off, n, "Bcc"))
            spool_put(s, h->buf + off, n);
    }
    if (h->end > h->skip && h->buf[h->end - 1] != '\n')
        spool_line(s, "", hs.crlf);    /* the last field had no line end */
    if (h->need_blank)
        spool_line(s, "", hs.crlf);
    spool_put(s, h->buf + h->end, h->len - h->end);
    return 0;
}

/* tmp_create - a named file under $TMPDIR (or /tmp); the caller unlinks it */
static int
tmp_create(char *path, size_t size)
{
    const char *dir = getenv("TMPDIR");
    int fd;

    if (dir == NULL || dir[0] != '/')
        dir = "/tmp";
    if ((size_t)snprintf(path, size, "%s/herald-sendmail-XXXXXX", dir) >= size) {
        fprintf(stderr, SM_NAME ": temporary folder name too long\n");
        return -1;
    }
    fd = mkostemp(path, O_CLOEXEC);
    if (fd < 0)
        fprintf(stderr, SM_NAME ": cannot create a temporary file in %s: %s\n", dir,
                strerror(errno));
    return fd;
}

/* pump - read the input through the dot filter into the header buffer, then the file */
static int
pump(int in_fd, struct spool *s, struct head *h, const struct sm_opts *o,
     const struct sm_added *add, const char *domain, struct sm_rcpts *r)
{
    struct dot_filter dot = { AT_BOL, false };
    char *in = malloc(READ_CHUNK), *out = malloc(READ_CHUNK + 2);
    int rc = 0;

    if (in == NULL || out == NULL) {
        fputs(SM_NAME ": out of memory\n", stderr);
        rc = EX_OSERR;
    }
    while (rc == 0 && !dot.ended) {
        ssize_t got = read(in_fd, in, READ_CHUNK);
        size_t n;

        if (got < 0 && errno == EINTR)
            continue;
        if (got < 0) {
            fprintf(stderr, SM_NAME ": cannot read the message: %s\n", strerror(errno));
            rc = EX_IOERR;
            break;
        }
        if (got == 0) {
            dot_end(&dot);
            break;
        }
        if (o->ignore_dots) {
            memcpy(out, in, (size_t)got);
            n = (size_t)got;
        } else {
            n = dot_feed(&dot, in, (size_t)got, out);
        }
        if (h->done) {
            spool_put(s, out, n);
        } else if (head_add(h, out, n) != 0) {
            fprintf(stderr, SM_NAME ": the header section is larger than %d octets\n",
                    SM_HEADER_MAX);
            rc = EX_DATAERR;
        } else if (h->done) {
            rc = put_head(s, h, o, add, domain, r);
        }
    }
    if (rc == 0 && !h->done)
        rc = put_head(s, h, o, add, domain, r);
    free(in);
    free(out);
    return rc;
}

/* sm_read_message - standard input into a temporary file that becomes msg's body */
int
sm_read_message(int in_fd, const struct sm_opts *o, const struct sm_added *add,
                const char *domain, struct herald_message *msg, struct sm_rcpts *r)
{
    char path[PATH_MAX];
    struct spool *s;
    struct head h;
    herald_status st;
    int rc;

    memset(&h, 0, sizeof h);
    s = malloc(sizeof *s);
    if (s == NULL) {
        fputs(SM_NAME ": out of memory\n", stderr);
        return EX_OSERR;
    }
    s->fd = tmp_create(path, sizeof path);
    if (s->fd < 0) {
        free(s);
        return EX_CANTCREAT;
    }
    s->err = 0;
    s->len = 0;
    rc = pump(in_fd, s, &h, o, add, domain, r);
    if (rc == 0) {
        spool_flush(s);
        if (s->err != 0) {
            fprintf(stderr, SM_NAME ": cannot write the message to %s: %s\n", path,
                    strerror(s->err));
            rc = EX_IOERR;
        }
    }
    if (rc == 0) {
        /* The message opens the file by name and keeps its own descriptor. */
        st = herald_message_set_body_file(msg, path);
        if (st != HERALD_OK) {
            fprintf(stderr, SM_NAME ": cannot use the spooled message: %s\n",
                    herald_strerror(st));
            rc = cli_exit_code(st);
        }
    }
    unlink(path);
    close(s->fd);
    free(s);
    free(h.buf);
    return rc;
}
