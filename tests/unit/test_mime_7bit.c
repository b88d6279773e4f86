/*
 * test_mime_7bit.c - the 8bit -> 7bit MIME downgrade (devices/email/mime_7bit.h):
 * what is converted and what is not, quoted-printable rules, bounds, and the
 * same output however the input is cut and however small the output room
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <CUnit/Basic.h>

#include "mime_7bit.h"
#include "test_main.h"

#define GUARD 10000000u   /* calls per conversion: a converter that stalls fails */

struct result {
    char *p;
    size_t len, cap;
    unsigned problems;
    unsigned long converted;
};

static void
append(struct result *r, const char *p, size_t n)
{
    if (r->len + n + 1 > r->cap) {
        r->cap = (r->len + n + 1) * 2;
        r->p = realloc(r->p, r->cap);
        if (r->p == NULL)
            abort();
    }
    memcpy(r->p + r->len, p, n);
    r->len += n;
    r->p[r->len] = '\0';
}

/*
 * convert - in[0..len) in pieces (chunk 0: two pieces cut at cut, else
 * pieces of chunk octets), out_room octets of output room per call.
 * Returns false when a call broke its contract (CUnit says which).
 */
static bool
convert(const char *in, size_t len, size_t cut, size_t chunk, size_t room, struct result *r)
{
    struct mime7_conv *c = malloc(sizeof *c);
    char *buf = malloc(room);
    size_t off = 0, used, n;
    unsigned long calls = 0;
    bool done = false, ok = true;

    if (c == NULL || buf == NULL)
        abort();
    memset(r, 0, sizeof *r);
    append(r, "", 0);
    mime7_init(c);
    while (ok && off < len) {
        size_t end = chunk == 0 ? (off < cut ? cut : len) : off + chunk;

        if (end > len)
            end = len;
        while (ok && off < end && calls++ < GUARD) {
            ok = mime7_convert(c, in + off, end - off, buf, room, &used, &n) == HERALD_OK
                 && n <= room && used <= end - off && (used > 0 || n > 0);
            append(r, buf, n);
            off += used;
        }
    }
    while (ok && !done && calls++ < GUARD) {
        ok = mime7_finish(c, buf, room, &n, &done) == HERALD_OK && n <= room;
        append(r, buf, n);
    }
    CU_ASSERT_TRUE(ok && done);
    r->problems = c->problems;
    r->converted = c->converted;
    free(buf);
    free(c);
    return ok && done;
}

/* same - r holds exactly want and the problem bits */
static bool
same(const struct result *r, const char *want, size_t want_len, unsigned problems)
{
    return r->len == want_len && memcmp(r->p, want, want_len) == 0 && r->problems == problems;
}

static void
show(const char *what, const struct result *r)
{
    fprintf(stderr, "%s: problems 0x%x, %zu octets:\n%.*s\n", what, r->problems, r->len,
            (int)r->len, r->p);
}

/*
 * check_n - in converts to want with these problems: in two pieces cut at
 * every offset (every step offsets when big), in 1-octet pieces, each with
 * output rooms from MIME7_OUT_MIN up.
 */
static void
check_n(const char *in, size_t len, const char *want, size_t want_len, unsigned problems)
{
    static const size_t rooms[] = { MIME7_OUT_MIN, 2, 3, 77, 4096 };
    size_t step = len > 2000 ? len / 7 : 1, i, cut;
    struct result r;

    for (i = 0; i < sizeof rooms / sizeof rooms[0]; i++) {
        for (cut = 0; cut <= len; cut += step) {
            if (!convert(in, len, cut, 0, rooms[i], &r) || !same(&r, want, want_len, problems)) {
                CU_FAIL("output differs (two pieces)");
                fprintf(stderr, "cut %zu, room %zu\n", cut, rooms[i]);
                show("got", &r);
                free(r.p);
                return;
            }
            free(r.p);
        }
        if (!convert(in, len, 0, 1, rooms[i], &r) || !same(&r, want, want_len, problems)) {
            CU_FAIL("output differs (1-octet pieces)");
            fprintf(stderr, "room %zu\n", rooms[i]);
            show("got", &r);
        }
        free(r.p);
    }
    CU_PASS("every cut and room");
}

static void
check(const char *in, const char *want, unsigned problems)
{
    check_n(in, strlen(in), want, strlen(want), problems);
}

