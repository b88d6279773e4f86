/*
 * herald/text.h - printable copies of foreign text (ABI 2.4)
 *
 * A server's reply, a certificate's name, a DNS answer may hold anything; a
 * trace line, an outcome, a log or a terminal must not.  This is the one
 * copy Herald has: the core's own (replies, notes, diagnostics) go through
 * the same code, and a module uses it instead of writing its own loop.
 */
#ifndef HERALD_TEXT_H
#define HERALD_TEXT_H

#include <stdbool.h>
#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

/* What a copy lets through; everything else becomes '?'. */
enum herald_text_keep {
    /* A line of text: space and 0x21..0x7e, and well-formed UTF-8 other than
     * the C1 controls (U+0080..U+009F).  A C0 control or DEL, a C1 control and
     * each octet of a malformed sequence become one '?'.  A character the
     * room cannot hold is left out whole, never cut. */
    HERALD_TEXT_LINE,
    /* One word (a DNS name, a token): only 0x21..0x7e; a space or any other
     * octet becomes '?', one per octet. */
    HERALD_TEXT_WORD,
    /* Octet for octet: only a C0 control or DEL becomes '?', every other
     * octet is kept as it is, UTF-8 or not, and the room may cut a
     * character.  The output is the input's prefix with only those octets
     * changed: for text shown exactly as a peer sent it (an SMTP reply)
     * before the core makes it a LINE where it keeps it. */
    HERALD_TEXT_OCTETS
};

/* herald_text_is_ctl - a C0 control or DEL: what never goes into a line */
static inline bool
herald_text_is_ctl(unsigned char c)
{
    return c < 0x20 || c == 0x7f;
}

/*
 * herald_text_printable - the printable form of src[0..srclen) (any octets,
 * NUL among them: it is a control) into dst, at most dstlen - 1 octets,
 * always terminated; dstlen 0 writes nothing.  NULL src copies as "".
 * Returns the length written (without the NUL).
 */
size_t herald_text_printable(char *dst, size_t dstlen, const void *src, size_t srclen,
                             enum herald_text_keep keep);

/*
 * herald_text_utf8_len - the length of the well-formed UTF-8 character at s
 * (n octets there, RFC 3629): 1 for ASCII, 2 to 4 for a sequence; 0 for a
 * malformed, overlong, surrogate, above U+10FFFF or truncated one, or n == 0.
 * The core's own check (addresses, traces, printable text); ABI 2.5.
 */
size_t herald_text_utf8_len(const void *s, size_t n);

#ifdef __cplusplus
}
#endif
#endif
