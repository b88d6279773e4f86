/*
 * test_smtp_ehlo.c - EHLO capability parsing
 */
#include <stdio.h>
#include <string.h>
#include <CUnit/Basic.h>

#include "smtp_ehlo.h"
#include "test_main.h"

static struct smtp_reply_parser parser;

/* parse - the reply in s, as capabilities */
static herald_status
parse(const char *s, struct smtp_ehlo *e)
{
    size_t used;
    bool done;

    smtp_reply_parser_init(&parser);
    if (smtp_reply_feed(&parser, s, strlen(s), &used, &done) != HERALD_OK || !done)
        return HERALD_E_PROTOCOL;
    return smtp_ehlo_parse(smtp_reply_get(&parser), e);
}

static void
test_smtp_sink(void)
{
    struct smtp_ehlo e;

    CU_ASSERT_EQUAL_FATAL(parse("250-mx.test\r\n250-PIPELINING\r\n250-8BITMIME\r\n"
                                "250-AUTH PLAIN LOGIN\r\n250-XCLIENT NAME\r\n"
                                "250-ENHANCEDSTATUSCODES\r\n250-DSN\r\n250\r\n", &e), HERALD_OK);
    CU_ASSERT_EQUAL(e.flags, SMTP_EXT_PIPELINING | SMTP_EXT_8BITMIME | SMTP_EXT_AUTH
                                 | SMTP_EXT_ENHANCEDSTATUSCODES | SMTP_EXT_DSN);
    CU_ASSERT_STRING_EQUAL(e.auth, "PLAIN LOGIN");
    CU_ASSERT_TRUE(smtp_ehlo_has_auth(&e, "login"));
    CU_ASSERT_FALSE(smtp_ehlo_has_auth(&e, "LOG"));
    CU_ASSERT_FALSE(smtp_ehlo_has_auth(&e, "CRAM-MD5"));
    CU_ASSERT_EQUAL(e.size_max, 0);
}

static void
test_case_and_params(void)
{
    struct smtp_ehlo e;

    CU_ASSERT_EQUAL_FATAL(parse("250-PIPELINING is the name, not a keyword\r\n"
                                "250-size 33554432\r\n250-smtputf8\r\n250-StartTLS\r\n"
                                "250-auth=login plain\r\n250-CHUNKING\r\n250 HELP\r\n", &e),
                          HERALD_OK);
    CU_ASSERT_EQUAL(e.flags, SMTP_EXT_SIZE | SMTP_EXT_SMTPUTF8 | SMTP_EXT_STARTTLS
                                 | SMTP_EXT_AUTH);
    CU_ASSERT_EQUAL(e.size_max, 33554432u);
    CU_ASSERT_STRING_EQUAL(e.auth, "LOGIN PLAIN");
}

static void
test_size_forms(void)
{
    struct smtp_ehlo e;

    CU_ASSERT_EQUAL(parse("250-x\r\n250 SIZE\r\n", &e), HERALD_OK);
    CU_ASSERT_TRUE(e.flags & SMTP_EXT_SIZE);
    CU_ASSERT_EQUAL(e.size_max, 0);
    CU_ASSERT_EQUAL(parse("250-x\r\n250 SIZE 0\r\n", &e), HERALD_OK);
    CU_ASSERT_EQUAL(e.size_max, 0);
    CU_ASSERT_EQUAL(parse("250-x\r\n250 SIZE 99999999999999999999999\r\n", &e), HERALD_OK);
    CU_ASSERT_EQUAL(e.size_max, 0);
    CU_ASSERT_EQUAL(parse("250-x\r\n250 SIZE 12ab\r\n", &e), HERALD_OK);
    CU_ASSERT_EQUAL(e.size_max, 0);
    CU_ASSERT_EQUAL(parse("250-x\r\n250 SIZE 1000 \r\n", &e), HERALD_OK);
    CU_ASSERT_EQUAL(e.size_max, 1000);
    CU_ASSERT_EQUAL(parse("250-x\r\n250 SIZES 1000\r\n", &e), HERALD_OK);
    CU_ASSERT_EQUAL(e.flags, 0);
}

static void
test_refusals(void)
{
    struct smtp_ehlo e;

    e.flags = 77;
    CU_ASSERT_EQUAL(parse("500 5.5.1 unknown command\r\n", &e), HERALD_E_INVAL);
    CU_ASSERT_EQUAL(e.flags, 77);
    CU_ASSERT_EQUAL(smtp_ehlo_parse(NULL, &e), HERALD_E_INVAL);
    CU_ASSERT_EQUAL(parse("250 mx.test only\r\n", &e), HERALD_OK);
    CU_ASSERT_EQUAL(e.flags, 0);
    CU_ASSERT_FALSE(smtp_ehlo_has_auth(&e, "PLAIN"));
    CU_ASSERT_FALSE(smtp_ehlo_has_auth(NULL, "PLAIN"));
}

static void
test_long_auth(void)
{
    char s[1500];
    struct smtp_ehlo e;
    size_t n;

    n = (size_t)snprintf(s, sizeof s, "250-x\r\n250 AUTH ");
    while (n + 20 < sizeof s - 3)
        n += (size_t)snprintf(s + n, sizeof s - n, "MECH%zu ", n);
    memcpy(s + n, "\r\n", 3);
    CU_ASSERT_EQUAL_FATAL(parse(s, &e), HERALD_OK);
    CU_ASSERT_TRUE(strlen(e.auth) < sizeof e.auth);
    CU_ASSERT_EQUAL(strncmp(e.auth, "MECH", 4), 0);
    CU_ASSERT_NOT_EQUAL(e.auth[strlen(e.auth) - 1], ' ');
}

int
main(void)
{
    static const struct test_case cases[] = {
        { "smtp-sink's EHLO", test_smtp_sink },
        { "case and parameters", test_case_and_params },
        { "SIZE forms", test_size_forms },
        { "refusals and no extensions", test_refusals },
        { "AUTH list bound", test_long_auth },
        { NULL, NULL },
    };

    return test_run_suite("smtp_ehlo", NULL, NULL, cases);
}
