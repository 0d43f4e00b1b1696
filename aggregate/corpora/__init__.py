"""One module per corpus, each with ``NAME``, ``EXPECTED``, ``locate(path)`` and ``parse(root, policy)``."""
from . import crema_d, iemocap, ravdess, tess

# The order corpora appear in manifests and summaries.
CORPORA = {module.NAME: module for module in (iemocap, crema_d, tess, ravdess)}
