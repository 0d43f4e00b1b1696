"""The openSMILE views (egemaps, compare): openSMILE's own functionals of the shared 16 kHz signal."""
from __future__ import annotations

import hashlib
from pathlib import Path

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


@pytest.mark.slow
def test_rendered_beside_log_mel_read_back_and_verified(small_manifest, tmp_path):
    """Through the real render (2 workers): each clip's stored functionals are the view's value of it."""
    from aggregate.dataset import ShardDataset
    from aggregate.manifest.format import read_manifest
    from aggregate.render.run import render_shards
    from aggregate.shards.verify import verify_shards

    out = tmp_path / "shards"
    render_shards(small_manifest, out, jobs=2, storage=StorageConfig(shard_size=8), progress=False,
                  views="log_mel,egemaps")
    manifest = read_manifest(small_manifest)
    clips = manifest.clips.set_index("sample_id")
    ds = ShardDataset(out, None, views=("log_mel", "egemaps"))
    assert len(ds) == len(clips)
    for index in (0, len(ds) - 1):
        sample_id = ds.sample_ids[index]
        row = clips.loc[sample_id]
        path = manifest.meta["roots"][row["corpus"]] + "/" + row["path"]
        clip = DecodedClip(path, row["corpus"], FeatureConfig(), (int(row["file_bytes"]), row["file_sha256"]),
                           max_duration=manifest.meta["policy"]["max_duration"])
        assert np.array_equal(ds[index]["egemaps"], VIEWS["egemaps"]().compute(clip))
    assert verify_shards(out, progress=False).problems == []


@pytest.mark.slow
def test_after_tensorflow_without_opensmile_is_one_line_not_a_crash(tmp_path):
    """openSMILE's library aborts a process that loaded TensorFlow before it: the view says so instead."""
    import subprocess
    import sys

    path = write_wav(tmp_path / "a.wav", seconds=1.0)
    code = ("import tensorflow\nfrom aggregate.recipe import FeatureConfig\nfrom aggregate.views import VIEWS, DecodedClip\n"
            "from aggregate.errors import InputError\n"
            f"try:\n    VIEWS['egemaps']().compute(DecodedClip({str(path)!r}, 'ravdess', FeatureConfig()))\n"
            "except InputError as err:\n    print(err)\n")
    pytest.importorskip("tensorflow")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300,
                            cwd=Path(__file__).resolve().parents[2])
    assert result.returncode == 0, result.stderr[-2000:]
    assert "cannot run in a process that loaded TensorFlow before it" in result.stdout
