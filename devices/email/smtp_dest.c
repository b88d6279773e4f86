/*
 * smtp_dest.c - the destinations of the smtp transport's session pool:
 * slots, the learned concurrency window, and the messages waiting, per
 * "ADDR port host" (see smtp_dest.h for the rules)
 */
#include <stdlib.h>
#include <string.h>

#include "smtp_dest.h"

#define DEST_KEY_MAX 1000
#define DEST_BUCKETS_MIN 64

struct smtp_dest {
    struct smtp_dest *hnext;                   /* hash chain */
    struct smtp_dest *rprev, *rnext;           /* the list of those with waiters */
    bool on_ready;
    struct smtp_dest_waiter *whead, *wtail;
    size_t nwait;
    size_t busy;
    size_t window;           /* sessions allowed: 1..max_per_dest */
    size_t credit;           /* successes since it last grew: at window, it grows by one */
    size_t hold_level;       /* the others open when a fresh session was refused */
    uint64_t hold_until;     /* until then the window stays at or below hold_level */
    uint64_t hash;
    char key[];
};

struct smtp_dests {
    struct smtp_dest_limits lim;
    struct smtp_dest **bucket;
    size_t nbucket;          /* a power of two */
    size_t count;
    size_t busy;
    struct smtp_dest *rhead, *rtail;
};

/* key_hash - FNV-1a: the keys are short and not chosen by an attacker to collide
 * (addresses and names from DNS answers the device asked for), and chains stay short */
static uint64_t
key_hash(const char *key)
{
    uint64_t h = 14695981039346656037ull;

    for (; *key != '\0'; key++) {
        h ^= (unsigned char)*key;
        h *= 1099511628211ull;
    }
    return h;
}

static size_t
at_least_one(size_t v)
{
    return v > 0 ? v : 1;
}

herald_status
smtp_dests_new(const struct smtp_dest_limits *lim, struct smtp_dests **out)
{
    struct smtp_dests *d;

    if (lim == NULL || out == NULL)
        return HERALD_E_INVAL;
    d = calloc(1, sizeof *d);
    if (d == NULL)
        return HERALD_E_NOMEM;
    d->lim.max_sessions = at_least_one(lim->max_sessions);
    d->lim.max_per_dest = at_least_one(lim->max_per_dest);
    d->lim.initial_per_dest = at_least_one(lim->initial_per_dest);
    if (d->lim.initial_per_dest > d->lim.max_per_dest)
        d->lim.initial_per_dest = d->lim.max_per_dest;
    d->nbucket = DEST_BUCKETS_MIN;
    d->bucket = calloc(d->nbucket, sizeof *d->bucket);
    if (d->bucket == NULL) {
        free(d);
        return HERALD_E_NOMEM;
    }
    *out = d;
    return HERALD_OK;
}

void
smtp_dests_free(struct smtp_dests **dp)
{
    struct smtp_dests *d;
    size_t i;

    if (dp == NULL || (d = *dp) == NULL)
        return;
    for (i = 0; i < d->nbucket; i++)
        while (d->bucket[i] != NULL) {
            struct smtp_dest *dest = d->bucket[i];

            d->bucket[i] = dest->hnext;
            free(dest);
        }
    free(d->bucket);
    free(d);
    *dp = NULL;
}

void
smtp_dests_set_max_sessions(struct smtp_dests *d, size_t max_sessions)
{
    d->lim.max_sessions = at_least_one(max_sessions);
}

size_t smtp_dests_busy(const struct smtp_dests *d) { return d->busy; }
size_t smtp_dests_count(const struct smtp_dests *d) { return d->count; }
const char *smtp_dest_key(const struct smtp_dest *dest) { return dest->key; }
size_t smtp_dest_busy(const struct smtp_dest *dest) { return dest->busy; }
size_t smtp_dest_waiting(const struct smtp_dest *dest) { return dest->nwait; }

size_t
smtp_dest_limit(const struct smtp_dest *dest)
{
    return dest->window;
}

/* grow - double the buckets when there are more destinations than buckets;
 * on ENOMEM the chains just get longer */
static void
grow(struct smtp_dests *d)
{
    size_t n = d->nbucket * 2, i;
    struct smtp_dest **b;

    if (d->count <= d->nbucket || (b = calloc(n, sizeof *b)) == NULL)
        return;
    for (i = 0; i < d->nbucket; i++)
        while (d->bucket[i] != NULL) {
            struct smtp_dest *dest = d->bucket[i];

            d->bucket[i] = dest->hnext;
            dest->hnext = b[dest->hash & (n - 1)];
            b[dest->hash & (n - 1)] = dest;
        }
    free(d->bucket);
    d->bucket = b;
    d->nbucket = n;
}

struct smtp_dest *
smtp_dest_get(struct smtp_dests *d, const char *key)
{
    size_t len = strlen(key);
    uint64_t h = key_hash(key);
    struct smtp_dest *dest;

    if (len > DEST_KEY_MAX)
        return NULL;
    for (dest = d->bucket[h & (d->nbucket - 1)]; dest != NULL; dest = dest->hnext)
        if (dest->hash == h && strcmp(dest->key, key) == 0)
            return dest;
    dest = calloc(1, sizeof *dest + len + 1);
    if (dest == NULL)
        return NULL;
    memcpy(dest->key, key, len + 1);
    dest->hash = h;
    dest->window = d->lim.initial_per_dest;
    dest->hnext = d->bucket[h & (d->nbucket - 1)];
    d->bucket[h & (d->nbucket - 1)] = dest;
    d->count++;
    grow(d);
    return dest;
}

