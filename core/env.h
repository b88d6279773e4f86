/*
 * env.h - what the core lends a module (internal definition of struct herald_env)
 *
 * One env per device: the device's own "dns" group may differ from the
 * global one.  Everything here is borrowed from the context.
 */
#ifndef HERALD_CORE_ENV_H
#define HERALD_CORE_ENV_H

#include <stdint.h>
#include <herald/device.h>
#include <herald/option.h>
#include "registry.h"
#include "trace_sink.h"

struct dns;   /* core/dns.h (async resolver on c-ares) */
struct plan_table;   /* core/plan_share.c (route plans shared per domain) */

struct herald_env {
    struct herald_loop *loop;
    struct herald_trace trace;       /* context-wide scope, id "-" */
    struct registry *registry;
    struct dns *dns;                 /* NULL until the first DNS use */
    struct plan_table *plans;        /* NULL until the first shared plan */
    const char *device_name;
    /* The device's effective "dns" group (its own, else herald.dns), set by
     * the context: no servers means /etc/resolv.conf. */
    const struct herald_strlist *dns_servers;
    int64_t dns_timeout_ms;
    int64_t dns_tries;
    int64_t dns_cache_entries;       /* 0: defaults (core/dns.c) */
    int64_t dns_min_ttl_s, dns_max_ttl_s;
    int64_t dns_max_inflight;
    /* herald_env_add_secret(): the context copies the secret, keeps it for
     * every later trace sink and registers it with the current one. */
    herald_status (*add_secret)(void *arg, const char *secret);
    void *secret_arg;
    /* The route guard (core/route.c): how long a strategy may take for one
     * request (0: the default), and the answered or abandoned requests kept
     * so a late or second answer is caught, freed by route_env_close(). */
    int64_t route_timeout_ms;
    struct route_retired *route_retired;
    /* herald_env_note(): the device's notes for administrators (herald check),
     * copied, freed by env_notes_free() at herald_close(). */
    char **notes;
    size_t note_count;
};

/* env_notes_free - free the notes herald_env_note() copied (core/env.c) */
void env_notes_free(struct herald_env *env);

/* route_env_close - free what the route guard kept for env (core/route.c) */
void route_env_close(struct herald_env *env);

#endif
