/*
 * smtp_ehlo.c - EHLO capability parsing (see smtp_ehlo.h)
 */
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "smtp_ehlo.h"

/* smtp_ehlo_clear - no capabilities */
void
smtp_ehlo_clear(struct smtp_ehlo *e)
{
    e->flags = 0;
    e->size_max = 0;
    e->auth[0] = '\0';
}

/* is_space - the separators EHLO lines use */
static bool
is_space(char c)
{
    return c == ' ' || c == '\t';
}

/* keyword_is - the line's keyword (up to a space or '=') equals kw, any case */
static bool
keyword_is(const char *line, size_t kwlen, const char *kw)
{
    return strlen(kw) == kwlen && strncasecmp(line, kw, kwlen) == 0;
}

/*
 * parse_size - SIZE's parameter: digits only; a value that overflows is
 * treated as no limit, since the server has clearly not meant to refuse us.
 */
static uint64_t
parse_size(const char *p)
{
    uint64_t v = 0;

    while (is_space(*p))
        p++;
    for (; *p >= '0' && *p <= '9'; p++) {
        if (v > (UINT64_MAX - 9) / 10)
            return 0;
        v = v * 10 + (uint64_t)(*p - '0');
    }
    while (is_space(*p))
        p++;
    return *p == '\0' ? v : 0;
}

/* add_auth - append the mechanisms of params, upper-cased, whole words only */
static void
add_auth(struct smtp_ehlo *e, const char *p)
{
    size_t n = strlen(e->auth);

    while (*p != '\0') {
        size_t w = 0, k;

        while (is_space(*p))
            p++;
        while (p[w] != '\0' && !is_space(p[w]))
            w++;
        if (w == 0)
            break;
        if (n + (n > 0) + w + 1 > sizeof e->auth)
            break;
        if (n > 0)
            e->auth[n++] = ' ';
        for (k = 0; k < w; k++) {
            char c = p[k];

            e->auth[n++] = (c >= 'a' && c <= 'z') ? (char)(c - 'a' + 'A') : c;
        }
        e->auth[n] = '\0';
        p += w;
    }
}

/* smtp_ehlo_parse - fill *out from a complete 2xx EHLO reply */
herald_status
smtp_ehlo_parse(const struct smtp_reply *r, struct smtp_ehlo *out)
{
    struct smtp_ehlo e;
    size_t i;

    if (r == NULL || out == NULL || smtp_reply_class(r) != 2)
        return HERALD_E_INVAL;
    smtp_ehlo_clear(&e);
    /* Line 0 is the greeting name, never a keyword. */
    for (i = 1; i < r->nlines; i++) {
        const char *l = smtp_reply_line(r, i);
        size_t kw = 0;
        const char *params;

        while (l[kw] != '\0' && !is_space(l[kw]) && l[kw] != '=')
            kw++;
        params = l + kw + (l[kw] != '\0');
        if (keyword_is(l, kw, "SIZE")) {
            e.flags |= SMTP_EXT_SIZE;
            e.size_max = parse_size(params);
        } else if (keyword_is(l, kw, "PIPELINING")) {
            e.flags |= SMTP_EXT_PIPELINING;
        } else if (keyword_is(l, kw, "8BITMIME")) {
            e.flags |= SMTP_EXT_8BITMIME;
        } else if (keyword_is(l, kw, "SMTPUTF8")) {
            e.flags |= SMTP_EXT_SMTPUTF8;
        } else if (keyword_is(l, kw, "DSN")) {
            e.flags |= SMTP_EXT_DSN;
        } else if (keyword_is(l, kw, "ENHANCEDSTATUSCODES")) {
            e.flags |= SMTP_EXT_ENHANCEDSTATUSCODES;
        } else if (keyword_is(l, kw, "STARTTLS")) {
            e.flags |= SMTP_EXT_STARTTLS;
        } else if (keyword_is(l, kw, "AUTH")) {
            /* "AUTH=LOGIN PLAIN" is the pre-RFC form some servers still send. */
            e.flags |= SMTP_EXT_AUTH;
            add_auth(&e, params);
        }
    }
    *out = e;
    return HERALD_OK;
}

/* smtp_ehlo_has_auth - true when mech is among the AUTH mechanisms */
bool
smtp_ehlo_has_auth(const struct smtp_ehlo *e, const char *mech)
{
    const char *p;
    size_t n;

    if (e == NULL || mech == NULL || (n = strlen(mech)) == 0)
        return false;
    for (p = e->auth; *p != '\0';) {
        size_t w = strcspn(p, " ");

        if (w == n && strncasecmp(p, mech, n) == 0)
            return true;
        p += w;
        while (*p == ' ')
            p++;
    }
    return false;
}
