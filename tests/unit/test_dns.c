/*
 * test_dns.c - the core resolver against real servers on 127.0.0.1
 *
 * tests/lib/dns_servers.py starts dnsmasq (records of TESTING.md 3), a
 * SERVFAIL responder, a silent socket and a hostile responder, on ports the
 * kernel picks; it stops them when our end of its stdin closes, so even a
 * crashed test leaves nothing running.  Every wait is bounded.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <CUnit/Basic.h>

#include <herald/dns.h>
#include <herald/loop.h>
#include "dns.h"
#include "env.h"
#include "trace_sink.h"
#include "test_main.h"
#include "test_file.h"

#define RUN_TIMEOUT_MS 10000

static pid_t helper_pid = -1;
static int helper_stdin = -1;
static int port_dnsmasq, port_servfail, port_silent, port_hostile, port_refused, port_lossy;
static struct herald_loop *loop;
static struct trace_sink *sink;
static char trace_path[128];
static char tmpdir[64];

/* ---- the helper process ---- */

/* start_helper - run dns_servers.py and read its READY line (bounded) */
static int
start_helper(void)
{
    const char *src = getenv("HERALD_SRC_DIR");
    const char *py = getenv("TEST_PYTHON");
    const char *dnsmasq = getenv("DNSMASQ");
    char script[512], log[128], line[256];
    int in[2], out[2];
    size_t used = 0;
    uint64_t waited = 0;

    if (src == NULL)
        src = ".";
    if (py == NULL || *py == '\0')
        py = "/usr/bin/python3";
    if (dnsmasq == NULL || *dnsmasq == '\0')
        dnsmasq = "/usr/sbin/dnsmasq";
    snprintf(script, sizeof script, "%s/tests/lib/dns_servers.py", src);
    snprintf(log, sizeof log, "%s/dnsmasq.log", tmpdir);
    if (pipe2(in, O_CLOEXEC) != 0 || pipe2(out, O_CLOEXEC) != 0)
        return -1;
    helper_pid = fork();
    if (helper_pid < 0)
        return -1;
    if (helper_pid == 0) {
        dup2(in[0], 0);
        dup2(out[1], 1);
        execl(py, py, script, dnsmasq, log, (char *)NULL);
        _exit(99);
    }
    close(in[0]);
    close(out[1]);
    helper_stdin = in[1];
    memset(line, 0, sizeof line);
    while (waited < 15000 && used + 1 < sizeof line && strchr(line, '\n') == NULL) {
        struct pollfd p = { out[0], POLLIN, 0 };
        ssize_t n;

        if (poll(&p, 1, 100) <= 0) {
            waited += 100;
            continue;
        }
        n = read(out[0], line + used, sizeof line - 1 - used);
        if (n <= 0)
            break;
        used += (size_t)n;
    }
    close(out[0]);
    if (sscanf(line, "READY dnsmasq=%d servfail=%d silent=%d hostile=%d refused=%d lossy=%d",
               &port_dnsmasq, &port_servfail, &port_silent, &port_hostile, &port_refused,
               &port_lossy) != 6) {
        fprintf(stderr, "dns_servers.py did not get ready: \"%s\"\n", line);
        return -1;
    }
    return 0;
}

/* stop_helper - close its stdin (it stops dnsmasq), then reap it, bounded */
static void
stop_helper(void)
{
    int i, status;

    if (helper_stdin >= 0)
        close(helper_stdin);
    helper_stdin = -1;
    if (helper_pid <= 0)
        return;
    for (i = 0; i < 100; i++) {
        struct timespec ts = { 0, 50 * 1000 * 1000 };

        if (waitpid(helper_pid, &status, WNOHANG) == helper_pid) {
            helper_pid = -1;
            return;
        }
        nanosleep(&ts, NULL);   /* reaping a child: no server is waited for here */
    }
    kill(helper_pid, SIGKILL);
    waitpid(helper_pid, &status, 0);
    helper_pid = -1;
}

static int
suite_init(void)
{
    snprintf(tmpdir, sizeof tmpdir, "/tmp/herald-dns-XXXXXX");
    if (mkdtemp(tmpdir) == NULL)
        return -1;
    snprintf(trace_path, sizeof trace_path, "%s/trace.log", tmpdir);
    if (herald_loop_new(&loop) != HERALD_OK)
        return -1;
    if (trace_sink_open(trace_path, TRACE_FORMAT_TEXT, HERALD_TRACE_DEBUG, &sink, NULL)
        != HERALD_OK)
        return -1;
    return start_helper();
}

static int
suite_clean(void)
{
    char p[128];

    stop_helper();
    trace_sink_free(&sink);
    herald_loop_free(&loop);
    unlink(trace_path);
    snprintf(p, sizeof p, "%s/dnsmasq.log", tmpdir);
    unlink(p);
    rmdir(tmpdir);
    return 0;
}

/* ---- envs and callbacks ---- */

struct test_env {
    struct herald_env env;
    char server[64], server2[64];
    const char *items[2];
    struct herald_strlist servers;
};

/* env_init2 - an env whose resolver asks 127.0.0.1:port, then 127.0.0.1:port2 (0: none) */
static void
env_init2(struct test_env *te, int port, int port2, int64_t timeout_ms, int64_t tries)
{
    memset(te, 0, sizeof *te);
    snprintf(te->server, sizeof te->server, "127.0.0.1:%d", port);
    snprintf(te->server2, sizeof te->server2, "127.0.0.1:%d", port2);
    te->items[0] = te->server;
    te->items[1] = te->server2;
    te->servers.count = port2 > 0 ? 2 : 1;
    te->servers.items = te->items;
    te->env.loop = loop;
    trace_scope_init(&te->env.trace, sink, "-");
    te->env.device_name = "test";
    te->env.dns_servers = &te->servers;
    te->env.dns_timeout_ms = timeout_ms;
    te->env.dns_tries = tries;
}

