/*
 * dns_cache.c - owned DNS answers, and the table of answers and lookups in flight
 *
 * One hash table (hash_table.h: chained, grown by doubling, so lookups stay
 * constant time) keyed by (kind, family, name without case, RFC 4343) holds two sorts of
 * entries:
 *   - pending: a lookup on the wire; whoever asks the same question joins
 *     it (single flight).  Pending entries are never evicted or counted.
 *   - cached: an answer with its expiry, on an LRU list.  When a new answer
 *     would exceed max_entries, the least recently used one goes.  Expired
 *     entries are dropped when met.
 * Cached answers are packed into one allocation (name, reason, records;
 * an address as 4 or 16 octets, not a struct herald_address), 96 octets of
 * heap for an MX answer of one host, so that a full cache of 250,000
 * entries stays near 25 MB.  A pending entry keeps its flight where a
 * cached one keeps its expiry.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/queue.h>

#include "dns.h"
#include "hash_table.h"

#define DNS_CACHE_MIN_BUCKETS 64

struct dns_cache_entry {
    struct hash_node node;                  /* its chain; node.hash: dns_cache_name_hash */
    TAILQ_ENTRY(dns_cache_entry) lru;       /* LRU list, most recent first (cached only) */
    union {
        void *flight;                       /* pending: the caller's lookup */
        uint64_t expires_ms;                /* cached */
    } u;
    uint8_t kind, family, cls;
    bool pending;
    uint16_t count;
    uint16_t name_len, reason_len;
    char data[];                            /* name NUL reason NUL records */
};

/* An entry's size: the header up to data (not sizeof, which pads it) and its tail. */
#define ENTRY_SIZE(tail) (offsetof(struct dns_cache_entry, data) + (tail))

struct dns_cache {
    struct hash_table table;                /* every entry, pending or cached */
    size_t cached;                          /* on the LRU list */
    size_t max_cached;
    TAILQ_HEAD(cache_lru, dns_cache_entry) lru;
    size_t evictions;
};

/* ---- owned answers ---- */

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

/* ---- lifetimes ---- */

/* dns_cache_lifetime - how long an answer may be kept, in seconds (0: not at all).
 * Positive answers live for their TTL; negative ones (NXDOMAIN, NODATA, a
 * null MX is an OK answer) for the SOA-derived TTL the caller put in
 * a->ttl (RFC 2308 5); both clamped to [min_ttl_s, max_ttl_s].  Server
 * failures and timeouts are held only for hold_s, so a dead resolver is not
 * asked again by every waiting message, yet recovery is noticed soon. */
uint32_t
dns_cache_lifetime(const struct dns_answer *a, const struct dns_cache_policy *p)
{
    uint32_t t;

    if (a == NULL || p == NULL)
        return 0;
    switch (a->dns_class) {
    case HERALD_DNS_OK:
    case HERALD_DNS_NODATA:
    case HERALD_DNS_NXDOMAIN:
        t = a->ttl;
        if (t < p->min_ttl_s)
            t = p->min_ttl_s;
        if (t > p->max_ttl_s)
            t = p->max_ttl_s;
        return t;
    case HERALD_DNS_TEMPFAIL:
    case HERALD_DNS_BADNAME:
        return p->hold_s;
    default:   /* CANCELLED: the resolver is closing */
        return 0;
    }
}

/* ---- the table ---- */

/* dns_cache_name_hash - FNV-1a over kind, family and the name folded to lower case */
uint32_t
dns_cache_name_hash(enum dns_kind kind, int family, const char *name)
{
    uint32_t h = 2166136261u;
    const unsigned char *p;

    h = (h ^ (uint32_t)kind) * 16777619u;
    h = (h ^ (uint32_t)family) * 16777619u;
    for (p = (const unsigned char *)name; *p; p++) {
        unsigned char c = (*p >= 'A' && *p <= 'Z') ? (unsigned char)(*p + 32) : *p;

        h = (h ^ c) * 16777619u;
    }
    return h;
}

/* dns_cache_new - an empty table keeping at most max_cached answers */
struct dns_cache *
dns_cache_new(size_t max_cached)
{
    struct dns_cache *c = calloc(1, sizeof *c);

    if (c == NULL)
        return NULL;
    if (!hash_table_init(&c->table, DNS_CACHE_MIN_BUCKETS)) {
        free(c);
        return NULL;
    }
    TAILQ_INIT(&c->lru);
    c->max_cached = max_cached > 0 ? max_cached : 1;
    return c;
}

