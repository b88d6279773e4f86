/*
 * mime.c - the message composer (herald/mime.h): what a message is made of,
 * and the order it is written in
 *
 * A builder holds only names and open descriptors; the content of the text,
 * HTML and attachments is read in MIME_READ_CHUNK pieces while the message
 * is written, through the encoders of mime_encode.c.  Files are opened when
 * they are set so that a missing attachment is an error at once, and read
 * with pread() from offset 0 so the same builder can be written twice.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <herald/message.h>
#include <herald/mime.h>
#include "mime_encode.h"
#include "random.h"

#define MIME_READ_CHUNK (64 * 1024)
/* An extra header's value is written as given (folded at its spaces): bounded
 * so that no line can pass 998 octets. */
#define MIME_HEADER_VALUE_MAX 900
#define MIME_FILENAME_MAX 255

enum src_kind { SRC_NONE = 0, SRC_FD, SRC_BUFFER };

struct mime_src {
    enum src_kind kind;
    int fd;                      /* SRC_FD */
    bool owned;                  /* opened here (a path), closed here */
    bool seekable;               /* a regular file: read with pread from 0 */
    const unsigned char *buf;    /* SRC_BUFFER: borrowed */
    size_t len;
    char *label;                 /* the path, for errors */
};

struct mime_addr {
    char *name;                  /* NULL: none */
    char *address;
};

struct mime_attachment {
    struct mime_src src;
    char *type;
    char *filename;
};

struct herald_mime {
    struct mime_addr from;
    struct mime_addr *to, *cc;
    size_t to_count, cc_count;
    char *subject;
    struct mime_src text, html;
    struct mime_attachment *att;
    size_t att_count;
    char **hdr_name, **hdr_value;
    size_t hdr_count;
    char *date, *message_id;     /* given by the caller; NULL: made when written */
};

/* What a write needs as it goes: the output, and the first error. */
struct mime_writer {
    struct mime_out out;
    herald_status st;
    struct herald_diag *diag;
    unsigned char chunk[MIME_READ_CHUNK];
};

/* herald_mime_new - an empty builder */
herald_status
herald_mime_new(struct herald_mime **mime_out)
{
    struct herald_mime *m;

    if (mime_out == NULL)
        return HERALD_E_INVAL;
    m = calloc(1, sizeof *m);
    if (m == NULL)
        return HERALD_E_NOMEM;
    m->text.fd = m->html.fd = -1;
    *mime_out = m;
    return HERALD_OK;
}

/* src_clear - close an owned descriptor and forget the source */
static void
src_clear(struct mime_src *s)
{
    if (s->owned && s->fd >= 0)
        close(s->fd);
    free(s->label);
    memset(s, 0, sizeof *s);
    s->fd = -1;
}

/* addr_clear - free one address */
static void
addr_clear(struct mime_addr *a)
{
    free(a->name);
    free(a->address);
    a->name = a->address = NULL;
}

/* herald_mime_free - free the builder and close its files; accepts NULL */
void
herald_mime_free(struct herald_mime **mime)
{
    struct herald_mime *m;
    size_t i;

    if (mime == NULL || *mime == NULL)
        return;
    m = *mime;
    addr_clear(&m->from);
    for (i = 0; i < m->to_count; i++)
        addr_clear(&m->to[i]);
    for (i = 0; i < m->cc_count; i++)
        addr_clear(&m->cc[i]);
    free(m->to);
    free(m->cc);
    free(m->subject);
    src_clear(&m->text);
    src_clear(&m->html);
    for (i = 0; i < m->att_count; i++) {
        src_clear(&m->att[i].src);
        free(m->att[i].type);
        free(m->att[i].filename);
    }
    free(m->att);
    for (i = 0; i < m->hdr_count; i++) {
        free(m->hdr_name[i]);
        free(m->hdr_value[i]);
    }
    free(m->hdr_name);
    free(m->hdr_value);
    free(m->date);
    free(m->message_id);
    free(m);
    *mime = NULL;
}

