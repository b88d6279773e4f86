/*
 * mx_options.h - the MX walk's options, the same in every built-in strategy
 *
 * A strategy embeds struct mx_options as its member "mx", starts it from
 * MX_OPTIONS_DEFAULTS, puts MX_OPTION_ROWS(its type, help for "port") in its
 * option table, and turns it into herald_route_mx()'s options with
 * mx_options_walk(): names, ranges and help never drift between strategies.
 * The walk itself is public API (herald/route.h).
 */
#ifndef HERALD_PLUGINS_MX_OPTIONS_H
#define HERALD_PLUGINS_MX_OPTIONS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <herald/option.h>
#include <herald/route.h>

/* The "family" option words, index = enum herald_mx_family. */
extern const char *const mx_family_words[];

struct mx_options {
    int64_t port;
    int64_t seed;
    int family;                /* enum herald_mx_family */
    int64_t max_hops;
    int64_t max_addresses;
    bool allow_ip_mx;
};

#define MX_OPTIONS_DEFAULTS                                                        \
    { .port = 25, .seed = 0, .family = HERALD_MX_FAMILY_ANY, .max_hops = 10,       \
      .max_addresses = 5, .allow_ip_mx = false }

#define MX_OPTION_ROWS(type, port_help)                                            \
    { "port", HERALD_OPT_INT, offsetof(type, mx.port), 0, 1, 65535, NULL, NULL, 0, \
      NULL, port_help },                                                           \
    { "seed", HERALD_OPT_INT, offsetof(type, mx.seed), 0, 0, INT64_MAX, NULL, NULL, \
      0, NULL, "order of equal MX preferences: 0 random, else repeatable" },      \
    { "family", HERALD_OPT_ENUM, offsetof(type, mx.family), 0, 0, 0,               \
      mx_family_words, NULL, 0, NULL,                                              \
      "any | ipv4 | ipv6 | prefer-ipv4 | prefer-ipv6" },                           \
    { "max_hops", HERALD_OPT_INT, offsetof(type, mx.max_hops), 0, 1, 100, NULL,    \
      NULL, 0, NULL, "MX hosts kept in the plan (fixed hops come on top)" },       \
    { "max_addresses", HERALD_OPT_INT, offsetof(type, mx.max_addresses), 0, 1, 64, \
      NULL, NULL, 0, NULL,                                                         \
      "addresses kept per host (like Postfix smtp_mx_address_limit)" },            \
    { "allow_ip_mx", HERALD_OPT_BOOL, offsetof(type, mx.allow_ip_mx), 0, 0, 0,     \
      NULL, NULL, 0, NULL, "accept an MX that names an IP address" }

/* mx_options_walk - the walk's options for o; no fixed hops */
void mx_options_walk(struct herald_route_mx_options *walk, const struct mx_options *o);

#endif
