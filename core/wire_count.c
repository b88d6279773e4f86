/*
 * wire_count.c - a body's size on the wire, for SIZE= (see wire_count.h)
 */
#include <string.h>

#include "wire_count.h"

/* count_of - occurrences of ch in p[0..n), by memchr */
static size_t
count_of(const char *p, size_t n, char ch)
{
    const char *end = p + n, *q;
    size_t k = 0;

    for (; p < end && (q = memchr(p, ch, (size_t)(end - p))) != NULL; p = q + 1)
        k++;
    return k;
}

/*
 * wire_count_add - every body passes through here once, so no loop over
 * single octets: a line ending (CRLF, bare CR, bare LF) is 2 octets on the
 * wire and any other octet 1, so the chunk adds its length plus one per CR
 * and per LF, less two per CRLF; the CRs and LFs are found with memchr.  A CR
 * that ends the chunk waits for the next one (it may be a CRLF split in two).
 */
void
wire_count_add(struct wire_count *c, const void *data, size_t len)
{
    const char *p = data, *end = p + len, *q;
    size_t crlf = 0;

    if (len == 0)
        return;
    if (c->cr_pending) {
        c->cr_pending = false;
        c->octets += 2;               /* CRLF, or a bare CR written as CRLF */
        c->at_bol = true;
        if (*p == '\n' && ++p == end)
            return;
    }
    for (q = p; q < end && (q = memchr(q, '\n', (size_t)(end - q))) != NULL; q++)
        if (q > p && q[-1] == '\r')
            crlf++;
    c->octets += (uint64_t)(end - p) + count_of(p, (size_t)(end - p), '\r')
                 + count_of(p, (size_t)(end - p), '\n') - 2 * (uint64_t)crlf;
    if (end[-1] == '\r') {
        c->octets -= 2;               /* counted when the next octet tells what it ends */
        c->cr_pending = true;
    }
    c->at_bol = end[-1] == '\n' || end[-1] == '\r';
}

/* wire_count_total - the octets so far, the last line ended as it will be sent */
uint64_t
wire_count_total(const struct wire_count *c)
{
    uint64_t n = c->octets;

    if (c->cr_pending)
        return n + 2;
    /* The encoder ends a last line without a line ending with CRLF. */
    return c->at_bol ? n : n + 2;
}
