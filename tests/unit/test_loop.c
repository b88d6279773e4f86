/*
 * test_loop.c - the event loop: timer order, cancel, pipe watchers,
 * removal from inside callbacks, deferred calls, the run timeout
 */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <fcntl.h>
#include <time.h>
#include <CUnit/Basic.h>
#include "test_main.h"

#include <herald/loop.h>

static struct herald_loop *loop;

/* record - a log of which callback ran, in order */
static char order[64];
static size_t order_len;

static void
note(void *arg)
{
    if (order_len + 1 < sizeof order)
        order[order_len++] = *(const char *)arg;
    order[order_len] = '\0';
}

static void
reset_order(void)
{
    order_len = 0;
    order[0] = '\0';
}

static int
suite_init(void)
{
    return herald_loop_new(&loop) == HERALD_OK ? 0 : 1;
}

static int
suite_clean(void)
{
    herald_loop_free(&loop);
    return 0;
}

/* test_timer_order - timers fire by deadline, equal deadlines in start order */
static void
test_timer_order(void)
{
    static const char c = 'c', a = 'a', b = 'b', d = 'd';

    reset_order();
    CU_ASSERT_EQUAL(herald_timer_start(loop, 30, note, (void *)&c, NULL), HERALD_OK);
    CU_ASSERT_EQUAL(herald_timer_start(loop, 5, note, (void *)&a, NULL), HERALD_OK);
    CU_ASSERT_EQUAL(herald_timer_start(loop, 15, note, (void *)&b, NULL), HERALD_OK);
    CU_ASSERT_EQUAL(herald_timer_start(loop, 30, note, (void *)&d, NULL), HERALD_OK);
    CU_ASSERT_EQUAL(herald_loop_run(loop, NULL, NULL, 2000), HERALD_OK);
    CU_ASSERT_STRING_EQUAL(order, "abcd");
}

/* test_timer_many - a few thousand timers with scattered deadlines fire sorted */
static uint64_t last_due;
static int out_of_order, early, fired;
struct due { uint64_t due, due_hi; };   /* the loop's deadline lies in [due, due_hi] */

/* mono_ms - the same clock the loop uses */
static uint64_t
mono_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

/* check_due - never early, and never after a timer that was surely due later */
static void
check_due(void *arg)
{
    struct due *d = arg;

    if (mono_ms() < d->due)
        early++;
    if (d->due_hi < last_due)
        out_of_order++;
    if (d->due > last_due)
        last_due = d->due;
    fired++;
}

static void
test_timer_many(void)
{
    enum { N = 2000 };
    static struct due dues[N];
    struct herald_timer *cancelled[N / 10];
    size_t i, nc = 0;

    last_due = 0;
    out_of_order = early = fired = 0;
    for (i = 0; i < N; i++) {
        uint64_t delay = (i * 7919u) % 50u;
        struct herald_timer **h = NULL;

        dues[i].due = mono_ms() + delay;   /* the loop reads the clock between these two */
        if (i % 10 == 0)
            h = &cancelled[nc++];
        CU_ASSERT_EQUAL_FATAL(herald_timer_start(loop, delay, check_due, &dues[i], h), HERALD_OK);
        dues[i].due_hi = mono_ms() + delay;
    }
    for (i = 0; i < nc; i++) {
        herald_timer_cancel(&cancelled[i]);
        CU_ASSERT_PTR_NULL(cancelled[i]);
    }
    CU_ASSERT_EQUAL(herald_loop_run(loop, NULL, NULL, 5000), HERALD_OK);
    CU_ASSERT_EQUAL(fired, N - (int)nc);
    CU_ASSERT_EQUAL(out_of_order, 0);
    CU_ASSERT_EQUAL(early, 0);
}

/* test_timer_cancel - a cancelled timer never fires; a fired handle is released */
static void
test_timer_cancel(void)
{
    static const char a = 'a', b = 'b';
    struct herald_timer *t1 = NULL, *t2 = NULL;

    reset_order();
    CU_ASSERT_EQUAL(herald_timer_start(loop, 10, note, (void *)&a, &t1), HERALD_OK);
    CU_ASSERT_EQUAL(herald_timer_start(loop, 20, note, (void *)&b, &t2), HERALD_OK);
    herald_timer_cancel(&t1);
    CU_ASSERT_PTR_NULL(t1);
    CU_ASSERT_EQUAL(herald_loop_run(loop, NULL, NULL, 2000), HERALD_OK);
    CU_ASSERT_STRING_EQUAL(order, "b");
    herald_timer_cancel(&t2);   /* fired: the handle is still ours to release */
    herald_timer_cancel(NULL);
}

/* test_timer_cancel_other - a timer callback cancels a later timer and itself */
static struct herald_timer *victim, *self_handle;

static void
cancel_others(void *arg)
{
    note(arg);
    herald_timer_cancel(&victim);
    herald_timer_cancel(&self_handle);
}

