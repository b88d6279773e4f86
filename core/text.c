/*
 * text.c - one-line, printable copies of foreign text (see text.h)
 *
 * Every copy goes through keep_one(), so what counts as printable is
 * decided in one place: callers, the core's and modules' (through
 * herald_text_printable), only choose a line, a word or octets.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "text.h"
#include "utf8.h"

bool
text_has_ctl(const char *s)
{
    for (; s != NULL && *s != '\0'; s++)
        if (text_is_ctl((unsigned char)*s))
            return true;
    return false;
}

/*
 * keep_one - what the text at s (n octets left, n > 0) becomes: *used
 * octets of the input go out as *out_len octets, either themselves or one
 * '?' (*same false).  A C1 control (U+0080..U+009F, encoded C2 80..C2 9F)
 * would steer a terminal as a C0 one does.
 */
static void
keep_one(const unsigned char *s, size_t n, enum herald_text_keep keep, size_t *used,
         size_t *out_len, bool *same)
{
    size_t k;

    *used = *out_len = 1;
    *same = false;
    if (keep == TEXT_OCTETS) {
        *same = !text_is_ctl(s[0]);
        return;
    }
    if (s[0] < 0x80) {
        *same = keep == TEXT_WORD ? (s[0] > 0x20 && s[0] < 0x7f) : !text_is_ctl(s[0]);
        return;
    }
    if (keep == TEXT_WORD || (k = utf8_seq_len(s, n)) == 0)
        return;
    *used = k;
    if (s[0] == 0xC2 && s[1] < 0xA0)
        return;
    *out_len = k;
    *same = true;
}

/* copy - the printable form of s[0..n) into out[0..room), no NUL added; its length */
static size_t
copy(char *out, size_t room, const unsigned char *s, size_t n, enum herald_text_keep keep)
{
    size_t i = 0, o = 0;

    while (i < n) {
        size_t used, len;
        bool same;

        keep_one(s + i, n - i, keep, &used, &len, &same);
        if (o + len > room)
            break;                   /* a character that does not fit stays out whole */
        if (same)
            memmove(out + o, s + i, len);
        else
            out[o] = '?';
        o += len;
        i += used;
    }
    return o;
}

/* avail - octets of s to look at for a copy of at most max: a character
 * that starts before max may end up to 3 octets after it */
static size_t
avail(const char *s, size_t max)
{
    return strnlen(s, max <= SIZE_MAX - 3 ? max + 3 : SIZE_MAX);
}

size_t
herald_text_printable(char *dst, size_t dstlen, const void *src, size_t srclen,
                      enum herald_text_keep keep)
{
    size_t n;

    if (dst == NULL || dstlen == 0)
        return 0;
    n = src != NULL ? copy(dst, dstlen - 1, src, srclen, keep) : 0;
    dst[n] = '\0';
    return n;
}

size_t
text_printable(char *out, size_t size, const char *s, enum herald_text_keep keep)
{
    if (out == NULL || size == 0)
        return 0;
    return herald_text_printable(out, size, s, s != NULL ? avail(s, size - 1) : 0, keep);
}

char *
text_printable_dup(const char *s, size_t max, enum herald_text_keep keep)
{
    size_t n;
    char *d;

    if (s == NULL)
        s = "";
    n = strnlen(s, max);
    d = malloc(n + 1);
    if (d == NULL)
        return NULL;
    n = copy(d, n, (const unsigned char *)s, avail(s, n), keep);
    d[n] = '\0';
    return d;
}

void
text_printable_inplace(char *s, enum herald_text_keep keep)
{
    size_t n;

    if (s == NULL)
        return;
    /* Output never outruns input (a '?' stands for one octet or more), so
     * copying over itself is safe; memmove covers the overlap. */
    n = strlen(s);
    n = copy(s, n, (const unsigned char *)s, n, keep);
    s[n] = '\0';
}