/* env_init - an env whose resolver asks only 127.0.0.1:port */
static void
env_init(struct test_env *te, int port, int64_t timeout_ms, int64_t tries)
{
    env_init2(te, port, 0, timeout_ms, tries);
}

struct mx_got {
    bool done;
    int calls;
    enum herald_dns_class cls;
    char reason[128];
    uint32_t ttl;
    size_t count;
    struct { unsigned pref; char host[300]; bool lit; } mx[8];
};

static void
on_mx(void *arg, const struct herald_mx_result *r)
{
    struct mx_got *g = arg;
    size_t i;

    g->done = true;
    g->calls++;
    g->cls = r->dns_class;
    snprintf(g->reason, sizeof g->reason, "%s", r->reason ? r->reason : "(null)");
    g->ttl = r->ttl;
    g->count = r->count;
    for (i = 0; i < r->count && i < 8; i++) {
        g->mx[i].pref = r->mx[i].preference;
        snprintf(g->mx[i].host, sizeof g->mx[i].host, "%s", r->mx[i].host);
        g->mx[i].lit = r->mx[i].is_ip_literal;
    }
}

struct addr_got {
    bool done;
    int calls;
    enum herald_dns_class cls;
    char reason[128];
    uint32_t ttl;
    size_t count;
    char text[8][48];
};

static void
on_addr(void *arg, const struct herald_addr_result *r)
{
    struct addr_got *g = arg;
    size_t i;

    g->done = true;
    g->calls++;
    g->cls = r->dns_class;
    snprintf(g->reason, sizeof g->reason, "%s", r->reason ? r->reason : "(null)");
    g->ttl = r->ttl;
    g->count = r->count;
    for (i = 0; i < r->count && i < 8; i++) {
        memcpy(g->text[i], r->addr[i].text, sizeof g->text[i]);
        CU_ASSERT(r->addr[i].len > 0);
    }
}

static bool
is_done(void *arg)
{
    return *(bool *)arg;
}

/* query_mx - one MX lookup run to its answer */
static void
query_mx(struct test_env *te, const char *name, struct mx_got *g)
{
    memset(g, 0, sizeof *g);
    CU_ASSERT_EQUAL_FATAL(herald_dns_query_mx(&te->env, NULL, name, on_mx, g, NULL), HERALD_OK);
    CU_ASSERT_FALSE(g->done);   /* never from inside the call */
    CU_ASSERT_EQUAL(herald_loop_run(loop, is_done, &g->done, RUN_TIMEOUT_MS), HERALD_OK);
    CU_ASSERT_EQUAL(g->calls, 1);
}

/* resolve - one address lookup run to its answer */
static void
resolve(struct test_env *te, const char *name, enum herald_family fam, struct addr_got *g)
{
    memset(g, 0, sizeof *g);
    CU_ASSERT_EQUAL_FATAL(herald_dns_resolve(&te->env, NULL, name, fam, on_addr, g, NULL), HERALD_OK);
    CU_ASSERT_FALSE(g->done);
    CU_ASSERT_EQUAL(herald_loop_run(loop, is_done, &g->done, RUN_TIMEOUT_MS), HERALD_OK);
    CU_ASSERT_EQUAL(g->calls, 1);
}

/* has_mx - the answer holds preference pref with host */
static bool
has_mx(const struct mx_got *g, unsigned pref, const char *host)
{
    size_t i;

    for (i = 0; i < g->count && i < 8; i++)
        if (g->mx[i].pref == pref && strcmp(g->mx[i].host, host) == 0)
            return true;
    return false;
}

static bool
has_addr(const struct addr_got *g, const char *text)
{
    size_t i;

    for (i = 0; i < g->count && i < 8; i++)
        if (strcmp(g->text[i], text) == 0)
            return true;
    return false;
}

static uint64_t
now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

/* ---- tests against dnsmasq ---- */

static void
test_mx_multi(void)
{
    struct test_env te;
    struct mx_got g;
    char *t;

    env_init(&te, port_dnsmasq, 2000, 2);
    query_mx(&te, "multi.test", &g);
    CU_ASSERT_EQUAL(g.cls, HERALD_DNS_OK);
    CU_ASSERT_STRING_EQUAL(g.reason, "");
    CU_ASSERT_EQUAL(g.count, 3);
    CU_ASSERT(has_mx(&g, 10, "mx1.multi.test"));
    CU_ASSERT(has_mx(&g, 20, "mx2.multi.test"));
    CU_ASSERT(has_mx(&g, 30, "mx3.multi.test"));
    CU_ASSERT_EQUAL(g.ttl, 0);   /* dnsmasq's local records */
    CU_ASSERT_FALSE(g.mx[0].lit);
    /* Idle, the socket stays open for the next lookup (ARES_FLAG_STAYOPEN): the
     * loop still watches it (no timer is left: test_cancel) */
    CU_ASSERT_EQUAL(herald_loop_run(loop, NULL, NULL, 100), HERALD_E_TIMEOUT);
    /* TTL 0 is not cached: a second lookup asks again */
    query_mx(&te, "multi.test.", &g);
    CU_ASSERT_EQUAL(g.count, 3);
    dns_env_close(&te.env);
    CU_ASSERT_PTR_NULL(te.env.dns);
    /* closed, nothing of the resolver is left on the loop */
    CU_ASSERT_EQUAL(herald_loop_run(loop, NULL, NULL, 1000), HERALD_OK);
    t = test_read_file(trace_path, NULL);
    CU_ASSERT_PTR_NOT_NULL_FATAL(t);
    CU_ASSERT_PTR_NOT_NULL(strstr(t, "dns: MX multi.test -> "));
    CU_ASSERT_PTR_NOT_NULL(strstr(t, "10 mx1.multi.test"));
    CU_ASSERT_PTR_NOT_NULL(strstr(t, "(ttl 0)"));
    CU_ASSERT_PTR_NULL(strstr(t, "multi.test -> 30 mx3.multi.test, 20 mx2.multi.test, "
                                 "10 mx1.multi.test (ttl 0, cached)"));
    free(t);
}

