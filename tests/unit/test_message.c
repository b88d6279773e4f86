/*
 * test_message.c - envelope address checks and body readers (core/message.c)
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <CUnit/Basic.h>
#include "test_main.h"
#include <herald/message.h>

static char tmpdir[] = "/tmp/herald-msg-XXXXXX";

/* fill_pattern - deterministic, non-repeating-looking bytes, every value 0..255 appears */
static void
fill_pattern(unsigned char *p, size_t n, unsigned seed)
{
    size_t i;
    unsigned x = seed * 2654435761u + 1;

    for (i = 0; i < n; i++) {
        x = x * 1103515245u + 12345u;
        p[i] = (unsigned char)(x >> 16);
    }
}

/* write_file - path under tmpdir holding n bytes of data */
static int
write_file(const char *name, const unsigned char *data, size_t n, char *path, size_t size)
{
    FILE *f;

    snprintf(path, size, "%s/%s", tmpdir, name);
    f = fopen(path, "wb");
    if (f == NULL)
        return -1;
    if (n > 0 && fwrite(data, 1, n, f) != n) {
        fclose(f);
        return -1;
    }
    return fclose(f);
}

/* read_all - read the whole body through one reader in chunk-sized pieces */
static unsigned char *
read_all(const struct herald_message *m, size_t chunk, size_t *len_out)
{
    struct herald_body_reader *r = NULL;
    unsigned char *buf = NULL, *tmp;
    size_t len = 0, n, loops = 0;

    tmp = malloc(chunk);
    if (tmp == NULL || herald_body_open(m, &r) != HERALD_OK) {
        free(tmp);
        return NULL;
    }
    /* Bounded: a reader that never reaches the end fails the test. */
    while (loops++ < 10000000) {
        unsigned char *g;

        if (herald_body_read(r, tmp, chunk, &n) != HERALD_OK) {
            free(buf);
            buf = NULL;
            break;
        }
        if (n == 0) {
            if (buf == NULL)
                buf = malloc(1);
            break;
        }
        g = realloc(buf, len + n);
        if (g == NULL) {
            free(buf);
            buf = NULL;
            break;
        }
        buf = g;
        memcpy(buf + len, tmp, n);
        len += n;
    }
    herald_body_close(&r);
    CU_ASSERT_PTR_NULL(r);
    free(tmp);
    *len_out = len;
    return buf;
}

/* test_address_table - accepted and refused recipient addresses */
static void
test_address_table(void)
{
    static const struct { const char *addr; int ok; } cases[] = {
        { "user@example.com", 1 },
        { "first.last+tag@sub.example.co", 1 },
        { "a@localhost", 1 },
        { "a@[127.0.0.1]", 1 },
        { "a@[IPv6:::1]", 1 },
        { "\"odd@local\"@example.com", 1 },
        { "a@xn--bcher-kva.example", 1 },
        { "o'brien+tag=x@example.com", 1 },             /* atext specials */
        { "\"a,b;c\"@example.com", 1 },                 /* quoted: anything printable */
        { "\"a\\\"b\"@example.com", 1 },               /* quoted-pair */
        { ".a@example.com", 0 },
        { "a.@example.com", 0 },
        { "a..b@example.com", 0 },
        { "a,b@example.com", 0 },                       /* needs quoting */
        { "a(b)@example.com", 0 },
        { "\"ab@example.com", 0 },                       /* unterminated quote */
        { "\"a\\\"@example.com", 0 },                   /* escaped closing quote */
        { "a\r@example.com", 0 },
        { "a@example.com\n", 0 },
        { "a@exa\r\nmple.com", 0 },
        { "a\t@example.com", 0 },
        { "a b@example.com", 0 },
        { "<a@example.com>", 0 },
        { "a@example.com>", 0 },
        { "a@", 0 },
        { "a", 0 },
        { "", 0 },
        { "@example.com", 0 },
        { "a@b@example.com", 0 },
        { "a@example..com", 0 },
        { "a@.example.com", 0 },
        { "a@example.com.", 0 },
        { "a@-example.com", 0 },
        { "a@example-.com", 0 },
        { "a@exa_mple.com", 0 },
        { "a@[1.2.3]", 0 },
        { "a@[IPv6:zz]", 0 },
        { "a@[127.0.0.1", 0 },
        { "a@ex\x7fmple.com", 0 },
        { "j\xc3\xbcrgen@example.com", 1 },            /* UTF-8 local part (RFC 6531) */
        { "\xe2\x82\xac\xf0\x9f\x93\xa7@example.com", 1 }, /* 3- and 4-octet sequences */
        { "a@b\xc3\xbc" "cher.example", 0 },             /* U-label domain: A-label wanted */
        { "j\xfcrgen@example.com", 0 },                /* Latin-1, not UTF-8 */
        { "a\xc3@example.com", 0 },                    /* truncated sequence */
        { "a\xc0\xaf@example.com", 0 },                /* overlong "/" */
        { "a\xed\xa0\x80@example.com", 0 },            /* UTF-16 surrogate */
        { "a\xf4\x90\x80\x80@example.com", 0 },        /* above U+10FFFF */
        { "a\x80@example.com", 0 },                    /* lone continuation */
    };
    struct herald_diag d;
    size_t i;

    for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        herald_status st;

        memset(&d, 0, sizeof d);
        st = herald_address_check(cases[i].addr, 1, &d);
        if (cases[i].ok) {
            CU_ASSERT_EQUAL(st, HERALD_OK);
        } else {
            CU_ASSERT_EQUAL(st, HERALD_E_ADDRESS);
            CU_ASSERT(d.text[0] != '\0');
            CU_ASSERT_PTR_NULL(strchr(d.text, '\r'));
            CU_ASSERT_PTR_NULL(strchr(d.where, '\n'));
        }
        if ((st == HERALD_OK) != cases[i].ok)
            fprintf(stderr, "address case %zu \"%s\": got %d (%s)\n", i, cases[i].addr, st,
                    d.text);
    }
    CU_ASSERT_EQUAL(herald_address_check(NULL, 1, NULL), HERALD_E_INVAL);
}

