/*
 * test_smtp_reply.c - the bounded SMTP reply parser, fed friendly and hostile input
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <CUnit/Basic.h>

#include "smtp_reply.h"
#include "test_main.h"

static struct smtp_reply_parser parser;

/* feed_all - feed s whole; returns the status, *complete and *used */
static herald_status
feed_all(const char *s, size_t len, bool *complete, size_t *used)
{
    smtp_reply_parser_init(&parser);
    return smtp_reply_feed(&parser, s, len, used, complete);
}

/* test_single - "250 2.0.0 Ok" with its enhanced code */
static void
test_single(void)
{
    const char *s = "250 2.0.0 Ok: queued\r\n";
    bool done;
    size_t used;
    const struct smtp_reply *r;
    char buf[64];

    CU_ASSERT_EQUAL(feed_all(s, strlen(s), &done, &used), HERALD_OK);
    CU_ASSERT_TRUE(done);
    CU_ASSERT_EQUAL(used, strlen(s));
    r = smtp_reply_get(&parser);
    CU_ASSERT_PTR_NOT_NULL_FATAL(r);
    CU_ASSERT_EQUAL(r->code, 250);
    CU_ASSERT_STRING_EQUAL(r->dsn, "2.0.0");
    CU_ASSERT_EQUAL(r->nlines, 1);
    CU_ASSERT_STRING_EQUAL(smtp_reply_line(r, 0), "2.0.0 Ok: queued");
    CU_ASSERT_STRING_EQUAL(smtp_reply_format(r, buf, sizeof buf), "250 2.0.0 Ok: queued");
    CU_ASSERT_EQUAL(smtp_reply_class(r), 2);
}

/* test_multiline - continuation lines, a bare "250" last line, LF-only endings */
static void
test_multiline(void)
{
    const char *s = "250-mx.test\r\n250-PIPELINING\n250-SIZE 1000\r\n250\r\n";
    bool done;
    size_t used;
    const struct smtp_reply *r;
    char buf[64];

    CU_ASSERT_EQUAL(feed_all(s, strlen(s), &done, &used), HERALD_OK);
    CU_ASSERT_TRUE(done);
    r = smtp_reply_get(&parser);
    CU_ASSERT_PTR_NOT_NULL_FATAL(r);
    CU_ASSERT_EQUAL(r->nlines, 4);
    CU_ASSERT_STRING_EQUAL(smtp_reply_line(r, 1), "PIPELINING");
    CU_ASSERT_STRING_EQUAL(smtp_reply_line(r, 3), "");
    CU_ASSERT_PTR_NULL(smtp_reply_line(r, 4));
    CU_ASSERT_STRING_EQUAL(r->dsn, "");
    CU_ASSERT_STRING_EQUAL(smtp_reply_format(r, buf, sizeof buf),
                           "250 mx.test PIPELINING SIZE 1000");
    /* Truncation keeps a terminated string. */
    CU_ASSERT_EQUAL(strlen(smtp_reply_format(r, buf, 8)), 7);
}

/* test_pipelined - two replies in one read are handed out one at a time */
static void
test_pipelined(void)
{
    const char *s = "250 2.1.0 Ok\r\n550 5.1.1 No such user\r\n354 go\r\n";
    size_t len = strlen(s), off = 0, used;
    bool done;
    int codes[3], n = 0;

    smtp_reply_parser_init(&parser);
    while (off < len && n < 3) {
        CU_ASSERT_EQUAL_FATAL(smtp_reply_feed(&parser, s + off, len - off, &used, &done),
                              HERALD_OK);
        off += used;
        CU_ASSERT_TRUE_FATAL(done);
        codes[n++] = smtp_reply_get(&parser)->code;
    }
    CU_ASSERT_EQUAL(n, 3);
    CU_ASSERT_EQUAL(codes[0], 250);
    CU_ASSERT_EQUAL(codes[1], 550);
    CU_ASSERT_EQUAL(codes[2], 354);
    CU_ASSERT_EQUAL(off, len);
}

