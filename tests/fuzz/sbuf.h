/*
 * sbuf.h - a growing byte string for the harnesses' canonical records
 */
#ifndef HERALD_FUZZ_SBUF_H
#define HERALD_FUZZ_SBUF_H

#include <stdarg.h>

#include "fuzz.h"

struct sbuf {
    char *p;
    size_t len, cap;
};

/* sb_add - append n octets */
static inline void
sb_add(struct sbuf *b, const void *d, size_t n)
{
    if (b->len + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 256;

        while (cap < b->len + n + 1)
            cap *= 2;
        b->p = realloc(b->p, cap);
        if (b->p == NULL)
            abort();
        b->cap = cap;
    }
    if (n > 0)
        memcpy(b->p + b->len, d, n);
    b->len += n;
    b->p[b->len] = '\0';
}

/* sb_printf - append formatted text */
__attribute__((format(printf, 2, 3))) static inline void
sb_printf(struct sbuf *b, const char *fmt, ...)
{
    char tmp[512];
    va_list ap;
    int n;

    va_start(ap, fmt);
    n = vsnprintf(tmp, sizeof tmp, fmt, ap);
    va_end(ap);
    if (n < 0 || (size_t)n >= sizeof tmp)
        abort();
    sb_add(b, tmp, (size_t)n);
}

/* sb_equal - same octets */
static inline int
sb_equal(const struct sbuf *a, const struct sbuf *b)
{
    return a->len == b->len && (a->len == 0 || memcmp(a->p, b->p, a->len) == 0);
}

static inline void
sb_free(struct sbuf *b)
{
    free(b->p);
    b->p = NULL;
    b->len = b->cap = 0;
}

#endif
