/*
 * sendmail.h - what the files of herald-sendmail share
 *
 * herald-sendmail is the sendmail-compatible entry point (herald-sendmail(8)):
 *   sendmail_opts.c     the command line, sendmail's way (-oi, -fADDR, -bp ...)
 *   sendmail_headers.c  the header section: which fields are there, the
 *                       recipients of To/Cc/Bcc (-t), Bcc left out
 *   sendmail_input.c    standard input to a spooled body: dot handling, the
 *                       headers added (Date, Message-ID, From), streamed
 *   sendmail_main.c     the device, then enqueue or deliver; sysexits codes
 * Parsing functions write their error into a caller's buffer instead of on
 * stderr, so the unit test (cli/test_sendmail.c) reads them.
 */
#ifndef HERALD_CLI_SENDMAIL_H
#define HERALD_CLI_SENDMAIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <herald/herald.h>

#define SM_NAME "herald-sendmail"
/* Recipients of one message, the command line's and the headers' together. */
#define SM_RCPT_MAX 1000
/* The header section is held in memory to be read; the body never is. */
#define SM_HEADER_MAX (1024 * 1024)

enum sm_mode {
    SM_MODE_SEND = 0,    /* -bm (the default): a message on standard input */
    SM_MODE_LIST,        /* -bp: the queue listing */
    SM_MODE_RUN,         /* -q: run the queue once */
    SM_MODE_HELP         /* --help */
};

struct sm_opts {
    enum sm_mode mode;
    bool extract;              /* -t */
    bool ignore_dots;          /* -i, -oi */
    const char *from;          /* -f ADDR / -r ADDR; NULL: the login name @ host */
    const char *fullname;      /* -F NAME */
    const char *config;        /* -C FILE; NULL: herald's default */
    unsigned notify;           /* -N: HERALD_DSN_NOTIFY_* */
    enum herald_dsn_ret ret;   /* -R */
    const char *envid;         /* -V */
    char **rcpt;               /* the addresses after the options (borrowed argv) */
    size_t rcpt_count;
};

/*
 * sm_parse_opts - argv into o; 0, or EX_USAGE with the reason in err.
 * Options end at "--" or at the first argument that is not one: an address
 * that starts with '-' after an address is never read as an option.
 */
int sm_parse_opts(int argc, char **argv, struct sm_opts *o, char *err, size_t errsize);

/* sm_usage - the usage text */
void sm_usage(FILE *out);

/* The header section, parsed. */
struct sm_headers {
    bool has_date, has_message_id, has_from;
    bool crlf;                 /* the first line ended in CRLF: added lines do too */
};

/* A set of recipients, deduplicated, each checked as herald_address_check() does. */
struct sm_rcpts {
    char *addr[SM_RCPT_MAX];
    size_t count;
};
void sm_rcpts_free(struct sm_rcpts *r);
/*
 * sm_rcpts_add - one address (qualified with @domain when it has no '@');
 * 0, or EX_DATAERR (a bad address) / EX_USAGE (too many) / EX_OSERR, with
 * the reason in err.  An address already in the set is skipped.
 */
int sm_rcpts_add(struct sm_rcpts *r, const char *address, size_t len, const char *domain,
                 char *err, size_t errsize);

/*
 * sm_headers_scan - read the header section hdr[0..len) (every field, the
 * empty line not included): which fields are present, and with want_rcpts
 * every address of To, Cc and Bcc added to r (groups, comments, quoted local
 * parts, folded lines).  0, or an exit code with the reason in err.
 */
int sm_headers_scan(const char *hdr, size_t len, bool want_rcpts, const char *domain,
                    struct sm_headers *h, struct sm_rcpts *r, char *err, size_t errsize);

/*
 * sm_header_is - the field at f (a whole field, continuation lines included)
 * is named name, case-insensitively ("Bcc", "To" ...)
 */
bool sm_header_is(const char *f, size_t len, const char *name);

/*
 * sm_field_len - the length of the field starting at p (its continuation
 * lines included), in hdr[0..len); 0 at the end
 */
size_t sm_field_len(const char *p, size_t len);

/* sm_address_list - every addr-spec of an address-list field value, into r */
int sm_address_list(const char *value, size_t len, const char *domain, struct sm_rcpts *r,
                    char *err, size_t errsize);

/* The headers to add, known before the input is read. */
struct sm_added {
    const char *from_address;  /* for From: and Message-ID's domain */
    const char *fullname;      /* -F, or NULL */
};

/*
 * sm_read_message - standard input (in_fd), spooled, becomes msg's body: a
 * lone "." line ends it unless ignore_dots; a leading "From " line is
 * dropped; Date, Message-ID and From are added when missing; Bcc fields are
 * left out; with extract, the To/Cc/Bcc recipients go into r.  0, or an
 * exit code after a message on stderr.
 */
int sm_read_message(int in_fd, const struct sm_opts *o, const struct sm_added *add,
                    const char *domain, struct herald_message *msg, struct sm_rcpts *r);

#endif
