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

/* herald_env_add_secret - hand a module's secret to the context */
herald_status
herald_env_add_secret(struct herald_env *env, const char *secret)
{
    if (env == NULL || secret == NULL || env->add_secret == NULL)
        return HERALD_E_INVAL;
    return env->add_secret(env->secret_arg, secret);
}
