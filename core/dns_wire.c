/*
 * dns_wire.c - reading the records of a DNS reply that belong to the question
 *
 * c-ares 1.18's ares_parse_mx_reply() hands back every MX record of the
 * answer section, whoever owns it: a resolver (or a spoofed reply) could
 * slip "victim.example MX attacker.example" into the answer to a question
 * about another name.  Here a record counts only when its owner is the
 * queried name, or the end of the CNAME chain that starts there (RFC 1034
 * 3.6.2, RFC 5321 5.1); records of other owners are counted so the trace
 * can say they were ignored.  Negative answers carry their lifetime in the
 * SOA of the authority section (RFC 2308 5).
 */
#include <arpa/nameser.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <ares.h>

#include "dns_wire.h"

#define WIRE_CNAME_MAX 8      /* links of a CNAME chain followed in one reply */

static unsigned
be16(const unsigned char *p)
{
    return (unsigned)p[0] << 8 | p[1];
}

static uint32_t
be32(const unsigned char *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* name_at - the (possibly compressed) name at p, malloc'd, and its encoded length */
static char *
name_at(const unsigned char *p, const unsigned char *abuf, int alen, long *enclen)
{
    char *name = NULL, *copy;

    if (ares_expand_name(p, abuf, alen, &name, enclen) != ARES_SUCCESS)
        return NULL;
    copy = strdup(name);
    ares_free_string(name);
    return copy;
}

/* name_skip - the encoded length of the name at p (labels up to the root or
 * a compression pointer), without expanding it; 0 when it runs past end.
 * The question is only stepped over: c-ares already matched it to the query. */
static long
name_skip(const unsigned char *p, const unsigned char *end)
{
    const unsigned char *q = p;

    while (q < end) {
        unsigned len = *q;

        if ((len & 0xc0) == 0xc0)
            return end - q >= 2 ? (long)(q + 2 - p) : 0;
        if ((len & 0xc0) != 0)
            return 0;   /* the reserved label types of RFC 6891 and before */
        if (len == 0)
            return (long)(q + 1 - p);
        if ((size_t)(end - q) < len + 1u)
            return 0;
        q += len + 1;
    }
    return 0;
}

/* same_name - DNS names compare without case, a trailing dot aside (RFC 4343) */
static bool
same_name(const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b);

    if (la > 0 && a[la - 1] == '.')
        la--;
    if (lb > 0 && b[lb - 1] == '.')
        lb--;
    return la == lb && strncasecmp(a, b, la) == 0;
}

/* A record of a reply, its owner expanded. */
struct rr {
    char *owner;
    unsigned type, cls;
    uint32_t ttl;
    const unsigned char *rdata;
    unsigned rdlen;
};

/* read_records - the records of the answer and authority sections, owners expanded */
static int
read_records(const unsigned char *abuf, int alen, struct rr **out, size_t *n_an, size_t *n_all)
{
    const unsigned char *p = abuf + HFIXEDSZ, *end = abuf + alen;
    unsigned qd, an, ns, i;
    struct rr *rrs;
    size_t n = 0;

    *out = NULL;
    *n_an = *n_all = 0;
    if (alen < HFIXEDSZ)
        return ARES_EBADRESP;
    qd = be16(abuf + 4);
    an = be16(abuf + 6);
    ns = be16(abuf + 8);
    for (i = 0; i < qd; i++) {
        long len = name_skip(p, end);

        if (len == 0 || end - p < len + QFIXEDSZ)
            return ARES_EBADRESP;
        p += len + QFIXEDSZ;
    }
    rrs = calloc((size_t)an + ns + 1, sizeof *rrs);
    if (rrs == NULL)
        return ARES_ENOMEM;
    for (i = 0; i < an + ns; i++) {
        long len;
        char *owner = name_at(p, abuf, alen, &len);

        if (owner == NULL || end - p < len + RRFIXEDSZ) {
            free(owner);
            break;   /* a truncated tail: keep what was whole */
        }
        p += len;
        rrs[n].owner = owner;
        rrs[n].type = be16(p);
        rrs[n].cls = be16(p + 2);
        rrs[n].ttl = be32(p + 4);
        if (rrs[n].ttl > 0x7fffffffu)   /* RFC 2181 8: top bit set counts as 0 */
            rrs[n].ttl = 0;
        rrs[n].rdlen = be16(p + 8);
        p += RRFIXEDSZ;
        if (end - p < (long)rrs[n].rdlen) {
            free(owner);
            rrs[n].owner = NULL;
            break;
        }
        rrs[n].rdata = p;
        p += rrs[n].rdlen;
        n++;
    }
    /* Records are read in order: the first an of them are the answer section. */
    *n_an = n < an ? n : an;
    *n_all = n;
    *out = rrs;
    return ARES_SUCCESS;
}

