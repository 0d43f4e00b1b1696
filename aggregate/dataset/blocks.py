"""Blocks: the unit a shards folder is read in (contiguous rows of one shard), and float16 -> float32."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

ROWS_PER_BLOCK = 64  # shard rows per streamed HDF5 read (a block): 7 MB of float16


@dataclass(frozen=True)
class Block:
    """Rows start..stop of one shard, of which ``keep`` (offsets into the block) belong to the dataset."""

    shard: str
    start: int
    stop: int
    keep: np.ndarray
    first: int  # the dataset index of the block's first kept row

    @property
    def whole(self) -> bool:
        """Every row of the block belongs to the dataset: it is read as it lies, without a copy."""
        return len(self.keep) == self.stop - self.start


_HALF_TO_SINGLE = np.arange(1 << 16, dtype=np.uint16).view(np.float16).astype(np.float32)


def as_float32(features: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
    """Stored features as float32 (exactly the values of ``features.astype(np.float32)``), into ``out`` if given."""
    if features.dtype != np.float16:
        if out is None:
            return features.astype(np.float32, copy=False)
        out[...] = features
        return out
    if out is None:
        out = np.empty(features.shape, np.float32)
    bits = features.view(np.uint16)
    if bits.ndim < 3:  # one spectrogram
        return np.take(_HALF_TO_SINGLE, bits, out=out, mode="wrap")
    # A few spectrograms at a time: source and result stay in the CPU's cache (twice as fast as
    # a 64-row block at once). "wrap" never wraps (every uint16 is in the table) and is not buffered.
    for start in range(0, len(bits), 8):
        np.take(_HALF_TO_SINGLE, bits[start:start + 8], out=out[start:start + 8], mode="wrap")
    return out
