/*
 * herald_plans - planning speed: route plans for many domains, cold then warm
 *
 *   herald_plans -c CONF [-d DEVICE] [-j INFLIGHT] [-w PASSES] FILE
 *
 * Reads one domain per line from FILE and plans each with
 * herald_route_submit, INFLIGHT at once (default 1000, as `herald route
 * --batch` does), through the same device: first cold (the process starts
 * with an empty DNS cache), then PASSES times more (default 10), warm, while
 * the answers and plans of the first pass live.  No plan is printed: this
 * measures planning, `herald route --batch` adds one JSON line per plan.
 *
 * Prints one line, for bench/route.sh to parse:
 *   domains=N cold_s=S cold_per_s=R cold_cpu_s=C cold_errors=E
 *   warm_plans=M warm_s=S warm_per_s=R warm_cpu_s=C warm_errors=E maxrss_kb=K
 * (errors: plans that say deferred or failed; cpu: user + system seconds of
 * the phase).  Exit 0 when every plan was made without error, 1 otherwise,
 * 2 on usage or setup errors.
 */
#define _POSIX_C_SOURCE 200809L
#include <herald/herald.h>
#include <herald/route_batch.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

/* One pass over the domains, INFLIGHT plans at once. */
struct pass {
    struct herald_device *dev;
    char **domains;
    size_t count, next, finished, errors, inflight;
    int failed_submit;
};

static void submit_next(struct pass *p);

/* on_plan - one plan is made: count it, start the next */
static void
on_plan(void *arg, struct herald_route_plan *plan)
{
    struct pass *p = arg;
    enum herald_result result;

    const char *reason = NULL;

    if (herald_plan_error(plan, &result, NULL, &reason) != HERALD_OK && p->errors++ < 3)
        fprintf(stderr, "herald_plans: %s: %s\n", herald_result_name(result),
                reason != NULL ? reason : "");
    herald_plan_free(&plan);
    p->finished++;
    p->inflight--;
    submit_next(p);
}

/* submit_next - the next domain, if any is left */
static void
submit_next(struct pass *p)
{
    struct herald_diag diag = { "", "" };
    const char *d;

    if (p->next >= p->count || p->failed_submit)
        return;
    d = p->domains[p->next++];
    if (herald_route_submit(p->dev, d, on_plan, p, &diag) != HERALD_OK) {
        fprintf(stderr, "herald_plans: %s: %s\n", d, diag.text);
        p->failed_submit = 1;
        return;
    }
    p->inflight++;
}

static bool
pass_done(void *arg)
{
    const struct pass *p = arg;

    return p->failed_submit || p->finished == p->count;
}

static double
now_s(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static double
cpu_s(void)
{
    struct rusage ru;

    getrusage(RUSAGE_SELF, &ru);
    return (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6
           + (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
}

/* run_pass - plan every domain once, window plans at once; returns 0 or -1 */
static int
run_pass(struct herald_device *dev, char **domains, size_t count, size_t window,
         size_t *errors)
{
    struct pass p = { dev, domains, count, 0, 0, 0, 0, 0 };

    size_t i;

    for (i = 0; i < window && p.next < p.count && !p.failed_submit; i++)
        submit_next(&p);
    if (herald_route_wait(dev, pass_done, &p) != HERALD_OK || p.failed_submit
        || p.finished != p.count) {
        fprintf(stderr, "herald_plans: %zu of %zu plans made\n", p.finished, p.count);
        return -1;
    }
    *errors += p.errors;
    return 0;
}

/* read_domains - the non-empty lines of path, in one buffer (*buf_out) so
 * that the list itself weighs little in the peak RSS; NULL on error */
static char **
read_domains(const char *path, size_t *count, char **buf_out)
{
    FILE *in = fopen(path, "r");
    char *buf = NULL, *p, **v = NULL;
    size_t n = 0, len = 0, cap = 0;
    long size;

    if (in == NULL)
        return NULL;
    if (fseek(in, 0, SEEK_END) == 0 && (size = ftell(in)) > 0 && fseek(in, 0, SEEK_SET) == 0
        && (buf = malloc((size_t)size + 1)) != NULL)
        len = fread(buf, 1, (size_t)size, in);
    fclose(in);
    if (buf == NULL)
        return NULL;
    buf[len] = '\0';
    for (p = strtok(buf, "\r\n"); p != NULL; p = strtok(NULL, "\r\n")) {
        if (n == cap) {
            char **nv = realloc(v, (cap = cap ? cap * 2 : 1024) * sizeof *v);

            if (nv == NULL)
                break;
            v = nv;
        }
        v[n++] = p;
    }
    *count = n;
    *buf_out = buf;
    return v;
}

static int
usage(void)
{
    fprintf(stderr, "usage: herald_plans -c CONF [-d DEVICE] [-j INFLIGHT] [-w PASSES] FILE\n");
    return 2;
}

int
main(int argc, char **argv)
{
    const char *config = NULL, *device = "mx";
    unsigned long window = 1000, passes = 10;
    struct herald_context *ctx = NULL;
    struct herald_device *dev = NULL;
    struct herald_diag diag = { "", "" };
    struct rusage ru;
    size_t count = 0, cold_errors = 0, warm_errors = 0, i;
    double t0, t1, t2, c0, c1, c2;
    char **domains, *buf = NULL;
    int c, rc = 0;

    while ((c = getopt(argc, argv, "c:d:j:w:")) != -1) {
        switch (c) {
        case 'c': config = optarg; break;
        case 'd': device = optarg; break;
        case 'j': window = strtoul(optarg, NULL, 10); break;
        case 'w': passes = strtoul(optarg, NULL, 10); break;
        default: return usage();
        }
    }
    if (config == NULL || optind + 1 != argc || window == 0 || window > 100000)
        return usage();
    domains = read_domains(argv[optind], &count, &buf);
    if (domains == NULL || count == 0) {
        fprintf(stderr, "herald_plans: no domains in %s\n", argv[optind]);
        free(domains);
        free(buf);
        return 2;
    }
    if (herald_open(config, &ctx, &diag) != HERALD_OK
        || herald_device(ctx, device, &dev, &diag) != HERALD_OK) {
        fprintf(stderr, "herald_plans: %s: %s\n", diag.where, diag.text);
        herald_close(&ctx);
        free(domains);
        free(buf);
        return 2;
    }
    t0 = now_s();
    c0 = cpu_s();
    if (run_pass(dev, domains, count, window, &cold_errors) != 0)
        rc = 2;
    t1 = now_s();
    c1 = cpu_s();
    for (i = 0; rc == 0 && i < passes; i++)
        if (run_pass(dev, domains, count, window, &warm_errors) != 0)
            rc = 2;
    t2 = now_s();
    c2 = cpu_s();
    getrusage(RUSAGE_SELF, &ru);
    herald_close(&ctx);
    free(domains);
    free(buf);
    if (rc != 0)
        return rc;
    printf("domains=%zu cold_s=%.3f cold_per_s=%.0f cold_cpu_s=%.2f cold_errors=%zu "
           "warm_plans=%zu warm_s=%.3f warm_per_s=%.0f warm_cpu_s=%.2f warm_errors=%zu "
           "maxrss_kb=%ld\n",
           count, t1 - t0, (double)count / (t1 - t0), c1 - c0, cold_errors,
           count * (size_t)passes, t2 - t1,
           passes > 0 ? (double)(count * passes) / (t2 - t1) : 0.0, c2 - c1, warm_errors,
           ru.ru_maxrss);
    return cold_errors + warm_errors == 0 ? 0 : 1;
}
