/*
 * test_smtp_params.c - MAIL FROM / RCPT TO parameters against what EHLO offered
 */
#include <string.h>
#include <CUnit/Basic.h>

#include "smtp_ehlo.h"
#include "smtp_params.h"
#include "test_main.h"

static const char *const rcpts[] = { "b@example.com", "z\xc3\xb6" "e@example.com",
                                     "odd+x=y@example.com" };

static struct smtp_message
message(void)
{
    struct smtp_message m = { .sender = "a@example.com", .rcpts = rcpts, .nrcpt = 3,
                              .size = 1234 };
    return m;
}

/* test_xtext - RFC 3461 4: '+', '=', controls, space and non-ASCII as +XX */
static void
test_xtext(void)
{
    char out[32];

    CU_ASSERT_EQUAL(smtp_xtext("plain-id.1", out, sizeof out), HERALD_OK);
    CU_ASSERT_STRING_EQUAL(out, "plain-id.1");
    CU_ASSERT_EQUAL(smtp_xtext("a+b=c d\xc3\xb6", out, sizeof out), HERALD_OK);
    CU_ASSERT_STRING_EQUAL(out, "a+2Bb+3Dc+20d+C3+B6");
    CU_ASSERT_EQUAL(smtp_xtext("", out, sizeof out), HERALD_OK);
    CU_ASSERT_STRING_EQUAL(out, "");
    /* exactly full, then one short */
    CU_ASSERT_EQUAL(smtp_xtext("abc", out, 4), HERALD_OK);
    CU_ASSERT_EQUAL(smtp_xtext("abc", out, 3), HERALD_E_LIMIT);
    CU_ASSERT_EQUAL(smtp_xtext("a+", out, 5), HERALD_OK);
    CU_ASSERT_EQUAL(smtp_xtext("a+", out, 4), HERALD_E_LIMIT);
    CU_ASSERT_EQUAL(smtp_xtext("a", out, 0), HERALD_E_LIMIT);
}

/* test_mail_params - only what the server offered goes out */
static void
test_mail_params(void)
{
    struct smtp_message m = message();
    char p[SMTP_PARAMS_MAX];
    unsigned all = SMTP_EXT_SIZE | SMTP_EXT_8BITMIME | SMTP_EXT_SMTPUTF8 | SMTP_EXT_DSN;

    CU_ASSERT_EQUAL(smtp_mail_params(&m, 0, p, sizeof p), HERALD_OK);
    CU_ASSERT_STRING_EQUAL(p, "");
    CU_ASSERT_EQUAL(smtp_mail_params(&m, all, p, sizeof p), HERALD_OK);
    CU_ASSERT_STRING_EQUAL(p, " SIZE=1234");
    m.eight_bit = true;
    m.smtputf8 = true;
    m.dsn_ret = HERALD_DSN_RET_FULL;
    m.dsn_envid = "q+1";
    CU_ASSERT_EQUAL(smtp_mail_params(&m, all, p, sizeof p), HERALD_OK);
    CU_ASSERT_STRING_EQUAL(p, " SIZE=1234 BODY=8BITMIME SMTPUTF8 RET=FULL ENVID=q+2B1");
    CU_ASSERT_EQUAL(smtp_mail_params(&m, all & ~SMTP_EXT_DSN, p, sizeof p), HERALD_OK);
    CU_ASSERT_STRING_EQUAL(p, " SIZE=1234 BODY=8BITMIME SMTPUTF8");
    CU_ASSERT_EQUAL(smtp_mail_params(&m, SMTP_EXT_DSN, p, sizeof p), HERALD_OK);
    CU_ASSERT_STRING_EQUAL(p, " RET=FULL ENVID=q+2B1");
    m.dsn_ret = HERALD_DSN_RET_HDRS;
    m.dsn_envid = NULL;
    CU_ASSERT_EQUAL(smtp_mail_params(&m, SMTP_EXT_DSN, p, sizeof p), HERALD_OK);
    CU_ASSERT_STRING_EQUAL(p, " RET=HDRS");
    CU_ASSERT_EQUAL(smtp_mail_params(&m, all, p, 8), HERALD_E_LIMIT);
}

/* test_rcpt_params - NOTIFY as asked, ORCPT for ASCII addresses, nothing without DSN */
static void
test_rcpt_params(void)
{
    struct smtp_message m = message();
    char p[SMTP_PARAMS_MAX];

    CU_ASSERT_EQUAL(smtp_rcpt_params(&m, 0, SMTP_EXT_DSN, p, sizeof p), HERALD_OK);
    CU_ASSERT_STRING_EQUAL(p, "");   /* no DSN asked: no ORCPT either */
    m.dsn_notify = HERALD_DSN_NOTIFY_FAILURE | HERALD_DSN_NOTIFY_DELAY | HERALD_DSN_NOTIFY_SUCCESS;
    CU_ASSERT_EQUAL(smtp_rcpt_params(&m, 0, SMTP_EXT_DSN, p, sizeof p), HERALD_OK);
    CU_ASSERT_STRING_EQUAL(p, " NOTIFY=SUCCESS,FAILURE,DELAY ORCPT=rfc822;b@example.com");
    CU_ASSERT_EQUAL(smtp_rcpt_params(&m, 1, SMTP_EXT_DSN, p, sizeof p), HERALD_OK);
    CU_ASSERT_STRING_EQUAL(p, " NOTIFY=SUCCESS,FAILURE,DELAY");
    CU_ASSERT_EQUAL(smtp_rcpt_params(&m, 2, SMTP_EXT_DSN, p, sizeof p), HERALD_OK);
    CU_ASSERT_STRING_EQUAL(p, " NOTIFY=SUCCESS,FAILURE,DELAY ORCPT=rfc822;odd+2Bx+3Dy@example.com");
    m.dsn_notify = HERALD_DSN_NOTIFY_NEVER;
    CU_ASSERT_EQUAL(smtp_rcpt_params(&m, 0, SMTP_EXT_DSN, p, sizeof p), HERALD_OK);
    CU_ASSERT_STRING_EQUAL(p, " NOTIFY=NEVER ORCPT=rfc822;b@example.com");
    m.dsn_notify = 0;
    m.dsn_envid = "x";
    CU_ASSERT_EQUAL(smtp_rcpt_params(&m, 0, SMTP_EXT_DSN, p, sizeof p), HERALD_OK);
    CU_ASSERT_STRING_EQUAL(p, " ORCPT=rfc822;b@example.com");
    CU_ASSERT_EQUAL(smtp_rcpt_params(&m, 0, SMTP_EXT_SIZE, p, sizeof p), HERALD_OK);
    CU_ASSERT_STRING_EQUAL(p, "");
    CU_ASSERT_TRUE(smtp_dsn_requested(&m));
}

int
main(void)
{
    static const struct test_case cases[] = {
        { "xtext", test_xtext },
        { "MAIL parameters", test_mail_params },
        { "RCPT parameters", test_rcpt_params },
        { NULL, NULL },
    };

    return test_run_suite("smtp_params", NULL, NULL, cases);
}
