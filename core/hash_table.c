/*
 * hash_table.c - chained buckets of intrusive nodes (hash_table.h)
 */
#include <stdlib.h>

#include "hash_table.h"

bool
hash_table_init(struct hash_table *t, size_t buckets)
{
    size_t n = 1;

    while (n < buckets)
        n *= 2;
    t->buckets = calloc(n, sizeof *t->buckets);
    t->nbuckets = t->buckets != NULL ? n : 0;
    t->count = 0;
    return t->buckets != NULL;
}

void
hash_table_fini(struct hash_table *t, void (*fn)(struct hash_node *node, void *arg), void *arg)
{
    size_t i;

    for (i = 0; i < t->nbuckets; i++) {
        struct hash_node *n = t->buckets[i], *next;

        for (; n != NULL; n = next) {
            next = n->next;   /* fn may free n */
            if (fn != NULL)
                fn(n, arg);
        }
    }
    free(t->buckets);
    t->buckets = NULL;
    t->nbuckets = t->count = 0;
}

/* grow - twice the buckets; when there is no memory the chains just get longer */
static void
grow(struct hash_table *t)
{
    size_t n = t->nbuckets * 2, i;
    struct hash_node **b = calloc(n, sizeof *b);

    if (b == NULL)
        return;
    for (i = 0; i < t->nbuckets; i++) {
        struct hash_node *e = t->buckets[i], *next;

        for (; e != NULL; e = next) {
            next = e->next;
            e->next = b[e->hash & (n - 1)];
            b[e->hash & (n - 1)] = e;
        }
    }
    free(t->buckets);
    t->buckets = b;
    t->nbuckets = n;
}

void
hash_table_insert(struct hash_table *t, struct hash_node *node, uint32_t hash)
{
    struct hash_node **b = &t->buckets[hash & (t->nbuckets - 1)];

    node->hash = hash;
    node->next = *b;
    *b = node;
    if (++t->count > t->nbuckets * 2)
        grow(t);
}

void
hash_table_remove(struct hash_table *t, struct hash_node *node)
{
    struct hash_node **pp = &t->buckets[node->hash & (t->nbuckets - 1)];

    while (*pp != NULL && *pp != node)
        pp = &(*pp)->next;
    if (*pp == NULL)
        return;
    *pp = node->next;
    node->next = NULL;
    t->count--;
}

struct hash_node *
hash_table_chain(const struct hash_table *t, uint32_t hash)
{
    return t->buckets[hash & (t->nbuckets - 1)];
}
