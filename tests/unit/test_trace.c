/*
 * test_trace.c - trace lines: text and JSON format, escaping of hostile
 * text, redaction of secrets, level filtering, file creation and errors
 */
#include <fcntl.h>
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>
#include <CUnit/Basic.h>

#include "trace_sink.h"
#include "test_main.h"
#include "test_file.h"

static char dir[64];
static char path[128];
static int counter;

/* new_path - a fresh file name in the test directory */
static const char *
new_path(void)
{
    snprintf(path, sizeof path, "%s/t%d.log", dir, counter++);
    return path;
}

/* count_lines - newlines in s */
static int
count_lines(const char *s)
{
    int n = 0;

    for (; *s; s++)
        n += *s == '\n';
    return n;
}

/* matches - s matches the extended regex re */
static bool
matches(const char *s, const char *re)
{
    regex_t r;
    bool ok;

    if (regcomp(&r, re, REG_EXTENDED | REG_NOSUB) != 0)
        return false;
    ok = regexec(&r, s, 0, NULL, 0) == 0;
    regfree(&r);
    return ok;
}

static int
suite_init(void)
{
    snprintf(dir, sizeof dir, "/tmp/herald-trace-XXXXXX");
    return mkdtemp(dir) != NULL ? 0 : 1;
}

static int
suite_clean(void)
{
    char cmd[128];
    int i;

    for (i = 0; i < counter; i++) {
        snprintf(cmd, sizeof cmd, "%s/t%d.log", dir, i);
        unlink(cmd);
    }
    rmdir(dir);
    return 0;
}

/* test_text_format - timestamp, id, padded level, subsystem, message */
static void
test_text_format(void)
{
    struct trace_sink *sink = NULL;
    struct herald_trace scope;
    struct stat st;
    char *text;

    CU_ASSERT_EQUAL_FATAL(trace_sink_open(new_path(), TRACE_FORMAT_TEXT, HERALD_TRACE_DEBUG,
                                          &sink, NULL), HERALD_OK);
    trace_scope_init(&scope, sink, NULL);
    CU_ASSERT(matches(herald_trace_id(&scope), "^[0-9a-f]{12}$"));
    herald_trace_log(&scope, HERALD_TRACE_INFO, "route", "MX %d %s", 10, "mx1.multi.test");
    herald_trace_log(&scope, HERALD_TRACE_DEBUG, "dns", "debug line");
    trace_sink_free(&sink);
    CU_ASSERT_PTR_NULL(sink);
    text = test_read_file(path, NULL);
    CU_ASSERT_PTR_NOT_NULL_FATAL(text);
    CU_ASSERT(matches(text, "^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\\.[0-9]{3}Z "
                            "[0-9a-f]{12} info  route: MX 10 mx1\\.multi\\.test\n"));
    CU_ASSERT(matches(text, "\n[^ ]+ [0-9a-f]{12} debug dns: debug line\n$"));
    CU_ASSERT_EQUAL(count_lines(text), 2);
    free(text);
    CU_ASSERT_EQUAL(stat(path, &st), 0);
    CU_ASSERT_EQUAL(st.st_mode & 0777, 0640 & ~(unsigned)0);   /* umask 022 keeps 0640 */
}