/* test_smtputf8_and_dsn - which messages need SMTPUTF8; the DSN request rules */
static void
test_smtputf8_and_dsn(void)
{
    struct herald_message *m = NULL;
    char envid[102];

    CU_ASSERT_EQUAL_FATAL(herald_message_new(&m), HERALD_OK);
    CU_ASSERT_FALSE(herald_message_needs_smtputf8(m));
    CU_ASSERT_EQUAL(herald_message_add_recipient(m, "a@example.com"), HERALD_OK);
    CU_ASSERT_FALSE(herald_message_needs_smtputf8(m));
    CU_ASSERT_EQUAL(herald_message_set_sender(m, "j\xc3\xbcrgen@example.com"), HERALD_OK);
    CU_ASSERT_TRUE(herald_message_needs_smtputf8(m));
    CU_ASSERT_EQUAL(herald_message_set_sender(m, "plain@example.com"), HERALD_OK);
    CU_ASSERT_FALSE(herald_message_needs_smtputf8(m));
    CU_ASSERT_EQUAL(herald_message_add_recipient(m, "z\xc3\xb6" "e@example.com"), HERALD_OK);
    CU_ASSERT_TRUE(herald_message_needs_smtputf8(m));

    CU_ASSERT_EQUAL(herald_message_dsn_notify(m), 0u);
    CU_ASSERT_EQUAL(herald_message_dsn_ret(m), HERALD_DSN_RET_DEFAULT);
    CU_ASSERT_PTR_NULL(herald_message_dsn_envid(m));
    CU_ASSERT_EQUAL(herald_message_set_dsn(m, HERALD_DSN_NOTIFY_SUCCESS | HERALD_DSN_NOTIFY_DELAY,
                                           HERALD_DSN_RET_HDRS, "id-1"), HERALD_OK);
    CU_ASSERT_EQUAL(herald_message_dsn_notify(m),
                    HERALD_DSN_NOTIFY_SUCCESS | HERALD_DSN_NOTIFY_DELAY);
    CU_ASSERT_EQUAL(herald_message_dsn_ret(m), HERALD_DSN_RET_HDRS);
    CU_ASSERT_STRING_EQUAL(herald_message_dsn_envid(m), "id-1");
    /* Refused, and the earlier request stays. */
    CU_ASSERT_EQUAL(herald_message_set_dsn(m, HERALD_DSN_NOTIFY_NEVER | HERALD_DSN_NOTIFY_FAILURE,
                                           HERALD_DSN_RET_DEFAULT, NULL), HERALD_E_INVAL);
    CU_ASSERT_EQUAL(herald_message_set_dsn(m, 0x10u, HERALD_DSN_RET_DEFAULT, NULL),
                    HERALD_E_INVAL);
    CU_ASSERT_EQUAL(herald_message_set_dsn(m, 0, (enum herald_dsn_ret)7, NULL), HERALD_E_INVAL);
    CU_ASSERT_EQUAL(herald_message_set_dsn(m, 0, HERALD_DSN_RET_FULL, "a b"), HERALD_E_INVAL);
    CU_ASSERT_EQUAL(herald_message_set_dsn(m, 0, HERALD_DSN_RET_FULL, ""), HERALD_E_INVAL);
    memset(envid, 'x', 101);
    envid[101] = '\0';
    CU_ASSERT_EQUAL(herald_message_set_dsn(m, 0, HERALD_DSN_RET_FULL, envid), HERALD_E_INVAL);
    envid[100] = '\0';
    CU_ASSERT_STRING_EQUAL(herald_message_dsn_envid(m), "id-1");
    CU_ASSERT_EQUAL(herald_message_set_dsn(m, HERALD_DSN_NOTIFY_NEVER, HERALD_DSN_RET_FULL, envid),
                    HERALD_OK);
    CU_ASSERT_EQUAL(strlen(herald_message_dsn_envid(m)), 100u);
    CU_ASSERT_EQUAL(herald_message_set_dsn(m, 0, HERALD_DSN_RET_DEFAULT, NULL), HERALD_OK);
    CU_ASSERT_PTR_NULL(herald_message_dsn_envid(m));
    CU_ASSERT_EQUAL(herald_message_set_dsn(NULL, 0, HERALD_DSN_RET_DEFAULT, NULL), HERALD_E_INVAL);
    herald_message_free(&m);
}