static void
test_mx_equal(void)
{
    struct test_env te;
    struct mx_got g;

    env_init(&te, port_dnsmasq, 2000, 2);
    query_mx(&te, "equal.test", &g);
    CU_ASSERT_EQUAL(g.cls, HERALD_DNS_OK);
    CU_ASSERT_EQUAL(g.count, 2);
    CU_ASSERT(has_mx(&g, 10, "mxa.equal.test"));
    CU_ASSERT(has_mx(&g, 10, "mxb.equal.test"));
    dns_env_close(&te.env);
}

static void
test_mx_nodata_implicit(void)
{
    struct test_env te;
    struct mx_got g;
    struct addr_got a;

    env_init(&te, port_dnsmasq, 2000, 2);
    query_mx(&te, "implicit.test", &g);
    CU_ASSERT_EQUAL(g.cls, HERALD_DNS_NODATA);
    CU_ASSERT_EQUAL(g.count, 0);
    resolve(&te, "implicit.test", HERALD_FAMILY_ANY, &a);
    CU_ASSERT_EQUAL(a.cls, HERALD_DNS_OK);
    CU_ASSERT_EQUAL(a.count, 1);
    CU_ASSERT(has_addr(&a, "127.0.0.7"));
    dns_env_close(&te.env);
}

static void
test_mx_null(void)
{
    struct test_env te;
    struct mx_got g;

    env_init(&te, port_dnsmasq, 2000, 2);
    query_mx(&te, "nullmx.test", &g);
    CU_ASSERT_EQUAL(g.cls, HERALD_DNS_OK);
    CU_ASSERT_EQUAL(g.count, 1);
    CU_ASSERT(has_mx(&g, 0, ""));
    dns_env_close(&te.env);
}

static void
test_v6only(void)
{
    struct test_env te;
    struct mx_got g;
    struct addr_got a;

    env_init(&te, port_dnsmasq, 2000, 2);
    query_mx(&te, "v6only.test", &g);
    CU_ASSERT_EQUAL(g.cls, HERALD_DNS_OK);
    CU_ASSERT(has_mx(&g, 10, "mx.v6only.test"));
    resolve(&te, "mx.v6only.test", HERALD_FAMILY_IPV4, &a);
    CU_ASSERT_EQUAL(a.cls, HERALD_DNS_NODATA);
    resolve(&te, "mx.v6only.test", HERALD_FAMILY_IPV6, &a);
    CU_ASSERT_EQUAL(a.cls, HERALD_DNS_OK);
    CU_ASSERT_EQUAL(a.count, 1);
    CU_ASSERT(has_addr(&a, "::1"));
    resolve(&te, "mx.v6only.test", HERALD_FAMILY_ANY, &a);
    CU_ASSERT_EQUAL(a.cls, HERALD_DNS_OK);
    CU_ASSERT(has_addr(&a, "::1"));
    /* both families of one host */
    resolve(&te, "mx3.multi.test", HERALD_FAMILY_ANY, &a);
    CU_ASSERT_EQUAL(a.cls, HERALD_DNS_OK);
    CU_ASSERT_EQUAL(a.count, 2);
    CU_ASSERT(has_addr(&a, "127.0.0.4"));
    CU_ASSERT(has_addr(&a, "::1"));
    dns_env_close(&te.env);
}

static void
test_nxdomain(void)
{
    struct test_env te;
    struct mx_got g;
    struct addr_got a;

    env_init(&te, port_dnsmasq, 2000, 2);
    query_mx(&te, "nx.test", &g);
    CU_ASSERT_EQUAL(g.cls, HERALD_DNS_NXDOMAIN);
    resolve(&te, "nohost.nx.test", HERALD_FAMILY_ANY, &a);
    CU_ASSERT_EQUAL(a.cls, HERALD_DNS_NXDOMAIN);
    dns_env_close(&te.env);
}

static void
test_servfail_refused(void)
{
    struct test_env te;
    struct mx_got g;

    env_init(&te, port_dnsmasq, 2000, 1);
    query_mx(&te, "servfail.test", &g);   /* dnsmasq passes the upstream SERVFAIL on */
    CU_ASSERT_EQUAL(g.cls, HERALD_DNS_TEMPFAIL);
    CU_ASSERT_STRING_EQUAL(g.reason, "SERVFAIL");
    query_mx(&te, "example.com", &g);     /* outside --local: dnsmasq refuses */
    CU_ASSERT_EQUAL(g.cls, HERALD_DNS_TEMPFAIL);
    CU_ASSERT_STRING_EQUAL(g.reason, "REFUSED");
    dns_env_close(&te.env);
    env_init(&te, port_servfail, 2000, 1);  /* the responder itself */
    query_mx(&te, "anything.test", &g);
    CU_ASSERT_EQUAL(g.cls, HERALD_DNS_TEMPFAIL);
    CU_ASSERT_STRING_EQUAL(g.reason, "SERVFAIL");
    dns_env_close(&te.env);
}

static void
test_timeout(void)
{
    struct test_env te;
    struct mx_got g;
    struct addr_got a;
    uint64_t start, took;

    env_init(&te, port_silent, 300, 2);
    start = now_ms();
    query_mx(&te, "timeout.test", &g);
    took = now_ms() - start;
    CU_ASSERT_EQUAL(g.cls, HERALD_DNS_TEMPFAIL);
    CU_ASSERT_PTR_NOT_NULL(strstr(g.reason, "timeout"));
    /* 2 tries of 300 ms, with c-ares' back-off: well under 3 s, and not instant */
    CU_ASSERT(took >= 250);
    CU_ASSERT(took < 3000);
    start = now_ms();
    resolve(&te, "host.timeout.test", HERALD_FAMILY_ANY, &a);
    took = now_ms() - start;
    CU_ASSERT_EQUAL(a.cls, HERALD_DNS_TEMPFAIL);
    CU_ASSERT(took < 3000);
    dns_env_close(&te.env);
}

