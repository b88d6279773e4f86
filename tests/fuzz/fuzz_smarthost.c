/*
 * fuzz_smarthost.c - smart host entries "host[:port]" (herald/host.h),
 * parsed from device files that may hold any octets
 *
 * Input: octets 0-1 are the default port (big-endian), octet 2 the size of
 * the caller's "why" buffer (1..128); the rest is the entry (an inner NUL
 * ends it).  Invariants:
 *  - the result is HERALD_OK or HERALD_E_CONFIG; on failure *out is not
 *    written and "why" is a non-empty printable line inside its buffer
 *    (exact size: nothing is written past it);
 *  - on success the port is 1..65535: the entry's own when it has one, else
 *    the default; the host is NUL-terminated, at most 253 octets, and the
 *    entry is exactly host, host:PORT, [host] or [host]:PORT (PORT 1..5
 *    digits of that value; brackets only around an IP literal; a bare host
 *    with a ':' only as an IPv6 address without port);
 *  - an IP literal is an address inet_pton takes; any other host passes
 *    herald_host_name_check and is not an IPv4 address;
 *  - herald_host_name_check agrees with a reference (LDH labels of 1..63,
 *    no '-' at either end of a label, no empty label or trailing dot, 253
 *    octets at most);
 *  - herald_hostport_check_list on the one entry agrees with herald_hostport_parse
 *    (default port 25) and its diag is printable.
 */
#include <arpa/inet.h>
#include <stdbool.h>

#include "fuzz.h"
#include <herald/host.h>

/* ref_hostname - the rules herald/host.h states */
static bool
ref_hostname(const char *s)
{
    size_t n = strlen(s), i, start = 0;

    if (n == 0 || n > 253)
        return false;
    for (i = 0; i <= n; i++) {
        if (i < n && s[i] != '.') {
            char c = s[i];

            if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')
                  || c == '-'))
                return false;
            continue;
        }
        if (i == start || i - start > 63 || s[start] == '-' || s[i - 1] == '-')
            return false;
        start = i + 1;
    }
    return true;
}

static bool
is_ip(const char *s, int af)
{
    unsigned char buf[16];

    return inet_pton(af, s, buf) == 1;
}

/* port_text - s is 1..5 decimal digits of value port */
static bool
port_text(const char *s, uint16_t port)
{
    size_t n = strlen(s), i;
    unsigned long v = 0;

    if (n < 1 || n > 5)
        return false;
    for (i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return false;
        v = v * 10 + (unsigned long)(s[i] - '0');
    }
    return v == port;
}

/* check_ok - a parsed entry against the text it came from */
static void
check_ok(const char *text, uint16_t default_port, const struct herald_hostport *sh)
{
    size_t hl = strnlen(sh->host, sizeof sh->host), tl = strlen(text);
    const char *after;

    FUZZ_CHECK(hl < sizeof sh->host && hl >= 1 && hl <= 253);
    FUZZ_CHECK(sh->port >= 1);
    FUZZ_CHECK(fuzz_printable(sh->host));
    if (sh->is_ip_literal)
        FUZZ_CHECK(is_ip(sh->host, AF_INET) || is_ip(sh->host, AF_INET6));
    else
        FUZZ_CHECK((herald_host_name_check(sh->host, false) == NULL) && !is_ip(sh->host, AF_INET));
    if (text[0] == '[') {
        FUZZ_CHECK(sh->is_ip_literal);
        FUZZ_CHECK(tl >= hl + 2 && memcmp(text + 1, sh->host, hl) == 0 && text[hl + 1] == ']');
        after = text + hl + 2;
    } else {
        FUZZ_CHECK(memcmp(text, sh->host, hl) == 0);
        after = text + hl;
        if (strchr(sh->host, ':') != NULL)
            FUZZ_CHECK(*after == '\0' && is_ip(sh->host, AF_INET6));
    }
    if (*after == '\0')
        FUZZ_CHECK(sh->port == default_port);
    else
        FUZZ_CHECK(after[0] == ':' && port_text(after + 1, sh->port));
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct herald_hostport sh, untouched;
    struct herald_diag diag;
    struct herald_strlist list;
    const char *items[1];
    uint16_t default_port;
    size_t why_size;
    herald_status st, st25;
    char *text, *why;

    if (size < 3)
        return 0;
    default_port = (uint16_t)(data[0] << 8 | data[1]);
    why_size = 1 + data[2] % 128;
    text = fuzz_strndup(data + 3, size - 3);
    why = fuzz_alloc(why_size);
    why[0] = '\0';
    memset(&sh, 0x5a, sizeof sh);
    untouched = sh;

    st = herald_hostport_parse(text, default_port, &sh, why, why_size);
    FUZZ_CHECK(st == HERALD_OK || st == HERALD_E_CONFIG);
    if (st == HERALD_OK) {
        check_ok(text, default_port, &sh);
    } else {
        FUZZ_CHECK(memcmp(&sh, &untouched, sizeof sh) == 0);
        FUZZ_CHECK(memchr(why, '\0', why_size) != NULL && fuzz_printable(why));
        FUZZ_CHECK(why_size == 1 || why[0] != '\0');
    }
    FUZZ_CHECK((herald_host_name_check(text, false) == NULL) == ref_hostname(text));

    /* The list check uses default port 25. */
    st25 = herald_hostport_parse(text, 25, &sh, why, why_size);
    items[0] = text;
    list.count = 1;
    list.items = items;
    memset(&diag, 0, sizeof diag);
    st = herald_hostport_check_list(&list, "smarthost", &diag);
    FUZZ_CHECK(st == st25);
    if (st != HERALD_OK)
        FUZZ_CHECK(diag.text[0] != '\0' && fuzz_printable(diag.text) && fuzz_printable(diag.where));
    FUZZ_CHECK((herald_host_name_check(NULL, false) == NULL) == false);
    /* An empty list is refused. */
    list.count = 0;
    FUZZ_CHECK(herald_hostport_check_list(&list, "smarthost", &diag) == HERALD_E_CONFIG);
    FUZZ_CHECK(herald_hostport_check_list(NULL, NULL, NULL) == HERALD_E_CONFIG);
    free(why);
    free(text);
    return 0;
}
