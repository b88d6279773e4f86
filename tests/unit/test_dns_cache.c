/*
 * test_dns_cache.c - the table of DNS answers and lookups in flight, by itself
 *
 * Hermetic: answers are made here and time is a number passed in, so TTL
 * expiry, negative lifetimes, the LRU bound and the pending (single flight)
 * entries are checked exactly.  test_dns.c checks the same against servers.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <CUnit/Basic.h>

#include "dns.h"
#include "test_main.h"

/* mx_answer - an OK MX answer of one host */
static struct dns_answer *
mx_answer(const char *host, unsigned pref, uint32_t ttl)
{
    struct dns_answer *a = dns_answer_new();

    a->dns_class = HERALD_DNS_OK;
    a->ttl = ttl;
    a->count = 1;
    a->mx = calloc(1, sizeof *a->mx);
    a->hosts = calloc(1, sizeof *a->hosts);
    a->hosts[0] = strdup(host);
    a->mx[0].host = a->hosts[0];
    a->mx[0].preference = (uint16_t)pref;
    return a;
}

static struct dns_answer *
neg_answer(enum herald_dns_class cls, const char *reason, uint32_t ttl)
{
    struct dns_answer *a = dns_answer_new();

    a->dns_class = cls;
    a->ttl = ttl;
    strcpy(a->reason, reason);
    return a;
}

static const struct dns_cache_policy policy = { 0, 86400, 5 };

/* test_ttl_expiry - an answer lives exactly its lifetime, and says what is left */
static void
test_ttl_expiry(void)
{
    struct dns_cache *c = dns_cache_new(100);
    struct dns_answer *a = mx_answer("mx.a.test", 10, 300), *got;
    struct dns_cache_entry *e;

    dns_cache_put(c, DNS_KIND_MX, 0, "a.test", a, dns_cache_lifetime(a, &policy), 1000);
    e = dns_cache_find(c, DNS_KIND_MX, 0, "a.test", 1000 + 299000);
    CU_ASSERT_PTR_NOT_NULL_FATAL(e);
    CU_ASSERT_PTR_NULL(dns_cache_flight(e));
    got = dns_cache_answer(e, 1000 + 299000);
    CU_ASSERT_PTR_NOT_NULL_FATAL(got);
    CU_ASSERT_EQUAL(got->dns_class, HERALD_DNS_OK);
    CU_ASSERT_EQUAL(got->ttl, 1);
    CU_ASSERT_EQUAL(got->count, 1);
    CU_ASSERT_STRING_EQUAL(got->mx[0].host, "mx.a.test");
    CU_ASSERT_EQUAL(got->mx[0].preference, 10);
    dns_answer_free(&got);
    CU_ASSERT_PTR_NULL(dns_cache_find(c, DNS_KIND_MX, 0, "a.test", 1000 + 300000));
    CU_ASSERT_EQUAL(dns_cache_count(c), 0);   /* dropped when met expired */
    /* TTL 0 is not kept (min_ttl_s 0), a clamp keeps it */
    a->ttl = 0;
    dns_cache_put(c, DNS_KIND_MX, 0, "a.test", a, dns_cache_lifetime(a, &policy), 1000);
    CU_ASSERT_PTR_NULL(dns_cache_find(c, DNS_KIND_MX, 0, "a.test", 1000));
    {
        struct dns_cache_policy clamp = { 30, 60, 5 };

        CU_ASSERT_EQUAL(dns_cache_lifetime(a, &clamp), 30);
        a->ttl = 3600;
        CU_ASSERT_EQUAL(dns_cache_lifetime(a, &clamp), 60);
    }
    dns_answer_free(&a);
    dns_cache_free(&c);
    CU_ASSERT_PTR_NULL(c);
}