/* to_lf - the CRLF text with bare LF line ends */
static char *
to_lf(const char *s)
{
    char *d = malloc(strlen(s) + 1), *o = d;

    if (d == NULL)
        abort();
    for (; *s != '\0'; s++)
        if (!(s[0] == '\r' && s[1] == '\n'))
            *o++ = *s;
    *o = '\0';
    return d;
}

static int
hexval(char ch)
{
    return ch >= '0' && ch <= '9' ? ch - '0' : ch >= 'A' && ch <= 'F' ? ch - 'A' + 10 : -1;
}

/* qp_decode - RFC 2045 6.7 decoding of p[0..n) (uppercase hex only: what we
 * write) into out; false on anything an encoder must not write */
static bool
qp_decode(const char *p, size_t n, struct result *out)
{
    size_t i;

    memset(out, 0, sizeof *out);
    append(out, "", 0);
    for (i = 0; i < n; i++) {
        if (p[i] == '=' && i + 2 < n && p[i + 1] == '\r' && p[i + 2] == '\n') {
            i += 2;
        } else if (p[i] == '=') {
            char ch;

            if (i + 2 >= n || hexval(p[i + 1]) < 0 || hexval(p[i + 2]) < 0)
                return false;
            ch = (char)(hexval(p[i + 1]) * 16 + hexval(p[i + 2]));
            append(out, &ch, 1);
            i += 2;
        } else if ((unsigned char)p[i] >= 0x7f || ((unsigned char)p[i] < 0x20 && p[i] != '\t'
                                                   && p[i] != '\r' && p[i] != '\n')) {
            return false;
        } else {
            append(out, p + i, 1);
        }
    }
    return true;
}

/* lines_ok - every line CRLF-ended, at most 76 octets, no SP/TAB before a CRLF */
static bool
lines_ok(const char *p, size_t n)
{
    size_t start = 0, i;

    for (i = 0; i < n; i++) {
        if (p[i] == '\n')
            return false;
        if (p[i] != '\r')
            continue;
        if (i + 1 >= n || p[i + 1] != '\n' || i - start > 76)
            return false;
        if (i > start && (p[i - 1] == ' ' || p[i - 1] == '\t'))
            return false;
        start = i + 2;
        i++;
    }
    return start == n;
}

/* body_of - the octets after the first empty line */
static const char *
body_of(const struct result *r)
{
    const char *b = strstr(r->p, "\r\n\r\n");

    return b == NULL ? r->p + r->len : b + 4;
}

/* roundtrip - a single-part 8bit message with this body: converted, every
 * line within the rules, and the body decodes to itself (CRLF line ends) */
static void
roundtrip(const char *body, size_t body_len)
{
    static const char head[] = "MIME-Version: 1.0\r\nContent-Transfer-Encoding: 8bit\r\n\r\n";
    struct result r, d;
    char *in = malloc(sizeof head + body_len);
    const char *b;

    if (in == NULL)
        abort();
    memcpy(in, head, sizeof head - 1);
    memcpy(in + sizeof head - 1, body, body_len);
    CU_ASSERT_TRUE_FATAL(convert(in, sizeof head - 1 + body_len, 0, 0, 4096, &r));
    CU_ASSERT_EQUAL(r.problems, 0);
    CU_ASSERT_EQUAL(r.converted, 1);
    CU_ASSERT_PTR_NOT_NULL(strstr(r.p, "Content-Transfer-Encoding: quoted-printable\r\n\r\n"));
    b = body_of(&r);
    CU_ASSERT_TRUE(lines_ok(b, r.len - (size_t)(b - r.p)));
    CU_ASSERT_TRUE(qp_decode(b, r.len - (size_t)(b - r.p), &d));
    CU_ASSERT_EQUAL(d.len, body_len);
    CU_ASSERT_TRUE(d.len == body_len && memcmp(d.p, body, body_len) == 0);
    if (d.len != body_len || memcmp(d.p, body, body_len) != 0)
        show("decoded", &d);
    free(d.p);
    free(r.p);
    free(in);
}

