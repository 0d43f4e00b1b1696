"""Audio headers: what a file says it holds, read without decoding (the manifest).

Decoding a clip for the features is the recipe's job (``aggregate.recipe.decode``);
this module stays light so building a manifest does not import the recipe.
"""
from __future__ import annotations

import hashlib
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
    bytes: int = 0  # the file's size and SHA-256 when the manifest read it: render checks the bytes it
    sha256: str = ""  # decodes against them (a file replaced since fails its clip, not renders under old labels)

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
    try:
        missing = _missing_wav_bytes(path, size) if info.format == "WAV" else 0
    except OSError as err:
        return None, "unreadable", f"cannot read its header: {err.strerror or err}"
    if missing:
        return info, "truncated", f"the data chunk declares {missing} bytes more than the file holds; copy it again"
    try:
        size, digest = content_digest(path)
    except OSError as err:
        return None, "unreadable", f"cannot read it: {err.strerror or err}"
    return AudioInfo(info.sample_rate, info.channels, info.frames, info.format, size, digest), None, ""


def content_digest(path: Path) -> tuple[int, str]:
    """(bytes, SHA-256) of a file's content, read once in 1 MB blocks. SHA-256, not BLAKE2: with the
    CPU's SHA instructions it hashes 1.7 GB/s against BLAKE2b's 0.8 (benchmarks/manifest_hashing.py)."""
    digest, size = hashlib.sha256(), 0
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)  # hashlib lets go of the GIL here: the two probing threads hash at once
            size += len(block)
    return size, digest.hexdigest()


def _missing_wav_bytes(path: Path, size: int) -> int:
    """How many bytes of its data chunk a RIFF/WAVE file lacks (0 when whole or unknowable).

    libsndfile quietly reads what is there, so its frame count cannot tell a cut file from
    a whole one; the data chunk's declared size in the header can. Reads a few header bytes.
    """
    with open(path, "rb") as handle:
        head = handle.read(12)
        if head[:4] != b"RIFF" or head[8:12] != b"WAVE":  # RF64, RIFX (big-endian): left to libsndfile
            return 0
        offset = 12
        while offset + 8 <= size:
            handle.seek(offset)
            chunk = handle.read(8)
            declared = int.from_bytes(chunk[4:8], "little")
            if chunk[:4] == b"data":
                if declared in (0, 0xFFFFFFFF):  # a streamed file: size left open by its writer
                    return 0
                return max(0, declared - (size - offset - 8))
            offset += 8 + declared + (declared & 1)
    return 0


def why_unreadable(path: Path, err: Exception) -> str:
    """Why a file is not audio, in words that name no folder of this machine (they travel in
    rejects and shards; the caller knows which file it was)."""
    try:
        with open(path, "rb") as handle:
            start = handle.read(64)
    except OSError as os_err:
        return f"cannot open: {os_err.strerror or os_err}"
    if start.startswith(LFS_POINTER):
        return "a git-lfs pointer, not audio: run `git lfs pull` in the clone to fetch the audio"
    if path.name.startswith("._"):
        return "a macOS metadata twin (._ file), not audio"
    said = (str(err).strip() or type(err).__name__).replace(str(path), path.name)  # libsndfile quotes the path
    return f"soundfile cannot read it ({said})"
