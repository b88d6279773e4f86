/*
 * test_jsonl.c - the strict JSON-lines parser of send --batch (cli/jsonl.c):
 * what it takes, exactly what it decodes, and every hostile line it refuses
 * with the column and the reason
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <CUnit/Basic.h>
#include "jsonl.h"
#include "../tests/unit/test_main.h"

/* Lines that parse, and a field to look at. */
static void
test_accepts(void)
{
    static const struct { const char *line, *key, *want; } t[] = {
        { "{\"from\":\"a@x.test\",\"to\":[\"b@y.test\"],\"file\":\"m.eml\"}", "file", "m.eml" },
        { "  { \"id\" : \"7\" }  \r", "id", "7" },
        { "{}", NULL, NULL },
        { "{\"s\":\"caf\\u00e9 \\\"q\\\" \\\\ \\/ \\t\"}", "s", "caf\xc3\xa9 \"q\" \\ / \t" },
        { "{\"s\":\"\\ud83d\\ude00\"}", "s", "\xf0\x9f\x98\x80" },
        { "{\"s\":\"\xe2\x82\xac raw UTF-8\"}", "s", "\xe2\x82\xac raw UTF-8" },
        { "{\"s\":\"\"}", "s", "" },
    };
    struct jsonl_object obj;
    char err[200];
    size_t i;

    for (i = 0; i < sizeof t / sizeof t[0]; i++) {
        int rc = jsonl_parse(t[i].line, strlen(t[i].line), &obj, err, sizeof err);

        if (rc != 0)
            fprintf(stderr, "\ncase %zu refused: %s\n", i, err);
        CU_ASSERT_FATAL(rc == 0);
        if (t[i].key != NULL) {
            const struct jsonl_field *f = jsonl_get(&obj, t[i].key);

            CU_ASSERT_FATAL(f != NULL);
            CU_ASSERT_STRING_EQUAL(f->str, t[i].want);
        }
        jsonl_free(&obj);
    }
}

/* Arrays of strings, empty ones included. */
static void
test_arrays(void)
{
    static const char line[] = "{\"to\":[\"a@x\", \"b@y\" ,\"c@z\"],\"attach\":[]}";
    struct jsonl_object obj;
    const struct jsonl_field *f;
    char err[200];

    CU_ASSERT_FATAL(jsonl_parse(line, strlen(line), &obj, err, sizeof err) == 0);
    f = jsonl_get(&obj, "to");
    CU_ASSERT_FATAL(f != NULL && f->is_array && f->count == 3);
    CU_ASSERT_STRING_EQUAL(f->items[2], "c@z");
    f = jsonl_get(&obj, "attach");
    CU_ASSERT(f != NULL && f->is_array && f->count == 0);
    CU_ASSERT(jsonl_get(&obj, "nope") == NULL);
    jsonl_free(&obj);
    CU_ASSERT(obj.count == 0);
}

/* Hostile and malformed lines: each refused, with the reason in the message. */
static void
test_refuses(void)
{
    static const struct { const char *line; const char *why; } t[] = {
        { "", "expected a JSON object" },
        { "[\"a\"]", "expected a JSON object" },
        { "{\"a\":1}", "must be a string" },
        { "{\"a\":true}", "must be a string" },
        { "{\"a\":null}", "must be a string" },
        { "{\"a\":{\"b\":\"c\"}}", "must be a string" },
        { "{\"a\":[\"x\",1]}", "only strings" },
        { "{\"a\":[[\"x\"]]}", "only strings" },
        { "{\"a\":\"x\",\"a\":\"y\"}", "duplicate key" },
        { "{\"a\":\"x\"} trailing", "text after the object" },
        { "{\"a\":\"x\"", "expected ',' or '}'" },
        { "{\"a\":\"unterminated}", "unterminated string" },
        { "{\"a\":\"tab\there\"}", "control character" },
        { "{\"a\":\"\\u0000\"}", "\\u0000" },
        { "{\"a\":\"\\ud800\"}", "without its low half" },
        { "{\"a\":\"\\udc00\"}", "lone low surrogate" },
        { "{\"a\":\"\\uzzzz\"}", "four hex digits" },
        { "{\"a\":\"\\x41\"}", "unknown escape" },
        { "{\"a\":\"\xc3\"}", "invalid UTF-8" },
        { "{\"a\":\"\xc0\xaf\"}", "invalid UTF-8" },
        { "{\"a\":\"\xed\xa0\x80\"}", "invalid UTF-8" },
        { "{a:\"x\"}", "key in double quotes" },
        { "{\"\":\"x\"}", "a key must be" },
        { "{\"a\" \"x\"}", "expected ':'" },
        { "{\"a\":\"x\",}", "key in double quotes" },
    };
    struct jsonl_object obj;
    char err[200];
    size_t i;

    for (i = 0; i < sizeof t / sizeof t[0]; i++) {
        int rc = jsonl_parse(t[i].line, strlen(t[i].line), &obj, err, sizeof err);

        CU_ASSERT(rc == -1);
        if (rc == 0 || strstr(err, t[i].why) == NULL || strncmp(err, "column ", 7) != 0)
            fprintf(stderr, "\ncase %zu (%s): got \"%s\"\n", i, t[i].line, rc ? err : "ok");
        CU_ASSERT(rc == -1 && strstr(err, t[i].why) != NULL);
        CU_ASSERT(strncmp(err, "column ", 7) == 0);
        CU_ASSERT(obj.count == 0);
    }
}

