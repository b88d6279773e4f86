/*
 * utf8.c - strict UTF-8 validation (see utf8.h)
 *
 * RFC 6531 addresses travel as UTF-8 on the wire; a malformed sequence there
 * is refused before any connection, like a CR or LF would be.
 */
#include <herald/text.h>
#include "utf8.h"

/* seq_len - the length a lead octet announces, and the range its first
 * continuation octet must be in (what rules out overlongs, surrogates and
 * values above U+10FFFF, RFC 3629 section 4); 0 for an invalid lead */
static size_t
seq_len(unsigned char c, unsigned char *lo, unsigned char *hi)
{
    *lo = 0x80;
    *hi = 0xBF;
    if (c >= 0xC2 && c <= 0xDF)
        return 2;
    if (c >= 0xE0 && c <= 0xEF) {
        if (c == 0xE0)
            *lo = 0xA0;
        else if (c == 0xED)
            *hi = 0x9F;
        return 3;
    }
    if (c >= 0xF0 && c <= 0xF4) {
        if (c == 0xF0)
            *lo = 0x90;
        else if (c == 0xF4)
            *hi = 0x8F;
        return 4;
    }
    return 0;
}

size_t
utf8_seq_len(const unsigned char *s, size_t n)
{
    unsigned char lo, hi;
    size_t need, k;

    if (n == 0)
        return 0;
    if (s[0] < 0x80)
        return 1;
    need = seq_len(s[0], &lo, &hi);
    if (need == 0 || n < need || s[1] < lo || s[1] > hi)
        return 0;
    for (k = 2; k < need; k++)
        if (s[k] < 0x80 || s[k] > 0xBF)
            return 0;
    return need;
}

/* herald_text_utf8_len - utf8_seq_len for the CLI and modules (herald/text.h) */
size_t
herald_text_utf8_len(const void *s, size_t n)
{
    return utf8_seq_len(s, n);
}

bool
utf8_valid(const unsigned char *s, size_t len)
{
    size_t i = 0;

    while (i < len) {
        size_t n = utf8_seq_len(s + i, len - i);

        if (n == 0)
            return false;
        i += n;
    }
    return true;
}