static void
node_free(struct hash_node *n, void *arg)
{
    (void)arg;
    free(HASH_ENTRY(n, struct dns_cache_entry, node));
}

/* dns_cache_free - drop every entry (pending ones too: their flights are the caller's) */
void
dns_cache_free(struct dns_cache **cp)
{
    struct dns_cache *c;

    if (cp == NULL || *cp == NULL)
        return;
    c = *cp;
    hash_table_fini(&c->table, node_free, NULL);
    free(c);
    *cp = NULL;
}

size_t
dns_cache_count(const struct dns_cache *c)
{
    return c != NULL ? c->cached : 0;
}

size_t
dns_cache_evictions(const struct dns_cache *c)
{
    return c != NULL ? c->evictions : 0;
}

/* entry_remove - take e out of the table (and the LRU list) and free it */
static void
entry_remove(struct dns_cache *c, struct dns_cache_entry *e)
{
    hash_table_remove(&c->table, &e->node);
    if (!e->pending) {
        TAILQ_REMOVE(&c->lru, e, lru);
        c->cached--;
    }
    free(e);
}

/* entry_name - the entry's name (stored as given) */
static const char *
entry_name(const struct dns_cache_entry *e)
{
    return e->data;
}

/* find - the entry for the key, expired cached ones dropped on the way */
static struct dns_cache_entry *
find(struct dns_cache *c, enum dns_kind kind, int family, const char *name, uint32_t h,
     uint64_t now_ms)
{
    struct hash_node *n, *next;
    size_t len = strlen(name);

    for (n = hash_table_chain(&c->table, h); n != NULL; n = next) {
        struct dns_cache_entry *e = HASH_ENTRY(n, struct dns_cache_entry, node);

        next = n->next;
        if (n->hash != h || e->kind != (uint8_t)kind || e->family != (uint8_t)family
            || e->name_len != len || strcasecmp(entry_name(e), name) != 0)
            continue;
        if (!e->pending && e->u.expires_ms <= now_ms) {
            entry_remove(c, e);
            return NULL;
        }
        return e;
    }
    return NULL;
}

/* dns_cache_find - the live entry for (kind, family, name): pending or cached; NULL */
struct dns_cache_entry *
dns_cache_find(struct dns_cache *c, enum dns_kind kind, int family, const char *name,
               uint64_t now_ms)
{
    struct dns_cache_entry *e;

    if (c == NULL || name == NULL)
        return NULL;
    e = find(c, kind, family, name, dns_cache_name_hash(kind, family, name), now_ms);
    if (e != NULL && !e->pending && e != TAILQ_FIRST(&c->lru)) {   /* used: most recent */
        TAILQ_REMOVE(&c->lru, e, lru);
        TAILQ_INSERT_HEAD(&c->lru, e, lru);
    }
    return e;
}

uint64_t
dns_cache_expires_ms(const struct dns_cache_entry *e)
{
    return e != NULL && !e->pending ? e->u.expires_ms : 0;
}

void *
dns_cache_flight(const struct dns_cache_entry *e)
{
    return e != NULL && e->pending ? e->u.flight : NULL;
}

/* packed_size - octets of the records of a when packed */
static size_t
packed_size(enum dns_kind kind, const struct dns_answer *a)
{
    size_t n = 0, i;

    if (a->dns_class != HERALD_DNS_OK)
        return 0;
    for (i = 0; i < a->count; i++)
        n += kind == DNS_KIND_MX ? 3 + strlen(a->mx[i].host) + 1
             : ((const struct sockaddr *)&a->addr[i].sa)->sa_family == AF_INET6 ? 17 : 5;
    return n;
}

