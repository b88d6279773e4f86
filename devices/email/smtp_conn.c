/*
 * smtp_conn.c - non-blocking TCP connection on the herald loop (see smtp_conn.h)
 */
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <arpa/inet.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "smtp_conn.h"

struct smtp_conn {
    struct herald_loop *loop;
    int fd;
    bool connecting;
    bool dead;                       /* an error or EOF was reported: no more I/O */
    struct herald_io *io;
    unsigned io_events;
    struct herald_timer *deadline;
    struct herald_timer *post;       /* an event reported from the loop */
    struct herald_timer *kick;       /* look at the stream again from the loop */
    enum smtp_conn_event posted;
    smtp_conn_fn fn;
    void *arg;
    const struct smtp_stream_ops *ops;
    void *ops_ctx;
    char in[SMTP_CONN_IN_MAX];
    size_t in_len;
    char *out;                       /* out[out_head .. out_len) is pending */
    size_t out_head, out_len, out_cap;
    char peer[64];
    char error[160];
};

/* plain_recv - the default stream: recv() on the socket */
static ssize_t
plain_recv(void *ctx, void *buf, size_t n)
{
    return recv(*(int *)ctx, buf, n, 0);
}

/* plain_send - the default stream: send() without SIGPIPE */
static ssize_t
plain_send(void *ctx, const void *buf, size_t n)
{
    return send(*(int *)ctx, buf, n, MSG_NOSIGNAL);
}

static const struct smtp_stream_ops plain_ops = { plain_recv, plain_send, NULL, NULL };

/* set_error - remember why the connection failed */
static void
set_error(struct smtp_conn *c, const char *what, int err)
{
    snprintf(c->error, sizeof c->error, "%s: %s", what, strerror(err));
}

/* want - change the events watched, only when they change */
static void
want(struct smtp_conn *c, unsigned events)
{
    if (c->io != NULL && events != c->io_events) {
        if (herald_io_set(c->io, events) == HERALD_OK)
            c->io_events = events;
    }
}

/* input_wanted - read while there is room in the input buffer (bounded) */
static unsigned
input_wanted(const struct smtp_conn *c)
{
    return c->in_len < sizeof c->in ? HERALD_IO_READ : 0;
}

/* stream_pending - the stream holds input that no readable event will announce */
static bool
stream_pending(const struct smtp_conn *c)
{
    return c->ops->pending != NULL && c->ops->pending(c->ops_ctx);
}

/* stream_wants_write - the stream waits for the socket to take its own output */
static bool
stream_wants_write(const struct smtp_conn *c)
{
    return c->ops->wants_write != NULL && c->ops->wants_write(c->ops_ctx);
}

/*
 * watch - the events for the current state: input room, queued output, and
 * a stream waiting to write.  The latter only with input room: it goes on
 * through recv, and a writable socket with nowhere to read into would spin.
 */
static void
watch(struct smtp_conn *c)
{
    unsigned ev = input_wanted(c);

    if (c->out_len > 0 || (ev != 0 && stream_wants_write(c)))
        ev |= HERALD_IO_WRITE;
    want(c, ev);
}

/* post_fire - deliver a posted event from the loop */
static void
post_fire(void *arg)
{
    struct smtp_conn *c = arg;

    herald_timer_cancel(&c->post);
    c->fn(c->arg, c->posted);
}

/* post - report ev from the loop soon, not from inside the current call */
static void
post(struct smtp_conn *c, enum smtp_conn_event ev)
{
    if (c->post != NULL) {
        /* One event in flight: an error or EOF outranks a DRAINED. */
        if (ev == SMTP_CONN_ERROR || ev == SMTP_CONN_CLOSED)
            c->posted = ev;
        return;
    }
    c->posted = ev;
    if (herald_timer_start(c->loop, 0, post_fire, c, &c->post) != HERALD_OK)
        c->post = NULL;
}

/* deadline_fire - the owner's deadline passed */
static void
deadline_fire(void *arg)
{
    struct smtp_conn *c = arg;

    herald_timer_cancel(&c->deadline);
    c->fn(c->arg, SMTP_CONN_TIMEOUT);
}

