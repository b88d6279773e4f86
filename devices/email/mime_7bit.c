/*
 * mime_7bit.c - streaming 8bit -> 7bit MIME downgrade (see mime_7bit.h)
 *
 * The input is cut into lines (a line longer than MIME7_LINE_MAX into
 * pieces); each line, in the current mode, adds its output to a short list
 * of segments (pieces of hdr[] and pend[]), and no more input is taken until
 * the caller's buffers have taken all of them.  That keeps memory fixed
 * whatever the caller's buffer size.
 */
#include <string.h>
#include <strings.h>

#include "mime_7bit.h"
#include "smtp_body.h"

/* RFC 2045 6.7 (5): at most 76 octets per encoded line, a soft break's '='
 * included; we keep one column free so that a soft break always fits. */
#define QP_TEXT_MAX 75
#define CTE_NAME "Content-Transfer-Encoding: "

enum cte { CTE_NONE = 0, CTE_7BIT, CTE_8BIT, CTE_BINARY, CTE_OTHER };
enum ctype { CT_OTHER = 0, CT_MULTIPART, CT_MESSAGE };

/* What one header block says, as far as the conversion cares. */
struct entity {
    bool mime_version;
    bool has_type;
    enum ctype type;
    bool digest;
    char boundary[MIME7_BOUNDARY_MAX];
    size_t boundary_len;          /* 0: none, or not usable */
    enum cte cte;
    unsigned cte_fields;
    size_t cte_start, cte_end;    /* the CTE field in hdr[], its folded lines included */
};

static bool
is_wsp(char ch)
{
    return ch == ' ' || ch == '\t';
}

/* same_word - p[0..n) is word, case ignored */
static bool
same_word(const char *p, size_t n, const char *word)
{
    return strlen(word) == n && strncasecmp(p, word, n) == 0;
}

/* is_token_char - RFC 2045 5.1 token: no space, control, 8-bit octet or tspecial */
static bool
is_token_char(char ch)
{
    return ch > 0x20 && ch < 0x7f && strchr("()<>@,;:\\\"/[]?=", ch) == NULL;
}

/* --- output ---------------------------------------------------------------- */

/* queue - p[0..n) goes out after what is queued; p lives until it is drained */
static herald_status
queue(struct mime7_conv *c, const char *p, size_t n)
{
    struct mime7_seg *last = c->nseg > 0 ? &c->seg[c->nseg - 1] : NULL;

    if (n == 0)
        return HERALD_OK;
    if (last != NULL && last->p + last->len == p) {
        last->len += n;
        return HERALD_OK;
    }
    if (c->nseg == sizeof c->seg / sizeof c->seg[0])
        return HERALD_E_LIMIT;   /* a bug: one line never needs more */
    c->seg[c->nseg].p = p;
    c->seg[c->nseg].len = n;
    c->nseg++;
    return HERALD_OK;
}

/* put - copy p[0..n) into pend[] and queue it */
static herald_status
put(struct mime7_conv *c, const char *p, size_t n)
{
    if (sizeof c->pend - c->pend_len < n)
        return HERALD_E_LIMIT;   /* a bug: pend[] holds the worst line */
    memcpy(c->pend + c->pend_len, p, n);
    c->pend_len += n;
    return queue(c, c->pend + c->pend_len - n, n);
}

/* copy_out - put p[0..n) unchanged; an 8-bit octet in it records problem */
static herald_status
copy_out(struct mime7_conv *c, const char *p, size_t n, unsigned problem)
{
    if (smtp_body_has_8bit(p, n))
        c->problems |= problem;
    return put(c, p, n);
}

/* drain - write queued output into out[0..cap); returns the octets written */
static size_t
drain(struct mime7_conv *c, char *out, size_t cap)
{
    size_t o = 0;

    while (c->seg_next < c->nseg && o < cap) {
        const struct mime7_seg *s = &c->seg[c->seg_next];
        size_t n = s->len - c->seg_off;

        if (n > cap - o)
            n = cap - o;
        memcpy(out + o, s->p + c->seg_off, n);
        o += n;
        c->seg_off += n;
        if (c->seg_off == s->len) {
            c->seg_next++;
            c->seg_off = 0;
        }
    }
    if (c->seg_next == c->nseg)
        c->nseg = c->seg_next = c->pend_len = 0;
    return o;
}

