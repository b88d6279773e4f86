/*
 * message.c - a message to deliver: envelope addresses and a re-readable body
 *
 * The body is either a borrowed buffer or an open file descriptor that the
 * message owns.  A file named by the caller is opened when it is set, so a
 * missing file is an error before any delivery starts; a stream (pipe,
 * stdin) is copied once into an unlinked temporary file.  Readers never
 * share a file offset: each keeps its own and uses pread(), so two
 * destinations can read the same body at the same time.
 *
 * The body size is fixed when the body is set (fstat, or the copy's length):
 * readers stop there, and a file that shrinks underneath is an I/O error
 * rather than a silently short message.  What a delivery needs to know about
 * the body (an 8-bit octet, its size on the wire for SIZE=) is found in that
 * same one pass, never by reading the body again per attempt.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <herald/host.h>
#include <herald/message.h>
#include "text.h"
#include "utf8.h"
#include "wire_count.h"

/* A bound on recipients per message: a caller bug must not eat all memory. */
#define MESSAGE_MAX_RECIPIENTS 100000
/* Copy buffer for herald_message_set_body_fd(): memory does not grow with the body. */
#define MESSAGE_COPY_CHUNK (64 * 1024)
/* Addresses to try last per message: a runner's held hops, never more than
 * it holds; the bound stops a caller bug. */
#define MESSAGE_MAX_TRY_LAST 4096
#define MESSAGE_TRY_LAST_REASON_MAX 200

enum body_kind { BODY_NONE = 0, BODY_BUFFER, BODY_FD };

struct try_last {
    char *address;
    uint16_t port;
    char *reason;
};

struct herald_message {
    char *sender;             /* never NULL once created: "" is the null reverse-path */
    char **rcpts;
    size_t rcpt_count;
    size_t rcpt_cap;
    enum body_kind body;
    const unsigned char *buf; /* BODY_BUFFER: borrowed */
    int fd;                   /* BODY_FD: owned, O_CLOEXEC */
    uint64_t base;            /* BODY_FD: where the body starts in fd (a queue file) */
    uint64_t size;            /* octets, fixed when the body was set */
    uint64_t wire_size;       /* octets with CRLF line ends (SIZE=), counted then too */
    bool eight_bit;           /* an octet >= 0x80: known once, when the body was set */
    unsigned dsn_notify;      /* HERALD_DSN_NOTIFY_* bits; 0: the server's default */
    enum herald_dsn_ret dsn_ret;
    char *dsn_envid;          /* NULL: none */
    struct try_last *last;    /* addresses to try last (herald_message_add_try_last) */
    size_t last_count;
};

struct herald_body_reader {
    const struct herald_message *msg;
    uint64_t offset;
};

/* herald_message_new - an empty message: sender "", no recipient, empty body */
herald_status
herald_message_new(struct herald_message **msg_out)
{
    struct herald_message *m;

    if (msg_out == NULL)
        return HERALD_E_INVAL;
    m = calloc(1, sizeof *m);
    if (m == NULL)
        return HERALD_E_NOMEM;
    m->sender = strdup("");
    if (m->sender == NULL) {
        free(m);
        return HERALD_E_NOMEM;
    }
    m->fd = -1;
    *msg_out = m;
    return HERALD_OK;
}

/* body_clear - drop the current body (closing an owned descriptor) */
static void
body_clear(struct herald_message *m)
{
    if (m->body == BODY_FD && m->fd >= 0)
        close(m->fd);
    m->fd = -1;
    m->buf = NULL;
    m->base = 0;
    m->size = 0;
    m->wire_size = 0;
    m->eight_bit = false;
    m->body = BODY_NONE;
}

/* herald_message_free - free msg and everything it owns; accepts NULL */
void
herald_message_free(struct herald_message **msg)
{
    struct herald_message *m;
    size_t i;

    if (msg == NULL || *msg == NULL)
        return;
    m = *msg;
    body_clear(m);
    for (i = 0; i < m->rcpt_count; i++)
        free(m->rcpts[i]);
    free(m->rcpts);
    free(m->sender);
    free(m->dsn_envid);
    for (i = 0; i < m->last_count; i++) {
        free(m->last[i].address);
        free(m->last[i].reason);
    }
    free(m->last);
    free(m);
    *msg = NULL;
}

