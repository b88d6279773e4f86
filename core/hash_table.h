/*
 * hash_table.h - a chained hash table of intrusive nodes (internal)
 *
 * The DNS cache (dns_cache.c) and the table of shared plans (plan_share.c)
 * both key many entries by a 32-bit hash of a name: each entry embeds a
 * struct hash_node, the table only links nodes into power-of-two buckets
 * (doubled when there are more than two nodes per bucket, so a chain stays
 * short) and never allocates or frees a node.  The caller compares keys:
 * it walks the chain of a hash with hash_table_chain() and node->next,
 * skipping nodes whose hash differs.
 *
 * Ownership: hash_table_init() allocates the buckets, hash_table_fini()
 * frees them after handing every node still linked to a callback (which may
 * free it).  A failed grow only costs speed: insertion never fails.
 */
#ifndef HERALD_CORE_HASH_TABLE_H
#define HERALD_CORE_HASH_TABLE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct hash_node {
    struct hash_node *next;
    uint32_t hash;
};

struct hash_table {
    struct hash_node **buckets;
    size_t nbuckets;              /* a power of two */
    size_t count;                 /* nodes linked */
};

/* The struct that embeds node as member. */
#define HASH_ENTRY(node, type, member) \
    ((type *)(void *)((char *)(node) - offsetof(type, member)))

/* false when out of memory; buckets rounded up to a power of two (at least 1) */
bool hash_table_init(struct hash_table *t, size_t buckets);
/* fn(node, arg) for every node still linked (NULL: none), then the buckets are freed */
void hash_table_fini(struct hash_table *t, void (*fn)(struct hash_node *node, void *arg),
                     void *arg);
void hash_table_insert(struct hash_table *t, struct hash_node *node, uint32_t hash);
/* node out of its chain; a node that is not linked is left alone */
void hash_table_remove(struct hash_table *t, struct hash_node *node);
/* The first node of hash's chain (nodes of other hashes share it) */
struct hash_node *hash_table_chain(const struct hash_table *t, uint32_t hash);

#endif
