/*
 * fuzz_body.c - the DATA body encoder (devices/email/smtp_body.h): line
 * endings to CRLF, dot-stuffing, the end-of-data mark
 *
 * Input: octet 0 picks how the body is cut and how much output room each
 * call gets; the rest is the body.  Mode 0 is what smtp_session.c does
 * (16384-octet reads, 32768 octets of room, finish with the whole buffer;
 * the session now encodes into the connection's output, with at least that room);
 * the others use tiny and random chunks and rooms, rooms below
 * SMTP_BODY_EXPAND_MAX and a finish refused for lack of room first.
 * Output buffers are exact-size heap blocks.  Invariants:
 *  - every call takes no more than given and writes no more than its room,
 *    at most SMTP_BODY_EXPAND_MAX octets per octet taken, and takes at least
 *    one octet when the room is at least SMTP_BODY_EXPAND_MAX;
 *  - the wire octets never hold a bare CR or LF; after the DATA command's
 *    own CRLF they end with exactly one CRLF "." CRLF, and that sequence is
 *    nowhere before the end; no line before the end mark starts with a
 *    single '.'; in all they are at most 2 x body + SMTP_BODY_FINISH_MAX;
 *  - they equal a plain reference encoding (CRLF, bare CR and bare LF each
 *    one line ending, a leading '.' doubled, CRLF added to an unterminated
 *    last line, then ".\r\n"), however the body was cut;
 *  - the core's wire_count (core/wire_count.h, what the message counts for
 *    SIZE= when its body is set) over the same chunks gives the reference's
 *    size without the dot-stuffing and the end mark;
 *  - finish with less than SMTP_BODY_FINISH_MAX of room writes nothing and
 *    changes nothing (HERALD_E_LIMIT); a second finish and an encode after
 *    finish are HERALD_E_INVAL.
 */
#include <stdbool.h>

#include "fuzz.h"
#include "sbuf.h"
#include "smtp_body.h"
#include "wire_count.h"

#define SESSION_RAW 16384
#define SESSION_OUT (2 * SESSION_RAW)   /* smtp_session.c: BODY_OUT_MAX - FINISH_MAX */

/* reference - the whole body encoded in one plain pass */
static void
reference(const uint8_t *in, size_t n, struct sbuf *out)
{
    bool at_bol = true;
    size_t i;

    for (i = 0; i < n; i++) {
        if (in[i] == '\r' || in[i] == '\n') {
            if (in[i] == '\r' && i + 1 < n && in[i + 1] == '\n')
                i++;
            sb_add(out, "\r\n", 2);
            at_bol = true;
            continue;
        }
        if (at_bol && in[i] == '.')
            sb_add(out, ".", 1);
        sb_add(out, &in[i], 1);
        at_bol = false;
    }
    if (!at_bol)
        sb_add(out, "\r\n", 2);
    sb_add(out, ".\r\n", 3);
}

/* reference_count - what smtp_body_count says for the whole body: every
 * line ending (CRLF, bare CR, bare LF) 2 octets, any other octet 1, and 2
 * for the CRLF that ends an unterminated last line (no dot-stuffing) */
static uint64_t
reference_count(const uint8_t *in, size_t n)
{
    uint64_t total = 0;
    bool at_bol = true;
    size_t i;

    for (i = 0; i < n; i++) {
        if (in[i] == '\r' || in[i] == '\n') {
            if (in[i] == '\r' && i + 1 < n && in[i + 1] == '\n')
                i++;
            total += 2;
            at_bol = true;
            continue;
        }
        total++;
        at_bol = false;
    }
    return at_bol ? total : total + 2;
}

