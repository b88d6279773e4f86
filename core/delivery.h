/*
 * delivery.h - one message going through one device (internal)
 *
 * delivery_new() makes a struct herald_delivery for msg with one pending
 * (DEFERRED, "no outcome recorded") entry per recipient and a fresh trace id.
 * When the driver calls herald_delivery_done(), the delivery builds the
 * outcome, hands it to on_done (which takes ownership) and frees itself.
 */
#ifndef HERALD_CORE_DELIVERY_H
#define HERALD_CORE_DELIVERY_H

#include <herald/device.h>
#include <herald/message.h>
#include "trace_sink.h"

typedef void (*delivery_done_fn)(void *arg, struct herald_outcome *outcome);

herald_status delivery_new(const struct herald_message *msg, struct herald_env *env,
                           struct trace_sink *sink, delivery_done_fn on_done, void *arg,
                           struct herald_delivery **d_out);

/* delivery_free_unfinished - free a delivery its driver never ended (at
 * herald_close, when nothing can run any more); its outcome goes too. */
void delivery_free_unfinished(struct herald_delivery *d);

#endif
