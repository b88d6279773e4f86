/*
 * smtp_pool.h - the smtp transport's idle sessions, and the ones saying goodbye
 *
 * A session that finished a transaction and can take another is kept idle
 * under its key (smtp_session_key: address, port, hop name, AUTH), so the
 * next message to the same hop reuses it with RSET instead of a new
 * connection, EHLO and TLS handshake.  An idle session ends after idle_ms,
 * when the cache is full, or when the pool is drained; every session that
 * ends here says QUIT and waits for the 221 (RFC 5321 4.1.1.10), bounded by
 * the session's QUIT timeout.
 *
 * The owner hears of each closed connection through closed(arg, slot): slot
 * is what was given to smtp_pool_retire() (a session limit the connection
 * held until it was gone, smtp_dest.h), NULL otherwise.  It may start new
 * sessions from there.
 *
 * Ownership: smtp_pool_new() / smtp_pool_free(&p); sessions given to the
 * pool are the pool's, smtp_pool_take() gives one back.
 */
#ifndef HERALD_SMTP_POOL_H
#define HERALD_SMTP_POOL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <herald/status.h>
#include <herald/loop.h>
#include <herald/dns.h>
#include <herald/trace.h>

#include "smtp_session.h"

#define SMTP_POOL_KEY_MAX 360         /* "ADDR PORT HOST auth" */

struct smtp_dest;
struct smtp_pool;

struct smtp_pool_opts {
    bool cache;                       /* keep sessions for reuse at all */
    uint64_t idle_ms;                 /* how long one stays idle */
    size_t max_idle;                  /* idle sessions kept */
    const struct herald_trace *trace; /* where idle sessions trace (borrowed) */
};

/*
 * smtp_session_key - the key of a session to addr:port for hop host (TLS
 * was checked against that name) with or without AUTH: a session without
 * it never serves a smart host, one with it never an MX.
 */
void smtp_session_key(char *buf, size_t cap, const struct herald_address *addr, uint16_t port,
                      const char *host, bool auth);

/* smtp_pool_new - HERALD_E_INVAL, HERALD_E_NOMEM */
herald_status smtp_pool_new(struct herald_loop *loop, const struct smtp_pool_opts *opts,
                            void (*closed)(void *arg, struct smtp_dest *slot), void *arg,
                            struct smtp_pool **pool_out);

/* smtp_pool_take - an idle usable session for key, out of the pool, or
 * NULL; one the server closed while it waited is retired on the way */
struct smtp_session *smtp_pool_take(struct smtp_pool *p, const char *key);

/* smtp_pool_put - keep s idle under key: true when kept (it then traces to
 * opts.trace); false when the cache is off or full, or s cannot be reused:
 * s is still the caller's */
bool smtp_pool_put(struct smtp_pool *p, struct smtp_session *s, const char *key);

/* smtp_pool_retire - QUIT s and close it; slot (may be NULL) goes to
 * closed() once the connection is gone */
void smtp_pool_retire(struct smtp_pool *p, struct smtp_session *s, struct smtp_dest *slot);

/* smtp_pool_drain - retire every idle session and run the loop until all
 * closed, at most bound_ms; those still open then are freed without a
 * closed() (the owner is closing too) */
void smtp_pool_drain(struct smtp_pool *p, uint64_t bound_ms);

/* smtp_pool_idle - how many sessions are idle */
size_t smtp_pool_idle(const struct smtp_pool *p);

/* smtp_pool_free - frees whatever is left at once, no callback */
void smtp_pool_free(struct smtp_pool **p);

#endif
