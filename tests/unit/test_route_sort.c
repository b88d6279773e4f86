/*
 * test_route_sort.c - the pure planning steps of the route strategies
 *
 * Covers core/mx_order.c (classification, sort and shuffle, filter,
 * address order) and core/host.c (host names, entry parsing), one small
 * case per behaviour, as Postfix's dns_rr_test.c does.
 */
#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>

#include <CUnit/Basic.h>

#include <herald/host.h>
#include "mx_order.h"
#include "test_main.h"

/* test_classify - every DNS class and the null MX shapes */
static void
test_classify(void)
{
    struct herald_mx null_mx[] = { { 0, "", false } };
    struct herald_mx mixed[] = { { 0, "", false }, { 10, "mx.test", false } };
    struct herald_mx one[] = { { 10, "mx.test", false } };
    enum herald_result r;
    const char *dsn;

    CU_ASSERT_EQUAL(mx_classify(HERALD_DNS_OK, one, 1), MX_USE);
    CU_ASSERT_EQUAL(mx_classify(HERALD_DNS_OK, null_mx, 1), MX_NULL);
    CU_ASSERT_EQUAL(mx_classify(HERALD_DNS_OK, mixed, 2), MX_USE);
    CU_ASSERT_EQUAL(mx_classify(HERALD_DNS_OK, NULL, 0), MX_IMPLICIT);
    CU_ASSERT_EQUAL(mx_classify(HERALD_DNS_NODATA, NULL, 0), MX_IMPLICIT);
    CU_ASSERT_EQUAL(mx_classify(HERALD_DNS_NXDOMAIN, NULL, 0), MX_NXDOMAIN);
    CU_ASSERT_EQUAL(mx_classify(HERALD_DNS_TEMPFAIL, NULL, 0), MX_TEMPFAIL);
    CU_ASSERT_EQUAL(mx_classify(HERALD_DNS_BADNAME, NULL, 0), MX_BADNAME);
    CU_ASSERT_EQUAL(mx_classify(HERALD_DNS_CANCELLED, NULL, 0), MX_CANCELLED);
    /* An unknown class is never permanent. */
    CU_ASSERT_EQUAL(mx_classify((enum herald_dns_class)42, NULL, 0), MX_TEMPFAIL);

    CU_ASSERT_TRUE(mx_verdict_outcome(MX_NULL, &r, &dsn));
    CU_ASSERT_EQUAL(r, HERALD_RESULT_FAILED);
    CU_ASSERT_STRING_EQUAL(dsn, "5.1.0");
    CU_ASSERT_TRUE(mx_verdict_outcome(MX_NXDOMAIN, &r, &dsn));
    CU_ASSERT_EQUAL(r, HERALD_RESULT_FAILED);
    CU_ASSERT_STRING_EQUAL(dsn, "5.1.2");
    CU_ASSERT_TRUE(mx_verdict_outcome(MX_TEMPFAIL, &r, &dsn));
    CU_ASSERT_EQUAL(r, HERALD_RESULT_DEFERRED);
    CU_ASSERT_STRING_EQUAL(dsn, "4.4.3");
    r = HERALD_RESULT_DELIVERED;
    CU_ASSERT_FALSE(mx_verdict_outcome(MX_USE, &r, &dsn));
    CU_ASSERT_FALSE(mx_verdict_outcome(MX_IMPLICIT, &r, &dsn));
    CU_ASSERT_EQUAL(r, HERALD_RESULT_DELIVERED);   /* untouched */
}

/* test_sort_distinct - distinct preferences: strictly ascending, no shuffle */
static void
test_sort_distinct(void)
{
    struct mx_entry e[] = {
        { 30, "c", false, 0 }, { 10, "a", false, 0 }, { 20, "b", false, 0 }, { 5, "z", false, 0 },
    };
    struct mx_rng rng;
    int run;

    for (run = 1; run <= 20; run++) {
        mx_rng_init(&rng, (uint64_t)run);
        mx_sort(e, 4, &rng);
        CU_ASSERT_STRING_EQUAL(e[0].host, "z");
        CU_ASSERT_STRING_EQUAL(e[1].host, "a");
        CU_ASSERT_STRING_EQUAL(e[2].host, "b");
        CU_ASSERT_STRING_EQUAL(e[3].host, "c");
        CU_ASSERT_EQUAL(e[0].tied, 1);
    }
}

/* test_shuffle_only_equal - only hosts of equal preference change places,
 * every order of a tie shows up, and a seed makes the order repeatable */
