/*
 * test_smtp_dest.c - the session pool's destinations (smtp_dest.h) and the
 * descriptor budget (smtp_fdlimit.h), hermetic: no socket, no clock
 */
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <CUnit/Basic.h>

#include "smtp_dest.h"
#include "smtp_fdlimit.h"
#include "test_main.h"

static struct smtp_dests *
dests(size_t max_sessions, size_t max_per_dest, size_t initial)
{
    struct smtp_dest_limits lim = { max_sessions, max_per_dest, initial };
    struct smtp_dests *d = NULL;

    CU_ASSERT_EQUAL_FATAL(smtp_dests_new(&lim, &d), HERALD_OK);
    return d;
}

/* test_window_grows - +1/window per success up to the ceiling, as Postfix */
static void
test_window_grows(void)
{
    static const struct { size_t initial, max, successes, want; } cases[] = {
        { 5, 20, 0, 5 },
        { 5, 20, 4, 5 },      /* 5 + 4 * ~0.2: not yet 6 */
        { 5, 20, 5, 6 },      /* 5 + 1/5 * 5 = 6 */
        { 5, 20, 11, 7 },     /* 6 more at 1/6 */
        { 5, 20, 10000, 20 }, /* never past max_per_dest */
        { 1, 3, 1, 2 },
        { 30, 20, 0, 20 },    /* initial above the ceiling: the ceiling */
        { 0, 0, 0, 1 },       /* zeros become 1 */
    };
    size_t i, k;

    for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct smtp_dests *d = dests(100, cases[i].max, cases[i].initial);
        struct smtp_dest *dest = smtp_dest_get(d, "127.0.0.1 25 mx.example");
        size_t rises = 0, start = smtp_dest_limit(dest);

        CU_ASSERT_PTR_NOT_NULL_FATAL(dest);
        for (k = 0; k < cases[i].successes; k++)
            rises += smtp_dest_success(d, dest, 1000);
        CU_ASSERT_EQUAL(smtp_dest_limit(dest), cases[i].want);
        CU_ASSERT_EQUAL(rises, cases[i].want - start);   /* true exactly when it rose */
        smtp_dests_free(&d);
        CU_ASSERT_PTR_NULL(d);
    }
}

/* test_refused - a fresh refusal with others open: window to the others,
 * held there for the probe hold; a reused one changes nothing; alone: dead */
static void
test_refused(void)
{
    struct smtp_dests *d = dests(100, 20, 10);
    struct smtp_dest *dest = smtp_dest_get(d, "a");
    size_t k;

    for (k = 0; k < 8; k++)
        smtp_dest_take(d, dest);
    /* the 8th session (still counted) refused: 7 others */
    CU_ASSERT_EQUAL(smtp_dest_refused(d, dest, true, 1000), SMTP_DEST_WAIT);
    CU_ASSERT_EQUAL(smtp_dest_limit(dest), 7);
    smtp_dest_give(d, dest);
    /* a reused session refused: not a word on concurrency */
    CU_ASSERT_EQUAL(smtp_dest_refused(d, dest, false, 1100), SMTP_DEST_WAIT);
    CU_ASSERT_EQUAL(smtp_dest_limit(dest), 7);
    /* within the hold, successes do not take it past 7 */
    for (k = 0; k < 100; k++)
        CU_ASSERT_FALSE(smtp_dest_success(d, dest, 1000 + SMTP_DEST_PROBE_HOLD_MS - 1));
    CU_ASSERT_EQUAL(smtp_dest_limit(dest), 7);
    /* after it, one more after 7 successes: a probe */
    for (k = 0; k < 6; k++)
        CU_ASSERT_FALSE(smtp_dest_success(d, dest, 1000 + SMTP_DEST_PROBE_HOLD_MS));
    CU_ASSERT_TRUE(smtp_dest_success(d, dest, 1000 + SMTP_DEST_PROBE_HOLD_MS));
    CU_ASSERT_EQUAL(smtp_dest_limit(dest), 8);
    /* a fresh refusal with fewer others open than the window */
    while (smtp_dest_busy(dest) > 3)
        smtp_dest_give(d, dest);
    CU_ASSERT_EQUAL(smtp_dest_refused(d, dest, true, 5000), SMTP_DEST_WAIT);
    CU_ASSERT_EQUAL(smtp_dest_limit(dest), 2);
    /* the only session open refused: dead, the window starts over */
    while (smtp_dest_busy(dest) > 1)
        smtp_dest_give(d, dest);
    CU_ASSERT_EQUAL(smtp_dest_refused(d, dest, false, 6000), SMTP_DEST_WAIT);  /* reused */
    CU_ASSERT_EQUAL(smtp_dest_limit(dest), 2);
    CU_ASSERT_EQUAL(smtp_dest_refused(d, dest, true, 6000), SMTP_DEST_DEAD);
    CU_ASSERT_EQUAL(smtp_dest_limit(dest), 10);
    smtp_dest_give(d, dest);                  /* nothing left: freed */
    CU_ASSERT_EQUAL(smtp_dests_count(d), 0);
    CU_ASSERT_EQUAL(smtp_dests_busy(d), 0);
    smtp_dests_free(&d);
}