/* test_split_every_offset - any split gives the same reply as one read */
static void
test_split_every_offset(void)
{
    const char *s = "250-mx.test says hi\r\n250-8BITMIME\r\n250 2.0.0 DSN\r\n";
    size_t len = strlen(s), cut, used1, used2;
    bool done;
    char want[256], got[256];

    CU_ASSERT_EQUAL_FATAL(feed_all(s, len, &done, &used1), HERALD_OK);
    smtp_reply_format(smtp_reply_get(&parser), want, sizeof want);
    for (cut = 0; cut <= len; cut++) {
        smtp_reply_parser_init(&parser);
        CU_ASSERT_EQUAL_FATAL(smtp_reply_feed(&parser, s, cut, &used1, &done), HERALD_OK);
        CU_ASSERT_EQUAL(done, cut == len);
        if (!done) {
            CU_ASSERT_EQUAL(used1, cut);
            CU_ASSERT_EQUAL_FATAL(smtp_reply_feed(&parser, s + cut, len - cut, &used2, &done),
                                  HERALD_OK);
            CU_ASSERT_EQUAL(used2, len - cut);
        }
        CU_ASSERT_TRUE_FATAL(done);
        CU_ASSERT_STRING_EQUAL(smtp_reply_format(smtp_reply_get(&parser), got, sizeof got),
                               want);
        CU_ASSERT_STRING_EQUAL(smtp_reply_get(&parser)->dsn, "2.0.0");
    }
    /* Byte by byte. */
    smtp_reply_parser_init(&parser);
    for (cut = 0; cut < len; cut++) {
        CU_ASSERT_EQUAL_FATAL(smtp_reply_feed(&parser, s + cut, 1, &used1, &done), HERALD_OK);
        CU_ASSERT_EQUAL(done, cut == len - 1);
    }
}

/* expect_error - s makes the parser fail, and it stays failed */
static void
expect_error(const char *s, size_t len, const char *why)
{
    bool done;
    size_t used;

    CU_ASSERT_EQUAL(feed_all(s, len, &done, &used), HERALD_E_PROTOCOL);
    CU_ASSERT_FALSE(done);
    CU_ASSERT_PTR_NULL(smtp_reply_get(&parser));
    CU_ASSERT_PTR_NOT_NULL(strstr(smtp_reply_error(&parser), why));
    CU_ASSERT_EQUAL(smtp_reply_feed(&parser, "250 ok\r\n", 8, &used, &done), HERALD_E_PROTOCOL);
}

/* test_hostile_grammar - bad codes, mismatched codes, separators, NUL, bare CR */
static void
test_hostile_grammar(void)
{
    expect_error("abc hello\r\n", 11, "3-digit");
    expect_error("25\r\n", 4, "3-digit");
    expect_error("\r\n", 2, "3-digit");
    expect_error("650 nope\r\n", 10, "out of range");
    expect_error("190 nope\r\n", 10, "out of range");
    expect_error("260 nope\r\n", 10, "out of range");
    expect_error("250x nope\r\n", 11, "space or hyphen");
    expect_error("250-a\r\n251 b\r\n", 14, "disagree");
    expect_error("250-a\r\n550 b\r\n", 14, "disagree");
    expect_error("250 a\0b\r\n", 9, "NUL");
    expect_error("250 a\rb\r\n", 9, "bare CR");
    expect_error("\0\0\0\0", 4, "NUL");
}

/* test_binary_garbage - random octets never crash; they fail or wait for more */
static void
test_binary_garbage(void)
{
    char buf[4096];
    size_t i, round, used;
    bool done;
    herald_status st;

    srand(12345);
    for (round = 0; round < 200; round++) {
        for (i = 0; i < sizeof buf; i++)
            buf[i] = (char)(rand() & 0xff);
        smtp_reply_parser_init(&parser);
        st = smtp_reply_feed(&parser, buf, sizeof buf, &used, &done);
        CU_ASSERT(st == HERALD_E_PROTOCOL || (st == HERALD_OK && used <= sizeof buf));
    }
}

/* test_long_line - a 100 KB line fails at the bound, not after it */
static void
test_long_line(void)
{
    size_t len = 100 * 1024, used;
    char *s = malloc(len + 2);
    bool done;

    CU_ASSERT_PTR_NOT_NULL_FATAL(s);
    memset(s, 'x', len);
    memcpy(s, "250 ", 4);
    memcpy(s + len, "\r\n", 2);
    CU_ASSERT_EQUAL(feed_all(s, len + 2, &done, &used), HERALD_E_PROTOCOL);
    CU_ASSERT_TRUE(used <= SMTP_REPLY_LINE_MAX + 2);
    CU_ASSERT_PTR_NOT_NULL(strstr(smtp_reply_error(&parser), "too long"));
    free(s);

    /* Exactly at the bound is fine, with CRLF or LF. */
    s = malloc(SMTP_REPLY_LINE_MAX + 2);
    CU_ASSERT_PTR_NOT_NULL_FATAL(s);
    memset(s, 'y', SMTP_REPLY_LINE_MAX);
    memcpy(s, "250 ", 4);
    memcpy(s + SMTP_REPLY_LINE_MAX, "\r\n", 2);
    CU_ASSERT_EQUAL(feed_all(s, SMTP_REPLY_LINE_MAX + 2, &done, &used), HERALD_OK);
    CU_ASSERT_TRUE(done);
    CU_ASSERT_EQUAL(feed_all(s, SMTP_REPLY_LINE_MAX, &done, &used), HERALD_OK);
    CU_ASSERT_EQUAL(smtp_reply_feed(&parser, "\n", 1, &used, &done), HERALD_OK);
    CU_ASSERT_TRUE(done);
    /* One more octet is too long. */
    s[SMTP_REPLY_LINE_MAX] = 'y';
    CU_ASSERT_EQUAL(feed_all(s, SMTP_REPLY_LINE_MAX + 1, &done, &used), HERALD_E_PROTOCOL);
    free(s);
}