/* ---- hostile answers ---- */

static void
test_hostile(void)
{
    struct test_env te;
    struct mx_got g;
    char *t;

    env_init(&te, port_hostile, 2000, 1);
    query_mx(&te, "crlf.hostile.test", &g);
    CU_ASSERT_EQUAL(g.cls, HERALD_DNS_BADNAME);
    query_mx(&te, "mixed.hostile.test", &g);
    CU_ASSERT_EQUAL(g.cls, HERALD_DNS_OK);
    CU_ASSERT_EQUAL(g.count, 1);
    CU_ASSERT(has_mx(&g, 20, "mx2.mixed.hostile.test"));
    CU_ASSERT_PTR_NOT_NULL(strstr(g.reason, "ignored"));
    query_mx(&te, "iplit.hostile.test", &g);
    CU_ASSERT_EQUAL(g.cls, HERALD_DNS_OK);
    CU_ASSERT_EQUAL(g.count, 1);
    CU_ASSERT_STRING_EQUAL(g.mx[0].host, "127.0.0.1");
    CU_ASSERT_TRUE(g.mx[0].lit);
    dns_env_close(&te.env);
    t = test_read_file(trace_path, NULL);
    CU_ASSERT_PTR_NOT_NULL_FATAL(t);
    CU_ASSERT_PTR_NULL(strstr(t, "\r"));   /* the CR LF never reaches the trace raw */
    CU_ASSERT_PTR_NULL(strstr(t, "\n<evil"));
    CU_ASSERT_PTR_NOT_NULL(strstr(t, "is not a valid host name, ignored"));
    free(t);
}

static void
test_cache(void)
{
    struct test_env te;
    struct mx_got g;
    char *t;

    env_init(&te, port_hostile, 2000, 1);
    query_mx(&te, "ttl.hostile.test", &g);
    CU_ASSERT_EQUAL(g.cls, HERALD_DNS_OK);
    CU_ASSERT_EQUAL(g.ttl, 300);
    query_mx(&te, "TTL.hostile.test", &g);   /* names compare without case */
    CU_ASSERT_EQUAL(g.cls, HERALD_DNS_OK);
    CU_ASSERT(has_mx(&g, 10, "mx.ttl.hostile.test"));
    CU_ASSERT(g.ttl > 0 && g.ttl <= 300);
    dns_env_close(&te.env);
    t = test_read_file(trace_path, NULL);
    CU_ASSERT_PTR_NOT_NULL_FATAL(t);
    CU_ASSERT_PTR_NOT_NULL(strstr(t, "MX TTL.hostile.test -> 10 mx.ttl.hostile.test (ttl 300, "
                                     "cached)"));
    free(t);
}

/* test_foreign_owner - MX records owned by another name never count (issue 8 item 7) */
static void
test_foreign_owner(void)
{
    struct test_env te;
    struct mx_got g;
    char *t;

    env_init(&te, port_hostile, 2000, 1);
    /* only a record of victim.test: the question's name has none */
    query_mx(&te, "foreign.hostile.test", &g);
    CU_ASSERT_EQUAL(g.cls, HERALD_DNS_NODATA);
    CU_ASSERT_EQUAL(g.count, 0);
    /* one of each: the foreign one (preference 5, first in the reply) is dropped */
    query_mx(&te, "mixedowner.hostile.test", &g);
    CU_ASSERT_EQUAL(g.cls, HERALD_DNS_OK);
    CU_ASSERT_EQUAL(g.count, 1);
    CU_ASSERT(has_mx(&g, 10, "mx.mixedowner.hostile.test"));
    CU_ASSERT_FALSE(has_mx(&g, 5, "evil.attacker.test"));
    /* an alias: the CNAME target's records count, the alias's own MX does not */
    query_mx(&te, "alias.hostile.test", &g);
    CU_ASSERT_EQUAL(g.cls, HERALD_DNS_OK);
    CU_ASSERT_EQUAL(g.count, 1);
    CU_ASSERT(has_mx(&g, 10, "mx.real.hostile.test"));
    dns_env_close(&te.env);
    t = test_read_file(trace_path, NULL);
    CU_ASSERT_PTR_NOT_NULL_FATAL(t);
    CU_ASSERT_PTR_NOT_NULL(strstr(t, "MX mixedowner.hostile.test: 1 record owned by another "
                                     "name ignored"));
    CU_ASSERT_PTR_NULL(strstr(t, "evil.attacker.test (ttl"));
    free(t);
}

