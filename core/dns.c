/*
 * dns.c - asynchronous DNS on the core's loop (c-ares 1.18), per env
 *
 * c-ares tells us which sockets to watch through ARES_OPT_SOCK_STATE_CB; we
 * mirror them as herald_io watchers, and one herald timer follows
 * ares_timeout() so retries and timeouts happen without anyone polling.
 * Each configured server has its own channel: a SERVFAIL, REFUSED or
 * timeout from one moves the query on to the next (try_next_server), so a
 * lookup is deferred only when every server has failed, and the reason
 * still says how the last one failed.  lookups "b" keeps /etc/hosts out of
 * mail routing.
 *
 * Every answer is classified, validated (c-ares passes hostile names
 * through: CR LF, '<', '@' come back as ordinary strings) and delivered
 * from the loop, never from inside the call that started the lookup:
 * answers known at once (IP literals, cache hits, synchronous c-ares
 * failures) go through a 0 ms timer that can be cancelled at teardown.
 *
 * A resolver drops what its socket cannot hold: a burst of lookups larger
 * than its receive buffer loses some, and each loss costs a try's timeout.
 * So lookups on the wire are bounded by a window (at most dns.max_inflight)
 * that halves when a try is lost and grows back by one per window of
 * answers, and a lookup whose every try was lost while the same server
 * answered others was lost to our own flood, not to the name: it is asked
 * again (DNS_REASK_MAX times) instead of deferring its messages.
 */
#include <arpa/inet.h>
#include <arpa/nameser.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <ares.h>

#include <herald/host.h>
#include <herald/loop.h>
#include <herald/timeouts.h>
#include <herald/trace.h>
#include "dns.h"
#include "dns_udp.h"
#include "dns_wire.h"
#include "env.h"
#include "text.h"

#define DNS_DEFAULT_TIMEOUT_MS HERALD_DEFAULT_DNS_TIMEOUT_MS   /* herald/timeouts.h */
#define DNS_DEFAULT_TRIES HERALD_DEFAULT_DNS_TRIES
#define DNS_MAX_RECORDS 64        /* answers beyond this are dropped: a plan never needs more */
#define DNS_TRACE_LIST 512        /* bytes of record list shown in one trace line */
#define DNS_MAX_SERVERS 8         /* configured servers asked in turn; more are not used */
#define DNS_DEFAULT_CACHE_ENTRIES 250000   /* an MX and an address answer for 100,000 domains */
#define DNS_DEFAULT_MAX_TTL_S 86400
/* dnsmasq's default receive buffer (208 KiB) holds about 250 queries; a
 * window of 100, as dnsperf's default, leaves room for other clients. */
#define DNS_DEFAULT_MAX_INFLIGHT 100
#define DNS_WINDOW_MIN 4          /* the window never closes below this */
#define DNS_REASK_MAX 3           /* a lookup lost to congestion is asked again this often */
#define DNS_RCVBUF (1 << 20)      /* answers to a full window must not be dropped here either */
/* A channel's UDP socket is kept open while idle (ARES_FLAG_STAYOPEN: c-ares
 * 1.18 would otherwise close and reopen it each time its last query ends,
 * about once per 7 lookups under a steady stream), and replaced at the
 * first idle moment after this many lookups, so its source port still
 * changes: a long-lived fixed port would leave only the 16-bit query id
 * against an off-path forger. */
#define DNS_PORT_LOOKUPS 1000

struct dns;

/* One c-ares channel per configured server, so that Herald decides when to
 * move on to the next one (c-ares 1.18 either gives up at the first
 * SERVFAIL, with ARES_FLAG_NOCHECKRESP, or hides the SERVFAIL behind
 * "could not contact DNS servers" after trying them all). */
struct dns_chan {
    struct dns *dns;
    ares_channel channel;
    bool ok;
    char label[64];               /* "127.0.0.1:53", for the trace */
    uint64_t answered;            /* replies of any kind: the server is alive */
    struct ares_addr_port_node node;   /* its server, to renew its socket */
    size_t flying;                /* lookups handed to it whose callback has not run */
    size_t port_lookups;          /* lookups sent since its socket was last renewed */
};

struct dns_sock {
    int fd;
    struct dns_chan *chan;
    struct herald_io *io;
};

struct dns_query;
struct dns_flight;

struct dns {
    struct herald_env *env;
    struct herald_loop *loop;
    struct dns_chan chans[DNS_MAX_SERVERS];
    size_t nchan;
    bool closing;
    int tries;
    int timeout_ms;
    struct dns_sock *socks;
    size_t sock_count, sock_cap;
    struct dns_udp *udp;         /* the channels' sockets, UDP batched */
    struct herald_timer *tick;
    uint64_t tick_due;           /* when tick fires (loop time), while it is armed */
    struct dns_query *pending;
    struct dns_query *starting;  /* the query being started; cleared if it is answered */
    struct dns_cache *cache;     /* answers, and the lookups in flight */
    struct dns_cache_policy policy;
    size_t max_inflight, inflight;
    size_t window, window_credit; /* lookups on the wire allowed now (<= max_inflight) */
    uint64_t sent_seq, cut_seq;   /* sends so far; the last send when the window was cut */
    struct dns_flight *queue_head, *queue_tail;   /* waiting for a slot, first come first */
    struct dns_flight *flights;  /* every flight, sent or waiting */
};

/* One lookup on the wire (or waiting for a slot) for a name and type, with
 * every query that asked it: identical questions are asked once. */
struct dns_flight {
    struct dns *dns;
    enum dns_kind kind;
    int family;
    char *name;
    struct herald_trace trace;   /* the first asker's scope: server failures go there */
    struct dns_cache_entry *entry;   /* its pending entry; NULL when there was no memory */
    size_t server;               /* index of the channel asked now */
    int timeouts;
    bool sent;                   /* counted in dns->inflight */
    uint64_t sent_seq;           /* dns->sent_seq when it was sent */
    uint64_t answered_at_send;   /* its server's answered count then */
    int reasked;                 /* times asked again after a lost lookup */
    struct dns_query *waiters, *waiters_tail;
    size_t nwaiters;
    struct dns_flight *qnext;    /* the wait queue */
    struct dns_flight *prev, *next;
    char name_buf[];             /* name points here: one allocation per flight */
};

struct dns_query {
    struct dns *dns;
    enum dns_kind kind;
    int family;                  /* enum herald_family */
    char *name;
    struct herald_trace trace;   /* the asker's scope, so its lines carry its trace id */
    herald_mx_fn mx_fn;
    herald_addr_fn addr_fn;
    void *arg;
    bool starting;               /* inside the call that started it */
    bool from_cache;
    bool joined;                 /* joined a lookup another query had started */
    int timeouts;                /* c-ares' count of timed-out tries, for the trace */
    struct dns_query *fnext;     /* the next waiter of the same flight */
    struct dns_answer *answer;   /* set once known */
    struct herald_timer *later;  /* delivery of an answer known at once */
    struct dns_query *prev, *next;
    char name_buf[];             /* name points here: one allocation per query */
};

