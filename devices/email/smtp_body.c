/*
 * smtp_body.c - streaming DATA encoder: CRLF, dot-stuffing, end mark (see smtp_body.h)
 */
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

/* smtp_body_encode - encode as much of in as fits in out */
herald_status
smtp_body_encode(struct smtp_body_enc *e, const char *in, size_t in_len, char *out,
                 size_t out_cap, size_t *in_used_out, size_t *out_len_out)
{
    size_t i = 0, o = 0;

    if (e == NULL || (in == NULL && in_len > 0) || out == NULL || in_used_out == NULL
        || out_len_out == NULL || e->finished)
        return HERALD_E_INVAL;
    while (i < in_len && out_cap - o >= SMTP_BODY_EXPAND_MAX) {
        char c = in[i];

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
        }
        if (c == '\r') {
            e->cr_pending = true;
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
        if (e->at_bol && c == '.')
            out[o++] = '.';
        /* Write this octet now, so a doubled dot never loses its twin. */
        out[o++] = c;
        i++;
        e->at_bol = false;
        /* Copy the rest of the line in one run: the common case, kept fast. */
        {
            size_t room = out_cap - o;
            size_t j = i;

            while (j < in_len && j - i < room && in[j] != '\r' && in[j] != '\n')
                j++;
            memcpy(out + o, in + i, j - i);
            o += j - i;
            i = j;
        }
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

/* smtp_body_has_8bit - true when data holds an octet >= 0x80 */
bool
smtp_body_has_8bit(const void *data, size_t len)
{
    const unsigned char *p = data;
    size_t i;

    for (i = 0; i < len; i++)
        if (p[i] >= 0x80)
            return true;
    return false;
}

/* smtp_body_count_add - see smtp_body.h */
void
smtp_body_count_add(struct smtp_body_count *c, const void *data, size_t len)
{
    const unsigned char *p = data;
    size_t i;

    for (i = 0; i < len; i++) {
        unsigned char b = p[i];

        if (c->cr_pending) {
            c->cr_pending = false;
            c->octets += 2;           /* CRLF, or a bare CR written as CRLF */
            c->at_bol = true;
            if (b == '\n')
                continue;
        }
        if (b == '\r') {
            c->cr_pending = true;
        } else if (b == '\n') {
            c->octets += 2;           /* a bare LF goes out as CRLF */
            c->at_bol = true;
        } else {
            c->octets++;
            c->at_bol = false;
        }
    }
}

/* smtp_body_count_total - see smtp_body.h */
uint64_t
smtp_body_count_total(const struct smtp_body_count *c)
{
    uint64_t n = c->octets;

    if (c->cr_pending)
        return n + 2;
    /* smtp_body_finish() ends a last line without a line ending with CRLF. */
    return c->at_bol ? n : n + 2;
}
