/*
 * test_queue_hold.c - the queue runner's retry-state table (core/queue_hold.c)
 * and the hop words an outcome carries for it (outcome_hop, herald_outcome_hop_*)
 *
 * Hermetic: the table reads no clock, so every time is given.  The runner
 * with real servers is tests/integration/queue_hop_hold.sh.
 */
#include <stdio.h>
#include <string.h>

#include <herald/outcome.h>
#include "outcome.h"
#include "queue_hold.h"
#include "test_main.h"

static const int A = 1, B = 2;   /* two messages: their addresses are the owners */

/* A hold, its end, one probe at a time, and what ends a probe. */
static void
test_hold_states(void)
{
    struct queue_hold *h = queue_hold_new();
    struct queue_hold_view v;

    CU_ASSERT_PTR_NOT_NULL_FATAL(h);
    CU_ASSERT_FALSE(queue_hold_any(h, 'h'));
    CU_ASSERT_EQUAL(queue_hold_check(h, "h:192.0.2.1 25", 100, &A, NULL), QUEUE_HOLD_FREE);

    queue_hold_fail(h, "h:192.0.2.1 25", "mx.example", "421 busy", 110);
    CU_ASSERT_TRUE(queue_hold_any(h, 'h'));
    CU_ASSERT_FALSE(queue_hold_any(h, 'd'));
    CU_ASSERT_EQUAL(queue_hold_check(h, "h:192.0.2.1 25", 109, &A, &v), QUEUE_HOLD_HELD);
    CU_ASSERT_STRING_EQUAL(v.label, "mx.example");
    CU_ASSERT_STRING_EQUAL(v.reason, "421 busy");
    CU_ASSERT_EQUAL(v.until, 110);
    /* Another port of the same address is another hop. */
    CU_ASSERT_EQUAL(queue_hold_check(h, "h:192.0.2.1 587", 109, &A, NULL), QUEUE_HOLD_FREE);

    /* The hold ends: one message probes, the others wait for its word. */
    CU_ASSERT_EQUAL(queue_hold_check(h, "h:192.0.2.1 25", 110, &A, NULL), QUEUE_HOLD_PROBE_DUE);
    queue_hold_probe(h, "h:192.0.2.1 25", &A);
    CU_ASSERT_EQUAL(queue_hold_check(h, "h:192.0.2.1 25", 111, &A, NULL), QUEUE_HOLD_FREE);
    CU_ASSERT_EQUAL(queue_hold_check(h, "h:192.0.2.1 25", 111, &B, NULL), QUEUE_HOLD_PROBING);
    queue_hold_probe(h, "h:192.0.2.1 25", &B);   /* taken: A keeps it */
    CU_ASSERT_EQUAL(queue_hold_check(h, "h:192.0.2.1 25", 111, &B, NULL), QUEUE_HOLD_PROBING);

    /* A's delivery never reached the hop: due again, for the next one. */
    queue_hold_probe_end(h, &A);
    CU_ASSERT_EQUAL(queue_hold_check(h, "h:192.0.2.1 25", 111, &B, NULL), QUEUE_HOLD_PROBE_DUE);

    /* B probes and it fails again: held anew, nobody probing. */
    queue_hold_probe(h, "h:192.0.2.1 25", &B);
    queue_hold_fail(h, "h:192.0.2.1 25", "mx.example", "421 still busy", 120);
    CU_ASSERT_EQUAL(queue_hold_check(h, "h:192.0.2.1 25", 115, &B, &v), QUEUE_HOLD_HELD);
    CU_ASSERT_STRING_EQUAL(v.reason, "421 still busy");
    CU_ASSERT_EQUAL(queue_hold_check(h, "h:192.0.2.1 25", 115, &A, NULL), QUEUE_HOLD_HELD);

    /* It works: forgotten. */
    CU_ASSERT_TRUE(queue_hold_ok(h, "h:192.0.2.1 25"));
    CU_ASSERT_FALSE(queue_hold_ok(h, "h:192.0.2.1 25"));
    CU_ASSERT_EQUAL(queue_hold_check(h, "h:192.0.2.1 25", 115, &A, NULL), QUEUE_HOLD_FREE);
    CU_ASSERT_FALSE(queue_hold_any(h, 'h'));
    queue_hold_free(&h);
    CU_ASSERT_PTR_NULL(h);
    queue_hold_free(&h);
}

/* Domains and hops in one table, counted apart. */
static void
test_hold_kinds(void)
{
    struct queue_hold *h = queue_hold_new();

    CU_ASSERT_PTR_NOT_NULL_FATAL(h);
    queue_hold_fail(h, "d:example.org", NULL, "450 greylisted", 50);
    CU_ASSERT_TRUE(queue_hold_any(h, 'd'));
    CU_ASSERT_FALSE(queue_hold_any(h, 'h'));
    CU_ASSERT_EQUAL(queue_hold_check(h, "d:example.org", 10, &A, NULL), QUEUE_HOLD_HELD);
    CU_ASSERT_EQUAL(queue_hold_check(h, "h:example.org", 10, &A, NULL), QUEUE_HOLD_FREE);
    CU_ASSERT_TRUE(queue_hold_ok(h, "d:example.org"));
    CU_ASSERT_FALSE(queue_hold_any(h, 'd'));
    queue_hold_free(&h);
}