/* test_negative - NXDOMAIN and NODATA live their SOA TTL, failures only the hold-down */
static void
test_negative(void)
{
    struct dns_cache *c = dns_cache_new(100);
    struct dns_answer *nx = neg_answer(HERALD_DNS_NXDOMAIN, "NXDOMAIN", 60);
    struct dns_answer *nd = neg_answer(HERALD_DNS_NODATA, "", 120);
    struct dns_answer *sf = neg_answer(HERALD_DNS_TEMPFAIL, "SERVFAIL", 3600);
    struct dns_answer *cancel = neg_answer(HERALD_DNS_CANCELLED, "closing", 3600);
    struct dns_answer *got;
    struct dns_cache_entry *e;

    CU_ASSERT_EQUAL(dns_cache_lifetime(nx, &policy), 60);
    CU_ASSERT_EQUAL(dns_cache_lifetime(nd, &policy), 120);
    CU_ASSERT_EQUAL(dns_cache_lifetime(sf, &policy), 5);   /* not its TTL: the hold-down */
    CU_ASSERT_EQUAL(dns_cache_lifetime(cancel, &policy), 0);
    dns_cache_put(c, DNS_KIND_MX, 0, "nx.test", nx, 60, 0);
    dns_cache_put(c, DNS_KIND_ADDR, HERALD_FAMILY_ANY, "nodata.test", nd, 120, 0);
    dns_cache_put(c, DNS_KIND_MX, 0, "sf.test", sf, 5, 0);
    e = dns_cache_find(c, DNS_KIND_MX, 0, "nx.test", 59000);
    CU_ASSERT_PTR_NOT_NULL_FATAL(e);
    got = dns_cache_answer(e, 59000);
    CU_ASSERT_EQUAL(got->dns_class, HERALD_DNS_NXDOMAIN);
    CU_ASSERT_STRING_EQUAL(got->reason, "NXDOMAIN");
    CU_ASSERT_EQUAL(got->count, 0);
    dns_answer_free(&got);
    CU_ASSERT_PTR_NOT_NULL(dns_cache_find(c, DNS_KIND_ADDR, HERALD_FAMILY_ANY, "nodata.test",
                                          119000));
    /* the kind and family are part of the key */
    CU_ASSERT_PTR_NULL(dns_cache_find(c, DNS_KIND_MX, 0, "nodata.test", 0));
    CU_ASSERT_PTR_NULL(dns_cache_find(c, DNS_KIND_ADDR, HERALD_FAMILY_IPV4, "nodata.test", 0));
    CU_ASSERT_PTR_NOT_NULL(dns_cache_find(c, DNS_KIND_MX, 0, "sf.test", 4999));
    CU_ASSERT_PTR_NULL(dns_cache_find(c, DNS_KIND_MX, 0, "sf.test", 5000));
    dns_answer_free(&nx);
    dns_answer_free(&nd);
    dns_answer_free(&sf);
    dns_answer_free(&cancel);
    dns_cache_free(&c);
}

/* test_eviction - at the bound the least recently used answer goes */
static void
test_eviction(void)
{
    struct dns_cache *c = dns_cache_new(3);
    struct dns_answer *a = mx_answer("mx.test", 10, 300);

    dns_cache_put(c, DNS_KIND_MX, 0, "a.test", a, 300, 0);
    dns_cache_put(c, DNS_KIND_MX, 0, "b.test", a, 300, 0);
    dns_cache_put(c, DNS_KIND_MX, 0, "c.test", a, 300, 0);
    CU_ASSERT_EQUAL(dns_cache_count(c), 3);
    CU_ASSERT_PTR_NOT_NULL(dns_cache_find(c, DNS_KIND_MX, 0, "a.test", 1));   /* used: recent */
    dns_cache_put(c, DNS_KIND_MX, 0, "d.test", a, 300, 2);
    CU_ASSERT_EQUAL(dns_cache_count(c), 3);
    CU_ASSERT_EQUAL(dns_cache_evictions(c), 1);
    CU_ASSERT_PTR_NULL(dns_cache_find(c, DNS_KIND_MX, 0, "b.test", 3));       /* the LRU one */
    CU_ASSERT_PTR_NOT_NULL(dns_cache_find(c, DNS_KIND_MX, 0, "a.test", 3));
    CU_ASSERT_PTR_NOT_NULL(dns_cache_find(c, DNS_KIND_MX, 0, "c.test", 3));
    CU_ASSERT_PTR_NOT_NULL(dns_cache_find(c, DNS_KIND_MX, 0, "d.test", 3));
    /* replacing an entry does not evict another */
    dns_cache_put(c, DNS_KIND_MX, 0, "c.test", a, 600, 4);
    CU_ASSERT_EQUAL(dns_cache_count(c), 3);
    CU_ASSERT_EQUAL(dns_cache_evictions(c), 1);
    dns_answer_free(&a);
    dns_cache_free(&c);
}