static const char *const class_names[] = {
    [HERALD_DNS_OK] = "ok", [HERALD_DNS_NODATA] = "nodata",
    [HERALD_DNS_NXDOMAIN] = "nxdomain", [HERALD_DNS_TEMPFAIL] = "tempfail",
    [HERALD_DNS_BADNAME] = "badname", [HERALD_DNS_CANCELLED] = "cancelled",
};

/* herald_dns_class_name - "ok", "nodata", ...; "unknown" outside the enum */
const char *
herald_dns_class_name(enum herald_dns_class c)
{
    if ((unsigned)c >= sizeof class_names / sizeof class_names[0])
        return "unknown";
    return class_names[c];
}

/* herald_dns_valid_hostname - herald/host.h's rule, one trailing dot allowed */
bool
herald_dns_valid_hostname(const char *name)
{
    return herald_host_name_check(name, true) == NULL;
}

/* parse_ip_literal - "127.0.0.1", "::1" or "[::1]" into addr; false when not a literal */
static bool
parse_ip_literal(const char *s, struct herald_address *addr)
{
    char buf[64];
    size_t n = strlen(s);
    struct herald_address a;

    if (n >= 2 && s[0] == '[' && s[n - 1] == ']') {
        if (n - 2 >= sizeof buf)
            return false;
        memcpy(buf, s + 1, n - 2);
        buf[n - 2] = '\0';
    } else {
        if (n >= sizeof buf)
            return false;
        memcpy(buf, s, n + 1);
    }
    memset(&a, 0, sizeof a);
    if (inet_pton(AF_INET, buf, &((struct sockaddr_in *)&a.sa)->sin_addr) == 1) {
        ((struct sockaddr_in *)&a.sa)->sin_family = AF_INET;
        a.len = sizeof(struct sockaddr_in);
    } else if (inet_pton(AF_INET6, buf, &((struct sockaddr_in6 *)&a.sa)->sin6_addr) == 1) {
        ((struct sockaddr_in6 *)&a.sa)->sin6_family = AF_INET6;
        a.len = sizeof(struct sockaddr_in6);
    } else {
        return false;
    }
    if (inet_ntop(((struct sockaddr *)&a.sa)->sa_family,
                  a.len == sizeof(struct sockaddr_in)
                      ? (const void *)&((struct sockaddr_in *)&a.sa)->sin_addr
                      : (const void *)&((struct sockaddr_in6 *)&a.sa)->sin6_addr,
                  a.text, sizeof a.text) == NULL)
        return false;
    if (addr != NULL)
        *addr = a;
    return true;
}

/* ---- answers and their delivery ---- */

/* answer_fail - a new answer of class c with a reason; NULL when memory runs out */
static struct dns_answer *
answer_fail(enum herald_dns_class c, const char *reason)
{
    struct dns_answer *a = dns_answer_new();

    if (a != NULL) {
        a->dns_class = c;
        snprintf(a->reason, sizeof a->reason, "%s", reason);
    }
    return a;
}

/* type_label - "MX" or the address families asked for, for the trace */
static const char *
type_label(enum dns_kind kind, int family)
{
    if (kind == DNS_KIND_MX)
        return "MX";
    return family == HERALD_FAMILY_IPV4 ? "A" : family == HERALD_FAMILY_IPV6 ? "AAAA"
                                                                              : "A/AAAA";
}

static const char *
kind_label(const struct dns_query *q)
{
    return type_label(q->kind, q->family);
}

/* source_label - where the answer came from, as the trace says it */
static const char *
source_label(const struct dns_query *q)
{
    return q->from_cache ? ", cached" : q->joined ? ", joined a lookup in flight" : "";
}

/* trace_answer - one line per answer: "MX multi.test -> 10 mx1.multi.test, ... (ttl 0)" */
static void
trace_answer(const struct dns_query *q, const struct dns_answer *a)
{
    const struct herald_trace *t = &q->trace;
    char list[DNS_TRACE_LIST];
    size_t used = 0, i;

    if (!herald_trace_enabled(t, HERALD_TRACE_INFO))
        return;
    if (a->dns_class != HERALD_DNS_OK) {
        herald_trace_log(t, a->dns_class == HERALD_DNS_CANCELLED ? HERALD_TRACE_DEBUG
                                                                  : HERALD_TRACE_INFO,
                         "dns", "%s %s -> %s%s%s%s%s%s", kind_label(q), q->name,
                         herald_dns_class_name(a->dns_class), a->reason[0] ? " (" : "",
                         a->reason, a->reason[0] ? ")" : "",
                         q->timeouts > 0 ? ", a try timed out" : "", source_label(q));
        return;
    }
    list[0] = '\0';
    for (i = 0; i < a->count && used + 1 < sizeof list; i++) {
        int n;

        if (q->kind == DNS_KIND_MX)
            n = snprintf(list + used, sizeof list - used, "%s%u %s%s", i ? ", " : "",
                         (unsigned)a->mx[i].preference,
                         a->mx[i].host[0] ? a->mx[i].host : ". (null MX)",
                         a->mx[i].is_ip_literal ? " (IP literal)" : "");
        else
            n = snprintf(list + used, sizeof list - used, "%s%s", i ? ", " : "",
                         a->addr[i].text);
        if (n < 0)
            break;
        used += (size_t)n;
    }
    herald_trace_log(t, HERALD_TRACE_INFO, "dns", "%s %s -> %s%s (ttl %u%s)", kind_label(q),
                     q->name, list, used >= sizeof list ? "..." : "", (unsigned)a->ttl,
                     source_label(q));
}

/* query_unlink - take q off the resolver's pending list */
static void
query_unlink(struct dns_query *q)
{
    if (q->prev != NULL)
        q->prev->next = q->next;
    else
        q->dns->pending = q->next;
    if (q->next != NULL)
        q->next->prev = q->prev;
    q->prev = q->next = NULL;
}

/* query_free - release a query that is off the list */
static void
query_free(struct dns_query *q)
{
    herald_timer_cancel(&q->later);
    dns_answer_free(&q->answer);
    free(q);
}

/* query_deliver - call the owner once with q's answer, then free q */
static void
query_deliver(struct dns_query *q)
{
    static const struct dns_answer oom = { .dns_class = HERALD_DNS_TEMPFAIL,
                                           .reason = "out of memory" };
    const struct dns_answer *a = q->answer != NULL ? q->answer : &oom;

    if (q->dns->starting == q)
        q->dns->starting = NULL;
    query_unlink(q);
    trace_answer(q, a);
    if (q->kind == DNS_KIND_MX) {
        struct herald_mx_result r = { a->dns_class, a->reason, a->ttl, a->count, a->mx };

        if (r.mx == NULL)
            r.count = 0;
        q->mx_fn(q->arg, &r);
    } else {
        struct herald_addr_result r = { a->dns_class, a->reason, a->ttl, a->count, a->addr };

        if (r.addr == NULL)
            r.count = 0;
        q->addr_fn(q->arg, &r);
    }
    query_free(q);
}

/* deliver_later - timer callback for answers known when the query started */
static void
deliver_later(void *arg)
{
    struct dns_query *q = arg;

    herald_timer_cancel(&q->later);   /* fired: release the handle */
    query_deliver(q);
}

