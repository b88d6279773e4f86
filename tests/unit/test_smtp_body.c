/*
 * test_smtp_body.c - the DATA encoder: CRLF, dot-stuffing, end mark, any split
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <CUnit/Basic.h>

#include "smtp_body.h"
#include "test_main.h"

#define OUT_MAX 8192

/*
 * encode_split - encode in, split at cut (and fed to an output buffer of
 * out_room octets at a time), then finish.  Returns the output length.
 */
static size_t
encode_split(const char *in, size_t len, size_t cut, size_t out_room, char *out)
{
    struct smtp_body_enc e;
    size_t parts[2][2] = { { 0, cut }, { cut, len } }, p, o = 0, used, n;

    smtp_body_init(&e);
    for (p = 0; p < 2; p++) {
        size_t off = parts[p][0], end = parts[p][1], guard = 0;

        while (off < end && guard++ < 100000) {
            CU_ASSERT_EQUAL_FATAL(smtp_body_encode(&e, in + off, end - off, out + o, out_room,
                                                   &used, &n), HERALD_OK);
            CU_ASSERT_TRUE_FATAL(n <= out_room);
            off += used;
            o += n;
            CU_ASSERT_TRUE_FATAL(o + out_room < OUT_MAX);
        }
    }
    CU_ASSERT_EQUAL_FATAL(smtp_body_finish(&e, out + o, SMTP_BODY_FINISH_MAX, &n), HERALD_OK);
    o += n;
    CU_ASSERT_EQUAL(smtp_body_finish(&e, out + o, SMTP_BODY_FINISH_MAX, &n), HERALD_E_INVAL);
    return o;
}

/* check - every split and output room gives exactly want */
static void
check(const char *in, size_t len, const char *want)
{
    static char out[OUT_MAX];
    size_t cut, room, n;
    static const size_t rooms[] = { SMTP_BODY_EXPAND_MAX, 5, 7, 64, 4096 };

    for (room = 0; room < sizeof rooms / sizeof rooms[0]; room++)
        for (cut = 0; cut <= len; cut++) {
            n = encode_split(in, len, cut, rooms[room], out);
            CU_ASSERT_EQUAL(n, strlen(want));
            if (n != strlen(want) || memcmp(out, want, n) != 0) {
                CU_FAIL("encoded output differs");
                fprintf(stderr, "input %zu octets, cut %zu, room %zu: got \"%.*s\"\n", len, cut,
                        rooms[room], (int)n, out);
                return;
            }
        }
}

#define CHECK(in, want) check(in, sizeof(in) - 1, want)

static void
test_plain(void)
{
    CHECK("", ".\r\n");
    CHECK("a\r\nb\r\n", "a\r\nb\r\n.\r\n");
    CHECK("Subject: x\r\n\r\nbody", "Subject: x\r\n\r\nbody\r\n.\r\n");
}

static void
test_line_endings(void)
{
    CHECK("a\nb\n", "a\r\nb\r\n.\r\n");
    CHECK("a\rb\r", "a\r\nb\r\n.\r\n");
    CHECK("a\r\r\nb", "a\r\n\r\nb\r\n.\r\n");
    CHECK("a\n\rb", "a\r\n\r\nb\r\n.\r\n");
    CHECK("\r", "\r\n.\r\n");
    CHECK("\n", "\r\n.\r\n");
    CHECK("\r\n", "\r\n.\r\n");
    CHECK("\r\r\r", "\r\n\r\n\r\n.\r\n");
    CHECK("x\r\n\n\r\r\ny", "x\r\n\r\n\r\n\r\ny\r\n.\r\n");
}

static void
test_dots(void)
{
    CHECK(".", "..\r\n.\r\n");
    CHECK(".\r\n", "..\r\n.\r\n");
    CHECK("a\r\n.\r\nb", "a\r\n..\r\nb\r\n.\r\n");
    CHECK("..x\n.y\r.z", "...x\r\n..y\r\n..z\r\n.\r\n");
    CHECK("a.b\r\n x.", "a.b\r\n x.\r\n.\r\n");
    CHECK("\r.\n.", "\r\n..\r\n..\r\n.\r\n");
}

