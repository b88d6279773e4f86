/*
 * herald/mime.h - compose an RFC 5322 / MIME message, streamed
 *
 *   struct herald_mime *m;
 *   herald_mime_new(&m);
 *   herald_mime_set_from(m, "Reports", "reports@example.com");
 *   herald_mime_add_to(m, NULL, "you@example.org");
 *   herald_mime_set_subject(m, "Monthly report");          // UTF-8; RFC 2047 when needed
 *   herald_mime_set_text_file(m, "summary.txt");
 *   herald_mime_add_attachment(m, "report.pdf", NULL, NULL);  // type from the name
 *   herald_mime_to_message(m, msg, &diag);                 // msg's body is the message
 *   herald_mime_free(&m);
 *
 * The message: Date, Message-ID, From, To, Cc, Subject, the caller's extra
 * headers, MIME-Version; then one text part, or multipart/alternative for text
 * and HTML, inside multipart/mixed when there are attachments.  Text and HTML
 * are UTF-8 and quoted-printable (line ends become CRLF); attachments are
 * base64, their file names RFC 2231 when not plain ASCII; non-ASCII subjects
 * and display names are RFC 2047 encoded-words.  The output is 7-bit unless
 * an address itself is UTF-8.
 *
 * Streaming: files are opened when they are set (a missing file is an error
 * then) and read in bounded chunks when the message is written, so a 200 MB
 * attachment is never held in memory.  herald_mime_to_message() writes into
 * an unlinked temporary file under $TMPDIR that becomes the message's body.
 *
 * Ownership: herald_mime_new() returns a builder freed with herald_mime_free();
 * strings are copied; a buffer given with *_buffer is borrowed and must live
 * until the message is written; a descriptor given with *_fd stays the
 * caller's and is read once, to its end, when the message is written.
 * Errors: HERALD_E_INVAL (a missing argument, a control character, a header
 * the builder writes itself), HERALD_E_ADDRESS, HERALD_E_NOTFOUND / HERALD_E_IO
 * (a file), HERALD_E_LIMIT (more than the bounds below), HERALD_E_NOMEM.
 */
#ifndef HERALD_MIME_H
#define HERALD_MIME_H

#include <stddef.h>
#include <time.h>
#include <herald/status.h>

#ifdef __cplusplus
extern "C" {
#endif

struct herald_mime;
struct herald_message;

#define HERALD_MIME_MAX_ADDRESSES 1000    /* in To and Cc together */
#define HERALD_MIME_MAX_ATTACHMENTS 100
#define HERALD_MIME_MAX_HEADERS 100       /* extra headers */
#define HERALD_MIME_MAX_TEXT 4096         /* subject, display name, header value */

herald_status herald_mime_new(struct herald_mime **mime_out);
void herald_mime_free(struct herald_mime **mime);

/* Addresses are checked as herald_address_check() does; name (UTF-8) may be NULL. */
herald_status herald_mime_set_from(struct herald_mime *mime, const char *name,
                                   const char *address);
herald_status herald_mime_add_to(struct herald_mime *mime, const char *name,
                                 const char *address);
herald_status herald_mime_add_cc(struct herald_mime *mime, const char *name,
                                 const char *address);
herald_status herald_mime_set_subject(struct herald_mime *mime, const char *subject);

/*
 * herald_mime_add_header - an extra header, value printable ASCII (tabs
 * allowed).  "Date" and "Message-ID" replace the ones the builder makes;
 * From, To, Cc, Subject, MIME-Version and Content-* are refused (use the
 * setters; the builder writes the MIME structure).
 */
herald_status herald_mime_add_header(struct herald_mime *mime, const char *name,
                                     const char *value);

/* The text (text/plain) and HTML (text/html) bodies, UTF-8. */
herald_status herald_mime_set_text_file(struct herald_mime *mime, const char *path);
herald_status herald_mime_set_text_fd(struct herald_mime *mime, int fd);
herald_status herald_mime_set_text_buffer(struct herald_mime *mime, const void *data,
                                          size_t len);
herald_status herald_mime_set_html_file(struct herald_mime *mime, const char *path);
herald_status herald_mime_set_html_buffer(struct herald_mime *mime, const void *data,
                                          size_t len);

/*
 * herald_mime_add_attachment - the file at path, as content_type ("type/subtype";
 * NULL: guessed from the file name's extension, else application/octet-stream)
 * named filename (UTF-8; NULL: the last component of path).
 */
herald_status herald_mime_add_attachment(struct herald_mime *mime, const char *path,
                                         const char *content_type, const char *filename);

/* herald_mime_write - the whole message to fd, streamed.  HERALD_E_IO names the
 * file that could not be read, or the write that failed, in diag. */
herald_status herald_mime_write(const struct herald_mime *mime, int fd,
                                struct herald_diag *diag);
/* herald_mime_to_message - write the message and make it msg's body. */
herald_status herald_mime_to_message(const struct herald_mime *mime,
                                     struct herald_message *msg, struct herald_diag *diag);

/*
 * Header helpers, also for a program that completes a message it did not
 * compose (a sendmail front end adding what is missing):
 *   herald_mime_date - "Wed, 02 Dec 2026 08:20:00 +0000" for t (RFC 5322 3.3)
 *   herald_mime_message_id - "<TIME.RANDOM@DOMAIN>", unique; domain NULL or
 *     unusable: the host name
 * Both need size >= 64 (and room for the domain); HERALD_E_INVAL otherwise.
 */
herald_status herald_mime_date(time_t t, char *buf, size_t size);
herald_status herald_mime_message_id(const char *domain, char *buf, size_t size);
/*
 * herald_mime_address_field - one address field as the builder writes it,
 * "FIELD: PHRASE <ADDRESS>" CRLF (folded with CRLF SP past 78 columns), into
 * buf: the name (UTF-8, NULL or "" for none) a quoted-string when it is
 * printable ASCII, else RFC 2047 encoded-words, so no name can add a line or
 * break out of the phrase.  HERALD_E_INVAL (a bad field name, a name with a
 * control character or not UTF-8), HERALD_E_ADDRESS, HERALD_E_LIMIT (buf too
 * small), HERALD_E_NOMEM.  libherald 5:0:4.
 */
herald_status herald_mime_address_field(const char *field, const char *name,
                                        const char *address, char *buf, size_t size);

#ifdef __cplusplus
}
#endif
#endif
