/*
 * herald/message.h - a message to deliver: envelope and body
 *
 * Addresses are checked when added: no CR, LF, NUL or other control
 * character, no "<>" brackets, at most 254 octets, and a recipient must have
 * a non-empty domain after its last '@' (HERALD_E_ADDRESS otherwise).  The
 * sender may be "" (the null reverse-path, for bounces).
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

#include <stddef.h>
#include <herald/status.h>

#ifdef __cplusplus
extern "C" {
#endif

struct herald_message;
struct herald_body_reader;

#define HERALD_ADDRESS_MAX 254

herald_status herald_message_new(struct herald_message **msg_out);
void herald_message_free(struct herald_message **msg);

herald_status herald_message_set_sender(struct herald_message *msg, const char *address);
herald_status herald_message_add_recipient(struct herald_message *msg, const char *address);
herald_status herald_message_set_body_file(struct herald_message *msg, const char *path);
herald_status herald_message_set_body_buffer(struct herald_message *msg,
                                             const void *data, size_t len);
herald_status herald_message_set_body_fd(struct herald_message *msg, int fd);

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
