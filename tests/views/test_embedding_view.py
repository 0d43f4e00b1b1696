"""The embedding view: per-layer mean-pooled hidden states of a model in a local folder, built here.

No model is downloaded: each test saves a tiny randomly initialised wav2vec2 / WavLM into tmp_path.
"""
from __future__ import annotations

import hashlib

import numpy as np
import pytest

from aggregate.errors import DecodeError, InputError
from aggregate.recipe import FeatureConfig
from aggregate.shards.storage import StorageConfig
from aggregate.views import VIEWS, DecodedClip, Stored, parse_views
from aggregate.views.embedding import Embedding
from tests.helpers import write_wav

torch = pytest.importorskip("torch", reason="the embedding extra is not installed: "
                                            "pip install 'emotion-aggregate[embedding]'")
transformers = pytest.importorskip("transformers", reason="the embedding extra is not installed: "
                                                          "pip install 'emotion-aggregate[embedding]'")

TINY = dict(hidden_size=16, num_hidden_layers=2, num_attention_heads=2, intermediate_size=24,
            conv_dim=(8, 8), conv_stride=(5, 4), conv_kernel=(10, 8), num_conv_pos_embeddings=8,
            num_conv_pos_embedding_groups=2, vocab_size=8)


def save_tiny(folder, kind: str = "wav2vec2", seed: int = 0):
    """A randomly initialised model of ``kind`` and its feature extractor, saved as a user's would be."""
    config_class, model_class = {"wav2vec2": (transformers.Wav2Vec2Config, transformers.Wav2Vec2Model),
                                 "wavlm": (transformers.WavLMConfig, transformers.WavLMModel)}[kind]
    torch.manual_seed(seed)
    extra = {"num_buckets": 16, "max_bucket_distance": 64} if kind == "wavlm" else {}
    model = model_class(config_class(**TINY, **extra)).eval()
    model.save_pretrained(folder)
    transformers.Wav2Vec2FeatureExtractor(sampling_rate=16000, do_normalize=True,
                                          return_attention_mask=False).save_pretrained(folder)
    return model


def expected_of(path):
    data = path.read_bytes()
    return len(data), hashlib.sha256(data).hexdigest()


@pytest.mark.parametrize("kind", ["wav2vec2", "wavlm"])
def test_pooled_hidden_states_equal_the_model_called_directly(tmp_path, kind):
    model = save_tiny(tmp_path / "model", kind)
    view = Embedding.for_folder(tmp_path / "model")
    assert view.stored(StorageConfig()) == Stored((3, 16), "float32", None, None)  # 2 layers + the encoder's
    path = write_wav(tmp_path / "a.wav", seconds=1.3, rate=48000, channels=2)
    clip = DecodedClip(path, "ravdess", FeatureConfig(), expected_of(path), max_duration=40.0)
    value = view.compute(clip)
    view.stored(StorageConfig()).check(value, "embedding")

    y = np.asarray(clip.signal(16000, 40.0, denoise=False))
    x = torch.from_numpy((y - y.mean()) / np.sqrt(y.var() + 1e-7))[None]  # the extractor's do_normalize
    with torch.no_grad():
        states = model(x, output_hidden_states=True).hidden_states
    direct = np.stack([s[0].mean(0).numpy() for s in states])
    assert np.allclose(value, direct, atol=1e-5)
    assert np.abs(value).max() > 0 and not np.allclose(value[0], value[-1])

    again = Embedding(view.config).compute(DecodedClip(path, "ravdess", FeatureConfig(), expected_of(path), 40.0))
    assert np.array_equal(value, again)  # deterministic: no dropout, same weights


def test_config_follows_the_model_files_not_the_folder_path(tmp_path):
    save_tiny(tmp_path / "one", seed=0)
    save_tiny(tmp_path / "two", seed=0)
    save_tiny(tmp_path / "other", seed=1)
    one, two, other = (Embedding.for_folder(tmp_path / n) for n in ("one", "two", "other"))
    assert one.config.model == "one" and one.config.layers == 3 and one.config.hidden_size == 16
    assert one.config_hash() == two.config_hash()  # same files elsewhere: the same view
    assert one.config_hash() != other.config_hash()  # other weights: another view
    assert VIEWS["embedding"](VIEWS["embedding"].config_from_dict(one.config_dict())).config_hash() == one.config_hash()

    (tmp_path / "one" / "config.json").write_text((tmp_path / "one" / "config.json").read_text() + " ")
    path = write_wav(tmp_path / "a.wav", seconds=0.5)
    with pytest.raises(InputError, match="changed since this view's config was made"):
        one.compute(DecodedClip(path, "ravdess", FeatureConfig(), expected_of(path), 40.0))


