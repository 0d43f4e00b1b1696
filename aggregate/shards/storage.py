"""How rendered features are stored: dtype, compression, shard size.

Kept apart from the recipe (``aggregate.recipe.FeatureConfig``) on purpose: these
change the bytes on disk, never the values a model sees beyond the dtype's
rounding, so they are not in the recipe's hash. A run trained on lzf shards
evaluates on uncompressed ones of the same recipe.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields

# float16 holds values in [-1, 1] to ~5e-4, float32 exactly; an integer dtype would round every
# spectrogram to -1, 0 or 1, so none is allowed.
DTYPES = ("float16", "float32")
# lzf ships inside h5py, so a collaborator's plain h5py opens the shards with no plugin;
# "none" trades 2-3x the disk for ~10x faster random reads (h5py's lzf decoder is the cost).
COMPRESSIONS = ("lzf", "gzip", "none")


@dataclass(frozen=True)
class StorageConfig:
    dtype: str = field(default="float16", metadata={
        "choices": DTYPES, "help": "how features are stored; float16 halves the disk for ~5e-4 of rounding"})
    compression: str = field(default="lzf", metadata={
        "choices": COMPRESSIONS, "help": "HDF5 compression; none: 2-3x the disk, ~10x faster random reads"})
    shard_size: int = field(default=512, metadata={
        "help": "clips per shard file (512: about 35 MB of float16 + lzf)"})

    def __post_init__(self) -> None:
        if self.dtype not in DTYPES:
            raise ValueError(f"dtype must be one of {', '.join(DTYPES)}, got {self.dtype!r}")
        if self.compression not in COMPRESSIONS:
            raise ValueError(f"compression must be one of {', '.join(COMPRESSIONS)}, got {self.compression!r}")
        if not isinstance(self.shard_size, int) or isinstance(self.shard_size, bool) or self.shard_size < 1:
            raise ValueError(f"shard_size must be a whole number of clips, at least 1, got {self.shard_size!r}")

    @property
    def h5_compression(self) -> str | None:
        return None if self.compression == "none" else self.compression

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> StorageConfig:
        unknown = sorted(set(data) - {f.name for f in fields(cls)})
        if unknown:
            raise ValueError(f"unknown storage fields {unknown}")
        return cls(**data)
