/*
 * spool_seg.h - the queue files of q/ open in this process (queue-spool.so)
 *
 * A queue file is either a file of one message (spool_file.h: its image,
 * then its state records; the only kind before segments) or a segment: the
 * messages of one group commit in one file, so that enqueuing creates one
 * file per commit rather than one per message (each create costs the file
 * system far more than the octets written):
 *
 *   HERALD-SEGMENT 1\n
 *   count NNNNN index OOOOOOOOOOOOOOOOOOOO\n      fixed width: written last
 *   <image 0><image 1>...<image N-1>             spool_file.h's images; the
 *                                                 id of image K is NAME + %04X K
 *   index OFF0 OFF1 ... OFFN-1\n                  at octet OOOO...: each image
 *   then state records, appended: "K RECORD\n"   RECORD as in spool_file.h, or
 *                                                 "x" (message K removed)
 *
 * A segment's name is a queue id of SPOOL_SEG_NAME_LEN characters ending in
 * 's'; its messages' ids add four hex digits.  A commit of one message makes
 * a file of one, named by its id, so one name never holds both.
 *
 * One struct spool_seg per open file, shared (refcounted) by the scan and
 * every claim of its messages: flock() belongs to the open file, so one
 * descriptor per file and process lets one runner hold many of its messages
 * at once, and the file is parsed once, not once per claim.
 *
 * Damage: a segment whose header is unreadable is corrupt as a whole.  An
 * image that does not parse damages that message only (the index finds the
 * others); without a readable index (a truncated file) the images are read
 * in order and the first bad one damages it and every one after it, and no
 * state record can be found (the intact ones may be delivered again).  A
 * state record that does not parse damages every message of the file (its
 * states can no longer be trusted).
 */
#ifndef HERALD_SPOOL_SEG_H
#define HERALD_SPOOL_SEG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <herald/queue.h>

#include "spool_file.h"

#define SPOOL_SEG_MAGIC "HERALD-SEGMENT 1\n"
#define SPOOL_SEG_MAGIC_LEN 17
#define SPOOL_SEG_HEAD_FMT "count %05zu index %020" PRIu64 "\n"
#define SPOOL_SEG_HEAD_LEN (SPOOL_SEG_MAGIC_LEN + 39)
#define SPOOL_SEG_MAX 65536         /* messages: four hex digits of index */
#define SPOOL_SEG_NAME_LEN 25       /* a 24-character id, then 's' */
#define SPOOL_SEG_ID_LEN (SPOOL_SEG_NAME_LEN + 4)

#define SPOOL_SEG_REMOVED 0x1u
#define SPOOL_SEG_DAMAGED 0x2u
#define SPOOL_SEG_CLAIMED 0x4u      /* locked by a claim of this process */

struct spool_seg {
    struct spool_seg *next;
    char name[HERALD_QUEUE_ID_SIZE];  /* in q/ */
    int fd;
    bool multi;                     /* a segment, not a file of one message */
    bool records_ok;                /* state records can be found (end is meaningful) */
    bool gone;                      /* unlinked or moved: never found again */
    bool traced;                    /* its damage was traced */
    unsigned refs, locks;           /* users; claims holding its flock */
    size_t count, live, damaged;    /* live: neither removed nor damaged */
    struct spool_parsed *msgs;      /* [count] */
    unsigned char *flags;           /* [count] SPOOL_SEG_* */
    uint64_t end;                   /* end of the last whole state record */
    char why[200];                  /* the first damage */
};

/* The open files of one spool. */
struct spool_segs {
    struct spool_seg *head;
    int qdir;
};

/* spool_seg_is_name - a segment's file name (not a message id) */
bool spool_seg_is_name(const char *name);
/* spool_seg_split - a segment message's id: its segment's name and index */
bool spool_seg_split(const char *id, char name[HERALD_QUEUE_ID_SIZE], size_t *index);

/* spool_seg_id - message k's id: name (a segment's) and k as four hex digits */
void spool_seg_id(char id[HERALD_QUEUE_ID_SIZE], const char *name, size_t k);
/* spool_seg_get - q/NAME, shared if open (refs + 1), else opened and parsed;
 * 0, or -1 with errno (ENOENT: no such file) */
int spool_seg_get(struct spool_segs *ss, const char *name, struct spool_seg **out);
/* spool_seg_put - one user less; the last one closes it (fd handed to
 * close_fn, which frees a removed file's blocks, when gone) */
void spool_seg_put(struct spool_segs *ss, struct spool_seg *s,
                   void (*close_fn)(void *arg, int fd), void *arg);
/* spool_seg_refresh - apply the records appended since the last read; with
 * cut (the caller holds the lock), truncate a record torn by a crash.  Only
 * while no claim borrows an entry of s.  0, or -1 with errno */
int spool_seg_refresh(struct spool_seg *s, bool cut);
/* spool_seg_damage - message k damaged, for why */
void spool_seg_damage(struct spool_seg *s, size_t k, const char *why);

#endif
