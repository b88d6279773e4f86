/*
 * cmd_send.c - "herald send": hand one message to a device and report each
 * recipient's result
 *
 *   herald [-c FILE] send [-d DEV] -f FROM -t RCPT... [--json] [--trace FILE|-]
 *                         [-N NOTIFY] [-R full|hdrs] [-V ENVID] [--queue] [MSGFILE|-]
 *   herald [-c FILE] send ... --subject TEXT [--text FILE|-] [--html FILE]
 *                         [--attach FILE[;TYPE[;NAME]]]...
 *
 *   herald [-c FILE] send [-d DEV] [-f FROM] [--json] [--trace FILE|-]
 *                         [--parallel N] --batch FILE|-
 *
 * --batch: one JSON object per line, many in flight (cli/batch.c).
 * With --subject the message is composed (cli/compose.c, herald/mime.h):
 * From is FROM, To every RCPT; without it, MSGFILE is a complete message.
 *
 * --queue hands the message to the durable queue instead (herald/queue.h):
 * "queued: ID" or {"queued":"ID"} once it is on disk, exit 0; the queue
 * runner delivers it.  Too large 65, queue unusable 78, disk full 75.
 *
 * -N, -R and -V are sendmail's DSN options (RFC 3461), passed on to servers
 * that offer DSN.
 *
 * Text output, one line per recipient on stdout:
 *   RCPT: delivered|deferred|failed: REPLY (host HOST, peer PEER)
 * with "-" for a host or peer the device did not use (a file device has none).
 * --json prints {"recipients":[{"address","status","host","peer","reply","dsn",
 * "possibly_delivered"}],"trace_id":…}, host and peer null when unused.
 *
 * Exit: 0 all delivered; 69 any failed (failed wins); 75 any deferred and none
 * failed; 64 usage; 65 bad address; 66 unreadable MSGFILE; 78 config.
 * Errors are checked in that order: usage, addresses, device file, body.
 */
#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"

/* The recipients named with -t; bounded so a runaway command line is refused. */
#define SEND_RCPT_MAX 1000

struct send_args {
    const char *device;
    const char *from;
    const char *trace;
    const char *body;        /* MSGFILE, or NULL / "-" for stdin */
    const char *rcpt[SEND_RCPT_MAX];
    size_t rcpt_count;
    bool json;
    bool queue;              /* --queue: enqueue, do not deliver now */
    unsigned notify;         /* HERALD_DSN_NOTIFY_* */
    enum herald_dsn_ret ret;
    const char *envid;
    struct cli_compose compose;
    const char *batch;       /* --batch FILE|- */
    unsigned parallel;
};

/* send_usage - help for "herald send" */
static void
send_usage(FILE *out)
{
    fputs("Usage: herald [-c FILE] send [-d DEV] -f FROM -t RCPT... [--json]\n"
          "                             [--trace FILE|-] [-N NOTIFY] [-R full|hdrs]\n"
          "                             [-V ENVID] [MSGFILE|-]\n"
          "       herald [-c FILE] send ... --subject TEXT [--text FILE|-] [--html FILE]\n"
          "                             [--attach FILE[;TYPE[;NAME]]]...\n"
          "       herald [-c FILE] send [-d DEV] [-f FROM] [--json] [--trace FILE|-]\n"
          "                             [--parallel N] --batch FILE|-\n"
          "\n"
          "Send the message in MSGFILE (or on standard input when MSGFILE is \"-\" or\n"
          "absent) through device DEV (default: the first device of the file).\n"
          "\n"
          "  -d, --device DEV  the device to use\n"
          "  -f, --from FROM   envelope sender (\"\" for the null sender)\n"
          "  -t, --to RCPT     envelope recipient; repeat for more\n"
          "      --json        print the results as one JSON object\n"
          "      --trace FILE  write the delivery trace to FILE (\"-\": standard error)\n"
          "  -N, --notify WHEN delivery status notifications (RFC 3461) asked of servers\n"
          "                    that offer DSN: never, or any of success,failure,delay\n"
          "  -R, --ret WHAT    what a notification returns: full or hdrs\n"
          "  -V, --envid ID    envelope id echoed in notifications (printable ASCII)\n"
          "      --queue       hand the message to the durable queue: prints\n"
          "                    \"queued: ID\" once it is on disk (herald queue run delivers)\n"
          "\n"
          "Composing (instead of MSGFILE): a MIME message from FROM to every RCPT\n"
          "      --subject TEXT  the subject (UTF-8)\n"
          "      --text FILE     the text part (\"-\": standard input)\n"
          "      --html FILE     an HTML part (with --text: multipart/alternative)\n"
          "      --attach FILE[;TYPE[;NAME]]  attach FILE as TYPE (default: from its\n"
          "                      extension) named NAME (default: its file name); repeat\n"
          "\n"
          "Many messages (one JSON object per line, many in flight):\n"
          "      --batch FILE    {\"from\",\"to\":[...],\"file\"} or {\"from\",\"to\",\"subject\",\n"
          "                      \"text\",\"html\",\"attach\":[...]}, optional \"id\"; \"-\": stdin.\n"
          "                      -f FROM is the sender of lines without \"from\".  On a\n"
          "                      terminal a progress line, else one JSON outcome per line;\n"
          "                      Ctrl-C stops submitting and waits for what is in flight\n"
          "      --parallel N    messages in flight at most (default 64)\n"
          "\n"
          "Prints one line per recipient:\n"
          "  RCPT: delivered|deferred|failed: REPLY (host HOST, peer PEER)\n"
          "Exit status: 0 all delivered; 69 some recipient failed permanently;\n"
          "75 some recipient deferred and none failed; 64 usage; 65 bad address;\n"
          "66 MSGFILE unreadable; 78 configuration error.\n",
          out);
}

