/*
 * herald/option.h - declarative option tables for modules and the core
 *
 * A module describes its options in a table; the core validates a libconfig
 * group against it before anything runs, and writes the typed values into
 * the module's options block (a struct of the module's own, located by
 * offsetof).  Modules never see configuration text.
 *
 * Checks made for every group: unknown option, wrong type, missing required
 * option, value out of range or not among the allowed words, integer literal
 * too large for 64 bits, control characters in a string.  Every error reads
 *   FILE:LINE: device "NAME": option "route.port": value 70000 out of range (1..65535)
 *
 * Lifetime: strings and lists written into an options block are owned by the
 * herald context and stay valid until herald_close().
 */
#ifndef HERALD_OPTION_H
#define HERALD_OPTION_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

enum herald_opt_type {
    HERALD_OPT_STRING = 1,  /* const char *                                  */
    HERALD_OPT_INT = 2,     /* int64_t, within [min, max]                     */
    HERALD_OPT_BOOL = 3,    /* bool                                           */
    HERALD_OPT_MSEC = 4,    /* int64_t milliseconds, within [min, max]        */
    HERALD_OPT_ENUM = 5,    /* int: index into choices[]                      */
    HERALD_OPT_STRLIST = 6, /* struct herald_strlist: a string or a list      */
    HERALD_OPT_MODE = 7,    /* int file mode: an octal string "0640" or int   */
    HERALD_OPT_GROUP = 8,   /* nested group: sub[] applied at offset          */
    HERALD_OPT_MODULE = 9   /* group naming a module: struct herald_module_ref */
};

#define HERALD_OPT_REQUIRED  0x1u  /* must be present                         */
#define HERALD_OPT_SECRET    0x2u  /* never traced; file must not be group/other readable */
#define HERALD_OPT_ALLOWCTL  0x4u  /* string may hold control characters      */

struct herald_option {
    const char *name;
    enum herald_opt_type type;
    size_t offset;                         /* offsetof() in the options block */
    unsigned flags;                        /* HERALD_OPT_REQUIRED | ...       */
    int64_t min, max;                      /* INT, MSEC: inclusive bounds      */
    const char *const *choices;            /* ENUM: NULL-terminated words      */
    const struct herald_option *sub;       /* GROUP: table of the nested group */
    unsigned module_kind;                  /* MODULE: enum herald_module_kind  */
    const char *module_key;                /* MODULE: member naming the module */
    const char *help;                      /* one line, for "herald options"   */
};
#define HERALD_OPT_END { NULL, (enum herald_opt_type)0, 0, 0, 0, 0, NULL, NULL, 0, NULL, NULL }

struct herald_strlist {
    size_t count;
    const char *const *items;
};

struct herald_module;
/* What a HERALD_OPT_MODULE member holds after validation. */
struct herald_module_ref {
    const struct herald_module *module;    /* NULL when the group is absent   */
    const void *options;                   /* the module's own options block  */
};

#ifdef __cplusplus
}
#endif
#endif
