/*
 * text.h - one-line, printable copies of text that came from elsewhere
 *
 * A server's reply, a module's note, a config string or a DNS name may hold
 * anything; a trace line, a diag, an outcome or a terminal must not.  These
 * are the only copies that decide what passes.  Modules reach the same code
 * through herald_text_printable() (herald/text.h).
 */
#ifndef HERALD_CORE_TEXT_H
#define HERALD_CORE_TEXT_H

#include <stdbool.h>
#include <stddef.h>
#include <herald/text.h>

/* The modes are the public ones (herald/text.h); the short names are the
 * core's own spelling of them. */
#define TEXT_LINE   HERALD_TEXT_LINE
#define TEXT_WORD   HERALD_TEXT_WORD
#define TEXT_OCTETS HERALD_TEXT_OCTETS

/* text_is_ctl - a C0 control or DEL: what never goes into a line */
static inline bool
text_is_ctl(unsigned char c)
{
    return herald_text_is_ctl(c);
}

/* text_has_ctl - s holds a C0 control or DEL (CR and LF among them) */
bool text_has_ctl(const char *s);

/*
 * text_printable - copy s into out[size], at most size - 1 octets, always
 * terminated (size 0: nothing written); a UTF-8 character that does not
 * fit is left out whole, never cut.  NULL s copies as "".  Returns the
 * length of out.
 */
size_t text_printable(char *out, size_t size, const char *s, enum herald_text_keep keep);

/*
 * text_printable_dup - a malloc'd printable copy of the first max octets of
 * s (a UTF-8 character the bound would cut is left out).  NULL s copies as
 * "".  NULL when memory runs out.
 */
char *text_printable_dup(const char *s, size_t max, enum herald_text_keep keep);

/* text_printable_inplace - make s printable where it is (it never grows) */
void text_printable_inplace(char *s, enum herald_text_keep keep);

#endif
