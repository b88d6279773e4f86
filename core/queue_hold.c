/*
 * queue_hold.c - the queue runner's retry state per destination (queue_hold.h)
 *
 * Keys in the core's chained hash table (hash_table.h); a key lives from
 * its first failure until it works again (or is replaced at the bound), so
 * a hold that ended stays as "due for a probe" and the next message to it
 * is the only one to try.
 */
#include <stdlib.h>
#include <string.h>

#include "hash_table.h"
#include "queue_hold.h"

#define MIN_BUCKETS 64   /* the shared table doubles them as keys come */

struct entry {
    struct hash_node node;  /* node.hash: key_hash */
    char *key, *label, *reason;
    int64_t until;
    const void *owner;     /* the message probing it, or NULL */
};

struct queue_hold {
    struct hash_table table;
    size_t domains, hops;  /* keys of each kind */
};

/* key_hash - FNV-1a of the key as it is (keys are compared exactly) */
static uint32_t
key_hash(const char *key)
{
    uint32_t h = 2166136261u;

    for (; *key; key++)
        h = (h ^ (unsigned char)*key) * 16777619u;
    return h;
}

static size_t *
kind_count(struct queue_hold *h, const char *key)
{
    return key[0] == 'd' ? &h->domains : &h->hops;
}

static void
entry_free(struct entry *e)
{
    free(e->key);
    free(e->label);
    free(e->reason);
    free(e);
}

static void
node_free(struct hash_node *node, void *arg)
{
    (void)arg;
    entry_free(HASH_ENTRY(node, struct entry, node));
}

struct queue_hold *
queue_hold_new(void)
{
    struct queue_hold *h = calloc(1, sizeof *h);

    if (h != NULL && !hash_table_init(&h->table, MIN_BUCKETS)) {
        free(h);
        return NULL;
    }
    return h;
}

void
queue_hold_free(struct queue_hold **hp)
{
    if (hp == NULL || *hp == NULL)
        return;
    hash_table_fini(&(*hp)->table, node_free, NULL);
    free(*hp);
    *hp = NULL;
}

/* find - key's entry, or NULL */
static struct entry *
find(const struct queue_hold *h, const char *key)
{
    uint32_t hash = key_hash(key);
    struct hash_node *n;

    for (n = hash_table_chain(&h->table, hash); n != NULL; n = n->next) {
        struct entry *e = HASH_ENTRY(n, struct entry, node);

        if (n->hash == hash && strcmp(e->key, key) == 0)
            return e;
    }
    return NULL;
}

/* forget - e out of the table, freed */
static void
forget(struct queue_hold *h, struct entry *e)
{
    hash_table_remove(&h->table, &e->node);
    (*kind_count(h, e->key))--;
    entry_free(e);
}

/* evict - at the bound, the key whose hold ends first goes: it matters least */
static void
evict(struct queue_hold *h)
{
    struct entry *min = NULL;
    struct hash_node *n;
    size_t b;

    for (b = 0; b < h->table.nbuckets; b++)
        for (n = h->table.buckets[b]; n != NULL; n = n->next) {
            struct entry *e = HASH_ENTRY(n, struct entry, node);

            if (min == NULL || e->until < min->until)
                min = e;
        }
    if (min != NULL)
        forget(h, min);
}

/* set_text - replace a string; the old one stays when memory is short */
static void
set_text(char **slot_text, const char *s)
{
    char *d = strdup(s != NULL ? s : "");

    if (d != NULL) {
        free(*slot_text);
        *slot_text = d;
    }
}

void
queue_hold_fail(struct queue_hold *h, const char *key, const char *label, const char *reason,
                int64_t until)
{
    struct entry *e;

    if (h == NULL || key == NULL)
        return;
    e = find(h, key);
    if (e == NULL) {
        if (h->table.count >= QUEUE_HOLD_MAX)
            evict(h);
        e = calloc(1, sizeof *e);
        if (e == NULL || (e->key = strdup(key)) == NULL) {
            free(e);
            return;   /* out of memory: the key is not held, it is tried */
        }
        hash_table_insert(&h->table, &e->node, key_hash(key));
        (*kind_count(h, key))++;
    }
    set_text(&e->label, label != NULL ? label : key + 2);
    set_text(&e->reason, reason);
    e->until = until;
    e->owner = NULL;
}

bool
queue_hold_ok(struct queue_hold *h, const char *key)
{
    struct entry *e;

    if (h == NULL || key == NULL || h->table.count == 0 || (e = find(h, key)) == NULL)
        return false;
    forget(h, e);
    return true;
}

enum queue_hold_state
queue_hold_check(const struct queue_hold *h, const char *key, int64_t now, const void *owner,
                 struct queue_hold_view *view)
{
    const struct entry *e;
    enum queue_hold_state st;

    if (h == NULL || key == NULL || h->table.count == 0 || (e = find(h, key)) == NULL)
        return QUEUE_HOLD_FREE;
    if (e->owner != NULL)
        st = e->owner == owner ? QUEUE_HOLD_FREE : QUEUE_HOLD_PROBING;
    else
        st = e->until > now ? QUEUE_HOLD_HELD : QUEUE_HOLD_PROBE_DUE;
    if (view != NULL) {
        view->label = e->label != NULL ? e->label : e->key + 2;
        view->reason = e->reason != NULL ? e->reason : "";
        view->until = e->until;
    }
    return st;
}

void
queue_hold_probe(struct queue_hold *h, const char *key, const void *owner)
{
    struct entry *e;

    if (h == NULL || key == NULL || h->table.count == 0 || (e = find(h, key)) == NULL)
        return;
    if (e->owner == NULL)
        e->owner = owner;
}

void
queue_hold_probe_end(struct queue_hold *h, const void *owner)
{
    struct hash_node *n;
    size_t b;

    if (h == NULL || owner == NULL || h->table.count == 0)
        return;
    for (b = 0; b < h->table.nbuckets; b++)
        for (n = h->table.buckets[b]; n != NULL; n = n->next) {
            struct entry *e = HASH_ENTRY(n, struct entry, node);

            if (e->owner == owner)
                e->owner = NULL;
        }
}

bool
queue_hold_any(const struct queue_hold *h, char kind)
{
    if (h == NULL)
        return false;
    return (kind == 'd' ? h->domains : h->hops) > 0;
}
