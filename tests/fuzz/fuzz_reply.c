/*
 * fuzz_reply.c - the SMTP reply parser (devices/email/smtp_reply.h) on
 * hostile server bytes
 *
 * Input: octet 0 picks how the stream is cut into chunks, the rest is what
 * the server sends.  The stream is parsed three ways: in one piece, in the
 * chunks octet 0 picks (1 octet, up to 16, up to 3000), and by a plain
 * whole-buffer reference written from the header's grammar.  Invariants:
 *  - the three agree on every reply (where it ends, code, enhanced code,
 *    every line's text) and on where the parser fails, and the two parser
 *    runs give the same error text: cutting never changes the result;
 *  - a reply is only ever complete right after a LF; when incomplete, every
 *    octet given was consumed; consumed counts never exceed what was given;
 *  - a reply holds 1..SMTP_REPLY_LINES_MAX lines of at most
 *    SMTP_REPLY_LINE_MAX - 4 octets, with no CR, LF or NUL, at most
 *    SMTP_REPLY_TEXT_MAX octets of text; code 200..559, second digit <= 5;
 *    the line offsets tile the text; smtp_reply_line(r, nlines) is NULL;
 *  - the enhanced code is "" or class.subject.detail (1..3 digits each) of
 *    the reply's class, from the first line that starts with one;
 *  - smtp_reply_format fits any cap (exact-size buffers), is printable and
 *    is the prefix of the whole "NNN text text" line;
 *  - a failure is sticky (HERALD_E_PROTOCOL, nothing consumed, no reply)
 *    and its reason is a non-empty printable line.
 */
#include <stdbool.h>

#include "fuzz.h"
#include "sbuf.h"
#include "smtp_reply.h"

/* ref_dsn - RFC 3463 "C.SSS.DDD" of class cls at the start of t[0..n), else "" */
static void
ref_dsn(const uint8_t *t, size_t n, int cls, char *out)
{
    size_t i = 1, part, digits;

    out[0] = '\0';
    if (n < 1 || t[0] != '0' + cls || (cls != 2 && cls != 4 && cls != 5))
        return;
    for (part = 0; part < 2; part++) {
        if (i >= n || t[i] != '.')
            return;
        i++;
        for (digits = 0; i < n && t[i] >= '0' && t[i] <= '9'; i++)
            digits++;
        if (digits < 1 || digits > 3)
            return;
    }
    if (i < n && t[i] != ' ' && t[i] != '\t')
        return;
    memcpy(out, t, i);
    out[i] = '\0';
}

/*
 * reference - the stream split at LF, checked line by line against the
 * grammar and bounds of smtp_reply.h; appends the canonical record.
 */
static void
reference(const uint8_t *s, size_t n, struct sbuf *rec)
{
    struct sbuf lines = { 0 };
    size_t pos = 0, nlines = 0, text_len = 0;
    int code = 0;
    char dsn[16] = "";

    while (pos < n) {
        size_t k, len = 0, l, tlen;
        const uint8_t *L = s + pos;
        int c;
        bool last;

        for (k = pos; k < n && s[k] != '\n'; k++) {
            if (s[k] == '\0') {
                sb_printf(rec, "FAIL@%zu\n", k + 1);
                goto out;
            }
            /* SMTP_REPLY_LINE_MAX octets, CRLF not counted: the CR of a
             * CRLF may be the octet after the bound, nothing else. */
            if (len > SMTP_REPLY_LINE_MAX || (len == SMTP_REPLY_LINE_MAX && s[k] != '\r')) {
                sb_printf(rec, "FAIL@%zu\n", k + 1);
                goto out;
            }
            len++;
        }
        if (k == n)
            break;                       /* a partial line: wait for more */
        l = k - pos;
        if (l > 0 && L[l - 1] == '\r')
            l--;
        c = l >= 3 ? (L[0] - '0') * 100 + (L[1] - '0') * 10 + (L[2] - '0') : 0;
        tlen = l > 4 ? l - 4 : 0;
        if (l < 3 || L[0] < '2' || L[0] > '5' || L[1] < '0' || L[1] > '5' || L[2] < '0'
            || L[2] > '9' || (l > 3 && L[3] != ' ' && L[3] != '-')
            || memchr(L, '\r', l) != NULL || (nlines > 0 && c != code)
            || nlines >= SMTP_REPLY_LINES_MAX || text_len + tlen + 1 > SMTP_REPLY_TEXT_MAX) {
            sb_printf(rec, "FAIL@%zu\n", k + 1);
            goto out;
        }
        code = c;
        if (dsn[0] == '\0')
            ref_dsn(L + 4, tlen, c / 100, dsn);
        sb_printf(&lines, "%zu:", tlen);
        sb_add(&lines, L + 4, tlen);
        sb_add(&lines, "|", 1);
        text_len += tlen + 1;
        nlines++;
        last = l == 3 || L[3] == ' ';
        pos = k + 1;
        if (last) {
            sb_printf(rec, "R@%zu %d %zu [%s] ", pos, code, nlines, dsn);
            sb_add(rec, lines.p, lines.len);
            sb_add(rec, "\n", 1);
            lines.len = 0;
            nlines = text_len = 0;
            dsn[0] = '\0';
        }
    }
out:
    sb_free(&lines);
}

