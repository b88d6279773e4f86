/*
 * smtp_pool.c - idle SMTP sessions and sessions saying QUIT (see smtp_pool.h)
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "smtp_pool.h"

struct pooled {
    struct pooled *next;
    struct smtp_pool *pool;
    struct smtp_session *session;
    char key[SMTP_POOL_KEY_MAX];
    struct herald_timer *timer;       /* idle: its end */
    struct smtp_dest *slot;           /* closing: handed to closed() when it is gone */
};

struct smtp_pool {
    struct herald_loop *loop;
    struct smtp_pool_opts opts;
    void (*closed)(void *arg, struct smtp_dest *slot);
    void *arg;
    struct pooled *idle;
    size_t idle_count;
    struct pooled *closing;           /* QUIT sent, waiting for the 221 or the close */
};

/* smtp_session_key - "ADDR PORT HOST[ auth]" */
void
smtp_session_key(char *buf, size_t cap, const struct herald_address *addr, uint16_t port,
                 const char *host, bool auth)
{
    snprintf(buf, cap, "%s %u %s%s", addr->text, (unsigned)port, host != NULL ? host : "",
             auth ? " auth" : "");
}

herald_status
smtp_pool_new(struct herald_loop *loop, const struct smtp_pool_opts *opts,
              void (*closed)(void *arg, struct smtp_dest *slot), void *arg,
              struct smtp_pool **pool_out)
{
    struct smtp_pool *p;

    if (loop == NULL || opts == NULL || closed == NULL || pool_out == NULL)
        return HERALD_E_INVAL;
    p = calloc(1, sizeof *p);
    if (p == NULL)
        return HERALD_E_NOMEM;
    p->loop = loop;
    p->opts = *opts;
    p->closed = closed;
    p->arg = arg;
    *pool_out = p;
    return HERALD_OK;
}

/* list_unlink - take ps out of the list at *head */
static void
list_unlink(struct pooled **head, struct pooled *ps)
{
    struct pooled **pp;

    for (pp = head; *pp != NULL; pp = &(*pp)->next)
        if (*pp == ps) {
            *pp = ps->next;
            return;
        }
}

static void
idle_unlink(struct pooled *ps)
{
    list_unlink(&ps->pool->idle, ps);
    ps->pool->idle_count--;
}

/* on_quit_done - a retired session is closed: free it, tell the owner */
static void
on_quit_done(void *arg)
{
    struct pooled *ps = arg;
    struct smtp_pool *p = ps->pool;
    struct smtp_dest *slot = ps->slot;

    list_unlink(&p->closing, ps);
    smtp_session_free(&ps->session);
    free(ps);
    p->closed(p->arg, slot);
}

/*
 * retire - end a session politely: QUIT, wait for the 221, then close.  ps
 * (NULL when there was no memory for it) tracks the session on the closing
 * list until then, so smtp_pool_drain() can wait for it.
 */
static void
retire(struct smtp_pool *p, struct smtp_session *s, struct pooled *ps, struct smtp_dest *slot)
{
    if (ps == NULL && (ps = calloc(1, sizeof *ps)) == NULL) {
        smtp_session_free(&s);
        p->closed(p->arg, slot);
        return;
    }
    ps->pool = p;
    ps->session = s;
    ps->slot = slot;
    ps->next = p->closing;
    p->closing = ps;
    smtp_session_quit(s, on_quit_done, ps);
}

void
smtp_pool_retire(struct smtp_pool *p, struct smtp_session *s, struct smtp_dest *slot)
{
    retire(p, s, NULL, slot);
}

/* on_idle_timer - an idle session has waited long enough: QUIT */
static void
on_idle_timer(void *arg)
{
    struct pooled *ps = arg;

    herald_timer_cancel(&ps->timer);
    idle_unlink(ps);
    retire(ps->pool, ps->session, ps, NULL);
}

struct smtp_session *
smtp_pool_take(struct smtp_pool *p, const char *key)
{
    struct pooled *ps, *next;

    for (ps = p->idle; ps != NULL; ps = next) {
        struct smtp_session *s = ps->session;

        next = ps->next;
        if (strcmp(ps->key, key) != 0)
            continue;
        herald_timer_cancel(&ps->timer);
        idle_unlink(ps);
        if (!smtp_session_usable(s)) {
            /* the server closed it while it waited, or said 421 */
            retire(p, s, ps, NULL);
            continue;
        }
        free(ps);
        return s;
    }
    return NULL;
}

bool
smtp_pool_put(struct smtp_pool *p, struct smtp_session *s, const char *key)
{
    struct pooled *ps;

    /* The delivery whose trace the session had ends now: an idle session (its
     * QUIT included) traces to the pool's scope. */
    smtp_session_set_trace(s, p->opts.trace);
    if (!p->opts.cache || !smtp_session_usable(s) || p->idle_count >= p->opts.max_idle
        || (ps = calloc(1, sizeof *ps)) == NULL)
        return false;
    ps->pool = p;
    ps->session = s;
    snprintf(ps->key, sizeof ps->key, "%s", key);
    if (herald_timer_start(p->loop, p->opts.idle_ms, on_idle_timer, ps, &ps->timer)
        != HERALD_OK) {
        free(ps);
        return false;
    }
    ps->next = p->idle;
    p->idle = ps;
    p->idle_count++;
    return true;
}

static bool
nothing_closing(void *arg)
{
    const struct smtp_pool *p = arg;

    return p->closing == NULL;
}

/* free_closing - what is still saying goodbye, at once */
static void
free_closing(struct smtp_pool *p)
{
    while (p->closing != NULL) {
        struct pooled *ps = p->closing;

        p->closing = ps->next;
        smtp_session_free(&ps->session);
        free(ps);
    }
}

void
smtp_pool_drain(struct smtp_pool *p, uint64_t bound_ms)
{
    if (p == NULL)
        return;
    while (p->idle != NULL) {
        struct pooled *ps = p->idle;

        herald_timer_cancel(&ps->timer);
        idle_unlink(ps);
        retire(p, ps->session, ps, NULL);
    }
    if (p->closing != NULL)
        (void)herald_loop_run(p->loop, nothing_closing, p, bound_ms);
    free_closing(p);
}

size_t
smtp_pool_idle(const struct smtp_pool *p)
{
    return p != NULL ? p->idle_count : 0;
}

void
smtp_pool_free(struct smtp_pool **pp)
{
    struct smtp_pool *p;

    if (pp == NULL || (p = *pp) == NULL)
        return;
    while (p->idle != NULL) {
        struct pooled *ps = p->idle;

        p->idle = ps->next;
        herald_timer_cancel(&ps->timer);
        smtp_session_free(&ps->session);
        free(ps);
    }
    free_closing(p);
    free(p);
    *pp = NULL;
}