/* --- header parsing -------------------------------------------------------- */

/* skip_cfws - past white space, folding line ends and (nested) comments */
static size_t
skip_cfws(const char *h, size_t i, size_t end)
{
    unsigned long nest = 0;

    while (i < end) {
        char ch = h[i];

        if (nest > 0) {
            if (ch == '\\')
                i++;
            else if (ch == '(')
                nest++;
            else if (ch == ')')
                nest--;
        } else if (ch == '(') {
            nest = 1;
        } else if (!is_wsp(ch) && ch != '\r' && ch != '\n') {
            break;
        }
        i++;
    }
    return i < end ? i : end;
}

static size_t
token_end(const char *h, size_t i, size_t end)
{
    while (i < end && is_token_char(h[i]))
        i++;
    return i;
}

/*
 * read_value - a parameter value (token or quoted-string) at h[i]; its
 * octets, unquoted and unfolded, go to buf while they fit (*fits false when
 * not).  Returns the index past the value.
 */
static size_t
read_value(const char *h, size_t i, size_t end, char *buf, size_t cap, size_t *len_out,
           bool *fits_out)
{
    size_t n = 0, j;
    bool quoted = i < end && h[i] == '"';

    *fits_out = true;
    j = quoted ? i + 1 : i;
    while (j < end) {
        char ch = h[j];

        if (quoted && ch == '"') {
            j++;
            break;
        }
        if (!quoted && !is_token_char(ch))
            break;
        j++;
        if (quoted && (ch == '\r' || ch == '\n'))
            continue;                 /* unfolding removes the line end only */
        if (quoted && ch == '\\' && j < end)
            ch = h[j++];
        if (n < cap)
            buf[n++] = ch;
        else
            *fits_out = false;
    }
    *len_out = n;
    return j;
}

/* parse_params - the boundary parameter of a Content-Type, from h[i] on */
static void
parse_params(const char *h, size_t i, size_t end, struct entity *e)
{
    i = skip_cfws(h, i, end);
    while (i < end && h[i] == ';') {
        size_t a = skip_cfws(h, i + 1, end), b = token_end(h, a, end), len;
        char value[MIME7_BOUNDARY_MAX];
        bool fits;

        i = skip_cfws(h, b, end);
        if (i >= end || h[i] != '=')
            return;
        i = read_value(h, skip_cfws(h, i + 1, end), end, value, sizeof value, &len, &fits);
        if (same_word(h + a, b - a, "boundary") && e->boundary_len == 0 && fits) {
            memcpy(e->boundary, value, len);
            e->boundary_len = len;
        }
        i = skip_cfws(h, i, end);
    }
}

/* parse_type - Content-Type: type "/" subtype *(";" parameter) */
static void
parse_type(const char *h, size_t i, size_t end, struct entity *e)
{
    size_t a = skip_cfws(h, i, end), b = token_end(h, a, end), c, d;

    i = skip_cfws(h, b, end);
    if (a == b || i >= end || h[i] != '/')
        return;                       /* not a type: the default applies */
    c = skip_cfws(h, i + 1, end);
    d = token_end(h, c, end);
    e->has_type = true;
    if (same_word(h + a, b - a, "multipart")) {
        e->type = CT_MULTIPART;
        e->digest = same_word(h + c, d - c, "digest");
        parse_params(h, d, end, e);
    } else if (same_word(h + a, b - a, "message")
               && (same_word(h + c, d - c, "rfc822") || same_word(h + c, d - c, "global"))) {
        e->type = CT_MESSAGE;
    }
}

/* parse_cte - Content-Transfer-Encoding: one token, comments allowed around it */
static enum cte
parse_cte(const char *h, size_t i, size_t end)
{
    size_t a = skip_cfws(h, i, end), b = token_end(h, a, end);

    if (same_word(h + a, b - a, "8bit"))
        return CTE_8BIT;
    if (same_word(h + a, b - a, "7bit"))
        return CTE_7BIT;
    if (same_word(h + a, b - a, "binary"))
        return CTE_BINARY;
    return a == b ? CTE_NONE : CTE_OTHER;
}

