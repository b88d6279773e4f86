/*
 * test_mime_compose.c - the MIME composer (core/mime.c) and its encoders
 * (core/mime_encode.c): exact encodings, line limits, refusals, and that a
 * large attachment is streamed (memory does not grow with it)
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include <CUnit/Basic.h>
#include <herald/message.h>
#include <herald/mime.h>
#include "mime_encode.h"
#include "test_main.h"
#include "test_file.h"

static char tmpdir[] = "/tmp/herald-mime-test-XXXXXX";

/* read_back - the file a test just wrote: it must be there */
static char *
read_back(const char *path, size_t *len)
{
    char *buf = test_read_file(path, len);

    CU_ASSERT_FATAL(buf != NULL);
    return buf;
}

/* capture - run fn(out, arg) into a temp file and return what it wrote (malloc'd) */
static char *
capture(void (*fn)(struct mime_out *, const void *), const void *arg)
{
    static struct mime_out out;
    char path[128];
    size_t len;
    int fd;

    snprintf(path, sizeof path, "%s/capture", tmpdir);
    fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
    CU_ASSERT_FATAL(fd >= 0);
    mime_out_init(&out, fd);
    fn(&out, arg);
    CU_ASSERT(mime_out_flush(&out) == 0);
    close(fd);
    return read_back(path, &len);
}

static void
do_qp(struct mime_out *o, const void *arg)
{
    struct mime_qp st = { 0, 0, false };

    mime_qp_feed(&st, o, arg, strlen(arg));
    mime_qp_end(&st, o);
}

static void
do_b64(struct mime_out *o, const void *arg)
{
    struct mime_b64 st = { { 0 }, 0 };
    const unsigned char *p = arg;
    size_t i, n = strlen(arg);

    /* One octet at a time: the line buffer must not care how input is cut. */
    for (i = 0; i < n; i++)
        mime_b64_feed(&st, o, p + i, 1);
    mime_b64_end(&st, o);
}

static void
do_subject(struct mime_out *o, const void *arg)
{
    size_t col;

    mime_hdr_name(o, &col, "Subject");
    mime_hdr_text(o, &col, arg);
    mime_hdr_end(o, &col);
}

static void
do_param(struct mime_out *o, const void *arg)
{
    size_t col;

    mime_hdr_name(o, &col, "Content-Disposition");
    mime_hdr_token(o, &col, "attachment", 10);
    mime_hdr_param(o, &col, "filename", arg);
    mime_hdr_end(o, &col);
}

/* lines_within - every CRLF-ended line of s is at most max octets, and s has no bare LF */
static int
lines_within(const char *s, size_t max)
{
    const char *p = s, *nl;

    while ((nl = strchr(p, '\n')) != NULL) {
        if (nl == p || nl[-1] != '\r' || (size_t)(nl - 1 - p) > max)
            return 0;
        p = nl + 1;
    }
    return strlen(p) <= max;
}

/* Quoted-printable: a table of inputs and their exact encodings. */
static void
test_qp_table(void)
{
    static const struct { const char *in, *out; } t[] = {
        { "hello\n", "hello\r\n" },
        { "hello", "hello\r\n" },
        { "a=b\r\nc\n", "a=3Db\r\nc\r\n" },
        { "trailing \nx\t\n", "trailing=20\r\nx=09\r\n" },
        { "in between ok", "in between ok\r\n" },
        { "lone\rcr", "lone=0Dcr\r\n" },
        { "end \r", "end =0D\r\n" },
        { "caf\xc3\xa9\n\n", "caf=C3=A9\r\n\r\n" },
        { "", "" },
        { "tab\tend\t", "tab\tend=09\r\n" },
    };
    size_t i;

    for (i = 0; i < sizeof t / sizeof t[0]; i++) {
        char *got = capture(do_qp, t[i].in);

        if (strcmp(got, t[i].out) != 0)
            fprintf(stderr, "\nqp case %zu: got \"%s\"\n", i, got);
        CU_ASSERT_STRING_EQUAL(got, t[i].out);
        free(got);
    }
}

