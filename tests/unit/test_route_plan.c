/*
 * test_route_plan.c - core/route.c: route requests and plans
 *
 * A fake strategy, linked in, drives the request API; the plan must come
 * from the loop (never from inside herald_route_start), exactly once, with
 * copies of everything, and every misuse must be refused.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>

#include <CUnit/Basic.h>
#include <herald/loop.h>
#include <herald/module.h>
#include <herald/route.h>
#include "dns.h"
#include "env.h"
#include "route_plan.h"
#include "test_main.h"

/* What the fake strategy does in plan(). */
enum fake_mode {
    FAKE_TWO_HOPS, FAKE_NO_HOP, FAKE_FAIL, FAKE_ERROR, FAKE_TWICE, FAKE_MISUSE, FAKE_PACK
};

struct fake_opts {
    enum fake_mode mode;
};

static struct herald_route_request *saved_req;

static herald_status
fake_plan(const void *options, struct herald_route_request *req)
{
    const struct fake_opts *o = options;
    struct herald_address a;
    char host[32];
    size_t hop, i;

    saved_req = req;
    memset(&a, 0, sizeof a);
    a.sa.ss_family = AF_INET;
    a.len = sizeof(struct sockaddr_in);
    switch (o->mode) {
    case FAKE_TWO_HOPS:
        strcpy(host, "mx1.test");
        CU_ASSERT_EQUAL(herald_route_add_hop(req, host, 25, 10, "mx", &hop), HERALD_OK);
        host[0] = 'X';   /* the plan holds a copy */
        CU_ASSERT_EQUAL(hop, 0);
        strcpy(a.text, "127.0.0.2");
        CU_ASSERT_EQUAL(herald_route_add_address(req, 0, &a), HERALD_OK);
        CU_ASSERT_EQUAL(herald_route_add_hop(req, "relay.test", 2525, -1, "smarthost", &hop),
                        HERALD_OK);
        CU_ASSERT_EQUAL(hop, 1);
        strcpy(a.text, "::1");
        CU_ASSERT_EQUAL(herald_route_add_address(req, 1, &a), HERALD_OK);
        strcpy(a.text, "127.0.0.3");
        CU_ASSERT_EQUAL(herald_route_add_address(req, 1, &a), HERALD_OK);
        herald_route_done(req);
        return HERALD_OK;
    case FAKE_NO_HOP:
        herald_route_done(req);
        return HERALD_OK;
    case FAKE_FAIL:
        herald_route_fail(req, HERALD_RESULT_FAILED, "5.1.2", "no such\r\ndomain");
        return HERALD_OK;
    case FAKE_ERROR:
        return HERALD_E_DNS;
    case FAKE_TWICE:
        herald_route_fail(req, HERALD_RESULT_DEFERRED, "4.4.3", "first");
        herald_route_fail(req, HERALD_RESULT_FAILED, "5.1.0", "second");
        herald_route_done(req);
        CU_ASSERT_EQUAL(herald_route_add_hop(req, "late.test", 25, 1, "mx", NULL),
                        HERALD_E_INVAL);
        return HERALD_E_DNS;   /* ignored: already answered */
    case FAKE_MISUSE:
        CU_ASSERT_EQUAL(herald_route_add_hop(req, "", 25, 1, "mx", NULL), HERALD_E_INVAL);
        CU_ASSERT_EQUAL(herald_route_add_hop(req, "a b", 25, 1, "mx", NULL), HERALD_E_INVAL);
        CU_ASSERT_EQUAL(herald_route_add_hop(req, "a\r\n", 25, 1, "mx", NULL), HERALD_E_INVAL);
        CU_ASSERT_EQUAL(herald_route_add_hop(req, "a.test", 0, 1, "mx", NULL), HERALD_E_INVAL);
        CU_ASSERT_EQUAL(herald_route_add_hop(req, "a.test", 25, -2, "mx", NULL), HERALD_E_INVAL);
        CU_ASSERT_EQUAL(herald_route_add_hop(req, "a.test", 25, 1, "", NULL), HERALD_E_INVAL);
        CU_ASSERT_EQUAL(herald_route_add_address(req, 0, &a), HERALD_E_INVAL);
        for (i = 0; i < 100; i++)
            CU_ASSERT_EQUAL(herald_route_add_hop(req, "many.test", 25, (int)i, "mx", NULL),
                            HERALD_OK);
        CU_ASSERT_EQUAL(herald_route_add_hop(req, "many.test", 25, 1, "mx", NULL), HERALD_E_LIMIT);
        strcpy(a.text, "127.0.0.9");
        for (i = 0; i < 64; i++)
            CU_ASSERT_EQUAL(herald_route_add_address(req, 99, &a), HERALD_OK);
        CU_ASSERT_EQUAL(herald_route_add_address(req, 99, &a), HERALD_E_LIMIT);
        CU_ASSERT_EQUAL(herald_route_add_address(req, 100, &a), HERALD_E_INVAL);
        CU_ASSERT_EQUAL(herald_route_add_address(req, 0, NULL), HERALD_E_INVAL);
        herald_route_done(req);
        return HERALD_OK;
    case FAKE_PACK: {
        static const unsigned char v4[4] = { 192, 0, 2, 1 };
        static const unsigned char v6[16] = { 0x20, 0x01, 0x0d, 0xb8, [15] = 1 };

        /* The resolver's form (kept as 4 and 16 octets) and two that are
         * not (a port, a scope: kept whole). */
        CU_ASSERT_EQUAL(herald_route_add_hop(req, "mx1.test", 25, 70000, "mx", &hop), HERALD_OK);
        dns_address_make(&a, AF_INET, v4);
        CU_ASSERT_EQUAL(herald_route_add_address(req, hop, &a), HERALD_OK);
        dns_address_make(&a, AF_INET6, v6);
        CU_ASSERT_EQUAL(herald_route_add_address(req, hop, &a), HERALD_OK);
        ((struct sockaddr_in6 *)&a.sa)->sin6_scope_id = 2;
        CU_ASSERT_EQUAL(herald_route_add_address(req, hop, &a), HERALD_OK);
        dns_address_make(&a, AF_INET, v4);
        ((struct sockaddr_in *)&a.sa)->sin_port = htons(587);
        CU_ASSERT_EQUAL(herald_route_add_address(req, hop, &a), HERALD_OK);
        CU_ASSERT_EQUAL(herald_route_add_hop(req, "bare.test", 2525, -1, "smarthost", &hop),
                        HERALD_OK);
        herald_route_done(req);
        return HERALD_OK;
    }
    }
    return HERALD_E_INVAL;
}

