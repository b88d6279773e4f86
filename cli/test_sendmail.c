/*
 * test_sendmail.c - CUnit tables for herald-sendmail: the command lines
 * programs really pass (cron, PHP mail(), git send-email, mailx) and the
 * mistakes that must be usage errors; the recipients read from To, Cc and
 * Bcc (groups, comments, quoted local parts, folded lines) and the fields
 * that must be refused rather than guessed at.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <CUnit/Basic.h>

#include "cli.h"
#include "sendmail.h"

#define MAXARGS 10

/* The fields of a row that only checks a usage error. */
#define OPT_ERR(phrase) 64, phrase, SM_MODE_SEND, false, false, NULL, NULL, NULL, 0, NULL, 0, \
    HERALD_DSN_RET_DEFAULT, NULL
/* A row of hdr_cases that does not check which fields are present. */
#define NOFLAGS false, false, false, false

struct opt_case {
    const char *args[MAXARGS];   /* after argv[0]; NULL-terminated */
    int rc;
    const char *err;             /* a phrase of the error, rc != 0 */
    enum sm_mode mode;
    bool extract, ignore_dots;
    const char *from, *fullname, *config;
    size_t rcpt_count;
    const char *rcpt0;
    unsigned notify;
    enum herald_dsn_ret ret;
    const char *envid;
};

static const struct opt_case opt_cases[] = {
    /* cron (Debian): */
    { { "-FCronDaemon", "-i", "-B8BITMIME", "-oem", "root", NULL }, 0, NULL, SM_MODE_SEND,
      false, true, NULL, "CronDaemon", NULL, 1, "root", 0, 0, NULL },
    /* PHP mail(): sendmail_path = "sendmail -t -i" */
    { { "-t", "-i", NULL }, 0, NULL, SM_MODE_SEND, true, true, NULL, NULL, NULL, 0, NULL, 0,
      0, NULL },
    /* git send-email */
    { { "-i", "-f", "me@example.com", "a@example.org", "b@example.org", NULL }, 0, NULL,
      SM_MODE_SEND, false, true, "me@example.com", NULL, NULL, 2, "a@example.org", 0, 0,
      NULL },
    /* grouped flags, attached values, -oi, -r */
    { { "-ti", "-fme@x.test", "-F", "Ann B", "-oi", "-odb", "-oep", NULL }, 0, NULL,
      SM_MODE_SEND, true, true, "me@x.test", "Ann B", NULL, 0, NULL, 0, 0, NULL },
    { { "-r", "old@x.test", "-odi", "-B7BIT", "a@x.test", NULL }, 0, NULL, SM_MODE_SEND,
      false, false, "old@x.test", NULL, NULL, 1, "a@x.test", 0, 0, NULL },
    { { "-C/etc/h.conf", "-bm", "a@x.test", NULL }, 0, NULL, SM_MODE_SEND, false, false,
      NULL, NULL, "/etc/h.conf", 1, "a@x.test", 0, 0, NULL },
    { { "-C", "/etc/h.conf", "-bp", NULL }, 0, NULL, SM_MODE_LIST, false, false, NULL, NULL,
      "/etc/h.conf", 0, NULL, 0, 0, NULL },
    { { "-q", NULL }, 0, NULL, SM_MODE_RUN, false, false, NULL, NULL, NULL, 0, NULL, 0, 0,
      NULL },
    /* DSN options */
    { { "-N", "failure,delay", "-Rhdrs", "-V", "env-1", "a@x.test", NULL }, 0, NULL,
      SM_MODE_SEND, false, false, NULL, NULL, NULL, 1, "a@x.test",
      HERALD_DSN_NOTIFY_FAILURE | HERALD_DSN_NOTIFY_DELAY, HERALD_DSN_RET_HDRS, "env-1" },
    /* "--" ends the options; after the first address nothing is an option */
    { { "-i", "--", "-oQ/tmp", NULL }, 0, NULL, SM_MODE_SEND, false, true, NULL, NULL, NULL,
      1, "-oQ/tmp", 0, 0, NULL },
    { { "a@x.test", "-t", NULL }, 0, NULL, SM_MODE_SEND, false, false, NULL, NULL, NULL, 2,
      "a@x.test", 0, 0, NULL },
    { { "--help", NULL }, 0, NULL, SM_MODE_HELP, false, false, NULL, NULL, NULL, 0, NULL, 0,
      0, NULL },
    /* usage errors */
    { { "-x", NULL }, OPT_ERR("unknown option '-x'") },
    { { "-tx", NULL }, OPT_ERR("unknown option '-x'") },
    { { "--verbose", NULL }, OPT_ERR("unknown option '--verbose'") },
    { { "-f", NULL }, OPT_ERR("option -f needs a value") },
    { { "-bs", NULL }, OPT_ERR("-bs is not supported") },
    { { "-oQ/tmp", NULL }, OPT_ERR("-oQ/tmp is not supported") },
    { { "-q30m", NULL }, OPT_ERR("a queue interval is not supported") },
    { { "-B", "BINARY", NULL }, OPT_ERR("-B takes 7BIT or 8BITMIME") },
    { { "-N", "sometimes", "a@x.test", NULL }, OPT_ERR("-N takes never") },
    { { "-R", "all", NULL }, OPT_ERR("-R takes full or hdrs") },
    { { "-V", "has space", NULL }, OPT_ERR("envelope id") },
    { { "-C", "", NULL }, OPT_ERR("-C needs a FILE") },
    { { "-bp", "a@x.test", NULL }, OPT_ERR("-bp takes no address") },
    { { "-bp", "-q", NULL }, OPT_ERR("do not go together") },
    { { "-\x01", NULL }, OPT_ERR("unknown option '-\\x01'") },
};

