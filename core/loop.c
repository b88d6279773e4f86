/*
 * loop.c - the core's event loop: epoll watchers, one-shot timers, deferred calls
 *
 * Timers live in a binary min-heap ordered by (due, seq), so equal deadlines
 * fire in start order.  A watcher removed while events are being dispatched
 * is only marked dead (its epoll registration is dropped at once) and freed
 * after the dispatch pass, because the current epoll batch may still name it.
 * Each pass fires only the timers and deferred calls that existed when the
 * pass began, so a callback that re-arms itself at 0 ms cannot starve I/O.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/epoll.h>

#include <herald/loop.h>

#define LOOP_MAX_EVENTS 64

struct herald_io {
    struct herald_loop *loop;
    int fd;
    unsigned events;
    herald_io_fn fn;
    void *arg;
    bool dead;
    struct herald_io *prev, *next;   /* loop->ios (live) or loop->dead_ios */
};

enum timer_state { TIMER_PENDING, TIMER_FIRING, TIMER_DONE };

struct herald_timer {
    struct herald_loop *loop;
    uint64_t due;
    uint64_t seq;
    size_t heap_index;
    herald_timer_fn fn;
    void *arg;
    enum timer_state state;
    bool owned;          /* the caller holds a handle and releases it */
    bool cancel_pending; /* the owner cancelled it from inside its own callback */
};

struct deferred {
    herald_timer_fn fn;
    void *arg;
    struct deferred *next;
};

struct herald_loop {
    int epfd;
    uint64_t now_ms;
    uint64_t timer_seq;
    struct herald_timer **heap;
    size_t heap_len, heap_cap;
    struct deferred *defer_head, *defer_tail;
    struct herald_io *ios;
    struct herald_io *dead_ios;
    size_t live_ios;
    int dispatching;
};

/* clock_ms - CLOCK_MONOTONIC in milliseconds: wall clock jumps must not move timers */
static uint64_t
clock_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

/* herald_loop_new - an empty loop with its own epoll instance */
herald_status
herald_loop_new(struct herald_loop **loop_out)
{
    struct herald_loop *loop;

    if (loop_out == NULL)
        return HERALD_E_INVAL;
    loop = calloc(1, sizeof *loop);
    if (loop == NULL)
        return HERALD_E_NOMEM;
    loop->epfd = epoll_create1(EPOLL_CLOEXEC);
    if (loop->epfd < 0) {
        free(loop);
        return errno == ENOMEM ? HERALD_E_NOMEM : HERALD_E_IO;
    }
    loop->now_ms = clock_ms();
    *loop_out = loop;
    return HERALD_OK;
}

/* herald_loop_free - release the loop; handles still held by callers become invalid */
void
herald_loop_free(struct herald_loop **loopp)
{
    struct herald_loop *loop;
    struct herald_io *io;
    struct deferred *d;
    size_t i;

    if (loopp == NULL || *loopp == NULL)
        return;
    loop = *loopp;
    while ((io = loop->ios) != NULL) {
        loop->ios = io->next;
        free(io);
    }
    while ((io = loop->dead_ios) != NULL) {
        loop->dead_ios = io->next;
        free(io);
    }
    for (i = 0; i < loop->heap_len; i++)
        free(loop->heap[i]);
    free(loop->heap);
    while ((d = loop->defer_head) != NULL) {
        loop->defer_head = d->next;
        free(d);
    }
    close(loop->epfd);
    free(loop);
    *loopp = NULL;
}

/* herald_loop_now_ms - the iteration's cached monotonic time */
uint64_t
herald_loop_now_ms(const struct herald_loop *loop)
{
    return loop != NULL ? loop->now_ms : clock_ms();
}

/* epoll_mask - herald events to epoll bits (errors are always reported) */
static uint32_t
epoll_mask(unsigned events)
{
    uint32_t m = 0;

    if (events & HERALD_IO_READ)
        m |= EPOLLIN | EPOLLRDHUP;
    if (events & HERALD_IO_WRITE)
        m |= EPOLLOUT;
    return m;
}

