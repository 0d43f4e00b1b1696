"""Reading shards, for any framework: ``from aggregate.dataset import ShardDataset`` (docs/reading.md).

``reader.py``: ``ShardDataset``, map-style; ``streaming.py``: its batches, read by processes that
decompress blocks into shared memory; ``blocks.py``: the unit both read in. It imports neither the
corpus units nor the code that builds manifests (a test holds it to that).
"""
from .reader import ShardDataset

__all__ = ["ShardDataset"]