static void
test_not_mime(void)
{
    static const char msg[] = "Subject: 8-bit\r\n\r\nGr\xc3\xbc\xc3\x9f""e =\r\n";
    char *lf = to_lf(msg), *cr = to_lf(msg);
    size_t i;

    check(msg, msg, MIME7_P_NOT_MIME);
    check(lf, msg, MIME7_P_NOT_MIME);
    for (i = 0; cr[i] != '\0'; i++)
        if (cr[i] == '\n')
            cr[i] = '\r';
    check(cr, msg, MIME7_P_NOT_MIME);
    /* Without a line end at the end: one is added; a header without a body. */
    check("Subject: x\n\nab", "Subject: x\r\n\r\nab\r\n", MIME7_P_NOT_MIME);
    check("Subject: x", "Subject: x\r\n", MIME7_P_NOT_MIME);
    check("MIME-Version: 1.0", "MIME-Version: 1.0\r\n", 0);
    check("", "", MIME7_P_NOT_MIME);
    free(lf);
    free(cr);
}

static void
test_single_part(void)
{
    static const char in[] =
        "MIME-Version: 1.0\r\n"
        "Content-Type: text/plain; charset=utf-8\r\n"
        "Content-Transfer-Encoding: 8bit\r\n"
        "Subject: after\r\n"
        "\r\n"
        "Gr\xc3\xbc\xc3\x9f""e a=b\r\n"
        ".\r\n"
        "\x01\x7f end\r\n";
    static const char want[] =
        "MIME-Version: 1.0\r\n"
        "Content-Type: text/plain; charset=utf-8\r\n"
        "Content-Transfer-Encoding: quoted-printable\r\n"
        "Subject: after\r\n"
        "\r\n"
        "Gr=C3=BC=C3=9Fe a=3Db\r\n"
        ".\r\n"
        "=01=7F end\r\n";
    char *lf = to_lf(in);
    struct result r;

    check(in, want, 0);
    check(lf, want, 0);
    convert(in, strlen(in), 0, 0, 64, &r);
    CU_ASSERT_EQUAL(r.converted, 1);
    free(r.p);
    free(lf);
    /* CTE name and value in any case; no Content-Type is text/plain. */
    check("mime-version: 1.0\ncontent-transfer-encoding: 8BiT\n\n\xff\n",
          "mime-version: 1.0\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n=FF\r\n", 0);
}

static void
test_multipart(void)
{
    static const char in[] =
        "MIME-Version: 1.0\r\n"
        "Content-Type: multipart/mixed; boundary=\"XyZ\"\r\n"
        "\r\n"
        "preamble\r\n"
        "--XyZ\r\n"
        "Content-Type: text/plain; charset=utf-8\r\n"
        "Content-Transfer-Encoding: 8bit\r\n"
        "\r\n"
        "K\xc3\xb6ln\r\n"
        "--XyZ\r\n"
        "Content-Type: text/plain\r\n"
        "Content-Transfer-Encoding: 7bit\r\n"
        "\r\n"
        "plain =\r\n"
        "--XyZ--  \r\n"
        "epilogue\r\n";
    static const char want[] =
        "MIME-Version: 1.0\r\n"
        "Content-Type: multipart/mixed; boundary=\"XyZ\"\r\n"
        "\r\n"
        "preamble\r\n"
        "--XyZ\r\n"
        "Content-Type: text/plain; charset=utf-8\r\n"
        "Content-Transfer-Encoding: quoted-printable\r\n"
        "\r\n"
        "K=C3=B6ln\r\n"
        "--XyZ\r\n"
        "Content-Type: text/plain\r\n"
        "Content-Transfer-Encoding: 7bit\r\n"
        "\r\n"
        "plain =\r\n"
        "--XyZ--  \r\n"
        "epilogue\r\n";
    char *lf = to_lf(in);

    check(in, want, 0);
    check(lf, want, 0);
    free(lf);
    /* A line that only starts like a delimiter is body text: QP-encoded. */
    check("MIME-Version: 1.0\nContent-Type: multipart/mixed; boundary=b\n\n--b\n"
          "Content-Transfer-Encoding: 8bit\n\n--bx \xe9\n--b \t\n\n--b--\n",
          "MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\n"
          "Content-Transfer-Encoding: quoted-printable\r\n\r\n--bx =E9\r\n--b \t\r\n\r\n"
          "--b--\r\n", 0);
    /* After the close delimiter the epilogue is copied, not part of the last part. */
    check("MIME-Version: 1.0\nContent-Type: multipart/mixed; boundary=b\n\n--b\n"
          "Content-Transfer-Encoding: 8bit\n\n\xe9\n--b--\n\xe9\n",
          "MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\n"
          "Content-Transfer-Encoding: quoted-printable\r\n\r\n=E9\r\n--b--\r\n\xe9\r\n",
          MIME7_P_UNDECLARED);
}