/* test_opts - every row of the table */
static void
test_opts(void)
{
    size_t k;

    for (k = 0; k < sizeof opt_cases / sizeof opt_cases[0]; k++) {
        const struct opt_case *c = &opt_cases[k];
        char *argv[MAXARGS + 1];
        char err[256];
        struct sm_opts o;
        int argc = 1, rc;

        argv[0] = (char *)"herald-sendmail";
        while (c->args[argc - 1] != NULL) {
            argv[argc] = (char *)c->args[argc - 1];
            argc++;
        }
        argv[argc] = NULL;
        rc = sm_parse_opts(argc, argv, &o, err, sizeof err);
        CU_ASSERT_EQUAL(rc, c->rc);
        if (rc != c->rc)
            fprintf(stderr, "case %zu (%s): rc %d, err %s\n", k, c->args[0], rc, err);
        if (c->rc != 0) {
            CU_ASSERT_PTR_NOT_NULL(strstr(err, c->err));
            if (strstr(err, c->err) == NULL)
                fprintf(stderr, "case %zu: err \"%s\", want \"%s\"\n", k, err, c->err);
            continue;
        }
        CU_ASSERT_EQUAL(o.mode, c->mode);
        CU_ASSERT_EQUAL(o.extract, c->extract);
        CU_ASSERT_EQUAL(o.ignore_dots, c->ignore_dots);
        CU_ASSERT((o.from == NULL && c->from == NULL) ||
                  (o.from != NULL && c->from != NULL && strcmp(o.from, c->from) == 0));
        CU_ASSERT((o.fullname == NULL && c->fullname == NULL) ||
                  (o.fullname && c->fullname && strcmp(o.fullname, c->fullname) == 0));
        CU_ASSERT((o.config == NULL && c->config == NULL) ||
                  (o.config && c->config && strcmp(o.config, c->config) == 0));
        if (c->mode != SM_MODE_HELP) {
            CU_ASSERT_EQUAL(o.rcpt_count, c->rcpt_count);
            if (c->rcpt0 != NULL && o.rcpt_count > 0)
                CU_ASSERT_STRING_EQUAL(o.rcpt[0], c->rcpt0);
        }
        CU_ASSERT_EQUAL(o.notify, c->notify);
        CU_ASSERT_EQUAL(o.ret, c->ret);
        CU_ASSERT((o.envid == NULL && c->envid == NULL) ||
                  (o.envid && c->envid && strcmp(o.envid, c->envid) == 0));
    }
}