/* Quoted-printable: long lines are broken softly at 76, and decode back. */
static void
test_qp_long(void)
{
    char in[1001], *got, *p, dec[2000];
    size_t n = 0;

    memset(in, 'x', 1000);
    in[1000] = '\0';
    in[500] = '=';
    got = capture(do_qp, in);
    CU_ASSERT(lines_within(got, 76));
    /* Undo soft breaks and =3D: the text must come back. */
    for (p = got; *p != '\0'; p++) {
        if (p[0] == '=' && p[1] == '\r' && p[2] == '\n') {
            p += 2;
        } else if (p[0] == '=' && p[1] == '3' && p[2] == 'D') {
            dec[n++] = '=';
            p += 2;
        } else if (*p != '\r' && *p != '\n') {
            dec[n++] = *p;
        }
    }
    dec[n] = '\0';
    CU_ASSERT_STRING_EQUAL(dec, in);
    free(got);
}

/* Base64: RFC 4648 test vectors, and 76-character lines. */
static void
test_b64(void)
{
    static const struct { const char *in, *out; } t[] = {
        { "f", "Zg==\r\n" },     { "fo", "Zm8=\r\n" },         { "foo", "Zm9v\r\n" },
        { "foob", "Zm9vYg==\r\n" }, { "fooba", "Zm9vYmE=\r\n" }, { "foobar", "Zm9vYmFy\r\n" },
        { "", "" },
    };
    char big[200], *got;
    size_t i;

    for (i = 0; i < sizeof t / sizeof t[0]; i++) {
        got = capture(do_b64, t[i].in);
        CU_ASSERT_STRING_EQUAL(got, t[i].out);
        free(got);
    }
    memset(big, 'A', 199);
    big[199] = '\0';
    got = capture(do_b64, big);
    CU_ASSERT(lines_within(got, 76));
    CU_ASSERT(strncmp(got + 76, "\r\n", 2) == 0);   /* 57 octets per full line */
    free(got);
}

/* Subjects: plain ASCII stays as is (folded only at its spaces); anything
 * else becomes encoded-words, each within the line limit. */
static void
test_subject(void)
{
    char *got, longs[400];
    size_t i;

    got = capture(do_subject, "Monthly report");
    CU_ASSERT_STRING_EQUAL(got, "Subject: Monthly report\r\n");
    free(got);
    got = capture(do_subject, "Caf\xc3\xa9");
    CU_ASSERT_STRING_EQUAL(got, "Subject: =?UTF-8?B?Q2Fmw6k=?=\r\n");
    free(got);
    got = capture(do_subject, "looks =?like?= a word");
    CU_ASSERT(strstr(got, "=?UTF-8?B?") != NULL);
    free(got);
    for (i = 0; i < sizeof longs - 1; i++)
        longs[i] = i % 10 == 9 ? ' ' : 'w';
    longs[sizeof longs - 1] = '\0';
    got = capture(do_subject, longs);
    CU_ASSERT(lines_within(got, 78));
    CU_ASSERT(strstr(got, "=?") == NULL);
    free(got);
    /* 100 two-octet characters: several encoded-words, none cut inside a character. */
    for (i = 0; i < 100; i++) {
        longs[2 * i] = (char)0xc3;
        longs[2 * i + 1] = (char)0xa9;
    }
    longs[200] = '\0';
    got = capture(do_subject, longs);
    CU_ASSERT(lines_within(got, 78));
    CU_ASSERT(strstr(got, "?=\r\n =?UTF-8?B?") != NULL);
    free(got);
}

/* File names: quoted when plain, RFC 2231 (with continuations) otherwise. */
static void
test_param(void)
{
    char *got;

    got = capture(do_param, "report.pdf");
    CU_ASSERT_STRING_EQUAL(got, "Content-Disposition: attachment; filename=\"report.pdf\"\r\n");
    free(got);
    got = capture(do_param, "a \"q\".txt");
    CU_ASSERT(strstr(got, "filename=\"a \\\"q\\\".txt\"") != NULL);
    free(got);
    got = capture(do_param, "r\xc3\xa9sum\xc3\xa9 1.pdf");
    CU_ASSERT(strstr(got, "filename*0*=UTF-8''r%C3%A9sum%C3%A9%201.pdf") != NULL);
    free(got);
    got = capture(do_param, "\xe6\x97\xa5\xe6\x9c\xac\xe8\xaa\x9e\xe6\x97\xa5\xe6\x9c\xac"
                            "\xe8\xaa\x9e\xe6\x97\xa5\xe6\x9c\xac\xe8\xaa\x9e.csv");
    CU_ASSERT(strstr(got, "filename*1*=") != NULL);
    CU_ASSERT(lines_within(got, 78));
    free(got);
}