/* check_format - smtp_reply_format into an exact-size buffer of cap octets */
static void
check_format(const struct smtp_reply *r, size_t cap, const struct sbuf *full)
{
    char *buf = fuzz_alloc(cap);
    size_t n;

    FUZZ_CHECK(smtp_reply_format(r, buf, cap) == buf);
    n = strnlen(buf, cap);
    FUZZ_CHECK(n < cap);
    FUZZ_CHECK(fuzz_printable(buf));
    FUZZ_CHECK(n == (full->len < cap - 1 ? full->len : cap - 1));
    FUZZ_CHECK(memcmp(buf, full->p, n) == 0);
    free(buf);
}

/* check_reply - structure of a complete reply; appends its record */
static void
check_reply(const struct smtp_reply *r, size_t end, struct sbuf *rec, struct fuzz_rng *rng)
{
    struct sbuf full = { 0 };
    size_t i, off = 0;

    FUZZ_CHECK(r->code >= 200 && r->code <= 559 && r->code / 10 % 10 <= 5);
    FUZZ_CHECK(smtp_reply_class(r) == r->code / 100);
    FUZZ_CHECK(r->nlines >= 1 && r->nlines <= SMTP_REPLY_LINES_MAX);
    FUZZ_CHECK(r->text_len <= SMTP_REPLY_TEXT_MAX);
    FUZZ_CHECK(memchr(r->dsn, '\0', sizeof r->dsn) != NULL);
    if (r->dsn[0] != '\0') {
        char again[16];

        ref_dsn((const uint8_t *)r->dsn, strlen(r->dsn), r->code / 100, again);
        FUZZ_CHECK(strcmp(again, r->dsn) == 0);
    }
    sb_printf(rec, "R@%zu %d %zu [%s] ", end, r->code, r->nlines, r->dsn);
    sb_printf(&full, "%03d", r->code);
    for (i = 0; i < r->nlines; i++) {
        const char *t = smtp_reply_line(r, i);
        size_t tl, j;

        FUZZ_CHECK(t != NULL);
        FUZZ_CHECK(r->line_off[i] == off);
        FUZZ_CHECK(t == r->text + off);
        FUZZ_CHECK(off < r->text_len);
        tl = strnlen(t, r->text_len - off);
        FUZZ_CHECK(off + tl < r->text_len);          /* NUL-terminated inside text */
        FUZZ_CHECK(tl + 4 <= SMTP_REPLY_LINE_MAX);
        FUZZ_CHECK(strpbrk(t, "\r\n") == NULL);
        sb_printf(rec, "%zu:", tl);
        sb_add(rec, t, tl);
        sb_add(rec, "|", 1);
        if (tl > 0) {
            sb_add(&full, " ", 1);
            for (j = 0; j < tl; j++) {
                unsigned char c = (unsigned char)t[j];

                sb_add(&full, (c < 0x20 || c == 0x7f) ? "?" : &t[j], 1);
            }
        }
        off += tl + 1;
    }
    FUZZ_CHECK(off == r->text_len);
    FUZZ_CHECK(smtp_reply_line(r, r->nlines) == NULL);
    sb_add(rec, "\n", 1);
    check_format(r, 1, &full);
    check_format(r, 3, &full);
    check_format(r, 4, &full);
    check_format(r, 512, &full);
    check_format(r, 1 + fuzz_below(rng, full.len + 2), &full);
    {
        char x[2] = "x";

        FUZZ_CHECK(smtp_reply_format(r, x, 0) == x && x[0] == 'x');   /* no room: untouched */
        FUZZ_CHECK(smtp_reply_format(NULL, x, sizeof x) == x && x[0] == '\0');
    }
    sb_free(&full);
}

