/*
 * smtp_dest.h - the destinations of the smtp transport's session pool
 *
 * A destination is one "ADDR port host" key.  For each, the pool keeps how
 * many sessions are busy, how many it may open (a window learned from the
 * server), and the messages waiting for a session, in order.
 *
 * The window is Postfix's destination concurrency feedback, adapted: it
 * starts at initial_per_dest; each transaction that goes through raises it by
 * 1/window (one more session after about "window" messages), up to
 * max_per_dest.  A session refused while others to the same destination are
 * open (a 421 greeting, a refused or closed connection: the server caps
 * sessions per client) lowers it at once to the number of those others, and
 * for SMTP_DEST_PROBE_HOLD_MS it does not grow past that number again, so a
 * server that takes 5 sessions is probed for a sixth about once per hold,
 * not once per five messages.  The refused message waits for a session that
 * works.  A destination where the refused session was the only one is dead:
 * its waiting messages move on (smtp_dest_refused() says so).
 *
 * The structure is a hash table of destinations plus a list of those with
 * waiting messages, so finding the next message to start costs the number
 * of destinations at their limit, not the number of messages waiting.
 * Nothing here does I/O or reads a clock: the pool passes the time in.
 *
 * Ownership: smtp_dests_new() / smtp_dests_free(&d).  A destination lives
 * while a session holds one of its slots or a message waits for it:
 * smtp_dest_give() and smtp_dest_forget() free it when neither is left, so
 * a caller holds a struct smtp_dest * only while it holds a slot or a waiter.
 */
#ifndef HERALD_SMTP_DEST_H
#define HERALD_SMTP_DEST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <herald/status.h>

/* How long a destination that refused a session stays below that count. */
#define SMTP_DEST_PROBE_HOLD_MS 2000

/* Embedded in the pool's job: a message waiting for a session. */
struct smtp_dest_waiter {
    struct smtp_dest_waiter *next;
};

struct smtp_dest_limits {
    size_t max_sessions;      /* busy sessions in all (at least 1) */
    size_t max_per_dest;      /* busy sessions to one destination: the window's ceiling */
    size_t initial_per_dest;  /* the window of a destination not heard from yet */
};

enum smtp_dest_verdict {
    SMTP_DEST_WAIT = 0,       /* others are open: the message waits for one */
    SMTP_DEST_DEAD            /* nothing else is open: the refusal stands */
};

struct smtp_dests;
struct smtp_dest;

/* smtp_dests_new - an empty table; limits are copied (0s become 1).  HERALD_E_NOMEM. */
herald_status smtp_dests_new(const struct smtp_dest_limits *lim, struct smtp_dests **out);
/* smtp_dests_free - free every destination; waiters left are dropped, not touched */
void smtp_dests_free(struct smtp_dests **d);

/* smtp_dests_set_max_sessions - lower or raise the device-wide bound */
void smtp_dests_set_max_sessions(struct smtp_dests *d, size_t max_sessions);
size_t smtp_dests_busy(const struct smtp_dests *d);
size_t smtp_dests_count(const struct smtp_dests *d);   /* destinations alive */

/* smtp_dest_get - the destination for key, made when new; NULL on ENOMEM
 * or a key longer than 1000 octets */
struct smtp_dest *smtp_dest_get(struct smtp_dests *d, const char *key);
const char *smtp_dest_key(const struct smtp_dest *dest);
size_t smtp_dest_busy(const struct smtp_dest *dest);
size_t smtp_dest_waiting(const struct smtp_dest *dest);
/* smtp_dest_limit - sessions it may have now: the window, rounded down, at least 1 */
size_t smtp_dest_limit(const struct smtp_dest *dest);

/* smtp_dest_can_start - one more session to dest fits in both limits */
bool smtp_dest_can_start(const struct smtp_dests *d, const struct smtp_dest *dest);
/* smtp_dest_take - count a busy session (the caller checked can_start, or
 * hands over a session it already counts elsewhere) */
void smtp_dest_take(struct smtp_dests *d, struct smtp_dest *dest);
/* smtp_dest_give - that session is over; dest is freed when nothing is left */
void smtp_dest_give(struct smtp_dests *d, struct smtp_dest *dest);
/* smtp_dest_forget - free dest when no slot and no waiter is left (after
 * taking a waiter that then did not start) */
void smtp_dest_forget(struct smtp_dests *d, struct smtp_dest *dest);

/* smtp_dest_wait - w waits for dest, last (or first: a message that already
 * had its turn and was refused keeps its place) */
void smtp_dest_wait(struct smtp_dests *d, struct smtp_dest *dest, struct smtp_dest_waiter *w,
                    bool first);
/* smtp_dest_unwait - the first waiter of dest, removed; NULL when none.
 * dest stays allocated: the caller takes a slot or calls smtp_dest_forget(). */
struct smtp_dest_waiter *smtp_dest_unwait(struct smtp_dests *d, struct smtp_dest *dest);
/* smtp_dests_next - the first waiter of a destination that can start a
 * session now (round robin over destinations), removed; its destination in
 * *dest_out.  NULL when no waiter can start. */
struct smtp_dest_waiter *smtp_dests_next(struct smtp_dests *d, struct smtp_dest **dest_out);

/* smtp_dests_any - a waiter of any destination, removed, whatever the
 * limits (to free what is left when the pool closes); NULL when none */
struct smtp_dest_waiter *smtp_dests_any(struct smtp_dests *d);

/* smtp_dest_success - a transaction to dest went through: true when the
 * limit rose (a waiting message may start) */
bool smtp_dest_success(const struct smtp_dests *d, struct smtp_dest *dest, uint64_t now_ms);
/*
 * smtp_dest_refused - a session to dest was refused before it did anything
 * (called while that session still holds its slot).  fresh: it was a new
 * session, so the refusal says the server takes no more: SMTP_DEST_WAIT
 * when other sessions to dest are open (the window drops to them),
 * SMTP_DEST_DEAD when none is (the window starts over, and the caller ends
 * the waiters).  A reused session dropped by the server says nothing about
 * concurrency: SMTP_DEST_WAIT, the message tries a new session.
 */
enum smtp_dest_verdict smtp_dest_refused(const struct smtp_dests *d, struct smtp_dest *dest,
                                         bool fresh, uint64_t now_ms);

#endif