static void
test_shuffle_only_equal(void)
{
    static const struct mx_entry base[] = {
        { 20, "b1", false, 0 }, { 10, "a", false, 0 }, { 20, "b2", false, 0 },
        { 20, "b3", false, 0 }, { 30, "c", false, 0 },
    };
    struct mx_entry e[5], first[5];
    bool seen[3] = { false, false, false };
    struct mx_rng rng;
    int run;
    size_t i;

    for (run = 0; run < 200; run++) {
        memcpy(e, base, sizeof e);
        mx_rng_init(&rng, (uint64_t)run + 1);
        mx_sort(e, 5, &rng);
        CU_ASSERT_STRING_EQUAL(e[0].host, "a");
        CU_ASSERT_STRING_EQUAL(e[4].host, "c");
        for (i = 1; i <= 3; i++) {
            CU_ASSERT_EQUAL(e[i].preference, 20);
            CU_ASSERT_EQUAL(e[i].tied, 3);
            CU_ASSERT_EQUAL(e[i].host[0], 'b');
        }
        /* Which host comes first among the tie. */
        seen[e[1].host[1] - '1'] = true;
    }
    CU_ASSERT_TRUE(seen[0] && seen[1] && seen[2]);

    /* Same seed, same order, every time. */
    memcpy(first, base, sizeof first);
    mx_rng_init(&rng, 12345);
    mx_sort(first, 5, &rng);
    for (run = 0; run < 20; run++) {
        memcpy(e, base, sizeof e);
        mx_rng_init(&rng, 12345);
        mx_sort(e, 5, &rng);
        for (i = 0; i < 5; i++)
            CU_ASSERT_STRING_EQUAL(e[i].host, first[i].host);
    }
}

/* test_rng_below - bounds and a rough uniformity check */
static void
test_rng_below(void)
{
    struct mx_rng rng;
    unsigned count[3] = { 0, 0, 0 };
    int i;

    mx_rng_init(&rng, 7);
    CU_ASSERT_EQUAL(mx_rng_below(&rng, 0), 0);
    CU_ASSERT_EQUAL(mx_rng_below(&rng, 1), 0);
    for (i = 0; i < 3000; i++) {
        uint64_t v = mx_rng_below(&rng, 3);

        CU_ASSERT_FATAL(v < 3);
        count[v]++;
    }
    for (i = 0; i < 3; i++)
        CU_ASSERT_TRUE(count[i] > 800 && count[i] < 1200);
    /* Seed 0 means random: two generators almost surely differ. */
    {
        struct mx_rng a, b;

        mx_rng_init(&a, 0);
        mx_rng_init(&b, 0);
        CU_ASSERT_NOT_EQUAL(mx_rng_below(&a, UINT64_MAX), mx_rng_below(&b, UINT64_MAX));
    }
}

/* test_filter - null entries, IP literals, duplicates, cap */
static void
test_filter(void)
{
    struct mx_entry e[] = {
        { 0, "", false, 0 }, { 10, "mx1.test", false, 0 }, { 10, "192.0.2.1", true, 0 },
        { 20, "MX1.test", false, 0 }, { 30, "mx2.test", false, 0 }, { 40, "mx3.test", false, 0 },
    };
    struct mx_entry copy[6];
    enum mx_drop why[6];
    size_t n;

    memcpy(copy, e, sizeof e);
    n = mx_filter(copy, 6, false, 2, why);
    CU_ASSERT_EQUAL(n, 2);
    CU_ASSERT_STRING_EQUAL(copy[0].host, "mx1.test");
    CU_ASSERT_STRING_EQUAL(copy[1].host, "mx2.test");
    CU_ASSERT_EQUAL(why[0], MX_DROP_NULL);
    CU_ASSERT_EQUAL(why[1], MX_KEEP);
    CU_ASSERT_EQUAL(why[2], MX_DROP_IP_LITERAL);
    CU_ASSERT_EQUAL(why[3], MX_DROP_DUPLICATE);
    CU_ASSERT_EQUAL(why[4], MX_KEEP);
    CU_ASSERT_EQUAL(why[5], MX_DROP_CAP);

    memcpy(copy, e, sizeof e);
    n = mx_filter(copy, 6, true, 10, NULL);
    CU_ASSERT_EQUAL(n, 4);
    CU_ASSERT_STRING_EQUAL(copy[1].host, "192.0.2.1");
    CU_ASSERT_PTR_NOT_NULL(strstr(mx_drop_text(MX_DROP_IP_LITERAL), "allow_ip_mx"));
}

/* make_addr - a herald_address from text */
static struct herald_address
make_addr(const char *text)
{
    struct herald_address a;

    memset(&a, 0, sizeof a);
    if (strchr(text, ':') != NULL) {
        struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&a.sa;

        s6->sin6_family = AF_INET6;
        inet_pton(AF_INET6, text, &s6->sin6_addr);
        a.len = sizeof *s6;
    } else {
        struct sockaddr_in *s4 = (struct sockaddr_in *)&a.sa;

        s4->sin_family = AF_INET;
        inet_pton(AF_INET, text, &s4->sin_addr);
        a.len = sizeof *s4;
    }
    snprintf(a.text, sizeof a.text, "%s", text);
    return a;
}

