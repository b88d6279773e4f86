# conf: filled by its owner
