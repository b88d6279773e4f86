/*
 * smtp_reply.c - bounded, incremental SMTP reply parser (see smtp_reply.h)
 */
#include <stdio.h>
#include <string.h>

#include <herald/text.h>

#include "smtp_reply.h"

/* smtp_reply_parser_init - empty parser, ready for the first reply */
void
smtp_reply_parser_init(struct smtp_reply_parser *p)
{
    p->line_len = 0;
    p->complete = false;
    p->failed = false;
    p->error[0] = '\0';
    p->reply.code = 0;
    p->reply.dsn[0] = '\0';
    p->reply.nlines = 0;
    p->reply.text_len = 0;
}

/* fail - enter the sticky error state with a reason */
static herald_status
fail(struct smtp_reply_parser *p, const char *why)
{
    p->failed = true;
    snprintf(p->error, sizeof p->error, "%s", why);
    return HERALD_E_PROTOCOL;
}

/* is_digit - ASCII digit, whatever the locale */
static bool
is_digit(char c)
{
    return c >= '0' && c <= '9';
}

/*
 * parse_dsn - an RFC 3463 enhanced status code "C.SSS.DDD" at the start of
 * text whose class agrees with the reply's; copied into dsn, else "".
 */
static void
parse_dsn(const char *text, int code, char *dsn, size_t cap)
{
    size_t i = 0, start, n;
    int part;

    dsn[0] = '\0';
    if (text[0] != '0' + code / 100 || (text[0] != '2' && text[0] != '4' && text[0] != '5'))
        return;
    i = 1;
    for (part = 0; part < 2; part++) {
        if (text[i] != '.')
            return;
        i++;
        start = i;
        while (is_digit(text[i]) && i - start < 4)
            i++;
        n = i - start;
        if (n < 1 || n > 3)
            return;
    }
    if (text[i] != '\0' && text[i] != ' ' && text[i] != '\t')
        return;
    if (i < cap) {
        memcpy(dsn, text, i);
        dsn[i] = '\0';
    }
}

/*
 * take_line - check one complete line (without its line ending) and add it
 * to the reply; sets p->complete on the last line.
 */
static herald_status
take_line(struct smtp_reply_parser *p)
{
    struct smtp_reply *r = &p->reply;
    const char *l = p->line;
    size_t len = p->line_len, tlen;
    int code;
    bool last;

    if (len < 3 || !is_digit(l[0]) || !is_digit(l[1]) || !is_digit(l[2]))
        return fail(p, "reply line does not start with a 3-digit code");
    if (l[0] < '2' || l[0] > '5' || l[1] > '5')
        return fail(p, "reply code out of range");
    if (len > 3 && l[3] != ' ' && l[3] != '-')
        return fail(p, "reply code not followed by space or hyphen");
    if (memchr(l, '\r', len) != NULL)
        return fail(p, "bare CR inside a reply line");
    code = (l[0] - '0') * 100 + (l[1] - '0') * 10 + (l[2] - '0');
    if (r->nlines > 0 && code != r->code)
        return fail(p, "reply lines disagree on the code");
    if (r->nlines >= SMTP_REPLY_LINES_MAX)
        return fail(p, "reply has too many lines");
    last = len == 3 || l[3] == ' ';
    tlen = len > 4 ? len - 4 : 0;
    if (r->text_len + tlen + 1 > sizeof r->text)
        return fail(p, "reply text too long");
    r->code = code;
    r->line_off[r->nlines] = r->text_len;
    memcpy(r->text + r->text_len, l + 4 * (len > 4), tlen);
    r->text[r->text_len + tlen] = '\0';
    if (r->nlines == 0 || r->dsn[0] == '\0')
        parse_dsn(r->text + r->text_len, code, r->dsn, sizeof r->dsn);
    r->text_len += tlen + 1;
    r->nlines++;
    p->complete = last;
    return HERALD_OK;
}

/* smtp_reply_feed - consume bytes until one reply is complete or data runs out */
herald_status
smtp_reply_feed(struct smtp_reply_parser *p, const char *data, size_t len, size_t *used_out,
                bool *complete_out)
{
    size_t i;
    herald_status st;

    if (used_out != NULL)
        *used_out = 0;
    if (complete_out != NULL)
        *complete_out = false;
    if (p == NULL || (data == NULL && len > 0) || used_out == NULL || complete_out == NULL)
        return HERALD_E_INVAL;
    if (p->failed)
        return HERALD_E_PROTOCOL;
    if (p->complete) {
        /* The previous reply was handed out: start the next one. */
        p->complete = false;
        p->reply.code = 0;
        p->reply.dsn[0] = '\0';
        p->reply.nlines = 0;
        p->reply.text_len = 0;
    }
    for (i = 0; i < len; i++) {
        char c = data[i];

        if (c == '\0') {
            *used_out = i + 1;
            return fail(p, "NUL octet in reply");
        }
        if (c == '\n') {
            /* CRLF or, leniently, a bare LF ends the line. */
            if (p->line_len > 0 && p->line[p->line_len - 1] == '\r')
                p->line_len--;
            st = take_line(p);
            p->line_len = 0;
            *used_out = i + 1;
            if (st != HERALD_OK)
                return st;
            if (p->complete) {
                *complete_out = true;
                return HERALD_OK;
            }
            continue;
        }
        /* One octet of slack for a CR that a LF may follow. */
        if (p->line_len >= SMTP_REPLY_LINE_MAX + 1
            || (p->line_len == SMTP_REPLY_LINE_MAX && c != '\r')) {
            *used_out = i + 1;
            return fail(p, "reply line too long");
        }
        p->line[p->line_len++] = c;
    }
    *used_out = len;
    return HERALD_OK;
}

/* smtp_reply_get - the complete reply, or NULL when none is complete */
const struct smtp_reply *
smtp_reply_get(const struct smtp_reply_parser *p)
{
    return p != NULL && p->complete && !p->failed ? &p->reply : NULL;
}

/* smtp_reply_error - why the parser failed, or "" */
const char *
smtp_reply_error(const struct smtp_reply_parser *p)
{
    return p != NULL && p->failed ? p->error : "";
}

/* smtp_reply_line - text of line i, or NULL */
const char *
smtp_reply_line(const struct smtp_reply *r, size_t i)
{
    return r != NULL && i < r->nlines ? r->text + r->line_off[i] : NULL;
}

/* smtp_reply_class - the first digit of the code */
int
smtp_reply_class(const struct smtp_reply *r)
{
    return r != NULL ? r->code / 100 : 0;
}

/* smtp_reply_format - one printable line "NNN text1 text2 ..."; octet for
 * octet (HERALD_TEXT_OCTETS), so the line is a prefix of the reply with only
 * controls changed, as fuzz_reply checks: the core makes it a UTF-8 line
 * where it keeps it (herald_job_recipient) */
char *
smtp_reply_format(const struct smtp_reply *r, char *buf, size_t cap)
{
    size_t n, i;

    if (cap == 0)
        return buf;
    buf[0] = '\0';
    if (r == NULL)
        return buf;
    n = (size_t)snprintf(buf, cap, "%03d", r->code);
    if (n >= cap)
        return buf;
    for (i = 0; i < r->nlines && n + 1 < cap; i++) {
        const char *t = smtp_reply_line(r, i);

        if (t[0] == '\0')
            continue;
        buf[n++] = ' ';
        n += herald_text_printable(buf + n, cap - n, t, strlen(t), HERALD_TEXT_OCTETS);
    }
    buf[n] = '\0';
    return buf;
}
