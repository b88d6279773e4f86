/* registry.c - placeholder; filled by its owner */