/* order_of - run mx_addr_order on a fixed list, return "a,b,c" */
static const char *
order_of(enum herald_mx_family fam, size_t max)
{
    static char out[200];
    struct herald_address a[5];
    size_t n, i;

    a[0] = make_addr("127.0.0.2");
    a[1] = make_addr("::1");
    a[2] = make_addr("127.0.0.3");
    a[3] = make_addr("::2");
    a[4] = make_addr("127.0.0.2");   /* duplicate */
    n = mx_addr_order(a, 5, fam, max);
    out[0] = '\0';
    for (i = 0; i < n; i++) {
        strcat(out, i ? "," : "");
        strcat(out, a[i].text);
    }
    return out;
}

/* test_addr_order - family filter, preference, dedupe, cap */
static void
test_addr_order(void)
{
    CU_ASSERT_STRING_EQUAL(order_of(HERALD_MX_FAMILY_ANY, 5), "127.0.0.2,::1,127.0.0.3,::2");
    CU_ASSERT_STRING_EQUAL(order_of(HERALD_MX_FAMILY_IPV4, 5), "127.0.0.2,127.0.0.3");
    CU_ASSERT_STRING_EQUAL(order_of(HERALD_MX_FAMILY_IPV6, 5), "::1,::2");
    CU_ASSERT_STRING_EQUAL(order_of(HERALD_MX_FAMILY_PREFER_IPV4, 5), "127.0.0.2,127.0.0.3,::1,::2");
    CU_ASSERT_STRING_EQUAL(order_of(HERALD_MX_FAMILY_PREFER_IPV6, 5), "::1,::2,127.0.0.2,127.0.0.3");
    CU_ASSERT_STRING_EQUAL(order_of(HERALD_MX_FAMILY_PREFER_IPV6, 3), "::1,::2,127.0.0.2");
    CU_ASSERT_STRING_EQUAL(order_of(HERALD_MX_FAMILY_ANY, 1), "127.0.0.2");
    CU_ASSERT_EQUAL(mx_family_query(HERALD_MX_FAMILY_IPV4), HERALD_FAMILY_IPV4);
    CU_ASSERT_EQUAL(mx_family_query(HERALD_MX_FAMILY_IPV6), HERALD_FAMILY_IPV6);
    CU_ASSERT_EQUAL(mx_family_query(HERALD_MX_FAMILY_PREFER_IPV4), HERALD_FAMILY_ANY);
}

/* test_smarthost_parse - every accepted form and the refusals */
static void
test_smarthost_parse(void)
{
    static const struct { const char *in; const char *host; unsigned port; bool lit; } good[] = {
        { "relay.test", "relay.test", 25, false },
        { "relay.test:2525", "relay.test", 2525, false },
        { "127.0.0.1", "127.0.0.1", 25, true },
        { "127.0.0.1:587", "127.0.0.1", 587, true },
        { "[::1]:2525", "::1", 2525, true },
        { "[::1]", "::1", 25, true },
        { "[127.0.0.2]:26", "127.0.0.2", 26, true },
        { "::1", "::1", 25, true },
        { "a-b.c1.test:65535", "a-b.c1.test", 65535, false },
        { "x:1", "x", 1, false },
    };
    static const char *const bad[] = {
        "", "relay.test:", "relay.test:0", "relay.test:65536", "relay.test:25x",
        "relay.test:-1", "[::1", "[::1]x", "[relay.test]:25", "[]:25", "-relay.test",
        "relay-.test", "relay..test", "relay.test.", "rel ay.test", "relay.test\r\nRCPT",
        "relay_x.test", "1::2::3", "relay.test:2525:1", "relay.test:99999999999",
    };
    struct herald_hostport sh;
    char why[128];
    size_t i;

    for (i = 0; i < sizeof good / sizeof good[0]; i++) {
        memset(&sh, 0, sizeof sh);
        CU_ASSERT_EQUAL_FATAL(herald_hostport_parse(good[i].in, 25, &sh, why, sizeof why), HERALD_OK);
        CU_ASSERT_STRING_EQUAL(sh.host, good[i].host);
        CU_ASSERT_EQUAL(sh.port, good[i].port);
        CU_ASSERT_EQUAL(sh.is_ip_literal, good[i].lit);
    }
    for (i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        strcpy(sh.host, "untouched");
        why[0] = '\0';
        if (herald_hostport_parse(bad[i], 25, &sh, why, sizeof why) != HERALD_E_CONFIG)
            fprintf(stderr, "accepted bad entry %zu\n", i);
        CU_ASSERT_EQUAL(herald_hostport_parse(bad[i], 25, &sh, why, sizeof why), HERALD_E_CONFIG);
        CU_ASSERT_STRING_EQUAL(sh.host, "untouched");
        CU_ASSERT_NOT_EQUAL(why[0], '\0');
    }
    /* A 254-octet name is too long; 63-octet labels are fine, 64 not. */
    {
        char name[300];

        memset(name, 'a', 63);
        strcpy(name + 63, ".test");
        CU_ASSERT_PTR_NULL(herald_host_name_check(name, false));
        memset(name, 'a', 64);
        strcpy(name + 64, ".test");
        CU_ASSERT_PTR_NOT_NULL(herald_host_name_check(name, false));
        for (i = 0; i < 127; i++)
            memcpy(name + 2 * i, "a.", 2);
        name[253] = 'a';
        name[254] = '\0';
        CU_ASSERT_PTR_NOT_NULL(herald_host_name_check(name, false));
        name[253] = '\0';
        name[252] = 'a';
        CU_ASSERT_PTR_NULL(herald_host_name_check(name, false));
    }
}

