"""A model file received in a run folder runs no code: Keras loads it in safe mode, and a model that
would rebuild Python code (a Lambda layer) is one line, not a call of that code (issue 17's audit)."""
from __future__ import annotations

import pytest

from aggregate.errors import InputError
from train.run_folder import RunFolder


@pytest.mark.slow
def test_a_model_with_python_code_in_it_is_refused(tmp_path):
    import keras

    inputs = keras.Input((3,))
    outputs = keras.layers.Lambda(lambda x: x * 2)(inputs)  # its bytecode travels in the file
    run = RunFolder.create(tmp_path / "run")
    run.save_model(keras.Model(inputs, outputs))
    with pytest.raises(InputError, match=r"model\.keras cannot be loaded \(.*[Ll]ambda") as caught:
        RunFolder.open(tmp_path / "run", need=(RunFolder.MODEL,)).load_model()
    assert "\n" not in str(caught.value)
