/*
 * smtp_tls.c - mbed TLS client over the smtp_conn stream seam (see smtp_tls.h)
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <mbedtls/ctr_drbg.h>
#include <mbedtls/entropy.h>
#include <mbedtls/error.h>
#include <mbedtls/net_sockets.h>
#include <mbedtls/ssl.h>
#include <mbedtls/ssl_ciphersuites.h>
#include <mbedtls/x509_crt.h>
#include <herald/text.h>

#include "smtp_tls.h"

#define MAX_SUITES 64

struct smtp_tls_config {
    mbedtls_entropy_context entropy;
    mbedtls_ctr_drbg_context drbg;
    mbedtls_x509_crt ca;
    mbedtls_ssl_config conf;
    int suites[MAX_SUITES + 1];
    bool have_ca;
};

enum hs_state { HS_IDLE = 0, HS_RUNNING, HS_DONE, HS_FAILED };

struct smtp_tls {
    struct smtp_tls_config *cfg;
    struct herald_loop *loop;
    int fd;
    mbedtls_ssl_context ssl;
    enum hs_state hs;
    bool closed;                      /* close_notify sent */
    bool want_write;                  /* the last step or read was blocked writing */
    size_t wlen;                      /* a write that would block: its length, else 0 */
    uint32_t flags;                   /* verification result */
    unsigned char ip[16];             /* an IP-literal hop: its address, */
    size_t ip_len;                    /* 4 or 16 octets; 0 for a named hop */
    void (*done_fn)(void *arg);
    void *done_arg;
    struct herald_timer *done_timer;
    char error[256];
    char verify[256];
};

/* bio_send - socket send for mbed TLS, "want write" when it would block */
static int
bio_send(void *ctx, const unsigned char *buf, size_t n)
{
    ssize_t r = send(*(int *)ctx, buf, n, MSG_NOSIGNAL);

    if (r < 0)
        return errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR
               ? MBEDTLS_ERR_SSL_WANT_WRITE : MBEDTLS_ERR_NET_SEND_FAILED;
    return (int)r;
}

/* bio_recv - socket recv for mbed TLS, "want read" when it would block */
static int
bio_recv(void *ctx, unsigned char *buf, size_t n)
{
    ssize_t r = recv(*(int *)ctx, buf, n, 0);

    if (r < 0)
        return errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR
               ? MBEDTLS_ERR_SSL_WANT_READ : MBEDTLS_ERR_NET_RECV_FAILED;
    return (int)r;
}

/* parse_suites - "A:B,C" into a zero-terminated id list; false on an unknown name */
static bool
parse_suites(const char *text, int *ids, char *bad, size_t badcap)
{
    char buf[1024], *tok, *save = NULL;
    size_t n = 0;

    snprintf(buf, sizeof buf, "%s", text);
    for (tok = strtok_r(buf, ":, ", &save); tok != NULL; tok = strtok_r(NULL, ":, ", &save)) {
        int id = mbedtls_ssl_get_ciphersuite_id(tok);

        if (id == 0 || n >= MAX_SUITES) {
            snprintf(bad, badcap, "%s", tok);
            return false;
        }
        ids[n++] = id;
    }
    ids[n] = 0;
    if (n == 0) {
        snprintf(bad, badcap, "(empty list)");
        return false;
    }
    return true;
}

/* smtp_tls_config_new - RNG, CA chain and client config for one device */
herald_status
smtp_tls_config_new(const char *ca_file, const char *ca_path, bool verify,
                    const char *ciphersuites, struct smtp_tls_config **cfg_out,
                    struct herald_diag *diag)
{
    static const unsigned char pers[] = "herald-smtp";
    struct smtp_tls_config *c;
    const char *file = ca_file != NULL ? ca_file : SMTP_TLS_DEFAULT_CA_FILE;
    char bad[128];
    int rc;

