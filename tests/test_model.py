"""train.model: shapes, the loss by hand, class weights, SpecAugment, a few training steps, save/load."""
from __future__ import annotations

import numpy as np
import pytest

keras = pytest.importorskip("keras")

from train.model import (ModelConfig, SpecAugment, WeightedBCE, build_model, class_weights,  # noqa: E402
                         compile_model, weighted_bce)

FULL_PARAMS = (0.85e6, 1.0e6)  # 926,167 with the defaults: 98 k conv + 786 k first dense (3072 -> 256) + ...
SMALL_PARAMS = (2e4, 6e4)  # 42,767


def spectrograms(n, seed=0):
    return np.random.default_rng(seed).uniform(-1, 1, (n, 200, 278, 1)).astype("float32")


@pytest.fixture(scope="module")
def full():
    return build_model(ModelConfig())


@pytest.fixture(scope="module")
def small():
    return build_model(ModelConfig(small=True))


def test_full_model_is_four_conv_blocks_and_four_dense_layers(full):
    kinds = [type(layer).__name__ for layer in full.layers]
    assert kinds.count("Conv2D") == 4 and kinds.count("BatchNormalization") == 4 and kinds.count("Dense") == 4
    assert [full.get_layer(f"conv{i}").filters for i in range(1, 5)] == [16, 32, 64, 128]
    assert [full.get_layer(f"dense{i}").units for i in range(1, 4)] == [256, 128, 64]
    assert all(full.get_layer(f"bn{i}").momentum == 0.9 for i in range(1, 5))
    assert full.get_layer("emotions").units == 7
    n = full.count_params()
    print(f"full model: {n:,} parameters")
    assert FULL_PARAMS[0] <= n <= FULL_PARAMS[1]


@pytest.mark.parametrize("which", ["full", "small"])
def test_shapes_and_sigmoid_range(which, request):
    model = request.getfixturevalue(which)
    assert model.input_shape == (None, 200, 278, 1)
    out = model.predict(spectrograms(3), verbose=0)
    assert out.shape == (3, 7)
    assert np.all((out > 0) & (out < 1))
    if which == "small":
        print(f"small model: {model.count_params():,} parameters")
        assert SMALL_PARAMS[0] <= model.count_params() <= SMALL_PARAMS[1]


def test_pooling_choices_and_seeds():
    flat = build_model(ModelConfig(small=True, pooling="flatten"))
    assert flat.count_params() > build_model(ModelConfig(small=True)).count_params()
    a, b, c = (build_model(ModelConfig(small=True, seed=s)) for s in (1, 1, 2))
    assert all(np.array_equal(x, y) for x, y in zip(a.get_weights(), b.get_weights()))
    assert not np.array_equal(a.get_weights()[0], c.get_weights()[0])
    with pytest.raises(ValueError):
        ModelConfig(pooling="avg")


def test_spec_augment_masks_stripes_in_training_only():
    x = spectrograms(4)
    layer = SpecAugment(time_masks=2, time_mask_width=30, freq_masks=2, freq_mask_width=20, seed=0)
    assert np.array_equal(np.asarray(layer(x, training=False)), x)
    y = np.asarray(layer(x, training=True))
    changed = y != x
    assert changed.any()
    for i in range(4):  # a changed cell lies in a whole masked column (all frequencies) or row (all frames)
        cols, rows = changed[i, :, :, 0].all(0), changed[i, :, :, 0].all(1)
        assert np.array_equal(changed[i, :, :, 0], cols[None, :] | rows[:, None])
        assert 0 < cols.sum() <= 60 or 0 < rows.sum() <= 40
        assert np.allclose(y[i][changed[i]], x[i].mean())  # masked to the clip's mean


def test_spec_augment_changes_the_model_only_in_training():
    x = spectrograms(4)
    plain = build_model(ModelConfig(small=True, dropout=0.0))
    augmented = build_model(ModelConfig(small=True, dropout=0.0, spec_augment=True))
    assert augmented.layers[1].name == "spec_augment"  # first, right after the input
    # same seed, same weights: inference is identical; training mode (batch statistics) is not
    assert np.array_equal(plain.predict(x, verbose=0), augmented.predict(x, verbose=0))
    assert np.allclose(plain(x, training=True), plain(x, training=True))
    assert not np.allclose(plain(x, training=True), augmented(x, training=True))