/* herald_io_add - watch fd for events; fn runs from herald_loop_run */
herald_status
herald_io_add(struct herald_loop *loop, int fd, unsigned events, herald_io_fn fn, void *arg,
              struct herald_io **io_out)
{
    struct herald_io *io;
    struct epoll_event ev;

    if (loop == NULL || fd < 0 || fn == NULL || io_out == NULL)
        return HERALD_E_INVAL;
    io = calloc(1, sizeof *io);
    if (io == NULL)
        return HERALD_E_NOMEM;
    io->loop = loop;
    io->fd = fd;
    io->events = events & (HERALD_IO_READ | HERALD_IO_WRITE);
    io->fn = fn;
    io->arg = arg;
    memset(&ev, 0, sizeof ev);
    ev.events = epoll_mask(io->events);
    ev.data.ptr = io;
    if (epoll_ctl(loop->epfd, EPOLL_CTL_ADD, fd, &ev) != 0) {
        int e = errno;

        free(io);
        return e == ENOMEM || e == ENOSPC ? HERALD_E_NOMEM : HERALD_E_INVAL;
    }
    io->next = loop->ios;
    if (loop->ios != NULL)
        loop->ios->prev = io;
    loop->ios = io;
    loop->live_ios++;
    *io_out = io;
    return HERALD_OK;
}

/* herald_io_set - change the events a watcher waits for */
herald_status
herald_io_set(struct herald_io *io, unsigned events)
{
    struct epoll_event ev;

    if (io == NULL || io->dead)
        return HERALD_E_INVAL;
    events &= HERALD_IO_READ | HERALD_IO_WRITE;
    if (events == io->events)
        return HERALD_OK;
    memset(&ev, 0, sizeof ev);
    ev.events = epoll_mask(events);
    ev.data.ptr = io;
    if (epoll_ctl(io->loop->epfd, EPOLL_CTL_MOD, io->fd, &ev) != 0)
        return HERALD_E_IO;
    io->events = events;
    return HERALD_OK;
}

/* herald_io_remove - stop watching; freed now, or after the current dispatch pass */
void
herald_io_remove(struct herald_io **iop)
{
    struct herald_io *io;
    struct herald_loop *loop;

    if (iop == NULL || *iop == NULL)
        return;
    io = *iop;
    *iop = NULL;
    if (io->dead)
        return;
    loop = io->loop;
    /* The fd may already be closed by the caller: then the kernel dropped it. */
    (void)epoll_ctl(loop->epfd, EPOLL_CTL_DEL, io->fd, NULL);
    if (io->prev != NULL)
        io->prev->next = io->next;
    else
        loop->ios = io->next;
    if (io->next != NULL)
        io->next->prev = io->prev;
    loop->live_ios--;
    io->dead = true;
    if (loop->dispatching > 0) {
        io->prev = NULL;
        io->next = loop->dead_ios;
        loop->dead_ios = io;
    } else {
        free(io);
    }
}

/* timer_before - heap order: earlier due first, then earlier start */
static bool
timer_before(const struct herald_timer *a, const struct herald_timer *b)
{
    return a->due < b->due || (a->due == b->due && a->seq < b->seq);
}

/* heap_place - store t at index i and keep its back-pointer right */
static void
heap_place(struct herald_loop *loop, size_t i, struct herald_timer *t)
{
    loop->heap[i] = t;
    t->heap_index = i;
}

/* heap_up - restore heap order upwards from i */
static void
heap_up(struct herald_loop *loop, size_t i)
{
    struct herald_timer *t = loop->heap[i];

    while (i > 0) {
        size_t parent = (i - 1) / 2;

        if (!timer_before(t, loop->heap[parent]))
            break;
        heap_place(loop, i, loop->heap[parent]);
        i = parent;
    }
    heap_place(loop, i, t);
}