static void
test_nested(void)
{
    static const char in[] =
        "MIME-Version: 1.0\r\n"
        "Content-Type: multipart/mixed;\r\n"
        "\tBOUNDARY=outer (the outer one)\r\n"
        "Content-Transfer-Encoding: 8bit\r\n"
        "\r\n"
        "--outer\r\n"
        "Content-Type: multipart/alternative; boundary=\"in ner\"\r\n"
        "\r\n"
        "--in ner\r\n"
        "Content-Transfer-Encoding: 8bit\r\n"
        "\r\n"
        "\xe9t\xe9\r\n"
        "--in ner--\r\n"
        "--outer\r\n"
        "Content-Type: text/plain\r\n"
        "Content-Transfer-Encoding: 8BIT\r\n"
        "\r\n"
        "caf\xe9\r\n"
        "--outer--\r\n";
    static const char want[] =
        "MIME-Version: 1.0\r\n"
        "Content-Type: multipart/mixed;\r\n"
        "\tBOUNDARY=outer (the outer one)\r\n"
        "Content-Transfer-Encoding: 7bit\r\n"
        "\r\n"
        "--outer\r\n"
        "Content-Type: multipart/alternative; boundary=\"in ner\"\r\n"
        "\r\n"
        "--in ner\r\n"
        "Content-Transfer-Encoding: quoted-printable\r\n"
        "\r\n"
        "=E9t=E9\r\n"
        "--in ner--\r\n"
        "--outer\r\n"
        "Content-Type: text/plain\r\n"
        "Content-Transfer-Encoding: quoted-printable\r\n"
        "\r\n"
        "caf=E9\r\n"
        "--outer--\r\n";

    check(in, want, 0);
    /* The inner close delimiter missing: the outer delimiter ends it. */
    check("MIME-Version: 1.0\nContent-Type: multipart/mixed; boundary=o\n\n--o\n"
          "Content-Type: multipart/mixed; boundary=i\n\n--i\n"
          "Content-Transfer-Encoding: 8bit\n\n\xe9\n--o\n"
          "Content-Transfer-Encoding: 8bit\n\n\xea\n--o--\n",
          "MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=o\r\n\r\n--o\r\n"
          "Content-Type: multipart/mixed; boundary=i\r\n\r\n--i\r\n"
          "Content-Transfer-Encoding: quoted-printable\r\n\r\n=E9\r\n--o\r\n"
          "Content-Transfer-Encoding: quoted-printable\r\n\r\n=EA\r\n--o--\r\n", 0);
}

static void
test_rfc822(void)
{
    static const char in[] =
        "MIME-Version: 1.0\r\n"
        "Content-Type: multipart/mixed; boundary=b1\r\n"
        "\r\n"
        "--b1\r\n"
        "Content-Type: message/rfc822\r\n"
        "Content-Transfer-Encoding: 8bit\r\n"
        "\r\n"
        "Subject: inner\r\n"
        "MIME-Version: 1.0\r\n"
        "Content-Transfer-Encoding: 8bit\r\n"
        "\r\n"
        "\xfc\r\n"
        "--b1--\r\n";
    static const char want[] =
        "MIME-Version: 1.0\r\n"
        "Content-Type: multipart/mixed; boundary=b1\r\n"
        "\r\n"
        "--b1\r\n"
        "Content-Type: message/rfc822\r\n"
        "Content-Transfer-Encoding: 7bit\r\n"
        "\r\n"
        "Subject: inner\r\n"
        "MIME-Version: 1.0\r\n"
        "Content-Transfer-Encoding: quoted-printable\r\n"
        "\r\n"
        "=FC\r\n"
        "--b1--\r\n";

    check(in, want, 0);
    check("MIME-Version: 1.0\nContent-Type: Message/Global\nContent-Transfer-Encoding: 8bit\n\n"
          "Content-Type: text/plain\nContent-Transfer-Encoding: 8bit\n\n\xfc\n",
          "MIME-Version: 1.0\r\nContent-Type: Message/Global\r\n"
          "Content-Transfer-Encoding: 7bit\r\n\r\n"
          "Content-Type: text/plain\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n"
          "=FC\r\n", 0);
    /* In a digest a part without Content-Type is message/rfc822. */
    check("MIME-Version: 1.0\nContent-Type: multipart/digest; boundary=d\n\n--d\n"
          "Content-Transfer-Encoding: 8bit\n\nContent-Transfer-Encoding: 8bit\n\n\xfc\n--d--\n",
          "MIME-Version: 1.0\r\nContent-Type: multipart/digest; boundary=d\r\n\r\n--d\r\n"
          "Content-Transfer-Encoding: 7bit\r\n\r\n"
          "Content-Transfer-Encoding: quoted-printable\r\n\r\n=FC\r\n--d--\r\n", 0);
}

