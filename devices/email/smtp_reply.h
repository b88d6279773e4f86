/*
 * smtp_reply.h - bounded, incremental parser for SMTP server replies
 *
 * Bytes from the server are fed as they arrive, split anywhere.  The parser
 * stops right after each complete reply (so pipelined replies are taken one
 * at a time, and nothing after a 220 to STARTTLS is read ahead), and the
 * caller keeps the unconsumed rest for the next call.
 *
 * Grammar accepted (RFC 5321 4.2): "NNN-text" continuation lines, then one
 * "NNN text" or a bare "NNN".  First digit 2..5, second 0..5.  Lines end with
 * CRLF; a bare LF is accepted on input.  Every line of a reply carries the
 * same code.  A hostile peer is bounded: at most SMTP_REPLY_LINE_MAX octets
 * per line, SMTP_REPLY_LINES_MAX lines and SMTP_REPLY_TEXT_MAX octets of text
 * per reply.  Anything else (a bad code, a NUL, a CR inside a line, a bound
 * exceeded) puts the parser in a sticky error state: HERALD_E_PROTOCOL.
 *
 * Ownership: the parser is a plain struct the caller owns (it is large:
 * allocate it inside a heap object).  The reply and its lines are borrowed
 * from the parser, valid until the next smtp_reply_feed() or init.
 */
#ifndef HERALD_SMTP_REPLY_H
#define HERALD_SMTP_REPLY_H

#include <stdbool.h>
#include <stddef.h>
#include <herald/status.h>

#define SMTP_REPLY_LINE_MAX  2048   /* octets per line, CRLF not counted */
#define SMTP_REPLY_LINES_MAX 100    /* lines per reply */
#define SMTP_REPLY_TEXT_MAX  16384  /* octets of stored text per reply */

struct smtp_reply {
    int code;                        /* 220, 250, 554 ... */
    char dsn[16];                    /* enhanced status "2.0.0", or "" */
    size_t nlines;
    size_t line_off[SMTP_REPLY_LINES_MAX];   /* into text: each line, NUL-terminated */
    char text[SMTP_REPLY_TEXT_MAX];          /* line texts after "NNN-"/"NNN " */
    size_t text_len;
};

struct smtp_reply_parser {
    char line[SMTP_REPLY_LINE_MAX + 2];      /* the line being read (+CR, +NUL) */
    size_t line_len;
    bool complete;                   /* reply holds a complete reply */
    bool failed;                     /* sticky protocol error */
    char error[128];                 /* why it failed, printable */
    struct smtp_reply reply;
};

/* smtp_reply_parser_init - empty parser, ready for the first reply */
void smtp_reply_parser_init(struct smtp_reply_parser *p);

/*
 * smtp_reply_feed - consume bytes until one reply is complete or data runs
 * out.  *used_out is how many octets were consumed (always written: also on
 * error, so callers can trace).  *complete_out is true when a whole reply is
 * ready (smtp_reply_get).  Feeding again after a complete reply starts the
 * next one.  Returns HERALD_OK, HERALD_E_PROTOCOL (see smtp_reply_error),
 * HERALD_E_INVAL for NULL arguments.
 */
herald_status smtp_reply_feed(struct smtp_reply_parser *p, const char *data, size_t len,
                              size_t *used_out, bool *complete_out);

/* smtp_reply_get - the complete reply, or NULL when none is complete */
const struct smtp_reply *smtp_reply_get(const struct smtp_reply_parser *p);

/* smtp_reply_error - why the parser failed, or "" */
const char *smtp_reply_error(const struct smtp_reply_parser *p);

/* smtp_reply_line - text of line i (after the code and separator), or NULL */
const char *smtp_reply_line(const struct smtp_reply *r, size_t i);

/*
 * smtp_reply_format - one printable line "NNN text1 text2 ..." for outcomes,
 * truncated to fit cap (cap > 0), control characters replaced by '?'.
 * Returns buf.
 */
char *smtp_reply_format(const struct smtp_reply *r, char *buf, size_t cap);

/* smtp_reply_class - the first digit of the code: 2, 3, 4 or 5 */
int smtp_reply_class(const struct smtp_reply *r);

#endif
