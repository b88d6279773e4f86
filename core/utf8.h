/*
 * utf8.h - strict UTF-8 validation (RFC 3629): addresses, traces, printable text
 */
#ifndef HERALD_UTF8_H
#define HERALD_UTF8_H

#include <stdbool.h>
#include <stddef.h>

/* utf8_valid - true when s[0..len) is well-formed UTF-8: no overlong form, no
 * surrogate (U+D800..U+DFFF), nothing above U+10FFFF, no truncated sequence. */
bool utf8_valid(const unsigned char *s, size_t len);

/* utf8_seq_len - the length of the well-formed character at s (n octets
 * there), 1 for ASCII; 0 for a malformed or truncated sequence or n == 0 */
size_t utf8_seq_len(const unsigned char *s, size_t n);

#endif
