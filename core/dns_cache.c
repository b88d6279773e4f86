/*
 * dns_cache.c - owned DNS answers and their TTL cache
 *
 * The cache is a bounded list: DNS answers for one process's destinations
 * are few, and a linear scan over at most DNS_CACHE_MAX entries is cheaper
 * than keeping a hash table right.  Expired entries are dropped when met;
 * when full, the entry closest to expiry goes.  Names compare without case
 * (DNS names are case-insensitive, RFC 4343).
 */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "dns.h"

#define DNS_CACHE_MAX 512

struct cache_entry {
    enum dns_kind kind;
    int family;
    char *name;
    uint64_t expires_ms;
    struct dns_answer *answer;
    struct cache_entry *next;
};

struct dns_cache {
    struct cache_entry *head;
    size_t count;
};

/* dns_answer_new - an empty answer, class OK, no records */
struct dns_answer *
dns_answer_new(void)
{
    return calloc(1, sizeof(struct dns_answer));
}

/* dns_answer_free - free an answer with its strings and arrays */
void
dns_answer_free(struct dns_answer **ap)
{
    struct dns_answer *a;
    size_t i;

    if (ap == NULL || *ap == NULL)
        return;
    a = *ap;
    if (a->hosts != NULL)
        for (i = 0; i < a->count; i++)
            free(a->hosts[i]);
    free(a->hosts);
    free(a->mx);
    free(a->addr);
    free(a);
    *ap = NULL;
}

/* dns_answer_dup - deep copy, NULL when memory runs out */
struct dns_answer *
dns_answer_dup(const struct dns_answer *a)
{
    struct dns_answer *c;
    size_t i;

    if (a == NULL || (c = dns_answer_new()) == NULL)
        return NULL;
    c->dns_class = a->dns_class;
    memcpy(c->reason, a->reason, sizeof c->reason);
    c->ttl = a->ttl;
    if (a->mx != NULL && a->count > 0) {
        c->mx = calloc(a->count, sizeof *c->mx);
        c->hosts = calloc(a->count, sizeof *c->hosts);
        c->count = a->count;   /* hosts[] is zeroed: free() copes with a partial copy */
        if (c->mx == NULL || c->hosts == NULL)
            goto fail;
        for (i = 0; i < a->count; i++) {
            c->mx[i] = a->mx[i];
            c->hosts[i] = strdup(a->mx[i].host);
            if (c->hosts[i] == NULL)
                goto fail;
            c->mx[i].host = c->hosts[i];
        }
    }
    if (a->addr != NULL && a->count > 0) {
        c->addr = malloc(a->count * sizeof *c->addr);
        if (c->addr == NULL)
            goto fail;
        memcpy(c->addr, a->addr, a->count * sizeof *c->addr);
    }
    c->count = a->count;
    return c;
fail:
    dns_answer_free(&c);
    return NULL;
}

/* entry_free - one cache entry with its answer */
static void
entry_free(struct cache_entry *e)
{
    free(e->name);
    dns_answer_free(&e->answer);
    free(e);
}

/* dns_cache_new - an empty cache */
struct dns_cache *
dns_cache_new(void)
{
    return calloc(1, sizeof(struct dns_cache));
}

/* dns_cache_free - drop every entry */
void
dns_cache_free(struct dns_cache **cp)
{
    struct cache_entry *e;

    if (cp == NULL || *cp == NULL)
        return;
    while ((e = (*cp)->head) != NULL) {
        (*cp)->head = e->next;
        entry_free(e);
    }
    free(*cp);
    *cp = NULL;
}

/* sweep - remove expired entries */
static void
sweep(struct dns_cache *c, uint64_t now_ms)
{
    struct cache_entry **pp = &c->head;

    while (*pp != NULL) {
        struct cache_entry *e = *pp;

        if (e->expires_ms <= now_ms) {
            *pp = e->next;
            entry_free(e);
            c->count--;
        } else {
            pp = &e->next;
        }
    }
}

/* dns_cache_get - copy of a live entry, or NULL */
struct dns_answer *
dns_cache_get(struct dns_cache *c, enum dns_kind kind, int family, const char *name,
              uint64_t now_ms)
{
    struct cache_entry *e;

    if (c == NULL || name == NULL)
        return NULL;
    sweep(c, now_ms);
    for (e = c->head; e != NULL; e = e->next)
        if (e->kind == kind && e->family == family && strcasecmp(e->name, name) == 0) {
            struct dns_answer *a = dns_answer_dup(e->answer);

            /* What is left of the TTL is what the caller may rely on. */
            if (a != NULL)
                a->ttl = (uint32_t)((e->expires_ms - now_ms + 999) / 1000);
            return a;
        }
    return NULL;
}

/* evict_one - drop the entry closest to expiry, to make room */
static void
evict_one(struct dns_cache *c)
{
    struct cache_entry **pp, **victim = NULL;

    for (pp = &c->head; *pp != NULL; pp = &(*pp)->next)
        if (victim == NULL || (*pp)->expires_ms < (*victim)->expires_ms)
            victim = pp;
    if (victim != NULL) {
        struct cache_entry *e = *victim;

        *victim = e->next;
        entry_free(e);
        c->count--;
    }
}

/* dns_cache_put - store an OK answer for its TTL (0 = not at all) */
void
dns_cache_put(struct dns_cache *c, enum dns_kind kind, int family, const char *name,
              const struct dns_answer *a, uint64_t now_ms)
{
    struct cache_entry *e, **pp;

    if (c == NULL || name == NULL || a == NULL || a->dns_class != HERALD_DNS_OK || a->ttl == 0)
        return;
    sweep(c, now_ms);
    for (pp = &c->head; *pp != NULL; pp = &(*pp)->next)
        if ((*pp)->kind == kind && (*pp)->family == family && strcasecmp((*pp)->name, name) == 0) {
            e = *pp;
            *pp = e->next;
            entry_free(e);
            c->count--;
            break;
        }
    if (c->count >= DNS_CACHE_MAX)
        evict_one(c);
    e = calloc(1, sizeof *e);
    if (e == NULL)
        return;
    e->kind = kind;
    e->family = family;
    e->name = strdup(name);
    e->answer = dns_answer_dup(a);
    e->expires_ms = now_ms + (uint64_t)a->ttl * 1000u;
    if (e->name == NULL || e->answer == NULL) {
        entry_free(e);
        return;
    }
    e->next = c->head;
    c->head = e;
    c->count++;
}