/* test_address_nul - a NUL ends the C string: what follows can never be seen */
static void
test_address_nul(void)
{
    static const char with_nul[] = "a\0@example.com";
    struct herald_message *m = NULL;

    CU_ASSERT_EQUAL(herald_address_check(with_nul, 1, NULL), HERALD_E_ADDRESS);
    CU_ASSERT_EQUAL_FATAL(herald_message_new(&m), HERALD_OK);
    CU_ASSERT_EQUAL(herald_message_add_recipient(m, with_nul), HERALD_E_ADDRESS);
    CU_ASSERT_EQUAL(herald_message_recipient_count(m), 0);
    herald_message_free(&m);
}

/* test_address_length - 254 octets pass, 255 fail; local part at most 64 */
static void
test_address_length(void)
{
    char addr[300], local[80];
    struct herald_diag d;

    /* 64 + 1 + 189 = 254: labels of 63 octets. */
    memset(local, 'l', 64);
    local[64] = '\0';
    snprintf(addr, sizeof addr, "%s@%.63s.%.63s.%.61s", local,
             "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
             "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb",
             "cccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccc");
    CU_ASSERT_EQUAL(strlen(addr), 254);
    CU_ASSERT_EQUAL(herald_address_check(addr, 1, NULL), HERALD_OK);
    strcat(addr, "c");
    CU_ASSERT_EQUAL(strlen(addr), 255);
    CU_ASSERT_EQUAL(herald_address_check(addr, 1, &d), HERALD_E_ADDRESS);
    CU_ASSERT_PTR_NOT_NULL(strstr(d.text, "254"));
    memset(local, 'l', 65);
    local[65] = '\0';
    snprintf(addr, sizeof addr, "%s@example.com", local);
    CU_ASSERT_EQUAL(herald_address_check(addr, 1, NULL), HERALD_E_ADDRESS);
    /* A 64-octet label is one too many. */
    snprintf(addr, sizeof addr, "a@%.64s.com",
             "dddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddd");
    CU_ASSERT_EQUAL(herald_address_check(addr, 1, NULL), HERALD_E_ADDRESS);
}

/* test_sender - "" is the null reverse-path; the sender is checked too */
static void
test_sender(void)
{
    struct herald_message *m = NULL;

    CU_ASSERT_EQUAL_FATAL(herald_message_new(&m), HERALD_OK);
    CU_ASSERT_STRING_EQUAL(herald_message_sender(m), "");
    CU_ASSERT_EQUAL(herald_message_set_sender(m, "from@example.com"), HERALD_OK);
    CU_ASSERT_STRING_EQUAL(herald_message_sender(m), "from@example.com");
    CU_ASSERT_EQUAL(herald_message_set_sender(m, ""), HERALD_OK);
    CU_ASSERT_STRING_EQUAL(herald_message_sender(m), "");
    CU_ASSERT_EQUAL(herald_message_set_sender(m, "x@example.com\r\nRCPT TO:<y@z>"),
                    HERALD_E_ADDRESS);
    CU_ASSERT_EQUAL(herald_message_set_sender(m, "x@"), HERALD_E_ADDRESS);
    CU_ASSERT_STRING_EQUAL(herald_message_sender(m), "");
    CU_ASSERT_EQUAL(herald_address_check("", 0, NULL), HERALD_OK);
    CU_ASSERT_EQUAL(herald_address_check("", 1, NULL), HERALD_E_ADDRESS);
    herald_message_free(&m);
    CU_ASSERT_PTR_NULL(m);
    herald_message_free(&m);   /* NULL is fine */
}

