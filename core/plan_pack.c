/*
 * plan_pack.c - a finished route plan as a few octets, and back (route_plan.h)
 *
 * A kept plan costs the table only what it says.  The octets:
 *   count (0..ROUTE_MAX_HOPS), or PACK_FAILED then result, dsn NUL, reason NUL;
 *   per hop: port (2, big-endian), preference (4), address count (1),
 *   host NUL, origin NUL, then per address a tag and its octets:
 *     4: the 4 octets of an IPv4 address, 6: the 16 of an IPv6 address, in
 *     the resolver's form (dns_address_make: port 0, its text), or
 *     0: a struct herald_address as given, for anything else a strategy
 *     handed over (a port, a scope, its own text), so nothing is lost.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dns.h"
#include "route_plan.h"

#define PACK_FAILED 0xff

/* compact - 4 or 6 when the address is in the resolver's form (*raw its
 * octets), 0 when it must be kept whole */
static int
compact(const struct herald_address *a, const void **raw)
{
    const struct sockaddr *sa = (const struct sockaddr *)&a->sa;
    struct herald_address c;
    int tag;

    if (sa->sa_family == AF_INET && a->len == sizeof(struct sockaddr_in)) {
        *raw = &((const struct sockaddr_in *)sa)->sin_addr;
        tag = 4;
    } else if (sa->sa_family == AF_INET6 && a->len == sizeof(struct sockaddr_in6)) {
        *raw = &((const struct sockaddr_in6 *)sa)->sin6_addr;
        tag = 6;
    } else {
        return 0;
    }
    dns_address_make(&c, sa->sa_family, *raw);
    if (memcmp(&c.sa, &a->sa, a->len) != 0 || strcmp(c.text, a->text) != 0)
        return 0;
    return tag;
}

/* plan_pack_size - the octets plan_pack will write */
size_t
plan_pack_size(const struct herald_route_plan *plan)
{
    size_t n, i, j;

    if (plan->failed)
        return 2 + strlen(plan->dsn) + 1 + (plan->reason ? strlen(plan->reason) : 0) + 1;
    if (plan->count >= PACK_FAILED)
        return 0;
    n = 1;
    for (i = 0; i < plan->count; i++) {
        const struct herald_hop *h = &plan->hops[i].pub;

        if (h->address_count > 255)
            return 0;
        n += 2 + 4 + 1 + strlen(h->host) + 1 + strlen(h->origin) + 1;
        for (j = 0; j < h->address_count; j++) {
            const void *raw;

            switch (compact(&h->addresses[j], &raw)) {
            case 4: n += 1 + 4; break;
            case 6: n += 1 + 16; break;
            default: n += 1 + sizeof(struct herald_address); break;
            }
        }
    }
    return n;
}

static unsigned char *
put_str(unsigned char *p, const char *s)
{
    size_t n = strlen(s) + 1;

    memcpy(p, s, n);
    return p + n;
}

/* plan_pack - plan as plan_pack_size(plan) octets */
void
plan_pack(const struct herald_route_plan *plan, unsigned char *p)
{
    size_t i, j;

    if (plan->failed) {
        *p++ = PACK_FAILED;
        *p++ = (unsigned char)plan->result;
        p = put_str(p, plan->dsn);
        put_str(p, plan->reason ? plan->reason : "");
        return;
    }
    *p++ = (unsigned char)plan->count;
    for (i = 0; i < plan->count; i++) {
        const struct herald_hop *h = &plan->hops[i].pub;
        uint32_t pref = (uint32_t)h->preference;

        *p++ = (unsigned char)(h->port >> 8);
        *p++ = (unsigned char)(h->port & 0xff);
        memcpy(p, &pref, 4);
        p += 4;
        *p++ = (unsigned char)h->address_count;
        p = put_str(p, h->host);
        p = put_str(p, h->origin);
        for (j = 0; j < h->address_count; j++) {
            const void *raw;
            int tag = compact(&h->addresses[j], &raw);

            *p++ = (unsigned char)tag;
            if (tag == 0) {
                memcpy(p, &h->addresses[j], sizeof h->addresses[j]);
                p += sizeof h->addresses[j];
            } else {
                memcpy(p, raw, tag == 4 ? 4 : 16);
                p += tag == 4 ? 4 : 16;
            }
        }
    }
}