/* heap_down - restore heap order downwards from i */
static void
heap_down(struct herald_loop *loop, size_t i)
{
    struct herald_timer *t = loop->heap[i];

    for (;;) {
        size_t l = 2 * i + 1, r = l + 1, m = i;
        struct herald_timer *best = t;

        if (l < loop->heap_len && timer_before(loop->heap[l], best)) {
            m = l;
            best = loop->heap[l];
        }
        if (r < loop->heap_len && timer_before(loop->heap[r], best))
            m = r;
        if (m == i)
            break;
        heap_place(loop, i, loop->heap[m]);
        i = m;
    }
    heap_place(loop, i, t);
}

/* heap_remove - take the timer at index i out of the heap */
static void
heap_remove(struct herald_loop *loop, size_t i)
{
    struct herald_timer *last = loop->heap[--loop->heap_len];

    if (i == loop->heap_len)
        return;
    heap_place(loop, i, last);
    if (i > 0 && timer_before(last, loop->heap[(i - 1) / 2]))
        heap_up(loop, i);
    else
        heap_down(loop, i);
}

/* herald_timer_start - one-shot timer; t_out NULL means the loop frees it after firing */
herald_status
herald_timer_start(struct herald_loop *loop, uint64_t delay_ms, herald_timer_fn fn, void *arg,
                   struct herald_timer **t_out)
{
    struct herald_timer *t;

    if (loop == NULL || fn == NULL)
        return HERALD_E_INVAL;
    if (delay_ms > UINT64_MAX / 4)
        delay_ms = UINT64_MAX / 4;   /* "never", without overflowing due */
    if (loop->heap_len == loop->heap_cap) {
        size_t cap = loop->heap_cap ? loop->heap_cap * 2 : 16;
        struct herald_timer **h = realloc(loop->heap, cap * sizeof *h);

        if (h == NULL)
            return HERALD_E_NOMEM;
        loop->heap = h;
        loop->heap_cap = cap;
    }
    t = calloc(1, sizeof *t);
    if (t == NULL)
        return HERALD_E_NOMEM;
    t->loop = loop;
    t->due = clock_ms() + delay_ms;
    t->seq = loop->timer_seq++;
    t->fn = fn;
    t->arg = arg;
    t->state = TIMER_PENDING;
    t->owned = t_out != NULL;
    loop->heap[loop->heap_len++] = t;
    heap_up(loop, loop->heap_len - 1);
    if (t_out != NULL)
        *t_out = t;
    return HERALD_OK;
}

/* herald_timer_cancel - stop a pending timer, or release a fired one */
void
herald_timer_cancel(struct herald_timer **tp)
{
    struct herald_timer *t;

    if (tp == NULL || *tp == NULL)
        return;
    t = *tp;
    *tp = NULL;
    switch (t->state) {
    case TIMER_PENDING:
        heap_remove(t->loop, t->heap_index);
        free(t);
        break;
    case TIMER_FIRING:
        t->cancel_pending = true;   /* its callback is running: freed when it returns */
        break;
    case TIMER_DONE:
        free(t);
        break;
    }
}

/* herald_loop_defer - queue fn(arg) for the next iteration */
herald_status
herald_loop_defer(struct herald_loop *loop, herald_timer_fn fn, void *arg)
{
    struct deferred *d;

    if (loop == NULL || fn == NULL)
        return HERALD_E_INVAL;
    d = malloc(sizeof *d);
    if (d == NULL)
        return HERALD_E_NOMEM;
    d->fn = fn;
    d->arg = arg;
    d->next = NULL;
    if (loop->defer_tail != NULL)
        loop->defer_tail->next = d;
    else
        loop->defer_head = d;
    loop->defer_tail = d;
    return HERALD_OK;
}