/* herald_address_domain - the part after the last '@', or NULL */
const char *
herald_address_domain(const char *address)
{
    const char *at;

    if (address == NULL)
        return NULL;
    at = strrchr(address, '@');
    return at != NULL ? at + 1 : NULL;
}

/* domain_check_literal - "[1.2.3.4]" or "[IPv6:...]" (RFC 5321 4.1.3) */
static const char *
domain_check_literal(const char *d, size_t len)
{
    char inner[64];
    unsigned char addr[16];
    size_t n;

    if (len < 3 || d[len - 1] != ']')
        return "address literal is not closed by ']'";
    n = len - 2;
    if (n >= sizeof inner)
        return "address literal is too long";
    memcpy(inner, d + 1, n);
    inner[n] = '\0';
    if (strncmp(inner, "IPv6:", 5) == 0) {
        if (inet_pton(AF_INET6, inner + 5, addr) != 1)
            return "address literal is not an IPv6 address";
        return NULL;
    }
    if (inet_pton(AF_INET, inner, addr) != 1)
        return "address literal is not an IPv4 address";
    return NULL;
}

/* domain_check - a host name (herald/host.h's one rule, no trailing dot) or a literal */
static const char *
domain_check(const char *d)
{
    size_t len = strlen(d);

    if (len == 0)
        return "empty domain";
    if (d[0] == '[')
        return domain_check_literal(d, len);
    return herald_host_name_check(d, false);
}

/* is_atext - RFC 5321 atext, with RFC 6531's UTF-8 octets (checked as UTF-8 elsewhere) */
static int
is_atext(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')
           || c >= 0x80 || (c != '\0' && strchr("!#$%&'*+-/=?^_`{|}~", c) != NULL);
}

/*
 * local_check - the part before the last '@': 1..64 octets, a Dot-string
 * (atoms of atext joined by single dots) or a Quoted-string (RFC 5321 4.1.2),
 * so what reaches MAIL FROM and RCPT TO is an address a server can parse.
 */
static const char *
local_check(const char *local, size_t len)
{
    size_t i;

    if (len == 0)
        return "empty local part";
    if (len > 64)
        return "local part is longer than 64 octets";
    if (local[0] == '"') {
        if (len < 2 || local[len - 1] != '"')
            return "unterminated quoted local part";
        for (i = 1; i + 1 < len; i++) {
            unsigned char c = (unsigned char)local[i];

            if (c == '\\') {
                if (++i + 1 >= len)
                    return "'\\' at the end of a quoted local part";
                continue;
            }
            if (c == '"')
                return "stray '\"' in the local part";
        }
        return NULL;
    }
    for (i = 0; i < len; i++) {
        unsigned char c = (unsigned char)local[i];

        if (c == '.') {
            if (i == 0 || i + 1 == len || local[i + 1] == '.')
                return "a dot at the start or end of the local part, or two in a row";
            continue;
        }
        if (c == '@')
            return "'@' in an unquoted local part";
        if (c == '"')
            return "stray '\"' in the local part";
        if (!is_atext(c))
            return "a character not allowed in an unquoted local part (quote it)";
    }
    return NULL;
}

