/*
 * sendmail_main.c - herald-sendmail: the sendmail-compatible entry point
 *
 *   herald-sendmail [-t] [-i] [-f ADDR] [-F NAME] [-C FILE] [--] [ADDR...] <MESSAGE
 *   herald-sendmail [-C FILE] -bp | -q
 *
 * The device is herald.sendmail_device, else the file's first device whose
 * driver is "email".  With a herald.queue group in the device file the
 * message is queued (nothing printed, exit 0 once it is on disk) and the
 * queue runner delivers it; without one it is delivered now and the exit
 * code says how it went, as "herald send" does (69 a recipient failed, 75
 * deferred), each recipient that was not delivered named on stderr.
 *
 * Recipients: the addresses after the options, and with -t those of the To,
 * Cc and Bcc fields as well (Postfix's rule: the command line's are added,
 * not removed as sendmail 8 does).  A bare local part gets "@" and this
 * host's name.  The sender is -f, else the login name @ this host.
 * -bp and -q are "herald queue list" and "herald queue run --once".
 */
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <unistd.h>

#include "cli.h"
#include "sendmail.h"

/* The host and user names the defaults are made of. */
struct who {
    char host[256];
    char login[128];
    char sender[HERALD_ADDRESS_MAX + 1];   /* -f, else login@host */
    char from_hdr[HERALD_ADDRESS_MAX + 1]; /* the From field's address, never "" */
};

/* usage_error - the reason, then the usage text, on stderr; EX_USAGE */
static int
usage_error(const char *why)
{
    fputs(SM_NAME ": ", stderr);
    cli_put_printable(stderr, why);
    fputs("\n", stderr);
    sm_usage(stderr);
    return EX_USAGE;
}

/* say - "herald-sendmail: TEXT" with the text made printable; returns rc */
static int
say(const char *text, int rc)
{
    fputs(SM_NAME ": ", stderr);
    cli_put_printable(stderr, text);
    fputc('\n', stderr);
    return rc;
}

/* find_who - this host's name and the user's login name */
static void
find_who(struct who *w)
{
    const struct passwd *pw = getpwuid(getuid());
    const char *env = getenv("LOGNAME");

    if (gethostname(w->host, sizeof w->host) != 0 || w->host[0] == '\0')
        snprintf(w->host, sizeof w->host, "localhost");
    w->host[sizeof w->host - 1] = '\0';
    if (pw != NULL && pw->pw_name != NULL && *pw->pw_name != '\0')
        snprintf(w->login, sizeof w->login, "%s", pw->pw_name);
    else if (env != NULL && *env != '\0')
        snprintf(w->login, sizeof w->login, "%s", env);
    else
        snprintf(w->login, sizeof w->login, "uid%u", (unsigned)getuid());
}

/* set_sender - -f ADDR ("<ADDR>" and "<>" too), else login@host; checked */
static int
set_sender(struct who *w, const char *from)
{
    struct herald_diag diag;
    size_t n;

    if (strlen(w->login) + 1 + strlen(w->host) >= sizeof w->from_hdr)
        return say("the login name @ this host is longer than an address may be: give -f",
                   EX_DATAERR);
    memcpy(w->from_hdr, w->login, strlen(w->login));
    w->from_hdr[strlen(w->login)] = '@';
    memcpy(w->from_hdr + strlen(w->login) + 1, w->host, strlen(w->host) + 1);
    if (from == NULL) {
        snprintf(w->sender, sizeof w->sender, "%s", w->from_hdr);
    } else {
        n = strlen(from);
        if (n >= 2 && from[0] == '<' && from[n - 1] == '>') {
            from++;
            n -= 2;
        }
        if (n >= sizeof w->sender)
            return say("bad sender address: too long", EX_DATAERR);
        memcpy(w->sender, from, n);
        w->sender[n] = '\0';
    }
    memset(&diag, 0, sizeof diag);
    if (herald_address_check(w->sender, 0, &diag) != HERALD_OK) {
        fputs(SM_NAME ": bad sender address \"", stderr);
        cli_put_printable(stderr, w->sender);
        fputs("\": ", stderr);
        cli_put_printable(stderr, diag.text[0] ? diag.text : "refused");
        fputc('\n', stderr);
        return EX_DATAERR;
    }
    if (w->sender[0] != '\0' && strchr(w->sender, '@') != NULL)
        snprintf(w->from_hdr, sizeof w->from_hdr, "%s", w->sender);
    return EX_OK;
}

