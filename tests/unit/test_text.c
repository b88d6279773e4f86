/*
 * test_text.c - the one printable-text helper (core/text.c, public as
 * herald_text_printable), table-driven
 *
 * Each row: the input, the keep mode, the output room, and what comes out of
 * the bounded copy; the allocating and in-place forms must agree with it
 * wherever the room does not cut.
 */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <CUnit/Basic.h>

#include "text.h"
#include "test_main.h"

struct row {
    const char *in;
    enum herald_text_keep keep;
    size_t size;             /* room for text_printable, NUL included */
    const char *want;
};

static const struct row rows[] = {
    /* Plain text passes; NULL is "". */
    { "250 2.0.0 Ok", TEXT_LINE, 64, "250 2.0.0 Ok" },
    { NULL, TEXT_LINE, 8, "" },
    { "", TEXT_WORD, 8, "" },
    /* C0 controls and DEL: one '?' each; space and tab differ by mode. */
    { "a\r\nb", TEXT_LINE, 64, "a??b" },
    { "x\x1b[31my", TEXT_LINE, 64, "x?[31my" },
    { "tab\there", TEXT_LINE, 64, "tab?here" },
    { "del\x7f", TEXT_LINE, 64, "del?" },
    { "two words", TEXT_LINE, 64, "two words" },
    { "two words", TEXT_WORD, 64, "two?words" },
    { "mx1.example.", TEXT_WORD, 64, "mx1.example." },
    { "~!\x7f\x01", TEXT_WORD, 64, "~!??" },
    /* UTF-8: a line keeps well-formed characters, a word never does. */
    { "K\xc3\xb6ln \xe2\x82\xac \xf0\x9f\x93\xa7", TEXT_LINE, 64,
      "K\xc3\xb6ln \xe2\x82\xac \xf0\x9f\x93\xa7" },
    { "K\xc3\xb6ln", TEXT_WORD, 64, "K??ln" },
    /* Malformed: each octet a '?' (Latin-1, lone continuation, overlong,
     * surrogate, above U+10FFFF, a truncated sequence at the end). */
    { "j\xfcrgen", TEXT_LINE, 64, "j?rgen" },
    { "a\x80z", TEXT_LINE, 64, "a?z" },
    { "a\xc0\xafz", TEXT_LINE, 64, "a??z" },
    { "a\xed\xa0\x80z", TEXT_LINE, 64, "a???z" },
    { "a\xf4\x90\x80\x80z", TEXT_LINE, 64, "a????z" },
    { "end\xe2\x82", TEXT_LINE, 64, "end??" },
    /* C1 controls (U+0080..U+009F) steer terminals: one '?' for the
     * character; U+00A0 is not one. */
    { "a\xc2\x9b" "31mz", TEXT_LINE, 64, "a?31mz" },
    { "a\xc2\x85z\xc2\xa0", TEXT_LINE, 64, "a?z\xc2\xa0" },
    /* The bound: out always terminated, a character never cut. */
    { "abcdef", TEXT_LINE, 4, "abc" },
    { "abcdef", TEXT_LINE, 1, "" },
    { "ab\xc3\xb6", TEXT_LINE, 4, "ab" },
    { "ab\xc3\xb6", TEXT_LINE, 5, "ab\xc3\xb6" },
    { "a\xf0\x9f\x93\xa7z", TEXT_LINE, 5, "a" },
    { "a\xf0\x9f\x93\xa7z", TEXT_LINE, 6, "a\xf0\x9f\x93\xa7" },
    { "a\x01\x02\x03", TEXT_LINE, 3, "a?" },
    /* Octets: only C0 controls and DEL change; UTF-8 is not judged (a
     * malformed octet and a C1 control pass) and the room cuts anywhere,
     * so the output is always a prefix of the input with those changed. */
    { "250 a\r\nb\x7f", TEXT_OCTETS, 64, "250 a??b?" },
    { "K\xc3\xb6ln j\xfcrgen \xc2\x85", TEXT_OCTETS, 64, "K\xc3\xb6ln j\xfcrgen \xc2\x85" },
    { "two words\t", TEXT_OCTETS, 64, "two words?" },
    { "ab\xc3\xb6", TEXT_OCTETS, 4, "ab\xc3" },
    { "a\xf0\x9f\x93\xa7z", TEXT_OCTETS, 3, "a\xf0" },
};

