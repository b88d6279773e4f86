/*
 * dns_udp.h - c-ares' sockets, with the UDP queries of one loop pass sent
 * together and the answers read in batches (internal, for dns.c)
 *
 * c-ares 1.18 sends each query with its own send() and reads each answer
 * with its own recvfrom(), one syscall (and, on a loaded host, one wake-up
 * of the resolver) per datagram.  Given to a channel with
 * ares_set_socket_functions(), these functions keep its UDP queries in a
 * queue that goes out with sendmmsg() once the loop pass that made them is
 * over (a 0 ms timer), and fill a per-socket buffer with recvmmsg() from
 * which c-ares' reads are served.  TCP goes straight through.
 *
 * A query the kernel refused when the queue went out is reported to c-ares
 * as that socket's error on its next read (dns_udp_error_fn asks the owner
 * to let c-ares read at once), so a refused server still fails fast.
 *
 * Ownership: dns_udp_free() drops what is queued; every socket must have
 * been closed by c-ares first (ares_destroy).
 */
#ifndef HERALD_CORE_DNS_UDP_H
#define HERALD_CORE_DNS_UDP_H

#include <ares.h>
#include <herald/loop.h>

struct dns_udp;

/* A queued send on fd of channel failed: let c-ares read fd now. */
typedef void (*dns_udp_error_fn)(void *owner, ares_channel channel, int fd);

/* A batcher on loop; sockets it opens get a receive buffer of rcvbuf octets. */
struct dns_udp *dns_udp_new(struct herald_loop *loop, int rcvbuf, dns_udp_error_fn on_error,
                            void *owner);
/* channel's sockets go through u from now on (before its first query). */
int dns_udp_attach(struct dns_udp *u, ares_channel channel);
void dns_udp_free(struct dns_udp **u);

#endif
