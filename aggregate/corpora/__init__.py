"""The corpus registry: the one list of corpora that everything iterates.

Each module is a self-describing unit (see docs/adding-a-corpus.md): ``NAME``,
``TITLE``, ``COLOR``, ``LICENSE``, ``CITATION``, ``EXPECTED`` (the layout, for
messages and --help), ``COLUMNS`` (the manifest columns it adds, with dtypes),
``VOTED`` (labels from raters' votes, or acted), ``OPTIONS`` (its label-policy
choices), ``locate(path)`` and ``parse(root, policy)``. Its demo forger lives in ``aggregate/demo/``.
Corpus order in manifests, summaries and figures, CLI flags and the manifest
schema all follow this registry.
"""
from . import crema_d, iemocap, ravdess, tess
from .base import option_key

CORPORA = {module.NAME: module for module in (iemocap, crema_d, tess, ravdess)}

# Every corpus option, by its policy key ("ravdess_calm_as_neutral"), in registry order.
OPTIONS = {option_key(name, option.name): option for name, module in CORPORA.items() for option in module.OPTIONS}
