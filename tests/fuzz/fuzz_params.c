/*
 * fuzz_params.c - RFC 3461 xtext and the MAIL FROM / RCPT TO parameters
 * (devices/email/smtp_params.h)
 *
 * Input: octet 0 is an output room for smtp_xtext, octet 1 picks the DSN
 * settings and the extensions offered; the rest is two strings split at the
 * first LF: an address (recipient) and an envelope id.  Invariants:
 *  - smtp_xtext into an exact-size buffer of any room succeeds exactly when
 *    the encoding and its NUL fit; the encoding is canonical (only '+',
 *    '=', octets outside 0x21..0x7e as "+XX" with upper-case hex, nothing
 *    else encoded), printable ASCII without '=', and decodes back to the
 *    input;
 *  - for a recipient herald_message_add_recipient accepts and an envelope id
 *    herald_message_set_dsn accepts, both parameter strings fit in
 *    SMTP_PARAMS_MAX whatever the server offers (never HERALD_E_LIMIT): the
 *    longest legal values must not make a delivery fail;
 *  - the strings are "" or " KEYWORD[=VALUE] ..." (RFC 5321 esmtp-param:
 *    values printable ASCII without space or '='), and name only what the
 *    server offered: no RET, ENVID,
 *    NOTIFY or ORCPT without DSN, no SIZE without SIZE, no BODY=8BITMIME
 *    without 8BITMIME; ORCPT is "rfc822;" + xtext of the recipient, only
 *    for an ASCII recipient; ENVID is the xtext of the id;
 *  - with a smaller room the result is the same string or HERALD_E_LIMIT
 *    (and then the string did not fit); nothing is written past the room.
 */
#include <stdbool.h>

#include <herald/message.h>

#include "fuzz.h"
#include "smtp_ehlo.h"
#include "smtp_params.h"

/* xtext_len - octets of the encoding of s, without the NUL */
static size_t
xtext_len(const char *s)
{
    size_t n = 0;

    for (; *s != '\0'; s++) {
        unsigned char c = (unsigned char)*s;

        n += (c >= 0x21 && c <= 0x7e && c != '+' && c != '=') ? 1 : 3;
    }
    return n;
}

static int
hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* check_xtext - s into a room of cap octets */
static void
check_xtext(const char *s, size_t cap)
{
    size_t need = xtext_len(s) + 1, i, j = 0;
    char *out = fuzz_alloc(cap);
    herald_status st = smtp_xtext(s, out, cap);

    if (need > cap) {
        FUZZ_CHECK(st == HERALD_E_LIMIT);
        free(out);
        return;
    }
    FUZZ_CHECK(st == HERALD_OK);
    FUZZ_CHECK(strlen(out) == need - 1);
    for (i = 0; out[i] != '\0'; i++) {
        unsigned char c = (unsigned char)out[i];
        int hi, lo;

        FUZZ_CHECK(c >= 0x21 && c <= 0x7e && c != '=');
        if (c != '+') {
            FUZZ_CHECK(c == (unsigned char)s[j]);
            j++;
            continue;
        }
        hi = hexval(out[i + 1]);
        lo = out[i + 1] != '\0' ? hexval(out[i + 2]) : -1;
        FUZZ_CHECK(hi >= 0 && lo >= 0);
        c = (unsigned char)(hi * 16 + lo);
        FUZZ_CHECK(c == (unsigned char)s[j]);
        /* canonical: only what must be encoded is */
        FUZZ_CHECK(c < 0x21 || c > 0x7e || c == '+' || c == '=');
        j++;
        i += 2;
    }
    FUZZ_CHECK(s[j] == '\0');
    free(out);
}

/* check_clean - "" or " param param ...", each param an RFC 5321
 * esmtp-keyword ["=" esmtp-value]: a value is printable ASCII without SP
 * or '=' (so nothing can end the command line or add a parameter) */
static void
check_clean(const char *p)
{
    while (*p != '\0') {
        size_t k = 0;

        FUZZ_CHECK(*p == ' ');
        p++;
        while ((p[k] >= 'A' && p[k] <= 'Z') || (p[k] >= '0' && p[k] <= '9')
               || (k > 0 && p[k] == '-'))
            k++;
        FUZZ_CHECK(k > 0);
        p += k;
        if (*p == '=') {
            p++;
            FUZZ_CHECK(*p > 0x20 && *p < 0x7f);
            while (*p > 0x20 && *p < 0x7f) {
                FUZZ_CHECK(*p != '=');
                p++;
            }
        }
        FUZZ_CHECK(*p == '\0' || *p == ' ');
    }
}

/* check_smaller - the same call with a room of cap octets */
static void
check_smaller(const struct smtp_message *m, bool mail, unsigned ext, size_t cap,
              const char *full)
{
    char *out = fuzz_alloc(cap);
    herald_status st = mail ? smtp_mail_params(m, ext, out, cap)
                            : smtp_rcpt_params(m, 0, ext, out, cap);

    if (st == HERALD_OK)
        FUZZ_CHECK(strcmp(out, full) == 0);
    else
        FUZZ_CHECK(st == HERALD_E_LIMIT && strlen(full) + 1 > cap);
    free(out);
}

static bool
ascii(const char *s)
{
    for (; *s != '\0'; s++)
        if ((unsigned char)*s >= 0x80)
            return false;
    return true;
}

