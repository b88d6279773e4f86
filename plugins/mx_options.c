/*
 * mx_options.c - the built-in strategies' MX options as herald_route_mx() options
 */
#include "mx_options.h"

const char *const mx_family_words[] = {
    "any", "ipv4", "ipv6", "prefer-ipv4", "prefer-ipv6", NULL
};

/* mx_options_walk - validated options (ranges checked by the core) to walk options */
void
mx_options_walk(struct herald_route_mx_options *walk, const struct mx_options *o)
{
    *walk = (struct herald_route_mx_options)HERALD_ROUTE_MX_OPTIONS_INIT;
    walk->port = (uint16_t)o->port;
    walk->seed = (uint64_t)o->seed;
    walk->family = (enum herald_mx_family)o->family;
    walk->max_hops = (uint32_t)o->max_hops;
    walk->max_addresses = (uint32_t)o->max_addresses;
    walk->flags = o->allow_ip_mx ? HERALD_MX_ALLOW_IP : 0;
}
