/*
 * smtp_ehlo.h - capabilities from an EHLO reply (RFC 5321 4.1.1.1)
 *
 * The first line of a 250 EHLO reply is the server's name; each later line
 * is a keyword with optional parameters, matched without regard to case.
 * Known keywords become flags; SIZE keeps its limit and AUTH its mechanism
 * list (upper-cased, one space between).  Unknown keywords (CHUNKING, HELP,
 * XCLIENT ...) are ignored.
 *
 * Ownership: a plain struct filled by the caller's call.
 */
#ifndef HERALD_SMTP_EHLO_H
#define HERALD_SMTP_EHLO_H

#include <stdbool.h>
#include <stdint.h>
#include <herald/status.h>
#include "smtp_reply.h"

#define SMTP_EXT_SIZE                0x001u
#define SMTP_EXT_PIPELINING          0x002u
#define SMTP_EXT_8BITMIME            0x004u
#define SMTP_EXT_SMTPUTF8            0x008u
#define SMTP_EXT_DSN                 0x010u
#define SMTP_EXT_ENHANCEDSTATUSCODES 0x020u
#define SMTP_EXT_STARTTLS            0x040u
#define SMTP_EXT_AUTH                0x080u

struct smtp_ehlo {
    unsigned flags;          /* SMTP_EXT_* */
    uint64_t size_max;       /* SIZE limit; 0 when none was given (no limit) */
    char auth[256];          /* "PLAIN LOGIN", "" without AUTH; truncated at a word */
};

/* smtp_ehlo_clear - no capabilities (what a HELO session has) */
void smtp_ehlo_clear(struct smtp_ehlo *e);

/*
 * smtp_ehlo_parse - fill *out from a complete 2xx EHLO reply.
 * HERALD_E_INVAL for NULL or a reply that is not 2xx; *out untouched then.
 */
herald_status smtp_ehlo_parse(const struct smtp_reply *r, struct smtp_ehlo *out);

/* smtp_ehlo_has_auth - true when mech (any case) is among the AUTH mechanisms */
bool smtp_ehlo_has_auth(const struct smtp_ehlo *e, const char *mech);

#endif