/* open_file - the device file; a failure named FILE:LINE, as herald does */
static int
open_file(const struct cli_globals *g, struct herald_context **ctx_out)
{
    struct herald_diag diag;
    herald_status st;

    memset(&diag, 0, sizeof diag);
    st = herald_open(g->config_path, ctx_out, &diag);
    if (st == HERALD_OK)
        return EX_OK;
    fputs(SM_NAME ": ", stderr);
    cli_print_diag(&diag, g->config_path);
    /* Whatever refused to open, it was the device file that asked for it (cli_open). */
    return st == HERALD_E_IO || st == HERALD_E_NOTFOUND || st == HERALD_E_INVAL
               ? EX_CONFIG : cli_exit_code(st);
}

/* pick_device - herald.sendmail_device, else the first email device */
static int
pick_device(struct herald_context *ctx, const struct cli_globals *g,
            struct herald_device **dev_out)
{
    const char *name = herald_sendmail_device(ctx);
    size_t i;

    if (name != NULL) {
        struct herald_diag diag;
        herald_status st;

        /* herald_open checked that the name is a device of the file. */
        memset(&diag, 0, sizeof diag);
        st = herald_device(ctx, name, dev_out, &diag);
        if (st == HERALD_OK)
            return EX_OK;
        fputs(SM_NAME ": ", stderr);
        cli_print_diag(&diag, g->config_path);
        return cli_exit_code(st);
    }
    for (i = 0; i < herald_device_count(ctx); i++) {
        struct herald_device *dev = herald_device_at(ctx, i);
        const char *kind = NULL, *driver = NULL;

        if (herald_device_module(dev, 0, &kind, &driver, NULL) == HERALD_OK &&
            strcmp(kind, "device") == 0 && strcmp(driver, "email") == 0) {
            *dev_out = dev;
            return EX_OK;
        }
    }
    fprintf(stderr, SM_NAME ": %s: no device has the email driver; name the device with "
            "herald: { sendmail_device = \"NAME\"; }\n", g->config_path);
    return EX_CONFIG;
}

/* report - each recipient that was not delivered, on stderr */
static void
report(const struct herald_outcome *o)
{
    size_t i;

    for (i = 0; i < herald_outcome_count(o); i++) {
        enum herald_result res = herald_outcome_result(o, i);

        if (res == HERALD_RESULT_DELIVERED)
            continue;
        fputs(SM_NAME ": ", stderr);
        cli_put_printable(stderr, herald_outcome_address(o, i));
        fprintf(stderr, ": %s: ", herald_result_name(res));
        cli_put_printable(stderr, herald_outcome_reply(o, i));
        fputc('\n', stderr);
    }
}

/* hand_over - enqueue when the file has a queue, else deliver now */
static int
hand_over(struct herald_context *ctx, struct herald_device *dev, struct herald_message *msg)
{
    struct herald_outcome *outcome = NULL;
    struct herald_diag diag;
    char id[HERALD_QUEUE_ID_SIZE];
    herald_status st;
    int rc;

    memset(&diag, 0, sizeof diag);
    if (herald_queue_configured(ctx)) {
        st = herald_enqueue(dev, msg, id, &diag);
        if (st == HERALD_OK)
            return EX_OK;
        fputs(SM_NAME ": ", stderr);
        cli_print_diag(&diag, herald_device_name(dev));
        return cli_enqueue_exit(st);
    }
    st = herald_send(dev, msg, &outcome, &diag);
    if (st != HERALD_OK) {
        fputs(SM_NAME ": ", stderr);
        cli_print_diag(&diag, herald_device_name(dev));
        rc = cli_exit_code(st);
        /* The arguments were checked: this is a driver problem. */
        return rc == EX_IOERR || rc == EX_USAGE ? EX_SOFTWARE : rc;
    }
    report(outcome);
    rc = cli_outcome_exit(outcome);
    herald_outcome_free(&outcome);
    return rc;
}