/* test_ip_literal - the one IP-literal test: bare or in brackets, both families */
static void
test_ip_literal(void)
{
    static const struct {
        const char *host;
        bool literal;
    } cases[] = {
        { "127.0.0.1", true }, { "[127.0.0.1]", true }, { "::1", true }, { "[::1]", true },
        { "2001:db8::25", true }, { "[2001:db8::25]", true }, { "::ffff:10.0.0.1", true },
        { "mx.example", false }, { "", false }, { "[]", false }, { "[mx.example]", false },
        { "127.0.0.1]", false }, { "[127.0.0.1", false }, { "127.0.0.256", false },
        { "127.1", false }, { "[[::1]]", false }, { "::1%lo", false },
    };
    size_t i;

    for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        if (herald_host_is_ip_literal(cases[i].host) != cases[i].literal)
            fprintf(stderr, "herald_host_is_ip_literal(\"%s\") is wrong\n", cases[i].host);
        CU_ASSERT_EQUAL(herald_host_is_ip_literal(cases[i].host), cases[i].literal);
    }
    CU_ASSERT_FALSE(herald_host_is_ip_literal(NULL));
}

/* test_host_name_rule - the one rule: trailing dot only where asked, and
 * locale-independent (octets above 0x7f are never letters) */
static void
test_host_name_rule(void)
{
    CU_ASSERT_PTR_NULL(herald_host_name_check("mx.example.", true));
    CU_ASSERT_PTR_NOT_NULL(herald_host_name_check("mx.example.", false));
    CU_ASSERT_PTR_NOT_NULL(herald_host_name_check(".", true));
    CU_ASSERT_PTR_NOT_NULL(herald_host_name_check("mx..example.", true));
    CU_ASSERT_PTR_NOT_NULL(herald_host_name_check("caf\xe9.example", false));
    CU_ASSERT_PTR_NOT_NULL(herald_host_name_check("", true));
    CU_ASSERT_PTR_NOT_NULL(herald_host_name_check(NULL, true));
    /* The DNS layer and the message layer use the same rule. */
    CU_ASSERT_TRUE(herald_dns_valid_hostname("mx.example."));
    CU_ASSERT_FALSE(herald_dns_valid_hostname("caf\xe9.example"));
}

/* test_smarthost_check_list - load-time check names the bad entry */
static void
test_smarthost_check_list(void)
{
    const char *items[] = { "relay.test:2525", "bad host" };
    struct herald_strlist one = { 1, items }, two = { 2, items }, none = { 0, NULL };
    struct herald_diag diag;

    memset(&diag, 0, sizeof diag);
    CU_ASSERT_EQUAL(herald_hostport_check_list(&one, "smarthost", &diag), HERALD_OK);
    CU_ASSERT_EQUAL(herald_hostport_check_list(&two, "smarthost", &diag), HERALD_E_CONFIG);
    CU_ASSERT_PTR_NOT_NULL(strstr(diag.text, "entry 2"));
    CU_ASSERT_EQUAL(herald_hostport_check_list(&none, "smarthost", &diag), HERALD_E_CONFIG);
    CU_ASSERT_PTR_NOT_NULL(strstr(diag.text, "at least one"));
}

int
main(void)
{
    static const struct test_case cases[] = {
        { "classify", test_classify },
        { "sort distinct preferences", test_sort_distinct },
        { "shuffle only equal preferences", test_shuffle_only_equal },
        { "rng bounds", test_rng_below },
        { "filter", test_filter },
        { "address order", test_addr_order },
        { "smarthost parse", test_smarthost_parse },
        { "smarthost check list", test_smarthost_check_list },
        { "host name rule", test_host_name_rule },
        { "IP literals", test_ip_literal },
        { NULL, NULL },
    };

    return test_run_suite("route_sort", NULL, NULL, cases);
}
