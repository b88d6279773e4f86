/*
 * herald_blast - throughput benchmark: send COUNT messages through one device
 *
 *   herald_blast -c CONF [-d DEVICE[,DEVICE...]] [-n COUNT] [-l BODYLEN] [-f FROM] [-t RCPT]
 *                [-D DOMAINS] [-p PARALLEL]
 *
 * Each message is built anew (like a caller would) around one shared body of
 * BODYLEN octets held in memory (like smtp-source -l), and handed to
 * herald_send(), which is synchronous: one message in flight at a time.
 * Whether a session is reused is the device's business (the smtp transport's
 * session_cache option), so the same program measures both modes.
 * -d with several names sends message i through device i mod their number
 * (devices share the process: its descriptors, its loop).  -D N spreads the
 * recipients over N domains: message i goes to LOCAL@dK.DOMAIN of -t's
 * LOCAL@DOMAIN, K = i mod N.
 *
 * Prints one line, for bench/run.sh to parse:
 *   count=N delivered=D deferred=T failed=F seconds=S msgs_per_s=R maxrss_kb=K cpu_s=C
 * (deferred and failed count messages with any recipient so; cpu_s is user +
 * system time of the whole process), and on stderr, for messages not
 * delivered, one line per kind of reason (digits shown as N), most first:
 *   herald_blast: not delivered: COUNT x RESULT (REASON)
 * Exit 0 when every message was delivered, 1 when any was not, 2 on usage
 * or setup errors.
 */
#define _POSIX_C_SOURCE 200809L
#include <herald/herald.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

struct blast_args {
    const char *config;
    const char *device;
    const char *from;
    const char *rcpt;
    unsigned long count;
    size_t body_len;
    unsigned long parallel;   /* 0: herald_send, one at a time */
    unsigned long domains;    /* 0: every message to rcpt as it is */
};

#define BLAST_DEVICES_MAX 8

/* Messages not delivered, by what became of them (one program, one count),
 * and by reason: the first REASONS_MAX kinds, the rest as one. */
#define REASONS_MAX 8
static unsigned long n_deferred, n_failed;
static struct { char text[240]; unsigned long count; } reasons[REASONS_MAX + 1];

/* reason_count - count one more message not delivered for text (digit runs
 * made "N", so "d17.load.test" and "d42.load.test" are one kind) */
static void reason_count(const char *result, const char *reply)
{
    char text[240];
    size_t n = 0, i;
    int written = snprintf(text, sizeof text, "%s (", result);
    if (written > 0)
        n = (size_t)written < sizeof text ? (size_t)written : sizeof text - 1;
    for (; reply != NULL && *reply != '\0' && n + 2 < sizeof text; reply++) {
        if (*reply >= '0' && *reply <= '9') {
            if (n > 0 && text[n - 1] == 'N')
                continue;
            text[n++] = 'N';
        } else {
            text[n++] = *reply;
        }
    }
    text[n++] = ')';
    text[n] = '\0';
    for (i = 0; i < REASONS_MAX && reasons[i].count > 0; i++)
        if (strcmp(reasons[i].text, text) == 0)
            break;
    if (i < REASONS_MAX && reasons[i].count == 0)
        snprintf(reasons[i].text, sizeof reasons[i].text, "%s", text);
    else if (i == REASONS_MAX)
        snprintf(reasons[i].text, sizeof reasons[i].text, "(other reasons)");
    reasons[i].count++;
}

/* reasons_print - the kinds of reasons, most first */
static void reasons_print(void)
{
    for (;;) {
        size_t i, best = REASONS_MAX + 1;
        for (i = 0; i <= REASONS_MAX; i++)
            if (reasons[i].count > 0 && (best > REASONS_MAX || reasons[i].count > reasons[best].count))
                best = i;
        if (best > REASONS_MAX)
            return;
        fprintf(stderr, "herald_blast: not delivered: %lu x %s\n", reasons[best].count,
                reasons[best].text);
        reasons[best].count = 0;
    }
}