/* query_answer - q's answer is known: deliver now, or from the loop if still starting */
static void
query_answer(struct dns_query *q, struct dns_answer *a)
{
    dns_answer_free(&q->answer);
    q->answer = a;
    if (q->starting) {
        if (herald_timer_start(q->dns->loop, 0, deliver_later, q, &q->later) == HERALD_OK)
            return;
        /* The loop cannot take a timer: there is no way left to answer later. */
        dns_answer_free(&q->answer);
        q->answer = answer_fail(HERALD_DNS_TEMPFAIL, "out of memory");
    }
    query_deliver(q);
}

/* classify - a c-ares status as a class and reason; ARES_SUCCESS is handled by the caller.
 * The timeout reason names the configuration, not c-ares' count, which adds
 * up the A and AAAA queries of one address lookup. */
static struct dns_answer *
classify(int status, const struct dns *dns)
{
    char why[96];

    switch (status) {
    case ARES_ENODATA:
        return answer_fail(HERALD_DNS_NODATA, "");
    case ARES_ENOTFOUND:
        return answer_fail(HERALD_DNS_NXDOMAIN, "NXDOMAIN");
    case ARES_ESERVFAIL:
        return answer_fail(HERALD_DNS_TEMPFAIL, "SERVFAIL");
    case ARES_EREFUSED:
        return answer_fail(HERALD_DNS_TEMPFAIL, "REFUSED");
    case ARES_ETIMEOUT:
        snprintf(why, sizeof why, "timeout after %d tr%s of %d ms", dns->tries,
                 dns->tries == 1 ? "y" : "ies", dns->timeout_ms);
        return answer_fail(HERALD_DNS_TEMPFAIL, why);
    case ARES_ECONNREFUSED:
        return answer_fail(HERALD_DNS_TEMPFAIL, "could not contact DNS servers");
    case ARES_EBADNAME:
        return answer_fail(HERALD_DNS_BADNAME, "bad name");
    case ARES_EDESTRUCTION:
    case ARES_ECANCELLED:
        return answer_fail(HERALD_DNS_CANCELLED, "resolver closing");
    default:
        snprintf(why, sizeof why, "%s", ares_strerror(status));
        return answer_fail(HERALD_DNS_TEMPFAIL, why);
    }
}

/* ---- wiring c-ares to the loop ---- */

static void dns_reschedule(struct dns *dns);

/* chans_renew - give each idle channel that has carried DNS_PORT_LOOKUPS
 * lookups a new socket (setting its server again closes the old one).  Only
 * from the loop, never from inside c-ares: it must be idle to accept. */
static void
chans_renew(struct dns *dns)
{
    size_t i;

    for (i = 0; i < dns->nchan; i++) {
        struct dns_chan *chan = &dns->chans[i];

        if (chan->flying == 0 && chan->port_lookups >= DNS_PORT_LOOKUPS && !dns->closing
            && ares_set_servers_ports(chan->channel, &chan->node) == ARES_SUCCESS) {
            herald_trace_log(&dns->env->trace, HERALD_TRACE_DEBUG, "dns",
                             "server %s: a new socket (source port) after %zu lookups",
                             chan->label, chan->port_lookups);
            chan->port_lookups = 0;
        }
    }
}

/* on_tick - c-ares' next timeout is due: let it retry or give up */
static void
on_tick(void *arg)
{
    struct dns *dns = arg;
    size_t i;

    herald_timer_cancel(&dns->tick);   /* fired: release the handle */
    for (i = 0; i < dns->nchan; i++)
        ares_process_fd(dns->chans[i].channel, ARES_SOCKET_BAD, ARES_SOCKET_BAD);
    chans_renew(dns);
    dns_reschedule(dns);
}

/* dns_reschedule - follow ares_timeout() with the tick timer.  An armed tick
 * due no later than a try sent now would time out is kept: sends and answers
 * only move c-ares' next timeout later, and a tick that fires early costs
 * one pass of c-ares and a re-arm, where re-arming per lookup cost a timer
 * and a walk of every query in flight (ares_timeout) each time. */
static void
dns_reschedule(struct dns *dns)
{
    struct timeval tv[DNS_MAX_SERVERS], *tvp = NULL;
    uint64_t ms, now = herald_loop_now_ms(dns->loop);
    size_t i;

    if (dns->closing || dns->pending == NULL) {
        herald_timer_cancel(&dns->tick);
        return;
    }
    if (dns->tick != NULL && dns->tick_due <= now + (uint64_t)dns->timeout_ms)
        return;
    herald_timer_cancel(&dns->tick);
    for (i = 0; i < dns->nchan; i++) {   /* the soonest of every channel's next timeout */
        struct timeval *t = ares_timeout(dns->chans[i].channel, tvp, &tv[i]);

        if (t != NULL)
            tvp = t;
    }
    if (tvp == NULL)
        return;
    ms = (uint64_t)tvp->tv_sec * 1000u + (uint64_t)(tvp->tv_usec + 999) / 1000u;
    /* Failing here leaves the query to the next socket event; with no events it
     * would hang, so fall back to polling c-ares soon. */
    if (herald_timer_start(dns->loop, ms, on_tick, dns, &dns->tick) != HERALD_OK) {
        ms = 10;
        (void)herald_timer_start(dns->loop, ms, on_tick, dns, &dns->tick);
    }
    dns->tick_due = now + ms;
}

/* on_socket - a c-ares socket is ready */
static void
on_socket(void *arg, int fd, unsigned events)
{
    struct dns_chan *chan = arg;
    struct dns *dns = chan->dns;

    ares_process_fd(chan->channel,
                    (events & (HERALD_IO_READ | HERALD_IO_ERROR)) ? fd : ARES_SOCKET_BAD,
                    (events & HERALD_IO_WRITE) ? fd : ARES_SOCKET_BAD);
    chans_renew(dns);
    dns_reschedule(dns);
}

/* on_udp_error - a batched query could not be sent on fd: c-ares reads the error now */
static void
on_udp_error(void *owner, ares_channel channel, int fd)
{
    struct dns *dns = owner;

    ares_process_fd(channel, fd, ARES_SOCKET_BAD);
    chans_renew(dns);
    dns_reschedule(dns);
}

/* sock_state - c-ares opened, changed or is closing a socket */
static void
sock_state(void *data, ares_socket_t fd, int readable, int writable)
{
    struct dns_chan *chan = data;
    struct dns *dns = chan->dns;
    unsigned events = (readable ? HERALD_IO_READ : 0u) | (writable ? HERALD_IO_WRITE : 0u);
    size_t i;

    for (i = 0; i < dns->sock_count; i++)
        if (dns->socks[i].fd == fd)
            break;
    if (i < dns->sock_count) {
        if (events == 0) {
            herald_io_remove(&dns->socks[i].io);
            dns->socks[i] = dns->socks[--dns->sock_count];
        } else {
            (void)herald_io_set(dns->socks[i].io, events);
        }
        return;
    }
    if (events == 0 || dns->closing)
        return;
    if (dns->sock_count == dns->sock_cap) {
        size_t cap = dns->sock_cap ? dns->sock_cap * 2 : 4;
        struct dns_sock *s = realloc(dns->socks, cap * sizeof *s);

        if (s == NULL)
            return;   /* unwatched: the tick timer still ends the query by timeout */
        dns->socks = s;
        dns->sock_cap = cap;
    }
    dns->socks[dns->sock_count].fd = fd;
    dns->socks[dns->sock_count].chan = chan;
    if (herald_io_add(dns->loop, fd, events, on_socket, chan, &dns->socks[dns->sock_count].io)
        == HERALD_OK)
        dns->sock_count++;
}

