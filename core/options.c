/* options.c - placeholder; filled by its owner */
