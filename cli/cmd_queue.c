/*
 * cmd_queue.c - "herald queue": run and administer the durable queue
 *
 *   herald [-c FILE] queue list [--json]          every message, streamed
 *   herald [-c FILE] queue show [--json] ID
 *   herald [-c FILE] queue run [--once] [--trace FILE|-]
 *   herald [-c FILE] queue flush [ID...]          due now (all without an ID)
 *   herald [-c FILE] queue hold ID... | release ID... | delete ID...
 *
 * list prints one block per message (id, arrival, size, sender, then one line
 * per recipient: state, attempts, next try, last reply) and then the entries
 * set aside as corrupt; --json prints one JSON object per line instead
 * (JSON Lines: a million messages start printing at once).  run stays in the
 * foreground until SIGTERM or SIGINT (for systemd), or with --once delivers
 * what is due now and exits.  Several runners may share a spool: each
 * message is locked by the runner delivering it.
 *
 * Exit: 0; 64 usage; 66 no such queue id; 75 an entry is locked by a runner
 * (try again); 78 configuration (the spool is missing or unsafe); 74 I/O.
 */
#include <getopt.h>
#include <inttypes.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli.h"

static volatile sig_atomic_t queue_stop;

/* on_signal - ask the runner to finish what it started and return */
static void
on_signal(int sig)
{
    (void)sig;
    queue_stop = 1;
}

static void
queue_usage(FILE *out)
{
    fputs("Usage: herald [-c FILE] queue list [--json]\n"
          "       herald [-c FILE] queue show [--json] ID\n"
          "       herald [-c FILE] queue run [--once] [--trace FILE|-]\n"
          "       herald [-c FILE] queue flush [ID...]\n"
          "       herald [-c FILE] queue hold ID... | release ID... | delete ID...\n"
          "\n"
          "  list     every queued message and each recipient's state (--json: one\n"
          "           JSON object per line), then the entries set aside as corrupt\n"
          "  show     one message\n"
          "  run      deliver what is due, retrying with backoff, until SIGTERM;\n"
          "           --once: deliver what is due now, then exit (like sendmail -q)\n"
          "  flush    make deferred recipients due now (all messages without an ID)\n"
          "  hold     keep a message from delivery until release\n"
          "  delete   remove a message; no notification is sent (the trace says so)\n"
          "\n"
          "Exit status: 0; 64 usage; 66 no such queue id; 75 locked by a runner;\n"
          "78 configuration or spool error.\n",
          out);
}

/* queue_exit - the exit code for a failed queue call */
static int
queue_exit(herald_status st)
{
    switch (st) {
    case HERALD_E_NOTFOUND: return EX_NOINPUT;
    case HERALD_E_LIMIT: return EX_TEMPFAIL;
    default: return cli_exit_code(st);
    }
}

/* iso_time - "2026-12-02T08:00:00Z", or "now" for 0 */
static const char *
iso_time(int64_t t, char *buf, size_t size)
{
    time_t tt = (time_t)t;
    struct tm tm;

    if (t == 0)
        return "now";
    gmtime_r(&tt, &tm);
    strftime(buf, size, "%Y-%m-%dT%H:%M:%SZ", &tm);
    return buf;
}

/* print_text - one message as a block */
static void
print_text(void *arg, const struct herald_queue_entry *e)
{
    char t1[32], t2[32];
    size_t i;

    (void)arg;
    printf("%s  %s  %" PRIu64 " octets  from <", e->id, iso_time(e->arrival, t1, sizeof t1),
           e->size);
    cli_put_printable(stdout, e->sender);
    printf(">  device %s%s\n", e->device, e->held ? "  HELD" : "");
    for (i = 0; i < e->rcpt_count; i++) {
        const struct herald_queue_rcpt *r = &e->rcpts[i];

        fputs("    ", stdout);
        cli_put_printable(stdout, r->address);
        printf(": %s, %" PRIu32 " attempt(s)", herald_result_name(r->state), r->attempts);
        if (r->state == HERALD_RESULT_DEFERRED)
            printf(", next try %s", iso_time(r->next_try, t2, sizeof t2));
        if (r->reply[0]) {
            fputs(": ", stdout);
            cli_put_printable(stdout, r->reply);
        }
        fputc('\n', stdout);
    }
}

/* print_json - one message as one JSON line */
static void
print_json(void *arg, const struct herald_queue_entry *e)
{
    size_t i;

    (void)arg;
    printf("{\"id\":\"%s\",\"arrival\":%" PRId64 ",\"sender\":", e->id, e->arrival);
    cli_json_string(stdout, e->sender);
    printf(",\"size\":%" PRIu64 ",\"device\":", e->size);
    cli_json_string(stdout, e->device);
    printf(",\"held\":%s,\"recipients\":[", e->held ? "true" : "false");
    for (i = 0; i < e->rcpt_count; i++) {
        const struct herald_queue_rcpt *r = &e->rcpts[i];

        fputs(i ? ",{\"address\":" : "{\"address\":", stdout);
        cli_json_string(stdout, r->address);
        printf(",\"state\":\"%s\",\"attempts\":%" PRIu32 ",\"next_try\":%" PRId64 ",\"reply\":",
               herald_result_name(r->state), r->attempts, r->next_try);
        cli_json_string(stdout, r->reply);
        fputs(",\"dsn\":", stdout);
        cli_json_string(stdout, r->dsn[0] ? r->dsn : NULL);
        fputc('}', stdout);
    }
    fputs("]}\n", stdout);
}

static void
print_corrupt_text(void *arg, const char *id, const char *reason)
{
    (void)arg;
    printf("%s  QUARANTINED (corrupt): ", id);
    cli_put_printable(stdout, reason);
    fputc('\n', stdout);
}

