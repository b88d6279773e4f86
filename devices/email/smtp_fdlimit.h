/*
 * smtp_fdlimit.h - descriptors for a session pool: max_sessions against RLIMIT_NOFILE
 *
 * Each session is a socket.  A pool allowed more sessions than the process
 * may open descriptors would fail messages with "socket: Too many open
 * files" although nothing is wrong with them, so when a device opens, its
 * pool's needs are checked against the limit: the soft limit is raised
 * towards the hard limit when it is short, and what still does not fit is
 * taken off the sessions.  Descriptors used by others at run time (another
 * device, the program itself) are the pool's business: it waits for one.
 */
#ifndef HERALD_SMTP_FDLIMIT_H
#define HERALD_SMTP_FDLIMIT_H

#include <stdbool.h>
#include <stddef.h>

/* Descriptors left to everything else: DNS sockets, trace files, the program's own. */
#define SMTP_FD_SPARE 32

struct smtp_fd_budget {
    size_t sessions;         /* the sessions that fit: at most those asked, at least 1 */
    size_t need;             /* descriptors the asked sessions would need */
    size_t open_now;         /* descriptors open when checked (counted only when short) */
    unsigned long soft_before, soft, hard;   /* RLIM_INFINITY shown as ULONG_MAX */
    bool raised;             /* the soft limit was raised */
    bool clamped;            /* sessions < asked */
};

/* smtp_fd_budget - room for sessions busy sessions plus extra kept by the
 * pool (idle ones) and SMTP_FD_SPARE; see above.  Never fails. */
void smtp_fd_budget(size_t sessions, size_t extra, struct smtp_fd_budget *out);

#endif
