/*
 * cmd_route.c - "herald route": the route plan of a domain, no mail sent
 *
 *   herald [-c FILE] route [-d DEV] [--json] [--trace FILE|-] DOMAIN|ADDR
 *   herald [-c FILE] route [-d DEV] [--trace FILE|-] --batch FILE|-
 *
 * Text:  multi.test: 3 hops
 *          1. mx1.multi.test:25 pref 10 (mx) 127.0.0.2
 *        nx.test: failed 5.1.2: domain nx.test does not exist (NXDOMAIN)
 * JSON:  {"domain":…,"hops":[{"host":…,"port":…,"preference":…|null,
 *         "origin":…,"addresses":[…]}]}
 *        {"domain":…,"error":{"class":"permanent"|"temporary","reason":…,"dsn":…}}
 * Exit:  0 a plan with hops, 75 temporary error, 69 permanent error,
 *        64 usage, 78 config.  An ADDR means the domain after its last '@'.
 * The device is -d DEV, else the first device that has a route strategy.
 * --batch: one DOMAIN or ADDR per line (blank lines and "#" comments
 * skipped), one JSON line per input in input order, BATCH_INFLIGHT
 * planned at once (a new one starts as each oldest is printed); exit 69
 * if any failed permanently, else 75 if any temporarily, else 0.
 */
#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include <stdlib.h>

#include <herald/route.h>
#include <herald/route_batch.h>
#include "cli.h"

#define BATCH_INFLIGHT 1000        /* plans started before waiting for them */
#define BATCH_LINE_MAX 1024

struct route_args {
    const char *device;
    const char *target;
    const char *trace;
    const char *batch;
    bool json;
};

/* route_usage - help for "herald route" */
static void
route_usage(FILE *out)
{
    fputs("Usage: herald [-c FILE] route [-d DEV] [--json] [--trace FILE|-] DOMAIN|ADDR\n"
          "       herald [-c FILE] route [-d DEV] [--trace FILE|-] --batch FILE|-\n"
          "\n"
          "Show the hops a device's route strategy plans for DOMAIN (or the domain of\n"
          "ADDR), in the order they would be tried, with their addresses.  No mail\n"
          "is sent.  Exit 0 with hops, 75 on a temporary error (DNS SERVFAIL or\n"
          "timeout, no host with an address), 69 on a permanent one (NXDOMAIN,\n"
          "null MX).\n"
          "\n"
          "  -d, --device DEV  the device (default: the first with a route strategy)\n"
          "      --json        one JSON object: {\"domain\",\"hops\"} or {\"domain\",\"error\"}\n"
          "      --batch FILE  one DOMAIN or ADDR per line (\"-\": standard input), one JSON\n"
          "                    line per input, in order; many planned at once\n"
          "      --trace FILE  write why each hop is there to FILE (\"-\": standard error)\n",
          out);
}

/* parse_args - the command line into a; EX_OK, or the exit code after a message */
static int
parse_args(int argc, char **argv, struct route_args *a, bool *help_out)
{
    enum { OPT_JSON = 256, OPT_TRACE, OPT_BATCH };
    static const struct option longopts[] = {
        { "batch", required_argument, NULL, OPT_BATCH },
        { "device", required_argument, NULL, 'd' },
        { "json", no_argument, NULL, OPT_JSON },
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
        case OPT_TRACE:
            a->trace = optarg;
            break;
        case OPT_BATCH:
            a->batch = optarg;
            break;
        case 'h':
            *help_out = true;
            return EX_OK;
        default:
            if (optopt == 'd')
                return cli_usage_error("route", "option -d needs a value");
            return cli_usage_error("route", "unknown option '%s'", argv[optind - 1]);
        }
    }
    if (a->batch != NULL) {
        if (*a->batch == '\0')
            return cli_usage_error("route", "--batch needs a FILE or -");
        if (optind < argc)
            return cli_usage_error("route", "--batch takes no DOMAIN");
        if (a->trace != NULL && *a->trace == '\0')
            return cli_usage_error("route", "--trace needs a FILE or -");
        return EX_OK;
    }
    if (optind >= argc)
        return cli_usage_error("route", "missing DOMAIN or ADDR");
    a->target = argv[optind++];
    if (optind < argc)
        return cli_usage_error("route", "more than one DOMAIN");
    if (a->trace != NULL && *a->trace == '\0')
        return cli_usage_error("route", "--trace needs a FILE or -");
    return EX_OK;
}

