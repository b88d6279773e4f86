/*
 * fuzz.h - what the fuzz harnesses share: the libFuzzer entry point, an
 * invariant check that aborts (so both libFuzzer and the replay driver see a
 * violation as a crash), exact-size heap copies (so AddressSanitizer sees
 * the first octet read or written past the end) and a small PRNG that turns
 * input octets into chunk sizes.
 *
 * Every harness is built two ways: with tests/fuzz/replay.c into a "make
 * check" test that replays the seed corpus, and with clang
 * -fsanitize=fuzzer by "make fuzz" (tests/fuzz/README.md).
 */
#ifndef HERALD_FUZZ_H
#define HERALD_FUZZ_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The harness: one input, any octets, any size.  Returns 0. */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* fuzz_fail - report a violated invariant and abort */
__attribute__((noreturn)) static inline void
fuzz_fail(const char *file, int line, const char *what)
{
    fprintf(stderr, "%s:%d: invariant violated: %s\n", file, line, what);
    fflush(stderr);
    abort();
}

/* FUZZ_CHECK - abort unless cond holds (never compiled out, unlike assert) */
#define FUZZ_CHECK(cond) \
    do { \
        if (!(cond)) \
            fuzz_fail(__FILE__, __LINE__, #cond); \
    } while (0)

/* fuzz_alloc - n octets (at least 1) or abort */
static inline void *
fuzz_alloc(size_t n)
{
    void *p = malloc(n > 0 ? n : 1);

    if (p == NULL)
        abort();
    return p;
}

/* fuzz_strndup - data[0..size) and a NUL in a heap block of exactly size+1
 * octets; an inner NUL ends the string early, as it would for any caller */
static inline char *
fuzz_strndup(const uint8_t *data, size_t size)
{
    char *s = fuzz_alloc(size + 1);

    if (size > 0)
        memcpy(s, data, size);
    s[size] = '\0';
    return s;
}

/* fuzz_printable - s holds no control character (one printable line) */
static inline int
fuzz_printable(const char *s)
{
    for (; *s != '\0'; s++)
        if ((unsigned char)*s < 0x20 || *s == 0x7f)
            return 0;
    return 1;
}

/* A splitmix64 generator: deterministic chunking from a seed in the input. */
struct fuzz_rng {
    uint64_t state;
};

static inline uint64_t
fuzz_rand(struct fuzz_rng *r)
{
    uint64_t z = (r->state += 0x9e3779b97f4a7c15ull);

    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

/* fuzz_below - uniform-enough value in [0, n), n > 0 */
static inline size_t
fuzz_below(struct fuzz_rng *r, size_t n)
{
    return (size_t)(fuzz_rand(r) % n);
}

#endif
