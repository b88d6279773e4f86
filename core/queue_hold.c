/*
 * queue_hold.c - the queue runner's retry state per destination (queue_hold.h)
 *
 * A hash table of keys, chained; a key lives from its first failure until
 * it works again (or is replaced at the bound), so a hold that ended stays
 * as "due for a probe" and the next message to it is the only one to try.
 */
#include <stdlib.h>
#include <string.h>

#include "queue_hold.h"

#define BUCKETS 1024   /* a power of two */

struct entry {
    struct entry *next;
    char *key, *label, *reason;
    int64_t until;
    const void *owner;     /* the message probing it, or NULL */
};

struct queue_hold {
    struct entry *bucket[BUCKETS];
    size_t count;
    size_t domains, hops;  /* keys of each kind */
};

/* hash - FNV-1a */
static size_t
hash(const char *key)
{
    uint32_t h = 2166136261u;

    for (; *key; key++)
        h = (h ^ (unsigned char)*key) * 16777619u;
    return h & (BUCKETS - 1);
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

struct queue_hold *
queue_hold_new(void)
{
    return calloc(1, sizeof(struct queue_hold));
}

void
queue_hold_free(struct queue_hold **hp)
{
    struct entry *e, *next;
    size_t b;

    if (hp == NULL || *hp == NULL)
        return;
    for (b = 0; b < BUCKETS; b++)
        for (e = (*hp)->bucket[b]; e != NULL; e = next) {
            next = e->next;
            entry_free(e);
        }
    free(*hp);
    *hp = NULL;
}

/* slot - where key's entry is linked (*slot NULL: not there) */
static struct entry **
slot(struct queue_hold *h, const char *key)
{
    struct entry **s = &h->bucket[hash(key)];

    while (*s != NULL && strcmp((*s)->key, key) != 0)
        s = &(*s)->next;
    return s;
}

/* find - key's entry, or NULL */
static const struct entry *
find(const struct queue_hold *h, const char *key)
{
    const struct entry *e = h->bucket[hash(key)];

    while (e != NULL && strcmp(e->key, key) != 0)
        e = e->next;
    return e;
}

/* unlink_free - remove the entry at s */
static void
unlink_free(struct queue_hold *h, struct entry **s)
{
    struct entry *e = *s;

    *s = e->next;
    (*kind_count(h, e->key))--;
    h->count--;
    entry_free(e);
}

/* evict - at the bound, the key whose hold ends first goes: it matters least */
static void
evict(struct queue_hold *h)
{
    struct entry **min = NULL, **s;
    size_t b;

    for (b = 0; b < BUCKETS; b++)
        for (s = &h->bucket[b]; *s != NULL; s = &(*s)->next)
            if (min == NULL || (*s)->until < (*min)->until)
                min = s;
    if (min != NULL)
        unlink_free(h, min);
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
    struct entry **s, *e;

    if (h == NULL || key == NULL)
        return;
    s = slot(h, key);
    if (*s == NULL) {
        if (h->count >= QUEUE_HOLD_MAX) {
            evict(h);
            s = slot(h, key);
        }
        e = calloc(1, sizeof *e);
        if (e == NULL || (e->key = strdup(key)) == NULL) {
            free(e);
            return;   /* out of memory: the key is not held, it is tried */
        }
        *s = e;
        (*kind_count(h, key))++;
        h->count++;
    }
    e = *s;
    set_text(&e->label, label != NULL ? label : key + 2);
    set_text(&e->reason, reason);
    e->until = until;
    e->owner = NULL;
}

bool
queue_hold_ok(struct queue_hold *h, const char *key)
{
    struct entry **s;

    if (h == NULL || key == NULL || h->count == 0)
        return false;
    s = slot(h, key);
    if (*s == NULL)
        return false;
    unlink_free(h, s);
    return true;
}

enum queue_hold_state
queue_hold_check(const struct queue_hold *h, const char *key, int64_t now, const void *owner,
                 struct queue_hold_view *view)
{
    const struct entry *e;
    enum queue_hold_state st;

    if (h == NULL || key == NULL || h->count == 0 || (e = find(h, key)) == NULL)
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

    if (h == NULL || key == NULL || h->count == 0 || (e = *slot(h, key)) == NULL)
        return;
    if (e->owner == NULL)
        e->owner = owner;
}

void
queue_hold_probe_end(struct queue_hold *h, const void *owner)
{
    struct entry *e;
    size_t b;

    if (h == NULL || owner == NULL)
        return;
    for (b = 0; b < BUCKETS; b++)
        for (e = h->bucket[b]; e != NULL; e = e->next)
            if (e->owner == owner)
                e->owner = NULL;
}

bool
queue_hold_any(const struct queue_hold *h, char kind)
{
    if (h == NULL)
        return false;
    return (kind == 'd' ? h->domains : h->hops) > 0;
}
