/*
 * fuzz_address.c - herald_address_check (core/herald/message.h), the gate
 * every envelope address passes before it reaches an SMTP command line
 *
 * Input: octet 0's low bit is need_domain, the rest is the address (an inner
 * NUL ends it, as for any C caller; it sits in an exact-size heap block).
 * Invariants:
 *  - the result is HERALD_OK or HERALD_E_ADDRESS, the same with and without
 *    a diag; on failure the diag holds a non-empty reason, and both its
 *    fields are NUL-terminated single printable lines; on success the diag
 *    is not written;
 *  - the result agrees with a reference written from the rules the code
 *    documents: at most HERALD_ADDRESS_MAX octets; no control octet, space,
 *    '<' or '>'; well-formed UTF-8 (RFC 3629); "" only as a sender; a
 *    recipient has an '@'; with an '@', the local part (before the last one)
 *    is 1..64 octets with '@' and '"' only when it is quoted "...", and the
 *    domain is ASCII: LDH labels of 1..63 octets (no '-' at either end, no
 *    empty label, 253 octets at most) or "[IPv4]" / "[IPv6:...]";
 *  - so an accepted address never carries CR, LF or a bracket onto the wire,
 *    and an accepted recipient can be added to a message, a refused one not.
 */
#include <arpa/inet.h>
#include <stdbool.h>

#include <herald/message.h>

#include "fuzz.h"

/* ref_utf8 - RFC 3629 well-formed: shortest form, no surrogate, <= U+10FFFF */
static bool
ref_utf8(const unsigned char *s, size_t n)
{
    size_t i = 0, k, len;
    uint32_t cp, min;

    while (i < n) {
        unsigned char c = s[i];

        if (c < 0x80) {
            i++;
            continue;
        }
        if (c >= 0xc0 && c < 0xe0)
            len = 2, cp = c & 0x1f, min = 0x80;
        else if (c >= 0xe0 && c < 0xf0)
            len = 3, cp = c & 0x0f, min = 0x800;
        else if (c >= 0xf0 && c < 0xf8)
            len = 4, cp = c & 0x07, min = 0x10000;
        else
            return false;
        if (n - i < len)
            return false;
        for (k = 1; k < len; k++) {
            if ((s[i + k] & 0xc0) != 0x80)
                return false;
            cp = (cp << 6) | (s[i + k] & 0x3f);
        }
        if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
            return false;
        i += len;
    }
    return true;
}

static bool
ldh(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')
           || c == '-';
}

/* ref_domain - LDH host name or address literal */
static bool
ref_domain(const char *d)
{
    size_t n = strlen(d), i, start = 0;

    if (n == 0)
        return false;
    if (d[0] == '[') {
        char inner[64];
        unsigned char addr[16];

        if (n < 3 || d[n - 1] != ']' || n - 2 >= sizeof inner)
            return false;
        memcpy(inner, d + 1, n - 2);
        inner[n - 2] = '\0';
        if (strncmp(inner, "IPv6:", 5) == 0)
            return inet_pton(AF_INET6, inner + 5, addr) == 1;
        return inet_pton(AF_INET, inner, addr) == 1;
    }
    if (n > 253)
        return false;
    for (i = 0; i <= n; i++) {
        if (i < n && d[i] != '.') {
            if (!ldh(d[i]))
                return false;
            continue;
        }
        /* a label is d[start..i) */
        if (i == start || i - start > 63 || d[start] == '-' || d[i - 1] == '-')
            return false;
        start = i + 1;
    }
    return true;
}

/* ref_local - RFC 5321 4.1.2 Local-part: Dot-string or Quoted-string
 * (UTF-8 octets count as atext and qtext, RFC 6531) */
