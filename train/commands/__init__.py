"""What each command of ``python -m train`` does, one module each (``train.cli`` parses the command line):

* ``train``: train a model into a run folder, then evaluate it (the default command);
* ``evaluate``: recompute a run's figures (and how every run's figures are written);
* ``predict``: probabilities per emotion for audio files;
* ``baseline``: the logistic regression on per-band statistics that a network must beat;
* ``benchmark``: the leaderboard over speaker folds.

What they share: ``train.inputs`` (options, shards, splits), ``train.run_folder``, ``train.fit``.
"""
