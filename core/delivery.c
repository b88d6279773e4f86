/* delivery.c - placeholder; filled by its owner */
