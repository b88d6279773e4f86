/*
 * fuzz_ehlo.c - EHLO capability parsing (devices/email/smtp_ehlo.h) on
 * hostile replies
 *
 * Input: octet 0 picks the mode.  Even: the rest is raw server bytes, and
 * the first complete reply the parser yields is used.  Odd: the rest is a
 * list of lines (split at LF) sent as one reply "CODE-line" ... "CODE line",
 * the code picked by octet 0 (250, 220, 251 or 550), so the fuzzer spends
 * its time on keywords rather than on reply syntax.  Invariants:
 *  - a reply that is not 2xx is refused with HERALD_E_INVAL and the output
 *    is left untouched;
 *  - flags hold only SMTP_EXT_* bits, exactly those whose keyword starts
 *    some line after the first (any case, up to a space, tab or '=');
 *  - SIZE's limit is the last SIZE line's decimal parameter (0 when there is
 *    none or it is not a number; 0 or at least 10^18 when it is that big);
 *  - the AUTH list is NUL-terminated inside its array, upper case, words
 *    separated by one space, no tab, no space at either end; empty without
 *    AUTH; its words are, in order, among the AUTH lines' words, and all of
 *    them when they fit; smtp_ehlo_has_auth finds each word in any case and
 *    never finds "" or a word that is not there.
 */
#include <stdbool.h>
#include <strings.h>

#include "fuzz.h"
#include "sbuf.h"
#include "smtp_ehlo.h"

static const struct {
    const char *kw;
    unsigned flag;
} keywords[] = {
    { "SIZE", SMTP_EXT_SIZE }, { "PIPELINING", SMTP_EXT_PIPELINING },
    { "8BITMIME", SMTP_EXT_8BITMIME }, { "SMTPUTF8", SMTP_EXT_SMTPUTF8 },
    { "DSN", SMTP_EXT_DSN }, { "ENHANCEDSTATUSCODES", SMTP_EXT_ENHANCEDSTATUSCODES },
    { "STARTTLS", SMTP_EXT_STARTTLS }, { "AUTH", SMTP_EXT_AUTH },
};
#define ALL_EXT 0xffu

static bool
is_sep(char c)
{
    return c == ' ' || c == '\t';
}

/* ref_size - SIZE's parameter: [sp] digits [sp], else 0; *huge when the
 * number is 10^18 or more (then only "0 or at least 10^18" is checked) */
static uint64_t
ref_size(const char *p, bool *huge)
{
    uint64_t v = 0;

    *huge = false;
    while (is_sep(*p))
        p++;
    for (; *p >= '0' && *p <= '9'; p++) {
        if (v >= 100000000000000000ull)
            *huge = true;
        else
            v = v * 10 + (uint64_t)(*p - '0');
    }
    while (is_sep(*p))
        p++;
    if (*p != '\0') {
        *huge = false;
        return 0;
    }
    return v;
}

/* upper - ASCII upper case copy of n octets */
static void
upper(const char *s, size_t n, struct sbuf *out)
{
    size_t i;

    for (i = 0; i < n; i++) {
        char c = (s[i] >= 'a' && s[i] <= 'z') ? (char)(s[i] - 'a' + 'A') : s[i];

        sb_add(out, &c, 1);
    }
}

