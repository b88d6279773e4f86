/*
 * text.h - one-line, printable copies of text that came from elsewhere
 *
 * A server's reply, a module's note, a config string or a DNS name may hold
 * anything; a trace line, a diag, an outcome or a terminal must not.  These
 * are the only copies that decide what passes (internal to libherald).
 */
#ifndef HERALD_TEXT_H
#define HERALD_TEXT_H

#include <stdbool.h>
#include <stddef.h>

/* What a copy lets through; everything else becomes '?'. */
enum text_keep {
    /* A line of text: space and 0x21..0x7e, and well-formed UTF-8 other
     * than the C1 controls (U+0080..U+009F).  A C0 control or DEL, a C1
     * control and each octet of a malformed sequence become one '?'. */
    TEXT_LINE,
    /* One word (a DNS name, a token): only 0x21..0x7e; a space or any
     * other octet becomes '?', one per octet. */
    TEXT_WORD
};

/* text_is_ctl - a C0 control or DEL: what never goes into a line */
static inline bool
text_is_ctl(unsigned char c)
{
    return c < 0x20 || c == 0x7f;
}

/* text_has_ctl - s holds a C0 control or DEL (CR and LF among them) */
bool text_has_ctl(const char *s);

/*
 * text_printable - copy s into out[size], at most size - 1 octets, always
 * terminated (size 0: nothing written); a UTF-8 character that does not
 * fit is left out whole, never cut.  NULL s copies as "".  Returns the
 * length of out.
 */
size_t text_printable(char *out, size_t size, const char *s, enum text_keep keep);

/*
 * text_printable_dup - a malloc'd printable copy of the first max octets of
 * s (a UTF-8 character the bound would cut is left out).  NULL s copies as
 * "".  NULL when memory runs out.
 */
char *text_printable_dup(const char *s, size_t max, enum text_keep keep);

/* text_printable_inplace - make s printable where it is (it never grows) */
void text_printable_inplace(char *s, enum text_keep keep);

#endif
