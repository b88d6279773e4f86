/*
 * test_plan_share.c - core/plan_share.c: kept plans at the dns.cache_entries bound
 *
 * A real dnsmasq on 127.0.3.1 (port from our PID) holds 40 domains, each
 * MX 10 mx.share.test (TTL 300); the strategy is the MX walk itself.  With
 * dns.cache_entries = 16, every domain is planned once, in turn, and every
 * plan is held: a plan asked for again comes back as the very plan held when
 * the table kept it, and as a new one when it was dropped.  The bound must
 * drop the least recently used plan for the new one; before, the table
 * stopped keeping plans once it was full, so a long-running process no
 * longer shared any.
 */
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <CUnit/Basic.h>
#include <herald/loop.h>
#include <herald/module.h>
#include <herald/route.h>
#include "dns.h"
#include "env.h"
#include "plan_share.h"
#include "test_main.h"
#include "test_servers.h"

#define IP "127.0.3.1"
#define DOMAINS 40
#define BOUND 16

static struct test_server dnsmasq;
static uint16_t port;
static char server[32];

static herald_status
walk_plan(const void *options, struct herald_route_request *req)
{
    (void)options;
    return herald_route_mx(req, NULL);
}

static const struct herald_route_ops walk_ops = {
    .struct_size = sizeof(struct herald_route_ops), .plan = walk_plan,
};
static const struct herald_module walk_module = {
    HERALD_MODULE_HEADER(HERALD_KIND_ROUTE), .name = "walk", .summary = "test",
    .options = NULL, .options_size = 0, .options_defaults = NULL, .check = NULL, .ops = &walk_ops,
};

static int
suite_init(void)
{
    const char *bin = getenv("DNSMASQ");
    char *argv[16 + DOMAINS], portarg[32], names[DOMAINS][64];
    int n = 0, i;

    port = (uint16_t)(30000 + getpid() % 30000);
    snprintf(portarg, sizeof portarg, "--port=%u", (unsigned)port);
    snprintf(server, sizeof server, "%s:%u", IP, (unsigned)port);
    argv[n++] = (char *)(bin != NULL && *bin ? bin : "/usr/sbin/dnsmasq");
    argv[n++] = "-k";
    argv[n++] = "--conf-file=/dev/null";
    argv[n++] = "--no-resolv";
    argv[n++] = "--no-hosts";
    argv[n++] = "--pid-file=";
    argv[n++] = "--bind-interfaces";
    argv[n++] = "--listen-address=" IP;
    argv[n++] = portarg;
    argv[n++] = "--local=/test/";
    argv[n++] = "--local-ttl=300";
    argv[n++] = "--host-record=mx.share.test,127.0.0.9";
    for (i = 0; i < DOMAINS; i++) {
        snprintf(names[i], sizeof names[i], "--mx-host=d%d.share.test,mx.share.test,10", i);
        argv[n++] = names[i];
    }
    argv[n] = NULL;
    return test_server_start(&dnsmasq, argv, IP, port, 1, 10000) ? 0 : -1;
}

static int
suite_clean(void)
{
    test_server_stop(&dnsmasq);
    return 0;
}

struct got {
    struct herald_route_plan *plan;
    bool done;
};

static void
on_plan(void *arg, struct herald_route_plan *plan)
{
    struct got *g = arg;

    g->plan = plan;
    g->done = true;
}

static bool
got_done(void *arg)
{
    return ((const struct got *)arg)->done;
}

/* plan - the plan for domain d<i>, waited for on the loop */
static struct herald_route_plan *
plan(struct herald_env *env, const struct herald_module_ref *ref, int i)
{
    struct got g = { NULL, false };
    char domain[64];

    snprintf(domain, sizeof domain, "d%d.share.test", i);
    CU_ASSERT_EQUAL_FATAL(herald_route_start(ref, env, NULL, domain, on_plan, &g), HERALD_OK);
    CU_ASSERT_EQUAL(herald_loop_run(env->loop, got_done, &g, 10000), HERALD_OK);
    CU_ASSERT_FATAL(g.done);
    CU_ASSERT_EQUAL(herald_plan_error(g.plan, NULL, NULL, NULL), HERALD_OK);
    return g.plan;
}