/* test_next_server - SERVFAIL or REFUSED from the first resolver: the next one is asked */
static void
test_next_server(void)
{
    struct test_env te;
    struct mx_got g;
    struct addr_got a;
    char want[160], *t;

    env_init2(&te, port_servfail, port_dnsmasq, 2000, 1);
    query_mx(&te, "multi.test", &g);
    CU_ASSERT_EQUAL(g.cls, HERALD_DNS_OK);
    CU_ASSERT_EQUAL(g.count, 3);
    resolve(&te, "mx1.multi.test", HERALD_FAMILY_IPV4, &a);
    CU_ASSERT_EQUAL(a.cls, HERALD_DNS_OK);
    CU_ASSERT(has_addr(&a, "127.0.0.2"));
    dns_env_close(&te.env);
    env_init2(&te, port_refused, port_dnsmasq, 2000, 2);
    query_mx(&te, "equal.test", &g);
    CU_ASSERT_EQUAL(g.cls, HERALD_DNS_OK);
    CU_ASSERT_EQUAL(g.count, 2);
    dns_env_close(&te.env);
    /* every server fails: still SERVFAIL or REFUSED, never a timeout */
    env_init2(&te, port_refused, port_servfail, 2000, 2);
    query_mx(&te, "multi.test", &g);
    CU_ASSERT_EQUAL(g.cls, HERALD_DNS_TEMPFAIL);
    CU_ASSERT(strcmp(g.reason, "SERVFAIL") == 0 || strcmp(g.reason, "REFUSED") == 0);
    dns_env_close(&te.env);
    /* NXDOMAIN is an answer, not a server failure: the second server is not asked */
    env_init2(&te, port_dnsmasq, port_servfail, 2000, 1);
    query_mx(&te, "nx.test", &g);
    CU_ASSERT_EQUAL(g.cls, HERALD_DNS_NXDOMAIN);
    dns_env_close(&te.env);
    t = test_read_file(trace_path, NULL);
    CU_ASSERT_PTR_NOT_NULL_FATAL(t);
    snprintf(want, sizeof want, "MX multi.test: server 127.0.0.1:%d: SERVFAIL; asking "
             "127.0.0.1:%d", port_servfail, port_dnsmasq);
    CU_ASSERT_PTR_NOT_NULL(strstr(t, want));
    snprintf(want, sizeof want, "MX nx.test: server 127.0.0.1:%d", port_dnsmasq);
    CU_ASSERT_PTR_NULL(strstr(t, want));
    free(t);
}

/* log_count - lines of dnsmasq's query log that contain what */
static int
log_count(const char *what)
{
    char path[128], line[512];
    FILE *f;
    int n = 0;

    snprintf(path, sizeof path, "%s/dnsmasq.log", tmpdir);
    f = fopen(path, "r");
    if (f == NULL)
        return 0;
    while (fgets(line, sizeof line, f) != NULL)
        if (strstr(line, what) != NULL)
            n++;
    fclose(f);
    return n;
}

/* log_settle - ask dnsmasq for a marker name and wait (bounded) until its
 * query is in the log: every query sent before it is logged by then */
static void
log_settle(struct test_env *te, const char *marker)
{
    struct mx_got g;
    char what[160];
    int i;

    query_mx(te, marker, &g);
    snprintf(what, sizeof what, "query[MX] %s ", marker);
    for (i = 0; i < 200 && log_count(what) == 0; i++)
        herald_loop_run(loop, NULL, NULL, 10);   /* dnsmasq writes its log on its own time */
    CU_ASSERT_EQUAL(log_count(what), 1);
}

/* test_single_flight - 40 askers of one name, one query on the wire; answers for all */
static void
test_single_flight(void)
{
    struct test_env te;
    struct mx_got g[40];
    struct addr_got a[10];
    size_t i, done;
    int mx_before, a_before;
    char *t;

    env_init(&te, port_dnsmasq, 2000, 2);
    log_settle(&te, "marker0.single.test");   /* the log is complete up to here */
    mx_before = log_count("query[MX] multi.test ") + log_count("query[MX] MULTI.test ");
    a_before = log_count("query[A] mx3.multi.test ");
    memset(g, 0, sizeof g);
    memset(a, 0, sizeof a);
    for (i = 0; i < 40; i++)
        CU_ASSERT_EQUAL(herald_dns_query_mx(&te.env, NULL, i % 2 ? "MULTI.test" : "multi.test",
                                            on_mx, &g[i], NULL), HERALD_OK);
    for (i = 0; i < 10; i++)
        CU_ASSERT_EQUAL(herald_dns_resolve(&te.env, NULL, "mx3.multi.test", HERALD_FAMILY_ANY,
                                           on_addr, &a[i], NULL), HERALD_OK);
    for (i = 0; i < 200; i++) {
        size_t k;

        for (done = 0, k = 0; k < 40; k++)
            done += g[k].done;
        for (k = 0; k < 10; k++)
            done += a[k].done;
        if (done == 50)
            break;
        herald_loop_run(loop, NULL, NULL, 10);
    }
    CU_ASSERT_EQUAL(done, 50);
    for (i = 0; i < 40; i++) {
        CU_ASSERT_EQUAL(g[i].calls, 1);
        CU_ASSERT_EQUAL(g[i].cls, HERALD_DNS_OK);
        CU_ASSERT_EQUAL(g[i].count, 3);
    }
    for (i = 0; i < 10; i++) {
        CU_ASSERT_EQUAL(a[i].cls, HERALD_DNS_OK);
        CU_ASSERT_EQUAL(a[i].count, 2);
    }
    log_settle(&te, "marker1.single.test");
    CU_ASSERT_EQUAL(log_count("query[MX] multi.test ") + log_count("query[MX] MULTI.test ")
                    - mx_before, 1);
    CU_ASSERT_EQUAL(log_count("query[A] mx3.multi.test ") - a_before, 1);
    dns_env_close(&te.env);
    t = test_read_file(trace_path, NULL);
    CU_ASSERT_PTR_NOT_NULL_FATAL(t);
    CU_ASSERT_PTR_NOT_NULL(strstr(t, "multi.test (ttl 0, joined a lookup in flight)"));
    free(t);
}