/* parse_args - the command line into a; EX_OK, or the exit code after a message */
static int
parse_args(int argc, char **argv, struct send_args *a, bool *help_out)
{
    enum { OPT_JSON = 256, OPT_TRACE, OPT_SUBJECT, OPT_TEXT, OPT_HTML, OPT_ATTACH, OPT_BATCH,
           OPT_PARALLEL, OPT_QUEUE };
    static const struct option longopts[] = {
        { "device", required_argument, NULL, 'd' },
        { "from", required_argument, NULL, 'f' },
        { "to", required_argument, NULL, 't' },
        { "json", no_argument, NULL, OPT_JSON },
        { "trace", required_argument, NULL, OPT_TRACE },
        { "queue", no_argument, NULL, OPT_QUEUE },
        { "notify", required_argument, NULL, 'N' },
        { "ret", required_argument, NULL, 'R' },
        { "envid", required_argument, NULL, 'V' },
        { "subject", required_argument, NULL, OPT_SUBJECT },
        { "text", required_argument, NULL, OPT_TEXT },
        { "html", required_argument, NULL, OPT_HTML },
        { "attach", required_argument, NULL, OPT_ATTACH },
        { "batch", required_argument, NULL, OPT_BATCH },
        { "parallel", required_argument, NULL, OPT_PARALLEL },
        { "help", no_argument, NULL, 'h' },
        { NULL, 0, NULL, 0 },
    };
    int c;

    opterr = 0;
    while ((c = getopt_long(argc, argv, "d:f:t:N:R:V:h", longopts, NULL)) != -1) {
        switch (c) {
        case 'd':
            a->device = optarg;
            break;
        case 'f':
            a->from = optarg;
            break;
        case 't':
            if (a->rcpt_count == SEND_RCPT_MAX)
                return cli_usage_error("send", "more than %d recipients", SEND_RCPT_MAX);
            a->rcpt[a->rcpt_count++] = optarg;
            break;
        case OPT_JSON:
            a->json = true;
            break;
        case OPT_TRACE:
            a->trace = optarg;
            break;
        case OPT_QUEUE:
            a->queue = true;
            break;
        case 'N':
            if (cli_parse_notify(optarg, &a->notify) != 0)
                return cli_usage_error("send", "-N takes never, or a list of success, "
                                       "failure and delay, not \"%s\"", optarg);
            break;
        case 'R':
            if (strcmp(optarg, "full") == 0)
                a->ret = HERALD_DSN_RET_FULL;
            else if (strcmp(optarg, "hdrs") == 0)
                a->ret = HERALD_DSN_RET_HDRS;
            else
                return cli_usage_error("send", "-R takes full or hdrs, not \"%s\"", optarg);
            break;
        case 'V':
            a->envid = optarg;
            break;
        case OPT_SUBJECT:
            a->compose.subject = optarg;
            break;
        case OPT_TEXT:
            a->compose.text = optarg;
            break;
        case OPT_HTML:
            a->compose.html = optarg;
            break;
        case OPT_ATTACH:
            if (a->compose.attach_count == CLI_ATTACH_MAX)
                return cli_usage_error("send", "more than %d attachments", CLI_ATTACH_MAX);
            a->compose.attach[a->compose.attach_count++] = optarg;
            break;
        case OPT_BATCH:
            a->batch = optarg;
            break;
        case OPT_PARALLEL: {
            unsigned long n;

            if (!cli_parse_number(optarg, 1, 1000, &n))
                return cli_usage_error("send", "--parallel takes 1 to 1000, not \"%s\"", optarg);
            a->parallel = (unsigned)n;
            break;
        }
        case 'h':
            *help_out = true;
            return EX_OK;
        default:
            if (optopt != 0 && strchr("dftNRV", optopt) != NULL)
                return cli_usage_error("send", "option -%c needs a value", optopt);
            if (optopt >= OPT_SUBJECT && optopt <= OPT_PARALLEL)
                return cli_usage_error("send", "option '%s' needs a value", argv[optind - 1]);
            return cli_usage_error("send", "unknown option '%s'", argv[optind - 1]);
        }
    }
    if (optind < argc)
        a->body = argv[optind++];
    if (optind < argc)
        return cli_usage_error("send", "more than one MSGFILE");
    if (a->batch != NULL) {
        if (a->rcpt_count > 0 || a->body != NULL || a->compose.subject != NULL ||
            a->compose.text || a->compose.html || a->compose.attach_count > 0)
            return cli_usage_error("send", "--batch takes recipients, files and composed "
                                   "fields from each line: no -t, MSGFILE or --subject");
        if (a->notify != 0 || a->ret != HERALD_DSN_RET_DEFAULT || a->envid != NULL || a->queue)
            return cli_usage_error("send", "--batch does not take -N, -R, -V or --queue");
        if (*a->batch == '\0')
            return cli_usage_error("send", "--batch needs a FILE or -");
        if (a->trace != NULL && *a->trace == '\0')
            return cli_usage_error("send", "--trace needs a FILE or -");
        return EX_OK;
    }
    if (a->parallel != 0)
        return cli_usage_error("send", "--parallel goes with --batch");
    if (a->from == NULL)
        return cli_usage_error("send", "missing -f FROM");
    if (a->compose.subject == NULL &&
        (a->compose.text || a->compose.html || a->compose.attach_count > 0))
        return cli_usage_error("send", "--text, --html and --attach compose a message: "
                               "give --subject too");
    if (a->compose.subject != NULL && a->body != NULL)
        return cli_usage_error("send", "--subject composes the message: no MSGFILE");
    if (a->compose.subject != NULL && *a->from == '\0')
        return cli_usage_error("send", "a composed message needs a sender for From");
    if (a->rcpt_count == 0)
        return cli_usage_error("send", "missing -t RCPT");
    if (a->trace != NULL && *a->trace == '\0')
        return cli_usage_error("send", "--trace needs a FILE or -");
    if (a->envid != NULL && !herald_dsn_envid_valid(a->envid))
        return cli_usage_error("send", "-V: the envelope id must be 1..100 printable ASCII "
                               "characters without spaces");
    return EX_OK;
}

