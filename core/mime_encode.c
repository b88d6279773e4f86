/*
 * mime_encode.c - base64, quoted-printable, RFC 2047 encoded-words and
 * RFC 2231 parameters, written through a bounded output buffer
 *
 * The composer (core/mime.c) decides what goes where; this file only knows
 * how each piece is spelled on the wire.  Every output line stays within
 * 998 octets and every header line is folded near 78, so the message passes
 * any conforming relay unchanged.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "mime_encode.h"
#include "utf8.h"

/* Encoded-word payload: 42 octets are 56 base64 characters, so "=?UTF-8?B?...?="
 * is 68 and fits after "Subject: " within 78 columns. */
#define EW_CHUNK 42
/* RFC 2231 pieces: at most this many characters of value per continuation. */
#define PARAM_PIECE 48
/* A word longer than this is not left plain in a header: it could not be folded. */
#define PLAIN_WORD_MAX 70

static const char b64_alphabet[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
static const char hex_digits[] = "0123456789ABCDEF";

/* mime_out_init - an empty buffer over fd */
void
mime_out_init(struct mime_out *o, int fd)
{
    o->fd = fd;
    o->err = 0;
    o->len = 0;
}

/* mime_out_flush - write the buffer out, retrying short writes and EINTR */
int
mime_out_flush(struct mime_out *o)
{
    size_t off = 0;

    if (o->err != 0)
        return -1;
    while (off < o->len) {
        ssize_t w = write(o->fd, o->buf + off, o->len - off);

        if (w < 0) {
            if (errno == EINTR)
                continue;
            o->err = errno;
            return -1;
        }
        off += (size_t)w;
    }
    o->len = 0;
    return 0;
}

/* mime_out_bytes - append n octets, flushing when the buffer is full */
void
mime_out_bytes(struct mime_out *o, const void *p, size_t n)
{
    const unsigned char *s = p;

    while (n > 0 && o->err == 0) {
        size_t room = sizeof o->buf - o->len, k = n < room ? n : room;

        memcpy(o->buf + o->len, s, k);
        o->len += k;
        s += k;
        n -= k;
        if (o->len == sizeof o->buf)
            mime_out_flush(o);
    }
}

/* mime_out_str - append a NUL-terminated string */
void
mime_out_str(struct mime_out *o, const char *s)
{
    mime_out_bytes(o, s, strlen(s));
}

/* mime_b64_encode - up to 57 octets as base64 with padding, NUL-terminated */
void
mime_b64_encode(const unsigned char *p, size_t n, char *out)
{
    size_t i, j = 0;

    for (i = 0; i + 2 < n; i += 3) {
        out[j++] = b64_alphabet[p[i] >> 2];
        out[j++] = b64_alphabet[((p[i] & 3) << 4) | (p[i + 1] >> 4)];
        out[j++] = b64_alphabet[((p[i + 1] & 15) << 2) | (p[i + 2] >> 6)];
        out[j++] = b64_alphabet[p[i + 2] & 63];
    }
    if (n - i == 1) {
        out[j++] = b64_alphabet[p[i] >> 2];
        out[j++] = b64_alphabet[(p[i] & 3) << 4];
        out[j++] = '=';
        out[j++] = '=';
    } else if (n - i == 2) {
        out[j++] = b64_alphabet[p[i] >> 2];
        out[j++] = b64_alphabet[((p[i] & 3) << 4) | (p[i + 1] >> 4)];
        out[j++] = b64_alphabet[(p[i + 1] & 15) << 2];
        out[j++] = '=';
    }
    out[j] = '\0';
}

/* b64_line - one encoded line of st->line, then CRLF */
static void
b64_line(struct mime_b64 *st, struct mime_out *o)
{
    char text[80];

    mime_b64_encode(st->line, st->n, text);
    mime_out_str(o, text);
    mime_out_bytes(o, "\r\n", 2);
    st->n = 0;
}

/* mime_b64_feed - encode n more octets; whole lines are written as they fill */
void
mime_b64_feed(struct mime_b64 *st, struct mime_out *o, const unsigned char *p, size_t n)
{
    while (n > 0) {
        size_t k = sizeof st->line - st->n;

        if (k > n)
            k = n;
        memcpy(st->line + st->n, p, k);
        st->n += k;
        p += k;
        n -= k;
        if (st->n == sizeof st->line)
            b64_line(st, o);
    }
}

/* mime_b64_end - the last, padded line */
void
mime_b64_end(struct mime_b64 *st, struct mime_out *o)
{
    if (st->n > 0)
        b64_line(st, o);
}

/* qp_token - k characters at s, after a soft line break if they would pass 76 */
static void
qp_token(struct mime_qp *st, struct mime_out *o, const char *s, size_t k)
{
    if (st->col + k > 75) {
        mime_out_bytes(o, "=\r\n", 3);
        st->col = 0;
    }
    mime_out_bytes(o, s, k);
    st->col += k;
}

/* qp_escape - =XX for octet c */
static void
qp_escape(struct mime_qp *st, struct mime_out *o, unsigned char c)
{
    char e[3] = { '=', hex_digits[c >> 4], hex_digits[c & 15] };

    qp_token(st, o, e, 3);
}

/* qp_flush_ws - the held space or tab: literal when text follows it, encoded
 * when a line break does (trailing whitespace is lost by relays) */
static void
qp_flush_ws(struct mime_qp *st, struct mime_out *o, bool trailing)
{
    char c;

    if (st->ws == 0)
        return;
    c = (char)st->ws;
    st->ws = 0;
    if (trailing)
        qp_escape(st, o, (unsigned char)c);
    else
        qp_token(st, o, &c, 1);
}

/* qp_break - a hard line break */
static void
qp_break(struct mime_qp *st, struct mime_out *o)
{
    qp_flush_ws(st, o, true);
    mime_out_bytes(o, "\r\n", 2);
    st->col = 0;
}

/* mime_qp_feed - encode n more octets of text */
void
mime_qp_feed(struct mime_qp *st, struct mime_out *o, const unsigned char *p, size_t n)
{
    size_t i;

    for (i = 0; i < n; i++) {
        unsigned char c = p[i];

        if (st->cr) {
            st->cr = false;
            if (c == '\n') {
                qp_break(st, o);
                continue;
            }
            qp_flush_ws(st, o, false);
            qp_escape(st, o, '\r');
        }
        if (c == '\r') {
            st->cr = true;
        } else if (c == '\n') {
            qp_break(st, o);
        } else if (c == ' ' || c == '\t') {
            qp_flush_ws(st, o, false);
            st->ws = c;
        } else {
            qp_flush_ws(st, o, false);
            if (c >= 33 && c <= 126 && c != '=')
                qp_token(st, o, (const char *)&p[i], 1);
            else
                qp_escape(st, o, c);
        }
    }
}

/* mime_qp_end - what is held, then a final line break unless one was just written */
void
mime_qp_end(struct mime_qp *st, struct mime_out *o)
{
    if (st->cr) {
        st->cr = false;
        qp_flush_ws(st, o, false);
        qp_escape(st, o, '\r');
    }
    qp_flush_ws(st, o, true);
    if (st->col > 0) {
        mime_out_bytes(o, "\r\n", 2);
        st->col = 0;
    }
}

/* mime_hdr_name - "Name:" */
void
mime_hdr_name(struct mime_out *o, size_t *col, const char *name)
{
    mime_out_str(o, name);
    mime_out_bytes(o, ":", 1);
    *col = strlen(name) + 1;
}

/* mime_hdr_token - a space and the token, or a fold when the line is full */
void
mime_hdr_token(struct mime_out *o, size_t *col, const char *token, size_t len)
{
    if (*col + 1 + len > MIME_LINE_SOFT && *col > 1) {
        mime_out_bytes(o, "\r\n ", 3);
        *col = 1;
    } else {
        mime_out_bytes(o, " ", 1);
        *col += 1;
    }
    mime_out_bytes(o, token, len);
    *col += len;
}

/* mime_hdr_end - the header's CRLF */
void
mime_hdr_end(struct mime_out *o, size_t *col)
{
    mime_out_bytes(o, "\r\n", 2);
    *col = 0;
}

/* mime_text_ok - valid UTF-8 without control characters */
bool
mime_text_ok(const char *s, bool tab)
{
    const unsigned char *p;

    if (s == NULL)
        return false;
    for (p = (const unsigned char *)s; *p != '\0'; p++)
        if ((*p < 0x20 && !(tab && *p == '\t')) || *p == 0x7f)
            return false;
    return utf8_valid((const unsigned char *)s, strlen(s));
}

/* plain_ok - printable ASCII with no "=?" (a decoder would take it for an
 * encoded-word) and no word too long to fold */
static bool
plain_ok(const char *s)
{
    size_t word = 0;

    for (; *s != '\0'; s++) {
        if (*s < 0x20 || *s > 0x7e)
            return false;
        if (s[0] == '=' && s[1] == '?')
            return false;
        word = *s == ' ' ? 0 : word + 1;
        if (word > PLAIN_WORD_MAX)
            return false;
    }
    return true;
}

/* utf8_cut - at most max octets of s (len long) ending on a character boundary */
static size_t
utf8_cut(const unsigned char *s, size_t len, size_t max)
{
    size_t k;

    if (len <= max)
        return len;
    k = max;
    /* Back up over continuation octets, at most three: a malformed run is cut anyway. */
    while (k > max - 3 && (s[k] & 0xc0) == 0x80)
        k--;
    return k;
}

/* hdr_encoded_words - text as RFC 2047 "B" encoded-words, one per token */
static void
hdr_encoded_words(struct mime_out *o, size_t *col, const char *text)
{
    const unsigned char *p = (const unsigned char *)text;
    size_t len = strlen(text);
    char word[16 + 4 * (EW_CHUNK + 2) / 3];

    if (len == 0)
        return;
    while (len > 0) {
        size_t k = utf8_cut(p, len, EW_CHUNK);
        int n;

        n = snprintf(word, sizeof word, "=?UTF-8?B?");
        mime_b64_encode(p, k, word + n);
        strcat(word, "?=");
        mime_hdr_token(o, col, word, strlen(word));
        p += k;
        len -= k;
    }
}

/* mime_hdr_text - unstructured text, folded at its own spaces or encoded */
void
mime_hdr_text(struct mime_out *o, size_t *col, const char *text)
{
    const char *p = text, *end;

    if (!plain_ok(text)) {
        hdr_encoded_words(o, col, text);
        return;
    }
    /* Fold only before a space that is already there, so unfolding gives
     * back the exact text (RFC 5322 2.2.3). */
    mime_out_bytes(o, " ", 1);
    *col += 1;
    while (*p != '\0') {
        end = strchr(p + 1, ' ');
        if (end == NULL)
            end = p + strlen(p);
        if (*p == ' ' && *col + (size_t)(end - p) > MIME_LINE_SOFT && *col > 1) {
            mime_out_bytes(o, "\r\n", 2);
            *col = 0;
        }
        mime_out_bytes(o, p, (size_t)(end - p));
        *col += (size_t)(end - p);
        p = end;
    }
}

/* mime_hdr_phrase - a display name: quoted-string when printable ASCII */
void
mime_hdr_phrase(struct mime_out *o, size_t *col, const char *text)
{
    char q[2 * PLAIN_WORD_MAX + 3];
    size_t n = 0;
    const char *p;

    if (!plain_ok(text) || strlen(text) > PLAIN_WORD_MAX) {
        hdr_encoded_words(o, col, text);
        return;
    }
    q[n++] = '"';
    for (p = text; *p != '\0'; p++) {
        if (*p == '"' || *p == '\\')
            q[n++] = '\\';
        q[n++] = *p;
    }
    q[n++] = '"';
    mime_hdr_token(o, col, q, n);
}

/* attr_char - a character RFC 2231 lets stand for itself in an extended value */
static bool
attr_char(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           (c != 0 && strchr("!#$&+-.^_`|~", c) != NULL);
}

/* mime_hdr_param - ";NAME=VALUE", quoted or RFC 2231 extended and continued */
void
mime_hdr_param(struct mime_out *o, size_t *col, const char *name, const char *value)
{
    const unsigned char *p = (const unsigned char *)value;
    char piece[PARAM_PIECE + 64];
    size_t n, part = 0;

    mime_out_bytes(o, ";", 1);
    *col += 1;
    if (plain_ok(value) && strlen(value) <= PARAM_PIECE) {
        const char *s;

        n = (size_t)snprintf(piece, sizeof piece, "%s=\"", name);
        for (s = value; *s != '\0'; s++) {
            if (*s == '"' || *s == '\\')
                piece[n++] = '\\';
            piece[n++] = *s;
        }
        piece[n++] = '"';
        mime_hdr_token(o, col, piece, n);
        return;
    }
    /* name*0*=UTF-8''..; name*1*=..; each piece ends on a whole %XX. */
    while (*p != '\0' || part == 0) {
        n = (size_t)snprintf(piece, sizeof piece, "%s*%zu*=%s", name, part,
                             part == 0 ? "UTF-8''" : "");
        while (*p != '\0' && n < sizeof piece - 4 && n < PARAM_PIECE + 16) {
            if (attr_char(*p)) {
                piece[n++] = (char)*p;
            } else {
                piece[n++] = '%';
                piece[n++] = hex_digits[*p >> 4];
                piece[n++] = hex_digits[*p & 15];
            }
            p++;
        }
        if (*p != '\0') {
            piece[n++] = ';';
        }
        mime_hdr_token(o, col, piece, n);
        part++;
    }
}
