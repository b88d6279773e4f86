/*
 * cmd_probe.c - "herald probe": every hop of the route tried, no message sent
 *
 *   herald [-c FILE] probe [-d DEV] [--json] [--from ADDR] [--rcpt ADDR] [--auth]
 *                          [--timeout SECONDS] [--trace FILE|-] DOMAIN|ADDR
 *
 * The route plan of the device (as "herald route" shows it), then for each
 * hop address a row: connect, greeting, EHLO, TLS, AUTH, MAIL, RCPT and the
 * verdict, with the details an administrator needs under it (the errors,
 * the certificate).  An ADDR argument is the recipient unless --rcpt names
 * one; the domain is the recipient's.  MAIL FROM is --from, else <>.
 * JSON: {"domain","hops":[{"host","port","preference","origin","addresses":
 * [{"address","connect":{"ok","ms","error"},"greeting","ehlo":{"ok","reply",
 * "extensions"},"tls":{...},"auth":{...},"mail":{"code","reply"},"rcpt":
 * {"code","reply"},"error","expired","result"}]}],"expired","result"}; a step
 * not reached is absent, and "expired" too unless the deadline (--timeout,
 * the whole probe) cut an address short.
 * Exit: 0 some address would accept (the recipient, or without one the
 * sender), 69 none and one refused permanently (or the route failed
 * permanently), 75 otherwise or when the deadline cut the probe short (each
 * address it cut is named on stderr with the step it was in); 64 usage, 65
 * bad address, 78 config.
 */
#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include <herald/probe.h>
#include <herald/route.h>
#include "cli.h"

struct probe_args {
    const char *device;
    const char *target;
    const char *trace;
    const char *from;
    const char *rcpt;
    unsigned long timeout_s;   /* 0: the library's default deadline */
    bool json;
    bool auth;
};

/* --timeout: a probe is something an administrator waits for */
#define PROBE_TIMEOUT_MAX_S 3600

/* probe_usage - help for "herald probe" */
static void
probe_usage(FILE *out)
{
    fputs("Usage: herald [-c FILE] probe [-d DEV] [--json] [--from ADDR] [--rcpt ADDR]\n"
          "                              [--auth] [--timeout SECONDS] [--trace FILE|-]\n"
          "                              DOMAIN|ADDR\n"
          "\n"
          "Try every hop the device's route strategy plans for DOMAIN (or the domain\n"
          "of ADDR), every address of each, as the device would: connect, greeting,\n"
          "EHLO (HELO), STARTTLS with the device's TLS policy (certificate, names,\n"
          "issuer, expiry, verification), AUTH where the device authenticates (smart\n"
          "hosts), MAIL FROM and RCPT TO, then RSET and QUIT.  No message is sent:\n"
          "DATA never is.  Addresses are probed in parallel, each step bounded by the\n"
          "device's timeouts and the whole probe by --timeout.  Exit 0 when some\n"
          "address would accept the recipient (without one: the sender), 69 when none\n"
          "would and one refused permanently, 75 otherwise or when the deadline cut\n"
          "the probe short (stderr names each address it cut and the step it was in).\n"
          "\n"
          "  -d, --device DEV  the device (default: the first with a route strategy)\n"
          "      --json        one JSON object: {\"domain\",\"hops\"} with each address's steps\n"
          "      --from ADDR   MAIL FROM (default: the null sender <>)\n"
          "      --rcpt ADDR   RCPT TO (default: ADDR when one is given, else no RCPT)\n"
          "      --auth        log in where the device authenticates (default: only\n"
          "                    list the mechanisms offered); the secret is never shown\n"
          "      --timeout SECONDS  the deadline of the whole probe, 1 to 3600 (default\n"
          "                    120); each step also keeps the device's own timeout\n"
          "      --trace FILE  write every command and reply to FILE (\"-\": standard error)\n",
          out);
}

