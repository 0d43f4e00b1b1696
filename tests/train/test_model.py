"""train.models and train.losses: shapes, the losses by hand, class weights, augmentation layers, the views
computed in the model, every registered model built, trained a step, saved and loaded."""
from __future__ import annotations

import numpy as np
import pytest

keras = pytest.importorskip("keras")

from train.fit import compile_for  # noqa: E402
from train.losses import SoftmaxCE, WeightedBCE, class_weights, emotion_weights, weighted_bce  # noqa: E402
from train.models import MODELS  # noqa: E402
from aggregate.views import VIEWS  # noqa: E402
from train.models.features import MFCC, Functionals, mfcc_matrix  # noqa: E402
from train.models.layers import SpecAugment, TimeShift  # noqa: E402
from train.models.paper_cnn import Options, build_model  # noqa: E402

pytestmark = pytest.mark.slow  # TensorFlow

FULL_PARAMS = (0.85e6, 1.0e6)  # 926,167 with the defaults: 98 k conv + 786 k first dense (3072 -> 256) + ...
SMALL_PARAMS = (2e4, 6e4)  # 42,767


def spectrograms(n, seed=0):
    return np.random.default_rng(seed).uniform(-1, 1, (n, 200, 278, 1)).astype("float32")


@pytest.fixture(scope="module")
def full():
    return build_model(Options())


@pytest.fixture(scope="module")
def small():
    return build_model(Options(small=True))


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
    flat = build_model(Options(small=True, pooling="flatten"))
    assert flat.count_params() > build_model(Options(small=True)).count_params()
    a, b, c = (build_model(Options(small=True), seed=s) for s in (1, 1, 2))
    assert all(np.array_equal(x, y) for x, y in zip(a.get_weights(), b.get_weights()))
    assert not np.array_equal(a.get_weights()[0], c.get_weights()[0])
    with pytest.raises(ValueError):
        Options(pooling="avg")


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
    plain = build_model(Options(small=True, dropout=0.0))
    augmented = build_model(Options(small=True, dropout=0.0, spec_augment=True))
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


def compile_paper(model, y):
    return compile_for(model, MODELS["paper-cnn"], class_weights(y), steps=100, learning_rate=1e-3)


def test_small_model_learns_separable_data():
    x, y = separable(32)
    options = Options(small=True, dropout=0.0)  # no dropout: the training-mode loss is not noise
    model = compile_paper(build_model(options, seed=0), y)
    losses = [float(model.train_on_batch(x, y)[0]) for _ in range(12)]  # each call reports its own batch
    assert np.mean(losses[-3:]) < 0.8 * losses[0], losses


def test_save_and_load_round_trip(tmp_path):
    x, y = separable(16, seed=1)
    model = compile_paper(build_model(Options(small=True, spec_augment=True)), y)
    model.train_on_batch(x, y)
    path = tmp_path / "model.keras"
    model.save(path)
    loaded = keras.models.load_model(path)  # no custom_objects: WeightedBCE and SpecAugment are registered
    assert isinstance(loaded.loss, WeightedBCE) and loaded.loss.pos_weights == model.loss.pos_weights
    assert np.allclose(loaded.predict(x, verbose=0), model.predict(x, verbose=0), atol=1e-6)
    assert loaded.evaluate(x, y, verbose=0)[0] == pytest.approx(model.evaluate(x, y, verbose=0)[0], rel=1e-5)


def test_time_shift_rolls_whole_clips_in_training_only():
    x = spectrograms(3)
    layer = TimeShift(max_shift=5, seed=0)
    assert np.array_equal(np.asarray(layer(x, training=False)), x)
    y = np.asarray(layer(x, training=True))
    for i in range(3):  # each clip is its own roll by at most 5 frames
        assert any(np.array_equal(y[i], np.roll(x[i], s, axis=1)) for s in range(-5, 6))


def test_softmax_ce_by_hand():
    y = np.array([[1.0, 0, 0, 0, 0, 0, 0], [0, 1.0, 1.0, 0, 0, 0, 0]])
    p = np.array([[0.5, 0.1, 0.1, 0.1, 0.1, 0.05, 0.05], [0.1, 0.4, 0.2, 0.1, 0.1, 0.05, 0.05]])
    w = np.array([2.0, 1, 1, 1, 1, 1, 1])
    # clip 0: -2 ln .5 = 1.386294; clip 1: -(ln .4 + ln .2) / 2 = (0.916291 + 1.609438) / 2 = 1.262864
    assert float(SoftmaxCE(w)(y, p)) == pytest.approx((1.386294 + 1.262864) / 2, abs=1e-5)
    plain = keras.losses.CategoricalCrossentropy()
    assert float(SoftmaxCE(np.ones(7))(y[:1], p[:1])) == pytest.approx(float(plain(y[:1], p[:1])), rel=1e-5)


