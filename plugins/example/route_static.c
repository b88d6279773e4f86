/*
 * route_static.c - route strategy "static": a table of domain -> relay
 *
 * THE TEMPLATE FOR PLUGIN AUTHORS.  Copy this file, rename the strategy,
 * and keep the shape: an options struct, its defaults, an option table, an
 * optional check(), a plan() that answers through the request, and ONE
 * exported object named herald_module.  docs/plugins.md explains the ABI,
 * and plugins/example/Makefile builds this file outside the Herald tree
 * with nothing but the installed headers and `pkg-config herald`.
 *
 *   route: { strategy = "static";
 *            routes = [ "*.example.com=relay1.test:2525",   # any subdomain
 *                       "example.org=[127.0.0.1]:2526" ];   # this domain only
 *            fallback = "mx";        # "mx": walk the MX records; "fail": refuse
 *            port = 25; };           # for relays written without a port
 *
 * The first matching entry wins.  A pattern is a domain (exact, without
 * case) or "*." followed by a domain (its subdomains, not itself).
 *
 * Rules every strategy follows (herald/route.h):
 *   - plan() never blocks: DNS goes through herald/dns.h, answers come later
 *     from the event loop;
 *   - the request is answered exactly once, with herald_route_done() (at
 *     least one hop) or herald_route_fail(result, dsn, reason);
 *   - plan() returning an error means "no answer will come": the core then
 *     defers the domain with the error text;
 *   - options are read-only and live until herald_close(): keep pointers
 *     into them, never free them.
 *
 * This example resolves its relay with the same shared walk the built-in
 * strategies use (plugins/mx_walk.c, compiled into this module).  A
 * strategy written outside the tree can call herald_dns_resolve() and
 * herald_dns_query_mx() itself; see docs/plugins.md for a minimal example.
 */
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include <herald/module.h>   /* struct herald_module, HERALD_MODULE_HEADER */
#include <herald/option.h>   /* option tables */
#include <herald/route.h>    /* the request API */
#include <herald/trace.h>    /* herald_trace_log */
#include "../mx_walk.h"
#include "../smarthost_list.h"

/* 1. The options block: the core writes validated, typed values here. */
struct static_options {
    struct herald_strlist routes;   /* "pattern=host[:port]" */
    int fallback;                   /* index into fallback_words */
    int64_t port;
};

static const char *const fallback_words[] = { "mx", "fail", NULL };
enum { FALLBACK_MX = 0, FALLBACK_FAIL = 1 };

/* 2. Defaults, copied into the block before the device file is applied. */
static const struct static_options static_defaults = {
    .routes = { 0, NULL }, .fallback = FALLBACK_MX, .port = 25,
};

/* 3. The option table: name, type, where, flags, bounds, words, help.
 *    The core refuses unknown options, wrong types and out-of-range values
 *    with FILE:LINE before any strategy code runs. */
#define O(f) offsetof(struct static_options, f)
static const struct herald_option static_option_table[] = {
    { "routes", HERALD_OPT_STRLIST, O(routes), HERALD_OPT_REQUIRED, 0, 0, NULL, NULL, 0, NULL,
      "\"pattern=host[:port]\" entries; pattern is a domain or *.domain" },
    { "fallback", HERALD_OPT_ENUM, O(fallback), 0, 0, 0, fallback_words, NULL, 0, NULL,
      "no entry matches: \"mx\" walks the MX records, \"fail\" refuses (5.4.4)" },
    { "port", HERALD_OPT_INT, O(port), 0, 1, 65535, NULL, NULL, 0, NULL,
      "port of relays written without one, and of MX hosts" },
    HERALD_OPT_END
};
#undef O

/* pattern_matches - exact domain, or "*.suffix" for strict subdomains */
static bool
pattern_matches(const char *pattern, size_t plen, const char *domain)
{
    size_t dlen = strlen(domain);

    if (plen > 2 && pattern[0] == '*' && pattern[1] == '.') {
        size_t slen = plen - 1;   /* ".suffix" */

        return dlen > slen && strncasecmp(domain + dlen - slen, pattern + 1, slen) == 0;
    }
    return dlen == plen && strncasecmp(domain, pattern, plen) == 0;
}

/* 4. check() - rules between and inside options, run once at load time.
 *    Whatever plan() relies on is proven here, so plan() cannot meet a
 *    malformed entry.  Fill diag->text; the core adds FILE:LINE. */
