/*
 * spool_seg.c - open, parse and share the queue files of q/ (spool_seg.h)
 *
 * Like spool_file.c, the parser trusts nothing: offsets, counts and indexes
 * are range-checked; what does not parse damages the messages it concerns
 * and never the others.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "spool_seg.h"

/* is_hex4 - four upper-case hex digits */
static bool
is_hex4(const char *s)
{
    size_t i;

    for (i = 0; i < 4; i++)
        if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'A' && s[i] <= 'F')))
            return false;
    return true;
}

bool
spool_seg_is_name(const char *name)
{
    return strlen(name) == SPOOL_SEG_NAME_LEN && name[SPOOL_SEG_NAME_LEN - 1] == 's';
}

bool
spool_seg_split(const char *id, char name[HERALD_QUEUE_ID_SIZE], size_t *index)
{
    if (strlen(id) != SPOOL_SEG_ID_LEN || id[SPOOL_SEG_NAME_LEN - 1] != 's' ||
        !is_hex4(id + SPOOL_SEG_NAME_LEN))
        return false;
    memcpy(name, id, SPOOL_SEG_NAME_LEN);
    name[SPOOL_SEG_NAME_LEN] = '\0';
    *index = (size_t)strtoul(id + SPOOL_SEG_NAME_LEN, NULL, 16);
    return true;
}

void
spool_seg_id(char id[HERALD_QUEUE_ID_SIZE], const char *name, size_t k)
{
    static const char hex[] = "0123456789ABCDEF";
    size_t n = strnlen(name, HERALD_QUEUE_ID_SIZE - 5), i;

    memcpy(id, name, n);
    for (i = 0; i < 4; i++)
        id[n + i] = hex[(k >> (12 - 4 * i)) & 0xF];
    id[n + 4] = '\0';
}

void
spool_seg_damage(struct spool_seg *s, size_t k, const char *why)
{
    if (k >= s->count || (s->flags[k] & SPOOL_SEG_DAMAGED))
        return;
    if (!(s->flags[k] & SPOOL_SEG_REMOVED))
        s->live--;
    s->flags[k] |= SPOOL_SEG_DAMAGED;
    s->damaged++;
    spool_parsed_free(&s->msgs[k]);
    if (s->why[0] == '\0') {
        if (s->multi)
            snprintf(s->why, sizeof s->why, "message %zu: %s", k, why);
        else
            snprintf(s->why, sizeof s->why, "%s", why);
    }
}

/* damage_all - every message of s, for why (its states cannot be trusted) */
static void
damage_all(struct spool_seg *s, const char *why)
{
    size_t k;

    for (k = 0; k < s->count; k++)
        spool_seg_damage(s, k, why);
}

/* apply_line - one state record line of s; false if malformed */
static bool
apply_line(struct spool_seg *s, char *line)
{
    unsigned long k;
    char *rest;

    if (!s->multi)
        return spool_parse_record(line, &s->msgs[0]);
    if (line[0] < '0' || line[0] > '9')
        return false;
    errno = 0;
    k = strtoul(line, &rest, 10);
    if (errno != 0 || k >= s->count || rest[0] != ' ')
        return false;
    rest++;
    if (s->flags[k] & SPOOL_SEG_DAMAGED)
        return true;   /* nothing of it is used */
    if (strcmp(rest, "x") == 0) {
        if (!(s->flags[k] & SPOOL_SEG_REMOVED)) {
            s->flags[k] |= SPOOL_SEG_REMOVED;
            s->live--;
        }
        return true;
    }
    return spool_parse_record(rest, &s->msgs[k]);
}

