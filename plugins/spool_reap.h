/*
 * spool_reap.h - close removed queue files off the runner's path
 *
 * On a file system mounted with "discard" (and no journal to defer it), the
 * last close of an unlinked file frees its blocks with a synchronous discard
 * to the disk: milliseconds per message, paid in whatever thread closes it.
 * The spool hands the descriptor of each removed file here, and a few
 * threads close them in parallel (the disk takes several discards at once),
 * so the runner delivers while the blocks are freed.  The name is already
 * gone (unlinked, and durable at the next sync) when a descriptor arrives:
 * the reaper changes when blocks are freed, never what the queue holds.
 * A process that dies with descriptors queued here frees them on exit.
 */
#ifndef HERALD_SPOOL_REAP_H
#define HERALD_SPOOL_REAP_H

struct spool_reap;

/* spool_reap_new - an idle reaper; its threads start on the first close.
 * NULL when out of memory (then spool_reap_close closes at once). */
struct spool_reap *spool_reap_new(void);
/* spool_reap_close - close fd in a reaper thread (at once if there is none);
 * waits while the reaper is full, so descriptors stay bounded */
void spool_reap_close(struct spool_reap *rp, int fd);
/* spool_reap_free - wait until every queued descriptor is closed, stop */
void spool_reap_free(struct spool_reap *rp);

#endif