/* parse_field - one field h[start..end) (its folded lines included) */
static void
parse_field(const char *h, size_t start, size_t end, struct entity *e)
{
    const char *colon = memchr(h + start, ':', end - start);
    size_t name_end, value;

    if (colon == NULL)
        return;
    value = (size_t)(colon - h) + 1;
    name_end = value - 1;
    while (name_end > start && is_wsp(h[name_end - 1]))
        name_end--;
    if (same_word(h + start, name_end - start, "mime-version")) {
        e->mime_version = true;
    } else if (same_word(h + start, name_end - start, "content-type")) {
        if (!e->has_type)
            parse_type(h, value, end, e);
    } else if (same_word(h + start, name_end - start, "content-transfer-encoding")) {
        /* Two CTE fields: which one a reader believes is anyone's guess, so
         * neither is rewritten. */
        e->cte = ++e->cte_fields == 1 ? parse_cte(h, value, end) : CTE_OTHER;
        e->cte_start = start;
        e->cte_end = end;
    }
}

/* parse_header - the fields that matter, from a block of CRLF-ended lines */
static void
parse_header(const char *h, size_t n, struct entity *e)
{
    size_t i = 0;

    memset(e, 0, sizeof *e);
    while (i < n) {
        size_t end = i;

        /* A field runs until a line that does not start with SP or TAB. */
        for (;;) {
            const char *lf = memchr(h + end, '\n', n - end);

            end = lf == NULL ? n : (size_t)(lf - h) + 1;
            if (end >= n || !is_wsp(h[end]))
                break;
        }
        parse_field(h, i, end, e);
        i = end;
    }
}

/* --- modes ----------------------------------------------------------------- */

static void
begin_header(struct mime7_conv *c, bool top, bool default_rfc822)
{
    c->mode = MIME7_M_HEADER;
    c->top = top;
    c->default_rfc822 = default_rfc822;
    c->hdr_len = 0;
    c->hdr_8bit = false;
}

static void
begin_copy(struct mime7_conv *c, enum mime7_mode mode, unsigned problem)
{
    c->mode = mode;
    c->copy_problem = problem;
    c->qp_col = 0;
    c->qp_ws = 0;
}

/* enter_pass - the rest of the message goes out as it is, for reason problem */
static void
enter_pass(struct mime7_conv *c, unsigned problem)
{
    c->problems |= problem;
    begin_copy(c, MIME7_M_PASS, problem);
}

/* queue_header - the header block, with its CTE field's value replaced
 * by new_cte when that is not NULL */
static herald_status
queue_header(struct mime7_conv *c, const struct entity *e, const char *new_cte)
{
    herald_status st;

    if (c->hdr_8bit)
        c->problems |= MIME7_P_HEADER_8BIT;
    if (new_cte == NULL)
        return queue(c, c->hdr, c->hdr_len);
    st = queue(c, c->hdr, e->cte_start);
    if (st == HERALD_OK)
        st = put(c, CTE_NAME, strlen(CTE_NAME));
    if (st == HERALD_OK)
        st = put(c, new_cte, strlen(new_cte));
    if (st == HERALD_OK)
        st = put(c, "\r\n", 2);
    if (st == HERALD_OK)
        st = queue(c, c->hdr + e->cte_end, c->hdr_len - e->cte_end);
    return st;
}

/* begin_multipart - walk the parts of a multipart with a usable boundary */
static herald_status
begin_multipart(struct mime7_conv *c, const struct entity *e)
{
    herald_status st;

    if (c->depth == MIME7_DEPTH_MAX) {
        enter_pass(c, MIME7_P_LIMIT);
        return queue_header(c, NULL, NULL);
    }
    if (e->cte == CTE_BINARY)
        c->problems |= MIME7_P_BINARY;
    /* Once its 8bit parts are quoted-printable, the multipart is 7bit. */
    st = queue_header(c, e, e->cte == CTE_8BIT ? "7bit" : NULL);
    memcpy(c->level[c->depth].boundary, e->boundary, e->boundary_len);
    c->level[c->depth].len = e->boundary_len;
    c->level[c->depth].digest = e->digest;
    c->depth++;
    begin_copy(c, MIME7_M_COPY, MIME7_P_UNDECLARED);   /* the preamble */
    return st;
}

