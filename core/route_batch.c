/*
 * route_batch.c - herald_route_submit/herald_route_wait: plans without waiting one by one
 *
 * The asynchronous face of herald_route(): the same strategy, env and
 * shared plans (plan_share.c), with the loop run by the caller when it
 * has submitted what it wants in flight.
 */
#include <string.h>

#include <herald/herald.h>
#include <herald/loop.h>
#include <herald/route_batch.h>
#include "context.h"
#include "plan_share.h"

/* herald_route_submit - start a plan for domain; fn gets it from the loop */
herald_status
herald_route_submit(struct herald_device *dev, const char *domain, herald_plan_fn fn, void *arg,
                    struct herald_diag *diag)
{
    const struct herald_module_ref *ref;
    herald_status st;

    if (dev == NULL || domain == NULL || fn == NULL)
        return herald_diag_set(diag, HERALD_E_INVAL, "", "herald_route_submit: missing argument");
    ref = route_device_ref(dev);
    if (ref == NULL)
        return herald_diag_set(diag, HERALD_E_NOTFOUND, dev->conf->where,
                               "device \"%s\" has no route strategy", dev->conf->name);
    st = herald_route_start(ref, &dev->env, NULL, domain, fn, arg);
    if (st != HERALD_OK)
        return herald_diag_set(diag, st, dev->conf->name, "cannot plan \"%s\": %s",
                               st == HERALD_E_INVAL ? "(not a domain name)" : domain,
                               herald_strerror(st));
    return HERALD_OK;
}

/* herald_route_wait - run the loop until done(arg), or until nothing is left */
herald_status
herald_route_wait(struct herald_device *dev, bool (*done)(void *arg), void *arg)
{
    if (dev == NULL)
        return HERALD_E_INVAL;
    return herald_loop_run(dev->ctx->loop, done, arg, 0);
}
