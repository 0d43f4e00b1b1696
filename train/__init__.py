"""Train the paper's CNN on rendered shards: ``python -m train`` (reads aggregate's outputs, never the reverse)."""
