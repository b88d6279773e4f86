/*
 * mime_encode.h - the encoders the MIME composer writes with (core/mime.c)
 *
 * Everything writes into a struct mime_out, a bounded buffer over a file
 * descriptor, so memory does not grow with the message.  The first write
 * error sticks in out->err (an errno value); later writes do nothing.
 */
#ifndef HERALD_MIME_ENCODE_H
#define HERALD_MIME_ENCODE_H

#include <stdbool.h>
#include <stddef.h>

#define MIME_OUT_BUF (64 * 1024)
/* Header lines are folded before they pass this many characters (RFC 5322 2.1.1). */
#define MIME_LINE_SOFT 78

struct mime_out {
    int fd;
    int err;                 /* 0, or the errno of the first failed write */
    size_t len;
    unsigned char buf[MIME_OUT_BUF];
};

void mime_out_init(struct mime_out *o, int fd);
void mime_out_bytes(struct mime_out *o, const void *p, size_t n);
void mime_out_str(struct mime_out *o, const char *s);
/* mime_out_flush - write what is buffered; 0, or -1 with o->err set */
int mime_out_flush(struct mime_out *o);

/* Base64 (RFC 2045 6.8), 76-character lines ending in CRLF. */
struct mime_b64 {
    unsigned char line[57];  /* 57 octets make one 76-character line */
    size_t n;
};
void mime_b64_feed(struct mime_b64 *st, struct mime_out *o, const unsigned char *p, size_t n);
void mime_b64_end(struct mime_b64 *st, struct mime_out *o);
/* mime_b64_encode - n octets (n <= 57) as base64 into out (>= 4*((n+2)/3)+1) */
void mime_b64_encode(const unsigned char *p, size_t n, char *out);

/*
 * Quoted-printable text (RFC 2045 6.7): LF and CRLF become CRLF line breaks,
 * a lone CR is =0D, whitespace before a line break is encoded, lines are at
 * most 76 characters (soft breaks), and the output ends with a line break.
 */
struct mime_qp {
    size_t col;
    unsigned char ws;        /* a space or tab not yet written: is it trailing? */
    bool cr;                 /* a CR not yet written: is it half of CRLF? */
};
void mime_qp_feed(struct mime_qp *st, struct mime_out *o, const unsigned char *p, size_t n);
void mime_qp_end(struct mime_qp *st, struct mime_out *o);

/*
 * Header writing.  mime_hdr_name writes "Name:" and starts the column count;
 * each following call adds one space-separated piece, folding (CRLF SP)
 * before it when the line would pass MIME_LINE_SOFT.
 */
void mime_hdr_name(struct mime_out *o, size_t *col, const char *name);
/* mime_hdr_token - " TOKEN" (or a fold and TOKEN) */
void mime_hdr_token(struct mime_out *o, size_t *col, const char *token, size_t len);
/* mime_hdr_text - unstructured text: plain and folded at its own spaces when
 * it is printable ASCII with short words, else RFC 2047 encoded-words */
void mime_hdr_text(struct mime_out *o, size_t *col, const char *text);
/* mime_hdr_phrase - a display name: a quoted-string, or encoded-words */
void mime_hdr_phrase(struct mime_out *o, size_t *col, const char *text);
/* mime_hdr_param - ";" and NAME=VALUE: a quoted-string for short printable
 * ASCII, else RFC 2231 (charset UTF-8, percent-encoded, continued in pieces) */
void mime_hdr_param(struct mime_out *o, size_t *col, const char *name, const char *value);
/* mime_hdr_end - CRLF */
void mime_hdr_end(struct mime_out *o, size_t *col);

/* mime_text_ok - UTF-8 text without control characters (tab allowed when tab) */
bool mime_text_ok(const char *s, bool tab);

#endif
