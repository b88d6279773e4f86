/*
 * outcome.h - building a struct herald_outcome (internal)
 *
 * The public side (herald/outcome.h) only reads an outcome; the delivery
 * builds one with outcome_new() and fills it with outcome_record().  Every
 * entry starts DEFERRED with "4.3.0 no outcome recorded", so an entry nobody
 * recorded is retried, never dropped.
 *
 * Strings are copied, made printable (control characters become '?') and
 * cut at OUTCOME_TEXT_MAX octets: a hostile server reply cannot grow an
 * outcome or break the one-line formats built from it.
 *
 * Ownership: outcome_new() returns an outcome freed with herald_outcome_free(&o).
 */
#ifndef HERALD_CORE_OUTCOME_H
#define HERALD_CORE_OUTCOME_H

#include <stdbool.h>
#include <stddef.h>
#include <herald/outcome.h>
#include <herald/status.h>

#define OUTCOME_TEXT_MAX 1000

/* herald_outcome_trace_id() needs a home; the trace id is 12 hex digits or "-". */
#define OUTCOME_ID_MAX 24

/* addresses: count recipient addresses, copied. */
herald_status outcome_new(size_t count, const char *const *addresses, const char *trace_id,
                          struct herald_outcome **o_out);

/* outcome_record - replace entry i; reply required, others may be NULL.
 * HERALD_E_INVAL for a bad index, result or missing reply; on error the
 * entry is unchanged. */
herald_status outcome_record(struct herald_outcome *o, size_t i, enum herald_result result,
                             const char *reply, const char *dsn, const char *host,
                             const char *peer, bool possibly_delivered);

/* outcome_hop - what hop address ADDRESS port PORT did (herald_delivery_hop):
 * a later word on the same address and port replaces the earlier one.
 * HERALD_E_INVAL (missing text), HERALD_E_LIMIT (HERALD_OUTCOME_HOPS_MAX
 * addresses already), HERALD_E_NOMEM; on error nothing changes. */
herald_status outcome_hop(struct herald_outcome *o, const char *host, uint16_t port,
                          const char *address, bool failed, const char *reply);

#endif
