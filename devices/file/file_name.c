/*
 * file_name.c - check and expand the file device's name patterns (file_name.h)
 */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "file_name.h"

/* file_name_check - refuse patterns that could escape the folder or are ambiguous */
herald_status
file_name_check(const char *pattern, struct herald_diag *diag)
{
    const char *p;

    if (pattern == NULL || pattern[0] == '\0')
        return herald_diag_set(diag, HERALD_E_CONFIG, "", "option \"name\": empty file name");
    if (strcmp(pattern, ".") == 0 || strcmp(pattern, "..") == 0)
        return herald_diag_set(diag, HERALD_E_CONFIG, "",
                               "option \"name\": \"%s\" is not a file name", pattern);
    if (strncmp(pattern, ".tmp-", 5) == 0)
        return herald_diag_set(diag, HERALD_E_CONFIG, "",
                               "option \"name\": names starting with \".tmp-\" are the"
                               " device's temporary files");
    if (strlen(pattern) > FILE_NAME_MAX)
        return herald_diag_set(diag, HERALD_E_CONFIG, "",
                               "option \"name\": longer than %d characters", FILE_NAME_MAX);
    for (p = pattern; *p; p++) {
        if (*p == '/')
            return herald_diag_set(diag, HERALD_E_CONFIG, "",
                                   "option \"name\": '/' is not allowed in a file name");
        if (*p != '%')
            continue;
        p++;
        if (*p == '\0')
            return herald_diag_set(diag, HERALD_E_CONFIG, "",
                                   "option \"name\": '%%' at the end (use %%%% for a '%%')");
        if (strchr("Tiu%", *p) == NULL)
            return herald_diag_set(diag, HERALD_E_CONFIG, "",
                                   "option \"name\": unknown escape %%%c (known: %%T %%i %%u %%%%)",
                                   *p);
    }
    return HERALD_OK;
}

/* unique_value - process id and a per-process counter: unique among live processes */
static void
unique_value(char *buf, size_t size)
{
    static unsigned long counter;   /* one loop per thread; a race costs only a ".N" suffix */

    snprintf(buf, size, "%ld-%lu", (long)getpid(), ++counter);
}

/* file_name_expand - the pattern with %T %i %u %% replaced */
herald_status
file_name_expand(const char *pattern, time_t now, const char *trace_id, char *buf, size_t size)
{
    char piece[64];
    struct tm tm;
    size_t len = 0, n;
    const char *p;

    if (pattern == NULL || buf == NULL || size == 0)
        return HERALD_E_INVAL;
    for (p = pattern; *p; p++) {
        const char *add = piece;

        if (*p != '%') {
            piece[0] = *p;
            piece[1] = '\0';
        } else {
            switch (*++p) {
            case 'T':
                if (gmtime_r(&now, &tm) == NULL ||
                    strftime(piece, sizeof piece, "%Y%m%d%H%M%S", &tm) == 0)
                    return HERALD_E_INVAL;
                break;
            case 'i':
                add = trace_id != NULL && trace_id[0] ? trace_id : "-";
                break;
            case 'u':
                unique_value(piece, sizeof piece);
                break;
            case '%':
                add = "%";
                break;
            default:   /* also the terminating NUL: an unchecked pattern */
                return HERALD_E_INVAL;
            }
        }
        /* A trace id is hex, but the folder must not be left even if one were not. */
        if (strchr(add, '/') != NULL)
            return HERALD_E_INVAL;
        n = strlen(add);
        if (len + n > FILE_NAME_MAX || len + n >= size)
            return HERALD_E_LIMIT;
        memcpy(buf + len, add, n);
        len += n;
    }
    buf[len] = '\0';
    if (strcmp(buf, ".") == 0 || strcmp(buf, "..") == 0)
        return HERALD_E_INVAL;
    return HERALD_OK;
}