/*
 * run - parse s[0..n) fed in chunks (max_chunk 0: all at once); appends the
 * canonical record to rec and the failure reason, if any, to why.
 */
static void
run(const uint8_t *s, size_t n, size_t max_chunk, struct fuzz_rng *rng, struct sbuf *rec,
    struct sbuf *why)
{
    struct smtp_reply_parser *p = fuzz_alloc(sizeof *p);
    size_t off = 0, used;
    bool complete;

    smtp_reply_parser_init(p);
    FUZZ_CHECK(smtp_reply_get(p) == NULL);
    FUZZ_CHECK(strcmp(smtp_reply_error(p), "") == 0);
    while (off < n) {
        size_t chunk = max_chunk ? 1 + fuzz_below(rng, max_chunk) : n - off, pos = 0;

        if (chunk > n - off)
            chunk = n - off;
        while (pos < chunk) {
            const char *d = (const char *)s + off + pos;
            herald_status st;

            used = (size_t)-1;
            complete = true;
            st = smtp_reply_feed(p, d, chunk - pos, &used, &complete);
            FUZZ_CHECK(used <= chunk - pos);
            if (st != HERALD_OK) {
                const char *e = smtp_reply_error(p);

                FUZZ_CHECK(st == HERALD_E_PROTOCOL);
                FUZZ_CHECK(!complete && used >= 1);
                FUZZ_CHECK(smtp_reply_get(p) == NULL);
                FUZZ_CHECK(e[0] != '\0' && strlen(e) < sizeof p->error && fuzz_printable(e));
                sb_printf(rec, "FAIL@%zu\n", off + pos + used);
                sb_add(why, e, strlen(e));
                /* Sticky: nothing more is taken. */
                st = smtp_reply_feed(p, "250 ok\r\n", 8, &used, &complete);
                FUZZ_CHECK(st == HERALD_E_PROTOCOL && used == 0 && !complete);
                FUZZ_CHECK(smtp_reply_get(p) == NULL);
                free(p);
                return;
            }
            if (complete) {
                const struct smtp_reply *r = smtp_reply_get(p);

                FUZZ_CHECK(used >= 1 && d[used - 1] == '\n');
                FUZZ_CHECK(r != NULL);
                check_reply(r, off + pos + used, rec, rng);
            } else {
                FUZZ_CHECK(used == chunk - pos);
                FUZZ_CHECK(smtp_reply_get(p) == NULL);
            }
            pos += used;
        }
        off += chunk;
    }
    /* An empty feed is no error and completes nothing. */
    FUZZ_CHECK(smtp_reply_feed(p, "", 0, &used, &complete) == HERALD_OK);
    FUZZ_CHECK(used == 0 && !complete && smtp_reply_get(p) == NULL);
    FUZZ_CHECK(smtp_reply_feed(NULL, "", 0, &used, &complete) == HERALD_E_INVAL);
    free(p);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const size_t chunk_max[4] = { 0, 1, 16, 3000 };
    struct sbuf ref = { 0 }, whole = { 0 }, cut = { 0 }, why1 = { 0 }, why2 = { 0 };
    struct fuzz_rng rng;

    if (size < 1)
        return 0;
    rng.state = data[0];
    reference(data + 1, size - 1, &ref);
    run(data + 1, size - 1, 0, &rng, &whole, &why1);
    run(data + 1, size - 1, chunk_max[data[0] & 3], &rng, &cut, &why2);
    FUZZ_CHECK(sb_equal(&whole, &ref));
    FUZZ_CHECK(sb_equal(&cut, &ref));
    FUZZ_CHECK(sb_equal(&why1, &why2));
    sb_free(&ref);
    sb_free(&whole);
    sb_free(&cut);
    sb_free(&why1);
    sb_free(&why2);
    return 0;
}
