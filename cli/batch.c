/*
 * batch.c - "herald send --batch FILE|-": one JSON object per line, many
 * messages in flight through herald_submit()
 *
 * A line is {"from","to":[...],"file"} (a complete message) or
 * {"from","to":[...],"subject","text","html","attach":[...]} (composed,
 * cli/compose.c), with an optional "id" echoed in its outcome; "to" may be
 * one string.  Lines are read one at a time and at most b->parallel
 * messages are in flight, so memory and descriptors do not grow with the
 * file.
 *
 * Output: on a terminal, a progress line (messages done, delivered /
 * deferred / failed, rate, time left) and a summary; in a pipe (or with
 * --json), one JSON object per message as it finishes,
 * {"line":N,"id":...,"recipients":[...],"trace_id":...} or
 * {"line":N,"id":...,"error":"..."}, and the summary on stderr.
 *
 * Errors: a line that is not what is described above (bad JSON, an unknown
 * or missing field) stops the batch: nothing after it is submitted, what is
 * in flight finishes, and "FILE:LINE: column N: why" is on stderr (exit 65).
 * A message that cannot be made (a bad address, a missing file) is that
 * line's error and the batch goes on.  Ctrl-C (SIGINT) stops submitting,
 * waits for what is in flight and prints the summary.
 *
 * Exit: 65 a line was refused; else 69 a message had a failed recipient;
 * else 75 one was deferred or the batch was interrupted; else 0.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "jsonl.h"

/* How often the progress line and the interrupt flag are looked at. */
#define BATCH_TICK_MS 200
/* How long the loop runs between looks at the input while lines trickle in. */
#define BATCH_POLL_MS 50

static volatile sig_atomic_t batch_stop;

struct batch {
    const struct cli_batch *opt;
    const char *name;            /* the file, for messages ("-" is "stdin") */
    struct herald_context *ctx;
    struct herald_device *dev;
    bool json;                   /* outcome lines, else a progress line */
    size_t total;                /* lines in the file; 0 when unknown (a pipe) */
    size_t submitted, done, delivered, deferred, failed, refused;
    bool data_error, interrupted;
    struct timespec start, last_shown;
};

struct item {
    struct batch *b;
    struct herald_message *msg;
    size_t line;
    char *id;
};

/* on_sigint - stop submitting; a second Ctrl-C kills as usual */
static void
on_sigint(int sig)
{
    (void)sig;
    batch_stop = 1;
    signal(SIGINT, SIG_DFL);
}

/* elapsed - seconds since t */
static double
elapsed(const struct timespec *t)
{
    struct timespec now;

    clock_gettime(CLOCK_MONOTONIC, &now);
    return (double)(now.tv_sec - t->tv_sec) + (double)(now.tv_nsec - t->tv_nsec) / 1e9;
}

/* show_progress - the one progress line, redrawn at most every tick (or now) */
static void
show_progress(struct batch *b, bool now)
{
    double secs, rate;

    if (b->json || (!now && elapsed(&b->last_shown) * 1000 < BATCH_TICK_MS))
        return;
    clock_gettime(CLOCK_MONOTONIC, &b->last_shown);
    secs = elapsed(&b->start);
    rate = secs > 0 ? (double)b->done / secs : 0;
    if (b->total > 0)
        printf("\r%zu/%zu done: %zu delivered, %zu deferred, %zu failed; %.1f/s", b->done,
               b->total, b->delivered, b->deferred, b->failed + b->refused, rate);
    else
        printf("\r%zu done: %zu delivered, %zu deferred, %zu failed; %.1f/s", b->done,
               b->delivered, b->deferred, b->failed + b->refused, rate);
    if (b->total > b->done && rate > 0)
        printf(", %.0f s left  ", (double)(b->total - b->done) / rate);
    else
        fputs("            ", stdout);
    fflush(stdout);
}

/* put_lead - {"line":N,"id":..., opening an outcome line */
static void
put_lead(FILE *out, size_t line, const char *id)
{
    fprintf(out, "{\"line\":%zu,", line);
    if (id != NULL) {
        fputs("\"id\":", out);
        cli_json_string(out, id);
        fputc(',', out);
    }
}

/* line_error - one message could not be made or submitted: its outcome is the error */
static void
line_error(struct batch *b, size_t line, const char *id, const char *why)
{
    b->refused++;
    b->done++;
    b->data_error = true;
    if (b->json) {
        put_lead(stdout, line, id);
        fputs("\"error\":", stdout);
        cli_json_string(stdout, why);
        fputs("}\n", stdout);
        fflush(stdout);
    } else {
        fputs("\r", stdout);
        fflush(stdout);
        fprintf(stderr, "%s:%zu: ", b->name, line);
        cli_put_printable(stderr, why);
        fputc('\n', stderr);
    }
}