/* test_recipients - order kept, bad ones refused without changing the list */
static void
test_recipients(void)
{
    struct herald_message *m = NULL;
    size_t i;
    char addr[64];

    CU_ASSERT_EQUAL_FATAL(herald_message_new(&m), HERALD_OK);
    for (i = 0; i < 20; i++) {
        snprintf(addr, sizeof addr, "r%zu@d%zu.example", i, i % 3);
        CU_ASSERT_EQUAL(herald_message_add_recipient(m, addr), HERALD_OK);
    }
    CU_ASSERT_EQUAL(herald_message_add_recipient(m, "bad\n@example.com"), HERALD_E_ADDRESS);
    CU_ASSERT_EQUAL(herald_message_add_recipient(m, "nodomain"), HERALD_E_ADDRESS);
    CU_ASSERT_EQUAL(herald_message_recipient_count(m), 20);
    CU_ASSERT_STRING_EQUAL(herald_message_recipient(m, 7), "r7@d1.example");
    CU_ASSERT_PTR_NULL(herald_message_recipient(m, 20));
    CU_ASSERT_STRING_EQUAL(herald_address_domain(herald_message_recipient(m, 5)), "d2.example");
    CU_ASSERT_STRING_EQUAL(herald_address_domain("\"a@b\"@c.example"), "c.example");
    CU_ASSERT_PTR_NULL(herald_address_domain("nodomain"));
    herald_message_free(&m);
}

/* test_body_buffer - a borrowed buffer read back identical, in odd chunks */
static void
test_body_buffer(void)
{
    static const char text[] = "Subject: hi\r\n\r\nline one\nno final newline";
    struct herald_message *m = NULL;
    unsigned char *back;
    size_t len = 0, size = 99;

    CU_ASSERT_EQUAL_FATAL(herald_message_new(&m), HERALD_OK);
    /* No body yet: an empty one. */
    CU_ASSERT_EQUAL(herald_message_body_size(m, &size), HERALD_OK);
    CU_ASSERT_EQUAL(size, 0);
    CU_ASSERT_EQUAL(herald_message_set_body_buffer(m, text, sizeof text - 1), HERALD_OK);
    CU_ASSERT_EQUAL(herald_message_body_size(m, &size), HERALD_OK);
    CU_ASSERT_EQUAL(size, sizeof text - 1);
    back = read_all(m, 7, &len);
    CU_ASSERT_PTR_NOT_NULL_FATAL(back);
    CU_ASSERT_EQUAL(len, sizeof text - 1);
    CU_ASSERT(memcmp(back, text, len) == 0);
    free(back);
    CU_ASSERT_EQUAL(herald_message_set_body_buffer(m, NULL, 5), HERALD_E_INVAL);
    CU_ASSERT_EQUAL(herald_message_set_body_buffer(m, NULL, 0), HERALD_OK);
    back = read_all(m, 7, &len);
    CU_ASSERT_PTR_NOT_NULL(back);
    CU_ASSERT_EQUAL(len, 0);
    free(back);
    herald_message_free(&m);
}