/* send_some - write pending output until the socket would block */
static herald_status
send_some(struct smtp_conn *c)
{
    while (c->out_head < c->out_len) {
        ssize_t n = c->ops->send(c->ops_ctx, c->out + c->out_head, c->out_len - c->out_head);

        if (n < 0) {
            if (errno == EINTR)
                continue;
            if (errno == EAGAIN || errno == EWOULDBLOCK)
                break;
            set_error(c, "write", errno);
            c->dead = true;
            return HERALD_E_IO;
        }
        c->out_head += (size_t)n;
    }
    if (c->out_head == c->out_len)
        c->out_head = c->out_len = 0;
    return HERALD_OK;
}

/* on_connected - the connect() finished: check how */
static void
on_connected(struct smtp_conn *c)
{
    int err = 0;
    socklen_t len = sizeof err;

    c->connecting = false;
    if (getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &len) != 0)
        err = errno;
    if (err != 0) {
        set_error(c, "connect", err);
        c->dead = true;
        want(c, 0);
        c->fn(c->arg, SMTP_CONN_ERROR);
        return;
    }
    watch(c);
    c->fn(c->arg, SMTP_CONN_CONNECTED);
}

static void kick(struct smtp_conn *c);

/* read_input - one recv into the input buffer, reported to the owner */
static void
read_input(struct smtp_conn *c)
{
    ssize_t n;

    if (c->in_len >= sizeof c->in) {
        watch(c);
        return;
    }
    n = c->ops->recv(c->ops_ctx, c->in + c->in_len, sizeof c->in - c->in_len);
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)) {
        watch(c);                    /* a handshake step may now wait to write, or no more */
        return;
    }
    if (n < 0) {
        set_error(c, "read", errno);
        c->dead = true;
        want(c, 0);
        c->fn(c->arg, SMTP_CONN_ERROR);
        return;
    }
    if (n == 0) {
        snprintf(c->error, sizeof c->error, "connection closed by the peer");
        c->dead = true;
        want(c, 0);
        c->fn(c->arg, SMTP_CONN_CLOSED);
        return;
    }
    c->in_len += (size_t)n;
    watch(c);
    if (c->in_len < sizeof c->in && stream_pending(c))
        kick(c);                     /* room left, yet the stream held back */
    c->fn(c->arg, SMTP_CONN_INPUT);
}

/* kick_fire - from the loop: watch what the stream waits for, pull what it holds */
static void
kick_fire(void *arg)
{
    struct smtp_conn *c = arg;

    herald_timer_cancel(&c->kick);
    if (c->dead || c->connecting)
        return;
    watch(c);
    if (c->in_len < sizeof c->in && stream_pending(c))
        read_input(c);
}

/*
 * kick - look at the stream again from the loop.  A TLS record can carry more
 * plaintext than the input buffer takes; the socket is empty once the record
 * is read, so without this the rest would wait for the next record (or the
 * deadline).  A new stream may also be waiting to write (its handshake).
 */
static void
kick(struct smtp_conn *c)
{
    if (c->kick != NULL || (c->ops->pending == NULL && c->ops->wants_write == NULL))
        return;
    if (herald_timer_start(c->loop, 0, kick_fire, c, &c->kick) != HERALD_OK)
        c->kick = NULL;              /* the next socket event or consume tries again */
}

/* on_io - socket events: connect completion, input, output room */
static void
on_io(void *arg, int fd, unsigned events)
{
    struct smtp_conn *c = arg;
    bool pull;

    (void)fd;
    if (c->dead)
        return;
    if (c->connecting) {
        if (events & (HERALD_IO_WRITE | HERALD_IO_ERROR))
            on_connected(c);
        return;
    }
    /* A stream waiting to write (a TLS handshake) goes on through recv. */
    pull = (events & (HERALD_IO_READ | HERALD_IO_ERROR))
           || ((events & HERALD_IO_WRITE) && stream_wants_write(c));
    if (events & HERALD_IO_WRITE) {
        bool had = c->out_len > 0;

        if (send_some(c) != HERALD_OK) {
            want(c, 0);
            c->fn(c->arg, SMTP_CONN_ERROR);
            return;
        }
        watch(c);
        if (had && c->out_len == 0) {
            /* The owner may free c here: nothing after the callback. */
            if (!pull) {
                c->fn(c->arg, SMTP_CONN_DRAINED);
                return;
            }
            post(c, SMTP_CONN_DRAINED);
        }
    }
    if (pull)
        read_input(c);
}

