/*
 * test_hash_table.c - core/hash_table.c by itself: tables of nodes with
 * chosen hashes (colliding ones too) inserted, found, removed from the head,
 * middle and tail of a chain, across the grows, and handed back at the end.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <CUnit/Basic.h>

#include "hash_table.h"
#include "test_main.h"

struct item {
    int key;
    struct hash_node node;        /* not first: HASH_ENTRY must subtract the offset */
    bool freed;
};

/* lookup - the item of key (hash h) in t, or NULL */
static struct item *
lookup(const struct hash_table *t, uint32_t h, int key)
{
    struct hash_node *n;

    for (n = hash_table_chain(t, h); n != NULL; n = n->next) {
        struct item *it = HASH_ENTRY(n, struct item, node);

        if (n->hash == h && it->key == key)
            return it;
    }
    return NULL;
}

static void
mark_freed(struct hash_node *n, void *arg)
{
    (*(size_t *)arg)++;
    HASH_ENTRY(n, struct item, node)->freed = true;
}

/* One case: how many items, their hash from the key, which keys are removed. */
struct table_case {
    const char *name;
    size_t buckets, count;
    uint32_t (*hash)(int key);
    int remove_every;             /* keys k with k % remove_every == 0 go (0: none) */
};

static uint32_t hash_spread(int key) { return (uint32_t)key * 2654435761u; }
static uint32_t hash_same(int key) { (void)key; return 42; }   /* one chain */
static uint32_t hash_low(int key) { return (uint32_t)key << 16; }   /* low bits all 0 */

static const struct table_case cases[] = {
    { "empty", 8, 0, hash_spread, 0 },
    { "one", 1, 1, hash_spread, 1 },
    { "grows from one bucket", 1, 1000, hash_spread, 3 },
    { "every hash the same", 64, 50, hash_same, 2 },
    { "hashes equal in their low bits", 4, 300, hash_low, 5 },
    { "every node removed", 16, 200, hash_spread, 1 },
    { "buckets rounded up", 3, 10, hash_spread, 0 },
};

static void
run_case(const struct table_case *c)
{
    struct hash_table t;
    struct item *items = calloc(c->count + 1, sizeof *items);
    size_t i, left = c->count, handed = 0;

    CU_ASSERT_PTR_NOT_NULL_FATAL(items);
    CU_ASSERT_FATAL(hash_table_init(&t, c->buckets));
    CU_ASSERT_EQUAL((t.nbuckets & (t.nbuckets - 1)), 0);   /* a power of two */
    CU_ASSERT(t.nbuckets >= c->buckets);
    for (i = 0; i < c->count; i++) {
        items[i].key = (int)i;
        hash_table_insert(&t, &items[i].node, c->hash((int)i));
        CU_ASSERT_EQUAL(t.count, i + 1);
        CU_ASSERT(t.count <= 2 * t.nbuckets);   /* grown as it filled */
    }
    for (i = 0; i < c->count; i++)
        CU_ASSERT_PTR_EQUAL(lookup(&t, c->hash((int)i), (int)i), &items[i]);
    CU_ASSERT_PTR_NULL(lookup(&t, c->hash((int)c->count), (int)c->count));
    for (i = 0; c->remove_every > 0 && i < c->count; i++)
        if ((int)i % c->remove_every == 0) {
            hash_table_remove(&t, &items[i].node);
            left--;
            CU_ASSERT_EQUAL(t.count, left);
        }
    /* a node that is not linked is left alone */
    items[c->count].key = -1;
    items[c->count].node.hash = 7;
    hash_table_remove(&t, &items[c->count].node);
    CU_ASSERT_EQUAL(t.count, left);
    for (i = 0; i < c->count; i++) {
        bool gone = c->remove_every > 0 && (int)i % c->remove_every == 0;

        CU_ASSERT_PTR_EQUAL(lookup(&t, c->hash((int)i), (int)i), gone ? NULL : &items[i]);
    }
    hash_table_fini(&t, mark_freed, &handed);
    CU_ASSERT_EQUAL(handed, left);
    for (i = 0; i < c->count; i++)
        CU_ASSERT_EQUAL(items[i].freed, !(c->remove_every > 0 && (int)i % c->remove_every == 0));
    CU_ASSERT_PTR_NULL(t.buckets);
    CU_ASSERT_EQUAL(t.count, 0);
    free(items);
}

static void
test_cases(void)
{
    size_t i;

    for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        size_t before = CU_get_number_of_failures();

        run_case(&cases[i]);
        if (CU_get_number_of_failures() != before)
            fprintf(stderr, "test_hash_table: case \"%s\" failed\n", cases[i].name);
    }
}

int
main(void)
{
    static const struct test_case tests[] = {
        { "table of cases", test_cases },
        { NULL, NULL },
    };

    return test_run_suite("hash-table", NULL, NULL, tests);
}