/* test_inflight_bound - with dns.max_inflight 2, 30 names all get their answer */
static void
test_inflight_bound(void)
{
    struct test_env te;
    struct mx_got g[30];
    char names[30][40];
    size_t i, done = 0;
    char *t;

    env_init(&te, port_dnsmasq, 2000, 2);
    te.env.dns_max_inflight = 2;
    memset(g, 0, sizeof g);
    for (i = 0; i < 30; i++) {
        snprintf(names[i], sizeof names[i], "n%zu.queue.test", i);
        CU_ASSERT_EQUAL(herald_dns_query_mx(&te.env, NULL, names[i], on_mx, &g[i], NULL),
                        HERALD_OK);
    }
    for (i = 0; i < 500 && done < 30; i++) {
        size_t k;

        herald_loop_run(loop, NULL, NULL, 10);
        for (done = 0, k = 0; k < 30; k++)
            done += g[k].done;
    }
    CU_ASSERT_EQUAL(done, 30);
    for (i = 0; i < 30; i++)
        CU_ASSERT_EQUAL(g[i].cls, HERALD_DNS_NXDOMAIN);   /* answered, not dropped or timed out */
    dns_env_close(&te.env);
    t = test_read_file(trace_path, NULL);
    CU_ASSERT_PTR_NOT_NULL_FATAL(t);
    CU_ASSERT_PTR_NOT_NULL(strstr(t, "MX n29.queue.test waits: 2 lookups in flight"));
    free(t);
}

/* test_port_renewed - the socket kept open between lookups is replaced (a
 * new source port) at the first idle moment after 1,000 lookups, and not
 * before; every lookup of the batches is answered */
static void
test_port_renewed(void)
{
    enum { N = 1000, BATCH = 250 };
    static struct mx_got g[BATCH];
    struct test_env te;
    char name[48], *t;
    size_t i, k, done;

    env_init(&te, port_dnsmasq, 2000, 2);
    for (k = 0; k < N / BATCH; k++) {
        memset(g, 0, sizeof g);
        for (i = 0; i < BATCH; i++) {
            snprintf(name, sizeof name, "p%zu.port.test", k * BATCH + i);
            CU_ASSERT_EQUAL(herald_dns_query_mx(&te.env, NULL, name, on_mx, &g[i], NULL),
                            HERALD_OK);
        }
        for (done = 0, i = 0; i < 2000 && done < BATCH; i++) {
            size_t j;

            herald_loop_run(loop, NULL, NULL, 10);
            for (done = 0, j = 0; j < BATCH; j++)
                done += g[j].done;
        }
        CU_ASSERT_EQUAL(done, BATCH);
        for (i = 0; i < BATCH; i++)
            CU_ASSERT_EQUAL(g[i].cls, HERALD_DNS_NXDOMAIN);   /* answered: none lost in a batch */
        t = test_read_file(trace_path, NULL);
        CU_ASSERT_PTR_NOT_NULL_FATAL(t);
        if (k + 1 < N / BATCH) {
            CU_ASSERT_PTR_NULL(strstr(t, "a new socket (source port) after"));
        } else {
            CU_ASSERT_PTR_NOT_NULL(strstr(t, "a new socket (source port) after 1000 lookups"));
        }
        free(t);
    }
    dns_env_close(&te.env);
}

/* test_refused_port - nothing listens on the server's port: the kernel's
 * refusal (ICMP) fails the lookup at once, though its query went out in a
 * batch after the call that made it had returned */
static void
test_refused_port(void)
{
    struct test_env te;
    struct sockaddr_in sin;
    socklen_t len = sizeof sin;
    struct mx_got g;
    int fd, port;

    fd = socket(AF_INET, SOCK_DGRAM, 0);
    CU_ASSERT_FATAL(fd >= 0);
    memset(&sin, 0, sizeof sin);
    sin.sin_family = AF_INET;
    sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    CU_ASSERT_FATAL(bind(fd, (struct sockaddr *)&sin, sizeof sin) == 0);
    CU_ASSERT_FATAL(getsockname(fd, (struct sockaddr *)&sin, &len) == 0);
    port = ntohs(sin.sin_port);
    close(fd);   /* the port is free now: a datagram to it is refused */
    env_init(&te, port, 30000, 2);
    query_mx(&te, "refused.test", &g);
    CU_ASSERT_EQUAL(g.cls, HERALD_DNS_TEMPFAIL);
    CU_ASSERT_STRING_EQUAL(g.reason, "could not contact DNS servers");   /* not a timeout */
    dns_env_close(&te.env);
}

/* test_lost_lookup - a query the server dropped while it answered others is
 * asked again, not turned into a temporary failure (a flooded resolver must
 * not defer mail); the window of lookups on the wire is cut.  A server that
 * answers nothing still times out (test_timeout). */
static void
test_lost_lookup(void)
{
    struct test_env te;
    struct mx_got lost, other[8];
    char names[8][40];
    size_t i, done = 0;
    char *t;

    env_init(&te, port_lossy, 300, 1);
    memset(&lost, 0, sizeof lost);
    memset(other, 0, sizeof other);
    CU_ASSERT_EQUAL(herald_dns_query_mx(&te.env, NULL, "lost1.lossy.test", on_mx, &lost, NULL),
                    HERALD_OK);
    for (i = 0; i < 8; i++) {
        snprintf(names[i], sizeof names[i], "n%zu.lossy.test", i);
        CU_ASSERT_EQUAL(herald_dns_query_mx(&te.env, NULL, names[i], on_mx, &other[i], NULL),
                        HERALD_OK);
    }
    for (i = 0; i < 500 && done < 9; i++) {   /* bounded: 500 turns of at most 10 ms */
        size_t k;

        herald_loop_run(loop, NULL, NULL, 10);
        for (done = lost.done, k = 0; k < 8; k++)
            done += other[k].done;
    }
    CU_ASSERT_EQUAL(done, 9);
    for (i = 0; i < 8; i++)
        CU_ASSERT_EQUAL(other[i].cls, HERALD_DNS_OK);
    CU_ASSERT_EQUAL(lost.cls, HERALD_DNS_OK);
    CU_ASSERT_EQUAL(lost.count, 1);
    dns_env_close(&te.env);
    t = test_read_file(trace_path, NULL);
    CU_ASSERT_PTR_NOT_NULL_FATAL(t);
    CU_ASSERT_PTR_NOT_NULL(strstr(t, "MX lost1.lossy.test: a try to 127.0.0.1:"));
    CU_ASSERT_PTR_NOT_NULL(strstr(t, "which answered other lookups meanwhile: asking again (1 of 3)"));
    free(t);
}