/* format_peer - "ADDR:PORT", brackets around an IPv6 address */
static void
format_peer(struct smtp_conn *c, const struct herald_address *addr, uint16_t port)
{
    if (addr->sa.ss_family == AF_INET6)
        snprintf(c->peer, sizeof c->peer, "[%s]:%u", addr->text, (unsigned)port);
    else
        snprintf(c->peer, sizeof c->peer, "%s:%u", addr->text, (unsigned)port);
}

/* watch_connect - wait for c->fd to become writable: connected (or not).
 * On failure c is closed and freed. */
static herald_status
watch_connect(struct smtp_conn *c, struct herald_diag *diag)
{
    herald_status st;

    c->connecting = true;
    st = herald_io_add(c->loop, c->fd, HERALD_IO_WRITE, on_io, c, &c->io);
    if (st != HERALD_OK) {
        close(c->fd);
        free(c);
        return herald_diag_set(diag, st, "smtp", "cannot watch the socket");
    }
    c->io_events = HERALD_IO_WRITE;
    return HERALD_OK;
}

/* smtp_conn_adopt - a connection over a connected socket of the caller's */
herald_status
smtp_conn_adopt(struct herald_loop *loop, int fd, const char *peer, smtp_conn_fn fn, void *arg,
                struct smtp_conn **conn_out, struct herald_diag *diag)
{
    struct smtp_conn *c;
    int fl;
    herald_status st;

    if (loop == NULL || fd < 0 || fn == NULL || conn_out == NULL) {
        if (fd >= 0)
            close(fd);
        return herald_diag_set(diag, HERALD_E_INVAL, "smtp", "bad connection arguments");
    }
    c = calloc(1, sizeof *c);
    if (c == NULL) {
        close(fd);
        return herald_diag_set(diag, HERALD_E_NOMEM, "smtp", "out of memory");
    }
    c->loop = loop;
    c->fn = fn;
    c->arg = arg;
    c->ops = &plain_ops;
    c->fd = fd;
    c->ops_ctx = &c->fd;
    snprintf(c->peer, sizeof c->peer, "%s", peer != NULL ? peer : "");
    fl = fcntl(fd, F_GETFL);
    if (fl < 0 || !(fl & O_NONBLOCK))
        (void)fcntl(fd, F_SETFL, (fl < 0 ? 0 : fl) | O_NONBLOCK);
    /* Reported as SMTP_CONN_CONNECTED from the loop, as after a connect(). */
    st = watch_connect(c, diag);
    if (st != HERALD_OK)
        return st;
    *conn_out = c;
    return HERALD_OK;
}

/* smtp_conn_new - start connecting to addr:port */
herald_status
smtp_conn_new(struct herald_loop *loop, const struct herald_address *addr, uint16_t port,
              uint64_t connect_timeout_ms, smtp_conn_fn fn, void *arg,
              struct smtp_conn **conn_out, struct herald_diag *diag)
{
    struct smtp_conn *c;
    struct sockaddr_storage sa;
    int one = 1, fl;
    herald_status st;

