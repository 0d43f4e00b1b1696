"""TensorFlow loaded in one place, with its start-up noise kept off the terminal.

Importing TensorFlow writes lines a user cannot act on: before its logging is set up,
whatever ``TF_CPP_MIN_LOG_LEVEL`` says, "All log messages before absl::InitializeLog() ..."
and "oneDNN custom operations are on ..." (twice); later, at the first tf.data pipeline,
C++ errors that are not errors ("NodeDef mentions attribute use_unbounded_threadpool ...",
"oneDNN supports DT_HALF only on platforms with AVX-512 ..."). So ``import_tensorflow``

* sets ``TF_CPP_MIN_LOG_LEVEL=3`` unless the user set it (that silences the later lines);
* points file descriptor 2 at a temporary file while TensorFlow loads, then passes on every
  line of it that is not one of the known start-up lines (a real problem still shows);
* ignores Keras's warning that ``shuffle=True`` is ignored for a tf.data input (ours is shuffled
  by the pipeline itself).

Every command calls it before its first TensorFlow or Keras import (``train.commands.train``,
``RunFolder.load_model``); importing TensorFlow elsewhere first only brings the noise back.
"""
from __future__ import annotations

import os
import sys
import tempfile
import warnings

NOISE = ("All log messages before absl::InitializeLog() is called", "oneDNN custom operations are on",
         "cpu_feature_guard.cc", "To enable the following instructions", "rebuild TensorFlow with the appropriate",
         "use_unbounded_threadpool", "oneDNN supports DT_HALF only")


def import_tensorflow():
    """The ``tensorflow`` module, imported (once) without its start-up lines on stderr."""
    warnings.filterwarnings("ignore", message="`shuffle=True` was passed")
    if "tensorflow" in sys.modules:
        return sys.modules["tensorflow"]
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    sys.stderr.flush()
    saved = os.dup(2)
    with tempfile.TemporaryFile() as caught:
        os.dup2(caught.fileno(), 2)
        try:
            import tensorflow
        finally:
            os.dup2(saved, 2)
            os.close(saved)
            caught.seek(0)
            kept = [line for line in caught.read().decode(errors="replace").splitlines(keepends=True)
                    if not any(noise in line for noise in NOISE)]
            if kept:
                sys.stderr.write("".join(kept))
                sys.stderr.flush()
    return tensorflow
