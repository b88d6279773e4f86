# file device: filled by its owner
