"""What a training command reads, checked before anything is written: its options, the shards, the splits.

``train``, ``baseline`` and ``benchmark`` share it: ``open_inputs`` opens the shards (every
checksum checked once) and gives each rendered clip its split (from a file, the manifest's
column, or computed here), refusing a split that leaks a speaker or leaves one empty.
"""
from __future__ import annotations

import sys
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from aggregate.shards.reading import ShardsFolder
from aggregate.vocabulary import SPLITS
from aggregate.manifest.split_config import SplitConfig
from aggregate.manifest.split_assign import assign_splits
from aggregate.manifest.split_checks import check_speaker_disjoint, require_nonempty
from aggregate.manifest.split_files import read_splits

from .data import SplitData, load_split
from .models import DEFAULT_MODEL, Recipe, model_recipe


@dataclass
class TrainOptions:
    shards: Path
    out: Path
    model: str = DEFAULT_MODEL  # a name of train.models.MODELS
    epochs: int | None = None  # None: the model's recipe's
    batch_size: int | None = None
    learning_rate: float | None = None
    limit: int | None = None  # at most this many clips per split: quick runs
    cache: bool = False
    readers: int | None = None  # processes that decompress shards for the training pipeline; None: by device
    class_weights: str = "auto"  # "auto" | "none"
    corpus_balance: str = "speakers"  # each speaker an equal share | "equal": each corpus | "none": each clip
    balance_by: str = "sampling"  # how the network gets that share: batches drawn by it | "loss": weights
    splits: Path | None = None  # reuse a splits.csv
    split: SplitConfig | None = None  # None: the manifest's split column
    tune_thresholds: bool = False
    patience: int = 6
    seed: int = 0
    overwrite: bool = False
    resume: bool = False  # continue the interrupted run in ``out`` from its checkpoint
    model_options: dict = field(default_factory=dict)  # --model-option: names of the model's options dataclass
    verbose: int | None = None  # Keras's; None: a progress bar on a terminal, a line per epoch in logs

    @property
    def speaker_disjoint(self) -> bool:
        return self.split is None or self.split.speaker_disjoint


def splits_for(shards: ShardsFolder, options: TrainOptions) -> tuple[pd.DataFrame, dict]:
    """The split of every rendered clip: from a file, the manifest's column, or computed here."""
    manifest = shards.manifest()
    rendered = set(shards.places)
    clips = manifest.clips[manifest.clips["sample_id"].isin(rendered)].reset_index(drop=True)
    if options.splits is not None:
        table = read_splits(options.splits)  # a reused file must be speaker-disjoint, whatever --split-strategy says
        clips = clips.drop(columns="split", errors="ignore").merge(table[["sample_id", "split"]], on="sample_id", how="inner")
        source = {"from_file": str(options.splits)}
    elif options.split is None and "split" in clips and clips["split"].notna().all():
        source = {"from_manifest": manifest.meta.get("split", {})}
    else:
        config = options.split or SplitConfig(seed=options.seed)
        clips["split"] = assign_splits(clips, config)
        source = config.to_dict()
    if options.splits is not None or options.speaker_disjoint:
        check_speaker_disjoint(clips, clips["split"])  # a leak here would make every figure a lie
    else:  # --split-strategy random: the leak is the point (see aggregate.manifest.split_assign)
        print("warning: --split-strategy random puts each speaker's clips in several splits: "
              "its figures are inflated, never report them as speaker-independent", file=sys.stderr)
    require_nonempty(clips["split"], needed=SPLITS)
    return clips, source


def load_splits(shards: ShardsFolder, options: TrainOptions, clips: pd.DataFrame) -> dict[str, SplitData]:
    """Plan the reading of each split (a seeded subset of each with --limit)."""
    views = model_recipe(options.model).views
    return {name: load_split(shards, clips.loc[clips["split"] == name, "sample_id"],
                             limit=options.limit, seed=options.seed, views=views) for name in SPLITS}


def recipe_for(options: TrainOptions) -> Recipe:
    """The model's recipe, its options checked (one line for an unknown model, option or value)."""
    recipe = model_recipe(options.model)
    recipe.make_options(options.model_options)
    return recipe


def open_inputs(options: TrainOptions) -> tuple[ShardsFolder, pd.DataFrame, dict]:
    """The shards (every checksum checked once, before use) and each clip's split: all checked before
    anything is written."""
    shards = ShardsFolder.open(options.shards, progress=True)
    shards.require_views(model_recipe(options.model).views, f"--model {options.model}")
    clips, split_source = splits_for(shards, options)
    return shards, clips, split_source
