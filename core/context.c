/* context.c - placeholder; filled by its owner */