/* parse_args - the command line into a; EX_OK, or the exit code after a message */
static int
parse_args(int argc, char **argv, struct probe_args *a, bool *help_out)
{
    enum { OPT_JSON = 256, OPT_TRACE, OPT_FROM, OPT_RCPT, OPT_AUTH, OPT_TIMEOUT };
    static const struct option longopts[] = {
        { "device", required_argument, NULL, 'd' },
        { "json", no_argument, NULL, OPT_JSON },
        { "from", required_argument, NULL, OPT_FROM },
        { "rcpt", required_argument, NULL, OPT_RCPT },
        { "auth", no_argument, NULL, OPT_AUTH },
        { "timeout", required_argument, NULL, OPT_TIMEOUT },
        { "trace", required_argument, NULL, OPT_TRACE },
        { "help", no_argument, NULL, 'h' },
        { NULL, 0, NULL, 0 },
    };
    int c;

    opterr = 0;
    while ((c = getopt_long(argc, argv, "d:h", longopts, NULL)) != -1) {
        switch (c) {
        case 'd':
            a->device = optarg;
            break;
        case OPT_JSON:
            a->json = true;
            break;
        case OPT_FROM:
            a->from = optarg;
            break;
        case OPT_RCPT:
            a->rcpt = optarg;
            break;
        case OPT_AUTH:
            a->auth = true;
            break;
        case OPT_TRACE:
            a->trace = optarg;
            break;
        case OPT_TIMEOUT:
            if (!cli_parse_number(optarg, 1, PROBE_TIMEOUT_MAX_S, &a->timeout_s))
                return cli_usage_error("probe", "--timeout takes 1 to %d seconds, not \"%s\"",
                                       PROBE_TIMEOUT_MAX_S, optarg);
            break;
        case 'h':
            *help_out = true;
            return EX_OK;
        default:
            if (optopt == 'd' || optopt == OPT_FROM || optopt == OPT_RCPT || optopt == OPT_TRACE
                || optopt == OPT_TIMEOUT)
                return cli_usage_error("probe", "option '%s' needs a value", argv[optind - 1]);
            return cli_usage_error("probe", "unknown option '%s'", argv[optind - 1]);
        }
    }
    if (optind >= argc)
        return cli_usage_error("probe", "missing DOMAIN or ADDR");
    a->target = argv[optind++];
    if (optind < argc)
        return cli_usage_error("probe", "more than one DOMAIN or ADDR");
    if (a->trace != NULL && *a->trace == '\0')
        return cli_usage_error("probe", "--trace needs a FILE or -");
    if (a->rcpt == NULL && strchr(a->target, '@') != NULL)
        a->rcpt = a->target;
    return EX_OK;
}

/* code_cell - a reply code for the table, "-" when the step was not reached */
static void
code_cell(char *buf, size_t cap, int code)
{
    if (code == 0)
        snprintf(buf, cap, "-");
    else
        snprintf(buf, cap, "%d", code);
}

static const char *
verdict_word(enum herald_result r)
{
    return r == HERALD_RESULT_DELIVERED ? "accepts" : r == HERALD_RESULT_FAILED ? "refused"
                                                                               : "deferred";
}

/* detail - "       what: text" under a row, escaped */
static void
detail(const char *what, const char *text)
{
    if (text == NULL || *text == '\0')
        return;
    printf("       %-9s ", what);
    cli_put_printable(stdout, text);
    putchar('\n');
}

