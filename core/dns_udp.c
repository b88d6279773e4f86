/*
 * dns_udp.c - c-ares' sockets with batched UDP (see dns_udp.h)
 *
 * c-ares skips its own socket set-up for sockets we open (non-blocking,
 * close-on-exec, buffer sizes), so dns_socket does it.  Each socket c-ares
 * opens is recorded here with its type; a UDP socket gets a receive batch
 * on its first read.  c-ares reads a UDP socket until a read fails with
 * EAGAIN; a batch that came back short means the socket was empty when it
 * was read, so the read after its last datagram answers EAGAIN without a
 * syscall (epoll is level-triggered: anything that came since is reported
 * on the next pass).
 */
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include "dns_udp.h"

#define UDP_SEND_MAX 64      /* queries queued before the queue goes out by itself */
#define UDP_QUERY_MAX 600    /* a query's octets: a name is at most 255, EDNS adds 11 */
#define UDP_RECV_MAX 16      /* answers read per recvmmsg */
#define UDP_ANSWER_MAX 4096  /* c-ares reads at most this much of an answer (no EDNS above it) */

struct udp_chan {
    struct dns_udp *u;
    ares_channel channel;
    struct udp_chan *next;
};

/* Answers read ahead for one UDP socket. */
struct udp_batch {
    unsigned char buf[UDP_RECV_MAX][UDP_ANSWER_MAX];
    struct sockaddr_storage from[UDP_RECV_MAX];
    socklen_t fromlen[UDP_RECV_MAX];
    size_t len[UDP_RECV_MAX];
    size_t count, next;        /* read, and handed to c-ares so far */
};

struct udp_sock {
    int fd;
    bool udp;
    int error;                 /* a queued send failed: the next read reports it */
    struct udp_chan *chan;
    struct udp_batch *batch;   /* UDP, after its first read */
};

struct udp_query {
    int fd;
    size_t len;
    unsigned char data[UDP_QUERY_MAX];
};

struct dns_udp {
    struct herald_loop *loop;
    int rcvbuf;
    dns_udp_error_fn on_error;
    void *owner;
    struct udp_chan *chans;
    struct udp_sock *socks;
    size_t nsock, capsock;
    struct udp_query queue[UDP_SEND_MAX];
    size_t queued;
    struct herald_timer *flush;
};

/* sock_find - the record of fd; NULL when c-ares did not open it through us */
static struct udp_sock *
sock_find(struct dns_udp *u, int fd)
{
    size_t i;

    for (i = 0; i < u->nsock; i++)
        if (u->socks[i].fd == fd)
            return &u->socks[i];
    return NULL;
}

/* queue_flush - send what is queued, one sendmmsg per run of one socket.
 * A datagram the kernel takes no more of (EAGAIN, ENOBUFS) is lost like
 * one dropped on the way: c-ares asks again when its try times out. */
static void
queue_flush(struct dns_udp *u)
{
    struct mmsghdr msg[UDP_SEND_MAX];
    struct iovec iov[UDP_SEND_MAX];
    size_t i, start;

    memset(msg, 0, sizeof msg);
    for (i = 0; i < u->queued; i++) {
        iov[i].iov_base = u->queue[i].data;
        iov[i].iov_len = u->queue[i].len;
        msg[i].msg_hdr.msg_iov = &iov[i];
        msg[i].msg_hdr.msg_iovlen = 1;
    }
    for (start = 0; start < u->queued; ) {
        int fd = u->queue[start].fd;
        size_t end = start, done = 0;

        while (end < u->queued && u->queue[end].fd == fd)
            end++;
        while (start + done < end) {
            int n = sendmmsg(fd, &msg[start + done], (unsigned)(end - start - done), 0);

            if (n > 0) {
                done += (size_t)n;
                continue;
            }
            if (n < 0 && errno == EINTR)
                continue;
            if (n < 0 && errno != EAGAIN && errno != ENOBUFS) {
                struct udp_sock *s = sock_find(u, fd);

                if (s != NULL && s->error == 0)
                    s->error = errno;
            }
            done++;   /* this one is lost; the others of the run are tried */
        }
        start = end;
    }
    u->queued = 0;
}

/* on_flush - the loop pass that queued queries is over: send them, then let
 * c-ares read the sockets a send failed on (from the loop, never from inside
 * c-ares, which may queue again meanwhile) */