/* check_wire - the structural rules, independent of the reference */
static void
check_wire(const struct sbuf *w)
{
    struct sbuf v = { 0 };
    const char *mark;
    size_t i;

    for (i = 0; i < w->len; i++) {
        if (w->p[i] == '\r')
            FUZZ_CHECK(i + 1 < w->len && w->p[i + 1] == '\n');
        if (w->p[i] == '\n')
            FUZZ_CHECK(i > 0 && w->p[i - 1] == '\r');
        /* A line (after a CRLF, or the first) that starts with '.' is
         * stuffed, unless it is the end mark itself. */
        if ((i == 0 || w->p[i - 1] == '\n') && w->p[i] == '.' && i + 3 != w->len)
            FUZZ_CHECK(i + 1 < w->len && w->p[i + 1] == '.');
    }
    /* The DATA command's CRLF, then the body: one end mark, at the end. */
    sb_add(&v, "\r\n", 2);
    sb_add(&v, w->p, w->len);
    FUZZ_CHECK(v.len >= 5 && memcmp(v.p + v.len - 5, "\r\n.\r\n", 5) == 0);
    mark = memmem(v.p, v.len, "\r\n.\r\n", 5);
    FUZZ_CHECK(mark == v.p + v.len - 5);
    sb_free(&v);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct smtp_body_enc e, saved;
    struct wire_count cnt = WIRE_COUNT_INIT;
    struct sbuf wire = { 0 }, ref = { 0 };
    struct fuzz_rng rng;
    const char *in;
    size_t n, off = 0, used, olen, cap;
    unsigned mode;
    bool need_room = false;
    char *out, small[8];
    herald_status st;

    if (size < 1)
        return 0;
    mode = data[0] & 3;
    rng.state = data[0];
    in = (const char *)data + 1;
    n = size - 1;

    smtp_body_init(&e);
    FUZZ_CHECK(e.at_bol && !e.cr_pending && !e.finished);
    FUZZ_CHECK(smtp_body_encode(NULL, in, n, small, sizeof small, &used, &olen) == HERALD_E_INVAL);
    FUZZ_CHECK(smtp_body_encode(&e, in, n, NULL, 8, &used, &olen) == HERALD_E_INVAL);

    while (off < n) {
        size_t chunk, pos = 0;

        switch (mode) {
        case 0: chunk = SESSION_RAW; break;
        case 1: chunk = 1 + fuzz_below(&rng, 8); break;
        case 2: chunk = 1 + fuzz_below(&rng, 64); break;
        default: chunk = n; break;
        }
        if (chunk > n - off)
            chunk = n - off;
        while (pos < chunk) {
            switch (mode) {
            case 0: cap = SESSION_OUT; break;
            case 1: cap = fuzz_below(&rng, 13); break;
            case 2: cap = 4 + fuzz_below(&rng, 125); break;
            default: cap = fuzz_below(&rng, 2 * n + 9); break;
            }
            if (need_room && cap < SMTP_BODY_EXPAND_MAX)
                cap = SMTP_BODY_EXPAND_MAX;
            out = fuzz_alloc(cap);
            used = olen = (size_t)-1;
            st = smtp_body_encode(&e, in + off + pos, chunk - pos, out, cap, &used, &olen);
            FUZZ_CHECK(st == HERALD_OK);
            FUZZ_CHECK(used <= chunk - pos && olen <= cap);
            FUZZ_CHECK(olen <= SMTP_BODY_EXPAND_MAX * used);
            if (cap >= SMTP_BODY_EXPAND_MAX)
                FUZZ_CHECK(used >= 1);
            need_room = used == 0;
            sb_add(&wire, out, olen);
            free(out);
            pos += used;
        }
        wire_count_add(&cnt, in + off, chunk);
        off += chunk;
    }
    /* Nothing to encode: nothing taken, nothing written, nothing changed. */
    saved = e;
    FUZZ_CHECK(smtp_body_encode(&e, in, 0, small, sizeof small, &used, &olen) == HERALD_OK);
    FUZZ_CHECK(used == 0 && olen == 0 && memcmp(&e, &saved, sizeof e) == 0);
    FUZZ_CHECK(!e.finished);

    /* Finish without room: refused, and nothing changes. */
    if (mode != 0) {
        cap = fuzz_below(&rng, SMTP_BODY_FINISH_MAX);
        memset(small, 'x', sizeof small);
        olen = 12345;
        FUZZ_CHECK(smtp_body_finish(&e, small, cap, &olen) == HERALD_E_LIMIT);
        FUZZ_CHECK(olen == 12345 && memcmp(&e, &saved, sizeof e) == 0);
        for (used = 0; used < sizeof small; used++)
            FUZZ_CHECK(small[used] == 'x');
    }
    cap = mode == 0 ? SESSION_OUT + SMTP_BODY_FINISH_MAX
                    : SMTP_BODY_FINISH_MAX + fuzz_below(&rng, 4);
    out = fuzz_alloc(cap);
    FUZZ_CHECK(smtp_body_finish(&e, out, cap, &olen) == HERALD_OK);
    FUZZ_CHECK(olen <= SMTP_BODY_FINISH_MAX && e.finished);
    sb_add(&wire, out, olen);
    FUZZ_CHECK(smtp_body_finish(&e, out, cap, &olen) == HERALD_E_INVAL);
    FUZZ_CHECK(smtp_body_encode(&e, "x", 1, out, cap, &used, &olen) == HERALD_E_INVAL);
    free(out);

    check_wire(&wire);
    FUZZ_CHECK(wire.len <= 2 * n + SMTP_BODY_FINISH_MAX);
    reference((const uint8_t *)in, n, &ref);
    FUZZ_CHECK(sb_equal(&wire, &ref));
    FUZZ_CHECK(wire_count_total(&cnt) == reference_count((const uint8_t *)in, n));
    sb_free(&wire);
    sb_free(&ref);
    return 0;
}