/* servers_csv - "a,b,c" from the configured list; NULL for none or no memory */
static char *
servers_csv(const struct herald_strlist *servers)
{
    size_t i, len = 1;
    char *csv;

    if (servers == NULL || servers->count == 0)
        return NULL;
    for (i = 0; i < servers->count; i++)
        len += strlen(servers->items[i]) + 1;
    csv = malloc(len);
    if (csv == NULL)
        return NULL;
    csv[0] = '\0';
    for (i = 0; i < servers->count; i++) {
        if (i > 0)
            strcat(csv, ",");
        strcat(csv, servers->items[i]);
    }
    return csv;
}

/* chan_init - a channel with the resolver's options whose sockets report to chan */
static int
chan_init(struct dns *dns, struct dns_chan *chan)
{
    struct ares_options o;
    char lookups[] = "b";
    int rc;

    memset(&o, 0, sizeof o);
    chan->dns = dns;
    o.sock_state_cb = sock_state;
    o.sock_state_cb_data = chan;
    o.timeout = dns->timeout_ms;
    o.tries = dns->tries;
    /* No ARES_FLAG_NOCHECKRESP would make c-ares skip a server that said
     * SERVFAIL or REFUSED but then report "could not contact DNS servers";
     * with one server per channel, moving on is ours (try_next_server). */
    o.flags = ARES_FLAG_NOSEARCH | ARES_FLAG_NOCHECKRESP | ARES_FLAG_STAYOPEN;
    o.lookups = lookups;
    /* The receive buffer is dns_udp's to set: c-ares leaves sockets it did not open alone. */
    rc = ares_init_options(&chan->channel, &o,
                           ARES_OPT_SOCK_STATE_CB | ARES_OPT_TIMEOUTMS | ARES_OPT_TRIES
                           | ARES_OPT_FLAGS | ARES_OPT_LOOKUPS);
    chan->ok = rc == ARES_SUCCESS;
    if (chan->ok)
        rc = dns_udp_attach(dns->udp, chan->channel);
    return rc;
}

/* node_label - "ADDR:PORT" of a server, for the trace */
static void
node_label(const struct ares_addr_port_node *n, char *out, size_t size)
{
    char addr[INET6_ADDRSTRLEN] = "?";
    unsigned port = n->udp_port ? (unsigned)n->udp_port : 53u;

    inet_ntop(n->family, &n->addr, addr, sizeof addr);
    snprintf(out, size, n->family == AF_INET6 ? "[%s]:%u" : "%s:%u", addr, port);
}

/* split_servers - one channel per server of the first channel's list, in order */
static int
split_servers(struct dns *dns)
{
    struct ares_addr_port_node *list = NULL, *n, *next;
    size_t count = 0;
    int rc;

    rc = ares_get_servers_ports(dns->chans[0].channel, &list);
    if (rc != ARES_SUCCESS)
        return rc;
    for (n = list; n != NULL && rc == ARES_SUCCESS; n = next, count++) {
        struct dns_chan *chan = &dns->chans[count];

        next = n->next;
        if (count == DNS_MAX_SERVERS) {
            herald_trace_log(&dns->env->trace, HERALD_TRACE_WARN, "dns",
                             "more than %d DNS servers: the others are not asked",
                             DNS_MAX_SERVERS);
            break;
        }
        if (count > 0 && (rc = chan_init(dns, chan)) != ARES_SUCCESS)
            break;
        dns->nchan = count + 1;
        node_label(n, chan->label, sizeof chan->label);
        chan->node = *n;
        chan->node.next = NULL;
        n->next = NULL;   /* this server alone */
        rc = ares_set_servers_ports(chan->channel, n);
        n->next = next;
    }
    ares_free_data(list);
    return rc;
}

/* dns_free - destroy the channels (each outstanding callback runs) and free */
static void
dns_free(struct dns *dns)
{
    size_t i;

    for (i = 0; i < DNS_MAX_SERVERS; i++)
        if (dns->chans[i].ok)
            ares_destroy(dns->chans[i].channel);
    dns_udp_free(&dns->udp);   /* after the channels: they close their sockets through it */
    while (dns->sock_count > 0)
        herald_io_remove(&dns->socks[--dns->sock_count].io);
    free(dns->socks);
    herald_timer_cancel(&dns->tick);
    dns_cache_free(&dns->cache);
    ares_library_cleanup();
    free(dns);
}

/* dns_new - the env's resolver, from its dns settings */
static herald_status
dns_new(struct herald_env *env, struct dns **dns_out, struct herald_diag *diag)
{
    struct dns *dns;
    char *csv;
    int rc;

    if (env->loop == NULL)
        return herald_diag_set(diag, HERALD_E_DNS, "dns", "no event loop for the resolver");
    dns = calloc(1, sizeof *dns);
    if (dns == NULL
        || (dns->cache = dns_cache_new(env->dns_cache_entries > 0
                                           ? (size_t)env->dns_cache_entries
                                           : DNS_DEFAULT_CACHE_ENTRIES)) == NULL) {
        free(dns);
        return herald_diag_set(diag, HERALD_E_NOMEM, "dns", "out of memory");
    }
    dns->env = env;
    dns->loop = env->loop;
    dns->policy.min_ttl_s = env->dns_min_ttl_s > 0 ? (uint32_t)env->dns_min_ttl_s : 0;
    dns->policy.max_ttl_s = env->dns_max_ttl_s > 0 ? (uint32_t)env->dns_max_ttl_s
                                                   : DNS_DEFAULT_MAX_TTL_S;
    if (dns->policy.min_ttl_s > dns->policy.max_ttl_s)
        dns->policy.min_ttl_s = dns->policy.max_ttl_s;
    dns->policy.hold_s = DNS_HOLD_S;
    dns->max_inflight = env->dns_max_inflight > 0 ? (size_t)env->dns_max_inflight
                                                  : DNS_DEFAULT_MAX_INFLIGHT;
    dns->window = dns->max_inflight;
    dns->tries = env->dns_tries > 0 && env->dns_tries <= 100 ? (int)env->dns_tries
                                                             : DNS_DEFAULT_TRIES;
    dns->timeout_ms = env->dns_timeout_ms > 0 && env->dns_timeout_ms <= 600000
                          ? (int)env->dns_timeout_ms : DNS_DEFAULT_TIMEOUT_MS;
    dns->udp = dns_udp_new(dns->loop, DNS_RCVBUF, on_udp_error, dns);
    if (dns->udp == NULL) {
        dns_cache_free(&dns->cache);
        free(dns);
        return herald_diag_set(diag, HERALD_E_NOMEM, "dns", "out of memory");
    }
    rc = ares_library_init(ARES_LIB_INIT_ALL);
    if (rc != ARES_SUCCESS) {
        dns_udp_free(&dns->udp);
        dns_cache_free(&dns->cache);
        free(dns);
        return herald_diag_set(diag, HERALD_E_DNS, "dns", "c-ares: %s", ares_strerror(rc));
    }
    rc = chan_init(dns, &dns->chans[0]);
    if (rc != ARES_SUCCESS) {
        dns_free(dns);
        return herald_diag_set(diag, HERALD_E_DNS, "dns", "cannot set up the resolver: %s",
                               ares_strerror(rc));
    }
    dns->nchan = 1;
    csv = servers_csv(env->dns_servers);
    if (env->dns_servers != NULL && env->dns_servers->count > 0) {
        rc = csv != NULL ? ares_set_servers_ports_csv(dns->chans[0].channel, csv) : ARES_ENOMEM;
        if (rc != ARES_SUCCESS) {
            char shown[256];

            (void)text_printable(shown, sizeof shown, csv, TEXT_WORD);
            free(csv);
            dns_free(dns);
            return herald_diag_set(diag, HERALD_E_DNS, "dns", "bad DNS servers \"%s\": %s",
                                   shown, ares_strerror(rc));
        }
    }
    rc = split_servers(dns);
    if (rc != ARES_SUCCESS) {
        free(csv);
        dns_free(dns);
        return herald_diag_set(diag, HERALD_E_DNS, "dns", "cannot set up the resolver: %s",
                               ares_strerror(rc));
    }
    herald_trace_log(&env->trace, HERALD_TRACE_DEBUG, "dns",
                     "resolver for device %s: servers %s, timeout %d ms, %d tries",
                     env->device_name ? env->device_name : "-",
                     csv != NULL ? csv : "from resolv.conf", dns->timeout_ms, dns->tries);
    free(csv);
    *dns_out = dns;
    return HERALD_OK;
}

