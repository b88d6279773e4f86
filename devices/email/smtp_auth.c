/*
 * smtp_auth.c - SASL encoders and mechanism choice (see smtp_auth.h)
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <mbedtls/base64.h>
#include <mbedtls/platform_util.h>

#include "smtp_auth.h"

static const struct { unsigned bit; const char *name; } mechs[] = {
    { SMTP_AUTH_PLAIN, "PLAIN" }, { SMTP_AUTH_LOGIN, "LOGIN" }, { SMTP_AUTH_XOAUTH2, "XOAUTH2" },
};

/* smtp_auth_name - the SASL name of one mechanism bit */
const char *
smtp_auth_name(unsigned mech)
{
    size_t i;

    for (i = 0; i < sizeof mechs / sizeof mechs[0]; i++)
        if (mechs[i].bit == mech)
            return mechs[i].name;
    return "?";
}

/* smtp_auth_parse_list - words separated by spaces or commas into bits */
herald_status
smtp_auth_parse_list(const char *list, unsigned *mechs_out, char *bad, size_t badcap)
{
    char buf[256], *tok, *save = NULL;
    unsigned bits = 0;
    size_t i;

    if (list == NULL || mechs_out == NULL || strlen(list) >= sizeof buf)
        return HERALD_E_INVAL;
    memcpy(buf, list, strlen(list) + 1);
    for (tok = strtok_r(buf, ", \t", &save); tok != NULL; tok = strtok_r(NULL, ", \t", &save)) {
        for (i = 0; i < sizeof mechs / sizeof mechs[0]; i++)
            if (strcasecmp(tok, mechs[i].name) == 0)
                break;
        if (i == sizeof mechs / sizeof mechs[0]) {
            if (bad != NULL && badcap > 0)
                snprintf(bad, badcap, "%s", tok);
            return HERALD_E_INVAL;
        }
        bits |= mechs[i].bit;
    }
    *mechs_out = bits;
    return HERALD_OK;
}

/* smtp_auth_choose - XOAUTH2 with a token, else PLAIN, else LOGIN */
unsigned
smtp_auth_choose(const struct smtp_ehlo *e, unsigned allowed, bool token)
{
    if (e == NULL || !(e->flags & SMTP_EXT_AUTH))
        return 0;
    if (token)
        return (allowed & SMTP_AUTH_XOAUTH2) && smtp_ehlo_has_auth(e, "XOAUTH2")
               ? SMTP_AUTH_XOAUTH2 : 0;
    if ((allowed & SMTP_AUTH_PLAIN) && smtp_ehlo_has_auth(e, "PLAIN"))
        return SMTP_AUTH_PLAIN;
    if ((allowed & SMTP_AUTH_LOGIN) && smtp_ehlo_has_auth(e, "LOGIN"))
        return SMTP_AUTH_LOGIN;
    return 0;
}

/* encode - base64 of raw[0..n) into out, NUL-terminated */
static herald_status
encode(const unsigned char *raw, size_t n, char *out, size_t cap)
{
    size_t olen = 0;

    if (out == NULL || cap == 0
        || mbedtls_base64_encode((unsigned char *)out, cap, &olen, raw, n) != 0)
        return HERALD_E_LIMIT;
    out[olen] = '\0';
    return HERALD_OK;
}

/* smtp_auth_b64 - base64 of a string */
herald_status
smtp_auth_b64(const char *text, char *out, size_t cap)
{
    if (text == NULL)
        return HERALD_E_INVAL;
    return encode((const unsigned char *)text, strlen(text), out, cap);
}

/* smtp_auth_plain - authzid empty, authcid user, password */
herald_status
smtp_auth_plain(const char *user, const char *pass, char *out, size_t cap)
{
    unsigned char raw[1024];
    size_t ul, pl;
    herald_status st;

    if (user == NULL || pass == NULL)
        return HERALD_E_INVAL;
    ul = strlen(user);
    pl = strlen(pass);
    if (ul + pl + 2 > sizeof raw)
        return HERALD_E_LIMIT;
    raw[0] = '\0';
    memcpy(raw + 1, user, ul);
    raw[1 + ul] = '\0';
    memcpy(raw + 2 + ul, pass, pl);
    st = encode(raw, ul + pl + 2, out, cap);
    mbedtls_platform_zeroize(raw, sizeof raw);
    return st;
}

