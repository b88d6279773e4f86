/*
 * random.c - unpredictable identifiers, one helper for every id the core makes
 */
#include <stdint.h>
#include <stdio.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#include "random.h"

/* random_hex - size-1 hex digits from getrandom(); a clock mix only if it fails */
void
random_hex(char *out, size_t size)
{
    static const char hex[] = "0123456789abcdef";
    unsigned char b[32];
    size_t i, need;

    if (out == NULL || size == 0)
        return;
    need = (size - 1 + 1) / 2;
    if (need > sizeof b)
        need = sizeof b;
    if (getrandom(b, need, GRND_NONBLOCK) != (ssize_t)need) {
        struct timespec ts;
        static uint64_t counter;
        uint64_t x;

        clock_gettime(CLOCK_REALTIME, &ts);
        x = (uint64_t)ts.tv_nsec ^ ((uint64_t)ts.tv_sec << 20) ^ ((uint64_t)getpid() << 40)
            ^ (++counter * 0x9e3779b97f4a7c15u);
        for (i = 0; i < need; i++) {
            x = x * 6364136223846793005u + 1442695040888963407u;
            b[i] = (unsigned char)(x >> 56);
        }
    }
    for (i = 0; i + 1 < size && i / 2 < need; i++)
        out[i] = hex[(i % 2 == 0 ? b[i / 2] >> 4 : b[i / 2]) & 0xf];
    out[i] = '\0';
}