/* ready_unlink - dest has no waiter left: off the list */
static void
ready_unlink(struct smtp_dests *d, struct smtp_dest *dest)
{
    if (!dest->on_ready)
        return;
    if (dest->rprev != NULL)
        dest->rprev->rnext = dest->rnext;
    else
        d->rhead = dest->rnext;
    if (dest->rnext != NULL)
        dest->rnext->rprev = dest->rprev;
    else
        d->rtail = dest->rprev;
    dest->rprev = dest->rnext = NULL;
    dest->on_ready = false;
}

/* ready_append - dest has waiters: last on the list */
static void
ready_append(struct smtp_dests *d, struct smtp_dest *dest)
{
    dest->rnext = NULL;
    dest->rprev = d->rtail;
    if (d->rtail != NULL)
        d->rtail->rnext = dest;
    else
        d->rhead = dest;
    d->rtail = dest;
    dest->on_ready = true;
}

void
smtp_dest_forget(struct smtp_dests *d, struct smtp_dest *dest)
{
    struct smtp_dest **pp;

    if (dest->busy > 0 || dest->nwait > 0)
        return;
    ready_unlink(d, dest);
    for (pp = &d->bucket[dest->hash & (d->nbucket - 1)]; *pp != NULL; pp = &(*pp)->hnext)
        if (*pp == dest) {
            *pp = dest->hnext;
            d->count--;
            free(dest);
            return;
        }
}

bool
smtp_dest_can_start(const struct smtp_dests *d, const struct smtp_dest *dest)
{
    return d->busy < d->lim.max_sessions && dest->busy < smtp_dest_limit(dest);
}

void
smtp_dest_take(struct smtp_dests *d, struct smtp_dest *dest)
{
    dest->busy++;
    d->busy++;
}

void
smtp_dest_give(struct smtp_dests *d, struct smtp_dest *dest)
{
    if (dest->busy > 0) {
        dest->busy--;
        d->busy--;
    }
    smtp_dest_forget(d, dest);
}

void
smtp_dest_wait(struct smtp_dests *d, struct smtp_dest *dest, struct smtp_dest_waiter *w,
               bool first)
{
    if (first || dest->wtail == NULL) {
        w->next = dest->whead;
        dest->whead = w;
        if (dest->wtail == NULL)
            dest->wtail = w;
    } else {
        w->next = NULL;
        dest->wtail->next = w;
        dest->wtail = w;
    }
    dest->nwait++;
    if (!dest->on_ready)
        ready_append(d, dest);
}

struct smtp_dest_waiter *
smtp_dest_unwait(struct smtp_dests *d, struct smtp_dest *dest)
{
    struct smtp_dest_waiter *w = dest->whead;

    if (w == NULL)
        return NULL;
    dest->whead = w->next;
    if (dest->whead == NULL)
        dest->wtail = NULL;
    w->next = NULL;
    if (--dest->nwait == 0)
        ready_unlink(d, dest);
    return w;
}

struct smtp_dest_waiter *
smtp_dests_next(struct smtp_dests *d, struct smtp_dest **dest_out)
{
    struct smtp_dest *dest;

    if (d->busy >= d->lim.max_sessions)
        return NULL;
    for (dest = d->rhead; dest != NULL; dest = dest->rnext) {
        struct smtp_dest_waiter *w;

        if (dest->busy >= smtp_dest_limit(dest))
            continue;
        w = smtp_dest_unwait(d, dest);
        if (dest->on_ready) {       /* more waiters: the others get the next turn */
            ready_unlink(d, dest);
            ready_append(d, dest);
        }
        *dest_out = dest;
        return w;
    }
    return NULL;
}

struct smtp_dest_waiter *
smtp_dests_any(struct smtp_dests *d)
{
    return d->rhead != NULL ? smtp_dest_unwait(d, d->rhead) : NULL;
}

bool
smtp_dest_success(const struct smtp_dests *d, struct smtp_dest *dest, uint64_t now_ms)
{
    size_t cap = d->lim.max_per_dest;

    if (dest->hold_level > 0 && now_ms < dest->hold_until && dest->hold_level < cap)
        cap = dest->hold_level;
    if (dest->window >= cap)
        return false;
    /* 1/window per success, counted in whole successes */
    if (++dest->credit < dest->window)
        return false;
    dest->credit = 0;
    dest->window++;
    return true;
}

enum smtp_dest_verdict
smtp_dest_refused(const struct smtp_dests *d, struct smtp_dest *dest, bool fresh,
                  uint64_t now_ms)
{
    size_t others = dest->busy > 0 ? dest->busy - 1 : 0;

    /* A reused session the server dropped says nothing about the next one:
     * the message tries again on a new session, whatever else is open. */
    if (!fresh)
        return SMTP_DEST_WAIT;
    dest->credit = 0;
    if (others == 0) {
        dest->window = d->lim.initial_per_dest;
        dest->hold_level = 0;
        dest->hold_until = 0;
        return SMTP_DEST_DEAD;
    }
    if (dest->window > others)
        dest->window = others;
    dest->hold_level = others;
    dest->hold_until = now_ms + SMTP_DEST_PROBE_HOLD_MS;
    return SMTP_DEST_WAIT;
}