/* test_body_file_big - 5 MB from a file, two readers interleaved, each identical */
static void
test_body_file_big(void)
{
    const size_t total = 5 * 1024 * 1024 + 17;
    struct herald_body_reader *r1 = NULL, *r2 = NULL;
    struct herald_message *m = NULL;
    unsigned char *data, *b1, *b2;
    size_t off1 = 0, off2 = 0, n, size = 0, loops = 0;
    char path[512];
    int ok = 1;

    data = malloc(total);
    b1 = malloc(total);
    b2 = malloc(total);
    CU_ASSERT_PTR_NOT_NULL_FATAL(data && b1 && b2 ? data : NULL);
    fill_pattern(data, total, 5);
    CU_ASSERT_EQUAL_FATAL(write_file("big", data, total, path, sizeof path), 0);
    CU_ASSERT_EQUAL_FATAL(herald_message_new(&m), HERALD_OK);
    CU_ASSERT_EQUAL_FATAL(herald_message_set_body_file(m, path), HERALD_OK);
    CU_ASSERT_EQUAL(herald_message_body_size(m, &size), HERALD_OK);
    CU_ASSERT_EQUAL(size, total);
    CU_ASSERT_EQUAL_FATAL(herald_body_open(m, &r1), HERALD_OK);
    CU_ASSERT_EQUAL_FATAL(herald_body_open(m, &r2), HERALD_OK);
    /* Different chunk sizes, interleaved: each reader must keep its own offset. */
    while (ok && loops++ < 100000) {
        size_t got1 = 0, got2 = 0;

        size_t cap1 = total - off1 < 65536 ? total - off1 : 65536;
        size_t cap2 = total - off2 < 10007 ? total - off2 : 10007;

        if (off1 == total && off2 == total)
            break;
        ok = herald_body_read(r1, b1 + off1, cap1, &got1) == HERALD_OK;
        off1 += got1;
        if (ok) {
            ok = herald_body_read(r2, b2 + off2, cap2, &got2) == HERALD_OK;
            off2 += got2;
        }
    }
    CU_ASSERT(ok);
    CU_ASSERT_EQUAL(off1, total);
    CU_ASSERT_EQUAL(off2, total);
    CU_ASSERT(memcmp(b1, data, total) == 0);
    CU_ASSERT(memcmp(b2, data, total) == 0);
    /* At the end: zero octets, repeatedly. */
    CU_ASSERT_EQUAL(herald_body_read(r1, b1, 100, &n), HERALD_OK);
    CU_ASSERT_EQUAL(n, 0);
    herald_body_close(&r1);
    herald_body_close(&r2);
    /* The message keeps its file open: the name can go away. */
    CU_ASSERT_EQUAL(unlink(path), 0);
    b1[0] = (unsigned char)~data[0];
    CU_ASSERT_EQUAL_FATAL(herald_body_open(m, &r1), HERALD_OK);
    CU_ASSERT_EQUAL(herald_body_read(r1, b1, 1, &n), HERALD_OK);
    CU_ASSERT_EQUAL(n, 1);
    CU_ASSERT_EQUAL(b1[0], data[0]);
    herald_body_close(&r1);
    herald_message_free(&m);
    free(data);
    free(b1);
    free(b2);
}

/* test_body_file_missing - a missing file is an error when it is set */
static void
test_body_file_missing(void)
{
    struct herald_message *m = NULL;
    char path[512];

    snprintf(path, sizeof path, "%s/no-such-file", tmpdir);
    CU_ASSERT_EQUAL_FATAL(herald_message_new(&m), HERALD_OK);
    CU_ASSERT_NOT_EQUAL(herald_message_set_body_file(m, path), HERALD_OK);
    CU_ASSERT_NOT_EQUAL(herald_message_set_body_file(m, tmpdir), HERALD_OK);   /* a folder */
    CU_ASSERT_EQUAL(herald_message_set_body_file(m, ""), HERALD_E_INVAL);
    herald_message_free(&m);
}

/* test_body_file_shrunk - a file truncated after it was set is an error, not a short body */
static void
test_body_file_shrunk(void)
{
    unsigned char data[4096], buf[8192];
    struct herald_body_reader *r = NULL;
    struct herald_message *m = NULL;
    char path[512];
    size_t n = 0;

    fill_pattern(data, sizeof data, 9);
    CU_ASSERT_EQUAL_FATAL(write_file("shrink", data, sizeof data, path, sizeof path), 0);
    CU_ASSERT_EQUAL_FATAL(herald_message_new(&m), HERALD_OK);
    CU_ASSERT_EQUAL_FATAL(herald_message_set_body_file(m, path), HERALD_OK);
    CU_ASSERT_EQUAL(truncate(path, 100), 0);
    CU_ASSERT_EQUAL_FATAL(herald_body_open(m, &r), HERALD_OK);
    CU_ASSERT_EQUAL(herald_body_read(r, buf, sizeof buf, &n), HERALD_OK);
    CU_ASSERT_EQUAL(n, 100);
    CU_ASSERT_EQUAL(herald_body_read(r, buf, sizeof buf, &n), HERALD_E_IO);
    herald_body_close(&r);
    herald_message_free(&m);
}

/* write_body_file - path in tmpdir holding data[0..len) */
static void
write_body_file(const char *path, const unsigned char *data, size_t len)
{
    FILE *f = fopen(path, "wb");

    CU_ASSERT_PTR_NOT_NULL_FATAL(f);
    CU_ASSERT_EQUAL(fwrite(data, 1, len, f), len);
    CU_ASSERT_EQUAL(fclose(f), 0);
}

/* test_body_8bit - the 8-bit flag from a buffer, a file and a stream, with the
 * one high octet at the very end, past the first 64 KB chunk */
