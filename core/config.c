/* config.c - placeholder; filled by its owner */
