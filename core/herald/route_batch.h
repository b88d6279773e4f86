/*
 * herald/route_batch.h - many route plans at once, no mail sent
 *
 *   herald_route_submit(dev, "a.example", on_plan, arg, &diag);   ... many ...
 *   herald_route_wait(dev, all_done, arg);    runs the loop; on_plan runs in it
 *
 * Plans of one device overlap: their DNS lookups go out together (within
 * dns.max_inflight), identical ones are merged, and a domain already
 * planned shares its plan while its answers live.  The caller bounds how
 * many it submits at once.
 */
#ifndef HERALD_ROUTE_BATCH_H
#define HERALD_ROUTE_BATCH_H

#include <stdbool.h>
#include <herald/route.h>

#ifdef __cplusplus
extern "C" {
#endif

struct herald_device;

/* Start planning domain with dev's route strategy; fn(arg, plan) runs once,
 * from the loop (inside herald_route_wait), never from inside this call, and
 * owns the plan (herald_plan_free).  HERALD_E_NOTFOUND: dev has no route
 * strategy; HERALD_E_INVAL: not a domain name; HERALD_E_NOMEM. */
herald_status herald_route_submit(struct herald_device *dev, const char *domain,
                                  herald_plan_fn fn, void *arg, struct herald_diag *diag);
/* Run the context's loop until done(arg) is true or nothing is left to run. */
herald_status herald_route_wait(struct herald_device *dev, bool (*done)(void *arg), void *arg);

#ifdef __cplusplus
}
#endif
#endif
