"""The fixed vocabularies: names every stage shares, defined here and nowhere else.

A leaf module: it imports nothing of ``aggregate``, so anything may ask it.
"""
from __future__ import annotations

# The seven emotions and their order: every manifest column, shard array and model output follows it.
EMOTIONS: tuple[str, ...] = ("neutral", "anger", "disgust", "fear", "happy", "sad", "surprise")

# The splits a clip can be in, in this order (aggregate.manifest.split_assign assigns them).
SPLITS: tuple[str, ...] = ("train", "val", "test")
HELD_OUT_SPLITS: tuple[str, ...] = SPLITS[1:]  # the splits scored, never trained on
# How a split can be made (``SplitConfig.strategy``; aggregate.manifest.split_assign says what each does).
SPLIT_STRATEGIES: tuple[str, ...] = ("speakers", "leave-one-corpus-out", "kfold", "random")

# What names one clip wherever clips travel: a shard's string columns, a splits file's columns, a reader's.
CLIP_COLUMNS: tuple[str, ...] = ("sample_id", "speaker", "corpus", "split")

# A shards folder's own files (docs/shards.md), for every stage that meets a shards folder.
INDEX_FILE = "index.json"
PLAN_FILE = "plan.json"
MANIFEST_FILE = "manifest.parquet"
LOCK_FILE = ".render.lock"  # held by the render writing the folder
