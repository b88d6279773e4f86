/*
 * outcome.c - per-recipient results of one delivery: storage and accessors
 *
 * See outcome.h (building) and herald/outcome.h (reading).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "outcome.h"
#include "text.h"

struct outcome_entry {
    char *address;
    enum herald_result result;
    char *reply;
    char *dsn;      /* "" for none */
    char *host;     /* "" for none */
    char *peer;     /* "" for none */
    bool possibly_delivered;
};

struct outcome_hop {
    char *host;
    char *address;
    uint16_t port;
    bool failed;
    char *reply;    /* "" unless failed */
};

struct herald_outcome {
    char trace_id[OUTCOME_ID_MAX];
    size_t count;
    struct outcome_entry *entries;
    size_t hop_count, hop_cap;  /* hop_count at most HERALD_OUTCOME_HOPS_MAX */
    struct outcome_hop *hops;
};

/* entry_clear - free the strings of one entry */
static void
entry_clear(struct outcome_entry *e)
{
    free(e->address);
    free(e->reply);
    free(e->dsn);
    free(e->host);
    free(e->peer);
    memset(e, 0, sizeof *e);
}

/* outcome_new - count entries, each DEFERRED "4.3.0 no outcome recorded" */
herald_status
outcome_new(size_t count, const char *const *addresses, const char *trace_id,
            struct herald_outcome **o_out)
{
    struct herald_outcome *o;
    herald_status st;
    size_t i;

    if (o_out == NULL || (count > 0 && addresses == NULL))
        return HERALD_E_INVAL;
    o = calloc(1, sizeof *o);
    if (o == NULL)
        return HERALD_E_NOMEM;
    snprintf(o->trace_id, sizeof o->trace_id, "%s", trace_id ? trace_id : "-");
    if (count > 0) {
        o->entries = calloc(count, sizeof *o->entries);
        if (o->entries == NULL) {
            free(o);
            return HERALD_E_NOMEM;
        }
    }
    o->count = count;
    for (i = 0; i < count; i++) {
        o->entries[i].address = text_printable_dup(addresses[i], OUTCOME_TEXT_MAX, TEXT_LINE);
        if (o->entries[i].address == NULL) {
            herald_outcome_free(&o);
            return HERALD_E_NOMEM;
        }
        st = outcome_record(o, i, HERALD_RESULT_DEFERRED, "4.3.0 no outcome recorded", "4.3.0",
                            NULL, NULL, false);
        if (st != HERALD_OK) {
            herald_outcome_free(&o);
            return st;
        }
    }
    *o_out = o;
    return HERALD_OK;
}

/* outcome_record - replace entry i with copies of the given strings */
herald_status
outcome_record(struct herald_outcome *o, size_t i, enum herald_result result, const char *reply,
               const char *dsn, const char *host, const char *peer, bool possibly_delivered)
{
    struct outcome_entry *e;
    char *r, *d, *h, *p;

    if (o == NULL || i >= o->count || reply == NULL)
        return HERALD_E_INVAL;
    if (result != HERALD_RESULT_DEFERRED && result != HERALD_RESULT_DELIVERED &&
        result != HERALD_RESULT_FAILED)
        return HERALD_E_INVAL;
    r = text_printable_dup(reply, OUTCOME_TEXT_MAX, TEXT_LINE);
    d = text_printable_dup(dsn, OUTCOME_TEXT_MAX, TEXT_LINE);
    h = text_printable_dup(host, OUTCOME_TEXT_MAX, TEXT_LINE);
    p = text_printable_dup(peer, OUTCOME_TEXT_MAX, TEXT_LINE);
    if (r == NULL || d == NULL || h == NULL || p == NULL) {
        free(r);
        free(d);
        free(h);
        free(p);
        return HERALD_E_NOMEM;
    }
    e = &o->entries[i];
    free(e->reply);
    free(e->dsn);
    free(e->host);
    free(e->peer);
    e->result = result;
    e->reply = r;
    e->dsn = d;
    e->host = h;
    e->peer = p;
    e->possibly_delivered = possibly_delivered;
    return HERALD_OK;
}

/* hop_clear - free the strings of one hop */
static void
hop_clear(struct outcome_hop *h)
{
    free(h->host);
    free(h->address);
    free(h->reply);
    memset(h, 0, sizeof *h);
}

/* outcome_hop - record what one hop address did, replacing an earlier word on it */
herald_status
outcome_hop(struct herald_outcome *o, const char *host, uint16_t port, const char *address,
            bool failed, const char *reply)
{
    struct outcome_hop *h = NULL, fresh;
    size_t i;

    if (o == NULL || host == NULL || address == NULL || *address == '\0')
        return HERALD_E_INVAL;
    for (i = 0; i < o->hop_count && h == NULL; i++)
        if (o->hops[i].port == port && strcmp(o->hops[i].address, address) == 0)
            h = &o->hops[i];
    if (h == NULL) {
        if (o->hop_count == HERALD_OUTCOME_HOPS_MAX)
            return HERALD_E_LIMIT;
        if (o->hop_count == o->hop_cap) {
            size_t cap = o->hop_cap ? o->hop_cap * 2 : 2;
            struct outcome_hop *grown = realloc(o->hops, cap * sizeof *grown);

            if (grown == NULL)
                return HERALD_E_NOMEM;
            o->hops = grown;
            o->hop_cap = cap;
        }
    }
    fresh.host = text_printable_dup(host, OUTCOME_TEXT_MAX, TEXT_LINE);
    fresh.address = text_printable_dup(address, OUTCOME_TEXT_MAX, TEXT_LINE);
    fresh.reply = text_printable_dup(failed ? reply : "", OUTCOME_TEXT_MAX, TEXT_LINE);
    fresh.port = port;
    fresh.failed = failed;
    if (fresh.host == NULL || fresh.address == NULL || fresh.reply == NULL) {
        hop_clear(&fresh);
        return HERALD_E_NOMEM;
    }
    if (h == NULL)
        h = &o->hops[o->hop_count++];
    else
        hop_clear(h);
    *h = fresh;
    return HERALD_OK;
}