/* At the bound a new key replaces the one whose hold ends first. */
static void
test_hold_bound(void)
{
    struct queue_hold *h = queue_hold_new();
    char key[64];
    size_t i, held = 0;

    CU_ASSERT_PTR_NOT_NULL_FATAL(h);
    for (i = 0; i < QUEUE_HOLD_MAX + 10; i++) {
        snprintf(key, sizeof key, "h:10.0.%zu.%zu 25", i / 256, i % 256);
        queue_hold_fail(h, key, NULL, "refused", 1000 + (int64_t)i);
    }
    for (i = 0; i < QUEUE_HOLD_MAX + 10; i++) {
        snprintf(key, sizeof key, "h:10.0.%zu.%zu 25", i / 256, i % 256);
        if (queue_hold_check(h, key, 0, &A, NULL) == QUEUE_HOLD_HELD)
            held++;
        if (i < 10)
            CU_ASSERT_EQUAL(queue_hold_check(h, key, 0, &A, NULL), QUEUE_HOLD_FREE);
    }
    CU_ASSERT_EQUAL(held, QUEUE_HOLD_MAX);
    queue_hold_free(&h);
}

/* What a device says of each hop address: one entry per address and port. */
static void
test_outcome_hops(void)
{
    const char *rcpt[] = { "a@example.org" };
    struct herald_outcome *o = NULL;
    char addr[32];
    size_t i;

    CU_ASSERT_EQUAL_FATAL(outcome_new(1, rcpt, "abc", &o), HERALD_OK);
    CU_ASSERT_EQUAL(herald_outcome_hop_count(o), 0);
    CU_ASSERT_EQUAL(outcome_hop(o, "mx1.example", 25, "192.0.2.1", true, "421 go\raway"),
                    HERALD_OK);
    CU_ASSERT_EQUAL(outcome_hop(o, "mx2.example", 25, "192.0.2.2", false, "ignored"), HERALD_OK);
    CU_ASSERT_EQUAL(herald_outcome_hop_count(o), 2);
    CU_ASSERT_STRING_EQUAL(herald_outcome_hop_host(o, 0), "mx1.example");
    CU_ASSERT_STRING_EQUAL(herald_outcome_hop_address(o, 0), "192.0.2.1");
    CU_ASSERT_EQUAL(herald_outcome_hop_port(o, 0), 25);
    CU_ASSERT_TRUE(herald_outcome_hop_failed(o, 0));
    CU_ASSERT_STRING_EQUAL(herald_outcome_hop_reply(o, 0), "421 go?away");
    CU_ASSERT_FALSE(herald_outcome_hop_failed(o, 1));
    CU_ASSERT_STRING_EQUAL(herald_outcome_hop_reply(o, 1), "");

    /* A later word on the same address and port replaces the earlier one. */
    CU_ASSERT_EQUAL(outcome_hop(o, "mx1.example", 25, "192.0.2.1", false, NULL), HERALD_OK);
    CU_ASSERT_EQUAL(herald_outcome_hop_count(o), 2);
    CU_ASSERT_FALSE(herald_outcome_hop_failed(o, 0));
    CU_ASSERT_EQUAL(outcome_hop(o, "mx1.example", 2525, "192.0.2.1", true, "timeout"), HERALD_OK);
    CU_ASSERT_EQUAL(herald_outcome_hop_count(o), 3);

    /* Out of range, missing text, and the bound. */
    CU_ASSERT_PTR_NULL(herald_outcome_hop_host(o, 3));
    CU_ASSERT_EQUAL(herald_outcome_hop_port(o, 3), 0);
    CU_ASSERT_FALSE(herald_outcome_hop_failed(NULL, 0));
    CU_ASSERT_EQUAL(herald_outcome_hop_count(NULL), 0);
    CU_ASSERT_EQUAL(outcome_hop(o, "mx.example", 25, "", true, "x"), HERALD_E_INVAL);
    CU_ASSERT_EQUAL(outcome_hop(o, NULL, 25, "192.0.2.9", true, "x"), HERALD_E_INVAL);
    for (i = herald_outcome_hop_count(o); i < HERALD_OUTCOME_HOPS_MAX; i++) {
        snprintf(addr, sizeof addr, "198.51.100.%zu", i);
        CU_ASSERT_EQUAL(outcome_hop(o, "many.example", 25, addr, true, "refused"), HERALD_OK);
    }
    CU_ASSERT_EQUAL(outcome_hop(o, "many.example", 25, "203.0.113.1", true, "refused"),
                    HERALD_E_LIMIT);
    CU_ASSERT_EQUAL(herald_outcome_hop_count(o), HERALD_OUTCOME_HOPS_MAX);
    /* A known address is still updated at the bound. */
    CU_ASSERT_EQUAL(outcome_hop(o, "mx1.example", 25, "192.0.2.1", true, "again"), HERALD_OK);
    herald_outcome_free(&o);
}

int
main(void)
{
    static const struct test_case cases[] = {
        { "hold, end, one probe", test_hold_states },
        { "domains and hops", test_hold_kinds },
        { "bounded table", test_hold_bound },
        { "outcome hop words", test_outcome_hops },
        { NULL, NULL },
    };

    return test_run_suite("queue_hold", NULL, NULL, cases);
}