/* test_negative_cache - NXDOMAIN kept for the SOA's negative TTL (RFC 2308) */
static void
test_negative_cache(void)
{
    struct test_env te;
    struct mx_got g;
    char *t;

    env_init(&te, port_hostile, 2000, 1);
    query_mx(&te, "gone.hostile.test", &g);
    CU_ASSERT_EQUAL(g.cls, HERALD_DNS_NXDOMAIN);
    CU_ASSERT_EQUAL(g.ttl, 60);   /* min(SOA TTL 120, MINIMUM 60) */
    query_mx(&te, "Gone.hostile.test", &g);
    CU_ASSERT_EQUAL(g.cls, HERALD_DNS_NXDOMAIN);
    CU_ASSERT(g.ttl > 0 && g.ttl <= 60);
    dns_env_close(&te.env);
    /* max_ttl_s clamps it */
    env_init(&te, port_hostile, 2000, 1);
    te.env.dns_max_ttl_s = 10;
    query_mx(&te, "gone2.hostile.test", &g);
    query_mx(&te, "gone2.hostile.test", &g);
    CU_ASSERT_EQUAL(g.cls, HERALD_DNS_NXDOMAIN);
    CU_ASSERT(g.ttl > 0 && g.ttl <= 10);
    dns_env_close(&te.env);
    /* SERVFAIL: held briefly, not for a TTL */
    env_init(&te, port_servfail, 2000, 1);
    query_mx(&te, "held.test", &g);
    query_mx(&te, "held.test", &g);
    CU_ASSERT_EQUAL(g.cls, HERALD_DNS_TEMPFAIL);
    CU_ASSERT(g.ttl <= 5);
    dns_env_close(&te.env);
    t = test_read_file(trace_path, NULL);
    CU_ASSERT_PTR_NOT_NULL_FATAL(t);
    CU_ASSERT_PTR_NOT_NULL(strstr(t, "MX Gone.hostile.test -> nxdomain (NXDOMAIN), cached"));
    CU_ASSERT_PTR_NOT_NULL(strstr(t, "MX held.test -> tempfail (SERVFAIL), cached"));
    free(t);
}

/* ---- no server needed ---- */

static void
test_ip_literal(void)
{
    struct test_env te;
    struct addr_got a;

    env_init(&te, port_silent, 300, 1);   /* never asked */
    resolve(&te, "127.0.0.9", HERALD_FAMILY_ANY, &a);
    CU_ASSERT_EQUAL(a.cls, HERALD_DNS_OK);
    CU_ASSERT_EQUAL(a.count, 1);
    CU_ASSERT(has_addr(&a, "127.0.0.9"));
    resolve(&te, "[::1]", HERALD_FAMILY_IPV6, &a);
    CU_ASSERT_EQUAL(a.cls, HERALD_DNS_OK);
    CU_ASSERT(has_addr(&a, "::1"));
    resolve(&te, "::1", HERALD_FAMILY_IPV4, &a);
    CU_ASSERT_EQUAL(a.cls, HERALD_DNS_NODATA);
    dns_env_close(&te.env);
}

static void
test_bad_names(void)
{
    struct test_env te;
    struct mx_got g;
    struct addr_got a;
    struct herald_diag diag;
    char long_label[80], long_name[300];
    int i;

    env_init(&te, port_silent, 300, 1);
    memset(&g, 0, sizeof g);
    memset(&a, 0, sizeof a);
    CU_ASSERT_EQUAL(herald_dns_query_mx(&te.env, NULL, "bad name\r\n", on_mx, &g, &diag),
                    HERALD_E_INVAL);
    CU_ASSERT_PTR_NULL(strchr(diag.text, '\r'));
    CU_ASSERT_EQUAL(herald_dns_query_mx(&te.env, NULL, "a@b.test", on_mx, &g, NULL), HERALD_E_INVAL);
    CU_ASSERT_EQUAL(herald_dns_resolve(&te.env, NULL, "<x>.test", HERALD_FAMILY_ANY, on_addr, &a,
                                       NULL), HERALD_E_INVAL);
    CU_ASSERT_EQUAL(herald_dns_query_mx(NULL, NULL, "x.test", on_mx, &g, NULL), HERALD_E_INVAL);
    CU_ASSERT_EQUAL(herald_loop_run(loop, NULL, NULL, 1000), HERALD_OK);
    CU_ASSERT_FALSE(g.done);
    CU_ASSERT_FALSE(a.done);
    dns_env_close(&te.env);

    CU_ASSERT_TRUE(herald_dns_valid_hostname("mx1.multi.test"));
    CU_ASSERT_TRUE(herald_dns_valid_hostname("mx1.multi.test."));
    CU_ASSERT_TRUE(herald_dns_valid_hostname("a-b.x1.test"));
    CU_ASSERT_FALSE(herald_dns_valid_hostname(""));
    CU_ASSERT_FALSE(herald_dns_valid_hostname("."));
    CU_ASSERT_FALSE(herald_dns_valid_hostname(NULL));
    CU_ASSERT_FALSE(herald_dns_valid_hostname("a..b"));
    CU_ASSERT_FALSE(herald_dns_valid_hostname("-a.test"));
    CU_ASSERT_FALSE(herald_dns_valid_hostname("a-.test"));
    CU_ASSERT_FALSE(herald_dns_valid_hostname("a_b.test"));
    CU_ASSERT_FALSE(herald_dns_valid_hostname("mx\r\n.test"));
    CU_ASSERT_FALSE(herald_dns_valid_hostname("x<y.test"));
    CU_ASSERT_FALSE(herald_dns_valid_hostname("u@x.test"));
    CU_ASSERT_FALSE(herald_dns_valid_hostname("::1"));
    memset(long_label, 'a', 64);
    long_label[64] = '\0';
    CU_ASSERT_FALSE(herald_dns_valid_hostname(long_label));
    long_label[63] = '\0';
    CU_ASSERT_TRUE(herald_dns_valid_hostname(long_label));
    for (i = 0; i < 127; i++) {   /* 127 labels "a." = 254 octets, 253 without the dot */
        long_name[2 * i] = 'a';
        long_name[2 * i + 1] = '.';
    }
    long_name[253] = '\0';
    CU_ASSERT_TRUE(herald_dns_valid_hostname(long_name));
    long_name[253] = 'b';
    long_name[254] = '\0';
    CU_ASSERT_FALSE(herald_dns_valid_hostname(long_name));
}