struct hdr_case {
    const char *header;          /* the header section, without the empty line */
    int rc;
    const char *want;            /* the recipients, comma-joined; or a phrase of the error */
    bool date, message_id, from, crlf;
};

static const struct hdr_case hdr_cases[] = {
    { "To: a@x.test\n", 0, "a@x.test", false, false, false, false },
    { "From: me@x.test\r\nTo: a@x.test\r\nDate: now\r\nMessage-ID: <1@x>\r\n", 0, "a@x.test",
      true, true, true, true },
    /* PHP: To, Cc and Bcc; names, angle addresses, comments */
    { "To: \"Doe, John\" <john@x.test>, ann@x.test (Ann)\nCc: Bob <bob@y.test>\n"
      "Bcc: hidden@z.test\nSubject: hi\n", 0,
      "john@x.test,ann@x.test,bob@y.test,hidden@z.test", NOFLAGS },
    /* folded over three lines, and the field names in other cases */
    { "to: a@x.test,\n  b@x.test,\r\n\tc@x.test\nCC : d@x.test\n", 0,
      "a@x.test,b@x.test,c@x.test,d@x.test", NOFLAGS },
    /* groups: one with members, one empty */
    { "To: Team: a@x.test, \"B\" <b@x.test>;, undisclosed-recipients:;\n", 0,
      "a@x.test,b@x.test", NOFLAGS },
    { "To: undisclosed-recipients:;\n", 0, "", NOFLAGS },
    /* quoted local parts: kept quoted when needed, unquoted when not */
    { "To: \"john.doe\"@x.test, \"a\\\"b\"@x.test\n", 0,
      "john.doe@x.test,\"a\\\"b\"@x.test", NOFLAGS },
    /* comments with brackets and commas inside, nested */
    { "To: (a, <b@evil.test>) c@x.test (note (nested, <d@evil.test>))\n", 0, "c@x.test",
      NOFLAGS },
    /* an obsolete source route is dropped; the same address twice is one recipient */
    { "To: <@relay.test,@r2.test:u@x.test>, U@X.TEST, u@X.test\n", 0, "u@x.test,U@X.TEST",
      NOFLAGS },
    /* a bare local part is a user of this host */
    { "To: root\n", 0, "root@host.test", NOFLAGS },
    /* other fields are never read for recipients */
    { "Reply-To: r@x.test\nX-To: s@x.test\nSubject: To: t@x.test\nTo: a@x.test\n", 0,
      "a@x.test", NOFLAGS },
    /* refusals: every address goes through herald_address_check */
    { "To: \"john doe\"@x.test\n", 65, "space in address", NOFLAGS },
    { "To: a@bad_domain!\n", 65, "bad recipient address", NOFLAGS },
    { "To: John Doe\n", 65, "a name without an address", NOFLAGS },
    { "To: <a@x.test\n", 65, "'<' without '>'", NOFLAGS },
    { "To: a@x.test>\n", 65, "'>' without '<'", NOFLAGS },
    { "To: <>\n", 65, "<> is not a recipient", NOFLAGS },
    { "To: <a@x.test> junk\n", 65, "text after <...>", NOFLAGS },
    { "To: a@x.test; b@x.test\n", 65, "';' outside a group", NOFLAGS },
    { "Bcc: \"open\n", 65, "quoted string not closed", NOFLAGS },
    { "Cc: a\x01@x.test\n", 65, "Cc field: bad recipient address", NOFLAGS },
    { "To: a@x.test\n, evil@x.test\n", 0, "a@x.test", NOFLAGS },   /* not a continuation line */
};

/* join - the set as "a,b,c" */
static void
join(const struct sm_rcpts *r, char *buf, size_t size)
{
    size_t i, n = 0;

    buf[0] = '\0';
    for (i = 0; i < r->count; i++)
        n += (size_t)snprintf(buf + n, size - n, "%s%s", i ? "," : "", r->addr[i]);
}