static void
test_timer_cancel_other(void)
{
    static const char a = 'a', v = 'v';

    reset_order();
    CU_ASSERT_EQUAL(herald_timer_start(loop, 1, cancel_others, (void *)&a, &self_handle),
                    HERALD_OK);
    CU_ASSERT_EQUAL(herald_timer_start(loop, 1, note, (void *)&v, &victim), HERALD_OK);
    CU_ASSERT_EQUAL(herald_loop_run(loop, NULL, NULL, 2000), HERALD_OK);
    CU_ASSERT_STRING_EQUAL(order, "a");
    CU_ASSERT_PTR_NULL(victim);
}

/* pipe watcher state */
struct piper {
    int rfd, wfd;
    struct herald_io *rio, *wio;
    char got[16];
    size_t got_len;
    int writes;
};

static void
on_write(void *arg, int fd, unsigned events)
{
    struct piper *p = arg;

    CU_ASSERT(events & HERALD_IO_WRITE);
    CU_ASSERT_EQUAL(write(fd, "x", 1), 1);
    if (++p->writes == 3)
        herald_io_remove(&p->wio);   /* removal of the running watcher */
}

static void
on_read(void *arg, int fd, unsigned events)
{
    struct piper *p = arg;
    char c;

    CU_ASSERT(events & HERALD_IO_READ);
    if (read(fd, &c, 1) == 1 && p->got_len + 1 < sizeof p->got)
        p->got[p->got_len++] = c;
}

static bool
got_three(void *arg)
{
    const struct piper *p = arg;

    return p->got_len >= 3;
}

/* test_io_pipe - read and write watchers on a pipe; remove from inside the callback */
static void
test_io_pipe(void)
{
    struct piper p;
    int fds[2];

    memset(&p, 0, sizeof p);
    CU_ASSERT_EQUAL_FATAL(pipe2(fds, O_NONBLOCK | O_CLOEXEC), 0);
    p.rfd = fds[0];
    p.wfd = fds[1];
    CU_ASSERT_EQUAL(herald_io_add(loop, p.rfd, HERALD_IO_READ, on_read, &p, &p.rio), HERALD_OK);
    CU_ASSERT_EQUAL(herald_io_add(loop, p.wfd, HERALD_IO_WRITE, on_write, &p, &p.wio),
                    HERALD_OK);
    CU_ASSERT_EQUAL(herald_loop_run(loop, got_three, &p, 2000), HERALD_OK);
    CU_ASSERT_EQUAL(p.writes, 3);
    CU_ASSERT_PTR_NULL(p.wio);
    CU_ASSERT_EQUAL(p.got_len, 3);
    herald_io_remove(&p.rio);
    herald_io_remove(&p.rio);   /* NULL: no-op */
    close(p.rfd);
    close(p.wfd);
    /* nothing left: run returns at once */
    CU_ASSERT_EQUAL(herald_loop_run(loop, NULL, NULL, 1000), HERALD_OK);
}

/* two watchers that are ready in the same batch: the first removes the second */
struct pair {
    struct herald_io *a, *b;
    int a_calls, b_calls;
};

static void
pair_a(void *arg, int fd, unsigned events)
{
    struct pair *p = arg;

    CU_ASSERT(fd >= 0 && (events & HERALD_IO_READ));
    p->a_calls++;
    herald_io_remove(&p->a);
    herald_io_remove(&p->b);
}

static void
pair_b(void *arg, int fd, unsigned events)
{
    struct pair *p = arg;

    CU_ASSERT(fd >= 0 && (events & HERALD_IO_READ));
    p->b_calls++;
    herald_io_remove(&p->a);
    herald_io_remove(&p->b);
}

/* test_io_remove_other - a watcher removed by another in the same batch is not called */
static void
test_io_remove_other(void)
{
    struct pair p;
    int f1[2], f2[2];

    memset(&p, 0, sizeof p);
    CU_ASSERT_EQUAL_FATAL(pipe2(f1, O_NONBLOCK | O_CLOEXEC), 0);
    CU_ASSERT_EQUAL_FATAL(pipe2(f2, O_NONBLOCK | O_CLOEXEC), 0);
    CU_ASSERT_EQUAL(write(f1[1], "a", 1), 1);
    CU_ASSERT_EQUAL(write(f2[1], "b", 1), 1);
    CU_ASSERT_EQUAL(herald_io_add(loop, f1[0], HERALD_IO_READ, pair_a, &p, &p.a), HERALD_OK);
    CU_ASSERT_EQUAL(herald_io_add(loop, f2[0], HERALD_IO_READ, pair_b, &p, &p.b), HERALD_OK);
    CU_ASSERT_EQUAL(herald_loop_run(loop, NULL, NULL, 2000), HERALD_OK);
    CU_ASSERT_EQUAL(p.a_calls + p.b_calls, 1);
    close(f1[0]);
    close(f1[1]);
    close(f2[0]);
    close(f2[1]);
}

/* test_io_hup - closing the write end reports an error/hangup to a reader */
static unsigned hup_events;
static struct herald_io *hup_io;

