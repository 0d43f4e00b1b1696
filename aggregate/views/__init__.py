"""The views of a clip a shards folder can hold: one module per view, one line each in ``VIEWS``.

A view (``base.View``) is one per-clip array computed from the clip's decoded audio: the paper's
log-mel (``log_mel``, the default), the 16 kHz waveform (``waveform``), openSMILE functionals
(``egemaps``, ``compare``), a pretrained model's embeddings (``embedding``). How to add one:
docs/adding-a-view.md. Importing this package imports no view's numerics: a view module imports
its heavy packages inside ``compute``.
"""
from __future__ import annotations

import importlib.util

from ..errors import InputError
from .base import DecodedClip, Stored, View
from .log_mel import LogMel
from .embedding import Embedding
from .opensmile import Compare, Egemaps
from .waveform import Waveform

__all__ = ["DEFAULT_VIEWS", "VIEWS", "DecodedClip", "Stored", "View", "check_installed", "parse_views"]

# One line per view module; the registry's order is the order help texts list them in.
VIEWS: dict[str, type[View]] = {view.name: view for view in (LogMel, Waveform, Egemaps, Compare, Embedding)}

DEFAULT_VIEWS = ("log_mel",)


def parse_views(text: str | tuple | list, options: dict[str, dict[str, str]] | None = None) -> tuple[View, ...]:
    """``"log_mel,waveform"`` (or a sequence of names) -> the views, in the order given, each with its
    default config or the one ``options`` ({view: {field: text}}, ``--view-option``) sets; an unknown or
    repeated name is an InputError naming the known ones."""
    names = [n.strip() for n in text.split(",")] if isinstance(text, str) else [str(n).strip() for n in text]
    if not names or any(not n for n in names):
        raise InputError(f"--views needs comma-separated view names, got {text!r}; known: {', '.join(VIEWS)}")
    unknown = [n for n in names if n not in VIEWS]
    if unknown:
        raise InputError(f"unknown view {', '.join(map(repr, unknown))}; known views: {', '.join(VIEWS)}")
    repeated = sorted({n for n in names if names.count(n) > 1})
    if repeated:
        raise InputError(f"view {', '.join(map(repr, repeated))} named twice in --views {text!r}")
    options = options or {}
    stray = sorted(set(options) - set(names))
    if stray:
        raise InputError(f"--view-option {stray[0]}.*: the view {stray[0]!r} is not among --views {','.join(names)}")
    views = []
    for name in names:
        try:
            views.append(VIEWS[name].from_options(options[name]) if name in options else VIEWS[name]())
        except (TypeError, ValueError) as err:
            raise InputError(f"--view-option {name}: {err}") from None
    return tuple(views)


def check_installed(views) -> None:
    """Refuse, in one line saying what to install, a view whose ``needs`` a module that is not installed."""
    for view in views:
        for module in view.needs:
            if importlib.util.find_spec(module.split(".")[0]) is None:
                install = view.install or "emotion-aggregate"
                raise InputError(f"view {view.name!r} needs the package {module}: pip install '{install}'")
