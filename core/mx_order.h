/*
 * mx_order.h - pure planning steps of the MX walk (internal to libherald)
 *
 * Everything here is a pure function of its inputs (the shuffle takes its
 * random source as an argument), so each step is unit-tested on its own:
 * classify an MX answer, order MX records (RFC 5321 5.1), drop duplicate
 * and refused hosts, cap the list, and order/cap a host's addresses by the
 * configured address family.  No DNS, no allocation beyond what is stated.
 */
#ifndef HERALD_CORE_MX_ORDER_H
#define HERALD_CORE_MX_ORDER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <herald/dns.h>
#include <herald/outcome.h>
#include <herald/route.h>

/* The family a strategy asks DNS for, given the option. */
enum herald_family mx_family_query(enum herald_mx_family family);

/* A seedable PRNG (splitmix64): seed 0 means "pick a random seed". */
struct mx_rng {
    uint64_t state;
};
void mx_rng_init(struct mx_rng *rng, uint64_t seed);
/* mx_rng_below - a number in [0, n), n >= 1 */
uint64_t mx_rng_below(struct mx_rng *rng, uint64_t n);

/* What an MX answer means for the plan. */
enum mx_verdict {
    MX_USE = 0,         /* records to walk */
    MX_IMPLICIT,        /* no MX: the domain itself is the only host */
    MX_NULL,            /* RFC 7505: no mail, FAILED 5.1.0 (DESIGN.md; RFC 7505 registers X.1.10) */
    MX_NXDOMAIN,        /* FAILED 5.1.2 */
    MX_BADNAME,         /* FAILED 5.1.2: the name or an answer is not a host name */
    MX_TEMPFAIL,        /* DEFERRED 4.4.3 */
    MX_CANCELLED        /* the context is closing */
};
/* mx_classify - the verdict of one MX answer (class plus the records) */
enum mx_verdict mx_classify(enum herald_dns_class dns_class, const struct herald_mx *mx,
                            size_t count);
/* Result and DSN of a verdict that ends planning (MX_NULL, MX_NXDOMAIN,
 * MX_BADNAME, MX_TEMPFAIL); false for the others. */
bool mx_verdict_outcome(enum mx_verdict v, enum herald_result *result_out,
                        const char **dsn_out);

/* One MX record as the planner sees it. */
struct mx_entry {
    uint16_t preference;
    const char *host;         /* borrowed from the DNS answer */
    bool is_ip_literal;
    size_t tied;              /* after mx_sort: how many share this preference */
};

/* mx_sort - stable sort by preference, then shuffle each run of equal
 * preference (Fisher-Yates, so every order is equally likely); sets tied. */
void mx_sort(struct mx_entry *e, size_t n, struct mx_rng *rng);

/* Why mx_filter dropped an entry (for the trace). */
enum mx_drop { MX_KEEP = 0, MX_DROP_NULL, MX_DROP_IP_LITERAL, MX_DROP_DUPLICATE, MX_DROP_CAP };
const char *mx_drop_text(enum mx_drop why);

/* mx_filter - keep, in order, the entries a plan may use: no null ("")
 * entries, no IP literals unless allow_ip, each host once (case-insensitive,
 * the first is kept), at most max_hops.  why[i] tells, for every input,
 * what became of it (why may be NULL).  Compacts e; returns the new count. */
size_t mx_filter(struct mx_entry *e, size_t n, bool allow_ip, size_t max_hops,
                 enum mx_drop *why);

/* mx_addr_order - order and cap a host's addresses: drop the families the
 * option excludes and duplicates, put the preferred family first (stable),
 * keep at most max.  Compacts a; returns the new count. */
size_t mx_addr_order(struct herald_address *a, size_t n, enum herald_mx_family family, size_t max);

#endif