static void
test_eight_bit(void)
{
    struct smtp_body_enc e;
    char out[64];
    size_t used, n;

    CU_ASSERT_FALSE(smtp_body_has_8bit("plain", 5));
    CU_ASSERT_TRUE(smtp_body_has_8bit("caf\xc3\xa9", 5));
    /* 8-bit octets pass through untouched (no conversion here). */
    smtp_body_init(&e);
    CU_ASSERT_EQUAL(smtp_body_encode(&e, "\xe9t\xe9", 3, out, sizeof out, &used, &n), HERALD_OK);
    CU_ASSERT_EQUAL(used, 3);
    CU_ASSERT_EQUAL(n, 3);
    CU_ASSERT_EQUAL(memcmp(out, "\xe9t\xe9", 3), 0);
    CU_ASSERT_EQUAL(smtp_body_finish(&e, out, 4, &n), HERALD_E_LIMIT);
    CU_ASSERT_EQUAL(smtp_body_finish(&e, out, 5, &n), HERALD_OK);
    CU_ASSERT_EQUAL(smtp_body_encode(&e, "x", 1, out, sizeof out, &used, &n), HERALD_E_INVAL);
}

/* test_random - random bodies of CR, LF, '.', 'a': every split, and a reference */
static void
test_random(void)
{
    static const char alphabet[] = "\r\n.a";
    char in[64], want[256];
    size_t round, i, w;

    srand(777);
    for (round = 0; round < 100; round++) {
        size_t len = (size_t)(rand() % 40);
        int bol = 1;

        for (i = 0; i < len; i++)
            in[i] = alphabet[rand() % 4];
        /* Reference: the rules written the obvious way, one octet at a time. */
        for (i = 0, w = 0; i < len; i++) {
            if (in[i] == '\r' || in[i] == '\n') {
                if (in[i] == '\r' && i + 1 < len && in[i + 1] == '\n')
                    i++;
                want[w++] = '\r';
                want[w++] = '\n';
                bol = 1;
                continue;
            }
            if (bol && in[i] == '.')
                want[w++] = '.';
            want[w++] = in[i];
            bol = 0;
        }
        if (!bol) {
            want[w++] = '\r';
            want[w++] = '\n';
        }
        memcpy(want + w, ".\r\n", 4);
        check(in, len, want);
    }
}

/* test_big - 1 MB of short lines through a small buffer keeps every byte */
static void
test_big(void)
{
    size_t len = 1 << 20, i, off = 0, o = 0, used, n, guard = 0;
    char *in = malloc(len), out[512];
    struct smtp_body_enc e;
    unsigned long sum_in = 0, sum_out = 0;

    CU_ASSERT_PTR_NOT_NULL_FATAL(in);
    for (i = 0; i < len; i++) {
        in[i] = (i % 50 == 49) ? '\n' : (char)('a' + i % 26);
        sum_in += (unsigned char)in[i] + (in[i] == '\n' ? '\r' : 0);
    }
    smtp_body_init(&e);
    while (off < len && guard++ < len) {
        CU_ASSERT_EQUAL_FATAL(smtp_body_encode(&e, in + off, len - off, out, sizeof out, &used,
                                               &n), HERALD_OK);
        for (i = 0; i < n; i++)
            sum_out += (unsigned char)out[i];
        off += used;
        o += n;
    }
    CU_ASSERT_EQUAL(off, len);
    CU_ASSERT_EQUAL(o, len + len / 50);
    CU_ASSERT_EQUAL(sum_in, sum_out);
    free(in);
}

int
main(void)
{
    static const struct test_case cases[] = {
        { "plain and empty", test_plain },
        { "line endings", test_line_endings },
        { "dot-stuffing", test_dots },
        { "8-bit and finish", test_eight_bit },
        { "random bodies, every split", test_random },
        { "1 MB through 512 octets", test_big },
        { NULL, NULL },
    };

    return test_run_suite("smtp_body", NULL, NULL, cases);
}