/* skip_str - past the NUL of the string at p (within end), NULL when there is none */
static const unsigned char *
skip_str(const unsigned char *p, const unsigned char *end, size_t *len)
{
    const unsigned char *z = memchr(p, '\0', (size_t)(end - p));

    if (z == NULL)
        return NULL;
    *len += (size_t)(z - p) + 1;
    return z + 1;
}

/* take_str - copy the string at p to *dst (advanced); p past it */
static const unsigned char *
take_str(const unsigned char *p, char **dst, char **out)
{
    size_t n = strlen((const char *)p) + 1;

    memcpy(*dst, p, n);
    *out = *dst;
    *dst += n;
    return p + n;
}

/* addr_len - octets after the tag of an address */
static size_t
addr_len(unsigned char tag)
{
    return tag == 4 ? 4 : tag == 6 ? 16 : sizeof(struct herald_address);
}

/* plan_unpack - one allocation: the plan, its hops, their addresses, then the strings */
struct herald_route_plan *
plan_unpack(const unsigned char *p, size_t len, const char *domain)
{
    const unsigned char *q, *end = p + len;
    size_t count, addrs = 0, strs = strlen(domain) + 1, i, j;
    struct herald_route_plan *plan;
    struct herald_address *a;
    char *s;

    if (len < 1)
        return NULL;
    count = p[0] == PACK_FAILED ? 0 : p[0];
    /* First the sizes (the octets are our own: checked against len all the same). */
    q = p + 1;
    if (p[0] == PACK_FAILED) {
        if (q >= end || (q = skip_str(q + 1, end, &strs)) == NULL
            || skip_str(q, end, &strs) == NULL)
            return NULL;
    }
    for (i = 0; i < count; i++) {
        size_t n;

        if (end - q < 7)
            return NULL;
        n = q[6];
        q += 7;
        if ((q = skip_str(q, end, &strs)) == NULL || (q = skip_str(q, end, &strs)) == NULL)
            return NULL;
        for (j = 0; j < n; j++) {
            if (q >= end || (size_t)(end - q) < 1 + addr_len(*q))
                return NULL;
            q += 1 + addr_len(*q);
        }
        addrs += n;
    }
    plan = calloc(1, sizeof *plan + count * sizeof(struct plan_hop)
                         + addrs * sizeof(struct herald_address) + strs);
    if (plan == NULL)
        return NULL;
    plan->one_block = true;
    plan->hops = (struct plan_hop *)(plan + 1);
    a = (struct herald_address *)(plan->hops + count);
    s = (char *)(a + addrs);
    plan->count = plan->cap = count;
    memcpy(s, domain, strlen(domain) + 1);
    plan->domain = s;
    s += strlen(domain) + 1;
    q = p + 1;
    if (p[0] == PACK_FAILED) {
        plan->failed = true;
        plan->result = (enum herald_result)*q++;
        snprintf(plan->dsn, sizeof plan->dsn, "%s", (const char *)q);
        q += strlen((const char *)q) + 1;
        take_str(q, &s, &plan->reason);
        return plan;
    }
    for (i = 0; i < count; i++) {
        struct plan_hop *h = &plan->hops[i];
        uint32_t pref;

        h->pub.port = (uint16_t)(q[0] << 8 | q[1]);
        memcpy(&pref, q + 2, 4);
        h->pub.preference = (int)pref;
        h->pub.address_count = q[6];
        q += 7;
        q = take_str(q, &s, &h->host);
        q = take_str(q, &s, &h->origin);
        h->addrs = h->pub.address_count > 0 ? a : NULL;
        for (j = 0; j < h->pub.address_count; j++, a++) {
            unsigned char tag = *q++;

            if (tag == 0)
                memcpy(a, q, sizeof *a);
            else
                dns_address_make(a, tag == 6 ? AF_INET6 : AF_INET, q);
            q += addr_len(tag);
        }
        h->pub.host = h->host;
        h->pub.origin = h->origin;
        h->pub.addresses = h->addrs;
    }
    return plan;
}