/* herald_result_name - "delivered", "deferred", "failed" */
const char *
herald_result_name(enum herald_result result)
{
    switch (result) {
    case HERALD_RESULT_DELIVERED: return "delivered";
    case HERALD_RESULT_DEFERRED: return "deferred";
    case HERALD_RESULT_FAILED: return "failed";
    }
    return "unknown";
}

/* entry_at - entry i, or NULL when out of range */
static const struct outcome_entry *
entry_at(const struct herald_outcome *o, size_t i)
{
    return o != NULL && i < o->count ? &o->entries[i] : NULL;
}

/* herald_outcome_count - number of recipients */
size_t
herald_outcome_count(const struct herald_outcome *o)
{
    return o != NULL ? o->count : 0;
}

/* herald_outcome_trace_id - the delivery's trace id */
const char *
herald_outcome_trace_id(const struct herald_outcome *o)
{
    return o != NULL ? o->trace_id : NULL;
}

/* herald_outcome_address - recipient i, borrowed */
const char *
herald_outcome_address(const struct herald_outcome *o, size_t i)
{
    const struct outcome_entry *e = entry_at(o, i);

    return e ? e->address : NULL;
}

/* herald_outcome_result - recipient i's result; DEFERRED (0) when out of range */
enum herald_result
herald_outcome_result(const struct herald_outcome *o, size_t i)
{
    const struct outcome_entry *e = entry_at(o, i);

    return e ? e->result : HERALD_RESULT_DEFERRED;
}

/* herald_outcome_reply - the deciding reply, borrowed */
const char *
herald_outcome_reply(const struct herald_outcome *o, size_t i)
{
    const struct outcome_entry *e = entry_at(o, i);

    return e ? e->reply : NULL;
}

/* herald_outcome_dsn - the enhanced status code, or "" */
const char *
herald_outcome_dsn(const struct herald_outcome *o, size_t i)
{
    const struct outcome_entry *e = entry_at(o, i);

    return e ? e->dsn : NULL;
}

/* herald_outcome_host - the hop, or "" */
const char *
herald_outcome_host(const struct herald_outcome *o, size_t i)
{
    const struct outcome_entry *e = entry_at(o, i);

    return e ? e->host : NULL;
}

/* herald_outcome_peer - "ADDR:PORT", or "" */
const char *
herald_outcome_peer(const struct herald_outcome *o, size_t i)
{
    const struct outcome_entry *e = entry_at(o, i);

    return e ? e->peer : NULL;
}

/* herald_outcome_possibly_delivered - timeout after the final dot */
bool
herald_outcome_possibly_delivered(const struct herald_outcome *o, size_t i)
{
    const struct outcome_entry *e = entry_at(o, i);

    return e ? e->possibly_delivered : false;
}

/* hop_at - hop i, or NULL when out of range */
static const struct outcome_hop *
hop_at(const struct herald_outcome *o, size_t i)
{
    return o != NULL && i < o->hop_count ? &o->hops[i] : NULL;
}

/* herald_outcome_hop_count - hop addresses reached or failed */
size_t
herald_outcome_hop_count(const struct herald_outcome *o)
{
    return o != NULL ? o->hop_count : 0;
}

/* herald_outcome_hop_host - hop i's name, borrowed */
const char *
herald_outcome_hop_host(const struct herald_outcome *o, size_t i)
{
    const struct outcome_hop *h = hop_at(o, i);

    return h ? h->host : NULL;
}

/* herald_outcome_hop_address - hop i's address text, borrowed */
const char *
herald_outcome_hop_address(const struct herald_outcome *o, size_t i)
{
    const struct outcome_hop *h = hop_at(o, i);

    return h ? h->address : NULL;
}

/* herald_outcome_hop_port - hop i's port; 0 when out of range */
uint16_t
herald_outcome_hop_port(const struct herald_outcome *o, size_t i)
{
    const struct outcome_hop *h = hop_at(o, i);

    return h ? h->port : 0;
}

/* herald_outcome_hop_failed - hop i failed before any transaction */
bool
herald_outcome_hop_failed(const struct herald_outcome *o, size_t i)
{
    const struct outcome_hop *h = hop_at(o, i);

    return h ? h->failed : false;
}

/* herald_outcome_hop_reply - why hop i failed, or "" */
const char *
herald_outcome_hop_reply(const struct herald_outcome *o, size_t i)
{
    const struct outcome_hop *h = hop_at(o, i);

    return h ? h->reply : NULL;
}

/* herald_outcome_tally - how many recipients ended in result */
size_t
herald_outcome_tally(const struct herald_outcome *o, enum herald_result result)
{
    size_t i, n = 0;

    for (i = 0; o != NULL && i < o->count; i++)
        if (o->entries[i].result == result)
            n++;
    return n;
}

/* herald_outcome_free - free o; accepts NULL and clears the pointer */
void
herald_outcome_free(struct herald_outcome **o)
{
    size_t i;

    if (o == NULL || *o == NULL)
        return;
    for (i = 0; i < (*o)->count; i++)
        entry_clear(&(*o)->entries[i]);
    free((*o)->entries);
    for (i = 0; i < (*o)->hop_count; i++)
        hop_clear(&(*o)->hops[i]);
    free((*o)->hops);
    free(*o);
    *o = NULL;
}