/* target_domain - DOMAIN as given, or what follows the last '@' of ADDR */
static const char *
target_domain(const char *target)
{
    const char *at = strrchr(target, '@');

    return at != NULL ? at + 1 : target;
}

/* print_text - one line per hop, or the error */
static void
print_text(const char *domain, const struct herald_route_plan *plan)
{
    enum herald_result result;
    const char *dsn, *reason;
    size_t i, a, n = herald_plan_hop_count(plan);

    cli_put_printable(stdout, domain);
    if (herald_plan_error(plan, &result, &dsn, &reason) != HERALD_OK) {
        printf(": %s %s: ", herald_result_name(result), dsn);
        cli_put_printable(stdout, reason);
        putchar('\n');
        return;
    }
    printf(": %zu hop%s\n", n, n == 1 ? "" : "s");
    for (i = 0; i < n; i++) {
        const struct herald_hop *h = herald_plan_hop(plan, i);

        printf("  %zu. ", i + 1);
        cli_put_printable(stdout, h->host);
        printf(":%u", (unsigned)h->port);
        if (h->preference >= 0)
            printf(" pref %d", h->preference);
        printf(" (");
        cli_put_printable(stdout, h->origin);
        putchar(')');
        for (a = 0; a < h->address_count; a++)
            printf(" %s", h->addresses[a].text);
        putchar('\n');
    }
}

/* print_json - the DESIGN.md contract, one object on one line */
static void
print_json(const char *domain, const struct herald_route_plan *plan)
{
    if (cli_plan_json(domain, plan, NULL, NULL))
        fputs("}\n", stdout);
}

/* One input line of --batch and its plan. */
struct batch_item {
    char *domain;
    struct herald_route_plan *plan;
    const char *refused;            /* why it was not planned (no plan then) */
    bool done;
};

/* A ring of the plans in flight, oldest at head: lines are printed in
 * input order as soon as the oldest is done, and each printed line makes
 * room for the next, so the resolver is never left idle behind one slow
 * domain (a whole block waiting for its slowest answer would be). */
struct batch {
    struct batch_item items[BATCH_INFLIGHT];
    size_t head, count;
};

static void
batch_plan_done(void *arg, struct herald_route_plan *plan)
{
    struct batch_item *it = arg;

    it->plan = plan;
    it->done = true;
}

static bool
batch_head_done(void *arg)
{
    const struct batch *b = arg;

    return b->count == 0 || b->items[b->head].done;
}

/* batch_line - the domain of a line: trimmed, after the last '@'; NULL to skip */
static char *
batch_line(char *line)
{
    char *end, *d;

    while (*line == ' ' || *line == '\t')
        line++;
    end = line + strlen(line);
    while (end > line && (end[-1] == '\n' || end[-1] == '\r' || end[-1] == ' '
                          || end[-1] == '\t'))
        *--end = '\0';
    if (*line == '\0' || *line == '#')
        return NULL;
    d = strrchr(line, '@');
    return d != NULL ? d + 1 : line;
}

/* batch_print - one item's JSON line; returns rc raised by its outcome */
static int
batch_print(struct batch_item *it, int rc)
{
    enum herald_result result;

    if (it->plan == NULL) {
        fputs("{\"domain\":", stdout);
        cli_json_string(stdout, it->domain);
        fputs(",\"error\":{\"class\":\"permanent\",\"reason\":", stdout);
        cli_json_string(stdout, it->refused != NULL ? it->refused : "not planned");
        fputs(",\"dsn\":\"5.1.2\"}}\n", stdout);
        rc = EX_UNAVAILABLE;
    } else {
        print_json(it->domain, it->plan);
        if (herald_plan_error(it->plan, &result, NULL, NULL) != HERALD_OK) {
            if (result == HERALD_RESULT_FAILED)
                rc = EX_UNAVAILABLE;
            else if (rc == EX_OK)
                rc = EX_TEMPFAIL;
        }
        herald_plan_free(&it->plan);
    }
    free(it->domain);
    it->domain = NULL;
    return rc;
}

/* batch_start - plan one domain in the next free slot of the ring */
static void
batch_start(struct herald_device *dev, struct batch *b, const char *domain)
{
    struct batch_item *it = &b->items[(b->head + b->count++) % BATCH_INFLIGHT];
    struct herald_diag diag;

    memset(it, 0, sizeof *it);
    memset(&diag, 0, sizeof diag);
    it->domain = strdup(domain);
    if (it->domain == NULL) {
        it->refused = "out of memory";
        it->done = true;
    } else if (*it->domain == '\0') {
        it->refused = "no domain";
        it->done = true;
    } else if (herald_route_submit(dev, it->domain, batch_plan_done, it, &diag) != HERALD_OK) {
        it->refused = "not a domain name (empty, too long or unprintable)";
        it->done = true;
    }
}

