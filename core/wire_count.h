/*
 * wire_count.h - a body's size as it goes on the wire, for SIZE= (RFC 1870)
 *
 * Every line ending (CRLF, a bare CR, a bare LF) counts as CRLF, and a last
 * line without one gets CRLF, as the SMTP body encoder sends them; the
 * doubled dots and the end-of-data mark are not counted.  The message counts
 * its body once, when the body is set (herald_message_body_wire_size()), so
 * no delivery attempt reads the body for it (internal to libherald).
 *
 * Zero-initialise with at_bol = true (WIRE_COUNT_INIT), add the body in
 * chunks of any size, then take the total.
 */
#ifndef HERALD_WIRE_COUNT_H
#define HERALD_WIRE_COUNT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct wire_count {
    uint64_t octets;
    bool cr_pending;    /* a chunk ended in CR: the next one says what it ends */
    bool at_bol;        /* start with true: an empty body is 0 octets */
};
#define WIRE_COUNT_INIT { 0, false, true }

void wire_count_add(struct wire_count *c, const void *data, size_t len);
uint64_t wire_count_total(const struct wire_count *c);

#endif
