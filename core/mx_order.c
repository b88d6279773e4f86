/*
 * mx_order.c - pure planning steps: classify, sort and shuffle, filter, cap
 *
 * See mx_order.h.  The shuffle follows RFC 5321 5.1 ("equal preference in
 * random order"); only hosts of equal preference ever change places.
 */
#include <string.h>
#include <strings.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <time.h>
#include <unistd.h>

#include "mx_order.h"

/* mx_family_query - ipv4/ipv6 ask one family, the others ask for both */
enum herald_family
mx_family_query(enum herald_mx_family family)
{
    switch (family) {
    case HERALD_MX_FAMILY_IPV4:
        return HERALD_FAMILY_IPV4;
    case HERALD_MX_FAMILY_IPV6:
        return HERALD_FAMILY_IPV6;
    default:
        return HERALD_FAMILY_ANY;
    }
}

/* mx_rng_init - seed the generator; 0 asks the kernel for a seed */
void
mx_rng_init(struct mx_rng *rng, uint64_t seed)
{
    if (seed == 0) {
        /* Not a secret, only an order: if getrandom fails, the clock and the
         * pid still vary from run to run. */
        if (getrandom(&seed, sizeof seed, GRND_NONBLOCK) != (ssize_t)sizeof seed) {
            struct timespec ts;

            clock_gettime(CLOCK_REALTIME, &ts);
            seed = ((uint64_t)ts.tv_sec << 32) ^ (uint64_t)ts.tv_nsec ^ (uint64_t)getpid();
        }
    }
    rng->state = seed;
}

/* mx_rng_next - splitmix64: every seed gives a full-period, well-mixed stream */
static uint64_t
mx_rng_next(struct mx_rng *rng)
{
    uint64_t z = (rng->state += 0x9e3779b97f4a7c15u);

    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9u;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebu;
    return z ^ (z >> 31);
}

/* mx_rng_below - uniform in [0, n): rejection removes the modulo bias */
uint64_t
mx_rng_below(struct mx_rng *rng, uint64_t n)
{
    uint64_t limit, r;

    if (n <= 1)
        return 0;
    limit = UINT64_MAX - UINT64_MAX % n;
    do
        r = mx_rng_next(rng);
    while (r >= limit);
    return r % n;
}

/* mx_classify - the verdict of one MX answer */
enum mx_verdict
mx_classify(enum herald_dns_class dns_class, const struct herald_mx *mx, size_t count)
{
    switch (dns_class) {
    case HERALD_DNS_OK:
        if (count == 0)
            return MX_IMPLICIT;        /* a CNAME loop or an empty answer: as NODATA */
        /* RFC 7505: a null MX is the only record.  A "." beside real
         * records is a misconfiguration; mx_filter drops it, the rest is used. */
        if (count == 1 && mx != NULL && mx[0].host != NULL && mx[0].host[0] == '\0')
            return MX_NULL;
        return MX_USE;
    case HERALD_DNS_NODATA:
        return MX_IMPLICIT;
    case HERALD_DNS_NXDOMAIN:
        return MX_NXDOMAIN;
    case HERALD_DNS_BADNAME:
        return MX_BADNAME;
    case HERALD_DNS_CANCELLED:
        return MX_CANCELLED;
    case HERALD_DNS_TEMPFAIL:
    default:
        return MX_TEMPFAIL;            /* an unknown class must never become permanent */
    }
}

/* mx_verdict_outcome - result and DSN of a verdict that ends planning */
bool
mx_verdict_outcome(enum mx_verdict v, enum herald_result *result_out, const char **dsn_out)
{
    enum herald_result r;
    const char *dsn;

    switch (v) {
    case MX_NULL:
        r = HERALD_RESULT_FAILED, dsn = "5.1.0";
        break;
    case MX_NXDOMAIN:
    case MX_BADNAME:
        r = HERALD_RESULT_FAILED, dsn = "5.1.2";
        break;
    case MX_TEMPFAIL:
        r = HERALD_RESULT_DEFERRED, dsn = "4.4.3";
        break;
    default:
        return false;
    }
    *result_out = r;
    *dsn_out = dsn;
    return true;
}