/* test_json_format - one object per line, every field present and escaped */
static void
test_json_format(void)
{
    struct trace_sink *sink = NULL;
    struct herald_trace scope;
    char *text;

    CU_ASSERT_EQUAL_FATAL(trace_sink_open(new_path(), TRACE_FORMAT_JSON, HERALD_TRACE_INFO,
                                          &sink, NULL), HERALD_OK);
    trace_scope_init(&scope, sink, "4f1c9a0be2d3");
    herald_trace_log(&scope, HERALD_TRACE_WARN, "smtp", "reply \"250 ok\" \\ path\r\n\x01\tend");
    trace_sink_free(&sink);
    text = test_read_file(path, NULL);
    CU_ASSERT_PTR_NOT_NULL_FATAL(text);
    CU_ASSERT(matches(text, "^\\{\"ts\":\"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:]{8}\\.[0-9]{3}Z\","
                            "\"id\":\"4f1c9a0be2d3\",\"level\":\"warn\",\"subsys\":\"smtp\","
                            "\"msg\":\"[^\n]*\"\\}\n$"));
    CU_ASSERT_PTR_NOT_NULL(strstr(text, "\"msg\":\"reply \\\"250 ok\\\" \\\\ path"
                                        "\\\\r\\\\n\\\\x01\\\\tend\"}"));
    CU_ASSERT_EQUAL(count_lines(text), 1);
    free(text);
}

/* test_escape_forgery - CR LF from a server cannot start a trace line of its own */
static void
test_escape_forgery(void)
{
    struct trace_sink *sink = NULL;
    struct herald_trace scope;
    char *text;

    CU_ASSERT_EQUAL_FATAL(trace_sink_open(new_path(), TRACE_FORMAT_TEXT, HERALD_TRACE_INFO,
                                          &sink, NULL), HERALD_OK);
    trace_scope_init(&scope, sink, "-");
    herald_trace_log(&scope, HERALD_TRACE_INFO, "smtp",
                     "S: 250 ok\r\n2026-01-01T00:00:00.000Z 000000000000 info  smtp: forged\x7f"
                     "\xff\xc3\xa9");
    trace_sink_free(&sink);
    text = test_read_file(path, NULL);
    CU_ASSERT_PTR_NOT_NULL_FATAL(text);
    CU_ASSERT_EQUAL(count_lines(text), 1);
    CU_ASSERT_PTR_NOT_NULL(strstr(text, " - info  smtp: S: 250 ok\\r\\n2026-01-01T"));
    CU_ASSERT_PTR_NOT_NULL(strstr(text, "forged\\x7F\\xFF\xc3\xa9\n"));   /* é stays UTF-8 */
    free(text);
}

/* test_redaction - a registered secret never reaches the file, in any format */
static void
test_redaction(void)
{
    static const char secret[] = "s3cr\"et\\pw";
    enum trace_format fmts[2] = { TRACE_FORMAT_TEXT, TRACE_FORMAT_JSON };
    int i;

    for (i = 0; i < 2; i++) {
        struct trace_sink *sink = NULL;
        struct herald_trace scope;
        char *text;

        CU_ASSERT_EQUAL_FATAL(trace_sink_open(new_path(), fmts[i], HERALD_TRACE_DEBUG, &sink,
                                              NULL), HERALD_OK);
        CU_ASSERT_EQUAL(trace_sink_add_secret(sink, secret), HERALD_OK);
        CU_ASSERT_EQUAL(trace_sink_add_secret(sink, "hunter2"), HERALD_OK);
        CU_ASSERT_EQUAL(trace_sink_add_secret(sink, ""), HERALD_OK);   /* ignored */
        trace_scope_init(&scope, sink, NULL);
        herald_trace_log(&scope, HERALD_TRACE_INFO, "smtp", "AUTH PLAIN %s and %s%s, hunter2",
                         secret, secret, secret);
        herald_trace_log(&scope, HERALD_TRACE_DEBUG, "hunter2", "subsystem hunter2 too");
        trace_sink_free(&sink);
        text = test_read_file(path, NULL);
        CU_ASSERT_PTR_NOT_NULL_FATAL(text);
        CU_ASSERT_PTR_NULL(strstr(text, "s3cr"));
        CU_ASSERT_PTR_NULL(strstr(text, "hunter2"));
        CU_ASSERT_PTR_NOT_NULL(strstr(text, "AUTH PLAIN <redacted> and <redacted><redacted>, "
                                            "<redacted>"));
        CU_ASSERT_EQUAL(count_lines(text), 2);
        free(text);
    }
}

