/*
 * smtp_probe.h - "herald probe" over SMTP: one short session per hop address
 *
 * For every job of a probe (herald/probe.h), in plan order and at most
 * max_sessions at once: connect, greeting, EHLO (HELO when EHLO gets a 5xx),
 * STARTTLS under the device's TLS policy (and implicit TLS), AUTH where the
 * device would authenticate (smtp_auth_hop_gets; a login only when the probe
 * asks for it), MAIL FROM, RCPT TO when the probe has a recipient, then RSET
 * and QUIT.  DATA is never sent.  Each step is bounded by the device's own
 * timeout for it (struct smtp_session_opts) or by the probe's deadline
 * (herald_probe_remaining_ms), whichever ends first; every job ends, once.
 *
 * A step that the device's policy would not pass ends the session there,
 * as a delivery would: STARTTLS required and not offered, a certificate not
 * verified under tls = verify, AUTH when the connection does not meet
 * auth.require_tls.  Replies are kept as one printable line each, with any
 * echo of the credentials redacted (smtp_auth_redact), and traced as
 * "C: ..." / "S: ..." to the probe's trace; a secret is never sent in clear
 * to the trace or kept.
 *
 * This is a state machine of its own, not smtp_session: a session delivers,
 * retries in clear text and reuses connections, while a probe reports each
 * step and must never be able to reach DATA.
 */
#ifndef HERALD_SMTP_PROBE_H
#define HERALD_SMTP_PROBE_H

#include <stddef.h>
#include <herald/status.h>
#include <herald/loop.h>
#include <herald/probe.h>
#include "smtp_session.h"

/*
 * smtp_probe_start - probe every job of probe with the device's session
 * options (borrowed until the last job ends; the transport outlives it).
 * HERALD_OK: every job will end with herald_probe_job_done() (some may
 * have already); HERALD_E_INVAL, HERALD_E_NOMEM: none was started.
 */
herald_status smtp_probe_start(struct herald_loop *loop, const struct smtp_session_opts *opts,
                               size_t max_sessions, struct herald_probe *probe);

#endif