/* end_header - the header block is complete: decide what its body gets */
static herald_status
end_header(struct mime7_conv *c)
{
    struct entity e;
    enum ctype type;
    herald_status st;

    parse_header(c->hdr, c->hdr_len, &e);
    if (c->top && !e.mime_version) {
        enter_pass(c, MIME7_P_NOT_MIME);
        return queue_header(c, NULL, NULL);
    }
    type = e.has_type ? e.type : c->default_rfc822 ? CT_MESSAGE : CT_OTHER;
    if (type == CT_MULTIPART && e.boundary_len > 0)
        return begin_multipart(c, &e);
    if (type == CT_MESSAGE && e.cte == CTE_8BIT) {
        st = queue_header(c, &e, "7bit");
        begin_header(c, false, false);   /* the embedded message's own header */
        return st;
    }
    if (type == CT_MULTIPART) {
        /* No quoted-printable for a multipart (RFC 2045 6.4), and no parts
         * to find without a boundary. */
        begin_copy(c, MIME7_M_COPY, MIME7_P_MALFORMED);
        return queue_header(c, NULL, NULL);
    }
    if (e.cte == CTE_8BIT) {
        c->converted++;
        begin_copy(c, MIME7_M_QP, 0);
        return queue_header(c, &e, "quoted-printable");
    }
    if (e.cte == CTE_BINARY)
        c->problems |= MIME7_P_BINARY;
    begin_copy(c, MIME7_M_COPY, e.cte == CTE_BINARY ? MIME7_P_BINARY : MIME7_P_UNDECLARED);
    return queue_header(c, NULL, NULL);
}

/* header_line - one line (or piece) of a header block */
static herald_status
header_line(struct mime7_conv *c, bool complete, bool whole)
{
    size_t need = c->line_len + (complete ? 2 : 0);
    herald_status st;

    if (whole && c->line_len == 0) {
        memcpy(c->hdr + c->hdr_len, "\r\n", 2);   /* room kept below */
        c->hdr_len += 2;
        return end_header(c);
    }
    if (smtp_body_has_8bit(c->line, c->line_len))
        c->hdr_8bit = true;
    if (MIME7_HEADER_MAX - 2 - c->hdr_len < need) {
        enter_pass(c, MIME7_P_LIMIT);
        st = queue_header(c, NULL, NULL);
        if (st == HERALD_OK)
            st = copy_out(c, c->line, c->line_len, MIME7_P_HEADER_8BIT);
        if (st == HERALD_OK && complete)
            st = put(c, "\r\n", 2);
        return st;
    }
    memcpy(c->hdr + c->hdr_len, c->line, c->line_len);
    c->hdr_len += c->line_len;
    if (complete) {
        memcpy(c->hdr + c->hdr_len, "\r\n", 2);
        c->hdr_len += 2;
    }
    return HERALD_OK;
}

/* find_delimiter - line[] is "--boundary" or "--boundary--" of an enclosing
 * multipart, innermost first, trailing white space allowed (RFC 2046 5.1.1) */
static bool
find_delimiter(const struct mime7_conv *c, size_t *level_out, bool *close_out)
{
    const char *p = c->line;
    size_t n = c->line_len, k;

    if (c->depth == 0 || n < 3 || p[0] != '-' || p[1] != '-')
        return false;
    for (k = c->depth; k-- > 0;) {
        size_t b = c->level[k].len, i = 2 + b;
        bool close = false;

        if (n < i || memcmp(p + 2, c->level[k].boundary, b) != 0)
            continue;
        if (n - i >= 2 && p[i] == '-' && p[i + 1] == '-') {
            close = true;
            i += 2;
        }
        while (i < n && is_wsp(p[i]))
            i++;
        if (i == n) {
            *level_out = k;
            *close_out = close;
            return true;
        }
    }
    return false;
}