/* addr_make - a checked, copied address with an optional display name */
static herald_status
addr_make(struct mime_addr *a, const char *name, const char *address)
{
    if (address == NULL)
        return HERALD_E_INVAL;
    if (herald_address_check(address, 1, NULL) != HERALD_OK)
        return HERALD_E_ADDRESS;
    if (name != NULL && (!mime_text_ok(name, false) || strlen(name) > HERALD_MIME_MAX_TEXT))
        return HERALD_E_INVAL;
    a->address = strdup(address);
    a->name = name != NULL && *name != '\0' ? strdup(name) : NULL;
    if (a->address == NULL || (name != NULL && *name != '\0' && a->name == NULL)) {
        addr_clear(a);
        return HERALD_E_NOMEM;
    }
    return HERALD_OK;
}

/* herald_mime_set_from - the From header */
herald_status
herald_mime_set_from(struct herald_mime *mime, const char *name, const char *address)
{
    struct mime_addr a = { NULL, NULL };
    herald_status st;

    if (mime == NULL)
        return HERALD_E_INVAL;
    st = addr_make(&a, name, address);
    if (st != HERALD_OK)
        return st;
    addr_clear(&mime->from);
    mime->from = a;
    return HERALD_OK;
}

/* addr_append - one more address for To or Cc, within the shared bound */
static herald_status
addr_append(struct herald_mime *m, struct mime_addr **list, size_t *count, const char *name,
            const char *address)
{
    struct mime_addr a = { NULL, NULL }, *grown;
    herald_status st;

    if (m->to_count + m->cc_count >= HERALD_MIME_MAX_ADDRESSES)
        return HERALD_E_LIMIT;
    st = addr_make(&a, name, address);
    if (st != HERALD_OK)
        return st;
    grown = realloc(*list, (*count + 1) * sizeof **list);
    if (grown == NULL) {
        addr_clear(&a);
        return HERALD_E_NOMEM;
    }
    grown[(*count)++] = a;
    *list = grown;
    return HERALD_OK;
}

herald_status
herald_mime_add_to(struct herald_mime *mime, const char *name, const char *address)
{
    if (mime == NULL)
        return HERALD_E_INVAL;
    return addr_append(mime, &mime->to, &mime->to_count, name, address);
}

herald_status
herald_mime_add_cc(struct herald_mime *mime, const char *name, const char *address)
{
    if (mime == NULL)
        return HERALD_E_INVAL;
    return addr_append(mime, &mime->cc, &mime->cc_count, name, address);
}

/* replace_string - *slot becomes a copy of s */
static herald_status
replace_string(char **slot, const char *s)
{
    char *copy = strdup(s);

    if (copy == NULL)
        return HERALD_E_NOMEM;
    free(*slot);
    *slot = copy;
    return HERALD_OK;
}

/* herald_mime_set_subject - UTF-8 without control characters (tabs allowed) */
herald_status
herald_mime_set_subject(struct herald_mime *mime, const char *subject)
{
    if (mime == NULL || !mime_text_ok(subject, true) || strlen(subject) > HERALD_MIME_MAX_TEXT)
        return HERALD_E_INVAL;
    return replace_string(&mime->subject, subject);
}

/* field_name_ok - RFC 5322 ftext: printable ASCII except ':' */
static bool
field_name_ok(const char *name)
{
    size_t n = 0;

    for (; name[n] != '\0'; n++)
        if (name[n] < 33 || name[n] > 126 || name[n] == ':')
            return false;
    return n > 0 && n <= 76;
}

/* header_owned - the headers the builder writes from its own fields */
static bool
header_owned(const char *name)
{
    static const char *const owned[] = { "From", "To", "Cc", "Bcc", "Subject",
                                         "MIME-Version" };
    size_t i;

    if (strncasecmp(name, "Content-", 8) == 0)
        return true;
    for (i = 0; i < sizeof owned / sizeof owned[0]; i++)
        if (strcasecmp(name, owned[i]) == 0)
            return true;
    return false;
}

