# route strategies: filled by their owner
