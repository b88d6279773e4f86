/*
 * arena.c - a list of allocations freed together
 *
 * Each allocation is a chunk with a header that links it to the previous
 * one; arena_free() walks the list.  Option values live as long as the
 * context, so nothing is ever freed one by one.
 */
#include <stdalign.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "arena.h"

/* The header is padded to max_align_t so the payload is aligned for any type. */
struct arena_chunk {
    alignas(max_align_t) struct arena_chunk *next;
};

struct arena {
    struct arena_chunk *head;
};

/* arena_new - an empty arena */
herald_status
arena_new(struct arena **arena_out)
{
    struct arena *a = calloc(1, sizeof *a);

    if (a == NULL)
        return HERALD_E_NOMEM;
    *arena_out = a;
    return HERALD_OK;
}

/* arena_free - free every allocation and the arena; accepts NULL */
void
arena_free(struct arena **arena)
{
    struct arena_chunk *c, *next;

    if (arena == NULL || *arena == NULL)
        return;
    for (c = (*arena)->head; c != NULL; c = next) {
        next = c->next;
        free(c);
    }
    free(*arena);
    *arena = NULL;
}

/* arena_alloc - zeroed memory owned by the arena; NULL when out of memory */
void *
arena_alloc(struct arena *arena, size_t size)
{
    struct arena_chunk *c;

    if (arena == NULL || size > SIZE_MAX - sizeof *c)
        return NULL;
    /* size 0 still yields a distinct pointer, like calloc(1, 1). */
    c = calloc(1, sizeof *c + (size ? size : 1));
    if (c == NULL)
        return NULL;
    c->next = arena->head;
    arena->head = c;
    return c + 1;
}

/* arena_strdup - a copy of s owned by the arena; NULL for NULL or no memory */
char *
arena_strdup(struct arena *arena, const char *s)
{
    size_t len;
    char *p;

    if (s == NULL)
        return NULL;
    len = strlen(s);
    p = arena_alloc(arena, len + 1);
    if (p != NULL)
        memcpy(p, s, len + 1);
    return p;
}