/* address_error - report a refused address, escaped; always EX_DATAERR */
static int
address_error(const char *role, const char *address, const struct herald_diag *diag)
{
    fprintf(stderr, "herald send: bad %s address \"", role);
    cli_put_printable(stderr, address);
    fprintf(stderr, "\": %s\n", diag->text[0] ? diag->text : "refused");
    return EX_DATAERR;
}

/* build_message - envelope from the arguments; the body comes later */
static int
build_message(const struct send_args *a, struct herald_message **msg_out)
{
    struct herald_message *msg = NULL;
    struct herald_diag diag;
    herald_status st;
    size_t i;
    int rc = EX_OK;

    memset(&diag, 0, sizeof diag);
    /* The null sender "" has no domain; a recipient must have one. */
    if (*a->from != '\0' && herald_address_check(a->from, 0, &diag) != HERALD_OK)
        return address_error("sender", a->from, &diag);
    for (i = 0; i < a->rcpt_count; i++)
        if (herald_address_check(a->rcpt[i], 1, &diag) != HERALD_OK)
            return address_error("recipient", a->rcpt[i], &diag);
    st = herald_message_new(&msg);
    if (st != HERALD_OK) {
        fprintf(stderr, "herald send: %s\n", herald_strerror(st));
        return cli_exit_code(st);
    }
    st = herald_message_set_sender(msg, a->from);
    if (st != HERALD_OK)
        rc = st == HERALD_E_ADDRESS ? address_error("sender", a->from, &diag) : cli_exit_code(st);
    for (i = 0; rc == EX_OK && i < a->rcpt_count; i++) {
        st = herald_message_add_recipient(msg, a->rcpt[i]);
        if (st == HERALD_E_ADDRESS)
            rc = address_error("recipient", a->rcpt[i], &diag);
        else if (st != HERALD_OK)
            rc = cli_exit_code(st);
    }
    if (rc == EX_OK && (a->notify != 0 || a->ret != HERALD_DSN_RET_DEFAULT || a->envid != NULL)) {
        st = herald_message_set_dsn(msg, a->notify, a->ret, a->envid);
        if (st != HERALD_OK)
            rc = cli_exit_code(st);
    }
    if (rc != EX_OK) {
        if (st != HERALD_E_ADDRESS)
            fprintf(stderr, "herald send: %s\n", herald_strerror(st));
        herald_message_free(&msg);
        return rc;
    }
    *msg_out = msg;
    return EX_OK;
}

