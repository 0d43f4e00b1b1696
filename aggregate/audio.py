"""Audio headers: what a file says it holds, read without decoding (the manifest).

Decoding a clip for the features is the recipe's job (``aggregate.recipe.decode``);
this module stays light so building a manifest does not import the recipe.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import soundfile as sf

LFS_POINTER = b"version https://git-lfs"


@dataclass(frozen=True)
class AudioInfo:
    sample_rate: int
    channels: int
    frames: int
    format: str  # as libsndfile names it: WAV, AIFF, ...

    @property
    def duration(self) -> float:
        return self.frames / self.sample_rate


def probe(path: Path) -> tuple[AudioInfo | None, str | None, str]:
    """Read an audio header without decoding: (info, reject reason or None, detail)."""
    try:
        size = path.stat().st_size
        if size == 0:
            return None, "empty", "zero-byte file"
        # libsndfile looks at the content, not the extension: AIFF data under a .wav name reads fine.
        header = sf.info(str(path))
    except (sf.LibsndfileError, RuntimeError, OSError, ValueError) as err:
        return None, "unreadable", why_unreadable(path, err)
    info = AudioInfo(int(header.samplerate), int(header.channels), int(header.frames), str(header.format))
    if info.frames == 0:
        return info, "empty", "the header declares no samples"
    return info, None, ""


def why_unreadable(path: Path, err: Exception) -> str:
    try:
        with open(path, "rb") as handle:
            start = handle.read(64)
    except OSError as os_err:
        return f"cannot open: {os_err.strerror or os_err}"
    if start.startswith(LFS_POINTER):
        return "a git-lfs pointer, not audio: run `git lfs pull` in the clone to fetch the audio"
    if path.name.startswith("._"):
        return "a macOS metadata twin (._ file), not audio"
    return f"soundfile cannot read it ({str(err).strip() or type(err).__name__})"