/* spool_seg_refresh - see spool_seg.h */
int
spool_seg_refresh(struct spool_seg *s, bool cut)
{
    char *line = NULL, why[120];
    size_t cap = 0, records = 0;
    ssize_t len;
    struct stat sb;
    int dfd, rc = 0;
    FILE *f;

    if (!s->records_ok || s->count == 0)
        return 0;
    if (fstat(s->fd, &sb) != 0)
        return -1;
    if ((uint64_t)sb.st_size <= s->end)
        return 0;
    dfd = dup(s->fd);
    if (dfd < 0)
        return -1;
    f = fdopen(dfd, "r");
    if (f == NULL) {
        close(dfd);
        return -1;
    }
    if (fseeko(f, (off_t)s->end, SEEK_SET) != 0) {
        fclose(f);
        return -1;
    }
    /* A torn last record (no newline) is ignored, and cut under the lock. */
    while ((len = getline(&line, &cap, f)) > 0 && line[len - 1] == '\n') {
        if ((size_t)len > SPOOL_MAX_LINE || ++records > SPOOL_MAX_RECORDS) {
            snprintf(why, sizeof why, "state record too long (at octet %" PRIu64 ")", s->end);
            damage_all(s, why);
            break;
        }
        line[len - 1] = '\0';
        if (!apply_line(s, line)) {
            snprintf(why, sizeof why, "bad state record (at octet %" PRIu64 ")", s->end);
            damage_all(s, why);
            break;
        }
        s->end += (uint64_t)len;
    }
    if (ferror(f))
        rc = -1;
    free(line);
    fclose(f);
    if (rc == 0 && cut && s->damaged < s->count && (uint64_t)sb.st_size > s->end &&
        ftruncate(s->fd, (off_t)s->end) != 0)
        rc = -1;
    return rc;
}

/* read_index - the index line at off: count offsets, increasing, inside the images */
static uint64_t *
read_index(FILE *f, uint64_t off, size_t count, uint64_t *after)
{
    uint64_t *offs = calloc(count, sizeof *offs), prev = 0;
    char *line = NULL, *p, *end;
    size_t cap = 0, k;
    ssize_t len;

    if (offs == NULL || fseeko(f, (off_t)off, SEEK_SET) != 0)
        goto bad;
    len = getline(&line, &cap, f);
    if (len < 7 || line[len - 1] != '\n' || strncmp(line, "index", 5) != 0)
        goto bad;
    p = line + 5;
    for (k = 0; k < count; k++) {
        unsigned long long v;

        if (*p != ' ')
            goto bad;
        errno = 0;
        v = strtoull(p + 1, &end, 10);
        if (errno != 0 || end == p + 1 || v < SPOOL_SEG_HEAD_LEN || v >= off ||
            (k > 0 && v <= prev))
            goto bad;
        offs[k] = prev = v;
        p = end;
    }
    if (*p != '\n')
        goto bad;
    *after = off + (uint64_t)len;
    free(line);
    return offs;
bad:
    free(line);
    free(offs);
    return NULL;
}

/* check_image - message k parsed whole, with its own id, ending before limit */
static void
check_image(struct spool_seg *s, size_t k, uint64_t limit)
{
    char want[HERALD_QUEUE_ID_SIZE], why[160];

    spool_seg_id(want, s->name, k);
    if (strcmp(s->msgs[k].entry.id, want) != 0) {
        snprintf(why, sizeof why, "its header says id %s", s->msgs[k].entry.id);
        spool_seg_damage(s, k, why);
    } else if (s->msgs[k].valid_end > limit) {
        spool_seg_damage(s, k, "overlaps the next message");
    }
}

/* load_multi - a segment: header, index, every image, records */
static void
load_multi(struct spool_seg *s, FILE *f, uint64_t size)
{
    char line[64], why[200];
    uint64_t index = 0, *offs, after = 0, pos;
    size_t n = 0, k;

    if (fgets(line, sizeof line, f) == NULL || strcmp(line, SPOOL_SEG_MAGIC) != 0 ||
        fgets(line, sizeof line, f) == NULL || strlen(line) != 39 ||
        sscanf(line, "count %5zu index %20" SCNu64, &n, &index) != 2 || n == 0 ||
        n > SPOOL_SEG_MAX) {
        snprintf(s->why, sizeof s->why, "not a Herald queue segment (bad header)");
        return;
    }
    s->msgs = calloc(n, sizeof *s->msgs);
    s->flags = calloc(n, 1);
    if (s->msgs == NULL || s->flags == NULL) {
        snprintf(s->why, sizeof s->why, "out of memory");
        return;
    }
    s->count = s->live = n;
    offs = index > SPOOL_SEG_HEAD_LEN && index < size ? read_index(f, index, n, &after) : NULL;
    if (offs != NULL) {
        for (k = 0; k < n; k++) {
            if (fseeko(f, (off_t)offs[k], SEEK_SET) != 0 ||
                spool_parse_image(f, offs[k], &s->msgs[k], why, sizeof why) != 0)
                spool_seg_damage(s, k, why);
            else
                check_image(s, k, k + 1 < n ? offs[k + 1] : index);
        }
        free(offs);
        s->records_ok = true;
        s->end = after;
        return;
    }
    /* No index (a truncated file): in order, until the first that fails. */
    pos = SPOOL_SEG_HEAD_LEN;
    for (k = 0; k < n; k++) {
        if (fseeko(f, (off_t)pos, SEEK_SET) != 0 ||
            spool_parse_image(f, pos, &s->msgs[k], why, sizeof why) != 0)
            break;
        check_image(s, k, UINT64_MAX);
        if (s->flags[k] & SPOOL_SEG_DAMAGED)
            break;
        pos = s->msgs[k].valid_end;
    }
    if (k < n) {
        for (; k < n; k++)
            spool_seg_damage(s, k, "truncated segment (no index): cannot be found");
    }
    s->end = size;
}