static void
test_long_lines(void)
{
    static const char head[] = "MIME-Version: 1.0\nContent-Transfer-Encoding: 8bit\n\n";
    char body[5000], in[6000], want[200];
    size_t i;

    /* 80 octets: 75 and a soft break, then 5. */
    snprintf(in, sizeof in, "%s%s\n", head,
             "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa");
    snprintf(want, sizeof want, "%s%s=\r\n%s\r\n",
             "MIME-Version: 1.0\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n",
             "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
             "aaaaa");
    check(in, want, 0);
    /* A soft break never starts a line with "--": it could be a delimiter. */
    check("MIME-Version: 1.0\nContent-Type: multipart/mixed; boundary=b\n\n--b\n"
          "Content-Transfer-Encoding: 8bit\n\n"
          "\xe9" "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa--b--\n"
          "--b--\n",
          "MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\n"
          "Content-Transfer-Encoding: quoted-printable\r\n\r\n"
          "=E9aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa=\r\n"
          "=2D-b--\r\n--b--\r\n", 0);
    /* An encoded octet is never cut by a soft break. */
    for (i = 0; i < 300; i++)
        body[i] = "x\xe9\xe9"[i % 3];
    body[300] = '\r';
    body[301] = '\n';
    roundtrip(body, 302);
    /* Lines longer than MIME7_LINE_MAX, spaces and tabs everywhere. */
    for (i = 0; i < 4000; i++)
        body[i] = " \tab=\xc3\xa9"[i % 7];
    body[2500] = '\r';
    body[2501] = '\n';
    body[4000] = '\r';
    body[4001] = '\n';
    roundtrip(body, 4002);
    memcpy(in, head, sizeof head - 1);
    memcpy(in + sizeof head - 1, body, 4002);
    in[sizeof head - 1 + 4002] = '\0';
    {
        struct result r;

        CU_ASSERT_TRUE(convert(in, strlen(in), 0, 0, 4096, &r));
        check_n(in, strlen(in), r.p, r.len, 0);
        free(r.p);
    }
}

static void
test_trailing_white(void)
{
    static const char h7[] =
        "MIME-Version: 1.0\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n";
    char want[300];

    snprintf(want, sizeof want, "%sa=20\r\nb=09\r\nc  d =3D=20\r\n\t=09\r\n=20\r\n", h7);
    check("MIME-Version: 1.0\nContent-Transfer-Encoding: 8bit\n\na \nb\t\nc  d = \n\t\t\n \n",
          want, 0);
    /* At the very end, without a line end. */
    snprintf(want, sizeof want, "%s=C3=A9 =20\r\n", h7);
    check("MIME-Version: 1.0\nContent-Transfer-Encoding: 8bit\n\n\xc3\xa9  ", want, 0);
    /* A space where the soft break falls stays a space, before the '='. */
    {
        static const char b1[] =
            "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa   b\r\n";
        static const char b2[] = "  \t \r\n\t\r\n";

        roundtrip(b1, strlen(b1));
        roundtrip(b2, strlen(b2));
    }
}

static void
test_equals(void)
{
    check("MIME-Version: 1.0\nContent-Transfer-Encoding: 8bit\n\n=\n==41\n=\xc3\n",
          "MIME-Version: 1.0\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n"
          "=3D\r\n=3D=3D41\r\n=3D=C3\r\n", 0);
}