/* smtp_auth_xoauth2 - the XOAUTH2 initial response */
herald_status
smtp_auth_xoauth2(const char *user, const char *token, char *out, size_t cap)
{
    char raw[1536];
    int n;
    herald_status st;

    if (user == NULL || token == NULL)
        return HERALD_E_INVAL;
    n = snprintf(raw, sizeof raw, "user=%s\001auth=Bearer %s\001\001", user, token);
    if (n < 0 || (size_t)n >= sizeof raw)
        st = HERALD_E_LIMIT;
    else
        st = encode((const unsigned char *)raw, (size_t)n, out, cap);
    mbedtls_platform_zeroize(raw, sizeof raw);
    return st;
}

/* is_b64 - an octet of the base64 alphabet (RFC 4648 4), padding included */
static bool
is_b64(unsigned char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9')
           || c == '+' || c == '/' || c == '=';
}

/* The encoded forms of the credentials this client ever sends. */
enum { FORM_PLAIN, FORM_XOAUTH2, FORM_SECRET, FORM_USER, FORM__N };

#define REDACT_MIN 8                  /* shorter base64 runs are words, not secrets */
#define REDACTED "<redacted>"

/* b64_token_leaks - the token decodes to something holding the secret, or
 * is a piece of the front of an encoded form (an echo cut short) */
static bool
b64_token_leaks(const char *tok, size_t len, const char *secret,
                char forms[FORM__N][SMTP_AUTH_B64_MAX])
{
    unsigned char raw[SMTP_AUTH_B64_MAX];
    size_t i, olen = 0, slen = strlen(secret), whole = len / 4 * 4;
    bool leak = false;

    if (len < REDACT_MIN)
        return false;
    for (i = 0; i < FORM__N; i++)
        if (forms[i][0] != '\0' && len <= strlen(forms[i]) && memcmp(forms[i], tok, len) == 0)
            return true;
    if (whole > 0 && whole <= sizeof raw / 4 * 3
        && mbedtls_base64_decode(raw, sizeof raw, &olen, (const unsigned char *)tok, whole) == 0
        && olen >= slen) {
        for (i = 0; i + slen <= olen && !leak; i++)
            leak = memcmp(raw + i, secret, slen) == 0;
    }
    mbedtls_platform_zeroize(raw, sizeof raw);
    return leak;
}

/* smtp_auth_redact - see smtp_auth.h */
void
smtp_auth_redact(const char *user, const char *secret, char *text, size_t cap)
{
    char forms[FORM__N][SMTP_AUTH_B64_MAX];
    char *out;
    size_t i = 0, n = 0, len, slen;

    if (user == NULL || secret == NULL || secret[0] == '\0' || text == NULL || cap == 0)
        return;
    out = malloc(cap);
    if (out == NULL) {
        /* Nothing to redact with: keep nothing rather than a secret. */
        snprintf(text, cap, "%s", REDACTED);
        return;
    }
    memset(forms, 0, sizeof forms);
    (void)smtp_auth_plain(user, secret, forms[FORM_PLAIN], sizeof forms[0]);
    (void)smtp_auth_xoauth2(user, secret, forms[FORM_XOAUTH2], sizeof forms[0]);
    (void)smtp_auth_b64(secret, forms[FORM_SECRET], sizeof forms[0]);
    (void)smtp_auth_b64(user, forms[FORM_USER], sizeof forms[0]);
    len = strlen(text);
    slen = strlen(secret);
    while (i < len && n + 1 < cap) {
        size_t j = i;
        const char *put = NULL;

        if (len - i >= slen && memcmp(text + i, secret, slen) == 0) {
            put = REDACTED;
            j = i + slen;
        } else if (is_b64((unsigned char)text[i])
                   && (i == 0 || !is_b64((unsigned char)text[i - 1]))) {
            while (j < len && is_b64((unsigned char)text[j]))
                j++;
            if (b64_token_leaks(text + i, j - i, secret, forms))
                put = REDACTED;
            else
                j = i;
        }
        if (put != NULL) {
            n += (size_t)snprintf(out + n, cap - n, "%s", put);
            if (n >= cap)
                n = cap - 1;
            i = j;
        } else {
            out[n++] = text[i++];
        }
    }
    out[n] = '\0';
    memcpy(text, out, n + 1);
    mbedtls_platform_zeroize(forms, sizeof forms);
    mbedtls_platform_zeroize(out, cap);
    free(out);
}

/* smtp_auth_hop_gets - see smtp_auth.h */
bool
smtp_auth_hop_gets(const char *origin)
{
    return origin != NULL && strcmp(origin, "smarthost") == 0;
}