/* herald_address_check - strict envelope address syntax; reason in diag */
herald_status
herald_address_check(const char *address, int need_domain, struct herald_diag *diag)
{
    const char *at, *why = NULL;
    size_t len, i;
    bool non_ascii = false;

    if (address == NULL)
        return herald_diag_set(diag, HERALD_E_INVAL, "", "no address given");
    /* strnlen: a hostile caller's unterminated giant string is not walked to the end. */
    len = strnlen(address, HERALD_ADDRESS_MAX + 1);
    if (len > HERALD_ADDRESS_MAX)
        return herald_diag_set(diag, HERALD_E_ADDRESS, "", "address is longer than %d octets",
                               HERALD_ADDRESS_MAX);
    if (len == 0) {
        if (!need_domain)
            return HERALD_OK;   /* the null reverse-path, "<>" on the wire */
        return herald_diag_set(diag, HERALD_E_ADDRESS, "", "empty address");
    }
    /* Checked byte by byte first: CR/LF must never reach an SMTP command
     * line, and whitespace or brackets would let an address smuggle syntax. */
    for (i = 0; i < len && why == NULL; i++) {
        unsigned char c = (unsigned char)address[i];

        if (text_is_ctl(c))
            why = "control character in address";
        else if (c == ' ')
            why = "space in address";
        else if (c == '<' || c == '>')
            why = "'<' or '>' in address";
        else if (c >= 0x80)
            non_ascii = true;
    }
    if (why == NULL && non_ascii && !utf8_valid((const unsigned char *)address, len))
        why = "address is not valid UTF-8";
    if (why == NULL && non_ascii && (at = strrchr(address, '@')) != NULL) {
        for (i = 1; at[i] != '\0' && why == NULL; i++)
            if ((unsigned char)at[i] >= 0x80)
                why = "non-ASCII domain: write it in its ASCII (A-label, \"xn--\") form";
    }
    if (why == NULL) {
        at = strrchr(address, '@');
        if (at == NULL) {
            if (need_domain)
                why = "no domain (no '@')";
        } else {
            why = local_check(address, (size_t)(at - address));
            if (why == NULL)
                why = domain_check(at + 1);
        }
    }
    if (why != NULL)
        return herald_diag_set(diag, HERALD_E_ADDRESS, address, "%s", why);
    return HERALD_OK;
}

/* herald_message_set_sender - replace the sender; "" is allowed */
herald_status
herald_message_set_sender(struct herald_message *msg, const char *address)
{
    herald_status st;
    char *copy;

    if (msg == NULL || address == NULL)
        return HERALD_E_INVAL;
    st = herald_address_check(address, 0, NULL);
    if (st != HERALD_OK)
        return st;
    copy = strdup(address);
    if (copy == NULL)
        return HERALD_E_NOMEM;
    free(msg->sender);
    msg->sender = copy;
    return HERALD_OK;
}

/* herald_message_add_recipient - append a checked recipient (a domain is required) */
herald_status
herald_message_add_recipient(struct herald_message *msg, const char *address)
{
    herald_status st;
    char *copy;

    if (msg == NULL || address == NULL)
        return HERALD_E_INVAL;
    st = herald_address_check(address, 1, NULL);
    if (st != HERALD_OK)
        return st;
    if (msg->rcpt_count >= MESSAGE_MAX_RECIPIENTS)
        return HERALD_E_LIMIT;
    if (msg->rcpt_count == msg->rcpt_cap) {
        size_t cap = msg->rcpt_cap ? msg->rcpt_cap * 2 : 8;
        char **grown = realloc(msg->rcpts, cap * sizeof *grown);

        if (grown == NULL)
            return HERALD_E_NOMEM;
        msg->rcpts = grown;
        msg->rcpt_cap = cap;
    }
    copy = strdup(address);
    if (copy == NULL)
        return HERALD_E_NOMEM;
    msg->rcpts[msg->rcpt_count++] = copy;
    return HERALD_OK;
}

/* has_high_bit - an octet of data[0..n) is >= 0x80; 32 octets at a time
 * (every body set runs through it once) */
static bool
has_high_bit(const void *data, size_t n)
{
    const unsigned char *p = data;
    size_t i = 0;

    for (; i + 32 <= n; i += 32) {
        uint64_t w[4];

        memcpy(w, p + i, sizeof w);
        if ((w[0] | w[1] | w[2] | w[3]) & UINT64_C(0x8080808080808080))
            return true;
    }
    for (; i < n; i++)
        if (p[i] >= 0x80)
            return true;
    return false;
}

/* ascii_only - no octet above 0x7f in the string s */
static bool
ascii_only(const char *s)
{
    return !has_high_bit(s, strlen(s));
}