    if (cfg_out == NULL)
        return herald_diag_set(diag, HERALD_E_INVAL, "tls", "no place for the config");
    c = calloc(1, sizeof *c);
    if (c == NULL)
        return herald_diag_set(diag, HERALD_E_NOMEM, "tls", "out of memory");
    mbedtls_entropy_init(&c->entropy);
    mbedtls_ctr_drbg_init(&c->drbg);
    mbedtls_x509_crt_init(&c->ca);
    mbedtls_ssl_config_init(&c->conf);
    rc = mbedtls_ctr_drbg_seed(&c->drbg, mbedtls_entropy_func, &c->entropy, pers,
                               sizeof pers - 1);
    if (rc != 0) {
        smtp_tls_config_free(&c);
        return herald_diag_set(diag, HERALD_E_TLS, "tls", "cannot seed the RNG (-0x%04x)",
                               (unsigned)-rc);
    }
    /* > 0 means some certificates of a bundle were skipped: the rest count. */
    rc = mbedtls_x509_crt_parse_file(&c->ca, file);
    c->have_ca = rc >= 0;
    if (c->have_ca && ca_path != NULL && mbedtls_x509_crt_parse_path(&c->ca, ca_path) < 0)
        c->have_ca = false, file = ca_path;
    if (!c->have_ca && verify) {
        smtp_tls_config_free(&c);
        return herald_diag_set(diag, HERALD_E_TLS, file,
                               "cannot load the CA certificates for tls = verify");
    }
    rc = mbedtls_ssl_config_defaults(&c->conf, MBEDTLS_SSL_IS_CLIENT,
                                     MBEDTLS_SSL_TRANSPORT_STREAM, MBEDTLS_SSL_PRESET_DEFAULT);
    if (rc != 0) {
        smtp_tls_config_free(&c);
        return herald_diag_set(diag, HERALD_E_TLS, "tls", "cannot set up TLS (-0x%04x)",
                               (unsigned)-rc);
    }
    if (ciphersuites != NULL) {
        if (!parse_suites(ciphersuites, c->suites, bad, sizeof bad)) {
            smtp_tls_config_free(&c);
            return herald_diag_set(diag, HERALD_E_CONFIG, "tls",
                                   "unknown or too many ciphersuites: %s", bad);
        }
        mbedtls_ssl_conf_ciphersuites(&c->conf, c->suites);
    }
    /* OPTIONAL: the handshake completes and the result is checked (and traced) by us. */
    mbedtls_ssl_conf_authmode(&c->conf, c->have_ca ? MBEDTLS_SSL_VERIFY_OPTIONAL
                                                   : MBEDTLS_SSL_VERIFY_NONE);
    if (c->have_ca)
        mbedtls_ssl_conf_ca_chain(&c->conf, &c->ca, NULL);
    mbedtls_ssl_conf_rng(&c->conf, mbedtls_ctr_drbg_random, &c->drbg);
    mbedtls_ssl_conf_min_version(&c->conf, MBEDTLS_SSL_MAJOR_VERSION_3,
                                 MBEDTLS_SSL_MINOR_VERSION_3);
    *cfg_out = c;
    return HERALD_OK;
}

/* smtp_tls_config_free - release a device's TLS state; accepts NULL */
void
smtp_tls_config_free(struct smtp_tls_config **cfgp)
{
    struct smtp_tls_config *c;

    if (cfgp == NULL || (c = *cfgp) == NULL)
        return;
    mbedtls_ssl_config_free(&c->conf);
    mbedtls_x509_crt_free(&c->ca);
    mbedtls_ctr_drbg_free(&c->drbg);
    mbedtls_entropy_free(&c->entropy);
    free(c);
    *cfgp = NULL;
}

/* ip_literal - host as an IPv4 or IPv6 address in ip (4 or 16 octets), else 0 */
static size_t
ip_literal(const char *host, unsigned char ip[16])
{
    if (inet_pton(AF_INET, host, ip) == 1)
        return 4;
    if (inet_pton(AF_INET6, host, ip) == 1)
        return 16;
    return 0;
}

