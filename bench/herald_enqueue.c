/*
 * herald_enqueue.c - enqueue many messages through libherald's batch API
 *
 *   herald_enqueue -c CONF [-d DEV] -n COUNT [-o FIRST] [-s SIZE] [-b BATCH] -f FROM -t RCPT...
 *
 * Message i has the header "X-Seq: FIRST+i" (FIRST default 0) and a body of about SIZE octets
 * (a "{n}" in a recipient becomes FIRST+i too: -t 'x@d{n}.test' spreads the
 * messages over as many domains)
 * (default 4096).  Messages are committed BATCH at a time (default 100; 1:
 * one sync per message, the rate group commit is compared with).  After each
 * commit the ids it made durable are printed, one "ID SEQ" per line and
 * flushed, so a test that kills this program knows exactly which messages
 * were acknowledged.  Exit 0, or 1 with the reason on stderr.
 *
 * The bench (bench/run.sh queue) times it; the crash tests use it too.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <herald/herald.h>
#include <herald/queue.h>

#define MAX_RCPTS 16

struct args {
    const char *conf, *device, *from;
    const char *rcpt[MAX_RCPTS];
    size_t rcpts;
    long count, size, batch, first;
};

static int
usage(void)
{
    fputs("usage: herald_enqueue -c CONF [-d DEV] -n COUNT [-o FIRST] [-s SIZE] [-b BATCH] -f FROM "
          "-t RCPT...\n", stderr);
    return 2;
}

/* make_body - headers with the sequence number, then lines up to size */
static char *
make_body(const struct args *a, long seq, size_t *len_out)
{
    size_t cap = (size_t)a->size + 512, n;
    char *b = malloc(cap);

    if (b == NULL)
        return NULL;
    n = (size_t)snprintf(b, cap, "From: <%s>\r\nTo: <%s>\r\nSubject: queued %ld\r\n"
                         "X-Seq: %ld\r\n\r\n", a->from, a->rcpt[0], seq, seq);
    while (n + 76 <= (size_t)a->size && n + 76 < cap) {
        memcpy(b + n, "0123456789abcdefghijklmnopqrstuvwxyz0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ.\r\n",
               76);
        n += 76;
    }
    *len_out = n;
    return b;
}

/* rcpt_for - rcpt with its first "{n}" replaced by seq, into buf */
static const char *
rcpt_for(const char *rcpt, long seq, char *buf, size_t cap)
{
    const char *at = strstr(rcpt, "{n}");

    if (at == NULL)
        return rcpt;
    snprintf(buf, cap, "%.*s%ld%s", (int)(at - rcpt), rcpt, seq, at + 3);
    return buf;
}

/* enqueue_batch - messages [first, first+n) in one commit; prints their ids */
static int
enqueue_batch(const struct args *a, struct herald_context *ctx, struct herald_device *dev,
              long first, long n)
{
    char (*ids)[HERALD_QUEUE_ID_SIZE] = calloc((size_t)n, sizeof *ids);
    struct herald_message **msgs = calloc((size_t)n, sizeof *msgs);
    char **bodies = calloc((size_t)n, sizeof *bodies);
    struct herald_enqueue_batch *b = NULL;
    struct herald_diag d;
    int rc = 1;
    long i;
    size_t r;

    memset(&d, 0, sizeof d);
    if (ids == NULL || msgs == NULL || bodies == NULL)
        goto out;
    if (herald_enqueue_begin(ctx, &b, &d) != HERALD_OK)
        goto fail;
    for (i = 0; i < n; i++) {
        size_t len = 0;

        bodies[i] = make_body(a, first + i, &len);
        if (bodies[i] == NULL || herald_message_new(&msgs[i]) != HERALD_OK ||
            herald_message_set_sender(msgs[i], a->from) != HERALD_OK ||
            herald_message_set_body_buffer(msgs[i], bodies[i], len) != HERALD_OK)
            goto fail;
        for (r = 0; r < a->rcpts; r++) {
            char buf[512];

            if (herald_message_add_recipient(msgs[i], rcpt_for(a->rcpt[r], first + i, buf,
                                                               sizeof buf)) != HERALD_OK)
                goto fail;
        }
        if (herald_enqueue_add(b, dev, msgs[i], ids[i], &d) != HERALD_OK)
            goto fail;
    }
    if (herald_enqueue_commit(&b, &d) != HERALD_OK)
        goto fail;
    for (i = 0; i < n; i++)
        printf("%s %ld\n", ids[i], first + i);
    fflush(stdout);
    rc = 0;
    goto out;
fail:
    fprintf(stderr, "herald_enqueue: %s: %s\n", d.where, d.text[0] ? d.text : "failed");
out:
    herald_enqueue_abort(&b);
    for (i = 0; msgs != NULL && bodies != NULL && i < n; i++) {
        herald_message_free(&msgs[i]);
        free(bodies[i]);
    }
    free(msgs);
    free(bodies);
    free(ids);
    return rc;
}

int
main(int argc, char **argv)
{
    struct args a = { .count = 1, .size = 4096, .batch = 100 };
    struct herald_context *ctx = NULL;
    struct herald_device *dev = NULL;
    struct herald_diag d;
    long done;
    int c, rc = 0;

    while ((c = getopt(argc, argv, "c:d:n:o:s:b:f:t:")) != -1) {
        switch (c) {
        case 'c': a.conf = optarg; break;
        case 'd': a.device = optarg; break;
        case 'n': a.count = atol(optarg); break;
        case 'o': a.first = atol(optarg); break;
        case 's': a.size = atol(optarg); break;
        case 'b': a.batch = atol(optarg); break;
        case 'f': a.from = optarg; break;
        case 't':
            if (a.rcpts == MAX_RCPTS)
                return usage();
            a.rcpt[a.rcpts++] = optarg;
            break;
        default: return usage();
        }
    }
    if (a.conf == NULL || a.from == NULL || a.rcpts == 0 || a.count < 1 || a.batch < 1 ||
        a.size < 0)
        return usage();
    memset(&d, 0, sizeof d);
    if (herald_open(a.conf, &ctx, &d) != HERALD_OK ||
        (a.device != NULL ? herald_device(ctx, a.device, &dev, &d) != HERALD_OK
                          : (dev = herald_device_at(ctx, 0)) == NULL)) {
        fprintf(stderr, "herald_enqueue: %s: %s\n", d.where, d.text[0] ? d.text : "no device");
        herald_close(&ctx);
        return 1;
    }
    for (done = 0; done < a.count && rc == 0; done += a.batch)
        rc = enqueue_batch(&a, ctx, dev, a.first + done,
                           a.count - done < a.batch ? a.count - done : a.batch);
    herald_close(&ctx);
    return rc;
}