/* test_level_filter - lines above the sink's level are dropped */
static void
test_level_filter(void)
{
    struct trace_sink *sink = NULL;
    struct herald_trace scope;
    char *text;

    CU_ASSERT_EQUAL_FATAL(trace_sink_open(new_path(), TRACE_FORMAT_TEXT, HERALD_TRACE_WARN,
                                          &sink, NULL), HERALD_OK);
    trace_scope_init(&scope, sink, "-");
    CU_ASSERT_TRUE(herald_trace_enabled(&scope, HERALD_TRACE_ERROR));
    CU_ASSERT_TRUE(herald_trace_enabled(&scope, HERALD_TRACE_WARN));
    CU_ASSERT_FALSE(herald_trace_enabled(&scope, HERALD_TRACE_INFO));
    CU_ASSERT_FALSE(herald_trace_enabled(&scope, HERALD_TRACE_DEBUG));
    herald_trace_log(&scope, HERALD_TRACE_ERROR, "core", "e");
    herald_trace_log(&scope, HERALD_TRACE_WARN, "core", "w");
    herald_trace_log(&scope, HERALD_TRACE_INFO, "core", "i");
    herald_trace_log(&scope, HERALD_TRACE_DEBUG, "core", "d");
    trace_sink_free(&sink);
    text = test_read_file(path, NULL);
    CU_ASSERT_PTR_NOT_NULL_FATAL(text);
    CU_ASSERT_EQUAL(count_lines(text), 2);
    CU_ASSERT_PTR_NOT_NULL(strstr(text, " error core: e\n"));
    CU_ASSERT_PTR_NOT_NULL(strstr(text, " warn  core: w\n"));
    free(text);
}

/* test_append - a second sink on the same file appends instead of truncating */
static void
test_append(void)
{
    struct trace_sink *a = NULL, *b = NULL;
    struct herald_trace sa, sb;
    char *text;

    new_path();
    CU_ASSERT_EQUAL_FATAL(trace_sink_open(path, TRACE_FORMAT_TEXT, HERALD_TRACE_INFO, &a, NULL),
                          HERALD_OK);
    CU_ASSERT_EQUAL_FATAL(trace_sink_open(path, TRACE_FORMAT_JSON, HERALD_TRACE_INFO, &b, NULL),
                          HERALD_OK);
    trace_scope_init(&sa, a, NULL);
    trace_scope_init(&sb, b, NULL);
    CU_ASSERT_STRING_NOT_EQUAL(herald_trace_id(&sa), herald_trace_id(&sb));
    herald_trace_log(&sa, HERALD_TRACE_INFO, "a", "one");
    herald_trace_log(&sb, HERALD_TRACE_INFO, "b", "two");
    herald_trace_log(&sa, HERALD_TRACE_INFO, "a", "three");
    trace_sink_free(&a);
    trace_sink_free(&b);
    text = test_read_file(path, NULL);
    CU_ASSERT_PTR_NOT_NULL_FATAL(text);
    CU_ASSERT_EQUAL(count_lines(text), 3);
    free(text);
}

/* test_no_sink - NULL path means no sink; scopes without one write nothing */
static void
test_no_sink(void)
{
    struct trace_sink *sink = (struct trace_sink *)&counter;   /* must be overwritten */
    struct herald_trace scope;

    CU_ASSERT_EQUAL(trace_sink_open(NULL, TRACE_FORMAT_TEXT, HERALD_TRACE_INFO, &sink, NULL),
                    HERALD_OK);
    CU_ASSERT_PTR_NULL(sink);
    trace_scope_init(&scope, NULL, "-");
    CU_ASSERT_FALSE(herald_trace_enabled(&scope, HERALD_TRACE_ERROR));
    herald_trace_log(&scope, HERALD_TRACE_ERROR, "core", "nowhere");
    herald_trace_log(NULL, HERALD_TRACE_ERROR, "core", "nowhere");
    CU_ASSERT_STRING_EQUAL(herald_trace_id(&scope), "-");
    CU_ASSERT_STRING_EQUAL(herald_trace_id(NULL), "-");
    CU_ASSERT_EQUAL(trace_sink_add_secret(NULL, "x"), HERALD_OK);
}

