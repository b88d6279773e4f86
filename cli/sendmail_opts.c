/*
 * sendmail_opts.c - herald-sendmail's command line, read the way sendmail
 * reads it: single letters that may be grouped ("-ti"), a value attached or
 * in the next argument ("-fADDR", "-f ADDR"), "-o" and "-b" taking the rest
 * of their argument ("-oi", "-bp").  The options are one table; a letter
 * that is not in it is a usage error (exit 64), never ignored.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sysexits.h>

#include "cli.h"
#include "sendmail.h"

enum opt_arg {
    ARG_NONE,        /* a flag: the next letter of the argument is another option */
    ARG_VALUE,       /* the rest of the argument, else the next argument */
    ARG_REST         /* the rest of the argument only, possibly empty (-q) */
};

struct opt {
    char letter;
    enum opt_arg arg;
    int (*set)(struct sm_opts *o, const char *value, char *err, size_t errsize);
};

/* say - the reason into err; always EX_USAGE */
static int say(char *err, size_t errsize, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static int
say(char *err, size_t errsize, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(err, errsize, fmt, ap);
    va_end(ap);
    return EX_USAGE;
}

/* set_mode - -bp and -q each choose a mode; two different ones are a mistake */
static int
set_mode(struct sm_opts *o, enum sm_mode mode, char *err, size_t errsize)
{
    if (o->mode != SM_MODE_SEND && o->mode != mode)
        return say(err, errsize, "-bp and -q do not go together");
    o->mode = mode;
    return 0;
}

static int
opt_b(struct sm_opts *o, const char *v, char *err, size_t errsize)
{
    if (strcmp(v, "m") == 0)
        return 0;
    if (strcmp(v, "p") == 0)
        return set_mode(o, SM_MODE_LIST, err, errsize);
    return say(err, errsize, "-b%s is not supported (only -bm, the default, and -bp)", v);
}

/* opt_B - the body type: Herald sees 8-bit bodies itself, so both are accepted */
static int
opt_B(struct sm_opts *o, const char *v, char *err, size_t errsize)
{
    (void)o;
    if (strcasecmp(v, "7BIT") == 0 || strcasecmp(v, "8BITMIME") == 0)
        return 0;
    return say(err, errsize, "-B takes 7BIT or 8BITMIME, not \"%s\"", v);
}

static int
opt_C(struct sm_opts *o, const char *v, char *err, size_t errsize)
{
    if (*v == '\0')
        return say(err, errsize, "-C needs a FILE");
    o->config = v;
    return 0;
}

static int
opt_f(struct sm_opts *o, const char *v, char *err, size_t errsize)
{
    (void)err;
    (void)errsize;
    o->from = v;
    return 0;
}

static int
opt_F(struct sm_opts *o, const char *v, char *err, size_t errsize)
{
    (void)err;
    (void)errsize;
    o->fullname = v;
    return 0;
}

static int
opt_i(struct sm_opts *o, const char *v, char *err, size_t errsize)
{
    (void)v;
    (void)err;
    (void)errsize;
    o->ignore_dots = true;
    return 0;
}

static int
opt_N(struct sm_opts *o, const char *v, char *err, size_t errsize)
{
    if (cli_parse_notify(v, &o->notify) != 0)
        return say(err, errsize, "-N takes never, or a list of success, failure and delay, "
                   "not \"%s\"", v);
    return 0;
}

/* opt_o - the sendmail options programs pass: -oi matters, the others are
 * accepted because Herald already does what they ask (errors on stderr and
 * in the exit code, delivery now or through the queue) */
static int
opt_o(struct sm_opts *o, const char *v, char *err, size_t errsize)
{
    static const char *const accepted[] = { "em", "ep", "eq", "ew", "ee", "di", "db", "dq",
                                            "m", NULL };
    size_t k;

    if (strcmp(v, "i") == 0) {
        o->ignore_dots = true;
        return 0;
    }
    for (k = 0; accepted[k] != NULL; k++)
        if (strcmp(v, accepted[k]) == 0)
            return 0;
    return say(err, errsize, "-o%s is not supported", v);
}

static int
opt_q(struct sm_opts *o, const char *v, char *err, size_t errsize)
{
    if (*v != '\0')
        return say(err, errsize, "-q%s: a queue interval is not supported (-q runs the queue "
                   "once; \"herald queue run\" keeps running)", v);
    return set_mode(o, SM_MODE_RUN, err, errsize);
}

static int
opt_R(struct sm_opts *o, const char *v, char *err, size_t errsize)
{
    if (strcmp(v, "full") == 0)
        o->ret = HERALD_DSN_RET_FULL;
    else if (strcmp(v, "hdrs") == 0)
        o->ret = HERALD_DSN_RET_HDRS;
    else
        return say(err, errsize, "-R takes full or hdrs, not \"%s\"", v);
    return 0;
}

static int
opt_t(struct sm_opts *o, const char *v, char *err, size_t errsize)
{
    (void)v;
    (void)err;
    (void)errsize;
    o->extract = true;
    return 0;
}

static int
opt_V(struct sm_opts *o, const char *v, char *err, size_t errsize)
{
    if (!herald_dsn_envid_valid(v))
        return say(err, errsize, "-V: the envelope id must be 1..100 printable ASCII "
                   "characters without spaces");
    o->envid = v;
    return 0;
}

static const struct opt opts[] = {
    { 'b', ARG_VALUE, opt_b },
    { 'B', ARG_VALUE, opt_B },
    { 'C', ARG_VALUE, opt_C },
    { 'f', ARG_VALUE, opt_f },
    { 'F', ARG_VALUE, opt_F },
    { 'i', ARG_NONE, opt_i },
    { 'N', ARG_VALUE, opt_N },
    { 'o', ARG_VALUE, opt_o },
    { 'q', ARG_REST, opt_q },
    { 'r', ARG_VALUE, opt_f },   /* the old spelling of -f */
    { 'R', ARG_VALUE, opt_R },
    { 't', ARG_NONE, opt_t },
    { 'V', ARG_VALUE, opt_V },
};

/* find - the table row of a letter, or NULL */
static const struct opt *
find(char letter)
{
    size_t k;

    for (k = 0; k < sizeof opts / sizeof opts[0]; k++)
        if (opts[k].letter == letter)
            return &opts[k];
    return NULL;
}

/* sm_parse_opts - options up to "--" or the first address, then the addresses */
int
sm_parse_opts(int argc, char **argv, struct sm_opts *o, char *err, size_t errsize)
{
    int i, rc;

    memset(o, 0, sizeof *o);
    err[0] = '\0';
    for (i = 1; i < argc; i++) {
        const char *a = argv[i];
        size_t j;

        if (strcmp(a, "--") == 0) {
            i++;
            break;
        }
        if (a[0] != '-' || a[1] == '\0')
            break;
        if (strcmp(a, "--help") == 0) {
            o->mode = SM_MODE_HELP;
            return 0;
        }
        if (a[1] == '-')
            return say(err, errsize, "unknown option '%s'", a);
        for (j = 1; a[j] != '\0'; j++) {
            const struct opt *p = find(a[j]);
            const char *value = "";

            if (p == NULL) {
                if ((unsigned char)a[j] < 0x21 || (unsigned char)a[j] > 0x7e)
                    return say(err, errsize, "unknown option '-\\x%02x'", (unsigned char)a[j]);
                return say(err, errsize, "unknown option '-%c'", a[j]);
            }
            if (p->arg == ARG_VALUE) {
                if (a[j + 1] != '\0')
                    value = a + j + 1;
                else if (i + 1 < argc)
                    value = argv[++i];
                else
                    return say(err, errsize, "option -%c needs a value", a[j]);
            } else if (p->arg == ARG_REST) {
                value = a + j + 1;
            }
            rc = p->set(o, value, err, errsize);
            if (rc != 0)
                return rc;
            if (p->arg != ARG_NONE)
                break;
        }
    }
    o->rcpt = argv + i;
    o->rcpt_count = (size_t)(argc - i);
    if (o->mode != SM_MODE_SEND && o->rcpt_count > 0)
        return say(err, errsize, "%s takes no address", o->mode == SM_MODE_LIST ? "-bp" : "-q");
    return 0;
}

/* sm_usage - what herald-sendmail takes */
void
sm_usage(FILE *out)
{
    fputs("Usage: " SM_NAME " [-t] [-i] [-f ADDR] [-F NAME] [-C FILE] [-N NOTIFY]\n"
          "                       [-R full|hdrs] [-V ENVID] [--] [ADDR...] <MESSAGE\n"
          "       " SM_NAME " [-C FILE] -bp | -q\n"
          "\n"
          "Send the message on standard input, as sendmail does, through Herald: to the\n"
          "queue when the device file has herald.queue, else delivered at once.\n"
          "\n"
          "  -t          recipients from the To, Cc and Bcc fields too (Bcc is removed)\n"
          "  -i, -oi     a line with a single \".\" does not end the message\n"
          "  -f ADDR     envelope sender (default: your login name @ this host)\n"
          "  -F NAME     full name for the From field added when there is none\n"
          "  -C FILE     device file (default: $HERALD_CONF, else " HERALD_SYSCONFDIR
          "/herald.conf)\n"
          "  -N, -R, -V  delivery status notifications (RFC 3461), as herald send\n"
          "  -bp         list the queue (herald queue list)\n"
          "  -q          deliver what is due in the queue, once (herald queue run --once)\n"
          "  -bm -B7BIT -B8BITMIME -oem -oep -oeq -oew -odi -odb -odq -om  accepted\n"
          "\n"
          "Exit status (sysexits): 0 sent or queued; 64 usage; 65 bad address or\n"
          "message; 69 a recipient failed; 75 deferred, try again; 78 configuration.\n",
          out);
}