/* on_sent - a message's outcome: count it, print it, free it */
static void
on_sent(void *arg, struct herald_outcome *o)
{
    struct item *it = arg;
    struct batch *b = it->b;

    b->done++;
    if (herald_outcome_tally(o, HERALD_RESULT_FAILED) > 0)
        b->failed++;
    else if (herald_outcome_tally(o, HERALD_RESULT_DEFERRED) > 0)
        b->deferred++;
    else
        b->delivered++;
    if (b->json) {
        put_lead(stdout, it->line, it->id);
        cli_outcome_json(stdout, o);
        fputs("}\n", stdout);
        fflush(stdout);
    }
    herald_outcome_free(&o);
    herald_message_free(&it->msg);
    free(it->id);
    free(it);
    show_progress(b, false);
}

/* field_str - a string field, or NULL; -1 when it is an array */
static int
field_str(const struct jsonl_object *obj, const char *key, const char **out)
{
    const struct jsonl_field *f = jsonl_get(obj, key);

    *out = NULL;
    if (f == NULL)
        return 0;
    if (f->is_array)
        return -1;
    *out = f->str;
    return 0;
}

/* check_shape - only known fields, of the right kinds, and one way to give the body */
static const char *
check_shape(const struct jsonl_object *obj)
{
    static const char *const known[] = { "id", "from", "to", "file", "subject", "text",
                                         "html", "attach" };
    const struct jsonl_field *f;
    const char *s;
    size_t i, k;

    for (i = 0; i < obj->count; i++) {
        for (k = 0; k < sizeof known / sizeof known[0]; k++)
            if (strcmp(obj->fields[i].key, known[k]) == 0)
                break;
        if (k == sizeof known / sizeof known[0])
            return "unknown field (known: id, from, to, file, subject, text, html, attach)";
    }
    for (k = 0; k < sizeof known / sizeof known[0]; k++)
        if (strcmp(known[k], "to") != 0 && strcmp(known[k], "attach") != 0 &&
            field_str(obj, known[k], &s) != 0)
            return "only \"to\" and \"attach\" may be arrays";
    f = jsonl_get(obj, "to");
    if (f == NULL || (f->is_array && f->count == 0))
        return "no \"to\"";
    if (f->is_array && f->count > 1000)
        return "more than 1000 recipients";
    f = jsonl_get(obj, "attach");
    if (f != NULL && f->count > CLI_ATTACH_MAX)
        return "more than 100 attachments";
    if (jsonl_get(obj, "file") != NULL) {
        if (jsonl_get(obj, "subject") || jsonl_get(obj, "text") || jsonl_get(obj, "html") ||
            jsonl_get(obj, "attach"))
            return "\"file\" is a whole message: no \"subject\", \"text\", \"html\" or "
                   "\"attach\" with it";
    } else if (jsonl_get(obj, "subject") == NULL) {
        return "neither \"file\" nor \"subject\"";
    }
    return NULL;
}

/* make_message - the envelope and body a line describes; NULL with *why on error */
static struct herald_message *
make_message(struct batch *b, const struct jsonl_object *obj, const char **why)
{
    const struct jsonl_field *to = jsonl_get(obj, "to"), *att = jsonl_get(obj, "attach");
    const char *from = b->opt->from, *file = NULL, *text = NULL;
    const char *const *rcpt = to->is_array ? (const char *const *)to->items
                                           : (const char *const *)&to->str;
    size_t n = to->is_array ? to->count : 1, i;
    struct herald_message *msg = NULL;
    struct herald_diag diag;
    herald_status st;

    memset(&diag, 0, sizeof diag);
    if (jsonl_get(obj, "from") != NULL)
        field_str(obj, "from", &from);
    field_str(obj, "file", &file);
    field_str(obj, "text", &text);
    if (from == NULL)
        return *why = "no \"from\" (and no -f FROM)", NULL;
    if (*from != '\0' && herald_address_check(from, 0, &diag) != HERALD_OK)
        return *why = "bad \"from\" address", NULL;
    for (i = 0; i < n; i++)
        if (herald_address_check(rcpt[i], 1, &diag) != HERALD_OK)
            return *why = "bad \"to\" address", NULL;
    if ((file != NULL && strcmp(file, "-") == 0) || (text != NULL && strcmp(text, "-") == 0))
        return *why = "\"-\" (standard input) is not a file in a batch", NULL;
    if (herald_message_new(&msg) != HERALD_OK)
        return *why = "out of memory", NULL;
    st = herald_message_set_sender(msg, from);
    for (i = 0; st == HERALD_OK && i < n; i++)
        st = herald_message_add_recipient(msg, rcpt[i]);
    if (st != HERALD_OK) {
        herald_message_free(&msg);
        return *why = herald_strerror(st), NULL;
    }
    if (file != NULL) {
        st = herald_message_set_body_file(msg, file);
        if (st != HERALD_OK) {
            herald_message_free(&msg);
            return *why = "cannot read \"file\"", NULL;
        }
    } else {
        struct cli_compose c;

        memset(&c, 0, sizeof c);
        field_str(obj, "subject", &c.subject);
        c.text = text;
        field_str(obj, "html", &c.html);
        for (i = 0; att != NULL && i < att->count; i++)
            c.attach[c.attach_count++] = att->items[i];
        if (att != NULL && !att->is_array)
            c.attach[c.attach_count++] = att->str;
        if (*from == '\0') {
            herald_message_free(&msg);
            return *why = "a composed message needs a \"from\"", NULL;
        }
        /* The composer says on stderr what it refused; the line says that it did. */
        if (cli_compose_body("herald send --batch", &c, from, rcpt, n, msg) != EX_OK) {
            herald_message_free(&msg);
            return *why = "cannot compose the message (see above)", NULL;
        }
    }
    return msg;
}