static void flight_finish(struct dns_flight *f, struct dns_answer *a);

/* dns_env_close - cancel the env's pending lookups and free its resolver */
void
dns_env_close(struct herald_env *env)
{
    struct dns *dns;
    struct dns_query *q, *next;
    size_t i;

    if (env == NULL || env->dns == NULL)
        return;
    dns = env->dns;
    dns->closing = true;   /* new lookups from the callbacks below are refused */
    /* Answers waiting for the loop first: c-ares does not know them. */
    for (q = dns->pending; q != NULL; q = next) {
        next = q->next;
        if (q->later != NULL) {
            herald_timer_cancel(&q->later);
            dns_answer_free(&q->answer);
            q->answer = answer_fail(HERALD_DNS_CANCELLED, "resolver closing");
            query_deliver(q);
        }
    }
    /* Lookups waiting for a slot: c-ares does not know them either. */
    while (dns->queue_head != NULL) {
        struct dns_flight *f = dns->queue_head;

        dns->queue_head = f->qnext;
        f->qnext = NULL;
        flight_finish(f, answer_fail(HERALD_DNS_CANCELLED, "resolver closing"));
    }
    dns->queue_tail = NULL;
    /* ares_destroy calls every outstanding callback with ARES_EDESTRUCTION. */
    for (i = 0; i < DNS_MAX_SERVERS; i++)
        if (dns->chans[i].ok) {
            ares_destroy(dns->chans[i].channel);
            dns->chans[i].ok = false;
        }
    while (dns->flights != NULL)     /* should be none; never leave one unanswered */
        flight_finish(dns->flights, answer_fail(HERALD_DNS_CANCELLED, "resolver closing"));
    while (dns->pending != NULL) {   /* should be none; never leave one unanswered */
        q = dns->pending;
        dns_answer_free(&q->answer);
        q->answer = answer_fail(HERALD_DNS_CANCELLED, "resolver closing");
        query_deliver(q);
    }
    dns_free(dns);
    env->dns = NULL;
}

/* ---- answers from c-ares ---- */

/* What mx_take gathers from the records of an MX reply. */
struct mx_take {
    struct dns_flight *f;
    struct dns_answer *a;
    size_t cap, dropped;
};

/* mx_take - one MX record owned by the question: validate it, keep it */
static int
mx_take(void *arg, const struct dns_wire_rr *rr)
{
    struct mx_take *mt = arg;
    struct dns_answer *a = mt->a;
    unsigned pref;
    char *host;
    size_t hl;
    bool literal;
    int rc;

    if (a->count >= DNS_MAX_RECORDS)
        return ARES_SUCCESS;   /* a plan never needs more */
    rc = dns_wire_mx_rdata(rr, &pref, &host);
    if (rc != ARES_SUCCESS)
        return rc;
    hl = strlen(host);
    if (hl > 0 && host[hl - 1] == '.')
        host[--hl] = '\0';
    literal = herald_host_is_ip_literal(host);
    if (hl > 0 && !literal && !herald_dns_valid_hostname(host)) {
        char shown[128];

        (void)text_printable(shown, sizeof shown, host, TEXT_WORD);
        herald_trace_log(&mt->f->trace, HERALD_TRACE_WARN, "dns",
                         "MX %s: target \"%s\" is not a valid host name, ignored", mt->f->name,
                         shown);
        free(host);
        mt->dropped++;
        return ARES_SUCCESS;
    }
    if (a->count == mt->cap) {
        size_t cap = mt->cap ? mt->cap * 2 : 4;
        struct herald_mx *mx = realloc(a->mx, cap * sizeof *mx);
        char **hosts;

        if (mx == NULL) {
            free(host);
            return ARES_ENOMEM;
        }
        a->mx = mx;
        hosts = realloc(a->hosts, cap * sizeof *hosts);
        if (hosts == NULL) {
            free(host);
            return ARES_ENOMEM;
        }
        a->hosts = hosts;
        mt->cap = cap;
    }
    a->hosts[a->count] = host;
    a->mx[a->count].host = host;
    a->mx[a->count].preference = (uint16_t)pref;
    a->mx[a->count].is_ip_literal = literal;
    a->count++;
    return ARES_SUCCESS;
}

/* mx_answer - the MX records of a reply that belong to the question, validated.
 * Records owned by another name are ignored (c-ares passes them): an answer
 * may only speak for the name that was asked. */
