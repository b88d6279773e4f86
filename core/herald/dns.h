/*
 * herald/dns.h - asynchronous DNS for modules (c-ares on the core's loop)
 *
 * Lookups never block.  The callback runs exactly once, from the event loop
 * (never from inside the call that started the lookup), with a classified
 * answer.  The resolver of a device uses its "dns" group (servers with
 * ports, timeout_ms, tries), else the global one, else /etc/resolv.conf; it
 * asks DNS only, never /etc/hosts.  Answers are cached for their TTL.
 *
 * Classes, and what a route strategy makes of them:
 *   HERALD_DNS_OK        records in answer[]
 *   HERALD_DNS_NODATA    the name exists, no record of that type (MX: implicit MX)
 *   HERALD_DNS_NXDOMAIN  the name does not exist (permanent, 5.1.2)
 *   HERALD_DNS_TEMPFAIL  SERVFAIL, REFUSED, timeout, no server (temporary, 4.4.3)
 *   HERALD_DNS_BADNAME   the name or an answer is not a valid host name (permanent)
 *   HERALD_DNS_CANCELLED the context is closing; do nothing but release
 * A result and everything it points to is borrowed for the callback only.
 * TEMPFAIL comes only when every configured server has failed: a SERVFAIL,
 * REFUSED or timeout from one sends the query on to the next.  Only records
 * owned by the queried name (or the end of its CNAME chain) count.
 * Host names in answers are validated (LDH labels, 253 octets); an MX target
 * that is an IP literal is passed with is_ip_literal set, for the strategy
 * to refuse or allow.  A null MX (RFC 7505) is one entry with host "".
 */
#ifndef HERALD_DNS_H
#define HERALD_DNS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>
#include <herald/status.h>

#ifdef __cplusplus
extern "C" {
#endif

struct herald_env;
struct herald_trace;

enum herald_dns_class {
    HERALD_DNS_OK = 0,
    HERALD_DNS_NODATA = 1,
    HERALD_DNS_NXDOMAIN = 2,
    HERALD_DNS_TEMPFAIL = 3,
    HERALD_DNS_BADNAME = 4,
    HERALD_DNS_CANCELLED = 5
};
const char *herald_dns_class_name(enum herald_dns_class c);   /* "ok", "nodata", ... */

struct herald_mx {
    uint16_t preference;
    const char *host;         /* "" for null MX; no trailing dot */
    bool is_ip_literal;
};

struct herald_mx_result {
    enum herald_dns_class dns_class;
    const char *reason;       /* "SERVFAIL", "timeout after 2 tries", "" when OK */
    uint32_t ttl;
    size_t count;
    const struct herald_mx *mx;   /* in server order: sorting is the strategy's job */
};

struct herald_address {
    struct sockaddr_storage sa;   /* port 0 */
    socklen_t len;
    char text[48];                /* "127.0.0.2", "::1" */
};

struct herald_addr_result {
    enum herald_dns_class dns_class;
    const char *reason;
    uint32_t ttl;
    size_t count;
    const struct herald_address *addr;
};

/* Address families a caller may ask for. */
enum herald_family { HERALD_FAMILY_ANY = 0, HERALD_FAMILY_IPV4 = 1, HERALD_FAMILY_IPV6 = 2 };

typedef void (*herald_mx_fn)(void *arg, const struct herald_mx_result *res);
typedef void (*herald_addr_fn)(void *arg, const struct herald_addr_result *res);

/* HERALD_E_INVAL for a bad name (no callback then); HERALD_E_DNS when no
 * resolver could be set up (diag says why); else the callback will run.
 * trace: the scope whose id the query's trace lines carry (a route strategy
 * passes herald_route_trace(req), so the administrator finds the lookups
 * among the message's own lines); NULL: the context's scope, id "-". */
herald_status herald_dns_query_mx(struct herald_env *env, const struct herald_trace *trace,
                                  const char *domain, herald_mx_fn fn, void *arg,
                                  struct herald_diag *diag);
/* A and/or AAAA of host; an IP literal host is answered at once (from the loop). */
herald_status herald_dns_resolve(struct herald_env *env, const struct herald_trace *trace,
                                 const char *host, enum herald_family family,
                                 herald_addr_fn fn, void *arg, struct herald_diag *diag);

/* True when name is a valid host name: LDH labels of 1..63, 253 octets in all. */
bool herald_dns_valid_hostname(const char *name);

#ifdef __cplusplus
}
#endif
#endif