/* load - parse s->fd whole */
static int
load(struct spool_seg *s)
{
    struct stat sb;
    char why[200];
    int dfd;
    FILE *f;

    if (fstat(s->fd, &sb) != 0 || (dfd = dup(s->fd)) < 0)
        return -1;
    f = fdopen(dfd, "r");
    if (f == NULL) {
        close(dfd);
        return -1;
    }
    if (s->multi) {
        load_multi(s, f, (uint64_t)sb.st_size);
    } else {
        s->msgs = calloc(1, sizeof *s->msgs);
        s->flags = calloc(1, 1);
        if (s->msgs == NULL || s->flags == NULL) {
            snprintf(s->why, sizeof s->why, "out of memory");
        } else {
            s->count = s->live = 1;
            if (spool_parse_image(f, 0, &s->msgs[0], why, sizeof why) != 0) {
                spool_seg_damage(s, 0, why);
            } else if (strcmp(s->msgs[0].entry.id, s->name) != 0) {
                snprintf(why, sizeof why, "its header says id %s", s->msgs[0].entry.id);
                spool_seg_damage(s, 0, why);
            } else {
                s->records_ok = true;
                s->end = s->msgs[0].valid_end;
            }
        }
    }
    fclose(f);
    return spool_seg_refresh(s, false);
}

/* seg_free - everything of s but its descriptor */
static void
seg_free(struct spool_seg *s)
{
    size_t k;

    for (k = 0; k < s->count; k++)
        spool_parsed_free(&s->msgs[k]);
    free(s->msgs);
    free(s->flags);
    free(s);
}

int
spool_seg_get(struct spool_segs *ss, const char *name, struct spool_seg **out)
{
    struct spool_seg *s;

    for (s = ss->head; s != NULL; s = s->next)
        if (!s->gone && strcmp(s->name, name) == 0) {
            s->refs++;
            *out = s;
            return 0;
        }
    s = calloc(1, sizeof *s);
    if (s == NULL) {
        errno = ENOMEM;
        return -1;
    }
    snprintf(s->name, sizeof s->name, "%s", name);
    s->multi = spool_seg_is_name(name);
    s->fd = openat(ss->qdir, name, O_RDWR | O_APPEND | O_CLOEXEC | O_NOFOLLOW);
    if (s->fd < 0 && (errno == EACCES || errno == EROFS))
        s->fd = openat(ss->qdir, name, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    if (s->fd < 0) {
        int err = errno;

        free(s);
        errno = err;
        return -1;
    }
    if (load(s) != 0) {
        int err = errno;

        close(s->fd);
        seg_free(s);
        errno = err ? err : EIO;
        return -1;
    }
    s->refs = 1;
    s->next = ss->head;
    ss->head = s;
    *out = s;
    return 0;
}

void
spool_seg_put(struct spool_segs *ss, struct spool_seg *s,
              void (*close_fn)(void *arg, int fd), void *arg)
{
    struct spool_seg **pp;

    if (s == NULL || --s->refs > 0)
        return;
    for (pp = &ss->head; *pp != NULL; pp = &(*pp)->next)
        if (*pp == s) {
            *pp = s->next;
            break;
        }
    if (s->gone && close_fn != NULL)
        close_fn(arg, s->fd);
    else
        close(s->fd);
    seg_free(s);
}