static herald_status
static_check(const void *options, struct herald_diag *diag)
{
    const struct static_options *o = options;
    size_t i;

    for (i = 0; i < o->routes.count; i++) {
        const char *entry = o->routes.items[i], *eq = strchr(entry, '=');
        char pattern[SMARTHOST_HOST_MAX], why[128];
        struct smarthost relay;
        size_t plen;

        if (eq == NULL)
            return herald_diag_set(diag, HERALD_E_CONFIG, "",
                                   "option \"routes\": entry %zu: expected pattern=host[:port]",
                                   i + 1);
        plen = (size_t)(eq - entry);
        if (plen == 0 || plen >= sizeof pattern)
            return herald_diag_set(diag, HERALD_E_CONFIG, "",
                                   "option \"routes\": entry %zu: empty or long pattern", i + 1);
        memcpy(pattern, entry, plen);
        pattern[plen] = '\0';
        if (!smarthost_valid_hostname(plen > 2 && pattern[0] == '*' && pattern[1] == '.'
                                          ? pattern + 2 : pattern))
            return herald_diag_set(diag, HERALD_E_CONFIG, "",
                                   "option \"routes\": entry %zu: pattern is not a domain or *.domain",
                                   i + 1);
        if (smarthost_parse(eq + 1, (uint16_t)o->port, &relay, why, sizeof why) != HERALD_OK)
            return herald_diag_set(diag, HERALD_E_CONFIG, "",
                                   "option \"routes\": entry %zu: %s", i + 1, why);
    }
    return HERALD_OK;
}

/* 5. plan() - called once per recipient domain.  It starts the work and
 *    returns at once; the answer goes through req, from the loop. */
static herald_status
static_plan(const void *options, struct herald_route_request *req)
{
    const struct static_options *o = options;
    const char *domain = herald_route_domain(req);
    const struct herald_trace *trace = herald_route_trace(req);
    size_t i;

    for (i = 0; i < o->routes.count; i++) {
        const char *entry = o->routes.items[i], *eq = strchr(entry, '=');
        const char *relay[1];
        struct herald_strlist one = { 1, relay };
        struct walk_config cfg = {
            .use_mx = false, .port = (uint16_t)o->port, .family = MX_FAMILY_ANY,
            .max_hops = 1, .max_addresses = 5, .fixed = &one, .fixed_origin = "static",
        };

        if (eq == NULL || !pattern_matches(entry, (size_t)(eq - entry), domain))
            continue;
        /* Say why: an administrator reads the trace to understand a route. */
        herald_trace_log(trace, HERALD_TRACE_INFO, "route", "static route %zu \"%s\" matches %s",
                         i + 1, entry, domain);
        relay[0] = eq + 1;
        return mx_walk_start(req, &cfg);   /* copies what it needs */
    }
    if (o->fallback == FALLBACK_MX) {
        struct walk_config cfg = {
            .use_mx = true, .port = (uint16_t)o->port, .family = MX_FAMILY_ANY,
            .max_hops = 10, .max_addresses = 5,
        };

        herald_trace_log(trace, HERALD_TRACE_INFO, "route",
                         "no static route for %s: falling back to its MX records", domain);
        return mx_walk_start(req, &cfg);
    }
    {
        char reason[300];

        snprintf(reason, sizeof reason, "no static route for %s (fallback = \"fail\")", domain);
        herald_trace_log(trace, HERALD_TRACE_INFO, "route", "%s", reason);
        /* Answering from inside plan() is fine: the core delivers the
         * answer from the loop, never from inside this call. */
        herald_route_fail(req, HERALD_RESULT_FAILED, "5.4.4", reason);
        return HERALD_OK;
    }
}

/* 6. The operations table of the kind (struct_size lets the core grow it). */
static const struct herald_route_ops static_ops = {
    .struct_size = sizeof(struct herald_route_ops),
    .plan = static_plan,
};

/* 7. The one exported symbol.  The file must be named route-static.so:
 *    the loader checks that kind and name match the file name. */
const struct herald_module herald_module = {
    HERALD_MODULE_HEADER(HERALD_KIND_ROUTE),
    .name = "static",
    .summary = "a table of domain patterns to relays, else MX or refuse (example)",
    .options = static_option_table,
    .options_size = sizeof(struct static_options),
    .options_defaults = &static_defaults,
    .check = static_check,
    .ops = &static_ops,
};
