/* loop.c - placeholder; filled by its owner */
