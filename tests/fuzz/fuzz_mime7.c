/*
 * fuzz_mime7.c - the 8bit -> 7bit MIME downgrade (devices/email/mime_7bit.h)
 *
 * Input: octet 0 picks how the message is cut and how much output room each
 * call gets; the rest is the stored message.  Mode 0 is what smtp_session.c
 * does (16384-octet reads and 16384 octets of room); the others cut into
 * random pieces of 1..8 or 1..300 octets with rooms from MIME7_OUT_MIN up.
 * Each run is compared with one conversion of the whole input at once into
 * a large buffer.  Output buffers are exact-size heap blocks.  Invariants:
 *  - every call takes no more than given and writes no more than its room,
 *    and takes or writes at least one octet while input is left; finish
 *    ends (done) and later calls write nothing; convert after finish is
 *    HERALD_E_INVAL;
 *  - the output, the problem bits and the count of converted parts are the
 *    same however the input was cut and whatever the room;
 *  - every output line ends in CRLF (no bare CR or LF, nothing after the
 *    last CRLF); the output is empty only for an empty input;
 *  - no output line is longer than 76 octets or the longest input line
 *    (quoted-printable lines and the rewritten CTE field are at most 76,
 *    every other line is an input line);
 *  - with no problem bit set, no output octet is >= 0x80;
 *  - a message that is not MIME comes out as it went in, line ends made
 *    CRLF (and one added after an unterminated last line).
 */
#include <stdbool.h>

#include "fuzz.h"
#include "sbuf.h"
#include "mime_7bit.h"

#define SESSION_CHUNK 16384   /* smtp_session.c: BODY_RAW_MAX */
#define CALLS_MAX 100000000ul /* a stalled converter is a violated invariant */

struct run {
    struct sbuf out;
    unsigned problems;
    unsigned long converted;
};

/* convert - the whole input, cut and given room as mode says */
static void
convert(const uint8_t *in, size_t n, unsigned mode, struct fuzz_rng *rng, struct run *r)
{
    struct mime7_conv *c = fuzz_alloc(sizeof *c);
    size_t off = 0, used, olen, cap;
    unsigned long calls = 0;
    bool done = false;
    char *out;

    mime7_init(c);
    while (off < n) {
        size_t chunk = mode == 0 ? SESSION_CHUNK
                       : mode == 1 ? 1 + fuzz_below(rng, 8)
                       : mode == 2 ? 1 + fuzz_below(rng, 300) : n;
        size_t end = chunk > n - off ? n : off + chunk;

        while (off < end) {
            cap = mode == 0 ? SESSION_CHUNK : mode == 3 ? 1 << 20
                  : MIME7_OUT_MIN + fuzz_below(rng, 90);
            out = fuzz_alloc(cap);
            used = olen = (size_t)-1;
            FUZZ_CHECK(mime7_convert(c, (const char *)in + off, end - off, out, cap, &used,
                                     &olen) == HERALD_OK);
            FUZZ_CHECK(used <= end - off && olen <= cap);
            FUZZ_CHECK(used > 0 || olen > 0);
            FUZZ_CHECK(++calls < CALLS_MAX);
            sb_add(&r->out, out, olen);
            free(out);
            off += used;
        }
    }
    while (!done) {
        cap = mode == 0 ? SESSION_CHUNK : mode == 3 ? 1 << 20
              : MIME7_OUT_MIN + fuzz_below(rng, 90);
        out = fuzz_alloc(cap);
        FUZZ_CHECK(mime7_finish(c, out, cap, &olen, &done) == HERALD_OK);
        FUZZ_CHECK(olen <= cap);
        FUZZ_CHECK(done || olen > 0);
        FUZZ_CHECK(++calls < CALLS_MAX);
        sb_add(&r->out, out, olen);
        free(out);
    }
    out = fuzz_alloc(8);
    FUZZ_CHECK(mime7_finish(c, out, 8, &olen, &done) == HERALD_OK && olen == 0 && done);
    FUZZ_CHECK(mime7_convert(c, "x", 1, out, 8, &used, &olen) == HERALD_E_INVAL);
    free(out);
    FUZZ_CHECK((c->problems & ~MIME7_P__ALL) == 0);
    r->problems = c->problems;
    r->converted = c->converted;
    free(c);
}

/* normalised - the input with CRLF, bare CR and bare LF each one CRLF, and a
 * CRLF after an unterminated last line: what a message that is not MIME becomes */
static void
normalised(const uint8_t *in, size_t n, struct sbuf *out)
{
    size_t i;

    for (i = 0; i < n; i++) {
        if (in[i] == '\r' || in[i] == '\n') {
            if (in[i] == '\r' && i + 1 < n && in[i + 1] == '\n')
                i++;
            sb_add(out, "\r\n", 2);
        } else {
            sb_add(out, &in[i], 1);
        }
    }
    if (n > 0 && in[n - 1] != '\r' && in[n - 1] != '\n')
        sb_add(out, "\r\n", 2);
}

/* longest_line - the longest input line, CRLF, bare CR and bare LF each ending one */
static size_t
longest_line(const uint8_t *in, size_t n)
{
    size_t i, len = 0, max = 0;

    for (i = 0; i < n; i++) {
        if (in[i] == '\r' || in[i] == '\n') {
            len = 0;
            continue;
        }
        if (++len > max)
            max = len;
    }
    return max;
}

/* check_lines - CRLF everywhere, no line longer than the input's or 76;
 * nothing 8-bit when nothing was left unconverted */
static void
check_lines(const struct sbuf *w, unsigned problems, size_t line_max)
{
    size_t i, start = 0;

    for (i = 0; i < w->len; i++) {
        unsigned char ch = (unsigned char)w->p[i];

        if (problems == 0)
            FUZZ_CHECK(ch < 0x80);
        if (ch == '\n')
            FUZZ_CHECK(i > 0 && w->p[i - 1] == '\r');
        if (ch != '\r')
            continue;
        FUZZ_CHECK(i + 1 < w->len && w->p[i + 1] == '\n');
        FUZZ_CHECK(i - start <= line_max);
        start = i + 2;
    }
    FUZZ_CHECK(start == w->len);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct run ref = { { 0 }, 0, 0 }, cut = { { 0 }, 0, 0 };
    struct fuzz_rng rng;
    unsigned mode;
    size_t line_max;

    if (size < 1)
        return 0;
    mode = data[0] & 3;
    rng.state = data[0];
    convert(data + 1, size - 1, 3, &rng, &ref);
    convert(data + 1, size - 1, mode, &rng, &cut);
    FUZZ_CHECK(sb_equal(&ref.out, &cut.out));
    FUZZ_CHECK(ref.problems == cut.problems && ref.converted == cut.converted);
    FUZZ_CHECK((ref.out.len == 0) == (size == 1));
    if (ref.problems & MIME7_P_NOT_MIME) {
        struct sbuf plain = { 0 };

        normalised(data + 1, size - 1, &plain);
        FUZZ_CHECK(sb_equal(&ref.out, &plain));
        FUZZ_CHECK(ref.converted == 0);
        sb_free(&plain);
    }
    line_max = longest_line(data + 1, size - 1);
    check_lines(&ref.out, ref.problems, line_max > 76 ? line_max : 76);
    sb_free(&ref.out);
    sb_free(&cut.out);
    return 0;
}
