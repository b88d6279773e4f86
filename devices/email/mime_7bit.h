/*
 * mime_7bit.h - streaming 8bit -> 7bit MIME downgrade (RFC 6152 section 3)
 *
 * A server that does not offer 8BITMIME must not be sent 8-bit octets; the
 * client converts the message to 7-bit MIME.  Input is the stored message,
 * header and body, in chunks of any size; every line ending (CRLF, a bare
 * LF, a bare CR) is written as CRLF, and an unterminated last line gets one.
 *
 * What is converted: a MIME message (its top-level header has MIME-Version).
 * Each entity's header block is read whole (at most MIME7_HEADER_MAX
 * octets) and its lines are written as they were, except one field:
 *  - a leaf with "Content-Transfer-Encoding: 8bit" is re-encoded as
 *    quoted-printable (RFC 2045 6.7) and the field says so;
 *  - a multipart with a boundary (RFC 2046 5.1.1) is walked part by part,
 *    preamble and epilogue copied, at most MIME7_DEPTH_MAX deep; its CTE
 *    field, when 8bit, becomes 7bit;
 *  - message/rfc822 or message/global with CTE 8bit: the embedded message
 *    is converted as an entity of its own and the field becomes 7bit.
 * Everything else is copied as it is.  Whatever cannot be made 7-bit is
 * copied too, and a bit in "problems" says why (MIME7_P_*): a message that
 * is not MIME, 8-bit octets in a header or in a part not declared 8bit, a
 * binary part, a multipart without a usable boundary, a bound reached
 * (then the rest of the message is copied unparsed).  The converter never
 * fails on its input and never writes past the caller's buffer.  With
 * problems == 0 the output holds no octet >= 0x80.
 *
 * Choices: an embedded message needs no MIME-Version of its own (its
 * container says it is MIME); an 8-bit header is copied (flagged) while
 * its entity's 8bit body is still converted; two CTE fields in one header
 * block are not believed (nothing rewritten); a line longer than
 * MIME7_LINE_MAX is never a delimiter; a soft line break never starts a
 * line with '-' (written "=2D"), so no encoded line looks like a delimiter.
 *
 * Call style as smtp_body.h: mime7_convert() takes only as much input as
 * it can hold (a line and the output of that line) and says how much it
 * took; mime7_finish() writes the rest and is called until *done_out.
 *
 * Ownership: a plain struct (about 70 KB), no allocation, no globals.
 */
#ifndef HERALD_MIME_7BIT_H
#define HERALD_MIME_7BIT_H

#include <stdbool.h>
#include <stddef.h>
#include <herald/status.h>

#define MIME7_HEADER_MAX 65536   /* one entity's header block */
#define MIME7_DEPTH_MAX 16       /* nested multiparts */
#define MIME7_BOUNDARY_MAX 70    /* RFC 2046 5.1.1 */
#define MIME7_LINE_MAX 1024      /* longer lines are handled in pieces; never a delimiter */
#define MIME7_OUT_MIN 1          /* the smallest out_cap the calls accept */

/* Why part of the message went out unconverted: bits of mime7_conv.problems. */
#define MIME7_P_NOT_MIME    0x01u  /* no MIME-Version in the top-level header */
#define MIME7_P_HEADER_8BIT 0x02u  /* 8-bit octets in a header (no RFC 2047 encoding here) */
#define MIME7_P_UNDECLARED  0x04u  /* 8-bit octets where the CTE is not 8bit */
#define MIME7_P_BINARY      0x08u  /* Content-Transfer-Encoding: binary */
#define MIME7_P_LIMIT       0x10u  /* a bound was reached: the rest copied unparsed */
#define MIME7_P_MALFORMED   0x20u  /* a multipart without a usable boundary */
#define MIME7_P__ALL        0x3fu

enum mime7_mode {
    MIME7_M_HEADER = 0,   /* reading an entity's header block */
    MIME7_M_COPY,         /* body lines copied (and checked for 8-bit octets) */
    MIME7_M_QP,           /* body lines encoded as quoted-printable */
    MIME7_M_PASS          /* the rest of the message copied, nothing parsed */
};

struct mime7_seg {
    const char *p;
    size_t len;
};

struct mime7_conv {
    unsigned problems;            /* MIME7_P_* seen so far */
    unsigned long converted;      /* leaves re-encoded as quoted-printable */

    enum mime7_mode mode;
    unsigned copy_problem;        /* MIME7_M_COPY: the bit an 8-bit octet sets */
    bool top;                     /* the header being read is the message's own */
    bool default_rfc822;          /* a part of multipart/digest: message/rfc822 */
    bool finishing;               /* mime7_finish() was called: no more input */
    bool flushed;                 /* the end of the input was handled */
    bool done;                    /* ... and everything written */

    /* The line being read (a piece of it when longer than MIME7_LINE_MAX). */
    char line[MIME7_LINE_MAX];
    size_t line_len;
    bool mid_line;                /* line[] does not start a line */
    bool cr_pending;              /* a CR ended the last line: skip one LF */

    /* The current header block, lines ending in CRLF. */
    char hdr[MIME7_HEADER_MAX];
    size_t hdr_len;
    bool hdr_8bit;

    /* Enclosing multiparts, outermost first. */
    struct {
        char boundary[MIME7_BOUNDARY_MAX];
        size_t len;
        bool digest;
    } level[MIME7_DEPTH_MAX];
    size_t depth;

    /* Quoted-printable line state. */
    size_t qp_col;                /* octets on the current encoded line */
    char qp_ws;                   /* a SP or TAB not yet written: it may end the line */

    /* Output waiting for room: segments of hdr[] and pend[], in order. */
    char pend[4 * MIME7_LINE_MAX + 128];
    size_t pend_len;
    struct mime7_seg seg[4];
    size_t nseg, seg_next, seg_off;
};

/* mime7_init - fresh converter, before the top-level header */
void mime7_init(struct mime7_conv *c);

/*
 * mime7_convert - convert from in[0..in_len) into out[0..out_cap).
 * *in_used_out and *out_len_out say how much was taken and written; each
 * call with input left takes or writes at least one octet.  HERALD_E_INVAL
 * for NULL arguments or after mime7_finish(); HERALD_E_LIMIT when out_cap
 * is below MIME7_OUT_MIN (nothing taken then).
 */
herald_status mime7_convert(struct mime7_conv *c, const char *in, size_t in_len, char *out,
                            size_t out_cap, size_t *in_used_out, size_t *out_len_out);

/*
 * mime7_finish - the end of the input: write what is left, as much as fits.
 * *done_out is true once everything is written (later calls write nothing).
 * HERALD_E_INVAL for NULL arguments; HERALD_E_LIMIT below MIME7_OUT_MIN.
 */
herald_status mime7_finish(struct mime7_conv *c, char *out, size_t out_cap, size_t *out_len_out,
                           bool *done_out);

/* mime7_problem_text - "not MIME", ... for one MIME7_P_* bit; "" for others */
const char *mime7_problem_text(unsigned bit);

#endif
