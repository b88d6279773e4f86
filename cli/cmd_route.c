/* cmd_route.c - "herald route": placeholder until the route strategies land (owner: route) */
#include <stdio.h>

#include "cli.h"

/* cmd_route - temporary stub so the CLI links; engineer "route" replaces this file */
int
cmd_route(int argc, char **argv, const struct cli_globals *g)
{
    (void)argc;
    (void)argv;
    (void)g;
    fputs("herald route: not available yet\n", stderr);
    return EX_SOFTWARE;
}
