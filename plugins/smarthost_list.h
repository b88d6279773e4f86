/*
 * smarthost_list.h - parse and validate "host[:port]" smart host entries
 *
 * Accepted forms: "relay.example.com", "relay.example.com:587",
 * "192.0.2.1", "192.0.2.1:2525", "[2001:db8::1]:587", "[2001:db8::1]",
 * and a bare IPv6 address "2001:db8::1" (no port: it cannot be told apart).
 * A host is an LDH host name (labels 1..63, 253 octets) or an IP literal;
 * a port is 1..65535 in decimal.  Pure functions, no allocation.
 */
#ifndef HERALD_PLUGINS_SMARTHOST_LIST_H
#define HERALD_PLUGINS_SMARTHOST_LIST_H

#include <stdbool.h>
#include <stdint.h>
#include <herald/option.h>
#include <herald/status.h>

#define SMARTHOST_HOST_MAX 254

struct smarthost {
    char host[SMARTHOST_HOST_MAX];   /* without brackets */
    uint16_t port;
    bool is_ip_literal;
};

/* smarthost_parse - one entry; entries without a port get default_port.
 * HERALD_E_CONFIG with why filled (one line) when the entry is invalid;
 * *out is written only on success. */
herald_status smarthost_parse(const char *text, uint16_t default_port, struct smarthost *out,
                              char *why, size_t why_size);

/* smarthost_check_list - every entry of list valid (for a module's check());
 * diag->text names the bad entry. */
herald_status smarthost_check_list(const struct herald_strlist *list, struct herald_diag *diag);

/* smarthost_valid_hostname - LDH labels of 1..63 octets, 253 in all */
bool smarthost_valid_hostname(const char *name);

#endif