/* herald_message_needs_smtputf8 - an envelope address is not ASCII (RFC 6531) */
bool
herald_message_needs_smtputf8(const struct herald_message *msg)
{
    size_t i;

    if (msg == NULL)
        return false;
    if (!ascii_only(msg->sender))
        return true;
    for (i = 0; i < msg->rcpt_count; i++)
        if (!ascii_only(msg->rcpts[i]))
            return true;
    return false;
}

/* herald_dsn_envid_valid - printable ASCII without spaces, 1..100 octets:
 * echoed in every report, so nothing that could break a report's line */
bool
herald_dsn_envid_valid(const char *envid)
{
    size_t i, len;

    if (envid == NULL)
        return false;
    len = strnlen(envid, 101);
    if (len == 0 || len > 100)
        return false;
    for (i = 0; i < len; i++)
        if (envid[i] < 0x21 || envid[i] > 0x7e)
            return false;
    return true;
}

/*
 * herald_message_set_dsn - what the caller asks servers that offer DSN
 * (RFC 3461) to report.  NEVER excludes the others; the envelope id is
 * printable ASCII, 1..100 octets, because it is echoed in every report.
 */
herald_status
herald_message_set_dsn(struct herald_message *msg, unsigned notify, enum herald_dsn_ret ret,
                       const char *envid)
{
    const unsigned all = HERALD_DSN_NOTIFY_NEVER | HERALD_DSN_NOTIFY_SUCCESS
                         | HERALD_DSN_NOTIFY_FAILURE | HERALD_DSN_NOTIFY_DELAY;
    char *copy = NULL;

    if (msg == NULL || (notify & ~all) != 0
        || ((notify & HERALD_DSN_NOTIFY_NEVER) && notify != HERALD_DSN_NOTIFY_NEVER)
        || (ret != HERALD_DSN_RET_DEFAULT && ret != HERALD_DSN_RET_FULL
            && ret != HERALD_DSN_RET_HDRS))
        return HERALD_E_INVAL;
    if (envid != NULL) {
        if (!herald_dsn_envid_valid(envid))
            return HERALD_E_INVAL;
        copy = strdup(envid);
        if (copy == NULL)
            return HERALD_E_NOMEM;
    }
    free(msg->dsn_envid);
    msg->dsn_envid = copy;
    msg->dsn_notify = notify;
    msg->dsn_ret = ret;
    return HERALD_OK;
}

/* herald_message_add_try_last - see herald/message.h */
herald_status
herald_message_add_try_last(struct herald_message *msg, const char *address, uint16_t port,
                            const char *reason)
{
    struct try_last *grown, *t;

    if (msg == NULL || address == NULL || *address == '\0')
        return HERALD_E_INVAL;
    if (herald_message_try_last(msg, address, port) != NULL)
        return HERALD_OK;
    if (msg->last_count >= MESSAGE_MAX_TRY_LAST)
        return HERALD_E_LIMIT;
    grown = realloc(msg->last, (msg->last_count + 1) * sizeof *grown);
    if (grown == NULL)
        return HERALD_E_NOMEM;
    msg->last = grown;
    t = &grown[msg->last_count];
    t->address = strdup(address);
    t->reason = strndup(reason != NULL ? reason : "", MESSAGE_TRY_LAST_REASON_MAX);
    t->port = port;
    if (t->address == NULL || t->reason == NULL) {
        free(t->address);
        free(t->reason);
        return HERALD_E_NOMEM;
    }
    msg->last_count++;
    return HERALD_OK;
}

/* herald_message_try_last - see herald/message.h; a runner holds few, so a walk */
const char *
herald_message_try_last(const struct herald_message *msg, const char *address, uint16_t port)
{
    size_t i;

    if (msg == NULL || address == NULL)
        return NULL;
    for (i = 0; i < msg->last_count; i++)
        if (msg->last[i].port == port && strcmp(msg->last[i].address, address) == 0)
            return msg->last[i].reason;
    return NULL;
}

unsigned
herald_message_dsn_notify(const struct herald_message *msg)
{
    return msg != NULL ? msg->dsn_notify : 0;
}

enum herald_dsn_ret
herald_message_dsn_ret(const struct herald_message *msg)
{
    return msg != NULL ? msg->dsn_ret : HERALD_DSN_RET_DEFAULT;
}