static void
test_folded_cte(void)
{
    check("MIME-Version: 1.0\r\n"
          "Content-Transfer-Encoding:\r\n"
          " (why) 8bit\r\n"
          "\t (folded twice)\r\n"
          "X-After: 1\r\n"
          "\r\n"
          "\xe9\r\n",
          "MIME-Version: 1.0\r\n"
          "Content-Transfer-Encoding: quoted-printable\r\n"
          "X-After: 1\r\n"
          "\r\n"
          "=E9\r\n", 0);
    /* Two CTE fields: neither is believed, nothing is rewritten. */
    check("MIME-Version: 1.0\nContent-Transfer-Encoding: 8bit\nContent-Transfer-Encoding: 8bit\n"
          "\n\xe9\n",
          "MIME-Version: 1.0\r\nContent-Transfer-Encoding: 8bit\r\n"
          "Content-Transfer-Encoding: 8bit\r\n\r\n\xe9\r\n", MIME7_P_UNDECLARED);
}

/* test_header_syntax - comments, quoting, folding and bad values in the fields read */
static void
test_header_syntax(void)
{
    char in[400], want[400];

    /* Nested comments with a quoted ')', white space before the colon. */
    check("MIME-Version: 1.0\nContent-Transfer-Encoding : (x (y) \\) z) 8bit (c)\n\n\xe9\n",
          "MIME-Version: 1.0\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n=E9\r\n", 0);
    /* A quoted boundary with a quoted-pair and folded inside the quotes. */
    check("MIME-Version: 1.0\nContent-Type: multipart/mixed; x=\"y;z\"; boundary=\"a\\\"b\n c\"\n\n"
          "--a\"b c\nContent-Transfer-Encoding: 8bit\n\n\xe9\n--a\"b c--\n",
          "MIME-Version: 1.0\r\nContent-Type: multipart/mixed; x=\"y;z\"; boundary=\"a\\\"b\r\n c\"\r\n"
          "\r\n--a\"b c\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n=E9\r\n"
          "--a\"b c--\r\n", 0);
    /* A boundary longer than RFC 2046 allows, or empty: no parts to find. */
    snprintf(in, sizeof in, "MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=%071d\r\n"
             "\r\n--%071d\r\nContent-Transfer-Encoding: 8bit\r\n\r\n\xe9\r\n", 0, 0);
    check(in, in, MIME7_P_MALFORMED);
    check("MIME-Version: 1.0\nContent-Type: multipart/mixed; boundary=\"\"\n\n\xe9\n",
          "MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"\"\r\n\r\n\xe9\r\n",
          MIME7_P_MALFORMED);
    /* A parameter without a value ends the list: no boundary read after it. */
    check("MIME-Version: 1.0\nContent-Type: multipart/mixed; junk; boundary=b\n\n--b\n\xe9\n",
          "MIME-Version: 1.0\r\nContent-Type: multipart/mixed; junk; boundary=b\r\n\r\n--b\r\n"
          "\xe9\r\n", MIME7_P_MALFORMED);
    /* 70 octets is allowed. */
    snprintf(in, sizeof in, "MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=%070d\r\n"
             "\r\n--%070d\r\nContent-Transfer-Encoding: 8bit\r\n\r\n\xe9\r\n--%070d--\r\n",
             0, 0, 0);
    snprintf(want, sizeof want, "MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=%070d"
             "\r\n\r\n--%070d\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n=E9\r\n"
             "--%070d--\r\n", 0, 0, 0);
    check(in, want, 0);
    /* Not a type ("text" without a subtype): the default, text/plain. */
    check("MIME-Version: 1.0\nContent-Type: text\nContent-Transfer-Encoding: 8bit\n\n\xe9\n",
          "MIME-Version: 1.0\r\nContent-Type: text\r\n"
          "Content-Transfer-Encoding: quoted-printable\r\n\r\n=E9\r\n", 0);
    /* A binary multipart: walked, said so. */
    check("MIME-Version: 1.0\nContent-Type: multipart/mixed; boundary=b\n"
          "Content-Transfer-Encoding: binary\n\n--b\nContent-Transfer-Encoding: 8bit\n\n\xe9\n--b--\n",
          "MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=b\r\n"
          "Content-Transfer-Encoding: binary\r\n\r\n--b\r\n"
          "Content-Transfer-Encoding: quoted-printable\r\n\r\n=E9\r\n--b--\r\n",
          MIME7_P_BINARY);
}

