"""Which device a run trains on, and how many reader processes feed it.

TensorFlow places the model on the first GPU it sees, without flags; a run says which
(``python -m train`` prints it before training), so a user who installed the ``gpu``
extra knows it took. A GPU steps through batches faster than one reader process
decompresses them (about 3,000 samples/s each, docs/training.md), so the default
number of readers rises with one; on the CPU, one reader in the training process
leaves the cores to the model.
"""
from __future__ import annotations

import os


def gpus() -> list:
    import tensorflow as tf

    return tf.config.list_physical_devices("GPU")


def describe() -> str:
    """'GPU:0 (NVIDIA H100 80GB HBM3)' or 'the CPU (2 cores)': where Keras will put the model."""
    import tensorflow as tf

    found = gpus()
    if not found:
        return f"the CPU ({os.cpu_count()} cores; no GPU visible to TensorFlow)"
    name = tf.config.experimental.get_device_details(found[0]).get("device_name", "unknown model")
    more = f"; {len(found) - 1} more GPU(s) unused" if len(found) > 1 else ""
    return f"GPU:0 ({name}{more})"


def default_readers(on_gpu: bool) -> int:
    """Reader processes: 1 on the CPU; on a GPU as many as leave one core to the training process, up to 4."""
    return max(1, min(4, (os.cpu_count() or 2) - 1)) if on_gpu else 1
