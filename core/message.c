/* message.c - placeholder; filled by its owner */