/* on_delimiter - a part of multipart k begins, or (close) multipart k ends */
static herald_status
on_delimiter(struct mime7_conv *c, size_t k, bool close)
{
    herald_status st = HERALD_OK;

    if (c->mode == MIME7_M_HEADER)
        st = queue_header(c, NULL, NULL);   /* cut short: it ends here, unparsed */
    if (st == HERALD_OK)
        st = copy_out(c, c->line, c->line_len, MIME7_P_HEADER_8BIT);
    if (st == HERALD_OK)
        st = put(c, "\r\n", 2);
    if (close) {
        c->depth = k;
        begin_copy(c, MIME7_M_COPY, MIME7_P_UNDECLARED);   /* the epilogue */
    } else {
        c->depth = k + 1;
        begin_header(c, false, c->level[k].digest);
    }
    return st;
}

/* qp_unit - one encoded unit, after a soft line break when the line is full */
static herald_status
qp_unit(struct mime7_conv *c, const char *u, size_t n)
{
    herald_status st = HERALD_OK;

    if (c->qp_col + n > QP_TEXT_MAX) {
        st = put(c, "=\r\n", 3);
        c->qp_col = 0;
        /* A line we start must not begin like a delimiter of the enclosing
         * multipart ("--boundary"): the input never had that line. */
        if (n == 1 && u[0] == '-') {
            u = "=2D";
            n = 3;
        }
    }
    if (st == HERALD_OK)
        st = put(c, u, n);
    c->qp_col += n;
    return st;
}

static herald_status
qp_hex(struct mime7_conv *c, unsigned char ch)
{
    static const char hex[] = "0123456789ABCDEF";
    const char u[3] = { '=', hex[ch >> 4], hex[ch & 15] };

    return qp_unit(c, u, sizeof u);
}

/* qp_line - line[] as quoted-printable; a line end stays a hard line end */
static herald_status
qp_line(struct mime7_conv *c, bool complete)
{
    herald_status st = HERALD_OK;
    size_t i;

    for (i = 0; i < c->line_len && st == HERALD_OK; i++) {
        unsigned char ch = (unsigned char)c->line[i];

        /* A SP or TAB waits: written as it is unless the line ends next. */
        if (c->qp_ws != 0) {
            st = qp_unit(c, &c->qp_ws, 1);
            c->qp_ws = 0;
            if (st != HERALD_OK)
                break;
        }
        if (ch == ' ' || ch == '\t')
            c->qp_ws = c->line[i];
        else if (ch == '=' || ch < 0x20 || ch >= 0x7f)
            st = qp_hex(c, ch);
        else
            st = qp_unit(c, &c->line[i], 1);
    }
    if (st == HERALD_OK && complete) {
        if (c->qp_ws != 0)
            st = qp_hex(c, (unsigned char)c->qp_ws);
        if (st == HERALD_OK)
            st = put(c, "\r\n", 2);
        c->qp_ws = 0;
        c->qp_col = 0;
    }
    return st;
}

/* copy_line - line[] as it is, CRLF for its line end */
static herald_status
copy_line(struct mime7_conv *c, bool complete)
{
    herald_status st = copy_out(c, c->line, c->line_len, c->copy_problem);

    if (st == HERALD_OK && complete)
        st = put(c, "\r\n", 2);
    return st;
}

/* handle_line - line[] in the current mode; complete: a line end followed it */
static herald_status
handle_line(struct mime7_conv *c, bool complete)
{
    bool whole = complete && !c->mid_line;   /* only a whole line is a delimiter */
    size_t k;
    bool close;
    herald_status st;

    if (whole && c->mode != MIME7_M_PASS && find_delimiter(c, &k, &close))
        st = on_delimiter(c, k, close);
    else if (c->mode == MIME7_M_HEADER)
        st = header_line(c, complete, whole);
    else if (c->mode == MIME7_M_QP)
        st = qp_line(c, complete);
    else
        st = copy_line(c, complete);
    c->line_len = 0;
    c->mid_line = !complete;
    return st;
}