def test_refusals_are_one_line(tmp_path):
    with pytest.raises(InputError, match="needs the folder of a local speech model"):
        parse_views("log_mel,embedding")
    with pytest.raises(InputError, match="no such folder"):
        Embedding.for_folder(tmp_path / "missing")
    (tmp_path / "empty").mkdir()
    with pytest.raises(InputError, match="holds no config.json"):
        Embedding.for_folder(tmp_path / "empty")
    (tmp_path / "odd").mkdir()
    (tmp_path / "odd" / "config.json").write_text('{"model_type": "bert"}')
    with pytest.raises(InputError, match="no num_hidden_layers and hidden_size"):
        Embedding.for_folder(tmp_path / "odd")

    save_tiny(tmp_path / "model")
    path = write_wav(tmp_path / "blip.wav", seconds=0.002, rate=16000)  # 32 samples: the tiny model needs 45
    with pytest.raises(DecodeError, match="shorter than"):
        Embedding.for_folder(tmp_path / "model").compute(
            DecodedClip(path, "ravdess", FeatureConfig(), expected_of(path), 40.0))


def test_the_command_line_gives_the_folder_and_the_view_hashes_it(tmp_path):
    save_tiny(tmp_path / "model")
    (view,) = parse_views("embedding", {"embedding": {"model_dir": str(tmp_path / "model")}})
    assert view.config == Embedding.for_folder(tmp_path / "model").config
    with pytest.raises(InputError, match="has no option 'layers'"):
        parse_views("embedding", {"embedding": {"model_dir": str(tmp_path / "model"), "layers": "3"}})
    with pytest.raises(InputError, match="no such folder"):
        parse_views("embedding", {"embedding": {"model_dir": str(tmp_path / "nowhere")}})


@pytest.mark.slow
def test_render_command_with_a_local_model(small_manifest, tmp_path):
    """`render --views embedding --view-option embedding.model_dir=DIR`, then the reader: each stored row is
    the view's value of that clip."""
    from aggregate.dataset import ShardDataset
    from aggregate.manifest.format import read_manifest
    from tests.helpers import cli

    save_tiny(tmp_path / "model")
    out = tmp_path / "shards"
    result = cli("render", str(small_manifest), "-o", str(out), "--jobs", "2", "-q", "--views", "log_mel,embedding",
                 "--view-option", f"embedding.model_dir={tmp_path / 'model'}")
    assert result.returncode == 0, result.stderr
    manifest = read_manifest(small_manifest)
    clips = manifest.clips.set_index("sample_id")
    ds = ShardDataset(out, None, views=("embedding",))
    row = clips.loc[ds.sample_ids[0]]
    clip = DecodedClip(manifest.meta["roots"][row["corpus"]] + "/" + row["path"], row["corpus"], FeatureConfig(),
                       (int(row["file_bytes"]), row["file_sha256"]), manifest.meta["policy"]["max_duration"])
    assert ds[0]["embedding"].shape == (3, 16)
    assert np.array_equal(ds[0]["embedding"], Embedding.for_folder(tmp_path / "model").compute(clip))


def test_pickled_weights_are_refused_in_one_line(tmp_path):
    model = save_tiny(tmp_path / "model")
    for path in (tmp_path / "model").glob("*.safetensors"):
        path.unlink()
    torch.save(model.state_dict(), tmp_path / "model" / "pytorch_model.bin")  # the older format: a pickle
    assert (tmp_path / "model" / "pytorch_model.bin").is_file()
    view = Embedding.for_folder(tmp_path / "model")
    path = write_wav(tmp_path / "a.wav", seconds=0.5)
    with pytest.raises(InputError, match="holds no .safetensors weights"):
        view.compute(DecodedClip(path, "ravdess", FeatureConfig(), expected_of(path), 40.0))