/* entry_make - a detached entry for the key, with room for a's records */
static struct dns_cache_entry *
entry_make(enum dns_kind kind, int family, const char *name, uint32_t h,
           const struct dns_answer *a)
{
    size_t nl = strlen(name), rl = a != NULL ? strlen(a->reason) : 0;
    size_t pl = a != NULL ? packed_size(kind, a) : 0;
    struct dns_cache_entry *e;

    if (nl > 0xffff || rl > 0xffff || (a != NULL && a->count > 0xffff))
        return NULL;
    e = calloc(1, ENTRY_SIZE(nl + 1 + rl + 1 + pl));
    if (e == NULL)
        return NULL;
    e->node.hash = h;
    e->kind = (uint8_t)kind;
    e->family = (uint8_t)family;
    e->name_len = (uint16_t)nl;
    e->reason_len = (uint16_t)rl;
    memcpy(e->data, name, nl + 1);
    return e;
}

/* pack - a's class, reason and records into e */
static void
pack(struct dns_cache_entry *e, const struct dns_answer *a)
{
    char *p = e->data + e->name_len + 1;
    size_t i;

    e->cls = (uint8_t)a->dns_class;
    memcpy(p, a->reason, e->reason_len);
    p[e->reason_len] = '\0';
    p += e->reason_len + 1;
    if (a->dns_class != HERALD_DNS_OK)
        return;
    e->count = (uint16_t)a->count;
    for (i = 0; i < a->count; i++) {
        if (e->kind == DNS_KIND_MX) {
            size_t hl = strlen(a->mx[i].host);

            p[0] = (char)(a->mx[i].preference >> 8);
            p[1] = (char)(a->mx[i].preference & 0xff);
            p[2] = a->mx[i].is_ip_literal ? 1 : 0;
            memcpy(p + 3, a->mx[i].host, hl + 1);
            p += 3 + hl + 1;
        } else {
            const struct sockaddr *sa = (const struct sockaddr *)&a->addr[i].sa;

            if (sa->sa_family == AF_INET6) {
                p[0] = 6;
                memcpy(p + 1, &((const struct sockaddr_in6 *)sa)->sin6_addr, 16);
                p += 17;
            } else {
                p[0] = 4;
                memcpy(p + 1, &((const struct sockaddr_in *)sa)->sin_addr, 4);
                p += 5;
            }
        }
    }
}

/* ipv4_text - dotted quad of 4 octets into out (16 octets at least).  Every
 * address the resolver hands out is written once per answer taken from the
 * cache and twice per plan packed: inet_ntop (through sprintf) cost about
 * 1,700 instructions a call there, this about 60. */
static void
ipv4_text(char *out, const unsigned char *o)
{
    int i;

    for (i = 0; i < 4; i++) {
        unsigned v = o[i];

        if (v >= 100)
            *out++ = (char)('0' + v / 100);
        if (v >= 10)
            *out++ = (char)('0' + v / 10 % 10);
        *out++ = (char)('0' + v % 10);
        *out++ = i < 3 ? '.' : '\0';
    }
}

/* dns_address_make - the one form of an address the resolver hands out:
 * family and raw octets (4 or 16), port 0, nothing else set, its text */
void
dns_address_make(struct herald_address *out, int family, const void *raw)
{
    memset(out, 0, sizeof *out);
    if (family == AF_INET6) {
        struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&out->sa;

        s6->sin6_family = AF_INET6;
        memcpy(&s6->sin6_addr, raw, 16);
        out->len = sizeof *s6;
    } else {
        struct sockaddr_in *s4 = (struct sockaddr_in *)&out->sa;

        s4->sin_family = AF_INET;
        memcpy(&s4->sin_addr, raw, 4);
        out->len = sizeof *s4;
        ipv4_text(out->text, raw);
        return;
    }
    inet_ntop(AF_INET6, raw, out->text, sizeof out->text);
}