static struct dns_answer *
mx_answer(struct dns_flight *q, const unsigned char *abuf, int alen)
{
    struct mx_take mt = { q, NULL, 0, 0 };
    size_t foreign = 0;
    uint32_t ttl = 0;
    int rc;

    mt.a = dns_answer_new();
    if (mt.a == NULL)
        return NULL;
    mt.a->dns_class = HERALD_DNS_OK;
    rc = dns_wire_records(abuf, alen, q->name, T_MX, mx_take, &mt, &foreign, &ttl);
    if (rc != ARES_SUCCESS) {
        dns_answer_free(&mt.a);
        return rc == ARES_ENOMEM ? NULL : classify(rc, q->dns);
    }
    mt.a->ttl = ttl;
    if (foreign > 0)
        herald_trace_log(&q->trace, HERALD_TRACE_WARN, "dns",
                         "MX %s: %zu record%s owned by another name ignored", q->name, foreign,
                         foreign == 1 ? "" : "s");
    if (mt.a->count == 0 && mt.dropped == 0) {   /* e.g. a CNAME chain that ends nowhere */
        dns_answer_free(&mt.a);
        return answer_fail(HERALD_DNS_NODATA, foreign > 0 ? "no MX record of this name"
                                                          : "no MX records in the answer");
    }
    if (mt.a->count == 0) {
        dns_answer_free(&mt.a);
        return answer_fail(HERALD_DNS_BADNAME, "no MX target is a valid host name");
    }
    if (mt.dropped > 0)
        snprintf(mt.a->reason, sizeof mt.a->reason, "%zu invalid MX target%s ignored",
                 mt.dropped, mt.dropped == 1 ? "" : "s");
    return mt.a;
}

/* ---- flights: one lookup per name and type on the wire ---- */

static void flight_send(struct dns_flight *f);
static void flight_pump(struct dns *dns);

/* got_reply - the status says the server sent a reply (of any kind) */
static bool
got_reply(int status)
{
    switch (status) {
    case ARES_SUCCESS:
    case ARES_ENODATA:
    case ARES_ENOTFOUND:
    case ARES_ESERVFAIL:
    case ARES_EREFUSED:
    case ARES_ENOTIMP:
    case ARES_EFORMERR:
    case ARES_EBADRESP:
        return true;
    default:
        return false;
    }
}

/* server_failed - the status says nothing about the name, only about the server */
static bool
server_failed(int status)
{
    switch (status) {
    case ARES_SUCCESS:
    case ARES_ENODATA:
    case ARES_ENOTFOUND:
    case ARES_EBADNAME:
    case ARES_ENOMEM:
    case ARES_EDESTRUCTION:
    case ARES_ECANCELLED:
        return false;
    default:   /* SERVFAIL, REFUSED, NOTIMP, FORMERR, bad reply, timeout, no contact */
        return true;
    }
}

/* try_next_server - a server failed f: ask the next configured one, if any.
 * True when f went on (its callback comes later). */
static bool
try_next_server(struct dns_flight *f, int status)
{
    struct dns *dns = f->dns;
    struct dns_answer *why;

    if (dns->closing || !server_failed(status) || f->server + 1 >= dns->nchan)
        return false;
    why = classify(status, dns);
    herald_trace_log(&f->trace, HERALD_TRACE_INFO, "dns", "%s %s: server %s: %s; asking %s",
                     type_label(f->kind, f->family), f->name, dns->chans[f->server].label,
                     why != NULL ? why->reason : ares_strerror(status),
                     dns->chans[f->server + 1].label);
    dns_answer_free(&why);
    f->server++;
    flight_send(f);
    return true;
}

/* window_feedback - a reply (or a lost try) from f's server sizes the window:
 * halved once per loss event (losses of lookups sent before the last cut are
 * the same event), grown by one per window of replies */
static void
window_feedback(struct dns_flight *f, int status, int timeouts)
{
    struct dns *dns = f->dns;

    if ((status == ARES_ETIMEOUT || timeouts > 0) && f->sent_seq > dns->cut_seq) {
        size_t w = dns->window / 2;

        dns->window = w < DNS_WINDOW_MIN ? DNS_WINDOW_MIN : w;
        if (dns->window > dns->max_inflight)
            dns->window = dns->max_inflight;
        dns->window_credit = 0;
        dns->cut_seq = dns->sent_seq;
        herald_trace_log(&f->trace, HERALD_TRACE_INFO, "dns",
                         "%s %s: a try to %s was lost: at most %zu lookups on the wire now",
                         type_label(f->kind, f->family), f->name, dns->chans[f->server].label,
                         dns->window);
    }
    if (!got_reply(status))
        return;
    dns->chans[f->server].answered++;
    if (dns->window < dns->max_inflight && ++dns->window_credit >= dns->window) {
        dns->window++;
        dns->window_credit = 0;
    }
}

/* reask_lost - every try of f timed out, but its server answered other
 * lookups meanwhile: the query or its answer was dropped in a crowd (ours),
 * so f waits for a slot again, first in line.  True when f went back. */
static bool
reask_lost(struct dns_flight *f, int status)
{
    struct dns *dns = f->dns;

    if (status != ARES_ETIMEOUT || dns->closing || f->reasked >= DNS_REASK_MAX
        || dns->chans[f->server].answered <= f->answered_at_send)
        return false;
    f->reasked++;
    herald_trace_log(&f->trace, HERALD_TRACE_INFO, "dns",
                     "%s %s: no answer from %s, which answered other lookups meanwhile: "
                     "asking again (%d of %d)", type_label(f->kind, f->family), f->name,
                     dns->chans[f->server].label, f->reasked, DNS_REASK_MAX);
    if (f->sent) {
        f->sent = false;
        dns->inflight--;
    }
    f->qnext = dns->queue_head;
    dns->queue_head = f;
    if (dns->queue_tail == NULL)
        dns->queue_tail = f;
    flight_pump(dns);
    return true;
}

/* negative_ttl - RFC 2308: a negative answer lives as long as its SOA says (0: none) */
static void
negative_ttl(struct dns_answer *a, const unsigned char *abuf, int alen)
{
    uint32_t ttl;

    if (a != NULL && (a->dns_class == HERALD_DNS_NXDOMAIN || a->dns_class == HERALD_DNS_NODATA)
        && dns_wire_negative_ttl(abuf, alen, &ttl))
        a->ttl = ttl;
}

/* on_mx - ares_query callback for MX lookups */
static void
on_mx(void *arg, int status, int timeouts, unsigned char *abuf, int alen)
{
    struct dns_flight *f = arg;
    struct dns_answer *a;

    f->dns->chans[f->server].flying--;
    f->timeouts += timeouts;
    window_feedback(f, status, timeouts);
    if (reask_lost(f, status) || try_next_server(f, status))
        return;
    if (status == ARES_SUCCESS && abuf != NULL)
        a = mx_answer(f, abuf, alen);
    else
        a = classify(status == ARES_SUCCESS ? ARES_EBADRESP : status, f->dns);
    if (abuf != NULL)
        negative_ttl(a, abuf, alen);
    flight_finish(f, a);
}