/* print_row - one address: the table row, then what went wrong or what TLS showed */
static void
print_row(const struct herald_probe_result *r)
{
    char conn[24], greet[8], ehlo[16], tls[24], auth[16], mail[8], rcpt[8];
    size_t i;

    if (!r->connect_done)
        snprintf(conn, sizeof conn, "-");
    else if (r->connect_ok)
        snprintf(conn, sizeof conn, "%llu ms", (unsigned long long)r->connect_ms);
    else
        snprintf(conn, sizeof conn, "failed");
    code_cell(greet, sizeof greet, r->greeting_code);
    if (r->ehlo_done)
        snprintf(ehlo, sizeof ehlo, "%s %d", r->helo ? "HELO" : "EHLO", r->ehlo_code);
    else
        snprintf(ehlo, sizeof ehlo, "-");
    if (!r->tls_done)
        snprintf(tls, sizeof tls, "-");
    else if (!r->tls_ok)
        snprintf(tls, sizeof tls, "failed");
    else
        snprintf(tls, sizeof tls, "%.10s %s", r->tls_version ? r->tls_version : "?",
                 r->tls_verified ? "verified" : "UNVERIFIED");
    if (!r->auth_done)
        snprintf(auth, sizeof auth, "-");
    else if (!r->auth_tried)
        snprintf(auth, sizeof auth, "offered");
    else
        snprintf(auth, sizeof auth, "%s", r->auth_ok ? "ok" : "refused");
    code_cell(mail, sizeof mail, r->mail_code);
    code_cell(rcpt, sizeof rcpt, r->rcpt_code);
    printf("     %-16s %-9s %-5s %-9s %-20s %-8s %-5s %-5s %s\n", r->address, conn, greet, ehlo,
           tls, auth, mail, rcpt, verdict_word(r->verdict));
    if (r->connect_done && !r->connect_ok)
        detail("connect:", r->connect_error);
    if (r->greeting_code / 100 != 2)
        detail("greeting:", r->greeting);
    if (r->ehlo_done && !r->ehlo_ok)
        detail("ehlo:", r->ehlo_reply);
    if (r->tls_done) {
        detail("tls:", r->tls_cipher);
        detail("subject:", r->tls_subject);
        for (i = 0; i < r->tls_name_count; i++)
            detail(i == 0 ? "names:" : "", r->tls_names[i]);
        detail("issuer:", r->tls_issuer);
        detail("expires:", r->tls_not_after);
        detail("verify:", r->tls_verify);
        detail("tls error:", r->tls_error);
    }
    if (r->auth_done) {
        detail("auth:", r->auth_mechanisms[0] != '\0' ? r->auth_mechanisms
               : "no mechanism offered");
        detail("login:", r->auth_reply);
    }
    if (r->mail_code / 100 != 2)
        detail("mail:", r->mail_reply);
    detail("rcpt:", r->rcpt_reply);
    detail("error:", r->error);
}

/* print_text - the plan's hops, each with its table of addresses */
static void
print_text(const char *domain, const struct herald_probe *p)
{
    const struct herald_route_plan *plan = herald_probe_plan(p);
    enum herald_result result;
    const char *dsn, *reason;
    size_t i, a, n = herald_plan_hop_count(plan);

    cli_put_printable(stdout, domain);
    if (herald_plan_error(plan, &result, &dsn, &reason) != HERALD_OK) {
        printf(": no route: %s %s: ", herald_result_name(result), dsn);
        cli_put_printable(stdout, reason);
        putchar('\n');
        return;
    }
    printf(": %zu hop%s, nothing sent (no DATA)\n", n, n == 1 ? "" : "s");
    printf("     %-16s %-9s %-5s %-9s %-20s %-8s %-5s %-5s %s\n", "ADDRESS", "CONNECT", "GREET",
           "EHLO", "TLS", "AUTH", "MAIL", "RCPT", "RESULT");
    for (i = 0; i < n; i++) {
        const struct herald_hop *h = herald_plan_hop(plan, i);

        printf("  %zu. ", i + 1);
        cli_put_printable(stdout, h->host);
        printf(":%u", (unsigned)h->port);
        if (h->preference >= 0)
            printf(" pref %d", h->preference);
        printf(" (");
        cli_put_printable(stdout, h->origin);
        printf(")\n");
        for (a = 0; a < h->address_count; a++)
            print_row(herald_probe_result(p, i, a));
    }
    printf("verdict: %s\n", verdict_word(herald_probe_verdict(p)));
}