#define NROWS (sizeof rows / sizeof rows[0])

/* test_bounded - text_printable, every row; the return value is the length */
static void
test_bounded(void)
{
    size_t i;

    for (i = 0; i < NROWS; i++) {
        char out[64];
        size_t n;

        memset(out, 'Z', sizeof out);
        n = text_printable(out, rows[i].size, rows[i].in, rows[i].keep);
        CU_ASSERT_STRING_EQUAL(out, rows[i].want);
        CU_ASSERT_EQUAL(n, strlen(rows[i].want));
        if (strcmp(out, rows[i].want) != 0)
            fprintf(stderr, "row %zu: got \"%s\"\n", i, out);
    }
    /* Size 0: nothing written at all. */
    {
        char c = 'Z';

        CU_ASSERT_EQUAL(text_printable(&c, 0, "abc", TEXT_LINE), 0);
        CU_ASSERT_EQUAL(c, 'Z');
        CU_ASSERT_EQUAL(text_printable(NULL, 8, "abc", TEXT_LINE), 0);
    }
}

/* test_dup - text_printable_dup with max = size - 1 gives the same text */
static void
test_dup(void)
{
    size_t i;

    for (i = 0; i < NROWS; i++) {
        char *d = text_printable_dup(rows[i].in, rows[i].size - 1, rows[i].keep);

        CU_ASSERT_PTR_NOT_NULL_FATAL(d);
        CU_ASSERT_STRING_EQUAL(d, rows[i].want);
        free(d);
    }
    /* A bound past the end copies it all; max 0 is "". */
    {
        char *d = text_printable_dup("a\nb", 1000, TEXT_LINE);
        char *e = text_printable_dup("ab", 0, TEXT_LINE);

        CU_ASSERT_PTR_NOT_NULL_FATAL(d);
        CU_ASSERT_PTR_NOT_NULL_FATAL(e);
        CU_ASSERT_STRING_EQUAL(d, "a?b");
        CU_ASSERT_STRING_EQUAL(e, "");
        free(d);
        free(e);
    }
}

/* test_inplace - the in-place form, on every row the room does not cut */
static void
test_inplace(void)
{
    size_t i;

    for (i = 0; i < NROWS; i++) {
        char buf[64];

        if (rows[i].in == NULL || strlen(rows[i].in) + 1 > rows[i].size)
            continue;
        strcpy(buf, rows[i].in);
        text_printable_inplace(buf, rows[i].keep);
        CU_ASSERT_STRING_EQUAL(buf, rows[i].want);
    }
    text_printable_inplace(NULL, TEXT_LINE);   /* no crash */
}

/* test_public - herald_text_printable, what modules call: a length-bounded
 * source of any octets (a NUL in it is a control, nothing after the bound is
 * read), the same three modes as the core's own copies */