/* dispatch_io - call the watchers epoll reported, then free the ones removed meanwhile */
static void
dispatch_io(struct herald_loop *loop, const struct epoll_event *evs, int n)
{
    struct herald_io *io;
    int i;

    loop->dispatching++;
    for (i = 0; i < n; i++) {
        unsigned got = 0;

        io = evs[i].data.ptr;
        if (io->dead)
            continue;
        if (evs[i].events & (EPOLLIN | EPOLLRDHUP))
            got |= HERALD_IO_READ;
        if (evs[i].events & EPOLLOUT)
            got |= HERALD_IO_WRITE;
        if (evs[i].events & (EPOLLERR | EPOLLHUP))
            got |= HERALD_IO_ERROR;
        io->fn(io->arg, io->fd, got);
    }
    loop->dispatching--;
    if (loop->dispatching == 0) {
        while ((io = loop->dead_ios) != NULL) {
            loop->dead_ios = io->next;
            free(io);
        }
    }
}

/* fire_timers - fire the timers that are due and were started before this pass */
static void
fire_timers(struct herald_loop *loop)
{
    uint64_t seq_limit = loop->timer_seq;

    while (loop->heap_len > 0) {
        struct herald_timer *t = loop->heap[0];

        if (t->due > loop->now_ms || t->seq >= seq_limit)
            break;
        heap_remove(loop, 0);
        t->state = TIMER_FIRING;
        t->fn(t->arg);
        if (!t->owned || t->cancel_pending)
            free(t);
        else
            t->state = TIMER_DONE;
    }
}

/* run_deferred - run the calls queued before this pass; newer ones wait a pass */
static void
run_deferred(struct herald_loop *loop)
{
    struct deferred *d = loop->defer_head, *last = loop->defer_tail;

    if (d == NULL)
        return;
    loop->defer_head = loop->defer_tail = NULL;
    for (;;) {
        struct deferred *next = d->next;
        bool was_last = d == last;
        herald_timer_fn fn = d->fn;
        void *arg = d->arg;

        free(d);
        fn(arg);
        if (was_last)
            break;
        d = next;
    }
}

/* wait_ms - how long epoll may sleep: until the next timer, deferred call or deadline */
static int
wait_ms(const struct herald_loop *loop, uint64_t deadline)
{
    uint64_t until = UINT64_MAX;

    if (loop->defer_head != NULL)
        return 0;
    if (loop->heap_len > 0)
        until = loop->heap[0]->due;
    if (deadline != 0 && deadline < until)
        until = deadline;
    if (until == UINT64_MAX)
        return -1;
    if (until <= loop->now_ms)
        return 0;
    if (until - loop->now_ms > 60000)
        return 60000;   /* re-check periodically; bounded anyway by the next pass */
    return (int)(until - loop->now_ms);
}

/* herald_loop_run - dispatch until done(), nothing left, or the overall timeout */
herald_status
herald_loop_run(struct herald_loop *loop, herald_done_fn done, void *arg, uint64_t timeout_ms)
{
    struct epoll_event evs[LOOP_MAX_EVENTS];
    uint64_t deadline;

    if (loop == NULL)
        return HERALD_E_INVAL;
    loop->now_ms = clock_ms();
    deadline = timeout_ms ? loop->now_ms + timeout_ms : 0;
    for (;;) {
        int n;

        loop->now_ms = clock_ms();
        if (done != NULL && done(arg))
            return HERALD_OK;
        if (loop->live_ios == 0 && loop->heap_len == 0 && loop->defer_head == NULL)
            return HERALD_OK;
        if (deadline != 0 && loop->now_ms >= deadline)
            return HERALD_E_TIMEOUT;
        n = epoll_wait(loop->epfd, evs, LOOP_MAX_EVENTS, wait_ms(loop, deadline));
        if (n < 0) {
            if (errno == EINTR)
                continue;
            return HERALD_E_IO;
        }
        loop->now_ms = clock_ms();
        dispatch_io(loop, evs, n);
        loop->now_ms = clock_ms();
        fire_timers(loop);
        run_deferred(loop);
    }
}