static void
test_not_converted(void)
{
    /* 7bit declared, 8-bit found: copied, and said so. */
    check("MIME-Version: 1.0\nContent-Transfer-Encoding: 7bit\n\n\xe9\n",
          "MIME-Version: 1.0\r\nContent-Transfer-Encoding: 7bit\r\n\r\n\xe9\r\n",
          MIME7_P_UNDECLARED);
    check("MIME-Version: 1.0\n\n\xe9\n", "MIME-Version: 1.0\r\n\r\n\xe9\r\n", MIME7_P_UNDECLARED);
    check("MIME-Version: 1.0\nContent-Transfer-Encoding: binary\n\nab\n",
          "MIME-Version: 1.0\r\nContent-Transfer-Encoding: binary\r\n\r\nab\r\n",
          MIME7_P_BINARY);
    /* An 8-bit header stays; the 8bit body is still converted. */
    check("MIME-Version: 1.0\nSubject: \xe9\nContent-Transfer-Encoding: 8bit\n\n\xe9\n",
          "MIME-Version: 1.0\r\nSubject: \xe9\r\n"
          "Content-Transfer-Encoding: quoted-printable\r\n\r\n=E9\r\n", MIME7_P_HEADER_8BIT);
    check("MIME-Version: 1.0\nContent-Type: multipart/mixed\n\n--b\n\n\xe9\n",
          "MIME-Version: 1.0\r\nContent-Type: multipart/mixed\r\n\r\n--b\r\n\r\n\xe9\r\n",
          MIME7_P_MALFORMED);
    /* 7-bit content where nothing is 8bit: no problem at all. */
    check("MIME-Version: 1.0\nContent-Transfer-Encoding: base64\n\nQUJD\n",
          "MIME-Version: 1.0\r\nContent-Transfer-Encoding: base64\r\n\r\nQUJD\r\n", 0);
    /* A part header cut short by the next delimiter. */
    check("MIME-Version: 1.0\nContent-Type: multipart/mixed; boundary=b\n\n--b\nX-A: \xe9\n--b\n"
          "Content-Transfer-Encoding: 8bit\n\n\xe9\n--b--\n",
          "MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\n"
          "X-A: \xe9\r\n--b\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n=E9\r\n"
          "--b--\r\n", MIME7_P_HEADER_8BIT);
}

/* test_header_bound - a header block past MIME7_HEADER_MAX, then an 8bit body: copied */
static void
test_header_bound(void)
{
    size_t cap = MIME7_HEADER_MAX + 4096, n = 0;
    char *in = malloc(cap), *want = malloc(cap);

    if (in == NULL || want == NULL)
        abort();
    n += (size_t)snprintf(in + n, cap - n, "MIME-Version: 1.0\r\n");
    while (n < MIME7_HEADER_MAX + 100)
        n += (size_t)snprintf(in + n, cap - n, "X-Pad: %080d\r\n", 7);
    n += (size_t)snprintf(in + n, cap - n, "Content-Transfer-Encoding: 8bit\r\n\r\n\xe9\r\n");
    check_n(in, n, in, n, MIME7_P_LIMIT);
    /* One header line past the bound, with no line end at all. */
    memset(want, 'h', MIME7_HEADER_MAX + 10);
    memcpy(want, "MIME-Version: 1.0\r\nX: ", 22);
    memcpy(in, want, MIME7_HEADER_MAX + 10);
    memcpy(want + MIME7_HEADER_MAX + 10, "\r\n", 2);
    check_n(in, MIME7_HEADER_MAX + 10, want, MIME7_HEADER_MAX + 12, MIME7_P_LIMIT);
    free(in);
    free(want);
}