/*
 * crt_has_ip - the certificate lists the address among its iPAddress SANs.
 * mbed TLS 2.28 keeps every SAN in subject_alt_names, tagged [n] with its
 * raw contents: for an iPAddress the 4 or 16 address octets (RFC 5280
 * 4.2.1.6).  Binary comparison: a text form never matches a dNSName.
 */
static bool
crt_has_ip(const mbedtls_x509_crt *crt, const unsigned char *ip, size_t len)
{
    const mbedtls_x509_sequence *san;

    for (san = &crt->subject_alt_names; san != NULL; san = san->next)
        if (san->buf.tag == (MBEDTLS_ASN1_CONTEXT_SPECIFIC | MBEDTLS_X509_SAN_IP_ADDRESS)
            && san->buf.len == len && san->buf.p != NULL && memcmp(san->buf.p, ip, len) == 0)
            return true;
    return false;
}

/* smtp_tls_new - a client connection over fd for host */
herald_status
smtp_tls_new(struct smtp_tls_config *cfg, struct herald_loop *loop, int fd, const char *host,
             void (*done_fn)(void *arg), void *arg, struct smtp_tls **tls_out)
{
    struct smtp_tls *t;

    if (cfg == NULL || loop == NULL || fd < 0 || host == NULL || *host == '\0'
        || done_fn == NULL || tls_out == NULL)
        return HERALD_E_INVAL;
    t = calloc(1, sizeof *t);
    if (t == NULL)
        return HERALD_E_NOMEM;
    t->cfg = cfg;
    t->loop = loop;
    t->fd = fd;
    t->done_fn = done_fn;
    t->done_arg = arg;
    t->flags = (uint32_t)-1;
    t->ip_len = ip_literal(host, t->ip);
    mbedtls_ssl_init(&t->ssl);
    /* An IP hop: no SNI (RFC 6066 3 allows only host names there) and no
     * name check by mbed TLS, which would match the IP text against dNSName
     * SANs and the CN; step() matches iPAddress SANs instead.  NULL says so
     * explicitly to mbed TLS versions that insist on a name (CVE-2025-27809). */
    if (mbedtls_ssl_setup(&t->ssl, &cfg->conf) != 0
        || mbedtls_ssl_set_hostname(&t->ssl, t->ip_len > 0 ? NULL : host) != 0) {
        smtp_tls_free(&t);
        return HERALD_E_TLS;
    }
    mbedtls_ssl_set_bio(&t->ssl, &t->fd, bio_send, bio_recv, NULL);
    snprintf(t->verify, sizeof t->verify, "not checked");
    *tls_out = t;
    return HERALD_OK;
}

/*
 * smtp_tls_close_notify - the closure alert (RFC 5246 7.2.1, RFC 8446 6.1)
 * before the socket is closed, so the peer can tell a clean end from a
 * truncation.  One non-blocking try after a completed handshake; a socket
 * that cannot take it now is closed anyway.
 */
void
smtp_tls_close_notify(struct smtp_tls *t)
{
    if (t == NULL || t->hs != HS_DONE || t->closed)
        return;
    t->closed = true;
    (void)mbedtls_ssl_close_notify(&t->ssl);
}

/* smtp_tls_free - release; the socket is not closed; accepts NULL */
void
smtp_tls_free(struct smtp_tls **tp)
{
    struct smtp_tls *t;

    if (tp == NULL || (t = *tp) == NULL)
        return;
    herald_timer_cancel(&t->done_timer);
    mbedtls_ssl_free(&t->ssl);
    free(t);
    *tp = NULL;
}

/* done_fire - tell the owner, from the loop, that the handshake ended */
static void
done_fire(void *arg)
{
    struct smtp_tls *t = arg;

    herald_timer_cancel(&t->done_timer);
    t->done_fn(t->done_arg);
}