static void
test_public(void)
{
    static const struct {
        const char *src;
        size_t srclen, dstlen;
        enum herald_text_keep keep;
        const char *want;
    } t[] = {
        { "mx.example", 10, 64, HERALD_TEXT_WORD, "mx.example" },
        { "a\0b", 3, 64, HERALD_TEXT_WORD, "a?b" },           /* a NUL from a certificate */
        { "a\0b", 3, 64, HERALD_TEXT_LINE, "a?b" },
        { "a\0b", 3, 64, HERALD_TEXT_OCTETS, "a?b" },
        { "bad name.test", 13, 64, HERALD_TEXT_WORD, "bad?name.test" },
        { "abcdefXXXX", 6, 64, HERALD_TEXT_WORD, "abcdef" },   /* the bound, not a NUL */
        { "abcdef", 6, 4, HERALD_TEXT_WORD, "abc" },
        { "K\xc3\xb6", 3, 3, HERALD_TEXT_LINE, "K" },          /* a character never cut */
        { "K\xc3\xb6", 3, 3, HERALD_TEXT_OCTETS, "K\xc3" },    /* octets: cut where it ends */
        { "K\xc3\xb6", 2, 64, HERALD_TEXT_LINE, "K?" },        /* the bound cut it: malformed */
        { "", 0, 64, HERALD_TEXT_LINE, "" },
    };
    size_t i;

    for (i = 0; i < sizeof t / sizeof t[0]; i++) {
        char out[64];
        size_t n;

        memset(out, 'Z', sizeof out);
        n = herald_text_printable(out, t[i].dstlen, t[i].src, t[i].srclen, t[i].keep);
        CU_ASSERT_STRING_EQUAL(out, t[i].want);
        CU_ASSERT_EQUAL(n, strlen(t[i].want));
        if (strcmp(out, t[i].want) != 0)
            fprintf(stderr, "public row %zu: got \"%s\"\n", i, out);
    }
    {
        char c = 'Z', out[4] = "ZZZ";

        CU_ASSERT_EQUAL(herald_text_printable(&c, 0, "abc", 3, HERALD_TEXT_LINE), 0);
        CU_ASSERT_EQUAL(c, 'Z');
        CU_ASSERT_EQUAL(herald_text_printable(NULL, 8, "abc", 3, HERALD_TEXT_LINE), 0);
        CU_ASSERT_EQUAL(herald_text_printable(out, sizeof out, NULL, 3, HERALD_TEXT_LINE), 0);
        CU_ASSERT_STRING_EQUAL(out, "");
    }
    /* The core's C-string form is the same copy. */
    for (i = 0; i < NROWS; i++) {
        char a[64], b[64];

        if (rows[i].in == NULL)
            continue;
        text_printable(a, rows[i].size, rows[i].in, rows[i].keep);
        herald_text_printable(b, rows[i].size, rows[i].in, strlen(rows[i].in), rows[i].keep);
        CU_ASSERT_STRING_EQUAL(a, b);
    }
}

/* test_ctl - the one control-character rule */
static void
test_ctl(void)
{
    static const struct {
        const char *s;
        bool ctl;
    } t[] = {
        { "plain text", false }, { "K\xc3\xb6ln", false }, { "", false },
        { "a\rb", true }, { "a\nb", true }, { "\t", true }, { "\x7f", true }, { "\x1f", true },
    };
    size_t i;

    for (i = 0; i < sizeof t / sizeof t[0]; i++)
        CU_ASSERT_EQUAL(text_has_ctl(t[i].s), t[i].ctl);
    CU_ASSERT_FALSE(text_has_ctl(NULL));
    CU_ASSERT_TRUE(text_is_ctl(0x00));
    CU_ASSERT_TRUE(text_is_ctl(0x1f));
    CU_ASSERT_FALSE(text_is_ctl(0x20));
    CU_ASSERT_FALSE(text_is_ctl(0x7e));
    CU_ASSERT_TRUE(text_is_ctl(0x7f));
    CU_ASSERT_FALSE(text_is_ctl(0x80));
    CU_ASSERT_EQUAL(herald_text_is_ctl(0x0a), text_is_ctl(0x0a));
    CU_ASSERT_EQUAL(herald_text_is_ctl(0xc3), text_is_ctl(0xc3));
}

int
main(void)
{
    static const struct test_case cases[] = {
        { "bounded copy, table", test_bounded },
        { "allocating copy, table", test_dup },
        { "in place, table", test_inplace },
        { "herald_text_printable, length-bounded", test_public },
        { "control characters", test_ctl },
        { NULL, NULL },
    };

    return test_run_suite("text", NULL, NULL, cases);
}
