/*
 * sendmail_headers.c - the header section of a message given to
 * herald-sendmail: which fields it has, and (-t) the addresses of its To, Cc
 * and Bcc fields, read as RFC 5322 address lists: display names, angle
 * addresses (with an obsolete route dropped), groups, comments, quoted
 * strings and folded lines.  Every address found goes through
 * herald_address_check() like any other recipient, and a field that holds
 * something else than addresses is refused, never guessed at.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sysexits.h>

#include "sendmail.h"

/* An address in the making; longer than any address Herald accepts, so a
 * too-long one reaches herald_address_check and is refused there by name. */
#define TOKEN_MAX 1024

/* say - the reason into err; returns rc */
static int say(int rc, char *err, size_t errsize, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static int
say(int rc, char *err, size_t errsize, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(err, errsize, fmt, ap);
    va_end(ap);
    return rc;
}

/* sm_rcpts_free - every address of the set */
void
sm_rcpts_free(struct sm_rcpts *r)
{
    size_t i;

    for (i = 0; i < r->count; i++)
        free(r->addr[i]);
    r->count = 0;
}

/* dot_atom - s[0..n) is atoms of atext joined by single dots */
static bool
dot_atom(const char *s, size_t n)
{
    size_t i;

    if (n == 0 || s[0] == '.' || s[n - 1] == '.')
        return false;
    for (i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];

        if (c == '.' && s[i + 1] == '.')
            return false;
        if (!(c >= 0x80 || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
              (c >= '0' && c <= '9') || strchr(".!#$%&'*+-/=?^_`{|}~", c) != NULL))
            return false;
    }
    return true;
}

/* unquote - "john.doe"@x is john.doe@x: RFC 5321 4.1.2 asks for the simplest
 * form, and a server may not take a quoted one */
static void
unquote(char *a)
{
    char *at = strrchr(a, '@');
    size_t n;

    if (a[0] != '"' || at == NULL || at - a < 2 || at[-1] != '"')
        return;
    n = (size_t)(at - a) - 2;
    if (!dot_atom(a + 1, n))
        return;
    memmove(a, a + 1, n);
    memmove(a + n, at, strlen(at) + 1);
}

/* same_address - the same local part, and the same domain whatever its case */
static bool
same_address(const char *a, const char *b)
{
    const char *da = strrchr(a, '@'), *db = strrchr(b, '@');

    if (da == NULL || db == NULL || da - a != db - b)
        return false;
    return strncmp(a, b, (size_t)(da - a)) == 0 && strcasecmp(da, db) == 0;
}

/* sm_rcpts_add - one checked, qualified address; a repeated one is skipped */
int
sm_rcpts_add(struct sm_rcpts *r, const char *address, size_t len, const char *domain,
             char *err, size_t errsize)
{
    char buf[TOKEN_MAX + 300];
    struct herald_diag diag;
    size_t i;

    if (len > TOKEN_MAX)
        return say(EX_DATAERR, err, errsize, "bad recipient address: longer than %d octets",
                   HERALD_ADDRESS_MAX);
    memcpy(buf, address, len);
    buf[len] = '\0';
    if (strlen(buf) != len)
        return say(EX_DATAERR, err, errsize, "bad recipient address: a NUL octet in it");
    unquote(buf);
    if (strchr(buf, '@') == NULL && len > 0) {
        /* sendmail's rule: a bare local part is a user of this host. */
        if (domain == NULL || *domain == '\0')
            return say(EX_DATAERR, err, errsize, "bad recipient address \"%s\": no domain, "
                       "and this host has no name to add", buf);
        snprintf(buf + len, sizeof buf - len, "@%s", domain);
    }
    memset(&diag, 0, sizeof diag);
    if (herald_address_check(buf, 1, &diag) != HERALD_OK)
        return say(EX_DATAERR, err, errsize, "bad recipient address \"%s\": %s", buf,
                   diag.text[0] ? diag.text : "refused");
    for (i = 0; i < r->count; i++)
        if (same_address(r->addr[i], buf))
            return 0;
    if (r->count == SM_RCPT_MAX)
        return say(EX_USAGE, err, errsize, "more than %d recipients", SM_RCPT_MAX);
    r->addr[r->count] = strdup(buf);
    if (r->addr[r->count] == NULL)
        return say(EX_OSERR, err, errsize, "out of memory");
    r->count++;
    return 0;
}

