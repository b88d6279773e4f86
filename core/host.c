/*
 * host.c - host names and "host[:port]" entries (see herald/host.h)
 *
 * A device file can carry any bytes in a string (libconfig accepts "\r\n"
 * escapes), and the host ends up in SMTP and in traces: so every entry is
 * checked here, at load time, and refused with the reason.
 */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <herald/host.h>

#include "text.h"

/* herald_host_name_check - the one host-name rule (see herald/host.h) */
const char *
herald_host_name_check(const char *name, bool trailing_dot)
{
    size_t len, label = 0, i;

    if (name == NULL || name[0] == '\0')
        return "empty host name";
    len = strlen(name);
    if (name[len - 1] == '.') {
        if (!trailing_dot)
            return "host name ends with '.'";
        len--;
    }
    if (len == 0)
        return "empty host name";
    if (len > 253)
        return "host name is longer than 253 octets";
    for (i = 0; i < len; i++) {
        char c = name[i];

        if (c == '.') {
            if (label == 0)
                return "host name has an empty label";
            if (name[i - 1] == '-')
                return "host name label ends with '-'";
            label = 0;
            continue;
        }
        /* Explicit ranges, not isalnum(): the answer must not depend on the locale. */
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')
              || c == '-'))
            return "host name holds a character other than letters, digits, '-' and '.'";
        if (c == '-' && label == 0)
            return "host name label starts with '-'";
        if (++label > 63)
            return "host name label is longer than 63 octets";
    }
    if (name[len - 1] == '-')
        return "host name label ends with '-'";
    return NULL;
}

/* parse_port - decimal 1..65535, nothing else */
static bool
parse_port(const char *s, uint16_t *port_out)
{
    unsigned long v = 0;
    const char *p;

    if (*s == '\0' || strlen(s) > 5)
        return false;
    for (p = s; *p; p++) {
        if (*p < '0' || *p > '9')
            return false;
        v = v * 10 + (unsigned long)(*p - '0');
    }
    if (v < 1 || v > 65535)
        return false;
    *port_out = (uint16_t)v;
    return true;
}

/* is_ip - an IPv4 or (want_v6) IPv6 literal */
static bool
is_ip(const char *s, bool want_v6)
{
    unsigned char buf[16];

    return inet_pton(want_v6 ? AF_INET6 : AF_INET, s, buf) == 1;
}

/* herald_host_is_ip_literal - an address, bare or in brackets (see herald/host.h) */
bool
herald_host_is_ip_literal(const char *host)
{
    char buf[HERALD_HOST_MAX];
    size_t n;

    if (host == NULL)
        return false;
    n = strlen(host);
    if (n >= 2 && host[0] == '[' && host[n - 1] == ']') {
        if (n - 2 >= sizeof buf)
            return false;
        memcpy(buf, host + 1, n - 2);
        buf[n - 2] = '\0';
        host = buf;
    }
    return is_ip(host, false) || is_ip(host, true);
}

/* herald_hostport_parse - split and check one entry */
herald_status
herald_hostport_parse(const char *text, uint16_t default_port, struct herald_hostport *out,
                      char *why, size_t why_size)
{
    char host[HERALD_HOST_MAX];
    const char *port_text = NULL, *colon;
    uint16_t port = default_port;
    bool literal = false;
    size_t n;

    if (text == NULL || *text == '\0') {
        snprintf(why, why_size, "empty smart host");
        return HERALD_E_CONFIG;
    }
    if (text[0] == '[') {
        const char *end = strchr(text, ']');

        if (end == NULL || (end[1] != '\0' && end[1] != ':')) {
            snprintf(why, why_size, "unbalanced brackets (write [ADDRESS]:PORT)");
            return HERALD_E_CONFIG;
        }
        n = (size_t)(end - text - 1);
        if (n == 0 || n >= sizeof host) {
            snprintf(why, why_size, "bad address in brackets");
            return HERALD_E_CONFIG;
        }
        memcpy(host, text + 1, n);
        host[n] = '\0';
        if (!is_ip(host, true) && !is_ip(host, false)) {
            snprintf(why, why_size, "brackets must hold an IP address");
            return HERALD_E_CONFIG;
        }
        literal = true;
        if (end[1] == ':')
            port_text = end + 2;
    } else {
        colon = strchr(text, ':');
        if (colon != NULL && strchr(colon + 1, ':') != NULL) {
            /* Two colons or more: only a bare IPv6 address, without port. */
            if (strlen(text) >= sizeof host || !is_ip(text, true)) {
                snprintf(why, why_size, "not an IPv6 address (write [ADDRESS]:PORT)");
                return HERALD_E_CONFIG;
            }
            strcpy(host, text);
            literal = true;
        } else {
            n = colon ? (size_t)(colon - text) : strlen(text);
            if (n == 0 || n >= sizeof host) {
                snprintf(why, why_size, "host name empty or longer than 253 octets");
                return HERALD_E_CONFIG;
            }
            memcpy(host, text, n);
            host[n] = '\0';
            if (colon != NULL)
                port_text = colon + 1;
            literal = is_ip(host, false);
            if (!literal && herald_host_name_check(host, false) != NULL) {
                snprintf(why, why_size, "not a host name or IP address");
                return HERALD_E_CONFIG;
            }
        }
    }
    if (port_text != NULL && !parse_port(port_text, &port)) {
        snprintf(why, why_size, "port must be 1..65535");
        return HERALD_E_CONFIG;
    }
    if (port == 0) {
        snprintf(why, why_size, "no port given and no default port");
        return HERALD_E_CONFIG;
    }
    memcpy(out->host, host, sizeof host);
    out->port = port;
    out->is_ip_literal = literal;
    return HERALD_OK;
}

/* herald_hostport_check_list - validate every entry; at least one is required */
herald_status
herald_hostport_check_list(const struct herald_strlist *list, const char *option,
                           struct herald_diag *diag)
{
    size_t i;

    if (option == NULL)
        option = "hosts";
    if (list == NULL || list->count == 0)
        return herald_diag_set(diag, HERALD_E_CONFIG, "",
                               "option \"%s\": at least one host is required", option);
    for (i = 0; i < list->count; i++) {
        struct herald_hostport hp;
        char why[128], shown[80];

        if (herald_hostport_parse(list->items[i], 25, &hp, why, sizeof why) != HERALD_OK) {
            (void)text_printable(shown, sizeof shown, list->items[i], TEXT_LINE);
            return herald_diag_set(diag, HERALD_E_CONFIG, "",
                                   "option \"%s\": entry %zu \"%s\": %s", option, i + 1,
                                   shown, why);
        }
    }
    return HERALD_OK;
}