static void
print_corrupt_json(void *arg, const char *id, const char *reason)
{
    (void)arg;
    printf("{\"id\":\"%s\",\"quarantined\":true,\"reason\":", id);
    cli_json_string(stdout, reason);
    fputs("}\n", stdout);
}

/* fail - a library error on stderr, and its exit code */
static int
fail(const struct herald_diag *d, herald_status st)
{
    cli_print_diag(d, "herald queue");
    return queue_exit(st);
}

/* run - the runner in the foreground */
static int
run(struct herald_context *ctx, bool once, const char *trace)
{
    struct sigaction sa;
    struct herald_diag d;
    herald_status st;

    memset(&d, 0, sizeof d);
    if (trace != NULL && (st = herald_set_trace(ctx, trace, NULL, NULL, &d)) != HERALD_OK)
        return fail(&d, st);
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);
    st = herald_queue_run(ctx, once ? HERALD_QUEUE_RUN_ONCE : 0, &queue_stop, &d);
    return st == HERALD_OK ? EX_OK : fail(&d, st);
}

/* act - one action on each id; the first failure decides the exit code */
static int
act(struct herald_context *ctx, enum herald_queue_action action, char **ids, int n)
{
    int i, rc = EX_OK;

    for (i = 0; i < n; i++) {
        struct herald_diag d;
        herald_status st;

        memset(&d, 0, sizeof d);
        st = herald_queue_act(ctx, ids[i], action, &d);
        if (st != HERALD_OK) {
            int e = fail(&d, st);

            rc = rc == EX_OK ? e : rc;
        }
    }
    return rc;
}

/* cmd_queue - dispatch the sub-command */
int
cmd_queue(int argc, char **argv, const struct cli_globals *g)
{
    enum { OPT_JSON = 256, OPT_ONCE, OPT_TRACE };
    static const struct option longopts[] = {
        { "json", no_argument, NULL, OPT_JSON },
        { "once", no_argument, NULL, OPT_ONCE },
        { "trace", required_argument, NULL, OPT_TRACE },
        { "help", no_argument, NULL, 'h' },
        { NULL, 0, NULL, 0 },
    };
    struct herald_context *ctx = NULL;
    struct herald_diag d;
    const char *sub, *trace = NULL;
    bool json = false, once = false;
    herald_status st;
    int c, rc;

    if (argc < 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
        queue_usage(argc < 2 ? stderr : stdout);
        return argc < 2 ? EX_USAGE : EX_OK;
    }
    sub = argv[1];
    argc--;
    argv++;
    opterr = 0;
    optind = 1;
    while ((c = getopt_long(argc, argv, "+h", longopts, NULL)) != -1) {
        switch (c) {
        case OPT_JSON: json = true; break;
        case OPT_ONCE: once = true; break;
        case OPT_TRACE: trace = optarg; break;
        case 'h': queue_usage(stdout); return EX_OK;
        default: return cli_usage_error("queue", "unknown option '%s'", argv[optind - 1]);
        }
    }
    argc -= optind;
    argv += optind;
    if ((once || trace != NULL) && strcmp(sub, "run") != 0)
        return cli_usage_error("queue", "--once and --trace go with run");
    if (json && strcmp(sub, "list") != 0 && strcmp(sub, "show") != 0)
        return cli_usage_error("queue", "--json goes with list and show");
    if ((strcmp(sub, "list") == 0 || strcmp(sub, "run") == 0) && argc > 0)
        return cli_usage_error("queue", "%s takes no ID", sub);
    if ((strcmp(sub, "hold") == 0 || strcmp(sub, "release") == 0 ||
         strcmp(sub, "delete") == 0) && argc == 0)
        return cli_usage_error("queue", "%s needs at least one ID", sub);
    if (strcmp(sub, "show") == 0 && argc != 1)
        return cli_usage_error("queue", "show takes one ID");
    if (strcmp(sub, "list") != 0 && strcmp(sub, "show") != 0 && strcmp(sub, "run") != 0 &&
        strcmp(sub, "flush") != 0 && strcmp(sub, "hold") != 0 && strcmp(sub, "release") != 0 &&
        strcmp(sub, "delete") != 0)
        return cli_usage_error("queue", "unknown sub-command '%s'", sub);

    rc = cli_open(g, &ctx);
    if (rc != EX_OK)
        return rc;
    memset(&d, 0, sizeof d);
    if (strcmp(sub, "list") == 0) {
        st = herald_queue_list(ctx, json ? print_json : print_text,
                               json ? print_corrupt_json : print_corrupt_text, NULL, &d);
        rc = st == HERALD_OK ? EX_OK : fail(&d, st);
    } else if (strcmp(sub, "show") == 0) {
        st = herald_queue_show(ctx, argv[0], json ? print_json : print_text, NULL, &d);
        rc = st == HERALD_OK ? EX_OK : fail(&d, st);
    } else if (strcmp(sub, "run") == 0) {
        rc = run(ctx, once, trace);
    } else if (strcmp(sub, "flush") == 0 && argc == 0) {
        st = herald_queue_flush_all(ctx, &d);
        rc = st == HERALD_OK ? EX_OK : fail(&d, st);
    } else {
        enum herald_queue_action a = strcmp(sub, "flush") == 0 ? HERALD_QUEUE_FLUSH
                                     : strcmp(sub, "hold") == 0 ? HERALD_QUEUE_HOLD
                                     : strcmp(sub, "release") == 0 ? HERALD_QUEUE_RELEASE
                                                                   : HERALD_QUEUE_DELETE;

        rc = act(ctx, a, argv, argc);
    }
    if (fflush(stdout) != 0 && rc == EX_OK)
        rc = EX_IOERR;
    herald_close(&ctx);
    return rc;
}
