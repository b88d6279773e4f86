/*
 * herald/timeouts.h - every default time limit of Herald, in one place
 *
 * The option tables (core, devices, transports) start from these, and the
 * code that must fall back on a default (an option block from an older
 * module, a hand-made env) uses the same names: a default changes here and
 * nowhere else.  Milliseconds.
 */
#ifndef HERALD_TIMEOUTS_H
#define HERALD_TIMEOUTS_H

/* DNS (herald.dns): per try; tries per query. */
#define HERALD_DEFAULT_DNS_TIMEOUT_MS    5000
#define HERALD_DEFAULT_DNS_TRIES         2
/* A route strategy's answer to one request (route.timeout_ms): a plan that
 * takes longer defers the domain, 4.4.7, naming the strategy. */
#define HERALD_DEFAULT_ROUTE_TIMEOUT_MS  30000
/* SMTP (RFC 5321 4.5.3.2; connect as Postfix's smtp_connect_timeout). */
#define HERALD_DEFAULT_SMTP_CONNECT_MS   30000
#define HERALD_DEFAULT_SMTP_GREETING_MS  300000
#define HERALD_DEFAULT_SMTP_HELO_MS      300000
#define HERALD_DEFAULT_SMTP_MAIL_MS      300000
#define HERALD_DEFAULT_SMTP_RCPT_MS      300000
#define HERALD_DEFAULT_SMTP_DATA_MS      120000
#define HERALD_DEFAULT_SMTP_BLOCK_MS     180000
#define HERALD_DEFAULT_SMTP_DOT_MS       600000
/* The reply to QUIT: a courtesy, so short; an idle cached session's life. */
#define HERALD_DEFAULT_SMTP_QUIT_MS      5000
#define HERALD_DEFAULT_SMTP_SESSION_IDLE_MS 5000
/* "herald probe" as a whole (herald/probe.h), whatever each step's own
 * timeout: an administrator waits minutes, not the 5 of every step. */
#define HERALD_DEFAULT_PROBE_DEADLINE_MS 120000

#endif