def test_emotion_weights():
    labels = np.zeros((40, 7))
    labels[:10, 0] = 1  # neutral 10
    labels[10:30, 1] = 1  # anger 20
    labels[30:38, 2] = 1  # disgust 8
    labels[38:40, [3, 4]] = 1  # two clips with fear and happy: half a clip each, 1 in all
    # shares 10, 20, 8, 1, 1, 0, 0; mean over the five present: 8; ratios 0.8, 0.4 -> 0.5, 1, 8 -> 5, 8 -> 5
    assert emotion_weights(labels).tolist() == [0.8, 0.5, 1.0, 5.0, 5.0, 1.0, 1.0]


def test_mfcc_is_scipys_orthonormal_dct_over_the_mel_axis():
    from scipy.fft import dct

    x = spectrograms(2)[:, :40, :16]
    expected = dct(x[..., 0], type=2, axis=1, norm="ortho")[:, :13].transpose(0, 2, 1)
    assert np.allclose(np.asarray(MFCC(13)(x)), expected, atol=1e-5)
    assert mfcc_matrix(40, 13).shape == (13, 40)


def test_functionals_describe_the_voiced_span_only():
    """A clip of silence (-1) with a constant 'voice' in frames 10..29: its statistics are those of the span."""
    x = np.full((1, 40, 64, 1), -1.0, "float32")
    x[0, :, 10:30, 0] = np.linspace(0.5, -0.5, 40)[:, None]  # a fixed spectrum, same in every voiced frame
    f = np.asarray(Functionals(n_mfcc=8, bands=4)(x))[0]
    rows = 2 * (8 + 4) + 2
    stats = f[:-3].reshape(rows, 11)  # per contour: mean, std, 5 percentiles, range, slope, skew, kurtosis
    assert f[-3:] == pytest.approx([20 / 64, 1.0, 0.0], abs=1e-6)  # span share, all active, no switches
    energy = stats[2 * 12]
    assert energy[0] == pytest.approx(0.0, abs=1e-6) and energy[1] == pytest.approx(0.0, abs=1e-3)
    bands = stats[8:12, 0]  # band means: the four quarters of the spectrum, high to low
    assert np.all(np.diff(bands) < 0) and np.allclose(stats[8:12, 2:7], bands[:, None], atol=1e-6)


@pytest.fixture(scope="module")
def tiny_data():
    x, y = separable(12, seed=3)
    x = x[:, :40, :64]  # small enough for every model; 40 bands divide into fusion's 40 groups
    y[:, :] = 0
    y[np.arange(12), np.arange(12) % 7] = 1  # one emotion per clip
    return x, y


@pytest.mark.parametrize("name", list(MODELS))
def test_every_registered_model_trains_a_step_and_round_trips(name, tiny_data, tmp_path):
    import tensorflow as tf

    x, y = tiny_data
    recipe = MODELS[name]
    inputs = tf.data.Dataset.from_tensor_slices(x).batch(4)
    model = recipe.build(x.shape[1:], 0, inputs)
    compile_for(model, recipe, np.ones(7), steps=10, learning_rate=1e-3)
    model.train_on_batch(x, y)
    # views a model reads beside the log-mel (fusion-compare: the compare functionals), as a render stores them
    extra = {v: np.random.default_rng(1).normal(size=(12, *VIEWS[v]().stored(None).shape)).astype("float32")
             for v in recipe.views if v != "log_mel"}
    if recipe.finish is not None:
        model = recipe.finish(model, inputs, y, 0, **({"views": extra} if extra else {}))
    if extra:
        x = {"log_mel": x, **extra}
    out = model.predict(x, verbose=0)
    assert out.shape == (12, 7) and np.all((out >= 0) & (out <= 1))
    if recipe.output == "softmax":
        assert np.allclose(out.sum(1), 1.0, atol=1e-5)
    model.save(tmp_path / "model.keras")
    loaded = keras.models.load_model(tmp_path / "model.keras")  # every layer and loss is registered
    assert np.allclose(loaded.predict(x, verbose=0), out, atol=1e-5)