def test_weighted_bce_by_hand():
    y = np.array([[1.0, 0.0], [0.0, 1.0]])
    p = np.array([[0.8, 0.4], [0.5, 0.9]])
    # clip 0: (2 * -ln .8 + -ln .6) / 2 = (0.446287 + 0.510826) / 2 = 0.478556
    # clip 1: (-ln .5 + 3 * -ln .9) / 2 = (0.693147 + 0.316082) / 2 = 0.504615
    # mean over the batch: 0.491585
    assert float(weighted_bce([2.0, 3.0])(y, p)) == pytest.approx(0.491585, abs=1e-5)


def test_weighted_bce_with_unit_weights_is_plain_bce():
    rng = np.random.default_rng(0)
    y = (rng.random((16, 7)) < 0.3).astype("float32")
    p = rng.uniform(0.01, 0.99, (16, 7)).astype("float32")
    plain = keras.losses.BinaryCrossentropy()
    assert float(weighted_bce(np.ones(7))(y, p)) == pytest.approx(float(plain(y, p)), rel=1e-6)
    # saturated sigmoid outputs: both go through the logits, not clipped probabilities
    logits = keras.ops.convert_to_tensor(rng.uniform(-30, 30, (16, 7)).astype("float32"))
    q = keras.activations.sigmoid(logits)
    assert float(weighted_bce(np.ones(7))(y, q)) == pytest.approx(float(plain(y, q)), rel=1e-6)


def test_class_weights():
    labels = np.zeros((60, 7))
    labels[:15, 0] = 1  # 15 of 60: 45 / 15 = 3
    labels[:30, 1] = 1  # half: 30 / 30 = 1
    labels[:45, 2] = 1  # the majority: 15 / 45 = 1/3, clipped up to 1
    labels[:1, 3] = 1  # 1 of 60: 59, clipped down to 50
    labels[:4, 4] = 1  # 56 / 4 = 14
    labels[:12, 5] = 1  # 48 / 12 = 4
    # surprise: no positive -> 1
    assert class_weights(labels).tolist() == [3.0, 1.0, 1.0, 50.0, 14.0, 4.0, 1.0]
    with pytest.raises(ValueError):
        class_weights(labels[:, :6])


def separable(n, seed=0):
    """Noise, plus a bright band of mel rows for each present emotion: learnable in a few steps."""
    rng = np.random.default_rng(seed)
    y = (rng.random((n, 7)) < 0.35).astype("float32")
    x = rng.normal(-0.5, 0.1, (n, 200, 278, 1)).astype("float32")
    for k in range(7):
        x[y[:, k] == 1, 20 + 25 * k: 35 + 25 * k] += 1.0
    return np.clip(x, -1, 1), y


def test_small_model_learns_separable_data():
    x, y = separable(32)
    config = ModelConfig(small=True, dropout=0.0, seed=0)  # no dropout: the training-mode loss is not noise
    model = compile_model(build_model(config), config, class_weights(y))
    losses = [float(model.train_on_batch(x, y)[0]) for _ in range(12)]  # each call reports its own batch
    assert np.mean(losses[-3:]) < 0.8 * losses[0], losses


def test_save_and_load_round_trip(tmp_path):
    x, y = separable(16, seed=1)
    config = ModelConfig(small=True, spec_augment=True)
    model = compile_model(build_model(config), config, pos_weights=class_weights(y))
    model.train_on_batch(x, y)
    path = tmp_path / "model.keras"
    model.save(path)
    loaded = keras.models.load_model(path)  # no custom_objects: WeightedBCE and SpecAugment are registered
    assert isinstance(loaded.loss, WeightedBCE) and loaded.loss.pos_weights == model.loss.pos_weights
    assert np.allclose(loaded.predict(x, verbose=0), model.predict(x, verbose=0), atol=1e-6)
    assert loaded.evaluate(x, y, verbose=0)[0] == pytest.approx(model.evaluate(x, y, verbose=0)[0], rel=1e-5)