/* herald_mime_add_header - an extra header; Date and Message-ID replace the made ones */
herald_status
herald_mime_add_header(struct herald_mime *mime, const char *name, const char *value)
{
    const unsigned char *p;
    char **names, **values;

    if (mime == NULL || name == NULL || value == NULL || !field_name_ok(name) ||
        header_owned(name) || strlen(value) > MIME_HEADER_VALUE_MAX)
        return HERALD_E_INVAL;
    for (p = (const unsigned char *)value; *p != '\0'; p++)
        if ((*p < 0x20 && *p != '\t') || *p > 0x7e)
            return HERALD_E_INVAL;
    if (strcasecmp(name, "Date") == 0)
        return replace_string(&mime->date, value);
    if (strcasecmp(name, "Message-ID") == 0)
        return replace_string(&mime->message_id, value);
    if (mime->hdr_count >= HERALD_MIME_MAX_HEADERS)
        return HERALD_E_LIMIT;
    names = realloc(mime->hdr_name, (mime->hdr_count + 1) * sizeof *names);
    if (names == NULL)
        return HERALD_E_NOMEM;
    mime->hdr_name = names;
    values = realloc(mime->hdr_value, (mime->hdr_count + 1) * sizeof *values);
    if (values == NULL)
        return HERALD_E_NOMEM;
    mime->hdr_value = values;
    names[mime->hdr_count] = strdup(name);
    values[mime->hdr_count] = strdup(value);
    if (names[mime->hdr_count] == NULL || values[mime->hdr_count] == NULL) {
        free(names[mime->hdr_count]);
        free(values[mime->hdr_count]);
        return HERALD_E_NOMEM;
    }
    mime->hdr_count++;
    return HERALD_OK;
}

/* src_open_file - open path now, so a missing file is an error before anything is sent */
static herald_status
src_open_file(struct mime_src *s, const char *path)
{
    struct stat st;
    int fd;

    if (path == NULL || *path == '\0')
        return HERALD_E_INVAL;
    fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
    if (fd < 0)
        return errno == ENOENT || errno == ENOTDIR ? HERALD_E_NOTFOUND : HERALD_E_IO;
    if (fstat(fd, &st) != 0 || S_ISDIR(st.st_mode)) {
        close(fd);
        return S_ISDIR(st.st_mode) ? HERALD_E_INVAL : HERALD_E_IO;
    }
    memset(s, 0, sizeof *s);
    s->label = strdup(path);
    if (s->label == NULL) {
        close(fd);
        return HERALD_E_NOMEM;
    }
    s->kind = SRC_FD;
    s->fd = fd;
    s->owned = true;
    /* A pipe or device is read once, sequentially; a regular file with pread. */
    s->seekable = S_ISREG(st.st_mode);
    return HERALD_OK;
}

/* set_src_file - replace a body source with a file */
static herald_status
set_src_file(struct mime_src *slot, const char *path)
{
    struct mime_src s;
    herald_status st;

    st = src_open_file(&s, path);
    if (st != HERALD_OK)
        return st;
    src_clear(slot);
    *slot = s;
    return HERALD_OK;
}

/* set_src_buffer - replace a body source with a borrowed buffer */
static herald_status
set_src_buffer(struct mime_src *slot, const void *data, size_t len)
{
    if (data == NULL && len > 0)
        return HERALD_E_INVAL;
    src_clear(slot);
    slot->kind = SRC_BUFFER;
    slot->buf = data;
    slot->len = len;
    return HERALD_OK;
}

herald_status
herald_mime_set_text_file(struct herald_mime *mime, const char *path)
{
    return mime != NULL ? set_src_file(&mime->text, path) : HERALD_E_INVAL;
}

herald_status
herald_mime_set_text_buffer(struct herald_mime *mime, const void *data, size_t len)
{
    return mime != NULL ? set_src_buffer(&mime->text, data, len) : HERALD_E_INVAL;
}

herald_status
herald_mime_set_text_fd(struct herald_mime *mime, int fd)
{
    if (mime == NULL || fd < 0)
        return HERALD_E_INVAL;
    src_clear(&mime->text);
    mime->text.kind = SRC_FD;
    mime->text.fd = fd;
    return HERALD_OK;
}

herald_status
herald_mime_set_html_file(struct herald_mime *mime, const char *path)
{
    return mime != NULL ? set_src_file(&mime->html, path) : HERALD_E_INVAL;
}

herald_status
herald_mime_set_html_buffer(struct herald_mime *mime, const void *data, size_t len)
{
    return mime != NULL ? set_src_buffer(&mime->html, data, len) : HERALD_E_INVAL;
}

/* type_ok - "type/subtype", each an RFC 2045 token */
static bool
type_ok(const char *t)
{
    size_t slash = 0, n;

    for (n = 0; t[n] != '\0'; n++) {
        unsigned char c = (unsigned char)t[n];

        if (c == '/' && slash == 0 && n > 0) {
            slash = n;
            continue;
        }
        if (c <= 32 || c >= 127 || strchr("()<>@,;:\\\"/[]?=", c) != NULL)
            return false;
    }
    return slash > 0 && slash + 1 < n && n <= 127;
}