/* test_cancel - closing the env answers every pending lookup with CANCELLED */
static void
test_cancel(void)
{
    struct test_env te;
    struct mx_got g1, g2;
    struct addr_got a;

    env_init(&te, port_silent, 5000, 3);
    memset(&g1, 0, sizeof g1);
    memset(&g2, 0, sizeof g2);
    memset(&a, 0, sizeof a);
    CU_ASSERT_EQUAL(herald_dns_query_mx(&te.env, NULL, "one.timeout.test", on_mx, &g1, NULL),
                    HERALD_OK);
    CU_ASSERT_EQUAL(herald_dns_query_mx(&te.env, NULL, "two.timeout.test", on_mx, &g2, NULL),
                    HERALD_OK);
    CU_ASSERT_EQUAL(herald_dns_resolve(&te.env, NULL, "127.0.0.1", HERALD_FAMILY_ANY, on_addr, &a,
                                       NULL), HERALD_OK);
    /* one pass: the queries go out, nothing can be answered yet */
    CU_ASSERT_EQUAL(herald_loop_run(loop, NULL, NULL, 50), HERALD_E_TIMEOUT);
    CU_ASSERT_TRUE(a.done);
    memset(&a, 0, sizeof a);
    CU_ASSERT_EQUAL(herald_dns_resolve(&te.env, NULL, "127.0.0.1", HERALD_FAMILY_ANY, on_addr, &a,
                                       NULL), HERALD_OK);
    CU_ASSERT_FALSE(g1.done);
    dns_env_close(&te.env);
    CU_ASSERT_EQUAL(g1.calls, 1);
    CU_ASSERT_EQUAL(g1.cls, HERALD_DNS_CANCELLED);
    CU_ASSERT_EQUAL(g2.calls, 1);
    CU_ASSERT_EQUAL(g2.cls, HERALD_DNS_CANCELLED);
    CU_ASSERT_EQUAL(a.calls, 1);
    CU_ASSERT_EQUAL(a.cls, HERALD_DNS_CANCELLED);
    /* the loop holds nothing of the resolver any more */
    CU_ASSERT_EQUAL(herald_loop_run(loop, NULL, NULL, 1000), HERALD_OK);
    dns_env_close(&te.env);   /* twice: no-op */
}

static void
test_class_names(void)
{
    CU_ASSERT_STRING_EQUAL(herald_dns_class_name(HERALD_DNS_OK), "ok");
    CU_ASSERT_STRING_EQUAL(herald_dns_class_name(HERALD_DNS_NODATA), "nodata");
    CU_ASSERT_STRING_EQUAL(herald_dns_class_name(HERALD_DNS_NXDOMAIN), "nxdomain");
    CU_ASSERT_STRING_EQUAL(herald_dns_class_name(HERALD_DNS_TEMPFAIL), "tempfail");
    CU_ASSERT_STRING_EQUAL(herald_dns_class_name(HERALD_DNS_BADNAME), "badname");
    CU_ASSERT_STRING_EQUAL(herald_dns_class_name(HERALD_DNS_CANCELLED), "cancelled");
    CU_ASSERT_STRING_EQUAL(herald_dns_class_name((enum herald_dns_class)42), "unknown");
}

int
main(void)
{
    static const struct test_case h_cases[] = {
        { "class names", test_class_names },
        { NULL, NULL },
    };
    static const struct test_case s_cases[] = {
        { "MX with three records", test_mx_multi },
        { "MX of equal preference", test_mx_equal },
        { "NODATA, implicit MX address", test_mx_nodata_implicit },
        { "null MX", test_mx_null },
        { "IPv6 only, both families", test_v6only },
        { "NXDOMAIN", test_nxdomain },
        { "SERVFAIL and REFUSED", test_servfail_refused },
        { "timeout", test_timeout },
        { "hostile MX targets", test_hostile },
        { "cache by TTL", test_cache },
        { "MX of another owner ignored", test_foreign_owner },
        { "SERVFAIL/REFUSED: next server", test_next_server },
        { "one lookup for identical questions", test_single_flight },
        { "lookups beyond max_inflight wait", test_inflight_bound },
        { "a lookup lost in a crowd is asked again", test_lost_lookup },
        { "a new source port after 1,000 lookups", test_port_renewed },
        { "a refused port fails at once", test_refused_port },
        { "negative answers cached", test_negative_cache },
        { "IP literals", test_ip_literal },
        { "bad names", test_bad_names },
        { "cancel on close", test_cancel },
        { NULL, NULL },
    };
    const struct test_suite suites[] = {
        { "dns-offline", NULL, NULL, NULL, NULL, h_cases },
        { "dns-servers", suite_init, suite_clean, NULL, NULL, s_cases },
    };
    int rc;

    signal(SIGPIPE, SIG_IGN);
    rc = test_run(suites, sizeof suites / sizeof suites[0]);
    stop_helper();
    return rc;
}