/* Bounds: keys, items, key length, line length. */
static void
test_bounds(void)
{
    struct jsonl_object obj;
    char err[200], *line;
    size_t n = 0, i;

    line = malloc(JSONL_LINE_MAX * 2);
    CU_ASSERT_FATAL(line != NULL);
    n = (size_t)sprintf(line, "{");
    for (i = 0; i <= JSONL_FIELDS_MAX; i++)
        n += (size_t)sprintf(line + n, "%s\"k%zu\":\"v\"", i ? "," : "", i);
    line[n++] = '}';
    CU_ASSERT(jsonl_parse(line, n, &obj, err, sizeof err) == -1);
    CU_ASSERT(strstr(err, "more than 16 keys") != NULL);

    n = (size_t)sprintf(line, "{\"to\":[");
    for (i = 0; i <= JSONL_ITEMS_MAX; i++)
        n += (size_t)sprintf(line + n, "%s\"a\"", i ? "," : "");
    n += (size_t)sprintf(line + n, "]}");
    CU_ASSERT(jsonl_parse(line, n, &obj, err, sizeof err) == -1);
    CU_ASSERT(strstr(err, "more than 1000 items") != NULL);

    n = (size_t)sprintf(line, "{\"%040d\":\"x\"}", 0);
    CU_ASSERT(jsonl_parse(line, n, &obj, err, sizeof err) == -1);
    CU_ASSERT(strstr(err, "a key must be") != NULL);

    memset(line, ' ', JSONL_LINE_MAX + 10);
    CU_ASSERT(jsonl_parse(line, JSONL_LINE_MAX + 10, &obj, err, sizeof err) == -1);
    CU_ASSERT(strstr(err, "longer than") != NULL);
    free(line);
}

/* Reading lines: bounded, an over-long line skipped whole, NUL refused, last line without newline. */
static void
test_reader(void)
{
    static struct jsonl_reader r;
    size_t len, i;
    FILE *f = tmpfile();

    CU_ASSERT_FATAL(f != NULL);
    fputs("{\"a\":\"1\"}\n", f);
    for (i = 0; i < JSONL_LINE_MAX + 5; i++)
        fputc('x', f);
    fputs("\nlast", f);
    fputc('\0', f);
    fputs("\n\nend", f);
    fflush(f);
    rewind(f);
    jsonl_reader_init(&r, fileno(f));
    CU_ASSERT(!jsonl_reader_ready(&r));
    CU_ASSERT(jsonl_reader_next(&r, &len) == 1);
    CU_ASSERT_STRING_EQUAL(r.line, "{\"a\":\"1\"}");
    CU_ASSERT(jsonl_reader_next(&r, &len) == -1);
    CU_ASSERT(jsonl_reader_next(&r, &len) == -2);
    CU_ASSERT(jsonl_reader_next(&r, &len) == 1 && len == 0);
    CU_ASSERT(jsonl_reader_next(&r, &len) == 1);
    CU_ASSERT_STRING_EQUAL(r.line, "end");
    CU_ASSERT(jsonl_reader_next(&r, &len) == 0);
    CU_ASSERT(jsonl_reader_ready(&r));
    fclose(f);
}

int
main(void)
{
    static const struct test_case cases[] = {
        { "accepts", test_accepts },
        { "arrays", test_arrays },
        { "refuses", test_refuses },
        { "bounds", test_bounds },
        { "reader", test_reader },
        { NULL, NULL },
    };

    return test_run_suite("jsonl", NULL, NULL, cases);
}
