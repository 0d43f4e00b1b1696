"""The shards format: the rendered features on disk.

``reading.py``: ``ShardsFolder``, a finished folder opened and checked (its layout, plan, index);
``writing.py``: a folder being rendered (lock, drafts, index); ``h5.py``: one shard file;
``storage.py``: how features are stored (light: the command line imports it for its flags);
``verify.py``: the end-to-end check.
"""
