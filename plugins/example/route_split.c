/*
 * route_split.c - strategy "split": fixed hosts for internal domains, MX for
 * the rest.  THE PLUGIN TEMPLATE: copy this folder anywhere, run make
 * (docs/plugins.md).  An options block and its table (the core checks types
 * and ranges, with FILE:LINE), check() for the rest, a plan() that answers
 * through the request without blocking, ONE exported herald_module.
 *
 *   route: { strategy = "split"; internal = [ "corp.example" ];  # and subdomains
 *            hosts = [ "relay.corp.example:2525", "[192.0.2.7]" ]; port = 25; };
 */
#include <stddef.h>
#include <string.h>
#include <strings.h>

#include <herald/host.h>     /* host names, "host[:port]" lists */
#include <herald/module.h>   /* the descriptor */
#include <herald/route.h>    /* the request API, herald_route_mx() */

struct split_options {
    struct herald_strlist internal;   /* domains routed to hosts */
    struct herald_strlist hosts;      /* "host[:port]", tried in order */
    int64_t port;
};

static const struct split_options split_defaults = { .port = 25 };
#define O(f) offsetof(struct split_options, f)
static const struct herald_option split_option_table[] = {
    { "internal", HERALD_OPT_STRLIST, O(internal), HERALD_OPT_REQUIRED, 0, 0, NULL, NULL, 0,
      NULL, "domains (and their subdomains) sent to the hosts" },
    { "hosts", HERALD_OPT_STRLIST, O(hosts), HERALD_OPT_REQUIRED, 0, 0, NULL, NULL, 0, NULL,
      "relays for internal domains, in order: host[:port] or [address]:port" },
    { "port", HERALD_OPT_INT, O(port), 0, 1, 65535, NULL, NULL, 0, NULL,
      "port of hosts written without one, and of MX hosts" },
    HERALD_OPT_END
};
#undef O

/* is_internal - domain is one of the list or a subdomain of one */
static bool
is_internal(const struct herald_strlist *list, const char *domain)
{
    size_t i, dlen = strlen(domain);

    for (i = 0; i < list->count; i++) {
        size_t n = strlen(list->items[i]);
        if (dlen >= n && strcasecmp(domain + dlen - n, list->items[i]) == 0
            && (dlen == n || domain[dlen - n - 1] == '.'))
            return true;
    }
    return false;
}

/* split_check - run once at load: what plan() relies on is proven here */
static herald_status
split_check(const void *options, struct herald_diag *diag)
{
    const struct split_options *o = options;
    size_t i;

    for (i = 0; i < o->internal.count; i++) {
        const char *why = herald_host_name_check(o->internal.items[i], false);
        if (why != NULL)
            return herald_diag_set(diag, HERALD_E_CONFIG, "",
                                   "option \"internal\": entry %zu: %s", i + 1, why);
    }
    return herald_hostport_check_list(&o->hosts, "hosts", diag);
}

/* split_plan - the MX walk does the DNS work either way, traces every hop
 * (origin "split" or "mx") and answers req, exactly once */
static herald_status
split_plan(const void *options, struct herald_route_request *req)
{
    const struct split_options *o = options;
    struct herald_route_mx_options walk = HERALD_ROUTE_MX_OPTIONS_INIT;

    walk.port = (uint16_t)o->port;
    if (is_internal(&o->internal, herald_route_domain(req))) {
        walk.flags = HERALD_MX_FIXED_ONLY;     /* no MX query: only the hosts */
        walk.fixed = o->hosts.items;
        walk.fixed_count = o->hosts.count;
        walk.fixed_origin = "split";
    }
    return herald_route_mx(req, &walk);
}

/* struct_size first: the core reads only what this module's table holds. */
static const struct herald_route_ops split_ops = { sizeof split_ops, split_plan };

/* The one exported symbol; the file must be called route-split.so. */
const struct herald_module herald_module = {
    HERALD_MODULE_HEADER(HERALD_KIND_ROUTE),
    .name = "split", .summary = "fixed hosts for internal domains, MX for the rest (example)",
    .options = split_option_table, .options_size = sizeof(struct split_options),
    .options_defaults = &split_defaults, .check = split_check, .ops = &split_ops,
};