/* submit_line - one parsed line in flight, or its error */
static void
submit_line(struct batch *b, const struct jsonl_object *obj, size_t line)
{
    struct herald_diag diag;
    const char *why = NULL, *id = NULL;
    struct item *it;

    field_str(obj, "id", &id);
    it = calloc(1, sizeof *it);
    if (it == NULL || (id != NULL && (it->id = strdup(id)) == NULL)) {
        free(it);
        line_error(b, line, id, "out of memory");
        return;
    }
    it->b = b;
    it->line = line;
    it->msg = make_message(b, obj, &why);
    if (it->msg == NULL) {
        line_error(b, line, id, why);
        free(it->id);
        free(it);
        return;
    }
    memset(&diag, 0, sizeof diag);
    if (herald_submit(b->dev, it->msg, on_sent, it, &diag) != HERALD_OK) {
        line_error(b, line, id, diag.text[0] ? diag.text : "cannot submit");
        herald_message_free(&it->msg);
        free(it->id);
        free(it);
        return;
    }
    b->submitted++;
}

/* wait_below - run the loop until fewer than limit messages are in flight */
static void
wait_below(struct batch *b, size_t limit)
{
    struct herald_diag diag;

    while (herald_pending(b->ctx) >= limit && herald_pending(b->ctx) > 0) {
        memset(&diag, 0, sizeof diag);
        herald_run(b->ctx, BATCH_TICK_MS, &diag);
        show_progress(b, false);
    }
}

/* count_lines - the lines of a regular file, for "time left"; 0 when unknown */
static size_t
count_lines(int fd, char *buf, size_t cap)
{
    struct stat st;
    size_t n = 0;
    ssize_t r;
    char last = '\n';

    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode))
        return 0;
    while ((r = read(fd, buf, cap)) > 0) {
        const char *p = buf, *end = buf + r;

        while ((p = memchr(p, '\n', (size_t)(end - p))) != NULL) {
            n++;
            p++;
        }
        last = buf[r - 1];
    }
    if (last != '\n')
        n++;
    if (r < 0 || lseek(fd, 0, SEEK_SET) != 0)
        return 0;
    return n;
}

/* wait_input - keep the messages in flight moving while the next line has
 * not arrived (a slow producer on a pipe); back when input is there, when
 * nothing is in flight (then a blocking read costs nothing), or at Ctrl-C */
static void
wait_input(struct batch *b, const struct jsonl_reader *r)
{
    struct pollfd p = { .fd = r->fd, .events = POLLIN };
    struct herald_diag diag;

    while (!batch_stop && !jsonl_reader_ready(r) && herald_pending(b->ctx) > 0) {
        if (poll(&p, 1, 0) > 0)
            return;
        memset(&diag, 0, sizeof diag);
        herald_run(b->ctx, BATCH_POLL_MS, &diag);
        show_progress(b, false);
    }
}

