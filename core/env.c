/*
 * env.c - what the core lends a module: accessors for struct herald_env (env.h)
 */
#include <stddef.h>

#include "env.h"

/* herald_env_loop - the event loop the module's work runs on; borrowed */
struct herald_loop *
herald_env_loop(struct herald_env *env)
{
    return env != NULL ? env->loop : NULL;
}

/* herald_env_trace - the device-wide trace scope (id "-"); borrowed */
const struct herald_trace *
herald_env_trace(struct herald_env *env)
{
    return env != NULL ? &env->trace : NULL;
}
