/*
 * herald/outcome.h - what happened to each recipient of a message
 *
 * Every recipient ends in exactly one result, with the reply that decided it
 * (the server's, or Herald's own words for a local decision), its enhanced
 * status code, and the hop that gave it.  DEFERRED is the initial value: a
 * recipient nobody decided about is retried, never dropped (Exim's rule).
 *
 * Ownership: herald_send() returns an outcome freed with herald_outcome_free(&o).
 * Strings are borrowed from the outcome.  Index out of range gives NULL/0.
 */
#ifndef HERALD_OUTCOME_H
#define HERALD_OUTCOME_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

enum herald_result {
    HERALD_RESULT_DEFERRED = 0,   /* temporary: 4xx, timeout, no hop reachable, DNS SERVFAIL */
    HERALD_RESULT_DELIVERED = 1,
    HERALD_RESULT_FAILED = 2      /* permanent: 5xx, null MX, NXDOMAIN, bad address */
};

struct herald_outcome;

/* "delivered", "deferred", "failed" */
const char *herald_result_name(enum herald_result result);

size_t herald_outcome_count(const struct herald_outcome *o);
const char *herald_outcome_trace_id(const struct herald_outcome *o);
const char *herald_outcome_address(const struct herald_outcome *o, size_t i);
enum herald_result herald_outcome_result(const struct herald_outcome *o, size_t i);
const char *herald_outcome_reply(const struct herald_outcome *o, size_t i);  /* "250 2.0.0 Ok" */
const char *herald_outcome_dsn(const struct herald_outcome *o, size_t i);    /* "2.0.0" or "" */
const char *herald_outcome_host(const struct herald_outcome *o, size_t i);   /* hop, or "" */
const char *herald_outcome_peer(const struct herald_outcome *o, size_t i);   /* "ADDR:PORT", or "" */
/* True after a timeout following the final dot: the server may have the message. */
bool herald_outcome_possibly_delivered(const struct herald_outcome *o, size_t i);
/*
 * The hop addresses the delivery reached or saw fail before any transaction
 * (ABI 2.6; a device reports them with herald_delivery_hop()): the queue
 * runner holds down a hop that just failed.  One entry per address and port,
 * the last word standing, at most HERALD_OUTCOME_HOPS_MAX (more are dropped).
 * host is the hop's name, address its text ("192.0.2.1", "::1"); reply is
 * why it failed, "" when it did not.
 */
#define HERALD_OUTCOME_HOPS_MAX 64
size_t herald_outcome_hop_count(const struct herald_outcome *o);
const char *herald_outcome_hop_host(const struct herald_outcome *o, size_t i);
const char *herald_outcome_hop_address(const struct herald_outcome *o, size_t i);
uint16_t herald_outcome_hop_port(const struct herald_outcome *o, size_t i);
bool herald_outcome_hop_failed(const struct herald_outcome *o, size_t i);
const char *herald_outcome_hop_reply(const struct herald_outcome *o, size_t i);
/* Counts per result, for exit codes. */
size_t herald_outcome_tally(const struct herald_outcome *o, enum herald_result result);

void herald_outcome_free(struct herald_outcome **o);

#ifdef __cplusplus
}
#endif
#endif