static void
test_body_8bit(void)
{
    const size_t len = 200 * 1024 + 7;
    struct herald_message *m = NULL;
    unsigned char *data;
    char path[64];
    int fd;

    data = malloc(len);
    CU_ASSERT_PTR_NOT_NULL_FATAL(data);
    memset(data, 'a', len);
    snprintf(path, sizeof path, "%s/eight", tmpdir);
    CU_ASSERT_EQUAL_FATAL(herald_message_new(&m), HERALD_OK);
    CU_ASSERT_FALSE(herald_message_body_8bit(m));   /* the empty body */

    CU_ASSERT_EQUAL(herald_message_set_body_buffer(m, data, len), HERALD_OK);
    CU_ASSERT_FALSE(herald_message_body_8bit(m));
    write_body_file(path, data, len);
    CU_ASSERT_EQUAL(herald_message_set_body_file(m, path), HERALD_OK);
    CU_ASSERT_FALSE(herald_message_body_8bit(m));

    data[len - 1] = 0x80;
    CU_ASSERT_EQUAL(herald_message_set_body_buffer(m, data, len), HERALD_OK);
    CU_ASSERT_TRUE(herald_message_body_8bit(m));
    write_body_file(path, data, len);
    CU_ASSERT_EQUAL(herald_message_set_body_file(m, path), HERALD_OK);
    CU_ASSERT_TRUE(herald_message_body_8bit(m));
    fd = open(path, O_RDONLY);
    CU_ASSERT_FATAL(fd >= 0);
    CU_ASSERT_EQUAL(herald_message_set_body_fd(m, fd), HERALD_OK);
    close(fd);
    CU_ASSERT_TRUE(herald_message_body_8bit(m));

    /* A new body forgets the old one's flag. */
    CU_ASSERT_EQUAL(herald_message_set_body_buffer(m, "plain\n", 6), HERALD_OK);
    CU_ASSERT_FALSE(herald_message_body_8bit(m));
    CU_ASSERT_FALSE(herald_message_body_8bit(NULL));
    herald_message_free(&m);
    unlink(path);
    free(data);
}

/* wire_size_of - herald_message_body_wire_size() of data[0..len) set as a
 * buffer, a file, a stream and a range after 5 octets of envelope: all four
 * must agree, so one value is returned (UINT64_MAX when they do not) */
static uint64_t
wire_size_of(const unsigned char *data, size_t len)
{
    struct herald_message *m = NULL;
    uint64_t got[4];
    char path[64], rpath[64];
    unsigned char *framed;
    int fd, i;

    snprintf(path, sizeof path, "%s/wire", tmpdir);
    snprintf(rpath, sizeof rpath, "%s/wire-range", tmpdir);
    CU_ASSERT_EQUAL_FATAL(herald_message_new(&m), HERALD_OK);
    CU_ASSERT_EQUAL(herald_message_set_body_buffer(m, data, len), HERALD_OK);
    got[0] = herald_message_body_wire_size(m);
    write_body_file(path, data, len);
    CU_ASSERT_EQUAL(herald_message_set_body_file(m, path), HERALD_OK);
    got[1] = herald_message_body_wire_size(m);
    fd = open(path, O_RDONLY);
    CU_ASSERT_FATAL(fd >= 0);
    CU_ASSERT_EQUAL(herald_message_set_body_fd(m, fd), HERALD_OK);
    close(fd);
    got[2] = herald_message_body_wire_size(m);
    /* A queue file: an envelope ending in a bare CR first, which must not count. */
    framed = malloc(len + 5);
    CU_ASSERT_PTR_NOT_NULL_FATAL(framed);
    memcpy(framed, "env\n\r", 5);
    memcpy(framed + 5, data, len);
    write_body_file(rpath, framed, len + 5);
    free(framed);
    fd = open(rpath, O_RDONLY);
    CU_ASSERT_FATAL(fd >= 0);
    CU_ASSERT_EQUAL(herald_message_set_body_range(m, fd, 5, len, false), HERALD_OK);
    close(fd);
    got[3] = herald_message_body_wire_size(m);
    herald_message_free(&m);
    unlink(path);
    unlink(rpath);
    for (i = 1; i < 4; i++)
        if (got[i] != got[0])
            return UINT64_MAX;
    return got[0];
}

/*
 * test_body_wire_size - SIZE= as the body goes on the wire (RFC 1870): every
 * line ending, bare CR and bare LF included, is CRLF, a last line without one
 * gets CRLF, dots are not doubled; the same from a buffer, a file, a stream
 * and a queue file's range, counted when the body is set
 */