static void
on_flush(void *arg)
{
    struct dns_udp *u = arg;
    struct udp_chan *chan[UDP_SEND_MAX];
    int fd[UDP_SEND_MAX];
    size_t i, n = 0;

    herald_timer_cancel(&u->flush);   /* fired: release the handle */
    queue_flush(u);
    for (i = 0; i < u->nsock && n < UDP_SEND_MAX; i++)
        if (u->socks[i].error != 0) {
            chan[n] = u->socks[i].chan;
            fd[n++] = u->socks[i].fd;
        }
    for (i = 0; i < n; i++)
        u->on_error(u->owner, chan[i]->channel, fd[i]);
}

/* dns_socket - ares_socket_functions.asocket: a socket set up as c-ares would */
static ares_socket_t
dns_socket(int af, int type, int protocol, void *data)
{
    struct udp_chan *c = data;
    struct dns_udp *u = c->u;
    struct udp_sock *s;
    int fd;

    if (u->nsock == u->capsock) {
        size_t cap = u->capsock ? u->capsock * 2 : 4;
        struct udp_sock *more = realloc(u->socks, cap * sizeof *more);

        if (more == NULL) {
            errno = ENOMEM;
            return ARES_SOCKET_BAD;
        }
        u->socks = more;
        u->capsock = cap;
    }
    fd = socket(af, type | SOCK_NONBLOCK | SOCK_CLOEXEC, protocol);
    if (fd < 0)
        return ARES_SOCKET_BAD;
    if (type == SOCK_DGRAM && u->rcvbuf > 0)
        (void)setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &u->rcvbuf, sizeof u->rcvbuf);
    if (type == SOCK_STREAM) {
        int on = 1;

        (void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &on, sizeof on);
    }
    s = &u->socks[u->nsock++];
    memset(s, 0, sizeof *s);
    s->fd = fd;
    s->udp = type == SOCK_DGRAM;
    s->chan = c;
    return fd;
}

/* dns_close - ares_socket_functions.aclose: answers read ahead are dropped with it */
static int
dns_close(ares_socket_t fd, void *data)
{
    struct udp_chan *c = data;
    struct dns_udp *u = c->u;
    struct udp_sock *s = sock_find(u, fd);
    size_t i, kept = 0;

    if (s != NULL) {
        free(s->batch);
        *s = u->socks[--u->nsock];
    }
    for (i = 0; i < u->queued; i++)   /* queries for a closed socket go nowhere */
        if (u->queue[i].fd != fd)
            u->queue[kept++] = u->queue[i];
    u->queued = kept;
    return close(fd);
}

/* dns_connect - ares_socket_functions.aconnect */
static int
dns_connect(ares_socket_t fd, const struct sockaddr *sa, ares_socklen_t len, void *data)
{
    (void)data;
    return connect(fd, sa, len);
}

/* batch_fill - read what the socket holds, up to UDP_RECV_MAX answers */
static int
batch_fill(struct udp_sock *s)
{
    struct udp_batch *b = s->batch;
    struct mmsghdr msg[UDP_RECV_MAX];
    struct iovec iov[UDP_RECV_MAX];
    size_t i;
    int n;

    memset(msg, 0, sizeof msg);
    for (i = 0; i < UDP_RECV_MAX; i++) {
        iov[i].iov_base = b->buf[i];
        iov[i].iov_len = sizeof b->buf[i];
        msg[i].msg_hdr.msg_iov = &iov[i];
        msg[i].msg_hdr.msg_iovlen = 1;
        msg[i].msg_hdr.msg_name = &b->from[i];
        msg[i].msg_hdr.msg_namelen = sizeof b->from[i];
    }
    do
        n = recvmmsg(s->fd, msg, UDP_RECV_MAX, MSG_DONTWAIT, NULL);
    while (n < 0 && errno == EINTR);
    if (n <= 0)
        return n;
    for (i = 0; i < (size_t)n; i++) {
        b->len[i] = msg[i].msg_len;
        b->fromlen[i] = msg[i].msg_hdr.msg_namelen;
    }
    b->count = (size_t)n;
    b->next = 0;
    return n;
}

