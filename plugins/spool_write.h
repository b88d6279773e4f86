/*
 * spool_write.h - write queue files into tmp/ for a commit (queue-spool.so)
 *
 * A segment being written (format in spool_seg.h) gathers the images of the
 * messages staged in it in memory, written out to tmp/NAME only past
 * SPOOL_WRITE_HELD octets, so that a commit of hundreds of messages is one
 * create and a few writes.  Sealing writes the rest, the index and the
 * header; a segment of one message is sealed as a file of its own (named by
 * the message's id, spool_file.h's format).  Nothing here syncs or renames:
 * the store's commit does, once for every file of the batch.
 */
#ifndef HERALD_SPOOL_WRITE_H
#define HERALD_SPOOL_WRITE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <herald/message.h>
#include <herald/queue.h>

#define SPOOL_WRITE_HELD (4u << 20)   /* image octets held before they are written */

struct spool_wseg {
    char name[HERALD_QUEUE_ID_SIZE];  /* the segment's name (spool_seg.h) */
    char file[HERALD_QUEUE_ID_SIZE];  /* what tmp/ holds once sealed */
    int fd;                           /* tmp/NAME, once written to */
    char *buf;                        /* images not yet written */
    size_t len, cap;
    uint64_t written;                 /* image octets already in tmp/NAME */
    uint64_t *offs;                   /* where each image starts in the file */
    size_t count, offcap;
    unsigned refs;                    /* the store's, and each staged message's */
    int err;                          /* a write failed: the segment is lost */
    bool sealed;                      /* tmp/FILE is whole */
    bool moved;                       /* renamed into q/ by the commit under way */
    bool done;                        /* committed or dropped */
};

/* spool_wseg_new - an empty segment named name; NULL when out of memory */
struct spool_wseg *spool_wseg_new(const char *name);
/* spool_wseg_add - one image more (its id is name + %04X count); 0 or errno */
int spool_wseg_add(struct spool_wseg *w, int tmpdir, const char *image, size_t len);
/* spool_wseg_seal - tmp/w->file whole (not synced); 0 or errno */
int spool_wseg_seal(struct spool_wseg *w, int tmpdir);
/* spool_wseg_drop - remove what tmp/ holds of it; it is done */
void spool_wseg_drop(struct spool_wseg *w, int tmpdir);
void spool_wseg_unref(struct spool_wseg *w);

/* spool_image - a message's whole image in memory (spool_file.h); NULL when
 * out of memory or its body cannot be read */
char *spool_image(const struct herald_queue_entry *entry, const struct herald_message *msg,
                  size_t *len_out);
/* spool_write_new - the image as tmp/NAME, created; 0 or errno (nothing left) */
int spool_write_new(int tmpdir, const char *name, const char *image, size_t len);
/* spool_write_large - a message too large to hold in memory, copied from its
 * reader to tmp/NAME; 0 or errno (nothing left) */
int spool_write_large(int tmpdir, const char *name, const struct herald_queue_entry *entry,
                      const struct herald_message *msg);

#endif