/* read_lines - submit every line, stopping at a bad one or at Ctrl-C */
static void
read_lines(struct batch *b, struct jsonl_reader *rd)
{
    struct jsonl_object obj;
    char err[256];
    size_t line = 0, len;
    const char *bad;
    int r;

    while (!batch_stop) {
        wait_input(b, rd);
        if (batch_stop)
            break;
        r = jsonl_reader_next(rd, &len);
        if (r == 0)
            break;
        if (r == -3 && errno == EINTR)
            continue;   /* Ctrl-C ends the loop; another signal reads on */
        line++;
        if (r < 0) {
            fprintf(stderr, "\n%s:%zu: %s\n", b->name, line,
                    r == -1 ? "line longer than 65536 octets"
                    : r == -2 ? "a NUL octet in the line" : strerror(errno));
            b->data_error = true;
            break;
        }
        if (strspn(rd->line, " \t\r") == len)
            continue;   /* a blank line */
        if (jsonl_parse(rd->line, len, &obj, err, sizeof err) != 0) {
            fprintf(stderr, "\n%s:%zu: %s\n", b->name, line, err);
            b->data_error = true;
            break;
        }
        bad = check_shape(&obj);
        if (bad != NULL) {
            fprintf(stderr, "\n%s:%zu: %s\n", b->name, line, bad);
            b->data_error = true;
            jsonl_free(&obj);
            break;
        }
        submit_line(b, &obj, line);
        jsonl_free(&obj);
        wait_below(b, b->opt->parallel);
    }
    if (batch_stop)
        b->interrupted = true;
}

/* summary - counts, on stdout after a progress line, else on stderr */
static void
summary(struct batch *b)
{
    FILE *out = b->json ? stderr : stdout;

    if (!b->json) {
        show_progress(b, true);
        fputc('\n', stdout);
    }
    fprintf(out, "herald send: %s%zu messages in %.1f s: %zu delivered, %zu deferred, "
            "%zu failed, %zu refused\n", b->interrupted ? "interrupted: " : "", b->done,
            elapsed(&b->start), b->delivered, b->deferred, b->failed, b->refused);
}

/* open_batch - the device file, the device and the trace */
static int
open_batch(struct batch *b, const struct cli_globals *g)
{
    struct herald_diag diag;
    int rc;

    rc = cli_open(g, &b->ctx);
    if (rc != EX_OK)
        return rc;
    rc = cli_pick_device(b->ctx, g, b->opt->device, &b->dev);
    if (rc == EX_OK && b->opt->trace != NULL) {
        memset(&diag, 0, sizeof diag);
        if (herald_set_trace(b->ctx, b->opt->trace, NULL, NULL, &diag) != HERALD_OK) {
            cli_print_diag(&diag, b->opt->trace);
            rc = EX_CANTCREAT;
        }
    }
    return rc;
}

/* cli_send_batch - every line of the file, many in flight */
int
cli_send_batch(const struct cli_batch *opt, const struct cli_globals *g)
{
    struct batch b;
    struct sigaction sa, old;
    struct jsonl_reader *rd;
    int fd, rc;

    memset(&b, 0, sizeof b);
    b.opt = opt;
    b.name = strcmp(opt->path, "-") == 0 ? "stdin" : opt->path;
    b.json = opt->json || !isatty(STDOUT_FILENO);
    fd = strcmp(opt->path, "-") == 0 ? STDIN_FILENO : open(opt->path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        fprintf(stderr, "herald send: ");
        cli_put_printable(stderr, opt->path);
        fprintf(stderr, ": cannot read the batch: %s\n", strerror(errno));
        return EX_NOINPUT;
    }
    rd = malloc(sizeof *rd);
    rc = rd == NULL ? EX_OSERR : open_batch(&b, g);
    if (rc == EX_OK) {
        b.total = count_lines(fd, rd->buf, sizeof rd->buf);
        jsonl_reader_init(rd, fd);
        /* No SA_RESTART: Ctrl-C must interrupt a read from a quiet pipe. */
        memset(&sa, 0, sizeof sa);
        sa.sa_handler = on_sigint;
        sigemptyset(&sa.sa_mask);
        batch_stop = 0;
        sigaction(SIGINT, &sa, &old);
        clock_gettime(CLOCK_MONOTONIC, &b.start);
        read_lines(&b, rd);
        wait_below(&b, 1);
        sigaction(SIGINT, &old, NULL);
        summary(&b);
        if (b.data_error)
            rc = EX_DATAERR;
        else if (b.failed > 0)
            rc = EX_UNAVAILABLE;
        else if (b.deferred > 0 || b.interrupted)
            rc = EX_TEMPFAIL;
        if (fflush(stdout) != 0)
            rc = EX_IOERR;
    }
    herald_close(&b.ctx);
    free(rd);
    if (fd != STDIN_FILENO)
        close(fd);
    return rc;
}
