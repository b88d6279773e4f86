/*
 * smtp_tls.h - the mbed TLS seam of the SMTP client
 *
 * A config per device holds the RNG, the CA chain and the policy (TLS 1.2
 * minimum, mbed TLS default ciphersuites).  A connection object per TCP
 * connection runs a non-blocking client handshake over the connection's
 * socket and then moves bytes through struct smtp_stream_ops, so the
 * smtp_conn input buffer fills with plaintext.
 *
 * The handshake is driven through the stream's recv: the session calls
 * smtp_tls_start() once (ClientHello goes out), every later readable event
 * steps it, and so does a writable one while a step is blocked writing (the
 * stream's wants_write), and recv reports "would block" until application
 * data arrives.  When the handshake ends, done_fn runs from the loop (never
 * from inside a recv); a failed handshake makes recv fail with EPROTO and
 * smtp_tls_error() says why.  A record may hold more plaintext than recv
 * asks for: the stream's pending says so, and the connection pulls the rest
 * without waiting for the socket.
 *
 * A host name is always given to mbed TLS (SNI, and the name check:
 * mbed TLS 2.28 checks names only when it was set, CVE-2025-27809).  An
 * IP literal (IPv4 or IPv6 text) is not: no SNI is sent (RFC 6066 3), and
 * the address is matched here, in binary, against the certificate's
 * iPAddress SANs only; a dNSName, wildcard or CN holding the address text
 * does not match.  A mismatch sets the same verification flag as a name
 * mismatch, with its own reason ("IP address mismatch").
 * Verification uses MBEDTLS_SSL_VERIFY_OPTIONAL so that the result can be
 * traced in every policy; smtp_tls_verified() says whether it passed.
 *
 * Ownership: smtp_tls_config_new()/_free(&c), smtp_tls_new()/_free(&t).
 * A connection borrows its config; the socket stays the connection's.
 */
#ifndef HERALD_SMTP_TLS_H
#define HERALD_SMTP_TLS_H

#include <stdbool.h>
#include <stdint.h>
#include <herald/status.h>
#include <herald/loop.h>
#include "smtp_conn.h"

/* The TLS policy of a device (the transport's "tls" option, same order). */
enum smtp_tls_policy {
    SMTP_TLS_NONE = 0,           /* never STARTTLS */
    SMTP_TLS_OPPORTUNISTIC = 1,  /* STARTTLS when offered, clear text otherwise */
    SMTP_TLS_REQUIRED = 2,       /* no TLS, no mail */
    SMTP_TLS_VERIFY = 3          /* required, trusted chain and matching host name */
};

#define SMTP_TLS_DEFAULT_CA_FILE "/etc/ssl/certs/ca-certificates.crt"

struct smtp_tls_config;
struct smtp_tls;

/*
 * smtp_tls_config_new - RNG and CA chain for one device.  ca_file NULL: the
 * system bundle; ca_path (may be NULL) adds a directory.  With verify, a CA
 * that cannot be loaded is an error (HERALD_E_TLS, diag names the file);
 * without, it only means the verification result is "not trusted".
 * ciphersuites (may be NULL): mbed TLS names separated by ':' or ','.
 */
herald_status smtp_tls_config_new(const char *ca_file, const char *ca_path, bool verify,
                                  const char *ciphersuites, struct smtp_tls_config **cfg_out,
                                  struct herald_diag *diag);
void smtp_tls_config_free(struct smtp_tls_config **cfg);

/*
 * smtp_tls_new - a client TLS connection over fd for host (SNI and name
 * check; for an IP literal, no SNI and the iPAddress SAN check).  done_fn(arg) runs from the loop when the handshake has ended,
 * well or not.  HERALD_E_INVAL, HERALD_E_NOMEM, HERALD_E_TLS.
 */
herald_status smtp_tls_new(struct smtp_tls_config *cfg, struct herald_loop *loop, int fd,
                           const char *host, void (*done_fn)(void *arg), void *arg,
                           struct smtp_tls **tls_out);
void smtp_tls_free(struct smtp_tls **tls);
/* smtp_tls_close_notify - send the closure alert (once, best effort) before
 * the socket closes; nothing before the handshake has completed */
void smtp_tls_close_notify(struct smtp_tls *t);

/* smtp_tls_stream - the ops to give smtp_conn_set_stream() with the tls as ctx */
const struct smtp_stream_ops *smtp_tls_stream(void);

/* smtp_tls_start - send the ClientHello; HERALD_E_TLS when it cannot */
herald_status smtp_tls_start(struct smtp_tls *t);

/* smtp_tls_established - the handshake ended well */
bool smtp_tls_established(const struct smtp_tls *t);
/* smtp_tls_verified - chain trusted and host name matched (after the handshake) */
bool smtp_tls_verified(const struct smtp_tls *t);
/* smtp_tls_error - why the handshake or the connection failed, "" if it did not */
const char *smtp_tls_error(const struct smtp_tls *t);
/* smtp_tls_verify_text - "ok", or the reasons: "certificate not trusted; ..." */
const char *smtp_tls_verify_text(const struct smtp_tls *t);
/* smtp_tls_describe - "TLSv1.2 TLS-ECDHE-RSA-WITH-AES-256-GCM-SHA384" */
void smtp_tls_describe(const struct smtp_tls *t, char *buf, size_t cap);
/* smtp_tls_peer_names - subject and issuer of the peer certificate ("" without) */
void smtp_tls_peer_names(const struct smtp_tls *t, char *subject, size_t scap, char *issuer,
                         size_t icap);

/* What "herald probe" shows of a handshake that ended well (all "" and no
 * names without a peer certificate). */
#define SMTP_TLS_NAMES_MAX 16
struct smtp_tls_peer {
    char version[32];                  /* "TLSv1.2" */
    char cipher[96];                   /* "TLS-ECDHE-RSA-WITH-AES-256-GCM-SHA384" */
    char subject[256], issuer[256];    /* "CN=mx1.example" */
    char not_after[32];                /* "2027-01-31T12:00:00Z" */
    size_t name_count;                 /* subjectAltName dNSNames and iPAddresses, */
    char names[SMTP_TLS_NAMES_MAX][256];   /* the first SMTP_TLS_NAMES_MAX */
};
/* smtp_tls_peer_info - protocol, cipher and peer certificate details */
void smtp_tls_peer_info(const struct smtp_tls *t, struct smtp_tls_peer *out);

#endif