/* set_body - the body from MSGFILE or standard input */
static int
set_body(struct herald_message *msg, const char *path)
{
    herald_status st;

    if (path == NULL || strcmp(path, "-") == 0) {
        st = herald_message_set_body_fd(msg, STDIN_FILENO);
        if (st != HERALD_OK) {
            fprintf(stderr, "herald send: cannot read the message from standard input: %s\n",
                    herald_strerror(st));
            return st == HERALD_E_IO ? EX_IOERR : cli_exit_code(st);
        }
        return EX_OK;
    }
    st = herald_message_set_body_file(msg, path);
    if (st != HERALD_OK) {
        fprintf(stderr, "herald send: ");
        cli_put_printable(stderr, path);
        fprintf(stderr, ": cannot read the message: %s\n", herald_strerror(st));
        return st == HERALD_E_IO || st == HERALD_E_NOTFOUND ? EX_NOINPUT : cli_exit_code(st);
    }
    return EX_OK;
}

/* cli_pick_device - -d DEV, else the first device of the file */
int
cli_pick_device(struct herald_context *ctx, const struct cli_globals *g, const char *name,
            struct herald_device **dev_out)
{
    struct herald_diag diag;
    struct herald_device *dev = NULL;
    herald_status st;

    memset(&diag, 0, sizeof diag);
    if (name == NULL) {
        if (herald_device_count(ctx) == 0) {
            fprintf(stderr, "%s: no device is defined\n", g->config_path);
            return EX_CONFIG;
        }
        *dev_out = herald_device_at(ctx, 0);
        return EX_OK;
    }
    st = herald_device(ctx, name, &dev, &diag);
    if (st != HERALD_OK) {
        cli_print_diag(&diag, g->config_path);
        return st == HERALD_E_NOTFOUND ? EX_CONFIG : cli_exit_code(st);
    }
    *dev_out = dev;
    return EX_OK;
}

/* empty_null - NULL for an empty string, so JSON says null for an unused hop */
static const char *
empty_null(const char *s)
{
    return s != NULL && *s != '\0' ? s : NULL;
}

/* print_text - one line per recipient */
static void
print_text(const struct herald_outcome *o)
{
    size_t i;

    for (i = 0; i < herald_outcome_count(o); i++) {
        const char *host = empty_null(herald_outcome_host(o, i));
        const char *peer = empty_null(herald_outcome_peer(o, i));

        cli_put_printable(stdout, herald_outcome_address(o, i));
        printf(": %s: ", herald_result_name(herald_outcome_result(o, i)));
        cli_put_printable(stdout, herald_outcome_reply(o, i));
        fputs(" (host ", stdout);
        cli_put_printable(stdout, host ? host : "-");
        fputs(", peer ", stdout);
        cli_put_printable(stdout, peer ? peer : "-");
        fputs(herald_outcome_possibly_delivered(o, i) ? ", possibly delivered)\n" : ")\n",
              stdout);
    }
}

/* cli_outcome_json - the members "recipients" and "trace_id" of a result object */
void
cli_outcome_json(FILE *out, const struct herald_outcome *o)
{
    size_t i;

    fputs("\"recipients\":[", out);
    for (i = 0; i < herald_outcome_count(o); i++) {
        fputs(i ? ",{\"address\":" : "{\"address\":", out);
        cli_json_string(out, herald_outcome_address(o, i));
        fputs(",\"status\":", out);
        cli_json_string(out, herald_result_name(herald_outcome_result(o, i)));
        fputs(",\"host\":", out);
        cli_json_string(out, empty_null(herald_outcome_host(o, i)));
        fputs(",\"peer\":", out);
        cli_json_string(out, empty_null(herald_outcome_peer(o, i)));
        fputs(",\"reply\":", out);
        cli_json_string(out, herald_outcome_reply(o, i));
        fputs(",\"dsn\":", out);
        cli_json_string(out, empty_null(herald_outcome_dsn(o, i)));
        fputs(herald_outcome_possibly_delivered(o, i) ? ",\"possibly_delivered\":true}"
                                                      : ",\"possibly_delivered\":false}",
              out);
    }
    fputs("],\"trace_id\":", out);
    cli_json_string(out, herald_outcome_trace_id(o));
}