/* verify_reasons - short reasons for the verification flags */
static void
verify_reasons(struct smtp_tls *t)
{
    static const struct { uint32_t flag; const char *text; } reasons[] = {
        { MBEDTLS_X509_BADCERT_NOT_TRUSTED, "certificate not trusted (unknown CA)" },
        { MBEDTLS_X509_BADCERT_CN_MISMATCH, "host name mismatch (CN/SAN)" },
        { MBEDTLS_X509_BADCERT_EXPIRED, "certificate expired" },
        { MBEDTLS_X509_BADCERT_FUTURE, "certificate not yet valid" },
        { MBEDTLS_X509_BADCERT_REVOKED, "certificate revoked" },
        { MBEDTLS_X509_BADCERT_MISSING, "no certificate" },
        { MBEDTLS_X509_BADCERT_SKIP_VERIFY, "not checked (no CA certificates loaded)" },
    };
    size_t i, n = 0;
    uint32_t rest = t->flags;

    if (t->flags == 0) {
        snprintf(t->verify, sizeof t->verify, "ok");
        return;
    }
    t->verify[0] = '\0';
    for (i = 0; i < sizeof reasons / sizeof reasons[0]; i++)
        if (t->flags & reasons[i].flag) {
            /* One flag for both kinds of hop; the reason says which check failed. */
            const char *text = reasons[i].flag == MBEDTLS_X509_BADCERT_CN_MISMATCH
                               && t->ip_len > 0
                               ? "IP address mismatch (no such iPAddress SAN)" : reasons[i].text;

            n += (size_t)snprintf(t->verify + n, sizeof t->verify - n, "%s%s", n ? "; " : "",
                                  text);
            rest &= ~reasons[i].flag;
            if (n >= sizeof t->verify)
                return;
        }
    if (rest != 0)
        snprintf(t->verify + n, sizeof t->verify - n, "%sother problems (flags 0x%x)",
                 n ? "; " : "", (unsigned)rest);
}

/* step - advance the handshake; 1 done, 0 wants more, -1 failed */
static int
step(struct smtp_tls *t)
{
    int rc = mbedtls_ssl_handshake(&t->ssl);
    const mbedtls_x509_crt *crt;
    char err[160];

    /* Blocked writing, the handshake goes on when the socket takes output. */
    t->want_write = rc == MBEDTLS_ERR_SSL_WANT_WRITE;
    if (rc == MBEDTLS_ERR_SSL_WANT_READ || rc == MBEDTLS_ERR_SSL_WANT_WRITE)
        return 0;
    t->flags = mbedtls_ssl_get_verify_result(&t->ssl);
    crt = mbedtls_ssl_get_peer_cert(&t->ssl);
    /* An IP hop's name check, where mbed TLS would have done a host name's:
     * a certificate was received and checked (not SKIP_VERIFY). */
    if (crt != NULL && t->ip_len > 0 && t->flags != (uint32_t)-1
        && !(t->flags & MBEDTLS_X509_BADCERT_SKIP_VERIFY) && !crt_has_ip(crt, t->ip, t->ip_len))
        t->flags |= MBEDTLS_X509_BADCERT_CN_MISMATCH;
    if (crt == NULL || t->flags == (uint32_t)-1)
        /* Ended before a certificate came: there was nothing to verify, and
         * mbed TLS's 0 must not read as "ok" in the trace. */
        snprintf(t->verify, sizeof t->verify, "not done (no certificate received)");
    else
        verify_reasons(t);
    if (rc != 0) {
        mbedtls_strerror(rc, err, sizeof err);
        snprintf(t->error, sizeof t->error, "TLS handshake failed: %s (-0x%04x)", err,
                 (unsigned)-rc);
        t->hs = HS_FAILED;
    } else {
        t->hs = HS_DONE;
    }
    if (herald_timer_start(t->loop, 0, done_fire, t, &t->done_timer) != HERALD_OK)
        t->done_timer = NULL;
    return rc == 0 ? 1 : -1;
}

/* smtp_tls_start - the ClientHello */
herald_status
smtp_tls_start(struct smtp_tls *t)
{
    if (t == NULL || t->hs != HS_IDLE)
        return HERALD_E_INVAL;
    t->hs = HS_RUNNING;
    return step(t) < 0 ? HERALD_E_TLS : HERALD_OK;
}