    if (loop == NULL || addr == NULL || fn == NULL || conn_out == NULL || port == 0
        || (addr->sa.ss_family != AF_INET && addr->sa.ss_family != AF_INET6)
        || addr->len > sizeof sa)
        return herald_diag_set(diag, HERALD_E_INVAL, "smtp", "bad connection arguments");
    c = calloc(1, sizeof *c);
    if (c == NULL)
        return herald_diag_set(diag, HERALD_E_NOMEM, "smtp", "out of memory");
    c->loop = loop;
    c->fn = fn;
    c->arg = arg;
    c->ops = &plain_ops;
    format_peer(c, addr, port);
    c->fd = socket(addr->sa.ss_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    c->ops_ctx = &c->fd;
    if (c->fd < 0) {
        int err = errno;

        /* Out of descriptors is this process's limit, not the peer's: a
         * status of its own, so the caller can wait for one. */
        st = herald_diag_set(diag, err == EMFILE || err == ENFILE ? HERALD_E_LIMIT
                             : HERALD_E_CONNECT, c->peer, "socket: %s", strerror(err));
        free(c);
        return st;
    }
    fl = fcntl(c->fd, F_GETFL);
    if (fl < 0 || !(fl & O_NONBLOCK))
        (void)fcntl(c->fd, F_SETFL, (fl < 0 ? 0 : fl) | O_NONBLOCK);
    /* Nagle would hold the final dot for a delayed ACK (the msmtp lesson). */
    (void)setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);

    memcpy(&sa, &addr->sa, addr->len);
    if (sa.ss_family == AF_INET)
        ((struct sockaddr_in *)&sa)->sin_port = htons(port);
    else
        ((struct sockaddr_in6 *)&sa)->sin6_port = htons(port);
    st = watch_connect(c, diag);
    if (st != HERALD_OK)
        return st;
    if (connect(c->fd, (struct sockaddr *)&sa, addr->len) != 0 && errno != EINPROGRESS) {
        /* Refused at once (loopback does that): still reported from the loop. */
        set_error(c, "connect", errno);
        c->dead = true;
        c->connecting = false;
        want(c, 0);
        post(c, SMTP_CONN_ERROR);
    }
    /* Otherwise writability reports the outcome, even an immediate success. */
    if (connect_timeout_ms > 0 && smtp_conn_set_timeout(c, connect_timeout_ms) != HERALD_OK) {
        smtp_conn_free(&c);
        return herald_diag_set(diag, HERALD_E_NOMEM, "smtp", "cannot start a timer");
    }
    *conn_out = c;
    return HERALD_OK;
}

/* smtp_conn_free - close the socket, cancel timers, release; accepts NULL */
void
smtp_conn_free(struct smtp_conn **connp)
{
    struct smtp_conn *c;

    if (connp == NULL || (c = *connp) == NULL)
        return;
    herald_io_remove(&c->io);
    herald_timer_cancel(&c->deadline);
    herald_timer_cancel(&c->post);
    herald_timer_cancel(&c->kick);
    if (c->fd >= 0)
        close(c->fd);
    free(c->out);
    free(c);
    *connp = NULL;
}

/* smtp_conn_set_stream - send and receive through ops/ctx from now on */
void
smtp_conn_set_stream(struct smtp_conn *c, const struct smtp_stream_ops *ops, void *ctx)
{
    if (c == NULL)
        return;
    c->ops = ops != NULL ? ops : &plain_ops;
    c->ops_ctx = ops != NULL ? ctx : &c->fd;
    kick(c);                         /* after the caller has started the stream */
}

/* smtp_conn_fd - the socket, for a TLS layer */
int
smtp_conn_fd(const struct smtp_conn *c)
{
    return c != NULL ? c->fd : -1;
}

/* smtp_conn_set_timeout - (re)arm the deadline */
herald_status
smtp_conn_set_timeout(struct smtp_conn *c, uint64_t ms)
{
    if (c == NULL)
        return HERALD_E_INVAL;
    herald_timer_cancel(&c->deadline);
    if (ms == 0)
        return HERALD_OK;
    return herald_timer_start(c->loop, ms, deadline_fire, c, &c->deadline);
}

/* smtp_conn_room - how many more octets smtp_conn_queue() accepts */
size_t
smtp_conn_room(const struct smtp_conn *c)
{
    size_t pending = c->out_len - c->out_head;

    return pending < SMTP_CONN_OUT_MAX ? SMTP_CONN_OUT_MAX - pending : 0;
}