/* test_waiters - FIFO per destination, a refused one goes first, round
 * robin between destinations, both limits respected */
static void
test_waiters(void)
{
    struct smtp_dests *d = dests(3, 2, 2);
    struct smtp_dest *a = smtp_dest_get(d, "a"), *b = smtp_dest_get(d, "b"), *got = NULL;
    struct smtp_dest_waiter w[6];
    struct smtp_dest_waiter *order[6];
    size_t i;

    CU_ASSERT_PTR_NOT_NULL_FATAL(a);
    CU_ASSERT_PTR_NOT_NULL_FATAL(b);
    CU_ASSERT_PTR_EQUAL(smtp_dest_get(d, "a"), a);
    CU_ASSERT_EQUAL(smtp_dests_count(d), 2);
    smtp_dest_wait(d, a, &w[0], false);
    smtp_dest_wait(d, a, &w[1], false);
    smtp_dest_wait(d, a, &w[2], true);       /* refused before: first */
    smtp_dest_wait(d, b, &w[3], false);
    smtp_dest_wait(d, b, &w[4], false);
    CU_ASSERT_EQUAL(smtp_dest_waiting(a), 3);
    /* Start what the limits allow: 2 to a at most, 3 in all, taking turns. */
    for (i = 0; i < 6; i++) {
        order[i] = smtp_dests_next(d, &got);
        if (order[i] == NULL)
            break;
        smtp_dest_take(d, got);
    }
    CU_ASSERT_EQUAL(i, 3);
    CU_ASSERT_PTR_EQUAL(order[0], &w[2]);
    CU_ASSERT_PTR_EQUAL(order[1], &w[3]);
    CU_ASSERT_PTR_EQUAL(order[2], &w[0]);
    CU_ASSERT_EQUAL(smtp_dest_busy(a), 2);
    CU_ASSERT_EQUAL(smtp_dests_busy(d), 3);
    CU_ASSERT_FALSE(smtp_dest_can_start(d, b));  /* the device is full */
    smtp_dest_give(d, a);
    CU_ASSERT_TRUE(smtp_dest_can_start(d, b));
    CU_ASSERT_PTR_EQUAL(smtp_dests_next(d, &got), &w[4]);  /* b's turn */
    CU_ASSERT_PTR_EQUAL(got, b);
    smtp_dest_take(d, got);
    smtp_dest_give(d, b);
    CU_ASSERT_PTR_EQUAL(smtp_dest_unwait(d, a), &w[1]);
    CU_ASSERT_PTR_NULL(smtp_dest_unwait(d, a));
    CU_ASSERT_PTR_NULL(smtp_dests_next(d, &got));
    /* a waiter left behind is handed out when the pool closes */
    smtp_dest_wait(d, b, &w[5], false);
    CU_ASSERT_PTR_EQUAL(smtp_dests_any(d), &w[5]);
    CU_ASSERT_PTR_NULL(smtp_dests_any(d));
    smtp_dest_forget(d, b);                  /* still busy: kept */
    CU_ASSERT_EQUAL(smtp_dests_count(d), 2);
    smtp_dest_give(d, a);
    smtp_dest_give(d, b);
    CU_ASSERT_EQUAL(smtp_dests_count(d), 0);
    smtp_dests_free(&d);
}

