/*
 * herald/host.h - host names and "host[:port]" entries, checked one way
 *
 * The one host-name rule of Herald (message domains, DNS names, smart hosts,
 * a strategy's own tables): LDH labels (ASCII letters, digits, '-', not at
 * either end of a label) of 1..63 octets, 253 octets in all; a trailing dot
 * only where the caller allows it (DNS names).  Locale-independent.
 *
 * "host[:port]" entries: "relay.example.com", "relay.example.com:587",
 * "192.0.2.1", "192.0.2.1:2525", "[2001:db8::1]:587", "[2001:db8::1]", and a
 * bare IPv6 address "2001:db8::1" (no port: it could not be told apart).
 */
#ifndef HERALD_HOST_H
#define HERALD_HOST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <herald/option.h>
#include <herald/status.h>

#ifdef __cplusplus
extern "C" {
#endif

#define HERALD_HOST_MAX 254         /* 253 octets and the NUL */

/* herald_host_name_check - NULL when name is a host name by the rule above
 * (trailing_dot: one final '.' is accepted), else why not, one line. */
const char *herald_host_name_check(const char *name, bool trailing_dot);

/* herald_host_is_ip_literal - true when host is an IPv4 or IPv6 address,
 * bare ("127.0.0.1", "::1") or in brackets ("[::1]"): a host with no name
 * to look up. */
bool herald_host_is_ip_literal(const char *host);

struct herald_hostport {
    char host[HERALD_HOST_MAX];     /* without brackets */
    uint16_t port;
    bool is_ip_literal;
};

/* herald_hostport_parse - one entry; an entry without a port gets
 * default_port.  HERALD_E_CONFIG with why filled (one printable line) when
 * the entry is invalid; *out is written only on success. */
herald_status herald_hostport_parse(const char *text, uint16_t default_port,
                                    struct herald_hostport *out, char *why, size_t why_size);

/* herald_hostport_check_list - every entry of list parses (for a module's
 * check()); at least one is required.  diag->text names option and the bad
 * entry; the core adds FILE:LINE. */
herald_status herald_hostport_check_list(const struct herald_strlist *list, const char *option,
                                         struct herald_diag *diag);

#ifdef __cplusplus
}
#endif
#endif