/* The builder refuses what it cannot write safely. */
static void
test_refusals(void)
{
    struct herald_mime *m = NULL;
    char path[128];

    CU_ASSERT_FATAL(herald_mime_new(&m) == HERALD_OK);
    CU_ASSERT(herald_mime_set_from(m, NULL, "no-domain") == HERALD_E_ADDRESS);
    CU_ASSERT(herald_mime_set_from(m, "Evil\r\nBcc: x", "a@b.test") == HERALD_E_INVAL);
    CU_ASSERT(herald_mime_add_to(m, NULL, "a\r\n@b.test") == HERALD_E_ADDRESS);
    CU_ASSERT(herald_mime_set_subject(m, "two\nlines") == HERALD_E_INVAL);
    CU_ASSERT(herald_mime_set_subject(m, "bad \xc3 utf-8") == HERALD_E_INVAL);
    CU_ASSERT(herald_mime_add_header(m, "Content-Type", "text/plain") == HERALD_E_INVAL);
    CU_ASSERT(herald_mime_add_header(m, "bcc", "x@y.test") == HERALD_E_INVAL);
    CU_ASSERT(herald_mime_add_header(m, "X-Bad Name", "v") == HERALD_E_INVAL);
    CU_ASSERT(herald_mime_add_header(m, "X-Ok", "v\r\nInjected: 1") == HERALD_E_INVAL);
    CU_ASSERT(herald_mime_add_header(m, "X-Ok", "fine") == HERALD_OK);
    snprintf(path, sizeof path, "%s/missing", tmpdir);
    CU_ASSERT(herald_mime_add_attachment(m, path, NULL, NULL) == HERALD_E_NOTFOUND);
    CU_ASSERT(herald_mime_set_text_file(m, path) == HERALD_E_NOTFOUND);
    CU_ASSERT(herald_mime_add_attachment(m, tmpdir, NULL, NULL) == HERALD_E_INVAL);
    snprintf(path, sizeof path, "%s/capture", tmpdir);
    CU_ASSERT(herald_mime_add_attachment(m, path, "text", NULL) == HERALD_E_INVAL);
    CU_ASSERT(herald_mime_add_attachment(m, path, "text/plain; x=1", NULL) == HERALD_E_INVAL);
    CU_ASSERT(herald_mime_add_attachment(m, path, NULL, "a\nb") == HERALD_E_INVAL);
    CU_ASSERT(herald_mime_add_attachment(m, path, "text/csv", "ok.csv") == HERALD_OK);
    herald_mime_free(&m);
    CU_ASSERT(m == NULL);
    herald_mime_free(&m);
}

