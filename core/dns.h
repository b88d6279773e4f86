/*
 * dns.h - the core's resolver behind herald/dns.h (internal)
 *
 * One resolver per env (struct herald_env.dns), created on first use from
 * the env's dns settings (dns_servers, dns_timeout_ms, dns_tries) and driven
 * by the env's loop.  Answers are kept as owned struct dns_answer values so
 * they can be cached and delivered later from the loop.
 *
 * Ownership: dns_env_close(env) cancels every pending lookup of the env
 *   (each callback runs once, from inside this call, with
 *   HERALD_DNS_CANCELLED) and frees the resolver; the context calls it for
 *   each env before it frees the loop.  It accepts an env without resolver.
 *   dns_answer_dup() returns a copy freed with dns_answer_free(&a).
 *   The cache owns its entries; dns_cache_answer() returns a copy.
 */
#ifndef HERALD_CORE_DNS_H
#define HERALD_CORE_DNS_H

#include <stdbool.h>
#include <stdint.h>
#include <herald/dns.h>

struct herald_env;

void dns_env_close(struct herald_env *env);

enum dns_kind { DNS_KIND_MX = 0, DNS_KIND_ADDR = 1 };

/* An owned answer: strings and arrays belong to it. */
struct dns_answer {
    enum herald_dns_class dns_class;
    char reason[128];
    uint32_t ttl;
    size_t count;
    struct herald_mx *mx;          /* DNS_KIND_MX: mx[i].host == hosts[i] */
    char **hosts;                  /* owned host strings of mx[] */
    struct herald_address *addr;   /* DNS_KIND_ADDR */
};

struct dns_answer *dns_answer_new(void);
struct dns_answer *dns_answer_dup(const struct dns_answer *a);
void dns_answer_free(struct dns_answer **a);

/* The form of every address the resolver hands out (dns_cache.c): family
 * AF_INET or AF_INET6, raw the 4 or 16 octets; port 0, len and text set. */
void dns_address_make(struct herald_address *out, int family, const void *raw);

/* How long answers are kept (dns.min_ttl_s, dns.max_ttl_s; hold_s for failures). */
struct dns_cache_policy {
    uint32_t min_ttl_s, max_ttl_s, hold_s;
};
/* Seconds an answer may be kept: OK and negative answers their TTL (for a
 * negative one the SOA-derived TTL, RFC 2308) clamped to [min, max];
 * TEMPFAIL and BADNAME hold_s; CANCELLED 0. */
uint32_t dns_cache_lifetime(const struct dns_answer *a, const struct dns_cache_policy *p);

/* The table of cached answers and lookups in flight (dns_cache.c): constant
 * time lookups, at most max_cached answers (least recently used evicted),
 * names without case.  A pending entry names its flight (the caller's). */
struct dns_cache;
struct dns_cache_entry;
struct dns_cache *dns_cache_new(size_t max_cached);
void dns_cache_free(struct dns_cache **c);
size_t dns_cache_count(const struct dns_cache *c);       /* cached answers */
size_t dns_cache_evictions(const struct dns_cache *c);
/* The live entry of (kind, family, name), pending or cached, or NULL. */
struct dns_cache_entry *dns_cache_find(struct dns_cache *c, enum dns_kind kind, int family,
                                       const char *name, uint64_t now_ms);
void *dns_cache_flight(const struct dns_cache_entry *e);   /* NULL: a cached answer */
/* A copy of a cached entry's answer, ttl = what is left; NULL when pending or no memory. */
struct dns_answer *dns_cache_answer(const struct dns_cache_entry *e, uint64_t now_ms);
/* A pending entry for flight (replacing any entry of the key); NULL: no memory. */
struct dns_cache_entry *dns_cache_begin(struct dns_cache *c, enum dns_kind kind, int family,
                                        const char *name, void *flight, uint64_t now_ms);
/* End a pending entry: keep a copy of a for lifetime_s seconds (0: not at all). */
void dns_cache_settle(struct dns_cache *c, struct dns_cache_entry *e,
                      const struct dns_answer *a, uint32_t lifetime_s, uint64_t now_ms);
/* Milliseconds since boot at which a cached entry expires (0 for a pending one). */
uint64_t dns_cache_expires_ms(const struct dns_cache_entry *e);
/* The table's hash of a name (case folded), for other tables keyed by names. */
uint32_t dns_cache_name_hash(enum dns_kind kind, int family, const char *name);
/* True when env's resolver holds a live answer for the key; *left_ms what is left of it. */
bool dns_env_cached(struct herald_env *env, enum dns_kind kind, int family, const char *name,
                    uint64_t *left_ms);
/* The counters of env's answer table: answers cached now, and answers
 * dropped at the dns.cache_entries bound for a newer one (0, 0 without a resolver). */
void dns_env_counts(const struct herald_env *env, size_t *cached, size_t *evictions);
/* The hold-down of failures, in seconds (plans that were deferred live no longer). */
#define DNS_HOLD_S 5

/* begin + settle at once. */
void dns_cache_put(struct dns_cache *c, enum dns_kind kind, int family, const char *name,
                   const struct dns_answer *a, uint32_t lifetime_s, uint64_t now_ms);

#endif
