/* cmd_route.c - "herald route": placeholder until the route strategies land (owner: route) */