static void
test_body_wire_size(void)
{
    static const struct {
        const char *body;
        uint64_t wire;
    } rows[] = {
        { "", 0 },
        { "a", 3 },                      /* "a\r\n" */
        { "a\r\n", 3 },
        { "a\n", 3 },
        { "a\r", 3 },                    /* a bare CR at the end */
        { "a\rb\r\n", 6 },               /* a bare CR inside */
        { "\n\n\n", 6 },
        { "\r\n\r\n", 4 },
        { "\n\r", 4 },                   /* LF, then a bare CR: two line endings */
        { ".\r\n..\n", 7 },              /* dots are not doubled for SIZE= */
        { "Subject: x\n\nbody", 20 },
    };
    const size_t big = 3 * 65536 + 10;
    unsigned char *data;
    size_t i;

    for (i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        uint64_t w = wire_size_of((const unsigned char *)rows[i].body, strlen(rows[i].body));

        if (w != rows[i].wire)
            fprintf(stderr, "row %zu: %llu, expected %llu\n", i, (unsigned long long)w,
                    (unsigned long long)rows[i].wire);
        CU_ASSERT_EQUAL(w, rows[i].wire);
    }
    /* Past the 64 KB read chunks: a CRLF cut by a chunk edge is one line
     * ending, a CR alone at the next edge is a bare CR. */
    data = malloc(big);
    CU_ASSERT_PTR_NOT_NULL_FATAL(data);
    memset(data, 'x', big);
    data[65535] = '\r';
    data[65536] = '\n';
    data[2 * 65536 - 1] = '\r';
    data[big - 1] = '\n';
    CU_ASSERT_EQUAL(wire_size_of(data, big), (uint64_t)big + 1 + 1);
    free(data);
    CU_ASSERT_EQUAL(herald_message_body_wire_size(NULL), 0);
}

