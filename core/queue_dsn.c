/*
 * queue_dsn.c - RFC 3464 delivery status notifications for queued messages
 *
 * The report is written whole into memory (bounded: the original is at most
 * max_message_size, and only its headers unless RET=FULL), then queued from
 * the null sender "" to the original envelope sender through the message's
 * own device.  A null-sender message never causes one: notifications must
 * not loop (RFC 3461 section 6.2, RFC 5321 section 6.1).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <herald/herald.h>
#include <herald/queue.h>
#include "context.h"
#include "queue_dsn.h"
#include "random.h"

#define DSN_COPY_CHUNK (64 * 1024)

/* wants - does NOTIFY ask for this kind of notice (0 = not given: failures
 * and delays, as RFC 3461 4.1 lets the MTA decide) */
static bool
wants(unsigned notify, unsigned bit)
{
    if (notify & HERALD_DSN_NOTIFY_NEVER)
        return false;
    return notify == 0 || (notify & bit) != 0;
}

bool
queue_dsn_delay_due(const struct herald_queue_policy *pol, const struct herald_queue_entry *e,
                    int64_t now)
{
    size_t i;

    if (pol->delay_warning_s == 0 || e->warned || *e->sender == '\0' ||
        !wants(e->dsn_notify, HERALD_DSN_NOTIFY_DELAY) || now < e->arrival + pol->delay_warning_s)
        return false;
    for (i = 0; i < e->rcpt_count; i++)
        if (e->rcpts[i].state == HERALD_RESULT_DEFERRED)
            return true;
    return false;
}

/* rfc5322_date - "Wed, 02 Dec 2026 08:00:00 +0000" */
static void
rfc5322_date(int64_t t, char *buf, size_t size)
{
    time_t tt = (time_t)t;
    struct tm tm;

    gmtime_r(&tt, &tm);
    strftime(buf, size, "%a, %d %b %Y %H:%M:%S +0000", &tm);
}

/* status_of - the Status field: the recipient's code, class 5 when it failed */
static void
status_of(const struct herald_queue_rcpt *rc, bool failed, char *buf, size_t size)
{
    const char *d = rc->dsn != NULL && rc->dsn[0] ? rc->dsn : NULL;

    if (d == NULL)
        snprintf(buf, size, "%s", failed ? "5.0.0" : "4.0.0");
    else
        snprintf(buf, size, "%c%s", failed ? '5' : '4', d + 1);
}

/* put_original - the original's headers (or all of it) */
static void
put_original(FILE *f, const struct herald_message *orig, bool full)
{
    struct herald_body_reader *r = NULL;
    char *buf = malloc(DSN_COPY_CHUNK);
    size_t n, i;
    int nl = 1;   /* at a line start: an empty line ends the headers */

    if (buf == NULL || herald_body_open(orig, &r) != HERALD_OK) {
        free(buf);
        return;
    }
    while (herald_body_read(r, buf, DSN_COPY_CHUNK, &n) == HERALD_OK && n > 0) {
        if (full) {
            fwrite(buf, 1, n, f);
            continue;
        }
        for (i = 0; i < n; i++) {
            char c = buf[i];

            if (c == '\r')
                continue;
            if (c == '\n' && nl)
                goto out;   /* the blank line: the headers are done */
            fputc(c == '\n' ? '\r' : c, f);
            if (c == '\n')
                fputc('\n', f);
            nl = c == '\n';
        }
    }
out:
    herald_body_close(&r);
    free(buf);
}