/* enqueue - the message into the queue; prints its id once it is durable */
static int
enqueue(const struct send_args *a, struct herald_device *dev, struct herald_message *msg)
{
    char id[HERALD_QUEUE_ID_SIZE];
    struct herald_diag diag;
    herald_status st;

    memset(&diag, 0, sizeof diag);
    st = herald_enqueue(dev, msg, id, &diag);
    if (st != HERALD_OK) {
        cli_print_diag(&diag, herald_device_name(dev));
        return cli_enqueue_exit(st);
    }
    if (a->json)
        printf("{\"queued\":\"%s\"}\n", id);
    else
        printf("queued: %s\n", id);
    return fflush(stdout) != 0 ? EX_IOERR : EX_OK;
}

/* deliver - open the file, pick the device, read the body, send, report */
static int
deliver(const struct send_args *a, struct herald_message *msg, const struct cli_globals *g)
{
    struct herald_context *ctx = NULL;
    struct herald_device *dev = NULL;
    struct herald_outcome *outcome = NULL;
    struct herald_diag diag;
    herald_status st;
    int rc;

    memset(&diag, 0, sizeof diag);
    rc = cli_open(g, &ctx);
    if (rc != EX_OK)
        return rc;
    rc = cli_pick_device(ctx, g, a->device, &dev);
    if (rc == EX_OK && a->compose.subject != NULL)
        rc = cli_compose_body("herald send", &a->compose, a->from, a->rcpt, a->rcpt_count,
                              msg);
    else if (rc == EX_OK)
        rc = set_body(msg, a->body);
    if (rc == EX_OK && a->trace != NULL) {
        st = herald_set_trace(ctx, a->trace, NULL, NULL, &diag);
        if (st != HERALD_OK) {
            cli_print_diag(&diag, a->trace);
            rc = st == HERALD_E_INVAL ? EX_USAGE : st == HERALD_E_IO ? EX_CANTCREAT
                                                                    : cli_exit_code(st);
        }
    }
    if (rc == EX_OK && a->queue) {
        rc = enqueue(a, dev, msg);
    } else if (rc == EX_OK) {
        st = herald_send(dev, msg, &outcome, &diag);
        if (st != HERALD_OK) {
            cli_print_diag(&diag, herald_device_name(dev));
            rc = cli_exit_code(st);
            if (rc == EX_IOERR || rc == EX_USAGE)
                rc = EX_SOFTWARE;   /* the arguments were checked: this is a driver problem */
        }
    }
    if (outcome != NULL) {
        if (a->json) {
            fputc('{', stdout);
            cli_outcome_json(stdout, outcome);
            fputs("}\n", stdout);
        } else {
            print_text(outcome);
        }
        rc = cli_outcome_exit(outcome);
        if (fflush(stdout) != 0)
            rc = EX_IOERR;
        herald_outcome_free(&outcome);
    }
    herald_close(&ctx);
    return rc;
}

/* cmd_send - send one message through one device, or a batch */
int
cmd_send(int argc, char **argv, const struct cli_globals *g)
{
    struct send_args *a;
    struct herald_message *msg = NULL;
    bool help = false;
    int rc;

    a = calloc(1, sizeof *a);
    if (a == NULL) {
        fputs("herald send: out of memory\n", stderr);
        return EX_OSERR;
    }
    rc = parse_args(argc, argv, a, &help);
    if (rc == EX_OK && help) {
        send_usage(stdout);
    } else if (rc == EX_OK && a->batch != NULL) {
        struct cli_batch b = { a->batch, a->device, a->trace, a->from,
                               a->parallel ? a->parallel : 64, a->json };

        rc = cli_send_batch(&b, g);
    } else if (rc == EX_OK) {
        rc = build_message(a, &msg);
        if (rc == EX_OK)
            rc = deliver(a, msg, g);
    }
    herald_message_free(&msg);
    free(a);
    return rc;
}
