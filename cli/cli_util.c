/*
 * cli_util.c - exit codes, diagnostics, config opening, JSON strings and -N
 * shared by the herald commands
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <herald/route.h>
#include <herald/text.h>

#include "cli.h"

/* cli_exit_code - the sysexits code for a failed library call */
int
cli_exit_code(herald_status status)
{
    switch (status) {
    case HERALD_OK:
        return EX_OK;
    case HERALD_E_CONFIG:
    case HERALD_E_NOTFOUND:      /* no such device: the device file does not name it */
        return EX_CONFIG;
    case HERALD_E_MODULE:        /* a module is missing, unsafe or of another ABI */
        return EX_UNAVAILABLE;
    case HERALD_E_ADDRESS:
        return EX_DATAERR;
    case HERALD_E_IO:
        return EX_IOERR;
    case HERALD_E_DNS:
    case HERALD_E_CONNECT:
    case HERALD_E_TIMEOUT:
        return EX_TEMPFAIL;
    case HERALD_E_TLS:
    case HERALD_E_PROTOCOL:
    case HERALD_E_REJECTED:
        return EX_UNAVAILABLE;
    case HERALD_E_INVAL:
        return EX_USAGE;
    case HERALD_E_NOMEM:
    case HERALD_E_LIMIT:
    default:
        return EX_SOFTWARE;
    }
}

/* cli_print_diag - one "WHERE: TEXT" line on stderr */
void
cli_print_diag(const struct herald_diag *diag, const char *fallback)
{
    const char *where = diag->where[0] != '\0' ? diag->where : fallback;

    if (where != NULL && *where != '\0')
        fprintf(stderr, "%s: %s\n", where, diag->text[0] ? diag->text : "error");
    else
        fprintf(stderr, "herald: %s\n", diag->text[0] ? diag->text : "error");
}

/* cli_open - open the device file; a failure is reported and mapped to an exit code */
int
cli_open(const struct cli_globals *g, struct herald_context **ctx_out)
{
    struct herald_diag diag;
    struct herald_context *ctx = NULL;
    herald_status st;

    memset(&diag, 0, sizeof diag);
    st = herald_open(g->config_path, &ctx, &diag);
    if (st != HERALD_OK) {
        cli_print_diag(&diag, g->config_path);
        /* Whatever refused to open, it was the device file that asked for it. */
        if (st == HERALD_E_IO || st == HERALD_E_NOTFOUND || st == HERALD_E_INVAL)
            return EX_CONFIG;
        return cli_exit_code(st);
    }
    *ctx_out = ctx;
    return EX_OK;
}

/* cli_usage_error - a usage message on stderr; always EX_USAGE */
int
cli_usage_error(const char *cmd, const char *fmt, ...)
{
    va_list ap;

    fprintf(stderr, "herald%s%s: ", cmd ? " " : "", cmd ? cmd : "");
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fprintf(stderr, "\nTry 'herald%s%s --help'.\n", cmd ? " " : "", cmd ? cmd : "");
    return EX_USAGE;
}

/* cli_json_string - s as a JSON string that always parses */
void
cli_json_string(FILE *out, const char *s)
{
    const unsigned char *p = (const unsigned char *)s, *end;
    size_t n;

    if (s == NULL) {
        fputs("null", out);
        return;
    }
    end = p + strlen(s);
    putc('"', out);
    while (*p != '\0') {
        if (*p == '"' || *p == '\\') {
            putc('\\', out);
            putc(*p, out);
            p++;
        } else if (*p == '\n') {
            fputs("\\n", out);
            p++;
        } else if (*p == '\r') {
            fputs("\\r", out);
            p++;
        } else if (*p == '\t') {
            fputs("\\t", out);
            p++;
        } else if (*p < 0x20 || *p == 0x7f) {
            fprintf(out, "\\u%04x", (unsigned)*p);
            p++;
        } else if ((n = herald_text_utf8_len(p, (size_t)(end - p))) == 0) {
            /* A stray byte is shown as the Latin-1 character of that value. */
            fprintf(out, "\\u%04x", (unsigned)*p);
            p++;
        } else {
            fwrite(p, 1, n, out);
            p += n;
        }
    }
    putc('"', out);
}

/* cli_put_printable - s with control characters escaped, for one-line output */
void
cli_put_printable(FILE *out, const char *s)
{
    const unsigned char *p = (const unsigned char *)(s ? s : "");

    for (; *p != '\0'; p++) {
        if (*p == '\r')
            fputs("\\r", out);
        else if (*p == '\n')
            fputs("\\n", out);
        else if (*p == '\t')
            fputs("\\t", out);
        else if (*p < 0x20 || *p == 0x7f)
            fprintf(out, "\\x%02x", (unsigned)*p);
        else
            putc(*p, out);
    }
}

/* has_route - true when one of dev's modules is a route strategy */
static bool
has_route(const struct herald_device *dev)
{
    size_t m;

    for (m = 0; m < herald_device_module_count(dev); m++) {
        const char *kind;

        if (herald_device_module(dev, m, &kind, NULL, NULL) == HERALD_OK
            && strcmp(kind, "route") == 0)
            return true;
    }
    return false;
}

/* cli_pick_route_device - -d DEV (it must have a route strategy), else the first that has one */
int
cli_pick_route_device(struct herald_context *ctx, const char *cmd, const char *name,
                      struct herald_device **dev_out)
{
    struct herald_diag diag;
    size_t i;

