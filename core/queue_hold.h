/*
 * queue_hold.h - the queue runner's retry state per destination (internal)
 *
 * Postfix's dead destinations: a destination that just failed is left alone
 * for a while instead of being knocked on by every queued message to it.
 * One table for both kinds of destination the runner holds (queue_run.c):
 *   "d:DOMAIN"      a domain none of whose recipients in a message got through;
 *   "h:ADDR PORT"   a hop address that failed before any transaction (no
 *                   connection, refused greeting ...: herald_outcome_hop_*).
 * A held key stays held until its time ends; then it is due for one probe:
 * the first message that would use it marks it (queue_hold_probe) and the
 * others wait for that message's word (PROBING) - a failure holds it again,
 * a success forgets it, no word (the message never reached it) makes it due
 * again.  Nothing here reads a clock or does I/O: times are passed in.
 *
 * Bounded: at most QUEUE_HOLD_MAX keys; a new one then replaces the one
 * whose hold ends first.  Everything is one runner's memory.
 */
#ifndef HERALD_CORE_QUEUE_HOLD_H
#define HERALD_CORE_QUEUE_HOLD_H

#include <stdbool.h>
#include <stdint.h>

#define QUEUE_HOLD_MAX 4096

enum queue_hold_state {
    QUEUE_HOLD_FREE = 0,     /* not held (or being probed by the asker itself) */
    QUEUE_HOLD_HELD,         /* failed a moment ago: leave it alone until its end */
    QUEUE_HOLD_PROBE_DUE,    /* the hold ended: the next message may probe it */
    QUEUE_HOLD_PROBING       /* another message is probing it: wait for its word */
};

/* What the trace says about a held key (borrowed until the table changes). */
struct queue_hold_view {
    const char *label;       /* "mx.example:2525", "example.org" */
    const char *reason;      /* the failure's reply */
    int64_t until;           /* end of the hold */
};

struct queue_hold;

struct queue_hold *queue_hold_new(void);
void queue_hold_free(struct queue_hold **h);

/* queue_hold_fail - key just failed (reason): held until until; ends any probe of it */
void queue_hold_fail(struct queue_hold *h, const char *key, const char *label,
                     const char *reason, int64_t until);
/* queue_hold_ok - key worked: forgotten.  True when it was there (held, due or probed). */
bool queue_hold_ok(struct queue_hold *h, const char *key);

/* queue_hold_check - key's state at now for owner (its own probe is FREE);
 * *view (may be NULL) says why when it is not FREE */
enum queue_hold_state queue_hold_check(const struct queue_hold *h, const char *key, int64_t now,
                                       const void *owner, struct queue_hold_view *view);
/* queue_hold_probe - owner tries key (PROBE_DUE) now: others wait for its word */
void queue_hold_probe(struct queue_hold *h, const char *key, const void *owner);
/* queue_hold_probe_end - owner is done: its probes that got no word are due again */
void queue_hold_probe_end(struct queue_hold *h, const void *owner);

/* queue_hold_any - some key of kind ('d', 'h') is held, due or probed: a
 * message to a domain must then be checked against it */
bool queue_hold_any(const struct queue_hold *h, char kind);

#endif
