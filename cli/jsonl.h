/*
 * jsonl.h - a strict, bounded parser for one line of JSON lines input
 *
 * What "send --batch" reads: each line one object whose values are strings
 * or arrays of strings, nothing else ({"from":"a@x","to":["b@y"],"file":"m"}).
 * Anything else is refused with the column and the reason: numbers, true,
 * false, null, nested objects, duplicate keys, raw control characters,
 * invalid UTF-8, \u0000, lone surrogates, text after the object, more than
 * JSONL_FIELDS_MAX keys or JSONL_ITEMS_MAX items, a line over JSONL_LINE_MAX.
 * Memory is bounded by the line: a hostile line can fail, never exhaust.
 */
#ifndef HERALD_CLI_JSONL_H
#define HERALD_CLI_JSONL_H

#include <stdbool.h>
#include <stddef.h>

#define JSONL_LINE_MAX 65536
#define JSONL_FIELDS_MAX 16
#define JSONL_ITEMS_MAX 1000
#define JSONL_KEY_MAX 32

struct jsonl_field {
    char key[JSONL_KEY_MAX];
    bool is_array;
    char *str;               /* a string value (decoded, UTF-8, no NUL inside) */
    char **items;            /* an array's strings */
    size_t count;
};

struct jsonl_object {
    struct jsonl_field fields[JSONL_FIELDS_MAX];
    size_t count;
};

/*
 * jsonl_parse - one line (without its newline; a trailing CR is allowed)
 * into obj.  0, or -1 with "column N: why" in err (obj is then empty).
 * Free a parsed object with jsonl_free().
 */
int jsonl_parse(const char *line, size_t len, struct jsonl_object *obj, char *err,
                size_t errsize);
void jsonl_free(struct jsonl_object *obj);
/* jsonl_get - the field named key, or NULL */
const struct jsonl_field *jsonl_get(const struct jsonl_object *obj, const char *key);

/*
 * A line reader over a descriptor, resumable: a read interrupted by a signal
 * returns and the next call carries on with the same line.  Lines over
 * JSONL_LINE_MAX are skipped to their end and reported; memory is the
 * reader itself.
 */
#define JSONL_READ_BUF 65536
struct jsonl_reader {
    int fd;
    bool eof, too_long, nul;
    size_t start, end;           /* unread octets of buf */
    size_t len;                  /* octets of line so far */
    char buf[JSONL_READ_BUF];
    char line[JSONL_LINE_MAX + 1];
};
void jsonl_reader_init(struct jsonl_reader *r, int fd);
/* jsonl_reader_ready - a whole line (or the end) is buffered: the next call
 * will not wait for input */
bool jsonl_reader_ready(const struct jsonl_reader *r);
/*
 * jsonl_reader_next - the next line in r->line (NUL-terminated, without its
 * newline), its length in *len_out.  1 a line; 0 the end of input; -1 a line
 * longer than JSONL_LINE_MAX (skipped); -2 a NUL octet in the line; -3 a read
 * error (errno; EINTR: call again to go on).
 */
int jsonl_reader_next(struct jsonl_reader *r, size_t *len_out);

#endif