/* tally - true when the message's one recipient was delivered; counts the others */
static int tally(const struct herald_outcome *outcome)
{
    if (herald_outcome_tally(outcome, HERALD_RESULT_DELIVERED) == 1)
        return 1;
    if (herald_outcome_tally(outcome, HERALD_RESULT_DEFERRED) > 0)
        n_deferred++;
    else
        n_failed++;
    reason_count(herald_result_name(herald_outcome_result(outcome, 0)),
                 herald_outcome_reply(outcome, 0));
    return 0;
}

/* usage - the synopsis on stderr; returns the usage exit code */
static int usage(void)
{
    fprintf(stderr, "usage: herald_blast -c CONF [-d DEVICE[,DEVICE...]] [-n COUNT]"
                    " [-l BODYLEN] [-f FROM] [-t RCPT] [-D DOMAINS] [-p PARALLEL]\n");
    return 2;
}

/* parse_count - a positive decimal number, or 0 when the text is not one */
static unsigned long parse_count(const char *text)
{
    char *end = NULL;
    unsigned long v = strtoul(text, &end, 10);
    if (text[0] == '\0' || text[0] == '-' || *end != '\0')
        return 0;
    return v;
}

/* parse_args - fill args from argv; returns 0 on success, 2 on a usage error */
static int parse_args(int argc, char **argv, struct blast_args *args)
{
    int c;
    args->config = NULL;
    args->device = "bench";
    args->from = "a@x.test";
    args->rcpt = "b@y.test";
    args->count = 1000;
    args->body_len = 4096;
    args->parallel = 0;
    args->domains = 0;
    while ((c = getopt(argc, argv, "c:d:n:l:f:t:p:D:")) != -1) {
        switch (c) {
        case 'c': args->config = optarg; break;
        case 'd': args->device = optarg; break;
        case 'f': args->from = optarg; break;
        case 't': args->rcpt = optarg; break;
        case 'n':
            args->count = parse_count(optarg);
            if (args->count == 0)
                return usage();
            break;
        case 'D':
            args->domains = parse_count(optarg);
            if (args->domains == 0)
                return usage();
            break;
        case 'p':
            args->parallel = parse_count(optarg);
            if (args->parallel == 0 || args->parallel > 10000)
                return usage();
            break;
        case 'l':
            /* 16 MiB is far beyond any benchmark here; the cap keeps malloc sane. */
            args->body_len = (size_t)parse_count(optarg);
            if (args->body_len == 0 || args->body_len > (16u << 20))
                return usage();
            break;
        default:
            return usage();
        }
    }
    if (args->config == NULL || optind != argc || strchr(args->rcpt, '@') == NULL)
        return usage();
    return 0;
}

/*
 * body_new - a message of exactly len octets: a few headers, then lines of
 * 78 letters, LF-terminated as a file on disk would be, so Herald does its
 * normal CRLF conversion and dot-stuffing check on every line.
 */
static char *body_new(size_t len)
{
    static const char head[] = "From: <a@x.test>\nTo: <b@y.test>\nSubject: herald_blast\n\n";
    static const char line[] = "La de da de da de da de da de da de da de da de da de da de da"
                               " de da de da.\n";
    char *body = malloc(len);
    size_t used = 0;
    if (body == NULL)
        return NULL;
    while (used < len) {
        const char *src = used == 0 ? head : line;
        size_t n = used == 0 ? sizeof head - 1 : sizeof line - 1;
        if (n > len - used)
            n = len - used;
        memcpy(body + used, src, n);
        used += n;
    }
    /* A cut-off last line still ends the message with a newline. */
    body[len - 1] = '\n';
    return body;
}