/* json_member - ,"name":"text" (nothing when text is NULL: not known, not invented) */
static void
json_member(const char *name, const char *text)
{
    if (text == NULL)
        return;
    printf(",\"%s\":", name);
    cli_json_string(stdout, text);
}

static void
json_list(const char *name, const char *const *items, size_t n)
{
    size_t i;

    printf(",\"%s\":[", name);
    for (i = 0; i < n; i++) {
        if (i)
            putchar(',');
        cli_json_string(stdout, items[i]);
    }
    putchar(']');
}

/* json_code - ,"name":{"code":N,"reply":"..."} when the step was taken */
static void
json_code(const char *name, int code, const char *reply)
{
    if (code == 0)
        return;
    printf(",\"%s\":{\"code\":%d", name, code);
    json_member("reply", reply);
    putchar('}');
}

/* json_address - one address object */
static void
json_address(const struct herald_probe_result *r)
{
    fputs("{\"address\":", stdout);
    cli_json_string(stdout, r->address);
    if (r->connect_done) {
        printf(",\"connect\":{\"ok\":%s,\"ms\":%llu", r->connect_ok ? "true" : "false",
               (unsigned long long)r->connect_ms);
        json_member("error", r->connect_error);
        putchar('}');
    }
    json_member("greeting", r->greeting);
    if (r->ehlo_done) {
        printf(",\"ehlo\":{\"ok\":%s,\"helo\":%s,\"code\":%d", r->ehlo_ok ? "true" : "false",
               r->helo ? "true" : "false", r->ehlo_code);
        json_member("reply", r->ehlo_reply);
        json_list("extensions", r->extensions, r->extension_count);
        putchar('}');
    }
    if (r->tls_done) {
        printf(",\"tls\":{\"ok\":%s", r->tls_ok ? "true" : "false");
        json_member("version", r->tls_version);
        json_member("cipher", r->tls_cipher);
        if (r->tls_ok)
            printf(",\"verified\":%s", r->tls_verified ? "true" : "false");
        json_member("verify", r->tls_verify);
        json_member("subject", r->tls_subject);
        if (r->tls_ok)
            json_list("names", r->tls_names, r->tls_name_count);
        json_member("issuer", r->tls_issuer);
        json_member("not_after", r->tls_not_after);
        json_member("error", r->tls_error);
        putchar('}');
    }
    if (r->auth_done) {
        fputs(",\"auth\":{\"mechanisms\":", stdout);
        cli_json_string(stdout, r->auth_mechanisms);
        printf(",\"tried\":%s", r->auth_tried ? "true" : "false");
        if (r->auth_tried)
            printf(",\"ok\":%s", r->auth_ok ? "true" : "false");
        json_member("mechanism", r->auth_mechanism);
        json_member("reply", r->auth_reply);
        putchar('}');
    }
    json_code("mail", r->mail_code, r->mail_reply);
    json_code("rcpt", r->rcpt_code, r->rcpt_reply);
    json_member("error", r->error);
    if (r->expired)
        fputs(",\"expired\":true", stdout);
    fputs(",\"result\":", stdout);
    cli_json_string(stdout, herald_result_name(r->verdict));
    putchar('}');
}

/* put_address - one address object of the probe given as arg */
static void
put_address(const void *arg, size_t hop, size_t addr)
{
    json_address(herald_probe_result(arg, hop, addr));
}

/* print_json - the route plan's shape, each address with its probe */
static void
print_json(const char *domain, const struct herald_probe *p)
{
    if (!cli_plan_json(domain, herald_probe_plan(p), put_address, p))
        return;
    if (herald_probe_expired(p) > 0)
        printf(",\"expired\":%zu", herald_probe_expired(p));
    fputs(",\"result\":", stdout);
    cli_json_string(stdout, herald_result_name(herald_probe_verdict(p)));
    fputs("}\n", stdout);
}