/* A whole message: structure, headers, 7-bit, line limits; and a message body. */
static void
test_whole_message(void)
{
    static const char text[] = "Hello,\nthe report is attached.\n";
    static const char html[] = "<p>Hello</p>\n";
    struct herald_mime *m = NULL;
    struct herald_message *msg = NULL;
    struct herald_diag diag;
    char path[128], *got, *p;
    size_t size, len;
    FILE *f;
    long n;
    int fd;

    snprintf(path, sizeof path, "%s/data.bin", tmpdir);
    f = fopen(path, "wb");
    CU_ASSERT_FATAL(f != NULL);
    for (n = 0; n < 1000; n++)
        fputc((int)(n * 7 % 256), f);
    fclose(f);
    CU_ASSERT_FATAL(herald_mime_new(&m) == HERALD_OK);
    CU_ASSERT(herald_mime_set_from(m, "J\xc3\xb6rg", "reports@example.com") == HERALD_OK);
    CU_ASSERT(herald_mime_add_to(m, "A, B", "a@example.org") == HERALD_OK);
    CU_ASSERT(herald_mime_add_to(m, NULL, "b@example.org") == HERALD_OK);
    CU_ASSERT(herald_mime_set_subject(m, "R\xc3\xa9sum\xc3\xa9") == HERALD_OK);
    CU_ASSERT(herald_mime_set_text_buffer(m, text, strlen(text)) == HERALD_OK);
    CU_ASSERT(herald_mime_set_html_buffer(m, html, strlen(html)) == HERALD_OK);
    CU_ASSERT(herald_mime_add_attachment(m, path, NULL, NULL) == HERALD_OK);
    CU_ASSERT(herald_mime_add_header(m, "Message-ID", "<fixed@example.com>") == HERALD_OK);

    snprintf(path, sizeof path, "%s/out.eml", tmpdir);
    fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
    CU_ASSERT_FATAL(fd >= 0);
    memset(&diag, 0, sizeof diag);
    CU_ASSERT(herald_mime_write(m, fd, &diag) == HERALD_OK);
    close(fd);
    got = read_back(path, &len);
    CU_ASSERT(strncmp(got, "Date: ", 6) == 0);
    CU_ASSERT(strstr(got, "\r\nMessage-ID: <fixed@example.com>\r\n") != NULL);
    CU_ASSERT(strstr(got, "\r\nFrom: =?UTF-8?B?SsO2cmc=?= <reports@example.com>\r\n") != NULL);
    CU_ASSERT(strstr(got, "\r\nTo: \"A, B\" <a@example.org>, <b@example.org>\r\n") != NULL);
    CU_ASSERT(strstr(got, "\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed;") != NULL);
    CU_ASSERT(strstr(got, "Content-Type: multipart/alternative;") != NULL);
    CU_ASSERT(strstr(got, "Content-Type: application/octet-stream; name=\"data.bin\"") != NULL);
    CU_ASSERT(strstr(got, "Content-Transfer-Encoding: base64") != NULL);
    CU_ASSERT(strstr(got, "Content-Type: text/html; charset=UTF-8") != NULL);
    CU_ASSERT(lines_within(got, 998));
    for (p = got; *p != '\0'; p++)
        if ((unsigned char)*p >= 0x80)
            break;
    CU_ASSERT(*p == '\0');              /* 7-bit throughout */
    CU_ASSERT(strlen(got) == len);      /* no NUL inside */
    free(got);

    /* The same builder again, into a message body: same structure, re-read files. */
    CU_ASSERT_FATAL(herald_message_new(&msg) == HERALD_OK);
    CU_ASSERT(herald_mime_to_message(m, msg, &diag) == HERALD_OK);
    CU_ASSERT(herald_message_body_size(msg, &size) == HERALD_OK);
    CU_ASSERT(size + 200 > len && size < len + 200);   /* boundaries differ only */
    CU_ASSERT(!herald_message_body_8bit(msg));
    herald_message_free(&msg);
    herald_mime_free(&m);
}

/* Date and Message-ID helpers. */
static void
test_date_id(void)
{
    char buf[300], buf2[300];

    CU_ASSERT(herald_mime_date(0, buf, sizeof buf) == HERALD_OK);
    CU_ASSERT_STRING_EQUAL(buf, "Thu, 01 Jan 1970 00:00:00 +0000");
    CU_ASSERT(herald_mime_date(1795593600, buf, sizeof buf) == HERALD_OK);
    CU_ASSERT_STRING_EQUAL(buf, "Wed, 25 Nov 2026 08:00:00 +0000");
    CU_ASSERT(herald_mime_date(0, buf, 10) == HERALD_E_INVAL);
    CU_ASSERT(herald_mime_message_id("example.com", buf, sizeof buf) == HERALD_OK);
    CU_ASSERT(buf[0] == '<' && strstr(buf, "@example.com>") != NULL);
    CU_ASSERT(herald_mime_message_id("example.com", buf2, sizeof buf2) == HERALD_OK);
    CU_ASSERT(strcmp(buf, buf2) != 0);
    CU_ASSERT(herald_mime_message_id("bad domain>", buf, sizeof buf) == HERALD_OK);
    CU_ASSERT(strchr(buf, ' ') == NULL && strstr(buf, "bad") == NULL);
}

