/* env.c - placeholder; filled by its owner */
