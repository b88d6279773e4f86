/*
 * cli.h - what the "herald" command's files share
 *
 * main.c parses the global options (-c FILE, --help, --version) and calls one
 * command.  A command receives its own argv, argv[0] being the command name
 * ("send"), parses it with getopt_long (optind reset by the caller), and
 * returns a sysexits(3) code, which main() returns.
 *
 * Exit codes (README.md, "herald --help"):
 *   0   EX_OK           all recipients delivered / file valid
 *   64  EX_USAGE        bad command line
 *   65  EX_DATAERR      bad address or message data
 *   66  EX_NOINPUT      the message file cannot be read
 *   69  EX_UNAVAILABLE  a recipient failed permanently (wins over deferred),
 *                       or a module is unusable
 *   70  EX_SOFTWARE     internal error (out of memory, driver bug)
 *   75  EX_TEMPFAIL     a recipient was deferred and none failed
 *   78  EX_CONFIG       the device file is wrong (FILE:LINE: message on stderr)
 */
#ifndef HERALD_CLI_H
#define HERALD_CLI_H

#include <stdbool.h>
#include <stdio.h>
#include <sysexits.h>
#include <herald/herald.h>
#include <herald/queue.h>

struct cli_globals {
    const char *config_path;   /* -c FILE, else $HERALD_CONF, else the default; never NULL */
    const char *progname;      /* "herald", for messages */
};

/* The commands; each returns a sysexits code. */
int cmd_check(int argc, char **argv, const struct cli_globals *g);
int cmd_devices(int argc, char **argv, const struct cli_globals *g);
int cmd_send(int argc, char **argv, const struct cli_globals *g);
int cmd_route(int argc, char **argv, const struct cli_globals *g);
int cmd_options(int argc, char **argv, const struct cli_globals *g);
int cmd_queue(int argc, char **argv, const struct cli_globals *g);
int cmd_probe(int argc, char **argv, const struct cli_globals *g);

/* cli_exit_code - the sysexits code for a failed library call */
int cli_exit_code(herald_status status);

/* cli_print_diag - "WHERE: TEXT" on stderr; fallback names the place when diag has none */
void cli_print_diag(const struct herald_diag *diag, const char *fallback);

/*
 * cli_open - herald_open(g->config_path) and report a failure on stderr.
 * Returns EX_OK with *ctx_out set (free it with herald_close), or the exit
 * code to return, *ctx_out untouched.
 */
int cli_open(const struct cli_globals *g, struct herald_context **ctx_out);

/*
 * cli_usage_error - "herald CMD: MESSAGE" and a hint on stderr; returns EX_USAGE.
 */
int cli_usage_error(const char *cmd, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/*
 * cli_json_string - write s as a JSON string, quotes included; NULL is written
 * as null.  Control characters and non-ASCII bytes that are not valid UTF-8
 * are escaped, so the output always parses.
 */
void cli_json_string(FILE *out, const char *s);

/*
 * cli_plan_json - a route plan as "route --json" shows it, on stdout:
 * {"domain":D,"hops":[...] with the object left open for the caller, and
 * true; or the whole {"domain":D,"error":{...}} line and false.  Each
 * address is written by put_address(arg, hop, addr), or as its text when
 * put_address is NULL.
 */
struct herald_route_plan;
bool cli_plan_json(const char *domain, const struct herald_route_plan *plan,
                   void (*put_address)(const void *arg, size_t hop, size_t addr),
                   const void *arg);

/*
 * cli_put_printable - write s with control characters escaped (\r, \n, \t,
 * \xNN), so that an address or a server reply can never forge an output line.
 */
void cli_put_printable(FILE *out, const char *s);

/* cli_pick_device - the device named (NULL: the file's first); EX_OK or the
 * exit code after a message on stderr */
int cli_pick_device(struct herald_context *ctx, const struct cli_globals *g, const char *name,
                    struct herald_device **dev_out);

/* cli_pick_route_device - the device named (it must have a route strategy),
 * else the file's first that has one ("herald route", "herald probe"); EX_OK
 * or the exit code after "herald CMD: ..." on stderr */
int cli_pick_route_device(struct herald_context *ctx, const char *cmd, const char *name,
                          struct herald_device **dev_out);

/* cli_outcome_json - the members "recipients":[...],"trace_id":... of a JSON
 * object (the caller writes the braces and any other member) */
void cli_outcome_json(FILE *out, const struct herald_outcome *o);
/* cli_outcome_exit - 69 any failed, else 75 any deferred, else 0 */
int cli_outcome_exit(const struct herald_outcome *o);
/* cli_enqueue_exit - herald_enqueue's error: 65 too large, 75 disk full, else
 * cli_exit_code() */
int cli_enqueue_exit(herald_status status);
/* cli_parse_number - a command-line number from min to max: decimal digits
 * only (no sign, space or unit); true with *out set */
bool cli_parse_number(const char *text, unsigned long min, unsigned long max,
                      unsigned long *out);
/* cli_parse_notify - -N WHEN: "never" or a comma list of success, failure,
 * delay, as HERALD_DSN_NOTIFY_* bits in *out; 0, or -1 for anything else */
int cli_parse_notify(const char *text, unsigned *out);

/* herald send --batch (cli/batch.c): the options that apply to every line. */
struct cli_batch {
    const char *path;        /* FILE, or "-" for standard input */
    const char *device;
    const char *trace;
    const char *from;        /* the sender of lines without "from"; NULL: required */
    unsigned parallel;       /* messages in flight at most */
    bool json;               /* JSON outcome lines even on a terminal */
};
int cli_send_batch(const struct cli_batch *b, const struct cli_globals *g);

/* What "send --subject" composes (cli/compose.c); the strings are borrowed. */
#define CLI_ATTACH_MAX HERALD_MIME_MAX_ATTACHMENTS
struct cli_compose {
    const char *subject;     /* NULL: not composing, the message comes whole */
    const char *text;        /* FILE, "-" for standard input, or NULL */
    const char *html;        /* FILE or NULL */
    const char *attach[CLI_ATTACH_MAX];   /* "FILE[;TYPE[;NAME]]" */
    size_t attach_count;
};

/*
 * cli_compose_body - build the MIME message (From: sender, To: every
 * recipient, Subject, text, HTML, attachments) and make it msg's body.
 * Errors are reported on stderr prefixed with who ("herald send"); returns
 * EX_OK, EX_USAGE (a bad value), EX_DATAERR (a bad address), EX_NOINPUT (a
 * file that cannot be read) or EX_SOFTWARE / EX_IOERR.
 */
int cli_compose_body(const char *who, const struct cli_compose *c, const char *sender,
                     const char *const *rcpt, size_t rcpt_count, struct herald_message *msg);

#endif