static const struct herald_route_ops fake_ops = {
    .struct_size = sizeof(struct herald_route_ops), .plan = fake_plan,
};
static const struct herald_module fake_module = {
    HERALD_MODULE_HEADER(HERALD_KIND_ROUTE), .name = "fake", .summary = "test",
    .options = NULL, .options_size = 0, .options_defaults = NULL, .check = NULL, .ops = &fake_ops,
};

struct got {
    int calls;
    struct herald_route_plan *plan;
};

static void
on_plan(void *arg, struct herald_route_plan *plan)
{
    struct got *g = arg;

    g->calls++;
    herald_plan_free(&g->plan);
    g->plan = plan;
}

/* run - start the fake strategy in mode and run the loop until it answers */
static struct got
run(enum fake_mode mode)
{
    struct herald_env env;
    struct fake_opts opts = { mode };
    struct herald_module_ref ref = { &fake_module, &opts };
    struct got g = { 0, NULL };

    memset(&env, 0, sizeof env);
    if (herald_loop_new(&env.loop) != HERALD_OK) {
        CU_FAIL("loop");
        return g;
    }
    CU_ASSERT_EQUAL(herald_route_start(&ref, &env, NULL, "Example.test", on_plan, &g), HERALD_OK);
    CU_ASSERT_EQUAL(g.calls, 0);   /* never from inside the start call */
    CU_ASSERT_EQUAL(herald_loop_run(env.loop, NULL, NULL, 5000), HERALD_OK);
    CU_ASSERT_EQUAL(g.calls, 1);
    route_env_close(&env);   /* the requests the guard kept */
    herald_loop_free(&env.loop);
    return g;
}

static void
test_two_hops(void)
{
    struct got g = run(FAKE_TWO_HOPS);
    const struct herald_hop *h;

    CU_ASSERT_PTR_NOT_NULL_FATAL(g.plan);
    CU_ASSERT_EQUAL(herald_plan_error(g.plan, NULL, NULL, NULL), HERALD_OK);
    CU_ASSERT_STRING_EQUAL(herald_plan_domain(g.plan), "Example.test");
    CU_ASSERT_EQUAL(herald_plan_hop_count(g.plan), 2);
    h = herald_plan_hop(g.plan, 0);
    CU_ASSERT_PTR_NOT_NULL_FATAL(h);
    CU_ASSERT_STRING_EQUAL(h->host, "mx1.test");
    CU_ASSERT_STRING_EQUAL(h->origin, "mx");
    CU_ASSERT_EQUAL(h->port, 25);
    CU_ASSERT_EQUAL(h->preference, 10);
    CU_ASSERT_EQUAL(h->address_count, 1);
    CU_ASSERT_STRING_EQUAL(h->addresses[0].text, "127.0.0.2");
    h = herald_plan_hop(g.plan, 1);
    CU_ASSERT_PTR_NOT_NULL_FATAL(h);
    CU_ASSERT_STRING_EQUAL(h->host, "relay.test");
    CU_ASSERT_EQUAL(h->preference, -1);
    CU_ASSERT_EQUAL(h->address_count, 2);
    CU_ASSERT_STRING_EQUAL(h->addresses[1].text, "127.0.0.3");
    CU_ASSERT_PTR_NULL(herald_plan_hop(g.plan, 2));
    herald_plan_free(&g.plan);
    CU_ASSERT_PTR_NULL(g.plan);
    herald_plan_free(&g.plan);   /* NULL is fine */
}

