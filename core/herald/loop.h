/*
 * herald/loop.h - the core's event loop (epoll), shared by DNS, sockets and TLS
 *
 * One loop per thread; nothing in Herald blocks on the network.  Callbacks
 * run from herald_loop_run(); a callback may add or remove any watcher or
 * timer, including its own.
 *
 * Ownership: herald_io_add() and herald_timer_start() return handles owned by
 * the caller, released with herald_io_remove(&io) / herald_timer_cancel(&t)
 * (both accept NULL and clear the pointer).  A one-shot timer that has fired
 * is finished but its handle must still be released by the caller, unless
 * it was started with a NULL handle pointer (fire-and-forget).
 */
#ifndef HERALD_LOOP_H
#define HERALD_LOOP_H

#include <stdbool.h>
#include <stdint.h>
#include <herald/status.h>

#ifdef __cplusplus
extern "C" {
#endif

struct herald_loop;
struct herald_io;
struct herald_timer;

#define HERALD_IO_READ   0x1u
#define HERALD_IO_WRITE  0x2u
#define HERALD_IO_ERROR  0x4u   /* reported, never requested: EPOLLERR/EPOLLHUP */

typedef void (*herald_io_fn)(void *arg, int fd, unsigned events);
typedef void (*herald_timer_fn)(void *arg);
typedef bool (*herald_done_fn)(void *arg);

herald_status herald_loop_new(struct herald_loop **loop_out);
void herald_loop_free(struct herald_loop **loop);

/* Monotonic milliseconds, as seen at the start of the current iteration
 * (NULL: the clock now). */
uint64_t herald_loop_now_ms(const struct herald_loop *loop);

herald_status herald_io_add(struct herald_loop *loop, int fd, unsigned events,
                            herald_io_fn fn, void *arg, struct herald_io **io_out);
herald_status herald_io_set(struct herald_io *io, unsigned events);
void herald_io_remove(struct herald_io **io);

/* Start a one-shot timer firing after delay_ms.  t_out may be NULL. */
herald_status herald_timer_start(struct herald_loop *loop, uint64_t delay_ms,
                                 herald_timer_fn fn, void *arg,
                                 struct herald_timer **t_out);
void herald_timer_cancel(struct herald_timer **t);

/* Run fn(arg) on the next iteration: breaks the recursion when a completion
 * would otherwise be called from inside the call that started the work. */
herald_status herald_loop_defer(struct herald_loop *loop, herald_timer_fn fn, void *arg);

/*
 * herald_loop_run - dispatch events until done(arg) returns true (checked
 * before each wait), or no watcher, timer or deferred call is left.
 * timeout_ms (0 = none) bounds the whole run: HERALD_E_TIMEOUT when it expires.
 * Returns HERALD_OK, HERALD_E_TIMEOUT or HERALD_E_IO (epoll failed).
 */
herald_status herald_loop_run(struct herald_loop *loop, herald_done_fn done, void *arg,
                              uint64_t timeout_ms);

#ifdef __cplusplus
}
#endif
#endif