static bool
ref_local(const char *l, size_t n)
{
    static const char specials[] = "!#$%&'*+-/=?^_`{|}~";
    size_t i;

    if (l[0] == '"') {
        bool escaped = false;

        if (n < 2 || l[n - 1] != '"')
            return false;
        for (i = 1; i < n - 1; i++) {
            if (escaped)
                escaped = false;
            else if (l[i] == '\\')
                escaped = true;
            else if (l[i] == '"')
                return false;
        }
        return !escaped;   /* the closing quote must not be escaped */
    }
    for (i = 0; i < n; i++) {
        unsigned char c = (unsigned char)l[i];
        bool atext = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')
                     || c >= 0x80 || (c != 0 && memchr(specials, c, sizeof specials - 1));

        if (c == '.') {
            if (i == 0 || i + 1 == n || l[i + 1] == '.')
                return false;
        } else if (!atext) {
            return false;
        }
    }
    return true;
}

/* reference - the documented rules, in one place */
static bool
reference(const char *a, bool need_domain)
{
    size_t n = strlen(a), i, local;
    const char *at;

    if (n > HERALD_ADDRESS_MAX)
        return false;
    if (n == 0)
        return !need_domain;
    for (i = 0; i < n; i++) {
        unsigned char c = (unsigned char)a[i];

        if (c < 0x20 || c == 0x7f || c == ' ' || c == '<' || c == '>')
            return false;
    }
    if (!ref_utf8((const unsigned char *)a, n))
        return false;
    at = strrchr(a, '@');
    if (at == NULL)
        return !need_domain;
    local = (size_t)(at - a);
    if (local < 1 || local > 64)
        return false;
    if (!ref_local(a, local))
        return false;
    return ref_domain(at + 1);
}

/* check_diag - one printable line in each field, NUL inside the array */
static void
check_diag(const struct herald_diag *d)
{
    FUZZ_CHECK(memchr(d->where, '\0', sizeof d->where) != NULL);
    FUZZ_CHECK(memchr(d->text, '\0', sizeof d->text) != NULL);
    FUZZ_CHECK(fuzz_printable(d->where) && fuzz_printable(d->text));
    FUZZ_CHECK(d->text[0] != '\0');
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct herald_diag diag, fresh;
    struct herald_message *msg;
    herald_status st;
    bool need_domain, ok;
    char *a;
    size_t i;

    if (size < 1)
        return 0;
    need_domain = data[0] & 1;
    a = fuzz_strndup(data + 1, size - 1);
    memset(&diag, 0x5a, sizeof diag);
    fresh = diag;

    st = herald_address_check(a, need_domain, &diag);
    FUZZ_CHECK(st == HERALD_OK || st == HERALD_E_ADDRESS);
    FUZZ_CHECK(herald_address_check(a, need_domain, NULL) == st);
    if (st == HERALD_OK)
        FUZZ_CHECK(memcmp(&diag, &fresh, sizeof diag) == 0);
    else
        check_diag(&diag);
    ok = reference(a, need_domain);
    FUZZ_CHECK(ok == (st == HERALD_OK));
    if (st == HERALD_OK) {
        for (i = 0; a[i] != '\0'; i++)
            FUZZ_CHECK(a[i] != '\r' && a[i] != '\n' && a[i] != '<' && a[i] != '>');
        if (need_domain) {
            const char *dom = herald_address_domain(a);

            FUZZ_CHECK(dom != NULL && dom[0] != '\0');
        }
    }
    /* A recipient goes through the same gate. */
    if (need_domain && herald_message_new(&msg) == HERALD_OK) {
        st = herald_message_add_recipient(msg, a);
        FUZZ_CHECK((st == HERALD_OK) == ok);
        if (st == HERALD_OK)
            FUZZ_CHECK(strcmp(herald_message_recipient(msg, 0), a) == 0);
        herald_message_free(&msg);
        FUZZ_CHECK(msg == NULL);
    }
    free(a);
    FUZZ_CHECK(herald_address_check(NULL, 1, NULL) == HERALD_E_INVAL);
    FUZZ_CHECK(herald_address_domain(NULL) == NULL);
    return 0;
}
