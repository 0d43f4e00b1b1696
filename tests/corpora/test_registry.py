"""The corpus registry is the one list: every unit declares itself fully, and flags, schema and docs follow it."""
from __future__ import annotations

import re
import sys
from pathlib import Path

import pytest

from aggregate.cli import _parser
from aggregate.corpora import CORPORA, OPTIONS
from aggregate.corpora.base import REASONS
from aggregate.corpora.policy import LabelPolicy
from aggregate.demo.corpora import FORGERS
from aggregate.manifest.format import COLUMNS, SHARED_COLUMNS

PROJECT = Path(__file__).resolve().parents[2]
DECLARED = {"NAME": str, "TITLE": str, "COLOR": str, "LICENSE": str, "CITATION": str, "EXPECTED": str,
            "COLUMNS": dict, "VOTED": bool, "NOISY": bool, "OPTIONS": tuple}


@pytest.mark.parametrize("name", list(CORPORA))
def test_each_unit_declares_everything(name):
    unit = CORPORA[name]
    for attribute, kind in DECLARED.items():
        assert isinstance(getattr(unit, attribute), kind), f"{name}.{attribute}"
    assert unit.NAME == name and re.fullmatch(r"#[0-9A-F]{6}", unit.COLOR)
    assert all(callable(getattr(unit, f)) for f in ("locate", "parse"))
    assert callable(FORGERS[name])  # every corpus has its demo forger
    assert not set(unit.COLUMNS) & set(SHARED_COLUMNS)  # a unit adds columns, it does not redefine shared ones


def test_forgers_draw_distinct_streams():
    streams = [sys.modules[forge.__module__].STREAM for forge in FORGERS.values()]
    assert len(set(streams)) == len(streams)


def test_the_schema_is_the_shared_columns_then_each_units_then_split():
    own = [c for unit in CORPORA.values() for c in unit.COLUMNS]
    assert list(COLUMNS) == [*SHARED_COLUMNS, *dict.fromkeys(own), "split"]


def test_flags_and_policy_follow_the_declared_options():
    build = _parser()._subparsers._group_actions[0].choices["manifest"]
    flags = {option for action in build._actions for option in action.option_strings}
    assert {f"--{name}" for name in CORPORA} <= flags
    for key, option in OPTIONS.items():
        corpus = next(n for n in CORPORA if key.startswith(n.replace("-", "_") + "_"))
        assert f"--{corpus}-{option.name.replace('_', '-')}" in flags
        assert LabelPolicy().options[key] == option.default
    with pytest.raises(ValueError, match="unknown corpus option ravdess_calm"):
        LabelPolicy(options={"ravdess_calm": True})
    policy = LabelPolicy(options={"ravdess_song": True})
    assert LabelPolicy.from_dict(policy.to_dict()) == policy


def test_docs_list_every_option_with_its_default_and_every_reason():
    labels = (PROJECT / "docs" / "labels.md").read_text()
    for key, option in OPTIONS.items():
        corpus = next(n for n in CORPORA if key.startswith(n.replace("-", "_") + "_"))
        flag = f"--{corpus}-{option.name.replace('_', '-')}"
        row = next((line for line in labels.splitlines() if line.startswith(f"| `{flag}`")), None)
        assert row is not None, f"docs/labels.md lacks {flag}"
        assert row.split("|")[2].strip() == ("on" if option.default else "off"), flag
    manifest = (PROJECT / "docs" / "manifest.md").read_text()
    documented = re.findall(r"^\| `([a-z0-9_]+)` \|", manifest.split("## Reject reasons")[1], re.M)
    assert documented == list(REASONS)  # all of them, in priority order