static void
on_hup(void *arg, int fd, unsigned events)
{
    CU_ASSERT_PTR_NULL(arg);
    CU_ASSERT(fd >= 0);
    hup_events = events;
    herald_io_remove(&hup_io);
}

static void
test_io_hup(void)
{
    int fds[2];

    CU_ASSERT_EQUAL_FATAL(pipe2(fds, O_NONBLOCK | O_CLOEXEC), 0);
    close(fds[1]);
    hup_events = 0;
    CU_ASSERT_EQUAL(herald_io_add(loop, fds[0], HERALD_IO_READ, on_hup, NULL, &hup_io),
                    HERALD_OK);
    CU_ASSERT_EQUAL(herald_loop_run(loop, NULL, NULL, 2000), HERALD_OK);
    CU_ASSERT(hup_events & HERALD_IO_ERROR);
    close(fds[0]);
}

/* deferred calls: run on the next pass, in order, never from inside defer() */
static void
defer_again(void *arg)
{
    static const char y = 'y';

    note(arg);
    CU_ASSERT_EQUAL(herald_loop_defer(loop, note, (void *)&y), HERALD_OK);
}

static void
test_defer(void)
{
    static const char x = 'x', z = 'z';

    reset_order();
    CU_ASSERT_EQUAL(herald_loop_defer(loop, defer_again, (void *)&x), HERALD_OK);
    CU_ASSERT_EQUAL(herald_loop_defer(loop, note, (void *)&z), HERALD_OK);
    CU_ASSERT_STRING_EQUAL(order, "");
    CU_ASSERT_EQUAL(herald_loop_run(loop, NULL, NULL, 2000), HERALD_OK);
    CU_ASSERT_STRING_EQUAL(order, "xzy");
}

/* test_run_timeout - a run bounded by timeout_ms ends with HERALD_E_TIMEOUT */
static void
test_run_timeout(void)
{
    static const char late = 'L';
    struct herald_timer *t = NULL;
    uint64_t start, took;

    reset_order();
    CU_ASSERT_EQUAL(herald_timer_start(loop, 10000, note, (void *)&late, &t), HERALD_OK);
    start = herald_loop_now_ms(loop);
    CU_ASSERT_EQUAL(herald_loop_run(loop, NULL, NULL, 100), HERALD_E_TIMEOUT);
    took = herald_loop_now_ms(loop) - start;
    CU_ASSERT(took >= 100 && took < 2000);
    CU_ASSERT_STRING_EQUAL(order, "");
    herald_timer_cancel(&t);
}

/* a self-rearming 0 ms timer must not starve the done() check */
static int rearm_count;

static void
rearm(void *arg)
{
    rearm_count++;
    if (rearm_count < 1000)
        (void)herald_timer_start(loop, 0, rearm, arg, NULL);
}

static bool
rearm_done(void *arg)
{
    return arg == NULL && rearm_count >= 5;
}

static void
test_done_checked(void)
{
    rearm_count = 0;
    CU_ASSERT_EQUAL(herald_timer_start(loop, 0, rearm, NULL, NULL), HERALD_OK);
    CU_ASSERT_EQUAL(herald_loop_run(loop, rearm_done, NULL, 2000), HERALD_OK);
    CU_ASSERT_EQUAL(rearm_count, 5);
    /* drain the rest so later tests start from an empty loop */
    CU_ASSERT_EQUAL(herald_loop_run(loop, NULL, NULL, 5000), HERALD_OK);
    CU_ASSERT_EQUAL(rearm_count, 1000);
}

/* test_bad_args - contract violations are refused, not crashed on */
static void
test_bad_args(void)
{
    struct herald_io *io = NULL;

    CU_ASSERT_EQUAL(herald_loop_new(NULL), HERALD_E_INVAL);
    CU_ASSERT_EQUAL(herald_io_add(loop, -1, HERALD_IO_READ, on_read, NULL, &io), HERALD_E_INVAL);
    CU_ASSERT_EQUAL(herald_timer_start(loop, 1, NULL, NULL, NULL), HERALD_E_INVAL);
    CU_ASSERT_EQUAL(herald_loop_defer(NULL, note, NULL), HERALD_E_INVAL);
    CU_ASSERT_EQUAL(herald_loop_run(NULL, NULL, NULL, 0), HERALD_E_INVAL);
    herald_loop_free(NULL);
}

int
main(void)
{
    static const struct test_case cases[] = {
        { "timers fire in order", test_timer_order },
        { "many timers, some cancelled", test_timer_many },
        { "cancel", test_timer_cancel },
        { "cancel inside a callback", test_timer_cancel_other },
        { "pipe watchers", test_io_pipe },
        { "remove another watcher in a batch", test_io_remove_other },
        { "hangup reported", test_io_hup },
        { "deferred calls", test_defer },
        { "run timeout", test_run_timeout },
        { "done checked between passes", test_done_checked },
        { "bad arguments", test_bad_args },
        { NULL, NULL },
    };

    return test_run_suite("loop", suite_init, suite_clean, cases);
}