/* mx_sort - insertion sort (stable, n is small) then shuffle equal runs */
void
mx_sort(struct mx_entry *e, size_t n, struct mx_rng *rng)
{
    size_t i, j, start;

    for (i = 1; i < n; i++) {
        struct mx_entry t = e[i];

        for (j = i; j > 0 && e[j - 1].preference > t.preference; j--)
            e[j] = e[j - 1];
        e[j] = t;
    }
    for (start = 0; start < n; start = i) {
        size_t run;

        for (i = start + 1; i < n && e[i].preference == e[start].preference; i++)
            ;
        run = i - start;
        /* Fisher-Yates over [start, i): n! equally likely orders. */
        for (j = run; j > 1; j--) {
            size_t k = (size_t)mx_rng_below(rng, j);
            struct mx_entry t = e[start + j - 1];

            e[start + j - 1] = e[start + k];
            e[start + k] = t;
        }
        for (j = start; j < i; j++)
            e[j].tied = run;
    }
}

const char *
mx_drop_text(enum mx_drop why)
{
    switch (why) {
    case MX_KEEP:
        return "kept";
    case MX_DROP_NULL:
        return "null MX entry beside real records, ignored";
    case MX_DROP_IP_LITERAL:
        return "MX names an IP address, refused (allow_ip_mx = false)";
    case MX_DROP_DUPLICATE:
        return "duplicate host, only its first entry is used";
    case MX_DROP_CAP:
        return "beyond max_hops, dropped";
    }
    return "dropped";
}

/* mx_filter - drop unusable, duplicate and surplus entries, in place */
size_t
mx_filter(struct mx_entry *e, size_t n, bool allow_ip, size_t max_hops, enum mx_drop *why)
{
    size_t i, j, kept = 0;

    for (i = 0; i < n; i++) {
        enum mx_drop w = MX_KEEP;

        if (e[i].host == NULL || e[i].host[0] == '\0')
            w = MX_DROP_NULL;
        else if (e[i].is_ip_literal && !allow_ip)
            w = MX_DROP_IP_LITERAL;
        else {
            for (j = 0; j < kept; j++)
                if (strcasecmp(e[j].host, e[i].host) == 0)
                    w = MX_DROP_DUPLICATE;
            if (w == MX_KEEP && kept >= max_hops)
                w = MX_DROP_CAP;
        }
        if (why != NULL)
            why[i] = w;
        if (w == MX_KEEP)
            e[kept++] = e[i];
    }
    return kept;
}

/* addr_is_v6 - the family of one resolved address */
static bool
addr_is_v6(const struct herald_address *a)
{
    return a->sa.ss_family == AF_INET6;
}

/* addr_same - same family and same bytes (the text form is canonical) */
static bool
addr_same(const struct herald_address *a, const struct herald_address *b)
{
    return a->sa.ss_family == b->sa.ss_family && strcmp(a->text, b->text) == 0;
}

/* mx_addr_order - filter, dedupe, prefer, cap a host's addresses */
size_t
mx_addr_order(struct herald_address *a, size_t n, enum herald_mx_family family, size_t max)
{
    size_t i, j, kept = 0;

    for (i = 0; i < n; i++) {
        bool v6 = addr_is_v6(&a[i]), dup = false;

        if ((family == HERALD_MX_FAMILY_IPV4 && v6) || (family == HERALD_MX_FAMILY_IPV6 && !v6))
            continue;
        for (j = 0; j < kept; j++)
            dup = dup || addr_same(&a[j], &a[i]);
        if (!dup)
            a[kept++] = a[i];
    }
    if (family == HERALD_MX_FAMILY_PREFER_IPV4 || family == HERALD_MX_FAMILY_PREFER_IPV6) {
        bool want_v6 = family == HERALD_MX_FAMILY_PREFER_IPV6;

        /* Stable: insertion of each preferred address after the last preferred one. */
        for (i = 0, j = 0; i < kept; i++) {
            if (addr_is_v6(&a[i]) == want_v6) {
                struct herald_address t = a[i];
                size_t k;

                for (k = i; k > j; k--)
                    a[k] = a[k - 1];
                a[j++] = t;
            }
        }
    }
    return kept < max ? kept : max;
}
