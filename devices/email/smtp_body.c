/*
 * smtp_body.c - streaming DATA encoder: CRLF, dot-stuffing, end mark (see smtp_body.h)
 */
#include <stdint.h>
#include <string.h>

#include "smtp_body.h"

/* smtp_body_init - fresh encoder: at the start of a line */
void
smtp_body_init(struct smtp_body_enc *e)
{
    e->at_bol = true;
    e->cr_pending = false;
    e->finished = false;
}

/*
 * clean_run - how many octets of in[0..n) go on the wire exactly as they
 * are, the encoder being at e's state (not at a '.' that starts a line, no
 * CR pending): line content and CRLF line ends, up to the first bare CR or
 * LF, or the first line that starts with '.'.  The input goes on to `all`
 * (n may stop short of it for lack of room); *cr is the next CR at or after
 * in, up to `all` (`all`: none; NULL: not searched yet), kept across calls
 * so that every octet is searched once: memchr for LF and for CR, never a
 * loop over single octets.  Leaves e->at_bol as it is after the run.
 */
static size_t
clean_run(struct smtp_body_enc *e, const char *in, size_t n, const char *all, const char **cr)
{
    const char *end = in + n, *p = in;

    while (p < end) {
        const char *lf, *stop;

        if (*cr == NULL || *cr < p) {
            *cr = memchr(p, '\r', (size_t)(all - p));
            if (*cr == NULL)
                *cr = all;
        }
        lf = memchr(p, '\n', (size_t)(end - p));
        stop = lf != NULL && lf < *cr ? lf : *cr;
        if (stop > end)
            stop = end;
        if (stop > p)
            e->at_bol = false;
        /* A CR that ends a line in CRLF is what the wire wants; any other
         * CR or LF, or the end of the room, ends the run. */
        if (stop == end || *stop != '\r' || stop + 1 == end || stop[1] != '\n')
            return (size_t)(stop - in);
        p = stop + 2;
        e->at_bol = true;
        if (p < end && *p == '.')
            break;
    }
    return (size_t)(p - in);
}

/* smtp_body_encode - encode as much of in as fits in out */
herald_status
smtp_body_encode(struct smtp_body_enc *e, const char *in, size_t in_len, char *out,
                 size_t out_cap, size_t *in_used_out, size_t *out_len_out)
{
    const char *cr = NULL;
    size_t i = 0, o = 0;

    if (e == NULL || (in == NULL && in_len > 0) || out == NULL || in_used_out == NULL
        || out_len_out == NULL || e->finished)
        return HERALD_E_INVAL;
    while (i < in_len && out_cap - o >= SMTP_BODY_EXPAND_MAX) {
        char c = in[i];
        size_t run;

        if (e->cr_pending) {
            /* A CR followed by anything but LF is a bare CR: a line ending too. */
            out[o++] = '\r';
            out[o++] = '\n';
            e->cr_pending = false;
            e->at_bol = true;
            if (c == '\n') {
                i++;
                continue;
            }
            /* c is taken now too: never output without input taken. */
        }
        if (c == '\r' && (i + 1 == in_len || in[i + 1] != '\n')) {
            e->cr_pending = true;     /* a CRLF split between calls, or a bare CR */
            i++;
            continue;
        }
        if (c == '\n') {
            out[o++] = '\r';
            out[o++] = '\n';
            e->at_bol = true;
            i++;
            continue;
        }
        if (e->at_bol && c == '.') {
            out[o++] = '.';
            out[o++] = '.';
            e->at_bol = false;
            i++;
            continue;
        }
        /* The common case: whole lines already in wire form, copied at once. */
        run = in_len - i < out_cap - o ? in_len - i : out_cap - o;
        run = clean_run(e, in + i, run, in + in_len, &cr);
        memcpy(out + o, in + i, run);
        o += run;
        i += run;
    }
    *in_used_out = i;
    *out_len_out = o;
    return HERALD_OK;
}

/* smtp_body_finish - write the end-of-data mark, exactly once */
herald_status
smtp_body_finish(struct smtp_body_enc *e, char *out, size_t out_cap, size_t *out_len_out)
{
    size_t o = 0;

    if (e == NULL || out == NULL || out_len_out == NULL || e->finished)
        return HERALD_E_INVAL;
    if (out_cap < SMTP_BODY_FINISH_MAX)
        return HERALD_E_LIMIT;
    if (e->cr_pending || !e->at_bol) {
        out[o++] = '\r';
        out[o++] = '\n';
    }
    memcpy(out + o, ".\r\n", 3);
    o += 3;
    e->cr_pending = false;
    e->at_bol = true;
    e->finished = true;
    *out_len_out = o;
    return HERALD_OK;
}

/* smtp_body_has_8bit - true when data holds an octet >= 0x80; 32 octets
 * at a time (it runs over every body before MAIL, for BODY=8BITMIME) */
bool
smtp_body_has_8bit(const void *data, size_t len)
{
    const unsigned char *p = data;
    size_t i = 0;

    for (; i + 32 <= len; i += 32) {
        uint64_t w[4];

        memcpy(w, p + i, sizeof w);
        if ((w[0] | w[1] | w[2] | w[3]) & UINT64_C(0x8080808080808080))
            return true;
    }
    for (; i < len; i++)
        if (p[i] >= 0x80)
            return true;
    return false;
}