static void
test_bound(void)
{
    const char *items[] = { server };
    struct herald_strlist servers = { 1, items };
    struct herald_module_ref ref = { &walk_module, NULL };
    struct herald_route_plan *held[DOMAINS], *again;
    struct herald_env env;
    struct plan_share_counts n;
    size_t cached, evicted;
    int i;

    memset(&env, 0, sizeof env);
    CU_ASSERT_EQUAL_FATAL(herald_loop_new(&env.loop), HERALD_OK);
    env.dns_servers = &servers;
    env.dns_cache_entries = BOUND;
    env.dns_timeout_ms = 2000;
    again = plan(&env, &ref, 0);   /* starts the resolver: nothing is kept before */
    herald_plan_free(&again);
    for (i = 0; i < DOMAINS; i++)
        held[i] = plan(&env, &ref, i);
    CU_ASSERT_EQUAL(herald_plan_hop(held[DOMAINS - 1], 0)->addresses[0].len,
                    sizeof(struct sockaddr_in));
    /* Every one of the DOMAINS plans was kept, the table holds BOUND: the rest were evicted. */
    plan_share_counts(&env, &n);
    CU_ASSERT_EQUAL(n.kept, BOUND);
    CU_ASSERT_EQUAL(n.evictions, DOMAINS - BOUND);
    CU_ASSERT_EQUAL(n.taken, 0);
    CU_ASSERT_EQUAL(n.joined, 0);
    /* The answers are bounded the same way: 40 MX answers and one address went through 16. */
    dns_env_counts(&env, &cached, &evicted);
    CU_ASSERT_EQUAL(cached, BOUND);
    CU_ASSERT_EQUAL(cached + evicted, DOMAINS + 1);

    /* The last plan made is kept although far more than BOUND were. */
    again = plan(&env, &ref, DOMAINS - 1);
    CU_ASSERT_PTR_EQUAL(again, held[DOMAINS - 1]);
    herald_plan_free(&again);
    /* So is every one of the BOUND most recent ones... */
    again = plan(&env, &ref, DOMAINS - BOUND);
    CU_ASSERT_PTR_EQUAL(again, held[DOMAINS - BOUND]);
    herald_plan_free(&again);
    /* ...and not an older one: its plan is made again. */
    again = plan(&env, &ref, DOMAINS - BOUND - 1);
    CU_ASSERT_PTR_NOT_EQUAL(again, held[DOMAINS - BOUND - 1]);
    CU_ASSERT_STRING_EQUAL(herald_plan_hop(again, 0)->host, "mx.share.test");
    herald_plan_free(&again);
    again = plan(&env, &ref, 0);
    CU_ASSERT_PTR_NOT_EQUAL(again, held[0]);
    herald_plan_free(&again);
    plan_share_counts(&env, &n);
    CU_ASSERT_EQUAL(n.kept, BOUND);
    CU_ASSERT_EQUAL(n.evictions, DOMAINS - BOUND + 2);   /* the two made again */
    CU_ASSERT_EQUAL(n.taken, 2);

    /* A plan its holders let go of is unpacked from the table: the same plan. */
    herald_plan_free(&held[DOMAINS - 2]);
    again = plan(&env, &ref, DOMAINS - 2);
    CU_ASSERT_STRING_EQUAL(herald_plan_domain(again), "d38.share.test");
    CU_ASSERT_EQUAL(herald_plan_hop_count(again), 1);
    CU_ASSERT_STRING_EQUAL(herald_plan_hop(again, 0)->addresses[0].text, "127.0.0.9");
    held[DOMAINS - 2] = plan(&env, &ref, DOMAINS - 2);
    CU_ASSERT_PTR_EQUAL(again, held[DOMAINS - 2]);   /* shared while one holds it */
    herald_plan_free(&again);
    plan_share_counts(&env, &n);
    CU_ASSERT_EQUAL(n.taken, 4);
    CU_ASSERT_EQUAL(n.evictions, DOMAINS - BOUND + 2);

    plan_share_close(&env);
    dns_env_close(&env);
    for (i = 0; i < DOMAINS; i++)   /* plans outlive the table */
        herald_plan_free(&held[i]);
    route_env_close(&env);
    herald_loop_free(&env.loop);
}

int
main(void)
{
    static const struct test_case cases[] = {
        { "kept plans at the bound: the least recently used goes", test_bound },
        { NULL, NULL },
    };

    return test_run_suite("plan_share", suite_init, suite_clean, cases);
}
