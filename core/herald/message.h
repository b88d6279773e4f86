/*
 * herald/message.h - a message to deliver: envelope and body
 *
 * Addresses are checked when added: no CR, LF, NUL or other control
 * character, no "<>" brackets, at most 254 octets, and a recipient must have
 * a non-empty domain after its last '@' (HERALD_E_ADDRESS otherwise).  The
 * sender may be "" (the null reverse-path, for bounces).  A local part may be
 * UTF-8 (RFC 6531: sent with SMTPUTF8, and only to servers that offer it); a
 * domain must be ASCII (an internationalised one in its "xn--" A-label form).
 *
 * Bodies are never loaded whole into memory when they come from a file: a
 * device reads them through a body reader, in bounded chunks, as many times
 * as it needs (once per destination).
 *   - herald_message_set_body_file(): the path is opened when the message is
 *     set (so a missing file is an error now, not at delivery) and read later.
 *   - herald_message_set_body_buffer(): borrowed; the buffer must outlive the
 *     message.
 *   - herald_message_set_body_fd(): a stream (a pipe, stdin) is copied once
 *     into an unlinked temporary file under $TMPDIR, so it can be re-read.
 *
 * Ownership: herald_message_new() returns a message freed with
 * herald_message_free(&msg).  Getters return borrowed pointers valid until
 * the message is freed.
 */
#ifndef HERALD_MESSAGE_H
#define HERALD_MESSAGE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <herald/status.h>

#ifdef __cplusplus
extern "C" {
#endif

struct herald_message;
struct herald_body_reader;

#define HERALD_ADDRESS_MAX 254

/* Delivery status notifications (RFC 3461): NOTIFY bits for every recipient. */
#define HERALD_DSN_NOTIFY_NEVER   0x1u
#define HERALD_DSN_NOTIFY_SUCCESS 0x2u
#define HERALD_DSN_NOTIFY_FAILURE 0x4u
#define HERALD_DSN_NOTIFY_DELAY   0x8u
enum herald_dsn_ret {
    HERALD_DSN_RET_DEFAULT = 0,   /* no RET parameter: the server decides */
    HERALD_DSN_RET_FULL = 1,      /* a report carries the whole message */
    HERALD_DSN_RET_HDRS = 2       /* only its headers */
};

herald_status herald_message_new(struct herald_message **msg_out);
void herald_message_free(struct herald_message **msg);

herald_status herald_message_set_sender(struct herald_message *msg, const char *address);
herald_status herald_message_add_recipient(struct herald_message *msg, const char *address);
herald_status herald_message_set_body_file(struct herald_message *msg, const char *path);
herald_status herald_message_set_body_buffer(struct herald_message *msg,
                                             const void *data, size_t len);
herald_status herald_message_set_body_fd(struct herald_message *msg, int fd);
/* herald_message_set_body_range - len octets of fd from offset (a queue
 * module's file: envelope first, body after it).  fd is duplicated; eight_bit
 * is herald_message_body_8bit() of the body as first set (not re-read).
 * HERALD_E_INVAL, HERALD_E_LIMIT (no descriptor left), HERALD_E_IO. */
herald_status herald_message_set_body_range(struct herald_message *msg, int fd,
                                            uint64_t offset, uint64_t len, bool eight_bit);

/*
 * herald_message_set_dsn - ask for delivery status notifications: notify is 0
 * (no NOTIFY: the server's default) or HERALD_DSN_NOTIFY_NEVER alone or any of
 * SUCCESS, FAILURE, DELAY; envid (copied; NULL for none) is printable ASCII,
 * 1..100 octets.  Passed on as NOTIFY/ORCPT, RET and ENVID to servers that
 * offer DSN; a server that does not gets none of them (the trace says so), and
 * the outcome of each recipient is still reported to the caller.
 * HERALD_E_INVAL for anything else.
 */
herald_status herald_message_set_dsn(struct herald_message *msg, unsigned notify,
                                     enum herald_dsn_ret ret, const char *envid);
/* herald_dsn_envid_valid - what herald_message_set_dsn() takes as an envid */
bool herald_dsn_envid_valid(const char *envid);
unsigned herald_message_dsn_notify(const struct herald_message *msg);
enum herald_dsn_ret herald_message_dsn_ret(const struct herald_message *msg);
const char *herald_message_dsn_envid(const struct herald_message *msg);

/*
 * herald_message_add_try_last - (ABI 2.6) a hop address (its text, as in
 * struct herald_address, and port) that a device tries for this message only
 * after every other address of the recipient's route failed: the queue runner
 * sets the addresses it holds down (they just failed before any transaction;
 * reason says how, copied, cut at 200 octets) so that a message with a live
 * hop does not knock on a dead one first.  Never skipped: a route whose
 * addresses are all here is tried in its own order.  Adding one already
 * there does nothing.  HERALD_E_INVAL, HERALD_E_LIMIT (more than 4096),
 * HERALD_E_NOMEM.
 * herald_message_try_last - the reason when address and port are to be tried
 * last (borrowed, valid while msg lives), NULL when not.
 */
herald_status herald_message_add_try_last(struct herald_message *msg, const char *address,
                                          uint16_t port, const char *reason);
const char *herald_message_try_last(const struct herald_message *msg, const char *address,
                                    uint16_t port);

/* herald_message_needs_smtputf8 - true when the sender or a recipient is not
 * ASCII: such a message goes only to servers that offer SMTPUTF8. */
bool herald_message_needs_smtputf8(const struct herald_message *msg);

const char *herald_message_sender(const struct herald_message *msg);
size_t herald_message_recipient_count(const struct herald_message *msg);
const char *herald_message_recipient(const struct herald_message *msg, size_t index);

/* herald_address_domain - the part after the last '@'; borrowed from address, or NULL. */
const char *herald_address_domain(const char *address);
/* herald_address_check - HERALD_OK or HERALD_E_ADDRESS with the reason in diag. */
herald_status herald_address_check(const char *address, int need_domain,
                                   struct herald_diag *diag);

/* Body size in octets, as stored (before any line-ending normalisation). */
herald_status herald_message_body_size(const struct herald_message *msg, size_t *size_out);
/* herald_message_body_wire_size - the body's octets as SMTP sends them (every
 * line ending, bare CR or LF included, as CRLF, and CRLF after a last line
 * without one; no dot-stuffing): SIZE= (RFC 1870).  Counted when the body is
 * set, in the same pass as the 8-bit check (since ABI 2.4); 0 for NULL. */
uint64_t herald_message_body_wire_size(const struct herald_message *msg);
/* herald_message_body_8bit - true when an octet of the body is >= 0x80 (it
 * needs BODY=8BITMIME); known from the moment the body is set. */
bool herald_message_body_8bit(const struct herald_message *msg);

/* Body readers: independent cursors over the body, from its start. */
herald_status herald_body_open(const struct herald_message *msg,
                               struct herald_body_reader **reader_out);
/* Reads up to cap octets; *n_out == 0 means the end of the body. */
herald_status herald_body_read(struct herald_body_reader *reader, void *buf, size_t cap,
                               size_t *n_out);
void herald_body_close(struct herald_body_reader **reader);

#ifdef __cplusplus
}
#endif
#endif