/* The state of one address of a list. */
struct addr_state {
    char tok[TOKEN_MAX + 1];   /* the addr-spec, or a display name until '<' or ':' */
    size_t len;
    bool angle;                /* tok is an angle-addr's content */
    bool word_last;            /* the last thing added was an atom or quoted-string */
    bool gap;                  /* whitespace or a comment since then */
    bool phrase;               /* two words with a gap: a display name, not an address */
    bool overflow;
};

static void
st_reset(struct addr_state *s)
{
    s->len = 0;
    s->angle = s->word_last = s->gap = s->phrase = s->overflow = false;
}

/* st_put - n octets into the token */
static void
st_put(struct addr_state *s, const char *p, size_t n)
{
    if (s->len + n > TOKEN_MAX) {
        s->overflow = true;
        return;
    }
    memcpy(s->tok + s->len, p, n);
    s->len += n;
}

/* skip_comment - past a (possibly nested) comment starting at v[i] == '('; len if open */
static size_t
skip_comment(const char *v, size_t i, size_t len)
{
    int depth = 0;

    for (; i < len; i++) {
        if (v[i] == '\\' && i + 1 < len)
            i++;
        else if (v[i] == '(')
            depth++;
        else if (v[i] == ')' && --depth == 0)
            return i + 1;
    }
    return len;
}

/* span_quoted - the quoted-string (or domain literal, close ']') at v[i]: its
 * end, or 0 when it is not closed */
static size_t
span_quoted(const char *v, size_t i, size_t len, char close)
{
    for (i++; i < len; i++) {
        if (v[i] == '\\' && close == '"' && i + 1 < len)
            i++;
        else if (v[i] == close)
            return i + 1;
        else if (v[i] == '\r' || v[i] == '\n')
            continue;   /* a fold inside: unfolded below */
    }
    return 0;
}

/* put_unfolded - v[a..b) into the token, without the CR and LF of folds */
static void
put_unfolded(struct addr_state *s, const char *v, size_t a, size_t b)
{
    for (; a < b; a++)
        if (v[a] != '\r' && v[a] != '\n')
            st_put(s, v + a, 1);
}

/* flush - the address collected, if any, into r */
static int
flush(struct addr_state *s, const char *domain, struct sm_rcpts *r, char *err,
      size_t errsize)
{
    int rc = 0;

    if (s->overflow)
        rc = say(EX_DATAERR, err, errsize, "bad recipient address: longer than %d octets",
                 HERALD_ADDRESS_MAX);
    else if (s->angle && s->len == 0)
        rc = say(EX_DATAERR, err, errsize, "bad recipient address: <> is not a recipient");
    else if (!s->angle && s->phrase)
        rc = say(EX_DATAERR, err, errsize, "bad recipient address \"%.*s\": a name without "
                 "an address", (int)(s->len > 200 ? 200 : s->len), s->tok);
    else if (s->len > 0)
        rc = sm_rcpts_add(r, s->tok, s->len, domain, err, errsize);
    st_reset(s);
    return rc;
}

/* angle_addr - the content of <...> at v[i] == '<' into s; the index after '>' or 0 */
static size_t
angle_addr(struct addr_state *s, const char *v, size_t i, size_t len)
{
    size_t start, e;

    st_reset(s);
    s->angle = true;
    for (i++; i < len; i++) {
        char c = v[i];

        if (c == '>')
            break;
        if (c == ' ' || c == '\t' || c == '\r' || c == '\n')
            continue;
        if (c == '(') {
            i = skip_comment(v, i, len) - 1;
            continue;
        }
        if (c == '"' || c == '[') {
            e = span_quoted(v, i, len, c == '"' ? '"' : ']');
            if (e == 0)
                return 0;
            put_unfolded(s, v, i, e);
            i = e - 1;
            continue;
        }
        if (c == '<')
            return 0;
        st_put(s, &c, 1);
    }
    if (i >= len)
        return 0;
    /* An obsolete source route, "<@relay,@relay2:user@host>", is dropped. */
    if (s->len > 0 && s->tok[0] == '@') {
        for (start = 0; start < s->len && s->tok[start] != ':'; start++)
            ;
        if (start == s->len)
            return 0;
        memmove(s->tok, s->tok + start + 1, s->len - start - 1);
        s->len -= start + 1;
    }
    return i + 1;
}

