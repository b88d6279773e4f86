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
 *   The cache owns its entries; dns_cache_get() returns a copy.
 */
#ifndef HERALD_CORE_DNS_H
#define HERALD_CORE_DNS_H

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

/* A TTL cache of OK answers; ttl 0 is never stored. */
struct dns_cache;
struct dns_cache *dns_cache_new(void);
void dns_cache_free(struct dns_cache **c);
/* Copy of a live entry for (kind, family, name), or NULL. */
struct dns_answer *dns_cache_get(struct dns_cache *c, enum dns_kind kind, int family,
                                 const char *name, uint64_t now_ms);
/* Store a copy of a when it is OK with ttl > 0; failures to store are harmless. */
void dns_cache_put(struct dns_cache *c, enum dns_kind kind, int family, const char *name,
                   const struct dns_answer *a, uint64_t now_ms);

#endif
