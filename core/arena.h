/*
 * arena.h - a list of allocations freed together (internal)
 *
 * Used for everything whose lifetime is the herald context (option values).
 * arena_alloc() returns zeroed memory owned by the arena; arena_strdup()
 * likewise.  arena_free(&a) frees all of it and clears the pointer.
 */
#ifndef HERALD_CORE_ARENA_H
#define HERALD_CORE_ARENA_H

#include <stddef.h>
#include <herald/status.h>

struct arena;

herald_status arena_new(struct arena **arena_out);
void arena_free(struct arena **arena);
void *arena_alloc(struct arena *arena, size_t size);
char *arena_strdup(struct arena *arena, const char *s);

#endif
