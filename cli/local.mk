# herald CLI: filled by its owner
