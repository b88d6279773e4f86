/*
 * test_cli_util.c - CUnit tests of the CLI helpers: JSON strings that always
 * parse, printable escaping, and the status -> sysexits table
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <CUnit/Basic.h>

#include "cli.h"
#include "../tests/unit/test_main.h"

/* render - what fn writes for s, into buf */
static void
render(void (*fn)(FILE *, const char *), const char *s, char *buf, size_t cap)
{
    FILE *f;

    /* fmemopen terminates only what was written: start from an empty string. */
    memset(buf, 0, cap);
    f = fmemopen(buf, cap, "w");
    CU_ASSERT_PTR_NOT_NULL_FATAL(f);
    fn(f, s);
    fclose(f);
}

/* test_json_string - quoting, control characters, UTF-8 kept, stray bytes escaped */
static void
test_json_string(void)
{
    static const struct { const char *in, *want; } cases[] = {
        { "plain", "\"plain\"" },
        { "", "\"\"" },
        { "q\"b\\", "\"q\\\"b\\\\\"" },
        { "a\r\nb\tc", "\"a\\r\\nb\\tc\"" },
        { "\x01\x1f\x7f", "\"\\u0001\\u001f\\u007f\"" },
        { "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x93\xa8", "\"caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x93\xa8\"" },
        { "\xff", "\"\\u00ff\"" },                     /* never valid in UTF-8 */
        { "\xc3", "\"\\u00c3\"" },                     /* truncated sequence at the end */
        { "\xc0\xaf", "\"\\u00c0\\u00af\"" },          /* overlong '/' */
        { "\xed\xa0\x80", "\"\\u00ed\\u00a0\\u0080\"" }, /* UTF-16 surrogate */
        { "\xf4\x90\x80\x80", "\"\\u00f4\\u0090\\u0080\\u0080\"" }, /* past U+10FFFF */
    };
    char buf[256];
    size_t i;

    for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        render(cli_json_string, cases[i].in, buf, sizeof buf);
        CU_ASSERT_STRING_EQUAL(buf, cases[i].want);
    }
    render(cli_json_string, NULL, buf, sizeof buf);
    CU_ASSERT_STRING_EQUAL(buf, "null");
}

/* test_put_printable - no control character survives */
static void
test_put_printable(void)
{
    char buf[128];

    render(cli_put_printable, "a\r\nb@x\t\x1b[0m", buf, sizeof buf);
    CU_ASSERT_STRING_EQUAL(buf, "a\\r\\nb@x\\t\\x1b[0m");
    render(cli_put_printable, NULL, buf, sizeof buf);
    CU_ASSERT_STRING_EQUAL(buf, "");
}

/* test_exit_codes - the sysexits the CLI documents */
static void
test_exit_codes(void)
{
    int st;

    CU_ASSERT_EQUAL(cli_exit_code(HERALD_OK), EX_OK);
    CU_ASSERT_EQUAL(cli_exit_code(HERALD_E_CONFIG), EX_CONFIG);
    CU_ASSERT_EQUAL(cli_exit_code(HERALD_E_ADDRESS), EX_DATAERR);
    CU_ASSERT_EQUAL(cli_exit_code(HERALD_E_MODULE), EX_UNAVAILABLE);
    CU_ASSERT_EQUAL(cli_exit_code(HERALD_E_NOMEM), EX_SOFTWARE);
    /* Every status, and one past the end, maps to a failure code. */
    for (st = 1; st <= HERALD_E__LAST; st++)
        CU_ASSERT_NOT_EQUAL(cli_exit_code((herald_status)st), EX_OK);
}

/* test_parse_number - digits within the range, nothing else */
static void
test_parse_number(void)
{
    static const struct {
        const char *text;
        bool ok;
        unsigned long want;
    } t[] = {
        { "1", true, 1 }, { "3600", true, 3600 }, { "007", true, 7 },
        { "0", false, 0 }, { "3601", false, 0 }, { "", false, 0 }, { "-1", false, 0 },
        { "+2", false, 0 }, { " 2", false, 0 }, { "2 ", false, 0 }, { "2s", false, 0 },
        { "0x10", false, 0 }, { "99999999999999999999999", false, 0 },
    };
    unsigned long n;
    size_t i;

    for (i = 0; i < sizeof t / sizeof t[0]; i++) {
        n = 12345;
        CU_ASSERT_EQUAL(cli_parse_number(t[i].text, 1, 3600, &n), t[i].ok);
        CU_ASSERT_EQUAL(n, t[i].ok ? t[i].want : 12345);
    }
    CU_ASSERT_FALSE(cli_parse_number(NULL, 1, 3600, &n));
}

/* main - run the suite; exit 0 pass, 1 fail, 99 set-up error */
int
main(void)
{
    static const struct test_case cases[] = {
        { "json string", test_json_string },
        { "printable", test_put_printable },
        { "exit codes", test_exit_codes },
        { "parse number", test_parse_number },
        { NULL, NULL },
    };

    return test_run_suite("cli_util", NULL, NULL, cases);
}