static void
free_records(struct rr *rrs, size_t n)
{
    size_t i;

    for (i = 0; i < n; i++)
        free(rrs[i].owner);
    free(rrs);
}

/* chain_end - the name qname leads to through the CNAMEs of the answer (borrowed) */
static const char *
chain_end(const struct rr *rrs, size_t n, const char *qname, const unsigned char *abuf, int alen,
          char **hold)
{
    const char *target = qname;
    size_t hops, i;

    *hold = NULL;
    for (hops = 0; hops < WIRE_CNAME_MAX; hops++) {
        for (i = 0; i < n; i++)
            if (rrs[i].type == T_CNAME && rrs[i].cls == C_IN && same_name(rrs[i].owner, target))
                break;
        if (i == n)
            break;
        {
            long len;
            char *next = name_at(rrs[i].rdata, abuf, alen, &len);

            if (next == NULL)
                break;
            free(*hold);
            *hold = next;
            target = next;
        }
    }
    return target;
}

/* dns_wire_records - the records of type owned by qname (or its CNAME target) */
int
dns_wire_records(const unsigned char *abuf, int alen, const char *qname, unsigned type,
                 dns_wire_fn fn, void *arg, size_t *foreign_out, uint32_t *ttl_out)
{
    struct rr *rrs;
    size_t n_an, n_all, i, foreign = 0, kept = 0;
    const char *target;
    char *hold;
    uint32_t ttl = 0;
    int rc;

    if (foreign_out != NULL)
        *foreign_out = 0;
    if (ttl_out != NULL)
        *ttl_out = 0;
    rc = read_records(abuf, alen, &rrs, &n_an, &n_all);
    if (rc != ARES_SUCCESS)
        return rc;
    target = chain_end(rrs, n_an, qname, abuf, alen, &hold);
    for (i = 0; i < n_an; i++) {
        struct dns_wire_rr r;

        if (rrs[i].type != type || rrs[i].cls != C_IN)
            continue;
        if (!same_name(rrs[i].owner, target)) {
            foreign++;
            continue;
        }
        r.owner = rrs[i].owner;
        r.ttl = rrs[i].ttl;
        r.rdata = rrs[i].rdata;
        r.rdlen = rrs[i].rdlen;
        r.abuf = abuf;
        r.alen = alen;
        rc = fn(arg, &r);
        if (rc != ARES_SUCCESS)
            break;
        if (kept == 0 || r.ttl < ttl)
            ttl = r.ttl;
        kept++;
    }
    free(hold);
    free_records(rrs, n_all);
    if (foreign_out != NULL)
        *foreign_out = foreign;
    if (ttl_out != NULL)
        *ttl_out = ttl;
    return rc;
}

/* dns_wire_mx_rdata - preference and target (malloc'd, no trailing dot) of an MX record */
int
dns_wire_mx_rdata(const struct dns_wire_rr *r, unsigned *pref, char **target)
{
    long len;

    if (r->rdlen < 3)
        return ARES_EBADRESP;
    *pref = be16(r->rdata);
    *target = name_at(r->rdata + 2, r->abuf, r->alen, &len);
    if (*target == NULL || len + 2 > (long)r->rdlen) {
        free(*target);
        *target = NULL;
        return ARES_EBADRESP;
    }
    return ARES_SUCCESS;
}

/* dns_wire_negative_ttl - RFC 2308 5: min(SOA TTL, SOA MINIMUM) of the authority section */
bool
dns_wire_negative_ttl(const unsigned char *abuf, int alen, uint32_t *ttl_out)
{
    struct rr *rrs;
    size_t n_an, n_all, i;
    bool found = false;

    if (abuf == NULL || read_records(abuf, alen, &rrs, &n_an, &n_all) != ARES_SUCCESS)
        return false;
    for (i = n_an; i < n_all && !found; i++) {
        const unsigned char *p = rrs[i].rdata, *end = p + rrs[i].rdlen;
        long len;
        int k;

        if (rrs[i].type != T_SOA || rrs[i].cls != C_IN)
            continue;
        for (k = 0; k < 2; k++) {   /* MNAME, RNAME */
            char *skip = name_at(p, abuf, alen, &len);

            free(skip);
            if (skip == NULL || end - p < len)
                break;
            p += len;
        }
        if (k < 2 || end - p < 20)
            continue;
        {
            uint32_t minimum = be32(p + 16);

            if (minimum > 0x7fffffffu)
                minimum = 0;
            *ttl_out = rrs[i].ttl < minimum ? rrs[i].ttl : minimum;
            found = true;
        }
    }
    free_records(rrs, n_all);
    return found;
}

/* dns_wire_rcode - the reply's RCODE, -1 when too short */
int
dns_wire_rcode(const unsigned char *abuf, int alen)
{
    if (abuf == NULL || alen < HFIXEDSZ)
        return -1;
    return abuf[3] & 0x0f;
}