const char *
herald_message_dsn_envid(const struct herald_message *msg)
{
    return msg != NULL ? msg->dsn_envid : NULL;
}

/* write_all - write n octets, retrying short writes and EINTR */
static int
write_all(int fd, const unsigned char *p, size_t n)
{
    while (n > 0) {
        ssize_t w = write(fd, p, n);

        if (w < 0) {
            if (errno == EINTR)
                continue;
            return -1;
        }
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

/* tmpfile_open - an anonymous file under $TMPDIR (or /tmp), gone when closed */
static int
tmpfile_open(void)
{
    const char *dir = getenv("TMPDIR");
    char path[PATH_MAX];
    int fd;

    if (dir == NULL || dir[0] != '/')
        dir = "/tmp";
#ifdef O_TMPFILE
    fd = open(dir, O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
    if (fd >= 0)
        return fd;
    /* Not every file system has O_TMPFILE: fall back to a named file. */
#endif
    if ((size_t)snprintf(path, sizeof path, "%s/herald-body-XXXXXX", dir) >= sizeof path) {
        errno = ENAMETOOLONG;
        return -1;
    }
    fd = mkostemp(path, O_CLOEXEC);
    if (fd < 0)
        return -1;
    /* Unlinked at once: the copy lives exactly as long as the message. */
    unlink(path);
    return fd;
}

/* wait_readable - a non-blocking source said EAGAIN: wait like a blocking read would */
static int
wait_readable(int fd)
{
    struct pollfd p = { .fd = fd, .events = POLLIN };

    for (;;) {
        int r = poll(&p, 1, -1);

        if (r >= 0)
            return 0;
        if (errno != EINTR)
            return -1;
    }
}

/* scan_file - the size octets of fd from base, read once here so no delivery
 * attempt has to read the body again: their size on the wire in *wire_out,
 * and, when eight_out is not NULL, whether one is 8-bit */
static herald_status
scan_file(int fd, uint64_t base, uint64_t size, uint64_t *wire_out, bool *eight_out)
{
    struct wire_count wc = WIRE_COUNT_INIT;
    unsigned char *buf;
    uint64_t off = 0;
    herald_status st = HERALD_OK;
    bool eight = false;

    buf = malloc(MESSAGE_COPY_CHUNK);
    if (buf == NULL)
        return HERALD_E_NOMEM;
    while (off < size) {
        size_t want = size - off < MESSAGE_COPY_CHUNK ? (size_t)(size - off) : MESSAGE_COPY_CHUNK;
        ssize_t r = pread(fd, buf, want, (off_t)(base + off));

        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0) {
            /* Shorter than fstat said: it changed under us; the readers
             * will find the same, so fail now rather than mid-DATA. */
            st = HERALD_E_IO;
            break;
        }
        if (eight_out != NULL && !eight)
            eight = has_high_bit(buf, (size_t)r);
        wire_count_add(&wc, buf, (size_t)r);
        off += (uint64_t)r;
    }
    free(buf);
    *wire_out = wire_count_total(&wc);
    if (eight_out != NULL)
        *eight_out = eight;
    return st;
}

/* copy_stream - copy fd to its end into a new temporary file; size in
 * *size_out, its size on the wire in *wire_out, and whether any octet is
 * 8-bit in *eight_out */
static herald_status
copy_stream(int fd, int *tmp_out, uint64_t *size_out, uint64_t *wire_out, bool *eight_out)
{
    struct wire_count wc = WIRE_COUNT_INIT;
    bool eight = false;
    unsigned char *buf;
    uint64_t total = 0;
    herald_status st = HERALD_OK;
    int tmp;

    buf = malloc(MESSAGE_COPY_CHUNK);
    if (buf == NULL)
        return HERALD_E_NOMEM;
    tmp = tmpfile_open();
    if (tmp < 0) {
        free(buf);
        return HERALD_E_IO;
    }
    for (;;) {
        ssize_t r = read(fd, buf, MESSAGE_COPY_CHUNK);

        if (r == 0)
            break;
        if (r < 0) {
            if (errno == EINTR)
                continue;
            if ((errno == EAGAIN || errno == EWOULDBLOCK) && wait_readable(fd) == 0)
                continue;
            st = HERALD_E_IO;
            break;
        }
        if (write_all(tmp, buf, (size_t)r) != 0) {
            st = HERALD_E_IO;
            break;
        }
        total += (uint64_t)r;
        if (!eight)
            eight = has_high_bit(buf, (size_t)r);
        wire_count_add(&wc, buf, (size_t)r);
    }
    free(buf);
    if (st != HERALD_OK) {
        close(tmp);
        return st;
    }
    *tmp_out = tmp;
    *size_out = total;
    *wire_out = wire_count_total(&wc);
    *eight_out = eight;
    return HERALD_OK;
}

/* herald_message_set_body_file - open path now (missing file: error now), read it later */
herald_status
herald_message_set_body_file(struct herald_message *msg, const char *path)
{
    struct stat st;
    herald_status s;
    uint64_t size, wire;
    bool eight;
    int fd, copy;

    if (msg == NULL || path == NULL || path[0] == '\0')
        return HERALD_E_INVAL;
    fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
    if (fd < 0)
        return errno == ENOENT || errno == ENOTDIR ? HERALD_E_NOTFOUND : HERALD_E_IO;
    if (fstat(fd, &st) != 0) {
        close(fd);
        return HERALD_E_IO;
    }
    if (S_ISDIR(st.st_mode)) {
        close(fd);
        return HERALD_E_INVAL;
    }
    if (!S_ISREG(st.st_mode)) {
        /* A FIFO or a device cannot be re-read: copy it like a stream. */
        s = copy_stream(fd, &copy, &size, &wire, &eight);
        close(fd);
        if (s != HERALD_OK)
            return s;
        fd = copy;
    } else {
        size = (uint64_t)st.st_size;
        s = scan_file(fd, 0, size, &wire, &eight);
        if (s != HERALD_OK) {
            close(fd);
            return s;
        }
    }
    body_clear(msg);
    msg->body = BODY_FD;
    msg->fd = fd;
    msg->size = size;
    msg->wire_size = wire;
    msg->eight_bit = eight;
    return HERALD_OK;
}

/* herald_message_set_body_buffer - a borrowed buffer that must outlive msg */
herald_status
herald_message_set_body_buffer(struct herald_message *msg, const void *data, size_t len)
{
    struct wire_count wc = WIRE_COUNT_INIT;

    if (msg == NULL || (data == NULL && len > 0))
        return HERALD_E_INVAL;
    wire_count_add(&wc, data, len);
    body_clear(msg);
    msg->body = BODY_BUFFER;
    msg->buf = data;
    msg->size = len;
    msg->wire_size = wire_count_total(&wc);
    msg->eight_bit = has_high_bit(data, len);
    return HERALD_OK;
}

/* herald_message_set_body_fd - copy a stream once into an unlinked temp file; fd stays the caller's */
herald_status
herald_message_set_body_fd(struct herald_message *msg, int fd)
{
    herald_status st;
    uint64_t size, wire;
    bool eight;
    int copy;

    if (msg == NULL || fd < 0)
        return HERALD_E_INVAL;
    st = copy_stream(fd, &copy, &size, &wire, &eight);
    if (st != HERALD_OK)
        return st;
    body_clear(msg);
    msg->body = BODY_FD;
    msg->fd = copy;
    msg->size = size;
    msg->wire_size = wire;
    msg->eight_bit = eight;
    return HERALD_OK;
}

/* herald_message_set_body_range - len octets of fd from offset (a queue file
 * holding the envelope before the body); fd is duplicated, the caller keeps
 * its own.  eight_bit is what herald_message_body_8bit() said when the body
 * was first set: the runner must not read every queued body again for it.
 * The size on the wire is counted here, once for all of this message's
 * attempts (the store does not keep it). */
herald_status
herald_message_set_body_range(struct herald_message *msg, int fd, uint64_t offset,
                              uint64_t len, bool eight_bit)
{
    herald_status st;
    uint64_t wire;
    int copy;

    if (msg == NULL || fd < 0 || offset > (uint64_t)INT64_MAX - len)
        return HERALD_E_INVAL;
    st = scan_file(fd, offset, len, &wire, NULL);
    if (st != HERALD_OK)
        return st;
    copy = fcntl(fd, F_DUPFD_CLOEXEC, 0);
    if (copy < 0)
        return errno == EMFILE || errno == ENFILE ? HERALD_E_LIMIT : HERALD_E_IO;
    body_clear(msg);
    msg->body = BODY_FD;
    msg->fd = copy;
    msg->base = offset;
    msg->size = len;
    msg->wire_size = wire;
    msg->eight_bit = eight_bit;
    return HERALD_OK;
}

/* herald_message_sender - borrowed; "" for the null reverse-path */
const char *
herald_message_sender(const struct herald_message *msg)
{
    return msg != NULL ? msg->sender : NULL;
}

/* herald_message_recipient_count - number of recipients */
size_t
herald_message_recipient_count(const struct herald_message *msg)
{
    return msg != NULL ? msg->rcpt_count : 0;
}

/* herald_message_recipient - borrowed; NULL when index is out of range */
const char *
herald_message_recipient(const struct herald_message *msg, size_t index)
{
    if (msg == NULL || index >= msg->rcpt_count)
        return NULL;
    return msg->rcpts[index];
}

/* herald_message_body_size - octets as stored, fixed when the body was set */
herald_status
herald_message_body_size(const struct herald_message *msg, size_t *size_out)
{
    if (msg == NULL || size_out == NULL)
        return HERALD_E_INVAL;
    if (msg->size > SIZE_MAX)
        return HERALD_E_LIMIT;
    *size_out = (size_t)msg->size;
    return HERALD_OK;
}

/* herald_message_body_wire_size - counted when the body was set, never by reading it again */
uint64_t
herald_message_body_wire_size(const struct herald_message *msg)
{
    return msg != NULL ? msg->wire_size : 0;
}

/* herald_message_body_8bit - found when the body was set, never by reading it again */
bool
herald_message_body_8bit(const struct herald_message *msg)
{
    return msg != NULL && msg->eight_bit;
}

/* herald_body_open - a new cursor at the start of the body */
herald_status
herald_body_open(const struct herald_message *msg, struct herald_body_reader **reader_out)
{
    struct herald_body_reader *r;

    if (msg == NULL || reader_out == NULL)
        return HERALD_E_INVAL;
    r = calloc(1, sizeof *r);
    if (r == NULL)
        return HERALD_E_NOMEM;
    r->msg = msg;
    *reader_out = r;
    return HERALD_OK;
}

/* herald_body_read - up to cap octets from the reader's own offset; 0 at the end */
herald_status
herald_body_read(struct herald_body_reader *reader, void *buf, size_t cap, size_t *n_out)
{
    const struct herald_message *m;
    uint64_t left;
    size_t want;

    if (reader == NULL || n_out == NULL || (buf == NULL && cap > 0))
        return HERALD_E_INVAL;
    m = reader->msg;
    left = m->size - reader->offset;
    want = left < cap ? (size_t)left : cap;
    if (want > SSIZE_MAX)
        want = SSIZE_MAX;
    if (want == 0) {
        *n_out = 0;
        return HERALD_OK;
    }
    if (m->body == BODY_BUFFER) {
        memcpy(buf, m->buf + reader->offset, want);
    } else {
        ssize_t r;

        do
            r = pread(m->fd, buf, want, (off_t)(m->base + reader->offset));
        while (r < 0 && errno == EINTR);
        /* 0 before the recorded size: the file shrank under us; never send a short body. */
        if (r <= 0)
            return HERALD_E_IO;
        want = (size_t)r;
    }
    reader->offset += want;
    *n_out = want;
    return HERALD_OK;
}

/* herald_body_close - free a reader; accepts NULL */
void
herald_body_close(struct herald_body_reader **reader)
{
    if (reader == NULL || *reader == NULL)
        return;
    free(*reader);
    *reader = NULL;
}
