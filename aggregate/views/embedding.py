"""A pretrained speech model's embeddings as a view: per layer, the hidden states mean-pooled over
time, (layers x hidden size) float32 a clip (the extra ``embedding``: torch and transformers).

The model is one the user already has, in a local folder in Hugging Face format (``save_pretrained``:
``config.json``, ``model.safetensors``, ``preprocessor_config.json``; pickled ``.bin`` weights are
refused, as they can run code): wav2vec2, HuBERT, WavLM or any other
that ``transformers.AutoModel`` loads and that returns ``hidden_states``. It is loaded with
``local_files_only=True`` and no remote code: nothing is ever downloaded or run from the folder.
The input is the shared raw 16 kHz signal (``DecodedClip.signal``, not denoised: what these
models were trained on), through the folder's own feature extractor (its normalisation).
Layer 0 is the convolutional encoder's projection, layer k the k-th transformer layer's output;
the EmoBox and Pepino et al. recipes train on a weighted sum or a choice of them.

The config records the folder and a SHA-256 over its files, so the hash changes when the model
does; the folder's path and name are left out of the hash (the same model elsewhere is the same view), and a
worker refuses a folder whose files no longer give that SHA-256.
"""
from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, replace
from functools import lru_cache
from pathlib import Path

import numpy as np

from ..errors import InputError
from .base import DecodedClip, Stored, View

HOW = "render --views embedding --view-option embedding.model_dir=DIR (in Python: Embedding.for_folder(DIR))"


@dataclass(frozen=True)
class EmbeddingConfig:
    model_dir: str = ""  # where the model is on this machine: not part of the hash
    model: str = ""  # the folder's name, for people reading index.json
    model_sha256: str = ""  # over the folder's files (``folder_sha256``)
    layers: int = 0  # hidden states returned: the transformer's layers + 1
    hidden_size: int = 0
    sample_rate: int = 16000  # what wav2vec2, HuBERT and WavLM were trained on
    resampler: str = "soxr_hq"  # librosa's res_type names, as the recipe's

    def __post_init__(self) -> None:
        from ..recipe.config import RESAMPLERS

        for name in ("layers", "hidden_size", "sample_rate"):
            object.__setattr__(self, name, int(getattr(self, name)))
        if self.resampler not in RESAMPLERS:
            raise ValueError(f"resampler must be one of {', '.join(RESAMPLERS)}, got {self.resampler!r}")

    @classmethod
    def for_folder(cls, folder: Path | str, **fields) -> EmbeddingConfig:
        """The config of the model in ``folder``: its name, its files' SHA-256, its layers and width."""
        folder = Path(folder).expanduser().resolve()
        settings = model_settings(folder)
        layers, hidden = settings.get("num_hidden_layers"), settings.get("hidden_size")
        if not isinstance(layers, int) or not isinstance(hidden, int) or layers < 1 or hidden < 1:
            raise InputError(f"{folder / 'config.json'} gives no num_hidden_layers and hidden_size: "
                             "not a wav2vec2, HuBERT or WavLM model saved by transformers")
        return cls(str(folder), folder.name, folder_sha256(folder), layers + 1, hidden, **fields)


def model_settings(folder: Path) -> dict:
    """The model folder's ``config.json``, checked: one line naming the folder if it is not a model's."""
    path = folder / "config.json"
    if not folder.is_dir():
        raise InputError(f"{folder}: no such folder; give the folder of a model saved in Hugging Face format")
    try:
        settings = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise InputError(f"{folder} holds no config.json: not a model saved in Hugging Face format "
                         "(save_pretrained writes one)") from None
    except (OSError, UnicodeDecodeError, ValueError) as err:
        raise InputError(f"{path} is not readable JSON ({err}); save the model again") from None
    if not isinstance(settings, dict):
        raise InputError(f"{path} is not a model's config (not a JSON object); save the model again")
    return settings


def folder_sha256(folder: Path) -> str:
    """SHA-256 over the folder's files (names, sizes and contents, in name order; hidden files and
    subfolders left out: ``save_pretrained`` writes none that the model reads)."""
    total = hashlib.sha256()
    files = sorted(p for p in folder.iterdir() if p.is_file() and not p.name.startswith("."))
    if not files:
        raise InputError(f"{folder} holds no files; give the folder of a model saved in Hugging Face format")
    for path in files:
        digest = hashlib.sha256()
        with open(path, "rb") as handle:
            for block in iter(lambda: handle.read(1 << 20), b""):
                digest.update(block)
        total.update(f"{path.name}\0{path.stat().st_size}\0{digest.hexdigest()}\n".encode())
    return total.hexdigest()