/* tls_recv - stream recv: steps the handshake, then decrypted octets */
static ssize_t
tls_recv(void *ctx, void *buf, size_t n)
{
    struct smtp_tls *t = ctx;
    int rc;

    if (t->hs == HS_RUNNING) {
        rc = step(t);
        if (rc <= 0) {
            errno = rc == 0 ? EAGAIN : EPROTO;
            return -1;
        }
    }
    if (t->hs != HS_DONE) {
        errno = t->hs == HS_FAILED ? EPROTO : EAGAIN;
        return -1;
    }
    rc = mbedtls_ssl_read(&t->ssl, buf, n > 16384 ? 16384 : n);
    t->want_write = rc == MBEDTLS_ERR_SSL_WANT_WRITE;   /* an alert, say */
    if (rc > 0)
        return rc;
    if (rc == 0 || rc == MBEDTLS_ERR_SSL_PEER_CLOSE_NOTIFY)
        return 0;
    if (rc == MBEDTLS_ERR_SSL_WANT_READ || rc == MBEDTLS_ERR_SSL_WANT_WRITE) {
        errno = EAGAIN;
        return -1;
    }
    snprintf(t->error, sizeof t->error, "TLS read failed (-0x%04x)", (unsigned)-rc);
    errno = EPROTO;
    return -1;
}

/*
 * tls_send - stream send: encrypt; nothing goes out before the handshake ends.
 * A write that would block has made its record already: mbed TLS must be
 * called again with the same length, for it then only flushes that record
 * and reports the length it was given as sent.  Any more octets queued in
 * the meantime would be counted as sent and never be.
 */
static ssize_t
tls_send(void *ctx, const void *buf, size_t n)
{
    struct smtp_tls *t = ctx;
    int rc;

    if (t->hs != HS_DONE) {
        errno = t->hs == HS_FAILED ? EPROTO : EAGAIN;
        return -1;
    }
    if (t->wlen > 0 && n < t->wlen) {
        snprintf(t->error, sizeof t->error, "TLS write retried with fewer octets");
        errno = EINVAL;
        return -1;
    }
    if (t->wlen > 0)
        n = t->wlen;
    else if (n > 16384)
        n = 16384;
    rc = mbedtls_ssl_write(&t->ssl, buf, n);
    if (rc >= 0) {
        t->wlen = 0;
        return rc;
    }
    if (rc == MBEDTLS_ERR_SSL_WANT_READ || rc == MBEDTLS_ERR_SSL_WANT_WRITE) {
        t->wlen = n;
        errno = EAGAIN;
        return -1;
    }
    snprintf(t->error, sizeof t->error, "TLS write failed (-0x%04x)", (unsigned)-rc);
    errno = EPIPE;
    return -1;
}

/* tls_pending - plaintext mbed TLS holds (the rest of a record larger than
 * recv's n): the socket is empty by then, no readable event will come */
static bool
tls_pending(void *ctx)
{
    struct smtp_tls *t = ctx;

    return t->hs == HS_DONE
           && (mbedtls_ssl_get_bytes_avail(&t->ssl) > 0 || mbedtls_ssl_check_pending(&t->ssl));
}

/* tls_wants_write - the handshake (or an alert) waits for the socket to take output */
static bool
tls_wants_write(void *ctx)
{
    const struct smtp_tls *t = ctx;

    return t->want_write && t->hs != HS_FAILED;
}

static const struct smtp_stream_ops tls_ops = { tls_recv, tls_send, tls_pending,
                                                tls_wants_write };

/* smtp_tls_stream - the TLS stream ops */
const struct smtp_stream_ops *
smtp_tls_stream(void)
{
    return &tls_ops;
}

/* smtp_tls_established - the handshake ended well */
bool
smtp_tls_established(const struct smtp_tls *t)
{
    return t != NULL && t->hs == HS_DONE;
}

/* smtp_tls_verified - trusted chain and matching name */
bool
smtp_tls_verified(const struct smtp_tls *t)
{
    return t != NULL && t->hs == HS_DONE && t->flags == 0;
}