/* message_new - message i: a fresh one with the envelope of args over the shared body */
static herald_status message_new(const struct blast_args *args, unsigned long i,
                                 const char *body, struct herald_message **msg_out)
{
    struct herald_message *msg = NULL;
    char rcpt[300];
    const char *at = strrchr(args->rcpt, '@');
    herald_status st = herald_message_new(&msg);
    if (args->domains == 0)
        snprintf(rcpt, sizeof rcpt, "%s", args->rcpt);
    else
        snprintf(rcpt, sizeof rcpt, "%.*s@d%lu.%s", (int)(at - args->rcpt), args->rcpt,
                 i % args->domains, at + 1);
    if (st == HERALD_OK)
        st = herald_message_set_sender(msg, args->from);
    if (st == HERALD_OK)
        st = herald_message_add_recipient(msg, rcpt);
    if (st == HERALD_OK)
        st = herald_message_set_body_buffer(msg, body, args->body_len);
    if (st != HERALD_OK) {
        herald_message_free(&msg);
        return st;
    }
    *msg_out = msg;
    return HERALD_OK;
}

/* now_s - the monotonic clock in seconds */
static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/*
 * blast - send args->count messages; *delivered_out counts the delivered ones.
 * The first failure to deliver is reported once, so a broken setup shows why
 * without flooding the terminal.
 */
static int blast(struct herald_device *const *dev, size_t ndev, const struct blast_args *args,
                 const char *body, unsigned long *delivered_out)
{
    unsigned long delivered = 0;
    int reported = 0;
    for (unsigned long i = 0; i < args->count; i++) {
        struct herald_message *msg = NULL;
        struct herald_outcome *outcome = NULL;
        struct herald_diag diag = { "", "" };
        herald_status st = message_new(args, i, body, &msg);
        if (st == HERALD_OK)
            st = herald_send(dev[i % ndev], msg, &outcome, &diag);
        herald_message_free(&msg);
        if (st != HERALD_OK) {
            fprintf(stderr, "herald_blast: message %lu: %s: %s\n", i + 1, diag.where,
                    diag.text);
            return -1;
        }
        if (tally(outcome))
            delivered++;
        else if (!reported) {
            fprintf(stderr, "herald_blast: message %lu not delivered: %s (%s)\n", i + 1,
                    herald_result_name(herald_outcome_result(outcome, 0)),
                    herald_outcome_reply(outcome, 0));
            reported = 1;
        }
        herald_outcome_free(&outcome);
    }
    *delivered_out = delivered;
    return 0;
}

/* The state of a parallel run (-p): what is submitted, what came back. */
struct flight {
    struct herald_device *const *dev;
    size_t ndev;
    const struct blast_args *args;
    const char *body;
    unsigned long submitted, finished, delivered;
    int reported;
    int error;
};

static void on_sent(void *arg, struct herald_outcome *outcome);

/* submit_one - the next message, owned by its callback from now on */
static int submit_one(struct flight *f)
{
    struct herald_message *msg = NULL;
    struct herald_diag diag = { "", "" };
    void **box = malloc(2 * sizeof *box);   /* {flight, message}: the callback frees both */
    herald_status st = box != NULL ? message_new(f->args, f->submitted, f->body, &msg)
                                   : HERALD_E_NOMEM;

    if (st == HERALD_OK) {
        box[0] = f;
        box[1] = msg;
        st = herald_submit(f->dev[f->submitted % f->ndev], msg, on_sent, box, &diag);
    }
    if (st != HERALD_OK) {
        fprintf(stderr, "herald_blast: submit %lu: %s: %s\n", f->submitted + 1, diag.where,
                diag.text[0] ? diag.text : herald_strerror(st));
        herald_message_free(&msg);
        free(box);
        f->error = 1;
        return -1;
    }
    f->submitted++;
    return 0;
}

