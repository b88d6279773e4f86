/* trace.c - placeholder; filled by its owner */