@lru_cache(maxsize=2)
def load_model(model_dir: str, model_sha256: str):
    """(feature extractor, model in eval mode, float32) from the folder, once per process; refused in one
    line where the folder's files changed since the config was made."""
    folder = Path(model_dir)
    model_settings(folder)
    if not any(folder.glob("*.safetensors")):
        # pytorch_model.bin is a pickle, which can run code when loaded: only safetensors weights are read
        raise InputError(f"{folder} holds no .safetensors weights; this tool loads no pickled weights "
                         "(pytorch_model.bin): save the model again with save_pretrained(DIR, safe_serialization=True)")
    if folder_sha256(folder) != model_sha256:
        raise InputError(f"the model in {folder} changed since this view's config was made (its files' "
                         "SHA-256 differs); render into a new folder, or put the model back")
    import torch
    from transformers import AutoFeatureExtractor, AutoModel
    from transformers.utils import logging

    # One thread per render worker, as the recipe's BLAS: --jobs sets the parallelism (torch would start a
    # thread per core in each worker, and sum in an order that depends on the machine).
    torch.set_num_threads(1)

    logging.disable_progress_bar()  # a bar per load in every worker would drown the render's own progress
    extractor = AutoFeatureExtractor.from_pretrained(folder, local_files_only=True, trust_remote_code=False)
    model = AutoModel.from_pretrained(folder, local_files_only=True, trust_remote_code=False, use_safetensors=True)
    return extractor, model.float().eval()  # float32 whatever it was saved in; eval: no dropout


def pooled_hidden_states(extractor, model, y: np.ndarray, rate: int) -> np.ndarray:
    """(layers, hidden) float32: every hidden state of ``model`` on the signal ``y``, mean over frames."""
    import torch

    inputs = extractor(np.asarray(y, dtype=np.float32), sampling_rate=rate, return_tensors="pt")
    with torch.inference_mode():
        states = model(**inputs, output_hidden_states=True).hidden_states
    return torch.stack([s[0].mean(dim=0) for s in states]).numpy().astype(np.float32)


def receptive_field(settings: dict) -> int:
    """Samples the model's convolutional encoder needs for one frame (400 for wav2vec2's)."""
    kernels, strides = settings.get("conv_kernel") or [400], settings.get("conv_stride") or [1]
    field, step = 1, 1
    for kernel, stride in zip(kernels, strides):
        field += (int(kernel) - 1) * step
        step *= int(stride)
    return field


class Embedding(View):
    name = "embedding"
    config_type = EmbeddingConfig
    needs = ("torch", "transformers")
    install = "emotion-aggregate[embedding]"

    def __init__(self, config=None):
        super().__init__(config)
        if not self.config.model_dir or not self.config.model_sha256:
            raise InputError(f"view 'embedding' needs the folder of a local speech model in Hugging Face "
                             f"format: {HOW}")

    @classmethod
    def for_folder(cls, folder: Path | str, **fields) -> Embedding:
        return cls(EmbeddingConfig.for_folder(folder, **fields))

    @classmethod
    def from_options(cls, options: dict[str, str]) -> Embedding:
        """``--view-option embedding.model_dir=DIR`` (and ``resampler``): the model's name, hash, layers and
        width come from the folder, never from the command line."""
        options = dict(options)
        folder = options.pop("model_dir", "")
        if not folder:
            raise InputError(f"view 'embedding' needs the folder of a local speech model in Hugging Face format: {HOW}")
        unknown = sorted(set(options) - {"resampler"})
        if unknown:
            raise ValueError(f"view embedding has no option {unknown[0]!r} (its options: model_dir, resampler)")
        return cls.for_folder(folder, **options)

    def config_hash(self) -> str:
        # The same model files in another folder are the same view: its path and name stay out of the hash.
        return View.config_hash(_Hashed(replace(self.config, model_dir="", model="")))

    def stored(self, storage) -> Stored:
        return Stored((self.config.layers, self.config.hidden_size), "float32", None, None)

    def compute(self, clip: DecodedClip) -> np.ndarray:
        from ..errors import DecodeError

        extractor, model = load_model(self.config.model_dir, self.config.model_sha256)
        y = clip.signal(self.config.sample_rate, clip.max_duration, denoise=False, resampler=self.config.resampler)
        need = receptive_field(model.config.to_dict())
        if y.size < need:
            raise DecodeError(clip.path, f"{y.size} samples at {self.config.sample_rate} Hz: shorter than the "
                                         f"{need} the model {self.config.model} needs for one frame")
        return pooled_hidden_states(extractor, model, y, self.config.sample_rate)


class _Hashed(View):
    """The embedding view's name and a config, for ``View.config_hash`` without the model check."""
    name = Embedding.name
    config_type = EmbeddingConfig
