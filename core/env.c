/*
 * env.c - what the core lends a module: accessors for struct herald_env (env.h)
 */
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "env.h"
#include "text.h"

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

/*
 * herald_env_note - keep one line for the administrator (herald check).
 * Bounded (a module's loop cannot grow it without end); a control character
 * becomes '?' so a note is always one printable line on a terminal.
 */
herald_status
herald_env_note(struct herald_env *env, const char *text)
{
    char **notes, *copy;
    size_t len;

    if (env == NULL || text == NULL || text[0] == '\0')
        return HERALD_E_INVAL;
    len = strnlen(text, HERALD_NOTE_MAX + 1);
    if (len > HERALD_NOTE_MAX || env->note_count >= HERALD_NOTES_MAX)
        return HERALD_E_INVAL;
    copy = text_printable_dup(text, len, TEXT_LINE);
    if (copy == NULL)
        return HERALD_E_NOMEM;
    notes = realloc(env->notes, (env->note_count + 1) * sizeof *notes);
    if (notes == NULL) {
        free(copy);
        return HERALD_E_NOMEM;
    }
    notes[env->note_count++] = copy;
    env->notes = notes;
    return HERALD_OK;
}

void
env_notes_free(struct herald_env *env)
{
    size_t i;

    for (i = 0; i < env->note_count; i++)
        free(env->notes[i]);
    free(env->notes);
    env->notes = NULL;
    env->note_count = 0;
}