/* on_sent - one message has its outcome: count it, send the next */
static void on_sent(void *arg, struct herald_outcome *outcome)
{
    void **box = arg;
    struct flight *f = box[0];
    struct herald_message *msg = box[1];

    f->finished++;
    if (tally(outcome))
        f->delivered++;
    else if (!f->reported) {
        fprintf(stderr, "herald_blast: a message was not delivered: %s (%s)\n",
                herald_result_name(herald_outcome_result(outcome, 0)),
                herald_outcome_reply(outcome, 0));
        f->reported = 1;
    }
    herald_outcome_free(&outcome);
    herald_message_free(&msg);
    free(box);
    if (!f->error && f->submitted < f->args->count)
        (void)submit_one(f);
}

/* blast_parallel - args->count messages, args->parallel of them in flight */
static int blast_parallel(struct herald_context *ctx, struct herald_device *const *dev,
                          size_t ndev, const struct blast_args *args, const char *body,
                          unsigned long *delivered_out)
{
    struct flight f = { dev, ndev, args, body, 0, 0, 0, 0, 0 };
    struct herald_diag diag = { "", "" };

    while (f.submitted < args->count && f.submitted < args->parallel)
        if (submit_one(&f) != 0)
            break;
    if (herald_run(ctx, 0, &diag) != HERALD_OK) {
        fprintf(stderr, "herald_blast: herald_run: %s\n", diag.text);
        return -1;
    }
    *delivered_out = f.delivered;
    return f.error ? -1 : 0;
}

int main(int argc, char **argv)
{
    struct blast_args args;
    struct herald_context *ctx = NULL;
    struct herald_device *dev[BLAST_DEVICES_MAX];
    size_t ndev = 0;
    char names[256], *name, *save = NULL;
    struct herald_diag diag = { "", "" };
    struct rusage ru;
    unsigned long delivered = 0;
    double t0, t1;
    char *body;
    int rc = parse_args(argc, argv, &args);
    if (rc != 0)
        return rc;
    if (herald_open(args.config, &ctx, &diag) != HERALD_OK) {
        fprintf(stderr, "herald_blast: %s: %s\n", diag.where, diag.text);
        return 2;
    }
    snprintf(names, sizeof names, "%s", args.device);
    for (name = strtok_r(names, ",", &save); name != NULL; name = strtok_r(NULL, ",", &save)) {
        if (ndev == BLAST_DEVICES_MAX || herald_device(ctx, name, &dev[ndev], &diag) != HERALD_OK) {
            if (ndev == BLAST_DEVICES_MAX)
                fprintf(stderr, "herald_blast: at most %d devices\n", BLAST_DEVICES_MAX);
            else
                fprintf(stderr, "herald_blast: %s: %s\n", diag.where, diag.text);
            herald_close(&ctx);
            return 2;
        }
        ndev++;
    }
    if (ndev == 0) {
        herald_close(&ctx);
        return usage();
    }
    body = body_new(args.body_len);
    if (body == NULL) {
        fprintf(stderr, "herald_blast: out of memory\n");
        herald_close(&ctx);
        return 2;
    }
    t0 = now_s();
    rc = args.parallel > 0 ? blast_parallel(ctx, dev, ndev, &args, body, &delivered)
                           : blast(dev, ndev, &args, body, &delivered);
    t1 = now_s();
    /* Timed: the sends only.  bench/run.sh also times the whole process
     * (start, herald_open, QUIT of a cached session) like it times smtp-source. */
    herald_close(&ctx);
    free(body);
    if (rc != 0)
        return 2;
    reasons_print();
    getrusage(RUSAGE_SELF, &ru);
    printf("count=%lu delivered=%lu deferred=%lu failed=%lu seconds=%.3f msgs_per_s=%.0f "
           "maxrss_kb=%ld cpu_s=%.2f\n", args.count, delivered, n_deferred, n_failed, t1 - t0,
           (double)args.count / (t1 - t0), ru.ru_maxrss,
           (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6
           + (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6);
    return delivered == args.count ? 0 : 1;
}
