/*
 * dns_wire.h - records of a DNS reply that belong to the question (internal)
 *
 * Only records whose owner is the queried name, or the end of the CNAME
 * chain starting at it within the answer, are handed out; others are
 * counted in *foreign_out.  Return values are ARES_* codes.
 */
#ifndef HERALD_CORE_DNS_WIRE_H
#define HERALD_CORE_DNS_WIRE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct dns_wire_rr {
    const char *owner;
    uint32_t ttl;                  /* top bit set read as 0 (RFC 2181 8) */
    const unsigned char *rdata;
    unsigned rdlen;
    const unsigned char *abuf;     /* the whole reply, for compressed names */
    int alen;
};

/* Called per record kept; anything but ARES_SUCCESS stops the walk and is returned. */
typedef int (*dns_wire_fn)(void *arg, const struct dns_wire_rr *rr);

/* The answer records of type owned by qname; *ttl_out the smallest TTL of them. */
int dns_wire_records(const unsigned char *abuf, int alen, const char *qname, unsigned type,
                     dns_wire_fn fn, void *arg, size_t *foreign_out, uint32_t *ttl_out);
/* Preference and target (malloc'd, "" for the root) of an MX record. */
int dns_wire_mx_rdata(const struct dns_wire_rr *r, unsigned *pref, char **target);
/* RFC 2308 5: the lifetime of a negative answer, from the SOA in its authority section. */
bool dns_wire_negative_ttl(const unsigned char *abuf, int alen, uint32_t *ttl_out);
/* The RCODE of a reply, -1 when it is too short. */
int dns_wire_rcode(const unsigned char *abuf, int alen);

#endif