/* add_envelope - sender, recipients, DSN parameters into msg */
static int
add_envelope(struct herald_message *msg, const struct who *w, const struct sm_rcpts *r,
             const struct sm_opts *o)
{
    herald_status st = herald_message_set_sender(msg, w->sender);
    size_t i;

    for (i = 0; st == HERALD_OK && i < r->count; i++)
        st = herald_message_add_recipient(msg, r->addr[i]);
    if (st == HERALD_OK && (o->notify != 0 || o->ret != HERALD_DSN_RET_DEFAULT ||
                            o->envid != NULL))
        st = herald_message_set_dsn(msg, o->notify, o->ret, o->envid);
    if (st != HERALD_OK)
        return say(herald_strerror(st), cli_exit_code(st));
    return EX_OK;
}

/* send_mode - the message on standard input to its recipients */
static int
send_mode(const struct sm_opts *o, const struct cli_globals *g)
{
    struct who w;
    struct sm_rcpts *r;
    struct sm_added add;
    struct herald_context *ctx = NULL;
    struct herald_device *dev = NULL;
    struct herald_message *msg = NULL;
    char err[1024];
    size_t i;
    int rc;

    if (o->rcpt_count == 0 && !o->extract)
        return usage_error("no recipients: give an address, or -t to read them from the "
                           "message");
    r = calloc(1, sizeof *r);
    if (r == NULL)
        return say("out of memory", EX_OSERR);
    find_who(&w);
    rc = set_sender(&w, o->from);
    if (rc == EX_OK && o->fullname != NULL &&
        herald_mime_address_field("From", o->fullname, w.from_hdr, err, sizeof err) !=
            HERALD_OK)
        rc = usage_error("-F: the name has a control character (CR, LF ...) or is not UTF-8");
    for (i = 0; rc == EX_OK && i < o->rcpt_count; i++) {
        rc = sm_address_list(o->rcpt[i], strlen(o->rcpt[i]), w.host, r, err, sizeof err);
        if (rc != EX_OK)
            say(err, rc);
    }
    if (rc == EX_OK)
        rc = open_file(g, &ctx);
    if (rc == EX_OK)
        rc = pick_device(ctx, g, &dev);
    if (rc == EX_OK && herald_message_new(&msg) != HERALD_OK)
        rc = say("out of memory", EX_OSERR);
    if (rc == EX_OK) {
        add.from_address = w.from_hdr;
        add.fullname = o->fullname;
        rc = sm_read_message(STDIN_FILENO, o, &add, w.host, msg, r);
    }
    if (rc == EX_OK && r->count == 0)
        rc = usage_error("no recipients: none on the command line, and no To, Cc or Bcc "
                         "field with an address");
    if (rc == EX_OK)
        rc = add_envelope(msg, &w, r, o);
    if (rc == EX_OK)
        rc = hand_over(ctx, dev, msg);
    herald_message_free(&msg);
    herald_close(&ctx);
    sm_rcpts_free(r);
    free(r);
    return rc;
}

/* main - sendmail's options, then one of: send, list the queue, run the queue */
int
main(int argc, char **argv)
{
    struct cli_globals g = { NULL, SM_NAME };
    struct sm_opts o;
    char err[512];
    int rc;

    rc = sm_parse_opts(argc, argv, &o, err, sizeof err);
    if (rc != 0)
        return usage_error(err);
    if (o.mode == SM_MODE_HELP) {
        sm_usage(stdout);
        return EX_OK;
    }
    g.config_path = o.config != NULL ? o.config : herald_default_config_path();
    if (o.mode == SM_MODE_LIST || o.mode == SM_MODE_RUN) {
        static char queue[] = "queue", list[] = "list", run[] = "run", once[] = "--once";
        char *list_argv[] = { queue, list, NULL };
        char *run_argv[] = { queue, run, once, NULL };

        optind = 0;
        return o.mode == SM_MODE_LIST ? cmd_queue(2, list_argv, &g) : cmd_queue(3, run_argv, &g);
    }
    rc = send_mode(&o, &g);
    if (fflush(stdout) != 0 && rc == EX_OK)
        rc = EX_IOERR;
    return rc;
}
