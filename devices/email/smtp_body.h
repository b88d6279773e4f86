/*
 * smtp_body.h - streaming encoder for the SMTP DATA body (RFC 5321 4.5.2)
 *
 * Input in chunks of any size becomes the octets to put on the wire after a
 * 354 reply: every line ending (CRLF, a bare LF, a bare CR) is written as
 * CRLF, a '.' that starts a line is doubled, and smtp_body_finish() writes
 * the end-of-data mark exactly once: ".\r\n", preceded by CRLF when the body
 * did not end with a line ending (an empty body gives ".\r\n" alone, the CRLF
 * before it being the DATA command's own).  State carries across chunks: a CR
 * ending one chunk and a LF starting the next are one line ending.
 *
 * Output is bounded by the caller's buffer: the encoder takes only as much
 * input as it can encode into the space given, and says how much it took.
 *
 * Ownership: a plain struct, no allocation.
 */
#ifndef HERALD_SMTP_BODY_H
#define HERALD_SMTP_BODY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <herald/status.h>

/* The most one input octet can produce: CR pending + "." -> "\r\n..". */
#define SMTP_BODY_EXPAND_MAX 4
/* The most smtp_body_finish() writes: "\r\n" + ".\r\n". */
#define SMTP_BODY_FINISH_MAX 5

struct smtp_body_enc {
    bool at_bol;        /* the next octet starts a line */
    bool cr_pending;    /* a CR was read, its line ending not yet written */
    bool finished;      /* the end-of-data mark was written */
};

/* smtp_body_init - fresh encoder: at the start of a line */
void smtp_body_init(struct smtp_body_enc *e);

/*
 * smtp_body_encode - encode from in[0..in_len) into out[0..out_cap).
 * *in_used_out and *out_len_out say how much was taken and written; less
 * than in_len is taken when out is full (call again with more room).
 * HERALD_E_INVAL after finish or for NULL arguments.
 */
herald_status smtp_body_encode(struct smtp_body_enc *e, const char *in, size_t in_len,
                               char *out, size_t out_cap, size_t *in_used_out,
                               size_t *out_len_out);

/*
 * smtp_body_finish - write the end-of-data mark (at most SMTP_BODY_FINISH_MAX
 * octets).  HERALD_E_INVAL when called twice; HERALD_E_LIMIT when out_cap is
 * smaller than SMTP_BODY_FINISH_MAX (nothing written then).
 */
herald_status smtp_body_finish(struct smtp_body_enc *e, char *out, size_t out_cap,
                               size_t *out_len_out);

/* SIZE= (RFC 1870) is counted by the core when the body is set, by the same
 * line-ending rules: herald_message_body_wire_size(). */

/* smtp_body_has_8bit - true when data[0..len) holds an octet >= 0x80: the
 * one test of libsmtp for 8-bit text (bodies, lines, addresses) */
bool smtp_body_has_8bit(const void *data, size_t len);

#endif