static void
test_no_hop(void)
{
    struct got g = run(FAKE_NO_HOP);
    enum herald_result r = HERALD_RESULT_DELIVERED;
    const char *dsn = NULL, *reason = NULL;

    CU_ASSERT_PTR_NOT_NULL_FATAL(g.plan);
    CU_ASSERT_NOT_EQUAL(herald_plan_error(g.plan, &r, &dsn, &reason), HERALD_OK);
    CU_ASSERT_EQUAL(r, HERALD_RESULT_DEFERRED);
    CU_ASSERT_STRING_EQUAL(dsn, "4.4.4");
    CU_ASSERT_STRING_EQUAL(reason, "no usable hop");
    CU_ASSERT_EQUAL(herald_plan_hop_count(g.plan), 0);
    herald_plan_free(&g.plan);
}

static void
test_fail(void)
{
    struct got g = run(FAKE_FAIL);
    enum herald_result r;
    const char *dsn, *reason;

    CU_ASSERT_PTR_NOT_NULL_FATAL(g.plan);
    CU_ASSERT_NOT_EQUAL(herald_plan_error(g.plan, &r, &dsn, &reason), HERALD_OK);
    CU_ASSERT_EQUAL(r, HERALD_RESULT_FAILED);
    CU_ASSERT_STRING_EQUAL(dsn, "5.1.2");
    CU_ASSERT_STRING_EQUAL(reason, "no such??domain");   /* one line, always */
    herald_plan_free(&g.plan);
}

static void
test_error_and_twice(void)
{
    struct got g = run(FAKE_ERROR);
    enum herald_result r;
    const char *dsn, *reason;

    CU_ASSERT_PTR_NOT_NULL_FATAL(g.plan);
    CU_ASSERT_NOT_EQUAL(herald_plan_error(g.plan, &r, &dsn, &reason), HERALD_OK);
    CU_ASSERT_EQUAL(r, HERALD_RESULT_DEFERRED);
    CU_ASSERT_STRING_EQUAL(dsn, "4.3.0");
    herald_plan_free(&g.plan);

    g = run(FAKE_TWICE);   /* only the first answer counts */
    CU_ASSERT_PTR_NOT_NULL_FATAL(g.plan);
    CU_ASSERT_NOT_EQUAL(herald_plan_error(g.plan, &r, &dsn, &reason), HERALD_OK);
    CU_ASSERT_EQUAL(r, HERALD_RESULT_DEFERRED);
    CU_ASSERT_STRING_EQUAL(reason, "first");
    herald_plan_free(&g.plan);
}

static void
test_misuse(void)
{
    struct got g = run(FAKE_MISUSE);
    struct herald_env env;
    struct fake_opts opts = { FAKE_NO_HOP };
    struct herald_module_ref ref = { &fake_module, &opts };
    struct herald_module wrong = fake_module;
    struct herald_module_ref wref = { &wrong, &opts };

    CU_ASSERT_EQUAL(herald_plan_hop_count(g.plan), 100);
    CU_ASSERT_EQUAL(herald_plan_hop(g.plan, 99)->address_count, 64);
    herald_plan_free(&g.plan);
    g.calls = 0;

    memset(&env, 0, sizeof env);
    CU_ASSERT_EQUAL_FATAL(herald_loop_new(&env.loop), HERALD_OK);
    CU_ASSERT_EQUAL(herald_route_start(NULL, &env, NULL, "a.test", on_plan, &g), HERALD_E_INVAL);
    CU_ASSERT_EQUAL(herald_route_start(&ref, &env, NULL, "", on_plan, &g), HERALD_E_INVAL);
    CU_ASSERT_EQUAL(herald_route_start(&ref, &env, NULL, "a\nb", on_plan, &g), HERALD_E_INVAL);
    CU_ASSERT_EQUAL(herald_route_start(&ref, &env, NULL, "a.test", NULL, &g), HERALD_E_INVAL);
    wrong.kind = HERALD_KIND_TRANSPORT;
    CU_ASSERT_EQUAL(herald_route_start(&wref, &env, NULL, "a.test", on_plan, &g),
                    HERALD_E_MODULE);
    CU_ASSERT_EQUAL(g.calls, 0);
    route_env_close(&env);   /* the requests the guard kept */
    herald_loop_free(&env.loop);
    CU_ASSERT_EQUAL(herald_plan_error(NULL, NULL, NULL, NULL), HERALD_E_INVAL);
    CU_ASSERT_EQUAL(herald_plan_hop_count(NULL), 0);
}