/* One address field for a program completing a message (herald-sendmail -F). */
static void
test_address_field(void)
{
    static const struct { const char *name, *want; } cases[] = {
        { NULL, "From: <a@example.com>\r\n" },
        { "", "From: <a@example.com>\r\n" },
        { "CronDaemon", "From: \"CronDaemon\" <a@example.com>\r\n" },
        { "Ann \"Q\" \\x", "From: \"Ann \\\"Q\\\" \\\\x\" <a@example.com>\r\n" },
        { "J\xc3\xbcrgen", "From: =?UTF-8?B?SsO8cmdlbg==?= <a@example.com>\r\n" },
    };
    char buf[512], big[8192];
    size_t i;

    for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        CU_ASSERT(herald_mime_address_field("From", cases[i].name, "a@example.com", buf,
                                            sizeof buf) == HERALD_OK);
        CU_ASSERT_STRING_EQUAL(buf, cases[i].want);
    }
    /* A name can never add a line: CR, LF and other controls, and non-UTF-8, are refused. */
    CU_ASSERT(herald_mime_address_field("From", "x\r\nBcc: v@evil.test", "a@example.com", buf,
                                        sizeof buf) == HERALD_E_INVAL);
    CU_ASSERT(herald_mime_address_field("From", "x\n", "a@example.com", buf, sizeof buf) ==
              HERALD_E_INVAL);
    CU_ASSERT(herald_mime_address_field("From", "\xff", "a@example.com", buf, sizeof buf) ==
              HERALD_E_INVAL);
    CU_ASSERT(herald_mime_address_field("From", "x", "a@b@", buf, sizeof buf) ==
              HERALD_E_ADDRESS);
    CU_ASSERT(herald_mime_address_field("Fr om", "x", "a@example.com", buf, sizeof buf) ==
              HERALD_E_INVAL);
    CU_ASSERT(herald_mime_address_field("From", "x", "a@example.com", buf, 10) ==
              HERALD_E_LIMIT);
    /* A long name is folded: no line passes 78 columns. */
    memset(big, 'x', 60);
    memcpy(big + 60, " \xc3\xa9 ", 4);
    memset(big + 64, 'y', 100);
    big[164] = '\0';
    CU_ASSERT_FATAL(herald_mime_address_field("From", big, "a@example.com", buf, sizeof buf) ==
                    HERALD_OK);
    {
        const char *p = buf, *eol;

        while ((eol = strstr(p, "\r\n")) != NULL) {
            CU_ASSERT(eol - p <= 78);
            p = eol + 2;
            CU_ASSERT(*p == '\0' || *p == ' ');
        }
    }
}

/* A 64 MB attachment is streamed: peak memory grows by far less than that. */
static void
test_streaming(void)
{
    struct herald_mime *m = NULL;
    struct rusage before, after;
    char path[128];
    int fd, out;

    snprintf(path, sizeof path, "%s/big.bin", tmpdir);
    fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
    CU_ASSERT_FATAL(fd >= 0);
    CU_ASSERT_FATAL(ftruncate(fd, 64L * 1024 * 1024) == 0);   /* sparse: reads as zeros */
    close(fd);
    CU_ASSERT_FATAL(herald_mime_new(&m) == HERALD_OK);
    CU_ASSERT(herald_mime_add_attachment(m, path, NULL, NULL) == HERALD_OK);
    out = open("/dev/null", O_WRONLY);
    CU_ASSERT_FATAL(out >= 0);
    getrusage(RUSAGE_SELF, &before);
    CU_ASSERT(herald_mime_write(m, out, NULL) == HERALD_OK);
    getrusage(RUSAGE_SELF, &after);
    close(out);
    /* ru_maxrss is in KB; allow 16 MB of noise (sanitizer shadow, allocator). */
    CU_ASSERT(after.ru_maxrss - before.ru_maxrss < 16 * 1024);
    herald_mime_free(&m);
    unlink(path);
}

int
main(void)
{
    static const struct test_case cases[] = {
        { "quoted-printable table", test_qp_table },
        { "quoted-printable long lines", test_qp_long },
        { "base64", test_b64 },
        { "subject", test_subject },
        { "file name parameter", test_param },
        { "refusals", test_refusals },
        { "whole message", test_whole_message },
        { "date and message id", test_date_id },
        { "address field", test_address_field },
        { "streaming", test_streaming },
        { NULL, NULL },
    };
    char cmd[200];
    int rc;

    if (mkdtemp(tmpdir) == NULL)
        return 99;
    setenv("TMPDIR", tmpdir, 1);
    rc = test_run_suite("mime_compose", NULL, NULL, cases);
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
    if (system(cmd) != 0)
        fprintf(stderr, "could not remove %s\n", tmpdir);
    return rc;
}
