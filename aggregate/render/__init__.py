"""Rendering: a manifest's clips through the feature recipe into a shards folder.

``run.py``: ``render_shards``, this process's side (plan, tasks, shards written in row order);
``pool.py``: who runs the tasks (joblib: this process, loky workers or Dask); ``worker.py``:
what a worker runs, and nothing that would slow its start.
"""