/* dns_cache_answer - a copy of a cached entry's answer, ttl = what is left of it */
struct dns_answer *
dns_cache_answer(const struct dns_cache_entry *e, uint64_t now_ms)
{
    struct dns_answer *a;
    const char *p;
    size_t i;

    if (e == NULL || e->pending || (a = dns_answer_new()) == NULL)
        return NULL;
    p = e->data + e->name_len + 1;
    a->dns_class = (enum herald_dns_class)e->cls;
    memcpy(a->reason, p, e->reason_len < sizeof a->reason ? e->reason_len + 1u
                                                          : sizeof a->reason);
    a->reason[sizeof a->reason - 1] = '\0';
    p += e->reason_len + 1;
    a->ttl = e->u.expires_ms > now_ms ? (uint32_t)((e->u.expires_ms - now_ms + 999) / 1000) : 0;
    if (e->count == 0)
        return a;
    if (e->kind == DNS_KIND_MX) {
        a->mx = calloc(e->count, sizeof *a->mx);
        a->hosts = calloc(e->count, sizeof *a->hosts);
        if (a->mx == NULL || a->hosts == NULL)
            goto fail;
        for (i = 0; i < e->count; i++) {
            size_t hl = strlen(p + 3);

            a->count = i + 1;   /* what is allocated so far, for dns_answer_free */
            a->hosts[i] = malloc(hl + 1);
            if (a->hosts[i] == NULL)
                goto fail;
            memcpy(a->hosts[i], p + 3, hl + 1);
            a->mx[i].host = a->hosts[i];
            a->mx[i].preference = (uint16_t)((unsigned char)p[0] << 8 | (unsigned char)p[1]);
            a->mx[i].is_ip_literal = p[2] != 0;
            p += 3 + hl + 1;
        }
    } else {
        a->addr = calloc(e->count, sizeof *a->addr);
        if (a->addr == NULL)
            goto fail;
        for (i = 0; i < e->count; i++, p += p[0] == 6 ? 17 : 5)
            dns_address_make(&a->addr[i], p[0] == 6 ? AF_INET6 : AF_INET, p + 1);
        a->count = e->count;
    }
    return a;
fail:
    dns_answer_free(&a);
    return NULL;
}

/* insert - link a detached entry into its bucket */
static void
insert(struct dns_cache *c, struct dns_cache_entry *e)
{
    hash_table_insert(&c->table, &e->node, e->node.hash);
}

/* dns_cache_begin - a pending entry for a lookup now in flight; NULL when out of memory */
struct dns_cache_entry *
dns_cache_begin(struct dns_cache *c, enum dns_kind kind, int family, const char *name,
                void *flight, uint64_t now_ms)
{
    uint32_t h;
    struct dns_cache_entry *e, *old;

    if (c == NULL || name == NULL || flight == NULL)
        return NULL;
    h = dns_cache_name_hash(kind, family, name);
    old = find(c, kind, family, name, h, now_ms);
    if (old != NULL)
        entry_remove(c, old);   /* a fresh lookup replaces what was there */
    e = entry_make(kind, family, name, h, NULL);
    if (e == NULL)
        return NULL;
    e->u.flight = flight;
    e->pending = true;
    insert(c, e);
    return e;
}

/* dns_cache_settle - the flight of a pending entry is over: keep a for lifetime_s
 * seconds (0: drop the entry).  The least recently used answer goes when full. */
void
dns_cache_settle(struct dns_cache *c, struct dns_cache_entry *e, const struct dns_answer *a,
                 uint32_t lifetime_s, uint64_t now_ms)
{
    struct dns_cache_entry *n;

    if (c == NULL || e == NULL || !e->pending)
        return;
    n = a != NULL && lifetime_s > 0
            ? entry_make((enum dns_kind)e->kind, e->family, entry_name(e), e->node.hash, a) : NULL;
    entry_remove(c, e);        /* still pending: off the table, never on the LRU list */
    if (n == NULL)
        return;                /* not kept (or no memory: only a later lookup is lost) */
    pack(n, a);
    n->u.expires_ms = now_ms + (uint64_t)lifetime_s * 1000u;
    while (c->cached >= c->max_cached && !TAILQ_EMPTY(&c->lru)) {
        c->evictions++;
        entry_remove(c, TAILQ_LAST(&c->lru, cache_lru));
    }
    insert(c, n);
    TAILQ_INSERT_HEAD(&c->lru, n, lru);
    c->cached++;
}

/* dns_cache_put - store a for lifetime_s seconds, outside any flight (tests, literals) */
void
dns_cache_put(struct dns_cache *c, enum dns_kind kind, int family, const char *name,
              const struct dns_answer *a, uint32_t lifetime_s, uint64_t now_ms)
{
    static char token;
    struct dns_cache_entry *e;

    e = dns_cache_begin(c, kind, family, name, &token, now_ms);
    if (e != NULL)
        dns_cache_settle(c, e, a, lifetime_s, now_ms);
}