/* test_case - names compare without case (RFC 4343) */
static void
test_case(void)
{
    struct dns_cache *c = dns_cache_new(10);
    struct dns_answer *a = mx_answer("MX.Example.TEST", 5, 300), *got;
    struct dns_cache_entry *e;

    dns_cache_put(c, DNS_KIND_MX, 0, "Example.TEST", a, 300, 0);
    e = dns_cache_find(c, DNS_KIND_MX, 0, "example.test", 0);
    CU_ASSERT_PTR_NOT_NULL_FATAL(e);
    got = dns_cache_answer(e, 0);
    CU_ASSERT_STRING_EQUAL(got->mx[0].host, "MX.Example.TEST");   /* records as given */
    dns_answer_free(&got);
    CU_ASSERT_PTR_NOT_NULL(dns_cache_find(c, DNS_KIND_MX, 0, "EXAMPLE.test", 0));
    CU_ASSERT_PTR_NULL(dns_cache_find(c, DNS_KIND_MX, 0, "example.tes", 0));
    dns_answer_free(&a);
    dns_cache_free(&c);
}

/* test_pending - a lookup in flight is found by the next asker, then settles */
static void
test_pending(void)
{
    struct dns_cache *c = dns_cache_new(2);
    struct dns_answer *a = mx_answer("mx.p.test", 10, 300), *got;
    int flight, other;
    struct dns_cache_entry *e, *f;

    e = dns_cache_begin(c, DNS_KIND_MX, 0, "p.test", &flight, 0);
    CU_ASSERT_PTR_NOT_NULL_FATAL(e);
    f = dns_cache_find(c, DNS_KIND_MX, 0, "P.TEST", 1000000);   /* pending never expires */
    CU_ASSERT_PTR_EQUAL(f, e);
    CU_ASSERT_PTR_EQUAL(dns_cache_flight(f), &flight);
    CU_ASSERT_PTR_NULL(dns_cache_answer(f, 0));
    CU_ASSERT_EQUAL(dns_cache_count(c), 0);   /* pending entries are not answers */
    /* a full cache never evicts a pending entry */
    dns_cache_put(c, DNS_KIND_MX, 0, "x.test", a, 300, 0);
    dns_cache_put(c, DNS_KIND_MX, 0, "y.test", a, 300, 0);
    dns_cache_put(c, DNS_KIND_MX, 0, "z.test", a, 300, 0);
    CU_ASSERT_PTR_EQUAL(dns_cache_flight(dns_cache_find(c, DNS_KIND_MX, 0, "p.test", 0)),
                        &flight);
    dns_cache_settle(c, e, a, 300, 10);
    e = dns_cache_find(c, DNS_KIND_MX, 0, "p.test", 10);
    CU_ASSERT_PTR_NOT_NULL_FATAL(e);
    CU_ASSERT_PTR_NULL(dns_cache_flight(e));
    got = dns_cache_answer(e, 10);
    CU_ASSERT_STRING_EQUAL(got->mx[0].host, "mx.p.test");
    dns_answer_free(&got);
    CU_ASSERT_EQUAL(dns_cache_count(c), 2);
    /* settled with lifetime 0: gone, the next asker starts a lookup */
    e = dns_cache_begin(c, DNS_KIND_MX, 0, "q.test", &other, 0);
    dns_cache_settle(c, e, a, 0, 0);
    CU_ASSERT_PTR_NULL(dns_cache_find(c, DNS_KIND_MX, 0, "q.test", 0));
    dns_answer_free(&a);
    dns_cache_free(&c);
}

