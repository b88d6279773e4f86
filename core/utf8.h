/*
 * utf8.h - strict UTF-8 validation (RFC 3629) for internationalised addresses
 */
#ifndef HERALD_UTF8_H
#define HERALD_UTF8_H

#include <stdbool.h>
#include <stddef.h>

/* utf8_valid - true when s[0..len) is well-formed UTF-8: no overlong form, no
 * surrogate (U+D800..U+DFFF), nothing above U+10FFFF, no truncated sequence. */
bool utf8_valid(const unsigned char *s, size_t len);

#endif