/* test_open_error - the diag names the path that could not be opened */
static void
test_open_error(void)
{
    struct trace_sink *sink = NULL;
    struct herald_diag diag;
    char bad[160];

    memset(&diag, 0, sizeof diag);
    snprintf(bad, sizeof bad, "%s/missing-dir/trace.log", dir);
    CU_ASSERT_EQUAL(trace_sink_open(bad, TRACE_FORMAT_TEXT, HERALD_TRACE_INFO, &sink, &diag),
                    HERALD_E_IO);
    CU_ASSERT_PTR_NULL(sink);
    CU_ASSERT_STRING_EQUAL(diag.where, bad);
    CU_ASSERT_PTR_NOT_NULL(strstr(diag.text, bad));
    CU_ASSERT_EQUAL(trace_sink_open(bad, (enum trace_format)7, HERALD_TRACE_INFO, &sink, NULL),
                    HERALD_E_INVAL);
}

/* test_parse_words - format and level words, unknown ones refused */
static void
test_parse_words(void)
{
    CU_ASSERT_EQUAL(trace_format_parse("text"), TRACE_FORMAT_TEXT);
    CU_ASSERT_EQUAL(trace_format_parse("json"), TRACE_FORMAT_JSON);
    CU_ASSERT_EQUAL(trace_format_parse("xml"), -1);
    CU_ASSERT_EQUAL(trace_format_parse(NULL), -1);
    CU_ASSERT_EQUAL(trace_level_parse("error"), HERALD_TRACE_ERROR);
    CU_ASSERT_EQUAL(trace_level_parse("warn"), HERALD_TRACE_WARN);
    CU_ASSERT_EQUAL(trace_level_parse("info"), HERALD_TRACE_INFO);
    CU_ASSERT_EQUAL(trace_level_parse("debug"), HERALD_TRACE_DEBUG);
    CU_ASSERT_EQUAL(trace_level_parse("verbose"), -1);
}

/* test_long_message - an overlong message is cut, still one line */
static void
test_long_message(void)
{
    struct trace_sink *sink = NULL;
    struct herald_trace scope;
    char *big, *text;

    big = malloc(20000);
    CU_ASSERT_PTR_NOT_NULL_FATAL(big);
    memset(big, 'A', 19999);
    big[19999] = '\0';
    CU_ASSERT_EQUAL_FATAL(trace_sink_open(new_path(), TRACE_FORMAT_JSON, HERALD_TRACE_INFO,
                                          &sink, NULL), HERALD_OK);
    trace_scope_init(&scope, sink, "-");
    herald_trace_log(&scope, HERALD_TRACE_INFO, "smtp", "%s", big);
    trace_sink_free(&sink);
    text = test_read_file(path, NULL);
    CU_ASSERT_PTR_NOT_NULL_FATAL(text);
    CU_ASSERT_EQUAL(count_lines(text), 1);
    CU_ASSERT_PTR_NOT_NULL(strstr(text, "AAA...\"}\n"));
    free(text);
    free(big);
}

int
main(void)
{
    static const struct test_case cases[] = {
        { "text format", test_text_format },
        { "json format", test_json_format },
        { "escaping stops forged lines", test_escape_forgery },
        { "secrets redacted", test_redaction },
        { "level filter", test_level_filter },
        { "append, distinct ids", test_append },
        { "no sink", test_no_sink },
        { "open error names the path", test_open_error },
        { "format and level words", test_parse_words },
        { "overlong message", test_long_message },
        { NULL, NULL },
    };

    umask(022);
    return test_run_suite("trace", suite_init, suite_clean, cases);
}
