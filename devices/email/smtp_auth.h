/*
 * smtp_auth.h - SASL for SMTP AUTH (RFC 4954): mechanism choice and encoders
 *
 * PLAIN (RFC 4616), LOGIN (the de-facto two-step exchange) and XOAUTH2
 * (Google/Microsoft bearer token).  Every encoder writes base64 into a
 * caller's buffer and scrubs its clear-text scratch before returning: the
 * results are secrets, never to be traced.
 */
#ifndef HERALD_SMTP_AUTH_H
#define HERALD_SMTP_AUTH_H

#include <stdbool.h>
#include <stddef.h>
#include <herald/status.h>
#include "smtp_ehlo.h"

#define SMTP_AUTH_PLAIN   0x1u
#define SMTP_AUTH_LOGIN   0x2u
#define SMTP_AUTH_XOAUTH2 0x4u
#define SMTP_AUTH_ALL     0x7u

#define SMTP_AUTH_B64_MAX 2048        /* room for an encoded response, NUL included */

/* What the connection must be before the credentials go out (the transport's
 * auth.require_tls option, same order).  Only a hop the device names as its
 * smart host ever gets them; this says over what. */
enum smtp_auth_tls {
    SMTP_AUTH_TLS_VERIFY = 0,     /* TLS, certificate verified for the hop's name (default) */
    SMTP_AUTH_TLS_ENCRYPTED,      /* TLS, certificate not checked */
    SMTP_AUTH_TLS_NONE            /* clear text too: only when the device file says so */
};

/* smtp_auth_hop_gets - true for the hops that get the credentials: a smart
 * host the device file names (origin "smarthost"), never a hop from DNS
 * ("mx", "implicit-mx"), which is whoever controls the recipient domain.
 * One rule for delivery and "herald probe". */
bool smtp_auth_hop_gets(const char *origin);

/* smtp_auth_name - "PLAIN", "LOGIN", "XOAUTH2", "?" */
const char *smtp_auth_name(unsigned mech);

/* smtp_auth_parse_list - "PLAIN, login" into SMTP_AUTH_* bits; HERALD_E_INVAL
 * names the unknown word in bad (may be NULL) */
herald_status smtp_auth_parse_list(const char *list, unsigned *mechs_out, char *bad,
                                   size_t badcap);

/*
 * smtp_auth_choose - the mechanism to use: offered by the server and allowed,
 * XOAUTH2 first when token is true, then PLAIN, then LOGIN; 0 for none.
 */
unsigned smtp_auth_choose(const struct smtp_ehlo *e, unsigned allowed, bool token);

/* smtp_auth_plain - base64("\0user\0pass"); HERALD_E_LIMIT when it does not fit */
herald_status smtp_auth_plain(const char *user, const char *pass, char *out, size_t cap);
/* smtp_auth_xoauth2 - base64("user=U\1auth=Bearer T\1\1") */
herald_status smtp_auth_xoauth2(const char *user, const char *token, char *out, size_t cap);
/* smtp_auth_b64 - base64 of text (LOGIN's user name and password steps) */
herald_status smtp_auth_b64(const char *text, char *out, size_t cap);

/*
 * smtp_auth_redact - make text (NUL-terminated, cap octets of room) safe to
 * keep when a server may have echoed what AUTH sent (some do, in a 500):
 * the secret itself, and every base64 run that decodes to something holding
 * it or that is the front of an encoded form this client sends (PLAIN,
 * XOAUTH2, LOGIN's user name and password, 8 characters at least), become
 * "<redacted>".  Nothing is done when user or secret is NULL.
 */
void smtp_auth_redact(const char *user, const char *secret, char *text, size_t cap);

#endif