/* report_expired - on stderr, each address the deadline cut short and the
 * step it was in (the result's error says it) */
static void
report_expired(const struct herald_probe *p)
{
    const struct herald_route_plan *plan = herald_probe_plan(p);
    size_t h, i;

    for (h = 0; h < herald_plan_hop_count(plan); h++) {
        const struct herald_hop *hop = herald_plan_hop(plan, h);

        for (i = 0; i < hop->address_count; i++) {
            const struct herald_probe_result *r = herald_probe_result(p, h, i);

            if (r == NULL || !r->expired)
                continue;
            fputs("herald probe: ", stderr);
            cli_put_printable(stderr, hop->host);
            fprintf(stderr, "[%s]:%u: ", r->address, (unsigned)hop->port);
            cli_put_printable(stderr, r->error);
            putc('\n', stderr);
        }
    }
}

int
cmd_probe(int argc, char **argv, const struct cli_globals *g)
{
    struct probe_args a = { NULL, NULL, NULL, NULL, NULL, 0, false, false };
    struct herald_probe_options opts = HERALD_PROBE_OPTIONS_INIT;
    struct herald_context *ctx = NULL;
    struct herald_device *dev = NULL;
    struct herald_probe *p = NULL;
    struct herald_diag diag;
    const char *domain, *at;
    bool help = false;
    herald_status st;
    int rc;

    rc = parse_args(argc, argv, &a, &help);
    if (help) {
        probe_usage(stdout);
        return EX_OK;
    }
    if (rc != EX_OK)
        return rc;
    at = strrchr(a.target, '@');
    domain = at != NULL ? at + 1 : a.target;
    if (*domain == '\0')
        return cli_usage_error("probe", "no domain in \"%s\"", a.target);
    rc = cli_open(g, &ctx);
    if (rc != EX_OK)
        return rc;
    memset(&diag, 0, sizeof diag);
    if (a.trace != NULL && herald_set_trace(ctx, a.trace, NULL, NULL, &diag) != HERALD_OK) {
        cli_print_diag(&diag, a.trace);
        herald_close(&ctx);
        return EX_CANTCREAT;
    }
    rc = cli_pick_route_device(ctx, "probe", a.device, &dev);
    if (rc != EX_OK) {
        herald_close(&ctx);
        return rc;
    }
    opts.sender = a.from;
    opts.recipient = a.rcpt;
    opts.try_auth = a.auth;
    if (a.timeout_s != 0)
        opts.deadline_ms = (uint64_t)a.timeout_s * 1000u;
    st = herald_probe(dev, domain, &opts, &p, &diag);
    if (st != HERALD_OK) {
        fputs("herald probe: ", stderr);
        cli_print_diag(&diag, herald_device_name(dev));
        herald_close(&ctx);
        return st == HERALD_E_INVAL ? EX_USAGE : st == HERALD_E_ADDRESS ? EX_DATAERR
               : st == HERALD_E_NOTFOUND ? EX_UNAVAILABLE
               : st == HERALD_E_TIMEOUT ? EX_TEMPFAIL : EX_SOFTWARE;
    }
    if (a.json)
        print_json(domain, p);
    else
        print_text(domain, p);
    switch (herald_probe_verdict(p)) {
    case HERALD_RESULT_DELIVERED:
        rc = EX_OK;
        break;
    case HERALD_RESULT_FAILED:
        rc = EX_UNAVAILABLE;
        break;
    default:
        rc = EX_TEMPFAIL;
        break;
    }
    if (herald_probe_expired(p) > 0) {
        /* Unfinished: whatever some address said, the answer is not whole. */
        report_expired(p);
        rc = EX_TEMPFAIL;
    }
    herald_probe_free(&p);
    herald_close(&ctx);
    if (fflush(stdout) != 0)
        return EX_IOERR;
    return rc;
}
