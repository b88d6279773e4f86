/*
 * random.h - unpredictable identifiers (trace ids, MIME boundaries, Message-IDs)
 */
#ifndef HERALD_RANDOM_H
#define HERALD_RANDOM_H

#include <stddef.h>

/* random_hex - fill out with size-1 hex digits (and a NUL) from getrandom();
 * should that fail, a mix of the clock and the process id, still unique
 * enough for an identifier though not unpredictable. */
void random_hex(char *out, size_t size);

#endif