/* check - smtp_ehlo_parse against the reference, for one complete reply */
static void
check(const struct smtp_reply *r)
{
    struct smtp_ehlo e, untouched;
    struct sbuf words = { 0 };   /* every AUTH word, upper case, one space apart */
    unsigned want = 0;
    uint64_t size = 0;
    bool size_huge = false;
    size_t i, n;
    const char *a, *w;

    memset(&e, 0xa5, sizeof e);
    untouched = e;
    if (smtp_reply_class(r) != 2) {
        FUZZ_CHECK(smtp_ehlo_parse(r, &e) == HERALD_E_INVAL);
        FUZZ_CHECK(memcmp(&e, &untouched, sizeof e) == 0);
        return;
    }
    FUZZ_CHECK(smtp_ehlo_parse(r, &e) == HERALD_OK);
    FUZZ_CHECK(smtp_ehlo_parse(r, NULL) == HERALD_E_INVAL);
    FUZZ_CHECK(smtp_ehlo_parse(NULL, &untouched) == HERALD_E_INVAL);

    for (i = 1; i < r->nlines; i++) {
        const char *l = smtp_reply_line(r, i), *params;
        size_t kw = strcspn(l, " \t="), k;

        params = l[kw] != '\0' ? l + kw + 1 : l + kw;
        for (k = 0; k < sizeof keywords / sizeof keywords[0]; k++) {
            if (strlen(keywords[k].kw) != kw || strncasecmp(l, keywords[k].kw, kw) != 0)
                continue;
            want |= keywords[k].flag;
            if (keywords[k].flag == SMTP_EXT_SIZE)
                size = ref_size(params, &size_huge);
            if (keywords[k].flag == SMTP_EXT_AUTH) {
                const char *p = params;

                for (;;) {
                    while (is_sep(*p))
                        p++;
                    if (*p == '\0')
                        break;
                    n = strcspn(p, " \t");
                    if (words.len > 0)
                        sb_add(&words, " ", 1);
                    upper(p, n, &words);
                    p += n;
                }
            }
        }
    }
    FUZZ_CHECK((e.flags & ~ALL_EXT) == 0);
    FUZZ_CHECK(e.flags == want);
    if (!(e.flags & SMTP_EXT_SIZE))
        FUZZ_CHECK(e.size_max == 0);
    else if (size_huge)
        FUZZ_CHECK(e.size_max == 0 || e.size_max >= 1000000000000000000ull);
    else
        FUZZ_CHECK(e.size_max == size);

    /* The AUTH list. */
    n = strnlen(e.auth, sizeof e.auth);
    FUZZ_CHECK(n < sizeof e.auth);
    if (!(e.flags & SMTP_EXT_AUTH))
        FUZZ_CHECK(n == 0);
    FUZZ_CHECK(n == 0 || (e.auth[0] != ' ' && e.auth[n - 1] != ' '));
    FUZZ_CHECK(strstr(e.auth, "  ") == NULL && strchr(e.auth, '\t') == NULL);
    for (i = 0; i < n; i++)
        FUZZ_CHECK(!(e.auth[i] >= 'a' && e.auth[i] <= 'z'));
    if (words.len < sizeof e.auth)
        FUZZ_CHECK(words.len == n && (n == 0 || memcmp(words.p, e.auth, n) == 0));
    /* Each word of the list is found, in order, among the offered words. */
    w = words.len > 0 ? words.p : "";
    for (a = e.auth; *a != '\0';) {
        size_t an = strcspn(a, " ");
        char *word = fuzz_alloc(an + 1), *lower = fuzz_alloc(an + 1);
        bool found = false;

        memcpy(word, a, an);
        word[an] = '\0';
        for (i = 0; i <= an; i++)
            lower[i] = (word[i] >= 'A' && word[i] <= 'Z') ? (char)(word[i] - 'A' + 'a') : word[i];
        FUZZ_CHECK(smtp_ehlo_has_auth(&e, word));
        FUZZ_CHECK(smtp_ehlo_has_auth(&e, lower));
        while (*w != '\0' && !found) {
            size_t wn = strcspn(w, " ");

            found = wn == an && memcmp(w, a, an) == 0;
            w += wn;
            while (*w == ' ')
                w++;
        }
        FUZZ_CHECK(found);
        free(word);
        free(lower);
        a += an;
        while (*a == ' ')
            a++;
    }
    FUZZ_CHECK(!smtp_ehlo_has_auth(&e, ""));
    FUZZ_CHECK(!smtp_ehlo_has_auth(&e, NULL));
    if (n > 0) {
        /* A strict prefix of the first word is not a mechanism on its own. */
        size_t first = strcspn(e.auth, " ");
        char *pre = fuzz_alloc(first);

        memcpy(pre, e.auth, first - 1);
        pre[first - 1] = '\0';
        if (first > 1) {
            bool listed = false;

            for (a = e.auth; *a != '\0';) {
                size_t an = strcspn(a, " ");

                listed = listed || (an == first - 1 && memcmp(a, pre, an) == 0);
                a += an;
                while (*a == ' ')
                    a++;
            }
            FUZZ_CHECK(smtp_ehlo_has_auth(&e, pre) == listed);
        }
        free(pre);
    }
    sb_free(&words);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const char *const codes[4] = { "250", "220", "251", "550" };
    struct smtp_reply_parser *p;
    struct sbuf wire = { 0 };
    const char *d;
    size_t n, used;
    bool complete = false;

    if (size < 1)
        return 0;
    if (data[0] & 1) {
        const uint8_t *s = data + 1, *end = data + size;
        const char *code = codes[(data[0] >> 1) & 3];

        while (s <= end) {
            const uint8_t *nl = memchr(s, '\n', (size_t)(end - s));
            const uint8_t *stop = nl != NULL ? nl : end;

            sb_add(&wire, code, 3);
            sb_add(&wire, nl != NULL ? "-" : " ", 1);
            sb_add(&wire, s, (size_t)(stop - s));
            sb_add(&wire, "\r\n", 2);
            s = stop + 1;
        }
        d = wire.p;
        n = wire.len;
    } else {
        d = (const char *)data + 1;
        n = size - 1;
    }
    p = fuzz_alloc(sizeof *p);
    smtp_reply_parser_init(p);
    if (smtp_reply_feed(p, d, n, &used, &complete) == HERALD_OK && complete)
        check(smtp_reply_get(p));
    free(p);
    sb_free(&wire);
    return 0;
}
