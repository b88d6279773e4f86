/*
 * route_twice.c - test module: a strategy that answers twice, once at once
 * (done with 127.0.0.1, twice) and again (fail) from the loop's next pass,
 * right after the core has handed the first answer over: the second must be traced as the
 * strategy's error and ignored, touching nothing freed.
 */
#include <string.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <herald/device.h>
#include <herald/loop.h>
#include <herald/module.h>
#include <herald/route.h>

static void
answer_again(void *arg)
{
    herald_route_fail(arg, HERALD_RESULT_FAILED, "5.0.0", "second answer");
}

static herald_status
twice_plan(const void *options, struct herald_route_request *req)
{
    struct herald_address a;
    struct sockaddr_in *sin = (struct sockaddr_in *)&a.sa;
    size_t hop;

    (void)options;
    memset(&a, 0, sizeof a);
    sin->sin_family = AF_INET;
    sin->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    a.len = sizeof *sin;
    strcpy(a.text, "127.0.0.1");
    if (herald_route_add_hop(req, "twice.test", 2525, -1, "twice", &hop) == HERALD_OK)
        (void)herald_route_add_address(req, hop, &a);
    herald_route_done(req);
    herald_route_done(req);        /* at once: ignored too */
    return herald_loop_defer(herald_env_loop(herald_route_env(req)), answer_again, req);
}

static const struct herald_route_ops twice_ops = { sizeof twice_ops, twice_plan };

const struct herald_module herald_module = {
    HERALD_MODULE_HEADER(HERALD_KIND_ROUTE),
    .name = "twice", .summary = "answers twice (test)", .ops = &twice_ops,
};