/* take_line - input up to a line end or a full line[], then handle it */
static herald_status
take_line(struct mime7_conv *c, const char *in, size_t n, size_t *i)
{
    while (*i < n) {
        const char *p = in + *i;
        size_t room = sizeof c->line - c->line_len, k = 0;

        if (c->cr_pending) {
            c->cr_pending = false;
            if (*p == '\n') {             /* CRLF: one line end */
                (*i)++;
                continue;
            }
        }
        while (k < n - *i && k < room && p[k] != '\r' && p[k] != '\n')
            k++;
        memcpy(c->line + c->line_len, p, k);
        c->line_len += k;
        *i += k;
        if (c->line_len == sizeof c->line)
            return handle_line(c, false);
        if (*i < n) {
            c->cr_pending = in[*i] == '\r';
            (*i)++;
            return handle_line(c, true);
        }
    }
    return HERALD_OK;
}

/* end_of_input - the last line without its line end, a header cut short */
static herald_status
end_of_input(struct mime7_conv *c)
{
    herald_status st = HERALD_OK;

    if (c->line_len > 0 || c->mid_line)
        st = handle_line(c, true);
    if (st == HERALD_OK && c->mode == MIME7_M_HEADER) {
        if (c->top) {
            struct entity e;

            parse_header(c->hdr, c->hdr_len, &e);
            if (!e.mime_version)
                c->problems |= MIME7_P_NOT_MIME;
        }
        st = queue_header(c, NULL, NULL);
    }
    return st;
}

/* --- interface ------------------------------------------------------------- */

void
mime7_init(struct mime7_conv *c)
{
    memset(c, 0, sizeof *c);
    begin_header(c, true, false);
}

herald_status
mime7_convert(struct mime7_conv *c, const char *in, size_t in_len, char *out, size_t out_cap,
              size_t *in_used_out, size_t *out_len_out)
{
    size_t i = 0, o = 0;
    herald_status st = HERALD_OK;

    if (c == NULL || (in == NULL && in_len > 0) || out == NULL || in_used_out == NULL
        || out_len_out == NULL || c->finishing)
        return HERALD_E_INVAL;
    if (out_cap < MIME7_OUT_MIN)
        return HERALD_E_LIMIT;
    for (;;) {
        o += drain(c, out + o, out_cap - o);
        if (c->nseg > 0 || i == in_len || st != HERALD_OK)
            break;
        st = take_line(c, in, in_len, &i);
    }
    *in_used_out = i;
    *out_len_out = o;
    return st;
}

herald_status
mime7_finish(struct mime7_conv *c, char *out, size_t out_cap, size_t *out_len_out,
             bool *done_out)
{
    size_t o;
    herald_status st = HERALD_OK;

    if (c == NULL || out == NULL || out_len_out == NULL || done_out == NULL)
        return HERALD_E_INVAL;
    if (out_cap < MIME7_OUT_MIN)
        return HERALD_E_LIMIT;
    c->finishing = true;
    o = drain(c, out, out_cap);
    /* What the last mime7_convert() queued goes first, so the segments of
     * one step never pile up. */
    if (c->nseg == 0 && !c->flushed) {
        c->flushed = true;
        st = end_of_input(c);
        o += drain(c, out + o, out_cap - o);
    }
    c->done = c->flushed && c->nseg == 0;
    *out_len_out = o;
    *done_out = c->done;
    return st;
}

const char *
mime7_problem_text(unsigned bit)
{
    switch (bit) {
    case MIME7_P_NOT_MIME: return "not MIME";
    case MIME7_P_HEADER_8BIT: return "8-bit octets in a header";
    case MIME7_P_UNDECLARED: return "8-bit octets in a part not declared 8bit";
    case MIME7_P_BINARY: return "a binary part";
    case MIME7_P_LIMIT: return "past the converter's bounds (header size or nesting)";
    case MIME7_P_MALFORMED: return "a multipart without a usable boundary";
    default: return "";
    }
}