/* test_headers - every row: the recipients, the fields seen, or the refusal */
static void
test_headers(void)
{
    static struct sm_rcpts r;
    size_t k;

    for (k = 0; k < sizeof hdr_cases / sizeof hdr_cases[0]; k++) {
        const struct hdr_case *c = &hdr_cases[k];
        struct sm_headers h;
        char err[512], got[1024];
        int rc;

        err[0] = '\0';
        rc = sm_headers_scan(c->header, strlen(c->header), true, "host.test", &h, &r, err,
                             sizeof err);
        join(&r, got, sizeof got);
        CU_ASSERT_EQUAL(rc, c->rc);
        if (c->rc == 0) {
            CU_ASSERT_STRING_EQUAL(got, c->want);
            CU_ASSERT_EQUAL(h.has_date, c->date);
            CU_ASSERT_EQUAL(h.has_message_id, c->message_id);
            CU_ASSERT_EQUAL(h.has_from, c->from);
            CU_ASSERT_EQUAL(h.crlf, c->crlf);
        } else {
            CU_ASSERT_PTR_NOT_NULL(strstr(err, c->want));
        }
        if (rc != c->rc || (c->rc == 0 && strcmp(got, c->want) != 0) ||
            (c->rc != 0 && strstr(err, c->want) == NULL))
            fprintf(stderr, "case %zu: rc %d got \"%s\" err \"%s\"\n", k, rc, got, err);
        sm_rcpts_free(&r);
    }
}

/* test_limits - more than SM_RCPT_MAX recipients; no domain to add; the
 * recipient fields not read without -t */
static void
test_limits(void)
{
    static struct sm_rcpts r;
    struct sm_headers h;
    char err[256], addr[64];
    size_t i;
    int rc = 0;

    for (i = 0; i < SM_RCPT_MAX && rc == 0; i++) {
        snprintf(addr, sizeof addr, "u%zu@x.test", i);
        rc = sm_rcpts_add(&r, addr, strlen(addr), NULL, err, sizeof err);
    }
    CU_ASSERT_EQUAL(rc, 0);
    CU_ASSERT_EQUAL(sm_rcpts_add(&r, "one@more.test", 13, NULL, err, sizeof err), 64);
    CU_ASSERT_EQUAL(sm_rcpts_add(&r, "u5@x.test", 9, NULL, err, sizeof err), 0); /* a repeat */
    sm_rcpts_free(&r);
    CU_ASSERT_EQUAL(sm_rcpts_add(&r, "root", 4, NULL, err, sizeof err), 65);
    CU_ASSERT_EQUAL(sm_rcpts_add(&r, "a\0b@x.test", 10, NULL, err, sizeof err), 65);
    CU_ASSERT_EQUAL(sm_headers_scan("To: a@x.test\n", 13, false, "h.test", &h, &r, err,
                                    sizeof err), 0);
    CU_ASSERT_EQUAL(r.count, 0);
    /* Command-line arguments are address lists too. */
    CU_ASSERT_EQUAL(sm_address_list("Ann <a@x.test>, b@x.test", 24, "h.test", &r, err,
                                     sizeof err), 0);
    CU_ASSERT_EQUAL(r.count, 2);
    sm_rcpts_free(&r);
}

int
main(void)
{
    CU_pSuite s;
    unsigned nfail;

    if (CU_initialize_registry() != CUE_SUCCESS)
        return 99;
    s = CU_add_suite("herald-sendmail", NULL, NULL);
    if (s == NULL || CU_add_test(s, "options", test_opts) == NULL ||
        CU_add_test(s, "header recipients", test_headers) == NULL ||
        CU_add_test(s, "limits", test_limits) == NULL) {
        CU_cleanup_registry();
        return 99;
    }
    CU_basic_set_mode(CU_BRM_VERBOSE);
    CU_basic_run_tests();
    nfail = CU_get_number_of_failure_records();
    CU_cleanup_registry();
    return nfail == 0 ? 0 : 1;
}