/* test_addresses - address answers keep both families through packing */
static void
test_addresses(void)
{
    struct dns_cache *c = dns_cache_new(10);
    struct dns_answer *a = dns_answer_new(), *got;
    struct sockaddr_in *s4;
    struct sockaddr_in6 *s6;

    a->dns_class = HERALD_DNS_OK;
    a->ttl = 60;
    a->count = 2;
    a->addr = calloc(2, sizeof *a->addr);
    s4 = (struct sockaddr_in *)&a->addr[0].sa;
    s4->sin_family = AF_INET;
    inet_pton(AF_INET, "127.0.0.2", &s4->sin_addr);
    a->addr[0].len = sizeof *s4;
    s6 = (struct sockaddr_in6 *)&a->addr[1].sa;
    s6->sin6_family = AF_INET6;
    inet_pton(AF_INET6, "::1", &s6->sin6_addr);
    a->addr[1].len = sizeof *s6;
    dns_cache_put(c, DNS_KIND_ADDR, HERALD_FAMILY_ANY, "h.test", a, 60, 0);
    got = dns_cache_answer(dns_cache_find(c, DNS_KIND_ADDR, HERALD_FAMILY_ANY, "h.test", 0), 0);
    CU_ASSERT_PTR_NOT_NULL_FATAL(got);
    CU_ASSERT_EQUAL(got->count, 2);
    CU_ASSERT_STRING_EQUAL(got->addr[0].text, "127.0.0.2");
    CU_ASSERT_EQUAL(got->addr[0].len, sizeof(struct sockaddr_in));
    CU_ASSERT_STRING_EQUAL(got->addr[1].text, "::1");
    CU_ASSERT_EQUAL(((struct sockaddr *)&got->addr[1].sa)->sa_family, AF_INET6);
    dns_answer_free(&got);
    dns_answer_free(&a);
    /* a null MX survives too */
    a = mx_answer("", 0, 60);
    dns_cache_put(c, DNS_KIND_MX, 0, "nullmx.test", a, 60, 0);
    got = dns_cache_answer(dns_cache_find(c, DNS_KIND_MX, 0, "nullmx.test", 0), 0);
    CU_ASSERT_PTR_NOT_NULL_FATAL(got);
    CU_ASSERT_EQUAL(got->count, 1);
    CU_ASSERT_STRING_EQUAL(got->mx[0].host, "");
    dns_answer_free(&got);
    dns_answer_free(&a);
    dns_cache_free(&c);
}

/* test_address_text - the resolver's text of an address is inet_ntop's, for
 * every width of an octet and both families */
static void
test_address_text(void)
{
    static const char *const cases[] = {
        "0.0.0.0", "127.0.0.1", "255.255.255.255", "9.10.99.100", "192.168.1.254",
        "10.0.100.9", "1.23.45.200", "::1", "2001:db8::a:b", "::ffff:127.0.0.1",
    };
    size_t i;

    for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        unsigned char raw[16];
        char want[INET6_ADDRSTRLEN];
        struct herald_address a;
        int af = strchr(cases[i], ':') != NULL ? AF_INET6 : AF_INET;

        CU_ASSERT_EQUAL_FATAL(inet_pton(af, cases[i], raw), 1);
        CU_ASSERT_PTR_NOT_NULL_FATAL(inet_ntop(af, raw, want, sizeof want));
        memset(&a, 0x55, sizeof a);
        dns_address_make(&a, af, raw);
        CU_ASSERT_STRING_EQUAL(a.text, want);
        CU_ASSERT_EQUAL(((struct sockaddr *)&a.sa)->sa_family, af);
        CU_ASSERT_EQUAL(a.len, af == AF_INET ? sizeof(struct sockaddr_in)
                                             : sizeof(struct sockaddr_in6));
    }
}

/* test_many - 100,000 names: every one found, the bound holds */
static void
test_many(void)
{
    struct dns_cache *c = dns_cache_new(100000);
    struct dns_answer *a = mx_answer("mx.sink.test", 10, 300);
    char name[64];
    size_t i, found = 0;

    for (i = 0; i < 100000; i++) {
        snprintf(name, sizeof name, "d%zu.test", i);
        dns_cache_put(c, DNS_KIND_MX, 0, name, a, 300, 0);
    }
    for (i = 0; i < 100000; i++) {
        snprintf(name, sizeof name, "D%zu.TEST", i);
        found += dns_cache_find(c, DNS_KIND_MX, 0, name, 1) != NULL;
    }
    CU_ASSERT_EQUAL(found, 100000);
    snprintf(name, sizeof name, "one-more.test");
    dns_cache_put(c, DNS_KIND_MX, 0, name, a, 300, 0);
    CU_ASSERT_EQUAL(dns_cache_count(c), 100000);
    CU_ASSERT_EQUAL(dns_cache_evictions(c), 1);
    CU_ASSERT_PTR_NULL(dns_cache_find(c, DNS_KIND_MX, 0, "d0.test", 2));   /* least recent */
    dns_answer_free(&a);
    dns_cache_free(&c);
}

int
main(void)
{
    static const struct test_case cases[] = {
        { "TTL expiry and clamp", test_ttl_expiry },
        { "negative answers, hold-down", test_negative },
        { "LRU eviction at the bound", test_eviction },
        { "names without case", test_case },
        { "lookups in flight are joined", test_pending },
        { "addresses and null MX", test_addresses },
        { "address text as inet_ntop's", test_address_text },
        { "100,000 names", test_many },
        { NULL, NULL },
    };

    return test_run_suite("dns-cache", NULL, NULL, cases);
}