/* same_plan - a and b read the same through every accessor */
static void
same_plan(const struct herald_route_plan *a, const struct herald_route_plan *b)
{
    enum herald_result ra = HERALD_RESULT_DELIVERED, rb = HERALD_RESULT_DELIVERED;
    const char *da = NULL, *db = NULL, *wa = NULL, *wb = NULL;
    size_t i, j;

    CU_ASSERT_STRING_EQUAL(herald_plan_domain(a), herald_plan_domain(b));
    CU_ASSERT_EQUAL(herald_plan_error(a, &ra, &da, &wa), herald_plan_error(b, &rb, &db, &wb));
    if (da != NULL || db != NULL) {
        CU_ASSERT_EQUAL(ra, rb);
        CU_ASSERT_STRING_EQUAL(da, db);
        CU_ASSERT_STRING_EQUAL(wa, wb);
    }
    CU_ASSERT_EQUAL_FATAL(herald_plan_hop_count(a), herald_plan_hop_count(b));
    for (i = 0; i < herald_plan_hop_count(a); i++) {
        const struct herald_hop *x = herald_plan_hop(a, i), *y = herald_plan_hop(b, i);

        CU_ASSERT_STRING_EQUAL(x->host, y->host);
        CU_ASSERT_STRING_EQUAL(x->origin, y->origin);
        CU_ASSERT_EQUAL(x->port, y->port);
        CU_ASSERT_EQUAL(x->preference, y->preference);
        CU_ASSERT_EQUAL_FATAL(x->address_count, y->address_count);
        for (j = 0; j < x->address_count; j++) {
            CU_ASSERT_EQUAL_FATAL(x->addresses[j].len, y->addresses[j].len);
            CU_ASSERT_EQUAL(memcmp(&x->addresses[j].sa, &y->addresses[j].sa,
                                   x->addresses[j].len), 0);
            CU_ASSERT_STRING_EQUAL(x->addresses[j].text, y->addresses[j].text);
        }
    }
}

/* repack - the plan packed and unpacked (as plan_share.c keeps it), freed by the caller */
static struct herald_route_plan *
repack(const struct herald_route_plan *plan, size_t *size)
{
    struct herald_route_plan *u;
    unsigned char *buf;

    *size = plan_pack_size(plan);
    CU_ASSERT_FATAL(*size > 0);
    buf = malloc(*size);
    CU_ASSERT_PTR_NOT_NULL_FATAL(buf);
    plan_pack(plan, buf);
    u = plan_unpack(buf, *size, herald_plan_domain(plan));
    free(buf);
    return u;
}

static void
test_pack(void)
{
    static const enum fake_mode modes[] = { FAKE_PACK, FAKE_TWO_HOPS, FAKE_NO_HOP, FAKE_FAIL,
                                            FAKE_MISUSE };
    size_t i, size;

    for (i = 0; i < sizeof modes / sizeof modes[0]; i++) {
        struct got g = run(modes[i]);
        struct herald_route_plan *u;

        CU_ASSERT_PTR_NOT_NULL_FATAL(g.plan);
        u = repack(g.plan, &size);
        CU_ASSERT_PTR_NOT_NULL_FATAL(u);
        same_plan(g.plan, u);
        if (modes[i] == FAKE_PACK) {
            /* Addresses in the resolver's form cost their octets and a tag. */
            CU_ASSERT_EQUAL(size, 1 + (7 + sizeof "mx1.test" + sizeof "mx" + 5 + 17
                                       + 2 * (1 + sizeof(struct herald_address)))
                                    + (7 + sizeof "bare.test" + sizeof "smarthost"));
            CU_ASSERT_EQUAL(herald_plan_hop(u, 0)->preference, 70000);
            CU_ASSERT_STRING_EQUAL(herald_plan_hop(u, 0)->addresses[1].text, "2001:db8::1");
            CU_ASSERT_EQUAL(herald_plan_hop(u, 1)->address_count, 0);
        }
        herald_plan_free(&u);
        herald_plan_free(&g.plan);
    }
}

int
main(void)
{
    static const struct test_case cases[] = {
        { "two hops, copies, from the loop", test_two_hops },
        { "done without hop", test_no_hop },
        { "fail", test_fail },
        { "plan error, double answer", test_error_and_twice },
        { "misuse and limits", test_misuse },
        { "packed, unpacked: the same plan", test_pack },
        { NULL, NULL },
    };

    (void)saved_req;
    return test_run_suite("route_plan", NULL, NULL, cases);
}
