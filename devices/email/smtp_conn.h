/*
 * smtp_conn.h - one non-blocking TCP connection on the herald loop
 *
 * Connects to one address and port (TCP_NODELAY: commands and the final dot
 * must not wait for a delayed ACK), then moves bytes: output is queued and
 * sent in large writes by smtp_conn_flush(), input is read into a bounded
 * buffer the owner consumes.  One deadline timer, re-armed by the owner for
 * each protocol state, reports SMTP_CONN_TIMEOUT.
 *
 * Events reach the owner through one callback, always from the loop, never
 * from inside a smtp_conn_* call.  The owner may free the connection inside
 * the callback.
 *
 * The byte stream goes through struct smtp_stream_ops, plain send/recv by
 * default, so a TLS layer can slot in later with smtp_conn_set_stream().
 * A stream with a state of its own tells what the socket cannot: input it
 * holds already decoded (pulled as soon as the input buffer has room, with
 * no socket event), and that it waits to write (recv is then called when
 * the socket is writable, which lets a TLS handshake go on).
 *
 * Ownership: smtp_conn_new() / smtp_conn_free(&c).  Getters are borrowed.
 */
#ifndef HERALD_SMTP_CONN_H
#define HERALD_SMTP_CONN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <herald/status.h>
#include <herald/loop.h>
#include <herald/dns.h>

#define SMTP_CONN_IN_MAX  8192         /* input buffer: the owner consumes */
#define SMTP_CONN_OUT_MAX (256 * 1024) /* queued output bound */

enum smtp_conn_event {
    SMTP_CONN_CONNECTED = 0,   /* the TCP connection is up */
    SMTP_CONN_INPUT = 1,       /* new octets: smtp_conn_input() */
    SMTP_CONN_DRAINED = 2,     /* everything queued was sent */
    SMTP_CONN_CLOSED = 3,      /* the peer closed the connection */
    SMTP_CONN_ERROR = 4,       /* connect or I/O failed: smtp_conn_error() */
    SMTP_CONN_TIMEOUT = 5      /* the deadline passed */
};

typedef void (*smtp_conn_fn)(void *arg, enum smtp_conn_event ev);

/* The byte-stream seam.  recv and send return octets moved, 0 for EOF (recv
 * only), -1 with errno EAGAIN when they would block, -1 with another errno on
 * error.  After a send that would block, the next send offers the same octets
 * first and never fewer (a TLS record that was begun is finished as it was).
 * The hooks are optional (NULL: the socket tells all):
 * pending - true while the stream holds received input that no readable
 *           event will announce (the rest of a TLS record larger than recv's n);
 * wants_write - true while the stream itself waits for the socket to take
 *           output (a TLS handshake); recv is called when it does. */
struct smtp_stream_ops {
    ssize_t (*recv)(void *ctx, void *buf, size_t n);
    ssize_t (*send)(void *ctx, const void *buf, size_t n);
    bool (*pending)(void *ctx);
    bool (*wants_write)(void *ctx);
};

struct smtp_conn;

/*
 * smtp_conn_new - start connecting to addr:port; the connect timeout runs
 * from now (0: none).  The outcome comes as SMTP_CONN_CONNECTED, _ERROR or
 * _TIMEOUT.  HERALD_E_INVAL for bad arguments, HERALD_E_NOMEM,
 * HERALD_E_LIMIT when the process or the system is out of file descriptors
 * (EMFILE, ENFILE), HERALD_E_CONNECT when no socket could be made otherwise
 * (diag says why).
 */
herald_status smtp_conn_new(struct herald_loop *loop, const struct herald_address *addr,
                            uint16_t port, uint64_t connect_timeout_ms, smtp_conn_fn fn,
                            void *arg, struct smtp_conn **conn_out, struct herald_diag *diag);
void smtp_conn_free(struct smtp_conn **conn);
/*
 * smtp_conn_adopt - a connection over fd, a connected stream socket that is
 * taken over (closed by smtp_conn_free, also on failure); SMTP_CONN_CONNECTED
 * comes from the loop as after smtp_conn_new().  peer is the text
 * smtp_conn_peer() gives.  The session's dialogue tests use one end of a
 * socketpair.  HERALD_E_INVAL, HERALD_E_NOMEM.
 */
herald_status smtp_conn_adopt(struct herald_loop *loop, int fd, const char *peer,
                              smtp_conn_fn fn, void *arg, struct smtp_conn **conn_out,
                              struct herald_diag *diag);

/* smtp_conn_set_stream - send and receive through ops/ctx from now on; what
 * the stream holds or waits for is looked at from the loop, after the caller
 * has started it (smtp_tls_start) */
void smtp_conn_set_stream(struct smtp_conn *c, const struct smtp_stream_ops *ops, void *ctx);
int smtp_conn_fd(const struct smtp_conn *c);

/* smtp_conn_set_timeout - (re)arm the deadline ms from now; 0 disarms it */
herald_status smtp_conn_set_timeout(struct smtp_conn *c, uint64_t ms);

/* smtp_conn_queue - append to the output; HERALD_E_LIMIT past SMTP_CONN_OUT_MAX */
herald_status smtp_conn_queue(struct smtp_conn *c, const void *data, size_t len);
/* smtp_conn_reserve - space for at least want octets at the end of the
 * output queue, to encode into in place (its size, never past the bound, in
 * *room_out); smtp_conn_commit() queues what was written there.  NULL when
 * the bound leaves less than want, or out of memory.  Valid until the next
 * smtp_conn_* call on c. */
char *smtp_conn_reserve(struct smtp_conn *c, size_t want, size_t *room_out);
/* smtp_conn_commit - queue n octets written at smtp_conn_reserve()'s space */
void smtp_conn_commit(struct smtp_conn *c, size_t n);
/* smtp_conn_room - how many more octets smtp_conn_queue() accepts */
size_t smtp_conn_room(const struct smtp_conn *c);
/* smtp_conn_pending - octets queued and not yet sent */
size_t smtp_conn_pending(const struct smtp_conn *c);
/* smtp_conn_flush - send what the socket takes now; the rest when writable,
 * then SMTP_CONN_DRAINED.  HERALD_E_IO on a write error (also reported). */
herald_status smtp_conn_flush(struct smtp_conn *c);

/* smtp_conn_input - the unconsumed input (borrowed), its length in *len_out */
const char *smtp_conn_input(const struct smtp_conn *c, size_t *len_out);
/* smtp_conn_consume - drop n octets from the front of the input; input the
 * stream holds comes as SMTP_CONN_INPUT from the loop once there is room */
void smtp_conn_consume(struct smtp_conn *c, size_t n);

/* smtp_conn_peer - "ADDR:PORT" ("[::1]:25" for IPv6) */
const char *smtp_conn_peer(const struct smtp_conn *c);
/* smtp_conn_error - the last error, "connect: Connection refused", or "" */
const char *smtp_conn_error(const struct smtp_conn *c);

#endif
