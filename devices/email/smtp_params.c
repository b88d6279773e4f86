/*
 * smtp_params.c - the ESMTP parameters of MAIL FROM and RCPT TO (see smtp_params.h)
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include <herald/message.h>
#include "smtp_body.h"
#include "smtp_ehlo.h"
#include "smtp_params.h"

herald_status
smtp_xtext(const char *s, char *out, size_t cap)
{
    static const char hex[] = "0123456789ABCDEF";
    size_t n = 0;

    for (; *s != '\0'; s++) {
        unsigned char c = (unsigned char)*s;

        if (c >= 0x21 && c <= 0x7e && c != '+' && c != '=') {
            if (n + 1 >= cap)
                return HERALD_E_LIMIT;
            out[n++] = (char)c;
        } else {
            if (n + 3 >= cap)
                return HERALD_E_LIMIT;
            out[n++] = '+';
            out[n++] = hex[c >> 4];
            out[n++] = hex[c & 0x0f];
        }
    }
    if (cap == 0)
        return HERALD_E_LIMIT;
    out[n] = '\0';
    return HERALD_OK;
}

bool
smtp_dsn_requested(const struct smtp_message *m)
{
    return m->dsn_notify != 0 || m->dsn_ret != HERALD_DSN_RET_DEFAULT || m->dsn_envid != NULL;
}

/* append - printf onto out at *len; HERALD_E_LIMIT when it does not fit */
static herald_status append(char *out, size_t cap, size_t *len, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static herald_status
append(char *out, size_t cap, size_t *len, const char *fmt, ...)
{
    va_list ap;
    int n;

    va_start(ap, fmt);
    n = vsnprintf(out + *len, cap - *len, fmt, ap);
    va_end(ap);
    if (n < 0 || (size_t)n >= cap - *len)
        return HERALD_E_LIMIT;
    *len += (size_t)n;
    return HERALD_OK;
}

herald_status
smtp_mail_params(const struct smtp_message *m, unsigned ext, char *out, size_t cap)
{
    char envid[320];
    size_t len = 0;
    herald_status st = HERALD_OK;

    if (cap == 0)
        return HERALD_E_LIMIT;
    out[0] = '\0';
    if (ext & SMTP_EXT_SIZE)
        st = append(out, cap, &len, " SIZE=%llu", (unsigned long long)m->size);
    if (st == HERALD_OK && m->eight_bit && (ext & SMTP_EXT_8BITMIME))
        st = append(out, cap, &len, " BODY=8BITMIME");
    if (st == HERALD_OK && m->smtputf8 && (ext & SMTP_EXT_SMTPUTF8))
        st = append(out, cap, &len, " SMTPUTF8");
    if (st != HERALD_OK || !(ext & SMTP_EXT_DSN))
        return st;
    if (m->dsn_ret != HERALD_DSN_RET_DEFAULT)
        st = append(out, cap, &len, " RET=%s",
                    m->dsn_ret == HERALD_DSN_RET_FULL ? "FULL" : "HDRS");
    if (st == HERALD_OK && m->dsn_envid != NULL) {
        st = smtp_xtext(m->dsn_envid, envid, sizeof envid);
        if (st == HERALD_OK)
            st = append(out, cap, &len, " ENVID=%s", envid);
    }
    return st;
}

herald_status
smtp_rcpt_params(const struct smtp_message *m, size_t i, unsigned ext, char *out, size_t cap)
{
    char orcpt[3 * 256 + 1];
    size_t len = 0;
    herald_status st = HERALD_OK;
    unsigned nf = m->dsn_notify;

    if (cap == 0)
        return HERALD_E_LIMIT;
    out[0] = '\0';
    if (!(ext & SMTP_EXT_DSN) || !smtp_dsn_requested(m))
        return HERALD_OK;
    if (nf != 0) {
        static const struct { unsigned bit; const char *word; } words[] = {
            { HERALD_DSN_NOTIFY_NEVER, "NEVER" }, { HERALD_DSN_NOTIFY_SUCCESS, "SUCCESS" },
            { HERALD_DSN_NOTIFY_FAILURE, "FAILURE" }, { HERALD_DSN_NOTIFY_DELAY, "DELAY" },
        };
        const char *sep = " NOTIFY=";
        size_t w;

        for (w = 0; w < sizeof words / sizeof words[0] && st == HERALD_OK; w++)
            if (nf & words[w].bit) {
                st = append(out, cap, &len, "%s%s", sep, words[w].word);
                sep = ",";
            }
    }
    /* A UTF-8 address needs RFC 6533's utf-8-addr form; leaving ORCPT out is allowed. */
    if (st == HERALD_OK && !smtp_body_has_8bit(m->rcpts[i], strlen(m->rcpts[i]))) {
        st = smtp_xtext(m->rcpts[i], orcpt, sizeof orcpt);
        if (st == HERALD_OK)
            st = append(out, cap, &len, " ORCPT=rfc822;%s", orcpt);
    }
    return st;
}
