"""Shards: the rendered features on disk. ``ShardsFolder`` is the folder, ``h5`` one file, ``verify`` the check."""
from .folder import INDEX_FILE, MANIFEST_FILE, PLAN_FILE, ShardsFolder, make_plan, shard_name
from .h5 import ShardColumns
from .verify import VerifyReport, verify_shards

__all__ = ["INDEX_FILE", "MANIFEST_FILE", "PLAN_FILE", "ShardColumns", "ShardsFolder", "VerifyReport",
           "make_plan", "shard_name", "verify_shards"]