/* test_many_lines - a 10,000-line reply fails at the line bound */
static void
test_many_lines(void)
{
    const char *l = "250-PIPELINING\r\n";
    size_t ll = strlen(l), n = 10000, i, used;
    char *s = malloc(ll * n + 8);
    bool done;

    CU_ASSERT_PTR_NOT_NULL_FATAL(s);
    for (i = 0; i < n; i++)
        memcpy(s + i * ll, l, ll);
    memcpy(s + n * ll, "250 x\r\n", 7);
    CU_ASSERT_EQUAL(feed_all(s, n * ll + 7, &done, &used), HERALD_E_PROTOCOL);
    CU_ASSERT_PTR_NOT_NULL(strstr(smtp_reply_error(&parser), "too many lines"));
    CU_ASSERT_TRUE(used <= (SMTP_REPLY_LINES_MAX + 1) * ll);
    free(s);

    /* 100 long lines: the text bound trips before the line bound. */
    s = malloc(100 * 1010 + 8);
    CU_ASSERT_PTR_NOT_NULL_FATAL(s);
    for (i = 0; i < 100; i++) {
        memset(s + i * 1010, 'z', 1008);
        memcpy(s + i * 1010, "250-", 4);
        memcpy(s + i * 1010 + 1008, "\r\n", 2);
    }
    CU_ASSERT_EQUAL(feed_all(s, 100 * 1010, &done, &used), HERALD_E_PROTOCOL);
    CU_ASSERT_PTR_NOT_NULL(strstr(smtp_reply_error(&parser), "text too long"));
    free(s);
}

/* test_dsn - enhanced codes: class must match, shape must be right */
static void
test_dsn(void)
{
    static const struct { const char *s; const char *dsn; } cases[] = {
        { "550 5.1.1 No such user\r\n", "5.1.1" },
        { "451 4.3.0 Try later\r\n", "4.3.0" },
        { "550 4.1.1 wrong class\r\n", "" },
        { "250 2.0.0\r\n", "2.0.0" },
        { "250 2.0.0Ok\r\n", "" },
        { "250 2.1234.0 x\r\n", "" },
        { "250 2..0 x\r\n", "" },
        { "354 3.0.0 go\r\n", "" },
        { "250 Ok\r\n", "" },
        { "250-first\r\n250 2.6.0 later\r\n", "2.6.0" },
    };
    size_t i, used;
    bool done;

    for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        CU_ASSERT_EQUAL_FATAL(feed_all(cases[i].s, strlen(cases[i].s), &done, &used),
                              HERALD_OK);
        CU_ASSERT_TRUE_FATAL(done);
        CU_ASSERT_STRING_EQUAL(smtp_reply_get(&parser)->dsn, cases[i].dsn);
    }
}

/* test_bad_args - NULL arguments are refused, not dereferenced */
static void
test_bad_args(void)
{
    size_t used = 7;
    bool done = true;

    smtp_reply_parser_init(&parser);
    CU_ASSERT_EQUAL(smtp_reply_feed(NULL, "x", 1, &used, &done), HERALD_E_INVAL);
    CU_ASSERT_EQUAL(used, 0);
    CU_ASSERT_FALSE(done);
    CU_ASSERT_EQUAL(smtp_reply_feed(&parser, NULL, 1, &used, &done), HERALD_E_INVAL);
    CU_ASSERT_EQUAL(smtp_reply_feed(&parser, NULL, 0, &used, &done), HERALD_OK);
    CU_ASSERT_PTR_NULL(smtp_reply_get(NULL));
    CU_ASSERT_STRING_EQUAL(smtp_reply_error(&parser), "");
}

int
main(void)
{
    static const struct test_case cases[] = {
        { "single line", test_single },
        { "multi-line, bare 250, LF", test_multiline },
        { "pipelined replies", test_pipelined },
        { "split at every offset", test_split_every_offset },
        { "hostile grammar", test_hostile_grammar },
        { "binary garbage", test_binary_garbage },
        { "100 KB line", test_long_line },
        { "10,000 lines", test_many_lines },
        { "enhanced status codes", test_dsn },
        { "bad arguments", test_bad_args },
        { NULL, NULL },
    };

    return test_run_suite("smtp_reply", NULL, NULL, cases);
}
