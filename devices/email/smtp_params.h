/*
 * smtp_params.h - the ESMTP parameters of MAIL FROM and RCPT TO
 *
 * What goes after "MAIL FROM:<...>" and "RCPT TO:<...>" depends on what the
 * message asks for and what the server's EHLO offered:
 *   SIZE=n            SIZE offered (RFC 1870)
 *   BODY=8BITMIME     the body has 8-bit octets and 8BITMIME is offered (RFC 6152)
 *   SMTPUTF8          an address is UTF-8; the caller checks the server offers it
 *                     before it gets here (RFC 6531)
 *   RET=, ENVID=      the message asks for DSN and DSN is offered (RFC 3461)
 *   NOTIFY=, ORCPT=   per recipient, likewise; ORCPT only for ASCII addresses
 * A parameter the server did not offer is never sent.  Values are xtext.
 */
#ifndef HERALD_SMTP_PARAMS_H
#define HERALD_SMTP_PARAMS_H

#include <stddef.h>
#include <herald/status.h>
#include "smtp_session.h"

/* Room for every parameter at its longest (ENVID: 100 octets, xtext x3). */
#define SMTP_PARAMS_MAX 512

/* smtp_xtext - s as RFC 3461 xtext into out (NUL-terminated); HERALD_E_LIMIT
 * when it does not fit in cap */
herald_status smtp_xtext(const char *s, char *out, size_t cap);

/* smtp_dsn_requested - the message asks for any DSN parameter */
bool smtp_dsn_requested(const struct smtp_message *m);

/* smtp_mail_params - " SIZE=... BODY=... SMTPUTF8 RET=... ENVID=..." (each
 * with a leading space, "" for none) for a server with extensions ext */
herald_status smtp_mail_params(const struct smtp_message *m, unsigned ext, char *out,
                               size_t cap);

/* smtp_rcpt_params - " NOTIFY=... ORCPT=rfc822;..." for recipient i */
herald_status smtp_rcpt_params(const struct smtp_message *m, size_t i, unsigned ext,
                               char *out, size_t cap);

#endif
