/* arena.c - placeholder; filled by its owner */
