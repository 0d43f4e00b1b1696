"""The demo corpora: synthetic clips in each corpus's native layout, defects included, with answer keys.

``corpora.py``: ``write_demo_corpora`` (all of them, and ``FORGERS``); ``<corpus>.py``: one corpus's
forger; ``forge.py``: the synthetic voice and the answer key they share. ``python -m aggregate demo``
and the tests use them; nothing else imports this package.
"""