/* addr_answer - the nodes of a getaddrinfo reply as an owned answer */
static struct dns_answer *
addr_answer(const struct ares_addrinfo *res)
{
    const struct ares_addrinfo_node *n;
    struct dns_answer *a;
    size_t count = 0;
    bool any_ttl = false;

    for (n = res != NULL ? res->nodes : NULL; n != NULL; n = n->ai_next)
        if (n->ai_family == AF_INET || n->ai_family == AF_INET6)
            count++;
    if (count == 0)
        return answer_fail(HERALD_DNS_NODATA, "");
    if (count > DNS_MAX_RECORDS)
        count = DNS_MAX_RECORDS;
    a = dns_answer_new();
    if (a == NULL || (a->addr = calloc(count, sizeof *a->addr)) == NULL) {
        dns_answer_free(&a);
        return NULL;
    }
    a->dns_class = HERALD_DNS_OK;
    for (n = res->nodes; n != NULL && a->count < count; n = n->ai_next) {
        struct herald_address *out = &a->addr[a->count];
        const void *raw;

        if (n->ai_family == AF_INET && n->ai_addrlen >= sizeof(struct sockaddr_in)) {
            struct sockaddr_in *sin = (struct sockaddr_in *)&out->sa;

            memcpy(sin, n->ai_addr, sizeof *sin);
            sin->sin_port = 0;
            out->len = sizeof *sin;
            raw = &sin->sin_addr;
        } else if (n->ai_family == AF_INET6 && n->ai_addrlen >= sizeof(struct sockaddr_in6)) {
            struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&out->sa;

            memcpy(sin6, n->ai_addr, sizeof *sin6);
            sin6->sin6_port = 0;
            out->len = sizeof *sin6;
            raw = &sin6->sin6_addr;
        } else {
            continue;
        }
        if (inet_ntop(n->ai_family, raw, out->text, sizeof out->text) == NULL)
            continue;
        if (n->ai_ttl >= 0 && (!any_ttl || (uint32_t)n->ai_ttl < a->ttl)) {
            a->ttl = (uint32_t)n->ai_ttl;
            any_ttl = true;
        }
        a->count++;
    }
    if (a->count == 0) {
        dns_answer_free(&a);
        return answer_fail(HERALD_DNS_NODATA, "");
    }
    return a;
}

/* on_addr - ares_getaddrinfo callback.  getaddrinfo gives no SOA: a negative
 * address answer has TTL 0, so it is kept only for dns.min_ttl_s. */
static void
on_addr(void *arg, int status, int timeouts, struct ares_addrinfo *res)
{
    struct dns_flight *f = arg;
    struct dns_answer *a;

    f->dns->chans[f->server].flying--;
    f->timeouts += timeouts;
    window_feedback(f, status, timeouts);
    if (reask_lost(f, status) || try_next_server(f, status)) {
        if (res != NULL)
            ares_freeaddrinfo(res);
        return;
    }
    if (status == ARES_SUCCESS)
        a = addr_answer(res);
    else
        a = classify(status, f->dns);
    if (res != NULL)
        ares_freeaddrinfo(res);
    flight_finish(f, a);
}

/* flight_send - hand f to the channel of its current server */
static void
flight_send(struct dns_flight *f)
{
    ares_channel ch = f->dns->chans[f->server].channel;

    f->sent_seq = ++f->dns->sent_seq;
    f->answered_at_send = f->dns->chans[f->server].answered;
    f->dns->chans[f->server].flying++;
    f->dns->chans[f->server].port_lookups++;

    if (f->kind == DNS_KIND_MX) {
        ares_query(ch, f->name, C_IN, T_MX, on_mx, f);
    } else {
        struct ares_addrinfo_hints hints;

        memset(&hints, 0, sizeof hints);
        hints.ai_family = f->family == HERALD_FAMILY_IPV4 ? AF_INET
                          : f->family == HERALD_FAMILY_IPV6 ? AF_INET6 : AF_UNSPEC;
        /* Keep the server's order: choosing among addresses is the transport's job. */
        hints.ai_flags = ARES_AI_NOSORT;
        ares_getaddrinfo(ch, f->name, NULL, &hints, on_addr, f);
    }
}

/* flight_pump - send waiting flights, first come first, while slots are free */
static void
flight_pump(struct dns *dns)
{
    while (!dns->closing && dns->queue_head != NULL && dns->inflight < dns->window) {
        struct dns_flight *f = dns->queue_head;

        dns->queue_head = f->qnext;
        if (dns->queue_head == NULL)
            dns->queue_tail = NULL;
        f->qnext = NULL;
        f->sent = true;
        dns->inflight++;
        herald_trace_log(&f->trace, HERALD_TRACE_DEBUG, "dns", "query %s %s",
                         type_label(f->kind, f->family), f->name);
        flight_send(f);   /* may finish f at once (and pump again: harmless) */
    }
}

/* flight_unlink - take f off the list of flights */
static void
flight_unlink(struct dns_flight *f)
{
    if (f->prev != NULL)
        f->prev->next = f->next;
    else
        f->dns->flights = f->next;
    if (f->next != NULL)
        f->next->prev = f->prev;
    f->prev = f->next = NULL;
}

/* flight_finish - f has its answer: keep it as long as policy says, give
 * every waiter its copy (in the order they asked), free f, send the next */
static void
flight_finish(struct dns_flight *f, struct dns_answer *a)
{
    struct dns *dns = f->dns;
    struct dns_query *q, *next;

    if (f->sent)
        dns->inflight--;
    if (f->entry != NULL)
        dns_cache_settle(dns->cache, f->entry, a,
                         dns->closing ? 0 : dns_cache_lifetime(a, &dns->policy),
                         herald_loop_now_ms(dns->loop));
    f->entry = NULL;
    flight_unlink(f);
    for (q = f->waiters; q != NULL; q = next) {
        next = q->fnext;
        q->fnext = NULL;
        q->timeouts = f->timeouts;
        /* The last waiter takes the answer itself; the others a copy. */
        query_answer(q, next == NULL ? a : a != NULL ? dns_answer_dup(a) : NULL);
    }
    if (f->waiters == NULL)
        dns_answer_free(&a);
    free(f);
    flight_pump(dns);
}

/* flight_join - q waits for f's answer */
static void
flight_join(struct dns_flight *f, struct dns_query *q)
{
    if (f->waiters_tail != NULL)
        f->waiters_tail->fnext = q;
    else
        f->waiters = q;
    f->waiters_tail = q;
    f->nwaiters++;
}

/* flight_start - a new lookup for q's question: sent now, or queued when
 * dns.max_inflight lookups are on the wire (never dropped) */
static herald_status
flight_start(struct dns *dns, struct dns_query *q, struct herald_diag *diag)
{
    size_t len = strlen(q->name);
    struct dns_flight *f = calloc(1, sizeof *f + len + 1);

    if (f == NULL)
        return herald_diag_set(diag, HERALD_E_NOMEM, "dns", "out of memory");
    f->name = memcpy(f->name_buf, q->name, len + 1);
    f->dns = dns;
    f->kind = q->kind;
    f->family = q->family;
    f->trace = q->trace;
    f->entry = dns_cache_begin(dns->cache, q->kind, q->family, q->name, f,
                               herald_loop_now_ms(dns->loop));
    f->next = dns->flights;
    if (f->next != NULL)
        f->next->prev = f;
    dns->flights = f;
    flight_join(f, q);
    if (dns->queue_tail != NULL)
        dns->queue_tail->qnext = f;
    else
        dns->queue_head = f;
    dns->queue_tail = f;
    if (dns->inflight >= dns->window)
        herald_trace_log(&q->trace, HERALD_TRACE_DEBUG, "dns",
                         "%s %s waits: %zu lookups in flight (dns.max_inflight %zu, window %zu)",
                         kind_label(q), q->name, dns->inflight, dns->max_inflight, dns->window);
    flight_pump(dns);
    return HERALD_OK;
}

