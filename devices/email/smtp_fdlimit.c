/*
 * smtp_fdlimit.c - max_sessions against RLIMIT_NOFILE (see smtp_fdlimit.h)
 */
#include <fcntl.h>
#include <limits.h>
#include <string.h>
#include <sys/resource.h>

#include "smtp_fdlimit.h"

static unsigned long
shown(rlim_t v)
{
    return v == RLIM_INFINITY || v > ULONG_MAX ? ULONG_MAX : (unsigned long)v;
}

/* count_open - descriptors open below limit; only called when limit is
 * short of what the pool needs, so the loop is as small as the limit */
static size_t
count_open(rlim_t limit)
{
    size_t n = 0;
    rlim_t fd;

    for (fd = 0; fd < limit && fd < (rlim_t)INT_MAX; fd++)
        if (fcntl((int)fd, F_GETFD) != -1)
            n++;
    return n;
}

/* try_soft - set the soft limit to v; true when it took */
static bool
try_soft(struct rlimit *rl, rlim_t v)
{
    struct rlimit want = { v, rl->rlim_max };

    if (setrlimit(RLIMIT_NOFILE, &want) != 0)
        return false;
    rl->rlim_cur = v;
    return true;
}

void
smtp_fd_budget(size_t sessions, size_t extra, struct smtp_fd_budget *out)
{
    struct rlimit rl;
    size_t room;

    memset(out, 0, sizeof *out);
    out->sessions = sessions > 0 ? sessions : 1;
    out->need = out->sessions + extra + SMTP_FD_SPARE;
    if (getrlimit(RLIMIT_NOFILE, &rl) != 0)
        return;     /* nothing known: the pool copes at run time */
    out->soft_before = shown(rl.rlim_cur);
    out->hard = shown(rl.rlim_max);
    if (rl.rlim_cur == RLIM_INFINITY || rl.rlim_cur >= (rlim_t)out->need) {
        out->soft = out->soft_before;
        return;
    }
    /* Short: the hard limit where allowed (a hard limit of "unlimited" can
     * be refused for descriptors, so then just what is needed). */
    if (rl.rlim_max != RLIM_INFINITY && rl.rlim_max > rl.rlim_cur)
        (void)try_soft(&rl, rl.rlim_max);
    else if (rl.rlim_max == RLIM_INFINITY)
        (void)try_soft(&rl, (rlim_t)out->need);
    if (rl.rlim_cur < (rlim_t)out->need
        && (rl.rlim_max == RLIM_INFINITY || rl.rlim_max >= (rlim_t)out->need))
        (void)try_soft(&rl, (rlim_t)out->need);   /* the hard limit was refused */
    out->soft = shown(rl.rlim_cur);
    out->raised = out->soft > out->soft_before;
    if (rl.rlim_cur >= (rlim_t)out->need)
        return;
    out->open_now = count_open(rl.rlim_cur);
    room = (size_t)rl.rlim_cur;
    room = room > out->open_now + extra + SMTP_FD_SPARE
           ? room - out->open_now - extra - SMTP_FD_SPARE : 1;
    if (room < out->sessions) {
        out->sessions = room > 0 ? room : 1;
        out->clamped = true;
    }
}