/* check_params - MAIL and RCPT parameters for a legal message */
static void
check_params(const struct smtp_message *m, unsigned ext, size_t small)
{
    char mail[SMTP_PARAMS_MAX], rcpt[SMTP_PARAMS_MAX], x[3 * 256 + 1];
    bool dsn = (ext & SMTP_EXT_DSN) != 0;

    FUZZ_CHECK(smtp_mail_params(m, ext, mail, sizeof mail) == HERALD_OK);
    FUZZ_CHECK(smtp_rcpt_params(m, 0, ext, rcpt, sizeof rcpt) == HERALD_OK);
    check_clean(mail);
    check_clean(rcpt);
    FUZZ_CHECK(ascii(mail) && ascii(rcpt));
    FUZZ_CHECK((strstr(mail, " SIZE=") != NULL) == ((ext & SMTP_EXT_SIZE) != 0));
    FUZZ_CHECK((strstr(mail, " BODY=8BITMIME") != NULL)
               == (m->eight_bit && (ext & SMTP_EXT_8BITMIME)));
    FUZZ_CHECK((strstr(mail, " SMTPUTF8") != NULL) == (m->smtputf8 && (ext & SMTP_EXT_SMTPUTF8)));
    FUZZ_CHECK((strstr(mail, " RET=") != NULL) == (dsn && m->dsn_ret != HERALD_DSN_RET_DEFAULT));
    FUZZ_CHECK((strstr(mail, " ENVID=") != NULL) == (dsn && m->dsn_envid != NULL));
    if (dsn && m->dsn_envid != NULL) {
        FUZZ_CHECK(smtp_xtext(m->dsn_envid, x, sizeof x) == HERALD_OK);
        FUZZ_CHECK(strcmp(strstr(mail, " ENVID=") + 7, x) == 0);
    }
    FUZZ_CHECK((strstr(rcpt, " NOTIFY=") != NULL) == (dsn && m->dsn_notify != 0));
    FUZZ_CHECK(smtp_dsn_requested(m) == (m->dsn_notify != 0 || m->dsn_ret != HERALD_DSN_RET_DEFAULT
                                         || m->dsn_envid != NULL));
    if (dsn && smtp_dsn_requested(m) && ascii(m->rcpts[0])) {
        const char *o = strstr(rcpt, " ORCPT=rfc822;");

        FUZZ_CHECK(o != NULL);
        FUZZ_CHECK(smtp_xtext(m->rcpts[0], x, sizeof x) == HERALD_OK);
        FUZZ_CHECK(strcmp(o + 14, x) == 0);
    } else {
        FUZZ_CHECK(strstr(rcpt, "ORCPT") == NULL);
    }
    check_smaller(m, true, ext, small, mail);
    check_smaller(m, false, ext, small, rcpt);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const unsigned notify[8] = {
        0, HERALD_DSN_NOTIFY_NEVER, HERALD_DSN_NOTIFY_SUCCESS, HERALD_DSN_NOTIFY_FAILURE,
        HERALD_DSN_NOTIFY_DELAY, HERALD_DSN_NOTIFY_SUCCESS | HERALD_DSN_NOTIFY_FAILURE,
        HERALD_DSN_NOTIFY_SUCCESS | HERALD_DSN_NOTIFY_FAILURE | HERALD_DSN_NOTIFY_DELAY,
        HERALD_DSN_NOTIFY_NEVER | HERALD_DSN_NOTIFY_DELAY,   /* refused by set_dsn */
    };
    struct herald_message *msg;
    const uint8_t *rest, *nl;
    char *addr, *envid;
    size_t n, cap;
    unsigned sel;

    if (size < 2)
        return 0;
    cap = data[0];
    sel = data[1];
    rest = data + 2;
    n = size - 2;
    nl = memchr(rest, '\n', n);
    addr = fuzz_strndup(rest, nl != NULL ? (size_t)(nl - rest) : n);
    envid = nl != NULL ? fuzz_strndup(nl + 1, n - (size_t)(nl + 1 - rest)) : NULL;

    check_xtext(addr, cap);
    check_xtext(addr, xtext_len(addr) + 1);
    if (envid != NULL)
        check_xtext(envid, cap);

    if (herald_message_new(&msg) != HERALD_OK)
        abort();
    if (herald_message_add_recipient(msg, addr) == HERALD_OK
        && herald_message_set_dsn(msg, notify[sel & 7], (enum herald_dsn_ret)((sel >> 3) % 3),
                                  envid) == HERALD_OK) {
        const char *rcpts[1] = { herald_message_recipient(msg, 0) };
        struct smtp_message m = {
            .sender = "", .rcpts = rcpts, .nrcpt = 1, .size = UINT64_MAX,
            .eight_bit = (sel & 0x20) != 0, .smtputf8 = herald_message_needs_smtputf8(msg),
            .dsn_notify = herald_message_dsn_notify(msg), .dsn_ret = herald_message_dsn_ret(msg),
            .dsn_envid = herald_message_dsn_envid(msg),
        };

        check_params(&m, 0, cap);
        check_params(&m, SMTP_EXT_DSN, cap);
        check_params(&m, 0xffu, cap);
        check_params(&m, (sel & 0x40) ? 0xffu & ~SMTP_EXT_DSN : SMTP_EXT_DSN | SMTP_EXT_SIZE, cap);
    }
    herald_message_free(&msg);
    free(addr);
    free(envid);
    return 0;
}