/* test_many - 20,000 destinations: found again, all freed, table grows */
static void
test_many(void)
{
    struct smtp_dests *d = dests(100000, 20, 5);
    static struct smtp_dest *all[20000];
    char key[64];
    size_t i;

    for (i = 0; i < 20000; i++) {
        snprintf(key, sizeof key, "10.%zu.%zu.1 25 mx%zu.example", i / 256, i % 256, i);
        all[i] = smtp_dest_get(d, key);
        CU_ASSERT_PTR_NOT_NULL_FATAL(all[i]);
        smtp_dest_take(d, all[i]);
    }
    CU_ASSERT_EQUAL(smtp_dests_count(d), 20000);
    for (i = 0; i < 20000; i += 997) {
        snprintf(key, sizeof key, "10.%zu.%zu.1 25 mx%zu.example", i / 256, i % 256, i);
        CU_ASSERT_PTR_EQUAL(smtp_dest_get(d, key), all[i]);
        CU_ASSERT_STRING_EQUAL(smtp_dest_key(all[i]), key);
    }
    for (i = 0; i < 20000; i++)
        smtp_dest_give(d, all[i]);
    CU_ASSERT_EQUAL(smtp_dests_count(d), 0);
    CU_ASSERT_EQUAL(smtp_dests_busy(d), 0);
    /* keys past the bound are refused, not truncated into another's */
    {
        static char big[1100];

        memset(big, 'x', sizeof big - 1);
        CU_ASSERT_PTR_NULL(smtp_dest_get(d, big));
    }
    smtp_dests_free(&d);
}

/* test_fd_budget - enough: nothing changes; short: the soft limit goes up
 * to the hard one; short of the hard one: the sessions are cut.  Last: it
 * lowers this process's hard limit for good. */
static void
test_fd_budget(void)
{
    struct smtp_fd_budget b;
    struct rlimit rl = { 0, 0 }, low;

    CU_ASSERT_EQUAL_FATAL(getrlimit(RLIMIT_NOFILE, &rl), 0);
    smtp_fd_budget(10, 16, &b);
    CU_ASSERT_EQUAL(b.sessions, 10);
    CU_ASSERT_EQUAL(b.need, 10 + 16 + SMTP_FD_SPARE);
    CU_ASSERT_FALSE(b.raised);
    CU_ASSERT_FALSE(b.clamped);
    smtp_fd_budget(0, 0, &b);
    CU_ASSERT_EQUAL(b.sessions, 1);

    if (rl.rlim_max == RLIM_INFINITY || rl.rlim_max >= 512) {
        low.rlim_cur = 128;
        low.rlim_max = 512;
        CU_ASSERT_EQUAL_FATAL(setrlimit(RLIMIT_NOFILE, &low), 0);
        smtp_fd_budget(300, 16, &b);          /* needs 348: the hard limit is enough */
        CU_ASSERT_TRUE(b.raised);
        CU_ASSERT_FALSE(b.clamped);
        CU_ASSERT_EQUAL(b.soft_before, 128);
        CU_ASSERT_EQUAL(b.soft, 512);
        CU_ASSERT_EQUAL(b.sessions, 300);
        CU_ASSERT_EQUAL(getrlimit(RLIMIT_NOFILE, &low), 0);
        CU_ASSERT_EQUAL(low.rlim_cur, 512);
    }
    low.rlim_cur = 200;
    low.rlim_max = 200;
    CU_ASSERT_EQUAL_FATAL(setrlimit(RLIMIT_NOFILE, &low), 0);
    smtp_fd_budget(3000, 16, &b);
    CU_ASSERT_FALSE(b.raised);
    CU_ASSERT_TRUE(b.clamped);
    CU_ASSERT_EQUAL(b.soft, 200);
    CU_ASSERT_EQUAL(b.hard, 200);
    CU_ASSERT(b.open_now >= 3 && b.open_now < 100);    /* stdin, stdout, stderr at least */
    CU_ASSERT_EQUAL(b.sessions, 200 - b.open_now - 16 - SMTP_FD_SPARE);
    smtp_fd_budget(3000, 1000, &b);          /* no room at all: still one */
    CU_ASSERT_TRUE(b.clamped);
    CU_ASSERT_EQUAL(b.sessions, 1);
}

int
main(void)
{
    static const struct test_case cases[] = {
        { "the window grows by 1/window", test_window_grows },
        { "refusals lower it, hold it, or end it", test_refused },
        { "waiters: order and limits", test_waiters },
        { "20,000 destinations", test_many },
        { "descriptors against max_sessions", test_fd_budget },
        { NULL, NULL },
    };

    return test_run_suite("smtp_dest", NULL, NULL, cases);
}