/* dns_recvfrom - ares_socket_functions.arecvfrom: UDP from the batch, TCP as is */
static ares_ssize_t
dns_recvfrom(ares_socket_t fd, void *buf, size_t len, int flags, struct sockaddr *from,
             ares_socklen_t *fromlen, void *data)
{
    struct udp_chan *c = data;
    struct udp_sock *s = sock_find(c->u, fd);
    struct udp_batch *b;
    size_t k, n;
    int got;

    if (s == NULL || !s->udp)
        return recvfrom(fd, buf, len, flags, from, fromlen);
    if (s->error != 0) {
        errno = s->error;
        s->error = 0;
        return -1;
    }
    if (s->batch == NULL && (s->batch = calloc(1, sizeof *s->batch)) == NULL)
        return recvfrom(fd, buf, len, flags, from, fromlen);
    b = s->batch;
    if (b->next == b->count) {
        /* A short batch emptied the socket: report EAGAIN without asking again. */
        if (b->count > 0 && b->count < UDP_RECV_MAX) {
            b->count = b->next = 0;
            errno = EAGAIN;
            return -1;
        }
        b->count = b->next = 0;
        got = batch_fill(s);
        if (got == 0)
            errno = EAGAIN;
        if (got <= 0)
            return -1;
    }
    k = b->next++;
    n = b->len[k] < len ? b->len[k] : len;
    memcpy(buf, b->buf[k], n);
    if (from != NULL && fromlen != NULL) {
        socklen_t fl = b->fromlen[k] < *fromlen ? b->fromlen[k] : *fromlen;

        memcpy(from, &b->from[k], fl);
        *fromlen = fl;
    }
    return (ares_ssize_t)n;
}

/* dns_sendv - ares_socket_functions.asendv: UDP queued for the end of the pass */
static ares_ssize_t
dns_sendv(ares_socket_t fd, const struct iovec *vec, int count, void *data)
{
    struct udp_chan *c = data;
    struct dns_udp *u = c->u;
    struct udp_sock *s = sock_find(u, fd);
    struct udp_query *q;
    size_t total = 0;
    int i;

    for (i = 0; i < count; i++)
        total += vec[i].iov_len;
    if (s == NULL || !s->udp || total > UDP_QUERY_MAX)
        return writev(fd, vec, count);
    if (u->queued == UDP_SEND_MAX)
        queue_flush(u);
    if (u->flush == NULL && herald_timer_start(u->loop, 0, on_flush, u, &u->flush) != HERALD_OK)
        return writev(fd, vec, count);   /* no timer: no batch either */
    q = &u->queue[u->queued++];
    q->fd = fd;
    q->len = 0;
    for (i = 0; i < count; i++) {
        memcpy(q->data + q->len, vec[i].iov_base, vec[i].iov_len);
        q->len += vec[i].iov_len;
    }
    return (ares_ssize_t)total;
}

static const struct ares_socket_functions udp_funcs = {
    dns_socket, dns_close, dns_connect, dns_recvfrom, dns_sendv,
};

/* dns_udp_new - a batcher on loop */
struct dns_udp *
dns_udp_new(struct herald_loop *loop, int rcvbuf, dns_udp_error_fn on_error, void *owner)
{
    struct dns_udp *u = calloc(1, sizeof *u);

    if (u == NULL)
        return NULL;
    u->loop = loop;
    u->rcvbuf = rcvbuf;
    u->on_error = on_error;
    u->owner = owner;
    return u;
}

/* dns_udp_attach - channel's sockets through u */
int
dns_udp_attach(struct dns_udp *u, ares_channel channel)
{
    struct udp_chan *c = calloc(1, sizeof *c);

    if (c == NULL)
        return ARES_ENOMEM;
    c->u = u;
    c->channel = channel;
    c->next = u->chans;
    u->chans = c;
    ares_set_socket_functions(channel, &udp_funcs, c);
    return ARES_SUCCESS;
}

/* dns_udp_free - release u; queued queries are dropped */
void
dns_udp_free(struct dns_udp **up)
{
    struct dns_udp *u;
    size_t i;

    if (up == NULL || *up == NULL)
        return;
    u = *up;
    *up = NULL;
    herald_timer_cancel(&u->flush);
    while (u->chans != NULL) {
        struct udp_chan *next = u->chans->next;

        free(u->chans);
        u->chans = next;
    }
    for (i = 0; i < u->nsock; i++)
        free(u->socks[i].batch);
    free(u->socks);
    free(u);
}