/* batch_drain - run the loop until the oldest plan is done, print every
 * finished plan at the head.  When the loop has nothing left to run, no
 * answer can come any more: the head is printed as not planned. */
static int
batch_drain(struct herald_device *dev, struct batch *b, int rc)
{
    (void)herald_route_wait(dev, batch_head_done, b);
    if (b->count > 0 && !b->items[b->head].done)
        b->items[b->head].done = true;
    while (b->count > 0 && b->items[b->head].done) {
        rc = batch_print(&b->items[b->head], rc);
        b->head = (b->head + 1) % BATCH_INFLIGHT;
        b->count--;
    }
    return rc;
}

/* route_batch - "herald route --batch FILE|-" */
static int
route_batch(struct herald_device *dev, const char *path)
{
    FILE *in = strcmp(path, "-") == 0 ? stdin : fopen(path, "r");
    struct batch *b;
    char line[BATCH_LINE_MAX];
    bool eof = false;
    int rc = EX_OK;

    if (in == NULL) {
        fprintf(stderr, "herald route: cannot read ");
        cli_put_printable(stderr, path);
        fprintf(stderr, "\n");
        return EX_NOINPUT;
    }
    b = calloc(1, sizeof *b);
    if (b == NULL) {
        if (in != stdin)
            fclose(in);
        fputs("herald route: out of memory\n", stderr);
        return EX_SOFTWARE;
    }
    for (;;) {
        while (!eof && b->count < BATCH_INFLIGHT) {
            char *domain;

            if (fgets(line, sizeof line, in) == NULL) {
                eof = true;
                break;
            }
            domain = batch_line(line);
            if (domain != NULL)
                batch_start(dev, b, domain);
        }
        if (b->count == 0)
            break;
        rc = batch_drain(dev, b, rc);
    }
    if (in != stdin)
        fclose(in);
    free(b);
    return rc;
}

/* cmd_route - "herald route" */
int
cmd_route(int argc, char **argv, const struct cli_globals *g)
{
    struct route_args a = { NULL, NULL, NULL, NULL, false };
    struct herald_context *ctx = NULL;
    struct herald_device *dev = NULL;
    struct herald_route_plan *plan = NULL;
    struct herald_diag diag;
    enum herald_result result;
    const char *domain;
    bool help = false;
    herald_status st;
    int rc;

    rc = parse_args(argc, argv, &a, &help);
    if (help) {
        route_usage(stdout);
        return EX_OK;
    }
    if (rc != EX_OK)
        return rc;
    domain = a.batch != NULL ? NULL : target_domain(a.target);
    if (domain != NULL && *domain == '\0')
        return cli_usage_error("route", "no domain in \"%s\"", a.target);
    rc = cli_open(g, &ctx);
    if (rc != EX_OK)
        return rc;
    memset(&diag, 0, sizeof diag);
    if (a.trace != NULL && herald_set_trace(ctx, a.trace, NULL, NULL, &diag) != HERALD_OK) {
        cli_print_diag(&diag, a.trace);
        herald_close(&ctx);
        return EX_CANTCREAT;
    }
    rc = cli_pick_route_device(ctx, "route", a.device, &dev);
    if (rc != EX_OK) {
        herald_close(&ctx);
        return rc;
    }
    if (a.batch != NULL) {
        rc = route_batch(dev, a.batch);
        herald_close(&ctx);
        return rc;
    }
    st = herald_route(dev, domain, &plan, &diag);
    if (st != HERALD_OK) {
        fputs("herald route: ", stderr);
        cli_print_diag(&diag, herald_device_name(dev));
        herald_close(&ctx);
        return st == HERALD_E_INVAL ? EX_USAGE : EX_SOFTWARE;
    }
    if (a.json)
        print_json(domain, plan);
    else
        print_text(domain, plan);
    rc = EX_OK;
    if (herald_plan_error(plan, &result, NULL, NULL) != HERALD_OK)
        rc = result == HERALD_RESULT_FAILED ? EX_UNAVAILABLE : EX_TEMPFAIL;
    herald_plan_free(&plan);
    herald_close(&ctx);
    return rc;
}