/* report - one multipart/report for the recipients picked (action "failed" or "delayed") */
static char *
report(const struct herald_queue_entry *e, const bool *pick, bool failed,
       const struct herald_message *orig, int64_t now, size_t *len_out)
{
    char host[256] = "localhost", boundary[33], date[64], arrival[64], mid[33], status[16];
    char *mem = NULL;
    size_t len = 0, i;
    bool full = e->dsn_ret == HERALD_DSN_RET_FULL;
    FILE *f = open_memstream(&mem, &len);

    if (f == NULL)
        return NULL;
    if (gethostname(host, sizeof host - 1) != 0)
        snprintf(host, sizeof host, "localhost");
    random_hex(boundary, sizeof boundary);
    random_hex(mid, sizeof mid);
    rfc5322_date(now, date, sizeof date);
    rfc5322_date(e->arrival, arrival, sizeof arrival);
    fprintf(f, "From: Mail Delivery System <MAILER-DAEMON@%s>\r\n", host);
    fprintf(f, "To: <%s>\r\n", e->sender);
    fprintf(f, "Subject: %s\r\n", failed ? "Undelivered Mail Returned to Sender"
                                         : "Delayed Mail (still being retried)");
    fprintf(f, "Date: %s\r\nMessage-ID: <%s.dsn@%s>\r\nAuto-Submitted: auto-replied\r\n", date,
            mid, host);
    fprintf(f, "MIME-Version: 1.0\r\nContent-Type: multipart/report; "
               "report-type=delivery-status;\r\n\tboundary=\"%s\"\r\n\r\n", boundary);
    fprintf(f, "This is a MIME-encapsulated message.\r\n\r\n--%s\r\n", boundary);
    fprintf(f, "Content-Type: text/plain; charset=us-ascii\r\n\r\n");
    if (failed)
        fprintf(f, "This is the mail system at host %s.\r\n\r\nYour message (queue id %s) "
                   "could not be delivered to one or more recipients.\r\n\r\n", host, e->id);
    else
        fprintf(f, "This is the mail system at host %s.\r\n\r\nYour message (queue id %s) "
                   "has not been delivered yet to one or more recipients.\r\nIt is still "
                   "being retried; you need not send it again.\r\n\r\n", host, e->id);
    for (i = 0; i < e->rcpt_count; i++)
        if (pick[i])
            fprintf(f, "<%s>: %s\r\n", e->rcpts[i].address,
                    e->rcpts[i].reply[0] ? e->rcpts[i].reply : "(no reply recorded)");
    fprintf(f, "\r\n--%s\r\nContent-Type: message/delivery-status\r\n\r\n", boundary);
    fprintf(f, "Reporting-MTA: dns; %s\r\nX-Herald-Queue-ID: %s\r\n", host, e->id);
    if (e->dsn_envid != NULL)
        fprintf(f, "Original-Envelope-Id: %s\r\n", e->dsn_envid);
    fprintf(f, "Arrival-Date: %s\r\n", arrival);
    for (i = 0; i < e->rcpt_count; i++) {
        const struct herald_queue_rcpt *rc = &e->rcpts[i];

        if (!pick[i])
            continue;
        status_of(rc, failed, status, sizeof status);
        fprintf(f, "\r\nFinal-Recipient: rfc822; %s\r\nOriginal-Recipient: rfc822; %s\r\n"
                   "Action: %s\r\nStatus: %s\r\n", rc->address, rc->address,
                failed ? "failed" : "delayed", status);
        if (rc->reply[0] >= '2' && rc->reply[0] <= '5')
            fprintf(f, "Diagnostic-Code: smtp; %s\r\n", rc->reply);
        else if (rc->reply[0])
            fprintf(f, "Diagnostic-Code: X-Herald; %s\r\n", rc->reply);
        fprintf(f, "Last-Attempt-Date: %s\r\n", date);
    }
    fprintf(f, "\r\n--%s\r\nContent-Type: %s\r\n\r\n", boundary,
            full ? "message/rfc822" : "text/rfc822-headers");
    if (orig != NULL)
        put_original(f, orig, full);
    fprintf(f, "\r\n--%s--\r\n", boundary);
    if (fclose(f) != 0) {
        free(mem);
        return NULL;
    }
    *len_out = len;
    return mem;
}

/* send_report - queue one report through the entry's device */
static void
send_report(struct herald_context *ctx, struct herald_queue_entry *e, const bool *pick,
            bool failed, const struct herald_message *orig, struct herald_enqueue_batch *batch,
            int64_t now)
{
    struct herald_message *m = NULL;
    struct herald_device *dev = NULL;
    char id[HERALD_QUEUE_ID_SIZE];
    struct herald_diag d;
    size_t len = 0;
    char *text;

    memset(&d, 0, sizeof d);
    if (herald_device(ctx, e->device, &dev, &d) != HERALD_OK)
        return;
    text = report(e, pick, failed, orig, now, &len);
    if (text == NULL)
        return;
    if (herald_message_new(&m) == HERALD_OK && herald_message_set_sender(m, "") == HERALD_OK &&
        herald_message_add_recipient(m, e->sender) == HERALD_OK &&
        herald_message_set_body_buffer(m, text, len) == HERALD_OK &&
        herald_enqueue_add(batch, dev, m, id, &d) == HERALD_OK)
        herald_trace_log(&ctx->trace, HERALD_TRACE_INFO, "queue",
                         "%s: %s notification to <%s> queued as %s", e->id,
                         failed ? "failure" : "delay", e->sender, id);
    else
        herald_trace_log(&ctx->trace, HERALD_TRACE_ERROR, "queue",
                         "%s: cannot queue a notification to <%s>: %s", e->id, e->sender,
                         d.text[0] ? d.text : "out of memory");
    herald_message_free(&m);
    free(text);
}

void
queue_dsn_make(struct herald_context *ctx, const struct herald_queue_policy *pol,
               struct herald_queue_entry *e, const struct herald_message *orig,
               struct herald_enqueue_batch *batch, int64_t now)
{
    bool *pick;
    size_t i, n = 0;

    if (*e->sender == '\0' || (e->dsn_notify & HERALD_DSN_NOTIFY_NEVER))
        return;
    pick = calloc(e->rcpt_count, sizeof *pick);
    if (pick == NULL)
        return;
    if (wants(e->dsn_notify, HERALD_DSN_NOTIFY_FAILURE)) {
        for (i = 0; i < e->rcpt_count; i++) {
            pick[i] = e->rcpts[i].state == HERALD_RESULT_FAILED && !e->rcpts[i].notified;
            n += pick[i];
        }
        if (n > 0)
            send_report(ctx, e, pick, true, orig, batch, now);
        for (i = 0; i < e->rcpt_count; i++)
            if (pick[i])
                e->rcpts[i].notified = true;
    }
    if (queue_dsn_delay_due(pol, e, now)) {
        for (i = 0; i < e->rcpt_count; i++)
            pick[i] = e->rcpts[i].state == HERALD_RESULT_DEFERRED;
        send_report(ctx, e, pick, false, orig, batch, now);
        e->warned = true;
    }
    free(pick);
}
