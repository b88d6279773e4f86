/*
 * spool_file.h - the format of one message in the spool (queue-spool.so)
 *
 * A message's image, then its state records, is a file of its own (the
 * only kind before segments, spool_seg.h, which hold many such images and
 * prefix each record with the message's index).  Written once, whole, then
 * only appended to:
 *
 *   HERALD-QUEUE 1\n
 *   id ID\n arrival SECS\n device NAME\n sender ADDR\n
 *   notify BITS\n ret N\n [envid X\n] 8bit 0|1\n
 *   rcpt ADDR\n ...                        one per recipient, in order
 *   body SIZE\n
 *   <SIZE octets of body>
 *   \nend\n                               proves the body is complete
 *   then state records, each one line, appended as delivery goes on:
 *   r INDEX STATE ATTEMPTS NEXT_TRY POSSIBLY NOTIFIED DSN REPLY\n
 *   h 0|1\n  (held)      w 0|1\n  (delay warning queued)
 *
 * STATE is d (deferred), D (delivered) or F (failed); DSN is "-" for none;
 * REPLY escapes '%', controls and DEL as %XX.  The last record for a
 * recipient wins.  A last line without its newline is a record torn by a
 * crash and is ignored (the writer truncates it away under its lock).
 * Anything else that does not parse makes the file corrupt.
 */
#ifndef HERALD_SPOOL_FILE_H
#define HERALD_SPOOL_FILE_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <herald/queue.h>

/* A parsed file: the entry and the strings it points into. */
struct spool_parsed {
    struct herald_queue_entry entry;
    uint64_t body_offset;        /* where the body starts in the file */
    uint64_t valid_end;          /* end of the last whole record */
    /* Every string of entry is owned by p (freed by spool_parsed_free). */
};

/* spool_write_header - the header up to and including "body SIZE\n" */
int spool_write_header(FILE *f, const struct herald_queue_entry *e);
#define SPOOL_END_MARK "\nend\n"
#define SPOOL_END_LEN 5

/* spool_record - one recipient's state record into buf (NUL-terminated);
 * returns its length, or 0 when it does not fit */
size_t spool_record(char *buf, size_t size, size_t index, const struct herald_queue_rcpt *r);

#define SPOOL_MAX_LINE 4096          /* a reply is at most a few hundred octets */
#define SPOOL_MAX_RECORDS 10000000   /* a loop bound, far above any lifetime's */

/* spool_parse_image - one message image (header, body, end mark) from f, whose
 * position is off, into p (state records not read: every recipient deferred,
 * never tried); p->valid_end is the octet after its end mark.  0, or -1 with
 * why[] set (p is then empty) */
int spool_parse_image(FILE *f, uint64_t off, struct spool_parsed *p, char *why,
                      size_t why_size);
/* spool_parse_record - one state record line (no newline; changed in place)
 * into p; false if malformed */
bool spool_parse_record(char *line, struct spool_parsed *p);
void spool_parsed_free(struct spool_parsed *p);

#endif