/* test_body_fd - a pipe fed by a child process, copied once and re-readable */
static void
test_body_fd(void)
{
    const size_t total = 1024 * 1024 + 3;
    struct herald_message *m = NULL;
    unsigned char *data, *back;
    size_t len = 0, size = 0;
    int p[2], status = 0;
    pid_t pid;

    data = malloc(total);
    CU_ASSERT_PTR_NOT_NULL_FATAL(data);
    fill_pattern(data, total, 3);
    CU_ASSERT_EQUAL_FATAL(pipe(p), 0);
    pid = fork();
    CU_ASSERT_FATAL(pid >= 0);
    if (pid == 0) {
        size_t off = 0;

        close(p[0]);
        while (off < total) {
            ssize_t w = write(p[1], data + off, total - off);

            if (w <= 0)
                _exit(1);
            off += (size_t)w;
        }
        _exit(0);
    }
    close(p[1]);
    CU_ASSERT_EQUAL_FATAL(herald_message_new(&m), HERALD_OK);
    CU_ASSERT_EQUAL(herald_message_set_body_fd(m, p[0]), HERALD_OK);
    CU_ASSERT_EQUAL(waitpid(pid, &status, 0), pid);
    CU_ASSERT(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    /* The caller's descriptor is still the caller's. */
    CU_ASSERT(fcntl(p[0], F_GETFD) >= 0);
    close(p[0]);
    CU_ASSERT_EQUAL(herald_message_body_size(m, &size), HERALD_OK);
    CU_ASSERT_EQUAL(size, total);
    back = read_all(m, 65536, &len);
    CU_ASSERT_PTR_NOT_NULL_FATAL(back);
    CU_ASSERT_EQUAL(len, total);
    CU_ASSERT(len == total && memcmp(back, data, total) == 0);
    free(back);
    /* A second pass reads the same bytes. */
    back = read_all(m, 4093, &len);
    CU_ASSERT(back != NULL && len == total && memcmp(back, data, total) == 0);
    free(back);
    CU_ASSERT_EQUAL(herald_message_set_body_fd(m, -1), HERALD_E_INVAL);
    herald_message_free(&m);
    free(data);
}

/* test_body_replace - setting a new body drops the old one */
static void
test_body_replace(void)
{
    static const unsigned char bin[] = { 0, 1, '\r', '\n', 0xff, '.', '\n', 0 };
    struct herald_message *m = NULL;
    unsigned char *back;
    char path[512];
    size_t len = 0;

    CU_ASSERT_EQUAL_FATAL(write_file("bin", bin, sizeof bin, path, sizeof path), 0);
    CU_ASSERT_EQUAL_FATAL(herald_message_new(&m), HERALD_OK);
    CU_ASSERT_EQUAL(herald_message_set_body_buffer(m, "xyz", 3), HERALD_OK);
    CU_ASSERT_EQUAL(herald_message_set_body_file(m, path), HERALD_OK);
    back = read_all(m, 3, &len);
    CU_ASSERT(back != NULL && len == sizeof bin && memcmp(back, bin, len) == 0);
    free(back);
    herald_message_free(&m);
}

/* test_try_last - the addresses a device tries last: by address and port,
 * once each, the reason copied and cut, bad arguments refused */
static void
test_try_last(void)
{
    struct herald_message *m = NULL;
    char reason[400];
    const char *why;

    CU_ASSERT_EQUAL_FATAL(herald_message_new(&m), HERALD_OK);
    CU_ASSERT_PTR_NULL(herald_message_try_last(m, "127.0.0.2", 25));
    strcpy(reason, "421 4.3.2 closing");
    CU_ASSERT_EQUAL(herald_message_add_try_last(m, "127.0.0.2", 25, reason), HERALD_OK);
    reason[0] = 'X';   /* copied: the caller's buffer may change */
    why = herald_message_try_last(m, "127.0.0.2", 25);
    CU_ASSERT_PTR_NOT_NULL_FATAL(why);
    CU_ASSERT_STRING_EQUAL(why, "421 4.3.2 closing");
    CU_ASSERT_PTR_NULL(herald_message_try_last(m, "127.0.0.2", 2525));   /* another port */
    CU_ASSERT_PTR_NULL(herald_message_try_last(m, "127.0.0.20", 25));
    /* Once: the first reason stays. */
    CU_ASSERT_EQUAL(herald_message_add_try_last(m, "127.0.0.2", 25, "other"), HERALD_OK);
    CU_ASSERT_STRING_EQUAL(herald_message_try_last(m, "127.0.0.2", 25), "421 4.3.2 closing");
    memset(reason, 'r', sizeof reason - 1);
    reason[sizeof reason - 1] = '\0';
    CU_ASSERT_EQUAL(herald_message_add_try_last(m, "::1", 25, reason), HERALD_OK);
    why = herald_message_try_last(m, "::1", 25);
    CU_ASSERT(why != NULL && strlen(why) == 200);
    CU_ASSERT_EQUAL(herald_message_add_try_last(m, "127.0.0.3", 25, NULL), HERALD_OK);
    CU_ASSERT_STRING_EQUAL(herald_message_try_last(m, "127.0.0.3", 25), "");
    CU_ASSERT_EQUAL(herald_message_add_try_last(m, "", 25, "x"), HERALD_E_INVAL);
    CU_ASSERT_EQUAL(herald_message_add_try_last(m, NULL, 25, "x"), HERALD_E_INVAL);
    CU_ASSERT_EQUAL(herald_message_add_try_last(NULL, "127.0.0.2", 25, "x"), HERALD_E_INVAL);
    CU_ASSERT_PTR_NULL(herald_message_try_last(NULL, "127.0.0.2", 25));
    herald_message_free(&m);
}

/* rm_tmpdir - remove the files this test made */
static void
rm_tmpdir(void)
{
    static const char *const names[] = { "big", "shrink", "bin" };
    char path[512];
    size_t i;

    for (i = 0; i < sizeof names / sizeof names[0]; i++) {
        snprintf(path, sizeof path, "%s/%s", tmpdir, names[i]);
        unlink(path);
    }
    rmdir(tmpdir);
}

int
main(void)
{
    static const struct test_case cases[] = {
        { "address table", test_address_table },
        { "address with NUL", test_address_nul },
        { "SMTPUTF8 and DSN requests", test_smtputf8_and_dsn },
        { "address length", test_address_length },
        { "sender", test_sender },
        { "recipients", test_recipients },
        { "body from buffer", test_body_buffer },
        { "body from 5 MB file, two readers", test_body_file_big },
        { "missing body file", test_body_file_missing },
        { "body file shrunk", test_body_file_shrunk },
        { "body from pipe", test_body_fd },
        { "body replaced", test_body_replace },
        { "8-bit body flag", test_body_8bit },
        { "body size on the wire (SIZE=)", test_body_wire_size },
        { "addresses to try last", test_try_last },
        { NULL, NULL },
    };
    int rc;

    if (mkdtemp(tmpdir) == NULL) {
        perror("mkdtemp");
        return 99;
    }
    rc = test_run_suite("message", NULL, NULL, cases);
    rm_tmpdir();
    return rc;
}
