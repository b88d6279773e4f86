/*
 * queue_dsn.h - delivery status notifications from the queue (internal)
 *
 * queue_dsn_make() looks at a message's recipients as the runner is about to
 * record them: every FAILED recipient not yet notified, and (once, after
 * delay_warning_s) the DEFERRED ones, go in an RFC 3464 multipart/report to
 * the envelope sender, from the null sender, added to batch (queued like any
 * message, through the same device); the recipients are marked notified /
 * the message warned.  Nothing is made for a null-sender message, for
 * NOTIFY=NEVER, for failures without FAILURE in an explicit NOTIFY, or for
 * delays without DELAY in it.  RET=FULL returns the whole message, anything
 * else its headers.  orig is the message whose body is the original (may be
 * NULL: then only the report parts).
 */
#ifndef HERALD_CORE_QUEUE_DSN_H
#define HERALD_CORE_QUEUE_DSN_H

#include <stdbool.h>
#include <stdint.h>
#include <herald/herald.h>
#include <herald/queue.h>

void queue_dsn_make(struct herald_context *ctx, const struct herald_queue_policy *pol,
                    struct herald_queue_entry *e, const struct herald_message *orig,
                    struct herald_enqueue_batch *batch, int64_t now);
/* queue_dsn_delay_due - a delay warning is owed now */
bool queue_dsn_delay_due(const struct herald_queue_policy *pol,
                         const struct herald_queue_entry *e, int64_t now);

#endif