/* dns_env_cached - a live answer of env's resolver for the key, and what is left of it */
bool
dns_env_cached(struct herald_env *env, enum dns_kind kind, int family, const char *name,
               uint64_t *left_ms)
{
    struct dns_cache_entry *e;
    uint64_t now;

    if (env == NULL || env->dns == NULL || env->dns->closing)
        return false;
    now = herald_loop_now_ms(env->dns->loop);
    e = dns_cache_find(env->dns->cache, kind, family, name, now);
    if (e == NULL || dns_cache_flight(e) != NULL)
        return false;
    *left_ms = dns_cache_expires_ms(e) - now;
    return true;
}

/* dns_env_counts - the counters of env's answer table */
void
dns_env_counts(const struct herald_env *env, size_t *cached, size_t *evictions)
{
    const struct dns_cache *c = env != NULL && env->dns != NULL ? env->dns->cache : NULL;

    *cached = dns_cache_count(c);
    *evictions = dns_cache_evictions(c);
}

/* ---- starting lookups ---- */

/* query_new - a pending query for name on env's resolver (created on first use) */
static herald_status
query_new(struct herald_env *env, const struct herald_trace *trace, enum dns_kind kind,
          const char *name, int family, void *arg, struct dns_query **q_out,
          struct herald_diag *diag)
{
    struct dns_query *q;
    herald_status st;
    size_t len;

    if (env->dns == NULL) {
        st = dns_new(env, &env->dns, diag);
        if (st != HERALD_OK)
            return st;
    }
    if (env->dns->closing)
        return herald_diag_set(diag, HERALD_E_DNS, "dns", "the resolver is closing");
    len = strlen(name);
    if (len > 0 && name[len - 1] == '.')
        len--;   /* one spelling per name, for the cache and the trace */
    q = calloc(1, sizeof *q + len + 1);
    if (q == NULL)
        return herald_diag_set(diag, HERALD_E_NOMEM, "dns", "out of memory");
    memcpy(q->name_buf, name, len);
    q->name_buf[len] = '\0';
    q->name = q->name_buf;
    q->dns = env->dns;
    q->trace = trace != NULL ? *trace : env->trace;
    q->kind = kind;
    q->family = family;
    q->arg = arg;
    q->starting = true;
    q->next = env->dns->pending;
    if (q->next != NULL)
        q->next->prev = q;
    env->dns->pending = q;
    *q_out = q;
    return HERALD_OK;
}

/* query_started - the starting call returns: answers from now on come straight from c-ares.
 * q may have been answered (and, only when out of memory, freed) meanwhile:
 * dns->starting still naming it proves it is alive. */
static void
query_started(struct dns *dns, struct dns_query *q)
{
    if (dns->starting == q) {
        q->starting = false;
        dns->starting = NULL;
    }
    dns_reschedule(dns);
}

/* query_lookup - answer q from the table, join the lookup in flight, or start one */
static herald_status
query_lookup(struct dns_query *q, struct herald_diag *diag)
{
    struct dns *dns = q->dns;
    uint64_t now = herald_loop_now_ms(dns->loop);
    struct dns_cache_entry *e = dns_cache_find(dns->cache, q->kind, q->family, q->name, now);
    struct dns_flight *f = e != NULL ? dns_cache_flight(e) : NULL;
    herald_status st;

    if (e != NULL && f == NULL) {
        struct dns_answer *hit = dns_cache_answer(e, now);

        if (hit != NULL) {
            q->from_cache = true;
            query_answer(q, hit);   /* from the loop: q is starting */
            return HERALD_OK;
        }
    }
    if (f != NULL) {
        q->joined = true;
        flight_join(f, q);
        return HERALD_OK;
    }
    dns->starting = q;
    st = flight_start(dns, q, diag);
    if (st != HERALD_OK) {
        dns->starting = NULL;
        query_unlink(q);
        query_free(q);
        return st;
    }
    query_started(dns, q);
    return HERALD_OK;
}

/* herald_dns_query_mx - MX records of domain, answered from the loop */
herald_status
herald_dns_query_mx(struct herald_env *env, const struct herald_trace *trace, const char *domain,
                    herald_mx_fn fn, void *arg, struct herald_diag *diag)
{
    struct dns_query *q;
    herald_status st;

    if (env == NULL || fn == NULL || domain == NULL)
        return herald_diag_set(diag, HERALD_E_INVAL, "dns", "herald_dns_query_mx: bad arguments");
    if (!herald_dns_valid_hostname(domain)) {
        char shown[128];

        (void)text_printable(shown, sizeof shown, domain, TEXT_WORD);
        return herald_diag_set(diag, HERALD_E_INVAL, "dns", "\"%s\" is not a valid domain name",
                               shown);
    }
    st = query_new(env, trace, DNS_KIND_MX, domain, 0, arg, &q, diag);
    if (st != HERALD_OK)
        return st;
    q->mx_fn = fn;
    return query_lookup(q, diag);
}

/* herald_dns_resolve - A and/or AAAA of host; IP literals answered at once (from the loop) */
herald_status
herald_dns_resolve(struct herald_env *env, const struct herald_trace *trace, const char *host,
                   enum herald_family family, herald_addr_fn fn, void *arg,
                   struct herald_diag *diag)
{
    struct herald_address lit;
    struct dns_query *q;
    herald_status st;

    if (env == NULL || fn == NULL || host == NULL
        || (family != HERALD_FAMILY_ANY && family != HERALD_FAMILY_IPV4
            && family != HERALD_FAMILY_IPV6))
        return herald_diag_set(diag, HERALD_E_INVAL, "dns", "herald_dns_resolve: bad arguments");
    if (parse_ip_literal(host, &lit)) {
        int af = ((struct sockaddr *)&lit.sa)->sa_family;
        bool wanted = family == HERALD_FAMILY_ANY
                      || (family == HERALD_FAMILY_IPV4 && af == AF_INET)
                      || (family == HERALD_FAMILY_IPV6 && af == AF_INET6);
        struct dns_answer *a;

        st = query_new(env, trace, DNS_KIND_ADDR, host, family, arg, &q, diag);
        if (st != HERALD_OK)
            return st;
        q->addr_fn = fn;
        if (wanted) {
            a = dns_answer_new();
            if (a != NULL && (a->addr = malloc(sizeof *a->addr)) != NULL) {
                a->addr[0] = lit;
                a->count = 1;
                a->dns_class = HERALD_DNS_OK;
            } else {
                dns_answer_free(&a);
            }
        } else {
            a = answer_fail(HERALD_DNS_NODATA, "IP literal of the other family");
        }
        query_answer(q, a);
        return HERALD_OK;
    }
    if (!herald_dns_valid_hostname(host)) {
        char shown[128];

        (void)text_printable(shown, sizeof shown, host, TEXT_WORD);
        return herald_diag_set(diag, HERALD_E_INVAL, "dns", "\"%s\" is not a valid host name",
                               shown);
    }
    st = query_new(env, trace, DNS_KIND_ADDR, host, family, arg, &q, diag);
    if (st != HERALD_OK)
        return st;
    q->addr_fn = fn;
    return query_lookup(q, diag);
}