    memset(&diag, 0, sizeof diag);
    if (name != NULL) {
        herald_status st = herald_device(ctx, name, dev_out, &diag);

        if (st != HERALD_OK) {
            fprintf(stderr, "herald %s: no device \"", cmd);
            cli_put_printable(stderr, name);
            fprintf(stderr, "\" in the device file\n");
            return cli_exit_code(st);
        }
        if (!has_route(*dev_out)) {
            fprintf(stderr, "herald %s: device \"", cmd);
            cli_put_printable(stderr, name);
            fputs("\" has no route strategy\n", stderr);
            return EX_USAGE;
        }
        return EX_OK;
    }
    for (i = 0; i < herald_device_count(ctx); i++) {
        struct herald_device *dev = herald_device_at(ctx, i);

        if (dev != NULL && has_route(dev)) {
            *dev_out = dev;
            return EX_OK;
        }
    }
    fprintf(stderr, "herald %s: no device of the device file has a route strategy\n", cmd);
    return EX_CONFIG;
}

/* cli_parse_number - digits only, within [min, max] */
bool
cli_parse_number(const char *text, unsigned long min, unsigned long max, unsigned long *out)
{
    unsigned long n;
    char *end;

    /* strtoul would take a sign or leading space: refuse them first. */
    if (text == NULL || *text < '0' || *text > '9')
        return false;
    errno = 0;
    n = strtoul(text, &end, 10);
    if (errno != 0 || *end != '\0' || n < min || n > max)
        return false;
    *out = n;
    return true;
}

/* cli_parse_notify - "never" or a comma list of success, failure, delay; 0 or -1 */
int
cli_parse_notify(const char *text, unsigned *out)
{
    char buf[64], *word, *save = NULL;
    unsigned bits = 0;

    if (strlen(text) >= sizeof buf)
        return -1;
    snprintf(buf, sizeof buf, "%s", text);
    for (word = strtok_r(buf, ",", &save); word != NULL; word = strtok_r(NULL, ",", &save)) {
        if (strcmp(word, "never") == 0)
            bits |= HERALD_DSN_NOTIFY_NEVER;
        else if (strcmp(word, "success") == 0)
            bits |= HERALD_DSN_NOTIFY_SUCCESS;
        else if (strcmp(word, "failure") == 0)
            bits |= HERALD_DSN_NOTIFY_FAILURE;
        else if (strcmp(word, "delay") == 0)
            bits |= HERALD_DSN_NOTIFY_DELAY;
        else
            return -1;
    }
    if (bits == 0 || ((bits & HERALD_DSN_NOTIFY_NEVER) && bits != HERALD_DSN_NOTIFY_NEVER))
        return -1;
    *out = bits;
    return 0;
}

/* cli_outcome_exit - failed wins over deferred; all delivered is success */
int
cli_outcome_exit(const struct herald_outcome *o)
{
    if (herald_outcome_tally(o, HERALD_RESULT_FAILED) > 0)
        return EX_UNAVAILABLE;
    if (herald_outcome_tally(o, HERALD_RESULT_DEFERRED) > 0)
        return EX_TEMPFAIL;
    return EX_OK;
}

/* cli_enqueue_exit - too large is the message's fault, a full disk passes */
int
cli_enqueue_exit(herald_status status)
{
    return status == HERALD_E_LIMIT ? EX_DATAERR : status == HERALD_E_IO ? EX_TEMPFAIL
                                                                         : cli_exit_code(status);
}

bool
cli_plan_json(const char *domain, const struct herald_route_plan *plan,
              void (*put_address)(const void *arg, size_t hop, size_t addr), const void *arg)
{
    enum herald_result result;
    const char *dsn, *reason;
    size_t i, a, n = herald_plan_hop_count(plan);

    fputs("{\"domain\":", stdout);
    cli_json_string(stdout, domain);
    if (herald_plan_error(plan, &result, &dsn, &reason) != HERALD_OK) {
        fputs(",\"error\":{\"class\":", stdout);
        cli_json_string(stdout, result == HERALD_RESULT_FAILED ? "permanent" : "temporary");
        fputs(",\"reason\":", stdout);
        cli_json_string(stdout, reason);
        fputs(",\"dsn\":", stdout);
        cli_json_string(stdout, dsn);
        fputs("}}\n", stdout);
        return false;
    }
    fputs(",\"hops\":[", stdout);
    for (i = 0; i < n; i++) {
        const struct herald_hop *h = herald_plan_hop(plan, i);

        fputs(i ? ",{\"host\":" : "{\"host\":", stdout);
        cli_json_string(stdout, h->host);
        printf(",\"port\":%u,\"preference\":", (unsigned)h->port);
        if (h->preference >= 0)
            printf("%d", h->preference);
        else
            fputs("null", stdout);
        fputs(",\"origin\":", stdout);
        cli_json_string(stdout, h->origin);
        fputs(",\"addresses\":[", stdout);
        for (a = 0; a < h->address_count; a++) {
            if (a)
                putchar(',');
            if (put_address != NULL)
                put_address(arg, i, a);
            else
                cli_json_string(stdout, h->addresses[a].text);
        }
        fputs("]}", stdout);
    }
    putchar(']');
    return true;
}