/* sm_address_list - every address of an address list: mailboxes and groups */
int
sm_address_list(const char *v, size_t len, const char *domain, struct sm_rcpts *r, char *err,
                size_t errsize)
{
    struct addr_state s;
    bool in_group = false, angle_done = false;
    size_t i = 0, e;
    int rc;

    st_reset(&s);
    while (i < len) {
        char c = v[i];

        if (c == ' ' || c == '\t' || c == '\r' || c == '\n') {
            s.gap = true;
            i++;
        } else if (c == '(') {
            s.gap = true;
            i = skip_comment(v, i, len);
        } else if (c == ',' || c == ';') {
            if (c == ';' && !in_group)
                return say(EX_DATAERR, err, errsize, "bad address list: ';' outside a group");
            if (c == ';')
                in_group = false;
            rc = flush(&s, domain, r, err, errsize);
            if (rc != 0)
                return rc;
            angle_done = false;
            i++;
        } else if (angle_done) {
            /* After <addr> only a comment, ',' or ';' may come. */
            return say(EX_DATAERR, err, errsize, "bad address list: text after <...>");
        } else if (c == '<') {
            e = angle_addr(&s, v, i, len);
            if (e == 0)
                return say(EX_DATAERR, err, errsize, "bad address list: '<' without '>'");
            angle_done = true;
            i = e;
        } else if (c == ':') {
            /* A group's display name ends here; groups do not nest. */
            if (in_group || s.len == 0)
                return say(EX_DATAERR, err, errsize, "bad address list: stray ':'");
            in_group = true;
            st_reset(&s);
            i++;
        } else if (c == '>') {
            return say(EX_DATAERR, err, errsize, "bad address list: '>' without '<'");
        } else if (c == '"' || c == '[') {
            e = span_quoted(v, i, len, c == '"' ? '"' : ']');
            if (e == 0)
                return say(EX_DATAERR, err, errsize, "bad address list: %s not closed",
                           c == '"' ? "quoted string" : "domain literal");
            if (c == '"' && s.word_last && s.gap)
                s.phrase = true;
            put_unfolded(&s, v, i, e);
            s.word_last = c == '"';
            s.gap = false;
            i = e;
        } else {
            bool word = c != '.' && c != '@';

            if (word && s.word_last && s.gap)
                s.phrase = true;
            st_put(&s, &c, 1);
            s.word_last = word;
            s.gap = false;
            i++;
        }
    }
    return flush(&s, domain, r, err, errsize);
}

/* sm_field_len - one field with its continuation lines */
size_t
sm_field_len(const char *p, size_t len)
{
    size_t i = 0;
    const char *nl;

    while (i < len) {
        nl = memchr(p + i, '\n', len - i);
        if (nl == NULL)
            return len;
        i = (size_t)(nl - p) + 1;
        if (i >= len || (p[i] != ' ' && p[i] != '\t'))
            return i;
    }
    return len;
}

/* sm_header_is - the field's name, case-insensitively, then optional blanks and ':' */
bool
sm_header_is(const char *f, size_t len, const char *name)
{
    size_t n = strlen(name), i;

    if (len <= n || strncasecmp(f, name, n) != 0)
        return false;
    for (i = n; i < len && (f[i] == ' ' || f[i] == '\t'); i++)
        ;
    return i < len && f[i] == ':';
}

/* sm_headers_scan - the fields present, and (want_rcpts) To/Cc/Bcc's addresses */
int
sm_headers_scan(const char *hdr, size_t len, bool want_rcpts, const char *domain,
                struct sm_headers *h, struct sm_rcpts *r, char *err, size_t errsize)
{
    static const char *const rcpt_fields[] = { "To", "Cc", "Bcc" };
    const char *nl = memchr(hdr, '\n', len);
    size_t off = 0, n, k;
    int rc;

    memset(h, 0, sizeof *h);
    h->crlf = nl == NULL || (nl > hdr && nl[-1] == '\r');
    while (off < len && (n = sm_field_len(hdr + off, len - off)) > 0) {
        const char *f = hdr + off;

        if (sm_header_is(f, n, "Date"))
            h->has_date = true;
        else if (sm_header_is(f, n, "Message-ID"))
            h->has_message_id = true;
        else if (sm_header_is(f, n, "From"))
            h->has_from = true;
        for (k = 0; want_rcpts && k < sizeof rcpt_fields / sizeof rcpt_fields[0]; k++) {
            if (sm_header_is(f, n, rcpt_fields[k])) {
                const char *colon = memchr(f, ':', n);

                rc = sm_address_list(colon + 1, n - (size_t)(colon + 1 - f), domain, r, err,
                                     errsize);
                if (rc != 0) {
                    /* Say which field: the reason alone does not. */
                    char why[512];

                    snprintf(why, sizeof why, "%s", err);
                    snprintf(err, errsize, "%s field: %s", rcpt_fields[k], why);
                    return rc;
                }
            }
        }
        off += n;
    }
    return 0;
}