/* smtp_tls_error - why it failed, "" if it did not */
const char *
smtp_tls_error(const struct smtp_tls *t)
{
    return t != NULL ? t->error : "";
}

/* smtp_tls_verify_text - "ok" or the reasons */
const char *
smtp_tls_verify_text(const struct smtp_tls *t)
{
    return t != NULL ? t->verify : "";
}

/* smtp_tls_describe - protocol version and ciphersuite */
void
smtp_tls_describe(const struct smtp_tls *t, char *buf, size_t cap)
{
    if (cap == 0)
        return;
    if (t == NULL || t->hs != HS_DONE) {
        buf[0] = '\0';
        return;
    }
    snprintf(buf, cap, "%s %s", mbedtls_ssl_get_version(&t->ssl),
             mbedtls_ssl_get_ciphersuite(&t->ssl));
}

/* smtp_tls_peer_names - subject and issuer DNs of the peer certificate */
void
smtp_tls_peer_names(const struct smtp_tls *t, char *subject, size_t scap, char *issuer,
                    size_t icap)
{
    const mbedtls_x509_crt *crt = t != NULL ? mbedtls_ssl_get_peer_cert(&t->ssl) : NULL;

    if (scap > 0)
        subject[0] = '\0';
    if (icap > 0)
        issuer[0] = '\0';
    if (crt == NULL)
        return;
    if (scap > 0 && mbedtls_x509_dn_gets(subject, scap, &crt->subject) < 0)
        subject[0] = '\0';
    if (icap > 0 && mbedtls_x509_dn_gets(issuer, icap, &crt->issuer) < 0)
        issuer[0] = '\0';
}

/* san_text - one subjectAltName entry as text: a dNSName as one word
 * (bounded; anything but 0x21..0x7e as '?', a NUL in the certificate among
 * them), an iPAddress in its usual form; false for other kinds */
static bool
san_text(const mbedtls_x509_buf *b, char *out, size_t cap)
{
    if (b->p == NULL || cap == 0)
        return false;
    if (b->tag == (MBEDTLS_ASN1_CONTEXT_SPECIFIC | MBEDTLS_X509_SAN_DNS_NAME)) {
        herald_text_printable(out, cap, b->p, b->len, HERALD_TEXT_WORD);
        return true;
    }
    if (b->tag == (MBEDTLS_ASN1_CONTEXT_SPECIFIC | MBEDTLS_X509_SAN_IP_ADDRESS)
        && (b->len == 4 || b->len == 16))
        return inet_ntop(b->len == 4 ? AF_INET : AF_INET6, b->p, out, (socklen_t)cap) != NULL;
    return false;
}

/* smtp_tls_peer_info - see smtp_tls.h */
void
smtp_tls_peer_info(const struct smtp_tls *t, struct smtp_tls_peer *out)
{
    const mbedtls_x509_crt *crt;
    const mbedtls_x509_sequence *san;
    const char *v;

    memset(out, 0, sizeof *out);
    if (t == NULL || t->hs != HS_DONE)
        return;
    v = mbedtls_ssl_get_version(&t->ssl);
    snprintf(out->version, sizeof out->version, "%s", v != NULL ? v : "");
    v = mbedtls_ssl_get_ciphersuite(&t->ssl);
    snprintf(out->cipher, sizeof out->cipher, "%s", v != NULL ? v : "");
    smtp_tls_peer_names(t, out->subject, sizeof out->subject, out->issuer, sizeof out->issuer);
    crt = mbedtls_ssl_get_peer_cert(&t->ssl);
    if (crt == NULL)
        return;
    snprintf(out->not_after, sizeof out->not_after, "%04d-%02d-%02dT%02d:%02d:%02dZ",
             crt->valid_to.year, crt->valid_to.mon, crt->valid_to.day, crt->valid_to.hour,
             crt->valid_to.min, crt->valid_to.sec);
    for (san = &crt->subject_alt_names; san != NULL && out->name_count < SMTP_TLS_NAMES_MAX;
         san = san->next)
        if (san_text(&san->buf, out->names[out->name_count], sizeof out->names[0]))
            out->name_count++;
}