/* test_depth - one multipart more than MIME7_DEPTH_MAX: the rest is copied */
static void
test_depth(void)
{
    char in[4096], want[4096];
    size_t n = 0, d;

    n += (size_t)snprintf(in + n, sizeof in - n, "MIME-Version: 1.0\n");
    for (d = 0; d <= MIME7_DEPTH_MAX; d++)
        n += (size_t)snprintf(in + n, sizeof in - n,
                              "Content-Type: multipart/mixed; boundary=b%zu\n\n--b%zu\n", d, d);
    n += (size_t)snprintf(in + n, sizeof in - n, "Content-Transfer-Encoding: 8bit\n\n\xe9\n");
    {
        char *crlf = want;
        size_t i;

        for (i = 0; i < n; i++) {
            if (in[i] == '\n')
                *crlf++ = '\r';
            *crlf++ = in[i];
        }
        *crlf = '\0';
    }
    check(in, want, MIME7_P_LIMIT);
    /* One less: converted. */
    {
        struct result r;

        n = 0;
        n += (size_t)snprintf(in + n, sizeof in - n, "MIME-Version: 1.0\n");
        for (d = 0; d < MIME7_DEPTH_MAX; d++)
            n += (size_t)snprintf(in + n, sizeof in - n,
                                  "Content-Type: multipart/mixed; boundary=b%zu\n\n--b%zu\n", d, d);
        n += (size_t)snprintf(in + n, sizeof in - n, "Content-Transfer-Encoding: 8bit\n\n\xe9\n");
        CU_ASSERT_TRUE(convert(in, n, 0, 0, 4096, &r));
        CU_ASSERT_EQUAL(r.problems, 0);
        CU_ASSERT_EQUAL(r.converted, 1);
        CU_ASSERT_PTR_NOT_NULL(strstr(r.p, "\r\n\r\n=E9\r\n"));
        free(r.p);
    }
}

static void
test_api(void)
{
    struct mime7_conv *c = malloc(sizeof *c);
    char out[64];
    size_t used = 7, n = 7;
    bool done = false;

    if (c == NULL)
        abort();
    mime7_init(c);
    CU_ASSERT_EQUAL(mime7_convert(NULL, "a", 1, out, sizeof out, &used, &n), HERALD_E_INVAL);
    CU_ASSERT_EQUAL(mime7_convert(c, NULL, 1, out, sizeof out, &used, &n), HERALD_E_INVAL);
    CU_ASSERT_EQUAL(mime7_convert(c, "a", 1, NULL, sizeof out, &used, &n), HERALD_E_INVAL);
    CU_ASSERT_EQUAL(mime7_convert(c, "a", 1, out, 0, &used, &n), HERALD_E_LIMIT);
    CU_ASSERT_EQUAL(mime7_convert(c, NULL, 0, out, sizeof out, &used, &n), HERALD_OK);
    CU_ASSERT_TRUE(used == 0 && n == 0);
    CU_ASSERT_EQUAL(mime7_convert(c, "MIME-Version: 1.0\n\nx", 20, out, sizeof out, &used, &n),
                    HERALD_OK);
    CU_ASSERT_EQUAL(used, 20);
    CU_ASSERT_EQUAL(mime7_finish(c, out, 0, &n, &done), HERALD_E_LIMIT);
    CU_ASSERT_EQUAL(mime7_finish(c, out, sizeof out, &n, NULL), HERALD_E_INVAL);
    CU_ASSERT_EQUAL(mime7_finish(c, out, sizeof out, &n, &done), HERALD_OK);
    CU_ASSERT_TRUE(done);
    CU_ASSERT_EQUAL(mime7_finish(c, out, sizeof out, &n, &done), HERALD_OK);
    CU_ASSERT_TRUE(done && n == 0);
    CU_ASSERT_EQUAL(mime7_convert(c, "a", 1, out, sizeof out, &used, &n), HERALD_E_INVAL);
    CU_ASSERT_STRING_EQUAL(mime7_problem_text(MIME7_P_NOT_MIME), "not MIME");
    CU_ASSERT_STRING_EQUAL(mime7_problem_text(0), "");
    {
        unsigned bit;

        for (bit = 1; bit <= MIME7_P__ALL; bit <<= 1)
            CU_ASSERT_TRUE(mime7_problem_text(bit)[0] != '\0');
    }
    free(c);
}

int
main(void)
{
    static const struct test_case cases[] = {
        { "not MIME: passed through", test_not_mime },
        { "single part 8bit -> quoted-printable", test_single_part },
        { "multipart: 8bit and 7bit parts", test_multipart },
        { "nested multipart", test_nested },
        { "message/rfc822", test_rfc822 },
        { "long lines: soft breaks", test_long_lines },
        { "trailing SP and TAB", test_trailing_white },
        { "'=' encoded", test_equals },
        { "folded CTE field", test_folded_cte },
        { "header syntax", test_header_syntax },
        { "what is not converted", test_not_converted },
        { "header block bound", test_header_bound },
        { "nesting bound", test_depth },
        { "arguments and finish", test_api },
        { NULL, NULL },
    };

    return test_run_suite("mime_7bit", NULL, NULL, cases);
}