/* type_guess - the content type for a file name's extension */
static const char *
type_guess(const char *filename)
{
    static const struct { const char *ext, *type; } table[] = {
        { "pdf", "application/pdf" },   { "txt", "text/plain" },
        { "csv", "text/csv" },          { "html", "text/html" },
        { "htm", "text/html" },         { "json", "application/json" },
        { "xml", "application/xml" },   { "zip", "application/zip" },
        { "gz", "application/gzip" },   { "png", "image/png" },
        { "jpg", "image/jpeg" },        { "jpeg", "image/jpeg" },
        { "gif", "image/gif" },         { "svg", "image/svg+xml" },
        { "ics", "text/calendar" },
        { "xlsx", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet" },
        { "docx", "application/vnd.openxmlformats-officedocument.wordprocessingml.document" },
    };
    const char *dot = strrchr(filename, '.');
    size_t i;

    if (dot != NULL)
        for (i = 0; i < sizeof table / sizeof table[0]; i++)
            if (strcasecmp(dot + 1, table[i].ext) == 0)
                return table[i].type;
    return "application/octet-stream";
}

/* herald_mime_add_attachment - a file, streamed as base64 when written */
herald_status
herald_mime_add_attachment(struct herald_mime *mime, const char *path,
                           const char *content_type, const char *filename)
{
    struct mime_attachment a, *grown;
    const char *base;
    herald_status st;

    if (mime == NULL || path == NULL || *path == '\0')
        return HERALD_E_INVAL;
    if (mime->att_count >= HERALD_MIME_MAX_ATTACHMENTS)
        return HERALD_E_LIMIT;
    if (filename == NULL) {
        base = strrchr(path, '/');
        filename = base != NULL ? base + 1 : path;
    }
    if (*filename == '\0' || !mime_text_ok(filename, false) ||
        strlen(filename) > MIME_FILENAME_MAX)
        return HERALD_E_INVAL;
    if (content_type == NULL)
        content_type = type_guess(filename);
    if (!type_ok(content_type))
        return HERALD_E_INVAL;
    memset(&a, 0, sizeof a);
    st = src_open_file(&a.src, path);
    if (st != HERALD_OK)
        return st;
    a.type = strdup(content_type);
    a.filename = strdup(filename);
    grown = a.type && a.filename ? realloc(mime->att, (mime->att_count + 1) * sizeof *grown)
                                 : NULL;
    if (grown == NULL) {
        src_clear(&a.src);
        free(a.type);
        free(a.filename);
        return HERALD_E_NOMEM;
    }
    grown[mime->att_count++] = a;
    mime->att = grown;
    return HERALD_OK;
}

/* herald_mime_date - RFC 5322 date-time, in UTC, spelled without the locale */
herald_status
herald_mime_date(time_t t, char *buf, size_t size)
{
    static const char days[7][4] = { "Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat" };
    static const char months[12][4] = { "Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                        "Jul", "Aug", "Sep", "Oct", "Nov", "Dec" };
    struct tm tm;

    if (buf == NULL || size < 64 || gmtime_r(&t, &tm) == NULL)
        return HERALD_E_INVAL;
    snprintf(buf, size, "%s, %02d %s %04d %02d:%02d:%02d +0000", days[tm.tm_wday % 7],
             tm.tm_mday, months[tm.tm_mon % 12], tm.tm_year + 1900, tm.tm_hour, tm.tm_min,
             tm.tm_sec);
    return HERALD_OK;
}

/* id_domain_ok - a dot-atom of letters, digits, '-', '.', or an address literal */
static bool
id_domain_ok(const char *d)
{
    size_t n;

    if (d == NULL || *d == '\0')
        return false;
    for (n = 0; d[n] != '\0'; n++)
        if (!((d[n] >= 'a' && d[n] <= 'z') || (d[n] >= 'A' && d[n] <= 'Z') ||
              (d[n] >= '0' && d[n] <= '9') || strchr("-.[]:", d[n]) != NULL))
            return false;
    return n < 200;
}

/* herald_mime_message_id - "<YYYYMMDDhhmmss.RANDOM@DOMAIN>" */
herald_status
herald_mime_message_id(const char *domain, char *buf, size_t size)
{
    char host[256], rnd[21];
    struct tm tm;
    time_t now = time(NULL);

    if (buf == NULL || size < 64)
        return HERALD_E_INVAL;
    if (!id_domain_ok(domain)) {
        if (gethostname(host, sizeof host) != 0)
            host[0] = '\0';
        host[sizeof host - 1] = '\0';
        domain = id_domain_ok(host) ? host : "localhost";
    }
    random_hex(rnd, sizeof rnd);
    gmtime_r(&now, &tm);
    if ((size_t)snprintf(buf, size, "<%04d%02d%02d%02d%02d%02d.%s@%s>", tm.tm_year + 1900,
                         tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, rnd,
                         domain) >= size)
        return HERALD_E_INVAL;
    return HERALD_OK;
}

static void write_address_list(struct mime_out *o, const char *name,
                               const struct mime_addr *list, size_t count);

/* herald_mime_address_field - "FIELD: PHRASE <ADDRESS>" CRLF into buf */
herald_status
herald_mime_address_field(const char *field, const char *name, const char *address,
                          char *buf, size_t size)
{
    struct mime_addr a = { NULL, NULL };
    struct mime_out *o;
    herald_status st;

    if (field == NULL || !field_name_ok(field) || buf == NULL)
        return HERALD_E_INVAL;
    st = addr_make(&a, name, address);
    if (st != HERALD_OK)
        return st;
    /* No descriptor: the field (at most a few KB) never fills the buffer,
     * so nothing is ever flushed and the buffer is the result. */
    o = malloc(sizeof *o);
    if (o == NULL) {
        addr_clear(&a);
        return HERALD_E_NOMEM;
    }
    mime_out_init(o, -1);
    write_address_list(o, field, &a, 1);
    if (o->err != 0 || o->len >= size) {
        st = o->err != 0 ? HERALD_E_INVAL : HERALD_E_LIMIT;
    } else {
        memcpy(buf, o->buf, o->len);
        buf[o->len] = '\0';
    }
    free(o);
    addr_clear(&a);
    return st;
}

/* read_error - the first read error of a write, naming the file */
static void
read_error(struct mime_writer *w, const struct mime_src *s)
{
    if (w->st == HERALD_OK)
        w->st = herald_diag_set(w->diag, HERALD_E_IO, s->label ? s->label : "mime",
                                "cannot read: %s", strerror(errno));
}

/* src_stream - every octet of s, in chunks, to encode(arg, out, p, n) */
static void
src_stream(struct mime_writer *w, const struct mime_src *s,
           void (*encode)(void *, struct mime_out *, const unsigned char *, size_t), void *st)
{
    off_t off = 0;

    if (s->kind == SRC_BUFFER) {
        if (s->len > 0)
            encode(st, &w->out, s->buf, s->len);
        return;
    }
    if (s->kind == SRC_NONE)
        return;
    while (w->out.err == 0 && w->st == HERALD_OK) {
        ssize_t r;

        /* A regular file is read with pread, so a second write starts over;
         * a stream is read on from where it is. */
        if (s->seekable)
            r = pread(s->fd, w->chunk, sizeof w->chunk, off);
        else
            r = read(s->fd, w->chunk, sizeof w->chunk);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0) {
            read_error(w, s);
            return;
        }
        if (r == 0)
            return;
        encode(st, &w->out, w->chunk, (size_t)r);
        off += r;
    }
}

/* qp_encode / b64_encode - src_stream's callbacks */
static void
qp_encode(void *st, struct mime_out *o, const unsigned char *p, size_t n)
{
    mime_qp_feed(st, o, p, n);
}

static void
b64_encode(void *st, struct mime_out *o, const unsigned char *p, size_t n)
{
    mime_b64_feed(st, o, p, n);
}

/* make_boundary - "=_herald_" and random hex: "=_" never occurs in
 * quoted-printable or base64, so no part can contain the delimiter */
static void
make_boundary(char *b, size_t size)
{
    char rnd[25];

    random_hex(rnd, sizeof rnd);
    snprintf(b, size, "=_herald_%s", rnd);
}

/* write_text_part - a text/SUBTYPE leaf: headers, blank line, quoted-printable */
static void
write_text_part(struct mime_writer *w, const struct mime_src *s, const char *subtype)
{
    struct mime_qp qp = { 0, 0, false };

    mime_out_str(&w->out, "Content-Type: text/");
    mime_out_str(&w->out, subtype);
    mime_out_str(&w->out, "; charset=UTF-8\r\n"
                          "Content-Transfer-Encoding: quoted-printable\r\n\r\n");
    src_stream(w, s, qp_encode, &qp);
    mime_qp_end(&qp, &w->out);
}

/* write_multipart_open - the Content-Type of a multipart, and its blank line */
static void
write_multipart_open(struct mime_writer *w, const char *subtype, const char *boundary)
{
    size_t col;

    char type[32];
    int n = snprintf(type, sizeof type, "multipart/%s", subtype);

    mime_hdr_name(&w->out, &col, "Content-Type");
    mime_hdr_token(&w->out, &col, type, (size_t)n);
    mime_hdr_param(&w->out, &col, "boundary", boundary);
    mime_hdr_end(&w->out, &col);
    mime_out_str(&w->out, "\r\n");
}

/* write_delimiter - CRLF "--" boundary ["--"] CRLF */
static void
write_delimiter(struct mime_writer *w, const char *boundary, bool last)
{
    mime_out_str(&w->out, "\r\n--");
    mime_out_str(&w->out, boundary);
    mime_out_str(&w->out, last ? "--\r\n" : "\r\n");
}

/* write_alternative - text and HTML, the plainer first (RFC 2046 5.1.4) */
static void
write_alternative(struct mime_writer *w, const struct herald_mime *m)
{
    char boundary[64];

    make_boundary(boundary, sizeof boundary);
    write_multipart_open(w, "alternative", boundary);
    mime_out_str(&w->out, "--");
    mime_out_str(&w->out, boundary);
    mime_out_str(&w->out, "\r\n");
    write_text_part(w, &m->text, "plain");
    write_delimiter(w, boundary, false);
    write_text_part(w, &m->html, "html");
    write_delimiter(w, boundary, true);
}

/* write_content - the readable part: alternative, HTML alone, or text (maybe empty) */
static void
write_content(struct mime_writer *w, const struct herald_mime *m)
{
    if (m->text.kind != SRC_NONE && m->html.kind != SRC_NONE)
        write_alternative(w, m);
    else if (m->html.kind != SRC_NONE)
        write_text_part(w, &m->html, "html");
    else
        write_text_part(w, &m->text, "plain");
}

/* write_attachment - headers naming the file, then base64 */
static void
write_attachment(struct mime_writer *w, const struct mime_attachment *a)
{
    struct mime_b64 b64 = { { 0 }, 0 };
    size_t col;

    mime_hdr_name(&w->out, &col, "Content-Type");
    mime_hdr_token(&w->out, &col, a->type, strlen(a->type));
    mime_hdr_param(&w->out, &col, "name", a->filename);
    mime_hdr_end(&w->out, &col);
    mime_hdr_name(&w->out, &col, "Content-Disposition");
    mime_hdr_token(&w->out, &col, "attachment", 10);
    mime_hdr_param(&w->out, &col, "filename", a->filename);
    mime_hdr_end(&w->out, &col);
    mime_out_str(&w->out, "Content-Transfer-Encoding: base64\r\n\r\n");
    src_stream(w, &a->src, b64_encode, &b64);
    mime_b64_end(&b64, &w->out);
}

/* write_address - [phrase] <address> */
static void
write_address(struct mime_out *o, size_t *col, const struct mime_addr *a)
{
    char angle[HERALD_ADDRESS_MAX + 3];
    int n;

    if (a->name != NULL)
        mime_hdr_phrase(o, col, a->name);
    n = snprintf(angle, sizeof angle, "<%s>", a->address);
    mime_hdr_token(o, col, angle, (size_t)n);
}

/* write_address_list - "Name: a, b, c" */
static void
write_address_list(struct mime_out *o, const char *name, const struct mime_addr *list,
                   size_t count)
{
    size_t i, col;

    if (count == 0)
        return;
    mime_hdr_name(o, &col, name);
    for (i = 0; i < count; i++) {
        if (i > 0) {
            mime_out_bytes(o, ",", 1);
            col++;
        }
        write_address(o, &col, &list[i]);
    }
    mime_hdr_end(o, &col);
}

/* write_headers - the message's own headers, MIME-Version last */
static void
write_headers(struct mime_writer *w, const struct herald_mime *m)
{
    char date[64], id[300];
    size_t i, col;

    if (m->date == NULL)
        herald_mime_date(time(NULL), date, sizeof date);
    if (m->message_id == NULL)
        herald_mime_message_id(m->from.address ? herald_address_domain(m->from.address) : NULL,
                               id, sizeof id);
    mime_hdr_name(&w->out, &col, "Date");
    mime_hdr_text(&w->out, &col, m->date ? m->date : date);
    mime_hdr_end(&w->out, &col);
    mime_hdr_name(&w->out, &col, "Message-ID");
    mime_hdr_text(&w->out, &col, m->message_id ? m->message_id : id);
    mime_hdr_end(&w->out, &col);
    if (m->from.address != NULL)
        write_address_list(&w->out, "From", &m->from, 1);
    write_address_list(&w->out, "To", m->to, m->to_count);
    write_address_list(&w->out, "Cc", m->cc, m->cc_count);
    if (m->subject != NULL) {
        mime_hdr_name(&w->out, &col, "Subject");
        mime_hdr_text(&w->out, &col, m->subject);
        mime_hdr_end(&w->out, &col);
    }
    for (i = 0; i < m->hdr_count; i++) {
        mime_hdr_name(&w->out, &col, m->hdr_name[i]);
        mime_hdr_text(&w->out, &col, m->hdr_value[i]);
        mime_hdr_end(&w->out, &col);
    }
    mime_out_str(&w->out, "MIME-Version: 1.0\r\n");
}

/* herald_mime_write - the whole message to fd */
herald_status
herald_mime_write(const struct herald_mime *mime, int fd, struct herald_diag *diag)
{
    struct mime_writer *w;
    herald_status st;
    size_t i;

    if (mime == NULL || fd < 0)
        return HERALD_E_INVAL;
    w = malloc(sizeof *w);
    if (w == NULL)
        return HERALD_E_NOMEM;
    mime_out_init(&w->out, fd);
    w->st = HERALD_OK;
    w->diag = diag;
    write_headers(w, mime);
    if (mime->att_count == 0) {
        write_content(w, mime);
    } else {
        char boundary[64];

        make_boundary(boundary, sizeof boundary);
        write_multipart_open(w, "mixed", boundary);
        mime_out_str(&w->out, "This is a MIME message.\r\n\r\n--");
        mime_out_str(&w->out, boundary);
        mime_out_str(&w->out, "\r\n");
        write_content(w, mime);
        for (i = 0; i < mime->att_count; i++) {
            write_delimiter(w, boundary, false);
            write_attachment(w, &mime->att[i]);
        }
        write_delimiter(w, boundary, true);
    }
    mime_out_flush(&w->out);
    st = w->st;
    if (st == HERALD_OK && w->out.err != 0)
        st = herald_diag_set(diag, HERALD_E_IO, "mime", "cannot write the message: %s",
                             strerror(w->out.err));
    free(w);
    return st;
}

/* herald_mime_to_message - into a temporary file that becomes msg's body */
herald_status
herald_mime_to_message(const struct herald_mime *mime, struct herald_message *msg,
                       struct herald_diag *diag)
{
    const char *dir = getenv("TMPDIR");
    char path[PATH_MAX];
    herald_status st;
    int fd;

    if (mime == NULL || msg == NULL)
        return HERALD_E_INVAL;
    if (dir == NULL || dir[0] != '/')
        dir = "/tmp";
    if ((size_t)snprintf(path, sizeof path, "%s/herald-mime-XXXXXX", dir) >= sizeof path)
        return herald_diag_set(diag, HERALD_E_IO, dir, "temporary folder name too long");
    fd = mkostemp(path, O_CLOEXEC);
    if (fd < 0)
        return herald_diag_set(diag, HERALD_E_IO, dir, "cannot create a temporary file: %s",
                               strerror(errno));
    st = herald_mime_write(mime, fd, diag);
    /* The message opens the file by name and keeps its own descriptor, so
     * the name can go at once: nothing is left behind on any path. */
    if (st == HERALD_OK) {
        st = herald_message_set_body_file(msg, path);
        if (st != HERALD_OK)
            herald_diag_set(diag, st, path, "cannot use the composed message: %s",
                            herald_strerror(st));
    }
    unlink(path);
    close(fd);
    return st;
}