/* smtp_conn_pending - octets queued and not yet sent */
size_t
smtp_conn_pending(const struct smtp_conn *c)
{
    return c->out_len - c->out_head;
}

/* make_room - at least len octets free after out_len; the sent front is
 * dropped only when the end has no room (a body streams through one buffer
 * without moving what is pending on every append) */
static herald_status
make_room(struct smtp_conn *c, size_t len)
{
    if (c->out_cap - c->out_len >= len)
        return HERALD_OK;
    if (c->out_head > 0) {
        memmove(c->out, c->out + c->out_head, c->out_len - c->out_head);
        c->out_len -= c->out_head;
        c->out_head = 0;
    }
    if (c->out_len + len > c->out_cap) {
        size_t cap = c->out_cap ? c->out_cap : 16384;
        char *p;

        while (cap < c->out_len + len)
            cap *= 2;
        p = realloc(c->out, cap);
        if (p == NULL)
            return HERALD_E_NOMEM;
        c->out = p;
        c->out_cap = cap;
    }
    return HERALD_OK;
}

/* smtp_conn_queue - append to the output queue (bounded) */
herald_status
smtp_conn_queue(struct smtp_conn *c, const void *data, size_t len)
{
    herald_status st;

    if (c == NULL || (data == NULL && len > 0))
        return HERALD_E_INVAL;
    if (len > smtp_conn_room(c))
        return HERALD_E_LIMIT;
    st = make_room(c, len);
    if (st != HERALD_OK)
        return st;
    memcpy(c->out + c->out_len, data, len);
    c->out_len += len;
    return HERALD_OK;
}

/* smtp_conn_reserve - write space at the end of the output queue */
char *
smtp_conn_reserve(struct smtp_conn *c, size_t want, size_t *room_out)
{
    size_t room;

    if (c == NULL || room_out == NULL || want > smtp_conn_room(c)
        || make_room(c, want) != HERALD_OK)
        return NULL;
    room = c->out_cap - c->out_len;
    /* Never past the bound smtp_conn_queue() keeps. */
    if (room > smtp_conn_room(c))
        room = smtp_conn_room(c);
    *room_out = room;
    return c->out + c->out_len;
}

/* smtp_conn_commit - n octets written at the reserved space are queued */
void
smtp_conn_commit(struct smtp_conn *c, size_t n)
{
    if (c != NULL && n <= c->out_cap - c->out_len)
        c->out_len += n;
}

/* smtp_conn_flush - send what the socket takes now, the rest when writable */
herald_status
smtp_conn_flush(struct smtp_conn *c)
{
    if (c == NULL)
        return HERALD_E_INVAL;
    if (c->dead)
        return HERALD_E_IO;
    if (c->connecting)
        return HERALD_OK;            /* sent once connected */
    if (send_some(c) != HERALD_OK) {
        want(c, 0);
        post(c, SMTP_CONN_ERROR);
        return HERALD_E_IO;
    }
    watch(c);
    if (c->out_len == 0)
        post(c, SMTP_CONN_DRAINED);
    return HERALD_OK;
}

/* smtp_conn_input - the unconsumed input */
const char *
smtp_conn_input(const struct smtp_conn *c, size_t *len_out)
{
    *len_out = c->in_len;
    return c->in;
}

/* smtp_conn_consume - drop n octets from the front of the input */
void
smtp_conn_consume(struct smtp_conn *c, size_t n)
{
    if (n > c->in_len)
        n = c->in_len;
    memmove(c->in, c->in + n, c->in_len - n);
    c->in_len -= n;
    if (!c->dead && !c->connecting) {
        watch(c);
        if (stream_pending(c))
            kick(c);
    }
}

/* smtp_conn_peer - "ADDR:PORT" */
const char *
smtp_conn_peer(const struct smtp_conn *c)
{
    return c != NULL ? c->peer : "";
}

/* smtp_conn_error - the last error, or "" */
const char *
smtp_conn_error(const struct smtp_conn *c)
{
    return c != NULL ? c->error : "";
}
