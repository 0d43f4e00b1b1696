"""The openSMILE views (egemaps, compare): openSMILE's own functionals of the shared 16 kHz signal."""
from __future__ import annotations

import hashlib

import numpy as np
import pytest
import soundfile as sf

from aggregate.recipe import FeatureConfig
from aggregate.shards.storage import StorageConfig
from aggregate.views import VIEWS, DecodedClip, Stored, parse_views
from tests.helpers import write_wav

opensmile = pytest.importorskip("opensmile", reason="the opensmile extra is not installed: "
                                                    "pip install 'emotion-aggregate[opensmile]'")
soxr = pytest.importorskip("soxr")

STEREO = "ravdess-sample/Actor_01/03-01-02-01-01-02-01.wav"  # one of the release's two stereo clips


def expected_of(path):
    data = path.read_bytes()
    return len(data), hashlib.sha256(data).hexdigest()


def signal_16k(path) -> np.ndarray:
    """The view's signal, made here without the toolkit: the whole file, mono, soxr HQ to 16 kHz."""
    data, rate = sf.read(path, dtype="float32", always_2d=True)
    return soxr.resample(data.mean(axis=1), rate, 16000, quality="soxr_hq").astype("float32")


@pytest.mark.parametrize("name, feature_set, size", [("egemaps", "eGeMAPSv02", 88),
                                                     ("compare", "ComParE_2016", 6373)])
def test_real_ravdess_clip_equals_opensmile_on_the_16k_signal(shared_data, name, feature_set, size):
    path = shared_data / STEREO
    if not path.is_file():
        pytest.skip(f"{path} not found")
    (view,) = parse_views(name)
    clip = DecodedClip(path, "ravdess", FeatureConfig(), expected_of(path), max_duration=40.0)
    value = view.compute(clip)
    assert view.stored(StorageConfig()) == Stored((size,), "float32", None, None)
    view.stored(StorageConfig()).check(value, name)

    y = signal_16k(path)
    assert np.allclose(view.signal(clip), y, atol=1e-6)  # the signal is the whole clip, mono, at 16 kHz
    smile = opensmile.Smile(feature_set=getattr(opensmile.FeatureSet, feature_set),
                            feature_level=opensmile.FeatureLevel.Functionals)
    direct = smile.process_signal(np.asarray(view.signal(clip)), 16000).to_numpy().reshape(-1)
    assert np.array_equal(value, direct.astype("float32"))
    assert view.feature_names() == list(smile.feature_names)
    assert len(set(value.tolist())) > size // 2  # real functionals, not a constant row


def test_noisy_corpus_is_gated_before_the_functionals_and_the_config_says_which_set(tmp_path):
    path = write_wav(tmp_path / "noisy.wav", seconds=1.5, rate=48000)
    recipe = FeatureConfig(noisy_corpora=("crema-d",))
    view = VIEWS["egemaps"]()
    gated = view.compute(DecodedClip(path, "crema-d", recipe, expected_of(path), max_duration=40.0))
    plain = view.compute(DecodedClip(path, "ravdess", recipe, expected_of(path), max_duration=40.0))
    clip = DecodedClip(path, "crema-d", recipe, expected_of(path), max_duration=40.0)
    assert np.array_equal(gated, opensmile.Smile(
        feature_set=opensmile.FeatureSet.eGeMAPSv02, feature_level=opensmile.FeatureLevel.Functionals,
    ).process_signal(np.asarray(clip.signal(16000, 40.0, denoise=True)), 16000).to_numpy().reshape(-1))
    assert not np.array_equal(gated, plain)

    assert VIEWS["egemaps"]().config_hash() != VIEWS["compare"]().config_hash()
    assert VIEWS["compare"]().config_dict()["feature_set"] == "ComParE_2016"
    assert VIEWS["egemaps"](VIEWS["egemaps"].config_from_dict({"denoise": False})).config_hash() \
        != VIEWS["egemaps"]().config_hash()
    with pytest.raises(ValueError, match="stores ComParE_2016"):
        VIEWS["compare"](VIEWS["egemaps"]().config)


def test_a_clip_too_short_for_functionals_is_that_clips_failure(tmp_path):
    from aggregate.errors import DecodeError

    path = write_wav(tmp_path / "short.wav", seconds=0.05, rate=16000)
    clip = DecodedClip(path, "ravdess", FeatureConfig(), expected_of(path), max_duration=40.0)
    with pytest.raises(DecodeError, match="too short"):
        VIEWS["compare"]().compute(clip)
