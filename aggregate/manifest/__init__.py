"""Building the manifest: the corpus units' candidates become one Parquet table and its rejects.

``build.py`` builds it (header probe, label policy, rejects, splits); ``format.py`` is the
format (columns, metadata, the checked pair of Parquet and rejects CSV, reading and writing);
``splits.py`` assigns speaker-disjoint splits; ``select.py`` and ``where.py`` keep part of one.
"""
